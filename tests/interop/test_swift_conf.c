/* memcache.conf and server strings, differential: Swift's own middleware
 * (python3-swift, through swift_oracle.py) loads thousands of generated
 * memcache.conf files, valid and invalid, and mcring must end up with the
 * same settings, or fail where Swift fails, or differ exactly where
 * docs/swift-compat.md lists a deviation. Server strings go through
 * Swift's parse_socket_string and eventlet's getaddrinfo and through
 * mcring's parser and the system resolver. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "address.h"
#include "config.h"
#include "harness.h"

static char oracle[512];

static void setup(void)
{
    snprintf(oracle, sizeof(oracle), "%s/interop/swift_oracle.py",
             env_path("MCRING_TEST_SOURCE"));
}

TestSuite(swift_conf, .init = setup, .timeout = 600);

static uint64_t rng_state;
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}
#define PICK(a) (a)[rnd() % (sizeof(a) / sizeof((a)[0]))]

/* ---- generating files ------------------------------------------------- */

/* What a generated value does to each side. */
enum kind {
    SAME = 0, /* both read it the same way */
    DEV = 1,  /* Swift reads it, mcring refuses it (a listed deviation) */
    ERR = 2,  /* both refuse it */
};

typedef struct choice {
    const char *text;
    enum kind kind;
} choice;

/* Python's white space (str.strip), for around values and keys. */
static const char *const spaces[] = {
    "", "", "", " ", "\t", "\xc2\xa0", "\xe3\x80\x80", "\xe2\x80\x83",
    "\xc2\x85", "\x1f", "\v", "\f"};

static const choice servers[] = {
    {"10.0.0.1:11211", SAME},  {"10.0.0.2", SAME},
    {"cache-1.example:0011211", SAME}, {"[::1]:5", SAME},
    {"[fe80::1%%eth0]:11211", SAME}, {"[fe80::1%eth0]", ERR},
    {"[127.0.0.1]:11211", SAME},
    {"[localhost]", SAME},     {"host-7:+11212", SAME},
    {"%(base)s.9:1", SAME},    {"a:b:c", ERR},
    {"[::1]x", ERR},           {"host:memcache", DEV},
    {"host:0", DEV},           {"host:76747", DEV},
    {"host: 5", DEV},
};
static const choice max_conns[] = {
    {"4", SAME}, {"1_0", SAME}, {"0", SAME}, {"-3", SAME}, {"many", SAME},
    {"2.5", SAME}, {"\xd9\xa3", SAME}, {"", SAME}, {"99999", DEV},
};
static const choice seconds[] = {
    {"0.5", SAME}, {"1_0.2_5", SAME}, {"3", SAME}, {".25", SAME},
    {"2.", SAME}, {"1e-1", SAME}, {"\xd9\xa1.\xd9\xa5", SAME},
    {"0", DEV}, {"-1", DEV}, {"inf", DEV}, {"nan", DEV}, {"soon", ERR},
    {"1__0", ERR}, {"", ERR},
};
static const choice tries[] = {
    {"1", SAME}, {"2", SAME}, {"5", SAME}, {"+3", SAME}, {"0_2", SAME},
    {"\xef\xbc\x94", SAME}, {"0", DEV}, {"-1", DEV}, {"three", ERR},
    {"2.0", ERR},
};
static const choice intervals[] = {
    {"60", SAME}, {"0", SAME}, {"-5", SAME}, {"1.5", SAME}, {"1_0", SAME},
    {"inf", DEV}, {"x", ERR},
};
static const choice limits[] = {
    {"10", SAME}, {"0", SAME}, {"2.5", SAME}, {"-1", SAME}, {"1e3", SAME},
    {"1e9", DEV}, {"ten", ERR},
};
static const choice thresholds[] = {
    {"-1", SAME}, {"0", SAME}, {"1000", SAME}, {"1_000_000", SAME},
    {"1.5", ERR}, {"big", ERR},
};
static const choice tls_values[] = {
    {"true", SAME}, {"Yes", SAME}, {"ON", SAME}, {"1", SAME}, {"t", SAME},
    {"false", SAME}, {"no", SAME}, {"Off", SAME}, {"0", SAME}, {"", SAME},
    {"maybe", DEV},
};
static const choice paths[] = {
    {"/etc/ssl/ca.pem", SAME}, {"", SAME}, {"/k\xc3\xa9y.pem", SAME},
};
static const choice unknown_values[] = {
    {"anything", SAME}, {"50%%", SAME}, {"%(base)s", SAME},
    {"%(nowhere)s", ERR}, {"5%", ERR}, {"%(a)x)s", ERR},
};

typedef struct option {
    const char *key;
    const choice *values;
    size_t nvalues;
} option;

#define OPT(k, v) {k, v, sizeof(v) / sizeof(v[0])}
static const option options[] = {
    OPT("memcache_servers", servers), /* value built from several */
    OPT("memcache_max_connections", max_conns),
    OPT("max_connections", max_conns),
    OPT("connect_timeout", seconds),
    OPT("pool_timeout", seconds),
    OPT("io_timeout", seconds),
    OPT("tries", tries),
    OPT("error_suppression_interval", intervals),
    OPT("error_suppression_limit", limits),
    OPT("item_size_warning_threshold", thresholds),
    OPT("tls_enabled", tls_values),
    OPT("tls_cafile", paths),
    OPT("tls_certfile", paths),
    OPT("tls_keyfile", paths),
    OPT("some_future_option", unknown_values),
};
#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

/* Mostly values both read alike; one in twelve from the whole class, so
 * that most files have at most one value that is not. */
static const choice *pick(const choice *values, size_t n)
{
    bool any = rnd() % 12 == 0;
    for (;;) {
        const choice *c = &values[rnd() % n];
        if (any || c->kind == SAME)
            return c;
    }
}

typedef struct text {
    char buf[8192];
    size_t n;
} text;

static void put(text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(t->buf + t->n, sizeof(t->buf) - t->n, fmt, ap);
    va_end(ap);
    cr_assert(w >= 0 && (size_t)w < sizeof(t->buf) - t->n);
    t->n += (size_t)w;
}

static const char *eol(void)
{
    static const char *const ends[] = {"\n", "\n", "\r\n", "\r"};
    return PICK(ends);
}

/* A server list; its kind is the worst of its entries'. Only commas and
 * spaces is a deviation (Swift: no servers at all). */
static enum kind server_list_value(text *t)
{
    static const char *const seps[] = {",", ", ", " ,\xe3\x80\x80", ",,"};
    int n = (int)(rnd() % 4);
    enum kind k = SAME;
    if (n == 0) {
        if (rnd() % 6 == 0) {
            put(t, ", ,");
            return DEV;
        }
        return SAME; /* empty: Swift's default, and mcring's */
    }
    for (int i = 0; i < n; i++) {
        const choice *c = pick(servers, sizeof(servers) / sizeof(servers[0]));
        put(t, "%s%s", i ? PICK(seps) : "", c->text);
        if (c->kind > k)
            k = c->kind;
        if (i + 1 < n && rnd() % 4 == 0)
            put(t, ",%s   ", eol()); /* continued on the next line */
    }
    return k;
}

typedef struct generated {
    text t;
    enum kind kind;
} generated;

/* One option line: the key in any case, '=' or ':', white space around
 * the value; records the kind of the value it holds. */
static void option_line(text *t, size_t o, enum kind *kinds)
{
    char key[64];
    snprintf(key, sizeof(key), "%s", options[o].key);
    if (rnd() % 4 == 0)
        for (char *c = key; *c; c++)
            if (rnd() % 2)
                *c = (char)toupper((unsigned char)*c);
    put(t, "%s%s%s%s", key, PICK(spaces), rnd() % 4 ? "=" : ":",
        PICK(spaces));
    enum kind k;
    if (o == 0) {
        k = server_list_value(t);
    } else {
        const choice *c = pick(options[o].values, options[o].nvalues);
        put(t, "%s", c->text);
        k = c->kind;
    }
    put(t, "%s%s", PICK(spaces), eol());
    *kinds = k;
}

static void generate(generated *g)
{
    text *t = &g->t;
    t->n = 0;
    t->buf[0] = '\0';
    enum kind from_default[N_OPTIONS], from_memcache[N_OPTIONS];
    bool in_default[N_OPTIONS] = {0}, in_memcache[N_OPTIONS] = {0};
    enum kind structure = SAME;
    bool has_memcache = rnd() % 10 != 0;
    bool use_default = rnd() % 3 == 0;

    if (rnd() % 4 == 0 && (use_default || rnd() % 2))
        put(t, "# memcache.conf%s; generated%s%s", eol(), eol(), eol());
    if (use_default) {
        put(t, "[DEFAULT]%s", eol());
        put(t, "base = 10.0.0%s", eol());
        for (size_t o = 0; o < N_OPTIONS; o++)
            if (rnd() % 4 == 0) {
                option_line(t, o, &from_default[o]);
                in_default[o] = true;
            }
    }
    if (rnd() % 5 == 0)
        put(t, "[proxy-server]%sworkers = 4%s", eol(), eol());
    if (has_memcache) {
        static const char *const headers[] = {
            "[memcache]", "[memcache]", "[memcache] # the cache",
            "[memcache] ; the cache", "  [memcache]", "[memcache]junk"};
        const char *header = PICK(headers);
        if (header[0] == ' ' && t->n > 0)
            header = "[memcache]"; /* indented after an option: a
                                    * continuation of it (unit-tested) */
        put(t, "%s%s", header, eol());
        if (!use_default)
            put(t, "base = 10.0.1%s", eol());
        for (size_t o = 0; o < N_OPTIONS; o++)
            if (rnd() % 2 == 0) {
                if (rnd() % 6 == 0)
                    put(t, "  # about %s%s", options[o].key, eol());
                option_line(t, o, &from_memcache[o]);
                in_memcache[o] = true;
            }
        if (rnd() % 40 == 0) { /* a key twice */
            put(t, "TRIES = 2%stries = 2%s", eol(), eol());
            structure = ERR;
        }
    }
    if (use_default && rnd() % 3 == 0) {
        put(t, "[DEFAULT]%s", eol()); /* repeated: allowed */
        if (rnd() % 4 == 0 && in_default[6]) {
            put(t, "tries = 1%s", eol()); /* a key twice across them */
            structure = ERR;
        }
    }
    if (has_memcache && rnd() % 40 == 0) {
        put(t, "[memcache]%s", eol()); /* a section twice */
        structure = ERR;
    }

    enum kind k = structure;
    for (size_t o = 0; o < N_OPTIONS && has_memcache; o++) {
        enum kind ok = SAME;
        if (in_memcache[o])
            ok = from_memcache[o];
        else if (in_default[o])
            ok = from_default[o];
        if (o == 2)
            ok = ok == ERR ? ERR : SAME; /* max_connections: unread */
        if (o >= 11 && o <= 13)
            ok = SAME; /* paths are strings either way */
        if (ok > k)
            k = ok;
    }
    g->kind = k;
}

/* ---- comparing -------------------------------------------------------- */

static char *unhex(const char *h, size_t n)
{
    char *s = malloc(n / 2 + 1);
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        s[i] = (char)v;
    }
    s[n / 2] = '\0';
    return s;
}

/* Compares one file's settings, as Swift's line gives them, with mcring's
 * options; returns a description of the first difference or NULL. */
static const char *compare_settings(char *line, const mcring_options *o,
                                    char *why, size_t whylen)
{
    char *f[16];
    int nf = 0;
    for (char *save = NULL, *tok = strtok_r(line, "\t", &save);
         tok != NULL && nf < 16; tok = strtok_r(NULL, "\t", &save))
        f[nf++] = tok;
    if (nf != 14)
        return "malformed oracle line";

    server_list l = {0};
    size_t count = 0;
    if (server_list_parse(o->servers, &l, NULL, 0) == 0)
        count = l.count;
    /* Swift keeps its servers in a dict: distinct, first-seen order. */
    const char *distinct[64];
    size_t nd = 0;
    for (size_t j = 0; j < count && nd < 64; j++) {
        bool seen = false;
        for (size_t k = 0; k < nd && !seen; k++)
            seen = strcmp(distinct[k], l.names[j]) == 0;
        if (!seen)
            distinct[nd++] = l.names[j];
    }
    size_t i = 0;
    for (char *save = NULL, *h = strcmp(f[1], "-") ? strtok_r(f[1], ",", &save)
                                                  : NULL;
         h != NULL; h = strtok_r(NULL, ",", &save), i++) {
        char *name = unhex(h, strlen(h));
        bool same = i < nd && strcmp(distinct[i], name) == 0;
        snprintf(why, whylen, "server %zu: swift '%s', mcring '%s'", i, name,
                 i < nd ? distinct[i] : "(none)");
        free(name);
        if (!same) {
            server_list_free(&l);
            return why;
        }
    }
    server_list_free(&l);
    if (i != nd) {
        snprintf(why, whylen, "swift has %zu servers, mcring %zu", i, nd);
        return why;
    }
    if (atoi(f[2]) != o->max_connections) {
        snprintf(why, whylen, "max connections: swift %s, mcring %d", f[2],
                 o->max_connections);
        return why;
    }
    const double mine[] = {o->connect_timeout, o->pool_timeout, o->io_timeout};
    const char *names[] = {"connect_timeout", "pool_timeout", "io_timeout"};
    for (int k = 0; k < 3; k++)
        if (strtod(f[3 + k], NULL) != mine[k]) {
            snprintf(why, whylen, "%s: swift %s, mcring %.17g", names[k],
                     f[3 + k], mine[k]);
            return why;
        }
    long eff_tries = o->tries < (long)count ? o->tries : (long)count;
    if (atol(f[6]) != eff_tries) {
        snprintf(why, whylen, "tries: swift %s, mcring %ld", f[6], eff_tries);
        return why;
    }
    if (strtod(f[7], NULL) != o->error_limit ||
        strtod(f[8], NULL) != o->error_interval) {
        snprintf(why, whylen, "error limiting: swift %s/%s, mcring %g/%g",
                 f[7], f[8], o->error_limit, o->error_interval);
        return why;
    }
    if (atoll(f[9]) != o->item_size_warning_threshold) {
        snprintf(why, whylen, "threshold: swift %s, mcring %lld", f[9],
                 (long long)o->item_size_warning_threshold);
        return why;
    }
    if ((f[10][0] == '1') != o->tls_enabled) {
        snprintf(why, whylen, "tls_enabled: swift %s", f[10]);
        return why;
    }
    if (o->tls_enabled) {
        const char *mine_files[] = {o->tls_cafile, o->tls_certfile,
                                    o->tls_certfile ? o->tls_keyfile : NULL};
        for (int k = 0; k < 3; k++) {
            char *swift = strcmp(f[11 + k], "-") ? unhex(f[11 + k],
                                                         strlen(f[11 + k]))
                                                 : NULL;
            bool same = (swift == NULL && mine_files[k] == NULL) ||
                        (swift && mine_files[k] &&
                         strcmp(swift, mine_files[k]) == 0);
            snprintf(why, whylen, "tls file %d: swift '%s', mcring '%s'", k,
                     swift ? swift : "-", mine_files[k] ? mine_files[k] : "-");
            free(swift);
            if (!same)
                return why;
        }
    }
    return NULL;
}

Test(swift_conf, generated_files_load_as_swift_loads_them)
{
    enum { CASES = 1500 };
    rng_state = 20261128;
    char root[64];
    snprintf(root, sizeof(root), "/tmp/mcring-conf-interop-%d", getpid());
    mkdir(root, 0700);
    generated *g = malloc(CASES * sizeof(*g));
    size_t list_cap = CASES * 64, list_n = 0;
    char *list = malloc(list_cap);
    int kinds[3] = {0};
    for (int i = 0; i < CASES; i++) {
        char dir[128], path[160];
        snprintf(dir, sizeof(dir), "%s/%d", root, i);
        mkdir(dir, 0700);
        snprintf(path, sizeof(path), "%s/memcache.conf", dir);
        if (i == 0) {
            g[i].kind = SAME; /* no file: defaults on both sides */
        } else {
            generate(&g[i]);
            FILE *f = fopen(path, "wb");
            fwrite(g[i].t.buf, 1, g[i].t.n, f);
            fclose(f);
        }
        kinds[g[i].kind]++;
        list_n += (size_t)snprintf(list + list_n, list_cap - list_n, "%s\n",
                                   dir);
    }
    cr_log_info("generated: %d read alike, %d deviations, %d refused by both",
                kinds[SAME], kinds[DEV], kinds[ERR]);
    cr_assert_gt(kinds[SAME], CASES / 4);
    cr_assert_gt(kinds[DEV], CASES / 20);
    cr_assert_gt(kinds[ERR], CASES / 20);

    char *argv[] = {(char *)env_path("MCRING_TEST_PYTHON"), oracle, "conf",
                    NULL};
    char *out;
    size_t olen;
    cr_assert_eq(run_capture(argv, list, list_n, &out, &olen), 0,
                 "the oracle failed (is python3-swift installed?)");
    char *save = NULL, *line = strtok_r(out, "\n", &save);
    for (int i = 0; i < CASES; i++, line = strtok_r(NULL, "\n", &save)) {
        cr_assert_not_null(line, "the oracle stopped at case %d", i);
        char path[160];
        snprintf(path, sizeof(path), "%s/%d/memcache.conf", root, i);
        mcring_options *o;
        mcring_options_new(&o);
        char err[256] = "";
        int rc = mcring_options_load(o, path, err, sizeof(err));
        bool swift_ok = strncmp(line, "ok\t", 3) == 0;
        bool mine_ok = rc >= 0;
        const char *file = i ? g[i].t.buf : "(none)";
        switch (g[i].kind) {
        case SAME:
            cr_assert(swift_ok, "case %d: swift refused (%s):\n%s", i, line,
                      file);
            cr_assert(mine_ok, "case %d: mcring refused (%s):\n%s", i, err,
                      file);
            char why[512];
            const char *diff = compare_settings(line, o, why, sizeof(why));
            cr_assert_null(diff, "case %d: %s\n%s", i, diff, file);
            break;
        case DEV:
            cr_assert(swift_ok, "case %d: swift refused a deviation (%s):\n%s",
                      i, line, file);
            cr_assert_not(mine_ok, "case %d: mcring took a deviation:\n%s", i,
                          file);
            break;
        case ERR:
            cr_assert_not(swift_ok, "case %d: swift took it:\n%s", i, file);
            cr_assert_not(mine_ok, "case %d: mcring took it:\n%s", i, file);
            break;
        }
        mcring_options_free(o);
    }
    free(out);
    free(list);
    free(g);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    if (getenv("MCRING_KEEP_CONF") == NULL)
        cr_assert_eq(system(cmd), 0);
}

/* ---- server strings --------------------------------------------------- */

/* Every host form Swift's parse_socket_string distinguishes, with every
 * port form getaddrinfo sees, and what mcring does where it differs. */
Test(swift_conf, server_strings_as_swift_connects_with_them)
{
    static const char *const hosts[] = {
        "127.0.0.1", "localhost", "[127.0.0.1]", "[localhost]", "[::1]",
        "[::ffff:127.0.0.1]", "::1", "[]", "[ localhost]", "", "[::1"};
    static const struct {
        const char *text;
        bool bracket_ok; /* allowed after ']' by Swift's IPV6_RE */
        bool mcring;     /* does mcring accept it (where Swift does) */
    } ports[] = {
        {"", true, true},          {":11211", true, true},
        {":011211", true, true},   {":+11211", false, true},
        {":0", true, false},       {":", false, false},
        {":76747", true, false},   {":-1", false, false},
        {": 11211", false, false}, {":http", false, false},
        {":1_1", false, false},    {":11211x", false, false},
    };
    size_t nh = sizeof(hosts) / sizeof(hosts[0]);
    size_t np = sizeof(ports) / sizeof(ports[0]);
    char input[8192];
    size_t in = 0;
    for (size_t h = 0; h < nh; h++)
        for (size_t p = 0; p < np; p++) {
            char s[64];
            snprintf(s, sizeof(s), "%s%s", hosts[h], ports[p].text);
            for (const char *c = s; *c; c++)
                in += (size_t)sprintf(input + in, "%02x", (unsigned char)*c);
            input[in++] = '\n';
        }
    char *argv[] = {(char *)env_path("MCRING_TEST_PYTHON"), oracle, "socket",
                    NULL};
    char *out;
    size_t olen;
    cr_assert_eq(run_capture(argv, input, in, &out, &olen), 0,
                 "the oracle failed");
    char *save = NULL, *line = strtok_r(out, "\n", &save);
    int same = 0, deviations = 0;
    for (size_t h = 0; h < nh; h++)
        for (size_t p = 0; p < np; p++, line = strtok_r(NULL, "\n", &save)) {
            cr_assert_not_null(line);
            char s[64];
            snprintf(s, sizeof(s), "%s%s", hosts[h], ports[p].text);
            address a;
            bool mine = address_parse(s, strlen(s), &a, NULL, 0) == 0;
            bool swift = strncmp(line, "ok ", 3) == 0;
            if (!swift) {
                cr_assert_not(mine, "'%s': swift: %s; mcring accepts it", s,
                              line);
                same++;
                continue;
            }
            if (!ports[p].mcring) {
                /* A port Swift connects to that mcring refuses at load:
                 * 0, wrapped past 65535, or one with white space. */
                cr_assert_not(mine, "'%s': listed as a deviation", s);
                deviations++;
                continue;
            }
            cr_assert(mine, "'%s': swift connects (%s), mcring refuses", s,
                      line);
            /* The same first address and port from the system resolver. */
            struct addrinfo hints = {0}, *res;
            hints.ai_family = AF_UNSPEC;
            hints.ai_socktype = SOCK_STREAM;
            cr_assert_eq(getaddrinfo(a.host, a.port, &hints, &res), 0, "%s",
                         s);
            char host[64];
            int port;
            if (res->ai_family == AF_INET6) {
                struct sockaddr_in6 *sa = (void *)res->ai_addr;
                inet_ntop(AF_INET6, &sa->sin6_addr, host, sizeof(host));
                port = ntohs(sa->sin6_port);
            } else {
                struct sockaddr_in *sa = (void *)res->ai_addr;
                inet_ntop(AF_INET, &sa->sin_addr, host, sizeof(host));
                port = ntohs(sa->sin_port);
            }
            freeaddrinfo(res);
            char expect[128];
            snprintf(expect, sizeof(expect), "ok %s %s %d",
                     strchr(host, ':') ? "inet6" : "inet", host, port);
            cr_assert_str_eq(line, expect, "'%s'", s);
            same++;
        }
    cr_assert_gt(deviations, 0);
    cr_log_info("%d server strings alike, %d listed deviations", same,
                deviations);
    free(out);
}
