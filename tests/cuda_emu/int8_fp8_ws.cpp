// int8_fp8_ws.cpp - attention.int8@cuda.wgmma-fp8's kernel (kernels/attention/int8_fp8_ws.cu:
// INT8 Q·Kᵀ as int8_wgmma_ws, then SageAttention2's FP8 P·V of fp8_pv.cuh: P·448 packed to e4m3
// by cvt into the 8-bit A fragment, Vᵀ's e4m3 codes from TMA boxes of keys, wgmma m64n128k32
// .e4m3 RS, each tile's product in its own f32 accumulator) under hopper_emu.h, before it has
// run on a GPU. The launcher's maps (Vᵀ rows of whole 128-key tiles), grid and arguments on the
// pre-pass's codes (quant_emu.h); head_dim 128, causal or not, GQA, N not a multiple of 128.
#include "dev_emu.cpp" /* int8_fp8_ws.cu made C++ by run.sh */
#include "fp8_pv_ws_driver.h"

int main(int argc, char **argv) { return fp8_pv_main<Scores>(KB_DTYPE_I8, "int8 wgmma-fp8", argc, argv); }
