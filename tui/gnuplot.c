/* gnuplot.c - gnuplot through a pipe for the dashboard, and drawing its text output (see gnuplot.h). */
#include "tui/gnuplot.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "reports/gnuplot.h"
#include "tui/app.h"

/* A growing buffer for one of the child's output streams. */
struct sink {
    char *data;
    size_t len, cap;
};

static int sink_read(struct sink *s, int fd)
{
    if (s->cap - s->len < 4097) {
        size_t cap = s->cap ? s->cap * 2 : 16384;
        char *d = realloc(s->data, cap);
        if (!d)
            return -1;
        s->data = d;
        s->cap = cap;
    }
    ssize_t r = read(fd, s->data + s->len, s->cap - s->len - 1);
    if (r > 0) {
        s->len += (size_t)r;
        s->data[s->len] = '\0';
    }
    return r > 0 ? 1 : (r < 0 && errno == EINTR) ? 1 : 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int gnuplot_run(const char *script, char **out, char *err, size_t errlen)
{
    int in[2], so[2], se[2];
    if (out)
        *out = NULL;
    if (pipe2(in, O_CLOEXEC) != 0)
        goto pipe_fail;
    if (pipe2(so, O_CLOEXEC) != 0) {
        close(in[0]), close(in[1]);
        goto pipe_fail;
    }
    if (pipe2(se, O_CLOEXEC) != 0) {
        close(in[0]), close(in[1]), close(so[0]), close(so[1]);
        goto pipe_fail;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "cannot start gnuplot: %s", strerror(errno));
        close(in[0]), close(in[1]), close(so[0]), close(so[1]), close(se[0]), close(se[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(so[1], 1);
        dup2(se[1], 2);
        execlp(gnuplot_program(), "gnuplot", (char *)NULL);
        dprintf(2, "cannot run %s: %s\n", gnuplot_program(), strerror(errno));
        _exit(127);
    }
    close(in[0]);
    close(so[1]);
    close(se[1]);
    fcntl(in[1], F_SETFL, O_NONBLOCK);

    /* feed the script and drain both outputs at once, so no pipe fills up and blocks */
    struct sink o = { 0 }, e = { 0 };
    size_t sent = 0, total = strlen(script);
    int open_out = 1, open_err = 1, timed_out = 0;
    double deadline = now_s() + 10;
    if (total == 0) {
        close(in[1]);
        in[1] = -1;
    }
    while (open_out || open_err) {
        struct pollfd p[3] = { { so[0], POLLIN, 0 }, { se[0], POLLIN, 0 }, { in[1], POLLOUT, 0 } };
        if (!open_out)
            p[0].fd = -1;
        if (!open_err)
            p[1].fd = -1;
        int left = (int)((deadline - now_s()) * 1000);
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        if (poll(p, 3, left) < 0 && errno != EINTR)
            break;
        if (p[0].revents && sink_read(&o, so[0]) <= 0)
            open_out = 0;
        if (p[1].revents && sink_read(&e, se[0]) <= 0)
            open_err = 0;
        if (in[1] >= 0 && p[2].revents) {
            ssize_t w = (p[2].revents & POLLOUT) ? write(in[1], script + sent, total - sent) : -1;
            if (w > 0)
                sent += (size_t)w;
            if (w < 0 && errno != EAGAIN && errno != EINTR)
                sent = total; /* gnuplot is gone; its stderr says why */
            if (sent >= total) {
                close(in[1]);
                in[1] = -1;
            }
        }
    }
    if (in[1] >= 0)
        close(in[1]);
    close(so[0]);
    close(se[0]);
    if (timed_out)
        kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    int rc = 0;
    if (timed_out) {
        snprintf(err, errlen, "gnuplot did not finish in 10 s");
        rc = -1;
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) { /* batch gnuplot exits 1 on an error */
        char *msg = e.data ? e.data : "";
        while (*msg == '\n' || *msg == ' ')
            msg++;
        for (char *c = msg; *c; c++) /* one line for the status bar */
            if (*c == '\n' || *c == '\t')
                *c = ' ';
        if (WIFSIGNALED(status))
            snprintf(err, errlen, "gnuplot was killed by signal %d %s", WTERMSIG(status), msg);
        else
            snprintf(err, errlen, "gnuplot failed: %s", *msg ? msg : "(no message)");
        rc = -1;
    }
    free(e.data);
    if (rc == 0 && out)
        *out = o.data ? o.data : calloc(1, 1);
    else
        free(o.data);
    return rc;
pipe_fail:
    snprintf(err, errlen, "cannot start gnuplot: %s", strerror(errno));
    return -1;
}

/* Applies one SGR sequence's parameters ("0;39", "1;31") to the current attribute. */
static attr_t apply_sgr(const struct app *a, const char *params, size_t len, attr_t cur)
{
    const char *p = params, *end = params + len;
    if (len == 0)
        return A_NORMAL;
    while (p < end) {
        int v = 0;
        while (p < end && *p >= '0' && *p <= '9')
            v = v * 10 + (*p++ - '0');
        if (p < end)
            p++; /* ';' */
        if (v == 0)
            cur = A_NORMAL;
        else if (v == 1)
            cur |= A_BOLD;
        else if (v == 22)
            cur &= ~(attr_t)A_BOLD;
        else if (v >= 30 && v <= 37 && a->colour)
            cur = (cur & ~(attr_t)A_COLOR) | COLOR_PAIR(UI_ANSI0 + (v - 30));
        else if (v == 39)
            cur &= ~(attr_t)A_COLOR;
    }
    return cur;
}

void gnuplot_draw_text(const struct app *a, WINDOW *w, int y, int x, int h, int width, const char *text)
{
    attr_t attr = A_NORMAL;
    int row = 0, col = 0;
    for (const char *c = text; *c && row < h; c++) {
        if (*c == '\033' && c[1] == '[') {
            const char *start = c + 2, *end = start;
            while (*end && ((*end >= '0' && *end <= '9') || *end == ';'))
                end++;
            if (*end == 'm')
                attr = apply_sgr(a, start, (size_t)(end - start), attr);
            c = *end ? end : end - 1;
            continue;
        }
        if (*c == '\f' || *c == '\r')
            continue;
        if (*c == '\n') {
            row++;
            col = 0;
            continue;
        }
        if (col < width) {
            wattrset(w, attr);
            mvwaddch(w, y + row, x + col, (chtype)(unsigned char)*c);
        }
        col++;
    }
    wattrset(w, A_NORMAL);
}
