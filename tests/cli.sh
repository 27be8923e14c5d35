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

# issue 15: a shape impossible as typed is a usage error naming the values, in dry run and run alike
check_bad "--heads 3 is not a multiple of --kv-heads 2" "GQA heads not whole groups" run --kernels attention.flash@cpu --heads 3 --kv-heads 2 --seq 64 --dry-run
check_bad "--top-k 8 is more than --experts 4" "top-k above experts" run --db "$TMP/shape.db" --kernels 'moe.*' --experts 4 --top-k 8 --tokens 16 --quiet
[ -e "$TMP/shape.db" ] && bad "a refused shape created a database" || ok "a refused shape stored nothing"
check_bad "out of range [1, 16777216]" "a value too large to parse is out of range" run --seq 99999999999999999999 --dry-run
# a decode-only kernel is planned only with --decode 1; --page needs it too
check_bad "--decode 1" "a decode-only kernel without --decode 1" run --kernels attention.flash@cpu.paged --dry-run
check_bad "out of range [0, 65536]" "a negative page" run --kernels attention.flash@cpu.paged --decode 1 --page -1 --dry-run
expect_exit 0 "a paged decode sweep plans" "$KBENCH" run --kernels 'attention.flash@cpu*' --decode 0,1 --page 0,16 --seq 100 --dry-run
expect_text "$TMP/out" "cpu.paged cpu f32 b=1 h=8 n=100 d=64 decode page=16" "the paged case is planned, saying its page"
expect_eq "$(grep -c 'cpu.paged' "$TMP/out")" "2" "and the decode-only kernel only at decode 1 (page 0 and 16)"
expect_exit 2 "a pattern whose kernels lack the dtype (dry run)" "$KBENCH" run --kernels attention.int8@cpu --dtype f32 --dry-run
cp "$TMP/err" "$TMP/err.dry"
check_bad "'attention.int8@cpu' takes dtype f32" "a pattern whose kernels lack the dtype (run)" run --db "$TMP/dt.db" --kernels attention.int8@cpu --dtype f32 --quiet
expect_text "$TMP/err.dry" "'attention.int8@cpu' takes dtype f32" "dry run says the same"
# attention.int8 times its quantization in setup, outside the timed region, and stores it beside
# its latency: show lists it under the kernels' own figures
expect_exit 0 "an INT8 attention run" "$KBENCH" run --db "$TMP/i8.db" --kernels attention.int8@cpu --dtype i8 --seq 130 \
    --max-time 0.02 --quiet --no-show --no-counters
expect_exit 0 "show the INT8 attention run" "$KBENCH" show --db "$TMP/i8.db"
expect_text "$TMP/out" "Figures the kernels stored beside their time" "show has a section for the kernels' own figures"
expect_text "$TMP/out" "kernel int8.quantize_s" "... with the INT8 quantization time"
if "$KBENCH" list 'attention.flash@cuda*' >/dev/null 2>&1; then
    check_bad "--devices cuda:N" "a CUDA pattern without a CUDA device (dry run)" run --kernels 'attention.flash@cuda*' --dry-run
else
    ok "# SKIP a CUDA pattern without --devices: this build has no CUDA kernels"
fi
# axes and suites
expect_exit 0 "cache takes a list" "$KBENCH" run --kernels attention.flash@cpu --seq 64 --cache hot,cold --dry-run
expect_text "$TMP/out" "2 cases" "hot,cold plans both"
expect_exit 0 "one case" "$KBENCH" run --kernels attention.flash@cpu --seq 64 --dry-run
expect_eq "$(tail -1 "$TMP/out")" "1 case" "one case is '1 case'"
expect_exit 0 "preset names ignore case" "$KBENCH" run --preset Llama-3-8B --kernels attention.flash@cpu --seq 64 --dry-run
expect_text "$TMP/out" "h=32 kvh=8 n=64 d=128" "Llama-3-8B is llama3-8b"
check_bad "--min-samples 0 is out of range [1, 100000000]" "an option's number out of range says so" run --min-samples 0 --dry-run
check_bad "--noise 5 is out of range [1e-05, 1]" "with the range" run --noise 5 --dry-run
check_bad "bad --max-time 'soon'" "text that is no number is named as such" run --max-time soon --dry-run
# a dry run refuses what the run refuses: of one case split in two shards, one shard is empty
empty=0
for i in 1 2; do
    "$KBENCH" run --kernels attention.flash@cpu --seq 64 --shard $i/2 --dry-run >/dev/null 2>"$TMP/err.shard" || {
        [ $? -eq 2 ] && grep -q "this shard is empty" "$TMP/err.shard" && empty=$((empty + 1)); }
done
expect_eq "$empty" "1" "an empty shard is refused in a dry run as in the run"
check_bad "did you mean --seq?" "a mistyped axis option gets the axis" run --seqlen 128 --dry-run
check_bad "did you mean --kv-heads?" "an axis typed as its store column" run --kv_heads 2 --dry-run
printf '[g]\nkernels = attention.flash\nseqlen = 128\n' > "$TMP/typo.suite"
check_bad "did you mean seq?" "a mistyped suite key gets a suggestion" run --suite "$TMP/typo.suite" --dry-run
printf '[g]\nkernels = attention.flash\nseq = 128\nseq = 256\n' > "$TMP/dup.suite"
check_bad "dup.suite:4:1: 'seq' is set twice in group [g] (first on line 3)" "a duplicate suite key" run --suite "$TMP/dup.suite" --dry-run
mkdir -p "$TMP/suites"
check_bad "is a folder" "a folder given as --suite" run --suite "$TMP/suites" --dry-run
expect_exit 0 "list --axes" "$KBENCH" list --axes
expect_eq "$(awk '$1 == "seq" { print $3 }' "$TMP/out")" "512,1024,2048" "list --axes shows run's seq default"
expect_eq "$(awk '$1 == "routing" { print $4 }' "$TMP/out")" "uniform,zipf,one,all" "list --axes lists every routing value the parser takes"
expect_exit 0 "routing=all is accepted" "$KBENCH" run --kernels moe.router --routing all --tokens 16 --dry-run
# --max-samples alone lowers the default minimum; a conflict names what was typed
expect_exit 0 "--max-samples 5 alone" "$KBENCH" run --db "$TMP/ms.db" --kernels selftest.noop --seq 1 --max-samples 5 --max-time 0.01 --quiet --no-show
DB="$TMP/ms.db"
n=$(q 'SELECT n FROM stats;')
[ "$n" -ge 1 ] && [ "$n" -le 5 ] && ok "at most 5 samples ($n)" || bad "samples with --max-samples 5: $n"
check_bad "--min-samples 8 is above --max-samples 5" "min above max names both" run --kernels selftest.noop --seq 1 --min-samples 8 --max-samples 5 --dry-run

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
