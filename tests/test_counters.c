/* test_counters.c - the counter report, getrusage figures, PAPI event-name checks and sessions.
 *
 * PAPI behaves differently on a machine with a PMU and on one without (this project's virtual
 * machines): where a test depends on that, it finds out with PAPI directly, not through the
 * code under test, and asserts what that branch must do. Linux software events (page faults)
 * count even without a PMU, so the counting path runs for real on both.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness/counters.h"

#ifdef HAVE_PAPI
#include <papi.h>
#endif

static const struct kb_counter *find_counter(const struct kb_counter_report *r, const char *backend,
                                             const char *name)
{
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->v[i].backend, backend) == 0 && strcmp(r->v[i].name, name) == 0)
            return &r->v[i];
    return NULL;
}

/* A fresh anonymous mapping, kept off transparent huge pages so that touching it costs one
 * minor fault per base page. */
static unsigned char *fresh_mapping(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(p != MAP_FAILED);
#ifdef MADV_NOHUGEPAGE
    madvise(p, len, MADV_NOHUGEPAGE);
#endif
    return p;
}

static double thread_cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- counter report ------------------------------------------------------------------------ */

static void test_report_add_is_bounded(void **state)
{
    (void)state;
    struct kb_counter_report r;
    memset(&r, 0, sizeof r);
    for (int i = 0; i < KB_COUNTERS_MAX + 1; i++) {
        char name[32];
        snprintf(name, sizeof name, "c%d", i);
        counter_report_add(&r, "papi", name, (double)i, "count");
    }
    assert_int_equal(r.n, KB_COUNTERS_MAX);
    /* the last one that fitted is intact; the 49th went nowhere */
    char last[16], over[16];
    snprintf(last, sizeof last, "c%d", KB_COUNTERS_MAX - 1);
    snprintf(over, sizeof over, "c%d", KB_COUNTERS_MAX);
    assert_string_equal(r.v[KB_COUNTERS_MAX - 1].name, last);
    assert_true(r.v[KB_COUNTERS_MAX - 1].value == KB_COUNTERS_MAX - 1);
    assert_null(find_counter(&r, "papi", over));
}

static void test_report_add_truncates_long_strings(void **state)
{
    (void)state;
    struct kb_counter_report r;
    memset(&r, 0x7f, sizeof r); /* garbage everywhere except the count */
    r.n = 0;
    char longname[200];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    counter_report_add(&r, "a_backend_name_far_too_long", longname, 1.5, "a unit far too long");
    assert_int_equal(r.n, 1);
    assert_int_equal(strlen(r.v[0].name), sizeof r.v[0].name - 1);
    assert_int_equal(strlen(r.v[0].backend), sizeof r.v[0].backend - 1);
    assert_int_equal(strlen(r.v[0].unit), sizeof r.v[0].unit - 1);
    assert_memory_equal(r.v[0].backend, "a_backend_n", sizeof r.v[0].backend - 1);
    assert_true(r.v[0].value == 1.5);
}

/* ---- getrusage ------------------------------------------------------------------------------ */

static void test_rusage_counts_minor_faults(void **state)
{
    (void)state;
    const size_t len = (size_t)64 << 20;
    const long page = sysconf(_SC_PAGESIZE);
    unsigned char *p = fresh_mapping(len);
    struct rusage_mark m;
    struct kb_counter_report r;
    memset(&r, 0, sizeof r);
    rusage_mark_now(&m);
    memset(p, 0x5a, len);
    rusage_report_since(&m, &r);
    assert_int_equal(p[len - 1], 0x5a);
    munmap(p, len);

    const struct kb_counter *c = find_counter(&r, "rusage", "minor_faults");
    assert_non_null(c);
    assert_string_equal(c->unit, "count");
    double pages = (double)len / (double)page;
    if (c->value < 0.5 * pages)
        fail_msg("touching %.0f fresh pages gave %.0f minor faults", pages, c->value);
    static const char *const names[] = { "major_faults", "voluntary_ctx_switches",
                                         "involuntary_ctx_switches" };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const struct kb_counter *k = find_counter(&r, "rusage", names[i]);
        assert_non_null(k);
        assert_string_equal(k->unit, "count");
        assert_true(k->value >= 0);
    }
}

static void test_rusage_counts_user_time(void **state)
{
    (void)state;
    struct rusage_mark m;
    struct kb_counter_report r;
    memset(&r, 0, sizeof r);
    rusage_mark_now(&m);
    /* 50 ms of this thread's CPU, however busy the machine is, within 10 s of wall time */
    volatile unsigned long sink = 0;
    double t0 = thread_cpu_seconds(), w0 = wall_seconds();
    while (thread_cpu_seconds() - t0 < 0.05 && wall_seconds() - w0 < 10.0)
        for (int i = 0; i < 10000; i++)
            sink += (unsigned long)i * 2654435761u;
    rusage_report_since(&m, &r);

    const struct kb_counter *u = find_counter(&r, "rusage", "user_time");
    const struct kb_counter *s = find_counter(&r, "rusage", "system_time");
    assert_non_null(u);
    assert_non_null(s);
    assert_string_equal(u->unit, "s");
    assert_string_equal(s->unit, "s");
    /* The kernel measures a thread's CPU time exactly but splits it into user and system time
     * from tick samples, so on a loaded (or virtual) machine part of a pure user loop can be
     * booked as system time: the sum is what is certain, and some of it must be user time. */
    if (!(u->value + s->value > 0.04) || !(u->value > 0))
        fail_msg("50 ms of busy loop gave user_time %.4f s, system_time %.4f s", u->value, s->value);
    assert_true(u->value < 10.0);
    assert_true(s->value >= 0.0);
}

#ifdef HAVE_PAPI

/* ---- independent PAPI checks ---------------------------------------------------------------- */

static void papi_init_for_test(void)
{
    if (PAPI_is_initialized() == PAPI_NOT_INITED)
        assert_int_equal(PAPI_library_init(PAPI_VER_CURRENT), PAPI_VER_CURRENT);
}

/* Whether one event really counts here, asked of PAPI directly; rc gets PAPI's error. */
static int papi_counts_alone(const char *name, int *rc_out)
{
    papi_init_for_test();
    int code, es = PAPI_NULL, rc;
    long long v[4];
    rc = PAPI_event_name_to_code(name, &code);
    if (rc == PAPI_OK)
        rc = PAPI_query_event(code);
    if (rc == PAPI_OK)
        rc = PAPI_create_eventset(&es);
    if (rc == PAPI_OK)
        rc = PAPI_add_event(es, code);
    if (rc == PAPI_OK)
        rc = PAPI_start(es);
    if (rc == PAPI_OK)
        rc = PAPI_stop(es, v);
    if (es != PAPI_NULL) {
        PAPI_cleanup_eventset(es);
        PAPI_destroy_eventset(&es);
    }
    if (rc_out)
        *rc_out = rc;
    return rc == PAPI_OK;
}

static const PAPI_component_info_t *perf_event_info(void)
{
    papi_init_for_test();
    int cidx = PAPI_get_component_index("perf_event");
    return cidx >= 0 ? PAPI_get_component_info(cidx) : NULL;
}

/* A loop whose retired instruction count is known: two instructions per iteration. */
#if defined(__x86_64__) || defined(__aarch64__)
#define KNOWN_LOOP 1
static void run_known_instructions(long iters)
{
#if defined(__x86_64__)
    __asm__ __volatile__("1:\n\tdec %0\n\tjnz 1b" : "+r"(iters) : : "cc");
#else
    __asm__ __volatile__("1:\n\tsubs %0, %0, #1\n\tb.ne 1b" : "+r"(iters) : : "cc");
#endif
}
#else
#define KNOWN_LOOP 0
#endif

/* ---- validation ----------------------------------------------------------------------------- */

static void test_validate_rejects_unknown_name(void **state)
{
    (void)state;
    char err[512] = "";
    /* the preset namespace is always known to PAPI, so a bad preset is always caught */
    assert_int_equal(counters_validate("PAPI_TOT_CYC,PAPI_KBENCH_NO_SUCH", err, sizeof err), -1);
    assert_non_null(strstr(err, "'PAPI_KBENCH_NO_SUCH'"));
    assert_non_null(strstr(err, "unknown counter"));
    /* native names can be checked only while PAPI's perf_event component can list them; while it
     * is disabled (no PMU, as on some VMs) they pass and are recorded unavailable at run time */
    const PAPI_component_info_t *pe = perf_event_info();
    err[0] = '\0';
    int rc = counters_validate("KBENCH_NO_SUCH_EVENT", err, sizeof err);
    if (pe && pe->disabled) {
        assert_int_equal(rc, 0);
    } else {
        assert_int_equal(rc, -1);
        assert_non_null(strstr(err, "'KBENCH_NO_SUCH_EVENT'"));
    }
}

static void test_validate_suggests_near_preset(void **state)
{
    (void)state;
    char err[512] = "";
    assert_int_equal(counters_validate("PAPI_TOT_CYCLES", err, sizeof err), -1);
    assert_non_null(strstr(err, "'PAPI_TOT_CYCLES'"));
    if (!strstr(err, "did you mean PAPI_TOT_CYC?") && !strstr(err, "did you mean PAPI_TOT_CYC,") &&
        !strstr(err, "did you mean PAPI_TOT_CYC or"))
        fail_msg("no PAPI_TOT_CYC suggestion in: %s", err);

    assert_int_equal(counters_validate("PAPI_L1_DCMM", err, sizeof err), -1);
    assert_non_null(strstr(err, "PAPI_L1_DCM?"));
}

static void test_validate_suggests_near_native(void **state)
{
    (void)state;
    papi_init_for_test();
    int code;
    if (PAPI_event_name_to_code("perf::PAGE-FAULTS", &code) != PAPI_OK) {
        print_message("perf::PAGE-FAULTS is not a native event here (perf_event component off?)\n");
        skip();
    }
    char err[512] = "";
    assert_int_equal(counters_validate("perf::PAGE-FAULT", err, sizeof err), -1);
    assert_non_null(strstr(err, "'perf::PAGE-FAULT'"));
    assert_non_null(strstr(err, "perf::PAGE-FAULTS"));
}

static void test_validate_rejects_duplicates(void **state)
{
    (void)state;
    char err[512] = "";
    assert_int_equal(counters_validate("PAPI_TOT_CYC,PAPI_TOT_INS,PAPI_TOT_CYC", err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "PAPI_TOT_CYC"));
    assert_non_null(strstr(err, "twice"));
    err[0] = '\0';
    assert_int_equal(counters_validate(" PAPI_TOT_INS ,PAPI_TOT_INS", err, sizeof err), -1);
    assert_non_null(strstr(err, "PAPI_TOT_INS"));
}

static void test_validate_rejects_empty_items(void **state)
{
    (void)state;
    static const char *const bad[] = { "",
                                       ",",
                                       "PAPI_TOT_CYC,",
                                       ",PAPI_TOT_CYC",
                                       "PAPI_TOT_CYC, ,PAPI_TOT_INS",
                                       "PAPI_TOT_CYC,,PAPI_TOT_INS" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char err[512] = "";
        if (counters_validate(bad[i], err, sizeof err) != -1)
            fail_msg("'%s' was accepted", bad[i]);
        assert_true(err[0] != '\0');
        assert_non_null(strstr(err, "empty"));
    }
}

static void test_validate_rejects_overlong_name(void **state)
{
    (void)state;
    char name[100], err[512] = "";
    memset(name, 'X', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    assert_int_equal(counters_validate(name, err, sizeof err), -1);
    assert_non_null(strstr(err, "longer than"));
}

static void test_validate_accepts_known_but_uncountable(void **state)
{
    (void)state;
    char err[512] = "";
    assert_int_equal(counters_validate(NULL, err, sizeof err), 0);
    /* valid whether or not this machine can count it: the run records it as unavailable */
    if (counters_validate("PAPI_TOT_CYC", err, sizeof err) != 0)
        fail_msg("PAPI_TOT_CYC rejected: %s", err);
    if (counters_validate("  PAPI_TOT_CYC , PAPI_TOT_INS,PAPI_L1_DCM  ", err, sizeof err) != 0)
        fail_msg("a spaced list was rejected: %s", err);
    int rc;
    print_message("PAPI_TOT_CYC %s counted here\n",
                  papi_counts_alone("PAPI_TOT_CYC", &rc) ? "can be" : "cannot be");
}

/* ---- sessions ------------------------------------------------------------------------------- */

/* The default set either opens and counts a loop of known length, or cannot open and says
 * why, and then PAPI itself must agree that none of the default events counts. */
static void test_default_session_counts_or_explains(void **state)
{
    (void)state;
    char why[256] = "";
    struct papi_session *s = papi_session_open(NULL, why, sizeof why);
    if (!s) {
        print_message("default PAPI set unavailable here: %s\n", why);
        assert_true(why[0] != '\0');
        /* the first default that PAPI lists, and PAPI's own refusal of it */
        int first_rc = 0;
        const char *first = NULL;
        for (int i = 0; counters_default_events[i]; i++) {
            int rc;
            if (papi_counts_alone(counters_default_events[i], &rc))
                fail_msg("%s counts here, yet the default set did not open: %s",
                         counters_default_events[i], why);
            int code;
            if (!first && PAPI_event_name_to_code(counters_default_events[i], &code) == PAPI_OK &&
                PAPI_query_event(code) == PAPI_OK) {
                first = counters_default_events[i];
                first_rc = rc;
            }
        }
        const PAPI_component_info_t *pe = perf_event_info();
        if (pe && pe->disabled) {
            assert_non_null(strstr(why, pe->disabled_reason));
            return;
        }
        if (first) {
            assert_non_null(strstr(why, first));
            assert_non_null(strstr(why, PAPI_strerror(first_rc)));
            assert_true(strstr(why, "no PMU") || strstr(why, "not permitted"));
        } else {
            assert_non_null(strstr(why, "no PMU"));
            assert_non_null(strstr(why, "available"));
        }
        char ver[32];
        assert_non_null(strstr(why, counters_papi_version(ver, sizeof ver)));
        return;
    }

    /* a real PMU */
    assert_int_equal(papi_session_start(s), 0);
    const int calls = 4;
    const long iters = 5000000;
#if KNOWN_LOOP
    for (int i = 0; i < calls; i++)
        run_known_instructions(iters);
#endif
    struct kb_counter_report r;
    memset(&r, 0, sizeof r);
    assert_int_equal(papi_session_stop(s, calls, &r), 0);
    papi_session_close(s);
    assert_int_equal(r.papi_available, 1);
    assert_int_equal(strncmp(r.papi_status, "ok", 2), 0);
    assert_int_equal(r.papi_multiplexed, strstr(r.papi_status, "multiplexed") != NULL);
    print_message("default set: %s\n", r.papi_status);
    for (int i = 0; i < r.n; i++)
        print_message("  %s %s = %g %s\n", r.v[i].backend, r.v[i].name, r.v[i].value, r.v[i].unit);

    const struct kb_counter *ins = find_counter(&r, "papi", "PAPI_TOT_INS");
    const struct kb_counter *cyc = find_counter(&r, "papi", "PAPI_TOT_CYC");
    const struct kb_counter *ipc = find_counter(&r, "derived", "IPC");
    if (!ins || !cyc) {
        /* a PMU without cycles or instructions: then IPC must not be made up */
        assert_null(ipc);
        print_message("PAPI_TOT_INS or PAPI_TOT_CYC not counted here: %s\n", r.papi_status);
        return;
    }
    assert_string_equal(ins->unit, "count");
#if KNOWN_LOOP
    double expect = 2.0 * (double)iters; /* per call */
    if (ins->value < expect / 2 || ins->value > expect * 2)
        fail_msg("PAPI_TOT_INS per call %.0f, expected about %.0f", ins->value, expect);
#endif
    assert_non_null(ipc);
    assert_true(ipc->value > 0);
    assert_true(fabs(ipc->value - ins->value / cyc->value) <= 1e-9 * ipc->value + 1e-12);
}

/* A Linux software event counts without a PMU, so this runs the whole start/stop path here. */
static void test_software_event_session_counts_page_faults(void **state)
{
    (void)state;
    const char *ev = "perf::PAGE-FAULTS";
    char why[256] = "";
    int rc;
    int countable = papi_counts_alone(ev, &rc);
    struct papi_session *s = papi_session_open(ev, why, sizeof why);
    if (!countable) {
        assert_null(s);
        assert_true(why[0] != '\0');
        print_message("%s cannot be counted here (%s); session refused with: %s\n", ev,
                      PAPI_strerror(rc), why);
        return;
    }
    assert_non_null(s);
    const size_t len = (size_t)16 << 20;
    const long page = sysconf(_SC_PAGESIZE);
    unsigned char *p = fresh_mapping(len);
    assert_int_equal(papi_session_start(s), 0);
    memset(p, 1, len);
    struct kb_counter_report r;
    memset(&r, 0, sizeof r);
    const double calls = 4;
    assert_int_equal(papi_session_stop(s, calls, &r), 0);
    papi_session_close(s);
    assert_int_equal(p[len / 2], 1);
    munmap(p, len);

    const struct kb_counter *c = find_counter(&r, "papi", ev);
    assert_non_null(c);
    assert_string_equal(c->unit, "count");
    double pages_per_call = (double)len / (double)page / calls;
    if (c->value < 0.5 * pages_per_call || c->value > 2.0 * pages_per_call)
        fail_msg("%s per call %.1f, expected about %.1f", ev, c->value, pages_per_call);
    assert_int_equal(r.papi_available, 1);
    assert_int_equal(r.papi_multiplexed, 0);
    assert_string_equal(r.papi_status, "ok");
    /* no cycles or instructions were counted, so no derived metric may appear */
    for (int i = 0; i < r.n; i++)
        assert_string_not_equal(r.v[i].backend, "derived");
}

/* An event this machine cannot count is left out and named in the status; the rest counts. */
static void test_uncountable_event_is_skipped_and_noted(void **state)
{
    (void)state;
    const char *sw = "perf::PAGE-FAULTS";
    if (!papi_counts_alone(sw, NULL)) {
        print_message("%s cannot be counted here, so no mixed set can open\n", sw);
        skip();
    }
    int rc;
    int cyc_counts = papi_counts_alone("PAPI_TOT_CYC", &rc);
    char why[256] = "";
    struct papi_session *s = papi_session_open("PAPI_TOT_CYC,perf::PAGE-FAULTS", why, sizeof why);
    assert_non_null(s);
    struct kb_counter_report r;
    memset(&r, 0, sizeof r);
    assert_int_equal(papi_session_start(s), 0);
    assert_int_equal(papi_session_stop(s, 1, &r), 0);
    papi_session_close(s);
    assert_non_null(find_counter(&r, "papi", sw));
    assert_int_equal(strncmp(r.papi_status, "ok", 2), 0);
    if (cyc_counts) {
        const struct kb_counter *c = find_counter(&r, "papi", "PAPI_TOT_CYC");
        assert_non_null(c);
        assert_true(c->value > 0);
    } else {
        assert_null(find_counter(&r, "papi", "PAPI_TOT_CYC"));
        assert_non_null(strstr(why, "PAPI_TOT_CYC"));
        assert_non_null(strstr(r.papi_status, "PAPI_TOT_CYC"));
        assert_non_null(strstr(r.papi_status, PAPI_strerror(rc)));
    }
}

/* More events than the PMU has counters must come back multiplexed, every event counted. */
static void test_multiplexes_when_events_exceed_counters(void **state)
{
    (void)state;
    const PAPI_component_info_t *pe = perf_event_info();
    char list[1024] = "";
    int n = 0, code = PAPI_PRESET_MASK;
    char names[32][PAPI_MAX_STR_LEN];
    if (PAPI_enum_event(&code, PAPI_ENUM_FIRST) == PAPI_OK) {
        do {
            char name[PAPI_MAX_STR_LEN * 8];
            if (n < 32 && PAPI_event_code_to_name(code, name) == PAPI_OK &&
                strlen(name) < sizeof names[0] && papi_counts_alone(name, NULL)) {
                snprintf(names[n], sizeof names[0], "%s", name);
                size_t used = strlen(list);
                snprintf(list + used, sizeof list - used, "%s%s", n ? "," : "", name);
                n++;
            }
        } while (PAPI_enum_event(&code, PAPI_ENUM_EVENTS) == PAPI_OK);
    }
    int counters = pe ? pe->num_cntrs : 0;
    if (!pe || n <= counters + 2) {
        print_message("only %d preset events count here against %d counters: nothing to "
                      "multiplex\n", n, counters);
        skip();
    }
    char why[256] = "";
    struct papi_session *s = papi_session_open(list, why, sizeof why);
    assert_non_null(s);
    struct kb_counter_report r;
    memset(&r, 0, sizeof r);
    assert_int_equal(papi_session_start(s), 0);
#if KNOWN_LOOP
    run_known_instructions(20000000);
#endif
    assert_int_equal(papi_session_stop(s, 1, &r), 0);
    papi_session_close(s);
    print_message("%d events on %d counters: %s\n", n, counters, r.papi_status);
    assert_int_equal(r.papi_multiplexed, 1);
    assert_int_equal(strncmp(r.papi_status, "ok (multiplexed)", 16), 0);
    for (int i = 0; i < n; i++)
        if (!find_counter(&r, "papi", names[i]))
            fail_msg("%s missing from a multiplexed set: %s", names[i], r.papi_status);
}

/* The harness forks one child per case after the parent has used PAPI (validation, version):
 * the child must still count, or report the same reason as the parent. */
static void test_forked_child_after_parent_validated(void **state)
{
    (void)state;
    char err[512] = "", ver[32];
    assert_int_equal(counters_validate("PAPI_TOT_CYC,perf::PAGE-FAULTS", err, sizeof err), 0);
    counters_papi_version(ver, sizeof ver);
    assert_int_not_equal(PAPI_is_initialized(), PAPI_NOT_INITED);

    const size_t len = (size_t)8 << 20; /* touched by the child under a page-fault counter */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        /* the default set: counted something, or why not */
        char why[256] = "";
        double default_total = -1;
        struct papi_session *s = papi_session_open(NULL, why, sizeof why);
        if (s) {
            struct kb_counter_report r;
            memset(&r, 0, sizeof r);
            if (papi_session_start(s) == 0) {
#if KNOWN_LOOP
                run_known_instructions(1000000);
#endif
                if (papi_session_stop(s, 1, &r) == 0) {
                    default_total = 0;
                    for (int i = 0; i < r.n; i++)
                        if (strcmp(r.v[i].backend, "papi") == 0)
                            default_total += r.v[i].value;
                }
            }
            papi_session_close(s);
        }
        /* a software event, which counts with or without a PMU */
        double faults = -1;
        char why2[256] = "";
        struct papi_session *sw = papi_session_open("perf::PAGE-FAULTS", why2, sizeof why2);
        unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                                -1, 0);
        if (sw && p != MAP_FAILED) {
            madvise(p, len, MADV_NOHUGEPAGE);
            struct kb_counter_report r;
            memset(&r, 0, sizeof r);
            if (papi_session_start(sw) == 0) {
                memset(p, 2, len);
                if (papi_session_stop(sw, 1, &r) == 0 && r.n > 0)
                    faults = r.v[0].value;
            }
        }
        papi_session_close(sw);
        char msg[600];
        snprintf(msg, sizeof msg, "%d\n%.0f\n%.0f\n%s\n", s != NULL, default_total, faults,
                 s ? "" : why);
        ssize_t w = write(fds[1], msg, strlen(msg));
        _exit(w > 0 ? 0 : 3);
    }
    close(fds[1]);
    char buf[600] = "";
    size_t got = 0;
    ssize_t k;
    while ((k = read(fds[0], buf + got, sizeof buf - 1 - got)) > 0)
        got += (size_t)k;
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    int child_opened = 0;
    double child_total = 0, child_faults = 0;
    char child_why[300] = "";
    assert_true(sscanf(buf, "%d\n%lf\n%lf\n%299[^\n]", &child_opened, &child_total,
                       &child_faults, child_why) >= 3);

    char why[256] = "";
    struct papi_session *s = papi_session_open(NULL, why, sizeof why);
    assert_int_equal(child_opened, s != NULL);
    if (s) {
        if (!(child_total > 0))
            fail_msg("the forked child's default set counted nothing (%.0f)", child_total);
    } else {
        assert_string_equal(child_why, why);
    }
    papi_session_close(s);
    if (papi_counts_alone("perf::PAGE-FAULTS", NULL)) {
        double pages = (double)len / (double)sysconf(_SC_PAGESIZE);
        if (child_faults < 0.5 * pages)
            fail_msg("forked child counted %.0f page faults for %.0f fresh pages", child_faults,
                     pages);
    }
    print_message("child: %s\n", child_opened ? "default set opened" : child_why);
}

/* Run in a fresh process of this program (see main): PAPI with its perf_event component
 * switched off before initialisation, as on kernels that refuse perf_event to kbench. */
static int child_with_perf_event_disabled(void)
{
    int failures = 0;
#define CHILD_CHECK(cond, ...)                                                                     \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)
    CHILD_CHECK(PAPI_is_initialized() == PAPI_NOT_INITED, "PAPI initialised before main");
    CHILD_CHECK(PAPI_disable_component_by_name("perf_event") == PAPI_OK,
                "cannot disable perf_event");
    char why[256] = "", err[512] = "";
    struct papi_session *s = papi_session_open(NULL, why, sizeof why);
    const PAPI_component_info_t *pe = perf_event_info();
    CHILD_CHECK(pe && pe->disabled && pe->disabled_reason[0], "perf_event is not disabled");
    CHILD_CHECK(s == NULL, "the default set opened without perf_event");
    CHILD_CHECK(strstr(why, "perf_event") && pe && strstr(why, pe->disabled_reason),
                "reason does not quote the disabled component: '%s'", why);
    /* native names cannot be checked now: let through, then reported unavailable */
    CHILD_CHECK(counters_validate("perf::PAGE-FAULTS", err, sizeof err) == 0,
                "native name rejected while perf_event is off: %s", err);
    CHILD_CHECK(counters_validate("PAPI_TOT_CYCLES", err, sizeof err) == -1,
                "a misspelt preset passed while perf_event is off");
    why[0] = '\0';
    s = papi_session_open("perf::PAGE-FAULTS", why, sizeof why);
    CHILD_CHECK(s == NULL && pe && strstr(why, pe->disabled_reason),
                "native set while perf_event is off: '%s'", why);
    FILE *devnull = fopen("/dev/null", "w");
    CHILD_CHECK(devnull && counters_print_available(devnull, 1) == 1,
                "counters_print_available did not report nothing countable");
    if (devnull)
        fclose(devnull);
#undef CHILD_CHECK
    return failures == 0 ? 0 : 1;
}

static void test_disabled_perf_event_component_is_quoted(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char *const argv[] = { (char *)"test_counters", (char *)"--child-perf-event-disabled",
                               NULL };
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- kbench counters ------------------------------------------------------------------------ */

static void test_version_is_the_library_version(void **state)
{
    (void)state;
    char ver[64];
    const char *v = counters_papi_version(ver, sizeof ver);
    assert_ptr_equal(v, ver);
    int a, b, c, d;
    char tail;
    assert_int_equal(sscanf(ver, "%d.%d.%d.%d%c", &a, &b, &c, &d, &tail), 4);
    assert_int_equal(a, PAPI_VERSION_MAJOR(PAPI_VER_CURRENT));
    assert_int_equal(b, PAPI_VERSION_MINOR(PAPI_VER_CURRENT));
}

static void test_print_available_matches_what_counts(void **state)
{
    (void)state;
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    assert_non_null(f);
    int rc = counters_print_available(f, 0);
    fclose(f);
    char ver[32];
    assert_non_null(strstr(text, counters_papi_version(ver, sizeof ver)));
    const PAPI_component_info_t *pe = perf_event_info();
    if (pe)
        assert_non_null(strstr(text, "perf_event"));
    if (pe && pe->disabled)
        assert_non_null(strstr(text, pe->disabled_reason));
    int any = 0;
    for (int i = 0; counters_default_events[i]; i++)
        any |= papi_counts_alone(counters_default_events[i], NULL);
    if (rc == 1) {
        assert_false(any);
        assert_non_null(strstr(text, "PAPI finds no hardware counters on this machine: "));
        assert_non_null(strstr(text, "kbench will record counters as unavailable."));
    } else {
        assert_int_equal(rc, 0);
        assert_null(strstr(text, "PAPI finds no hardware counters"));
    }
    if (any)
        assert_int_equal(rc, 0);
    /* natives are listed only when asked for */
    assert_null(strstr(text, "perf::PAGE-FAULTS\n"));
    free(text);

    text = NULL;
    f = open_memstream(&text, &size);
    assert_non_null(f);
    assert_int_equal(counters_print_available(f, 1), rc);
    fclose(f);
    int code;
    if (pe && !pe->disabled && PAPI_event_name_to_code("perf::PAGE-FAULTS", &code) == PAPI_OK)
        assert_non_null(strstr(text, "perf::PAGE-FAULTS\n"));
    free(text);
}

#else /* !HAVE_PAPI */

static void test_without_papi_everything_says_so(void **state)
{
    (void)state;
    char err[256] = "";
    assert_int_equal(counters_validate(NULL, err, sizeof err), 0);
    assert_int_equal(counters_validate("PAPI_TOT_CYC", err, sizeof err), -1);
    assert_non_null(strstr(err, "kbench was built without PAPI"));
    assert_non_null(strstr(err, "PAPI_TOT_CYC"));

    char why[256] = "";
    assert_null(papi_session_open(NULL, why, sizeof why));
    assert_string_equal(why, "kbench was built without PAPI");
    why[0] = '\0';
    assert_null(papi_session_open("PAPI_TOT_CYC", why, sizeof why));
    assert_string_equal(why, "kbench was built without PAPI");
    assert_int_equal(papi_session_start(NULL), -1);

    char ver[32];
    assert_string_equal(counters_papi_version(ver, sizeof ver), "not built");

    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    assert_non_null(f);
    assert_int_equal(counters_print_available(f, 1), 1);
    fclose(f);
    assert_non_null(strstr(text, "kbench was built without PAPI"));
    assert_non_null(strstr(text, "kbench will record counters as unavailable."));
    free(text);

    /* the default list is the contract's even when nothing can count it */
    int n = 0;
    while (counters_default_events[n])
        n++;
    assert_true(n >= 6);
    assert_string_equal(counters_default_events[0], "PAPI_TOT_CYC");
}

#endif

int main(int argc, char **argv)
{
#ifdef HAVE_PAPI
    if (argc > 1 && strcmp(argv[1], "--child-perf-event-disabled") == 0)
        return child_with_perf_event_disabled();
#else
    (void)argv;
#endif
    (void)argc;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_add_is_bounded),
        cmocka_unit_test(test_report_add_truncates_long_strings),
        cmocka_unit_test(test_rusage_counts_minor_faults),
        cmocka_unit_test(test_rusage_counts_user_time),
#ifdef HAVE_PAPI
        cmocka_unit_test(test_validate_rejects_unknown_name),
        cmocka_unit_test(test_validate_suggests_near_preset),
        cmocka_unit_test(test_validate_suggests_near_native),
        cmocka_unit_test(test_validate_rejects_duplicates),
        cmocka_unit_test(test_validate_rejects_empty_items),
        cmocka_unit_test(test_validate_rejects_overlong_name),
        cmocka_unit_test(test_validate_accepts_known_but_uncountable),
        cmocka_unit_test(test_default_session_counts_or_explains),
        cmocka_unit_test(test_software_event_session_counts_page_faults),
        cmocka_unit_test(test_uncountable_event_is_skipped_and_noted),
        cmocka_unit_test(test_multiplexes_when_events_exceed_counters),
        cmocka_unit_test(test_forked_child_after_parent_validated),
        cmocka_unit_test(test_disabled_perf_event_component_is_quoted),
        cmocka_unit_test(test_version_is_the_library_version),
        cmocka_unit_test(test_print_available_matches_what_counts),
#else
        cmocka_unit_test(test_without_papi_everything_says_so),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
