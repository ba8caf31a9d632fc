/*
 * memcached's ASCII protocol: request encoding and reply parsing. Pure — no
 * I/O, no allocation — so it can be unit-tested and fuzzed. The parser is fed
 * whatever bytes have arrived; "need more" is a normal answer. Nothing read
 * from the network is trusted: every number is range-checked, lines are
 * bounded, and a VALUE header announcing more than the configured maximum is
 * rejected before any of its data is read.
 */
#ifndef MCRING_PROTO_H
#define MCRING_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mcring.h"

/* Longest reply line accepted (a VALUE header is at most ~310 bytes). */
#define PROTO_MAX_LINE 1024
/* Room for any storage/arith/delete/get request line built here. */
#define PROTO_HEADER_MAX 320

typedef enum reply_kind {
    REPLY_VALUE,
    REPLY_END,
    REPLY_STORED,
    REPLY_NOT_STORED,
    REPLY_EXISTS,
    REPLY_NOT_FOUND,
    REPLY_DELETED,
    REPLY_NUMBER,
    REPLY_ERROR,
    REPLY_CLIENT_ERROR,
    REPLY_SERVER_ERROR,
    REPLY_MN, /* the meta no-op's reply: a pipeline fence */
    REPLY_TOUCHED,
    REPLY_OK,      /* flush_all */
    REPLY_VERSION, /* msg: the version text */
    REPLY_STAT,    /* key: the statistic's name, msg: its value */
} reply_kind;

typedef struct reply {
    reply_kind kind;
    const char *key; /* VALUE, STAT: points into the parsed buffer */
    size_t key_len;
    uint32_t flags;   /* VALUE */
    size_t value_len; /* VALUE: data bytes that follow (plus CRLF) */
    uint64_t number;  /* NUMBER; VALUE's cas when present */
    const char *msg;  /* ERROR/CLIENT_ERROR/SERVER_ERROR text, may be empty;
                       * VERSION's text; STAT's value */
    size_t msg_len;
} reply;

/*
 * Parses the reply line at the start of buf[0..len). Returns the number of
 * bytes the line takes including its CRLF, 0 if the line is not complete
 * yet, or MCRING_EPROTO when it is malformed, longer than PROTO_MAX_LINE, or
 * a VALUE announcing more than max_value bytes. A VALUE's key is returned
 * as the bytes between its spaces (1..250 of them): the caller must match
 * it against the keys it asked for, which is what makes it trustworthy.
 */
ssize_t proto_parse_line(const char *buf, size_t len, size_t max_value,
                         reply *r);

/* True when a SERVER_ERROR reply says the item was too large. */
bool proto_is_too_large(const reply *r);
/* True when a CLIENT_ERROR says incr/decr met a non-numeric value. */
bool proto_is_non_numeric(const reply *r);

/* Request lines. Each writes into buf (at least PROTO_HEADER_MAX bytes for
 * one key) and returns the length written; keys are at most 250 bytes. */
size_t proto_storage_header(char *buf, const char *cmd, const char *key,
                            size_t key_len, uint32_t flags, int64_t exptime,
                            size_t value_len);
size_t proto_arith(char *buf, bool incr, const char *key, size_t key_len,
                   uint64_t delta);
size_t proto_delete(char *buf, const char *key, size_t key_len);
size_t proto_get(char *buf, const char *key, size_t key_len);
/* "<cmd> <key>": cmd is get or gets. */
size_t proto_retrieve(char *buf, const char *cmd, const char *key,
                      size_t key_len);
/* "<cmd> <exptime> <key>": cmd is gat or gats. */
size_t proto_gat(char *buf, const char *cmd, int64_t exptime, const char *key,
                 size_t key_len);
size_t proto_cas_header(char *buf, const char *key, size_t key_len,
                        uint32_t flags, int64_t exptime, size_t value_len,
                        uint64_t cas);
size_t proto_touch(char *buf, const char *key, size_t key_len,
                   int64_t exptime);
/* "flush_all" with a delay when delay > 0. */
size_t proto_flush_all(char *buf, int64_t delay);

/* Decimal text of v into buf (>= 20 bytes); returns the length. */
size_t proto_u64(char *buf, uint64_t v);

/* An unsigned decimal s[0..len): no sign, no spaces, 1 to 20 digits, at
 * most max (overflow checked). True and *out on success. */
bool proto_parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out);

/*
 * Swift's sanitize_timeout: a TTL over 30 days becomes now + ttl, then the
 * result is truncated toward zero. now is Unix time in seconds. Returns 0,
 * or MCRING_EINVAL for a TTL that is not finite or does not fit in 64 bits.
 */
int proto_exptime(double ttl, double now, int64_t *out);

/* True for a key memcached accepts as is: 1..250 bytes, none of them a
 * space or a control character (so no key can inject a command). */
bool proto_key_valid(const void *key, size_t len);

#endif
