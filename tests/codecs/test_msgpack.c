/* The msgpack codec: shortest forms out, every valid form in, ext and
 * timestamps, and a decoder that stays bounded on hostile input. The
 * msgpack-test-suite runner (test_msgpack_suite.c) covers the rest of the
 * format's vectors. No sockets. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mcring.h>

static void encodes_to(mcring_value *v, const char *hex)
{
    mcring_item out = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_codec_encode(mcring_codec_msgpack(), v, &out), 0);
    cr_assert_eq(out.flags, MCRING_FLAG_MSGPACK);
    char got[256] = "";
    for (size_t i = 0; i < out.len && 2 * i + 2 < sizeof(got); i++)
        sprintf(got + 2 * i, "%02x", (unsigned char)out.data[i]);
    cr_assert_str_eq(got, hex);
    mcring_value *back;
    cr_assert_eq(mcring_msgpack_decode(out.data, out.len, &back, NULL, 0), 0);
    cr_assert(mcring_value_equal(v, back), "%s round trip", hex);
    mcring_value_free(back);
    mcring_item_release(&out);
    mcring_value_free(v);
}

static mcring_value *decode_hex(const char *hex, int expect_rc, char *err,
                                size_t errlen)
{
    size_t n = strlen(hex) / 2;
    unsigned char *buf = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        sscanf(hex + 2 * i, "%2hhx", &buf[i]);
    mcring_value *v = (mcring_value *)1;
    int rc = mcring_msgpack_decode(buf, n, &v, err, errlen);
    free(buf);
    cr_assert_eq(rc, expect_rc, "%s: %d %s", hex, rc, err ? err : "");
    if (rc != 0)
        cr_assert_null(v);
    return v;
}

static void decode_fails(const char *hex, const char *why)
{
    char err[160] = "";
    decode_hex(hex, MCRING_EDECODE, err, sizeof(err));
    cr_assert(strstr(err, why) != NULL, "%s: '%s' lacks '%s'", hex, err, why);
}

Test(msgpack, integers_take_their_shortest_form)
{
    encodes_to(mcring_value_new_int(0), "00");
    encodes_to(mcring_value_new_int(127), "7f");
    encodes_to(mcring_value_new_int(128), "cc80");
    encodes_to(mcring_value_new_int(65536), "ce00010000");
    encodes_to(mcring_value_new_int(-1), "ff");
    encodes_to(mcring_value_new_int(-32), "e0");
    encodes_to(mcring_value_new_int(-33), "d0df");
    encodes_to(mcring_value_new_int(-129), "d1ff7f");
    encodes_to(mcring_value_new_int(INT64_MIN), "d38000000000000000");
    encodes_to(mcring_value_new_int(INT64_MAX), "cf7fffffffffffffff");
    encodes_to(mcring_value_new_uint(UINT64_MAX), "cfffffffffffffffff");
}

Test(msgpack, doubles_a_float_holds_exactly_are_float32)
{
    encodes_to(mcring_value_new_double(0.5), "ca3f000000");
    encodes_to(mcring_value_new_double(1.0), "ca3f800000");
    encodes_to(mcring_value_new_double(-0.0), "ca80000000");
    encodes_to(mcring_value_new_double(INFINITY), "ca7f800000");
    encodes_to(mcring_value_new_double(0.1), "cb3fb999999999999a");
    encodes_to(mcring_value_new_double(1e300), "cb7e37e43c8800759c");
    /* NaN: one value in the model, written as a float32 quiet NaN. */
    mcring_value *nan = mcring_value_new_double(NAN);
    mcring_item out = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_codec_encode(mcring_codec_msgpack(), nan, &out), 0);
    cr_assert_eq(out.len, 5);
    cr_assert_eq((unsigned char)out.data[0], 0xca);
    mcring_value *back;
    cr_assert_eq(mcring_msgpack_decode(out.data, out.len, &back, NULL, 0), 0);
    cr_assert(mcring_value_equal(nan, back));
    mcring_value_free(back);
    mcring_item_release(&out);
    mcring_value_free(nan);
}

Test(msgpack, strings_bytes_and_containers)
{
    encodes_to(mcring_value_new_string("", 0), "a0");
    char s32[33];
    memset(s32, 'x', 32);
    encodes_to(mcring_value_new_string(s32, 32),
               "d920787878787878787878787878787878787878787878787878787878787878"
               "7878");
    encodes_to(mcring_value_new_bytes("\x01", 1), "c40101");
    encodes_to(mcring_value_new_array(), "90");
    encodes_to(mcring_value_new_map(), "80");
    mcring_value *m = mcring_value_new_map();
    mcring_value_map_add(m, mcring_value_new_int(1), mcring_value_new_null());
    mcring_value *key = mcring_value_new_array();
    mcring_value_array_push(key, mcring_value_new_bool(1));
    mcring_value_map_add(m, key, mcring_value_new_bool(0));
    encodes_to(m, "8201c091c3c2");
}

Test(msgpack, ext_and_the_three_timestamp_forms)
{
    encodes_to(mcring_value_new_ext(1, "\x10", 1), "d40110");
    encodes_to(mcring_value_new_ext(-128, "abc", 3), "c70380616263");
    encodes_to(mcring_value_new_timestamp(1514862245, 0), "d6ff5a4af6a5");
    encodes_to(mcring_value_new_timestamp(1514862245, 678901234),
               "d7ffa1dcd7c85a4af6a5");
    encodes_to(mcring_value_new_timestamp(-1, 0),
               "c70cff00000000ffffffffffffffff");
    /* An ext of type -1 that is not a valid timestamp stays an ext, so its
     * bytes come back unchanged. */
    mcring_value *v = decode_hex("d6ff00000000", 0, NULL, 0);
    cr_assert_eq(mcring_value_kind_of(v), MCRING_VALUE_TIMESTAMP);
    mcring_value_free(v);
    v = decode_hex("d5ff0000", 0, NULL, 0);
    cr_assert_eq(mcring_value_kind_of(v), MCRING_VALUE_EXT, "2-byte -1");
    mcring_value_free(v);
    v = decode_hex("d7fffffffffc00000000", 0, NULL, 0);
    cr_assert_eq(mcring_value_kind_of(v), MCRING_VALUE_EXT, "nsec > 999999999");
    encodes_to(v, "d7fffffffffc00000000");
}

Test(msgpack, every_length_form_decodes)
{
    static const char *const forms[] = {
        "a3616263", "d903616263", "da0003616263", "db00000003616263",
    };
    for (size_t i = 0; i < 4; i++) {
        mcring_value *v = decode_hex(forms[i], 0, NULL, 0);
        cr_assert_str_eq(mcring_value_get_string(v, NULL), "abc");
        mcring_value_free(v);
    }
    mcring_value *v = decode_hex("dd0000000201dc000102", 0, NULL, 0);
    cr_assert_eq(mcring_value_count(v), 2);
    mcring_value_free(v);
    v = decode_hex("df00000001a161de0000", 0, NULL, 0);
    cr_assert_eq(mcring_value_kind_of(mcring_value_map_find(v, "a", 1)),
                 MCRING_VALUE_MAP);
    mcring_value_free(v);
    v = decode_hex("d3fffffffffffffffe", 0, NULL, 0);
    int64_t i;
    cr_assert_eq(mcring_value_get_int(v, &i), 0);
    cr_assert_eq(i, -2);
    mcring_value_free(v);
}

Test(msgpack, bad_input_is_refused_with_a_reason)
{
    decode_fails("", "truncated");
    decode_fails("c1", "0xc1");
    decode_fails("a261", "truncated");
    decode_fails("cd01", "truncated");
    decode_fails("9201", "truncated");
    decode_fails("0101", "extra bytes");
    decode_fails("a2ff61", "not valid UTF-8");
    decode_fails("a3eda080", "not valid UTF-8");
    decode_fails("c7", "truncated");
    decode_fails("d401", "truncated");
    decode_fails("81a161", "truncated");
}

Test(msgpack, claimed_sizes_never_reserve_more_than_the_input_holds)
{
    /* Five bytes claiming 2^32-1 items, entries or bytes: refused at once,
     * without asking for memory (msgpack-c's unpacker asks for 128 GiB). */
    decode_fails("ddffffffff", "truncated");
    decode_fails("dfffffffff", "truncated");
    decode_fails("dbffffffff", "truncated");
    decode_fails("c6ffffffff", "truncated");
    decode_fails("c9ffffffff01", "truncated");
    /* A map needs two bytes per entry. */
    decode_fails("de000201", "truncated");
}

Test(msgpack, depth_is_bounded)
{
    unsigned char buf[MCRING_VALUE_DEPTH_MAX + 2];
    memset(buf, 0x91, sizeof(buf));
    buf[MCRING_VALUE_DEPTH_MAX] = 0xc0;
    mcring_value *v;
    cr_assert_eq(mcring_msgpack_decode(buf, MCRING_VALUE_DEPTH_MAX + 1, &v,
                                       NULL, 0),
                 0, "512 levels");
    mcring_value_free(v);
    char err[128];
    buf[MCRING_VALUE_DEPTH_MAX] = 0x90; /* an empty array is a level too */
    cr_assert_eq(mcring_msgpack_decode(buf, MCRING_VALUE_DEPTH_MAX + 1, &v,
                                       err, sizeof(err)),
                 MCRING_EDECODE);
    cr_assert(strstr(err, "deeper than 512") != NULL, "%s", err);
    buf[MCRING_VALUE_DEPTH_MAX] = 0x91;
    buf[MCRING_VALUE_DEPTH_MAX + 1] = 0xc0;
    cr_assert_eq(mcring_msgpack_decode(buf, sizeof(buf), &v, NULL, 0),
                 MCRING_EDECODE);
    cr_assert_null(v);
}

Test(msgpack, what_cannot_be_encoded)
{
    mcring_value *d = mcring_value_new_array();
    for (int i = 0; i < MCRING_VALUE_DEPTH_MAX; i++) {
        mcring_value *outer = mcring_value_new_array();
        mcring_value_array_push(outer, d);
        d = outer;
    }
    mcring_item out = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_codec_encode(mcring_codec_msgpack(), d, &out),
                 MCRING_EENCODE);
    cr_assert_eq(out.len, 0);
    mcring_item_release(&out);
    mcring_value_free(d);
}
