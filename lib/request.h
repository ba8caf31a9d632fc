/*
 * The request path shared by every operation, top to bottom:
 *
 *   prepare the key (hash, validate) → enter the RCU read side and take
 *   the current state → ask the ring for the try order → for each server
 *   not error-limited (swift) or down (probe, health.h): claim a place on
 *   one of its connections (connecting it if needed and allowed), put the
 *   request on it, wait for its reply (reading and writing for other
 *   threads meanwhile, mux.h) → on a failure of the server, log and count
 *   it (which may ban it, or mark it down), and try the next server.
 *
 * With a gutter (gutter_servers), the try order is the ring's first server
 * and then the gutter ring's order for the key, instead of the ring's
 * next servers: a down or failing server's keys go to the gutter, stored
 * there with their TTL capped at gutter_ttl (the operations pass a second
 * context for the gutter: with_failover_gutter), and deletes go to both
 * (with_failover_both).
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
 * (logging a ban it starts); under server_health = probe, counts it toward
 * marking the server down instead (logging that, and waking the prober).
 * Returns rc. */
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

/* True when requests pass sv by without a socket: it is down
 * (server_health = probe) or error-limited (swift); counts the pass. */
bool server_passed_by(const state *st, server *sv);

/*
 * Claims a place on one of sv's connections, connecting it first if it was
 * closed (and the connect limits allow), within the pool timeout. Returns
 * the slot, or NULL with the failure in *rc: logged and counted, or
 * MCRING_ELIMITED, not counted, when no socket was touched (the server is
 * down, or no connect was allowed).
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

/*
 * A text read of one key (get, gets, gat, gats: its request line in
 * line) on sv, through server_roundtrip: the key's status (MCRING_OK,
 * MCRING_MISS, ...), the value in *item; or the server's failure, logged
 * and counted, with nothing read reaching the caller (Swift returns such a
 * value; bug 5).
 */
int server_read_one(const state *st, server *sv, struct iovec *line,
                    const mcring_key *key, mcring_item *item,
                    bool *connected);

/* An attempt of an operation on one server: returns the outcome, having
 * logged and counted whatever failure of the server it met, and sets
 * *connected as server_roundtrip does. */
typedef int (*attempt_fn)(const state *st, server *sv, void *ctx,
                          bool *connected);

/* How many servers a key's try order holds, and the order itself as
 * indexes into st->servers: the ring's, or with a gutter the ring's first
 * server and then the gutter ring's order. request_order returns the count
 * written (at most max). */
static inline size_t request_tries(const state *st)
{
    return st->gutter != NULL ? 1 + st->gutter->tries : st->ring->tries;
}
size_t request_order(const state *st, const keyhash *where, uint32_t *out,
                     size_t max);

/*
 * Runs attempt on the servers of the try order for `where`, in order,
 * until one gives a final answer (rc_is_final). A server passed by
 * (server_passed_by) uses up its try, as an error-limited one does in
 * Swift; when no server gave a connection, Swift's "All memcached servers
 * error-limited" is logged. Gutter servers get the same ctx. Each attempt
 * is recorded as one of op on a key of key_len bytes (metrics.h). Call
 * inside the RCU read side.
 */
int with_failover(const state *st, mcring_op op, size_t key_len,
                  const keyhash *where, attempt_fn attempt, void *ctx);

/* with_failover, giving gutter servers gutter_ctx instead (a store's TTL
 * capped: request_gutter_exptime). */
int with_failover_gutter(const state *st, mcring_op op, size_t key_len,
                         const keyhash *where, attempt_fn attempt, void *ctx,
                         void *gutter_ctx);

/* For deletes: without a gutter, with_failover; with one, attempt on the
 * ring's first server (unless passed by) and on the gutter's try order,
 * both. The result: MCRING_OK when either said so, else the first
 * server's answer when it gave one, else the gutter's. */
int with_failover_both(const state *st, mcring_op op, size_t key_len,
                       const keyhash *where, attempt_fn attempt, void *ctx);

/* The exptime to store with in the gutter for a call's exptime
 * (request_exptime): at most gutter_ttl seconds from now ("never"
 * included); one already past stays as it is. */
int64_t request_gutter_exptime(const state *st, int64_t exptime);

/* Swift's TTL rules (proto_exptime), with a warning in the log when the
 * result lies past what memcached can hold (Swift sends it the same way;
 * docs/swift-compat.md). 0 or MCRING_EINVAL. */
int request_exptime(const state *st, double ttl, int64_t *exptime);

/* Item size warning, as Swift logs it after a set. */
void warn_item_size(const state *st, size_t len);

#endif
