/*
 * Options: every option mcring has is one row of one table (options.c):
 * its name (as in memcache.conf), kind, default, bounds, whether Swift
 * reads it, and its documentation line. The table drives everything an
 * option needs — the setter (mcring_options_set), the defaults
 * (mcring_options_new), memcache.conf (config.c applies each [memcache]
 * entry through it), the CLI's --help list and docs/options.md (both from
 * mcring_option_docs()). Adding an option is adding a row (and its field
 * in struct mcring_options).
 */
#ifndef MCRING_OPTIONS_H
#define MCRING_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mcring.h"
#include "ring.h"

typedef enum key_mode {
    KEYS_SWIFT = 0, /* MD5 hex of the caller's key on the wire */
    KEYS_RAW = 1,   /* the caller's key on the wire, validated */
} key_mode;

typedef enum protocol_mode {
    PROTOCOL_TEXT = 0, /* memcached's classic text commands */
    PROTOCOL_META = 1, /* meta commands (memcached 1.6+): opaque tokens,
                        * quiet batches, base64 keys, leases */
} protocol_mode;

/* Limits that other layers size things by. */
#define MAX_ERROR_LIMIT 100000.0 /* error histories are kept per server */
#define MAX_TRIES 100000
#define MAX_CONNECTIONS 65536
#define MAX_PIPELINE_DEPTH 65536
#define MAX_GUTTER_TTL 2592000 /* memcached's longest relative TTL */

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
    int64_t item_size_max; /* 0: no limit */
    bool pipelining;       /* many requests in flight per connection */
    int pipeline_depth;    /* at most this many per connection */
    bool pipeline_fences;  /* end each written batch with mn */
    int compression;          /* compress_algo (compress.h) */
    int64_t min_compress_len; /* compress values longer than this */
    bool latency_histograms;  /* record attempts (metrics.h) */
    protocol_mode protocol;
    bool single_flight;
    int lease_ttl;     /* seconds */
    int lease_recache; /* seconds; 0: off */
    bool health_probe;     /* server_health = probe (false: swift) */
    int health_timeouts;   /* consecutive timeouts before soft down */
    double health_probe_interval, health_probe_max_interval; /* seconds */
    double health_probe_timeout;
    double health_probe_jitter; /* 0..1 */
    double health_max_down;     /* share of the servers, 0..1 */
    int connect_rate;           /* per server per second; 0: no limit */
    int connect_concurrency;    /* per server at once; 0: no limit */
    char *gutter_servers;       /* validated list, or NULL: no gutter */
    int gutter_ttl;             /* seconds */
    mcring_log_fn log;
    void *log_userdata;
    mcring_trace_fn trace;
    void *trace_userdata;
    char *config_path; /* the file last loaded, for reloads */
};

/* Deep copy. 0 or MCRING_ENOMEM (dst left cleared). */
int options_copy(mcring_options *dst, const mcring_options *src);
/* Frees what the options own (not the struct itself). */
void options_clear(mcring_options *o);

/* True when name is an option (or an alias of one) mcring knows. */
bool options_known(const char *name);

/*
 * The value parsers, as Python reads numbers (Swift's config values):
 * Unicode white space around, Unicode decimal digits, single underscores
 * between digits. Exposed for memcache.conf's own rules (config.c).
 */
bool options_parse_int(const char *text, long long *out);
/* The text without Python's white space around it (*len set). */
const char *options_trim(const char *s, size_t *len);

#endif
