#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "mcring.h"
#include "server.h"

int server_new(const char *name, uint32_t max_connections, server **out)
{
    server *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return MCRING_ENOMEM;
    int rc = address_parse(name, strlen(name), &s->addr, NULL, 0);
    if (rc != 0) {
        free(s);
        return rc;
    }
    s->name = strdup(name);
    s->metrics = metrics_new();
    if (s->name == NULL || s->metrics == NULL ||
        pool_init(&s->pool, max_connections) != 0) {
        metrics_unref(s->metrics);
        free(s->name);
        free(s);
        return MCRING_ENOMEM;
    }
    pthread_mutex_init(&s->err_lock, NULL);
    atomic_init(&s->limited_until, 0);
    atomic_init(&s->requests, 0);
    atomic_init(&s->errors, 0);
    atomic_init(&s->connects, 0);
    atomic_init(&s->fast_fails, 0);
    atomic_init(&s->to_gutter, 0);
    /* Jitter differs per server (and per process: the address of the
     * object), so that servers and clients do not probe in step. */
    uint64_t seed = (uint64_t)(uintptr_t)s ^ (uint64_t)clock_now_ns();
    for (const char *p = name; *p; p++)
        seed = (seed ^ (unsigned char)*p) * UINT64_C(1099511628211);
    health_init(&s->health, seed);
    s->fleet = NULL;
    *out = s;
    return 0;
}

void server_free(server *s)
{
    if (s == NULL)
        return;
    pool_destroy(&s->pool);
    health_forget(&s->health, s->fleet);
    health_destroy(&s->health);
    pthread_mutex_destroy(&s->err_lock);
    metrics_unref(s->metrics);
    free(s->err_times);
    free(s->name);
    free(s);
}

/* Grows the ring of error times to hold `need` entries, oldest first.
 * Called with err_lock held. */
static bool ensure_err_cap(server *s, size_t need)
{
    if (s->err_cap >= need)
        return true;
    int64_t *t = malloc(need * sizeof(*t));
    if (t == NULL)
        return false;
    for (size_t i = 0; i < s->err_count; i++)
        t[i] = s->err_times[(s->err_head + s->err_cap - s->err_count + i) %
                            s->err_cap];
    free(s->err_times);
    s->err_times = t;
    s->err_cap = need;
    s->err_head = s->err_count % need;
    return true;
}

int server_prepare_limit(server *s, const limit_params *lp)
{
    if (!lp->enabled)
        return 0;
    pthread_mutex_lock(&s->err_lock);
    bool ok = ensure_err_cap(s, (size_t)lp->limit + 1);
    pthread_mutex_unlock(&s->err_lock);
    return ok ? 0 : MCRING_ENOMEM;
}

/* Swift's arithmetic on the error list; bans when ban is set. Returns
 * whether the limit was passed. */
static bool count_error(server *s, const limit_params *lp, int64_t now,
                        bool ban)
{
    atomic_fetch_add_explicit(&s->errors, 1, memory_order_relaxed);
    if (!lp->enabled)
        return false;

    bool banned = false;
    pthread_mutex_lock(&s->err_lock);
    /* server_prepare_limit sized the ring for these params before they were
     * published; a smaller ring can only mean a newer, smaller limit. */
    size_t need = (size_t)lp->limit + 1;
    if (need > s->err_cap)
        need = s->err_cap;
    if (need > 0) {
        s->err_times[s->err_head] = now;
        s->err_head = (s->err_head + 1) % s->err_cap;
        if (s->err_count < s->err_cap)
            s->err_count++;
        if (s->err_count >= need) {
            /* The (limit+1)-th newest error decides. */
            size_t idx = (s->err_head + s->err_cap - need) % s->err_cap;
            if (s->err_times[idx] > now - lp->window_ns) {
                if (ban)
                    atomic_store_explicit(&s->limited_until,
                                          now + lp->duration_ns,
                                          memory_order_relaxed);
                banned = true;
            }
        }
    }
    pthread_mutex_unlock(&s->err_lock);
    return banned;
}

bool server_record_error(server *s, const limit_params *lp, int64_t now)
{
    return count_error(s, lp, now, true);
}

bool server_count_error(server *s, const limit_params *lp, int64_t now)
{
    return count_error(s, lp, now, false);
}

void server_inherit(server *s, server *old)
{
    pthread_mutex_lock(&old->err_lock);
    if (old->err_cap > 0) {
        s->err_times = malloc(old->err_cap * sizeof(*s->err_times));
        if (s->err_times != NULL) {
            memcpy(s->err_times, old->err_times,
                   old->err_cap * sizeof(*s->err_times));
            s->err_cap = old->err_cap;
            s->err_count = old->err_count;
            s->err_head = old->err_head;
        }
    }
    pthread_mutex_unlock(&old->err_lock);
    atomic_store(&s->limited_until, atomic_load(&old->limited_until));
    atomic_store(&s->requests, atomic_load(&old->requests));
    atomic_store(&s->errors, atomic_load(&old->errors));
    atomic_store(&s->connects, atomic_load(&old->connects));
    metrics_unref(s->metrics);
    s->metrics = metrics_ref(old->metrics);
    atomic_store(&s->fast_fails, atomic_load(&old->fast_fails));
    atomic_store(&s->to_gutter, atomic_load(&old->to_gutter));
    atomic_store(&s->pool.attempts, atomic_load(&old->pool.attempts));
    atomic_store(&s->pool.limited, atomic_load(&old->pool.limited));
    health_inherit(&s->health, &old->health, s->fleet);
    atomic_store(&s->pool.fence_hint, atomic_load(&old->pool.fence_hint));
}
