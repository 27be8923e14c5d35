#!/bin/bash
# sixteenth-call.sh - the FP8 MoE's consumer index through __shfl_sync (uniform-register
# descriptors) against 3a1c1de's object (kbench.moeprev: `tests/gpu-host/pack-objects.sh cd085fc
# 3a1c1de`), alternating twice on DeepSeek-V3's shape, then Mixtral's beside cuBLASLt; its odd
# sizes verified first. Before them the bf16 flash's lazy rescale, verified at odd sizes (normal and
# outlier inputs) and timed against the default beside cuDNN.
cd "$(dirname "$0")/../.." || exit 1
. tests/gpu-host/sweeps.sh
call_start build || exit 1
nvidia-smi --query-gpu=name,clocks.sm,temperature.gpu,power.limit --format=csv,noheader
swap_in moeprev && make -s kbench >/tmp/link.log 2>&1 && mv kbench kbench.moeprev || { tail /tmp/link.log; exit 1; }
swap_in cuobj kernels/moe/moe_fp8_wgmma.o && make -s kbench >/tmp/link.log 2>&1 || { tail /tmp/link.log; exit 1; }
NEW_LIMIT=90 sweep moefp8v --kernels moe.experts@cuda.wgmma-fp8 --dtype e4m3 --tokens 1,77,1001 --hidden 384,512 \
    --ffn 640 --experts 8 --top-k 2,8 --routing zipf &
( export KBENCH_FLASH_WS_LAZY_RESCALE=1; NEW_LIMIT=90 sweep flashwslv --kernels 'attention.flash@cuda.wgmma-ws' \
    --dtype f16,bf16 --batch 2 --heads 4 --kv-heads 4 --seq 77,4099 --head-dim 64,128,256 --causal 0,1 --input normal,outlier ) &
NEW_LIMIT=90 sweep flashwsv --kernels 'attention.flash@cuda.wgmma-ws' --dtype f16,bf16 --batch 2 --heads 4 \
    --kv-heads 1,4 --seq 1,77,1000,4099 --head-dim 64,128,256 --causal 0,1 &
wait
sweep_report moefp8v flashwslv flashwsv
timing_db sixteen
# the bf16 flash's lazy rescale (KBENCH_FLASH_WS_LAZY_RESCALE=1) against the default, beside cuDNN
B4="--dtype bf16 --batch 4 --heads 16 --head-dim 64,128,256 --seq 4096 --causal 0,1"
B8="--dtype bf16 --batch 8 --heads 16 --head-dim 64,128 --seq 2048 --causal 0,1"
step flash-b4 40 $CUDNN $B4
( export KBENCH_FLASH_WS_LAZY_RESCALE=1; step flash-b4-lazy 25 --kernels attention.flash@cuda.wgmma-ws $B4 )
step flash-b8 30 $CUDNN $B8
( export KBENCH_FLASH_WS_LAZY_RESCALE=1; step flash-b8-lazy 20 --kernels attention.flash@cuda.wgmma-ws $B8 )
step moe-new 70 --kernels 'moe.experts@cuda.wgmma-fp8,gemm.dense@cuda.cublaslt' $DEEPSEEK --m 32768 --n 6144 --k 7168
step_as kbench.moeprev moe-prev 60 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK
step moe-new2 60 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK
step_as kbench.moeprev moe-prev2 60 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK
step moe-mixtral 70 --kernels 'moe.experts@cuda.wgmma-fp8,gemm.dense@cuda.cublaslt' --dtype e4m3 --preset mixtral-8x7b --tokens 4096 --m 8192 --n 43008 --k 4096
sqlite3 -separator ' ' "$DB" "SELECT r.case_id, r.kernel || '@' || r.impl, 'd' || coalesce(r.head_dim, '-'), 'c' || coalesce(r.causal, '-'), 'b' || coalesce(r.batch, '-'), 'n' || coalesce(r.seq_len, r.gemm_m, r.tokens), coalesce((SELECT 'lazy' || k.value FROM counters k WHERE k.case_id = r.case_id AND k.name = 'flash_ws.lazy_rescale'), ''), r.status, printf('%.1fus', r.median_us), printf('%.0fTF', r.gflops / 1000), printf('err%.3g', r.rel_l2_err) FROM v_results r ORDER BY r.case_id;"
sqlite3 -separator ' ' "$DB" "SELECT c.id, substr(g.name, 1, 40), printf('%.1fus', 1e6 * avg(g.duration_s)) FROM gpu_kernels g JOIN cases c ON c.id = g.case_id WHERE c.kernel = 'moe.experts' AND g.name LIKE '%wgmma%' GROUP BY c.id, g.name ORDER BY c.id, min(g.idx);" | sed 's/^/moe kernels: /'
grep -i -E 'error|fail|throttl' "$OUT/steps.log" | cut -c1-200 | head -6
tar czf "$OUT/sixteen.tar.gz" -C "$OUT" --remove-files $(cd "$OUT" && ls *.db *.log 2>/dev/null)
echo "done $(date -u +%T), $(( $(date +%s) - t0 )) s"
