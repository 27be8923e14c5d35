/* gnuplot.h - gnuplot as a child process: a script in, its output (the text of the `dumb`
 * terminal, or nothing when it writes a file) back, and that text drawn into a window with
 * its ANSI colours. */
#ifndef KB_TUI_GNUPLOT_H
#define KB_TUI_GNUPLOT_H

#include <curses.h>
#include <stddef.h>
#include <stdio.h>

struct app;

/* The gnuplot program: $KBENCH_GNUPLOT, else "gnuplot" found on PATH. Returns 1 when it can
 * be run, else 0 with the reason in why ("gnuplot is not installed ..."). */
int gnuplot_find(char *path, size_t len, char *why, size_t whylen);

/* Runs gnuplot on script (at most 10 s); its standard output, NUL-terminated, is malloc'd into
 * *out (may be NULL when not wanted). Returns 0, or -1 with the reason (gnuplot's own error
 * lines, or how it ended) in err. */
int gnuplot_run(const char *program, const char *script, char **out, char *err, size_t errlen);

/* Draws the dumb terminal's text at (y, x), at most h lines and width columns, turning its
 * SGR colour escapes (ESC [ ... m) into colour pairs when the app has colours. */
void gnuplot_draw_text(const struct app *a, WINDOW *w, int y, int x, int h, int width, const char *text);

/* Writes s as a gnuplot single-quoted string ('it''s'). */
void gnuplot_quote(FILE *f, const char *s);

#endif
