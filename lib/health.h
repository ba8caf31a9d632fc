/*
 * A server's health under server_health = probe: whether live requests may
 * use it, and when the background prober (prober.h) looks at it next.
 *
 *   UP ── a connect failed ──────────────────────────────▶ HARD_DOWN
 *   UP ── health_timeouts timeouts in a row, or the error
 *         limit passed (Swift's arithmetic) ──────────────▶ SOFT_DOWN
 *   HARD_DOWN, SOFT_DOWN ── a probe answered ─────────────▶ UP
 *   HARD_DOWN, SOFT_DOWN ── a probe failed: the next one waits twice as
 *                           long (stays down)
 *
 * A down server is skipped by every request without touching a socket
 * (a fast-fail; the key fails over as the mode says, or to the gutter),
 * and only a probe — its own connection, `version`, on the prober's thread —
 * brings it back. A failed probe doubles the wait for the next one, up to
 * probe_max_interval; each wait is shortened by a random share of up to
 * `jitter` so that clients that lost a server together do not probe it in
 * step. A server that goes down again within probe_max_interval of its
 * recovery is flapping: its wait keeps doubling from where it was instead
 * of starting over (memcached's proxy ramps the same way).
 *
 * The fleet cap: at most max_down servers of a client may be down at once
 * (mcrouter's maximum soft TKOs, applied to every way down), so that a
 * network blip that touches every server does not stop the whole cache; a
 * server that would go down beyond it stays up and is counted (`capped`).
 *
 * Everything here takes the time as an argument, so the state machine is
 * tested without sleeping (tests/unit/test_health_state.c). Thread-safe: the
 * status is read lock-free on every request; transitions take the
 * server's health lock.
 */
#ifndef MCRING_HEALTH_H
#define MCRING_HEALTH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum health_status {
    HEALTH_UP = 0,
    HEALTH_SOFT_DOWN = 1, /* timeouts or the error limit */
    HEALTH_HARD_DOWN = 2, /* a connect failed */
} health_status;

/* What a failure says about a server. */
typedef enum health_failure {
    FAILURE_CONNECT, /* refused, unreachable, timed out, name, TLS */
    FAILURE_TIMEOUT, /* no reply in time, or no place on a connection */
    FAILURE_OTHER,   /* the server answered, wrongly */
} health_failure;

/* The health settings of one published state. */
typedef struct health_params {
    bool probe;                   /* server_health = probe */
    uint32_t timeouts_until_down; /* health_timeouts */
    int64_t probe_interval_ns;    /* first wait before a probe */
    int64_t probe_max_interval_ns;
    int64_t probe_timeout_ns;     /* connect + version reply */
    double jitter;                /* 0..1: share a wait may be shortened */
    uint32_t max_down;            /* servers that may be down at once */
} health_params;

struct prober;

/* What the servers of one client share: how many are down, and the
 * prober that watches them. */
typedef struct health_fleet {
    atomic_uint down;
    struct prober *prober; /* NULL: nobody to tell (unit tests) */
} health_fleet;

typedef struct health {
    _Atomic int status; /* health_status; read on every request */
    atomic_uint timeouts; /* consecutive, reset by any reply */
    _Atomic int64_t down_since; /* monotonic ns, while down */
    pthread_mutex_t lock;
    int64_t next_probe; /* [lock] while down: when to probe */
    int64_t backoff_ns; /* [lock] the current wait between probes */
    int64_t up_since;   /* [lock] last recovery, 0: never down */
    uint64_t rng;       /* [lock] for jitter */
    atomic_uint_fast64_t downs, recoveries, probes, probe_failures, capped;
} health;

void health_init(health *h, uint64_t seed);
void health_destroy(health *h);

/* True while the server is down. Lock-free. */
static inline bool health_is_down(health *h)
{
    return atomic_load_explicit(&h->status, memory_order_relaxed) !=
           HEALTH_UP;
}

/* A reply came: the run of timeouts is over. Lock-free, and writes only
 * when there was a run. */
static inline void health_ok(health *h)
{
    if (atomic_load_explicit(&h->timeouts, memory_order_relaxed) != 0)
        atomic_store_explicit(&h->timeouts, 0, memory_order_relaxed);
}

/*
 * Counts a failure of kind at time now; over_limit says Swift's error
 * limit was passed by it. Returns the status the server went to because
 * of it (HEALTH_UP: no change, it was down already, or the fleet cap kept
 * it up — then *capped is set). Thread-safe.
 */
health_status health_failed(health *h, health_fleet *f,
                            const health_params *hp, health_failure kind,
                            bool over_limit, int64_t now, bool *capped);

/* When the next probe of a down server is due (INT64_MAX when up). */
int64_t health_next_probe(health *h);

/* A probe's outcome at time now: ok brings the server up; otherwise the
 * next probe waits twice as long (up to the maximum), with jitter.
 * Thread-safe. */
void health_probe_done(health *h, health_fleet *f, const health_params *hp,
                       bool ok, int64_t now);

/* Brings a down server back without a probe (when no prober can run).
 * Thread-safe. */
void health_restore(health *h, health_fleet *f, int64_t now);

/* Makes h the successor of old (a server object replaced by one of
 * another pool size): status, probe schedule and counters carry over; a
 * down successor counts in the fleet until it recovers or is freed. */
void health_inherit(health *h, health *old, health_fleet *f);

/* The server is going away: a down one stops counting in the fleet. */
void health_forget(health *h, health_fleet *f);

#endif
