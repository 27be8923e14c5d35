#!/bin/bash
# fourth-call.sh - the sixth session's last call: the fixes after third-call.sh and misses-call.sh,
# verified at odd sizes and timed.
#   - attention.delta@cuda.mma's 16-bit O, collected on the case's stream: third-call.sh's sweep
#     found six cases read back as zeros, a race of a plain cudaMemcpy with the widening;
#   - flash-decoding's combine on 512 threads a (batch, head), every R-th split per group;
#   - the split target, now 4 CTAs per SM;
#   - the delta rule's state pass reading γ_last a chunk ahead, and its output pass at 64
#     channels a block (KBENCH_DELTA_OUT=split) against the whole 128.
# Then decode at batch 1 and 8 (64k, contiguous and paged), and the delta rule against fla's gated
# kernel. Into $OUT: two sweep databases, sweeps.log, four.db, steps.log.
cd "$(dirname "$0")/../.." || exit 1
. tests/gpu-host/sweeps.sh
call_start build || exit 1
export NEW_LIMIT=${NEW_LIMIT:-70}
sweep deltav $DELTA_ODD --head-dim 64,128 &
( export KBENCH_DELTA_OUT=split
  sweep deltasplit --kernels attention.delta@cuda.mma --batch 2 --heads 3 --dtype f16,bf16 --seq 1,77,1000,4099 \
      --head-dim 128 --decay 0,1 ) &
sweep decodev --kernels attention.flash@cuda.decode --decode 1 --dtype f16,bf16 --batch 1,3 --heads 8 --kv-heads 8,2 \
    --seq 1,77,1000,4099 --head-dim 64,128,256 --page 0,16 &
wait
sweep_report deltav deltasplit decodev
for f in deltav deltasplit decodev; do echo "=== $f"; cat "$OUT/$f.log"; rm -f "$OUT/$f.log"; done >"$OUT/sweeps.log"
timing_db four
timeout 40 ./kbench calibrate --db "$DB" --devices cuda:0 2>&1 | grep -iE 'copy_bw|error' | head -2
step decode 40 --kernels attention.flash@cuda.decode --dtype bf16 --heads 16 --kv-heads 4 --head-dim 128 --decode 1 \
    --batch 1,8 --seq 16384,65536 --page 0,16
step delta 110 --plugin fla_delta.py --dtype bf16 --batch 1 --heads 16 --head-dim 128 --chunk 64 --causal 1 \
    --kernels 'attention.delta@cuda.mma,attention.delta@cuda.fla-gated-chunk' --seq 4096,16384 --decay 0,1
KBENCH_DELTA_OUT=split step delta-split 30 --dtype bf16 --batch 1 --heads 16 --head-dim 128 --chunk 64 --causal 1 \
    --kernels attention.delta@cuda.mma --seq 4096,16384 --decay 0,1
echo "=== results $(date -u +%T)"
sqlite3 -separator ' ' "$DB" "SELECT r.kernel || '@' || r.impl, r.dtype, 'b' || r.batch, 'n' || r.seq_len, coalesce('page' || r.page_size, ''), coalesce('decay' || r.decay, ''), r.status, printf('%.1fus', r.median_us), printf('%.0fGB/s', r.gbytes_per_s), printf('err%.2g', r.rel_l2_err), coalesce((SELECT group_concat(k.name || '=' || k.value, ' ') FROM counters k WHERE k.case_id = r.case_id AND k.name IN ('decode.splits', 'delta.out_split')), '') FROM v_results r ORDER BY r.case_id;" | sed 's/  */ /g'
sqlite3 -separator ' ' "$DB" "SELECT c.id, substr(g.name, 1, 44), printf('%.1fus', 1e6 * g.duration_s) FROM gpu_kernels g JOIN cases c ON c.id = g.case_id WHERE c.impl IN ('cuda.decode', 'cuda.mma') AND g.idx < 4 ORDER BY c.id, g.idx;" | sed 's/^/kernels: /'
sqlite3 -separator ' ' "$DB" "SELECT 'calibrated', device, name, printf('%.4g', value), unit FROM v_ceilings WHERE name = 'copy_bw';"
sqlite3 "$DB" "SELECT kernel || '@' || impl || ': ' || substr(error, 1, 160) FROM cases WHERE status NOT IN ('ok') LIMIT 6;"
echo "done $(date -u +%T)"
