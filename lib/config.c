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
#include "options.h"
#include "error.h"
#include "strmap.h"
#include "utf8.h"

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
    options_trim(value, &vlen);
    long long iv;
    if (!known_len || !options_known(key) ||
        strcmp(key, "max_connections") == 0) {
        rc = 0; /* not an option mcring knows (Swift ignores options it
                 * does not know), or not one Swift reads here */
    } else if (strcmp(key, "memcache_servers") == 0 && vlen == 0) {
        rc = 0;
    } else if (strcmp(key, "memcache_max_connections") == 0 &&
               (!options_parse_int(value, &iv) || iv <= 0)) {
        if (!options_parse_int(value, &iv))
            conf_log(o, MCRING_LOG_WARNING,
                     "%s:%d: memcache_max_connections = '%.64s' is not an "
                     "integer; ignored, as Swift does",
                     path, e->line, value);
        rc = 0;
    } else {
        char msg[512];
        rc = mcring_options_set(o, key, value, msg, sizeof(msg));
        if (rc != 0)
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
