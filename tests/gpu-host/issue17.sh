#!/bin/bash
# issue17.sh - build on the GPU host with the host's Python, run tests/gpu.sh (its PyTorch path
# included), then kbench's cold-cache timing of the peers beside triton's do_bench of the same calls.
cd "$(dirname "$0")/../.." || exit 1
. .gpudeps/env.sh
export PYTHONPATH=/tmp/site
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl >/dev/null 2>&1
bash tests/gpu-host/build.sh || exit 1
[ "${SKIP_GPU_SH:-0}" = 1 ] || { make -j16 -s check TESTS= >/dev/null 2>&1; timeout 330 sh tests/gpu.sh > $OUT/gpu-sh.log 2>&1; echo "gpu.sh rc=$?"; grep -E '^not ok|^# |passed|failed' $OUT/gpu-sh.log | tail -25; }
echo "=== cold cache vs do_bench $(date -u +%T)"
P="--plugin torch_attention.py --plugin torch_gemm.py --devices cuda:0 --max-time 0.2 --no-show --no-metrics"
./kbench run --db $OUT/cold.db $P --cache cold,hot --kernels 'attention.sdpa@cuda.torch-flash,attention.sdpa@cuda.torch-cudnn' \
    --dtype bf16 --batch 1 --heads 16 --head-dim 128 --seq 4096,16384 --causal 0,1 >/tmp/cold.log 2>&1
./kbench run --db $OUT/cold.db $P --cache cold,hot --kernels 'gemm@cuda.torch-*' --dtype bf16,e4m3,i8 --m 8192 --n 8192 --k 8192 >>/tmp/cold.log 2>&1
grep -E 'error|fail' /tmp/cold.log | head
sqlite3 -separator ' ' $OUT/cold.db "SELECT c.kernel||'@'||c.impl, c.dtype, 'n='||coalesce(c.seq_len,c.gemm_m), 'causal='||coalesce(c.causal,'-'), CASE c.cold_cache WHEN 1 THEN 'cold' ELSE 'hot' END, printf('median %.1f us mean %.1f us', s.median_s*1e6, s.mean_s*1e6), 'graph='||coalesce((SELECT value FROM counters k WHERE k.case_id=c.id AND k.name='cuda_graph_replay'),'?'), c.calls_per_sample FROM cases c JOIN stats s ON s.case_id=c.id ORDER BY c.seq_no"
timeout 200 python3 tests/gpu-host/dobench.py 4096,16384 $OUT/dobench.json 2>&1 | grep -v Warning
echo "=== graph capture of the peers at a short shape $(date -u +%T)"
./kbench run --db $OUT/cold.db $P --plugin fla_attention.py --kernels 'attention.sdpa@cuda.*,attention.linear@cuda.fla-*,attention.gla@cuda.fla-chunk' \
    --dtype bf16 --batch 1 --heads 4 --head-dim 64 --seq 256 --causal 1 --decay 0,1 >/tmp/short.log 2>&1
sqlite3 -separator ' ' $OUT/cold.db "SELECT c.kernel||'@'||c.impl, c.status, printf('%.1f us', s.median_s*1e6), 'graph='||coalesce((SELECT value FROM counters k WHERE k.case_id=c.id AND k.name='cuda_graph_replay'),'?'), 'calls/sample='||c.calls_per_sample FROM cases c LEFT JOIN stats s ON s.case_id=c.id WHERE c.run_id=(SELECT max(id) FROM runs) ORDER BY c.seq_no"
echo "done $(date -u +%T)"
