#include <pthread.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "compress.h"

/* zstd's level 3 (its default) and zlib's 6 (Z_DEFAULT_COMPRESSION, what
 * Python's zlib.compress and so pymemcache use): mcring's zlib output is
 * byte for byte what pymemcache would store. */
#define ZSTD_LEVEL 3
#define ZLIB_LEVEL Z_DEFAULT_COMPRESSION

/* The window a zstd frame may make the decoder allocate: as large as the
 * bound, and at least 2^23 (8 MiB, what zstd's levels up to 19 write
 * when they do not know the size beforehand: a stream written by the
 * zstd tool or a streaming writer), at most 2^27 (zstd's own default
 * limit). A frame asking for more is refused as too large. */
#define ZSTD_WINDOW_LOG_MAX 27
#define ZSTD_WINDOW_LOG_FLOOR 23

static const char *const algo_names[COMPRESS_ALGOS] = {
    [COMPRESS_NONE] = "none",
    [COMPRESS_ZLIB] = "zlib",
    [COMPRESS_ZSTD] = "zstd",
};

const char *compress_algo_name(compress_algo a)
{
    return (unsigned)a < COMPRESS_ALGOS ? algo_names[a] : NULL;
}

int compress_algo_parse(const char *name, size_t len)
{
    for (int a = 0; a < COMPRESS_ALGOS; a++)
        if (strlen(algo_names[a]) == len &&
            strncmp(name, algo_names[a], len) == 0)
            return a;
    return -1;
}

static void count(atomic_uint_fast64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* ---- each thread's contexts --------------------------------------------- */

/* Contexts are kept per thread and reused: a zlib deflate state is about
 * 256 KiB and a zstd context grows to what its inputs need, too much to
 * set up per value. They go when the thread exits. */
typedef struct contexts {
    ZSTD_CCtx *zc;
    ZSTD_DCtx *zd;
    z_stream deflate, inflate;
    bool deflate_ready, inflate_ready;
} contexts;

static pthread_key_t ctx_key;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;

static void contexts_free(void *p)
{
    contexts *c = p;
    ZSTD_freeCCtx(c->zc);
    ZSTD_freeDCtx(c->zd);
    if (c->deflate_ready)
        deflateEnd(&c->deflate);
    if (c->inflate_ready)
        inflateEnd(&c->inflate);
    free(c);
}

static void ctx_key_init(void)
{
    pthread_key_create(&ctx_key, contexts_free);
}

static contexts *thread_contexts(void)
{
    pthread_once(&ctx_once, ctx_key_init);
    contexts *c = pthread_getspecific(ctx_key);
    if (c == NULL) {
        c = calloc(1, sizeof(*c));
        if (c == NULL || pthread_setspecific(ctx_key, c) != 0) {
            free(c);
            return NULL;
        }
    }
    return c;
}

/* ---- compressing ---------------------------------------------------------*/

/* Compresses src into a new buffer: *out, *out_len. 0 or MCRING_ENOMEM. */
static int compress_zstd(contexts *c, const void *src, size_t len,
                         void **out, size_t *out_len)
{
    if (c->zc == NULL && (c->zc = ZSTD_createCCtx()) == NULL)
        return MCRING_ENOMEM;
    size_t cap = ZSTD_compressBound(len);
    void *dst = malloc(cap);
    if (dst == NULL)
        return MCRING_ENOMEM;
    size_t n = ZSTD_compressCCtx(c->zc, dst, cap, src, len, ZSTD_LEVEL);
    if (ZSTD_isError(n)) {
        /* Only memory can fail with a buffer of the bound's size. */
        free(dst);
        return MCRING_ENOMEM;
    }
    *out = dst;
    *out_len = n;
    return 0;
}

static int compress_zlib(contexts *c, const void *src, size_t len,
                         void **out, size_t *out_len)
{
    z_stream *z = &c->deflate;
    if (!c->deflate_ready) {
        memset(z, 0, sizeof(*z));
        if (deflateInit(z, ZLIB_LEVEL) != Z_OK)
            return MCRING_ENOMEM;
        c->deflate_ready = true;
    } else if (deflateReset(z) != Z_OK) {
        return MCRING_ENOMEM;
    }
    z->next_in = NULL;
    z->avail_in = 0;
    size_t cap = deflateBound(z, (uLong)len);
    void *dst = malloc(cap);
    if (dst == NULL)
        return MCRING_ENOMEM;
    /* zlib counts in uInt: feed and drain in pieces it can count. */
    const unsigned char *in = src;
    size_t in_left = len;
    z->next_out = dst;
    z->avail_out = 0;
    size_t out_left = cap;
    int zr;
    do {
        if (z->avail_in == 0) {
            uInt n = in_left > UINT32_MAX ? UINT32_MAX : (uInt)in_left;
            z->next_in = (unsigned char *)in;
            z->avail_in = n;
            in += n;
            in_left -= n;
        }
        if (z->avail_out == 0) {
            uInt n = out_left > UINT32_MAX ? UINT32_MAX : (uInt)out_left;
            z->avail_out = n;
            out_left -= n;
        }
        zr = deflate(z, in_left == 0 ? Z_FINISH : Z_NO_FLUSH);
    } while (zr == Z_OK || (zr == Z_BUF_ERROR && z->avail_out == 0 &&
                            out_left > 0));
    if (zr != Z_STREAM_END) {
        free(dst);
        return MCRING_ENOMEM;
    }
    *out = dst;
    *out_len = (size_t)((unsigned char *)z->next_out - (unsigned char *)dst);
    return 0;
}

int compress_pack(compress_stats *cs, const compress_config *cfg,
                  const void *value, size_t len, uint32_t flags,
                  packed_value *out)
{
    *out = (packed_value){value, len, flags, NULL};
    compress_algo algo = cfg->algo;
    if (algo == COMPRESS_NONE || cfg->min_len < 0 ||
        len <= (uint64_t)cfg->min_len || (flags & COMPRESS_FLAGS))
        return 0;
    contexts *c = thread_contexts();
    if (c == NULL)
        return MCRING_ENOMEM;
    void *dst;
    size_t n;
    int rc = algo == COMPRESS_ZSTD ? compress_zstd(c, value, len, &dst, &n)
                                   : compress_zlib(c, value, len, &dst, &n);
    if (rc != 0)
        return rc;
    if (n >= len) {
        /* Incompressible (already compressed, random): as it is. */
        free(dst);
        count(&cs->not_smaller[algo], 1);
        return 0;
    }
    count(&cs->compressed[algo], 1);
    count(&cs->bytes_in[algo], len);
    count(&cs->bytes_out[algo], n);
    out->data = dst;
    out->len = n;
    out->flags = flags |
                 (algo == COMPRESS_ZSTD ? MCRING_FLAG_ZSTD : MCRING_FLAG_ZLIB);
    out->owned = dst;
    return 0;
}

/* ---- decompressing, bounded ----------------------------------------------*/

/*
 * The output buffer of a bounded decompression: grows (doubling) as output
 * comes, never past max + 1 bytes (the output and its NUL).
 */
typedef struct outbuf {
    char *data;
    size_t len, cap, max;
} outbuf;

/* Room for more output: false when it is at max already (or no memory,
 * *nomem set). */
static bool outbuf_grow(outbuf *o, bool *nomem)
{
    if (o->cap - 1 >= o->max)
        return false;
    size_t want = o->cap * 2;
    if (want < 4096)
        want = 4096;
    if (want - 1 > o->max)
        want = o->max + 1;
    char *d = realloc(o->data, want);
    if (d == NULL) {
        *nomem = true;
        return false;
    }
    o->data = d;
    o->cap = want;
    return true;
}

/* A first size for the output: what a zstd frame declares (trusted only
 * up to the bound), else a guess from the input, capped by the bound. */
static int outbuf_init(outbuf *o, size_t guess, size_t max)
{
    o->max = max;
    o->len = 0;
    o->cap = (guess < max ? guess : max) + 1;
    o->data = malloc(o->cap);
    return o->data != NULL ? 0 : MCRING_ENOMEM;
}

static int decompress_zstd(contexts *c, const void *src, size_t len,
                           size_t max, outbuf *o)
{
    unsigned long long declared = ZSTD_getFrameContentSize(src, len);
    if (declared == ZSTD_CONTENTSIZE_ERROR)
        return MCRING_EDECODE;
    /* A frame that says it is too large is refused before anything is
     * allocated. */
    if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared > max)
        return MCRING_ETOOLARGE;
    if (c->zd == NULL && (c->zd = ZSTD_createDCtx()) == NULL)
        return MCRING_ENOMEM;
    ZSTD_DCtx_reset(c->zd, ZSTD_reset_session_and_parameters);
    int wlog = ZSTD_WINDOW_LOG_FLOOR;
    while (wlog < ZSTD_WINDOW_LOG_MAX && ((size_t)1 << wlog) < max)
        wlog++;
    ZSTD_DCtx_setParameter(c->zd, ZSTD_d_windowLogMax, wlog);

    size_t guess = declared != ZSTD_CONTENTSIZE_UNKNOWN ? (size_t)declared
                                                        : len * 4;
    if (outbuf_init(o, guess, max) != 0)
        return MCRING_ENOMEM;
    ZSTD_inBuffer in = {src, len, 0};
    size_t ret = 1;
    for (;;) {
        ZSTD_outBuffer out = {o->data, o->cap - 1, o->len};
        ret = ZSTD_decompressStream(c->zd, &out, &in);
        o->len = out.pos;
        if (ZSTD_isError(ret))
            return ZSTD_getErrorCode(ret) ==
                           ZSTD_error_frameParameter_windowTooLarge
                       ? MCRING_ETOOLARGE
                       : MCRING_EDECODE;
        if (in.pos == in.size && ret == 0)
            return 0; /* every frame ended, all flushed */
        if (o->len < o->cap - 1) {
            if (in.pos == in.size)
                return MCRING_EDECODE; /* truncated */
            continue;
        }
        bool nomem = false;
        if (outbuf_grow(o, &nomem))
            continue;
        if (nomem)
            return MCRING_ENOMEM;
        /* Full at the bound: one byte more would be too many. */
        char probe;
        ZSTD_outBuffer one = {&probe, 1, 0};
        ret = ZSTD_decompressStream(c->zd, &one, &in);
        if (ZSTD_isError(ret))
            return MCRING_EDECODE;
        if (one.pos > 0)
            return MCRING_ETOOLARGE;
        if (in.pos == in.size && ret == 0)
            return 0;
        if (in.pos == in.size)
            return MCRING_EDECODE;
        /* More input, no output yet (a frame's header): go on probing. */
        while (one.pos == 0 && in.pos < in.size) {
            ret = ZSTD_decompressStream(c->zd, &one, &in);
            if (ZSTD_isError(ret))
                return MCRING_EDECODE;
        }
        if (one.pos > 0)
            return MCRING_ETOOLARGE;
        return ret == 0 ? 0 : MCRING_EDECODE;
    }
}

static int decompress_zlib(contexts *c, const void *src, size_t len,
                           size_t max, outbuf *o)
{
    z_stream *z = &c->inflate;
    if (!c->inflate_ready) {
        memset(z, 0, sizeof(*z));
        if (inflateInit(z) != Z_OK)
            return MCRING_ENOMEM;
        c->inflate_ready = true;
    } else if (inflateReset(z) != Z_OK) {
        return MCRING_ENOMEM;
    }
    /* What a failed stream left unread is not this one's. */
    z->next_in = NULL;
    z->avail_in = 0;
    /* zlib says nothing of the size: a guess, and growth as output
     * comes. */
    if (outbuf_init(o, len * 4, max) != 0)
        return MCRING_ENOMEM;
    const unsigned char *in = src;
    size_t in_left = len;
    char probe;
    bool probing = false;
    for (;;) {
        if (z->avail_in == 0 && in_left > 0) {
            uInt n = in_left > UINT32_MAX ? UINT32_MAX : (uInt)in_left;
            z->next_in = (unsigned char *)in;
            z->avail_in = n;
            in += n;
            in_left -= n;
        }
        if (probing) {
            z->next_out = (unsigned char *)&probe;
            z->avail_out = 1;
        } else {
            size_t room = o->cap - 1 - o->len;
            z->next_out = (unsigned char *)o->data + o->len;
            z->avail_out = room > UINT32_MAX ? UINT32_MAX : (uInt)room;
        }
        uInt before = z->avail_out;
        int zr = inflate(z, Z_NO_FLUSH);
        size_t made = before - z->avail_out;
        if (probing && made > 0)
            return MCRING_ETOOLARGE;
        o->len += probing ? 0 : made;
        if (zr == Z_STREAM_END)
            /* Nothing may follow the stream. */
            return z->avail_in == 0 && in_left == 0 ? 0 : MCRING_EDECODE;
        if (zr == Z_MEM_ERROR)
            return MCRING_ENOMEM;
        if (zr != Z_OK && zr != Z_BUF_ERROR)
            return MCRING_EDECODE; /* Z_DATA_ERROR, Z_NEED_DICT */
        if (z->avail_out > 0) {
            /* Output room left, so inflate wanted input: there is none. */
            if (z->avail_in == 0 && in_left == 0)
                return MCRING_EDECODE;
            continue;
        }
        if (probing)
            continue;
        bool nomem = false;
        if (outbuf_grow(o, &nomem))
            continue;
        if (nomem)
            return MCRING_ENOMEM;
        /* Full at the bound: from here on, any byte more is too many. */
        probing = true;
    }
}

int decompress_bounded(compress_algo algo, const void *src, size_t len,
                       size_t max, char **out, size_t *out_len)
{
    if (algo != COMPRESS_ZLIB && algo != COMPRESS_ZSTD)
        return MCRING_EINVAL;
    contexts *c = thread_contexts();
    if (c == NULL)
        return MCRING_ENOMEM;
    outbuf o = {NULL, 0, 0, max};
    int rc = algo == COMPRESS_ZSTD ? decompress_zstd(c, src, len, max, &o)
                                   : decompress_zlib(c, src, len, max, &o);
    if (rc != 0) {
        free(o.data);
        return rc;
    }
    o.data[o.len] = '\0';
    *out = o.data;
    *out_len = o.len;
    return 0;
}

int compress_unpack_slow(compress_stats *cs, size_t limit, mcring_item *item,
                         int status)
{
    uint32_t bits = item->flags & COMPRESS_FLAGS;
    if (bits == COMPRESS_FLAGS)
        return MCRING_UNDECODABLE; /* both: neither can be right */
    compress_algo algo =
        bits == MCRING_FLAG_ZSTD ? COMPRESS_ZSTD : COMPRESS_ZLIB;
    char *data;
    size_t len;
    int rc = decompress_bounded(algo, item->data, item->len, limit, &data,
                                &len);
    if (rc == MCRING_ETOOLARGE) {
        count(&cs->too_large[algo], 1);
        item->len = 0;
        return MCRING_ETOOLARGE;
    }
    if (rc == MCRING_EDECODE) {
        count(&cs->corrupt[algo], 1);
        return MCRING_UNDECODABLE;
    }
    if (rc != 0)
        return rc;
    count(&cs->decompressed[algo], 1);
    free(item->data);
    item->data = data;
    item->len = len;
    item->cap = len + 1;
    item->flags &= ~bits;
    return status;
}

int compress_unpack_many(compress_stats *cs, const compress_config *cfg,
                         mcring_item *items, int *status, size_t n)
{
    int first = 0;
    for (size_t k = 0; k < n; k++) {
        status[k] = compress_unpack(cs, cfg, &items[k], status[k]);
        if (status[k] < 0 && first == 0)
            first = status[k];
    }
    return first;
}

int compress_pack_kvs(compress_stats *cs, const compress_config *cfg,
                      const mcring_kv *kvs, size_t n, const mcring_kv **out)
{
    *out = kvs;
    if (cfg->algo == COMPRESS_NONE || cfg->min_len < 0)
        return 0;
    mcring_kv *packed = NULL;
    for (size_t k = 0; k < n; k++) {
        packed_value p;
        int rc = compress_pack(cs, cfg, kvs[k].value ? kvs[k].value : "",
                               kvs[k].value_len, kvs[k].flags, &p);
        if (rc != 0) {
            if (packed != NULL)
                compress_release_kvs(kvs, packed, k);
            *out = kvs;
            return rc;
        }
        if (p.owned == NULL && packed == NULL)
            continue;
        if (packed == NULL) {
            /* The first value compressed: the others so far as they are. */
            packed = malloc(n * sizeof(*packed));
            if (packed == NULL) {
                packed_release(&p);
                return MCRING_ENOMEM;
            }
            memcpy(packed, kvs, k * sizeof(*packed));
        }
        packed[k] = kvs[k];
        if (p.owned != NULL) {
            packed[k].value = p.data;
            packed[k].value_len = p.len;
            packed[k].flags = p.flags;
        }
    }
    if (packed != NULL)
        *out = packed;
    return 0;
}

void compress_release_kvs(const mcring_kv *kvs, const mcring_kv *packed,
                          size_t n)
{
    if (packed == kvs)
        return;
    for (size_t k = 0; k < n; k++)
        if (packed[k].value != kvs[k].value)
            free((void *)packed[k].value);
    free((void *)packed);
}
