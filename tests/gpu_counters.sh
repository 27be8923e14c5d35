#!/bin/sh
# gpu_counters.sh - counters that moved, on a GPU (issue 19): a CUDA plugin kernel that reads seq
# MiB from DRAM is made to read 50% more ($KBENCH_TEST_TRAFFIC_SCALE, the same case), and the
# regressed case's counters must name CUPTI's DRAM bytes read among the counters that moved, up
# by about as much; where CUPTI's range profiler may not count (profiling not permitted) the line
# must say nothing moved rather than name a counter. Skips, saying why, without a CUDA device or nvcc.
. "${top_srcdir:-.}/tests/lib.sh"
need_sqlite3
"$KBENCH" devices >"$TMP/devices" 2>&1
if ! grep -q '^cuda:0' "$TMP/devices"; then
    echo "1..0 # SKIP no CUDA device: $(sed -n 's/^cuda *//p' "$TMP/devices" | head -1)"; exit 0
fi
NVCC=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
if ! [ -x "$NVCC" ]; then echo "1..0 # SKIP nvcc is not installed: the CUDA test plugin cannot be built"; exit 0; fi
src=${top_srcdir:-.}
. "$src/tests/plugin_lib.sh"
P="$TMP/libtraffic.so"
# shellcheck disable=SC2086
if "$NVCC" -O2 -c -Xcompiler -fPIC -o "$TMP/k.o" "$src/tests/fixtures/traffic_kernel.cu" 2>"$TMP/cc.err" &&
   $CC -std=c11 -O2 -Wall -Wextra -Werror $KBENCH_CFLAGS -fPIC -c -o "$TMP/p.o" "$src/tests/fixtures/traffic_plugin.c" 2>>"$TMP/cc.err" &&
   "$NVCC" -shared -o "$P" "$TMP/p.o" "$TMP/k.o" 2>>"$TMP/cc.err"; then
    ok "the CUDA test plugin builds against kbench.h"
else bad "the CUDA test plugin does not build"; sed 's/^/# /' "$TMP/cc.err" | head; finish; exit; fi
DB="$TMP/g.db"
R="run --plugin $P --devices cuda:0 --kernels test.traffic --seq 512 --max-time 0.5 --db $DB --quiet --no-show"
# shellcheck disable=SC2086
expect_exit 0 "the base run" "$KBENCH" $R
# shellcheck disable=SC2086
KBENCH_TEST_TRAFFIC_SCALE=1.5 expect_exit 0 "the candidate reads 50% more" "$KBENCH" $R
expect_exit 1 "it regresses" "$KBENCH" compare 1 2 --db "$DB"
line=$(grep -o 'counters: .*' "$TMP/out")
echo "# $line"
status=$(q "SELECT metrics_status FROM cases WHERE run_id = 2")
case $status in
ok*)
    if echo "$line" | grep -q "cupti dram__bytes_read.sum +"; then ok "the moved counters name DRAM bytes read"
    else bad "DRAM bytes read is not among the counters that moved"; fi
    pct=$(echo "$line" | sed -n 's/.*cupti dram__bytes_read.sum +\([0-9]*\)\..*/\1/p')
    if [ -n "$pct" ] && [ "$pct" -ge 35 ] && [ "$pct" -le 65 ]; then ok "by about the 50% planted (+$pct%)"
    else bad "DRAM bytes read moved +$pct%, not about 50%"; fi ;;
*)
    ok "# SKIP CUPTI's metrics were not collected here ($status)"
    if echo "$line" | grep -q "cupti"; then bad "a CUPTI counter is named where none was collected"
    else ok "no CUPTI counter is named where none was collected"; fi ;;
esac
"$KBENCH" compare 1 2 --db "$DB" --format json >"$TMP/g.json" 2>/dev/null
expect_text "$TMP/g.json" '"moved": [' "JSON lists the counters that moved"
finish
