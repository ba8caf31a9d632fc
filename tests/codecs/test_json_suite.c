/*
 * JSONTestSuite (test_parsing): every y_ file decodes (and survives a
 * round trip), every n_ file is refused in strict mode, and in the default
 * mode too except the three that are Python's NaN and infinities, which
 * Swift writes. Each i_ file's outcome is pinned here and listed in
 * docs/codecs.md.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include <mcring.h>

#include "testdata.h"

typedef void (*file_fn)(const char *name, const char *text, size_t len);

/* Calls fn for every file of the suite whose name starts with prefix;
 * returns how many. */
static int each_file(const char *prefix, file_fn fn)
{
    char dir[4096];
    testdata_path(dir, sizeof(dir), "JSONTestSuite/test_parsing");
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "cannot open %s: the test data is missing", dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
            continue;
        char path[8192];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        size_t len;
        char *text = testdata_read(path, &len);
        fn(e->d_name, text, len);
        free(text);
        n++;
    }
    closedir(d);
    return n;
}

static void must_decode(const char *name, const char *text, size_t len)
{
    for (unsigned opts = 0; opts <= MCRING_JSON_STRICT; opts++) {
        mcring_value *v, *back;
        char err[160] = "";
        cr_assert_eq(mcring_json_decode(text, len, opts, &v, err, sizeof(err)),
                     0, "%s (opts %u): %s", name, opts, err);
        /* What we write reads back as the same value. */
        mcring_item out = MCRING_ITEM_INIT;
        cr_assert_eq(mcring_json_encode(v, 0, &out), 0, "%s", name);
        cr_assert_eq(mcring_json_decode(out.data, out.len, opts, &back, err,
                                        sizeof(err)),
                     0, "%s: %s", name, err);
        cr_assert(mcring_value_equal(v, back), "%s: %s", name, out.data);
        mcring_value_free(back);
        mcring_item_release(&out);
        mcring_value_free(v);
    }
}

Test(json_suite, every_y_file_decodes)
{
    cr_assert_eq(each_file("y_", must_decode), 95);
}

/* Python's json.loads reads these; Swift writes them (json.dumps of nan,
 * inf, -inf), so mcring reads them unless asked for strict RFC 8259. */
static const struct {
    const char *name;
    double value;
} python_extensions[] = {
    {"n_number_NaN.json", NAN},
    {"n_number_infinity.json", INFINITY},
    {"n_number_minus_infinity.json", -INFINITY},
};

static void must_fail(const char *name, const char *text, size_t len)
{
    mcring_value *v;
    cr_assert_eq(mcring_json_decode(text, len, MCRING_JSON_STRICT, &v, NULL, 0),
                 MCRING_EDECODE, "%s decoded in strict mode", name);
    int rc = mcring_json_decode(text, len, 0, &v, NULL, 0);
    for (size_t i = 0; i < 3; i++) {
        if (strcmp(name, python_extensions[i].name) != 0)
            continue;
        cr_assert_eq(rc, 0, "%s", name);
        double d;
        cr_assert_eq(mcring_value_get_double(mcring_value_array_at(v, 0), &d),
                     0);
        double want = python_extensions[i].value;
        cr_assert(isnan(want) ? isnan(d) : d == want, "%s: %g", name, d);
        mcring_value_free(v);
        return;
    }
    cr_assert_eq(rc, MCRING_EDECODE, "%s decoded", name);
}

Test(json_suite, every_n_file_is_refused)
{
    cr_assert_eq(each_file("n_", must_fail), 188);
}

/* What mcring does with each i_ file (and what Python's json.loads does
 * with the same bytes), as docs/codecs.md lists them. */
typedef enum { REJECT, ZERO, PLUS_INF, MINUS_INF, ACCEPT } outcome;

static const struct {
    const char *name;
    outcome mcring;
} i_files[] = {
    {"i_number_double_huge_neg_exp.json", ZERO},
    {"i_number_huge_exp.json", PLUS_INF},
    {"i_number_neg_int_huge_exp.json", MINUS_INF},
    {"i_number_pos_double_huge_exp.json", PLUS_INF},
    {"i_number_real_neg_overflow.json", MINUS_INF},
    {"i_number_real_pos_overflow.json", PLUS_INF},
    {"i_number_real_underflow.json", ZERO},
    {"i_number_too_big_neg_int.json", REJECT},
    {"i_number_too_big_pos_int.json", REJECT},
    {"i_number_very_big_negative_int.json", REJECT},
    {"i_object_key_lone_2nd_surrogate.json", REJECT},
    {"i_string_1st_surrogate_but_2nd_missing.json", REJECT},
    {"i_string_1st_valid_surrogate_2nd_invalid.json", REJECT},
    {"i_string_UTF-16LE_with_BOM.json", REJECT},
    {"i_string_UTF-8_invalid_sequence.json", REJECT},
    {"i_string_UTF8_surrogate_U+D800.json", REJECT},
    {"i_string_incomplete_surrogate_and_escape_valid.json", REJECT},
    {"i_string_incomplete_surrogate_pair.json", REJECT},
    {"i_string_incomplete_surrogates_escape_valid.json", REJECT},
    {"i_string_invalid_lonely_surrogate.json", REJECT},
    {"i_string_invalid_surrogate.json", REJECT},
    {"i_string_invalid_utf-8.json", REJECT},
    {"i_string_inverted_surrogates_U+1D11E.json", REJECT},
    {"i_string_iso_latin_1.json", REJECT},
    {"i_string_lone_second_surrogate.json", REJECT},
    {"i_string_lone_utf8_continuation_byte.json", REJECT},
    {"i_string_not_in_unicode_range.json", REJECT},
    {"i_string_overlong_sequence_2_bytes.json", REJECT},
    {"i_string_overlong_sequence_6_bytes.json", REJECT},
    {"i_string_overlong_sequence_6_bytes_null.json", REJECT},
    {"i_string_truncated-utf-8.json", REJECT},
    {"i_string_utf16BE_no_BOM.json", REJECT},
    {"i_string_utf16LE_no_BOM.json", REJECT},
    {"i_structure_500_nested_arrays.json", ACCEPT},
    {"i_structure_UTF-8_BOM_empty_object.json", ACCEPT},
};
#define N_I_FILES (sizeof(i_files) / sizeof(i_files[0]))

static void as_listed(const char *name, const char *text, size_t len)
{
    size_t i = 0;
    while (i < N_I_FILES && strcmp(i_files[i].name, name) != 0)
        i++;
    cr_assert(i < N_I_FILES, "%s is not listed (nor in docs/codecs.md)", name);
    mcring_value *v;
    int rc = mcring_json_decode(text, len, 0, &v, NULL, 0);
    if (i_files[i].mcring == REJECT) {
        cr_assert_eq(rc, MCRING_EDECODE, "%s decoded", name);
        return;
    }
    cr_assert_eq(rc, 0, "%s refused", name);
    double d = 0;
    if (i_files[i].mcring != ACCEPT)
        cr_assert_eq(mcring_value_get_double(mcring_value_array_at(v, 0), &d),
                     0, "%s", name);
    switch (i_files[i].mcring) {
    case ZERO:
        cr_assert(d == 0.0, "%s: %g", name, d);
        break;
    case PLUS_INF:
        cr_assert(isinf(d) && d > 0, "%s: %g", name, d);
        break;
    case MINUS_INF:
        cr_assert(isinf(d) && d < 0, "%s: %g", name, d);
        break;
    default:
        break;
    }
    mcring_value_free(v);
}

Test(json_suite, every_i_file_does_what_the_docs_say)
{
    cr_assert_eq(each_file("i_", as_listed), (int)N_I_FILES,
                 "an i_ file listed here is missing from the suite");
}
