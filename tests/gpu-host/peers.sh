#!/bin/bash
cd "$(dirname "$0")/../.." || exit 1
. .gpudeps/env.sh
export PYTHONPATH=/tmp/site
ls /tmp/site >/dev/null 2>&1 || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl >/dev/null 2>&1
make -j16 -s kbench >/dev/null 2>&1 || echo BUILD FAILED
set -f
S() { grep -E '^\[' | sed -e 's/ (ETA.*//' -e 's/ cuda:0 / /' -e 's/ t=1:/:/' | cut -c1-150; }
P="--plugin torch_attention.py --plugin fla_attention.py --plugin torch_gemm.py --devices cuda:0 --max-time 0.1 --no-show --no-metrics --no-counters"
timeout 100 ./kbench run --db /tmp/p.db $P --kernels attention.flash@cuda.mma,attention.flash@cuda.wgmma,attention.sdpa@cuda.torch-flash,attention.sdpa@cuda.torch-cudnn --dtype bf16 --heads 16 --head-dim 128 --seq 1024,16384 --causal 0,1 2>&1 | S
timeout 60 ./kbench run --db /tmp/p.db $P --kernels 'quant.gemm_int8@cuda.wgmma,quant.gemm_fp8@cuda.wgmma,gemm.dense@cuda.cublaslt,gemm@cuda.torch-int-mm,gemm@cuda.torch-scaled-mm' --dtype i8,e4m3 --m 8192 --n 8192 --k 8192 2>&1 | S
timeout 90 ./kbench run --db /tmp/p.db $P --kernels 'attention.linear@cuda.mma,attention.linear@cuda.fla-*,attention.gla@cuda.mma,attention.gla@cuda.fla-chunk' --dtype bf16 --heads 16 --head-dim 128 --seq 16384 --causal 1 --decay 0,1 --chunk 64 2>&1 | S
