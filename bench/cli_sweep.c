/* cli_sweep.c - how the commands that measure (run, claims, nightly) show a sweep: its events
 * (harness/sweep.h) as progress and warning lines on stderr, and Ctrl-C as a clean stop. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "bench/cli.h"
#include "harness/runner.h"
#include "reports/reports.h"

/* The signal that stopped the sweep: the exit status is 128 + it, as a shell reports a killed
 * process, so a batch system sees which one ended it. */
static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    if (!stop_signal)
        stop_signal = sig;
    runner_request_stop();
}

void cli_catch_stop_signals(void)
{
    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int cli_stop_status(void)
{
    return stop_signal == SIGTERM ? EXIT_SIGTERM : EXIT_SIGINT;
}

void cli_case_summary(const struct case_record *r, char *buf, size_t len)
{
    if (r->status != CASE_OK) {
        snprintf(buf, len, "%s", r->error);
        return;
    }
    /* unmeasured values read "-" as in the results table; no CI from fewer than 3 samples */
    char med[32], ci[32], rate[32];
    report_format_seconds(r->stats.median, med, sizeof med);
    if (r->stats.n < 3)
        snprintf(ci, sizeof ci, "n/a");
    else if (isfinite(r->stats.noise))
        snprintf(ci, sizeof ci, "%.1f%%", r->stats.noise * 100);
    else
        snprintf(ci, sizeof ci, "-");
    double gflops = r->flops / r->stats.median * 1e-9;
    if (isfinite(gflops) && gflops > 0)
        snprintf(rate, sizeof rate, "%.2f", gflops);
    else
        snprintf(rate, sizeof rate, "-");
    snprintf(buf, len, "%s ±%s %s GFLOP/s (n=%zu)", med, ci, rate, r->stats.n);
}

int cli_sweep_event(const struct sweep_event *ev, void *ctx)
{
    struct cli_sweep_printer *p = ctx;
    char summary[300];
    switch (ev->kind) {
    case SWEEP_EV_BEGIN:
        if (ev->stored >= 0)
            fprintf(stderr, "run %lld: %ld case%s stored, %zu to go, into %s\n", (long long)ev->run_id, ev->stored,
                    ev->stored == 1 ? "" : "s", ev->total, p->db_path);
        else
            fprintf(stderr, "run %lld (%s): %zu case%s into %s\n", (long long)ev->run_id, ev->uuid, ev->total,
                    ev->total == 1 ? "" : "s", p->db_path);
        break;
    case SWEEP_EV_WARNING:
        /* clear of the progress bar, which the next case redraws */
        fprintf(stderr, "%s%s\n", p->cases_begun && p->prog.tty && !p->prog.quiet ? "\r\033[K" : "", ev->text);
        break;
    case SWEEP_EV_CASES:
        progress_begin(&p->prog, stderr, ev->total, p->quiet);
        p->cases_begun = 1;
        break;
    case SWEEP_EV_CASE_START:
        progress_case_start(&p->prog, ev->label);
        break;
    case SWEEP_EV_CASE_DONE:
        cli_case_summary(ev->rec, summary, sizeof summary);
        progress_case_done(&p->prog, ev->label, case_status_name(ev->rec->status), summary);
        break;
    case SWEEP_EV_WAIT:
    case SWEEP_EV_ERROR:
        fprintf(stderr, "kbench %s: %s\n", p->cmd, ev->text);
        break;
    case SWEEP_EV_END:
        progress_end(&p->prog);
        p->cases_begun = 0;
        break;
    }
    return 0;
}
