#!/bin/sh
# sass_tool.sh - tests/sass/sass.py, the SASS report developers run on CUDA objects before they
# spend GPU time: its parser on a fixed listing (functions, instructions, loops from backward
# branches only, opcodes with predicates dropped), and its refusals (a missing object, no
# arguments) with exit status 2. Needs python3; no GPU, no cuobjdump.
. "${top_srcdir:-.}/tests/lib.sh"
root=${top_srcdir:-.}
if ! command -v python3 >/dev/null 2>&1; then echo "1..0 # SKIP python3 is not installed"; exit 0; fi
python3 "$root/tests/sass/sass.py" --self-test >"$TMP/out" 2>&1
expect_text "$TMP/out" "ok: 6 checks" "sass.py's parser reads the fixed listing as it should"
python3 "$root/tests/sass/sass.py" "$TMP/no-such.o" >"$TMP/out" 2>&1
expect_eq "$?" "2" "a missing object file is refused with exit status 2"
expect_text "$TMP/out" "no such object file" "and named as such"
python3 "$root/tests/sass/sass.py" >"$TMP/out" 2>&1
expect_eq "$?" "2" "no arguments: the usage, exit status 2"
expect_text "$TMP/out" "--range" "the usage names its options"
finish
