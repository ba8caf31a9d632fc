/*
 * The request path shared by every operation, top to bottom:
 *
 *   prepare the key (hash, validate) → enter the RCU read side and take
 *   the current state → ask the ring for the try order → for each server
 *   not error-limited: claim a place on one of its connections (connecting
 *   it if needed), put the request on it, wait for its reply (reading and
 *   writing for other threads meanwhile, mux.h) → on a failure of the
 *   server, log and count it, and try the next server.
 *
 * Single-key operations live in ops.c, multi-key ones in multi.c, both on
 * top of this file.
 */
#ifndef MCRING_REQUEST_H
#define MCRING_REQUEST_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "hash.h"
#include "metrics.h"
#include "mux.h"
#include "reply.h"
#include "ring.h"
#include "state.h"

/* A key prepared for the wire and for placement. */
typedef struct key_op {
    keyhash kh;
    const char *wire; /* the key as sent: hex MD5 or the raw key */
    size_t wire_len;
    char hex[MD5_HEX_LEN];
} key_op;

/* Checks and hashes a caller's key per the key mode. 0 or MCRING_EKEY /
 * MCRING_EINVAL. */
int key_prepare(const settings *s, const void *key, size_t len, key_op *k);
/* The same with the key's MD5 already computed (md5 NULL: compute it). */
int key_prepare_digest(const settings *s, const void *key, size_t len,
                       const unsigned char md5[MD5_LEN], key_op *k);

/* Swift's log lines through the options' log callback. */
void client_log(const state *st, mcring_log_level level, const server *sv,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Where a failure happened, which is what Swift's log line says. */
typedef enum phase {
    PHASE_POOL,    /* "getting a connection" */
    PHASE_CONNECT, /* "connecting" */
    PHASE_TALK,    /* "talking" */
    PHASE_SET,     /* a set answered something other than STORED */
} phase;

/* Logs a failure of sv as Swift does and counts it for error limiting
 * (logging a ban it starts). Returns rc. */
int server_failed(const state *st, server *sv, int rc, phase ph,
                  int sys_errno, const char *why, const char *detail);

/* True when rc ends a call: an answer (>= 0) or a failure that is the
 * caller's or the value's, not the server's (no failover). */
static inline bool rc_is_final(int rc)
{
    return rc >= 0 || rc == MCRING_ENOTNUM || rc == MCRING_ETOOLARGE ||
           rc == MCRING_ERACE || rc == MCRING_ENOMEM || rc == MCRING_EINVAL ||
           rc == MCRING_ENOTSUP;
}

/*
 * Claims a place on one of sv's connections, connecting it first if it was
 * closed, within the pool timeout. Returns the slot, or NULL after logging
 * and counting the failure into *rc.
 */
mux_slot *server_claim(const state *st, server *sv, int *rc);

/* Puts r (iov and reader filled) on the claimed slot. */
static inline void server_submit(const state *st, mux_slot *s, mux_req *r,
                                 waiter *w)
{
    mux_submit(s, r, w, st->set.io_timeout_ns);
}

/*
 * After r is done: 0 when its reply was read (the outcome is in its
 * reader), else the connection's failure, logged and counted here when r
 * carries the count (once per connection).
 */
int server_settle(const state *st, server *sv, mux_req *r);

/*
 * One request on one server, start to finish: claim, submit, wait, settle.
 * Returns 0 when the reply was read (its outcome is in rd) or the failure
 * (already logged and counted). Sets *connected when a connection was had
 * (Swift's "yielded"), whatever happened on it.
 */
int server_roundtrip(const state *st, server *sv, struct iovec *iov,
                     int iovcnt, reply_reader *rd, bool *connected);

/* An attempt of an operation on one server: returns the outcome, having
 * logged and counted whatever failure of the server it met, and sets
 * *connected as server_roundtrip does. */
typedef int (*attempt_fn)(const state *st, server *sv, void *ctx,
                          bool *connected);

/*
 * Runs attempt on the servers the ring gives for `where`, in order, until
 * one gives a final answer (rc_is_final). An error-limited server uses up
 * its try, as in Swift; when no server gave a connection, Swift's "All
 * memcached servers error-limited" is logged. Each attempt is recorded as
 * one of op on a key of key_len bytes (metrics.h). Call inside the RCU
 * read side.
 */
int with_failover(const state *st, mcring_op op, size_t key_len,
                  const keyhash *where, attempt_fn attempt, void *ctx);

/* Swift's TTL rules (proto_exptime), with a warning in the log when the
 * result lies past what memcached can hold (Swift sends it the same way;
 * docs/swift-compat.md). 0 or MCRING_EINVAL. */
int request_exptime(const state *st, double ttl, int64_t *exptime);

/* Item size warning, as Swift logs it after a set. */
void warn_item_size(const state *st, size_t len);

#endif
