/*
 * Options (Swift's memcache.conf names and defaults, plus mcring's own) and
 * the memcache.conf reader. The reader follows Python's ConfigParser as
 * Swift uses it: [sections], "key = value" or "key: value", keys
 * case-insensitive, full-line comments with # or ;, indented continuation
 * lines, a [DEFAULT] section whose keys every section inherits, %(name)s
 * interpolation and %% for a percent sign; duplicate sections or keys are
 * errors (ConfigParser's strict mode).
 */
#ifndef MCRING_CONFIG_H
#define MCRING_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mcring.h"
#include "ring.h"

typedef enum key_mode {
    KEYS_SWIFT = 0, /* MD5 hex of the caller's key on the wire */
    KEYS_RAW = 1,   /* the caller's key on the wire, validated */
} key_mode;

#define DEFAULT_SERVERS "127.0.0.1:11211"
#define DEFAULT_MAX_CONNECTIONS 2
#define DEFAULT_CONNECT_TIMEOUT 0.3
#define DEFAULT_POOL_TIMEOUT 1.0
#define DEFAULT_IO_TIMEOUT 2.0
#define DEFAULT_TRIES 3
#define DEFAULT_ERROR_INTERVAL 60.0
#define DEFAULT_ERROR_LIMIT 10.0
/* No client-side cap on values, as in Swift: a server started with a
 * larger -I takes and returns larger ones. */
#define DEFAULT_ITEM_SIZE_MAX 0
#define DEFAULT_PIPELINE_DEPTH 128
#define MAX_PIPELINE_DEPTH 65536
/* Error histories are kept per server; a larger limit would only waste
 * memory (Swift's own default is 10). */
#define MAX_ERROR_LIMIT 100000.0
#define MAX_TRIES 100000
#define MAX_CONNECTIONS 65536

struct mcring_options {
    char *servers; /* validated server list text */
    int max_connections;
    double connect_timeout, pool_timeout, io_timeout; /* seconds */
    int tries;
    double error_interval; /* window and ban duration, seconds */
    double error_limit;
    int64_t item_size_warning_threshold;
    bool tls_enabled;
    char *tls_cafile, *tls_certfile, *tls_keyfile;
    ring_config ring; /* ring_mode, ring_hash, ring_point_hash,
                       * ring_signed_bytes, ring_socket_port; key_mode's
                       * choice mirrored in ring.key_md5hex */
    key_mode keys;
    size_t item_size_max; /* 0: no limit */
    bool pipelining;      /* many requests in flight per connection */
    int pipeline_depth;   /* at most this many per connection */
    bool pipeline_fences; /* end each written batch with mn */
    mcring_log_fn log;
    void *log_userdata;
    char *config_path; /* the file last loaded, for reloads */
};

/* Deep copy. 0 or MCRING_ENOMEM (dst left cleared). */
int options_copy(mcring_options *dst, const mcring_options *src);
/* Frees what the options own (not the struct itself). */
void options_clear(mcring_options *o);

/* mcring_options_load on text already in memory (n bytes; no NUL needed);
 * path only names it in messages. */
int options_load_text(mcring_options *o, const char *path, const char *text,
                      size_t n, char *err, size_t errlen);

#endif
