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
expect_exit 0 "run --resume" "$KBENCH" run --db "$DB2" --resume latest --quiet --no-show
expect_exit 2 "run --resume takes no axes" "$KBENCH" run --db "$DB2" --resume 1 --seq 64 --quiet --no-show
expect_eq "$(q 'SELECT status FROM runs;')" "complete" "resumed run is complete"
expect_eq "$(q 'SELECT count(*) FROM cases;')" "14" "resumed run has every planned case once"
expect_eq "$(q 'SELECT count(*) FROM (SELECT seq_len, causal FROM cases GROUP BY seq_len, causal HAVING count(*) > 1);')" "0" "no case measured twice"
expect_eq "$(q "SELECT group_concat(id) FROM (SELECT id FROM cases WHERE id IN ($before) ORDER BY id);")" "$before" "cases stored before the interrupt kept"
expect_exit 2 "resuming a complete run" "$KBENCH" run --db "$DB2" --resume 1 --quiet --no-show
expect_text "$TMP/err" "complete" "says the run is complete"

# Exports say what was measured: a kernel without the causal axis stores and exports it as
# unknown (empty / null), not false; a case that was not timed has no n; the counters table
# carries every shape column; JSON tags are an array.
DB3="$TMP/moe.db"
expect_exit 0 "a MoE sweep and a skipped case" "$KBENCH" run --db "$DB3" --kernels 'moe.router@cpu,selftest.oom' \
    --tokens 16 --hidden 64 --experts 4 --top-k 2 --seq 64 --causal 0 --max-time 0.02 --quiet --no-show --tag first
expect_eq "$(DB=$DB3 q "SELECT count(*) FROM cases WHERE family = 'moe' AND causal IS NULL;")" "1" "a MoE case stores causal as NULL"
DB=$DB3 q "INSERT INTO run_tags (run_id, tag) VALUES (1, 'second, with a comma');"
expect_exit 0 "export csv" "$KBENCH" export --db "$DB3" --format csv
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
expect_exit 0 "export counters" "$KBENCH" export --db "$DB3" --format csv --table counters
head -1 "$TMP/out" | tr -d '\r' > "$TMP/counters.head"
for c in seq_len causal tokens hidden experts top_k routing gemm_m group_size window_len; do
    grep -q "\(^\|,\)$c\(,\|$\)" "$TMP/counters.head" || missing="$missing $c"
done
expect_eq "${missing:-}" "" "the counters table has every shape column"
expect_exit 0 "export json" "$KBENCH" export --db "$DB3" --format json
expect_text "$TMP/out" '"tags": ["first", "second, with a comma"]' "JSON: the run's tags are an array (a comma inside one stays)"
tr -d ' \n' < "$TMP/out" > "$TMP/moe.json"
expect_text "$TMP/moe.json" '"kernel":"moe.router","impl":"cpu","device":"cpu","dtype":"f32","batch":null,"heads":null,"kv_heads":null,"seq_len":null,"head_dim":null,"causal":null' "JSON: causal of a MoE case is null"
expect_text "$TMP/moe.json" '"status":"skipped","n":null' "JSON: n of a case not timed is null"
mem=$(grep '"mem_bytes"' "$TMP/out" | tr -dc '0-9')
expect_exit 0 "export environment" "$KBENCH" export --db "$DB3" --format csv --table environment
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
