/* Connect, pool and io timeouts as Swift defines them, and connecting to
 * every address a name resolves to. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fake.h"
#include "harness.h"

static mc_server srv[2];

static void stop_all(void)
{
    mc_stop(&srv[0]);
    mc_stop(&srv[1]);
}

TestSuite(timeouts, .fini = stop_all, .timeout = 60);

/* A listener whose accept queue is full: connect() to it hangs. */
static int black_hole(int *port)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(l, 0), 0);
    socklen_t len = sizeof(a);
    getsockname(l, (struct sockaddr *)&a, &len);
    *port = ntohs(a.sin_port);
    int filler = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_eq(connect(filler, (struct sockaddr *)&a, sizeof(a)), 0);
    return l;
}

Test(timeouts, connect_timeout_bounds_the_connect_and_fails_over)
{
    int port;
    black_hole(&port);
    mc_start(&srv[1], NULL);
    char list[128], hole[32], key[32];
    snprintf(hole, sizeof(hole), "127.0.0.1:%d", port);
    snprintf(list, sizeof(list), "%s,%s", hole, srv[1].name);
    log_capture lc = {0};
    mcring_options *o = opts_for(list, "connect_timeout", "0.2", NULL);
    mcring_options_set_log(o, log_capture_fn, &lc);
    mcring_client *c = client_for(o);
    key_on(c, hole, NULL, key, sizeof(key));
    double t0 = now_s();
    cr_assert_eq(mcring_set(c, key, strlen(key), "v", 1, 0, 0), MCRING_OK,
                 "failed over");
    double took = now_s() - t0;
    cr_assert(took > 0.18 && took < 0.6, "took %f", took);
    char msg[160];
    snprintf(msg, sizeof(msg), "Timeout connecting to memcached: %s", hole);
    cr_assert_eq(log_count(&lc, msg), 1);
    mcring_client_free(c);
    mcring_options_free(o);
}

Test(timeouts, the_pool_timeout_cuts_a_slow_connect_short)
{
    int port;
    black_hole(&port);
    char hole[32];
    snprintf(hole, sizeof(hole), "127.0.0.1:%d", port);
    log_capture lc = {0};
    mcring_options *o = opts_for(hole, "connect_timeout", "5",
                                 "pool_timeout", "0.2", NULL);
    mcring_options_set_log(o, log_capture_fn, &lc);
    mcring_client *c = client_for(o);
    double t0 = now_s();
    cr_assert_eq(mcring_delete(c, "k", 1, NULL, 0), MCRING_EPOOLTIMEOUT);
    double took = now_s() - t0;
    cr_assert(took > 0.18 && took < 0.6, "took %f", took);
    char msg[160];
    snprintf(msg, sizeof(msg), "Timeout getting a connection to memcached: %s",
             hole);
    cr_assert_eq(log_count(&lc, msg), 1);
    mcring_client_free(c);
    mcring_options_free(o);
}

Test(timeouts, waiting_for_a_pooled_connection)
{
    mc_start(&srv[0], NULL);
    log_capture lc = {0};
    /* One connection with room for one request (in either mode). */
    mcring_options *o = opts_for(srv[0].name, "memcache_max_connections", "1",
                                 "pipeline_depth", "1", "pool_timeout", "0.2",
                                 "io_timeout", "1.0", NULL);
    mcring_options_set_log(o, log_capture_fn, &lc);
    mcring_client *c = client_for(o);
    cr_assert_eq(mcring_set(c, "k", 1, "v", 1, 0, 0), MCRING_OK);
    mc_pause(&srv[0]);
    timed_get holder = {c, "k", 0, 0}, waiter = {c, "k", 0, 0};
    pthread_t t1, t2;
    pthread_create(&t1, NULL, timed_get_run, &holder);
    usleep(100000);
    pthread_create(&t2, NULL, timed_get_run, &waiter);
    pthread_join(t2, NULL);
    pthread_join(t1, NULL);
    mc_resume(&srv[0]);
    cr_assert_eq(waiter.rc, MCRING_EPOOLTIMEOUT);
    cr_assert(waiter.took > 0.18 && waiter.took < 0.6, "waited %f", waiter.took);
    cr_assert_eq(holder.rc, MCRING_ETIMEOUT);
    cr_assert(holder.took > 0.95 && holder.took < 1.6, "io %f", holder.took);
    mcring_server_stats st;
    mcring_client_server_stats(c, &st, 1);
    cr_assert_eq(st.pool_timeouts, 1);
    cr_assert_geq(st.pool_waits, 1);
    cr_assert_leq(st.conns_open, 1);
    char msg[160];
    snprintf(msg, sizeof(msg), "Timeout getting a connection to memcached: %s",
             srv[0].name);
    cr_assert_eq(log_count(&lc, msg), 1);
    mcring_client_free(c);
    mcring_options_free(o);
}

/* Answers a get with a value one byte every 100 ms. */
static fake_action trickle(int fd, const char *line, size_t len, void *ud)
{
    (void)ud;
    if (len < 4 || memcmp(line, "get ", 4) != 0)
        return FAKE_KEEP;
    char head[96];
    int n = snprintf(head, sizeof(head), "VALUE %.*s 0 30\r\n", (int)(len - 4),
                     line + 4);
    fake_write(fd, head, (size_t)n);
    for (int i = 0; i < 30; i++) {
        usleep(100000);
        if (send(fd, "x", 1, MSG_NOSIGNAL) != 1)
            return FAKE_CLOSE;
    }
    fake_puts(fd, "\r\nEND\r\n");
    return FAKE_KEEP;
}

Test(timeouts, io_timeout_is_one_deadline_for_the_whole_exchange)
{
    fake_server *f = fake_start(trickle, NULL);
    log_capture lc = {0};
    mcring_options *o = opts_for(fake_name(f), "io_timeout", "0.5", NULL);
    mcring_options_set_log(o, log_capture_fn, &lc);
    mcring_client *c = client_for(o);
    mcring_item it = MCRING_ITEM_INIT;
    double t0 = now_s();
    cr_assert_eq(mcring_get(c, "k", 1, &it), MCRING_ETIMEOUT);
    double took = now_s() - t0;
    cr_assert(took > 0.45 && took < 0.8,
              "every read got a byte in time, the exchange did not: %f", took);
    cr_assert_eq(it.len, 0);
    cr_assert_eq(log_count(&lc, "Timeout talking to memcached"), 1);
    mcring_item_release(&it);
    mcring_client_free(c);
    mcring_options_free(o);
    fake_stop(f);
}

Test(timeouts, every_address_of_a_name_is_tried)
{
    /* Swift connects to the first address only. Give a name two: ::1, where
     * nobody listens, first, then 127.0.0.1, where memcached does. A
     * private /etc/hosts needs a mount namespace, hence root. */
    if (geteuid() != 0)
        cr_skip_test("needs root for a private /etc/hosts");
    mc_start(&srv[0], NULL);
    char hosts[64];
    snprintf(hosts, sizeof(hosts), "/tmp/mcring-hosts-%d", getpid());
    FILE *fh = fopen(hosts, "w");
    fprintf(fh, "::1 two-addrs.test\n127.0.0.1 two-addrs.test\n");
    fclose(fh);
    cr_assert_eq(unshare(CLONE_NEWNS), 0);
    cr_assert_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
    cr_assert_eq(mount(hosts, "/etc/hosts", NULL, MS_BIND, NULL), 0);

    char name[64];
    snprintf(name, sizeof(name), "two-addrs.test:%d", srv[0].port);
    mcring_options *o = opts_for(name, NULL);
    mcring_client *c = client_for(o);
    cr_assert_eq(mcring_set(c, "k", 1, "v", 1, 0, 0), MCRING_OK);
    mcring_server_stats st;
    mcring_client_server_stats(c, &st, 1);
    cr_assert_eq(st.errors, 0);
    mcring_client_free(c);
    mcring_options_free(o);
    umount("/etc/hosts");
    unlink(hosts);
}

Test(timeouts, a_name_that_does_not_resolve)
{
    log_capture lc = {0};
    mcring_options *o = opts_for("no-such-host.invalid:11211", NULL);
    mcring_options_set_log(o, log_capture_fn, &lc);
    mcring_client *c = client_for(o);
    cr_assert_eq(mcring_set(c, "k", 1, "v", 1, 0, 0), MCRING_ERESOLVE);
    cr_assert_eq(log_count(&lc, "Error connecting to memcached: "
                                "no-such-host.invalid:11211"),
                 1);
    mcring_client_free(c);
    mcring_options_free(o);
}
