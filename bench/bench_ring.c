/*
 * Ring and pool benchmarks (issue: live reconfiguration):
 *   lookup       ring lookup including the key's MD5, per mode and size;
 *                the MD5 alone, and batched as multi-key calls do it
 *   pool         borrow + return of a pooled connection, uncontended and
 *                with T threads contending, next to a mutex-protected pool
 *   publish      building and publishing a ring of 10 to 100,000 servers
 *   swap         lookups per second through the client's RCU read side,
 *                with and without a ring swap every millisecond
 * Each figure is the median of repeated runs; nothing here is asserted.
 *
 *   bench_ring [lookup|pool|publish|swap ...]   (default: all)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "client.h"
#include "pool.h"
#include "ring.h"

static char *server_list_text(int n, int offset)
{
    char *buf = malloc((size_t)n * 24 + 1);
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; i < n; i++)
        off += (size_t)sprintf(buf + off, "%s10.%d.%d.%d:11211", i ? "," : "",
                               (i + offset) / 65536 % 256,
                               (i + offset) / 256 % 256, (i + offset) % 256);
    return buf;
}

static mcring_ring *ring_of(ring_mode mode, int n)
{
    char *text = server_list_text(n, 0);
    server_list l;
    server_list_parse(text, &l, NULL, 0);
    mcring_ring *r;
    if (ring_build(ring_config_of(mode), &l, 3, &r, NULL, 0) != 0)
        abort();
    server_list_free(&l);
    free(text);
    return r;
}

/* ---- lookup ------------------------------------------------------------ */

static void bench_lookup(void)
{
    enum { KEYS = 4096, BATCH = 4096, RUNS = 101 };
    static char keys[KEYS][40];
    for (int i = 0; i < KEYS; i++)
        snprintf(keys[i], sizeof(keys[i]), "/AUTH_test/container/object-%d", i);
    printf("# ring lookup including MD5 of a ~32-byte key (first server + "
           "try order of 3)\n");
    printf("%-12s %8s %12s %12s\n", "mode", "servers", "median_ns", "p90_ns");
    ring_mode modes[] = {RING_SWIFT, RING_CONSISTENT};
    int sizes[] = {3, 10, 100, 1000};
    for (int m = 0; m < 2; m++) {
        for (int s = 0; s < 4; s++) {
            mcring_ring *r = ring_of(modes[m], sizes[s]);
            double per[RUNS];
            uint64_t sink = 0;
            for (int run = 0; run < RUNS; run++) {
                double t0 = bench_now_ns();
                for (int i = 0; i < BATCH; i++) {
                    keyhash kh;
                    const char *k = keys[(run * 7 + i) % KEYS];
                    keyhash_init(&kh, k, strlen(k));
                    uint32_t order[3];
                    sink += ring_locate(r, &kh, order, 3) + order[0];
                }
                per[run] = (bench_now_ns() - t0) / BATCH;
            }
            bench_use(sink);
            double p90 = bench_quantile(per, RUNS, 0.9);
            printf("%-12s %8d %12.1f %12.1f\n", ring_mode_name(modes[m]),
                   sizes[s], bench_median(per, RUNS), p90);
            ring_unref(r);
        }
    }
    /* The MD5 alone, for scale. */
    double per[RUNS];
    uint64_t sink = 0;
    for (int run = 0; run < RUNS; run++) {
        double t0 = bench_now_ns();
        for (int i = 0; i < BATCH; i++) {
            unsigned char d[16];
            hash_md5(keys[i % KEYS], 31, d);
            sink += d[0];
        }
        per[run] = (bench_now_ns() - t0) / BATCH;
    }
    bench_use(sink);
    printf("%-12s %8s %12.1f\n", "md5-only", "-", bench_median(per, RUNS));

    /* What a multi-key call pays per key: MD5 of a batch (AVX2 lanes where
     * the CPU has them) plus the hex of each digest. */
    static mcring_key batch[BATCH];
    static unsigned char digests[BATCH][MD5_LEN];
    char hex[MD5_HEX_LEN];
    for (int i = 0; i < BATCH; i++)
        batch[i] = (mcring_key){keys[i % KEYS], 31};
    for (int run = 0; run < RUNS; run++) {
        double t0 = bench_now_ns();
        hash_md5_many(batch, BATCH, digests);
        for (int i = 0; i < BATCH; i++) {
            hash_hex(digests[i], hex);
            sink += (unsigned char)hex[0];
        }
        per[run] = (bench_now_ns() - t0) / BATCH;
    }
    bench_use(sink);
    printf("%-12s %8s %12.1f   (per key, batches of %d, with hex)\n",
           "md5-batched", "-", bench_median(per, RUNS), BATCH);
}

/* ---- pool ---------------------------------------------------------------*/

typedef struct pool_arg {
    pool *p;
    unsigned depth;
    long iters;
    pthread_barrier_t *start;
} pool_arg;

static void *pool_worker(void *arg)
{
    pool_arg *a = arg;
    pthread_barrier_wait(a->start);
    for (long i = 0; i < a->iters; i++) {
        bool connect;
        int64_t deadline;
        mux_slot *s = pool_claim(a->p, a->depth, INT64_MAX / 4, &connect,
                                 &deadline);
        if (connect)
            mux_slot_connected(s, 0, FENCE_OFF);
        mux_slot_unclaim(s);
    }
    return NULL;
}

/* Median over runs of the wall time per claim + give-back, all threads
 * together. */
static double pool_run(int threads, unsigned depth, uint32_t size)
{
    enum { RUNS = 15 };
    long iters = 200000 / threads;
    double per[RUNS];
    for (int run = 0; run < RUNS; run++) {
        pool p;
        pool_init(&p, size);
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
        pthread_t t[64];
        pool_arg args[64];
        for (int i = 0; i < threads; i++) {
            args[i] = (pool_arg){&p, depth, iters, &start};
            pthread_create(&t[i], NULL, pool_worker, &args[i]);
        }
        pthread_barrier_wait(&start);
        double t0 = bench_now_ns();
        for (int i = 0; i < threads; i++)
            pthread_join(t[i], NULL);
        per[run] = (bench_now_ns() - t0) / (double)(iters * threads);
        pthread_barrier_destroy(&start);
        pool_destroy(&p);
    }
    return bench_median(per, RUNS);
}

static void bench_pool(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    printf("# claim + give back a place on a server's connections: wall ns "
           "per pair, all threads together (median)\n");
    printf("%8s %14s %18s %18s\n", "threads", "slots", "depth 1 (no pipe)",
           "depth 128, 2 slots");
    int threads[] = {1, (int)cores, 4, 8, 16};
    for (int i = 0; i < 5; i++) {
        if (i > 1 && threads[i] <= cores)
            continue;
        /* Depth 1: as many slots as threads, as with pipelining off. */
        double one = pool_run(threads[i], 1, (uint32_t)threads[i]);
        double deep = pool_run(threads[i], 128, 2);
        printf("%8d %14d %18.1f %18.1f\n", threads[i], threads[i], one, deep);
    }
}

/* ---- publish -------------------------------------------------------------*/

static void bench_publish(void)
{
    enum { RUNS = 21 };
    printf("# build and publish a new ring with mcring_client_set_servers(), "
           "ms (median; 5 runs at 100,000 servers)\n");
    printf("%8s %16s %16s\n", "servers", "same_servers_ms", "new_servers_ms");
    int sizes[] = {10, 100, 1000, 10000, 100000};
    for (int s = 0; s < 5; s++) {
        int runs = sizes[s] >= 100000 ? 5 : RUNS;
        char *a = server_list_text(sizes[s], 0);
        char *b = server_list_text(sizes[s], 1); /* all but one shared */
        mcring_options *o;
        mcring_options_new(&o);
        mcring_options_set(o, "memcache_servers", a, NULL, 0);
        mcring_client *c;
        mcring_client_new(&c, o, NULL, 0);
        double same[RUNS], fresh[RUNS];
        for (int run = 0; run < runs; run++) {
            double t0 = bench_now_ns();
            mcring_client_set_servers(c, run % 2 ? a : b, NULL, 0);
            same[run] = (bench_now_ns() - t0) / 1e6;
        }
        for (int run = 0; run < runs; run++) {
            /* Offsets far enough apart that no server is shared. */
            char *fresh_list = server_list_text(sizes[s],
                                                (run + 1) * 2 * sizes[s] +
                                                    100000 * (run + 1));
            double t0 = bench_now_ns();
            mcring_client_set_servers(c, fresh_list, NULL, 0);
            fresh[run] = (bench_now_ns() - t0) / 1e6;
            free(fresh_list);
        }
        printf("%8d %16.3f %16.3f\n", sizes[s], bench_median(same, runs),
               bench_median(fresh, runs));
        mcring_client_free(c);
        mcring_options_free(o);
        free(a);
        free(b);
    }
}

/* ---- lookups while swapping -------------------------------------------- */

typedef struct swap_arg {
    mcring_client *c;
    atomic_bool *stop;
    long lookups;
} swap_arg;

static void *lookup_worker(void *p)
{
    swap_arg *a = p;
    char key[32];
    uint64_t sink = 0;
    long n = 0;
    while (!atomic_load_explicit(a->stop, memory_order_relaxed)) {
        for (int i = 0; i < 256; i++, n++) {
            int len = snprintf(key, sizeof(key), "key-%ld", n);
            keyhash kh;
            keyhash_init(&kh, key, (size_t)len);
            state *st = state_enter(&a->c->current);
            uint32_t order[3];
            sink += ring_locate(st->ring, &kh, order, 3) + order[0];
            state_leave();
        }
    }
    bench_use(sink);
    a->lookups = n;
    return NULL;
}

static double lookups_per_second(int threads, bool swapping, double seconds)
{
    char *a = server_list_text(10, 0), *b = server_list_text(11, 0);
    mcring_options *o;
    mcring_options_new(&o);
    mcring_options_set(o, "memcache_servers", a, NULL, 0);
    mcring_client *c;
    mcring_client_new(&c, o, NULL, 0);
    atomic_bool stop = false;
    pthread_t t[64];
    swap_arg args[64];
    for (int i = 0; i < threads; i++) {
        args[i] = (swap_arg){c, &stop, 0};
        pthread_create(&t[i], NULL, lookup_worker, &args[i]);
    }
    double t0 = bench_now_ns(), end = t0 + seconds * 1e9;
    long swaps = 0;
    while (bench_now_ns() < end) {
        if (swapping) {
            mcring_client_set_servers(c, swaps++ % 2 ? a : b, NULL, 0);
            usleep(1000);
        } else {
            usleep(10000);
        }
    }
    atomic_store(&stop, true);
    long total = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        total += args[i].lookups;
    }
    double elapsed = (bench_now_ns() - t0) / 1e9;
    mcring_client_free(c);
    mcring_options_free(o);
    free(a);
    free(b);
    return (double)total / elapsed;
}

static void bench_swap(void)
{
    enum { RUNS = 5 };
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    printf("# lookups per second through the client's RCU read side, 10 "
           "servers (median of %d runs of 1 s)\n",
           RUNS);
    printf("%8s %16s %16s %8s\n", "threads", "no_swaps", "swap_every_1ms",
           "ratio");
    int threads[] = {1, (int)cores};
    for (int i = 0; i < 2; i++) {
        double plain[RUNS], swapping[RUNS];
        for (int r = 0; r < RUNS; r++) {
            plain[r] = lookups_per_second(threads[i], false, 1.0);
            swapping[r] = lookups_per_second(threads[i], true, 1.0);
        }
        double p = bench_median(plain, RUNS), s = bench_median(swapping, RUNS);
        printf("%8d %16.0f %16.0f %8.3f\n", threads[i], p, s, s / p);
    }
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        void (*run)(void);
    } parts[] = {{"lookup", bench_lookup},
                 {"pool", bench_pool},
                 {"publish", bench_publish},
                 {"swap", bench_swap}};
    for (size_t i = 0; i < 4; i++) {
        bool want = argc == 1;
        for (int a = 1; a < argc; a++)
            want |= strcmp(argv[a], parts[i].name) == 0;
        if (want) {
            parts[i].run();
            printf("\n");
            fflush(stdout);
        }
    }
    return 0;
}
