/*
 * mcring/client.h — the client, shared by every thread of a process, and
 * its operations on bytes: get, set, delete, incr, decr and their
 * multi-key forms. The value-level forms are in mcring/codec.h.
 */
#ifndef MCRING_PUBLIC_CLIENT_H
#define MCRING_PUBLIC_CLIENT_H

#include "mcring/common.h"
#include "mcring/item.h"

MCRING_BEGIN_DECLS

/* ---- the client --------------------------------------------------------- */

/*
 * Creates a client from options. Opens no connection: servers are
 * connected on first use. Returns 0, MCRING_ENOMEM, MCRING_ECONFIG,
 * MCRING_EADDR, MCRING_ENOSERVERS or MCRING_ETLS (TLS files unusable).
 * One client is meant to be shared by every thread of a process; threads
 * need not register or call anything first.
 * Threads: thread-safe (it touches nothing shared but opts, read only).
 * Ownership: opts is copied and may be freed at once; *out is the
 * caller's, freed with mcring_client_free(); nothing is left on failure.
 */
MCRING_API int mcring_client_new(mcring_client **out,
                                 const mcring_options *opts, char *err,
                                 size_t errlen);

/*
 * Closes every connection, stops the file watcher and frees the client.
 * Accepts NULL.
 * Threads: no other call on this client may be running or start
 * afterwards.
 * Ownership: takes client. Rings taken with mcring_client_ring_ref() stay
 * valid until their own mcring_ring_free().
 */
MCRING_API void mcring_client_free(mcring_client *client);

/*
 * Replaces the whole configuration: builds a new ring from opts and
 * publishes it with one pointer swap. Calls in flight finish on the ring
 * they started with; servers present before and after keep their pools,
 * connections and error history; removed servers are closed and freed once
 * no call can still be using them. On failure (bad options, TLS files)
 * nothing changes. Returns 0 or what mcring_client_new() returns.
 * Threads: thread-safe, and safe while other threads make calls.
 * Ownership: opts is copied and may be freed at once.
 */
MCRING_API int mcring_client_reconfigure(mcring_client *client,
                                         const mcring_options *opts,
                                         char *err, size_t errlen);

/*
 * mcring_client_reconfigure() with only memcache_servers changed (a
 * comma-separated list, as in memcache.conf). Returns 0, MCRING_EADDR,
 * MCRING_EINVAL or MCRING_ENOMEM; on failure nothing changes.
 * Threads: thread-safe, and safe while other threads make calls.
 * Ownership: servers is copied.
 */
MCRING_API int mcring_client_set_servers(mcring_client *client,
                                         const char *servers, char *err,
                                         size_t errlen);

/*
 * Loads the memcache.conf at path on top of the options the client was
 * created (or last reconfigured) with and applies it now, then watches the
 * file from a background thread every `interval` seconds, applying it again
 * whenever it changes. A file that fails to load is reported through the
 * log callback and the running configuration stays. Replaces an earlier
 * watch. Returns 0, MCRING_CONF_MISSING (no file yet: watched until it
 * appears), MCRING_ESYS (no thread) or the error of the first load.
 * mcring_client_free() abandons a reload in progress rather than wait for
 * it.
 * Threads: one thread at a time per client among mcring_client_watch(),
 * mcring_client_reload() and mcring_client_free(); safe while other
 * threads make calls.
 * Ownership: path is copied.
 */
MCRING_API int mcring_client_watch(mcring_client *client, const char *path,
                                   double interval, char *err, size_t errlen);

/*
 * Applies the watched file (or the file the options were loaded from) now,
 * as a watcher does on a change; for SIGHUP handlers' main loops (not for
 * the handler itself). Returns 0, MCRING_CONF_MISSING (the running
 * configuration stays) or what mcring_client_watch()'s load returns; on
 * failure the running configuration stays.
 * Threads: as mcring_client_watch().
 * Ownership: nothing changes hands.
 */
MCRING_API int mcring_client_reload(mcring_client *client, char *err,
                                    size_t errlen);

/* A server's health (server_health = probe; docs/reliability.md). */
#define MCRING_HEALTH_UP 0
#define MCRING_HEALTH_SOFT_DOWN 1 /* timeouts in a row, or the error limit */
#define MCRING_HEALTH_HARD_DOWN 2 /* a connect failed */

/* Counters of one server, as of the call. Fields are only ever added at
 * the end (the struct grew in 0.2.0: a program built against 0.1.0 must be
 * rebuilt). */
typedef struct mcring_server_stats {
    char name[MCRING_NAME_MAX]; /* as configured */
    uint64_t requests;          /* attempts on this server */
    uint64_t errors;            /* failures counted for error limiting */
    uint64_t connects;          /* connections opened */
    uint64_t pool_waits;        /* borrowers that found the pool empty */
    uint64_t pool_timeouts;     /* ... and gave up after pool_timeout */
    uint32_t conns_open;        /* connected sockets, idle or in use */
    uint32_t conns_idle;        /* connected and in the pool */
    uint32_t max_connections;
    double limited_for; /* seconds left of an error-limit ban, else 0 */
    /* Since 0.2.0. */
    uint64_t connect_attempts; /* connects started, failed ones included
                                * (probes not) */
    uint64_t connects_limited; /* requests that needed a connect and were
                                * allowed none (connect_rate) */
    uint64_t fast_fails;  /* requests that passed it by without touching
                           * a socket: down, error-limited, or no connect
                           * allowed */
    uint64_t downs;       /* times it was marked down */
    uint64_t recoveries;  /* times a probe brought it back */
    uint64_t probes;      /* probes sent to it */
    uint64_t probe_failures;
    uint64_t down_capped; /* times health_max_down kept it in use */
    uint64_t to_gutter;   /* requests for its keys sent to the gutter */
    double down_for;      /* seconds since it was marked down, else 0 */
    uint32_t health;      /* MCRING_HEALTH_*; always UP with
                           * server_health = swift */
    uint32_t gutter;      /* nonzero: one of gutter_servers */
} mcring_server_stats;

/*
 * Fills out[0..max) with the counters of the current ring's servers, in
 * ring order, then those of the gutter servers (gutter_servers) in the
 * gutter ring's order, and returns how many that is (which may exceed
 * max; out may be NULL with max 0 to ask only that).
 * Threads: thread-safe.
 * Ownership: out is the caller's array; nothing is kept.
 */
MCRING_API size_t mcring_client_server_stats(mcring_client *client,
                                             mcring_server_stats *out,
                                             size_t max);

/* ---- the operations ----------------------------------------------------- */

/*
 * Keys: in swift key mode (the default) any bytes, empty included, are a
 * key; the wire key is the 32-character hex MD5 of them, as in Swift. In raw
 * mode the key goes on the wire as given and must be 1..250 bytes without
 * spaces or control characters (else MCRING_EKEY, and nothing is sent).
 * Swift's and the consistent ring place by the MD5 of the caller's key, in
 * both modes. The other clients' modes (ring_mode libmemcached-*, twemproxy,
 * pymemcache) hash the key as that client sees it on the wire: the key as
 * given in raw mode (the natural pairing), its 32-character hex MD5 in
 * swift mode.
 *
 * TTLs are seconds as in Swift: fractions truncated toward zero (0.5 means
 * "never expires"), more than 30 days becomes an absolute Unix time,
 * negative values pass through.
 *
 * A failure is never reported as a miss: the caller sees MCRING_MISS only
 * when a server answered "not there". After trying every server for the
 * key, the code of the last failure is returned (MCRING_ELIMITED when all
 * of them were error-limited). Keys and values are read during the call
 * only and never kept.
 */

typedef struct mcring_key {
    const void *data;
    size_t len;
} mcring_key;

typedef struct mcring_kv {
    const void *key;
    size_t key_len;
    const void *value;
    size_t value_len;
    uint32_t flags;
} mcring_kv;

/*
 * Looks a key up. Returns MCRING_OK (item filled), MCRING_MISS,
 * MCRING_UNDECODABLE (pickle-flagged; bytes and flags filled) or a failure.
 * On anything but OK/UNDECODABLE the item's len is 0. When the option
 * compression is not none, a value stored compressed (flag
 * MCRING_FLAG_ZLIB or MCRING_FLAG_ZSTD, either algorithm; docs/codecs.md)
 * comes back decompressed with that bit cleared; one that is not a valid
 * stream is MCRING_UNDECODABLE (bytes and flags as stored), one that would
 * expand past item_size_max (MCRING_DECOMPRESSED_MAX_DEFAULT without one)
 * is MCRING_ETOOLARGE. With compression none, bytes and flags come as
 * stored.
 * Threads: thread-safe; one thread at a time per item.
 * Ownership: out is the caller's reusable buffer, grown as needed;
 * release it with mcring_item_release().
 */
MCRING_API int mcring_get(mcring_client *client, const void *key,
                          size_t key_len, mcring_item *out);

/*
 * Stores bytes with the given flags. Returns MCRING_OK or a failure;
 * MCRING_ETOOLARGE when value_len exceeds item_size_max (nothing sent) or
 * the server refuses the size. With the option compression, a value longer
 * than min_compress_len is stored compressed (when that makes it smaller)
 * under its flags plus the algorithm's bit; flags that already carry a
 * compression bit are stored as given.
 * Threads: thread-safe.
 * Ownership: key and value are read during the call only.
 */
MCRING_API int mcring_set(mcring_client *client, const void *key,
                          size_t key_len, const void *value, size_t value_len,
                          uint32_t flags, double ttl);

/*
 * Deletes a key; the server is chosen by server_key when it is not NULL and
 * not empty (as in Swift), else by key. Returns MCRING_OK (deleted),
 * MCRING_MISS (was not there) or a failure.
 * Threads: thread-safe.
 * Ownership: key and server_key are read during the call only.
 */
MCRING_API int mcring_delete(mcring_client *client, const void *key,
                             size_t key_len, const void *server_key,
                             size_t server_key_len);

/*
 * Swift's incr: adds delta (negative: subtracts with decr) and stores the
 * result in *result (may be NULL). A missing key is created holding delta
 * (0 for a negative delta), with ttl applying only then. Counters are
 * unsigned 64-bit: memcached wraps incr at 2^64 and floors decr at 0.
 * Returns MCRING_OK, MCRING_ENOTNUM (the value is not a number; the server
 * is healthy and not retried), MCRING_ERACE, or a failure.
 * Threads: thread-safe.
 * Ownership: *result is written on MCRING_OK only.
 */
MCRING_API int mcring_incr(mcring_client *client, const void *key,
                           size_t key_len, int64_t delta, double ttl,
                           uint64_t *result);

/*
 * mcring_incr() with -delta.
 * Threads: thread-safe.
 * Ownership: as mcring_incr().
 */
MCRING_API int mcring_decr(mcring_client *client, const void *key,
                           size_t key_len, int64_t delta, double ttl,
                           uint64_t *result);

/*
 * Reads n keys. With a server_key (Swift's get_multi) every key is read
 * from the servers chosen for server_key in one request. Without one
 * (server_key NULL) keys are grouped by their own server, every server's
 * request is written before any reply is read, and a failed server's keys
 * fail over along their own try order.
 * items[i] and status[i] answer keys[i]: status is MCRING_OK, MCRING_MISS,
 * MCRING_UNDECODABLE or a failure. Returns 0 when every key got an answer,
 * else the first key's failure code. n == 0 touches no server.
 * Threads: thread-safe; one thread at a time per items array.
 * Ownership: items[0..n) are the caller's reusable buffers as for
 * mcring_get(); status[0..n) is the caller's array.
 */
MCRING_API int mcring_get_multi(mcring_client *client, const mcring_key *keys,
                                size_t n, const void *server_key,
                                size_t server_key_len, mcring_item *items,
                                int *status);

/*
 * Stores n values. With a server_key (Swift's set_multi) all of them go to
 * the server chosen for server_key; without one each key goes to its own
 * server, all requests written before replies are read. Every reply is read
 * and checked: status[i] is MCRING_OK or a failure. Returns 0 when every
 * value was stored, else the first failure code.
 * Threads: thread-safe.
 * Ownership: kvs are read during the call only; status (may be NULL) is
 * the caller's array of n.
 */
MCRING_API int mcring_set_multi(mcring_client *client, const mcring_kv *kvs,
                                size_t n, const void *server_key,
                                size_t server_key_len, double ttl, int *status);

MCRING_END_DECLS

#endif /* MCRING_PUBLIC_CLIENT_H */
