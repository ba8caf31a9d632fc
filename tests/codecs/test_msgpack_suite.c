/*
 * msgpack-test-suite (dist/msgpack-test-suite.json, read with mcring's own
 * JSON decoder): every listed encoding of every value decodes to that
 * value, and encoding the value gives the first (shortest) listed form.
 *
 * One listed pair cannot both come first: 2^63-1 is listed as d3... (int
 * 64) before cf... (uint 64), both nine bytes, while 2^32 lists cf first.
 * mcring writes every non-negative integer in its unsigned form (as
 * msgpack-c does), so for that value the test accepts the other listed
 * form of the same, shortest, length, and counts that it happens once.
 */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <string.h>

#include <mcring.h>

#include "testdata.h"

/* "00-ff" (or "") into bytes; returns the length. */
static size_t from_hex(const char *hex, unsigned char *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = hex; *p != '\0';) {
        unsigned b;
        cr_assert_eq(sscanf(p, "%2x", &b), 1, "bad hex %s", hex);
        cr_assert(n < cap);
        out[n++] = (unsigned char)b;
        p += 2;
        if (*p == '-')
            p++;
    }
    return n;
}

/* Bytes as the suite writes them: "00-ff". */
static void to_hex(const unsigned char *p, size_t n, char *out)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        o += (size_t)sprintf(out + o, i > 0 ? "-%02x" : "%02x", p[i]);
}

static const char *str_of(const mcring_value *v)
{
    const char *s = mcring_value_get_string(v, NULL);
    cr_assert_not_null(s);
    return s;
}

/* Numbers compare by value across int, uint and double (1 is listed with
 * float encodings); everything else as mcring_value_equal does. */
static bool same(const mcring_value *want, const mcring_value *got)
{
    mcring_value_kind kw = mcring_value_kind_of(want);
    mcring_value_kind kg = mcring_value_kind_of(got);
    bool nw = kw == MCRING_VALUE_INT || kw == MCRING_VALUE_UINT ||
              kw == MCRING_VALUE_DOUBLE;
    bool ng = kg == MCRING_VALUE_INT || kg == MCRING_VALUE_UINT ||
              kg == MCRING_VALUE_DOUBLE;
    if (nw && ng) {
        long double a, b; /* 64-bit mantissa: exact for every int64/uint64 */
        int64_t i;
        uint64_t u;
        double d;
        if (mcring_value_get_int(want, &i) == 0)
            a = i;
        else if (mcring_value_get_uint(want, &u) == 0)
            a = u;
        else
            mcring_value_get_double(want, &d), a = d;
        if (mcring_value_get_int(got, &i) == 0)
            b = i;
        else if (mcring_value_get_uint(got, &u) == 0)
            b = u;
        else
            mcring_value_get_double(got, &d), b = d;
        return a == b;
    }
    if (kw != kg)
        return false;
    if (kw == MCRING_VALUE_ARRAY) {
        if (mcring_value_count(want) != mcring_value_count(got))
            return false;
        for (size_t i = 0; i < mcring_value_count(want); i++)
            if (!same(mcring_value_array_at(want, i),
                      mcring_value_array_at(got, i)))
                return false;
        return true;
    }
    if (kw == MCRING_VALUE_MAP) {
        if (mcring_value_count(want) != mcring_value_count(got))
            return false;
        for (size_t i = 0; i < mcring_value_count(want); i++)
            if (!same(mcring_value_map_key_at(want, i),
                      mcring_value_map_key_at(got, i)) ||
                !same(mcring_value_map_value_at(want, i),
                      mcring_value_map_value_at(got, i)))
                return false;
        return true;
    }
    return mcring_value_equal(want, got);
}

/* The value an entry stands for, new (the caller frees it). */
static mcring_value *expected(const mcring_value *entry)
{
    unsigned char buf[256];
    const mcring_value *x;
    if ((x = mcring_value_map_find(entry, "bignum", 6)) != NULL) {
        const char *s = str_of(x);
        if (s[0] == '-')
            return mcring_value_new_int(strtoll(s, NULL, 10));
        return mcring_value_new_uint(strtoull(s, NULL, 10));
    }
    if ((x = mcring_value_map_find(entry, "binary", 6)) != NULL)
        return mcring_value_new_bytes(buf, from_hex(str_of(x), buf,
                                                    sizeof(buf)));
    if ((x = mcring_value_map_find(entry, "timestamp", 9)) != NULL) {
        int64_t sec, nsec;
        cr_assert_eq(mcring_value_get_int(mcring_value_array_at(x, 0), &sec), 0);
        cr_assert_eq(mcring_value_get_int(mcring_value_array_at(x, 1), &nsec),
                     0);
        return mcring_value_new_timestamp(sec, (uint32_t)nsec);
    }
    if ((x = mcring_value_map_find(entry, "ext", 3)) != NULL) {
        int64_t type;
        cr_assert_eq(mcring_value_get_int(mcring_value_array_at(x, 0), &type),
                     0);
        size_t n = from_hex(str_of(mcring_value_array_at(x, 1)), buf,
                            sizeof(buf));
        return mcring_value_new_ext((int8_t)type, buf, n);
    }
    /* nil, bool, number, string, array, map: the JSON value itself, which
     * re-encoded as JSON and decoded again is a fresh copy. */
    static const char *const plain[] = {"nil", "bool", "number", "string",
                                        "array", "map"};
    for (size_t i = 0; i < 6; i++)
        if ((x = mcring_value_map_find(entry, plain[i], strlen(plain[i]))) !=
            NULL) {
            mcring_item text = MCRING_ITEM_INIT;
            mcring_value *copy;
            cr_assert_eq(mcring_json_encode(x, 0, &text), 0);
            cr_assert_eq(mcring_json_decode(text.data, text.len, 0, &copy,
                                            NULL, 0),
                         0);
            mcring_item_release(&text);
            return copy;
        }
    cr_assert_fail("an entry of an unknown kind");
    return NULL;
}

Test(msgpack_suite, every_form_decodes_and_the_shortest_is_written)
{
    char path[4096];
    size_t len;
    char *text = testdata_read(
        testdata_path(path, sizeof(path),
                      "msgpack-test-suite/dist/msgpack-test-suite.json"),
        &len);
    mcring_value *suite;
    char err[160];
    cr_assert_eq(mcring_json_decode(text, len, 0, &suite, err, sizeof(err)), 0,
                 "%s", err);
    free(text);

    int entries = 0, forms = 0, ties = 0;
    for (size_t g = 0; g < mcring_value_count(suite); g++) {
        const char *group = str_of(mcring_value_map_key_at(suite, g));
        const mcring_value *list = mcring_value_map_value_at(suite, g);
        for (size_t e = 0; e < mcring_value_count(list); e++) {
            const mcring_value *entry = mcring_value_array_at(list, e);
            const mcring_value *encodings =
                mcring_value_map_find(entry, "msgpack", 7);
            mcring_value *want = expected(entry);
            cr_assert_not_null(want, "%s #%zu", group, e);
            entries++;

            for (size_t f = 0; f < mcring_value_count(encodings); f++) {
                const char *hex = str_of(mcring_value_array_at(encodings, f));
                unsigned char bin[256];
                size_t n = from_hex(hex, bin, sizeof(bin));
                mcring_value *got;
                cr_assert_eq(mcring_msgpack_decode(bin, n, &got, err,
                                                   sizeof(err)),
                             0, "%s #%zu %s: %s", group, e, hex, err);
                cr_assert(same(want, got), "%s #%zu: %s decoded to another "
                                           "value",
                          group, e, hex);
                mcring_value_free(got);
                forms++;
            }

            mcring_item out = MCRING_ITEM_INIT;
            cr_assert_eq(mcring_codec_encode(mcring_codec_msgpack(), want, &out),
                         0, "%s #%zu", group, e);
            char ours[800];
            to_hex((const unsigned char *)out.data, out.len, ours);
            const char *first = str_of(mcring_value_array_at(encodings, 0));
            if (strcmp(ours, first) != 0) {
                bool listed = false;
                for (size_t f = 1; f < mcring_value_count(encodings); f++)
                    listed |= strcmp(ours, str_of(mcring_value_array_at(
                                               encodings, f))) == 0;
                cr_assert(listed && strlen(ours) == strlen(first),
                          "%s #%zu: wrote %s, the shortest is %s", group, e,
                          ours, first);
                ties++;
            }
            mcring_item_release(&out);
            mcring_value_free(want);
        }
    }
    mcring_value_free(suite);
    cr_assert_eq(entries, 85, "every entry of the suite was read");
    cr_assert_eq(ties, 1, "only 2^63-1 has two shortest forms listed");
    cr_assert(forms > entries);
}
