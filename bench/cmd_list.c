/* cmd_list.c - `kbench list`: the kernels compiled in (and plugins'), optionally filtered by a
 * pattern, each with the operation it implements; `--operations`: the operations themselves. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/cli.h"
#include "datasets/presets.h"
#include "harness/plan.h"
#include "harness/plugin.h"
#include "kernels/kernel.h"
#include "reports/json_writer.h"

static void dtype_list(unsigned mask, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int t = 0; t < KB_DTYPE_COUNT && used < len; t++)
        if (mask & KB_DTYPE_BIT(t))
            used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "," : "", kb_dtype_name((enum kb_dtype)t));
    if (!buf[0])
        snprintf(buf, len, "-");
}

static const char *text_or_dash(const char *s)
{
    return s && *s ? s : "-";
}

/* The operation a kernel implements; "-" for a kernel of the old form (no .op), which the port
 * to operations has not reached yet. */
static const char *operation_of(const struct kb_kernel *k)
{
    return k->op && k->op->name ? k->op->name : "-";
}

/* "batch,heads,seq" */
static void axes_list(uint64_t axes, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int a = 0; a < KB_AXIS_COUNT && used < len; a++)
        if (axes & KB_AXIS_BIT(a))
            used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "," : "", kb_axis_info((enum kb_axis)a)->key);
    if (!buf[0])
        snprintf(buf, len, "-");
}

static void print_long(const struct kb_kernel *k)
{
    char dtypes[64];
    dtype_list(k->dtypes, dtypes, sizeof dtypes);
    printf("%s@%s\n", k->name, text_or_dash(k->impl));
    printf("  operation    %s\n", operation_of(k));
    printf("  family       %s\n", text_or_dash(kb_family_name(kb_kernel_family(k))));
    printf("  device       %s\n", k->device == KB_DEVICE_CUDA ? "cuda" : "cpu");
    printf("  dtypes       %s\n", dtypes);
    printf("  reference    %s\n", k->is_reference ? "yes (float64 definition others are checked against)" : "no");
    printf("  axes        ");
    uint64_t axes = kb_kernel_axes(k);
    for (int a = 0; a < KB_AXIS_COUNT; a++)
        if (axes & KB_AXIS_BIT(a))
            printf(" %s", kb_axis_info((enum kb_axis)a)->key);
    printf("\n");
    if (kb_registry_origin(k))
        printf("  plugin       %s\n", kb_registry_origin(k));
    printf("  description  %s\n\n", text_or_dash(k->description));
}

/* The defaults are the planner's own (plan_spec_default), so they are what 'kbench run' uses. */
static void print_axes(void)
{
    struct plan_spec def;
    plan_spec_default(&def);
    static const struct { const char *key, *values, *help; } fixed[] = {
        { "kernels", "PATTERN,...", "kernel name patterns ('kbench list')" },
        { "devices", "cpu,cuda:N", "devices to run on" },
        { "dtype", "f32,f64,f16,bf16,i8,i4,e4m3,e5m2,mxfp4,nvfp4", "element types" },
        { "threads", "1..1024", "worker threads of CPU kernels" },
        { "cache", "hot,cold,both", "cold: flush the last-level cache before each sample" },
    };
    enum { ROWS = 5 + KB_AXIS_COUNT };
    char cells[ROWS][4][128];
    const char *help[ROWS];
    int n = 0;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++, n++) {
        snprintf(cells[n][0], sizeof cells[n][0], "%s", fixed[i].key);
        snprintf(cells[n][1], sizeof cells[n][1], "-");
        plan_spec_value_string(&def, fixed[i].key, cells[n][2], sizeof cells[n][2]);
        snprintf(cells[n][3], sizeof cells[n][3], "%s", fixed[i].values);
        help[n] = fixed[i].help;
    }
    for (int a = 0; a < KB_AXIS_COUNT; a++, n++) {
        const struct kb_axis_info *ax = kb_axis_info((enum kb_axis)a);
        snprintf(cells[n][0], sizeof cells[n][0], "%s", ax->key);
        snprintf(cells[n][1], sizeof cells[n][1], "%s", ax->column);
        plan_spec_value_string(&def, ax->key, cells[n][2], sizeof cells[n][2]);
        kb_axis_values_string((enum kb_axis)a, cells[n][3], sizeof cells[n][3]);
        help[n] = ax->help;
    }
    static const char *const head[4] = { "axis", "column", "default", "values" };
    int width[4];
    for (int c = 0; c < 4; c++) {
        width[c] = (int)strlen(head[c]);
        for (int r = 0; r < n; r++)
            if ((int)strlen(cells[r][c]) > width[c])
                width[c] = (int)strlen(cells[r][c]);
    }
    printf("%-*s  %-*s  %-*s  %-*s  meaning\n", width[0], head[0], width[1], head[1], width[2], head[2],
           width[3], head[3]);
    for (int r = 0; r < n; r++)
        printf("%-*s  %-*s  %-*s  %-*s  %s\n", width[0], cells[r][0], width[1], cells[r][1], width[2],
               cells[r][2], width[3], cells[r][3], help[r]);
    printf("\nA kernel sweeps only its own axes ('kbench list --long' names them). These are the\n"
           "defaults of 'kbench run' given axes; a suite's keys override them, and 'kbench run'\n"
           "with neither --suite nor axes runs the 'quick' suite. Integer axes take N, N,M,...,\n"
           "LO:HI:xF or LO:HI:+S (4k = 4096); every axis takes a comma list.\n");
}

static void print_presets(void)
{
    size_t n;
    const struct kb_preset *p = kb_presets(&n);
    for (size_t i = 0; i < n; i++) {
        printf("%s\n  %s\n ", p[i].name, p[i].description);
        for (int k = 0; p[i].settings[k].key; k++)
            printf(" %s=%s", p[i].settings[k].key, p[i].settings[k].value);
        printf("\n\n");
    }
}

/* ---- --operations ------------------------------------------------------------------------ */

/* How many registered kernels implement op, and the file of the first (NULL: built in). An
 * operation first implemented by a plugin's kernel is that plugin's: built-in kernels come first
 * in the registry, so one of kbench's own would be found among them. */
static int implementations_of(const struct kb_operation *op, const char **origin)
{
    size_t n;
    const struct kb_kernel *const *all = kb_registry_all(&n);
    int count = 0;
    *origin = NULL;
    for (size_t i = 0; i < n; i++)
        if (all[i]->op == op && count++ == 0)
            *origin = kb_registry_origin(all[i]);
    return count;
}

static void print_operations_json(const struct kb_operation *const *ops, size_t m)
{
    size_t nk;
    const struct kb_kernel *const *all = kb_registry_all(&nk);
    struct jw w = { .out = stdout };
    jw_open(&w, '[', 0);
    for (size_t i = 0; i < m; i++) {
        const struct kb_operation *op = ops[i];
        const char *origin;
        int impls = implementations_of(op, &origin);
        jw_open(&w, '{', 0);
        jw_key(&w, "name");
        jw_string(&w, op->name);
        jw_key(&w, "family");
        jw_string_or_null(&w, kb_family_name(op->family));
        jw_key(&w, "axes");
        jw_open(&w, '[', 1);
        for (int a = 0; a < KB_AXIS_COUNT; a++)
            if (op->axes & KB_AXIS_BIT(a))
                jw_string(&w, kb_axis_info((enum kb_axis)a)->key);
        jw_close(&w, ']');
        jw_key(&w, "dtypes");
        jw_open(&w, '[', 1);
        for (int t = 0; t < KB_DTYPE_COUNT; t++)
            if (op->dtypes & KB_DTYPE_BIT(t))
                jw_string(&w, kb_dtype_name((enum kb_dtype)t));
        jw_close(&w, ']');
        jw_key(&w, "implementations");
        jw_int(&w, impls);
        jw_key(&w, "kernels");
        jw_open(&w, '[', 1);
        for (size_t k = 0; k < nk; k++)
            if (all[k]->op == op) {
                char full[256];
                snprintf(full, sizeof full, "%s@%s", all[k]->name, text_or_dash(all[k]->impl));
                jw_string(&w, full);
            }
        jw_close(&w, ']');
        jw_key(&w, "description");
        jw_string_or_null(&w, op->description);
        jw_key(&w, "plugin");
        jw_string_or_null(&w, origin);
        jw_close(&w, '}');
    }
    jw_close(&w, ']');
    fputc('\n', stdout);
}

static void print_operations_text(const struct kb_operation *const *ops, size_t m)
{
    static const char *const head[5] = { "operation", "family", "dtypes", "impls", "axes" };
    int width[5];
    for (int c = 0; c < 5; c++)
        width[c] = (int)strlen(head[c]);
    /* pass 0 measures the columns, pass 1 prints them */
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            printf("%-*s  %-*s  %-*s  %*s  %-*s  description\n", width[0], head[0], width[1], head[1], width[2],
                   head[2], width[3], head[3], width[4], head[4]);
        for (size_t i = 0; i < m; i++) {
            const struct kb_operation *op = ops[i];
            const char *origin;
            char cell[5][256];
            snprintf(cell[0], sizeof cell[0], "%s", op->name);
            snprintf(cell[1], sizeof cell[1], "%s", text_or_dash(kb_family_name(op->family)));
            dtype_list(op->dtypes, cell[2], sizeof cell[2]);
            snprintf(cell[3], sizeof cell[3], "%d", implementations_of(op, &origin));
            axes_list(op->axes, cell[4], sizeof cell[4]);
            if (pass == 0) {
                for (int c = 0; c < 5; c++)
                    if ((int)strlen(cell[c]) > width[c])
                        width[c] = (int)strlen(cell[c]);
                continue;
            }
            printf("%-*s  %-*s  %-*s  %*s  %-*s  %s", width[0], cell[0], width[1], cell[1], width[2], cell[2],
                   width[3], cell[3], width[4], cell[4], text_or_dash(op->description));
            if (origin)
                printf(" [plugin %s]", origin);
            putchar('\n');
        }
    }
}

/* The operations some registered kernel implements, those matching pattern (NULL: all). */
static int list_operations(const char *pattern, int json)
{
    size_t n;
    const struct kb_operation *const *ops = kb_registry_operations(&n);
    const struct kb_operation **shown = malloc((n ? n : 1) * sizeof *shown);
    if (!shown)
        return cli_input_error("list", "out of memory");
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!pattern || fnmatch(pattern, ops[i]->name, 0) == 0)
            shown[m++] = ops[i];
    if (m == 0 && pattern) {
        free(shown);
        return cli_input_error("list", "no operation matches '%s' ('kbench list --operations' shows them all)",
                               pattern);
    }
    if (json)
        print_operations_json(shown, m);
    else if (m == 0)
        printf("no operations\n");
    else
        print_operations_text(shown, m);
    free(shown);
    if (fflush(stdout) != 0)
        return cli_input_error("list", "cannot write the output: %m");
    return EXIT_OK;
}

enum { OPT_LONG = 'l', OPT_AXES = 256, OPT_PRESETS, OPT_FORMAT, OPT_PLUGIN, OPT_OPERATIONS };

static const struct cli_option options[] = {
    { "long", 'l', OPT_LONG, NULL, CLI_TEXT,
      "one block per kernel, with its device and whether it is a float64 reference that other "
      "kernels are checked against, and its axes", NULL, 0 },
    { "operations", 0, OPT_OPERATIONS, NULL, CLI_TEXT,
      "list the operations instead of the kernels: what is computed, each defined once (its inputs, "
      "float64 reference, FLOP and byte counts), with its family, dtypes, how many kernels implement "
      "it and its axes; PATTERN then matches operation names. An operation a plugin defines ends in "
      "[plugin FILE]", NULL, 0 },
    { "axes", 0, OPT_AXES, NULL, CLI_TEXT, "the shape axes a suite or 'kbench run' can sweep, with their defaults",
      NULL, 0 },
    { "presets", 0, OPT_PRESETS, NULL, CLI_TEXT, "the model shape presets ('preset = NAME' in a suite, --preset NAME)",
      NULL, 0 },
    { "format", 0, OPT_FORMAT, "FMT", CLI_CHOICE, "text or json (text): json is one array of kernels (of operations with --operations)", "text json", 0 },
    { "plugin", 0, OPT_PLUGIN, "PATH", CLI_FILE,
      "also list the kernels of a plugin (a shared object; repeatable; $KBENCH_PLUGIN_PATH's are always listed)",
      NULL, 0 },
    CLI_END_OPTIONS,
};

static const struct cli_operand operands[] = {
    { "PATTERN", CLI_KERNEL, "a shell pattern over NAME or NAME@IMPL, as in 'kbench run --kernels' (all kernels)" },
    { NULL, CLI_TEXT, NULL },
};

const struct cli_command cli_cmd_list = {
    .name = "list",
    .fn = cmd_list,
    .summary = "list the kernels compiled in",
    .synopsis = "[PATTERN] [--long] [--format text|json]\n--operations [PATTERN] [--format text|json]\n"
                "--axes | --presets",
    .description = "Lists the kernels compiled into kbench: name, implementation, the operation it "
                   "implements, family, the dtypes it accepts and what it is. Kernels of plugins (--plugin, "
                   "$KBENCH_PLUGIN_PATH) follow, their description ending in [plugin FILE].\n\n"
                   "An operation (attention.softmax, quant.gemm_int8, ...) is what is computed, defined once: "
                   "its inputs, its float64 reference and tolerance, its FLOP and byte counts. Its "
                   "implementations (the kernels) see the same inputs and are judged and counted alike. "
                   "--operations lists the operations, with how many kernels implement each.",
    .options = options,
    .operands = operands,
    .max_operands = 1,
    .example = "kbench list 'attention.*@cpu.*'; kbench list --operations",
};

/* The kernels as one JSON array: what the table shows, with the axes --long names. */
static void print_json(const struct kb_kernel *const *shown, size_t m)
{
    struct jw w = { .out = stdout };
    jw_open(&w, '[', 0);
    for (size_t i = 0; i < m; i++) {
        const struct kb_kernel *k = shown[i];
        jw_open(&w, '{', 0);
        jw_key(&w, "name");
        jw_string(&w, k->name);
        jw_key(&w, "impl");
        jw_string_or_null(&w, k->impl);
        jw_key(&w, "operation");
        jw_string_or_null(&w, k->op ? k->op->name : NULL);
        jw_key(&w, "family");
        jw_string_or_null(&w, kb_family_name(kb_kernel_family(k)));
        jw_key(&w, "device");
        jw_string(&w, k->device == KB_DEVICE_CUDA ? "cuda" : "cpu");
        jw_key(&w, "dtypes");
        jw_open(&w, '[', 1);
        for (int t = 0; t < KB_DTYPE_COUNT; t++)
            if (k->dtypes & KB_DTYPE_BIT(t))
                jw_string(&w, kb_dtype_name((enum kb_dtype)t));
        jw_close(&w, ']');
        jw_key(&w, "reference");
        jw_bool(&w, k->is_reference);
        jw_key(&w, "axes");
        jw_open(&w, '[', 1);
        uint64_t axes = kb_kernel_axes(k);
        for (int a = 0; a < KB_AXIS_COUNT; a++)
            if (axes & KB_AXIS_BIT(a))
                jw_string(&w, kb_axis_info((enum kb_axis)a)->key);
        jw_close(&w, ']');
        jw_key(&w, "description");
        jw_string_or_null(&w, k->description);
        jw_key(&w, "plugin");
        jw_string_or_null(&w, kb_registry_origin(k));
        jw_close(&w, '}');
    }
    jw_close(&w, ']');
    fputc('\n', stdout);
}

int cmd_list(int argc, char **argv)
{
    const char *pattern = NULL;
    int long_form = 0, json = 0, operations = 0;
    int rc = cli_load_plugin_path("list");
    if (rc != 0)
        return rc;
    struct cli_parser p;
    cli_parser_init(&p, &cli_cmd_list, argc, argv);
    int c;
    while ((c = cli_next(&p)) != CLI_DONE) {
        switch (c) {
        case OPT_LONG: long_form = 1; break;
        case OPT_OPERATIONS: operations = 1; break;
        case OPT_AXES: print_axes(); return EXIT_OK;
        case OPT_PRESETS: print_presets(); return EXIT_OK;
        case OPT_FORMAT:
            if (strcmp(p.arg, "json") != 0 && strcmp(p.arg, "text") != 0)
                return cli_usage_error("list", "bad --format '%s' (expected text or json)", p.arg);
            json = strcmp(p.arg, "json") == 0;
            break;
        case OPT_PLUGIN: {
            char err[1536];
            if (plugin_load(p.arg, err, sizeof err) != 0)
                return cli_input_error("list", "%s", err);
            break;
        }
        case CLI_STOP: return p.status;
        }
    }
    if (p.n_operands)
        pattern = p.operands[0];
    if (operations) {
        if (long_form)
            return cli_usage_error("list", "--operations and --long do not go together (--format json gives "
                                   "each operation's kernels)");
        return list_operations(pattern, json);
    }

    size_t n;
    const struct kb_kernel *const *all = kb_registry_all(&n);
    const struct kb_kernel **shown = malloc((n ? n : 1) * sizeof *shown);
    if (!shown)
        return cli_input_error("list", "out of memory");
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!pattern || kb_kernel_matches(all[i], pattern))
            shown[m++] = all[i];
    if (m == 0) {
        free(shown);
        if (pattern)
            return cli_input_error("list", "no kernel matches '%s' (patterns match NAME or NAME@IMPL; "
                                   "'kbench list' shows them all)", pattern);
        printf("no kernels compiled in\n");
        return EXIT_OK;
    }

    if (json) {
        print_json(shown, m);
    } else if (long_form) {
        for (size_t i = 0; i < m; i++)
            print_long(shown[i]);
    } else {
        int wname = (int)strlen("name"), wimpl = (int)strlen("impl"), wop = (int)strlen("operation"),
            wfam = (int)strlen("family"), wdt = (int)strlen("dtypes");
        for (size_t i = 0; i < m; i++) {
            char dtypes[64];
            dtype_list(shown[i]->dtypes, dtypes, sizeof dtypes);
            int l;
            if ((l = (int)strlen(shown[i]->name)) > wname) wname = l;
            if ((l = (int)strlen(text_or_dash(shown[i]->impl))) > wimpl) wimpl = l;
            if ((l = (int)strlen(operation_of(shown[i]))) > wop) wop = l;
            if ((l = (int)strlen(text_or_dash(kb_family_name(kb_kernel_family(shown[i]))))) > wfam) wfam = l;
            if ((l = (int)strlen(dtypes)) > wdt) wdt = l;
        }
        printf("%-*s  %-*s  %-*s  %-*s  %-*s  %s\n", wname, "name", wimpl, "impl", wop, "operation", wfam, "family",
               wdt, "dtypes", "description");
        for (size_t i = 0; i < m; i++) {
            const struct kb_kernel *k = shown[i];
            char dtypes[64];
            dtype_list(k->dtypes, dtypes, sizeof dtypes);
            printf("%-*s  %-*s  %-*s  %-*s  %-*s  %s", wname, k->name, wimpl, text_or_dash(k->impl), wop,
                   operation_of(k), wfam, text_or_dash(kb_family_name(kb_kernel_family(k))), wdt, dtypes,
                   text_or_dash(k->description));
            if (kb_registry_origin(k))
                printf(" [plugin %s]", kb_registry_origin(k));
            putchar('\n');
        }
    }
    free(shown);
    if (fflush(stdout) != 0)
        return cli_input_error("list", "cannot write the output: %m");
    return EXIT_OK;
}
