# sweeps.sh - sourced by the call scripts (first-call.sh and after): verification sweeps side by side, each
# into $OUT/NAME.db with its log, then one line per sweep of what verified and what did not.
#   sweep NAME ARGS...     kbench run $V ARGS (V set by the caller), bounded by NEW_LIMIT seconds
#   sweep_report NAME...   cases and verified cases of each, and up to 6 that failed
#   call_start [build]     the call's clock (t0) and fla's wheel from .whl on PYTHONPATH; with
#                          `build`, then tests/gpu-host/build.sh (its status is call_start's)
#   step NAME LIMIT ARGS... kbench run $P ARGS (P set by the caller), its output appended to
#                          $OUT/steps.log, bounded by LIMIT seconds and by what is left of the
#                          call (CALL_LIMIT seconds from t0, less 20 s so the results still print)
#   timing_db NAME         DB = $OUT/NAME.db and P, the flags of a timing step into it
#   delta_sweeps NAME VAR=VALUE ARGS...
#                          side by side: sweep NAME ARGS with VAR=VALUE in its environment, and
#                          sweep deltav, attention.delta@cuda.mma's default at DELTA_ODD (d 64,
#                          128); then sweep_report of both
#   step_as BIN NAME LIMIT ARGS...
#                          step with the binary BIN (kbench.moeprev, ...) in kbench's place, then
#                          kbench back (whatever step the caller defines, wrapped or not)
#   swap_in TARBALL [MEMBERS]
#                          .gpubuild/TARBALL.tar.gz's objects (pack-objects.sh), or the MEMBERS named,
#                          over the tree's, touched so that make relinks kbench with them
#   CUDNN, DEEPSEEK        the bf16 flash beside cuDNN through PyTorch's SDPA; DeepSeek-V3's FP8
#                          MoE shape (16 of its experts, 4096 tokens)
#   attention_call_report NAME COUNTERS
#                          each case of $DB with the counters named, then call_end NAME
#   call_end NAME          the steps' errors and throttling, every database and log into
#                          $OUT/NAME.tar.gz, the call's time
#   ncu_start              NCU (ncu's path) and left (the call's seconds left, less 30), and a
#                          line saying so; fails, saying why, without ncu or with 30 s or less
#   delta_vs16_and_fla     the delta rule at DELTA_T with KBENCH_DELTA_VS=16, then its default
#                          beside fla's gated kernel (steps into $P)
#   delta_report DB        the delta-rule timings of DB (kbench's and fla's, with the state pass's
#                          width), @cuda.mma's kernels at 16k (CUPTI trace), and the cases not ok
# The headers and the sqlite3 CLI the GPU host lacks (made by ../shared/gpu-host/fetch-deps.sh):
# every script that sources this file runs from the repository root.
. .gpudeps/env.sh
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
# A call's opening: the wheels, the build (the call ends if it fails), and the card it runs on.
call_open() {
    call_start build || exit 1
    nvidia-smi --query-gpu=name,clocks.sm,temperature.gpu,power.limit --format=csv,noheader
}
delta_report() {
    sqlite3 -separator ' ' "$1" "SELECT r.kernel || '@' || r.impl, 'n' || r.seq_len, 'decay' || r.decay, r.status, printf('%.1fus', r.median_us), printf('err%.2g', r.rel_l2_err), coalesce((SELECT group_concat(k.name || '=' || k.value, ' ') FROM counters k WHERE k.case_id = r.case_id AND k.name = 'delta.state_channels'), '') FROM v_results r ORDER BY r.case_id;" | sed 's/  */ /g'
    sqlite3 -separator ' ' "$1" "SELECT c.id, substr(g.name, 1, 44), printf('%.1fus', 1e6 * g.duration_s) FROM gpu_kernels g JOIN cases c ON c.id = g.case_id WHERE c.impl = 'cuda.mma' AND c.seq_len = 16384 ORDER BY c.id, g.idx;" | sed 's/^/kernels: /'
    sqlite3 "$1" "SELECT kernel || '@' || impl || ': ' || substr(error, 1, 160) FROM cases WHERE status NOT IN ('ok') LIMIT 6;"
}
step_as() {
    local bin=$1
    shift
    mv kbench kbench.tmp && cp "$bin" kbench
    step "$@"
    mv kbench.tmp kbench
}
swap_in() { tar xzf ".gpubuild/$1.tar.gz" $2 && tar tzf ".gpubuild/$1.tar.gz" $2 | grep '\.o$' | xargs touch; }
CUDNN="--plugin torch_attention.py --kernels attention.flash@cuda.wgmma-ws,attention.sdpa@cuda.torch-cudnn"
# its case builds and quantizes 0.7 G weights on the host: 45-60 s on the GPU hosts seen, past the default 60-s case limit on a slow one
DEEPSEEK="--dtype e4m3 --preset deepseek-v3 --experts 16 --tokens 4096 --timeout 300"
# The end of every timing call: the steps' errors and throttling, then every database and log
# under $OUT into $OUT/$1.tar.gz, and the call's time.
call_end() {
    grep -i -E 'error|fail|throttl' "$OUT/steps.log" | cut -c1-200 | head -6
    tar czf "$OUT/$1.tar.gz" -C "$OUT" --remove-files $(cd "$OUT" && ls *.db *.log 2>/dev/null)
    echo "done $(date -u +%T), $(( $(date +%s) - t0 )) s"
}
# The end of a MoE timing call: each case of $DB (median, best sample, the counters named in $2,
# an SQL list such as "'moe_fp8.staged_store'"), each MoE case's kernels by CUPTI, the steps'
# errors and throttling, then every database and log under $OUT into $OUT/$1.tar.gz.
moe_call_report() {
    sqlite3 -separator ' ' "$DB" "SELECT r.case_id, r.kernel || '@' || r.impl, r.dtype, 'n' || coalesce(r.gemm_m, r.tokens), 'f' || r.ffn, r.status, printf('%.1fus', r.median_us), printf('min %.1fus', (SELECT 1e6 * min(s.seconds) FROM samples s WHERE s.case_id = r.case_id)), printf('%.0fTF', r.gflops / 1000), printf('err%.3g', r.rel_l2_err), coalesce((SELECT group_concat(k.name || '=' || k.value, ' ') FROM counters k WHERE k.case_id = r.case_id AND k.name IN ($2)), '') FROM v_results r ORDER BY r.case_id;" | sed 's/  */ /g'
    sqlite3 -separator ' ' "$DB" "SELECT c.id, substr(g.name, 1, 60), printf('%.1fus', 1e6 * avg(g.duration_s)), printf('min %.1fus', 1e6 * min(g.duration_s)), count(*) FROM gpu_kernels g JOIN cases c ON c.id = g.case_id WHERE c.kernel LIKE 'moe.%' GROUP BY c.id, g.name ORDER BY c.id, min(g.idx);" | sed 's/^/kernels: /'
    call_end "$1"
}
# The end of an attention timing call: each case of $DB (median, best sample, TFLOP/s, error, the
# counters named in $2, an SQL list such as "'flash_ws.sections'"), the steps' errors and
# throttling, then every database and log under $OUT into $OUT/$1.tar.gz.
attention_call_report() {
    sqlite3 -separator ' ' "$DB" "SELECT r.case_id, r.kernel || '@' || r.impl, r.dtype, 'd' || coalesce(r.head_dim, '-'), 'b' || coalesce(r.batch, '-'), 'n' || coalesce(r.seq_len, r.gemm_m, r.tokens), r.status, printf('%.1fus', r.median_us), printf('min %.1fus', (SELECT 1e6 * min(s.seconds) FROM samples s WHERE s.case_id = r.case_id)), printf('%.0fTF', r.gflops / 1000), printf('err%.3g', r.rel_l2_err), coalesce((SELECT group_concat(k.name || '=' || k.value, ' ') FROM counters k WHERE k.case_id = r.case_id AND k.name IN ($2)), '') FROM v_results r ORDER BY r.case_id;" | sed 's/  */ /g'
    call_end "$1"
}
# The FP8 MoE at tests/gpu.sh's odd sizes in its forms, started in the background (the caller
# waits, then reports $MOE_FP8_ODD): the defaults, both GEMMs' stores from the accumulators,
# two-block clusters, the staged stores sent by the lanes with the turns from k-tile 2, a block a
# tile, uniform and one-expert routing.
MOE_FP8_ODD="moefp8v moefp8tv moefp8cv moefp8mv moefp8bv moefp8ev"
moe_fp8_odd_sweeps() {
    local odd="--kernels moe.experts@cuda.wgmma-fp8 --dtype e4m3 --tokens 1,77,1001 --hidden 384,512 --ffn 640 --experts 8 --top-k 2,8 --routing zipf"
    NEW_LIMIT=80 sweep moefp8v $odd &
    ( export KBENCH_MOE_FP8_STAGED_STORE=0; NEW_LIMIT=80 sweep moefp8tv $odd ) &
    ( export KBENCH_MOE_FP8_CLUSTER=2; NEW_LIMIT=80 sweep moefp8cv $odd ) &
    ( export KBENCH_MOE_FP8_TMA_STORE=0 KBENCH_MOE_FP8_TURNS_FROM=2; NEW_LIMIT=80 sweep moefp8mv $odd ) &
    ( export KBENCH_MOE_FP8_PERSISTENT=0; NEW_LIMIT=80 sweep moefp8bv $odd ) &
    NEW_LIMIT=80 sweep moefp8ev --kernels moe.experts@cuda.wgmma-fp8 --dtype e4m3 --tokens 999 --hidden 640 \
        --ffn 384 --experts 8 --top-k 2 --routing uniform,one &
}
# A call's opening for the FP8 MoE (NAME: its timing database): build, verify at the odd sizes
# in every form (moe_fp8_odd_sweeps), then step fp8-ds, the default at DeepSeek-V3's shape beside
# cuBLASLt's dense FP8 GEMM of the same FLOPs.
moe_fp8_call_open() {
    call_open
    moe_fp8_odd_sweeps
    wait
    sweep_report $MOE_FP8_ODD
    timing_db "$1"
    step fp8-ds 90 --kernels 'moe.experts@cuda.wgmma-fp8,gemm.dense@cuda.cublaslt' $DEEPSEEK --m 32768 --n 6144 --k 7168
}
timing_db() { DB=$OUT/$1.db; P="--db $DB --devices cuda:0 --max-time 0.2 --no-metrics --quiet --no-show"; }
# The odd sizes tests/gpu.sh verifies attention.delta@cuda.mma at (a sweep adds --head-dim).
DELTA_ODD="--kernels attention.delta@cuda.mma --batch 2 --heads 3 --dtype f16,bf16 --seq 1,77,300,1000,4099 --decay 0,1"
# The shape the delta rule is timed at beside fla (issue 21's: batch 1, 16 heads, d 128, 4k and 16k).
DELTA_T="--dtype bf16 --batch 1 --heads 16 --head-dim 128 --chunk 64 --causal 1 --seq 4096,16384 --decay 0,1"
# ncu's path (empty where there is none) and the sections the calls print: throughput, occupancy,
# what the warps wait on, memory
find_ncu() { command -v ncu || ls /usr/local/cuda/bin/ncu /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1; }
NCU_SECTIONS="--section SpeedOfLight --section Occupancy --section LaunchStats --section WarpStateStats
    --section SchedulerStats --section MemoryWorkloadAnalysis"
delta_vs16_and_fla() {
    KBENCH_DELTA_VS=16 step delta-vs16 30 $DELTA_T --kernels attention.delta@cuda.mma
    step delta 110 --plugin fla_delta.py $DELTA_T --kernels 'attention.delta@cuda.mma,attention.delta@cuda.fla-gated-chunk'
}
delta_sweeps() {
    local name=$1 assign=$2
    shift 2
    ( export "$assign"; sweep "$name" "$@" ) &
    sweep deltav $DELTA_ODD --head-dim 64,128 &
    wait
    sweep_report deltav "$name"
}
ncu_start() {
    NCU=$(find_ncu)
    left=$(( ${CALL_LIMIT:-500} - 30 - ($(date +%s) - t0) ))
    if [ -z "$NCU" ] || [ "$left" -le 30 ]; then
        echo "=== ncu skipped (ncu: '$NCU', $left s left)"
        return 1
    fi
    echo "=== ncu $(date -u +%T) (at most $left s)"
}
# profile NAME KERNEL_REGEX SKIP KBENCH_ARGS...: Nsight Compute's $SECTIONS on one launch of the
# kernel after SKIP of them, kbench run with the caller's flags $K; the report, its details and its
# per-SASS source counters (CSV) into $OUT
profile() {
    local name=$1 regex=$2 skip=$3
    shift 3
    ncu_start || return 1
    timeout "$left" "$NCU" --clock-control none --kernel-name-base demangled -k "regex:$regex" --launch-skip "$skip" --launch-count 1 $SECTIONS \
        --print-details all -o "/tmp/$name" ./kbench run --db "/tmp/$name.db" $K "$@" >"$OUT/$name.log" 2>&1
    "$NCU" -i "/tmp/$name.ncu-rep" --print-details all >"$OUT/$name.txt" 2>&1
    "$NCU" -i "/tmp/$name.ncu-rep" --page source --print-source sass --csv >"$OUT/$name-sass.csv" 2>&1
    grep -E '^  [a-zA-Z_].*\(|Duration|Throughput|Stall|Issue|Eligible|Pipe|Busy' "$OUT/$name.txt" | cut -c1-150 | head -40
}
