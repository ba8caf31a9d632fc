/* The client against real memcached: every single-key operation, the wire
 * format Swift uses, and the fixes of Swift's single-key bugs. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "hash.h"

static mc_server srv[2];
static mcring_options *opts;
static mcring_client *client;

static void one_server(void)
{
    mc_start(&srv[0], NULL);
    opts = opts_for(srv[0].name, NULL);
    client = client_for(opts);
}

static void teardown(void)
{
    mcring_client_free(client);
    mcring_options_free(opts);
    mc_stop(&srv[0]);
    mc_stop(&srv[1]);
}

static const char *md5hex(const char *key)
{
    static char hex[33];
    unsigned char d[16];
    hash_md5(key, strlen(key), d);
    hash_hex(d, hex);
    hex[32] = '\0';
    return hex;
}

/* "stats" counter from the server itself. */
static long server_stat(const mc_server *s, const char *name)
{
    const char *r = mc_raw(s, "stats\r\n", 7, "END\r\n");
    char pat[64];
    snprintf(pat, sizeof(pat), "STAT %s ", name);
    const char *p = strstr(r, pat);
    cr_assert_not_null(p, "no stat %s", name);
    return atol(p + strlen(pat));
}

TestSuite(client, .init = one_server, .fini = teardown, .timeout = 60);

Test(client, set_then_get_round_trips_bytes_and_flags)
{
    mcring_item it = MCRING_ITEM_INIT;
    const char value[] = "bin\0ary\r\nEND\r\n";
    cr_assert_eq(mcring_set(client, "k", 1, value, sizeof(value), 0xdeadbeee, 0),
                 MCRING_OK);
    cr_assert_eq(mcring_get(client, "k", 1, &it), MCRING_OK);
    cr_assert_eq(it.len, sizeof(value));
    cr_assert(memcmp(it.data, value, sizeof(value)) == 0);
    cr_assert_eq(it.flags, 0xdeadbeee);
    cr_assert_eq(it.data[it.len], '\0');
    mcring_item_release(&it);
}

Test(client, empty_key_and_empty_value)
{
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_set(client, "", 0, "", 0, 0, 0), MCRING_OK);
    cr_assert_eq(mcring_get(client, "", 0, &it), MCRING_OK);
    cr_assert_eq(it.len, 0);
    /* Swift hashes the empty key too: md5("") on the wire. */
    const char *r = mc_raw(&srv[0], "get d41d8cd98f00b204e9800998ecf8427e\r\n",
                           38, "END\r\n");
    cr_assert(strstr(r, "VALUE d41d8cd98f00b204e9800998ecf8427e 0 0\r\n") != NULL,
              "%s", r);
    mcring_item_release(&it);
}

Test(client, swift_wire_format)
{
    cr_assert_eq(mcring_set(client, "some_key", 8, "\"v\"", 3, MCRING_FLAG_JSON, 0),
                 MCRING_OK);
    char req[64];
    snprintf(req, sizeof(req), "get %s\r\n", md5hex("some_key"));
    cr_assert_str_eq(md5hex("some_key"), "3d70412c7e9ea2d96fa23d4f1f1f0a1c");
    const char *r = mc_raw(&srv[0], req, strlen(req), "END\r\n");
    cr_assert_str_eq(r, "VALUE 3d70412c7e9ea2d96fa23d4f1f1f0a1c 2 3\r\n\"v\"\r\nEND\r\n");
}

Test(client, miss_is_not_an_error)
{
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_get(client, "absent", 6, &it), MCRING_MISS);
    cr_assert_eq(it.len, 0);
    mcring_item_release(&it);
}

Test(client, large_values_and_buffer_reuse)
{
    size_t n = 900 * 1024;
    char *v = malloc(n);
    for (size_t i = 0; i < n; i++)
        v[i] = (char)(i * 31 + 7);
    cr_assert_eq(mcring_set(client, "big", 3, v, n, 0, 0), MCRING_OK);
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_get(client, "big", 3, &it), MCRING_OK);
    cr_assert_eq(it.len, n);
    cr_assert(memcmp(it.data, v, n) == 0);
    char *buf = it.data;
    cr_assert_eq(mcring_set(client, "small", 5, "x", 1, 0, 0), MCRING_OK);
    cr_assert_eq(mcring_get(client, "small", 5, &it), MCRING_OK);
    cr_assert_eq(it.data, buf, "a big enough item is reused, not reallocated");
    mcring_item_release(&it);
    free(v);
}

Test(client, a_value_over_the_callers_limit_is_refused_and_changes_nothing)
{
    mcring_options *o = opts_for(srv[0].name, "item_size_max", "1048576",
                                 NULL);
    mcring_client *c = client_for(o);
    size_t n = 1048577;
    char *v = calloc(1, n);
    long sets = server_stat(&srv[0], "cmd_set");
    cr_assert_eq(mcring_set(c, "k", 1, v, n, 0, 0), MCRING_ETOOLARGE);
    cr_assert_eq(server_stat(&srv[0], "cmd_set"), sets, "nothing was sent");
    free(v);
    mcring_client_free(c);
    mcring_options_free(o);
}

Test(client, a_value_the_server_refuses_is_the_values_fault)
{
    /* No limit in the client by default (as Swift): memcached's own 1 MiB
     * item size refuses it, which is the value's fault, not the server's. */
    size_t n = 1048576;
    char *v = calloc(1, n);
    cr_assert_eq(mcring_set(client, "k", 1, v, n, 0, 0), MCRING_ETOOLARGE);
    mcring_server_stats st;
    mcring_client_server_stats(client, &st, 1);
    cr_assert_eq(st.errors, 0, "not counted against the server");
    cr_assert_eq(mcring_set(client, "k", 1, "ok", 2, 0, 0), MCRING_OK,
                 "the connection is still in step");
    free(v);
}

/* A memcached started with -I 4m, as Swift deployments often run. */
static void big_item_server(mc_server *s)
{
    mc_start(s, "-I 4m");
}

Test(client, values_over_1_mib_go_through_by_default)
{
    big_item_server(&srv[1]);
    mcring_options *o = opts_for(srv[1].name, NULL);
    mcring_client *c = client_for(o);
    size_t sizes[] = {1048577, 1536 * 1024, 3 * 1024 * 1024};
    for (size_t i = 0; i < 3; i++) {
        size_t n = sizes[i];
        char *v = malloc(n);
        for (size_t j = 0; j < n; j++)
            v[j] = (char)(j * 7 + i);
        cr_assert_eq(mcring_set(c, "big", 3, v, n, 0, 0), MCRING_OK,
                     "set of %zu bytes", n);
        mcring_item it = MCRING_ITEM_INIT;
        cr_assert_eq(mcring_get(c, "big", 3, &it), MCRING_OK);
        cr_assert_eq(it.len, n);
        cr_assert(memcmp(it.data, v, n) == 0);
        mcring_item_release(&it);
        free(v);
    }
    mcring_client_free(c);
    mcring_options_free(o);
}

Test(client, a_reply_over_the_callers_limit_is_not_the_servers_fault)
{
    big_item_server(&srv[1]);
    /* Written by a client without a limit... */
    mcring_options *wo = opts_for(srv[1].name, NULL);
    mcring_client *writer = client_for(wo);
    size_t n = 1536 * 1024;
    char *v = calloc(1, n);
    cr_assert_eq(mcring_set(writer, "big", 3, v, n, 0, 0), MCRING_OK);
    cr_assert_eq(mcring_set(writer, "small", 5, "s", 1, 0, 0), MCRING_OK);
    /* ... read by one that accepts at most 1 MiB, and bans a server after
     * two errors: the value is refused, many times over, and that is the
     * caller's limit, not a server failure. */
    mcring_options *ro = opts_for(srv[1].name, "item_size_max", "1048576",
                                  "error_suppression_limit", "2", NULL);
    mcring_client *reader = client_for(ro);
    for (int i = 0; i < 20; i++) {
        mcring_item it = MCRING_ITEM_INIT;
        cr_assert_eq(mcring_get(reader, "big", 3, &it), MCRING_ETOOLARGE);
        cr_assert_eq(it.len, 0);
        /* The connection stays in step: the next answer is the right one. */
        cr_assert_eq(mcring_get(reader, "small", 5, &it), MCRING_OK);
        cr_assert_eq(it.len, 1);
        mcring_item_release(&it);
    }
    mcring_server_stats st;
    mcring_client_server_stats(reader, &st, 1);
    cr_assert_eq(st.errors, 0);
    cr_assert_eq(st.limited_for, 0, "a healthy server is never banned");
    cr_assert_eq(st.connects, 1, "one connection throughout");
    /* In a multi-get too: only that key is refused. */
    mcring_key keys[2] = {{"big", 3}, {"small", 5}};
    mcring_item items[2] = {MCRING_ITEM_INIT, MCRING_ITEM_INIT};
    int status[2];
    mcring_get_multi(reader, keys, 2, NULL, 0, items, status);
    cr_assert_eq(status[0], MCRING_ETOOLARGE);
    cr_assert_eq(status[1], MCRING_OK);
    mcring_item_release(&items[0]);
    mcring_item_release(&items[1]);
    free(v);
    mcring_client_free(reader);
    mcring_client_free(writer);
    mcring_options_free(ro);
    mcring_options_free(wo);
}

Test(client, ttl_rules_on_the_wire)
{
    mcring_item it = MCRING_ITEM_INIT;
    /* Over 30 days becomes an absolute time: still there. Sent as a delta
     * it would be read as a 1970 timestamp and expire at once. */
    cr_assert_eq(mcring_set(client, "long", 4, "v", 1, 0, 3000000), MCRING_OK);
    cr_assert_eq(mcring_get(client, "long", 4, &it), MCRING_OK);
    char req[64];
    snprintf(req, sizeof(req), "mg %s t\r\n", md5hex("long"));
    const char *r = mc_raw(&srv[0], req, strlen(req), "\r\n");
    long ttl = 0;
    cr_assert(sscanf(r, "HD t%ld", &ttl) == 1, "%s", r);
    /* memcached counts in whole seconds of its own clock: +1 at most. */
    cr_assert(ttl > 2999990 && ttl <= 3000001, "ttl %ld", ttl);

    cr_assert_eq(mcring_set(client, "half", 4, "v", 1, 0, 0.5), MCRING_OK);
    snprintf(req, sizeof(req), "mg %s t\r\n", md5hex("half"));
    r = mc_raw(&srv[0], req, strlen(req), "\r\n");
    cr_assert(strstr(r, "t-1") != NULL, "0.5 s means never expires: %s", r);

    cr_assert_eq(mcring_set(client, "short", 5, "v", 1, 0, 1), MCRING_OK);
    sleep(2);
    cr_assert_eq(mcring_get(client, "short", 5, &it), MCRING_MISS);
    mcring_item_release(&it);
}

Test(client, incr_and_decr_as_swift)
{
    uint64_t v;
    cr_assert_eq(mcring_incr(client, "n", 1, 5, 0, &v), MCRING_OK);
    cr_assert_eq(v, 5, "created holding the delta");
    cr_assert_eq(mcring_incr(client, "n", 1, 7, 0, &v), MCRING_OK);
    cr_assert_eq(v, 12);
    cr_assert_eq(mcring_incr(client, "n", 1, -2, 0, &v), MCRING_OK);
    cr_assert_eq(v, 10, "a negative delta decrements");
    cr_assert_eq(mcring_decr(client, "n", 1, 100, 0, &v), MCRING_OK);
    cr_assert_eq(v, 0, "decr floors at 0");
    cr_assert_eq(mcring_decr(client, "fresh", 5, 3, 0, &v), MCRING_OK);
    cr_assert_eq(v, 0, "decr of a missing key creates 0");
    cr_assert_eq(mcring_decr(client, "n", 1, -4, 0, &v), MCRING_OK);
    cr_assert_eq(v, 4, "decr(-4) adds");
    cr_assert_eq(mcring_incr(client, "n", 1, INT64_MAX, 0, &v), MCRING_OK);
    cr_assert_eq(mcring_incr(client, "n", 1, INT64_MAX, 0, &v), MCRING_OK);
    cr_assert_eq(v, 2, "4 + 2 * (2^63 - 1) wraps at 2^64 to 2");
    cr_assert_eq(mcring_decr(client, "m", 1, INT64_MIN, 0, &v), MCRING_OK);
    cr_assert_eq(v, (uint64_t)1 << 63, "decr(INT64_MIN) adds 2^63");
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_get(client, "fresh", 5, &it), MCRING_OK);
    cr_assert_eq(it.len, 1);
    cr_assert_eq(it.data[0], '0');
    mcring_item_release(&it);
}

Test(client, incr_ttl_applies_only_on_creation)
{
    uint64_t v;
    cr_assert_eq(mcring_incr(client, "t", 1, 1, 1, &v), MCRING_OK);
    cr_assert_eq(mcring_incr(client, "t", 1, 1, 1000, &v), MCRING_OK);
    sleep(2);
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_get(client, "t", 1, &it), MCRING_MISS,
                 "expired with the creation TTL");
    mcring_item_release(&it);
}

Test(client, incr_on_text_is_its_own_error_and_not_the_servers)
{
    uint64_t v = 77;
    cr_assert_eq(mcring_set(client, "text", 4, "abc", 3, 0, 0), MCRING_OK);
    cr_assert_eq(mcring_incr(client, "text", 4, 1, 0, &v), MCRING_ENOTNUM);
    cr_assert_eq(v, 77, "result untouched");
    mcring_server_stats st;
    mcring_client_server_stats(client, &st, 1);
    cr_assert_eq(st.errors, 0);
    cr_assert_eq(st.connects, 1, "connection kept");
}

Test(client, delete_reports_what_happened)
{
    cr_assert_eq(mcring_set(client, "d", 1, "x", 1, 0, 0), MCRING_OK);
    cr_assert_eq(mcring_delete(client, "d", 1, NULL, 0), MCRING_OK);
    cr_assert_eq(mcring_delete(client, "d", 1, NULL, 0), MCRING_MISS);
}

Test(client, pickled_values_are_undecodable_not_values)
{
    char req[128];
    int n = snprintf(req, sizeof(req), "set %s 1 0 4\r\npikl\r\n", md5hex("p"));
    cr_assert_str_eq(mc_raw(&srv[0], req, (size_t)n, "\r\n"), "STORED\r\n");
    n = snprintf(req, sizeof(req), "set %s 3 0 2\r\n{}\r\n", md5hex("p3"));
    cr_assert_str_eq(mc_raw(&srv[0], req, (size_t)n, "\r\n"), "STORED\r\n");
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_get(client, "p", 1, &it), MCRING_UNDECODABLE);
    cr_assert_eq(it.flags, 1);
    cr_assert_eq(it.len, 4, "bytes still available");
    /* Swift: get takes the error path for flags 3, get_multi a miss (bug
     * 6); both report undecodable here. */
    cr_assert_eq(mcring_get(client, "p3", 2, &it), MCRING_UNDECODABLE);
    mcring_key k = {"p3", 2};
    int status;
    cr_assert_eq(mcring_get_multi(client, &k, 1, "p3", 2, &it, &status), 0);
    cr_assert_eq(status, MCRING_UNDECODABLE);
    mcring_item_release(&it);
}

Test(client, raw_keys_go_on_the_wire_as_given)
{
    mcring_options *o = opts_for(srv[0].name, "key_mode", "raw", NULL);
    mcring_client *c = client_for(o);
    cr_assert_eq(mcring_set(c, "user:42", 7, "v", 1, 0, 0), MCRING_OK);
    const char *r = mc_raw(&srv[0], "get user:42\r\n", 13, "END\r\n");
    cr_assert_str_eq(r, "VALUE user:42 0 1\r\nv\r\nEND\r\n");

    long sets = server_stat(&srv[0], "cmd_set");
    static const char *bad[] = {"a b", "a\r\nflush_all", "", "tab\there"};
    for (size_t i = 0; i < 4; i++)
        cr_assert_eq(mcring_set(c, bad[i], strlen(bad[i]), "v", 1, 0, 0),
                     MCRING_EKEY, "%s", bad[i]);
    char longkey[251];
    memset(longkey, 'k', sizeof(longkey));
    cr_assert_eq(mcring_set(c, longkey, 251, "v", 1, 0, 0), MCRING_EKEY);
    cr_assert_eq(mcring_set(c, longkey, 250, "v", 1, 0, 0), MCRING_OK);
    cr_assert_eq(server_stat(&srv[0], "cmd_set"), sets + 1,
                 "no invalid key reached the server");
    mcring_client_free(c);
    mcring_options_free(o);
}

Test(client, item_size_warning_as_swift_logs_it)
{
    log_capture lc = {0};
    mcring_options *o = opts_for(srv[0].name, "item_size_warning_threshold",
                                 "1024", NULL);
    mcring_options_set_log(o, log_capture_fn, &lc);
    mcring_client *c = client_for(o);
    char v[2048] = {0};
    cr_assert_eq(mcring_set(c, "w", 1, v, 1000, 0, 0), MCRING_OK);
    cr_assert_eq(lc.n, 0);
    cr_assert_eq(mcring_set(c, "w", 1, v, 1536, 0, 0), MCRING_OK);
    cr_assert_eq(log_count(&lc, "Item size larger than warning threshold: "
                                "1536 (2Ki) >= 1024 (1Ki)"),
                 1, "%s", lc.lines[0]);
    mcring_client_free(c);
    mcring_options_free(o);
}

Test(client, delete_uses_the_server_key_for_placement)
{
    mc_start(&srv[1], NULL);
    char list[128], key[32];
    snprintf(list, sizeof(list), "%s,%s", srv[0].name, srv[1].name);
    mcring_options *o = opts_for(list, "tries", "1", NULL);
    mcring_client *c = client_for(o);
    /* A key whose own server is not the one "/acct/cont" picks. */
    mcring_ring *r = mcring_client_ring_ref(c);
    size_t sk;
    mcring_ring_locate(r, "/acct/cont", 10, &sk, 1);
    const char *other = mcring_ring_server(r, 1 - sk);
    key_on(c, other, NULL, key, sizeof(key));
    mcring_ring_free(r);
    mcring_kv kv = {key, strlen(key), "v", 1, 0};
    cr_assert_eq(mcring_set_multi(c, &kv, 1, "/acct/cont", 10, 0, NULL), 0);
    cr_assert_eq(mcring_delete(c, key, strlen(key), NULL, 0), MCRING_MISS,
                 "not on the key's own server");
    cr_assert_eq(mcring_delete(c, key, strlen(key), "/acct/cont", 10), MCRING_OK);
    cr_assert_eq(mcring_delete(c, key, strlen(key), "/acct/cont", 10),
                 MCRING_MISS);
    mcring_client_free(c);
    mcring_options_free(o);
}

Test(client, a_ttl_past_2038_is_sent_as_swift_does_and_logged)
{
    /* memcached keeps exptime in 32 bits: an absolute time past January
     * 2038 makes it store the item already expired. Swift sends it all the
     * same; so does mcring, and says so in the log. */
    log_capture lc = {0};
    mcring_options *o = opts_for(srv[0].name, NULL);
    mcring_options_set_log(o, log_capture_fn, &lc);
    mcring_client *c = client_for(o);
    double ttl = 2200000000.0 - now_s(); /* lands in 2039 */
    cr_assert_eq(mcring_set(c, "late", 4, "v", 1, 0, ttl), MCRING_OK);
    cr_assert_eq(log_count(&lc, "ends after 2038"), 1);
    mcring_item it = MCRING_ITEM_INIT;
    cr_assert_eq(mcring_get(c, "late", 4, &it), MCRING_MISS,
                 "memcached took it as already expired");
    cr_assert_eq(mcring_set(c, "soon", 4, "v", 1, 0, 3600), MCRING_OK);
    cr_assert_eq(log_count(&lc, "ends after 2038"), 1, "no warning for 1 h");
    mcring_item_release(&it);
    mcring_client_free(c);
    mcring_options_free(o);
}
