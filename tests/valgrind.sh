#!/bin/sh
# valgrind.sh - memcheck over a whole (small) integration run: no invalid access and no leak
# definitely lost, in the parent or in the forked case processes. (A case process ends with
# _exit and leaves what it inherited from the parent, such as SQLite's page cache, reachable or
# "possibly lost": not a leak of kbench's, so only definite leaks are shown and counted.)
. "${top_srcdir:-.}/tests/lib.sh"
if ! command -v valgrind >/dev/null 2>&1; then
    echo "1..0 # SKIP valgrind is not installed"
    exit 0
fi
if [ "${KBENCH_SANITIZERS:-no}" = yes ]; then
    echo "1..0 # SKIP this is the sanitizer build (ASan and valgrind cannot watch one process together)"
    exit 0
fi
DB="$TMP/vg.db"
valgrind -q --suppressions="${top_srcdir:-.}/tests/valgrind.supp" --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite --error-exitcode=9 \
    "$KBENCH" run --db "$DB" --kernels 'attention.*,selftest.noop' --seq 32,48 --head-dim 8 --heads 2 \
    --causal 0,1 --max-time 0.02 --quiet >"$TMP/out" 2>"$TMP/vg.log"
rc=$?
expect_eq "$rc" "0" "a run under memcheck exits 0 (9 would be a memcheck error)"
if grep -q "==[0-9]*==" "$TMP/vg.log"; then
    bad "memcheck reported errors"; sed 's/^/# /' "$TMP/vg.log" | head -20
else
    ok "memcheck reported nothing"
fi
expect_text "$TMP/out" "attention.flash" "the run printed its results"
finish
