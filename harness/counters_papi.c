/* counters_papi.c - PAPI event sets around a kernel, event-name checks and `kbench counters`.
 *
 * PAPI keeps its state per process. kbench forks one child per case, and the parent may have
 * initialised PAPI (validating --counters, reading the version) before forking; the child then
 * inherits an initialised library and opens its event set there. That works because PAPI's
 * perf_event component opens counters for "the calling thread" (pid 0) only when an event set
 * is built, and the parent never builds one that stays open across a fork: every event set made
 * here is destroyed before the function that made it returns, except a session's own.
 *
 * Call these from one thread: PAPI is not told about threads (no PAPI_thread_init), so an event
 * set counts the thread that started it, not the OpenMP workers of a threaded kernel.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "harness/counters.h"

#ifdef HAVE_PAPI
#include <dirent.h>
#include <stdarg.h>

/* papi.h declares some functions without prototypes; outside /usr/include (a private prefix)
 * that would warn under -Wstrict-prototypes, so it is silenced for this header only. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <papi.h>
#pragma GCC diagnostic pop
#endif

#define NO_PAPI "kbench was built without PAPI"

/* A set larger than this is a typo or a script gone wrong: the report holds 48 counters in all,
 * rusage and derived metrics included. */
#define MAX_EVENTS 32
#define EVENT_NAME_LEN ((int)sizeof(((struct kb_counter *)0)->name))

/* FP operations: single precision first, as most kernels here compute in float32. Where the CPU
 * has no PAPI_SP_OPS, the session falls back to PAPI_FP_OPS. */
const char *const counters_default_events[] = {
    "PAPI_TOT_CYC", "PAPI_TOT_INS", "PAPI_L1_DCM", "PAPI_L2_DCM", "PAPI_L3_TCM",
    "PAPI_BR_MSP",  "PAPI_SP_OPS",  NULL,
};

#ifndef HAVE_PAPI

int counters_validate(const char *events_csv, char *err, size_t errlen)
{
    if (!events_csv)
        return 0;
    snprintf(err, errlen, NO_PAPI " (configure --with-papi): cannot count '%s'", events_csv);
    return -1;
}

struct papi_session *papi_session_open(const char *events_csv, char *why, size_t whylen)
{
    (void)events_csv;
    snprintf(why, whylen, NO_PAPI);
    return NULL;
}

int papi_session_start(struct papi_session *s)
{
    (void)s;
    return -1;
}

int papi_session_stop(struct papi_session *s, double calls, struct kb_counter_report *r)
{
    (void)s;
    (void)calls;
    snprintf(r->papi_status, sizeof r->papi_status, "unavailable: " NO_PAPI);
    return -1;
}

void papi_session_close(struct papi_session *s)
{
    (void)s;
}

int counters_print_available(FILE *out, int include_native)
{
    (void)include_native;
    fprintf(out, "PAPI: not built (" NO_PAPI "; configure --with-papi to count hardware events)\n"
                 "kbench will record counters as unavailable.\n");
    return 1;
}

const char *counters_papi_version(char *buf, size_t len)
{
    snprintf(buf, len, "not built");
    return buf;
}

#else /* HAVE_PAPI */

struct event_list {
    int n;
    char name[MAX_EVENTS][sizeof(((struct kb_counter *)0)->name)];
};

/* Splits "A, B,C" into trimmed names. Empty items, over-long names and repeats are errors. */
static int split_events(const char *csv, struct event_list *l, char *err, size_t errlen)
{
    l->n = 0;
    if (!*csv) {
        snprintf(err, errlen, "empty counter list (kbench run --no-counters skips counting)");
        return -1;
    }
    const char *p = csv;
    for (int item = 1;; item++) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len && isspace((unsigned char)*p)) {
            p++;
            len--;
        }
        while (len && isspace((unsigned char)p[len - 1]))
            len--;
        if (len == 0) {
            snprintf(err, errlen, "empty item %d in counter list '%s'", item, csv);
            return -1;
        }
        if (len >= (size_t)EVENT_NAME_LEN) {
            snprintf(err, errlen, "counter name '%.*s' is longer than %d characters", (int)len, p,
                     EVENT_NAME_LEN - 1);
            return -1;
        }
        if (l->n == MAX_EVENTS) {
            snprintf(err, errlen, "more than %d counters in '%s'", MAX_EVENTS, csv);
            return -1;
        }
        memcpy(l->name[l->n], p, len);
        l->name[l->n][len] = '\0';
        for (int j = 0; j < l->n; j++) {
            if (strcasecmp(l->name[j], l->name[l->n]) == 0) {
                snprintf(err, errlen, "counter '%s' is listed twice", l->name[l->n]);
                return -1;
            }
        }
        l->n++;
        if (!end)
            return 0;
        p = end + 1;
    }
}

struct papi_session {
    int eventset;
    int n;
    char name[MAX_EVENTS][sizeof(((struct kb_counter *)0)->name)];
    int multiplexed;
    char notes[200]; /* events skipped and why, for papi_status */
};

static const char *papi_err(int rc)
{
    const char *s = PAPI_strerror(rc);
    return s ? s : "unknown PAPI error";
}

/* Initialises PAPI once per process; a forked child inherits the parent's initialised state,
 * which PAPI_is_initialized reports, so the child does not initialise again. */
static int papi_ready(char *why, size_t whylen)
{
    if (PAPI_is_initialized() != PAPI_NOT_INITED)
        return 0;
    int rc = PAPI_library_init(PAPI_VER_CURRENT);
    if (rc == PAPI_VER_CURRENT)
        return 0;
    if (rc > 0)
        snprintf(why, whylen, "kbench was compiled against PAPI %d.%d but the library is %d.%d",
                 PAPI_VERSION_MAJOR(PAPI_VER_CURRENT), PAPI_VERSION_MINOR(PAPI_VER_CURRENT),
                 PAPI_VERSION_MAJOR(rc), PAPI_VERSION_MINOR(rc));
    else
        snprintf(why, whylen, "%s", papi_err(rc));
    return -1;
}

static void format_version(char *buf, size_t len)
{
    int v = PAPI_get_opt(PAPI_LIB_VERSION, NULL);
    if (v <= 0)
        v = PAPI_VER_CURRENT;
    snprintf(buf, len, "%d.%d.%d.%d", PAPI_VERSION_MAJOR(v), PAPI_VERSION_MINOR(v),
             PAPI_VERSION_REVISION(v), PAPI_VERSION_INCREMENT(v));
}

__attribute__((format(printf, 3, 4))) static void append(char *buf, size_t len, const char *fmt,
                                                          ...)
{
    size_t used = strlen(buf);
    if (used + 1 >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, len - used, fmt, ap);
    va_end(ap);
}

static const PAPI_component_info_t *perf_event_component(void)
{
    int cidx = PAPI_get_component_index("perf_event");
    return cidx >= 0 ? PAPI_get_component_info(cidx) : NULL;
}

/* ---- near matches for misspelt names ---------------------------------------------------- */

/* Case-insensitive Levenshtein distance, giving up (limit + 1) once every path exceeds limit. */
static int edit_distance(const char *a, const char *b, int limit)
{
    enum { MAXLEN = 128 };
    size_t la = strlen(a), lb = strlen(b);
    if (la >= MAXLEN || lb >= MAXLEN)
        return limit + 1;
    if ((la > lb ? la - lb : lb - la) > (size_t)limit)
        return limit + 1;
    int prev[MAXLEN], cur[MAXLEN];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = (int)i;
        int rowmin = cur[0];
        for (size_t j = 1; j <= lb; j++) {
            int cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            int d = prev[j - 1] + cost;
            if (prev[j] + 1 < d)
                d = prev[j] + 1;
            if (cur[j - 1] + 1 < d)
                d = cur[j - 1] + 1;
            cur[j] = d;
            if (d < rowmin)
                rowmin = d;
        }
        if (rowmin > limit)
            return limit + 1;
        memcpy(prev, cur, (lb + 1) * sizeof *prev);
    }
    return prev[lb];
}

struct near_matches {
    const char *want;
    int limit, best, n;
    char name[3][128];
};

/* The part of a name that tells events apart: shared prefixes ("PAPI_", "perf::") would make
 * every short typo look near every event. */
static const char *name_key(const char *name)
{
    const char *tail = strstr(name, "::");
    if (tail)
        return tail + 2;
    return strncasecmp(name, "PAPI_", 5) == 0 ? name + 5 : name;
}

static void consider(struct near_matches *m, const char *cand)
{
    int d = edit_distance(m->want, cand, m->limit);
    int dk = edit_distance(name_key(m->want), name_key(cand), m->limit);
    if (dk < d)
        d = dk;
    if (d > m->limit || d > m->best || strlen(cand) >= sizeof m->name[0])
        return;
    if (d < m->best) {
        m->best = d;
        m->n = 0;
    }
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->name[i], cand) == 0)
            return;
    if (m->n < 3)
        snprintf(m->name[m->n++], sizeof m->name[0], "%s", cand);
}

static void find_near_matches(struct near_matches *m)
{
    char name[PAPI_MAX_STR_LEN * 8];
    int code = PAPI_PRESET_MASK;
    if (PAPI_enum_event(&code, PAPI_ENUM_FIRST) == PAPI_OK) {
        do {
            if (PAPI_event_code_to_name(code, name) == PAPI_OK)
                consider(m, name);
        } while (PAPI_enum_event(&code, PAPI_ENUM_EVENTS) == PAPI_OK);
    }
    if (strncasecmp(m->want, "PAPI_", 5) == 0)
        return;
    /* Native names run to a few thousand on large PMUs; the cap keeps a typo check instant. */
    int budget = 20000;
    for (int cidx = 0; cidx < PAPI_num_components() && budget > 0; cidx++) {
        const PAPI_component_info_t *ci = PAPI_get_component_info(cidx);
        if (!ci || ci->disabled)
            continue;
        code = PAPI_NATIVE_MASK;
        if (PAPI_enum_cmp_event(&code, PAPI_ENUM_FIRST, cidx) != PAPI_OK)
            continue;
        do {
            if (PAPI_event_code_to_name(code, name) == PAPI_OK)
                consider(m, name);
        } while (--budget > 0 && PAPI_enum_cmp_event(&code, PAPI_ENUM_EVENTS, cidx) == PAPI_OK);
    }
}

static void unknown_event_message(const char *name, int rc, char *err, size_t errlen)
{
    struct near_matches m = { .want = name, .best = 1 << 20 };
    int keylen = (int)strlen(name_key(name));
    m.limit = keylen < 6 ? 1 : keylen / 3;
    find_near_matches(&m);
    snprintf(err, errlen, "unknown counter '%s'", name);
    /* PAPI answers a name it does not know with ENOEVNT, ENOSUPP, ECMP or EINVAL depending on
     * the component asked; only other errors say something beyond "unknown" */
    if (rc != PAPI_ENOEVNT && rc != PAPI_ENOSUPP && rc != PAPI_ECMP && rc != PAPI_EINVAL)
        append(err, errlen, " (%s)", papi_err(rc));
    if (m.n == 0) {
        append(err, errlen, " (kbench counters --native lists the names PAPI knows here)");
        return;
    }
    append(err, errlen, " (did you mean %s", m.name[0]);
    for (int i = 1; i < m.n; i++)
        append(err, errlen, "%s%s", i == m.n - 1 ? " or " : ", ", m.name[i]);
    append(err, errlen, "?)");
}

/* Resolves every name to a PAPI code; two names for one event are a repeat too. PAPI learns
 * the CPU's native names from its perf_event component, so while that component is disabled a
 * native name cannot be checked: it is let through with code PAPI_NULL, and a session later
 * reports it unavailable instead of calling it unknown. */
static int resolve_events(const struct event_list *l, int *codes, char *err, size_t errlen)
{
    const PAPI_component_info_t *pe = perf_event_component();
    int natives_unknowable = pe && pe->disabled;
    for (int i = 0; i < l->n; i++) {
        int rc = PAPI_event_name_to_code(l->name[i], &codes[i]);
        if (rc != PAPI_OK && natives_unknowable && strncasecmp(l->name[i], "PAPI_", 5) != 0) {
            codes[i] = PAPI_NULL;
            continue;
        }
        if (rc != PAPI_OK) {
            unknown_event_message(l->name[i], rc, err, errlen);
            return -1;
        }
        for (int j = 0; j < i; j++) {
            if (codes[j] == codes[i]) {
                snprintf(err, errlen,
                         "counters '%s' and '%s' are the same PAPI event, listed twice",
                         l->name[j], l->name[i]);
                return -1;
            }
        }
    }
    return 0;
}

int counters_validate(const char *events_csv, char *err, size_t errlen)
{
    if (!events_csv)
        return 0;
    struct event_list l;
    if (split_events(events_csv, &l, err, errlen) != 0)
        return -1;
    char why[160];
    if (papi_ready(why, sizeof why) != 0) {
        snprintf(err, errlen, "cannot check counter names: PAPI_library_init failed: %s", why);
        return -1;
    }
    int codes[MAX_EVENTS];
    return resolve_events(&l, codes, err, errlen);
}

/* ---- why nothing can be counted ---------------------------------------------------------- */

/* 1 when the kernel exposes a core PMU to perf (x86 "cpu", hybrid "cpu_core", Arm "armv8_*",
 * others "*pmu*"), 0 when it lists none, -1 when sysfs cannot tell. */
static int kernel_lists_cpu_pmu(void)
{
    DIR *d = opendir("/sys/bus/event_source/devices");
    if (!d)
        return -1;
    int found = 0;
    const struct dirent *e;
    while (!found && (e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        found = strcmp(n, "cpu") == 0 || strncmp(n, "cpu_", 4) == 0 || strncmp(n, "armv", 4) == 0 ||
                strstr(n, "pmu") != NULL;
    }
    closedir(d);
    return found;
}

static void read_perf_paranoid(char *buf, size_t len)
{
    FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "r");
    int v;
    if (f && fscanf(f, "%d", &v) == 1)
        snprintf(buf, len, "%d", v);
    else
        snprintf(buf, len, "unreadable");
    if (f)
        fclose(f);
}

/* The reason no event of a set can be counted, in PAPI's words plus what the kernel shows.
 * rc is the first PAPI_add_event error, detail the event it refused; rc 0 means PAPI listed
 * none of the events as available, and detail then says which were asked for. */
static void explain_nothing_countable(char *why, size_t whylen, int defaults, const char *detail,
                                      int rc)
{
    const PAPI_component_info_t *pe = perf_event_component();
    if (pe && pe->disabled) {
        snprintf(why, whylen, "PAPI's perf_event component is disabled: %s", pe->disabled_reason);
        return;
    }
    const char *which = defaults ? "default" : "requested";
    char ver[32];
    format_version(ver, sizeof ver);
    int ncnt = pe ? pe->num_cntrs : PAPI_num_cmp_hwctrs(0);
    if (rc == PAPI_EPERM) {
        char paranoid[16];
        read_perf_paranoid(paranoid, sizeof paranoid);
        snprintf(why, whylen,
                 "not permitted: none of the %s PAPI events can be counted (%s: %s; "
                 "/proc/sys/kernel/perf_event_paranoid is %s; PAPI %s)",
                 which, detail, papi_err(rc), paranoid, ver);
        return;
    }
    /* An explicit list of events this CPU lacks says nothing about the PMU; the defaults,
     * cycles and instructions among them, do. */
    int pmu = kernel_lists_cpu_pmu();
    snprintf(why, whylen, "%snone of the %s PAPI events %s on this CPU (",
             defaults || pmu == 0 ? "no PMU: " : "", which,
             rc == 0 ? "is available" : "can be counted");
    if (rc != 0)
        append(why, whylen, "%s: %s; ", detail, papi_err(rc));
    else if (!defaults)
        append(why, whylen, "%s; ", detail);
    append(why, whylen, "PAPI %s reports %d hardware counters", ver, ncnt);
    if (pmu == 0)
        append(why, whylen, " but the kernel has no CPU PMU in /sys/bus/event_source/devices");
    const PAPI_hw_info_t *hw = PAPI_get_hardware_info();
    if (hw && hw->virtualized)
        append(why, whylen, "; %s virtual machine",
               hw->virtual_vendor_string[0] ? hw->virtual_vendor_string : "a");
    append(why, whylen, ")");
}

/* ---- sessions ---------------------------------------------------------------------------- */

static void destroy_eventset(int *eventset)
{
    if (*eventset == PAPI_NULL)
        return;
    int state = 0;
    if (PAPI_state(*eventset, &state) == PAPI_OK && (state & PAPI_RUNNING)) {
        long long scratch[MAX_EVENTS];
        PAPI_stop(*eventset, scratch);
    }
    PAPI_cleanup_eventset(*eventset);
    PAPI_destroy_eventset(eventset);
    *eventset = PAPI_NULL;
}

enum { BUILD_OK = 0, BUILD_CONFLICT = 1, BUILD_FAILED = -1 };

/* Adds the events one by one, so an event this machine lacks costs only itself. Without
 * multiplexing, an event that does not fit with the others stops the build (BUILD_CONFLICT) so
 * the caller can start over multiplexed. first/first_rc keep the first failure for the reason. */
static int build_eventset(struct papi_session *s, const struct event_list *l, const int *codes,
                          int multiplex, char *first, size_t firstlen, int *first_rc, char *why,
                          size_t whylen)
{
    s->eventset = PAPI_NULL;
    s->n = 0;
    s->multiplexed = multiplex;
    s->notes[0] = '\0';
    int rc = PAPI_create_eventset(&s->eventset);
    if (rc != PAPI_OK) {
        snprintf(why, whylen, "PAPI_create_eventset failed: %s", papi_err(rc));
        return BUILD_FAILED;
    }
    if (multiplex) {
        /* a multiplexed set must know its component before any event is added */
        rc = PAPI_multiplex_init();
        if (rc == PAPI_OK)
            rc = PAPI_assign_eventset_component(s->eventset, PAPI_get_event_component(codes[0]));
        if (rc == PAPI_OK)
            rc = PAPI_set_multiplex(s->eventset);
        if (rc != PAPI_OK) {
            snprintf(why, whylen,
                     "the events do not fit the PMU together and PAPI cannot multiplex them: %s",
                     papi_err(rc));
            destroy_eventset(&s->eventset);
            return BUILD_FAILED;
        }
    }
    for (int i = 0; i < l->n; i++) {
        rc = PAPI_add_event(s->eventset, codes[i]);
        if (rc == PAPI_ECNFLCT && !multiplex) {
            destroy_eventset(&s->eventset);
            return BUILD_CONFLICT;
        }
        if (rc != PAPI_OK) {
            append(s->notes, sizeof s->notes, "%s%s: %s", s->notes[0] ? ", " : "", l->name[i],
                   papi_err(rc));
            if (*first_rc == 0) {
                *first_rc = rc;
                snprintf(first, firstlen, "%s", l->name[i]);
            }
            continue;
        }
        snprintf(s->name[s->n], sizeof s->name[0], "%s", l->name[i]);
        s->n++;
    }
    return BUILD_OK;
}

struct papi_session *papi_session_open(const char *events_csv, char *why, size_t whylen)
{
    char err[256];
    why[0] = '\0';
    if (papi_ready(err, sizeof err) != 0) {
        snprintf(why, whylen, "PAPI_library_init failed: %s", err);
        return NULL;
    }
    struct event_list want;
    int codes[MAX_EVENTS];
    if (events_csv) {
        if (split_events(events_csv, &want, why, whylen) != 0 ||
            resolve_events(&want, codes, why, whylen) != 0)
            return NULL;
    } else {
        want.n = 0;
        for (int i = 0; counters_default_events[i] && want.n < MAX_EVENTS; i++) {
            const char *name = counters_default_events[i];
            int code;
            if (PAPI_event_name_to_code(name, &code) != PAPI_OK ||
                PAPI_query_event(code) != PAPI_OK) {
                if (strcmp(name, "PAPI_SP_OPS") == 0)
                    name = "PAPI_FP_OPS";
                else
                    name = NULL;
            }
            if (name && PAPI_event_name_to_code(name, &code) == PAPI_OK) {
                snprintf(want.name[want.n], sizeof want.name[0], "%s", name);
                codes[want.n++] = code;
            }
        }
    }

    /* Presets report their canonical spelling; natives keep their qualifiers as given. */
    struct event_list avail = { .n = 0 };
    int avail_codes[MAX_EVENTS];
    char skipped[200] = "";
    for (int i = 0; i < want.n; i++) {
        int qrc = codes[i] == PAPI_NULL ? PAPI_ENOEVNT : PAPI_query_event(codes[i]);
        if (qrc != PAPI_OK) {
            /* PAPI's own words say which: no such event on this CPU, or no counters at all */
            append(skipped, sizeof skipped, "%s%s unavailable (%s)", skipped[0] ? ", " : "",
                   want.name[i], PAPI_strerror(qrc));
            continue;
        }
        char canon[PAPI_MAX_STR_LEN * 8];
        const char *name = want.name[i];
        if (IS_PRESET(codes[i]) && PAPI_event_code_to_name(codes[i], canon) == PAPI_OK &&
            strlen(canon) < sizeof avail.name[0])
            name = canon;
        snprintf(avail.name[avail.n], sizeof avail.name[0], "%s", name);
        avail_codes[avail.n++] = codes[i];
    }
    if (avail.n == 0) {
        explain_nothing_countable(why, whylen, events_csv == NULL, skipped, 0);
        return NULL;
    }

    struct papi_session *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(why, whylen, "out of memory for a PAPI session");
        return NULL;
    }
    char first[sizeof avail.name[0]] = "";
    int first_rc = 0;
    int rc = build_eventset(s, &avail, avail_codes, 0, first, sizeof first, &first_rc, why, whylen);
    if (rc == BUILD_CONFLICT) {
        first_rc = 0;
        rc = build_eventset(s, &avail, avail_codes, 1, first, sizeof first, &first_rc, why, whylen);
    }
    if (rc == BUILD_FAILED) {
        free(s);
        return NULL;
    }
    if (s->n == 0) {
        destroy_eventset(&s->eventset);
        free(s);
        explain_nothing_countable(why, whylen, events_csv == NULL, first, first_rc);
        return NULL;
    }
    /* keep what was left out, for papi_status: unavailable first, then refused by PAPI_add_event */
    char notes[sizeof s->notes];
    snprintf(notes, sizeof notes, "%s%s%s", skipped, skipped[0] && s->notes[0] ? ", " : "",
             s->notes);
    snprintf(s->notes, sizeof s->notes, "%s", notes);
    snprintf(why, whylen, "%s", s->notes);
    return s;
}

int papi_session_start(struct papi_session *s)
{
    if (!s)
        return -1;
    return PAPI_start(s->eventset) == PAPI_OK ? 0 : -1;
}

static int counted(const struct papi_session *s, const long long *v, const char *name,
                   double *out)
{
    for (int i = 0; i < s->n; i++) {
        if (strcmp(s->name[i], name) == 0) {
            *out = (double)v[i];
            return 1;
        }
    }
    return 0;
}

/* Derived metrics from the totals, each only when its inputs were counted and the divisor is
 * not zero. */
static void add_derived(const struct papi_session *s, const long long *v,
                        struct kb_counter_report *r)
{
    double cyc = 0, ins = 0, x = 0;
    int have_cyc = counted(s, v, "PAPI_TOT_CYC", &cyc) && cyc > 0;
    int have_ins = counted(s, v, "PAPI_TOT_INS", &ins) && ins > 0;
    if (have_cyc && have_ins)
        counter_report_add(r, "derived", "IPC", ins / cyc, "ratio");
    if (have_ins && counted(s, v, "PAPI_L1_DCM", &x))
        counter_report_add(r, "derived", "L1D_miss_per_ins", x / ins, "ratio");
    if (have_ins && counted(s, v, "PAPI_L2_DCM", &x))
        counter_report_add(r, "derived", "L2D_MPKI", x * 1000.0 / ins, "per 1k ins");
    if (have_ins && counted(s, v, "PAPI_L3_TCM", &x))
        counter_report_add(r, "derived", "L3_MPKI", x * 1000.0 / ins, "per 1k ins");
    if (have_ins && counted(s, v, "PAPI_BR_MSP", &x))
        counter_report_add(r, "derived", "branch_MPKI", x * 1000.0 / ins, "per 1k ins");
    if (have_cyc && (counted(s, v, "PAPI_FP_OPS", &x) || counted(s, v, "PAPI_SP_OPS", &x)))
        counter_report_add(r, "derived", "FLOP_per_cycle", x / cyc, "ratio");
}

int papi_session_stop(struct papi_session *s, double calls, struct kb_counter_report *r)
{
    if (!s) {
        snprintf(r->papi_status, sizeof r->papi_status, "unavailable: no PAPI session");
        return -1;
    }
    long long v[MAX_EVENTS] = { 0 };
    int rc = PAPI_stop(s->eventset, v);
    if (rc != PAPI_OK) {
        snprintf(r->papi_status, sizeof r->papi_status, "unavailable: PAPI_stop failed: %s",
                 papi_err(rc));
        return -1;
    }
    if (!(calls >= 1.0))
        calls = 1.0;
    for (int i = 0; i < s->n; i++)
        counter_report_add(r, "papi", s->name[i], (double)v[i] / calls, "count");
    add_derived(s, v, r);
    r->papi_available = 1;
    r->papi_multiplexed = s->multiplexed;
    snprintf(r->papi_status, sizeof r->papi_status, "%s%s%s",
             s->multiplexed ? "ok (multiplexed)" : "ok", s->notes[0] ? "; skipped " : "", s->notes);
    return 0;
}

void papi_session_close(struct papi_session *s)
{
    if (!s)
        return;
    destroy_eventset(&s->eventset);
    free(s);
}

/* ---- kbench counters --------------------------------------------------------------------- */

/* Whether a single event really counts here: PAPI may list presets whose native events the
 * kernel then refuses (a virtual machine without a virtual PMU does exactly that). */
static int countable_alone(int code, int *why_rc)
{
    int es = PAPI_NULL;
    int rc = PAPI_create_eventset(&es);
    if (rc == PAPI_OK)
        rc = PAPI_add_event(es, code);
    if (rc == PAPI_OK)
        rc = PAPI_start(es);
    destroy_eventset(&es);
    *why_rc = rc;
    return rc == PAPI_OK;
}

static void print_components(FILE *out)
{
    int ncomp = PAPI_num_components();
    fprintf(out, "\ncomponents (%d):\n", ncomp);
    for (int cidx = 0; cidx < ncomp; cidx++) {
        const PAPI_component_info_t *ci = PAPI_get_component_info(cidx);
        if (!ci)
            continue;
        if (ci->disabled)
            fprintf(out, "  %-20s disabled: %s\n", ci->name,
                    ci->disabled_reason[0] ? ci->disabled_reason : papi_err(ci->disabled));
        else
            fprintf(out, "  %-20s %s: %d counters, %d native events\n", ci->name, ci->description,
                    ci->num_cntrs, ci->num_native_events);
    }
}

/* Prints the presets PAPI lists here and whether each really counts; returns how many do. */
static int print_presets(FILE *out)
{
    PAPI_event_info_t info;
    int code = PAPI_PRESET_MASK, listed = 0, countable = 0;
    fprintf(out, "\npreset events PAPI lists for this CPU, and whether each counts here:\n");
    if (PAPI_enum_event(&code, PAPI_ENUM_FIRST) == PAPI_OK) {
        do {
            if (PAPI_query_event(code) != PAPI_OK || PAPI_get_event_info(code, &info) != PAPI_OK)
                continue;
            int rc = 0, ok = countable_alone(code, &rc);
            listed++;
            countable += ok;
            fprintf(out, "  %-13s %-3s %s%s%s%s\n", info.symbol, ok ? "yes" : "no", info.long_descr,
                    ok ? "" : " (", ok ? "" : papi_err(rc), ok ? "" : ")");
        } while (PAPI_enum_event(&code, PAPI_ENUM_EVENTS) == PAPI_OK);
    }
    fprintf(out, "%d listed, %d countable here\n", listed, countable);
    return countable;
}

static void print_native(FILE *out)
{
    char name[PAPI_MAX_STR_LEN * 8];
    for (int cidx = 0; cidx < PAPI_num_components(); cidx++) {
        const PAPI_component_info_t *ci = PAPI_get_component_info(cidx);
        if (!ci || ci->disabled)
            continue;
        fprintf(out, "\nnative events of %s:\n", ci->name);
        int code = PAPI_NATIVE_MASK, n = 0;
        if (PAPI_enum_cmp_event(&code, PAPI_ENUM_FIRST, cidx) == PAPI_OK) {
            do {
                if (PAPI_event_code_to_name(code, name) == PAPI_OK) {
                    fprintf(out, "  %s\n", name);
                    n++;
                }
            } while (PAPI_enum_cmp_event(&code, PAPI_ENUM_EVENTS, cidx) == PAPI_OK);
        }
        if (n == 0)
            fprintf(out, "  (none)\n");
    }
}

int counters_print_available(FILE *out, int include_native)
{
    char why[512], ver[32];
    if (papi_ready(why, sizeof why) != 0) {
        fprintf(out, "PAPI: PAPI_library_init failed: %s\n"
                     "PAPI finds no hardware counters on this machine: PAPI did not initialise. "
                     "kbench will record counters as unavailable.\n", why);
        return 1;
    }
    format_version(ver, sizeof ver);
    fprintf(out, "PAPI %s\n", ver);
    const PAPI_hw_info_t *hw = PAPI_get_hardware_info();
    if (hw) {
        fprintf(out, "CPU: %s %s (family %d, model %d, stepping %d)", hw->vendor_string,
                hw->model_string, hw->cpuid_family, hw->cpuid_model, hw->cpuid_stepping);
        if (hw->virtualized)
            fprintf(out, ", in a %s virtual machine",
                    hw->virtual_vendor_string[0] ? hw->virtual_vendor_string : "");
        fputc('\n', out);
    }
    const PAPI_component_info_t *pe = perf_event_component();
    fprintf(out, "hardware counters: %d\n", pe ? pe->num_cntrs : PAPI_num_cmp_hwctrs(0));
    print_components(out);
    int countable = print_presets(out);
    if (include_native)
        print_native(out);

    struct papi_session *s = papi_session_open(NULL, why, sizeof why);
    fputc('\n', out);
    if (s) {
        fprintf(out, "default counter set:");
        for (int i = 0; i < s->n; i++)
            fprintf(out, "%s %s", i ? "," : "", s->name[i]);
        fprintf(out, "%s%s\n", s->notes[0] ? "; skipped " : "", s->notes);
        papi_session_close(s);
        return 0;
    }
    if (countable > 0) {
        fprintf(out, "kbench's default counters cannot be counted here (%s); name countable ones "
                     "with kbench run --counters.\n", why);
        return 0;
    }
    const char *reason = strncmp(why, "no PMU: ", 8) == 0 ? why + 8 : why;
    fprintf(out, "PAPI finds no hardware counters on this machine: %s. kbench will record "
                 "counters as unavailable.\n", reason);
    return 1;
}

const char *counters_papi_version(char *buf, size_t len)
{
    char why[160];
    if (papi_ready(why, sizeof why) != 0)
        snprintf(buf, len, "init failed: %s", why);
    else
        format_version(buf, len);
    return buf;
}

#endif /* HAVE_PAPI */
