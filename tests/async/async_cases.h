/*
 * The async API's test cases, written once and run through each adapter
 * (test_async_epoll.c, test_async_uv.c, test_async_libevent.c define
 * `driver` and ASYNC_SUITE, then include this file), against real
 * memcached servers: every operation with hits and misses, 10,000 requests
 * in flight from one loop thread, a server killed and one stopped with
 * requests in flight (every callback runs once; failover), a ring swap in
 * flight, cancelling and freeing from inside a callback, the rules of
 * the header (an error return never calls back; no callback inside the
 * call that queued it), and what it shares with the blocking calls
 * (metrics and the trace hook; a server the prober holds down). Run under
 * ASan/LSan by tools/check.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake.h"
#include "harness.h"

typedef struct loop_driver {
    const char *name;
    void *(*make)(void);
    int (*new_async)(mcring_async **out, mcring_client *c, void *loop);
    /* One turn of the loop: waits at most about 10 ms. */
    void (*turn)(void *loop);
    void (*destroy)(void *loop);
} loop_driver;

static const loop_driver driver;

static mc_server srv[2];
static void *loop;
static mcring_options *opts;
static mcring_client *client;
static mcring_async *async;

static void setup(void)
{
    mc_start(&srv[0], NULL);
    mc_start(&srv[1], NULL);
    char names[160];
    snprintf(names, sizeof(names), "%s,%s", srv[0].name, srv[1].name);
    opts = opts_for(names, "io_timeout", "1", "tries", "2",
                    "error_suppression_interval", "0", NULL);
    client = client_for(opts);
    loop = driver.make();
    cr_assert_eq(driver.new_async(&async, client, loop), 0);
}

static void teardown(void)
{
    mcring_async_free(async);
    for (int i = 0; i < 5; i++)
        driver.turn(loop); /* the loop's own handles close */
    driver.destroy(loop);
    mcring_client_free(client);
    mcring_options_free(opts);
    mc_stop(&srv[0]);
    mc_stop(&srv[1]);
}

TestSuite(ASYNC_SUITE, .init = setup, .fini = teardown, .timeout = 120);

/* Turns the loop until nothing is pending (or 20 s pass: a hang). */
static void run_all(void)
{
    double end = now_s() + 20;
    while (mcring_async_pending(async) > 0) {
        cr_assert_lt(now_s(), end, "requests still pending: %zu",
                     mcring_async_pending(async));
        driver.turn(loop);
    }
}

/* Turns the loop until *calls reaches want. */
static void wait_calls(const int *calls, int want)
{
    double end = now_s() + 20;
    while (*calls < want) {
        cr_assert_lt(now_s(), end, "a callback never ran");
        driver.turn(loop);
    }
}

/* A key named prefix-N whose first server is `first`, into buf. */
static void key_first_on(mcring_client *c, const char *prefix,
                         const char *first, char *buf, size_t len)
{
    mcring_ring *ring = mcring_client_ring_ref(c);
    for (int i = 0;; i++) {
        cr_assert_lt(i, 100000);
        snprintf(buf, len, "%s-%d", prefix, i);
        size_t idx;
        if (mcring_ring_locate(ring, buf, strlen(buf), &idx, 1) == 1 &&
            strcmp(mcring_ring_server(ring, idx), first) == 0)
            break;
    }
    mcring_ring_free(ring);
}

/* ---- callbacks that record ---------------------------------------------- */

typedef struct record {
    int calls;
    int rc;
    char value[128];
    size_t len;
    uint64_t number;
    int status[16];
    char values[16][32];
} record;

static void on_done(mcring_async *a, int rc, void *ud)
{
    (void)a;
    record *r = ud;
    r->calls++;
    r->rc = rc;
}

static void on_get(mcring_async *a, int rc, const mcring_item *it, void *ud)
{
    (void)a;
    record *r = ud;
    r->calls++;
    r->rc = rc;
    if (it != NULL) {
        r->len = it->len < sizeof(r->value) ? it->len : sizeof(r->value) - 1;
        memcpy(r->value, it->data, r->len);
        r->value[r->len] = '\0';
    }
}

static void on_count(mcring_async *a, int rc, uint64_t v, void *ud)
{
    (void)a;
    record *r = ud;
    r->calls++;
    r->rc = rc;
    r->number = v;
}

static void on_multi(mcring_async *a, int rc, size_t n,
                     const mcring_item *items, const int *status, void *ud)
{
    (void)a;
    record *r = ud;
    r->calls++;
    r->rc = rc;
    for (size_t i = 0; i < n && i < 16; i++) {
        r->status[i] = status[i];
        snprintf(r->values[i], sizeof(r->values[i]), "%.*s",
                 (int)items[i].len, items[i].data ? items[i].data : "");
    }
}

static void on_set_multi(mcring_async *a, int rc, size_t n, const int *status,
                         void *ud)
{
    (void)a;
    record *r = ud;
    r->calls++;
    r->rc = rc;
    for (size_t i = 0; i < n && i < 16; i++)
        r->status[i] = status[i];
}

/* ---- every operation ------------------------------------------------------*/

Test(ASYNC_SUITE, every_operation_with_hits_and_misses)
{
    record set = {0}, hit = {0}, miss = {0}, del = {0}, del2 = {0};
    record inc = {0}, dec = {0}, mget = {0}, mset = {0};
    cr_assert_eq(mcring_async_set(async, "k", 1, "hello", 5, 0, 0, on_done,
                                  &set),
                 0);
    run_all();
    cr_assert_eq(set.calls, 1);
    cr_assert_eq(set.rc, MCRING_OK);
    cr_assert_eq(mcring_async_get(async, "k", 1, on_get, &hit), 0);
    cr_assert_eq(mcring_async_get(async, "nope", 4, on_get, &miss), 0);
    cr_assert_eq(mcring_async_incr(async, "n", 1, 5, 0, on_count, &inc), 0);
    run_all();
    cr_assert_eq(hit.rc, MCRING_OK);
    cr_assert_str_eq(hit.value, "hello");
    cr_assert_eq(miss.rc, MCRING_MISS);
    cr_assert_eq(inc.rc, MCRING_OK);
    cr_assert_eq(inc.number, 5, "created with the delta");
    cr_assert_eq(mcring_async_decr(async, "n", 1, 2, 0, on_count, &dec), 0);
    cr_assert_eq(mcring_async_delete(async, "k", 1, on_done, &del), 0);
    run_all();
    cr_assert_eq(dec.number, 3);
    cr_assert_eq(del.rc, MCRING_OK);
    cr_assert_eq(mcring_async_delete(async, "k", 1, on_done, &del2), 0);
    run_all();
    cr_assert_eq(del2.rc, MCRING_MISS);

    mcring_kv kvs[3] = {{"a", 1, "va", 2, 0}, {"b", 1, "vb", 2, 0},
                        {"c", 1, "vc", 2, 0}};
    cr_assert_eq(mcring_async_set_multi(async, kvs, 3, NULL, 0, 0,
                                        on_set_multi, &mset),
                 0);
    run_all();
    cr_assert_eq(mset.rc, 0);
    mcring_key keys[4] = {{"a", 1}, {"zz", 2}, {"c", 1}, {"b", 1}};
    cr_assert_eq(mcring_async_get_multi(async, keys, 4, NULL, 0, on_multi,
                                        &mget),
                 0);
    run_all();
    cr_assert_eq(mget.calls, 1);
    cr_assert_eq(mget.rc, 0);
    cr_assert_eq(mget.status[0], MCRING_OK);
    cr_assert_str_eq(mget.values[0], "va");
    cr_assert_eq(mget.status[1], MCRING_MISS);
    cr_assert_str_eq(mget.values[2], "vc");
    cr_assert_str_eq(mget.values[3], "vb");

    /* The blocking client sees what the loop wrote, and the reverse. */
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_get(client, "a", 1, &it), MCRING_OK);
    cr_assert_eq(mcring_set(client, "blocking", 8, "bv", 2, 0, 0), MCRING_OK);
    mcring_item_release(&it);
    record got = {0};
    mcring_async_get(async, "blocking", 8, on_get, &got);
    run_all();
    cr_assert_str_eq(got.value, "bv");
}

/* ---- the header's rules ---------------------------------------------------*/

Test(ASYNC_SUITE, an_error_return_never_calls_back_and_nothing_runs_inside_the_call)
{
    record r = {0};
    cr_assert_eq(mcring_async_get(async, NULL, 3, on_get, &r), MCRING_EINVAL);
    cr_assert_eq(mcring_async_get_multi(async, NULL, 2, NULL, 0, on_multi, &r),
                 MCRING_EINVAL);
    for (int i = 0; i < 3; i++)
        driver.turn(loop);
    cr_assert_eq(r.calls, 0, "no callback after an error return");

    /* A server that refuses: the outcome is known at once, yet the
     * callback waits for the loop. */
    mcring_options *o = opts_for("127.0.0.1:1", "tries", "1", NULL);
    mcring_client *c = client_for(o);
    mcring_async *a;
    cr_assert_eq(driver.new_async(&a, c, loop), 0);
    record refused = {0}, empty = {0};
    cr_assert_eq(mcring_async_get(a, "k", 1, on_get, &refused), 0);
    cr_assert_eq(mcring_async_get_multi(a, NULL, 0, NULL, 0, on_multi, &empty),
                 0);
    cr_assert_eq(refused.calls, 0, "called back inside the call");
    cr_assert_eq(empty.calls, 0, "called back inside the call");
    double end = now_s() + 10;
    while (mcring_async_pending(a) > 0 && now_s() < end)
        driver.turn(loop);
    cr_assert_eq(refused.calls, 1);
    cr_assert_eq(refused.rc, MCRING_ECONNREFUSED);
    cr_assert_eq(empty.calls, 1);
    cr_assert_eq(empty.rc, 0);
    mcring_async_free(a);
    for (int i = 0; i < 3; i++)
        driver.turn(loop);
    mcring_client_free(c);
    mcring_options_free(o);
}

/* ---- 10,000 in flight -----------------------------------------------------*/

typedef struct many {
    int calls, bad;
} many;

static void many_set(mcring_async *a, int rc, void *ud)
{
    (void)a;
    many *m = ud;
    m->calls++;
    m->bad += rc != MCRING_OK;
}

static void many_get(mcring_async *a, int rc, const mcring_item *it, void *ud)
{
    (void)a;
    /* The key's number is in the value: check it against the callback's
     * own key, passed through the pointer's low bits via a table. */
    many *m = ud;
    m->calls++;
    m->bad += rc != MCRING_OK || it == NULL || it->len < 2 ||
              memcmp(it->data, "v:", 2) != 0;
}

typedef struct keyed {
    many *m;
    int i;
} keyed;

static void keyed_get(mcring_async *a, int rc, const mcring_item *it, void *ud)
{
    keyed *k = ud;
    many_get(a, rc, it, k->m);
    char want[32];
    int n = snprintf(want, sizeof(want), "v:%d", k->i);
    if (rc == MCRING_OK &&
        (it->len != (size_t)n || memcmp(it->data, want, (size_t)n) != 0))
        k->m->bad++;
}

Test(ASYNC_SUITE, ten_thousand_requests_in_flight_from_one_loop)
{
    enum { N = 10000 };
    many sets = {0}, gets = {0};
    keyed *kd = malloc(N * sizeof(*kd));
    for (int i = 0; i < N; i++) {
        char k[32], v[32];
        int kl = snprintf(k, sizeof(k), "m%d", i),
            vl = snprintf(v, sizeof(v), "v:%d", i);
        cr_assert_eq(mcring_async_set(async, k, (size_t)kl, v, (size_t)vl, 0,
                                      0, many_set, &sets),
                     0);
    }
    cr_assert_eq(mcring_async_pending(async), N);
    run_all();
    cr_assert_eq(sets.calls, N);
    cr_assert_eq(sets.bad, 0);
    for (int i = 0; i < N; i++) {
        char k[32];
        int kl = snprintf(k, sizeof(k), "m%d", i);
        kd[i] = (keyed){&gets, i};
        cr_assert_eq(mcring_async_get(async, k, (size_t)kl, keyed_get, &kd[i]),
                     0);
    }
    run_all();
    cr_assert_eq(gets.calls, N);
    cr_assert_eq(gets.bad, 0, "every value is its own key's");
    mcring_server_stats st[2];
    mcring_client_server_stats(client, st, 2);
    cr_assert_eq(st[0].connects + st[1].connects, 2,
                 "one connection per server for all of it");
    free(kd);
}

/* ---- servers failing with requests in flight ------------------------------*/

static void fill_first_server(const char *prefix, int n, char (*keys)[32],
                              int want_first)
{
    mcring_ring *ring = mcring_client_ring_ref(client);
    int got = 0;
    for (int i = 0; got < n; i++) {
        snprintf(keys[got], 32, "%s%d", prefix, i);
        size_t order[2];
        mcring_ring_locate(ring, keys[got], strlen(keys[got]), order, 2);
        if (strcmp(mcring_ring_server(ring, order[0]), srv[want_first].name) ==
            0)
            got++;
    }
    mcring_ring_free(ring);
}

static void failover_with(bool kill)
{
    enum { N = 500 };
    static char keys[N][32];
    fill_first_server(kill ? "kill" : "stop", N, keys, 0);
    /* The values are on the second server too, for failover. */
    mcring_options *o2 = opts_for(srv[1].name, NULL);
    mcring_client *c2 = client_for(o2);
    for (int i = 0; i < N; i++)
        cr_assert_eq(mcring_set(c2, keys[i], strlen(keys[i]), "v:x", 3, 0, 0),
                     MCRING_OK);
    mcring_client_free(c2);
    mcring_options_free(o2);
    /* A request to open the connection, then the server stops answering
     * with all of them in flight. */
    record first = {0};
    mcring_async_get(async, keys[0], strlen(keys[0]), on_get, &first);
    run_all();
    mc_pause(&srv[0]);
    many gets = {0};
    for (int i = 0; i < N; i++)
        cr_assert_eq(mcring_async_get(async, keys[i], strlen(keys[i]),
                                      many_get, &gets),
                     0);
    for (int i = 0; i < 5; i++)
        driver.turn(loop); /* written, unanswered */
    double t0 = now_s();
    if (kill)
        mc_kill(&srv[0]);
    run_all();
    if (!kill)
        mc_resume(&srv[0]);
    cr_assert_eq(gets.calls, N, "every callback ran, once");
    cr_assert_eq(gets.bad, 0, "each failed over to the second server");
    if (!kill)
        cr_assert(now_s() - t0 > 0.8, "waited for the io timeout");
    mcring_server_stats st[2];
    mcring_client_server_stats(client, st, 2);
    cr_assert_eq(st[0].errors, 1, "counted once for the connection");
}

Test(ASYNC_SUITE, a_server_killed_with_requests_in_flight)
{
    failover_with(true);
}

Test(ASYNC_SUITE, a_server_stopped_with_requests_in_flight)
{
    failover_with(false);
}

/* ---- a ring swap in flight ------------------------------------------------*/

Test(ASYNC_SUITE, a_ring_swap_with_requests_in_flight)
{
    enum { N = 2000 };
    many sets = {0}, after = {0};
    for (int i = 0; i < N; i++) {
        char k[32];
        int kl = snprintf(k, sizeof(k), "s%d", i);
        mcring_async_set(async, k, (size_t)kl, "v:s", 3, 0, 0, many_set, &sets);
        if (i == N / 2)
            cr_assert_eq(mcring_client_set_servers(client, srv[1].name, NULL,
                                                   0),
                         0);
    }
    run_all();
    cr_assert_eq(sets.calls, N);
    cr_assert_eq(sets.bad, 0, "in flight across the swap: all stored");
    /* New requests go by the new ring only; the first server's connection
     * is closed once idle. */
    for (int i = 0; i < 100; i++) {
        char k[32];
        int kl = snprintf(k, sizeof(k), "t%d", i);
        mcring_async_set(async, k, (size_t)kl, "v:t", 3, 0, 0, many_set, &after);
    }
    run_all();
    cr_assert_eq(after.bad, 0);
    mcring_server_stats st[2];
    size_t n = mcring_client_server_stats(client, st, 2);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(st[0].name, srv[1].name);
}

/* ---- cancelling and freeing from inside a callback ------------------------*/

typedef struct canceller {
    int calls, cancelled, ok, late;
    bool freeing;
} canceller;

static void fill_first_server(const char *prefix, int n, char (*keys)[32],
                              int want_first);

static void late_cb(mcring_async *a, int rc, void *ud)
{
    (void)a;
    canceller *c = ud;
    c->late++;
    (void)rc;
}

static void cancelling(mcring_async *a, int rc, void *ud)
{
    canceller *c = ud;
    c->calls++;
    if (rc == MCRING_ECANCELED)
        c->cancelled++;
    else if (rc == MCRING_OK)
        c->ok++;
    if (c->calls == 1) {
        if (c->freeing) {
            mcring_async_free(a);
            return;
        }
        mcring_async_cancel(a);
        /* A callback may start new operations. */
        cr_assert_eq(mcring_async_set(a, "after", 5, "x", 1, 0, 0, late_cb, c),
                     0);
    }
}

/* The first callback comes from the first server while the second,
 * stopped, holds every other request in flight. */
static void cancel_or_free(mcring_async *a, bool freeing)
{
    enum { N = 200 };
    static char on0[1][32], on1[N][32];
    fill_first_server("x", 1, on0, 0);
    fill_first_server("y", N, on1, 1);
    canceller c = {.freeing = freeing};
    /* Connections open first, so that the stop holds requests written. */
    record warm = {0};
    mcring_async_get(a, on1[0], strlen(on1[0]), on_get, &warm);
    while (warm.calls == 0)
        driver.turn(loop);
    mc_pause(&srv[1]);
    for (int i = 0; i < N - 1; i++)
        mcring_async_set(a, on1[i], strlen(on1[i]), "v", 1, 0, 0, cancelling,
                         &c);
    for (int i = 0; i < 3; i++)
        driver.turn(loop); /* written, unanswered */
    mcring_async_set(a, on0[0], strlen(on0[0]), "v", 1, 0, 0, cancelling, &c);
    double end = now_s() + 10;
    while (c.calls < N && now_s() < end)
        driver.turn(loop);
    mc_resume(&srv[1]);
    cr_assert_eq(c.calls, N, "every callback once");
    cr_assert_eq(c.ok, 1, "the first server's answer");
    cr_assert_eq(c.cancelled, N - 1, "the stopped server's were cancelled");
}

Test(ASYNC_SUITE, cancel_from_inside_a_callback)
{
    cancel_or_free(async, false);
    run_all();
    cr_assert_eq(mcring_async_pending(async), 0);
    /* The cancelled requests' replies were read and dropped: the
     * connection is in step, the next answer is right. */
    record got = {0};
    mcring_async_get(async, "after", 5, on_get, &got);
    run_all();
    cr_assert_eq(got.rc, MCRING_OK);
    cr_assert_str_eq(got.value, "x");
    mcring_server_stats st[2];
    mcring_client_server_stats(client, st, 2);
    cr_assert_eq(st[0].errors + st[1].errors, 0);
}

Test(ASYNC_SUITE, free_from_inside_a_callback)
{
    mcring_async *a;
    cr_assert_eq(driver.new_async(&a, client, loop), 0);
    cancel_or_free(a, true);
    for (int i = 0; i < 5; i++)
        driver.turn(loop);
}

/* ---- what the async object shares with the blocking calls ----------------*/

typedef struct traced {
    int events[MCRING_OP_TOUCH_MULTI + 1];
    size_t keys[MCRING_OP_TOUCH_MULTI + 1];
    int first_attempts;
} traced;

static void on_trace(void *ud, const mcring_trace_event *ev)
{
    traced *t = ud;
    t->events[ev->op]++;
    t->keys[ev->op] += ev->keys;
    t->first_attempts += ev->attempt == 1;
}

/* The client's figures for op, added up over its servers. */
static mcring_op_stats op_total(mcring_client *c, mcring_op op)
{
    mcring_op_stats st[32], sum = {.op = op};
    size_t n = mcring_client_op_stats(c, st, 32);
    cr_assert_leq(n, 32);
    for (size_t i = 0; i < n; i++)
        if (st[i].op == op) {
            sum.attempts += st[i].attempts;
            sum.failures += st[i].failures;
            sum.hits += st[i].hits;
            sum.misses += st[i].misses;
        }
    return sum;
}

Test(ASYNC_SUITE, every_attempt_is_recorded_and_traced_like_a_blocking_one)
{
    char names[160];
    snprintf(names, sizeof(names), "%s,%s", srv[0].name, srv[1].name);
    traced t = {0};
    mcring_options *o = opts_for(names, "io_timeout", "1", NULL);
    mcring_options_set_trace(o, on_trace, &t);
    mcring_client *c = client_for(o);
    mcring_async *a2;
    cr_assert_eq(driver.new_async(&a2, c, loop), 0);

    record r[8] = {{0}};
    mcring_async_set(a2, "tk", 2, "v", 1, 0, 0, on_done, &r[0]);
    mcring_async_incr(a2, "tn", 2, 1, 0, on_count, &r[1]); /* incr + add */
    while (r[0].calls + r[1].calls < 2)
        driver.turn(loop);
    mcring_async_get(a2, "tk", 2, on_get, &r[2]);
    mcring_async_get(a2, "tmiss", 5, on_get, &r[3]);
    mcring_async_delete(a2, "tk", 2, on_done, &r[4]);
    mcring_async_decr(a2, "tn", 2, 1, 0, on_count, &r[5]);
    mcring_kv kvs[2] = {{"ta", 2, "1", 1, 0}, {"tb", 2, "2", 1, 0}};
    mcring_async_set_multi(a2, kvs, 2, NULL, 0, 0, on_set_multi, &r[6]);
    while (r[2].calls + r[3].calls + r[4].calls + r[5].calls + r[6].calls < 5)
        driver.turn(loop);
    mcring_key keys[3] = {{"ta", 2}, {"tz", 2}, {"tb", 2}};
    mcring_async_get_multi(a2, keys, 3, NULL, 0, on_multi, &r[7]);
    while (r[7].calls < 1)
        driver.turn(loop);
    cr_assert_eq(r[2].rc, MCRING_OK);
    cr_assert_eq(r[3].rc, MCRING_MISS);
    cr_assert_eq(r[5].number, 0);

    mcring_op_stats get = op_total(c, MCRING_OP_GET);
    cr_assert_eq(get.attempts, 2);
    cr_assert_eq(get.hits, 1);
    cr_assert_eq(get.misses, 1);
    cr_assert_eq(op_total(c, MCRING_OP_SET).attempts, 1);
    cr_assert_eq(op_total(c, MCRING_OP_DELETE).attempts, 1);
    cr_assert_eq(op_total(c, MCRING_OP_INCR).attempts, 1,
                 "incr and its add are one attempt");
    cr_assert_eq(op_total(c, MCRING_OP_DECR).attempts, 1);
    mcring_op_stats mget = op_total(c, MCRING_OP_GET_MULTI);
    cr_assert_geq(mget.attempts, 1);
    cr_assert_eq(mget.hits, 2);
    cr_assert_eq(mget.misses, 1);
    cr_assert_eq(mget.failures, 0);
    cr_assert_geq(op_total(c, MCRING_OP_SET_MULTI).attempts, 1);

    /* The trace hook saw the same attempts, on this (the loop's) thread. */
    cr_assert_eq(t.events[MCRING_OP_GET], 2);
    cr_assert_eq(t.events[MCRING_OP_INCR], 1);
    cr_assert_eq(t.keys[MCRING_OP_GET_MULTI], 3);
    cr_assert_eq(t.keys[MCRING_OP_SET_MULTI], 2);
    int total = 0;
    for (int i = 0; i <= MCRING_OP_TOUCH_MULTI; i++)
        total += t.events[i];
    cr_assert_eq(t.first_attempts, total, "no attempt needed a second try");

    mcring_async_free(a2);
    for (int i = 0; i < 5; i++)
        driver.turn(loop);
    mcring_client_free(c);
    mcring_options_free(o);
}

Test(ASYNC_SUITE, a_server_the_prober_holds_down_is_passed_by)
{
    char dead[64], names[160], key[32];
    snprintf(dead, sizeof(dead), "127.0.0.1:%d", free_port());
    snprintf(names, sizeof(names), "%s,%s", dead, srv[1].name);
    mcring_options *o = opts_for(
        names, "server_health", "probe", "health_probe_interval", "5",
        "connect_timeout", "0.2", "io_timeout", "0.3", "health_max_down",
        "1", "key_mode", "raw", NULL);
    mcring_client *c = client_for(o);
    key_first_on(c, "down", dead, key, sizeof(key));
    /* A blocking call finds it dead: the refused connect marks it down. */
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_get(c, key, strlen(key), &it), MCRING_MISS);
    mcring_server_stats st[2];
    mcring_client_server_stats(c, st, 2);
    int d = strcmp(st[0].name, dead) == 0 ? 0 : 1;
    cr_assert_eq(st[d].health, MCRING_HEALTH_HARD_DOWN);
    uint64_t dials = st[d].connect_attempts, fast = st[d].fast_fails;

    mcring_async *a2;
    cr_assert_eq(driver.new_async(&a2, c, loop), 0);
    enum { N = 50 };
    record r[N] = {{0}};
    for (int k = 0; k < N; k++)
        cr_assert_eq(mcring_async_get(a2, key, strlen(key), on_get, &r[k]),
                     0);
    int calls = 0;
    for (double end = now_s() + 10; calls < N && now_s() < end;) {
        driver.turn(loop);
        calls = 0;
        for (int k = 0; k < N; k++)
            calls += r[k].calls;
    }
    cr_assert_eq(calls, N);
    for (int k = 0; k < N; k++)
        cr_assert_eq(r[k].rc, MCRING_MISS, "%s", mcring_err_name(r[k].rc));
    mcring_client_server_stats(c, st, 2);
    cr_assert_eq(st[d].connect_attempts, dials,
                 "the loop never dialled the server held down");
    cr_assert_geq(st[d].fast_fails, fast + N);

    /* A multi-key get of 20 keys placed on it: one fast failure for the
     * server, not one per key. */
    mcring_key many[20];
    char mk[20][16];
    for (int k = 0; k < 20; k++) {
        snprintf(mk[k], sizeof(mk[k]), "m%d", k);
        many[k] = (mcring_key){mk[k], strlen(mk[k])};
    }
    record mr = {0};
    uint64_t fast_before = st[d].fast_fails;
    cr_assert_eq(mcring_async_get_multi(a2, many, 20, key, strlen(key),
                                        on_multi, &mr),
                 0);
    wait_calls(&mr.calls, 1);
    cr_assert_eq(mr.rc, 0);
    cr_assert_eq(mr.status[0], MCRING_MISS, "from the next server");
    mcring_client_server_stats(c, st, 2);
    cr_assert_eq(st[d].fast_fails, fast_before + 1);
    cr_assert_eq(st[d].connect_attempts, dials);

    mcring_async_free(a2);
    for (int k = 0; k < 5; k++)
        driver.turn(loop);
    mcring_client_free(c);
    mcring_options_free(o);
}

/* ---- memcached's other commands ---------------------------------------------*/

typedef struct got_item {
    int calls, rc;
    uint64_t cas;
    uint32_t flags;
    char value[32];
} got_item;

static void on_item(mcring_async *a, int rc, const mcring_item *it, void *ud)
{
    (void)a;
    got_item *g = ud;
    g->calls++;
    g->rc = rc;
    if (it != NULL) {
        g->cas = it->cas;
        g->flags = it->flags;
        snprintf(g->value, sizeof(g->value), "%.*s", (int)it->len,
                 (const char *)it->data);
    }
}

Test(ASYNC_SUITE, the_other_commands_answer_as_the_blocking_ones)
{
    record r = {0};
    int want = 0;
#define EXPECT(call, rc_want)                                                  \
    do {                                                                       \
        cr_assert_eq(call, 0);                                                 \
        wait_calls(&r.calls, ++want);                                          \
        cr_assert_eq(r.rc, rc_want, "%s: %s", #call, mcring_err_name(r.rc));  \
    } while (0)
    EXPECT(mcring_async_add(async, "c1", 2, "a", 1, 7, 0, on_done, &r),
           MCRING_OK);
    EXPECT(mcring_async_add(async, "c1", 2, "b", 1, 0, 0, on_done, &r),
           MCRING_NOT_STORED);
    EXPECT(mcring_async_replace(async, "c2", 2, "x", 1, 0, 0, on_done, &r),
           MCRING_NOT_STORED);
    EXPECT(mcring_async_replace(async, "c1", 2, "b", 1, 9, 0, on_done, &r),
           MCRING_OK);
    EXPECT(mcring_async_append(async, "c1", 2, "cd", 2, on_done, &r),
           MCRING_OK);
    EXPECT(mcring_async_prepend(async, "c1", 2, "_", 1, on_done, &r),
           MCRING_OK);
    EXPECT(mcring_async_append(async, "c2", 2, "cd", 2, on_done, &r),
           MCRING_NOT_STORED);
    EXPECT(mcring_async_touch(async, "c1", 2, 100, on_done, &r), MCRING_OK);
    EXPECT(mcring_async_touch(async, "c2", 2, 100, on_done, &r),
           MCRING_NOT_FOUND);

    /* gets reads what the blocking client reads, CAS included. */
    got_item g = {0};
    cr_assert_eq(mcring_async_gets(async, "c1", 2, on_item, &g), 0);
    wait_calls(&g.calls, 1);
    mcring_item it = MCRING_ITEM_INIT;
    /* Flags 9 carry the pickle bit, which the default codec cannot
     * decode: both say so, and both hand the bytes over. */
    int brc = mcring_gets(client, "c1", 2, &it);
    cr_assert_eq(brc, MCRING_UNDECODABLE, "%s", mcring_err_name(brc));
    cr_assert_eq(g.rc, brc);
    cr_assert_str_eq(g.value, "_bcd");
    cr_assert_eq(g.flags, 9, "replace's flags, kept by append and prepend");
    cr_assert_neq(g.cas, 0);
    cr_assert_eq(g.cas, it.cas);

    /* cas: the token read wins once, then it is stale. */
    EXPECT(mcring_async_cas(async, "c1", 2, "new", 3, 0, 0, g.cas, on_done,
                            &r),
           MCRING_OK);
    EXPECT(mcring_async_cas(async, "c1", 2, "newer", 5, 0, 0, g.cas, on_done,
                            &r),
           MCRING_EXISTS);
    EXPECT(mcring_async_cas(async, "c2", 2, "x", 1, 0, 0, g.cas, on_done, &r),
           MCRING_NOT_FOUND);

    /* gat and gats read and give a new TTL: a TTL of one second is gone
     * after two. */
    got_item t1 = {0}, t2 = {0}, miss = {0};
    cr_assert_eq(mcring_async_gat(async, "c1", 2, 1, on_item, &t1), 0);
    cr_assert_eq(mcring_async_gats(async, "c1", 2, 1, on_item, &t2), 0);
    cr_assert_eq(mcring_async_gets(async, "c2", 2, on_item, &miss), 0);
    wait_calls(&t1.calls, 1);
    wait_calls(&t2.calls, 1);
    wait_calls(&miss.calls, 1);
    cr_assert_eq(t1.rc, MCRING_OK);
    cr_assert_str_eq(t1.value, "new");
    cr_assert_eq(t1.cas, 0, "gat does not ask for the CAS");
    cr_assert_str_eq(t2.value, "new");
    cr_assert_neq(t2.cas, 0);
    cr_assert_eq(miss.rc, MCRING_MISS);
    usleep(2100000);
    cr_assert_eq(mcring_get(client, "c1", 2, &it), MCRING_MISS,
                 "gat's TTL applied");
    mcring_item_release(&it);
#undef EXPECT
}

/* ---- meta commands and their tokens --------------------------------------*/

/* A server that answers mg with a value, echoing the request's key and
 * token, or (wrong) another token. */
typedef struct token_server {
    atomic_int mg_lines, other_lines;
    atomic_bool wrong;
} token_server;

static fake_action answer_tokens(int fd, const char *line, size_t len,
                                 void *ud)
{
    token_server *t = ud;
    if (len < 3 || memcmp(line, "mg ", 3) != 0) {
        atomic_fetch_add(&t->other_lines, 1);
        fake_puts(fd, "SERVER_ERROR not scripted\r\n");
        return FAKE_KEEP;
    }
    atomic_fetch_add(&t->mg_lines, 1);
    const char *ksp = memchr(line + 3, ' ', len - 3);
    int kl = ksp != NULL ? (int)(ksp - line - 3) : (int)len - 3;
    char tok[40] = "";
    for (size_t i = 0; i + 1 < len; i++)
        if (line[i] == ' ' && line[i + 1] == 'O') {
            size_t e = i + 2;
            while (e < len && line[e] != ' ')
                e++;
            snprintf(tok, sizeof(tok), "%.*s", (int)(e - i - 2), line + i + 2);
        }
    if (atomic_load(&t->wrong))
        snprintf(tok, sizeof(tok), "ffff");
    char out[512];
    snprintf(out, sizeof(out), "VA 4 f0 k%.*s O%s\r\nfake\r\n", kl, line + 3,
             tok);
    fake_puts(fd, out);
    return FAKE_KEEP;
}

Test(ASYNC_SUITE, with_protocol_meta_a_reply_must_carry_its_token)
{
    token_server t = {0};
    fake_server *f = fake_start(answer_tokens, &t);
    char names[160], key[32];
    snprintf(names, sizeof(names), "%s,%s", fake_name(f), srv[1].name);
    mcring_options *o = opts_for(names, "protocol", "meta", "io_timeout", "1",
                                 "error_suppression_interval", "0", NULL);
    mcring_client *c = client_for(o);
    key_first_on(c, "tok", fake_name(f), key, sizeof(key));
    /* The real second server holds the true value. */
    mcring_options *o2 = opts_for(srv[1].name, NULL);
    mcring_client *c2 = client_for(o2);
    cr_assert_eq(mcring_set(c2, key, strlen(key), "real", 4, 0, 0), MCRING_OK);
    mcring_async *a2;
    cr_assert_eq(driver.new_async(&a2, c, loop), 0);

    got_item right = {0};
    cr_assert_eq(mcring_async_get(a2, key, strlen(key), on_item, &right), 0);
    wait_calls(&right.calls, 1);
    cr_assert_eq(right.rc, MCRING_OK, "%s", mcring_err_name(right.rc));
    cr_assert_str_eq(right.value, "fake", "its own token: the fake's value");
    cr_assert_geq(atomic_load(&t.mg_lines), 1, "sent as a meta command");

    /* Another token: the connection ends and the get fails over to the
     * real server; never the fake's value. */
    atomic_store(&t.wrong, true);
    got_item wrong = {0};
    cr_assert_eq(mcring_async_get(a2, key, strlen(key), on_item, &wrong), 0);
    wait_calls(&wrong.calls, 1);
    cr_assert_eq(wrong.rc, MCRING_OK, "%s", mcring_err_name(wrong.rc));
    cr_assert_str_eq(wrong.value, "real");
    cr_assert_eq(atomic_load(&t.other_lines), 0, "only meta commands");
    mcring_server_stats st[2];
    mcring_client_server_stats(c, st, 2);
    int fi = strcmp(st[0].name, fake_name(f)) == 0 ? 0 : 1;
    cr_assert_geq(st[fi].errors, 1, "the fake was charged");

    mcring_async_free(a2);
    for (int i = 0; i < 5; i++)
        driver.turn(loop);
    mcring_client_free(c);
    mcring_options_free(o);
    mcring_client_free(c2);
    mcring_options_free(o2);
    fake_stop(f);
}

/* ---- single flight: an async write closes the blocking gets in flight ----*/

/* A text server whose first get is answered only when released, with the
 * value it had then; later gets and sets are answered at once. */
typedef struct held_server {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool released;
    int gets;
    bool expect_data;
    char value[32];
} held_server;

static fake_action answer_held(int fd, const char *line, size_t len, void *ud)
{
    held_server *h = ud;
    char out[160];
    pthread_mutex_lock(&h->lock);
    if (h->expect_data) {
        h->expect_data = false;
        snprintf(h->value, sizeof(h->value), "%.*s", (int)len, line);
        pthread_mutex_unlock(&h->lock);
        fake_puts(fd, "STORED\r\n");
        return FAKE_KEEP;
    }
    if (len > 4 && memcmp(line, "set ", 4) == 0) {
        h->expect_data = true;
        pthread_mutex_unlock(&h->lock);
        return FAKE_KEEP;
    }
    if (len > 4 && memcmp(line, "get ", 4) == 0) {
        char value[32];
        snprintf(value, sizeof(value), "%s", h->value);
        if (++h->gets == 1) {
            pthread_cond_broadcast(&h->cond);
            while (!h->released)
                pthread_cond_wait(&h->cond, &h->lock);
        }
        pthread_mutex_unlock(&h->lock);
        snprintf(out, sizeof(out), "VALUE %.*s 0 %zu\r\n%s\r\nEND\r\n",
                 (int)len - 4, line + 4, strlen(value), value);
        fake_puts(fd, out);
        return FAKE_KEEP;
    }
    pthread_mutex_unlock(&h->lock);
    fake_puts(fd, "ERROR\r\n");
    return FAKE_KEEP;
}

typedef struct blocking_get {
    mcring_client *c;
    int rc;
    char value[32];
    atomic_bool done;
} blocking_get;

static void *run_blocking_get(void *p)
{
    blocking_get *g = p;
    mcring_item it = MCRING_ITEM_INIT;
    g->rc = mcring_get(g->c, "sfk", 3, &it);
    if (g->rc == MCRING_OK)
        snprintf(g->value, sizeof(g->value), "%.*s", (int)it.len,
                 (const char *)it.data);
    mcring_item_release(&it);
    atomic_store(&g->done, true);
    return NULL;
}

Test(ASYNC_SUITE, an_async_write_closes_the_blocking_gets_in_flight)
{
    held_server h = {.lock = PTHREAD_MUTEX_INITIALIZER,
                     .cond = PTHREAD_COND_INITIALIZER,
                     .value = "old"};
    fake_server *f = fake_start(answer_held, &h);
    mcring_options *o = opts_for(fake_name(f), "single_flight", "true",
                                 "io_timeout", "5", "key_mode", "raw", NULL);
    char err[128];
    cr_assert_eq(mcring_options_set(o, "protocol", "text", err, sizeof(err)),
                 0, "%s", err);
    mcring_client *c = client_for(o);
    mcring_async *a2;
    cr_assert_eq(driver.new_async(&a2, c, loop), 0);

    /* A's get reaches the server, which holds its answer ("old"). */
    blocking_get ga = {.c = c}, gb = {.c = c};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, run_blocking_get, &ga);
    pthread_mutex_lock(&h.lock);
    while (h.gets == 0)
        pthread_cond_wait(&h.cond, &h.lock);
    pthread_mutex_unlock(&h.lock);

    /* The loop writes "new" and is told so. */
    record set = {0};
    cr_assert_eq(mcring_async_set(a2, "sfk", 3, "new", 3, 0, 0, on_done,
                                  &set),
                 0);
    wait_calls(&set.calls, 1);
    cr_assert_eq(set.rc, MCRING_OK);

    /* B's get, after the write completed, must not share A's: it asks
     * the server itself and reads "new" while A is still held. */
    pthread_create(&tb, NULL, run_blocking_get, &gb);
    for (double end = now_s() + 3; !atomic_load(&gb.done) && now_s() < end;)
        usleep(1000);
    bool b_done_first = atomic_load(&gb.done);
    pthread_mutex_lock(&h.lock);
    h.released = true;
    pthread_cond_broadcast(&h.cond);
    pthread_mutex_unlock(&h.lock);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    cr_assert(b_done_first, "B waited for A's reply: it joined A's get");
    cr_assert_eq(gb.rc, MCRING_OK);
    cr_assert_str_eq(gb.value, "new");
    cr_assert_eq(ga.rc, MCRING_OK);
    cr_assert_str_eq(ga.value, "old");

    mcring_async_free(a2);
    for (int i = 0; i < 5; i++)
        driver.turn(loop);
    mcring_client_free(c);
    mcring_options_free(o);
    fake_stop(f);
}

/* ---- keys a multi-key request cannot carry --------------------------------*/

Test(ASYNC_SUITE, multi_key_calls_refuse_keys_their_lines_cannot_carry)
{
    /* Meta mode takes any raw key for single-key calls (base64), but the
     * multi-key ones go as classic lines: such a key is the caller's
     * error, and nothing reaches a server. */
    char names[160];
    snprintf(names, sizeof(names), "%s,%s", srv[0].name, srv[1].name);
    mcring_options *o = opts_for(names, "protocol", "meta", "key_mode", "raw",
                                 NULL);
    mcring_client *c = client_for(o);
    mcring_async *a2;
    cr_assert_eq(driver.new_async(&a2, c, loop), 0);
    cr_assert_eq(mcring_set(c, "victim", 6, "v", 1, 0, 0), MCRING_OK);
    record r = {0};
    const char *bad[] = {"ab cd", "zz\r\ndelete victim", "tab\tkey"};
    for (int i = 0; i < 3; i++) {
        mcring_key k[2] = {{"fine", 4}, {bad[i], strlen(bad[i])}};
        cr_assert_eq(mcring_async_get_multi(a2, k, 2, NULL, 0, on_multi, &r),
                     MCRING_EKEY, "%s", bad[i]);
        mcring_kv kv[1] = {{bad[i], strlen(bad[i]), "x", 1, 0}};
        cr_assert_eq(mcring_async_set_multi(a2, kv, 1, NULL, 0, 0,
                                            on_set_multi, &r),
                     MCRING_EKEY, "%s", bad[i]);
    }
    for (int i = 0; i < 5; i++)
        driver.turn(loop);
    cr_assert_eq(r.calls, 0, "an error return never calls back");
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_get(c, "victim", 6, &it), MCRING_OK,
                 "no command went through in a key");
    /* The single-key calls still take them (base64 in meta commands). */
    got_item g = {0};
    cr_assert_eq(mcring_async_set(a2, "ab cd", 5, "sp", 2, 0, 0, on_done, &r),
                 0);
    wait_calls(&r.calls, 1);
    cr_assert_eq(r.rc, MCRING_OK);
    cr_assert_eq(mcring_async_get(a2, "ab cd", 5, on_item, &g), 0);
    wait_calls(&g.calls, 1);
    cr_assert_str_eq(g.value, "sp");
    mcring_server_stats st[2];
    mcring_client_server_stats(c, st, 2);
    cr_assert_eq(st[0].errors + st[1].errors, 0);
    mcring_item_release(&it);
    mcring_async_free(a2);
    for (int i = 0; i < 5; i++)
        driver.turn(loop);
    mcring_client_free(c);
    mcring_options_free(o);
}

/* ---- health: a reply ends a run of timeouts --------------------------------*/

/* A text server that never answers gets of keys starting "slow" (nor the
 * fence after them); it answers the others. */
static fake_action answer_unless_slow(int fd, const char *line, size_t len,
                                      void *ud)
{
    atomic_int *stalled_fd = ud; /* the connection a slow get stalled */
    if (len == 2 && memcmp(line, "mn", 2) == 0) {
        if (fd != atomic_load(stalled_fd))
            fake_puts(fd, "MN\r\n");
        return FAKE_KEEP;
    }
    if (len > 8 && memcmp(line, "get slow", 8) == 0) {
        atomic_store(stalled_fd, fd);
        return FAKE_KEEP;
    }
    if (len > 4 && memcmp(line, "get ", 4) == 0) {
        char out[300];
        if (fd == atomic_load(stalled_fd))
            atomic_store(stalled_fd, -1); /* a reused descriptor number */
        snprintf(out, sizeof(out), "VALUE %.*s 0 1\r\nx\r\nEND\r\n",
                 (int)len - 4, line + 4);
        fake_puts(fd, out);
        return FAKE_KEEP;
    }
    fake_puts(fd, "ERROR\r\n");
    return FAKE_KEEP;
}

Test(ASYNC_SUITE, timeouts_between_answers_are_not_timeouts_in_a_row)
{
    static atomic_int stalled_fd = -1;
    fake_server *f = fake_start(answer_unless_slow, &stalled_fd);
    fake_set_raw_fences(f, true);
    char names[160], slow[32], fast[32];
    snprintf(names, sizeof(names), "%s,%s", fake_name(f), srv[1].name);
    mcring_options *o = opts_for(
        names, "server_health", "probe", "health_timeouts", "3",
        "health_probe_interval", "5", "health_max_down", "1", "io_timeout",
        "0.5", "key_mode", "raw", "tries", "1", NULL);
    char err[128];
    cr_assert_eq(mcring_options_set(o, "protocol", "text", err, sizeof(err)),
                 0, "%s", err);
    mcring_client *c = client_for(o);
    key_first_on(c, "slow", fake_name(f), slow, sizeof(slow));
    key_first_on(c, "fast", fake_name(f), fast, sizeof(fast));
    mcring_async *a2;
    cr_assert_eq(driver.new_async(&a2, c, loop), 0);
    for (int i = 0; i < 4; i++) {
        got_item s1 = {0}, f1 = {0};
        cr_assert_eq(mcring_async_get(a2, slow, strlen(slow), on_item, &s1),
                     0);
        wait_calls(&s1.calls, 1);
        cr_assert_eq(s1.rc, MCRING_ETIMEOUT, "%s", mcring_err_name(s1.rc));
        cr_assert_eq(mcring_async_get(a2, fast, strlen(fast), on_item, &f1),
                     0);
        wait_calls(&f1.calls, 1);
        cr_assert_eq(f1.rc, MCRING_OK, "round %d: %s", i,
                     mcring_err_name(f1.rc));
    }
    mcring_server_stats st[2];
    mcring_client_server_stats(c, st, 2);
    int fi = strcmp(st[0].name, fake_name(f)) == 0 ? 0 : 1;
    cr_assert_eq(st[fi].health, MCRING_HEALTH_UP,
                 "four timeouts, each followed by an answer, are no run");
    mcring_async_free(a2);
    for (int i = 0; i < 5; i++)
        driver.turn(loop);
    mcring_client_free(c);
    mcring_options_free(o);
    fake_stop(f);
}

/* ---- compression ------------------------------------------------------------*/

/* What a get of a large value read: checked against `expect`. */
typedef struct big_read {
    int calls, rc;
    size_t len;
    uint32_t flags;
    bool same;
    const char *expect;
    size_t expect_len;
} big_read;

static void on_big(mcring_async *a, int rc, const mcring_item *it, void *ud)
{
    (void)a;
    big_read *g = ud;
    g->calls++;
    g->rc = rc;
    if (it != NULL) {
        g->len = it->len;
        g->flags = it->flags;
        g->same = it->len == g->expect_len &&
                  memcmp(it->data, g->expect, it->len) == 0;
    }
}

static void on_big_multi(mcring_async *a, int rc, size_t n,
                         const mcring_item *items, const int *status,
                         void *ud)
{
    (void)a;
    big_read *g = ud;
    g->calls++;
    g->rc = rc;
    if (n == 2 && status[0] == MCRING_OK && status[1] == MCRING_OK) {
        g->len = items[0].len;
        g->flags = items[0].flags;
        g->same = items[0].len == g->expect_len &&
                  memcmp(items[0].data, g->expect, items[0].len) == 0 &&
                  items[1].len == 5 && memcmp(items[1].data, "short", 5) == 0;
    }
}

Test(ASYNC_SUITE, values_are_compressed_and_decompressed_as_by_the_blocking_calls)
{
    char names[160];
    snprintf(names, sizeof(names), "%s,%s", srv[0].name, srv[1].name);
    mcring_options *o = opts_for(names, "compression", "zstd", NULL);
    mcring_client *c = client_for(o);
    /* A client without the layer sees what the servers hold. */
    mcring_options *ro = opts_for(names, NULL);
    mcring_client *raw = client_for(ro);
    mcring_async *a2;
    cr_assert_eq(driver.new_async(&a2, c, loop), 0);
    enum { LEN = 6000 };
    char *big = malloc(LEN);
    for (int i = 0; i < LEN; i++)
        big[i] = (char)('a' + (i * 7) % 13);

    record set = {0}, mset = {0};
    cr_assert_eq(mcring_async_set(a2, "zbig", 4, big, LEN, 5 << 16, 0,
                                  on_done, &set),
                 0);
    mcring_kv kv[2] = {{"zm1", 3, big, LEN, 0}, {"zm2", 3, "short", 5, 0}};
    cr_assert_eq(mcring_async_set_multi(a2, kv, 2, NULL, 0, 0, on_set_multi,
                                        &mset),
                 0);
    wait_calls(&set.calls, 1);
    wait_calls(&mset.calls, 1);
    cr_assert_eq(set.rc, MCRING_OK);
    cr_assert_eq(mset.rc, 0);
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_get(raw, "zbig", 4, &it), MCRING_OK);
    cr_assert_eq(it.flags, (5u << 16) | MCRING_FLAG_ZSTD, "stored compressed");
    cr_assert_lt(it.len, LEN / 4);
    cr_assert_eq(mcring_get(raw, "zm1", 3, &it), MCRING_OK);
    cr_assert_eq(it.flags, MCRING_FLAG_ZSTD);
    cr_assert_eq(mcring_get(raw, "zm2", 3, &it), MCRING_OK);
    cr_assert_eq(it.flags, 0, "a short value as it was");

    /* Read back through the loop: the caller's bytes and flags. */
    big_read g = {.expect = big, .expect_len = LEN};
    big_read gs = g, m = g;
    cr_assert_eq(mcring_async_get(a2, "zbig", 4, on_big, &g), 0);
    cr_assert_eq(mcring_async_gets(a2, "zbig", 4, on_big, &gs), 0);
    mcring_key keys[2] = {{"zm1", 3}, {"zm2", 3}};
    cr_assert_eq(mcring_async_get_multi(a2, keys, 2, NULL, 0, on_big_multi,
                                        &m),
                 0);
    wait_calls(&g.calls, 1);
    wait_calls(&gs.calls, 1);
    wait_calls(&m.calls, 1);
    cr_assert_eq(g.rc, MCRING_OK, "%s", mcring_err_name(g.rc));
    cr_assert(g.same, "get: %zu bytes", g.len);
    cr_assert_eq(g.flags, 5u << 16);
    cr_assert_eq(gs.rc, MCRING_OK);
    cr_assert(gs.same, "gets: %zu bytes", gs.len);
    cr_assert_eq(m.rc, 0);
    cr_assert(m.same, "get_multi: %zu bytes", m.len);
    cr_assert_eq(m.flags, 0);

    mcring_async_free(a2);
    for (int i = 0; i < 5; i++)
        driver.turn(loop);
    free(big);
    mcring_item_release(&it);
    mcring_client_free(raw);
    mcring_options_free(ro);
    mcring_client_free(c);
    mcring_options_free(o);
}

/* gets_multi: each key's status, value and CAS token. */
typedef struct cas_read {
    int calls, rc, status[3];
    uint64_t cas[3];
    char values[3][16];
} cas_read;

static void on_cas_multi(mcring_async *a, int rc, size_t n,
                         const mcring_item *items, const int *status,
                         void *ud)
{
    (void)a;
    cas_read *g = ud;
    g->calls++;
    g->rc = rc;
    for (size_t i = 0; i < n && i < 3; i++) {
        g->status[i] = status[i];
        g->cas[i] = items[i].cas;
        snprintf(g->values[i], sizeof(g->values[i]), "%.*s",
                 (int)items[i].len, items[i].data ? items[i].data : "");
    }
}

Test(ASYNC_SUITE, gets_multi_and_touch_multi_answer_as_the_blocking_ones)
{
    mcring_kv kv[2] = {{"gm1", 3, "one", 3, 0}, {"gm2", 3, "two", 3, 0}};
    int st[3];
    cr_assert_eq(mcring_set_multi(client, kv, 2, NULL, 0, 0, st), 0);
    mcring_key keys[3] = {{"gm1", 3}, {"gm-none", 7}, {"gm2", 3}};
    mcring_item items[3] = {MCRING_ITEM_INIT, MCRING_ITEM_INIT,
                            MCRING_ITEM_INIT};
    cr_assert_eq(mcring_gets_multi(client, keys, 3, NULL, 0, items, st), 0);

    cas_read got = {0};
    cr_assert_eq(mcring_async_gets_multi(async, keys, 3, NULL, 0,
                                         on_cas_multi, &got),
                 0);
    wait_calls(&got.calls, 1);
    cr_assert_eq(got.rc, 0);
    cr_assert_eq(got.status[0], MCRING_OK);
    cr_assert_eq(got.status[1], MCRING_MISS);
    cr_assert_eq(got.status[2], MCRING_OK);
    cr_assert_str_eq(got.values[0], "one");
    cr_assert_str_eq(got.values[2], "two");
    cr_assert_neq(got.cas[0], 0);
    cr_assert_eq(got.cas[0], items[0].cas, "the blocking call's token");
    cr_assert_eq(got.cas[2], items[2].cas);

    /* touch_multi: touched, not found, touched; a TTL of one second. */
    record t = {0};
    cr_assert_eq(mcring_async_touch_multi(async, keys, 3, NULL, 0, 1,
                                          on_set_multi, &t),
                 0);
    wait_calls(&t.calls, 1);
    cr_assert_eq(t.rc, 0);
    cr_assert_eq(t.status[0], MCRING_OK);
    cr_assert_eq(t.status[1], MCRING_NOT_FOUND);
    cr_assert_eq(t.status[2], MCRING_OK);
    usleep(2100000);
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_get(client, "gm1", 3, &it), MCRING_MISS,
                 "touch_multi's TTL applied");
    mcring_item_release(&it);
    for (int i = 0; i < 3; i++)
        mcring_item_release(&items[i]);
}
