/* Placement interop: Swift's own MemcacheRing (python3-swift) names the
 * try order of tens of thousands of keys over several server lists, and
 * mcring must name the same; Swift's error limiting decides bans on the
 * same error times as mcring. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "ring.h"
#include "server.h"

static char oracle[512];

static void setup(void)
{
    snprintf(oracle, sizeof(oracle), "%s/interop/swift_oracle.py",
             env_path("MCRING_TEST_SOURCE"));
}

TestSuite(swift_placement, .init = setup, .timeout = 600);

static uint64_t rng_state = 42;
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* nkeys keys, one per line: ASCII names, Swift-style paths, random bytes
 * (anything but a newline), and an empty key. */
static char *make_keys(int nkeys, size_t *len)
{
    size_t cap = (size_t)nkeys * 80 + 16, n = 0;
    char *buf = malloc(cap);
    for (int i = 0; i < nkeys; i++) {
        switch (i % 4) {
        case 0:
            n += (size_t)sprintf(buf + n, "key%d", i);
            break;
        case 1:
            n += (size_t)sprintf(buf + n, "/AUTH_test/container-%d/obj%llx", i,
                                 (unsigned long long)rnd());
            break;
        case 2: {
            int l = (int)(rnd() % 40);
            for (int j = 0; j < l; j++) {
                char ch = (char)(rnd() & 0xff);
                buf[n++] = ch == '\n' ? 'x' : ch;
            }
            break;
        }
        default:
            n += (size_t)sprintf(buf + n, "caf\xc3\xa9-%d", i);
        }
        buf[n++] = '\n';
    }
    buf[n++] = '\n'; /* the empty key */
    *len = n;
    return buf;
}

static void compare(const char *servers, int tries, int nkeys)
{
    size_t klen;
    char *keys = make_keys(nkeys, &klen);
    char triesbuf[16];
    snprintf(triesbuf, sizeof(triesbuf), "%d", tries);
    char *argv[] = {(char *)env_path("MCRING_TEST_PYTHON"), oracle, "order",
                    (char *)servers, triesbuf, NULL};
    char *out;
    size_t olen;
    int rc = run_capture(argv, keys, klen, &out, &olen);
    cr_assert_eq(rc, 0, "the oracle failed (is python3-swift installed?)");

    server_list list;
    char err[256];
    cr_assert_eq(server_list_parse(servers, &list, err, sizeof(err)), 0, "%s",
                 err);
    mcring_ring *ring;
    cr_assert_eq(ring_build(ring_config_of(RING_SWIFT), &list, (size_t)tries, &ring, err,
                            sizeof(err)),
                 0);
    server_list_free(&list);

    int compared = 0;
    char *line = out, *key = keys;
    while (*line) {
        char *nl = strchr(line, '\n');
        cr_assert_not_null(nl);
        *nl = '\0';
        char *knl = memchr(key, '\n', klen - (size_t)(key - keys));
        size_t kl = (size_t)(knl - key);
        keyhash kh;
        keyhash_init(&kh, key, kl);
        uint32_t idx[64];
        size_t n = ring_locate(ring, &kh, idx, 64);
        char mine[4096];
        size_t off = 0;
        for (size_t i = 0; i < kl; i++)
            off += (size_t)sprintf(mine + off, "%02x", (unsigned char)key[i]);
        mine[off++] = '\t';
        for (size_t i = 0; i < n; i++)
            off += (size_t)sprintf(mine + off, "%s%s", i ? "," : "",
                                   ring->names[idx[i]]);
        mine[off] = '\0';
        cr_assert_str_eq(mine, line, "servers %s", servers);
        compared++;
        line = nl + 1;
        key = knl + 1;
    }
    cr_assert_eq(compared, nkeys + 1);
    ring_unref(ring);
    free(out);
    free(keys);
}

Test(swift_placement, ipv4_with_ports)
{
    compare("10.0.0.1:11211,10.0.0.2:11211,10.0.0.3:11211", 3, 10000);
}

Test(swift_placement, ipv4_without_ports_and_mixed)
{
    compare("10.0.0.1,10.0.0.2,10.0.0.3:11211,10.0.0.4:22122", 3, 10000);
}

Test(swift_placement, bracketed_ipv6)
{
    compare("[::1],[::1]:11212,[fe80::1%eth0]:11211,[2001:db8::7]:5", 2,
            10000);
}

Test(swift_placement, host_names)
{
    compare("memcache-1.example.com,memcache-2.example.com:11211,cache3,"
            "cache_4.internal:11222",
            4, 10000);
}

Test(swift_placement, one_server_and_tries_above_the_count)
{
    compare("127.0.0.1:11211", 3, 2000);
    compare("a:1,b:2", 5, 2000);
}

Test(swift_placement, a_duplicate_with_enough_distinct_servers)
{
    /* Swift spins forever when tries exceed the distinct servers (bug 1),
     * so the oracle can only be asked where it terminates. */
    compare("a:1,b:2,c:3,a:1", 3, 3000);
}

Test(swift_placement, fifty_servers_full_walk)
{
    char list[2048];
    size_t off = 0;
    for (int i = 0; i < 50; i++)
        off += (size_t)snprintf(list + off, sizeof(list) - off,
                                "%s10.1.%d.%d:11211", i ? "," : "", i % 7, i);
    compare(list, 50, 2000);
    compare(list, 3, 10000);
}

Test(swift_placement, error_limiting_matches_swift)
{
    static const struct {
        double limit, window;
    } params[] = {{10, 60}, {0, 60}, {3, 5}, {2.5, 10}, {1, 0.5}, {5, 0}};
    char json[65536];
    size_t off = 0;
    double times[6][60];
    off += (size_t)sprintf(json + off, "[");
    for (int c = 0; c < 6; c++) {
        double t = 1000;
        off += (size_t)sprintf(json + off, "%s{\"limit\": %g, \"window\": %g, "
                                           "\"times\": [",
                               c ? "," : "", params[c].limit, params[c].window);
        for (int i = 0; i < 60; i++) {
            t += (double)(rnd() % 3000) / 1000.0 * (c == 4 ? 0.05 : 1);
            times[c][i] = t;
            off += (size_t)sprintf(json + off, "%s%.3f", i ? "," : "", t);
        }
        off += (size_t)sprintf(json + off, "]}");
    }
    off += (size_t)sprintf(json + off, "]");

    char *argv[] = {(char *)env_path("MCRING_TEST_PYTHON"), oracle, "errors",
                    NULL};
    char *out;
    size_t olen;
    cr_assert_eq(run_capture(argv, json, off, &out, &olen), 0);

    char mine[8192];
    size_t m = 0;
    m += (size_t)sprintf(mine + m, "[");
    for (int c = 0; c < 6; c++) {
        server *s;
        cr_assert_eq(server_new("s:1", 1, &s), 0);
        limit_params lp = {params[c].limit > 0 ? (uint64_t)params[c].limit : 0,
                           (int64_t)(params[c].window * 1e9),
                           (int64_t)(params[c].window * 1e9),
                           params[c].window > 0};
        cr_assert_eq(server_prepare_limit(s, &lp), 0);
        m += (size_t)sprintf(mine + m, "%s[", c ? ", " : "");
        bool first = true;
        for (int i = 0; i < 60; i++)
            if (server_record_error(s, &lp, (int64_t)(times[c][i] * 1e9 + 0.5))) {
                m += (size_t)sprintf(mine + m, "%s%d", first ? "" : ", ", i);
                first = false;
            }
        m += (size_t)sprintf(mine + m, "]");
        server_free(s);
    }
    m += (size_t)sprintf(mine + m, "]");
    cr_assert_str_eq(mine, out);
    free(out);
}
