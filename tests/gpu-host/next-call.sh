#!/bin/bash
# next-call.sh - for the seventh session's first lease: the one measurement the sixth could not
# make. The delta rule's 16-wide state pass (KBENCH_DELTA_VS=16, verified on the H100: 20 of 20)
# was timed only together with a PDL chain that slowed the default by 35%; here it runs without
# it, beside the default and fla's gated kernel at 4k and 16k (issue 21's last bar: >= 0.8x fla
# at 16k). If it wins, make it the default at d = 128 (delta_cuda.c, delta_cuda_mma_state_channels)
# and re-run tests/gpu.sh. Into $OUT: next.db, steps.log.
cd "$(dirname "$0")/../.." || exit 1
. .gpudeps/env.sh
. tests/gpu-host/sweeps.sh
call_start build || exit 1
DB=$OUT/next.db
P="--db $DB --devices cuda:0 --max-time 0.2 --no-metrics --quiet --no-show"
T="--dtype bf16 --batch 1 --heads 16 --head-dim 128 --chunk 64 --causal 1 --seq 4096,16384 --decay 0,1"
KBENCH_DELTA_VS=16 step delta-vs16 30 $T --kernels attention.delta@cuda.mma
step delta 110 --plugin fla_delta.py $T --kernels 'attention.delta@cuda.mma,attention.delta@cuda.fla-gated-chunk'
echo "=== results $(date -u +%T)"
sqlite3 -separator ' ' "$DB" "SELECT r.kernel || '@' || r.impl, 'n' || r.seq_len, 'decay' || r.decay, r.status, printf('%.1fus', r.median_us), printf('err%.2g', r.rel_l2_err), coalesce((SELECT group_concat(k.name || '=' || k.value, ' ') FROM counters k WHERE k.case_id = r.case_id AND k.name = 'delta.state_channels'), '') FROM v_results r ORDER BY r.case_id;" | sed 's/  */ /g'
sqlite3 -separator ' ' "$DB" "SELECT c.id, substr(g.name, 1, 44), printf('%.1fus', 1e6 * g.duration_s) FROM gpu_kernels g JOIN cases c ON c.id = g.case_id WHERE c.impl = 'cuda.mma' AND c.seq_len = 16384 ORDER BY c.id, g.idx;" | sed 's/^/kernels: /'
echo "done $(date -u +%T)"
