#!/bin/sh
# plugins.sh - plugins as a user builds and runs them (docs/plugins.md): kbench is installed into
# a temporary root (make install DESTDIR=...), the examples are compiled with nothing but
# `pkg-config --cflags --libs kbench` and the installed <kbench/kbench.h>, and run through the
# INSTALLED kbench. The examples implement kbench's attention.softmax (the symbol
# kb_op_attention_softmax resolved against the executable) or define a new operation
# (examples/new-op); a verified example is stored with its path and sha256; the wrong example
# fails the operation's verification; a plugin built for another ABI, one missing an entry point
# or a symbol, one whose constructor crashes, one whose kernel clashes and one whose own operation
# takes a built-in operation's name are each refused with exit 2.
. "${top_srcdir:-.}/tests/lib.sh"
need_sqlite3
src=${top_srcdir:-.}
builddir=$(cd "$(dirname "$KBENCH")" && pwd)
CC=${CC:-cc}
if ! command -v pkg-config >/dev/null 2>&1; then
    echo "1..0 # SKIP pkg-config is not installed (plugins are built with it)"
    exit 0
fi

# ---- install into a temporary root ----
# the sub-make must not inherit this make's command line (TESTS=..., -j's jobserver of make check)
if env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$builddir" install DESTDIR="$TMP/root" >"$TMP/install.log" 2>&1; then
    ok "make install DESTDIR=... from the build tree"
else
    bad "make install DESTDIR=... failed"; sed 's/^/# /' "$TMP/install.log" | tail -10
    finish; exit
fi
K=$(find "$TMP/root" -path '*/bin/kbench' -type f | head -n 1)
pc=$(find "$TMP/root" -name kbench.pc | head -n 1)
hdr=$(find "$TMP/root" -path '*/include/kbench/kbench.h' | head -n 1)
[ -x "$K" ] && ok "kbench is installed" || bad "no installed kbench under $TMP/root"
[ -n "$hdr" ] && ok "<kbench/kbench.h> is installed" || bad "no installed kbench/kbench.h"
[ -n "$pc" ] && ok "kbench.pc is installed" || bad "no installed kbench.pc"
# the .pc names the configured prefix; DESTDIR moves it: pkg-config's sysroot puts it back
PKG_CONFIG_PATH=$(dirname "$pc")
PKG_CONFIG_SYSROOT_DIR="$TMP/root"
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
cflags=$(pkg-config --cflags kbench) && libs=$(pkg-config --libs kbench)
expect_eq "$?" "0" "pkg-config --cflags --libs kbench"
unset KBENCH_PLUGIN_PATH

# build NAME SOURCE: lib$NAME.so in $TMP/p, as docs/plugins.md does it; the compiler's words in $TMP/cc.err
mkdir -p "$TMP/p"
build() {
    # shellcheck disable=SC2086 # the flags are words
    $CC -std=c11 -O1 -Wall -Wextra -Werror $cflags -shared -fPIC -o "$TMP/p/lib$1.so" "$2" $libs -lm 2>"$TMP/cc.err"
}
for ex in cpu-attention/attention_naive smallest/smallest wrong/wrong new-op/rms_norm; do
    name=$(basename "$ex")
    if build "$name" "$src/examples/$ex.c"; then ok "examples/$ex.c compiles with only pkg-config's flags, no warning"
    else bad "examples/$ex.c does not compile"; sed 's/^/# /' "$TMP/cc.err" | head -10; fi
done
# the header stands alone, also for C++ (a .cu file includes it the same way)
printf '#include <kbench/kbench.h>\nint main(void) { return KBENCH_ABI_VERSION > 0 ? 0 : 1; }\n' >"$TMP/alone.c"
# shellcheck disable=SC2086
$CC -std=c11 -pedantic -Wall -Wextra -Werror $cflags -c -o "$TMP/alone.o" "$TMP/alone.c" 2>"$TMP/cc.err" \
    && ok "<kbench/kbench.h> compiles alone (-std=c11 -pedantic)" || { bad "<kbench/kbench.h> alone"; sed 's/^/# /' "$TMP/cc.err" | head -5; }
if command -v c++ >/dev/null 2>&1; then
    cp "$TMP/alone.c" "$TMP/alone.cc"
    # shellcheck disable=SC2086
    c++ -Wall -Wextra $cflags -c -o "$TMP/alone_cc.o" "$TMP/alone.cc" 2>"$TMP/cc.err" \
        && ok "<kbench/kbench.h> compiles as C++" || { bad "<kbench/kbench.h> as C++"; sed 's/^/# /' "$TMP/cc.err" | head -5; }
fi

# every operation's public header of the tree is in the installed header (Makefile.am's
# kbench_public_headers), so a plugin can implement every operation
for h in $(cd "$src" && find kernels -name '*_ops.h' | sort); do
    grep -q "^/\* ---- $h ---- \*/\$" "$hdr" && ok "<kbench/kbench.h> has $h" \
        || bad "<kbench/kbench.h> lacks $h (add it to kbench_public_headers in Makefile.am)"
done
grep -q 'extern const struct kb_operation kb_op_attention_softmax;' "$hdr" && ok "<kbench/kbench.h> declares kb_op_attention_softmax" \
    || bad "<kbench/kbench.h> does not declare kb_op_attention_softmax"

# docs/plugins.md shows the smallest plugin whole: it is the example's file, line for line
sed -n '/^```c$/,/^```$/p' "$src/docs/plugins.md" | sed '1d;$d' >"$TMP/doc_smallest.c"
if cmp -s "$TMP/doc_smallest.c" "$src/examples/smallest/smallest.c"; then ok "docs/plugins.md shows examples/smallest/smallest.c as it is"
else bad "docs/plugins.md's smallest plugin differs from examples/smallest/smallest.c"; fi
lines=$(wc -l <"$src/examples/smallest/smallest.c" | tr -d ' ')
expect_text "$src/docs/plugins.md" "The smallest plugin ($lines lines)" "docs/plugins.md gives its line count ($lines)"

cd "$TMP/p" || exit 1
DB="$TMP/plugins.db"

# ---- list ----
expect_exit 0 "list --plugin" "$K" list --plugin ./libattention_naive.so 'attention.naive*'
expect_text "$TMP/out" "attention.naive  cpu.plugin" "the plugin's kernel is listed"
expect_text "$TMP/out" "[plugin $TMP/p/libattention_naive.so]" "marked as a plugin, with its file"
expect_text "$TMP/out" "attention.naive  cpu.plugin  attention.softmax" "with the operation it implements"
expect_exit 0 "list --format json --plugin" "$K" list --format json --plugin ./libsmallest.so 'attention.mine'
expect_text "$TMP/out" "\"plugin\": \"$TMP/p/libsmallest.so\"" "json names the plugin's file"
expect_text "$TMP/out" "\"operation\": \"attention.softmax\"" "json names the operation"
expect_exit 0 "list --operations with a plugin defining one" "$K" list --operations --plugin ./librms_norm.so --plugin ./libsmallest.so
expect_text "$TMP/out" "[plugin $TMP/p/librms_norm.so]" "the plugin's operation is marked with its file"
expect_eq "$(awk '$1 == "example.rms_norm" { print $4 }' "$TMP/out")" "2" "with its two implementations"
expect_eq "$(awk '$1 == "attention.softmax" { print $4 }' "$TMP/out" | grep -c .)" "1" "attention.softmax is listed once"
if awk '$1 == "attention.softmax"' "$TMP/out" | grep -q plugin; then bad "a built-in operation marked as a plugin's"
else ok "a plugin implementing attention.softmax leaves it kbench's"; fi
mkdir -p "$TMP/dir"
cp libsmallest.so "$TMP/dir/"
KBENCH_PLUGIN_PATH="/nonexistent-but-unused-is-not-ok:$TMP/dir" expect_exit 2 "a missing folder in \$KBENCH_PLUGIN_PATH" "$K" list
expect_text "$TMP/err" "/nonexistent-but-unused-is-not-ok" "names the folder"
KBENCH_PLUGIN_PATH="$TMP/dir" expect_exit 0 "\$KBENCH_PLUGIN_PATH loads every *.so of a folder" "$K" list 'attention.mine'
expect_text "$TMP/out" "[plugin $TMP/dir/libsmallest.so]" "listed from the folder"

# ---- a verified, stored run ----
expect_exit 0 "run --plugin: the example attention" "$K" run --db "$DB" --plugin ./libattention_naive.so \
    --kernels 'attention.naive@cpu.plugin' --seq 32,48 --heads 2 --kv-heads 1,2 --head-dim 16 --causal 0,1 \
    --max-time 0.02 --quiet --no-show
expect_eq "$(q "SELECT group_concat(DISTINCT status) FROM cases;")" "ok" "every case verified (status ok)"
expect_eq "$(q "SELECT count(*) FROM cases WHERE kernel = 'attention.naive' AND impl = 'cpu.plugin';")" "8" "all 8 cases stored"
expect_eq "$(q "SELECT count(*) FROM cases c JOIN stats s ON s.case_id = c.id WHERE s.n > 0;")" "8" "and timed"
sum=$(sha256sum libattention_naive.so 2>/dev/null | cut -d' ' -f1)
[ -n "$sum" ] || sum=$(openssl dgst -sha256 -r libattention_naive.so | cut -d' ' -f1)
expect_eq "$(q "SELECT path || ' ' || sha256 || ' ' || kernels FROM run_plugins WHERE run_id = 1;")" \
    "$TMP/p/libattention_naive.so $sum 1" "the run stores the plugin's path and sha256 (as sha256sum computes it)"
expect_exit 0 "show" "$K" show --db "$DB" 1
expect_text "$TMP/out" "plugin    $TMP/p/libattention_naive.so (sha256 $sum, 1 kernel)" "show names the plugin and its sha256"
expect_text "$TMP/out" "attention.naive" "show lists its cases"
expect_exit 0 "runs --format json" "$K" runs --db "$DB" --format json
expect_text "$TMP/out" "\"sha256\": \"$sum\"" "runs --format json has the sha256"
expect_exit 0 "show without the plugin loaded" "$K" show --db "$DB" --format json 1
expect_text "$TMP/out" "\"path\": \"$TMP/p/libattention_naive.so\"" "show --format json has the plugin's path"

# ---- the smallest example beside attention.flash, prefill and decode ----
expect_exit 0 "run the smallest example beside attention.flash" "$K" run --db "$DB" --plugin ./libsmallest.so \
    --kernels 'attention.mine,attention.flash@cpu' --seq 67 --heads 4 --kv-heads 2 --head-dim 32 --causal 0,1 \
    --decode 0,1 --max-time 0.02 --quiet --no-show
expect_eq "$(q "SELECT count(*) || ' ' || group_concat(DISTINCT status) FROM cases WHERE kernel = 'attention.mine';")" \
    "4 ok" "the smallest example's 4 cases are verified and stored"
expect_eq "$(q "SELECT count(*) FROM cases c JOIN stats s ON s.case_id = c.id WHERE c.kernel = 'attention.mine' AND s.n > 0;")" \
    "4" "and timed"
expect_eq "$(q "SELECT count(DISTINCT status) || ' ' || min(status) FROM cases WHERE run_id = (SELECT max(id) FROM runs);")" \
    "1 ok" "attention.flash@cpu's cases in the same run verified too"

# ---- a plugin's own operation ----
expect_exit 0 "run the example defining example.rms_norm" "$K" run --db "$DB" --plugin ./librms_norm.so \
    --kernels 'example.rms_norm' --tokens 37,256 --hidden 100,1024 --max-time 0.02 --quiet --no-show
expect_eq "$(q "SELECT count(*) || ' ' || group_concat(DISTINCT status) FROM cases WHERE kernel = 'example.rms_norm';")" \
    "8 ok" "both implementations of the new operation verified at 4 shapes"
expect_eq "$(q "SELECT count(*) FROM cases c JOIN stats s ON s.case_id = c.id WHERE c.kernel = 'example.rms_norm' AND s.n > 0;")" \
    "8" "and timed"

# ---- the wrong example fails verification ----
expect_exit 1 "the wrong example" "$K" run --db "$DB" --plugin ./libwrong.so --kernels 'attention.wrong' --seq 64 \
    --heads 2 --head-dim 32 --max-time 0.02 --quiet --no-show
expect_eq "$(q "SELECT status FROM cases WHERE kernel = 'attention.wrong';")" "verify_failed" "is stored as verify_failed"
expect_eq "$(q "SELECT error LIKE 'wrong answer: relative L2 error%' FROM cases WHERE kernel = 'attention.wrong';")" "1" \
    "the operation's verdict is stored with why"

# ---- --resume reloads the run's plugins from its stored arguments ----
expect_exit 0 "a run of two plugins" "$K" run --db "$DB" --plugin ./libsmallest.so --plugin ./libattention_naive.so \
    --kernels 'attention.mine,attention.naive' --seq 32 --heads 2 --head-dim 16 --max-time 0.02 --quiet --no-show
run=$(q "SELECT max(id) FROM runs;")
q "PRAGMA foreign_keys = ON; DELETE FROM cases WHERE id = (SELECT max(id) FROM cases);
   UPDATE runs SET status = 'interrupted', finished_at = NULL WHERE id = $run;"
expect_exit 0 "run --resume with no --plugin" "$K" run --db "$DB" --resume "$run" --quiet --no-show
expect_eq "$(q "SELECT status || ' ' || (SELECT count(*) FROM cases WHERE run_id = $run) FROM runs WHERE id = $run;")" \
    "complete 2" "the resumed run reloaded its plugins and finished"
expect_eq "$(q "SELECT count(*) FROM run_plugins WHERE run_id = $run;")" "2" "its plugins are stored once"

# ---- plugins that must be refused: exit 2, a clear message, no crash of kbench ----
cat >abi.c <<'C'
struct kbench_registrar;
int kbench_plugin_abi(void);
int kbench_plugin_register(struct kbench_registrar *r);
int kbench_plugin_abi(void) { return 999; }
int kbench_plugin_register(struct kbench_registrar *r) { (void)r; return 0; }
C
cat >nosym.c <<'C'
#include <kbench/kbench.h>
int kbench_plugin_abi(void);
int kbench_plugin_abi(void) { return KBENCH_ABI_VERSION; }
C
cat >undef.c <<'C'
#include <kbench/kbench.h>
void kbench_function_that_does_not_exist(void);
int kbench_plugin_abi(void);
int kbench_plugin_abi(void) { kbench_function_that_does_not_exist(); return KBENCH_ABI_VERSION; }
C
cat >ctor.c <<'C'
#include <signal.h>
#include <kbench/kbench.h>
__attribute__((constructor)) static void crash_on_load(void) { raise(SIGSEGV); }
KBENCH_PLUGIN(NULL)
C
cat >regcrash.c <<'C'
#include <kbench/kbench.h>
int kbench_plugin_abi(void);
int kbench_plugin_register(struct kbench_registrar *r);
int kbench_plugin_abi(void) { return KBENCH_ABI_VERSION; }
int kbench_plugin_register(struct kbench_registrar *r) { (void)r; return *(volatile int *)0; }
C
cat >clash.c <<'C'
#include <kbench/kbench.h>
static int setup(struct kb_case *c, char *e, size_t n) { (void)c; (void)e; (void)n; return KB_OK; }
static int run(struct kb_case *c) { (void)c; return KB_OK; }
static void teardown(struct kb_case *c) { (void)c; }
static const struct kb_kernel k = { .name = "attention.reference", .impl = "cpu.f64", .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32), .setup = setup, .run = run, .teardown = teardown,
    .op = &kb_op_attention_softmax };
KBENCH_PLUGIN(&k)
C
# an operation of its own under the name of kbench's attention.softmax: two definitions, refused
cat >opclash.c <<'C'
#include <kbench/kbench.h>
static int setup(struct kb_case *c, char *e, size_t n) { (void)c; (void)e; (void)n; return KB_OK; }
static int run(struct kb_case *c) { (void)c; return KB_OK; }
static void teardown(struct kb_case *c) { (void)c; }
static double count(const struct kb_shape *s) { (void)s; return 1; }
static double bytes(const struct kb_shape *s, enum kb_dtype t) { (void)s; (void)t; return 1; }
static int inputs(struct kb_operands *io, struct kb_shape *s, enum kb_dtype t, uint64_t seed, char *e, size_t n)
{ (void)io; (void)s; (void)t; (void)seed; (void)e; (void)n; return KB_OK; }
static int verify(const struct kb_operands *io, const struct kb_shape *s, enum kb_dtype t, uint64_t seed, int th,
                  struct kb_accuracy *a) { (void)io; (void)s; (void)t; (void)seed; (void)th; a->passed = 1; return KB_OK; }
static const struct kb_operation mine = { .name = "attention.softmax", .family = KB_FAMILY_ATTENTION,
    .axes = KB_AXIS_BIT(KB_AXIS_SEQ), .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32), .flops = count, .bytes = bytes,
    .inputs = inputs, .verify = verify };
static const struct kb_kernel k = { .name = "attention.other", .impl = "cpu.mine", .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32), .setup = setup, .run = run, .teardown = teardown, .op = &mine };
KBENCH_PLUGIN(&k)
C
# kbench_operation() finds an operation by name at run time: a descriptor filled in the register
# function (where no kb_op_ symbol is named) implements it
cat >lookup.c <<'C'
#include <kbench/kbench.h>
static int setup(struct kb_case *c, char *e, size_t n) { (void)c; (void)e; (void)n; return KB_OK; }
static int run(struct kb_case *c) { (void)c; return KB_OK; }
static void teardown(struct kb_case *c) { (void)c; }
static struct kb_kernel k;
int kbench_plugin_abi(void);
int kbench_plugin_register(struct kbench_registrar *r);
int kbench_plugin_abi(void) { return KBENCH_ABI_VERSION; }
int kbench_plugin_register(struct kbench_registrar *r)
{
    k.name = "attention.lookup", k.impl = "cpu.mine", k.device = KB_DEVICE_CPU, k.dtypes = KB_DTYPE_BIT(KB_DTYPE_F32);
    k.setup = setup, k.run = run, k.teardown = teardown;
    k.op = kbench_operation("attention.softmax");
    if (!k.op || k.op != &kb_op_attention_softmax || kbench_operation("no.such.operation"))
        return -1;
    return kbench_register(r, &k);
}
C
for t in abi nosym undef ctor regcrash clash opclash lookup; do
    # shellcheck disable=SC2086
    $CC -std=c11 $cflags -shared -fPIC -o "lib$t.so" "$t.c" 2>"$TMP/cc.err" || { bad "building lib$t.so"; sed 's/^/# /' "$TMP/cc.err" | head -5; }
done
expect_exit 2 "a plugin built for another ABI" "$K" run --db "$DB" --plugin ./libabi.so --dry-run
expect_text "$TMP/err" "was built for kbench ABI version 999, this kbench has ABI version" "says both versions"
expect_exit 2 "a plugin without kbench_plugin_register" "$K" list --plugin ./libnosym.so
expect_text "$TMP/err" "has no kbench_plugin_register" "names the missing entry point"
expect_exit 2 "a plugin with an undefined symbol" "$K" run --plugin ./libundef.so --dry-run
expect_text "$TMP/err" "kbench_function_that_does_not_exist" "names the symbol (dlerror's words)"
expect_exit 2 "a plugin whose constructor crashes" "$K" run --plugin ./libctor.so --dry-run
expect_text "$TMP/err" "libctor.so crashed while loading" "says it crashed while loading"
expect_exit 2 "a plugin whose register function crashes" "$K" list --plugin ./libregcrash.so
expect_text "$TMP/err" "libregcrash.so crashed while loading" "says it crashed while loading"
expect_exit 2 "a plugin redefining a built-in kernel" "$K" list --plugin ./libclash.so
expect_text "$TMP/err" "attention.reference@cpu.f64: already defined by kbench itself (built in)" "names both"
expect_exit 2 "a plugin's own operation named as a built-in one" "$K" list --plugin ./libopclash.so
expect_text "$TMP/err" "operation attention.softmax is already defined by kbench itself (built in)" "names the operation and kbench"
expect_exit 0 "kbench_operation() finds attention.softmax by name" "$K" list --plugin ./liblookup.so 'attention.lookup'
expect_text "$TMP/out" "attention.lookup  cpu.mine  attention.softmax" "the kernel implements the operation it found"
cp libsmallest.so libsmallest2.so
expect_exit 2 "two plugins defining one kernel" "$K" list --plugin ./libsmallest.so --plugin ./libsmallest2.so
expect_text "$TMP/err" "attention.mine@cpu.plugin: already defined by $TMP/p/libsmallest.so" "names the other plugin's file"
cp librms_norm.so librms_norm2.so
expect_exit 2 "two plugins defining one new operation" "$K" list --plugin ./librms_norm.so --plugin ./librms_norm2.so
expect_text "$TMP/err" "already defined by $TMP/p/librms_norm.so" "names the other plugin's file"
expect_exit 2 "a missing plugin file" "$K" run --plugin ./libnothere.so --dry-run
expect_text "$TMP/err" "cannot read plugin ./libnothere.so: No such file or directory" "names the file"
expect_exit 2 "a file that is no shared object" "$K" run --plugin ./abi.c --dry-run
expect_text "$TMP/err" "cannot load plugin" "says it cannot load it"
expect_eq "$(q "SELECT count(*) FROM runs;")" "5" "no refused plugin started a run"

# ---- the CUDA example: built where nvcc is, run where a GPU is ----
if command -v "${NVCC:-nvcc}" >/dev/null 2>&1; then
    # shellcheck disable=SC2086
    if "${NVCC:-nvcc}" -O2 -std=c++17 -Xcompiler -Wall,-Wextra $cflags -shared -Xcompiler -fPIC -o libattention_naive_cuda.so \
        "$src/examples/cuda-attention/attention_naive.cu" $libs >"$TMP/nvcc.err" 2>&1; then
        ok "examples/cuda-attention compiles with nvcc and only pkg-config's flags"
    else
        bad "examples/cuda-attention does not compile"; sed 's/^/# /' "$TMP/nvcc.err" | head -10
    fi
    expect_exit 0 "list --plugin the CUDA example" "$K" list --plugin ./libattention_naive_cuda.so 'attention.naive@cuda.*'
    expect_text "$TMP/out" "attention.naive  cuda.plugin  attention.softmax" "its kernel is listed, implementing attention.softmax"
    "$K" devices >"$TMP/devices" 2>&1
    if grep -q '^cuda:0' "$TMP/devices"; then
        expect_exit 0 "run the CUDA example on cuda:0" "$K" run --db "$DB" --plugin ./libattention_naive_cuda.so \
            --devices cuda:0 --kernels 'attention.naive@cuda.plugin' --seq 33,256 --heads 4 --kv-heads 2 \
            --head-dim 64,128 --causal 0,1 --decode 0,1 --max-time 0.05 --quiet --no-show
        expect_eq "$(q "SELECT group_concat(DISTINCT status) FROM cases WHERE impl = 'cuda.plugin';")" "ok" \
            "every CUDA case verified (status ok)"
    else
        echo "# no CUDA device: the CUDA example is built and listed, not run"
    fi
else
    echo "# no nvcc: the CUDA example is not built"
fi
finish
