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
expect_text "$OUT/latency_attention.gp" "p = " "the fitted exponent is in the legend"
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
finish
