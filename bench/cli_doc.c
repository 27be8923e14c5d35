/* cli_doc.c - what the commands' descriptions (struct cli_command) become besides a parser: the
 * --help text, the man page kbench.1 (roff, written at build time by 'kbench help --man') and the
 * bash completion script ('kbench help --bash-completion'). */
#include "bench/cli.h"

#include <string.h>

#include "kernels/kernel.h"

#define WIDTH 80   /* help lines stay within 80 columns */
#define HELP_COL 24 /* where an option's help starts */

static const struct cli_exit default_exits[] = {
    { 0, "ok" }, { 2, "usage or input error" }, { -1, NULL },
};

static const struct cli_exit *exits_of(const struct cli_command *c)
{
    return c->exits ? c->exits : default_exits;
}

/* ---- plain text ---------------------------------------------------------------------------- */

/* Writes text wrapped to WIDTH, every line indented by indent, the first line starting at column
 * `col` (already written); returns nothing useful, ends without a newline. */
static void wrap(FILE *out, const char *text, int indent, int col)
{
    const char *p = text;
    int first = 1;
    while (*p) {
        while (*p == ' ' || *p == '\n')
            p++;
        if (!*p)
            break;
        size_t len = strcspn(p, " \n");
        if (!first && col + 1 + (int)len > WIDTH) {
            fprintf(out, "\n%*s", indent, "");
            col = indent;
        } else if (!first) {
            fputc(' ', out);
            col++;
        }
        fwrite(p, 1, len, out);
        col += (int)len;
        p += len;
        first = 0;
    }
}

/* Paragraphs separated by a blank line; one with a line starting with two spaces is printed as
 * written (a table or list), the others are wrapped. */
static void print_paragraphs(FILE *out, const char *text)
{
    const char *p = text;
    while (*p) {
        const char *end = strstr(p, "\n\n");
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char para[4096];
        snprintf(para, sizeof para, "%.*s", (int)len, p);
        if (strstr(para, "\n  ") || strncmp(para, "  ", 2) == 0)
            fprintf(out, "%s\n\n", para);
        else {
            wrap(out, para, 0, 0);
            fputs("\n\n", out);
        }
        p += len;
        while (*p == '\n')
            p++;
    }
}

static void print_synopsis(FILE *out, const char *lead, const struct cli_command *c)
{
    const char *p = c->synopsis ? c->synopsis : "[OPTIONS]";
    int first = 1;
    while (*p) {
        size_t len = strcspn(p, "\n");
        char form[512];
        snprintf(form, sizeof form, "%.*s", (int)len, p);
        /* a long form goes on under itself, past "usage: kbench NAME " */
        int col = fprintf(out, "%s kbench %s ", first ? lead : "      ", c->name);
        wrap(out, form, col, col);
        fputc('\n', out);
        first = 0;
        p += len;
        if (*p)
            p++;
    }
}

/* "-o, --output FILE" */
static void option_label(const struct cli_option *o, const char *name, const char *arg, char *buf, size_t len)
{
    if (o && o->short_name)
        snprintf(buf, len, "-%c, --%s%s%s", o->short_name, name, arg ? " " : "", arg ? arg : "");
    else
        snprintf(buf, len, "--%s%s%s", name, arg ? " " : "", arg ? arg : "");
}

/* "  LABEL    help wrapped in its column"; a label too wide for the column gets a line of its own. */
static void print_item_at(FILE *out, const char *label, const char *help, int help_col)
{
    int col = fprintf(out, "  %s", label);
    if (col > help_col - 2)
        fprintf(out, "\n%*s", help_col, "");
    else
        fprintf(out, "%*s", help_col - col, "");
    wrap(out, help, help_col, help_col);
    fputc('\n', out);
}

static void print_item(FILE *out, const char *label, const char *help)
{
    print_item_at(out, label, help, HELP_COL);
}

static void print_exits(FILE *out, const struct cli_exit *e)
{
    fprintf(out, "Exit status:\n");
    for (; e->code >= 0; e++) {
        char code[8];
        snprintf(code, sizeof code, "%d", e->code);
        print_item_at(out, code, e->meaning, 8);
    }
}

/* "choose from: a, b, c" for an enum axis, "0 or 1" for a boolean one. */
static void axis_help(int a, char *buf, size_t len)
{
    const struct kb_axis_info *ax = kb_axis_info((enum kb_axis)a);
    snprintf(buf, len, "%s", ax->help);
}

static void axis_flag(int a, char *buf, size_t len)
{
    snprintf(buf, len, "%s", kb_axis_info((enum kb_axis)a)->key);
    for (char *c = buf; *c; c++)
        if (*c == '_')
            *c = '-';
}

void cli_print_help(FILE *out, const struct cli_command *c)
{
    print_synopsis(out, "usage:", c);
    fputc('\n', out);
    if (c->description)
        print_paragraphs(out, c->description);
    else
        fprintf(out, "%s.\n\n", c->summary);
    if (c->operands && c->operands[0].name) {
        fprintf(out, "arguments:\n");
        for (const struct cli_operand *op = c->operands; op->name; op++)
            print_item(out, op->name, op->help);
        fputc('\n', out);
    }
    int any = 0;
    for (const struct cli_option *o = c->options; o && (o->name || o->help || o->flags); o++) {
        char label[96];
        if (o->flags & CLI_AXES) {
            for (int a = 0; a < KB_AXIS_COUNT; a++) {
                char flag[32], help[256];
                axis_flag(a, flag, sizeof flag);
                axis_help(a, help, sizeof help);
                snprintf(label, sizeof label, "--%s %s", flag, o->arg ? o->arg : "LIST");
                print_item(out, label, help);
            }
            any = 1;
            continue;
        }
        if (!o->name) {
            if (any)
                fputc('\n', out);
            wrap(out, o->help, 2, 0);
            fputs(":\n", out);
            any = 1;
            continue;
        }
        if (o->flags & CLI_HIDDEN)
            continue;
        if (!any++)
            fprintf(out, "options:\n");
        option_label(o, o->name, o->arg, label, sizeof label);
        print_item(out, label, o->help);
    }
    if (!any)
        fprintf(out, "options:\n");
    print_item(out, "-h, --help", "show this help and exit");
    fputc('\n', out);
    if (c->notes)
        print_paragraphs(out, c->notes);
    print_exits(out, exits_of(c));
    if (c->example)
        fprintf(out, "\nexample: %s\n", c->example);
}

/* ---- the man page ---------------------------------------------------------------------------- */

/* Text as roff reads it literally: backslashes escaped, minus signs as \-, no line starting with a
 * control character. */
static void roff_text(FILE *out, const char *s, size_t len)
{
    int line_start = 1;
    for (size_t i = 0; i < len && s[i]; i++) {
        char ch = s[i];
        if (line_start && (ch == '.' || ch == '\''))
            fputs("\\&", out);
        line_start = ch == '\n';
        if (ch == '\\')
            fputs("\\e", out);
        else if (ch == '-')
            fputs("\\-", out);
        else
            fputc(ch, out);
    }
}

static void roff(FILE *out, const char *s)
{
    roff_text(out, s, strlen(s));
}

static void roff_paragraphs(FILE *out, const char *text)
{
    const char *p = text;
    while (*p) {
        const char *end = strstr(p, "\n\n");
        size_t len = end ? (size_t)(end - p) : strlen(p);
        int verbatim = strncmp(p, "  ", 2) == 0;
        for (size_t i = 0; i + 2 < len && !verbatim; i++)
            verbatim = p[i] == '\n' && p[i + 1] == ' ' && p[i + 2] == ' ';
        fputs(verbatim ? ".PP\n.nf\n" : ".PP\n", out);
        roff_text(out, p, len);
        fputs(verbatim ? "\n.fi\n" : "\n", out);
        p += len;
        while (*p == '\n')
            p++;
    }
}

static void roff_option(FILE *out, int short_name, const char *name, const char *arg, const char *help)
{
    fputs(".TP\n", out);
    if (short_name)
        fprintf(out, "\\fB\\-%c\\fR, ", short_name);
    fputs("\\fB\\-\\-", out);
    roff(out, name);
    fputs("\\fR", out);
    if (arg) {
        fputs(" \\fI", out);
        roff(out, arg);
        fputs("\\fR", out);
    }
    fputc('\n', out);
    roff(out, help);
    fputc('\n', out);
}

static void man_command(FILE *out, const struct cli_command *c)
{
    fputs(".SS \"kbench ", out);
    roff(out, c->name);
    fputs("\"\n", out);
    const char *p = c->synopsis ? c->synopsis : "[OPTIONS]";
    fputs(".nf\n", out);
    while (*p) {
        size_t len = strcspn(p, "\n");
        fprintf(out, "\\fBkbench %s\\fR ", c->name);
        roff_text(out, p, len);
        fputc('\n', out);
        p += len;
        if (*p)
            p++;
    }
    fputs(".fi\n", out);
    roff_paragraphs(out, c->description ? c->description : c->summary);
    for (const struct cli_operand *op = c->operands; op && op->name; op++) {
        fputs(".TP\n\\fI", out);
        roff(out, op->name);
        fputs("\\fR\n", out);
        roff(out, op->help);
        fputc('\n', out);
    }
    for (const struct cli_option *o = c->options; o && (o->name || o->help || o->flags); o++) {
        if (o->flags & CLI_AXES) {
            for (int a = 0; a < KB_AXIS_COUNT; a++) {
                char flag[32], help[256];
                axis_flag(a, flag, sizeof flag);
                axis_help(a, help, sizeof help);
                roff_option(out, 0, flag, o->arg ? o->arg : "LIST", help);
            }
            continue;
        }
        if (!o->name) {
            fputs(".PP\n\\fI", out);
            roff(out, o->help);
            fputs(":\\fR\n", out);
            continue;
        }
        if (!(o->flags & CLI_HIDDEN))
            roff_option(out, o->short_name, o->name, o->arg, o->help);
    }
    roff_option(out, 'h', "help", NULL, "show this help and exit");
    if (c->notes)
        roff_paragraphs(out, c->notes);
    fputs(".PP\nExit status:\n", out);
    for (const struct cli_exit *e = exits_of(c); e->code >= 0; e++) {
        fprintf(out, ".TP\n.B %d\n", e->code);
        roff(out, e->meaning);
        fputc('\n', out);
    }
    if (c->example) {
        fputs(".PP\nExample:\n.nf\n.RS\n", out);
        roff(out, c->example);
        fputs("\n.RE\n.fi\n", out);
    }
}

static const struct cli_exit program_exits[] = {
    { 0, "ok" },
    { 1, "a case failed verification or crashed, or compare/nightly found a regression" },
    { 2, "usage or input error (bad option or value, malformed suite, unreadable or foreign database)" },
    { 130, "interrupted by SIGINT (Ctrl-C); a run keeps its finished cases and is marked interrupted" },
    { 143, "terminated by SIGTERM; likewise" },
    { -1, NULL },
};

static const char program_description[] =
    "Benchmarks and profiles the kernels of efficient sequence models: every case is verified "
    "against a float64 reference before it is timed, and stored in SQLite (./kbench.db, or "
    "$KBENCH_DB, or --db PATH).";

void cli_print_main_help(FILE *out)
{
    fprintf(out, "usage: kbench [--version] [--help] COMMAND [ARGS]\n\n");
    wrap(out, program_description, 0, 0);
    fprintf(out, "\n\ncommands:\n");
    for (size_t i = 0; i < cli_command_count; i++)
        fprintf(out, "  %-10s %s\n", cli_commands[i]->name, cli_commands[i]->summary);
    fprintf(out, "\n'kbench COMMAND --help' or 'kbench help COMMAND' describes a command; 'man kbench'\n"
                 "describes them all.\n\n");
    print_exits(out, program_exits);
}

void cli_print_man(FILE *out, const char *version)
{
    fputs(".\\\" kbench.1 - written by 'kbench help --man' from the commands' descriptions; do not edit.\n", out);
    fprintf(out, ".TH KBENCH 1 \"\" \"kbench %s\" \"User Commands\"\n", version);
    fputs(".SH NAME\nkbench \\- verify, time and compare attention, quantization and MoE kernels\n", out);
    fputs(".SH SYNOPSIS\n.nf\n\\fBkbench\\fR [\\fB\\-\\-version\\fR] [\\fB\\-\\-help\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]\n", out);
    for (size_t i = 0; i < cli_command_count; i++) {
        fprintf(out, "\\fBkbench %s\\fR ", cli_commands[i]->name);
        const char *s = cli_commands[i]->synopsis ? cli_commands[i]->synopsis : "[OPTIONS]";
        roff_text(out, s, strcspn(s, "\n"));
        fputc('\n', out);
    }
    fputs(".fi\n.SH DESCRIPTION\n", out);
    roff(out, program_description);
    fputs("\n.PP\nOptions may come before or after the operands; \\fB\\-\\-\\fR ends the options. A long option "
          "may be shortened to a unique prefix. Every command takes \\fB\\-h\\fR.\n.SH COMMANDS\n", out);
    for (size_t i = 0; i < cli_command_count; i++) {
        fputs(".TP\n\\fB", out);
        roff(out, cli_commands[i]->name);
        fputs("\\fR\n", out);
        roff(out, cli_commands[i]->summary);
        fputc('\n', out);
    }
    for (size_t i = 0; i < cli_command_count; i++)
        man_command(out, cli_commands[i]);
    fputs(".SH EXIT STATUS\n", out);
    for (const struct cli_exit *e = program_exits; e->code >= 0; e++) {
        fprintf(out, ".TP\n.B %d\n", e->code);
        roff(out, e->meaning);
        fputc('\n', out);
    }
    fputs(".SH ENVIRONMENT\n"
          ".TP\n.B KBENCH_DB\nthe database when no \\fB\\-\\-db\\fR is given (default ./kbench.db)\n"
          ".TP\n.B KBENCH_SUITES\na folder searched for suites by name before the installed ones\n"
          ".TP\n.B KBENCH_CLAIMS\nthe folder of claim files of \\fBkbench claims\\fR\n"
          ".TP\n.B KBENCH_GNUPLOT\nthe gnuplot program of the dashboard's plots\n"
          ".TP\n.B KBENCH_PLUGIN_PATH\nfolders whose plugins (shared objects, Python files) are always loaded\n"
          ".TP\n.B KBENCH_CPU_FEATURES\nmask the SIMD paths the kernels dispatch to: scalar, avx2, avx512; -NAME takes one away (avx2,-avxvnni)\n"
          ".TP\n.B KBENCH_PROCESS_LEAK_MB\nthe device or host memory (MiB) a case may keep before its warm case process is "
          "replaced (default 256 on the device, 1024 on the host)\n"
          ".TP\n.B KBENCH_VARLEN_SCHEDULE, KBENCH_FLASH_TILE, KBENCH_LIGHTNING_GROUP, KBENCH_LIGHTNING_PREFETCH, KBENCH_FLASH_WS_PERSISTENT, "
          "KBENCH_FLASH_WS_D64_CONSUMERS, KBENCH_FLASH_WS_KEYS, KBENCH_FLASH_WS_TMA_STORE, KBENCH_FLASH_WS_LAZY_RESCALE, KBENCH_FLASH_WS_SECTIONS, KBENCH_FP8_PV_LAST16, KBENCH_FP8_PV_PERSISTENT, KBENCH_DELTA_VS, KBENCH_DELTA_OUT, KBENCH_DECODE_CTAS_PER_SM, KBENCH_QGEMM_TILE, "
          "KBENCH_MOE_FP8_TILE\n"
          "kernel variants kept for comparison: "
          "sequence (attention.varlen@cpu.flash threads over whole sequences), 1 (attention.flash@cuda.mma's one m-tile per "
          "warp), 1..16 (attention.lightning@cuda.mma's chunks per group, stored as the counter lightning.group), 1 or 0 "
          "(its output pass loading the next chunk under this one everywhere or nowhere, by default where the group is "
          "below 16; counter lightning.prefetch), 1 or 0 "
          "(attention.flash@cuda.wgmma-ws persistent everywhere or nowhere, by default at head_dim 128 and 64 causal; "
          "counter flash_ws.persistent), 0 (its causal grid a plane at a time, where by default in sections of planes; "
          "counter flash_ws.sections), 1 or 0 (the FP8 PV kernels' last key tile on f16 everywhere or nowhere, by default where causal or N <= 128; "
          "counter fp8_pv.last_tile16), 1 (their persistent kernel; counter fp8_pv.persistent), 2 or 3 (its consumer warpgroups at "
          "head_dim 64, by default 3 where not causal and 2 where causal; counter flash_ws.consumers), 176 (its 176-key tiles at head_dim 128, counter flash_ws.keys), "
          "0 (its O stored from registers, not staged for TMA stores; counter flash_ws.tma_store), "
          "0 (its O rescaled whenever a row maximum grows, where by default the maxima are kept until they grow by more "
          "than 2^8; counter flash_ws.lazy_rescale), "
          "32, 64 or 16 (attention.delta@cuda.mma's "
          "value channels per state block, 16 at d = 128 and 32 at d = 64 by default; counter delta.state_channels), "
          "split (its output pass at 64 channels a block; counter delta.out_split), 1..64 (attention.flash@cuda.decode's CTAs per SM that set its KV splits, 4 by default; "
          "counter decode.splits), big or medium (the INT8/FP8 mma.sync GEMMs' tile), 128 (moe.experts@cuda.wgmma-fp8's "
          "128 x 128 tiles everywhere, where by default n a multiple of 256 gets 128 x 256; counters moe_fp8.tile_up, "
          "moe_fp8.tile_down)\n"
          ".TP\n.B KBENCH_MOE_FP8_TURNS\n0: moe.experts@cuda.wgmma-fp8's two consumer warpgroups issue their products "
          "whenever ready instead of taking turns (the default; counter moe_fp8.turns)\n"
          ".TP\n.B KBENCH_MOE_FP8_TURNS_FROM\nK (1-64): moe.experts@cuda.wgmma-fp8's consumers take turns from each output "
          "tile's k-tile K, each issuing when ready before it, so consumer 0 can start a tile under consumer 1's epilogue; "
          "by default from its first (counter moe_fp8.turns_from; no faster on an H100)\n"
          ".TP\n.B KBENCH_MOE_FP8_PERSISTENT\n0: moe.experts@cuda.wgmma-fp8 runs a block per output tile instead of a "
          "block per SM looping over tiles (the default; counter moe_fp8.persistent)\n"
          ".TP\n.B KBENCH_MOE_FP8_CLUSTER\n2: moe.experts@cuda.wgmma-fp8's 128 x 256 tiles in two-block clusters that "
          "share each B tile, each block loading half of it for both by TMA multicast (counters moe_fp8.cluster_up, "
          "moe_fp8.cluster_down)\n"
          ".TP\n.B KBENCH_MOE_WG_PERSISTENT\n0: moe.experts@cuda.wgmma and moe.layer@cuda.wgmma run a block per output "
          "tile instead of a block per SM looping over tiles (the default; counter moe_wg.persistent)\n"
          ".TP\n.B KBENCH_MOE_WG_CLUSTER\n1: moe.experts@cuda.wgmma's and moe.layer@cuda.wgmma's blocks on their own "
          "instead of in two-block clusters that share each B tile, each block loading half of it for both by TMA "
          "multicast (the default; counter moe_wg.cluster)\n"
          ".TP\n.B KBENCH_MOE_FP8_A_REGS\n1: moe.experts@cuda.wgmma-fp8's 128 x 256 tiles load their A fragments into "
          "registers once a k-tile for both 128-column halves, where by default each half reads A from shared memory "
          "(counters moe_fp8.a_regs_up, moe_fp8.a_regs_down)\n"
          ".TP\n.B KBENCH_MOE_FP8_SCALES_ASYNC\n0: moe.experts@cuda.wgmma-fp8's scale warp loads each stage's block "
          "scales into its registers and stores them, where by default it copies them by cp.async and its arrival on "
          "the stage's barrier waits for them (counter moe_fp8.scales_async)\n"
          ".TP\n.B KBENCH_MOE_FP8_STAGED_STORE\n0: moe.experts@cuda.wgmma-fp8's down GEMM stores four bytes at a time from "
          "the accumulators, and the up GEMM its h codes two bytes at a time, where by default both stage their tiles in "
          "shared memory and store 16-byte row pieces; down: the down GEMM's alone staged (counters "
          "moe_fp8.staged_store, moe_fp8.staged_codes)\n"
          ".TP\n.B KBENCH_MOE_FP8_TMA_STORE\n0: moe.experts@cuda.wgmma-fp8's staged epilogues store 16-byte pieces from "
          "every lane, where by default a warp sends its 16 rows by one TMA store and goes on while it runs (a group's "
          "last rows always by the lanes; counter moe_fp8.tma_store)\n"
          ".TP\n.B KBENCH_MOE_FP8_FUSED_QUANT\n0: moe.experts@cuda.wgmma-fp8 quantizes h for the down GEMM in a kernel "
          "of its own instead of in the up GEMM's epilogue (the default where the up GEMM has its 128 x 256 tile; "
          "counter moe_fp8.fused_quant)\n"
          ".TP\n.B NO_COLOR\nset: no colours in tables and the dashboard\n"
          ".SH FILES\n"
          ".TP\n.I ./kbench.db\nthe default database (SQLite; the schema is in schema.md of the documentation)\n"
          ".TP\n.I " KB_DATADIR "/suites\nthe installed suites\n"
          ".SH SEE ALSO\n\\fBsqlite3\\fR(1), \\fBgnuplot\\fR(1)\n", out);
}

/* ---- bash completion ------------------------------------------------------------------------- */

static const char *value_kind(enum cli_value v)
{
    switch (v) {
    case CLI_KERNEL: return "kernel";
    case CLI_PRESET: return "preset";
    case CLI_FILE: return "file";
    case CLI_DIR: return "dir";
    case CLI_SUITE: return "suite";
    case CLI_DB: return "db";
    case CLI_DEVICE: return "device";
    case CLI_RUN: return "run";
    case CLI_CHOICE: return "choice";
    case CLI_TEXT: break;
    }
    return "text";
}

/* The case arm that sets kind (and words for a choice) after option `prev`. */
static void completion_value_arm(FILE *out, int short_name, const char *name, const char *kind, const char *words)
{
    fprintf(out, "        ");
    if (short_name)
        fprintf(out, "-%c|", short_name);
    fprintf(out, "--%s) kind=%s", name, kind);
    if (words)
        fprintf(out, " words='%s'", words);
    fprintf(out, " ;;\n");
}

static void completion_command(FILE *out, const struct cli_command *c)
{
    fprintf(out, "    %s)\n        opts='", c->name);
    for (const struct cli_option *o = c->options; o && (o->name || o->help || o->flags); o++) {
        if (o->flags & CLI_AXES) {
            for (int a = 0; a < KB_AXIS_COUNT; a++) {
                char flag[32];
                axis_flag(a, flag, sizeof flag);
                fprintf(out, "--%s ", flag);
            }
        } else if (o->name && !(o->flags & CLI_HIDDEN)) {
            fprintf(out, "--%s ", o->name);
        }
    }
    fprintf(out, "--help'\n");
    fprintf(out, "        operand=%s\n", c->operands && c->operands[0].name ? value_kind(c->operands[0].value) : "none");
    fprintf(out, "        case $prev in\n");
    for (const struct cli_option *o = c->options; o && (o->name || o->help || o->flags); o++) {
        if (o->flags & CLI_AXES) {
            for (int a = 0; a < KB_AXIS_COUNT; a++) {
                const struct kb_axis_info *ax = kb_axis_info((enum kb_axis)a);
                char flag[32], words[128] = "";
                axis_flag(a, flag, sizeof flag);
                if (ax->kind == KB_AXIS_KIND_BOOL)
                    snprintf(words, sizeof words, "0 1 0,1");
                for (int v = 1; ax->kind == KB_AXIS_KIND_ENUM && v <= ax->max; v++) {
                    size_t used = strlen(words);
                    snprintf(words + used, sizeof words - used, "%s%s", used ? " " : "", ax->names[v]);
                }
                completion_value_arm(out, 0, flag, *words ? "choice" : "text", *words ? words : NULL);
            }
            continue;
        }
        if (!o->name || !o->arg)
            continue;
        completion_value_arm(out, o->short_name, o->name, value_kind(o->value),
                             o->value == CLI_CHOICE ? o->choices : NULL);
    }
    fprintf(out, "        esac ;;\n");
}

void cli_print_bash_completion(FILE *out)
{
    fputs("# bash completion for kbench: written by 'kbench help --bash-completion' from the commands'\n"
          "# descriptions; do not edit. Commands, options, kernel names (kbench list), presets\n"
          "# (kbench list --presets), suites, devices and the values of enumerated options.\n\n", out);
    fputs("_kbench_values() { # KBENCH KIND CUR WORDS: fills COMPREPLY with the values of a kind\n"
          "    local kb=$1 kind=$2 cur=$3 words=$4 dir\n"
          "    case $kind in\n"
          "    kernel) COMPREPLY=($(compgen -W \"$(\"$kb\" list 2>/dev/null | awk 'NR > 1 { if (!seen[$1]++) print $1; print $1 \"@\" $2 }')\" -- \"$cur\")) ;;\n"
          "    preset) COMPREPLY=($(compgen -W \"$(\"$kb\" list --presets 2>/dev/null | awk '/^[^ ]/ { print $1 }')\" -- \"$cur\")) ;;\n"
          "    suite)\n"
          "        local names=\n"
          "        for dir in \"${KBENCH_SUITES:-}\" datasets/suites '" KB_DATADIR "/suites'; do\n"
          "            [ -n \"$dir\" ] && [ -d \"$dir\" ] || continue\n"
          "            names=\"$names $(cd \"$dir\" && ls *.suite 2>/dev/null | sed 's/\\.suite$//')\"\n"
          "        done\n"
          "        COMPREPLY=($(compgen -W \"$names\" -- \"$cur\") $(compgen -f -X '!*.suite' -- \"$cur\") $(compgen -d -- \"$cur\")) ;;\n"
          "    db) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -X '!*.db' -- \"$cur\") $(compgen -d -- \"$cur\")) ;;\n"
          "    file) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- \"$cur\")) ;;\n"
          "    dir) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- \"$cur\")) ;;\n"
          "    device) COMPREPLY=($(compgen -W \"cpu $(\"$kb\" devices 2>/dev/null | awk '/^cuda:[0-9]/ { print $1 }')\" -- \"$cur\")) ;;\n"
          "    run) COMPREPLY=($(compgen -W 'latest tag:' -- \"$cur\")) ;;\n"
          "    choice) COMPREPLY=($(compgen -W \"$words\" -- \"$cur\")) ;;\n"
          "    esac\n"
          "}\n\n", out);
    fputs("_kbench() {\n"
          "    local kb=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]} prev= cword=$COMP_CWORD\n"
          "    local cmd opts operand kind= words=\n"
          "    COMPREPLY=()\n"
          "    # --opt=value: bash splits it into '--opt' '=' 'value'\n"
          "    if [ \"$cur\" = = ]; then cur=; prev=${COMP_WORDS[cword-1]}\n"
          "    elif [ \"$cword\" -ge 2 ] && [ \"${COMP_WORDS[cword-1]}\" = = ]; then prev=${COMP_WORDS[cword-2]}\n"
          "    elif [ \"$cword\" -ge 1 ]; then prev=${COMP_WORDS[cword-1]}; fi\n", out);
    fputs("    local commands='", out);
    for (size_t i = 0; i < cli_command_count; i++)
        fprintf(out, "%s ", cli_commands[i]->name);
    fputs("help version'\n"
          "    if [ \"$cword\" -le 1 ]; then\n"
          "        COMPREPLY=($(compgen -W \"$commands --help --version\" -- \"$cur\"))\n"
          "        return 0\n"
          "    fi\n"
          "    cmd=${COMP_WORDS[1]}\n"
          "    case $cmd in\n"
          "    help) COMPREPLY=($(compgen -W \"$commands\" -- \"$cur\")); return 0 ;;\n", out);
    for (size_t i = 0; i < cli_command_count; i++)
        completion_command(out, cli_commands[i]);
    fputs("    *) return 0 ;;\n"
          "    esac\n"
          "    if [ -n \"$kind\" ]; then\n"
          "        [ \"$kind\" = text ] || _kbench_values \"$kb\" \"$kind\" \"$cur\" \"$words\"\n"
          "        return 0\n"
          "    fi\n"
          "    case $cur in\n"
          "    -*) COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\")) ;;\n"
          "    *) [ \"$operand\" = none ] || [ \"$operand\" = text ] || _kbench_values \"$kb\" \"$operand\" \"$cur\" '' ;;\n"
          "    esac\n"
          "    return 0\n"
          "}\n"
          "complete -F _kbench kbench\n", out);
}
