#!/bin/bash
# build baseline (51d75d2) and main, tests/gpu.sh on main, the same CUDA sweep with both, compare
cd "$(dirname "$0")/../.." || exit 1
. .gpudeps/env.sh
PYLIB=$(python3 -c 'import sysconfig;print(sysconfig.get_config_var("LIBDIR"))')
PYINC=$(python3 -c 'import sysconfig;print(sysconfig.get_paths()["include"])')
PYVER=$(python3 -c 'import sys;print("%d.%d"%sys.version_info[:2])')
{ python3 -c 'import sys,torch,triton;print(sys.version, torch.__version__, triton.__version__, torch.backends.cudnn.version())'; ls $PYLIB/libpython$PYVER* $PYINC/Python.h; nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm --format=csv; } > $OUT/probe.txt 2>&1
( rm -rf /tmp/base && mkdir -p /tmp/base && cd /tmp/base && tar xzf "$OLDPWD/.gpubuild/base.tar.gz" && autoreconf -fi >/dev/null 2>&1 && ./configure -q CUDA_ARCHS=90 >/dev/null 2>&1 && make -j8 -s >/dev/null 2>&1; echo "base build rc=$?" ) > $OUT/base_build.txt 2>&1 &
autoreconf -fi >/dev/null 2>&1
if [ -f "$PYINC/Python.h" ] && ls $PYLIB/libpython$PYVER*.so* >/dev/null 2>&1; then
  ./configure CUDA_ARCHS=90 PYTHON_CFLAGS="-I$PYINC" PYTHON_LIBS="-L$PYLIB -Wl,-rpath,$PYLIB -lpython$PYVER" > $OUT/configure.txt 2>&1 || { tail -30 config.log > $OUT/config.tail; exit 1; }
else
  echo "no embeddable Python here" >> $OUT/probe.txt
  ./configure CUDA_ARCHS=90 --without-python > $OUT/configure.txt 2>&1 || { tail -30 config.log > $OUT/config.tail; exit 1; }
fi
grep -E 'Python|CUDA|sm_90a|cuBLAS' $OUT/configure.txt
make -j12 -s > $OUT/make.txt 2>&1 || { tail -30 $OUT/make.txt; exit 1; }
make -j12 -s tests/test_registry >/dev/null 2>&1
echo "main built $(date +%T)"
timeout 280 make -s check TESTS=tests/gpu.sh > $OUT/gpucheck.txt 2>&1; echo "gpu.sh rc=$? $(date +%T)"
cp tests/gpu.log $OUT/ 2>/dev/null; grep -E '^# (PASS|FAIL|SKIP)' $OUT/gpucheck.txt; grep -E '^not ok|FAIL:' tests/gpu.log | head -30
wait; cat $OUT/base_build.txt
set -f
SW="--devices cuda:0 --kernels *@cuda* --dtype f16,bf16,i8,e4m3 --seq 256,1000 --heads 4 --head-dim 64,128 --m 256,1000 --n 256 --k 256 --tokens 200 --hidden 128 --ffn 200 --experts 8 --top-k 2 --max-time 0.03 --quiet --no-show --no-metrics"
[ -x /tmp/base/kbench ] && timeout 100 /tmp/base/kbench run --db $OUT/ab.db --tag before $SW > $OUT/before.txt 2>&1; tail -2 $OUT/before.txt
timeout 100 ./kbench run --db $OUT/ab.db --tag after $SW > $OUT/after.txt 2>&1; tail -2 $OUT/after.txt
./kbench compare tag:before tag:after --db $OUT/ab.db --allow-inconclusive > $OUT/compare.txt 2>&1; grep -i -E 'new|missing|summary|cases' $OUT/compare.txt | tail -8
echo "done $(date +%T)"
