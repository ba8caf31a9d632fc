/*
 * Lookup cost per placement mode: median nanoseconds for ring_locate() of
 * one key, the mode's own key hash included, over 3, 10 and 100 servers;
 * for the first server only (what a single-key call needs first) and for a
 * try order of 3. The keys are raw (key_mode raw), 12-40 bytes. The MD5
 * every keyhash carries (computed by the client whatever the mode) is timed
 * on its own line. Each round is one pass over the 4096 keys; many short
 * rounds let the median skip the ones another process interrupted.
 *
 *   build/bench/bench_placement [rounds]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ring.h"

#define NKEYS 4096
#define LOOKUPS_PER_ROUND NKEYS

static keyhash keys[NKEYS];
static char key_text[NKEYS][48];
static volatile uint32_t sink;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static mcring_ring *build(ring_config c, int nservers)
{
    char *list = malloc((size_t)nservers * 32);
    size_t off = 0;
    bool weighted = c.mode == RING_LIBMEMCACHED_WEIGHTED ||
                    c.mode == RING_TWEMPROXY;
    for (int i = 0; i < nservers; i++) {
        off += (size_t)sprintf(list + off, "%s10.0.%d.%d:11211", i ? "," : "",
                               i / 250, i % 250 + 1);
        if (weighted)
            off += (size_t)sprintf(list + off, ":%d", 1 + i % 3);
    }
    server_list l;
    char err[256];
    mcring_ring *r = NULL;
    if (server_list_parse(list, &l, err, sizeof(err)) != 0 ||
        ring_build(c, &l, 3, &r, err, sizeof(err)) != 0) {
        fprintf(stderr, "bench_placement: %s\n", err);
        exit(1);
    }
    server_list_free(&l);
    free(list);
    return r;
}

/* Median ns per lookup of `want` servers over `rounds` rounds. */
static double time_locate(const mcring_ring *r, size_t want, int rounds)
{
    double *per = malloc((size_t)rounds * sizeof(*per));
    uint32_t out[3];
    for (int round = 0; round < rounds; round++) {
        uint32_t acc = 0;
        double t0 = now_ns();
        for (int i = 0; i < LOOKUPS_PER_ROUND; i++) {
            ring_locate(r, &keys[i % NKEYS], out, want);
            acc += out[0];
        }
        double t1 = now_ns();
        sink = acc;
        per[round] = (t1 - t0) / LOOKUPS_PER_ROUND;
    }
    double m = median(per, rounds);
    free(per);
    return m;
}

static double time_keyhash(int rounds)
{
    double *per = malloc((size_t)rounds * sizeof(*per));
    for (int round = 0; round < rounds; round++) {
        uint32_t acc = 0;
        double t0 = now_ns();
        for (int i = 0; i < LOOKUPS_PER_ROUND; i++) {
            keyhash k;
            const char *t = key_text[i % NKEYS];
            keyhash_init(&k, t, strlen(t));
            acc += k.md5[0];
        }
        double t1 = now_ns();
        sink = acc;
        per[round] = (t1 - t0) / LOOKUPS_PER_ROUND;
    }
    double m = median(per, rounds);
    free(per);
    return m;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 101;
    if (rounds < 1)
        rounds = 1;
    uint64_t s = 12345;
    for (int i = 0; i < NKEYS; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        int extra = (int)((s >> 33) % 28);
        int n = snprintf(key_text[i], sizeof(key_text[i]), "user:%d:", i);
        for (int j = 0; j < extra; j++)
            key_text[i][n++] = (char)('a' + (s >> (j % 40)) % 26);
        key_text[i][n] = '\0';
        keyhash_init(&keys[i], key_text[i], (size_t)n);
    }

    static const struct {
        const char *label;
        ring_mode mode;
        int hash;
    } modes[] = {
        {"swift", RING_SWIFT, -1},
        {"consistent", RING_CONSISTENT, -1},
        {"libmemcached-ketama (one_at_a_time)", RING_LIBMEMCACHED_KETAMA, -1},
        {"libmemcached-ketama (md5)", RING_LIBMEMCACHED_KETAMA, HASH_MD5},
        {"libmemcached-ketama-weighted (md5)", RING_LIBMEMCACHED_WEIGHTED, -1},
        {"twemproxy (fnv1a_64)", RING_TWEMPROXY, -1},
        {"twemproxy (murmur)", RING_TWEMPROXY, HASH_MURMUR},
        {"twemproxy (crc32a)", RING_TWEMPROXY, HASH_CRC32A},
        {"pymemcache (murmur3 rendezvous)", RING_PYMEMCACHE, -1},
    };
    static const int sizes[] = {3, 10, 100};

    printf("median ns per lookup, %d rounds of %d lookups, raw keys of "
           "12-40 bytes\n",
           rounds, LOOKUPS_PER_ROUND);
    printf("%-38s %18s %18s %18s\n", "mode (key hash)", "3 servers",
           "10 servers", "100 servers");
    printf("%-38s %18s %18s %18s\n", "", "first / 3 tries", "first / 3 tries",
           "first / 3 tries");
    for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
        printf("%-38s", modes[m].label);
        for (size_t z = 0; z < 3; z++) {
            ring_config c = ring_config_of(modes[m].mode);
            c.key_hash = modes[m].hash;
            mcring_ring *r = build(c, sizes[z]);
            double one = time_locate(r, 1, rounds);
            double three = time_locate(r, 3, rounds);
            printf(" %8.1f / %7.1f", one, three);
            ring_unref(r);
        }
        printf("\n");
    }
    printf("%-38s %8.1f (the MD5 of the key every keyhash carries)\n",
           "keyhash_init", time_keyhash(rounds));
    return 0;
}
