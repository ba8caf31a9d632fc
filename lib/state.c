#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "error.h"
#include "state.h"

char state_grace_token;

void registry_init(registry *r)
{
    pthread_mutex_init(&r->lock, NULL);
    r->servers = (strmap){0};
    atomic_init(&r->fleet.down, 0);
    r->fleet.prober = NULL;
}

static void free_server(void *value, void *ctx)
{
    (void)ctx;
    server_free(value);
}

void registry_destroy(registry *r)
{
    strmap_each(&r->servers, free_server, NULL);
    strmap_free(&r->servers);
    pthread_mutex_destroy(&r->lock);
}

static void settings_from_options(settings *s, const mcring_options *o)
{
    s->connect_timeout_ns = clock_s_to_ns(o->connect_timeout);
    s->pool_timeout_ns = clock_s_to_ns(o->pool_timeout);
    s->io_timeout_ns = clock_s_to_ns(o->io_timeout);
    s->limits.window_ns =
        o->error_interval > 0 ? clock_s_to_ns(o->error_interval) : 0;
    s->limits.duration_ns = s->limits.window_ns;
    s->limits.enabled = o->error_interval > 0;
    /* len(errors) > limit with a float limit: floor it; below 0 acts as 0. */
    s->limits.limit = o->error_limit > 0 ? (uint64_t)o->error_limit : 0;
    s->item_size_warning_threshold = o->item_size_warning_threshold;
    s->item_size_max = o->item_size_max;
    s->depth = o->pipelining ? (unsigned)o->pipeline_depth : 1;
    s->fences = o->pipeline_fences;
    s->keys = o->keys;
    s->protocol = o->protocol;
    s->single_flight = o->single_flight;
    s->lease_ttl = o->lease_ttl;
    s->lease_recache = o->lease_recache;
    s->health.probe = o->health_probe;
    s->health.timeouts_until_down = (uint32_t)o->health_timeouts;
    s->health.probe_interval_ns = clock_s_to_ns(o->health_probe_interval);
    s->health.probe_max_interval_ns =
        clock_s_to_ns(o->health_probe_max_interval);
    if (s->health.probe_max_interval_ns < s->health.probe_interval_ns)
        s->health.probe_max_interval_ns = s->health.probe_interval_ns;
    s->health.probe_timeout_ns = clock_s_to_ns(o->health_probe_timeout);
    s->health.jitter = o->health_probe_jitter;
    s->health.max_down = 0; /* set once the server count is known */
    s->connect_concurrency = (unsigned)o->connect_concurrency;
    s->connect_interval_ns =
        o->connect_rate > 0 ? NS_PER_SEC / o->connect_rate : 0;
    s->gutter_ttl = o->gutter_ttl;
    s->log = o->log;
    s->log_userdata = o->log_userdata;
    s->histograms = o->latency_histograms;
    s->trace = o->trace;
    s->trace_userdata = o->trace_userdata;
    s->timed = s->histograms || s->trace != NULL;
    s->compress.algo = (compress_algo)o->compression;
    s->compress.min_len = o->min_compress_len;
    s->compress.limit = decompress_limit(s->item_size_max);
}

/* Drops one state's reference to each of its first n servers; frees those
 * no state names any more. Registry locked. */
static void release_servers(registry *reg, server **servers, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        server *s = servers[i];
        if (s == NULL || --s->refs > 0)
            continue;
        /* A server replaced by a successor of another pool size is no
         * longer the one the registry names. */
        size_t len = strlen(s->name);
        if (strmap_get(&reg->servers, 0, s->name, len) == s)
            strmap_remove(&reg->servers, 0, s->name, len);
        server_free(s);
    }
}

/* The gutter's ring, of the main ring's mode, hashes and tries, over a
 * list that shares no server with the main one (a server in both would
 * be its own fallback). */
static int gutter_build(const mcring_options *o, state *st, char *err,
                        size_t errlen)
{
    server_list list;
    int rc = server_list_parse(o->gutter_servers, &list, err, errlen);
    if (rc != 0)
        return rc;
    rc = ring_build(o->ring, &list, (size_t)o->tries, &st->gutter, err,
                    errlen);
    server_list_free(&list);
    if (rc != 0)
        return rc;
    strmap names = {0};
    for (size_t i = 0; rc == 0 && i < st->ring->nservers; i++) {
        const char *n = st->ring->names[i];
        if (strmap_put(&names, 0, n, strlen(n), (void *)n, NULL) < 0)
            rc = err_set(err, errlen, MCRING_ENOMEM, "out of memory");
    }
    for (size_t i = 0; rc == 0 && i < st->gutter->nservers; i++) {
        const char *n = st->gutter->names[i];
        if (strmap_get(&names, 0, n, strlen(n)) != NULL)
            rc = err_set(err, errlen, MCRING_ECONFIG,
                         "gutter_servers: '%s' is also in memcache_servers",
                         n);
    }
    strmap_free(&names);
    return rc;
}

int state_prepare(const mcring_options *o, state **out, char *err,
                  size_t errlen)
{
    server_list list;
    int rc = server_list_parse(o->servers, &list, err, errlen);
    if (rc != 0)
        return rc;

    state *st = calloc(1, sizeof(*st));
    if (st != NULL)
        atomic_init(&st->pins, 1); /* the publication's */
    if (st == NULL) {
        server_list_free(&list);
        return err_set(err, errlen, MCRING_ENOMEM, "out of memory");
    }
    settings_from_options(&st->set, o);
    st->max_connections = (uint32_t)o->max_connections;
    rc = ring_build(o->ring, &list, (size_t)o->tries, &st->ring, err, errlen);
    server_list_free(&list);
    if (rc != 0) {
        free(st);
        return rc;
    }
    if (o->gutter_servers != NULL)
        rc = gutter_build(o, st, err, errlen);
    if (rc == 0 && o->tls_enabled)
        rc = tls_ctx_new(o->tls_cafile, o->tls_certfile, o->tls_keyfile,
                         &st->tls, err, errlen);
    if (rc != 0) {
        ring_unref(st->gutter);
        ring_unref(st->ring);
        free(st);
        return rc;
    }
    st->nservers = st->ring->nservers +
                   (st->gutter != NULL ? st->gutter->nservers : 0);
    /* The fleet cap: a share of every server, at least one when any. */
    double cap = floor(o->health_max_down * (double)st->nservers);
    st->set.health.max_down = o->health_max_down <= 0 ? 0
                              : cap < 1                ? 1
                                                       : (uint32_t)cap;
    *out = st;
    return 0;
}

/* The name of server i of the state: the ring's, then the gutter's. */
static const char *server_name_at(const state *st, size_t i)
{
    size_t n = st->ring->nservers;
    return i < n ? st->ring->names[i] : st->gutter->names[i - n];
}

int state_attach(state *st, registry *reg, char *err, size_t errlen)
{
    size_t n = st->nservers;
    server **servers = calloc(n ? n : 1, sizeof(*servers));
    if (servers == NULL)
        return err_set(err, errlen, MCRING_ENOMEM, "out of memory");
    int rc = 0;
    size_t done = 0;
    for (; done < n; done++) {
        const char *name = server_name_at(st, done);
        size_t len = strlen(name);
        server *s = strmap_get(&reg->servers, 0, name, len);
        if (s != NULL && s->pool.size != st->max_connections) {
            /* memcache_max_connections changed: a server that stays gets a
             * pool of the new size. Its successor takes over its error
             * history, ban and counters; the old object keeps serving the
             * calls in flight on the states that name it and goes with
             * the last of them. */
            server *n;
            rc = server_new(name, st->max_connections, &n);
            if (rc != 0) {
                err_set(err, errlen, rc, "server '%s': %s", name,
                        mcring_strerror(rc));
                break;
            }
            n->fleet = &reg->fleet;
            server_inherit(n, s);
            strmap_remove(&reg->servers, 0, name, len);
            if (strmap_put(&reg->servers, 0, n->name, len, n, NULL) < 0) {
                /* Cannot happen (a slot was just freed); keep the old. */
                strmap_put(&reg->servers, 0, s->name, len, s, NULL);
                server_free(n);
                rc = err_set(err, errlen, MCRING_ENOMEM, "out of memory");
                break;
            }
            s = n;
        }
        if (s == NULL) {
            /* An added server connects lazily, on its first request. */
            rc = server_new(name, st->max_connections, &s);
            if (rc != 0) {
                err_set(err, errlen, rc, "server '%s': %s", name,
                        mcring_strerror(rc));
                break;
            }
            s->fleet = &reg->fleet;
            /* The map borrows the server's own copy of its name. */
            if (strmap_put(&reg->servers, 0, s->name, len, s, NULL) < 0) {
                server_free(s);
                rc = err_set(err, errlen, MCRING_ENOMEM, "out of memory");
                break;
            }
        }
        s->refs++;
        servers[done] = s;
        rc = server_prepare_limit(s, &st->set.limits);
        if (rc != 0) {
            err_set(err, errlen, rc, "out of memory");
            done++;
            break;
        }
    }
    if (rc != 0) {
        release_servers(reg, servers, done);
        free(servers);
        return rc;
    }
    st->servers = servers;
    st->reg = reg;
    return 0;
}

void state_discard(state *st)
{
    if (st == NULL)
        return;
    tls_ctx_unref(st->tls);
    ring_unref(st->gutter);
    ring_unref(st->ring);
    free(st);
}

static void state_free_locked(state *st, registry *reg)
{
    release_servers(reg, st->servers, st->nservers);
    free(st->servers);
    tls_ctx_unref(st->tls);
    ring_unref(st->gutter);
    ring_unref(st->ring);
    free(st);
}

void state_unpin(state *st)
{
    if (atomic_fetch_sub_explicit(&st->pins, 1, memory_order_acq_rel) != 1)
        return;
    registry *reg = st->reg;
    pthread_mutex_lock(&reg->lock);
    state_free_locked(st, reg);
    pthread_mutex_unlock(&reg->lock);
}

void state_reclaim_now(state *st, registry *reg)
{
    (void)reg; /* the state knows its registry */
    if (st != NULL)
        state_unpin(st);
}

/* call_rcu callback: runs on liburcu's call_rcu thread after a grace
 * period, when no call can still be using the state. */
static void state_reclaim_rcu(struct rcu_head *head)
{
    state *st = caa_container_of(head, state, rcu);
    TSAN_ACQUIRE(&state_grace_token);
    state_reclaim_now(st, st->reg);
}

void state_publish(state **slot, state *st, struct call_rcu_data *crdp)
{
    TSAN_RELEASE(slot);
    state *old = rcu_xchg_pointer(slot, st);
    if (old == NULL)
        return;
    /* call_rcu takes the calling thread's worker: this client's. */
    struct call_rcu_data *prev = urcu_bp_get_thread_call_rcu_data();
    urcu_bp_set_thread_call_rcu_data(crdp);
    urcu_bp_call_rcu(&old->rcu, state_reclaim_rcu);
    urcu_bp_set_thread_call_rcu_data(prev);
}

typedef struct barrier {
    struct rcu_head rcu;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
} barrier;

static void barrier_reached(struct rcu_head *head)
{
    barrier *b = caa_container_of(head, barrier, rcu);
    TSAN_ACQUIRE(b); /* handed over through liburcu's queue */
    pthread_mutex_lock(&b->lock);
    b->done = true;
    pthread_cond_signal(&b->cond);
    pthread_mutex_unlock(&b->lock);
}

void state_reclaim_barrier(struct call_rcu_data *crdp)
{
    /* A worker runs its callbacks in the order they were queued: when
     * this one runs, every earlier reclamation has run. */
    barrier b = {.done = false};
    pthread_mutex_init(&b.lock, NULL);
    pthread_cond_init(&b.cond, NULL);
    struct call_rcu_data *prev = urcu_bp_get_thread_call_rcu_data();
    urcu_bp_set_thread_call_rcu_data(crdp);
    TSAN_RELEASE(&b);
    urcu_bp_call_rcu(&b.rcu, barrier_reached);
    urcu_bp_set_thread_call_rcu_data(prev);
    pthread_mutex_lock(&b.lock);
    while (!b.done)
        pthread_cond_wait(&b.cond, &b.lock);
    pthread_mutex_unlock(&b.lock);
    pthread_cond_destroy(&b.cond);
    pthread_mutex_destroy(&b.lock);
}
