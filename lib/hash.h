/* Hash functions used for keys and ring points. Pure; thread-safe. */
#ifndef MCRING_HASH_H
#define MCRING_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define MD5_LEN 16
#define MD5_HEX_LEN 32

/* MD5 of data into out[16]. */
void hash_md5(const void *data, size_t len, unsigned char out[MD5_LEN]);
/* Lowercase hex of a digest into out[32] (not NUL-terminated). */
void hash_hex(const unsigned char digest[MD5_LEN], char out[MD5_HEX_LEN]);

/* A digest as a big-endian 128-bit number, so that comparing (hi, lo)
 * orders digests exactly as their hex strings sort. */
typedef struct hash128 {
    uint64_t hi;
    uint64_t lo;
} hash128;

static inline uint64_t hash_be64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static inline hash128 hash128_from_digest(const unsigned char d[MD5_LEN])
{
    hash128 h = {hash_be64(d), hash_be64(d + 8)};
    return h;
}

static inline int hash128_cmp(hash128 a, hash128 b)
{
    if (a.hi != b.hi)
        return a.hi < b.hi ? -1 : 1;
    if (a.lo != b.lo)
        return a.lo < b.lo ? -1 : 1;
    return 0;
}

#endif
