#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "clock.h"
#include "error.h"
#include "state.h"

char state_grace_token;

void registry_init(registry *r)
{
    pthread_mutex_init(&r->lock, NULL);
    r->head = NULL;
}

void registry_destroy(registry *r)
{
    server *s = r->head;
    while (s != NULL) {
        server *next = s->next;
        server_free(s);
        s = next;
    }
    r->head = NULL;
    pthread_mutex_destroy(&r->lock);
}

static server *registry_find(registry *r, const char *name)
{
    for (server *s = r->head; s != NULL; s = s->next)
        if (strcmp(s->name, name) == 0)
            return s;
    return NULL;
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
    s->log = o->log;
    s->log_userdata = o->log_userdata;
}

/* Drops one state's reference to each of its servers; frees those no
 * state names any more. Registry locked. */
static void release_servers(registry *reg, server **servers, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        server *s = servers[i];
        if (s == NULL || --s->refs > 0)
            continue;
        for (server **pp = &reg->head; *pp != NULL; pp = &(*pp)->next)
            if (*pp == s) {
                *pp = s->next;
                break;
            }
        server_free(s);
    }
}

int state_build(struct mcring_client *c, registry *reg,
                const mcring_options *o, state **out, char *err,
                size_t errlen)
{
    server_list list;
    int rc = server_list_parse(o->servers, &list, err, errlen);
    if (rc != 0)
        return rc;

    state *st = calloc(1, sizeof(*st));
    if (st == NULL) {
        server_list_free(&list);
        return err_set(err, errlen, MCRING_ENOMEM, "out of memory");
    }
    st->client = c;
    settings_from_options(&st->set, o);
    rc = ring_build(o->ring, &list, (size_t)o->tries, &st->ring, err, errlen);
    server_list_free(&list);
    if (rc != 0) {
        free(st);
        return rc;
    }
    if (o->tls_enabled) {
        rc = tls_ctx_new(o->tls_cafile, o->tls_certfile, o->tls_keyfile,
                         &st->tls, err, errlen);
        if (rc != 0) {
            ring_unref(st->ring);
            free(st);
            return rc;
        }
    }

    size_t n = st->ring->nservers;
    st->servers = calloc(n, sizeof(*st->servers));
    if (st->servers == NULL) {
        rc = err_set(err, errlen, MCRING_ENOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        const char *name = st->ring->names[i];
        server *s = registry_find(reg, name);
        if (s == NULL) {
            /* An added server connects lazily, on its first request. */
            rc = server_new(name, (uint32_t)o->max_connections, &s);
            if (rc != 0) {
                err_set(err, errlen, rc, "server '%s': %s", name,
                        mcring_strerror(rc));
                goto fail;
            }
            s->next = reg->head;
            reg->head = s;
        }
        s->refs++;
        st->servers[i] = s;
        rc = server_prepare_limit(s, &st->set.limits);
        if (rc != 0) {
            err_set(err, errlen, rc, "out of memory");
            goto fail;
        }
    }
    *out = st;
    return 0;

fail:
    if (st->servers != NULL)
        release_servers(reg, st->servers, n);
    free(st->servers);
    tls_ctx_unref(st->tls);
    ring_unref(st->ring);
    free(st);
    return rc;
}

static void state_free_locked(state *st, registry *reg)
{
    release_servers(reg, st->servers, st->ring->nservers);
    free(st->servers);
    tls_ctx_unref(st->tls);
    ring_unref(st->ring);
    free(st);
}

void state_reclaim_now(state *st, registry *reg)
{
    if (st == NULL)
        return;
    pthread_mutex_lock(&reg->lock);
    state_free_locked(st, reg);
    pthread_mutex_unlock(&reg->lock);
}

/* call_rcu callback: runs on liburcu's call_rcu thread after a grace
 * period, when no call can still be using the state. */
static void state_reclaim_rcu(struct rcu_head *head)
{
    state *st = caa_container_of(head, state, rcu);
    TSAN_ACQUIRE(&state_grace_token);
    state_reclaim_now(st, client_registry(st->client));
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
