#!/bin/sh
# cli.sh - the command line: help, version, and usage/input errors that exit 2 naming the bad value.
. "${top_srcdir:-.}/tests/lib.sh"
need_sqlite3

expect_exit 0 "--version" "$KBENCH" --version
expect_text "$TMP/out" "kbench " "--version prints the version"
expect_exit 0 "--help" "$KBENCH" --help
for cmd in run list devices counters runs show export; do
    expect_exit 0 "$cmd --help" "$KBENCH" $cmd --help
    expect_text "$TMP/out" "usage: kbench $cmd" "$cmd --help prints its usage"
done
expect_exit 2 "no command" "$KBENCH"
expect_exit 2 "unknown command" "$KBENCH" frobnicate
expect_text "$TMP/err" "frobnicate" "unknown command is named"

# bad values: exit 2 and the message names the value
check_bad() { # TEXT-EXPECTED DESCRIPTION ARGS...
    text=$1; what=$2; shift 2
    expect_exit 2 "$what" "$KBENCH" "$@"
    expect_text "$TMP/err" "$text" "$what: message names '$text'"
}
check_bad "abc" "run --seq abc" run --seq abc --dry-run
check_bad "f33" "run --dtype f33" run --dtype f33 --dry-run
check_bad "nope.*" "run --kernels nope.*" run --kernels 'nope.*' --dry-run
check_bad "-1" "run --noise -1" run --noise -1 --dry-run
check_bad "3/2" "run --shard 3/2" run --shard 3/2 --dry-run
check_bad "--bogus" "run --bogus" run --bogus
check_bad "tpu:0" "run --devices tpu:0" run --devices tpu:0 --dry-run
check_bad "lukewarm" "run --cache lukewarm" run --cache lukewarm --dry-run
check_bad "extra" "run extra" run extra
check_bad "/nonexistent/x.suite" "run --suite missing file" run --suite /nonexistent/x.suite
check_bad "PAPI_TOT_CYC" "counters --check misspelt event suggests the right one" counters --check PAPI_TOT_CYCLES
check_bad "PAPI_NOT_AN_EVENT" "run --counters unknown preset" run --counters PAPI_NOT_AN_EVENT --dry-run
check_bad "xml" "export --format xml" export --format xml
check_bad "zzz*" "list pattern matching nothing" list 'zzz*'
check_bad "--timeout" "run --timeout without a value" run --timeout

printf '[g]\nkernels = attention.flash\nseq = 128\nwidth = 3\n' > "$TMP/bad.suite"
check_bad "bad.suite:4" "malformed suite names file and line" run --suite "$TMP/bad.suite"
check_bad "width" "malformed suite names the key" run --suite "$TMP/bad.suite"

# reads never create a database
check_bad "$TMP/missing.db" "show on a missing database" show --db "$TMP/missing.db"
[ -e "$TMP/missing.db" ] && bad "show created the missing database" || ok "show did not create the database"

# foreign and non-SQLite files are refused and left untouched
"$SQLITE3" "$TMP/foreign.db" "CREATE TABLE notes(x); INSERT INTO notes VALUES (1);"
sum_before=$(cksum < "$TMP/foreign.db")
check_bad "not a kbench database" "run into a foreign SQLite file" run --db "$TMP/foreign.db" --kernels attention.flash --seq 64 --head-dim 16 --quiet
expect_eq "$(cksum < "$TMP/foreign.db")" "$sum_before" "foreign database unchanged"
printf 'hello, not a database\n' > "$TMP/text.db"
sum_before=$(cksum < "$TMP/text.db")
check_bad "$TMP/text.db" "run into a text file" run --db "$TMP/text.db" --kernels attention.flash --seq 64 --head-dim 16 --quiet
expect_eq "$(cksum < "$TMP/text.db")" "$sum_before" "text file unchanged"

# dry run lists the plan and touches no database
expect_exit 0 "run --dry-run" "$KBENCH" run --db "$TMP/dry.db" --kernels attention.flash --seq 128:1024:x2 --causal 0,1 --dry-run
expect_text "$TMP/out" "8 cases" "dry run plans 4 lengths x 2 causal"
[ -e "$TMP/dry.db" ] && bad "dry run created a database" || ok "dry run created no database"

expect_exit 0 "list" "$KBENCH" list
expect_text "$TMP/out" "attention.flash" "list shows attention.flash"
expect_text "$TMP/out" "attention.reference" "list shows attention.reference"
expect_exit 0 "devices" "$KBENCH" devices
expect_text "$TMP/out" "cpu" "devices shows the CPU"

# a GPU that is not here is refused before anything runs
if ! "$KBENCH" devices 2>/dev/null | grep -q '^cuda:0'; then
    check_bad "cuda:0" "run on a missing GPU" run --db "$TMP/nogpu.db" --devices cuda:0 --kernels 'attention.*'
    [ -e "$TMP/nogpu.db" ] && bad "a refused GPU run created a database" || ok "a refused GPU run created no database"
fi

finish
