#!/bin/sh
# cli_desc.sh - what the commands' descriptions (bench/cmd_*.c) promise: -h on every command, help
# COMMAND, "did you mean", a missing value blamed on its option, empty paths refused, SIGTERM 143,
# the generated man page and bash completion, tag/untag, filters and the JSON outputs.
. "${top_srcdir:-.}/tests/lib.sh"
need_sqlite3

commands=$("$KBENCH" --help | awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { exit }')
[ -n "$commands" ] && ok "--help lists the commands" || bad "--help lists no commands"

# ---- help ---------------------------------------------------------------------------------------
for cmd in $commands; do
    expect_exit 0 "$cmd -h" "$KBENCH" $cmd -h
    expect_text "$TMP/out" "usage: kbench $cmd" "$cmd -h prints its usage"
    expect_text "$TMP/out" "Exit status:" "$cmd -h lists its exit statuses"
    "$KBENCH" $cmd --help > "$TMP/long" 2>&1
    "$KBENCH" help $cmd > "$TMP/viahelp" 2>&1
    cmp -s "$TMP/out" "$TMP/long" && cmp -s "$TMP/out" "$TMP/viahelp" \
        && ok "$cmd: -h, --help and 'kbench help $cmd' print the same" || bad "$cmd: -h, --help and help $cmd differ"
done
expect_exit 0 "kbench --help" "$KBENCH" --help
for code in 0 1 2 130 143; do
    grep -q "^  $code  " "$TMP/out" && ok "--help lists exit status $code" || bad "--help does not list exit status $code"
done
expect_exit 0 "kbench run -h" "$KBENCH" run -h
for code in 0 1 2 130 143; do
    grep -q "^  $code  " "$TMP/out" && ok "run -h lists exit status $code" || bad "run -h does not list exit status $code"
done
expect_text "$TMP/out" "--kv-heads LIST" "run -h lists the shape axes (from kernels/axes.c)"

# ---- mistakes -----------------------------------------------------------------------------------
expect_exit 2 "kbench rn" "$KBENCH" rn
expect_text "$TMP/err" "did you mean 'run'?" "a mistyped command: did you mean 'run'"
expect_exit 2 "kbench help rn" "$KBENCH" help rn
expect_text "$TMP/err" "did you mean 'run'?" "help of a mistyped command: did you mean 'run'"
expect_exit 2 "kbench frobnicate" "$KBENCH" frobnicate
if grep -q "did you mean" "$TMP/err"; then bad "a word far from every command got a guess"; else ok "no guess for a word far from every command"; fi
expect_exit 2 "run --seqq" "$KBENCH" run --seqq 64 --dry-run
expect_text "$TMP/err" "did you mean --seq?" "a mistyped option: did you mean --seq"
expect_exit 2 "show --kernal" "$KBENCH" show --kernal x
expect_text "$TMP/err" "did you mean --kernel?" "a mistyped option of show: did you mean --kernel"
expect_exit 2 "run --max (ambiguous)" "$KBENCH" run --max 4 --dry-run
expect_text "$TMP/err" "ambiguous" "an ambiguous abbreviation says so"
expect_exit 0 "run --kernel (an alias) still works" "$KBENCH" run --kernel attention.flash --seq 64 --dry-run
expect_exit 0 "a unique abbreviation still works" "$KBENCH" run --kernels attention.flash --head-d 64 --dry-run
expect_exit 2 "a flag given a value" "$KBENCH" run --dry-run=yes
expect_text "$TMP/err" "'--dry-run' takes no value" "a flag given a value is named"

expect_exit 2 "run --seq --max-time 0.05" "$KBENCH" run --kernels selftest.noop --seq --max-time 0.05 --dry-run
expect_text "$TMP/err" "'--seq' needs a value" "the missing value is blamed on --seq"
if grep -q "max-time.*seq\|bad --seq\|bad seq" "$TMP/err"; then bad "'--max-time' was read as a value of --seq"; else ok "'--max-time' is not read as a bad value"; fi
expect_exit 2 "a value missing at the end" "$KBENCH" list --format
expect_text "$TMP/err" "'--format' needs a value" "a missing last value names the option"
expect_exit 2 "export -o with an option after it" "$KBENCH" export -o -f csv
expect_text "$TMP/err" "'-o' needs a value" "a short option's missing value names it"
expect_exit 2 "run --noise -1 (a negative number is a value)" "$KBENCH" run --noise -1 --dry-run
expect_text "$TMP/err" "--noise -1 is out of range" "a negative number is taken as the value and judged"

# --db '' is refused, and no database appears in its place (not ./kbench.db, not $KBENCH_DB)
mkdir "$TMP/cwd"
for cmd in runs show devices export tui "run --kernels selftest.noop --seq 64 --max-time 0.01 --quiet"; do
    name=${cmd%% *}
    (cd "$TMP/cwd" && "$KBENCH" $cmd --db '' >"$TMP/out" 2>"$TMP/err"); got=$?
    expect_eq "$got" "2" "$name --db '': exit 2"
    expect_text "$TMP/err" "bad --db ''" "$name --db '': says why"
done
expect_exit 2 "--db= (empty after =)" "$KBENCH" runs --db=
[ -z "$(ls "$TMP/cwd")" ] && [ ! -e "$KBENCH_DB" ] && ok "--db '' created no database" || bad "--db '' created a database"

# ---- the man page ---------------------------------------------------------------------------------
expect_exit 0 "help --man" "$KBENCH" help --man
cp "$TMP/out" "$TMP/kbench.1"
expect_text "$TMP/kbench.1" ".TH KBENCH 1" "man page: title line"
for section in NAME SYNOPSIS DESCRIPTION COMMANDS "EXIT STATUS" ENVIRONMENT; do
    grep -q "^\.SH \"*$section" "$TMP/kbench.1" && ok "man page: section $section" || bad "man page: no section $section"
done
for cmd in $commands; do
    grep -q "^\.SS \"kbench $cmd\"" "$TMP/kbench.1" && ok "man page: describes $cmd" || bad "man page: no section for $cmd"
done
grep -q '\\fB\\-\\-max\\-time\\fR' "$TMP/kbench.1" && ok "man page: run's options, with roff minus signs" \
    || bad "man page: --max-time missing or its dashes not escaped"
built="$(dirname "$KBENCH")/kbench.1"
if [ -f "$built" ]; then
    cmp -s "$built" "$TMP/kbench.1" && ok "the built kbench.1 is what kbench writes now" || bad "the built kbench.1 is stale"
fi
if command -v groff >/dev/null 2>&1; then
    groff -man -Tutf8 -ww -z "$TMP/kbench.1" 2>"$TMP/groff.err"
    [ ! -s "$TMP/groff.err" ] && ok "man page: groff reads it without a warning" || { bad "man page: groff warns"; sed 's/^/# /' "$TMP/groff.err" | head -5; }
fi
if command -v man >/dev/null 2>&1; then
    MANWIDTH=100 man -l "$TMP/kbench.1" >"$TMP/man.txt" 2>"$TMP/man.err"
    expect_text "$TMP/man.txt" "kbench run" "man -l renders the page"
    grep -q -- "--seq LIST" "$TMP/man.txt" && ok "man -l shows run's axis options" || bad "man -l: no --seq LIST"
fi

# ---- bash completion --------------------------------------------------------------------------------
if command -v bash >/dev/null 2>&1; then
    expect_exit 0 "help --bash-completion" "$KBENCH" help --bash-completion
    cp "$TMP/out" "$TMP/kbench.bash"
    complete_words() { # WORDS...: what the completion offers for the last word
        KB_WORDS="$*" bash -c '. "$1"; COMP_WORDS=($KB_WORDS); COMP_CWORD=$((${#COMP_WORDS[@]} - 1));
            case "$KB_WORDS" in *" ") COMP_WORDS+=(""); COMP_CWORD=${#COMP_WORDS[@]}; COMP_CWORD=$((COMP_CWORD - 1)) ;; esac
            _kbench; printf "%s\n" "${COMPREPLY[@]}"' sh "$TMP/kbench.bash"
    }
    complete_words "$KBENCH" ru > "$TMP/c"
    grep -qx run "$TMP/c" && grep -qx runs "$TMP/c" && ok "completion: 'ru' offers run and runs" || bad "completion of 'ru': $(tr '\n' ' ' < "$TMP/c")"
    complete_words "$KBENCH" run --kernels attention.fl > "$TMP/c"
    grep -qx attention.flash "$TMP/c" && ok "completion: a kernel name after --kernels" || bad "completion of a kernel: $(tr '\n' ' ' < "$TMP/c")"
    grep -qx 'attention.flash@cpu' "$TMP/c" && ok "completion: a kernel's name@impl" || bad "completion: no attention.flash@cpu"
    complete_words "$KBENCH" list selftest.sp > "$TMP/c"
    grep -qx selftest.spin "$TMP/c" && ok "completion: list's PATTERN is a kernel" || bad "completion of list's pattern: $(tr '\n' ' ' < "$TMP/c")"
    complete_words "$KBENCH" run --preset llama3 > "$TMP/c"
    grep -qx llama3-8b "$TMP/c" && ok "completion: a preset after --preset" || bad "completion of a preset: $(tr '\n' ' ' < "$TMP/c")"
    complete_words "$KBENCH" run --max-ti > "$TMP/c"
    grep -qx -- --max-time "$TMP/c" && ok "completion: run's options" || bad "completion of --max-ti: $(tr '\n' ' ' < "$TMP/c")"
    complete_words "$KBENCH" run --routing z > "$TMP/c"
    grep -qx zipf "$TMP/c" && ok "completion: an enum axis's values" || bad "completion of --routing: $(tr '\n' ' ' < "$TMP/c")"
    complete_words "$KBENCH" show --format j > "$TMP/c"
    grep -qx json "$TMP/c" && ok "completion: --format's choices" || bad "completion of --format: $(tr '\n' ' ' < "$TMP/c")"
    complete_words "$KBENCH" help tu > "$TMP/c"
    grep -qx tui "$TMP/c" && ok "completion: help COMMAND" || bad "completion after help: $(tr '\n' ' ' < "$TMP/c")"
fi

# ---- SIGTERM: exit 143, the run marked interrupted --------------------------------------------------
DB="$TMP/term.db"
"$KBENCH" run --db "$DB" --kernels selftest.spin --seq 300000 --min-time 60 --max-time 60 --quiet --no-show \
    >/dev/null 2>"$TMP/term.err" &
pid=$!
i=0
while [ "$i" -lt 600 ]; do    # the state, not a time: until the run's row says it is running
    [ -f "$DB" ] && [ "$("$SQLITE3" -batch -noheader "$DB" "SELECT status FROM runs;" 2>/dev/null)" = running ] && break
    sleep 0.1; i=$((i + 1))
done
expect_eq "$(q 'SELECT status FROM runs;')" "running" "SIGTERM: the run is running before the signal"
kill -TERM "$pid"
wait "$pid"
expect_eq "$?" "143" "SIGTERM during a run: exit 143"
expect_eq "$(q 'SELECT status FROM runs;')" "interrupted" "SIGTERM: the run is marked interrupted"
expect_text "$TMP/term.err" "interrupted" "SIGTERM: says the run was interrupted"

# ---- tag and untag ----------------------------------------------------------------------------------
DB="$TMP/tags.db"
quick="--kernels selftest.noop --seq 64 --max-time 0.01 --quiet --no-show"
"$KBENCH" run --db "$DB" $quick >/dev/null 2>&1
"$KBENCH" run --db "$DB" --kernels 'selftest.noop,selftest.spin' --seq 64 --max-time 0.01 --quiet --no-show >/dev/null 2>&1
show_id() { "$KBENCH" show "$1" --db "$DB" --format json | sed -n 's/^    "id": \([0-9]*\),$/\1/p' | head -1; }
expect_exit 0 "tag 1 good" "$KBENCH" tag 1 good --db "$DB"
expect_eq "$(show_id tag:good)" "1" "tag:good names the tagged run"
expect_exit 0 "runs --tag good" "$KBENCH" runs --tag good --db "$DB"
expect_eq "$(awk 'NR > 1 { print $1 }' "$TMP/out" | tr '\n' ' ')" "1 " "runs --tag lists only the tagged run"
expect_exit 0 "tag 2 good" "$KBENCH" tag 2 good --db "$DB"
expect_eq "$(show_id tag:good)" "2" "with two tagged runs, tag:good names the newest"
expect_exit 0 "tag --move 1 good" "$KBENCH" tag --move 1 good --db "$DB"
expect_eq "$(show_id tag:good)" "1" "tag --move: tag:good names the older run by hand"
expect_eq "$(q "SELECT group_concat(run_id) FROM run_tags WHERE tag = 'good';")" "1" "tag --move took the tag off run 2"
"$KBENCH" compare tag:good 2 --db "$DB" >"$TMP/out" 2>"$TMP/err"
if grep -q "unknown run\|no run" "$TMP/err"; then bad "compare does not resolve tag:good"; else ok "compare takes the hand-chosen baseline tag:good"; fi
expect_exit 0 "untag 1 good" "$KBENCH" untag 1 good --db "$DB"
expect_exit 2 "tag:good after untag" "$KBENCH" show tag:good --db "$DB"
expect_exit 2 "untag a tag the run does not have" "$KBENCH" untag 1 good --db "$DB"
expect_text "$TMP/err" "has no tag 'good'" "untag names the missing tag"
expect_exit 2 "tag with a ':' in the name" "$KBENCH" tag 1 a:b --db "$DB"
expect_exit 2 "tag of an unknown run" "$KBENCH" tag 99 x --db "$DB"
expect_exit 2 "tag without a name" "$KBENCH" tag 1 --db "$DB"
expect_exit 2 "tag with a third operand" "$KBENCH" tag 1 x y --db "$DB"
expect_exit 0 "runs --tag with no match" "$KBENCH" runs --tag nothing --db "$DB"
expect_text "$TMP/out" "no run has the tag 'nothing'" "runs --tag with no match says so"

# ---- show --kernel ---------------------------------------------------------------------------------
expect_exit 0 "show --kernel selftest.spin" "$KBENCH" show 2 --kernel selftest.spin --db "$DB"
expect_text "$TMP/out" "selftest.spin" "show --kernel keeps the matching cases"
if grep -q "^selftest.noop" "$TMP/out"; then bad "show --kernel left another kernel's case"; else ok "show --kernel drops the others"; fi
expect_exit 2 "show --kernel matching nothing" "$KBENCH" show 2 --kernel 'attention.*' --db "$DB"
expect_text "$TMP/err" "attention.*" "show --kernel matching nothing names the pattern"

# ---- JSON ------------------------------------------------------------------------------------------
if command -v python3 >/dev/null 2>&1; then
    check_json() { # DESCRIPTION ARGS...
        what=$1; shift
        if "$KBENCH" "$@" >"$TMP/j" 2>"$TMP/err" && python3 -m json.tool "$TMP/j" >/dev/null 2>&1; then ok "$what: valid JSON"
        else bad "$what: not valid JSON"; head -3 "$TMP/j" | sed 's/^/# /'; fi
    }
    check_json "runs --format json" runs --format json --db "$DB"
    check_json "runs --tag --format json" runs --tag nothing --format json --db "$DB"
    check_json "show --format json" show 2 --format json --db "$DB"
    check_json "show --kernel --format json" show 2 --kernel selftest.spin --format json --db "$DB"
    check_json "list --format json" list --format json
    check_json "devices --format json" devices --format json --db "$DB"
    expect_eq "$("$KBENCH" show 2 --kernel selftest.spin --format json --db "$DB" |
        python3 -c 'import json,sys; print(",".join(c["kernel"] for c in json.load(sys.stdin)["results"]))')" \
        "selftest.spin" "show --kernel --format json holds only the matching case"
    expect_eq "$("$KBENCH" runs --format json --db "$DB" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" \
        "2" "runs --format json lists both runs"
    expect_eq "$("$KBENCH" list selftest.spin --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["name"])')" \
        "selftest.spin" "list PATTERN --format json"
fi

finish
