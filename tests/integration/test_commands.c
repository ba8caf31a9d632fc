/* memcached's other commands against real servers, each in both protocols
 * (text and meta, through one client of each on the same two servers):
 * add, replace, append, prepend, gets/cas, touch, gat, gats, their multi
 * forms, flush_all, version, stats; and the edges (CAS mismatch, add on an
 * existing key, touch of a missing key, gat of an expired one). */
#include <criterion/criterion.h>
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

TestSuite(commands, .init = setup, .fini = teardown, .timeout = 60);

/* The two clients, and a key of the test's own for each. */
#define EACH_PROTOCOL(c, key, base)                                           \
    for (int p_ = 0; p_ < 2; p_++)                                             \
        for (mcring_client *c = p_ ? meta : fleet.client, *once_ = c;          \
             once_ != NULL; once_ = NULL)                                      \
            for (char key[64], *k_ = (snprintf(key, sizeof(key), "%s-%s",      \
                                               base, p_ ? "meta" : "text"),    \
                                      key);                                    \
                 k_ != NULL; k_ = NULL)

static void expect_value(mcring_client *c, const char *key, const char *value,
                         uint32_t flags)
{
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_get(c, key, strlen(key), &it), MCRING_OK, "%s", key);
    cr_assert_eq(it.len, strlen(value), "%s: '%s'", key, it.data);
    cr_assert(memcmp(it.data, value, it.len) == 0, "%s: '%s'", key, it.data);
    cr_assert_eq(it.flags, flags, "%s", key);
    mcring_item_release(&it);
}

Test(commands, add_stores_only_when_absent)
{
    EACH_PROTOCOL(c, key, "add")
    {
        cr_assert_eq(mcring_add(c, key, strlen(key), "one", 3, 12, 0),
                     MCRING_OK);
        cr_assert_eq(mcring_add(c, key, strlen(key), "two", 3, 0, 0),
                     MCRING_NOT_STORED, "add on an existing key");
        expect_value(c, key, "one", 12);
    }
}

Test(commands, replace_stores_only_when_present)
{
    EACH_PROTOCOL(c, key, "replace")
    {
        cr_assert_eq(mcring_replace(c, key, strlen(key), "x", 1, 0, 0),
                     MCRING_NOT_STORED);
        cr_assert_eq(mcring_get(c, key, strlen(key), &(mcring_item){0}),
                     MCRING_MISS);
        cr_assert_eq(mcring_set(c, key, strlen(key), "old", 3, 0, 0),
                     MCRING_OK);
        cr_assert_eq(mcring_replace(c, key, strlen(key), "new", 3, 8, 0),
                     MCRING_OK);
        expect_value(c, key, "new", 8);
    }
}

Test(commands, append_and_prepend_keep_flags)
{
    EACH_PROTOCOL(c, key, "pend")
    {
        cr_assert_eq(mcring_append(c, key, strlen(key), "x", 1),
                     MCRING_NOT_STORED);
        cr_assert_eq(mcring_prepend(c, key, strlen(key), "x", 1),
                     MCRING_NOT_STORED);
        cr_assert_eq(mcring_set(c, key, strlen(key), "mid", 3, 2, 0),
                     MCRING_OK);
        cr_assert_eq(mcring_append(c, key, strlen(key), ">>", 2), MCRING_OK);
        cr_assert_eq(mcring_prepend(c, key, strlen(key), "<<", 2), MCRING_OK);
        expect_value(c, key, "<<mid>>", 2);
    }
}

Test(commands, gets_then_cas_and_a_mismatch)
{
    EACH_PROTOCOL(c, key, "cas")
    {
        mcring_item it = MCRING_ITEM_INIT;
        cr_assert_eq(mcring_gets(c, key, strlen(key), &it), MCRING_MISS);
        cr_assert_eq(mcring_cas(c, key, strlen(key), "v", 1, 0, 0, 12345),
                     MCRING_NOT_FOUND, "cas of a missing key");
        cr_assert_eq(mcring_set(c, key, strlen(key), "v1", 2, 0, 0),
                     MCRING_OK);
        cr_assert_eq(mcring_gets(c, key, strlen(key), &it), MCRING_OK);
        uint64_t token = it.cas;
        cr_assert_neq(token, 0);
        cr_assert_eq(mcring_get(c, key, strlen(key), &it), MCRING_OK);
        cr_assert_eq(it.cas, 0, "a plain get does not report the CAS");
        cr_assert_eq(mcring_cas(c, key, strlen(key), "v2", 2, 4, 0, token),
                     MCRING_OK);
        cr_assert_eq(mcring_cas(c, key, strlen(key), "v3", 2, 0, 0, token),
                     MCRING_EXISTS, "the token is spent");
        expect_value(c, key, "v2", 4);
        mcring_item_release(&it);
    }
}

Test(commands, touch_gat_gats)
{
    EACH_PROTOCOL(c, key, "touch")
    {
        mcring_item it = MCRING_ITEM_INIT;
        cr_assert_eq(mcring_touch(c, key, strlen(key), 100),
                     MCRING_NOT_FOUND, "touch of a missing key");
        cr_assert_eq(mcring_gat(c, key, strlen(key), 100, &it), MCRING_MISS);
        cr_assert_eq(mcring_set(c, key, strlen(key), "tv", 2, 16, 0),
                     MCRING_OK);
        cr_assert_eq(mcring_touch(c, key, strlen(key), 100), MCRING_OK);
        cr_assert_eq(mcring_gat(c, key, strlen(key), 200, &it), MCRING_OK);
        cr_assert_eq(it.len, 2);
        cr_assert_eq(it.flags, 16);
        cr_assert_eq(it.cas, 0);
        cr_assert_eq(mcring_gats(c, key, strlen(key), 300, &it), MCRING_OK);
        cr_assert_neq(it.cas, 0);
        /* A negative TTL expires it at once. */
        cr_assert_eq(mcring_touch(c, key, strlen(key), -1), MCRING_OK);
        cr_assert_eq(mcring_get(c, key, strlen(key), &it), MCRING_MISS);
        mcring_item_release(&it);
    }
}

Test(commands, gat_of_an_expired_key_is_a_miss)
{
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_set(fleet.client, "exp-text", 8, "v", 1, 0, 1),
                 MCRING_OK);
    cr_assert_eq(mcring_set(meta, "exp-meta", 8, "v", 1, 0, 1), MCRING_OK);
    sleep(2); /* memcached's clock ticks in whole seconds */
    cr_assert_eq(mcring_gat(fleet.client, "exp-text", 8, 100, &it),
                 MCRING_MISS);
    cr_assert_eq(mcring_gats(meta, "exp-meta", 8, 100, &it), MCRING_MISS);
    cr_assert_eq(mcring_touch(meta, "exp-meta", 8, 100), MCRING_NOT_FOUND);
    mcring_item_release(&it);
}

Test(commands, gets_multi_and_touch_multi)
{
    EACH_PROTOCOL(c, base, "multi")
    {
        char names[5][80];
        mcring_key keys[5];
        for (int i = 0; i < 5; i++) {
            snprintf(names[i], sizeof(names[i]), "%s-%d", base, i);
            keys[i] = (mcring_key){names[i], strlen(names[i])};
            if (i % 2 == 0)
                cr_assert_eq(mcring_set(c, names[i], strlen(names[i]), "v", 1,
                                        4 * (uint32_t)i, 0),
                             MCRING_OK);
        }
        mcring_item items[5] = {MCRING_ITEM_INIT, MCRING_ITEM_INIT,
                                MCRING_ITEM_INIT, MCRING_ITEM_INIT,
                                MCRING_ITEM_INIT};
        int st[5];
        cr_assert_eq(mcring_gets_multi(c, keys, 5, NULL, 0, items, st), 0);
        for (int i = 0; i < 5; i++) {
            cr_assert_eq(st[i], i % 2 == 0 ? MCRING_OK : MCRING_MISS, "%d", i);
            if (i % 2 == 0) {
                cr_assert_neq(items[i].cas, 0);
                cr_assert_eq(items[i].flags, 4 * (uint32_t)i);
                /* Each token works for its own key. */
                cr_assert_eq(mcring_cas(c, names[i], strlen(names[i]), "w", 1,
                                        0, 0, items[i].cas),
                             MCRING_OK);
            }
        }
        cr_assert_eq(mcring_touch_multi(c, keys, 5, NULL, 0, 100, st), 0);
        for (int i = 0; i < 5; i++)
            cr_assert_eq(st[i], i % 2 == 0 ? MCRING_OK : MCRING_NOT_FOUND,
                         "%d", i);
        /* With a server key, as Swift's batches. */
        cr_assert_eq(mcring_touch_multi(c, keys, 5, "/a/c", 4, -1, st), 0);
        for (int i = 0; i < 5; i++)
            mcring_item_release(&items[i]);
    }
}

Test(commands, flush_all_one_server_or_all_with_a_delay)
{
    mcring_ring *ring = mcring_client_ring_ref(fleet.client);
    char a[64], b[64];
    key_on(fleet.client, fleet.srv[0].name, NULL, a, sizeof(a));
    key_on(fleet.client, fleet.srv[1].name, NULL, b, sizeof(b));
    mcring_ring_free(ring);
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_set(fleet.client, a, strlen(a), "1", 1, 0, 0), 0);
    cr_assert_eq(mcring_set(fleet.client, b, strlen(b), "1", 1, 0, 0), 0);
    cr_assert_eq(mcring_flush_all(fleet.client, fleet.srv[0].name, 0), 0);
    cr_assert_eq(mcring_get(fleet.client, a, strlen(a), &it), MCRING_MISS);
    cr_assert_eq(mcring_get(fleet.client, b, strlen(b), &it), MCRING_OK,
                 "the other server kept its items");
    cr_assert_eq(mcring_flush_all(fleet.client, "10.9.9.9:1", 0),
                 MCRING_EINVAL, "not a server of the ring");
    cr_assert_eq(mcring_flush_all(fleet.client, NULL, -1), MCRING_EINVAL);

    cr_assert_eq(mcring_set(meta, a, strlen(a), "2", 1, 0, 0), 0);
    cr_assert_eq(mcring_flush_all(meta, NULL, 2), 0);
    cr_assert_eq(mcring_get(meta, a, strlen(a), &it), MCRING_OK,
                 "a delayed flush leaves items for now");
    sleep(3);
    cr_assert_eq(mcring_get(meta, a, strlen(a), &it), MCRING_MISS);
    cr_assert_eq(mcring_get(meta, b, strlen(b), &it), MCRING_MISS);
    mcring_item_release(&it);
}

Test(commands, version_of_each_server)
{
    char v[64];
    for (size_t i = 0; i < fleet.n; i++) {
        cr_assert_eq(mcring_server_version(fleet.client, fleet.srv[i].name, v,
                                           sizeof(v)),
                     0);
        cr_assert_str_eq(v, "1.6.18");
        cr_assert_eq(
            mcring_server_version(meta, fleet.srv[i].name, v, sizeof(v)), 0);
        cr_assert_str_eq(v, "1.6.18");
    }
    cr_assert_eq(mcring_server_version(meta, "nope:1", v, sizeof(v)),
                 MCRING_EINVAL);
}

typedef struct seen {
    int count;
    char pid[32];
    char maxbytes[32];
    char server[64];
} seen;

static void on_stat(void *ud, const char *server, const char *name,
                    const char *value)
{
    seen *s = ud;
    s->count++;
    snprintf(s->server, sizeof(s->server), "%s", server);
    if (strcmp(name, "pid") == 0)
        snprintf(s->pid, sizeof(s->pid), "%s", value);
    if (strcmp(name, "maxbytes") == 0)
        snprintf(s->maxbytes, sizeof(s->maxbytes), "%s", value);
}

Test(commands, stats_general_and_groups)
{
    seen s = {0};
    const char *name = fleet.srv[1].name;
    cr_assert_eq(mcring_server_stats_read(meta, name, NULL, on_stat, &s), 0);
    cr_assert_gt(s.count, 20);
    cr_assert_eq(atoi(s.pid), (int)fleet.srv[1].pid);
    cr_assert_str_eq(s.server, name);
    memset(&s, 0, sizeof(s));
    cr_assert_eq(
        mcring_server_stats_read(fleet.client, name, "settings", on_stat, &s),
        0);
    cr_assert_str_eq(s.maxbytes, "67108864");
    cr_assert_eq(
        mcring_server_stats_read(fleet.client, name, "nosuch", on_stat, &s),
        MCRING_EREJECTED);
    cr_assert_eq(
        mcring_server_stats_read(fleet.client, name, "a b", on_stat, &s),
        MCRING_EINVAL);
    cr_assert_eq(
        mcring_server_stats_read(fleet.client, name, "reset", on_stat, &s),
        MCRING_EINVAL);
    /* The connection is still in step after the ERROR. */
    char v[32];
    cr_assert_eq(mcring_server_version(fleet.client, name, v, sizeof(v)), 0);
    mcring_server_stats s2[2];
    mcring_client_server_stats(fleet.client, s2, 2);
    cr_assert_eq(s2[0].errors + s2[1].errors, 0);
}
