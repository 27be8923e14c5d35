#!/bin/sh
# gpu.sh - the CUDA path on a real GPU: every CUDA kernel verified on random inputs at odd sizes,
# CUPTI's kernel durations against the event timings, NVML energy, CUDA-graph replay of short
# kernels, cold-L2 sampling, and GPU faults contained (an illegal address and a never-ending
# kernel each become their case's status; the GPU stays usable and the sweep goes on).
# Skips, saying why, where there is no CUDA device.
. "${top_srcdir:-.}/tests/lib.sh"
need_sqlite3
"$KBENCH" devices >"$TMP/devices" 2>&1
if ! grep -q '^cuda:0' "$TMP/devices"; then
    echo "1..0 # SKIP no CUDA device: $(sed -n 's/^cuda *//p' "$TMP/devices" | head -1)"
    exit 0
fi
expect_text "$TMP/devices" "SMs" "devices: the GPU's multiprocessors are listed"
expect_text "$TMP/devices" "L2" "devices: its L2 size is listed"
expect_text "$TMP/devices" "driver" "devices: its driver is listed"

DB="$TMP/gpu.db"
expect_exit 1 "a sweep of GPU faults finishes (exit 1: cases failed)" "$KBENCH" run --db "$DB" --devices cuda:0 \
    --kernels 'selftest.cuda_fault,selftest.cuda_hang' --seq 1,2 --timeout 5 --quiet --no-show
expect_eq "$(q "SELECT count(*) FROM cases WHERE kernel = 'selftest.cuda_fault' AND status = 'setup_failed' AND error LIKE '%illegal%';")" "2" "illegal address recorded with the CUDA error, twice (the GPU recovered in between)"
expect_eq "$(q "SELECT count(*) FROM cases WHERE kernel = 'selftest.cuda_hang' AND status = 'timeout';")" "2" "never-ending GPU kernel killed at its time limit, twice"
expect_eq "$(q 'SELECT status FROM runs;')" "complete" "run complete"
expect_exit 0 "a CPU case after the GPU faults runs clean" "$KBENCH" run --db "$DB" --kernels attention.flash@cpu --seq 64 --head-dim 8 --max-time 0.02 --quiet --no-show
expect_eq "$(q "SELECT count(*) FROM cases WHERE kernel = 'attention.flash' AND impl = 'cpu' AND status = 'ok';")" "1" "and is stored ok"

# ---- warm case processes: GPU cases share one (README, "What a case does"); the fault cases above
# each ended theirs (both recorded the illegal address, so the second ran in a new process) ---------
for mode in warm fresh; do
    "$KBENCH" run --db "$TMP/$mode.db" --process $mode --devices cuda:0 --kernels attention.flash@cuda.mma \
        --seq 64:1024:x2 --head-dim 64 --max-time 0.01 --no-counters --no-metrics --quiet --no-show >/dev/null 2>&1
done
DB="$TMP/warm.db"
expect_eq "$(q "SELECT group_concat(CAST(k.value AS INTEGER), ',') FROM cases c JOIN counters k ON k.case_id = c.id AND k.name = 'process_case' AND c.status = 'ok';")" "1,2,3,4,5" \
    "five GPU cases ran in one warm process"
echo "# wall time of 5 small GPU cases: warm $(q 'SELECT round(sum(wall_s), 2) FROM cases;') s, fresh $(DB="$TMP/fresh.db" q 'SELECT round(sum(wall_s), 2) FROM cases;') s"

# ---- --dump on the GPU writes the outputs too, so the case can be checked outside kbench -------------
if command -v python3 >/dev/null; then
    expect_exit 0 "dump CUDA attention cases" "$KBENCH" run --db "$TMP/dump.db" --devices cuda:0 \
        --kernels 'attention.flash@cuda.mma,attention.window@cuda.mma' --dtype f16 --seq 37 --head-dim 64 --heads 4 \
        --kv-heads 2 --window 5 --causal 1 --max-time 0.01 --no-counters --no-metrics --dump "$TMP/gpudump" --quiet --no-show
    for man in "$TMP"/gpudump/*/manifest.json; do
        expect_text "$man" '"role": "output"' "$(basename "$(dirname "$man")"): the manifest lists an output"
    done
    if python3 "${top_srcdir:-.}/tests/npycheck.py" "$TMP"/gpudump/*/ >"$TMP/npy.out" 2>&1; then
        ok "each GPU dump's output equals its definition computed from its inputs"
    else
        bad "a GPU dump disagrees with its definition"; sed 's/^/# /' "$TMP/npy.out"
    fi
fi

# ---- verification at odd sizes --------------------------------------------------------------------
# The sweeps below assert correctness only, never time, so they run side by side (each its own
# database and exit status); the timing checks further down run after them on an idle GPU.
VFLAGS="--devices cuda:0 --max-time 0.02 --min-time 0.005 --no-counters --no-metrics --quiet --no-show"
rc_of() { cat "$TMP/$1.rc" 2>/dev/null || echo missing; }
job() { name=$1; shift; ( "$@" >"$TMP/$name.out" 2>&1; echo $? >"$TMP/$name.rc" ); }
# expect_job NAME DESCRIPTION: the job exited 0; otherwise its last lines say why
expect_job() {
    expect_eq "$(rc_of "$1")" "0" "$2"
    [ "$(rc_of "$1")" = 0 ] || tail -8 "$TMP/$1.out" 2>/dev/null | sed "s/^/# $1: /"
}

# flash (mma.sync, wgmma) and the unfused cuBLAS attention: ragged tiles, one row, GQA, batch > 1
# (--timeout 30: a case takes well under a second alone, but up to 9.6 s with every job of this file
# sharing the GPU and its host (an H100, 2026-12-07, where 10 s killed one case of six jobs); a
# kernel that deadlocks then costs 30 s, not 60)
job verify "$KBENCH" run --db "$TMP/verify.db" $VFLAGS --timeout 30 --kernels 'attention.flash@cuda*,attention.softmax@cuda*' \
    --dtype f16,bf16 --batch 2 --heads 4 --kv-heads 1,4 --seq 1,77,1000 --head-dim 64,128 --causal 0,1 &
# linear attention on its own axes: chunk 64 divides none of N = 1, 77, 1000, 4099
( lin() { "$KBENCH" run --db "$TMP/linear.db" $VFLAGS --kernels attention.linear@cuda.mma --dtype f16,bf16 --batch 2 \
      --heads 4 --seq 1,77,1000,4099 --head-dim 64,128 "$@"; }
  job linear1 lin --kv-heads 1,4 --causal 1 --decay 0,1 --feature elu1
  job linear2 lin --kv-heads 2 --causal 0 --feature elu1,relu --seq 1,77,4099
  job linear3 lin --kv-heads 4 --causal 1 --decay 1 --feature relu --seq 77,4099
  # and a grid of several waves (16 heads, N = 8193: 2064 chunks), the three passes overlapping
  job linear5 "$KBENCH" run --db "$TMP/linear.db" $VFLAGS --kernels attention.linear@cuda.mma --dtype f16,bf16 \
      --heads 16 --seq 8193 --head-dim 128 --causal 1 --decay 1 --feature elu1
  job linear4 "$KBENCH" run --db "$TMP/linear.db" --devices cuda:0 --kernels attention.linear@cuda.mma --dtype bf16 \
      --seq 100 --chunk 32 --quiet --no-show ) &
# window and INT8 attention (their own axes: the window; i8 and the input distribution)
( job window "$KBENCH" run --db "$TMP/window_int8.db" $VFLAGS --kernels attention.window@cuda.mma --dtype f16,bf16 \
      --batch 2 --heads 4 --kv-heads 1,4 --seq 1,77,1000 --head-dim 64,128 --window 1,100,4096
  job int8 "$KBENCH" run --db "$TMP/window_int8.db" $VFLAGS --kernels 'attention.int8@cuda.mma,attention.int8@cuda.wgmma' \
      --dtype i8 --batch 2 --heads 4 --kv-heads 1,4 --seq 1,77,1000 --head-dim 64,128 --causal 0,1 --input normal,outlier
  # the wgmma kernel over many tiles (33 of 128 keys, the last ragged: one key of K block 64)
  job int8_long "$KBENCH" run --db "$TMP/window_int8.db" $VFLAGS --kernels 'attention.int8@cuda.wgmma' --dtype i8 \
      --heads 4 --kv-heads 2 --seq 4097 --head-dim 128 --causal 0,1 --input outlier
  # the warp-specialised INT8 kernel (flash_ws.cuh's TMA rings and ping-pong): N = 4097 turns its
  # rings 16 times and ends in a 1-key tile (K block 64 of one key, block 65 past the end);
  # GQA 4:1, 2:1, none; batch 2; causal and not; d = 64 is refused (d = 128 only)
  job int8ws "$KBENCH" run --db "$TMP/window_int8.db" $VFLAGS --timeout 30 --kernels 'attention.int8@cuda.wgmma-ws' \
      --dtype i8 --batch 2 --heads 4 --kv-heads 1,2,4 --seq 1,77,1000,4097 --head-dim 64,128 --causal 0,1 \
      --input normal,outlier ) &
# the FlashAttention-3-style flash (also in the sweep above at N <= 1000): N = 4099 turns its
# 2-stage K and V rings over 16 times (mbarrier phases) and ends in a 3-key tile; GQA 4:1, 2:1,
# none; batch 2; every q-block of a causal head stops at its own diagonal tile; d 64, 128 and 256
# (d 256: 64-key tiles, so N = 4099 turns the rings 32 times and the causal diagonal falls
# inside each 128-row query block, whose first consumer sees no key of the last tile)
( job flashws "$KBENCH" run --db "$TMP/flashws.db" $VFLAGS --timeout 30 --kernels 'attention.flash@cuda.wgmma-ws' --dtype f16,bf16 \
      --batch 2 --heads 4 --kv-heads 1,2,4 --seq 1,77,1000,4099 --head-dim 64,128,256 --causal 0,1 ) &
( job flashws2 "$KBENCH" run --db "$TMP/flashws2.db" $VFLAGS --timeout 30 --kernels 'attention.flash@cuda.wgmma-ws' --dtype bf16 \
      --seq 77 --head-dim 96 ) &
# its persistent form at every head_dim (KBENCH_FLASH_WS_PERSISTENT=1; by default only at d 128
# and d 64 causal: at most one block per SM looping over the work tiles, the rings running on
# across them; O staged in a tile of its own for TMA stores at d 64 and 128, from registers at
# d 256): at N = 4099, 2 · 4 · 33 = 264 work tiles, two a block on 132 SMs; batch 4 over 16 heads
# at N = 1000 (512 tiles) about four a block; every case's counter flash_ws.persistent = 1; then
# without the TMA stores and the lazy rescale
( export KBENCH_FLASH_WS_PERSISTENT=1
  ( export KBENCH_FLASH_WS_TMA_STORE=0 KBENCH_FLASH_WS_LAZY_RESCALE=0
    job flashwspr "$KBENCH" run --db "$TMP/flashwspr.db" $VFLAGS --timeout 30 --kernels 'attention.flash@cuda.wgmma-ws' \
        --dtype bf16 --batch 2 --heads 4 --seq 77,4099 --head-dim 64,128 --causal 0,1 )
  job flashwsp "$KBENCH" run --db "$TMP/flashwsp.db" $VFLAGS --timeout 30 --kernels 'attention.flash@cuda.wgmma-ws' --dtype f16,bf16 \
      --batch 2 --heads 4 --kv-heads 1,4 --seq 1,77,1000,4099 --head-dim 64,128,256 --causal 0,1
  job flashwsp2 "$KBENCH" run --db "$TMP/flashwsp.db" $VFLAGS --timeout 30 --kernels 'attention.flash@cuda.wgmma-ws' --dtype bf16 \
      --batch 4 --heads 16 --kv-heads 4 --seq 1000 --head-dim 128,256 --causal 0,1 ) &
# the designs kept for timing against the default, each on the default's odd sizes at its
# head_dim: d 64's other consumer count (by default three, 192-row blocks, where not causal, so
# N = 77 and 1000 end inside a block's third consumer; two where causal): three causal and two
# not (KBENCH_FLASH_WS_D64_CONSUMERS=3, =2); and d 128 with 176-key K/V tiles
# (KBENCH_FLASH_WS_KEYS=176: N = 4099 ends 51 keys into its 24th tile); their counters say so
( export KBENCH_FLASH_WS_D64_CONSUMERS=3 KBENCH_FLASH_WS_PERSISTENT=0
  job flashws3 "$KBENCH" run --db "$TMP/flashwsx.db" $VFLAGS --timeout 30 --kernels 'attention.flash@cuda.wgmma-ws' --dtype f16,bf16 \
      --batch 2 --heads 4 --kv-heads 1,4 --seq 1,77,1000,4099 --head-dim 64 --causal 1 ) &
# and the persistent kernel on three at d 64 (both variables: 192-row work tiles; causal claimed
# from the counter)
( export KBENCH_FLASH_WS_D64_CONSUMERS=3 KBENCH_FLASH_WS_PERSISTENT=1
  job flashwsp3 "$KBENCH" run --db "$TMP/flashwsp3.db" $VFLAGS --timeout 30 --kernels 'attention.flash@cuda.wgmma-ws' --dtype bf16 \
      --batch 2 --heads 4 --kv-heads 1,4 --seq 1,77,1000,4099 --head-dim 64 --causal 0,1 ) &
( export KBENCH_FLASH_WS_D64_CONSUMERS=2
  job flashws2c "$KBENCH" run --db "$TMP/flashwsz.db" $VFLAGS --timeout 30 --kernels 'attention.flash@cuda.wgmma-ws' --dtype f16,bf16 \
      --batch 2 --heads 4 --kv-heads 1,4 --seq 1,77,1000,4099 --head-dim 64 --causal 0 ) &
# O stored from registers (KBENCH_FLASH_WS_TMA_STORE=0), where the default stages it in the Q
# tile for TMA stores of 16-row boxes (N = 77, 1000 and 4099 end inside a box)
( export KBENCH_FLASH_WS_TMA_STORE=0
  job flashwsr "$KBENCH" run --db "$TMP/flashwsr.db" $VFLAGS --timeout 30 --kernels 'attention.flash@cuda.wgmma-ws' --dtype bf16 \
      --batch 2 --heads 4 --kv-heads 1,4 --seq 77,1000,4099 --head-dim 64,128,256 --causal 0,1 ) &
# O rescaled whenever a row's maximum grows (KBENCH_FLASH_WS_LAZY_RESCALE=0), where by default a
# maximum is kept until a tile's exceeds it by 2^8; the default's own outlier inputs (maxima that
# jump mid-row) are in flashwso
( export KBENCH_FLASH_WS_LAZY_RESCALE=0
  job flashwsl "$KBENCH" run --db "$TMP/flashwsl.db" $VFLAGS --timeout 30 --kernels 'attention.flash@cuda.wgmma-ws' --dtype f16,bf16 \
      --batch 2 --heads 4 --kv-heads 4 --seq 77,4099 --head-dim 64,128,256 --causal 0,1 --input normal,outlier ) &
( job flashwso "$KBENCH" run --db "$TMP/flashwso.db" $VFLAGS --timeout 30 --kernels 'attention.flash@cuda.wgmma-ws' --dtype f16,bf16 \
      --batch 2 --heads 4 --kv-heads 4 --seq 77,4099 --head-dim 64,128,256 --causal 0,1 --input outlier ) &
# the one-block-a-tile kernel where the persistent one is the default (d 128, d 64 causal:
# KBENCH_FLASH_WS_PERSISTENT=0), its causal grid in one dimension, numbered in sections of
# (batch, head) planes, every plane's heaviest query block first (flash_ws.cuh's ws_grid)
( export KBENCH_FLASH_WS_PERSISTENT=0
  job flashwsnp "$KBENCH" run --db "$TMP/flashwsn.db" $VFLAGS --timeout 30 --kernels 'attention.flash@cuda.wgmma-ws' --dtype bf16 \
      --batch 2 --heads 4 --kv-heads 1,4 --seq 1,77,1000,4099 --head-dim 64,128 --causal 0,1 ) &
# and that grid numbered a plane at a time (KBENCH_FLASH_WS_SECTIONS=0): batch 2 over 4 heads,
# GQA, N ending inside a block
( export KBENCH_FLASH_WS_SECTIONS=0 KBENCH_FLASH_WS_PERSISTENT=0
  job flashwssec "$KBENCH" run --db "$TMP/flashwsq.db" $VFLAGS --timeout 30 --kernels 'attention.flash@cuda.wgmma-ws' --dtype bf16 \
      --batch 2 --heads 4 --kv-heads 1,4 --seq 77,1000,4099 --head-dim 64,128,256 --causal 1 ) &
( export KBENCH_FLASH_WS_KEYS=176
  job flashws176 "$KBENCH" run --db "$TMP/flashwsy.db" $VFLAGS --timeout 30 --kernels 'attention.flash@cuda.wgmma-ws' --dtype f16,bf16 \
      --batch 2 --heads 4 --kv-heads 1,4 --seq 1,77,1000,4099 --head-dim 128 --causal 0,1 ) &
# SageAttention2's FP8 P·V (attention.int8@cuda.wgmma-fp8) beside its f16-P·V baseline
# @cuda.wgmma-ws on the same cases: N = 4099 ends in a 3-key tile (Vᵀ padded to 4224 keys), N = 1
# is one key; 3 heads on 1 or 3 KV heads (GQA 3:1), batch 2, causal and not, normal and outlier
# attention.flash@cuda.wgmma-fp8 (e4m3 Q, K, P, V) on the same cases after it
( job int8fp8 "$KBENCH" run --db "$TMP/int8fp8.db" $VFLAGS --timeout 30 \
      --kernels 'attention.int8@cuda.wgmma-fp8,attention.int8@cuda.wgmma-ws' --dtype i8 --batch 2 --heads 3 \
      --kv-heads 1,3 --seq 1,77,1000,4099 --head-dim 128 --causal 0,1 --input normal,outlier
  job flashfp8 "$KBENCH" run --db "$TMP/int8fp8.db" $VFLAGS --timeout 30 --kernels 'attention.flash@cuda.wgmma-fp8' \
      --dtype e4m3 --batch 2 --heads 3 --kv-heads 1,3 --seq 1,77,1000,4099 --head-dim 128 --causal 0,1 \
      --input normal,outlier ) &
# both FP8 P·V kernels with SageAttention2's recipe alone, the last key tile in e4m3 too
# (KBENCH_FP8_PV_LAST16=0; by default on f16 where causal or N <= 128), on normal inputs
# (outlier V channels put two cases past the bound: fp8_pv.cuh says why)
( export KBENCH_FP8_PV_LAST16=0
  job fp8rec "$KBENCH" run --db "$TMP/fp8rec.db" $VFLAGS --timeout 30 \
      --kernels 'attention.int8@cuda.wgmma-fp8,attention.flash@cuda.wgmma-fp8' --dtype i8,e4m3 --batch 2 --heads 3 \
      --kv-heads 1,3 --seq 77,4099 --head-dim 128 --causal 0,1 ) &
# and their persistent kernel (KBENCH_FP8_PV_PERSISTENT=1; 2 · 3 · 33 = 198 work tiles on 132 SMs
# at N = 4099, some blocks running two; causal, claimed from the counter, the f16 last tile
# loaded again for each)
( export KBENCH_FP8_PV_PERSISTENT=1
  job fp8pers "$KBENCH" run --db "$TMP/fp8pers.db" $VFLAGS --timeout 30 \
      --kernels 'attention.int8@cuda.wgmma-fp8,attention.flash@cuda.wgmma-fp8' --dtype i8,e4m3 --batch 2 --heads 3 \
      --kv-heads 1,3 --seq 1000,4099 --head-dim 128 --causal 0,1 --input normal,outlier ) &
# cuBLAS GEMMs, then the quantized GEMMs and their cuBLASLt baselines (K not a multiple of the
# 64-byte tile nor of 16, one row, N odd; normal and outlier inputs)
( job gemm "$KBENCH" run --db "$TMP/gemm.db" $VFLAGS --kernels 'gemm.*@cuda.cublas' --dtype f32,f16,bf16 --m 1,333 \
      --n 7,513 --k 129,777 --input normal,outlier
  job qgemm "$KBENCH" run --db "$TMP/qgemm.db" $VFLAGS \
      --kernels 'quant.gemm_int8@cuda*,quant.gemm_fp8@cuda*,gemm.dense@cuda.cublaslt' --dtype i8,e4m3 --m 1,333 \
      --n 7,513 --k 129,777 --input normal,outlier
  # the Hopper wgmma GEMMs (also in the sweep above) once more with a long K: 33 k-tiles turn
  # their 4-stage TMA ring over 8 times (mbarrier phases), over several 128×256 tiles
  job qgemm_wgmma "$KBENCH" run --db "$TMP/qgemm.db" $VFLAGS --kernels 'quant.gemm_int8@cuda.wgmma,quant.gemm_fp8@cuda.wgmma' \
      --dtype i8,e4m3 --m 129,1000 --n 300 --k 4099 ) &
# quantization: every format and granularity, W4A8, the I-ViT operators; verify is the CPU
# kernels' own on the GPU's outputs (codes bit for bit against the scalar emulation)
( qflags="--devices cuda:0 --max-time 0.01 --min-time 0.002 --no-counters --no-metrics --quiet --no-show"
  job quant1 "$KBENCH" run --db "$TMP/quant.db" $qflags --kernels 'quant.quantize@cuda' --dtype i8,i4,e4m3,e5m2 \
      --m 77 --k 333,4096 --group 33,128 --granularity tensor,channel,group --input normal,outlier ) &
( qflags="--devices cuda:0 --max-time 0.01 --min-time 0.002 --no-counters --no-metrics --quiet --no-show"
  job quant2 "$KBENCH" run --db "$TMP/quantb.db" $qflags --kernels 'quant.gemm_w4a8@cuda.mma' --dtype i8 --m 1,77,300 \
      --n 7,200 --k 40,777 --group 32,128 --input normal,outlier
  job quant3 "$KBENCH" run --db "$TMP/quantb.db" $qflags --kernels 'quant.gemm_w4a8@cuda.mma' --dtype i8 --m 64 --n 64 \
      --k 777 --group 100
  job quant4 "$KBENCH" run --db "$TMP/quantb.db" $qflags --kernels 'quant.ivit_*@cuda*' --dtype i8,f32 --m 1,77 \
      --n 1,197,3000 --input normal,uniform ) &
# FP4 (MXFP4 blocks of 32, NVFP4 blocks of 16): K of 7, 33 and 4099 end in a short block and an
# odd nibble; one row, ragged 64×64 GEMM tiles; the native FP4 GEMM refuses on sm_90, saying why
( qflags="--devices cuda:0 --max-time 0.01 --min-time 0.002 --no-counters --no-metrics --quiet --no-show"
  job fp4q "$KBENCH" run --db "$TMP/fp4.db" $qflags --kernels 'quant.fp4_quantize@cuda' --dtype mxfp4,nvfp4 \
      --m 1,77,300 --k 7,333,4099 --input normal,outlier
  job fp4g "$KBENCH" run --db "$TMP/fp4.db" $qflags --kernels 'quant.fp4_gemm@cuda.mma' --dtype mxfp4,nvfp4 \
      --m 1,77,300 --n 7,200 --k 33,777,4099 --input normal,outlier
  job fp4n "$KBENCH" run --db "$TMP/fp4.db" $qflags --kernels 'quant.fp4_gemm@cuda.native' --dtype mxfp4,nvfp4 \
      --m 64 --n 64 --k 64 ) &
# the I-ViT integer block on the GPU: 1, 37 and 197 tokens (ragged 32-wide GEMM tiles, head_dim 32
# of 3 heads, ffn 200), outliers, then ViT-B/16; checked bit for bit by vit.block@cpu.int8's check
( qflags="--devices cuda:0 --max-time 0.01 --min-time 0.002 --no-counters --no-metrics --quiet --no-show"
  job vit1 "$KBENCH" run --db "$TMP/vit.db" $qflags --kernels 'vit.block@cuda.int8' --dtype i8 --seq 1,37,197 \
      --hidden 96 --heads 3 --head-dim 32 --ffn 200 --input normal,outlier
  job vit2 "$KBENCH" run --db "$TMP/vit.db" $qflags --kernels 'vit.block@cuda.int8' --dtype i8 --preset vit-b16 ) &
# MoE at odd sizes: one token, ragged row tiles, hidden and ffn not multiples of 8 nor of the
# 128-wide tile, 8 and 64 experts, top-1/2/8, the three routing skews; then the Mixtral layer
# (with its CUPTI trace: which kernels each version launches). The one-device mma.sync kernels
# only (cuda.[!ew]*): moe.layer@cuda.ep has its own section (--span) below, the wgmma ones the next.
( job moe1 "$KBENCH" run --db "$TMP/moe.db" $VFLAGS --kernels 'moe.*@cuda,moe.*@cuda.[!ew]*' --dtype bf16 --tokens 1,77,1000 \
      --hidden 100 --ffn 333 --experts 8,64 --top-k 1,2,8 --routing zipf
  job moe2 "$KBENCH" run --db "$TMP/moe.db" $VFLAGS --kernels 'moe.*@cuda,moe.*@cuda.[!ew]*' --dtype bf16 --tokens 1000 --hidden 520 \
      --ffn 136 --experts 8 --top-k 2 --routing uniform,one
  job moe3 "$KBENCH" run --db "$TMP/moe.db" --devices cuda:0 --kernels 'moe.layer@cuda.[!ew]*' --dtype bf16 \
      --preset mixtral-8x7b --tokens 512 --max-time 0.2 --no-metrics --quiet --no-show ) &
# the Hopper grouped GEMMs (wgmma + TMA; sm_90a builds, compute capability 9.0 only) at the same
# odd sizes. TMA needs 16-byte row strides, which the layouts' padding to 8 bf16 gives: h 100 →
# 104 and f 333 → 336 are not multiples of the 64-wide k-tile (TMA zero-fills past the row),
# 2·336 = 672 and 104 not of the 256-wide column tile (the box runs into the next expert's weights:
# masked on store); one token, ragged row tiles (the box runs into the next expert's rows: masked);
# E 8, 64; top-1/2/8; zipf, uniform and all-to-one routing. moewg3: h 4100 is 65 k-tiles, the
# 4-stage ring turns over 16 times (mbarrier phases), over 17 column tiles of the down projection.
( wg="moe.experts@cuda.wgmma,moe.layer@cuda.wgmma"
  job moewg1 "$KBENCH" run --db "$TMP/moewg.db" $VFLAGS --kernels "$wg" --dtype bf16 --tokens 1,77,1000 \
      --hidden 100 --ffn 333 --experts 8,64 --top-k 1,2,8 --routing zipf
  job moewg2 "$KBENCH" run --db "$TMP/moewg.db" $VFLAGS --kernels "$wg" --dtype bf16 --tokens 1000 --hidden 520 \
      --ffn 136 --experts 8 --top-k 2 --routing uniform,one
  job moewg3 "$KBENCH" run --db "$TMP/moewg.db" $VFLAGS --kernels "$wg" --dtype bf16 --tokens 1000 --hidden 4100 \
      --ffn 520 --experts 8 --top-k 2 --routing zipf ) &
# and their two other forms, where the jobs above run the default (two-block clusters sharing B,
# looping over pairs of tiles: pairs across column tiles and experts, a pair without its second
# tile): blocks of their own (KBENCH_MOE_WG_CLUSTER=1), and a block a tile
# (KBENCH_MOE_WG_PERSISTENT=0)
( export KBENCH_MOE_WG_CLUSTER=1
  job moewgc "$KBENCH" run --db "$TMP/moewgc.db" $VFLAGS --kernels "moe.experts@cuda.wgmma,moe.layer@cuda.wgmma" \
      --dtype bf16 --tokens 1,77,1000 --hidden 100 --ffn 333 --experts 8 --top-k 2,8 --routing zipf ) &
( export KBENCH_MOE_WG_PERSISTENT=0
  job moewgb "$KBENCH" run --db "$TMP/moewgb.db" $VFLAGS --kernels "moe.experts@cuda.wgmma,moe.layer@cuda.wgmma" \
      --dtype bf16 --tokens 1,77,1000 --hidden 100 --ffn 333 --experts 8 --top-k 2,8 --routing zipf ) &
# moe.experts@cuda.wgmma-fp8 (DeepSeek-V3's block-scaled FP8; sm_90a, compute capability 9.0):
# h and f multiples of its 128-wide blocks; odd token counts (one token; row tiles ending 1 and 77
# rows into a tile), 8 and 64 experts (empty groups), top-1/2/8, the three routing skews; 3 and
# 5 k-tiles of 6-stage rings, then 56 (h 7168) and 112 (f 14336): the presets at small token
# counts (the ring turns over many times; DeepSeek-V3's shape with 16 of its 256 experts, most of
# them empty or one row: all 256 would draw 45 GB of float weights on the host).
( fp8="moe.experts@cuda.wgmma-fp8"
  job moefp81 "$KBENCH" run --db "$TMP/moefp8.db" $VFLAGS --kernels "$fp8" --dtype e4m3 --tokens 1,77,1001 \
      --hidden 384 --ffn 640 --experts 8,64 --top-k 1,2,8 --routing zipf
  job moefp82 "$KBENCH" run --db "$TMP/moefp8.db" $VFLAGS --kernels "$fp8" --dtype e4m3 --tokens 999 --hidden 640 \
      --ffn 384 --experts 8 --top-k 2 --routing uniform,one
  # --timeout 300: the case takes 48 s alone on an H100 host (1.4 G weights made, quantized and
  # checked on the host), over the default 60 s while the other jobs share the host's cores;
  # DeepSeek-V3's (0.7 G) went over 60 s so on an H100 host (2026-12-07)
  job moefp83 "$KBENCH" run --db "$TMP/moefp8.db" $VFLAGS --timeout 300 --kernels "$fp8" --dtype e4m3 \
      --preset mixtral-8x7b --tokens 77
  job moefp84 "$KBENCH" run --db "$TMP/moefp8.db" $VFLAGS --timeout 300 --kernels "$fp8" --dtype e4m3 \
      --preset deepseek-v3 --experts 16 --tokens 33 ) &
# (above: its default 128 x 256 tile where n allows, so the up GEMM's 2f = 1280 and Mixtral's
# shapes take it, h 384 and 640 the 128 x 128 one.) Its narrow tile everywhere
# (KBENCH_MOE_FP8_TILE=128), where h 512 and 2f 1280 would allow the wide: odd token counts,
# top-2 and top-8; and with the consumers not taking turns and a block a tile
# (KBENCH_MOE_FP8_TURNS=0, KBENCH_MOE_FP8_PERSISTENT=0), where every other job runs the defaults,
# turns and a block an SM looping over tiles
( export KBENCH_MOE_FP8_TILE=128 KBENCH_MOE_FP8_TURNS=0 KBENCH_MOE_FP8_PERSISTENT=0
  job moefp8w "$KBENCH" run --db "$TMP/moefp8w.db" $VFLAGS --kernels moe.experts@cuda.wgmma-fp8 --dtype e4m3 \
      --tokens 1,77,1001 --hidden 512 --ffn 640 --experts 8 --top-k 2,8 --routing zipf ) &
# and its wide tile in two-block clusters sharing B (KBENCH_MOE_FP8_CLUSTER=2): odd token counts
# (pairs of tiles across column tiles and experts, a pair without its second tile), top-2 and -8;
# with the consumers' turns from each tile's k-tile 2 (KBENCH_MOE_FP8_TURNS_FROM=2, opt-in; 4 and
# 5 k-tiles a tile here)
( export KBENCH_MOE_FP8_CLUSTER=2 KBENCH_MOE_FP8_TURNS_FROM=2
  job moefp8c "$KBENCH" run --db "$TMP/moefp8c.db" $VFLAGS --kernels moe.experts@cuda.wgmma-fp8 --dtype e4m3 \
      --tokens 1,77,1001 --hidden 512 --ffn 640 --experts 8 --top-k 2,8 --routing zipf ) &
# and with its A fragments in registers (KBENCH_MOE_FP8_A_REGS=1: ldmatrix from the swizzled
# stage, the RS wgmma), the same sizes
( export KBENCH_MOE_FP8_A_REGS=1
  job moefp8a "$KBENCH" run --db "$TMP/moefp8a.db" $VFLAGS --kernels moe.experts@cuda.wgmma-fp8 --dtype e4m3 \
      --tokens 1,77,1001 --hidden 512 --ffn 640 --experts 8 --top-k 2,8 --routing zipf ) &
# and with its block scales loaded into the scale warp's registers and stored
# (KBENCH_MOE_FP8_SCALES_ASYNC=0), where by default cp.async copies them, and its staged tiles
# stored by the warps' lanes (KBENCH_MOE_FP8_TMA_STORE=0), where by default a TMA store sends a
# warp's rows, the same sizes
( export KBENCH_MOE_FP8_SCALES_ASYNC=0 KBENCH_MOE_FP8_TMA_STORE=0
  job moefp8s "$KBENCH" run --db "$TMP/moefp8s.db" $VFLAGS --kernels moe.experts@cuda.wgmma-fp8 --dtype e4m3 \
      --tokens 1,77,1001 --hidden 512 --ffn 640 --experts 8 --top-k 2,8 --routing zipf ) &
# and with the down GEMM's tile and the up GEMM's h codes stored from the accumulators
# (KBENCH_MOE_FP8_STAGED_STORE=0; staged through shared memory by default), the same sizes and
# the uniform and one-expert routings (tail tiles without turns between tiles with them)
( export KBENCH_MOE_FP8_STAGED_STORE=0
  job moefp8t "$KBENCH" run --db "$TMP/moefp8t.db" $VFLAGS --kernels moe.experts@cuda.wgmma-fp8 --dtype e4m3 \
      --tokens 1,77,1001 --hidden 512 --ffn 640 --experts 8 --top-k 2,8 --routing zipf
  job moefp8t2 "$KBENCH" run --db "$TMP/moefp8t.db" $VFLAGS --kernels moe.experts@cuda.wgmma-fp8 --dtype e4m3 \
      --tokens 999 --hidden 640 --ffn 384 --experts 8 --top-k 2 --routing uniform,one ) &
# gated linear attention: chunk 64 divides none of N = 1, 77, 1000, 4099; GQA, batch 2; outlier
# key channels (the in-chunk key scaling must stay in f16's range); a chunk it is not built for
( gla() { "$KBENCH" run --db "$TMP/gla.db" $VFLAGS --kernels attention.gla@cuda.mma --dtype f16,bf16 --batch 2 \
      --heads 4 --head-dim 64,128 "$@"; }
  job gla1 gla --kv-heads 1,4 --seq 1,77,1000,4099
  job gla2 gla --kv-heads 2 --seq 77,1000 --input outlier
  job gla3 "$KBENCH" run --db "$TMP/gla.db" --devices cuda:0 --kernels attention.gla@cuda.mma --dtype bf16 \
      --seq 100 --chunk 32 --quiet --no-show ) &
# Lightning (un-normalised decayed) linear attention: chunks 64 and 128 divide none of N = 1, 300,
# 1000, 4097; d 64, 128; GQA, batch 2; a grid of several waves; bf16 with outlier channels; a chunk
# it is not built for
( lt() { "$KBENCH" run --db "$TMP/lightning.db" $VFLAGS --kernels attention.lightning@cuda.mma --batch 2 \
      --heads 4 --head-dim 64,128 --chunk 64,128 "$@"; }
  job lightning1 lt --dtype f16,bf16 --kv-heads 1,4 --seq 1,300,1000,4097
  job lightning2 lt --dtype bf16 --kv-heads 2 --seq 300,4097 --input outlier
  job lightning3 "$KBENCH" run --db "$TMP/lightning.db" $VFLAGS --kernels attention.lightning@cuda.mma --dtype f16,bf16 \
      --heads 16 --seq 16385 --head-dim 128 --chunk 64,128
  # long enough that the chunks go in groups (state per group of 8 chunks at chunk 64, 4 at 128;
  # the last group and its last chunk partial), batch 2, GQA
  job lightning5 "$KBENCH" run --db "$TMP/lightning.db" $VFLAGS --kernels attention.lightning@cuda.mma --dtype f16,bf16 \
      --batch 2 --heads 16 --kv-heads 4 --seq 60001 --head-dim 128 --chunk 64,128
  job lightning4 "$KBENCH" run --db "$TMP/lightning.db" --devices cuda:0 --kernels attention.lightning@cuda.mma \
      --dtype bf16 --seq 100 --chunk 32 --quiet --no-show ) &
# its output pass loading the next chunk under this one (KBENCH_LIGHTNING_PREFETCH=1): odd N, d 64
# and 128, chunk 64 and 128, GQA, batch 2, and grouped chunks (N = 60001)
( export KBENCH_LIGHTNING_PREFETCH=1
  job lightningp "$KBENCH" run --db "$TMP/lightningp.db" $VFLAGS --kernels attention.lightning@cuda.mma --dtype bf16 \
      --batch 2 --heads 4 --kv-heads 1,4 --head-dim 64,128 --chunk 64,128 --seq 1,300,4097
  job lightningp2 "$KBENCH" run --db "$TMP/lightningp.db" $VFLAGS --kernels attention.lightning@cuda.mma --dtype bf16 \
      --batch 2 --heads 16 --kv-heads 4 --seq 60001 --head-dim 128 --chunk 64,128 ) &
# the three passes fused into one kernel (KBENCH_LIGHTNING_FUSED=1: each block claims a group,
# computes its state, scans a share of its plane's states between two barriers of the plane's
# blocks, then computes its outputs): the same odd sizes (up to 33 groups a plane), and grouped
# chunks (N = 60001: 59 and 30 groups) without the prefetch; every timed repetition a new epoch
# of the same barrier counts
( export KBENCH_LIGHTNING_FUSED=1
  job lightfused "$KBENCH" run --db "$TMP/lightfused.db" $VFLAGS --kernels attention.lightning@cuda.mma --dtype bf16 \
      --batch 2 --heads 4 --kv-heads 1,4 --head-dim 64,128 --chunk 64,128 --seq 1,300,4097
  KBENCH_LIGHTNING_PREFETCH=0 job lightfused2 "$KBENCH" run --db "$TMP/lightfused.db" $VFLAGS \
      --kernels attention.lightning@cuda.mma --dtype f16 --batch 2 --heads 16 --kv-heads 4 --seq 60001 --head-dim 128 \
      --chunk 64,128 ) &
# the delta rule (DeltaNet, Gated DeltaNet; β up to 2 on odd heads): chunk 64 divides none of
# N = 1, 77, 300, 1000; the decode step from a state each kernel builds; a head_dim it refuses.
# deltamma: the tensor-core form (@cuda.mma) the same way and at N = 4099 (65 chunks, the last of
# 3 tokens), d 64 and 128 (its only two), decode from the state its own passes build, 16 heads
# at N = 16385 (257 chunks: f16's range over a long state pass), and a head_dim and a chunk it
# is not compiled for (the op has no GQA: kv_heads = heads)
DELTA_PLAIN='attention.delta@cuda.chunked,attention.delta@cuda.recurrent'
( dl() { "$KBENCH" run --db "$TMP/delta.db" $VFLAGS --kernels "$DELTA_PLAIN" --batch 2 --heads 3 "$@"; }
  job delta1 dl --dtype f16,bf16 --seq 1,77,300,1000 --head-dim 64,128 --decay 0,1
  job delta2 dl --dtype bf16 --seq 1,300,1000 --head-dim 64 --decay 0,1 --decode 1
  job delta3 "$KBENCH" run --db "$TMP/delta.db" --devices cuda:0 --kernels "$DELTA_PLAIN" --dtype bf16 \
      --seq 100 --head-dim 40 --quiet --no-show
  dm() { "$KBENCH" run --db "$TMP/deltamma.db" $VFLAGS --kernels attention.delta@cuda.mma "$@"; }
  job deltamma dm --batch 2 --heads 3 --dtype f16,bf16 --seq 1,77,300,1000,4099 --head-dim 64,128 --decay 0,1
  job deltamma2 dm --batch 2 --heads 3 --dtype f16,bf16 --seq 1,300,1000 --head-dim 64,128 --decay 1 --decode 1
  job deltamma3 dm --batch 1 --heads 16 --dtype f16,bf16 --seq 16385 --head-dim 128 --decay 0,1
  job deltamma4 "$KBENCH" run --db "$TMP/deltamma.db" --devices cuda:0 --kernels attention.delta@cuda.mma \
      --dtype bf16 --seq 100 --head-dim 96 --quiet --no-show
  job deltamma5 "$KBENCH" run --db "$TMP/deltamma.db" --devices cuda:0 --kernels attention.delta@cuda.mma \
      --dtype bf16 --seq 100 --head-dim 64 --chunk 32 --quiet --no-show ) &
# deltamma64: @cuda.mma with its state pass in blocks of 64 value channels (KBENCH_DELTA_VS=64:
# 64-wide swizzled tiles, half the blocks of the default 32) at deltamma's sizes, its decode
# steps and 16 heads of 16385 tokens; every case's counter delta.state_channels = 64
( export KBENCH_DELTA_VS=64
  dm32() { "$KBENCH" run --db "$TMP/deltamma32.db" $VFLAGS --kernels attention.delta@cuda.mma "$@"; }
  job deltamma32 dm32 --batch 2 --heads 3 --dtype f16,bf16 --seq 1,77,300,1000,4099 --head-dim 64,128 --decay 0,1
  job deltamma32b dm32 --batch 2 --heads 3 --dtype f16,bf16 --seq 1,300,1000 --head-dim 64,128 --decay 1 --decode 1
  job deltamma32c dm32 --batch 1 --heads 16 --dtype f16,bf16 --seq 16385 --head-dim 128 --decay 0,1 ) &
# deltavs32: @cuda.mma's state pass at 32 value channels a block at d = 128 (KBENCH_DELTA_VS=32;
# the default there is 16, at d = 64 it is 32); counter delta.state_channels = 32. deltavs16: 16
# is built for d = 128 only, so KBENCH_DELTA_VS=16 at d = 64 is refused with the reason
( export KBENCH_DELTA_VS=32
  job deltavs32 "$KBENCH" run --db "$TMP/deltavs.db" $VFLAGS --kernels attention.delta@cuda.mma --batch 2 --heads 3 \
      --dtype f16,bf16 --seq 1,77,300,1000,4099 --head-dim 128 --decay 0,1 ) &
( export KBENCH_DELTA_VS=16
  job deltavs16 "$KBENCH" run --db "$TMP/deltavs16.db" $VFLAGS --kernels attention.delta@cuda.mma --batch 1 --heads 2 \
      --dtype bf16 --seq 77 --head-dim 64 ) &
# deltasplit: @cuda.mma's output pass at 64 output channels a block (KBENCH_DELTA_OUT=split: two
# blocks a chunk at d = 128, one at 64) at deltamma's prefill sizes; counter delta.out_split = 1
( export KBENCH_DELTA_OUT=split
  job deltasplit "$KBENCH" run --db "$TMP/deltasplit.db" $VFLAGS --kernels attention.delta@cuda.mma --batch 2 --heads 3 \
      --dtype f16,bf16 --seq 1,77,300,1000,4099 --head-dim 64,128 --decay 0,1 ) &
# flash-decoding (decode = 1 only): odd cache lengths (1 token, 1000, 4097: ragged splits and
# a ragged last page), batch 1 and 3, MHA and GQA, contiguous and paged caches (16- and 64-token
# pages through a shuffled block table), d 64/128 (256 apart); GQA groups of 6 and 12 (one CTA
# serves at most 8 query heads: 12 is two chunks); a 64k+1 cache (many splits)
( dec() { "$KBENCH" run --db "$TMP/decode.db" $VFLAGS --kernels attention.flash@cuda.decode --decode 1 "$@"; }
  job decode1 dec --dtype f16,bf16 --batch 1,3 --heads 8 --kv-heads 8,2 --seq 1,1000,4097 --head-dim 64,128 --page 0,16,64
  job decode2 dec --dtype f16,bf16 --batch 1,3 --heads 8 --kv-heads 2 --seq 4097 --head-dim 256 --page 0,16
  job decode3 dec --dtype bf16 --batch 3 --heads 12 --kv-heads 1,2 --seq 1000 --head-dim 128 --page 0,16
  job decode4 "$KBENCH" run --db "$TMP/decode.db" --devices cuda:0 --max-time 0.05 --no-metrics --quiet --no-show \
      --kernels attention.flash@cuda.decode --decode 1 --dtype bf16 --batch 1 --heads 8 --seq 65537 --head-dim 128 \
      --page 0,64
  # 8 CTAs per SM setting the splits (more, shorter ones than the default 4; KBENCH_DECODE_CTAS_PER_SM)
  decv() { "$KBENCH" run --db "$TMP/decodev.db" $VFLAGS --kernels attention.flash@cuda.decode --decode 1 "$@"; }
  ( export KBENCH_DECODE_CTAS_PER_SM=8
    job decode6 decv --dtype f16 --batch 1 --heads 8 --kv-heads 8,2 --seq 1000,65537 --head-dim 128 --page 0,64 ) ) &
# MoBA block-sparse attention: odd N (1, 77, 1000, 4099: a short last block), GQA, batch 2, a
# top-k above, at and below the past blocks; 50/75/90% sparsity at N = 8191 (128 blocks: top-k
# 64, 32, 12); a block it is not compiled for is skipped, saying why
( bsa() { "$KBENCH" run --db "$TMP/bsa.db" $VFLAGS --kernels attention.block_sparse@cuda.mma "$@"; }
  job bsa1 bsa --dtype f16,bf16 --batch 2 --heads 4 --kv-heads 1,4 --seq 1,77,1000,4099 --head-dim 64,128 \
      --block 64 --topk-blocks 1,3,8
  job bsa2 bsa --dtype bf16 --heads 4 --kv-heads 2 --seq 8191 --head-dim 128 --block 64 --topk-blocks 64,32,12
  job bsa3 bsa --dtype bf16 --seq 100 --block 32 ) &
# the same on the Hopper schedule (attention.block_sparse@cuda.wgmma-ws; sm_90a, compute capability
# 9.0, block 128: one Q tile and one K/V tile a block): odd N (1 and 77: only the own block; 1000
# and 4099: 8 and 33 blocks, the last short), GQA, batch 2, top-k above, at and below the past
# blocks; 50/75/90% sparsity at N = 8191 (64 blocks: top-k 17, 7, 2); block 64 is refused
( bsw() { "$KBENCH" run --db "$TMP/bsaws.db" $VFLAGS --timeout 30 --kernels attention.block_sparse@cuda.wgmma-ws "$@"; }
  job bsaws1 bsw --dtype f16,bf16 --batch 2 --heads 4 --kv-heads 1,4 --seq 1,77,1000,4099 --head-dim 64,128 \
      --block 128 --topk-blocks 1,3,8
  job bsaws2 bsw --dtype bf16 --heads 4 --kv-heads 2 --seq 8191 --head-dim 128 --block 128 --topk-blocks 17,7,2
  job bsaws3 bsw --dtype bf16 --seq 100 --block 64 ) &
# hybrid stacks (attention.hybrid@cuda: flash@cuda.mma and linear@cuda.mma layers): every ratio, L = 5
# (not a multiple of 2, 4 or 7), ragged N, GQA, batch 2; then one case with counters for the memory stat
( job hybrid1 "$KBENCH" run --db "$TMP/hybrid.db" $VFLAGS --kernels attention.hybrid@cuda --dtype f16,bf16 --batch 2 \
      --heads 4 --kv-heads 1,4 --seq 1,77,1000 --head-dim 64,128 --layers 5 --ratio all
  job hybrid3 "$KBENCH" run --db "$TMP/hybrid.db" $VFLAGS --kernels attention.hybrid@cuda --dtype f16,bf16 --batch 2 \
      --heads 4 --kv-heads 2 --seq 77,1000 --head-dim 64,128 --layers 6 --ratio 1:1,3:1,linear --linear-kind gla
  job hybrid2 "$KBENCH" run --db "$TMP/hybrid.db" --devices cuda:0 --kernels attention.hybrid@cuda --dtype bf16 \
      --heads 4 --kv-heads 2 --seq 4099 --head-dim 128 --layers 7 --ratio 3:1 --max-time 0.05 --no-metrics --quiet --no-show ) &
# Mamba-2 SSD: chunk 64 divides none of N = 1, 77, 1000, 4099; groups 1 and 2 of 4 heads, batch 2;
# causal and bidirectional; the decode step; the recurrent kernel at S and P that are no tile size;
# a grid of several waves; a chunk the chunked kernel is not built for
( ssd() { "$KBENCH" run --db "$TMP/ssd.db" $VFLAGS --kernels 'attention.ssd@cuda.chunked,attention.ssd@cuda.recurrent' \
      --dtype f16,bf16 --batch 2 \
      --heads 4 --chunk 64 "$@"; }
  job ssd1 ssd --kv-heads 1,2 --seq 1,77,1000 --head-dim 64,128 --state 64,128 --causal 0,1
  job ssd2 ssd --kv-heads 1 --seq 4099 --head-dim 64,128 --state 64,128 --causal 0,1
  job ssd3 ssd --kv-heads 2 --seq 1,77,1000 --head-dim 64,128 --state 128 --decode 1
  job ssd4 "$KBENCH" run --db "$TMP/ssd.db" $VFLAGS --kernels attention.ssd@cuda.recurrent --dtype f16,bf16 --batch 2 \
      --heads 4 --kv-heads 4 --seq 77,1000 --head-dim 40 --state 24,200 --causal 0,1
  job ssd5 "$KBENCH" run --db "$TMP/ssd.db" $VFLAGS --kernels attention.ssd@cuda.chunked --dtype bf16 --heads 16 \
      --seq 8193 --head-dim 64 --state 128 --causal 1
  job ssd6 "$KBENCH" run --db "$TMP/ssd.db" --devices cuda:0 --kernels attention.ssd@cuda.chunked --dtype bf16 \
      --seq 100 --chunk 32 --causal 1 --quiet --no-show ) &
# attention.ssd@cuda.mma (tensor cores), its own database: the same odd sizes (N = 1, 77, 1000,
# 4099; P, S 64 and 128; groups 1 and 2 of 4 heads; batch 2; causal and bidirectional; f16, bf16),
# the decode step it shares with @cuda.chunked, 16 heads of their own groups over several waves,
# and a chunk it is not built for
( ssdmma() { "$KBENCH" run --db "$TMP/ssdmma.db" $VFLAGS --kernels attention.ssd@cuda.mma --dtype f16,bf16 \
      --batch 2 --heads 4 --chunk 64 "$@"; }
  job ssdmma1 ssdmma --kv-heads 1,2 --seq 1,77,1000,4099 --head-dim 64,128 --state 64,128 --causal 0,1
  job ssdmma2 ssdmma --kv-heads 2 --seq 1,77,1000 --head-dim 64,128 --state 128 --decode 1
  job ssdmma3 "$KBENCH" run --db "$TMP/ssdmma.db" $VFLAGS --kernels attention.ssd@cuda.mma --dtype bf16 --heads 16 \
      --seq 8193 --head-dim 128 --state 128 --causal 1
  job ssdmma4 "$KBENCH" run --db "$TMP/ssdmma.db" --devices cuda:0 --kernels attention.ssd@cuda.mma --dtype bf16 \
      --seq 100 --chunk 32 --causal 1 --quiet --no-show ) &
# packed ragged batches (cu_seqlens): odd longest lengths (1: every sequence one token), the
# uniform, long-tail and equal mixes (sequences shorter than a tile beside the longest), GQA,
# causal and not; linear with the chunk 64 it is compiled for
( vl() { "$KBENCH" run --db "$TMP/varlen.db" $VFLAGS --dtype f16,bf16 --batch 5 --heads 4 --head-dim 64,128 \
      --causal 0,1 --lengths uniform,longtail,equal "$@"; }
  job varlen1 vl --kernels attention.varlen@cuda.mma --kv-heads 1,4 --seq 1,77,1000
  job varlen2 vl --kernels attention.linear_varlen@cuda.mma --kv-heads 2 --seq 77,1000,4099 --chunk 64 ) &
# the naive baselines of two claims (attention.window@cpu.naive's and attention.linear@cpu.naive's
# GPU twins): any d (40 is no tile size), W 1, 100 and 4096 > N, GQA; then each refusing a
# problem it cannot hold (shared memory for the window's scores, a quarter of free memory for
# the N×N matrices) without allocating it
( job naive1 "$KBENCH" run --db "$TMP/naive.db" $VFLAGS --kernels attention.window@cuda.naive --dtype f16,bf16 \
      --batch 2 --heads 4 --kv-heads 1,4 --seq 1,77,1000 --head-dim 40,128 --window 1,100,4096
  nlin() { "$KBENCH" run --db "$TMP/naive.db" $VFLAGS --kernels attention.linear@cuda.naive --dtype f16,bf16 \
      --batch 2 --heads 4 --seq 1,77,1000 --head-dim 40,128 "$@"; }
  job naive2 nlin --kv-heads 1,4 --causal 1 --decay 0,1 --feature elu1
  job naive3 nlin --kv-heads 2 --causal 0 --feature elu1,relu
  job naive4 "$KBENCH" run --db "$TMP/naive.db" --devices cuda:0 --kernels attention.linear@cuda.naive --dtype bf16 \
      --seq 131072 --head-dim 64 --quiet --no-show
  job naive5 "$KBENCH" run --db "$TMP/naive.db" --devices cuda:0 --kernels attention.window@cuda.naive --dtype bf16 \
      --seq 100000 --window 100000 --head-dim 64 --quiet --no-show ) &
wait

DB="$TMP/verify.db"
expect_job verify "every CUDA attention kernel passes at odd sizes (f16, bf16; d 64, 128; causal; GQA)"
expect_eq "$(q "SELECT count(*) FROM cases WHERE status NOT IN ('ok', 'skipped');")" "0" "no case failed"
# d = 64 and 128 for mma.sync and cuBLAS; the wgmma kernel is built for d = 128 (and skips 64, saying so)
expect_eq "$(q "SELECT count(*) FROM (SELECT kernel, impl, sum(a.passed) AS n FROM cases c JOIN accuracy a ON a.case_id = c.id GROUP BY kernel, impl) WHERE n < (CASE WHEN impl = 'cuda.wgmma' THEN 24 ELSE 48 END);")" "0" "48 verified cases per kernel (24 for the d = 128 wgmma kernel; wgmma-ws has d = 64 too)"
expect_eq "$(q "SELECT count(*) FROM cases WHERE status = 'skipped' AND NOT (impl = 'cuda.wgmma' AND head_dim = 64);")" "0" "and the only skipped cases are wgmma's d = 64"
q "SELECT kernel, impl, dtype, seq_len, head_dim, causal, kv_heads, status, error FROM v_results WHERE status NOT IN ('ok', 'skipped');" | head -5 | sed 's/^/# /'
expect_eq "$(q "SELECT count(*) FROM cases WHERE status = 'ok' AND (nvml_status NOT LIKE 'not requested%' OR cupti_status NOT LIKE 'not requested%');")" "0" "--no-counters skips the energy pass and the CUPTI trace (recorded as not requested)"
q "SELECT impl, dtype, max(rel_l2_err), min(cosine) FROM v_results GROUP BY impl, dtype;" | sed 's/^/# worst error: /'
# @cuda.wgmma-ws does @cuda.wgmma's arithmetic in the same order (only the schedule differs), so
# the two should agree to the last bit on the same inputs: a diagnostic, printed, not asserted
q "SELECT count(*), sum(a.rel_l2_err = b.rel_l2_err) FROM v_results a JOIN v_results b ON a.dtype = b.dtype AND a.batch = b.batch AND a.seq_len = b.seq_len AND a.head_dim = b.head_dim AND a.causal = b.causal AND a.kv_heads = b.kv_heads WHERE a.impl = 'cuda.wgmma' AND b.impl = 'cuda.wgmma-ws' AND a.status = 'ok' AND b.status = 'ok';" | sed 's/^/# cases of wgmma and wgmma-ws | with the same error: /'

# attention.flash@cuda.wgmma-ws: built where nvcc has sm_90a; compute capability 9.0 only, d = 64, 128, 256
if "$KBENCH" list 2>/dev/null | grep -q 'attention.flash .*cuda.wgmma-ws'; then
    DB="$TMP/flashws.db"
    expect_job flashws "attention.flash@cuda.wgmma-ws runs its 144 cases (N 1, 77, 1000, 4099; d 64, 128, 256; causal and not; GQA; batch 2; f16, bf16)"
    if [ "$(q "SELECT count(*) FROM cases WHERE impl = 'cuda.wgmma-ws' AND status = 'skipped' AND error LIKE '%compute capability 9.0%';")" = "144" ]; then
        ok "attention.flash@cuda.wgmma-ws verified # SKIP all 144 cases refused: this GPU is not compute capability 9.0"
    else
        expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND c.kernel = 'attention.flash' AND c.impl = 'cuda.wgmma-ws' AND c.head_dim = 128;")" "48" "48 verified attention.flash@cuda.wgmma-ws cases at d = 128 (TMA ring, ping-pong consumers)"
        expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND c.kernel = 'attention.flash' AND c.impl = 'cuda.wgmma-ws' AND c.head_dim = 64;")" "48" "and 48 at d = 64 (one column block, m64n64k16 P·V)"
        expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND c.kernel = 'attention.flash' AND c.impl = 'cuda.wgmma-ws' AND c.head_dim = 256;")" "48" "and 48 at d = 256 (64-key tiles: m64n64k16 S, m64n256k16 P·V)"
        expect_job flashws2 "attention.flash@cuda.wgmma-ws refuses a head_dim it is not compiled for, without failing the sweep"
        expect_eq "$(DB="$TMP/flashws2.db" q "SELECT count(*) FROM cases WHERE head_dim = 96 AND status = 'skipped' AND error LIKE '%d = 64, 128 and 256%';")" "1" "and says which it has"
        expect_job flashwsp "its persistent kernel (KBENCH_FLASH_WS_PERSISTENT=1) runs its 96 cases (N 1, 77, 1000, 4099; d 64, 128, 256; causal and not; GQA)"
        expect_job flashwsp2 "and 4 cases of 512 work tiles over the SMs (batch 4, 16 heads, N 1000; d 128, 256)"
        expect_eq "$(DB="$TMP/flashwsp.db" q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id JOIN counters k ON k.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND c.impl = 'cuda.wgmma-ws' AND k.backend = 'kernel' AND k.name = 'flash_ws.persistent' AND k.value = 1;")" "100" "100 verified cases of the persistent kernel (counter flash_ws.persistent = 1)"
        (DB="$TMP/flashwsp.db"; q "SELECT dtype, head_dim, seq_len, causal, status, substr(error, 1, 160) FROM v_results WHERE status <> 'ok' OR passed = 0;") | head -5 | sed 's/^/# flashwsp: /'
        expect_eq "$(DB="$TMP/flashwsp.db" q "SELECT count(*) FROM cases c JOIN counters k ON k.case_id = c.id WHERE c.status = 'ok' AND k.backend = 'kernel' AND k.name = 'flash_ws.tma_store' AND k.value = (c.head_dim < 256);")" \
            "$(DB="$TMP/flashwsp.db" q "SELECT count(*) FROM cases WHERE status = 'ok';")" "the persistent kernel stores O with TMA at d 64 and 128, from registers at d 256 (counter flash_ws.tma_store)"
        expect_job flashwspr "and without its TMA stores and lazy rescale (KBENCH_FLASH_WS_TMA_STORE=0, KBENCH_FLASH_WS_LAZY_RESCALE=0) its 8 cases"
        expect_eq "$(DB="$TMP/flashwspr.db" q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND (SELECT k.value FROM counters k WHERE k.case_id = c.id AND k.name = 'flash_ws.tma_store') = 0 AND (SELECT k.value FROM counters k WHERE k.case_id = c.id AND k.name = 'flash_ws.lazy_rescale') = 0;")" "8" "8 verified, each with counters flash_ws.tma_store = 0 and flash_ws.lazy_rescale = 0"
        expect_job flashws3 "its d-64 kernel on three consumer warpgroups, causal (KBENCH_FLASH_WS_D64_CONSUMERS=3), runs its 16 cases"
        expect_eq "$(DB="$TMP/flashwsx.db" q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id JOIN counters k ON k.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND k.backend = 'kernel' AND k.name = 'flash_ws.consumers' AND k.value = 3;")" "16" "16 verified, each with counter flash_ws.consumers = 3"
        expect_job flashwsp3 "the persistent kernel on three consumers at d 64 (KBENCH_FLASH_WS_D64_CONSUMERS=3, KBENCH_FLASH_WS_PERSISTENT=1) runs its 16 cases"
        expect_eq "$(DB="$TMP/flashwsp3.db" q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id JOIN counters k ON k.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND k.backend = 'kernel' AND k.name = 'flash_ws.consumers' AND k.value = 3 AND (SELECT j.value FROM counters j WHERE j.case_id = c.id AND j.name = 'flash_ws.persistent') = 1;")" "16" "16 verified, each with counters flash_ws.consumers = 3 and flash_ws.persistent = 1"
        expect_job flashws2c "and on two, not causal (KBENCH_FLASH_WS_D64_CONSUMERS=2), its 16 cases"
        expect_eq "$(DB="$TMP/flashwsz.db" q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id JOIN counters k ON k.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND k.backend = 'kernel' AND k.name = 'flash_ws.consumers' AND k.value = 2;")" "16" "16 verified, each with counter flash_ws.consumers = 2"
        expect_eq "$(q "SELECT count(*) FROM cases c JOIN counters k ON k.case_id = c.id WHERE c.status = 'ok' AND c.head_dim = 64 AND k.backend = 'kernel' AND k.name = 'flash_ws.consumers' AND k.value = 3 - c.causal;")" \
            "$(q "SELECT count(*) FROM cases WHERE status = 'ok' AND head_dim = 64;")" "by default d 64 runs on three consumers where not causal and two where causal (counter flash_ws.consumers)"
        expect_eq "$(q "SELECT count(*) FROM cases c JOIN counters k ON k.case_id = c.id WHERE c.status = 'ok' AND k.backend = 'kernel' AND k.name = 'flash_ws.tma_store' AND k.value = 1;")" \
            "$(q "SELECT count(*) FROM cases WHERE status = 'ok';")" "by default every case stores O with TMA from shared memory (counter flash_ws.tma_store = 1)"
        expect_job flashwsr "its O stored from registers (KBENCH_FLASH_WS_TMA_STORE=0) runs its 36 cases"
        expect_eq "$(DB="$TMP/flashwsr.db" q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id JOIN counters k ON k.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND k.backend = 'kernel' AND k.name = 'flash_ws.tma_store' AND k.value = 0;")" "36" "36 verified, each with counter flash_ws.tma_store = 0"
        expect_job flashwsl "its exact rescale (KBENCH_FLASH_WS_LAZY_RESCALE=0) runs its 48 cases"
        expect_eq "$(DB="$TMP/flashwsl.db" q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id JOIN counters k ON k.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND k.backend = 'kernel' AND k.name = 'flash_ws.lazy_rescale' AND k.value = 0;")" "48" "48 verified, normal and outlier inputs, each with counter flash_ws.lazy_rescale = 0"
        expect_job flashwso "its default (lazy rescale) on outlier inputs runs its 24 cases"
        expect_eq "$(DB="$TMP/flashwso.db" q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id JOIN counters k ON k.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND k.backend = 'kernel' AND k.name = 'flash_ws.lazy_rescale' AND k.value = 1;")" "24" "24 verified, each with counter flash_ws.lazy_rescale = 1"
        expect_eq "$(q "SELECT count(*) FROM cases c JOIN counters k ON k.case_id = c.id WHERE c.status = 'ok' AND k.backend = 'kernel' AND k.name = 'flash_ws.persistent' AND k.value = (c.head_dim = 128 OR (c.head_dim = 64 AND c.causal = 1));")" \
            "$(q "SELECT count(*) FROM cases WHERE status = 'ok';")" "by default the persistent kernel runs at d 128 and d 64 causal (counter flash_ws.persistent)"
        expect_eq "$(q "SELECT count(*) FROM cases c JOIN counters k ON k.case_id = c.id WHERE c.status = 'ok' AND k.backend = 'kernel' AND k.name = 'flash_ws.sections' AND k.value = (c.causal = 1 AND c.head_dim = 256);")" \
            "$(q "SELECT count(*) FROM cases WHERE status = 'ok';")" "and the one-block-a-tile kernel's causal grid (d 256) is numbered in sections of planes (counter flash_ws.sections)"
        expect_job flashwsnp "its one-block-a-tile kernel at d 64 and 128 (KBENCH_FLASH_WS_PERSISTENT=0) runs its 32 cases"
        expect_eq "$(DB="$TMP/flashwsn.db" q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id JOIN counters k ON k.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND k.backend = 'kernel' AND k.name = 'flash_ws.persistent' AND k.value = 0 AND (SELECT j.value FROM counters j WHERE j.case_id = c.id AND j.name = 'flash_ws.sections') = c.causal;")" "32" "32 verified, each with counter flash_ws.persistent = 0 and, causal, flash_ws.sections = 1"
        expect_job flashwssec "its causal grid a plane at a time (KBENCH_FLASH_WS_SECTIONS=0) runs its 18 cases"
        expect_eq "$(DB="$TMP/flashwsq.db" q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id JOIN counters k ON k.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND k.backend = 'kernel' AND k.name = 'flash_ws.sections' AND k.value = 0;")" "18" "18 verified, each with counter flash_ws.sections = 0"
        expect_job flashws176 "its d-128 kernel with 176-key tiles (KBENCH_FLASH_WS_KEYS=176) runs its 32 cases"
        expect_eq "$(DB="$TMP/flashwsy.db" q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id JOIN counters k ON k.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND k.backend = 'kernel' AND k.name = 'flash_ws.keys' AND k.value = 176;")" "32" "32 verified, each with counter flash_ws.keys = 176"
    fi
    q "SELECT dtype, head_dim, seq_len, kv_heads, causal, status, substr(error, 1, 160) FROM v_results WHERE status <> 'ok';" | head -5 | sed 's/^/# flashws: /'
    q "SELECT dtype, head_dim, causal, max(rel_l2_err), min(cosine) FROM v_results GROUP BY dtype, head_dim, causal;" | sed 's/^/# flashws worst error: /'
fi

DB="$TMP/linear.db"
expect_job linear1 "linear attention causal, decay on and off, GQA, at odd sizes"
expect_job linear2 "linear attention non-causal, both feature maps"
expect_job linear3 "linear attention causal with decay, relu"
expect_job linear5 "linear attention over a long grid (16 heads, N = 8193)"
expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1;")" "98" "98 verified linear-attention cases"
q "SELECT dtype, causal, decay, feature_map, max(rel_l2_err) FROM v_results GROUP BY dtype, causal, decay, feature_map;" | sed 's/^/# linear worst error: /'
expect_job linear4 "linear attention refuses a chunk it is not compiled for, without failing the sweep"
expect_eq "$(q "SELECT count(*) FROM cases WHERE chunk = 32 AND status = 'skipped' AND error LIKE '%chunk 64%';")" "1" "and says why"

DB="$TMP/varlen.db"
expect_job varlen1 "attention.varlen@cuda.mma passes over packed ragged batches (f16, bf16; d 64, 128; uniform, longtail, equal; causal; GQA)"
expect_job varlen2 "attention.linear_varlen@cuda.mma passes over packed ragged batches (N 77, 1000, 4099)"
expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND c.kernel = 'attention.varlen';")" "144" "144 verified varlen flash cases"
expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND c.kernel = 'attention.linear_varlen';")" "72" "72 verified varlen linear cases"
q "SELECT kernel, dtype, length_mix, causal, max(rel_l2_err) FROM v_results GROUP BY kernel, dtype, length_mix, causal;" | sed 's/^/# varlen worst error: /'
q "SELECT kernel, dtype, seq_len, head_dim, length_mix, status, substr(error, 1, 160) FROM v_results WHERE status <> 'ok';" | head -5 | sed 's/^/# /'

DB="$TMP/window_int8.db"
expect_job window "attention.window@cuda.mma passes at odd sizes (f16, bf16; d 64, 128; W 1, 100 and 4096 > N; GQA)"
expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND c.kernel = 'attention.window';")" "72" "72 verified window cases"
q "SELECT dtype, max(rel_l2_err) FROM v_results WHERE kernel = 'attention.window' GROUP BY dtype;" | sed 's/^/# window worst error: /'
expect_job int8 "attention.int8@cuda* pass at odd sizes (d 64, 128; causal and not; GQA; normal and outlier inputs)"
expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND c.kernel = 'attention.int8' AND c.impl = 'cuda.mma';")" "48" "48 verified INT8 attention cases (mma.sync)"
expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.kernel = 'attention.int8' AND c.impl = 'cuda.mma' AND a.exact_checked > 0 AND a.exact_mismatches = 0;")" "48" "its INT8 codes and scales match the host emulation bit for bit in every case"
expect_eq "$(q "SELECT count(*) FROM cases c JOIN counters k ON k.case_id = c.id WHERE c.kernel = 'attention.int8' AND c.impl = 'cuda.mma' AND c.status = 'ok' AND k.backend = 'kernel' AND k.name = 'int8.quantize_s' AND k.value > 0;")" "48" "the pre-pass is timed in setup and stored beside the kernel's time (int8.quantize_s) in every case"
q "SELECT c.seq_len, c.head_dim, c.causal, round(s.median_s * 1e6, 1), round(k.value * 1e6, 1) FROM cases c JOIN stats s ON s.case_id = c.id JOIN counters k ON k.case_id = c.id WHERE c.kernel = 'attention.int8' AND k.name = 'int8.quantize_s' ORDER BY c.seq_len DESC LIMIT 4;" | sed 's/^/# int8 N|d|causal|kernel us|quantize us: /'
# the wgmma kernel: built where nvcc has sm_90a; compute capability 9.0 only, d = 128 only
if "$KBENCH" list 2>/dev/null | grep -q 'attention.int8.*cuda.wgmma'; then
    if [ "$(q "SELECT count(*) FROM cases WHERE kernel = 'attention.int8' AND impl = 'cuda.wgmma' AND status = 'skipped' AND error LIKE '%compute capability 9.0%';")" = "50" ]; then
        ok "attention.int8@cuda.wgmma verified # SKIP all 50 cases refused: this GPU is not compute capability 9.0"
    else
        expect_eq "$(q "SELECT count(*) FROM cases WHERE kernel = 'attention.int8' AND impl = 'cuda.wgmma' AND head_dim = 64 AND status = 'skipped' AND error LIKE '%d = 128%';")" "24" "attention.int8@cuda.wgmma refuses d = 64, saying why"
        expect_job int8_long "attention.int8@cuda.wgmma passes over 33 key tiles (N = 4097, GQA, causal and not)"
        expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND c.kernel = 'attention.int8' AND c.impl = 'cuda.wgmma';")" "26" "26 verified INT8 wgmma attention cases (d = 128)"
        expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.kernel = 'attention.int8' AND c.impl = 'cuda.wgmma' AND a.exact_checked > 0 AND a.exact_mismatches = 0;")" "26" "its codes and scales (the same pre-pass) match the host emulation bit for bit"
    fi
fi
# attention.int8@cuda.wgmma-ws: built where nvcc has sm_90a; compute capability 9.0 only, d = 128 only
if "$KBENCH" list 2>/dev/null | grep -q 'attention.int8 .*cuda.wgmma-ws'; then
    if [ "$(q "SELECT count(*) FROM cases WHERE kernel = 'attention.int8' AND impl = 'cuda.wgmma-ws' AND status = 'skipped' AND error LIKE '%compute capability 9.0%';")" = "96" ]; then
        ok "attention.int8@cuda.wgmma-ws verified # SKIP all 96 cases refused: this GPU is not compute capability 9.0"
    else
        expect_job int8ws "attention.int8@cuda.wgmma-ws runs its 96 cases (N 1, 77, 1000, 4097; d 64, 128; causal and not; GQA; batch 2; normal and outlier)"
        expect_eq "$(q "SELECT count(*) FROM cases WHERE kernel = 'attention.int8' AND impl = 'cuda.wgmma-ws' AND head_dim = 64 AND status = 'skipped' AND error LIKE '%d = 128%';")" "48" "attention.int8@cuda.wgmma-ws refuses d = 64, saying why"
        expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND c.kernel = 'attention.int8' AND c.impl = 'cuda.wgmma-ws';")" "48" "48 verified INT8 wgmma-ws attention cases (d = 128; TMA rings, ping-pong consumers)"
        expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.kernel = 'attention.int8' AND c.impl = 'cuda.wgmma-ws' AND a.exact_checked > 0 AND a.exact_mismatches = 0;")" "48" "its codes and scales (the same pre-pass) match the host emulation bit for bit"
        expect_eq "$(q "SELECT count(*) FROM cases c JOIN counters k ON k.case_id = c.id WHERE c.kernel = 'attention.int8' AND c.impl = 'cuda.wgmma-ws' AND c.status = 'ok' AND k.backend = 'kernel' AND k.name = 'int8.quantize_s' AND k.value > 0;")" "48" "and its pre-pass is timed apart (int8.quantize_s) in every case"
        # the same arithmetic in the same order as @cuda.wgmma (only the schedule differs): the
        # shared cases should have the same error; a difference points at the schedule
        q "SELECT count(*), sum(a.rel_l2_err = b.rel_l2_err) FROM v_results a JOIN v_results b ON a.batch = b.batch AND a.seq_len = b.seq_len AND a.head_dim = b.head_dim AND a.causal = b.causal AND a.kv_heads = b.kv_heads AND a.heads = b.heads AND a.input_dist = b.input_dist WHERE a.kernel = 'attention.int8' AND b.kernel = 'attention.int8' AND a.impl = 'cuda.wgmma' AND b.impl = 'cuda.wgmma-ws' AND a.status = 'ok' AND b.status = 'ok';" | sed 's/^/# int8 cases of wgmma and wgmma-ws | with the same error: /'
    fi
fi
expect_eq "$(q "SELECT min(a.cosine) >= 0.999 FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.kernel = 'attention.int8' AND c.input_dist = 'outlier';")" "1" "cosine similarity >= 0.999 against float64 on outlier inputs (K smoothed)"
q "SELECT c.input_dist, c.causal, max(a.rel_l2_err), min(a.cosine) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.kernel = 'attention.int8' GROUP BY c.input_dist, c.causal;" | sed 's/^/# int8 worst error: /'
q "SELECT kernel, dtype, seq_len, head_dim, status, substr(error, 1, 160) FROM v_results WHERE status <> 'ok';" | head -5 | sed 's/^/# /'
# attention.int8@cuda.wgmma-fp8 (own database): built where nvcc has sm_90a; compute capability 9.0, d = 128
DB="$TMP/int8fp8.db"
if "$KBENCH" list 2>/dev/null | grep -q 'attention.int8 .*cuda.wgmma-fp8'; then
    if [ "$(q "SELECT count(*) FROM cases WHERE kernel = 'attention.int8' AND impl = 'cuda.wgmma-fp8' AND status = 'skipped' AND error LIKE '%compute capability 9.0%';")" = "32" ]; then
        ok "attention.int8@cuda.wgmma-fp8 verified # SKIP all 32 cases refused: this GPU is not compute capability 9.0"
    else
        expect_job int8fp8 "attention.int8@cuda.wgmma-fp8 and @cuda.wgmma-ws pass (N 1, 77, 1000, 4099; GQA 3:1; batch 2; causal and not; normal and outlier)"
        expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND c.kernel = 'attention.int8' AND c.impl = 'cuda.wgmma-fp8';")" "32" "32 verified FP8 P·V attention cases (e4m3 P and V, two-level accumulation)"
        expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.kernel = 'attention.int8' AND c.impl = 'cuda.wgmma-fp8' AND a.exact_checked > 0 AND a.exact_mismatches = 0;")" "32" "its Q, K codes and V's transposed, key-permuted e4m3 codes and channel scales match the host emulation bit for bit"
        expect_eq "$(q "SELECT count(*) FROM cases c JOIN counters k ON k.case_id = c.id WHERE c.kernel = 'attention.int8' AND c.impl = 'cuda.wgmma-fp8' AND c.status = 'ok' AND k.backend = 'kernel' AND k.name = 'int8.quantize_s' AND k.value > 0;")" "32" "and its pre-pass (with V's) is timed apart (int8.quantize_s) in every case"
        expect_eq "$(q "SELECT count(*) FROM cases c JOIN counters k ON k.case_id = c.id WHERE c.impl = 'cuda.wgmma-fp8' AND c.status = 'ok' AND k.backend = 'kernel' AND k.name = 'fp8_pv.last_tile16' AND k.value = (c.causal = 1 OR c.seq_len <= 128);")" \
            "$(q "SELECT count(*) FROM cases WHERE impl = 'cuda.wgmma-fp8' AND status = 'ok';")" "by default both FP8 P·V kernels multiply each work tile's last key tile on f16 where causal or N <= 128 (counter fp8_pv.last_tile16)"
        expect_eq "$(q "SELECT count(*) FROM cases c JOIN counters k ON k.case_id = c.id WHERE c.impl IN ('cuda.wgmma-fp8', 'cuda.wgmma-ws') AND c.status = 'ok' AND k.backend = 'kernel' AND k.name = 'flash_ws.sections' AND k.value = c.causal;")" \
            "$(q "SELECT count(*) FROM cases WHERE impl IN ('cuda.wgmma-fp8', 'cuda.wgmma-ws') AND status = 'ok';")" "and the INT8 and FP8 kernels' causal grids are numbered in sections of planes (counter flash_ws.sections)"
        expect_job fp8rec "and with SageAttention2's recipe alone (KBENCH_FP8_PV_LAST16=0) both pass their 16 cases on normal inputs"
        expect_eq "$(DB="$TMP/fp8rec.db" q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id JOIN counters k ON k.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND k.backend = 'kernel' AND k.name = 'fp8_pv.last_tile16' AND k.value = 0;")" "16" "16 verified, each with counter fp8_pv.last_tile16 = 0"
        expect_job fp8pers "and their persistent kernel (KBENCH_FP8_PV_PERSISTENT=1) its 32 cases"
        expect_eq "$(DB="$TMP/fp8pers.db" q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id JOIN counters k ON k.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND k.backend = 'kernel' AND k.name = 'fp8_pv.persistent' AND k.value = 1 AND (SELECT j.value FROM counters j WHERE j.case_id = c.id AND j.name = 'flash_ws.sections') = 0;")" "32" "32 verified, each with counter fp8_pv.persistent = 1 and flash_ws.sections = 0"
    fi
fi
if "$KBENCH" list 2>/dev/null | grep -q 'attention.flash .*cuda.wgmma-fp8'; then
    if [ "$(q "SELECT count(*) FROM cases WHERE kernel = 'attention.flash' AND impl = 'cuda.wgmma-fp8' AND status = 'skipped' AND error LIKE '%compute capability 9.0%';")" = "32" ]; then
        ok "attention.flash@cuda.wgmma-fp8 verified # SKIP all 32 cases refused: this GPU is not compute capability 9.0"
    else
        expect_job flashfp8 "attention.flash@cuda.wgmma-fp8 passes (e4m3; N 1, 77, 1000, 4099; GQA 3:1; batch 2; causal and not; normal and outlier)"
        expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND c.kernel = 'attention.flash' AND c.impl = 'cuda.wgmma-fp8';")" "32" "32 verified FP8 flash cases (e4m3 Q·Kᵀ and P·V)"
        expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.kernel = 'attention.flash' AND c.impl = 'cuda.wgmma-fp8' AND a.exact_checked > 0 AND a.exact_mismatches = 0;")" "32" "its e4m3 codes of Q, K and V and their scales match the host emulation bit for bit"
        expect_eq "$(q "SELECT count(*) FROM cases c JOIN counters k ON k.case_id = c.id WHERE c.kernel = 'attention.flash' AND c.impl = 'cuda.wgmma-fp8' AND c.status = 'ok' AND k.backend = 'kernel' AND k.name = 'fp8.quantize_s' AND k.value > 0;")" "32" "and its pre-pass is timed apart (fp8.quantize_s) in every case"
    fi
fi
if [ -s "$DB" ]; then
    # what FP8 costs in accuracy: INT8 Q·Kᵀ with f16 P·V, with FP8 P·V, and all-e4m3 flash
    q "SELECT c.kernel || '@' || c.impl, c.input_dist, c.causal, max(a.rel_l2_err), min(a.cosine) FROM cases c JOIN accuracy a ON a.case_id = c.id GROUP BY c.kernel, c.impl, c.input_dist, c.causal;" | sed 's/^/# int8fp8 impl|input|causal|worst rel L2|min cosine: /'
    q "SELECT kernel, impl, seq_len, kv_heads, causal, input_dist, status, substr(error, 1, 160) FROM v_results WHERE status <> 'ok';" | head -5 | sed 's/^/# int8fp8: /'
fi

DB="$TMP/gemm.db"
expect_job gemm "every cuBLAS GEMM passes at odd sizes (f32, f16, bf16; normal and outlier inputs)"
expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1;")" "48" "48 verified GEMM cases"
q "SELECT impl, dtype, max(rel_l2_err) FROM v_results GROUP BY impl, dtype;" | sed 's/^/# worst error: /'

DB="$TMP/qgemm.db"
expect_job qgemm "quantized GEMMs and cuBLASLt pass at odd sizes (i8, e4m3; normal and outlier)"
expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1;")" "$(q "SELECT count(*) FROM cases WHERE status <> 'skipped';")" "every quantized GEMM case that ran is verified"
expect_eq "$(q "SELECT count(*) >= 48 FROM cases WHERE status = 'ok';")" "1" "ours in i8 and e4m3 and cuBLASLt in i8, at least ($(q "SELECT count(*) FROM cases WHERE status = 'ok';") cases)"
# e4m3 needs compute capability 8.9+; cuBLASLt may also refuse it, and must then say why
expect_eq "$(q "SELECT count(*) FROM cases WHERE status = 'skipped' AND (error IS NULL OR error = '');")" "0" "a refused case says why"
expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.kernel = 'quant.gemm_int8' AND c.impl = 'cuda.mma' AND a.exact_checked > 0 AND a.exact_mismatches = 0;")" "16" "quant.gemm_int8@cuda.mma is bit-exact against the scalar emulation in all 16 cases"
# the wgmma GEMMs: built where nvcc has sm_90a; they run on compute capability 9.0 only and must
# refuse any other GPU, saying so
if "$KBENCH" list 2>/dev/null | grep -q 'quant.gemm_fp8.*cuda.wgmma'; then
    expect_job qgemm_wgmma "quant.gemm_*@cuda.wgmma pass with a long K (or are refused on a GPU that is not 9.0)"
    if [ "$(q "SELECT count(*) FROM cases WHERE impl = 'cuda.wgmma' AND status = 'skipped' AND error LIKE '%compute capability 9.0%';")" = "36" ]; then
        ok "quant.gemm_*@cuda.wgmma verified # SKIP all 36 cases refused: this GPU is not compute capability 9.0"
    else
        expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.impl = 'cuda.wgmma' AND c.status = 'ok' AND a.passed = 1;")" "36" "quant.gemm_int8@cuda.wgmma and quant.gemm_fp8@cuda.wgmma verified in all 36 cases (ragged tiles, one row, N = 7, K = 129 and 4099)"
        expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.kernel = 'quant.gemm_int8' AND c.impl = 'cuda.wgmma' AND a.exact_checked > 0 AND a.exact_mismatches = 0;")" "18" "quant.gemm_int8@cuda.wgmma is bit-exact against the scalar emulation in all 18 cases"
    fi
fi
q "SELECT kernel, impl, dtype, gemm_m, gemm_n, gemm_k, input_dist, status, substr(error, 1, 160) FROM v_results WHERE status <> 'ok';" | sort -u -t'|' -k1,3 | head -5 | sed 's/^/# /'
q "SELECT kernel, impl, dtype, max(rel_l2_err) FROM v_results GROUP BY kernel, impl, dtype;" | sed 's/^/# worst error: /'

DB="$TMP/quant.db"
expect_job quant1 "quant.quantize@cuda passes at odd sizes (i8, i4, e4m3, e5m2; tensor, channel, groups of 33 and 128; K 333 and 4096; outliers)"
expect_eq "$(q "SELECT count(*) FROM v_results WHERE kernel = 'quant.quantize' AND NOT (status = 'ok' AND passed = 1 AND exact_checked > 0 AND exact_mismatches = 0);")" "0" "every quantize case has every code and scale equal to the CPU emulation"
expect_eq "$(q "SELECT count(*) >= 48 FROM v_results WHERE kernel = 'quant.quantize';")" "1" "over 4 formats x 3 granularities x 2 widths x 2 inputs ($(q "SELECT count(*) FROM v_results WHERE kernel = 'quant.quantize';") cases)"
DB="$TMP/quantb.db"
expect_job quant2 "quant.gemm_w4a8@cuda.mma passes at odd sizes (ragged tiles, one row, one and several groups, outliers)"
expect_eq "$(q "SELECT count(*) FROM v_results WHERE kernel = 'quant.gemm_w4a8' AND status = 'ok' AND passed = 1 AND exact_checked > 0 AND exact_mismatches = 0;")" "48" "48 W4A8 cases, sampled rows bit for bit the CPU emulation"
expect_eq "$(q "SELECT count(*) FROM v_results WHERE kernel = 'quant.gemm_w4a8' AND group_size = 100 AND status <> 'ok' AND error LIKE '%multiple of 32%';")" "1" "a group that is not a multiple of the mma's 32 k is refused, saying why"
expect_job quant4 "quant.ivit_*@cuda and @cuda.f32 pass at odd sizes (rows of 1, 197 and 3000)"
expect_eq "$(q "SELECT count(*) FROM v_results WHERE kernel LIKE 'quant.ivit%' AND impl = 'cuda' AND status = 'ok' AND passed = 1 AND exact_checked = gemm_m * gemm_n AND exact_mismatches = 0;")" "36" "36 integer I-ViT cases, every output code equal to the CPU emulation"
expect_eq "$(q "SELECT count(*) FROM v_results WHERE kernel LIKE 'quant.ivit%' AND impl = 'cuda.f32' AND status = 'ok' AND passed = 1;")" "36" "36 float32 I-ViT cases within float32 rounding"
q "SELECT kernel, impl, dtype, gemm_m, gemm_n, gemm_k, group_size, granularity, input_dist, status, exact_mismatches, substr(error, 1, 160) FROM v_results WHERE kernel LIKE 'quant.%' AND (status <> 'ok' OR passed = 0) AND group_size IS NOT 100;" | head -8 | sed 's/^/# /'
q "SELECT kernel, impl, dtype, max(rel_l2_err), sum(exact_checked) FROM v_results WHERE kernel LIKE 'quant.%' GROUP BY kernel, impl, dtype;" | sed 's/^/# worst error: /'

DB="$TMP/fp4.db"
expect_job fp4q "quant.fp4_quantize@cuda passes at odd sizes (mxfp4, nvfp4; M 1, 77, 300; K 7, 333, 4099; outliers)"
expect_eq "$(q "SELECT count(*) FROM v_results WHERE kernel = 'quant.fp4_quantize' AND status = 'ok' AND passed = 1 AND exact_checked > 0 AND exact_mismatches = 0;")" "36" "36 FP4 quantize cases, every code, block scale, tensor scale and dequantized value equal to fp4.c"
expect_eq "$(q "SELECT count(DISTINCT c.id) FROM cases c JOIN counters k ON k.case_id = c.id WHERE c.kernel = 'quant.fp4_quantize' AND k.name = 'fp4.sqnr_db' AND k.value > 10;")" "36" "every FP4 quantize case reports its SQNR (fp4.sqnr_db)"
expect_job fp4g "quant.fp4_gemm@cuda.mma passes at odd sizes (mxfp4, nvfp4; ragged tiles, one row, K 33, 777, 4099)"
expect_eq "$(q "SELECT count(*) FROM v_results WHERE kernel = 'quant.fp4_gemm' AND impl = 'cuda.mma' AND status = 'ok' AND passed = 1 AND exact_checked > 0 AND exact_mismatches = 0;")" "72" "72 FP4 GEMM cases, every sampled element within float32 accumulation of the float64 dequantized GEMM"
expect_eq "$(q "SELECT count(*) FROM v_results WHERE kernel = 'quant.fp4_gemm' AND impl = 'cuda.native' AND status = 'skipped' AND error LIKE 'cannot be tested here: no FP4 tensor cores on sm_9%(needs sm_100)';")" "2" "the native FP4 GEMM is recorded as cannot be tested here on sm_90, saying why"
q "SELECT kernel, impl, dtype, gemm_m, gemm_n, gemm_k, input_dist, status, exact_mismatches, substr(error, 1, 160) FROM v_results WHERE impl <> 'cuda.native' AND (status <> 'ok' OR passed = 0);" | head -8 | sed 's/^/# /'
q "SELECT kernel, impl, dtype, max(rel_l2_err), sum(exact_checked) FROM v_results GROUP BY kernel, impl, dtype;" | sed 's/^/# worst error: /'

DB="$TMP/vit.db"
expect_job vit1 "vit.block@cuda.int8 passes at odd sizes (1, 37, 197 tokens; 3 heads of 32; ffn 200; outliers)"
expect_job vit2 "vit.block@cuda.int8 passes at ViT-B/16"
expect_eq "$(q "SELECT count(*) FROM v_results WHERE kernel = 'vit.block' AND impl = 'cuda.int8' AND status = 'ok' AND passed = 1 AND exact_checked > 0 AND exact_mismatches = 0;")" "$(q "SELECT count(*) FROM cases;")" "every GPU ViT block case: the sampled rows' codes equal the CPU emulation of the integer pipeline"
expect_eq "$(q "SELECT count(*) >= 7 FROM cases;")" "1" "7 ViT block cases ran ($(q "SELECT count(*) FROM cases;"))"
q "SELECT seq_len, hidden, input_dist, status, exact_mismatches, substr(error, 1, 160) FROM v_results WHERE status <> 'ok' OR passed = 0;" | head -5 | sed 's/^/# /'

DB="$TMP/moe.db"
expect_job moe1 "every CUDA MoE kernel passes at odd sizes (T 1, 77, 1000; h 100; f 333; E 8, 64; top-1/2/8)"
expect_job moe2 "and with uniform and all-to-one routing (h 520, f 136)"
expect_eq "$(q "SELECT count(*) FROM cases WHERE status <> 'ok';")" "0" "no MoE case failed"
expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE a.passed = 1 AND c.tokens <> 512;")" "120" "120 verified MoE cases (6 kernels x 20 shapes)"
expect_eq "$(q "SELECT count(DISTINCT c.id) FROM cases c JOIN counters k ON k.case_id = c.id WHERE k.name = 'moe.load.max' AND c.routing = 'one' AND k.value = c.tokens;")" "6" "all-to-one routing: every kernel reports the hot expert's load (every token)"
q "SELECT kernel, impl, tokens, experts, top_k, routing, status, error FROM v_results WHERE status <> 'ok';" | head -5 | sed 's/^/# /'
q "SELECT kernel, impl, max(rel_l2_err) FROM v_results GROUP BY kernel, impl;" | sed 's/^/# worst error: /'
expect_job moe3 "the Mixtral layer, fused and unfused, at 512 tokens"
expect_eq "$(q "SELECT count(*) FROM gpu_kernels g JOIN cases c ON c.id = g.case_id WHERE c.tokens = 512 AND c.impl = 'cuda.unfused' AND g.name LIKE '%combine_kernel%';")" "1" "the unfused layer's combine kernel is recorded"
expect_eq "$(q "SELECT count(*) FROM gpu_kernels g JOIN cases c ON c.id = g.case_id WHERE c.tokens = 512 AND c.impl = 'cuda.fused' AND (g.name LIKE '%combine_kernel%' OR g.name LIKE '%gather_kernel%');")" "0" "the fused layer launches no gather and no combine"

# the wgmma grouped GEMMs: built where nvcc has sm_90a; compute capability 9.0 only, any other
# GPU refused, saying so
DB="$TMP/moewg.db"
if "$KBENCH" list 2>/dev/null | grep -q 'moe.experts.*cuda.wgmma'; then
    expect_job moewg1 "moe.experts@cuda.wgmma and moe.layer@cuda.wgmma pass at odd sizes (T 1, 77, 1000; h 100; f 333; E 8, 64; top-1/2/8)"
    expect_job moewg2 "and with uniform and all-to-one routing (h 520, f 136)"
    expect_job moewg3 "and over 65 k-tiles and 17 column tiles (h 4100, f 520)"
    if [ "$(q "SELECT count(*) FROM cases WHERE status = 'skipped' AND error LIKE '%compute capability 9.0%';")" = "42" ]; then
        ok "moe.*@cuda.wgmma verified # SKIP all 42 cases refused: this GPU is not compute capability 9.0"
    else
        expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1;")" "42" "42 verified wgmma MoE cases (2 kernels x 21 shapes)"
        expect_eq "$(q "SELECT count(DISTINCT c.id) FROM cases c JOIN counters k ON k.case_id = c.id WHERE k.name = 'moe.load.max' AND c.routing = 'one' AND k.value = c.tokens;")" "2" "all-to-one routing: both report the hot expert's load (every token)"
        expect_eq "$(q "SELECT count(*) FROM cases c JOIN counters k ON k.case_id = c.id WHERE c.status = 'ok' AND k.backend = 'kernel' AND ((k.name = 'moe_wg.persistent' AND k.value = 1) OR (k.name = 'moe_wg.cluster' AND k.value = 2));")" "84" "by default their blocks loop over the output tiles in two-block clusters sharing B (counters moe_wg.persistent = 1, moe_wg.cluster = 2)"
        expect_job moewgc "in blocks of their own (KBENCH_MOE_WG_CLUSTER=1) they pass at odd sizes (T 1, 77, 1000; h 100; f 333; top-2/8)"
        expect_eq "$(DB="$TMP/moewgc.db" q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id JOIN counters k ON k.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND k.backend = 'kernel' AND k.name = 'moe_wg.cluster' AND k.value = 1;")" "12" "12 verified, in blocks of their own (counter moe_wg.cluster = 1)"
        expect_job moewgb "and a block a tile (KBENCH_MOE_WG_PERSISTENT=0), the same sizes"
        expect_eq "$(DB="$TMP/moewgb.db" q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id JOIN counters k ON k.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND k.backend = 'kernel' AND k.name = 'moe_wg.persistent' AND k.value = 0;")" "12" "12 verified, a block a tile (counter moe_wg.persistent = 0)"
    fi
    q "SELECT kernel, impl, tokens, hidden, ffn, experts, top_k, routing, status, substr(error, 1, 160) FROM v_results WHERE status <> 'ok' OR passed = 0;" | head -5 | sed 's/^/# /'
    q "SELECT kernel, impl, max(rel_l2_err) FROM v_results GROUP BY kernel, impl;" | sed 's/^/# worst error: /'
fi

# the FP8 grouped GEMM: built where nvcc has sm_90a; compute capability 9.0 only
DB="$TMP/moefp8.db"
if "$KBENCH" list 2>/dev/null | grep -q 'moe.experts .*cuda.wgmma-fp8'; then
    if [ "$(q "SELECT count(*) FROM cases WHERE status = 'skipped' AND error LIKE '%compute capability 9.0%';")" = "22" ]; then
        ok "moe.experts@cuda.wgmma-fp8 verified # SKIP all 22 cases refused: this GPU is not compute capability 9.0"
    else
        expect_job moefp81 "moe.experts@cuda.wgmma-fp8 passes at odd sizes (T 1, 77, 1001; h 384; f 640; E 8, 64; top-1/2/8)"
        expect_job moefp82 "and with uniform and all-to-one routing (T 999, h 640, f 384)"
        expect_job moefp83 "and on the Mixtral-8x7B preset (77 tokens)"
        expect_job moefp84 "and on the DeepSeek-V3 preset's shape (33 tokens, 16 of its 256 experts: 2.8 GB of weights, not 45)"
        expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1;")" "22" "22 verified FP8 MoE cases (float64 FFN within 2^-3, and float64 on its own dequantized codes within 2^-8)"
        expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE a.exact_checked > 0 AND a.exact_mismatches = 0;")" "22" "its 1x128 codes and scales of xp and h match the host rule bit for bit"
        expect_eq "$(q "SELECT count(*) FROM cases c JOIN counters k ON k.case_id = c.id WHERE c.status = 'ok' AND k.backend = 'kernel' AND k.name = 'fp8.quantize_s' AND k.value > 0;")" "22" "and its activation pre-pass is timed apart (fp8.quantize_s) in every case"
        expect_job moefp8w "its 128 x 128 tile (KBENCH_MOE_FP8_TILE=128), a block a tile, without turns (KBENCH_MOE_FP8_PERSISTENT=0, KBENCH_MOE_FP8_TURNS=0) passes at odd sizes (T 1, 77, 1001; h 512; f 640; top-2/8)"
        expect_eq "$(DB="$TMP/moefp8w.db" q "SELECT count(*) FROM cases c JOIN counters k ON k.case_id = c.id WHERE c.status = 'ok' AND k.backend = 'kernel' AND ((k.name = 'moe_fp8.turns' AND k.value = 0) OR (k.name = 'moe_fp8.persistent' AND k.value = 0));")" "12" "and recorded so (counters moe_fp8.turns = 0, moe_fp8.persistent = 0)"
        expect_job moefp8c "its wide tile in two-block clusters sharing B (KBENCH_MOE_FP8_CLUSTER=2), its turns from k-tile 2 (KBENCH_MOE_FP8_TURNS_FROM=2), passes at odd sizes (T 1, 77, 1001; h 512; f 640; top-2/8)"
        expect_eq "$(DB="$TMP/moefp8c.db" q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id JOIN counters k ON k.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND k.backend = 'kernel' AND ((k.name IN ('moe_fp8.cluster_up', 'moe_fp8.cluster_down') AND k.value = 2) OR (k.name = 'moe_fp8.turns_from' AND k.value = 2));")" "18" "6 verified, both GEMMs in clusters, turns from k-tile 2 (counters moe_fp8.cluster_up, moe_fp8.cluster_down = 2, moe_fp8.turns_from = 2)"
        expect_job moefp8a "its wide tile with A in registers (KBENCH_MOE_FP8_A_REGS=1) passes at odd sizes (T 1, 77, 1001; h 512; f 640; top-2/8)"
        expect_eq "$(DB="$TMP/moefp8a.db" q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id JOIN counters k ON k.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND k.backend = 'kernel' AND k.name IN ('moe_fp8.a_regs_up', 'moe_fp8.a_regs_down') AND k.value = 1;")" "12" "6 verified, both GEMMs with A in registers (counters moe_fp8.a_regs_up, moe_fp8.a_regs_down = 1)"
        expect_job moefp8s "its block scales through the scale warp's registers, its staged tiles by the lanes' stores (KBENCH_MOE_FP8_SCALES_ASYNC=0, _TMA_STORE=0) pass at odd sizes (T 1, 77, 1001; h 512; f 640; top-2/8)"
        expect_eq "$(DB="$TMP/moefp8s.db" q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id JOIN counters k ON k.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND k.backend = 'kernel' AND k.name IN ('moe_fp8.scales_async', 'moe_fp8.tma_store') AND k.value = 0;")" "12" "6 verified, and recorded so (counters moe_fp8.scales_async = tma_store = 0)"
        expect_job moefp8t "both its GEMMs' stores from the accumulators (KBENCH_MOE_FP8_STAGED_STORE=0) pass at odd sizes (T 1, 77, 1001; h 512; f 640; top-2/8)"
        expect_job moefp8t2 "and with uniform and all-to-one routing (T 999, h 640, f 384)"
        expect_eq "$(DB="$TMP/moefp8t.db" q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id JOIN counters k ON k.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND k.backend = 'kernel' AND k.name IN ('moe_fp8.staged_store', 'moe_fp8.staged_codes') AND k.value = 0;")" "16" "8 verified, and recorded so (counters moe_fp8.staged_store = staged_codes = 0)"
        expect_eq "$(q "SELECT count(*) FROM cases c JOIN counters k ON k.case_id = c.id WHERE c.status = 'ok' AND k.backend = 'kernel' AND ((k.name IN ('moe_fp8.scales_async', 'moe_fp8.staged_store', 'moe_fp8.staged_codes', 'moe_fp8.tma_store') AND k.value = 1) OR (k.name = 'moe_fp8.turns_from' AND k.value = 0));")" \
            "$(q "SELECT 5 * count(*) FROM cases WHERE status = 'ok';")" "by default the block scales by cp.async, the down GEMM's stores and the up GEMM's codes staged and sent by TMA stores, the turns from each tile's first k-tile (counters moe_fp8.scales_async = staged_store = staged_codes = tma_store = 1, turns_from = 0)"
        expect_eq "$(q "SELECT count(*) FROM cases c JOIN counters k ON k.case_id = c.id WHERE c.status = 'ok' AND k.backend = 'kernel' AND k.name = 'moe_fp8.turns' AND k.value = 1;")" \
            "$(q "SELECT count(*) FROM cases WHERE status = 'ok';")" "by default its consumers take turns to issue (counter moe_fp8.turns = 1)"
        expect_eq "$(q "SELECT count(*) FROM cases c JOIN counters k ON k.case_id = c.id WHERE c.status = 'ok' AND k.backend = 'kernel' AND k.name = 'moe_fp8.persistent' AND k.value = 1;")" \
            "$(q "SELECT count(*) FROM cases WHERE status = 'ok';")" "and its blocks loop over the output tiles, one an SM (counter moe_fp8.persistent = 1)"
        expect_eq "$(DB="$TMP/moefp8w.db" q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id JOIN counters k ON k.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND k.backend = 'kernel' AND k.name = 'moe_fp8.tile_up' AND k.value = 128;")" "6" "6 verified, both GEMMs on the narrow tile where n would allow the wide (counter moe_fp8.tile_up = 128)"
        expect_eq "$(q "SELECT count(*) FROM cases c JOIN counters k ON k.case_id = c.id WHERE c.status = 'ok' AND k.backend = 'kernel' AND k.name = 'moe_fp8.tile_up' AND k.value = 256;")" \
            "$(q "SELECT count(*) FROM cases WHERE status = 'ok';")" "by default every case's up GEMM (2f a multiple of 256) runs on the 128 x 256 tile (counter moe_fp8.tile_up)"
        expect_eq "$(q "SELECT count(*) FROM cases c JOIN counters k ON k.case_id = c.id WHERE c.status = 'ok' AND k.backend = 'kernel' AND k.name = 'moe_fp8.fused_quant' AND k.value = 1;")" \
            "$(q "SELECT count(*) FROM cases WHERE status = 'ok';")" "and quantizes h in its epilogue (counter moe_fp8.fused_quant = 1; the codes checked bit for bit above)"
        expect_eq "$(DB="$TMP/moefp8w.db" q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id JOIN counters k ON k.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND a.exact_mismatches = 0 AND k.backend = 'kernel' AND k.name = 'moe_fp8.fused_quant' AND k.value = 0;")" "6" "the narrow tile's cases quantize h in a kernel of their own (counter moe_fp8.fused_quant = 0), codes exact"
    fi
    q "SELECT tokens, hidden, ffn, experts, top_k, routing, status, substr(error, 1, 160) FROM v_results WHERE status <> 'ok' OR passed = 0;" | head -5 | sed 's/^/# moefp8: /'
    q "SELECT max(rel_l2_err) FROM v_results;" | sed 's/^/# moefp8 worst error against the float64 FFN: /'
fi

DB="$TMP/gla.db"
expect_job gla1 "attention.gla@cuda.mma passes at odd sizes (f16, bf16; d 64, 128; GQA; batch 2)"
expect_job gla2 "and with outlier key channels"
expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND c.chunk = 64;")" "40" "40 verified GLA cases (32 normal, 8 outlier)"
q "SELECT dtype, head_dim, input_dist, max(rel_l2_err) FROM v_results WHERE chunk = 64 GROUP BY dtype, head_dim, input_dist;" | sed 's/^/# gla worst error: /'
q "SELECT dtype, seq_len, head_dim, kv_heads, input_dist, status, substr(error, 1, 160) FROM v_results WHERE chunk = 64 AND (status <> 'ok' OR passed = 0);" | head -5 | sed 's/^/# /'
expect_job gla3 "GLA refuses a chunk it is not compiled for, without failing the sweep"
expect_eq "$(q "SELECT count(*) FROM cases WHERE chunk = 32 AND status = 'skipped' AND error LIKE '%chunk 64%';")" "1" "and says why"

DB="$TMP/lightning.db"
expect_job lightning1 "attention.lightning@cuda.mma passes at odd sizes (f16, bf16; d 64, 128; chunk 64, 128; GQA; batch 2)"
expect_job lightning2 "and bf16 with outlier channels"
expect_job lightning3 "and over a grid of several waves (16 heads, N = 16385)"
expect_job lightning5 "and with the chunks in groups (batch 2, 16 heads, N = 60001)"
expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND c.chunk IN (64, 128);")" "80" "80 verified Lightning cases (64 normal, 8 outlier, 8 long)"
q "SELECT dtype, head_dim, chunk, input_dist, max(rel_l2_err) FROM v_results WHERE chunk IN (64, 128) GROUP BY dtype, head_dim, chunk, input_dist;" | sed 's/^/# lightning worst error: /'
expect_job lightningp "its output pass with the next chunk's loads under this one (KBENCH_LIGHTNING_PREFETCH=1) passes at odd sizes"
expect_job lightningp2 "and with the chunks in groups (N = 60001)"
expect_eq "$(DB="$TMP/lightningp.db" q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id JOIN counters k ON k.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND k.backend = 'kernel' AND k.name = 'lightning.prefetch' AND k.value = 1;")" "26" "26 verified, each with counter lightning.prefetch = 1"
expect_job lightfused "the three passes fused into one kernel (KBENCH_LIGHTNING_FUSED=1) pass at odd sizes"
expect_job lightfused2 "and with the chunks in groups (N = 60001), without the prefetch"
expect_eq "$(DB="$TMP/lightfused.db" q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id JOIN counters k ON k.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND k.backend = 'kernel' AND k.name = 'lightning.fused' AND k.value = 1;")" "26" "26 verified, each with counter lightning.fused = 1"
q "SELECT dtype, seq_len, head_dim, kv_heads, chunk, input_dist, status, substr(error, 1, 160) FROM v_results WHERE chunk IN (64, 128) AND (status <> 'ok' OR passed = 0);" | head -5 | sed 's/^/# /'
expect_job lightning4 "Lightning refuses a chunk it is not compiled for, without failing the sweep"
expect_eq "$(q "SELECT count(*) FROM cases WHERE chunk = 32 AND status = 'skipped' AND error LIKE '%chunk 64 and 128%';")" "1" "and says why"
DB="$TMP/delta.db"
expect_job delta1 "attention.delta@cuda.chunked and @cuda.recurrent pass at odd sizes (f16, bf16; d 64, 128; gated or not; batch 2)"
expect_job delta2 "and their decode steps"
expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND c.head_dim <> 40;")" "76" "76 verified delta-rule cases (64 prefill, 12 decode)"
q "SELECT impl, dtype, decode, max(rel_l2_err) FROM v_results WHERE status = 'ok' GROUP BY impl, dtype, decode;" | sed 's/^/# delta worst error: /'
q "SELECT impl, dtype, seq_len, head_dim, decay, decode, status, substr(error, 1, 160) FROM v_results WHERE status <> 'ok' OR passed = 0;" | head -5 | sed 's/^/# /'
expect_job delta3 "the delta-rule kernels refuse a head_dim they are not built for, without failing the sweep"
expect_eq "$(q "SELECT count(*) FROM cases WHERE head_dim = 40 AND status = 'skipped' AND error LIKE '%multiple of 32%';")" "2" "and say why"
DB="$TMP/deltamma.db"
expect_job deltamma "attention.delta@cuda.mma passes at odd sizes (f16, bf16; N up to 4099; d 64, 128; gated or not; batch 2)"
expect_job deltamma2 "and its decode steps (from the state its passes build)"
expect_job deltamma3 "and over 16 heads of 16385 tokens (257 chunks)"
expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND c.impl = 'cuda.mma';")" "56" "56 verified delta-rule tensor-core cases (40 prefill, 12 decode, 4 long)"
expect_eq "$(q "SELECT count(*) FROM cases c JOIN counters k ON k.case_id = c.id WHERE c.status = 'ok' AND c.impl = 'cuda.mma' AND k.backend = 'kernel' AND k.name = 'delta.state_channels' AND k.value = CASE c.head_dim WHEN 128 THEN 16 ELSE 32 END;")" "56" "by default with 16 value channels a state-pass block at d = 128, 32 at d = 64 (delta.state_channels)"
q "SELECT dtype, head_dim, decay, decode, max(rel_l2_err) FROM v_results WHERE status = 'ok' GROUP BY dtype, head_dim, decay, decode;" | sed 's/^/# delta mma worst error: /'
q "SELECT dtype, seq_len, head_dim, decay, decode, status, substr(error, 1, 160) FROM v_results WHERE status <> 'ok' OR passed = 0;" | head -5 | sed 's/^/# /'
expect_job deltamma4 "attention.delta@cuda.mma refuses a head_dim it is not compiled for, without failing the sweep"
expect_eq "$(q "SELECT count(*) FROM cases WHERE head_dim = 96 AND status = 'skipped' AND error LIKE '%64 and 128%';")" "1" "and says why"
expect_job deltamma5 "and a chunk it is not compiled for"
expect_eq "$(q "SELECT count(*) FROM cases WHERE chunk = 32 AND status = 'skipped' AND error LIKE '%chunk 64%';")" "1" "and says why"
DB="$TMP/deltamma32.db"
expect_job deltamma32 "attention.delta@cuda.mma with 64-wide state blocks (KBENCH_DELTA_VS=64) passes at odd sizes (f16, bf16; N up to 4099; d 64, 128; gated or not; batch 2)"
expect_job deltamma32b "and its decode steps (from the state its 64-wide passes build)"
expect_job deltamma32c "and over 16 heads of 16385 tokens (257 chunks)"
expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id JOIN counters k ON k.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND c.impl = 'cuda.mma' AND k.backend = 'kernel' AND k.name = 'delta.state_channels' AND k.value = 64;")" "56" "56 verified cases (40 prefill, 12 decode, 4 long), each with delta.state_channels = 64"
q "SELECT dtype, head_dim, decay, decode, max(rel_l2_err) FROM v_results WHERE status = 'ok' GROUP BY dtype, head_dim, decay, decode;" | sed 's/^/# delta mma vs64 worst error: /'
q "SELECT dtype, seq_len, head_dim, decay, decode, status, substr(error, 1, 160) FROM v_results WHERE status <> 'ok' OR passed = 0;" | head -5 | sed 's/^/# /'
DB="$TMP/deltavs.db"
expect_job deltavs32 "attention.delta@cuda.mma with 32-wide state blocks at d = 128 (KBENCH_DELTA_VS=32) passes at odd sizes (f16, bf16; N up to 4099; gated or not; batch 2)"
expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id JOIN counters k ON k.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND k.backend = 'kernel' AND k.name = 'delta.state_channels' AND k.value = 32;")" "20" "20 verified cases, each with delta.state_channels = 32"
DB="$TMP/deltavs16.db"
expect_job deltavs16 "KBENCH_DELTA_VS=16 at d = 64 is refused without failing the sweep"
expect_eq "$(q "SELECT count(*) FROM cases WHERE head_dim = 64 AND status = 'skipped' AND error LIKE '%KBENCH_DELTA_VS=16%';")" "1" "and says why"
DB="$TMP/deltasplit.db"
expect_job deltasplit "attention.delta@cuda.mma with its output pass at 64 channels a block (KBENCH_DELTA_OUT=split) passes at odd sizes (f16, bf16; N up to 4099; d 64, 128; gated or not; batch 2)"
expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id JOIN counters k ON k.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND k.backend = 'kernel' AND k.name = 'delta.out_split' AND k.value = 1;")" "40" "40 verified cases, each with delta.out_split = 1"
q "SELECT dtype, seq_len, head_dim, decay, status, substr(error, 1, 160) FROM v_results WHERE status <> 'ok' OR passed = 0;" | head -5 | sed 's/^/# /'
DB="$TMP/decode.db"
expect_job decode1 "attention.flash@cuda.decode passes at odd N (1, 1000, 4097), batch 1 and 3, MHA and GQA, page 0/16/64, d 64 and 128"
expect_job decode2 "and at d = 256"
expect_job decode3 "and with GQA groups of 6 and 12 query heads"
expect_job decode4 "and against a 65537-token cache"
expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND c.impl = 'cuda.decode';")" "158" "158 verified flash-decoding cases"
expect_eq "$(q "SELECT count(*) FROM gpu_kernels g JOIN cases c ON c.id = g.case_id WHERE c.seq_len = 65537 AND g.name LIKE '%decode_split_kernel%' AND g.grid_y >= 8;")" "2" "at 64k the split kernel runs many splits (its traced grid's y), paged and not"
expect_eq "$(q "SELECT count(*) FROM gpu_kernels g JOIN cases c ON c.id = g.case_id WHERE c.seq_len = 65537 AND g.name LIKE '%decode_combine_kernel%' AND g.grid_x = 8;")" "2" "then the combine, one CTA per (batch, head)"
q "SELECT c.page_size, g.name, g.grid_x, g.grid_y, g.registers, g.duration_s FROM gpu_kernels g JOIN cases c ON c.id = g.case_id WHERE c.seq_len = 65537;" | sed 's/^/# decode 64k kernels: /'
q "SELECT c.page_size, k.name, k.value FROM counters k JOIN cases c ON c.id = k.case_id WHERE c.seq_len = 65537 AND k.name LIKE 'decode.%';" | sed 's/^/# decode 64k split: /' 
q "SELECT dtype, head_dim, page_size, max(rel_l2_err) FROM v_results WHERE impl = 'cuda.decode' GROUP BY dtype, head_dim, page_size;" | sed 's/^/# decode worst error: /'
q "SELECT dtype, batch, kv_heads, seq_len, head_dim, page_size, status, substr(error, 1, 160) FROM v_results WHERE impl = 'cuda.decode' AND (status <> 'ok' OR passed = 0);" | head -5 | sed 's/^/# /'
DB="$TMP/decodev.db"
expect_job decode6 "attention.flash@cuda.decode with 8 CTAs per SM setting the splits (KBENCH_DECODE_CTAS_PER_SM=8) passes, up to a 65537-token cache"
expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1;")" "8" "8 verified cases"
q "SELECT dtype, batch, kv_heads, seq_len, head_dim, page_size, status, substr(error, 1, 160) FROM v_results WHERE status <> 'ok' OR passed = 0;" | head -5 | sed 's/^/# /'

DB="$TMP/bsa.db"
expect_job bsa1 "attention.block_sparse@cuda.mma passes at odd N (1, 77, 1000, 4099), GQA, d 64 and 128, top-k 1, 3, 8"
expect_job bsa2 "and at 50/75/90% sparsity (N = 8191)"
expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND c.kernel = 'attention.block_sparse';")" "99" "99 verified block-sparse cases"
expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.kernel = 'attention.block_sparse' AND a.exact_checked > 0 AND a.exact_mismatches = 0;")" "75" "each with a past block to choose from (N > 64: 75) chose exactly the operation's blocks"
q "SELECT dtype, head_dim, topk_blocks, max(rel_l2_err) FROM v_results WHERE kernel = 'attention.block_sparse' GROUP BY dtype, head_dim, topk_blocks;" | sed 's/^/# block-sparse worst error: /'
q "SELECT dtype, seq_len, head_dim, kv_heads, topk_blocks, status, exact_mismatches, substr(error, 1, 160) FROM v_results WHERE kernel = 'attention.block_sparse' AND (status <> 'ok' OR passed = 0);" | head -5 | sed 's/^/# /'
expect_job bsa3 "block-sparse refuses a block it is not compiled for, without failing the sweep"
expect_eq "$(q "SELECT count(*) FROM cases WHERE kernel = 'attention.block_sparse' AND block_size = 32 AND status = 'skipped' AND error LIKE '%block 64%';")" "1" "and says why"
# attention.block_sparse@cuda.wgmma-ws: built where nvcc has sm_90a; compute capability 9.0 only
if "$KBENCH" list 2>/dev/null | grep -q 'attention.block_sparse .*cuda.wgmma-ws'; then
    DB="$TMP/bsaws.db"
    expect_job bsaws1 "attention.block_sparse@cuda.wgmma-ws runs its 96 cases (N 1, 77, 1000, 4099; GQA; batch 2; d 64, 128; top-k 1, 3, 8)"
    expect_job bsaws2 "and 3 at 50/75/90% sparsity (N = 8191)"
    if [ "$(q "SELECT count(*) FROM cases WHERE impl = 'cuda.wgmma-ws' AND block_size = 128 AND status = 'skipped' AND error LIKE '%compute capability 9.0%';")" = "99" ]; then
        ok "attention.block_sparse@cuda.wgmma-ws verified # SKIP all 99 cases refused: this GPU is not compute capability 9.0"
    else
        expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND c.impl = 'cuda.wgmma-ws' AND c.block_size = 128;")" "99" "99 verified block-sparse wgmma-ws cases"
        expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.impl = 'cuda.wgmma-ws' AND a.exact_checked > 0 AND a.exact_mismatches = 0;")" "51" "each with a past block to choose from (N > 128: 51) chose exactly the operation's blocks"
        expect_eq "$(q "SELECT count(*) FROM cases WHERE impl = 'cuda.wgmma-ws' AND block_size = 64 AND status = 'skipped' AND error LIKE '%block 128%';")" "1" "block 64 is refused, saying it has block 128"
    fi
    expect_job bsaws3 "block-sparse wgmma-ws refuses a block it is not compiled for, without failing the sweep"
    q "SELECT dtype, head_dim, topk_blocks, max(rel_l2_err) FROM v_results WHERE impl = 'cuda.wgmma-ws' GROUP BY dtype, head_dim, topk_blocks;" | sed 's/^/# block-sparse wgmma-ws worst error: /'
    q "SELECT dtype, seq_len, head_dim, kv_heads, topk_blocks, status, exact_mismatches, substr(error, 1, 160) FROM v_results WHERE block_size = 128 AND (status <> 'ok' OR passed = 0);" | head -5 | sed 's/^/# /'
fi
DB="$TMP/hybrid.db"
expect_job hybrid1 "attention.hybrid@cuda passes every ratio at odd sizes (f16, bf16; d 64, 128; GQA; batch 2; L = 5)"
expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND c.layers = 5 AND c.linear_kind = 'linear';")" "120" "120 verified hybrid cases"
q "SELECT linear_kind, ratio, dtype, max(rel_l2_err) FROM v_results WHERE layers IN (5, 6) GROUP BY linear_kind, ratio, dtype;" | sed 's/^/# hybrid worst error: /'
q "SELECT linear_kind, ratio, dtype, seq_len, head_dim, kv_heads, status, substr(error, 1, 160) FROM v_results WHERE layers IN (5, 6) AND (status <> 'ok' OR passed = 0);" | head -5 | sed 's/^/# /'
expect_job hybrid3 "attention.hybrid@cuda with gla layers at odd sizes (L = 6)"
expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND c.layers = 6 AND c.linear_kind = 'gla';")" "24" "24 verified hybrid cases with gla layers"
expect_job hybrid2 "a 7-layer 3:1 stack at N = 4099 with counters"
# 3:1 of 7 layers: layer 3 softmax (K, V: 2·2·4099·128·2 bytes), 6 linear states (4·4·(128²+128) bytes)
expect_eq "$(q "SELECT CAST(value AS INTEGER) FROM counters k JOIN cases c ON c.id = k.case_id WHERE c.layers = 7 AND k.name = 'hybrid.cache_bytes';")" "$((2 * 2 * 4099 * 128 * 2 + 6 * 4 * 4 * (128 * 128 + 128)))" "its memory counter is the KV cache of its one softmax layer plus six linear states"
DB="$TMP/ssd.db"
expect_job ssd1 "attention.ssd@cuda.chunked and @cuda.recurrent pass at odd sizes (f16, bf16; P, S 64, 128; groups; causal and bidirectional)"
expect_job ssd2 "and at N = 4099"
expect_job ssd3 "and the decode step (N = 1, 77, 1000)"
expect_job ssd4 "the recurrent kernel at P = 40, S = 24 and 200"
expect_job ssd5 "the chunked kernel over several waves (16 heads, N = 8193)"
expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND c.kernel = 'attention.ssd';")" "265" "265 verified SSD cases (192 + 32 + 24 + 16 + 1)"
q "SELECT impl, dtype, causal, decode, max(rel_l2_err) FROM v_results WHERE kernel = 'attention.ssd' GROUP BY impl, dtype, causal, decode;" | sed 's/^/# ssd worst error: /'
q "SELECT impl, dtype, seq_len, head_dim, state_size, causal, decode, status, substr(error, 1, 160) FROM v_results WHERE kernel = 'attention.ssd' AND (status NOT IN ('ok', 'skipped') OR passed = 0);" | head -5 | sed 's/^/# /'
expect_job ssd6 "the chunked SSD refuses a chunk it is not compiled for, without failing the sweep"
expect_eq "$(q "SELECT count(*) FROM cases WHERE kernel = 'attention.ssd' AND chunk = 32 AND status = 'skipped' AND error LIKE '%chunk 64%';")" "1" "and says why"
DB="$TMP/ssdmma.db"
expect_job ssdmma1 "attention.ssd@cuda.mma passes at odd sizes (N = 1, 77, 1000, 4099; f16, bf16; P, S 64, 128; groups; causal and bidirectional)"
expect_job ssdmma2 "and the decode step (N = 1, 77, 1000)"
expect_job ssdmma3 "and over several waves (16 heads, N = 8193)"
expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND c.kernel = 'attention.ssd' AND c.impl = 'cuda.mma';")" "141" "141 verified tensor-core SSD cases (128 + 12 + 1)"
q "SELECT dtype, causal, decode, head_dim, state_size, max(rel_l2_err) FROM v_results WHERE impl = 'cuda.mma' AND kernel = 'attention.ssd' GROUP BY dtype, causal, decode, head_dim, state_size;" | sed 's/^/# ssd mma worst error: /'
q "SELECT dtype, batch, kv_heads, seq_len, head_dim, state_size, causal, decode, status, substr(error, 1, 160) FROM v_results WHERE impl = 'cuda.mma' AND kernel = 'attention.ssd' AND (status NOT IN ('ok', 'skipped') OR passed = 0);" | head -5 | sed 's/^/# /'
expect_job ssdmma4 "the tensor-core SSD refuses a chunk it is not compiled for, without failing the sweep"
expect_eq "$(q "SELECT count(*) FROM cases WHERE kernel = 'attention.ssd' AND impl = 'cuda.mma' AND chunk = 32 AND status = 'skipped' AND error LIKE '%chunk 64%';")" "1" "and says why"

DB="$TMP/naive.db"
expect_job naive1 "attention.window@cuda.naive passes at odd sizes (f16, bf16; d 40, 128; W 1, 100 and 4096 > N; GQA)"
expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND c.kernel = 'attention.window';")" "72" "72 verified naive window cases"
expect_job naive2 "attention.linear@cuda.naive passes causal, decay on and off, GQA, at odd sizes"
expect_job naive3 "and non-causal with both feature maps"
expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.status = 'ok' AND a.passed = 1 AND c.kernel = 'attention.linear';")" "72" "72 verified naive linear-attention cases"
q "SELECT kernel, dtype, max(rel_l2_err) FROM v_results WHERE status = 'ok' GROUP BY kernel, dtype;" | sed 's/^/# naive worst error: /'
q "SELECT kernel, dtype, seq_len, head_dim, status, substr(error, 1, 160) FROM v_results WHERE status <> 'ok' AND seq_len < 100000;" | head -5 | sed 's/^/# /'
expect_job naive4 "the naive linear attention refuses N×N matrices over a quarter of free memory, without failing the sweep"
expect_eq "$(q "SELECT count(*) FROM cases WHERE kernel = 'attention.linear' AND seq_len = 131072 AND status = 'skipped' AND error LIKE '%GiB%quarter%' AND error LIKE '%B·H·N²%';")" "1" "and says how many GiB they need"
expect_job naive5 "the naive window refuses a window whose scores exceed shared memory"
expect_eq "$(q "SELECT count(*) FROM cases WHERE kernel = 'attention.window' AND seq_len = 100000 AND status = 'skipped' AND error LIKE '%shared memory%';")" "1" "and says why"

# ---- timing, tracing and energy, on an idle GPU ------------------------------------------------
# A case that launches several kernels shows each of them.
DB="$TMP/multi.db"
expect_exit 0 "the unfused cuBLAS attention on the GPU" "$KBENCH" run --db "$DB" --devices cuda:0 \
    --kernels attention.softmax@cuda.cublas --dtype f16 --heads 8 --seq 1024 --head-dim 64 --max-time 0.2 --quiet --no-show
expect_eq "$(q "SELECT count(*) >= 3 FROM gpu_kernels;")" "1" "its GEMMs and its softmax are each recorded ($(q "SELECT count(*) FROM gpu_kernels;") launches)"
expect_eq "$(q "SELECT count(*) FROM gpu_kernels WHERE name LIKE '%softmax_rows%';")" "1" "the softmax kernel is one of them"

# Timing: events, CUPTI and NVML on one long-enough case; graph replay on a tiny one.
DB="$TMP/timing.db"
expect_exit 0 "a timed flash case on the GPU" "$KBENCH" run --db "$DB" --devices cuda:0 --kernels attention.flash@cuda.mma \
    --dtype bf16 --heads 16 --seq 4096 --head-dim 128 --max-time 0.5 --quiet --no-show
echo "# CUPTI kernel time / events of the same traced calls = $(q "SELECT (SELECT sum(duration_s) FROM gpu_kernels) / value FROM counters WHERE name = 'traced_call_event_s';"), / the sampled median = $(q "SELECT (SELECT sum(duration_s) FROM gpu_kernels) / median_s FROM stats;")"
# Events bracket the launch too: on an idle host they agree with CUPTI within ~2%; on a loaded
# one (make -j16 check) a late launch opens a gap only the events see. So CUPTI may fall short of
# the events by up to 10%, and must never exceed them by more than clock granularity.
expect_eq "$(q "SELECT (SELECT sum(duration_s) FROM gpu_kernels) / value BETWEEN 0.90 AND 1.01 FROM counters WHERE name = 'traced_call_event_s';")" "1" "CUPTI's kernel durations agree with CUDA events on the same calls (0.90..1.01)"
expect_eq "$(q "SELECT abs((SELECT sum(duration_s) FROM gpu_kernels) / median_s - 1) < 0.10 FROM stats;")" "1" "and with the sampled event median within 10% (clocks drift between passes)"
expect_eq "$(q "SELECT count(*) FROM gpu_kernels WHERE name LIKE '%flash_fwd%' AND registers > 0 AND grid_x > 0 AND block_x = 128;")" "1" "the kernel's name, grid, block and registers are stored"
expect_eq "$(q "SELECT cupti_status FROM cases;")" "ok" "CUPTI status ok"
expect_eq "$(q "SELECT nvml_status FROM cases;")" "ok" "NVML status ok"
power=$(q "SELECT value FROM counters WHERE backend = 'nvml' AND name = 'mean_power';")
echo "# NVML mean power $power W, energy per call $(q "SELECT value FROM counters WHERE name = 'energy_per_call';") J"
expect_eq "$(q "SELECT value > 30 AND value < 1500 FROM counters WHERE backend = 'nvml' AND name = 'mean_power';")" "1" "NVML mean power is plausible (30..1500 W)"
expect_eq "$(q "SELECT e.value > 0 AND abs(e.value / (p.value * s.median_s) - 1) < 0.5 FROM counters e, counters p, stats s WHERE e.name = 'energy_per_call' AND p.name = 'mean_power' AND s.case_id = e.case_id;")" "1" "energy per call is positive and about mean power x time per call"
echo "# CUPTI metrics: $(q "SELECT metrics_status FROM cases;") | $(q "SELECT group_concat(name || '=' || round(value, 3), ' ') FROM counters WHERE backend = 'cupti';")"
expect_eq "$(q "SELECT metrics_status LIKE 'ok%' FROM cases;")" "1" "the range profiler collected the default metrics"
expect_eq "$(q "SELECT k.value >= 0.5 * 3 * c.batch * c.heads * c.seq_len * c.head_dim * 2 AND k.value < 20 * c.bytes FROM counters k JOIN cases c ON c.id = k.case_id WHERE k.name = 'dram__bytes_read.sum';")" "1" "DRAM bytes read cover the inputs once (and not wildly more)"
expect_eq "$(q "SELECT value > 0 AND value <= 100 FROM counters WHERE name = 'sm__throughput.avg.pct_of_peak_sustained_elapsed';")" "1" "SM throughput is a percentage"
"$KBENCH" show --db "$DB" >"$TMP/show" 2>&1
expect_text "$TMP/show" "flash_fwd" "kbench show lists the GPU kernels of the case"
expect_text "$TMP/show" "energy_per_call" "kbench show lists the NVML figures"

expect_exit 2 "an unknown --metrics name is refused before anything runs" "$KBENCH" run --db "$DB" --devices cuda:0 \
    --kernels attention.flash@cuda.mma --dtype bf16 --seq 256 --metrics dram__bytes_raed.sum --quiet --no-show
expect_text "$TMP/err" "dram__bytes_raed.sum" "the error names the unknown metric"
expect_text "$TMP/err" "dram__bytes_read" "and suggests the near match"
expect_exit 0 "--metrics with one named metric" "$KBENCH" run --db "$DB" --devices cuda:0 --kernels attention.flash@cuda.mma \
    --dtype bf16 --heads 4 --seq 512 --head-dim 64 --metrics lts__t_sector_hit_rate.pct --max-time 0.1 --quiet --no-show
expect_eq "$(q "SELECT count(*) FROM counters k JOIN cases c ON c.id = k.case_id WHERE c.seq_len = 512 AND k.backend = 'cupti';")" "1" "exactly that metric is stored"

expect_exit 0 "a tiny flash case (a few microseconds)" "$KBENCH" run --db "$DB" --devices cuda:0 --kernels attention.flash@cuda.mma \
    --dtype f16 --heads 1 --seq 64 --head-dim 64 --max-time 0.2 --quiet --no-show
expect_eq "$(q "SELECT k.value = 1 AND c.calls_per_sample > 1 FROM cases c JOIN counters k ON k.case_id = c.id WHERE c.seq_len = 64 AND k.name = 'cuda_graph_replay';")" "1" "short kernels are replayed from a CUDA graph, many calls a sample"
expect_exit 0 "a cold-L2 GPU case" "$KBENCH" run --db "$DB" --devices cuda:0 --kernels attention.flash@cuda.mma \
    --dtype bf16 --heads 16 --seq 1024 --head-dim 128 --cache both --max-time 0.3 --quiet --no-show
# 16 MiB of inputs fit in the H100's 50 MiB L2: the cold case rotates through copies of them,
# so a graph of many calls still reads cold inputs every call.
expect_eq "$(q "SELECT k.value >= 2 FROM cases c JOIN counters k ON k.case_id = c.id WHERE c.seq_len = 1024 AND c.cold_cache = 1 AND k.name = 'input_copies';")" "1" "inputs smaller than L2 rotate through copies in a cold run ($(q "SELECT value FROM counters WHERE name = 'input_copies';") copies)"
expect_eq "$(q "SELECT count(*) FROM counters k JOIN cases c ON c.id = k.case_id WHERE c.cold_cache = 0 AND k.name = 'input_copies';")" "0" "and never in a hot one"
echo "# hot vs cold median (us): $(q "SELECT group_concat(cold_cache || ':' || round(median_us, 2), ' ') FROM v_results WHERE seq_len = 1024;")"
# Flash is compute-bound there, so cold and hot agree; a GEMV-like GEMM whose 16 MiB of weights
# fit in L2 is bound by where it reads them from: rotated copies must come from DRAM.
expect_exit 0 "a memory-bound GEMM hot and cold" "$KBENCH" run --db "$DB" --devices cuda:0 --kernels gemm.dense@cuda.cublas \
    --dtype f16 --m 8 --n 4096 --k 2048 --cache both --max-time 0.3 --quiet --no-show
echo "# GEMV-like hot vs cold median (us): $(q "SELECT group_concat(cold_cache || ':' || round(median_us, 2), ' ') FROM v_results WHERE gemm_m = 8;")"
expect_eq "$(q "SELECT c.median_us > 1.2 * h.median_us FROM v_results c, v_results h WHERE c.gemm_m = 8 AND h.gemm_m = 8 AND c.cold_cache = 1 AND h.cold_cache = 0;")" "1" "its rotated cold calls are slower than hot ones (weights from DRAM, not L2)"
expect_exit 0 "a cold-L2 case whose inputs overflow L2" "$KBENCH" run --db "$DB" --devices cuda:0 --kernels attention.flash@cuda.mma \
    --dtype bf16 --heads 16 --seq 8192 --head-dim 128 --cache cold --max-time 0.3 --quiet --no-show
expect_eq "$(q "SELECT calls_per_sample FROM cases WHERE seq_len = 8192 AND cold_cache = 1;")" "1" "is one flushed call a sample, no copies"
# Ceilings: copy bandwidth and cuBLAS GEMM rates, stored with the machine and shown by devices.
DB="$TMP/calibrate.db"
expect_exit 0 "calibrate the GPU" "$KBENCH" calibrate --devices cuda:0 --seconds 0.1 --db "$DB"
expect_eq "$(q "SELECT value BETWEEN 1e11 AND 1e14 FROM v_ceilings WHERE device = 'cuda:0' AND name = 'copy_bw';")" "1" "copy bandwidth stored, 0.1-100 TB/s"
expect_eq "$(q "SELECT value > 1e12 FROM v_ceilings WHERE device = 'cuda:0' AND name = 'flops_bf16';")" "1" "bf16 GEMM rate stored, over 1 TFLOP/s"
expect_eq "$(q "SELECT (SELECT value FROM v_ceilings WHERE name = 'flops_bf16') > (SELECT value FROM v_ceilings WHERE name = 'flops_f32');")" "1" "tensor cores beat plain f32"
# ---- several GPUs (--span; docs/multi-gpu.md): span 1 through a one-GPU NCCL communicator on any
# GPU machine; span 2, 4, 8 where the GPUs are there, otherwise skipped saying so ----
builddir=$(cd "$(dirname "$KBENCH")" && pwd)
gpus=$(grep -o '^cuda:[0-9]*' "$TMP/devices" | sort -u | wc -l)
if ! grep -q 'define HAVE_NCCL 1' "$builddir/config.h" 2>/dev/null; then
    ok "# SKIP built without NCCL: the multi-GPU implementations are not tested"
else
    DB="$TMP/span.db"
    epv() { "$KBENCH" run --db "$DB" $VFLAGS --kernels moe.layer@cuda.ep --dtype bf16 --tokens 1,77,1000 \
        --hidden 100 --ffn 333 --experts 8,64 --top-k 1,2,8 --routing zipf "$@"; }
    spv() { "$KBENCH" run --db "$DB" $VFLAGS --kernels attention.linear@cuda.sp --dtype f16,bf16 --batch 2 \
        --heads 4 --kv-heads 1,4 --seq 1,77,1000,4099 --head-dim 64,128 --causal 0,1 --feature elu1,relu "$@"; }
    expect_exit 0 "moe.layer@cuda.ep at span 1 (a one-GPU communicator), odd sizes" epv --span 1
    expect_eq "$(q "SELECT count(*) FROM v_results WHERE impl = 'cuda.ep' AND span = 1 AND status = 'ok' AND passed = 1;")" "18" \
        "moe.layer@cuda.ep verified against the float64 layer at span 1, 18 cases"
    expect_exit 0 "attention.linear@cuda.sp at span 1, odd sizes" spv --span 1
    expect_eq "$(q "SELECT count(*) FROM v_results WHERE impl = 'cuda.sp' AND span = 1 AND status = 'ok' AND passed = 1;")" "128" \
        "attention.linear@cuda.sp verified at span 1, 128 cases"
    expect_eq "$(q "SELECT count(*) FROM cases c JOIN counters k ON k.case_id = c.id WHERE c.span = 1 AND k.name = 'rank0_s' AND k.value > 0;")" \
        "$(q "SELECT count(*) FROM cases WHERE span = 1 AND status = 'ok';")" "every span-1 case has its rank's time (rank0_s)"
    expect_eq "$(q "SELECT count(*) FROM cases c JOIN counters k ON k.case_id = c.id WHERE c.span = 1 AND k.name = 'nccl_bytes' AND k.value = 0;")" \
        "$(q "SELECT count(*) FROM cases WHERE span = 1 AND status = 'ok';")" "and moves no bytes between GPUs (nccl_bytes 0)"
    expect_exit 0 "calibrate --span 1" "$KBENCH" calibrate --span 1 --seconds 0.1 --db "$DB"
    expect_eq "$(q "SELECT count(*) FROM v_ceilings WHERE device = 'cuda:0' AND name IN ('allreduce_algbw_span1', 'alltoall_algbw_span1') AND value > 1e9;")" "2" \
        "span-1 all-reduce and all-to-all algbw stored, over 1 GB/s"
    if [ "$gpus" -lt 2 ]; then
        ok "# SKIP span 2, 4, 8: this machine has $gpus GPU"
        expect_exit 0 "a span-2 case on one GPU" "$KBENCH" run --db "$DB" $VFLAGS --kernels moe.layer@cuda.ep --dtype bf16 \
            --tokens 64 --hidden 64 --ffn 64 --experts 4 --top-k 2 --span 2
        expect_eq "$(q "SELECT status FROM cases WHERE span = 2;")" "skipped" "is stored skipped (needs 2 GPUs)"
    else
        spans=2; [ "$gpus" -ge 4 ] && spans=2,4; [ "$gpus" -ge 8 ] && spans=2,4,8
        n_spans=$(echo "$spans" | tr ',' '\n' | wc -l)
        expect_exit 0 "moe.layer@cuda.ep at span $spans" epv --span "$spans"
        expect_eq "$(q "SELECT count(*) FROM v_results WHERE impl = 'cuda.ep' AND span > 1 AND status = 'ok' AND passed = 1;")" \
            "$((18 * n_spans))" "moe.layer@cuda.ep verified at span $spans (experts and tokens split, odd sizes)"
        expect_exit 0 "attention.linear@cuda.sp at span $spans" spv --span "$spans"
        expect_eq "$(q "SELECT count(*) FROM v_results WHERE impl = 'cuda.sp' AND span > 1 AND status = 'ok' AND passed = 1;")" \
            "$((128 * n_spans))" "attention.linear@cuda.sp verified at span $spans (one empty shard at N = 1)"
        expect_eq "$(q "SELECT count(*) FROM cases c JOIN counters k ON k.case_id = c.id WHERE c.span > 1 AND c.impl = 'cuda.sp' AND k.name = 'nccl_bytes' AND k.value > 0;")" \
            "$((128 * n_spans))" "the all-gathers move bytes between GPUs (nccl_bytes)"
        expect_exit 0 "calibrate --span $spans" "$KBENCH" calibrate --span "$spans" --seconds 0.1 --db "$DB"
        expect_eq "$(q "SELECT count(*) FROM v_ceilings WHERE name LIKE '%busbw_span%' AND value > 1e9;")" "$((2 * n_spans))" \
            "all-reduce and all-to-all busbw stored per span, over 1 GB/s"
        q "SELECT name, round(value / 1e9, 1) || ' GB/s' FROM v_ceilings WHERE name LIKE '%span%' ORDER BY name;" | sed 's/^/# /'
        # the issue's benchmarks: the expert-parallel layer against one GPU on two presets
        for preset in mixtral-8x7b deepseek-v3; do
            "$KBENCH" run --db "$TMP/ep-scaling.db" --devices cuda:0 --kernels 'moe.layer@cuda.ep,moe.layer@cuda.unfused' \
                --dtype bf16 --preset "$preset" --tokens 4096 --span "1,$spans" --max-time 1 --no-metrics --quiet --no-show
        done
        DB="$TMP/ep-scaling.db"
        q "SELECT impl, span, preset_like, median_us FROM (SELECT impl, coalesce(span, 1) AS span, hidden || 'x' || experts AS preset_like, round(median_us) AS median_us FROM v_results) ORDER BY preset_like, impl, span;" | sed 's/^/# ep layer: /'
    fi
fi
# ---- Python peers on the GPU (docs/peers.md): PyTorch's SDPA through kbench's device buffers and
# stream, verified against the float64 reference, beside kbench's own flash ----
builddir=$(cd "$(dirname "$KBENCH")" && pwd)
if ! grep -q 'define HAVE_PYTHON 1' "$builddir/config.h" 2>/dev/null; then
    ok "# SKIP built without Python: the PyTorch peers are not tested"
elif ! "$KBENCH" list --plugin torch_attention.py >/dev/null 2>&1; then
    ok "# SKIP the shipped peers do not load here"
else
    DB="$TMP/peers.db"
    "$KBENCH" run --db "$DB" --devices cuda:0 --plugin torch_attention.py \
        --kernels 'attention.sdpa@cuda.torch-math,attention.sdpa@cuda.torch-flash,attention.flash@cuda.mma' --dtype bf16 \
        --seq 64,200 --heads 4 --head-dim 64 --causal 0,1 --max-time 0.02 --no-metrics --quiet --no-show >"$TMP/peers.out" 2>&1
    if [ "$(q "SELECT count(*) FROM cases WHERE kernel = 'attention.sdpa' AND status = 'skipped' AND error LIKE '%not installed%';")" != "0" ]; then
        ok "# SKIP PyTorch is not installed for the Python kbench embeds"
    else
        expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.kernel = 'attention.sdpa' AND c.impl = 'cuda.torch-math' AND c.status = 'ok' AND a.passed = 1;")" "4" \
            "PyTorch SDPA (math) verified and timed on kbench's stream, 4 cases"
        expect_eq "$(q "SELECT count(*) FROM cases WHERE kernel = 'attention.sdpa' AND status NOT IN ('ok', 'skipped');")" "0" \
            "no SDPA case failed (a back end that cannot take a shape is skipped, saying why)"
        expect_eq "$(q "SELECT count(DISTINCT flops) FROM cases WHERE seq_len = 200 AND causal = 1 AND status = 'ok';")" "1" \
            "the peer and attention.flash count the same FLOPs (the operation's)"
        # SDPA's flash back end captures into a CUDA graph on kbench's stream, so its samples time
        # the GPU, not the interpreter's dispatch (harness/runner_gpu.c)
        expect_eq "$(q "SELECT count(*) FROM cases c JOIN counters k ON k.case_id = c.id WHERE c.impl = 'cuda.torch-flash' AND k.name = 'cuda_graph_replay' AND k.value = 1;")" "4" \
            "the PyTorch flash peer is replayed from a CUDA graph (4 cases)"
    fi
fi
finish
