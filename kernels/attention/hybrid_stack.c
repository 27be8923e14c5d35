/* hybrid_stack.c - running attention.hybrid as a stack of registered single-layer
 * implementations (hybrid.h): each layer is a case of attention.softmax or attention.linear
 * whose operands are views of the stack's, set up, run, collected and torn down through that
 * implementation's own kb_kernel callbacks. No attention arithmetic here: a hybrid
 * implementation is exactly as fast and as right as the layers it is made of. */
#include "kernels/attention/hybrid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/attention/attention.h"
#include "kernels/attention/linear_ops.h"

struct hybrid_state {
    const struct hybrid_impl *impl;
    int layers;
    struct kb_case *sub;      /* one case per layer */
    float **decode_q;         /* per softmax layer in decode: its gathered queries (else NULL) */
};

static const struct kb_kernel *layer_kernel(const struct hybrid_impl *impl, const struct hybrid_layer *ly)
{
    if (ly->softmax)
        return impl->softmax;
    return ly->op == &kb_op_attention_gla ? impl->gla : impl->linear;
}

void hybrid_stack_teardown(struct kb_case *c)
{
    struct hybrid_state *st = c->state;
    if (!st)
        return;
    for (int l = 0; l < st->layers; l++) {
        struct kb_case *sub = &st->sub[l];
        if (sub->kernel && sub->state && sub->kernel->teardown)
            sub->kernel->teardown(sub);
        free(st->decode_q[l]);
    }
    free(st->sub);
    free(st->decode_q);
    free(st);
    c->state = NULL;
}

int hybrid_stack_setup(const struct hybrid_impl *impl, struct kb_case *c, char *err, size_t errlen)
{
    const struct kb_shape *s = &c->shape;
    struct hybrid_state *st = calloc(1, sizeof *st);
    if (st) {
        st->sub = calloc((size_t)s->layers, sizeof *st->sub);
        st->decode_q = calloc((size_t)s->layers, sizeof *st->decode_q);
    }
    if (!st || !st->sub || !st->decode_q) {
        if (st) {
            free(st->sub);
            free(st->decode_q);
        }
        free(st);
        snprintf(err, errlen, "%s: out of memory", impl->name);
        return KB_ERROR;
    }
    st->impl = impl;
    st->layers = s->layers;
    c->state = st;
    for (int l = 0; l < s->layers; l++) {
        struct hybrid_layer ly;
        hybrid_layer_of(s, c->seed, l, &ly);
        const struct kb_kernel *k = layer_kernel(impl, &ly);
        if (ly.softmax && s->decode) {
            st->decode_q[l] = attention_alloc(hybrid_decode_q_floats(s) * sizeof(float));
            if (!st->decode_q[l]) {
                snprintf(err, errlen, "%s: out of memory", impl->name);
                hybrid_stack_teardown(c);
                return KB_ERROR;
            }
        }
        struct kb_case *sub = &st->sub[l];
        sub->kernel = k;
        sub->shape = ly.shape;
        sub->dtype = c->dtype;
        sub->threads = c->threads;
        sub->device_index = c->device_index;
        sub->seed = ly.seed;
        sub->stream = c->stream;
        sub->input_copies_wanted = 1; /* L layers' inputs are the stack's working set: no rotation */
        hybrid_layer_view(&c->io, s, l, &ly, st->decode_q[l], &sub->io);
        char why[256] = "";
        int rc = k->setup(sub, why, sizeof why);
        if (rc != KB_OK) {
            sub->state = NULL; /* a failed setup leaves nothing to tear down */
            snprintf(err, errlen, "%s: layer %d (%s@%s): %s", impl->name, l, k->name, k->impl, why);
            hybrid_stack_teardown(c);
            return rc;
        }
    }
    c->input_copies = 1;
    return KB_OK;
}

int hybrid_stack_run(struct kb_case *c)
{
    struct hybrid_state *st = c->state;
    for (int l = 0; l < st->layers; l++) {
        struct kb_case *sub = &st->sub[l];
        sub->stream = c->stream;
        sub->input_copy = 0;
        if (sub->kernel->run(sub) != KB_OK) {
            snprintf(c->error, sizeof c->error, "layer %d (%s@%s): %s", l, sub->kernel->name, sub->kernel->impl,
                     sub->error);
            return KB_ERROR;
        }
    }
    return KB_OK;
}

int hybrid_stack_collect(struct kb_case *c)
{
    struct hybrid_state *st = c->state;
    for (int l = 0; l < st->layers; l++) {
        struct kb_case *sub = &st->sub[l];
        sub->stream = c->stream;
        if (sub->kernel->collect && sub->kernel->collect(sub) != KB_OK) {
            snprintf(c->error, sizeof c->error, "layer %d (%s@%s): %s", l, sub->kernel->name, sub->kernel->impl,
                     sub->error);
            return KB_ERROR;
        }
    }
    return KB_OK;
}

int hybrid_stack_stats(const struct kb_case *c, struct kb_counter *out, int max)
{
    const struct kb_shape *s = &c->shape;
    const struct {
        const char *name, *unit;
        double value;
    } items[] = {
        { "hybrid.cache_bytes", "bytes", hybrid_cache_bytes(s, c->dtype) },
        { "hybrid.kv_cache_bytes", "bytes", hybrid_kv_cache_bytes(s, c->dtype) },
        { "hybrid.state_bytes", "bytes", hybrid_state_bytes(s) },
        { "hybrid.softmax_layers", "count", hybrid_softmax_layers(s->ratio, s->layers) },
    };
    int n = 0;
    for (size_t i = 0; i < sizeof items / sizeof items[0] && n < max; i++, n++) {
        memset(&out[n], 0, sizeof out[n]);
        snprintf(out[n].name, sizeof out[n].name, "%s", items[i].name);
        snprintf(out[n].unit, sizeof out[n].unit, "%s", items[i].unit);
        out[n].value = items[i].value;
    }
    return n;
}

double hybrid_stack_footprint(const struct hybrid_impl *impl, const struct kb_shape *shape, enum kb_dtype t)
{
    struct kb_shape s = *shape;
    if (s.kv_heads == 0)
        s.kv_heads = s.heads;
    double sum = 0;
    for (int l = 0; l < s.layers; l++) {
        struct hybrid_layer ly;
        hybrid_layer_of(&s, 0, l, &ly);
        const struct kb_kernel *k = layer_kernel(impl, &ly);
        if (ly.softmax && s.decode)
            sum += (double)hybrid_decode_q_floats(&s) * sizeof(float);
        if (k->footprint)
            sum += k->footprint(&ly.shape, t);
    }
    return sum;
}
