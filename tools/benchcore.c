#include <math.h>
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

/* ---- workload: random numbers, key popularity, value sizes -------------- */

uint64_t bench_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* A double in [0, 1) from the top 53 bits. */
static double rand_unit(uint64_t *state)
{
    return (double)(bench_rand(state) >> 11) * 0x1.0p-53;
}

int bench_keys_init(bench_keys *k, int keys, double zipf_s)
{
    k->keys = keys;
    k->cdf = NULL;
    if (zipf_s <= 0)
        return 0;
    k->cdf = malloc((size_t)keys * sizeof(*k->cdf));
    if (k->cdf == NULL)
        return -1;
    /* Summed in long double from the most popular key on, then
     * normalised; the last entry is exactly 1, so every draw in [0, 1)
     * finds a key. */
    long double sum = 0;
    for (int i = 0; i < keys; i++) {
        sum += 1.0L / powl((long double)i + 1, (long double)zipf_s);
        k->cdf[i] = (double)sum;
    }
    for (int i = 0; i < keys; i++)
        k->cdf[i] = (double)((long double)k->cdf[i] / sum);
    k->cdf[keys - 1] = 1.0;
    return 0;
}

void bench_keys_free(bench_keys *k)
{
    free(k->cdf);
    k->cdf = NULL;
}

int bench_keys_next(const bench_keys *k, uint64_t *rng)
{
    if (k->cdf == NULL)
        return (int)(bench_rand(rng) % (uint64_t)k->keys);
    /* The first rank whose cumulative chance exceeds u. */
    double u = rand_unit(rng);
    int lo = 0, hi = k->keys - 1;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (k->cdf[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

double bench_keys_share(const bench_keys *k, int top)
{
    if (top <= 0)
        return 0;
    if (top >= k->keys)
        return 1;
    return k->cdf != NULL ? k->cdf[top - 1] : (double)top / k->keys;
}

int bench_parse_key_dist(const char *s, double *zipf_s)
{
    if (strcmp(s, "uniform") == 0) {
        *zipf_s = 0;
        return 0;
    }
    if (strncmp(s, "zipf:", 5) != 0)
        return -1;
    char *end;
    double v = strtod(s + 5, &end);
    if (end == s + 5 || *end != '\0' || !(v > 0) || v > 10)
        return -1;
    *zipf_s = v;
    return 0;
}

static int parse_size(const char *s, char **end, size_t *out)
{
    if (*s < '0' || *s > '9')
        return -1;
    unsigned long long v = strtoull(s, end, 10);
    if (v > (1ull << 30))
        return -1;
    *out = (size_t)v;
    return 0;
}

int bench_parse_value_size(const char *s, size_t *min, size_t *max)
{
    char *end;
    if (parse_size(s, &end, min) != 0)
        return -1;
    if (*end == '\0') {
        *max = *min;
        return 0;
    }
    if (*end != '-' || parse_size(end + 1, &end, max) != 0 || *end != '\0' ||
        *max < *min)
        return -1;
    return 0;
}

void bench_key_dist_name(double zipf_s, char *buf, size_t len)
{
    if (zipf_s > 0)
        snprintf(buf, len, "zipf:%g", zipf_s);
    else
        snprintf(buf, len, "uniform");
}

/* A value size for one set. */
static size_t value_size(const bench_workload *w, uint64_t *rng)
{
    if (w->value_max <= w->value_min)
        return w->value_min;
    return w->value_min +
           (size_t)(bench_rand(rng) % (uint64_t)(w->value_max - w->value_min + 1));
}

/* value_max bytes of letters: every set sends a prefix of it. */
static char *make_value(const bench_workload *w)
{
    char *v = malloc(w->value_max + 1);
    if (v == NULL) {
        fprintf(stderr, "bench: out of memory for a value of %zu bytes\n",
                w->value_max);
        exit(2);
    }
    for (size_t i = 0; i < w->value_max; i++)
        v[i] = (char)('a' + i % 26);
    return v;
}

/* ---- the runner ----------------------------------------------------------*/

typedef struct runner {
    const bench_workload *w;
    const bench_driver *d;
    bench_keys keys;
    /* Every worker and the main thread meet at each: ready (drivers'
     * thread_start done), go (counters running), end (every operation
     * done), release (measurements taken: thread_stop may run). */
    pthread_barrier_t ready, go, end, release;
    atomic_long done;   /* operations finished, for the progress bar */
    atomic_bool stop;   /* duration runs */
    char *value;
} runner;

typedef struct worker {
    runner *r;
    int id;
    long ops, calls, errors, misses;
    bench_hist hist;
    int started; /* 0 until thread_start ran; -1 if it failed */
} worker;

static void operate(worker *me, void *th)
{
    runner *r = me->r;
    const bench_workload *w = r->w;
    const bench_driver *d = r->d;
    uint64_t rng = (uint64_t)w->seed * 0x100000001b3u + (uint64_t)me->id + 1;
    long budget = w->duration > 0 ? -1 : w->ops / w->threads +
                                             (me->id < w->ops % w->threads);
    int batch = w->batch > 1 ? w->batch : 1;
    int *keys = malloc(sizeof(int) * (size_t)batch);
    uint64_t get_cut = (uint64_t)(w->get_ratio * 1000000.0);
    while (budget != 0 && !atomic_load_explicit(&r->stop, memory_order_relaxed)) {
        bool get = bench_rand(&rng) % 1000000u < get_cut;
        int n = 1;
        if (get && batch > 1) {
            n = batch;
            if (budget > 0 && n > budget)
                n = (int)budget;
            for (int i = 0; i < n; i++)
                keys[i] = bench_keys_next(&r->keys, &rng);
        } else {
            keys[0] = bench_keys_next(&r->keys, &rng);
        }
        size_t len = get ? 0 : value_size(w, &rng);
        uint64_t t0 = now_ns();
        if (get && batch > 1) {
            int misses = 0, errors = 0;
            if (d->mget(th, keys, n, &misses, &errors) < 0)
                errors = n;
            me->misses += misses;
            me->errors += errors;
        } else {
            int rc = get ? d->get(th, keys[0]) : d->set(th, keys[0], r->value, len);
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
}

static void *work(void *arg)
{
    worker *me = arg;
    runner *r = me->r;
    const bench_driver *d = r->d;
    void *th = d->thread_start(d->ctx, me->id);
    me->started = th != NULL ? 1 : -1;
    pthread_barrier_wait(&r->ready);
    pthread_barrier_wait(&r->go);
    if (th != NULL)
        operate(me, th);
    pthread_barrier_wait(&r->end);
    pthread_barrier_wait(&r->release);
    if (th != NULL)
        d->thread_stop(th);
    return NULL;
}

static void draw_progress(double frac, double rate)
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
}

int bench_run(const bench_workload *w, const bench_driver *d,
              bench_result *out)
{
    runner r = {.w = w, .d = d};
    memset(out, 0, sizeof(*out));
    if (bench_keys_init(&r.keys, w->keys, w->zipf_s) != 0) {
        fprintf(stderr, "bench: out of memory for the key table\n");
        exit(2);
    }
    r.value = make_value(w);
    worker *ws = calloc((size_t)w->threads, sizeof(*ws));
    pthread_t *ts = calloc((size_t)w->threads, sizeof(*ts));
    unsigned parties = (unsigned)w->threads + 1;
    pthread_barrier_init(&r.ready, NULL, parties);
    pthread_barrier_init(&r.go, NULL, parties);
    pthread_barrier_init(&r.end, NULL, parties);
    pthread_barrier_init(&r.release, NULL, parties);

    /* Opened before the workers start, so that they inherit them. */
    bench_syscounter sc = {.n = 0};
    bool counting = w->count_syscalls &&
                    bench_syscounter_open(&sc, &out->syscalls_why) == 0;
    if (!w->count_syscalls)
        out->syscalls_why = "not asked for";
    for (int i = 0; i < w->threads; i++) {
        ws[i].r = &r;
        ws[i].id = i;
        if (pthread_create(&ts[i], NULL, work, &ws[i]) != 0) {
            fprintf(stderr, "bench: cannot start thread %d\n", i);
            exit(2);
        }
    }
    pthread_barrier_wait(&r.ready);
    bench_cpu cpu0;
    bench_cpu_now(&cpu0);
    if (counting)
        bench_syscounter_start(&sc);
    uint64_t t0 = now_ns();
    pthread_barrier_wait(&r.go);
    /* The main thread ends duration runs and draws the progress bar. */
    for (;;) {
        struct timespec pause = {0, 50 * 1000 * 1000};
        nanosleep(&pause, NULL);
        double elapsed = (double)(now_ns() - t0) / 1e9;
        long done = atomic_load(&r.done);
        double frac = w->duration > 0 ? elapsed / w->duration
                                      : (double)done / (double)w->ops;
        if (w->progress)
            draw_progress(frac, (double)done / elapsed);
        if (w->duration > 0 && elapsed >= w->duration)
            atomic_store(&r.stop, true);
        if (w->duration > 0 ? elapsed >= w->duration : done >= w->ops)
            break;
    }
    pthread_barrier_wait(&r.end);
    out->seconds = (double)(now_ns() - t0) / 1e9;
    bench_syscounter_read(&sc, out->syscalls);
    bench_syscounter_close(&sc);
    bench_cpu_now(&out->cpu);
    out->cpu.user -= cpu0.user;
    out->cpu.sys -= cpu0.sys;
    out->cpu.switches -= cpu0.switches;
    out->sockets = bench_count_sockets();
    pthread_barrier_wait(&r.release);

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
    if (w->progress) {
        draw_progress(1.0, (double)out->ops / out->seconds);
        printf("\n");
    }
    pthread_barrier_destroy(&r.ready);
    pthread_barrier_destroy(&r.go);
    pthread_barrier_destroy(&r.end);
    pthread_barrier_destroy(&r.release);
    bench_keys_free(&r.keys);
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
    char *value = make_value(w);
    uint64_t rng = (uint64_t)w->seed;
    long failed = 0;
    for (int k = 0; k < w->keys; k++)
        failed += d->set(th, k, value, value_size(w, &rng)) < 0;
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
