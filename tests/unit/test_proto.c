/* Protocol layer: reply parsing, request encoding, TTLs, key rules. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "proto.h"

static ssize_t parse(const char *s, reply *r)
{
    return proto_parse_line(s, strlen(s), 1048576, r);
}

Test(proto, value_header)
{
    reply r;
    const char *s = "VALUE 3d70412c7e9ea2d96fa23d4f1f1f0a1c 2 17\r\nrest";
    cr_assert_eq(parse(s, &r), (ssize_t)(strlen(s) - 4));
    cr_assert_eq(r.kind, REPLY_VALUE);
    cr_assert_eq(r.key_len, 32);
    cr_assert(memcmp(r.key, "3d70412c7e9ea2d96fa23d4f1f1f0a1c", 32) == 0);
    cr_assert_eq(r.flags, 2);
    cr_assert_eq(r.value_len, 17);
}

Test(proto, value_with_cas_and_max_flags)
{
    reply r;
    cr_assert_gt(parse("VALUE k 4294967295 0 99\r\n", &r), 0);
    cr_assert_eq(r.flags, 4294967295u);
    cr_assert_eq(r.value_len, 0);
    cr_assert_eq(r.number, 99);
}

Test(proto, simple_words)
{
    static const struct {
        const char *line;
        reply_kind kind;
    } cases[] = {
        {"END\r\n", REPLY_END},           {"STORED\r\n", REPLY_STORED},
        {"NOT_STORED\r\n", REPLY_NOT_STORED}, {"EXISTS\r\n", REPLY_EXISTS},
        {"NOT_FOUND\r\n", REPLY_NOT_FOUND},   {"DELETED\r\n", REPLY_DELETED},
        {"ERROR\r\n", REPLY_ERROR},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        reply r;
        cr_assert_eq(parse(cases[i].line, &r), (ssize_t)strlen(cases[i].line),
                     "%s", cases[i].line);
        cr_assert_eq(r.kind, cases[i].kind, "%s", cases[i].line);
    }
}

Test(proto, numbers)
{
    reply r;
    cr_assert_gt(parse("18446744073709551615\r\n", &r), 0);
    cr_assert_eq(r.kind, REPLY_NUMBER);
    cr_assert_eq(r.number, UINT64_MAX);
    cr_assert_eq(parse("18446744073709551616\r\n", &r), MCRING_EPROTO);
    cr_assert_eq(parse("-1\r\n", &r), MCRING_EPROTO);
    cr_assert_eq(parse("12a\r\n", &r), MCRING_EPROTO);
    cr_assert_eq(parse("4 \r\n", &r), MCRING_EPROTO);
}

Test(proto, error_lines)
{
    reply r;
    cr_assert_gt(parse("SERVER_ERROR object too large for cache\r\n", &r), 0);
    cr_assert_eq(r.kind, REPLY_SERVER_ERROR);
    cr_assert(proto_is_too_large(&r));
    cr_assert_gt(parse("SERVER_ERROR out of memory storing object\r\n", &r), 0);
    cr_assert_not(proto_is_too_large(&r));
    cr_assert_gt(
        parse("CLIENT_ERROR cannot increment or decrement non-numeric value\r\n",
              &r),
        0);
    cr_assert_eq(r.kind, REPLY_CLIENT_ERROR);
    cr_assert(proto_is_non_numeric(&r));
    cr_assert_gt(parse("CLIENT_ERROR\r\n", &r), 0);
    cr_assert_eq(r.msg_len, 0);
    cr_assert_gt(parse("ERROR unknown command\r\n", &r), 0);
    cr_assert_eq(r.kind, REPLY_ERROR);
    cr_assert_eq(parse("CLIENT_ERRORX\r\n", &r), MCRING_EPROTO);
}

Test(proto, incomplete_needs_more)
{
    reply r;
    cr_assert_eq(parse("", &r), 0);
    cr_assert_eq(parse("VALUE k 0 1", &r), 0);
    cr_assert_eq(parse("END\r", &r), 0);
}

Test(proto, every_prefix_of_a_reply_needs_more)
{
    const char *s = "VALUE somekey 12 345 678\r\n";
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++) {
        reply r;
        cr_assert_eq(proto_parse_line(s, i, 1000, &r), 0, "prefix %zu", i);
    }
}

Test(proto, malformed)
{
    static const char *bad[] = {
        "END\n",                  /* bare LF */
        "VALUE k 0\r\n",          /* missing bytes */
        "VALUE k 0 1 2 3\r\n",    /* too many fields */
        "VALUE  k 0 1\r\n",       /* double space */
        "VALUE k 0 1 \r\n",       /* trailing space */
        "VALUE k -1 1\r\n",       /* negative flags */
        "VALUE k 4294967296 1\r\n", /* flags over 32 bits */
        "VALUE k 0 x\r\n",        /* non-numeric length */
        "end\r\n",                /* lowercase */
        "HELLO\r\n",
        "\r\n",
        "STORED\0\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        reply r;
        size_t len = i == sizeof(bad) / sizeof(bad[0]) - 1 ? 9 : strlen(bad[i]);
        cr_assert_eq(proto_parse_line(bad[i], len, 1000, &r), MCRING_EPROTO,
                     "case %zu", i);
    }
}

Test(proto, value_longer_than_the_limit_is_rejected)
{
    reply r;
    cr_assert_eq(proto_parse_line("VALUE k 0 1001\r\n", 16, 1000, &r),
                 MCRING_EPROTO);
    cr_assert_gt(proto_parse_line("VALUE k 0 1000\r\n", 16, 1000, &r), 0);
    cr_assert_eq(proto_parse_line("VALUE k 0 99999999999999999999999\r\n",
                                  35, SIZE_MAX, &r),
                 MCRING_EPROTO);
}

Test(proto, endless_line_is_an_error_not_a_wait)
{
    char buf[PROTO_MAX_LINE + 10];
    memset(buf, 'A', sizeof(buf));
    reply r;
    cr_assert_eq(proto_parse_line(buf, sizeof(buf), 1000, &r), MCRING_EPROTO);
    cr_assert_eq(proto_parse_line(buf, PROTO_MAX_LINE - 1, 1000, &r), 0);
}

Test(proto, encoders)
{
    char b[PROTO_HEADER_MAX];
    size_t n = proto_storage_header(b, "set", "key", 3, 2, 0, 5);
    cr_assert_eq(n, strlen("set key 2 0 5\r\n"));
    cr_assert(memcmp(b, "set key 2 0 5\r\n", n) == 0);
    n = proto_storage_header(b, "add", "k", 1, 0, -1, 0);
    cr_assert(memcmp(b, "add k 0 -1 0\r\n", n) == 0);
    n = proto_storage_header(b, "set", "k", 1, UINT32_MAX, INT64_MIN, 7);
    cr_assert(memcmp(b, "set k 4294967295 -9223372036854775808 7\r\n", n) == 0);
    n = proto_arith(b, true, "k", 1, UINT64_MAX);
    cr_assert(memcmp(b, "incr k 18446744073709551615\r\n", n) == 0);
    n = proto_arith(b, false, "k", 1, 0);
    cr_assert(memcmp(b, "decr k 0\r\n", n) == 0);
    n = proto_delete(b, "abc", 3);
    cr_assert(memcmp(b, "delete abc\r\n", n) == 0);
    n = proto_get(b, "abc", 3);
    cr_assert(memcmp(b, "get abc\r\n", n) == 0);
}

Test(proto, swift_ttl_rules)
{
    int64_t e;
    double now = 1700000000.75;
    cr_assert_eq(proto_exptime(0, now, &e), 0);
    cr_assert_eq(e, 0);
    cr_assert_eq(proto_exptime(0.5, now, &e), 0);
    cr_assert_eq(e, 0, "fractions truncate toward zero: 0.5 means forever");
    cr_assert_eq(proto_exptime(59.9, now, &e), 0);
    cr_assert_eq(e, 59);
    cr_assert_eq(proto_exptime(2592000, now, &e), 0);
    cr_assert_eq(e, 2592000, "30 days itself stays a delta");
    cr_assert_eq(proto_exptime(2592001, now, &e), 0);
    cr_assert_eq(e, 1700000000 + 2592001, "over 30 days: absolute");
    cr_assert_eq(proto_exptime(-1, now, &e), 0);
    cr_assert_eq(e, -1, "negative passes through");
    cr_assert_eq(proto_exptime(-1.7, now, &e), 0);
    cr_assert_eq(e, -1);
    cr_assert_eq(proto_exptime(NAN, now, &e), MCRING_EINVAL);
    cr_assert_eq(proto_exptime(INFINITY, now, &e), MCRING_EINVAL);
    cr_assert_eq(proto_exptime(1e30, now, &e), MCRING_EINVAL);
}

Test(proto, raw_key_rules)
{
    char k[300];
    memset(k, 'a', sizeof(k));
    cr_assert(proto_key_valid(k, 250));
    cr_assert_not(proto_key_valid(k, 251));
    cr_assert_not(proto_key_valid(k, 0));
    cr_assert_not(proto_key_valid("a b", 3));
    cr_assert_not(proto_key_valid("a\r\nflush_all", 13), "no injection");
    cr_assert_not(proto_key_valid("a\tb", 3));
    cr_assert_not(proto_key_valid("a\x7f", 2));
    cr_assert_not(proto_key_valid("a\0b", 3));
    cr_assert(proto_key_valid("caf\xc3\xa9", 5), "UTF-8 is fine");
}
