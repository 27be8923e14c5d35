#!/bin/bash
# twelfth-call.sh - the eleventh call cut to what a short lease holds (the session's device time
# went on refused starts): one binary (this tree's .gpubuild/cuobj.tar.gz), and in order of what
# matters most, each step's rows printed as it ends:
#   att-new     FP8 flash and INT8 (FP8 P·V row sums from the tensor cores) beside bf16 flash at
#               SageAttention2's shape (batch 4, 32 heads, d 128, N 8k, outlier inputs)
#   lightning   attention.lightning@cuda.mma whole-state, 2 and 4 value slices (KBENCH_LIGHTNING_VSPLIT
#               of d621d8e, removed after this call: both slower, see docs/performance.md)
#               and fla's chunk_simple_gla at 4k and 16k (fla's step ran out of its 40 s there)
#   moe-new     the FP8 MoE's 128 x 256 tile (KBENCH_MOE_FP8_TILE=256) beside cuBLASLt e4m3 on
#               DeepSeek-V3's shape
# Each timed case is verified at its own shape first. Output: $OUT/twelve.db and steps.log.
cd "$(dirname "$0")/../.." || exit 1
. tests/gpu-host/sweeps.sh
call_start build || exit 1
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,temperature.gpu --format=csv,noheader
timing_db twelve
rows() {
    sqlite3 -separator ' ' "$DB" "SELECT r.case_id, r.kernel || '@' || r.impl, r.dtype, 'n' || coalesce(r.seq_len, r.gemm_m, r.tokens), r.status, printf('%.1fus', r.median_us), printf('%.0fTF', r.gflops / 1000), printf('err%.3g', r.rel_l2_err), coalesce((SELECT printf('cos %.6f', a.cosine) FROM accuracy a WHERE a.case_id = r.case_id), ''), coalesce((SELECT group_concat(k.name || '=' || k.value, ' ') FROM counters k WHERE k.case_id = r.case_id AND (k.name LIKE 'moe_fp8.tile%' OR k.name LIKE 'lightning.%')), '') FROM v_results r WHERE r.case_id > ${shown:-0} ORDER BY r.case_id;" 2>/dev/null | sed 's/  */ /g'
    shown=$(sqlite3 "$DB" "SELECT coalesce(max(id), 0) FROM cases;" 2>/dev/null || echo "${shown:-0}")
}
step att-new 60 --input outlier --batch 4 --heads 32 --head-dim 128 --seq 8192 --causal 0 --dtype bf16,e4m3,i8 \
    --kernels attention.flash@cuda.wgmma-ws,attention.flash@cuda.wgmma-fp8,attention.int8@cuda.wgmma-fp8
rows
L="--dtype bf16 --batch 1 --heads 16 --head-dim 128 --chunk 64 --seq 4096,16384 --kernels attention.lightning@cuda.mma"
step lightning 40 --plugin fla_attention.py $L,attention.lightning@cuda.fla-simple-gla
KBENCH_LIGHTNING_VSPLIT=2 step lightning-vs2 15 $L
KBENCH_LIGHTNING_VSPLIT=4 step lightning-vs4 15 $L
rows
sqlite3 -separator ' ' "$DB" "SELECT c.id, 'n' || c.seq_len, substr(g.name, 1, 40), printf('%.1fus', 1e6 * avg(g.duration_s)) FROM gpu_kernels g JOIN cases c ON c.id = g.case_id WHERE c.kernel = 'attention.lightning' AND c.impl = 'cuda.mma' GROUP BY c.id, g.name ORDER BY c.id, min(g.idx);" | sed 's/^/lightning kernels: /'
KBENCH_MOE_FP8_TILE=256 step moe-new 80 --kernels moe.experts@cuda.wgmma-fp8,gemm.dense@cuda.cublaslt --dtype e4m3 \
    --preset deepseek-v3 --experts 16 --tokens 4096 --m 32768 --n 6144 --k 7168
rows
sqlite3 "$DB" "SELECT kernel || '@' || impl || ': ' || substr(error, 1, 160) FROM cases WHERE status NOT IN ('ok') LIMIT 6;"
cp /tmp/conf.log /tmp/build.log "$OUT/" 2>/dev/null
echo "done $(date -u +%T)"
