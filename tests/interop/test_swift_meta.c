/* A Swift process and an mcring process in meta mode share a fleet: keys
 * stay MD5 hex and values keep their flags (F), so what Swift's own client
 * (python3-swift) writes, meta mode reads, and the reverse; values and
 * counters also cross between mcring's text and meta modes both ways. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static mc_fleet fleet; /* fleet.client: text mode */
static mcring_options *meta_opts;
static mcring_client *meta;
static char oracle[512];

static void setup(void)
{
    snprintf(oracle, sizeof(oracle), "%s/interop/swift_oracle.py",
             env_path("MCRING_TEST_SOURCE"));
    fleet_start(&fleet, 3);
    meta_opts = opts_for(fleet.names, "protocol", "meta", NULL);
    meta = client_for(meta_opts);
}

static void teardown(void)
{
    mcring_client_free(meta);
    mcring_options_free(meta_opts);
    fleet_stop(&fleet);
}

TestSuite(swift_meta, .init = setup, .fini = teardown, .timeout = 120);

static char *swift(const char *ops)
{
    char *script = malloc(strlen(ops) + 1024);
    int n = sprintf(script, "{\"servers\": %s, \"ops\": %s}", fleet.json, ops);
    char *argv[] = {(char *)env_path("MCRING_TEST_PYTHON"), oracle, "ops", NULL};
    char *out;
    size_t len;
    int rc = run_capture(argv, script, (size_t)n, &out, &len);
    cr_assert_eq(rc, 0, "Swift failed on %s", ops);
    free(script);
    return out;
}

/* Splits Swift's output into its n lines. */
static void lines_of(char *out, char **lines, int n)
{
    char *p = out;
    for (int i = 0; i < n; i++) {
        lines[i] = p;
        p = strchr(p, '\n');
        cr_assert_not_null(p, "%s", out);
        *p++ = '\0';
    }
}

static void expect_item(mcring_client *c, const char *key, const char *bytes,
                        uint32_t flags)
{
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_get(c, key, strlen(key), &it), MCRING_OK, "%s", key);
    cr_assert_eq(it.flags, flags, "%s", key);
    cr_assert_eq(it.len, strlen(bytes), "%s: '%.*s'", key, (int)it.len,
                 it.data);
    cr_assert(memcmp(it.data, bytes, it.len) == 0, "%s", key);
    mcring_item_release(&it);
}

Test(swift_meta, swift_writes_meta_reads)
{
    free(swift("["
               "{\"op\": \"set\", \"key\": \"raw\", \"value\": {\"bytes_hex\": "
               "\"00ff0d0a41\"}, \"serialize\": false},"
               "{\"op\": \"set\", \"key\": \"json\", \"value\": {\"a\": [1, "
               "2.5]}},"
               "{\"op\": \"incr\", \"key\": \"count\", \"delta\": 41},"
               "{\"op\": \"set_multi\", \"server_key\": \"/a/c\", \"mapping\": "
               "[[\"o1\", {\"x\": 1}], [\"o2\", \"s\"]]}"
               "]"));
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_get(meta, "raw", 3, &it), MCRING_OK);
    cr_assert_eq(it.len, 5);
    cr_assert(memcmp(it.data, "\x00\xff\r\nA", 5) == 0);
    expect_item(meta, "json", "{\"a\": [1, 2.5]}", MCRING_FLAG_JSON);
    expect_item(meta, "count", "41", 0);
    uint64_t v;
    cr_assert_eq(mcring_incr(meta, "count", 5, 1, 0, &v), MCRING_OK);
    cr_assert_eq(v, 42, "meta counts on from Swift's counter");
    mcring_key k[3] = {{"o1", 2}, {"o2", 2}, {"o3", 2}};
    mcring_item items[3] = {MCRING_ITEM_INIT, MCRING_ITEM_INIT,
                            MCRING_ITEM_INIT};
    int st[3];
    cr_assert_eq(mcring_get_multi(meta, k, 3, "/a/c", 4, items, st), 0);
    cr_assert_eq(st[0], MCRING_OK);
    cr_assert_eq(st[1], MCRING_OK);
    cr_assert_eq(st[2], MCRING_MISS);
    cr_assert_eq(items[1].flags, MCRING_FLAG_JSON);
    cr_assert_eq(items[1].len, 3);
    for (int i = 0; i < 3; i++)
        mcring_item_release(&items[i]);
    mcring_item_release(&it);
}

Test(swift_meta, meta_writes_swift_reads)
{
    cr_assert_eq(mcring_set(meta, "r", 1, "\x01\x02raw", 5, 0, 0), MCRING_OK);
    const char *js = "{\"k\": [true, null, \"\\u2603\"]}";
    cr_assert_eq(mcring_set(meta, "j", 1, js, strlen(js), MCRING_FLAG_JSON, 0),
                 MCRING_OK);
    uint64_t v;
    cr_assert_eq(mcring_incr(meta, "c", 1, 10, 0, &v), MCRING_OK);
    mcring_kv kv[2] = {{"p1", 2, "\"one\"", 5, MCRING_FLAG_JSON},
                       {"p2", 2, "[2]", 3, MCRING_FLAG_JSON}};
    int st[2];
    cr_assert_eq(mcring_set_multi(meta, kv, 2, "/a/d", 4, 0, st), 0);
    /* A value filled under a lease is an ordinary item. */
    mcring_item it = MCRING_ITEM_INIT;
    mcring_lease l;
    cr_assert_eq(mcring_lease_get(meta, "leased", 6, &it, &l), MCRING_WON);
    cr_assert_eq(mcring_lease_fill(meta, "leased", 6, &l, "[7]", 3,
                                   MCRING_FLAG_JSON, 0),
                 MCRING_OK);
    cr_assert_eq(mcring_add(meta, "added", 5, "\"a\"", 3, MCRING_FLAG_JSON, 0),
                 MCRING_OK);
    char *out = swift("["
                      "{\"op\": \"get\", \"key\": \"r\"},"
                      "{\"op\": \"get\", \"key\": \"j\"},"
                      "{\"op\": \"incr\", \"key\": \"c\", \"delta\": 5},"
                      "{\"op\": \"get_multi\", \"server_key\": \"/a/d\", "
                      "\"keys\": [\"p1\", \"p2\", \"p3\"]},"
                      "{\"op\": \"get\", \"key\": \"leased\"},"
                      "{\"op\": \"get\", \"key\": \"added\"}"
                      "]");
    char *lines[6];
    lines_of(out, lines, 6);
    cr_assert_str_eq(lines[0], "{\"bytes_hex\": \"0102726177\"}");
    cr_assert_str_eq(lines[1], "{\"k\": [true, null, \"\\u2603\"]}");
    cr_assert_str_eq(lines[2], "15", "Swift counts on from meta's counter");
    cr_assert_str_eq(lines[3], "[\"one\", [2], null]");
    cr_assert_str_eq(lines[4], "[7]");
    cr_assert_str_eq(lines[5], "\"a\"");
    free(out);
    mcring_item_release(&it);
}

Test(swift_meta, text_and_meta_modes_both_ways)
{
    /* Values with flags, and counters, across the two modes. */
    cr_assert_eq(mcring_set(fleet.client, "tv", 2, "text", 4, 8, 100), 0);
    expect_item(meta, "tv", "text", 8);
    cr_assert_eq(mcring_set(meta, "mv", 2, "meta", 4, 16, 100), 0);
    expect_item(fleet.client, "mv", "meta", 16);
    uint64_t v;
    cr_assert_eq(mcring_incr(fleet.client, "tc", 2, 7, 0, &v), 0);
    cr_assert_eq(mcring_incr(meta, "tc", 2, 1, 0, &v), 0);
    cr_assert_eq(v, 8);
    cr_assert_eq(mcring_decr(meta, "mc", 2, 3, 0, &v), 0);
    cr_assert_eq(mcring_incr(fleet.client, "mc", 2, 9, 0, &v), 0);
    cr_assert_eq(v, 9);
    /* A CAS token read in one mode works in the other. */
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_gets(meta, "tv", 2, &it), MCRING_OK);
    cr_assert_eq(mcring_cas(fleet.client, "tv", 2, "t2", 2, 0, 0, it.cas),
                 MCRING_OK);
    cr_assert_eq(mcring_gets(fleet.client, "tv", 2, &it), MCRING_OK);
    cr_assert_eq(mcring_cas(meta, "tv", 2, "t3", 2, 0, 0, it.cas), MCRING_OK);
    expect_item(fleet.client, "tv", "t3", 0);
    mcring_item_release(&it);
}
