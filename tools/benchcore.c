#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "benchcore.h"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- histogram ---------------------------------------------------------- */

static size_t bucket_of(uint64_t ns)
{
    if (ns < BENCH_SUB)
        return (size_t)ns;
    int msb = 63 - __builtin_clzll(ns);    /* >= 6 */
    int shift = msb - 6;                   /* BENCH_SUB = 2^6 */
    size_t b = (size_t)(msb - 5) * BENCH_SUB + ((ns >> shift) - BENCH_SUB);
    return b < BENCH_HIST_BUCKETS ? b : BENCH_HIST_BUCKETS - 1;
}

static double bucket_value(size_t b)
{
    if (b < BENCH_SUB)
        return (double)b;
    size_t group = b / BENCH_SUB; /* msb - 5 */
    size_t sub = b % BENCH_SUB;
    int shift = (int)group - 1;
    /* the middle of the bucket */
    return (double)((BENCH_SUB + sub) << shift) + (double)(1u << shift) / 2;
}

void bench_hist_add(bench_hist *h, uint64_t ns)
{
    h->count[bucket_of(ns)]++;
    h->n++;
}

void bench_hist_merge(bench_hist *dst, const bench_hist *src)
{
    for (size_t i = 0; i < BENCH_HIST_BUCKETS; i++)
        dst->count[i] += src->count[i];
    dst->n += src->n;
}

double bench_hist_quantile_us(const bench_hist *h, double q)
{
    if (h->n == 0)
        return 0;
    uint64_t rank = (uint64_t)(q * (double)(h->n - 1)) + 1, seen = 0;
    for (size_t i = 0; i < BENCH_HIST_BUCKETS; i++) {
        seen += h->count[i];
        if (seen >= rank)
            return bucket_value(i) / 1000.0;
    }
    return bucket_value(BENCH_HIST_BUCKETS - 1) / 1000.0;
}

size_t bench_key(int i, char *buf)
{
    return (size_t)snprintf(buf, 24, "key:%d", i);
}

/* ---- the runner ----------------------------------------------------------*/

typedef struct runner {
    const bench_workload *w;
    const bench_driver *d;
    pthread_barrier_t start;
    atomic_long done;   /* operations finished, for the progress bar */
    atomic_bool stop;   /* duration runs */
    uint64_t t0;
    char *value;
} runner;

typedef struct worker {
    runner *r;
    int id;
    long ops, calls, errors, misses;
    bench_hist hist;
    int started; /* 0 until thread_start ran; -1 if it failed */
} worker;

static unsigned next_rand(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

static void *work(void *arg)
{
    worker *me = arg;
    runner *r = me->r;
    const bench_workload *w = r->w;
    const bench_driver *d = r->d;
    void *th = d->thread_start(d->ctx, me->id);
    me->started = th != NULL ? 1 : -1;
    pthread_barrier_wait(&r->start);
    if (th == NULL)
        return NULL;
    unsigned rng = w->seed * 7919u + (unsigned)me->id * 104729u + 1;
    long budget = w->duration > 0 ? -1 : w->ops / w->threads +
                                             (me->id < w->ops % w->threads);
    int batch = w->batch > 1 ? w->batch : 1;
    int *keys = malloc(sizeof(int) * (size_t)batch);
    unsigned get_cut = (unsigned)(w->get_ratio * 1000000.0);
    while (budget != 0 && !atomic_load_explicit(&r->stop, memory_order_relaxed)) {
        bool get = next_rand(&rng) % 1000000u < get_cut;
        uint64_t t0 = now_ns();
        int n = 1;
        if (get && batch > 1) {
            n = batch;
            if (budget > 0 && n > budget)
                n = (int)budget;
            for (int i = 0; i < n; i++)
                keys[i] = (int)(next_rand(&rng) % (unsigned)w->keys);
            int misses = 0, errors = 0;
            if (d->mget(th, keys, n, &misses, &errors) < 0)
                errors = n;
            me->misses += misses;
            me->errors += errors;
        } else {
            int key = (int)(next_rand(&rng) % (unsigned)w->keys);
            int rc = get ? d->get(th, key) : d->set(th, key, r->value, w->value_size);
            if (rc < 0)
                me->errors++;
            else if (rc == 1)
                me->misses++;
        }
        bench_hist_add(&me->hist, now_ns() - t0);
        me->ops += n;
        me->calls++;
        if (budget > 0)
            budget -= n;
        atomic_fetch_add_explicit(&r->done, n, memory_order_relaxed);
    }
    free(keys);
    d->thread_stop(th);
    return NULL;
}

static void draw_progress(runner *r, double frac, double rate)
{
    int width = 40, full = (int)(frac * width);
    if (full > width)
        full = width;
    char bar[64];
    memset(bar, '#', (size_t)full);
    memset(bar + full, ' ', (size_t)(width - full));
    bar[width] = '\0';
    printf("\r  [%s] %3.0f%%  %10.0f ops/s", bar, frac * 100, rate);
    fflush(stdout);
    (void)r;
}

int bench_run(const bench_workload *w, const bench_driver *d,
              bench_result *out)
{
    runner r = {.w = w, .d = d};
    memset(out, 0, sizeof(*out));
    r.value = malloc(w->value_size + 1);
    for (size_t i = 0; i < w->value_size; i++)
        r.value[i] = (char)('a' + i % 26);
    worker *ws = calloc((size_t)w->threads, sizeof(*ws));
    pthread_t *ts = calloc((size_t)w->threads, sizeof(*ts));
    pthread_barrier_init(&r.start, NULL, (unsigned)w->threads + 1);
    for (int i = 0; i < w->threads; i++) {
        ws[i].r = &r;
        ws[i].id = i;
        if (pthread_create(&ts[i], NULL, work, &ws[i]) != 0) {
            fprintf(stderr, "bench: cannot start thread %d\n", i);
            exit(2);
        }
    }
    pthread_barrier_wait(&r.start);
    uint64_t t0 = now_ns();
    /* The main thread ends duration runs and draws the progress bar. */
    for (;;) {
        struct timespec pause = {0, 50 * 1000 * 1000};
        nanosleep(&pause, NULL);
        double elapsed = (double)(now_ns() - t0) / 1e9;
        long done = atomic_load(&r.done);
        double frac = w->duration > 0 ? elapsed / w->duration
                                      : (double)done / (double)w->ops;
        if (w->progress)
            draw_progress(&r, frac, (double)done / elapsed);
        if (w->duration > 0 && elapsed >= w->duration)
            atomic_store(&r.stop, true);
        if (w->duration > 0 ? elapsed >= w->duration : done >= w->ops)
            break;
    }
    int rc = 0;
    for (int i = 0; i < w->threads; i++) {
        pthread_join(ts[i], NULL);
        if (ws[i].started < 0)
            rc = -1;
        out->ops += ws[i].ops;
        out->calls += ws[i].calls;
        out->errors += ws[i].errors;
        out->misses += ws[i].misses;
        bench_hist_merge(&out->hist, &ws[i].hist);
    }
    out->seconds = (double)(now_ns() - t0) / 1e9;
    if (w->progress) {
        draw_progress(&r, 1.0, (double)out->ops / out->seconds);
        printf("\n");
    }
    pthread_barrier_destroy(&r.start);
    free(ws);
    free(ts);
    free(r.value);
    return rc;
}

long bench_prepare(const bench_workload *w, const bench_driver *d)
{
    void *th = d->thread_start(d->ctx, 0);
    if (th == NULL)
        return w->keys;
    char *value = malloc(w->value_size + 1);
    for (size_t i = 0; i < w->value_size; i++)
        value[i] = (char)('a' + i % 26);
    long failed = 0;
    for (int k = 0; k < w->keys; k++)
        failed += d->set(th, k, value, w->value_size) < 0;
    free(value);
    d->thread_stop(th);
    return failed;
}

/* ---- the mcring driver ---------------------------------------------------*/

typedef struct mcring_thread {
    bench_mcring *m;
    mcring_item item;
    mcring_key *batch_keys;
    mcring_item *items;
    int *status;
    int cap;
} mcring_thread;

int bench_mcring_init(bench_mcring *m, mcring_client *client, int keys)
{
    m->client = client;
    m->keys = keys;
    m->key = malloc((size_t)keys * sizeof(*m->key));
    m->klen = malloc((size_t)keys * sizeof(*m->klen));
    if (m->key == NULL || m->klen == NULL)
        return -1;
    for (int i = 0; i < keys; i++)
        m->klen[i] = bench_key(i, m->key[i]);
    return 0;
}

void bench_mcring_free(bench_mcring *m)
{
    free(m->key);
    free(m->klen);
}

static void *mc_start(void *ctx, int thread)
{
    (void)thread;
    mcring_thread *t = calloc(1, sizeof(*t));
    t->m = ctx;
    return t;
}

static void mc_stop(void *th)
{
    mcring_thread *t = th;
    mcring_item_release(&t->item);
    for (int i = 0; i < t->cap; i++)
        mcring_item_release(&t->items[i]);
    free(t->items);
    free(t->batch_keys);
    free(t->status);
    free(t);
}

static int mc_get(void *th, int key)
{
    mcring_thread *t = th;
    int rc = mcring_get(t->m->client, t->m->key[key], t->m->klen[key], &t->item);
    return rc == MCRING_OK || rc == MCRING_UNDECODABLE ? 0
           : rc == MCRING_MISS                         ? 1
                                                       : rc;
}

static int mc_set(void *th, int key, const char *value, size_t len)
{
    mcring_thread *t = th;
    return mcring_set(t->m->client, t->m->key[key], t->m->klen[key], value, len,
                      0, 0);
}

static int mc_mget(void *th, const int *keys, int n, int *misses, int *errors)
{
    mcring_thread *t = th;
    if (n > t->cap) {
        t->batch_keys = realloc(t->batch_keys, (size_t)n * sizeof(mcring_key));
        t->items = realloc(t->items, (size_t)n * sizeof(mcring_item));
        t->status = realloc(t->status, (size_t)n * sizeof(int));
        for (int i = t->cap; i < n; i++)
            t->items[i] = (mcring_item)MCRING_ITEM_INIT;
        t->cap = n;
    }
    for (int i = 0; i < n; i++)
        t->batch_keys[i] = (mcring_key){t->m->key[keys[i]], t->m->klen[keys[i]]};
    mcring_get_multi(t->m->client, t->batch_keys, (size_t)n, NULL, 0, t->items,
                     t->status);
    for (int i = 0; i < n; i++) {
        if (t->status[i] == MCRING_MISS)
            (*misses)++;
        else if (t->status[i] < 0)
            (*errors)++;
    }
    return 0;
}

bench_driver bench_mcring_driver(bench_mcring *m)
{
    return (bench_driver){"mcring", m, mc_start, mc_stop, mc_get, mc_set,
                          mc_mget};
}
