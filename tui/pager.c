/* pager.c - the scrolling text view (see pager.h). */
#include "tui/pager.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "tui/app.h"

void pager_add(struct pager *p, int pair, const char *fmt, ...)
{
    if (p->n == p->cap) {
        long cap = p->cap ? p->cap * 2 : 64;
        char **lines = realloc(p->lines, (size_t)cap * sizeof *lines);
        if (!lines)
            return;
        p->lines = lines;
        int *pairs = realloc(p->pairs, (size_t)cap * sizeof *pairs);
        if (!pairs)
            return;
        p->pairs = pairs;
        p->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    char *line = NULL;
    int rc = vasprintf(&line, fmt, ap);
    va_end(ap);
    if (rc < 0)
        return;
    p->lines[p->n] = line;
    p->pairs[p->n] = pair;
    p->n++;
}

void pager_clear(struct pager *p)
{
    for (long i = 0; i < p->n; i++)
        free(p->lines[i]);
    free(p->lines);
    free(p->pairs);
    p->lines = NULL;
    p->pairs = NULL;
    p->n = p->cap = 0;
}

void pager_draw(struct pager *p, const struct app *a, WINDOW *w, int y, int h)
{
    p->page = h;
    if (p->top > p->n - h)
        p->top = p->n - h;
    if (p->top < 0)
        p->top = 0;
    int width = getmaxx(w);
    for (int i = 0; i < h && p->top + i < p->n; i++) {
        int pair = p->pairs[p->top + i];
        wattrset(w, pair ? app_attr(a, (enum ui_pair)pair) : A_NORMAL);
        ui_put(w, y + i, 0, width, p->lines[p->top + i]);
    }
    wattrset(w, A_NORMAL);
    if (p->n > h && width > 12) { /* where we are, when there is more than one page */
        char pos[32];
        snprintf(pos, sizeof pos, " %ld%% ", 100 * (p->top + h) / p->n);
        wattrset(w, app_attr(a, UI_DIM));
        mvwaddstr(w, y + h - 1, width - (int)strlen(pos), pos);
        wattrset(w, A_NORMAL);
    }
}

int pager_key(struct pager *p, int ch)
{
    int page = p->page > 1 ? p->page - 1 : 1;
    switch (ch) {
    case KEY_DOWN: case 'j': p->top++; break;
    case KEY_UP: case 'k': p->top--; break;
    case KEY_NPAGE: case ' ': case 6: p->top += page; break;
    case KEY_PPAGE: case 2: p->top -= page; break;
    case KEY_HOME: p->top = 0; break;
    case KEY_END: case 'G': p->top = p->n; break;
    default: return 0;
    }
    if (p->top < 0)
        p->top = 0;
    return 1;
}

int pager_write(const struct pager *p, FILE *out)
{
    for (long i = 0; i < p->n; i++)
        fprintf(out, "%s\n", p->lines[i]);
    return ferror(out) ? -1 : 0;
}
