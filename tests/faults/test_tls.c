/* TLS to memcached (started with -Z) with certificates the test makes:
 * verification of the certificate and the host name on by default, client
 * certificates, and clean failures for every mismatch. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include <mcring/adapters/epoll.h>

static mc_server srv;
static char dir[64];

static void make_certs(void)
{
    snprintf(dir, sizeof(dir), "/tmp/mcring-tls-%d", getpid());
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "mkdir -p %s && %s/support/make-certs.sh %s",
             dir, env_path("MCRING_TEST_SOURCE"), dir);
    cr_assert_eq(system(cmd), 0, "could not make certificates (openssl)");
}

static void cleanup(void)
{
    mc_stop(&srv);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

TestSuite(tls, .init = make_certs, .fini = cleanup, .timeout = 60);

/* memcached with TLS, presenting `cert`; with `require_client` it demands
 * a client certificate signed by the test CA. */
static void start_tls(const char *cert, bool require_client)
{
    char extra[512];
    snprintf(extra, sizeof(extra),
             "-Z -o ssl_chain_cert=%s/%s.crt,ssl_key=%s/%s.key%s%s%s", dir,
             cert, dir, cert, require_client ? ",ssl_ca_cert=" : "",
             require_client ? dir : "",
             require_client ? "/ca.crt,ssl_verify_mode=2" : "");
    mc_start(&srv, extra);
}

static mcring_options *tls_opts(const char *server, const char *cafile,
                                const char *client_cert)
{
    char ca[128], crt[128], key[128];
    snprintf(ca, sizeof(ca), "%s/%s", dir, cafile);
    mcring_options *o = opts_for(server, "tls_enabled", "yes", "tls_cafile", ca,
                                 "tries", "1", "io_timeout", "1", NULL);
    if (client_cert != NULL) {
        snprintf(crt, sizeof(crt), "%s/%s.crt", dir, client_cert);
        snprintf(key, sizeof(key), "%s/%s.key", dir, client_cert);
        cr_assert_eq(mcring_options_set(o, "tls_certfile", crt, NULL, 0), 0);
        cr_assert_eq(mcring_options_set(o, "tls_keyfile", key, NULL, 0), 0);
    }
    return o;
}

static int round_trip(mcring_options *o, log_capture *lc)
{
    if (lc != NULL)
        mcring_options_set_log(o, log_capture_fn, lc);
    mcring_client *c = client_for(o);
    int rc = mcring_set(c, "tls-key", 7, "secret", 6, 0, 0);
    if (rc == MCRING_OK) {
        mcring_item it = MCRING_ITEM_INIT;
        rc = mcring_get(c, "tls-key", 7, &it);
        cr_assert_eq(rc, MCRING_OK);
        cr_assert_eq(it.len, 6);
        cr_assert(memcmp(it.data, "secret", 6) == 0);
        mcring_item_release(&it);
    }
    mcring_client_free(c);
    mcring_options_free(o);
    return rc;
}

Test(tls, a_good_certificate_connects_by_address_and_by_name)
{
    start_tls("server", false);
    cr_assert_eq(round_trip(tls_opts(srv.name, "ca.crt", NULL), NULL), MCRING_OK);
    char byname[64];
    snprintf(byname, sizeof(byname), "localhost:%d", srv.port);
    cr_assert_eq(round_trip(tls_opts(byname, "ca.crt", NULL), NULL), MCRING_OK);
}

Test(tls, a_wrong_ca_is_refused_with_a_clear_error)
{
    start_tls("server", false);
    log_capture lc = {0};
    double t0 = now_s();
    cr_assert_eq(round_trip(tls_opts(srv.name, "wrongca.crt", NULL), &lc),
                 MCRING_ECERT);
    cr_assert_lt(now_s() - t0, 1.0);
    cr_assert_eq(log_count(&lc, "TLS certificate verification failed: "
                                "unable to get local issuer certificate"),
                 1, "%s", lc.lines[0]);
}

Test(tls, a_certificate_for_another_host_is_refused)
{
    start_tls("other", false);
    log_capture lc = {0};
    cr_assert_eq(round_trip(tls_opts(srv.name, "ca.crt", NULL), &lc),
                 MCRING_ECERT);
    cr_assert_eq(log_count(&lc, "IP address mismatch"), 1, "%s", lc.lines[0]);
    char byname[64];
    snprintf(byname, sizeof(byname), "localhost:%d", srv.port);
    log_capture lc2 = {0};
    cr_assert_eq(round_trip(tls_opts(byname, "ca.crt", NULL), &lc2),
                 MCRING_ECERT);
    cr_assert_eq(log_count(&lc2, "hostname mismatch"), 1, "%s", lc2.lines[0]);
}

Test(tls, a_plain_text_client_on_a_tls_port_fails_cleanly)
{
    start_tls("server", false);
    mcring_options *o = opts_for(srv.name, "tries", "1", "io_timeout", "1", NULL);
    double t0 = now_s();
    int rc = round_trip(o, NULL);
    cr_assert(rc == MCRING_ECLOSED || rc == MCRING_EPROTO, "%s",
              mcring_err_name(rc));
    cr_assert_lt(now_s() - t0, 1.0);
}

Test(tls, a_tls_client_on_a_plain_port_fails_cleanly)
{
    mc_start(&srv, NULL);
    double t0 = now_s();
    int rc = round_trip(tls_opts(srv.name, "ca.crt", NULL), NULL);
    cr_assert(rc == MCRING_ETLS || rc == MCRING_ECLOSED, "%s",
              mcring_err_name(rc));
    cr_assert_lt(now_s() - t0, 1.0);
}

Test(tls, client_certificates)
{
    start_tls("server", true);
    cr_assert_eq(round_trip(tls_opts(srv.name, "ca.crt", "client"), NULL),
                 MCRING_OK);
    int rc = round_trip(tls_opts(srv.name, "ca.crt", NULL), NULL);
    cr_assert(rc == MCRING_ETLS || rc == MCRING_ECLOSED,
              "without a client certificate: %s", mcring_err_name(rc));
}

Test(tls, unusable_files_are_refused_when_the_client_is_made)
{
    mcring_options *o = opts_for("127.0.0.1:1", "tls_enabled", "true",
                                 "tls_cafile", "/nonexistent/ca.pem", NULL);
    mcring_client *c;
    char err[256] = "";
    cr_assert_eq(mcring_client_new(&c, o, err, sizeof(err)), MCRING_ETLS);
    cr_assert(strstr(err, "/nonexistent/ca.pem") != NULL, "%s", err);
    char ca[128], key[128];
    snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
    snprintf(key, sizeof(key), "%s/server.key", dir);
    cr_assert_eq(mcring_options_set(o, "tls_cafile", ca, NULL, 0), 0);
    cr_assert_eq(mcring_options_set(o, "tls_certfile", ca, NULL, 0), 0);
    cr_assert_eq(mcring_options_set(o, "tls_keyfile", key, NULL, 0), 0);
    cr_assert_eq(mcring_client_new(&c, o, err, sizeof(err)), MCRING_ETLS,
                 "a key that does not match the certificate");
    cr_assert(strstr(err, "private key") != NULL, "%s", err);
    mcring_options_free(o);
}

Test(tls, a_server_gone_mid_connection_never_raises_sigpipe)
{
    /* The default action of SIGPIPE ends the process: writing to a TLS
     * connection whose server went away must fail with an error instead. */
    signal(SIGPIPE, SIG_DFL);
    start_tls("server", false);
    mcring_options *o = tls_opts(srv.name, "ca.crt", NULL);
    mcring_client *c = client_for(o);
    cr_assert_eq(mcring_set(c, "k", 1, "v", 1, 0, 0), MCRING_OK);
    mc_kill(&srv);
    size_t n = 256 * 1024;
    char *v = calloc(1, n);
    for (int i = 0; i < 5; i++)
        cr_assert_lt(mcring_set(c, "k", 1, v, n, 0, 0), 0, "a dead server");
    free(v);
    mcring_client_free(c);
    mcring_options_free(o);
}

/* Plain text and TLS, many requests in flight on one connection from
 * many threads: the reader and writer share the connection's TLS object
 * under its lock. */
typedef struct tls_worker {
    mcring_client *c;
    int id, bad;
} tls_worker;

static void *tls_hammer(void *p)
{
    tls_worker *w = p;
    mcring_item it = MCRING_ITEM_INIT;
    for (int i = 0; i < 300; i++) {
        char k[32], v[64];
        int kl = snprintf(k, sizeof(k), "t%d-%d", w->id, i % 7);
        int vl = snprintf(v, sizeof(v), "value %d of %d", i, w->id);
        if (mcring_set(w->c, k, (size_t)kl, v, (size_t)vl, 0, 0) != MCRING_OK ||
            mcring_get(w->c, k, (size_t)kl, &it) != MCRING_OK ||
            it.len != (size_t)vl || memcmp(it.data, v, (size_t)vl) != 0)
            w->bad++;
    }
    mcring_item_release(&it);
    return NULL;
}

Test(tls, many_threads_on_one_tls_connection)
{
    start_tls("server", false);
    mcring_options *o = tls_opts(srv.name, "ca.crt", NULL);
    cr_assert_eq(mcring_options_set(o, "memcache_max_connections", "1", NULL,
                                    0),
                 0);
    mcring_client *c = client_for(o);
    enum { T = 8 };
    tls_worker w[T];
    pthread_t t[T];
    for (int i = 0; i < T; i++) {
        w[i] = (tls_worker){c, i, 0};
        pthread_create(&t[i], NULL, tls_hammer, &w[i]);
    }
    for (int i = 0; i < T; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(w[i].bad, 0, "thread %d", i);
    }
    mcring_server_stats st;
    mcring_client_server_stats(c, &st, 1);
    cr_assert_eq(st.connects, 1);
    cr_assert_eq(st.errors, 0);
    mcring_client_free(c);
    mcring_options_free(o);
}

/* The non-blocking API over TLS: the handshake and every read and write
 * step without waiting, driven by the epoll adapter. */
typedef struct tls_async_rec {
    int calls, rc;
    char value[32];
} tls_async_rec;

static void tls_async_set(mcring_async *a, int rc, void *ud)
{
    (void)a;
    tls_async_rec *r = ud;
    r->calls++;
    r->rc = rc;
}

static void tls_async_get(mcring_async *a, int rc, const mcring_item *it,
                          void *ud)
{
    (void)a;
    tls_async_rec *r = ud;
    r->calls++;
    r->rc = rc;
    if (it != NULL)
        snprintf(r->value, sizeof(r->value), "%.*s", (int)it->len, it->data);
}

Test(tls, the_async_api_over_tls)
{
    start_tls("server", false);
    mcring_options *o = tls_opts(srv.name, "ca.crt", NULL);
    mcring_client *c = client_for(o);
    mcring_epoll loop;
    cr_assert_eq(mcring_epoll_init(&loop), 0);
    mcring_async *a;
    cr_assert_eq(mcring_async_new_epoll(&a, c, &loop), 0);
    enum { N = 300 };
    static tls_async_rec sets[N], gets[N];
    for (int i = 0; i < N; i++) {
        char k[16], v[16];
        int kl = snprintf(k, sizeof(k), "t%d", i),
            vl = snprintf(v, sizeof(v), "v%d", i);
        cr_assert_eq(mcring_async_set(a, k, (size_t)kl, v, (size_t)vl, 0, 0,
                                      tls_async_set, &sets[i]),
                     0);
    }
    for (int i = 0; i < N; i++) {
        char k[16];
        int kl = snprintf(k, sizeof(k), "t%d", i);
        cr_assert_eq(mcring_async_get(a, k, (size_t)kl, tls_async_get,
                                      &gets[i]),
                     0);
    }
    double end = now_s() + 10;
    while (mcring_async_pending(a) > 0 && now_s() < end)
        mcring_epoll_run_once(&loop, 10);
    for (int i = 0; i < N; i++) {
        char want[16];
        snprintf(want, sizeof(want), "v%d", i);
        cr_assert_eq(sets[i].calls, 1);
        cr_assert_eq(sets[i].rc, MCRING_OK, "%s", mcring_err_name(sets[i].rc));
        cr_assert_eq(gets[i].rc, MCRING_OK);
        cr_assert_str_eq(gets[i].value, want);
    }
    /* A wrong CA fails the handshake, without waiting, for every request. */
    mcring_options *bad = tls_opts(srv.name, "wrongca.crt", NULL);
    mcring_client *bc = client_for(bad);
    mcring_async *ba;
    cr_assert_eq(mcring_async_new_epoll(&ba, bc, &loop), 0);
    tls_async_rec refused = {0};
    mcring_async_get(ba, "t1", 2, tls_async_get, &refused);
    end = now_s() + 10;
    while (mcring_async_pending(ba) > 0 && now_s() < end)
        mcring_epoll_run_once(&loop, 10);
    cr_assert_eq(refused.calls, 1);
    cr_assert_eq(refused.rc, MCRING_ECERT, "%s", mcring_err_name(refused.rc));
    mcring_async_free(ba);
    mcring_async_free(a);
    mcring_epoll_close(&loop);
    mcring_client_free(bc);
    mcring_options_free(bad);
    mcring_client_free(c);
    mcring_options_free(o);
}
