#include <stdint.h>

#include "health.h"

void health_init(health *h, uint64_t seed)
{
    atomic_init(&h->status, HEALTH_UP);
    atomic_init(&h->timeouts, 0);
    atomic_init(&h->down_since, 0);
    pthread_mutex_init(&h->lock, NULL);
    h->next_probe = INT64_MAX;
    h->backoff_ns = 0;
    h->up_since = 0;
    h->rng = seed | 1;
    atomic_init(&h->downs, 0);
    atomic_init(&h->recoveries, 0);
    atomic_init(&h->probes, 0);
    atomic_init(&h->probe_failures, 0);
    atomic_init(&h->capped, 0);
}

void health_destroy(health *h)
{
    pthread_mutex_destroy(&h->lock);
}

/* xorshift64*: a number in [0, 1). [lock] */
static double next_unit(health *h)
{
    uint64_t x = h->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    h->rng = x;
    return (double)((x * UINT64_C(2685821657736338717)) >> 11) /
           (double)(UINT64_C(1) << 53);
}

/* The wait before the next probe: the backoff, less up to jitter of it.
 * [lock] */
static int64_t jittered(health *h, const health_params *hp)
{
    double cut = hp->jitter * next_unit(h);
    return h->backoff_ns - (int64_t)((double)h->backoff_ns * cut);
}

static int64_t doubled(int64_t v, int64_t max)
{
    return v >= max / 2 ? max : v * 2;
}

/* Takes one of the fleet's down places; false when the cap is reached. */
static bool fleet_take(health_fleet *f, uint32_t max_down)
{
    if (f == NULL)
        return true;
    unsigned n = atomic_load(&f->down);
    do {
        if (n >= max_down)
            return false;
    } while (!atomic_compare_exchange_weak(&f->down, &n, n + 1));
    return true;
}

static void fleet_give(health_fleet *f)
{
    if (f != NULL)
        atomic_fetch_sub(&f->down, 1);
}

health_status health_failed(health *h, health_fleet *f,
                            const health_params *hp, health_failure kind,
                            bool over_limit, int64_t now, bool *capped)
{
    *capped = false;
    if (health_is_down(h))
        return HEALTH_UP;
    health_status want = HEALTH_UP;
    if (kind == FAILURE_CONNECT)
        want = HEALTH_HARD_DOWN;
    else if (kind == FAILURE_TIMEOUT &&
             atomic_fetch_add(&h->timeouts, 1) + 1 >= hp->timeouts_until_down)
        want = HEALTH_SOFT_DOWN;
    else if (over_limit)
        want = HEALTH_SOFT_DOWN;
    if (want == HEALTH_UP)
        return HEALTH_UP;

    if (!fleet_take(f, hp->max_down)) {
        atomic_fetch_add_explicit(&h->capped, 1, memory_order_relaxed);
        *capped = true;
        return HEALTH_UP;
    }
    pthread_mutex_lock(&h->lock);
    if (atomic_load(&h->status) != HEALTH_UP) {
        /* Another thread marked it down meanwhile. */
        pthread_mutex_unlock(&h->lock);
        fleet_give(f);
        return HEALTH_UP;
    }
    bool flapping = h->up_since != 0 && h->backoff_ns > 0 &&
                    now - h->up_since < hp->probe_max_interval_ns;
    h->backoff_ns = flapping ? doubled(h->backoff_ns, hp->probe_max_interval_ns)
                             : hp->probe_interval_ns;
    if (h->backoff_ns > hp->probe_max_interval_ns)
        h->backoff_ns = hp->probe_max_interval_ns;
    h->next_probe = now + jittered(h, hp);
    atomic_store(&h->down_since, now);
    atomic_store(&h->timeouts, 0);
    atomic_store(&h->status, want);
    atomic_fetch_add_explicit(&h->downs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&h->lock);
    return want;
}

int64_t health_next_probe(health *h)
{
    if (!health_is_down(h))
        return INT64_MAX;
    pthread_mutex_lock(&h->lock);
    int64_t t = atomic_load(&h->status) != HEALTH_UP ? h->next_probe
                                                      : INT64_MAX;
    pthread_mutex_unlock(&h->lock);
    return t;
}

/* [lock] Marks a down server up. */
static void bring_up(health *h, int64_t now)
{
    h->up_since = now;
    h->next_probe = INT64_MAX;
    atomic_store(&h->timeouts, 0);
    atomic_store(&h->down_since, 0);
    atomic_store(&h->status, HEALTH_UP);
}

void health_restore(health *h, health_fleet *f, int64_t now)
{
    pthread_mutex_lock(&h->lock);
    bool was_down = atomic_load(&h->status) != HEALTH_UP;
    if (was_down)
        bring_up(h, now);
    pthread_mutex_unlock(&h->lock);
    if (was_down)
        fleet_give(f);
}

void health_probe_done(health *h, health_fleet *f, const health_params *hp,
                       bool ok, int64_t now)
{
    atomic_fetch_add_explicit(&h->probes, 1, memory_order_relaxed);
    pthread_mutex_lock(&h->lock);
    if (atomic_load(&h->status) == HEALTH_UP) {
        pthread_mutex_unlock(&h->lock);
        return;
    }
    if (ok) {
        bring_up(h, now);
        atomic_fetch_add_explicit(&h->recoveries, 1, memory_order_relaxed);
        pthread_mutex_unlock(&h->lock);
        fleet_give(f);
        return;
    }
    atomic_fetch_add_explicit(&h->probe_failures, 1, memory_order_relaxed);
    h->backoff_ns = doubled(h->backoff_ns, hp->probe_max_interval_ns);
    h->next_probe = now + jittered(h, hp);
    pthread_mutex_unlock(&h->lock);
}

void health_inherit(health *h, health *old, health_fleet *f)
{
    pthread_mutex_lock(&old->lock);
    int status = atomic_load(&old->status);
    h->next_probe = old->next_probe;
    h->backoff_ns = old->backoff_ns;
    h->up_since = old->up_since;
    atomic_store(&h->down_since, atomic_load(&old->down_since));
    pthread_mutex_unlock(&old->lock);
    if (status != HEALTH_UP && f != NULL)
        atomic_fetch_add(&f->down, 1);
    atomic_store(&h->status, status);
    atomic_store(&h->timeouts, atomic_load(&old->timeouts));
    atomic_store(&h->downs, atomic_load(&old->downs));
    atomic_store(&h->recoveries, atomic_load(&old->recoveries));
    atomic_store(&h->probes, atomic_load(&old->probes));
    atomic_store(&h->probe_failures, atomic_load(&old->probe_failures));
    atomic_store(&h->capped, atomic_load(&old->capped));
}

void health_forget(health *h, health_fleet *f)
{
    if (atomic_load(&h->status) != HEALTH_UP)
        fleet_give(f);
}
