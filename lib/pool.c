#include <errno.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "clock.h"
#include "mcring.h"
#include "pool.h"
#include "tsan.h"

static pool_slot *slot_of(ck_stack_entry_t *e)
{
    /* The slot changes hands through the stack: what its last holder
     * wrote is visible to its next (ck's CAS is a full barrier). */
    TSAN_ACQUIRE(e);
    return (pool_slot *)e; /* entry is the first member */
}

static void push(ck_stack_t *stack, pool_slot *s)
{
    TSAN_RELEASE(&s->entry);
    ck_stack_push_mpmc(stack, &s->entry);
}

int pool_init(pool *p, uint32_t size, struct server *owner)
{
    ck_stack_init(&p->idle);
    ck_stack_init(&p->free);
    atomic_init(&p->seq, 0);
    atomic_init(&p->waiters, 0);
    atomic_init(&p->open, 0);
    atomic_init(&p->nidle, 0);
    atomic_init(&p->waits, 0);
    atomic_init(&p->timeouts, 0);
    p->size = size;
    p->slots = calloc(size, sizeof(*p->slots));
    if (p->slots == NULL)
        return MCRING_ENOMEM;
    for (uint32_t i = size; i-- > 0;) {
        conn_init(&p->slots[i].conn);
        p->slots[i].server = owner;
        push(&p->free, &p->slots[i]);
    }
    return 0;
}

void pool_destroy(pool *p)
{
    if (p->slots == NULL)
        return;
    for (uint32_t i = 0; i < p->size; i++)
        conn_destroy(&p->slots[i].conn);
    free(p->slots);
    p->slots = NULL;
}

static pool_slot *try_take(pool *p)
{
    ck_stack_entry_t *e = ck_stack_pop_mpmc(&p->idle);
    if (e != NULL) {
        atomic_fetch_sub_explicit(&p->nidle, 1, memory_order_relaxed);
        return slot_of(e);
    }
    e = ck_stack_pop_mpmc(&p->free);
    return e != NULL ? slot_of(e) : NULL;
}

static void futex_wait(atomic_uint *addr, uint32_t val,
                       int64_t timeout_ns)
{
    struct timespec ts = {(time_t)(timeout_ns / NS_PER_SEC),
                          (long)(timeout_ns % NS_PER_SEC)};
    syscall(SYS_futex, (unsigned int *)addr, FUTEX_WAIT_PRIVATE, val, &ts, NULL,
            0);
}

static void futex_wake_one(atomic_uint *addr)
{
    syscall(SYS_futex, (unsigned int *)addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

pool_slot *pool_try_borrow(pool *p)
{
    return try_take(p);
}

pool_slot *pool_borrow(pool *p, int64_t deadline)
{
    pool_slot *s = try_take(p);
    if (s != NULL)
        return s;

    atomic_fetch_add_explicit(&p->waits, 1, memory_order_relaxed);
    /* Announce the wait before looking again: a returner either sees
     * waiters > 0 and bumps seq (so the futex wait below returns at once),
     * or its push is visible to the try_take after this fence. */
    atomic_fetch_add(&p->waiters, 1);
    for (;;) {
        uint32_t seq = (uint32_t)atomic_load(&p->seq);
        s = try_take(p);
        if (s != NULL)
            break;
        int64_t left = deadline - clock_now_ns();
        if (left <= 0) {
            atomic_fetch_add_explicit(&p->timeouts, 1, memory_order_relaxed);
            break;
        }
        futex_wait(&p->seq, seq, left);
    }
    atomic_fetch_sub(&p->waiters, 1);
    return s;
}

void pool_return(pool *p, pool_slot *s, bool keep)
{
    if (!keep && conn_is_open(&s->conn)) {
        conn_close(&s->conn);
        atomic_fetch_sub_explicit(&p->open, 1, memory_order_relaxed);
    }
    if (conn_is_open(&s->conn)) {
        atomic_fetch_add_explicit(&p->nidle, 1, memory_order_relaxed);
        push(&p->idle, s);
    } else
        push(&p->free, s);
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&p->waiters, memory_order_relaxed) > 0) {
        atomic_fetch_add(&p->seq, 1);
        futex_wake_one(&p->seq);
    }
}

void pool_close_idle(pool *p)
{
    ck_stack_entry_t *e;
    while ((e = ck_stack_pop_mpmc(&p->idle)) != NULL) {
        pool_slot *s = slot_of(e);
        atomic_fetch_sub_explicit(&p->nidle, 1, memory_order_relaxed);
        conn_close(&s->conn);
        atomic_fetch_sub_explicit(&p->open, 1, memory_order_relaxed);
        push(&p->free, s);
    }
}
