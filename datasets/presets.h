/* presets.h - shapes of real models, by name, for suite files (`preset = llama3-8b`) and
 * `kbench run --preset NAME`. A preset is a list of axis settings applied in order; keys set
 * after it in the same group override it. */
#ifndef KB_PRESETS_H
#define KB_PRESETS_H

#include <stddef.h>

struct kb_preset_setting { const char *key, *value; };

struct kb_preset {
    const char *name;
    const char *description;       /* the model, and where its numbers come from */
    struct kb_preset_setting settings[12]; /* ends with { NULL, NULL } */
};

/* Every preset; *n receives the count. */
const struct kb_preset *kb_presets(size_t *n);
/* The preset with this name, or NULL. Case and punctuation do not matter ("Llama-3-8B"). */
const struct kb_preset *kb_preset_find(const char *name);

#endif
