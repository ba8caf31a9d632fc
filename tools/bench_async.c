/*
 * The benchmark workload through the async API (mcring/async.h): one
 * thread, one epoll loop (mcring/adapters/epoll.h), a fixed number of
 * requests kept in flight. Each completion records its latency (from the
 * request's queueing to its callback) and queues the next operation, so
 * the loop always has `inflight` requests outstanding. Measures what
 * bench_run measures, so `mcring bench --async N` prints the same figures
 * as the threaded runs it is compared with.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mcring/adapters/epoll.h>

#include "benchcore.h"

typedef struct arun arun;

/* One of the requests kept in flight. */
typedef struct aslot {
    arun *r;
    uint64_t t0;
} aslot;

struct arun {
    const bench_workload *w;
    mcring_async *async;
    bench_keys keys;
    uint64_t rng;
    char *value;
    char (*key)[24];
    size_t *klen;
    bool stop;
    long issued, ops, errors, misses;
    bench_hist hist;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void issue(aslot *s);

/* One operation ended with rc (0 or a hit, 1 a miss, < 0 a failure). */
static void ended(aslot *s, int rc)
{
    arun *r = s->r;
    bench_hist_add(&r->hist, now_ns() - s->t0);
    r->ops++;
    if (rc == MCRING_MISS)
        r->misses++;
    else if (rc < 0)
        r->errors++;
    if (!r->stop)
        issue(s);
}

static void on_get(mcring_async *a, int rc, const mcring_item *item,
                   void *ud)
{
    (void)a;
    (void)item;
    ended(ud, rc);
}

static void on_set(mcring_async *a, int rc, void *ud)
{
    (void)a;
    ended(ud, rc);
}

static void issue(aslot *s)
{
    arun *r = s->r;
    const bench_workload *w = r->w;
    int k = bench_keys_next(&r->keys, &r->rng);
    bool get = (double)(bench_rand(&r->rng) >> 11) * 0x1.0p-53 < w->get_ratio;
    size_t len = w->value_min;
    if (w->value_max > w->value_min)
        len += bench_rand(&r->rng) % (w->value_max - w->value_min + 1);
    s->t0 = now_ns();
    r->issued++;
    int rc = get ? mcring_async_get(r->async, r->key[k], r->klen[k], on_get, s)
                 : mcring_async_set(r->async, r->key[k], r->klen[k], r->value,
                                    len, 0, 0, on_set, s);
    if (rc != 0) {
        /* Refused at once (no callback will come): count it and stop
         * this slot, or the loop would spin on the refusals. */
        bench_hist_add(&r->hist, now_ns() - s->t0);
        r->ops++;
        r->errors++;
    }
}

int bench_run_async(const bench_workload *w, mcring_client *client,
                    int inflight, bench_result *out)
{
    memset(out, 0, sizeof(*out));
    arun r = {.w = w, .rng = (uint64_t)w->seed * 0x9e3779b97f4a7c15u + 1};
    if (bench_keys_init(&r.keys, w->keys, w->zipf_s) != 0)
        return -1;
    r.value = malloc(w->value_max > 0 ? w->value_max : 1);
    r.key = malloc((size_t)w->keys * sizeof(*r.key));
    r.klen = malloc((size_t)w->keys * sizeof(*r.klen));
    aslot *slots = calloc((size_t)inflight, sizeof(*slots));
    mcring_epoll loop;
    int rc = -1;
    if (r.value == NULL || r.key == NULL || r.klen == NULL || slots == NULL ||
        mcring_epoll_init(&loop) != 0)
        goto out;
    memset(r.value, 'v', w->value_max > 0 ? w->value_max : 1);
    for (int k = 0; k < w->keys; k++)
        r.klen[k] = bench_key(k, r.key[k]);
    if (mcring_async_new_epoll(&r.async, client, &loop) != 0) {
        mcring_epoll_close(&loop);
        goto out;
    }

    bench_syscounter sc = {.n = 0};
    bool counting = w->count_syscalls &&
                    bench_syscounter_open(&sc, &out->syscalls_why) == 0;
    if (!w->count_syscalls)
        out->syscalls_why = "not asked for";
    bench_cpu cpu0;
    bench_cpu_now(&cpu0);
    if (counting)
        bench_syscounter_start(&sc);
    uint64_t t0 = now_ns();
    uint64_t end = w->duration > 0 ? t0 + (uint64_t)(w->duration * 1e9) : 0;
    for (int i = 0; i < inflight; i++) {
        slots[i].r = &r;
        issue(&slots[i]);
    }
    while (mcring_async_pending(r.async) > 0) {
        mcring_epoll_run_once(&loop, 100);
        if (!r.stop && (end != 0 ? now_ns() >= end : r.issued >= w->ops))
            r.stop = true;
    }
    out->seconds = (double)(now_ns() - t0) / 1e9;
    bench_syscounter_read(&sc, out->syscalls);
    bench_syscounter_close(&sc);
    bench_cpu_now(&out->cpu);
    out->cpu.user -= cpu0.user;
    out->cpu.sys -= cpu0.sys;
    out->cpu.switches -= cpu0.switches;
    out->sockets = bench_count_sockets();
    out->ops = out->calls = r.ops;
    out->errors = r.errors;
    out->misses = r.misses;
    out->hist = r.hist;
    mcring_async_free(r.async);
    mcring_epoll_close(&loop);
    rc = 0;
out:
    bench_keys_free(&r.keys);
    free(r.value);
    free(r.key);
    free(r.klen);
    free(slots);
    return rc;
}
