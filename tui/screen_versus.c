/* screen_versus.c - two implementations of one run side by side (reports/versus.h): each pair
 * of cases that measure the same problem, both medians, B/A with its 95% CI and the verdict. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "reports/reports.h"
#include "reports/versus.h"
#include "tui/app.h"
#include "tui/pager.h"

struct versus_screen {
    int64_t run_id;
    char a[128], b[128];
    struct pager text;
};

static int versus_reload(struct app *a, void *st)
{
    struct versus_screen *s = st;
    struct result_row *rows;
    long n = report_load_results(a->store, s->run_id, &rows);
    if (n < 0) {
        app_message(a, 1, "%s", store_errmsg(a->store));
        return -1;
    }
    struct versus_pair *v = NULL;
    char why[512];
    long np = versus_pairs(a->store, rows, n, s->a, s->b, &v, why, sizeof why);
    if (np < 0) {
        free(rows);
        app_message(a, 1, "%s", why);
        return -1;
    }
    pager_clear(&s->text);
    if (np == 0) {
        pager_add(&s->text, UI_WARN, "run %" PRId64 ": no timed cases of %s and %s measure the same problem", s->run_id,
                  s->a, s->b);
    } else {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (f) {
            versus_table(f, v, np, s->a, s->b);
            fclose(f);
            int line = 0;
            for (char *p = buf, *nl; p && *p; p = nl ? nl + 1 : NULL, line++) {
                nl = strchr(p, '\n');
                if (nl)
                    *nl = '\0';
                int pair = line == 1 ? UI_HEADER : strstr(p, "B faster") ? UI_BETTER : strstr(p, "A faster") ? UI_WORSE : 0;
                pager_add(&s->text, pair, "%s", p);
            }
        }
        free(buf);
    }
    free(v);
    free(rows);
    return 0;
}

static void versus_draw(struct app *a, void *st, WINDOW *w)
{
    pager_draw(&((struct versus_screen *)st)->text, a, w, 0, getmaxy(w));
}

static int versus_key(struct app *a, void *st, int ch)
{
    (void)a;
    return pager_key(&((struct versus_screen *)st)->text, ch);
}

static void versus_export(struct app *a, void *st)
{
    struct versus_screen *s = st;
    char prefix[64];
    snprintf(prefix, sizeof prefix, "kbench-run%" PRId64 "-versus", s->run_id);
    app_export_pager(a, &s->text, prefix, "the side-by-side table");
}

static void versus_destroy(void *st)
{
    struct versus_screen *s = st;
    pager_clear(&s->text);
    free(s);
}

static const struct screen_ops versus_ops = {
    .name = "versus",
    .keys = "Up/Down:scroll e:txt",
    .reload = versus_reload,
    .draw = versus_draw,
    .key = versus_key,
    .export_view = versus_export,
    .destroy = versus_destroy,
};

int screen_versus_open(struct app *a, int64_t run_id, const char *impl_a, const char *impl_b)
{
    struct versus_screen *s = calloc(1, sizeof *s);
    if (!s) {
        app_message(a, 1, "out of memory");
        return -1;
    }
    s->run_id = run_id;
    snprintf(s->a, sizeof s->a, "%s", impl_a);
    snprintf(s->b, sizeof s->b, "%s", impl_b);
    return app_push(a, &versus_ops, s);
}
