#!/bin/bash
# seventeenth-call.sh - for the lease after verify.sh (tests/gpu.sh end to end): what the twelfth
# session changed, on the warm machine, in one call:
#   moe-up          Nsight Compute's stall samples and SASS of the FP8 MoE's up GEMM again, now its
#                   descriptors are in uniform registers (the twelfth session's profile had 181 of
#                   317 instructions a k-tile besides the products and the promotion)
#   att             the FP8 and INT8 attention at SageAttention2's shape beside the bf16 flash,
#                   whose epilogue (TMA stores) and softmax (lazy rescale) changed since the
#                   eleventh session's 1.33x / 1.24x
#   lightning       attention.lightning@cuda.mma beside fla's chunk_simple_gla, 4k..64k (needs
#                   fla-core's wheel in .whl: tests/gpu-host/README.md)
#   moe-mixtral     the FP8 MoE on Mixtral's shape beside cuBLASLt (cut from the sixteenth call)
# The reports and databases come back as $OUT/seventeen.tar.gz.
cd "$(dirname "$0")/../.." || exit 1
. tests/gpu-host/sweeps.sh
call_start build || exit 1
nvidia-smi --query-gpu=name,clocks.sm,temperature.gpu,power.limit --format=csv,noheader
timing_db seventeen
SAGE="--input outlier --batch 4 --heads 32 --head-dim 128 --seq 8192 --causal 0"
step att 70 $SAGE --dtype bf16,e4m3,i8 --kernels 'attention.flash@cuda.wgmma-ws,attention.flash@cuda.wgmma-fp8,attention.int8@cuda.wgmma-fp8'
step moe-mixtral 60 --kernels 'moe.experts@cuda.wgmma-fp8,gemm.dense@cuda.cublaslt' --dtype e4m3 --preset mixtral-8x7b \
    --tokens 4096 --m 8192 --n 43008 --k 4096
step lightning 100 --plugin fla_attention.py --kernels 'attention.lightning@cuda.mma,attention.lightning@cuda.fla-simple-gla' \
    --dtype bf16 --batch 1 --heads 16 --head-dim 128 --chunk 64 --seq 4096,16384,65536
sqlite3 -separator ' ' "$DB" "SELECT r.case_id, r.kernel || '@' || r.impl, r.dtype, 'n' || coalesce(r.seq_len, r.gemm_m, r.tokens), r.status, printf('%.1fus', r.median_us), printf('%.0fTF', r.gflops / 1000), printf('err%.3g', r.rel_l2_err), coalesce((SELECT printf('cos %.6f', a.cosine) FROM accuracy a WHERE a.case_id = r.case_id), '') FROM v_results r ORDER BY r.case_id;" | sed 's/  */ /g'
if ncu_start; then
    K="--no-isolate --devices cuda:0 --max-time 0.01 --min-time 0.001 --no-metrics --no-counters --quiet --no-show"
    timeout "$left" "$NCU" --clock-control none --kernel-name-base demangled -k 'regex:moe_fp8_wgmma<.int.2' --launch-skip 2 \
        --launch-count 1 --section SpeedOfLight --section WarpStateStats --section SourceCounters --print-details all \
        -o /tmp/moe-up ./kbench run --db /tmp/moe-up.db $K --kernels moe.experts@cuda.wgmma-fp8 --dtype e4m3 \
        --preset deepseek-v3 --experts 16 --tokens 4096 >"$OUT/moe-up.log" 2>&1
    "$NCU" -i /tmp/moe-up.ncu-rep --print-details all >"$OUT/moe-up.txt" 2>&1
    "$NCU" -i /tmp/moe-up.ncu-rep --page source --print-source sass --csv >"$OUT/moe-up-sass.csv" 2>&1
    grep -E 'Duration|Tensor Cycles|Issue Active|Stall' "$OUT/moe-up.txt" | cut -c1-120 | head -20
fi
tar czf "$OUT/seventeen.tar.gz" -C "$OUT" --remove-files $(cd "$OUT" && ls *.db *.log *.txt *.csv 2>/dev/null)
echo "done $(date -u +%T), $(( $(date +%s) - t0 )) s"
