/* Reading the third-party test data (JSONTestSuite, msgpack-test-suite)
 * from $MCRING_TESTDATA (meson option -Dtestdata). Missing data fails the
 * test: a conformance run that silently checks nothing would pass. */
#ifndef MCRING_TEST_TESTDATA_H
#define MCRING_TEST_TESTDATA_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

/* $MCRING_TESTDATA/<sub> into buf. */
static inline const char *testdata_path(char *buf, size_t len, const char *sub)
{
    const char *root = getenv("MCRING_TESTDATA");
    cr_assert(root != NULL && *root != '\0',
              "MCRING_TESTDATA is not set: run through meson test "
              "(-Dtestdata=DIR)");
    snprintf(buf, len, "%s/%s", root, sub);
    return buf;
}

/* The whole file, malloc'd (NUL-terminated); fails the test if missing. */
static inline char *testdata_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s: the test data is missing "
                          "(set -Dtestdata=DIR)", path);
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1)
            break;
        cap *= 2;
        buf = realloc(buf, cap);
    }
    cr_assert_eq(ferror(f), 0, "reading %s", path);
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

#endif
