/* measure.c - measuring from the dashboard through the harness's sweep, in a child process
 * (measure.h). */
#include "tui/measure.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness/plan.h"
#include "tui/app.h"

enum job_kind { JOB_REMEASURE, JOB_REPEAT, JOB_RESUME };

struct measure_job {
    enum job_kind kind;
    pid_t pid;
    int fd;               /* the read end of the child's event pipe */
    char buf[2048];       /* a partial line */
    size_t len;
    int64_t from_run;     /* the run whose cases are measured again (or resumed) */
    int64_t run_id;       /* the run the measurement stores into, once it exists */
    size_t done, total;
    char current[200];    /* the case being measured */
    char outcome[96];     /* "3 ok, 1 failed" */
    char error[512];      /* why it could not start or failed */
    int finished;         /* the child said its last line */
    int interrupted;
    int stopping;
};

/* ---- the measuring process ----------------------------------------------------------------- */

/* One event as one line on the pipe: kind, then fields separated by tabs. */
static void say(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(int fd, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof line - 2)
        n = (int)sizeof line - 2;
    for (int i = 0; i < n; i++)
        if (line[i] == '\n')
            line[i] = ' ';
    line[n++] = '\n';
    for (ssize_t off = 0; off < n;) {
        ssize_t w = write(fd, line + off, (size_t)(n - off));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* the dashboard is gone: the sweep still finishes and stores */
        off += w;
    }
}

static int child_event(const struct sweep_event *ev, void *ctx)
{
    int fd = *(int *)ctx;
    switch (ev->kind) {
    case SWEEP_EV_BEGIN: say(fd, "B\t%" PRId64 "\t%zu", ev->run_id, ev->total); break;
    case SWEEP_EV_CASE_START: say(fd, "S\t%zu\t%zu\t%s", ev->index, ev->total, ev->label); break;
    case SWEEP_EV_CASE_DONE:
        say(fd, "D\t%zu\t%zu\t%s", ev->index, ev->total, ev->rec ? case_status_name(ev->rec->status) : "?");
        break;
    case SWEEP_EV_ERROR: say(fd, "E\t%s", ev->text ? ev->text : "the sweep failed"); break;
    default: break;
    }
    return 0;
}

static void child_stop(int sig)
{
    (void)sig;
    runner_request_stop();
}

/* The child's whole life: its own process group (the terminal's Ctrl-C is the dashboard's to
 * forward), no terminal output, a fresh connection to the database, the sweep, one last line. */
static void child_main(struct app *a, int fd, const struct plan *plan, const char *tag, const char *cmdline,
                       int64_t resume_run, measure_resume_fn resume)
{
    setpgid(0, 0);
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
        dup2(devnull, STDIN_FILENO);
        dup2(devnull, STDOUT_FILENO);
        dup2(devnull, STDERR_FILENO);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = child_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGPIPE, SIG_IGN);
    char why[1024];
    if (resume) {
        if (resume(a->db_path, resume_run, child_event, &fd, why, sizeof why) != 0)
            say(fd, "X\t%s", why);
        else
            say(fd, "F\t0\t%d", runner_stop_requested());
        _exit(0);
    }
    struct store *st;
    if (store_open(a->db_path, STORE_WRITE, &st, why, sizeof why) != 0) {
        say(fd, "X\t%s", why);
        _exit(0);
    }
    struct sweep_request req;
    sweep_request_init(&req);
    req.plan = plan;
    req.store = st;
    req.tag = tag;
    req.cmdline = cmdline;
    req.no_resume = 1; /* planned from stored cases, not from `kbench run` arguments */
    req.on_event = child_event;
    req.ctx = &fd;
    struct sweep_result res;
    if (sweep_run(&req, &res) != 0)
        say(fd, "X\t%s", res.error);
    else
        say(fd, "F\t%zu\t%d\t%zu\t%zu\t%s", res.n_ok, res.interrupted, res.n_failed, res.n_skipped,
            res.run_status ? res.run_status : "?");
    sweep_result_free(&res);
    store_close(st);
    _exit(0);
}

/* ---- the dashboard's side ------------------------------------------------------------------ */

static struct measure_job *job_of(const struct app *a)
{
    return a->job;
}

int measure_active(const struct app *a)
{
    return job_of(a) && !job_of(a)->finished;
}

static int start(struct app *a, enum job_kind kind, int64_t from_run, const struct plan *plan, const char *tag,
                 const char *cmdline)
{
    if (measure_active(a)) {
        app_message(a, 1, "a measurement is running: wait for it, or stop it with ^C");
        return -1;
    }
    if (kind == JOB_RESUME && !a->resume) {
        app_message(a, 1, "this dashboard cannot resume runs");
        return -1;
    }
    free(a->job);
    a->job = NULL;
    struct measure_job *j = calloc(1, sizeof *j);
    int fds[2];
    if (!j || pipe(fds) != 0) {
        free(j);
        app_message(a, 1, "cannot start the measurement: %s", strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        free(j);
        app_message(a, 1, "cannot start the measurement: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        child_main(a, fds[1], plan, tag, cmdline, from_run, kind == JOB_RESUME ? a->resume : NULL);
    }
    setpgid(pid, pid); /* also here: whichever runs first, Ctrl-C never reaches the child directly */
    close(fds[1]);
    fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    j->kind = kind;
    j->pid = pid;
    j->fd = fds[0];
    j->from_run = from_run;
    j->total = plan ? plan->n : 0;
    a->job = j;
    app_job_started(a, pid);
    return 0;
}

/* A plan of the stored cases, each as it was: one planner spec per case, every axis of its
 * kernel at the stored value, so the planner derives the same seed (the same inputs). */
static int plan_rows(const struct result_row *rows, int n, struct plan *plan, char *err, size_t errlen)
{
    struct plan_spec *specs = calloc((size_t)n + 1, sizeof *specs);
    if (!specs) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int ns = 0;
    for (int i = 0; i < n; i++) {
        const struct result_row *r = &rows[i];
        const struct kb_kernel *k = kb_registry_find(r->kernel, r->impl);
        if (!k) {
            snprintf(err, errlen, "%s@%s is not in this kbench: it cannot be measured again here", r->kernel, r->impl);
            free(specs);
            return -1;
        }
        struct plan_spec *s = &specs[ns++];
        plan_spec_default(s);
        char v[128];
        int bad = 0;
        snprintf(v, sizeof v, "%s@%s", r->kernel, r->impl);
        bad |= plan_spec_set(s, "kernels", v, err, errlen) != 0;
        bad |= plan_spec_set(s, "devices", r->device, err, errlen) != 0;
        bad |= plan_spec_set(s, "dtype", r->dtype, err, errlen) != 0;
        if (r->threads > 0) {
            snprintf(v, sizeof v, "%d", r->threads);
            bad |= plan_spec_set(s, "threads", v, err, errlen) != 0;
        }
        bad |= plan_spec_set(s, "cache", r->cold_cache ? "cold" : "hot", err, errlen) != 0;
        uint64_t axes = kb_kernel_axes(k);
        for (int x = 0; x < KB_AXIS_COUNT && !bad; x++) {
            if (!(axes & KB_AXIS_BIT(x)))
                continue;
            const struct kb_axis_info *info = kb_axis_info((enum kb_axis)x);
            int value = kb_shape_get(&r->shape, (enum kb_axis)x);
            if (info->kind == KB_AXIS_KIND_ENUM) {
                const char *name = kb_axis_value_name((enum kb_axis)x, value);
                if (!name)
                    continue; /* unset: the planner's fallback, as when it was planned */
                snprintf(v, sizeof v, "%s", name);
            } else if (info->kind == KB_AXIS_KIND_INT && value <= 0) {
                continue; /* kv_heads 0: equal to heads */
            } else {
                snprintf(v, sizeof v, "%d", value);
            }
            bad |= plan_spec_set(s, info->key, v, err, errlen) != 0;
        }
        if (bad) {
            free(specs);
            return -1;
        }
    }
    int rc = plan_build(specs, ns, plan, err, errlen);
    free(specs);
    if (rc == 0 && plan->n == 0) {
        snprintf(err, errlen, "nothing to measure");
        rc = -1;
    }
    return rc;
}

static int start_rows(struct app *a, enum job_kind kind, int64_t from_run, const struct result_row *rows, int n,
                      const char *tag)
{
    struct plan plan = { 0 };
    char err[512];
    if (plan_rows(rows, n, &plan, err, sizeof err) != 0) {
        plan_free(&plan);
        app_message(a, 1, "cannot measure again: %s", err);
        return -1;
    }
    char cmdline[256];
    snprintf(cmdline, sizeof cmdline, "kbench tui: %s %zu case%s of run %" PRId64,
             kind == JOB_REPEAT ? "repeat of" : "re-measure of", plan.n, plan.n == 1 ? "" : "s", from_run);
    int rc = start(a, kind, from_run, &plan, tag, cmdline);
    plan_free(&plan);
    if (rc == 0)
        app_message(a, 0, "measuring %zu case%s again (run %" PRId64 "); ^C stops", a->job->total,
                    a->job->total == 1 ? "" : "s", from_run);
    return rc;
}

int measure_cases(struct app *a, int64_t from_run, const struct result_row *cases, int n)
{
    return start_rows(a, JOB_REMEASURE, from_run, cases, n, "remeasure");
}

static int collect_row(const struct result_row *r, void *ctx)
{
    struct { struct result_row *v; int n, cap; } *c = ctx;
    if (c->n == c->cap) {
        int cap = c->cap ? c->cap * 2 : 64;
        struct result_row *grown = realloc(c->v, sizeof *grown * (size_t)cap);
        if (!grown)
            return 1;
        c->v = grown;
        c->cap = cap;
    }
    c->v[c->n++] = *r;
    return 0;
}

int measure_repeat(struct app *a, int64_t run_id)
{
    struct { struct result_row *v; int n, cap; } c = { NULL, 0, 0 };
    if (store_list_results(a->store, run_id, collect_row, &c) != 0) {
        free(c.v);
        app_message(a, 1, "%s", store_errmsg(a->store));
        return -1;
    }
    if (c.n == 0) {
        free(c.v);
        app_message(a, 1, "run %" PRId64 " has no stored case to repeat", run_id);
        return -1;
    }
    int rc = start_rows(a, JOB_REPEAT, run_id, c.v, c.n, "repeat");
    free(c.v);
    return rc;
}

int measure_resume(struct app *a, int64_t run_id)
{
    struct run_row run;
    if (store_get_run(a->store, run_id, &run) != 0) {
        app_message(a, 1, "%s", store_errmsg(a->store));
        return -1;
    }
    if (strcmp(run.status, "complete") == 0) {
        app_message(a, 0, "run %" PRId64 " is complete: nothing to resume ('R' repeats it)", run_id);
        return -1;
    }
    if (start(a, JOB_RESUME, run_id, NULL, NULL, NULL) != 0)
        return -1;
    a->job->run_id = run_id;
    app_message(a, 0, "resuming run %" PRId64 "; ^C stops", run_id);
    return 0;
}

/* One line from the child. */
static void heard(struct app *a, struct measure_job *j, char *line)
{
    char *f[6] = { 0 };
    int nf = 0;
    for (char *p = line; nf < 6;) {
        f[nf++] = p;
        char *tab = strchr(p, '\t');
        if (!tab || nf == 6)
            break;
        *tab = '\0';
        p = tab + 1;
    }
    switch (line[0]) {
    case 'B':
        if (nf >= 3) {
            j->run_id = strtoll(f[1], NULL, 10);
            j->total = strtoull(f[2], NULL, 10);
        }
        break;
    case 'S':
        if (nf >= 4) {
            j->done = strtoull(f[1], NULL, 10);
            j->total = strtoull(f[2], NULL, 10);
            snprintf(j->current, sizeof j->current, "%s", f[3]);
        }
        break;
    case 'D':
        if (nf >= 2)
            j->done = strtoull(f[1], NULL, 10) + 1;
        break;
    case 'E':
    case 'X':
        if (nf >= 2)
            snprintf(j->error, sizeof j->error, "%s", f[1]);
        break;
    case 'F':
        j->finished = 1;
        if (nf >= 6) {
            j->interrupted = atoi(f[2]);
            snprintf(j->outcome, sizeof j->outcome, "%s ok, %s failed, %s skipped; run %s", f[1], f[3], f[4], f[5]);
        } else if (nf >= 3) {
            j->interrupted = atoi(f[2]);
        }
        break;
    }
    (void)a;
}

/* The measurement has ended: reap it and say how it went; the new run's comparison with the
 * old one opens (the runs and results screens already show it, by the live refresh). */
static void ended(struct app *a, struct measure_job *j)
{
    int status = 0;
    while (waitpid(j->pid, &status, 0) < 0 && errno == EINTR)
        ;
    close(j->fd);
    j->fd = -1;
    app_job_started(a, 0);
    if (!j->finished && !*j->error)
        snprintf(j->error, sizeof j->error, "the measuring process ended without a result (status %d)", status);
    j->finished = 1;
    if (*j->error) {
        app_message(a, 1, "measurement failed: %s", j->error);
        return;
    }
    if (j->interrupted)
        app_message(a, 1, "measurement stopped: run %" PRId64 " keeps %zu finished case%s and is marked interrupted",
                    j->run_id, j->done, j->done == 1 ? "" : "s");
    else if (j->kind == JOB_RESUME)
        app_message(a, 0, "run %" PRId64 " resumed: %zu case%s measured; it is complete", j->run_id, j->done,
                    j->done == 1 ? "" : "s");
    if (j->kind != JOB_RESUME && j->run_id > 0 && j->done > 0) {
        int64_t old = j->from_run, now = j->run_id;
        char said[300];
        snprintf(said, sizeof said, "%s", a->message);
        if (screen_compare_open_measured(a, old, now) == 0 && !j->interrupted)
            app_message(a, 0, "measured again into run %" PRId64 " (tag %s): %s; beside run %" PRId64 " here", now,
                        j->kind == JOB_REPEAT ? "repeat" : "remeasure", j->outcome, old);
        else if (j->interrupted)
            app_message(a, 1, "%s", said);
    }
}

void measure_poll(struct app *a)
{
    struct measure_job *j = job_of(a);
    if (!j || j->fd < 0)
        return;
    if (app_job_interrupt_pending(a))
        measure_stop(a);
    for (;;) {
        ssize_t got = read(j->fd, j->buf + j->len, sizeof j->buf - 1 - j->len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return; /* nothing more for now */
        if (got == 0) {
            ended(a, j);
            return;
        }
        j->len += (size_t)got;
        j->buf[j->len] = '\0';
        char *nl;
        while ((nl = strchr(j->buf, '\n'))) {
            *nl = '\0';
            heard(a, j, j->buf);
            size_t rest = j->len - (size_t)(nl + 1 - j->buf);
            memmove(j->buf, nl + 1, rest);
            j->len = rest;
            j->buf[j->len] = '\0';
        }
        if (j->len == sizeof j->buf - 1)
            j->len = 0; /* an over-long line: dropped */
    }
}

void measure_stop(struct app *a)
{
    struct measure_job *j = job_of(a);
    if (!j || j->fd < 0)
        return;
    if (!j->stopping)
        kill(j->pid, SIGINT);
    j->stopping = 1;
}

void measure_status(const struct app *a, char *buf, size_t len)
{
    const struct measure_job *j = job_of(a);
    buf[0] = '\0';
    if (!j || j->fd < 0)
        return;
    if (j->stopping)
        snprintf(buf, len, "stopping the measurement (run %" PRId64 ")...", j->run_id);
    else if (*j->current)
        snprintf(buf, len, "measuring %zu/%zu into run %" PRId64 ": %s   ^C stops", j->done + 1 > j->total ? j->total : j->done + 1,
                 j->total, j->run_id, j->current);
    else
        snprintf(buf, len, "measuring: starting...   ^C stops");
}

void measure_end(struct app *a)
{
    struct measure_job *j = job_of(a);
    if (j && j->fd >= 0) {
        measure_stop(a);
        int status;
        while (waitpid(j->pid, &status, 0) < 0 && errno == EINTR)
            ;
        close(j->fd);
        app_job_started(a, 0);
    }
    free(j);
    a->job = NULL;
}
