/* gnuplot.c - running gnuplot as a child process (gnuplot.h). */
#include "reports/gnuplot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *gnuplot_program(void)
{
    const char *env = getenv("KBENCH_GNUPLOT");
    return env && *env ? env : "gnuplot";
}

/* Runs gnuplot with args in dir (NULL: here), its stdout discarded and stderr captured into why.
 * Returns the exit status, 127 when it could not be started, or -1 on a system failure. */
static int run_gnuplot(const char *dir, char *const args[], char *why, size_t whylen)
{
    int pipefd[2];
    if (pipe(pipefd) != 0) {
        snprintf(why, whylen, "cannot create a pipe: %s", strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, whylen, "cannot start gnuplot: %s", strerror(errno));
        close(pipefd[0]);
        close(pipefd[1]);
        return -1;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
        }
        dup2(pipefd[1], 2);
        close(pipefd[0]);
        if (dir && chdir(dir) != 0) {
            fprintf(stderr, "cannot enter %s: %s\n", dir, strerror(errno));
            _exit(126);
        }
        execvp(args[0], args);
        fprintf(stderr, "%s: %s\n", args[0], strerror(errno));
        _exit(127);
    }
    close(pipefd[1]);
    size_t used = 0;
    char buf[512];
    ssize_t got;
    if (whylen)
        why[0] = '\0';
    while ((got = read(pipefd[0], buf, sizeof buf)) > 0 || (got < 0 && errno == EINTR)) {
        for (ssize_t i = 0; i < got && used + 1 < whylen; i++)
            why[used++] = buf[i] == '\n' ? ' ' : buf[i];
        if (whylen)
            why[used] = '\0';
    }
    close(pipefd[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    snprintf(why, whylen, "gnuplot killed by signal %d", WTERMSIG(status));
    return -1;
}

int gnuplot_check_terminal(const char *terminal, char *why, size_t whylen)
{
    char cmd[128], err[512];
    snprintf(cmd, sizeof cmd, "set terminal %s", terminal);
    char *args[] = { (char *)gnuplot_program(), (char *)"-e", cmd, NULL };
    int rc = run_gnuplot(NULL, args, err, sizeof err);
    if (rc == 127) {
        snprintf(why, whylen, "gnuplot is not installed (%s; Debian: apt-get install gnuplot-nox)", gnuplot_program());
        return -1;
    }
    if (rc != 0) {
        snprintf(why, whylen, "%s has no '%s' terminal (Debian's gnuplot-nox has pngcairo, svg and pdfcairo)",
                 gnuplot_program(), terminal);
        return -1;
    }
    return 0;
}

int gnuplot_render(const char *dir, const char *script, char *why, size_t whylen)
{
    return gnuplot_render_fmt(dir, NULL, script, why, whylen);
}

int gnuplot_render_fmt(const char *dir, const char *fmt, const char *script, char *why, size_t whylen)
{
    char err[1024], preset[64];
    snprintf(preset, sizeof preset, "fmt=\"%s\"", fmt ? fmt : "");
    char *with[] = { (char *)gnuplot_program(), (char *)"-e", preset, (char *)script, NULL };
    char *plain[] = { (char *)gnuplot_program(), (char *)script, NULL };
    char **args = fmt ? with : plain;
    int rc = run_gnuplot(dir, args, err, sizeof err);
    if (rc != 0) {
        snprintf(why, whylen, "gnuplot %s failed (exit %d): %s", script, rc, *err ? err : "no message");
        return -1;
    }
    return 0;
}

void gnuplot_quote(char *out, size_t len, const char *s)
{
    size_t j = 0;
    if (len < 3) {
        if (len)
            out[0] = '\0';
        return;
    }
    out[j++] = '"';
    for (; *s && j + 3 < len; s++) {
        if (*s == '"' || *s == '\\')
            out[j++] = '\\';
        out[j++] = (unsigned char)*s < 0x20 ? ' ' : *s;
    }
    out[j++] = '"';
    out[j] = '\0';
}

int gnuplot_svg_title(const char *path, const char *title, char *why, size_t whylen)
{
    static const char generic[] = "<title>Gnuplot</title>";
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, whylen, "cannot read '%s': %s", path, strerror(errno));
        return -1;
    }
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 65536;
            char *grown = realloc(text, cap);
            if (!grown) {
                free(text);
                fclose(f);
                snprintf(why, whylen, "out of memory");
                return -1;
            }
            text = grown;
        }
        size_t got = fread(text + len, 1, 4096, f);
        len += got;
        if (got < 4096)
            break;
    }
    fclose(f);
    text[len] = '\0';
    char *at = strstr(text, generic);
    if (!at) { /* another gnuplot's SVG: leave it as it is */
        free(text);
        return 0;
    }
    f = fopen(path, "wb");
    if (!f) {
        free(text);
        snprintf(why, whylen, "cannot write '%s': %s", path, strerror(errno));
        return -1;
    }
    fwrite(text, 1, (size_t)(at - text), f);
    fputs("<title>", f);
    for (const char *c = title; *c; c++) /* XML text: the three characters that must be escaped */
        if (*c == '<')
            fputs("&lt;", f);
        else if (*c == '>')
            fputs("&gt;", f);
        else if (*c == '&')
            fputs("&amp;", f);
        else
            fputc(*c, f);
    fputs("</title>", f);
    fputs(at + sizeof generic - 1, f);
    free(text);
    if (ferror(f) | (fclose(f) != 0)) {
        snprintf(why, whylen, "cannot write '%s'", path);
        return -1;
    }
    return 0;
}
