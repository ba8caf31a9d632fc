/*
 * memcached's meta protocol (mg, ms, md, ma, mn): request encoding and
 * reply-line parsing. Pure — no I/O, no allocation — like proto.h, so it
 * can be unit-tested and fuzzed.
 *
 * A meta reply line is a two-letter code, a length for VA, then flags:
 * one letter each, some with a token after it ("VA 5 f2 t30 c7 O1f kfoo
 * W"). The parser keeps one bit per flag letter it saw (as mcmc does) and
 * the values of the flags mcring asks for; flags it does not know are
 * skipped, as a newer server may add some. Every request mcring sends
 * carries an opaque token (O, a number written in hex) that the server
 * copies into its reply: that is how a reply is matched to its request, as
 * well as by order (reply.h).
 *
 * Keys: a key memcached's text syntax can carry goes as is; any other
 * (spaces, control bytes, binary) goes base64-encoded with the b flag, and
 * memcached decodes it: the item's key is the same bytes either way.
 */
#ifndef MCRING_META_H
#define MCRING_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto.h"

/* Room for any meta request line built here: a base64 key of 250 bytes
 * (336 characters) and every flag with its largest token. */
#define META_HEADER_MAX 640
/* Base64 of the longest key, without the NUL. */
#define META_B64_KEY_MAX 336

typedef enum meta_code {
    META_VA, /* a value follows (value_len bytes and CRLF) */
    META_HD, /* done / found without value / stored / deleted */
    META_EN, /* miss (mg) */
    META_NF, /* not found */
    META_NS, /* not stored */
    META_EX, /* exists: a CAS mismatch */
    META_MN, /* the no-op's reply */
    META_ERROR_LINE, /* ERROR, CLIENT_ERROR or SERVER_ERROR: see .err */
} meta_code;

/* The bit of flag letter ch ('A'..'Z', 'a'..'z') in meta_reply.seen. */
#define META_BIT(ch)                                                           \
    ((ch) >= 'a' ? UINT64_C(1) << ((ch) - 'a' + 26)                           \
                 : UINT64_C(1) << ((ch) - 'A'))

typedef struct meta_reply {
    meta_code code;
    size_t value_len;    /* VA */
    uint64_t seen;       /* META_BIT of every flag present */
    uint32_t client_flags; /* f */
    int64_t ttl;         /* t: seconds left, -1 for none */
    uint64_t cas;        /* c */
    uint64_t size;       /* s */
    uint64_t opaque;     /* O, read as hex */
    const char *key;     /* k: points into the parsed buffer */
    size_t key_len;
    reply err;           /* META_ERROR_LINE: the error line */
} meta_reply;

/* True when the reply carries flag ch. */
static inline bool meta_has(const meta_reply *m, char ch)
{
    return (m->seen & META_BIT(ch)) != 0;
}

/*
 * Parses the meta reply line at the start of buf[0..len): returns the
 * bytes the line takes with its CRLF, 0 when it is not complete yet, or
 * MCRING_EPROTO when it is malformed or longer than PROTO_MAX_LINE, a VA
 * announces more than max_value bytes, a token that must be a number is
 * not one, or the line is a text-protocol reply other than an error line.
 */
ssize_t meta_parse_line(const char *buf, size_t len, size_t max_value,
                        meta_reply *m);

/* The numeric tokens a request may carry; the flags below say which. */
typedef struct meta_cmd {
    const char *cmd;     /* "mg", "ms", "md" or "ma" */
    const char *key;     /* the key's bytes (encoded here when needed) */
    size_t key_len;
    bool has_datalen;    /* ms: its value's length follows the key */
    size_t datalen;
    const char *flags;   /* token-less flags, one letter each ("vfk") */
    uint32_t tokens;     /* META_TOKEN_* present */
    int64_t T, N, R;     /* TTLs (exptimes as memcached reads them) */
    uint32_t F;          /* client flags */
    uint64_t C, E, D, J; /* compare CAS, new CAS, delta, initial value */
    char M;              /* mode letter */
    uint64_t O;          /* opaque */
} meta_cmd;

enum {
    META_TOKEN_T = 1u << 0,
    META_TOKEN_N = 1u << 1,
    META_TOKEN_R = 1u << 2,
    META_TOKEN_F = 1u << 3,
    META_TOKEN_C = 1u << 4,
    META_TOKEN_E = 1u << 5,
    META_TOKEN_D = 1u << 6,
    META_TOKEN_J = 1u << 7,
    META_TOKEN_M = 1u << 8,
    META_TOKEN_O = 1u << 9,
};

/*
 * Writes the request line of m into buf (META_HEADER_MAX bytes), its key
 * base64-encoded with the b flag when the text syntax cannot carry it.
 * The key must be 1..250 bytes. Returns the length written.
 */
size_t meta_encode(char *buf, const meta_cmd *m);

/* True when key goes base64-encoded (meta_encode adds b). */
bool meta_key_needs_b64(const char *key, size_t len);

/* Longest key that must go base64-encoded: memcached takes key tokens of
 * up to 250 characters, encoded or not. */
#define META_B64_KEY_BYTES 186

/* True for a key meta commands can carry: 1..250 bytes the text syntax
 * takes as they are, or 1..186 bytes of anything (base64). */
bool meta_key_valid(const void *key, size_t len);

/* Base64 (RFC 4648, padded) of src into dst (4 * ceil(n / 3) bytes);
 * returns the length. */
size_t meta_b64_encode(char *dst, const void *src, size_t n);

/*
 * True when the key token k of a reply (base64 when it carries the b flag)
 * names exactly key[0..len).
 */
bool meta_key_matches(const meta_reply *m, const char *key, size_t len);

#endif
