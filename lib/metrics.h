/*
 * Latency histograms and outcome counts per server and op, and the trace
 * hook: what the request path records for each attempt (request.c's
 * with_failover, multi.c's rounds) and what the stats calls and the
 * Prometheus exposition read.
 *
 * Recording is lock-free and cheap: each server keeps an array of shards,
 * each thread records into the shard of its own slot number (given on its
 * first recording, round-robin), with relaxed atomic adds. Shards are
 * allocated on first use, so a server nobody sends to costs one small
 * array. Readers add the shards up (metrics_read); a reader racing with
 * recorders sees each counter at some recent value, never a torn one.
 *
 * A server's metrics object is shared with the successor that replaces it
 * when the pool size changes (server_inherit), so neither loses what the
 * other records; it goes with the last of them.
 */
#ifndef MCRING_METRICS_H
#define MCRING_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "clock.h"
#include "histogram.h"
#include "mcring.h"

/* Op kinds recorded (mcring_op's values). */
#define METRICS_OPS 9

/* Most shards a server has; the number used is set once per process from
 * the CPU count (metrics_shard_count). */
#define METRICS_SHARDS_MAX 16

typedef struct op_counters {
    atomic_uint_fast64_t buckets[HIST_BUCKETS];
    atomic_uint_fast64_t sum_ns;
    atomic_uint_fast64_t failures;
    atomic_uint_fast64_t hits;
    atomic_uint_fast64_t misses;
} op_counters;

typedef struct metrics_shard {
    op_counters ops[METRICS_OPS];
} metrics_shard;

typedef struct server_metrics {
    _Atomic(metrics_shard *) shards[METRICS_SHARDS_MAX];
    atomic_uint refs;
} server_metrics;

/* A new, empty metrics object with one reference, or NULL. */
server_metrics *metrics_new(void);
/* Takes another reference. */
server_metrics *metrics_ref(server_metrics *m);
/* Drops a reference; the last one frees it. Accepts NULL. */
void metrics_unref(server_metrics *m);

/* The calling thread's shard index (assigned on its first call). */
unsigned metrics_thread_shard(void);

/* The shard to record into, allocated on first use; NULL only when that
 * allocation failed (the sample is then dropped). Thread-safe. */
metrics_shard *metrics_shard_slow(server_metrics *m, unsigned i);

static inline metrics_shard *metrics_shard_of(server_metrics *m)
{
    unsigned i = metrics_thread_shard();
    metrics_shard *s = atomic_load_explicit(&m->shards[i],
                                            memory_order_acquire);
    return s != NULL ? s : metrics_shard_slow(m, i);
}

/* Records one attempt of op that took ns: its bucket and sum, a failure
 * when result < 0, and `hits`/`misses` keys. Lock-free. */
static inline void metrics_record(server_metrics *m, unsigned op, uint64_t ns,
                                  int result, uint64_t hits, uint64_t misses)
{
    metrics_shard *s = metrics_shard_of(m);
    if (s == NULL)
        return;
    op_counters *c = &s->ops[op];
    atomic_fetch_add_explicit(&c->buckets[hist_bucket(ns)], 1,
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&c->sum_ns, ns, memory_order_relaxed);
    if (result < 0)
        atomic_fetch_add_explicit(&c->failures, 1, memory_order_relaxed);
    if (hits != 0)
        atomic_fetch_add_explicit(&c->hits, hits, memory_order_relaxed);
    if (misses != 0)
        atomic_fetch_add_explicit(&c->misses, misses, memory_order_relaxed);
}

/* One (server, op) as read: the shards added up. */
typedef struct op_snapshot {
    histogram_snapshot hist;
    uint64_t failures, hits, misses;
} op_snapshot;

/* Adds up op's counters over m's shards into *out (overwritten). */
void metrics_read(server_metrics *m, unsigned op, op_snapshot *out);

/* ---- the request path's hooks ------------------------------------------- */

/* What is recorded of an attempt besides its server and result. */
typedef struct attempt_info {
    mcring_op op;
    size_t key_len; /* the caller's key(s) */
    size_t keys;
    unsigned attempt; /* 1-based; a multi-key call's round */
} attempt_info;

struct state;
struct server;

/* When an attempt starts: the clock, read only when histograms or a trace
 * hook want it (else 0, and metrics_attempt_end does nothing). */
static inline int64_t metrics_attempt_start(bool timed)
{
    return timed ? clock_now_ns() : 0;
}

/* After the attempt: records it into sv's histograms (when kept) and calls
 * the trace hook (when set). hits and misses are keys, for gets. */
void metrics_attempt_done(const struct state *st, struct server *sv,
                          const attempt_info *a, int result, int64_t start,
                          uint64_t hits, uint64_t misses);

/* For single-key attempts: the hit or miss a get's result means. */
static inline void metrics_attempt_end(const struct state *st,
                                       struct server *sv,
                                       const attempt_info *a, int result,
                                       int64_t start)
{
    bool get = a->op == MCRING_OP_GET;
    metrics_attempt_done(st, sv, a, result, start,
                         get && (result == MCRING_OK ||
                                 result == MCRING_UNDECODABLE),
                         get && result == MCRING_MISS);
}

#endif
