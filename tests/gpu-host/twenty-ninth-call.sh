#!/bin/bash
# twenty-ninth-call.sh - the eighteenth session's change, written without a GPU lease: the causal
# warp-specialised attention kernels number their blocks in sections of (batch, head) planes,
# every plane's heaviest query block first (flash_ws.cuh's ws_grid; KBENCH_FLASH_WS_SECTIONS=0:
# a plane at a time, as before). A model of the block scheduler put the old order's tail at 7-13%
# of the work at the issue's causal shapes. Also the seventeenth session's moe_tile.cuh tidy
# (e54e65b), emulated but not yet run on a GPU; and the persistent flash kernel with the TMA
# stores (from a staging tile of its own) and the lazy rescale it lacked when last timed, its
# causal work tiles claimed from a counter (strided, a model put them 3-72% over the ideal); and
# Lightning's output pass loading the next chunk while it computes (KBENCH_LIGHTNING_PREFETCH=1).
#   flashc*v   verified at odd sizes: causal bf16 flash d 64/128/256 in both orders, and the
#              causal INT8 and FP8 kernels (attention.int8@cuda.wgmma-ws, @cuda.wgmma-fp8,
#              attention.flash@cuda.wgmma-fp8) in the new one
#   moe*v      the grouped GEMMs (bf16 and FP8) at tests/gpu.sh's odd sizes
#   flash*c    causal bf16 flash beside cuDNN at the issue's shapes, alternating the two orders
#              (and d 64 on three consumers in the new one);
#              the INT8 / FP8 kernels causal at SageAttention2's shape, both orders
#   fp8-ds     the FP8 MoE's default beside cuBLASLt (is the day's card where it was?)
# The databases and the log come back as $OUT/twenty-ninth.tar.gz.
cd "$(dirname "$0")/../.." || exit 1
. tests/gpu-host/sweeps.sh
call_start build || exit 1
nvidia-smi --query-gpu=name,clocks.sm,temperature.gpu,power.limit --format=csv,noheader
odd="--batch 2 --heads 4 --kv-heads 1,4 --seq 77,1000,4099 --causal 1"
NEW_LIMIT=100 sweep flashcv --kernels attention.flash@cuda.wgmma-ws --dtype f16,bf16 $odd --head-dim 64,128,256 &
( export KBENCH_FLASH_WS_SECTIONS=0
  NEW_LIMIT=100 sweep flashcpv --kernels attention.flash@cuda.wgmma-ws --dtype bf16 $odd --head-dim 64,128,256 ) &
NEW_LIMIT=100 sweep flashcqv --kernels 'attention.int8@cuda.wgmma-ws,attention.int8@cuda.wgmma-fp8' --dtype i8 $odd \
    --head-dim 128 --input normal,outlier &
NEW_LIMIT=100 sweep flashcfv --kernels attention.flash@cuda.wgmma-fp8 --dtype e4m3 $odd --head-dim 128 &
( export KBENCH_LIGHTNING_PREFETCH=1
  NEW_LIMIT=100 sweep lightpv --kernels attention.lightning@cuda.mma --dtype bf16 --batch 2 --heads 4 --kv-heads 1,4 \
      --head-dim 64,128 --chunk 64,128 --seq 1,300,4097 ) &
NEW_LIMIT=100 sweep moewgv --kernels 'moe.experts@cuda.wgmma,moe.layer@cuda.wgmma' --dtype bf16 --tokens 1,77,1000 \
    --hidden 100 --ffn 333 --experts 8,64 --top-k 1,2,8 --routing zipf &
moe_fp8_odd_sweeps
wait
sweep_report flashcv flashcpv flashcqv flashcfv lightpv moewgv $MOE_FP8_ODD
sqlite3 "$OUT/flashcv.db" "SELECT 'sections ' || k.value || ': ' || count(*) || ' cases' FROM cases c JOIN counters k ON k.case_id = c.id WHERE k.name = 'flash_ws.sections' GROUP BY k.value;"
sqlite3 "$OUT/flashcpv.db" "SELECT 'sections ' || k.value || ': ' || count(*) || ' cases' FROM cases c JOIN counters k ON k.case_id = c.id WHERE k.name = 'flash_ws.sections' GROUP BY k.value;"
timing_db twenty-ninth
WS=attention.flash@cuda.wgmma-ws
D64="--dtype bf16 --head-dim 64 --heads 16 --causal 1 --batch 4,8 --seq 4096,2048"
D128="--dtype bf16 --head-dim 128 --heads 16 --causal 1 --batch 4,8 --seq 4096,2048"
D256="--dtype bf16 --head-dim 256 --heads 16 --causal 1 --batch 4 --seq 4096"
# alternate NAME VAR=VALUE ARGS...: the default beside cuDNN, then the form VAR=VALUE asks for,
# the default again and the form again (ARGS: the shapes)
alternate() {
    local name=$1 form=$2
    shift 2
    step "$name" 60 $CUDNN "$@"
    ( export "$form"; step "$name-form" 30 --kernels $WS "$@" )
    step "$name-2" 30 --kernels $WS "$@"
    ( export "$form"; step "$name-form2" 30 --kernels $WS "$@" )
}
alternate flash64c KBENCH_FLASH_WS_SECTIONS=0 $D64
# three consumers (192-row blocks, the non-causal default) were level with two causal in the
# plane order (eleventh session); with the tail gone they may not be
KBENCH_FLASH_WS_D64_CONSUMERS=3 step flash64c-3 30 --kernels $WS $D64
alternate flash128c KBENCH_FLASH_WS_SECTIONS=0 $D128
step flash256c 40 $CUDNN $D256
KBENCH_FLASH_WS_SECTIONS=0 step flash256c-plane 20 --kernels $WS $D256
# the persistent kernel, now with the TMA stores (d 64, 128), the lazy rescale and (causal) work
# tiles claimed from a counter rather than strided, against the default at the short-sequence
# shapes still short of 0.95x cuDNN (d 128 non-causal, N 2k and 4k; d 64 N 2k), and causal
N128="--dtype bf16 --head-dim 128 --heads 16 --causal 0 --batch 8,4 --seq 2048,4096"
N64="--dtype bf16 --head-dim 64 --heads 16 --causal 0 --batch 8 --seq 2048"
alternate flash128n KBENCH_FLASH_WS_PERSISTENT=1 $N128
step flash64n 30 $CUDNN $N64
KBENCH_FLASH_WS_PERSISTENT=1 step flash64n-pers 20 --kernels $WS $N64
KBENCH_FLASH_WS_PERSISTENT=1 step flash128c-pers 30 --kernels $WS $D128
KBENCH_FLASH_WS_PERSISTENT=1 step flash64c-pers 30 --kernels $WS $D64
# Lightning's output pass with the next chunk's loads under this one (KBENCH_LIGHTNING_PREFETCH=1)
# against its default, then beside fla's chunk_simple_gla (its Triton compile can take most of a
# step)
LIGHT="--dtype bf16 --batch 1 --heads 16 --head-dim 128 --chunk 64 --seq 4096,16384,65536"
step light 40 --kernels attention.lightning@cuda.mma $LIGHT
KBENCH_LIGHTNING_PREFETCH=1 step light-pre 40 --kernels attention.lightning@cuda.mma $LIGHT
step light-2 40 --kernels attention.lightning@cuda.mma $LIGHT
KBENCH_LIGHTNING_PREFETCH=1 step light-pre2 40 --kernels attention.lightning@cuda.mma $LIGHT
step light-fla 60 --plugin fla_attention.py --kernels attention.lightning@cuda.fla-simple-gla $LIGHT
SAGE="--batch 4 --heads 32 --head-dim 128 --seq 8192 --causal 1 --input outlier"
step sagec 60 $SAGE --dtype i8,bf16,e4m3 --kernels "attention.int8@cuda.wgmma-fp8,$WS,attention.flash@cuda.wgmma-fp8"
KBENCH_FLASH_WS_SECTIONS=0 step sagec-plane 60 $SAGE --dtype i8,bf16,e4m3 \
    --kernels "attention.int8@cuda.wgmma-fp8,$WS,attention.flash@cuda.wgmma-fp8"
step fp8-ds 90 --kernels 'moe.experts@cuda.wgmma-fp8,gemm.dense@cuda.cublaslt' $DEEPSEEK --m 32768 --n 6144 --k 7168
sqlite3 -separator ' ' "$DB" "SELECT r.case_id, r.kernel || '@' || r.impl, r.dtype, 'd' || coalesce(r.head_dim, '-'), 'b' || coalesce(r.batch, '-'), 'n' || coalesce(r.seq_len, r.gemm_m, r.tokens), r.status, printf('%.1fus', r.median_us), printf('min %.1fus', (SELECT 1e6 * min(s.seconds) FROM samples s WHERE s.case_id = r.case_id)), printf('%.0fTF', r.gflops / 1000), printf('err%.3g', r.rel_l2_err), coalesce((SELECT group_concat(k.name || '=' || k.value, ' ') FROM counters k WHERE k.case_id = r.case_id AND k.name IN ('flash_ws.sections', 'flash_ws.consumers', 'flash_ws.persistent', 'flash_ws.tma_store', 'lightning.group', 'lightning.prefetch')), '') FROM v_results r ORDER BY r.case_id;" | sed 's/  */ /g'
grep -i -E 'error|fail|throttl' "$OUT/steps.log" | cut -c1-200 | head -6
tar czf "$OUT/twenty-ninth.tar.gz" -C "$OUT" --remove-files $(cd "$OUT" && ls *.db *.log 2>/dev/null)
echo "done $(date -u +%T), $(( $(date +%s) - t0 )) s"
