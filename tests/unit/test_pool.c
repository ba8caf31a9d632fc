/* The lock-free pool on its own: limits, waiting, timeouts (no sockets:
 * slots are handed out unconnected). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "pool.h"

Test(pool, never_more_slots_than_its_size)
{
    pool p;
    cr_assert_eq(pool_init(&p, 3, NULL), 0);
    pool_slot *s[3];
    for (int i = 0; i < 3; i++)
        cr_assert_not_null(s[i] = pool_borrow(&p, clock_now_ns() + NS_PER_SEC));
    int64_t t0 = clock_now_ns();
    cr_assert_null(pool_borrow(&p, t0 + 50 * NS_PER_MS));
    int64_t waited = clock_now_ns() - t0;
    cr_assert_geq(waited, 45 * NS_PER_MS, "returned early: %lld", (long long)waited);
    cr_assert_eq(atomic_load(&p.timeouts), 1);
    cr_assert_eq(atomic_load(&p.waits), 1);
    for (int i = 0; i < 3; i++)
        pool_return(&p, s[i], true);
    pool_destroy(&p);
}

typedef struct waiter_arg {
    pool *p;
    pool_slot *got;
    int64_t waited;
} waiter_arg;

static void *waiter(void *arg)
{
    waiter_arg *a = arg;
    int64_t t0 = clock_now_ns();
    a->got = pool_borrow(a->p, t0 + 5 * NS_PER_SEC);
    a->waited = clock_now_ns() - t0;
    return NULL;
}

Test(pool, a_return_wakes_a_waiter)
{
    pool p;
    cr_assert_eq(pool_init(&p, 1, NULL), 0);
    pool_slot *s = pool_borrow(&p, clock_now_ns() + NS_PER_SEC);
    waiter_arg a = {&p, NULL, 0};
    pthread_t t;
    pthread_create(&t, NULL, waiter, &a);
    usleep(100000);
    pool_return(&p, s, false);
    pthread_join(t, NULL);
    cr_assert_eq(a.got, s);
    cr_assert_lt(a.waited, 2 * NS_PER_SEC, "woken, not timed out");
    pool_return(&p, a.got, false);
    pool_destroy(&p);
}

typedef struct churn_arg {
    pool *p;
    atomic_int *out;
    atomic_int *max_out;
    int rounds;
    int failures;
} churn_arg;

static void *churn(void *arg)
{
    churn_arg *a = arg;
    for (int i = 0; i < a->rounds; i++) {
        pool_slot *s = pool_borrow(a->p, clock_now_ns() + 5 * NS_PER_SEC);
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
        pool_return(a->p, s, false);
    }
    return NULL;
}

Test(pool, many_threads_never_exceed_the_limit, .timeout = 60)
{
    pool p;
    cr_assert_eq(pool_init(&p, 2, NULL), 0);
    atomic_int out = 0, max_out = 0;
    churn_arg args[8];
    pthread_t t[8];
    for (int i = 0; i < 8; i++) {
        args[i] = (churn_arg){&p, &out, &max_out, 20000, 0};
        pthread_create(&t[i], NULL, churn, &args[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(args[i].failures, 0);
    }
    cr_assert_leq(atomic_load(&max_out), 2);
    cr_assert_eq(atomic_load(&out), 0);
    /* Every slot is back: both can be borrowed at once again. */
    pool_slot *a = pool_borrow(&p, clock_now_ns());
    pool_slot *b = pool_borrow(&p, clock_now_ns());
    cr_assert(a && b && a != b);
    pool_return(&p, a, false);
    pool_return(&p, b, false);
    pool_destroy(&p);
}
