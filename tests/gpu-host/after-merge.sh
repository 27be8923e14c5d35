#!/bin/bash
# after every merge: build; the CUDA plugin example, test_operations and gpu_counters.sh on the GPU;
# the peers beside kbench's kernels (issue 17's table); do_bench of the same SDPA calls
cd "$(dirname "$0")/../.." || exit 1
T0=$(date +%s); el() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
. .gpudeps/env.sh
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl > $OUT/pip.txt 2>&1 &
PYLIB=$(python3 -c 'import sysconfig;print(sysconfig.get_config_var("LIBDIR"))')
PYINC=$(python3 -c 'import sysconfig;print(sysconfig.get_paths()["include"])')
PYVER=$(python3 -c 'import sys;print("%d.%d"%sys.version_info[:2])')
if true; then
autoreconf -fi >/dev/null 2>&1
./configure -q CUDA_ARCHS=90 PYTHON_CFLAGS="-I$PYINC" PYTHON_LIBS="-L$PYLIB -Wl,-rpath,$PYLIB -lpython$PYVER" > $OUT/configure.txt 2>&1 || exit 1
make -j16 -s > $OUT/make.txt 2>&1 || { tail -20 $OUT/make.txt; exit 1; }
fi
make -j16 -s tests/test_operations >/dev/null 2>&1
el built
# the CUDA example plugin, built with nvcc against the in-tree public header, beside attention.flash
nvcc -O2 -std=c++17 -I include -shared -Xcompiler -fPIC -o /tmp/libcudaex.so examples/cuda-attention/attention_naive.cu > $OUT/cudaex_build.txt 2>&1
./kbench list --plugin /tmp/libcudaex.so 2>&1 | grep -i plugin | head -3 > $OUT/cudaex_list.txt
EX=attention.naive@cuda.plugin
timeout 60 ./kbench run --db $OUT/ex.db --plugin /tmp/libcudaex.so --devices cuda:0 --kernels "$EX,attention.flash@cuda.mma" --dtype f16 --seq 67,256 --heads 4 --kv-heads 2 --head-dim 64 --causal 0,1 --max-time 0.05 --no-show > $OUT/cudaex_run.txt 2>&1; el "cuda example rc=$?"; tail -6 $OUT/cudaex_run.txt
timeout 120 tests/test_operations > $OUT/test_operations.txt 2>&1; el "test_operations rc=$?"; grep -E '^(not ok|ok|# (PASS|FAIL))' $OUT/test_operations.txt | grep -v '^ok' | head; tail -3 $OUT/test_operations.txt
timeout 90 make -s check TESTS='tests/gpu_counters.sh' > $OUT/gpu_counters.txt 2>&1; el "gpu_counters rc=$?"; cp tests/gpu_counters.log $OUT/ 2>/dev/null; grep -E 'not ok|^# (PASS|FAIL|SKIP)' $OUT/gpu_counters.txt tests/gpu_counters.log | head
wait; export PYTHONPATH=/tmp/site
P="--plugin torch_attention.py --plugin fla_attention.py --plugin torch_gemm.py --devices cuda:0 --max-time 0.15 --no-show --no-metrics"
set -f
timeout 170 ./kbench run --db $OUT/peers.db --tag peers $P --kernels attention.flash@cuda.mma,attention.flash@cuda.wgmma,attention.sdpa@cuda.torch-flash,attention.sdpa@cuda.torch-cudnn --dtype bf16 --heads 16 --head-dim 128 --seq 1024,4096,16384 --batch 1 --causal 0,1 > $OUT/peers_attn.txt 2>&1; el "attn rc=$?"
timeout 120 ./kbench run --db $OUT/peers.db --tag peers $P --kernels 'attention.linear@cuda.mma,attention.linear@cuda.fla-*,attention.gla@cuda.mma,attention.gla@cuda.fla-chunk' --dtype bf16 --heads 16 --head-dim 128 --seq 4096,16384,65536 --causal 1 --decay 0,1 --chunk 64 > $OUT/peers_lin.txt 2>&1; el "linear rc=$?"
timeout 100 ./kbench run --db $OUT/peers.db --tag peers $P --kernels 'quant.gemm_int8@cuda.*,quant.gemm_fp8@cuda.*,gemm.dense@cuda.cublaslt,gemm@cuda.torch-int-mm,gemm@cuda.torch-scaled-mm' --dtype i8,e4m3 --m 8192 --n 8192 --k 8192 > $OUT/peers_gemm.txt 2>&1; el "gemm rc=$?"
timeout 60 ./kbench run --db $OUT/peers.db --tag cold $P --kernels attention.sdpa@cuda.torch-flash,attention.sdpa@cuda.torch-cudnn --dtype bf16 --heads 16 --head-dim 128 --seq 4096,16384 --causal 0,1 --cache cold > $OUT/peers_cold.txt 2>&1; el "cold rc=$?"
timeout 60 python3 tests/gpu-host/dobench.py 4096,16384 $OUT/dobench.json > $OUT/dobench.txt 2>&1; el "dobench rc=$?"
grep -E 'ok|skipped|fail' $OUT/peers_*.txt | grep -E '^\S+:\[' | cut -c1-170 | head -60
