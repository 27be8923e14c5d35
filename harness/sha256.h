/* sha256.h - SHA-256 (FIPS 180-4), for the provenance of plugins: kbench has no hashing library
 * among its dependencies, and one file's digest does not warrant one. */
#ifndef KB_SHA256_H
#define KB_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
    uint32_t h[8];
    uint64_t length;        /* bytes hashed so far */
    unsigned char block[64];
    size_t used;            /* bytes waiting in block */
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
/* Writes the digest as 64 lowercase hex digits and a NUL. */
void sha256_hex(struct sha256 *s, char hex[65]);
/* The digest of a whole file; 0, or -1 with errno set when it cannot be read. */
int sha256_file(const char *path, char hex[65]);

#endif
