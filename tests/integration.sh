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

finish
