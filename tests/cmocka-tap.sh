#!/bin/sh
# cmocka-tap.sh PROGRAM - runs a cmocka test program for automake's TAP driver.
# cmocka 1.1 reports a skipped test as "not ok N # SKIP", which TAP reads as a failure;
# TAP's form is "ok N # SKIP". The program's exit status is kept.
status=$(mktemp "${TMPDIR:-/tmp}/cmocka-tap.XXXXXX")
{ "$@" 2>&1; echo $? > "$status"; } | sed 's/^not ok \([0-9][0-9]*\) # SKIP/ok \1 # SKIP/'
rc=$(cat "$status")
rm -f "$status"
exit "$rc"
