/* cmd_tui.c - `kbench tui`: the interactive dashboard (tui/). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench/cli.h"
#include "tui/tui.h"

static const struct cli_option options[] = {
    { "db", 0, 'd', "PATH", CLI_DB,
      "database (./kbench.db, or $KBENCH_DB); only read, but for the runs the dashboard is asked to measure", NULL,
      0 },
    { "export-dir", 0, 'x', "DIR", CLI_DIR, "where e writes CSV, PNG and SVG files (the current directory)",
      NULL, 0 },
    CLI_END_OPTIONS,
};

const struct cli_command cli_cmd_tui = {
    .name = "tui",
    .fn = cmd_tui,
    .summary = "the interactive dashboard: runs, results, plots, compare, live",
    .synopsis = "[--db PATH] [--export-dir DIR]",
    .description =
        "The dashboard: runs (newest first), a run's results (sort, filter, group by kernel), a case's "
        "statistics, histogram, counters and machine, plots of latency or throughput against the axis the "
        "cases sweep (sequence length, tokens, experts, M, ...) with each curve's scaling exponent and "
        "crossovers (through gnuplot), two implementations side by side, and two runs compared case by "
        "case. It measures too, through the harness in a process of its own: M re-measures the marked "
        "cases into a new run, R repeats a run, U resumes an interrupted one; Ctrl-C stops the "
        "measurement, not the dashboard. A run being written by another process shows up live. Press ? "
        "in the dashboard for every key.",
    .options = options,
    .max_operands = 0,
    .notes = "Needs a terminal of at least 80x24. NO_COLOR turns colours off. Plots need gnuplot "
             "($KBENCH_GNUPLOT, or gnuplot on PATH); without it the tables still work.",
    .example = "kbench tui --db results.db",
};

/* The dashboard's resume (measure.h's measure_resume_fn): the run re-planned from its stored
 * `kbench run` arguments, as `kbench run --resume` does, and the sweep measures what it lacks. */
static int resume_stored_run(const char *db_path, int64_t run_id, sweep_event_fn on_event, void *ctx, char *why,
                             size_t whylen)
{
    struct store *st;
    if (store_open(db_path, STORE_WRITE, &st, why, whylen) != 0)
        return -1;
    char **args = NULL;
    int nargs = 0, rc = -1;
    if (store_run_args(st, run_id, &nargs, &args) != 0 || nargs > 254) {
        snprintf(why, whylen, "%s", nargs > 254 ? "too many stored arguments" : store_errmsg(st));
        goto out;
    }
    if (nargs == 0) {
        snprintf(why, whylen, "run %lld stored no 'kbench run' arguments: it cannot be re-planned", (long long)run_id);
        goto out;
    }
    char *argv2[256];
    argv2[0] = "run";
    for (int i = 0; i < nargs; i++)
        argv2[i + 1] = args[i];
    argv2[nargs + 1] = NULL;
    struct cli_run_args stored;
    if (cli_run_parse(nargs + 1, argv2, &stored) != 0) {
        snprintf(why, whylen, "run %lld's stored arguments no longer parse", (long long)run_id);
        goto out;
    }
    struct sweep_request req;
    sweep_request_init(&req);
    cli_run_request(&stored, &req);
    req.store = st;
    req.resume_run_id = run_id;
    req.on_event = on_event;
    req.ctx = ctx;
    struct sweep_result res;
    if (sweep_run(&req, &res) != 0)
        snprintf(why, whylen, "%s", res.error);
    else
        rc = 0;
    sweep_result_free(&res);
out:
    store_free_argv(args);
    store_close(st);
    return rc;
}

int cmd_tui(int argc, char **argv)
{
    struct tui_options o = { .poll_ms = 500, .resume = resume_stored_run };
    const char *db = NULL;
    int c;
    struct cli_parser p;
    cli_parser_init(&p, &cli_cmd_tui, argc, argv);
    while ((c = cli_next(&p)) != CLI_DONE) {
        const char *optarg = p.arg;
        switch (c) {
        case 'd': db = optarg; break;
        case 'x': o.export_dir = optarg; break;
        case CLI_STOP: return p.status;
        }
    }
    o.db_path = cli_db_path(db);
    if (o.export_dir && access(o.export_dir, W_OK | X_OK) != 0)
        return cli_input_error("tui", "cannot write exports into %s: not a writable directory", o.export_dir);
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
        return cli_input_error("tui", "needs a terminal (standard input and output must be a tty); "
                                      "for text use 'kbench runs' and 'kbench show'");
    char err[600];
    int rc = tui_main(&o, err, sizeof err);
    if (rc != 0)
        return cli_input_error("tui", "%s", err);
    return EXIT_OK;
}
