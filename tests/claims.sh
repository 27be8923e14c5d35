#!/bin/sh
# claims.sh - `kbench claims` end to end: a claim file runs its sweep (the sweep API, as `kbench run` does),
# is judged, stored and shown; a second call reuses the run; a claim whose kernel is missing is
# "cannot be tested" without running anything; bad input exits 2.
. "${top_srcdir:-.}/tests/lib.sh"
need_sqlite3
DB="$TMP/claims.db"
mkdir "$TMP/claims"
cat >"$TMP/claims/01-fast.claim" <<'CLAIM'
id          = flash-beats-reference
paper       = A test paper
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
seq      = 128,256
CLAIM
cat >"$TMP/claims/02-missing.claim" <<'CLAIM'
id          = quantum-attention
paper       = Another test paper
quote       = quantum attention is infinitely fast
metric      = speedup
candidate   = attention.quantum
baseline    = attention.flash
paper_value = 1000
CLAIM

expect_exit 0 "claims runs the sweeps and judges them" "$KBENCH" claims --claims "$TMP/claims" --db "$DB"
expect_text "$TMP/out" "flash-beats-reference" "the table names the claim"
expect_text "$TMP/out" "holds" "flash is faster than the float64 reference: holds"
expect_text "$TMP/out" "cannot be tested here" "a claim whose kernel is missing cannot be tested"
expect_text "$TMP/out" "no kernel attention.quantum in this build" "and says which kernel is missing"
expect_text "$TMP/err" "running its sweep" "progress on stderr"
expect_eq "$(q "SELECT count(*) FROM runs WHERE id IN (SELECT run_id FROM run_tags WHERE tag = 'claim-flash-beats-reference');")" "1" "the sweep is an ordinary tagged run"
expect_eq "$(q "SELECT count(*) FROM cases WHERE status = 'ok';")" "4" "both kernels at both sizes measured"
expect_eq "$(q "SELECT verdict FROM claims WHERE claim_id = 'flash-beats-reference';")" "holds" "the verdict is stored"
expect_eq "$(q "SELECT run_id IS NULL FROM claims WHERE claim_id = 'quantum-attention';")" "1" "nothing ran for the untestable claim"

expect_exit 0 "a second call reuses the run" "$KBENCH" claims --claims "$TMP/claims" --db "$DB" --only 1
expect_text "$TMP/err" "reusing run" "says it reuses"
expect_eq "$(q "SELECT count(*) FROM runs;")" "1" "no new run"
expect_eq "$(q "SELECT count(*) FROM claims;")" "3" "a new evaluation row"
expect_exit 0 "--fresh runs again" "$KBENCH" claims --claims "$TMP/claims" --db "$DB" --only flash-beats-reference --fresh
expect_eq "$(q "SELECT count(*) FROM runs;")" "2" "a second run"
expect_exit 0 "--show prints stored verdicts" "$KBENCH" claims --show --db "$DB" --format md
expect_text "$TMP/out" "| flash-beats-reference |" "markdown table row"
expect_exit 0 "--format json" "$KBENCH" claims --show --db "$DB" --format json
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d)==2' "$TMP/out" 2>/dev/null; then
    ok "json output parses with two claims"; else bad "json output: $(head -3 "$TMP/out")"; fi

if command -v gnuplot >/dev/null 2>&1; then
    expect_exit 0 "report --claims writes the claims page" "$KBENCH" report --claims --out "$TMP/rep" --db "$DB"
    expect_text "$TMP/rep/claims.md" "flash-beats-reference" "claims.md names the claim"
    expect_text "$TMP/rep/claims.html" "data:image/png;base64," "claims.html embeds its plots"
    if [ -s "$TMP/rep/claim_flash-beats-reference.png" ] && [ -s "$TMP/rep/claim_flash-beats-reference.gp" ]; then
        ok "one plot per claim, with its script"; else bad "no claim plot in $(ls "$TMP/rep" | tr '\n' ' ')"; fi
    expect_text "$TMP/rep/claim_quantum-attention.dat" '"paper" 1000' "an untestable claim still shows the paper's figure"
else
    ok "# SKIP report --claims: gnuplot is not installed"
fi
expect_exit 2 "report --claims with no verdicts stored" "$KBENCH" report --claims --out "$TMP/rep2" --db "$TMP/none.db"

expect_exit 0 "a claim whose baseline has no GPU implementation" "$KBENCH" claims --claims "$TMP/claims" --db "$TMP/gpu.db" --only 1 --devices cuda:0
expect_text "$TMP/out" "attention.reference (no implementation for cuda:0)" "cannot be tested on the GPU, and says why"
expect_eq "$(q "SELECT count(*) FROM runs;")" "2" "nothing was run for it"

expect_exit 2 "unknown option" "$KBENCH" claims --bogus
expect_exit 2 "--only naming no claim" "$KBENCH" claims --claims "$TMP/claims" --db "$DB" --only nope
printf 'id = x\nmetric = fastest\n' >"$TMP/claims/03-bad.claim"
expect_exit 2 "a malformed claim file" "$KBENCH" claims --claims "$TMP/claims" --db "$DB" --list
expect_text "$TMP/err" "03-bad.claim:2:10: unknown metric 'fastest'" "names file, line and column"
rm "$TMP/claims/03-bad.claim"
# a sweep that cannot be planned: its reason comes back from the sweep itself (not from another
# process's stderr) and becomes the verdict's
mkdir "$TMP/bad"
cat >"$TMP/bad/01-bad-shape.claim" <<'CLAIM'
id          = bad-shape
paper       = A test paper
quote       = grouped heads that do not divide
metric      = speedup
candidate   = attention.flash
baseline    = attention.reference
paper_value = 1.5
[run]
heads    = 3
kv_heads = 2
seq      = 128
CLAIM
expect_exit 0 "a claim whose sweep cannot be planned" "$KBENCH" claims --claims "$TMP/bad" --db "$TMP/bad.db"
expect_text "$TMP/out" "its sweep could not run: --heads 3 is not a multiple of --kv-heads 2" "the planner's reason is the verdict's"
expect_eq "$("$SQLITE3" "$TMP/bad.db" "SELECT verdict || ' ' || (run_id IS NULL) FROM claims;")" "cannot be tested here 1" "stored untestable, with no run"
# claims and nightly measure through the sweep API: neither runs kbench as a child nor reads its text
if grep -nE 'exec[lv]|/proc/self/exe|popen|"kbench run:' "$top_srcdir/bench/cmd_claims.c" "$top_srcdir/bench/cmd_nightly.c"; then
    bad "cmd_claims.c or cmd_nightly.c runs kbench or parses its output"
else
    ok "cmd_claims.c and cmd_nightly.c call the sweep directly"
fi

expect_exit 0 "the shipped claims list" "$KBENCH" claims --list
expect_text "$TMP/out" "lightning-attention-2" "shipped claim 1 listed"
finish
