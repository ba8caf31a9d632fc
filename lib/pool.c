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

/* One look over the slots, without locks: the best candidate and why. */
static int look(pool *p, unsigned depth, mux_slot **out)
{
    uint32_t n = p->size, start = start_hint() % n;
    mux_slot *closed = NULL, *least = NULL;
    unsigned least_load = depth;
    for (uint32_t k = 0; k < n; k++) {
        mux_slot *s = &p->slots[(start + k) % n];
        int st = atomic_load_explicit(&s->status_hint, memory_order_relaxed);
        unsigned load =
            atomic_load_explicit(&s->load_hint, memory_order_relaxed);
        if (st == SLOT_OPEN && load == 0) {
            *out = s;
            return PICK_IDLE;
        }
        if (st == SLOT_CLOSED) {
            if (closed == NULL && load == 0)
                closed = s;
        } else if (load < least_load) {
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

/* Tries to claim a place as look() suggested; the slot may have changed
 * since. */
static mux_slot *try_claim(pool *p, unsigned depth, bool *connect,
                           int64_t deadline)
{
    for (int attempt = 0; attempt < 4; attempt++) {
        mux_slot *s = NULL;
        int pick = look(p, depth, &s);
        if (pick == PICK_NONE)
            return NULL;
        pthread_mutex_lock(&s->lock);
        bool ok;
        if (pick == PICK_CLOSED) {
            ok = s->status == SLOT_CLOSED && s->load == 0;
            if (ok) {
                s->status = SLOT_CONNECTING;
                atomic_store_explicit(&s->status_hint, SLOT_CONNECTING,
                                      memory_order_relaxed);
                s->connect_deadline = deadline;
                *connect = true;
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
    if (depth == 0)
        depth = 1;
    *connect = false;
    int64_t now = clock_now_ns();
    *deadline = now + timeout_ns;
    mux_slot *s = try_claim(p, depth, connect, *deadline);
    if (s != NULL)
        return s;

    atomic_fetch_add_explicit(&p->waits, 1, memory_order_relaxed);
    /* Announce the wait before looking again: a completion either sees
     * the waiter and bumps seq (so the sleep below returns at once), or
     * its freed place is visible to the look after this. */
    atomic_fetch_add(&p->places.waiters, 1);
    for (;;) {
        uint32_t seq = atomic_load(&p->places.seq);
        s = try_claim(p, depth, connect, *deadline);
        if (s != NULL)
            break;
        int64_t left = *deadline - clock_now_ns();
        if (left <= 0) {
            atomic_fetch_add_explicit(&p->timeouts, 1, memory_order_relaxed);
            break;
        }
        futex_wait(&p->places.seq, seq, left);
    }
    atomic_fetch_sub(&p->places.waiters, 1);
    return s;
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
