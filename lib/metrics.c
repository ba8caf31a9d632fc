#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics.h"
#include "server.h"
#include "state.h"

static const char *const op_names[METRICS_OPS] = {
    [MCRING_OP_GET] = "get",        [MCRING_OP_SET] = "set",
    [MCRING_OP_DELETE] = "delete",  [MCRING_OP_INCR] = "incr",
    [MCRING_OP_DECR] = "decr",      [MCRING_OP_GET_MULTI] = "get_multi",
    [MCRING_OP_SET_MULTI] = "set_multi", [MCRING_OP_TOUCH] = "touch",
    [MCRING_OP_TOUCH_MULTI] = "touch_multi",
};

const char *mcring_op_name(mcring_op op)
{
    return (unsigned)op < METRICS_OPS ? op_names[op] : NULL;
}

/* ---- shards --------------------------------------------------------------*/

/* Shards in use: a power of two, twice the CPUs (so that threads running
 * at once rarely share one), at most METRICS_SHARDS_MAX. */
static unsigned shard_mask;
static pthread_once_t shard_once = PTHREAD_ONCE_INIT;
static atomic_uint next_slot;

static void shard_count_init(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned want = cpus > 0 ? (unsigned)cpus * 2 : 2;
    unsigned n = 1;
    while (n < want && n < METRICS_SHARDS_MAX)
        n *= 2;
    shard_mask = n - 1;
}

/* The thread's slot + 1 (0: none yet). initial-exec: one load from the
 * thread pointer, no call, which is what keeps recording cheap in the
 * shared library. */
static __thread unsigned thread_slot __attribute__((tls_model("initial-exec")));

unsigned metrics_thread_shard(void)
{
    unsigned s = thread_slot;
    if (__builtin_expect(s == 0, 0)) {
        pthread_once(&shard_once, shard_count_init);
        s = atomic_fetch_add_explicit(&next_slot, 1, memory_order_relaxed) + 1;
        thread_slot = s;
    }
    return (s - 1) & shard_mask;
}

metrics_shard *metrics_shard_slow(server_metrics *m, unsigned i)
{
    /* Its own cache lines: aligned_alloc wants a multiple of them. */
    size_t size = (sizeof(metrics_shard) + 63) & ~(size_t)63;
    metrics_shard *fresh = aligned_alloc(64, size);
    if (fresh == NULL)
        return NULL;
    memset(fresh, 0, size);
    metrics_shard *expected = NULL;
    if (atomic_compare_exchange_strong_explicit(&m->shards[i], &expected,
                                                fresh, memory_order_acq_rel,
                                                memory_order_acquire))
        return fresh;
    free(fresh); /* another thread of this slot won */
    return expected;
}

server_metrics *metrics_new(void)
{
    server_metrics *m = calloc(1, sizeof(*m));
    if (m != NULL)
        atomic_init(&m->refs, 1);
    return m;
}

server_metrics *metrics_ref(server_metrics *m)
{
    atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
    return m;
}

void metrics_unref(server_metrics *m)
{
    if (m == NULL ||
        atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (unsigned i = 0; i < METRICS_SHARDS_MAX; i++)
        free(atomic_load_explicit(&m->shards[i], memory_order_relaxed));
    free(m);
}

void metrics_read(server_metrics *m, unsigned op, op_snapshot *out)
{
    memset(out, 0, sizeof(*out));
    for (unsigned i = 0; i < METRICS_SHARDS_MAX; i++) {
        metrics_shard *s =
            atomic_load_explicit(&m->shards[i], memory_order_acquire);
        if (s == NULL)
            continue;
        op_counters *c = &s->ops[op];
        for (unsigned b = 0; b < HIST_BUCKETS; b++) {
            uint64_t n =
                atomic_load_explicit(&c->buckets[b], memory_order_relaxed);
            out->hist.buckets[b] += n;
            out->hist.count += n;
        }
        out->hist.sum_ns +=
            atomic_load_explicit(&c->sum_ns, memory_order_relaxed);
        out->failures +=
            atomic_load_explicit(&c->failures, memory_order_relaxed);
        out->hits += atomic_load_explicit(&c->hits, memory_order_relaxed);
        out->misses += atomic_load_explicit(&c->misses, memory_order_relaxed);
    }
}

/* ---- the request path's hook --------------------------------------------- */

void metrics_attempt_done(const state *st, server *sv, const attempt_info *a,
                          int result, int64_t start, uint64_t hits,
                          uint64_t misses)
{
    int64_t d = clock_now_ns() - start;
    uint64_t ns = d > 0 ? (uint64_t)d : 0;
    if (st->set.histograms)
        metrics_record(sv->metrics, (unsigned)a->op, ns, result, hits,
                       misses);
    if (st->set.trace != NULL) {
        mcring_trace_event ev = {
            .op = a->op,
            .server = sv->name,
            .key_len = a->key_len,
            .keys = a->keys,
            .result = result,
            .duration_ns = ns,
            .attempt = a->attempt,
        };
        st->set.trace(st->set.trace_userdata, &ev);
    }
}

/* ---- the public calls ---------------------------------------------------- */

void mcring_options_set_trace(mcring_options *o, mcring_trace_fn fn, void *ud)
{
    if (o == NULL)
        return;
    o->trace = fn;
    o->trace_userdata = ud;
}
