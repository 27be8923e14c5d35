/* plugin.h - how a kernel built outside kbench (a plugin: a shared object kbench dlopens) hands
 * its kernels over. Part of the public header <kbench/kbench.h> (see docs/plugins.md).
 *
 * A plugin exports two functions, which KBENCH_PLUGIN(...) writes for it:
 *   int kbench_plugin_abi(void)      returns the KBENCH_ABI_VERSION it was compiled against;
 *   int kbench_plugin_register(struct kbench_registrar *r)
 *                                    calls kbench_register once per kernel; returns 0 (else the
 *                                    load fails and kbench says which kernel it refused).
 * A plugin's kernel implements an operation (.op): one of kbench's (&kb_op_attention_softmax,
 * declared in this header with its operand indices; the symbol is resolved against the kbench
 * executable when the plugin is loaded), or a new one the plugin defines, with its own inputs,
 * reference and counts, under a name no operation of kbench has.
 * kbench loads a plugin only when the version is its own: any change to a struct of this header
 * or to the meaning of a field bumps KBENCH_ABI_VERSION, so a stale plugin is refused, never
 * run with the wrong layout. The descriptors a plugin registers must stay valid while it is
 * loaded (static storage, as built-in kernels have); kbench never unloads a plugin. */
#ifndef KB_PLUGIN_H
#define KB_PLUGIN_H

#include <stddef.h>

#include "kernels/kernel.h"

/* 1: kernels owned their inputs and verification. 2: operations (struct kb_operation,
 * kb_kernel.op/.collect/.check, kb_case.io). 3: kb_shape.page (the paged KV cache of decode),
 * .layers/.ratio/.linear_kind, .state, .lengths and .span (cases spanning several GPUs), and
 * kb_kernel.required_axes. */
#define KBENCH_ABI_VERSION 3

/* kbench's side of a registration (opaque to a plugin). */
struct kbench_registrar;

/* Adds a kernel to kbench's registry, after the built-in ones. Returns 0, or -1 when it is
 * refused (a name@impl that a built-in kernel or another plugin already has, a NULL field that
 * every kernel needs, an operation of its own whose name an operation of kbench or of another
 * plugin has); kbench then says why and refuses the whole plugin. */
int kbench_register(struct kbench_registrar *r, const struct kb_kernel *k);

/* The operation called name ("attention.softmax") that a registered kernel implements, or NULL:
 * for code that finds operations at run time rather than naming their kb_op_ symbol. */
const struct kb_operation *kbench_operation(const char *name);

/* The entry points keep their C names in C++ (.cu) plugins, so kbench finds them. */
#ifdef __cplusplus
#define KBENCH_EXTERN_C extern "C"
#else
#define KBENCH_EXTERN_C
#endif

/* Writes both entry points for the kernels listed (pointers to const struct kb_kernel). */
#define KBENCH_PLUGIN(...)                                                                          \
    KBENCH_EXTERN_C int kbench_plugin_abi(void);                                                    \
    KBENCH_EXTERN_C int kbench_plugin_register(struct kbench_registrar *r);                         \
    int kbench_plugin_abi(void) { return KBENCH_ABI_VERSION; }                                      \
    int kbench_plugin_register(struct kbench_registrar *r)                                          \
    {                                                                                               \
        static const struct kb_kernel *const kernels_[] = { __VA_ARGS__ };                          \
        for (size_t i_ = 0; i_ < sizeof kernels_ / sizeof kernels_[0]; i_++)                        \
            if (kbench_register(r, kernels_[i_]) != 0)                                              \
                return -1;                                                                          \
        return 0;                                                                                   \
    }

#endif
