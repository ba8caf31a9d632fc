#include <math.h>
#include <string.h>

#include "mcring.h"
#include "proto.h"

#define THIRTY_DAYS 2592000.0

static const char *find_crlf(const char *buf, size_t len, size_t *line_len,
                             int *bad)
{
    const char *nl = memchr(buf, '\n', len);
    *bad = 0;
    if (nl == NULL) {
        if (len >= PROTO_MAX_LINE)
            *bad = 1;
        return NULL;
    }
    size_t n = (size_t)(nl - buf);
    if (n == 0 || buf[n - 1] != '\r' || n + 1 > PROTO_MAX_LINE) {
        *bad = 1;
        return NULL;
    }
    *line_len = n - 1; /* without CRLF */
    return nl;
}

/* Unsigned decimal, no sign, no spaces, at least one digit, <= max. */
static bool parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (len == 0 || len > 20)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (d > 9)
            return false;
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

static bool is_word(const char *s, size_t len, const char *w)
{
    size_t wl = strlen(w);
    return len == wl && memcmp(s, w, wl) == 0;
}

/* "VALUE <key> <flags> <bytes>[ <cas>]", single spaces as memcached sends. */
static ssize_t parse_value(const char *line, size_t n, size_t total,
                           size_t max_value, reply *r)
{
    const char *p = line + 6, *end = line + n;
    const char *fields[4];
    size_t lens[4];
    int nf = 0;
    while (p < end && nf < 4) {
        const char *sp = memchr(p, ' ', (size_t)(end - p));
        const char *fe = sp ? sp : end;
        if (fe == p)
            return MCRING_EPROTO; /* empty field: double space */
        fields[nf] = p;
        lens[nf] = (size_t)(fe - p);
        nf++;
        p = sp ? sp + 1 : end;
        if (sp != NULL && p == end)
            return MCRING_EPROTO; /* trailing space */
    }
    if (p != end || nf < 3)
        return MCRING_EPROTO;
    if (lens[0] > MCRING_KEY_MAX)
        return MCRING_EPROTO;
    for (size_t i = 0; i < lens[0]; i++) {
        unsigned char ch = (unsigned char)fields[0][i];
        if (ch <= ' ' || ch == 0x7f)
            return MCRING_EPROTO;
    }
    uint64_t flags, bytes, cas = 0;
    if (!parse_u64(fields[1], lens[1], UINT32_MAX, &flags) ||
        !parse_u64(fields[2], lens[2], max_value, &bytes))
        return MCRING_EPROTO;
    if (nf == 4 && !parse_u64(fields[3], lens[3], UINT64_MAX, &cas))
        return MCRING_EPROTO;
    r->kind = REPLY_VALUE;
    r->key = fields[0];
    r->key_len = lens[0];
    r->flags = (uint32_t)flags;
    r->value_len = (size_t)bytes;
    r->number = cas;
    return (ssize_t)total;
}

ssize_t proto_parse_line(const char *buf, size_t len, size_t max_value,
                         reply *r)
{
    size_t n;
    int bad;
    memset(r, 0, sizeof(*r));
    if (find_crlf(buf, len, &n, &bad) == NULL)
        return bad ? MCRING_EPROTO : 0;
    size_t total = n + 2;

    /* No control characters inside a line (its CRLF excluded). VALUE keys
     * may hold high bytes; error texts are free-form but printable. */
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)buf[i];
        if (ch < ' ' || ch == 0x7f)
            return MCRING_EPROTO;
    }

    if (n > 6 && memcmp(buf, "VALUE ", 6) == 0)
        return parse_value(buf, n, total, max_value, r);

    static const struct {
        const char *word;
        reply_kind kind;
    } words[] = {
        {"END", REPLY_END},         {"STORED", REPLY_STORED},
        {"NOT_STORED", REPLY_NOT_STORED}, {"EXISTS", REPLY_EXISTS},
        {"NOT_FOUND", REPLY_NOT_FOUND},   {"DELETED", REPLY_DELETED},
        {"ERROR", REPLY_ERROR},
    };
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (is_word(buf, n, words[i].word)) {
            r->kind = words[i].kind;
            r->msg = buf + n;
            return (ssize_t)total;
        }
    }
    static const struct {
        const char *prefix;
        reply_kind kind;
    } errors[] = {
        {"ERROR ", REPLY_ERROR},
        {"CLIENT_ERROR", REPLY_CLIENT_ERROR},
        {"SERVER_ERROR", REPLY_SERVER_ERROR},
    };
    for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
        size_t pl = strlen(errors[i].prefix);
        if (n >= pl && memcmp(buf, errors[i].prefix, pl) == 0 &&
            (n == pl || buf[pl] == ' ' || errors[i].prefix[pl - 1] == ' ')) {
            const char *m = buf + pl;
            size_t ml = n - pl;
            if (ml > 0 && m[0] == ' ') {
                m++;
                ml--;
            }
            r->kind = errors[i].kind;
            r->msg = m;
            r->msg_len = ml;
            return (ssize_t)total;
        }
    }
    if (parse_u64(buf, n, UINT64_MAX, &r->number)) {
        r->kind = REPLY_NUMBER;
        return (ssize_t)total;
    }
    /* memcached pads an incr/decr result that got shorter with spaces only
     * in the stored value, never in the reply; anything else is garbage. */
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
