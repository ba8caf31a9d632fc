/*
 * The client's life cycle: creation, reconfiguration (a new state built
 * and published under RCU), the ring and counters it shows, teardown, and
 * what a child process of fork() does with it. The operations are in
 * ops.c and multi.c (on request.h).
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "clock.h"
#include "error.h"
#include "watch.h"

const char *mcring_version(void)
{
    return MCRING_VERSION_STRING;
}

void mcring_item_release(mcring_item *item)
{
    if (item == NULL)
        return;
    free(item->data);
    item->data = NULL;
    item->len = item->cap = 0;
    item->flags = 0;
    item->cas = 0;
}

/* ---- fork() ------------------------------------------------------------ */

atomic_uint client_fork_generation;

static void in_child(void)
{
    atomic_fetch_add_explicit(&client_fork_generation, 1,
                              memory_order_release);
}

/* Registered once: liburcu-bp's handlers for its registry of reader
 * threads (in the child, the parent's other threads, which may have been
 * inside a read-side section, are forgotten; else a grace period there
 * would wait for them forever), then mcring's generation count. Neither
 * starts a thread, so a child that only execs pays next to nothing; the
 * rest happens on the child's first call into the client. */
static void fork_handlers_register(void)
{
    pthread_atfork(urcu_bp_before_fork, urcu_bp_after_fork_parent,
                   urcu_bp_after_fork_child);
    pthread_atfork(NULL, NULL, in_child);
}

static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

/* Stops the client's call_rcu worker (its queue is empty: see
 * state_reclaim_barrier) and reaps its thread, which liburcu leaves
 * joinable. */
static void crdp_free(struct call_rcu_data *crdp)
{
    pthread_t t = urcu_bp_get_call_rcu_thread(crdp);
    urcu_bp_call_rcu_data_free(crdp);
    pthread_join(t, NULL);
}

void client_after_fork(mcring_client *c, unsigned gen)
{
    unsigned old = atomic_load(&c->fork_gen);
    if (old != gen && atomic_compare_exchange_strong(&c->fork_gen, &old, gen)) {
        /* This thread resets; no other thread of the child is inside the
         * client (they wait below), and the parent's threads are not in
         * this process. Locks a parent thread held at the fork are
         * re-made, not waited for. */
        pthread_mutex_init(&c->reg.lock, NULL);
        c->watch = NULL; /* its thread stayed in the parent */
        /* So did its call_rcu worker: what was queued there at the fork is
         * lost to the child (its memory is the child's copy); a new worker
         * reclaims from now on. */
        c->crdp = urcu_bp_create_call_rcu_data(0, -1);
        /* The prober thread stayed in the parent too: the child starts
         * its own, at once if some server is down (no live request would
         * kick it: they all pass a down server by). */
        prober_after_fork(&c->prober);
        state *st = c->current;
        for (size_t i = 0; st != NULL && i < st->nservers; i++)
            pool_after_fork(&st->servers[i]->pool);
        if (st != NULL && st->set.health.probe &&
            atomic_load(&c->reg.fleet.down) > 0)
            prober_kick(&c->prober);
        atomic_store_explicit(&c->fork_reset, gen, memory_order_release);
        return;
    }
    while (atomic_load_explicit(&c->fork_reset, memory_order_acquire) != gen)
        sched_yield();
}

/* ---- life cycle ---------------------------------------------------------*/

int client_snapshot(mcring_client *c, mcring_options *opts,
                    mcring_options *base, uint64_t *generation)
{
    pthread_mutex_lock(&c->reg.lock);
    int rc = opts != NULL ? options_copy(opts, &c->opts) : 0;
    if (rc == 0 && base != NULL && (rc = options_copy(base, &c->base)) != 0 &&
        opts != NULL)
        options_clear(opts);
    *generation = c->generation;
    pthread_mutex_unlock(&c->reg.lock);
    return rc;
}

int client_publish(mcring_client *c, mcring_options *o, mcring_options *base,
                   uint64_t since, const atomic_bool *abandon, char *err,
                   size_t errlen)
{
    /* The ring (the expensive part) is built outside the lock, so a large
     * reconfiguration holds up neither other writers nor the reclaimer. */
    state *st;
    int rc = state_prepare(o, &st, err, errlen);
    if (rc != 0)
        return rc;
    if (abandon != NULL && atomic_load(abandon)) {
        state_discard(st);
        return CLIENT_ABANDONED;
    }
    pthread_mutex_lock(&c->reg.lock);
    if (since != CLIENT_ANY_GENERATION && since != c->generation)
        rc = CLIENT_STALE;
    else
        rc = state_attach(st, &c->reg, err, errlen);
    if (rc == 0) {
        state_publish(&c->current, st, c->crdp);
        c->generation++;
        /* Servers left down by an earlier probe-mode state are probed
         * again once a probe-mode state is back. */
        if (st->set.health.probe && atomic_load(&c->reg.fleet.down) > 0)
            prober_kick(&c->prober);
        options_clear(&c->opts);
        c->opts = *o;
        if (base != NULL) {
            options_clear(&c->base);
            c->base = *base;
        }
    }
    pthread_mutex_unlock(&c->reg.lock);
    if (rc != 0)
        state_discard(st);
    return rc;
}

int client_apply(mcring_client *c, const mcring_options *o, bool as_base,
                 char *err, size_t errlen)
{
    mcring_options copy, base;
    if (options_copy(&copy, o) != 0)
        return err_set(err, errlen, MCRING_ENOMEM, "out of memory");
    if (as_base && options_copy(&base, o) != 0) {
        options_clear(&copy);
        return err_set(err, errlen, MCRING_ENOMEM, "out of memory");
    }
    int rc = client_publish(c, &copy, as_base ? &base : NULL,
                            CLIENT_ANY_GENERATION, NULL, err, errlen);
    if (rc != 0) {
        options_clear(&copy);
        if (as_base)
            options_clear(&base);
    }
    return rc;
}

int mcring_client_new(mcring_client **out, const mcring_options *opts,
                      char *err, size_t errlen)
{
    if (out == NULL || opts == NULL)
        return err_set(err, errlen, MCRING_EINVAL, "NULL argument");
    mcring_client *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return err_set(err, errlen, MCRING_ENOMEM, "out of memory");
    pthread_once(&fork_once, fork_handlers_register);
    c->crdp = urcu_bp_create_call_rcu_data(0, -1);
    if (c->crdp == NULL) {
        free(c);
        return err_set(err, errlen, MCRING_ESYS,
                       "cannot start the reclamation thread");
    }
    registry_init(&c->reg);
    prober_init(&c->prober, &c->current);
    c->reg.fleet.prober = &c->prober;
    atomic_init(&c->fork_gen, atomic_load(&client_fork_generation));
    atomic_init(&c->fork_reset, atomic_load(&c->fork_gen));
    int rc = client_apply(c, opts, true, err, errlen);
    if (rc != 0) {
        prober_destroy(&c->prober);
        registry_destroy(&c->reg);
        crdp_free(c->crdp);
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void mcring_client_free(mcring_client *c)
{
    if (c == NULL)
        return;
    watch_stop(c->watch);
    c->watch = NULL;
    /* The prober reads the states: it goes first. */
    prober_destroy(&c->prober);
    /* Wait for the reclamation of earlier states (their callbacks take the
     * registry lock), then reclaim the current one directly: no call may be
     * running any more. */
    state_reclaim_barrier(c->crdp);
    state *st = c->current;
    c->current = NULL;
    state_reclaim_now(st, &c->reg);
    registry_destroy(&c->reg);
    crdp_free(c->crdp);
    options_clear(&c->opts);
    options_clear(&c->base);
    free(c);
}

int mcring_client_reconfigure(mcring_client *c, const mcring_options *opts,
                              char *err, size_t errlen)
{
    if (c == NULL || opts == NULL)
        return err_set(err, errlen, MCRING_EINVAL, "NULL argument");
    return client_apply(c, opts, true, err, errlen);
}

int mcring_client_set_servers(mcring_client *c, const char *servers,
                              char *err, size_t errlen)
{
    if (c == NULL || servers == NULL)
        return err_set(err, errlen, MCRING_EINVAL, "NULL argument");
    for (;;) {
        /* Only the servers change: start from the running options, and
         * start again if another writer published meanwhile. */
        mcring_options o, b;
        uint64_t gen;
        if (client_snapshot(c, &o, &b, &gen) != 0)
            return err_set(err, errlen, MCRING_ENOMEM, "out of memory");
        int rc = mcring_options_set(&o, "memcache_servers", servers, err,
                                    errlen);
        if (rc == 0)
            rc = mcring_options_set(&b, "memcache_servers", servers, err,
                                    errlen);
        if (rc == 0)
            rc = client_publish(c, &o, &b, gen, NULL, err, errlen);
        if (rc != 0) {
            options_clear(&o);
            options_clear(&b);
        }
        if (rc != CLIENT_STALE)
            return rc;
    }
}

mcring_ring *mcring_client_ring_ref(mcring_client *c)
{
    mcring_ring *r = ring_ref(client_enter(c)->ring);
    state_leave();
    return r;
}

int mcring_ring_new(mcring_ring **out, const mcring_options *o, char *err,
                    size_t errlen)
{
    if (out == NULL || o == NULL)
        return err_set(err, errlen, MCRING_EINVAL, "NULL argument");
    server_list list;
    int rc = server_list_parse(o->servers, &list, err, errlen);
    if (rc != 0)
        return rc;
    rc = ring_build(o->ring, &list, (size_t)o->tries, out, err, errlen);
    server_list_free(&list);
    return rc;
}

size_t mcring_client_server_stats(mcring_client *c,
                                  mcring_server_stats *out, size_t max)
{
    if (c == NULL)
        return 0;
    const state *st = client_enter(c);
    size_t n = st->nservers;
    int64_t now = clock_now_ns();
    for (size_t i = 0; i < n && i < max && out != NULL; i++) {
        server *sv = st->servers[i];
        mcring_server_stats *o = &out[i];
        memset(o, 0, sizeof(*o));
        snprintf(o->name, sizeof(o->name), "%s", sv->name);
        o->requests = atomic_load_explicit(&sv->requests, memory_order_relaxed);
        o->errors = atomic_load_explicit(&sv->errors, memory_order_relaxed);
        o->connects = atomic_load_explicit(&sv->connects, memory_order_relaxed);
        o->pool_waits = atomic_load_explicit(&sv->pool.waits, memory_order_relaxed);
        o->pool_timeouts =
            atomic_load_explicit(&sv->pool.timeouts, memory_order_relaxed);
        pool_count(&sv->pool, &o->conns_open, &o->conns_idle);
        o->max_connections = sv->pool.size;
        int64_t until =
            atomic_load_explicit(&sv->limited_until, memory_order_relaxed);
        o->limited_for = until > now ? (double)(until - now) / 1e9 : 0.0;
        o->connect_attempts = atomic_load(&sv->pool.attempts);
        o->connects_limited = atomic_load(&sv->pool.limited);
        o->fast_fails = atomic_load(&sv->fast_fails);
        o->to_gutter = atomic_load(&sv->to_gutter);
        health *h = &sv->health;
        o->downs = atomic_load(&h->downs);
        o->recoveries = atomic_load(&h->recoveries);
        o->probes = atomic_load(&h->probes);
        o->probe_failures = atomic_load(&h->probe_failures);
        o->down_capped = atomic_load(&h->capped);
        if (st->set.health.probe && health_is_down(h)) {
            o->health = (uint32_t)atomic_load(&h->status);
            int64_t since = atomic_load(&h->down_since);
            o->down_for = since > 0 && now > since
                              ? (double)(now - since) / 1e9
                              : 0.0;
        }
        o->gutter = i >= st->ring->nservers;
    }
    state_leave();
    return n;
}
