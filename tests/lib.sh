# lib.sh - small helpers for the shell tests. Each check prints one line; the script fails at the
# end if any check failed. KBENCH and SQLITE3 come from the Makefile's test environment.
: "${KBENCH:=$(pwd)/kbench}"
failures=0
checks=0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/kbench-test.XXXXXX")
# KBENCH_TEST_KEEP=1 keeps the scratch folder (its databases and job logs) for a post-mortem.
if [ "${KBENCH_TEST_KEEP:-0}" = 1 ]; then trap 'echo "# kept $TMP" >&2' EXIT; else trap 'rm -rf "$TMP"' EXIT; fi
export KBENCH_DB="$TMP/default.db"

# TAP output: automake's tap-driver counts each check.
ok()   { checks=$((checks + 1)); printf 'ok %d - %s\n' "$checks" "$1"; }
bad()  { checks=$((checks + 1)); failures=$((failures + 1)); printf 'not ok %d - %s\n' "$checks" "$1"; }

# expect_exit CODE DESCRIPTION CMD...: runs CMD, output in $TMP/out and $TMP/err
expect_exit() {
    want=$1; what=$2; shift 2
    "$@" >"$TMP/out" 2>"$TMP/err"
    got=$?
    if [ "$got" -eq "$want" ]; then ok "$what (exit $got)"; else
        bad "$what: exit $got, wanted $want"; sed 's/^/# /' "$TMP/err" | head -5; fi
}
# expect_text FILE TEXT DESCRIPTION: FILE contains TEXT (fixed string)
expect_text() {
    if grep -qF -- "$2" "$1"; then ok "$3"; else bad "$3: '$2' not in $(basename "$1")"; sed 's/^/# /' "$1" | head -5; fi
}
# expect_eq GOT WANT DESCRIPTION
expect_eq() {
    if [ "$1" = "$2" ]; then ok "$3"; else bad "$3: got '$1', wanted '$2'"; fi
}
# The tests that plant a busy neighbour on a CPU (confirm.sh, counters_moved.sh) and those that
# judge "slower" from timings (bisect.sh, regress.sh's nightlies, slurm.sh's nightly step) take
# turns: side by side (under `make -j check`, or two builds on one machine) a neighbour would
# slow the other test's cases. The lock is machine-wide,
# in $TMPDIR, and is released when the test exits.
timing_lock() {
    if command -v flock >/dev/null 2>&1; then
        exec 9>"${TMPDIR:-/tmp}/kbench-neighbour-tests.lock"
        flock 9
    fi
}
need_sqlite3() {
    if [ -z "${SQLITE3:-}" ] || ! [ -x "$SQLITE3" ]; then SQLITE3=$(command -v sqlite3 || true); fi
    if [ -z "$SQLITE3" ]; then echo "1..0 # SKIP the sqlite3 command-line client is not installed"; exit 0; fi
}
q() { "$SQLITE3" -batch -noheader "$DB" "$1"; }
finish() {
    echo "1..$checks"
    [ "$failures" -eq 0 ]
}
