/* The compression layer through a client, against real memcached: round
 * trips of every codec (the built-in three and an added one) with both
 * algorithms, single and multi-key; what the server holds; reading either
 * algorithm whatever the client writes; and values that are bombs or not
 * streams at all, stored by a client without the layer. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "cli.h"
#include "harness.h"
#include "toy_codec.h"

static mc_server srv;

static void setup(void)
{
    mc_start(&srv, NULL);
}

static void teardown(void)
{
    mc_stop(&srv);
}

TestSuite(compression, .init = setup, .fini = teardown, .timeout = 120);

static mcring_client *client_with(const char *algo, const char *item_max)
{
    mcring_options *o = opts_for(srv.name, "key_mode", "raw", "compression",
                                 algo, "item_size_max", item_max, NULL);
    mcring_client *c = client_for(o);
    mcring_options_free(o);
    return c;
}

/* Flags and length of an item as memcached holds it (raw key mode),
 * asked on a socket of its own: the data may hold any byte. */
static void on_server(const char *key, uint32_t *flags, size_t *len)
{
    int fd = connect_tcp_loopback(srv.port);
    cr_assert_geq(fd, 0);
    char req[300];
    int n = snprintf(req, sizeof(req), "get %s\r\n", key);
    cr_assert_eq(write(fd, req, (size_t)n), n);
    char line[512];
    size_t got = 0;
    while (got < sizeof(line) - 1 && (got == 0 || line[got - 1] != '\n')) {
        ssize_t r = read(fd, line + got, 1);
        cr_assert_eq(r, 1, "the server hung up");
        got++;
    }
    line[got] = '\0';
    unsigned f;
    size_t l;
    char k[256];
    cr_assert_eq(sscanf(line, "VALUE %255s %u %zu", k, &f, &l), 3, "%s", line);
    close(fd);
    *flags = f;
    *len = l;
}

/* A JSON record of about n bytes: an array of rows. */
static mcring_value *rows(size_t n)
{
    mcring_value *a = mcring_value_new_array();
    for (size_t i = 0; i * 60 < n; i++) {
        mcring_value *m = mcring_value_new_map();
        mcring_value_map_add_str(m, "name", mcring_value_new_string(
                                                "object-name-of-some-length", 26));
        mcring_value_map_add_str(m, "bytes", mcring_value_new_int((int64_t)i));
        mcring_value_map_add_str(m, "hash", mcring_value_new_string(
                                                "d41d8cd98f00b204e9800998ecf8427e", 32));
        mcring_value_array_push(a, m);
    }
    return a;
}

Test(compression, every_codec_round_trips_with_both_algorithms)
{
    static const char *const algos[] = {"zstd", "zlib"};
    static const uint32_t bits[] = {MCRING_FLAG_ZSTD, MCRING_FLAG_ZLIB};
    for (int a = 0; a < 2; a++) {
        mcring_client *c = client_with(algos[a], "0");
        mcring_codec dec = decimal_codec("decimal", 0x100);
        cr_assert_eq(mcring_client_add_codec(c, &dec, NULL, 0), 0);
        mcring_value *big = rows(20000);
        char text[30000];
        memset(text, 'x', sizeof(text));
        struct {
            const char *codec;
            mcring_value *v;
            uint32_t flags;
            bool compressed;
        } cases[] = {
            {"json", big, MCRING_FLAG_JSON, true},
            {"msgpack", big, MCRING_FLAG_MSGPACK, true},
            {"raw", mcring_value_new_bytes(text, sizeof(text)), 0, true},
            /* Under min_compress_len (400): stored as it is. */
            {"decimal", mcring_value_new_int(1234567), 0x100, false},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            char key[32];
            snprintf(key, sizeof(key), "%s-%s", algos[a], cases[i].codec);
            cr_assert_eq(mcring_set_value(c, key, strlen(key), cases[i].v,
                                          cases[i].codec, 0),
                         MCRING_OK, "%s", key);
            uint32_t flags;
            size_t len;
            on_server(key, &flags, &len);
            mcring_item plain = MCRING_ITEM_INIT;
            cr_assert_eq(mcring_codec_encode(mcring_client_codec(c,
                                                                 cases[i].codec),
                                             cases[i].v, &plain),
                         0);
            if (cases[i].compressed) {
                cr_assert_eq(flags, cases[i].flags | bits[a], "%s", key);
                cr_assert_lt(len, plain.len / 4, "%s: %zu of %zu", key, len,
                             plain.len);
            } else {
                cr_assert_eq(flags, cases[i].flags, "%s", key);
                cr_assert_eq(len, plain.len);
            }
            mcring_item it = MCRING_ITEM_INIT;
            mcring_value *back;
            cr_assert_eq(mcring_get_value(c, key, strlen(key), &it, &back),
                         MCRING_OK, "%s", key);
            cr_assert(mcring_value_equal(back, cases[i].v), "%s", key);
            cr_assert_eq(it.flags, cases[i].flags, "the bit is cleared");
            cr_assert_eq(it.len, plain.len);
            mcring_value_free(back);
            mcring_item_release(&it);
            mcring_item_release(&plain);
        }
        for (size_t i = 2; i < sizeof(cases) / sizeof(cases[0]); i++)
            mcring_value_free(cases[i].v); /* 0 and 1 are big */
        mcring_value_free(big);
        mcring_client_free(c);
    }
}

Test(compression, multi_key_calls_compress_and_decompress_each_value)
{
    mcring_client *c = client_with("zstd", "0");
    enum { N = 12 };
    char keys[N][16], *values[N];
    mcring_kv kvs[N];
    mcring_key k[N];
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof(keys[i]), "multi-%d", i);
        /* Short ones stay as they are, long ones are compressed. */
        size_t len = i % 2 ? 50 : 5000 + (size_t)i;
        values[i] = malloc(len);
        for (size_t j = 0; j < len; j++)
            values[i][j] = (char)('a' + (j * 7 + (size_t)i) % 13);
        kvs[i] = (mcring_kv){keys[i], strlen(keys[i]), values[i], len,
                             (uint32_t)i << 16};
        k[i] = (mcring_key){keys[i], strlen(keys[i])};
    }
    int status[N];
    cr_assert_eq(mcring_set_multi(c, kvs, N, NULL, 0, 0, status), 0);
    for (int i = 0; i < N; i++) {
        uint32_t flags;
        size_t len;
        on_server(keys[i], &flags, &len);
        cr_assert_eq(flags, (uint32_t)i << 16 | (i % 2 ? 0 : MCRING_FLAG_ZSTD),
                     "key %d: flags %u, %zu bytes", i, flags, len);
    }
    /* gets, gat and gats read a compressed value as mcring_get does. */
    mcring_item one = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_gets(c, keys[0], strlen(keys[0]), &one), MCRING_OK);
    cr_assert_eq(one.len, kvs[0].value_len);
    cr_assert(memcmp(one.data, values[0], one.len) == 0);
    cr_assert_eq(one.flags, 0);
    cr_assert_neq(one.cas, 0);
    cr_assert_eq(mcring_gat(c, keys[2], strlen(keys[2]), 0, &one), MCRING_OK);
    cr_assert_eq(one.len, kvs[2].value_len);
    cr_assert(memcmp(one.data, values[2], one.len) == 0);
    cr_assert_eq(mcring_gats(c, keys[4], strlen(keys[4]), 0, &one),
                 MCRING_OK);
    cr_assert_eq(one.flags, 4u << 16);
    cr_assert(memcmp(one.data, values[4], one.len) == 0);
    mcring_item_release(&one);
    mcring_item items[N] = {0};
    cr_assert_eq(mcring_get_multi(c, k, N, NULL, 0, items, status), 0);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(status[i], MCRING_OK);
        cr_assert_eq(items[i].len, kvs[i].value_len);
        cr_assert(memcmp(items[i].data, values[i], items[i].len) == 0);
        cr_assert_eq(items[i].flags, (uint32_t)i << 16);
        mcring_item_release(&items[i]);
        free(values[i]);
    }
    mcring_client_free(c);
}

Test(compression, either_algorithm_is_read_and_none_reads_as_stored)
{
    mcring_client *zs = client_with("zstd", "0");
    mcring_client *zl = client_with("zlib", "0");
    mcring_client *off = client_with("none", "0");
    char v[2000];
    memset(v, 'q', sizeof(v));
    cr_assert_eq(mcring_set(zs, "by-zstd", 7, v, sizeof(v), 2, 0), MCRING_OK);
    cr_assert_eq(mcring_set(zl, "by-zlib", 7, v, sizeof(v), 2, 0), MCRING_OK);
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_get(zl, "by-zstd", 7, &it), MCRING_OK);
    cr_assert_eq(it.len, sizeof(v));
    cr_assert_eq(mcring_get(zs, "by-zlib", 7, &it), MCRING_OK);
    cr_assert_eq(it.len, sizeof(v));
    cr_assert_eq(it.flags, 2);
    /* Without the layer, what the server holds. */
    cr_assert_eq(mcring_get(off, "by-zlib", 7, &it), MCRING_OK);
    cr_assert_eq(it.flags, 2 | MCRING_FLAG_ZLIB);
    cr_assert_lt(it.len, 100);
    uLongf n = sizeof(v);
    char back[sizeof(v)];
    cr_assert_eq(uncompress((Bytef *)back, &n, (Bytef *)it.data, it.len),
                 Z_OK, "a plain zlib stream");
    cr_assert_eq(n, sizeof(v));
    /* min_compress_len -1: writes nothing compressed, still reads. */
    mcring_options *o = opts_for(srv.name, "key_mode", "raw", "compression",
                                 "zlib", "min_compress_len", "-1", NULL);
    mcring_client *reader = client_for(o);
    mcring_options_free(o);
    cr_assert_eq(mcring_set(reader, "plain", 5, v, sizeof(v), 0, 0),
                 MCRING_OK);
    uint32_t flags;
    size_t len;
    on_server("plain", &flags, &len);
    cr_assert_eq(flags, 0);
    cr_assert_eq(len, sizeof(v));
    cr_assert_eq(mcring_get(reader, "by-zstd", 7, &it), MCRING_OK);
    cr_assert_eq(it.len, sizeof(v));
    mcring_item_release(&it);
    mcring_client_free(reader);
    mcring_client_free(zs);
    mcring_client_free(zl);
    mcring_client_free(off);
}

/* A stored value's Prometheus counter, by name and labels. */
static long counter(mcring_client *c, const char *sample)
{
    char buf[65536];
    mcring_client_write_prometheus(c, buf, sizeof(buf));
    const char *p = strstr(buf, sample);
    cr_assert_not_null(p, "%s", sample);
    return atol(p + strlen(sample));
}

Test(compression, bombs_and_garbage_are_refused_on_read)
{
    /* 64 MiB of zeros as zlib (64 KiB) and zstd, stored raw by a client
     * without the layer under the algorithms' bits. */
    size_t n = 64u << 20;
    char *zeros = calloc(1, n);
    uLongf zlen = compressBound((uLong)n);
    Bytef *z = malloc(zlen);
    cr_assert_eq(compress2(z, &zlen, (Bytef *)zeros, (uLong)n, 9), Z_OK);
    free(zeros);
    mcring_client *off = client_with("none", "0");
    cr_assert_eq(mcring_set(off, "bomb", 4, z, zlen, MCRING_FLAG_ZLIB, 0),
                 MCRING_OK);
    cr_assert_eq(mcring_set(off, "garbage", 7, "not zlib", 8,
                            MCRING_FLAG_ZLIB | 2, 0),
                 MCRING_OK);
    free(z);

    /* Bounded by item_size_max: 1 MiB. */
    mcring_client *c = client_with("zstd", "1048576");
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_get(c, "bomb", 4, &it), MCRING_ETOOLARGE);
    cr_assert_eq(it.len, 0);
    cr_assert_eq(mcring_get(c, "garbage", 7, &it), MCRING_UNDECODABLE);
    cr_assert_eq(it.len, 8, "the bytes as stored");
    cr_assert(memcmp(it.data, "not zlib", 8) == 0);
    cr_assert_eq(it.flags, MCRING_FLAG_ZLIB | 2, "and the flags");
    mcring_value *v;
    cr_assert_eq(mcring_get_value(c, "garbage", 7, NULL, &v),
                 MCRING_UNDECODABLE);
    cr_assert_null(v);
    mcring_key keys[2] = {{"bomb", 4}, {"garbage", 7}};
    mcring_item items[2] = {0};
    int status[2];
    int rc = mcring_get_multi(c, keys, 2, NULL, 0, items, status);
    cr_assert_eq(rc, MCRING_ETOOLARGE, "%s: %d %d", mcring_err_name(rc),
                 status[0], status[1]);
    cr_assert_eq(status[0], MCRING_ETOOLARGE);
    cr_assert_eq(items[0].len, 0);
    cr_assert_eq(status[1], MCRING_UNDECODABLE);
    cr_assert_eq(counter(c, "mcring_decompression_refused_total{algorithm="
                            "\"zlib\",reason=\"too_large\"} "),
                 2);
    cr_assert_eq(counter(c, "mcring_decompression_refused_total{algorithm="
                            "\"zlib\",reason=\"corrupt\"} "),
                 3);
    mcring_client_free(c);

    /* Without item_size_max, 64 MiB is the most: exactly this bomb. */
    c = client_with("zlib", "0");
    cr_assert_eq(mcring_get(c, "bomb", 4, &it), MCRING_OK);
    cr_assert_eq(it.len, n);
    cr_assert_eq(MCRING_DECOMPRESSED_MAX_DEFAULT, n);
    mcring_client_free(c);
    cr_assert_eq(mcring_set(off, "bomb", 4, "", 0, 0, 0), MCRING_OK);

    for (int i = 0; i < 2; i++)
        mcring_item_release(&items[i]);
    mcring_item_release(&it);
    mcring_client_free(off);
}

Test(compression, item_size_max_applies_to_the_value_as_given)
{
    /* 300 KiB that compresses to little is still larger than 256 KiB. */
    mcring_client *c = client_with("zstd", "262144");
    size_t n = 300u << 10;
    char *v = calloc(1, n);
    cr_assert_eq(mcring_set(c, "big", 3, v, n, 0, 0), MCRING_ETOOLARGE);
    cr_assert_eq(mcring_set(c, "big", 3, v, 200u << 10, 0, 0), MCRING_OK);
    uint32_t flags;
    size_t len;
    on_server("big", &flags, &len);
    cr_assert_eq(flags, MCRING_FLAG_ZSTD);
    cr_assert_lt(len, 1000);
    free(v);
    mcring_client_free(c);
}

Test(compression, the_command_line_takes_the_options)
{
    char *out;
    char value[3000];
    memset(value, 'z', sizeof(value) - 1);
    value[sizeof(value) - 1] = '\0';
    cr_assert_eq(cli_run(NULL, srv.name, NULL, "-k", "raw", "-o",
                         "compression=zstd", "set", "cli", value, NULL),
                 0);
    uint32_t flags;
    size_t len;
    on_server("cli", &flags, &len);
    cr_assert_eq(flags, MCRING_FLAG_ZSTD);
    cr_assert_eq(cli_run(&out, srv.name, NULL, "-k", "raw", "-o",
                         "compression=zlib", "get", "cli", NULL),
                 0);
    cr_assert_str_eq(out, value);
    free(out);
    cr_assert_eq(cli_run(NULL, srv.name, NULL, "-o", "compression=lz4", "get",
                         "cli", NULL),
                 2, "a bad value is refused");
}
