#!/bin/bash
# h100-suite.sh - `kbench run --suite h100` as ONE run over several device calls (the suite takes
# longer than one call may): the first call calibrates and starts the run, every later call
# resumes it (`kbench run --resume`), until it is complete. A run resumes on the machine that
# started it only, so make the calls back to back while the lent machine is still held. The
# device does NOT keep ignored folders between calls: after each call copy the returned
# $OUT/h100.db to .gpurun/h100.db here and name .gpurun in the next call's carry. SUITE_LIMIT
# (seconds, default 520) bounds this call's share; kbench stores every finished case and marks
# the run interrupted when the time is up (SIGTERM), so nothing measured is lost.
cd "$(dirname "$0")/../.." || exit 1
. .gpudeps/env.sh
export PYTHONPATH=/tmp/site
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl >/dev/null 2>&1
[ -x kbench ] || bash tests/gpu-host/build.sh || exit 1
mkdir -p .gpurun
DB=.gpurun/h100.db
start=$(date +%s)
left() { echo $(( ${SUITE_LIMIT:-520} - ($(date +%s) - start) )); }
run=$( [ -f "$DB" ] && sqlite3 "$DB" "SELECT max(id) FROM runs WHERE status = 'interrupted' AND suite = 'h100';" 2>/dev/null)
if [ -n "$run" ]; then
    echo "=== resuming run $run $(date -u +%T)"
    timeout "$(left)" ./kbench run --db "$DB" --resume "$run" --quiet --no-show 2>&1 | grep -Ev '^warning' | tail -3
else
    echo "=== calibrating, then starting the suite $(date -u +%T)"
    ./kbench calibrate --db "$DB" --devices cuda:0 >/dev/null 2>&1
    timeout "$(left)" ./kbench run --db "$DB" --suite h100 --tag h100 --max-time 0.3 --no-metrics --quiet --no-show 2>&1 |
        grep -Ev '^warning' | tail -3
fi
sqlite3 "$DB" "SELECT id, status, planned_cases, (SELECT count(*) FROM cases c WHERE c.run_id = r.id) FROM runs r WHERE suite = 'h100';"
[ "$(sqlite3 "$DB" "SELECT status FROM runs WHERE suite = 'h100' ORDER BY id DESC LIMIT 1;")" = complete ] &&
    python3 tests/gpu-host/ratios.py "$DB" 2>&1 | tail -60
cp "$DB" "$OUT/h100.db"
echo "done $(date -u +%T)"
