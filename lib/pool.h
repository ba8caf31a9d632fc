/*
 * A server's connections: max_connections slots (mux.h), each a connection
 * that carries up to `depth` requests at once, and the choice of a slot for
 * each request. Because slots are fixed, no more than max_connections
 * sockets can ever be open to a server, whatever fails (Swift's pool can
 * grow past its limit after a failed connect; bug 4).
 *
 * Choosing: an open connection with nothing on it first; else a closed
 * slot, connected by the caller who claims it (while it connects, others
 * may queue on it, so a burst of callers causes one connect, not one each);
 * else the least loaded connection with room. With depth 1 (pipelining
 * off) a slot is one caller's at a time, the classic pool. A caller that
 * finds no room waits, without spinning, until a place frees up or its
 * deadline passes. Thread-safe (MPMC): any thread may claim, any thread's
 * completion frees a place.
 *
 * Connects are limited per server (connect_limits): at most `concurrent`
 * slots connecting at once — so when every thread finds the server's
 * connections gone at the same moment, one connect is made and the others
 * queue on that slot or wait for it, instead of each dialling — and at
 * most connect_rate connects a second (a token bucket holding one
 * second's worth). A caller that would have to connect finds the bucket
 * empty and nothing open or connecting: it fails at once, touching no
 * socket; with something open it shares or waits as usual. After a
 * recovery (pool_recovered) the bucket starts with one token, so the pool
 * refills one connect at a time at that rate.
 */
#ifndef MCRING_POOL_H
#define MCRING_POOL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "mux.h"

typedef struct pool {
    mux_slot *slots;
    uint32_t size;
    mux_places places;
    atomic_int fence_hint; /* fence_mode the server showed (FENCE_PROBE:
                            * not known) */
    atomic_uint_fast64_t waits, timeouts;
    atomic_uint connecting;        /* slots being connected now */
    _Atomic int64_t connect_tat;   /* the rate limit's next free time (GCRA) */
    atomic_uint_fast64_t attempts; /* connects started */
    atomic_uint_fast64_t limited;  /* claims refused: no connect allowed */
} pool;

/* What limits connecting a closed slot (from the published settings). */
typedef struct connect_limits {
    unsigned concurrent;   /* connects at once; 0: no limit */
    int64_t interval_ns;   /* 1 s / connect_rate; 0: no rate limit */
    _Atomic int *give_up;  /* stop waiting once this is non-zero (the
                            * server's health status), or NULL */
} connect_limits;

/* Why pool_claim_limited returned NULL. */
typedef enum claim_failure {
    CLAIM_TIMEOUT = 1, /* no place within the timeout */
    CLAIM_LIMITED = 2, /* a connect was needed and none is allowed now */
    CLAIM_GAVE_UP = 3, /* *give_up turned non-zero while waiting */
} claim_failure;

/* Allocates size closed slots. Returns 0 or MCRING_ENOMEM. */
int pool_init(pool *p, uint32_t size);
/* Closes every connection and frees the slots. No request may be on
 * them. */
void pool_destroy(pool *p);

/*
 * Claims a place for one request on a slot holding fewer than depth, and
 * returns the slot. When the slot chosen was closed it is now
 * SLOT_CONNECTING and *connect is set: the caller connects it and reports
 * with mux_slot_connected(). Waits while every slot is full; NULL when
 * nothing came free within timeout_ns. *deadline is set to when the
 * claim's time (the pool timeout) runs out, for the connect.
 */
mux_slot *pool_claim(pool *p, unsigned depth, int64_t timeout_ns,
                     bool *connect, int64_t *deadline);

/* pool_claim within lim (NULL: none); on NULL, *why says why. A caller
 * told to connect (*connect) ends with pool_connect_done() after
 * mux_slot_connected(). */
mux_slot *pool_claim_limited(pool *p, unsigned depth, int64_t timeout_ns,
                             const connect_limits *lim, bool *connect,
                             int64_t *deadline, claim_failure *why);

/* A connect pool_claim_limited started has ended (either way): another
 * may start, and every waiter looks again. */
void pool_connect_done(pool *p);

/* Wakes every caller waiting for a place, to look again (the server went
 * down: they give up). */
void pool_wake_waiters(pool *p);

/* The server came back: the rate limit's bucket starts with one token,
 * so that the pool refills gradually (lim->interval_ns apart). */
void pool_recovered(pool *p, const connect_limits *lim, int64_t now);

/* In a child of fork(): forgets every connection inherited from the parent
 * (closing the child's copy only) and every request of the parent's
 * threads, leaving closed slots. Nothing else may run in the client. */
void pool_after_fork(pool *p);

/* Connections open now, and open with nothing on them (for stats). */
void pool_count(pool *p, uint32_t *open, uint32_t *idle);

#endif
