/* The peers' key hashes (lib/hash.c), against values the real peers give. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "hash.h"

/* The reference page's primitives (docs/placement.md). */
Test(hash, reference_primitives)
{
    unsigned char d[MD5_LEN];
    cr_assert_eq(hash_one_at_a_time("foo", 3, true), 0x238678ddu);
    hash_md5("foo", 3, d);
    cr_assert_eq(hash_md5_word(d, 0), 0xdb18bdacu);
    cr_assert_eq(hash32(HASH_MD5, "foo", 3, true), 0xdb18bdacu);
    cr_assert_eq(hash_fnv1a_64("foo", 3, true), 0xfed9d577u);
    cr_assert_eq(hash_murmur3_32("foo", 3, 0), 0xf6a5c420u);
    cr_assert_eq(hash_one_at_a_time("caf\xc3\xa9", 5, true), 0xd99c709eu,
                 "bytes >= 0x80 sign-extended, as x86-64 builds do");
}

/*
 * memcached_generate_hash_value() of libmemcached 1.1.4 (Debian) for each
 * of its algorithms on these keys (tests/interop/ compares 20,000 more).
 * The empty key and 13 bytes reach the special cases: no block, a tail
 * after full blocks, jenkins' 12-byte rounds.
 */
static const char *const keys[] = {"foo", "caf\xc3\xa9", "", "a",
                                   "abcdefghijklm"};

static const struct {
    hash_fn fn;
    uint32_t v[5];
} libmemcached_values[] = {
    {HASH_ONE_AT_A_TIME,
     {0x238678dd, 0xd99c709e, 0x00000000, 0xca2e9442, 0x6d99f6dc}},
    {HASH_MD5, {0xdb18bdac, 0xe47f1107, 0xd98c1dd4, 0xb975c10c, 0xd1bdae22}},
    {HASH_CRC32, {0x00000c73, 0x000018ad, 0x00000000, 0x000068b7, 0x00005df4}},
    {HASH_FNV1_64,
     {0x6ba13533, 0x8a06fef1, 0x84222325, 0x8601b7be, 0x3df1e6a2}},
    {HASH_FNV1A_64,
     {0xfed9d577, 0xcef6bb89, 0x84222325, 0x8601ec8c, 0x398bc308}},
    {HASH_FNV1_32,
     {0x408f5e13, 0xd682f171, 0x811c9dc5, 0x050c5d7e, 0xe589b522}},
    {HASH_FNV1A_32,
     {0xa9f37ed7, 0x7572c049, 0x811c9dc5, 0xe40c292c, 0x3b8356e8}},
    {HASH_MURMUR, {0xc4e0338f, 0xda11981f, 0x00000000, 0x4b41757c, 0x2987d8bb}},
    {HASH_JENKINS,
     {0x99f84f99, 0xcb6225ad, 0xdeadbefc, 0xe0a38690, 0xb621e85f}},
    {HASH_MURMUR3,
     {0xa5f500b2, 0x235552a0, 0x00000000, 0x8872dbc8, 0x14418ae6}},
};

Test(hash, libmemcached_values)
{
    for (size_t i = 0;
         i < sizeof(libmemcached_values) / sizeof(libmemcached_values[0]);
         i++)
        for (size_t k = 0; k < 5; k++) {
            uint32_t got = hash32(libmemcached_values[i].fn, keys[k],
                                  strlen(keys[k]), true);
            cr_assert_eq(got, libmemcached_values[i].v[k],
                         "%s(\"%s\") = %08x, libmemcached says %08x",
                         hash_fn_name(libmemcached_values[i].fn), keys[k],
                         got, libmemcached_values[i].v[k]);
        }
}

Test(hash, standard_check_values)
{
    /* The catalogue check values of "123456789". */
    cr_assert_eq(hash_crc32_ieee("123456789", 9), 0xcbf43926u);
    cr_assert_eq(hash_crc16_twemproxy("123456789", 9) & 0xffffu, 0x31c3u,
                 "the low 16 bits are CRC-16/XMODEM");
    cr_assert_eq(hash_crc32_hashkit("123456789", 9),
                 (0xcbf43926u >> 16) & 0x7fffu);
    cr_assert_eq(hash_murmur3_32("", 0, 0), 0u);
    cr_assert_eq(hash_murmur3_32("", 0, 1), 0x514e28b7u);
    cr_assert_eq(hash_murmur3_32("Hello, world!", 13, 1234), 0xfaf6cdb3u);
}

Test(hash, twemproxy_only_hashes)
{
    /* Regression values of the hashes only twemproxy has; 0.5.0 itself
     * places 3,000+ keys with each of them in tests/interop
     * (twemproxy_placement), which is where these were checked. */
    uint32_t one = hash_crc16_twemproxy("a", 1);
    cr_assert_eq(one, 0x7c87u, "one byte: just the table entry for 'a'");
    cr_assert_gt(hash_crc16_twemproxy("abc", 3), 0xffffu,
                 "the register keeps the bytes shifted out (not cut to 16 "
                 "bits)");
    cr_assert_eq(hash_hsieh("", 0, true), 0u);
    /* Three-byte tails read their third byte through char. */
    cr_assert_neq(hash_hsieh("ab\xe9", 3, true), hash_hsieh("ab\xe9", 3, false));
    cr_assert_eq(hash_hsieh("abc", 3, true), hash_hsieh("abc", 3, false));
    cr_assert_eq(hash_hsieh("\xe9", 1, true), hash_hsieh("\xe9", 1, false),
                 "a one-byte tail is read unsigned");
}

Test(hash, unsigned_bytes_option)
{
    /* What the same peers compute where char is unsigned. */
    cr_assert_eq(hash_one_at_a_time("caf\xc3\xa9", 5, false), 0x9096adf2u);
    cr_assert_eq(hash_fnv1a_64("caf\xc3\xa9", 5, false), 0xcfa40d89u);
    cr_assert_eq(hash_fnv1a_64("caf\xc3\xa9", 5, true), 0xcef6bb89u);
    /* ASCII is the same either way. */
    for (int fn = 0; fn < HASH_FN_COUNT; fn++)
        cr_assert_eq(hash32((hash_fn)fn, "user:42", 7, true),
                     hash32((hash_fn)fn, "user:42", 7, false), "%s",
                     hash_fn_name((hash_fn)fn));
}

Test(hash, murmur3_in_pieces_equals_one_shot)
{
    unsigned char buf[97];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (unsigned char)(i * 37 + 11);
    for (size_t len = 0; len <= sizeof(buf); len += 7)
        for (size_t a = 0; a <= len; a += 3)
            for (size_t b = a; b <= len; b += 5) {
                murmur3_state s;
                murmur3_init(&s, 7);
                murmur3_update(&s, buf, a);
                murmur3_update(&s, buf + a, b - a);
                murmur3_update(&s, buf + b, len - b);
                cr_assert_eq(murmur3_final(&s), hash_murmur3_32(buf, len, 7),
                             "len %zu split %zu/%zu", len, a, b);
            }
}

Test(hash, names)
{
    for (int fn = 0; fn < HASH_FN_COUNT; fn++) {
        const char *name = hash_fn_name((hash_fn)fn);
        cr_assert_eq(hash_fn_parse(name, strlen(name)), fn, "%s", name);
        cr_assert_not_null(strstr(hash_fn_names(), name));
    }
    cr_assert_eq(hash_fn_parse("crc", 3), HASH_CRC32, "libmemcached's name");
    cr_assert_eq(hash_fn_parse("default", 7), -1,
                 "'default' means a different hash in each mode");
    cr_assert_eq(hash_fn_parse("md5x", 4), -1);
    cr_assert_eq(hash_fn_parse("md", 2), -1);
}

Test(hash, md5_of_many_keys_matches_the_library)
{
    /* Every length around the one-block limit, in batches of every size
     * (so that lanes, leftovers and long keys all mix). */
    enum { N = 203 };
    static unsigned char data[N][80];
    mcring_key keys[N];
    unsigned char got[N][16];
    for (size_t batch = 1; batch <= N; batch += 17) {
        for (size_t k = 0; k < batch; k++) {
            size_t len = (k * 7 + batch) % 80;
            for (size_t i = 0; i < len; i++)
                data[k][i] = (unsigned char)(k * 131 + i * 29 + batch);
            keys[k] = (mcring_key){data[k], len};
        }
        hash_md5_many(keys, batch, got);
        for (size_t k = 0; k < batch; k++) {
            unsigned char want[16];
            hash_md5(keys[k].data, keys[k].len, want);
            cr_assert(memcmp(got[k], want, 16) == 0, "batch %zu key %zu len %zu",
                      batch, k, keys[k].len);
        }
    }
}
