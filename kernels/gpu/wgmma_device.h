/* wgmma_device.h - whether a case may run a Hopper wgmma kernel. Those kernels are built for
 * sm_90a alone (wgmma exists in no portable target), so a GPU of any other compute capability
 * has no code for them: their setup refuses it, saying so, instead of failing at launch. */
#ifndef KB_WGMMA_DEVICE_H
#define KB_WGMMA_DEVICE_H

#include <stddef.h>

/* KB_OK on a compute capability 9.0 device; KB_UNSUPPORTED with the reason in err on any other;
 * KB_ERROR when the device cannot be queried. */
int wgmma_device_check(int device_index, char *err, size_t errlen);

#endif
