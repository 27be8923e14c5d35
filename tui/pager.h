/* pager.h - a scrolling view of text lines (the detail and help screens). */
#ifndef KB_TUI_PAGER_H
#define KB_TUI_PAGER_H

#include <curses.h>
#include <stdio.h>

struct app;

struct pager {
    char **lines;
    int *pairs;  /* enum ui_pair per line, 0: plain */
    long n, cap;
    long top;
    int page;
};

/* Appends a line (a heading when pair is UI_HEADER). Out of memory drops the line. */
void pager_add(struct pager *p, int pair, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void pager_clear(struct pager *p);
void pager_draw(struct pager *p, const struct app *a, WINDOW *w, int y, int h);
/* Up/down/page/home/end and vi keys; returns 1 when used. */
int pager_key(struct pager *p, int ch);
int pager_write(const struct pager *p, FILE *out);

#endif
