/* operands.c - allocating the tensors of a case. Every operation allocates through here, so
 * every buffer is aligned and padded alike and the harness frees them all one way. */
#include "kernels/kernel.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

/* Buffers from this size up are placed on 2 MiB boundaries and offered to transparent huge
 * pages: a sweep over a 16 MiB operand then needs 8 TLB entries instead of 4096, which the
 * streaming kernels (lightning, linear and flash attention at N >= 16k) otherwise miss on. */
#define HUGE_PAGE_BYTES ((size_t)2 << 20)

static size_t round_up_64(size_t x)
{
    return (x + 63) & ~(size_t)63;
}

size_t kb_operands_elems(const struct kb_operands *io, int i)
{
    size_t n = 1;
    for (int d = 0; d < io->tensor[i].ndim; d++)
        n *= (size_t)io->tensor[i].dims[d];
    return n;
}

/* aligned_alloc(64, bytes) (bytes a multiple of 64); from HUGE_PAGE_BYTES up, 2 MiB-aligned,
 * rounded up to whole 2 MiB pages and advised MADV_HUGEPAGE before anything touches it, so
 * the first-touch faults can take huge pages where THP is "madvise" (where it is "always" it
 * changes nothing, where "never" or on other systems the advice is ignored). free() it. */
static void *operand_alloc(size_t bytes)
{
    if (bytes < HUGE_PAGE_BYTES || bytes > SIZE_MAX - HUGE_PAGE_BYTES)
        return aligned_alloc(64, bytes);
    size_t whole = (bytes + HUGE_PAGE_BYTES - 1) & ~(HUGE_PAGE_BYTES - 1);
    void *p = aligned_alloc(HUGE_PAGE_BYTES, whole);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (p)
        (void)madvise(p, whole, MADV_HUGEPAGE); /* advice only: failure leaves small pages */
#endif
    return p;
}

int kb_operands_add(struct kb_operands *io, const char *name, enum kb_dtype dtype, int ndim,
                    const int64_t *dims, int is_output, size_t pad_bytes, char *err, size_t errlen)
{
    if (io->count >= KB_TENSORS_MAX) {
        snprintf(err, errlen, "%s: more than %d tensors in one case", name, KB_TENSORS_MAX);
        return -1;
    }
    if (ndim < 1 || ndim > 4) {
        snprintf(err, errlen, "%s: %d dimensions (1 to 4 allowed)", name, ndim);
        return -1;
    }
    double elems = 1;
    for (int d = 0; d < ndim; d++) {
        if (dims[d] < 1) {
            snprintf(err, errlen, "%s: dimension %d is %lld", name, d, (long long)dims[d]);
            return -1;
        }
        elems *= (double)dims[d];
    }
    /* I4 and the FP4 formats pack two elements per byte */
    double bytes = kb_dtype_is_nibble(dtype) ? (elems + 1) / 2 : elems * kb_dtype_size(dtype);
    if (bytes + (double)pad_bytes > (double)(SIZE_MAX / 4)) {
        snprintf(err, errlen, "%s: %.3g bytes do not fit this machine's address space", name, bytes);
        return -1;
    }
    size_t total = round_up_64((size_t)bytes + pad_bytes);
    void *p = operand_alloc(total);
    if (!p) {
        snprintf(err, errlen, "out of memory allocating %s (%zu bytes)", name, total);
        return -1;
    }
    /* zeroed: outputs start defined (a kernel that writes nothing fails verification instead of
     * reading garbage) and the padding is zero */
    memset(p, 0, total);
    int i = io->count++;
    struct kb_tensor *t = &io->tensor[i];
    *t = (struct kb_tensor){ .name = name, .dtype = dtype, .ndim = ndim, .data = p, .is_output = is_output };
    for (int d = 0; d < ndim; d++)
        t->dims[d] = dims[d];
    io->buffer[i] = p;
    io->bytes[i] = total;
    return i;
}

int kb_operands_find(const struct kb_operands *io, const char *name)
{
    for (int i = 0; i < io->count; i++)
        if (io->tensor[i].name && strcmp(io->tensor[i].name, name) == 0)
            return i;
    return -1;
}

void kb_operands_free(struct kb_operands *io)
{
    for (int i = 0; i < io->count; i++)
        free(io->buffer[i]);
    if (io->state) {
        if (io->free_state)
            io->free_state(io->state);
        else
            free(io->state);
    }
    memset(io, 0, sizeof *io);
}
