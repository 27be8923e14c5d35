#!/bin/sh
# Replays the fuzz corpus through the parsers (tests/fuzz/replay prints the TAP itself). A TESTS
# entry takes no arguments, hence this wrapper; run from the build directory by `make check`.
exec ./tests/fuzz/replay "${top_srcdir:-.}/tests/fuzz/corpus"
