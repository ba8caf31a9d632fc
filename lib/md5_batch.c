/*
 * MD5 of many short keys at once, for the multi-key calls. libcrypto hashes
 * one message at a time; eight one-block messages fit the eight 32-bit
 * lanes of an AVX2 register, so a batch of keys costs about a fifth of the
 * instructions per key (docs/benchmarks.md). Keys longer than 55 bytes
 * (more than one block), batches on CPUs without AVX2, and other
 * architectures go through libcrypto's hash_md5(). The result is checked
 * against libcrypto for every length in tests/unit/test_hash.c.
 */
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "hash.h"

/* The MD5 definition (RFC 1321): per-step constants floor(|sin(i+1)|·2^32),
 * computed once; the shift amounts are in the steps below. */
static uint32_t md5_k[64];
/* Message word read by each step: i, 5i+1, 3i+5, 7i (mod 16) by round. */
static const unsigned char md5_w[64] = {
    0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
    1,  6,  11, 0,  5,  10, 15, 4,  9,  14, 3,  8,  13, 2,  7,  12,
    5,  8,  11, 14, 1,  4,  7,  10, 13, 0,  3,  6,  9,  12, 15, 2,
    0,  7,  14, 5,  12, 3,  10, 1,  8,  15, 6,  13, 4,  11, 2,  9};
static bool have_avx2;
static pthread_once_t md5_once = PTHREAD_ONCE_INIT;

static void md5_batch_init(void)
{
    for (int i = 0; i < 64; i++)
        md5_k[i] = (uint32_t)(fabs(sin((double)(i + 1))) * 4294967296.0);
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    have_avx2 = __builtin_cpu_supports("avx2");
#endif
}

/* One padded block of a key of at most 55 bytes. */
static void pad_block(unsigned char block[64], const void *key, size_t len)
{
    memset(block, 0, 64);
    if (len > 0)
        memcpy(block, key, len);
    block[len] = 0x80;
    uint64_t bits = (uint64_t)len * 8;
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    bits = __builtin_bswap64(bits);
#endif
    memcpy(block + 56, &bits, 8); /* the length in bits, little-endian */
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* The four round functions and one step, on eight lanes at once; shifts
 * are literals so that every rotate is two immediate shifts and an or. */
#define M8_F(b, c, d) _mm256_or_si256(_mm256_and_si256(b, c), _mm256_andnot_si256(b, d))
#define M8_G(b, c, d) _mm256_or_si256(_mm256_and_si256(d, b), _mm256_andnot_si256(d, c))
#define M8_H(b, c, d) _mm256_xor_si256(_mm256_xor_si256(b, c), d)
#define M8_I(b, c, d) _mm256_xor_si256(c, _mm256_or_si256(b, _mm256_xor_si256(d, ones)))
#define M8_STEP(FN, a, b, c, d, i, s)                                          \
    do {                                                                       \
        __m256i t_ = _mm256_add_epi32(                                         \
            _mm256_add_epi32(a, FN(b, c, d)),                                  \
            _mm256_add_epi32(_mm256_set1_epi32((int)md5_k[i]), m[md5_w[i]]));  \
        a = _mm256_add_epi32(b, _mm256_or_si256(_mm256_slli_epi32(t_, s),      \
                                                _mm256_srli_epi32(t_, 32 - s))); \
    } while (0)
#define M8_FOUR(FN, i, s0, s1, s2, s3)                                         \
    M8_STEP(FN, a, b, c, d, i, s0);                                            \
    M8_STEP(FN, d, a, b, c, i + 1, s1);                                        \
    M8_STEP(FN, c, d, a, b, i + 2, s2);                                        \
    M8_STEP(FN, b, c, d, a, i + 3, s3)

/* Eight one-block messages (blocks[lane * 64 ...]) to eight digests. */
__attribute__((target("avx2"))) static void
md5x8(const unsigned char *blocks, unsigned char (*out)[MD5_LEN])
{
    /* Word j of every lane's block: lane l's block starts 16 words on. */
    const __m256i lane = _mm256_setr_epi32(0, 16, 32, 48, 64, 80, 96, 112);
    __m256i m[16];
    for (int j = 0; j < 16; j++)
        m[j] = _mm256_i32gather_epi32((const int *)(blocks + 4 * j), lane, 4);
    const __m256i a0 = _mm256_set1_epi32(0x67452301),
                  b0 = _mm256_set1_epi32((int)0xefcdab89),
                  c0 = _mm256_set1_epi32((int)0x98badcfe),
                  d0 = _mm256_set1_epi32(0x10325476),
                  ones = _mm256_set1_epi32(-1);
    __m256i a = a0, b = b0, c = c0, d = d0;
    M8_FOUR(M8_F, 0, 7, 12, 17, 22);
    M8_FOUR(M8_F, 4, 7, 12, 17, 22);
    M8_FOUR(M8_F, 8, 7, 12, 17, 22);
    M8_FOUR(M8_F, 12, 7, 12, 17, 22);
    M8_FOUR(M8_G, 16, 5, 9, 14, 20);
    M8_FOUR(M8_G, 20, 5, 9, 14, 20);
    M8_FOUR(M8_G, 24, 5, 9, 14, 20);
    M8_FOUR(M8_G, 28, 5, 9, 14, 20);
    M8_FOUR(M8_H, 32, 4, 11, 16, 23);
    M8_FOUR(M8_H, 36, 4, 11, 16, 23);
    M8_FOUR(M8_H, 40, 4, 11, 16, 23);
    M8_FOUR(M8_H, 44, 4, 11, 16, 23);
    M8_FOUR(M8_I, 48, 6, 10, 15, 21);
    M8_FOUR(M8_I, 52, 6, 10, 15, 21);
    M8_FOUR(M8_I, 56, 6, 10, 15, 21);
    M8_FOUR(M8_I, 60, 6, 10, 15, 21);
    uint32_t va[8], vb[8], vc[8], vd[8];
    _mm256_storeu_si256((__m256i *)va, _mm256_add_epi32(a, a0));
    _mm256_storeu_si256((__m256i *)vb, _mm256_add_epi32(b, b0));
    _mm256_storeu_si256((__m256i *)vc, _mm256_add_epi32(c, c0));
    _mm256_storeu_si256((__m256i *)vd, _mm256_add_epi32(d, d0));
    for (int l = 0; l < 8; l++) {
        memcpy(out[l], &va[l], 4);
        memcpy(out[l] + 4, &vb[l], 4);
        memcpy(out[l] + 8, &vc[l], 4);
        memcpy(out[l] + 12, &vd[l], 4);
    }
}
#endif

void hash_md5_many(const mcring_key *keys, size_t n,
                   unsigned char (*out)[MD5_LEN])
{
    pthread_once(&md5_once, md5_batch_init);
#if defined(__x86_64__) && defined(__GNUC__) &&                                \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (have_avx2 && n >= 8) {
        unsigned char blocks[8 * 64];
        unsigned char digests[8][MD5_LEN];
        size_t lane_key[8];
        int lanes = 0;
        for (size_t k = 0; k < n; k++) {
            if (keys[k].len > 55) {
                hash_md5(keys[k].data, keys[k].len, out[k]);
                continue;
            }
            pad_block(blocks + lanes * 64, keys[k].data, keys[k].len);
            lane_key[lanes++] = k;
            if (lanes == 8) {
                md5x8(blocks, digests);
                for (int l = 0; l < 8; l++)
                    memcpy(out[lane_key[l]], digests[l], MD5_LEN);
                lanes = 0;
            }
        }
        /* The last few: a part-empty vector still beats two scalar
         * digests; the empty lanes hash a copy of the first. */
        if (lanes == 1) {
            hash_md5(keys[lane_key[0]].data, keys[lane_key[0]].len,
                     out[lane_key[0]]);
        } else if (lanes > 1) {
            for (int l = lanes; l < 8; l++)
                memcpy(blocks + l * 64, blocks, 64);
            md5x8(blocks, digests);
            for (int l = 0; l < lanes; l++)
                memcpy(out[lane_key[l]], digests[l], MD5_LEN);
        }
        return;
    }
#endif
    for (size_t k = 0; k < n; k++)
        hash_md5(keys[k].data, keys[k].len, out[k]);
}
