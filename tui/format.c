/* format.c - number formats of the dashboard (see format.h). */
#include "tui/format.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "reports/reports.h"

void fmt_seconds(double s, char *buf, size_t len)
{
    if (!isfinite(s))
        snprintf(buf, len, "-");
    else
        report_format_seconds(s, buf, len);
}

void fmt_si(double v, const char *unit, char *buf, size_t len)
{
    static const char prefixes[] = " kMGTPE";
    if (!isfinite(v)) {
        snprintf(buf, len, "-");
        return;
    }
    int p = 0;
    double a = fabs(v);
    while (a >= 999.5 && p < 6) {
        a /= 1000;
        v /= 1000;
        p++;
    }
    int decimals = a >= 99.95 ? 0 : a >= 9.995 ? 1 : 2;
    if (p == 0)
        snprintf(buf, len, "%.*f %s", decimals, v, unit);
    else
        snprintf(buf, len, "%.*f %c%s", decimals, v, prefixes[p], unit);
}

void fmt_throughput(const struct result_row *r, char *buf, size_t len, double *value)
{
    *value = NAN;
    if (r->flops > 0 && isfinite(r->flops_per_s)) {
        *value = r->flops_per_s;
        fmt_si(r->flops_per_s, "FLOP/s", buf, len);
    } else if (r->bytes > 0 && isfinite(r->bytes_per_s)) {
        *value = r->bytes_per_s;
        fmt_si(r->bytes_per_s, "B/s", buf, len);
    } else {
        snprintf(buf, len, "-");
    }
}

void fmt_shape(const struct kb_shape *s, char *buf, size_t len)
{
    struct kb_shape without_seq = *s;
    without_seq.seq_len = 0;
    kb_shape_string(&without_seq, 0, buf, len);
}

void fmt_cut_words(const char *text, int width, char *buf, size_t len)
{
    size_t n = strlen(text);
    if (width <= 0 || len == 0) {
        if (len)
            buf[0] = '\0';
        return;
    }
    if ((int)n <= width) {
        snprintf(buf, len, "%s", text);
        return;
    }
    /* the last space at or before width - 1 leaves room for the '~' */
    int cut = width - 1;
    while (cut > 0 && text[cut] != ' ')
        cut--;
    if (cut == 0)
        cut = width - 1; /* one long word: cut it, the '~' still says so */
    while (cut > 0 && text[cut - 1] == ' ')
        cut--;
    snprintf(buf, len, "%.*s~", cut, text);
}
