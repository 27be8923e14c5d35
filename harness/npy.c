/* npy.c - NumPy .npy format 1.0 writer (see npy.h). */
#include "harness/npy.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* NumPy aligns the data of a .npy file to 64 bytes (magic + version + length + dict). */
#define NPY_ALIGN 64
/* Format 1.0 stores the header length in 16 bits; our dicts are far shorter. */
#define NPY_HEADER_MAX 65535

const char *npy_descr(enum kb_dtype t)
{
    switch (t) {
    case KB_DTYPE_F64: return "<f8";
    case KB_DTYPE_F32: return "<f4";
    case KB_DTYPE_F16: return "<f2";
    case KB_DTYPE_BF16: return "<u2"; /* no NumPy bf16: raw bits, the manifest names it */
    case KB_DTYPE_I8: return "|i1";
    case KB_DTYPE_I32: return "<i4";
    /* packed INT4 (two per byte, low nibble first: npy_write halves the last dim) and FP8 codes:
     * raw bytes */
    case KB_DTYPE_I4: case KB_DTYPE_FP8_E4M3: case KB_DTYPE_FP8_E5M2:
    case KB_DTYPE_MXFP4: case KB_DTYPE_NVFP4: case KB_DTYPE_E8M0: return "|u1";
    default: return NULL;
    }
}

static size_t element_size(enum kb_dtype t)
{
    switch (t) {
    case KB_DTYPE_F64: return 8;
    case KB_DTYPE_F32: return 4;
    case KB_DTYPE_F16: return 2;
    case KB_DTYPE_BF16: return 2;
    case KB_DTYPE_I8: return 1;
    case KB_DTYPE_I32: return 4;
    case KB_DTYPE_I4: case KB_DTYPE_FP8_E4M3: case KB_DTYPE_FP8_E5M2:
    case KB_DTYPE_MXFP4: case KB_DTYPE_NVFP4: case KB_DTYPE_E8M0: return 1;
    default: return 0;
    }
}

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char first;
    memcpy(&first, &one, 1);
    return first == 1;
}

/* The whole preamble (magic, version, length, dict, padding, newline) into buf; returns its
 * length, a multiple of NPY_ALIGN, or 0 when it does not fit. */
static size_t build_header(const struct kb_tensor *t, char *buf, size_t cap)
{
    char dict[512];
    char shape[256];
    size_t len = 0;
    /* Python's tuple repr, which is what NumPy writes: "()", "(n,)", "(a, b)" */
    len += (size_t)snprintf(shape + len, sizeof shape - len, "(");
    for (int i = 0; i < t->ndim; i++)
        len += (size_t)snprintf(shape + len, sizeof shape - len, "%s%lld", i ? ", " : "",
                                (long long)t->dims[i]);
    snprintf(shape + len, sizeof shape - len, t->ndim == 1 ? ",)" : ")");
    int dn = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                      npy_descr(t->dtype), shape);
    if (dn < 0 || (size_t)dn >= sizeof dict)
        return 0;

    size_t pre = 10; /* magic (6) + version (2) + header length (2) */
    size_t total = pre + (size_t)dn + 1; /* + the terminating newline */
    total = (total + NPY_ALIGN - 1) / NPY_ALIGN * NPY_ALIGN;
    if (total > cap || total - pre > NPY_HEADER_MAX)
        return 0;
    size_t hlen = total - pre;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = 1;
    buf[7] = 0;
    buf[8] = (char)(hlen & 0xFF);
    buf[9] = (char)(hlen >> 8);
    memcpy(buf + pre, dict, (size_t)dn);
    memset(buf + pre + dn, ' ', total - pre - (size_t)dn - 1);
    buf[total - 1] = '\n';
    return total;
}

/* An INT4 tensor's dims count elements, two to a byte (kernel.h, kb_operands_add): the file holds
 * its packed bytes, so the last dim is halved (rows of an even number of nibbles, or one row),
 * or the whole is one row of ceil(elements / 2) bytes. */
static struct kb_tensor as_bytes(const struct kb_tensor *t)
{
    struct kb_tensor b = *t;
    if (!kb_dtype_is_nibble(t->dtype) || t->ndim < 1)
        return b;
    int64_t last = t->dims[t->ndim - 1];
    if (t->ndim == 1 || last % 2 == 0) {
        b.dims[t->ndim - 1] = (last + 1) / 2;
        return b;
    }
    int64_t elems = 1;
    for (int i = 0; i < t->ndim; i++)
        elems *= t->dims[i];
    b.ndim = 1;
    b.dims[0] = (elems + 1) / 2;
    return b;
}

int npy_write(const char *path, const struct kb_tensor *tensor)
{
    if (!path || !tensor || !npy_descr(tensor->dtype) || tensor->ndim < 0 || tensor->ndim > 4) {
        errno = EINVAL;
        return -1;
    }
    const struct kb_tensor packed = as_bytes(tensor), *t = &packed;
    if (!host_is_little_endian()) {
        errno = ENOTSUP; /* the descrs above promise little-endian data */
        return -1;
    }
    size_t count = 1;
    for (int i = 0; i < t->ndim; i++) {
        if (t->dims[i] < 0 || (t->dims[i] > 0 && count > SIZE_MAX / (size_t)t->dims[i])) {
            errno = EINVAL;
            return -1;
        }
        count *= (size_t)t->dims[i];
    }
    size_t esize = element_size(t->dtype);
    if (count > SIZE_MAX / esize || (count > 0 && !t->data)) {
        errno = EINVAL;
        return -1;
    }

    char header[1024];
    size_t hlen = build_header(t, header, sizeof header);
    if (hlen == 0) {
        errno = EINVAL;
        return -1;
    }

    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(header, 1, hlen, f) == hlen;
    if (ok && count > 0)
        ok = fwrite(t->data, esize, count, f) == count;
    int saved = errno;
    if (fclose(f) != 0 && ok) {
        ok = 0;
        saved = errno;
    }
    if (!ok) {
        /* a truncated dump would load as garbage later: better no file at all */
        unlink(path);
        errno = saved ? saved : EIO;
        return -1;
    }
    return 0;
}
