#!/bin/sh
# span.sh - cases spanning several GPUs (--span) on any machine, GPUs or none: the option and its
# errors, a case needing more GPUs than present stored skipped with the reason and its span, the
# span in show and export, the schema migration of an old database, calibrate --span's errors, and
# the FlashMoE claim's GPU count. (The multi-GPU runs themselves are tests/gpu.sh's.)
. "${top_srcdir:-.}/tests/lib.sh"
need_sqlite3

check_bad() { # TEXT-EXPECTED DESCRIPTION ARGS...
    text=$1; what=$2; shift 2
    expect_exit 2 "$what" "$KBENCH" "$@"
    expect_text "$TMP/err" "$text" "$what: message names '$text'"
}
check_bad "abc" "run --span abc" run --kernels 'moe.layer@*' --devices cuda:0 --span abc --dry-run
check_bad "0" "run --span 0" run --kernels 'moe.layer@*' --devices cuda:0 --span 0 --dry-run
check_bad "65" "run --span 65 (at most 64)" run --kernels 'moe.layer@*' --devices cuda:0 --span 2,65 --dry-run
check_bad "cannot span" "run --span on the CPU" run --kernels 'attention.*' --span 2 --dry-run
check_bad "device cpu cannot span" "run --span with cpu among the devices" \
    run --kernels 'moe.layer@*' --devices cpu,cuda:0 --span 2 --dry-run
printf '[g]\nkernels = moe.layer@*\nspan = 2\n' > "$TMP/cpu-span.suite"
check_bad "cannot span" "a suite's span on the CPU" run --suite "$TMP/cpu-span.suite" --dry-run
check_bad "abc" "calibrate --span abc" calibrate --span abc --no-store
check_bad "cannot span" "calibrate --span on the CPU" calibrate --span 2 --devices cpu --no-store

if ! "$KBENCH" list 'moe.layer@cuda.ep' >/dev/null 2>&1; then
    ok "# SKIP the multi-GPU implementations (a build without CUDA)"
    finish
    exit $?
fi

# one case per span value; kernels without the axis ignore it
expect_exit 0 "dry run over spans" "$KBENCH" run --kernels 'moe.layer@cuda.ep' --devices cuda:0 --span 1,2,4 \
    --dry-run
expect_eq "$(grep -c 'span=' "$TMP/out")" "3" "--span 1,2,4 plans three cases"
expect_text "$TMP/out" "span=4" "the span is in the case's shape string"
printf '[g]\nkernels = attention.linear@cuda.sp\ndtype = bf16\nseq = 1024\nhead_dim = 64\nchunk = 64\ndevices = cuda:0\nspan = 2,8\n' \
    > "$TMP/sp.suite"
expect_exit 0 "a suite's span key" "$KBENCH" run --suite "$TMP/sp.suite" --dry-run
expect_eq "$(grep -c 'span=[28]' "$TMP/out")" "2" "the suite's span = 2,8 plans two cases"

# a span wider than any machine: stored skipped with the count it needs, never a crash
DB="$TMP/span.db"
expect_exit 0 "a span-64 case runs (skipped)" "$KBENCH" run --db "$DB" --kernels 'moe.layer@cuda.ep' \
    --devices cuda:0 --span 64 --tokens 64 --hidden 64 --ffn 64 --experts 4 --top-k 2 --quiet
expect_text "$TMP/out" "cannot be tested here: needs 64 GPUs" "the skip says how many GPUs it needs"
expect_eq "$(q "SELECT status || ' ' || span FROM cases WHERE impl = 'cuda.ep';")" "skipped 64" \
    "stored skipped, with span = 64"
expect_text "$TMP/out" "this machine has" "the skip says how many GPUs this machine has"
expect_eq "$(q "SELECT count(*) FROM v_results WHERE span = 64;")" "1" "v_results shows the span"
expect_exit 0 "a case without the axis" "$KBENCH" run --db "$DB" --kernels selftest.noop --max-time 0.01 \
    --no-counters --quiet --no-show
expect_eq "$(q "SELECT count(*) > 0, count(span) FROM cases WHERE kernel = 'selftest.noop';")" "1|0" \
    "a kernel without the axis stores NULL"
expect_exit 0 "show lists the span" "$KBENCH" show 1 --db "$DB"
expect_text "$TMP/out" "span=64" "kbench show lists span=64"
expect_exit 0 "export csv" "$KBENCH" export 1 --db "$DB" --format csv
# columns keep their numbers across versions (docs/export.md): span comes after the last of them
expect_eq "$(head -1 "$TMP/out" | tr -d '\r' | awk -F, '{ print $NF }')" "span" "the CSV's last column is span"
expect_eq "$(sed -n 2p "$TMP/out" | tr -d '\r' | awk -F, '{ print $NF }')" "64" "the CSV row holds span 64"
expect_eq "$(head -1 "$TMP/out" | tr -d '\r' | cut -d, -f62)" "input_dist" "input_dist is still column 62"
expect_exit 0 "export json" "$KBENCH" export 1 --db "$DB" --format json
if grep -q '"span": *64' "$TMP/out"; then ok "the JSON holds span 64"; else bad "the JSON holds span 64"; fi

# an old database: migrated on write (cases.span added, NULL for its cases), the views follow
cp "$top_srcdir/tests/fixtures/schema-v2.db" "$TMP/old.db"
chmod u+w "$TMP/old.db"
old=$("$SQLITE3" "$TMP/old.db" "SELECT count(*) FROM cases;")
expect_exit 0 "a span case into an old database" "$KBENCH" run --db "$TMP/old.db" --kernels 'moe.layer@cuda.ep' \
    --devices cuda:0 --span 64 --tokens 64 --hidden 64 --ffn 64 --experts 4 --top-k 2 --quiet --no-show
DB="$TMP/old.db"
expect_eq "$(q "SELECT count(*) FROM cases WHERE span IS NULL;")" "$old" "the old cases have no span"
expect_eq "$(q "SELECT count(*) FROM v_latest_results WHERE span = 64;")" "1" "v_latest_results keeps the span"
expect_eq "$(q "PRAGMA user_version;")" "$("$SQLITE3" "$TMP/span.db" "PRAGMA user_version;")" \
    "the old database is at the current version"

# calibrate --span: a span wider than the machine cannot be measured, and says why
expect_exit 2 "calibrate --span 64" "$KBENCH" calibrate --span 64 --no-store
expect_text "$TMP/err" "cannot be tested here: needs 64 GPUs" "calibrate says how many GPUs it needs"

# the FlashMoE claim is an 8-GPU claim: with fewer GPUs it is not run and says so
gpus=$("$KBENCH" devices 2>/dev/null | grep -o '^cuda:[0-9]*' | sort -u | wc -l)
if [ "$gpus" -lt 8 ]; then
    expect_exit 0 "claims --only flashmoe" "$KBENCH" claims --only flashmoe --db "$TMP/claims.db"
    expect_text "$TMP/out" "cannot be tested here" "FlashMoE cannot be tested with fewer than 8 GPUs"
    expect_text "$TMP/out" "needs 8 GPUs" "and says it needs 8 GPUs"
    expect_text "$TMP/out" "this machine has" "and how many this machine has"
else
    ok "# SKIP the FlashMoE claim's GPU count (this machine has 8 GPUs or more)"
fi
finish
