/* The meta protocol against real servers: the five original operations and
 * their multi-key forms as mg/ms/md/ma (quiet batches), base64 keys in raw
 * key mode, the flags mcring asks for (t, c, k, f, N, R, W, X, Z, I, M, D,
 * J, q), leases, invalidation to stale, and versioned writes on a server
 * too old for them. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static mc_fleet fleet;
static mcring_options *meta_opts;
static mcring_client *meta;

static void setup(void)
{
    fleet_start(&fleet, 2);
    meta_opts = opts_for(fleet.names, "protocol", "meta", NULL);
    meta = client_for(meta_opts);
}

static void teardown(void)
{
    mcring_client_free(meta);
    mcring_options_free(meta_opts);
    fleet_stop(&fleet);
}

TestSuite(meta, .init = setup, .fini = teardown, .timeout = 60);

Test(meta, the_original_operations)
{
    mcring_item it = MCRING_ITEM_INIT;
    const char value[] = "bin\0ary\r\nEND\r\nVA 3\r\n";
    cr_assert_eq(mcring_set(meta, "k", 1, value, sizeof(value), 0xfffffffe, 0),
                 MCRING_OK);
    cr_assert_eq(mcring_get(meta, "k", 1, &it), MCRING_OK);
    cr_assert_eq(it.len, sizeof(value));
    cr_assert(memcmp(it.data, value, sizeof(value)) == 0);
    cr_assert_eq(it.flags, 0xfffffffe);
    /* What text mode wrote, meta reads, and the reverse. */
    cr_assert_eq(mcring_get(fleet.client, "k", 1, &it), MCRING_OK);
    cr_assert_eq(it.len, sizeof(value));
    cr_assert_eq(mcring_set(fleet.client, "t", 1, "text", 4, 1 << 1, 0),
                 MCRING_OK);
    cr_assert_eq(mcring_get(meta, "t", 1, &it), MCRING_OK);
    cr_assert_eq(it.flags, 2);
    cr_assert_eq(mcring_get(meta, "none", 4, &it), MCRING_MISS);
    cr_assert_eq(it.len, 0);
    /* Swift's pickle flag: found, undecodable, as in text mode. */
    cr_assert_eq(mcring_set(meta, "p", 1, "x", 1, MCRING_FLAG_PICKLE, 0), 0);
    cr_assert_eq(mcring_get(meta, "p", 1, &it), MCRING_UNDECODABLE);
    cr_assert_eq(mcring_delete(meta, "k", 1, NULL, 0), MCRING_OK);
    cr_assert_eq(mcring_delete(meta, "k", 1, NULL, 0), MCRING_MISS);
    cr_assert_eq(mcring_get(fleet.client, "k", 1, &it), MCRING_MISS);
    mcring_item_release(&it);
}

Test(meta, counters_as_swift_counts)
{
    uint64_t v = 99;
    cr_assert_eq(mcring_incr(meta, "n", 1, 5, 60, &v), MCRING_OK);
    cr_assert_eq(v, 5, "created holding the delta");
    cr_assert_eq(mcring_incr(meta, "n", 1, 10, 0, &v), MCRING_OK);
    cr_assert_eq(v, 15);
    cr_assert_eq(mcring_decr(meta, "n", 1, 20, 0, &v), MCRING_OK);
    cr_assert_eq(v, 0, "floored at 0");
    cr_assert_eq(mcring_decr(meta, "d", 1, 7, 0, &v), MCRING_OK);
    cr_assert_eq(v, 0, "decr creates 0");
    cr_assert_eq(mcring_incr(meta, "n", 1, -3, 0, &v), MCRING_OK);
    cr_assert_eq(v, 0);
    cr_assert_eq(mcring_incr(fleet.client, "n", 1, 4, 0, &v), MCRING_OK);
    cr_assert_eq(v, 4, "text mode counts on from meta's counter");
    cr_assert_eq(mcring_incr(meta, "n", 1, UINT64_C(1) << 62, 0, &v), 0);
    cr_assert_eq(mcring_set(meta, "word", 4, "abc", 3, 0, 0), MCRING_OK);
    cr_assert_eq(mcring_incr(meta, "word", 4, 1, 0, &v), MCRING_ENOTNUM);
    mcring_server_stats s[2];
    mcring_client_server_stats(meta, s, 2);
    cr_assert_eq(s[0].errors + s[1].errors, 0,
                 "a non-numeric value is not the server's failure");
}

Test(meta, multi_key_quiet_batches)
{
    enum { N = 40 };
    char names[N][16];
    mcring_key keys[N];
    mcring_kv kvs[N];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof(names[i]), "mk%d", i);
        keys[i] = (mcring_key){names[i], strlen(names[i])};
        kvs[i] = (mcring_kv){names[i], strlen(names[i]), names[i],
                             strlen(names[i]), 4 * (uint32_t)i};
    }
    int st[N];
    /* Every other key stored: the misses send nothing at all. */
    mcring_kv half[N / 2];
    for (int i = 0; i < N / 2; i++)
        half[i] = kvs[2 * i];
    cr_assert_eq(mcring_set_multi(meta, half, N / 2, NULL, 0, 0, st), 0);
    mcring_item items[N];
    for (int i = 0; i < N; i++)
        items[i] = (mcring_item)MCRING_ITEM_INIT;
    cr_assert_eq(mcring_get_multi(meta, keys, N, NULL, 0, items, st), 0);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(st[i], i % 2 ? MCRING_MISS : MCRING_OK, "%d", i);
        if (i % 2 == 0) {
            cr_assert_eq(items[i].len, strlen(names[i]));
            cr_assert(memcmp(items[i].data, names[i], items[i].len) == 0);
            cr_assert_eq(items[i].flags, 4 * (uint32_t)i);
        }
    }
    /* With a server key, and the same key twice in one batch. */
    mcring_key dup[3] = {keys[0], keys[1], keys[0]};
    cr_assert_eq(mcring_set_multi(meta, kvs, 2, "/a/c", 4, 0, st), 0);
    cr_assert_eq(mcring_get_multi(meta, dup, 3, "/a/c", 4, items, st), 0);
    cr_assert_eq(st[0], MCRING_OK);
    cr_assert_eq(st[1], MCRING_OK);
    cr_assert_eq(st[2], MCRING_OK);
    cr_assert_eq(items[2].len, 3);
    for (int i = 0; i < N; i++)
        mcring_item_release(&items[i]);
}

Test(meta, raw_keys_carry_any_bytes_in_base64)
{
    mcring_options *o = opts_for(fleet.names, "protocol", "meta", "key_mode",
                                 "raw", NULL);
    mcring_client *c = client_for(o);
    mcring_options *t = opts_for(fleet.names, "key_mode", "raw", NULL);
    mcring_client *text = client_for(t);
    const char binary[] = "a key\r\nwith\0bytes\x7f\xff";
    size_t bl = sizeof(binary);
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_set(c, binary, bl, "v", 1, 0, 0), MCRING_OK);
    cr_assert_eq(mcring_get(c, binary, bl, &it), MCRING_OK);
    cr_assert_eq(it.len, 1);
    cr_assert_eq(mcring_set(text, binary, bl, "v", 1, 0, 0), MCRING_EKEY,
                 "the text protocol cannot carry it");
    mcring_key keys[2] = {{binary, bl}, {"plain", 5}};
    mcring_item items[2] = {MCRING_ITEM_INIT, MCRING_ITEM_INIT};
    int st[2];
    cr_assert_eq(mcring_set(text, "plain", 5, "p", 1, 0, 0), MCRING_OK);
    cr_assert_eq(mcring_get_multi(c, keys, 2, NULL, 0, items, st), 0);
    cr_assert_eq(st[0], MCRING_OK);
    cr_assert_eq(st[1], MCRING_OK, "a plain raw key is the same item");
    uint64_t v;
    cr_assert_eq(mcring_incr(c, binary + 2, 3, 1, 0, &v), MCRING_OK);
    cr_assert_eq(mcring_delete(c, binary, bl, NULL, 0), MCRING_OK);
    cr_assert_eq(mcring_get(c, binary, bl, &it), MCRING_MISS);
    /* memcached takes key tokens of up to 250 characters, base64 or not:
     * 186 bytes of anything, 250 the text syntax can carry. */
    char big[251];
    memset(big, 0, sizeof(big));
    cr_assert_eq(mcring_set(c, big, 186, "v", 1, 0, 0), MCRING_OK);
    cr_assert_eq(mcring_set(c, big, 187, "v", 1, 0, 0), MCRING_EKEY);
    memset(big, 'k', sizeof(big));
    cr_assert_eq(mcring_set(c, big, 250, "v", 1, 0, 0), MCRING_OK);
    cr_assert_eq(mcring_set(c, big, 251, "v", 1, 0, 0), MCRING_EKEY);
    cr_assert_eq(mcring_set(c, "", 0, "v", 1, 0, 0), MCRING_EKEY);
    for (int i = 0; i < 2; i++)
        mcring_item_release(&items[i]);
    mcring_item_release(&it);
    mcring_client_free(text);
    mcring_options_free(t);
    mcring_client_free(c);
    mcring_options_free(o);
}

Test(meta, lease_miss_wins_once_then_waits_then_hits)
{
    mcring_item it = MCRING_ITEM_INIT;
    mcring_lease a, b;
    cr_assert_eq(mcring_lease_get(meta, "L", 1, &it, &a), MCRING_WON);
    cr_assert_eq(it.len, 0, "nothing to serve yet");
    cr_assert_neq(a.token, 0);
    cr_assert_eq(mcring_lease_get(meta, "L", 1, &it, &b), MCRING_WAIT);
    cr_assert_eq(mcring_lease_wait(meta, "L", 1, 0.01, &it, &b), MCRING_WAIT,
                 "still waiting when the time runs out");
    cr_assert_eq(mcring_lease_fill(meta, "L", 1, &a, "fresh", 5, 6, 100),
                 MCRING_OK);
    cr_assert_eq(mcring_lease_get(meta, "L", 1, &it, &b), MCRING_OK);
    cr_assert_eq(it.len, 5);
    cr_assert_eq(it.flags, 6);
    cr_assert(b.ttl_left > 90 && b.ttl_left <= 100, "%lld",
              (long long)b.ttl_left);
    cr_assert_eq(mcring_lease_fill(meta, "L", 1, &a, "late", 4, 0, 100),
                 MCRING_EXISTS, "a second fill with a spent lease");
    /* Swift and text clients read the filled value as any other. */
    cr_assert_eq(mcring_get(fleet.client, "L", 1, &it), MCRING_OK);
    cr_assert_eq(it.len, 5);
    mcring_item_release(&it);
}

Test(meta, invalidate_serves_stale_while_one_refreshes)
{
    mcring_item it = MCRING_ITEM_INIT;
    mcring_lease w, x, late;
    cr_assert_eq(mcring_lease_invalidate(meta, "S", 1, 0), MCRING_NOT_FOUND);
    cr_assert_eq(mcring_set(meta, "S", 1, "v1", 2, 0, 0), MCRING_OK);
    cr_assert_eq(mcring_lease_get(meta, "S", 1, &it, &late), MCRING_OK);
    cr_assert_eq(mcring_lease_invalidate(meta, "S", 1, 30), MCRING_OK);
    cr_assert_eq(mcring_lease_get(meta, "S", 1, &it, &w), MCRING_WON);
    cr_assert_eq(it.len, 2, "the stale value, to serve meanwhile");
    cr_assert_eq(mcring_lease_get(meta, "S", 1, &it, &x), MCRING_STALE);
    cr_assert(memcmp(it.data, "v1", 2) == 0);
    cr_assert(x.ttl_left > 0 && x.ttl_left <= 30, "stale_ttl applied");
    /* A writer holding a token from before the invalidation is refused. */
    cr_assert_eq(mcring_lease_fill(meta, "S", 1, &late, "v0", 2, 0, 0),
                 MCRING_EXISTS);
    cr_assert_eq(mcring_lease_fill(meta, "S", 1, &w, "v2", 2, 0, 0),
                 MCRING_OK);
    cr_assert_eq(mcring_lease_get(meta, "S", 1, &it, &x), MCRING_OK);
    cr_assert(memcmp(it.data, "v2", 2) == 0);
    /* A plain delete removes it: the next reader wins a miss. */
    cr_assert_eq(mcring_delete(meta, "S", 1, NULL, 0), MCRING_OK);
    cr_assert_eq(mcring_lease_get(meta, "S", 1, &it, &x), MCRING_WON);
    mcring_item_release(&it);
}

Test(meta, early_recache_before_expiry)
{
    mcring_options *o = opts_for(fleet.names, "protocol", "meta",
                                 "lease_recache", "30", NULL);
    mcring_client *c = client_for(o);
    mcring_item it = MCRING_ITEM_INIT;
    mcring_lease l;
    cr_assert_eq(mcring_set(c, "R", 1, "long", 4, 0, 100), MCRING_OK);
    cr_assert_eq(mcring_lease_get(c, "R", 1, &it, &l), MCRING_OK);
    cr_assert_eq(mcring_set(c, "R", 1, "soon", 4, 0, 20), MCRING_OK);
    cr_assert_eq(mcring_lease_get(c, "R", 1, &it, &l), MCRING_WON,
                 "under 30 s left: one reader refreshes early");
    cr_assert_eq(it.len, 4, "with the value still there to serve");
    cr_assert_eq(mcring_lease_get(c, "R", 1, &it, &l), MCRING_OK,
                 "the others keep reading it");
    cr_assert_eq(mcring_lease_get(c, "R", 1, &it, &l), MCRING_OK);
    mcring_item_release(&it);
    mcring_client_free(c);
    mcring_options_free(o);
}

typedef struct waiter_arg {
    int rc;
    char got[16];
    double took;
} waiter_arg;

static void *wait_for_fill(void *arg)
{
    waiter_arg *w = arg;
    mcring_item it = MCRING_ITEM_INIT;
    mcring_lease l;
    double t0 = now_s();
    w->rc = mcring_lease_wait(meta, "W", 1, 5, &it, &l);
    w->took = now_s() - t0;
    snprintf(w->got, sizeof(w->got), "%.*s", (int)it.len, it.data ? it.data : "");
    mcring_item_release(&it);
    return NULL;
}

Test(meta, lease_wait_returns_the_winners_value)
{
    mcring_item it = MCRING_ITEM_INIT;
    mcring_lease l;
    cr_assert_eq(mcring_lease_get(meta, "W", 1, &it, &l), MCRING_WON);
    waiter_arg w = {0};
    pthread_t t;
    pthread_create(&t, NULL, wait_for_fill, &w);
    usleep(50000);
    cr_assert_eq(mcring_lease_fill(meta, "W", 1, &l, "computed", 8, 0, 0),
                 MCRING_OK);
    pthread_join(t, NULL);
    cr_assert_eq(w.rc, MCRING_OK);
    cr_assert_str_eq(w.got, "computed");
    cr_assert(w.took < 0.2, "%f", w.took);
    mcring_item_release(&it);
}

Test(meta, leases_need_the_meta_protocol)
{
    mcring_item it = MCRING_ITEM_INIT;
    mcring_lease l = {0};
    cr_assert_eq(mcring_lease_get(fleet.client, "x", 1, &it, &l),
                 MCRING_ETEXTMODE);
    cr_assert_eq(mcring_lease_fill(fleet.client, "x", 1, &l, "v", 1, 0, 0),
                 MCRING_ETEXTMODE);
    cr_assert_eq(mcring_lease_invalidate(fleet.client, "x", 1, 0),
                 MCRING_ETEXTMODE);
    cr_assert_eq(mcring_set_versioned(fleet.client, "x", 1, "v", 1, 0, 0, 5),
                 MCRING_ETEXTMODE);
    mcring_item_release(&it);
}

Test(meta, versioned_writes_on_a_server_without_E)
{
    /* memcached 1.6.18 has no E flag: a clear code, the server not
     * counted as failing, the connection still in step. */
    cr_assert_eq(mcring_set_versioned(meta, "V", 1, "v5", 2, 0, 0, 5),
                 MCRING_ENOTSUP);
    cr_assert_eq(mcring_set(meta, "V2", 2, "x", 1, 0, 0), MCRING_OK);
    cr_assert_eq(mcring_set(meta, "V", 1, "x", 1, 0, 0), MCRING_OK);
    cr_assert_eq(mcring_set_versioned(meta, "V", 1, "v5", 2, 0, 0,
                                      UINT64_MAX),
                 MCRING_ENOTSUP);
    mcring_server_stats s[2];
    mcring_client_server_stats(meta, s, 2);
    cr_assert_eq(s[0].errors + s[1].errors, 0);
}

Test(meta, single_flight_and_read_your_writes)
{
    mcring_options *o = opts_for(fleet.names, "protocol", "meta",
                                 "single_flight", "true", NULL);
    mcring_client *c = client_for(o);
    mcring_item it = MCRING_ITEM_INIT;
    for (int i = 0; i < 20; i++) {
        char v[16];
        int n = snprintf(v, sizeof(v), "v%d", i);
        cr_assert_eq(mcring_set(c, "sf", 2, v, (size_t)n, 0, 0), MCRING_OK);
        cr_assert_eq(mcring_get(c, "sf", 2, &it), MCRING_OK);
        cr_assert_eq(it.len, (size_t)n);
        cr_assert(memcmp(it.data, v, it.len) == 0, "read my own write");
    }
    mcring_item_release(&it);
    mcring_client_free(c);
    mcring_options_free(o);
}

/* Many readers of a few hot keys through single flight, and one writer
 * per key that reads each of its writes back: every value read is one
 * that was written, and no writer ever reads an older value than its
 * own. */
#define SF_KEYS 4
#define SF_READERS 12

typedef struct sf_arg {
    mcring_client *c;
    int key;
    bool writer;
    int failures;
    long gets;
} sf_arg;

static void *sf_run(void *p)
{
    sf_arg *a = p;
    char key[8];
    snprintf(key, sizeof(key), "hot%d", a->key);
    mcring_item it = MCRING_ITEM_INIT;
    for (int i = 1; i <= 300; i++) {
        if (a->writer) {
            char v[16];
            int n = snprintf(v, sizeof(v), "%d", i);
            if (mcring_set(a->c, key, 4, v, (size_t)n, 0, 0) != MCRING_OK)
                a->failures++;
        }
        int rc = mcring_get(a->c, key, 4, &it);
        a->gets++;
        if (rc != MCRING_OK && rc != MCRING_MISS) {
            a->failures++;
            continue;
        }
        if (rc == MCRING_OK && a->writer && atoi(it.data) != i)
            a->failures++; /* an older get answered after my write */
        if (rc == MCRING_OK && (atoi(it.data) < 1 || atoi(it.data) > 300))
            a->failures++;
    }
    mcring_item_release(&it);
    return NULL;
}

Test(meta, single_flight_under_many_threads)
{
    for (int proto = 0; proto < 2; proto++) {
        mcring_options *o = opts_for(fleet.names, "protocol",
                                     proto ? "meta" : "text",
                                     "single_flight", "true", NULL);
        mcring_client *c = client_for(o);
        sf_arg a[SF_KEYS * (SF_READERS + 1)];
        pthread_t t[SF_KEYS * (SF_READERS + 1)];
        int n = 0;
        for (int k = 0; k < SF_KEYS; k++)
            for (int r = 0; r <= SF_READERS; r++, n++) {
                a[n] = (sf_arg){.c = c, .key = k, .writer = r == 0};
                pthread_create(&t[n], NULL, sf_run, &a[n]);
            }
        long gets = 0;
        for (int i = 0; i < n; i++) {
            pthread_join(t[i], NULL);
            cr_assert_eq(a[i].failures, 0, "thread %d", i);
            gets += a[i].gets;
        }
        mcring_server_stats st[2];
        mcring_client_server_stats(c, st, 2);
        /* Every set is a request; gets shared some. */
        cr_assert_lt(st[0].requests + st[1].requests,
                     (uint64_t)(gets + SF_KEYS * 300) + 1);
        mcring_client_free(c);
        mcring_options_free(o);
    }
}

Test(meta, quiet_batches_need_no_fences)
{
    /* A batch ends at its own MN, so it reads the same with the
     * pipeline's fences turned off. */
    mcring_options *o = opts_for(fleet.names, "protocol", "meta",
                                 "pipeline_fences", "false", NULL);
    mcring_client *c = client_for(o);
    mcring_kv kv[3] = {{"f1", 2, "a", 1, 0}, {"f2", 2, "b", 1, 0},
                       {"f3", 2, "c", 1, 0}};
    int st[4];
    cr_assert_eq(mcring_set_multi(c, kv, 2, NULL, 0, 0, st), 0);
    mcring_key k[4] = {{"f1", 2}, {"f3", 2}, {"f2", 2}, {"f1", 2}};
    mcring_item it[4] = {MCRING_ITEM_INIT, MCRING_ITEM_INIT, MCRING_ITEM_INIT,
                         MCRING_ITEM_INIT};
    for (int round = 0; round < 3; round++) {
        cr_assert_eq(mcring_get_multi(c, k, 4, NULL, 0, it, st), 0);
        cr_assert_eq(st[0], MCRING_OK);
        cr_assert_eq(st[1], MCRING_MISS);
        cr_assert_eq(st[2], MCRING_OK);
        cr_assert_eq(st[3], MCRING_OK);
        cr_assert_eq(it[2].data[0], 'b');
    }
    for (int i = 0; i < 4; i++)
        mcring_item_release(&it[i]);
    mcring_client_free(c);
    mcring_options_free(o);
}

Test(meta, leases_go_through_the_compression_layer)
{
    mcring_options *o = opts_for(fleet.names, "protocol", "meta",
                                 "compression", "zstd", NULL);
    mcring_client *z = client_for(o);
    enum { LEN = 5000 };
    char *v1 = malloc(LEN), *v2 = malloc(LEN);
    for (int i = 0; i < LEN; i++) {
        v1[i] = (char)('a' + (i * 7) % 13);
        v2[i] = (char)('A' + (i * 5) % 11);
    }
    mcring_item it = MCRING_ITEM_INIT;
    mcring_lease w, x;
    cr_assert_eq(mcring_lease_get(z, "Z", 1, &it, &w), MCRING_WON);
    cr_assert_eq(mcring_lease_fill(z, "Z", 1, &w, v1, LEN, 1u << 16, 100),
                 MCRING_OK);
    /* Stored compressed (a client without the layer sees the bytes)... */
    cr_assert_eq(mcring_get(meta, "Z", 1, &it), MCRING_OK);
    cr_assert_eq(it.flags, (1u << 16) | MCRING_FLAG_ZSTD);
    cr_assert_lt(it.len, LEN / 4);
    /* ...and read back whole, fresh, stale and by the winner. */
    cr_assert_eq(mcring_lease_get(z, "Z", 1, &it, &x), MCRING_OK);
    cr_assert_eq(it.len, LEN);
    cr_assert_eq(it.flags, 1u << 16);
    cr_assert(memcmp(it.data, v1, LEN) == 0);
    cr_assert_eq(mcring_lease_invalidate(z, "Z", 1, 30), MCRING_OK);
    cr_assert_eq(mcring_lease_get(z, "Z", 1, &it, &w), MCRING_WON);
    cr_assert_eq(it.len, LEN, "the winner's old value, decompressed");
    cr_assert(memcmp(it.data, v1, LEN) == 0);
    cr_assert_eq(mcring_lease_get(z, "Z", 1, &it, &x), MCRING_STALE);
    cr_assert_eq(it.len, LEN, "the stale value, decompressed");
    cr_assert(memcmp(it.data, v1, LEN) == 0);
    cr_assert_eq(mcring_lease_fill(z, "Z", 1, &w, v2, LEN, 0, 100),
                 MCRING_OK);
    cr_assert_eq(mcring_get(z, "Z", 1, &it), MCRING_OK);
    cr_assert_eq(it.len, LEN);
    cr_assert(memcmp(it.data, v2, LEN) == 0);
    mcring_item_release(&it);
    free(v1);
    free(v2);
    mcring_client_free(z);
    mcring_options_free(o);
}
