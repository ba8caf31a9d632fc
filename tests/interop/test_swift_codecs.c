/*
 * The JSON codec against Swift's own client on real servers, both ways:
 * values Swift's set() writes decode through mcring to the values meant
 * (nested containers, non-ASCII and astral strings, floats, NaN and the
 * infinities, 64-bit integers, empty containers) and re-encode to Swift's
 * exact bytes; values mcring writes read back equal, type for type,
 * through Swift's get(). Integers beyond 64 bits, which Python has and
 * mcring does not, come back undecodable with their bytes.
 */
#include <criterion/criterion.h>
#include <math.h>
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
    fleet_start(&fleet, 2);
}

static void teardown(void)
{
    fleet_stop(&fleet);
}

TestSuite(swift_codecs, .init = setup, .fini = teardown, .timeout = 120);

/* Runs Swift ops (a JSON array, parsed by Python's json) and returns its
 * output, one line per op. */
static char *swift(const char *ops)
{
    size_t n = strlen(ops) + strlen(fleet.json) + 64;
    char *script = malloc(n);
    int len =
        snprintf(script, n, "{\"servers\": %s, \"ops\": %s}", fleet.json, ops);
    char *argv[] = {(char *)env_path("MCRING_TEST_PYTHON"), oracle, "ops", NULL};
    char *out;
    size_t out_len;
    int rc = run_capture(argv, script, (size_t)len, &out, &out_len);
    cr_assert_eq(rc, 0, "Swift failed on %s", ops);
    free(script);
    return out;
}

/* The values both directions use, built in C (not decoded from JSON, so a
 * decoder bug cannot hide on both sides). Each has the JSON text that
 * Python's json module reads as the same value. */
static mcring_value *str(const char *s)
{
    return mcring_value_new_string(s, strlen(s));
}

static mcring_value *nested(void)
{
    /* {"user": {"name": "caf\u00e9", "tags": ["a", "\u2603"],
     *  "n": [1, -2, 3.5]}, "e": [], "m": {}, "s": ""} */
    mcring_value *user = mcring_value_new_map();
    mcring_value_map_add_str(user, "name", str("caf\xc3\xa9"));
    mcring_value *tags = mcring_value_new_array();
    mcring_value_array_push(tags, str("a"));
    mcring_value_array_push(tags, str("\xe2\x98\x83"));
    mcring_value_map_add_str(user, "tags", tags);
    mcring_value *n = mcring_value_new_array();
    mcring_value_array_push(n, mcring_value_new_int(1));
    mcring_value_array_push(n, mcring_value_new_int(-2));
    mcring_value_array_push(n, mcring_value_new_double(3.5));
    mcring_value_map_add_str(user, "n", n);
    mcring_value *v = mcring_value_new_map();
    mcring_value_map_add_str(v, "user", user);
    mcring_value_map_add_str(v, "e", mcring_value_new_array());
    mcring_value_map_add_str(v, "m", mcring_value_new_map());
    mcring_value_map_add_str(v, "s", str(""));
    return v;
}

static mcring_value *astral(void)
{
    /* "\U0001F600 \U0001D11E" */
    return str("\xf0\x9f\x98\x80 \xf0\x9d\x84\x9e");
}

static mcring_value *doubles(void)
{
    static const double d[] = {0.1, -0.0, 1e300, 5e-324, 1.5, 1e16, 1e-5,
                               NAN, INFINITY, -INFINITY};
    mcring_value *a = mcring_value_new_array();
    for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++)
        mcring_value_array_push(a, mcring_value_new_double(d[i]));
    return a;
}

static mcring_value *integers(void)
{
    mcring_value *a = mcring_value_new_array();
    mcring_value_array_push(a, mcring_value_new_int(INT64_MAX));
    mcring_value_array_push(a, mcring_value_new_int(INT64_MIN));
    mcring_value_array_push(a, mcring_value_new_uint((uint64_t)INT64_MAX + 1));
    mcring_value_array_push(a, mcring_value_new_uint(UINT64_MAX));
    mcring_value_array_push(a, mcring_value_new_int(0));
    return a;
}

static mcring_value *scalars(void)
{
    mcring_value *a = mcring_value_new_array();
    mcring_value_array_push(a, mcring_value_new_bool(1));
    mcring_value_array_push(a, mcring_value_new_bool(0));
    mcring_value_array_push(a, mcring_value_new_null());
    return a;
}

static const struct {
    const char *key;
    mcring_value *(*build)(void);
    const char *python; /* the same value as Python's json reads it */
} cases[] = {
    {"nested", nested,
     "{\"user\": {\"name\": \"caf\\u00e9\", \"tags\": [\"a\", \"\\u2603\"], "
     "\"n\": [1, -2, 3.5]}, \"e\": [], \"m\": {}, \"s\": \"\"}"},
    {"astral", astral, "\"\\ud83d\\ude00 \\ud834\\udd1e\""},
    {"doubles", doubles,
     "[0.1, -0.0, 1e+300, 5e-324, 1.5, 1e+16, 1e-05, NaN, Infinity, "
     "-Infinity]"},
    {"integers", integers,
     "[9223372036854775807, -9223372036854775808, 9223372036854775808, "
     "18446744073709551615, 0]"},
    {"scalars", scalars, "[true, false, null]"},
    {"empty_map", mcring_value_new_map, "{}"},
    {"empty_list", mcring_value_new_array, "[]"},
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

Test(swift_codecs, swift_writes_mcring_reads)
{
    char ops[4096];
    size_t off = (size_t)snprintf(ops, sizeof(ops), "[");
    for (size_t i = 0; i < NCASES; i++)
        off += (size_t)snprintf(ops + off, sizeof(ops) - off,
                                "%s{\"op\": \"set\", \"key\": \"%s\", "
                                "\"value\": %s}",
                                i ? ", " : "", cases[i].key, cases[i].python);
    snprintf(ops + off, sizeof(ops) - off, "]");
    free(swift(ops));

    mcring_item it = MCRING_ITEM_INIT;
    mcring_item again = MCRING_ITEM_INIT;
    for (size_t i = 0; i < NCASES; i++) {
        const char *key = cases[i].key;
        mcring_value *want = cases[i].build(), *got;
        cr_assert_eq(
            mcring_get_value(fleet.client, key, strlen(key), &it, &got),
            MCRING_OK, "%s", key);
        cr_assert_eq(it.flags, MCRING_FLAG_JSON, "%s", key);
        cr_assert(mcring_value_equal(want, got), "%s: %s", key, it.data);
        /* And mcring writes Swift's bytes exactly. */
        cr_assert_eq(mcring_codec_encode(mcring_codec_json(), got, &again), 0);
        cr_assert_eq(again.len, it.len, "%s", key);
        cr_assert(memcmp(again.data, it.data, it.len) == 0, "%s: %s vs %s",
                  key, again.data, it.data);
        mcring_value_free(got);
        mcring_value_free(want);
    }
    mcring_item_release(&again);
    mcring_item_release(&it);
}

Test(swift_codecs, mcring_writes_swift_reads)
{
    char ops[4096];
    size_t off = (size_t)snprintf(ops, sizeof(ops), "[");
    for (size_t i = 0; i < NCASES; i++) {
        mcring_value *v = cases[i].build();
        cr_assert_eq(mcring_set_value(fleet.client, cases[i].key,
                                      strlen(cases[i].key), v, "json", 0),
                     MCRING_OK);
        mcring_value_free(v);
        off += (size_t)snprintf(ops + off, sizeof(ops) - off,
                                "%s{\"op\": \"check\", \"key\": \"%s\", "
                                "\"expect\": %s}",
                                i ? ", " : "", cases[i].key, cases[i].python);
    }
    snprintf(ops + off, sizeof(ops) - off, "]");
    char *out = swift(ops);
    char *line = out;
    for (size_t i = 0; i < NCASES; i++) {
        char *nl = strchr(line, '\n');
        cr_assert_not_null(nl, "%s", out);
        *nl = '\0';
        cr_assert_str_eq(line, "true", "%s: Swift read %s", cases[i].key, line);
        line = nl + 1;
    }
    free(out);
}

Test(swift_codecs, floats_are_written_byte_for_byte_as_python_does)
{
    /* Every power of two (where the shortest repr is hardest), its
     * neighbour, and random doubles: mcring's re-encoding of what Swift
     * wrote must be the same bytes. */
    free(swift("[{\"op\": \"set_floats\", \"key\": \"f\", \"count\": 20000, "
               "\"seed\": 4}]"));
    mcring_item it = MCRING_ITEM_INIT, again = MCRING_ITEM_INIT;
    mcring_value *v;
    cr_assert_eq(mcring_get_value(fleet.client, "f", 1, &it, &v), MCRING_OK);
    cr_assert_gt(mcring_value_count(v), 24000);
    cr_assert_eq(mcring_codec_encode(mcring_codec_json(), v, &again), 0);
    cr_assert_eq(again.len, it.len);
    if (memcmp(again.data, it.data, it.len) != 0) {
        size_t i = 0;
        while (again.data[i] == it.data[i])
            i++;
        cr_assert_fail("differ at byte %zu: ours '%.40s' Swift's '%.40s'", i,
                       again.data + i, it.data + i);
    }
    mcring_value_free(v);
    mcring_item_release(&again);
    mcring_item_release(&it);
}

Test(swift_codecs, integers_beyond_64_bits_are_undecodable_with_bytes)
{
    free(swift("[{\"op\": \"set\", \"key\": \"huge\", \"value\": "
               "{\"n\": 18446744073709551616}}, "
               "{\"op\": \"set\", \"key\": \"neg\", \"value\": "
               "-9223372036854775809}]"));
    mcring_item it = MCRING_ITEM_INIT;
    mcring_value *v;
    cr_assert_eq(mcring_get_value(fleet.client, "huge", 4, &it, &v),
                 MCRING_UNDECODABLE);
    cr_assert_null(v);
    cr_assert_eq(it.flags, MCRING_FLAG_JSON);
    cr_assert_str_eq(it.data, "{\"n\": 18446744073709551616}");
    cr_assert_eq(mcring_get_value(fleet.client, "neg", 3, &it, &v),
                 MCRING_UNDECODABLE);
    cr_assert_str_eq(it.data, "-9223372036854775809");
    mcring_item_release(&it);
}

Test(swift_codecs, batches_with_a_server_key_both_ways)
{
    free(swift("[{\"op\": \"set_multi\", \"server_key\": \"/a/c\", "
               "\"mapping\": [[\"o1\", {\"x\": [NaN]}], [\"o2\", \"\\u00e9\"]]}]"));
    mcring_key keys[3] = {{"o1", 2}, {"o2", 2}, {"o3", 2}};
    mcring_value *got[3];
    int st[3];
    cr_assert_eq(mcring_get_multi_values(fleet.client, keys, 3, "/a/c", 4, NULL,
                                         got, st),
                 0);
    cr_assert_eq(st[0], MCRING_OK);
    cr_assert_eq(st[1], MCRING_OK);
    cr_assert_eq(st[2], MCRING_MISS);
    double d;
    cr_assert_eq(mcring_value_get_double(
                     mcring_value_array_at(
                         mcring_value_map_find(got[0], "x", 1), 0),
                     &d),
                 0);
    cr_assert(isnan(d));
    cr_assert_str_eq(mcring_value_get_string(got[1], NULL), "\xc3\xa9");
    mcring_value_free(got[0]);
    mcring_value_free(got[1]);

    mcring_value *a = astral(), *i = integers();
    mcring_value_kv kv[2] = {{"p1", 2, a}, {"p2", 2, i}};
    cr_assert_eq(
        mcring_set_multi_values(fleet.client, kv, 2, "json", "/a/d", 4, 0, st),
        0);
    char *out = swift("[{\"op\": \"get_multi\", \"server_key\": \"/a/d\", "
                      "\"keys\": [\"p1\", \"p2\", \"p3\"]}]");
    cr_assert_str_eq(out, "[\"\\ud83d\\ude00 \\ud834\\udd1e\", "
                          "[9223372036854775807, -9223372036854775808, "
                          "9223372036854775808, 18446744073709551615, 0], "
                          "null]\n");
    free(out);
    mcring_value_free(a);
    mcring_value_free(i);
}

Test(swift_codecs, swift_reads_msgpack_items_as_plain_bytes)
{
    /* Bit 32 is neither pickle (1) nor JSON (2): Swift hands the bytes
     * over untouched, and never unpickles them. */
    mcring_value *v = integers();
    cr_assert_eq(mcring_set_value(fleet.client, "mp", 2, v, "msgpack", 0),
                 MCRING_OK);
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_get(fleet.client, "mp", 2, &it), MCRING_OK);
    char expect[256] = "{\"bytes_hex\": \"";
    size_t off = strlen(expect);
    for (size_t k = 0; k < it.len; k++)
        off += (size_t)sprintf(expect + off, "%02x", (unsigned char)it.data[k]);
    sprintf(expect + off, "\"}\n");
    char *out = swift("[{\"op\": \"get\", \"key\": \"mp\"}]");
    cr_assert_str_eq(out, expect);
    free(out);
    mcring_item_release(&it);
    mcring_value_free(v);
}
