/* MD5 comes from OpenSSL's libcrypto, through its low-level MD5 interface
 * (deprecated in OpenSSL 3 in favour of EVP, but still exported): EVP
 * allocates a context and looks the algorithm up on every call, which costs
 * more than the digest of a short key. */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/md5.h>

#include <pthread.h>
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
    if (len > 0) /* data may be NULL for the empty key */
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

/* ---- the peers' 32-bit hashes ------------------------------------------ */

/* A key byte as the peers' arithmetic sees it: through a signed char
 * (sign-extended to 32 bits) or an unsigned one. Written without a
 * narrowing conversion, whose result C leaves to the implementation. */
static inline uint32_t byte_in(unsigned char b, bool signed_bytes)
{
    if (signed_bytes)
        return (uint32_t)((int32_t)(b ^ 0x80u) - 0x80);
    return b;
}

static inline uint32_t rotl32(uint32_t x, int r)
{
    return (x << r) | (x >> (32 - r));
}

static inline uint32_t load_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

uint32_t hash_one_at_a_time(const void *data, size_t len, bool signed_bytes)
{
    const unsigned char *p = data;
    uint32_t v = 0;
    for (size_t i = 0; i < len; i++) {
        v += byte_in(p[i], signed_bytes);
        v += v << 10;
        v ^= v >> 6;
    }
    v += v << 3;
    v ^= v >> 11;
    v += v << 15;
    return v;
}

#define FNV32_BASIS 0x811c9dc5u
#define FNV32_PRIME 0x01000193u
/* Low 32 bits of the 64-bit FNV basis and prime. XOR touches only the low
 * byte and multiplication's low 32 bits depend only on the operands' low 32
 * bits, so these give exactly the low half of 64-bit FNV. */
#define FNV64_BASIS_LO 0x84222325u
#define FNV64_PRIME_LO 0x000001b3u

static inline uint32_t fnv1(const unsigned char *p, size_t len, uint32_t h,
                            uint32_t prime, bool sx)
{
    for (size_t i = 0; i < len; i++) {
        h *= prime;
        h ^= byte_in(p[i], sx);
    }
    return h;
}

static inline uint32_t fnv1a(const unsigned char *p, size_t len, uint32_t h,
                             uint32_t prime, bool sx)
{
    for (size_t i = 0; i < len; i++) {
        h ^= byte_in(p[i], sx);
        h *= prime;
    }
    return h;
}

uint32_t hash_fnv1_32(const void *data, size_t len, bool signed_bytes)
{
    return fnv1(data, len, FNV32_BASIS, FNV32_PRIME, signed_bytes);
}

uint32_t hash_fnv1a_32(const void *data, size_t len, bool signed_bytes)
{
    return fnv1a(data, len, FNV32_BASIS, FNV32_PRIME, signed_bytes);
}

uint32_t hash_fnv1_64(const void *data, size_t len, bool signed_bytes)
{
    return fnv1(data, len, FNV64_BASIS_LO, FNV64_PRIME_LO, signed_bytes);
}

uint32_t hash_fnv1a_64(const void *data, size_t len, bool signed_bytes)
{
    return fnv1a(data, len, FNV64_BASIS_LO, FNV64_PRIME_LO, signed_bytes);
}

/* CRC tables: entry i is the register after shifting byte i through it,
 * computed bit by bit once, on first use (pthread_once makes that safe
 * from any thread). A table makes a short key's CRC several times cheaper
 * than shifting every bit. */
static uint32_t crc32_table[256];  /* reflected 0xedb88320 */
static uint32_t xmodem_table[256]; /* 0x1021, not reflected */
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_tables_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t r = i;
        for (int bit = 0; bit < 8; bit++)
            r = (r >> 1) ^ (0xedb88320u & (0u - (r & 1u)));
        crc32_table[i] = r;
        uint32_t t = i << 8;
        for (int bit = 0; bit < 8; bit++)
            t = (t & 0x8000u) ? (t << 1) ^ 0x1021u : t << 1;
        xmodem_table[i] = t & 0xffffu;
    }
}

uint32_t hash_crc32_ieee(const void *data, size_t len)
{
    pthread_once(&crc_once, crc_tables_init);
    const unsigned char *p = data;
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < len; i++)
        crc = (crc >> 8) ^ crc32_table[(crc ^ p[i]) & 0xffu];
    return ~crc;
}

uint32_t hash_crc32_hashkit(const void *data, size_t len)
{
    return (hash_crc32_ieee(data, len) >> 16) & 0x7fffu;
}

uint32_t hash_crc16_twemproxy(const void *data, size_t len)
{
    pthread_once(&crc_once, crc_tables_init);
    const unsigned char *p = data;
    uint32_t crc = 0;
    for (size_t i = 0; i < len; i++)
        crc = (crc << 8) ^ xmodem_table[((crc >> 8) ^ p[i]) & 0xffu];
    return crc;
}

uint32_t hash_hsieh(const void *data, size_t len, bool signed_bytes)
{
    const unsigned char *p = data;
    if (len == 0)
        return 0;
    uint32_t h = 0;
    size_t blocks = len / 4;
    for (size_t i = 0; i < blocks; i++, p += 4) {
        h += (uint32_t)p[0] | (uint32_t)p[1] << 8;
        uint32_t t = (((uint32_t)p[2] | (uint32_t)p[3] << 8) << 11) ^ h;
        h = (h << 16) ^ t;
        h += h >> 11;
    }
    switch (len % 4) {
    case 3:
        h += (uint32_t)p[0] | (uint32_t)p[1] << 8;
        h ^= h << 16;
        h ^= byte_in(p[2], signed_bytes) << 18;
        h += h >> 11;
        break;
    case 2:
        h += (uint32_t)p[0] | (uint32_t)p[1] << 8;
        h ^= h << 11;
        h += h >> 17;
        break;
    case 1:
        h += p[0];
        h ^= h << 10;
        h += h >> 1;
        break;
    default:
        break;
    }
    h ^= h << 3;
    h += h >> 5;
    h ^= h << 4;
    h += h >> 17;
    h ^= h << 25;
    h += h >> 6;
    return h;
}

uint32_t hash_murmur2_hashkit(const void *data, size_t len)
{
    const uint32_t m = 0x5bd1e995u;
    const unsigned char *p = data;
    uint32_t h = (0xdeadbeefu * (uint32_t)len) ^ (uint32_t)len;
    size_t n = len;
    for (; n >= 4; n -= 4, p += 4) {
        uint32_t k = load_le32(p);
        k *= m;
        k ^= k >> 24;
        k *= m;
        h *= m;
        h ^= k;
    }
    if (n > 0) {
        if (n == 3)
            h ^= (uint32_t)p[2] << 16;
        if (n >= 2)
            h ^= (uint32_t)p[1] << 8;
        h ^= p[0];
        h *= m;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return h;
}

/* lookup3's mixing steps (Bob Jenkins, public domain). */
#define JENKINS_MIX(a, b, c)                                                   \
    do {                                                                       \
        a -= c; a ^= rotl32(c, 4); c += b;                                     \
        b -= a; b ^= rotl32(a, 6); a += c;                                     \
        c -= b; c ^= rotl32(b, 8); b += a;                                     \
        a -= c; a ^= rotl32(c, 16); c += b;                                    \
        b -= a; b ^= rotl32(a, 19); a += c;                                    \
        c -= b; c ^= rotl32(b, 4); b += a;                                     \
    } while (0)

#define JENKINS_FINAL(a, b, c)                                                 \
    do {                                                                       \
        c ^= b; c -= rotl32(b, 14);                                            \
        a ^= c; a -= rotl32(c, 11);                                            \
        b ^= a; b -= rotl32(a, 25);                                            \
        c ^= b; c -= rotl32(b, 16);                                            \
        a ^= c; a -= rotl32(c, 4);                                             \
        b ^= a; b -= rotl32(a, 14);                                            \
        c ^= b; c -= rotl32(b, 24);                                            \
    } while (0)

/* Little-endian value of the first n (0..4) bytes at p. */
static inline uint32_t load_le_partial(const unsigned char *p, size_t n)
{
    uint32_t v = 0;
    for (size_t i = n; i > 0; i--)
        v = (v << 8) | p[i - 1];
    return v;
}

uint32_t hash_jenkins(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint32_t a, b, c;
    a = b = c = 0xdeadbeefu + (uint32_t)len + 13u;
    size_t n = len;
    for (; n > 12; n -= 12, p += 12) {
        a += load_le32(p);
        b += load_le32(p + 4);
        c += load_le32(p + 8);
        JENKINS_MIX(a, b, c);
    }
    /* The last block, 1..12 bytes, zero-padded; an empty key (or nothing
     * left, which cannot happen after the loop) returns c unmixed. */
    if (n == 0)
        return c;
    a += load_le_partial(p, n < 4 ? n : 4);
    if (n > 4)
        b += load_le_partial(p + 4, n < 8 ? n - 4 : 4);
    if (n > 8)
        c += load_le_partial(p + 8, n - 8);
    JENKINS_FINAL(a, b, c);
    return c;
}

/* ---- MurmurHash3 x86_32 (Austin Appleby, public domain) ----------------- */

#define MURMUR3_C1 0xcc9e2d51u
#define MURMUR3_C2 0x1b873593u

static inline uint32_t murmur3_scramble(uint32_t k)
{
    k *= MURMUR3_C1;
    k = rotl32(k, 15);
    return k * MURMUR3_C2;
}

static inline uint32_t murmur3_block(uint32_t h, uint32_t k)
{
    h ^= murmur3_scramble(k);
    h = rotl32(h, 13);
    return h * 5 + 0xe6546b64u;
}

void murmur3_init(murmur3_state *s, uint32_t seed)
{
    s->h = seed;
    s->tail = 0;
    s->ntail = 0;
    s->len = 0;
}

void murmur3_update(murmur3_state *s, const void *data, size_t len)
{
    const unsigned char *p = data;
    s->len += len;
    while (s->ntail > 0 && s->ntail < 4 && len > 0) {
        s->tail |= (uint32_t)*p++ << (8 * s->ntail++);
        len--;
    }
    if (s->ntail == 4) {
        s->h = murmur3_block(s->h, s->tail);
        s->tail = 0;
        s->ntail = 0;
    }
    for (; len >= 4; len -= 4, p += 4)
        s->h = murmur3_block(s->h, load_le32(p));
    for (; len > 0; len--)
        s->tail |= (uint32_t)*p++ << (8 * s->ntail++);
}

uint32_t murmur3_final(const murmur3_state *s)
{
    uint32_t h = s->h;
    if (s->ntail > 0)
        h ^= murmur3_scramble(s->tail);
    h ^= (uint32_t)s->len;
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

uint32_t hash_murmur3_32(const void *data, size_t len, uint32_t seed)
{
    murmur3_state s;
    murmur3_init(&s, seed);
    murmur3_update(&s, data, len);
    return murmur3_final(&s);
}

/* ---- hashes by name -------------------------------------------------- */

static const char *const fn_names[HASH_FN_COUNT] = {
    [HASH_ONE_AT_A_TIME] = "one_at_a_time",
    [HASH_MD5] = "md5",
    [HASH_CRC16] = "crc16",
    [HASH_CRC32] = "crc32",
    [HASH_CRC32A] = "crc32a",
    [HASH_FNV1_64] = "fnv1_64",
    [HASH_FNV1A_64] = "fnv1a_64",
    [HASH_FNV1_32] = "fnv1_32",
    [HASH_FNV1A_32] = "fnv1a_32",
    [HASH_HSIEH] = "hsieh",
    [HASH_MURMUR] = "murmur",
    [HASH_JENKINS] = "jenkins",
    [HASH_MURMUR3] = "murmur3",
};

const char *hash_fn_name(hash_fn fn)
{
    if ((unsigned)fn < HASH_FN_COUNT)
        return fn_names[fn];
    return "unknown";
}

const char *hash_fn_names(void)
{
    return "one_at_a_time, md5, crc16, crc32 (alias crc), crc32a, fnv1_64, "
           "fnv1a_64, fnv1_32, fnv1a_32, hsieh, murmur, jenkins, murmur3";
}

int hash_fn_parse(const char *name, size_t len)
{
    for (int i = 0; i < HASH_FN_COUNT; i++)
        if (strlen(fn_names[i]) == len && memcmp(name, fn_names[i], len) == 0)
            return i;
    if (len == 3 && memcmp(name, "crc", 3) == 0)
        return HASH_CRC32;
    return -1;
}

uint32_t hash32(hash_fn fn, const void *data, size_t len, bool signed_bytes)
{
    unsigned char d[MD5_LEN];
    switch (fn) {
    case HASH_ONE_AT_A_TIME:
        return hash_one_at_a_time(data, len, signed_bytes);
    case HASH_MD5:
        hash_md5(data, len, d);
        return hash_md5_word(d, 0);
    case HASH_CRC16:
        return hash_crc16_twemproxy(data, len);
    case HASH_CRC32:
        return hash_crc32_hashkit(data, len);
    case HASH_CRC32A:
        return hash_crc32_ieee(data, len);
    case HASH_FNV1_64:
        return hash_fnv1_64(data, len, signed_bytes);
    case HASH_FNV1A_64:
        return hash_fnv1a_64(data, len, signed_bytes);
    case HASH_FNV1_32:
        return hash_fnv1_32(data, len, signed_bytes);
    case HASH_FNV1A_32:
        return hash_fnv1a_32(data, len, signed_bytes);
    case HASH_HSIEH:
        return hash_hsieh(data, len, signed_bytes);
    case HASH_MURMUR:
        return hash_murmur2_hashkit(data, len);
    case HASH_JENKINS:
        return hash_jenkins(data, len);
    case HASH_MURMUR3:
        return hash_murmur3_32(data, len, 0xdeadbeefu * (uint32_t)len);
    default:
        return 0;
    }
}
