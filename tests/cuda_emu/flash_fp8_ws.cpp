// flash_fp8_ws.cpp - attention.flash@cuda.wgmma-fp8's kernel (kernels/attention/flash_fp8_ws.cu:
// e4m3 Q·Kᵀ on wgmma m64n128k32 .e4m3 SS with both operands K-major, scaled per Q and K block,
// then fp8_pv.cuh's FP8 P·V as int8_fp8_ws) under hopper_emu.h, before it has run on a GPU. The
// cases of fp8_pv_ws_driver.h, shared with the other FP8 P·V kernel, on the pre-pass's codes
// (quant_emu.h: e4m3 Q and K); head_dim 128, causal or not, GQA, N not a multiple of 128.
#include "dev_emu.cpp" /* flash_fp8_ws.cu made C++ by run.sh */
#include "fp8_pv_ws_driver.h"

int main(int argc, char **argv) { return fp8_pv_main<ScoresE4M3>(KB_DTYPE_FP8_E4M3, "flash wgmma-fp8", argc, argv); }
