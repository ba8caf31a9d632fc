/*
 * The placement dispatcher (ring.h): mode names, the checks of a ring
 * configuration, building the mode it names, reference counting and the
 * public mcring_ring_* calls. The modes live in ring_*.c, their shared
 * helpers in ring_common.c.
 */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "ring.h"

static const char *const mode_names[] = {
    [RING_SWIFT] = "swift",
    [RING_CONSISTENT] = "consistent",
    [RING_LIBMEMCACHED_KETAMA] = "libmemcached-ketama",
    [RING_LIBMEMCACHED_WEIGHTED] = "libmemcached-ketama-weighted",
    [RING_TWEMPROXY] = "twemproxy",
    [RING_PYMEMCACHE] = "pymemcache",
};

const char *ring_mode_name(ring_mode mode)
{
    if ((size_t)mode < sizeof(mode_names) / sizeof(mode_names[0]))
        return mode_names[mode];
    return "unknown";
}

int ring_mode_parse(const char *name)
{
    for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
        if (mode_names[i] != NULL && strcmp(name, mode_names[i]) == 0)
            return (int)i;
    return -1;
}

const char *ring_mode_names(void)
{
    return "swift, consistent, libmemcached-ketama, "
           "libmemcached-ketama-weighted, twemproxy, pymemcache";
}

/* The key hashes each peer offers. libmemcached 1.1.4 as Debian builds it
 * has no hsieh (libhashkit_has_algorithm says so and the hash returns 1 for
 * every key), and neither libmemcached nor twemproxy offers the other's
 * CRC-16 or plain CRC-32. */
static bool libmemcached_has(int fn)
{
    return fn != HASH_CRC16 && fn != HASH_CRC32A && fn != HASH_HSIEH;
}

static bool twemproxy_has(int fn)
{
    return fn != HASH_MURMUR3;
}

/* Resolves the hashes a mode uses and refuses settings it cannot honour.
 * 0 or MCRING_ECONFIG with the reason in err. */
static int check_config(ring_config *c, const server_list *servers,
                        char *err, size_t errlen)
{
    const char *mode = ring_mode_name(c->mode);
    bool weights = c->mode == RING_CONSISTENT ||
                   c->mode == RING_LIBMEMCACHED_WEIGHTED ||
                   c->mode == RING_TWEMPROXY;
    bool key_hash = c->mode == RING_LIBMEMCACHED_KETAMA ||
                    c->mode == RING_LIBMEMCACHED_WEIGHTED ||
                    c->mode == RING_TWEMPROXY;
    if (servers->has_labels && c->mode != RING_TWEMPROXY)
        return err_set(err, errlen, MCRING_ECONFIG,
                       "server names (host:port:weight name) are "
                       "twemproxy's; the %s ring places by address",
                       mode);
    if (servers->has_weights && !weights)
        return err_set(err, errlen, MCRING_ECONFIG,
                       "server weights (host:port:weight) need a ring mode "
                       "that uses them (consistent, "
                       "libmemcached-ketama-weighted, twemproxy); the %s "
                       "ring has none",
                       mode);
    if (c->key_hash != RING_HASH_DEFAULT && !key_hash)
        return err_set(err, errlen, MCRING_ECONFIG,
                       "ring_hash applies to libmemcached-ketama, "
                       "libmemcached-ketama-weighted and twemproxy; the %s "
                       "ring's hash is fixed",
                       mode);
    if (c->point_hash != RING_HASH_DEFAULT &&
        c->mode != RING_LIBMEMCACHED_KETAMA)
        return err_set(err, errlen, MCRING_ECONFIG,
                       "ring_point_hash applies to libmemcached-ketama only; "
                       "the %s ring's points are fixed",
                       mode);

    switch (c->mode) {
    case RING_LIBMEMCACHED_KETAMA:
        if (c->key_hash == RING_HASH_DEFAULT)
            c->key_hash = HASH_ONE_AT_A_TIME;
        if (c->point_hash == RING_HASH_DEFAULT)
            c->point_hash = c->key_hash;
        break;
    case RING_LIBMEMCACHED_WEIGHTED:
        if (c->key_hash == RING_HASH_DEFAULT)
            c->key_hash = HASH_MD5;
        c->point_hash = HASH_MD5;
        break;
    case RING_TWEMPROXY:
        if (c->key_hash == RING_HASH_DEFAULT)
            c->key_hash = HASH_FNV1A_64;
        c->point_hash = HASH_MD5;
        break;
    default:
        /* md5 for Swift's and the consistent ring, murmur3 (seed 0) for
         * pymemcache's scores: recorded for display only. */
        c->key_hash = c->point_hash =
            c->mode == RING_PYMEMCACHE ? HASH_MURMUR3 : HASH_MD5;
        return 0;
    }
    if (c->mode == RING_TWEMPROXY) {
        if (!twemproxy_has(c->key_hash))
            return err_set(err, errlen, MCRING_ECONFIG,
                           "twemproxy has no hash '%s'",
                           hash_fn_name((hash_fn)c->key_hash));
        return 0;
    }
    int fns[2] = {c->key_hash, c->point_hash};
    for (int i = 0; i < 2; i++)
        if (!libmemcached_has(fns[i]))
            return err_set(err, errlen, MCRING_ECONFIG,
                           "libmemcached has no hash '%s'%s",
                           hash_fn_name((hash_fn)fns[i]),
                           fns[i] == HASH_HSIEH
                               ? " (hsieh is not built into Debian's "
                                 "libmemcached 1.1.4)"
                               : "");
    return 0;
}

int ring_build(ring_config config, const server_list *servers, size_t tries,
               mcring_ring **out, char *err, size_t errlen)
{
    int rc;
    if (servers->count == 0)
        return err_set(err, errlen, MCRING_ENOSERVERS, "no servers");
    rc = check_config(&config, servers, err, errlen);
    if (rc != 0)
        return rc;
    switch (config.mode) {
    case RING_SWIFT:
        rc = ring_swift_build(servers, tries, out);
        break;
    case RING_CONSISTENT:
        rc = ring_consistent_build(servers, tries, out);
        break;
    case RING_LIBMEMCACHED_KETAMA:
    case RING_LIBMEMCACHED_WEIGHTED:
    case RING_TWEMPROXY:
        rc = ring_ketama_build(&config, servers, tries, out, err, errlen);
        if (rc == MCRING_ECONFIG)
            return rc; /* err already says why */
        break;
    case RING_PYMEMCACHE:
        rc = ring_rendezvous_build(&config, servers, tries, out);
        break;
    default:
        return err_set(err, errlen, MCRING_ECONFIG, "unknown ring mode");
    }
    if (rc != 0)
        return err_set(err, errlen, rc, "building the ring: %s",
                       mcring_strerror(rc));
    (*out)->config = config;
    return 0;
}

mcring_ring *ring_ref(mcring_ring *ring)
{
    atomic_fetch_add_explicit(&ring->refs, 1, memory_order_relaxed);
    return ring;
}

void ring_unref(mcring_ring *ring)
{
    if (ring == NULL)
        return;
    if (atomic_fetch_sub_explicit(&ring->refs, 1, memory_order_acq_rel) == 1)
        ring->ops->destroy(ring);
}

/* ---- the public face of a ring ------------------------------------------ */

void mcring_ring_free(mcring_ring *ring)
{
    ring_unref(ring);
}

size_t mcring_ring_size(const mcring_ring *ring)
{
    return ring->nservers;
}

const char *mcring_ring_server(const mcring_ring *ring, size_t i)
{
    return i < ring->nservers ? ring->names[i] : NULL;
}

size_t mcring_ring_tries(const mcring_ring *ring)
{
    return ring->tries;
}

const char *mcring_ring_mode_name(const mcring_ring *ring)
{
    return ring_mode_name(ring->mode);
}

const char *mcring_ring_hash_name(const mcring_ring *ring)
{
    return hash_fn_name((hash_fn)ring->config.key_hash);
}

const char *mcring_ring_point_hash_name(const mcring_ring *ring)
{
    return hash_fn_name((hash_fn)ring->config.point_hash);
}

size_t mcring_ring_locate(const mcring_ring *ring, const void *key,
                          size_t key_len, size_t *idx, size_t max)
{
    uint32_t small[64];
    size_t want = max < ring->tries ? max : ring->tries;
    uint32_t *order = small;
    if (want > 64) {
        order = malloc(want * sizeof(*order));
        if (order == NULL)
            return 0;
    }
    keyhash k;
    keyhash_init(&k, key, key_len);
    size_t n = ring_locate(ring, &k, order, want);
    for (size_t i = 0; i < n; i++)
        idx[i] = order[i];
    if (order != small)
        free(order);
    return n;
}
