/*
 * JSON as Swift writes and reads it: Python's json.dumps() with default
 * settings on the way out, and everything json.loads() reads back from
 * those bytes on the way in (NaN, Infinity, -Infinity, integers of any
 * size within 64 bits). Why this is not jansson: docs/codecs.md (measured).
 *
 * The decoder is one pass over the input with an explicit stack of open
 * containers (MCRING_VALUE_DEPTH_MAX deep, no recursion); each container
 * is put into its parent as soon as it opens, so on an error freeing the
 * root and the keys still waiting for a value frees everything.
 *
 * Numbers are formatted and parsed in the "C" locale whatever the
 * process's locale is: the decimal point is always '.'.
 */
#include <float.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "item.h"
#include "utf8.h"
#include "value.h"

/* ---- the "C" locale ------------------------------------------------------*/

/* Created once and never changed: shared read-only by every thread. */
static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

static locale_t get_c_locale(void)
{
    pthread_once(&c_locale_once, c_locale_init);
    return c_locale;
}

/* ---- encoding ------------------------------------------------------------*/

typedef struct jwriter {
    mcring_item *out;
    unsigned opts;
    int rc; /* first failure; writes after it are skipped */
} jwriter;

static void put(jwriter *w, const void *s, size_t n)
{
    if (w->rc == 0 && item_put(w->out, s, n) != 0)
        w->rc = MCRING_ENOMEM;
}

/* A string literal (the "" makes anything else a compile error, so sizeof
 * is never a pointer's). */
#define PUT_LIT(w, lit) put((w), "" lit, sizeof(lit) - 1)

static void fail(jwriter *w, int rc)
{
    if (w->rc == 0)
        w->rc = rc;
}

static size_t format_u64(uint64_t u, char *buf)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    for (size_t i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    return n;
}

static size_t format_i64(int64_t i, char *buf)
{
    if (i >= 0)
        return format_u64((uint64_t)i, buf);
    buf[0] = '-';
    return 1 + format_u64((uint64_t)0 - (uint64_t)i, buf + 1);
}

/* Splits "d.ddde[+-]X" (or "de[+-]X") into its digits and the exponent of
 * the first digit; returns how many digits. */
static int split_e(const char *buf, char *digits, int *exp10)
{
    int n = 0;
    const char *p = buf;
    for (; *p != 'e'; p++)
        if (*p != '.')
            digits[n++] = *p;
    *exp10 = atoi(p + 1);
    return n;
}

/*
 * The shortest decimal digits that read back as x (x finite, >= 0), as
 * Python's repr finds them, and the decimal point's position:
 * x = 0.d1d2d3... * 10^decpt.
 *
 * For a normal double every decimal of up to 15 significant digits
 * survives the trip through a double, so if the nearest 15 digits read
 * back, the shortest form is them without trailing zeros. Otherwise 16
 * digits: the nearest, or, when x is a power of two (its rounding interval
 * is narrower below than above), the neighbour on the far side; else 17,
 * which always read back. Subnormals have fewer bits: for them every
 * length from 1 up is tried.
 */
static int shortest_digits(double x, char digits[24], int *ndigits, int *decpt)
{
    locale_t c = get_c_locale();
    if (c == (locale_t)0)
        return MCRING_ENOMEM;
    char buf[40];
    int n = 0, exp10 = 0;
    locale_t old = uselocale(c);
    for (int prec = x < DBL_MIN ? 1 : 15; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*e", prec - 1, x);
        n = split_e(buf, digits, &exp10);
        if (prec == 17 || strtod(buf, NULL) == x)
            break;
        if (prec != 16)
            continue;
        uint64_t m = 0;
        for (int i = 0; i < n; i++)
            m = m * 10 + (uint64_t)(digits[i] - '0');
        bool found = false;
        for (int delta = 1; delta >= -1 && !found; delta -= 2) {
            uint64_t cand = delta > 0 ? m + 1 : m - 1;
            snprintf(buf, sizeof(buf), "%llue%d", (unsigned long long)cand,
                     exp10 - 15);
            if (strtod(buf, NULL) == x) {
                /* 10^16 has one digit more; 10^15 - 1 one less. */
                n = (int)format_u64(cand, digits);
                exp10 += n - 16;
                found = true;
            }
        }
        if (found)
            break;
    }
    uselocale(old);
    while (n > 1 && digits[n - 1] == '0')
        n--;
    *ndigits = n;
    *decpt = exp10 + 1;
    return 0;
}

/* Python's float.__repr__: fixed notation for 1e-4 <= |x| < 1e16 (with a
 * ".0" when there is no fraction), else d.ddde+XX. */
static void put_double(jwriter *w, double d)
{
    if (isnan(d) || isinf(d)) {
        if (w->opts & MCRING_JSON_STRICT) {
            fail(w, MCRING_EENCODE);
            return;
        }
        if (isnan(d))
            PUT_LIT(w, "NaN");
        else if (d > 0)
            PUT_LIT(w, "Infinity");
        else
            PUT_LIT(w, "-Infinity");
        return;
    }
    char digits[24];
    int nd, decpt;
    int rc = shortest_digits(fabs(d), digits, &nd, &decpt);
    if (rc != 0) {
        fail(w, rc);
        return;
    }
    char out[48];
    size_t o = 0;
    if (signbit(d))
        out[o++] = '-';
    if (decpt <= -4 || decpt > 16) {
        out[o++] = digits[0];
        if (nd > 1) {
            out[o++] = '.';
            memcpy(out + o, digits + 1, (size_t)nd - 1);
            o += (size_t)nd - 1;
        }
        int e = decpt - 1;
        out[o++] = 'e';
        out[o++] = e < 0 ? '-' : '+';
        if (e < 0)
            e = -e;
        if (e >= 100)
            out[o++] = (char)('0' + e / 100);
        out[o++] = (char)('0' + e / 10 % 10);
        out[o++] = (char)('0' + e % 10);
    } else if (decpt <= 0) {
        out[o++] = '0';
        out[o++] = '.';
        for (int i = 0; i < -decpt; i++)
            out[o++] = '0';
        memcpy(out + o, digits, (size_t)nd);
        o += (size_t)nd;
    } else if (decpt >= nd) {
        memcpy(out + o, digits, (size_t)nd);
        o += (size_t)nd;
        for (int i = nd; i < decpt; i++)
            out[o++] = '0';
        out[o++] = '.';
        out[o++] = '0';
    } else {
        memcpy(out + o, digits, (size_t)decpt);
        o += (size_t)decpt;
        out[o++] = '.';
        memcpy(out + o, digits + decpt, (size_t)(nd - decpt));
        o += (size_t)(nd - decpt);
    }
    put(w, out, o);
}

static void put_u16_escape(jwriter *w, uint32_t unit)
{
    static const char hex[] = "0123456789abcdef";
    char e[6] = {'\\', 'u', hex[(unit >> 12) & 15], hex[(unit >> 8) & 15],
                 hex[(unit >> 4) & 15], hex[unit & 15]};
    put(w, e, 6);
}

/* Bytes that need no escape in Python's ASCII output: ' ' to '~' except
 * '"' and '\\'. */
static bool plain_ascii(unsigned char c)
{
    return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\';
}

/* A string as json.dumps writes it with ensure_ascii (lowercase hex). The
 * value model guarantees valid UTF-8. */
static void put_string(jwriter *w, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    PUT_LIT(w, "\"");
    size_t i = 0;
    while (i < len) {
        size_t run = i;
        while (run < len && plain_ascii(p[run]))
            run++;
        if (run > i) {
            put(w, p + i, run - i);
            i = run;
            if (i == len)
                break;
        }
        unsigned char c = p[i];
        switch (c) {
        case '"':
            PUT_LIT(w, "\\\"");
            i++;
            continue;
        case '\\':
            PUT_LIT(w, "\\\\");
            i++;
            continue;
        case '\b':
            PUT_LIT(w, "\\b");
            i++;
            continue;
        case '\f':
            PUT_LIT(w, "\\f");
            i++;
            continue;
        case '\n':
            PUT_LIT(w, "\\n");
            i++;
            continue;
        case '\r':
            PUT_LIT(w, "\\r");
            i++;
            continue;
        case '\t':
            PUT_LIT(w, "\\t");
            i++;
            continue;
        default:
            break;
        }
        uint32_t cp;
        size_t n = utf8_next(p + i, len - i, &cp);
        if (n == 0) { /* only reachable through a corrupted value */
            fail(w, MCRING_EENCODE);
            return;
        }
        i += n;
        if (cp >= 0x10000) {
            cp -= 0x10000;
            put_u16_escape(w, 0xD800 | (cp >> 10));
            put_u16_escape(w, 0xDC00 | (cp & 0x3FF));
        } else {
            put_u16_escape(w, cp);
        }
    }
    PUT_LIT(w, "\"");
}

static void put_base64(jwriter *w, const unsigned char *p, size_t len)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    PUT_LIT(w, "\"");
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < len)
            v |= p[i + 2];
        char q[4] = {alphabet[v >> 18], alphabet[(v >> 12) & 63],
                     i + 1 < len ? alphabet[(v >> 6) & 63] : '=',
                     i + 2 < len ? alphabet[v & 63] : '='};
        put(w, q, 4);
    }
    PUT_LIT(w, "\"");
}

/* Whether Python can use k as a JSON object key (it turns integers,
 * floats, booleans and None into strings). */
static bool simple_key(const mcring_value *k)
{
    switch ((mcring_value_kind)k->kind) {
    case MCRING_VALUE_STRING:
    case MCRING_VALUE_INT:
    case MCRING_VALUE_UINT:
    case MCRING_VALUE_DOUBLE:
    case MCRING_VALUE_BOOL:
    case MCRING_VALUE_NULL:
        return true;
    default:
        return false;
    }
}

static bool simple_keys(const mcring_value *map)
{
    for (size_t i = 0; i < map->len; i++)
        if (!simple_key(map->as.items[2 * i]))
            return false;
    return true;
}

/* A simple map key, as Python writes it. */
static void put_key(jwriter *w, const mcring_value *k)
{
    char num[24];
    switch ((mcring_value_kind)k->kind) {
    case MCRING_VALUE_STRING:
        put_string(w, k->as.bytes, k->len);
        return;
    case MCRING_VALUE_INT:
        PUT_LIT(w, "\"");
        put(w, num, format_i64(k->as.i, num));
        PUT_LIT(w, "\"");
        return;
    case MCRING_VALUE_UINT:
        PUT_LIT(w, "\"");
        put(w, num, format_u64(k->as.u, num));
        PUT_LIT(w, "\"");
        return;
    case MCRING_VALUE_DOUBLE:
        PUT_LIT(w, "\"");
        put_double(w, k->as.d);
        PUT_LIT(w, "\"");
        return;
    case MCRING_VALUE_BOOL:
        if (k->as.b)
            PUT_LIT(w, "\"true\"");
        else
            PUT_LIT(w, "\"false\"");
        return;
    case MCRING_VALUE_NULL:
        PUT_LIT(w, "\"null\"");
        return;
    default:
        fail(w, MCRING_EENCODE);
    }
}

static void put_value(jwriter *w, const mcring_value *v, int depth);

/* A map with a key JSON cannot name (an array, map, bytes, ...), in the
 * extended form: {"$map": [[key, value], ...]}. Keys are written as values,
 * so the output stays linear in the input (a key written as its own JSON
 * text inside a string would double in size with every level). */
static void put_pairs(jwriter *w, const mcring_value *v, int depth)
{
    PUT_LIT(w, "{\"$map\": [");
    for (size_t i = 0; i < v->len && w->rc == 0; i++) {
        if (i > 0)
            PUT_LIT(w, ", ");
        PUT_LIT(w, "[");
        put_value(w, v->as.items[2 * i], depth + 1);
        PUT_LIT(w, ", ");
        put_value(w, v->as.items[2 * i + 1], depth + 1);
        PUT_LIT(w, "]");
    }
    PUT_LIT(w, "]}");
}

static void put_value(jwriter *w, const mcring_value *v, int depth)
{
    char num[24];
    if (w->rc != 0)
        return;
    bool extended = (w->opts & MCRING_JSON_EXTENDED) != 0;
    switch ((mcring_value_kind)v->kind) {
    case MCRING_VALUE_NULL:
        PUT_LIT(w, "null");
        return;
    case MCRING_VALUE_BOOL:
        if (v->as.b)
            PUT_LIT(w, "true");
        else
            PUT_LIT(w, "false");
        return;
    case MCRING_VALUE_INT:
        put(w, num, format_i64(v->as.i, num));
        return;
    case MCRING_VALUE_UINT:
        put(w, num, format_u64(v->as.u, num));
        return;
    case MCRING_VALUE_DOUBLE:
        put_double(w, v->as.d);
        return;
    case MCRING_VALUE_STRING:
        put_string(w, v->as.bytes, v->len);
        return;
    case MCRING_VALUE_BYTES:
        if (!extended)
            break;
        PUT_LIT(w, "{\"$bytes\": ");
        put_base64(w, (const unsigned char *)v->as.bytes, v->len);
        PUT_LIT(w, "}");
        return;
    case MCRING_VALUE_EXT:
        if (!extended)
            break;
        PUT_LIT(w, "{\"$ext\": [");
        put(w, num, format_i64(v->ext_type, num));
        PUT_LIT(w, ", ");
        put_base64(w, (const unsigned char *)v->as.bytes, v->len);
        PUT_LIT(w, "]}");
        return;
    case MCRING_VALUE_TIMESTAMP:
        if (!extended)
            break;
        PUT_LIT(w, "{\"$timestamp\": [");
        put(w, num, format_i64(v->as.sec, num));
        PUT_LIT(w, ", ");
        put(w, num, format_u64(v->nsec, num));
        PUT_LIT(w, "]}");
        return;
    case MCRING_VALUE_ARRAY:
        if (depth >= MCRING_VALUE_DEPTH_MAX)
            break;
        PUT_LIT(w, "[");
        for (size_t i = 0; i < v->len && w->rc == 0; i++) {
            if (i > 0)
                PUT_LIT(w, ", ");
            put_value(w, v->as.items[i], depth + 1);
        }
        PUT_LIT(w, "]");
        return;
    case MCRING_VALUE_MAP:
        if (depth >= MCRING_VALUE_DEPTH_MAX)
            break;
        if (!simple_keys(v)) {
            if (!extended)
                break; /* Python: keys must be str, int, float, ... */
            put_pairs(w, v, depth);
            return;
        }
        PUT_LIT(w, "{");
        for (size_t i = 0; i < v->len && w->rc == 0; i++) {
            if (i > 0)
                PUT_LIT(w, ", ");
            put_key(w, v->as.items[2 * i]);
            PUT_LIT(w, ": ");
            put_value(w, v->as.items[2 * i + 1], depth + 1);
        }
        PUT_LIT(w, "}");
        return;
    }
    fail(w, MCRING_EENCODE);
}

static int json_encode(const mcring_value *v, unsigned opts,
                       mcring_item *out)
{
    jwriter w = {out, opts, 0};
    put_value(&w, v, 0);
    return w.rc;
}

int mcring_json_encode(const mcring_value *value, unsigned opts,
                       mcring_item *out)
{
    if (value == NULL || out == NULL ||
        (opts & ~(MCRING_JSON_STRICT | MCRING_JSON_EXTENDED)) != 0)
        return MCRING_EINVAL;
    out->len = 0;
    out->flags = MCRING_FLAG_JSON;
    int rc = json_encode(value, opts, out);
    if (rc != 0)
        out->len = 0;
    if (out->data != NULL)
        out->data[out->len] = '\0';
    return rc;
}

/* ---- decoding ------------------------------------------------------------*/

typedef struct jframe {
    mcring_value *c;   /* the open array or map (owned by its parent) */
    mcring_value *key; /* map: a key waiting for its value, owned here */
} jframe;

typedef struct jparser {
    const unsigned char *start, *p, *end;
    unsigned opts;
    char *err;
    size_t errlen;
} jparser;

static int bad(jparser *jp, const unsigned char *at, const char *why)
{
    return err_set(jp->err, jp->errlen, MCRING_EDECODE,
                   "invalid JSON at byte %zu: %s", (size_t)(at - jp->start),
                   why);
}

static void skip_ws(jparser *jp)
{
    while (jp->p < jp->end && (*jp->p == ' ' || *jp->p == '\n' ||
                               *jp->p == '\r' || *jp->p == '\t'))
        jp->p++;
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Four hex digits at p (bounds checked by the caller), or -1. */
static int32_t hex4(const unsigned char *p)
{
    int32_t v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_value(p[i]);
        if (h < 0)
            return -1;
        v = (v << 4) | h;
    }
    return v;
}

/* Decodes the escapes of s[0..len) (the inside of a string with at least
 * one backslash) into dst, which has room for len bytes: no escape makes
 * text longer. Returns the decoded length, or a negative code. */
static int64_t unescape(jparser *jp, const unsigned char *s, size_t len,
                        unsigned char *dst)
{
    size_t i = 0, o = 0;
    while (i < len) {
        size_t run = i;
        while (run < len && s[run] != '\\')
            run++;
        if (run > i) {
            /* A backslash never occurs inside a multi-byte sequence, so
             * each run between escapes is validated on its own. */
            if (!utf8_valid(s + i, run - i))
                return bad(jp, s + i, "invalid UTF-8 in a string");
            memcpy(dst + o, s + i, run - i);
            o += run - i;
            i = run;
            continue;
        }
        const unsigned char *esc = s + i;
        unsigned char c = s[i + 1]; /* the scan made sure it exists */
        i += 2;
        switch (c) {
        case '"':
        case '\\':
        case '/':
            dst[o++] = c;
            continue;
        case 'b':
            dst[o++] = '\b';
            continue;
        case 'f':
            dst[o++] = '\f';
            continue;
        case 'n':
            dst[o++] = '\n';
            continue;
        case 'r':
            dst[o++] = '\r';
            continue;
        case 't':
            dst[o++] = '\t';
            continue;
        case 'u':
            break;
        default:
            return bad(jp, esc, "invalid escape");
        }
        int32_t u = len - i >= 4 ? hex4(s + i) : -1;
        if (u < 0)
            return bad(jp, esc, "invalid \\u escape");
        i += 4;
        uint32_t cp = (uint32_t)u;
        if (cp >= 0xDC00 && cp <= 0xDFFF)
            return bad(jp, esc, "lone low surrogate");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            int32_t lo = len - i >= 6 && s[i] == '\\' && s[i + 1] == 'u'
                             ? hex4(s + i + 2)
                             : -1;
            if (lo < 0xDC00 || lo > 0xDFFF)
                return bad(jp, esc, "lone high surrogate");
            i += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
        }
        o += utf8_put(cp, dst + o);
    }
    return (int64_t)o;
}

/* A string starting at the opening quote. */
static int parse_string(jparser *jp, mcring_value **out)
{
    const unsigned char *s = jp->p + 1;
    size_t avail = (size_t)(jp->end - s), i = 0;
    bool escaped = false;
    while (i < avail) {
        unsigned char c = s[i];
        if (c == '"')
            break;
        if (c == '\\') {
            escaped = true;
            i += 2;
            continue;
        }
        if (c < 0x20)
            return bad(jp, s + i, "control character in a string");
        i++;
    }
    if (i >= avail)
        return bad(jp, jp->p, "unterminated string");
    mcring_value *v;
    if (!escaped) {
        if (!utf8_valid(s, i))
            return bad(jp, s, "invalid UTF-8 in a string");
        v = value_new_payload(MCRING_VALUE_STRING, s, i);
        if (v == NULL)
            return MCRING_ENOMEM;
    } else {
        v = value_alloc_payload(MCRING_VALUE_STRING, i);
        if (v == NULL)
            return MCRING_ENOMEM;
        int64_t n = unescape(jp, s, i, (unsigned char *)v->payload);
        if (n < 0) {
            mcring_value_free(v);
            return (int)n;
        }
        v->len = (size_t)n;
        v->payload[n] = '\0';
    }
    jp->p = s + i + 1;
    *out = v;
    return 0;
}

static bool literal(jparser *jp, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(jp->end - jp->p) < n || memcmp(jp->p, word, n) != 0)
        return false;
    jp->p += n;
    return true;
}

/* NaN, Infinity or -Infinity, read at `at`. */
static int non_finite(jparser *jp, const unsigned char *at, double d,
                      mcring_value **out)
{
    if (jp->opts & MCRING_JSON_STRICT)
        return bad(jp, at, "NaN and Infinity are not RFC 8259 JSON");
    *out = mcring_value_new_double(d);
    return *out != NULL ? 0 : MCRING_ENOMEM;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?, or -Infinity. Integers
 * become INT or UINT exactly; beyond 64 bits they are refused rather than
 * rounded. Everything else is a double, rounded correctly by strtod. */
static int parse_number(jparser *jp, mcring_value **out)
{
    const unsigned char *s = jp->p, *q = s, *end = jp->end;
    bool neg = false;
    if (*q == '-') {
        neg = true;
        q++;
        if (q < end && *q == 'I') {
            if (!literal(jp, "-Infinity"))
                return bad(jp, s, "invalid literal");
            return non_finite(jp, s, -INFINITY, out);
        }
    }
    if (q == end || !is_digit(*q))
        return bad(jp, s, "invalid number");
    const unsigned char *digits = q;
    if (*q == '0')
        q++;
    else
        while (q < end && is_digit(*q))
            q++;
    const unsigned char *int_end = q;
    bool integer = true;
    if (q < end && *q == '.') {
        q++;
        if (q == end || !is_digit(*q))
            return bad(jp, s, "invalid number: no digits after '.'");
        while (q < end && is_digit(*q))
            q++;
        integer = false;
    }
    if (q < end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < end && (*q == '+' || *q == '-'))
            q++;
        if (q == end || !is_digit(*q))
            return bad(jp, s, "invalid number: no digits in the exponent");
        while (q < end && is_digit(*q))
            q++;
        integer = false;
    }

    if (integer) {
        uint64_t u = 0;
        for (const unsigned char *d = digits; d < int_end; d++) {
            unsigned dv = (unsigned)(*d - '0');
            if (u > (UINT64_MAX - dv) / 10)
                return bad(jp, s, "integer beyond the 64-bit range");
            u = u * 10 + dv;
        }
        if (neg) {
            if (u > (uint64_t)INT64_MAX + 1)
                return bad(jp, s, "integer beyond the 64-bit range");
            *out = mcring_value_new_int(u == (uint64_t)INT64_MAX + 1
                                            ? INT64_MIN
                                            : -(int64_t)u);
        } else {
            *out = mcring_value_new_uint(u);
        }
        jp->p = q;
        return *out != NULL ? 0 : MCRING_ENOMEM;
    }

    locale_t c = get_c_locale();
    if (c == (locale_t)0)
        return MCRING_ENOMEM;
    size_t n = (size_t)(q - s);
    char small[64];
    char *text = n < sizeof(small) ? small : malloc(n + 1);
    if (text == NULL)
        return MCRING_ENOMEM;
    memcpy(text, s, n);
    text[n] = '\0';
    /* Overflow gives +-HUGE_VAL (an infinity) and underflow 0 or a
     * subnormal, which is what Python's float() gives too; strict mode has
     * no infinities, so there overflow is an error. */
    double d = strtod_l(text, NULL, c);
    if (text != small)
        free(text);
    if (isinf(d) && (jp->opts & MCRING_JSON_STRICT))
        return bad(jp, s, "number beyond the double range (strict JSON has "
                          "no Infinity)");
    *out = mcring_value_new_double(d);
    jp->p = q;
    return *out != NULL ? 0 : MCRING_ENOMEM;
}

/* A scalar at jp->p (not '[' or '{'). */
static int parse_scalar(jparser *jp, mcring_value **out)
{
    const unsigned char *at = jp->p;
    switch (*at) {
    case '"':
        return parse_string(jp, out);
    case 't':
        if (!literal(jp, "true"))
            break;
        *out = mcring_value_new_bool(1);
        return *out != NULL ? 0 : MCRING_ENOMEM;
    case 'f':
        if (!literal(jp, "false"))
            break;
        *out = mcring_value_new_bool(0);
        return *out != NULL ? 0 : MCRING_ENOMEM;
    case 'n':
        if (!literal(jp, "null"))
            break;
        *out = mcring_value_new_null();
        return *out != NULL ? 0 : MCRING_ENOMEM;
    case 'N':
        if (!literal(jp, "NaN"))
            break;
        return non_finite(jp, at, NAN, out);
    case 'I':
        if (!literal(jp, "Infinity"))
            break;
        return non_finite(jp, at, INFINITY, out);
    default:
        if (*at == '-' || is_digit(*at))
            return parse_number(jp, out);
        return bad(jp, at, "expected a value");
    }
    return bad(jp, at, "invalid literal");
}

/* A map key and its ':' (after '{' or ','). */
static int parse_key(jparser *jp, mcring_value **key)
{
    skip_ws(jp);
    if (jp->p == jp->end || *jp->p != '"')
        return bad(jp, jp->p, "expected a string key");
    int rc = parse_string(jp, key);
    if (rc != 0)
        return rc;
    skip_ws(jp);
    if (jp->p == jp->end || *jp->p != ':') {
        mcring_value_free(*key);
        *key = NULL;
        return bad(jp, jp->p, "expected ':'");
    }
    jp->p++;
    return 0;
}

/* Puts v into the innermost open container (or makes it the root). On
 * failure the caller still owns v. */
static int attach(jframe *stack, size_t depth, mcring_value **root,
                  mcring_value *v)
{
    if (depth == 0) {
        *root = v;
        return 0;
    }
    jframe *top = &stack[depth - 1];
    if (top->c->kind == MCRING_VALUE_ARRAY)
        return value_array_append(top->c, v);
    int rc = value_map_append(top->c, top->key, v);
    if (rc == 0)
        top->key = NULL;
    return rc;
}

static int json_decode(const void *data, size_t len, unsigned opts,
                       mcring_value **out, char *err, size_t errlen)
{
    jparser jp = {data, data, (const unsigned char *)data + len, opts, err,
                  errlen};
    *out = NULL;
    if (len > MCRING_VALUE_INPUT_MAX)
        return err_set(err, errlen, MCRING_EDECODE,
                       "JSON text of %zu bytes is larger than %zu", len,
                       MCRING_VALUE_INPUT_MAX);
    /* Python's json.loads() skips a UTF-8 BOM on bytes; so do we. */
    if (len >= 3 && memcmp(jp.p, "\xEF\xBB\xBF", 3) == 0)
        jp.p += 3;

    jframe stack[MCRING_VALUE_DEPTH_MAX];
    size_t depth = 0;
    mcring_value *root = NULL;
    int rc = 0;

    for (;;) {
        /* One value: a scalar, or the opening of a container. */
        skip_ws(&jp);
        if (jp.p == jp.end) {
            rc = bad(&jp, jp.p, "unexpected end of input");
            goto fail;
        }
        unsigned char c = *jp.p;
        mcring_value *v = NULL;
        if (c == '[' || c == '{') {
            if (depth == MCRING_VALUE_DEPTH_MAX) {
                rc = bad(&jp, jp.p, "nested deeper than 512 levels");
                goto fail;
            }
            v = c == '[' ? mcring_value_new_array() : mcring_value_new_map();
            if (v == NULL || attach(stack, depth, &root, v) != 0) {
                mcring_value_free(v);
                rc = MCRING_ENOMEM;
                goto fail;
            }
            stack[depth++] = (jframe){v, NULL};
            jp.p++;
            skip_ws(&jp);
            if (jp.p < jp.end && *jp.p == (c == '[' ? ']' : '}')) {
                jp.p++;
                depth--;
            } else {
                if (c == '{' && (rc = parse_key(&jp, &stack[depth - 1].key)) != 0)
                    goto fail;
                continue;
            }
        } else {
            if ((rc = parse_scalar(&jp, &v)) != 0)
                goto fail;
            if (attach(stack, depth, &root, v) != 0) {
                mcring_value_free(v);
                rc = MCRING_ENOMEM;
                goto fail;
            }
        }

        /* After a complete value: a ',' or the end of open containers. */
        for (;;) {
            skip_ws(&jp);
            if (depth == 0) {
                if (jp.p != jp.end) {
                    rc = bad(&jp, jp.p, "extra data after the value");
                    goto fail;
                }
                *out = root;
                return 0;
            }
            jframe *top = &stack[depth - 1];
            bool is_map = top->c->kind == MCRING_VALUE_MAP;
            if (jp.p < jp.end && *jp.p == ',') {
                jp.p++;
                if (is_map && (rc = parse_key(&jp, &top->key)) != 0)
                    goto fail;
                break;
            }
            if (jp.p < jp.end && *jp.p == (is_map ? '}' : ']')) {
                jp.p++;
                depth--;
                continue;
            }
            rc = bad(&jp, jp.p, is_map ? "expected ',' or '}'"
                                       : "expected ',' or ']'");
            goto fail;
        }
    }

fail:
    for (size_t i = 0; i < depth; i++)
        mcring_value_free(stack[i].key);
    mcring_value_free(root);
    return rc;
}

int mcring_json_decode(const void *data, size_t len, unsigned opts,
                       mcring_value **out, char *err, size_t errlen)
{
    if (out != NULL)
        *out = NULL;
    if (out == NULL || (data == NULL && len > 0) ||
        (opts & ~MCRING_JSON_STRICT) != 0)
        return err_set(err, errlen, MCRING_EINVAL, "invalid argument");
    return json_decode(data != NULL ? data : "", len, opts, out, err, errlen);
}

/* ---- the codec -----------------------------------------------------------*/

static int json_codec_encode(void *ud, const mcring_value *v, mcring_item *out)
{
    (void)ud;
    return json_encode(v, 0, out);
}

static int json_codec_decode(void *ud, const void *data, size_t len,
                             mcring_value **out)
{
    (void)ud;
    return json_decode(data, len, 0, out, NULL, 0);
}

static const mcring_codec json_codec = {
    .name = "json",
    .flags = MCRING_FLAG_JSON,
    .encode = json_codec_encode,
    .decode = json_codec_decode,
};

const mcring_codec *mcring_codec_json(void)
{
    return &json_codec;
}
