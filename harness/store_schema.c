/* store_schema.c - the kbench database schema, one migration per version (docs/schema.md).
 *
 * Units: every time is in seconds (columns end in _s), every size in bytes; timestamps are
 * ISO 8601 UTC text with milliseconds ("2024-05-01T12:34:56.789Z") so they sort as text.
 * A dimension a kernel does not use is NULL, never 0, so SQL aggregates skip it.
 */
#include "harness/store_schema.h"
#include "harness/store.h"

/* Version 1: the tables. cases.status has no CHECK on purpose: SQLite cannot alter a CHECK
 * without rebuilding the table, and the list of case outcomes is expected to grow; the store
 * writes only names from case_status_name(). runs.status is a closed set and is checked. */
static const char schema_v1[] =
    "CREATE TABLE machines (\n"
    "    id             INTEGER PRIMARY KEY,\n"
    "    fingerprint    TEXT NOT NULL UNIQUE,\n"
    "    hostname       TEXT NOT NULL,\n"
    "    cpu_model      TEXT NOT NULL,\n"
    "    logical_cpus   INTEGER,\n"
    "    physical_cores INTEGER,\n"
    "    cpu_mhz        REAL,\n"
    "    mem_bytes      INTEGER,\n"
    "    simd           TEXT,\n"
    "    l1d_bytes      INTEGER,\n"
    "    l2_bytes       INTEGER,\n"
    "    l3_bytes       INTEGER,\n"
    "    os             TEXT,\n"
    "    gpus           TEXT,\n"
    "    peak_f32_core  REAL,\n"
    "    first_seen     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))\n"
    ");\n"
    "CREATE TABLE runs (\n"
    "    id             INTEGER PRIMARY KEY,\n"
    "    uuid           TEXT NOT NULL UNIQUE,\n"
    "    machine_id     INTEGER NOT NULL REFERENCES machines(id),\n"
    "    started_at     TEXT NOT NULL,\n"
    "    finished_at    TEXT,\n"
    "    status         TEXT NOT NULL DEFAULT 'running'\n"
    "                   CHECK (status IN ('running', 'complete', 'interrupted', 'failed')),\n"
    "    kbench_version TEXT,\n"
    "    compiler       TEXT,\n"
    "    papi_version   TEXT,\n"
    "    cmdline        TEXT,\n"
    "    suite          TEXT,\n"
    "    planned_cases  INTEGER\n"
    ");\n"
    "CREATE INDEX runs_by_machine ON runs(machine_id, id);\n"
    "CREATE TABLE run_tags (\n"
    "    run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "    tag        TEXT NOT NULL,\n"
    "    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),\n"
    "    PRIMARY KEY (run_id, tag)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX run_tags_by_tag ON run_tags(tag, run_id);\n"
    "CREATE TABLE cases (\n"
    "    id               INTEGER PRIMARY KEY,\n"
    "    run_id           INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "    seq_no           INTEGER NOT NULL,\n"
    "    kernel           TEXT NOT NULL,\n"
    "    impl             TEXT NOT NULL,\n"
    "    family           TEXT,\n"
    "    device           TEXT NOT NULL,\n"
    "    dtype            TEXT NOT NULL,\n"
    "    batch            INTEGER,\n"
    "    heads            INTEGER,\n"
    "    kv_heads         INTEGER,\n"
    "    seq_len          INTEGER,\n"
    "    head_dim         INTEGER,\n"
    "    causal           INTEGER,\n"
    "    threads          INTEGER,\n"
    "    cold_cache       INTEGER NOT NULL DEFAULT 0,\n"
    "    seed             INTEGER,\n"
    "    status           TEXT NOT NULL,\n"
    "    error            TEXT,\n"
    "    papi_status      TEXT,\n"
    "    calls_per_sample INTEGER,\n"
    "    warmup_calls     INTEGER,\n"
    "    flops            REAL,\n"
    "    bytes            REAL,\n"
    "    wall_s           REAL,\n"
    "    UNIQUE (run_id, seq_no)\n"
    ");\n"
    "CREATE INDEX cases_by_kernel ON cases(kernel, seq_len);\n"
    "CREATE TABLE samples (\n"
    "    case_id INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,\n"
    "    idx     INTEGER NOT NULL,\n"
    "    seconds REAL NOT NULL,\n"
    "    PRIMARY KEY (case_id, idx)\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE stats (\n"
    "    case_id     INTEGER PRIMARY KEY REFERENCES cases(id) ON DELETE CASCADE,\n"
    "    n           INTEGER NOT NULL,\n"
    "    median_s    REAL,\n"
    "    mean_s      REAL,\n"
    "    stddev_s    REAL,\n"
    "    min_s       REAL,\n"
    "    max_s       REAL,\n"
    "    p5_s        REAL,\n"
    "    p95_s       REAL,\n"
    "    mad_s       REAL,\n"
    "    ci_lo_s     REAL,\n"
    "    ci_hi_s     REAL,\n"
    "    noise       REAL,\n"
    "    flops_per_s REAL,\n"
    "    bytes_per_s REAL\n"
    ");\n"
    "CREATE TABLE counters (\n"
    "    case_id INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,\n"
    "    idx     INTEGER NOT NULL,\n"
    "    backend TEXT NOT NULL,\n"
    "    name    TEXT NOT NULL,\n"
    "    value   REAL,\n"
    "    unit    TEXT,\n"
    "    PRIMARY KEY (case_id, idx)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX counters_by_name ON counters(name);\n"
    "CREATE TABLE accuracy (\n"
    "    case_id      INTEGER PRIMARY KEY REFERENCES cases(id) ON DELETE CASCADE,\n"
    "    max_abs_err  REAL,\n"
    "    rel_l2_err   REAL,\n"
    "    cosine       REAL,\n"
    "    rows_checked INTEGER,\n"
    "    rows_total   INTEGER,\n"
    "    passed       INTEGER NOT NULL\n"
    ");\n";

/* Version 2: the tolerance a verdict used (so a pass can be judged later), the process and
 * host that own a run (so a run left 'running' by a killed kbench can be told from one still
 * going), and the views that make the common questions one SELECT. Runs from version 1 take
 * their machine's hostname; their pid is unknown (NULL). */
static const char schema_v2[] =
    "ALTER TABLE accuracy ADD COLUMN tolerance REAL;\n"
    "ALTER TABLE runs ADD COLUMN pid INTEGER;\n"
    "ALTER TABLE runs ADD COLUMN hostname TEXT;\n"
    "UPDATE runs SET hostname = (SELECT m.hostname FROM machines m WHERE m.id = runs.machine_id)\n"
    "    WHERE hostname IS NULL;\n"
    "CREATE INDEX runs_by_status ON runs(status, hostname);\n"
    "CREATE VIEW v_results AS\n"
    "SELECT c.run_id                AS run_id,\n"
    "       r.uuid                  AS run_uuid,\n"
    "       r.started_at            AS started_at,\n"
    "       r.status                AS run_status,\n"
    "       r.machine_id            AS machine_id,\n"
    "       m.hostname              AS hostname,\n"
    "       m.fingerprint           AS machine,\n"
    "       c.id                    AS case_id,\n"
    "       c.seq_no                AS seq_no,\n"
    "       c.kernel                AS kernel,\n"
    "       c.impl                  AS impl,\n"
    "       c.family                AS family,\n"
    "       c.device                AS device,\n"
    "       c.dtype                 AS dtype,\n"
    "       c.batch                 AS batch,\n"
    "       c.heads                 AS heads,\n"
    "       c.kv_heads              AS kv_heads,\n"
    "       c.seq_len               AS seq_len,\n"
    "       c.head_dim              AS head_dim,\n"
    "       c.causal                AS causal,\n"
    "       c.threads               AS threads,\n"
    "       c.cold_cache            AS cold_cache,\n"
    "       c.status                AS status,\n"
    "       c.error                 AS error,\n"
    "       s.n                     AS n,\n"
    "       s.median_s              AS median_s,\n"
    "       s.median_s * 1e6        AS median_us,\n"
    "       s.mean_s                AS mean_s,\n"
    "       s.min_s                 AS min_s,\n"
    "       s.ci_lo_s               AS ci_lo_s,\n"
    "       s.ci_hi_s               AS ci_hi_s,\n"
    "       s.noise                 AS noise,\n"
    "       c.flops                 AS flops,\n"
    "       c.bytes                 AS bytes,\n"
    "       s.flops_per_s / 1e9     AS gflops,\n"
    "       s.bytes_per_s / 1e9     AS gbytes_per_s,\n"
    "       a.max_abs_err           AS max_abs_err,\n"
    "       a.rel_l2_err            AS rel_l2_err,\n"
    "       a.cosine                AS cosine,\n"
    "       a.tolerance             AS tolerance,\n"
    "       a.passed                AS passed\n"
    "  FROM cases c\n"
    "  JOIN runs r ON r.id = c.run_id\n"
    "  JOIN machines m ON m.id = r.machine_id\n"
    "  LEFT JOIN stats s ON s.case_id = c.id\n"
    "  LEFT JOIN accuracy a ON a.case_id = c.id;\n"
    "CREATE VIEW v_latest_results AS\n"
    "SELECT v.* FROM v_results v\n"
    " WHERE v.run_id IN (SELECT max(r.id) FROM runs r WHERE r.status = 'complete'\n"
    "                     GROUP BY r.machine_id);\n"
    "CREATE VIEW v_counters AS\n"
    "SELECT c.run_id      AS run_id,\n"
    "       c.id          AS case_id,\n"
    "       c.kernel      AS kernel,\n"
    "       c.impl        AS impl,\n"
    "       c.device      AS device,\n"
    "       c.dtype       AS dtype,\n"
    "       c.batch       AS batch,\n"
    "       c.heads       AS heads,\n"
    "       c.kv_heads    AS kv_heads,\n"
    "       c.seq_len     AS seq_len,\n"
    "       c.head_dim    AS head_dim,\n"
    "       c.causal      AS causal,\n"
    "       c.threads     AS threads,\n"
    "       c.cold_cache  AS cold_cache,\n"
    "       c.status      AS status,\n"
    "       c.papi_status AS papi_status,\n"
    "       k.backend     AS backend,\n"
    "       k.name        AS name,\n"
    "       k.value       AS value,\n"
    "       k.unit        AS unit\n"
    "  FROM counters k\n"
    "  JOIN cases c ON c.id = k.case_id;\n"
    "CREATE VIEW v_runs AS\n"
    "SELECT r.id             AS run_id,\n"
    "       r.uuid           AS uuid,\n"
    "       r.started_at     AS started_at,\n"
    "       r.finished_at    AS finished_at,\n"
    "       r.status         AS status,\n"
    "       m.hostname       AS hostname,\n"
    "       m.fingerprint    AS machine,\n"
    "       r.suite          AS suite,\n"
    "       (SELECT group_concat(t.tag, ',') FROM run_tags t WHERE t.run_id = r.id) AS tags,\n"
    "       r.planned_cases  AS planned_cases,\n"
    "       (SELECT count(*) FROM cases c WHERE c.run_id = r.id) AS cases,\n"
    "       (SELECT count(*) FROM cases c WHERE c.run_id = r.id\n"
    "           AND c.status NOT IN ('ok', 'skipped')) AS failures,\n"
    "       r.kbench_version AS kbench_version,\n"
    "       r.cmdline        AS cmdline\n"
    "  FROM runs r\n"
    "  JOIN machines m ON m.id = r.machine_id;\n";

/* Version 3: the arguments a run was started with, as a JSON array, so `kbench run --resume`
 * can plan the same sweep again. Older runs have none (NULL) and cannot be resumed. */
static const char schema_v3[] =
    "ALTER TABLE runs ADD COLUMN argv TEXT;\n";

/* v_results as version 4 built it: the run, the case and its axes up to input_dist, then the
 * measurements (V_RESULTS_REST). Version 13 rebuilds it with state_size between the two. */
#define V_RESULTS_AXES_V4 \
    "SELECT c.run_id                AS run_id,\n" \
    "       r.uuid                  AS run_uuid,\n" \
    "       r.started_at            AS started_at,\n" \
    "       r.status                AS run_status,\n" \
    "       r.machine_id            AS machine_id,\n" \
    "       m.hostname              AS hostname,\n" \
    "       m.fingerprint           AS machine,\n" \
    "       c.id                    AS case_id,\n" \
    "       c.seq_no                AS seq_no,\n" \
    "       c.kernel                AS kernel,\n" \
    "       c.impl                  AS impl,\n" \
    "       c.family                AS family,\n" \
    "       c.device                AS device,\n" \
    "       c.dtype                 AS dtype,\n" \
    "       c.batch                 AS batch,\n" \
    "       c.heads                 AS heads,\n" \
    "       c.kv_heads              AS kv_heads,\n" \
    "       c.seq_len               AS seq_len,\n" \
    "       c.head_dim              AS head_dim,\n" \
    "       c.causal                AS causal,\n" \
    "       c.decode                AS decode,\n" \
    "       c.window_len            AS window_len,\n" \
    "       c.block_size            AS block_size,\n" \
    "       c.topk_blocks           AS topk_blocks,\n" \
    "       c.chunk                 AS chunk,\n" \
    "       c.feature_map           AS feature_map,\n" \
    "       c.decay                 AS decay,\n" \
    "       c.gemm_m                AS gemm_m,\n" \
    "       c.gemm_n                AS gemm_n,\n" \
    "       c.gemm_k                AS gemm_k,\n" \
    "       c.group_size            AS group_size,\n" \
    "       c.granularity           AS granularity,\n" \
    "       c.tokens                AS tokens,\n" \
    "       c.hidden                AS hidden,\n" \
    "       c.ffn                   AS ffn,\n" \
    "       c.experts               AS experts,\n" \
    "       c.top_k                 AS top_k,\n" \
    "       c.routing               AS routing,\n" \
    "       c.input_dist            AS input_dist,\n"
#define V_RESULTS_REST \
    "       c.threads               AS threads,\n" \
    "       c.cold_cache            AS cold_cache,\n" \
    "       c.status                AS status,\n" \
    "       c.error                 AS error,\n" \
    "       s.n                     AS n,\n" \
    "       s.median_s              AS median_s,\n" \
    "       s.median_s * 1e6        AS median_us,\n" \
    "       s.mean_s                AS mean_s,\n" \
    "       s.min_s                 AS min_s,\n" \
    "       s.ci_lo_s               AS ci_lo_s,\n" \
    "       s.ci_hi_s               AS ci_hi_s,\n" \
    "       s.noise                 AS noise,\n" \
    "       c.flops                 AS flops,\n" \
    "       c.bytes                 AS bytes,\n" \
    "       s.flops_per_s / 1e9     AS gflops,\n" \
    "       s.bytes_per_s / 1e9     AS gbytes_per_s,\n" \
    "       a.max_abs_err           AS max_abs_err,\n" \
    "       a.rel_l2_err            AS rel_l2_err,\n" \
    "       a.cosine                AS cosine,\n" \
    "       a.tolerance             AS tolerance,\n" \
    "       a.passed                AS passed,\n" \
    "       a.exact_checked         AS exact_checked,\n" \
    "       a.exact_mismatches      AS exact_mismatches\n" \
    "  FROM cases c\n" \
    "  JOIN runs r ON r.id = c.run_id\n" \
    "  JOIN machines m ON m.id = r.machine_id\n" \
    "  LEFT JOIN stats s ON s.case_id = c.id\n" \
    "  LEFT JOIN accuracy a ON a.case_id = c.id;\n"

/* Version 4: the shape axes of the whole catalogue (sliding windows, sparse blocks, linear
 * attention's chunks and feature maps, GEMM and quantization sizes, MoE sizes and routing, the
 * input distribution) and the bit-exact comparison of quantized kernels. A column a kernel
 * does not sweep is NULL. Attention cases of older versions were drawn from N(0,1): they say so.
 * The views are rebuilt to show the new columns. */
static const char schema_v4[] =
    "ALTER TABLE cases ADD COLUMN decode INTEGER;\n"
    "ALTER TABLE cases ADD COLUMN window_len INTEGER;\n"
    "ALTER TABLE cases ADD COLUMN block_size INTEGER;\n"
    "ALTER TABLE cases ADD COLUMN topk_blocks INTEGER;\n"
    "ALTER TABLE cases ADD COLUMN chunk INTEGER;\n"
    "ALTER TABLE cases ADD COLUMN feature_map TEXT;\n"
    "ALTER TABLE cases ADD COLUMN decay INTEGER;\n"
    "ALTER TABLE cases ADD COLUMN gemm_m INTEGER;\n"
    "ALTER TABLE cases ADD COLUMN gemm_n INTEGER;\n"
    "ALTER TABLE cases ADD COLUMN gemm_k INTEGER;\n"
    "ALTER TABLE cases ADD COLUMN group_size INTEGER;\n"
    "ALTER TABLE cases ADD COLUMN granularity TEXT;\n"
    "ALTER TABLE cases ADD COLUMN tokens INTEGER;\n"
    "ALTER TABLE cases ADD COLUMN hidden INTEGER;\n"
    "ALTER TABLE cases ADD COLUMN ffn INTEGER;\n"
    "ALTER TABLE cases ADD COLUMN experts INTEGER;\n"
    "ALTER TABLE cases ADD COLUMN top_k INTEGER;\n"
    "ALTER TABLE cases ADD COLUMN routing TEXT;\n"
    "ALTER TABLE cases ADD COLUMN input_dist TEXT;\n"
    "UPDATE cases SET input_dist = 'normal' WHERE family = 'attention';\n"
    "ALTER TABLE accuracy ADD COLUMN exact_checked INTEGER;\n"
    "ALTER TABLE accuracy ADD COLUMN exact_mismatches INTEGER;\n"
    "DROP VIEW v_latest_results;\n"
    "DROP VIEW v_results;\n"
    "CREATE VIEW v_results AS\n"
    V_RESULTS_AXES_V4
    V_RESULTS_REST
    "CREATE VIEW v_latest_results AS\n"
    "SELECT v.* FROM v_results v\n"
    " WHERE v.run_id IN (SELECT max(r.id) FROM runs r WHERE r.status = 'complete'\n"
    "                     GROUP BY r.machine_id);\n";

/* Version 5: paper claims judged on this machine (kbench claims): one row per evaluation, so
 * a claim's verdict can be followed across kbench versions and machines. */
static const char schema_v5[] =
    "CREATE TABLE claims (\n"
    "    id            INTEGER PRIMARY KEY,\n"
    "    claim_id      TEXT NOT NULL,\n"
    "    machine_id    INTEGER NOT NULL REFERENCES machines(id),\n"
    "    run_id        INTEGER REFERENCES runs(id) ON DELETE SET NULL,\n"
    "    evaluated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),\n"
    "    paper         TEXT NOT NULL,\n"
    "    quote         TEXT NOT NULL,\n"
    "    paper_hardware TEXT,\n"
    "    metric        TEXT NOT NULL,\n"
    "    paper_value   REAL,\n"
    "    measured      REAL,\n"
    "    ci_lo         REAL,\n"
    "    ci_hi         REAL,\n"
    "    measured_text TEXT,\n"
    "    verdict       TEXT NOT NULL\n"
    "                  CHECK (verdict IN ('holds', 'partly', 'does not hold here', 'cannot be tested here')),\n"
    "    reason        TEXT\n"
    ");\n"
    "CREATE INDEX claims_by_machine ON claims(machine_id, claim_id, id);\n";

/* Version 6: the machine's measured ceilings (`kbench calibrate`): per device, the rates a
 * result is judged against on the roofline (FMA rates, memory bandwidth, and on GPUs copy
 * bandwidth and tensor-core rates). Calibrating again adds rows; the newest of a name wins. */
static const char schema_v6[] =
    "CREATE TABLE ceilings (\n"
    "    id          INTEGER PRIMARY KEY,\n"
    "    machine_id  INTEGER NOT NULL REFERENCES machines(id) ON DELETE CASCADE,\n"
    "    device      TEXT NOT NULL,\n"
    "    name        TEXT NOT NULL,\n"
    "    value       REAL NOT NULL,\n"
    "    unit        TEXT NOT NULL,\n"
    "    method      TEXT,\n"
    "    measured_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))\n"
    ");\n"
    "CREATE INDEX ceilings_by_machine ON ceilings(machine_id, device, name, id);\n"
    "CREATE VIEW v_ceilings AS\n"
    "SELECT m.fingerprint AS machine, m.hostname AS hostname, c.machine_id AS machine_id,\n"
    "       c.device AS device, c.name AS name, c.value AS value, c.unit AS unit,\n"
    "       c.method AS method, c.measured_at AS measured_at\n"
    "  FROM ceilings c JOIN machines m ON m.id = c.machine_id\n"
    " WHERE c.id = (SELECT max(x.id) FROM ceilings x WHERE x.machine_id = c.machine_id\n"
    "                  AND x.device = c.device AND x.name = c.name);\n";

/* Version 7: GPU cases. Every kernel a case's call launches, as CUPTI's activity records saw
 * it (launch order within one call; the duration is the median over the traced calls), and
 * why NVML or CUPTI measured nothing where they did not. */
static const char schema_v7[] =
    "ALTER TABLE cases ADD COLUMN nvml_status TEXT;\n"
    "ALTER TABLE cases ADD COLUMN cupti_status TEXT;\n"
    "ALTER TABLE cases ADD COLUMN metrics_status TEXT;\n"
    "CREATE TABLE gpu_kernels (\n"
    "    case_id        INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,\n"
    "    idx            INTEGER NOT NULL,\n"
    "    name           TEXT NOT NULL,\n"
    "    grid_x         INTEGER,\n"
    "    grid_y         INTEGER,\n"
    "    grid_z         INTEGER,\n"
    "    block_x        INTEGER,\n"
    "    block_y        INTEGER,\n"
    "    block_z        INTEGER,\n"
    "    registers      INTEGER,\n"
    "    static_shared  INTEGER,\n"
    "    dynamic_shared INTEGER,\n"
    "    duration_s     REAL,\n"
    "    traced_calls   INTEGER,\n"
    "    PRIMARY KEY (case_id, idx)\n"
    ") WITHOUT ROWID;\n";

/* Version 8: what sampling promised and kept. Each sample's SM clock and whether it was taken
 * under throttling (GPU cases with NVML; NULL on the CPU and where unknown: throttled samples are
 * stored but kept out of the statistics), the minimum of samples asked for and the noise target,
 * whether the target was met, why sampling stopped, how many throttled samples were set aside,
 * how many samples lie beyond Tukey's far-out fences, and the case's throttle reasons. Cases from
 * older versions have NULL in all of these: unknown, never "not met". */
static const char schema_v8[] =
    "ALTER TABLE samples ADD COLUMN sm_clock_mhz REAL;\n"
    "ALTER TABLE samples ADD COLUMN throttled INTEGER;\n"
    "ALTER TABLE stats ADD COLUMN min_samples INTEGER;\n"
    "ALTER TABLE stats ADD COLUMN set_aside INTEGER;\n"
    "ALTER TABLE stats ADD COLUMN noise_target REAL;\n"
    "ALTER TABLE stats ADD COLUMN noise_met INTEGER;\n"
    "ALTER TABLE stats ADD COLUMN stop_reason TEXT;\n"
    "ALTER TABLE stats ADD COLUMN outliers INTEGER;\n"
    "ALTER TABLE cases ADD COLUMN throttle_reason TEXT;\n";

/* Version 9: v_latest_results holds the newest result of each case a machine has measured (a
 * case: kernel, implementation, device, dtype, every shape axis, threads, cold cache), taken from
 * complete runs; before, it held only each machine's newest run, so a run of one family hid
 * every result of the others. GROUP BY puts NULL axes together, as a case's unused axes are.
 * Also: causal was stored as 0 for kernels without the axis (no MoE or quantization kernel has
 * it); it is NULL, like every other axis a kernel does not have. */
static const char schema_v9[] =
    "UPDATE cases SET causal = NULL WHERE family IN ('moe', 'quant');\n"
    "DROP VIEW IF EXISTS v_latest_results;\n"
    "CREATE VIEW v_latest_results AS\n"
    "SELECT v.* FROM v_results v\n"
    " WHERE v.case_id IN (\n"
    "   SELECT max(c.id) FROM cases c JOIN runs r ON r.id = c.run_id\n"
    "    WHERE r.status = 'complete'\n"
    "    GROUP BY r.machine_id, c.kernel, c.impl, c.device, c.dtype, c.batch, c.heads, c.kv_heads,\n"
    "             c.seq_len, c.head_dim, c.causal, c.decode, c.window_len, c.block_size,\n"
    "             c.topk_blocks, c.chunk, c.feature_map, c.decay, c.gemm_m, c.gemm_n, c.gemm_k,\n"
    "             c.group_size, c.granularity, c.tokens, c.hidden, c.ffn, c.experts, c.top_k,\n"
    "             c.routing, c.input_dist, c.threads, c.cold_cache);\n";

/* Version 10: what built kbench, beside runs.compiler: the source's `git describe --always
 * --dirty` at configure time ('unknown' outside a git checkout) and the compiler flags and
 * configure arguments. NULL for runs stored before. And runs.cmdline becomes a command a user
 * can paste: older versions wrote "kbench --seq ..." without the "run" (their arguments are
 * not re-quoted). */
static const char schema_v10[] =
    "ALTER TABLE runs ADD COLUMN git_commit TEXT;\n"
    "ALTER TABLE runs ADD COLUMN build_flags TEXT;\n"
    "UPDATE runs SET cmdline = 'kbench run' || substr(cmdline, 7)\n"
    " WHERE cmdline = 'kbench' OR (cmdline LIKE 'kbench %' AND cmdline NOT LIKE 'kbench run %'\n"
    "                              AND cmdline <> 'kbench run');\n";

/* Version 11: the KBENCH_CPU_FEATURES mask a run was made under. The machines row is shared by
 * every run on the machine and keeps the hardware's features and peak; a run made under a mask
 * records the variable's value, the features in effect under it and the nominal f32 per-core
 * peak they reach, so its roofline is drawn against the peak its kernels could reach. NULL for
 * older runs and for runs without a mask (the machine's own features and peak). */
static const char schema_v11[] =
    "ALTER TABLE runs ADD COLUMN cpu_mask TEXT;\n"
    "ALTER TABLE runs ADD COLUMN cpu_features TEXT;\n"
    "ALTER TABLE runs ADD COLUMN peak_f32_core REAL;\n";

/* Version 12: the plugins a run loaded (kbench run --plugin, $KBENCH_PLUGIN_PATH): each file's
 * absolute path and the sha256 of its bytes when it was loaded, so a result says exactly which
 * code ran. Runs without plugins have no rows. */
static const char schema_v12[] =
    "CREATE TABLE run_plugins (\n"
    "    run_id  INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "    path    TEXT NOT NULL,\n"
    "    sha256  TEXT NOT NULL,\n"
    "    kernels INTEGER NOT NULL,\n"
    "    PRIMARY KEY (run_id, path)\n"
    ");\n";

/* Version 13: the axes added after the catalogue's: the page of a paged KV cache (attention
 * decode; 0: a contiguous cache), the hybrid attention stacks' layers, linear:softmax ratio and
 * kind of linear layer, the state-space axis (attention.ssd's state size S) and the length mix
 * of packed ragged batches (attention.varlen: uniform, longtail, equal), and span, the GPUs a
 * case spans (kbench run --span, implementations that span devices); NULL for kernels
 * without them and for older cases. v_results gains the columns and v_latest_results tells
 * cases apart by them. */
static const char schema_v13[] =
    "ALTER TABLE cases ADD COLUMN page_size INTEGER;\n"
    "ALTER TABLE cases ADD COLUMN layers INTEGER;\n"
    "ALTER TABLE cases ADD COLUMN ratio TEXT;\n"
    "ALTER TABLE cases ADD COLUMN linear_kind TEXT;\n"
    "ALTER TABLE cases ADD COLUMN state_size INTEGER;\n"
    "ALTER TABLE cases ADD COLUMN length_mix TEXT;\n"
    "ALTER TABLE cases ADD COLUMN span INTEGER;\n"
    "DROP VIEW IF EXISTS v_latest_results;\n"
    "DROP VIEW v_results;\n"
    "CREATE VIEW v_results AS\n"
    V_RESULTS_AXES_V4
    "       c.page_size             AS page_size,\n"
    "       c.layers                AS layers,\n"
    "       c.ratio                 AS ratio,\n"
    "       c.linear_kind           AS linear_kind,\n"
    "       c.state_size            AS state_size,\n"
    "       c.length_mix            AS length_mix,\n"
    "       c.span                  AS span,\n"
    V_RESULTS_REST
    "CREATE VIEW v_latest_results AS\n"
    "SELECT v.* FROM v_results v\n"
    " WHERE v.case_id IN (\n"
    "   SELECT max(c.id) FROM cases c JOIN runs r ON r.id = c.run_id\n"
    "    WHERE r.status = 'complete'\n"
    "    GROUP BY r.machine_id, c.kernel, c.impl, c.device, c.dtype, c.batch, c.heads, c.kv_heads,\n"
    "             c.seq_len, c.head_dim, c.causal, c.decode, c.window_len, c.block_size,\n"
    "             c.topk_blocks, c.chunk, c.feature_map, c.decay, c.gemm_m, c.gemm_n, c.gemm_k,\n"
    "             c.group_size, c.granularity, c.tokens, c.hidden, c.ffn, c.experts, c.top_k,\n"
    "             c.routing, c.input_dist, c.page_size, c.layers, c.ratio, c.linear_kind,\n"
    "             c.state_size, c.length_mix, c.span, c.threads, c.cold_cache);\n";

static const struct store_migration migrations[] = {
    { 1, "the initial tables", schema_v1 },
    { 2, "accuracy.tolerance, runs.pid and runs.hostname, and the v_* views", schema_v2 },
    { 3, "runs.argv, for resuming a run", schema_v3 },
    { 4, "the shape axes of the whole catalogue, bit-exact accuracy counts", schema_v4 },
    { 5, "claims: paper claims judged on this machine", schema_v5 },
    { 6, "ceilings, the machine's measured rates (kbench calibrate)", schema_v6 },
    { 7, "gpu_kernels, cases.nvml_status, cupti_status and metrics_status, for CUDA cases", schema_v7 },
    { 8, "samples.sm_clock_mhz and throttled, stats.min_samples, set_aside, noise_target, noise_met, "
         "stop_reason and outliers, cases.throttle_reason", schema_v8 },
    { 9, "v_latest_results: the newest result of each case, not each machine's newest run; causal NULL for MoE and quantization cases", schema_v9 },
    { 10, "runs.git_commit and runs.build_flags: the source and build of kbench", schema_v10 },
    { 11, "runs.cpu_mask, cpu_features and peak_f32_core: the KBENCH_CPU_FEATURES mask of a run", schema_v11 },
    { 12, "run_plugins: the path and sha256 of each plugin a run loaded", schema_v12 },
    { 13, "cases.page_size (the paged KV cache of attention decode), cases.layers, ratio and "
          "linear_kind (hybrid attention stacks), cases.state_size (attention.ssd) and cases.length_mix "
          "(attention.varlen) and cases.span (the GPUs a case spans)", schema_v13 },
};

const struct store_migration *store_schema_migrations(int *n)
{
    *n = (int)(sizeof migrations / sizeof migrations[0]);
    return migrations;
}

int store_schema_version(void)
{
    int n;
    const struct store_migration *m = store_schema_migrations(&n);
    return m[n - 1].version;
}
