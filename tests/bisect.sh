#!/bin/sh
# bisect.sh - `kbench bisect` over a throwaway git repository of a plugin (harness/bisect.h): ten
# commits, one of which makes the kernel 20% slower (more steps per call) and one of which does
# not build; bisect names the slow commit with its evidence, reports the skipped one, stores every
# measurement as a tagged run and says what it cost. The plugin is compiled by the repository's
# own Makefile against the kbench.h of the build under test (tests/plugin_lib.sh).
. "${top_srcdir:-.}/tests/lib.sh"
need_sqlite3
timing_lock # it judges "slower" from timings: not beside a test that plants a busy neighbour
src=${top_srcdir:-.}
. "$src/tests/plugin_lib.sh"
if ! command -v git >/dev/null 2>&1; then echo "1..0 # SKIP git is not installed"; exit 0; fi
# the repository's own make must not inherit make check's command line or jobserver
unset MAKEFLAGS MFLAGS MAKELEVEL
DB="$TMP/b.db"
R="$TMP/repo"
mkdir -p "$R"
g() { git -C "$R" -c user.name=kbench-test -c user.email=test@kbench.invalid "$@" >/dev/null; }
g init -q
cp "$src/tests/fixtures/work_plugin.c" "$R/work.c"
cat >"$R/Makefile" <<EOS
libwork.so: work.c work.h
	\$(CC) -std=c11 -O2 -Wall -Wextra $KBENCH_CFLAGS -shared -fPIC -o libwork.so work.c -lm
EOS
printf '#define WORK 100\n' >"$R/work.h"
sed -i 's|^#ifndef WORK$|#include "work.h"\n#ifndef WORK|' "$R/work.c"
g add -A; g commit -q -m "c1: the kernel"
i=2
while [ $i -le 10 ]; do
    case $i in
    5) printf 'this is not C\n' >>"$R/work.c"; msg="c5: a change that does not build" ;;
    6) sed -i '$d' "$R/work.c"; msg="c6: builds again" ;;
    7) printf '#define WORK 120\n' >"$R/work.h"; msg="c7: twenty percent more work per call" ;;
    *) printf '/* note %d */\n' $i >>"$R/work.h"; msg="c$i: a comment" ;;
    esac
    g add -A; g commit -q -m "$msg"
    i=$((i + 1))
done
good=$(git -C "$R" rev-list --max-parents=0 HEAD)
slow=$(git -C "$R" log --format=%H --grep='^c7:')
broken=$(git -C "$R" log --format=%H --grep='^c5:')
B="--repo $R --build make --plugin libwork.so --db $DB --max-time 0.3"
CASE="test.work@cpu seq=2000"

start=$(date +%s)
# shellcheck disable=SC2086
expect_exit 0 "bisect finds a first bad commit" "$KBENCH" bisect "$good" HEAD $B --case "$CASE"
end=$(date +%s)
sed 's/^/# /' "$TMP/out"
expect_text "$TMP/out" "first bad commit: $slow c7: twenty percent more work per call" "it is the commit that made the kernel slower"
expect_text "$TMP/out" "evidence: last good" "with the evidence on both sides"
grep "^change: +" "$TMP/out" | sed -n 's/^change: +\([0-9]*\)\..*/\1/p' >"$TMP/pct"
pct=$(cat "$TMP/pct")
if [ -n "$pct" ] && [ "$pct" -ge 10 ] && [ "$pct" -le 30 ]; then ok "the change between them is about +20% (+$pct%)"
else bad "the change between last good and first bad: '$(grep '^change' "$TMP/out")'"; fi
expect_text "$TMP/out" "cost: " "the cost is reported"
# the search's first midpoint is c5, which does not build: skipped, reported, and c6 tried instead
if grep -q "^$(echo "$broken" | cut -c1-12) *skipped (build)" "$TMP/out"; then
    ok "the commit that does not build is skipped and reported"
else bad "c5 (does not build) is not reported as skipped"; fi
expect_text "$TMP/out" "the build failed (exit" "with why"
expect_text "$TMP/out" "skipped: 1 commit" "and counted"
tested=$(grep -c "^[0-9a-f]\{12\} *\(good\|bad\)" "$TMP/out")
if [ "$tested" -le 6 ]; then ok "a binary search: $tested of 10 commits measured"; else bad "$tested commits measured: not a binary search"; fi
runs=$(q "SELECT count(*) FROM v_runs WHERE tags LIKE 'bisect-%'")
if [ "$runs" -ge "$tested" ]; then ok "every measurement is stored as a tagged run ($runs)"; else bad "$runs tagged runs for $tested commits"; fi
# once, or twice where its first measurement could be shown neither good nor bad (a loaded
# machine: harness/bisect.c's classify measures it again)
slow_runs=$(q "SELECT count(*) FROM v_runs WHERE ','||tags||',' LIKE '%,bisect-$(echo "$slow" | cut -c1-12),%'")
if [ "$slow_runs" = 1 ] || [ "$slow_runs" = 2 ]; then ok "the slow commit's measurement is tagged with its name ($slow_runs)"
else bad "the slow commit's measurement is tagged with its name: $slow_runs runs, wanted 1 or 2"; fi
expect_eq "$(git -C "$R" status --porcelain | wc -l)" "0" "the repository's work tree is untouched"
head=$(git -C "$R" rev-parse HEAD | cut -c1-12)
expect_eq "$(q "SELECT count(*) FROM v_runs WHERE ','||tags||',' LIKE '%,bisect-first-bad,%' AND ','||tags||',' LIKE '%,bisect-$(echo "$slow" | cut -c1-12),%'")" "1" \
    "the answer is in the database: the slow commit's run is tagged bisect-first-bad"
expect_eq "$(q "SELECT count(*) FROM v_runs WHERE ','||tags||',' LIKE '%,bisect-skipped,%'")" "0" \
    "a commit that did not build has no run to tag"
if [ "$(q "SELECT count(*) FROM v_runs WHERE ','||tags||',' LIKE '%,bisect-for-$head,%'")" -ge 4 ] &&
   [ "$(q "SELECT count(*) FROM v_runs WHERE ','||tags||',' LIKE '%,bisect-good,%'")" -ge 1 ]; then
    ok "each tested commit's run says its bisection (bisect-for-$head) and its verdict (bisect-good/bad)"
else bad "bisect tags: $(q "SELECT group_concat(tags, ' | ') FROM v_runs")"; fi
echo "# bisect took $((end - start)) s"

# ---- the dashboard's bisect screen (B from the runs): the answer and each commit's verdict ----
if command -v tmux >/dev/null 2>&1; then
    SOCK="kbench-bisect-test-$$"
    trap 'tmux -L "$SOCK" kill-server 2>/dev/null; rm -rf "$TMP"' EXIT
    tmux -L "$SOCK" -f /dev/null new-session -d -s t -x 120 -y 30 "$KBENCH tui --db $DB; sleep 60"
    # waits (at most 30 s) until the pane shows TEXT
    pane_shows() {
        i=0
        while [ $i -lt 300 ]; do
            tmux -L "$SOCK" capture-pane -J -p -t t >"$TMP/pane.txt"
            grep -qF -- "$1" "$TMP/pane.txt" && return 0
            sleep 0.1; i=$((i + 1))
        done
        return 1
    }
    pane_shows "runs" && tmux -L "$SOCK" send-keys -t t B
    if pane_shows "first bad commit $(echo "$slow" | cut -c1-12)"; then ok "the dashboard's bisect screen names the first bad commit"
    else bad "the bisect screen"; sed 's/^/# /' "$TMP/pane.txt" | head -12; fi
    # polled too: the pane may be captured between the header's drawing and the rows' (a
    # sanitizer build drew the screen slowly enough for that)
    if pane_shows "FIRST BAD"; then ok "and marks its row"
    else bad "and marks its row: 'FIRST BAD' not in the pane"; sed 's/^/# /' "$TMP/pane.txt" | head -12; fi
    [ -n "${KBENCH_BISECT_PANE:-}" ] && cp "$TMP/pane.txt" "$KBENCH_BISECT_PANE"
    tmux -L "$SOCK" send-keys -t t q q
else
    ok "# SKIP tmux is not installed: the dashboard's bisect screen is not driven"
fi

# ---- kbench's own repository: the build makes a kbench (here a wrapper of the one under test
# whose fourth commit sets KBENCH_SPIN_SCALE=1.3, a slower selftest.spin) and bisect measures it ----
K2="$TMP/own"
mkdir -p "$K2"
g2() { git -C "$K2" -c user.name=kbench-test -c user.email=test@kbench.invalid "$@" >/dev/null; }
g2 init -q
printf 'SCALE=1\n' >"$K2/scale"
printf '#!/bin/sh\n. ./scale\nprintf "#!/bin/sh\\nKBENCH_SPIN_SCALE=$SCALE exec %%s \\"\\$@\\"\\n" "$1" >kbench\nchmod +x kbench\n' >"$K2/build.sh"
g2 add -A; g2 commit -q -m "k1"
for i in 2 3 4 5 6; do
    if [ $i -eq 4 ]; then printf 'SCALE=1.3\n' >"$K2/scale"; else printf '# %d\n' $i >>"$K2/build.sh"; fi
    g2 add -A; g2 commit -q -m "k$i"
done
own_slow=$(git -C "$K2" log --format=%H --grep='^k4$')
expect_exit 0 "bisect over a repository that builds kbench itself (--bin)" "$KBENCH" bisect HEAD~5 HEAD --repo "$K2" \
    --build "sh build.sh $KBENCH" --case "selftest.spin seq=300" --db "$DB" --max-time 0.3
expect_text "$TMP/out" "first bad commit: $own_slow k4" "it names the commit that made selftest.spin 30% slower"

# ---- no answer, bad input ----
# shellcheck disable=SC2086
expect_exit 1 "GOOD and BAD equally fast: nothing to bisect" "$KBENCH" bisect "$good" "$(git -C "$R" log --format=%H --grep='^c4:')" $B --case "$CASE"
expect_text "$TMP/out" "not shown slower than GOOD" "and says so"
# shellcheck disable=SC2086
expect_exit 2 "BAD before GOOD is refused" "$KBENCH" bisect HEAD "$good" $B --case "$CASE"
expect_text "$TMP/err" "not an ancestor" "naming the problem"
# shellcheck disable=SC2086
expect_exit 2 "an unknown commit is refused" "$KBENCH" bisect nosuchrev HEAD $B --case "$CASE"
expect_text "$TMP/err" "'nosuchrev' is not a commit" "naming it"
# shellcheck disable=SC2086
expect_exit 2 "a --case that plans several cases is refused" "$KBENCH" bisect "$good" HEAD $B --case "test.work@cpu seq=100,200"
expect_text "$TMP/err" "plans 2 cases" "saying how many it plans"
expect_exit 2 "--case is required" "$KBENCH" bisect "$good" HEAD --repo "$R" --build make
expect_exit 2 "a bad --case word is refused" "$KBENCH" bisect "$good" HEAD --repo "$R" --build make --case "test.work seq"
finish
