#!/bin/sh
# cpu_features.sh - KBENCH_CPU_FEATURES end to end: a bad value is a usage error (exit 2) that
# names it, before any command measures or stores anything; `kbench devices` shows the features
# in effect and says they are masked; a masked run still runs and verifies its kernels, records
# its mask and is measured against the roof of its masked features. Holds on any CPU: it only
# masks features away, and checks the masked roof only where the mask hides something.
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

for mask in scalar avx2 avx512 'avx2,fma' 'avx2,-avxvnni' '-avx512vnni'; do
    KBENCH_CPU_FEATURES=$mask expect_exit 0 "a run under KBENCH_CPU_FEATURES=$mask verifies" \
        "$KBENCH" run --db "$TMP/m.db" \
        --kernels 'attention.window@cpu,attention.flash@cpu,attention.int8@cpu,quant.gemm_int8@cpu,quant.gemm_w4a8@cpu' \
        --dtype f32,i8 --seq 200 --window 64 --causal 1 --m 64 --n 64 --k 64 --max-time 0.02 --quiet --no-show --no-counters
done
# ---- the roofline of a masked run: the peak of its features, not the machine's ----
if [ -z "${SQLITE3:-}" ] || ! [ -x "$SQLITE3" ]; then SQLITE3=$(command -v sqlite3 || true); fi
KBENCH_CPU_FEATURES=scalar "$KBENCH" devices >"$TMP/dev" 2>&1
if [ -z "$SQLITE3" ]; then
    ok "# SKIP the masked roofline: the sqlite3 command-line client is not installed"
elif ! grep -q "masked by" "$TMP/dev"; then
    ok "# SKIP the masked roofline: this CPU has nothing beyond scalar to mask"
else
    DB=$TMP/roof.db
    one="--kernels attention.flash@cpu --seq 128 --threads 1 --max-time 0.02 --quiet --no-show --no-counters"
    # shellcheck disable=SC2086
    env -u KBENCH_CPU_FEATURES "$KBENCH" run --db "$DB" $one >"$TMP/out" 2>"$TMP/err" \
        && ok "an unmasked run (run 1)" || bad "the unmasked run failed"
    if grep -q "CPU features masked" "$TMP/err"; then bad "an unmasked run says it is masked"; else
        ok "an unmasked run says nothing of a mask"; fi
    # shellcheck disable=SC2086
    KBENCH_CPU_FEATURES=scalar expect_exit 0 "a run under KBENCH_CPU_FEATURES=scalar (run 2)" "$KBENCH" run --db "$DB" $one
    expect_text "$TMP/err" "CPU features masked by KBENCH_CPU_FEATURES=scalar: kernels run their scalar paths; roofline against the scalar peak" \
        "the masked run says so on stderr as it starts"
    expect_eq "$(grep -c "CPU features masked" "$TMP/err")" "1" "... once"
    expect_eq "$(q "SELECT cpu_mask IS NULL AND cpu_features IS NULL AND peak_f32_core IS NULL FROM runs WHERE id = 1;")" "1" \
        "an unmasked run records no mask (the machine's own features and peak)"
    expect_eq "$(q "SELECT cpu_mask FROM runs WHERE id = 2;")" "scalar" "the masked run records its mask"
    expect_eq "$(q "SELECT count(*) FROM machines;")" "1" "both runs share the machine row"
    # a machine whose clock is unknown has no nominal peak: nothing to scale, no roof to check
    have_peak=$(q "SELECT peak_f32_core > 0 FROM machines;")
    if [ "$have_peak" = 1 ]; then
        expect_eq "$(q "SELECT r.peak_f32_core > 0 AND r.peak_f32_core < m.peak_f32_core FROM runs r JOIN machines m ON m.id = r.machine_id WHERE r.id = 2;")" "1" \
            "the masked run's peak is below the machine's"
    else
        ok "# SKIP the CPU clock is unknown here: no nominal peak to compare"
    fi
    expect_exit 0 "show the masked run" "$KBENCH" show 2 --db "$DB"
    expect_text "$TMP/out" "masked    KBENCH_CPU_FEATURES=scalar" "show prints the mask in its header"
    expect_exit 0 "show the masked run as JSON" "$KBENCH" show 2 --db "$DB" --format json
    expect_text "$TMP/out" '"cpu_mask": "scalar"' "show's JSON carries the mask"
    expect_exit 0 "show the unmasked run as JSON" "$KBENCH" show 1 --db "$DB" --format json
    expect_text "$TMP/out" '"cpu_mask": null' "show's JSON of an unmasked run: no mask"
    expect_exit 0 "show the unmasked run" "$KBENCH" show 1 --db "$DB"
    if grep -q "KBENCH_CPU_FEATURES" "$TMP/out"; then bad "show prints a mask for an unmasked run"; else
        ok "show prints no mask for an unmasked run"; fi

    # achieved / roof from the export against the peak each run should have used
    frac() {
        "$KBENCH" export "$1" --db "$DB" -o "$TMP/cases$1.csv" || return 1
        rm -f "$TMP/imp.db"
        "$SQLITE3" "$TMP/imp.db" ".import --csv $TMP/cases$1.csv cases" || return 1
        "$SQLITE3" -batch -noheader "$TMP/imp.db" "ATTACH '$DB' AS k;
            SELECT count(*) FROM cases c WHERE c.flops_per_s > 0 AND c.roofline_fraction > 0
               AND abs(c.roofline_fraction - c.flops_per_s / ($2)) <= 1e-6 * c.roofline_fraction
               AND abs(c.roof_flops_per_s - ($2)) <= 1e-6 * c.roof_flops_per_s;"
    }
    hw="(SELECT peak_f32_core FROM k.machines)"
    masked="(SELECT peak_f32_core FROM k.runs WHERE id = 2)"
    if [ "$have_peak" = 1 ]; then
        expect_eq "$(frac 1 "$hw")" "1" "uncalibrated, unmasked: roofline_fraction is achieved / the machine's nominal peak"
        expect_eq "$(frac 2 "$masked")" "1" "uncalibrated, masked: roofline_fraction is achieved / the scalar nominal peak"
    fi
    # a measured f32 ceiling (one core only: no all-core cap, no memory roof) is scaled for the masked run
    q "INSERT INTO ceilings (machine_id, device, name, value, unit, method)
       SELECT id, 'cpu', 'f32_fma_core', 5e10, 'FLOP/s', 'planted by cpu_features.sh' FROM machines;"
    expect_eq "$(frac 1 "(SELECT value FROM k.ceilings)")" "1" "calibrated, unmasked: the roof is the measured ceiling"
    if [ "$have_peak" = 1 ]; then
        expect_eq "$(frac 2 "(SELECT value FROM k.ceilings) * $masked / $hw")" "1" \
            "calibrated, masked: the roof is the measured ceiling scaled by masked / unmasked nominal peak"
        expect_exit 0 "JSON export of the masked run" "$KBENCH" export 2 --db "$DB" --format json
        expect_text "$TMP/out" "the scalar peak (KBENCH_CPU_FEATURES=scalar" "the JSON's roofline source names the mask"
        expect_text "$TMP/out" "scaled from the measured ceiling" "... and that the ceiling was scaled"
    fi
    expect_exit 0 "JSON export of the unmasked run" "$KBENCH" export 1 --db "$DB" --format json
    if grep -q "KBENCH_CPU_FEATURES" "$TMP/out"; then bad "an unmasked run's roofline source names a mask"; else
        ok "an unmasked run's roofline source names no mask"; fi

    if command -v gnuplot >/dev/null 2>&1; then
        expect_exit 0 "report of the masked run" "$KBENCH" report 2 --db "$DB" --out "$TMP/rep"
        expect_text "$TMP/rep/index.md" "run masked to | KBENCH\_CPU\_FEATURES=scalar" "the report's machine table names the mask"
        [ "$have_peak" = 1 ] && expect_text "$TMP/rep/index.md" "CPU compute roof: the scalar peak" \
            "the report's roofline text says whose peak it is"
    else
        ok "# SKIP the report of the masked run: gnuplot is not installed"
    fi

    # a resumed run keeps its features
    q "UPDATE runs SET status = 'interrupted' WHERE id = 2;"
    env -u KBENCH_CPU_FEATURES "$KBENCH" run --resume 2 --db "$DB" --quiet --no-show >"$TMP/out" 2>"$TMP/err"
    expect_eq "$?" "2" "resuming a masked run without its mask is refused (exit 2)"
    expect_text "$TMP/err" "was measured under KBENCH_CPU_FEATURES=scalar" "... naming the mask it ran under"
    KBENCH_CPU_FEATURES=scalar expect_exit 0 "resuming it under its mask" "$KBENCH" run --resume 2 --db "$DB" --quiet --no-show

    # a calibration under a mask is printed, never stored: the machine's ceilings are its whole
    # hardware's, and masked runs scale them (a stored masked rate would be scaled twice)
    CDB="$TMP/cal.db"
    KBENCH_CPU_FEATURES=scalar expect_exit 0 "calibrate under a mask" "$KBENCH" calibrate --db "$CDB" --devices cpu --seconds 0.01
    expect_text "$TMP/out" "f32_fma_core" "it prints the masked rates"
    expect_text "$TMP/err" "printed, not stored" "and says they are not stored"
    expect_eq "$(DB=$CDB q "SELECT count(*) FROM ceilings WHERE device = 'cpu';" 2>/dev/null || echo 0)" "0" "no CPU ceiling stored from a masked calibration"
fi
finish
