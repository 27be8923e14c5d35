#!/bin/bash
# varlen-repeat.sh - the varlen verification sweep of tests/gpu.sh repeated (warm case
# processes twice, fresh once) to tell a kernel that fails now and then from one that fails only
# when a process is reused; then fla's delta rule beside kbench's chunked kernel.
cd "$(dirname "$0")/../.." || exit 1
. .gpudeps/env.sh
export PYTHONPATH=/tmp/site
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl >/dev/null 2>&1
[ -x kbench ] || bash tests/gpu-host/build.sh || exit 1
vl() { ./kbench run --devices cuda:0 --max-time 0.02 --min-time 0.005 --no-counters --no-metrics --quiet --no-show \
    --dtype f16,bf16 --batch 5 --heads 4 --head-dim 64,128 --causal 0,1 --lengths uniform,longtail,equal "$@" >/dev/null 2>&1; }
for round in warm1 fresh warm2; do
    mode=${round%[0-9]}
    echo "=== $round $(date -u +%T)"
    timeout 45 bash -c "$(declare -f vl); vl --db $OUT/vl-$round.db --process $mode --kernels attention.varlen@cuda.mma --kv-heads 1,4 --seq 1,77,1000 & vl --db $OUT/vl-$round.db.2 --process $mode --kernels attention.linear_varlen@cuda.mma --kv-heads 2 --seq 77,1000,4099 --chunk 64; wait"
    for db in $OUT/vl-$round.db $OUT/vl-$round.db.2; do
        sqlite3 -separator ' ' "$db" "SELECT kernel, count(*), sum(c.status = 'ok' AND a.passed = 1) FROM cases c LEFT JOIN accuracy a ON a.case_id = c.id GROUP BY kernel;"
        sqlite3 -separator ' ' "$db" "SELECT c.id, c.dtype, c.seq_len, c.head_dim, c.kv_heads, c.causal, c.length_mix, c.status, (SELECT CAST(value AS INT) FROM counters k WHERE k.case_id = c.id AND k.name = 'process_case'), printf('%.2g', a.rel_l2_err), substr(c.error, 1, 70) FROM cases c LEFT JOIN accuracy a ON a.case_id = c.id WHERE c.status <> 'ok' OR a.passed = 0;"
    done
done
echo "=== fla delta rule beside kbench's chunked kernel $(date -u +%T)"
timeout 70 ./kbench run --db $OUT/fla.db --plugin fla_delta.py --devices cuda:0 --dtype bf16 --heads 16 --head-dim 128 \
    --max-time 0.2 --no-metrics --quiet --no-show --kernels 'attention.delta@cuda.fla-*,attention.delta@cuda.chunked' \
    --seq 4096,16384 --chunk 64 --decay 0,1 --causal 1 >/dev/null 2>&1; echo "exit $?"
sqlite3 -separator ' ' $OUT/fla.db "SELECT kernel || '@' || impl, 'n' || seq_len, 'decay' || decay, status, printf('%.1f us', median_us), printf('err %.1e', rel_l2_err), substr(error, 1, 120) FROM v_results ORDER BY seq_len, decay, impl;"
echo "done $(date -u +%T)"
