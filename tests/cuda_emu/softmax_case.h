// softmax_case.h - what the emulation drivers of attention.softmax kernels share (flash_wgmma.cpp,
// flash_wgmma_ws.cpp, decode_split.cpp): the operation's inputs for a shape, Q, K, V in the
// kernel's 16-bit type T, an output poisoned with NaN, and the judgement of that output by the
// operation's float64 verify. Include after "dev_emu.cpp" and softmax_ops.h.
#pragma once
#include <cstdio>
#include <vector>

template <typename T> struct softmax_case {
    kb_shape s;
    kb_operands io = {};
    std::vector<T> q, k, v;
    std::vector<uint16_t> o; /* the kernel's output, NaN (in f16 and bf16) until written */

    /* 0, or 1 having said why the inputs could not be made */
    int setup(const kb_shape &shape, enum kb_dtype dt)
    {
        s = shape;
        char err[256];
        if (kb_op_attention_softmax.inputs(&io, &s, dt, 42, err, sizeof err) != KB_OK) {
            printf("inputs: %s\n", err);
            return 1;
        }
        q = emu_convert<T>((float *)io.buffer[KB_ATTN_Q], kb_operands_elems(&io, KB_ATTN_Q));
        k = emu_convert<T>((float *)io.buffer[KB_ATTN_K], kb_operands_elems(&io, KB_ATTN_K));
        v = emu_convert<T>((float *)io.buffer[KB_ATTN_V], kb_operands_elems(&io, KB_ATTN_V));
        o.assign(kb_operands_elems(&io, KB_ATTN_O), 0x7fff);
        return 0;
    }

    /* o widened into the operation's output and verified against float64 (dt's tolerance) */
    kb_accuracy judge(enum kb_dtype dt)
    {
        float *out = (float *)io.buffer[KB_ATTN_O];
        for (size_t e = 0; e < o.size(); e++)
            out[e] = emu_to_float(T{ o[e] });
        kb_accuracy acc;
        kb_op_attention_softmax.verify(&io, &s, dt, 42, 1, &acc);
        return acc;
    }

    ~softmax_case() { kb_operands_free(&io); }
};
