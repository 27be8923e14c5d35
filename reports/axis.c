/* axis.c - the swept axis of a set of cases, and its name on a plot (axis.h). */
#include "reports/axis.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

struct axis_text {
    const char *title, *symbol, *unit;
};

/* Only the integer axes; flags and enumerations never go on x. */
static const struct axis_text texts[KB_AXIS_COUNT] = {
    [KB_AXIS_BATCH] = { "batch", "B", "sequences" },
    [KB_AXIS_HEADS] = { "query heads", "H", "heads" },
    [KB_AXIS_KV_HEADS] = { "key/value heads", "Hkv", "heads" },
    [KB_AXIS_SEQ] = { "sequence length", "N", "tokens" },
    [KB_AXIS_HEAD_DIM] = { "head dimension", "d", "channels" },
    [KB_AXIS_WINDOW] = { "window width", "W", "tokens" },
    [KB_AXIS_BLOCK] = { "key block size", "blk", "tokens" },
    [KB_AXIS_TOPK_BLOCKS] = { "key blocks kept per query block", "keep", "blocks" },
    [KB_AXIS_CHUNK] = { "chunk length", "chunk", "tokens" },
    [KB_AXIS_M] = { "GEMM rows", "M", "rows" },
    [KB_AXIS_N] = { "GEMM columns", "N", "columns" },
    [KB_AXIS_K] = { "GEMM depth", "K", "elements" },
    [KB_AXIS_GROUP] = { "quantization group size", "g", "elements" },
    [KB_AXIS_TOKENS] = { "MoE tokens", "T", "tokens" },
    [KB_AXIS_HIDDEN] = { "model width", "h", "channels" },
    [KB_AXIS_FFN] = { "expert FFN width", "f", "channels" },
    [KB_AXIS_EXPERTS] = { "experts", "E", "experts" },
    [KB_AXIS_TOP_K] = { "experts per token (top-k)", "k", "experts" },
    [KB_AXIS_LAYERS] = { "attention layers", "L", "layers" },
    [KB_AXIS_STATE] = { "SSM state size", "S", "channels" },
};

/* The order a reader expects an axis on x when two sweep equally far. */
static const enum kb_axis preference[] = {
    KB_AXIS_SEQ, KB_AXIS_TOKENS, KB_AXIS_M, KB_AXIS_N, KB_AXIS_K, KB_AXIS_EXPERTS, KB_AXIS_TOP_K,
    KB_AXIS_GROUP, KB_AXIS_WINDOW, KB_AXIS_TOPK_BLOCKS, KB_AXIS_BLOCK, KB_AXIS_CHUNK, KB_AXIS_HEAD_DIM,
    KB_AXIS_STATE, KB_AXIS_HIDDEN, KB_AXIS_FFN, KB_AXIS_BATCH, KB_AXIS_HEADS, KB_AXIS_KV_HEADS, KB_AXIS_LAYERS,
};
#define NPREF ((int)(sizeof preference / sizeof preference[0]))

int report_axis_plottable(enum kb_axis a)
{
    return (int)a >= 0 && a < KB_AXIS_COUNT && texts[a].title != NULL;
}

const char *report_axis_title(enum kb_axis a)
{
    return report_axis_plottable(a) ? texts[a].title : "?";
}

const char *report_axis_symbol(enum kb_axis a)
{
    return report_axis_plottable(a) ? texts[a].symbol : "?";
}

const char *report_axis_unit(enum kb_axis a)
{
    return report_axis_plottable(a) ? texts[a].unit : "";
}

void report_axis_label(enum kb_axis a, int log, char *buf, size_t len)
{
    snprintf(buf, len, "%s %s (%s%s)", report_axis_title(a), report_axis_symbol(a), report_axis_unit(a),
             log ? ", log scale" : "");
}

int report_axis_parse(const char *text)
{
    char key[64];
    snprintf(key, sizeof key, "%s", text);
    for (char *c = key; *c; c++)
        if (*c == '-')
            *c = '_';
    for (int a = 0; a < KB_AXIS_COUNT; a++)
        if (report_axis_plottable((enum kb_axis)a) && strcasecmp(kb_axis_info((enum kb_axis)a)->key, key) == 0)
            return a;
    return -1;
}

void report_axis_keys(char *buf, size_t len)
{
    size_t u = 0;
    buf[0] = '\0';
    for (int i = 0; i < NPREF && u < len; i++)
        u += (size_t)snprintf(buf + u, len - u, "%s%s", i ? ", " : "", kb_axis_info(preference[i])->key);
}

int report_same_except(const struct result_row *a, const struct result_row *b, enum kb_axis x)
{
    for (int k = 0; k < KB_AXIS_COUNT; k++)
        if (k != (int)x && kb_shape_get(&a->shape, (enum kb_axis)k) != kb_shape_get(&b->shape, (enum kb_axis)k))
            return 0;
    return a->threads == b->threads && a->cold_cache == b->cold_cache && strcmp(a->kernel, b->kernel) == 0 &&
           strcmp(a->impl, b->impl) == 0 && strcmp(a->device, b->device) == 0 && strcmp(a->dtype, b->dtype) == 0;
}

/* The number of distinct positive values of x among the cases in one line with rows[i]. */
static int line_length(const struct result_row *const *rows, long n, long i, enum kb_axis x)
{
    int seen[64], count = 0;
    for (long j = 0; j < n; j++) {
        if (!rows[j] || !report_same_except(rows[i], rows[j], x))
            continue;
        int v = kb_shape_get(&rows[j]->shape, x), known = 0;
        if (v <= 0)
            continue;
        for (int k = 0; k < count && k < 64; k++)
            known |= seen[k] == v;
        if (!known) {
            if (count < 64)
                seen[count] = v;
            count++;
        }
    }
    return count;
}

int report_swept_axis(const struct result_row *const *rows, long n)
{
    int best = -1, best_len = 1;
    for (int p = 0; p < NPREF; p++) {
        enum kb_axis x = preference[p];
        int longest = 0;
        for (long i = 0; i < n; i++)
            if (rows[i] && kb_shape_get(&rows[i]->shape, x) > 0) {
                int l = line_length(rows, n, i, x);
                longest = l > longest ? l : longest;
            }
        if (longest > best_len) { /* strictly longer: ties keep the earlier axis */
            best = (int)x;
            best_len = longest;
        }
    }
    if (best >= 0)
        return best;
    for (long i = 0; i < n; i++)
        if (rows[i]) {
            for (int p = 0; p < NPREF; p++)
                if (kb_shape_get(&rows[i]->shape, preference[p]) > 0)
                    return (int)preference[p];
            break;
        }
    return -1;
}

int report_line_through(const struct result_row *key, const struct result_row *rows, long n, enum kb_axis x)
{
    int seen[64], count = 0;
    for (long j = 0; j < n; j++) {
        if (strcmp(rows[j].status, "ok") != 0 || !report_same_except(key, &rows[j], x))
            continue;
        int v = kb_shape_get(&rows[j].shape, x), known = 0;
        if (v <= 0)
            continue;
        for (int k = 0; k < count && k < 64; k++)
            known |= seen[k] == v;
        if (!known) {
            if (count < 64)
                seen[count] = v;
            count++;
        }
    }
    return count;
}

int report_axes_through(const struct result_row *keys, int nkeys, const struct result_row *rows, long n, int *out,
                        int max)
{
    int len[NPREF], found = 0;
    for (int p = 0; p < NPREF; p++) {
        len[p] = 0;
        for (int k = 0; k < nkeys; k++) {
            int l = report_line_through(&keys[k], rows, n, preference[p]);
            len[p] += l >= 2 ? l : 0;
        }
    }
    /* longest first; a stable selection keeps the preference order among equals */
    for (int taken = 0; taken < NPREF && found < max; taken++) {
        int best = -1;
        for (int p = 0; p < NPREF; p++)
            if (len[p] > 0 && (best < 0 || len[p] > len[best]))
                best = p;
        if (best < 0)
            break;
        out[found++] = (int)preference[best];
        len[best] = 0;
    }
    return found;
}
