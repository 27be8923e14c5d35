/* pdl_emu.h - installed as kernels/gpu/pdl.cuh for the host emulation (run.sh). The emulated
 * launcher runs one kernel's blocks to the end before the next kernel starts, which is what
 * griddepcontrol.wait guarantees on the GPU, so both device calls are nothing here; launch_pdl
 * is host code and is cut with the rest of the launchers. */
#ifndef KB_GPU_PDL_CUH
#define KB_GPU_PDL_CUH

namespace kb_pdl {
inline void launch_dependents() {}
inline void wait() {}
} // namespace kb_pdl

#endif
