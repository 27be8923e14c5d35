#!/bin/sh
# run.sh - builds and runs the host emulation of kbench's CUDA kernels (plain, mma.sync, Hopper's
# wgmma/TMA; README.md) against a built tree's libkbench.a. Usage, from the top of a built tree:
#     sh tests/cuda_emu/run.sh [driver ...]      (default: every driver below)
# Needs g++ with C++20 (<barrier>, _Float16) and libcudart to link libkbench.a. Built with
# -fno-strict-aliasing: device code reads uint4 loads as __half2 pairs, as nvcc allows. Each device
# file is turned into C++ (emu_source): its CUDA includes removed, `extern __shared__` made the
# emulated block's buffer, and every top-level item that launches or names the runtime
# (<<<, cudaError_t, cudaStream_t, cudaFunc*, extern "C" functions: the host side) cut; the
# driver then runs the kernels in their launchers' sequence and judges the result by the
# operation's float64 reference.
# EMU_ARGS is passed to each driver (one case, where a driver takes one: see its main).
# EMU_CXXFLAGS adds compiler flags, e.g. EMU_CXXFLAGS="-fsanitize=address,undefined" to catch
# a read or write outside a buffer (the drivers size every buffer exactly).
set -e
top=$(pwd)
here=$top/tests/cuda_emu
out=${TMPDIR:-/tmp}/kbench-cuda-emu.$$
mkdir -p "$out"
trap 'rm -rf "$out"' EXIT

# emu_source SRC.cu > OUT.cpp
emu_source() {
    echo '#include "shim.h"'
    sed -e '/#include <cuda_bf16.h>/d' -e '/#include <cuda_fp16.h>/d' -e '/#include <cuda_runtime.h>/d' \
        -e 's/extern __shared__ float smem\[\];/float *smem = g_smem;/' \
        -e 's/extern __shared__ __align__([0-9]*) unsigned char smem\[\];/unsigned char *smem = (unsigned char *)g_smem;/' \
        -e 's/extern __shared__ unsigned char smem_raw\[\];/unsigned char *smem_raw = (unsigned char *)g_smem;/' "$1" |
        awk '{ buf = buf $0 "\n" }
             /^}/ { if (buf !~ /<<<|cudaError_t|cudaStream_t|cudaFunc|extern "C" [a-z]/) printf "%s", buf; buf = "" }
             END { printf "%s", buf }'
}

# driver name and the device files it emulates (several: one C++ file, in that order)
drivers=${*:-"delta delta_mma ssd ssd_mma gla_mma lightning decode_split vit_gemm flash_wgmma flash_wgmma_ws int8_wgmma int8_wgmma_ws int8_fp8_ws flash_fp8_ws block_sparse_ws moe_fp8 moe_gemm moe_gemm_mma qgemm_wgmma cluster"}
cp "$here/shim.h" "$out/"
# the tensor-core kernels: ptx.cuh's instructions emulated (ptx_emu.h), chunk_tiles.cuh made C++,
# and the runtime calls their hosts make (cuda_runtime_emu.h); -I"$out" comes first so these
# shadow the real ones
mkdir -p "$out/kernels/gpu" "$out/kernels/attention"
cp "$here/ptx_emu.h" "$out/kernels/gpu/ptx.cuh"
emu_source "$top/kernels/attention/chunk_tiles.cuh" > "$out/kernels/attention/chunk_tiles.cuh"
# the FP8 P·V kernels' shared kernel template, its host launcher cut as a .cu file's is
emu_source "$top/kernels/attention/fp8_pv_ws.cuh" > "$out/kernels/attention/fp8_pv_ws.cuh"
cp "$here/cuda_runtime_emu.h" "$out/cuda_runtime.h"
# programmatic dependent launch: the emulated kernels already run one after another
cp "$here/pdl_emu.h" "$out/kernels/gpu/pdl.cuh"
# the grouped GEMMs' launch helper: their launchers are cut, and the drivers launch the kernels
# themselves (emu_launch, emu_launch_cluster)
: > "$out/kernels/gpu/cluster_grid.cuh"
# the Hopper kernels: wgmma, TMA, mbarriers and named barriers emulated (hopper_emu.h, one header
# installed as the three kernels/gpu headers that hold those instructions), the driver API's
# tensor-map names (cuda_driver_emu.h) and the 16-bit types the attention headers include
for h in wgmma.cuh wgmma_mma.cuh tma.cuh; do cp "$here/hopper_emu.h" "$out/kernels/gpu/$h"; done
cp "$here/cuda_driver_emu.h" "$out/cuda.h"
cp "$here/cuda_driver_emu.h" "$out/cudaTypedefs.h"
for h in cuda_bf16.h cuda_fp16.h; do echo '#include "shim.h"' > "$out/$h"; done
bad=0
for d in $drivers; do
    case $d in
    delta) src=kernels/attention/delta_dev.cu ;;
    delta_mma) src=kernels/attention/delta_mma.cu ;;
    ssd) src=kernels/attention/ssd_dev.cu ;;
    ssd_mma) src=kernels/attention/ssd_mma.cu ;;
    gla_mma) src=kernels/attention/gla_mma.cu ;;
    lightning) src=kernels/attention/lightning_mma.cu ;;
    decode_split) src=kernels/attention/decode_split.cu ;;
    vit_gemm) src=kernels/quant/vit_block_dev.cu ;;
    flash_wgmma) src=kernels/attention/flash_wgmma.cu ;;
    flash_wgmma_ws) src=kernels/attention/flash_wgmma_ws.cu ;;
    int8_wgmma) src=kernels/attention/int8_wgmma.cu ;;
    int8_wgmma_ws) src=kernels/attention/int8_wgmma_ws.cu ;;
    int8_fp8_ws) src=kernels/attention/int8_fp8_ws.cu ;;
    flash_fp8_ws) src=kernels/attention/flash_fp8_ws.cu ;;
    block_sparse_ws) src="kernels/attention/block_sparse_select.cu kernels/attention/block_sparse_ws.cu" ;;
    moe_fp8) src=kernels/moe/moe_fp8_wgmma.cu ;;
    moe_gemm) src=kernels/moe/moe_gemm_wgmma.cu ;;
    moe_gemm_mma) src=kernels/moe/moe_gemm_mma.cu ;;
    qgemm_wgmma) src=kernels/quant/gemm_wgmma.cu ;;
    cluster) src= ;; # the emulation's clusters, with a kernel of the driver's own
    *) echo "run.sh: no driver $d" >&2; exit 2 ;;
    esac
    for f in $src; do emu_source "$top/$f"; done > "$out/dev_emu.cpp"
    echo "== $d ($src)"
    g++ -std=c++20 -O2 -fno-strict-aliasing -Wno-psabi $EMU_CXXFLAGS -I"$out" -I"$top" -o "$out/$d" "$here/$d.cpp" "$top/libkbench.a" -fopenmp -lm \
        -L/usr/local/cuda/lib64 -lcudart -lsqlite3 -lpthread
    "$out/$d" ${EMU_ARGS:-} || bad=$((bad + 1))
done
echo "cuda_emu: $bad driver(s) failed"
[ "$bad" -eq 0 ]
