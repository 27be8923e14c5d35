#!/bin/sh
# fleet.sh - `kbench fleet`: one row per machine of a database gathering several machines' runs,
# each machine's newest run compared only with its own baseline (the baseline tag on its own
# fingerprint). The second machine is made by relabelling runs in SQL, as tests/regress.sh does.
. "${top_srcdir:-.}/tests/lib.sh"
need_sqlite3
DB="$TMP/f.db"
RUN="run --kernels selftest.spin --seq 200,400 --max-time 0.2 --db $DB --quiet --no-show"
# this machine: a baseline, then a night 2x slower; a helper run of confirmation after it
# shellcheck disable=SC2086
"$KBENCH" $RUN --tag nightly-good >/dev/null 2>&1
# shellcheck disable=SC2086
KBENCH_SPIN_SCALE=2 "$KBENCH" $RUN >/dev/null 2>&1
# the other machine: a baseline and an unchanged night (runs 3 and 4, relabelled below)
# shellcheck disable=SC2086
"$KBENCH" $RUN --tag nightly-good >/dev/null 2>&1
# shellcheck disable=SC2086
"$KBENCH" $RUN >/dev/null 2>&1
# shellcheck disable=SC2086
"$KBENCH" $RUN --tag confirm-2-candidate >/dev/null 2>&1
q "INSERT INTO machines (fingerprint, hostname, cpu_model) VALUES ('00000000000000ff', 'elsewhere', 'x');
   UPDATE runs SET machine_id = (SELECT id FROM machines WHERE fingerprint = '00000000000000ff') WHERE id IN (3, 4);"
expect_exit 1 "fleet: a machine whose night regressed fails the fleet" "$KBENCH" fleet --db "$DB"
sed 's/^/# /' "$TMP/out"
here=$(q "SELECT fingerprint FROM machines WHERE fingerprint <> '00000000000000ff'")
expect_eq "$(grep -c "^[0-9a-f]\{16\} " "$TMP/out")" "2" "one row per machine"
if grep "^$here " "$TMP/out" | awk '$3 == 2 && $5 == 1 && $7 == 2 && /FAIL \(2 regressed\)/ { f = 1 } END { exit !f }'; then ok "this machine: newest run 2 against its own baseline 1, 2 regressed"
else bad "this machine's row: $(grep "^$here " "$TMP/out")"; fi
if grep "^00000000000000ff elsewhere" "$TMP/out" | awk '$3 == 4 && $5 == 3 && /PASS$/ { f = 1 } END { exit !f }'; then ok "the other machine: run 4 against its own baseline 3, PASS"
else bad "the other machine's row: $(grep "^00000000000000ff" "$TMP/out")"; fi
expect_text "$TMP/out" "2 machines, 1 failing" "the summary line"
"$KBENCH" fleet --db "$DB" --format md >"$TMP/f.md" 2>&1
expect_text "$TMP/f.md" "| \`00000000000000ff\` | elsewhere | 4 |" "markdown: the other machine's row"
q "DELETE FROM run_tags WHERE run_id = 3" 2>/dev/null || q "UPDATE runs SET tag = NULL WHERE id = 3"
"$KBENCH" fleet --db "$DB" >"$TMP/nobase" 2>&1
expect_text "$TMP/nobase" "no earlier baseline run on this machine" "a machine without a baseline is listed as such"
# compare's union of candidate runs (the shards of one sweep) refuses what cannot be one sweep
expect_exit 2 "compare: a candidate run of another machine in the union is refused" "$KBENCH" compare 1 2 3 --db "$DB"
expect_text "$TMP/err" "not on the base's machine" "saying so"
expect_exit 2 "compare: a run given twice is refused" "$KBENCH" compare 1 2 2 --db "$DB"
expect_text "$TMP/err" "given twice" "saying so"
"$KBENCH" compare 1 2 5 --db "$DB" --format json >"$TMP/u.json" 2>/dev/null
expect_text "$TMP/u.json" '"candidate_runs": [2, 5]' "compare: several candidate runs are judged as one (JSON names them)"
expect_exit 2 "--baseline must be a tag" "$KBENCH" fleet --db "$DB" --baseline 3
finish
