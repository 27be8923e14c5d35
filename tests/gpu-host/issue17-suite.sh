#!/bin/bash
# issue17-suite.sh - the h100 suite (kbench's kernels and the peers in one run) and its ratio table.
cd "$(dirname "$0")/../.." || exit 1
. .gpudeps/env.sh
export PYTHONPATH=/tmp/site
ls /tmp/site/fla >/dev/null 2>&1 || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl >/dev/null 2>&1
make -j16 -s kbench >/tmp/build.log 2>&1 || { grep -E 'error' /tmp/build.log | head; exit 1; }
echo "start $(date -u +%T)"
timeout ${SUITE_TIMEOUT:-540} ./kbench run --db $OUT/h100.db --suite h100 --tag h100 --max-time ${MAXT:-0.2} ${SUITE_ARGS:-} --no-show > /tmp/suite.log 2>&1
echo "suite rc=$? $(date -u +%T)"
grep -iE 'cannot be tested|error|wrong|fail' /tmp/suite.log | sort | uniq -c | head -20
python3 tests/gpu-host/ratios.py $OUT/h100.db
