#!/bin/bash
# moe-fp8.sh - moe.experts@cuda.wgmma-fp8 (DeepSeek-V3's block-scaled FP8 grouped GEMM) on the
# H100 in one call: verified at odd sizes and on both presets (tests/gpu.sh's moefp8 jobs, same
# flags), then timed on issue 20's two shapes beside the bf16 wgmma experts, cuBLAS's bf16 dense
# GEMM and cuBLASLt's FP8 dense GEMM of the same FLOPs (Mixtral-8x7B: M 8192 = 4096 tokens·top-2,
# N 43008 = 3·14336, K 4096; DeepSeek-V3: M 32768 = 4096·top-8, N 6144 = 3·2048, K 7168).
# issue 20's bar: the FP8 experts >= 0.8x the dense GEMM of the same FLOPs. The FP8 case's time
# is the GEMMs (and h's quantizer between them); the activations' pre-pass is its counter
# fp8.quantize_s, printed beside it.
cd "$(dirname "$0")/../.." || exit 1
[ -f .gpudeps/env.sh ] && . .gpudeps/env.sh
[ -x kbench ] || bash tests/gpu-host/build.sh || exit 1
DB=$OUT/moe-fp8.db
V="--db $DB --devices cuda:0 --max-time 0.02 --min-time 0.005 --no-counters --no-metrics --quiet --no-show"
P="--db $DB --devices cuda:0 --max-time 0.5 --no-metrics --quiet --no-show"
step() { name=$1; lim=$2; shift 2; echo "=== $name $(date -u +%T)"; timeout "$lim" ./kbench run "$@" >"$OUT/$name.log" 2>&1; echo "exit $?"; }
fp8=moe.experts@cuda.wgmma-fp8
step verify-odd 240 $V --kernels $fp8 --dtype e4m3 --tokens 1,77,1001 --hidden 384 --ffn 640 --experts 8,64 \
    --top-k 1,2,8 --routing zipf
step verify-routing 120 $V --kernels $fp8 --dtype e4m3 --tokens 999 --hidden 640 --ffn 384 --experts 8 --top-k 2 \
    --routing uniform,one
step verify-mixtral 120 $V --kernels $fp8 --dtype e4m3 --preset mixtral-8x7b --tokens 77
step verify-deepseek 300 $V --kernels $fp8 --dtype e4m3 --preset deepseek-v3 --tokens 33
step mixtral 300 $P --kernels "$fp8,moe.experts@cuda.wgmma,gemm.dense@cuda.cublas,gemm.dense@cuda.cublaslt" \
    --dtype e4m3,bf16 --preset mixtral-8x7b --tokens 4096 --m 8192 --n 43008 --k 4096
step deepseek 600 $P --kernels "$fp8,moe.experts@cuda.wgmma,gemm.dense@cuda.cublas,gemm.dense@cuda.cublaslt" \
    --dtype e4m3,bf16 --preset deepseek-v3 --tokens 4096 --m 32768 --n 6144 --k 7168
echo "=== results $(date -u +%T)"
sqlite3 -separator ' ' "$DB" "SELECT kernel || '@' || impl, dtype, 'T' || coalesce(tokens, '-'), 'h' || coalesce(hidden, '-'), 'E' || coalesce(experts, '-'), 'm' || coalesce(gemm_m, '-'), status, passed, printf('%.3g', rel_l2_err), printf('%.1f us', median_us), printf('%.0f TF/s', gflops / 1000) FROM v_results ORDER BY case_id;"
sqlite3 -separator ' ' "$DB" "SELECT c.kernel || '@' || c.impl, 'T' || c.tokens, 'h' || c.hidden, k.name, printf('%.3g', k.value) FROM counters k JOIN cases c ON c.id = k.case_id WHERE k.name = 'fp8.quantize_s' AND c.tokens = 4096;"
echo "done $(date -u +%T)"
