/* hybrid.h - the parts of attention.hybrid (hybrid_ops.h) shared by its operation and its
 * implementations: one layer as a case of a single-layer operation, and a stack that runs the
 * registered implementations of those operations layer by layer. Private to the family. */
#ifndef KB_HYBRID_H
#define KB_HYBRID_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/attention/hybrid_ops.h"
#include "kernels/kernel.h"

/* Linear layers per softmax layer (r) of a ratio: 0 for all softmax, -1 for all linear, -2 for a
 * value that is no ratio. */
int hybrid_ratio_linear_per_softmax(int ratio);
/* 1 when layer l of a stack with this ratio is a softmax layer. */
int hybrid_layer_is_softmax(int ratio, int l);
/* How many of the L layers are softmax layers. */
int hybrid_softmax_layers(int ratio, int layers);
/* Rows each layer occupies in a tensor of `rows` rows of d floats per layer (its rows, then zero
 * rows: at least 256 bytes, up to a 64-byte boundary). */
size_t hybrid_layer_rows(size_t rows, int d);
/* The seed layer l's Q, K, V are drawn from. */
uint64_t hybrid_layer_seed(uint64_t seed, int l);
/* Bytes of KV cache (softmax layers) and of state (linear layers) a stack of this shape keeps for
 * an N-token context, and their sum. */
double hybrid_kv_cache_bytes(const struct kb_shape *s, enum kb_dtype t);
double hybrid_state_bytes(const struct kb_shape *s);
double hybrid_cache_bytes(const struct kb_shape *s, enum kb_dtype t);

/* The chunk attention.hybrid's linear layers are run with (attention.linear@cpu's tile; the
 * definition does not depend on it). */
#define HYBRID_LINEAR_CHUNK 64

/* Layer l of a stack as a case of its own operation. */
struct hybrid_layer {
    int softmax;                   /* 1: attention.softmax, 0: the linear family's */
    const struct kb_operation *op; /* the layer's operation: softmax, linear or gla */
    struct kb_shape shape;         /* its shape in that operation's terms */
    uint64_t seed;                 /* what its Q, K, V were drawn from (and its verify samples) */
};

/* Layer l of shape s (checked by the operation: kv_heads filled), seed the case's. */
void hybrid_layer_of(const struct kb_shape *s, uint64_t seed, int l, struct hybrid_layer *out);

/* Query rows of one layer's input (B·H·T), key rows (B·H_kv·T), output rows (B·H·M). */
size_t hybrid_q_rows(const struct kb_shape *s);
size_t hybrid_kv_rows(const struct kb_shape *s);
size_t hybrid_o_rows(const struct kb_shape *s);

/* Floats a softmax layer's decode query needs (B·H·d, then the input padding): the buffer
 * hybrid_layer_view fills. */
size_t hybrid_decode_q_floats(const struct kb_shape *s);

/* The operands of layer l as its operation lays them out, pointing into io (not owned: never
 * kb_operands_free it). A softmax layer in decode reads one query row per head, which the stack
 * holds as the last of T rows: they are gathered into decode_q (hybrid_decode_q_floats, 64-byte
 * aligned, the caller's), which the view's Q then is. */
void hybrid_layer_view(const struct kb_operands *io, const struct kb_shape *s, int l, const struct hybrid_layer *ly,
                       float *decode_q, struct kb_operands *view);

/* An implementation of the stack: which implementation runs the softmax layers and which the
 * linear-family ones (attention.linear, attention.gla). */
struct hybrid_impl {
    const char *name; /* "attention.hybrid@cpu", for messages */
    const struct kb_kernel *softmax;
    const struct kb_kernel *linear;
    const struct kb_kernel *gla;
};

/* The kb_kernel callbacks of a stack (hybrid_stack.c): setup sets up one case of the layer's
 * implementation per layer on views of the case's operands, run runs them in layer order on the
 * case's stream, collect collects each, teardown tears each down; stats reports the memory
 * counters of hybrid_ops.h; footprint is the sum of the layers' workspace. */
int hybrid_stack_setup(const struct hybrid_impl *impl, struct kb_case *c, char *err, size_t errlen);
int hybrid_stack_run(struct kb_case *c);
int hybrid_stack_collect(struct kb_case *c);
void hybrid_stack_teardown(struct kb_case *c);
int hybrid_stack_stats(const struct kb_case *c, struct kb_counter *out, int max);
double hybrid_stack_footprint(const struct hybrid_impl *impl, const struct kb_shape *s, enum kb_dtype t);

extern const struct kb_kernel kb_attention_hybrid_cpu;
extern const struct kb_kernel kb_attention_hybrid_cuda; /* CUDA builds */

#endif
