/* Server strings and lists, as Swift's parse_socket_string reads them. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "address.h"

static address parse_ok(const char *s)
{
    address a;
    char err[256];
    int rc = address_parse(s, strlen(s), &a, err, sizeof(err));
    cr_assert_eq(rc, 0, "%s: %s", s, err);
    return a;
}

static void parse_bad(const char *s)
{
    address a;
    char err[256] = "";
    cr_assert_eq(address_parse(s, strlen(s), &a, err, sizeof(err)),
                 MCRING_EADDR, "'%s' should be rejected", s);
    cr_assert(strlen(err) > 0, "an error says why");
}

Test(address, swift_table)
{
    address a = parse_ok("host");
    cr_assert_str_eq(a.host, "host");
    cr_assert_eq(a.port_num, 11211);
    a = parse_ok("1.2.3.4");
    cr_assert_str_eq(a.host, "1.2.3.4");
    cr_assert_eq(a.port_num, 11211);
    a = parse_ok("host:5");
    cr_assert_str_eq(a.host, "host");
    cr_assert_eq(a.port_num, 5);
    a = parse_ok("1.2.3.4:5");
    cr_assert_eq(a.port_num, 5);
    a = parse_ok("[::1]");
    cr_assert_str_eq(a.host, "::1");
    cr_assert_eq(a.port_num, 11211);
    cr_assert(a.is_ipv6_literal);
    a = parse_ok("[::1]:5");
    cr_assert_str_eq(a.host, "::1");
    cr_assert_eq(a.port_num, 5);
    a = parse_ok("[fe80::1%eth0]:5");
    cr_assert_str_eq(a.host, "fe80::1%eth0", "scope id kept");
    cr_assert_eq(a.port_num, 5);
    a = parse_ok("cache-1.example.com:0011211");
    cr_assert_eq(a.port_num, 11211);
    cr_assert_str_eq(a.port, "11211");
    a = parse_ok("/var/run/memcached.sock");
    cr_assert(a.is_unix);
}

Test(address, swift_errors)
{
    parse_bad("::1");
    parse_bad("a:b:c");
    parse_bad("[::1]:");
    parse_bad("[::1]x");
    parse_bad("[::1");
    parse_bad("[]");
    parse_bad("[not an address]:5");
    parse_bad("[a:b]");
    parse_bad("[::1]:+5");
    parse_bad("host:-5");
    parse_bad("host:+");
    parse_bad("host:++5");
    parse_bad("host:memcache");
    parse_bad("host: 5");
    parse_bad("host:");
    parse_bad("host:abc");
    parse_bad("host:0");
    parse_bad("host:65536");
    parse_bad(":11211");
    parse_bad("ho st");
    parse_bad("host\n");
    parse_bad("ho$t");
    parse_bad("");
}

Test(address, brackets_and_signs_as_swift_connects_with_them)
{
    /* Swift's IPV6_RE takes anything in brackets and getaddrinfo resolves
     * it: IPv4 addresses and host names work bracketed too. */
    static const struct {
        const char *in, *host;
        unsigned port;
        bool v6;
    } ok[] = {
        {"[127.0.0.1]:11211", "127.0.0.1", 11211, false},
        {"[127.0.0.1]", "127.0.0.1", 11211, false},
        {"[localhost]", "localhost", 11211, false},
        {"[cache-1.example.com]:00099", "cache-1.example.com", 99, false},
        {"[::ffff:127.0.0.1]:7", "::ffff:127.0.0.1", 7, true},
        /* glibc reads a numeric service with strtoul: a '+' is taken. */
        {"localhost:+11211", "localhost", 11211, false},
        {"10.0.0.1:+0099", "10.0.0.1", 99, false},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        address a = parse_ok(ok[i].in);
        cr_assert_str_eq(a.host, ok[i].host, "%s", ok[i].in);
        cr_assert_eq(a.port_num, ok[i].port, "%s", ok[i].in);
        cr_assert_eq(a.is_ipv6_literal, ok[i].v6, "%s", ok[i].in);
        char port[8];
        snprintf(port, sizeof(port), "%u", ok[i].port);
        cr_assert_str_eq(a.port, port, "the port normalised for getaddrinfo");
    }
}

Test(address, list_tolerates_spaces_and_empty_entries)
{
    server_list l;
    char err[256];
    cr_assert_eq(server_list_parse(" a:1 ,, b:2,\t[::1]:3 , ", &l, err,
                                   sizeof(err)),
                 0, "%s", err);
    cr_assert_eq(l.count, 3);
    cr_assert_str_eq(l.names[0], "a:1");
    cr_assert_str_eq(l.names[1], "b:2");
    cr_assert_str_eq(l.names[2], "[::1]:3");
    server_list_free(&l);

    /* Swift strips entries with str.strip(): every Unicode white space
     * character, before and after, in any mix. */
    static const char *const spaces[] = {
        "\t", "\v", "\f", "\r", "\n", "\x1c", "\x1f", " ",
        "\xc2\x85", "\xc2\xa0", "\xe1\x9a\x80", "\xe2\x80\x80",
        "\xe2\x80\x8a", "\xe2\x80\xa8", "\xe2\x80\xa9",
        "\xe2\x80\xaf", "\xe2\x81\x9f", "\xe3\x80\x80"};
    size_t ns = sizeof(spaces) / sizeof(spaces[0]);
    for (size_t i = 0; i < ns; i++) {
        char text[128];
        snprintf(text, sizeof(text), "%sa:1%s%s,%s%sb:2%s", spaces[i],
                 spaces[(i + 1) % ns], spaces[i], spaces[(i + 5) % ns],
                 spaces[i], spaces[(i + 7) % ns]);
        cr_assert_eq(server_list_parse(text, &l, err, sizeof(err)), 0,
                     "space %zu: %s", i, err);
        cr_assert_eq(l.count, 2);
        cr_assert_str_eq(l.names[0], "a:1", "space %zu", i);
        cr_assert_str_eq(l.names[1], "b:2", "space %zu", i);
        server_list_free(&l);
    }
    /* Not white space to Python: U+200B (zero width space), U+FEFF. */
    cr_assert_neq(server_list_parse("\xe2\x80\x8b" "a:1", &l, err,
                                    sizeof(err)),
                  0);
    cr_assert_neq(server_list_parse("a:1\xef\xbb\xbf", &l, err, sizeof(err)),
                  0);
}

Test(address, list_keeps_duplicates_and_exact_text)
{
    server_list l;
    cr_assert_eq(server_list_parse("127.0.0.1,127.0.0.1:11211,127.0.0.1", &l,
                                   NULL, 0),
                 0);
    cr_assert_eq(l.count, 3);
    cr_assert_str_eq(l.names[0], "127.0.0.1");
    cr_assert_str_eq(l.names[1], "127.0.0.1:11211");
    server_list_free(&l);
}

Test(address, list_errors_change_nothing)
{
    server_list l = {0};
    char err[256] = "";
    cr_assert_eq(server_list_parse("a:1,::1,b:2", &l, err, sizeof(err)),
                 MCRING_EADDR);
    cr_assert(strstr(err, "::1") != NULL, "names the bad entry: %s", err);
    cr_assert_null(l.names);
    cr_assert_eq(server_list_parse(" , ,", &l, err, sizeof(err)),
                 MCRING_ENOSERVERS);
}

Test(address, weights_after_the_port)
{
    server_list l;
    char err[256];
    cr_assert_eq(server_list_parse("a:1:3, [::1]:5:2, b:7, c", &l, err,
                                   sizeof(err)),
                 0, "%s", err);
    cr_assert(l.has_weights);
    cr_assert_str_eq(l.names[0], "a:1");
    cr_assert_eq(l.weights[0], 3);
    cr_assert_str_eq(l.names[1], "[::1]:5");
    cr_assert_eq(l.weights[1], 2);
    cr_assert_eq(l.weights[2], 1);
    cr_assert_eq(l.weights[3], 1);
    server_list_free(&l);
    cr_assert_eq(server_list_parse("a:1:0", &l, err, sizeof(err)), MCRING_EADDR);
    cr_assert_eq(server_list_parse("a:1:1001", &l, err, sizeof(err)),
                 MCRING_EADDR);
    cr_assert_eq(server_list_parse("a:b:c", &l, err, sizeof(err)), MCRING_EADDR);
    cr_assert_eq(server_list_parse("a:1", &l, err, sizeof(err)), 0);
    cr_assert_not(l.has_weights);
    server_list_free(&l);
}

Test(address, twemproxy_server_names_after_the_weight)
{
    server_list l;
    char err[256];
    cr_assert_eq(server_list_parse("a:1:3 cacheA, [::1]:5:2   v6name, b:7, "
                                   "/var/run/mc.sock",
                                   &l, err, sizeof(err)),
                 0, "%s", err);
    cr_assert(l.has_labels);
    cr_assert(l.has_weights);
    cr_assert_str_eq(l.names[0], "a:1", "the address identifies the server");
    cr_assert_str_eq(l.labels[0], "cacheA");
    cr_assert_eq(l.weights[0], 3);
    cr_assert_str_eq(l.names[1], "[::1]:5");
    cr_assert_str_eq(l.labels[1], "v6name");
    cr_assert_null(l.labels[2]);
    cr_assert_null(l.labels[3]);
    server_list_free(&l);

    /* Spaces anywhere else stay errors, with the old message. */
    static const char *const bad[] = {"a:1 name", "a b", "a:1:2 two words",
                                      "/tmp/my sock", "a :1:2"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        cr_assert_eq(server_list_parse(bad[i], &l, err, sizeof(err)),
                     MCRING_EADDR, "%s accepted", bad[i]);
        cr_assert(strstr(err, "space") != NULL, "%s: %s", bad[i], err);
    }
    cr_assert_eq(server_list_parse("a:1:1 x\x01y", &l, err, sizeof(err)),
                 MCRING_EADDR);
    cr_assert_eq(server_list_parse("a:1", &l, err, sizeof(err)), 0);
    cr_assert_not(l.has_labels);
    server_list_free(&l);
}
