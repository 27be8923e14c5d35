/* progress.c - progress on stderr. On a terminal one line is redrawn in place (a bar, counts,
 * the case running, ETA); when piped, one plain line per finished case, so logs stay readable. */
#include "harness/progress.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void format_eta(double s, char *buf, size_t len)
{
    if (s < 0 || s > 1e7)
        snprintf(buf, len, "--:--");
    else if (s >= 3600)
        snprintf(buf, len, "%d:%02d:%02d", (int)s / 3600, ((int)s / 60) % 60, (int)s % 60);
    else
        snprintf(buf, len, "%02d:%02d", (int)s / 60, (int)s % 60);
}

void progress_begin(struct progress *p, FILE *out, size_t total, int quiet)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->tty = isatty(fileno(out));
    p->total = total;
    p->quiet = quiet;
    p->t0 = now();
}

static void draw_bar(struct progress *p, const char *label)
{
    const int width = 24;
    double frac = p->total ? (double)p->done / (double)p->total : 1.0;
    int fill = (int)(frac * width + 0.5);
    char bar[32], eta[16];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    double elapsed = now() - p->t0;
    format_eta(p->done ? elapsed / (double)p->done * (double)(p->total - p->done) : -1, eta, sizeof eta);
    /* \r and clear-to-end-of-line: redraw without scrolling */
    fprintf(p->out, "\r\033[K[%s] %zu/%zu  %zu failed  ETA %s  %.50s", bar, p->done, p->total,
            p->failed, eta, label ? label : "");
    fflush(p->out);
}

void progress_case_start(struct progress *p, const char *label)
{
    if (p->quiet || !p->tty)
        return;
    draw_bar(p, label);
}

void progress_case_done(struct progress *p, const char *label, const char *status, const char *summary)
{
    p->done++;
    if (strcmp(status, "skipped") == 0)
        p->skipped++;
    else if (strcmp(status, "ok") != 0)
        p->failed++;
    if (p->quiet)
        return;
    if (p->tty) {
        /* failures stay on screen above the bar */
        if (strcmp(status, "ok") != 0)
            fprintf(p->out, "\r\033[K%s: %s %s\n", label, status, summary ? summary : "");
        draw_bar(p, NULL);
    } else {
        char eta[16];
        double elapsed = now() - p->t0;
        format_eta(elapsed / (double)p->done * (double)(p->total - p->done), eta, sizeof eta);
        fprintf(p->out, "[%zu/%zu] %s: %s%s%s (ETA %s)\n", p->done, p->total, label, status,
                summary && *summary ? " " : "", summary ? summary : "", eta);
        fflush(p->out);
    }
}

void progress_end(struct progress *p)
{
    if (p->quiet)
        return;
    double elapsed = now() - p->t0;
    if (p->tty)
        fprintf(p->out, "\r\033[K");
    fprintf(p->out, "%zu case%s in %.1f s, %zu not ok", p->done, p->done == 1 ? "" : "s", elapsed, p->failed);
    if (p->skipped)
        fprintf(p->out, ", %zu skipped", p->skipped);
    fputc('\n', p->out);
}
