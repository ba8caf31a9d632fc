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
} pool;

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

/* In a child of fork(): forgets every connection inherited from the parent
 * (closing the child's copy only) and every request of the parent's
 * threads, leaving closed slots. Nothing else may run in the client. */
void pool_after_fork(pool *p);

/* Connections open now, and open with nothing on them (for stats). */
void pool_count(pool *p, uint32_t *open, uint32_t *idle);

#endif
