/*
 * mcring bench --herd [--lease]: a thundering herd on one hot key.
 *
 * T reader threads read one key in a loop. Its value comes from a
 * simulated origin (a database, a renderer) that takes --origin-ms and
 * counts its calls. Under load the key goes away again and again: it is
 * invalidated every --herd-every-ms (the origin's data changed; plain mode
 * deletes the key, lease mode marks it stale), or, with --herd-ttl S, it
 * is stored for S seconds and expires.
 *
 * Plain mode is what a cache-aside reader does with get and set: every
 * reader that misses calls the origin and stores what it got. Lease mode
 * uses mcring_lease_get (meta protocol): one reader wins the refill, the
 * others serve the stale value or wait for the winner's (and, with
 * --herd-ttl, one reader refreshes early, before the key expires).
 *
 * Each reader pauses --think-ms between reads (a server's request rate
 * per thread, and what keeps 64 readers from saturating two cores, whose
 * run queues would otherwise set the latency figures).
 *
 * The last line is key=value pairs: origin_calls; expiries (invalidations
 * done, or with --herd-ttl the bursts of origin calls, each more than 20
 * ms after the previous call: one per expiry whatever the herd's size);
 * stale_reads, waits and the longest wait for a winner's value
 * (max_wait_us); p50/p99/max read latency in microseconds; errors.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define VALUE_SIZE 100

typedef struct herd {
    mcring_client *client;
    bool lease;
    char key[64];
    double origin_ms, herd_ttl, think_ms;
    atomic_bool stop;
    atomic_long origin_calls, version, invalidations, bursts;
    atomic_long stale_reads, waits, reads, errors;
    _Atomic int64_t last_call_ns; /* when the origin was last called */
    _Atomic int64_t max_wait_ns;  /* longest wait for a winner's value */
} herd;

typedef struct reader {
    herd *h;
    double *lat_us;
    size_t n, cap;
} reader;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double now_s(void)
{
    return (double)now_ns() / 1e9;
}

/* Origin calls further apart than this start a new burst. */
#define BURST_GAP_NS (20 * 1000000LL)

static void sleep_ms(double ms)
{
    struct timespec ts = {(time_t)(ms / 1000),
                          (long)((ms - (double)(time_t)(ms / 1000) * 1000) *
                                 1e6)};
    nanosleep(&ts, NULL);
}

/* The slow source of truth: takes origin_ms, counts the call. */
static size_t origin(herd *h, char *buf)
{
    atomic_fetch_add(&h->origin_calls, 1);
    int64_t t = now_ns();
    if (t - atomic_exchange(&h->last_call_ns, t) > BURST_GAP_NS)
        atomic_fetch_add(&h->bursts, 1);
    sleep_ms(h->origin_ms);
    long v = atomic_load(&h->version);
    int n = snprintf(buf, VALUE_SIZE + 1, "version %ld ", v);
    memset(buf + n, 'x', VALUE_SIZE - (size_t)n);
    return VALUE_SIZE;
}

/* One read, plain cache-aside: get, and on a miss the origin and a set. */
static int read_plain(herd *h, mcring_item *it)
{
    const char *k = h->key;
    int rc = mcring_get(h->client, k, strlen(k), it);
    if (rc == MCRING_OK)
        return 0;
    if (rc != MCRING_MISS)
        return -1;
    char v[VALUE_SIZE + 1];
    size_t n = origin(h, v);
    return mcring_set(h->client, k, strlen(k), v, n, 0, h->herd_ttl) ==
                   MCRING_OK
               ? 0
               : -1;
}

/* One read with a lease: serve what is there, refill if won, wait for
 * the winner if there is nothing to serve. */
static int read_lease(herd *h, mcring_item *it)
{
    const char *k = h->key;
    mcring_lease l;
    int rc = mcring_lease_get(h->client, k, strlen(k), it, &l);
    if (rc == MCRING_WAIT) {
        atomic_fetch_add(&h->waits, 1);
        int64_t t0 = now_ns();
        rc = mcring_lease_wait(h->client, k, strlen(k), 1.0, it, &l);
        int64_t took = now_ns() - t0;
        int64_t seen = atomic_load(&h->max_wait_ns);
        while (took > seen &&
               !atomic_compare_exchange_weak(&h->max_wait_ns, &seen, took))
            ;
    }
    switch (rc) {
    case MCRING_OK:
        return 0;
    case MCRING_STALE:
        atomic_fetch_add(&h->stale_reads, 1);
        return 0;
    case MCRING_WON: {
        char v[VALUE_SIZE + 1];
        size_t n = origin(h, v);
        int f = mcring_lease_fill(h->client, k, strlen(k), &l, v, n, 0,
                                  h->herd_ttl);
        /* EXISTS: invalidated again meanwhile; the next reader refills. */
        return f == MCRING_OK || f == MCRING_EXISTS ? 0 : -1;
    }
    default:
        return -1;
    }
}

static void *reader_loop(void *arg)
{
    reader *r = arg;
    herd *h = r->h;
    mcring_item it = MCRING_ITEM_INIT;
    while (!atomic_load_explicit(&h->stop, memory_order_relaxed)) {
        double t0 = now_s();
        int rc = h->lease ? read_lease(h, &it) : read_plain(h, &it);
        double us = (now_s() - t0) * 1e6;
        atomic_fetch_add_explicit(&h->reads, 1, memory_order_relaxed);
        if (rc != 0)
            atomic_fetch_add(&h->errors, 1);
        if (r->n == r->cap) {
            size_t cap = r->cap ? r->cap * 2 : 4096;
            double *l = realloc(r->lat_us, cap * sizeof(*l));
            if (l == NULL)
                continue;
            r->lat_us = l;
            r->cap = cap;
        }
        r->lat_us[r->n++] = us;
        if (h->think_ms > 0)
            sleep_ms(h->think_ms);
    }
    mcring_item_release(&it);
    return NULL;
}

typedef struct invalidator {
    herd *h;
    double every_ms;
} invalidator;

/* The origin's data changes every every_ms: the cache entry goes. */
static void *invalidate_loop(void *arg)
{
    invalidator *iv = arg;
    herd *h = iv->h;
    const char *k = h->key;
    while (!atomic_load(&h->stop)) {
        sleep_ms(iv->every_ms);
        if (atomic_load(&h->stop))
            break;
        atomic_fetch_add(&h->version, 1);
        int rc = h->lease ? mcring_lease_invalidate(h->client, k, strlen(k), 0)
                          : mcring_delete(h->client, k, strlen(k), NULL, 0);
        if (rc == MCRING_OK)
            atomic_fetch_add(&h->invalidations, 1);
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int set_option(cli *c, const char *name, const char *value)
{
    char err[256];
    if (mcring_options_set(c->opts, name, value, err, sizeof(err)) != 0)
        return cli_fail("bench --herd", err);
    return 0;
}

int cmd_herd(cli *c)
{
    if (c->argc != 0) {
        fputs("usage: mcring bench --herd [--lease] [--threads T] "
              "[--duration S] [--herd-every-ms MS] [--origin-ms MS] "
              "[--herd-ttl S] [--think-ms MS]\n",
              stderr);
        return EXIT_ERR;
    }
    int threads = c->threads > 0 ? c->threads : 64;
    double duration = c->duration > 0 ? c->duration : 5;
    /* Leases are a meta-protocol feature; with a TTL, one reader
     * refreshes in the last half of it. */
    if (c->lease && set_option(c, "protocol", "meta"))
        return EXIT_ERR;
    if (c->lease && c->herd_ttl >= 2) {
        char v[32];
        snprintf(v, sizeof(v), "%d", (int)(c->herd_ttl / 2));
        if (set_option(c, "lease_recache", v))
            return EXIT_ERR;
    }
    mcring_client *client = cli_client(c);
    if (client == NULL)
        return EXIT_ERR;
    herd *h = calloc(1, sizeof(*h));
    h->client = client;
    h->lease = c->lease;
    h->origin_ms = c->origin_ms;
    h->herd_ttl = c->herd_ttl;
    h->think_ms = c->think_ms;
    snprintf(h->key, sizeof(h->key), "herd:%ld:%s", (long)getpid(),
             c->lease ? "lease" : "plain");
    const char *cycle = c->herd_ttl > 0 ? "expiry" : "invalidation";
    printf("mcring bench --herd: %s, %d threads (%g ms between reads), "
           "%.1f s, origin %.1f ms, %s every %g %s\n",
           c->lease ? "leases" : "plain get/set", threads, c->think_ms,
           duration, c->origin_ms, cycle,
           c->herd_ttl > 0 ? c->herd_ttl : c->herd_every_ms,
           c->herd_ttl > 0 ? "s" : "ms");

    /* The key starts cached: the first herd is not counted. */
    {
        char v[VALUE_SIZE + 1];
        int n = snprintf(v, sizeof(v), "version 0 ");
        memset(v + n, 'x', VALUE_SIZE - (size_t)n);
        if (mcring_set(client, h->key, strlen(h->key), v, VALUE_SIZE, 0,
                       h->herd_ttl) != MCRING_OK)
            fprintf(stderr, "mcring: bench --herd: the first set failed\n");
    }
    reader *rs = calloc((size_t)threads, sizeof(*rs));
    pthread_t *ts = calloc((size_t)threads, sizeof(*ts));
    pthread_t inv;
    invalidator iv = {h, c->herd_every_ms};
    double t0 = now_s();
    for (int i = 0; i < threads; i++) {
        rs[i].h = h;
        pthread_create(&ts[i], NULL, reader_loop, &rs[i]);
    }
    if (c->herd_ttl <= 0)
        pthread_create(&inv, NULL, invalidate_loop, &iv);
    sleep_ms(duration * 1000);
    atomic_store(&h->stop, true);
    for (int i = 0; i < threads; i++)
        pthread_join(ts[i], NULL);
    if (c->herd_ttl <= 0)
        pthread_join(inv, NULL);
    double seconds = now_s() - t0;

    size_t total = 0;
    for (int i = 0; i < threads; i++)
        total += rs[i].n;
    double *all = malloc((total ? total : 1) * sizeof(*all));
    size_t off = 0;
    for (int i = 0; i < threads; i++) {
        if (rs[i].n > 0)
            memcpy(all + off, rs[i].lat_us, rs[i].n * sizeof(*all));
        off += rs[i].n;
        free(rs[i].lat_us);
    }
    qsort(all, total, sizeof(*all), cmp_double);
    double p50 = total ? all[total / 2] : 0;
    double p99 = total ? all[(size_t)((double)total * 0.99)] : 0;
    double max = total ? all[total - 1] : 0;
    long calls = atomic_load(&h->origin_calls);
    long exp = c->herd_ttl > 0 ? atomic_load(&h->bursts)
                               : atomic_load(&h->invalidations);
    double max_wait = (double)atomic_load(&h->max_wait_ns) / 1e3;
    printf("  %ld reads in %.2f s; %ld origin calls for %ld expiries "
           "(%.1f per expiry)\n",
           atomic_load(&h->reads), seconds, calls, exp,
           exp ? (double)calls / (double)exp : 0.0);
    printf("  stale reads %ld, waits %ld (longest %.0f us), errors %ld; "
           "read latency p50 %.0f us, p99 %.0f us, max %.0f us\n",
           atomic_load(&h->stale_reads), atomic_load(&h->waits), max_wait,
           atomic_load(&h->errors), p50, p99, max);
    printf("mode=%s threads=%d seconds=%.2f reads=%ld origin_calls=%ld "
           "expiries=%ld invalidations=%ld bursts=%ld origin_per_expiry=%.2f "
           "stale_reads=%ld waits=%ld max_wait_us=%.0f p50_us=%.0f "
           "p99_us=%.0f max_us=%.0f origin_ms=%g errors=%ld\n",
           c->lease ? "lease" : "plain", threads, seconds,
           atomic_load(&h->reads), calls, exp,
           atomic_load(&h->invalidations), atomic_load(&h->bursts),
           exp ? (double)calls / (double)exp : 0.0,
           atomic_load(&h->stale_reads), atomic_load(&h->waits), max_wait,
           p50, p99, max, c->origin_ms, atomic_load(&h->errors));
    int status = atomic_load(&h->errors) == 0 ? 0 : EXIT_ERR;
    mcring_delete(client, h->key, strlen(h->key), NULL, 0);
    free(all);
    free(rs);
    free(ts);
    free(h);
    mcring_client_free(client);
    return status;
}
