/* stats and monitor: per-server counters after probing the pool: the
 * connections, then health, connect limits and the gutter, and latency
 * per server and operation; monitor --prometheus also serves them over
 * HTTP (metrics_http.c). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

typedef struct probe_result {
    long hits, misses, errors;
} probe_result;

static probe_result probe(mcring_client *client, long n, long offset)
{
    probe_result r = {0, 0, 0};
    mcring_item item = MCRING_ITEM_INIT;
    char key[48];
    for (long i = 0; i < n; i++) {
        int len = snprintf(key, sizeof(key), "mcring-probe-%ld", offset + i);
        int rc = mcring_get(client, key, (size_t)len, &item);
        if (rc == MCRING_OK || rc == MCRING_UNDECODABLE)
            r.hits++;
        else if (rc == MCRING_MISS)
            r.misses++;
        else
            r.errors++;
    }
    mcring_item_release(&item);
    return r;
}

static int print_stats(mcring_client *client, probe_result pr)
{
    size_t n = mcring_client_server_stats(client, NULL, 0);
    mcring_server_stats *st = calloc(n ? n : 1, sizeof(*st));
    if (st == NULL)
        return cli_fail("stats", "out of memory");
    n = mcring_client_server_stats(client, st, n);
    printf("%-32s %9s %7s %8s %5s %5s %5s %7s %8s %8s\n", "server",
           "requests", "errors", "connects", "open", "idle", "max", "waits",
           "timeouts", "limited");
    for (size_t i = 0; i < n; i++)
        printf("%-32s %9llu %7llu %8llu %5u %5u %5u %7llu %8llu %7.1fs\n",
               st[i].name, (unsigned long long)st[i].requests,
               (unsigned long long)st[i].errors,
               (unsigned long long)st[i].connects, st[i].conns_open,
               st[i].conns_idle, st[i].max_connections,
               (unsigned long long)st[i].pool_waits,
               (unsigned long long)st[i].pool_timeouts, st[i].limited_for);
    /* Health, connects and the gutter (docs/reliability.md). */
    static const char *const states[] = {"up", "soft-down", "hard-down"};
    printf("%-32s %-9s %7s %5s %5s %7s %7s %9s %8s %9s %6s %7s\n",
           "server", "health", "down", "downs", "backs", "probes",
           "failed", "fastfails", "attempts", "c.limited", "capped",
           "gutter");
    for (size_t i = 0; i < n; i++)
        printf("%-32s %-9s %6.1fs %5llu %5llu %7llu %7llu %9llu %8llu %9llu "
               "%6llu %7s\n",
               st[i].name, st[i].health <= 2 ? states[st[i].health] : "?",
               st[i].down_for, (unsigned long long)st[i].downs,
               (unsigned long long)st[i].recoveries,
               (unsigned long long)st[i].probes,
               (unsigned long long)st[i].probe_failures,
               (unsigned long long)st[i].fast_fails,
               (unsigned long long)st[i].connect_attempts,
               (unsigned long long)st[i].connects_limited,
               (unsigned long long)st[i].down_capped,
               st[i].gutter ? "is one" : "");
    printf("probes=%ld hits=%ld misses=%ld errors=%ld\n",
           pr.hits + pr.misses + pr.errors, pr.hits, pr.misses, pr.errors);
    free(st);
    if (cli_print_op_stats(client) != 0)
        return EXIT_ERR;
    return fflush(stdout) == 0 ? 0 : EXIT_ERR;
}

/* A duration for people: 41.3us, 2.15ms, 1.20s. */
static const char *human_time(double s, char *buf, size_t len)
{
    if (s < 1e-3)
        snprintf(buf, len, "%.1fus", s * 1e6);
    else if (s < 1)
        snprintf(buf, len, "%.2fms", s * 1e3);
    else
        snprintf(buf, len, "%.2fs", s);
    return buf;
}

int cli_print_op_stats(mcring_client *client)
{
    size_t n = mcring_client_op_stats(client, NULL, 0);
    if (n == 0)
        return 0;
    /* Room for pairs that get their first attempt meanwhile. */
    size_t room = n + 16;
    mcring_op_stats *st = calloc(room, sizeof(*st));
    if (st == NULL)
        return cli_fail("stats", "out of memory");
    n = mcring_client_op_stats(client, st, room);
    if (n > room)
        n = room;
    printf("%-32s %-9s %9s %8s %6s %8s %8s %8s %8s\n", "server", "op",
           "attempts", "failures", "hit%", "p50", "p90", "p99", "p99.9");
    for (size_t i = 0; i < n; i++) {
        char hit[16] = "-", q[4][16];
        uint64_t asked = st[i].hits + st[i].misses;
        if (asked > 0)
            snprintf(hit, sizeof(hit), "%.1f",
                     100.0 * (double)st[i].hits / (double)asked);
        printf("%-32s %-9s %9llu %8llu %6s %8s %8s %8s %8s\n", st[i].server,
               mcring_op_name(st[i].op), (unsigned long long)st[i].attempts,
               (unsigned long long)st[i].failures, hit,
               human_time(st[i].p50, q[0], sizeof(q[0])),
               human_time(st[i].p90, q[1], sizeof(q[1])),
               human_time(st[i].p99, q[2], sizeof(q[2])),
               human_time(st[i].p999, q[3], sizeof(q[3])));
    }
    free(st);
    return 0;
}

int cmd_stats(cli *c)
{
    if (c->argc != 0) {
        fputs("usage: mcring stats [--keys N]\n", stderr);
        return EXIT_ERR;
    }
    mcring_client *client = cli_client(c);
    if (client == NULL)
        return EXIT_ERR;
    probe_result pr = probe(client, c->keys > 0 ? c->keys : 100, 0);
    int rc = print_stats(client, pr);
    mcring_client_free(client);
    if (rc == 0 && pr.errors > 0)
        rc = EXIT_ERR;
    return rc;
}

static volatile sig_atomic_t got_hup, got_stop;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        got_hup = 1;
    else
        got_stop = 1;
}

int cmd_monitor(cli *c)
{
    if (c->argc != 0) {
        fputs("usage: mcring monitor [--interval S] [--duration S] "
              "[--keys N] [--prometheus [ADDR:]PORT]\n",
              stderr);
        return EXIT_ERR;
    }
    int http = -1;
    if (c->prometheus != NULL &&
        (http = metrics_http_listen(c->prometheus)) < 0)
        return EXIT_ERR;
    mcring_client *client = cli_client(c);
    if (client == NULL) {
        if (http >= 0)
            close(http);
        return EXIT_ERR;
    }
    char err[512];
    if (c->config_path != NULL &&
        mcring_client_watch(client, c->config_path, 1.0, err, sizeof(err)) !=
            0) {
        mcring_client_free(client);
        if (http >= 0)
            close(http);
        return cli_fail("cannot watch the config", err);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    long round = 0;
    int rc = 0;
    while (!got_stop) {
        if (got_hup) {
            got_hup = 0;
            if (mcring_client_reload(client, err, sizeof(err)) != 0)
                printf("--- reload on SIGHUP failed, keeping the running "
                       "config: %s\n",
                       err);
            else
                printf("--- reloaded on SIGHUP\n");
        }
        long n = c->keys > 0 ? c->keys : 20;
        probe_result pr = probe(client, n, round * n);
        time_t t = time(NULL);
        char stamp[32];
        strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", localtime(&t));
        mcring_ring *ring = mcring_client_ring_ref(client);
        printf("--- %s  ring %s, %zu servers\n", stamp,
               mcring_ring_mode_name(ring), mcring_ring_size(ring));
        mcring_ring_free(ring);
        if ((rc = print_stats(client, pr)) != 0)
            break;
        round++;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double elapsed = (double)(now.tv_sec - start.tv_sec) +
                         (double)(now.tv_nsec - start.tv_nsec) / 1e9;
        if (c->duration > 0 && elapsed >= c->duration)
            break;
        if (http >= 0) {
            metrics_http_serve(http, client, c->interval); /* a signal ends
                                                            * it early */
            continue;
        }
        struct timespec pause = {(time_t)c->interval,
                                 (long)((c->interval - (double)(time_t)c->interval) * 1e9)};
        nanosleep(&pause, NULL); /* a signal ends it early */
    }
    if (http >= 0)
        close(http);
    mcring_client_free(client);
    return rc;
}
