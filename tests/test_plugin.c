/* test_plugin.c - the pieces of plugin loading that need no shared object: SHA-256 (the digest
 * stored with a run) against FIPS 180-4's examples, split at every block boundary, and the
 * registry's run-time additions (after the built-in kernels, findable, with their origin, and a
 * name@impl clash refused naming both sides), and operations: a plugin's kernel implementing a
 * built-in operation, a plugin's own operation, and an operation whose name is taken refused
 * naming its definer. tests/plugins.sh loads real plugins. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/sha256.h"
#include "kernels/kernel.h"
#include "kernels/plugin.h"

static void digest(const char *text, size_t len, char hex[65])
{
    struct sha256 s;
    sha256_init(&s);
    sha256_update(&s, text, len);
    sha256_hex(&s, hex);
}

static void test_sha256_known_answers(void **state)
{
    (void)state;
    char hex[65];
    digest("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    digest("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    digest(two_blocks, strlen(two_blocks), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* a million 'a', fed in uneven pieces */
    struct sha256 s;
    sha256_init(&s);
    char a[1000];
    memset(a, 'a', sizeof a);
    for (size_t done = 0, piece = 1; done < 1000000; done += piece, piece = piece % 997 + 1)
        sha256_update(&s, a, done + piece > 1000000 ? 1000000 - done : piece);
    sha256_hex(&s, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* Lengths around the padding's edge (55, 56, 63, 64, 65 bytes) give the same digest whole as
 * one byte at a time. */
static void test_sha256_pieces_match_whole(void **state)
{
    (void)state;
    unsigned char data[200];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 7 + 3);
    for (size_t len = 0; len <= sizeof data; len++) {
        char whole[65], bytewise[65];
        digest((const char *)data, len, whole);
        struct sha256 s;
        sha256_init(&s);
        for (size_t i = 0; i < len; i++)
            sha256_update(&s, data + i, 1);
        sha256_hex(&s, bytewise);
        assert_string_equal(whole, bytewise);
    }
}

static int no_setup(struct kb_case *c, char *err, size_t len) { (void)c; (void)err; (void)len; return KB_OK; }

static void test_registry_additions(void **state)
{
    (void)state;
    size_t before;
    const struct kb_kernel *const *all = kb_registry_all(&before);
    const struct kb_kernel *builtin = all[0];
    assert_null(kb_registry_origin(builtin));

    static const struct kb_kernel mine = { .name = "test.plugin", .impl = "cpu.mine", .setup = no_setup };
    char err[512] = "";
    assert_int_equal(kb_registry_add(&mine, "/x/libmine.so", err, sizeof err), 0);
    size_t after;
    all = kb_registry_all(&after);
    assert_int_equal(after, before + 1);
    assert_ptr_equal(all[0], builtin);
    assert_ptr_equal(all[after - 1], &mine);
    assert_ptr_equal(kb_registry_find("test.plugin", "cpu.mine"), &mine);
    assert_string_equal(kb_registry_origin(&mine), "/x/libmine.so");
    assert_true(kb_kernel_matches(&mine, "test.*@cpu.*"));

    /* the same name@impl again: refused, naming the file that has it */
    static const struct kb_kernel again = { .name = "test.plugin", .impl = "cpu.mine" };
    assert_int_equal(kb_registry_add(&again, "/y/libother.so", err, sizeof err), -1);
    assert_non_null(strstr(err, "test.plugin@cpu.mine is already defined by /x/libmine.so"));
    /* a built-in one: refused, naming kbench */
    struct kb_kernel copy = *builtin;
    assert_int_equal(kb_registry_add(&copy, "/y/libother.so", err, sizeof err), -1);
    assert_non_null(strstr(err, "already defined by kbench itself"));
    kb_registry_all(&after);
    assert_int_equal(after, before + 1);
}

static double no_count(const struct kb_shape *s) { (void)s; return 0; }
static double no_bytes(const struct kb_shape *s, enum kb_dtype t) { (void)s; (void)t; return 0; }

static void test_registry_operations(void **state)
{
    (void)state;
    char err[512] = "";
    /* an implementation of a built-in operation: accepted, the operation stays one */
    const struct kb_operation *softmax = kbench_operation("attention.softmax");
    assert_non_null(softmax);
    assert_ptr_equal(softmax, kb_registry_operation("attention.softmax"));
    assert_null(kbench_operation("no.such.operation"));
    assert_null(kbench_operation(NULL));
    size_t ops_before;
    kb_registry_operations(&ops_before);
    static struct kb_kernel impl = { .name = "test.softmax", .impl = "cpu.mine", .setup = no_setup };
    impl.op = softmax;
    assert_int_equal(kb_registry_add(&impl, "/x/libimpl.so", err, sizeof err), 0);
    size_t ops_after;
    kb_registry_operations(&ops_after);
    assert_int_equal(ops_after, ops_before);
    assert_string_equal(kb_kernel_operation_name(&impl), "attention.softmax");

    /* an operation of its own under a built-in operation's name: refused, naming kbench */
    static const struct kb_operation fake = { .name = "attention.softmax", .flops = no_count, .bytes = no_bytes };
    static const struct kb_kernel faker = { .name = "test.fake", .impl = "cpu.mine", .op = &fake };
    assert_int_equal(kb_registry_add(&faker, "/y/libfake.so", err, sizeof err), -1);
    assert_non_null(strstr(err, "operation attention.softmax is already defined by kbench itself"));
    assert_null(kb_registry_find("test.fake", "cpu.mine"));

    /* a new operation: listed once added; a second definition of its name names the first's file */
    static const struct kb_operation mine = { .name = "test.op", .flops = no_count, .bytes = no_bytes };
    static const struct kb_kernel a = { .name = "test.op", .impl = "a", .op = &mine };
    assert_null(kb_registry_operation("test.op"));
    assert_int_equal(kb_registry_add(&a, "/x/libop.so", err, sizeof err), 0);
    assert_ptr_equal(kb_registry_operation("test.op"), &mine);
    kb_registry_operations(&ops_after);
    assert_int_equal(ops_after, ops_before + 1);
    static const struct kb_operation again = { .name = "test.op", .flops = no_count, .bytes = no_bytes };
    static const struct kb_kernel b = { .name = "test.op", .impl = "b", .op = &again };
    assert_int_equal(kb_registry_add(&b, "/y/libagain.so", err, sizeof err), -1);
    assert_non_null(strstr(err, "operation test.op is already defined by /x/libop.so"));
    /* a second implementation of the same definition is welcome */
    static const struct kb_kernel c = { .name = "test.op", .impl = "c", .op = &mine };
    assert_int_equal(kb_registry_add(&c, "/y/libmore.so", err, sizeof err), 0);
    kb_registry_operations(&ops_after);
    assert_int_equal(ops_after, ops_before + 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_known_answers),
        cmocka_unit_test(test_sha256_pieces_match_whole),
        cmocka_unit_test(test_registry_additions),
        cmocka_unit_test(test_registry_operations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
