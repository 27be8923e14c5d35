#!/bin/bash
# issue17-rest.sh - the rows of issue 17's table the h100 suite did not reach in one 10-minute
# call: softmax at 16k/32k, linear and GLA 4k..256k against fla, the 8192^3 GEMMs, INT8 attention.
cd "$(dirname "$0")/../.." || exit 1
bash tests/gpu-host/build.sh || exit 1
. .gpudeps/env.sh
export PYTHONPATH=/tmp/site
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl >/dev/null 2>&1
D=$OUT/rest.db
P="--db $D --plugin torch_attention.py --plugin fla_attention.py --plugin torch_gemm.py --devices cuda:0 --max-time ${MAXT:-0.1} --no-show --no-metrics --heads 16 --head-dim 128 --dtype bf16"
r() { echo "== $1 $(date -u +%T)"; shift; timeout 150 ./kbench run $P "$@" >>/tmp/rest.log 2>&1; echo "rc=$?"; }
echo "== graph capture of the peers at a short shape $(date -u +%T)"
./kbench run --db $OUT/short.db --plugin torch_attention.py --plugin torch_gemm.py --devices cuda:0 --max-time 0.05 --no-show --no-metrics \
    --kernels 'attention.sdpa@cuda.*,attention.flash@cuda.mma' --dtype bf16 --heads 4 --head-dim 64 --seq 256 --causal 1 >/tmp/short.log 2>&1
./kbench run --db $OUT/short.db --plugin torch_gemm.py --devices cuda:0 --max-time 0.05 --no-show --no-metrics \
    --kernels 'gemm@cuda.torch-*,gemm.dense@cuda.cublaslt' --dtype bf16,e4m3,i8 --m 256 --n 256 --k 256 >>/tmp/short.log 2>&1
sqlite3 -separator ' ' $OUT/short.db "SELECT c.kernel||'@'||c.impl, c.dtype, c.status, printf('%.1f us', s.median_s*1e6), 'graph='||coalesce((SELECT value FROM counters k WHERE k.case_id=c.id AND k.name='cuda_graph_replay'),'?'), 'calls/sample='||c.calls_per_sample, substr(coalesce(c.error,''),1,90) FROM cases c LEFT JOIN stats s ON s.case_id=c.id ORDER BY c.id"
r softmax --kernels 'attention.flash@cuda.*,attention.sdpa@cuda.torch-flash,attention.sdpa@cuda.torch-cudnn' --seq 16384,32768 --causal 0,1
r linear-decay --kernels 'attention.linear@cuda.mma,attention.linear@cuda.fla-simple-gla' --seq 4096:262144:x2 --causal 1 --decay 1 --chunk 64
r linear-plain --kernels 'attention.linear@cuda.mma,attention.linear@cuda.fla-chunk' --seq 4096:262144:x2 --causal 1 --decay 0 --chunk 64
r gla --kernels 'attention.gla@cuda.mma,attention.gla@cuda.fla-chunk' --seq 4096:262144:x2 --chunk 64
r gemm --kernels 'quant.gemm_int8@cuda.*,quant.gemm_fp8@cuda.*,gemm.dense@cuda.cublaslt,gemm.dense@cuda.cublas,gemm@cuda.torch-*' --dtype i8,e4m3,bf16 --m 8192 --n 8192 --k 8192
r int8 --kernels 'attention.int8@cuda.*,attention.flash@cuda.wgmma' --dtype i8,bf16 --input outlier --seq 4096,16384
grep -E 'not ok|error|wrong|cannot' /tmp/rest.log | cut -c1-200 | sort | uniq | head -20
python3 tests/gpu-host/ratios.py $D
