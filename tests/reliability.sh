#!/bin/sh
# reliability.sh - faults injected for real (crashing kernels, signals to kbench itself, two
# writers, unwritable and full storage, foreign databases), the database checked afterwards
# with the sqlite3 client.
. "${top_srcdir:-.}/tests/lib.sh"
need_sqlite3

skip() { checks=$((checks + 1)); printf 'ok %d # SKIP %s\n' "$checks" "$1"; }
cases_in() { "$SQLITE3" -batch -noheader "$1" 'SELECT count(*) FROM cases;' 2>/dev/null || echo 0; }
# wait_cases DB N: until DB holds N cases (at most 10 s)
wait_cases() {
    i=0
    while [ "$i" -lt 100 ]; do
        sleep 0.1; i=$((i + 1))
        [ -f "$1" ] && [ "$(cases_in "$1")" -ge "$2" ] && return 0
    done
    return 1
}
whole="SELECT count(*) FROM cases c WHERE status = 'ok' AND NOT EXISTS (SELECT 1 FROM stats s WHERE s.case_id = c.id);"
# A sweep of 14 slow no-op cases (0.3 s each), long enough to be stopped in the middle.
slow="--kernels selftest.noop --seq 64:4096:x2 --causal 0,1 --min-time 0.3 --max-time 0.3 --noise 0.00001 --quiet --no-show"

# ---- faulty kernels: every way a case can die becomes its status ------------------------------
DB="$TMP/faults.db"
expect_exit 1 "a sweep of faulty kernels completes, exit 1" "$KBENCH" run --db "$DB" \
    --kernels 'selftest.crash,selftest.abort,selftest.fpe,selftest.hang,selftest.oom,selftest.noop' \
    --timeout 1 --seq 64 --max-time 0.05 --quiet --no-show
expect_eq "$(q 'SELECT status FROM runs;')" "complete" "the run is complete despite its failures"
expect_eq "$(q 'SELECT count(*) FROM cases;')" "6" "every case stored"
st() { q "SELECT status || ' / ' || coalesce(error, '') FROM cases WHERE kernel = '$1';"; }
case "$(st selftest.crash)" in "crashed / "*"signal 11"*) ok "null write: crashed, signal 11" ;; *) bad "selftest.crash: $(st selftest.crash)" ;; esac
case "$(st selftest.abort)" in "crashed / "*"signal 6"*) ok "abort(): crashed, signal 6" ;; *) bad "selftest.abort: $(st selftest.abort)" ;; esac
case "$(st selftest.fpe)" in "crashed / "*"signal 8"*) ok "division by zero: crashed, signal 8" ;; *) bad "selftest.fpe: $(st selftest.fpe)" ;; esac
case "$(st selftest.hang)" in "timeout / "*) ok "endless run: timeout" ;; *) bad "selftest.hang: $(st selftest.hang)" ;; esac
case "$(st selftest.oom)" in "skipped / needs "*"GiB free") ok "1 PiB footprint: skipped before allocating" ;; *) bad "selftest.oom: $(st selftest.oom)" ;; esac
expect_eq "$(st selftest.noop)" "ok / " "the healthy kernel after them is ok"
expect_eq "$(q "$whole")" "0" "its statistics are stored"
# the footprint hidden (causal=1): the allocation itself fails inside the case
expect_exit 1 "an allocation that fails in setup" "$KBENCH" run --db "$DB" --kernels selftest.oom --seq 64 --causal 1 --quiet --no-show
expect_eq "$(q "SELECT status FROM cases WHERE run_id = 2;")" "setup_failed" "recorded as setup_failed"
case "$(q "SELECT error FROM cases WHERE run_id = 2;")" in "cannot allocate "*" bytes"*) ok "the failed allocation is stored with its size" ;;
    *) bad "setup_failed message: $(q "SELECT error FROM cases WHERE run_id = 2;")" ;; esac

# ---- warm case processes (--process warm; GPU cases use them by default): the same faults end
# the process they ran in, the next case gets a new one, and healthy cases share one --------------
DB="$TMP/warm.db"
expect_exit 1 "a sweep of faulty kernels in warm processes completes, exit 1" "$KBENCH" run --db "$DB" --process warm \
    --kernels 'selftest.noop,selftest.crash,selftest.hang,selftest.abort,attention.flash@cpu' --seq 16,17 --head-dim 8 \
    --heads 1 --timeout 1 --max-time 0.01 --no-counters --quiet --no-show
st() { q "SELECT group_concat(status || ' / ' || coalesce(error, ''), '; ') FROM cases WHERE kernel = '$1';"; }
case "$(st selftest.crash)" in "crashed / "*"signal 11"*"; crashed / "*"signal 11"*) ok "warm: both null writes crashed, signal 11" ;; *) bad "warm selftest.crash: $(st selftest.crash)" ;; esac
case "$(st selftest.hang)" in "timeout / "*"; timeout / "*) ok "warm: both endless runs timed out" ;; *) bad "warm selftest.hang: $(st selftest.hang)" ;; esac
case "$(st selftest.abort)" in "crashed / "*"signal 6"*"; crashed / "*"signal 6"*) ok "warm: both aborts crashed, signal 6" ;; *) bad "warm selftest.abort: $(st selftest.abort)" ;; esac
pcase() { q "SELECT group_concat(CAST(k.value AS INTEGER), ',') FROM cases c JOIN counters k ON k.case_id = c.id AND k.name = 'process_case' WHERE c.kernel = '$1' ORDER BY c.id;"; }
expect_eq "$(pcase selftest.noop)" "1,2" "warm: the healthy cases before the faults share one process (its 1st and 2nd case)"
expect_eq "$(pcase attention.flash)" "1,2" "warm: after the faults a new process runs the next cases"
expect_eq "$(q "SELECT count(*) FROM cases c JOIN accuracy a ON a.case_id = c.id WHERE c.kernel = 'attention.flash' AND c.status = 'ok' AND a.passed = 1;")" "2" "warm: and verifies them"
DB="$TMP/warmcounters.db"
expect_exit 0 "CPU cases in warm processes with counters on" "$KBENCH" run --db "$DB" --process warm \
    --kernels selftest.noop --seq 16,17,18 --max-time 0.01 --quiet --no-show
expect_eq "$(pcase selftest.noop)" "1,2,3" "warm: counters on, CPU cases still share one process (only CUDA's range profiler retires it)"
DB="$TMP/fresh.db"
expect_exit 0 "--process fresh" "$KBENCH" run --db "$DB" --process fresh --kernels selftest.noop --seq 16,17 --max-time 0.01 --quiet --no-show
expect_eq "$(q "SELECT count(*) FROM counters WHERE name = 'process_case';")" "0" "--process fresh: every case its own process (no process_case counter)"
DB="$TMP/auto.db"
expect_exit 0 "CPU cases by default" "$KBENCH" run --db "$DB" --kernels selftest.noop --seq 16,17 --max-time 0.01 --quiet --no-show
expect_eq "$(q "SELECT count(*) FROM counters WHERE name = 'process_case';")" "0" "CPU cases get a fresh process by default (--process auto)"
expect_exit 2 "a bad --process mode" "$KBENCH" run --db "$DB" --process lukewarm --kernels selftest.noop --seq 16 --quiet --no-show
expect_text "$TMP/err" "fresh, warm or auto" "and the modes are named"

# ---- SIGTERM: like Ctrl-C ---------------------------------------------------------------------
DB="$TMP/term.db"
"$KBENCH" run --db "$DB" $slow >/dev/null 2>"$TMP/term.err" &
pid=$!
wait_cases "$DB" 2
kill -TERM "$pid"
wait "$pid"
expect_eq "$?" "143" "SIGTERM: exit 143 (128 + SIGTERM)"
expect_eq "$(q 'SELECT status FROM runs;')" "interrupted" "SIGTERM: run marked interrupted"
n=$(q 'SELECT count(*) FROM cases;')
[ "$n" -ge 2 ] && [ "$n" -lt 14 ] && ok "SIGTERM: finished cases kept ($n of 14)" || bad "SIGTERM: stored cases: $n"
expect_eq "$(q "$whole")" "0" "SIGTERM: every ok case has its statistics"

# the same with warm case processes: they end with the run, none is left behind
DB="$TMP/termw.db"
"$KBENCH" run --db "$DB" --process warm $slow >/dev/null 2>"$TMP/termw.err" &
pid=$!
wait_cases "$DB" 2
kill -TERM "$pid"
wait "$pid"
expect_eq "$?" "143" "SIGTERM, warm processes: exit 143"
expect_eq "$(q 'SELECT status FROM runs;')" "interrupted" "SIGTERM, warm processes: run marked interrupted"
expect_eq "$(q "$whole")" "0" "SIGTERM, warm processes: every ok case has its statistics"
expect_eq "$(ps -eo args | grep -F -- "$DB" | grep -v grep | wc -l | tr -d ' ')" "0" "SIGTERM, warm processes: no case process outlives the run"

# ---- SIGKILL: nothing can be cleaned up; the store must still be whole ------------------------
DB="$TMP/kill.db"
"$KBENCH" run --db "$DB" $slow >/dev/null 2>"$TMP/kill.err" &
pid=$!
wait_cases "$DB" 2
kill -KILL "$pid"
wait "$pid" 2>/dev/null
expect_eq "$(q 'SELECT status FROM runs;')" "running" "SIGKILL: the run is left 'running'"
expect_eq "$(q 'PRAGMA integrity_check;')" "ok" "SIGKILL: integrity_check ok"
expect_eq "$(q "$whole")" "0" "SIGKILL: every ok case has its statistics"
i=0
while [ "$i" -lt 30 ] && pgrep -f -- "$DB" >/dev/null; do sleep 0.1; i=$((i + 1)); done
if pgrep -f -- "$DB" >/dev/null; then bad "SIGKILL: a case process outlived kbench: $(pgrep -f -- "$DB" | tr '\n' ' ')"
else ok "SIGKILL: no case process outlives kbench"; fi
expect_exit 0 "SIGKILL: the next run into the same database" "$KBENCH" run --db "$DB" --kernels selftest.noop --seq 64 --max-time 0.01 --quiet --no-show
expect_eq "$(q 'SELECT status FROM runs WHERE id = 1;')" "interrupted" "SIGKILL: the abandoned run is marked interrupted"
expect_eq "$(q 'SELECT status FROM runs WHERE id = 2;')" "complete" "SIGKILL: the new run completes"

# ---- two writers, one reader, one database ----------------------------------------------------
DB="$TMP/two.db"
"$KBENCH" run --db "$DB" --kernels selftest.noop --seq 64,128,256 --causal 0,1 --min-time 0.15 --max-time 0.15 --quiet --no-show >/dev/null 2>"$TMP/w1.err" &
w1=$!
"$KBENCH" run --db "$DB" --kernels selftest.noop --seq 32,96,160,224 --min-time 0.15 --max-time 0.15 --quiet --no-show >/dev/null 2>"$TMP/w2.err" &
w2=$!
wait_cases "$DB" 1
"$KBENCH" show latest --db "$DB" >/dev/null 2>"$TMP/reader.err"
expect_eq "$?" "0" "a reader while two runs write"
wait "$w1"; r1=$?
wait "$w2"; r2=$?
expect_eq "$r1 $r2" "0 0" "two concurrent writers both exit 0"
[ "$r1$r2" = "00" ] || sed 's/^/# /' "$TMP/w1.err" "$TMP/w2.err" | head -6
expect_eq "$(q 'SELECT count(*) FROM cases;')" "10" "no lost case: 6 + 4 stored"
expect_eq "$(q "SELECT group_concat(status) FROM runs;")" "complete,complete" "both runs complete"
expect_eq "$(q 'PRAGMA integrity_check;')" "ok" "integrity_check ok after concurrent writes"

# ---- storage that cannot be written -----------------------------------------------------------
quick="--kernels selftest.noop --seq 64 --max-time 0.01 --quiet --no-show"
# as_user CMD...: runs CMD as an unprivileged user where the tests run as root (root ignores modes)
as_user() { "$@"; }
ro_ok=1
if [ "$(id -u)" -eq 0 ]; then
    if command -v setpriv >/dev/null && setpriv --reuid=nobody --regid=nogroup --clear-groups "$KBENCH" --version >/dev/null 2>&1; then
        as_user() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
        RO=$(mktemp -d "${TMPDIR:-/tmp}/kbench-ro.XXXXXX")
        chmod 711 "$RO"   # reachable by nobody, readable by nobody else
        trap 'rm -rf "$TMP" "$RO"' EXIT
    else
        ro_ok=0
    fi
else
    RO="$TMP/ro"; mkdir "$RO"
fi
if [ "$ro_ok" -eq 1 ]; then
    mkdir "$RO/f" "$RO/d"
    cp "$TMP/faults.db" "$RO/f/k.db"; cp "$TMP/faults.db" "$RO/d/k.db"
    [ "$(id -u)" -eq 0 ] && chown -R nobody:nogroup "$RO/f" "$RO/d"
    chmod 444 "$RO/f/k.db"
    chmod 555 "$RO/d"
    for t in f d; do
        [ $t = f ] && what="read-only database file" || what="read-only directory"
        before=$(cksum < "$RO/$t/k.db")
        expect_exit 2 "$what" as_user "$KBENCH" run --db "$RO/$t/k.db" $quick
        expect_text "$TMP/err" "$RO/$t/k.db" "$what: the message names the path"
        expect_eq "$(cksum < "$RO/$t/k.db")" "$before" "$what: the file is unchanged"
    done
    chmod 755 "$RO/d"
else
    for i in 1 2 3 4 5 6; do skip "running as root and setpriv cannot drop to nobody (or nobody cannot run $KBENCH)"; done
fi

# a full disk: a tmpfs far too small for the sweep (the schema's migrations alone take ~270k of
# write-ahead log at schema v11, and each migration adds a few pages: leave room for some cases)
FULL="$TMP/full"
mkdir "$FULL"
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=600k tmpfs "$FULL" 2>/dev/null; then
    trap 'umount "$FULL" 2>/dev/null; rm -rf "$TMP" ${RO:+"$RO"}' EXIT
    expect_exit 2 "full disk: exit 2" "$KBENCH" run --db "$FULL/k.db" --kernels selftest.noop --seq 8:512:+8 --causal 0,1 --heads 1,2,4,8 \
        --max-time 0.01 --min-samples 10 --max-samples 10 --no-counters --quiet --no-show
    if grep -qiE "full|no space" "$TMP/err"; then ok "full disk: the message says so"; else bad "full disk: message: $(head -c 200 "$TMP/err")"; fi
    mkdir "$TMP/fullcopy"
    cp "$FULL"/k.db* "$TMP/fullcopy/"
    umount "$FULL"
    DB="$TMP/fullcopy/k.db"
    expect_eq "$(q 'PRAGMA integrity_check;')" "ok" "full disk: integrity_check ok"
    n=$(q 'SELECT count(*) FROM cases;')
    [ "$n" -ge 1 ] && [ "$n" -lt 512 ] && ok "full disk: the cases stored before it filled are kept ($n of 512)" || bad "full disk: $n cases stored"
    expect_eq "$(q "$whole")" "0" "full disk: every ok case has its statistics"
    # 'failed' when the end of the run still fit, else left 'running' for the next run to mark
    case "$(q 'SELECT status FROM runs;')" in failed|running) ok "full disk: the run is not marked complete" ;;
        *) bad "full disk: run status $(q 'SELECT status FROM runs;')" ;; esac
else
    for i in 1 2 3 4 5 6; do skip "needs root and a mountable tmpfs for a full-disk test"; done
fi

# ---- databases kbench must not touch ----------------------------------------------------------
cp "$TMP/faults.db" "$TMP/newer.db"
"$SQLITE3" "$TMP/newer.db" 'PRAGMA user_version = 99;'
before=$(cksum < "$TMP/newer.db")
expect_exit 2 "a newer schema version: exit 2" "$KBENCH" run --db "$TMP/newer.db" $quick
expect_text "$TMP/err" "99" "the newer schema version is named"
expect_eq "$(cksum < "$TMP/newer.db")" "$before" "the newer database is unchanged"
size=$(wc -c < "$TMP/faults.db")
head -c $((size / 2)) "$TMP/faults.db" > "$TMP/half.db"
before=$(cksum < "$TMP/half.db")
expect_exit 2 "a truncated database: exit 2" "$KBENCH" run --db "$TMP/half.db" $quick
expect_text "$TMP/err" "$TMP/half.db" "the truncated database is named"
expect_eq "$(cksum < "$TMP/half.db")" "$before" "the truncated database is unchanged"

# ---- fixtures written by earlier versions migrate, with their results intact ------------------
"$KBENCH" run --db "$TMP/current.db" --kernels selftest.noop --seq 1 --max-time 0.01 --quiet --no-show >/dev/null 2>&1
current=$("$SQLITE3" -batch -noheader "$TMP/current.db" 'PRAGMA user_version;')
for fx in "${top_srcdir:-.}"/tests/fixtures/schema-v*.db; do
    [ -f "$fx" ] || continue
    name=$(basename "$fx" .db)
    cp "$fx" "$TMP/$name.db"
    DB="$TMP/$name.db"
    old_cases=$(q 'SELECT count(*) FROM cases;')
    old_median=$(q "SELECT median_s FROM stats ORDER BY case_id LIMIT 1;")
    expect_exit 0 "$name: show reads it without migrating" "$KBENCH" show 1 --db "$DB"
    expect_text "$TMP/out" "attention.flash" "$name: its cases are shown"
    expect_eq "$(cksum < "$fx")" "$(cksum < "$DB")" "$name: a read changes nothing"
    expect_exit 0 "$name: a new run migrates it" "$KBENCH" run --db "$DB" --kernels attention.flash --seq 32 --head-dim 8 --max-time 0.01 --quiet --no-show
    expect_eq "$(q 'PRAGMA user_version;')" "$current" "$name: now at the current schema ($current)"
    expect_eq "$(q 'SELECT count(*) FROM cases WHERE run_id = 1;')" "$old_cases" "$name: old cases kept"
    expect_eq "$(q "SELECT median_s FROM stats ORDER BY case_id LIMIT 1;")" "$old_median" "$name: old statistics unchanged"
    expect_eq "$(q 'PRAGMA integrity_check;')" "ok" "$name: integrity ok after migration"
    case "$(q 'SELECT cmdline FROM runs WHERE id = 1;')" in "kbench run "*) ok "$name: its command line gained 'run'" ;;
        *) bad "$name: command line after migration: $(q 'SELECT cmdline FROM runs WHERE id = 1;')" ;; esac
    q "UPDATE runs SET status = 'interrupted' WHERE id = 1;"
    expect_exit 2 "$name: an old run cannot be resumed" "$KBENCH" run --db "$DB" --resume 1
    expect_text "$TMP/err" "without its arguments" "$name: says why"
done

# ---- a writer that finds the database locked for longer than the busy timeout waits, says so,
# and stores its case: nothing measured is lost ----------------------------------------------------
DB="$TMP/lock.db"
"$KBENCH" run --db "$DB" --kernels attention.flash --seq 64,128,256 --head-dim 8 --min-time 0.5 --max-time 0.5 \
    --quiet --no-show >/dev/null 2>"$TMP/lock.err" &
pid=$!
i=0
while [ "$i" -lt 100 ] && [ "$(q 'SELECT count(*) FROM cases;' 2>/dev/null || echo 0)" -lt 1 ]; do sleep 0.1; i=$((i + 1)); done
"$SQLITE3" "$DB" "BEGIN EXCLUSIVE; INSERT INTO run_tags SELECT id, 'lock-holder', 'x' FROM runs LIMIT 1;" ".shell sleep 13" "COMMIT;"
wait "$pid"
expect_eq "$?" "0" "a run held up by a 13 s lock finishes"
expect_text "$TMP/lock.err" "waiting for the lock" "it said it was waiting for the lock"
expect_eq "$(q 'SELECT count(*) FROM cases;')" "3" "no case lost to the lock"
expect_eq "$(q 'SELECT status FROM runs;')" "complete" "the run completes"

finish
