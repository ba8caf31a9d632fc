/* MD5 comes from OpenSSL's libcrypto, through its low-level MD5 interface
 * (deprecated in OpenSSL 3 in favour of EVP, but still exported): EVP
 * allocates a context and looks the algorithm up on every call, which costs
 * more than the digest of a short key. */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/md5.h>

#include <stdint.h>
#include <string.h>

#include "hash.h"

static inline void put_le32(unsigned char *p, uint32_t v)
{
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    memcpy(p, &v, 4);
}

void hash_md5(const void *data, size_t len, unsigned char out[MD5_LEN])
{
    MD5_CTX ctx;
    MD5_Init(&ctx);
    if (len > 55) {
        MD5_Update(&ctx, data, len);
        MD5_Final(out, &ctx);
        return;
    }
    /* A key of up to 55 bytes is one padded block: pad it here and run
     * libcrypto's block function once, skipping MD5_Update and MD5_Final
     * with its context cleansing (nothing secret is hashed here: keys and
     * server names). That is a quarter of a short-key get's instructions
     * (docs/benchmarks.md). */
    unsigned char block[64];
    memset(block, 0, sizeof(block));
    memcpy(block, data, len);
    block[len] = 0x80;
    uint64_t bits = (uint64_t)len * 8;
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    bits = __builtin_bswap64(bits);
#endif
    memcpy(block + 56, &bits, 8);
    MD5_Transform(&ctx, block);
    put_le32(out, ctx.A);
    put_le32(out + 4, ctx.B);
    put_le32(out + 8, ctx.C);
    put_le32(out + 12, ctx.D);
}

#if defined(__SSE2__)
#include <emmintrin.h>

/* Sixteen bytes to thirty-two lowercase hex digits with SSE2 (baseline on
 * x86-64): split the nibbles, interleave them, add '0', and 'a' - '0' - 10
 * more where a nibble is above 9. */
void hash_hex(const unsigned char digest[MD5_LEN], char out[MD5_HEX_LEN])
{
    const __m128i low4 = _mm_set1_epi8(0x0f);
    __m128i v = _mm_loadu_si128((const __m128i *)digest);
    __m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), low4);
    __m128i lo = _mm_and_si128(v, low4);
    __m128i a = _mm_unpacklo_epi8(hi, lo);
    __m128i b = _mm_unpackhi_epi8(hi, lo);
    const __m128i nine = _mm_set1_epi8(9), zero = _mm_set1_epi8('0'),
                  gap = _mm_set1_epi8('a' - '0' - 10);
    a = _mm_add_epi8(_mm_add_epi8(a, zero),
                     _mm_and_si128(_mm_cmpgt_epi8(a, nine), gap));
    b = _mm_add_epi8(_mm_add_epi8(b, zero),
                     _mm_and_si128(_mm_cmpgt_epi8(b, nine), gap));
    _mm_storeu_si128((__m128i *)out, a);
    _mm_storeu_si128((__m128i *)(out + 16), b);
}

#else

/* "00".."ff", two characters per byte value. */
static const char hex_pairs[513] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
    "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

void hash_hex(const unsigned char digest[MD5_LEN], char out[MD5_HEX_LEN])
{
    for (int i = 0; i < MD5_LEN; i++)
        memcpy(out + 2 * i, hex_pairs + 2 * digest[i], 2);
}

#endif
