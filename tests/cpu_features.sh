#!/bin/sh
# cpu_features.sh - KBENCH_CPU_FEATURES end to end: a bad value is a usage error (exit 2) that
# names it, before any command measures or stores anything; `kbench devices` shows the features
# in effect and says they are masked; a masked run still runs and verifies its kernels. Holds on
# any CPU: it only masks features away.
. "${top_srcdir:-.}/tests/lib.sh"

for bad in avx3 'avx2,sse9' AVX512; do
    KBENCH_CPU_FEATURES=$bad expect_exit 2 "KBENCH_CPU_FEATURES=$bad refused" "$KBENCH" devices
    word=${bad#avx2,}
    expect_text "$TMP/err" "unknown CPU feature '$word'" "the message names '$word'"
done
KBENCH_CPU_FEATURES=avx3 expect_exit 2 "a bad mask stops a run before it starts" \
    "$KBENCH" run --db "$TMP/bad.db" --kernels attention.flash@cpu --seq 64 --quiet --no-show --no-counters
if [ -e "$TMP/bad.db" ]; then bad "a refused run created its database"; else ok "a refused run creates no database"; fi

expect_exit 0 "devices without a mask" "$KBENCH" devices
if grep -q "masked by" "$TMP/out"; then bad "unmasked devices says masked"; else ok "unmasked devices shows no mask"; fi

KBENCH_CPU_FEATURES=scalar expect_exit 0 "devices with KBENCH_CPU_FEATURES=scalar" "$KBENCH" devices
case $(uname -m) in
x86_64 | i?86)
    expect_text "$TMP/out" "masked by KBENCH_CPU_FEATURES=scalar" "devices says the features are masked"
    expect_text "$TMP/out" "SSE only" "the FMA peak is the scalar build's, not the CPU's widest SIMD"
    ;;
*) ok "# SKIP not x86: nothing to mask" ;;
esac

for mask in scalar avx2 avx512 'avx2,fma'; do
    KBENCH_CPU_FEATURES=$mask expect_exit 0 "a run under KBENCH_CPU_FEATURES=$mask verifies" \
        "$KBENCH" run --db "$TMP/m.db" --kernels 'attention.window@cpu,attention.flash@cpu,quant.gemm_int8@cpu' \
        --seq 200 --window 64 --causal 1 --m 64 --n 64 --k 64 --max-time 0.02 --quiet --no-show --no-counters
done
finish
