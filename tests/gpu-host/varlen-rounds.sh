#!/bin/bash
# varlen-rounds.sh - attention.varlen@cuda.mma's odd-size sweep in warm case processes, round after
# round, counting verified cases (the stale cu_seqlens race showed in about 1% of cases).
cd "$(dirname "$0")/../.." || exit 1
. .gpudeps/env.sh
bash tests/gpu-host/build.sh || exit 1
for r in 1 2 3 4; do
  timeout 40 ./kbench run --db $OUT/r$r.db --devices cuda:0 --max-time 0.02 --min-time 0.005 --no-counters --no-metrics --quiet --no-show \
    --dtype f16,bf16 --batch 5 --heads 4 --head-dim 64,128 --causal 0,1 --lengths uniform,longtail,equal \
    --kernels attention.varlen@cuda.mma --kv-heads 1,4 --seq 1,77,1000 >/dev/null 2>&1
  echo "round $r $(date -u +%T): $(sqlite3 $OUT/r$r.db "SELECT count(*), sum(c.status = 'ok' AND a.passed = 1), max(CAST(k.value AS INT)) FROM cases c LEFT JOIN accuracy a ON a.case_id = c.id LEFT JOIN counters k ON k.case_id = c.id AND k.name = 'process_case'")"
done
