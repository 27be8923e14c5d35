#!/bin/bash
# twenty-seventh-call.sh - the seventeenth session's FP8 MoE changes: the staged epilogues send a
# warp's 16 rows by one TMA store (KBENCH_MOE_FP8_TMA_STORE=1, send_staged), so the warp goes on
# to its next tile while the copy is under way, instead of 16-byte stores from all its lanes; and
# the consumers' turns start a few k-tiles into each tile (KBENCH_MOE_FP8_TURNS_FROM), so consumer
# 0 starts a tile under consumer 1's epilogue.
#   moefp8*v   verified at tests/gpu.sh's odd sizes: the defaults, the register stores, the
#              clusters, the TMA stores, a block a tile, uniform and one-expert routing
#   fp8-ds*    DeepSeek-V3's shape (4096 tokens, 16 experts) beside cuBLASLt, alternating: the
#              default (both epilogues staged, the up GEMM's codes too: not timed before),
#              the TMA stores, those with the turns from k-tile 3, KBENCH_MOE_FP8_STAGED_STORE=down
#              (the sixteenth session's timed form)
# The databases and the log come back as $OUT/twenty-seventh.tar.gz.
cd "$(dirname "$0")/../.." || exit 1
. tests/gpu-host/sweeps.sh
moe_fp8_call_open twenty-seventh
KBENCH_MOE_FP8_TMA_STORE=1 step fp8-ds-tma 80 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK
KBENCH_MOE_FP8_TMA_STORE=1 KBENCH_MOE_FP8_TURNS_FROM=3 step fp8-ds-tmaf 80 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK
KBENCH_MOE_FP8_STAGED_STORE=down step fp8-ds-down 80 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK
step fp8-ds-2 80 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK
KBENCH_MOE_FP8_TMA_STORE=1 step fp8-ds-tma2 80 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK
moe_call_report twenty-seventh "'moe_fp8.staged_store', 'moe_fp8.staged_codes', 'moe_fp8.tma_store', 'moe_fp8.turns_from'"
