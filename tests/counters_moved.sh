#!/bin/sh
# counters_moved.sh - the counters that moved with a changed case (compare.h,
# compare_counters_moved), on the CPU: a kernel's own stat (a test plugin's step count) when the
# kernel does more work, rusage's involuntary context switches when a neighbour shares its CPU,
# listed in every format, largest relative change first; "nothing was counted" where nothing was.
. "${top_srcdir:-.}/tests/lib.sh"
timing_lock # its planted neighbour must not slow another timing test's cases, nor theirs its own
need_sqlite3
src=${top_srcdir:-.}
. "$src/tests/plugin_lib.sh"
DB="$TMP/m.db"
if build_plugin "$TMP/libwork.so" "$src/tests/fixtures/work_plugin.c"; then ok "the test plugin compiles against kbench.h"
else bad "the test plugin does not compile"; sed 's/^/# /' "$TMP/cc.err" | head; finish; exit; fi
W="run --plugin $TMP/libwork.so --kernels test.work --seq 2000 --max-time 0.3 --db $DB --quiet --no-show"

# ---- a kernel stat: 50% more steps, 50% more time ----
# shellcheck disable=SC2086
"$KBENCH" $W >/dev/null 2>&1
# shellcheck disable=SC2086
KBENCH_TEST_WORK_SCALE=1.5 "$KBENCH" $W >/dev/null 2>&1
expect_exit 1 "50% more work regresses" "$KBENCH" compare 1 2 --db "$DB"
expect_text "$TMP/out" "counters: time +" "the text report lists the counters of the regressed case"
expect_text "$TMP/out" "kernel iterations +50.0%" "the kernel's own step count moved +50%"
# largest relative change first: the percentages on the line never grow in size
grep "counters: time" "$TMP/out" | sed 's/.*counters: time [^:]*: //' | grep -o '[-+][0-9.]*%' |
    tr -d '%+-' >"$TMP/pcts"
if [ -s "$TMP/pcts" ] && sort -rn "$TMP/pcts" | cmp -s - "$TMP/pcts"; then ok "largest relative change first ($(tr '\n' ' ' <"$TMP/pcts"))"
else bad "counters not in order of size: $(tr '\n' ' ' <"$TMP/pcts")"; grep "counters:" "$TMP/out" | sed 's/^/# /'; fi
"$KBENCH" compare 1 2 --db "$DB" --format json >"$TMP/c.json" 2>/dev/null
expect_text "$TMP/c.json" '"backend": "kernel", "name": "iterations", "unit": "count", "base": 200000, "candidate": 300000, "change": 0.5' \
    "JSON: the moved counter with both values and its change"
"$KBENCH" compare 1 2 --db "$DB" --format md >"$TMP/c.md" 2>/dev/null
expect_text "$TMP/c.md" "counters: time +" "markdown: the counters that moved"
"$KBENCH" compare 1 2 --db "$DB" --format junit >"$TMP/c.xml" 2>/dev/null
expect_text "$TMP/c.xml" "kernel iterations +50.0%" "JUnit: the failure message names the counter"
expect_exit 0 "the reverse is an improvement" "$KBENCH" compare 2 1 --db "$DB"
expect_text "$TMP/out" "kernel iterations -33.3%" "and its counters moved the other way"

# ---- memory traffic: a memory counter where the machine can count one, else it says it cannot ----
DB="$TMP/mem.db"
M="run --plugin $TMP/libwork.so --kernels test.work --seq 100 --max-time 0.3 --db $DB --quiet --no-show"
# shellcheck disable=SC2086
"$KBENCH" $M >/dev/null 2>&1
# shellcheck disable=SC2086
KBENCH_TEST_WORK_MEM=16 "$KBENCH" $M >/dev/null 2>&1
"$KBENCH" compare 1 2 --db "$DB" >"$TMP/mem.txt" 2>/dev/null
papi=$(q "SELECT papi_status FROM cases WHERE run_id = 2")
case $papi in
unavailable*)
    expect_text "$TMP/mem.txt" "PAPI could not count here" "no PMU here: the report says PAPI could not count ($papi)" ;;
*)
    if grep "counters: time" "$TMP/mem.txt" | grep -Eq "papi PAPI_(L1|L2|L3)_[DT]CM|derived .*miss"; then
        ok "memory traffic names a cache-miss counter"
    else bad "memory traffic moved no cache counter: $(grep 'counters:' "$TMP/mem.txt")"; fi ;;
esac
DB="$TMP/m.db"

# ---- unchanged: no counter line ----
# shellcheck disable=SC2086
"$KBENCH" $W >/dev/null 2>&1
"$KBENCH" compare 1 3 --db "$DB" --format json >"$TMP/same.json" 2>/dev/null
if grep -q '"verdict": "same"' "$TMP/same.json"; then
    expect_text "$TMP/same.json" '"counters": null' "an unchanged case lists no counters"
else
    ok "# SKIP the rerun was not judged same on this busy machine"
fi

# ---- nothing counted ----
cp "$DB" "$TMP/none.db"
DB="$TMP/none.db" q "DELETE FROM counters WHERE case_id IN (SELECT id FROM cases WHERE run_id = 2)"
"$KBENCH" compare 1 2 --db "$TMP/none.db" >"$TMP/none.txt" 2>/dev/null
expect_text "$TMP/none.txt" "nothing was counted in the candidate run" "a side without counters: said so"
DB="$TMP/none.db" q "DELETE FROM counters"
"$KBENCH" compare 1 2 --db "$TMP/none.db" --format json >"$TMP/none.json" 2>/dev/null
if grep -Eq 'nothing was counted(;|")' "$TMP/none.json"; then ok "no counters at all: \"nothing was counted\""
else bad "no counters at all: $(grep -o '"summary": "[^"]*' "$TMP/none.json")"; fi
expect_text "$TMP/none.json" '"base_counted": 0, "candidate_counted": 0' "JSON: how many were counted on each side"

# ---- rusage: a neighbour on the kernel's CPU takes its share of it: the case is switched out
# more often (involuntary context switches up) and, in the same sampling budget (wall time), gets
# less CPU time (user time down); either is the neighbour's mark, whichever moved more here ----
if command -v taskset >/dev/null 2>&1; then
    cpu=$(taskset -pc $$ | sed 's/.*: *//; s/[,-].*//')
    DB="$TMP/r.db"
    # test.work does a fixed number of steps (selftest.spin waits for the wall clock, which a
    # neighbour does not delay): sharing the CPU stretches its every call
    R="run --plugin $TMP/libwork.so --kernels test.work --seq 2000 --max-time 0.5 --min-sample-time 0.03 --no-counters --db $DB --quiet --no-show"
    # shellcheck disable=SC2086
    taskset -c "$cpu" "$KBENCH" $R >/dev/null 2>&1
    # two busy loops: the case keeps a third of its CPU, a slowdown clear of other load
    taskset -c "$cpu" sh -c 'while :; do :; done' &
    hog=$!
    taskset -c "$cpu" sh -c 'while :; do :; done' &
    hog="$hog $!"
    trap 'for p in $hog; do kill "$p" 2>/dev/null; done; rm -rf "$TMP"' EXIT
    # shellcheck disable=SC2086
    taskset -c "$cpu" "$KBENCH" $R >/dev/null 2>&1
    for p in $hog; do kill "$p"; wait "$p" 2>/dev/null; done
    "$KBENCH" compare 1 2 --db "$DB" --threshold 0.3 >"$TMP/r.txt" 2>/dev/null
    if grep -q "^regressed" "$TMP/r.txt"; then
        # switched out more often, less user or system time in the same budget: whichever moved most
        if grep "counters: time" "$TMP/r.txt" | grep -Eq "rusage (involuntary_ctx_switches \+|user_time -|system_time -)"; then
            ok "the neighbour shows in rusage: $(grep -o 'counters: .*' "$TMP/r.txt" | cut -c1-150)"
        else bad "the neighbour moved no rusage counter: $(grep 'counters:' "$TMP/r.txt")"; fi
    else
        bad "the neighbour did not slow the case down"; sed 's/^/# /' "$TMP/r.txt" | tail -8
    fi
else
    ok "# SKIP taskset (util-linux) is not installed: no neighbour on kbench's CPU"
fi
finish
