/* Metrics against real servers: attempts, outcomes and latency per server
 * and op (mcring_client_op_stats), the trace hook once per attempt,
 * failover included, and the Prometheus text, read back by Python's
 * prometheus_client parser (tests/support/prometheus_check.py). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static mc_server srv[3];
static int started;

static void stop_all(void)
{
    for (int i = 0; i < started; i++)
        mc_stop(&srv[i]);
}

static void start(int n)
{
    for (int i = 0; i < n; i++)
        mc_start(&srv[i], NULL);
    started = n;
}

TestSuite(metrics, .fini = stop_all, .timeout = 120);

/* The stats of (server, op), or an all-zero entry. */
static mcring_op_stats stats_of(mcring_client *c, const char *server,
                                mcring_op op)
{
    mcring_op_stats st[64], none;
    size_t n = mcring_client_op_stats(c, st, 64);
    cr_assert_leq(n, 64);
    for (size_t i = 0; i < n; i++)
        if (st[i].op == op && strcmp(st[i].server, server) == 0)
            return st[i];
    memset(&none, 0, sizeof(none));
    return none;
}

static void check_quantiles(const mcring_op_stats *s)
{
    cr_assert_gt(s->p50, 0, "%s", mcring_op_name(s->op));
    cr_assert_leq(s->p50, s->p90);
    cr_assert_leq(s->p90, s->p99);
    cr_assert_leq(s->p99, s->p999);
    cr_assert_lt(s->p50, 1.0, "loopback answers in well under a second");
    cr_assert_gt(s->seconds, 0);
    cr_assert_leq(s->seconds, (double)s->attempts * 2.0);
}

Test(metrics, every_op_is_counted_on_its_server)
{
    start(1);
    mcring_options *o = opts_for(srv[0].name, NULL);
    mcring_client *c = client_for(o);
    mcring_item it = MCRING_ITEM_INIT;
    char key[16];
    for (int i = 0; i < 10; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        cr_assert_eq(mcring_set(c, key, strlen(key), "v", 1, 0, 0), MCRING_OK);
        cr_assert_eq(mcring_get(c, key, strlen(key), &it), MCRING_OK);
    }
    for (int i = 0; i < 5; i++) {
        snprintf(key, sizeof(key), "absent%d", i);
        cr_assert_eq(mcring_get(c, key, strlen(key), &it), MCRING_MISS);
    }
    for (int i = 0; i < 3; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        cr_assert_eq(mcring_delete(c, key, strlen(key), NULL, 0), MCRING_OK);
    }
    uint64_t n;
    for (int i = 0; i < 4; i++)
        cr_assert_eq(mcring_incr(c, "n", 1, 2, 0, &n), MCRING_OK);
    cr_assert_eq(mcring_decr(c, "n", 1, 1, 0, &n), MCRING_OK);
    cr_assert_eq(mcring_decr(c, "n", 1, 1, 0, &n), MCRING_OK);
    cr_assert_eq(mcring_decr(c, "n", 1, -1, 0, &n), MCRING_OK, "sends incr");
    mcring_kv kvs[6];
    mcring_key keys[8];
    char names[8][8];
    for (int i = 0; i < 8; i++) {
        snprintf(names[i], sizeof(names[i]), "m%d", i);
        keys[i] = (mcring_key){names[i], strlen(names[i])};
        if (i < 6)
            kvs[i] = (mcring_kv){names[i], strlen(names[i]), "x", 1, 0};
    }
    cr_assert_eq(mcring_set_multi(c, kvs, 6, NULL, 0, 0, NULL), 0);
    mcring_item items[8] = {0};
    int status[8];
    cr_assert_eq(mcring_get_multi(c, keys, 8, NULL, 0, items, status), 0);

    const char *s = srv[0].name;
    mcring_op_stats get = stats_of(c, s, MCRING_OP_GET);
    cr_assert_eq(get.attempts, 15);
    cr_assert_eq(get.hits, 10);
    cr_assert_eq(get.misses, 5);
    cr_assert_eq(get.failures, 0);
    check_quantiles(&get);
    cr_assert_eq(stats_of(c, s, MCRING_OP_SET).attempts, 10);
    cr_assert_eq(stats_of(c, s, MCRING_OP_DELETE).attempts, 3);
    cr_assert_eq(stats_of(c, s, MCRING_OP_INCR).attempts, 5);
    cr_assert_eq(stats_of(c, s, MCRING_OP_DECR).attempts, 2);
    mcring_op_stats gm = stats_of(c, s, MCRING_OP_GET_MULTI);
    cr_assert_eq(gm.attempts, 1, "one server, one request");
    cr_assert_eq(gm.hits, 6);
    cr_assert_eq(gm.misses, 2);
    check_quantiles(&gm);
    cr_assert_eq(stats_of(c, s, MCRING_OP_SET_MULTI).attempts, 1);
    cr_assert_eq(stats_of(c, s, MCRING_OP_SET).hits, 0, "gets only");
    /* Only pairs with attempts are listed. */
    cr_assert_eq(mcring_client_op_stats(c, NULL, 0), 7);
    mcring_op_stats one;
    cr_assert_eq(mcring_client_op_stats(c, &one, 1), 7, "the count, always");
    cr_assert_eq(one.op, MCRING_OP_GET);

    for (int i = 0; i < 8; i++)
        mcring_item_release(&items[i]);
    mcring_item_release(&it);
    mcring_client_free(c);
    mcring_options_free(o);
}

/* ---- the trace hook ------------------------------------------------------ */

typedef struct event {
    mcring_op op;
    char server[64];
    size_t key_len, keys;
    int result;
    uint64_t ns;
    unsigned attempt;
} event;

typedef struct trace_log {
    pthread_mutex_t lock;
    event ev[256];
    int n;
} trace_log;

static void on_trace(void *ud, const mcring_trace_event *e)
{
    trace_log *t = ud;
    pthread_mutex_lock(&t->lock);
    if (t->n < 256) {
        event *x = &t->ev[t->n++];
        x->op = e->op;
        snprintf(x->server, sizeof(x->server), "%s", e->server);
        x->key_len = e->key_len;
        x->keys = e->keys;
        x->result = e->result;
        x->ns = e->duration_ns;
        x->attempt = e->attempt;
    }
    pthread_mutex_unlock(&t->lock);
}

static uint64_t all_attempts(mcring_client *c)
{
    mcring_op_stats st[64];
    size_t n = mcring_client_op_stats(c, st, 64);
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += st[i].attempts;
    return total;
}

Test(metrics, the_trace_hook_sees_each_attempt_once_failover_included)
{
    start(3);
    char list[256], key[32];
    static trace_log t = {PTHREAD_MUTEX_INITIALIZER, {{0}}, 0};
    /* The second error bans a server. */
    mcring_options *o = opts_for(names_of(list, sizeof(list), srv, 3),
                                 "error_suppression_limit", "1", NULL);
    mcring_options_set_trace(o, on_trace, &t);
    mcring_client *c = client_for(o);
    mcring_item it = MCRING_ITEM_INIT;
    key_on(c, srv[0].name, srv[1].name, key, sizeof(key));
    size_t klen = strlen(key);

    cr_assert_eq(mcring_set(c, key, klen, "v", 1, 0, 0), MCRING_OK);
    cr_assert_eq(t.n, 1);
    cr_assert_eq(t.ev[0].op, MCRING_OP_SET);
    cr_assert_str_eq(t.ev[0].server, srv[0].name);
    cr_assert_eq(t.ev[0].key_len, klen, "the caller's key, not the wire's");
    cr_assert_eq(t.ev[0].keys, 1);
    cr_assert_eq(t.ev[0].result, MCRING_OK);
    cr_assert_eq(t.ev[0].attempt, 1);
    cr_assert_gt(t.ev[0].ns, 0);

    mc_kill(&srv[0]);
    /* The dead server, then the next: two attempts, numbered. */
    cr_assert_eq(mcring_get(c, key, klen, &it), MCRING_MISS);
    cr_assert_eq(t.n, 3);
    cr_assert_str_eq(t.ev[1].server, srv[0].name);
    cr_assert_lt(t.ev[1].result, 0, "a failure");
    cr_assert_eq(t.ev[1].attempt, 1);
    cr_assert_str_eq(t.ev[2].server, srv[1].name);
    cr_assert_eq(t.ev[2].result, MCRING_MISS);
    cr_assert_eq(t.ev[2].attempt, 2);
    /* The second error bans it: then it is skipped, not attempted. */
    cr_assert_eq(mcring_get(c, key, klen, &it), MCRING_MISS);
    cr_assert_eq(t.n, 5);
    cr_assert_eq(mcring_get(c, key, klen, &it), MCRING_MISS);
    cr_assert_eq(t.n, 6, "a banned server is no attempt");
    cr_assert_str_eq(t.ev[5].server, srv[1].name);
    cr_assert_eq(t.ev[5].attempt, 1);

    /* The histograms saw the same attempts. */
    cr_assert_eq(all_attempts(c), (uint64_t)t.n);
    mcring_op_stats dead = stats_of(c, srv[0].name, MCRING_OP_GET);
    cr_assert_eq(dead.attempts, 2);
    cr_assert_eq(dead.failures, 2);

    mcring_item_release(&it);
    mcring_client_free(c);
    mcring_options_free(o);
}

Test(metrics, a_multi_key_call_traces_one_attempt_per_server_and_round)
{
    start(3);
    char list[256];
    static trace_log t = {PTHREAD_MUTEX_INITIALIZER, {{0}}, 0};
    mcring_options *o = opts_for(names_of(list, sizeof(list), srv, 3),
                                 "error_suppression_interval", "0", NULL);
    mcring_options_set_trace(o, on_trace, &t);
    mcring_client *c = client_for(o);
    enum { N = 30 };
    mcring_key keys[N];
    char names[N][8];
    size_t total_len = 0;
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof(names[i]), "key%d", i);
        keys[i] = (mcring_key){names[i], strlen(names[i])};
        total_len += keys[i].len;
    }
    mc_kill(&srv[0]);
    mcring_item items[N] = {0};
    int status[N];
    cr_assert_eq(mcring_get_multi(c, keys, N, NULL, 0, items, status), 0,
                 "every key answered by its next server");

    /* Round 1: one attempt per server; the dead one's keys go on in
     * round 2, to the others. */
    size_t round1_keys = 0, round1_len = 0, moved = 0;
    int round1 = 0, round2 = 0;
    for (int i = 0; i < t.n; i++) {
        cr_assert_eq(t.ev[i].op, MCRING_OP_GET_MULTI);
        if (t.ev[i].attempt == 1) {
            round1++;
            round1_keys += t.ev[i].keys;
            round1_len += t.ev[i].key_len;
            if (strcmp(t.ev[i].server, srv[0].name) == 0) {
                cr_assert_lt(t.ev[i].result, 0);
                moved = t.ev[i].keys;
            } else {
                cr_assert_eq(t.ev[i].result, MCRING_OK);
            }
        } else {
            cr_assert_eq(t.ev[i].attempt, 2);
            cr_assert_str_neq(t.ev[i].server, srv[0].name);
            round2++;
        }
    }
    cr_assert_eq(round1, 3, "three servers hold keys");
    cr_assert_eq(round1_keys, N);
    cr_assert_eq(round1_len, total_len);
    cr_assert_gt(moved, 0);
    cr_assert_geq(round2, 1);
    cr_assert_eq(all_attempts(c), (uint64_t)t.n);
    uint64_t misses = 0;
    for (int s = 0; s < 3; s++)
        misses += stats_of(c, srv[s].name, MCRING_OP_GET_MULTI).misses;
    cr_assert_eq(misses, N, "each key counted once, where it was answered");
    for (int i = 0; i < N; i++)
        mcring_item_release(&items[i]);
    mcring_client_free(c);
    mcring_options_free(o);
}

Test(metrics, histograms_off_and_trace_on)
{
    start(1);
    static trace_log t = {PTHREAD_MUTEX_INITIALIZER, {{0}}, 0};
    mcring_options *o = opts_for(srv[0].name, "latency_histograms", "false",
                                 NULL);
    mcring_options_set_trace(o, on_trace, &t);
    mcring_client *c = client_for(o);
    cr_assert_eq(mcring_set(c, "a", 1, "v", 1, 0, 0), MCRING_OK);
    cr_assert_eq(t.n, 1, "traced");
    cr_assert_eq(mcring_client_op_stats(c, NULL, 0), 0, "not recorded");
    char buf[65536];
    mcring_client_write_prometheus(c, buf, sizeof(buf));
    cr_assert_null(strstr(buf, "mcring_attempt_duration_seconds_bucket"));
    cr_assert_not_null(strstr(buf, "mcring_server_requests_total"));
    mcring_client_free(c);
    /* Neither: nothing at all. */
    mcring_options_set_trace(o, NULL, NULL);
    c = client_for(o);
    cr_assert_eq(mcring_set(c, "a", 1, "v", 1, 0, 0), MCRING_OK);
    cr_assert_eq(t.n, 1);
    cr_assert_eq(mcring_client_op_stats(c, NULL, 0), 0);
    mcring_client_free(c);
    mcring_options_free(o);
}

Test(metrics, a_server_given_a_new_pool_keeps_its_figures)
{
    start(1);
    mcring_options *o = opts_for(srv[0].name, NULL);
    mcring_client *c = client_for(o);
    mcring_item it = MCRING_ITEM_INIT;
    for (int i = 0; i < 5; i++)
        mcring_get(c, "a", 1, &it);
    cr_assert_eq(mcring_options_set(o, "memcache_max_connections", "5", NULL,
                                    0),
                 0);
    cr_assert_eq(mcring_client_reconfigure(c, o, NULL, 0), 0);
    for (int i = 0; i < 5; i++)
        mcring_get(c, "a", 1, &it);
    cr_assert_eq(stats_of(c, srv[0].name, MCRING_OP_GET).attempts, 10);
    mcring_item_release(&it);
    mcring_client_free(c);
    mcring_options_free(o);
}

/* ---- Prometheus --------------------------------------------------------- */

/* The exposition checked by tests/support/prometheus_check.py; returns
 * its sample lines (free them). */
static char *parsed(const char *text)
{
    char script[512];
    snprintf(script, sizeof(script), "%s/support/prometheus_check.py",
             env_path("MCRING_TEST_SOURCE"));
    char *argv[] = {(char *)env_path("MCRING_TEST_PYTHON"), script, NULL};
    char *out;
    size_t len;
    int rc = run_capture(argv, text, strlen(text), &out, &len);
    cr_assert_eq(rc, 0, "prometheus_client refused the text (is "
                        "python3-prometheus-client installed?)");
    return out;
}

static char *exposition(mcring_client *c)
{
    size_t need = mcring_client_write_prometheus(c, NULL, 0);
    char *buf = malloc(need + 4096);
    size_t n = mcring_client_write_prometheus(c, buf, need + 4096);
    cr_assert_lt(n, need + 4096);
    cr_assert_eq(strlen(buf), n);
    return buf;
}

Test(metrics, the_exposition_parses_and_agrees_with_the_stats)
{
    start(2);
    char list[256];
    mcring_options *o = opts_for(names_of(list, sizeof(list), srv, 2),
                                 "compression", "zstd", NULL);
    mcring_client *c = client_for(o);
    mcring_item it = MCRING_ITEM_INIT;
    char big[4000];
    memset(big, 'a', sizeof(big));
    for (int i = 0; i < 40; i++) {
        char key[16];
        snprintf(key, sizeof(key), "p%d", i);
        mcring_set(c, key, strlen(key), big, sizeof(big), 0, 0);
        mcring_get(c, key, strlen(key), &it);
        mcring_get(c, "nothing", 7, &it);
    }
    char *text = exposition(c);
    char *samples = parsed(text);

    /* Every (server, op) with attempts has its histogram, and the counts
     * agree with mcring_client_op_stats. */
    mcring_op_stats st[32];
    size_t n = mcring_client_op_stats(c, st, 32);
    cr_assert_geq(n, 3);
    for (size_t i = 0; i < n; i++) {
        char want[1024];
        snprintf(want, sizeof(want),
                 "mcring_attempt_duration_seconds_count{op=%s,server=%.320s} "
                 "%llu.0\n",
                 mcring_op_name(st[i].op), st[i].server,
                 (unsigned long long)st[i].attempts);
        cr_assert_not_null(strstr(samples, want), "%s in\n%s", want, samples);
        if (st[i].op == MCRING_OP_GET) {
            snprintf(want, sizeof(want),
                     "mcring_key_hits_total{op=get,server=%.320s} %llu.0\n",
                     st[i].server, (unsigned long long)st[i].hits);
            cr_assert_not_null(strstr(samples, want), "%s", want);
        }
    }
    cr_assert_not_null(
        strstr(samples, "mcring_compressed_values_total{algorithm=zstd} 40.0"),
        "%s", samples);
    cr_assert_not_null(strstr(samples,
                              "mcring_decompressed_values_total{algorithm="
                              "zstd} 40.0"));
    cr_assert_not_null(strstr(samples, "mcring_servers{} 2.0"));
    char ver[64];
    snprintf(ver, sizeof(ver), "mcring_build_info{version=%s} 1.0",
             mcring_version());
    cr_assert_not_null(strstr(samples, ver));
    free(samples);

    /* Cut short like snprintf: the length of the whole, a prefix of it
     * NUL-terminated. */
    size_t whole = strlen(text);
    char small[100];
    cr_assert_geq(mcring_client_write_prometheus(c, small, sizeof(small)),
                  whole);
    cr_assert_eq(strlen(small), sizeof(small) - 1);
    cr_assert(strncmp(small, text, sizeof(small) - 1) == 0);
    cr_assert_eq(mcring_client_write_prometheus(NULL, small, sizeof(small)),
                 0);
    cr_assert_eq(small[0], '\0');
    free(text);
    mcring_item_release(&it);
    mcring_client_free(c);
    mcring_options_free(o);
}

Test(metrics, label_values_are_escaped)
{
    /* A Unix socket path may hold a quote or a backslash. */
    static const char path[] = "/tmp/mcring-\"q\\uote\"-metrics.sock";
    unlink(path);
    mc_start_unix(&srv[0], path);
    started = 1;
    mcring_options *o = opts_for(path, NULL);
    mcring_client *c = client_for(o);
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_get(c, "a", 1, &it), MCRING_MISS);
    char *text = exposition(c);
    cr_assert_not_null(strstr(text, "server=\"/tmp/mcring-\\\"q\\\\uote\\\""
                                    "-metrics.sock\""),
                       "%s", text);
    char *samples = parsed(text);
    cr_assert_not_null(strstr(samples, "op=get,server=/tmp/mcring-\"q\\uote"
                                       "\"-metrics.sock} 1.0"),
                       "%s", samples);
    free(samples);
    free(text);
    mcring_item_release(&it);
    mcring_client_free(c);
    mcring_options_free(o);
    mc_stop(&srv[0]);
    started = 0;
    unlink(path);
}
