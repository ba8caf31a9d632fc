/* The value model: constructors, ownership, accessors, equality, freeing
 * at any depth. No sockets. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include <mcring.h>

Test(value, scalars_keep_what_they_were_given)
{
    mcring_value *v = mcring_value_new_int(-42);
    int64_t i;
    uint64_t u;
    double d;
    int b;
    cr_assert_eq(mcring_value_kind_of(v), MCRING_VALUE_INT);
    cr_assert_eq(mcring_value_get_int(v, &i), 0);
    cr_assert_eq(i, -42);
    cr_assert_eq(mcring_value_get_uint(v, &u), MCRING_EINVAL, "negative");
    cr_assert_eq(mcring_value_get_double(v, &d), 0);
    cr_assert_eq(d, -42.0);
    cr_assert_eq(mcring_value_get_bool(v, &b), MCRING_EINVAL);
    mcring_value_free(v);

    v = mcring_value_new_bool(7);
    cr_assert_eq(mcring_value_get_bool(v, &b), 0);
    cr_assert_eq(b, 1, "booleans are 0 or 1");
    mcring_value_free(v);

    v = mcring_value_new_double(-0.0);
    cr_assert_eq(mcring_value_get_double(v, &d), 0);
    cr_assert(signbit(d), "negative zero survives");
    cr_assert_eq(mcring_value_get_int(v, &i), MCRING_EINVAL);
    mcring_value_free(v);

    v = mcring_value_new_null();
    cr_assert_eq(mcring_value_kind_of(v), MCRING_VALUE_NULL);
    cr_assert_str_eq(mcring_value_kind_name(mcring_value_kind_of(v)), "null");
    mcring_value_free(v);
    cr_assert_str_eq(mcring_value_kind_name((mcring_value_kind)99), "unknown");
}

Test(value, an_integer_has_one_representation)
{
    /* new_uint of a number that fits int64 is an INT, so decoders and
     * callers agree on kinds. */
    mcring_value *a = mcring_value_new_uint(5), *b = mcring_value_new_int(5);
    cr_assert_eq(mcring_value_kind_of(a), MCRING_VALUE_INT);
    cr_assert(mcring_value_equal(a, b));
    mcring_value_free(a);
    mcring_value_free(b);

    a = mcring_value_new_uint((uint64_t)INT64_MAX + 1);
    cr_assert_eq(mcring_value_kind_of(a), MCRING_VALUE_UINT);
    uint64_t u;
    int64_t i;
    cr_assert_eq(mcring_value_get_uint(a, &u), 0);
    cr_assert_eq(u, (uint64_t)INT64_MAX + 1);
    cr_assert_eq(mcring_value_get_int(a, &i), MCRING_EINVAL, "does not fit");
    mcring_value_free(a);

    a = mcring_value_new_int(INT64_MAX);
    cr_assert_eq(mcring_value_get_uint(a, &u), 0);
    cr_assert_eq(u, (uint64_t)INT64_MAX);
    mcring_value_free(a);
}

Test(value, strings_must_be_utf8_and_may_hold_nul)
{
    mcring_value *s = mcring_value_new_string("a\0b\xc3\xa9", 5);
    cr_assert_not_null(s);
    size_t len;
    const char *p = mcring_value_get_string(s, &len);
    cr_assert_eq(len, 5);
    cr_assert(memcmp(p, "a\0b\xc3\xa9", 5) == 0);
    cr_assert_eq(p[5], '\0', "NUL-terminated");
    cr_assert_null(mcring_value_get_bytes(s, NULL), "a string is not bytes");
    mcring_value_free(s);

    static const char *const invalid[] = {
        "\xff", "\xc0\xaf", "\xed\xa0\x80" /* U+D800 */, "\xf4\x90\x80\x80",
        "\xe2\x82", "\x80",
    };
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
        cr_assert_null(mcring_value_new_string(invalid[i], strlen(invalid[i])),
                       "case %zu", i);
    s = mcring_value_new_string("\xf0\x9f\x98\x80", 4);
    cr_assert_not_null(s, "astral characters are fine");
    mcring_value_free(s);
    s = mcring_value_new_string(NULL, 0);
    cr_assert_not_null(s);
    cr_assert_str_eq(mcring_value_get_string(s, NULL), "");
    mcring_value_free(s);
}

Test(value, bytes_ext_and_timestamps)
{
    mcring_value *b = mcring_value_new_bytes("\x00\xff", 2);
    size_t len;
    const unsigned char *p = mcring_value_get_bytes(b, &len);
    cr_assert_eq(len, 2);
    cr_assert_eq(p[1], 0xff);
    mcring_value_free(b);

    mcring_value *e = mcring_value_new_ext(7, "xyz", 3);
    int8_t type;
    const void *data;
    cr_assert_eq(mcring_value_get_ext(e, &type, &data, &len), 0);
    cr_assert_eq(type, 7);
    cr_assert_eq(len, 3);
    cr_assert(memcmp(data, "xyz", 3) == 0);
    mcring_value_free(e);

    mcring_value *t = mcring_value_new_timestamp(-1, 999999999);
    int64_t sec;
    uint32_t nsec;
    cr_assert_eq(mcring_value_get_timestamp(t, &sec, &nsec), 0);
    cr_assert_eq(sec, -1);
    cr_assert_eq(nsec, 999999999);
    cr_assert_eq(mcring_value_get_ext(t, NULL, NULL, NULL), MCRING_EINVAL);
    mcring_value_free(t);
    cr_assert_null(mcring_value_new_timestamp(0, 1000000000));
}

Test(value, containers_own_what_is_put_in_them)
{
    mcring_value *a = mcring_value_new_array();
    cr_assert_eq(mcring_value_array_push(a, mcring_value_new_int(1)), 0);
    cr_assert_eq(mcring_value_array_push(a, mcring_value_new_string("x", 1)),
                 0);
    mcring_value *m = mcring_value_new_map();
    cr_assert_eq(mcring_value_map_add_str(m, "k", mcring_value_new_null()), 0);
    cr_assert_eq(mcring_value_array_push(a, m), 0);
    cr_assert_eq(mcring_value_count(a), 3);
    cr_assert_eq(mcring_value_kind_of(mcring_value_array_at(a, 2)),
                 MCRING_VALUE_MAP);
    cr_assert_null(mcring_value_array_at(a, 3));
    cr_assert_null(mcring_value_map_key_at(a, 0), "not a map");

    /* Failures still take the item: a NULL from a constructor, a wrong
     * container, the container itself. */
    cr_assert_eq(mcring_value_array_push(a, NULL), MCRING_EINVAL);
    cr_assert_eq(mcring_value_array_push(m, mcring_value_new_int(1)),
                 MCRING_EINVAL, "a map is not an array (item freed)");
    cr_assert_eq(mcring_value_array_push(a, a), MCRING_EINVAL);
    cr_assert_eq(mcring_value_map_add(a, mcring_value_new_int(1),
                                      mcring_value_new_int(2)),
                 MCRING_EINVAL, "key and value freed");
    cr_assert_eq(mcring_value_map_add_str(m, "\xff", mcring_value_new_int(1)),
                 MCRING_EINVAL, "a key that is not UTF-8");
    cr_assert_eq(mcring_value_map_add_str(m, NULL, mcring_value_new_int(1)),
                 MCRING_EINVAL);
    cr_assert_eq(mcring_value_count(a), 3);
    cr_assert_eq(mcring_value_count(m), 1);
    mcring_value_free(a); /* frees m and everything else */
    mcring_value_free(NULL);
}

Test(value, map_lookups_find_the_last_repeat)
{
    mcring_value *m = mcring_value_new_map();
    cr_assert_eq(mcring_value_map_add_str(m, "a", mcring_value_new_int(1)), 0);
    cr_assert_eq(mcring_value_map_add(m, mcring_value_new_int(5),
                                      mcring_value_new_int(2)),
                 0, "keys of any kind");
    cr_assert_eq(mcring_value_map_add_str(m, "a", mcring_value_new_int(3)), 0);
    int64_t i;
    cr_assert_eq(mcring_value_get_int(mcring_value_map_find(m, "a", 1), &i), 0);
    cr_assert_eq(i, 3, "as in a Python dict built from the pairs");
    cr_assert_null(mcring_value_map_find(m, "b", 1));
    cr_assert_eq(mcring_value_count(m), 3, "repeats are kept");
    cr_assert_eq(mcring_value_get_int(mcring_value_map_key_at(m, 1), &i), 0);
    cr_assert_eq(i, 5);
    cr_assert_eq(mcring_value_get_int(mcring_value_map_value_at(m, 1), &i), 0);
    cr_assert_eq(i, 2);
    cr_assert_null(mcring_value_map_value_at(m, 3));
    mcring_value_free(m);
}

static mcring_value *sample(double d)
{
    mcring_value *m = mcring_value_new_map();
    mcring_value *a = mcring_value_new_array();
    mcring_value_array_push(a, mcring_value_new_double(d));
    mcring_value_array_push(a, mcring_value_new_bytes("b", 1));
    mcring_value_map_add_str(m, "list", a);
    mcring_value_map_add_str(m, "ts", mcring_value_new_timestamp(1, 2));
    return m;
}

Test(value, equality_is_deep_and_nan_equals_nan)
{
    mcring_value *a = sample(NAN), *b = sample(NAN), *c = sample(1.0);
    cr_assert(mcring_value_equal(a, b));
    cr_assert_not(mcring_value_equal(a, c));
    cr_assert(mcring_value_equal(NULL, NULL));
    cr_assert_not(mcring_value_equal(a, NULL));
    mcring_value *s = mcring_value_new_string("b", 1);
    mcring_value *y = mcring_value_new_bytes("b", 1);
    cr_assert_not(mcring_value_equal(s, y), "kinds differ");
    mcring_value *e1 = mcring_value_new_ext(1, "b", 1);
    mcring_value *e2 = mcring_value_new_ext(2, "b", 1);
    cr_assert_not(mcring_value_equal(e1, e2), "ext types differ");
    mcring_value *i = mcring_value_new_int(1), *d = mcring_value_new_double(1);
    cr_assert_not(mcring_value_equal(i, d), "1 and 1.0 are different kinds");
    mcring_value *values[] = {a, b, c, s, y, e1, e2, i, d};
    for (size_t k = 0; k < sizeof(values) / sizeof(values[0]); k++)
        mcring_value_free(values[k]);
}

/* A chain of n nested arrays. */
static mcring_value *chain(size_t n)
{
    mcring_value *v = mcring_value_new_array();
    for (size_t i = 1; i < n; i++) {
        mcring_value *outer = mcring_value_new_array();
        cr_assert_eq(mcring_value_array_push(outer, v), 0);
        v = outer;
    }
    return v;
}

Test(value, any_depth_frees_without_recursion)
{
    /* Deeper than any C stack would allow a recursive free. */
    mcring_value *deep = chain(1000000);
    mcring_value_free(deep);

    mcring_value *a = chain(MCRING_VALUE_DEPTH_MAX + 1);
    mcring_value *b = chain(MCRING_VALUE_DEPTH_MAX + 1);
    cr_assert_not(mcring_value_equal(a, b), "too deep to compare");
    mcring_value_free(a);
    mcring_value_free(b);
    a = chain(MCRING_VALUE_DEPTH_MAX);
    b = chain(MCRING_VALUE_DEPTH_MAX);
    cr_assert(mcring_value_equal(a, b));
    mcring_value_free(a);
    mcring_value_free(b);
}
