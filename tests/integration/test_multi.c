/* get_multi and set_multi: Swift's server_key form and the cross-server
 * form, against real servers. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static mc_fleet fleet;

static void three(void)
{
    fleet_start(&fleet, 3);
}

static void teardown(void)
{
    fleet_stop(&fleet);
}

TestSuite(multi, .init = three, .fini = teardown, .timeout = 120);

static long items_on(const mc_server *s)
{
    const char *r = mc_raw(s, "stats\r\n", 7, "END\r\n");
    const char *p = strstr(r, "STAT curr_items ");
    return p ? atol(p + 16) : -1;
}

Test(multi, cross_server_get_multi)
{
    enum { N = 300 };
    char keys[N][16];
    mcring_key k[N];
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof(keys[i]), "m%d", i);
        k[i] = (mcring_key){keys[i], strlen(keys[i])};
        if (i % 3 != 0)
            cr_assert_eq(mcring_set(fleet.client, keys[i], strlen(keys[i]),
                                    keys[i], strlen(keys[i]), (uint32_t)i * 4,
                                    0),
                         MCRING_OK);
    }
    for (int s = 0; s < 3; s++)
        cr_assert_gt(items_on(&fleet.srv[s]), 0,
                     "keys spread over every server");
    mcring_item items[N];
    int status[N];
    memset(items, 0, sizeof(items));
    cr_assert_eq(mcring_get_multi(fleet.client, k, N, NULL, 0, items, status),
                 0);
    for (int i = 0; i < N; i++) {
        if (i % 3 == 0) {
            cr_assert_eq(status[i], MCRING_MISS, "%s", keys[i]);
            cr_assert_eq(items[i].len, 0);
        } else {
            cr_assert_eq(status[i], MCRING_OK, "%s", keys[i]);
            cr_assert_eq(items[i].len, strlen(keys[i]));
            cr_assert(memcmp(items[i].data, keys[i], items[i].len) == 0);
            cr_assert_eq(items[i].flags, (uint32_t)i * 4);
        }
        mcring_item_release(&items[i]);
    }
}

Test(multi, duplicates_are_answered_in_place)
{
    cr_assert_eq(mcring_set(fleet.client, "a", 1, "A", 1, 0, 0), MCRING_OK);
    mcring_key k[4] = {{"a", 1}, {"b", 1}, {"a", 1}, {"a", 1}};
    mcring_item it[4] = {MCRING_ITEM_INIT, MCRING_ITEM_INIT, MCRING_ITEM_INIT,
                         MCRING_ITEM_INIT};
    int st[4];
    cr_assert_eq(mcring_get_multi(fleet.client, k, 4, NULL, 0, it, st), 0);
    cr_assert_eq(st[0], MCRING_OK);
    cr_assert_eq(st[1], MCRING_MISS);
    cr_assert_eq(st[2], MCRING_OK);
    cr_assert_eq(st[3], MCRING_OK);
    for (int i = 0; i < 4; i++)
        mcring_item_release(&it[i]);
}

Test(multi, server_key_puts_everything_on_one_server)
{
    enum { N = 40 };
    char keys[N][16];
    mcring_kv kv[N];
    mcring_key k[N];
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof(keys[i]), "sk%d", i);
        kv[i] = (mcring_kv){keys[i], strlen(keys[i]), keys[i], strlen(keys[i]), 2};
        k[i] = (mcring_key){keys[i], strlen(keys[i])};
    }
    int st[N];
    cr_assert_eq(mcring_set_multi(fleet.client, kv, N, "account/c", 9, 0, st),
                 0);
    int holders = 0;
    for (int s = 0; s < 3; s++)
        if (items_on(&fleet.srv[s]) == N)
            holders++;
        else
            cr_assert_eq(items_on(&fleet.srv[s]), 0);
    cr_assert_eq(holders, 1, "all on the server_key's server");

    mcring_item items[N];
    memset(items, 0, sizeof(items));
    cr_assert_eq(
        mcring_get_multi(fleet.client, k, N, "account/c", 9, items, st), 0);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(st[i], MCRING_OK);
        cr_assert_eq(items[i].flags, 2);
    }
    /* Read by their own servers, most are not there. */
    cr_assert_eq(mcring_get_multi(fleet.client, k, N, NULL, 0, items, st), 0);
    int misses = 0;
    for (int i = 0; i < N; i++)
        misses += st[i] == MCRING_MISS;
    cr_assert_gt(misses, N / 3);
    for (int i = 0; i < N; i++)
        mcring_item_release(&items[i]);
}

Test(multi, no_keys_touches_no_server)
{
    /* Swift sends "get \r\n" and waits out the timeout (bug 2). */
    for (int s = 0; s < 3; s++)
        mc_pause(&fleet.srv[s]);
    double t0 = now_s();
    cr_assert_eq(mcring_get_multi(fleet.client, NULL, 0, "sk", 2, NULL, NULL),
                 0);
    cr_assert_eq(mcring_set_multi(fleet.client, NULL, 0, "sk", 2, 0, NULL), 0);
    cr_assert_lt(now_s() - t0, 0.1);
    for (int s = 0; s < 3; s++)
        mc_resume(&fleet.srv[s]);
}

Test(multi, a_dead_servers_keys_fail_over)
{
    enum { N = 200 };
    char keys[N][16];
    mcring_key k[N];
    mcring_kv kv[N];
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof(keys[i]), "f%d", i);
        k[i] = (mcring_key){keys[i], strlen(keys[i])};
        kv[i] = (mcring_kv){keys[i], strlen(keys[i]), "v", 1, 0};
    }
    int st[N];
    cr_assert_eq(mcring_set_multi(fleet.client, kv, N, NULL, 0, 0, st), 0);
    mc_kill(&fleet.srv[0]);
    mcring_item items[N];
    memset(items, 0, sizeof(items));
    cr_assert_eq(mcring_get_multi(fleet.client, k, N, NULL, 0, items, st), 0,
                 "every key answered by some server");
    int hits = 0, misses = 0;
    for (int i = 0; i < N; i++) {
        hits += st[i] == MCRING_OK;
        misses += st[i] == MCRING_MISS;
        mcring_item_release(&items[i]);
    }
    cr_assert_eq(hits + misses, N);
    cr_assert_gt(misses, N / 6, "the dead server's keys moved on (misses)");
    cr_assert_gt(hits, N / 3, "the others' keys still hit");
    /* Writes fail over too, and read back. */
    cr_assert_eq(mcring_set_multi(fleet.client, kv, N, NULL, 0, 0, st), 0);
    cr_assert_eq(mcring_get_multi(fleet.client, k, N, NULL, 0, items, st), 0);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(st[i], MCRING_OK);
        mcring_item_release(&items[i]);
    }
}

Test(multi, one_bad_entry_sends_nothing)
{
    mcring_options *o = opts_for(fleet.names, "item_size_max", "1048576",
                                 NULL);
    mcring_client *c = client_for(o);
    char *big = calloc(1, 2 << 20);
    mcring_kv kv[3] = {{"x", 1, "1", 1, 0}, {"y", 1, big, 2 << 20, 0},
                       {"z", 1, "3", 1, 0}};
    int st[3];
    cr_assert_eq(mcring_set_multi(c, kv, 3, NULL, 0, 0, st),
                 MCRING_ETOOLARGE);
    mcring_client_free(c);
    mcring_options_free(o);
    cr_assert_eq(st[0], MCRING_ECANCELED);
    cr_assert_eq(st[1], MCRING_ETOOLARGE);
    cr_assert_eq(st[2], MCRING_ECANCELED);
    for (int s = 0; s < 3; s++)
        cr_assert_eq(items_on(&fleet.srv[s]), 0);
    free(big);
}

Test(multi, large_batches_interleave_writes_and_reads)
{
    enum { N = 3000, V = 2048 };
    char (*keys)[16] = malloc(N * sizeof(*keys));
    mcring_kv *kv = malloc(N * sizeof(*kv));
    mcring_key *k = malloc(N * sizeof(*k));
    char *value = malloc(V);
    memset(value, 'q', V);
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof(keys[i]), "L%d", i);
        kv[i] = (mcring_kv){keys[i], strlen(keys[i]), value, V, 0};
        k[i] = (mcring_key){keys[i], strlen(keys[i])};
    }
    int *st = malloc(N * sizeof(*st));
    cr_assert_eq(mcring_set_multi(fleet.client, kv, N, "one", 3, 0, st), 0);
    mcring_item *items = calloc(N, sizeof(*items));
    cr_assert_eq(mcring_get_multi(fleet.client, k, N, "one", 3, items, st), 0);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(st[i], MCRING_OK);
        cr_assert_eq(items[i].len, V);
        mcring_item_release(&items[i]);
    }
    free(items);
    free(st);
    free(value);
    free(k);
    free(kv);
    free(keys);
}

Test(multi, an_empty_server_key_is_a_server_key)
{
    /* Swift's get_multi and set_multi hash server_key unconditionally
     * (md5hash(server_key)): "" is a server_key like any other, and every
     * key goes to md5("")'s server. */
    enum { N = 30 };
    char keys[N][16];
    mcring_kv kv[N];
    mcring_key k[N];
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof(keys[i]), "ek%d", i);
        kv[i] = (mcring_kv){keys[i], strlen(keys[i]), keys[i], strlen(keys[i]), 0};
        k[i] = (mcring_key){keys[i], strlen(keys[i])};
    }
    int st[N];
    cr_assert_eq(mcring_set_multi(fleet.client, kv, N, "", 0, 0, st), 0);
    for (int i = 0; i < N; i++)
        cr_assert_eq(st[i], MCRING_OK);

    mcring_ring *r = mcring_client_ring_ref(fleet.client);
    size_t idx;
    cr_assert_eq(mcring_ring_locate(r, "", 0, &idx, 1), 1);
    const char *want = mcring_ring_server(r, idx);
    for (int s = 0; s < 3; s++) {
        long n = items_on(&fleet.srv[s]);
        if (strcmp(fleet.srv[s].name, want) == 0)
            cr_assert_eq(n, N, "all on md5(\"\")'s server %s", want);
        else
            cr_assert_eq(n, 0, "nothing on %s", fleet.srv[s].name);
    }
    mcring_ring_free(r);

    mcring_item items[N];
    memset(items, 0, sizeof(items));
    cr_assert_eq(mcring_get_multi(fleet.client, k, N, "", 0, items, st), 0);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(st[i], MCRING_OK, "%s", keys[i]);
        mcring_item_release(&items[i]);
    }
}
