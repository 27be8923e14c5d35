#!/bin/sh
# compare_detection.sh - how often `kbench compare` flags a planted slowdown, and how often it
# alarms on identical runs: a reproducible benchmark of the regression gate, NOT a test (it takes
# many minutes and its counts depend on the machine's noise; it is not in `make check`).
#
# For each kernel (selftest.spin at 300 ms and at 20 us) and each planted factor (1.00, 1.10,
# 1.50, through $KBENCH_SPIN_SCALE in the candidate's environment), it runs PAIRS independent
# pairs: a fresh base run and a candidate run, each at default `kbench run` settings (or
# $RUN_ARGS), then `kbench compare BASE CAND` at default settings, and counts the verdicts and
# exit statuses. With KBENCH_BEFORE set to another kbench binary (e.g. a build of the previous
# commit), each pair is also compared by that binary, so before and after judge the same samples.
#
# usage: tests/compare_detection.sh [PAIRS] [OUT.md]
#   env: KBENCH (./kbench), KBENCH_BEFORE (unset: after only), RUN_ARGS (extra run options),
#        KERNELS ("300000 20": seq values, microseconds), FACTORS ("1.00 1.10 1.50")
# Prints a markdown table; per-pair rows go to OUT.md.pairs.tsv when OUT.md is given.
set -u
PAIRS=${1:-20}
OUT=${2:-}
KBENCH=${KBENCH:-./kbench}
KERNELS=${KERNELS:-"300000 20"}
FACTORS=${FACTORS:-"1.00 1.10 1.50"}
RUN_ARGS=${RUN_ARGS:-}
TMP=$(mktemp -d /tmp/kbench-detect.XXXXXX) || exit 2
trap 'rm -rf "$TMP"' EXIT INT TERM
PAIRS_TSV=${OUT:+$OUT.pairs.tsv}
[ -n "$PAIRS_TSV" ] && printf 'seq\tfactor\tpair\tbinary\tverdict\texit\tbase_n\tcand_n\tchange\n' >"$PAIRS_TSV"

# The verdict, exit status, sample counts and change of the one case of a comparison.
judge() { # BIN DB
    "$1" compare 1 2 --db "$2" --format json >"$TMP/cmp.json" 2>"$TMP/cmp.err"
    rc=$?
    python3 - "$TMP/cmp.json" "$rc" <<'EOF'
import json, sys
try:
    c = json.load(open(sys.argv[1]))["cases"][0]
    change = "%+.1f%%" % (100 * (c["ratio"] - 1)) if c.get("ratio") is not None else "-"
    print("%s\t%s\t%s\t%s\t%s" % (c["verdict"], sys.argv[2], c["base_samples"], c["candidate_samples"], change))
except Exception as e:
    print("error\t%s\t-\t-\t-" % sys.argv[2])
EOF
}

binaries="after"
[ -n "${KBENCH_BEFORE:-}" ] && binaries="before after"
for seq in $KERNELS; do
    for f in $FACTORS; do
        i=0
        while [ "$i" -lt "$PAIRS" ]; do
            i=$((i + 1))
            db="$TMP/p.db"
            rm -f "$db" "$db-wal" "$db-shm"
            # shellcheck disable=SC2086
            "$KBENCH" run --db "$db" --kernels selftest.spin --seq "$seq" --quiet --no-show --no-counters $RUN_ARGS \
                >/dev/null 2>&1 || { echo "base run failed (seq $seq)" >&2; exit 2; }
            # shellcheck disable=SC2086
            KBENCH_SPIN_SCALE=$f "$KBENCH" run --db "$db" --kernels selftest.spin --seq "$seq" --quiet --no-show \
                --no-counters $RUN_ARGS >/dev/null 2>&1 || { echo "candidate run failed (seq $seq)" >&2; exit 2; }
            for b in $binaries; do
                bin=$KBENCH
                [ "$b" = before ] && bin=$KBENCH_BEFORE
                line=$(judge "$bin" "$db")
                printf '%s\t%s\t%s\t%s\t%s\n' "$seq" "$f" "$i" "$b" "$line" >>"$TMP/all.tsv"
                [ -n "$PAIRS_TSV" ] && printf '%s\t%s\t%s\t%s\t%s\n' "$seq" "$f" "$i" "$b" "$line" >>"$PAIRS_TSV"
            done
        done
        echo "done: seq $seq factor $f" >&2
    done
done

python3 - "$TMP/all.tsv" "$PAIRS" <<'EOF' | tee ${OUT:+"$OUT"}
import sys, collections
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
cells = collections.OrderedDict()
for seq, f, i, b, verdict, rc, nb, nc, change in rows:
    cells.setdefault((seq, f, b), []).append((verdict, rc, nb, nc))
print("| kernel | planted | binary | pairs | same | regressed | inconclusive | other | exit 0 / 1 / 2 | samples (base, cand) |")
print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |")
for (seq, f, b), v in cells.items():
    n = collections.Counter(x[0] for x in v)
    rcs = collections.Counter(x[1] for x in v)
    other = len(v) - n["same"] - n["regressed"] - n["inconclusive"]
    us = int(seq)
    name = "%g ms" % (us / 1000) if us >= 1000 else "%d us" % us
    ns = sorted(set("%s,%s" % (x[2], x[3]) for x in v))
    samples = " ".join(ns) if len(ns) <= 4 else "%s .. %s" % (ns[0], ns[-1])
    print("| spin %s | %s | %s | %d | %d | %d | %d | %d | %d / %d / %d | %s |" % (
        name, "identical" if float(f) == 1 else "%+.0f%%" % (100 * (float(f) - 1)), b, len(v), n["same"],
        n["regressed"], n["inconclusive"], other, rcs["0"], rcs["1"], rcs["2"], samples))
EOF
