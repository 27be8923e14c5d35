#!/bin/sh
# gpu.sh - the CUDA path on a real GPU: every CUDA kernel verified on random inputs at odd sizes,
# CUPTI's kernel durations against the event timings, NVML energy, CUDA-graph replay of short
# kernels, cold-L2 sampling, and GPU faults contained (an illegal address and a never-ending
# kernel each become their case's status; the GPU stays usable and the sweep goes on).
# Skips, saying why, where there is no CUDA device.
. "${top_srcdir:-.}/tests/lib.sh"
need_sqlite3
"$KBENCH" devices >"$TMP/devices" 2>&1
if ! grep -q '^cuda:0' "$TMP/devices"; then
    echo "1..0 # SKIP no CUDA device: $(sed -n 's/^cuda *//p' "$TMP/devices" | head -1)"
    exit 0
fi
expect_text "$TMP/devices" "SMs" "devices: the GPU's multiprocessors are listed"
expect_text "$TMP/devices" "L2" "devices: its L2 size is listed"
expect_text "$TMP/devices" "driver" "devices: its driver is listed"

DB="$TMP/gpu.db"
expect_exit 1 "a sweep of GPU faults finishes (exit 1: cases failed)" "$KBENCH" run --db "$DB" --devices cuda:0 \
    --kernels 'selftest.cuda_fault,selftest.cuda_hang' --seq 1,2 --timeout 5 --quiet --no-show
expect_eq "$(q "SELECT count(*) FROM cases WHERE kernel = 'selftest.cuda_fault' AND status = 'setup_failed' AND error LIKE '%illegal%';")" "2" "illegal address recorded with the CUDA error, twice (the GPU recovered in between)"
expect_eq "$(q "SELECT count(*) FROM cases WHERE kernel = 'selftest.cuda_hang' AND status = 'timeout';")" "2" "never-ending GPU kernel killed at its time limit, twice"
expect_eq "$(q 'SELECT status FROM runs;')" "complete" "run complete"
expect_exit 0 "a CPU case after the GPU faults runs clean" "$KBENCH" run --db "$DB" --kernels attention.flash@cpu --seq 64 --head-dim 8 --max-time 0.02 --quiet --no-show
expect_eq "$(q "SELECT count(*) FROM cases WHERE kernel = 'attention.flash' AND impl = 'cpu' AND status = 'ok';")" "1" "and is stored ok"

# Every CUDA kernel on random inputs at odd sizes: ragged tiles, one row, GQA, batch > 1.
DB="$TMP/verify.db"
"$KBENCH" run --db "$DB" --devices cuda:0 --kernels 'attention.*@cuda*' --dtype f16,bf16 --batch 2 --heads 4 \
    --kv-heads 1,4 --seq 1,77,1000 --head-dim 64,128 --causal 0,1 --max-time 0.02 --min-time 0.005 \
    --no-counters --quiet --no-show >"$TMP/out" 2>&1
expect_eq "$?" "0" "every CUDA attention kernel passes at odd sizes (f16, bf16; d 64, 128; causal; GQA)"
expect_eq "$(q "SELECT count(*) FROM cases WHERE status <> 'ok';")" "0" "no case failed"
n_kernels=$(q "SELECT count(DISTINCT kernel || impl) FROM cases;")
expect_eq "$(q "SELECT count(*) >= 48 * $n_kernels FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE a.passed = 1;")" "1" "48 verified cases per kernel"
q "SELECT kernel, impl, dtype, seq_len, head_dim, causal, kv_heads, status, error FROM v_results WHERE status <> 'ok';" | head -5 | sed 's/^/# /'
q "SELECT impl, dtype, max(rel_l2_err), min(cosine) FROM v_results GROUP BY impl, dtype;" | sed 's/^/# worst error: /'

DB="$TMP/gemm.db"
"$KBENCH" run --db "$DB" --devices cuda:0 --kernels 'gemm.*@cuda*' --dtype f32,f16,bf16 --m 1,333 --n 7,513 \
    --k 129,777 --input normal,outlier --max-time 0.02 --min-time 0.005 --no-counters --quiet --no-show >"$TMP/out" 2>&1
expect_eq "$?" "0" "every CUDA GEMM passes at odd sizes (f32, f16, bf16; normal and outlier inputs)"
expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1;")" "48" "48 verified GEMM cases"
q "SELECT impl, dtype, max(rel_l2_err) FROM v_results GROUP BY impl, dtype;" | sed 's/^/# worst error: /'

# Quantized GEMMs (INT8 with dyadic requant, FP8 e4m3) and their cuBLASLt baselines at odd sizes:
# K not a multiple of the 64-byte tile (nor of 16), one row, N odd; normal and outlier inputs.
DB="$TMP/qgemm.db"
"$KBENCH" run --db "$DB" --devices cuda:0 --kernels 'quant.gemm_int8@cuda*,quant.gemm_fp8@cuda*,gemm.dense@cuda.cublaslt' \
    --dtype i8,e4m3 --m 1,333 --n 7,513 --k 129,777 --input normal,outlier --max-time 0.02 --min-time 0.005 \
    --no-counters --quiet --no-show >"$TMP/out" 2>&1
rc=$?
fp8=$(q "SELECT count(*) FROM cases WHERE kernel = 'quant.gemm_fp8' AND status = 'ok';")
want=$(( fp8 > 0 ? 64 : 32 )) # e4m3 needs compute capability 8.9+: unsupported (skipped) below that
expect_eq "$rc" "0" "quantized GEMMs and cuBLASLt pass at odd sizes (i8, e4m3; normal and outlier)"
expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1;")" "$want" "$want verified quantized GEMM cases"
expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.kernel = 'quant.gemm_int8' AND a.exact_checked > 0 AND a.exact_mismatches = 0;")" "16" "quant.gemm_int8@cuda.mma is bit-exact against the scalar emulation in all 16 cases"
q "SELECT kernel, impl, dtype, gemm_m, gemm_n, gemm_k, input_dist, status, error FROM v_results WHERE status <> 'ok';" | head -5 | sed 's/^/# /'
q "SELECT kernel, impl, dtype, max(rel_l2_err) FROM v_results GROUP BY kernel, impl, dtype;" | sed 's/^/# worst error: /'

# A case that launches several kernels shows each of them.
DB="$TMP/multi.db"
expect_exit 0 "the unfused cuBLAS attention on the GPU" "$KBENCH" run --db "$DB" --devices cuda:0 \
    --kernels attention.softmax@cuda.cublas --dtype f16 --heads 8 --seq 1024 --head-dim 64 --max-time 0.2 --quiet --no-show
expect_eq "$(q "SELECT count(*) >= 3 FROM gpu_kernels;")" "1" "its GEMMs and its softmax are each recorded ($(q "SELECT count(*) FROM gpu_kernels;") launches)"
expect_eq "$(q "SELECT count(*) FROM gpu_kernels WHERE name LIKE '%softmax_rows%';")" "1" "the softmax kernel is one of them"

# Timing: events, CUPTI and NVML on one long-enough case; graph replay on a tiny one.
DB="$TMP/timing.db"
expect_exit 0 "a timed flash case on the GPU" "$KBENCH" run --db "$DB" --devices cuda:0 --kernels attention.flash@cuda.mma \
    --dtype bf16 --heads 16 --seq 4096 --head-dim 128 --max-time 0.5 --quiet --no-show
echo "# CUPTI kernel time / events of the same traced calls = $(q "SELECT (SELECT sum(duration_s) FROM gpu_kernels) / value FROM counters WHERE name = 'traced_call_event_s';"), / the sampled median = $(q "SELECT (SELECT sum(duration_s) FROM gpu_kernels) / median_s FROM stats;")"
# Events bracket the launch too: on an idle host they agree with CUPTI within ~2%; on a loaded
# one (make -j16 check) a late launch opens a gap only the events see. So CUPTI may fall short of
# the events by up to 10%, and must never exceed them by more than clock granularity.
expect_eq "$(q "SELECT (SELECT sum(duration_s) FROM gpu_kernels) / value BETWEEN 0.90 AND 1.01 FROM counters WHERE name = 'traced_call_event_s';")" "1" "CUPTI's kernel durations agree with CUDA events on the same calls (0.90..1.01)"
expect_eq "$(q "SELECT abs((SELECT sum(duration_s) FROM gpu_kernels) / median_s - 1) < 0.10 FROM stats;")" "1" "and with the sampled event median within 10% (clocks drift between passes)"
expect_eq "$(q "SELECT count(*) FROM gpu_kernels WHERE name LIKE '%flash_fwd%' AND registers > 0 AND grid_x > 0 AND block_x = 128;")" "1" "the kernel's name, grid, block and registers are stored"
expect_eq "$(q "SELECT cupti_status FROM cases;")" "ok" "CUPTI status ok"
expect_eq "$(q "SELECT nvml_status FROM cases;")" "ok" "NVML status ok"
power=$(q "SELECT value FROM counters WHERE backend = 'nvml' AND name = 'mean_power';")
echo "# NVML mean power $power W, energy per call $(q "SELECT value FROM counters WHERE name = 'energy_per_call';") J"
expect_eq "$(q "SELECT value > 30 AND value < 1500 FROM counters WHERE backend = 'nvml' AND name = 'mean_power';")" "1" "NVML mean power is plausible (30..1500 W)"
expect_eq "$(q "SELECT e.value > 0 AND abs(e.value / (p.value * s.median_s) - 1) < 0.5 FROM counters e, counters p, stats s WHERE e.name = 'energy_per_call' AND p.name = 'mean_power' AND s.case_id = e.case_id;")" "1" "energy per call is positive and about mean power x time per call"
echo "# CUPTI metrics: $(q "SELECT metrics_status FROM cases;") | $(q "SELECT group_concat(name || '=' || round(value, 3), ' ') FROM counters WHERE backend = 'cupti';")"
expect_eq "$(q "SELECT metrics_status LIKE 'ok%' FROM cases;")" "1" "the range profiler collected the default metrics"
expect_eq "$(q "SELECT k.value >= 0.5 * 3 * c.batch * c.heads * c.seq_len * c.head_dim * 2 AND k.value < 20 * c.bytes FROM counters k JOIN cases c ON c.id = k.case_id WHERE k.name = 'dram__bytes_read.sum';")" "1" "DRAM bytes read cover the inputs once (and not wildly more)"
expect_eq "$(q "SELECT value > 0 AND value <= 100 FROM counters WHERE name = 'sm__throughput.avg.pct_of_peak_sustained_elapsed';")" "1" "SM throughput is a percentage"
"$KBENCH" show --db "$DB" >"$TMP/show" 2>&1
expect_text "$TMP/show" "flash_fwd" "kbench show lists the GPU kernels of the case"
expect_text "$TMP/show" "energy_per_call" "kbench show lists the NVML figures"

expect_exit 2 "an unknown --metrics name is refused before anything runs" "$KBENCH" run --db "$DB" --devices cuda:0 \
    --kernels attention.flash@cuda.mma --dtype bf16 --seq 256 --metrics dram__bytes_raed.sum --quiet --no-show
expect_text "$TMP/err" "dram__bytes_raed.sum" "the error names the unknown metric"
expect_text "$TMP/err" "dram__bytes_read" "and suggests the near match"
expect_exit 0 "--metrics with one named metric" "$KBENCH" run --db "$DB" --devices cuda:0 --kernels attention.flash@cuda.mma \
    --dtype bf16 --heads 4 --seq 512 --head-dim 64 --metrics lts__t_sector_hit_rate.pct --max-time 0.1 --quiet --no-show
expect_eq "$(q "SELECT count(*) FROM counters k JOIN cases c ON c.id = k.case_id WHERE c.seq_len = 512 AND k.backend = 'cupti';")" "1" "exactly that metric is stored"

expect_exit 0 "a tiny flash case (a few microseconds)" "$KBENCH" run --db "$DB" --devices cuda:0 --kernels attention.flash@cuda.mma \
    --dtype f16 --heads 1 --seq 64 --head-dim 64 --max-time 0.2 --quiet --no-show
expect_eq "$(q "SELECT k.value = 1 AND c.calls_per_sample > 1 FROM cases c JOIN counters k ON k.case_id = c.id WHERE c.seq_len = 64 AND k.name = 'cuda_graph_replay';")" "1" "short kernels are replayed from a CUDA graph, many calls a sample"
expect_exit 0 "a cold-L2 GPU case" "$KBENCH" run --db "$DB" --devices cuda:0 --kernels attention.flash@cuda.mma \
    --dtype bf16 --heads 16 --seq 1024 --head-dim 128 --cache both --max-time 0.3 --quiet --no-show
expect_eq "$(q "SELECT calls_per_sample FROM cases WHERE seq_len = 1024 AND cold_cache = 1;")" "1" "cold samples are one call each (flushed between)"
echo "# hot vs cold median (us): $(q "SELECT group_concat(cold_cache || ':' || round(median_us, 2), ' ') FROM v_results WHERE seq_len = 1024;")"
# Ceilings: copy bandwidth and cuBLAS GEMM rates, stored with the machine and shown by devices.
DB="$TMP/calibrate.db"
expect_exit 0 "calibrate the GPU" "$KBENCH" calibrate --devices cuda:0 --seconds 0.1 --db "$DB"
expect_eq "$(q "SELECT value BETWEEN 1e11 AND 1e14 FROM v_ceilings WHERE device = 'cuda:0' AND name = 'copy_bw';")" "1" "copy bandwidth stored, 0.1-100 TB/s"
expect_eq "$(q "SELECT value > 1e12 FROM v_ceilings WHERE device = 'cuda:0' AND name = 'flops_bf16';")" "1" "bf16 GEMM rate stored, over 1 TFLOP/s"
expect_eq "$(q "SELECT (SELECT value FROM v_ceilings WHERE name = 'flops_bf16') > (SELECT value FROM v_ceilings WHERE name = 'flops_f32');")" "1" "tensor cores beat plain f32"
finish
