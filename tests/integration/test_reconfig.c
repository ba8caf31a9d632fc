/* Live reconfiguration: ring swaps keep the servers that stay, drop the
 * ones that go, and reloads of a watched memcache.conf. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static mc_server srv[3];

static void stop_all(void)
{
    for (int i = 0; i < 3; i++)
        mc_stop(&srv[i]);
}

TestSuite(reconfig, .fini = stop_all, .timeout = 60);

static long curr_connections(const mc_server *s)
{
    const char *r = mc_raw(s, "stats\r\n", 7, "END\r\n");
    const char *p = strstr(r, "STAT curr_connections ");
    return p ? atol(p + 22) : -1;
}

static int find(const mcring_server_stats *st, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(st[i].name, name) == 0)
            return (int)i;
    return -1;
}

Test(reconfig, servers_that_stay_keep_their_pool_and_history)
{
    for (int i = 0; i < 3; i++)
        mc_start(&srv[i], NULL);
    char ab[256], bc[256];
    snprintf(ab, sizeof(ab), "%s,%s", srv[0].name, srv[1].name);
    snprintf(bc, sizeof(bc), "%s,%s", srv[1].name, srv[2].name);
    mcring_options *o = opts_for(ab, NULL);
    mcring_client *c = client_for(o);
    char key[32];
    mcring_item it = MCRING_ITEM_INIT;
    for (int i = 0; i < 50; i++) {
        snprintf(key, sizeof(key), "r%d", i);
        mcring_get(c, key, strlen(key), &it);
    }
    mcring_server_stats st[3];
    cr_assert_eq(mcring_client_server_stats(c, st, 3), 2);
    int b = find(st, 2, srv[1].name);
    uint64_t b_requests = st[b].requests, b_connects = st[b].connects;
    cr_assert_eq(b_connects, 1);
    long a_conns = curr_connections(&srv[0]);

    char err[256];
    cr_assert_eq(mcring_client_set_servers(c, bc, err, sizeof(err)), 0, "%s",
                 err);
    cr_assert_eq(mcring_client_server_stats(c, st, 3), 2);
    b = find(st, 2, srv[1].name);
    int cc = find(st, 2, srv[2].name);
    cr_assert_geq(b, 0);
    cr_assert_geq(cc, 0);
    cr_assert_eq(st[b].requests, b_requests, "same server object");
    cr_assert_eq(st[b].conns_open, 1, "its connection survived the swap");
    cr_assert_eq(st[cc].connects, 0, "an added server connects lazily");

    for (int i = 0; i < 50; i++) {
        snprintf(key, sizeof(key), "r%d", i);
        cr_assert_eq(mcring_get(c, key, strlen(key), &it), MCRING_MISS);
    }
    mcring_client_server_stats(c, st, 3);
    cr_assert_eq(st[find(st, 2, srv[1].name)].connects, 1, "no reconnect");
    /* The removed server's connection is closed once its ring is
     * reclaimed (after a grace period). */
    double deadline = now_s() + 5;
    while (curr_connections(&srv[0]) >= a_conns && now_s() < deadline)
        usleep(20000);
    cr_assert_lt(curr_connections(&srv[0]), a_conns);
    mcring_item_release(&it);
    mcring_client_free(c);
    mcring_options_free(o);
}

Test(reconfig, a_bad_list_changes_nothing)
{
    mc_start(&srv[0], NULL);
    mcring_options *o = opts_for(srv[0].name, NULL);
    mcring_client *c = client_for(o);
    char err[256] = "";
    cr_assert_eq(mcring_client_set_servers(c, "a:1,::1", err, sizeof(err)),
                 MCRING_EADDR);
    cr_assert(strstr(err, "::1") != NULL);
    mcring_ring *r = mcring_client_ring_ref(c);
    cr_assert_eq(mcring_ring_size(r), 1);
    cr_assert_str_eq(mcring_ring_server(r, 0), srv[0].name);
    mcring_ring_free(r);
    cr_assert_eq(mcring_set(c, "k", 1, "v", 1, 0, 0), MCRING_OK);
    mcring_client_free(c);
    mcring_options_free(o);
}

Test(reconfig, a_ring_held_by_a_caller_outlives_the_swap)
{
    mcring_options *o = opts_for("10.0.0.1,10.0.0.2", NULL);
    mcring_client *c = client_for(o);
    mcring_ring *old = mcring_client_ring_ref(c);
    cr_assert_eq(mcring_client_set_servers(c, "10.0.0.3", NULL, 0), 0);
    cr_assert_eq(mcring_client_set_servers(c, "10.0.0.4", NULL, 0), 0);
    cr_assert_eq(mcring_ring_size(old), 2);
    cr_assert_str_eq(mcring_ring_server(old, 1), "10.0.0.2");
    mcring_ring *now = mcring_client_ring_ref(c);
    cr_assert_str_eq(mcring_ring_server(now, 0), "10.0.0.4");
    mcring_ring_free(now);
    mcring_ring_free(old);
    mcring_client_free(c);
    mcring_options_free(o);
}

static void write_file(const char *path, const char *text)
{
    char tmp[128];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    cr_assert_eq(rename(tmp, path), 0);
}

static bool wait_for_size(mcring_client *c, size_t n, const char *first)
{
    double deadline = now_s() + 5;
    while (now_s() < deadline) {
        mcring_ring *r = mcring_client_ring_ref(c);
        bool ok = mcring_ring_size(r) == n &&
                  (first == NULL || strcmp(mcring_ring_server(r, 0), first) == 0);
        mcring_ring_free(r);
        if (ok)
            return true;
        usleep(20000);
    }
    return false;
}

Test(reconfig, a_watched_config_file_swaps_the_ring)
{
    char path[64];
    snprintf(path, sizeof(path), "/tmp/mcring-watch-%d.conf", getpid());
    write_file(path, "[memcache]\nmemcache_servers = 10.0.0.1, 10.0.0.2\n");
    log_capture lc = {0};
    mcring_options *o = opts_for("127.0.0.1:1", "tries", "1", NULL);
    mcring_options_set_log(o, log_capture_fn, &lc);
    mcring_client *c = client_for(o);
    char err[256];
    cr_assert_eq(mcring_client_watch(c, path, 0.05, err, sizeof(err)), 0, "%s",
                 err);
    cr_assert(wait_for_size(c, 2, "10.0.0.1"), "applied at once");

    write_file(path, "[memcache]\nmemcache_servers = 10.0.0.7, 10.0.0.8, 10.0.0.9\n"
                     "ring_mode = consistent\n");
    cr_assert(wait_for_size(c, 3, "10.0.0.7"), "picked up the change");
    mcring_ring *r = mcring_client_ring_ref(c);
    cr_assert_str_eq(mcring_ring_mode_name(r), "consistent");
    cr_assert_eq(mcring_ring_tries(r), 1, "options not in the file stay");
    mcring_ring_free(r);

    write_file(path, "[memcache]\nmemcache_servers = ::1\n");
    double deadline = now_s() + 5;
    while (log_count(&lc, "failed, keeping the running one") == 0 &&
           now_s() < deadline)
        usleep(20000);
    cr_assert_eq(log_count(&lc, "failed, keeping the running one"), 1);
    cr_assert(wait_for_size(c, 3, "10.0.0.7"), "a broken file changes nothing");

    write_file(path, "[memcache]\nmemcache_servers = 10.0.0.5\n");
    cr_assert(wait_for_size(c, 1, "10.0.0.5"), "recovers on the next good file");
    cr_assert_eq(mcring_client_reload(c, err, sizeof(err)), 0, "%s", err);
    mcring_client_free(c);
    mcring_options_free(o);
    unlink(path);
}

/* A reload of a file just replaced by a large one (100,000 servers) builds
 * its ring outside the registry lock and gives up between its phases when
 * the watcher stops: mcring_client_set_servers goes through while it runs, and
 * mcring_client_free abandons it instead of waiting for it. Asserted on
 * what happened (the log and the ring), not on wall time. */
Test(reconfig, a_slow_reload_holds_up_neither_set_servers_nor_free,
     .timeout = 120)
{
    char path[64];
    snprintf(path, sizeof(path), "/tmp/mcring-slow-%d.conf", getpid());
    write_file(path, "[memcache]\nmemcache_servers = 10.0.0.1\n");
    enum { N = 100000 };
    char *big = malloc((size_t)N * 24 + 64);
    size_t n = (size_t)sprintf(big, "[memcache]\nmemcache_servers = ");
    for (int i = 0; i < N; i++)
        n += (size_t)sprintf(big + n, "%s10.%d.%d.%d", i ? "," : "",
                             i / 65536 % 256 + 1, i / 256 % 256, i % 256);
    big[n++] = '\n';
    big[n] = '\0';

    log_capture lc = {0};
    mcring_options *o = opts_for("10.0.0.1", NULL);
    mcring_options_set_log(o, log_capture_fn, &lc);
    mcring_client *c = client_for(o);
    char err[256];
    cr_assert_eq(mcring_client_watch(c, path, 0.01, err, sizeof(err)), 0, "%s",
                 err);
    write_file(path, big);
    double deadline = now_s() + 10;
    while (log_count(&lc, "Reloading memcache config") < 1 &&
           now_s() < deadline)
        usleep(500);
    cr_assert_eq(log_count(&lc, "Reloading memcache config"), 1,
                 "the watcher picked the new file up");

    cr_assert_eq(mcring_client_set_servers(c, "10.0.0.2,10.0.0.3", err, sizeof(err)),
                 0, "%s", err);
    cr_assert_eq(log_count(&lc, "Reloaded memcache config"), 0,
                 "mcring_client_set_servers returned while the reload ran");
    cr_assert(wait_for_size(c, 2, NULL), "and its servers are live");

    mcring_client_free(c);
    cr_assert_eq(log_count(&lc, "abandoned: the watcher is stopping"), 1,
                 "the reload was abandoned, not waited for");
    cr_assert_eq(log_count(&lc, "Reloaded memcache config"), 0);
    mcring_options_free(o);
    free(big);
    unlink(path);
}

/* A watched file that does not exist yet: the watch starts, says so, and
 * applies the file once it appears. */
Test(reconfig, watching_a_file_that_is_not_there_yet)
{
    char path[64];
    snprintf(path, sizeof(path), "/tmp/mcring-later-%d.conf", getpid());
    unlink(path);
    log_capture lc = {0};
    mcring_options *o = opts_for("10.0.0.1", NULL);
    mcring_options_set_log(o, log_capture_fn, &lc);
    mcring_client *c = client_for(o);
    char err[256];
    cr_assert_eq(mcring_client_watch(c, path, 0.02, err, sizeof(err)),
                 MCRING_CONF_MISSING);
    cr_assert_eq(log_count(&lc, "not found, keeping the running one"), 1);
    cr_assert_eq(mcring_client_reload(c, err, sizeof(err)),
                 MCRING_CONF_MISSING);
    cr_assert(wait_for_size(c, 1, "10.0.0.1"), "nothing changed");
    write_file(path, "[memcache]\nmemcache_servers = 10.0.0.4, 10.0.0.5\n");
    cr_assert(wait_for_size(c, 2, "10.0.0.4"), "applied once it appeared");
    mcring_client_free(c);
    mcring_options_free(o);
    unlink(path);
}

typedef struct load_arg {
    mcring_client *c;
    atomic_bool *stop;
    atomic_uint *max_open;
    int bad;
} load_arg;

static void *load(void *p)
{
    load_arg *a = p;
    mcring_item it = MCRING_ITEM_INIT;
    while (!atomic_load(a->stop)) {
        if (mcring_get(a->c, "k", 1, &it) != MCRING_OK)
            a->bad++;
        mcring_server_stats st;
        mcring_client_server_stats(a->c, &st, 1);
        unsigned m = atomic_load(a->max_open);
        while (st.conns_open > m &&
               !atomic_compare_exchange_weak(a->max_open, &m, st.conns_open))
            ;
    }
    mcring_item_release(&it);
    return NULL;
}

static unsigned busiest(mcring_client *c)
{
    atomic_bool stop = false;
    atomic_uint max_open = 0;
    load_arg a[8];
    pthread_t t[8];
    for (int i = 0; i < 8; i++) {
        a[i] = (load_arg){c, &stop, &max_open, 0};
        pthread_create(&t[i], NULL, load, &a[i]);
    }
    usleep(300000);
    atomic_store(&stop, true);
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(a[i].bad, 0);
    }
    return atomic_load(&max_open);
}

Test(reconfig, a_new_max_connections_applies_to_servers_that_stay)
{
    mc_start(&srv[0], NULL);
    /* One request per connection, so that eight threads want eight. */
    mcring_options *o = opts_for(srv[0].name, "memcache_max_connections", "2",
                                 "pipelining", "false", NULL);
    mcring_client *c = client_for(o);
    cr_assert_eq(mcring_set(c, "k", 1, "v", 1, 0, 0), MCRING_OK);
    cr_assert_leq(busiest(c), 2);
    mcring_server_stats before;
    mcring_client_server_stats(c, &before, 1);
    cr_assert_eq(before.max_connections, 2);

    cr_assert_eq(mcring_options_set(o, "memcache_max_connections", "5", NULL,
                                    0),
                 0);
    cr_assert_eq(mcring_client_reconfigure(c, o, NULL, 0), 0);
    mcring_server_stats after;
    mcring_client_server_stats(c, &after, 1);
    cr_assert_eq(after.max_connections, 5, "applied, not just accepted");
    cr_assert_geq(after.requests, before.requests, "counters carry over");
    unsigned open = busiest(c);
    cr_assert_gt(open, 2, "more than the old limit: %u", open);
    cr_assert_leq(open, 5);

    cr_assert_eq(mcring_options_set(o, "memcache_max_connections", "1", NULL,
                                    0),
                 0);
    cr_assert_eq(mcring_client_reconfigure(c, o, NULL, 0), 0);
    cr_assert_leq(busiest(c), 1, "and down again");
    mcring_client_free(c);
    mcring_options_free(o);
}
