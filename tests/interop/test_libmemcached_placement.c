/*
 * Placement interop: libmemcached itself (libmemcached-dev, linked into this
 * test) picks the server of tens of thousands of keys over several server
 * lists and distributions, and mcring's libmemcached modes must pick the
 * same one, key by key. No server needs to run: memcached_generate_hash()
 * answers from the continuum libmemcached builds when servers are added.
 */
#include <criterion/criterion.h>

#ifdef MCRING_NO_LIBMEMCACHED

Test(libmemcached_placement, libmemcached_is_installed)
{
    cr_assert_fail("libmemcached-dev was not found when this was built: the "
                   "libmemcached placement comparison did not run (install "
                   "it and reconfigure)");
}

#else

#include <libmemcached/memcached.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "peer_keys.h"
#include "ring.h"

TestSuite(libmemcached_placement, .timeout = 600);

#define NKEYS 20000

static unsigned char keys[NKEYS][PEER_KEY_MAX];
static size_t lens[NKEYS];
static long total_compared;

static void make_keys(void)
{
    uint64_t rng = 7;
    for (int i = 0; i < NKEYS; i++)
        lens[i] = peer_key(&rng, i, false, keys[i]);
}

/* How the application added its servers to libmemcached. */
typedef enum distribution {
    UNWEIGHTED,       /* MEMCACHED_DISTRIBUTION_CONSISTENT */
    KETAMA_WEIGHTED,  /* MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED = 1 */
    WEIGHTED_DEFAULT, /* MEMCACHED_DISTRIBUTION_CONSISTENT_WEIGHTED */
} distribution;

typedef struct setup_desc {
    distribution dist;
    int point_hash; /* memcached_hash_t set before adding servers, or -1 */
    int key_hash;   /* ... set after adding them, or -1 */
    bool unix_socket_api; /* sockets through memcached_server_add_unix_socket */
} setup_desc;

/* libmemcached's hash for one of mcring's. */
static memcached_hash_t lm_hash(hash_fn fn)
{
    switch (fn) {
    case HASH_ONE_AT_A_TIME: return MEMCACHED_HASH_DEFAULT;
    case HASH_MD5: return MEMCACHED_HASH_MD5;
    case HASH_CRC32: return MEMCACHED_HASH_CRC;
    case HASH_FNV1_64: return MEMCACHED_HASH_FNV1_64;
    case HASH_FNV1A_64: return MEMCACHED_HASH_FNV1A_64;
    case HASH_FNV1_32: return MEMCACHED_HASH_FNV1_32;
    case HASH_FNV1A_32: return MEMCACHED_HASH_FNV1A_32;
    case HASH_MURMUR: return MEMCACHED_HASH_MURMUR;
    case HASH_JENKINS: return MEMCACHED_HASH_JENKINS;
    case HASH_MURMUR3: return MEMCACHED_HASH_MURMUR3;
    default: cr_assert_fail("libmemcached has no %s", hash_fn_name(fn));
    }
    return MEMCACHED_HASH_DEFAULT;
}

static memcached_st *libmemcached_for(const server_list *l, setup_desc d)
{
    memcached_st *m = memcached_create(NULL);
    cr_assert_not_null(m);
    switch (d.dist) {
    case UNWEIGHTED:
        cr_assert_eq(memcached_behavior_set(m, MEMCACHED_BEHAVIOR_DISTRIBUTION,
                                            MEMCACHED_DISTRIBUTION_CONSISTENT),
                     MEMCACHED_SUCCESS);
        break;
    case KETAMA_WEIGHTED:
        cr_assert_eq(memcached_behavior_set(
                         m, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1),
                     MEMCACHED_SUCCESS);
        break;
    case WEIGHTED_DEFAULT:
        cr_assert_eq(memcached_behavior_set(
                         m, MEMCACHED_BEHAVIOR_DISTRIBUTION,
                         MEMCACHED_DISTRIBUTION_CONSISTENT_WEIGHTED),
                     MEMCACHED_SUCCESS);
        break;
    }
    if (d.point_hash >= 0)
        cr_assert_eq(memcached_behavior_set(m, MEMCACHED_BEHAVIOR_HASH,
                                            lm_hash((hash_fn)d.point_hash)),
                     MEMCACHED_SUCCESS);
    for (size_t e = 0; e < l->count; e++) {
        address a;
        cr_assert_eq(address_parse(l->names[e], strlen(l->names[e]), &a,
                                   NULL, 0),
                     0);
        memcached_return_t rc;
        if (a.is_unix && d.unix_socket_api)
            rc = memcached_server_add_unix_socket_with_weight(m, a.host,
                                                              l->weights[e]);
        else
            rc = memcached_server_add_with_weight(
                m, a.host, a.is_unix ? 0 : a.port_num, l->weights[e]);
        cr_assert_eq(rc, MEMCACHED_SUCCESS, "adding %s: %s", l->names[e],
                     memcached_strerror(m, rc));
    }
    /* A hash set now does not rebuild the points: the two differ. */
    if (d.key_hash >= 0)
        cr_assert_eq(memcached_behavior_set(m, MEMCACHED_BEHAVIOR_HASH,
                                            lm_hash((hash_fn)d.key_hash)),
                     MEMCACHED_SUCCESS);
    return m;
}

/* The mcring settings that mean the same. */
static ring_config mcring_for(setup_desc d)
{
    ring_config c = ring_config_of(d.dist == UNWEIGHTED
                                       ? RING_LIBMEMCACHED_KETAMA
                                       : RING_LIBMEMCACHED_WEIGHTED);
    c.socket_port = d.unix_socket_api ? 0 : 11211;
    if (d.dist == UNWEIGHTED) {
        c.point_hash = d.point_hash >= 0 ? d.point_hash : HASH_ONE_AT_A_TIME;
        c.key_hash = d.key_hash >= 0 ? d.key_hash : c.point_hash;
    } else if (d.dist == KETAMA_WEIGHTED) {
        /* KETAMA_WEIGHTED sets md5; a hash set after it replaces it. */
        int later = d.key_hash >= 0 ? d.key_hash : d.point_hash;
        c.key_hash = later >= 0 ? later : HASH_MD5;
    } else {
        int later = d.key_hash >= 0 ? d.key_hash : d.point_hash;
        c.key_hash = later >= 0 ? later : HASH_ONE_AT_A_TIME;
    }
    return c;
}

static void compare(const char *servers, setup_desc d, int nkeys)
{
    server_list l;
    char err[256];
    cr_assert_eq(server_list_parse(servers, &l, err, sizeof(err)), 0, "%s",
                 err);
    memcached_st *m = libmemcached_for(&l, d);
    mcring_ring *ring;
    cr_assert_eq(ring_build(mcring_for(d), &l, 1, &ring, err, sizeof(err)),
                 0, "%s", err);
    uint32_t *entry_server = ring_entry_servers(ring, &l);
    cr_assert_not_null(entry_server);

    for (int i = 0; i < nkeys; i++) {
        uint32_t theirs = memcached_generate_hash(m, (const char *)keys[i],
                                                  lens[i]);
        cr_assert_lt(theirs, l.count);
        keyhash kh;
        keyhash_init(&kh, keys[i], lens[i]);
        uint32_t mine;
        cr_assert_eq(ring_locate(ring, &kh, &mine, 1), 1);
        if (mine != entry_server[theirs]) {
            char hex[2 * PEER_KEY_MAX + 1];
            for (size_t j = 0; j < lens[i]; j++)
                sprintf(hex + 2 * j, "%02x", keys[i][j]);
            hex[2 * lens[i]] = '\0';
            cr_assert_fail("%s (dist %d, hashes %d/%d), key %s: mcring %s, "
                           "libmemcached %s",
                           servers, (int)d.dist, d.point_hash, d.key_hash, hex,
                           ring->names[mine], l.names[theirs]);
        }
    }
    total_compared += nkeys;
    free(entry_server);
    ring_unref(ring);
    memcached_free(m);
    server_list_free(&l);
}

static char *numbered_list(int n, bool weights, bool ports)
{
    char *list = malloc((size_t)n * 40);
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        off += (size_t)sprintf(list + off, "%s10.%d.%d.%d", i ? "," : "",
                               i % 3, i / 50, i % 50 + 1);
        if (ports || weights)
            off += (size_t)sprintf(list + off, ":%d", 11211 + (i % 3) * 1000);
        if (weights)
            off += (size_t)sprintf(list + off, ":%d", 1 + (i * 7) % 10);
    }
    return list;
}

static const char *const unweighted_lists[] = {
    "10.0.1.1:11211,10.0.1.2:11211,cache-3.example.com:11212,"
    "10.0.1.4:22122,/var/run/memcached.sock",
    "10.0.0.1,10.0.0.2,10.0.0.3,10.0.0.4",
    "memcache-1.example.com,memcache-2.example.com:11211,cache3,"
    "cache_4.internal:11222",
    "[::1]:11212,[2001:db8::7],10.0.0.1:11211",
    "a.example,b.example,a.example", /* a duplicate: the first one wins */
};

Test(libmemcached_placement, ketama_default_hash)
{
    make_keys();
    setup_desc d = {UNWEIGHTED, -1, -1, false};
    for (size_t i = 0; i < sizeof(unweighted_lists) / sizeof(*unweighted_lists);
         i++)
        compare(unweighted_lists[i], d, NKEYS);
    char *l25 = numbered_list(25, false, true),
         *l100 = numbered_list(100, false, false);
    compare(l25, d, NKEYS);
    compare(l100, d, NKEYS);
    free(l25);
    free(l100);
    fprintf(stderr, "libmemcached ketama, default hash: %ld keys compared\n",
                total_compared);
}

Test(libmemcached_placement, ketama_with_every_hash)
{
    /* The hash set before the servers are added: points and keys alike. */
    make_keys();
    for (int fn = 0; fn < HASH_FN_COUNT; fn++) {
        if (fn == HASH_CRC16 || fn == HASH_CRC32A || fn == HASH_HSIEH)
            continue; /* not libmemcached's (hsieh: not built in Debian) */
        setup_desc d = {UNWEIGHTED, fn, -1, false};
        compare(unweighted_lists[0], d, NKEYS / 4);
        compare(unweighted_lists[2], d, NKEYS / 4);
    }
    fprintf(stderr, "libmemcached ketama, every hash: %ld keys compared\n",
                total_compared);
}

Test(libmemcached_placement, point_hash_and_key_hash_chosen_separately)
{
    /* The application changes the hash after adding servers: the points
     * keep one_at_a_time, keys get the new hash. */
    make_keys();
    int pairs[][2] = {{-1, HASH_MD5},
                      {-1, HASH_FNV1A_32},
                      {HASH_MD5, HASH_ONE_AT_A_TIME},
                      {HASH_CRC32, HASH_MURMUR}};
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        setup_desc d = {UNWEIGHTED, pairs[i][0], pairs[i][1], false};
        compare(unweighted_lists[0], d, NKEYS);
        compare(unweighted_lists[1], d, NKEYS / 2);
    }
    fprintf(stderr, "libmemcached ketama, split hashes: %ld keys compared\n",
                total_compared);
}

Test(libmemcached_placement, unix_sockets_added_either_way)
{
    make_keys();
    const char *list = "10.0.1.1:11211,/var/run/memcached.sock,"
                       "/tmp/mc2.sock,10.0.1.2:11212";
    setup_desc by_add = {UNWEIGHTED, -1, -1, false},
               by_socket_api = {UNWEIGHTED, -1, -1, true};
    compare(list, by_add, NKEYS);
    compare(list, by_socket_api, NKEYS);
    setup_desc weighted = {KETAMA_WEIGHTED, -1, -1, true};
    compare(list, weighted, NKEYS);
    fprintf(stderr, "libmemcached, Unix sockets: %ld keys compared\n",
                total_compared);
}

Test(libmemcached_placement, ketama_weighted)
{
    make_keys();
    setup_desc md5 = {KETAMA_WEIGHTED, -1, -1, false};
    compare("10.0.1.1:11211:1,10.0.1.2:11211:2,cache-3.example.com:11212:3,"
            "10.0.1.4:22122:1,10.0.1.5:11211:7",
            md5, NKEYS);
    compare("10.0.0.1,10.0.0.2,10.0.0.3:11211:5,host-4.example:11300:2",
            md5, NKEYS);
    char *l25 = numbered_list(25, true, true), *e25 = numbered_list(25, false, false),
         *l100 = numbered_list(100, true, true), *e100 = numbered_list(100, false, true);
    compare(l25, md5, NKEYS);
    compare(e25, md5, NKEYS);   /* equal weights: 156 points each */
    compare(l100, md5, NKEYS);
    compare(e100, md5, NKEYS);  /* equal weights: 156 points each */
    setup_desc oaat = {WEIGHTED_DEFAULT, -1, -1, false};
    compare(l25, oaat, NKEYS);
    setup_desc fnv = {KETAMA_WEIGHTED, -1, HASH_FNV1A_64, false};
    compare(l25, fnv, NKEYS);
    free(l25);
    free(e25);
    free(l100);
    free(e100);
    fprintf(stderr, "libmemcached ketama weighted: %ld keys compared\n",
                total_compared);
}

Test(libmemcached_placement, continuum_sizes_match_for_equal_servers)
{
    /* libmemcached 1.1.4 asserts (and aborts) past 100 servers in a
     * continuum, so 1..100 is what it can be asked. */
    for (int n = 1; n <= 100; n++) {
        char *list = numbered_list(n, false, false);
        server_list l;
        cr_assert_eq(server_list_parse(list, &l, NULL, 0), 0);
        setup_desc d = {KETAMA_WEIGHTED, -1, -1, false};
        memcached_st *m = libmemcached_for(&l, d);
        mcring_ring *ring;
        cr_assert_eq(ring_build(mcring_for(d), &l, 1, &ring, NULL, 0), 0);
        cr_assert_eq(ring->npoints, m->ketama.continuum_points_counter,
                     "n=%d: mcring %zu points, libmemcached %u", n,
                     ring->npoints, m->ketama.continuum_points_counter);
        ring_unref(ring);
        memcached_free(m);
        server_list_free(&l);
        free(list);
    }
}

Test(libmemcached_placement, hash_values_key_by_key)
{
    /* The primitives themselves, on every key. */
    make_keys();
    for (int fn = 0; fn < HASH_FN_COUNT; fn++) {
        if (fn == HASH_CRC16 || fn == HASH_CRC32A || fn == HASH_HSIEH)
            continue;
        for (int i = 0; i < NKEYS; i++) {
            uint32_t theirs = memcached_generate_hash_value(
                (const char *)keys[i], lens[i], lm_hash((hash_fn)fn));
            uint32_t mine = hash32((hash_fn)fn, keys[i], lens[i], true);
            cr_assert_eq(mine, theirs, "%s of key %d: %08x, libmemcached %08x",
                         hash_fn_name((hash_fn)fn), i, mine, theirs);
        }
    }
}

#endif
