/*
 * Internal view of the client, shared by the single-key operations
 * (client.c) and the multi-key ones (multi.c).
 */
#ifndef MCRING_CLIENT_H
#define MCRING_CLIENT_H

#include <pthread.h>
#include <stdbool.h>

#include "codec.h"
#include "config.h"
#include "exchange.h"
#include "ring.h"
#include "state.h"
#include "watch.h"

struct mcring_client {
    state *current; /* RCU-published; see state.h */
    registry reg;   /* writer side: server registry and its lock */
    mcring_options opts; /* what `current` was built from (registry lock) */
    mcring_options base; /* what reloads of a file start from (same lock) */
    uint64_t generation; /* states published so far (same lock) */
    watcher *watch; /* config file watcher, or NULL (reload.c) */
    codec_registry codecs; /* added codecs; all-zero is empty (codec.h) */
};

/* client_publish outcomes besides 0 and failures. */
#define CLIENT_STALE 1     /* another state was published since `since` */
#define CLIENT_ABANDONED 2 /* *abandon was set: nothing was published */
#define CLIENT_ANY_GENERATION UINT64_MAX

/* Copies the running options and/or the base (either may be NULL) and the
 * generation they belong to. 0 or MCRING_ENOMEM. Thread-safe. */
int client_snapshot(struct mcring_client *c, mcring_options *opts,
                    mcring_options *base, uint64_t *generation);

/*
 * Builds a state for *o without the registry lock, then (unless *abandon,
 * when not NULL, became true meanwhile) takes the lock only to attach its
 * servers and publish it, provided no other state was published since
 * generation `since` (CLIENT_ANY_GENERATION: whatever was). On success the
 * client owns *o as its running options and *base, when not NULL, as its
 * base; otherwise the caller still owns them. Returns 0, CLIENT_STALE (start
 * again from a new snapshot), CLIENT_ABANDONED, or the build's failure.
 * Thread-safe.
 */
int client_publish(struct mcring_client *c, mcring_options *o,
                   mcring_options *base, uint64_t since,
                   const atomic_bool *abandon, char *err, size_t errlen);

/* Publishes a copy of o; as_base also makes it the base that file reloads
 * start from. 0 or the build failure (nothing changed). */
int client_apply(struct mcring_client *c, const mcring_options *o,
                 bool as_base, char *err, size_t errlen);

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

/* Swift's log lines. */
void client_log(const state *st, mcring_log_level level, const server *sv,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Where a failure happened, which is what Swift's log line says. */
typedef enum phase {
    PHASE_POOL,    /* "getting a connection" */
    PHASE_CONNECT, /* "connecting" */
    PHASE_TALK,    /* "talking" */
    PHASE_SET,     /* a set answered something other than STORED */
} phase;

/* Logs a server failure as Swift does, counts it for error limiting (and
 * logs a ban it starts). Returns rc. */
int server_failed(const state *st, server *sv, int rc, phase ph,
                  int sys_errno, const char *why, const char *detail);

/* True when rc ends a call: an answer (>= 0) or a failure that is the
 * caller's or the value's, not the server's (no failover). */
static inline bool rc_is_final(int rc)
{
    return rc >= 0 || rc == MCRING_ENOTNUM || rc == MCRING_ETOOLARGE ||
           rc == MCRING_ERACE || rc == MCRING_ENOMEM || rc == MCRING_EINVAL;
}

/* True when the connection's stream is known to be in step after rc. */
static inline bool rc_keeps_conn(int rc)
{
    return rc >= 0 || rc == MCRING_ENOTNUM || rc == MCRING_ETOOLARGE ||
           rc == MCRING_ERACE;
}

/*
 * Borrows a connection to sv, connecting it if needed. Returns the slot, or
 * NULL after logging and counting the failure into *rc.
 */
pool_slot *server_borrow(const state *st, server *sv, int *rc);

/* Gives a slot back after an exchange that ended with rc (closing the
 * connection unless rc_keeps_conn), and accounts for a server failure. */
int server_release(const state *st, server *sv, pool_slot *slot, int rc,
                   phase ph, const char *detail);

/* Storage reply classification shared by set and set_multi. */
int classify_store(exchange *x, const reply *r, uint64_t *number);

/* Item size warning, as Swift logs it after a set. */
void warn_item_size(const state *st, size_t len);

#endif
