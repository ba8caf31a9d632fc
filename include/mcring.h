/*
 * mcring — a memcache client library, placement- and wire-compatible with
 * OpenStack Swift's MemcacheRing, built for many threads.
 *
 * Conventions used throughout this header:
 *
 *  - Functions that can fail return int: 0 or another non-negative outcome on
 *    success, a negative MCRING_E* code on failure. mcring_strerror() and
 *    mcring_err_name() turn any code into text and never allocate.
 *  - Outcomes that are not failures (a miss, a value that cannot be decoded)
 *    are positive codes: MCRING_MISS, MCRING_UNDECODABLE.
 *  - "Thread-safe" means any number of threads may call the function on the
 *    same object at once. "One thread at a time" means the caller serialises.
 *    No function here may be called from a signal handler.
 *  - Functions taking (char *err, size_t errlen) write a one-line message
 *    into err on failure when err is not NULL; err is left untouched on
 *    success.
 *  - Destructors accept NULL.
 */
#ifndef MCRING_H
#define MCRING_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(MCRING_BUILDING) && defined(__GNUC__)
#define MCRING_API __attribute__((visibility("default")))
#else
#define MCRING_API
#endif

#define MCRING_VERSION_MAJOR 0
#define MCRING_VERSION_MINOR 1
#define MCRING_VERSION_PATCH 0
#define MCRING_VERSION_STRING "0.1.0"

/* Longest server string accepted (host, brackets, scope, port), plus NUL. */
#define MCRING_NAME_MAX 320
/* Longest key accepted in raw key mode (memcached's limit). */
#define MCRING_KEY_MAX 250

/* ---- outcomes and errors ------------------------------------------------ */

/* Non-negative outcomes. */
#define MCRING_OK 0          /* done: stored, found, deleted, counted */
#define MCRING_MISS 1        /* get: no such key; delete: nothing to delete */
#define MCRING_UNDECODABLE 2 /* found, but its flags or bytes cannot be
                              * decoded (pickle flag, bad JSON, ...); the
                              * bytes and flags are still returned */
#define MCRING_NOT_STORED 3  /* add: the key already exists */

/* Negative failures: XX(name, value, message). */
#define MCRING_ERRNO_MAP(XX)                                                   \
    XX(EINVAL, -1, "invalid argument")                                         \
    XX(ENOMEM, -2, "out of memory")                                            \
    XX(EKEY, -3, "invalid key: raw keys are 1-250 bytes with no spaces or "    \
                 "control characters")                                         \
    XX(ETOOLARGE, -4, "value larger than the server's item size limit")        \
    XX(ECONFIG, -5, "invalid configuration")                                   \
    XX(EADDR, -6, "invalid server address")                                    \
    XX(ERESOLVE, -7, "server host name did not resolve")                       \
    XX(ECONNREFUSED, -8, "connection refused")                                 \
    XX(ECONNECT, -9, "could not connect to the server")                        \
    XX(ECONNTIMEOUT, -10, "timed out connecting to the server")                \
    XX(EPOOLTIMEOUT, -11, "timed out waiting for a pooled connection")         \
    XX(ETIMEOUT, -12, "timed out talking to the server")                       \
    XX(EIO, -13, "I/O error talking to the server")                            \
    XX(ECLOSED, -14, "connection closed by the server")                        \
    XX(EPROTO, -15, "malformed or unexpected reply from the server")           \
    XX(ESERVER, -16, "the server reported an error (SERVER_ERROR)")            \
    XX(EREJECTED, -17, "the server rejected the request (ERROR/CLIENT_ERROR)") \
    XX(ENOTNUM, -18, "incr/decr on a value that is not a number")              \
    XX(ELIMITED, -19, "every server for this key is error-limited")            \
    XX(ENOSERVERS, -20, "no servers configured")                               \
    XX(ETLS, -21, "TLS handshake or I/O failed")                               \
    XX(ECERT, -22, "TLS certificate verification failed")                     \
    XX(ERACE, -23, "the key kept changing under incr/decr; try again")         \
    XX(ESYS, -24, "system call failed")                                       \
    XX(ECANCELED, -25, "not sent: another entry of the batch was invalid")

enum mcring_errno {
#define MCRING_XX_ENUM_(name, val, msg) MCRING_##name = (val),
    MCRING_ERRNO_MAP(MCRING_XX_ENUM_)
#undef MCRING_XX_ENUM_
};

/* Text for any code this library returns (outcomes included). Never NULL,
 * never allocates; unknown codes give "unknown error". Thread-safe. */
MCRING_API const char *mcring_strerror(int code);
/* The code's name ("MCRING_ETIMEOUT", "MCRING_MISS"). Thread-safe. */
MCRING_API const char *mcring_err_name(int code);

/* ---- logging -------------------------------------------------------------*/

typedef enum mcring_log_level {
    MCRING_LOG_ERROR = 0,
    MCRING_LOG_WARNING = 1,
    MCRING_LOG_INFO = 2
} mcring_log_level;

/*
 * Receives what Swift's client would log. `server` is the server string as
 * configured, or NULL for messages about no particular server; `msg` is the
 * whole message (Swift's wording, server name included). Both are valid only
 * during the call. Called from whichever thread hit the event, possibly from
 * many at once; it must not call back into the client.
 */
typedef void (*mcring_log_fn)(void *userdata, mcring_log_level level,
                              const char *server, const char *msg);

/* ---- options ------------------------------------------------------------ */

typedef struct mcring_options mcring_options;

/* Allocates options holding Swift's defaults. Returns 0 or MCRING_ENOMEM. */
MCRING_API int mcring_options_new(mcring_options **out);
MCRING_API void mcring_options_free(mcring_options *opts);

/*
 * Sets one option by its memcache.conf name, value as text, validated now:
 * a bad value returns MCRING_ECONFIG (MCRING_EADDR for a bad server list),
 * writes why into err, and leaves the options unchanged.
 *
 *  memcache_servers              comma-separated server strings
 *  memcache_max_connections      connections per server (<= 0 means 2)
 *  connect_timeout               seconds, > 0              (0.3)
 *  pool_timeout                  seconds, > 0              (1.0)
 *  io_timeout                    seconds, > 0              (2.0)
 *  tries                         servers tried per call    (3)
 *  error_suppression_interval    seconds; <= 0 disables    (60)
 *  error_suppression_limit       errors allowed per window (10)
 *  item_size_warning_threshold   bytes; -1 disables        (-1)
 *  tls_enabled, tls_cafile, tls_certfile, tls_keyfile
 *  ring_mode                     placement (swift):
 *                                  swift, consistent,
 *                                  libmemcached-ketama,
 *                                  libmemcached-ketama-weighted,
 *                                  twemproxy, pymemcache
 *                                (the last four put every key where that
 *                                client does: docs/placement.md)
 *  ring_hash                     key hash of libmemcached-ketama (default
 *                                one_at_a_time), libmemcached-ketama-weighted
 *                                (md5) and twemproxy (fnv1a_64): one of
 *                                one_at_a_time, md5, crc16, crc32 (= crc),
 *                                crc32a, fnv1_64, fnv1a_64, fnv1_32,
 *                                fnv1a_32, hsieh, murmur, jenkins, murmur3;
 *                                empty: the mode's default
 *  ring_point_hash               libmemcached-ketama's hash of its point
 *                                strings (default: ring_hash)
 *  ring_signed_bytes             true: key bytes >= 0x80 hash as the peers'
 *                                signed char does on x86-64; false: as on
 *                                unsigned-char platforms (true)
 *  ring_socket_port              libmemcached modes: the port a Unix socket's
 *                                point strings carry, 11211 (added with
 *                                memcached_server_add) or 0 (added with
 *                                memcached_server_add_unix_socket) (11211)
 *  key_mode                      swift (MD5 hex on the wire) | raw (swift)
 *  item_size_max                 largest value sent or accepted (1048576)
 *
 * A hash a mode does not use, weights (host:port:weight) in a mode without
 * weights, or server names (host:port:weight name, twemproxy only) are
 * refused when the ring is built (mcring_client_new, mcring_ring_new ...),
 * with MCRING_ECONFIG and the reason.
 *
 * One thread at a time per options object.
 */
MCRING_API int mcring_options_set(mcring_options *opts, const char *name,
                                  const char *value, char *err, size_t errlen);

/*
 * Reads the [memcache] section of a Swift memcache.conf file and applies
 * every option in it (names as for mcring_options_set; unknown names are
 * ignored, as Swift does). All-or-nothing: on any error nothing is applied.
 * Returns 0, MCRING_ECONFIG (syntax, bad value, unreadable file) or
 * MCRING_EADDR. One thread at a time per options object.
 */
MCRING_API int mcring_options_load(mcring_options *opts, const char *path,
                                   char *err, size_t errlen);

/* Where log messages go; fn NULL silences them (the default). */
MCRING_API void mcring_options_set_log(mcring_options *opts, mcring_log_fn fn,
                                       void *userdata);

/* ---- items (byte values) ---------------------------------------------------*/

/*
 * A value as bytes plus memcached's 32-bit flags. Reads fill a caller-owned
 * item, growing `data` with realloc as needed, so one item reused across
 * calls stops allocating once it is large enough. `data` is NUL-terminated
 * (the NUL is not counted in len). Release with mcring_item_free().
 */
typedef struct mcring_item {
    char *data;
    size_t len;
    size_t cap; /* bytes allocated at data; managed by the library */
    uint32_t flags;
} mcring_item;

#define MCRING_ITEM_INIT {NULL, 0, 0, 0}

/* Frees the item's buffer and resets it to MCRING_ITEM_INIT. */
MCRING_API void mcring_item_free(mcring_item *item);

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

/* Swift's flag bits. */
#define MCRING_FLAG_PICKLE 1u
#define MCRING_FLAG_JSON 2u

/* ---- the client ----------------------------------------------------------*/

typedef struct mcring_client mcring_client;

/*
 * Creates a client from options (copied; the options may be freed after).
 * Opens no connection: servers are connected on first use. Returns 0,
 * MCRING_ENOMEM, MCRING_ECONFIG or MCRING_ETLS (TLS files unusable).
 * One client is meant to be shared by every thread of a process; threads
 * need not register or call anything first.
 */
MCRING_API int mcring_client_new(mcring_client **out,
                                 const mcring_options *opts, char *err,
                                 size_t errlen);

/* Closes every connection and frees the client. No other call on this
 * client may be running or start afterwards. */
MCRING_API void mcring_client_free(mcring_client *client);

/*
 * Replaces the whole configuration: builds a new ring from opts and
 * publishes it with one pointer swap. Calls in flight finish on the ring
 * they started with; servers present before and after keep their pools,
 * connections and error history; removed servers are closed and freed once
 * no call can still be using them. On failure (bad options, TLS files)
 * nothing changes. Thread-safe, and safe while other threads make calls.
 */
MCRING_API int mcring_client_reconfigure(mcring_client *client,
                                         const mcring_options *opts,
                                         char *err, size_t errlen);

/* Like mcring_client_reconfigure with only memcache_servers changed.
 * Returns 0, MCRING_EADDR, MCRING_ENOMEM. Thread-safe. */
MCRING_API int mcring_set_servers(mcring_client *client, const char *servers,
                                  char *err, size_t errlen);

/*
 * Loads the memcache.conf at path on top of the options the client was
 * created (or last reconfigured) with and applies it now, then watches the
 * file from a background thread every `interval` seconds, applying it again
 * whenever it changes. A file that fails to load is reported through the
 * log callback and the running configuration stays. Replaces an earlier
 * watch. Returns 0 or the error of the first load. Not concurrently with
 * mcring_client_reload() or mcring_client_free() on the same client.
 */
MCRING_API int mcring_client_watch(mcring_client *client, const char *path,
                                   double interval, char *err, size_t errlen);

/* Applies the watched file (or the file the options were loaded from) now,
 * as a watcher does on a change; for SIGHUP handlers' main loops. */
MCRING_API int mcring_client_reload(mcring_client *client, char *err,
                                    size_t errlen);

/* Counters of one server, as of the call. */
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
} mcring_server_stats;

/* Fills out[0..max) with the current ring's servers, in ring order, and
 * returns how many servers the ring has (which may exceed max).
 * Thread-safe. */
MCRING_API size_t mcring_client_stats(mcring_client *client,
                                      mcring_server_stats *out, size_t max);

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
 * Every operation below is thread-safe. A failure is never reported as a
 * miss: the caller sees MCRING_MISS only when a server answered "not there".
 * After trying every server for the key, the code of the last failure is
 * returned (MCRING_ELIMITED when all of them were error-limited).
 */

/* Looks a key up. Returns MCRING_OK (item filled), MCRING_MISS,
 * MCRING_UNDECODABLE (pickle-flagged; bytes and flags filled) or a failure.
 * On anything but OK/UNDECODABLE the item's len is 0. */
MCRING_API int mcring_get(mcring_client *client, const void *key,
                          size_t key_len, mcring_item *out);

/* Stores bytes with the given flags. Returns MCRING_OK or a failure;
 * MCRING_ETOOLARGE when value_len exceeds item_size_max (nothing sent) or
 * the server refuses the size. */
MCRING_API int mcring_set(mcring_client *client, const void *key,
                          size_t key_len, const void *value, size_t value_len,
                          uint32_t flags, double ttl);

/* Deletes a key; the server is chosen by server_key when it is not NULL and
 * not empty (as in Swift), else by key. Returns MCRING_OK (deleted),
 * MCRING_MISS (was not there) or a failure. */
MCRING_API int mcring_delete(mcring_client *client, const void *key,
                             size_t key_len, const void *server_key,
                             size_t server_key_len);

/*
 * Swift's incr: adds delta (negative: subtracts with decr) and stores the
 * result in *result (may be NULL). A missing key is created holding delta
 * (0 for a negative delta), with ttl applying only then. Counters are
 * unsigned 64-bit: memcached wraps incr at 2^64 and floors decr at 0.
 * Returns MCRING_OK, MCRING_ENOTNUM (the value is not a number; the server
 * is healthy and not retried), or a failure.
 */
MCRING_API int mcring_incr(mcring_client *client, const void *key,
                           size_t key_len, int64_t delta, double ttl,
                           uint64_t *result);
/* mcring_incr with -delta. */
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
 */
MCRING_API int mcring_get_multi(mcring_client *client, const mcring_key *keys,
                                size_t n, const void *server_key,
                                size_t server_key_len, mcring_item *items,
                                int *status);

/*
 * Stores n values. With a server_key (Swift's set_multi) all of them go to
 * the server chosen for server_key; without one each key goes to its own
 * server, all requests written before replies are read. Every reply is read
 * and checked: status[i] (may be NULL) is MCRING_OK or a failure. Returns 0
 * when every value was stored, else the first failure code.
 */
MCRING_API int mcring_set_multi(mcring_client *client, const mcring_kv *kvs,
                                size_t n, const void *server_key,
                                size_t server_key_len, double ttl, int *status);

/* ---- placement -------------------------------------------------------- */

/*
 * An immutable placement: the server list, the ring built from it and the
 * try count. Safe to share between threads; freed when its last reference
 * is dropped with mcring_ring_free().
 */
typedef struct mcring_ring mcring_ring;

/* Builds the ring the options describe (servers, ring_mode, tries) without
 * touching the network. Returns 0, MCRING_ENOMEM, MCRING_ECONFIG,
 * MCRING_ENOSERVERS. */
MCRING_API int mcring_ring_new(mcring_ring **out, const mcring_options *opts,
                               char *err, size_t errlen);
/* The client's current ring, referenced; drop with mcring_ring_free(). */
MCRING_API mcring_ring *mcring_client_ring(mcring_client *client);
MCRING_API void mcring_ring_free(mcring_ring *ring);
/* Distinct servers in the ring. */
MCRING_API size_t mcring_ring_size(const mcring_ring *ring);
/* Server i's address as configured, without a weight or twemproxy server
 * name (valid while the ring lives). */
MCRING_API const char *mcring_ring_server(const mcring_ring *ring, size_t i);
/* How many servers a call tries: tries capped at the distinct servers. */
MCRING_API size_t mcring_ring_tries(const mcring_ring *ring);
/* Name of the ring mode ("swift", "consistent", "twemproxy", ...). */
MCRING_API const char *mcring_ring_mode(const mcring_ring *ring);
/* Name of the hash a key gets ("md5" for swift and consistent, "murmur3"
 * for pymemcache, the configured or default one otherwise), and of the hash
 * of the ring's points ("md5" except in libmemcached-ketama). Static
 * strings. Thread-safe. */
MCRING_API const char *mcring_ring_hash(const mcring_ring *ring);
MCRING_API const char *mcring_ring_point_hash(const mcring_ring *ring);
/*
 * The servers a call for key would try, in order: writes up to max server
 * indexes into idx and returns how many (mcring_ring_tries() when max is
 * large enough). Thread-safe.
 */
MCRING_API size_t mcring_ring_locate(const mcring_ring *ring, const void *key,
                                     size_t key_len, size_t *idx, size_t max);

/* ---- library ---------------------------------------------------------- */

/* "major.minor.patch" of the library actually linked. */
MCRING_API const char *mcring_version(void);

#ifdef __cplusplus
}
#endif

#endif /* MCRING_H */
