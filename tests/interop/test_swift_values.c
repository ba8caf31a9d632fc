/* Value interop with Swift's own client on real servers: what Swift
 * writes mcring reads, and the reverse (raw bytes, JSON bytes with flag 2,
 * counters, server_key batches). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static mc_fleet fleet;
static char oracle[512];

static void setup(void)
{
    snprintf(oracle, sizeof(oracle), "%s/interop/swift_oracle.py",
             env_path("MCRING_TEST_SOURCE"));
    fleet_start(&fleet, 3);
}

static void teardown(void)
{
    fleet_stop(&fleet);
}

TestSuite(swift_values, .init = setup, .fini = teardown, .timeout = 120);

/* Runs Swift ops (a JSON array body) and returns its output lines. */
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

static void expect_item(const char *key, const char *bytes, uint32_t flags)
{
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_get(fleet.client, key, strlen(key), &it), MCRING_OK,
                 "%s", key);
    cr_assert_eq(it.flags, flags, "%s", key);
    cr_assert_eq(it.len, strlen(bytes), "%s: '%.*s'", key, (int)it.len, it.data);
    cr_assert(memcmp(it.data, bytes, it.len) == 0, "%s", key);
    mcring_item_release(&it);
}

Test(swift_values, swift_writes_mcring_reads)
{
    free(swift("["
               "{\"op\": \"set\", \"key\": \"raw\", \"value\": {\"bytes_hex\": "
               "\"00ff0d0a41\"}, \"serialize\": false},"
               "{\"op\": \"set\", \"key\": \"json\", \"value\": {\"a\": [1, 2.5, "
               "\"\\u00e9\\ud83d\\ude00\"], \"b\": null}},"
               "{\"op\": \"set\", \"key\": \"caf\\u00e9\", \"value\": \"x\"},"
               "{\"op\": \"incr\", \"key\": \"count\", \"delta\": 41},"
               "{\"op\": \"incr\", \"key\": \"count\", \"delta\": 1},"
               "{\"op\": \"decr\", \"key\": \"down\", \"delta\": 5}"
               "]"));
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_get(fleet.client, "raw", 3, &it), MCRING_OK);
    cr_assert_eq(it.len, 5);
    cr_assert(memcmp(it.data, "\x00\xff\r\nA", 5) == 0);
    mcring_item_release(&it);
    /* json.dumps: ASCII only, ", " and ": " separators, surrogate pairs. */
    expect_item("json",
                "{\"a\": [1, 2.5, \"\\u00e9\\ud83d\\ude00\"], \"b\": null}",
                MCRING_FLAG_JSON);
    expect_item("caf\xc3\xa9", "\"x\"", MCRING_FLAG_JSON);
    expect_item("count", "42", 0);
    uint64_t v;
    cr_assert_eq(mcring_incr(fleet.client, "count", 5, 8, 0, &v), MCRING_OK);
    cr_assert_eq(v, 50, "mcring counts on from Swift's counter");
    cr_assert_eq(mcring_incr(fleet.client, "down", 4, 0, 0, &v), MCRING_OK);
    cr_assert_eq(v, 0);
}

Test(swift_values, mcring_writes_swift_reads)
{
    cr_assert_eq(mcring_set(fleet.client, "r", 1, "\x01\x02raw", 5, 0, 0),
                 MCRING_OK);
    const char *js = "{\"k\": [true, false, null, 1e100, \"\\u2603\"]}";
    cr_assert_eq(
        mcring_set(fleet.client, "j", 1, js, strlen(js), MCRING_FLAG_JSON, 0),
        MCRING_OK);
    uint64_t v;
    cr_assert_eq(mcring_incr(fleet.client, "c", 1, 10, 0, &v), MCRING_OK);
    char *out = swift("["
                      "{\"op\": \"get\", \"key\": \"r\"},"
                      "{\"op\": \"get\", \"key\": \"j\"},"
                      "{\"op\": \"incr\", \"key\": \"c\", \"delta\": 5},"
                      "{\"op\": \"get\", \"key\": \"missing\"}"
                      "]");
    char *lines[4];
    char *p = out;
    for (int i = 0; i < 4; i++) {
        lines[i] = p;
        p = strchr(p, '\n');
        cr_assert_not_null(p, "%s", out);
        *p++ = '\0';
    }
    cr_assert_str_eq(lines[0], "{\"bytes_hex\": \"0102726177\"}");
    cr_assert_str_eq(lines[1], "{\"k\": [true, false, null, 1e+100, \"\\u2603\"]}",
                     "Swift decoded our JSON");
    cr_assert_str_eq(lines[2], "15", "Swift counts on from ours");
    cr_assert_str_eq(lines[3], "null");
    free(out);
}

Test(swift_values, server_key_batches_both_ways)
{
    free(swift("[{\"op\": \"set_multi\", \"server_key\": \"/a/c\", \"mapping\": "
               "[[\"o1\", {\"x\": 1}], [\"o2\", [1, 2]], [\"o3\", \"s\"]]}]"));
    mcring_key k[4] = {{"o1", 2}, {"o2", 2}, {"o3", 2}, {"o4", 2}};
    mcring_item it[4] = {MCRING_ITEM_INIT, MCRING_ITEM_INIT, MCRING_ITEM_INIT,
                         MCRING_ITEM_INIT};
    int st[4];
    cr_assert_eq(mcring_get_multi(fleet.client, k, 4, "/a/c", 4, it, st), 0);
    cr_assert_eq(st[0], MCRING_OK);
    cr_assert_eq(st[3], MCRING_MISS);
    cr_assert_eq(it[0].len, 8);
    cr_assert(memcmp(it[0].data, "{\"x\": 1}", 8) == 0);
    cr_assert_eq(it[1].flags, MCRING_FLAG_JSON);

    mcring_kv kv[2] = {{"p1", 2, "\"one\"", 5, MCRING_FLAG_JSON},
                       {"p2", 2, "[2]", 3, MCRING_FLAG_JSON}};
    cr_assert_eq(mcring_set_multi(fleet.client, kv, 2, "/a/d", 4, 0, st), 0);
    char *out = swift("[{\"op\": \"get_multi\", \"server_key\": \"/a/d\", "
                      "\"keys\": [\"p1\", \"p2\", \"p3\"]}]");
    cr_assert_str_eq(out, "[\"one\", [2], null]\n");
    free(out);
    for (int i = 0; i < 4; i++)
        mcring_item_release(&it[i]);
}

Test(swift_values, placement_agrees_on_real_servers)
{
    /* Swift stores 200 keys; mcring finds each one by its own placement
     * with tries = 1 (no failover could hide a disagreement). */
    char ops[200 * 80];
    size_t off = sprintf(ops, "[");
    for (int i = 0; i < 200; i++)
        off += (size_t)sprintf(ops + off, "%s{\"op\": \"set\", \"key\": "
                                          "\"place-%d\", \"value\": %d}",
                               i ? "," : "", i, i);
    sprintf(ops + off, "]");
    free(swift(ops));
    mcring_options *o = opts_for(fleet.names, "tries", "1", NULL);
    mcring_client *c = client_for(o);
    mcring_item it = MCRING_ITEM_INIT;
    for (int i = 0; i < 200; i++) {
        char key[32], val[16];
        snprintf(key, sizeof(key), "place-%d", i);
        snprintf(val, sizeof(val), "%d", i);
        cr_assert_eq(mcring_get(c, key, strlen(key), &it), MCRING_OK, "%s", key);
        cr_assert_eq(it.len, strlen(val));
        cr_assert(memcmp(it.data, val, it.len) == 0);
    }
    mcring_item_release(&it);
    mcring_client_free(c);
    mcring_options_free(o);
}
