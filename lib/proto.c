#include <math.h>
#include <string.h>

#include "mcring.h"
#include "proto.h"

#define THIRTY_DAYS 2592000.0

bool proto_parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (len == 0 || len > 20)
        return false;
    /* Nineteen digits cannot overflow; only a twentieth needs checking. */
    size_t safe = len < 19 ? len : 19;
    for (size_t i = 0; i < safe; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (d > 9)
            return false;
        v = v * 10 + d;
    }
    if (len == 20) {
        unsigned d = (unsigned)(s[19] - '0');
        if (d > 9 || v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

/* True when no byte of p[0..n) is a control character or DEL. Eight bytes
 * at a time: a byte b < 0x20 sets the top bit of (b - 0x20) & ~b, and DEL
 * is the zero byte of b ^ 0x7f. */
static bool printable(const char *p, size_t n)
{
    const uint64_t ones = UINT64_C(0x0101010101010101);
    const uint64_t highs = UINT64_C(0x8080808080808080);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, p + i, 8);
        uint64_t low = (x - ones * 0x20) & ~x & highs;
        uint64_t del = x ^ (ones * 0x7f);
        del = (del - ones) & ~del & highs;
        if (low | del)
            return false;
    }
    for (; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch < ' ' || ch == 0x7f)
            return false;
    }
    return true;
}

/* Digits at *p (1..20 of them) as a number no larger than max, in one
 * pass; advances *p past them. 1: done; 0: the input ended inside them;
 * -1: malformed or out of range. */
static inline __attribute__((always_inline)) int
take_digits(const char **p, const char *end, uint64_t max,
                       uint64_t *out)
{
    const char *s = *p, *e = s;
    uint64_t v = 0;
    for (;; e++) {
        if (e == end)
            return 0;
        unsigned d = (unsigned)(*e - '0');
        if (d > 9)
            break;
        if (e - s >= 19 && (e - s == 20 || v > (UINT64_MAX - d) / 10))
            return -1; /* a twenty-first digit, or 2^64 and above */
        v = v * 10 + d;
    }
    if (e == s || v > max)
        return -1;
    *out = v;
    *p = e;
    return 1;
}

/* "VALUE <key> <flags> <bytes>[ <cas>]\r\n", single spaces as memcached
 * sends, parsed in one pass as the bytes come (no search for the line end
 * first: a VALUE line is most of what a multi-get reads). */
static ssize_t parse_value(const char *buf, size_t len, size_t max_value,
                           reply *r)
{
    size_t lim = len < PROTO_MAX_LINE ? len : PROTO_MAX_LINE;
    const ssize_t more = len >= PROTO_MAX_LINE ? MCRING_EPROTO : 0;
    const char *p = buf + 6, *end = buf + lim;
    size_t room = (size_t)(end - p);
    const char *sp = memchr(p, ' ', room < MCRING_KEY_MAX + 1 ? room
                                                             : MCRING_KEY_MAX + 1);
    if (sp == NULL)
        return room > MCRING_KEY_MAX || memchr(p, '\n', room) != NULL
                   ? MCRING_EPROTO
                   : more;
    /* The key's bytes are not checked here: a reader takes a VALUE only for
     * a key it asked for, and the keys it asks for are valid. */
    const char *key = p;
    size_t key_len = (size_t)(sp - p);
    if (key_len == 0)
        return MCRING_EPROTO;
    p = sp + 1;
    uint64_t flags, bytes, cas = 0;
    int t = take_digits(&p, end, UINT32_MAX, &flags);
    if (t <= 0)
        return t == 0 ? more : MCRING_EPROTO;
    if (*p++ != ' ')
        return MCRING_EPROTO;
    t = take_digits(&p, end, max_value, &bytes);
    if (t <= 0)
        return t == 0 ? more : MCRING_EPROTO;
    if (*p == ' ') {
        p++;
        t = take_digits(&p, end, UINT64_MAX, &cas);
        if (t <= 0)
            return t == 0 ? more : MCRING_EPROTO;
    }
    if (*p != '\r')
        return MCRING_EPROTO;
    if (++p == end)
        return more;
    if (*p != '\n')
        return MCRING_EPROTO;
    r->kind = REPLY_VALUE;
    r->key = key;
    r->key_len = key_len;
    r->flags = (uint32_t)flags;
    r->value_len = (size_t)bytes;
    r->number = cas;
    r->msg = NULL;
    r->msg_len = 0;
    return p + 1 - buf;
}

/* An error line's text after its keyword: nothing, or a space and
 * printable text. */
static ssize_t parse_error(const char *line, size_t n, size_t kw,
                           reply_kind kind, size_t total, reply *r)
{
    if (n > kw && line[kw] != ' ')
        return MCRING_EPROTO;
    const char *m = line + (n > kw ? kw + 1 : kw);
    size_t ml = (size_t)(line + n - m);
    if (!printable(m, ml))
        return MCRING_EPROTO;
    r->kind = kind;
    r->msg = m;
    r->msg_len = ml;
    return (ssize_t)total;
}

static bool is(const char *line, size_t n, const char *word, size_t wl)
{
    return n == wl && memcmp(line, word, wl) == 0;
}

ssize_t proto_parse_line(const char *buf, size_t len, size_t max_value,
                         reply *r)
{
    if (len >= 6 && memcmp(buf, "VALUE ", 6) == 0)
        return parse_value(buf, len, max_value, r);
    size_t scan = len < PROTO_MAX_LINE ? len : PROTO_MAX_LINE;
    const char *nl = memchr(buf, '\n', scan);
    if (nl == NULL)
        return len >= PROTO_MAX_LINE ? MCRING_EPROTO : 0;
    size_t n = (size_t)(nl - buf);
    if (n == 0 || buf[n - 1] != '\r')
        return MCRING_EPROTO;
    n--; /* the line without its CRLF */
    size_t total = n + 2;
    r->msg = NULL;
    r->msg_len = 0;
    r->number = 0;

    /* Dispatch on the first byte; every branch checks the whole line. */
    switch (buf[0]) {
    case 'T':
        if (is(buf, n, "TOUCHED", 7)) {
            r->kind = REPLY_TOUCHED;
            return (ssize_t)total;
        }
        break;
    case 'O':
        if (is(buf, n, "OK", 2)) {
            r->kind = REPLY_OK;
            return (ssize_t)total;
        }
        break;
    case 'V':
        if (n > 8 && memcmp(buf, "VERSION ", 8) == 0 &&
            printable(buf + 8, n - 8)) {
            r->kind = REPLY_VERSION;
            r->msg = buf + 8;
            r->msg_len = n - 8;
            return (ssize_t)total;
        }
        break;
    case 'E':
        if (is(buf, n, "END", 3)) {
            r->kind = REPLY_END;
            return (ssize_t)total;
        }
        if (is(buf, n, "EXISTS", 6)) {
            r->kind = REPLY_EXISTS;
            return (ssize_t)total;
        }
        if (n >= 5 && memcmp(buf, "ERROR", 5) == 0)
            return parse_error(buf, n, 5, REPLY_ERROR, total, r);
        break;
    case 'S':
        if (is(buf, n, "STORED", 6)) {
            r->kind = REPLY_STORED;
            return (ssize_t)total;
        }
        if (n >= 12 && memcmp(buf, "SERVER_ERROR", 12) == 0)
            return parse_error(buf, n, 12, REPLY_SERVER_ERROR, total, r);
        if (n > 5 && memcmp(buf, "STAT ", 5) == 0 && printable(buf, n)) {
            /* STAT <name> <value>; the value may hold spaces. */
            const char *sp = memchr(buf + 5, ' ', n - 5);
            if (sp == NULL || sp == buf + 5)
                break;
            r->kind = REPLY_STAT;
            r->key = buf + 5;
            r->key_len = (size_t)(sp - (buf + 5));
            r->msg = sp + 1;
            r->msg_len = (size_t)(buf + n - (sp + 1));
            return (ssize_t)total;
        }
        break;
    case 'N':
        if (is(buf, n, "NOT_FOUND", 9)) {
            r->kind = REPLY_NOT_FOUND;
            return (ssize_t)total;
        }
        if (is(buf, n, "NOT_STORED", 10)) {
            r->kind = REPLY_NOT_STORED;
            return (ssize_t)total;
        }
        break;
    case 'D':
        if (is(buf, n, "DELETED", 7)) {
            r->kind = REPLY_DELETED;
            return (ssize_t)total;
        }
        break;
    case 'M':
        if (is(buf, n, "MN", 2)) {
            r->kind = REPLY_MN;
            return (ssize_t)total;
        }
        break;
    case 'C':
        if (n >= 12 && memcmp(buf, "CLIENT_ERROR", 12) == 0)
            return parse_error(buf, n, 12, REPLY_CLIENT_ERROR, total, r);
        break;
    default:
        /* incr/decr: the number alone. memcached pads a shrinking counter
         * with spaces only in the stored value, never in the reply. */
        if (proto_parse_u64(buf, n, UINT64_MAX, &r->number)) {
            r->kind = REPLY_NUMBER;
            return (ssize_t)total;
        }
    }
    return MCRING_EPROTO;
}

static bool msg_starts(const reply *r, const char *text)
{
    size_t tl = strlen(text);
    return r->msg_len >= tl && memcmp(r->msg, text, tl) == 0;
}

bool proto_is_too_large(const reply *r)
{
    return r->kind == REPLY_SERVER_ERROR &&
           msg_starts(r, "object too large for cache");
}

bool proto_is_non_numeric(const reply *r)
{
    return r->kind == REPLY_CLIENT_ERROR &&
           msg_starts(r, "cannot increment or decrement non-numeric value");
}

size_t proto_u64(char *buf, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    return n;
}

static size_t put_i64(char *buf, int64_t v)
{
    if (v < 0) {
        buf[0] = '-';
        return 1 + proto_u64(buf + 1, (uint64_t)0 - (uint64_t)v);
    }
    return proto_u64(buf, (uint64_t)v);
}

size_t proto_storage_header(char *buf, const char *cmd, const char *key,
                            size_t key_len, uint32_t flags, int64_t exptime,
                            size_t value_len)
{
    size_t n = strlen(cmd);
    memcpy(buf, cmd, n);
    buf[n++] = ' ';
    memcpy(buf + n, key, key_len);
    n += key_len;
    buf[n++] = ' ';
    n += proto_u64(buf + n, flags);
    buf[n++] = ' ';
    n += put_i64(buf + n, exptime);
    buf[n++] = ' ';
    n += proto_u64(buf + n, value_len);
    buf[n++] = '\r';
    buf[n++] = '\n';
    return n;
}

size_t proto_arith(char *buf, bool incr, const char *key, size_t key_len,
                   uint64_t delta)
{
    size_t n = 5;
    memcpy(buf, incr ? "incr " : "decr ", 5);
    memcpy(buf + n, key, key_len);
    n += key_len;
    buf[n++] = ' ';
    n += proto_u64(buf + n, delta);
    buf[n++] = '\r';
    buf[n++] = '\n';
    return n;
}

size_t proto_delete(char *buf, const char *key, size_t key_len)
{
    memcpy(buf, "delete ", 7);
    memcpy(buf + 7, key, key_len);
    memcpy(buf + 7 + key_len, "\r\n", 2);
    return 9 + key_len;
}

size_t proto_get(char *buf, const char *key, size_t key_len)
{
    memcpy(buf, "get ", 4);
    memcpy(buf + 4, key, key_len);
    memcpy(buf + 4 + key_len, "\r\n", 2);
    return 6 + key_len;
}

size_t proto_retrieve(char *buf, const char *cmd, const char *key,
                      size_t key_len)
{
    size_t n = strlen(cmd);
    memcpy(buf, cmd, n);
    buf[n++] = ' ';
    memcpy(buf + n, key, key_len);
    n += key_len;
    buf[n++] = '\r';
    buf[n++] = '\n';
    return n;
}

size_t proto_gat(char *buf, const char *cmd, int64_t exptime, const char *key,
                 size_t key_len)
{
    size_t n = strlen(cmd);
    memcpy(buf, cmd, n);
    buf[n++] = ' ';
    n += put_i64(buf + n, exptime);
    buf[n++] = ' ';
    memcpy(buf + n, key, key_len);
    n += key_len;
    buf[n++] = '\r';
    buf[n++] = '\n';
    return n;
}

size_t proto_cas_header(char *buf, const char *key, size_t key_len,
                        uint32_t flags, int64_t exptime, size_t value_len,
                        uint64_t cas)
{
    /* The set header with the token before its CRLF. */
    size_t n = proto_storage_header(buf, "cas", key, key_len, flags, exptime,
                                    value_len) -
               2;
    buf[n++] = ' ';
    n += proto_u64(buf + n, cas);
    buf[n++] = '\r';
    buf[n++] = '\n';
    return n;
}

size_t proto_touch(char *buf, const char *key, size_t key_len,
                   int64_t exptime)
{
    memcpy(buf, "touch ", 6);
    size_t n = 6;
    memcpy(buf + n, key, key_len);
    n += key_len;
    buf[n++] = ' ';
    n += put_i64(buf + n, exptime);
    buf[n++] = '\r';
    buf[n++] = '\n';
    return n;
}

size_t proto_flush_all(char *buf, int64_t delay)
{
    memcpy(buf, "flush_all", 9);
    size_t n = 9;
    if (delay > 0) {
        buf[n++] = ' ';
        n += put_i64(buf + n, delay);
    }
    buf[n++] = '\r';
    buf[n++] = '\n';
    return n;
}

int proto_exptime(double ttl, double now, int64_t *out)
{
    if (!isfinite(ttl))
        return MCRING_EINVAL;
    if (ttl > THIRTY_DAYS)
        ttl += now;
    /* Python's int() truncates toward zero; so does the conversion. */
    if (ttl >= 9223372036854775807.0 || ttl <= -9223372036854775808.0)
        return MCRING_EINVAL;
    *out = (int64_t)ttl;
    return 0;
}

bool proto_key_valid(const void *key, size_t len)
{
    const unsigned char *k = key;
    if (len == 0 || len > MCRING_KEY_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (k[i] <= ' ' || k[i] == 0x7f)
            return false;
    return true;
}
