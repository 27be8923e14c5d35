#!/bin/sh
# peers.sh - implementations written in Python (docs/peers.md) through the whole path, with
# NumPy so it runs without a GPU: registration (a file, a module name, a $KBENCH_PLUGIN_PATH
# folder), the operation's tensors handed over without a copy, timing, verification against
# the float64 reference, storage with the file's sha256; a wrong answer, an exception in the
# timed call, a missing package, a write into an input, a file that raises on import and one
# naming an unknown operation each end as the right status or a clear exit 2.
. "${top_srcdir:-.}/tests/lib.sh"
need_sqlite3
src=${top_srcdir:-.}
builddir=$(cd "$(dirname "$KBENCH")" && pwd)
P="$src/tests/fixtures/peers"
unset KBENCH_PLUGIN_PATH

if ! grep -q 'define HAVE_PYTHON 1' "$builddir/config.h" 2>/dev/null; then
    # built without Python: a Python plugin is a clear error, not a crash
    expect_exit 2 "built without Python: --plugin FILE.py is refused" "$KBENCH" list --plugin "$P/numpy_attention.py"
    expect_text "$TMP/err" "built without Python" "the error says kbench was built without Python"
    finish; exit
fi
# the interpreter kbench embeds (not necessarily the python3 on PATH) must have NumPy
if ! "$KBENCH" list --plugin "$P/needs_numpy.py" >/dev/null 2>"$TMP/numpy.err"; then
    echo "1..0 # SKIP NumPy is not installed for the Python kbench embeds (Debian: python3-numpy): $(head -c 200 "$TMP/numpy.err")"
    exit 0
fi

expect_exit 0 "list --plugin numpy_attention.py" "$KBENCH" list --plugin "$P/numpy_attention.py"
expect_text "$TMP/out" "attention.numpy" "the Python implementations are listed"
expect_text "$TMP/out" "numpy_attention.py" "with the file they came from"

DB="$TMP/peers.db"
expect_exit 1 "a sweep of the Python implementations (exit 1: some are planted failures)" "$KBENCH" run --db "$DB" \
    --plugin "$P/numpy_attention.py" --kernels 'attention.numpy*,attention.flash@cpu' --seq 67,96 --heads 4 \
    --kv-heads 2 --head-dim 24 --causal 0,1 --max-time 0.02 --quiet --no-show
expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.kernel = 'attention.numpy' AND c.impl = 'cpu' AND c.status = 'ok' AND a.passed = 1 AND a.rows_checked > 0;")" "4" \
    "NumPy attention: 4 cases verified against the float64 reference and stored ok (zero-copy views asserted inside)"
expect_eq "$(q "SELECT count(*) FROM cases c JOIN samples s ON s.case_id = c.id WHERE c.kernel = 'attention.numpy' AND c.impl = 'cpu';" | awk '{print ($1 >= 4)}')" "1" \
    "its samples are stored"
expect_eq "$(q "SELECT count(DISTINCT flops) FROM cases WHERE seq_len = 96 AND causal = 0 AND (kernel = 'attention.numpy' OR kernel = 'attention.flash');")" "1" \
    "the same FLOP count as attention.flash for the same case (the operation's)"
expect_eq "$(q "SELECT count(*) FROM cases WHERE impl = 'cpu.wrong' AND status = 'verify_failed';")" "4" "a wrong answer fails verification"
expect_eq "$(q "SELECT count(*) FROM cases WHERE impl = 'cpu.raises' AND error LIKE '%ValueError: planted failure in run (numpy_attention.py:%';")" "4" \
    "an exception in the timed call is the case's error, with where it was raised"
expect_eq "$(q "SELECT count(*) FROM cases WHERE impl = 'cpu.missing' AND status = 'skipped' AND error = 'cannot be tested here: kbench_no_such_package is not installed';")" "4" \
    "a missing package skips the case, saying which"
expect_eq "$(q "SELECT count(*) FROM cases WHERE impl = 'cpu.writes_input' AND status <> 'ok' AND error LIKE '%read-only%';")" "4" \
    "inputs are read-only: writing one is an error"
expect_eq "$(q "SELECT count(*) FROM cases WHERE kernel = 'attention.flash' AND status = 'ok';")" "4" "the C kernel beside them is unaffected"
expect_eq "$(q "SELECT count(*) FROM cases WHERE impl = 'cpu.env' AND status = 'skipped' AND error LIKE 'TRITON_CACHE_AUTOTUNING=1 (%';")" "4" \
    "Triton's autotuning results are kept on disk by default (each case is a new process)"
TRITON_CACHE_AUTOTUNING=0 "$KBENCH" run --db "$TMP/env.db" --plugin "$P/numpy_attention.py" --kernels 'attention.numpy@cpu.env' \
    --seq 8 --heads 1 --head-dim 8 --quiet --no-show >/dev/null 2>&1
expect_eq "$(sqlite3 "$TMP/env.db" "SELECT count(*) FROM cases WHERE impl = 'cpu.env' AND error LIKE 'TRITON_CACHE_AUTOTUNING=0 (%';")" "1" \
    "the user's own TRITON_CACHE_AUTOTUNING wins"
# setup (a JIT compiling) has its own allowance, so a --timeout sized for the timed calls holds
# ---- warm processes: a plugin file runs once in each case process, not once per case, and a
# wrong answer ends the process it ran in (imports counted by the fixture, pids written each run)
for mode in warm fresh; do
    KBENCH_TEST_IMPORT_LOG="$TMP/imports.$mode" "$KBENCH" run --db "$TMP/$mode.db" --process $mode \
        --plugin "$P/numpy_attention.py" --kernels 'attention.numpy@cpu,attention.numpy@cpu.wrong' --seq 16,17,18 \
        --heads 2 --head-dim 8 --max-time 0.01 --no-counters --quiet --no-show >/dev/null 2>&1
done
# the registration probe runs it once; then warm: one process for the three good cases and the
# first wrong one, one for each later wrong one; fresh: one per case
expect_eq "$(wc -l <"$TMP/imports.warm" | tr -d ' ')" "4" "--process warm: the plugin file ran in 1 probe + 3 case processes"
expect_eq "$(wc -l <"$TMP/imports.fresh" | tr -d ' ')" "7" "--process fresh: in 1 probe + 6 case processes"
DB="$TMP/warm.db"
expect_eq "$(q "SELECT group_concat(c.status || ':' || CAST(k.value AS INTEGER), ' ') FROM cases c JOIN counters k ON k.case_id = c.id AND k.name = 'process_case' ORDER BY c.id;")" \
    "ok:1 ok:2 ok:3 verify_failed:4 verify_failed:1 verify_failed:1" "warm: verified cases share a process; a wrong answer ends it"

# a warm process that keeps host memory past KBENCH_PROCESS_LEAK_MB is retired after the case
# (the fixture keeps 48 MiB a case; the first case sets the baseline, the second exceeds it)
for lim in 32 4096; do
    KBENCH_PROCESS_LEAK_MB=$lim "$KBENCH" run --db "$TMP/leak$lim.db" --process warm --plugin "$P/leaky.py" \
        --kernels 'attention.numpy@cpu.leaky' --seq 16,17,18 --heads 2 --head-dim 8 --max-time 0.01 --no-counters \
        --quiet --no-show >/dev/null 2>&1
done
DB="$TMP/leak32.db"
expect_eq "$(q "SELECT group_concat(c.status || ':' || CAST(k.value AS INTEGER), ' ') FROM cases c JOIN counters k ON k.case_id = c.id AND k.name = 'process_case' ORDER BY c.id;")" \
    "ok:1 ok:2 ok:1" "warm: a process that kept more than KBENCH_PROCESS_LEAK_MB of host memory is replaced"
DB="$TMP/leak4096.db"
expect_eq "$(q "SELECT group_concat(c.status || ':' || CAST(k.value AS INTEGER), ' ') FROM cases c JOIN counters k ON k.case_id = c.id AND k.name = 'process_case' ORDER BY c.id;")" \
    "ok:1 ok:2 ok:3" "and one under the limit is kept"
DB="$TMP/peers.db"

SLOW="--plugin $P/slow_setup.py --kernels attention.numpy@cpu.slow_setup --seq 16 --heads 1 --head-dim 8 --causal 0 --max-time 0.05 --min-samples 3 --no-counters --quiet --no-show"
expect_exit 0 "a Python implementation whose setup outlasts --timeout (exit 0)" "$KBENCH" run --db "$TMP/slow.db" $SLOW --timeout 2
expect_eq "$(sqlite3 "$TMP/slow.db" "SELECT status FROM cases;")" "ok" "is verified and timed: Python setup has 300 s of its own"
expect_exit 1 "with --setup-timeout 0.5 (exit 1: the case was killed)" "$KBENCH" run --db "$TMP/slow2.db" $SLOW --timeout 30 --setup-timeout 0.5
expect_eq "$(sqlite3 "$TMP/slow2.db" "SELECT status || ': ' || error FROM cases;")" \
    "timeout: killed at its setup time limit of 0.5 s (setup and verification; --setup-timeout)" "the kill names the setup limit"
sha=$(sha256sum "$P/numpy_attention.py" | cut -c1-64)
expect_eq "$(q "SELECT count(*) FROM run_plugins WHERE path LIKE '%/numpy_attention.py' AND sha256 = '$sha';")" "1" \
    "the run stores the Python file's path and sha256"

# a module name, found on PYTHONPATH
DB="$TMP/module.db"
expect_exit 0 "--plugin MODULE (a module name on PYTHONPATH)" env PYTHONPATH="$P" "$KBENCH" run --db "$DB" \
    --plugin numpy_attention --kernels 'attention.numpy@cpu' --seq 40 --heads 2 --head-dim 16 --max-time 0.02 --quiet --no-show
expect_eq "$(q "SELECT count(*) FROM cases WHERE kernel = 'attention.numpy' AND status = 'ok';")" "1" "and its case is verified and stored"

# a folder of $KBENCH_PLUGIN_PATH holding a .py
mkdir -p "$TMP/pp" && cp "$P/numpy_attention.py" "$TMP/pp/"
expect_exit 0 "\$KBENCH_PLUGIN_PATH loads the .py files of its folders" env KBENCH_PLUGIN_PATH="$TMP/pp" "$KBENCH" list
expect_text "$TMP/out" "attention.numpy" "and lists their implementations"

# a suite names its plugins (the h100 suite names kbench's peers this way)
printf 'name = peers\nplugins = %s\n[numpy]\nkernels = attention.numpy@cpu\nseq = 33\nheads = 2\nhead_dim = 8\n' \
    "$P/numpy_attention.py" > "$TMP/peers.suite"
DB="$TMP/suite.db"
expect_exit 0 "a suite's plugins key loads them" "$KBENCH" run --db "$DB" --suite "$TMP/peers.suite" --max-time 0.02 --quiet --no-show
expect_eq "$(q "SELECT count(*) FROM cases WHERE kernel = 'attention.numpy' AND status = 'ok';")" "1" "and the suite's case runs verified"
expect_eq "$(q "SELECT count(*) FROM run_plugins WHERE path LIKE '%numpy_attention.py';")" "1" "and the run stores the plugin"
printf 'plugins = %s/none.py\n[a]\nkernels = attention.flash\n' "$TMP" > "$TMP/bad.suite"
expect_exit 2 "a suite naming a missing plugin is refused (exit 2)" "$KBENCH" run --db "$DB" --suite "$TMP/bad.suite" --no-show
expect_text "$TMP/err" "none.py" "naming the file and the line"

expect_exit 2 "a file that raises while imported is refused (exit 2)" "$KBENCH" list --plugin "$P/broken_import.py"
expect_text "$TMP/err" "RuntimeError: planted import failure" "the error gives Python's message"
expect_exit 2 "an unknown operation is refused (exit 2)" "$KBENCH" list --plugin "$P/unknown_op.py"
expect_text "$TMP/err" "attention.nonexistent" "the error names the operation"
expect_exit 2 "a missing .py file is refused (exit 2)" "$KBENCH" list --plugin "$TMP/none.py"
finish
