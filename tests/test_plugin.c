/* test_plugin.c - the pieces of plugin loading that need no shared object: SHA-256 (the digest
 * stored with a run) against FIPS 180-4's examples, split at every block boundary, and the
 * registry's run-time additions (after the built-in kernels, findable, with their origin, and a
 * name@impl clash refused naming both sides). tests/plugins.sh loads real plugins. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "harness/sha256.h"
#include "kernels/kernel.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_known_answers),
        cmocka_unit_test(test_sha256_pieces_match_whole),
        cmocka_unit_test(test_registry_additions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
