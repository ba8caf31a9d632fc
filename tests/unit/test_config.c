/* Options and memcache.conf, read as Swift's ConfigParser reads them. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

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
    cr_assert_str_eq(mcring_ring_hash(r), "crc16");
    mcring_ring_free(r);
    mcring_options_free(o);
}
