#!/bin/bash
# ninth-call.sh - the eighth session's first lease (eighth-call.sh's plan, with an A/B of the FP8
# MoE GEMM's scale prefetch added):
# 1. the delta rule's KBENCH_DELTA_OUT=split output pass against the default at 16k;
# 2. the INT8/FP8 attention kernels at SageAttention2's shape beside the bf16 flash, and
#    moe.experts@cuda.wgmma-fp8 on DeepSeek-V3's shape beside cuBLASLt's FP8 GEMM, built from
#    .gpubuild's objects (HEAD), then rebuilt from the working tree (the block scales and P's 448
#    folded into the softmax's FFMA; consume_promoted loading a k-tile's scales under the previous
#    k-tile's products) and timed again, then verified at tests/gpu.sh's odd sizes;
# 3. Nsight Compute's stall, occupancy and memory sections of flash wgmma-ws against cuDNN (N 2k,
#    batch 8, d 128), of the FP8 flash at SageAttention2's shape and of the FP8 MoE GEMM;
# 4. whether sm_90a has a packed f16x2 MUFU.EX2 (cuobjdump of ex2.approx.f16x2).
# Into $OUT: nine.db, steps.log, the sweeps' .db and .log, ncu*.txt.
cd "$(dirname "$0")/../.." || exit 1
. tests/gpu-host/sweeps.sh
call_start build || exit 1
timing_db nine
step delta 25 --dtype bf16 --batch 1 --heads 16 --head-dim 128 --chunk 64 --causal 1 --seq 16384 --decay 1 \
    --kernels attention.delta@cuda.mma
KBENCH_DELTA_OUT=split step delta-split 25 --dtype bf16 --batch 1 --heads 16 --head-dim 128 --chunk 64 --causal 1 \
    --seq 16384 --decay 1 --kernels attention.delta@cuda.mma
MOE="--dtype e4m3 --preset deepseek-v3 --experts 16 --tokens 4096 --m 32768 --n 6144 --k 7168"
SAGE="--input outlier --dtype i8,bf16,e4m3 --batch 4 --heads 32 --head-dim 128 --seq 8192 --causal 0"
ATT="attention.int8@cuda.wgmma-fp8,attention.int8@cuda.wgmma-ws,attention.flash@cuda.wgmma-ws,attention.flash@cuda.wgmma-fp8"
step att-before 70 $SAGE --kernels "$ATT"
step moe-before 80 --kernels 'moe.experts@cuda.wgmma-fp8,gemm.dense@cuda.cublaslt' $MOE
# the objects of the files this session changed, rebuilt from the working tree
rm -f kernels/moe/moe_fp8_wgmma.o kernels/attention/flash_fp8_ws.o kernels/attention/int8_fp8_ws.o \
    kernels/attention/int8_wgmma_ws.o
make -j16 -s kbench >/tmp/build2.log 2>&1 || { grep -E 'error' /tmp/build2.log | head; exit 1; }
echo "rebuilt from the working tree $(date -u +%T)"
step att-after 70 $SAGE --kernels "$ATT"
step moe-after 80 --kernels 'moe.experts@cuda.wgmma-fp8,gemm.dense@cuda.cublaslt' $MOE
echo "=== results $(date -u +%T)"
sqlite3 -separator ' ' "$DB" "SELECT r.case_id, r.kernel || '@' || r.impl, r.dtype, 'n' || coalesce(r.seq_len, r.gemm_m, r.tokens), r.status, printf('%.1fus', r.median_us), printf('%.0fTF', r.gflops / 1000), printf('err%.2g', r.rel_l2_err), coalesce((SELECT printf('cos %.6f', a.cosine) FROM accuracy a WHERE a.case_id = r.case_id), '') FROM v_results r ORDER BY r.case_id;" | sed 's/  */ /g'
sqlite3 "$DB" "SELECT kernel || '@' || impl || ': ' || substr(error, 1, 160) FROM cases WHERE status NOT IN ('ok') LIMIT 6;"
# verified at tests/gpu.sh's odd sizes (int8fp8, flashfp8, moefp81), beside the ncu runs below
NEW_LIMIT=200 sweep int8fp8v --timeout 20 --kernels 'attention.int8@cuda.wgmma-fp8,attention.int8@cuda.wgmma-ws' \
    --dtype i8 --batch 2 --heads 3 --kv-heads 1,3 --seq 1,77,1000,4099 --head-dim 128 --causal 0,1 --input normal,outlier &
NEW_LIMIT=200 sweep flashfp8v --timeout 20 --kernels 'attention.flash@cuda.wgmma-fp8' --dtype e4m3 --batch 2 --heads 3 \
    --kv-heads 1,3 --seq 1,77,1000,4099 --head-dim 128 --causal 0,1 --input normal,outlier &
NEW_LIMIT=200 sweep moefp8v --kernels moe.experts@cuda.wgmma-fp8 --dtype e4m3 --tokens 1,77,1001 --hidden 384 \
    --ffn 640 --experts 8,64 --top-k 1,2,8 --routing zipf &
cat > /tmp/ex2.cu <<'CU'
__global__ void k(unsigned *x) { unsigned y; asm("ex2.approx.f16x2 %0, %1;" : "=r"(y) : "r"(x[threadIdx.x])); x[threadIdx.x] = y; }
CU
( cd /tmp && nvcc -cubin -arch=sm_90a -o ex2.cubin ex2.cu && cuobjdump -sass ex2.cubin | grep -E 'MUFU|HADD|F2F|PRMT' ) 2>&1 | head
# the instruction mix of the FP8 flash kernels (causal and not; rebuilt): opcodes by count
cuobjdump -sass kernels/attention/flash_fp8_ws.o 2>/dev/null | grep -oE '^ +/\*[0-9a-f]{4}\*/ +[A-Z0-9]+[A-Z0-9._]*' | awk '{print $2}' |
    sed 's/\..*//' | sort | uniq -c | sort -rn | head -24 | tr '\n' ' '; echo
if ncu_start; then
    K="--no-isolate --devices cuda:0 --max-time 0.01 --min-time 0.001 --no-metrics --no-counters --quiet --no-show"
    timeout "$left" "$NCU" --clock-control none -k regex:'flash_wgmma_ws|sdpa|fmha|cudnn' --launch-skip 6 \
        --launch-count 2 $NCU_SECTIONS --section InstructionStats --print-details all \
        ./kbench run --db /tmp/ncu.db $K --plugin torch_attention.py \
        --kernels 'attention.flash@cuda.wgmma-ws,attention.sdpa@cuda.torch-cudnn' --dtype bf16 --heads 16 \
        --head-dim 128 --batch 8 --seq 2048 --causal 0 >"$OUT/ncu.txt" 2>&1
    echo "ncu exit $?"
    left=$(( ${CALL_LIMIT:-500} - 20 - ($(date +%s) - t0) ))
    [ "$left" -gt 30 ] && timeout "$left" "$NCU" --clock-control none -k regex:'fp8_pv_ws' --launch-skip 3 \
        --launch-count 1 $NCU_SECTIONS --section InstructionStats --section ComputeWorkloadAnalysis --print-details all \
        ./kbench run --db /tmp/ncu-fp8.db $K --kernels attention.flash@cuda.wgmma-fp8 --dtype e4m3 --batch 4 \
        --heads 32 --head-dim 128 --seq 8192 --causal 0 >"$OUT/ncu-fp8.txt" 2>&1
    left=$(( ${CALL_LIMIT:-500} - 20 - ($(date +%s) - t0) ))
    [ "$left" -gt 30 ] && timeout "$left" "$NCU" --clock-control none -k regex:'moe_fp8_wgmma' --launch-skip 3 \
        --launch-count 1 $NCU_SECTIONS --section MemoryWorkloadAnalysis_Chart --print-details all \
        ./kbench run --db /tmp/ncu-moe.db $K --kernels moe.experts@cuda.wgmma-fp8 --dtype e4m3 \
        --preset deepseek-v3 --experts 16 --tokens 4096 >"$OUT/ncu-moe.txt" 2>&1
    for f in "$OUT"/ncu*.txt; do
        echo "--- $f"
        grep -E '^  [a-zA-Z_].*\(|Duration|Achieved Occupancy|No Eligible|Warp Cycles Per Issued|Stall|Compute \(SM\) Throughput|Memory Throughput|Issue Slots Busy' \
            "$f" | cut -c1-150 | head -40
    done
fi
wait
sweep_report int8fp8v flashfp8v moefp8v
echo "done $(date -u +%T)"
