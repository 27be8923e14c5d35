# sweeps.sh - sourced by first-call.sh and written-call.sh: verification sweeps side by side, each
# into $OUT/NAME.db with its log, then one line per sweep of what verified and what did not.
#   sweep NAME ARGS...     kbench run $V ARGS (V set by the caller), bounded by NEW_LIMIT seconds
#   sweep_report NAME...   cases and verified cases of each, and up to 6 that failed
#   call_start [build]     the call's clock (t0) and fla's wheel from .whl on PYTHONPATH; with
#                          `build`, then tests/gpu-host/build.sh (its status is call_start's)
#   step NAME LIMIT ARGS... kbench run $P ARGS (P set by the caller), its output appended to
#                          $OUT/steps.log, bounded by LIMIT seconds and by what is left of the
#                          call (CALL_LIMIT seconds from t0, less 20 s so the results still print)
#   delta_report DB        the delta-rule timings of DB (kbench's and fla's, with the state pass's
#                          width), @cuda.mma's kernels at 16k (CUPTI trace), and the cases not ok
sweep() { name=$1; shift; ( timeout "${NEW_LIMIT:-150}" ./kbench run --db "$OUT/$name.db" $V "$@" >"$OUT/$name.log" 2>&1; echo "$name exit $?" ); }
sweep_report() {
    for name in "$@"; do
        f=$OUT/$name.db
        echo "$name: $(sqlite3 "$f" "SELECT count(*) || ' cases, ' || sum(c.status = 'ok' AND a.passed = 1) || ' verified ok' FROM cases c LEFT JOIN accuracy a ON a.case_id = c.id;")"
        sqlite3 "$f" "SELECT kernel || '@' || impl, dtype, seq_len, head_dim, status, substr(coalesce(error, ''), 1, 160) FROM cases c LEFT JOIN accuracy a ON a.case_id = c.id WHERE c.status != 'ok' OR a.passed = 0 LIMIT 6;"
    done
}
step() {
    name=$1; lim=$2; shift 2
    left=$(( ${CALL_LIMIT:-500} - 20 - ($(date +%s) - t0) )); [ "$lim" -gt "$left" ] && lim=$left
    [ "$lim" -lt 10 ] && { echo "=== $name skipped: the call's time is spent"; return; }
    echo "=== $name $(date -u +%T) (at most $lim s)"
    timeout "$lim" ./kbench run $P "$@" >>"$OUT/steps.log" 2>&1
    echo "exit $?"
}
# The flags of a verification sweep (tests/gpu.sh's), unless the caller set V.
V=${V:-"--devices cuda:0 --max-time 0.02 --min-time 0.005 --no-counters --no-metrics --quiet --no-show --timeout 20"}
call_start() {
    t0=$(date +%s)
    export PYTHONPATH=/tmp/site
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
        .whl/*.whl >/dev/null 2>&1
    [ "$1" != build ] || bash tests/gpu-host/build.sh
}
delta_report() {
    sqlite3 -separator ' ' "$1" "SELECT r.kernel || '@' || r.impl, 'n' || r.seq_len, 'decay' || r.decay, r.status, printf('%.1fus', r.median_us), printf('err%.2g', r.rel_l2_err), coalesce((SELECT group_concat(k.name || '=' || k.value, ' ') FROM counters k WHERE k.case_id = r.case_id AND k.name = 'delta.state_channels'), '') FROM v_results r ORDER BY r.case_id;" | sed 's/  */ /g'
    sqlite3 -separator ' ' "$1" "SELECT c.id, substr(g.name, 1, 44), printf('%.1fus', 1e6 * g.duration_s) FROM gpu_kernels g JOIN cases c ON c.id = g.case_id WHERE c.impl = 'cuda.mma' AND c.seq_len = 16384 ORDER BY c.id, g.idx;" | sed 's/^/kernels: /'
    sqlite3 "$1" "SELECT kernel || '@' || impl || ': ' || substr(error, 1, 160) FROM cases WHERE status NOT IN ('ok') LIMIT 6;"
}
