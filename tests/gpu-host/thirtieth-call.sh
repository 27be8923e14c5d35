#!/bin/bash
# thirtieth-call.sh - the second of the eighteenth session's two calls (twenty-ninth-call.sh is the
# first), written without a GPU lease:
#   lightpv    Lightning's output pass loading the next chunk while it computes
#              (KBENCH_LIGHTNING_PREFETCH=1) verified at odd sizes
#   moe*v      the grouped GEMMs (bf16 and FP8) at tests/gpu.sh's odd sizes: the seventeenth
#              session's moe_tile.cuh tidy (e54e65b) has not run on a GPU
#   light*     Lightning at batch 1, 16 heads, d 128, 4k-64k: the prefetch against its default,
#              alternating, then fla's chunk_simple_gla
#   sagec*     the INT8 / FP8 attention kernels causal at SageAttention2's shape, both block orders
#   fp8-ds     the FP8 MoE's default beside cuBLASLt (is the day's card where it was?)
# The databases and the log come back as $OUT/thirtieth.tar.gz.
cd "$(dirname "$0")/../.." || exit 1
. tests/gpu-host/sweeps.sh
call_start build || exit 1
nvidia-smi --query-gpu=name,clocks.sm,temperature.gpu,power.limit --format=csv,noheader
( export KBENCH_LIGHTNING_PREFETCH=1
  NEW_LIMIT=100 sweep lightpv --kernels attention.lightning@cuda.mma --dtype bf16 --batch 2 --heads 4 --kv-heads 1,4 \
      --head-dim 64,128 --chunk 64,128 --seq 1,300,4097 ) &
NEW_LIMIT=100 sweep moewgv --kernels 'moe.experts@cuda.wgmma,moe.layer@cuda.wgmma' --dtype bf16 --tokens 1,77,1000 \
    --hidden 100 --ffn 333 --experts 8,64 --top-k 1,2,8 --routing zipf &
moe_fp8_odd_sweeps
wait
sweep_report lightpv moewgv $MOE_FP8_ODD
timing_db thirtieth
WS=attention.flash@cuda.wgmma-ws
# Lightning's output pass with the next chunk's loads under this one (KBENCH_LIGHTNING_PREFETCH=1)
# against its default, then beside fla's chunk_simple_gla (its Triton compile can take most of a
# step)
LIGHT="--dtype bf16 --batch 1 --heads 16 --head-dim 128 --chunk 64 --seq 4096,16384,65536"
step light 40 --kernels attention.lightning@cuda.mma $LIGHT
KBENCH_LIGHTNING_PREFETCH=1 step light-pre 40 --kernels attention.lightning@cuda.mma $LIGHT
step light-2 40 --kernels attention.lightning@cuda.mma $LIGHT
KBENCH_LIGHTNING_PREFETCH=1 step light-pre2 40 --kernels attention.lightning@cuda.mma $LIGHT
step light-fla 60 --plugin fla_attention.py --kernels attention.lightning@cuda.fla-simple-gla $LIGHT
SAGE="--batch 4 --heads 32 --head-dim 128 --seq 8192 --causal 1 --input outlier"
step sagec 60 $SAGE --dtype i8,bf16,e4m3 --kernels "attention.int8@cuda.wgmma-fp8,$WS,attention.flash@cuda.wgmma-fp8"
KBENCH_FLASH_WS_SECTIONS=1 step sagec-sec 60 $SAGE --dtype i8,bf16,e4m3 \
    --kernels "attention.int8@cuda.wgmma-fp8,$WS,attention.flash@cuda.wgmma-fp8"
step fp8-ds 90 --kernels 'moe.experts@cuda.wgmma-fp8,gemm.dense@cuda.cublaslt' $DEEPSEEK --m 32768 --n 6144 --k 7168
attention_call_report thirtieth "'flash_ws.sections', 'flash_ws.consumers', 'flash_ws.persistent', 'flash_ws.tma_store', 'lightning.group', 'lightning.prefetch'"
