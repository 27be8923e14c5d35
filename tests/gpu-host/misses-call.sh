#!/bin/bash
# misses-call.sh - issue 20's "for each target missed, the CUPTI metrics that show where the time
# goes, stored with the run", and issue 21's two near misses after this session's changes: every
# missed target timed beside its peer with the metrics pass on (the default list plus the
# Hopper wgmma pipe), into $OUT/misses.db, each step bounded by CALL_LIMIT (sweeps.sh's step).
#   flash wgmma-ws N = 2k, batch 8, against cuDNN;  INT8/FP8 attention at SageAttention2's shape;
#   DeepSeek-V3's experts (bf16, FP8) beside the dense GEMMs;  the delta rule at 16k (16-bit O);
#   flash-decoding at batch 1, 64k (combine launched with PDL) after `kbench calibrate`.
cd "$(dirname "$0")/../.." || exit 1
. tests/gpu-host/sweeps.sh
call_start build || exit 1
DB=$OUT/misses.db
P="--db $DB --devices cuda:0 --max-time 0.1 --quiet --no-show"
M="--metrics dram__bytes_read.sum,dram__bytes_write.sum,sm__throughput.avg.pct_of_peak_sustained_elapsed,gpu__compute_memory_throughput.avg.pct_of_peak_sustained_elapsed,sm__warps_active.avg.pct_of_peak_sustained_active,sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_active,lts__t_sector_hit_rate.pct"
timeout 40 ./kbench calibrate --db "$DB" --devices cuda:0 2>&1 | grep -iE 'copy|error' | head -2
D="--kernels attention.flash@cuda.decode --dtype bf16 --heads 16 --kv-heads 4 --head-dim 128 --decode 1 --batch 1 --seq 65536"
step decode 25 $M $D
KBENCH_DECODE_CTAS_PER_SM=4 step decode-sm4 20 $M $D
KBENCH_DECODE_CTAS_PER_SM=2 step decode-sm2 20 $M $D
step delta 60 $M --plugin fla_delta.py --dtype bf16 --batch 1 --heads 16 --head-dim 128 --chunk 64 --causal 1 \
    --kernels 'attention.delta@cuda.mma,attention.delta@cuda.fla-gated-chunk' --seq 16384 --decay 1
KBENCH_DELTA_STAGES=3 step delta-3stages 25 $M --dtype bf16 --batch 1 --heads 16 --head-dim 128 --chunk 64 \
    --causal 1 --kernels attention.delta@cuda.mma --seq 16384 --decay 1
step flash-2k 60 $M --plugin torch_attention.py --kernels 'attention.flash@cuda.wgmma-ws,attention.sdpa@cuda.torch-cudnn' \
    --dtype bf16 --heads 16 --head-dim 128 --batch 8 --seq 2048 --causal 0,1
step int8 80 $M --input outlier --dtype i8,bf16,e4m3 --batch 4 --heads 32 --head-dim 128 --seq 8192 --causal 0 \
    --kernels 'attention.int8@cuda.wgmma-fp8,attention.flash@cuda.wgmma-ws,attention.flash@cuda.wgmma-fp8'
step moe-deepseek 150 $M --max-time 0.3 \
    --kernels 'moe.experts@cuda.wgmma-fp8,moe.experts@cuda.wgmma,gemm.dense@cuda.cublas,gemm.dense@cuda.cublaslt' \
    --dtype e4m3,bf16 --preset deepseek-v3 --experts 16 --tokens 4096 --m 32768 --n 6144 --k 7168
echo "=== results $(date -u +%T)"
sqlite3 -separator ' ' "$DB" "SELECT r.case_id, r.kernel || '@' || r.impl, r.dtype, 'b' || coalesce(r.batch, '-'), 'n' || coalesce(r.seq_len, r.gemm_m, r.tokens), coalesce('c' || r.causal, ''), coalesce('decay' || r.decay, ''), r.status, printf('%.1fus', r.median_us), printf('%.0fTF', r.gflops / 1000), printf('%.0fGB/s', r.gbytes_per_s), printf('err%.2g', r.rel_l2_err), coalesce((SELECT group_concat(k.name || '=' || k.value, ' ') FROM counters k WHERE k.case_id = r.case_id AND k.name IN ('decode.splits', 'delta.state_stages', 'fp8.quantize_s', 'int8.quantize_s')), '') FROM v_results r ORDER BY r.case_id;" | sed 's/  */ /g'
sqlite3 -separator ' ' "$DB" "SELECT 'accuracy', a.case_id, c.kernel || '@' || c.impl, printf('rel_l2 %.3g cosine %.6f', a.rel_l2_err, a.cosine), a.passed FROM accuracy a JOIN cases c ON c.id = a.case_id WHERE c.kernel IN ('attention.int8', 'attention.flash') AND c.dtype IN ('i8', 'e4m3');"
echo "--- CUPTI metrics (case id, metric, value)"
sqlite3 -separator ' ' "$DB" "SELECT case_id, replace(replace(replace(name, '.avg.pct_of_peak_sustained_', '%'), 'sm__pipe_tensor_op_', 'tensor_'), '_cycles_active', ''), printf('%.4g', value) FROM counters WHERE backend = 'cupti' ORDER BY case_id, idx;"
sqlite3 -separator ' ' "$DB" "SELECT c.id, substr(g.name, 1, 44), printf('%.1fus', 1e6 * g.duration_s) FROM gpu_kernels g JOIN cases c ON c.id = g.case_id WHERE c.impl IN ('cuda.decode', 'cuda.mma') AND g.idx < 4 ORDER BY c.id, g.idx;" | sed 's/^/kernels: /'
sqlite3 -separator ' ' "$DB" "SELECT 'calibrated', device, name, printf('%.4g', value), unit FROM v_ceilings WHERE device LIKE 'cuda%';"
sqlite3 -separator ' ' "$DB" "SELECT 'metrics not measured:', id, substr(metrics_status, 1, 160) FROM cases WHERE metrics_status IS NOT NULL AND metrics_status != 'ok' LIMIT 6;"
sqlite3 "$DB" "SELECT kernel || '@' || impl || ': ' || substr(error, 1, 160) FROM cases WHERE status NOT IN ('ok') LIMIT 8;"
echo "done $(date -u +%T)"
