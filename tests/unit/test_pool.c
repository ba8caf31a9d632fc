/* A server's connection slots on their own: choosing, place limits per
 * connection, waiting for a place, timeouts. No sockets: a slot is marked
 * connected without one, and places are claimed and given back. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include "clock.h"
#include "pool.h"

/* Claims a place, "connecting" a closed slot without a socket. */
static mux_slot *claim(pool *p, unsigned depth, int64_t timeout_ns)
{
    bool connect;
    int64_t deadline;
    mux_slot *s = pool_claim(p, depth, timeout_ns, &connect, &deadline);
    if (s != NULL && connect)
        mux_slot_connected(s, 0, FENCE_OFF);
    return s;
}

Test(pool, a_closed_slot_is_claimed_for_connecting_once)
{
    pool p;
    cr_assert_eq(pool_init(&p, 2), 0);
    bool connect;
    int64_t deadline;
    mux_slot *a = pool_claim(&p, 8, NS_PER_SEC, &connect, &deadline);
    cr_assert(connect, "the first claim connects a slot");
    cr_assert_eq(a->status, SLOT_CONNECTING);
    /* While it connects, the other slot is chosen and connected too. */
    mux_slot *b = pool_claim(&p, 8, NS_PER_SEC, &connect, &deadline);
    cr_assert(connect);
    cr_assert_neq(a, b);
    /* With both connecting, the next caller queues on one of them. */
    mux_slot *c = pool_claim(&p, 8, NS_PER_SEC, &connect, &deadline);
    cr_assert_not(connect, "no third connect: only two slots");
    cr_assert(c == a || c == b);
    mux_slot_connected(a, 0, FENCE_OFF);
    mux_slot_connected(b, 0, FENCE_OFF);
    mux_slot_unclaim(a);
    mux_slot_unclaim(b);
    mux_slot_unclaim(c);
    pool_destroy(&p);
}

Test(pool, an_idle_open_connection_comes_first)
{
    pool p;
    cr_assert_eq(pool_init(&p, 4), 0);
    mux_slot *a = claim(&p, 8, NS_PER_SEC);
    mux_slot_unclaim(a);
    /* Open and idle: taken again rather than connecting another. */
    for (int i = 0; i < 10; i++) {
        bool connect;
        int64_t deadline;
        mux_slot *s = pool_claim(&p, 8, NS_PER_SEC, &connect, &deadline);
        cr_assert_not(connect);
        cr_assert_eq(s, a);
        mux_slot_unclaim(s);
    }
    uint32_t open, idle;
    pool_count(&p, &open, &idle);
    cr_assert_eq(open, 1);
    cr_assert_eq(idle, 1);
    pool_destroy(&p);
}

Test(pool, never_more_than_depth_on_a_slot_and_then_a_timeout)
{
    pool p;
    cr_assert_eq(pool_init(&p, 2), 0);
    mux_slot *s[6];
    for (int i = 0; i < 6; i++)
        cr_assert_not_null(s[i] = claim(&p, 3, NS_PER_SEC));
    for (int i = 0; i < 2; i++)
        cr_assert_eq(p.slots[i].load, 3);
    int64_t t0 = clock_now_ns();
    cr_assert_null(claim(&p, 3, 50 * NS_PER_MS));
    int64_t waited = clock_now_ns() - t0;
    cr_assert_geq(waited, 45 * NS_PER_MS, "returned early: %lld",
                  (long long)waited);
    cr_assert_eq(atomic_load(&p.timeouts), 1);
    cr_assert_eq(atomic_load(&p.waits), 1);
    for (int i = 0; i < 6; i++)
        mux_slot_unclaim(s[i]);
    pool_destroy(&p);
}

typedef struct waiter_arg {
    pool *p;
    mux_slot *got;
    int64_t waited;
} waiter_arg;

static void *wait_for_place(void *arg)
{
    waiter_arg *a = arg;
    int64_t t0 = clock_now_ns();
    a->got = claim(a->p, 1, 5 * NS_PER_SEC);
    a->waited = clock_now_ns() - t0;
    return NULL;
}

Test(pool, a_freed_place_wakes_a_waiter)
{
    pool p;
    cr_assert_eq(pool_init(&p, 1), 0);
    mux_slot *s = claim(&p, 1, NS_PER_SEC);
    waiter_arg a = {&p, NULL, 0};
    pthread_t t;
    pthread_create(&t, NULL, wait_for_place, &a);
    usleep(100000);
    mux_slot_unclaim(s);
    pthread_join(t, NULL);
    cr_assert_eq(a.got, s);
    cr_assert_lt(a.waited, 2 * NS_PER_SEC, "woken, not timed out");
    mux_slot_unclaim(a.got);
    pool_destroy(&p);
}

typedef struct churn_arg {
    pool *p;
    unsigned depth;
    atomic_int *out;
    atomic_int *max_out;
    int rounds;
    int failures;
} churn_arg;

static void *churn(void *arg)
{
    churn_arg *a = arg;
    for (int i = 0; i < a->rounds; i++) {
        mux_slot *s = claim(a->p, a->depth, 5 * NS_PER_SEC);
        if (s == NULL) {
            a->failures++;
            continue;
        }
        int now = atomic_fetch_add(a->out, 1) + 1;
        int m = atomic_load(a->max_out);
        while (now > m && !atomic_compare_exchange_weak(a->max_out, &m, now))
            ;
        if (i % 7 == 0)
            sched_yield();
        atomic_fetch_sub(a->out, 1);
        mux_slot_unclaim(s);
    }
    return NULL;
}

static void churn_test(unsigned depth)
{
    pool p;
    cr_assert_eq(pool_init(&p, 2), 0);
    atomic_int out = 0, max_out = 0;
    churn_arg args[8];
    pthread_t t[8];
    for (int i = 0; i < 8; i++) {
        args[i] = (churn_arg){&p, depth, &out, &max_out, 20000, 0};
        pthread_create(&t[i], NULL, churn, &args[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(args[i].failures, 0);
    }
    cr_assert_leq(atomic_load(&max_out), (int)(2 * depth));
    cr_assert_eq(atomic_load(&out), 0);
    for (int i = 0; i < 2; i++)
        cr_assert_eq(p.slots[i].load, 0, "every place given back");
    uint32_t open, idle;
    pool_count(&p, &open, &idle);
    cr_assert_leq(open, 2, "never more connections than slots");
    pool_destroy(&p);
}

Test(pool, many_threads_one_request_per_connection, .timeout = 60)
{
    churn_test(1);
}

Test(pool, many_threads_pipelined_within_the_depth, .timeout = 60)
{
    churn_test(3);
}

/* ---- connect limits ------------------------------------------------------ */

Test(pool, one_connect_at_a_time_and_the_others_queue_on_it)
{
    pool p;
    cr_assert_eq(pool_init(&p, 4), 0);
    connect_limits lim = {1, 0, NULL};
    bool connect;
    int64_t deadline;
    claim_failure why;
    mux_slot *a = pool_claim_limited(&p, 8, NS_PER_SEC, &lim, &connect,
                                     &deadline, &why);
    cr_assert(connect);
    /* Three more callers while it connects: no second connect. */
    mux_slot *q[3];
    for (int i = 0; i < 3; i++) {
        q[i] = pool_claim_limited(&p, 8, NS_PER_SEC, &lim, &connect,
                                  &deadline, &why);
        cr_assert_eq(q[i], a, "queued on the slot being connected");
        cr_assert_not(connect);
    }
    cr_assert_eq(atomic_load(&p.attempts), 1);
    mux_slot_connected(a, 0, FENCE_OFF);
    pool_connect_done(&p);
    /* With the connect done, a busy pool may connect its next slot. */
    mux_slot *b = pool_claim_limited(&p, 8, NS_PER_SEC, &lim, &connect,
                                     &deadline, &why);
    cr_assert(connect);
    cr_assert_neq(b, a);
    mux_slot_connected(b, 0, FENCE_OFF);
    pool_connect_done(&p);
    mux_slot_unclaim(a);
    for (int i = 0; i < 3; i++)
        mux_slot_unclaim(q[i]);
    mux_slot_unclaim(b);
    pool_destroy(&p);
}

Test(pool, past_the_connect_rate_a_claim_with_nothing_open_fails_at_once)
{
    pool p;
    cr_assert_eq(pool_init(&p, 2), 0);
    /* 2 connects a second: a bucket of two. */
    connect_limits lim = {0, NS_PER_SEC / 2, NULL};
    bool connect;
    int64_t deadline;
    claim_failure why;
    for (int i = 0; i < 2; i++) {
        mux_slot *s = pool_claim_limited(&p, 1, NS_PER_SEC, &lim, &connect,
                                         &deadline, &why);
        cr_assert_not_null(s, "connect %d within the bucket", i);
        cr_assert(connect);
        mux_slot_connected(s, MCRING_ECONNREFUSED, FENCE_OFF);
        pool_connect_done(&p);
    }
    int64_t t0 = clock_now_ns();
    cr_assert_null(pool_claim_limited(&p, 1, NS_PER_SEC, &lim, &connect,
                                      &deadline, &why));
    cr_assert_eq(why, CLAIM_LIMITED);
    cr_assert_lt(clock_now_ns() - t0, 10 * NS_PER_MS, "no waiting");
    cr_assert_eq(atomic_load(&p.limited), 1);
    cr_assert_eq(atomic_load(&p.attempts), 2);
    /* Half a second later a token is back. */
    usleep(550000);
    mux_slot *s = pool_claim_limited(&p, 1, NS_PER_SEC, &lim, &connect,
                                     &deadline, &why);
    cr_assert_not_null(s);
    cr_assert(connect);
    mux_slot_connected(s, 0, FENCE_OFF);
    pool_connect_done(&p);
    mux_slot_unclaim(s);
    pool_destroy(&p);
}

Test(pool, after_a_recovery_the_pool_refills_at_the_connect_rate)
{
    pool p;
    cr_assert_eq(pool_init(&p, 4), 0);
    connect_limits lim = {0, NS_PER_SEC / 10, NULL};
    pool_recovered(&p, &lim, clock_now_ns());
    bool connect;
    int64_t deadline;
    claim_failure why;
    /* Depth 1, four callers: each needs a connection. The first connects
     * at once; the others wait for the bucket, 100 ms apart. */
    int64_t t0 = clock_now_ns();
    mux_slot *s[4];
    for (int i = 0; i < 4; i++) {
        s[i] = pool_claim_limited(&p, 1, NS_PER_SEC, &lim, &connect,
                                  &deadline, &why);
        cr_assert_not_null(s[i], "caller %d", i);
        cr_assert(connect);
        mux_slot_connected(s[i], 0, FENCE_OFF);
        pool_connect_done(&p);
        if (i == 0)
            cr_assert_lt(clock_now_ns() - t0, 10 * NS_PER_MS);
    }
    int64_t took = clock_now_ns() - t0;
    cr_assert_geq(took, 290 * NS_PER_MS, "four connects took %lld ms",
                  (long long)(took / NS_PER_MS));
    for (int i = 0; i < 4; i++)
        mux_slot_unclaim(s[i]);
    pool_destroy(&p);
}

typedef struct give_up_arg {
    pool *p;
    connect_limits *lim;
    mux_slot *got;
    claim_failure why;
    int64_t waited;
} give_up_arg;

static void *claim_limited(void *arg)
{
    give_up_arg *a = arg;
    bool connect;
    int64_t deadline, t0 = clock_now_ns();
    a->got = pool_claim_limited(a->p, 1, 5 * NS_PER_SEC, a->lim, &connect,
                                &deadline, &a->why);
    a->waited = clock_now_ns() - t0;
    return NULL;
}

Test(pool, waiters_give_up_when_the_server_goes_down)
{
    pool p;
    cr_assert_eq(pool_init(&p, 1), 0);
    _Atomic int down = 0;
    connect_limits lim = {1, 0, &down};
    mux_slot *s = claim(&p, 1, NS_PER_SEC);
    give_up_arg a = {&p, &lim, NULL, 0, 0};
    pthread_t t;
    pthread_create(&t, NULL, claim_limited, &a);
    usleep(100000);
    atomic_store(&down, 2);
    pool_wake_waiters(&p);
    pthread_join(t, NULL);
    cr_assert_null(a.got);
    cr_assert_eq(a.why, CLAIM_GAVE_UP);
    cr_assert_lt(a.waited, NS_PER_SEC);
    mux_slot_unclaim(s);
    pool_destroy(&p);
}
