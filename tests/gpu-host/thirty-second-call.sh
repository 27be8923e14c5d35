#!/bin/bash
# thirty-second-call.sh - written in the twentieth session, which had no GPU lease: Lightning's
# three passes fused into one kernel (KBENCH_LIGHTNING_FUSED=1; lightning_mma.cu's fused form:
# each block claims a group, computes its state, scans a share of its plane's states between two
# barriers of the plane's blocks, then computes its outputs), aimed at the time per token at
# short N (19.2 ns at 4k
# against 13.5 at 64k in the nineteenth session, issue 20's bar: flat within 10%):
#   lightfv    the fused form verified at odd sizes (up to 33 groups a plane), with and without the
#              prefetch, and at N = 60001 (59 and 30 groups)
#   light*     batch 1, 16 heads, d 128, chunk 64, N 4k / 16k / 64k: the fused form against the
#              three passes, alternating; at 4k with 2 and 8 chunks a group; fla's
#              chunk_simple_gla
# Make it the default where it wins (lightning_cuda_fused) only from these numbers. The databases
# and the log come back as $OUT/thirty-second.tar.gz.
cd "$(dirname "$0")/../.." || exit 1
. tests/gpu-host/sweeps.sh
call_open
( export KBENCH_LIGHTNING_FUSED=1
  NEW_LIMIT=100 sweep lightfv --kernels attention.lightning@cuda.mma --dtype bf16 --batch 2 --heads 4 --kv-heads 1,4 \
      --head-dim 64,128 --chunk 64,128 --seq 1,300,4097
  KBENCH_LIGHTNING_PREFETCH=0 NEW_LIMIT=60 sweep lightfv2 --kernels attention.lightning@cuda.mma --dtype f16 \
      --batch 2 --heads 16 --kv-heads 4 --seq 4097,60001 --head-dim 128 --chunk 64,128 )
sweep_report lightfv lightfv2
sqlite3 "$OUT/lightfv.db" "SELECT 'fused ' || k.value || ': ' || count(*) || ' cases' FROM cases c JOIN counters k ON k.case_id = c.id WHERE k.name = 'lightning.fused' GROUP BY k.value;"
timing_db thirty-second
LIGHT="--dtype bf16 --batch 1 --heads 16 --head-dim 128 --chunk 64 --seq 4096,16384,65536"
step light 40 --kernels attention.lightning@cuda.mma $LIGHT
KBENCH_LIGHTNING_FUSED=1 step light-fused 40 --kernels attention.lightning@cuda.mma $LIGHT
step light-2 40 --kernels attention.lightning@cuda.mma $LIGHT
KBENCH_LIGHTNING_FUSED=1 step light-fused2 40 --kernels attention.lightning@cuda.mma $LIGHT
KBENCH_LIGHTNING_FUSED=1 KBENCH_LIGHTNING_PREFETCH=0 step light-fusednp 40 --kernels attention.lightning@cuda.mma $LIGHT
# with no scan kernel to pay for, more groups (more blocks) may pay at 4k: G = 2 and 8 beside 4
L4K="--dtype bf16 --batch 1 --heads 16 --head-dim 128 --chunk 64 --seq 4096"
KBENCH_LIGHTNING_FUSED=1 KBENCH_LIGHTNING_GROUP=2 step light-fused-g2 20 --kernels attention.lightning@cuda.mma $L4K
KBENCH_LIGHTNING_FUSED=1 KBENCH_LIGHTNING_GROUP=8 step light-fused-g8 20 --kernels attention.lightning@cuda.mma $L4K
step light-fla 60 --plugin fla_attention.py --kernels attention.lightning@cuda.fla-simple-gla $LIGHT
# each case's kernels as CUPTI traced them: the three passes' share of the call against the fused one
sqlite3 -separator ' ' "$DB" "SELECT c.id, 'n' || c.seq_len, substr(g.name, 1, 48), printf('%.1fus', 1e6 * avg(g.duration_s)) FROM gpu_kernels g JOIN cases c ON c.id = g.case_id WHERE c.kernel = 'attention.lightning' AND c.impl = 'cuda.mma' GROUP BY c.id, g.name ORDER BY c.id, min(g.idx);" | sed 's/^/lightning kernels: /'
attention_call_report thirty-second "'lightning.group', 'lightning.prefetch', 'lightning.fused'"
