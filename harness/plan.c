/* plan.c - axes to cases: value parsing, spec defaults and setters, cartesian expansion. */
#include "harness/plan.h"

#include "datasets/presets.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Token results: a number, not a number, or a number too large for a long (which lies outside
 * every axis' range, and is reported as out of range rather than as unparsable). */
enum { TOKEN_OK = 0, TOKEN_BAD = -1, TOKEN_HUGE = -2 };

static int parse_long(const char *s, const char *end, long *out)
{
    char buf[64];
    size_t len = (size_t)(end - s);
    for (size_t i = 0; i < len; i++)
        if (!isdigit((unsigned char)s[i]) && !(i == 0 && len > 1 && (s[i] == '-' || s[i] == '+')))
            return TOKEN_BAD;
    if (len == 0 || len >= sizeof buf)
        return len == 0 ? TOKEN_BAD : TOKEN_HUGE;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *stop;
    errno = 0;
    long v = strtol(buf, &stop, 10);
    if (*stop != '\0' || stop == buf)
        return TOKEN_BAD;
    if (errno == ERANGE)
        return TOKEN_HUGE;
    *out = v;
    return TOKEN_OK;
}

/* Accepts "4096", "4k", "64K", "1m": sequence lengths are usually spelt in powers of 1024. */
static int parse_size_token(const char *s, const char *end, long *out)
{
    while (s < end && isspace((unsigned char)*s))
        s++;
    while (end > s && isspace((unsigned char)end[-1]))
        end--;
    if (end > s) {
        char last = (char)tolower((unsigned char)end[-1]);
        long mult = last == 'k' ? 1024 : last == 'm' ? 1024 * 1024 : 1;
        if (mult != 1) {
            long v;
            int rc = parse_long(s, end - 1, &v);
            if (rc != TOKEN_OK)
                return rc;
            /* "-9000000000000000000k" overflows too, not only large positive values */
            return __builtin_mul_overflow(v, mult, out) ? TOKEN_HUGE : TOKEN_OK;
        }
    }
    return parse_long(s, end, out);
}

static int axis_push(struct int_axis *a, long v, int min, int max, const char *text, char *err, size_t errlen)
{
    if (v < min || v > max) {
        snprintf(err, errlen, "value %ld in '%s' is out of range [%d, %d]", v, text, min, max);
        return -1;
    }
    for (int i = 0; i < a->n; i++)
        if (a->v[i] == v)
            return 0; /* a repeated value adds nothing */
    if (a->n == PLAN_AXIS_MAX) {
        snprintf(err, errlen, "'%s' has more than %d values", text, PLAN_AXIS_MAX);
        return -1;
    }
    a->v[a->n++] = (int)v;
    return 0;
}

/* One comma-separated item: a value or a range "lo:hi:xF" / "lo:hi:+S" / "lo:hi" (x2). */
static int parse_item(const char *s, const char *end, int min, int max, struct int_axis *out,
                      const char *text, char *err, size_t errlen)
{
    const char *c1 = memchr(s, ':', (size_t)(end - s));
    long lo, hi;
    int rc;
    if (!c1) {
        if ((rc = parse_size_token(s, end, &lo)) != TOKEN_OK)
            goto bad;
        return axis_push(out, lo, min, max, text, err, errlen);
    }
    const char *c2 = memchr(c1 + 1, ':', (size_t)(end - c1 - 1));
    const char *hi_end = c2 ? c2 : end;
    if ((rc = parse_size_token(s, c1, &lo)) != TOKEN_OK || (rc = parse_size_token(c1 + 1, hi_end, &hi)) != TOKEN_OK)
        goto bad;
    if (hi < lo) {
        snprintf(err, errlen, "range '%.*s' ends before it starts", (int)(end - s), s);
        return -1;
    }
    int geometric = 1;
    long step = 2;
    if (c2) {
        const char *st = c2 + 1;
        while (st < end && isspace((unsigned char)*st))
            st++;
        if (st < end && (*st == 'x' || *st == '*'))
            geometric = 1;
        else if (st < end && *st == '+')
            geometric = 0;
        else {
            rc = TOKEN_BAD;
            goto bad;
        }
        if ((rc = parse_size_token(st + 1, end, &step)) == TOKEN_HUGE) {
            snprintf(err, errlen, "step in '%.*s' is out of range (at most %d)", (int)(end - s), s, max);
            return -1;
        }
        if (rc != TOKEN_OK)
            goto bad;
        if ((geometric && step < 2) || (!geometric && step < 1)) {
            snprintf(err, errlen, "step in '%.*s' must be x2 or more, or +1 or more", (int)(end - s), s);
            return -1;
        }
    }
    if (geometric && lo <= 0) {
        snprintf(err, errlen, "geometric range '%.*s' must start above 0", (int)(end - s), s);
        return -1;
    }
    for (long v = lo; v <= hi;) {
        if (axis_push(out, v, min, max, text, err, errlen) != 0)
            return -1;
        /* the step is the user's ("x99999999999"): a next value that overflows lies past hi */
        if (geometric ? __builtin_mul_overflow(v, step, &v) : __builtin_add_overflow(v, step, &v))
            break;
    }
    return 0;
bad:
    if (rc == TOKEN_HUGE) {
        snprintf(err, errlen, "value '%.*s' in '%s' is out of range [%d, %d]", (int)(end - s), s, text, min, max);
        return -1;
    }
    snprintf(err, errlen, "cannot parse '%.*s' in '%s' (expected N, N,M,..., LO:HI:xF or LO:HI:+S)",
             (int)(end - s), s, text);
    return -1;
}

int plan_parse_int_axis(const char *text, int min, int max, struct int_axis *out, char *err, size_t errlen)
{
    struct int_axis a = { 0 };
    if (!text || !*text) {
        snprintf(err, errlen, "empty value");
        return -1;
    }
    const char *s = text;
    for (;;) {
        const char *comma = strchr(s, ',');
        const char *end = comma ? comma : s + strlen(s);
        if (end == s) {
            snprintf(err, errlen, "empty item in '%s'", text);
            return -1;
        }
        if (parse_item(s, end, min, max, &a, text, err, errlen) != 0)
            return -1;
        if (!comma)
            break;
        s = comma + 1;
    }
    *out = a;
    return 0;
}

void plan_spec_default(struct plan_spec *s)
{
    memset(s, 0, sizeof *s);
    strcpy(s->kernels[0], "attention.*");
    s->n_kernels = 1;
    strcpy(s->devices[0], "cpu");
    s->n_devices = 1;
    s->dtypes[0] = KB_DTYPE_F32;
    s->n_dtypes = 1;
    s->axis[KB_AXIS_SEQ] = (struct int_axis){ 3, { 512, 1024, 2048 } };
    s->threads = (struct int_axis){ 1, { 1 } };
}

/* Splits a comma list into fixed-size string slots. */
static int split_list(const char *value, char (*slots)[96], int slot_size, int max, int *n,
                      const char *key, char *err, size_t errlen)
{
    int count = 0;
    const char *s = value;
    for (;;) {
        while (*s == ' ' || *s == '\t')
            s++;
        const char *comma = strchr(s, ',');
        const char *end = comma ? comma : s + strlen(s);
        const char *e = end;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e == s) {
            snprintf(err, errlen, "empty item in %s '%s'", key, value);
            return -1;
        }
        if (count == max || (int)(e - s) >= slot_size) {
            snprintf(err, errlen, "too many or too long items in %s '%s'", key, value);
            return -1;
        }
        char *slot = (char *)slots + (size_t)count * (size_t)slot_size;
        memcpy(slot, s, (size_t)(e - s));
        slot[e - s] = '\0';
        count++;
        if (!comma)
            break;
        s = comma + 1;
    }
    *n = count;
    return 0;
}

static int parse_device(const char *d)
{
    if (strcmp(d, "cpu") == 0)
        return 0;
    if (strncmp(d, "cuda:", 5) == 0 && d[5] >= '0' && d[5] <= '9') {
        char *end;
        long n = strtol(d + 5, &end, 10);
        return (*end == '\0' && n < 64) ? 0 : -1;
    }
    return -1;
}

/* An enumerated axis: a comma list of value names, or "all". */
static int parse_enum_axis(enum kb_axis a, const char *value, struct int_axis *out, char *err, size_t errlen)
{
    const struct kb_axis_info *ax = kb_axis_info(a);
    struct int_axis r = { 0 };
    if (strcmp(value, "all") == 0) {
        for (int v = 1; v <= ax->max; v++)
            r.v[r.n++] = v;
        *out = r;
        return 0;
    }
    char tmp[PLAN_AXIS_MAX][96];
    int n;
    if (split_list(value, tmp, sizeof tmp[0], PLAN_AXIS_MAX, &n, ax->key, err, errlen) != 0)
        return -1;
    for (int i = 0; i < n; i++) {
        int v = kb_axis_value_parse(a, tmp[i]);
        if (v < 0) {
            int w = snprintf(err, errlen, "unknown %s '%s' (expected", ax->key, tmp[i]);
            for (int k = 1; k <= ax->max && w > 0 && (size_t)w < errlen; k++)
                w += snprintf(err + w, errlen - (size_t)w, "%s%s", k == 1 ? " " : ", ", ax->names[k]);
            if (w > 0 && (size_t)w < errlen)
                snprintf(err + w, errlen - (size_t)w, " or all)");
            return -1;
        }
        int dup = 0;
        for (int k = 0; k < r.n; k++)
            dup |= r.v[k] == v;
        if (!dup)
            r.v[r.n++] = v;
    }
    *out = r;
    return 0;
}

/* Levenshtein distance of two short strings, case-insensitive (for "did you mean"). */
static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 99;
    int row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int sub = diag + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
            int best = up + 1 < row[j - 1] + 1 ? up + 1 : row[j - 1] + 1;
            row[j] = sub < best ? sub : best;
            diag = up;
        }
    }
    return row[lb];
}

/* A candidate is close when a couple of letters differ (fewer for short words), or when one is
 * the other with '-' for '_' ("kv-heads"). */
static int close_enough(const char *typed, const char *cand)
{
    size_t n = strlen(typed);
    int limit = n <= 3 ? 1 : n <= 6 ? 2 : 3;
    return edit_distance(typed, cand) <= limit;
}

static const char *const fixed_keys[] = { "kernels", "devices", "dtype", "threads", "cache", "preset", NULL };

int plan_suggest_key(const char *typed, char *out, size_t outlen)
{
    const char *best = NULL;
    int best_d = 99;
    for (int i = 0; fixed_keys[i]; i++) {
        int d = edit_distance(typed, fixed_keys[i]);
        if (d < best_d && close_enough(typed, fixed_keys[i]))
            best = fixed_keys[i], best_d = d;
    }
    for (int a = 0; a < KB_AXIS_COUNT; a++) {
        const struct kb_axis_info *ax = kb_axis_info((enum kb_axis)a);
        /* the store's column name ("seq_len", "gemm_m") is a natural guess for the key */
        const char *forms[] = { ax->key, ax->column };
        for (int f = 0; f < 2; f++) {
            int d = edit_distance(typed, forms[f]);
            if (d < best_d && close_enough(typed, forms[f]))
                best = ax->key, best_d = d;
        }
    }
    if (!best || strcmp(best, typed) == 0)
        return -1;
    snprintf(out, outlen, "%s", best);
    return 0;
}

static void unknown_key_message(const char *key, char *err, size_t errlen)
{
    char guess[32];
    int w;
    if (plan_suggest_key(key, guess, sizeof guess) == 0)
        w = snprintf(err, errlen, "unknown axis '%s' (did you mean %s?; expected", key, guess);
    else
        w = snprintf(err, errlen, "unknown axis '%s' (expected", key);
    for (int i = 0; fixed_keys[i] && w > 0 && (size_t)w < errlen; i++)
        w += snprintf(err + w, errlen - (size_t)w, "%s%s", i ? ", " : " ", fixed_keys[i]);
    for (int i = 0; i < KB_AXIS_COUNT && w > 0 && (size_t)w < errlen; i++)
        w += snprintf(err + w, errlen - (size_t)w, ", %s", kb_axis_info((enum kb_axis)i)->key);
    if (w > 0 && (size_t)w < errlen)
        snprintf(err + w, errlen - (size_t)w, ")");
}

int plan_spec_set(struct plan_spec *s, const char *key, const char *value, char *err, size_t errlen)
{
    char sub[200];
    int a = kb_axis_by_key(key);
    if (a >= 0) {
        const struct kb_axis_info *ax = kb_axis_info((enum kb_axis)a);
        if (ax->kind == KB_AXIS_KIND_ENUM)
            return parse_enum_axis((enum kb_axis)a, value, &s->axis[a], err, errlen);
        if (plan_parse_int_axis(value, ax->min, ax->max, &s->axis[a], sub, sizeof sub) != 0) {
            snprintf(err, errlen, "bad %s: %s", key, sub);
            return -1;
        }
        return 0;
    }
    if (strcmp(key, "threads") == 0) {
        if (plan_parse_int_axis(value, 1, 1024, &s->threads, sub, sizeof sub) != 0) {
            snprintf(err, errlen, "bad %s: %s", key, sub);
            return -1;
        }
        return 0;
    }
    if (strcmp(key, "preset") == 0) {
        const struct kb_preset *p = kb_preset_find(value);
        if (!p) {
            size_t np;
            const struct kb_preset *all = kb_presets(&np);
            const char *near = NULL;
            for (size_t i = 0; i < np && !near; i++)
                if (close_enough(value, all[i].name))
                    near = all[i].name;
            int w = snprintf(err, errlen, "unknown preset '%s' (%s%s%sexpected", value, near ? "did you mean " : "",
                             near ? near : "", near ? "?; " : "");
            for (size_t i = 0; i < np && w > 0 && (size_t)w < errlen; i++)
                w += snprintf(err + w, errlen - (size_t)w, "%s%s", i ? ", " : " ", all[i].name);
            if (w > 0 && (size_t)w < errlen)
                snprintf(err + w, errlen - (size_t)w, ")");
            return -1;
        }
        for (int i = 0; p->settings[i].key; i++)
            if (plan_spec_set(s, p->settings[i].key, p->settings[i].value, err, errlen) != 0)
                return -1; /* a preset the tests load: cannot happen unless the table is wrong */
        return 0;
    }
    if (strcmp(key, "kernels") == 0)
        return split_list(value, s->kernels, sizeof s->kernels[0], PLAN_PATTERNS_MAX, &s->n_kernels,
                          key, err, errlen);
    if (strcmp(key, "devices") == 0) {
        char tmp[8][96];
        int n;
        if (split_list(value, tmp, sizeof tmp[0], 8, &n, key, err, errlen) != 0)
            return -1;
        for (int i = 0; i < n; i++) {
            if (parse_device(tmp[i]) != 0 || strlen(tmp[i]) >= sizeof s->devices[0]) {
                snprintf(err, errlen, "unknown device '%s' (expected cpu or cuda:N)", tmp[i]);
                return -1;
            }
            strcpy(s->devices[i], tmp[i]);
        }
        s->n_devices = n;
        return 0;
    }
    if (strcmp(key, "dtype") == 0 || strcmp(key, "dtypes") == 0) {
        char tmp[KB_DTYPE_COUNT][96];
        int n;
        if (split_list(value, tmp, sizeof tmp[0], KB_DTYPE_COUNT, &n, key, err, errlen) != 0)
            return -1;
        for (int i = 0; i < n; i++)
            if (kb_dtype_parse(tmp[i], &s->dtypes[i]) != 0) {
                snprintf(err, errlen, "unknown dtype '%s' (expected f64, f32, f16, bf16, i8, i32, i4, "
                         "e4m3, e5m2)", tmp[i]);
                return -1;
            }
        s->n_dtypes = n;
        s->dtype_given = 1;
        return 0;
    }
    if (strcmp(key, "cache") == 0) {
        /* a list like every axis: hot,cold is both */
        char tmp[4][96];
        int n, hot = 0, cold = 0;
        if (split_list(value, tmp, sizeof tmp[0], 4, &n, key, err, errlen) != 0)
            return -1;
        for (int i = 0; i < n; i++) {
            if (strcasecmp(tmp[i], "hot") == 0)
                hot = 1;
            else if (strcasecmp(tmp[i], "cold") == 0)
                cold = 1;
            else if (strcasecmp(tmp[i], "both") == 0)
                hot = cold = 1;
            else {
                snprintf(err, errlen, "unknown cache '%s' (expected hot, cold, both or a list: hot,cold)", tmp[i]);
                return -1;
            }
        }
        s->cold_cache = hot && cold ? 2 : cold;
        return 0;
    }
    unknown_key_message(key, err, errlen);
    return -2;
}

static void join_ints(const struct int_axis *a, enum kb_axis axis, int is_enum, char *buf, size_t len)
{
    size_t used = 0;
    if (len)
        buf[0] = '\0';
    for (int i = 0; i < a->n; i++) {
        const char *name = is_enum ? kb_axis_value_name(axis, a->v[i]) : NULL;
        int w = name ? snprintf(buf + used, used < len ? len - used : 0, "%s%s", i ? "," : "", name)
                     : snprintf(buf + used, used < len ? len - used : 0, "%s%d", i ? "," : "", a->v[i]);
        if (w < 0 || used + (size_t)w >= len)
            return;
        used += (size_t)w;
    }
}

static void join_strings(const char *items, size_t stride, int n, char *buf, size_t len)
{
    size_t used = 0;
    if (len)
        buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        int w = snprintf(buf + used, used < len ? len - used : 0, "%s%s", i ? "," : "", items + (size_t)i * stride);
        if (w < 0 || used + (size_t)w >= len)
            return;
        used += (size_t)w;
    }
}

void plan_spec_value_string(const struct plan_spec *s, const char *key, char *buf, size_t len)
{
    int a = kb_axis_by_key(key);
    if (a >= 0) {
        const struct kb_axis_info *ax = kb_axis_info((enum kb_axis)a);
        struct int_axis v = s->axis[a];
        if (v.n == 0 && a == KB_AXIS_KV_HEADS) {
            snprintf(buf, len, "=heads");
            return;
        }
        if (v.n == 0)
            v = (struct int_axis){ 1, { ax->fallback } };
        join_ints(&v, (enum kb_axis)a, ax->kind == KB_AXIS_KIND_ENUM, buf, len);
    } else if (strcmp(key, "kernels") == 0) {
        join_strings(s->kernels[0], sizeof s->kernels[0], s->n_kernels, buf, len);
    } else if (strcmp(key, "devices") == 0) {
        join_strings(s->devices[0], sizeof s->devices[0], s->n_devices, buf, len);
    } else if (strcmp(key, "dtype") == 0) {
        if (!s->dtype_given) {
            snprintf(buf, len, "f32 or own"); /* natural_dtype: f32, else the kernel's own */
            return;
        }
        size_t used = 0;
        buf[0] = '\0';
        for (int i = 0; i < s->n_dtypes && used < len; i++)
            used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "," : "", kb_dtype_name(s->dtypes[i]));
    } else if (strcmp(key, "threads") == 0) {
        join_ints(&s->threads, KB_AXIS_COUNT, 0, buf, len);
    } else if (strcmp(key, "cache") == 0) {
        snprintf(buf, len, "%s", s->cold_cache == 2 ? "hot,cold" : s->cold_cache ? "cold" : "hot");
    } else {
        snprintf(buf, len, "-");
    }
}

static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* The shape's hash: its fields up to input (the axes of schema v4) as they always were, then
 * each later axis only where it is set, tagged by its index, so adding an axis changes no
 * existing case's seed (inputs stay those of earlier versions) nor its identity. Span (how many
 * GPUs compute the case) says nothing of what is computed: the seed leaves it out, so a layer on
 * 8 GPUs sees the inputs it sees on one; the identity keeps it, so spans are different cases. */
static uint64_t shape_hash(uint64_t h, const struct kb_shape *s, int with_span)
{
    h = fnv1a(h, s, offsetof(struct kb_shape, input) + sizeof s->input);
    for (int a = KB_AXIS_INPUT + 1; a < KB_AXIS_COUNT; a++) {
        int v = kb_shape_get(s, (enum kb_axis)a);
        if (v != 0 && (with_span || a != KB_AXIS_SPAN)) {
            int tagged[2] = { a, v };
            h = fnv1a(h, tagged, sizeof tagged);
        }
    }
    return h;
}

/* The seed depends on what the inputs are (kernel family, shape, dtype), not on the impl, so
 * two implementations of one operation see the same inputs. */
static uint64_t case_seed(const struct plan_case *c)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    const char *fam = kb_family_name(kb_kernel_family(c->kernel));
    h = fnv1a(h, fam, strlen(fam));
    return shape_hash(h, &c->shape, 0);
}

/* Identity for sharding and de-duplication: everything but the seed. */
static uint64_t case_identity(const struct plan_case *c)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    h = fnv1a(h, c->kernel->name, strlen(c->kernel->name));
    h = fnv1a(h, c->kernel->impl, strlen(c->kernel->impl));
    h = fnv1a(h, c->device, strlen(c->device));
    int f[3] = { (int)c->dtype, c->threads, c->cold_cache };
    h = fnv1a(h, f, sizeof f);
    return shape_hash(h, &c->shape, 1);
}

/* Two cases that would measure the same thing (the seed follows from the rest). */
static int same_case(const struct plan_case *a, const struct plan_case *b)
{
    return a->kernel == b->kernel && a->dtype == b->dtype && a->threads == b->threads &&
           a->cold_cache == b->cold_cache && strcmp(a->device, b->device) == 0 &&
           memcmp(&a->shape, &b->shape, sizeof a->shape) == 0;
}

static int plan_push(struct plan *p, const struct plan_case *c)
{
    for (size_t i = 0; i < p->n; i++)
        if (same_case(&p->cases[i], c))
            return 0;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        struct plan_case *nc = realloc(p->cases, cap * sizeof *nc);
        if (!nc)
            return -1;
        p->cases = nc;
        p->cap = cap;
    }
    p->cases[p->n++] = *c;
    return 0;
}

static int device_kind_matches(const struct kb_kernel *k, const char *device)
{
    int is_cpu = strcmp(device, "cpu") == 0;
    return (k->device == KB_DEVICE_CPU) == is_cpu;
}

/* The values a kernel sweeps on one axis: the spec's, or the axis' fallback. */
static struct int_axis axis_values(const struct plan_spec *s, enum kb_axis a)
{
    if (s->axis[a].n)
        return s->axis[a];
    return (struct int_axis){ 1, { kb_axis_info(a)->fallback } };
}

int plan_check_shape(uint64_t mask, const struct kb_shape *s, char *err, size_t errlen)
{
#define USES(a) (mask & KB_AXIS_BIT(a))
    if (USES(KB_AXIS_HEADS) && USES(KB_AXIS_KV_HEADS) && s->kv_heads > 0) {
        if (s->kv_heads > s->heads) {
            snprintf(err, errlen, "--kv-heads %d is more than --heads %d: each key/value head serves a "
                     "group of query heads", s->kv_heads, s->heads);
            return -1;
        }
        if (s->heads % s->kv_heads != 0) {
            snprintf(err, errlen, "--heads %d is not a multiple of --kv-heads %d: each key/value head "
                     "serves a whole group of query heads", s->heads, s->kv_heads);
            return -1;
        }
    }
    if (USES(KB_AXIS_EXPERTS) && USES(KB_AXIS_TOP_K) && s->top_k > s->experts) {
        snprintf(err, errlen, "--top-k %d is more than --experts %d: a token cannot choose more experts "
                 "than there are", s->top_k, s->experts);
        return -1;
    }
    if (USES(KB_AXIS_PAGE) && s->page > 0 && !s->decode) {
        snprintf(err, errlen, "--page %d needs --decode 1: only a decode step reads a paged KV cache "
                 "(--page 0 is a contiguous cache)", s->page);
        return -1;
    }
    /* decay is a causal-order notion; an operation without the causal axis (attention.delta,
     * whose decay is Gated DeltaNet's gate) is causal by definition */
    if (USES(KB_AXIS_DECAY) && USES(KB_AXIS_CAUSAL) && s->decay && !s->causal && !s->decode) {
        snprintf(err, errlen, "--decay 1 needs causal order: give --causal 1%s", USES(KB_AXIS_DECODE) ?
                 " or --decode 1" : "");
        return -1;
    }
    /* a transformer block splits its width into the heads */
    if (USES(KB_AXIS_HIDDEN) && USES(KB_AXIS_HEADS) && USES(KB_AXIS_HEAD_DIM) &&
        (double)s->heads * s->head_dim != (double)s->hidden) {
        snprintf(err, errlen, "--hidden %d is not --heads %d x --head-dim %d = %.0f", s->hidden, s->heads,
                 s->head_dim, (double)s->heads * s->head_dim);
        return -1;
    }
#undef USES
    return 0;
}

/* Every shape of the cartesian product of the axes the kernel uses, in odometer order (the
 * last axis turns fastest, so a sweep over seq lists each N of one configuration together). */
static int expand_kernel(const struct plan_spec *s, const struct kb_kernel *k, const char *device,
                         enum kb_dtype dtype, const int *cold_modes, int n_cold, struct plan *plan, size_t *added,
                         char *err, size_t errlen)
{
    uint64_t mask = kb_kernel_axes(k);
    enum kb_axis used[KB_AXIS_COUNT];
    struct int_axis values[KB_AXIS_COUNT];
    int n_used = 0, idx[KB_AXIS_COUNT] = { 0 };
    for (int a = 0; a < KB_AXIS_COUNT; a++) {
        if (!(mask & KB_AXIS_BIT(a)) || (a == KB_AXIS_KV_HEADS && s->axis[a].n == 0))
            continue; /* kv_heads unset follows heads, set below */
        used[n_used] = (enum kb_axis)a;
        values[n_used++] = axis_values(s, (enum kb_axis)a);
    }
    int th_n = k->device == KB_DEVICE_CPU ? s->threads.n : 1;
    for (;;) {
        struct kb_shape shape;
        memset(&shape, 0, sizeof shape);
        for (int i = 0; i < n_used; i++)
            kb_shape_set(&shape, used[i], values[i].v[idx[i]]);
        if ((mask & KB_AXIS_BIT(KB_AXIS_KV_HEADS)) && shape.kv_heads == 0)
            shape.kv_heads = shape.heads;
        /* a decode-only kernel (required_axes) plans no prefill shape: no threads, no cases */
        int shape_threads = th_n;
        for (int a = 0; a < KB_AXIS_COUNT; a++)
            if ((k->required_axes & mask & KB_AXIS_BIT(a)) && !kb_shape_get(&shape, (enum kb_axis)a))
                shape_threads = 0;
        if (shape_threads && plan_check_shape(mask, &shape, err, errlen) != 0) {
            size_t at = strlen(err);
            snprintf(err + at, errlen - at, " (for %s@%s%s%s%s)", k->name, k->impl,
                     *s->group ? ", suite group [" : "", s->group, *s->group ? "]" : "");
            return -1;
        }
        for (int th = 0; th < shape_threads; th++)
            for (int cm = 0; cm < n_cold; cm++) {
                (*added)++;
                struct plan_case c;
                memset(&c, 0, sizeof c);
                c.kernel = k;
                snprintf(c.device, sizeof c.device, "%s", device);
                c.dtype = dtype;
                c.shape = shape;
                /* GPU kernels take no thread count */
                c.threads = k->device == KB_DEVICE_CPU ? s->threads.v[th] : 1;
                c.cold_cache = cold_modes[cm];
                c.seed = case_seed(&c);
                if (plan_push(plan, &c) != 0) {
                    snprintf(err, errlen, "out of memory while planning");
                    return -1;
                }
            }
        int i = n_used - 1;
        while (i >= 0 && ++idx[i] == values[i].n)
            idx[i--] = 0;
        if (i < 0)
            return 0;
    }
}

/* The dtype a kernel runs in when none was named: f32 where it has it (every CPU kernel that
 * computes in floats), else the first it has of bf16, f16, i8, e4m3, i4 (GPU tensor-core and
 * quantized kernels), else its lowest. */
static enum kb_dtype natural_dtype(const struct kb_kernel *k)
{
    static const enum kb_dtype order[] = { KB_DTYPE_F32, KB_DTYPE_BF16, KB_DTYPE_F16, KB_DTYPE_I8,
                                           KB_DTYPE_FP8_E4M3, KB_DTYPE_I4 };
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (k->dtypes & KB_DTYPE_BIT(order[i]))
            return order[i];
    for (int t = 0; t < KB_DTYPE_COUNT; t++)
        if (k->dtypes & KB_DTYPE_BIT(t))
            return (enum kb_dtype)t;
    return KB_DTYPE_F32;
}

static int expand_spec(const struct plan_spec *s, struct plan *plan, char *err, size_t errlen)
{
    size_t nk;
    const struct kb_kernel *const *all = kb_registry_all(&nk);
    int cold_modes[2], n_cold = 0;
    if (s->cold_cache == 0 || s->cold_cache == 2)
        cold_modes[n_cold++] = 0;
    if (s->cold_cache >= 1)
        cold_modes[n_cold++] = 1;
    for (int p = 0; p < s->n_kernels; p++) {
        int matched = 0, on_device = 0, planned = 0; /* planned: some case (maybe a duplicate) */
        size_t added = 0;           /* cases the pattern's kernels planned */
        uint64_t required = 0;      /* required_axes of the kernels it matched on the devices */
        for (size_t ki = 0; ki < nk; ki++) {
            const struct kb_kernel *k = all[ki];
            if (!kb_kernel_matches(k, s->kernels[p]))
                continue;
            matched = 1;
            for (int di = 0; di < s->n_devices; di++) {
                if (!device_kind_matches(k, s->devices[di]))
                    continue;
                on_device = 1;
                required |= k->required_axes & kb_kernel_axes(k);
                if (!s->dtype_given) {
                    planned = 1;
                    if (expand_kernel(s, k, s->devices[di], natural_dtype(k), cold_modes, n_cold, plan, &added,
                                      err, errlen) != 0)
                        return -1;
                    continue;
                }
                for (int ti = 0; ti < s->n_dtypes; ti++) {
                    if (!(k->dtypes & KB_DTYPE_BIT(s->dtypes[ti])))
                        continue;
                    planned = 1;
                    if (expand_kernel(s, k, s->devices[di], s->dtypes[ti], cold_modes, n_cold, plan,
                                      &added, err, errlen) != 0)
                        return -1;
                }
            }
        }
        if (!matched) {
            snprintf(err, errlen, "no kernel matches '%s' (see 'kbench list')", s->kernels[p]);
            return -1;
        }
        /* A pattern that names kernels none of which runs in this sweep planned nothing: say why
         * rather than plan an empty (or silently shorter) run. */
        if (!planned && !on_device) {
            char devs[160];
            join_strings(s->devices[0], sizeof s->devices[0], s->n_devices, devs, sizeof devs);
            snprintf(err, errlen, "'%s' matches only kernels of other devices than %s (a CUDA kernel needs "
                     "--devices cuda:N)%s%s%s", s->kernels[p], devs, *s->group ? " in suite group [" : "",
                     s->group, *s->group ? "]" : "");
            return -1;
        }
        if (planned && !added && required) {
            char flags[96] = "";
            size_t used = 0;
            for (int a = 0; a < KB_AXIS_COUNT && used < sizeof flags; a++)
                if (required & KB_AXIS_BIT(a))
                    used += (size_t)snprintf(flags + used, sizeof flags - used, "%s--%s 1", used ? " " : "",
                                             kb_axis_info((enum kb_axis)a)->key);
            snprintf(err, errlen, "'%s' matches only kernels that run with %s (a decode step, say), and this "
                     "sweep leaves it 0%s%s%s", s->kernels[p], flags, *s->group ? " in suite group [" : "",
                     s->group, *s->group ? "]" : "");
            return -1;
        }
        if (!planned) {
            char types[96];
            size_t used = 0;
            types[0] = '\0';
            for (int i = 0; i < s->n_dtypes && used < sizeof types; i++)
                used += (size_t)snprintf(types + used, sizeof types - used, "%s%s", i ? "," : "",
                                         kb_dtype_name(s->dtypes[i]));
            snprintf(err, errlen, "no kernel matching '%s' takes dtype %s ('kbench list --long' shows each "
                     "kernel's dtypes)%s%s%s", s->kernels[p], types, *s->group ? " in suite group [" : "",
                     s->group, *s->group ? "]" : "");
            return -1;
        }
    }
    return 0;
}

int plan_build(const struct plan_spec *specs, int n_specs, struct plan *plan, char *err, size_t errlen)
{
    for (int i = 0; i < n_specs; i++)
        if (expand_spec(&specs[i], plan, err, errlen) != 0)
            return -1;
    return 0;
}

void plan_shard(struct plan *plan, int i, int n)
{
    size_t kept = 0;
    for (size_t c = 0; c < plan->n; c++)
        if (case_identity(&plan->cases[c]) % (uint64_t)n == (uint64_t)(i - 1))
            plan->cases[kept++] = plan->cases[c];
    plan->n = kept;
}

void plan_free(struct plan *plan)
{
    free(plan->cases);
    memset(plan, 0, sizeof *plan);
}

void plan_shape_string(const struct kb_shape *s, char *buf, size_t len)
{
    kb_shape_string(s, 0, buf, len);
}
