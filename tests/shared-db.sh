#!/bin/sh
# shared-db.sh - a database shared the way teams share one: its owner runs sweeps into it, and
# another user reads it with every read command. The reader must be able to read it even where
# it may not write the file or its folder, and must leave nothing behind (a -wal or -shm file it
# owned would stop the owner's next run). Two users are needed, so this runs as root (as CI
# does) and becomes them with setpriv.
. "${top_srcdir:-.}/tests/lib.sh"
if [ "$(id -u)" -ne 0 ]; then
    echo "1..0 # SKIP not root: the reader must be a second user (setpriv needs root)"; exit 0
fi
if ! command -v setpriv >/dev/null 2>&1; then
    echo "1..0 # SKIP setpriv is not installed (util-linux)"; exit 0
fi
need_sqlite3
OWNER=65534 READER=65533
as() { uid=$1; shift; setpriv --reuid="$uid" --regid="$uid" --clear-groups "$@"; }
if ! as "$OWNER" "$KBENCH" --help >/dev/null 2>&1; then
    echo "1..0 # SKIP uid $OWNER cannot run $KBENCH (a folder above it is not readable)"; exit 0
fi
unset KBENCH_DB
chmod 755 "$TMP"
SH="$TMP/shared"
mkdir "$SH" && chown "$OWNER:$OWNER" "$SH" && chmod 1777 "$SH"
DB="$SH/team.db"
sweep() { as "$OWNER" "$KBENCH" run --db "$DB" --kernels attention.flash --seq 64,128 --heads 2 --head-dim 16 \
    --max-time 0.02 --no-counters --quiet --no-show "$@"; }
sweep --tag base >/dev/null 2>&1 && sweep --tag new >/dev/null 2>&1 || { bad "the owner's sweeps into $DB failed"; finish; exit 1; }
expect_eq "$(stat -c %u "$DB")" "$OWNER" "the database belongs to its owner (uid $OWNER)"

# reads_all LABEL: every read command, as the reader; each must succeed and say no "readonly"
reads_all() {
    label=$1
    expect_exit 0 "$label: runs" as "$READER" "$KBENCH" runs --db "$DB"
    expect_exit 0 "$label: show" as "$READER" "$KBENCH" show latest --db "$DB"
    expect_exit 0 "$label: export csv" as "$READER" "$KBENCH" export latest --db "$DB" --format csv
    expect_exit 0 "$label: export json" as "$READER" "$KBENCH" export tag:base --db "$DB" --format json
    as "$READER" "$KBENCH" compare tag:base tag:new --db "$DB" >"$TMP/out" 2>"$TMP/err"
    got=$? # 0 or 1: a verdict either way; 2 would be the database refused
    if [ "$got" -le 1 ]; then ok "$label: compare (exit $got)"; else bad "$label: compare: exit $got"; sed 's/^/# /' "$TMP/err" | head -3; fi
    expect_exit 0 "$label: history" as "$READER" "$KBENCH" history --kernel attention.flash --db "$DB"
    out="$TMP/report-$(echo "$label" | tr -c "a-z\n" -)"
    mkdir -p "$out" && chown "$READER" "$out"
    expect_exit 0 "$label: report" as "$READER" "$KBENCH" report latest --out "$out" --db "$DB"
    if grep -qi "readonly database\|is read-only" "$TMP/err"; then bad "$label: report complained: $(head -1 "$TMP/err")"; else ok "$label: no read-only complaint"; fi
}
# left_by_reader: the files in the shared folder that belong to the reader
left_by_reader() { find "$SH" -user "$READER" | sort | tr '\n' ' '; }

# 1. the folder is writable by everyone (like /tmp): before, the reader left -wal and -shm of its own
rm -f "$DB-wal" "$DB-shm"
chmod 644 "$DB"
reads_all "folder open to all"
expect_eq "$(left_by_reader)" "" "the reader left no file of its own beside the database"
expect_exit 0 "the owner's next run after the reads" sweep --tag third
expect_eq "$(q 'SELECT count(*) FROM runs;')" "3" "the owner's third run is stored"
# root reads like any user; what SQLite creates for root belongs to the database's owner
rm -f "$DB-wal" "$DB-shm"
expect_exit 0 "runs as root" "$KBENCH" runs --db "$DB"
expect_eq "$(find "$SH" -name 'team.db*' ! -user "$OWNER" | tr '\n' ' ')" "" "every file beside the database still belongs to its owner"

# 2. neither the file nor the folder is writable by the reader (before: "attempt to write a
#    readonly database")
chmod 755 "$SH"
chmod 444 "$DB"
rm -f "$DB-wal" "$DB-shm"
reads_all "read-only file and folder"
expect_eq "$(ls -A "$SH" | tr '\n' ' ')" "team.db " "nothing was created beside the database"
chmod 644 "$DB"

# 3. while a writer holds the WAL open, a reader reads through it (sees its last commit) and
#    creates nothing
chmod 1777 "$SH"
mkfifo "$TMP/writer"
as "$OWNER" "$SQLITE3" "$DB" < "$TMP/writer" >/dev/null 2>&1 &
writer=$!
exec 3>"$TMP/writer"
echo "INSERT INTO run_tags (run_id, tag) VALUES (1, 'in-wal');" >&3
# until the commit is whole: a -wal that is merely non-empty may hold its frames but not yet the
# commit record (the reader then rightly does not see the row), so ask the owner's own client
committed() { [ "$(as "$OWNER" "$SQLITE3" "$DB" "SELECT count(*) FROM run_tags WHERE tag = 'in-wal';" 2>/dev/null)" = 1 ]; }
i=0; while [ $i -lt 300 ] && ! committed; do sleep 0.1; i=$((i + 1)); done
if [ -e "$DB-wal" ]; then
    expect_exit 0 "reader beside a WAL" as "$READER" "$KBENCH" runs --db "$DB" --limit 0
    expect_text "$TMP/out" "in-wal" "the reader sees a commit that is still in the WAL"
    expect_eq "$(left_by_reader)" "" "the reader beside a WAL left no file of its own"
else
    bad "the owner's sqlite3 client wrote no -wal to read beside"
fi
exec 3>&-
wait "$writer"

# 4. a -shm left by another user (as readers of older kbench versions did): the owner's run
#    names the file, its owner and the way out instead of "attempt to write a readonly database"
rm -f "$DB-wal" "$DB-shm"
as "$READER" sh -c "umask 022; : > '$DB-shm'"
expect_exit 2 "the owner's run beside someone else's -shm" sweep
expect_text "$TMP/err" "$DB-shm belongs to" "the error names the -shm file"
expect_text "$TMP/err" "uid $READER" "the error names its owner"
expect_text "$TMP/err" "remove $DB-wal and $DB-shm" "the error says how to recover"
rm -f "$DB-shm"

# 5. a run whose process is gone shows as interrupted at once, to a reader who may not write
dead=$(sh -c 'echo $$')
q "UPDATE runs SET status = 'running', finished_at = NULL, pid = $dead, hostname = '$(hostname)' WHERE id = 3;"
q "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
expect_exit 0 "runs as the reader" as "$READER" "$KBENCH" runs --db "$DB"
if grep -E '^ *3 ' "$TMP/out" | grep -q interrupted; then ok "a dead run shows as interrupted"; else
    bad "a dead run shows as interrupted: $(grep -E '^ *3 ' "$TMP/out")"; fi
expect_eq "$(q 'SELECT status FROM runs WHERE id = 3;')" "running" "the reader wrote nothing (the file still says running)"

# 6. the dashboard, as the reader, on the read-only file and folder
if command -v tmux >/dev/null 2>&1; then
    chmod 755 "$SH"; chmod 444 "$DB"; rm -f "$DB-wal" "$DB-shm"
    SOCK="kbench-shared-$$"
    trap 'tmux -L "$SOCK" kill-server 2>/dev/null; rm -rf "$TMP"' EXIT
    tmux -L "$SOCK" -f /dev/null new-session -d -s t -x 120 -y 30 \
        "setpriv --reuid=$READER --regid=$READER --clear-groups $KBENCH tui --db '$DB'; echo EXIT=\$?; sleep 60"
    i=0; seen=""
    while [ $i -lt 80 ]; do
        seen=$(tmux -L "$SOCK" capture-pane -p -t t)
        case "$seen" in *"3 runs"*|*EXIT=*) break ;; esac
        sleep 0.1; i=$((i + 1))
    done
    case "$seen" in *"3 runs"*) ok "the dashboard opens a read-only database as another user" ;;
        *) bad "the dashboard as another user: $(echo "$seen" | grep -v '^$' | head -2)" ;; esac
    tmux -L "$SOCK" send-keys -t t q
    tmux -L "$SOCK" kill-server 2>/dev/null
    expect_eq "$(ls -A "$SH" | tr '\n' ' ')" "team.db " "the dashboard created nothing beside the database"
else
    ok "# SKIP tmux is not installed: the dashboard is not tried"
fi
finish
