#!/bin/bash
# twenty-sixth-call.sh - the sixteenth session's second FP8 MoE change, after twenty-third-call.sh
# put the up GEMM epilogue's largest stall on its h codes' stores (32 two-byte stores a thread,
# lg throttle): the codes now go through the warp's shared-memory buffer and out as 16-byte row
# pieces (store_h with p.staged, under KBENCH_MOE_FP8_STAGED_STORE as the down GEMM's stores).
#   moefp8*v   verified at tests/gpu.sh's odd sizes: the defaults, the register stores with the
#              carry, the clusters, a block a tile, uniform and one-expert routing
#   fp8-ds*    DeepSeek-V3's shape (4096 tokens, 16 experts) beside cuBLASLt: the default against
#              KBENCH_MOE_FP8_STAGED_STORE=down (the up GEMM's codes from the quads), alternating
#              (each step 45-60 s, most of it the host's setup); then hidden 3584 for the up
#              GEMM's cost a tile outside its k-tiles
# First run 2026-12-07 (against 8d7f75c's objects): the sweeps passed (12/12 in four forms, 2/2),
# every DeepSeek-V3 step was cut at the 60-s case limit or its own 55 s on a slow host.
# The databases and the log come back as $OUT/twenty-sixth.tar.gz.
cd "$(dirname "$0")/../.." || exit 1
. tests/gpu-host/sweeps.sh
moe_fp8_call_open twenty-sixth
KBENCH_MOE_FP8_STAGED_STORE=down step fp8-ds-down 80 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK
step fp8-ds-2 80 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK
KBENCH_MOE_FP8_STAGED_STORE=down step fp8-ds-down2 80 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK
# the up GEMM at half its k (hidden 3584: 28 k-tiles a tile, the same tiles): its cost a tile
# outside the k-tiles is twice this up GEMM's time less the one at 7168 (CUPTI)
step fp8-ds-h3584 80 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK --hidden 3584
moe_call_report twenty-sixth "'moe_fp8.staged_store', 'moe_fp8.staged_codes'"
