/* table.c - the scrolling, sorting, filtering table (see table.h). */
#include "tui/table.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tui/app.h"
#include "tui/format.h"

enum { CELL_MAX = 256 };

void table_init(struct table *t, const struct table_column *cols, int ncols, const struct table_source *src)
{
    memset(t, 0, sizeof *t);
    t->cols = cols;
    t->ncols = ncols;
    t->src = *src;
    t->sort_col = -1;
    t->group_col = -1;
}

void table_free(struct table *t)
{
    free(t->view);
    t->view = NULL;
    t->nview = t->cap = 0;
}

/* Case-insensitive substring test. */
static int contains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return 1;
    return n == 0;
}

static int row_passes(const struct table *t, long row)
{
    if (!t->filter[0])
        return 1;
    char buf[CELL_MAX];
    for (int c = 0; c < t->ncols; c++) {
        t->src.cell(t->src.ctx, row, c, buf, sizeof buf);
        if (contains(buf, t->filter))
            return 1;
    }
    return 0;
}

/* One row's sort keys, computed once per sort. */
struct sort_key {
    long row;
    char *group;  /* group column text, or NULL */
    char *text;   /* for text columns */
    double num;   /* for numeric columns */
};

static int sort_desc_flag;
static int sort_numeric_flag;

/* qsort has no context argument in C11; the two flags are set just before each sort. */
static int compare_keys(const void *pa, const void *pb)
{
    const struct sort_key *a = pa, *b = pb;
    int c = 0;
    if (a->group && b->group)
        c = strcmp(a->group, b->group);
    if (c == 0) {
        if (sort_numeric_flag) {
            int na = isnan(a->num), nb = isnan(b->num);
            if (na || nb) /* no value sorts last either way */
                c = na - nb;
            else
                c = sort_desc_flag ? (a->num < b->num) - (a->num > b->num) : (a->num > b->num) - (a->num < b->num);
        } else if (a->text && b->text) {
            c = strcmp(a->text, b->text);
            c = sort_desc_flag ? -c : c;
        }
    }
    return c ? c : (a->row > b->row) - (a->row < b->row); /* stable: source order breaks ties */
}

static void sort_view(struct table *t)
{
    int by_group = t->grouped && t->group_col >= 0;
    if (t->sort_col < 0 && !by_group)
        return;
    struct sort_key *keys = calloc((size_t)t->nview + 1, sizeof *keys);
    if (!keys)
        return; /* unsorted is still a correct view */
    int col = t->sort_col;
    int numeric = col >= 0 && t->cols[col].numeric && t->src.number;
    char buf[CELL_MAX];
    for (long i = 0; i < t->nview; i++) {
        keys[i].row = t->view[i];
        if (by_group) {
            t->src.cell(t->src.ctx, t->view[i], t->group_col, buf, sizeof buf);
            keys[i].group = strdup(buf);
        }
        if (col >= 0 && numeric) {
            keys[i].num = t->src.number(t->src.ctx, t->view[i], col);
        } else if (col >= 0) {
            t->src.cell(t->src.ctx, t->view[i], col, buf, sizeof buf);
            keys[i].text = strdup(buf);
        }
    }
    sort_desc_flag = t->sort_desc;
    sort_numeric_flag = numeric;
    qsort(keys, (size_t)t->nview, sizeof *keys, compare_keys);
    for (long i = 0; i < t->nview; i++) {
        t->view[i] = keys[i].row;
        free(keys[i].group);
        free(keys[i].text);
    }
    free(keys);
}

/* Notes the id of the row under the cursor (table_refresh finds it again after a reload). */
static void remember_cursor(struct table *t)
{
    t->cursor_known = t->nview > 0 && t->src.id && t->cursor >= 0 && t->cursor < t->nview;
    if (t->cursor_known)
        t->cursor_id = t->src.id(t->src.ctx, t->view[t->cursor]);
}

static void clamp(struct table *t)
{
    if (t->cursor >= t->nview)
        t->cursor = t->nview - 1;
    if (t->cursor < 0)
        t->cursor = 0;
    if (t->top > t->cursor)
        t->top = t->cursor;
    if (t->page > 0 && t->cursor >= t->top + t->page)
        t->top = t->cursor - t->page + 1;
    if (t->top < 0)
        t->top = 0;
}

int table_refresh(struct table *t)
{
    /* the row the user last saw under the cursor, by id: the rows may be new already */
    int had = t->cursor_known && t->src.id;
    int64_t current = t->cursor_id;
    long n = t->src.count(t->src.ctx);
    if (n + 1 > t->cap) {
        long *v = realloc(t->view, (size_t)(n + 1) * sizeof *v);
        if (!v)
            return -1;
        t->view = v;
        t->cap = n + 1;
    }
    t->nview = 0;
    for (long r = 0; r < n; r++)
        if (row_passes(t, r))
            t->view[t->nview++] = r;
    sort_view(t);
    if (had) {
        for (long i = 0; i < t->nview; i++)
            if (t->src.id(t->src.ctx, t->view[i]) == current) {
                t->cursor = i;
                break;
            }
    }
    clamp(t);
    remember_cursor(t);
    return 0;
}

long table_current(const struct table *t)
{
    return t->nview > 0 ? t->view[t->cursor] : -1;
}

int table_is_marked(const struct table *t, int64_t id)
{
    for (int i = 0; i < t->nmarks; i++)
        if (t->marks[i] == id)
            return 1;
    return 0;
}

void table_toggle_mark(struct table *t, int64_t id)
{
    for (int i = 0; i < t->nmarks; i++)
        if (t->marks[i] == id) {
            memmove(t->marks + i, t->marks + i + 1, (size_t)(t->nmarks - i - 1) * sizeof *t->marks);
            t->nmarks--;
            return;
        }
    if (t->max_marks <= 0)
        return;
    if (t->nmarks == t->max_marks) { /* the oldest mark gives way */
        memmove(t->marks, t->marks + 1, (size_t)(t->nmarks - 1) * sizeof *t->marks);
        t->nmarks--;
    }
    t->marks[t->nmarks++] = id;
}

/* Which columns fit in width: drop the lowest priority ones until the rest do, each at its
 * width in want[] (the first growable column, the row's identity, wants its whole value). */
static int fit_columns(const struct table *t, int width, const int *want, int *shown)
{
    for (int c = 0; c < t->ncols; c++)
        shown[c] = 1;
    for (;;) {
        int need = 1; /* the mark gutter and the space after it, less the last column's trailing one */
        for (int c = 0; c < t->ncols; c++)
            if (shown[c])
                need += want[c] + 1;
        if (need <= width)
            return need;
        int drop = -1;
        for (int c = 0; c < t->ncols; c++)
            if (shown[c] && t->cols[c].priority > 0 && (drop < 0 || t->cols[c].priority < t->cols[drop].priority))
                drop = c;
        if (drop < 0)
            return need; /* the rest is cut at the edge */
        shown[drop] = 0;
    }
}

/* The widest value of column c among the rows a page from the top shows (and its name). */
static int widest_visible(const struct table *t, int c, int rows)
{
    char buf[CELL_MAX];
    int widest = (int)strlen(t->cols[c].name);
    for (int i = 0; i < rows && t->top + i < t->nview; i++) {
        t->src.cell(t->src.ctx, t->view[t->top + i], c, buf, sizeof buf);
        int l = (int)strlen(buf);
        widest = l > widest ? l : widest;
    }
    return widest;
}

static void put_cell(WINDOW *w, int y, int x, int width, int right, const char *text, int maxx)
{
    if (x >= maxx)
        return;
    if (x + width > maxx)
        width = maxx - x;
    int len = (int)strlen(text);
    if (len > width && !right) { /* cut between words, marking the cut: "d=32" never shows as "d=3" */
        char cut[CELL_MAX];
        fmt_cut_words(text, width, cut, sizeof cut);
        mvwprintw(w, y, x, "%-*s", width, cut);
    } else if (len > width) /* a number: cut, marking the cut */
        mvwprintw(w, y, x, "%.*s~", width - 1, text);
    else if (right)
        mvwprintw(w, y, x, "%*s", width, text);
    else
        mvwprintw(w, y, x, "%-*s", width, text);
}

/* Gives the width the shown columns leave to the growable ones, each up to the widest value
 * among the rows on screen (and its name). */
static void grow_columns(struct table *t, const int *shown, int ncols, int spare, int rows)
{
    for (int rank = 1; rank <= 4 && spare > 0; rank++)
        for (int c = 0; c < ncols && spare > 0; c++) {
            if (!shown[c] || t->cols[c].grow != rank)
                continue;
            int more = widest_visible(t, c, rows) - t->widths[c];
            if (more > spare)
                more = spare;
            if (more > 0) {
                t->widths[c] += more;
                spare -= more;
            }
        }
}

void table_draw(struct table *t, const struct app *a, WINDOW *w, int y, int h)
{
    int width = getmaxx(w);
    int shown[64];
    int ncols = t->ncols < 64 ? t->ncols : 64;
    int want[64];
    int page = h - 1 - (t->editing || t->filter[0]);
    for (int c = 0; c < ncols; c++) {
        want[c] = t->cols[c].width;
        if (t->cols[c].grow == 1) {
            int whole = widest_visible(t, c, page > 1 ? page : 1);
            want[c] = whole > want[c] ? whole : want[c];
        }
    }
    int need = fit_columns(t, width, want, shown);
    for (int c = 0; c < ncols; c++) /* grow_columns gives the rank-1 column its whole width back */
        need -= shown[c] ? want[c] - t->cols[c].width : 0;
    t->hidden = 0;
    for (int c = 0; c < ncols; c++)
        if (!shown[c])
            t->hidden |= 1ull << c;
    int show_filter = t->editing || t->filter[0];
    int rows = h - 1 - show_filter;
    if (rows < 1)
        rows = 1;
    t->page = rows;
    t->body_y = y + 1;
    clamp(t);
    remember_cursor(t);
    for (int c = 0; c < ncols; c++)
        t->widths[c] = t->cols[c].width;
    grow_columns(t, shown, ncols, width - need, rows);

    /* header: the sort column carries ^ (ascending) or v (descending) */
    wattrset(w, app_attr(a, UI_HEADER));
    mvwhline(w, y, 0, ' ', width);
    int x = 2;
    for (int c = 0; c < ncols; c++) {
        if (!shown[c])
            continue;
        char name[64];
        snprintf(name, sizeof name, "%s%s", t->cols[c].name, c == t->sort_col ? (t->sort_desc ? "v" : "^") : "");
        put_cell(w, y, x, t->widths[c], t->cols[c].right, name, width);
        x += t->widths[c] + 1;
    }
    wattrset(w, A_NORMAL);

    char buf[CELL_MAX], prev_group[CELL_MAX] = "";
    for (int i = 0; i < rows && t->top + i < t->nview; i++) {
        long vi = t->top + i, row = t->view[vi];
        int yy = y + 1 + i;
        int cursor = vi == t->cursor;
        int64_t id = t->src.id ? t->src.id(t->src.ctx, row) : row;
        attr_t base = cursor ? app_attr(a, UI_CURSOR) : A_NORMAL;
        wattrset(w, base);
        mvwhline(w, yy, 0, ' ', width);
        if (table_is_marked(t, id)) {
            wattrset(w, base | app_attr(a, UI_MARK));
            mvwaddstr(w, yy, 0, "*");
            wattrset(w, base);
        }
        /* grouped: the group's name only on its first row (and at the top of the page) */
        int blank_group = 0;
        if (t->grouped && t->group_col >= 0) {
            t->src.cell(t->src.ctx, row, t->group_col, buf, sizeof buf);
            blank_group = i > 0 && strcmp(buf, prev_group) == 0;
            snprintf(prev_group, sizeof prev_group, "%s", buf);
        }
        x = 2;
        for (int c = 0; c < ncols; c++) {
            if (!shown[c])
                continue;
            t->src.cell(t->src.ctx, row, c, buf, sizeof buf);
            if (blank_group && c == t->group_col)
                buf[0] = '\0';
            int pair = t->src.style ? t->src.style(t->src.ctx, row, c) : 0;
            wattrset(w, cursor ? base : (pair ? app_attr(a, (enum ui_pair)pair) : A_NORMAL));
            put_cell(w, yy, x, t->widths[c], t->cols[c].right, buf, width);
            x += t->widths[c] + 1;
        }
        wattrset(w, A_NORMAL);
    }
    if (t->nview == 0)
        mvwaddstr(w, y + 1, 2, t->filter[0] ? "(no row matches the filter)" : "(no rows)");
    if (show_filter) {
        wattrset(w, app_attr(a, UI_HEADER));
        mvwhline(w, y + h - 1, 0, ' ', width);
        long total = t->src.count(t->src.ctx);
        mvwprintw(w, y + h - 1, 0, "/%s%s   (%ld of %ld rows match%s)", t->filter, t->editing ? "_" : "", t->nview,
                  total, t->editing ? "; Enter keeps, Esc clears" : "");
        wattrset(w, A_NORMAL);
    }
}

static int edit_filter(struct table *t, int ch)
{
    size_t n = strlen(t->filter);
    if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
        t->editing = 0;
    } else if (ch == 27) {
        t->editing = 0;
        t->filter[0] = '\0';
    } else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
        if (n > 0)
            t->filter[n - 1] = '\0';
    } else if (ch >= 32 && ch < 127 && n + 1 < sizeof t->filter) {
        t->filter[n] = (char)ch;
        t->filter[n + 1] = '\0';
    } else {
        return 1; /* other keys are ignored while typing */
    }
    t->cursor = t->top = 0;
    table_refresh(t);
    return 1;
}

static int click(struct table *t, int *activated)
{
    MEVENT ev;
    if (getmouse(&ev) != OK)
        return 0;
    if (ev.bstate & BUTTON4_PRESSED) {
        t->cursor -= 3;
    } else if (ev.bstate & (BUTTON5_PRESSED)) {
        t->cursor += 3;
    } else if (ev.bstate & (BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON1_DOUBLE_CLICKED | BUTTON1_RELEASED)) {
        int y = ev.y - 1 - t->body_y; /* the body window starts below the title line */
        if (y < 0 || y >= t->page || t->top + y >= t->nview)
            return 1;
        t->cursor = t->top + y;
        *activated = (ev.bstate & BUTTON1_DOUBLE_CLICKED) != 0;
    }
    clamp(t);
    return 1;
}

int table_key(struct table *t, int ch, int allow_space_mark)
{
    if (t->editing)
        return edit_filter(t, ch);
    int page = t->page > 1 ? t->page - 1 : 1;
    switch (ch) {
    case KEY_DOWN: case 'j': t->cursor++; break;
    case KEY_UP: case 'k': t->cursor--; break;
    case KEY_NPAGE: case 6 /* ^F */: t->cursor += page; t->top += page; break;
    case KEY_PPAGE: case 2 /* ^B */: t->cursor -= page; t->top -= page; break;
    case KEY_HOME: t->cursor = 0; break;
    case KEY_END: case 'G': t->cursor = t->nview - 1; break;
    case '\n': case '\r': case KEY_ENTER: return t->nview > 0 ? 2 : 1;
    case 's': /* next shown column; after the last, back to source order */
        do
            t->sort_col = t->sort_col + 1 < t->ncols ? t->sort_col + 1 : -1;
        while (t->sort_col >= 0 && t->sort_col < 64 && (t->hidden >> t->sort_col & 1));
        t->sort_desc = t->sort_col >= 0 && t->cols[t->sort_col].numeric; /* numbers: biggest first */
        table_refresh(t);
        return 1;
    case 'S':
        if (t->sort_col < 0)
            t->sort_col = 0;
        else
            t->sort_desc = !t->sort_desc;
        table_refresh(t);
        return 1;
    case '/':
        t->editing = 1;
        return 1;
    case 'g':
        if (t->group_col < 0)
            return 0;
        t->grouped = !t->grouped;
        table_refresh(t);
        return 1;
    case ' ':
        if (!allow_space_mark || t->nview == 0)
            return 0;
        table_toggle_mark(t, t->src.id(t->src.ctx, t->view[t->cursor]));
        t->cursor++;
        break;
    case KEY_MOUSE: {
        int activated = 0;
        if (!click(t, &activated))
            return 0;
        return activated && t->nview > 0 ? 2 : 1;
    }
    default:
        return 0;
    }
    if (t->top > t->nview - 1)
        t->top = t->nview - 1;
    clamp(t);
    remember_cursor(t);
    return 1;
}

/* RFC 4180 field: quoted when it holds a comma, quote or line break. */
static void csv_field(FILE *out, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

int table_write_csv(const struct table *t, FILE *out)
{
    for (int c = 0; c < t->ncols; c++) {
        if (c)
            fputc(',', out);
        csv_field(out, t->cols[c].name);
    }
    fputc('\n', out);
    char buf[CELL_MAX];
    for (long i = 0; i < t->nview; i++) {
        for (int c = 0; c < t->ncols; c++) {
            if (c)
                fputc(',', out);
            t->src.cell(t->src.ctx, t->view[i], c, buf, sizeof buf);
            csv_field(out, buf);
        }
        fputc('\n', out);
    }
    return ferror(out) ? -1 : 0;
}
