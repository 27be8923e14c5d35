#!/bin/bash
# eighteenth-call.sh - the thirteenth session's changes in one call:
#   the FP8 MoE's up GEMM quantizing h in its epilogue (the default now), verified at odd sizes,
#   then timed against KBENCH_MOE_FP8_FUSED_QUANT=0 (the separate quantizer) on DeepSeek-V3's and
#   Mixtral's shapes beside cuBLASLt, alternating;
#   the bf16 flash at d 64 with every 4th / 8th 8-column block of exponentials on the FMA pipe
#   (kbench.ex4, kbench.ex8: pack-objects.sh's exflash.tar.gz) beside its default and cuDNN, where
#   at d 64 the softmax's MUFU work equals the tensor cores'.
# The databases and the log come back as $OUT/eighteen.tar.gz.
cd "$(dirname "$0")/../.." || exit 1
. tests/gpu-host/sweeps.sh
call_start build || exit 1
nvidia-smi --query-gpu=name,clocks.sm,temperature.gpu,power.limit --format=csv,noheader
for ex in ex4 ex8; do
    tar xzf .gpubuild/exflash.tar.gz -C /tmp "$ex" && cp "/tmp/$ex/kernels/attention/flash_wgmma_ws.o" kernels/attention/ &&
        touch kernels/attention/flash_wgmma_ws.o && make -s kbench >/tmp/link.log 2>&1 && mv kbench "kbench.$ex" ||
        { tail /tmp/link.log; exit 1; }
done
tar xzf .gpubuild/cuobj.tar.gz kernels/attention/flash_wgmma_ws.o && touch kernels/attention/flash_wgmma_ws.o &&
    make -s kbench >/tmp/link.log 2>&1 || { tail /tmp/link.log; exit 1; }
NEW_LIMIT=100 sweep moefp8v --kernels moe.experts@cuda.wgmma-fp8 --dtype e4m3 --tokens 1,77,1001 --hidden 384,512 \
    --ffn 640 --experts 8 --top-k 2,8 --routing zipf &
( export KBENCH_MOE_FP8_FUSED_QUANT=0; NEW_LIMIT=100 sweep moefp8u --kernels moe.experts@cuda.wgmma-fp8 --dtype e4m3 \
    --tokens 77,1001 --hidden 512 --ffn 640 --experts 8 --top-k 2 --routing zipf ) &
wait
sweep_report moefp8v moefp8u
sqlite3 "$OUT/moefp8v.db" "SELECT 'fused_quant ' || k.value || ': ' || count(*) || ' cases, exact ' || sum(a.exact_mismatches = 0) FROM cases c JOIN accuracy a ON a.case_id = c.id JOIN counters k ON k.case_id = c.id WHERE k.name = 'moe_fp8.fused_quant' GROUP BY k.value;"
timing_db eighteen
step moe-fused 70 --kernels 'moe.experts@cuda.wgmma-fp8,gemm.dense@cuda.cublaslt' $DEEPSEEK --m 32768 --n 6144 --k 7168
( export KBENCH_MOE_FP8_FUSED_QUANT=0; step moe-sep 45 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK )
step moe-fused2 45 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK
MIXTRAL="--dtype e4m3 --preset mixtral-8x7b --tokens 4096"
step mixtral-fused 60 --kernels 'moe.experts@cuda.wgmma-fp8,gemm.dense@cuda.cublaslt' $MIXTRAL --m 8192 --n 43008 --k 4096
( export KBENCH_MOE_FP8_FUSED_QUANT=0; step mixtral-sep 40 --kernels moe.experts@cuda.wgmma-fp8 $MIXTRAL )
D64="--dtype bf16 --head-dim 64 --heads 16 --causal 0,1"
step flash64 50 $CUDNN $D64 --batch 4,8 --seq 4096,2048
step_as kbench.ex4 flash64-ex4 30 --kernels attention.flash@cuda.wgmma-ws $D64 --batch 4,8 --seq 4096,2048
step_as kbench.ex8 flash64-ex8 30 --kernels attention.flash@cuda.wgmma-ws $D64 --batch 4,8 --seq 4096,2048
step flash64-again 30 --kernels attention.flash@cuda.wgmma-ws $D64 --batch 4,8 --seq 4096,2048
sqlite3 -separator ' ' "$DB" "SELECT r.case_id, r.kernel || '@' || r.impl, r.dtype, 'd' || coalesce(r.head_dim, '-'), 'c' || coalesce(r.causal, '-'), 'b' || coalesce(r.batch, '-'), 'n' || coalesce(r.seq_len, r.gemm_m, r.tokens), coalesce((SELECT 'fq' || k.value FROM counters k WHERE k.case_id = r.case_id AND k.name = 'moe_fp8.fused_quant'), ''), r.status, printf('%.1fus', r.median_us), printf('%.0fTF', r.gflops / 1000), printf('err%.3g', r.rel_l2_err) FROM v_results r ORDER BY r.case_id;" | sed 's/  */ /g'
sqlite3 -separator ' ' "$DB" "SELECT c.id, substr(g.name, 1, 48), printf('%.1fus', 1e6 * avg(g.duration_s)) FROM gpu_kernels g JOIN cases c ON c.id = g.case_id WHERE c.kernel = 'moe.experts' GROUP BY c.id, g.name ORDER BY c.id, min(g.idx);" | sed 's/^/moe kernels: /'
grep -i -E 'error|fail|throttl' "$OUT/steps.log" | cut -c1-200 | head -6
tar czf "$OUT/eighteen.tar.gz" -C "$OUT" --remove-files $(cd "$OUT" && ls *.db *.log 2>/dev/null)
echo "done $(date -u +%T), $(( $(date +%s) - t0 )) s"
