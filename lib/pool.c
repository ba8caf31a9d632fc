#include <stdlib.h>
#include <unistd.h>

#include "clock.h"
#include "futex.h"
#include "mcring.h"
#include "pool.h"

int pool_init(pool *p, uint32_t size)
{
    p->size = size;
    atomic_init(&p->places.seq, 0);
    atomic_init(&p->places.waiters, 0);
    atomic_init(&p->fence_hint, FENCE_PROBE);
    atomic_init(&p->waits, 0);
    atomic_init(&p->timeouts, 0);
    atomic_init(&p->connecting, 0);
    atomic_init(&p->connect_tat, 0);
    atomic_init(&p->attempts, 0);
    atomic_init(&p->limited, 0);
    p->slots = calloc(size, sizeof(*p->slots));
    if (p->slots == NULL)
        return MCRING_ENOMEM;
    for (uint32_t i = 0; i < size; i++)
        mux_slot_init(&p->slots[i], &p->places, &p->fence_hint);
    return 0;
}

void pool_destroy(pool *p)
{
    if (p->slots == NULL)
        return;
    for (uint32_t i = 0; i < p->size; i++)
        mux_slot_destroy(&p->slots[i]);
    free(p->slots);
    p->slots = NULL;
}

/* Where this thread starts looking: threads spread over the slots, and a
 * thread tends to find "its" slot again (with depth 1, a slot per thread). */
static uint32_t start_hint(void)
{
    static atomic_uint seed;
    static __thread uint32_t hint;
    static __thread bool have;
    if (!have) {
        hint = atomic_fetch_add_explicit(&seed, 1, memory_order_relaxed);
        have = true;
    }
    return hint;
}

enum { PICK_NONE, PICK_IDLE, PICK_CLOSED, PICK_SHARED };

/* One look over the slots, without locks: the best candidate and why.
 * Closed slots are candidates only when may_connect; *live tells whether
 * any slot is open or connecting. */
static int look(pool *p, unsigned depth, bool may_connect, mux_slot **out,
                bool *live)
{
    uint32_t n = p->size, start = start_hint() % n;
    mux_slot *closed = NULL, *least = NULL;
    unsigned least_load = depth;
    *live = false;
    for (uint32_t k = 0; k < n; k++) {
        mux_slot *s = &p->slots[(start + k) % n];
        int st = atomic_load_explicit(&s->status_hint, memory_order_relaxed);
        unsigned load =
            atomic_load_explicit(&s->load_hint, memory_order_relaxed);
        if (st == SLOT_OPEN && load == 0) {
            *out = s;
            *live = true;
            return PICK_IDLE;
        }
        if (st == SLOT_CLOSED) {
            if (may_connect && closed == NULL && load == 0)
                closed = s;
            continue;
        }
        *live = true;
        if (load < least_load) {
            least = s;
            least_load = load;
        }
    }
    if (closed != NULL) {
        *out = closed;
        return PICK_CLOSED;
    }
    *out = least;
    return least != NULL ? PICK_SHARED : PICK_NONE;
}

/* Wakes every caller waiting for a place, to look again. */
static void wake_waiters(pool *p)
{
    if (atomic_load(&p->places.waiters) > 0) {
        atomic_fetch_add(&p->places.seq, 1);
        futex_wake(&p->places.seq, INT32_MAX);
    }
}

/* Gives back a place among the concurrent connects; a caller that found
 * them all taken looks again. */
static void connect_slot_give(pool *p)
{
    atomic_fetch_sub(&p->connecting, 1);
    wake_waiters(p);
}

/* Takes a place among the concurrent connects. */
static bool connect_slot_take(pool *p, const connect_limits *lim)
{
    if (lim == NULL || lim->concurrent == 0) {
        atomic_fetch_add(&p->connecting, 1);
        return true;
    }
    unsigned n = atomic_load(&p->connecting);
    do {
        if (n >= lim->concurrent)
            return false;
    } while (!atomic_compare_exchange_weak(&p->connecting, &n, n + 1));
    return true;
}

/* The rate limit's tolerance: a second's worth of connects may go back to
 * back (GCRA: the bucket is the time between connect_tat and now). */
static int64_t rate_burst(const connect_limits *lim)
{
    int64_t burst = NS_PER_SEC - lim->interval_ns;
    return burst > 0 ? burst : 0;
}

/* Whether a token is there at now; *wait says when the next comes if not. */
static bool token_there(int64_t tat, const connect_limits *lim, int64_t now,
                        int64_t *wait)
{
    int64_t ahead = (tat > now ? tat : now) - now - rate_burst(lim);
    if (ahead > 0) {
        *wait = ahead;
        return false;
    }
    return true;
}

/* Takes a token of the rate limit; false when none is left. */
static bool connect_token_take(pool *p, const connect_limits *lim,
                               int64_t now, int64_t *wait)
{
    if (lim == NULL || lim->interval_ns <= 0)
        return true;
    int64_t tat = atomic_load(&p->connect_tat);
    for (;;) {
        if (!token_there(tat, lim, now, wait))
            return false;
        int64_t base = tat > now ? tat : now;
        if (atomic_compare_exchange_weak(&p->connect_tat, &tat,
                                         base + lim->interval_ns))
            return true;
    }
}

/* Whether a connect could start now (a look: nothing taken). */
typedef enum connect_allowed {
    CONNECT_OK,
    CONNECT_BUSY,     /* as many connects as allowed are under way: wait
                       * for one to end (pool_connect_done wakes us) */
    CONNECT_NO_TOKEN, /* the rate limit's bucket is empty */
} connect_allowed;

static connect_allowed may_connect_now(pool *p, const connect_limits *lim,
                                       int64_t now, int64_t *wait)
{
    if (lim == NULL)
        return CONNECT_OK;
    if (lim->concurrent != 0 && atomic_load(&p->connecting) >= lim->concurrent)
        return CONNECT_BUSY;
    if (lim->interval_ns > 0 &&
        !token_there(atomic_load(&p->connect_tat), lim, now, wait))
        return CONNECT_NO_TOKEN;
    return CONNECT_OK;
}

static bool giving_up(const connect_limits *lim)
{
    return lim != NULL && lim->give_up != NULL &&
           atomic_load_explicit(lim->give_up, memory_order_relaxed) != 0;
}

/* Tries to claim a place as look() suggested; the slot may have changed
 * since. On NULL, *fail is CLAIM_LIMITED when a connect was needed, the
 * rate allowed none and nothing is open or connecting to share or wait
 * for (a connect already under way is waited for: its end may leave
 * every slot closed for a moment), CLAIM_GAVE_UP when the server went
 * down (checked again once this caller holds the connect: the one before
 * it marks the server down before letting it go), else 0: wait. *wait:
 * when a rate token comes. */
static mux_slot *try_claim(pool *p, unsigned depth, const connect_limits *lim,
                           bool *connect, int64_t deadline,
                           claim_failure *fail, int64_t *wait)
{
    *fail = 0;
    int64_t now = clock_now_ns();
    connect_allowed allowed = may_connect_now(p, lim, now, wait);
    for (int attempt = 0; attempt < 4; attempt++) {
        mux_slot *s = NULL;
        bool live;
        int pick = look(p, depth, allowed == CONNECT_OK, &s, &live);
        if (pick == PICK_NONE) {
            /* Nothing to share and no token for a connect: with no
             * connection open or on its way, waiting would not help. */
            if (allowed == CONNECT_NO_TOKEN && !live)
                *fail = CLAIM_LIMITED;
            return NULL;
        }
        pthread_mutex_lock(&s->lock);
        bool ok;
        if (pick == PICK_CLOSED) {
            ok = s->status == SLOT_CLOSED && s->load == 0;
            if (ok && !connect_slot_take(p, lim)) {
                ok = false;
                allowed = CONNECT_BUSY;
            } else if (ok && giving_up(lim)) {
                pthread_mutex_unlock(&s->lock);
                connect_slot_give(p);
                *fail = CLAIM_GAVE_UP;
                return NULL;
            } else if (ok && !connect_token_take(p, lim, now, wait)) {
                pthread_mutex_unlock(&s->lock);
                connect_slot_give(p);
                allowed = CONNECT_NO_TOKEN;
                continue;
            }
            if (ok) {
                s->status = SLOT_CONNECTING;
                atomic_store_explicit(&s->status_hint, SLOT_CONNECTING,
                                      memory_order_relaxed);
                s->connect_deadline = deadline;
                *connect = true;
                atomic_fetch_add_explicit(&p->attempts, 1,
                                          memory_order_relaxed);
            }
        } else {
            ok = s->status != SLOT_CLOSED && s->load < depth;
        }
        if (ok)
            mux_slot_claim(s);
        pthread_mutex_unlock(&s->lock);
        if (ok)
            return s;
    }
    return NULL;
}

mux_slot *pool_claim(pool *p, unsigned depth, int64_t timeout_ns,
                     bool *connect, int64_t *deadline)
{
    claim_failure why;
    return pool_claim_limited(p, depth, timeout_ns, NULL, connect, deadline,
                              &why);
}

mux_slot *pool_claim_limited(pool *p, unsigned depth, int64_t timeout_ns,
                             const connect_limits *lim, bool *connect,
                             int64_t *deadline, claim_failure *why)
{
    if (depth == 0)
        depth = 1;
    *connect = false;
    int64_t now = clock_now_ns();
    *deadline = now + timeout_ns;
    claim_failure fail;
    int64_t wait = 0;
    mux_slot *s = try_claim(p, depth, lim, connect, *deadline, &fail, &wait);
    if (s != NULL)
        return s;
    if (fail != 0) {
        if (fail == CLAIM_LIMITED)
            atomic_fetch_add_explicit(&p->limited, 1, memory_order_relaxed);
        *why = fail;
        return NULL;
    }

    atomic_fetch_add_explicit(&p->waits, 1, memory_order_relaxed);
    /* Announce the wait before looking again: a completion either sees
     * the waiter and bumps seq (so the sleep below returns at once), or
     * its freed place is visible to the look after this. */
    atomic_fetch_add(&p->places.waiters, 1);
    *why = CLAIM_TIMEOUT;
    for (;;) {
        uint32_t seq = atomic_load(&p->places.seq);
        if (giving_up(lim)) {
            *why = CLAIM_GAVE_UP;
            break;
        }
        wait = 0;
        s = try_claim(p, depth, lim, connect, *deadline, &fail, &wait);
        if (s != NULL)
            break;
        if (fail != 0) {
            if (fail == CLAIM_LIMITED)
                atomic_fetch_add_explicit(&p->limited, 1,
                                          memory_order_relaxed);
            *why = fail;
            break;
        }
        int64_t left = *deadline - clock_now_ns();
        if (left <= 0) {
            atomic_fetch_add_explicit(&p->timeouts, 1, memory_order_relaxed);
            break;
        }
        /* A rate token comes by itself: no one wakes us for it. */
        if (wait > 0 && wait < left)
            left = wait;
        futex_wait(&p->places.seq, seq, left);
    }
    atomic_fetch_sub(&p->places.waiters, 1);
    return s;
}

void pool_wake_waiters(pool *p)
{
    wake_waiters(p);
}

void pool_connect_done(pool *p)
{
    connect_slot_give(p);
}

void pool_recovered(pool *p, const connect_limits *lim, int64_t now)
{
    if (lim == NULL || lim->interval_ns <= 0)
        return;
    /* One token now, the next after an interval. */
    atomic_store(&p->connect_tat, now + rate_burst(lim));
}

void pool_count(pool *p, uint32_t *open, uint32_t *idle)
{
    *open = *idle = 0;
    for (uint32_t i = 0; i < p->size; i++) {
        mux_slot *s = &p->slots[i];
        if (atomic_load_explicit(&s->status_hint, memory_order_relaxed) !=
            SLOT_OPEN)
            continue;
        (*open)++;
        if (atomic_load_explicit(&s->load_hint, memory_order_relaxed) == 0)
            (*idle)++;
    }
}

void pool_after_fork(pool *p)
{
    atomic_store(&p->places.seq, 0);
    atomic_store(&p->places.waiters, 0);
    atomic_store(&p->connecting, 0);
    for (uint32_t i = 0; i < p->size; i++) {
        mux_slot *s = &p->slots[i];
        conn *c = &s->pl.conn;
        /* The child's copy of the parent's socket: closing it leaves the
         * parent's connection alone. Its TLS object may have been inside a
         * call on a parent thread at the fork: abandoned, not freed. */
        if (c->fd >= 0)
            close(c->fd);
        free(c->rbuf);
        free(c->wbuf);
        free(s->pl.wiov);
        mux_slot_init(s, &p->places, &p->fence_hint);
    }
}
