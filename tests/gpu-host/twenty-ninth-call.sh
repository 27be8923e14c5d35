#!/bin/bash
# twenty-ninth-call.sh - the eighteenth session's flash changes, written without a GPU lease (the
# first of two calls; thirtieth-call.sh is the second):
#   the causal warp-specialised attention kernels' blocks numbered in sections of (batch, head)
#   planes, every plane's heaviest query block first (flash_ws.cuh's ws_grid, opt-in until
#   timed: KBENCH_FLASH_WS_SECTIONS=1; by default a plane at a time); a model of the block
#   scheduler put the old order's tail at 3-14% of the work at the issue's causal shapes;
#   the persistent flash kernel (KBENCH_FLASH_WS_PERSISTENT=1) with the TMA stores (from a
#   staging tile of its own) and the lazy rescale it lacked when last timed, and its causal work
#   tiles claimed from a counter (strided, the model put them 3-72% over the ideal).
#   flashc*v   verified at odd sizes: causal bf16 flash d 64/128/256 in both orders, and the
#              causal INT8 and FP8 kernels (attention.int8@cuda.wgmma-ws, @cuda.wgmma-fp8,
#              attention.flash@cuda.wgmma-fp8) in the sectioned one; the persistent kernel
#              (flashcrv) causal and not
#   flash*c    causal bf16 flash beside cuDNN at the issue's shapes, alternating the two orders
#              (and d 64 on three consumers in the sectioned one)
#   flash*n    non-causal at the short shapes, the persistent kernel against the default
# The databases and the log come back as $OUT/twenty-ninth.tar.gz.
cd "$(dirname "$0")/../.." || exit 1
. tests/gpu-host/sweeps.sh
call_start build || exit 1
nvidia-smi --query-gpu=name,clocks.sm,temperature.gpu,power.limit --format=csv,noheader
odd="--batch 2 --heads 4 --kv-heads 1,4 --seq 77,1000,4099 --causal 1"
NEW_LIMIT=100 sweep flashcv --kernels attention.flash@cuda.wgmma-ws --dtype f16,bf16 $odd --head-dim 64,128,256 &
( export KBENCH_FLASH_WS_SECTIONS=1
  NEW_LIMIT=100 sweep flashcpv --kernels attention.flash@cuda.wgmma-ws --dtype bf16 $odd --head-dim 64,128,256 ) &
( export KBENCH_FLASH_WS_SECTIONS=1
  NEW_LIMIT=100 sweep flashcqv --kernels 'attention.int8@cuda.wgmma-ws,attention.int8@cuda.wgmma-fp8' --dtype i8 $odd \
      --head-dim 128 --input normal,outlier
  NEW_LIMIT=100 sweep flashcfv --kernels attention.flash@cuda.wgmma-fp8 --dtype e4m3 $odd --head-dim 128 ) &
( export KBENCH_FLASH_WS_PERSISTENT=1
  NEW_LIMIT=100 sweep flashcrv --kernels attention.flash@cuda.wgmma-ws --dtype bf16 --batch 2 --heads 4 --kv-heads 1,4 \
      --seq 77,1000,4099 --causal 0,1 --head-dim 64,128,256 ) &
wait
sweep_report flashcv flashcpv flashcqv flashcfv flashcrv
sqlite3 "$OUT/flashcv.db" "SELECT 'sections ' || k.value || ': ' || count(*) || ' cases' FROM cases c JOIN counters k ON k.case_id = c.id WHERE k.name = 'flash_ws.sections' GROUP BY k.value;"
sqlite3 "$OUT/flashcpv.db" "SELECT 'sections ' || k.value || ': ' || count(*) || ' cases' FROM cases c JOIN counters k ON k.case_id = c.id WHERE k.name = 'flash_ws.sections' GROUP BY k.value;"
timing_db twenty-ninth
WS=attention.flash@cuda.wgmma-ws
D64="--dtype bf16 --head-dim 64 --heads 16 --causal 1 --batch 4,8 --seq 4096,2048"
D128="--dtype bf16 --head-dim 128 --heads 16 --causal 1 --batch 4,8 --seq 4096,2048"
D256="--dtype bf16 --head-dim 256 --heads 16 --causal 1 --batch 4 --seq 4096"
# alternate NAME VAR=VALUE ARGS...: the default beside cuDNN, then the form VAR=VALUE asks for,
# the default again and the form again (ARGS: the shapes)
alternate() {
    local name=$1 form=$2
    shift 2
    step "$name" 60 $CUDNN "$@"
    ( export "$form"; step "$name-form" 30 --kernels $WS "$@" )
    step "$name-2" 30 --kernels $WS "$@"
    ( export "$form"; step "$name-form2" 30 --kernels $WS "$@" )
}
alternate flash64c KBENCH_FLASH_WS_SECTIONS=1 $D64
# three consumers (192-row blocks, the non-causal default) were level with two causal in the
# plane order (eleventh session); with the tail gone they may not be
KBENCH_FLASH_WS_SECTIONS=1 KBENCH_FLASH_WS_D64_CONSUMERS=3 step flash64c-3 30 --kernels $WS $D64
# the persistent kernel (below) where the per-block prologue and epilogue weigh most: causal
# blocks have half the key tiles of non-causal ones on average
KBENCH_FLASH_WS_PERSISTENT=1 step flash64c-pers 30 --kernels $WS $D64
alternate flash128c KBENCH_FLASH_WS_SECTIONS=1 $D128
KBENCH_FLASH_WS_PERSISTENT=1 step flash128c-pers 30 --kernels $WS $D128
# the persistent kernel, now with the TMA stores (d 64, 128), the lazy rescale and (causal) work
# tiles claimed from a counter rather than strided, against the default at the short-sequence
# shapes still short of 0.95x cuDNN (d 128 non-causal, N 2k and 4k; d 64 N 2k), and causal
N128="--dtype bf16 --head-dim 128 --heads 16 --causal 0 --batch 8,4 --seq 2048,4096"
N64="--dtype bf16 --head-dim 64 --heads 16 --causal 0 --batch 8 --seq 2048"
alternate flash128n KBENCH_FLASH_WS_PERSISTENT=1 $N128
step flash64n 30 $CUDNN $N64
KBENCH_FLASH_WS_PERSISTENT=1 step flash64n-pers 20 --kernels $WS $N64
# d 256 last: it is already 0.97x cuDNN causal
step flash256c 40 $CUDNN $D256
KBENCH_FLASH_WS_SECTIONS=1 step flash256c-sec 20 --kernels $WS $D256
attention_call_report twenty-ninth "'flash_ws.sections', 'flash_ws.consumers', 'flash_ws.persistent', 'flash_ws.tma_store', 'lightning.group', 'lightning.prefetch'"
