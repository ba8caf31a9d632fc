/*
 * Fault injection against real memcached processes (killed, stopped) and a
 * scripted fake server (truncated, split, garbage and lying replies). Each
 * case states what the caller gets, how fast, whether the call failed over,
 * whether the server got error-limited, and that the client recovers; and
 * after each, that no connection whose stream may be out of step was
 * reused and no file descriptor was left open.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fake.h"
#include "harness.h"

static mc_server srv[2];
static int fds_at_start;

static void setup(void)
{
    fds_at_start = count_open_fds();
}

static void teardown(void)
{
    mc_stop(&srv[0]);
    mc_stop(&srv[1]);
}

TestSuite(faults, .init = setup, .fini = teardown, .timeout = 120);

/* Every test ends with the client freed and fakes stopped: nothing open. */
static void assert_no_fd_leak(void)
{
    cr_assert_eq(count_open_fds(), fds_at_start, "file descriptors: %d at start, "
                                            "%d now",
                 fds_at_start, count_open_fds());
}

/* ---- the scripted server ------------------------------------------------ */

/* Replies to every "get <key>" with a reply built from the template (where
 * %K stands for the requested key), cut after `cut` bytes (then closing),
 * or written one byte at a time when `trickle`. */
typedef struct script {
    const char *template;
    size_t cut; /* SIZE_MAX: everything */
    bool trickle;
    bool close_on_request;
    bool close_after; /* hang up after replying */
    atomic_int requests;
} script;

static size_t render(const script *sc, const char *key, size_t klen, char *out)
{
    size_t n = 0;
    for (const char *p = sc->template; *p; p++) {
        if (p[0] == '%' && p[1] == 'K') {
            memcpy(out + n, key, klen);
            n += klen;
            p++;
        } else {
            out[n++] = *p;
        }
    }
    return n;
}

static fake_action scripted(int fd, const char *line, size_t len, void *ud)
{
    script *sc = ud;
    atomic_fetch_add(&sc->requests, 1);
    if (sc->close_on_request)
        return FAKE_CLOSE;
    if (len < 4 || memcmp(line, "get ", 4) != 0) {
        fake_puts(fd, "ERROR\r\n");
        return FAKE_KEEP;
    }
    char reply[16384];
    size_t n = render(sc, line + 4, len - 4, reply);
    if (sc->trickle) {
        for (size_t i = 0; i < n; i++) {
            fake_write(fd, reply + i, 1);
            usleep(1000);
        }
        return FAKE_KEEP;
    }
    if (sc->cut < n) {
        fake_write(fd, reply, sc->cut);
        return FAKE_CLOSE;
    }
    fake_write(fd, reply, n);
    return sc->close_after ? FAKE_CLOSE : FAKE_KEEP;
}

static mcring_client *client_on(const char *servers, log_capture *lc,
                                mcring_options **o)
{
    *o = opts_for(servers, "tries", "1", "error_suppression_interval", "0",
                  "io_timeout", "1", NULL);
    if (lc != NULL)
        mcring_options_set_log(*o, log_capture_fn, lc);
    return client_for(*o);
}

Test(faults, a_reply_cut_at_every_byte_fails_and_is_never_reused)
{
    script sc = {.template = "VALUE %K 0 5\r\nhello\r\nEND\r\n"};
    fake_server *f = fake_start(scripted, &sc);
    mcring_options *o;
    mcring_client *c = client_on(fake_name(f), NULL, &o);
    mcring_item it = MCRING_ITEM_INIT;
    char probe[128];
    size_t full = render(&sc, "0123456789abcdef0123456789abcdef", 32, probe);
    for (size_t cut = 0; cut < full; cut++) {
        sc.cut = cut;
        double t0 = now_s();
        int rc = mcring_get(c, "k", 1, &it);
        cr_assert(rc == MCRING_ECLOSED || rc == MCRING_EPROTO,
                  "cut at %zu: %s", cut, mcring_err_name(rc));
        cr_assert_eq(it.len, 0, "cut at %zu: partial value returned", cut);
        cr_assert_lt(now_s() - t0, 0.5, "cut at %zu: waited", cut);
        /* The next call connects afresh: the broken stream was dropped. */
        sc.cut = SIZE_MAX;
        int accepted = fake_accepted(f);
        cr_assert_eq(mcring_get(c, "k", 1, &it), MCRING_OK, "after cut %zu", cut);
        cr_assert_eq(it.len, 5);
        cr_assert(memcmp(it.data, "hello", 5) == 0);
        cr_assert_eq(fake_accepted(f), accepted + 1, "cut at %zu: reused", cut);
    }
    mcring_item_release(&it);
    mcring_client_free(c);
    mcring_options_free(o);
    fake_stop(f);
    assert_no_fd_leak();
}

/* The same for storage and counter replies, through set and incr. */
static fake_action cut_lines(int fd, const char *line, size_t len, void *ud)
{
    script *sc = ud;
    (void)len;
    atomic_fetch_add(&sc->requests, 1);
    const char *reply = NULL;
    if (strncmp(line, "incr ", 5) == 0)
        reply = "42\r\n";
    else if (strncmp(line, "set ", 4) == 0)
        return FAKE_KEEP; /* the data line comes next */
    else
        reply = "STORED\r\n";
    size_t n = strlen(reply);
    if (sc->cut < n) {
        fake_write(fd, reply, sc->cut);
        return FAKE_CLOSE;
    }
    fake_write(fd, reply, n);
    return FAKE_KEEP;
}

Test(faults, storage_and_counter_replies_cut_at_every_byte)
{
    script sc = {0};
    fake_server *f = fake_start(cut_lines, &sc);
    mcring_options *o;
    mcring_client *c = client_on(fake_name(f), NULL, &o);
    for (size_t cut = 0; cut < 8; cut++) {
        sc.cut = cut;
        int rc = mcring_set(c, "k", 1, "v", 1, 0, 0);
        cr_assert(rc == MCRING_ECLOSED || rc == MCRING_EPROTO, "set cut %zu: %s",
                  cut, mcring_err_name(rc));
        if (cut < 4) {
            uint64_t v = 99;
            rc = mcring_incr(c, "k", 1, 1, 0, &v);
            cr_assert(rc == MCRING_ECLOSED || rc == MCRING_EPROTO,
                      "incr cut %zu: %s", cut, mcring_err_name(rc));
            cr_assert_eq(v, 99, "no number from a cut reply (\"4\" of 42)");
        }
    }
    sc.cut = SIZE_MAX;
    uint64_t v;
    cr_assert_eq(mcring_set(c, "k", 1, "v", 1, 0, 0), MCRING_OK);
    cr_assert_eq(mcring_incr(c, "k", 1, 1, 0, &v), MCRING_OK);
    cr_assert_eq(v, 42);
    mcring_client_free(c);
    mcring_options_free(o);
    fake_stop(f);
    assert_no_fd_leak();
}

Test(faults, a_reply_split_into_single_bytes_is_read_whole)
{
    script sc = {.template = "VALUE %K 6 11\r\nhello world\r\nEND\r\n",
                 .cut = SIZE_MAX,
                 .trickle = true};
    fake_server *f = fake_start(scripted, &sc);
    mcring_options *o;
    mcring_client *c = client_on(fake_name(f), NULL, &o);
    mcring_item it = MCRING_ITEM_INIT;
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(mcring_get(c, "k", 1, &it), MCRING_OK);
        cr_assert_eq(it.len, 11);
        cr_assert(memcmp(it.data, "hello world", 11) == 0);
        cr_assert_eq(it.flags, 6);
    }
    cr_assert_eq(fake_accepted(f), 1, "one connection, kept in step");
    mcring_item_release(&it);
    mcring_client_free(c);
    mcring_options_free(o);
    fake_stop(f);
    assert_no_fd_leak();
}

static fake_action garbage(int fd, const char *line, size_t len, void *ud)
{
    (void)line;
    (void)len;
    unsigned *seed = ud;
    char junk[258];
    size_t n = 1 + rand_r(seed) % 256;
    for (size_t i = 0; i < n; i++)
        junk[i] = (char)rand_r(seed);
    /* Half the time the junk ends a line and the connection stays open,
     * half the time the server hangs up after it. */
    bool keep = rand_r(seed) % 2;
    if (keep) {
        junk[n++] = '\r';
        junk[n++] = '\n';
    }
    fake_write(fd, junk, n);
    return keep ? FAKE_KEEP : FAKE_CLOSE;
}

Test(faults, garbage_replies_fail_fast_and_cleanly)
{
    unsigned seed = 7;
    fake_server *f = fake_start(garbage, &seed);
    mcring_options *o;
    log_capture lc = {0};
    mcring_client *c = client_on(fake_name(f), &lc, &o);
    mcring_item it = MCRING_ITEM_INIT;
    int protocol_errors = 0;
    for (int i = 0; i < 200; i++) {
        double t0 = now_s();
        int rc = mcring_get(c, "k", 1, &it);
        cr_assert(rc == MCRING_EPROTO || rc == MCRING_ECLOSED,
                  "garbage %d: %s", i, mcring_err_name(rc));
        cr_assert_lt(now_s() - t0, 0.5, "garbage %d: waited", i);
        protocol_errors += rc == MCRING_EPROTO;
    }
    cr_assert_gt(protocol_errors, 100);
    mcring_server_stats st;
    mcring_client_server_stats(c, &st, 1);
    cr_assert_eq(st.errors, 200, "every one counted against the server");
    cr_assert_leq(st.conns_open, 1);
    mcring_item_release(&it);
    mcring_client_free(c);
    mcring_options_free(o);
    fake_stop(f);
    assert_no_fd_leak();
}

Test(faults, a_value_longer_than_what_arrives)
{
    script sc = {.template = "VALUE %K 0 100\r\nabc",
                 .cut = SIZE_MAX,
                 .close_after = true};
    fake_server *f = fake_start(scripted, &sc);
    mcring_options *o;
    mcring_client *c = client_on(fake_name(f), NULL, &o);
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_get(c, "k", 1, &it), MCRING_ECLOSED);
    cr_assert_eq(it.len, 0);
    mcring_item_release(&it);
    mcring_client_free(c);
    mcring_options_free(o);
    fake_stop(f);
    assert_no_fd_leak();
}

Test(faults, a_huge_value_header_costs_nothing_until_its_bytes_come)
{
    /* Announces 2 MB and sends nothing: no limit by default (as Swift),
     * so the client waits for the bytes until its io timeout, and the
     * header alone allocates no more than a first piece of the item. */
    script sc = {.template = "VALUE %K 0 2000000\r\n", .cut = SIZE_MAX};
    fake_server *f = fake_start(scripted, &sc);
    mcring_options *o;
    mcring_client *c = client_on(fake_name(f), NULL, &o);
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_get(c, "k", 1, &it), MCRING_ETIMEOUT);
    /* An item grows at most 64 KiB (or doubles) ahead of what arrived:
     * here a few bytes (the fence reply read as value data). */
    cr_assert_leq(it.cap, 2 * (64 * 1024 + 1), "allocated %zu for a header",
                  it.cap);
    cr_assert_eq(it.len, 0);
    mcring_item_release(&it);
    mcring_client_free(c);
    mcring_options_free(o);
    fake_stop(f);
    assert_no_fd_leak();
}

Test(faults, a_value_over_the_callers_limit_is_skipped_in_step)
{
    /* 5000 bytes to a client that takes at most 4096: that value is
     * refused (the caller's limit), its bytes are read past, and the
     * connection stays in step for the next request. */
    script sc = {.template = "VALUE %K 0 5000\r\n", .cut = SIZE_MAX};
    static char body[5000 + 64];
    memset(body, 'x', 5000);
    memcpy(body + 5000, "\r\nEND\r\n", 8);
    char tmpl[sizeof(body) + 32];
    snprintf(tmpl, sizeof(tmpl), "VALUE %%K 0 5000\r\n%.*s", 5008, body);
    sc.template = tmpl;
    fake_server *f = fake_start(scripted, &sc);
    mcring_options *o = opts_for(fake_name(f), "item_size_max", "4096",
                                 "tries", "1", "memcache_max_connections",
                                 "1", NULL);
    mcring_client *c = client_for(o);
    mcring_item it = MCRING_ITEM_INIT;
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(mcring_get(c, "k", 1, &it), MCRING_ETOOLARGE);
        cr_assert_eq(it.len, 0);
    }
    mcring_server_stats st;
    mcring_client_server_stats(c, &st, 1);
    cr_assert_eq(st.errors, 0, "the caller's limit is not the server's fault");
    cr_assert_eq(st.connects, 1, "one connection, kept in step");
    mcring_item_release(&it);
    mcring_client_free(c);
    mcring_options_free(o);
    fake_stop(f);
    assert_no_fd_leak();
}

Test(faults, a_reply_for_another_key)
{
    script sc = {.template = "VALUE someoneelse 0 1\r\nx\r\nEND\r\n",
                 .cut = SIZE_MAX};
    fake_server *f = fake_start(scripted, &sc);
    mcring_options *o;
    log_capture lc = {0};
    mcring_client *c = client_on(fake_name(f), &lc, &o);
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_get(c, "k", 1, &it), MCRING_EPROTO);
    cr_assert_eq(it.len, 0);
    cr_assert_eq(log_count(&lc, "reply for a key not asked for"), 1);
    mcring_key keys[2] = {{"a", 1}, {"b", 1}};
    mcring_item items[2] = {MCRING_ITEM_INIT, MCRING_ITEM_INIT};
    int st[2];
    cr_assert_eq(mcring_get_multi(c, keys, 2, NULL, 0, items, st), MCRING_EPROTO);
    cr_assert_eq(st[0], MCRING_EPROTO);
    cr_assert_eq(st[1], MCRING_EPROTO);
    mcring_item_release(&items[0]);
    mcring_item_release(&items[1]);
    mcring_item_release(&it);
    mcring_client_free(c);
    mcring_options_free(o);
    fake_stop(f);
    assert_no_fd_leak();
}

Test(faults, closed_between_request_and_reply)
{
    script sc = {.close_on_request = true};
    fake_server *f = fake_start(scripted, &sc);
    mcring_options *o;
    mcring_client *c = client_on(fake_name(f), NULL, &o);
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_get(c, "k", 1, &it), MCRING_ECLOSED);
    cr_assert_eq(mcring_set(c, "k", 1, "v", 1, 0, 0), MCRING_ECLOSED);
    cr_assert_eq(mcring_delete(c, "k", 1, NULL, 0), MCRING_ECLOSED);
    cr_assert_eq(atomic_load(&sc.requests), 3, "each request reached it");
    mcring_item_release(&it);
    mcring_client_free(c);
    mcring_options_free(o);
    fake_stop(f);
    assert_no_fd_leak();
}

/* ---- real servers that die or stall under load ------------------------- */

typedef struct load {
    mcring_client *c;
    atomic_bool stop;
    atomic_long calls, failures;
    int first;
} load;

static void *load_loop(void *p)
{
    load *l = p;
    mcring_item it = MCRING_ITEM_INIT;
    char key[32];
    long i = 0;
    while (!atomic_load(&l->stop)) {
        snprintf(key, sizeof(key), "load-%ld", i++ % 200);
        int rc = i % 4 ? mcring_get(l->c, key, strlen(key), &it)
                       : mcring_set(l->c, key, strlen(key), "v", 1, 0, 0);
        atomic_fetch_add(&l->calls, 1);
        if (rc < 0 && atomic_fetch_add(&l->failures, 1) == 0)
            l->first = rc;
    }
    mcring_item_release(&it);
    return NULL;
}

static int find(const mcring_server_stats *st, const char *name)
{
    return strcmp(st[0].name, name) == 0 ? 0 : 1;
}

/* Runs load on two servers, applies `hurt` to the first, waits, heals it,
 * and checks: no call failed (failover), the hurt server was banned, and it
 * serves again after the ban. */
/* `logged` lists what the failures may be logged as (NULL-ended): at least
 * one of them must be. */
static void fault_and_recover(void (*hurt)(mc_server *),
                              void (*heal)(mc_server *),
                              const char *const *logged,
                              const char *io_timeout)
{
    mc_start(&srv[0], NULL);
    mc_start(&srv[1], NULL);
    char list[128];
    snprintf(list, sizeof(list), "%s,%s", srv[0].name, srv[1].name);
    log_capture lc = {0};
    /* The healthy server must answer within io_timeout even on a loaded
     * machine: only the hurt one may time out. */
    mcring_options *o = opts_for(list, "io_timeout", io_timeout,
                                 "connect_timeout", "0.5",
                                 "error_suppression_limit", "3",
                                 "error_suppression_interval", "1", NULL);
    mcring_options_set_log(o, log_capture_fn, &lc);
    mcring_client *c = client_for(o);
    load l = {.c = c};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, load_loop, &l);
    usleep(200000);
    hurt(&srv[0]);
    /* Enough failures to ban it: a stopped server costs each connection
     * one io_timeout per failure, so on a loaded machine this takes a
     * few of them, and the ban needs more than three of them within one
     * error_suppression_interval: wait for the ban itself. */
    char msg[128];
    snprintf(msg, sizeof(msg), "Error limiting server %s", srv[0].name);
    mcring_server_stats st[2];
    int a = 0;
    for (double until = now_s() + 10; now_s() < until;) {
        usleep(100000);
        mcring_client_server_stats(c, st, 2);
        a = find(st, srv[0].name);
        if (st[a].errors >= 4 && log_count(&lc, msg) >= 1)
            break;
    }
    cr_assert_geq(st[a].errors, 4, "the hurt server failed calls");
    cr_assert_geq(log_count(&lc, msg), 1, "the hurt server was banned");
    heal(&srv[0]);
    /* The ban (1 s) runs out and calls reach it again. */
    uint64_t before = st[a].requests;
    double deadline = now_s() + 5;
    uint64_t served = 0;
    while (now_s() < deadline) {
        usleep(100000);
        mcring_client_server_stats(c, st, 2);
        served = st[a].requests - before;
        if (served > 50)
            break;
    }
    uint64_t errors_after = st[a].errors;
    usleep(300000);
    mcring_client_server_stats(c, st, 2);
    atomic_store(&l.stop, true);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    cr_assert_gt(served, 50, "the server was not used again");
    cr_assert_eq(st[a].errors, errors_after, "it recovered: no new errors");
    cr_assert_eq(atomic_load(&l.failures), 0,
                 "%ld of %ld calls failed (first %s): failover should cover "
                 "them",
                 atomic_load(&l.failures), atomic_load(&l.calls),
                 mcring_err_name(l.first));
    int seen = 0;
    for (int i = 0; logged[i] != NULL; i++)
        seen += log_count(&lc, logged[i]);
    cr_assert_geq(seen, 1, "the failures were logged as %s", logged[0]);
    cr_assert_leq(st[a].conns_open, 2);
    mcring_client_free(c);
    mcring_options_free(o);
    mc_stop(&srv[0]);
    mc_stop(&srv[1]);
    assert_no_fd_leak();
}

static void kill_it(mc_server *s)
{
    mc_kill(s);
}

static void restart_it(mc_server *s)
{
    mc_restart(s);
}

Test(faults, killed_mid_load_and_restarted_on_the_same_port)
{
    /* The connections in use see the server go (talking), and the ones
     * opened before the ban see it refuse (connecting): which of them
     * come first and make the ban is a race. */
    static const char *const logged[] = {"Error talking to memcached",
                                         "Error connecting to memcached",
                                         NULL};
    fault_and_recover(kill_it, restart_it, logged, "2");
}

Test(faults, stopped_mid_load_and_resumed)
{
    static const char *const logged[] = {"Timeout talking to memcached",
                                         NULL};
    fault_and_recover(mc_pause, mc_resume, logged, "0.5");
}

Test(faults, a_pool_exhausted_by_slow_requests)
{
    mc_start(&srv[0], NULL);
    /* Two connections of at most two requests each when pipelining (one
     * each when not): the rest wait for a place until the pool timeout. */
    mcring_options *o = opts_for(srv[0].name, "memcache_max_connections", "2",
                                 "pipeline_depth", "2", "io_timeout", "1",
                                 "pool_timeout", "0.2", NULL);
    mcring_client *c = client_for(o);
    int places = test_pipelining() ? 4 : 2;
    long before = 0;
    {
        const char *r = mc_raw(&srv[0], "stats\r\n", 7, "END\r\n");
        before = atol(strstr(r, "STAT total_connections ") + 23);
    }
    mc_pause(&srv[0]);
    timed_get w[6];
    pthread_t t[6];
    for (int i = 0; i < 6; i++) {
        w[i] = (timed_get){c, "k", 0, 0};
        pthread_create(&t[i], NULL, timed_get_run, &w[i]);
        usleep(20000);
    }
    for (int i = 0; i < 6; i++)
        pthread_join(t[i], NULL);
    mc_resume(&srv[0]);
    int timeouts = 0, pool_timeouts = 0;
    for (int i = 0; i < 6; i++) {
        if (w[i].rc == MCRING_ETIMEOUT) {
            timeouts++;
            cr_assert(w[i].took > 0.9 && w[i].took < 1.5, "%f", w[i].took);
        } else {
            cr_assert_eq(w[i].rc, MCRING_EPOOLTIMEOUT, "%s",
                         mcring_err_name(w[i].rc));
            pool_timeouts++;
            cr_assert(w[i].took > 0.15 && w[i].took < 0.6, "%f", w[i].took);
        }
    }
    cr_assert_eq(timeouts, places, "the places were taken");
    cr_assert_eq(pool_timeouts, 6 - places);
    const char *r = mc_raw(&srv[0], "stats\r\n", 7, "END\r\n");
    long after = atol(strstr(r, "STAT total_connections ") + 23);
    cr_assert_leq(after - before, 3, "never more than 2 (+ this probe)");
    mcring_client_free(c);
    mcring_options_free(o);
    mc_stop(&srv[0]);
    assert_no_fd_leak();
}

Test(faults, a_unix_socket_with_a_full_backlog_is_a_connect_failure)
{
    /* A listener that never accepts, its backlog filled: connect() on it
     * says EAGAIN, which is a failed connect, not I/O on a connection. */
    char path[108];
    snprintf(path, sizeof(path), "/tmp/mcring-backlog-%d.sock", getpid());
    unlink(path);
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    cr_assert_eq(bind(l, (struct sockaddr *)&sun, sizeof(sun)), 0);
    cr_assert_eq(listen(l, 0), 0);
    int filler[64], nf = 0;
    for (; nf < 64; nf++) {
        filler[nf] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (connect(filler[nf], (struct sockaddr *)&sun, sizeof(sun)) != 0) {
            cr_assert(errno == EAGAIN, "%s", strerror(errno));
            close(filler[nf]);
            break;
        }
    }
    cr_assert_lt(nf, 64, "the backlog never filled");
    log_capture lc = {0};
    mcring_options *o;
    mcring_client *c = client_on(path, &lc, &o);
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_get(c, "k", 1, &it), MCRING_ECONNECT);
    char msg[200];
    snprintf(msg, sizeof(msg), "Error connecting to memcached: %s", path);
    cr_assert_eq(log_count(&lc, msg), 1);
    mcring_server_stats st;
    mcring_client_server_stats(c, &st, 1);
    cr_assert_eq(st.connects, 0, "no connection was made");
    cr_assert_eq(st.errors, 1);
    mcring_item_release(&it);
    mcring_client_free(c);
    mcring_options_free(o);
    for (int i = 0; i < nf; i++)
        close(filler[i]);
    close(l);
    unlink(path);
    assert_no_fd_leak();
}
