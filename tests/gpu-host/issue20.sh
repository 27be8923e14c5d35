#!/bin/bash
# issue20.sh - attention.flash@cuda.wgmma-ws (FlashAttention-3 scheduling) on the H100: verified
# at odd sizes first (the same sweep as tests/gpu.sh's flashws job), then timed beside
# @cuda.wgmma and PyTorch's cuDNN attention at a constant 16k tokens (batch x N), 16 heads,
# d = 128, causal and not, bf16 and f16. Run from the repository root on the GPU host.
cd "$(dirname "$0")/../.." || exit 1
. .gpudeps/env.sh
export PYTHONPATH=/tmp/site
ls /tmp/site >/dev/null 2>&1 || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl >/dev/null 2>&1
make -j16 -s kbench >/dev/null 2>&1 || echo BUILD FAILED
DB=${OUT:-/tmp}/issue20.db
S() { grep -E '^\[' | sed -e 's/ (ETA.*//' -e 's/ cuda:0 / /' -e 's/ t=1:/:/' | cut -c1-150; }
timeout 200 ./kbench run --db "$DB" --devices cuda:0 --max-time 0.02 --min-time 0.005 --timeout 20 --no-counters --no-metrics \
    --no-show --kernels 'attention.flash@cuda.wgmma-ws' --dtype f16,bf16 --batch 2 --heads 4 --kv-heads 1,2,4 \
    --seq 1,77,1000,4099 --head-dim 64,128 --causal 0,1 2>&1 | S
echo "verify exit ${PIPESTATUS[0]}"
# one database per dtype: ratios.py compares each kernel with cuDNN over the same problem, dtype aside
for dt in bf16 f16; do
    for bn in 8:2048 4:4096 2:8192 1:16384; do
        timeout 120 ./kbench run --db "${DB%.db}-$dt.db" --plugin torch_attention.py --devices cuda:0 --max-time 0.3 \
            --no-show --no-metrics --kernels 'attention.flash@cuda.wgmma,attention.flash@cuda.wgmma-ws,attention.sdpa@cuda.torch-cudnn' \
            --dtype "$dt" --heads 16 --head-dim 128 --batch "${bn%%:*}" --seq "${bn##*:}" --causal 0,1 2>&1 | S
    done
    python3 tests/gpu-host/ratios.py "${DB%.db}-$dt.db" 2>&1 | tail -30
done
