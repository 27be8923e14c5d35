#!/bin/sh
# run.sh - builds and runs the host emulation of attention.delta's CUDA kernels (main.cpp,
# shim.h) against a built tree's libkbench.a. Usage, from the top of a built tree:
#     sh tests/delta_emu/run.sh
# Needs g++ with C++20 (<barrier>). delta_dev.cu is copied with its CUDA includes removed,
# `extern __shared__` turned into the emulated block's buffer, the recurrent kernel's
# `__shared__` arrays into statics (blocks run one after another), and the host launchers cut.
set -e
top=$(pwd)
out=${TMPDIR:-/tmp}/kbench-delta-emu.$$
mkdir -p "$out"
trap 'rm -rf "$out"' EXIT
{
    echo '#include "shim.h"'
    sed -e '/#include <cuda_bf16.h>/d' -e '/#include <cuda_fp16.h>/d' -e '/#include <cuda_runtime.h>/d' \
        -e '/^extern "C" {$/,/^}$/c\#include "kernels/attention/delta_cuda.h"' \
        -e 's/extern __shared__ float smem\[\];/float *smem = g_smem;/' -e 's/    __shared__ float sk/    static float sk/' \
        -e '/^\/\* The chunked kernels. dynamic shared memory allowances/,$d' \
        "$top/kernels/attention/delta_dev.cu"
    echo '} // namespace'
} > "$out/dev_emu.cpp"
cp "$top/tests/delta_emu/shim.h" "$out/"
g++ -std=c++20 -O2 -I"$top" -I"$out" -o "$out/emu" "$top/tests/delta_emu/main.cpp" "$top/libkbench.a" -fopenmp -lm \
    -L/usr/local/cuda/lib64 -lcudart -lsqlite3 -lpthread
"$out/emu"
