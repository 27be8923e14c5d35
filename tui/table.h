/* table.h - a scrolling table for the dashboard: sort by any column, filter by text, group by
 * one column, mark rows, page through many thousands of rows.
 *
 * The rows belong to the screen; the table only asks for what it draws (the visible rows'
 * cells) through struct table_source, and keeps a view: the indices of the rows that pass the
 * filter, in sorted order. Sorting formats each key once, so a sort of n rows costs n cell
 * calls and n log n comparisons.
 */
#ifndef KB_TUI_TABLE_H
#define KB_TUI_TABLE_H

#include <curses.h>
#include <stdint.h>
#include <stdio.h>

struct app;

struct table_column {
    const char *name;
    int width;       /* columns it takes */
    int right;       /* right-aligned (numbers) */
    int priority;    /* when the panel is too narrow, the lowest priority goes first; 0: always kept */
    int numeric;     /* sorted by number(), else by its text */
    int grow;        /* > 0: takes the width the shown columns leave, up to its widest visible value
                      * (1 first, then 2, ...), so a wide terminal shows whole values */
};

struct table_source {
    void *ctx;
    long (*count)(void *ctx);
    void (*cell)(void *ctx, long row, int col, char *buf, size_t len);
    double (*number)(void *ctx, long row, int col); /* NaN: no value, sorts last */
    int64_t (*id)(void *ctx, long row);              /* stable identity across reloads */
    int (*style)(void *ctx, long row, int col);      /* an enum ui_pair for the cell, or 0 */
};

enum { TABLE_MAX_MARKS = 8 };

struct table {
    const struct table_column *cols;
    int ncols;
    struct table_source src;
    long *view, nview, cap;
    long cursor, top;
    int sort_col;      /* -1: source order */
    int sort_desc;
    int group_col;     /* the column `g` groups by, or -1 */
    int grouped;
    char filter[64];
    int editing;       /* typing a filter */
    int64_t marks[TABLE_MAX_MARKS];
    int nmarks, max_marks; /* max_marks 0: no marking */
    int page;          /* rows shown at the last draw, for paging */
    int body_y;        /* window row of the first data row at the last draw (mouse) */
    unsigned long long hidden; /* bit c: column c did not fit at the last draw (s skips it) */
    int widths[64];    /* each column's width at the last draw (grown ones wider than cols[c].width) */
    int64_t cursor_id; /* the id of the row under the cursor when last drawn or moved: a screen
                        * replaces its rows before table_refresh, so the view's old index would
                        * name whatever row now sits there */
    int cursor_known;
};

void table_init(struct table *t, const struct table_column *cols, int ncols, const struct table_source *src);
void table_free(struct table *t);
/* Re-reads the row count and rebuilds the view (filter, sort), keeping the cursor on the
 * same row id when it is still there. Returns 0, or -1 when memory runs out. */
int table_refresh(struct table *t);
/* Draws header, rows and (when filtering) the filter line into the window's rows y..y+h-1. */
void table_draw(struct table *t, const struct app *a, WINDOW *w, int y, int h);
/* Navigation, sort (s, S), filter (/), group (g), marks (space when allow_space_mark) and
 * mouse clicks. Returns 1 when used, 2 when a row was activated (Enter, double click). */
int table_key(struct table *t, int ch, int allow_space_mark);
/* The source row under the cursor, or -1 for an empty view. */
long table_current(const struct table *t);
int table_is_marked(const struct table *t, int64_t id);
/* Marks or unmarks a row id; a mark beyond max_marks drops the oldest. */
void table_toggle_mark(struct table *t, int64_t id);
/* Writes the view as CSV: the header, then the rows as shown (filtered and sorted). */
int table_write_csv(const struct table *t, FILE *out);

#endif
