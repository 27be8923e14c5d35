#!/bin/bash
# twenty-fifth-call.sh - the sixteenth session's FP8 MoE after twenty-fourth-call.sh (the staged
# down stores 16% faster, now the default) and twenty-third-call.sh (Nsight Compute: the
# consumers spent about 5% of their time in each tile's binary search for its group, four or more
# dependent loads):
#   tile search    moe_for_each_tile now starts from the group of the block's previous tile
#                  (moe_tile_after), in every grouped GEMM (FP8 and bf16); this tree against
#                  kbench.moeprev (2acead5's MoE objects, .gpubuild/moeprev.tar.gz from
#                  `tests/gpu-host/pack-objects.sh cd085fc 2acead5`) with its staged stores on
#   moefp8*v       verified at tests/gpu.sh's odd sizes: the defaults, the register stores with the
#                  carry, the clusters (two searches a pair), a block a tile, uniform and
#                  one-expert routing; moewg*v the bf16 grouped GEMMs (clusters and not)
#   fp8-ds*        DeepSeek-V3's shape (4096 tokens, 16 experts) beside cuBLASLt, alternating
# The databases and the log come back as $OUT/twenty-fifth.tar.gz.
cd "$(dirname "$0")/../.." || exit 1
. tests/gpu-host/sweeps.sh
call_start build || exit 1
nvidia-smi --query-gpu=name,clocks.sm,temperature.gpu,power.limit --format=csv,noheader
cp kbench kbench.new
swap_in moeprev && make -s kbench >/tmp/link.log 2>&1 && mv kbench kbench.moeprev || { tail /tmp/link.log; exit 1; }
swap_in cuobj "kernels/moe/moe_fp8_wgmma.o kernels/moe/moe_gemm_wgmma.o kernels/moe/moe_gemm_mma.o" &&
    make -s kbench >/tmp/link.log 2>&1 && cmp -s kbench kbench.new && echo "two binaries $(date -u +%T)" ||
    { echo "relinked kbench differs from the built one"; tail /tmp/link.log; }
WG="--kernels moe.experts@cuda.wgmma,moe.layer@cuda.wgmma --dtype bf16 --tokens 1,77,1000 --hidden 100 --ffn 333 --top-k 1,2,8 --routing zipf"
moe_fp8_odd_sweeps
NEW_LIMIT=80 sweep moewgv $WG --experts 8,64 &
( export KBENCH_MOE_WG_CLUSTER=1; NEW_LIMIT=80 sweep moewg1v $WG --experts 8 ) &
wait
sweep_report $MOE_FP8_ODD moewgv moewg1v
for f in moefp8v moefp8tv; do
    echo "$f: $(sqlite3 "$OUT/$f.db" "SELECT group_concat(name || '=' || v, ' ') FROM (SELECT DISTINCT name, value AS v FROM counters WHERE name IN ('moe_fp8.scales_async', 'moe_fp8.turn_carry', 'moe_fp8.staged_store'));")"
done
timing_db twenty-fifth
step fp8-ds 75 --kernels 'moe.experts@cuda.wgmma-fp8,gemm.dense@cuda.cublaslt' $DEEPSEEK --m 32768 --n 6144 --k 7168
KBENCH_MOE_FP8_STAGED_STORE=1 step_as kbench.moeprev fp8-ds-prev 55 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK
step fp8-ds-2 55 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK
KBENCH_MOE_FP8_STAGED_STORE=1 step_as kbench.moeprev fp8-ds-prev2 55 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK
step fp8-ds-3 55 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK
moe_call_report twenty-fifth "'moe_fp8.staged_store'"
