#!/bin/bash
# eleventh-call.sh - the ninth session's lease: its FP8 P·V (row sums from the tensor cores, one
# FFMA per O element) and its 128 × 256 FP8 MoE tile, verified at tests/gpu.sh's odd sizes and
# timed in one call beside the kernels they replace and their peers:
#   kbench         this tree (.gpubuild/cuobj.tar.gz: its .cu objects, compiled elsewhere)
#   kbench.before  the FP8 attention objects of cd085fc (.gpubuild/before.tar.gz)
#   kbench.moeprev this tree with the FP8 MoE GEMM of b858dc1 (.gpubuild/moeprev.tar.gz)
#   kbench.ex2     this tree with the FP8 attention kernels' other share of exponentials on the
#                  FMA pipe (flash: a quarter, KB_EX2_FMA_EVERY=4; int8: none, its default being
#                  a quarter; .gpubuild/ex2.tar.gz)
# Never run as a whole before the eleventh session, whose changes lead it: the FP8 MoE GEMM with
# its consumers taking turns, its blocks persistent and its block scales staged in shared memory
# by the producer, timed beside cuBLASLt's FP8 dense GEMM of the same FLOPs (DeepSeek-V3's and
# Mixtral's shapes) and beside itself without the three (kbench.moeprev with
# KBENCH_MOE_FP8_TURNS=0 KBENCH_MOE_FP8_PERSISTENT=0), without the scales' change, and with
# each of the other two turned off.
# Then: bf16 flash at d 64 on two and on three consumer warpgroups (KBENCH_FLASH_WS_D64_CONSUMERS=3)
# and at d 128, N 2k, with 128- and 176-key tiles (KBENCH_FLASH_WS_KEYS=176) and persistent (its
# L2-sectioned order) beside cuDNN; the FP8 and INT8 attention at SageAttention2's shape beside
# the bf16 flash (all three binaries); attention.lightning@cuda.mma 4k..64k beside fla's
# chunk_simple_gla; then Nsight Compute's per-instruction stall samples of the wide MoE GEMM
# while the call has time. SWEEPS=0 skips the odd-size sweeps (tests/gpu.sh runs them all).
# Everything lands in one file, $OUT/eleven.tar.gz (the sweeps' and timings' databases, logs).
# The three object tarballs come from tests/gpu-host/pack-objects.sh, run here first.
cd "$(dirname "$0")/../.." || exit 1
REAL_OUT=$OUT
OUT=/tmp/o11
rm -rf "$OUT" && mkdir -p "$OUT"
. tests/gpu-host/sweeps.sh
call_start build || exit 1
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,temperature.gpu --format=csv,noheader
# the three binaries: objects swapped in, the library and kbench relinked (no nvcc: objects are newer)
FP8_OBJS="kernels/attention/flash_fp8_ws.o kernels/attention/int8_fp8_ws.o kernels/moe/moe_fp8_wgmma.o"
cp kbench kbench.new
swap_in before && make -s kbench >/tmp/link.log 2>&1 && mv kbench kbench.before || { tail /tmp/link.log; exit 1; }
swap_in cuobj "$FP8_OBJS" && swap_in ex2 && make -s kbench >/tmp/link.log 2>&1 && mv kbench kbench.ex2 ||
    { tail /tmp/link.log; exit 1; }
swap_in cuobj "$FP8_OBJS" && swap_in moeprev && make -s kbench >/tmp/link.log 2>&1 && mv kbench kbench.moeprev ||
    { tail /tmp/link.log; exit 1; }
swap_in cuobj "$FP8_OBJS" && make -s kbench >/tmp/link.log 2>&1 && echo "four binaries $(date -u +%T)"
# SWEEPS=0: timings only (each timed case is still verified at its own shape first); SWEEP_LIMIT:
# seconds the side-by-side sweeps may take (200)
SWEEP_LIMIT=${SWEEP_LIMIT:-200}
if [ "${SWEEPS:-1}" = 1 ]; then
NEW_LIMIT=$SWEEP_LIMIT sweep int8fp8v --kernels 'attention.int8@cuda.wgmma-fp8' --dtype i8 --batch 2 --heads 3 --kv-heads 1,3 \
    --seq 1,77,1000,4099 --head-dim 128 --causal 0,1 --input normal,outlier &
NEW_LIMIT=$SWEEP_LIMIT sweep flashfp8v --kernels 'attention.flash@cuda.wgmma-fp8' --dtype e4m3 --batch 2 --heads 3 \
    --kv-heads 1,3 --seq 1,77,1000,4099 --head-dim 128 --causal 0,1 --input normal,outlier &
NEW_LIMIT=$SWEEP_LIMIT sweep flashwsv --kernels 'attention.flash@cuda.wgmma-ws' --dtype f16,bf16 --batch 2 --heads 4 \
    --kv-heads 1,4 --seq 1,77,1000,4099 --head-dim 64,128,256 --causal 0,1 &
( NEW_LIMIT=$SWEEP_LIMIT sweep moefp8v --kernels moe.experts@cuda.wgmma-fp8 --dtype e4m3 --tokens 1,77,1001 --hidden 384,512 \
    --ffn 640 --experts 8,64 --top-k 1,2,8 --routing zipf ) &
( export KBENCH_FLASH_WS_KEYS=176; NEW_LIMIT=$SWEEP_LIMIT sweep flashws176v --kernels 'attention.flash@cuda.wgmma-ws' \
    --dtype f16,bf16 --batch 2 --heads 4 --kv-heads 1,4 --seq 1,77,1000,4099 --head-dim 128 --causal 0,1 ) &
( export KBENCH_FLASH_WS_D64_CONSUMERS=3; NEW_LIMIT=$SWEEP_LIMIT sweep flashws3v --kernels 'attention.flash@cuda.wgmma-ws' \
    --dtype f16,bf16 --batch 2 --heads 4 --kv-heads 1,4 --seq 1,77,1000,4099 --head-dim 64 --causal 0,1 ) &
( NEW_LIMIT=$SWEEP_LIMIT sweep moefp8n --kernels moe.experts@cuda.wgmma-fp8 --dtype e4m3 \
    --tokens 77,1001 --hidden 512 --ffn 640 --experts 8 --top-k 2,8 --routing zipf ) &
wait
sweep_report int8fp8v flashfp8v flashwsv flashws3v flashws176v moefp8v moefp8n
fi
eval "_$(declare -f step)" # sweeps.sh's step, wrapped below to print each step's rows
timing_db eleven
SAGE="--input outlier --batch 4 --heads 32 --head-dim 128 --seq 8192 --causal 0"
FP8ATT="attention.flash@cuda.wgmma-fp8,attention.int8@cuda.wgmma-fp8"
DEEPSEEK="--dtype e4m3 --preset deepseek-v3 --experts 16 --tokens 4096 --m 32768 --n 6144 --k 7168"
MIXTRAL="--dtype e4m3 --preset mixtral-8x7b --tokens 4096 --m 8192 --n 43008 --k 4096"
D64="--dtype bf16 --batch 4 --heads 16 --head-dim 64 --seq 4096 --causal 0,1"
# each step's results as soon as it ends (a call cut short by the device budget keeps its output)
shown=0
rows() {
    sqlite3 -separator ' ' "$DB" "SELECT r.case_id, r.kernel || '@' || r.impl, r.dtype, 'c' || coalesce(r.causal, '-'), 'n' || coalesce(r.seq_len, r.gemm_m, r.tokens), r.status, printf('%.1fus', r.median_us), printf('%.0fTF', r.gflops / 1000), printf('err%.3g', r.rel_l2_err), coalesce((SELECT group_concat(k.name || '=' || k.value, ' ') FROM counters k WHERE k.case_id = r.case_id AND (k.name LIKE 'moe_fp8.%' OR k.name = 'flash_ws.consumers' OR k.name LIKE 'lightning.%')), '') FROM v_results r WHERE r.case_id > $shown ORDER BY r.case_id;" 2>/dev/null | sed 's/  */ /g'
    shown=$(sqlite3 "$DB" "SELECT coalesce(max(id), 0) FROM cases;" 2>/dev/null || echo "$shown")
}
step() { _step "$@"; rows; }
# in order of what matters most: a call cut short by its limit loses the last
( step moe-new 80 --kernels 'moe.experts@cuda.wgmma-fp8,gemm.dense@cuda.cublaslt' $DEEPSEEK )
# the FP8 MoE without the eleventh session's three changes (kbench.moeprev, its scales loaded by
# the consumers from global memory, with neither turns nor persistence: the tenth session's
# 3165 us), with two (kbench.moeprev's defaults), and this tree with each alone
mv kbench kbench.tmp && cp kbench.moeprev kbench
( export KBENCH_MOE_FP8_TURNS=0 KBENCH_MOE_FP8_PERSISTENT=0; step moe-tenth 75 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK )
( step moe-prev 75 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK )
mv kbench.tmp kbench
( export KBENCH_MOE_FP8_TURNS=0 KBENCH_MOE_FP8_PERSISTENT=0; step moe-scales-only 75 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK )
( export KBENCH_MOE_FP8_PERSISTENT=0; step moe-no-persistent 75 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK )
( export KBENCH_MOE_FP8_TURNS=0; step moe-no-turns 75 --kernels moe.experts@cuda.wgmma-fp8 $DEEPSEEK )
( export KBENCH_FLASH_WS_D64_CONSUMERS=2; step d64-two 40 --plugin torch_attention.py --kernels attention.flash@cuda.wgmma-ws,attention.sdpa@cuda.torch-cudnn $D64 )
( export KBENCH_FLASH_WS_D64_CONSUMERS=3; step d64-three 30 --kernels attention.flash@cuda.wgmma-ws $D64 )
D128="--dtype bf16 --batch 8 --heads 16 --head-dim 128 --seq 2048 --causal 0,1"
step d128-128 40 --plugin torch_attention.py --kernels attention.flash@cuda.wgmma-ws,attention.sdpa@cuda.torch-cudnn $D128
( export KBENCH_FLASH_WS_KEYS=176; step d128-176 30 --kernels attention.flash@cuda.wgmma-ws $D128 )
( export KBENCH_FLASH_WS_PERSISTENT=1; step d128-persistent 30 --kernels attention.flash@cuda.wgmma-ws $D128 )
( step moe-mixtral 80 --kernels 'moe.experts@cuda.wgmma-fp8,gemm.dense@cuda.cublaslt' $MIXTRAL )
step att-new 60 $SAGE --dtype bf16,e4m3,i8 --kernels "attention.flash@cuda.wgmma-ws,$FP8ATT"
# Lightning against fla's chunk_simple_gla, 4k..64k (256k: 12.8 ns a token in the fifth session,
# G = 16); fla's Triton compile took more than 40 s in the twelfth call
LIGHT="--dtype bf16 --batch 1 --heads 16 --head-dim 128 --chunk 64 --seq 4096,16384,65536"
step lightning 100 --plugin fla_attention.py --kernels 'attention.lightning@cuda.mma,attention.lightning@cuda.fla-simple-gla' $LIGHT
mv kbench kbench.tmp && cp kbench.before kbench
step att-before 50 $SAGE --dtype e4m3,i8 --kernels "$FP8ATT"
cp kbench.ex2 kbench
step att-ex2 50 $SAGE --dtype e4m3,i8 --kernels "$FP8ATT"
mv kbench.tmp kbench
step att-new2 60 $SAGE --dtype bf16,e4m3,i8 --kernels "attention.flash@cuda.wgmma-ws,$FP8ATT"
echo "=== results $(date -u +%T)"
sqlite3 -separator ' ' "$DB" "SELECT r.case_id, r.kernel || '@' || r.impl, r.dtype, 'n' || coalesce(r.seq_len, r.gemm_m, r.tokens), r.status, printf('%.1fus', r.median_us), printf('%.0fTF', r.gflops / 1000), printf('err%.3g', r.rel_l2_err), coalesce((SELECT printf('cos %.6f', a.cosine) FROM accuracy a WHERE a.case_id = r.case_id), '') FROM v_results r ORDER BY r.case_id;" | sed 's/  */ /g'
sqlite3 "$DB" "SELECT kernel || '@' || impl || ': ' || substr(error, 1, 160) FROM cases WHERE status NOT IN ('ok') LIMIT 6;"
# Lightning's three passes at 4k and 16k (CUPTI's kernel trace)
sqlite3 -separator ' ' "$DB" "SELECT c.id, 'n' || c.seq_len, substr(g.name, 1, 40), printf('%.1fus', 1e6 * avg(g.duration_s)) FROM gpu_kernels g JOIN cases c ON c.id = g.case_id WHERE c.impl = 'cuda.mma' AND c.kernel = 'attention.lightning' AND c.seq_len <= 16384 GROUP BY c.id, g.name ORDER BY c.id, min(g.idx);" | sed 's/^/lightning kernels: /'

# the FP8 MoE's kernels (quantize, up GEMM, quantize, down GEMM) per case (CUPTI's kernel trace)
sqlite3 -separator ' ' "$DB" "SELECT c.id, substr(g.name, 1, 48), printf('%.1fus', 1e6 * avg(g.duration_s)), count(*) FROM gpu_kernels g JOIN cases c ON c.id = g.case_id WHERE c.kernel = 'moe.experts' GROUP BY c.id, g.name ORDER BY c.id, min(g.idx);" | sed 's/^/moe kernels: /'

# where the wide MoE GEMM's warps wait, by SASS instruction (stall samples), while the call has time
if ncu_start; then
    K="--no-isolate --devices cuda:0 --max-time 0.01 --min-time 0.001 --no-metrics --no-counters --quiet --no-show"
    timeout "$left" "$NCU" --clock-control none -k regex:'moe_fp8_wgmma' --launch-skip 2 --launch-count 1 \
        --section SpeedOfLight --section WarpStateStats --section SourceCounters --section MemoryWorkloadAnalysis \
        --print-details all -o /tmp/moe ./kbench run --db /tmp/ncu-moe.db $K \
        --kernels moe.experts@cuda.wgmma-fp8 --dtype e4m3 --preset deepseek-v3 --experts 16 --tokens 4096 \
        >"$OUT/ncu-moe.log" 2>&1
    "$NCU" -i /tmp/moe.ncu-rep --print-details all >"$OUT/ncu-moe.txt" 2>&1
    "$NCU" -i /tmp/moe.ncu-rep --page source --print-source sass --csv >"$OUT/ncu-moe-sass.csv" 2>&1
    grep -E '^  [a-zA-Z_].*\(|Duration|Throughput|Stall|L2|Busy|Pipe' "$OUT/ncu-moe.txt" | cut -c1-150 | head -40
    head -2 "$OUT/ncu-moe-sass.csv" | cut -c1-400
fi
tar czf "$REAL_OUT/eleven.tar.gz" -C "$OUT" .
echo "done $(date -u +%T)"
