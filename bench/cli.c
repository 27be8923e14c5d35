/* cli.c - conventions shared by every subcommand: database path, error messages, numbers. */
#include "bench/cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const char *cli_db_path(const char *flag_value)
{
    if (flag_value && *flag_value)
        return flag_value;
    const char *env = getenv("KBENCH_DB");
    return env && *env ? env : "kbench.db";
}

static void vreport(const char *cmd, const char *fmt, va_list ap)
{
    fprintf(stderr, "kbench %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(cmd, fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try 'kbench %s --help'.\n", cmd);
    return EXIT_USAGE;
}

int cli_input_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(cmd, fmt, ap);
    va_end(ap);
    return EXIT_USAGE;
}

int cli_open_store(const char *cmd, const char *path, enum store_mode mode, struct store **out)
{
    char err[512];
    if (store_open(path, mode, out, err, sizeof err) != 0)
        return cli_input_error(cmd, "%s", err);
    return 0;
}

int cli_parse_double(const char *text, double min, double max, double *out)
{
    if (!text || !*text)
        return -1;
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || *end != '\0' || !isfinite(v) || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int cli_parse_int(const char *text, long min, long max, long *out)
{
    if (!text || !*text)
        return -1;
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}
