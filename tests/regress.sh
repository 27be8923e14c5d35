#!/bin/sh
# regress.sh - regression verdicts end to end with real runs of selftest.spin (busy-waits seq
# microseconds × $KBENCH_SPIN_SCALE): identical runs compare clean, planted 10% slowdowns are
# flagged every time, 2% ones (under the 5% threshold) never; a 300 ms kernel made 50% slower is
# flagged at default settings though its 3-4 samples can never make the U test significant, and
# identical 300 ms runs are not; inconclusive cases fail unless --allow-inconclusive; runs with
# no case in common exit 2; reports in every format (JUnit validated against
# tests/fixtures/junit.xsd); nightly with promotion; history names the run of a step; import is
# idempotent and shards import into the whole.
. "${top_srcdir:-.}/tests/lib.sh"
need_sqlite3
DB="$TMP/r.db"
spin="--kernels selftest.spin --seq 200,500 --max-time 0.1 --quiet --no-show --no-counters"
run() { "$KBENCH" run --db "$DB" $spin "$@" >/dev/null 2>"$TMP/run.err" || { sed 's/^/# /' "$TMP/run.err"; return 1; }; }
have_xmllint() { command -v xmllint >/dev/null 2>&1; }
skip() { checks=$((checks + 1)); printf 'ok %d # SKIP %s\n' "$checks" "$1"; }

# ---- identical, 10% and 2% slower -----------------------------------------------------------------
run --tag base && ok "baseline run" || bad "baseline run"
reps=6; alarms=0; i=0
while [ $i -lt $reps ]; do
    run; "$KBENCH" compare tag:base latest --db "$DB" >"$TMP/cmp.out" 2>&1
    rc=$?; [ $rc -ne 0 ] && { alarms=$((alarms + 1)); sed 's/^/# /' "$TMP/cmp.out"; }
    i=$((i + 1))
done
expect_eq "$alarms" "0" "identical runs: no false alarm in $reps comparisons"
hits=0; i=0
while [ $i -lt 3 ]; do
    KBENCH_SPIN_SCALE=1.10 run
    "$KBENCH" compare tag:base latest --db "$DB" >"$TMP/cmp.out" 2>&1
    [ $? -eq 1 ] && [ "$(grep -c '^regressed' "$TMP/cmp.out")" -eq 2 ] && hits=$((hits + 1))
    i=$((i + 1))
done
expect_eq "$hits" "3" "10% slower: both cases flagged in 3 of 3 runs"
slow10=$(q 'SELECT max(id) FROM runs;')
flagged=0; i=0
while [ $i -lt 3 ]; do
    KBENCH_SPIN_SCALE=1.02 run
    "$KBENCH" compare tag:base latest --db "$DB" >"$TMP/cmp.out" 2>&1 || { flagged=$((flagged + 1)); sed 's/^/# /' "$TMP/cmp.out"; }
    i=$((i + 1))
done
expect_eq "$flagged" "0" "2% slower (under the 5% threshold): flagged in 0 of 3 runs"
expect_exit 0 "a per-kernel threshold of 12% lets the 10% slowdown pass" \
    "$KBENCH" compare tag:base "$slow10" --db "$DB" --threshold-for 'selftest.spin=0.12'
expect_exit 1 "--threshold 0.01 flags the 2% slowdown" "$KBENCH" compare tag:base latest --db "$DB" --threshold 0.01

# ---- formats --------------------------------------------------------------------------------------
expect_exit 1 "compare --format junit" "$KBENCH" compare tag:base "$slow10" --db "$DB" --format junit -o "$TMP/junit.xml"
if have_xmllint; then
    xmllint --noout --schema "$top_srcdir/tests/fixtures/junit.xsd" "$TMP/junit.xml" 2>"$TMP/xsd.err" \
        && ok "JUnit report validates against the JUnit schema" || { bad "JUnit report invalid"; sed 's/^/# /' "$TMP/xsd.err"; }
else
    skip "xmllint is not installed (Debian: libxml2-utils): JUnit not validated"
fi
expect_eq "$(grep -c '<failure type="regressed"' "$TMP/junit.xml")" "2" "JUnit has a failure per regressed case"
expect_exit 1 "compare --format md" "$KBENCH" compare tag:base "$slow10" --db "$DB" --format md
expect_text "$TMP/out" "FAIL (2 regressed)" "markdown states the outcome"
expect_text "$TMP/out" "| **regressed** |" "markdown lists the regressions"
expect_exit 1 "compare --format json" "$KBENCH" compare tag:base "$slow10" --db "$DB" --format json
python3 -c "import json,sys; d=json.load(sys.stdin); assert d['summary']['regressed']==2; assert all(1.08<c['ratio']<1.12 for c in d['cases'])" <"$TMP/out" \
    && ok "JSON parses: 2 regressed, ratios near 1.10" || bad "JSON report"
expect_exit 2 "compare with an unknown run" "$KBENCH" compare tag:base 999 --db "$DB"
expect_text "$TMP/err" "999" "the unknown run is named"
expect_exit 2 "compare --format bad" "$KBENCH" compare 1 2 --db "$DB" --format xml
expect_exit 2 "compare --threshold-for without a value" "$KBENCH" compare 1 2 --db "$DB" --threshold-for spin
expect_exit 2 "compare needs two runs" "$KBENCH" compare 1 --db "$DB"

# ---- a slow kernel: 3-4 samples a side at default settings ----------------------------------------
# 300 ms per call and the default 1 s budget give 3 or 4 samples, with which the one-sided U test
# can reach p = 1/35 = 0.029 at best, never the 0.01 it needs: the CI of the ratio must decide.
SDB="$TMP/slow.db"
slow() { "$KBENCH" run --db "$SDB" --kernels selftest.spin --seq 300000 --quiet --no-show --no-counters >/dev/null 2>"$TMP/run.err" \
    || sed 's/^/# /' "$TMP/run.err"; }
slow; slow; slow
alarms=0
for pair in "1 2" "2 3" "1 3"; do
    "$KBENCH" compare $pair --db "$SDB" >"$TMP/cmp.out" 2>&1 || { alarms=$((alarms + 1)); sed 's/^/# /' "$TMP/cmp.out"; }
done
expect_eq "$alarms" "0" "identical 300 ms runs: no alarm in 3 comparisons"
KBENCH_SPIN_SCALE=1.5 slow
expect_exit 1 "a 300 ms kernel made 50% slower fails the comparison at default settings" "$KBENCH" compare 1 4 --db "$SDB"
expect_eq "$(grep -cE '^(regressed|inconclusive) +selftest.spin' "$TMP/out")" "1" "and its case is flagged, not same"
# one sample a side (a run that asked for one): no interval, no test; a 50% slowdown can only be inconclusive
cp "$SDB" "$TMP/one.db"
"$SQLITE3" "$TMP/one.db" "DELETE FROM samples WHERE idx > 0; UPDATE stats SET n = 1, min_samples = 1;"
expect_exit 1 "one sample a side, 50% slower: inconclusive fails" "$KBENCH" compare 1 4 --db "$TMP/one.db"
expect_eq "$(grep -cE '^inconclusive +selftest' "$TMP/out")" "1" "the verdict is inconclusive"
expect_text "$TMP/out" "FAIL (1 inconclusive)" "the outcome names it"
expect_text "$TMP/out" " n/a " "no CI from one sample a side"
expect_exit 0 "--allow-inconclusive lets it pass" "$KBENCH" compare 1 4 --db "$TMP/one.db" --allow-inconclusive
expect_text "$TMP/out" "PASS (1 inconclusive allowed)" "and still says so"
# within the threshold is same however few the samples (set with SQL: one sample of a loaded
# machine can stray 5% on its own)
"$SQLITE3" "$TMP/one.db" "UPDATE samples SET seconds = 1.01 * (SELECT seconds FROM samples s JOIN cases c ON c.id = s.case_id WHERE c.run_id = 1)
    WHERE case_id = (SELECT id FROM cases WHERE run_id = 2);"
expect_exit 0 "one sample a side, 1% slower: same" "$KBENCH" compare 1 2 --db "$TMP/one.db"
expect_eq "$(grep -cE '^same +selftest' "$TMP/out")" "1" "the verdict is same"
expect_exit 1 "inconclusive in JUnit" "$KBENCH" compare 1 4 --db "$TMP/one.db" --format junit -o "$TMP/inc.xml"
expect_eq "$(grep -c '<failure type="inconclusive"' "$TMP/inc.xml")" "1" "JUnit: a failure of type inconclusive"
if have_xmllint; then
    xmllint --noout --schema "$top_srcdir/tests/fixtures/junit.xsd" "$TMP/inc.xml" 2>/dev/null \
        && ok "JUnit with an inconclusive case validates" || bad "JUnit with an inconclusive case invalid"
else
    skip "xmllint is not installed (Debian: libxml2-utils): JUnit not validated"
fi
expect_exit 0 "allowed inconclusive in JUnit is skipped" "$KBENCH" compare 1 4 --db "$TMP/one.db" --format junit --allow-inconclusive
expect_text "$TMP/out" '<skipped message="inconclusive: ' "JUnit: allowed inconclusive is a skip"
expect_exit 1 "inconclusive in markdown" "$KBENCH" compare 1 4 --db "$TMP/one.db" --format md
expect_text "$TMP/out" "| **inconclusive** |" "markdown lists it among the failing"
expect_exit 1 "inconclusive in JSON" "$KBENCH" compare 1 4 --db "$TMP/one.db" --format json
python3 -c "import json,sys; d=json.load(sys.stdin); c=d['cases'][0]; assert d['summary']['inconclusive']==1 and c['verdict']=='inconclusive' and c['fails'] and c['ratio_ci_lo'] is None" <"$TMP/out" \
    && ok "JSON: inconclusive counted, CI null" || bad "JSON inconclusive"

# ---- runs that cannot vouch for each other ----------------------------------------------------------
"$KBENCH" run --db "$SDB" --kernels selftest.spin --seq 300 --max-time 0.05 --quiet --no-show --no-counters >/dev/null 2>&1
expect_exit 2 "two runs with no case in common" "$KBENCH" compare 1 5 --db "$SDB"
expect_text "$TMP/err" "no case in common" "says there is no case in common"
expect_text "$TMP/out" "FAIL (no case in common)" "and the report's outcome agrees"
expect_exit 2 "no case in common, JSON" "$KBENCH" compare 1 5 --db "$SDB" --format json
python3 -c "import json,sys; d=json.load(sys.stdin); assert d['summary']['matched']==0 and d['summary']['too_few_matched']" <"$TMP/out" \
    && ok "JSON: matched 0" || bad "JSON matched"
# run 6 shares the 300 ms case with run 1 (with one sample: same or inconclusive, allowed here)
"$KBENCH" run --db "$SDB" --kernels selftest.spin --seq 300000,300 --max-time 0.05 --quiet --no-show --no-counters >/dev/null 2>&1
expect_exit 0 "1 of 2 cases in common: enough by default" "$KBENCH" compare 1 6 --db "$SDB" --allow-inconclusive
expect_exit 2 "but not under --min-matched 0.9" "$KBENCH" compare 1 6 --db "$SDB" --min-matched 0.9 --allow-inconclusive
expect_text "$TMP/err" "1 of 2 cases in both runs, under --min-matched 0.9" "names the fraction"
expect_exit 2 "--min-matched out of range" "$KBENCH" compare 1 4 --db "$SDB" --min-matched 1.5
"$SQLITE3" "$SDB" "UPDATE runs SET status = 'interrupted' WHERE id = 2;"
expect_exit 0 "comparing an interrupted run" "$KBENCH" compare 1 2 --db "$SDB"
expect_text "$TMP/err" "warning: the candidate run 2 is interrupted" "warns on stderr"
expect_text "$TMP/out" "warning: the candidate run 2 is interrupted" "and in the report"

# ---- samples of a copied database scaled with SQL --------------------------------------------------
cp "$DB" "$TMP/scaled.db"
"$SQLITE3" "$TMP/scaled.db" "UPDATE samples SET seconds = seconds * 1.10 WHERE case_id IN (SELECT id FROM cases WHERE run_id = 2);
    UPDATE stats SET median_s = median_s * 1.10 WHERE case_id IN (SELECT id FROM cases WHERE run_id = 2);"
expect_exit 1 "samples scaled by 1.10 with SQL are flagged" "$KBENCH" compare 1 2 --db "$TMP/scaled.db"
expect_eq "$(grep -c '^regressed' "$TMP/out")" "2" "both scaled cases regressed"

# ---- machines ---------------------------------------------------------------------------------------
cp "$DB" "$TMP/other.db"
"$SQLITE3" "$TMP/other.db" "INSERT INTO machines (fingerprint, hostname, cpu_model) VALUES ('00000000000000ff', 'elsewhere', 'x');
    UPDATE runs SET machine_id = (SELECT id FROM machines WHERE fingerprint = '00000000000000ff') WHERE id = 1;"
expect_exit 2 "runs of different machines are refused" "$KBENCH" compare 1 2 --db "$TMP/other.db"
expect_text "$TMP/err" "--cross-machine" "the refusal says how to compare anyway"
expect_exit 0 "--cross-machine compares them" "$KBENCH" compare 1 2 --db "$TMP/other.db" --cross-machine
expect_exit 2 "tag:NAME means this machine's newest run with the tag" "$KBENCH" compare tag:base latest --db "$TMP/other.db"
expect_text "$TMP/err" "on this machine" "says the tag is only on other machines"

# ---- nightly ----------------------------------------------------------------------------------------
timing_lock # from here on "slower" is judged from timings: not beside a test that plants a busy neighbour
NDB="$TMP/n.db"; R="$TMP/report"
printf 'name = tiny\n[spin]\nkernels = selftest.spin\nseq = 200,400\n' >"$TMP/tiny.suite"
night() { "$KBENCH" nightly --db "$NDB" --suite "$TMP/tiny.suite" --baseline tag:good --max-time 0.1 --no-counters --quiet "$@"; }
expect_exit 0 "first nightly: no baseline yet, promoted" night --promote --report "$R"
expect_text "$TMP/out" "reported alone" "says there is no baseline"
DB=$NDB
expect_eq "$(q "SELECT group_concat(run_id) FROM run_tags WHERE tag = 'good';")" "1" "run 1 promoted"
expect_exit 0 "second nightly: clean, promoted" night --promote --report "$R"
expect_eq "$(q "SELECT max(run_id) FROM run_tags WHERE tag = 'good';")" "2" "run 2 promoted"
for f in compare.md junit.xml compare.json; do [ -s "$R/$f" ] && ok "report $f written" || bad "report $f missing"; done
if have_xmllint; then
    xmllint --noout --schema "$top_srcdir/tests/fixtures/junit.xsd" "$R/junit.xml" 2>/dev/null && ok "nightly JUnit validates" || bad "nightly JUnit invalid"
else
    skip "xmllint is not installed (Debian: libxml2-utils): nightly JUnit not validated"
fi
KBENCH_SPIN_SCALE=1.1 night --promote --report "$R" >"$TMP/out" 2>"$TMP/err"
expect_eq "$?" "1" "nightly with a planted 10% slowdown exits 1"
expect_eq "$(q "SELECT max(run_id) FROM run_tags WHERE tag = 'good';")" "2" "the slow run is not promoted"
expect_text "$R/compare.md" "regressed" "the markdown report names the regression"
"$SQLITE3" "$NDB" "INSERT INTO machines (fingerprint, hostname, cpu_model) VALUES ('00000000000000ff', 'elsewhere', 'x');
    UPDATE runs SET machine_id = (SELECT id FROM machines WHERE fingerprint = '00000000000000ff') WHERE id IN (1, 2);"
before=$(q 'SELECT count(*) FROM runs;')
expect_exit 2 "nightly refuses a baseline from another machine" night
expect_text "$TMP/err" "--cross-machine" "and says how to allow it"
expect_eq "$(q 'SELECT count(*) FROM runs;')" "$before" "nothing was run"
expect_exit 2 "--promote needs a tag baseline" "$KBENCH" nightly --db "$NDB" --baseline 1 --promote
# the devices go to the run: a nightly on a GPU is the same command with --devices cuda:N
expect_exit 0 "nightly --devices cpu" "$KBENCH" nightly --db "$TMP/dev.db" --suite "$TMP/tiny.suite" --devices cpu \
    --max-time 0.05 --no-counters --quiet
DB="$TMP/dev.db"
expect_eq "$(q "SELECT count(*) FROM cases WHERE device = 'cpu';")" "2" "its cases ran on the CPU"
expect_exit 2 "nightly on a GPU that is not there" "$KBENCH" nightly --db "$TMP/dev.db" --suite "$TMP/tiny.suite" \
    --devices cuda:9 --max-time 0.05 --quiet
expect_text "$TMP/err" "cuda:9" "the error names the device"
# the sampling options go to the run too
expect_exit 0 "nightly --min-samples 25" "$KBENCH" nightly --db "$TMP/min.db" --suite "$TMP/tiny.suite" --min-samples 25 \
    --max-time 0.001 --no-counters --quiet
DB="$TMP/min.db"
expect_eq "$(q "SELECT count(*) FROM stats WHERE min_samples = 25 AND n >= 25;")" "2" "its cases took the minimum it was given"

# nightly decides as compare does: a 300 ms kernel made 50% slower at default settings fails it
SNDB="$TMP/slow-nightly.db"
printf 'name = slow\n[spin]\nkernels = selftest.spin\nseq = 300000\n' >"$TMP/slow.suite"
snight() { "$KBENCH" nightly --db "$SNDB" --suite "$TMP/slow.suite" --baseline tag:good --no-counters --quiet "$@"; }
expect_exit 0 "slow nightly: first run promoted" snight --promote
KBENCH_SPIN_SCALE=1.5 snight --promote --report "$TMP/slow-report" >"$TMP/out" 2>"$TMP/err"
expect_eq "$?" "1" "nightly: a 300 ms kernel made 50% slower exits 1"
expect_eq "$(grep -cE '^(regressed|inconclusive) +selftest' "$TMP/out")" "1" "nightly flags the case"
expect_eq "$("$SQLITE3" "$SNDB" "SELECT max(run_id) FROM run_tags WHERE tag = 'good';")" "1" "and does not promote it"
printf 'name = other\n[spin]\nkernels = selftest.spin\nseq = 300\n' >"$TMP/other.suite"
expect_exit 2 "nightly against a baseline with no case in common" \
    "$KBENCH" nightly --db "$SNDB" --suite "$TMP/other.suite" --baseline tag:good --max-time 0.05 --no-counters --quiet \
    --promote --report "$TMP/other-report"
expect_text "$TMP/err" "no case in common" "says so"
expect_text "$TMP/other-report/compare.md" "FAIL (no case in common)" "its report says so too"
expect_eq "$("$SQLITE3" "$SNDB" "SELECT max(run_id) FROM run_tags WHERE tag = 'good';")" "1" "and does not promote"

# ---- history ----------------------------------------------------------------------------------------
HDB="$TMP/h.db"
# a +25% step: a busy 2-core CI machine moves a run's median of 300 us spins by several percent
# (a +10% step went unseen there twice in one session), far less than this
for s in 1 1 1 1 1.25 1.25 1.25 1.25; do KBENCH_SPIN_SCALE=$s "$KBENCH" run --db "$HDB" --kernels selftest.spin --seq 300 --max-time 0.05 --quiet --no-show --no-counters 2>/dev/null >&2; done
expect_exit 0 "history" "$KBENCH" history --db "$HDB" --kernel selftest.spin --shape seq=300
expect_text "$TMP/out" "run 5: step +2" "history names run 5 as the start of a +25% step"
expect_exit 2 "history of nothing" "$KBENCH" history --db "$HDB" --kernel attention.flash
expect_exit 2 "history --shape with an unknown key" "$KBENCH" history --db "$HDB" --kernel selftest.spin --shape len=3

# ---- shards and import ------------------------------------------------------------------------------
sh6="--kernels selftest.spin --seq 100:600:+100 --max-time 0.02 --quiet --no-show --no-counters"
"$KBENCH" run --db "$TMP/whole.db" $sh6 >/dev/null 2>&1
"$KBENCH" run --db "$TMP/s1.db" $sh6 --shard 1/2 --tag shard >/dev/null 2>&1
"$KBENCH" run --db "$TMP/s2.db" $sh6 --shard 2/2 --tag shard >/dev/null 2>&1
n1=$("$SQLITE3" "$TMP/s1.db" 'SELECT count(*) FROM cases;'); n2=$("$SQLITE3" "$TMP/s2.db" 'SELECT count(*) FROM cases;')
[ "$n1" -gt 0 ] && [ "$n2" -gt 0 ] && ok "both shards have cases ($n1 + $n2)" || bad "a shard is empty ($n1, $n2)"
expect_exit 0 "import both shards" "$KBENCH" import "$TMP/s1.db" "$TMP/s2.db" --db "$TMP/all.db"
expect_text "$TMP/out" "1 run imported" "import reports what it added"
DB="$TMP/all.db"
ids="SELECT group_concat(seq_len) FROM (SELECT seq_len FROM cases ORDER BY seq_len);"
expect_eq "$(q "$ids")" "$("$SQLITE3" "$TMP/whole.db" "$ids")" "shards together equal the whole sweep, each case once"
expect_eq "$(q 'SELECT count(*) FROM runs;')" "2" "two runs imported"
expect_eq "$(q 'SELECT count(*) FROM machines;')" "1" "the machine once (deduplicated by fingerprint)"
expect_eq "$(q "SELECT count(*) FROM run_tags WHERE tag = 'shard';")" "2" "tags imported"
counts="SELECT (SELECT count(*) FROM runs)||','||(SELECT count(*) FROM cases)||','||(SELECT count(*) FROM samples)||','||(SELECT count(*) FROM stats)||','||(SELECT count(*) FROM counters)||','||(SELECT count(*) FROM accuracy)||','||(SELECT count(*) FROM run_tags)||','||(SELECT count(*) FROM machines);"
src="$("$SQLITE3" "$TMP/s1.db" "SELECT (SELECT count(*) FROM samples)||','||(SELECT count(*) FROM counters)||','||(SELECT count(*) FROM accuracy);")"
s1rows="$(q "SELECT (SELECT count(*) FROM samples s JOIN cases c ON c.id = s.case_id JOIN runs r ON r.id = c.run_id WHERE r.uuid = (SELECT uuid FROM runs WHERE id = 1))||','||(SELECT count(*) FROM counters k JOIN cases c ON c.id = k.case_id WHERE c.run_id = 1)||','||(SELECT count(*) FROM accuracy a JOIN cases c ON c.id = a.case_id WHERE c.run_id = 1);")"
expect_eq "$s1rows" "$src" "every sample, counter and accuracy row of a shard arrived"
before=$(q "$counts")
expect_exit 0 "importing again" "$KBENCH" import "$TMP/s1.db" "$TMP/s2.db" --db "$TMP/all.db"
expect_text "$TMP/out" "0 runs imported" "says nothing was new"
expect_eq "$(q "$counts")" "$before" "importing twice adds nothing"
# two shards split the cases between them: compared, they share none, which is not a pass
expect_exit 2 "comparing two shards of one sweep: no case in common" "$KBENCH" compare 1 2 --db "$TMP/all.db"
expect_text "$TMP/err" "no case in common" "says so"
sum=$(cksum <"$TMP/all.db")
"$SQLITE3" "$TMP/foreign.db" "CREATE TABLE t (x); INSERT INTO t VALUES (1);"
expect_exit 2 "importing a foreign database is refused" "$KBENCH" import "$TMP/foreign.db" --db "$TMP/all.db"
expect_text "$TMP/err" "foreign.db" "the refused file is named"
cp "$TMP/s1.db" "$TMP/newer.db"; "$SQLITE3" "$TMP/newer.db" "PRAGMA user_version = 999;"
expect_exit 2 "importing a newer-schema database is refused" "$KBENCH" import "$TMP/newer.db" --db "$TMP/all.db"
printf 'not a database at all, just text that goes on for a while..........................' >"$TMP/junk.db"
expect_exit 2 "importing a file that is not SQLite is refused" "$KBENCH" import "$TMP/junk.db" --db "$TMP/all.db"
expect_eq "$(cksum <"$TMP/all.db")" "$sum" "refused imports change nothing"
expect_exit 2 "import without a file" "$KBENCH" import --db "$TMP/all.db"

finish
