/* Compression interop with pymemcache (python3-pymemcache): values its
 * CompressedSerde stores (zlib under flag 8) are read by mcring, and what
 * mcring stores with compression = zlib is read by pymemcache, the stored
 * bytes being Python's zlib.compress() of the value, byte for byte
 * (tests/interop/pymemcache_compress.py is pymemcache's side). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static mc_server srv;
static char script[512];

static void setup(void)
{
    snprintf(script, sizeof(script), "%s/interop/pymemcache_compress.py",
             env_path("MCRING_TEST_SOURCE"));
    mc_start(&srv, NULL);
}

static void teardown(void)
{
    mc_stop(&srv);
}

TestSuite(pymemcache_compression, .init = setup, .fini = teardown,
          .timeout = 120);

static char *python(const char *mode, const char *const *keys, size_t n)
{
    char *argv[16] = {(char *)env_path("MCRING_TEST_PYTHON"), script,
                      (char *)mode, srv.name};
    for (size_t i = 0; i < n; i++)
        argv[4 + i] = (char *)keys[i];
    argv[4 + n] = NULL;
    char *out;
    size_t len;
    cr_assert_eq(run_capture(argv, NULL, 0, &out, &len), 0,
                 "pymemcache's side failed (is python3-pymemcache installed?)");
    return out;
}

static size_t unhex(const char *hex, char *out)
{
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned b;
        sscanf(hex + 2 * i, "%2x", &b);
        out[i] = (char)b;
    }
    return n;
}

static mcring_client *zlib_client(void)
{
    /* Raw keys: the same key on the wire as pymemcache's. */
    mcring_options *o = opts_for(srv.name, "key_mode", "raw", "compression",
                                 "zlib", NULL);
    mcring_client *c = client_for(o);
    mcring_options_free(o);
    return c;
}

Test(pymemcache_compression, what_pymemcache_stores_mcring_reads)
{
    char *out = python("write", NULL, 0);
    mcring_client *c = zlib_client();
    mcring_item it = MCRING_ITEM_INIT;
    int compressed = 0, lines = 0;
    char *save, *line = strtok_r(out, "\n", &save);
    for (; line != NULL; line = strtok_r(NULL, "\n", &save)) {
        char key[64], hex[20000];
        unsigned flags;
        cr_assert_eq(sscanf(line, "%63s %u %19999s", key, &flags, hex), 3,
                     "%s", line);
        char *want = malloc(strlen(hex) / 2 + 1);
        size_t n = unhex(hex, want);
        cr_assert_eq(mcring_get(c, key, strlen(key), &it), MCRING_OK, "%s",
                     key);
        cr_assert_eq(it.len, n, "%s", key);
        cr_assert(memcmp(it.data, want, n) == 0, "%s", key);
        cr_assert_eq(it.flags, flags & ~MCRING_FLAG_ZLIB,
                     "%s: pymemcache's own flags, the zlib bit cleared", key);
        compressed += (flags & MCRING_FLAG_ZLIB) != 0;
        lines++;
        free(want);
    }
    cr_assert_eq(lines, 4);
    cr_assert_eq(compressed, 2, "bytes and text above 400 bytes");
    mcring_item_release(&it);
    mcring_client_free(c);
    free(out);
}

Test(pymemcache_compression, what_mcring_stores_pymemcache_reads)
{
    mcring_client *c = zlib_client();
    char json[6000];
    size_t jn = 0;
    for (int i = 0; jn + 64 < sizeof(json); i++)
        jn += (size_t)snprintf(json + jn, sizeof(json) - jn,
                               "{\"name\": \"obj-%04d\", \"size\": %d}, ", i,
                               i * 41);
    char noise[2000];
    uint64_t s = 99;
    for (size_t i = 0; i < sizeof(noise); i++) {
        s = s * 6364136223846793005u + 1442695040888963407u;
        noise[i] = (char)(s >> 56);
    }
    struct {
        const char *key;
        const char *value;
        size_t len;
        uint32_t flags; /* given to mcring_set */
        uint32_t stored;
    } cases[] = {
        {"mc-bytes", json, jn, 0, MCRING_FLAG_ZLIB},
        {"mc-text", json, jn, 16, 16 | MCRING_FLAG_ZLIB}, /* FLAG_TEXT */
        {"mc-short", "small", 5, 0, 0},
        {"mc-noise", noise, sizeof(noise), 0, 0},
    };
    const char *keys[4];
    for (int i = 0; i < 4; i++) {
        keys[i] = cases[i].key;
        cr_assert_eq(mcring_set(c, cases[i].key, strlen(cases[i].key),
                                cases[i].value, cases[i].len, cases[i].flags,
                                0),
                     MCRING_OK);
    }
    char *out = python("read", keys, 4);
    char *save, *line = strtok_r(out, "\n", &save);
    for (int i = 0; i < 4; i++, line = strtok_r(NULL, "\n", &save)) {
        cr_assert_not_null(line);
        char key[64], same[16];
        static char hex[20000];
        unsigned flags;
        cr_assert_eq(sscanf(line, "%63s %u %19999s %15s", key, &flags, hex,
                            same),
                     4, "%s", line);
        cr_assert_str_eq(key, cases[i].key);
        cr_assert_eq(flags, cases[i].stored, "%s", key);
        char *got = malloc(strlen(hex) / 2 + 1);
        size_t n = unhex(hex, got);
        /* pymemcache read back the value mcring was given (str values
         * come back decoded: the same UTF-8 here). */
        cr_assert_eq(n, cases[i].len, "%s", key);
        cr_assert(memcmp(got, cases[i].value, n) == 0, "%s", key);
        if (cases[i].stored & MCRING_FLAG_ZLIB)
            cr_assert_str_eq(same, "same",
                             "%s: stored as zlib.compress(value)", key);
        free(got);
    }
    free(out);
    mcring_client_free(c);
}
