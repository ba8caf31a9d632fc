/*
 * One memcached server as the client knows it: its string as configured and
 * parsed address, its connection pool, its error-limiting state, its health
 * (health.h: used when server_health = probe) and its counters. A server object outlives the rings that name it: a server that
 * stays in the list across a ring swap keeps its pool, connections and
 * error history (see client.c for the lifetime rules).
 */
#ifndef MCRING_SERVER_H
#define MCRING_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "address.h"
#include "clock.h"
#include "metrics.h"
#include "health.h"
#include "pool.h"

/* Swift's error limiting, in the client's units. */
typedef struct limit_params {
    uint64_t limit;      /* errors allowed inside the window (floored) */
    int64_t window_ns;   /* error_suppression_interval */
    int64_t duration_ns; /* ban length; Swift uses the interval for both */
    bool enabled;        /* window > 0 and duration > 0 */
} limit_params;

typedef struct server {
    char *name; /* as configured; the identity across ring swaps */
    address addr;
    pool pool;

    /* Monotonic ns until which the server is error-limited; 0: never was.
     * Read on every request without a lock. */
    _Atomic int64_t limited_until;

    /* Times of the most recent errors (a ring of err_cap entries, of which
     * err_count are valid, newest at err_head - 1). Touched on errors only,
     * under err_lock. */
    pthread_mutex_t err_lock;
    int64_t *err_times;
    size_t err_cap, err_count, err_head;

    atomic_uint_fast64_t requests; /* attempts on this server */
    atomic_uint_fast64_t errors;   /* failures counted for limiting */
    atomic_uint_fast64_t connects; /* connections opened */
    server_metrics *metrics;       /* latency and outcomes per op; shared
                                    * with a successor (metrics.h) */
    /* Requests that passed it over without touching a socket: it was
     * down, error-limited, or allowed no connect. */
    atomic_uint_fast64_t fast_fails;
    /* Requests for its keys sent to the gutter instead. */
    atomic_uint_fast64_t to_gutter;

    health health;
    health_fleet *fleet; /* the client's servers' (state_attach), or NULL */

    /* Owned by the client's writer side (under its writer lock). */
    unsigned refs;       /* rings (states) naming this server */
} server;

/* Creates a server for a validated server string. 0, MCRING_EADDR or
 * MCRING_ENOMEM. */
int server_new(const char *name, uint32_t max_connections, server **out);
/* Makes s the successor of old (same name, another pool size): its error
 * history, ban, health, counters and what is known of fences carry over,
 * and it shares old's metrics; its connections do not. Set s->fleet
 * first. Writer side; old may still
 * be serving calls. */
void server_inherit(server *s, server *old);

/* Closes its connections and frees it (a down server stops counting in
 * its fleet). No slot may be borrowed. */
void server_free(server *s);

/* True when a ban is in force at time now. Lock-free. */
static inline bool server_limited_at(server *s, int64_t now)
{
    int64_t until =
        atomic_load_explicit(&s->limited_until, memory_order_relaxed);
    return until != 0 && until > now;
}

/* True while a ban is in force; reads the clock only for a server that
 * was ever banned. Lock-free. */
static inline bool server_is_limited(server *s)
{
    int64_t until =
        atomic_load_explicit(&s->limited_until, memory_order_relaxed);
    return until != 0 && until > clock_now_ns();
}

/* Sizes the error history for lp (limit + 1 times) so that recording an
 * error never allocates. Writer side, before lp is published. 0 or
 * MCRING_ENOMEM. */
int server_prepare_limit(server *s, const limit_params *lp);

/*
 * Counts one error at time now with Swift's arithmetic: the error joins the
 * list; when the list holds more than `limit` entries it is pruned to those
 * newer than now - window, and if still more than `limit` remain the server
 * is banned until now + duration. Keeping only the newest limit + 1 times
 * decides exactly as Swift's pruned list does. Returns true when this error
 * started a ban. Thread-safe.
 */
bool server_record_error(server *s, const limit_params *lp, int64_t now);

/* The same arithmetic without the ban: true when this error put the
 * server over the limit (server_health = probe marks it down instead). */
bool server_count_error(server *s, const limit_params *lp, int64_t now);

#endif
