/* dtype.c - names, parsing and sizes of element types and kernel families. */
#include "kernels/kernel.h"

#include <strings.h>

static const char *const dtype_names[KB_DTYPE_COUNT] = {
    [KB_DTYPE_F64] = "f64", [KB_DTYPE_F32] = "f32", [KB_DTYPE_F16] = "f16",
    [KB_DTYPE_BF16] = "bf16", [KB_DTYPE_I8] = "i8", [KB_DTYPE_I32] = "i32",
    [KB_DTYPE_I4] = "i4", [KB_DTYPE_FP8_E4M3] = "e4m3", [KB_DTYPE_FP8_E5M2] = "e5m2",
    [KB_DTYPE_MXFP4] = "mxfp4", [KB_DTYPE_NVFP4] = "nvfp4", [KB_DTYPE_E8M0] = "e8m0",
};

static const double dtype_sizes[KB_DTYPE_COUNT] = {
    [KB_DTYPE_F64] = 8, [KB_DTYPE_F32] = 4, [KB_DTYPE_F16] = 2,
    [KB_DTYPE_BF16] = 2, [KB_DTYPE_I8] = 1, [KB_DTYPE_I32] = 4,
    [KB_DTYPE_I4] = 0.5, [KB_DTYPE_FP8_E4M3] = 1, [KB_DTYPE_FP8_E5M2] = 1,
    /* the element codes alone: the block scales are separate tensors (and counted by the ops) */
    [KB_DTYPE_MXFP4] = 0.5, [KB_DTYPE_NVFP4] = 0.5, [KB_DTYPE_E8M0] = 1,
};

/* Spellings people type on command lines and in suite files, besides the canonical names. */
static const struct {
    const char *name;
    enum kb_dtype t;
} dtype_aliases[] = {
    { "float64", KB_DTYPE_F64 }, { "double", KB_DTYPE_F64 }, { "fp64", KB_DTYPE_F64 },
    { "float32", KB_DTYPE_F32 }, { "float", KB_DTYPE_F32 },  { "fp32", KB_DTYPE_F32 },
    { "float16", KB_DTYPE_F16 }, { "fp16", KB_DTYPE_F16 },   { "half", KB_DTYPE_F16 },
    { "bfloat16", KB_DTYPE_BF16 },
    { "int8", KB_DTYPE_I8 },     { "int32", KB_DTYPE_I32 },   { "int4", KB_DTYPE_I4 },
    { "fp8", KB_DTYPE_FP8_E4M3 }, { "fp8_e4m3", KB_DTYPE_FP8_E4M3 }, { "fp8e4m3", KB_DTYPE_FP8_E4M3 },
    { "fp8_e5m2", KB_DTYPE_FP8_E5M2 }, { "fp8e5m2", KB_DTYPE_FP8_E5M2 },
    { "mx_fp4", KB_DTYPE_MXFP4 }, { "nv_fp4", KB_DTYPE_NVFP4 },
};

const char *kb_dtype_name(enum kb_dtype t)
{
    if ((int)t < 0 || t >= KB_DTYPE_COUNT)
        return NULL;
    return dtype_names[t];
}

int kb_dtype_parse(const char *name, enum kb_dtype *out)
{
    if (!name)
        return -1;
    for (int t = 0; t < KB_DTYPE_COUNT; t++) {
        if (strcasecmp(name, dtype_names[t]) == 0) {
            *out = (enum kb_dtype)t;
            return 0;
        }
    }
    for (size_t i = 0; i < sizeof dtype_aliases / sizeof dtype_aliases[0]; i++) {
        if (strcasecmp(name, dtype_aliases[i].name) == 0) {
            *out = dtype_aliases[i].t;
            return 0;
        }
    }
    return -1;
}

double kb_dtype_size(enum kb_dtype t)
{
    if ((int)t < 0 || t >= KB_DTYPE_COUNT)
        return 0;
    return dtype_sizes[t];
}

const char *kb_family_name(enum kb_family f)
{
    switch (f) {
    case KB_FAMILY_ATTENTION: return "attention";
    case KB_FAMILY_QUANT: return "quant";
    case KB_FAMILY_MOE: return "moe";
    case KB_FAMILY_SELFTEST: return "selftest";
    }
    return NULL;
}
