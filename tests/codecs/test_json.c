/* The JSON codec: Swift's (Python's json.dumps) output byte for byte, and
 * what json.loads reads back. No sockets. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mcring.h>

static mcring_value *decode_ok(const char *text)
{
    mcring_value *v;
    char err[160] = "";
    int rc = mcring_json_decode(text, strlen(text), 0, &v, err, sizeof(err));
    cr_assert_eq(rc, 0, "%s: %s", text, err);
    return v;
}

static void decode_fails(const char *text, unsigned opts, const char *why)
{
    mcring_value *v = (mcring_value *)1;
    char err[160] = "";
    int rc = mcring_json_decode(text, strlen(text), opts, &v, err, sizeof(err));
    cr_assert_eq(rc, MCRING_EDECODE, "%s decoded", text);
    cr_assert_null(v, "%s", text);
    cr_assert(strstr(err, why) != NULL, "%s: '%s' lacks '%s'", text, err, why);
}

/* Decodes text and checks that encoding gives `expect` exactly. */
static void reencodes(const char *text, const char *expect)
{
    mcring_value *v = decode_ok(text);
    mcring_item out = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_json_encode(v, 0, &out), 0, "%s", text);
    cr_assert_eq(out.flags, MCRING_FLAG_JSON);
    cr_assert_str_eq(out.data, expect, "from %s", text);
    cr_assert_eq(out.len, strlen(expect));
    mcring_item_release(&out);
    mcring_value_free(v);
}

Test(json, writes_what_python_json_dumps_writes)
{
    /* Every expectation is json.dumps() output of Python 3.11 for the
     * value the input denotes. */
    reencodes("{\"a\":[1,2.5,\"x\"],\"b\":null,\"c\":true,\"d\":false}",
              "{\"a\": [1, 2.5, \"x\"], \"b\": null, \"c\": true, "
              "\"d\": false}");
    reencodes("[]", "[]");
    reencodes("{}", "{}");
    reencodes("[[], {}, [{}]]", "[[], {}, [{}]]");
    reencodes("\"\\u00e9\\ud83d\\ude00\"", "\"\\u00e9\\ud83d\\ude00\"");
    reencodes("\"\xc3\xa9\xf0\x9f\x98\x80\"", "\"\\u00e9\\ud83d\\ude00\"");
    reencodes("\"\\u0000\\u001f\\u007f\\/\\\\\\\"\\b\\f\\n\\r\\t\"",
              "\"\\u0000\\u001f\\u007f/\\\\\\\"\\b\\f\\n\\r\\t\"");
    reencodes("\"\xef\xbf\xbf\xf4\x8f\xbf\xbf\"", "\"\\uffff\\udbff\\udfff\"");
    reencodes("[NaN, Infinity, -Infinity]", "[NaN, Infinity, -Infinity]");
    reencodes("[-0, -0.0, 0.0, 1.0, 1E2, 1e-7]",
              "[0, -0.0, 0.0, 1.0, 100.0, 1e-07]");
    reencodes("[0.1, 0.3, 1e16, 1e15, 0.0001, 0.00001, 1e100, 5e-324]",
              "[0.1, 0.3, 1e+16, 1000000000000000.0, 0.0001, 1e-05, 1e+100, "
              "5e-324]");
    reencodes("[1.7976931348623157e308, 2.2250738585072014e-308, 1e23]",
              "[1.7976931348623157e+308, 2.2250738585072014e-308, 1e+23]");
    reencodes("[9223372036854775807, -9223372036854775808, "
              "9223372036854775808, 18446744073709551615]",
              "[9223372036854775807, -9223372036854775808, "
              "9223372036854775808, 18446744073709551615]");
    reencodes("[1e400, -1e400, 123e-10000000]", "[Infinity, -Infinity, 0.0]");
}

Test(json, integers_are_exact_in_both_64_bit_ranges)
{
    mcring_value *v = decode_ok("[-9223372036854775808, 9223372036854775807, "
                                "9223372036854775808, 18446744073709551615]");
    int64_t i;
    uint64_t u;
    cr_assert_eq(mcring_value_get_int(mcring_value_array_at(v, 0), &i), 0);
    cr_assert_eq(i, INT64_MIN);
    cr_assert_eq(mcring_value_get_int(mcring_value_array_at(v, 1), &i), 0);
    cr_assert_eq(i, INT64_MAX);
    cr_assert_eq(mcring_value_kind_of(mcring_value_array_at(v, 2)),
                 MCRING_VALUE_UINT);
    cr_assert_eq(mcring_value_get_uint(mcring_value_array_at(v, 3), &u), 0);
    cr_assert_eq(u, UINT64_MAX);
    mcring_value_free(v);
    /* Beyond 64 bits Python has big integers and mcring does not: such a
     * value is refused (rounding it to a double would change it quietly). */
    decode_fails("18446744073709551616", 0, "beyond the 64-bit range");
    decode_fails("[-9223372036854775809]", 0, "beyond the 64-bit range");
    decode_fails("{\"n\": 100000000000000000000000}", 0, "64-bit");
}

Test(json, non_finite_numbers_unless_strict)
{
    mcring_value *v = decode_ok("[NaN, Infinity, -Infinity]");
    double d;
    cr_assert_eq(mcring_value_get_double(mcring_value_array_at(v, 0), &d), 0);
    cr_assert(isnan(d));
    cr_assert_eq(mcring_value_get_double(mcring_value_array_at(v, 1), &d), 0);
    cr_assert(isinf(d) && d > 0);
    cr_assert_eq(mcring_value_get_double(mcring_value_array_at(v, 2), &d), 0);
    cr_assert(isinf(d) && d < 0);
    mcring_item out = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_json_encode(v, MCRING_JSON_STRICT, &out),
                 MCRING_EENCODE, "RFC 8259 has no NaN");
    cr_assert_eq(out.len, 0);
    mcring_item_release(&out);
    mcring_value_free(v);
    decode_fails("[NaN]", MCRING_JSON_STRICT, "RFC 8259");
    decode_fails("-Infinity", MCRING_JSON_STRICT, "RFC 8259");
    /* Strict mode has no infinities to overflow to: such numbers are
     * refused there (found by the fuzzer: strict decode, then strict
     * encode, must agree). */
    decode_fails("5e444", MCRING_JSON_STRICT, "beyond the double range");
    decode_fails("[-1e309]", MCRING_JSON_STRICT, "beyond the double range");
    decode_fails("[nan]", 0, "invalid literal");
    decode_fails("[-Inf]", 0, "invalid literal");
    decode_fails("[Infinit]", 0, "invalid literal");
}

Test(json, strings_surrogates_and_utf8_as_python_reads_them)
{
    mcring_value *v = decode_ok("\"\\uD834\\uDD1E \\u00E9\\u0000\"");
    size_t len;
    const char *s = mcring_value_get_string(v, &len);
    cr_assert_eq(len, 8);
    cr_assert(memcmp(s, "\xf0\x9d\x84\x9e \xc3\xa9\0", 8) == 0);
    mcring_value_free(v);
    /* Python accepts lone surrogates (its str can hold them); mcring's
     * strings are UTF-8, which cannot: refused. */
    decode_fails("\"\\ud800\"", 0, "lone high surrogate");
    decode_fails("\"\\udc00\"", 0, "lone low surrogate");
    decode_fails("\"\\ud800\\u0041\"", 0, "lone high surrogate");
    decode_fails("\"\\ud800\\n\"", 0, "lone high surrogate");
    decode_fails("\"\xed\xa0\x80\"", 0, "invalid UTF-8");
    decode_fails("\"\xff\"", 0, "invalid UTF-8");
    decode_fails("\"a\\\xff\"", 0, "invalid escape");
    decode_fails("\"\xc3\xa9\\n\xc3\"", 0, "invalid UTF-8");
    decode_fails("\"tab\there\"", 0, "control character");
    decode_fails("\"\\x41\"", 0, "invalid escape");
    decode_fails("\"\\u12G4\"", 0, "invalid \\u escape");
    decode_fails("\"\\u12\"", 0, "invalid \\u escape");
    decode_fails("\"abc", 0, "unterminated");
    decode_fails("\"abc\\\"", 0, "unterminated");
}

Test(json, structure_errors_name_the_byte)
{
    decode_fails("", 0, "at byte 0: unexpected end");
    decode_fails("   ", 0, "unexpected end");
    decode_fails("[1,]", 0, "at byte 3: expected a value");
    decode_fails("[1 2]", 0, "at byte 3: expected ',' or ']'");
    decode_fails("{\"a\":1,}", 0, "expected a string key");
    decode_fails("{\"a\" 1}", 0, "expected ':'");
    decode_fails("{1:2}", 0, "expected a string key");
    decode_fails("{\"a\":1]", 0, "expected ',' or '}'");
    decode_fails("[1] x", 0, "at byte 4: extra data");
    decode_fails("[01]", 0, "expected ',' or ']'");
    decode_fails("[1.]", 0, "no digits after '.'");
    decode_fails("[1e+]", 0, "no digits in the exponent");
    decode_fails("[-]", 0, "invalid number");
    decode_fails("[.5]", 0, "expected a value");
    decode_fails("[tru]", 0, "invalid literal");
    decode_fails("\xef\xbb\xbf", 0, "unexpected end");
}

Test(json, bom_and_whitespace_as_python_accepts_them)
{
    mcring_value *v = decode_ok("\xef\xbb\xbf {\"a\" :\t[ 1 ,\r\n2 ] } \n");
    cr_assert_eq(mcring_value_count(mcring_value_map_find(v, "a", 1)), 2);
    mcring_value_free(v);
    decode_fails("\f[]", 0, "expected a value"); /* form feed is not space */
}

/* n nested arrays around 0. */
static char *nested(size_t n)
{
    char *s = malloc(2 * n + 2);
    memset(s, '[', n);
    s[n] = '0';
    memset(s + n + 1, ']', n);
    s[2 * n + 1] = '\0';
    return s;
}

Test(json, depth_is_bounded)
{
    char *ok = nested(MCRING_VALUE_DEPTH_MAX);
    mcring_value *v = decode_ok(ok);
    mcring_item out = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_json_encode(v, 0, &out), 0);
    cr_assert_eq(out.len, strlen(ok) , "%zu", out.len);
    mcring_item_release(&out);
    mcring_value_free(v);
    free(ok);
    char *deep = nested(MCRING_VALUE_DEPTH_MAX + 1);
    decode_fails(deep, 0, "deeper than 512");
    free(deep);
    /* An empty container counts as a level too. */
    char text[2 * MCRING_VALUE_DEPTH_MAX + 8];
    memset(text, '[', MCRING_VALUE_DEPTH_MAX + 1);
    memset(text + MCRING_VALUE_DEPTH_MAX + 1, ']', MCRING_VALUE_DEPTH_MAX + 1);
    text[2 * MCRING_VALUE_DEPTH_MAX + 2] = '\0';
    decode_fails(text, 0, "deeper than 512");

    /* Values built deeper than the limit are refused by the encoder. */
    mcring_value *d = mcring_value_new_array();
    for (int i = 0; i < MCRING_VALUE_DEPTH_MAX; i++) {
        mcring_value *outer = mcring_value_new_array();
        mcring_value_array_push(outer, d);
        d = outer;
    }
    cr_assert_eq(mcring_json_encode(d, 0, &out), MCRING_EENCODE);
    mcring_item_release(&out);
    mcring_value_free(d);
}

Test(json, size_is_bounded)
{
    /* The length is checked before the bytes are looked at. */
    static const char one = '1';
    mcring_value *v;
    char err[128];
    cr_assert_eq(mcring_json_decode(&one, MCRING_VALUE_INPUT_MAX + 1, 0, &v,
                                    err, sizeof(err)),
                 MCRING_EDECODE);
    cr_assert(strstr(err, "larger than") != NULL, "%s", err);
}

Test(json, keys_become_strings_as_in_python)
{
    mcring_value *m = mcring_value_new_map();
    mcring_value_map_add(m, mcring_value_new_int(-1), mcring_value_new_int(1));
    mcring_value_map_add(m, mcring_value_new_uint(UINT64_MAX),
                         mcring_value_new_int(2));
    mcring_value_map_add(m, mcring_value_new_double(0.5),
                         mcring_value_new_int(3));
    mcring_value_map_add(m, mcring_value_new_double(NAN),
                         mcring_value_new_int(4));
    mcring_value_map_add(m, mcring_value_new_bool(1), mcring_value_new_int(5));
    mcring_value_map_add(m, mcring_value_new_null(), mcring_value_new_int(6));
    mcring_item out = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_json_encode(m, 0, &out), 0);
    /* json.dumps({-1: 1, 2**64-1: 2, 0.5: 3, float('nan'): 4, True: 5,
     *             None: 6}) */
    cr_assert_str_eq(out.data, "{\"-1\": 1, \"18446744073709551615\": 2, "
                               "\"0.5\": 3, \"NaN\": 4, \"true\": 5, "
                               "\"null\": 6}");
    mcring_value_map_add(m, mcring_value_new_array(), mcring_value_new_int(7));
    cr_assert_eq(mcring_json_encode(m, 0, &out), MCRING_EENCODE,
                 "Python: keys must be str, int, float, bool or None");
    mcring_item_release(&out);
    mcring_value_free(m);
}

Test(json, extended_output_shows_what_json_cannot_hold)
{
    mcring_value *m = mcring_value_new_map();
    mcring_value_map_add_str(m, "b", mcring_value_new_bytes("\x00\xff\x10", 3));
    mcring_value_map_add_str(m, "b1", mcring_value_new_bytes("a", 1));
    mcring_value_map_add_str(m, "e", mcring_value_new_ext(5, "ab", 2));
    mcring_value_map_add_str(m, "t", mcring_value_new_timestamp(-5, 7));
    mcring_item out = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_json_encode(m, 0, &out), MCRING_EENCODE,
                 "bytes are not JSON");
    cr_assert_eq(mcring_json_encode(m, MCRING_JSON_EXTENDED, &out), 0);
    cr_assert_str_eq(out.data,
                     "{\"b\": {\"$bytes\": \"AP8Q\"}, \"b1\": {\"$bytes\": "
                     "\"YQ==\"}, \"e\": {\"$ext\": [5, \"YWI=\"]}, \"t\": "
                     "{\"$timestamp\": [-5, 7]}}");
    cr_assert_eq(mcring_json_encode(m, 4, &out), MCRING_EINVAL, "unknown opt");
    mcring_value_free(m);

    /* A map with a key JSON cannot name is written as its pairs. */
    m = mcring_value_new_map();
    mcring_value *k = mcring_value_new_array();
    mcring_value_array_push(k, mcring_value_new_int(1));
    mcring_value_map_add(m, k, mcring_value_new_null());
    mcring_value_map_add_str(m, "s", mcring_value_new_int(2));
    cr_assert_eq(mcring_json_encode(m, 0, &out), MCRING_EENCODE);
    cr_assert_eq(mcring_json_encode(m, MCRING_JSON_EXTENDED, &out), 0);
    cr_assert_str_eq(out.data, "{\"$map\": [[[1], null], [\"s\", 2]]}");
    mcring_item_release(&out);
    mcring_value_free(m);
}

Test(json, extended_output_stays_linear_in_nested_keys)
{
    /* Found by the msgpack fuzzer: maps used as keys of maps used as keys
     * ... once made the extended output double per level (each level
     * escaped as a string again): 157 input bytes asked for 2 GiB. */
    mcring_value *v = mcring_value_new_null();
    for (int i = 0; i < 64; i++) {
        mcring_value *m = mcring_value_new_map();
        cr_assert_eq(mcring_value_map_add(m, v, mcring_value_new_int(i)), 0);
        v = m;
    }
    mcring_item out = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_json_encode(v, MCRING_JSON_EXTENDED, &out), 0);
    cr_assert_lt(out.len, 64 * 32, "%zu bytes", out.len);
    const char *prefix = "{\"$map\": [[{\"$map\": [[";
    cr_assert(strncmp(out.data, prefix, strlen(prefix)) == 0, "%s", out.data);
    mcring_item_release(&out);
    mcring_value_free(v);
}

Test(json, duplicate_keys_are_kept_and_the_last_is_found)
{
    mcring_value *v = decode_ok("{\"a\": 1, \"a\": 2}");
    cr_assert_eq(mcring_value_count(v), 2);
    int64_t i;
    cr_assert_eq(mcring_value_get_int(mcring_value_map_find(v, "a", 1), &i), 0);
    cr_assert_eq(i, 2, "json.loads keeps the last");
    mcring_value_free(v);
}

Test(json, arguments_are_checked)
{
    mcring_value *v = (mcring_value *)1;
    cr_assert_eq(mcring_json_decode(NULL, 1, 0, &v, NULL, 0), MCRING_EINVAL);
    cr_assert_null(v);
    cr_assert_eq(mcring_json_decode("1", 1, MCRING_JSON_EXTENDED, &v, NULL, 0),
                 MCRING_EINVAL, "extended is for output only");
    cr_assert_eq(mcring_json_decode("1", 1, 0, NULL, NULL, 0), MCRING_EINVAL);
    mcring_item out = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_json_encode(NULL, 0, &out), MCRING_EINVAL);
    /* The codec vtable gives the same bytes as the function. */
    v = decode_ok("{\"x\": [1.5, \"\\u2603\"]}");
    cr_assert_eq(mcring_codec_encode(mcring_codec_json(), v, &out), 0);
    cr_assert_str_eq(out.data, "{\"x\": [1.5, \"\\u2603\"]}");
    cr_assert_eq(out.flags, 2);
    mcring_value *back;
    cr_assert_eq(mcring_codec_decode(mcring_codec_json(), out.data, out.len,
                                     &back),
                 0);
    cr_assert(mcring_value_equal(v, back));
    mcring_value_free(back);
    cr_assert_eq(mcring_codec_decode(mcring_codec_json(), "{", 1, &back),
                 MCRING_EDECODE);
    cr_assert_null(back);
    mcring_item_release(&out);
    mcring_value_free(v);
}
