#!/bin/sh
# slurm.sh - the README's Slurm job array, run for real: a one-node Slurm (slurmctld and slurmd as
# root, no systemd, a slurm.conf in a temporary folder, munge with its own key and socket) runs the
# recipe (each array task measures one shard into its own database, then `kbench import` puts them
# together and each shard is compared with the baseline, the nightly step), and the shards' union
# must equal a single-machine run of the same suite case for case.
#
# Debian's slurm-wlm and munge are installed by .ci/deps; where they are missing and this is root
# with apt-get, the test installs them itself. It skips only where they cannot be installed, and
# says why. The daemons are this test's own processes: stopped by pid at the end.
. "${top_srcdir:-.}/tests/lib.sh"
need_sqlite3
src=${top_srcdir:-.}
K=$(cd "$(dirname "$KBENCH")" && pwd)/$(basename "$KBENCH")

missing() { for b in slurmctld slurmd munged sbatch sinfo; do command -v "$b" >/dev/null 2>&1 || { echo "$b"; return; }; done; }
if [ -n "$(missing)" ]; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge >"$TMP/apt.log" 2>&1 ||
            { apt-get update -q >>"$TMP/apt.log" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge >>"$TMP/apt.log" 2>&1; }
    fi
    if [ -n "$(missing)" ]; then
        why=$( [ "$(id -u)" -ne 0 ] && echo "not root" || tail -n 1 "$TMP/apt.log" 2>/dev/null)
        echo "1..0 # SKIP Slurm cannot be installed here ($(missing) missing; apt-get install slurm-wlm munge: ${why:-no apt-get})"
        exit 0
    fi
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "1..0 # SKIP slurmctld and slurmd are started as root, and this is not root"
    exit 0
fi

# ---- a one-node cluster of this test's own ----
S="$TMP/slurm"
mkdir -p "$S/state" "$S/spool" "$S/munge" "$S/work"
chmod 755 "$S/munge"
dd if=/dev/urandom of="$S/munge/munge.key" bs=1024 count=1 2>/dev/null
chmod 400 "$S/munge/munge.key"
pids=
trap 'for p in $pids; do kill "$p" 2>/dev/null; done; for p in $pids; do wait "$p" 2>/dev/null; done; rm -rf "$TMP"' EXIT
munged --foreground --force --key-file="$S/munge/munge.key" --socket="$S/munge/munge.sock" \
    --pid-file="$S/munge/munged.pid" --log-file="$S/munge/munged.log" --seed-file="$S/munge/munged.seed" \
    >"$S/munge/munged.out" 2>&1 &
pids="$pids $!"
# free ports for this cluster (another Slurm on the machine keeps its own)
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
node=$(hostname -s)
nodeline=$(slurmd -C | head -n 1 | sed "s/^NodeName=[^ ]*/NodeName=$node NodeAddr=127.0.0.1/")
cat >"$S/slurm.conf" <<EOS
ClusterName=kbenchtest
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$(port)
SlurmdPort=$(port)
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$S/munge/munge.sock
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/slurmctld.log
SlurmdLogFile=$S/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
$nodeline State=UNKNOWN
PartitionName=kbench Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOS
export SLURM_CONF="$S/slurm.conf"
# wait_for WHAT CMD...: polls until CMD succeeds; gives up after 60 s of trying
wait_for() {
    what=$1; shift
    t=0
    until "$@" >/dev/null 2>&1; do
        t=$((t + 1)); [ $t -gt 300 ] && { bad "$what: not after 60 s"; return 1; }
        sleep 0.2
    done
    ok "$what"
}
wait_for "munged answers" sh -c "munge -S '$S/munge/munge.sock' -n | unmunge -S '$S/munge/munge.sock'"
slurmctld -D -f "$S/slurm.conf" >"$S/slurmctld.out" 2>&1 &
pids="$pids $!"
slurmd -D -f "$S/slurm.conf" >"$S/slurmd.out" 2>&1 &
pids="$pids $!"
if ! wait_for "the node is up" sh -c "sinfo -h -N -o %T | grep -qx idle"; then
    sed 's/^/# /' "$S/slurmctld.log" "$S/slurmd.log" 2>/dev/null | tail -20
    finish; exit
fi

# ---- the README's recipe, on a small suite ----
timing_lock # its nightly step judges "slower" from timings: not beside a test that plants a busy neighbour
cat >"$S/work/fleet.suite" <<EOS
name = fleet
[spin]
kernels = selftest.spin
seq = 100:1000:+100
[noop]
kernels = selftest.noop
seq = 64,128
EOS
# the job array of README.md ("A Slurm job array"), with this test's kbench and suite
cat >"$S/work/sweep.sh" <<EOS
#!/bin/sh
#SBATCH --job-name=kbench
#SBATCH --array=1-3
#SBATCH --exclusive
#SBATCH --time=00:10:00
$K run --suite fleet.suite --shard "\$SLURM_ARRAY_TASK_ID/\$SLURM_ARRAY_TASK_COUNT" \\
    --tag "sweep-\$SLURM_ARRAY_JOB_ID" --db "shard-\$SLURM_ARRAY_TASK_ID.db" --max-time 0.2 --quiet --no-show
EOS
cd "$S/work" || exit 1
# the baseline: the same suite on this machine, measured before (the nightly's tag:nightly-good)
"$K" run --suite fleet.suite --db single.db --max-time 0.2 --quiet --no-show --tag nightly-good >/dev/null 2>&1
expect_eq "$?" "0" "the single-machine run"
if sbatch --wait --chdir="$S/work" --output="$S/work/slurm-%A_%a.out" sweep.sh >"$TMP/sbatch.out" 2>&1; then
    ok "sbatch --wait: the job array ran"
else
    bad "sbatch --wait failed"; sed 's/^/# /' "$TMP/sbatch.out" "$S"/work/slurm-*.out 2>/dev/null | tail -10
fi
job=$(sed -n 's/^Submitted batch job \([0-9]*\).*/\1/p' "$TMP/sbatch.out")
n=$(ls shard-*.db 2>/dev/null | wc -l)
expect_eq "$n" "3" "each array task wrote its shard"
# then, as the README says: import, and the nightly step (each shard against the baseline)
expect_exit 0 "kbench import shard-*.db single.db --db all.db" "$K" import shard-1.db shard-2.db shard-3.db single.db --db all.db
DB="$S/work/all.db"
expect_eq "$(q "SELECT count(*) FROM v_runs WHERE tags = 'sweep-$job'")" "3" "the union holds the three shard runs, tagged sweep-$job"
cols="kernel, impl, device, dtype, seq_len, threads, cold_cache, status"
q "SELECT $cols FROM v_results WHERE run_id IN (SELECT run_id FROM v_runs WHERE tags = 'sweep-$job') ORDER BY $cols" >"$TMP/union"
DB="$S/work/single.db"
q "SELECT $cols FROM v_results ORDER BY $cols" >"$TMP/single"
DB="$S/work/all.db"
if [ -s "$TMP/single" ] && cmp -s "$TMP/union" "$TMP/single"; then
    ok "the shards' union equals the single-machine run case for case ($(wc -l <"$TMP/single") cases)"
else
    bad "the shards' union differs from the single-machine run"; diff "$TMP/single" "$TMP/union" | head -10 | sed 's/^/# /'
fi
expect_eq "$(sort "$TMP/union" | uniq -d | wc -l)" "0" "no case is in two shards"
# the nightly step: the night's shards, as one run, against the baseline (flagged cases measured again)
runs=$(q "SELECT run_id FROM v_runs WHERE tags = 'sweep-$job' ORDER BY run_id")
# shellcheck disable=SC2086
expect_exit 0 "the nightly step: the shards' union compared with the baseline passes" \
    "$K" compare tag:nightly-good $runs --db all.db --suite fleet.suite --confirm --format junit -o compare.xml
sed 's/^/# /' "$TMP/err" | head -3
# shellcheck disable=SC2086
"$K" compare tag:nightly-good $runs --db all.db --suite fleet.suite --format json >"$TMP/c.json" 2>/dev/null
total=$(wc -l <"$TMP/single")
expect_text "$TMP/c.json" "\"matched\": $total," "every case of the baseline is matched by one of the shards ($total)"
expect_text "$TMP/c.json" '"missing": 0,' "none is missing"
expect_text compare.xml '<property name="candidate.runs"' "the JUnit report names the shards"
finish
