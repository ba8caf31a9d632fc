#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "address.h"
#include "config.h"
#include "error.h"
#include "strmap.h"
#include "utf8.h"

/* ---- options ------------------------------------------------------------ */

static void options_defaults(mcring_options *o)
{
    memset(o, 0, sizeof(*o));
    o->max_connections = DEFAULT_MAX_CONNECTIONS;
    o->connect_timeout = DEFAULT_CONNECT_TIMEOUT;
    o->pool_timeout = DEFAULT_POOL_TIMEOUT;
    o->io_timeout = DEFAULT_IO_TIMEOUT;
    o->tries = DEFAULT_TRIES;
    o->error_interval = DEFAULT_ERROR_INTERVAL;
    o->error_limit = DEFAULT_ERROR_LIMIT;
    o->item_size_warning_threshold = -1;
    o->ring = ring_config_of(RING_SWIFT);
    o->keys = KEYS_SWIFT;
    o->ring.key_md5hex = true; /* swift key mode: peers see the hex MD5 */
    o->item_size_max = DEFAULT_ITEM_SIZE_MAX;
    o->pipelining = true;
    o->pipeline_depth = DEFAULT_PIPELINE_DEPTH;
    o->pipeline_fences = true;
}

int mcring_options_new(mcring_options **out)
{
    mcring_options *o = malloc(sizeof(*o));
    if (o == NULL)
        return MCRING_ENOMEM;
    options_defaults(o);
    o->servers = strdup(DEFAULT_SERVERS);
    if (o->servers == NULL) {
        free(o);
        return MCRING_ENOMEM;
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
    if (dup_opt(&dst->servers, src->servers) ||
        dup_opt(&dst->tls_cafile, src->tls_cafile) ||
        dup_opt(&dst->tls_certfile, src->tls_certfile) ||
        dup_opt(&dst->tls_keyfile, src->tls_keyfile) ||
        dup_opt(&dst->config_path, src->config_path)) {
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

/* ---- value parsing (Python's int(), float() and config_true_value) ---- */

/* Python's str.strip(): Unicode white space (utf8.h) around the text. */
static const char *trim(const char *s, size_t *len)
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
static bool parse_int(const char *text, long long *out)
{
    size_t n;
    const char *s = trim(text, &n);
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
    const char *s = trim(text, &n);
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
    const char *s = trim(text, &n);
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

static int bad(char *err, size_t errlen, const char *name, const char *value,
               const char *why)
{
    return err_set(err, errlen, MCRING_ECONFIG, "option %s = '%s': %s", name,
                   value, why);
}

static int set_seconds(double *dst, const char *name, const char *value,
                       char *err, size_t errlen)
{
    double v;
    if (!parse_double(value, &v))
        return bad(err, errlen, name, value, "not a finite number");
    if (v <= 0)
        return bad(err, errlen, name, value, "must be greater than 0");
    *dst = v;
    return 0;
}

static int set_string(char **dst, const char *value)
{
    size_t n;
    const char *s = trim(value, &n);
    char *copy = NULL;
    if (n > 0) {
        copy = strndup(s, n);
        if (copy == NULL)
            return MCRING_ENOMEM;
    }
    free(*dst);
    *dst = copy;
    return 0;
}

int mcring_options_set(mcring_options *o, const char *name, const char *value,
                       char *err, size_t errlen)
{
    long long iv;
    double dv;
    if (o == NULL || name == NULL || value == NULL)
        return err_set(err, errlen, MCRING_EINVAL, "NULL argument");

    if (strcmp(name, "memcache_servers") == 0) {
        server_list list;
        int rc = server_list_parse(value, &list, err, errlen);
        if (rc == MCRING_ENOSERVERS)
            return err_set(err, errlen, MCRING_EADDR,
                           "option memcache_servers: no servers in '%s'",
                           value);
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
    if (strcmp(name, "memcache_max_connections") == 0 ||
        strcmp(name, "max_connections") == 0) {
        if (!parse_int(value, &iv))
            return bad(err, errlen, name, value, "not an integer");
        if (iv > MAX_CONNECTIONS)
            return bad(err, errlen, name, value, "more than 65536");
        /* Swift's middleware treats 0 or less as "not set": 2. */
        o->max_connections = iv <= 0 ? DEFAULT_MAX_CONNECTIONS : (int)iv;
        return 0;
    }
    if (strcmp(name, "connect_timeout") == 0)
        return set_seconds(&o->connect_timeout, name, value, err, errlen);
    if (strcmp(name, "pool_timeout") == 0)
        return set_seconds(&o->pool_timeout, name, value, err, errlen);
    if (strcmp(name, "io_timeout") == 0)
        return set_seconds(&o->io_timeout, name, value, err, errlen);
    if (strcmp(name, "tries") == 0) {
        if (!parse_int(value, &iv))
            return bad(err, errlen, name, value, "not an integer");
        if (iv < 1 || iv > MAX_TRIES)
            return bad(err, errlen, name, value, "must be 1 to 100000");
        o->tries = (int)iv;
        return 0;
    }
    if (strcmp(name, "error_suppression_interval") == 0) {
        if (!parse_double(value, &dv))
            return bad(err, errlen, name, value, "not a finite number");
        o->error_interval = dv;
        return 0;
    }
    if (strcmp(name, "error_suppression_limit") == 0) {
        if (!parse_double(value, &dv))
            return bad(err, errlen, name, value, "not a finite number");
        if (dv > MAX_ERROR_LIMIT)
            return bad(err, errlen, name, value, "more than 100000");
        o->error_limit = dv;
        return 0;
    }
    if (strcmp(name, "item_size_warning_threshold") == 0) {
        if (!parse_int(value, &iv))
            return bad(err, errlen, name, value, "not an integer");
        o->item_size_warning_threshold = iv;
        return 0;
    }
    if (strcmp(name, "tls_enabled") == 0) {
        bool b;
        if (parse_bool(value, &b) != 0)
            return bad(err, errlen, name, value,
                       "not a boolean (true/1/yes/on/t/y or "
                       "false/0/no/off/f/n)");
        o->tls_enabled = b;
        return 0;
    }
    if (strcmp(name, "tls_cafile") == 0)
        return set_string(&o->tls_cafile, value);
    if (strcmp(name, "tls_certfile") == 0)
        return set_string(&o->tls_certfile, value);
    if (strcmp(name, "tls_keyfile") == 0)
        return set_string(&o->tls_keyfile, value);
    if (strcmp(name, "ring_mode") == 0) {
        size_t n;
        const char *s = trim(value, &n);
        char buf[64];
        snprintf(buf, sizeof(buf), "%.*s", (int)(n < 63 ? n : 63), s);
        int m = ring_mode_parse(buf);
        if (m < 0) {
            char why[256];
            snprintf(why, sizeof(why), "unknown ring mode (%s)",
                     ring_mode_names());
            return bad(err, errlen, name, value, why);
        }
        o->ring.mode = (ring_mode)m;
        return 0;
    }
    if (strcmp(name, "ring_hash") == 0 ||
        strcmp(name, "ring_point_hash") == 0) {
        /* Empty: the mode's own. Whether the mode has this hash is checked
         * when the ring is built, as the mode may be set after. */
        size_t n;
        const char *s = trim(value, &n);
        int fn = n == 0 ? RING_HASH_DEFAULT : hash_fn_parse(s, n);
        if (n > 0 && fn < 0) {
            char why[320];
            snprintf(why, sizeof(why), "unknown hash (%s; empty for the "
                     "ring mode's own)", hash_fn_names());
            return bad(err, errlen, name, value, why);
        }
        if (strcmp(name, "ring_hash") == 0)
            o->ring.key_hash = fn;
        else
            o->ring.point_hash = fn;
        return 0;
    }
    if (strcmp(name, "ring_signed_bytes") == 0) {
        bool b;
        if (parse_bool(value, &b) != 0)
            return bad(err, errlen, name, value,
                       "not a boolean (true/1/yes/on/t/y or "
                       "false/0/no/off/f/n)");
        o->ring.signed_bytes = b;
        return 0;
    }
    if (strcmp(name, "ring_socket_port") == 0) {
        if (!parse_int(value, &iv))
            return bad(err, errlen, name, value, "not an integer");
        if (iv != 0 && iv != ADDRESS_DEFAULT_PORT)
            return bad(err, errlen, name, value,
                       "must be 11211 (memcached_server_add) or 0 "
                       "(memcached_server_add_unix_socket, "
                       "memcached_servers_parse)");
        o->ring.socket_port = (uint16_t)iv;
        return 0;
    }
    if (strcmp(name, "key_mode") == 0) {
        size_t n;
        const char *s = trim(value, &n);
        if (n == 5 && strncmp(s, "swift", 5) == 0)
            o->keys = KEYS_SWIFT;
        else if (n == 3 && strncmp(s, "raw", 3) == 0)
            o->keys = KEYS_RAW;
        else
            return bad(err, errlen, name, value, "must be swift or raw");
        o->ring.key_md5hex = o->keys == KEYS_SWIFT;
        return 0;
    }
    if (strcmp(name, "item_size_max") == 0) {
        if (!parse_int(value, &iv))
            return bad(err, errlen, name, value, "not an integer");
        if (iv < 0 || iv > (1LL << 32) - 1)
            return bad(err, errlen, name, value,
                       "must be 0 (no limit) to 4294967295");
        o->item_size_max = (size_t)iv;
        return 0;
    }
    if (strcmp(name, "pipelining") == 0 ||
        strcmp(name, "pipeline_fences") == 0) {
        bool b;
        if (parse_bool(value, &b) != 0)
            return bad(err, errlen, name, value,
                       "not a boolean (true/1/yes/on/t/y or "
                       "false/0/no/off/f/n)");
        if (strcmp(name, "pipelining") == 0)
            o->pipelining = b;
        else
            o->pipeline_fences = b;
        return 0;
    }
    if (strcmp(name, "pipeline_depth") == 0) {
        if (!parse_int(value, &iv))
            return bad(err, errlen, name, value, "not an integer");
        if (iv < 1 || iv > MAX_PIPELINE_DEPTH)
            return bad(err, errlen, name, value, "must be 1 to 65536");
        o->pipeline_depth = (int)iv;
        return 0;
    }
    return err_set(err, errlen, MCRING_ECONFIG, "unknown option '%s'", name);
}

/* ---- memcache.conf ------------------------------------------------------ */

/*
 * The reader follows Python 3.11's configparser.ConfigParser() with the
 * defaults Swift uses (strict, BasicInterpolation, '#' and ';' full-line
 * comments only, '=' and ':' delimiters, blank lines kept inside values),
 * line by line as RawConfigParser._read does:
 *
 *  - lines end at \n, \r\n or \r (Python's universal newlines);
 *  - white space is Python's (utf8_is_py_space), indentation is counted in
 *    code points, the file must be UTF-8;
 *  - a line whose stripped text starts with # or ; is skipped and changes
 *    nothing (not even the option a continuation would extend);
 *  - a line indented deeper than the last option line continues that
 *    option's value; blank lines inside a value are kept, trailing ones
 *    are not;
 *  - "[name]...": a section, name running to the line's last ']' (so
 *    "[memcache] # note" is [memcache]); [DEFAULT] may appear many times,
 *    any other section once;
 *  - otherwise "key = value" split at the first '=' or ':'; keys are
 *    lowercased and may appear once per section.
 *
 * Cost: one pass over the text, and a hash of (section, key) for the
 * duplicate check and lookups; interpolation is bounded in total output
 * (interp_budget). Time and memory are linear in the file's size.
 */

#define CONF_MAX_SIZE (16u << 20)
/* What interpolation may produce beyond the file's own size, in all. */
#define CONF_INTERP_EXTRA (1u << 20)
/* ConfigParser's MAX_INTERPOLATION_DEPTH. */
#define CONF_INTERP_DEPTH 10

enum { SECTION_DEFAULT = 0, SECTION_NONE = UINT32_MAX };

typedef struct conf_entry {
    uint32_t section;
    const char *key; /* lowercased, in the parser's copy of the text */
    size_t key_len;
    char *value;     /* NUL-terminated */
    size_t value_len, value_cap;
    int line;
} conf_entry;

typedef struct conf {
    char *text;      /* the parser's copy: keys point into it */
    conf_entry *e;
    size_t n, cap;
    strmap keys;     /* (section, key) -> entry index + 1 */
    strmap sections; /* name -> section id (from 1; DEFAULT is 0) */
    uint32_t nsections;
    uint32_t memcache; /* the [memcache] section's id, or SECTION_NONE */
} conf;

static void conf_free(conf *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->e[i].value);
    free(c->e);
    strmap_free(&c->keys);
    strmap_free(&c->sections);
    free(c->text);
}

static const conf_entry *conf_find(const conf *c, uint32_t section,
                                   const char *key, size_t len)
{
    uintptr_t i = (uintptr_t)strmap_get(&c->keys, section, key, len);
    return i ? &c->e[i - 1] : NULL;
}

/* An option of [memcache], falling back to [DEFAULT]: what Swift's
 * ConfigParser.items('memcache') and get('memcache', ...) see. */
static const conf_entry *conf_lookup(const conf *c, const char *key,
                                     size_t len)
{
    const conf_entry *e = conf_find(c, c->memcache, key, len);
    return e ? e : conf_find(c, SECTION_DEFAULT, key, len);
}

/* Appends n bytes to an entry's value. 0 or MCRING_ENOMEM. */
static int value_append(conf_entry *e, const char *s, size_t n)
{
    if (e->value_len + n + 1 > e->value_cap) {
        size_t cap = e->value_cap ? e->value_cap : 16;
        while (cap < e->value_len + n + 1)
            cap *= 2;
        char *v = realloc(e->value, cap);
        if (v == NULL)
            return MCRING_ENOMEM;
        e->value = v;
        e->value_cap = cap;
    }
    memcpy(e->value + e->value_len, s, n);
    e->value_len += n;
    e->value[e->value_len] = '\0';
    return 0;
}

/* Code points in s[0..n) (the text is valid UTF-8). */
static size_t code_points(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

static int section_header(conf *c, const char *path, int lineno, char *name,
                          size_t len, uint32_t *section, char *err,
                          size_t errlen)
{
    if (len == 7 && memcmp(name, "DEFAULT", 7) == 0) {
        *section = SECTION_DEFAULT; /* may be repeated */
        return 0;
    }
    void *seen;
    uint32_t id = c->nsections + 1;
    int rc = strmap_put(&c->sections, 0, name, len, (void *)(uintptr_t)id,
                        &seen);
    if (rc < 0)
        return rc;
    if (rc == 1)
        return err_set(err, errlen, MCRING_ECONFIG,
                       "%s:%d: section [%.*s] appears twice", path, lineno,
                       (int)len, name);
    c->nsections = id;
    if (len == 8 && memcmp(name, "memcache", 8) == 0)
        c->memcache = id;
    *section = id;
    return 0;
}

static int option_line(conf *c, const char *path, int lineno,
                       uint32_t section, char *body, size_t blen,
                       conf_entry **cur, char *err, size_t errlen)
{
    size_t d = 0;
    while (d < blen && body[d] != '=' && body[d] != ':')
        d++;
    if (d == blen)
        return err_set(err, errlen, MCRING_ECONFIG,
                       "%s:%d: expected 'name = value'%s", path, lineno,
                       lineno == 1 && (unsigned char)body[0] == 0xEF
                           ? " (a byte order mark starts the file)"
                           : "");
    size_t klen = d - utf8_space_suffix(body, d);
    if (klen == 0)
        return err_set(err, errlen, MCRING_ECONFIG,
                       "%s:%d: option with no name", path, lineno);
    /* optionxform is str.lower(); ASCII letters are folded here, which is
     * the same for every option name mcring or Swift knows
     * (docs/swift-compat.md). */
    for (size_t i = 0; i < klen; i++)
        body[i] = (char)tolower((unsigned char)body[i]);
    const char *v = body + d + 1;
    size_t vlen = blen - d - 1;
    size_t lead = utf8_space_prefix(v, vlen);
    v += lead;
    vlen -= lead;

    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 16;
        conf_entry *e = realloc(c->e, ncap * sizeof(*e));
        if (e == NULL)
            return MCRING_ENOMEM;
        c->e = e;
        c->cap = ncap;
    }
    conf_entry *e = &c->e[c->n];
    *e = (conf_entry){section, body, klen, NULL, 0, 0, lineno};
    int rc = strmap_put(&c->keys, section, body, klen,
                        (void *)(uintptr_t)(c->n + 1), NULL);
    if (rc < 0)
        return rc;
    if (rc == 1)
        return err_set(err, errlen, MCRING_ECONFIG,
                       "%s:%d: option '%.*s' appears twice in its section",
                       path, lineno, (int)klen, body);
    c->n++;
    if (value_append(e, v, vlen) != 0)
        return MCRING_ENOMEM;
    *cur = e;
    return 0;
}

/* Parses c->text (n bytes, NUL-terminated, valid UTF-8, no NUL inside). */
static int parse_conf_text(conf *c, const char *path, size_t n, char *err,
                           size_t errlen)
{
    char *text = c->text;
    uint32_t section = SECTION_NONE;
    conf_entry *cur = NULL;  /* the option continuation lines extend */
    size_t indent_level = 0; /* of the last section or option line */
    size_t pending_blank = 0;
    int lineno = 0;
    size_t pos = 0;

    while (pos < n) {
        char *line = text + pos;
        size_t len = 0;
        while (pos + len < n && line[len] != '\n' && line[len] != '\r')
            len++;
        pos += len;
        if (pos < n && text[pos] == '\r' && pos + 1 < n && text[pos + 1] == '\n')
            pos++;
        if (pos < n)
            pos++;
        lineno++;

        size_t indent_bytes = utf8_space_prefix(line, len);
        char *body = line + indent_bytes;
        size_t blen = len - indent_bytes;
        blen -= utf8_space_suffix(body, blen);

        if (blen > 0 && (body[0] == '#' || body[0] == ';'))
            continue; /* a comment: nothing changes */
        if (blen == 0) {
            if (cur != NULL)
                pending_blank++;
            continue;
        }
        size_t indent = code_points(line, indent_bytes);
        if (cur != NULL && indent > indent_level) {
            /* Continuation; blank lines before it are kept. */
            for (; pending_blank > 0; pending_blank--)
                if (value_append(cur, "\n", 1) != 0)
                    return MCRING_ENOMEM;
            if (value_append(cur, "\n", 1) != 0 ||
                value_append(cur, body, blen) != 0)
                return MCRING_ENOMEM;
            continue;
        }
        pending_blank = 0; /* trailing blank lines: stripped */
        indent_level = indent;
        cur = NULL;

        /* SECTCRE, "\[(?P<header>.+)\]", matched at the start: the name
         * runs to the last ']' and is at least one character long. */
        if (body[0] == '[') {
            size_t close = blen;
            while (close > 1 && body[close - 1] != ']')
                close--;
            if (close >= 3) {
                int rc = section_header(c, path, lineno, body + 1, close - 2,
                                        &section, err, errlen);
                if (rc != 0)
                    return rc;
                continue;
            }
        }
        if (section == SECTION_NONE)
            return err_set(err, errlen, MCRING_ECONFIG,
                           "%s:%d: option before any [section]%s", path,
                           lineno,
                           lineno == 1 && (unsigned char)body[0] == 0xEF
                               ? " (a byte order mark starts the file)"
                               : "");
        int rc = option_line(c, path, lineno, section, body, blen, &cur, err,
                             errlen);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Work left for interpolation, shared by every value of one load: bytes
 * produced plus the length of each reference followed. Every step of the
 * expansion is paid for from it, so a load's time and memory are bounded
 * by the file's size plus CONF_INTERP_EXTRA whatever the nesting. */
typedef struct interp_budget {
    size_t left, limit;
} interp_budget;

/*
 * ConfigParser's BasicInterpolation._interpolate_some: appends the
 * expansion of value to e's expansion in *out. %% is a percent sign;
 * %(name)s is name's value (name running to the first ')', lowercased,
 * looked up in [memcache] then [DEFAULT]), expanded in turn when it holds
 * a '%'; depth starts at 1 and more than 10 is an error, as in Python.
 * Python has no bound on the output: here it may not exceed the budget.
 */
static int interpolate(const conf *c, const char *path, const conf_entry *e,
                       const char *value, size_t vlen, int depth,
                       conf_entry *out, interp_budget *b, char *err,
                       size_t errlen)
{
    if (depth > CONF_INTERP_DEPTH)
        return err_set(err, errlen, MCRING_ECONFIG,
                       "%s:%d: option '%.*s': interpolation deeper than %d "
                       "levels (a loop?)",
                       path, e->line, (int)e->key_len, e->key,
                       CONF_INTERP_DEPTH);
    size_t i = 0;
    while (i < vlen) {
        const char *pct = memchr(value + i, '%', vlen - i);
        size_t plain = (pct ? (size_t)(pct - value) : vlen) - i;
        if (plain > b->left)
            goto too_big;
        b->left -= plain;
        if (value_append(out, value + i, plain) != 0)
            return MCRING_ENOMEM;
        if (pct == NULL)
            break;
        i = (size_t)(pct - value);
        char next = i + 1 < vlen ? value[i + 1] : '\0';
        if (next == '%') {
            if (b->left == 0)
                goto too_big;
            b->left--;
            if (value_append(out, "%", 1) != 0)
                return MCRING_ENOMEM;
            i += 2;
            continue;
        }
        if (next != '(')
            return err_set(err, errlen, MCRING_ECONFIG,
                           "%s:%d: option '%.*s': '%%' must be followed by "
                           "'%%' or '('",
                           path, e->line, (int)e->key_len, e->key);
        /* _KEYCRE: %\(([^)]+)\)s */
        const char *name = value + i + 2;
        const char *close = memchr(name, ')', vlen - i - 2);
        if (close == NULL || close == name ||
            (size_t)(close - value) + 1 >= vlen || close[1] != 's')
            return err_set(err, errlen, MCRING_ECONFIG,
                           "%s:%d: option '%.*s': bad interpolation variable "
                           "reference",
                           path, e->line, (int)e->key_len, e->key);
        size_t nlen = (size_t)(close - name);
        char small[64];
        char *lower = nlen < sizeof(small) ? small : malloc(nlen);
        if (lower == NULL)
            return MCRING_ENOMEM;
        for (size_t k = 0; k < nlen; k++)
            lower[k] = (char)tolower((unsigned char)name[k]);
        const conf_entry *ref = conf_lookup(c, lower, nlen);
        if (lower != small)
            free(lower);
        if (ref == NULL)
            return err_set(err, errlen, MCRING_ECONFIG,
                           "%s:%d: option '%.*s': %%(%.*s)s names no option "
                           "of [memcache] or [DEFAULT]",
                           path, e->line, (int)e->key_len, e->key,
                           (int)(nlen > 64 ? 64 : nlen), name);
        /* A reference costs its own length, even one to an empty value,
         * so that reading names counts against the budget too. */
        size_t ref_len = (size_t)(close - pct) + 2;
        if (ref_len > b->left)
            goto too_big;
        b->left -= ref_len;
        if (memchr(ref->value, '%', ref->value_len) != NULL) {
            int rc = interpolate(c, path, e, ref->value, ref->value_len,
                                 depth + 1, out, b, err, errlen);
            if (rc != 0)
                return rc;
        } else {
            if (ref->value_len > b->left)
                goto too_big;
            b->left -= ref->value_len;
            if (value_append(out, ref->value, ref->value_len) != 0)
                return MCRING_ENOMEM;
        }
        i = (size_t)(close - value) + 2;
    }
    return 0;
too_big:
    return err_set(err, errlen, MCRING_ECONFIG,
                   "%s:%d: option '%.*s': interpolation expands the file's "
                   "values past %zu bytes (its size plus 1 MiB); refusing it",
                   path, e->line, (int)e->key_len, e->key, b->limit);
}

static void conf_log(const mcring_options *o, mcring_log_level level,
                     const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void conf_log(const mcring_options *o, mcring_log_level level,
                     const char *fmt, ...)
{
    if (o->log == NULL)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    o->log(o->log_userdata, level, NULL, msg);
}

/*
 * One option of Swift's view of [memcache], its value interpolated, into
 * the options, with the middleware's rules for the two options it reads
 * from the file itself: an empty memcache_servers and a
 * memcache_max_connections that is not an integer > 0 leave the option as
 * it was; max_connections in the file is not read at all.
 */
static int apply_entry(mcring_options *o, const conf *c, const char *path,
                       const conf_entry *e, interp_budget *b, char *err,
                       size_t errlen)
{
    conf_entry out = {0};
    int rc = value_append(&out, "", 0);
    if (rc == 0)
        rc = interpolate(c, path, e, e->value, e->value_len, 1, &out, b, err,
                         errlen);
    if (rc != 0) {
        free(out.value);
        return rc;
    }
    char key[64];
    snprintf(key, sizeof(key), "%.*s", (int)e->key_len, e->key);
    bool known_len = e->key_len < sizeof(key);
    const char *value = out.value;
    size_t vlen;
    trim(value, &vlen);
    long long iv;
    if (!known_len || strcmp(key, "max_connections") == 0) {
        rc = 0; /* not an option mcring knows, or not one Swift reads here */
    } else if (strcmp(key, "memcache_servers") == 0 && vlen == 0) {
        rc = 0;
    } else if (strcmp(key, "memcache_max_connections") == 0 &&
               (!parse_int(value, &iv) || iv <= 0)) {
        if (!parse_int(value, &iv))
            conf_log(o, MCRING_LOG_WARNING,
                     "%s:%d: memcache_max_connections = '%.64s' is not an "
                     "integer; ignored, as Swift does",
                     path, e->line, value);
        rc = 0;
    } else {
        char msg[512];
        rc = mcring_options_set(o, key, value, msg, sizeof(msg));
        if (rc == MCRING_ECONFIG && strncmp(msg, "unknown option", 14) == 0)
            rc = 0; /* Swift ignores options it does not know */
        else if (rc != 0)
            rc = err_set(err, errlen, rc, "%s:%d: %s", path, e->line, msg);
    }
    free(out.value);
    return rc;
}

int mcring_options_load(mcring_options *o, const char *path, char *err,
                        size_t errlen)
{
    if (o == NULL || path == NULL)
        return err_set(err, errlen, MCRING_EINVAL, "NULL argument");
    FILE *f = fopen(path, "rb");
    if (f == NULL && (errno == ENOENT || errno == ENOTDIR)) {
        /* Swift's ConfigParser.read() skips a missing file and the
         * middleware keeps its defaults; say so instead of failing. */
        conf_log(o, MCRING_LOG_WARNING,
                 "memcache config %s not found; the options stay as they "
                 "were (Swift's defaults unless set)",
                 path);
        return err_set(err, errlen, MCRING_CONF_MISSING,
                       "%s: not found; nothing loaded", path);
    }
    if (f == NULL)
        return err_set(err, errlen, MCRING_ECONFIG, "%s: cannot open: %s",
                       path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *text = malloc(cap);
    while (text != NULL) {
        size_t got = fread(text + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
        if (n + 1 == cap) {
            if (cap > CONF_MAX_SIZE) {
                free(text);
                fclose(f);
                return err_set(err, errlen, MCRING_ECONFIG,
                               "%s: larger than 16 MiB", path);
            }
            char *t = realloc(text, cap * 2);
            if (t == NULL) {
                free(text);
                text = NULL;
                break;
            }
            text = t;
            cap *= 2;
        }
    }
    bool read_error = ferror(f);
    fclose(f);
    if (text == NULL)
        return err_set(err, errlen, MCRING_ENOMEM, "out of memory");
    if (read_error) {
        free(text);
        return err_set(err, errlen, MCRING_ECONFIG, "%s: read error", path);
    }
    int rc = options_load_text(o, path, text, n, err, errlen);
    free(text);
    return rc;
}

int options_load_text(mcring_options *o, const char *path, const char *data,
                      size_t n, char *err, size_t errlen)
{
    if (n > CONF_MAX_SIZE)
        return err_set(err, errlen, MCRING_ECONFIG, "%s: larger than 16 MiB",
                       path);
    if (memchr(data, '\0', n) != NULL)
        return err_set(err, errlen, MCRING_ECONFIG,
                       "%s: contains a NUL byte (not a text file)", path);
    if (!utf8_valid((const unsigned char *)data, n))
        return err_set(err, errlen, MCRING_ECONFIG,
                       "%s: not valid UTF-8 (Swift could not read it either)",
                       path);
    conf c = {0};
    c.memcache = SECTION_NONE;
    c.text = malloc(n + 1);
    int rc = c.text ? 0 : MCRING_ENOMEM;
    if (rc == 0) {
        memcpy(c.text, data, n);
        c.text[n] = '\0';
        rc = parse_conf_text(&c, path, n, err, errlen);
    }

    /* Apply to a copy, so that any error leaves the options as they were.
     * Without a [memcache] section Swift reads nothing from the file, not
     * even [DEFAULT]. */
    mcring_options tmp;
    if (rc == 0)
        rc = options_copy(&tmp, o);
    if (rc == 0) {
        interp_budget b = {n + CONF_INTERP_EXTRA, n + CONF_INTERP_EXTRA};
        for (size_t i = 0; i < c.n && rc == 0 && c.memcache != SECTION_NONE;
             i++) {
            const conf_entry *e = &c.e[i];
            bool in_memcache = e->section == c.memcache;
            bool inherited =
                e->section == SECTION_DEFAULT &&
                conf_find(&c, c.memcache, e->key, e->key_len) == NULL;
            if (in_memcache || inherited)
                rc = apply_entry(&tmp, &c, path, e, &b, err, errlen);
        }
        if (rc == 0) {
            free(tmp.config_path);
            tmp.config_path = strdup(path);
            if (tmp.config_path == NULL)
                rc = MCRING_ENOMEM;
        }
        if (rc == 0) {
            options_clear(o);
            *o = tmp;
        } else {
            options_clear(&tmp);
        }
    }
    conf_free(&c);
    if (rc == MCRING_ENOMEM)
        err_set(err, errlen, rc, "out of memory");
    return rc;
}
