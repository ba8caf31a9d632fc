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
    XX(ECANCELED, -25, "not sent: another entry of the batch was invalid")   \
    XX(EDECODE, -26, "the bytes are not a valid encoding for the codec")      \
    XX(EENCODE, -27, "the value cannot be encoded by this codec")             \
    XX(ECODEC, -28, "no such codec, or its name or flags conflict with a "    \
                    "registered one")

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

/* mcring_options_load's outcome for a file that does not exist: nothing
 * was read and the options are unchanged, as Swift's loader silently keeps
 * its defaults; a warning goes to the options' log callback. Also returned
 * by mcring_client_watch (which then watches for the file to appear) and
 * mcring_client_reload (which then keeps the running configuration). */
#define MCRING_CONF_MISSING 4

/*
 * Reads a Swift memcache.conf as Swift's middleware does (Python's
 * ConfigParser; docs/swift-compat.md): the options of its [memcache]
 * section, with [DEFAULT]'s inherited, applied on top of opts (names as for
 * mcring_options_set; unknown names are ignored, as Swift does). An empty
 * memcache_servers, or a memcache_max_connections that is not a positive
 * integer, leaves that option as it was; max_connections is ignored in the
 * file (Swift reads it only from the proxy's own config). A file without a
 * [memcache] section changes nothing. All-or-nothing: on any error nothing
 * is applied. Returns 0, MCRING_CONF_MISSING (no such file), MCRING_ECONFIG
 * (syntax, bad value, unreadable file, interpolation expanding past the
 * file's size plus 1 MiB) or MCRING_EADDR. One thread at a time per options
 * object.
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
/* mcring's msgpack codec (docs/codecs.md explains the choice of bit). */
#define MCRING_FLAG_MSGPACK 32u

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
 * watch. Returns 0, MCRING_CONF_MISSING (no file yet: watched until it
 * appears) or the error of the first load. mcring_client_free() abandons a
 * reload in progress rather than wait for it. Not concurrently with
 * mcring_client_reload() or mcring_client_free() on the same client.
 */
MCRING_API int mcring_client_watch(mcring_client *client, const char *path,
                                   double interval, char *err, size_t errlen);

/* Applies the watched file (or the file the options were loaded from) now,
 * as a watcher does on a change; for SIGHUP handlers' main loops. Returns
 * 0, MCRING_CONF_MISSING (the running configuration stays) or a failure. */
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

/* ==== values and codecs ================================================== */

/*
 * Structured values travel through one model and are turned into bytes by
 * a codec: raw bytes (flags 0), JSON (flag 2, written as Swift writes it) or
 * msgpack (MCRING_FLAG_MSGPACK), or a codec of the caller's own. The
 * byte-level calls above stay the fast path; the value-level calls below
 * encode and then call them, or call them and then decode by the item's
 * flags. docs/codecs.md has the details and the reasons.
 */

/* ---- the value model ---------------------------------------------------- */

/*
 * A value is a tree of nodes. A container (array or map) owns what is put
 * into it, so one mcring_value_free() on the root frees the whole tree.
 * Children returned by the accessors are borrowed: valid until the root is
 * freed. Any number of threads may read one value at once; changing a value
 * (push, add) needs the caller to serialise access to it.
 */
typedef struct mcring_value mcring_value;

typedef enum mcring_value_kind {
    MCRING_VALUE_NULL = 0,
    MCRING_VALUE_BOOL,
    MCRING_VALUE_INT,       /* every integer that fits int64_t */
    MCRING_VALUE_UINT,      /* integers above INT64_MAX only */
    MCRING_VALUE_DOUBLE,    /* NaN and the infinities included */
    MCRING_VALUE_STRING,    /* valid UTF-8 (no surrogates); may hold NUL */
    MCRING_VALUE_BYTES,     /* any bytes */
    MCRING_VALUE_ARRAY,
    MCRING_VALUE_MAP,       /* ordered pairs; keys of any kind, repeats kept */
    MCRING_VALUE_EXT,       /* a msgpack extension: type and bytes */
    MCRING_VALUE_TIMESTAMP, /* the msgpack timestamp extension (type -1) */
} mcring_value_kind;

/* Deepest nesting of arrays and maps that the decoders accept and the
 * encoders write; deeper input is MCRING_EDECODE, deeper values
 * MCRING_EENCODE. */
#define MCRING_VALUE_DEPTH_MAX 512
/* Largest input the decoders accept (64 MiB): MCRING_EDECODE above it. */
#define MCRING_VALUE_INPUT_MAX ((size_t)64 << 20)

/*
 * Constructors. Each returns a new value owned by the caller (free it with
 * mcring_value_free(), or hand it to a container), or NULL when memory ran
 * out or the argument is invalid: a string that is not valid UTF-8, a
 * timestamp with nsec >= 1e9. Strings, bytes and ext data are copied.
 * mcring_value_new_uint() of a number that fits int64_t gives an
 * MCRING_VALUE_INT, so each integer has exactly one representation.
 * Thread-safe.
 */
MCRING_API mcring_value *mcring_value_new_null(void);
MCRING_API mcring_value *mcring_value_new_bool(int b);
MCRING_API mcring_value *mcring_value_new_int(int64_t v);
MCRING_API mcring_value *mcring_value_new_uint(uint64_t v);
MCRING_API mcring_value *mcring_value_new_double(double v);
MCRING_API mcring_value *mcring_value_new_string(const char *s, size_t len);
MCRING_API mcring_value *mcring_value_new_bytes(const void *data, size_t len);
MCRING_API mcring_value *mcring_value_new_ext(int8_t type, const void *data,
                                              size_t len);
MCRING_API mcring_value *mcring_value_new_timestamp(int64_t sec,
                                                    uint32_t nsec);
MCRING_API mcring_value *mcring_value_new_array(void);
MCRING_API mcring_value *mcring_value_new_map(void);

/* Frees v and everything inside it (any depth, without recursion). Accepts
 * NULL. Not on a value that is inside a container, nor while another
 * thread uses v. */
MCRING_API void mcring_value_free(mcring_value *v);

/*
 * Appends item to an array. The array takes item in every case: on failure
 * (MCRING_EINVAL: array is not an array, item is NULL or the array itself;
 * MCRING_ENOMEM) item is freed, so a constructor can be passed directly:
 *     mcring_value_array_push(a, mcring_value_new_int(5));
 * A value may be put into one container only. One thread at a time per
 * array.
 */
MCRING_API int mcring_value_array_push(mcring_value *array,
                                       mcring_value *item);
/* Appends a key/value pair to a map, taking key and value in every case as
 * mcring_value_array_push() does. Keys are not checked for repeats (a
 * lookup finds the last). One thread at a time per map. */
MCRING_API int mcring_value_map_add(mcring_value *map, mcring_value *key,
                                    mcring_value *value);
/* mcring_value_map_add() with a string key copied from NUL-terminated
 * UTF-8 (MCRING_EINVAL if it is not UTF-8; value is freed then too). */
MCRING_API int mcring_value_map_add_str(mcring_value *map, const char *key,
                                        mcring_value *value);

/* The kind of v (MCRING_VALUE_NULL for a NULL pointer). Thread-safe. */
MCRING_API mcring_value_kind mcring_value_kind_of(const mcring_value *v);
/* "null", "bool", "int", ... ; never NULL. Thread-safe. */
MCRING_API const char *mcring_value_kind_name(mcring_value_kind kind);

/*
 * Scalar accessors: 0 with *out set, or MCRING_EINVAL when v is not of a
 * fitting kind (out untouched). get_uint accepts non-negative INTs and
 * UINTs; get_double accepts DOUBLEs and converts integers to the nearest
 * double. Thread-safe.
 */
MCRING_API int mcring_value_get_bool(const mcring_value *v, int *out);
MCRING_API int mcring_value_get_int(const mcring_value *v, int64_t *out);
MCRING_API int mcring_value_get_uint(const mcring_value *v, uint64_t *out);
MCRING_API int mcring_value_get_double(const mcring_value *v, double *out);
/* The string's bytes (NUL-terminated; the NUL is not counted in *len) or
 * NULL when v is not a string. Borrowed from v. len may be NULL.
 * Thread-safe. */
MCRING_API const char *mcring_value_get_string(const mcring_value *v,
                                               size_t *len);
/* The bytes of a BYTES value (NULL when v is not one). Borrowed.
 * Thread-safe. */
MCRING_API const void *mcring_value_get_bytes(const mcring_value *v,
                                              size_t *len);
/* An EXT value's type and bytes (borrowed): 0 or MCRING_EINVAL. Any out
 * pointer may be NULL. Thread-safe. */
MCRING_API int mcring_value_get_ext(const mcring_value *v, int8_t *type,
                                    const void **data, size_t *len);
/* A TIMESTAMP's seconds since the epoch and nanoseconds: 0 or
 * MCRING_EINVAL. Thread-safe. */
MCRING_API int mcring_value_get_timestamp(const mcring_value *v,
                                          int64_t *sec, uint32_t *nsec);

/* Items of an array, pairs of a map; 0 for other kinds. Thread-safe. */
MCRING_API size_t mcring_value_count(const mcring_value *v);
/* Item i of an array, key or value of pair i of a map; NULL when v is not
 * of that kind or i is out of range. Borrowed from v. Thread-safe. */
MCRING_API const mcring_value *mcring_value_array_at(const mcring_value *v,
                                                     size_t i);
MCRING_API const mcring_value *mcring_value_map_key_at(const mcring_value *v,
                                                       size_t i);
MCRING_API const mcring_value *
mcring_value_map_value_at(const mcring_value *v, size_t i);
/* The value of the last pair whose key is the string key[0..len), or
 * NULL. Borrowed from v. Linear in the map's size. Thread-safe. */
MCRING_API const mcring_value *mcring_value_map_find(const mcring_value *v,
                                                     const char *key,
                                                     size_t len);

/*
 * 1 when a and b are the same value: same kind and contents, arrays and
 * maps item by item in order, doubles by == except that NaN equals NaN.
 * Values nested deeper than MCRING_VALUE_DEPTH_MAX compare unequal.
 * Thread-safe.
 */
MCRING_API int mcring_value_equal(const mcring_value *a,
                                  const mcring_value *b);

/* ---- codecs ------------------------------------------------------------- */

/* Longest codec name, NUL included. */
#define MCRING_CODEC_NAME_MAX 32

/*
 * A codec: how values become bytes and back, and the flag bits that mark
 * its items. Items are stored with `flags` and read back through the codec
 * whose flags are all set in the item's flags. Both functions may be called
 * from many threads at once and must not keep pointers to their arguments.
 *
 *  encode  writes the encoding of value into out with mcring_item_append()
 *          (out arrives with len 0). Returns 0, MCRING_EENCODE (a value
 *          this codec cannot represent) or MCRING_ENOMEM.
 *  decode  sets *out to a new value decoded from data[0..len). Returns 0,
 *          MCRING_EDECODE or MCRING_ENOMEM, leaving *out NULL on failure.
 */
typedef struct mcring_codec {
    const char *name; /* 1..31 bytes, unique per client */
    uint32_t flags;   /* written on set, recognised on get */
    int (*encode)(void *userdata, const mcring_value *value,
                  mcring_item *out);
    int (*decode)(void *userdata, const void *data, size_t len,
                  mcring_value **out);
    void *userdata;
} mcring_codec;

/* The built-in codecs, valid forever. Thread-safe.
 *  raw      flags 0: BYTES and STRING values as their bytes; decodes to
 *           BYTES.
 *  json     flag 2: Swift's JSON (json.dumps defaults, NaN and Infinity
 *           included); see mcring_json_encode().
 *  msgpack  MCRING_FLAG_MSGPACK: shortest forms, ext and timestamps. */
MCRING_API const mcring_codec *mcring_codec_raw(void);
MCRING_API const mcring_codec *mcring_codec_json(void);
MCRING_API const mcring_codec *mcring_codec_msgpack(void);

/* Appends len bytes to item->data (growing it; data stays
 * NUL-terminated). 0 or MCRING_ENOMEM (item unchanged). For codecs'
 * encode functions. One thread at a time per item. */
MCRING_API int mcring_item_append(mcring_item *item, const void *data,
                                  size_t len);

/* Encodes value with codec into out (caller-owned, reused like a read
 * item): out->flags becomes codec->flags. 0 or the codec's failure, after
 * which out->len is 0. Thread-safe for distinct out items. */
MCRING_API int mcring_codec_encode(const mcring_codec *codec,
                                   const mcring_value *value,
                                   mcring_item *out);
/* Decodes data with codec: 0 and a new value in *out (the caller frees
 * it), or the codec's failure with *out NULL. Thread-safe. */
MCRING_API int mcring_codec_decode(const mcring_codec *codec,
                                   const void *data, size_t len,
                                   mcring_value **out);

/* Options of mcring_json_encode() and mcring_json_decode(). */
/* RFC 8259 only: NaN and the infinities are rejected (MCRING_EDECODE,
 * MCRING_EENCODE) instead of read and written as Python does. */
#define MCRING_JSON_STRICT 1u
/* Encode only, for display: values JSON cannot hold are written as
 * {"$bytes": "<base64>"}, {"$ext": [type, "<base64>"]},
 * {"$timestamp": [sec, nsec]}, and a map with a key Python would refuse
 * (an array, a map, bytes...) as {"$map": [[key, value], ...]}. Not
 * Swift's format: never stored by the json codec. */
#define MCRING_JSON_EXTENDED 2u

/*
 * Writes value as JSON into out exactly as Python's json.dumps() with its
 * defaults writes the same value: ASCII only (\u escapes of four hex
 * digits, surrogate pairs for astral characters), ", " and ": "
 * separators, shortest round-trip floats, NaN, Infinity, -Infinity. Map
 * keys that are integers, doubles, booleans or null become strings as in
 * Python; other keys, BYTES, EXT and TIMESTAMP values are MCRING_EENCODE
 * (unless MCRING_JSON_EXTENDED). out->flags becomes MCRING_FLAG_JSON.
 * Returns 0, MCRING_EENCODE, MCRING_ENOMEM or MCRING_EINVAL (unknown opts
 * bits). Thread-safe for distinct out items.
 */
MCRING_API int mcring_json_encode(const mcring_value *value, unsigned opts,
                                  mcring_item *out);
/*
 * Parses one JSON text (UTF-8, an optional leading UTF-8 BOM, surrounding
 * whitespace) into a new value in *out. Reads everything Python's
 * json.dumps writes: integers in the int64 and uint64 ranges exactly (as
 * INT or UINT), other numbers as doubles (overflow gives an infinity as in
 * Python), NaN, Infinity and -Infinity unless MCRING_JSON_STRICT. Integers
 * beyond the uint64 range, lone surrogates and invalid UTF-8 are
 * MCRING_EDECODE (docs/codecs.md lists every difference from Python).
 * Returns 0, MCRING_EDECODE (with the offending byte offset in err),
 * MCRING_ENOMEM or MCRING_EINVAL. Thread-safe.
 */
MCRING_API int mcring_json_decode(const void *data, size_t len, unsigned opts,
                                  mcring_value **out, char *err,
                                  size_t errlen);
/* mcring_codec_decode(mcring_codec_msgpack(), ...) that also says what was
 * wrong in err. Thread-safe. */
MCRING_API int mcring_msgpack_decode(const void *data, size_t len,
                                     mcring_value **out, char *err,
                                     size_t errlen);

/* ---- codecs of a client ------------------------------------------------- */

/*
 * Registers a codec with the client, next to the built-in raw, json and
 * msgpack. The codec struct and its name are copied; userdata and the
 * functions must stay valid while the client lives. Rejected with
 * MCRING_ECODEC (and why, in err): no flags, the pickle bit, flags that
 * share a bit with a registered codec, a name that is empty, too long or
 * taken, no encode or decode function. At most 29 codecs can be added
 * (one per free flag bit). Codecs cannot be removed.
 * Thread-safe, also while other threads make calls: a codec is published
 * whole and used from then on.
 */
MCRING_API int mcring_client_add_codec(mcring_client *client,
                                       const mcring_codec *codec, char *err,
                                       size_t errlen);
/* The client's codec of that name (built-in or added), or NULL. Valid
 * while the client lives. Thread-safe. */
MCRING_API const mcring_codec *mcring_client_codec(mcring_client *client,
                                                   const char *name);
/*
 * The codec that decodes items with these flags: NULL when the pickle bit
 * is set (never decoded, as in Swift) or when the flags hold the bits of
 * two codecs; else the codec whose flags are all set; else raw (unknown
 * flags come back as bytes). Valid while the client lives. Thread-safe.
 */
MCRING_API const mcring_codec *
mcring_client_codec_for_flags(mcring_client *client, uint32_t flags);

/*
 * Encodes value with the client's codec of that name (NULL means "json",
 * Swift's default) and stores it with mcring_set(). Returns what mcring_set
 * returns, or MCRING_ECODEC (no such codec), MCRING_EENCODE, MCRING_ENOMEM
 * before anything is sent. The value stays the caller's. Thread-safe.
 */
MCRING_API int mcring_set_value(mcring_client *client, const void *key,
                                size_t key_len, const mcring_value *value,
                                const char *codec, double ttl);

/*
 * Reads a key with mcring_get() and decodes it by its flags
 * (mcring_client_codec_for_flags). Returns:
 *  MCRING_OK           *out is a new value (the caller frees it);
 *  MCRING_MISS;
 *  MCRING_UNDECODABLE  pickle-flagged, flags of two codecs, or bytes the
 *                      codec rejected: *out is NULL, the bytes and flags
 *                      are in item (flags & MCRING_FLAG_PICKLE tells which);
 *  a failure           (MCRING_ENOMEM while decoding keeps the bytes too).
 * item is a caller-owned reusable buffer as for mcring_get(), filled on OK
 * and UNDECODABLE; it may be NULL when the bytes are not wanted.
 * *out is NULL on anything but OK. Thread-safe.
 */
MCRING_API int mcring_get_value(mcring_client *client, const void *key,
                                size_t key_len, mcring_item *item,
                                mcring_value **out);

/*
 * mcring_get_multi() followed by decoding every item found: values[i] is a
 * new value when status[i] is MCRING_OK and NULL otherwise; status[i]
 * becomes MCRING_UNDECODABLE (bytes kept in items[i]) or MCRING_ENOMEM for
 * an item that does not decode. items may be NULL (the bytes are then not
 * kept). Returns 0 when every key got an answer, else the first key's
 * failure code. The caller frees every values[i]. Thread-safe.
 */
MCRING_API int mcring_get_multi_values(mcring_client *client,
                                       const mcring_key *keys, size_t n,
                                       const void *server_key,
                                       size_t server_key_len,
                                       mcring_item *items,
                                       mcring_value **values, int *status);

typedef struct mcring_value_kv {
    const void *key;
    size_t key_len;
    const mcring_value *value;
} mcring_value_kv;

/*
 * Encodes every value with the named codec (NULL: "json") and stores them
 * with mcring_set_multi(). If any value fails to encode nothing is sent:
 * that entry's status is the codec's failure, the others'
 * MCRING_ECANCELED. status (may be NULL) and the return value are as for
 * mcring_set_multi(). The values stay the caller's. Thread-safe.
 */
MCRING_API int mcring_set_multi_values(mcring_client *client,
                                       const mcring_value_kv *kvs, size_t n,
                                       const char *codec,
                                       const void *server_key,
                                       size_t server_key_len, double ttl,
                                       int *status);

#ifdef __cplusplus
}
#endif

#endif /* MCRING_H */
