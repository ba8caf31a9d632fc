/*
 * mcring bench: a load generator on the public API.
 *
 *   mcring bench --servers LIST [--threads T] [--ops N | --duration S]
 *                [--keys K] [--key-dist uniform|zipf:S]
 *                [--value-size V|MIN-MAX] [--get-ratio R] [--batch B]
 *                [--swap LIST2 [--swap-interval-ms MS]]
 *                [--max-conns C|threads]
 *
 * Stores the keys first so that gets hit. Prints a summary (and a progress
 * bar on a terminal); the last line is key=value pairs for scripts: the
 * settings, throughput and latency, and what the run cost per operation
 * (system calls counted by the kernel, context switches, client CPU; n/a
 * where they cannot be counted) and the sockets open at its end. Errors
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

/* Per operation, or "n/a" when not measured. */
static void per_op(char *buf, size_t len, double v, long ops, double scale)
{
    if (v < 0 || ops <= 0)
        snprintf(buf, len, "n/a");
    else
        snprintf(buf, len, "%.3f", v * scale / (double)ops);
}

/* The list of the ring's servers, comma-separated (caller frees). */
static char *server_list(mcring_client *client, size_t *count)
{
    mcring_ring *ring = mcring_client_ring_ref(client);
    size_t n = mcring_ring_size(ring), len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(mcring_ring_server(ring, i)) + 1;
    char *list = calloc(1, len);
    for (size_t i = 0; list != NULL && i < n; i++) {
        if (i)
            strcat(list, ",");
        strcat(list, mcring_ring_server(ring, i));
    }
    mcring_ring_free(ring);
    *count = n;
    return list;
}

/* Sockets the client holds to its servers (sum of conns_open), and the
 * first server's connection cap. */
static long client_conns(mcring_client *client, long *max_conns)
{
    mcring_server_stats st[64];
    size_t n = mcring_client_server_stats(client, st, 64);
    long open = 0;
    *max_conns = n > 0 ? (long)st[0].max_connections : 0;
    for (size_t i = 0; i < n && i < 64; i++)
        open += st[i].conns_open;
    return n <= 64 ? open : -1;
}

int cmd_bench(cli *c)
{
    if (c->argc != 0) {
        fputs("usage: mcring bench [--threads T] [--ops N | --duration S] "
              "[--keys K] [--key-dist uniform|zipf:S] "
              "[--value-size V|MIN-MAX] [--get-ratio R] [--batch B] "
              "[--swap LIST2 [--swap-interval-ms MS]] [--max-conns C] "
              "[--async N]\n",
              stderr);
        return EXIT_ERR;
    }
    bench_workload w = {
        .threads = c->threads > 0 ? c->threads : 1,
        .ops = c->ops > 0 ? c->ops : 100000,
        .duration = c->duration,
        .keys = c->keys > 0 ? (int)c->keys : 2000,
        .value_min = 100,
        .value_max = 100,
        .get_ratio = c->get_ratio >= 0 ? c->get_ratio : 0.9,
        .batch = c->batch > 0 ? c->batch : 1,
        .progress = isatty(STDOUT_FILENO),
        .count_syscalls = true,
        .seed = (unsigned)c->seed,
    };
    if (c->async > 0 && (w.batch > 1 || w.threads > 1))
        return cli_fail("bench", "--async runs one thread of single-key "
                                 "operations: no --batch or --threads");
    if (w.get_ratio > 1 || w.threads > 4096 || w.batch > 100000)
        return cli_fail("bench", "--get-ratio must be 0..1, --threads at most "
                                 "4096, --batch at most 100000");
    if (c->value_size != NULL &&
        bench_parse_value_size(c->value_size, &w.value_min, &w.value_max) != 0)
        return cli_fail("--value-size", "must be N or MIN-MAX, 0 to 2^30 "
                                        "bytes, MIN <= MAX");
    if (c->key_dist != NULL && bench_parse_key_dist(c->key_dist, &w.zipf_s) != 0)
        return cli_fail("--key-dist", "must be uniform or zipf:S with "
                                      "0 < S <= 10");
    char err[512];
    /* memcache_max_connections as configured (pipelined connections
     * shared by the threads, Swift's default 2) unless told otherwise;
     * 'threads' gives each thread a socket per server, as the model
     * without pipelining needs to avoid queueing. */
    if (c->max_conns != NULL) {
        char conns[16];
        if (strcmp(c->max_conns, "threads") == 0)
            snprintf(conns, sizeof(conns), "%d", w.threads);
        else
            snprintf(conns, sizeof(conns), "%s", c->max_conns);
        if (mcring_options_set(c->opts, "memcache_max_connections", conns, err,
                               sizeof(err)) != 0)
            return cli_fail("bench", err);
    }
    long socket_base = bench_count_sockets();
    mcring_client *client = cli_client(c);
    if (client == NULL)
        return EXIT_ERR;
    size_t nservers;
    char *first_list = server_list(client, &nservers);

    bench_mcring m;
    if (first_list == NULL || bench_mcring_init(&m, client, w.keys) != 0) {
        free(first_list);
        mcring_client_free(client);
        return cli_fail("bench", "out of memory");
    }
    bench_driver d = bench_mcring_driver(&m);
    char dist[32], sizes[48];
    bench_key_dist_name(w.zipf_s, dist, sizeof(dist));
    if (w.value_min == w.value_max)
        snprintf(sizes, sizeof(sizes), "%zu", w.value_min);
    else
        snprintf(sizes, sizeof(sizes), "%zu-%zu", w.value_min, w.value_max);
    printf("mcring bench: %zu servers, %d threads, %s %g, %d keys (%s) of "
           "%s bytes, %.0f%% gets",
           nservers, w.threads, w.duration > 0 ? "seconds" : "operations",
           w.duration > 0 ? w.duration : (double)w.ops, w.keys, dist, sizes,
           w.get_ratio * 100);
    if (w.batch > 1)
        printf(" as multi-gets of %d keys", w.batch);
    if (c->async > 0)
        printf("; one event loop with %d requests in flight (async API)",
               c->async);
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
    int rc = c->async > 0 ? bench_run_async(&w, client, c->async, &r)
                          : bench_run(&w, &d, &r);
    if (c->swap_list != NULL) {
        atomic_store(&sw.stop, true);
        pthread_join(swap_thread, NULL);
    }
    long max_conns;
    long conns_open = client_conns(client, &max_conns);
    long sockets = r.sockets >= 0 && socket_base >= 0 ? r.sockets - socket_base
                                                      : -1;
    double rate = (double)r.ops / r.seconds;
    double p50 = bench_hist_quantile_us(&r.hist, 0.50);
    double p99 = bench_hist_quantile_us(&r.hist, 0.99);
    double p999 = bench_hist_quantile_us(&r.hist, 0.999);
    char sock_op[32], poll_op[32], epoll_op[32], futex_op[32], cpu_op[32],
        sw_op[32];
    per_op(sock_op, sizeof(sock_op), r.syscalls[BENCH_SC_SOCKET], r.ops, 1);
    per_op(poll_op, sizeof(poll_op), r.syscalls[BENCH_SC_POLL], r.ops, 1);
    per_op(epoll_op, sizeof(epoll_op), r.syscalls[BENCH_SC_EPOLL], r.ops, 1);
    per_op(futex_op, sizeof(futex_op), r.syscalls[BENCH_SC_FUTEX], r.ops, 1);
    per_op(cpu_op, sizeof(cpu_op), r.cpu.user + r.cpu.sys, r.ops, 1e6);
    per_op(sw_op, sizeof(sw_op), (double)r.cpu.switches, r.ops, 1);
    printf("  %ld operations in %.2f s: %.0f ops/s\n", r.ops, r.seconds, rate);
    printf("  latency per call: p50 %.1f us, p99 %.1f us, p99.9 %.1f us\n",
           p50, p99, p999);
    printf("  per operation: %s socket calls, %s poll, %s epoll_wait, "
           "%s futex, %s context switches, %s us of client CPU\n",
           sock_op, poll_op, epoll_op, futex_op, sw_op, cpu_op);
    if (r.syscalls_why != NULL)
        printf("  (system calls not counted: %s)\n", r.syscalls_why);
    printf("  sockets open to the servers at the end: %ld (the client's "
           "conns_open: %ld; at most %ld per server)\n",
           sockets, conns_open, max_conns);
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
           "swaps=%ld key_dist=%s value_size=%s keys=%d get_ratio=%g "
           "max_conns=%ld sockets_open=%ld conns_open=%ld "
           "socket_syscalls_per_op=%s poll_per_op=%s epoll_per_op=%s "
           "futex_per_op=%s switches_per_op=%s cpu_us_per_op=%s "
           "connects=%llu async=%d\n",
           r.ops, r.seconds, rate, r.errors, r.misses, p50, p99, p999,
           w.threads, w.batch, sw.swaps, dist, sizes, w.keys, w.get_ratio,
           max_conns, sockets, conns_open, sock_op, poll_op, epoll_op,
           futex_op, sw_op, cpu_op, connects, c->async);
    bench_mcring_free(&m);
    mcring_client_free(client);
    free(first_list);
    return rc == 0 && r.errors == 0 ? 0 : EXIT_ERR;
}
