/* app.c - the dashboard's loop: terminal set-up and restore, the screen stack, key routing,
 * live refresh when another process commits to the database, and the title and status lines. */
#include "tui/tui.h"
#include "tui/app.h"
#include "tui/pager.h"
#include "tui/table.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- terminal restore on a fatal signal --------------------------------------------------- */

static volatile sig_atomic_t curses_active;

/* endwin is not async-signal-safe, but a terminal left in raw mode with no echo is worse than
 * the small risk; the signal is then raised again with its default action, so the exit status
 * (and a core dump) are what they would have been. */
static void restore_and_reraise(int sig)
{
    if (curses_active) {
        curses_active = 0;
        endwin();
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static const int fatal_signals[] = { SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL, SIGTERM, SIGINT, SIGHUP, SIGQUIT };

/* While the dashboard measures (measure.h), Ctrl-C stops the measurement, not the dashboard:
 * the measuring process has a process group of its own, so only this handler hears the key. */
static volatile sig_atomic_t measuring, interrupt_pending;

static void on_interrupt(int sig)
{
    if (measuring)
        interrupt_pending = 1;
    else
        restore_and_reraise(sig);
}

static void catch_fatal_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = restore_and_reraise;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof fatal_signals / sizeof fatal_signals[0]; i++)
        sigaction(fatal_signals[i], &sa, NULL);
    sa.sa_handler = on_interrupt;
    sigaction(SIGINT, &sa, NULL);
}

void app_job_started(struct app *a, int pid)
{
    (void)a;
    measuring = pid > 0;
    interrupt_pending = 0;
}

int app_job_interrupt_pending(struct app *a)
{
    (void)a;
    int pending = interrupt_pending;
    interrupt_pending = 0;
    return pending;
}

static void default_fatal_signals(void)
{
    for (size_t i = 0; i < sizeof fatal_signals / sizeof fatal_signals[0]; i++)
        signal(fatal_signals[i], SIG_DFL);
}

/* ---- shared helpers ------------------------------------------------------------------------- */

attr_t app_attr(const struct app *a, enum ui_pair p)
{
    if (a->colour) {
        attr_t extra = (p == UI_TITLE || p == UI_HEADER || p == UI_BAD || p == UI_WORSE) ? A_BOLD : 0;
        return COLOR_PAIR(p) | extra;
    }
    switch (p) {
    case UI_TITLE: case UI_HEADER: case UI_CURSOR: return A_REVERSE;
    case UI_MARK: case UI_BAD: case UI_WORSE: return A_BOLD;
    case UI_DIM: return A_DIM;
    case UI_BETTER: return A_UNDERLINE;
    default: return A_NORMAL;
    }
}

void app_message(struct app *a, int error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->message, sizeof a->message, fmt, ap);
    va_end(ap);
    a->message_error = error;
}

void ui_put(WINDOW *w, int y, int x, int width, const char *text)
{
    int maxx = getmaxx(w);
    if (x >= maxx || width <= 0)
        return;
    if (x + width > maxx)
        width = maxx - x;
    mvwprintw(w, y, x, "%-*.*s", width, width, text);
}

FILE *app_export_file(struct app *a, const char *prefix, const char *ext, char *path, size_t len)
{
    const char *dir = a->export_dir ? a->export_dir : ".";
    for (int i = 1; i < 1000; i++) {
        if (i == 1)
            snprintf(path, len, "%s/%s.%s", dir, prefix, ext);
        else
            snprintf(path, len, "%s/%s-%d.%s", dir, prefix, i, ext);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0) {
            FILE *f = fdopen(fd, "w");
            if (!f)
                close(fd);
            return f;
        }
        if (errno != EEXIST) {
            app_message(a, 1, "cannot write %s: %s", path, strerror(errno));
            return NULL;
        }
    }
    app_message(a, 1, "cannot export: %s/%s.%s and 998 numbered names exist already", dir, prefix, ext);
    return NULL;
}

/* ---- the screen stack ------------------------------------------------------------------------ */

int app_push(struct app *a, const struct screen_ops *ops, void *st)
{
    if (a->depth == UI_MAX_DEPTH) {
        ops->destroy(st);
        app_message(a, 1, "too many screens open: press q to go back first");
        return -1;
    }
    if (ops->reload && ops->reload(a, st) != 0) {
        ops->destroy(st);
        return -1;
    }
    a->stack[a->depth].ops = ops;
    a->stack[a->depth].st = st;
    a->stack[a->depth].stale = 0;
    a->depth++;
    return 0;
}

static void app_pop(struct app *a)
{
    a->depth--;
    a->stack[a->depth].ops->destroy(a->stack[a->depth].st);
    if (a->depth > 0 && a->stack[a->depth - 1].stale) {
        a->stack[a->depth - 1].stale = 0;
        const struct screen_ops *ops = a->stack[a->depth - 1].ops;
        if (ops->reload)
            ops->reload(a, a->stack[a->depth - 1].st);
    }
}

/* The database changed: the top screen re-reads now, the others when they are back on top. */
static void database_changed(struct app *a)
{
    for (int i = 0; i < a->depth - 1; i++)
        a->stack[i].stale = 1;
    const struct screen_ops *ops = a->stack[a->depth - 1].ops;
    if (ops->reload)
        ops->reload(a, a->stack[a->depth - 1].st);
    time_t now = time(NULL);
    strftime(a->updated, sizeof a->updated, "%H:%M:%S", localtime(&now));
}

/* ---- drawing --------------------------------------------------------------------------------- */

static void make_windows(struct app *a)
{
    if (a->title) {
        delwin(a->title);
        delwin(a->body);
        delwin(a->foot);
    }
    int h = LINES < 3 ? 3 : LINES, w = COLS;
    a->title = newwin(1, w, 0, 0);
    a->body = newwin(h - 2, w, 1, 0);
    a->foot = newwin(1, w, h - 1, 0);
    keypad(a->body, TRUE);
}

static void draw(struct app *a)
{
    const struct screen_ops *ops = a->stack[a->depth - 1].ops;
    int w = getmaxx(a->title);
    char line[512];

    werase(a->title);
    wbkgdset(a->title, ' ' | app_attr(a, UI_TITLE));
    wattrset(a->title, app_attr(a, UI_TITLE));
    mvwhline(a->title, 0, 0, ' ', w);
    snprintf(line, sizeof line, " kbench tui | %s | %s", ops->name, a->db_path);
    ui_put(a->title, 0, 0, w, line);
    if (a->updated[0] && w > 40) {
        snprintf(line, sizeof line, "live: updated %s ", a->updated);
        mvwaddstr(a->title, 0, w - (int)strlen(line), line);
    }

    werase(a->body);
    ops->draw(a, a->stack[a->depth - 1].st, a->body);

    werase(a->foot);
    char progress[400];
    measure_status(a, progress, sizeof progress);
    if (*progress) { /* a measurement's progress stays in view until it ends */
        wattrset(a->foot, app_attr(a, UI_WARN));
        ui_put(a->foot, 0, 0, w, progress);
    } else if (a->message[0]) {
        wattrset(a->foot, a->message_error ? app_attr(a, UI_BAD) : app_attr(a, UI_OK));
        ui_put(a->foot, 0, 0, w, a->message);
    } else {
        wattrset(a->foot, app_attr(a, UI_DIM));
        snprintf(line, sizeof line, "%s  ?:help  q:back", ops->keys);
        ui_put(a->foot, 0, 0, w, line);
    }
    wattrset(a->foot, A_NORMAL);

    /* everything lands in one update: no flicker, only the changed cells are sent */
    wnoutrefresh(a->title);
    wnoutrefresh(a->body);
    wnoutrefresh(a->foot);
    doupdate();
}

static void start_colours(struct app *a)
{
    const char *no_color = getenv("NO_COLOR");
    a->colour = has_colors() && !(no_color && *no_color);
    if (!a->colour)
        return;
    start_color();
    use_default_colors();
    init_pair(UI_TITLE, COLOR_WHITE, COLOR_BLUE);
    init_pair(UI_HEADER, COLOR_CYAN, -1);
    init_pair(UI_CURSOR, COLOR_BLACK, COLOR_CYAN);
    init_pair(UI_MARK, COLOR_YELLOW, -1);
    init_pair(UI_OK, COLOR_GREEN, -1);
    init_pair(UI_BAD, COLOR_RED, -1);
    init_pair(UI_WARN, COLOR_YELLOW, -1);
    init_pair(UI_DIM, COLOR_BLUE, -1);
    init_pair(UI_BETTER, COLOR_GREEN, -1);
    init_pair(UI_WORSE, COLOR_RED, -1);
    for (short c = 0; c < 8; c++)
        init_pair((short)(UI_ANSI0 + c), c, -1);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- the loop -------------------------------------------------------------------------------- */

static void poll_database(struct app *a, int64_t *version)
{
    int64_t now;
    if (store_data_version(a->store, &now) != 0) {
        app_message(a, 1, "%s", store_errmsg(a->store));
        return;
    }
    if (now != *version) {
        *version = now;
        database_changed(a);
    }
}

/* A resize whose SIGWINCH ncurses did not turn into KEY_RESIZE (two resizes in quick
 * succession can leave it at the first size) is caught here, at the next poll. */
static void follow_terminal_size(struct app *a)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_row == 0 || ws.ws_col == 0)
        return;
    if (ws.ws_row != LINES || ws.ws_col != COLS) {
        resizeterm(ws.ws_row, ws.ws_col);
        make_windows(a);
    }
}

static void handle_key(struct app *a, int ch)
{
    const struct screen_ops *ops = a->stack[a->depth - 1].ops;
    if (ch == KEY_RESIZE) {
        make_windows(a);
        return;
    }
    a->message[0] = '\0';
    if (ops->key && ops->key(a, a->stack[a->depth - 1].st, ch))
        return;
    switch (ch) {
    case 'q': case 27: case KEY_LEFT: case 'h':
        if (a->depth == 1 && ch != 'q' && ch != 27)
            break;
        if (a->depth == 1)
            a->quit = 1;
        else
            app_pop(a);
        break;
    case 'Q':
        a->quit = 1;
        break;
    case '?': case KEY_F(1):
        screen_help_open(a);
        break;
    case 'e':
        if (ops->export_view)
            ops->export_view(a, a->stack[a->depth - 1].st);
        else
            app_message(a, 1, "nothing to export on the %s screen", ops->name);
        break;
    case 12: /* ^L */
        clearok(curscr, TRUE);
        break;
    default:
        break;
    }
}

int tui_main(const struct tui_options *o, char *err, size_t errlen)
{
    struct app a;
    memset(&a, 0, sizeof a);
    a.db_path = o->db_path;
    a.export_dir = o->export_dir;
    a.resume = o->resume;
    /* refused before the screen is touched, so the reason stays on the terminal */
    if (store_open(o->db_path, STORE_READ, &a.store, err, errlen) != 0)
        return 2;
    int64_t version = 0;
    if (store_data_version(a.store, &version) != 0) {
        snprintf(err, errlen, "%s", store_errmsg(a.store));
        store_close(a.store);
        return 2;
    }

    setlocale(LC_ALL, "");
    catch_fatal_signals();
    if (!initscr()) {
        snprintf(err, errlen, "cannot start the terminal (TERM=%s)", getenv("TERM") ? getenv("TERM") : "unset");
        store_close(a.store);
        return 2;
    }
    curses_active = 1;
    cbreak();
    noecho();
    nonl();
    curs_set(0);
    set_escdelay(25);
    start_colours(&a);
    mousemask(BUTTON1_CLICKED | BUTTON1_DOUBLE_CLICKED | BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
    mouseinterval(200);
    make_windows(&a);

    if (screen_runs_open(&a) != 0) {
        curses_active = 0;
        endwin();
        default_fatal_signals();
        snprintf(err, errlen, "%s", a.message);
        store_close(a.store);
        return 2;
    }
    int poll_ms = o->poll_ms > 0 ? o->poll_ms : 500;
    double last_poll = now_ms();
    while (!a.quit && a.depth > 0) {
        draw(&a);
        /* a measurement's progress is read between keys, more often than the database */
        wtimeout(a.body, measure_active(&a) ? (poll_ms < 100 ? poll_ms : 100) : poll_ms);
        int ch = wgetch(a.body);
        measure_poll(&a);
        if (ch != ERR)
            handle_key(&a, ch);
        /* polled between keys too, so a held key does not stop the live view */
        if (a.depth > 0 && (ch == ERR || now_ms() - last_poll >= poll_ms)) {
            follow_terminal_size(&a);
            poll_database(&a, &version);
            last_poll = now_ms();
        }
    }
    measure_end(&a);
    while (a.depth > 0)
        app_pop(&a);
    curses_active = 0;
    endwin();
    default_fatal_signals();
    store_close(a.store);
    return 0;
}

void app_export_table(struct app *a, const struct table *t, const char *prefix, const char *what)
{
    char path[4096];
    FILE *f = app_export_file(a, prefix, "csv", path, sizeof path);
    if (!f)
        return;
    int rc = table_write_csv(t, f);
    if (fclose(f) != 0 || rc != 0)
        app_message(a, 1, "could not write all of %s", path);
    else
        app_message(a, 0, "exported %ld %s to %s", t->nview, what, path);
}

void app_export_pager(struct app *a, const struct pager *p, const char *prefix, const char *what)
{
    char path[4096];
    FILE *f = app_export_file(a, prefix, "txt", path, sizeof path);
    if (!f)
        return;
    int rc = pager_write(p, f);
    if (fclose(f) != 0 || rc != 0)
        app_message(a, 1, "could not write all of %s", path);
    else
        app_message(a, 0, "exported %s to %s", what, path);
}
