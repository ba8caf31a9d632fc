/* Failover and error limiting against real servers that die, and the fixes
 * of Swift's failure-path bugs. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fake.h"
#include "harness.h"

static mc_server srv[3];

static void stop_all(void)
{
    for (int i = 0; i < 3; i++)
        mc_stop(&srv[i]);
}

TestSuite(failover, .fini = stop_all, .timeout = 120);

Test(failover, a_dead_server_fails_over_and_gets_error_limited)
{
    for (int i = 0; i < 3; i++)
        mc_start(&srv[i], NULL);
    char list[256], key[32];
    log_capture lc = {0};
    mcring_options *o = opts_for(names_of(list, sizeof(list), srv, 3), NULL);
    mcring_options_set_log(o, log_capture_fn, &lc);
    mcring_client *c = client_for(o);
    mcring_item it = MCRING_ITEM_INIT;

    key_on(c, srv[0].name, srv[1].name, key, sizeof(key));
    cr_assert_eq(mcring_set(c, key, strlen(key), "v0", 2, 0, 0), MCRING_OK);
    mc_kill(&srv[0]);

    /* The first server is gone: the next one answers (it never had the
     * value, so a miss), and writes land there. */
    cr_assert_eq(mcring_get(c, key, strlen(key), &it), MCRING_MISS);
    cr_assert_eq(mcring_set(c, key, strlen(key), "v1", 2, 0, 0), MCRING_OK);
    cr_assert_eq(mcring_get(c, key, strlen(key), &it), MCRING_OK);
    cr_assert_eq(it.len, 2);
    cr_assert(memcmp(it.data, "v1", 2) == 0);
    const char *r = mc_raw(&srv[1], "stats items\r\n", 13, "END\r\n");
    cr_assert(strstr(r, "number 1") != NULL, "the value is on the second: %s", r);

    mcring_server_stats st[3];
    mcring_client_server_stats(c, st, 3);
    int dead = strcmp(st[0].name, srv[0].name) == 0 ? 0
             : strcmp(st[1].name, srv[0].name) == 0 ? 1 : 2;
    uint64_t errors = st[dead].errors;
    cr_assert_eq(errors, 3);
    cr_assert_eq(st[dead].limited_for, 0);
    /* Swift's arithmetic: the 11th error inside 60 s bans it. */
    for (uint64_t i = errors; i < 11; i++)
        cr_assert_eq(mcring_get(c, key, strlen(key), &it), MCRING_OK);
    mcring_client_server_stats(c, st, 3);
    cr_assert_eq(st[dead].errors, 11);
    cr_assert_gt(st[dead].limited_for, 59.0);
    char msg[128];
    snprintf(msg, sizeof(msg), "Error limiting server %s", srv[0].name);
    cr_assert_eq(log_count(&lc, msg), 1);
    snprintf(msg, sizeof(msg), "Error connecting to memcached: %s", srv[0].name);
    cr_assert_geq(log_count(&lc, msg), 9, "Swift's wording, with the server");

    /* Banned: skipped without being tried. */
    uint64_t requests = st[dead].requests;
    cr_assert_eq(mcring_get(c, key, strlen(key), &it), MCRING_OK);
    mcring_client_server_stats(c, st, 3);
    cr_assert_eq(st[dead].requests, requests);
    cr_assert_eq(st[dead].errors, 11);

    mcring_item_release(&it);
    mcring_client_free(c);
    mcring_options_free(o);
}

Test(failover, every_server_down_is_an_error_not_a_miss)
{
    char list[128];
    snprintf(list, sizeof(list), "127.0.0.1:%d,127.0.0.1:%d", free_port(),
             free_port());
    log_capture lc = {0};
    mcring_options *o = opts_for(list, NULL);
    mcring_options_set_log(o, log_capture_fn, &lc);
    mcring_client *c = client_for(o);
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_get(c, "k", 1, &it), MCRING_ECONNREFUSED);
    cr_assert_eq(mcring_set(c, "k", 1, "v", 1, 0, 0), MCRING_ECONNREFUSED);
    uint64_t v;
    cr_assert_eq(mcring_incr(c, "k", 1, 1, 0, &v), MCRING_ECONNREFUSED);
    cr_assert_eq(mcring_delete(c, "k", 1, NULL, 0), MCRING_ECONNREFUSED);
    cr_assert_geq(log_count(&lc, "All memcached servers error-limited"), 4,
                  "Swift logs this when no server gave a connection");
    mcring_item_release(&it);
    mcring_client_free(c);
    mcring_options_free(o);
}

Test(failover, error_limited_everywhere)
{
    char list[128];
    snprintf(list, sizeof(list), "127.0.0.1:%d", free_port());
    mcring_options *o = opts_for(list, "error_suppression_limit", "0", NULL);
    mcring_client *c = client_for(o);
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_get(c, "k", 1, &it), MCRING_ECONNREFUSED);
    cr_assert_eq(mcring_get(c, "k", 1, &it), MCRING_ELIMITED);
    mcring_item_release(&it);
    mcring_client_free(c);
    mcring_options_free(o);
}

Test(failover, all_servers_error_limited_is_logged_by_multi_key_calls_too)
{
    /* Swift's _get_conns logs this whenever no server gave a connection,
     * whichever call asked: get_multi and set_multi included. */
    char list[128];
    snprintf(list, sizeof(list), "127.0.0.1:%d,127.0.0.1:%d", free_port(),
             free_port());
    log_capture lc = {0};
    mcring_options *o = opts_for(list, NULL);
    mcring_options_set_log(o, log_capture_fn, &lc);
    mcring_client *c = client_for(o);
    mcring_key k[2] = {{"a", 1}, {"b", 1}};
    mcring_kv kv[2] = {{"a", 1, "A", 1, 0}, {"b", 1, "B", 1, 0}};
    mcring_item it[2] = {MCRING_ITEM_INIT, MCRING_ITEM_INIT};
    int st[2];

    cr_assert_eq(mcring_get_multi(c, k, 2, "sk", 2, it, st), MCRING_ECONNREFUSED);
    cr_assert_eq(st[0], MCRING_ECONNREFUSED);
    cr_assert_eq(st[1], MCRING_ECONNREFUSED);
    cr_assert_eq(log_count(&lc, "All memcached servers error-limited"), 1);
    cr_assert_eq(mcring_set_multi(c, kv, 2, "sk", 2, 0, st), MCRING_ECONNREFUSED);
    cr_assert_eq(st[0], MCRING_ECONNREFUSED);
    cr_assert_eq(log_count(&lc, "All memcached servers error-limited"), 2);
    /* Without a server_key each key's own servers are asked; every group
     * that found none counts, and the call logs once. */
    cr_assert_eq(mcring_get_multi(c, k, 2, NULL, 0, it, st), MCRING_ECONNREFUSED);
    cr_assert_eq(st[0], MCRING_ECONNREFUSED);
    cr_assert_eq(log_count(&lc, "All memcached servers error-limited"), 3);
    for (int i = 0; i < 2; i++)
        mcring_item_release(&it[i]);
    mcring_client_free(c);
    mcring_options_free(o);
}

Test(failover, a_server_listed_twice_does_not_spin)
{
    /* Swift counts the duplicate as a second try and loops forever looking
     * for it (bug 1). */
    char list[128];
    int port = free_port();
    snprintf(list, sizeof(list), "127.0.0.1:%d,127.0.0.1:%d", port, port);
    mcring_options *o = opts_for(list, NULL);
    mcring_client *c = client_for(o);
    mcring_item it = MCRING_ITEM_INIT;
    double t0 = now_s();
    cr_assert_eq(mcring_get(c, "k", 1, &it), MCRING_ECONNREFUSED);
    cr_assert_lt(now_s() - t0, 1.0);
    mcring_ring *r = mcring_client_ring_ref(c);
    cr_assert_eq(mcring_ring_tries(r), 1);
    mcring_ring_free(r);
    mcring_item_release(&it);
    mcring_client_free(c);
    mcring_options_free(o);
}

Test(failover, a_dead_pooled_connection_is_noticed_by_delete)
{
    /* Swift's delete ignores the reply, so a dead pooled connection
     * "succeeds" and goes back to the pool (bug 3). */
    mc_start(&srv[0], NULL);
    mcring_options *o = opts_for(srv[0].name, "tries", "1", NULL);
    mcring_client *c = client_for(o);
    cr_assert_eq(mcring_set(c, "k", 1, "v", 1, 0, 0), MCRING_OK);
    mc_kill(&srv[0]);
    mc_restart(&srv[0]);
    int rc = mcring_delete(c, "k", 1, NULL, 0);
    cr_assert(rc == MCRING_ECLOSED || rc == MCRING_EIO, "got %s",
              mcring_err_name(rc));
    /* The dead connection was closed, not pooled: the next call connects
     * afresh and finds the restarted (empty) server. */
    cr_assert_eq(mcring_delete(c, "k", 1, NULL, 0), MCRING_MISS);
    mcring_server_stats st;
    mcring_client_server_stats(c, &st, 1);
    cr_assert_eq(st.connects, 2);
    cr_assert_eq(st.conns_open, 1);
    mcring_client_free(c);
    mcring_options_free(o);
}

typedef struct hammer_arg {
    mcring_client *c;
    atomic_bool *stop;
    long calls;
} hammer_arg;

static void *hammer(void *p)
{
    hammer_arg *a = p;
    mcring_item it = MCRING_ITEM_INIT;
    char key[32];
    while (!atomic_load(a->stop)) {
        snprintf(key, sizeof(key), "h%ld", a->calls++ % 50);
        mcring_get(a->c, key, strlen(key), &it);
    }
    mcring_item_release(&it);
    return NULL;
}

Test(failover, connections_never_exceed_the_limit_while_connects_fail)
{
    /* Swift's pool grows past max_connections after a failed connect
     * (bug 4). */
    mc_start(&srv[0], NULL);
    mcring_options *o = opts_for(srv[0].name, "memcache_max_connections", "2",
                                 "error_suppression_interval", "0",
                                 "pool_timeout", "0.2", NULL);
    mcring_client *c = client_for(o);
    atomic_bool stop = false;
    hammer_arg args[8];
    pthread_t t[8];
    for (int i = 0; i < 8; i++) {
        args[i] = (hammer_arg){c, &stop, 0};
        pthread_create(&t[i], NULL, hammer, &args[i]);
    }
    uint32_t max_open = 0;
    for (int round = 0; round < 6; round++) {
        for (int i = 0; i < 20; i++) {
            mcring_server_stats st;
            mcring_client_server_stats(c, &st, 1);
            if (st.conns_open > max_open)
                max_open = st.conns_open;
            usleep(10000);
        }
        if (round % 2 == 0)
            mc_kill(&srv[0]);
        else
            mc_restart(&srv[0]);
    }
    atomic_store(&stop, true);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    mcring_server_stats st;
    mcring_client_server_stats(c, &st, 1);
    cr_assert_leq(max_open, 2);
    cr_assert_leq(st.conns_open, 2);
    cr_assert_eq(st.conns_open, st.conns_idle, "nothing left borrowed");
    cr_assert_gt(st.connects, 2, "it did reconnect after the restarts");
    mcring_client_free(c);
    mcring_options_free(o);
}

/* A server that answers a get with the start of a value and hangs up. */
static fake_action half_value(int fd, const char *line, size_t len, void *ud)
{
    (void)ud;
    if (len > 4 && memcmp(line, "get ", 4) == 0) {
        char buf[128];
        int n = snprintf(buf, sizeof(buf), "VALUE %.*s 0 10\r\nhello",
                         (int)(len - 4), line + 4);
        fake_write(fd, buf, (size_t)n);
        return FAKE_CLOSE;
    }
    return FAKE_KEEP;
}

Test(failover, a_failed_servers_partial_reply_is_discarded)
{
    /* Swift keeps "hello" from the failed server and returns it after the
     * next server's empty reply (bug 5). */
    fake_server *f = fake_start(half_value, NULL);
    mc_start(&srv[1], NULL);
    char list[128], key[32];
    snprintf(list, sizeof(list), "%s,%s", fake_name(f), srv[1].name);
    mcring_options *o = opts_for(list, NULL);
    mcring_client *c = client_for(o);
    key_on(c, fake_name(f), NULL, key, sizeof(key));
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_get(c, key, strlen(key), &it), MCRING_MISS);
    cr_assert_eq(it.len, 0);
    mcring_key k = {key, strlen(key)};
    int status;
    cr_assert_eq(mcring_get_multi(c, &k, 1, key, strlen(key), &it, &status), 0);
    cr_assert_eq(status, MCRING_MISS);
    cr_assert_eq(it.len, 0);
    mcring_item_release(&it);
    mcring_client_free(c);
    mcring_options_free(o);
    fake_stop(f);
}

static fake_action error_reply(int fd, const char *line, size_t len, void *ud)
{
    (void)line;
    (void)len;
    fake_puts(fd, (const char *)ud);
    return FAKE_KEEP;
}

Test(failover, error_replies_fail_the_server_at_once)
{
    /* Swift waits out the io timeout on an error reply to get (bug 7). */
    static const char *replies[] = {"ERROR\r\n", "SERVER_ERROR busy\r\n",
                                    "CLIENT_ERROR line format\r\n"};
    mc_start(&srv[1], NULL);
    for (int i = 0; i < 3; i++) {
        fake_server *f = fake_start(error_reply, (void *)replies[i]);
        char list[128], key[32];
        snprintf(list, sizeof(list), "%s,%s", fake_name(f), srv[1].name);
        log_capture lc = {0};
        mcring_options *o = opts_for(list, "io_timeout", "5", NULL);
        mcring_options_set_log(o, log_capture_fn, &lc);
        mcring_client *c = client_for(o);
        key_on(c, fake_name(f), NULL, key, sizeof(key));
        mcring_item it = MCRING_ITEM_INIT;
        double t0 = now_s();
        cr_assert_eq(mcring_get(c, key, strlen(key), &it), MCRING_MISS);
        cr_assert_lt(now_s() - t0, 1.0, "%s", replies[i]);
        cr_assert_eq(log_count(&lc, "Error talking to memcached"), 1, "%s",
                     replies[i]);
        mcring_item_release(&it);
        mcring_client_free(c);
        mcring_options_free(o);
        fake_stop(f);
    }
}

Test(failover, a_stopped_server_times_out_and_fails_over)
{
    for (int i = 0; i < 2; i++)
        mc_start(&srv[i], NULL);
    char list[128], key[32];
    log_capture lc = {0};
    mcring_options *o = opts_for(names_of(list, sizeof(list), srv, 2),
                                 "io_timeout", "0.3", NULL);
    mcring_options_set_log(o, log_capture_fn, &lc);
    mcring_client *c = client_for(o);
    key_on(c, srv[0].name, NULL, key, sizeof(key));
    cr_assert_eq(mcring_set(c, key, strlen(key), "v", 1, 0, 0), MCRING_OK);
    mc_pause(&srv[0]);
    mcring_item it = MCRING_ITEM_INIT;
    double t0 = now_s();
    cr_assert_eq(mcring_get(c, key, strlen(key), &it), MCRING_MISS);
    double took = now_s() - t0;
    cr_assert(took > 0.25 && took < 1.0, "took %f", took);
    char msg[128];
    snprintf(msg, sizeof(msg), "Timeout talking to memcached: %s", srv[0].name);
    cr_assert_eq(log_count(&lc, msg), 1);
    mc_resume(&srv[0]);
    mcring_item_release(&it);
    mcring_client_free(c);
    mcring_options_free(o);
}

Test(failover, an_error_limited_server_uses_up_its_try)
{
    /* Order A, B, C with tries 2: A is banned, B is down. Swift counts the
     * banned A as a try and does not go on to C; neither does mcring. */
    mc_start(&srv[2], NULL);
    char a[32], b[32], list[128], key[32];
    snprintf(a, sizeof(a), "127.0.0.1:%d", free_port());
    snprintf(b, sizeof(b), "127.0.0.1:%d", free_port());
    snprintf(list, sizeof(list), "%s,%s,%s", a, b, srv[2].name);
    mcring_options *o = opts_for(list, "tries", "2", "error_suppression_limit",
                                 "0", NULL);
    mcring_client *c = client_for(o);
    key_on(c, a, b, key, sizeof(key));
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_get(c, key, strlen(key), &it), MCRING_ECONNREFUSED);
    cr_assert_eq(mcring_get(c, key, strlen(key), &it), MCRING_ELIMITED,
                 "both banned now (limit 0)");
    mcring_server_stats st[3];
    mcring_client_server_stats(c, st, 3);
    for (int i = 0; i < 3; i++)
        if (strcmp(st[i].name, srv[2].name) == 0)
            cr_assert_eq(st[i].requests, 0, "C was never tried");
    mcring_item_release(&it);
    mcring_client_free(c);
    mcring_options_free(o);
}

/* Answers every set with SERVER_ERROR after its data line. */
static fake_action refuse_sets(int fd, const char *line, size_t len, void *ud)
{
    int *expect_data = ud;
    if (*expect_data) {
        *expect_data = 0;
        fake_puts(fd, "SERVER_ERROR out of memory storing object\r\n");
    } else if (len > 4 && memcmp(line, "set ", 4) == 0) {
        *expect_data = 1;
    } else {
        fake_puts(fd, "ERROR\r\n");
    }
    return FAKE_KEEP;
}

Test(failover, a_set_not_stored_is_that_servers_failure)
{
    int expect_data = 0;
    fake_server *f = fake_start(refuse_sets, &expect_data);
    mc_start(&srv[1], NULL);
    char list[128], key[32];
    snprintf(list, sizeof(list), "%s,%s", fake_name(f), srv[1].name);
    log_capture lc = {0};
    mcring_options *o = opts_for(list, NULL);
    mcring_options_set_log(o, log_capture_fn, &lc);
    mcring_client *c = client_for(o);
    key_on(c, fake_name(f), NULL, key, sizeof(key));
    cr_assert_eq(mcring_set(c, key, strlen(key), "v", 1, 0, 0), MCRING_OK,
                 "stored on the next server");
    char msg[160];
    snprintf(msg, sizeof(msg),
             "Error setting value in memcached: %s: SERVER_ERROR out of memory "
             "storing object",
             fake_name(f));
    cr_assert_eq(log_count(&lc, msg), 1, "%s", lc.n ? lc.lines[0] : "");
    mcring_server_stats st[2];
    mcring_client_server_stats(c, st, 2);
    int fi = strcmp(st[0].name, fake_name(f)) == 0 ? 0 : 1;
    cr_assert_eq(st[fi].errors, 1);
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_get(c, key, strlen(key), &it), MCRING_OK,
                 "the fake answers get with ERROR; the next server has it");
    mcring_item_release(&it);
    mcring_client_free(c);
    mcring_options_free(o);
    fake_stop(f);
}

/* incr -> NOT_FOUND; add -> NOT_STORED (somebody else created it);
 * incr again -> 7. */
typedef struct race {
    int step;
    int bad; /* 1 + the step that saw an unexpected line (asserted by the
              * test, not here: this runs on the fake server's thread) */
} race;

static fake_action racing_incr(int fd, const char *line, size_t len, void *ud)
{
    race *r = ud;
    (void)len;
    static const char *const expect[] = {"incr ", "add ", "5", "incr "};
    static const char *const reply[] = {"NOT_FOUND\r\n", NULL,
                                        "NOT_STORED\r\n", "7\r\n"};
    int step = r->step++;
    if (step >= 4 || strncmp(line, expect[step], strlen(expect[step])) != 0 ||
        (step == 1 && strstr(line, " 0 0 1") == NULL)) {
        r->bad = step + 1;
        fake_puts(fd, "ERROR\r\n");
    } else if (reply[step] != NULL) {
        fake_puts(fd, reply[step]);
    }
    return FAKE_KEEP;
}

Test(failover, incr_that_loses_the_creation_race_counts_on_the_winner)
{
    race r = {0};
    fake_server *f = fake_start(racing_incr, &r);
    mcring_options *o = opts_for(fake_name(f), NULL);
    mcring_client *c = client_for(o);
    uint64_t v = 0;
    cr_assert_eq(mcring_incr(c, "k", 1, 5, 0, &v), MCRING_OK);
    cr_assert_eq(v, 7);
    cr_assert_eq(r.bad, 0, "unexpected request at step %d", r.bad - 1);
    cr_assert_eq(r.step, 4);
    mcring_client_free(c);
    mcring_options_free(o);
    fake_stop(f);
}

Test(failover, set_multi_reads_every_reply)
{
    /* Swift's set_multi ignores the replies: a dead pooled connection
     * "succeeds" (bug 3). */
    mc_start(&srv[0], NULL);
    mcring_options *o = opts_for(srv[0].name, "tries", "1", NULL);
    mcring_client *c = client_for(o);
    mcring_kv kv[2] = {{"a", 1, "1", 1, 0}, {"b", 1, "2", 1, 0}};
    int st[2];
    cr_assert_eq(mcring_set_multi(c, kv, 2, "sk", 2, 0, st), 0);
    mc_kill(&srv[0]);
    mc_restart(&srv[0]);
    int rc = mcring_set_multi(c, kv, 2, "sk", 2, 0, st);
    cr_assert(rc == MCRING_ECLOSED || rc == MCRING_EIO, "%s", mcring_err_name(rc));
    cr_assert_eq(st[0], rc);
    cr_assert_eq(st[1], rc);
    cr_assert_eq(mcring_set_multi(c, kv, 2, "sk", 2, 0, st), 0);
    mcring_client_free(c);
    mcring_options_free(o);
}
