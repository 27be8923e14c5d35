#!/bin/bash
# third-call.sh - the call the fifth session could not make (no device time left), for the next
# lease: the delta rule's three-stage state pass (KBENCH_DELTA_STAGES=3), the 32-wide default and
# the 64-wide one, and Lightning's new group rule verified at odd sizes, then timed against fla; flash-decoding's split target at 4/8/16 CTAs per
# SM; the wgmma-ws flash at f16 and d = 64/256 against cuDNN. Into $OUT (at most 8 files).
# KBENCH_DELTA_STAGES was taken out in the seventh session (no gain): run again, its deltas3,
# deltas4 sweeps and stage steps run the default two-stage pass.
cd "$(dirname "$0")/../.." || exit 1
. tests/gpu-host/sweeps.sh
call_start build || exit 1
export NEW_LIMIT=${NEW_LIMIT:-45}
sweep deltav $DELTA_ODD --head-dim 64,128 &
( export KBENCH_DELTA_STAGES=3
  sweep deltas3 --kernels attention.delta@cuda.mma --batch 2 --heads 3 --dtype bf16 --seq 1,77,1000,4099 \
      --head-dim 64,128 --decay 0,1
  export KBENCH_DELTA_STAGES=4
  sweep deltas4 --kernels attention.delta@cuda.mma --batch 2 --heads 3 --dtype f16 --seq 1,77,1000,4099 \
      --head-dim 64,128 --decay 0,1 ) &
sweep lightv --kernels attention.lightning@cuda.mma --dtype f16,bf16 --batch 1,2 --heads 4,16 --seq 77,4099,16385 \
    --head-dim 128 --chunk 64 &
wait
sweep_report deltav deltas3 deltas4 lightv
# at most 8 files come back: the sweeps' logs as one
for f in deltav deltas3 deltas4 lightv; do echo "=== $f"; cat "$OUT/$f.log"; rm -f "$OUT/$f.log"; done >"$OUT/sweeps.log"
timing_db three
step delta 45 --plugin fla_delta.py --dtype bf16 --batch 1 --heads 16 --head-dim 128 --chunk 64 --causal 1 \
    --kernels 'attention.delta@cuda.mma,attention.delta@cuda.fla-gated-chunk' --seq 4096,16384 --decay 0,1
for st in 3 4; do
    KBENCH_DELTA_STAGES=$st step delta-${st}stages 20 --dtype bf16 --batch 1 --heads 16 --head-dim 128 --chunk 64 \
        --causal 1 --kernels attention.delta@cuda.mma --seq 4096,16384 --decay 0,1
done
step lightning 50 --plugin fla_attention.py --dtype bf16 --batch 1 --heads 16 --head-dim 128 --chunk 64 \
    --seq 4096,16384,65536,262144 --kernels 'attention.lightning@cuda.mma,attention.lightning@cuda.fla-simple-gla'
D="--kernels attention.flash@cuda.decode --dtype bf16 --heads 16 --kv-heads 4 --head-dim 128 --decode 1 --batch 1 --seq 65536"
for c in 2 3 4 8; do KBENCH_DECODE_CTAS_PER_SM=$c step decode-sm$c 10 $D; done
step flash-dims 70 --plugin torch_attention.py --kernels 'attention.flash@cuda.wgmma-ws,attention.sdpa@cuda.torch-cudnn' \
    --dtype f16,bf16 --heads 16 --head-dim 64,256 --batch 4 --seq 4096 --causal 0,1
echo "=== results $(date -u +%T)"
sqlite3 -separator ' ' "$DB" "SELECT r.kernel || '@' || r.impl, r.dtype, 'b' || r.batch, 'n' || r.seq_len, 'd' || r.head_dim, coalesce('c' || r.causal, ''), coalesce('decay' || r.decay, ''), r.status, printf('%.1fus', r.median_us), printf('%.0fTF', r.gflops / 1000), printf('%.0fGB/s', r.gbytes_per_s), printf('err%.2g', r.rel_l2_err), coalesce((SELECT group_concat(k.name || '=' || k.value, ' ') FROM counters k WHERE k.case_id = r.case_id AND k.name IN ('lightning.group', 'delta.state_channels', 'delta.state_stages', 'decode.splits')), '') FROM v_results r ORDER BY r.case_id;" | sed 's/  */ /g'
sqlite3 -separator ' ' "$DB" "SELECT c.seq_len, c.decay, substr(g.name, 1, 48), printf('%.1fus', 1e6 * g.duration_s) FROM gpu_kernels g JOIN cases c ON c.id = g.case_id WHERE c.impl = 'cuda.mma' AND c.kernel = 'attention.delta' ORDER BY c.id, g.idx;" | sed 's/^/delta kernels: /'
sqlite3 -separator ' ' "$DB" "SELECT c.id, substr(g.name, 1, 40), printf('%.1fus', 1e6 * g.duration_s) FROM gpu_kernels g JOIN cases c ON c.id = g.case_id WHERE c.impl = 'cuda.decode' AND g.idx < 4 ORDER BY c.id, g.idx;" | sed 's/^/decode kernels: /'
sqlite3 "$DB" "SELECT kernel || '@' || impl || ': ' || substr(error, 1, 160) FROM cases WHERE status NOT IN ('ok') LIMIT 6;"
echo "done $(date -u +%T)"
