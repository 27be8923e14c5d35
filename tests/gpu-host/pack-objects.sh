#!/bin/bash
# pack-objects.sh [COMMIT [MOE_COMMIT]] - the object tarballs eleventh-call.sh links its binaries from, made
# here (nvcc, no GPU) so the GPU host spends no device time compiling:
#   .gpubuild/cuobj.tar.gz   every tracked .cu's object of this built tree (`make kbench` first)
#   .gpubuild/before.tar.gz  COMMIT's (default cd085fc) FP8 attention objects (not the FP8 MoE's:
#                            the host side now calls moe_fp8_tile_columns, which it lacks; its
#                            old tile is KBENCH_MOE_FP8_TILE=128)
#   .gpubuild/ex2.tar.gz     this tree's FP8 attention objects with the other share of exponentials
#                            on the FMA pipe than their default (flash_fp8_ws: 4, int8_fp8_ws: 0)
#   .gpubuild/exflash.tar.gz this tree's bf16 flash (flash_wgmma_ws) with every 4th (ex4/) and
#                            every 8th (ex8/) 8-column block of exponentials on the FMA pipe
#                            (its default: none), for d 64, where MUFU and the tensor cores balance
#   .gpubuild/moeprev.tar.gz MOE_COMMIT's (default b858dc1: consumers' turns and persistent blocks,
#                            the block scales still loaded from global memory by the consumers) FP8
#                            MoE GEMM object, and its bf16 grouped GEMMs' (moe_gemm_wgmma,
#                            moe_gemm_mma; built for sm_90a here, for the H100 alone)
# Run from the repository root of a configured, built tree.
set -e
before=${1:-cd085fc}
moeprev=${2:-b858dc1}
[ -f Makefile ] || { echo "pack-objects.sh: configure and build first (no Makefile)" >&2; exit 2; }
nvcc=$(sed -n 's/^NVCC = //p' Makefile)
[ -n "$nvcc" ] || { echo "pack-objects.sh: this tree was configured without CUDA" >&2; exit 2; }
flags="-O3 -std=c++17 -lineinfo -gencode=arch=compute_90a,code=sm_90a -Xcompiler -fPIC $(sed -n 's/^CUDA_CFLAGS = //p' Makefile)"
fp8="kernels/attention/flash_fp8_ws kernels/attention/int8_fp8_ws"
mkdir -p .gpubuild
objs=$(git ls-files '*.cu' | grep -v -e '^examples/' -e '^tests/' | sed 's/\.cu$/.o/')
for o in $objs; do [ -f "$o" ] || { echo "pack-objects.sh: $o is missing: make kbench first" >&2; exit 2; }; done
tar czf .gpubuild/cuobj.tar.gz $objs
tmp=$(mktemp -d)
trap 'git worktree remove --force "$tmp/wt" 2>/dev/null; git worktree remove --force "$tmp/wm" 2>/dev/null; rm -rf "$tmp"' EXIT
git worktree add -q "$tmp/wt" "$before"
for f in $fp8; do
    mkdir -p "$tmp/before/$(dirname $f)"
    (cd "$tmp/wt" && $nvcc $flags -I. -c -o "$tmp/before/$f.o" $f.cu)
done
for f in $fp8; do
    mkdir -p "$tmp/ex2/$(dirname $f)"
    every=4
    [ "$f" = kernels/attention/int8_fp8_ws ] && every=0
    $nvcc $flags -I. -DKB_EX2_FMA_EVERY=$every -c -o "$tmp/ex2/$f.o" $f.cu
done
for every in 4 8; do
    mkdir -p "$tmp/exflash/ex$every/kernels/attention"
    $nvcc $flags -I. -DKB_EX2_FMA_EVERY=$every -c -o "$tmp/exflash/ex$every/kernels/attention/flash_wgmma_ws.o" \
        kernels/attention/flash_wgmma_ws.cu
done
tar czf .gpubuild/exflash.tar.gz -C "$tmp/exflash" ex4 ex8
git worktree add -q "$tmp/wm" "$moeprev"
mkdir -p "$tmp/moeprev/kernels/moe"
for f in moe_fp8_wgmma moe_gemm_wgmma moe_gemm_mma; do
    (cd "$tmp/wm" && $nvcc $flags -I. -c -o "$tmp/moeprev/kernels/moe/$f.o" kernels/moe/$f.cu)
done
tar czf .gpubuild/moeprev.tar.gz -C "$tmp/moeprev" kernels
tar czf .gpubuild/before.tar.gz -C "$tmp/before" kernels
tar czf .gpubuild/ex2.tar.gz -C "$tmp/ex2" kernels
ls -l .gpubuild
