#!/bin/sh
# confirm.sh - confirm before alerting (harness/confirm.h): a one-off slowdown planted by a noisy
# neighbour during the candidate run only is measured again and dissolves; a real slowdown
# (KBENCH_SPIN_SCALE=3, which every build of the candidate has) is measured again and confirmed,
# by `kbench compare --confirm` and by `kbench nightly`, with the re-measurements stored as
# tagged runs and the reports saying which alerts stood.
#
# The neighbour is a busy loop on the same CPU as kbench (the first CPU this shell may use,
# whatever the machine has), and each sample spans several scheduler slices (--min-sample-time),
# so the neighbour takes its share of every sample: about twice the time. selftest.spin waits on
# the clock, so its time does not depend on the CPU model.
. "${top_srcdir:-.}/tests/lib.sh"
timing_lock # its planted neighbour must not slow another timing test's cases, nor theirs its own
need_sqlite3
DB="$TMP/c.db"
if ! command -v taskset >/dev/null 2>&1; then
    echo "1..0 # SKIP taskset (util-linux) is not installed: the neighbour cannot share kbench's CPU"
    exit 0
fi
cpu=$(taskset -pc $$ | sed 's/.*: *//; s/[,-].*//')
pin() { taskset -c "$cpu" "$@"; }
# a neighbour that stays until it is killed (started by taskset itself, not through a function,
# so that $! is the neighbour and not a subshell around it); killed on any exit
hog=
watcher=
trap 'for p in $hog $watcher; do kill "$p" 2>/dev/null; done; rm -rf "$TMP"' EXIT
# two busy loops: kbench keeps a third of its CPU, a slowdown clear of other load on the machine
hog_start() {
    taskset -c "$cpu" sh -c 'while :; do :; done' & hog=$!
    taskset -c "$cpu" sh -c 'while :; do :; done' & hog="$hog $!"
}
hog_stop() { for p in $hog; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; hog=; }
# the baseline build, as far as this test needs one: the same kbench without the planted slowdown
cat >"$TMP/kbench-baseline" <<EOS
#!/bin/sh
exec env -u KBENCH_SPIN_SCALE "$KBENCH" "\$@"
EOS
chmod +x "$TMP/kbench-baseline"

S="--max-time 0.5 --min-sample-time 0.03 --no-counters"
RUN="run --kernels selftest.spin --seq 200 $S --db $DB --quiet --no-show"
CMP="--db $DB --threshold 0.3"

# ---- compare --confirm: a neighbour during the candidate run only ----
# shellcheck disable=SC2086
pin "$KBENCH" $RUN >/dev/null 2>&1
hog_start
# shellcheck disable=SC2086
pin "$KBENCH" $RUN >/dev/null 2>&1
hog_stop
base=1 cand=2
# shellcheck disable=SC2086
expect_exit 1 "the neighbour's run alone is flagged (without --confirm)" "$KBENCH" compare $base $cand $CMP
# shellcheck disable=SC2086
expect_exit 0 "compare --confirm: the flagged slowdown dissolves when measured again, in turn with the baseline build" \
    pin "$KBENCH" compare $base $cand $CMP --confirm --baseline-bin "$TMP/kbench-baseline"
expect_text "$TMP/out" "dissolved" "the text report says the alert dissolved"
expect_text "$TMP/out" "first measurement:" "and what the first measurement said"
expect_text "$TMP/out" "0 confirmed, 1 dissolved" "the summary counts the dissolved alert"
expect_eq "$(q "SELECT count(*) FROM v_runs WHERE ','||tags||',' LIKE '%,confirm-$cand-candidate,%'")" "3" \
    "each re-measurement is stored as a run tagged confirm-$cand-candidate"
expect_eq "$(q "SELECT count(*) FROM v_runs WHERE ','||tags||',' LIKE '%,confirm-$cand-base,%'")" "3" \
    "and the baseline build's, tagged confirm-$cand-base"
# shellcheck disable=SC2086
pin "$KBENCH" compare $base $cand $CMP --confirm --baseline-bin "$TMP/kbench-baseline" --format json >"$TMP/c.json" 2>"$TMP/c.err"
expect_text "$TMP/c.json" '"outcome": "dissolved"' "JSON: the case's confirmation outcome"; grep -oE '"outcome": "[a-z]*"|"dissolved": [0-9]*|"confirmed": [0-9]*' "$TMP/c.json" | sed "s/^/# /"
expect_text "$TMP/c.json" '"dissolved": 1' "JSON: the summary's dissolved count"

# ---- compare --confirm with the baseline build in turn: a real slowdown is confirmed ----
# shellcheck disable=SC2086
env KBENCH_SPIN_SCALE=3 taskset -c "$cpu" "$KBENCH" $RUN >/dev/null 2>&1
slow=$(q "SELECT max(id) FROM runs")
# shellcheck disable=SC2086
expect_exit 1 "compare --confirm --baseline-bin: a real slowdown is confirmed" \
    env KBENCH_SPIN_SCALE=3 taskset -c "$cpu" "$KBENCH" compare $base "$slow" $CMP --confirm --baseline-bin "$TMP/kbench-baseline" --format md
expect_text "$TMP/out" "confirmed" "the markdown report says the alert was confirmed"
expect_text "$TMP/out" "baseline build re-measured alongside" "the baseline build was measured in turn"
expect_eq "$(q "SELECT count(*) FROM v_runs WHERE ','||tags||',' LIKE '%,confirm-$slow-base,%'")" "3" \
    "the baseline build's re-measurements are stored, tagged confirm-$slow-base"
base_med=$(q "SELECT CAST(avg(s.median_s)*1e6 AS INTEGER) FROM stats s JOIN cases c ON c.id = s.case_id JOIN v_runs r ON r.run_id = c.run_id WHERE ','||r.tags||',' LIKE '%,confirm-$slow-base,%'")
cand_med=$(q "SELECT CAST(avg(s.median_s)*1e6 AS INTEGER) FROM stats s JOIN cases c ON c.id = s.case_id JOIN v_runs r ON r.run_id = c.run_id WHERE ','||r.tags||',' LIKE '%,confirm-$slow-candidate,%'")
if [ "$cand_med" -gt "$((base_med * 3 / 2))" ]; then ok "the baseline build ran without the slowdown ($base_med us) and the candidate with it ($cand_med us)"
else bad "re-measured medians: baseline $base_med us, candidate $cand_med us"; fi
# without the baseline build: the candidate measured again against the base run's samples
# shellcheck disable=SC2086
expect_exit 1 "compare --confirm against the base run: a real slowdown is confirmed" \
    env KBENCH_SPIN_SCALE=3 taskset -c "$cpu" "$KBENCH" compare $base "$slow" $CMP --confirm
expect_text "$TMP/out" "against the base run's samples" "the report says what the re-measurement was judged against"
expect_exit 2 "--baseline-bin without --confirm is refused" "$KBENCH" compare $base "$slow" --db "$DB" --baseline-bin "$TMP/kbench-baseline"
expect_exit 2 "--baseline-bin that is not executable is refused" "$KBENCH" compare $base "$slow" --db "$DB" --confirm --baseline-bin "$TMP/nothing"
expect_text "$TMP/err" "not an executable" "and says why"

# ---- a plugin's baseline build: --baseline-plugin measures it with this kbench, in turn ----
. "${top_srcdir:-.}/tests/plugin_lib.sh"
if build_plugin "$TMP/libold.so" "${top_srcdir:-.}/tests/fixtures/work_plugin.c" -DWORK=100 &&
   build_plugin "$TMP/libnew.so" "${top_srcdir:-.}/tests/fixtures/work_plugin.c" -DWORK=150; then
    P="run --kernels test.work --seq 2000 --max-time 0.3 --db $DB --quiet --no-show"
    # shellcheck disable=SC2086
    "$KBENCH" $P --plugin "$TMP/libold.so" >/dev/null 2>&1; old=$(q "SELECT max(id) FROM runs")
    # shellcheck disable=SC2086
    "$KBENCH" $P --plugin "$TMP/libnew.so" >/dev/null 2>&1; new=$(q "SELECT max(id) FROM runs")
    expect_exit 1 "compare --confirm --baseline-plugin: the new build's slowdown is confirmed" \
        "$KBENCH" compare "$old" "$new" --db "$DB" --confirm --baseline-plugin "$TMP/libold.so" --confirm-rounds 2
    expect_text "$TMP/out" "confirmed: " "the report says confirmed"
    expect_text "$TMP/out" "baseline build re-measured alongside" "with the old plugin measured in turn"
    expect_eq "$(q "SELECT count(DISTINCT p.path) FROM run_plugins p JOIN v_runs r ON r.run_id = p.run_id WHERE r.tags LIKE 'confirm-$new-%'")" "2" \
        "each side's re-measurements loaded its own build of the plugin"
else
    bad "the test plugin does not compile"; sed 's/^/# /' "$TMP/cc.err" | head -5
fi

# ---- nightly: confirms by default ----
cat >"$TMP/n.suite" <<EOS
name = spin-night
[spin]
kernels = selftest.spin
seq = 200
EOS
NIGHT="nightly --suite $TMP/n.suite --db $DB --threshold 0.3 --max-time 0.5 --min-sample-time 0.03 --no-counters --quiet"
# shellcheck disable=SC2086
expect_exit 0 "the first night has no baseline and is promoted" pin "$KBENCH" $NIGHT --promote
# A neighbour for as long as the night's own run takes: it spins until that run is complete (it
# watches the database), so the re-measurements after it are quiet.
done_before=$(q "SELECT count(*) FROM runs WHERE status = 'complete'")
taskset -c "$cpu" sh -c "while [ \"\$('$SQLITE3' -batch -noheader '$DB' \"SELECT count(*) FROM runs WHERE status = 'complete'\" 2>/dev/null || echo 0)\" -le $done_before ]; do i=0; while [ \$i -lt 5000 ]; do i=\$((i + 1)); done; done" &
watcher=$!
# shellcheck disable=SC2086
expect_exit 0 "nightly: the neighbour's slowdown is measured again and dissolves" pin "$KBENCH" $NIGHT --report "$TMP/r1" \
    --baseline-bin "$TMP/kbench-baseline"
wait "$watcher" 2>/dev/null
watcher=
expect_text "$TMP/r1/compare.md" "dissolved" "compare.md lists the dissolved alert"
expect_text "$TMP/r1/junit.xml" "first measurement:" "junit.xml keeps what the first measurement said"
expect_text "$TMP/r1/compare.json" '"outcome": "dissolved"' "compare.json: dissolved"
# a real slowdown, with the baseline build in turn: the night fails on it and says it was confirmed
# shellcheck disable=SC2086
expect_exit 1 "nightly: a real slowdown is confirmed and fails the night" \
    env KBENCH_SPIN_SCALE=3 taskset -c "$cpu" "$KBENCH" $NIGHT --report "$TMP/r2" --baseline-bin "$TMP/kbench-baseline"
expect_text "$TMP/r2/compare.md" "1 confirmed, 0 dissolved" "compare.md: the alert was confirmed"
expect_text "$TMP/r2/junit.xml" "<failure type=\"regressed\" message=\"confirmed:" "junit.xml: a failure, confirmed"
if command -v xmllint >/dev/null 2>&1; then
    for f in "$TMP/r1/junit.xml" "$TMP/r2/junit.xml"; do
        xmllint --noout --schema "${top_srcdir:-.}/tests/fixtures/junit.xsd" "$f" 2>"$TMP/xsd.err" &&
            ok "$(basename "$(dirname "$f")")/junit.xml with confirmations is valid JUnit" ||
            { bad "$f is not valid JUnit"; sed 's/^/# /' "$TMP/xsd.err" | head -5; }
    done
else
    ok "# SKIP xmllint is not installed (Debian: libxml2-utils): JUnit not validated"
fi
# --no-confirm alerts on the first measurement
# shellcheck disable=SC2086
expect_exit 1 "nightly --no-confirm still fails on the slowdown" env KBENCH_SPIN_SCALE=3 taskset -c "$cpu" "$KBENCH" $NIGHT --no-confirm
if grep -q "confirm" "$TMP/out"; then bad "--no-confirm measured again"; else ok "--no-confirm measures nothing again"; fi
finish
