#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "address.h"
#include "config.h"
#include "error.h"

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

static const char *trim(const char *s, size_t *len)
{
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    *len = n;
    return s;
}

static bool parse_int(const char *text, long long *out)
{
    size_t n;
    const char *s = trim(text, &n);
    char buf[32];
    if (n == 0 || n >= sizeof(buf))
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    size_t i = (buf[0] == '+' || buf[0] == '-') ? 1 : 0;
    if (buf[i] == '\0')
        return false;
    for (size_t j = i; buf[j]; j++)
        if (!isdigit((unsigned char)buf[j]))
            return false;
    errno = 0;
    long long v = strtoll(buf, NULL, 10);
    if (errno != 0)
        return false;
    *out = v;
    return true;
}

static bool parse_double(const char *text, double *out)
{
    size_t n;
    const char *s = trim(text, &n);
    char buf[64];
    if (n == 0 || n >= sizeof(buf))
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    /* Decimal only: strtod would also take hex floats, inf and nan. */
    for (size_t j = 0; buf[j]; j++)
        if (!isdigit((unsigned char)buf[j]) && !strchr("+-.eE", buf[j]))
            return false;
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (*end != '\0' || errno != 0 || !isfinite(v))
        return false;
    *out = v;
    return true;
}

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
        return bad(err, errlen, name, value, "not a number");
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
            return bad(err, errlen, name, value, "not a number");
        o->error_interval = dv;
        return 0;
    }
    if (strcmp(name, "error_suppression_limit") == 0) {
        if (!parse_double(value, &dv))
            return bad(err, errlen, name, value, "not a number");
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

typedef struct conf_entry {
    char *section; /* lowercase not applied: section names are exact */
    char *key;     /* lowercased */
    char *value;
    int line;
} conf_entry;

typedef struct conf {
    conf_entry *e;
    size_t n, cap;
    char **sections;
    size_t nsections;
} conf;

static void conf_free(conf *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->e[i].key);
        free(c->e[i].value);
    }
    for (size_t i = 0; i < c->nsections; i++)
        free(c->sections[i]);
    free(c->e);
    free(c->sections);
}

static const conf_entry *conf_find(const conf *c, const char *section,
                                   const char *key)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->e[i].section, section) == 0 &&
            strcmp(c->e[i].key, key) == 0)
            return &c->e[i];
    return NULL;
}

/* An option of [memcache], falling back to [DEFAULT]. */
static const conf_entry *conf_lookup(const conf *c, const char *key)
{
    const conf_entry *e = conf_find(c, "memcache", key);
    return e ? e : conf_find(c, "DEFAULT", key);
}

static char *rstrip_dup(const char *s, size_t n)
{
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    return strndup(s, n);
}

static int parse_conf_text(const char *path, char *text, conf *c, char *err,
                           size_t errlen)
{
    const char *section = NULL;
    conf_entry *cur = NULL; /* option that continuation lines extend */
    size_t cur_indent = 0;
    int lineno = 0;
    char *save = text;
    size_t pending_blank = 0;

    while (save != NULL && *save != '\0') {
        char *line = save;
        char *nl = strchr(line, '\n');
        if (nl != NULL) {
            *nl = '\0';
            save = nl + 1;
        } else {
            save = NULL;
        }
        lineno++;
        size_t len = strlen(line);
        if (len > 0 && line[len - 1] == '\r')
            line[--len] = '\0';

        size_t indent = 0;
        while (indent < len && isspace((unsigned char)line[indent]))
            indent++;
        const char *body = line + indent;
        size_t blen = len - indent;
        while (blen > 0 && isspace((unsigned char)body[blen - 1]))
            blen--;

        if (blen > 0 && (body[0] == '#' || body[0] == ';'))
            continue; /* full-line comment */
        if (blen == 0) {
            if (cur != NULL)
                pending_blank++;
            continue;
        }
        if (cur != NULL && indent > cur_indent) {
            /* Continuation line; blank lines inside are kept. */
            size_t old = strlen(cur->value);
            char *v = realloc(cur->value, old + pending_blank + 1 + blen + 1);
            if (v == NULL)
                return MCRING_ENOMEM;
            size_t off = old;
            for (size_t i = 0; i < pending_blank; i++)
                v[off++] = '\n';
            v[off++] = '\n';
            memcpy(v + off, body, blen);
            v[off + blen] = '\0';
            cur->value = v;
            pending_blank = 0;
            continue;
        }
        pending_blank = 0;
        cur = NULL;

        if (body[0] == '[') {
            if (body[blen - 1] != ']' || blen < 3)
                return err_set(err, errlen, MCRING_ECONFIG,
                               "%s:%d: bad section header", path, lineno);
            char *name = strndup(body + 1, blen - 2);
            if (name == NULL)
                return MCRING_ENOMEM;
            for (size_t i = 0; i < c->nsections; i++)
                if (strcmp(c->sections[i], name) == 0) {
                    free(name);
                    return err_set(err, errlen, MCRING_ECONFIG,
                                   "%s:%d: section [%s] appears twice", path,
                                   lineno, c->sections[i]);
                }
            char **s = realloc(c->sections, (c->nsections + 1) * sizeof(*s));
            if (s == NULL) {
                free(name);
                return MCRING_ENOMEM;
            }
            c->sections = s;
            c->sections[c->nsections++] = name;
            section = name;
            continue;
        }
        if (section == NULL)
            return err_set(err, errlen, MCRING_ECONFIG,
                           "%s:%d: option before any [section]", path, lineno);

        size_t d = strcspn(body, "=:");
        if (d >= blen)
            return err_set(err, errlen, MCRING_ECONFIG,
                           "%s:%d: expected 'name = value'", path, lineno);
        char *key = rstrip_dup(body, d);
        if (key == NULL)
            return MCRING_ENOMEM;
        if (key[0] == '\0') {
            free(key);
            return err_set(err, errlen, MCRING_ECONFIG,
                           "%s:%d: option with no name", path, lineno);
        }
        for (char *k = key; *k; k++)
            *k = (char)tolower((unsigned char)*k);
        if (conf_find(c, section, key) != NULL) {
            err_set(err, errlen, MCRING_ECONFIG,
                    "%s:%d: option '%s' appears twice in [%s]", path, lineno,
                    key, section);
            free(key);
            return MCRING_ECONFIG;
        }
        const char *v = body + d + 1;
        size_t vlen = blen - d - 1;
        while (vlen > 0 && isspace((unsigned char)*v)) {
            v++;
            vlen--;
        }
        char *value = strndup(v, vlen);
        if (value == NULL) {
            free(key);
            return MCRING_ENOMEM;
        }
        if (c->n == c->cap) {
            size_t ncap = c->cap ? c->cap * 2 : 16;
            conf_entry *e = realloc(c->e, ncap * sizeof(*e));
            if (e == NULL) {
                free(key);
                free(value);
                return MCRING_ENOMEM;
            }
            c->e = e;
            c->cap = ncap;
        }
        c->e[c->n] = (conf_entry){(char *)section, key, value, lineno};
        cur = &c->e[c->n++];
        cur_indent = indent;
    }
    return 0;
}

/* ConfigParser's BasicInterpolation: %% and %(name)s, names looked up in
 * [memcache] then [DEFAULT], at most 10 levels deep. */
static int interpolate(const conf *c, const char *path, const conf_entry *e,
                       const char *value, int depth, char **out, char *err,
                       size_t errlen)
{
    if (depth > 10)
        return err_set(err, errlen, MCRING_ECONFIG,
                       "%s:%d: option '%s': interpolation too deep", path,
                       e->line, e->key);
    size_t cap = strlen(value) + 1, n = 0;
    char *buf = malloc(cap);
    if (buf == NULL)
        return MCRING_ENOMEM;
    for (const char *p = value; *p;) {
        const char *chunk;
        size_t clen;
        char *sub = NULL;
        if (*p != '%') {
            chunk = p;
            clen = 1;
            p++;
        } else if (p[1] == '%') {
            chunk = "%";
            clen = 1;
            p += 2;
        } else if (p[1] == '(') {
            const char *close = strstr(p, ")s");
            if (close == NULL) {
                free(buf);
                return err_set(err, errlen, MCRING_ECONFIG,
                               "%s:%d: option '%s': bad interpolation", path,
                               e->line, e->key);
            }
            char name[128];
            size_t nl = (size_t)(close - (p + 2));
            if (nl >= sizeof(name))
                nl = sizeof(name) - 1;
            for (size_t i = 0; i < nl; i++)
                name[i] = (char)tolower((unsigned char)p[2 + i]);
            name[nl] = '\0';
            const conf_entry *ref = conf_lookup(c, name);
            if (ref == NULL) {
                free(buf);
                return err_set(err, errlen, MCRING_ECONFIG,
                               "%s:%d: option '%s': %%(%s)s names no option",
                               path, e->line, e->key, name);
            }
            int rc = interpolate(c, path, e, ref->value, depth + 1, &sub, err,
                                 errlen);
            if (rc != 0) {
                free(buf);
                return rc;
            }
            chunk = sub;
            clen = strlen(sub);
            p = close + 2;
        } else {
            free(buf);
            return err_set(err, errlen, MCRING_ECONFIG,
                           "%s:%d: option '%s': '%%' must be followed by '%%' "
                           "or '('",
                           path, e->line, e->key);
        }
        if (n + clen + 1 > cap) {
            cap = (n + clen + 1) * 2;
            char *nb = realloc(buf, cap);
            if (nb == NULL) {
                free(buf);
                free(sub);
                return MCRING_ENOMEM;
            }
            buf = nb;
        }
        memcpy(buf + n, chunk, clen);
        n += clen;
        free(sub);
    }
    buf[n] = '\0';
    *out = buf;
    return 0;
}

static int apply_entry(mcring_options *o, const conf *c, const char *path,
                       const conf_entry *e, char *err, size_t errlen)
{
    char *value = NULL;
    int rc = interpolate(c, path, e, e->value, 0, &value, err, errlen);
    if (rc != 0)
        return rc;
    char msg[512];
    rc = mcring_options_set(o, e->key, value, msg, sizeof(msg));
    free(value);
    if (rc == MCRING_ECONFIG && strncmp(msg, "unknown option", 14) == 0)
        return 0; /* Swift ignores options it does not know */
    if (rc != 0)
        return err_set(err, errlen, rc, "%s:%d: %s", path, e->line, msg);
    return 0;
}

int mcring_options_load(mcring_options *o, const char *path, char *err,
                        size_t errlen)
{
    if (o == NULL || path == NULL)
        return err_set(err, errlen, MCRING_EINVAL, "NULL argument");
    FILE *f = fopen(path, "rb");
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
            if (cap >= (16u << 20)) {
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
    if (memchr(data, '\0', n) != NULL)
        return err_set(err, errlen, MCRING_ECONFIG,
                       "%s: contains a NUL byte (not a text file)", path);
    char *text = malloc(n + 1);
    if (text == NULL)
        return err_set(err, errlen, MCRING_ENOMEM, "out of memory");
    memcpy(text, data, n);
    text[n] = '\0';

    conf c = {0};
    int rc = parse_conf_text(path, text, &c, err, errlen);
    free(text);

    /* Apply to a copy, so that any error leaves the options as they were. */
    mcring_options tmp;
    if (rc == 0)
        rc = options_copy(&tmp, o);
    if (rc == 0) {
        for (size_t i = 0; i < c.n && rc == 0; i++) {
            const conf_entry *e = &c.e[i];
            bool in_memcache = strcmp(e->section, "memcache") == 0;
            bool inherited = strcmp(e->section, "DEFAULT") == 0 &&
                             conf_find(&c, "memcache", e->key) == NULL;
            if (in_memcache || inherited)
                rc = apply_entry(&tmp, &c, path, e, err, errlen);
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
