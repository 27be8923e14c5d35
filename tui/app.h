/* app.h - what the dashboard's screens share: the app (store, windows, screen stack, status
 * line), the screen interface, colours, and the constructors of the screens.
 *
 * Each screen is one file (screen_*.c) implementing struct screen_ops; app.c owns the loop,
 * draws the title and status lines around the top screen, and routes keys to it first.
 */
#ifndef KB_TUI_APP_H
#define KB_TUI_APP_H

#include <curses.h>
#include <stdint.h>
#include "harness/store.h"
#include "tui/measure.h"

/* Colour pairs. Without colours (NO_COLOR, a monochrome terminal) app_attr() turns each into
 * an attribute (bold, reverse, dim) so the meaning survives. */
enum ui_pair {
    UI_TITLE = 1, UI_HEADER, UI_CURSOR, UI_MARK, UI_OK, UI_BAD, UI_WARN, UI_DIM, UI_BETTER, UI_WORSE,
    UI_ANSI0, /* UI_ANSI0 + c: foreground ANSI colour c (0-7) on the default background */
    UI_PAIRS = UI_ANSI0 + 8
};

struct app;

struct screen_ops {
    const char *name;
    const char *keys; /* the status line's short key list */
    /* Re-reads what the screen shows from the store (after a change by another process);
     * keeps the cursor on the same item. Returns 0, or -1 after app_message(). */
    int (*reload)(struct app *a, void *st);
    void (*draw)(struct app *a, void *st, WINDOW *w);
    /* Returns 1 when the screen used the key. */
    int (*key)(struct app *a, void *st, int ch);
    /* `e`: writes the current view to a file and reports its name; NULL: nothing to export. */
    void (*export_view)(struct app *a, void *st);
    void (*destroy)(void *st);
};

enum { UI_MAX_DEPTH = 8 };

struct app {
    struct store *store;
    const char *db_path;
    const char *export_dir;
    int colour;
    WINDOW *title, *body, *foot;
    struct {
        const struct screen_ops *ops;
        void *st;
        int stale; /* the database changed while another screen was on top */
    } stack[UI_MAX_DEPTH];
    int depth;
    char message[300];
    int message_error;
    int quit;
    char updated[16]; /* when the last change by another process was seen, HH:MM:SS */
    struct measure_job *job;  /* the measurement started from the dashboard (measure.h), or NULL */
    measure_resume_fn resume; /* how a stored run is resumed (tui_options); NULL: it cannot be */
};

/* The measuring process that Ctrl-C now stops instead of quitting (0: none, Ctrl-C quits). */
void app_job_started(struct app *a, int pid);
/* 1 once after Ctrl-C was pressed while a measurement ran. */
int app_job_interrupt_pending(struct app *a);

/* Puts a screen on top (it is reloaded first; a screen that fails to load is destroyed and
 * its reason shown). Returns 0 or -1. */
int app_push(struct app *a, const struct screen_ops *ops, void *st);
/* The status-line message until the next key. */
void app_message(struct app *a, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The attribute for a pair, or its monochrome stand-in. */
attr_t app_attr(const struct app *a, enum ui_pair p);
/* Opens a new file for an export, named PREFIX.EXT in the export folder (PREFIX-2.EXT ... when
 * taken, never overwriting); its path goes into path. Returns the stream or NULL (and says why). */
FILE *app_export_file(struct app *a, const char *prefix, const char *ext, char *path, size_t len);
struct table;
struct pager;
/* The export of a screen: its table as CSV (as shown), or its pager's text, into a new file
 * named from prefix; the status line names the file and `what` was written, or the failure. */
void app_export_table(struct app *a, const struct table *t, const char *prefix, const char *what);
void app_export_pager(struct app *a, const struct pager *p, const char *prefix, const char *what);
/* Writes at most width columns of text at (y, x), padding with spaces to width. */
void ui_put(WINDOW *w, int y, int x, int width, const char *text);

/* The screens. Each returns 0 once pushed, or -1 with the reason in the status line. */
int screen_runs_open(struct app *a);
int screen_results_open(struct app *a, int64_t run_id);
int screen_detail_open(struct app *a, const struct result_row *r);
/* Series: the cases of run_id that share everything but the swept axis with one of the keys. */
int screen_plot_open(struct app *a, int64_t run_id, const struct result_row *keys, int nkeys);
int screen_compare_open(struct app *a, int64_t baseline, int64_t candidate);
/* The same after some of baseline's cases were measured again into candidate: the cases it did
 * not measure again are left out (the header says how many). */
int screen_compare_open_measured(struct app *a, int64_t baseline, int64_t candidate);
int screen_help_open(struct app *a);
/* Two implementations of one run side by side: ratio of medians with its CI (reports/versus.h);
 * impl_a and impl_b are NAME@IMPL patterns. */
int screen_versus_open(struct app *a, int64_t run_id, const char *impl_a, const char *impl_b);
/* The paper claims `kbench claims` stored (this machine's; `a` toggles every machine's). */
int screen_claims_open(struct app *a);
/* The measurements of `kbench bisect` (screen_bisect.c), newest bisection first. */
int screen_bisect_open(struct app *a);

#endif
