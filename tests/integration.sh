#!/bin/sh
# integration.sh - real sweeps into a temporary database, read back with the sqlite3 client.
. "${top_srcdir:-.}/tests/lib.sh"
need_sqlite3
DB="$TMP/k.db"
small="--kernels attention.flash,attention.reference --seq 64,128 --head-dim 16 --heads 2 --causal 0,1 --max-time 0.05 --warmup 0.001"

expect_exit 0 "a small sweep" "$KBENCH" run --db "$DB" $small --tag first --quiet
expect_text "$TMP/out" "attention.flash" "results table printed after the run"
expect_eq "$(q 'PRAGMA journal_mode;')" "wal" "database is in WAL mode"
[ "$(q 'PRAGMA user_version;')" -ge 1 ] && ok "schema version set" || bad "schema version missing"
expect_eq "$(q 'SELECT count(*) FROM cases;')" "8" "8 cases stored (2 kernels x 2 lengths x 2 causal)"
expect_eq "$(q "SELECT count(*) FROM cases WHERE status <> 'ok';")" "0" "every case ok"
expect_eq "$(q 'SELECT status FROM runs;')" "complete" "run marked complete"
expect_eq "$(q 'SELECT count(*) FROM machines;')" "1" "one machine recorded"
expect_eq "$(q 'SELECT count(*) FROM accuracy WHERE passed = 1;')" "8" "every case verified and passed"
expect_eq "$(q 'SELECT count(*) FROM stats s JOIN cases c ON c.id = s.case_id WHERE s.n = (SELECT count(*) FROM samples x WHERE x.case_id = c.id);')" "8" "raw samples kept: stats.n equals stored samples"
expect_eq "$(q 'SELECT count(*) FROM stats WHERE NOT (min_s <= p5_s AND p5_s <= median_s AND median_s <= p95_s AND p95_s <= max_s);')" "0" "order statistics are ordered"
expect_eq "$(q 'SELECT count(*) FROM stats WHERE NOT (ci_lo_s <= median_s AND median_s <= ci_hi_s);')" "0" "median inside its CI"
med=$(q "SELECT median_s FROM v_results WHERE kernel = 'attention.flash' AND seq_len = 128 AND causal = 0;")
[ -n "$med" ] && awk "BEGIN{exit !($med > 0)}" && ok "one SELECT answers the median of attention.flash at N=128 ($med s)" || bad "v_results median query: '$med'"
expect_eq "$(q "SELECT count(*) FROM counters WHERE backend = 'rusage';" | awk '{print ($1 > 0)}')" "1" "rusage counters recorded"
papi=$(q "SELECT count(*) FROM counters WHERE backend = 'papi';")
papi_note=$(q "SELECT count(*) FROM cases WHERE status = 'ok' AND (papi_status LIKE 'ok%' OR papi_status LIKE 'unavailable:%');")
expect_eq "$papi_note" "8" "PAPI status recorded for every case (counted: $papi events)"
flops=$(q "SELECT flops FROM cases WHERE kernel = 'attention.flash' AND seq_len = 128 AND causal = 0;")
expect_eq "$flops" "$(awk 'BEGIN{printf "%.1f", 4*1*2*128*128*16}')" "analytic FLOPs stored (4 B H N^2 d)"

# a second run: same machine, two runs; references resolve
expect_exit 0 "a second sweep" "$KBENCH" run --db "$DB" --kernels attention.flash --seq 64 --head-dim 16 --max-time 0.02 --quiet --no-show
expect_eq "$(q 'SELECT count(*) FROM runs;')" "2" "two runs"
expect_eq "$(q 'SELECT count(*) FROM machines;')" "1" "machine recorded once"
expect_exit 0 "runs" "$KBENCH" runs --db "$DB"
expect_text "$TMP/out" "first" "runs shows the tag"
expect_exit 0 "show tag:first" "$KBENCH" show tag:first --db "$DB"
expect_text "$TMP/out" "attention.reference" "show lists the first run's cases"
uuid=$(q 'SELECT uuid FROM runs WHERE id = 1;')
expect_exit 0 "show by uuid prefix" "$KBENCH" show "$(echo "$uuid" | cut -c1-8)" --db "$DB"
expect_exit 0 "show latest" "$KBENCH" show latest --db "$DB"
expect_exit 2 "show unknown run" "$KBENCH" show 99 --db "$DB"
expect_text "$TMP/err" "99" "unknown run is named"

# issue 15: a run records a command a user can paste, and what built kbench
cmd=$(q 'SELECT cmdline FROM runs WHERE id = 1;')
case "$cmd" in "kbench run "*) ok "recorded command starts 'kbench run'" ;; *) bad "recorded command: '$cmd'" ;; esac
expect_exit 0 "the recorded command, pasted, plans the same run" sh -c "\"\$1\" ${cmd#kbench } --dry-run" sh "$KBENCH"
expect_eq "$(tail -1 "$TMP/out")" "$(q 'SELECT planned_cases FROM runs WHERE id = 1;') cases" "same number of cases"
expect_exit 0 "a pattern is quoted in the record" "$KBENCH" run --db "$TMP/q.db" --kernels 'selftest.n*' --seq 1 --max-time 0.01 --quiet --no-show
expect_eq "$("$SQLITE3" -batch -noheader "$TMP/q.db" 'SELECT cmdline FROM runs;')" "kbench run --db $TMP/q.db --kernels 'selftest.n*' --seq 1 --max-time 0.01 --quiet --no-show" "glob quoted for the shell"
[ -n "$(q 'SELECT git_commit FROM runs WHERE id = 1;')" ] && ok "git commit recorded ($(q 'SELECT git_commit FROM runs WHERE id = 1;'))" || bad "no git commit recorded"
expect_text_sql() { [ -n "$(q "$1")" ] && ok "$2" || bad "$2"; }
expect_text_sql "SELECT build_flags FROM runs WHERE id = 1 AND build_flags LIKE 'CFLAGS=%configure%';" "build flags recorded"
expect_exit 0 "show prints the build" "$KBENCH" show 1 --db "$DB"
expect_text "$TMP/out" "commit $(q 'SELECT git_commit FROM runs WHERE id = 1;')" "show names the commit"
expect_text "$TMP/out" "build     CFLAGS=" "show names the build flags"
expect_exit 0 "runs" "$KBENCH" runs --db "$DB"
expect_text "$TMP/out" "$(q 'SELECT git_commit FROM runs WHERE id = 1;')" "runs shows the commit"

# a case that does not fit this machine is skipped with its reason, shown by show
expect_exit 0 "a case too large for memory" "$KBENCH" run --db "$TMP/skip.db" --kernels selftest.oom --seq 10 --no-show
expect_text "$TMP/err" "[1/1] selftest.oom@cpu cpu f32 n=10 t=1: skipped" "progress says skipped"
expect_text "$TMP/err" "0 not ok, 1 skipped" "a skip is not counted as not ok"
expect_exit 0 "show the skipped case" "$KBENCH" show --db "$TMP/skip.db"
expect_text "$TMP/out" "skipped cases:" "show lists skipped cases"
expect_text "$TMP/out" "skipped: needs " "with the reason"
expect_text "$TMP/out" "1 case: 0 ok" "1 case in the summary"
# the progress line prints '-' where the table does (selftest.spin does no FLOPs)
expect_exit 0 "a kernel with no FLOPs" "$KBENCH" run --db "$TMP/skip.db" --kernels selftest.spin --seq 10 --max-time 0.01
expect_text "$TMP/err" "- GFLOP/s" "progress prints '-' for no GFLOP/s"
grep -q "nan\|inf\|0.00 GFLOP/s" "$TMP/err" && bad "progress printed nan, inf or 0.00 GFLOP/s" || ok "no nan or 0.00 in progress"

# export
expect_exit 0 "export csv" "$KBENCH" export 1 --db "$DB" --format csv
expect_eq "$(wc -l < "$TMP/out" | tr -d ' ')" "9" "CSV has a header and 8 rows"
expect_exit 0 "export json" "$KBENCH" export 1 --db "$DB" --format json -o "$TMP/run1.json"
if command -v python3 >/dev/null; then
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert len(d['cases'])==8; assert all(len(c['samples_s'])>0 for c in d['cases'])" "$TMP/run1.json" \
        && ok "JSON parses with 8 cases and their samples" || bad "JSON export does not parse"
fi

# dumps for outside checking
expect_exit 0 "run --dump" "$KBENCH" run --db "$DB" --kernels attention.flash --seq 32 --head-dim 8 --heads 1 --max-time 0.01 --dump "$TMP/dump" --quiet --no-show
man=$(find "$TMP/dump" -name manifest.json | head -1)
[ -n "$man" ] && ok "manifest written" || bad "no manifest.json under the dump directory"
d=$(dirname "$man")
for t in q k v o; do
    [ -f "$d/$t.npy" ] && ok "$t.npy written" || bad "$t.npy missing"
done
if command -v python3 >/dev/null && [ -f "$d/o.npy" ]; then
    python3 - "$d" <<'PY' && ok "npy files: headers and sizes match the manifest" || bad "npy files malformed"
import json, os, struct, sys, ast
d = sys.argv[1]
m = json.load(open(os.path.join(d, "manifest.json")))
for t in m["tensors"]:
    raw = open(os.path.join(d, t["file"]), "rb").read()
    assert raw[:6] == b"\x93NUMPY", t
    hlen = struct.unpack("<H", raw[8:10])[0]
    assert (10 + hlen) % 64 == 0
    hdr = ast.literal_eval(raw[10:10 + hlen].decode())
    assert list(hdr["shape"]) == t["shape"], (hdr, t)
    n = 1
    for s in t["shape"]: n *= s
    assert len(raw) - 10 - hlen == n * int(hdr["descr"][-1]), t
PY
fi

# Ctrl-C: the run is marked interrupted and finished cases are kept
DB2="$TMP/int.db"
"$KBENCH" run --db "$DB2" --kernels attention.flash --seq 64:4096:x2 --head-dim 16 --causal 0,1 --min-time 0.5 --max-time 0.5 --noise 0.00001 --quiet --no-show >/dev/null 2>"$TMP/int.err" &
pid=$!
i=0
while [ "$i" -lt 100 ]; do
    sleep 0.1; i=$((i + 1))
    [ -f "$DB2" ] && [ "$("$SQLITE3" -batch -noheader "$DB2" 'SELECT count(*) FROM cases;' 2>/dev/null || echo 0)" -ge 2 ] && break
done
kill -INT "$pid"
wait "$pid"
rc=$?
expect_eq "$rc" "130" "interrupted run exits 130"
DB=$DB2
expect_eq "$(q 'SELECT status FROM runs;')" "interrupted" "run marked interrupted"
n=$(q 'SELECT count(*) FROM cases;')
[ "$n" -ge 2 ] && [ "$n" -lt 14 ] && ok "finished cases kept ($n of 14)" || bad "stored cases after interrupt: $n"
expect_eq "$(q "SELECT count(*) FROM cases c WHERE status = 'ok' AND NOT EXISTS (SELECT 1 FROM stats s WHERE s.case_id = c.id);")" "0" "every stored case is whole"

# --resume finishes the interrupted run without redoing its stored cases
before=$(q 'SELECT group_concat(id) FROM cases ORDER BY id;')
expect_exit 0 "run --resume --dry-run lists what is left" "$KBENCH" run --db "$DB2" --resume latest --dry-run
expect_eq "$(tail -1 "$TMP/out")" "$((14 - n)) case$([ $((14 - n)) -eq 1 ] || echo s)" "the cases not stored"
expect_eq "$(q 'SELECT status FROM runs;')" "interrupted" "a dry run leaves the run as it was"
expect_exit 2 "run --resume refuses a changed option" "$KBENCH" run --db "$DB2" --resume 1 --seq 64 --max-time 0.25 --head-dim 16 --quiet --no-show
expect_text "$TMP/err" "not planned with --seq 64, --max-time 0.25:" "the message names the changed options (not the unchanged)"
expect_eq "$(q 'SELECT status FROM runs;')" "interrupted" "a refused resume leaves the run as it was"
expect_exit 0 "run --resume" "$KBENCH" run --db "$DB2" --resume latest --quiet --no-show
expect_eq "$(q 'SELECT status FROM runs;')" "complete" "resumed run is complete"
expect_eq "$(q 'SELECT count(*) FROM cases;')" "14" "resumed run has every planned case once"
expect_eq "$(q 'SELECT count(*) FROM (SELECT seq_len, causal FROM cases GROUP BY seq_len, causal HAVING count(*) > 1);')" "0" "no case measured twice"
expect_eq "$(q "SELECT group_concat(id) FROM (SELECT id FROM cases WHERE id IN ($before) ORDER BY id);")" "$before" "cases stored before the interrupt kept"
expect_exit 0 "resuming a complete run" "$KBENCH" run --db "$DB2" --resume 1 --quiet --no-show
expect_text "$TMP/err" "run 1 is complete (14 of 14 cases stored): nothing to resume" "says the run is complete"
cmd=$(q 'SELECT cmdline FROM runs WHERE id = 1;')
expect_exit 0 "the recorded command with --resume appended is the run's own" sh -c "\"\$1\" ${cmd#kbench } --resume 1" sh "$KBENCH"
expect_text "$TMP/err" "nothing to resume" "and resumes it"

# Exports say what was measured: a kernel without the causal axis stores and exports it as
# unknown (empty / null), not false; a case that was not timed has no n; the counters table
# carries every shape column; JSON tags are an array.
DB_MOE="$TMP/moe.db"
expect_exit 0 "a MoE sweep and a skipped case" "$KBENCH" run --db "$DB_MOE" --kernels 'moe.router@cpu,selftest.oom' \
    --tokens 16 --hidden 64 --experts 4 --top-k 2 --seq 64 --causal 0 --max-time 0.02 --quiet --no-show --tag first
expect_eq "$(DB=$DB_MOE q "SELECT count(*) FROM cases WHERE family = 'moe' AND causal IS NULL;")" "1" "a MoE case stores causal as NULL"
DB=$DB_MOE q "INSERT INTO run_tags (run_id, tag) VALUES (1, 'second, with a comma');"
expect_exit 0 "export csv" "$KBENCH" export --db "$DB_MOE" --format csv
tr -d '\r' < "$TMP/out" > "$TMP/moe.csv"
col() { awk -F, -v name="$1" -v kernel="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next }
                                           $4 == kernel { print $c }' "$TMP/moe.csv"; }
expect_eq "$(col causal moe.router)" "" "CSV: causal of a MoE case is empty, not 0"
expect_eq "$(col tokens moe.router)" "16" "CSV: the MoE case's tokens"
expect_eq "$(col status selftest.oom)" "skipped" "the footprint case was skipped"
expect_eq "$(col n selftest.oom)|$(col calls_per_sample selftest.oom)|$(col median_s selftest.oom)" "||" "CSV: n, calls_per_sample and median of a case not timed are empty, not 0"
expect_eq "$(col causal selftest.oom)" "0" "CSV: causal of a kernel with the axis is 0 where it is false"
undocumented=""
for c in $(head -1 "$TMP/moe.csv" | tr ',' ' '); do
    grep -qF "| \`$c\` |" "$top_srcdir/docs/export.md" || undocumented="$undocumented $c"
done
expect_eq "$undocumented" "" "docs/export.md documents every CSV column of the cases table"
expect_exit 0 "export counters" "$KBENCH" export --db "$DB_MOE" --format csv --table counters
head -1 "$TMP/out" | tr -d '\r' > "$TMP/counters.head"
for c in seq_len causal tokens hidden experts top_k routing gemm_m group_size window_len; do
    grep -q "\(^\|,\)$c\(,\|$\)" "$TMP/counters.head" || missing="$missing $c"
done
expect_eq "${missing:-}" "" "the counters table has every shape column"
expect_exit 0 "export json" "$KBENCH" export --db "$DB_MOE" --format json
expect_text "$TMP/out" '"tags": ["first", "second, with a comma"]' "JSON: the run's tags are an array (a comma inside one stays)"
tr -d ' \n' < "$TMP/out" > "$TMP/moe.json"
expect_text "$TMP/moe.json" '"kernel":"moe.router","impl":"cpu","device":"cpu","dtype":"f32","batch":null,"heads":null,"kv_heads":null,"seq_len":null,"head_dim":null,"causal":null' "JSON: causal of a MoE case is null"
expect_text "$TMP/moe.json" '"status":"skipped","n":null' "JSON: n of a case not timed is null"
mem=$(grep '"mem_bytes"' "$TMP/out" | tr -dc '0-9')
expect_exit 0 "export environment" "$KBENCH" export --db "$DB_MOE" --format csv --table environment
expect_text "$TMP/out" "machine,mem_bytes,$mem,B" "mem_bytes is exported as an integer ($mem)"

# history with two runs says it cannot judge (before: "no change: flat at" their mean); a
# crossover is not drawn from two-point fits (before: "fitted lines meet at N = 7091557")
DB4="$TMP/history.db"
spin() { KBENCH_SPIN_SCALE=$1 "$KBENCH" run --db "$DB4" --kernels selftest.spin --seq 200 --max-time 0.02 --quiet --no-show; }
spin 1.0 && spin 1.2 || bad "two spin runs"
expect_exit 0 "history of two runs" "$KBENCH" history --db "$DB4" --kernel selftest.spin
expect_text "$TMP/out" "too few runs to tell a change from noise (2; change points need at least 4)" "history says two runs are too few"
if grep -q "no change: flat" "$TMP/out"; then bad "history of two runs calls them flat"; else ok "history does not call two runs flat"; fi
expect_exit 0 "two kernels at two lengths" "$KBENCH" run --db "$DB4" --kernels attention.flash,attention.linear@cpu \
    --seq 64,128 --heads 1 --head-dim 16 --causal 0 --max-time 0.02 --quiet --no-show
expect_exit 0 "scaling from two points" "$KBENCH" scaling --db "$DB4" --kernel attention.flash --against attention.linear
expect_text "$TMP/out" "no crossover drawn from fits of fewer than 3 points (2 and 2)" "scaling draws no crossover from two points"
# a later run of another family hides none of them from v_latest_results (before: only the newest
# run's cases), and schema.md's crossover example gives one row per length
expect_exit 0 "a quantization run after them" "$KBENCH" run --db "$DB4" --kernels quant.gemm_int8@cpu --m 32 --n 32 --k 64 \
    --max-time 0.01 --quiet --no-show
expect_eq "$(DB=$DB4 q "SELECT count(*) FROM v_latest_results WHERE kernel LIKE 'attention.%';")" "4" "v_latest_results keeps the attention results after a quantization run"
example=$(awk '/^Where the crossover lies/ { f = 1 } f && /^```$/ { exit } f && s { print } f && /^```sql$/ { s = 1 }' "$top_srcdir/docs/schema.md")
expect_eq "$(DB=$DB4 q "$example" | cut -d'|' -f2 | tr '\n' ' ')" "64 128 " "schema.md's crossover example: one row per length"

# Every dumped case agrees with its definition, recomputed in plain Python from the dumped inputs
# (flash with GQA, causal and not; the sliding window; linear attention with both feature maps).
if command -v python3 >/dev/null; then
    expect_exit 0 "dump cases of three attention kernels" "$KBENCH" run --db "$DB" \
        --kernels 'attention.flash,attention.window@cpu,attention.linear@cpu' --seq 37 --head-dim 8 --heads 4 \
        --kv-heads 2 --window 5 --causal 0,1 --feature elu1,relu --max-time 0.01 --dump "$TMP/dump3" --quiet --no-show
    ndump=$(ls -d "$TMP"/dump3/*/ | wc -l)
    expect_eq "$ndump" "7" "seven dumped cases (flash x2, window, linear x4), each in its own folder"
    if python3 "$top_srcdir/tests/npycheck.py" "$TMP"/dump3/*/ >"$TMP/npy.out" 2>&1; then
        ok "each dump's output equals its definition computed from its inputs"
    else
        bad "a dump disagrees with its definition"; sed 's/^/# /' "$TMP/npy.out"
    fi
    [ "$(grep -c 'rel L2' "$TMP/npy.out")" = 7 ] && ok "all seven were recomputed" || bad "recomputed: $(cat "$TMP/npy.out")"
fi

# ---- sampling keeps its promises (issue 15) ----------------------------------------------------
DB3="$TMP/sampling.db"
qs() { "$SQLITE3" -batch -noheader "$DB3" "$1"; }
# --min-samples with a short --max-time: the budget grows for the minimum (it gave n=1)
expect_exit 0 "--min-samples 10 --max-time 0.05 on a 20 ms kernel" "$KBENCH" run --db "$DB3" --kernels selftest.spin \
    --seq 20000 --min-samples 10 --max-time 0.05 --no-counters --quiet --no-show
expect_eq "$(qs 'SELECT n >= 10, min_samples, stop_reason, noise_target FROM stats;')" "1|10|max-time|0.01" \
    "the minimum is taken, and the minimum, stop reason and noise target are stored"
expect_eq "$(qs 'SELECT count(*) FROM samples WHERE sm_clock_mhz IS NULL AND throttled IS NULL;')" \
    "$(qs 'SELECT count(*) FROM samples;')" "CPU samples have no clock: NULL, unknown"
# the cap stops a slow case short of its minimum, keeps its samples, and says so everywhere
expect_exit 0 "--min-samples-cap 0.15 on a 100 ms kernel" "$KBENCH" run --db "$DB3" --kernels selftest.spin \
    --seq 100000 --min-samples 10 --max-time 0.05 --min-samples-cap 0.15 --no-counters --no-show
expect_text "$TMP/err" "of the 10 samples asked for (--min-samples): stopped by --min-samples-cap" "run warns of the minimum not reached"
expect_eq "$(qs 'SELECT n < 3, stop_reason, noise_met, ci_lo_s IS NULL, ci_hi_s IS NULL, noise IS NULL FROM stats WHERE case_id = 2;')" \
    "1|min-samples-cap|0|1|1|1" "stored: stopped by the cap, noise target not met, no CI for n < 3"
expect_exit 0 "show the capped run" "$KBENCH" show latest --db "$DB3"
expect_text "$TMP/out" "n/a*" "show: n/a for the CI of fewer than 3 samples, marked noise target not met"
expect_text "$TMP/out" "* noise target not met (1 case)" "show explains the mark"
expect_text "$TMP/out" "of 10 samples (stopped by min-samples-cap)" "show names the case stopped by the cap"
if grep '^selftest.spin' "$TMP/out" | grep -q '±'; then bad "show prints a CI for n < 3"; else ok "show prints no CI for n < 3"; fi
expect_exit 0 "export the capped run as CSV" "$KBENCH" export latest --db "$DB3" --format csv -o "$TMP/capped.csv"
expect_exit 0 "export the capped run as JSON" "$KBENCH" export latest --db "$DB3" --format json -o "$TMP/capped.json"
if command -v python3 >/dev/null; then
    python3 -c "
import csv, json, sys
row = list(csv.DictReader(open(sys.argv[1], newline='')))[0]
assert row['ci_lo_s'] == '' and row['ci_hi_s'] == '' and row['noise'] == '', row
assert row['stop_reason'] == 'min-samples-cap' and row['noise_met'] == '0' and row['min_samples'] == '10', row
c = json.load(open(sys.argv[2]))['cases'][0]
assert c['ci_lo_s'] is None and c['ci_hi_s'] is None and c['noise'] is None, c
assert c['stop_reason'] == 'min-samples-cap' and c['noise_met'] is False and c['min_samples'] == 10, c
" "$TMP/capped.csv" "$TMP/capped.json" && ok "CSV and JSON: empty/null CI for n < 3, stop reason, noise target not met" \
        || bad "CSV/JSON exports of the capped case"
fi
expect_exit 0 "history of the capped case" "$KBENCH" history --db "$DB3" --kernel selftest.spin --shape seq=100000
if grep -E '^ +[0-9]+ +20' "$TMP/out" | grep -q 'n/a'; then ok "history: the CI of fewer than 3 samples reads n/a"
else bad "history shows a CI for n < 3"; sed 's/^/# /' "$TMP/out"; fi
expect_exit 2 "--min-samples-cap not below --timeout" "$KBENCH" run --db "$DB3" --kernels selftest.noop \
    --min-samples-cap 30 --timeout 20 --quiet --no-show
expect_text "$TMP/err" "--min-samples-cap 30 is not below --timeout 20" "the error names both values"

# an older database: its n < 3 CIs read n/a, and nothing in it reads "not met" (unknown)
cp "$top_srcdir/tests/fixtures/schema-v2.db" "$TMP/old.db"
chmod u+w "$TMP/old.db"
"$SQLITE3" "$TMP/old.db" "UPDATE stats SET n = 2 WHERE case_id = (SELECT min(case_id) FROM stats);"
expect_exit 0 "show an old database" "$KBENCH" show latest --db "$TMP/old.db"
expect_text "$TMP/out" " n/a " "an old file's interval of 2 samples reads n/a"
if grep -q 'not met\|fell short\|n/a\*\|%\*' "$TMP/out"; then bad "an old file's cases read as not met"; else ok "an old file's cases are not marked not met"; fi

# warnings: a CPU governor other than performance (a fake sysfs), more threads than CPUs
mkdir -p "$TMP/sys/cpu0/cpufreq" "$TMP/sys/cpu1/cpufreq"
echo performance > "$TMP/sys/cpu0/cpufreq/scaling_governor"
echo performance > "$TMP/sys/cpu1/cpufreq/scaling_governor"
export KBENCH_SYSFS_CPU="$TMP/sys" # the rest of the script reads this fake sysfs
expect_exit 0 "run with the performance governor" "$KBENCH" run --db "$DB3" \
    --kernels selftest.noop --max-time 0.01 --no-counters --quiet --no-show
if grep -q governor "$TMP/err"; then bad "warned of the performance governor"; else ok "no governor warning under performance"; fi
echo powersave > "$TMP/sys/cpu1/cpufreq/scaling_governor"
expect_exit 0 "run with a powersave CPU" "$KBENCH" run --db "$DB3" \
    --kernels selftest.noop --max-time 0.01 --no-counters --quiet --no-show
expect_text "$TMP/err" "governor 'powersave' on 1 of 2 CPUs" "warns of the powersave governor"
over=$(( $(nproc) + 1 ))
expect_exit 0 "run with --threads $over on $(nproc) CPUs" "$KBENCH" run --db "$DB3" --kernels selftest.noop \
    --threads "$over" --max-time 0.01 --no-counters --quiet --no-show
expect_text "$TMP/err" "warning: $over threads on $(nproc) CPU" "warns of more threads than CPUs"

# another kbench measuring on this host: wait for its 'running' row, then start a second run
"$KBENCH" run --db "$DB3" --kernels selftest.spin --seq 100000 --min-samples 100000 --max-samples 100000 \
    --max-time 50 --min-samples-cap 50 --no-counters --quiet --no-show >"$TMP/bg.out" 2>&1 &
bg=$!
tries=0
until [ "$(qs "SELECT count(*) FROM runs WHERE status = 'running' AND pid = $bg;")" = 1 ] || [ $tries -ge 600 ]; do
    tries=$((tries + 1)); sleep 0.05
done
expect_exit 0 "a run beside another kbench" "$KBENCH" run --db "$DB3" --kernels selftest.noop --max-time 0.01 \
    --no-counters --quiet --no-show
expect_text "$TMP/err" "another kbench run is measuring on this host (pid $bg)" "warns of the other kbench, by pid"
kill "$bg" 2>/dev/null
wait "$bg" 2>/dev/null
expect_exit 0 "a run alone again" "$KBENCH" run --db "$DB3" --kernels selftest.noop --max-time 0.01 --no-counters --quiet --no-show
if grep -q "another kbench" "$TMP/err"; then bad "warned of a kbench that has finished"; else ok "no warning once the other run ended"; fi
unset KBENCH_SYSFS_CPU
# Each dump's manifest describes its own family (before: every one said the attention layout).
expect_exit 0 "dump a MoE and a quantized GEMM case" "$KBENCH" run --db "$DB" --kernels 'moe.router@cpu,quant.gemm_int8@cpu' \
    --tokens 16 --hidden 64 --experts 4 --top-k 2 --m 32 --n 32 --k 64 --max-time 0.01 --dump "$TMP/dump4" --quiet --no-show
for fam in moe quant; do
    man=$(ls "$TMP"/dump4/$fam.*/manifest.json | head -1)
    expect_text "$man" "\"family\": \"$fam\"" "the $fam manifest names its family"
    if grep -q 'Q \[B,H,N,d\]' "$man"; then bad "the $fam manifest describes the attention layout"; else ok "the $fam manifest does not describe attention's layout"; fi
done
expect_text "$(ls "$TMP"/dump4/moe.*/manifest.json)" 'w_router [hidden,experts]' "the MoE manifest gives the router's layout"
expect_text "$(ls "$TMP"/dump4/quant.*/manifest.json)" 'weights w [N,K]' "the GEMM manifest gives the weights' layout"
expect_text "$(ls -d "$TMP"/dump3/attention.flash* | head -1)/manifest.json" 'Q [B,H,N,d]' "an attention manifest keeps the attention layout"

finish
