/* gnuplot.h - running the real gnuplot: which terminals it has, and rendering a script.
 *
 * kbench writes each plot as a data file and a script beside it and runs `gnuplot SCRIPT` in
 * the report folder, so the user can edit the script and run the same command again.
 */
#ifndef KB_GNUPLOT_H
#define KB_GNUPLOT_H

#include <stddef.h>

/* The gnuplot program: $KBENCH_GNUPLOT, else "gnuplot" on PATH. */
const char *gnuplot_program(void);

/* 0 when gnuplot runs and has the terminal ("pngcairo", "svg", "pdfcairo"); else -1 with the
 * reason in why ("gnuplot is not installed (Debian: apt-get install gnuplot-nox)", "gnuplot
 * has no 'pdfcairo' terminal"). */
int gnuplot_check_terminal(const char *terminal, char *why, size_t whylen);

/* Runs `gnuplot SCRIPT` with DIR as the working directory; 0, or -1 with gnuplot's own error
 * (its stderr, first lines) in why. */
int gnuplot_render(const char *dir, const char *script, char *why, size_t whylen);
/* The same with the script's variable fmt preset ("png"): kbench's scripts choose their
 * terminal from it. */
int gnuplot_render_fmt(const char *dir, const char *fmt, const char *script, char *why, size_t whylen);

/* Replaces the "<title>Gnuplot</title>" gnuplot's svg terminal writes with the plot's own title
 * (XML-escaped), so a browser tab or an image viewer names the plot. A file without that
 * element is left alone. 0, or -1 with why. */
int gnuplot_svg_title(const char *path, const char *title, char *why, size_t whylen);

/* Writes s as a gnuplot double-quoted string (quotes and backslashes escaped, '@' and '&'
 * left alone: kbench uses the noenhanced text mode so names print as they are). */
void gnuplot_quote(char *out, size_t len, const char *s);

#endif
