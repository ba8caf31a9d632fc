/*
 * Hash functions used for keys and ring points. Pure; thread-safe.
 *
 * Besides MD5 (Swift's and mcring's own rings), this holds the 32-bit key
 * hashes other memcache clients place keys with, so that mcring can put a
 * key on the server they would (ring_ketama.c, ring_rendezvous.c). Each one
 * is written from the peers' documented behaviour and checked against the
 * real peers (tests/unit/test_hash.c, tests/interop/); docs/placement.md
 * lists what was verified how.
 */
#ifndef MCRING_HASH_H
#define MCRING_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mcring.h"

#define MD5_LEN 16
#define MD5_HEX_LEN 32

/* MD5 of data into out[16]. */
void hash_md5(const void *data, size_t len, unsigned char out[MD5_LEN]);
/* MD5 of n keys into out[n] (md5_batch.c): eight at a time where the CPU
 * has AVX2, else one by one. Thread-safe. */
void hash_md5_many(const mcring_key *keys, size_t n,
                   unsigned char (*out)[MD5_LEN]);

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

/* Word w (0..3) of a digest read little-endian: bytes 4w..4w+3. This is
 * how libmemcached and twemproxy turn MD5 into 32-bit values. */
static inline uint32_t hash_md5_word(const unsigned char d[MD5_LEN], int w)
{
    return (uint32_t)d[4 * w] | (uint32_t)d[4 * w + 1] << 8 |
           (uint32_t)d[4 * w + 2] << 16 | (uint32_t)d[4 * w + 3] << 24;
}

/* ---- the peers' 32-bit hashes ------------------------------------------ */

/*
 * Functions taking `signed_bytes` read the key as the peers' C code does:
 * through `char`, which is signed on x86-64, so a byte >= 0x80 enters the
 * arithmetic sign-extended (0xE9 as 0xFFFFFFE9). signed_bytes false gives
 * what the same peers compute where char is unsigned (ARM, POWER).
 */

/* Bob Jenkins' one-at-a-time (libmemcached's default "DEFAULT" hash). */
uint32_t hash_one_at_a_time(const void *data, size_t len, bool signed_bytes);
/* FNV-1 and FNV-1a, 32-bit offset basis and prime. */
uint32_t hash_fnv1_32(const void *data, size_t len, bool signed_bytes);
uint32_t hash_fnv1a_32(const void *data, size_t len, bool signed_bytes);
/* The peers' "fnv1_64"/"fnv1a_64": the 64-bit basis and prime truncated to
 * 32 bits, i.e. the low 32 bits of 64-bit FNV (twemproxy computes them in
 * 32 bits, libmemcached in 64 and truncates; the results agree). */
uint32_t hash_fnv1_64(const void *data, size_t len, bool signed_bytes);
uint32_t hash_fnv1a_64(const void *data, size_t len, bool signed_bytes);
/* The standard CRC-32 (IEEE 802.3, reflected, init and xor-out ~0);
 * twemproxy's "crc32a". */
uint32_t hash_crc32_ieee(const void *data, size_t len);
/* libmemcached's "CRC" and twemproxy's "crc32": bits 16..30 of the
 * standard CRC-32, a 15-bit value. */
uint32_t hash_crc32_hashkit(const void *data, size_t len);
/* twemproxy 0.5.0's "crc16": CRC-16/XMODEM steps (polynomial 0x1021,
 * init 0) on a 32-bit register that is never cut to 16 bits, so the bytes
 * shifted out on the left stay in the result. Its low 16 bits are the
 * CRC-16/XMODEM. */
uint32_t hash_crc16_twemproxy(const void *data, size_t len);
/* Paul Hsieh's SuperFastHash as twemproxy builds it (byte-wise 16-bit
 * reads; the third byte of a 3-byte tail read through char). */
uint32_t hash_hsieh(const void *data, size_t len, bool signed_bytes);
/* MurmurHash2 as libhashkit and twemproxy seed it: seed 0xdeadbeef * len,
 * little-endian blocks ("murmur"). */
uint32_t hash_murmur2_hashkit(const void *data, size_t len);
/* Bob Jenkins' lookup3 hashlittle(), initval 13, little-endian ("jenkins"). */
uint32_t hash_jenkins(const void *data, size_t len);
/* MurmurHash3 x86_32 with the given seed. pymemcache uses seed 0;
 * libmemcached's "murmur3" uses seed 0xdeadbeef * len. */
uint32_t hash_murmur3_32(const void *data, size_t len, uint32_t seed);

/* MurmurHash3 x86_32 fed in pieces: the result of init, any number of
 * updates and final equals hash_murmur3_32 of the concatenation. A state
 * may be copied to resume from a shared prefix. */
typedef struct murmur3_state {
    uint32_t h;
    uint32_t tail;  /* bytes not yet in a 4-byte block, little-endian */
    unsigned ntail; /* how many (0..3) */
    size_t len;     /* total bytes fed */
} murmur3_state;

void murmur3_init(murmur3_state *s, uint32_t seed);
void murmur3_update(murmur3_state *s, const void *data, size_t len);
uint32_t murmur3_final(const murmur3_state *s);

/* ---- hashes by name -------------------------------------------------- */

/* Every key hash a placement mode may be configured with, under the names
 * twemproxy's `hash:` setting uses (libmemcached's are the same functions;
 * its names are accepted as aliases, see hash_fn_parse). */
typedef enum hash_fn {
    HASH_ONE_AT_A_TIME = 0,
    HASH_MD5,
    HASH_CRC16,
    HASH_CRC32,  /* the 15-bit hashkit value */
    HASH_CRC32A, /* the standard CRC-32 */
    HASH_FNV1_64,
    HASH_FNV1A_64,
    HASH_FNV1_32,
    HASH_FNV1A_32,
    HASH_HSIEH,
    HASH_MURMUR,
    HASH_JENKINS,
    HASH_MURMUR3, /* libmemcached's: seed 0xdeadbeef * len */
    HASH_FN_COUNT
} hash_fn;

/* "one_at_a_time", "md5", ... ("unknown" out of range). */
const char *hash_fn_name(hash_fn fn);
/* The hash named by the len bytes at name, or -1. Accepts the names above
 * and libmemcached's: "default" is not accepted (it means different things
 * in different modes); "crc" is crc32. */
int hash_fn_parse(const char *name, size_t len);
/* All names, comma-separated, for error messages. */
const char *hash_fn_names(void);

/* fn applied to data. For HASH_MD5 it is word 0 of the digest. */
uint32_t hash32(hash_fn fn, const void *data, size_t len, bool signed_bytes);

#endif
