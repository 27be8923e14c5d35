#!/bin/sh
# confirm_false_alarms.sh - a benchmark, not part of `make check`: N noisy nightly pairs (a quiet
# base run, then a candidate run of the same build with a neighbour busy on kbench's CPU), each
# compared three ways: on the first measurement alone, with --confirm against the base run, and
# with --confirm in turn with the baseline build. Counts the false alarms (exit 1) of each.
#   KBENCH=./kbench tests/confirm_false_alarms.sh 20
. "${top_srcdir:-.}/tests/lib.sh"
N=${1:-20}
cpu=$(taskset -pc $$ | sed 's/.*: *//; s/[,-].*//')
hog=
trap 'kill $hog 2>/dev/null; rm -rf "$TMP"' EXIT
printf '#!/bin/sh\nexec "%s" "$@"\n' "$KBENCH" >"$TMP/baseline"; chmod +x "$TMP/baseline"
DB="$TMP/f.db"
RUN="run --kernels selftest.spin --seq 200 --max-time 0.5 --min-sample-time 0.03 --no-counters --db $DB --quiet --no-show"
first=0 against=0 inturn=0
i=1
while [ $i -le "$N" ]; do
    # shellcheck disable=SC2086
    taskset -c "$cpu" "$KBENCH" $RUN >/dev/null 2>&1; base=$(sqlite3 "$DB" "SELECT max(id) FROM runs")
    taskset -c "$cpu" sh -c 'while :; do :; done' & hog=$!
    # shellcheck disable=SC2086
    taskset -c "$cpu" "$KBENCH" $RUN >/dev/null 2>&1; cand=$(sqlite3 "$DB" "SELECT max(id) FROM runs")
    kill $hog; wait $hog 2>/dev/null; hog=
    C="compare $base $cand --db $DB --threshold 0.3"
    # shellcheck disable=SC2086
    taskset -c "$cpu" "$KBENCH" $C >/dev/null 2>&1; [ $? -eq 1 ] && first=$((first + 1))
    # shellcheck disable=SC2086
    taskset -c "$cpu" "$KBENCH" $C --confirm >/dev/null 2>&1; [ $? -eq 1 ] && against=$((against + 1))
    # shellcheck disable=SC2086
    taskset -c "$cpu" "$KBENCH" $C --confirm --baseline-bin "$TMP/baseline" >/dev/null 2>&1; [ $? -eq 1 ] && inturn=$((inturn + 1))
    echo "# pair $i: alarms so far: first measurement $first, confirmed against the base run $against, confirmed in turn $inturn"
    i=$((i + 1))
done
echo "false alarms over $N noisy pairs: first measurement $first/$N; --confirm against the base run $against/$N; --confirm --baseline-bin $inturn/$N"
