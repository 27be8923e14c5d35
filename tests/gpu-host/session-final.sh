#!/bin/bash
# session-final.sh - one lease for what this session built and could not run: the new sm_90a
# kernels (attention.flash@cuda.wgmma-ws, moe.*@cuda.wgmma) verified at odd sizes and timed
# beside @cuda.wgmma / cuDNN and cuBLAS, and compute-sanitizer on the varlen cases that failed in
# a warm case process. Every step is bounded; results print as they come.
cd "$(dirname "$0")/../.." || exit 1
. .gpudeps/env.sh
export PYTHONPATH=/tmp/site
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl >/dev/null 2>&1
bash tests/gpu-host/build.sh || exit 1
DB=$OUT/final.db
V="--db $DB --devices cuda:0 --max-time 0.02 --min-time 0.005 --timeout 10 --no-counters --no-metrics --quiet --no-show"
T() { sqlite3 -separator ' ' "$DB" "$1"; }
echo "=== flash wgmma-ws verify $(date -u +%T)"
timeout 70 ./kbench run $V --kernels 'attention.flash@cuda.wgmma-ws' --dtype f16,bf16 --batch 2 --heads 4 --kv-heads 1,4 \
    --seq 1,77,1000,4099 --head-dim 64,128 --causal 0,1 >/dev/null 2>&1; echo "exit $?"
T "SELECT status, head_dim, count(*), max(rel_l2_err), substr(min(error), 1, 120) FROM v_results WHERE impl = 'cuda.wgmma-ws' GROUP BY status, head_dim;"
echo "=== moe wgmma verify $(date -u +%T)"
W='moe.experts@cuda.wgmma,moe.layer@cuda.wgmma'
timeout 40 ./kbench run $V --kernels "$W" --dtype bf16 --tokens 1,77,1000 --hidden 100 --ffn 333 --experts 8,64 --top-k 1,2,8 --routing zipf >/dev/null 2>&1; echo "exit $?"
timeout 30 ./kbench run $V --kernels "$W" --dtype bf16 --tokens 1000 --hidden 4100 --ffn 520 --experts 8 --top-k 2 >/dev/null 2>&1; echo "exit $?"
T "SELECT kernel, status, count(*), max(rel_l2_err), substr(min(error), 1, 120) FROM v_results WHERE impl = 'cuda.wgmma' GROUP BY kernel, status;"
echo "=== varlen under compute-sanitizer $(date -u +%T)"
CS=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
for tool in memcheck initcheck; do
    timeout 45 "$CS" --tool $tool --print-limit 3 --target-processes all ./kbench run --db /tmp/cs-$tool.db --process warm \
        --devices cuda:0 --max-time 0.005 --min-time 0.001 --min-samples 1 --no-counters --no-metrics --quiet --no-show \
        --kernels attention.varlen@cuda.mma,attention.linear_varlen@cuda.mma --dtype f16 --batch 5 --heads 4 --kv-heads 1 \
        --seq 1,77 --head-dim 64 --causal 0,1 --lengths uniform,longtail,equal --chunk 64 2>&1 | grep -E '^=+ (Invalid|Uninit|ERROR|Address|at |by |  +in )|ERROR SUMMARY|Saved host' | head -14
    sqlite3 /tmp/cs-$tool.db "SELECT kernel, status, count(*) FROM cases GROUP BY kernel, status;"
done
echo "=== flash vs cuDNN, bf16, 16k tokens $(date -u +%T)"
for bn in 8:2048 2:8192 1:16384; do
    timeout 60 ./kbench run --db "$DB" --plugin torch_attention.py --devices cuda:0 --max-time 0.3 --no-show --no-metrics --quiet \
        --kernels 'attention.flash@cuda.wgmma,attention.flash@cuda.wgmma-ws,attention.sdpa@cuda.torch-cudnn' \
        --dtype bf16 --heads 16 --head-dim 128 --batch "${bn%%:*}" --seq "${bn##*:}" --causal 0,1 >/dev/null 2>&1
done
T "SELECT kernel || '@' || impl, 'b' || batch, 'n' || seq_len, 'causal' || causal, status, printf('%.1f us', median_us), printf('%.0f TF/s', gflops / 1000) FROM v_results WHERE heads = 16 AND family = 'attention' ORDER BY seq_len, causal, impl;"
echo "=== MoE Mixtral, 4096 tokens $(date -u +%T)"
timeout 100 ./kbench run --db "$DB" --devices cuda:0 --max-time 0.5 --no-show --no-metrics --quiet \
    --kernels 'moe.experts@cuda.mma,moe.experts@cuda.wgmma,gemm.dense@cuda.cublas' --dtype bf16 --preset mixtral-8x7b \
    --tokens 4096 --m 8192 --n 43008 --k 4096 >/dev/null 2>&1; echo "exit $?"
timeout 80 ./kbench run --db "$DB" --devices cuda:0 --max-time 0.5 --no-show --no-metrics --quiet \
    --kernels 'moe.layer@cuda.[!e]*' --dtype bf16 --preset mixtral-8x7b --tokens 4096 >/dev/null 2>&1; echo "exit $?"
T "SELECT kernel || '@' || impl, status, printf('%.1f us', median_us), printf('%.0f TF/s', gflops / 1000), substr(error, 1, 100) FROM v_results WHERE family IN ('moe', 'quant') OR kernel LIKE 'gemm%' ORDER BY case_id;"
echo "done $(date -u +%T)"
