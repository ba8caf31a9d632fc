/*
 * Server health (server_health = probe), connect limits and the gutter,
 * against real memcached processes killed, stopped, restarted and
 * flapping, ports nobody listens on, an address nothing answers, and a
 * scripted server that accepts and never answers (whose accepts are
 * counted: a request passing a down server by must touch no socket).
 * Probe intervals are a tenth of a second here, so each case takes
 * seconds.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake.h"
#include "harness.h"

/* The probe schedule of every test: 0.1 s doubling up to 0.4 s. A
 * recovery is due within PROBE_MAX of the server's return, plus the
 * probe's own round trip and the prober thread's scheduling (SLACK: the
 * suites also run under sanitizers on two shared cores). */
#define PROBE_MAX 0.4
#define PROBE_TIMEOUT 0.3
#define SLACK 0.25

/* Bounds for a run of calls that pass a down server by: far below what
 * the same calls would take if each waited for its timeout. */
#define PASSED_BY_S 2.0

static mc_server srv[3];
static int fds_at_start;

static void setup(void)
{
    fds_at_start = count_open_fds();
}

static void teardown(void)
{
    for (int i = 0; i < 3; i++)
        mc_stop(&srv[i]);
}

TestSuite(health, .init = setup, .fini = teardown, .timeout = 120);

static void assert_no_fd_leak(void)
{
    cr_assert_eq(count_open_fds(), fds_at_start,
                 "file descriptors: %d at start, %d now", fds_at_start,
                 count_open_fds());
}

/* Options for servers in probe mode with the test schedule, plus extra
 * name/value pairs (NULL-ended). */
static mcring_options *probe_opts(const char *servers, const char *const *extra)
{
    mcring_options *o = opts_for(
        servers, "server_health", "probe", "health_probe_interval", "0.1",
        "health_probe_max_interval", "0.4", "health_probe_timeout", "0.3",
        "connect_timeout", "0.2", "io_timeout", "0.3", "pool_timeout", "0.5",
        "health_max_down", "1", "key_mode", "raw", NULL);
    char err[256];
    for (size_t i = 0; extra != NULL && extra[i] != NULL; i += 2)
        cr_assert_eq(mcring_options_set(o, extra[i], extra[i + 1], err,
                                        sizeof(err)),
                     0, "%s", err);
    return o;
}

/* The counters of the server called name. */
static mcring_server_stats stats_of(mcring_client *c, const char *name)
{
    mcring_server_stats st[8];
    size_t n = mcring_client_server_stats(c, st, 8);
    for (size_t i = 0; i < n && i < 8; i++)
        if (strcmp(st[i].name, name) == 0)
            return st[i];
    cr_assert_fail("no server %s", name);
    return st[0];
}

static uint32_t health_of(mcring_client *c, const char *name)
{
    return stats_of(c, name).health;
}

/* Waits up to `seconds` for name's health to be `want`; returns how long
 * it took, or -1. */
static double wait_health(mcring_client *c, const char *name, uint32_t want,
                          double seconds)
{
    double t0 = now_s();
    while (now_s() - t0 < seconds) {
        if (health_of(c, name) == want)
            return now_s() - t0;
        usleep(5000);
    }
    return -1;
}

/* A key named prefix-N whose first server is `first`, into buf. */
static const char *named_key_on(mcring_client *c, const char *prefix,
                                const char *first, char *buf, size_t len)
{
    mcring_ring *r = mcring_client_ring_ref(c);
    for (int i = 0; i < 100000; i++) {
        snprintf(buf, len, "%s-%d", prefix, i);
        size_t idx;
        if (mcring_ring_locate(r, buf, strlen(buf), &idx, 1) == 1 &&
            strcmp(mcring_ring_server(r, idx), first) == 0) {
            mcring_ring_free(r);
            return buf;
        }
    }
    mcring_ring_free(r);
    cr_assert_fail("no key starts at %s", first);
    return NULL;
}

static int get_str(mcring_client *c, const char *key, char *out, size_t cap)
{
    mcring_item it = MCRING_ITEM_INIT;
    int rc = mcring_get(c, key, strlen(key), &it);
    out[0] = '\0';
    if (rc == MCRING_OK)
        snprintf(out, cap, "%.*s", (int)it.len, (const char *)it.data);
    mcring_item_release(&it);
    return rc;
}

static int set_str(mcring_client *c, const char *key, const char *value,
                   double ttl)
{
    return mcring_set(c, key, strlen(key), value, strlen(value), 0, ttl);
}

/* ---- real servers: killed, stopped, restarted, flapping ----------------- */

Test(health, a_killed_server_is_passed_by_and_back_within_a_probe_period)
{
    mc_start(&srv[0], NULL);
    mc_start(&srv[1], NULL);
    char names[160], key[32], buf[64];
    names_of(names, sizeof(names), srv, 2);
    mcring_options *o = probe_opts(names, NULL);
    mcring_client *c = client_for(o);
    key_on(c, srv[0].name, srv[1].name, key, sizeof(key));
    cr_assert_eq(set_str(c, key, "v1", 0), MCRING_OK);

    mc_kill(&srv[0]);
    /* The pooled connection fails first, then the connect is refused:
     * the key fails over to the next server either way (a miss there),
     * and the refused connect marks the server down. */
    for (int i = 0; i < 3 && health_of(c, srv[0].name) == MCRING_HEALTH_UP;
         i++)
        cr_assert_eq(get_str(c, key, buf, sizeof(buf)), MCRING_MISS);
    mcring_server_stats st = stats_of(c, srv[0].name);
    cr_assert_eq(st.health, MCRING_HEALTH_HARD_DOWN);
    cr_assert_eq(st.downs, 1);

    /* Passed by: no connect, no request. */
    for (int i = 0; i < 200; i++)
        cr_assert_eq(get_str(c, key, buf, sizeof(buf)), MCRING_MISS);
    mcring_server_stats after = stats_of(c, srv[0].name);
    cr_assert_eq(after.connect_attempts, st.connect_attempts);
    cr_assert_eq(after.requests, st.requests);
    cr_assert_geq(after.fast_fails, st.fast_fails + 200);
    cr_assert_eq(set_str(c, key, "v2", 0), MCRING_OK, "stored on the next");
    cr_assert_eq(get_str(c, key, buf, sizeof(buf)), MCRING_OK);
    cr_assert_str_eq(buf, "v2");

    /* Back: a probe finds it within one probe period. */
    mc_restart(&srv[0]);
    double back = wait_health(c, srv[0].name, MCRING_HEALTH_UP,
                              PROBE_MAX + PROBE_TIMEOUT + 1);
    cr_assert(back >= 0 && back <= PROBE_MAX + SLACK,
              "back after %.3f s (probe period %.1f s)", back, PROBE_MAX);
    st = stats_of(c, srv[0].name);
    cr_assert_eq(st.recoveries, 1);
    cr_assert_eq(st.probes, st.probe_failures + 1);
    /* Its keys are its own again (a restarted memcached is empty). */
    cr_assert_eq(get_str(c, key, buf, sizeof(buf)), MCRING_MISS);
    cr_assert_eq(set_str(c, key, "v3", 0), MCRING_OK);
    cr_assert_eq(get_str(c, key, buf, sizeof(buf)), MCRING_OK);
    cr_assert_str_eq(buf, "v3");
    char req[64];
    snprintf(req, sizeof(req), "get %s\r\n", key);
    cr_assert(strstr(mc_raw(&srv[0], req, strlen(req), "END"), "v3") != NULL,
              "the value is on the restarted server");
    mcring_client_free(c);
    mcring_options_free(o);
    assert_no_fd_leak();
}

Test(health, a_stopped_server_goes_soft_down_and_comes_back_with_its_data)
{
    mc_start(&srv[0], NULL);
    mc_start(&srv[1], NULL);
    char names[160], key[32], buf[64];
    names_of(names, sizeof(names), srv, 2);
    const char *extra[] = {"health_timeouts", "2", "io_timeout", "0.2", NULL};
    mcring_options *o = probe_opts(names, extra);
    mcring_client *c = client_for(o);
    key_on(c, srv[0].name, srv[1].name, key, sizeof(key));
    cr_assert_eq(set_str(c, key, "kept", 0), MCRING_OK);

    mc_pause(&srv[0]);
    /* Each call times out on it (0.2 s) and fails over; two timeouts in a
     * row mark it down. */
    double t0 = now_s();
    int calls = 0;
    while (health_of(c, srv[0].name) == MCRING_HEALTH_UP && calls < 10) {
        cr_assert_eq(get_str(c, key, buf, sizeof(buf)), MCRING_MISS);
        calls++;
    }
    cr_assert_eq(health_of(c, srv[0].name), MCRING_HEALTH_SOFT_DOWN);
    cr_assert_leq(calls, 2, "down after %d calls", calls);
    cr_assert_lt(now_s() - t0, 1.5);

    /* 100 timeouts would take 20 s. */
    t0 = now_s();
    for (int i = 0; i < 100; i++)
        cr_assert_eq(get_str(c, key, buf, sizeof(buf)), MCRING_MISS);
    cr_assert_lt(now_s() - t0, PASSED_BY_S, "passed by, not waited for");

    mc_resume(&srv[0]);
    double back = wait_health(c, srv[0].name, MCRING_HEALTH_UP,
                              PROBE_MAX + PROBE_TIMEOUT + 1);
    cr_assert(back >= 0 && back <= PROBE_MAX + PROBE_TIMEOUT + SLACK,
              "back after %.3f s", back);
    /* A stopped server kept its items: the value is the one stored. */
    cr_assert_eq(get_str(c, key, buf, sizeof(buf)), MCRING_OK);
    cr_assert_str_eq(buf, "kept");
    mcring_client_free(c);
    mcring_options_free(o);
    assert_no_fd_leak();
}

typedef struct load {
    mcring_client *c;
    const char *keys[2];
    atomic_bool stop;
    long ops, errors, wrong, stale;
} load;

/* The number in a value "<key>#<n>" stored for key, or -1 when the value
 * is not one of key's. */
static long number_of(const char *value, const char *key)
{
    size_t n = strlen(key);
    if (strncmp(value, key, n) != 0 || value[n] != '#')
        return -1;
    return atol(value + n + 1);
}

/* Sets and reads back two keys (one per server) with numbered values: a
 * value read is always one stored for that key (never another key's, nor
 * one never stored); a read older than the last set (the failover server
 * kept a copy from an earlier outage, as Swift's ring does) is counted
 * apart. */
static void *flap_load(void *arg)
{
    load *l = arg;
    long last[2] = {-1, -1};
    char buf[64];
    for (long n = 0; !atomic_load(&l->stop); n++) {
        int k = (int)(n % 2);
        char v[48];
        snprintf(v, sizeof(v), "%s#%ld", l->keys[k], n);
        if (set_str(l->c, l->keys[k], v, 0) == MCRING_OK)
            last[k] = n;
        else
            l->errors++;
        int rc = get_str(l->c, l->keys[k], buf, sizeof(buf));
        if (rc == MCRING_OK) {
            long got = number_of(buf, l->keys[k]);
            if (got < 0 || got > n)
                l->wrong++;
            else if (got != last[k])
                l->stale++;
        } else if (rc != MCRING_MISS) {
            l->errors++;
        }
        l->ops++;
        usleep(500);
    }
    return NULL;
}

Test(health, a_flapping_server_down_and_up_every_two_seconds)
{
    mc_start(&srv[0], NULL);
    mc_start(&srv[1], NULL);
    char names[160], k0[32], k1[32];
    names_of(names, sizeof(names), srv, 2);
    mcring_options *o = probe_opts(names, NULL);
    mcring_client *c = client_for(o);
    key_on(c, srv[0].name, srv[1].name, k0, sizeof(k0));
    key_on(c, srv[1].name, srv[0].name, k1, sizeof(k1));
    load l = {.c = c, .keys = {k0, k1}};
    pthread_t t;
    pthread_create(&t, NULL, flap_load, &l);
    double start = now_s();
    for (int cycle = 0; cycle < 2; cycle++) {
        usleep(300000);
        mc_kill(&srv[0]);
        double down = wait_health(c, srv[0].name, MCRING_HEALTH_HARD_DOWN,
                                  1.0);
        cr_assert(down >= 0, "cycle %d: marked down", cycle);
        if (down < 2.0)
            usleep((useconds_t)((2.0 - down) * 1e6));
        mc_restart(&srv[0]);
        double back = wait_health(c, srv[0].name, MCRING_HEALTH_UP,
                                  PROBE_MAX + PROBE_TIMEOUT + 1);
        cr_assert(back >= 0 && back <= PROBE_MAX + SLACK,
                  "cycle %d: back after %.3f s", cycle, back);
        if (back < 1.7)
            usleep((useconds_t)((1.7 - back) * 1e6));
    }
    atomic_store(&l.stop, true);
    pthread_join(t, NULL);
    double took = now_s() - start;
    mcring_server_stats st = stats_of(c, srv[0].name);
    cr_assert_eq(l.wrong, 0, "values read that were never stored for the key");
    cr_assert_leq(l.stale, 4, "older values read: %ld", l.stale);
    cr_assert_eq(l.errors, 0, "client-visible errors");
    cr_assert_gt(l.ops, 1000);
    cr_assert_eq(st.downs, 2);
    cr_assert_eq(st.recoveries, 2);
    /* Live requests connect only while it is up (at most the pool each
     * time); the probes bound the rest: at most one per 0.05 s. */
    cr_assert_leq(st.connect_attempts, 2 * 3 + 2, "connect attempts: %llu",
                  (unsigned long long)st.connect_attempts);
    cr_assert_leq((double)st.probes, took / 0.05 + 1);
    mcring_client_free(c);
    mcring_options_free(o);
    assert_no_fd_leak();
}

/* ---- refusing, unreachable, blackholed ---------------------------------- */

Test(health, a_refusing_port_is_dialled_once_then_only_probed)
{
    mc_start(&srv[1], NULL);
    char dead[64], names[160], key[32], buf[64];
    snprintf(dead, sizeof(dead), "127.0.0.1:%d", free_port());
    snprintf(names, sizeof(names), "%s,%s", dead, srv[1].name);
    mcring_options *o = probe_opts(names, NULL);
    mcring_client *c = client_for(o);
    key_on(c, dead, srv[1].name, key, sizeof(key));
    cr_assert_eq(get_str(c, key, buf, sizeof(buf)), MCRING_MISS);
    cr_assert_eq(health_of(c, dead), MCRING_HEALTH_HARD_DOWN);
    double t0 = now_s();
    for (int i = 0; i < 500; i++)
        cr_assert_eq(get_str(c, key, buf, sizeof(buf)), MCRING_MISS);
    usleep(1000000);
    /* (Probes are counted when they end: took covers those started.) */
    double took = now_s() - t0;
    mcring_server_stats st = stats_of(c, dead);
    cr_assert_eq(st.connect_attempts, 1, "one connect, then only probes");
    /* Probe waits: 0.1, 0.2, 0.4, 0.4 ... less up to half of each. */
    cr_assert_geq(st.probes, 2);
    cr_assert_leq((double)st.probes, took / (PROBE_MAX / 2) + 3,
                  "%llu probes in %.2f s", (unsigned long long)st.probes,
                  took);
    cr_assert_eq(st.probe_failures, st.probes);
    mcring_client_free(c);
    mcring_options_free(o);
    assert_no_fd_leak();
}

Test(health, an_address_nothing_answers_is_marked_down_on_its_first_connect)
{
    mc_start(&srv[1], NULL);
    /* TEST-NET-1 (RFC 5737): never routed; the connect times out or is
     * refused as unreachable, whichever this network does. */
    const char *dead = "192.0.2.1:11211";
    char names[160], key[32], buf[64];
    snprintf(names, sizeof(names), "%s,%s", dead, srv[1].name);
    mcring_options *o = probe_opts(names, NULL);
    mcring_client *c = client_for(o);
    key_on(c, dead, srv[1].name, key, sizeof(key));
    double t0 = now_s();
    cr_assert_eq(get_str(c, key, buf, sizeof(buf)), MCRING_MISS);
    cr_assert_lt(now_s() - t0, 0.2 + SLACK, "connect_timeout bounds it");
    cr_assert_eq(health_of(c, dead), MCRING_HEALTH_HARD_DOWN);
    /* 100 connect timeouts would take 20 s. */
    t0 = now_s();
    for (int i = 0; i < 100; i++)
        cr_assert_eq(get_str(c, key, buf, sizeof(buf)), MCRING_MISS);
    cr_assert_lt(now_s() - t0, PASSED_BY_S);
    cr_assert_eq(stats_of(c, dead).connect_attempts, 1);
    mcring_client_free(c);
    mcring_options_free(o);
    assert_no_fd_leak();
}

/* A server that accepts and reads, and answers only when told to. */
typedef struct blackhole {
    atomic_bool answer;
} blackhole;

static fake_action blackhole_handler(int fd, const char *line, size_t len,
                                     void *ud)
{
    blackhole *b = ud;
    if (!atomic_load(&b->answer))
        return FAKE_KEEP;
    if (len == 2 && memcmp(line, "mn", 2) == 0)
        fake_puts(fd, "MN\r\n");
    else if (len == 7 && memcmp(line, "version", 7) == 0)
        fake_puts(fd, "VERSION 1.6.18\r\n");
    else if (len > 4 && memcmp(line, "get ", 4) == 0)
        fake_puts(fd, "END\r\n");
    else
        fake_puts(fd, "ERROR\r\n");
    return FAKE_KEEP;
}

Test(health, a_blackhole_is_passed_by_without_a_socket_until_it_answers)
{
    mc_start(&srv[1], NULL);
    blackhole b = {0};
    fake_server *f = fake_start(blackhole_handler, &b);
    fake_set_raw_fences(f, true); /* its silence covers fences too */
    char names[160], key[32], buf[64];
    snprintf(names, sizeof(names), "%s,%s", fake_name(f), srv[1].name);
    const char *extra[] = {"health_timeouts", "2", "io_timeout", "0.2", NULL};
    mcring_options *o = probe_opts(names, extra);
    mcring_client *c = client_for(o);
    key_on(c, fake_name(f), srv[1].name, key, sizeof(key));
    int calls = 0;
    while (health_of(c, fake_name(f)) == MCRING_HEALTH_UP && calls < 10) {
        cr_assert_eq(get_str(c, key, buf, sizeof(buf)), MCRING_MISS);
        calls++;
    }
    cr_assert_eq(health_of(c, fake_name(f)), MCRING_HEALTH_SOFT_DOWN);
    cr_assert_leq(calls, 2);

    int accepted = fake_accepted(f), lines = fake_lines(f);
    mcring_server_stats before = stats_of(c, fake_name(f));
    /* 300 io timeouts would take a minute. */
    double t0 = now_s();
    for (int i = 0; i < 300; i++)
        cr_assert_eq(get_str(c, key, buf, sizeof(buf)), MCRING_MISS);
    cr_assert_lt(now_s() - t0, PASSED_BY_S);
    usleep(300000);
    mcring_server_stats after = stats_of(c, fake_name(f));
    /* Everything that reached it since was a probe: one connection and
     * one "version" line each. */
    uint64_t probes = after.probes - before.probes;
    /* A probe in progress has connected and written but not finished. */
    int in_flight = fake_accepted(f) - accepted - (int)probes;
    cr_assert(in_flight == 0 || in_flight == 1, "accepts %d, probes %llu",
              fake_accepted(f) - accepted, (unsigned long long)probes);
    cr_assert_leq(fake_lines(f) - lines, (int)probes + in_flight);
    cr_assert_eq(after.requests, before.requests, "no live request");

    atomic_store(&b.answer, true);
    double back = wait_health(c, fake_name(f), MCRING_HEALTH_UP,
                              PROBE_MAX + PROBE_TIMEOUT + 1);
    cr_assert(back >= 0 && back <= PROBE_MAX + PROBE_TIMEOUT + SLACK,
              "back after %.3f s", back);
    lines = fake_lines(f);
    cr_assert_eq(get_str(c, key, buf, sizeof(buf)), MCRING_MISS);
    cr_assert_gt(fake_lines(f), lines, "its keys go to it again");
    mcring_client_free(c);
    mcring_options_free(o);
    fake_stop(f);
    assert_no_fd_leak();
}

/* ---- no storms ---------------------------------------------------------- */

typedef struct herd {
    mcring_client *c;
    const char *key;
    pthread_barrier_t *go;
    int rc;
} herd;

static void *herd_get(void *arg)
{
    herd *h = arg;
    char buf[64];
    pthread_barrier_wait(h->go);
    h->rc = get_str(h->c, h->key, buf, sizeof(buf));
    return NULL;
}

Test(health, sixteen_threads_that_find_a_server_dead_together_dial_it_once)
{
    mc_start(&srv[1], NULL);
    char dead[64], names[160], key[32];
    snprintf(dead, sizeof(dead), "127.0.0.1:%d", free_port());
    snprintf(names, sizeof(names), "%s,%s", dead, srv[1].name);
    const char *extra[] = {"memcache_max_connections", "8", NULL};
    mcring_options *o = probe_opts(names, extra);
    mcring_client *c = client_for(o);
    key_on(c, dead, srv[1].name, key, sizeof(key));
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, 16);
    herd h[16];
    pthread_t t[16];
    for (int i = 0; i < 16; i++) {
        h[i] = (herd){c, key, &go, 0};
        pthread_create(&t[i], NULL, herd_get, &h[i]);
    }
    for (int i = 0; i < 16; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(h[i].rc, MCRING_MISS, "thread %d: %s", i,
                     mcring_err_name(h[i].rc));
    }
    pthread_barrier_destroy(&go);
    mcring_server_stats st = stats_of(c, dead);
    cr_assert_eq(st.connect_attempts, 1, "%llu connects",
                 (unsigned long long)st.connect_attempts);
    cr_assert_eq(st.errors, 1, "one failure counted");
    mcring_client_free(c);
    mcring_options_free(o);
    assert_no_fd_leak();
}

static fake_action hang_up(int fd, const char *line, size_t len, void *ud)
{
    (void)fd;
    (void)line;
    (void)len;
    (void)ud;
    return FAKE_CLOSE;
}

typedef struct hammer {
    mcring_client *c;
    double until;
    long calls, wrong;
} hammer;

static void *hammer_get(void *arg)
{
    hammer *h = arg;
    char buf[64];
    while (now_s() < h->until) {
        int rc = get_str(h->c, "k", buf, sizeof(buf));
        /* A server that hangs up never gives a hit or a miss. */
        if (rc >= 0)
            h->wrong++;
        h->calls++;
    }
    return NULL;
}

/* Connect attempts by 4 threads calling for `seconds` against a server
 * that hangs up on every request; *took: until the last call returned. */
static int connects_in(const char *rate, double seconds, uint64_t *limited,
                       double *took)
{
    fake_server *f = fake_start(hang_up, NULL);
    const char *extra[] = {"connect_rate", rate, "tries", "1",
                           "error_suppression_interval", "0", NULL};
    mcring_options *o = opts_for(fake_name(f), NULL);
    char err[256];
    for (size_t i = 0; extra[i] != NULL; i += 2)
        cr_assert_eq(mcring_options_set(o, extra[i], extra[i + 1], err,
                                        sizeof(err)),
                     0, "%s", err);
    mcring_client *c = client_for(o);
    hammer h[4];
    pthread_t t[4];
    double start = now_s(), until = start + seconds;
    for (int i = 0; i < 4; i++) {
        h[i] = (hammer){c, until, 0, 0};
        pthread_create(&t[i], NULL, hammer_get, &h[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(h[i].wrong, 0);
    }
    *took = now_s() - start;
    *limited = stats_of(c, fake_name(f)).connects_limited;
    mcring_client_free(c);
    mcring_options_free(o);
    int n = fake_accepted(f);
    fake_stop(f);
    return n;
}

Test(health, connect_rate_bounds_connects_per_second)
{
    uint64_t limited;
    double took;
    /* Unlimited, each request dials anew: far more than 10 + 10 a second
     * (hundreds in 0.5 s without sanitizers). */
    int free_run = connects_in("0", 0.5, &limited, &took);
    cr_assert_gt(free_run, 40, "%d connects unlimited", free_run);
    cr_assert_eq(limited, 0);
    /* 10 a second: a bucket of 10, then 10 a second (a call that began
     * before the end may wait for a token up to pool_timeout). */
    int capped = connects_in("10", 1.0, &limited, &took);
    cr_assert_leq(capped, 10 + 10 * took + 1, "%d connects at 10/s in %.2f s",
                  capped, took);
    cr_assert_geq(capped, 15);
    cr_assert_gt(limited, 0);
    assert_no_fd_leak();
}

Test(health, the_fleet_cap_keeps_the_last_servers_in_use)
{
    mc_start(&srv[0], NULL);
    mc_start(&srv[1], NULL);
    mc_start(&srv[2], NULL);
    char dead[3][64], names[512];
    for (int i = 0; i < 3; i++)
        snprintf(dead[i], sizeof(dead[i]), "127.0.0.1:%d", free_port());
    snprintf(names, sizeof(names), "%s,%s,%s,%s,%s,%s", dead[0], srv[0].name,
             dead[1], srv[1].name, dead[2], srv[2].name);
    /* A third of six: two may be down. */
    const char *extra[] = {"health_max_down", "0.34", "tries", "6", NULL};
    mcring_options *o = probe_opts(names, extra);
    mcring_client *c = client_for(o);
    char key[32], buf[64];
    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof(key), "cap-%d", i);
        cr_assert_eq(get_str(c, key, buf, sizeof(buf)), MCRING_MISS,
                     "no key fails: %s", key);
    }
    int down = 0, capped = 0;
    for (int i = 0; i < 3; i++) {
        mcring_server_stats st = stats_of(c, dead[i]);
        down += st.health != MCRING_HEALTH_UP;
        capped += st.health == MCRING_HEALTH_UP && st.down_capped > 0;
    }
    cr_assert_eq(down, 2);
    cr_assert_eq(capped, 1, "the third dead server stays in use");
    mcring_client_free(c);
    mcring_options_free(o);
    assert_no_fd_leak();
}

/* ---- the gutter ---------------------------------------------------------- */

/* What memcached at s says of key: its value and TTL ("mg key t v"). */
static const char *meta_get(mc_server *s, const char *key)
{
    char req[300];
    int n = snprintf(req, sizeof(req), "mg %s t v\r\n", key);
    return mc_raw(s, req, (size_t)n, "\r\n");
}

/* The TTL memcached at s holds for key, or -2 when it does not have it. */
static int ttl_at(mc_server *s, const char *key)
{
    const char *r = meta_get(s, key);
    const char *t = strstr(r, " t");
    if (strncmp(r, "VA ", 3) != 0 || t == NULL)
        return -2;
    return atoi(t + 2);
}

static const char *const modes[] = {
    "swift", "consistent", "libmemcached-ketama",
    "libmemcached-ketama-weighted", "twemproxy", "pymemcache",
};

Test(health, a_down_servers_keys_go_to_the_gutter_in_every_ring_mode)
{
    mc_start(&srv[1], NULL);
    mc_start(&srv[2], NULL); /* the gutter */
    char dead[64], names[160], key[32], other[32], buf[64];
    snprintf(dead, sizeof(dead), "127.0.0.1:%d", free_port());
    snprintf(names, sizeof(names), "%s,%s", dead, srv[1].name);
    for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
        const char *extra[] = {"ring_mode", modes[m], "gutter_servers",
                               srv[2].name, "gutter_ttl", "7", NULL};
        mcring_options *o = probe_opts(names, extra);
        mcring_client *c = client_for(o);
        key_on(c, dead, NULL, key, sizeof(key));
        key_on(c, srv[1].name, NULL, other, sizeof(other));
        /* Stored for an hour, with the key's server dead: in the gutter,
         * for 7 s. The other key stays on its own server. */
        cr_assert_eq(set_str(c, key, "g", 3600), MCRING_OK, "%s", modes[m]);
        cr_assert_eq(set_str(c, other, "o", 3600), MCRING_OK);
        int ttl = ttl_at(&srv[2], key);
        cr_assert(ttl >= 6 && ttl <= 7, "%s: gutter TTL %d", modes[m], ttl);
        cr_assert_eq(ttl_at(&srv[1], key), -2, "%s: not rehashed", modes[m]);
        cr_assert_eq(ttl_at(&srv[2], other), -2);
        cr_assert_gt(ttl_at(&srv[1], other), 3500);
        /* Reads fall back to it; so do multi-key reads. */
        cr_assert_eq(get_str(c, key, buf, sizeof(buf)), MCRING_OK);
        cr_assert_str_eq(buf, "g");
        mcring_key keys[2] = {{key, strlen(key)}, {other, strlen(other)}};
        mcring_item items[2] = {MCRING_ITEM_INIT, MCRING_ITEM_INIT};
        int status[2];
        cr_assert_eq(mcring_get_multi(c, keys, 2, NULL, 0, items, status), 0);
        cr_assert_eq(status[0], MCRING_OK);
        cr_assert_eq(status[1], MCRING_OK);
        cr_assert(items[0].len == 1 && ((char *)items[0].data)[0] == 'g');
        cr_assert(items[1].len == 1 && ((char *)items[1].data)[0] == 'o');
        mcring_item_release(&items[0]);
        mcring_item_release(&items[1]);
        /* Deletes reach it too. */
        cr_assert_eq(mcring_delete(c, key, strlen(key), NULL, 0), MCRING_OK);
        cr_assert_eq(ttl_at(&srv[2], key), -2);
        cr_assert_eq(mcring_delete(c, other, strlen(other), NULL, 0),
                     MCRING_OK);
        cr_assert_geq(stats_of(c, dead).to_gutter, 3);
        mcring_server_stats g = stats_of(c, srv[2].name);
        cr_assert(g.gutter);
        mcring_client_free(c);
        mcring_options_free(o);
    }
    assert_no_fd_leak();
}

Test(health, the_gutter_takes_multi_key_sets_and_counters_with_capped_ttls)
{
    mc_start(&srv[1], NULL);
    mc_start(&srv[2], NULL);
    char dead[64], names[160], key[32], other[32], buf[64];
    snprintf(dead, sizeof(dead), "127.0.0.1:%d", free_port());
    snprintf(names, sizeof(names), "%s,%s", dead, srv[1].name);
    const char *extra[] = {"gutter_servers", srv[2].name, "gutter_ttl", "5",
                           NULL};
    mcring_options *o = probe_opts(names, extra);
    mcring_client *c = client_for(o);
    key_on(c, dead, NULL, key, sizeof(key));
    key_on(c, srv[1].name, NULL, other, sizeof(other));
    mcring_kv kvs[2] = {{key, strlen(key), "a", 1, 0},
                        {other, strlen(other), "b", 1, 0}};
    int status[2];
    /* TTL 0 is "never": capped too. */
    cr_assert_eq(mcring_set_multi(c, kvs, 2, NULL, 0, 0, status), 0);
    int ttl = ttl_at(&srv[2], key);
    cr_assert(ttl >= 4 && ttl <= 5, "gutter TTL %d", ttl);
    cr_assert_eq(ttl_at(&srv[1], other), -1, "never expires at home");
    cr_assert_eq(get_str(c, key, buf, sizeof(buf)), MCRING_OK);
    cr_assert_str_eq(buf, "a");
    /* A counter created in the gutter expires too. */
    uint64_t v = 0;
    char ctr[32];
    named_key_on(c, "ctr", dead, ctr, sizeof(ctr));
    cr_assert_eq(mcring_delete(c, ctr, strlen(ctr), NULL, 0), MCRING_MISS);
    cr_assert_eq(mcring_incr(c, ctr, strlen(ctr), 4, 100, &v), MCRING_OK);
    cr_assert_eq(mcring_incr(c, ctr, strlen(ctr), 4, 100, &v), MCRING_OK);
    cr_assert_eq(v, 8);
    ttl = ttl_at(&srv[2], ctr);
    cr_assert(ttl >= 4 && ttl <= 5, "counter TTL %d", ttl);
    /* A short TTL is kept as it is. */
    cr_assert_eq(set_str(c, key, "s", 2), MCRING_OK);
    ttl = ttl_at(&srv[2], key);
    cr_assert(ttl >= 1 && ttl <= 2, "TTL %d", ttl);
    mcring_client_free(c);
    mcring_options_free(o);
    assert_no_fd_leak();
}

Test(health, deletes_go_to_the_gutter_even_when_the_server_is_up)
{
    mc_start(&srv[0], NULL);
    mc_start(&srv[1], NULL);
    mc_start(&srv[2], NULL);
    char names[160], key[32];
    names_of(names, sizeof(names), srv, 2);
    const char *extra[] = {"gutter_servers", srv[2].name, NULL};
    mcring_options *o = probe_opts(names, extra);
    mcring_client *c = client_for(o);
    key_on(c, srv[0].name, NULL, key, sizeof(key));
    cr_assert_eq(set_str(c, key, "home", 0), MCRING_OK);
    /* A copy left in the gutter by an earlier outage. */
    char req[128];
    int n = snprintf(req, sizeof(req), "set %s 0 0 5\r\nstale\r\n", key);
    cr_assert(strstr(mc_raw(&srv[2], req, (size_t)n, "\r\n"), "STORED"));
    cr_assert_eq(mcring_delete(c, key, strlen(key), NULL, 0), MCRING_OK);
    cr_assert_eq(ttl_at(&srv[0], key), -2);
    cr_assert_eq(ttl_at(&srv[2], key), -2, "the gutter's copy is gone too");
    cr_assert_eq(mcring_delete(c, key, strlen(key), NULL, 0), MCRING_MISS);
    mcring_client_free(c);
    mcring_options_free(o);
    assert_no_fd_leak();
}

Test(health, the_gutter_follows_live_swaps)
{
    mc_start(&srv[1], NULL);
    mc_start(&srv[0], NULL); /* first gutter */
    mc_start(&srv[2], NULL); /* second gutter */
    char dead[64], names[160], key[32], err[256];
    snprintf(dead, sizeof(dead), "127.0.0.1:%d", free_port());
    snprintf(names, sizeof(names), "%s,%s", dead, srv[1].name);
    const char *extra[] = {"gutter_servers", srv[0].name, NULL};
    mcring_options *o = probe_opts(names, extra);
    mcring_client *c = client_for(o);
    key_on(c, dead, NULL, key, sizeof(key));
    cr_assert_eq(set_str(c, key, "1", 0), MCRING_OK);
    cr_assert_gt(ttl_at(&srv[0], key), 0);
    cr_assert_eq(mcring_client_server_stats(c, NULL, 0), 3);

    cr_assert_eq(mcring_options_set(o, "gutter_servers", srv[2].name, err,
                                    sizeof(err)),
                 0);
    cr_assert_eq(mcring_client_reconfigure(c, o, err, sizeof(err)), 0, "%s",
                 err);
    /* The dead server stays down across the swap (same server object). */
    cr_assert_eq(health_of(c, dead), MCRING_HEALTH_HARD_DOWN);
    cr_assert_eq(set_str(c, key, "2", 0), MCRING_OK);
    cr_assert_gt(ttl_at(&srv[2], key), 0, "the new gutter has it");
    mcring_server_stats st[3];
    cr_assert_eq(mcring_client_server_stats(c, st, 3), 3);
    cr_assert_str_eq(st[2].name, srv[2].name);
    cr_assert(st[2].gutter && !st[0].gutter && !st[1].gutter);

    /* Swapping the main list keeps the gutter. */
    cr_assert_eq(mcring_client_set_servers(c, srv[1].name, err, sizeof(err)),
                 0, "%s", err);
    cr_assert_eq(mcring_client_server_stats(c, NULL, 0), 2);

    /* A server may not be its own gutter. */
    mcring_options *bad = opts_for(srv[1].name, "gutter_servers",
                                   srv[1].name, NULL);
    mcring_client *none = NULL;
    cr_assert_eq(mcring_client_new(&none, bad, err, sizeof(err)),
                 MCRING_ECONFIG);
    cr_assert(strstr(err, "also in memcache_servers") != NULL, "%s", err);
    mcring_options_free(bad);
    mcring_client_free(c);
    mcring_options_free(o);
    assert_no_fd_leak();
}

Test(health, in_swift_mode_a_banned_servers_keys_go_to_the_gutter)
{
    mc_start(&srv[1], NULL);
    mc_start(&srv[2], NULL);
    char dead[64], names[160], key[32];
    snprintf(dead, sizeof(dead), "127.0.0.1:%d", free_port());
    snprintf(names, sizeof(names), "%s,%s", dead, srv[1].name);
    mcring_options *o = opts_for(names, "gutter_servers", srv[2].name,
                                 "error_suppression_limit", "0",
                                 "key_mode", "raw", NULL);
    mcring_client *c = client_for(o);
    key_on(c, dead, NULL, key, sizeof(key));
    cr_assert_eq(set_str(c, key, "x", 0), MCRING_OK);
    cr_assert_gt(ttl_at(&srv[2], key), 0);
    mcring_server_stats st = stats_of(c, dead);
    cr_assert_gt(st.limited_for, 0, "Swift's ban, not a health mark");
    cr_assert_eq(st.health, MCRING_HEALTH_UP);
    cr_assert_eq(st.probes, 0);
    mcring_client_free(c);
    mcring_options_free(o);
    assert_no_fd_leak();
}

/* ---- fork ------------------------------------------------------------------ */

Test(health, a_child_of_fork_probes_with_its_own_thread)
{
    mc_start(&srv[1], NULL);
    mc_start(&srv[0], NULL);
    char names[160], key[32], buf[64];
    names_of(names, sizeof(names), srv, 2);
    mcring_options *o = probe_opts(names, NULL);
    mcring_client *c = client_for(o);
    key_on(c, srv[0].name, srv[1].name, key, sizeof(key));
    mc_kill(&srv[0]);
    for (int i = 0; i < 3 && health_of(c, srv[0].name) == MCRING_HEALTH_UP;
         i++)
        get_str(c, key, buf, sizeof(buf));
    cr_assert_eq(health_of(c, srv[0].name), MCRING_HEALTH_HARD_DOWN);
    pid_t pid = fork();
    if (pid == 0) {
        /* The parent's prober is not here; the child's brings the server
         * back once it answers. */
        int ok = get_str(c, key, buf, sizeof(buf)) == MCRING_MISS;
        double t0 = now_s();
        while (now_s() - t0 < 5 &&
               health_of(c, srv[0].name) != MCRING_HEALTH_UP)
            usleep(10000);
        ok = ok && health_of(c, srv[0].name) == MCRING_HEALTH_UP;
        mcring_client_free(c);
        _exit(ok ? 0 : 1);
    }
    mc_restart(&srv[0]);
    int status;
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "the child's prober brought the server back");
    cr_assert_geq(wait_health(c, srv[0].name, MCRING_HEALTH_UP, 1.0), 0);
    mcring_client_free(c);
    mcring_options_free(o);
    assert_no_fd_leak();
}
