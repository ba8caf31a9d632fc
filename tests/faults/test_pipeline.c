/*
 * Faults that matter only when requests are in flight together on one
 * connection: three threads' gets are pipelined on the one connection to a
 * scripted server, which holds its replies until all three arrived and then
 * answers the second with another key's value, sends one reply too many,
 * hangs up after the first reply, or stalls the first reply past the io
 * timeout while the others are ready. Every request on the broken
 * connection fails, is counted against the server once, and fails over to
 * a real memcached that has the right values: every thread ends with its
 * own value, never another's. (Pipelined runs only: with one request per
 * connection these cases cannot arise.)
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake.h"
#include "harness.h"
#include "hash.h"

#define THREADS 3

typedef enum fault {
    F_NONE,
    F_OTHER_KEY,   /* the second get answered with another key's VALUE */
    F_EXTRA,       /* one reply too many after the first */
    F_CLOSE_FIRST, /* the connection closed after the first reply */
    F_STALL_FIRST, /* the first reply late, the others ready behind it */
} fault;

typedef struct held {
    fault fault;
    int stall_ms;
    pthread_mutex_t lock;
    char lines[64][128];
    int nlines, gets;
    bool answered; /* the held batch went out: answer the rest at once */
} held;

static size_t value_reply(char *out, size_t cap, const char *key, size_t kl)
{
    return (size_t)snprintf(out, cap, "VALUE %.*s 0 %zu\r\nv:%.*s\r\nEND\r\n",
                            (int)kl, key, kl + 2, (int)kl, key);
}

/* Everything held, in wire order, with the fault. Returns false when the
 * connection must close. */
static bool answer_batch(held *h, int fd)
{
    static char out[16384];
    size_t n = 0;
    int get = 0;
    bool close_now = false;
    for (int i = 0; i < h->nlines && !close_now; i++) {
        const char *l = h->lines[i];
        if (strcmp(l, "mn") == 0) {
            n += (size_t)snprintf(out + n, sizeof(out) - n, "MN\r\n");
            continue;
        }
        if (strncmp(l, "get ", 4) != 0) {
            n += (size_t)snprintf(out + n, sizeof(out) - n, "ERROR\r\n");
            continue;
        }
        get++;
        const char *key = l + 4;
        if (h->fault == F_OTHER_KEY && get == 2)
            key = "someone-else";
        n += value_reply(out + n, sizeof(out) - n, key, strlen(key));
        if (h->fault == F_EXTRA && get == 1)
            n += (size_t)snprintf(out + n, sizeof(out) - n, "END\r\n");
        if (h->fault == F_CLOSE_FIRST && get == 1)
            close_now = true;
    }
    if (h->fault == F_STALL_FIRST)
        usleep((useconds_t)h->stall_ms * 1000);
    fake_write(fd, out, n);
    return !close_now;
}

static fake_action holding(int fd, const char *line, size_t len, void *ud)
{
    held *h = ud;
    pthread_mutex_lock(&h->lock);
    fake_action act = FAKE_KEEP;
    if (h->answered) {
        /* After the batch: plain answers (fences, late requests). */
        char out[512];
        if (len == 2 && memcmp(line, "mn", 2) == 0)
            fake_puts(fd, "MN\r\n");
        else if (len > 4 && memcmp(line, "get ", 4) == 0) {
            value_reply(out, sizeof(out), line + 4, len - 4);
            fake_puts(fd, out);
        } else
            fake_puts(fd, "ERROR\r\n");
    } else {
        snprintf(h->lines[h->nlines++], sizeof(h->lines[0]), "%.*s",
                 (int)len, line);
        if (len > 4 && memcmp(line, "get ", 4) == 0 && ++h->gets == THREADS) {
            h->answered = true;
            if (!answer_batch(h, fd))
                act = FAKE_CLOSE;
        }
    }
    pthread_mutex_unlock(&h->lock);
    return act;
}

/* ---- the run -------------------------------------------------------------*/

typedef struct caller {
    mcring_client *c;
    char key[64];
    int rc;
    char got[64];
    double took;
} caller;

static void *call(void *p)
{
    caller *a = p;
    mcring_item it = MCRING_ITEM_INIT;
    double t0 = now_s();
    a->rc = mcring_get(a->c, a->key, strlen(a->key), &it);
    a->took = now_s() - t0;
    snprintf(a->got, sizeof(a->got), "%s", a->rc == MCRING_OK ? it.data : "");
    mcring_item_release(&it);
    return NULL;
}

static mc_server real;

/* The value the fake answers for key: "v:" and the wire key (Swift key
 * mode: its hex MD5); the real server is given the same for failover. */
static void expected(const char *key, char *out, size_t cap)
{
    unsigned char d[MD5_LEN];
    char hex[MD5_HEX_LEN + 1];
    hash_md5(key, strlen(key), d);
    hash_hex(d, hex);
    hex[MD5_HEX_LEN] = '\0';
    snprintf(out, cap, "v:%s", hex);
}

static void run(fault ft, int expect_fake_errors, double *took_max)
{
    held h = {.fault = ft, .stall_ms = 1500};
    pthread_mutex_init(&h.lock, NULL);
    fake_server *f = fake_start(holding, &h);
    fake_set_raw_fences(f, true);
    mc_start(&real, NULL);
    char servers[160];
    snprintf(servers, sizeof(servers), "%s,%s", fake_name(f), real.name);
    /* One connection to each server, two tries, no bans. */
    mcring_options *o = opts_for(servers, "memcache_max_connections", "1",
                                 "tries", "2", "io_timeout", "1",
                                 "error_suppression_interval", "0", NULL);
    mcring_client *c = client_for(o);
    /* The real server holds what the fake would answer, for failover. */
    mcring_options *ro = opts_for(real.name, NULL);
    mcring_client *rc = client_for(ro);
    caller a[THREADS];
    mcring_ring *ring = mcring_client_ring_ref(c);
    for (int i = 0, n = 0; i < THREADS; n++) {
        /* Distinct keys whose first server is the fake. */
        a[i] = (caller){.c = c};
        snprintf(a[i].key, sizeof(a[i].key), "key-%d", n);
        size_t order[2];
        mcring_ring_locate(ring, a[i].key, strlen(a[i].key), order, 2);
        if (strcmp(mcring_ring_server(ring, order[0]), fake_name(f)) != 0)
            continue;
        char v[80];
        expected(a[i].key, v, sizeof(v));
        i++;
        cr_assert_eq(mcring_set(rc, a[i - 1].key, strlen(a[i - 1].key), v,
                                strlen(v), 0, 0),
                     MCRING_OK);
    }
    mcring_ring_free(ring);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, call, &a[i]);
    *took_max = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        char want[80];
        expected(a[i].key, want, sizeof(want));
        cr_assert_eq(a[i].rc, MCRING_OK, "caller %d: %s", i,
                     mcring_err_name(a[i].rc));
        cr_assert_str_eq(a[i].got, want, "caller %d got another's value", i);
        if (a[i].took > *took_max)
            *took_max = a[i].took;
    }
    mcring_server_stats st[2];
    mcring_client_server_stats(c, st, 2);
    int fi = strcmp(st[0].name, fake_name(f)) == 0 ? 0 : 1;
    cr_assert_eq(st[fi].errors, (uint64_t)expect_fake_errors,
                 "the fake's failures counted: %llu",
                 (unsigned long long)st[fi].errors);
    cr_assert_eq(st[1 - fi].errors, 0);
    cr_assert_leq(st[fi].conns_open, 1);
    mcring_client_free(rc);
    mcring_options_free(ro);
    mcring_client_free(c);
    mcring_options_free(o);
    fake_stop(f);
    mc_stop(&real);
    pthread_mutex_destroy(&h.lock);
}

static void only_pipelined(void)
{
    if (!test_pipelining())
        cr_skip_test("requests are never in flight together without "
                     "pipelining");
}

TestSuite(pipeline, .init = only_pipelined, .timeout = 60);

Test(pipeline, three_requests_in_flight_are_each_answered)
{
    double took;
    run(F_NONE, 0, &took);
}

Test(pipeline, another_keys_value_for_the_second_fails_them_over)
{
    double took;
    run(F_OTHER_KEY, 1, &took);
}

Test(pipeline, one_reply_too_many_fails_them_over)
{
    double took;
    run(F_EXTRA, 1, &took);
}

Test(pipeline, a_hang_up_after_the_first_reply_fails_the_rest_over)
{
    double took;
    run(F_CLOSE_FIRST, 1, &took);
}

Test(pipeline, a_stalled_first_reply_times_out_every_request_behind_it)
{
    double took;
    run(F_STALL_FIRST, 1, &took);
    cr_assert(took > 0.9 && took < 1.8, "each waited its io timeout: %f",
              took);
}
