/*
 * The ketama continuum as libmemcached and twemproxy build it, bit for bit
 * (docs/placement.md has the rules and what was checked against which
 * peer). Three modes share it and differ only in how a server's points are
 * made and which hash a key gets:
 *
 *  libmemcached-ketama           100 points per list entry, each the point
 *                                hash of "host-i" / "host:port-i"; the key
 *                                hash (one_at_a_time unless configured) of
 *                                the key.
 *  libmemcached-ketama-weighted  points per entry from its share of the
 *                                total weight, in single precision; 4 points
 *                                per MD5 of "host-i"; key hash md5 unless
 *                                configured.
 *  twemproxy                     as weighted, with the server's name when the
 *                                list gives one; key hash fnv1a_64 unless
 *                                configured.
 *
 * Points are sorted by (value, list entry); a key belongs to the first point
 * whose value is >= its hash, wrapping past the last. Every list entry makes
 * points, duplicates included, as the peers do; a duplicate's points lose
 * ties to the first entry's and so never own a key. The try order after the
 * first server (the peers have none) walks on clockwise over distinct
 * servers, then adds any server that owns no point, in list order.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "ring_common.h"
#include "strmap.h"

#if defined(__FAST_MATH__)
#error "ring_ketama.c must not be built with -ffast-math: point counts follow IEEE single precision"
#endif

#define KETAMA_POINTS_UNWEIGHTED 100 /* libmemcached, per entry */
#define KETAMA_POINTS_WEIGHTED 160   /* per entry at an average weight */
#define KETAMA_POINTS_PER_MD5 4
/* twemproxy formats point strings into an 86-byte buffer and hashes the
 * untruncated length: longer strings read past it. Such names are refused. */
#define TWEMPROXY_POINT_MAX 85

typedef struct ketama_ring {
    mcring_ring head;
    uint32_t *points; /* sorted values */
    uint32_t *owner;  /* distinct server index of each point */
    hash_fn key_hash;
    bool signed_bytes;
    bool key_md5hex;
} ketama_ring;

typedef struct kpoint {
    uint32_t value;
    uint32_t entry; /* list entry that made it */
} kpoint;

static int kpoint_cmp(const void *a, const void *b, void *ctx)
{
    (void)ctx;
    const kpoint *x = a, *y = b;
    if (x->value != y->value)
        return x->value < y->value ? -1 : 1;
    return x->entry < y->entry ? -1 : x->entry > y->entry;
}

static uint64_t kpoint_key(const void *p)
{
    return (uint64_t)((const kpoint *)p)->value << 32;
}

/* The key's hash as the peer computes it, on the key as the peer sees it:
 * the caller's bytes in raw key mode, their hex MD5 in swift key mode. */
static uint32_t key_hash(const ketama_ring *r, const keyhash *key)
{
    if (r->key_md5hex) {
        char hex[MD5_HEX_LEN];
        hash_hex(key->md5, hex);
        return hash32(r->key_hash, hex, sizeof(hex), r->signed_bytes);
    }
    if (r->key_hash == HASH_MD5)
        return hash_md5_word(key->md5, 0); /* already computed */
    return hash32(r->key_hash, key->key, key->len, r->signed_bytes);
}

static size_t ketama_locate(const mcring_ring *ring, const keyhash *key,
                            uint32_t *out, size_t n)
{
    const ketama_ring *r = (const ketama_ring *)ring;
    size_t want = n < ring->tries ? n : ring->tries;
    if (want == 0)
        return 0;
    if (ring->nservers == 1) {
        out[0] = 0; /* the peers do not hash at all for one server */
        return 1;
    }
    uint32_t h = key_hash(r, key);

    /* lower bound: the first point >= h. */
    size_t lo = 0, hi = ring->npoints;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->points[mid] < h)
            lo = mid + 1;
        else
            hi = mid;
    }

    /* Servers that own no point (a zero weight) come last. */
    return ring_walk(r->owner, ring->npoints, lo < ring->npoints ? lo : 0, out,
                     want, ring->nservers, true);
}

static void ketama_destroy(mcring_ring *ring)
{
    ketama_ring *r = (ketama_ring *)ring;
    free(r->points);
    free(r->owner);
    ring_head_destroy(ring);
    free(r);
}

static const struct placement_ops ketama_ops = {
    .name = "ketama",
    .locate = ketama_locate,
    .destroy = ketama_destroy,
};

/*
 * Points of one entry in the weighted modes, computed as both peers do:
 * every step in IEEE single precision and rounded to float, the 1e-10
 * added in double and rounded back, then floor and times 4. The volatile
 * temporaries keep the compiler from contracting a multiply and an add
 * into one FMA (which skips a rounding and changes some counts: n equal
 * servers must get 156 points for n = 25, 47, 50, ...).
 */
static uint32_t weighted_points(unsigned weight, uint64_t total_weight,
                                size_t entries)
{
    volatile float pct = (float)weight / (float)total_weight;
    volatile float x = pct * (float)KETAMA_POINTS_WEIGHTED;
    x = x / (float)KETAMA_POINTS_PER_MD5;
    x = x * (float)entries;
    x = (float)((double)x + 0.0000000001);
    volatile float whole = floorf(x);
    return (uint32_t)(whole * (float)KETAMA_POINTS_PER_MD5);
}

/*
 * The text entry e's point strings start with: twemproxy's server name
 * when the entry has one; else the host as configured (never resolved;
 * IPv6 without brackets), followed by ":port" unless the port is 11211. A
 * Unix socket has no port of its own: libmemcached gives it whichever
 * port the application passed (config->socket_port); twemproxy 0.5.0
 * names it by its path and an empty port, "path:".
 */
static int point_prefix(const ring_config *config, const server_list *servers,
                        size_t e, char *buf, size_t cap)
{
    bool twemproxy = config->mode == RING_TWEMPROXY;
    if (twemproxy && servers->labels[e] != NULL)
        return snprintf(buf, cap, "%s", servers->labels[e]);
    address a;
    const char *name = servers->names[e];
    if (address_parse(name, strlen(name), &a, NULL, 0) != 0)
        return -1; /* cannot happen: the list was validated */
    if (a.is_unix && twemproxy)
        return snprintf(buf, cap, "%s:", a.host);
    unsigned port = a.is_unix ? config->socket_port : a.port_num;
    if (port == ADDRESS_DEFAULT_PORT)
        return snprintf(buf, cap, "%s", a.host);
    return snprintf(buf, cap, "%s:%u", a.host, port);
}

static void free_prefixes(char **prefixes, size_t n)
{
    if (prefixes != NULL)
        for (size_t e = 0; e < n; e++)
            free(prefixes[e]);
    free(prefixes);
}

/* Every entry's point prefix, or NULL with *rc set (and err for
 * MCRING_ECONFIG). twemproxy refuses a pool where two servers have the
 * same name (as given, or host[:port] when none is), and so does this. */
static char **point_prefixes(const ring_config *config,
                             const server_list *servers, char *err,
                             size_t errlen, int *rc)
{
    char **prefixes = calloc(servers->count, sizeof(*prefixes));
    if (prefixes == NULL) {
        *rc = MCRING_ENOMEM;
        return NULL;
    }
    char buf[MCRING_NAME_MAX + 8];
    strmap seen = {0}; /* twemproxy's names, for its duplicate check */
    for (size_t e = 0; e < servers->count; e++) {
        int len = point_prefix(config, servers, e, buf, sizeof(buf));
        if (len < 0 || (size_t)len >= sizeof(buf)) {
            *rc = err_set(err, errlen, MCRING_ECONFIG,
                          "server '%s': name too long for point strings",
                          servers->names[e]);
            goto fail;
        }
        prefixes[e] = strdup(buf);
        if (prefixes[e] == NULL) {
            *rc = MCRING_ENOMEM;
            goto fail;
        }
        if (config->mode != RING_TWEMPROXY)
            continue;
        void *first;
        int put = strmap_put(&seen, 0, prefixes[e], (size_t)len,
                             (void *)(uintptr_t)(e + 1), &first);
        if (put < 0) {
            *rc = MCRING_ENOMEM;
            goto fail;
        }
        if (put == 1) {
            *rc = err_set(err, errlen, MCRING_ECONFIG,
                          "servers '%s' and '%s' have the same name "
                          "'%s', which twemproxy refuses",
                          servers->names[(uintptr_t)first - 1],
                          servers->names[e], buf);
            goto fail;
        }
    }
    strmap_free(&seen);
    return prefixes;
fail:
    strmap_free(&seen);
    free_prefixes(prefixes, servers->count);
    return NULL;
}

int ring_ketama_build(const ring_config *config, const server_list *servers,
                      size_t tries, mcring_ring **out, char *err,
                      size_t errlen)
{
    ketama_ring *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return MCRING_ENOMEM;
    int rc = ring_head_init(&r->head, &ketama_ops, config->mode, servers,
                            tries);
    if (rc != 0) {
        free(r);
        return rc;
    }
    r->key_hash = (hash_fn)config->key_hash;
    r->signed_bytes = config->signed_bytes;
    r->key_md5hex = config->key_md5hex;
    bool weighted = config->mode != RING_LIBMEMCACHED_KETAMA;

    size_t entries = servers->count;
    char **prefixes = NULL;
    kpoint *pts = NULL;
    unsigned char (*digests)[MD5_LEN] = NULL;
    size_t digest_cap = 0;
    uint32_t *entry_server = ring_entry_servers(&r->head, servers);
    uint32_t *count = calloc(entries, sizeof(*count));
    if (entry_server == NULL || count == NULL) {
        rc = MCRING_ENOMEM;
        goto fail;
    }
    uint64_t total_weight = 0;
    for (size_t e = 0; e < entries; e++)
        total_weight += servers->weights[e];
    size_t total = 0;
    for (size_t e = 0; e < entries; e++) {
        count[e] = weighted ? weighted_points(servers->weights[e],
                                              total_weight, entries)
                            : KETAMA_POINTS_UNWEIGHTED;
        total += count[e];
    }
    prefixes = point_prefixes(config, servers, err, errlen, &rc);
    if (prefixes == NULL)
        goto fail;
    pts = malloc((total ? total : 1) * sizeof(*pts));
    r->points = malloc((total ? total : 1) * sizeof(*r->points));
    r->owner = malloc((total ? total : 1) * sizeof(*r->owner));
    if (pts == NULL || r->points == NULL || r->owner == NULL) {
        rc = MCRING_ENOMEM;
        goto fail;
    }

    char str[MCRING_NAME_MAX + 32];
    size_t k = 0;
    for (size_t e = 0; e < entries; e++) {
        const char *prefix = prefixes[e];
        uint32_t strings = weighted ? count[e] / KETAMA_POINTS_PER_MD5
                                    : count[e];
        if (config->mode == RING_TWEMPROXY && strings > 0) {
            /* The longest of its point strings: "<prefix>-<strings - 1>". */
            int len = snprintf(str, sizeof(str), "%s-%u", prefix,
                               strings - 1);
            if (len > TWEMPROXY_POINT_MAX) {
                rc = err_set(err, errlen, MCRING_ECONFIG,
                             "server '%s': twemproxy hashes at most %d bytes "
                             "of '%s-N' (a longer name or host overflows its "
                             "buffer)",
                             servers->names[e], TWEMPROXY_POINT_MAX, prefix);
                goto fail;
            }
        }
        if (weighted) {
            /* Four points per digest; digests in batches (AVX2 MD5). */
            if (strings > digest_cap) {
                free(digests);
                digest_cap = strings;
                digests = malloc(digest_cap * MD5_LEN);
                if (digests == NULL) {
                    rc = MCRING_ENOMEM;
                    goto fail;
                }
            }
            ring_md5_points(prefix, strings, digests);
            for (uint32_t i = 0; i < strings; i++)
                for (int w = 0; w < KETAMA_POINTS_PER_MD5; w++) {
                    pts[k].value = hash_md5_word(digests[i], w);
                    pts[k++].entry = (uint32_t)e;
                }
            continue;
        }
        for (uint32_t i = 0; i < strings; i++) {
            int len = snprintf(str, sizeof(str), "%s-%u", prefix, i);
            pts[k].value = hash32((hash_fn)config->point_hash, str,
                                  (size_t)len, config->signed_bytes);
            pts[k++].entry = (uint32_t)e;
        }
    }
    if (ring_sort(pts, total, sizeof(*pts), kpoint_key, kpoint_cmp, NULL) !=
        0) {
        rc = MCRING_ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < total; i++) {
        r->points[i] = pts[i].value;
        r->owner[i] = entry_server[pts[i].entry];
    }
    r->head.npoints = total;
    free(pts);
    free(digests);
    free_prefixes(prefixes, entries);
    free(entry_server);
    free(count);
    *out = &r->head;
    return 0;

fail:
    free(digests);
    free(pts);
    free_prefixes(prefixes, entries);
    free(entry_server);
    free(count);
    ketama_destroy(&r->head);
    return rc;
}
