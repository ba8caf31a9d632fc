/*
 * What the placement dispatcher (ring.c) and the placement modes
 * (ring_swift.c, ring_consistent.c, ring_ketama.c, ring_rendezvous.c) share:
 * the settings that decide placement, a key as placement sees it, the head
 * every mode's ring object starts with, the helpers that fill it and walk
 * a ring of points (ring_common.c), and each mode's builder. The modes
 * include this header only; nothing here calls into ring.c.
 */
#ifndef MCRING_RING_COMMON_H
#define MCRING_RING_COMMON_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "address.h"
#include "hash.h"
#include "mcring.h"

typedef enum ring_mode {
    RING_SWIFT = 0,
    RING_CONSISTENT = 1,
    /* Compatibility with other clients (docs/placement.md). */
    RING_LIBMEMCACHED_KETAMA = 2,   /* ring_ketama.c */
    RING_LIBMEMCACHED_WEIGHTED = 3, /* ring_ketama.c */
    RING_TWEMPROXY = 4,             /* ring_ketama.c */
    RING_PYMEMCACHE = 5,            /* ring_rendezvous.c */
} ring_mode;

/* "Use the mode's own" for ring_config's hash fields. */
#define RING_HASH_DEFAULT (-1)

/*
 * Everything that decides placement besides the server list. Passed by
 * value: it is small, and the options hold one as their `ring` member.
 */
typedef struct ring_config {
    ring_mode mode;
    int key_hash;      /* a hash_fn, or RING_HASH_DEFAULT */
    int point_hash;    /* libmemcached-ketama: a hash_fn, or
                        * RING_HASH_DEFAULT for the key hash */
    bool signed_bytes; /* peers' char is signed (x86-64) */
    bool key_md5hex;   /* keys go on the wire as the hex MD5 of the
                        * caller's key (key_mode swift): peers see that */
    uint16_t socket_port; /* libmemcached: the port a Unix socket's point
                           * strings carry, 11211 (none shown) or 0 */
} ring_config;

/* A mode with every other setting at its default. */
static inline ring_config ring_config_of(ring_mode mode)
{
    ring_config c = {mode, RING_HASH_DEFAULT, RING_HASH_DEFAULT, true, false,
                     11211};
    return c;
}

/* A key as the placement sees it: its bytes and their MD5. */
typedef struct keyhash {
    const unsigned char *key;
    size_t len;
    unsigned char md5[MD5_LEN];
} keyhash;

static inline void keyhash_init(keyhash *k, const void *key, size_t len)
{
    k->key = key;
    k->len = len;
    hash_md5(key, len, k->md5);
}

struct placement_ops {
    const char *name;
    /* Writes up to n distinct server indexes into out in try order and
     * returns how many. Thread-safe; allocates only when n > 64, or in
     * the pymemcache mode for n > 1 with more than 256 servers (and then
     * works on without the memory if it cannot be had). */
    size_t (*locate)(const mcring_ring *ring, const keyhash *key,
                     uint32_t *out, size_t n);
    void (*destroy)(mcring_ring *ring);
};

/* The common head of every ring mode's object (its first member). */
struct mcring_ring {
    const struct placement_ops *ops;
    atomic_uint refs;
    ring_mode mode;
    size_t nservers; /* distinct servers */
    size_t npoints;  /* points on the ring */
    char **names;    /* their strings as configured, first-seen order */
    unsigned *weights; /* per distinct server (the first weight given) */
    size_t tries;    /* configured tries capped at nservers */
    ring_config config;  /* as built, hashes resolved to the ones used */
};

/* ---- helpers for the modes (ring_common.c) ------------------------------ */

/* Fills the head, de-duplicating names; tries is capped at the distinct
 * servers. 0 or MCRING_ENOMEM (nothing to free then). */
int ring_head_init(mcring_ring *ring, const struct placement_ops *ops,
                   ring_mode mode, const server_list *servers, size_t tries);
void ring_head_destroy(mcring_ring *ring);

/* The distinct server index of each list entry (an array of
 * servers->count), for modes whose points come from every entry,
 * duplicates included. NULL when out of memory; free() it. */
uint32_t *ring_entry_servers(const mcring_ring *ring,
                             const server_list *servers);

/*
 * Sorts n elements of `size` bytes (at most 64) by key(element), elements
 * with equal keys by cmp (which must order by key first, then break
 * ties). A counting pass on the key's top bits spreads the elements over
 * about n/4 buckets, each then sorted by insertion, or by qsort_r when a
 * bucket is large, so skewed keys cost O(n log n), never O(n^2). For hash
 * values this is linear: a 5,000,000-point ring sorts in a fraction of
 * what qsort takes (docs/benchmarks.md). 0 or MCRING_ENOMEM (nothing
 * changed).
 */
int ring_sort(void *base, size_t n, size_t size, uint64_t (*key)(const void *),
              int (*cmp)(const void *, const void *, void *), void *ctx);

/* The MD5 digests of the point strings "<prefix>-<i>" for i in
 * [0, count), hashed in batches (hash_md5_many: eight at a time with
 * AVX2). */
void ring_md5_points(const char *prefix, size_t count,
                     unsigned char (*out)[MD5_LEN]);

/*
 * The try order on a ring of points: walks owner[] clockwise from point
 * `start`, wrapping, keeping each server the first time it shows up, until
 * `want` servers are in out or every point was seen; with fill_unowned,
 * then adds the servers that own no point at all, in index order. Returns
 * how many servers it chose. Allocates only past 64 servers chosen.
 */
size_t ring_walk(const uint32_t *owner, size_t npoints, size_t start,
                 uint32_t *out, size_t want, size_t nservers,
                 bool fill_unowned);

/* ---- the modes, one file each; ring_build() picks one ---------------- */

int ring_swift_build(const server_list *servers, size_t tries,
                     mcring_ring **out);
int ring_consistent_build(const server_list *servers, size_t tries,
                          mcring_ring **out);
/* The continuum modes; config's hashes already resolved and checked. */
int ring_ketama_build(const ring_config *config, const server_list *servers,
                      size_t tries, mcring_ring **out, char *err,
                      size_t errlen);
int ring_rendezvous_build(const ring_config *config,
                          const server_list *servers, size_t tries,
                          mcring_ring **out);

#endif
