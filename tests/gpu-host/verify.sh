#!/bin/bash
# verify.sh - build on the GPU host (tests/gpu-host/build.sh) and run tests/gpu.sh, keeping its
# scratch folder: every job's database and log come back as $OUT/gpu-sh.tar.gz for a post-mortem,
# and the failures with their diagnostics are printed. GPU_SH_LIMIT (seconds) bounds gpu.sh; if it
# runs out, the exit status of each verification job that finished is listed. Without it gpu.sh
# gets what CALL_LIMIT (default 590: the device call's 600 s) leaves after the build, less 20 s
# for the report and the tarball, which a call cut at its limit loses (2026-12-07: 50 s of build
# and GPU_SH_LIMIT=560 ran past 600).
t0=$(date +%s)
cd "$(dirname "$0")/../.." || exit 1
. .gpudeps/env.sh
export PYTHONPATH=/tmp/site
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl >/dev/null 2>&1
bash tests/gpu-host/build.sh || exit 1
export TMPDIR=/tmp/gpu-sh; rm -rf "$TMPDIR"; mkdir -p "$TMPDIR"
start=$(date +%s)
limit=${GPU_SH_LIMIT:-$(( ${CALL_LIMIT:-590} - 20 - ($(date +%s) - t0) ))}
echo "gpu.sh: at most $limit s"
KBENCH_TEST_KEEP=1 timeout "$limit" sh tests/gpu.sh >"$OUT/gpu-sh.log" 2>&1
echo "gpu.sh rc=$? in $(( $(date +%s) - start )) s: $(grep -c '^ok' "$OUT/gpu-sh.log") ok, $(grep -c '^not ok' "$OUT/gpu-sh.log") not ok"
grep -E '^not ok|^# ' "$OUT/gpu-sh.log" | cut -c1-300 | tail -${GPU_SH_TAIL:-90}
cd "$TMPDIR" && for d in kbench-test.*; do
    [ -f "$d/gpu.db" ] || continue
    if ! grep -q '^1\.\.' "$OUT/gpu-sh.log"; then
        for rc in "$d"/*.rc; do printf '%s=%s ' "$(basename "$rc" .rc)" "$(cat "$rc")"; done; echo
    fi
    tar czf "$OUT/gpu-sh.tar.gz" --exclude='*.npy' --exclude='gpudump' "$d"
done
ls -la "$OUT"
