#!/bin/sh
# tui.sh - the dashboard as a person sees it: the real `kbench tui` in a tmux pane over a
# database made by real sweeps; keys are sent, the pane is captured and read, at 80x24 and
# 200x50. Set KBENCH_TUI_CAPTURES=DIR to keep every capture.
. "${top_srcdir:-.}/tests/lib.sh"
if ! command -v tmux >/dev/null 2>&1; then
    echo "1..0 # SKIP tmux is not installed (Debian: apt-get install tmux)"; exit 0
fi
need_sqlite3
SOCK="kbench-tui-test-$$-0"; starts=0
trap 'tmux -L "$SOCK" kill-server 2>/dev/null; rm -rf "$TMP"' EXIT
DB="$TMP/tui.db"
CAPS="${KBENCH_TUI_CAPTURES:-$TMP/captures}"
mkdir -p "$CAPS" "$TMP/exports"
have_gnuplot=0; command -v gnuplot >/dev/null 2>&1 && have_gnuplot=1

# two runs of two kernels over four lengths: a baseline and a candidate
sweep() { "$KBENCH" run --db "$DB" --kernels 'attention.flash,attention.reference' --seq 64:512:x2 --heads 2 --head-dim 32 \
    --max-time 0.05 --no-counters --quiet --no-show "$@"; }
sweep --tag base && sweep --tag new || { bad "sweeps into $DB failed"; finish; exit 1; }

T() { tmux -L "$SOCK" "$@"; }
# start W H ARGS...: the dashboard in a fresh pane; the pane's shell prints the exit status
start() { # each pane its own server: a server being killed cannot take the new session along
    T kill-server 2>/dev/null
    starts=$((starts + 1)); SOCK="kbench-tui-test-$$-$starts"
    w=$1; h=$2; shift 2
    T -f /dev/null new-session -d -s t -x "$w" -y "$h" \
        "cd '$TMP/exports' && $* ; echo EXIT=\$?; sleep 120"
    T set-option -t t status off >/dev/null
}
# snap NAME: the pane's text into $CAPS/NAME.txt (and $PANE)
snap() { PANE="$CAPS/$1.txt"; T capture-pane -J -p -t t > "$PANE"; }
# wait_for TEXT NAME: captures until TEXT shows and the screen has settled (two captures alike:
# tmux can be caught halfway through a redraw, the first line new and the rest not yet), at most
# 30 s, then keeps the capture as NAME
wait_for() {
    i=0; last=""
    while [ $i -lt 300 ]; do
        snap "$2"
        if grep -qF -- "$1" "$PANE"; then
            now=$(cat "$PANE")
            [ "$now" = "$last" ] && return 0
            last=$now
        fi
        sleep 0.05; i=$((i + 1))
    done
    grep -qF -- "$1" "$PANE" # shown but never still (a live clock): take it as it is
}
# wait_count REGEX N NAME: captures until N lines match REGEX (at most 30 s): a screen may be
# caught between two redraws, so a count is read from the state it settles in, never after a
# fixed time
wait_count() {
    i=0
    while [ $i -lt 300 ]; do
        snap "$3"
        count=$(grep -Ec -- "$1" "$PANE")
        [ "$count" -eq "$2" ] && return 0
        sleep 0.1; i=$((i + 1))
    done
    return 1
}
# wait_width N NAME: until the widest line is at least N columns (-N: at most N)
wait_width() {
    i=0
    while [ $i -lt 300 ]; do
        snap "$2"
        width=$(awk '{ if (length > m) m = length } END { print m + 0 }' "$PANE")
        if [ "$1" -gt 0 ] && [ "$width" -ge "$1" ]; then return 0; fi
        if [ "$1" -lt 0 ] && [ "$width" -le $((-$1)) ]; then return 0; fi
        sleep 0.1; i=$((i + 1))
    done
    return 1
}
# expect_said TEXT DESCRIPTION: TEXT in the last capture, its wrapped lines joined
expect_said() {
    if tr -d '\n' < "$PANE" | grep -qF -- "$1"; then ok "$2"; else bad "$2: '$1' not on screen"; sed 's/^/# /' "$PANE" | head -5; fi
}
keys() { T send-keys -t t "$@"; }
see() { # TEXT NAME DESCRIPTION: TEXT appears (waiting for it)
    if wait_for "$1" "$2"; then ok "$3"; else bad "$3: '$1' not on screen"; sed 's/^/# /' "$PANE" | head -30; fi
}
row() { sed -n "${1}p" "$PANE"; } # a line of the last capture

TUI="$KBENCH tui --db '$DB' --export-dir '$TMP/exports'"
TUI_CLAIMS="$KBENCH tui --db '$TMP/claims.db'"

# ---- 80x24 -------------------------------------------------------------------------------------
start 80 24 "$TUI"
see "2 runs" runs-80x24 "runs screen lists the runs"
expect_text "$PANE" "started (UTC)" "runs screen has its columns"
case "$(row 4)" in *" 2 "*new*complete*) ok "newest run first, with tag and status" ;; *) bad "newest run first: '$(row 4)'" ;; esac

keys Enter
see "run 2 " results-80x24 "Enter opens the newest run's results"
expect_text "$PANE" "attention.reference" "results list the reference kernel"
expect_text "$PANE" "GFLOP/s" "results show throughput"
expect_text "$PANE" "every case: b=1 h=2 d=32" "80 columns: what every case shares, once above the table"
grep -Eq "^  attention\.reference +cpu\.f64 +f32 +n=64 " "$PANE" &&
    ok "80 columns: kernel, impl, type and the axis that differs (n=) all shown" || bad "80-column row: $(row 5)"
# s steps through the shown columns; each press lands after the last one has been drawn
presses=0
while [ $presses -lt 8 ] && ! grep -q "medianv" "$PANE"; do
    snap results-sort-before; before=$(cat "$PANE")
    keys s; presses=$((presses + 1))
    i=0; while [ $i -lt 300 ]; do snap results-sorted-80x24; [ "$(cat "$PANE")" != "$before" ] && break; sleep 0.1; i=$((i + 1)); done
done
see "medianv" results-sorted-80x24 "s steps to the median, slowest first"
case "$(row 5)" in *attention.reference*" n=512 "*) ok "slowest case first: the reference at n=512" ;; *) bad "sorted first row: '$(row 5)'" ;; esac
keys / r e f e r e n c e Enter
see "(4 of 8 rows match)" results-filtered-80x24 "/reference keeps the 4 reference rows"
grep -q "attention.flash" "$PANE" && bad "filter left a flash row" || ok "filter hides the other kernel"

keys Enter
see "Histogram of the" detail-80x24 "Enter on a case opens its detail"
expect_text "$PANE" "95% CI of the median" "detail shows the median's CI"
keys NPage NPage
see "Environment" detail-env-80x24 "detail pages down to the environment"
keys q
see "(4 of 8 rows match)" results-back-80x24 "q goes back to the results"
keys / Escape
see "8/8 cases" results-clear-80x24 "Esc clears the filter"
keys Home Space Down Down Down Down Space p
if [ $have_gnuplot -eq 1 ]; then
    see "exponent p" plot-80x24 "p plots the marked series"
    if grep -Eq "^ [AB] attention\.reference .*p = [0-9]+\.[0-9][0-9] \[" "$PANE" &&
       grep -Eq "^ [AB] attention\.flash .*p = [0-9]+\.[0-9][0-9] \[" "$PANE"; then
        ok "legend gives each curve's exponent with its CI"
    else bad "legend exponents"; sed 's/^/# /' "$PANE"; fi
    expect_text "$PANE" " A/B: " "legend has the crossover line of the pair"
    grep -Eq -- "-+A|A-+" "$PANE" && ok "gnuplot drew series A" || bad "no series A in the plot"
    keys t
    see "GFLOP/s vs sequence length N" plot-throughput-80x24 "t toggles to throughput"
    keys e
    see "exported the plot to" plot-export-80x24 "e exports the plot"
    png=$(ls "$TMP"/exports/*.png 2>/dev/null | head -1); svg=$(ls "$TMP"/exports/*.svg 2>/dev/null | head -1)
    [ -n "$png" ] && head -c 4 "$png" | grep -q PNG && ok "the PNG is a PNG" || bad "no PNG written"
    [ -n "$svg" ] && grep -q "<svg" "$svg" && grep -Eq "attention\.flash[^<]*\(t ~ N\^[0-9]" "$svg" &&
        ok "the SVG carries the legend with exponents" || bad "no SVG with the legend"
    T resize-window -t t -x 120 -y 40
    if wait_width 110 plot-resized; then ok "plot redrawn to the new width ($width columns)"
    else bad "plot not redrawn after a resize: $width columns"; fi
    T resize-window -t t -x 80 -y 24
    see "GFLOP/s vs sequence length N" plot-resized-back "plot at 80x24 again"
    keys t
    see "median time (us) vs sequence length N" plot-latency-again "t toggles back to latency"
else
    see "gnuplot is not installed" plot-80x24 "without gnuplot the plot screen says so"
fi
keys q
see "8/8 cases" results-again-80x24 "back from the plot"
keys e
see "exported 8 rows" results-export-80x24 "e exports the results as CSV"
csv=$(ls "$TMP"/exports/*results*.csv 2>/dev/null | head -1)
[ -n "$csv" ] && [ "$(wc -l < "$csv")" -eq 9 ] && head -1 "$csv" | grep -q '^kernel,impl' &&
    ok "the CSV has a header and 8 rows" || bad "results CSV"
keys q
see "2 runs" runs-again-80x24 "q back to the runs"
keys m Down m c
see "newly failing" compare-80x24 "m m c compares two runs"
expect_text "$PANE" "baseline run 1 base  vs  candidate run 2 new" "compare names baseline and candidate"
grep -Eq "candidate run 2 new  (PASS|FAIL \(([0-9]+ (regressed|inconclusive|newly_failing|accuracy_drop)(, )?)+\))" "$PANE" &&
    ok "compare states the outcome, PASS or FAIL" || bad "compare outcome: $(row 2)"
# inconclusive (few samples of a slow case, a slowdown they cannot decide) follows when there are any
counts=$(sed -n 's/^\([0-9]*\) regressed, \([0-9]*\) improved, \([0-9]*\) same, 0 new, 0 missing, 0 newly failing\(, \([0-9]*\) inc\)\{0,1\}.*/\1 \2 \3 \5/p' "$PANE")
counts=$(echo $counts | awk 'NF { print $1, $2, $3, ($4 == "" ? 0 : $4) }')
if [ -n "$counts" ] && [ $(( $(echo "$counts" | tr ' ' '+') )) -eq 8 ]; then
    ok "compare summary counts the 8 cases ($counts regressed/improved/same/inconclusive)"; else bad "compare summary: $(row 3)"; fi
# the same verdicts as `kbench compare` on the same runs (the one regression test, seeded)
"$KBENCH" compare 1 2 --db "$DB" --format json > "$TMP/compare.json" 2>/dev/null
cli=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["summary"]; print(s["regressed"], s["improved"], s["same"], s["inconclusive"])' "$TMP/compare.json" 2>&1)
expect_eq "$counts" "$cli" "the dashboard's counts are kbench compare's"
expect_text "$PANE" "ratio CI" "compare shows the ratio's confidence interval"
# a case's ratio CI is "lo-hi", or n/a where a side has too few samples to form one (a loaded
# machine can leave a slow case with few); every case still has its p-value and verdict
verdict_row="attention\..*([0-9.]+-[0-9.]+|n/a) .*([0-9]|<0\.001) +(same|regressed|improved|inconclusive) *$"
if wait_count "$verdict_row" 8 compare-rows-80x24; then ok "each of the 8 cases has its ratio CI, p-value and verdict"
else bad "each of the 8 cases has its ratio CI, p-value and verdict: got '$count', wanted '8'"; sed 's/^/# /' "$PANE"; fi
grep -Eq "^(same|regressed|improved|inconclusive): .*p" "$PANE" && grep -q "^attention\.[a-z]*@" "$PANE" &&
    ok "the cursor's case and the reason for its verdict at the bottom" || bad "no reason line: $(tail -3 "$PANE")"
keys Enter
see "Histogram of the" compare-detail-80x24 "Enter on a compared case opens its detail"
keys q
see "newly failing" compare-back-80x24 "q back to the compare screen"
keys '?'
see "kbench tui: keys" help-80x24 "? shows the help"
expect_text "$PANE" "sort by the next column" "help lists the sort key"
expect_text "$PANE" "paper claims on this machine" "help lists the claims key"
keys End
see "Claims (C on the runs screen)" help-claims-80x24 "help explains the claims screen"
keys q q C
see "No paper claims are stored for this machine" claims-none-80x24 "C with no claims stored says so"
expect_said "Run 'kbench claims --db <this file>'" "and says to run kbench claims"
keys q q
see "EXIT=0" quit-80x24 "q from the runs screen quits with status 0"
expect_eq "$(T display -p -t t '#{alternate_on}')" 0 "the terminal left the alternate screen"

# live: a run written while the dashboard watches appears without a key
start 80 24 "$TUI"
see "2 runs" live-before "live: dashboard open"
sweep --tag live
see "3 runs" live-after "a run committed by another process appears by itself"
expect_text "$PANE" "live: updated" "title says when it last saw a change"
# a crash signal restores the terminal too
pid=$(pgrep -n -f "kbench tui --db $DB")
[ -n "$pid" ] && kill -TERM "$pid"
see "EXIT=143" sigterm "SIGTERM ends the dashboard with the signal's status"
expect_eq "$(T display -p -t t '#{alternate_on}')" 0 "terminal restored after SIGTERM"

# colours, and none under NO_COLOR
start 80 24 "$TUI"
see "3 runs" colour "colour run open"
T capture-pane -e -p -t t | grep -q "$(printf '\033')\[[0-9;]*3[0-7]m\|$(printf '\033')\[[0-9;]*4[0-7]m" &&
    ok "colours on a colour terminal" || bad "no colour escapes"
start 80 24 "NO_COLOR=1 $TUI"
see "3 runs" no-colour "NO_COLOR run open"
T capture-pane -e -p -t t | grep -q "$(printf '\033')\[[0-9;]*[34][0-7]m" &&
    bad "NO_COLOR still coloured" || ok "NO_COLOR turns colours off"

# ---- 200x50 ------------------------------------------------------------------------------------
start 200 50 "$TUI"
see "3 runs" runs-200x50 "runs at 200x50"
expect_text "$PANE" "suite" "wide runs screen shows the suite column"
keys Enter
see "roof%" results-200x50 "wide results show shape and roofline columns"
grep -Eq "b=1 h=2 n=[0-9]+ d=32" "$PANE" && ok "wide results show the whole shape" || bad "wide results: no whole shape"
keys g
see "attention.reference" results-grouped-200x50 "g groups by kernel"
keys Space Down Down Down Down Space p
if [ $have_gnuplot -eq 1 ]; then
    see "exponent p" plot-200x50 "plot at 200x50"
    grep -Eq "^ [AB] attention\.reference .*p = [0-9]" "$PANE" && ok "wide legend has the exponent" || bad "wide legend"
fi
keys q q m Down m c
see "newly failing" compare-200x50 "compare at 200x50"
grep -q "shape.*baseline.*candidate.*ratio.*ratio CI.*p verdict" "$PANE" &&
    ok "wide compare shows shape, both medians, ratio, CI, p and verdict" || bad "wide compare columns: $(sed -n 4p "$PANE")"
keys q q
see "EXIT=0" quit-200x50 "quit at 200x50"

# ---- without gnuplot: the plot says so, the tables and the fit still work -----------------------
mkdir -p "$TMP/nognuplot"
start 80 24 "PATH='$TMP/nognuplot' $TUI"
see "3 runs" nognuplot-runs "dashboard runs without gnuplot on PATH"
keys Down Enter
see "8/8 cases" nognuplot-results "results without gnuplot"
keys p
see "gnuplot is not installed" nognuplot-plot "the plot screen says gnuplot is missing"
grep -Eq "^ A attention\..* p = [0-9]" "$PANE" && ok "the exponent is still fitted" || bad "no exponent without gnuplot"
keys q q q
see "EXIT=0" nognuplot-quit "quits normally"

# ---- paper claims (issue 9): the verdicts `kbench claims` stored --------------------------------
CDB="$TMP/claims.db"
mkdir -p "$TMP/claims"
cat >"$TMP/claims/01-fast.claim" <<'CLAIM'
id          = flash-beats-reference
paper       = A test paper on fused attention
quote       = the fused float32 kernel is faster than the float64 two-pass reference
hardware    = this test
metric      = speedup
candidate   = attention.flash
baseline    = attention.reference
paper_value = 1.5
max_time    = 0.05
[run]
heads    = 2
head_dim = 32
seq      = 128
CLAIM
if "$KBENCH" claims --claims "$TMP/claims" --db "$CDB" >"$TMP/claims.out" 2>&1; then
    ok "kbench claims judged the claim"; else bad "kbench claims failed: $(tail -3 "$TMP/claims.out")"; fi
start 80 24 "$TUI_CLAIMS"
see "1 run" claims-runs "dashboard open on the claims database"
keys C
see "Paper claims on this machine" claims-80x24 "C opens the paper claims"
expect_text "$PANE" "flash-beats-reference" "the claims screen shows the claim id"
grep -Eq "^  flash-beats-reference +1\.5x +this test +[0-9.]+x[ ~].* holds *$" "$PANE" &&
    ok "one row: paper's figure and hardware, this machine's figure, verdict holds" || bad "claim row: $(row 5)"
expect_text "$PANE" "1 holds, 0 partly" "the tally of verdicts"
# the only row is under the cursor (its own colours): the tally shows the verdict's colour
esc=$(printf '\033')
T capture-pane -e -p -t t | grep -Eq "$esc\[32m($esc\[[0-9;]*m)*1 holds" &&
    ok "holds is green" || bad "holds is not green"
keys Enter
see "The paper says" claim-80x24 "Enter shows the claim in full"
expect_said "\"the fused float32 kernel is faster than the float64 two-pass reference\"" "with the full quote"
expect_text "$PANE" "A test paper on fused attention" "and the paper's title"
expect_text "$PANE" "because    " "and the reason for the verdict"
keys q q q
see "EXIT=0" claims-quit "quits from the claims screens"

# ---- sampling that fell short: no CI for n < 3, the noise target marked ------------------------
"$KBENCH" run --db "$TMP/capped.db" --kernels selftest.spin --seq 100000 --min-samples 10 --max-time 0.05 \
    --min-samples-cap 0.15 --no-counters --quiet --no-show 2>/dev/null
start 100 30 "$KBENCH tui --db '$TMP/capped.db'"
see "1 run" capped-runs "dashboard open on a run stopped by --min-samples-cap"
keys Enter
see "selftest.spin" capped-results "its results"
expect_text "$PANE" "n/a*" "the CI of fewer than 3 samples reads n/a, marked noise target not met"
keys Enter
see "Histogram of the" capped-detail "Enter opens the case"
expect_said "n/a: fewer than 3 samples; target 1%, not met" "detail: no CI for n < 3, the noise target not met"
expect_said "of 10 asked (stopped by min-samples-cap)" "detail: the minimum was not reached, and why"
keys q q q
see "EXIT=0" capped-quit "quits"

# ---- a run under KBENCH_CPU_FEATURES: roof% against its masked peak, as the exports have it ----
MDB="$TMP/masked.db"
KBENCH_CPU_FEATURES=scalar "$KBENCH" run --db "$MDB" --kernels attention.flash@cpu --seq 128 --threads 1 \
    --max-time 0.02 --no-counters --quiet --no-show 2>/dev/null || bad "the masked sweep failed"
if [ -z "$("$SQLITE3" "$MDB" "SELECT cpu_mask FROM runs WHERE peak_f32_core > 0;")" ]; then
    ok "# SKIP the masked roof%: this CPU has nothing beyond scalar to mask, or its clock is unknown"
else
    "$KBENCH" export 1 --db "$MDB" -o "$TMP/masked.csv"
    "$SQLITE3" "$TMP/masked-imp.db" ".import --csv $TMP/masked.csv cases"
    want=$("$SQLITE3" -batch -noheader "$TMP/masked-imp.db" "SELECT printf('%.0f', 100 * roofline_fraction) FROM cases;")
    start 200 50 "$KBENCH tui --db '$MDB'"
    see "1 run" masked-runs "dashboard open on a masked run"
    keys Enter
    see "roof%" masked-results "its results"
    grep "attention.flash" "$PANE" | grep -Eq "(^| )$want%( |$)" && ok "roof% is the exports' fraction of the masked roof ($want%)" ||
        bad "roof% of the masked run: wanted $want%"
    keys Enter
    see "Histogram of the" masked-detail "Enter opens the case"
    keys G
    see "KBENCH_CPU_FEATURES=scalar" masked-detail-env "the detail's environment names the mask the run was made under"
    keys q q q
    see "EXIT=0" masked-quit "quits"
fi

# ---- every family: MoE tokens, GEMM rows, window attention (issue 18) -------------------------
FDB="$TMP/families.db"
frun() { "$KBENCH" run --db "$FDB" --max-time 0.02 --min-samples 3 --no-counters --quiet --no-show "$@" 2>/dev/null; }
frun --kernels 'moe.router,moe.layer' --tokens 32,64,128 --hidden 64 --ffn 128 --experts 4 --tag moe &&
frun --kernels 'quant.gemm_int8,gemm.f32' --m 16,32,64 --n 64 --k 64 --tag gemm &&
frun --kernels 'attention.window' --seq 128,256 --window 32 --heads 2 --head-dim 32 --tag window ||
    bad "the family sweeps into $FDB failed"
FTUI="$KBENCH tui --db '$FDB' --export-dir '$TMP/exports'"
start 80 24 "$FTUI"
see "3 runs" fam-runs-80x24 "dashboard open on the MoE, GEMM and window runs"
keys Down Down Enter
see "moe.layer" fam-moe-80x24 "the MoE run's results at 80x24"
expect_text "$PANE" "every case: hid=64 f=128 E=4 top=2 route=uniform" "80x24 MoE: the axes every case shares, once, whole"
grep -Eq "^  moe\.layer +cpu\.unfused +f32 +T=32 " "$PANE" &&
    ok "80x24 MoE: kernel, whole impl, type and tokens in one row" || bad "80x24 MoE row: $(grep 'moe.layer' "$PANE" | head -1)"
grep -q "~" "$PANE" && bad "80x24 MoE: a value cut: $(grep '~' "$PANE" | head -1)" || ok "80x24 MoE: no value cut"
keys / u n f u s e d Enter
see "(3 of 9 rows match)" fam-moe-filter "the filter keeps the unfused layer"
keys p
if [ $have_gnuplot -eq 1 ]; then
    see "exponent p (t ~ T^p)" fam-moe-plot-80x24 "p on a MoE case plots against tokens T"
    expect_text "$PANE" "median time (us) vs MoE tokens T (tokens)" "the plot names the swept axis and its unit"
    grep -qi "NaN\|undefined\|gnuplot>" "$PANE" && bad "a gnuplot error on screen" || ok "no gnuplot error, no NaN plot"
    grep -Eq "^ A moe\.layer .*p = [0-9.]+ \[" "$PANE" && ok "the MoE series is fitted along T" || bad "no fit along T"
    grep -Eq -- "-+A|A-+" "$PANE" && ok "gnuplot drew the MoE series" || bad "no MoE series drawn"
    keys e
    see "exported the plot to" fam-moe-export "e exports the MoE plot"
    svg=$(ls -t "$TMP"/exports/*.svg | head -1)
    grep -q "MoE tokens T (tokens" "$svg" && grep -q "median time per call (us" "$svg" &&
        ok "the exported SVG names the swept axis with its unit and one y unit" || bad "exported SVG labels"
    grep -q "<title>Gnuplot</title>" "$svg" && bad "the SVG is titled Gnuplot" || ok "the SVG is not titled Gnuplot"
    grep -Eqi "#0072b2|rgb\( *0, *114, *178\)" "$svg" && ok "the export uses the report's palette" || bad "export palette"
fi
keys q q
see "3 runs" fam-runs-again "back to the runs"
keys Up Enter
see "quant.gemm_int8" fam-gemm-80x24 "the GEMM run's results at 80x24"
grep -Eq "^  quant\.gemm_int8 +cpu +i8 +M=16 " "$PANE" && ok "80x24 GEMM: M is the shape that differs" ||
    bad "80x24 GEMM row: $(grep 'gemm_int8' "$PANE" | head -1)"
expect_text "$PANE" "every case: N=64 K=64" "80x24 GEMM: N and K shared"
keys p
if [ $have_gnuplot -eq 1 ]; then
    see "exponent p (t ~ M^p)" fam-gemm-plot-80x24 "p on a GEMM case plots against M"
    expect_text "$PANE" "vs GEMM rows M (rows)" "the GEMM plot names M and its unit"
fi
keys q q Up Enter
see "attention.window" fam-window-80x24 "the window run at 80x24"
expect_text "$PANE" "w=32" "80x24 window attention: w= shown"
keys q q q
see "EXIT=0" fam-quit-80x24 "quits"

start 200 50 "$FTUI"
see "3 runs" fam-runs-200x50 "the family runs at 200x50"
keys Down Down Enter
see "roof%" fam-moe-200x50 "MoE results at 200x50"
grep -Eq "^  moe\.layer +cpu\.unfused +cpu +f32 +T=32 hid=64 f=128 E=4 top=2 route=uniform +- " "$PANE" &&
    ok "200x50 MoE: whole impl and shape, N of a MoE case is '-'" || bad "200x50 MoE row: $(grep 'moe.layer' "$PANE" | head -1)"
grep -Eq "^  moe\.router .* 0 +[0-9.]+ [mu]s" "$PANE" && bad "a NULL axis shown as 0" || ok "no NULL shown as 0"
keys Down Down Down Space Down Down Space v
see "geometric mean of B/A over 3 pairs" fam-versus-200x50 "v sets the two marked implementations side by side"
grep -Eq "^moe\.layer@cpu\.unfused +moe\.layer@cpu\.fused +T=32 hid=64 .* [0-9.]+-[0-9.]+ " "$PANE" &&
    ok "each pair: both implementations, the shape, B/A and its CI" || bad "versus row: $(sed -n 4p "$PANE")"
keys q
see "roof%" fam-moe-back "back to the MoE results"
keys q Up Enter
see "quant.gemm_int8" fam-gemm-200x50 "GEMM results at 200x50"
grep -Eq "^  quant\.gemm_int8 +cpu\.naive +cpu +i8 +M=16 N=64 K=64 " "$PANE" && ok "200x50 GEMM: whole shape" ||
    bad "200x50 GEMM row: $(grep 'cpu.naive' "$PANE" | head -1)"
keys q Up Enter
see "attention.window" fam-window-200x50 "window results at 200x50"
grep -Eq "attention\.window +cpu\.naive .* w=32 " "$PANE" && ok "200x50 window: the whole shape with w=" ||
    bad "200x50 window row: $(grep 'cpu.naive' "$PANE" | head -1)"
keys q q q
see "EXIT=0" fam-quit-200x50 "quits"

# ---- a grid of two swept axes: x picks the plot's axis ------------------------------------------
GDB="$TMP/grid.db"
"$KBENCH" run --db "$GDB" --kernels moe.router --tokens 32,64,128 --experts 4,8 --hidden 64 --max-time 0.02 \
    --min-samples 3 --no-counters --quiet --no-show 2>/dev/null || bad "the grid sweep failed"
if [ $have_gnuplot -eq 1 ]; then
    start 80 24 "$KBENCH tui --db '$GDB'"
    see "1 run" grid-runs "dashboard open on a tokens x experts grid"
    keys Enter
    see "moe.router" grid-results "its results"
    keys p
    see "vs MoE tokens T" grid-plot-tokens "the longer sweep (3 token counts) is on x first"
    keys x
    see "vs experts E (experts)" grid-plot-experts "x puts the other swept axis, experts, on x"
    grep -Eq "^ A moe\.router .*p = " "$PANE" && ok "fitted along E" || bad "no fit along E"
    keys q q q
    see "EXIT=0" grid-quit "quits"
fi

# ---- measuring from the dashboard: re-measure, Ctrl-C (issue 18) -------------------------------
RDB="$TMP/remeasure.db"
cp "$FDB" "$RDB"
"$KBENCH" run --db "$RDB" --kernels selftest.spin --seq 300000 --max-time 0.05 --min-samples 1 --max-samples 2 \
    --no-counters --quiet --no-show 2>/dev/null || bad "the spin run failed"
rq() { "$SQLITE3" -batch -noheader "$RDB" "$1"; }
start 80 24 "$KBENCH tui --db '$RDB'"
see "4 runs" measure-runs "dashboard open to measure"
keys Down Down Down Enter
see "moe.layer" measure-results "the MoE run"
keys Space Space M
see "measured again into run 5" measure-done "M re-measures the two marked cases into a new run"
expect_said "7 not measured again (left out)" "the comparison leaves out what was not measured again"
grep -Eq "^  moe\.router +cpu +T=32 hid=64" "$PANE" && ok "the new result beside the old, with the whole shape" ||
    bad "comparison row: $(sed -n 4p "$PANE")"
expect_eq "$(rq "SELECT tags || ' ' || status || ' ' || cases FROM v_runs WHERE run_id = 5;")" "remeasure complete 2" \
    "the re-measure is stored as a complete run of 2 cases, tagged remeasure"
expect_eq "$(rq "SELECT group_concat(kernel || '@' || impl || ':' || tokens, ' ') FROM (SELECT * FROM cases WHERE run_id = 5 ORDER BY id);")" \
    "$(rq "SELECT group_concat(kernel || '@' || impl || ':' || tokens, ' ') FROM (SELECT * FROM cases WHERE run_id = 1 ORDER BY id LIMIT 2);")" \
    "the same cases, the same shapes"
keys q q Enter
see "tag moe" measure-cursor-kept "the runs screen kept its cursor on run 1 (by id) when run 5 appeared above it"
keys q Home Down Enter
see "selftest.spin" measure-spin "the slow run's results"
keys M
see "measuring 1/1 into run 6" measure-progress "the status line shows the measurement's progress"
keys C-c
see "measurement stopped" measure-stopped "Ctrl-C stops the measurement"
expect_eq "$(rq "SELECT status FROM runs WHERE id = 6;")" "interrupted" "the stopped run is marked interrupted"
grep -q "EXIT=" "$PANE" && bad "Ctrl-C ended the dashboard" || ok "the dashboard stays after Ctrl-C"
keys q q q
see "EXIT=0" measure-quit "quits normally afterwards"
# R repeats a run; U resumes one that lost its last case (a sweep killed before storing it)
"$SQLITE3" "$RDB" "PRAGMA foreign_keys = ON; UPDATE runs SET status = 'interrupted' WHERE id = 2;
    DELETE FROM cases WHERE id = (SELECT max(id) FROM cases WHERE run_id = 2);"
start 100 30 "$KBENCH tui --db '$RDB'"
see "6 runs" measure-runs-again "dashboard open again"
keys / g e m m Enter
see "interrupted" measure-interrupted "the interrupted GEMM run is listed"
keys U
see "run 2 resumed: 1 case measured" measure-resumed "U resumes the interrupted run"
expect_eq "$(rq "SELECT status || ' ' || cases FROM v_runs WHERE run_id = 2;")" "complete 9" "the resumed run is complete again"
keys R
see "tag repeat" measure-repeated "R repeats the run"
expect_eq "$(rq "SELECT count(*) FROM cases c JOIN run_tags t ON t.run_id = c.run_id WHERE t.tag = 'repeat';")" "9" \
    "the repeat measured every case of the run again"
keys q q
see "EXIT=0" measure-quit-again "quits"

# ---- the counters that moved: the cursor's case's, as `kbench compare` lists them -------------
# the test plugin's kernel does 50% more steps in the candidate (its own stat 'iterations'), as
# counters_moved.sh plants it
. "${top_srcdir:-.}/tests/plugin_lib.sh"
CDB="$TMP/counters.db"
if build_plugin "$TMP/libwork.so" "${top_srcdir:-.}/tests/fixtures/work_plugin.c"; then
    W="run --plugin $TMP/libwork.so --kernels test.work --seq 2000 --max-time 0.3 --db $CDB --quiet --no-show"
    # shellcheck disable=SC2086
    "$KBENCH" $W >/dev/null 2>&1
    # shellcheck disable=SC2086
    KBENCH_TEST_WORK_SCALE=1.5 "$KBENCH" $W >/dev/null 2>&1
    # the report's line up to its first counter (the largest change): the one row 80 columns keep whole
    cli_first() { "$KBENCH" compare 1 2 --db "$1" 2>/dev/null | sed -n 's/^ *\(counters: [^,;]*\).*/\1/p' | head -1; }
    first=$(cli_first "$CDB")
    start 80 24 "$KBENCH tui --db '$CDB'"
    see "2 runs" counters-runs-80x24 "counters: two runs of the test plugin"
    keys m Down m c
    see "counters: time " counters-80x24 "compare lists the counters that moved with the cursor's case"
    if [ -n "$first" ]; then expect_said "$first" "80x24: the same line as kbench compare's, largest change first ($first)"
    else bad "kbench compare listed no counters for the planted regression"; fi
    keys q q
    see "EXIT=0" counters-quit-80x24 "quit the counters compare at 80x24"
    start 200 50 "$KBENCH tui --db '$CDB'"
    see "2 runs" counters-runs-200x50 "counters: the runs at 200x50"
    keys m Down m c
    see "kernel iterations +50.0%" counters-200x50 "200x50: the kernel's step count moved +50%"
    # a side without counters: the report's words, "nothing was counted in the candidate run"
    cp "$CDB" "$TMP/none.db"
    "$SQLITE3" "$TMP/none.db" "DELETE FROM counters WHERE case_id IN (SELECT id FROM cases WHERE run_id = 2)"
    first=$(cli_first "$TMP/none.db")
    start 80 24 "$KBENCH tui --db '$TMP/none.db'"
    see "2 runs" counters-none-runs "nothing counted: the runs"
    keys m Down m c
    see "nothing was counted in the candidate run" counters-none-80x24 "a side without counters: nothing was counted, said so"
    expect_said "$first" "and in kbench compare's words ($first)"
else
    bad "the test plugin does not compile"; sed 's/^/# /' "$TMP/cc.err" | head
fi

# ---- databases that cannot be shown ------------------------------------------------------------
"$SQLITE3" "$TMP/foreign.db" "CREATE TABLE notes(x);"
start 80 24 "$KBENCH tui --db '$TMP/foreign.db'"
see "EXIT=2" foreign "a foreign database is refused with status 2"
expect_said "not a kbench database" "the message says it is not a kbench database"
start 80 24 "$KBENCH tui --db '$TMP/missing.db'"
see "EXIT=2" missing "a missing database is refused"
expect_said "no database at $TMP/missing.db" "the message names the missing file"
[ -e "$TMP/missing.db" ] && bad "tui created the missing database" || ok "tui did not create it"
: > "$TMP/empty.db"
start 80 24 "$KBENCH tui --db '$TMP/empty.db'"
see "EXIT=2" empty "an empty file is refused"
expect_said "it is empty" "the message says it is empty"
cp "$DB" "$TMP/newer.db"
"$SQLITE3" "$TMP/newer.db" "PRAGMA user_version = 999;"
start 80 24 "$KBENCH tui --db '$TMP/newer.db'"
see "EXIT=2" newer "a newer schema is refused"
expect_said "newer than this kbench" "the message says the schema is newer"
expect_exit 2 "tui without a terminal" "$KBENCH" tui --db "$DB"
expect_text "$TMP/err" "needs a terminal" "says it needs a terminal"
finish
