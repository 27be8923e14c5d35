/* cmd_bisect.c - `kbench bisect GOOD BAD --case SPEC --build CMD`: the first commit that made a
 * case slower, in kbench's own repository or a user's plugin repository (harness/bisect.h). */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/cli.h"
#include "harness/bisect.h"
#include "reports/reports.h"

enum { OPT_CASE = 256, OPT_BUILD, OPT_REPO, OPT_PLUGIN, OPT_BIN, OPT_DB, OPT_WORKDIR, OPT_KEEP, OPT_QUIET,
       OPT_PASS_ARG, OPT_PASS_FLAG };

static const struct cli_option options[] = {
    { "case", 0, OPT_CASE, "SPEC", CLI_TEXT,
      "the case: a kernel (name or name@impl) and axis=value words, e.g. 'attention.flash@cpu seq=4096 "
      "head_dim=128' (device=, dtype=, threads=, cache= too); it must plan exactly one case", NULL, 0 },
    { "build", 0, OPT_BUILD, "CMD", CLI_TEXT, "the shell command that builds a commit, run in its checkout", NULL, 0 },
    { "repo", 0, OPT_REPO, "DIR", CLI_DIR, "the git repository whose commits are walked (.)", NULL, 0 },
    { "plugin", 0, OPT_PLUGIN, "PATH", CLI_TEXT,
      "the plugin the build makes, relative to the checkout: measured with this kbench; without it the build "
      "makes kbench itself (--bin)", NULL, 0 },
    { "bin", 0, OPT_BIN, "PATH", CLI_TEXT, "the kbench executable the build makes, relative to the checkout (kbench)",
      NULL, 0 },
    { "workdir", 0, OPT_WORKDIR, "DIR", CLI_DIR,
      "an empty folder for the clone, the builds and build.log (a temporary one, removed unless --keep)", NULL, 0 },
    { "keep", 0, OPT_KEEP, NULL, CLI_TEXT, "keep the work folder (the clone, each commit's build, build.log)", NULL, 0 },
    { "db", 0, OPT_DB, "PATH", CLI_DB, "database the measurements are stored in (./kbench.db, or $KBENCH_DB)", NULL, 0 },
    { "quiet", 0, OPT_QUIET, NULL, CLI_TEXT, "no progress", NULL, 0 },
    CLI_COMPARE_OPTIONS,
    CLI_HEADING("passed to kbench run"),
    { "max-time", 0, OPT_PASS_ARG, "S", CLI_TEXT, "per-case sampling budget in seconds", NULL, 0 },
    { "min-time", 0, OPT_PASS_ARG, "S", CLI_TEXT, "sample at least this long", NULL, 0 },
    { "min-samples", 0, OPT_PASS_ARG, "N", CLI_TEXT, "take at least N samples", NULL, 0 },
    { "max-samples", 0, OPT_PASS_ARG, "N", CLI_TEXT, "take at most N samples", NULL, 0 },
    { "min-sample-time", 0, OPT_PASS_ARG, "S", CLI_TEXT, "time one sample at least this long", NULL, 0 },
    { "noise", 0, OPT_PASS_ARG, "F", CLI_TEXT, "noise target of the median's CI", NULL, 0 },
    { "timeout", 0, OPT_PASS_ARG, "S", CLI_TEXT, "kill a case after S seconds", NULL, 0 },
    { "no-counters", 0, OPT_PASS_FLAG, NULL, CLI_TEXT, "skip the PAPI pass", NULL, 0 },
    CLI_END_OPTIONS,
};

static const struct cli_operand operands[] = {
    { "GOOD", CLI_TEXT, "a commit where the case is fast (any revision git understands)" },
    { "BAD", CLI_TEXT, "a later commit where it is slow; GOOD must be its ancestor" },
    { NULL, CLI_TEXT, NULL },
};

static const struct cli_exit exits[] = {
    { 0, "the first bad commit was found" },
    { 1, "no answer: BAD is not shown slower than GOOD, GOOD or BAD cannot be built or measured" },
    { 2, "usage or input error (not a repository, unknown commits, GOOD not an ancestor of BAD, a --case that "
         "plans other than one case)" },
    { -1, NULL },
};

const struct cli_command cli_cmd_bisect = {
    .name = "bisect",
    .fn = cmd_bisect,
    .summary = "find the commit that made a case slower: build, measure, binary search",
    .synopsis = "GOOD BAD --case SPEC --build CMD [--repo DIR] [--plugin PATH] [OPTIONS]",
    .description =
        "Walks the commits from GOOD to BAD (first parents) of kbench's own repository or of a plugin's, "
        "builds each one it tests with CMD in a clone (the repository's own work tree is not touched), "
        "measures the case with the build (a plugin with this kbench, or the kbench the build made) and "
        "names the first commit that is slower, with the evidence: the times and CIs of the last good and the "
        "first bad commit, and the change between them with its CI and p.\n\n"
        "GOOD and BAD are measured first; BAD must be shown slower than GOOD with compare's statistics "
        "(Mann-Whitney U and the bootstrap CI of the ratio of medians, beyond --threshold). Each commit tested "
        "is bad when it is shown slower than GOOD and good when BAD is shown slower than it; if neither, it is "
        "measured once more, then given to the side whose median it is nearer. A commit that fails to build, or "
        "whose case does not verify, is skipped (the nearest untested commit is tried instead) and reported. "
        "Every measurement is stored as a run tagged bisect-<commit> (kbench runs, kbench show). The cost "
        "(builds, measurements, minutes) is reported at the end.",
    .options = options,
    .operands = operands,
    .max_operands = 2,
    .exits = exits,
    .example = "kbench bisect v1.2 HEAD --repo ~/my-kernels --build make --plugin libmine.so "
               "--case 'mine.attn@cpu seq=4096'",
};

/* "KERNEL key=value ..." as run options. */
static int case_words(const char *spec, struct remeasure_words *w)
{
    char buf[1024], opt[128];
    snprintf(buf, sizeof buf, "%s", spec);
    int first = 1;
    for (char *tok = strtok(buf, " \t"); tok; tok = strtok(NULL, " \t")) {
        if (first) {
            if (strchr(tok, '=') || tok[0] == '-')
                return cli_usage_error("bisect", "bad --case '%s': it starts with the kernel (name or name@impl)", spec);
            if (remeasure_words_add(w, "--kernels") || remeasure_words_add(w, tok))
                return cli_usage_error("bisect", "--case '%s' is too long", spec);
            first = 0;
            continue;
        }
        char *eq = strchr(tok, '=');
        if (!eq || eq == tok || !eq[1])
            return cli_usage_error("bisect", "bad word '%s' in --case (expected axis=value, e.g. seq=4096)", tok);
        *eq = '\0';
        const char *key = strcmp(tok, "device") == 0 ? "devices" : tok;
        snprintf(opt, sizeof opt, "--%s", key);
        if (remeasure_words_add(w, opt) || remeasure_words_add(w, eq + 1))
            return cli_usage_error("bisect", "--case '%s' is too long", spec);
    }
    if (first)
        return cli_usage_error("bisect", "--case is empty: name the kernel");
    return 0;
}

static void fmt_time(double s, char *buf, size_t len)
{
    if (isnan(s))
        snprintf(buf, len, "-");
    else
        report_format_seconds(s, buf, len);
}

static void on_event(const struct bisect_event *ev, void *ctx)
{
    (void)ctx;
    const struct bisect_commit *c = ev->commit;
    const char *role = ev->index == 0 ? "GOOD " : ev->index + 1 == ev->total ? "BAD " : "";
    if (ev->kind == BISECT_EV_BUILD)
        fprintf(stderr, "kbench bisect: %s%.12s %.60s: building\n", role, c->sha, c->subject);
    else if (ev->kind == BISECT_EV_MEASURE)
        fprintf(stderr, "kbench bisect: %s%.12s: measuring\n", role, c->sha);
    else {
        char m[32];
        fmt_time(c->median, m, sizeof m);
        fprintf(stderr, "kbench bisect: %s%.12s: %s%s%s%s%s\n", role, c->sha, ev->index + 1 == ev->total &&
                c->state == BISECT_BAD ? "measured" : bisect_state_name(c->state), isnan(c->median) ? "" : ", ",
                isnan(c->median) ? "" : m, *c->note ? ": " : "", c->note);
    }
}

static void print_result(const struct bisect_result *r, const struct bisect_options *o)
{
    printf("%-12s %-22s %10s %23s %6s  %s\n", "commit", "state", "median", "95% CI", "n", "subject");
    for (size_t i = 0; i < r->n; i++) {
        const struct bisect_commit *c = &r->commits[i];
        char m[32], lo[32], hi[32], ci[64] = "-", state[32];
        fmt_time(c->median, m, sizeof m);
        fmt_time(c->ci_lo, lo, sizeof lo);
        fmt_time(c->ci_hi, hi, sizeof hi);
        if (!isnan(c->ci_lo))
            snprintf(ci, sizeof ci, "%s..%s", lo, hi);
        snprintf(state, sizeof state, "%s%s", bisect_state_name(c->state),
                 (long)i == r->first_bad ? " <- first bad" : "");
        printf("%.12s %-22s %10s %23s %6zu  %.70s\n", c->sha, state, m, ci, c->n, c->subject);
        if (*c->note && c->state != BISECT_UNTESTED)
            printf("%14s%s\n", "", c->note);
    }
    int skips = 0;
    for (size_t i = 0; i < r->n; i++)
        skips += r->commits[i].state == BISECT_SKIPPED_BUILD || r->commits[i].state == BISECT_SKIPPED_MEASURE;
    printf("\n");
    if (r->first_bad >= 0) {
        const struct bisect_commit *g = &r->commits[r->last_good], *b = &r->commits[r->first_bad];
        char gm[32], gl[32], gh[32], bm[32], bl[32], bh[32];
        fmt_time(g->median, gm, sizeof gm);
        fmt_time(g->ci_lo, gl, sizeof gl);
        fmt_time(g->ci_hi, gh, sizeof gh);
        fmt_time(b->median, bm, sizeof bm);
        fmt_time(b->ci_lo, bl, sizeof bl);
        fmt_time(b->ci_hi, bh, sizeof bh);
        if (r->ambiguous) {
            printf("the first bad commit is one of %ld commits up to %s (the ones between were skipped):\n",
                   r->first_bad - r->last_good, b->sha);
            for (long i = r->last_good + 1; i <= r->first_bad; i++)
                printf("  %s %s\n", r->commits[i].sha, r->commits[i].subject);
        } else {
            printf("first bad commit: %s %s\n", b->sha, b->subject);
        }
        printf("evidence: last good %.12s %s (95%% CI %s..%s, n=%zu, run %lld); first bad %.12s %s (95%% CI %s..%s, "
               "n=%zu, run %lld)\n", g->sha, gm, gl, gh, g->n, (long long)g->run_id, b->sha, bm, bl, bh, b->n,
               (long long)b->run_id);
        const struct compare_case *e = &r->evidence;
        printf("change: %+.1f%% (%g%% CI %+.1f%%..%+.1f%%, p=%.2g): %s\n", 100 * (e->ratio - 1),
               100 * (1 - o->compare.alpha), 100 * (e->ratio_lo - 1), 100 * (e->ratio_hi - 1), e->p_slower,
               compare_verdict_name(e->verdict));
    } else {
        printf("no first bad commit: %s\n", r->error);
    }
    if (skips)
        printf("skipped: %d commit%s (build or verification failed; see above)\n", skips, skips == 1 ? "" : "s");
    printf("cost: %d build%s, %d measurement%s, %.1f minutes (%.0f s)\n", r->builds, r->builds == 1 ? "" : "s",
           r->measurements, r->measurements == 1 ? "" : "s", r->seconds / 60, r->seconds);
}

int cmd_bisect(int argc, char **argv)
{
    const char *spec = NULL, *build = NULL, *repo = ".", *plugin = NULL, *bin = "kbench", *db = NULL, *workdir = NULL;
    int keep = 0, quiet = 0, opt, rc;
    struct compare_options co;
    struct cli_compare cc = { .n_threshold_for = 0 };
    compare_options_default(&co);
    static struct remeasure_words words, sampling;
    remeasure_words_init(&words);
    remeasure_words_init(&sampling);
    struct cli_parser p;
    cli_parser_init(&p, &cli_cmd_bisect, argc, argv);
    while ((opt = cli_next(&p)) != CLI_DONE) {
        const char *a = p.arg;
        switch (opt) {
        case OPT_CASE: spec = a; break;
        case OPT_BUILD: build = a; break;
        case OPT_REPO: repo = a; break;
        case OPT_PLUGIN: plugin = a; break;
        case OPT_BIN: bin = a; break;
        case OPT_DB: db = a; break;
        case OPT_WORKDIR: workdir = a; break;
        case OPT_KEEP: keep = 1; break;
        case OPT_QUIET: quiet = 1; break;
        case OPT_PASS_ARG:
        case OPT_PASS_FLAG: {
            char name[64];
            snprintf(name, sizeof name, "--%s", p.long_name);
            if (remeasure_words_add(&sampling, name) || (a && remeasure_words_add(&sampling, a)))
                return cli_usage_error("bisect", "too many options for kbench run");
            break;
        }
        case CLI_STOP: return p.status;
        default:
            if ((rc = cli_compare_option("bisect", opt, a, &co, &cc)) != 0)
                return rc;
        }
    }
    if (p.n_operands != 2)
        return cli_usage_error("bisect", "expected two commits, GOOD and BAD (got %d)", p.n_operands);
    if (!spec)
        return cli_usage_error("bisect", "--case is required: the case to measure");
    if (!build)
        return cli_usage_error("bisect", "--build is required: the command that builds a commit");
    if ((rc = case_words(spec, &words)) != 0)
        return rc;
    if ((rc = cli_compare_finish("bisect", NULL, 0, &co, &cc)) != 0)
        return rc;
    if (access(repo, F_OK) != 0)
        return cli_input_error("bisect", "--repo %s: no such folder", repo);
    char repo_abs[PATH_MAX], self[PATH_MAX], wd[PATH_MAX], log[PATH_MAX + 16];
    if (!realpath(repo, repo_abs))
        return cli_input_error("bisect", "--repo %s: %m", repo);
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return cli_input_error("bisect", "cannot find this kbench's own executable (%m)");
    self[n] = '\0';
    const char *db_path = cli_db_path(db);
    char db_abs[PATH_MAX];
    /* created now (the measurements write it, this process reads it), and absolute: builds run elsewhere */
    struct store *st;
    if ((rc = cli_open_store("bisect", db_path, STORE_WRITE, &st)) != 0)
        return rc;
    store_close(st);
    if (!realpath(db_path, db_abs))
        return cli_input_error("bisect", "--db %s: %m", db_path);
    int made_wd = 0;
    if (workdir) {
        if (!realpath(workdir, wd))
            return cli_input_error("bisect", "--workdir %s: %m", workdir);
        keep = 1;
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(wd, sizeof wd, "%s/kbench-bisect.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(wd))
            return cli_input_error("bisect", "cannot create a work folder %s: %m", wd);
        made_wd = 1;
    }
    snprintf(log, sizeof log, "%s/build.log", wd);

    struct bisect_options o = {
        .repo = repo_abs, .good = p.operands[0], .bad = p.operands[1], .build = build, .plugin = plugin,
        .bin = bin, .self_bin = self, .db_path = db_abs, .case_words = &words, .run_options = &sampling,
        .compare = co, .workdir = wd, .log_path = log, .on_event = quiet ? NULL : on_event,
    };
    struct bisect_result r;
    int brc = bisect_run(&o, &r);
    if (brc < 0) {
        rc = cli_input_error("bisect", "%s", r.error);
    } else {
        print_result(&r, &o);
        rc = brc == 0 ? EXIT_OK : EXIT_FAILED;
    }
    bisect_result_free(&r);
    if (keep) {
        fprintf(stderr, "kbench bisect: the clone, the builds and build.log are in %s\n", wd);
    } else if (made_wd) {
        char *rm[] = { "rm", "-rf", wd, NULL };
        char tail[2];
        remeasure_spawn(rm, NULL, NULL, tail, 0);
    }
    return rc;
}
