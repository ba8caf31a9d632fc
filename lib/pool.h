/*
 * A server's connection pool: a fixed array of max_connections slots, each
 * holding one (possibly unconnected) connection. Slots move between two
 * lock-free stacks — idle (connected) and free (not connected) — or are out
 * with a borrower. Because slots are never created or destroyed while the
 * pool lives, no more than max_connections connections can ever be open
 * (Swift's pool can grow past its limit after a failed connect; bug 4).
 *
 * Borrow and return are lock-free (concurrencykit's ck_stack with a
 * generation counter against ABA; slot memory is type-stable for the pool's
 * life, which that stack requires). A borrower that finds both stacks empty
 * sleeps on a futex until a slot comes back or its deadline passes; a
 * returner wakes one sleeper, and touches the futex only when someone is
 * sleeping. MPMC safe: any thread may borrow, any thread may return.
 */
#ifndef MCRING_POOL_H
#define MCRING_POOL_H

#include <ck_stack.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "conn.h"

struct server;

typedef struct pool_slot {
    ck_stack_entry_t entry; /* first: slots are found from their entry */
    conn conn;
    struct server *server;
} pool_slot;

typedef struct pool {
    /* cmpxchg16b needs the stack heads 16-byte aligned. */
    ck_stack_t idle __attribute__((aligned(64)));
    ck_stack_t free __attribute__((aligned(16)));
    atomic_uint seq; /* futex word: bumped on a return while someone waits */
    atomic_int waiters;
    atomic_int open;   /* slots holding a connected socket */
    atomic_int nidle;  /* slots in the idle stack */
    atomic_uint_fast64_t waits, timeouts;
    uint32_t size;
    pool_slot *slots;
} pool;

/* Allocates size slots, all free. Returns 0 or MCRING_ENOMEM. */
int pool_init(pool *p, uint32_t size, struct server *owner);
/* Closes every connection and frees the slots. No slot may be out. */
void pool_destroy(pool *p);

/*
 * Takes a slot: an idle connected one if any, else a free one (the caller
 * connects it), else waits until deadline (monotonic ns). Returns the slot,
 * or NULL on timeout. MPMC safe.
 */
pool_slot *pool_borrow(pool *p, int64_t deadline);

/* pool_borrow without waiting: NULL when both stacks are empty. */
pool_slot *pool_try_borrow(pool *p);

/* Gives a slot back. keep: its connection is in step and may be reused;
 * otherwise the connection is closed first. MPMC safe. */
void pool_return(pool *p, pool_slot *s, bool keep);

/* Counts a connection opened on a borrowed slot. */
static inline void pool_count_open(pool *p)
{
    atomic_fetch_add_explicit(&p->open, 1, memory_order_relaxed);
}

/* Closes every idle connection (used when a server leaves the ring).
 * Slots out with borrowers are untouched. */
void pool_close_idle(pool *p);

#endif
