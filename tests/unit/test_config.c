/* Options and memcache.conf, read as Swift's ConfigParser reads them. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "address.h"
#include "config.h"
#include "utf8.h"

static char path[64];

static const char *write_conf(const char *text)
{
    snprintf(path, sizeof(path), "/tmp/mcring-test-%d.conf", getpid());
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static mcring_options *fresh(void)
{
    mcring_options *o;
    cr_assert_eq(mcring_options_new(&o), 0);
    return o;
}

Test(options, swift_defaults)
{
    mcring_options *o = fresh();
    cr_assert_str_eq(o->servers, "127.0.0.1:11211");
    cr_assert_eq(o->max_connections, 2);
    cr_assert_float_eq(o->connect_timeout, 0.3, 1e-12);
    cr_assert_float_eq(o->pool_timeout, 1.0, 1e-12);
    cr_assert_float_eq(o->io_timeout, 2.0, 1e-12);
    cr_assert_eq(o->tries, 3);
    cr_assert_float_eq(o->error_interval, 60, 1e-12);
    cr_assert_float_eq(o->error_limit, 10, 1e-12);
    cr_assert_eq(o->item_size_warning_threshold, -1);
    cr_assert_not(o->tls_enabled);
    cr_assert_eq(o->ring.mode, RING_SWIFT);
    cr_assert_eq(o->keys, KEYS_SWIFT);
    mcring_options_free(o);
}

Test(options, bad_values_are_errors_and_change_nothing)
{
    mcring_options *o = fresh();
    char err[256];
    static const char *bad[][2] = {
        {"tries", "three"},       {"tries", "0"},
        {"tries", "3.5"},         {"io_timeout", "-1"},
        {"io_timeout", "0"},      {"connect_timeout", "nan"},
        {"pool_timeout", "inf"},  {"pool_timeout", "0x10"},
        {"memcache_max_connections", "many"},
        {"error_suppression_limit", "ten"},
        {"item_size_warning_threshold", "1e3"},
        {"tls_enabled", "maybe"}, {"ring_mode", "ketama-ish"},
        {"key_mode", "md5"},      {"memcache_servers", "::1"},
        {"memcache_servers", " , "}, {"no_such_option", "1"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        int rc = mcring_options_set(o, bad[i][0], bad[i][1], err, sizeof(err));
        cr_assert_lt(rc, 0, "%s = %s accepted", bad[i][0], bad[i][1]);
        cr_assert(strlen(err) > 0, "no message for %s", bad[i][0]);
    }
    cr_assert_eq(o->tries, 3);
    cr_assert_float_eq(o->io_timeout, 2.0, 1e-12);
    cr_assert_str_eq(o->servers, "127.0.0.1:11211");
    mcring_options_free(o);
}

Test(options, swift_value_rules)
{
    mcring_options *o = fresh();
    cr_assert_eq(mcring_options_set(o, "memcache_max_connections", "0", NULL, 0), 0);
    cr_assert_eq(o->max_connections, 2, "<= 0 means the default, as Swift");
    cr_assert_eq(mcring_options_set(o, "tls_enabled", "Yes", NULL, 0), 0);
    cr_assert(o->tls_enabled);
    cr_assert_eq(mcring_options_set(o, "tls_enabled", "off", NULL, 0), 0);
    cr_assert_not(o->tls_enabled);
    cr_assert_eq(mcring_options_set(o, "error_suppression_limit", "2.5", NULL, 0), 0);
    cr_assert_eq(mcring_options_set(o, "tries", " +4 ", NULL, 0), 0);
    cr_assert_eq(o->tries, 4);
    mcring_options_free(o);
}

Test(conf, reads_the_memcache_section)
{
    mcring_options *o = fresh();
    char err[256];
    const char *p = write_conf(
        "# Swift memcache.conf\n"
        "[memcache]\n"
        "memcache_servers = 10.0.0.1:11211, 10.0.0.2:11211\n"
        "MEMCACHE_MAX_CONNECTIONS: 4\n"
        "connect_timeout = 0.5\n"
        "  ; indented comment\n"
        "io_timeout=1.5\n"
        "tries = 2\n"
        "error_suppression_interval = 30\n"
        "error_suppression_limit = 5\n"
        "item_size_warning_threshold = 1000\n"
        "tls_enabled = false\n"
        "some_future_option = whatever\n"
        "[other]\n"
        "tries = 99\n");
    cr_assert_eq(mcring_options_load(o, p, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(o->servers, "10.0.0.1:11211, 10.0.0.2:11211");
    cr_assert_eq(o->max_connections, 4);
    cr_assert_float_eq(o->connect_timeout, 0.5, 1e-12);
    cr_assert_float_eq(o->io_timeout, 1.5, 1e-12);
    cr_assert_eq(o->tries, 2);
    cr_assert_float_eq(o->error_interval, 30, 1e-12);
    cr_assert_float_eq(o->error_limit, 5, 1e-12);
    cr_assert_eq(o->item_size_warning_threshold, 1000);
    cr_assert_str_eq(o->config_path, p);
    unlink(p);
    mcring_options_free(o);
}

Test(conf, default_section_interpolation_and_continuations)
{
    mcring_options *o = fresh();
    char err[256];
    const char *p = write_conf("[DEFAULT]\n"
                               "base = 10.0.0\n"
                               "tries = 1\n"
                               "[memcache]\n"
                               "memcache_servers = %(base)s.1:1,\n"
                               "    %(BASE)s.2:2\n"
                               "ring_mode = consistent\n");
    cr_assert_eq(mcring_options_load(o, p, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(o->servers, "10.0.0.1:1,\n10.0.0.2:2");
    cr_assert_eq(o->tries, 1, "inherited from [DEFAULT]");
    cr_assert_eq(o->ring.mode, RING_CONSISTENT);
    unlink(p);
    mcring_options_free(o);
}

Test(conf, no_memcache_section_changes_nothing)
{
    mcring_options *o = fresh();
    const char *p = write_conf("[proxy-server]\nworkers = 4\n");
    cr_assert_eq(mcring_options_load(o, p, NULL, 0), 0);
    cr_assert_str_eq(o->servers, "127.0.0.1:11211");
    unlink(p);
    mcring_options_free(o);
}

Test(conf, errors_name_the_line_and_change_nothing)
{
    static const struct {
        const char *text, *expect;
    } cases[] = {
        {"tries = 2\n", "before any [section]"},
        {"[memcache]\ntries\n", ":2:"},
        {"[memcache]\ntries = 2\ntries = 3\n", "appears twice"},
        {"[memcache]\n[memcache]\n", "appears twice"},
        {"[memcache]\ntries = 3 # comment\n", "not an integer"},
        {"[memcache]\nio_timeout = %z\n", "'%'"},
        {"[memcache]\nio_timeout = %(nope)s\n", "nope"},
        {"[memcache]\nmemcache_servers = a:b:c\n", "a:b:c"},
        {"[memcache\ntries = 2\n", "before any [section]"},
        {"[memcache]\n = 2\n", "no name"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        mcring_options *o = fresh();
        cr_assert_eq(mcring_options_set(o, "tries", "7", NULL, 0), 0);
        char err[256] = "";
        const char *p = write_conf(cases[i].text);
        int rc = mcring_options_load(o, p, err, sizeof(err));
        cr_assert_lt(rc, 0, "case %zu loaded", i);
        cr_assert(strstr(err, cases[i].expect) != NULL,
                  "case %zu: '%s' lacks '%s'", i, err, cases[i].expect);
        cr_assert_eq(o->tries, 7, "case %zu changed the options", i);
        unlink(p);
        mcring_options_free(o);
    }
}

Test(conf, a_later_bad_value_undoes_earlier_good_ones)
{
    mcring_options *o = fresh();
    const char *p = write_conf("[memcache]\ntries = 1\nio_timeout = soon\n");
    cr_assert_lt(mcring_options_load(o, p, NULL, 0), 0);
    cr_assert_eq(o->tries, 3);
    unlink(p);
    mcring_options_free(o);
}

static char logged[512];
static int log_calls;

static void capture_log(void *ud, mcring_log_level level, const char *server,
                        const char *msg)
{
    (void)ud;
    (void)server;
    cr_assert_eq(level, MCRING_LOG_WARNING);
    snprintf(logged, sizeof(logged), "%s", msg);
    log_calls++;
}

Test(conf, a_missing_file_is_an_outcome_not_an_error)
{
    /* Swift's ConfigParser.read() skips a missing file and the middleware
     * keeps its defaults: the load says so in its result and the log, and
     * leaves the options alone. */
    static const char *const paths[] = {"/nonexistent/memcache.conf",
                                        "/etc/passwd/memcache.conf"};
    for (size_t i = 0; i < 2; i++) {
        mcring_options *o = fresh();
        mcring_options_set_log(o, capture_log, NULL);
        cr_assert_eq(mcring_options_set(o, "tries", "7", NULL, 0), 0);
        char err[256] = "";
        log_calls = 0;
        int rc = mcring_options_load(o, paths[i], err, sizeof(err));
        cr_assert_eq(rc, MCRING_CONF_MISSING, "%s: %s", paths[i],
                     mcring_err_name(rc));
        cr_assert_gt(rc, 0, "an outcome, not a failure");
        cr_assert_not_null(strstr(err, paths[i]));
        cr_assert_eq(log_calls, 1);
        cr_assert_not_null(strstr(logged, paths[i]), "%s", logged);
        cr_assert_eq(o->tries, 7);
        cr_assert_null(o->config_path);
        cr_assert_str_eq(mcring_err_name(rc), "MCRING_CONF_MISSING");
        cr_assert_str_neq(mcring_strerror(rc), "unknown error");
        mcring_options_free(o);
    }
    /* Anything else that stops the file being read is an error (Swift
     * would ignore it too: docs/swift-compat.md says why mcring does not). */
    mcring_options *o = fresh();
    cr_assert_eq(mcring_options_load(o, "/tmp", NULL, 0), MCRING_ECONFIG);
    mcring_options_free(o);
}

Test(options, placement_modes_and_their_settings)
{
    mcring_options *o = fresh();
    char err[256];
    cr_assert(o->ring.signed_bytes, "x86-64 behaviour by default");
    cr_assert_eq(o->ring.key_hash, RING_HASH_DEFAULT);
    cr_assert_eq(o->ring.socket_port, 11211);
    cr_assert(o->ring.key_md5hex, "swift key mode: peers see the hex");
    static const char *const modes[] = {
        "swift", "consistent", "libmemcached-ketama",
        "libmemcached-ketama-weighted", "twemproxy", "pymemcache"};
    for (int i = 0; i < 6; i++) {
        cr_assert_eq(mcring_options_set(o, "ring_mode", modes[i], err,
                                        sizeof(err)),
                     0, "%s", err);
        cr_assert_eq((int)o->ring.mode, i);
    }
    cr_assert_eq(mcring_options_set(o, "ring_hash", " md5 ", NULL, 0), 0);
    cr_assert_eq(o->ring.key_hash, HASH_MD5);
    cr_assert_eq(mcring_options_set(o, "ring_point_hash", "crc", NULL, 0), 0);
    cr_assert_eq(o->ring.point_hash, HASH_CRC32);
    cr_assert_eq(mcring_options_set(o, "ring_hash", "", NULL, 0), 0);
    cr_assert_eq(o->ring.key_hash, RING_HASH_DEFAULT, "empty: the mode's own");
    cr_assert_eq(mcring_options_set(o, "ring_signed_bytes", "false", NULL, 0),
                 0);
    cr_assert_not(o->ring.signed_bytes);
    cr_assert_eq(mcring_options_set(o, "ring_socket_port", "0", NULL, 0), 0);
    cr_assert_eq(o->ring.socket_port, 0);
    cr_assert_eq(mcring_options_set(o, "key_mode", "raw", NULL, 0), 0);
    cr_assert_not(o->ring.key_md5hex);

    static const char *bad[][2] = {
        {"ring_hash", "default"},  {"ring_hash", "sha1"},
        {"ring_point_hash", "md"}, {"ring_signed_bytes", "signed"},
        {"ring_socket_port", "80"}, {"ring_socket_port", "x"},
        {"ring_mode", "ketama"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        cr_assert_eq(mcring_options_set(o, bad[i][0], bad[i][1], err,
                                        sizeof(err)),
                     MCRING_ECONFIG, "%s = %s accepted", bad[i][0],
                     bad[i][1]);
        cr_assert(strlen(err) > 0);
    }
    cr_assert_eq(o->ring.point_hash, HASH_CRC32, "unchanged by errors");
    cr_assert_eq(o->ring.mode, RING_PYMEMCACHE);
    mcring_options_free(o);
}

Test(options, a_hash_the_mode_lacks_fails_when_the_ring_is_built)
{
    mcring_options *o = fresh();
    char err[256] = "";
    cr_assert_eq(mcring_options_set(o, "ring_hash", "crc16", NULL, 0), 0,
                 "valid for twemproxy; the mode may be set later");
    cr_assert_eq(mcring_options_set(o, "ring_mode", "libmemcached-ketama",
                                    NULL, 0),
                 0);
    mcring_ring *r = NULL;
    cr_assert_eq(mcring_ring_new(&r, o, err, sizeof(err)), MCRING_ECONFIG);
    cr_assert_not_null(strstr(err, "libmemcached has no hash 'crc16'"), "%s",
                       err);
    cr_assert_eq(mcring_options_set(o, "ring_mode", "twemproxy", NULL, 0), 0);
    cr_assert_eq(mcring_ring_new(&r, o, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(mcring_ring_hash_name(r), "crc16");
    mcring_ring_free(r);
    mcring_options_free(o);
}

/* ---- the classes of input Swift's ConfigParser and int()/float() take -- */

static mcring_options *load_text(const char *text, int *rc, char *err,
                                 size_t errlen)
{
    mcring_options *o = fresh();
    *rc = options_load_text(o, "t.conf", text, strlen(text), err, errlen);
    return o;
}

/* Every white space character Python's str.strip() removes, UTF-8. */
static const char *const py_spaces[] = {
    "\t", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x1f", " ", "\xc2\x85",
    "\xc2\xa0", "\xe1\x9a\x80", "\xe2\x80\x80", "\xe2\x80\x81",
    "\xe2\x80\x82", "\xe2\x80\x83", "\xe2\x80\x84", "\xe2\x80\x85",
    "\xe2\x80\x86", "\xe2\x80\x87", "\xe2\x80\x88", "\xe2\x80\x89",
    "\xe2\x80\x8a", "\xe2\x80\xa8", "\xe2\x80\xa9", "\xe2\x80\xaf",
    "\xe2\x81\x9f", "\xe3\x80\x80"};
#define N_SPACES (sizeof(py_spaces) / sizeof(py_spaces[0]))

Test(conf, unicode_white_space_around_keys_values_and_lines)
{
    for (size_t i = 0; i < N_SPACES; i++) {
        const char *a = py_spaces[i], *b = py_spaces[(i + 3) % N_SPACES];
        char text[512];
        snprintf(text, sizeof(text),
                 "%s[memcache]%s\n"
                 "%stries%s=%s5%s%s\n"
                 "io_timeout%s:%s1.25%s\n"
                 "memcache_servers =%s10.0.0.1:1%s,%s10.0.0.2%s\n",
                 a, b, "", a, b, a, b, b, a, b, a, b, a, b);
        int rc;
        char err[256] = "";
        mcring_options *o = load_text(text, &rc, err, sizeof(err));
        cr_assert_eq(rc, 0, "space %zu: %s", i, err);
        cr_assert_eq(o->tries, 5, "space %zu", i);
        cr_assert_float_eq(o->io_timeout, 1.25, 1e-12, "space %zu", i);
        server_list l;
        cr_assert_eq(server_list_parse(o->servers, &l, NULL, 0), 0);
        cr_assert_eq(l.count, 2, "space %zu", i);
        cr_assert_str_eq(l.names[1], "10.0.0.2");
        server_list_free(&l);
        mcring_options_free(o);
    }
}

Test(conf, numbers_as_python_reads_them)
{
    static const struct {
        const char *text;
        long long v;
    } ints[] = {
        {"1_0", 10},     {"+1_000", 1000},  {"0_0_7", 7},     {"007", 7},
        {" 12 ", 12},    {"\xd9\xa3", 3},   /* ARABIC-INDIC THREE */
        {"\xef\xbc\x91\xef\xbc\x92", 12},   /* FULLWIDTH ONE TWO */
        {"\xe0\xa5\xa7_\xe0\xa5\xa6", 10},  /* DEVANAGARI 1_0 */
        {"\xf0\x9d\x9f\x8f", 1},            /* MATHEMATICAL BOLD ONE */
        {"99999999999999999999999", 100000},
    };
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        mcring_options *o = fresh();
        char err[256] = "";
        int rc = mcring_options_set(o, "tries", ints[i].text, err, sizeof(err));
        if (ints[i].v == 100000) {
            cr_assert_eq(rc, MCRING_ECONFIG, "huge: refused as out of range");
        } else {
            cr_assert_eq(rc, 0, "'%s': %s", ints[i].text, err);
            cr_assert_eq(o->tries, ints[i].v, "'%s'", ints[i].text);
        }
        mcring_options_free(o);
    }
    static const char *const bad_ints[] = {
        "_1", "1_", "1__0", "1 0", "+", "-", "+-1", "1.0", "0x10", "1e3",
        "\xd9\xa3_", "\xc2\xb2" /* SUPERSCRIPT TWO: a digit, not decimal */,
        "\xe2\x85\xa0" /* ROMAN NUMERAL ONE */, ""};
    for (size_t i = 0; i < sizeof(bad_ints) / sizeof(bad_ints[0]); i++) {
        mcring_options *o = fresh();
        cr_assert_eq(mcring_options_set(o, "tries", bad_ints[i], NULL, 0),
                     MCRING_ECONFIG, "'%s' accepted", bad_ints[i]);
        mcring_options_free(o);
    }
    static const struct {
        const char *text;
        double v;
    } floats[] = {
        {"1_0.2_5", 10.25}, {".5", 0.5},     {"5.", 5.0},   {"1.e1", 10},
        {"1_0e-0_1", 1.0},  {"+2.5E+00", 2.5}, {"\xd9\xa1.\xd9\xa5", 1.5},
        {"\xe3\x80\x80" "3\xe3\x80\x80", 3},
    };
    for (size_t i = 0; i < sizeof(floats) / sizeof(floats[0]); i++) {
        mcring_options *o = fresh();
        char err[256] = "";
        cr_assert_eq(mcring_options_set(o, "io_timeout", floats[i].text, err,
                                        sizeof(err)),
                     0, "'%s': %s", floats[i].text, err);
        cr_assert_float_eq(o->io_timeout, floats[i].v, 1e-12, "'%s'",
                           floats[i].text);
        mcring_options_free(o);
    }
    static const char *const bad_floats[] = {
        "_1.0", "1_.0", "1._0", "1.0_", "1e_1", "1e", "e1", ".", "1.2.3",
        "inf", "-Infinity", "nan", "1e400", "0x1p3", "1,5", ""};
    for (size_t i = 0; i < sizeof(bad_floats) / sizeof(bad_floats[0]); i++) {
        mcring_options *o = fresh();
        cr_assert_eq(mcring_options_set(o, "io_timeout", bad_floats[i], NULL,
                                        0),
                     MCRING_ECONFIG, "'%s' accepted", bad_floats[i]);
        mcring_options_free(o);
    }
}

Test(conf, every_unicode_decimal_digit_block)
{
    /* Each script's digits 0-9 make the same numbers: "<one><zero>" is 10
     * in every block Python 3.11 knows. */
    static const uint32_t zeros[] = {
        0x30, 0x660, 0x6f0, 0x7c0, 0x966, 0x9e6, 0xa66, 0xae6, 0xb66,
        0xbe6, 0xc66, 0xce6, 0xd66, 0xde6, 0xe50, 0xed0, 0xf20, 0x1040,
        0x1090, 0x17e0, 0x1810, 0x1946, 0x19d0, 0x1a80, 0x1a90, 0x1b50,
        0x1bb0, 0x1c40, 0x1c50, 0xa620, 0xa8d0, 0xa900, 0xa9d0, 0xa9f0,
        0xaa50, 0xabf0, 0xff10, 0x104a0, 0x10d30, 0x11066, 0x110f0,
        0x11136, 0x111d0, 0x112f0, 0x11450, 0x114d0, 0x11650, 0x116c0,
        0x11730, 0x118e0, 0x11950, 0x11c50, 0x11d50, 0x11da0, 0x16a60,
        0x16ac0, 0x16b50, 0x1d7ce, 0x1d7d8, 0x1d7e2, 0x1d7ec, 0x1d7f6,
        0x1e140, 0x1e2f0, 0x1e950, 0x1fbf0};
    for (size_t i = 0; i < sizeof(zeros) / sizeof(zeros[0]); i++) {
        for (uint32_t d = 0; d < 10; d++) {
            unsigned char text[16];
            size_t n = utf8_put(zeros[i] + 1, text);
            n += utf8_put(zeros[i] + d, text + n);
            text[n] = '\0';
            mcring_options *o = fresh();
            char err[256] = "";
            cr_assert_eq(mcring_options_set(o, "tries", (char *)text, err,
                                            sizeof(err)),
                         0, "U+%04X: %s", zeros[i] + d, err);
            cr_assert_eq(o->tries, 10 + (int)d, "U+%04X", zeros[i] + d);
            mcring_options_free(o);
        }
        /* The code point after a block's nine is not a digit of it. */
        uint32_t after = zeros[i] + 10;
        bool next_block = i + 1 < sizeof(zeros) / sizeof(zeros[0]) &&
                          zeros[i + 1] == after;
        unsigned char text[8];
        text[utf8_put(after, text)] = '\0';
        mcring_options *o = fresh();
        if (!next_block)
            cr_assert_eq(mcring_options_set(o, "tries", (char *)text, NULL, 0),
                         MCRING_ECONFIG, "U+%04X", after);
        mcring_options_free(o);
    }
}

Test(conf, section_headers_as_sectcre_reads_them)
{
    /* The header runs to the line's last ']': whatever follows it, a
     * comment or not, is ignored. */
    static const char *const memcache[] = {
        "[memcache] # note", "[memcache] ; note", "[memcache]# note",
        "[memcache]junk", "  [memcache]  ", "[memcache]\xe3\x80\x80"};
    for (size_t i = 0; i < sizeof(memcache) / sizeof(memcache[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text), "%s\ntries = 4\n", memcache[i]);
        int rc;
        char err[256] = "";
        mcring_options *o = load_text(text, &rc, err, sizeof(err));
        cr_assert_eq(rc, 0, "'%s': %s", memcache[i], err);
        cr_assert_eq(o->tries, 4, "'%s' is [memcache]", memcache[i]);
        mcring_options_free(o);
    }
    /* Not [memcache]: another section (or none), so nothing applies. */
    static const char *const other[] = {
        "[memcache] ]", "[memcache]]", "[ memcache]", "[Memcache]",
        "[memcache ]", "[memcache] # a ] b"};
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text), "%s\ntries = 4\n", other[i]);
        int rc;
        char err[256] = "";
        mcring_options *o = load_text(text, &rc, err, sizeof(err));
        cr_assert_eq(rc, 0, "'%s': %s", other[i], err);
        cr_assert_eq(o->tries, 3, "'%s' is not [memcache]", other[i]);
        mcring_options_free(o);
    }
    /* A header indented deeper than the option before it continues that
     * option's value: the continuation test comes first. */
    int rc0;
    mcring_options *o0 = load_text("[DEFAULT]\nx = 1\n  [memcache]\ntries = 4\n",
                                   &rc0, NULL, 0);
    cr_assert_eq(rc0, 0);
    cr_assert_eq(o0->tries, 3, "still in [DEFAULT], no [memcache]");
    mcring_options_free(o0);
    o0 = load_text("  [memcache]\ntries = 4\n", &rc0, NULL, 0);
    cr_assert_eq(o0->tries, 4, "indented, but no option before it");
    mcring_options_free(o0);
    /* "[]" and "[x" are no headers: before any section they are errors;
     * inside one, "[]=1" is an option named "[]". */
    int rc;
    mcring_options *o = load_text("[]\n", &rc, NULL, 0);
    cr_assert_eq(rc, MCRING_ECONFIG);
    mcring_options_free(o);
    o = load_text("[memcache]\n[]=1\n[x:2\ntries=6\n", &rc, NULL, 0);
    cr_assert_eq(rc, 0);
    cr_assert_eq(o->tries, 6);
    mcring_options_free(o);
}

Test(conf, default_sections_repeated_and_alone)
{
    int rc;
    char err[256] = "";
    mcring_options *o = load_text("[DEFAULT]\ntries = 2\n[memcache]\n"
                                  "[DEFAULT]\nio_timeout = 4\n"
                                  "[DEFAULT]\n",
                                  &rc, err, sizeof(err));
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_eq(o->tries, 2);
    cr_assert_float_eq(o->io_timeout, 4, 1e-12);
    mcring_options_free(o);
    /* A key twice across [DEFAULT] sections is a duplicate. */
    o = load_text("[DEFAULT]\ntries = 2\n[DEFAULT]\nTRIES = 3\n[memcache]\n",
                  &rc, err, sizeof(err));
    cr_assert_eq(rc, MCRING_ECONFIG);
    cr_assert_not_null(strstr(err, "appears twice"), "%s", err);
    mcring_options_free(o);
    /* Without [memcache], Swift reads nothing: not [DEFAULT]'s servers,
     * not even its broken interpolations. */
    o = load_text("[DEFAULT]\nmemcache_servers = 10.0.0.9\ntries = 1\n"
                  "bad = %(nowhere)s\n",
                  &rc, err, sizeof(err));
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_str_eq(o->servers, "127.0.0.1:11211");
    cr_assert_eq(o->tries, 3);
    mcring_options_free(o);
}

Test(conf, the_middlewares_rules_for_servers_and_connections)
{
    static const struct {
        const char *text;
        const char *servers;
        int max_conns;
    } cases[] = {
        /* An empty memcache_servers is "not set". */
        {"[memcache]\nmemcache_servers =\n", "10.9.9.9", 7},
        {"[memcache]\nmemcache_servers = \xe3\x80\x80\n", "10.9.9.9", 7},
        {"[DEFAULT]\nmemcache_servers = 10.0.0.1\n[memcache]\n"
         "memcache_servers =\n", "10.9.9.9", 7},
        /* memcache_max_connections: only a positive integer counts. */
        {"[memcache]\nmemcache_max_connections = 0\n", "10.9.9.9", 7},
        {"[memcache]\nmemcache_max_connections = -3\n", "10.9.9.9", 7},
        {"[memcache]\nmemcache_max_connections = many\n", "10.9.9.9", 7},
        {"[memcache]\nmemcache_max_connections = 4.0\n", "10.9.9.9", 7},
        {"[memcache]\nmemcache_max_connections = 1_2\n", "10.9.9.9", 12},
        /* max_connections in memcache.conf is not read by Swift. */
        {"[memcache]\nmax_connections = 9\n", "10.9.9.9", 7},
        {"[memcache]\nmax_connections = 9\nmemcache_max_connections = 5\n",
         "10.9.9.9", 5},
        {"[DEFAULT]\nmemcache_max_connections = 6\n[memcache]\n", "10.9.9.9",
         6},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        mcring_options *o = fresh();
        cr_assert_eq(mcring_options_set(o, "memcache_servers", "10.9.9.9",
                                        NULL, 0),
                     0);
        cr_assert_eq(mcring_options_set(o, "memcache_max_connections", "7",
                                        NULL, 0),
                     0);
        char err[256] = "";
        int rc = options_load_text(o, "t.conf", cases[i].text,
                                   strlen(cases[i].text), err, sizeof(err));
        cr_assert_eq(rc, 0, "case %zu: %s", i, err);
        cr_assert_str_eq(o->servers, cases[i].servers, "case %zu", i);
        cr_assert_eq(o->max_connections, cases[i].max_conns, "case %zu", i);
        mcring_options_free(o);
    }
}

Test(conf, line_ends_comments_and_continuations)
{
    /* \n, \r\n and a lone \r all end lines; a comment inside a value's
     * continuation skips a line without ending the value; blank lines
     * inside are kept, trailing ones are not; indentation counts code
     * points, so one U+3000 indents as much as one space. */
    static const char *const ends[] = {"\n", "\r\n", "\r"};
    for (size_t i = 0; i < 3; i++) {
        const char *e = ends[i];
        char text[512];
        snprintf(text, sizeof(text),
                 "[memcache]%s"
                 "memcache_servers = 10.0.0.1,%s"
                 "  # a comment%s"
                 "%s"
                 " \xe3\x80\x80" "10.0.0.2,%s"
                 "%s"
                 "\xe3\x80\x80" "10.0.0.3%s"
                 "%s%s"
                 "tries = 2%s",
                 e, e, e, e, e, e, e, e, e, e);
        int rc;
        char err[256] = "";
        mcring_options *o = load_text(text, &rc, err, sizeof(err));
        cr_assert_eq(rc, 0, "ending %zu: %s", i, err);
        cr_assert_str_eq(o->servers, "10.0.0.1,\n\n10.0.0.2,\n\n10.0.0.3",
                         "ending %zu", i);
        cr_assert_eq(o->tries, 2, "ending %zu", i);
        mcring_options_free(o);
    }
}

Test(conf, interpolation_as_configparser_does_it)
{
    static const struct {
        const char *text;
        const char *servers; /* NULL: an error */
    } cases[] = {
        {"[memcache]\nh = 10.0.0.1\nmemcache_servers = %(H)s:5\n",
         "10.0.0.1:5"},
        {"[DEFAULT]\nh = 10.0.0.2\n[memcache]\nmemcache_servers = %(h)s\n",
         "10.0.0.2"},
        {"[memcache]\np = 7%%\nmemcache_servers = 10.0.0.1\nx = %(p)s\n",
         "10.0.0.1"},
        /* ten levels are allowed, eleven are not */
        {"[memcache]\na0 = 10.0.0.4\na1 = %(a0)s\na2 = %(a1)s\n"
         "a3 = %(a2)s\na4 = %(a3)s\na5 = %(a4)s\na6 = %(a5)s\n"
         "a7 = %(a6)s\na8 = %(a7)s\na9 = %(a8)s\n"
         "memcache_servers = %(a9)s\n",
         "10.0.0.4"},
        {"[memcache]\na0 = %%\na1 = %(a0)s\na2 = %(a1)s\n"
         "a3 = %(a2)s\na4 = %(a3)s\na5 = %(a4)s\na6 = %(a5)s\n"
         "a7 = %(a6)s\na8 = %(a7)s\na9 = %(a8)s\n"
         "memcache_servers = 10.0.0.1\nz = %(a9)s\n",
         NULL},
        {"[memcache]\nloop = %(loop)s\n", NULL},
        {"[memcache]\nx = %(a)x)s\n", NULL},
        {"[memcache]\nx = %()s\n", NULL},
        {"[memcache]\nx = %(a\n", NULL},
        {"[memcache]\nx = 5%\n", NULL},
        {"[memcache]\nx = %(missing)s\n", NULL},
        {"[other]\nh = 1\n[memcache]\nx = %(h)s\n", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc;
        char err[256] = "";
        mcring_options *o = load_text(cases[i].text, &rc, err, sizeof(err));
        if (cases[i].servers == NULL) {
            cr_assert_eq(rc, MCRING_ECONFIG, "case %zu loaded", i);
        } else {
            cr_assert_eq(rc, 0, "case %zu: %s", i, err);
            cr_assert_str_eq(o->servers, cases[i].servers, "case %zu", i);
        }
        mcring_options_free(o);
    }
}

/* A file of `levels` lines, each `fan` references to the line before. */
static char *nested_references(int levels, int fan, const char *leaf)
{
    char *t = malloc(64 + strlen(leaf) + (size_t)levels * (16 + fan * 8));
    size_t n = (size_t)sprintf(t, "[memcache]\na0 = %s\n", leaf);
    for (int l = 1; l < levels; l++) {
        n += (size_t)sprintf(t + n, "a%d = ", l);
        for (int i = 0; i < fan; i++)
            n += (size_t)sprintf(t + n, "%%(a%d)s", l - 1);
        t[n++] = '\n';
    }
    t[n] = '\0';
    return t;
}

Test(conf, interpolation_is_bounded_by_the_files_size, .timeout = 60)
{
    /* Any fan-out, any depth Python allows, with or without bytes at the
     * leaves: expansion stops at the file's size plus 1 MiB, fast, with a
     * message. A file whose expansion fits is read. */
    static const char *const leaves[] = {"0123456789", "", "%%"};
    for (int fan = 2; fan <= 64; fan *= 2)
        for (size_t li = 0; li < 3; li++) {
            char *t = nested_references(10, fan, leaves[li]);
            int rc;
            char err[256] = "";
            mcring_options *o = load_text(t, &rc, err, sizeof(err));
            /* Work is fan^9 references of 7 bytes each: within the bound
             * for fan 2, past it from 4 on. */
            bool fits = fan == 2;
            if (fits) {
                cr_assert_eq(rc, 0, "fan %d leaf %zu: %s", fan, li, err);
            } else {
                cr_assert_eq(rc, MCRING_ECONFIG, "fan %d leaf %zu", fan, li);
                cr_assert_not_null(strstr(err, "past"), "%s", err);
            }
            mcring_options_free(o);
            free(t);
        }
}

Test(conf, a_hundred_thousand_options_and_sections, .timeout = 60)
{
    /* Linear: the duplicate check is a hash. The last line repeats the
     * first option, so every key is looked at. */
    enum { N = 100000 };
    char *t = malloc((size_t)N * 40 + 64);
    size_t n = (size_t)sprintf(t, "[memcache]\n");
    for (int i = 0; i < N; i++)
        n += (size_t)sprintf(t + n, "option_%d = %d\n", i, i);
    strcpy(t + n, "tries = 2\n");
    int rc;
    char err[256] = "";
    mcring_options *o = load_text(t, &rc, err, sizeof(err));
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_eq(o->tries, 2);
    mcring_options_free(o);
    strcpy(t + n, "OPTION_0 = again\n");
    o = load_text(t, &rc, err, sizeof(err));
    cr_assert_eq(rc, MCRING_ECONFIG);
    cr_assert_not_null(strstr(err, "option_0"), "%s", err);
    mcring_options_free(o);

    n = 0;
    for (int i = 0; i < N; i++)
        n += (size_t)sprintf(t + n, "[s%d]\nk = %d\n", i, i);
    strcpy(t + n, "[s0]\n");
    o = load_text(t, &rc, err, sizeof(err));
    cr_assert_eq(rc, MCRING_ECONFIG);
    cr_assert_not_null(strstr(err, "[s0] appears twice"), "%s", err);
    mcring_options_free(o);
    free(t);
}

Test(config, every_option_in_the_table_takes_its_documented_default)
{
    const mcring_option_doc *d;
    size_t n = mcring_option_docs(&d);
    cr_assert_geq(n, 20);
    mcring_options *o;
    cr_assert_eq(mcring_options_new(&o), 0);
    for (size_t i = 0; i < n; i++) {
        char err[256] = "";
        cr_assert_eq(mcring_options_set(o, d[i].name, d[i].default_value, err,
                                        sizeof(err)),
                     0, "%s = '%s': %s", d[i].name, d[i].default_value, err);
        cr_assert(d[i].doc[0] != '\0' && d[i].takes[0] != '\0', "%s",
                  d[i].name);
        /* Names are unique. */
        for (size_t j = 0; j < i; j++)
            cr_assert_str_neq(d[i].name, d[j].name);
        /* A value of the wrong kind is refused, naming the option. */
        if (strcmp(d[i].type, "integer") == 0 ||
            strcmp(d[i].type, "seconds") == 0 ||
            strcmp(d[i].type, "boolean") == 0) {
            cr_assert_eq(mcring_options_set(o, d[i].name, "not-this", err,
                                            sizeof(err)),
                         MCRING_ECONFIG, "%s", d[i].name);
            cr_assert_not_null(strstr(err, d[i].name), "%s", err);
        }
    }
    char err[256];
    cr_assert_eq(mcring_options_set(o, "no_such_option", "1", err, sizeof(err)),
                 MCRING_ECONFIG);
    cr_assert_eq(mcring_options_set(o, "max_connections", "7", err,
                                    sizeof(err)),
                 0, "the proxy-server.conf spelling is an alias");
    mcring_options_free(o);
}
