#!/bin/sh
# report.sh - calibrate, scaling, export and report end to end: a small real sweep, real gnuplot
# rendering real files (PNG decoded and sized, SVG parsed as XML, PDF signature), the CSV read
# back by the sqlite3 CLI's CSV import, the JSON validated against docs/export-schema.json, and
# the HTML page opened in headless Chromium (screenshot not blank).
. "${top_srcdir:-.}/tests/lib.sh"
need_sqlite3
if ! command -v gnuplot >/dev/null 2>&1; then
    echo "1..0 # SKIP gnuplot is not installed (Debian: apt-get install gnuplot-nox)"; exit 0
fi
if ! command -v python3 >/dev/null 2>&1; then
    echo "1..0 # SKIP python3 is not installed (it decodes the PNGs and parses the SVGs)"; exit 0
fi
DB="$TMP/k.db"
OUT="$TMP/report"
sweep="--kernels attention.flash,attention.reference --seq 64:256:x2 --heads 1 --head-dim 16 --max-time 0.03 --warmup 0.001"

expect_exit 0 "a small sweep" "$KBENCH" run --db "$DB" $sweep --quiet --no-show
# ---- report before calibrating: nominal roofline, said so ----
expect_exit 0 "report of an uncalibrated machine" "$KBENCH" report 1 --db "$DB" --out "$TMP/nominal" --format svg
expect_text "$TMP/nominal/index.md" "never calibrated" "the page says the roofline is nominal"

# ---- calibrate ----
expect_exit 0 "calibrate the CPU" "$KBENCH" calibrate --db "$DB" --devices cpu --seconds 0.02
expect_text "$TMP/out" "f32_fma_core" "calibrate prints the per-core FMA rate"
expect_eq "$(q "SELECT count(DISTINCT name) FROM ceilings WHERE device = 'cpu' AND name IN ('f32_fma_core','f32_fma_all','mem_triad','mem_triad_core') AND value > 0;")" "4" \
    "four CPU ceilings stored with the machine"
fma=$(q "SELECT value FROM v_ceilings WHERE name = 'f32_fma_core';")
awk "BEGIN{exit !($fma > 1e8 && $fma < 1e13)}" && ok "per-core FMA rate is plausible ($fma FLOP/s)" || bad "per-core FMA rate '$fma'"
expect_exit 0 "devices shows the ceilings" "$KBENCH" devices --db "$DB"
expect_text "$TMP/out" "mem_triad" "devices lists the stored triad bandwidth"
if "$KBENCH" devices | grep -q "no CUDA devices"; then
    expect_exit 2 "calibrate a GPU that is not there" "$KBENCH" calibrate --db "$DB" --devices cuda:0 --seconds 0.01
    expect_text "$TMP/err" "cuda:0: no such device" "the missing GPU is named"
else
    ok "# SKIP this machine has a GPU: 'no such device' is not checked"
fi
expect_exit 2 "calibrate a bad device name" "$KBENCH" calibrate --db "$DB" --devices gpu7
expect_text "$TMP/err" "gpu7" "the bad device is named"

# ---- scaling ----
expect_exit 0 "scaling of flash against the reference" "$KBENCH" scaling 1 --db "$DB" --kernel attention.flash --against attention.reference
expect_text "$TMP/out" "exponent p =" "the exponent is printed"
expect_text "$TMP/out" "95% CI" "with its confidence interval"
expect_text "$TMP/out" "against attention.reference" "and the comparison with the other kernel"
p=$(sed -n 's/.*exponent p = \([0-9.]*\).*/\1/p' "$TMP/out" | head -1)
awk "BEGIN{exit !($p > 1.2 && $p < 2.6)}" && ok "flash attention scales about quadratically (p = $p)" || bad "exponent '$p'"
expect_exit 2 "scaling of an absent kernel" "$KBENCH" scaling 1 --db "$DB" --kernel attention.nosuch
expect_text "$TMP/err" "attention.nosuch" "the absent kernel is named"

# ---- PNG report ----
expect_exit 0 "PNG report" "$KBENCH" report 1 --db "$DB" --out "$OUT" --format png --size 800x500 --baseline-kernel attention.reference
for plot in latency_attention throughput_attention roofline speedup_attention; do
    if [ -f "$OUT/$plot.dat" ] && [ -f "$OUT/$plot.gp" ] && python3 "$top_srcdir/tests/pngcheck.py" "$OUT/$plot.png" 800 500 >"$TMP/png" 2>&1; then
        ok "$plot.png decodes, is 800x500 and not blank; .dat and .gp beside it"
    else
        bad "$plot: $(cat "$TMP/png")"
    fi
done
[ ! -e "$OUT/accuracy.png" ] && ok "no accuracy plot without reduced-precision kernels" || bad "an empty accuracy plot was drawn"
ls "$OUT" | grep -q '^moe_load' && bad "a MoE plot without moe.load counters" || ok "no MoE plot without moe.load counters"
expect_text "$OUT/latency_attention.gp" "t ~ N^" "the fitted exponent is in the legend"
expect_text "$OUT/index.md" "Measured ceilings" "the page lists the measured ceilings"
expect_text "$OUT/roofline.gp" "(measured)" "the roofline is drawn from measured ceilings"
rm -f "$OUT/roofline.png"
(cd "$OUT" && gnuplot roofline.gp) && [ -s "$OUT/roofline.png" ] && ok "gnuplot roofline.gp re-renders the plot from the folder" || bad "roofline.gp does not re-render"

# ---- HTML: self-contained, opens in Chromium ----
imgs=$(grep -o '<img ' "$OUT/index.html" | wc -l)
figs=$(grep -c '^!\[' "$OUT/index.md")
expect_eq "$imgs" "$figs" "index.html embeds every plot index.md shows ($figs)"
grep -Eo 'src="[^"]*"' "$OUT/index.html" | grep -v '^src="data:' | grep -q . && bad "index.html refers to outside files" || ok "index.html needs no other file"
chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -n "$chromium" ]; then
    HOME="$TMP" timeout 90 "$chromium" --headless --no-sandbox --disable-gpu --enable-logging=stderr --v=0 \
        --screenshot="$TMP/shot.png" --window-size=1000,1400 "file://$OUT/index.html" >"$TMP/chromium.log" 2>&1
    python3 "$top_srcdir/tests/pngcheck.py" "$TMP/shot.png" 1000 1400 >"$TMP/png" 2>&1 \
        && ok "Chromium renders index.html (screenshot not blank)" || bad "Chromium screenshot: $(cat "$TMP/png")"
    grep -E 'CONSOLE|Uncaught|Not allowed to load' "$TMP/chromium.log" | grep -q . \
        && bad "Chromium reported page errors: $(grep -E 'CONSOLE|Uncaught' "$TMP/chromium.log" | head -2)" || ok "no page errors in Chromium's log"
else
    ok "# SKIP chromium is not installed (Debian: apt-get install chromium)"
fi

# ---- SVG and PDF ----
expect_exit 0 "SVG report" "$KBENCH" report 1 --db "$DB" --out "$TMP/svg" --format svg
n=0
for f in "$TMP"/svg/*.svg; do
    python3 -c "import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); sys.exit(not r.tag.endswith('svg'))" "$f" \
        && n=$((n + 1)) || bad "$(basename "$f") does not parse as SVG"
done
[ "$n" -ge 3 ] && ok "$n SVG plots parse as XML" || bad "only $n SVG plots"
expect_exit 0 "PDF report" "$KBENCH" report 1 --db "$DB" --out "$TMP/pdf" --format pdf
head -c 4 "$TMP/pdf/latency_attention.pdf" | grep -q '%PDF' && [ -f "$TMP/pdf/latency_attention.png" ] \
    && ok "PDF plots written, with PNG copies for the page" || bad "no PDF plot"

# ---- two runs: ratio chart ----
expect_exit 0 "a second sweep" "$KBENCH" run --db "$DB" $sweep --quiet --no-show
expect_exit 0 "report of two runs" "$KBENCH" report 2 1 --db "$DB" --out "$TMP/two" --format svg
[ -f "$TMP/two/ratio_run1_vs_run2.svg" ] && ok "ratio chart of the two runs" || bad "no ratio chart"

# ---- every family: a MoE tokens sweep and a GEMM M sweep (issue 18) ----------------------------
FDB="$TMP/families.db"
fsweep() { "$KBENCH" run --db "$FDB" --max-time 0.02 --min-samples 3 --no-counters --quiet --no-show "$@"; }
expect_exit 0 "a MoE sweep over tokens" fsweep --kernels 'moe.*' --tokens 32,64,128 --hidden 64 --ffn 128 --experts 4
expect_exit 0 "a GEMM sweep over M" fsweep --kernels 'quant.gemm_int8,gemm.f32' --m 16,32,64 --n 64 --k 64
expect_exit 0 "scaling of a GEMM kernel" "$KBENCH" scaling 2 --db "$FDB" --kernel quant.gemm_int8
expect_text "$TMP/out" "along GEMM rows M (rows)" "scaling fits a GEMM along M"
expect_text "$TMP/out" "against gemm.f32" "and compares it with the float GEMM"
expect_exit 0 "scaling of a MoE kernel" "$KBENCH" scaling 1 --db "$FDB" --kernel moe.layer
expect_text "$TMP/out" "along MoE tokens T (tokens)" "scaling fits a MoE kernel along tokens"
expect_exit 2 "scaling along an axis the kernel lacks" "$KBENCH" scaling 2 --db "$FDB" --kernel quant.gemm_int8 --x tokens
expect_text "$TMP/err" "with the axis tokens" "the missing axis is named"
expect_exit 2 "scaling along no axis" "$KBENCH" scaling 2 --db "$FDB" --kernel quant.gemm_int8 --x colour
expect_text "$TMP/err" "bad --x 'colour'" "a bad --x is named"
# family report: plots, size, not blank, the swept axis on x with name and unit
family_report() { # RUN DIR PLOTS...
    run=$1; dir=$2; shift 2
    expect_exit 0 "report of run $run" "$KBENCH" report "$run" --db "$FDB" --out "$dir" --size 800x500
    grep -qi "gnuplot>\|undefined\|warning" "$TMP/err" && bad "gnuplot complained: $(head -3 "$TMP/err")" || ok "gnuplot said nothing"
    for plot in "$@"; do
        if python3 "$top_srcdir/tests/pngcheck.py" "$dir/$plot.png" 800 500 >"$TMP/png" 2>&1; then
            ok "$plot.png decodes, is 800x500 and not blank"
        else
            bad "$plot: $(cat "$TMP/png" 2>/dev/null)"
        fi
    done
}
family_report 1 "$TMP/moe" latency_moe throughput_moe roofline
loads=$(ls "$TMP"/moe/moe_load*.png 2>/dev/null | wc -l)
[ "$loads" -ge 1 ] && ok "expert-load histograms drawn ($loads: one per distinct routing outcome)" || bad "no expert-load histogram"
for f in "$TMP"/moe/moe_load*.png; do
    python3 "$top_srcdir/tests/pngcheck.py" "$f" 800 500 >"$TMP/png" 2>&1 && ok "$(basename "$f") decodes, not blank" || bad "$f: $(cat "$TMP/png")"
done
for plot in latency_moe throughput_moe; do
    expect_text "$TMP/moe/$plot.gp" 'set xlabel "MoE tokens T (tokens, log scale)"' "$plot puts tokens T on x with its unit"
done
expect_text "$TMP/moe/latency_moe.gp" 't ~ T^' "the MoE fit is along T"
grep -q "fixed: hid=64 f=128 E=4 top=2 route=uniform" "$TMP/moe/latency_moe.gp" &&
    ok "the MoE title names the axes held fixed" || bad "no fixed axes in the MoE title"
grep -q '"moe.router \[cpu, f32\] T=' "$TMP/moe/latency_moe.gp" && bad "a series labelled by a point of its swept axis" ||
    ok "no series labelled by the first point of the swept axis"
load=$(ls "$TMP"/moe/moe_load*.dat | head -1)
total=$(awk '!/^#/ && NF { s += $2 } END { print s + 0 }' "$load")
expect_eq "$total" "256" "the expert-load histogram holds the 128 tokens x top-2 of the largest case"
experts=$(awk '!/^#/ && NF { n++ } END { print n + 0 }' "$load")
expect_eq "$experts" "4" "one bar per expert, none for the summary counters"
grep -Eq "^\| moe\.layer \| cpu\.fused \| cpu \| f32 \| T=32 hid=64 f=128 E=4 top=2 route=uniform \|" "$TMP/moe/index.md" &&
    ok "the results table gives a MoE case's whole shape" || bad "MoE shape in the results table"
grep -q "no timed case" "$TMP/moe/index.md" && bad "the MoE page says it has nothing to plot" || ok "the MoE page has its plots"

family_report 2 "$TMP/gemm" latency_quant throughput_quant roofline accuracy
for plot in latency_quant throughput_quant; do
    expect_text "$TMP/gemm/$plot.gp" 'set xlabel "GEMM rows M (rows, log scale)"' "$plot puts M on x with its unit"
done
grep -q "fixed: N=64 K=64" "$TMP/gemm/latency_quant.gp" && ok "the GEMM title names N and K as fixed" || bad "GEMM fixed axes"
grep -Eq '"quant.gemm_int8 \[cpu, i8\]  t ~ M\^' "$TMP/gemm/latency_quant.gp" &&
    ok "the GEMM legend: kernel, impl, dtype and the fit along M, no point of M" || bad "GEMM legend: $(grep -o 'title "quant[^"]*"' "$TMP/gemm/latency_quant.gp" | head -1)"
grep -q 'with labels' "$TMP/gemm/accuracy.gp" && grep -q '"M=16"' "$TMP/gemm/accuracy.dat" &&
    ok "the accuracy plot labels its points by M" || bad "accuracy labels"
grep -q 'with labels' "$TMP/gemm/roofline.gp" && ok "the roofline labels its points" || bad "roofline labels"
grep -q '"M=16"' "$TMP/gemm/roofline.dat" && ok "the roofline labels its points by M" || bad "roofline point labels by M"
# the roofline's legend sits below with a bottom margin of at least its rows + the tic labels and
# the x label, so the x label can never overprint it (issue 18): rows are the entries in one column
# (maxcols 1) or at most maxrows; also on a canvas too low for one column
expect_exit 0 "report of the MoE run on a low canvas" "$KBENCH" report 1 --db "$FDB" --out "$TMP/moe-low" --size 900x260
grep -qi "gnuplot>\|undefined\|warning" "$TMP/err" && bad "gnuplot complained: $(head -3 "$TMP/err")" || ok "gnuplot said nothing"
grep -q '^set key below .* maxrows [0-9]' "$TMP/moe-low/roofline.gp" && ok "on a low canvas the legend is spread over columns" ||
    bad "low canvas legend: $(grep '^set key' "$TMP/moe-low/roofline.gp" | tail -1)"
for gp in "$TMP/moe/roofline.gp" "$TMP/gemm/roofline.gp" "$TMP/moe-low/roofline.gp"; do
    layout=$(awk '/^set key / { key = $0 }
                  /^set bmargin / { bm = $3 }
                  !/^set / && / title "/ { n++ }
                  END { rows = -1
                        if (key ~ / maxcols 1 /) rows = n
                        else if (match(key, / maxrows [0-9]+ /)) rows = substr(key, RSTART + 9, RLENGTH - 10) + 0
                        print (key ~ /^set key below / && rows > 0 && n > 0 && bm + 0 >= rows + 2) ? "clear" : "overlap", n, rows, bm + 0 }' "$gp")
    case "$layout" in
    clear*) ok "$(basename "$(dirname "$gp")")/roofline.gp: legend below, bottom margin holds its rows, tics and x label (entries, rows, margin: ${layout#clear })" ;;
    *) bad "$gp: legend may overlap the x label (entries, rows, margin: ${layout#overlap }; $(grep '^set key\|^set bmargin' "$gp" | tail -2 | tr '\n' ' '))" ;;
    esac
done
grep -qF '| quant.gemm\_int8 | cpu | cpu | i8 | M=16 N=64 K=64 |' "$TMP/gemm/index.md" &&
    ok "the results table gives a GEMM case's whole shape" || bad "GEMM shape in the results table"
for gp in "$TMP"/moe/*.gp "$TMP"/gemm/*.gp; do # every plot names what is on x, with its unit in parentheses
    grep -Eq '^set xlabel "[^"(]+ \([^")]+' "$gp" && ok "$(basename "$gp"): x named with its unit" ||
        bad "$(basename "$gp"): x label $(grep '^set xlabel' "$gp")"
done
expect_exit 0 "versus: the two MoE layers side by side" "$KBENCH" versus 1 --db "$FDB" moe.layer@cpu.unfused moe.layer@cpu.fused
expect_eq "$(grep -c '^moe\.layer@cpu\.unfused  *moe\.layer@cpu\.fused ' "$TMP/out")" "3" "one pair per token count"
grep -Eq " [0-9]+\.[0-9]{3} [0-9.]+-[0-9.]+ +(B faster|A faster|no difference shown)$" "$TMP/out" &&
    ok "each pair has B/A, its CI and a verdict" || bad "versus rows: $(sed -n 3p "$TMP/out")"
expect_exit 0 "versus across dtypes: INT8 GEMM against float32" "$KBENCH" versus 2 --db "$FDB" quant.gemm_int8@cpu gemm.f32
expect_text "$TMP/out" "gemm.f32@cpu.blas f32" "the float partner names its dtype"
"$KBENCH" run --db "$TMP/vlong.db" --kernels 'attention.flash@cpu,attention.flash@cpu.paged' --decode 1 --seq 64,65 \
    --head-dim 16 --heads 2 --max-time 0.01 --quiet --no-show --no-counters >/dev/null 2>&1
expect_exit 0 "versus of an implementation with a long name" "$KBENCH" versus 1 --db "$TMP/vlong.db" attention.flash@cpu.paged attention.flash@cpu
awk 'NR == 2 { h = index($0, " B ") + 1 } NR > 2 && /@/ { n++; if (index($0, " " $2 " ") + 1 != h) bad = 1 } END { exit bad || n != 2 }' "$TMP/out" &&
    ok "versus: B's column starts where its header does on every row (widths from the longest name)" ||
    bad "versus columns misaligned: $(sed -n 2,3p "$TMP/out")"
expect_exit 2 "versus with an unknown implementation" "$KBENCH" versus 2 --db "$FDB" quant.gemm_int8 nothing.here
expect_text "$TMP/err" "no case of 'nothing.here'" "the missing one is named"
expect_exit 2 "versus without B" "$KBENCH" versus 2 --db "$FDB" quant.gemm_int8
expect_exit 0 "GEMM report forced onto K" "$KBENCH" report 2 --db "$FDB" --out "$TMP/gemmk" --x k
expect_text "$TMP/gemmk/latency_quant.gp" 'set xlabel "GEMM depth K (elements, log scale)"' "--x k puts K on x"
expect_exit 0 "SVG report of the MoE run" "$KBENCH" report 1 --db "$FDB" --out "$TMP/moesvg" --format svg
grep -q "<title>Gnuplot</title>" "$TMP"/moesvg/*.svg && bad "an SVG titled Gnuplot" || ok "SVG plots carry their own titles"
grep -q "<title>moe: median time per call vs MoE tokens T" "$TMP/moesvg/latency_moe.svg" && ok "the SVG title is the plot's" ||
    bad "latency_moe.svg title: $(grep -o '<title>[^<]*' "$TMP/moesvg/latency_moe.svg" | head -1)"
"$KBENCH" run --db "$TMP/crash.db" --kernels selftest.crash --seq 64 --quiet --no-show --no-counters 2>/dev/null
"$KBENCH" report 1 --db "$TMP/crash.db" --out "$TMP/crash" >/dev/null 2>&1
grep -q "Plots were drawn by gnuplot" "$TMP/crash/index.md" && bad "a page without plots mentions gnuplot's plots" ||
    ok "a page without plots does not say they were drawn"

# ---- bad input ----
expect_exit 2 "report without --out" "$KBENCH" report 1 --db "$DB"
expect_exit 2 "report with a bad format" "$KBENCH" report 1 --db "$DB" --out "$TMP/x" --format gif
expect_text "$TMP/err" "gif" "the bad format is named"
expect_exit 2 "report of an unknown run" "$KBENCH" report 99 --db "$DB" --out "$TMP/x"
KBENCH_GNUPLOT=/nonexistent/gnuplot expect_exit 2 "report without gnuplot" "$KBENCH" report 1 --db "$DB" --out "$TMP/x"
expect_text "$TMP/err" "gnuplot is not installed" "a missing gnuplot is said plainly"

# ---- export: CSV through the sqlite3 CSV import, JSON against its schema ----
expect_exit 0 "export cases CSV" "$KBENCH" export 1 --db "$DB" -o "$TMP/cases.csv"
expect_exit 0 "export counters CSV" "$KBENCH" export 1 --db "$DB" --table counters -o "$TMP/counters.csv"
expect_exit 0 "export environment CSV" "$KBENCH" export 1 --db "$DB" --table environment -o "$TMP/env.csv"
"$SQLITE3" "$TMP/import.db" ".import --csv $TMP/cases.csv cases" ".import --csv $TMP/counters.csv counters" ".import --csv $TMP/env.csv env" \
    && ok "sqlite3 imports the three CSV files" || bad "sqlite3 CSV import failed"
imp() { "$SQLITE3" -batch -noheader "$TMP/import.db" "$1"; }
expect_eq "$(imp 'SELECT count(*) FROM cases;')" "$(q 'SELECT count(*) FROM cases WHERE run_id = 1;')" "every case comes back"
diff=$(imp "ATTACH '$DB' AS k; SELECT count(*) FROM cases c JOIN k.v_results v ON v.case_id = c.case_id
            WHERE c.kernel = v.kernel AND c.seq_len = v.seq_len AND abs(c.median_s - v.median_s) <= 1e-8 * v.median_s
              AND abs(c.rel_l2_err - v.rel_l2_err) <= 1e-8 * v.rel_l2_err;")
expect_eq "$diff" "$(q 'SELECT count(*) FROM cases WHERE run_id = 1;')" "kernel, N, median and error round-trip for every case"
expect_eq "$(imp 'SELECT count(*) FROM counters;')" "$(q 'SELECT count(*) FROM counters k JOIN cases c ON c.id = k.case_id WHERE c.run_id = 1;')" "every counter comes back"
# as many as this machine stored: which ceilings exist depends on the CPU (VNNI adds int8 ones)
expect_eq "$(imp "SELECT count(*) FROM env WHERE section = 'ceiling';")" "$(q "SELECT count(*) FROM v_ceilings WHERE machine_id = (SELECT machine_id FROM runs WHERE id = 1);")" \
    "the environment carries every ceiling of the run's machine"
# (Not bounded above: a calibration taken while other processes ran can read low.)
frac=$(imp "SELECT count(*) FROM cases WHERE kernel = 'attention.flash' AND roofline_fraction > 0
            AND abs(roofline_fraction - flops_per_s / roof_flops_per_s) <= 1e-6 * roofline_fraction;")
expect_eq "$frac" "3" "each flash case has its fraction of the roofline (achieved / its roof)"
expect_exit 0 "export JSON" "$KBENCH" export 1 --db "$DB" --format json -o "$TMP/run.json"
if python3 -c "import jsonschema" 2>/dev/null; then
    python3 -c "
import json, sys, jsonschema
jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))" "$TMP/run.json" "$top_srcdir/docs/export-schema.json" \
        && ok "the JSON export validates against docs/export-schema.json" || bad "the JSON export does not follow its schema"
    python3 -c "
import json, sys, jsonschema
d = json.load(open(sys.argv[1])); d['cases'][0]['median_s'] = 'fast'
try:
    jsonschema.validate(d, json.load(open(sys.argv[2]))); sys.exit(1)
except jsonschema.ValidationError:
    sys.exit(0)" "$TMP/run.json" "$top_srcdir/docs/export-schema.json" \
        && ok "the schema rejects a document with a wrong type" || bad "the schema accepts anything"
else
    ok "# SKIP python3-jsonschema is not installed: the schema is not checked"
fi
expect_exit 2 "--table with JSON" "$KBENCH" export 1 --db "$DB" --format json --table counters
# hybrid stacks: a sweep over N and ratio draws one line per ratio, in time and in memory kept
HDB="$TMP/hybrid.db"
expect_exit 0 "a hybrid sweep over N and ratio" "$KBENCH" run --db "$HDB" --kernels attention.hybrid@cpu --seq 64,128,256 \
    --ratio softmax,3:1,linear --layers 4 --heads 2 --head-dim 16 --max-time 0.02 --quiet --no-show
expect_exit 0 "report of the hybrid sweep" "$KBENCH" report 1 --db "$HDB" --out "$TMP/hyb" --size 800x500
for plot in latency_attention memory_hybrid; do
    python3 "$top_srcdir/tests/pngcheck.py" "$TMP/hyb/$plot.png" 800 500 >"$TMP/png" 2>&1 && ok "$plot.png decodes, not blank" ||
        bad "$plot: $(cat "$TMP/png" 2>/dev/null)"
    expect_eq "$(grep -c '^# \[' "$TMP/hyb/$plot.dat")" "3" "$plot: one line per ratio"
    expect_text "$TMP/hyb/$plot.dat" "ratio=3:1" "$plot: its lines are labelled by ratio"
done
expect_text "$TMP/hyb/latency_attention.gp" 'set xlabel "sequence length N (tokens, log scale)"' "hybrid time against N"
# all linear: 4 layers x 2 heads x (16² + 16) floats, whatever N; all softmax: 4 layers x K and V of N rows of 16 floats x 2 heads
expect_eq "$(awk '/ratio=linear/ { on = 1; next } /^# \[/ { on = 0 } on && !/^#/ && NF { print $2 }' "$TMP/hyb/memory_hybrid.dat" | sort -u)" \
    "$((4 * 2 * (16 * 16 + 16) * 4))" "the all-linear stack keeps the same state at every N"
expect_eq "$(awk '/ratio=softmax/ { on = 1; next } /^# \[/ { on = 0 } on && $1 == 256 { print $2 }' "$TMP/hyb/memory_hybrid.dat")" \
    "$((4 * 2 * 2 * 256 * 16 * 4))" "the all-softmax stack keeps every layer's KV cache"
if python3 -c "import jsonschema" 2>/dev/null; then
    "$KBENCH" export 1 --db "$HDB" --format json -o "$TMP/hyb.json" 2>"$TMP/err"
    python3 -c "
import json, sys, jsonschema
d = json.load(open(sys.argv[1]))
jsonschema.validate(d, json.load(open(sys.argv[2])))
assert sorted({c['ratio'] for c in d['cases']}) == ['3:1', 'linear', 'softmax'] and {c['layers'] for c in d['cases']} == {4}
" "$TMP/hyb.json" "$top_srcdir/docs/export-schema.json" && ok "the hybrid export validates and carries layers and ratio" ||
        bad "the hybrid export does not follow its schema"
fi
finish
