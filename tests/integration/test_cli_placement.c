/* mcring locate and ring-diff in the other clients' placement modes (no
 * server is contacted). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "harness.h"

TestSuite(cli_placement, .timeout = 60);

Test(cli_placement, locate_reference_vectors_in_every_mode)
{
    static const struct {
        const char *mode, *hash, *servers, *keys, *expect;
    } cases[] = {
        {"libmemcached-ketama", NULL,
         "10.0.1.1:11211,10.0.1.2:11211,cache-3.example.com:11212,"
         "10.0.1.4:22122,/var/run/memcached.sock",
         "foo\na\n",
         "foo\tcache-3.example.com:11212\na\t/var/run/memcached.sock\n"},
        {"libmemcached-ketama-weighted", NULL,
         "10.0.1.1:11211:1,10.0.1.2:11211:2,cache-3.example.com:11212:3,"
         "10.0.1.4:22122:1,10.0.1.5:11211:7",
         "the_quick_brown_fox\n", "the_quick_brown_fox\t10.0.1.1:11211\n"},
        {"twemproxy", "md5",
         "127.0.0.2:11211:1,127.0.0.3:11211:2,127.0.0.1:31003:3,"
         "127.0.0.1:31004:1,127.0.0.1:31005:7 cacheE",
         "foo\nuser:42\n",
         "foo\t127.0.0.1:31005\nuser:42\t127.0.0.2:11211\n"},
        {"pymemcache", NULL,
         "10.0.0.1:11211,10.0.0.2:11211,10.0.0.3:11212,"
         "/var/run/memcached.sock",
         "caf\xc3\xa9\n", "caf\xc3\xa9\t10.0.0.2:11211\n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *out;
        int rc = cases[i].hash ? cli_run(&out, NULL, cases[i].keys, "-k", "raw",
                                         "-t", "1", "-r", cases[i].mode,
                                         "--hash", cases[i].hash, "-s",
                                         cases[i].servers, "locate", NULL)
                               : cli_run(&out, NULL, cases[i].keys, "-k", "raw",
                                         "-t", "1", "-r", cases[i].mode, "-s",
                                         cases[i].servers, "locate", NULL);
        cr_assert_eq(rc, 0, "%s", cases[i].mode);
        cr_assert_str_eq(out, cases[i].expect, "%s", cases[i].mode);
        free(out);
    }
}

Test(cli_placement, locate_lists_the_try_order_by_address)
{
    char *out;
    cr_assert_eq(cli_run(&out, NULL, NULL, "-r", "twemproxy", "-s",
                         "10.0.0.1:11211:1 alpha,10.0.0.2:11211:2 beta,"
                         "10.0.0.3:11300:1 gamma",
                         "locate", "k", NULL),
                 0);
    /* Three servers (the default tries), each once, by address. */
    cr_assert(strncmp(out, "k\t10.0.0.", 9) == 0, "%s", out);
    for (int i = 1; i <= 3; i++) {
        char addr[32];
        snprintf(addr, sizeof(addr), "10.0.0.%d:", i);
        cr_assert_not_null(strstr(out, addr), "%s", out);
    }
    cr_assert_null(strstr(out, "alpha"), "names are not addresses: %s", out);
    int commas = 0;
    for (char *p = out; *p; p++)
        commas += *p == ',';
    cr_assert_eq(commas, 2, "%s", out);
    free(out);
}

Test(cli_placement, refusals_are_explained)
{
    char *out;
    cr_assert_eq(
        cli_run(&out, NULL, NULL, "-s", "a:1:2 name", "locate", "k", NULL), 2,
        "Swift's ring refuses names");
    free(out);
    cr_assert_eq(cli_run(&out, NULL, NULL, "-r", "libmemcached-ketama",
                         "--hash", "crc16", "-s", "a,b", "locate", "k", NULL),
                 2);
    free(out);
    cr_assert_eq(cli_run(&out, NULL, NULL, "--hash", "sha1", "-s", "a,b",
                         "locate", "k", NULL),
                 2);
    free(out);
}

Test(cli_placement, unsigned_bytes_changes_non_ascii_keys_only)
{
    const char *servers = "a,b,c,d,e,f,g,h";
    char input[4096];
    size_t off = 0;
    for (int i = 0; i < 100; i++)
        off += (size_t)snprintf(input + off, sizeof(input) - off,
                                "k\xc3\xa9%d\n", i);
    char *signd, *unsignd, *ascii_s, *ascii_u;
    cr_assert_eq(cli_run(&signd, NULL, input, "-k", "raw", "-r",
                         "libmemcached-ketama", "-t", "1", "-s", servers,
                         "locate", NULL),
                 0);
    cr_assert_eq(cli_run(&unsignd, NULL, input, "-k", "raw", "-r",
                         "libmemcached-ketama", "-t", "1", "--unsigned-bytes",
                         "-s", servers, "locate", NULL),
                 0);
    cr_assert_str_neq(signd, unsignd);
    cr_assert_eq(cli_run(&ascii_s, NULL, "plain\nkeys\n", "-k", "raw", "-r",
                         "twemproxy", "-s", servers, "locate", NULL),
                 0);
    cr_assert_eq(cli_run(&ascii_u, NULL, "plain\nkeys\n", "-k", "raw", "-r",
                         "twemproxy", "--unsigned-bytes", "-s", servers,
                         "locate", NULL),
                 0);
    cr_assert_str_eq(ascii_s, ascii_u);
    free(signd);
    free(unsignd);
    free(ascii_s);
    free(ascii_u);
}

Test(cli_placement, ring_diff_compares_any_two_modes_and_lists)
{
    char *out;
    /* The same servers under libmemcached's unweighted and weighted
     * ketama, both with md5 keys. */
    cr_assert_eq(cli_run(&out, NULL, NULL, "-k", "raw", "ring-diff", "a,b,c",
                         "a:11211:1,b:11211:1,c:11211:1", "--old-ring",
                         "libmemcached-ketama:md5", "--new-ring",
                         "libmemcached-ketama-weighted:md5", "--keys", "5000",
                         NULL),
                 0);
    cr_assert_not_null(strstr(out, "libmemcached-ketama ring, hash md5 "
                                   "(3 servers) -> "),
                       "%s", out);
    cr_assert_not_null(strstr(out, "libmemcached-ketama-weighted ring, hash "
                                   "md5 (3 servers)"),
                       "%s", out);
    cr_assert_not_null(strstr(out, "keys=5000 "), "%s", out);
    free(out);

    /* A side without a hash gets --hash, or its mode's own. */
    cr_assert_eq(cli_run(&out, NULL, NULL, "ring-diff", "a,b", "a,b",
                         "--old-ring", "twemproxy:crc32a", "--new-ring",
                         "twemproxy", "--keys", "100", NULL),
                 0);
    cr_assert_not_null(strstr(out, "hash crc32a (2 servers) -> twemproxy ring, "
                                   "hash fnv1a_64"),
                       "%s", out);
    free(out);

    /* pymemcache to Swift over the same list: a different placement. */
    cr_assert_eq(cli_run(&out, NULL, NULL, "ring-diff", "a,b,c,d", "a,b,c,d",
                         "--old-ring", "pymemcache", "--new-ring", "swift",
                         "--keys", "4000", NULL),
                 0);
    cr_assert_not_null(strstr(out, "pymemcache ring (4 servers) -> swift "
                                   "ring (4 servers)"),
                       "%s", out);
    cr_assert_null(strstr(out, "moved=0 "), "%s", out);
    free(out);
}
