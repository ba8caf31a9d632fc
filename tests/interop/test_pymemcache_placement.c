/* Placement interop: pymemcache's own HashClient (python3-pymemcache) names
 * the server of tens of thousands of keys over several server lists, and
 * mcring's pymemcache mode must name the same one, key by key. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "peer_keys.h"
#include "ring.h"

static char oracle[512];

static void setup(void)
{
    snprintf(oracle, sizeof(oracle), "%s/interop/pymemcache_oracle.py",
             env_path("MCRING_TEST_SOURCE"));
}

TestSuite(pymemcache_placement, .init = setup, .timeout = 600);

/* The node string pymemcache makes of one of mcring's server strings. */
static void node_of(const char *server, char *out, size_t len)
{
    address a;
    cr_assert_eq(address_parse(server, strlen(server), &a, NULL, 0), 0);
    if (a.is_unix)
        snprintf(out, len, "%s", a.host);
    else
        snprintf(out, len, "%s:%u", a.host, a.port_num);
}

static int total_compared;

static void compare(const char *servers, int nkeys, uint64_t seed)
{
    uint64_t rng = seed;
    unsigned char (*keys)[PEER_KEY_MAX] = malloc((size_t)nkeys * PEER_KEY_MAX);
    size_t *lens = malloc((size_t)nkeys * sizeof(*lens));
    char *input = malloc((size_t)nkeys * (2 * PEER_KEY_MAX + 1) + 1);
    size_t off = 0;
    for (int i = 0; i < nkeys; i++) {
        lens[i] = peer_key(&rng, i, false, keys[i]);
        for (size_t j = 0; j < lens[i]; j++)
            off += (size_t)sprintf(input + off, "%02x", keys[i][j]);
        input[off++] = '\n';
    }
    char *argv[] = {(char *)env_path("MCRING_TEST_PYTHON"), oracle, "node",
                    (char *)servers, NULL};
    char *out;
    size_t olen;
    int rc = run_capture(argv, input, off, &out, &olen);
    cr_assert_eq(rc, 0, "the oracle failed (is python3-pymemcache "
                        "installed?)");

    server_list list;
    char err[256];
    cr_assert_eq(server_list_parse(servers, &list, err, sizeof(err)), 0, "%s",
                 err);
    ring_config c = ring_config_of(RING_PYMEMCACHE);
    mcring_ring *ring;
    cr_assert_eq(ring_build(c, &list, 1, &ring, err, sizeof(err)), 0, "%s",
                 err);
    server_list_free(&list);

    char *line = out;
    int compared = 0;
    for (int i = 0; i < nkeys; i++) {
        char *nl = strchr(line, '\n');
        cr_assert_not_null(nl, "the oracle answered %d of %d keys", i, nkeys);
        *nl = '\0';
        keyhash kh;
        keyhash_init(&kh, keys[i], lens[i]);
        uint32_t s;
        cr_assert_eq(ring_locate(ring, &kh, &s, 1), 1);
        char mine[MCRING_NAME_MAX + 8];
        node_of(ring->names[s], mine, sizeof(mine));
        if (strcmp(mine, line) != 0) {
            char hex[2 * PEER_KEY_MAX + 1];
            for (size_t j = 0; j < lens[i]; j++)
                sprintf(hex + 2 * j, "%02x", keys[i][j]);
            hex[2 * lens[i]] = '\0';
            cr_assert_fail("servers %s, key %s: mcring %s, pymemcache %s",
                           servers, hex, mine, line);
        }
        compared++;
        line = nl + 1;
    }
    cr_assert_eq(*line, '\0', "the oracle answered more keys than asked");
    total_compared += compared;
    ring_unref(ring);
    free(out);
    free(input);
    free(lens);
    free(keys);
}

static char *numbered_list(int n)
{
    char *list = malloc((size_t)n * 32);
    size_t off = 0;
    for (int i = 0; i < n; i++)
        off += (size_t)sprintf(list + off, "%s10.%d.%d.%d:%d", i ? "," : "",
                               i % 3, i / 50, i % 50 + 1, 11211 + i % 4);
    return list;
}

Test(pymemcache_placement, every_list_key_by_key)
{
    compare("10.0.0.1:11211,10.0.0.2:11211,10.0.0.3:11212,"
            "/var/run/memcached.sock",
            20000, 1);
    compare("10.0.0.1,10.0.0.2,10.0.0.3:11211,10.0.0.4:22122", 6000, 2);
    compare("memcache-1.example.com,memcache-2.example.com:11211,cache3,"
            "cache_4.internal:11222",
            6000, 3);
    compare("[::1],[::1]:11212,[fe80::1%eth0]:11211,[2001:db8::7]:5,"
            "127.0.0.1",
            6000, 4);
    char *list = numbered_list(25);
    compare(list, 5000, 5);
    free(list);
    list = numbered_list(100);
    compare(list, 2500, 6);
    free(list);
    compare("10.0.0.1:11211", 500, 7);
    cr_assert_geq(total_compared, 20000);
    fprintf(stderr, "pymemcache: %d keys compared\n", total_compared);
}
