#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "address.h"
#include "compress.h"
#include "error.h"
#include "options.h"
#include "utf8.h"

/* ---- value parsing (Python's int(), float() and config_true_value) ---- */

/* Python's str.strip(): Unicode white space (utf8.h) around the text. */
const char *options_trim(const char *s, size_t *len)
{
    *len = strlen(s);
    return utf8_strip(s, len);
}

/*
 * The digits of s[0..n), as Python reads a digit part: Unicode decimal
 * digits (any script's, category Nd) with single underscores between
 * them. Appends them as ASCII to out (room for n bytes) and returns how
 * many bytes of s they took, 0 when s does not start with a digit; *ok
 * turns false on a misplaced underscore.
 */
static size_t digit_part(const char *s, size_t n, char *out, size_t *olen,
                         bool *ok)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    bool after_digit = false;
    while (i < n) {
        if (p[i] == '_') {
            /* Only between two digits. */
            uint32_t cp;
            size_t k = i + 1 < n ? utf8_next(p + i + 1, n - i - 1, &cp) : 0;
            if (!after_digit || k == 0 || utf8_decimal(cp) < 0) {
                *ok = false;
                return i;
            }
            i++;
            after_digit = false;
            continue;
        }
        uint32_t cp;
        size_t k = utf8_next(p + i, n - i, &cp);
        int d = k ? utf8_decimal(cp) : -1;
        if (d < 0)
            break;
        out[(*olen)++] = (char)('0' + d);
        after_digit = true;
        i += k;
    }
    return i;
}

/* Python's int(text) in base 10, saturating to the range of long long
 * (callers' own limits are far inside it). */
bool options_parse_int(const char *text, long long *out)
{
    size_t n;
    const char *s = options_trim(text, &n);
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    char *digits = malloc(n + 1);
    if (digits == NULL)
        return false;
    size_t nd = 0;
    bool ok = true;
    size_t used = digit_part(s + i, n - i, digits, &nd, &ok);
    if (!ok || nd == 0 || i + used != n) {
        free(digits);
        return false;
    }
    unsigned long long v = 0, limit = neg ? (unsigned long long)LLONG_MAX + 1
                                          : (unsigned long long)LLONG_MAX;
    for (size_t j = 0; j < nd; j++) {
        unsigned d = (unsigned)(digits[j] - '0');
        if (v > (limit - d) / 10) {
            v = limit;
            break;
        }
        v = v * 10 + d;
    }
    free(digits);
    if (neg)
        *out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN
                                                      : -(long long)v;
    else
        *out = (long long)v;
    return true;
}

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/*
 * Python's float(text), finite values only: an optional sign, digits with
 * an optional fraction (either side of the point may be empty, not both),
 * an optional exponent; digit parts as in digit_part. Read in the C locale
 * whatever the process's LC_NUMERIC. "inf", "nan", and values too large
 * for a double are refused: no option here has a use for them.
 */
static bool parse_double(const char *text, double *out)
{
    size_t n;
    const char *s = options_trim(text, &n);
    char *buf = malloc(n + 2);
    if (buf == NULL)
        return false;
    size_t i = 0, b = 0, nd = 0;
    bool ok = true;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        buf[b++] = s[i++];
    size_t before = b;
    i += digit_part(s + i, n - i, buf, &b, &ok);
    nd += b - before;
    if (ok && i < n && s[i] == '.') {
        buf[b++] = s[i++];
        before = b;
        i += digit_part(s + i, n - i, buf, &b, &ok);
        nd += b - before;
    }
    if (ok && nd > 0 && i < n && (s[i] == 'e' || s[i] == 'E')) {
        buf[b++] = s[i++];
        if (i < n && (s[i] == '+' || s[i] == '-'))
            buf[b++] = s[i++];
        before = b;
        i += digit_part(s + i, n - i, buf, &b, &ok);
        ok = ok && b > before;
    }
    buf[b] = '\0';
    double v = 0;
    if (ok && nd > 0 && i == n) {
        pthread_once(&c_locale_once, c_locale_init);
        char *end;
        errno = 0;
        v = c_locale != (locale_t)0 ? strtod_l(buf, &end, c_locale)
                                    : strtod(buf, &end);
        ok = *end == '\0' && isfinite(v);
    } else {
        ok = false;
    }
    free(buf);
    if (ok)
        *out = v;
    return ok;
}

/* Swift's config_true_value, and its false values; anything else is
 * refused (Swift takes it as false). Case-insensitive: no Unicode letter
 * lowercases into these words, so ASCII folding is Python's lower() here. */
static int parse_bool(const char *text, bool *out)
{
    static const char *const yes[] = {"true", "1", "yes", "on", "t", "y"};
    static const char *const no[] = {"false", "0", "no", "off", "f", "n", ""};
    size_t n;
    const char *s = options_trim(text, &n);
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        if (strlen(yes[i]) == n && strncasecmp(s, yes[i], n) == 0) {
            *out = true;
            return 0;
        }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        if (strlen(no[i]) == n && strncasecmp(s, no[i], n) == 0) {
            *out = false;
            return 0;
        }
    return -1;
}

/* ---- the table ---------------------------------------------------------- */

typedef enum opt_kind {
    OPT_SERVERS, /* a server list, validated */
    OPT_INT,     /* an integer in [min, max] */
    OPT_BYTES,   /* a non-negative byte count in [min, max] (int64_t) */
    OPT_SECONDS, /* a finite number of seconds > 0 */
    OPT_NUMBER,  /* a finite number in [min, max] */
    OPT_BOOL,    /* Swift's true/false words */
    OPT_PATH,    /* a file path; empty: none */
    OPT_CUSTOM,  /* its own setter */
} opt_kind;

typedef struct option_def option_def;

struct option_def {
    const char *name;
    opt_kind kind;
    size_t offset; /* of its field in struct mcring_options */
    const char *def;
    double min, max;
    bool swift;         /* an option Swift's memcache.conf has */
    const char *range;  /* what it takes, for the docs */
    const char *doc;
    /* OPT_CUSTOM: parses and stores value, or says why not. */
    int (*set)(mcring_options *o, const option_def *d, const char *value,
               char *err, size_t errlen);
};

static int bad(char *err, size_t errlen, const char *name, const char *value,
               const char *why)
{
    return err_set(err, errlen, MCRING_ECONFIG, "option %s = '%s': %s", name,
                   value, why);
}

#define BOOL_WORDS "true/1/yes/on/t/y or false/0/no/off/f/n"

static int set_servers(mcring_options *o, const option_def *d,
                       const char *value, char *err, size_t errlen)
{
    (void)d;
    server_list list;
    int rc = server_list_parse(value, &list, err, errlen);
    if (rc == MCRING_ENOSERVERS)
        return err_set(err, errlen, MCRING_EADDR,
                       "option memcache_servers: no servers in '%s'", value);
    if (rc != 0)
        return rc;
    server_list_free(&list);
    char *copy = strdup(value);
    if (copy == NULL)
        return MCRING_ENOMEM;
    free(o->servers);
    o->servers = copy;
    return 0;
}

/* gutter_servers: a server list, or empty for no gutter. */
static int set_gutter_servers(mcring_options *o, const option_def *d,
                              const char *value, char *err, size_t errlen)
{
    (void)d;
    size_t n;
    options_trim(value, &n);
    char *copy = NULL;
    if (n > 0) {
        server_list list;
        int rc = server_list_parse(value, &list, err, errlen);
        if (rc == MCRING_ENOSERVERS)
            n = 0; /* only commas and spaces: no gutter */
        else if (rc != 0)
            return rc; /* err says which entry */
        else
            server_list_free(&list);
    }
    if (n > 0 && (copy = strdup(value)) == NULL)
        return MCRING_ENOMEM;
    free(o->gutter_servers);
    o->gutter_servers = copy;
    return 0;
}

static int set_server_health(mcring_options *o, const option_def *d,
                             const char *value, char *err, size_t errlen)
{
    size_t n;
    const char *s = options_trim(value, &n);
    if (n == 5 && strncmp(s, "swift", 5) == 0)
        o->health_probe = false;
    else if (n == 5 && strncmp(s, "probe", 5) == 0)
        o->health_probe = true;
    else
        return bad(err, errlen, d->name, value, "must be swift or probe");
    return 0;
}

static int set_max_connections(mcring_options *o, const option_def *d,
                               const char *value, char *err, size_t errlen)
{
    long long iv;
    if (!options_parse_int(value, &iv))
        return bad(err, errlen, d->name, value, "not an integer");
    if (iv > MAX_CONNECTIONS)
        return bad(err, errlen, d->name, value, "more than 65536");
    /* Swift's middleware treats 0 or less as "not set": 2. */
    o->max_connections = iv <= 0 ? 2 : (int)iv;
    return 0;
}

static int set_ring_mode(mcring_options *o, const option_def *d,
                         const char *value, char *err, size_t errlen)
{
    size_t n;
    const char *s = options_trim(value, &n);
    char buf[64];
    snprintf(buf, sizeof(buf), "%.*s", (int)(n < 63 ? n : 63), s);
    int m = ring_mode_parse(buf);
    if (m < 0) {
        char why[256];
        snprintf(why, sizeof(why), "unknown ring mode (%s)",
                 ring_mode_names());
        return bad(err, errlen, d->name, value, why);
    }
    o->ring.mode = (ring_mode)m;
    return 0;
}

/* ring_hash and ring_point_hash: empty is the mode's own. Whether the mode
 * has this hash is checked when the ring is built, as the mode may be set
 * after. */
static int set_hash(mcring_options *o, const option_def *d, const char *value,
                    char *err, size_t errlen)
{
    size_t n;
    const char *s = options_trim(value, &n);
    int fn = n == 0 ? RING_HASH_DEFAULT : hash_fn_parse(s, n);
    if (n > 0 && fn < 0) {
        char why[320];
        snprintf(why, sizeof(why), "unknown hash (%s; empty for the ring "
                 "mode's own)", hash_fn_names());
        return bad(err, errlen, d->name, value, why);
    }
    *(int *)((char *)o + d->offset) = fn;
    return 0;
}

static int set_socket_port(mcring_options *o, const option_def *d,
                           const char *value, char *err, size_t errlen)
{
    long long iv;
    if (!options_parse_int(value, &iv))
        return bad(err, errlen, d->name, value, "not an integer");
    if (iv != 0 && iv != ADDRESS_DEFAULT_PORT)
        return bad(err, errlen, d->name, value,
                   "must be 11211 (memcached_server_add) or 0 "
                   "(memcached_server_add_unix_socket, "
                   "memcached_servers_parse)");
    o->ring.socket_port = (uint16_t)iv;
    return 0;
}

static int set_key_mode(mcring_options *o, const option_def *d,
                        const char *value, char *err, size_t errlen)
{
    size_t n;
    const char *s = options_trim(value, &n);
    if (n == 5 && strncmp(s, "swift", 5) == 0)
        o->keys = KEYS_SWIFT;
    else if (n == 3 && strncmp(s, "raw", 3) == 0)
        o->keys = KEYS_RAW;
    else
        return bad(err, errlen, d->name, value, "must be swift or raw");
    /* Peers place a key by what they see on the wire. */
    o->ring.key_md5hex = o->keys == KEYS_SWIFT;
    return 0;
}

static int set_compression(mcring_options *o, const option_def *d,
                           const char *value, char *err, size_t errlen)
{
    size_t n;
    const char *s = options_trim(value, &n);
    int a = compress_algo_parse(s, n);
    if (a < 0)
        return bad(err, errlen, d->name, value, "must be none, zstd or zlib");
    o->compression = a;
    return 0;
}

static int set_protocol(mcring_options *o, const option_def *d,
                        const char *value, char *err, size_t errlen)
{
    size_t n;
    const char *s = options_trim(value, &n);
    if (n == 4 && strncmp(s, "text", 4) == 0)
        o->protocol = PROTOCOL_TEXT;
    else if (n == 4 && strncmp(s, "meta", 4) == 0)
        o->protocol = PROTOCOL_META;
    else
        return bad(err, errlen, d->name, value, "must be text or meta");
    return 0;
}

#define AT(field) offsetof(struct mcring_options, field)

static const option_def table[] = {
    /* Swift's memcache.conf */
    {"memcache_servers", OPT_SERVERS, AT(servers), "127.0.0.1:11211", 0, 0,
     true, "host[:port], [v6][:port] or /unix/path, comma-separated",
     "the memcached servers", set_servers},
    {"memcache_max_connections", OPT_CUSTOM, AT(max_connections), "2", 0,
     MAX_CONNECTIONS, true, "1-65536 (0 or less: 2)",
     "connections per server (with pipelining, each carries many requests)",
     set_max_connections},
    {"connect_timeout", OPT_SECONDS, AT(connect_timeout), "0.3", 0, 0, true,
     "seconds > 0", "the connect() of one address", NULL},
    {"pool_timeout", OPT_SECONDS, AT(pool_timeout), "1.0", 0, 0, true,
     "seconds > 0",
     "waiting for a place on a connection, plus connecting and the TLS "
     "handshake",
     NULL},
    {"io_timeout", OPT_SECONDS, AT(io_timeout), "2.0", 0, 0, true,
     "seconds > 0", "from a request's writing to its whole reply", NULL},
    {"tries", OPT_INT, AT(tries), "3", 1, MAX_TRIES, true, "1-100000",
     "servers tried per key (capped at the number of servers)", NULL},
    {"error_suppression_interval", OPT_NUMBER, AT(error_interval), "60",
     -1e300, 1e300, true, "seconds; 0 or less: no error limiting",
     "the error-limiting window and ban", NULL},
    {"error_suppression_limit", OPT_NUMBER, AT(error_limit), "10", -1e300,
     MAX_ERROR_LIMIT, true, "up to 100000",
     "errors a server may make inside the window before it is banned",
     NULL},
    {"item_size_warning_threshold", OPT_BYTES, AT(item_size_warning_threshold),
     "-1", -1, 9.2e18, true, "bytes; -1: off",
     "log a warning for a value stored this large or larger", NULL},
    {"tls_enabled", OPT_BOOL, AT(tls_enabled), "false", 0, 0, true,
     BOOL_WORDS, "connect with TLS (peer and host name verified)", NULL},
    {"tls_cafile", OPT_PATH, AT(tls_cafile), "", 0, 0, true,
     "path; empty: the system's CAs", "CAs that verify the servers", NULL},
    {"tls_certfile", OPT_PATH, AT(tls_certfile), "", 0, 0, true,
     "path; empty: none", "client certificate chain", NULL},
    {"tls_keyfile", OPT_PATH, AT(tls_keyfile), "", 0, 0, true,
     "path; empty: in tls_certfile", "client private key", NULL},
    /* mcring's own */
    {"key_mode", OPT_CUSTOM, AT(keys), "swift", 0, 0, false, "swift|raw",
     "swift: the key's hex MD5 on the wire; raw: the key itself (1-250 "
     "bytes, no spaces or control characters)",
     set_key_mode},
    {"ring_mode", OPT_CUSTOM, AT(ring.mode), "swift", 0, 0, false,
     "swift|consistent|libmemcached-ketama|libmemcached-ketama-weighted|"
     "twemproxy|pymemcache",
     "placement: Swift's ring, or where that client puts a key "
     "(docs/placement.md)",
     set_ring_mode},
    {"ring_hash", OPT_CUSTOM, AT(ring.key_hash), "", 0, 0, false,
     "a hash name; empty: the mode's own",
     "the key hash of the libmemcached and twemproxy modes", set_hash},
    {"ring_point_hash", OPT_CUSTOM, AT(ring.point_hash), "", 0, 0, false,
     "a hash name; empty: ring_hash",
     "libmemcached-ketama's hash of its point strings", set_hash},
    {"ring_signed_bytes", OPT_BOOL, AT(ring.signed_bytes), "true", 0, 0,
     false, BOOL_WORDS,
     "key bytes >= 0x80 hash as the peers' signed char does on x86-64",
     NULL},
    {"ring_socket_port", OPT_CUSTOM, AT(ring.socket_port), "11211", 0, 0,
     false, "11211|0",
     "libmemcached modes: the port a Unix socket's point strings carry",
     set_socket_port},
    {"item_size_max", OPT_BYTES, AT(item_size_max), "0", 0, 4294967295.0,
     false, "bytes; 0: no limit",
     "largest value sent or accepted (larger: MCRING_ETOOLARGE, the "
     "caller's, not the server's), before compression and after "
     "decompression; with 0, decompressed values stop at 64 MiB",
     NULL},
    {"pipelining", OPT_BOOL, AT(pipelining), "true", 0, 0, false, BOOL_WORDS,
     "many requests in flight on each connection; false: one at a time",
     NULL},
    {"pipeline_depth", OPT_INT, AT(pipeline_depth), "128", 1,
     MAX_PIPELINE_DEPTH, false, "1-65536",
     "requests in flight on one connection at most", NULL},
    {"pipeline_fences", OPT_BOOL, AT(pipeline_fences), "true", 0, 0, false,
     BOOL_WORDS,
     "end each written batch of text commands with memcached's no-op, so "
     "that a reply too many or too few is caught before it reaches anyone "
     "(meta commands need none: their replies carry tokens)",
     NULL},
    {"compression", OPT_CUSTOM, AT(compression), "none", 0, 0, false,
     "none|zstd|zlib",
     "compress values longer than min_compress_len, under any codec "
     "(zlib: flag 8, as pymemcache; zstd: flag 4096), and decompress "
     "values read with either flag; none: flags and bytes pass untouched "
     "(docs/codecs.md)",
     set_compression},
    {"min_compress_len", OPT_BYTES, AT(min_compress_len), "400", -1,
     4294967295.0, false, "bytes; -1: none",
     "values longer than this are compressed (when compression is not "
     "none), as pymemcache's CompressedSerde; -1 compresses nothing but "
     "still decompresses what is read (for rolling compression out)",
     NULL},
    {"latency_histograms", OPT_BOOL, AT(latency_histograms), "true", 0, 0,
     false, BOOL_WORDS,
     "record every attempt's duration and outcome per server and operation "
     "(mcring_client_op_stats, Prometheus; docs/metrics.md)",
     NULL},
    {"protocol", OPT_CUSTOM, AT(protocol), "text", 0, 0, false, "text|meta",
     "text: the classic commands (what Swift sends); meta: mg/ms/md/ma "
     "with opaque tokens, quiet batches, base64 raw keys and leases "
     "(memcached 1.6+); both read and write the same items",
     set_protocol},
    {"single_flight", OPT_BOOL, AT(single_flight), "false", 0, 0, false,
     BOOL_WORDS,
     "a get of a key another get of this client is already reading waits "
     "for that reply instead of sending its own (docs/meta.md)",
     NULL},
    {"lease_ttl", OPT_INT, AT(lease_ttl), "10", 1, 2592000, false,
     "1-2592000 seconds",
     "lease calls: how long a winner has to fill a missing key before "
     "another caller may win it",
     NULL},
    {"lease_recache", OPT_INT, AT(lease_recache), "0", 0, 2592000, false,
     "0-2592000 seconds; 0: off",
     "lease calls: when a value has less time left than this, one reader "
     "wins an early refresh while the others keep reading it",
     NULL},
    {"server_health", OPT_CUSTOM, AT(health_probe), "swift", 0, 0, false,
     "swift|probe",
     "swift: Swift's error limiting (bans of error_suppression_interval); "
     "probe: a server is marked down on a failed connect or "
     "health_timeouts timeouts in a row, skipped without a socket while "
     "down, and brought back by a background probe (docs/reliability.md)",
     set_server_health},
    {"health_timeouts", OPT_INT, AT(health_timeouts), "3", 1, 1000000, false,
     "1-1000000", "probe: consecutive timeouts that mark a server down",
     NULL},
    {"health_probe_interval", OPT_SECONDS, AT(health_probe_interval), "1.0",
     0, 0, false, "seconds > 0",
     "probe: the wait before a down server's first probe; it doubles after "
     "each failed probe",
     NULL},
    {"health_probe_max_interval", OPT_SECONDS, AT(health_probe_max_interval),
     "10", 0, 0, false, "seconds > 0",
     "probe: the longest wait between probes; a server down again within "
     "it of its recovery keeps its longer wait (flapping)",
     NULL},
    {"health_probe_timeout", OPT_SECONDS, AT(health_probe_timeout), "1.0", 0,
     0, false, "seconds > 0",
     "probe: connecting and the version reply of one probe", NULL},
    {"health_probe_jitter", OPT_NUMBER, AT(health_probe_jitter), "0.5", 0, 1,
     false, "0-1",
     "probe: each wait is shortened by a random share of up to this", NULL},
    {"health_max_down", OPT_NUMBER, AT(health_max_down), "0.5", 0, 1, false,
     "0-1 (of the servers, gutter included; at least one when above 0)",
     "probe: the share of the servers that may be down at once; a server "
     "past it stays in use",
     NULL},
    {"connect_rate", OPT_INT, AT(connect_rate), "0", 0, 1000000, false,
     "0-1000000; 0: no limit",
     "connects per server per second (a bucket of one second's worth); a "
     "request that needs a connect past it fails over without one",
     NULL},
    {"connect_concurrency", OPT_INT, AT(connect_concurrency), "1", 0,
     MAX_CONNECTIONS, false, "0-65536; 0: no limit",
     "connects in progress per server at once; other callers queue on the "
     "connection being made",
     NULL},
    {"gutter_servers", OPT_SERVERS, AT(gutter_servers), "", 0, 0, false,
     "as memcache_servers; empty: no gutter",
     "servers that take the keys of a down or failing server (placed by "
     "their own ring of the same mode), instead of the ring's next server",
     set_gutter_servers},
    {"gutter_ttl", OPT_INT, AT(gutter_ttl), "10", 1, MAX_GUTTER_TTL, false,
     "seconds, 1-2592000", "the longest TTL of a value stored in the gutter",
     NULL},
};

#define NOPTIONS (sizeof(table) / sizeof(table[0]))

/* Names taken for another option's. */
static const struct {
    const char *alias, *name;
} aliases[] = {
    /* Swift's proxy-server.conf spelling (Swift does not read it from
     * memcache.conf: config.c ignores it there). */
    {"max_connections", "memcache_max_connections"},
};

static const option_def *find(const char *name)
{
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
        if (strcmp(name, aliases[i].alias) == 0)
            name = aliases[i].name;
    for (size_t i = 0; i < NOPTIONS; i++)
        if (strcmp(table[i].name, name) == 0)
            return &table[i];
    return NULL;
}

bool options_known(const char *name)
{
    return find(name) != NULL;
}

/* Parses value for d and stores it. */
static int set_one(mcring_options *o, const option_def *d, const char *value,
                   char *err, size_t errlen)
{
    char *field = (char *)o + d->offset;
    long long iv;
    double dv;
    bool b;
    switch (d->kind) {
    case OPT_SERVERS:
    case OPT_CUSTOM:
        return d->set(o, d, value, err, errlen);
    case OPT_INT:
    case OPT_BYTES:
        if (!options_parse_int(value, &iv))
            return bad(err, errlen, d->name, value, "not an integer");
        if ((double)iv < d->min || (double)iv > d->max) {
            char why[64];
            snprintf(why, sizeof(why), "must be %.0f to %.0f", d->min, d->max);
            return bad(err, errlen, d->name, value, why);
        }
        if (d->kind == OPT_INT)
            *(int *)field = (int)iv;
        else
            *(int64_t *)field = iv;
        return 0;
    case OPT_SECONDS:
        if (!parse_double(value, &dv))
            return bad(err, errlen, d->name, value, "not a finite number");
        if (dv <= 0)
            return bad(err, errlen, d->name, value, "must be greater than 0");
        *(double *)field = dv;
        return 0;
    case OPT_NUMBER:
        if (!parse_double(value, &dv))
            return bad(err, errlen, d->name, value, "not a finite number");
        if (dv < d->min) {
            char why[64];
            snprintf(why, sizeof(why), "less than %g", d->min);
            return bad(err, errlen, d->name, value, why);
        }
        if (dv > d->max) {
            char why[64];
            snprintf(why, sizeof(why), "more than %.0f", d->max);
            return bad(err, errlen, d->name, value, why);
        }
        *(double *)field = dv;
        return 0;
    case OPT_BOOL:
        if (parse_bool(value, &b) != 0)
            return bad(err, errlen, d->name, value,
                       "not a boolean (" BOOL_WORDS ")");
        *(bool *)field = b;
        return 0;
    case OPT_PATH: {
        size_t n;
        const char *s = options_trim(value, &n);
        char *copy = NULL;
        if (n > 0 && (copy = strndup(s, n)) == NULL)
            return MCRING_ENOMEM;
        free(*(char **)field);
        *(char **)field = copy;
        return 0;
    }
    }
    return MCRING_EINVAL;
}

int mcring_options_set(mcring_options *o, const char *name, const char *value,
                       char *err, size_t errlen)
{
    if (o == NULL || name == NULL || value == NULL)
        return err_set(err, errlen, MCRING_EINVAL, "NULL argument");
    const option_def *d = find(name);
    if (d == NULL)
        return err_set(err, errlen, MCRING_ECONFIG, "unknown option '%s'",
                       name);
    return set_one(o, d, value, err, errlen);
}

/* ---- the options object -------------------------------------------------- */

int mcring_options_new(mcring_options **out)
{
    mcring_options *o = calloc(1, sizeof(*o));
    if (o == NULL)
        return MCRING_ENOMEM;
    o->ring = ring_config_of(RING_SWIFT);
    for (size_t i = 0; i < NOPTIONS; i++) {
        int rc = set_one(o, &table[i], table[i].def, NULL, 0);
        if (rc != 0) {
            /* Only allocation can fail on the table's own defaults. */
            mcring_options_free(o);
            return rc;
        }
    }
    *out = o;
    return 0;
}

void options_clear(mcring_options *o)
{
    free(o->servers);
    free(o->tls_cafile);
    free(o->tls_certfile);
    free(o->tls_keyfile);
    free(o->config_path);
    free(o->gutter_servers);
    o->gutter_servers = NULL;
    o->servers = o->tls_cafile = o->tls_certfile = o->tls_keyfile = NULL;
    o->config_path = NULL;
}

void mcring_options_free(mcring_options *o)
{
    if (o == NULL)
        return;
    options_clear(o);
    free(o);
}

static int dup_opt(char **dst, const char *src)
{
    *dst = NULL;
    if (src == NULL)
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : MCRING_ENOMEM;
}

int options_copy(mcring_options *dst, const mcring_options *src)
{
    *dst = *src;
    /* None of src's strings may be freed through dst if a copy fails. */
    dst->servers = dst->tls_cafile = dst->tls_certfile = dst->tls_keyfile =
        dst->config_path = dst->gutter_servers = NULL;
    if (dup_opt(&dst->servers, src->servers) ||
        dup_opt(&dst->tls_cafile, src->tls_cafile) ||
        dup_opt(&dst->tls_certfile, src->tls_certfile) ||
        dup_opt(&dst->tls_keyfile, src->tls_keyfile) ||
        dup_opt(&dst->config_path, src->config_path) ||
        dup_opt(&dst->gutter_servers, src->gutter_servers)) {
        options_clear(dst);
        return MCRING_ENOMEM;
    }
    return 0;
}

void mcring_options_set_log(mcring_options *o, mcring_log_fn fn, void *ud)
{
    o->log = fn;
    o->log_userdata = ud;
}

/* ---- what the table says, for people ------------------------------------- */

static const char *const kind_names[] = {
    [OPT_SERVERS] = "servers", [OPT_INT] = "integer", [OPT_BYTES] = "bytes",
    [OPT_SECONDS] = "seconds", [OPT_NUMBER] = "number", [OPT_BOOL] = "boolean",
    [OPT_PATH] = "path",       [OPT_CUSTOM] = "word",
};

static mcring_option_doc docs[NOPTIONS];
static pthread_once_t docs_once = PTHREAD_ONCE_INIT;

static void docs_init(void)
{
    for (size_t i = 0; i < NOPTIONS; i++) {
        const option_def *d = &table[i];
        opt_kind k = d->kind;
        if (k == OPT_CUSTOM && strcmp(d->name, "memcache_max_connections") == 0)
            k = OPT_INT;
        docs[i] = (mcring_option_doc){d->name, kind_names[k], d->def,
                                      d->range, d->swift, d->doc};
    }
}

size_t mcring_option_docs(const mcring_option_doc **out)
{
    pthread_once(&docs_once, docs_init);
    if (out != NULL)
        *out = docs;
    return NOPTIONS;
}
