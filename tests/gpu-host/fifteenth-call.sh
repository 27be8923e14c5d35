#!/bin/bash
# fifteenth-call.sh - the twelfth session's second lease: its three changes verified at
# tests/gpu.sh's odd sizes and timed against what they replace, in one call:
#   flash TMA store  attention.flash@cuda.wgmma-ws staging O in the Q tile for TMA stores (now
#                    the default) against KBENCH_FLASH_WS_TMA_STORE=0, beside cuDNN: batch 4 ×
#                    N 4k at d 64, 128, 256 and batch 8 × N 2k at d 128, causal and not
#   MoE descriptors  moe.experts@cuda.wgmma-fp8 with consume_promoted's descriptors built once
#                    (this tree) against kbench.moeprev (8a67817's MoE object: .gpubuild/moeprev.tar.gz
#                    from `tests/gpu-host/pack-objects.sh cd085fc 8a67817`), beside cuBLASLt
#   MoE clusters     KBENCH_MOE_FP8_CLUSTER=2 with the peer's arrival without .release.cluster
# The sweeps first, then the timings in order of what matters most.
cd "$(dirname "$0")/../.." || exit 1
. tests/gpu-host/sweeps.sh
call_start build || exit 1
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,temperature.gpu,power.limit --format=csv,noheader
cp kbench kbench.new
swap_in moeprev && make -s kbench >/tmp/link.log 2>&1 && mv kbench kbench.moeprev || { tail /tmp/link.log; exit 1; }
swap_in cuobj kernels/moe/moe_fp8_wgmma.o && make -s kbench >/tmp/link.log 2>&1 && cmp -s kbench kbench.new &&
    echo "two binaries $(date -u +%T)" || { echo "relinked kbench differs from the built one"; tail /tmp/link.log; }
export NEW_LIMIT=${SWEEP_LIMIT:-120}
sweep flashwsv --kernels 'attention.flash@cuda.wgmma-ws' --dtype f16,bf16 --batch 2 --heads 4 \
    --kv-heads 1,2,4 --seq 1,77,1000,4099 --head-dim 64,128,256 --causal 0,1 &
( export KBENCH_FLASH_WS_TMA_STORE=0; sweep flashwsrv --kernels 'attention.flash@cuda.wgmma-ws' --dtype bf16 \
    --batch 2 --heads 4 --kv-heads 1,4 --seq 77,1000,4099 --head-dim 64,128,256 --causal 0,1 ) &
sweep moefp8v --kernels moe.experts@cuda.wgmma-fp8 --dtype e4m3 --tokens 1,77,1001 --hidden 384,512 \
    --ffn 640 --experts 8 --top-k 2,8 --routing zipf &
( export KBENCH_MOE_FP8_CLUSTER=2; sweep moefp8cv --kernels moe.experts@cuda.wgmma-fp8 --dtype e4m3 \
    --tokens 1,77,1001 --hidden 512 --ffn 640 --experts 8 --top-k 2,8 --routing zipf ) &
wait
sweep_report flashwsv flashwsrv moefp8v moefp8cv
echo "flashwsv tma_store: $(sqlite3 "$OUT/flashwsv.db" "SELECT group_concat(DISTINCT value) FROM counters WHERE name = 'flash_ws.tma_store';"), flashwsrv: $(sqlite3 "$OUT/flashwsrv.db" "SELECT group_concat(DISTINCT value) FROM counters WHERE name = 'flash_ws.tma_store';")"
echo "sweeps done $(date -u +%T), $(( $(date +%s) - t0 )) s"
timing_db fifteen
shown=0
rows() {
    sqlite3 -separator ' ' "$DB" "SELECT r.case_id, r.kernel || '@' || r.impl, r.dtype, 'd' || coalesce(r.head_dim, '-'), 'c' || coalesce(r.causal, '-'), 'b' || coalesce(r.batch, '-'), 'n' || coalesce(r.seq_len, r.gemm_m, r.tokens), r.status, printf('%.1fus', r.median_us), printf('%.0fTF', r.gflops / 1000), printf('err%.3g', r.rel_l2_err), coalesce((SELECT group_concat(k.name || '=' || k.value, ' ') FROM counters k WHERE k.case_id = r.case_id AND (k.name LIKE 'moe_fp8.cluster_up' OR k.name = 'flash_ws.tma_store')), '') FROM v_results r WHERE r.case_id > $shown ORDER BY r.case_id;" 2>/dev/null | sed 's/  */ /g'
    shown=$(sqlite3 "$DB" "SELECT coalesce(max(id), 0) FROM cases;" 2>/dev/null || echo "$shown")
}
eval "_$(declare -f step)"
step() { _step "$@"; rows; }
B4="--dtype bf16 --batch 4 --heads 16 --head-dim 64,128,256 --seq 4096 --causal 0,1"
B8="--dtype bf16 --batch 8 --heads 16 --head-dim 128 --seq 2048 --causal 0,1"
step flash-b4 70 $CUDNN $B4
( export KBENCH_FLASH_WS_TMA_STORE=0; step flash-b4-regs 40 --kernels attention.flash@cuda.wgmma-ws $B4 )
step flash-b8 40 $CUDNN $B8
( export KBENCH_FLASH_WS_TMA_STORE=0; step flash-b8-regs 25 --kernels attention.flash@cuda.wgmma-ws $B8 )
step moe-new 85 --kernels 'moe.experts@cuda.wgmma-fp8,gemm.dense@cuda.cublaslt' $DEEPSEEK --m 32768 --n 6144 --k 7168
step_as kbench.moeprev moe-prev 75 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK
( export KBENCH_MOE_FP8_CLUSTER=2; step moe-cluster 75 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK )
step moe-new2 75 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK
step flash-b8-again 30 $CUDNN $B8
sqlite3 -separator ' ' "$DB" "SELECT c.id, substr(g.name, 1, 48), printf('%.1fus', 1e6 * avg(g.duration_s)), count(*) FROM gpu_kernels g JOIN cases c ON c.id = g.case_id WHERE c.kernel = 'moe.experts' GROUP BY c.id, g.name ORDER BY c.id, min(g.idx);" | sed 's/^/moe kernels: /'
grep -i -E 'error|fail|throttl' "$OUT/steps.log" | cut -c1-200 | head -10
tar czf "$OUT/fifteen.tar.gz" -C "$OUT" --remove-files $(cd "$OUT" && ls *.db *.log 2>/dev/null)
echo "done $(date -u +%T), $(( $(date +%s) - t0 )) s"
