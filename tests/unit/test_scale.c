/* Configurations of 100,000 servers and the hash map that keeps building
 * them linear. Asserted on the work done (servers, points, entries), with
 * a generous timeout as the only guard on time. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "ring.h"
#include "strmap.h"

TestSuite(scale, .timeout = 600);

Test(scale, siphash13_matches_pythons)
{
    /* Python 3.11 hashes bytes with SipHash-1-3; PYTHONHASHSEED=0 makes
     * its key all zeros: hash(b'a') etc. as unsigned 64-bit. */
    static const unsigned char zero[16] = {0};
    cr_assert_eq(strmap_siphash13(zero, "a", 1),
                 UINT64_C(0x407448d2b89b1813));
    cr_assert_eq(strmap_siphash13(zero, "memcache", 8),
                 UINT64_C(0xdf6c244e65c188f3));
    cr_assert_eq(strmap_siphash13(zero, "0123456789abcdef0", 17),
                 UINT64_C(0xf738bb4f30801228));
}

Test(scale, strmap_agrees_with_a_plain_array)
{
    /* Random puts, gets and removes (backward-shift deletion included)
     * against a model; keys collide in tags and prefixes on purpose. */
    enum { KEYS = 3000, OPS = 200000 };
    static char keys[KEYS][16];
    static void *model[2][KEYS];
    for (int i = 0; i < KEYS; i++)
        snprintf(keys[i], sizeof(keys[i]), "k%d", i % 1500);
    strmap m;
    cr_assert_eq(strmap_init(&m, 0), 0);
    uint64_t x = 7;
    size_t count = 0;
    for (int op = 0; op < OPS; op++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        int i = (int)((x >> 33) % KEYS);
        uint32_t tag = (uint32_t)((x >> 20) & 1);
        /* keys[i] and keys[i + 1500] are the same text: one entry. */
        int slot = i % 1500;
        void *want = model[tag][slot];
        void *got = strmap_get(&m, tag, keys[i], strlen(keys[i]));
        cr_assert_eq(got, want, "op %d", op);
        switch ((x >> 40) % 3) {
        case 0: {
            void *v = (void *)(uintptr_t)(op + 1), *prev = NULL;
            int rc = strmap_put(&m, tag, keys[slot], strlen(keys[slot]), v,
                                &prev);
            cr_assert_eq(rc, want ? 1 : 0);
            if (want)
                cr_assert_eq(prev, want);
            else {
                model[tag][slot] = v;
                count++;
            }
            break;
        }
        case 1:
            cr_assert_eq(strmap_remove(&m, tag, keys[i], strlen(keys[i])),
                         want);
            if (want) {
                model[tag][slot] = NULL;
                count--;
            }
            break;
        default:
            break;
        }
        cr_assert_eq(m.count, count);
    }
    strmap_free(&m);
}

static char *server_list_text(int n, int copies)
{
    char *t = malloc((size_t)n * copies * 24 + 1);
    size_t k = 0;
    for (int c = 0; c < copies; c++)
        for (int i = 0; i < n; i++)
            k += (size_t)sprintf(t + k, "%s10.%d.%d.%d:11211", k ? "," : "",
                                 i / 65536 % 256, i / 256 % 256, i % 256);
    t[k] = '\0';
    return t;
}

Test(scale, a_hundred_thousand_servers_in_every_ring_mode)
{
    enum { N = 100000 };
    char *text = server_list_text(N, 2); /* every server listed twice */
    server_list l;
    cr_assert_eq(server_list_parse(text, &l, NULL, 0), 0);
    cr_assert_eq(l.count, 2 * N);
    static const struct {
        ring_mode mode;
        size_t points; /* 0: none */
    } modes[] = {
        {RING_SWIFT, 50 * (size_t)N},
        {RING_CONSISTENT, 160 * (size_t)N},
        /* libmemcached and twemproxy take points from every entry,
         * duplicates included: 100 (or 160 weighted) each. */
        {RING_LIBMEMCACHED_KETAMA, 100 * 2 * (size_t)N},
        {RING_LIBMEMCACHED_WEIGHTED, 160 * 2 * (size_t)N},
        {RING_PYMEMCACHE, 0},
    };
    for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
        mcring_ring *r;
        char err[256] = "";
        cr_assert_eq(ring_build(ring_config_of(modes[m].mode), &l, 3, &r, err,
                                sizeof(err)),
                     0, "%s: %s", ring_mode_name(modes[m].mode), err);
        cr_assert_eq(r->nservers, (size_t)N, "%s: duplicates count once",
                     ring_mode_name(modes[m].mode));
        if (modes[m].points)
            cr_assert_eq(r->npoints, modes[m].points, "%s: %zu points",
                         ring_mode_name(modes[m].mode), r->npoints);
        uint32_t order[3];
        keyhash k;
        keyhash_init(&k, "key", 3);
        cr_assert_eq(ring_locate(r, &k, order, 3), 3);
        cr_assert(order[0] != order[1] && order[1] != order[2]);
        ring_unref(r);
    }
    server_list_free(&l);
    free(text);

    /* twemproxy refuses two servers of one name; every one distinct. */
    text = server_list_text(N, 1);
    cr_assert_eq(server_list_parse(text, &l, NULL, 0), 0);
    mcring_ring *r;
    cr_assert_eq(ring_build(ring_config_of(RING_TWEMPROXY), &l, 3, &r, NULL,
                            0),
                 0);
    cr_assert_eq(r->npoints, 160 * (size_t)N);
    ring_unref(r);
    server_list_free(&l);
    free(text);
}

Test(scale, a_client_of_a_hundred_thousand_servers_and_a_swap)
{
    enum { N = 100000 };
    char *text = server_list_text(N, 1);
    mcring_options *o;
    cr_assert_eq(mcring_options_new(&o), 0);
    char err[256] = "";
    cr_assert_eq(mcring_options_set(o, "memcache_servers", text, err,
                                    sizeof(err)),
                 0, "%s", err);
    mcring_client *c;
    cr_assert_eq(mcring_client_new(&c, o, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(mcring_client_server_stats(c, NULL, 0), (size_t)N);
    /* Half the servers stay: the registry finds each by hash. */
    char *half = server_list_text(N / 2, 1);
    cr_assert_eq(mcring_client_set_servers(c, half, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(mcring_client_server_stats(c, NULL, 0), (size_t)N / 2);
    cr_assert_eq(c->reg.servers.count >= (size_t)N / 2, true);
    mcring_client_free(c);
    mcring_options_free(o);
    free(half);
    free(text);
}
