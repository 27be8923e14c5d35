/* gnuplot.h - the dashboard's side of gnuplot: a script fed to a child gnuplot, its output (the
 * text of the `dumb` terminal, or nothing when it writes a file) read back, and that text drawn
 * into a window with its ANSI colours.
 *
 * Which gnuplot, whether it runs and has a terminal, and quoting strings for its scripts are
 * reports/gnuplot.h's (gnuplot_program, gnuplot_check_terminal, gnuplot_quote); this part only
 * adds what a live panel needs: a script through a pipe with a time limit, and drawing. */
#ifndef KB_TUI_GNUPLOT_H
#define KB_TUI_GNUPLOT_H

#include <curses.h>
#include <stddef.h>

struct app;

/* Runs gnuplot_program() on script, fed through its standard input (at most 10 s); its standard
 * output, NUL-terminated, is malloc'd into *out (may be NULL when not wanted). Returns 0, or -1
 * with the reason (gnuplot's own error lines, or how it ended) in err. */
int gnuplot_run(const char *script, char **out, char *err, size_t errlen);

/* Draws the dumb terminal's text at (y, x), at most h lines and width columns, turning its
 * SGR colour escapes (ESC [ ... m) into colour pairs when the app has colours. */
void gnuplot_draw_text(const struct app *a, WINDOW *w, int y, int x, int h, int width, const char *text);

#endif
