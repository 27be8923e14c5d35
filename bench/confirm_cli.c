/* confirm_cli.c - the confirmation options of compare and nightly, and running it (cli.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/cli.h"
#include "harness/confirm.h"

void cli_confirm_init(struct cli_confirm *c, int enabled)
{
    memset(c, 0, sizeof *c);
    c->enabled = enabled;
    c->rounds = 3;
}

int cli_confirm_option(const char *cmd, int opt, const char *arg, struct cli_confirm *c)
{
    long l;
    switch (opt) {
    case CLI_OPT_CONFIRM: c->enabled = 1; return 0;
    case CLI_OPT_NO_CONFIRM: c->enabled = 0; return 0;
    case CLI_OPT_BASELINE_BIN:
        if (access(arg, X_OK) != 0)
            return cli_input_error(cmd, "--baseline-bin %s: not an executable file (%m)", arg);
        c->baseline_bin = arg;
        return 0;
    case CLI_OPT_BASELINE_PLUGIN:
        if (access(arg, R_OK) != 0)
            return cli_input_error(cmd, "--baseline-plugin %s: cannot read it (%m)", arg);
        if (c->n_baseline_plugins == (int)(sizeof c->baseline_plugins / sizeof c->baseline_plugins[0]))
            return cli_usage_error(cmd, "too many --baseline-plugin options");
        c->baseline_plugins[c->n_baseline_plugins++] = arg;
        return 0;
    case CLI_OPT_CONFIRM_ROUNDS:
        if (cli_parse_int(arg, 1, 100, &l) != 0)
            return cli_usage_error(cmd, "bad --confirm-rounds '%s' (expected an integer in [1, 100])", arg);
        c->rounds = (int)l;
        return 0;
    default:
        return 1;
    }
}

/* The run options a re-measurement takes over: how to sample and count, not what to measure. */
static const char *const sampling[] = {
    "noise", "max-time", "min-time", "min-samples", "min-samples-cap", "max-samples", "throttle-threshold",
    "include-throttled", "warmup", "min-sample-time", "timeout", "counters", "no-counters", "metrics", "no-metrics",
};

static const struct cli_option *run_option_named(const char *name, size_t len)
{
    for (const struct cli_option *o = cli_cmd_run.options; o->name || o->help || o->flags; o++)
        if (o->name && strlen(o->name) == len && strncmp(o->name, name, len) == 0)
            return o;
    return NULL;
}

void cli_confirm_sampling_words(int argc, char *const *argv, struct remeasure_words *out)
{
    for (int i = 0; i < argc; i++) {
        const char *w = argv[i];
        if (strncmp(w, "--", 2) != 0)
            continue;
        const char *name = w + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const struct cli_option *o = run_option_named(name, len);
        int keep = 0;
        for (size_t k = 0; o && k < sizeof sampling / sizeof sampling[0]; k++)
            keep |= strcmp(o->name, sampling[k]) == 0;
        int takes_value = o && o->arg && !eq;
        if (keep) {
            remeasure_words_add(out, w);
            if (takes_value && i + 1 < argc)
                remeasure_words_add(out, argv[i + 1]);
        }
        if (takes_value)
            i++;
    }
}

struct plugin_paths { char (*v)[4096]; int n; };

static int collect_plugin(const struct run_plugin *p, void *ctx)
{
    struct plugin_paths *pp = ctx;
    char (*v)[4096] = realloc(pp->v, (size_t)(pp->n + 1) * sizeof *v);
    if (!v)
        return 1;
    pp->v = v;
    snprintf(pp->v[pp->n++], sizeof pp->v[0], "%s", p->path);
    return 0;
}

static void progress_line(const char *line, void *ctx)
{
    fprintf(stderr, "kbench %s: %s\n", (const char *)ctx, line);
}

int cli_confirm_run(const char *cmd, const struct cli_confirm *c, const char *db_path, struct store *st,
                    struct compare_result *r, const struct remeasure_words *run_options, int quiet)
{
    int wanted = 0;
    for (size_t i = 0; i < r->n; i++)
        wanted += confirm_wanted(&r->cases[i], &r->options);
    if (!c->enabled || wanted == 0)
        return EXIT_OK;
    static char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return cli_input_error(cmd, "cannot find this kbench's own executable to re-measure with (%m)");
    self[n] = '\0';

    struct remeasure_words opts;
    remeasure_words_init(&opts);
    if (run_options) {
        for (int i = 0; i < run_options->n; i++)
            remeasure_words_add(&opts, run_options->v[i]);
    } else {
        int argc = 0;
        char **argv = NULL;
        if (store_run_args(st, r->cand.id, &argc, &argv) == 0) {
            cli_confirm_sampling_words(argc, argv, &opts);
            store_free_argv(argv);
        }
    }
    struct plugin_paths cand = { 0 }, base = { 0 };
    if (store_list_run_plugins(st, r->cand.id, collect_plugin, &cand) != 0 ||
        store_list_run_plugins(st, r->base.id, collect_plugin, &base) != 0) {
        free(cand.v);
        free(base.v);
        return cli_input_error(cmd, "%s", store_errmsg(st));
    }
    const char *cand_p[64], *base_p[64];
    int ncp = 0, nbp = 0;
    for (int i = 0; i < cand.n && ncp < 64; i++)
        cand_p[ncp++] = cand.v[i];
    if (c->n_baseline_plugins)
        for (int i = 0; i < c->n_baseline_plugins; i++)
            base_p[nbp++] = c->baseline_plugins[i];
    else
        for (int i = 0; i < base.n && nbp < 64; i++)
            base_p[nbp++] = base.v[i];

    struct confirm_options o;
    confirm_options_default(&o);
    o.db_path = db_path;
    o.rounds = c->rounds;
    o.run_options = &opts;
    o.candidate.bin = self;
    o.candidate.plugins = cand_p;
    o.candidate.n_plugins = ncp;
    if (c->baseline_bin || c->n_baseline_plugins) {
        o.baseline.bin = c->baseline_bin ? c->baseline_bin : self;
        o.baseline.plugins = base_p;
        o.baseline.n_plugins = nbp;
    }
    o.progress = quiet ? NULL : progress_line;
    o.ctx = (void *)cmd;
    if (!quiet)
        fprintf(stderr, "kbench %s: confirming %d flagged case%s (%d round%s%s)\n", cmd, wanted, wanted == 1 ? "" : "s",
                o.rounds, o.rounds == 1 ? "" : "s",
                o.baseline.bin ? ", baseline and candidate in turn" : ", against the base run");
    char err[1024];
    int rc = confirm_flagged(st, r, &o, err, sizeof err);
    free(cand.v);
    free(base.v);
    if (rc != 0)
        return cli_input_error(cmd, "%s", err);
    return EXIT_OK;
}
