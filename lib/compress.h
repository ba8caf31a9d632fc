/*
 * Compression, a layer under every codec: a value longer than
 * min_compress_len is compressed with zstd or zlib on its way to the
 * server and marked with that algorithm's flag bit (mcring/item.h:
 * MCRING_FLAG_ZLIB, pymemcache's; MCRING_FLAG_ZSTD, mcring's); a value
 * read with either bit is decompressed, whichever algorithm the client
 * writes with, and handed on with the bit cleared — to the caller of
 * mcring_get, or to the codec its remaining flags name. The byte-level
 * calls do it (ops.c, multi.c), so the value-level ones, which go through
 * them, get it too. With the option compression none the layer is off and
 * flags are the caller's, as in 0.1.0. docs/codecs.md has the format and
 * the reasons.
 *
 * Decompression is bounded: by item_size_max, or, when that is 0 (no
 * limit), by MCRING_DECOMPRESSED_MAX_DEFAULT. A zstd frame that declares
 * a larger size is refused before anything is allocated; any stream is
 * decompressed into a buffer that grows with what actually comes out and
 * is refused as soon as the output passes the bound, so a stream that lies
 * about its size (or, like zlib's, says nothing of it) never costs more
 * than the bound.
 */
#ifndef MCRING_COMPRESS_H
#define MCRING_COMPRESS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "mcring.h"

typedef enum compress_algo {
    COMPRESS_NONE = 0,
    COMPRESS_ZLIB = 1,
    COMPRESS_ZSTD = 2,
} compress_algo;
#define COMPRESS_ALGOS 3

/* Every flag bit the layer owns. */
#define COMPRESS_FLAGS (MCRING_FLAG_ZLIB | MCRING_FLAG_ZSTD)

/* A client's settings for the layer, as its state holds them. */
typedef struct compress_config {
    compress_algo algo; /* what values are written with; NONE: the layer
                         * is off both ways, bytes and flags pass as they
                         * are (as in 0.1.0) */
    int64_t min_len;    /* compress values longer than this; -1: none,
                         * while reads still decompress */
    size_t limit;       /* what a value may decompress to */
} compress_config;

/* "none", "zlib", "zstd"; NULL for anything else. */
const char *compress_algo_name(compress_algo a);
/* The algorithm of a name (trimmed by the caller), or -1. */
int compress_algo_parse(const char *name, size_t len);

/* Counters of one client's compression layer (all zero: none yet), per
 * algorithm; relaxed atomic adds, read by the Prometheus exposition. */
typedef struct compress_stats {
    atomic_uint_fast64_t compressed[COMPRESS_ALGOS];   /* values stored
                                                        * compressed */
    atomic_uint_fast64_t bytes_in[COMPRESS_ALGOS];     /* their lengths */
    atomic_uint_fast64_t bytes_out[COMPRESS_ALGOS];    /* compressed */
    atomic_uint_fast64_t not_smaller[COMPRESS_ALGOS];  /* stored as they
                                                        * were: compressing
                                                        * did not shrink
                                                        * them */
    atomic_uint_fast64_t decompressed[COMPRESS_ALGOS]; /* values read */
    atomic_uint_fast64_t too_large[COMPRESS_ALGOS];    /* refused: beyond
                                                        * the bound */
    atomic_uint_fast64_t corrupt[COMPRESS_ALGOS];      /* refused: not a
                                                        * valid stream */
} compress_stats;

/* A value as it goes on the wire: the caller's bytes, or compressed ones
 * in `owned` (freed by packed_release). */
typedef struct packed_value {
    const void *data;
    size_t len;
    uint32_t flags;
    void *owned;
} packed_value;

/*
 * Compresses value with cfg's algorithm when it is longer than cfg's
 * min_len, its flags carry no compression bit already (a caller's value
 * marked so is stored as it is), and the result is smaller; else *out is
 * the value as given. 0 or MCRING_ENOMEM. Thread-safe.
 */
int compress_pack(compress_stats *cs, const compress_config *cfg,
                  const void *value, size_t len, uint32_t flags,
                  packed_value *out);

static inline void packed_release(packed_value *p)
{
    free(p->owned);
    p->owned = NULL;
}

/* The decompression bound for a client's item_size_max (0: none). */
static inline size_t decompress_limit(size_t item_size_max)
{
    return item_size_max != 0 ? item_size_max
                              : (size_t)MCRING_DECOMPRESSED_MAX_DEFAULT;
}

/*
 * Decompresses src[0..len) (algo's format: a zlib stream, or zstd frames)
 * into a new buffer of at most max bytes, NUL-terminated: *out (the
 * caller frees it) and *out_len. Returns 0, MCRING_ETOOLARGE (the output
 * would pass max: refused as soon as it does, or at once when a zstd
 * frame declares it), MCRING_EDECODE (not a valid stream, truncated, or
 * bytes after it) or MCRING_ENOMEM; nothing is left on failure.
 * Thread-safe (one decompression context per thread).
 */
int decompress_bounded(compress_algo algo, const void *src, size_t len,
                       size_t max, char **out, size_t *out_len);

/*
 * A read item whose flags carry a compression bit, with the layer on:
 * decompressed in place, up to cfg's limit (flags without the bit), when
 * status is MCRING_OK or MCRING_UNDECODABLE.
 * Returns the status to report: unchanged; MCRING_ETOOLARGE (item emptied)
 * past the bound; MCRING_UNDECODABLE for bytes that are not a valid
 * stream, or flags with both bits (the item as read); MCRING_ENOMEM.
 */
int compress_unpack_slow(compress_stats *cs, size_t limit, mcring_item *item,
                         int status);

static inline int compress_unpack(compress_stats *cs,
                                  const compress_config *cfg,
                                  mcring_item *item, int status)
{
    if (cfg->algo == COMPRESS_NONE ||
        (status != MCRING_OK && status != MCRING_UNDECODABLE) ||
        (item->flags & COMPRESS_FLAGS) == 0)
        return status;
    return compress_unpack_slow(cs, cfg->limit, item, status);
}

/* compress_unpack for each of n items read by a multi-key get, updating
 * status[]. Returns the first key's failure (status < 0), or 0 when every
 * key got an answer: mcring_get_multi's result. */
int compress_unpack_many(compress_stats *cs, const compress_config *cfg,
                         mcring_item *items, int *status, size_t n);

/* compress_pack for each of kvs[0..n): *out is kvs itself when none was
 * compressed, else a new array (release it with compress_release_kvs).
 * 0 or MCRING_ENOMEM (nothing left). */
int compress_pack_kvs(compress_stats *cs, const compress_config *cfg,
                      const mcring_kv *kvs, size_t n, const mcring_kv **out);
void compress_release_kvs(const mcring_kv *kvs, const mcring_kv *packed,
                          size_t n);

#endif
