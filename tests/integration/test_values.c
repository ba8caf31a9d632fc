/* Value-level calls against real memcached: each codec round trip, the
 * flags on the wire, decoding by flags (pickle, unknown flags, bytes that
 * do not decode), an added codec, and the multi-key calls. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "toy_codec.h"

static mc_fleet fleet;

static void setup(void)
{
    fleet_start(&fleet, 2);
}

static void teardown(void)
{
    fleet_stop(&fleet);
}

TestSuite(values, .init = setup, .fini = teardown, .timeout = 60);

/* {"id": 7, "name": "caf\u00e9 \U0001F600", "score": -0.5, "big":
 *  2^64-1, "nested": [[], {}, null, true, NaN]} */
static mcring_value *record(void)
{
    mcring_value *m = mcring_value_new_map();
    mcring_value_map_add_str(m, "id", mcring_value_new_int(7));
    mcring_value_map_add_str(m, "name",
                             mcring_value_new_string("caf\xc3\xa9 \xf0\x9f\x98\x80",
                                                     10));
    mcring_value_map_add_str(m, "score", mcring_value_new_double(-0.5));
    mcring_value_map_add_str(m, "big", mcring_value_new_uint(UINT64_MAX));
    mcring_value *a = mcring_value_new_array();
    mcring_value_array_push(a, mcring_value_new_array());
    mcring_value_array_push(a, mcring_value_new_map());
    mcring_value_array_push(a, mcring_value_new_null());
    mcring_value_array_push(a, mcring_value_new_bool(1));
    mcring_value_array_push(a, mcring_value_new_double(NAN));
    mcring_value_map_add_str(m, "nested", a);
    return m;
}

Test(values, each_codec_round_trips)
{
    static const char *const codecs[] = {"json", "msgpack", NULL};
    mcring_value *v = record();
    mcring_item it = MCRING_ITEM_INIT;
    for (int i = 0; i < 3; i++) {
        char key[16];
        snprintf(key, sizeof(key), "rec-%d", i);
        cr_assert_eq(
            mcring_set_value(fleet.client, key, strlen(key), v, codecs[i], 0),
            MCRING_OK);
        mcring_value *back;
        cr_assert_eq(
            mcring_get_value(fleet.client, key, strlen(key), &it, &back),
            MCRING_OK, "%s", key);
        cr_assert(mcring_value_equal(v, back), "%s", key);
        cr_assert_eq(it.flags, codecs[i] && strcmp(codecs[i], "msgpack") == 0
                                   ? MCRING_FLAG_MSGPACK
                                   : MCRING_FLAG_JSON,
                     "NULL means Swift's JSON");
        mcring_value_free(back);
    }
    mcring_item_release(&it);
    mcring_value_free(v);
}

Test(values, the_bytes_on_the_wire)
{
    mcring_value *v = mcring_value_new_map();
    mcring_value_map_add_str(v, "a", mcring_value_new_int(1));
    cr_assert_eq(mcring_set_value(fleet.client, "j", 1, v, "json", 0),
                 MCRING_OK);
    cr_assert_eq(mcring_set_value(fleet.client, "m", 1, v, "msgpack", 0),
                 MCRING_OK);
    mcring_value_free(v);
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_get(fleet.client, "j", 1, &it), MCRING_OK);
    cr_assert_eq(it.flags, 2);
    cr_assert_str_eq(it.data, "{\"a\": 1}");
    cr_assert_eq(mcring_get(fleet.client, "m", 1, &it), MCRING_OK);
    cr_assert_eq(it.flags, 32);
    cr_assert_eq(it.len, 4);
    cr_assert(memcmp(it.data, "\x81\xa1" "a\x01", 4) == 0);

    v = mcring_value_new_bytes("\x00\r\n", 3);
    cr_assert_eq(mcring_set_value(fleet.client, "r", 1, v, "raw", 0),
                 MCRING_OK);
    mcring_value_free(v);
    cr_assert_eq(mcring_get(fleet.client, "r", 1, &it), MCRING_OK);
    cr_assert_eq(it.flags, 0);
    cr_assert_eq(it.len, 3);
    cr_assert(memcmp(it.data, "\x00\r\n", 3) == 0);
    mcring_item_release(&it);
}

Test(values, reads_decode_by_flags)
{
    mcring_item it = MCRING_ITEM_INIT;
    mcring_value *v;
    /* Raw bytes with flags nobody claims come back as bytes, flags kept. */
    cr_assert_eq(mcring_set(fleet.client, "u", 1, "xyz", 3, 0x400, 0),
                 MCRING_OK);
    cr_assert_eq(mcring_get_value(fleet.client, "u", 1, &it, &v), MCRING_OK);
    size_t len;
    const char *b = mcring_value_get_bytes(v, &len);
    cr_assert_eq(len, 3);
    cr_assert(memcmp(b, "xyz", 3) == 0);
    cr_assert_eq(it.flags, 0x400);
    mcring_value_free(v);

    /* Pickle is never decoded: undecodable, bytes and flags kept. */
    cr_assert_eq(mcring_set(fleet.client, "p", 1, "\x80\x04K\x01.", 5, 1, 0),
                 MCRING_OK);
    cr_assert_eq(mcring_get_value(fleet.client, "p", 1, &it, &v),
                 MCRING_UNDECODABLE);
    cr_assert_null(v);
    cr_assert_eq(it.flags, 1);
    cr_assert_eq(it.len, 5);

    /* JSON- and msgpack-flagged bytes that do not decode: a result of
     * their own, not a miss, and the bytes stay available. */
    cr_assert_eq(mcring_set(fleet.client, "bj", 2, "{\"a\":", 5, 2, 0),
                 MCRING_OK);
    cr_assert_eq(mcring_get_value(fleet.client, "bj", 2, &it, &v),
                 MCRING_UNDECODABLE);
    cr_assert_null(v);
    cr_assert_str_eq(it.data, "{\"a\":");
    cr_assert_eq(mcring_set(fleet.client, "bm", 2, "\xc1", 1, 32, 0),
                 MCRING_OK);
    cr_assert_eq(mcring_get_value(fleet.client, "bm", 2, &it, &v),
                 MCRING_UNDECODABLE);
    cr_assert_eq(it.len, 1);

    /* The bits of two codecs: which one wrote it cannot be known. */
    cr_assert_eq(mcring_set(fleet.client, "two", 3, "1", 1, 2 | 32, 0),
                 MCRING_OK);
    cr_assert_eq(mcring_get_value(fleet.client, "two", 3, &it, &v),
                 MCRING_UNDECODABLE);

    cr_assert_eq(mcring_get_value(fleet.client, "none", 4, &it, &v),
                 MCRING_MISS);
    cr_assert_null(v);
    cr_assert_eq(mcring_get_value(fleet.client, "bj", 2, NULL, &v),
                 MCRING_UNDECODABLE, "the item is optional");
    cr_assert_eq(mcring_get_value(fleet.client, "u", 1, NULL, &v), MCRING_OK);
    mcring_value_free(v);
    cr_assert_eq(mcring_get_value(fleet.client, "u", 1, &it, NULL),
                 MCRING_EINVAL);
    mcring_item_release(&it);
}

Test(values, encoding_failures_send_nothing)
{
    mcring_value *m = mcring_value_new_map();
    mcring_value_map_add_str(m, "b", mcring_value_new_bytes("x", 1));
    cr_assert_eq(mcring_set_value(fleet.client, "k", 1, m, "json", 0),
                 MCRING_EENCODE, "JSON has no bytes");
    cr_assert_eq(mcring_set_value(fleet.client, "k", 1, m, "raw", 0),
                 MCRING_EENCODE);
    cr_assert_eq(mcring_set_value(fleet.client, "k", 1, m, "yaml", 0),
                 MCRING_ECODEC);
    cr_assert_eq(mcring_set_value(fleet.client, "k", 1, NULL, "json", 0),
                 MCRING_EINVAL);
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_get(fleet.client, "k", 1, &it), MCRING_MISS);
    cr_assert_eq(mcring_set_value(fleet.client, "k", 1, m, "msgpack", 0),
                 MCRING_OK, "msgpack has bytes");
    mcring_item_release(&it);
    mcring_value_free(m);
}

/* An added codec: values are integers stored as text, flag 0x100. */
Test(values, an_added_codec_works_end_to_end)
{
    mcring_codec dec = decimal_codec("decimal", 0x100);
    cr_assert_eq(mcring_client_add_codec(fleet.client, &dec, NULL, 0), 0);
    mcring_value *v = mcring_value_new_int(-99), *back;
    cr_assert_eq(mcring_set_value(fleet.client, "d", 1, v, "decimal", 0),
                 MCRING_OK);
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_get_value(fleet.client, "d", 1, &it, &back), MCRING_OK);
    cr_assert_eq(it.flags, 0x100);
    cr_assert(mcring_value_equal(v, back));
    mcring_value_free(back);

    /* A fleet.client without the codec reads the same item as bytes. */
    mcring_client *plain = client_for(fleet.opts);
    cr_assert_eq(mcring_get_value(plain, "d", 1, &it, &back), MCRING_OK);
    cr_assert_eq(mcring_value_kind_of(back), MCRING_VALUE_BYTES);
    cr_assert_str_eq(mcring_value_get_bytes(back, NULL), "-99");
    mcring_value_free(back);
    mcring_client_free(plain);
    mcring_item_release(&it);
    mcring_value_free(v);
}

Test(values, multi_calls_decode_each_item)
{
    mcring_value *vals[3] = {mcring_value_new_string("one", 3),
                             mcring_value_new_int(2), mcring_value_new_map()};
    mcring_value_map_add_str(vals[2], "three", mcring_value_new_double(3.5));
    mcring_value_kv kv[3] = {{"a", 1, vals[0]}, {"b", 1, vals[1]},
                             {"c", 1, vals[2]}};
    int st[5];
    for (int pass = 0; pass < 2; pass++) {
        /* With a server_key (Swift's batches) and without. */
        const char *sk = pass == 0 ? "/acct/cont" : NULL;
        size_t sklen = sk ? strlen(sk) : 0;
        cr_assert_eq(mcring_set_multi_values(fleet.client, kv, 3, "msgpack", sk,
                                             sklen, 0, st),
                     0);
        for (int i = 0; i < 3; i++)
            cr_assert_eq(st[i], MCRING_OK);
        mcring_kv pickled = {"p", 1, "x", 1, MCRING_FLAG_PICKLE};
        if (sk != NULL)
            cr_assert_eq(
                mcring_set_multi(fleet.client, &pickled, 1, sk, sklen, 0, NULL),
                0);
        mcring_key keys[5] = {{"a", 1}, {"b", 1}, {"c", 1}, {"zz", 2},
                              {"p", 1}};
        mcring_item items[5] = {MCRING_ITEM_INIT, MCRING_ITEM_INIT,
                                MCRING_ITEM_INIT, MCRING_ITEM_INIT,
                                MCRING_ITEM_INIT};
        mcring_value *got[5];
        cr_assert_eq(mcring_get_multi_values(fleet.client, keys, 5, sk, sklen,
                                             pass == 0 ? items : NULL, got, st),
                     0);
        for (int i = 0; i < 3; i++) {
            cr_assert_eq(st[i], MCRING_OK, "key %d", i);
            cr_assert(mcring_value_equal(vals[i], got[i]), "key %d", i);
            mcring_value_free(got[i]);
        }
        cr_assert_eq(st[3], MCRING_MISS);
        cr_assert_null(got[3]);
        if (sk != NULL) {
            cr_assert_eq(st[4], MCRING_UNDECODABLE, "pickled");
            cr_assert_eq(items[4].flags, 1);
        }
        cr_assert_null(got[4]);
        if (pass == 0)
            cr_assert_eq(items[0].flags, MCRING_FLAG_MSGPACK);
        for (int i = 0; i < 5; i++)
            mcring_item_release(&items[i]);
    }

    /* One value the codec cannot write: nothing is sent. */
    mcring_value *bytes = mcring_value_new_bytes("b", 1);
    mcring_value_kv bad[3] = {{"x1", 2, vals[0]}, {"x2", 2, bytes},
                              {"x3", 2, vals[1]}};
    cr_assert_eq(
        mcring_set_multi_values(fleet.client, bad, 3, "json", NULL, 0, 0, st),
        MCRING_EENCODE);
    cr_assert_eq(st[0], MCRING_ECANCELED);
    cr_assert_eq(st[1], MCRING_EENCODE);
    cr_assert_eq(st[2], MCRING_ECANCELED);
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_get(fleet.client, "x1", 2, &it), MCRING_MISS);
    cr_assert_eq(
        mcring_set_multi_values(fleet.client, bad, 3, "nope", NULL, 0, 0, st),
        MCRING_ECODEC);
    cr_assert_eq(
        mcring_set_multi_values(fleet.client, NULL, 0, NULL, NULL, 0, 0, st),
        0);
    mcring_value *none[1];
    cr_assert_eq(
        mcring_get_multi_values(fleet.client, NULL, 0, NULL, 0, NULL, none, st),
        0);
    mcring_item_release(&it);
    mcring_value_free(bytes);
    for (int i = 0; i < 3; i++)
        mcring_value_free(vals[i]);
}
