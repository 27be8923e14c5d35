/* npy.h - NumPy .npy (format 1.0) writer, for `kbench run --dump`. */
#ifndef KB_NPY_H
#define KB_NPY_H

#include "kernels/kernel.h"

/* Writes a tensor (little-endian, C order) to path. bf16 has no NumPy dtype: it is written as
 * uint16 ('<u2') and the manifest says bf16. i4 (dims in elements, two to a byte) is written as
 * its packed bytes ('|u1', the last dim halved). Returns 0, or -1 with errno set. */
int npy_write(const char *path, const struct kb_tensor *t);
/* The NumPy descr string for a dtype ("<f4"). */
const char *npy_descr(enum kb_dtype t);

#endif
