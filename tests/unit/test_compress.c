/* The compression layer without a server (compress.h): round trips of
 * both algorithms, when values are compressed and when not, and bounded
 * decompression of streams that expand too far, lie about their size or
 * are not streams at all. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>

#include <zlib.h>
#include <zstd.h>

#include "compress.h"

static compress_stats stats;

static compress_config cfg_of(compress_algo a, int64_t min_len,
                              size_t limit)
{
    return (compress_config){a, min_len, limit};
}

/* Text that compresses well, and bytes that do not. */
static char *text_of(size_t n)
{
    char *t = malloc(n + 1);
    static const char words[] = "{\"account\": \"AUTH_test\", \"bytes\": "
                                "12345, \"container\": \"photos\"}, ";
    for (size_t i = 0; i < n; i++)
        t[i] = words[i % (sizeof(words) - 1)];
    t[n] = '\0';
    return t;
}

static char *random_of(size_t n)
{
    char *t = malloc(n + 1);
    uint64_t s = 88172645463325252u;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        t[i] = (char)s;
    }
    return t;
}

static void round_trip(compress_algo a, const char *v, size_t n)
{
    compress_config cfg = cfg_of(a, 0, 1u << 30);
    packed_value p;
    cr_assert_eq(compress_pack(&stats, &cfg, v, n, 2, &p), 0);
    uint32_t bit = a == COMPRESS_ZSTD ? MCRING_FLAG_ZSTD : MCRING_FLAG_ZLIB;
    if (p.owned == NULL) {
        /* Not smaller: stored as it was. */
        cr_assert_eq(p.data, v);
        cr_assert_eq(p.flags, 2);
        packed_release(&p);
        return;
    }
    cr_assert_lt(p.len, n);
    cr_assert_eq(p.flags, 2 | bit);
    mcring_item it = MCRING_ITEM_INIT;
    mcring_item_append(&it, p.data, p.len);
    it.flags = p.flags;
    packed_release(&p);
    cr_assert_eq(compress_unpack(&stats, &cfg, &it, MCRING_OK), MCRING_OK);
    cr_assert_eq(it.len, n);
    cr_assert(memcmp(it.data, v, n) == 0);
    cr_assert_eq(it.data[n], '\0');
    cr_assert_eq(it.flags, 2, "the compression bit is cleared");
    mcring_item_release(&it);
}

Test(compress, round_trips_of_both_algorithms)
{
    const size_t sizes[] = {1, 2, 100, 401, 1024, 10240, 102400, 3 << 20};
    for (int a = COMPRESS_ZLIB; a <= COMPRESS_ZSTD; a++)
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            char *t = text_of(sizes[i]);
            round_trip((compress_algo)a, t, sizes[i]);
            free(t);
            char *r = random_of(sizes[i]);
            round_trip((compress_algo)a, r, sizes[i]);
            free(r);
        }
}

Test(compress, what_is_compressed)
{
    char *t = text_of(2000);
    packed_value p;
    compress_config c = cfg_of(COMPRESS_ZSTD, 400, 1u << 20);
    /* Longer than min_len only, as pymemcache's "len(value) > min". */
    cr_assert_eq(compress_pack(&stats, &c, t, 400, 0, &p), 0);
    cr_assert_null(p.owned);
    cr_assert_eq(compress_pack(&stats, &c, t, 401, 0, &p), 0);
    cr_assert_not_null(p.owned);
    packed_release(&p);
    /* A caller's value already marked is stored as given. */
    cr_assert_eq(compress_pack(&stats, &c, t, 2000, MCRING_FLAG_ZLIB, &p), 0);
    cr_assert_null(p.owned);
    cr_assert_eq(p.flags, MCRING_FLAG_ZLIB);
    /* -1: nothing is compressed; none: the layer is off. */
    c.min_len = -1;
    cr_assert_eq(compress_pack(&stats, &c, t, 2000, 0, &p), 0);
    cr_assert_null(p.owned);
    c = cfg_of(COMPRESS_NONE, 0, 1u << 20);
    cr_assert_eq(compress_pack(&stats, &c, t, 2000, 0, &p), 0);
    cr_assert_null(p.owned);
    free(t);
}

Test(compress, reads_are_untouched_with_the_layer_off)
{
    compress_config off = cfg_of(COMPRESS_NONE, 400, 1u << 20);
    mcring_item it = MCRING_ITEM_INIT;
    mcring_item_append(&it, "not compressed", 14);
    it.flags = MCRING_FLAG_ZLIB | 2;
    cr_assert_eq(compress_unpack(&stats, &off, &it, MCRING_OK), MCRING_OK);
    cr_assert_eq(it.len, 14);
    cr_assert_eq(it.flags, MCRING_FLAG_ZLIB | 2);
    /* With it on, either algorithm is read whatever this client writes. */
    compress_config zstd = cfg_of(COMPRESS_ZSTD, 400, 1u << 20);
    cr_assert_eq(compress_unpack(&stats, &zstd, &it, MCRING_OK),
                 MCRING_UNDECODABLE, "not a zlib stream");
    cr_assert_eq(it.len, 14, "bytes kept as read");
    cr_assert_eq(it.flags, MCRING_FLAG_ZLIB | 2);
    /* A miss or a failure is left alone. */
    cr_assert_eq(compress_unpack(&stats, &zstd, &it, MCRING_MISS),
                 MCRING_MISS);
    /* Both bits: neither can be right. */
    it.flags = MCRING_FLAG_ZLIB | MCRING_FLAG_ZSTD;
    cr_assert_eq(compress_unpack(&stats, &zstd, &it, MCRING_OK),
                 MCRING_UNDECODABLE);
    mcring_item_release(&it);
}

/* ---- bounded decompression -------------------------------------------- */

static unsigned char *zlib_of(const void *src, size_t n, size_t *out_len)
{
    uLongf cap = compressBound((uLong)n);
    unsigned char *d = malloc(cap);
    cr_assert_eq(compress2(d, &cap, src, (uLong)n, 9), Z_OK);
    *out_len = cap;
    return d;
}

static unsigned char *zstd_of(const void *src, size_t n, size_t *out_len)
{
    size_t cap = ZSTD_compressBound(n);
    unsigned char *d = malloc(cap);
    *out_len = ZSTD_compress(d, cap, src, n, 19);
    cr_assert(!ZSTD_isError(*out_len));
    return d;
}

/* A zstd frame whose header does not say how large it is, with the
 * window it was written with. */
static unsigned char *zstd_unsized(const void *src, size_t n, int wlog,
                                   size_t *out_len)
{
    ZSTD_CCtx *c = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, wlog);
    ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0);
    size_t cap = ZSTD_compressBound(n);
    unsigned char *d = malloc(cap);
    ZSTD_outBuffer out = {d, cap, 0};
    ZSTD_inBuffer in = {src, n, 0};
    /* Fed first without ending, so that zstd cannot size the frame's
     * window to the input. */
    size_t r;
    do
        r = ZSTD_compressStream2(c, &out, &in, ZSTD_e_continue);
    while (!ZSTD_isError(r) && in.pos < in.size);
    do
        r = ZSTD_compressStream2(c, &out, &in, ZSTD_e_end);
    while (!ZSTD_isError(r) && r != 0);
    cr_assert_eq(r, 0);
    ZSTD_freeCCtx(c);
    *out_len = out.pos;
    return d;
}

/* Under AddressSanitizer the address space is its shadow's: no limit. */
#if defined(__SANITIZE_ADDRESS__)
#define ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN 1
#endif
#endif

/* Criterion runs each test in a process of its own: a limit on the
 * address space set here holds for this test only. Any allocation of the
 * bomb's size fails under it, so a refusal (rather than MCRING_ENOMEM)
 * shows the bomb was never allocated. */
static void limit_address_space(size_t extra)
{
#ifndef ASAN
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    cr_assert_eq(fscanf(f, "%lu", &pages), 1);
    fclose(f);
    struct rlimit rl;
    cr_assert_eq(getrlimit(RLIMIT_AS, &rl), 0);
    rl.rlim_cur = pages * 4096 + extra;
    cr_assert_eq(setrlimit(RLIMIT_AS, &rl), 0);
#else
    (void)extra;
#endif
}

static void unlimit_address_space(void)
{
    struct rlimit rl;
    getrlimit(RLIMIT_AS, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_AS, &rl);
}

static double now(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/*
 * A zlib stream of `pieces` x 16 MiB of zeros, about 1/1000 of that
 * (deflate's best is 1032:1), made without compressing it all: a full
 * flush after each piece makes the blocks of every piece after the first
 * the same bytes, so the second is copied for the rest; then an empty
 * final block and the Adler-32 of the whole.
 */
static unsigned char *zlib_zeros(size_t pieces, size_t *len)
{
    size_t piece = 16u << 20;
    char *zeros = calloc(1, piece);
    z_stream z = {0};
    cr_assert_eq(deflateInit(&z, 9), Z_OK);
    size_t cap = pieces * (piece / 1000) + 65536;
    unsigned char *out = malloc(cap);
    z.next_out = out;
    z.avail_out = (uInt)cap;
    z.next_in = (unsigned char *)zeros;
    z.avail_in = (uInt)piece;
    cr_assert_eq(deflate(&z, Z_FULL_FLUSH), Z_OK);
    unsigned char *second = z.next_out;
    z.next_in = (unsigned char *)zeros;
    z.avail_in = (uInt)piece;
    cr_assert_eq(deflate(&z, Z_FULL_FLUSH), Z_OK);
    size_t seg = (size_t)(z.next_out - second);
    for (size_t i = 2; i < pieces; i++) {
        memcpy(z.next_out, second, seg);
        z.next_out += seg;
    }
    *z.next_out++ = 0x03; /* a final, empty, fixed-Huffman block */
    *z.next_out++ = 0x00;
    uLong one = adler32(adler32(0, NULL, 0), (unsigned char *)zeros,
                        (uInt)piece);
    uLong adler = one;
    for (size_t i = 1; i < pieces; i++)
        adler = adler32_combine(adler, one, (z_off_t)piece);
    for (int i = 3; i >= 0; i--)
        *z.next_out++ = (unsigned char)(adler >> (8 * i));
    *len = (size_t)(z.next_out - out);
    deflateEnd(&z);
    free(zeros);
    return out;
}

/*
 * A zstd frame of `blocks` x 128 KiB of zeros written by hand as RLE
 * blocks (4 bytes each): declaring its size (single segment, 8-byte
 * content size), or not (a 128 KiB window and no size).
 */
static unsigned char *zstd_zeros(size_t blocks, bool declared, size_t *len)
{
    unsigned char *f = malloc(14 + 4 * blocks), *p = f;
    uint32_t magic = 0xFD2FB528u;
    for (int i = 0; i < 4; i++)
        *p++ = (unsigned char)(magic >> (8 * i));
    uint64_t size = (uint64_t)blocks << 17;
    if (declared) {
        *p++ = 0xE0; /* 8-byte content size, single segment */
        for (int i = 0; i < 8; i++)
            *p++ = (unsigned char)(size >> (8 * i));
    } else {
        *p++ = 0x00; /* no content size: a window descriptor follows */
        *p++ = 7 << 3; /* window 2^(10 + 7) = 128 KiB */
    }
    for (size_t b = 0; b < blocks; b++) {
        uint32_t h = (128u << 10) << 3 | 1u << 1 | (b + 1 == blocks);
        *p++ = (unsigned char)h;
        *p++ = (unsigned char)(h >> 8);
        *p++ = (unsigned char)(h >> 16);
        *p++ = 0x00; /* the byte the block repeats */
    }
    *len = (size_t)(p - f);
    return f;
}

Test(compress, the_bombs_are_what_they_claim)
{
    /* Small ones made the same way decompress to zeros, all of them. */
    size_t len;
    unsigned char *z = zlib_zeros(4, &len);
    z_stream check = {0};
    cr_assert_eq(inflateInit(&check), Z_OK);
    unsigned char *buf = malloc(1u << 20);
    check.next_in = z;
    check.avail_in = (uInt)len;
    int zr;
    do {
        check.next_out = buf;
        check.avail_out = 1u << 20;
        zr = inflate(&check, Z_NO_FLUSH);
        for (size_t i = 0; i < (1u << 20) - check.avail_out; i++)
            cr_assert_eq(buf[i], 0);
    } while (zr == Z_OK);
    cr_assert_eq(zr, Z_STREAM_END);
    cr_assert_eq(check.total_out, 64u << 20);
    inflateEnd(&check);
    free(z);
    for (int declared = 0; declared < 2; declared++) {
        unsigned char *s = zstd_zeros(8, declared, &len);
        size_t n = ZSTD_decompress(buf, 1u << 20, s, len);
        cr_assert_eq(n, 1u << 20, "%s", ZSTD_getErrorName(n));
        for (size_t i = 0; i < n; i++)
            cr_assert_eq(buf[i], 0);
        cr_assert_eq(ZSTD_getFrameContentSize(s, len),
                     declared ? 1u << 20 : ZSTD_CONTENTSIZE_UNKNOWN);
        free(s);
    }
    free(buf);
}

Test(compress, bombs_are_refused_as_they_expand)
{
    /* 1 GiB each: zlib in about 1 MiB, zstd in 32 KiB. */
    size_t zlen, slen, ulen;
    unsigned char *zbomb = zlib_zeros(64, &zlen);
    unsigned char *sbomb = zstd_zeros(8192, true, &slen);
    unsigned char *ubomb = zstd_zeros(8192, false, &ulen);
    cr_log_info("bombs of 1 GiB: zlib %zu bytes, zstd %zu and %zu", zlen,
                slen, ulen);

    /* Refused with the process unable to hold even 64 MiB more. */
    limit_address_space(64u << 20);
    char *o;
    size_t olen;
    double t0 = now();
    cr_assert_eq(decompress_bounded(COMPRESS_ZLIB, zbomb, zlen, 1u << 20, &o,
                                    &olen),
                 MCRING_ETOOLARGE);
    double zlib_s = now() - t0;
    t0 = now();
    cr_assert_eq(decompress_bounded(COMPRESS_ZSTD, sbomb, slen, 1u << 20, &o,
                                    &olen),
                 MCRING_ETOOLARGE, "the frame declares 1 GiB");
    double declared_s = now() - t0;
    t0 = now();
    cr_assert_eq(decompress_bounded(COMPRESS_ZSTD, ubomb, ulen, 1u << 20, &o,
                                    &olen),
                 MCRING_ETOOLARGE, "the frame declares nothing");
    double undeclared_s = now() - t0;
    unlimit_address_space();
    /* Stopped at the bound, not after a gigabyte. */
    cr_assert_lt(zlib_s, 0.5, "%.3f s", zlib_s);
    cr_assert_lt(declared_s, 0.05, "%.3f s", declared_s);
    cr_assert_lt(undeclared_s, 0.5, "%.3f s", undeclared_s);
    free(zbomb);
    free(sbomb);
    free(ubomb);
}

Test(compress, a_stream_that_hides_its_size_is_stopped_at_the_bound)
{
    size_t n = 32u << 20;
    char *t = text_of(n);
    size_t len;
    unsigned char *s = zstd_unsized(t, n, 20, &len);
    cr_assert_eq(ZSTD_getFrameContentSize(s, len), ZSTD_CONTENTSIZE_UNKNOWN);
    char *o;
    size_t olen;
    /* 32 MiB out of a 4 MiB bound: refused with 16 MiB to spare (the
     * growing buffer, zstd's 1 MiB window, and realloc's copies). */
    limit_address_space(16u << 20);
    int rc = decompress_bounded(COMPRESS_ZSTD, s, len, 4u << 20, &o, &olen);
    cr_assert_eq(rc, MCRING_ETOOLARGE, "%s", mcring_strerror(rc));
    unlimit_address_space();
    /* Exactly at the bound is fine. */
    cr_assert_eq(decompress_bounded(COMPRESS_ZSTD, s, len, n, &o, &olen), 0);
    cr_assert_eq(olen, n);
    cr_assert(memcmp(o, t, n) == 0);
    free(o);
    free(s);
    free(t);
}

Test(compress, a_frame_that_lies_about_its_size_is_stopped_too)
{
    /* A first frame declaring 10 bytes (true), then one of 8 MiB that
     * declares nothing: the first header is all a quick look sees. */
    size_t n = 8u << 20;
    char *t = text_of(n);
    size_t l1, l2;
    unsigned char *f1 = zstd_of(t, 10, &l1);
    unsigned char *f2 = zstd_unsized(t, n, 20, &l2);
    unsigned char *both = malloc(l1 + l2);
    memcpy(both, f1, l1);
    memcpy(both + l1, f2, l2);
    cr_assert_eq(ZSTD_getFrameContentSize(both, l1 + l2), 10);
    char *o;
    size_t olen;
    cr_assert_eq(decompress_bounded(COMPRESS_ZSTD, both, l1 + l2, 1u << 20,
                                    &o, &olen),
                 MCRING_ETOOLARGE);
    cr_assert_eq(decompress_bounded(COMPRESS_ZSTD, both, l1 + l2, n + 10, &o,
                                    &olen),
                 0, "both frames, in order");
    cr_assert_eq(olen, n + 10);
    cr_assert(memcmp(o, t, 10) == 0 && memcmp(o + 10, t, n) == 0);
    free(o);
    free(both);
    free(f1);
    free(f2);
    free(t);
}

Test(compress, a_window_larger_than_the_bound_is_refused)
{
    /* Written with a 128 MiB window: reading it could need that much,
     * which a 1 MiB bound does not allow. */
    char *t = text_of(4096);
    size_t len;
    unsigned char *s = zstd_unsized(t, 4096, 27, &len);
    char *o;
    size_t olen;
    cr_assert_eq(decompress_bounded(COMPRESS_ZSTD, s, len, 1u << 20, &o,
                                    &olen),
                 MCRING_ETOOLARGE);
    free(s);
    free(t);
}

Test(compress, the_bound_is_exact)
{
    for (int a = COMPRESS_ZLIB; a <= COMPRESS_ZSTD; a++) {
        char *t = text_of(100000);
        size_t len;
        unsigned char *s = a == COMPRESS_ZLIB ? zlib_of(t, 100000, &len)
                                              : zstd_of(t, 100000, &len);
        char *o;
        size_t olen;
        cr_assert_eq(decompress_bounded((compress_algo)a, s, len, 99999, &o,
                                        &olen),
                     MCRING_ETOOLARGE, "%d", a);
        cr_assert_eq(decompress_bounded((compress_algo)a, s, len, 100000, &o,
                                        &olen),
                     0, "%d", a);
        cr_assert_eq(olen, 100000);
        free(o);
        free(s);
        free(t);
    }
}

Test(compress, broken_streams_are_not_values)
{
    char *t = text_of(50000);
    for (int a = COMPRESS_ZLIB; a <= COMPRESS_ZSTD; a++) {
        size_t len;
        unsigned char *s = a == COMPRESS_ZLIB ? zlib_of(t, 50000, &len)
                                              : zstd_of(t, 50000, &len);
        char *o;
        size_t olen;
        compress_algo al = (compress_algo)a;
        /* Truncated anywhere. */
        for (size_t cut = 0; cut < len; cut += len / 17 + 1)
            cr_assert_eq(decompress_bounded(al, s, cut, 1u << 20, &o, &olen),
                         MCRING_EDECODE, "algo %d cut at %zu", a, cut);
        /* Bytes after the stream. */
        unsigned char *more = malloc(len + 3);
        memcpy(more, s, len);
        memcpy(more + len, "xyz", 3);
        cr_assert_eq(decompress_bounded(al, more, len + 3, 1u << 20, &o,
                                        &olen),
                     MCRING_EDECODE, "algo %d trailing bytes", a);
        /* A flipped byte in the middle (zlib's Adler-32 catches what the
         * deflate stream does not; zstd frames carry no checksum by
         * default, so it may decode to other bytes: no crash either way). */
        memcpy(more, s, len);
        more[len / 2] ^= 0x55;
        int rc = decompress_bounded(al, more, len, 1u << 20, &o, &olen);
        if (rc == 0)
            free(o);
        else
            cr_assert(rc == MCRING_EDECODE || rc == MCRING_ETOOLARGE);
        if (a == COMPRESS_ZLIB)
            cr_assert_eq(rc, MCRING_EDECODE);
        free(more);
        free(s);
    }
    free(t);
    /* The other algorithm's stream. */
    char *o;
    size_t olen;
    size_t len;
    unsigned char *z = zlib_of("hello", 5, &len);
    cr_assert_eq(decompress_bounded(COMPRESS_ZSTD, z, len, 100, &o, &olen),
                 MCRING_EDECODE);
    free(z);
    cr_assert_eq(decompress_bounded(COMPRESS_ZLIB, "", 0, 100, &o, &olen),
                 MCRING_EDECODE);
    cr_assert_eq(decompress_bounded(COMPRESS_ZSTD, "", 0, 100, &o, &olen),
                 MCRING_EDECODE);
}

Test(compress, mcring_zlib_is_pythons_zlib_compress)
{
    /* zlib level 6 (Z_DEFAULT_COMPRESSION), as Python's zlib.compress():
     * the same bytes as compress2 at that level, which is what Python
     * calls. The interop suite compares with Python itself. */
    char *t = text_of(5000);
    compress_config c = cfg_of(COMPRESS_ZLIB, 0, 1u << 20);
    packed_value p;
    cr_assert_eq(compress_pack(&stats, &c, t, 5000, 0, &p), 0);
    uLongf cap = compressBound(5000);
    unsigned char *d = malloc(cap);
    cr_assert_eq(compress2(d, &cap, (unsigned char *)t, 5000,
                           Z_DEFAULT_COMPRESSION),
                 Z_OK);
    cr_assert_eq(p.len, cap);
    cr_assert(memcmp(p.data, d, cap) == 0);
    packed_release(&p);
    free(d);
    free(t);
}

Test(compress, names)
{
    cr_assert_eq(compress_algo_parse("zstd", 4), COMPRESS_ZSTD);
    cr_assert_eq(compress_algo_parse("zlib", 4), COMPRESS_ZLIB);
    cr_assert_eq(compress_algo_parse("none", 4), COMPRESS_NONE);
    cr_assert_eq(compress_algo_parse("gzip", 4), -1);
    cr_assert_eq(compress_algo_parse("zstdx", 5), -1);
    cr_assert_str_eq(compress_algo_name(COMPRESS_ZSTD), "zstd");
    cr_assert_null(compress_algo_name((compress_algo)7));
}

Test(compress, a_failed_stream_leaves_nothing_for_the_next)
{
    /* Each thread reuses its contexts: what a broken stream left unread
     * must not reach the next one. */
    char *t = text_of(20000);
    for (int a = COMPRESS_ZLIB; a <= COMPRESS_ZSTD; a++) {
        size_t len;
        unsigned char *s = a == COMPRESS_ZLIB ? zlib_of(t, 20000, &len)
                                              : zstd_of(t, 20000, &len);
        char *o;
        size_t olen;
        compress_algo al = (compress_algo)a;
        cr_assert_eq(decompress_bounded(al, "garbage!", 8, 100, &o, &olen),
                     MCRING_EDECODE);
        cr_assert_eq(decompress_bounded(al, s, len / 2, 1u << 20, &o, &olen),
                     MCRING_EDECODE);
        cr_assert_eq(decompress_bounded(al, s, len, 1000, &o, &olen),
                     MCRING_ETOOLARGE);
        cr_assert_eq(decompress_bounded(al, s, len, 1u << 20, &o, &olen), 0,
                     "algo %d", a);
        cr_assert_eq(olen, 20000);
        cr_assert(memcmp(o, t, olen) == 0);
        free(o);
        free(s);
    }
    free(t);
}
