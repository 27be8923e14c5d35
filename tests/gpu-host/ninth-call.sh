#!/bin/bash
# ninth-call.sh - the eighth session's first lease, timings before and after this session's
# kernel changes, in one call on one machine:
# 1. the FP8 attention kernels (attention.flash@cuda.wgmma-fp8, attention.int8@cuda.wgmma-fp8) at
#    SageAttention2's shape beside the bf16 flash (wgmma-ws), and moe.experts@cuda.wgmma-fp8 on
#    DeepSeek-V3's shape beside cuBLASLt's FP8 GEMM, built from .gpubuild's objects (before);
# 2. the same, rebuilt from the working tree (the block scales and P's 448 folded into the
#    softmax's FFMA; the MoE GEMM's scales loaded a k-tile ahead);
# 3. the attention again with a quarter of the softmax's exponentials on the FMA pipe
#    (KB_EX2_FMA_EVERY=4, kernels/gpu/ex2_fma.cuh), and bf16 flash at d 64 beside cuDNN (its
#    softmax has as little tensor work under it as the FP8 kernels' at d 128) before and after.
# tenth-call.sh verifies at odd sizes and runs Nsight Compute. Into $OUT: nine.db, steps.log.
cd "$(dirname "$0")/../.." || exit 1
. tests/gpu-host/sweeps.sh
call_start build || exit 1
timing_db nine
MOE="--dtype e4m3 --preset deepseek-v3 --experts 16 --tokens 4096 --m 32768 --n 6144 --k 7168"
SAGE="--input outlier --dtype bf16,e4m3,i8 --batch 4 --heads 32 --head-dim 128 --seq 8192 --causal 0"
ATT="attention.flash@cuda.wgmma-ws,attention.flash@cuda.wgmma-fp8,attention.int8@cuda.wgmma-fp8"
D64="--plugin torch_attention.py --kernels attention.flash@cuda.wgmma-ws,attention.sdpa@cuda.torch-cudnn --dtype bf16 --batch 4 --heads 16 --head-dim 64 --seq 4096 --causal 0"
step att-before 60 $SAGE --kernels "$ATT"
step d64-before 30 $D64
step moe-before 80 --kernels 'moe.experts@cuda.wgmma-fp8,gemm.dense@cuda.cublaslt' $MOE
# the objects of the files this session changed, rebuilt from the working tree
rebuild() {
    rm -f kernels/moe/moe_fp8_wgmma.o kernels/attention/flash_fp8_ws.o kernels/attention/int8_fp8_ws.o \
        kernels/attention/int8_wgmma_ws.o kernels/attention/flash_wgmma_ws.o
    make -j16 -s kbench "$@" >/tmp/build2.log 2>&1 || { grep -E 'error' /tmp/build2.log | head; exit 1; }
    echo "rebuilt from the working tree $* $(date -u +%T)"
}
rebuild
step att-after 60 $SAGE --kernels "$ATT"
step moe-after 80 --kernels 'moe.experts@cuda.wgmma-fp8,gemm.dense@cuda.cublaslt' $MOE
rebuild NVCCFLAGS='-O3 -std=c++17 -lineinfo -DKB_EX2_FMA_EVERY=4'
step att-ex2fma 60 $SAGE --kernels "$ATT"
step d64-ex2fma 30 $D64
echo "=== results $(date -u +%T)"
sqlite3 -separator ' ' "$DB" "SELECT r.case_id, r.kernel || '@' || r.impl, r.dtype, 'd' || coalesce(r.head_dim, '-'), 'n' || coalesce(r.seq_len, r.gemm_m, r.tokens), r.status, printf('%.1fus', r.median_us), printf('%.0fTF', r.gflops / 1000), printf('err%.2g', r.rel_l2_err), coalesce((SELECT printf('cos %.6f', a.cosine) FROM accuracy a WHERE a.case_id = r.case_id), '') FROM v_results r ORDER BY r.case_id;" | sed 's/  */ /g'
sqlite3 "$DB" "SELECT kernel || '@' || impl || ': ' || substr(error, 1, 160) FROM cases WHERE status NOT IN ('ok') LIMIT 6;"
# the instruction mix of the FP8 flash kernels (causal and not; as rebuilt last): opcodes by count
cuobjdump -sass kernels/attention/flash_fp8_ws.o 2>/dev/null | grep -oE '^ +/\*[0-9a-f]{4}\*/ +[A-Z0-9]+[A-Z0-9._]*' | awk '{print $2}' |
    sed 's/\..*//' | sort | uniq -c | sort -rn | head -24 | tr '\n' ' '; echo
echo "done $(date -u +%T)"
