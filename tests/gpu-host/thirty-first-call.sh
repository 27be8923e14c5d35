#!/bin/bash
# thirty-first-call.sh - written for the nineteenth session's last call (its device time ran out
# before it ran: the next lease's first), after the
# twenty-ninth and thirtieth calls made the persistent flash kernel the default at d 128 and d 64
# causal, the sectioned block order the default elsewhere, and Lightning's prefetch the default
# below 16 chunks a group:
#   fp8pv      the FP8 P·V kernels' persistent form (KBENCH_FP8_PV_PERSISTENT=1; written after the
#              lease) verified at odd sizes, then timed at SageAttention2's shape, causal and not,
#              against the default and beside the bf16 flash (persistent at d 128)
#   flash64p3  d 64's persistent kernel on three consumers (192-row work tiles; written after the
#              lease) verified at odd sizes, then timed beside cuDNN and the defaults where d 64 is
#              short of 0.95x (batch 8 × N 2k non-causal, 8 × 2k causal)
#   l16*       the two FP8 P·V kernels at SageAttention2's shape (batch 4, 32 heads, d 128, N 8k,
#              outlier inputs, causal and not): the last key tile on f16 (now loaded after K_0
#              on a barrier of its own; by default causal only) everywhere
#              (KBENCH_FP8_PV_LAST16=1) against the recipe alone (=0); loaded with Q it had cost
#              5-10%
#   flashd     the bf16 flash's new defaults beside cuDNN (d 64 and 128 causal)
#   light      Lightning at 4k, 16k with its default (prefetch at 4k only)
# In that order of priority (a step past CALL_LIMIT is skipped). The database and the log come
# back as $OUT/thirty-first.tar.gz.
cd "$(dirname "$0")/../.." || exit 1
. tests/gpu-host/sweeps.sh
call_open
( export KBENCH_FP8_PV_PERSISTENT=1
  NEW_LIMIT=90 sweep fp8pv --kernels 'attention.int8@cuda.wgmma-fp8,attention.flash@cuda.wgmma-fp8' --dtype i8,e4m3 \
      --batch 2 --heads 3 --kv-heads 1,3 --seq 1000,4099 --head-dim 128 --causal 0,1 --input normal,outlier ) &
( export KBENCH_FLASH_WS_D64_CONSUMERS=3 KBENCH_FLASH_WS_PERSISTENT=1
  NEW_LIMIT=60 sweep flash64p3v --kernels attention.flash@cuda.wgmma-ws --dtype bf16 --batch 2 --heads 4 --kv-heads 1,4 \
      --seq 77,1000,4099 --head-dim 64 --causal 0,1 ) &
wait
sweep_report fp8pv flash64p3v
sqlite3 "$OUT/fp8pv.db" "SELECT 'persistent ' || k.value || ': ' || count(*) || ' cases' FROM cases c JOIN counters k ON k.case_id = c.id WHERE k.name = 'fp8_pv.persistent' GROUP BY k.value;"
timing_db thirty-first
SN="--batch 4 --heads 32 --head-dim 128 --seq 8192 --causal 0,1 --input outlier"
step fp8pv-d 70 $SN --dtype i8,bf16,e4m3 --kernels attention.int8@cuda.wgmma-fp8,attention.flash@cuda.wgmma-ws,attention.flash@cuda.wgmma-fp8
KBENCH_FP8_PV_PERSISTENT=1 step fp8pv-p 55 $SN --dtype i8,e4m3 --kernels attention.int8@cuda.wgmma-fp8,attention.flash@cuda.wgmma-fp8
D64="--dtype bf16 --heads 16 --head-dim 64 --batch 8 --seq 2048,4096 --causal 0,1"
step flash64 50 $CUDNN $D64
KBENCH_FLASH_WS_D64_CONSUMERS=3 KBENCH_FLASH_WS_PERSISTENT=1 step flash64p3 30 --kernels attention.flash@cuda.wgmma-ws $D64
S="--batch 4 --heads 32 --head-dim 128 --seq 8192 --causal 0,1 --input outlier --dtype i8,e4m3
   --kernels attention.int8@cuda.wgmma-fp8,attention.flash@cuda.wgmma-fp8"
KBENCH_FP8_PV_LAST16=1 step l16 50 $S
KBENCH_FP8_PV_LAST16=0 step l16-rec 50 $S
step flashd 50 $CUDNN --dtype bf16 --heads 16 --batch 4 --seq 4096 --head-dim 64,128 --causal 1
step light 20 --kernels attention.lightning@cuda.mma --dtype bf16 --batch 1 --heads 16 --head-dim 128 --chunk 64 --seq 4096,16384
attention_call_report thirty-first "'fp8_pv.last_tile16', 'fp8_pv.persistent', 'flash_ws.persistent', 'flash_ws.sections', 'flash_ws.consumers', 'lightning.prefetch', 'lightning.group'"
