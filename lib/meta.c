#include <string.h>

#include "mcring.h"
#include "meta.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t meta_b64_encode(char *dst, const void *src, size_t n)
{
    const unsigned char *s = src;
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        dst[o++] = b64_alphabet[v >> 18];
        dst[o++] = b64_alphabet[(v >> 12) & 63];
        dst[o++] = b64_alphabet[(v >> 6) & 63];
        dst[o++] = b64_alphabet[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)s[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)s[i + 1] << 8;
        dst[o++] = b64_alphabet[v >> 18];
        dst[o++] = b64_alphabet[(v >> 12) & 63];
        dst[o++] = i + 1 < n ? b64_alphabet[(v >> 6) & 63] : '=';
        dst[o++] = '=';
    }
    return o;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Decodes padded base64 into dst (room for cap bytes). Returns the length,
 * or -1 when src is not base64 or does not fit. */
static ssize_t b64_decode(char *dst, size_t cap, const char *src, size_t n)
{
    if (n % 4 != 0)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        int pad = 0;
        for (int j = 0; j < 4; j++) {
            if (src[i + j] == '=' && i + 4 == n && j >= 2) {
                v[j] = 0;
                pad++;
                continue;
            }
            if (pad > 0 || (v[j] = b64_value(src[i + j])) < 0)
                return -1;
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
                     (uint32_t)v[2] << 6 | (uint32_t)v[3];
        size_t take = 3 - (size_t)pad;
        if (o + take > cap)
            return -1;
        for (size_t j = 0; j < take; j++)
            dst[o++] = (char)(w >> (16 - 8 * j));
    }
    return (ssize_t)o;
}

bool meta_key_needs_b64(const char *key, size_t len)
{
    return !proto_key_valid(key, len);
}

bool meta_key_valid(const void *key, size_t len)
{
    return len > 0 &&
           (proto_key_valid(key, len) || len <= META_B64_KEY_BYTES);
}

bool meta_key_matches(const meta_reply *m, const char *key, size_t len)
{
    if (!meta_has(m, 'k'))
        return false;
    if (!meta_has(m, 'b'))
        return m->key_len == len && memcmp(m->key, key, len) == 0;
    char raw[MCRING_KEY_MAX + 3];
    ssize_t n = b64_decode(raw, sizeof(raw), m->key, m->key_len);
    return n >= 0 && (size_t)n == len && memcmp(raw, key, len) == 0;
}

/* ---- parsing ------------------------------------------------------------ */

static bool hex_u64(const char *s, size_t n, uint64_t *out)
{
    if (n == 0 || n > 16)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else
            return false;
        v = v << 4 | d;
    }
    *out = v;
    return true;
}

/* The flags after a reply's code (and length), s[0..n). */
static bool parse_flags(const char *s, size_t n, meta_reply *m)
{
    size_t i = 0;
    while (i < n) {
        if (s[i] == ' ') {
            i++;
            continue;
        }
        char f = s[i];
        if (!((f >= 'a' && f <= 'z') || (f >= 'A' && f <= 'Z')))
            return false;
        size_t t = ++i;
        while (i < n && s[i] != ' ')
            i++;
        const char *tok = s + t;
        size_t tl = i - t;
        uint64_t v;
        m->seen |= META_BIT(f);
        switch (f) {
        case 'f':
            if (!proto_parse_u64(tok, tl, UINT32_MAX, &v))
                return false;
            m->client_flags = (uint32_t)v;
            break;
        case 't':
            if (tl == 2 && tok[0] == '-' && tok[1] == '1')
                m->ttl = -1;
            else if (proto_parse_u64(tok, tl, INT64_MAX, &v))
                m->ttl = (int64_t)v;
            else
                return false;
            break;
        case 'c':
            if (!proto_parse_u64(tok, tl, UINT64_MAX, &m->cas))
                return false;
            break;
        case 's':
            if (!proto_parse_u64(tok, tl, UINT64_MAX, &m->size))
                return false;
            break;
        case 'O':
            if (!hex_u64(tok, tl, &m->opaque))
                return false;
            break;
        case 'k':
            if (tl == 0 || tl > META_B64_KEY_MAX)
                return false;
            m->key = tok;
            m->key_len = tl;
            break;
        default:
            break; /* a flag mcring does not ask for: skipped */
        }
    }
    return true;
}

static bool starts(const char *s, size_t n, const char *word)
{
    size_t wl = strlen(word);
    return n >= wl && memcmp(s, word, wl) == 0;
}

ssize_t meta_parse_line(const char *buf, size_t len, size_t max_value,
                        meta_reply *m)
{
    size_t scan = len < PROTO_MAX_LINE ? len : PROTO_MAX_LINE;
    const char *nl = memchr(buf, '\n', scan);
    if (nl == NULL)
        return len >= PROTO_MAX_LINE ? MCRING_EPROTO : 0;
    size_t n = (size_t)(nl - buf);
    if (n == 0 || buf[n - 1] != '\r')
        return MCRING_EPROTO;
    n--;
    size_t total = n + 2;
    memset(m, 0, sizeof(*m));
    m->ttl = -1;

    if (starts(buf, n, "ERROR") || starts(buf, n, "CLIENT_ERROR") ||
        starts(buf, n, "SERVER_ERROR")) {
        ssize_t r = proto_parse_line(buf, len, 0, &m->err);
        if (r <= 0)
            return r < 0 ? r : MCRING_EPROTO;
        m->code = META_ERROR_LINE;
        return r;
    }
    if (n < 2 || (n > 2 && buf[2] != ' '))
        return MCRING_EPROTO;
    static const struct {
        char code[3];
        meta_code c;
    } codes[] = {{"VA", META_VA}, {"HD", META_HD}, {"EN", META_EN},
                 {"NF", META_NF}, {"NS", META_NS}, {"EX", META_EX},
                 {"MN", META_MN}};
    size_t i;
    for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (buf[0] == codes[i].code[0] && buf[1] == codes[i].code[1])
            break;
    if (i == sizeof(codes) / sizeof(codes[0]))
        return MCRING_EPROTO;
    m->code = codes[i].c;
    size_t pos = 2;
    if (m->code == META_VA) {
        size_t start = ++pos;
        while (pos < n && buf[pos] != ' ')
            pos++;
        uint64_t v;
        if (start > n ||
            !proto_parse_u64(buf + start, pos - start, max_value, &v))
            return MCRING_EPROTO;
        m->value_len = (size_t)v;
    } else if (m->code == META_MN && n != 2) {
        return MCRING_EPROTO;
    }
    if (!parse_flags(buf + pos, n - pos, m))
        return MCRING_EPROTO;
    return (ssize_t)total;
}

/* ---- encoding ----------------------------------------------------------- */

static size_t put_i64(char *buf, int64_t v)
{
    if (v < 0) {
        buf[0] = '-';
        return 1 + proto_u64(buf + 1, (uint64_t)0 - (uint64_t)v);
    }
    return proto_u64(buf, (uint64_t)v);
}

static size_t put_hex(char *buf, uint64_t v)
{
    static const char digits[] = "0123456789abcdef";
    char tmp[16];
    size_t n = 0;
    do {
        tmp[n++] = digits[v & 15];
        v >>= 4;
    } while (v != 0);
    for (size_t i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    return n;
}

size_t meta_encode(char *buf, const meta_cmd *m)
{
    size_t n = 0;
    buf[n++] = m->cmd[0];
    buf[n++] = m->cmd[1];
    buf[n++] = ' ';
    bool b64 = meta_key_needs_b64(m->key, m->key_len);
    if (b64) {
        n += meta_b64_encode(buf + n, m->key, m->key_len);
    } else {
        memcpy(buf + n, m->key, m->key_len);
        n += m->key_len;
    }
    if (m->has_datalen) {
        buf[n++] = ' ';
        n += proto_u64(buf + n, m->datalen);
    }
    if (b64) {
        buf[n++] = ' ';
        buf[n++] = 'b';
    }
    for (const char *f = m->flags; f != NULL && *f != '\0'; f++) {
        buf[n++] = ' ';
        buf[n++] = *f;
    }
#define TOKEN(bit, letter, put)                                                \
    if (m->tokens & (bit)) {                                                   \
        buf[n++] = ' ';                                                        \
        buf[n++] = (letter);                                                   \
        n += put;                                                              \
    }
    TOKEN(META_TOKEN_T, 'T', put_i64(buf + n, m->T))
    TOKEN(META_TOKEN_N, 'N', put_i64(buf + n, m->N))
    TOKEN(META_TOKEN_R, 'R', put_i64(buf + n, m->R))
    TOKEN(META_TOKEN_F, 'F', proto_u64(buf + n, m->F))
    TOKEN(META_TOKEN_C, 'C', proto_u64(buf + n, m->C))
    TOKEN(META_TOKEN_E, 'E', proto_u64(buf + n, m->E))
    TOKEN(META_TOKEN_D, 'D', proto_u64(buf + n, m->D))
    TOKEN(META_TOKEN_J, 'J', proto_u64(buf + n, m->J))
    TOKEN(META_TOKEN_M, 'M', (buf[n] = m->M, 1))
    TOKEN(META_TOKEN_O, 'O', put_hex(buf + n, m->O))
#undef TOKEN
    buf[n++] = '\r';
    buf[n++] = '\n';
    return n;
}
