/*
 * mcring bench: a load generator on the public API.
 *
 *   mcring bench --servers LIST [--threads T] [--ops N | --duration S]
 *                [--keys K] [--value-size V] [--get-ratio R] [--batch B]
 *                [--swap LIST2 [--swap-interval-ms MS]] [--max-conns C]
 *
 * Stores the keys first so that gets hit. Prints a summary (and a progress
 * bar on a terminal); the last line is key=value pairs for scripts. Errors
 * (a swap's included) count; misses do not.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "benchcore.h"
#include "cli.h"

typedef struct swapper {
    mcring_client *client;
    const char *lists[2];
    double interval_ms;
    atomic_bool stop;
    long swaps, failures;
} swapper;

static void *swap_loop(void *arg)
{
    swapper *s = arg;
    struct timespec pause = {(time_t)(s->interval_ms / 1000),
                             (long)(s->interval_ms * 1e6) % 1000000000L};
    while (!atomic_load(&s->stop)) {
        nanosleep(&pause, NULL);
        if (atomic_load(&s->stop))
            break;
        if (mcring_client_set_servers(s->client,
                                      s->lists[(s->swaps + 1) % 2], NULL,
                                      0) != 0)
            s->failures++;
        s->swaps++;
    }
    return NULL;
}

int cmd_bench(cli *c)
{
    if (c->argc != 0) {
        fputs("usage: mcring bench [--threads T] [--ops N | --duration S] "
              "[--keys K] [--value-size V] [--get-ratio R] [--batch B] "
              "[--swap LIST2 [--swap-interval-ms MS]] [--max-conns C]\n",
              stderr);
        return EXIT_ERR;
    }
    bench_workload w = {
        .threads = c->threads > 0 ? c->threads : 1,
        .ops = c->ops > 0 ? c->ops : 100000,
        .duration = c->duration,
        .keys = c->keys > 0 ? (int)c->keys : 2000,
        .value_size = c->value_size >= 0 ? (size_t)c->value_size : 100,
        .get_ratio = c->get_ratio >= 0 ? c->get_ratio : 0.9,
        .batch = c->batch > 0 ? c->batch : 1,
        .progress = isatty(STDOUT_FILENO),
        .seed = (unsigned)c->seed,
    };
    if (w.get_ratio > 1 || w.threads > 4096 || w.batch > 100000)
        return cli_fail("bench", "--get-ratio must be 0..1, --threads at most "
                                 "4096, --batch at most 100000");
    /* One connection per thread and server unless told otherwise, so that
     * threads do not queue for the pool. */
    char conns[16];
    snprintf(conns, sizeof(conns), "%d", c->max_conns > 0 ? c->max_conns
                                                          : w.threads);
    char err[512];
    if (mcring_options_set(c->opts, "memcache_max_connections", conns, err,
                           sizeof(err)) != 0)
        return cli_fail("bench", err);
    mcring_client *client = cli_client(c);
    if (client == NULL)
        return EXIT_ERR;
    mcring_ring *ring = mcring_client_ring_ref(client);
    size_t nservers = mcring_ring_size(ring);
    char *first_list = NULL;
    {
        size_t len = 1;
        for (size_t i = 0; i < nservers; i++)
            len += strlen(mcring_ring_server(ring, i)) + 1;
        first_list = calloc(1, len);
        for (size_t i = 0; i < nservers; i++) {
            if (i)
                strcat(first_list, ",");
            strcat(first_list, mcring_ring_server(ring, i));
        }
    }
    mcring_ring_free(ring);

    bench_mcring m;
    if (bench_mcring_init(&m, client, w.keys) != 0) {
        mcring_client_free(client);
        return cli_fail("bench", "out of memory");
    }
    bench_driver d = bench_mcring_driver(&m);
    printf("mcring bench: %zu servers, %d threads, %s %g, %d keys of %zu "
           "bytes, %.0f%% gets",
           nservers, w.threads, w.duration > 0 ? "seconds" : "operations",
           w.duration > 0 ? w.duration : (double)w.ops, w.keys, w.value_size,
           w.get_ratio * 100);
    if (w.batch > 1)
        printf(" as multi-gets of %d keys", w.batch);
    printf("\n");
    long unstored = bench_prepare(&w, &d);
    if (unstored > 0)
        printf("  warning: %ld of %d keys could not be stored first\n",
               unstored, w.keys);

    swapper sw = {.client = client, .interval_ms = c->swap_interval_ms};
    pthread_t swap_thread;
    if (c->swap_list != NULL) {
        /* Validate the second list now rather than in the middle. */
        if (mcring_client_set_servers(client, c->swap_list, err,
                                      sizeof(err)) != 0 ||
            mcring_client_set_servers(client, first_list, err,
                                      sizeof(err)) != 0) {
            bench_mcring_free(&m);
            mcring_client_free(client);
            free(first_list);
            return cli_fail("--swap", err);
        }
        sw.lists[0] = first_list;
        sw.lists[1] = c->swap_list;
        pthread_create(&swap_thread, NULL, swap_loop, &sw);
    }
    bench_result r;
    int rc = bench_run(&w, &d, &r);
    if (c->swap_list != NULL) {
        atomic_store(&sw.stop, true);
        pthread_join(swap_thread, NULL);
    }
    double rate = (double)r.ops / r.seconds;
    double p50 = bench_hist_quantile_us(&r.hist, 0.50);
    double p99 = bench_hist_quantile_us(&r.hist, 0.99);
    double p999 = bench_hist_quantile_us(&r.hist, 0.999);
    printf("  %ld operations in %.2f s: %.0f ops/s\n", r.ops, r.seconds, rate);
    printf("  latency per call: p50 %.1f us, p99 %.1f us, p99.9 %.1f us\n",
           p50, p99, p999);
    printf("  errors %ld, misses %ld", r.errors, r.misses);
    if (c->swap_list != NULL)
        printf(", ring swaps %ld (every %g ms)", sw.swaps, sw.interval_ms);
    printf("\n");
    /* Connect attempts over the run (and the key stores before it). */
    unsigned long long connects = 0;
    size_t ns = mcring_client_server_stats(client, NULL, 0);
    mcring_server_stats *sst = calloc(ns ? ns : 1, sizeof(*sst));
    ns = sst != NULL ? mcring_client_server_stats(client, sst, ns) : 0;
    for (size_t i = 0; i < ns; i++)
        connects += sst[i].connect_attempts;
    free(sst);
    printf("ops=%ld seconds=%.3f ops_per_sec=%.0f errors=%ld misses=%ld "
           "p50_us=%.1f p99_us=%.1f p999_us=%.1f threads=%d batch=%d "
           "swaps=%ld connects=%llu\n",
           r.ops, r.seconds, rate, r.errors, r.misses, p50, p99, p999,
           w.threads, w.batch, sw.swaps, connects);
    bench_mcring_free(&m);
    mcring_client_free(client);
    free(first_list);
    return rc == 0 && r.errors == 0 ? 0 : EXIT_ERR;
}
