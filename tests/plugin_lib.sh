# plugin_lib.sh - sourced by the tests that build a plugin of their own (counters_moved.sh,
# bisect.sh): the test plugin is compiled at test time against the <kbench/kbench.h> of the build
# under test (generated in the build tree from the very headers kbench is built with, as
# tests/plugins.sh's installed one is), so it follows the plugin ABI of the tree it tests.
builddir=$(cd "$(dirname "$KBENCH")" && pwd)
CC=${CC:-cc}
# the sub-make must not inherit this make's command line (TESTS=..., -j's jobserver of make check)
if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$builddir" include/kbench/kbench.h >"$TMP/hdr.log" 2>&1 ||
   ! [ -f "$builddir/include/kbench/kbench.h" ]; then
    echo "Bail out! cannot generate include/kbench/kbench.h in $builddir"; sed 's/^/# /' "$TMP/hdr.log"; exit 1
fi
KBENCH_CFLAGS="-I$builddir/include"
# build_plugin OUT.so SOURCE [CFLAGS...]: as docs/plugins.md builds one; the compiler's words in $TMP/cc.err
build_plugin() {
    out=$1; src=$2; shift 2
    # shellcheck disable=SC2086 # the flags are words
    $CC -std=c11 -O2 -Wall -Wextra -Werror $KBENCH_CFLAGS "$@" -shared -fPIC -o "$out" "$src" -lm 2>"$TMP/cc.err"
}
