/*
 * mcring/options.h — the options a client or a ring is built from: every
 * setting of Swift's memcache.conf, by its memcache.conf name, plus the
 * placement modes of other clients, and where log messages go.
 */
#ifndef MCRING_PUBLIC_OPTIONS_H
#define MCRING_PUBLIC_OPTIONS_H

#include "mcring/common.h"

MCRING_BEGIN_DECLS

/* ---- logging ------------------------------------------------------------ */

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

/*
 * Allocates options holding Swift's defaults. Returns 0 or MCRING_ENOMEM.
 * Threads: thread-safe.
 * Ownership: *out is the caller's; free it with mcring_options_free().
 * Nothing is allocated on failure.
 */
MCRING_API int mcring_options_new(mcring_options **out);

/*
 * Frees options. Clients and rings made from them keep their own copy, so
 * options may be freed as soon as those are built. Accepts NULL.
 * Threads: one thread at a time per options object, and no other call on
 * it may be running.
 * Ownership: takes opts.
 */
MCRING_API void mcring_options_free(mcring_options *opts);

/*
 * Sets one option by its memcache.conf name, value as text, validated now:
 * a bad value returns MCRING_ECONFIG (MCRING_EADDR for a bad server list),
 * writes why into err, and leaves the options unchanged. The options, their
 * defaults and what each takes are listed by mcring_option_docs(), in
 * `mcring --help` and in docs/options.md (all made from one table).
 * A hash a ring mode does not use, weights (host:port:weight) in a mode
 * without weights, or server names (host:port:weight name, twemproxy only)
 * are refused when the ring is built (mcring_client_new, mcring_ring_new
 * ...), with MCRING_ECONFIG and the reason.
 * Threads: one thread at a time per options object.
 * Ownership: name and value are copied; nothing is kept.
 */
MCRING_API int mcring_options_set(mcring_options *opts, const char *name,
                                  const char *value, char *err, size_t errlen);

/*
 * Reads a Swift memcache.conf as Swift's middleware does (Python's
 * ConfigParser; docs/swift-compat.md): the options of its [memcache]
 * section, with [DEFAULT]'s inherited, applied on top of opts (names as for
 * mcring_options_set; unknown names are ignored, as Swift does). An empty
 * memcache_servers, or a memcache_max_connections that is not a positive
 * integer, leaves that option as it was; max_connections is ignored in the
 * file (Swift reads it only from the proxy's own config). A file without a
 * [memcache] section changes nothing. All-or-nothing: on any error nothing
 * is applied. Returns 0, MCRING_CONF_MISSING (no such file: nothing read,
 * the options unchanged, a warning in the log, as Swift silently keeps its
 * defaults), MCRING_ECONFIG (syntax, bad value, unreadable file,
 * interpolation expanding past the file's size plus 1 MiB) or
 * MCRING_EADDR.
 * Threads: one thread at a time per options object.
 * Ownership: path is copied (a client watching the file reads it again
 * later); the file is closed before the call returns.
 */
MCRING_API int mcring_options_load(mcring_options *opts, const char *path,
                                   char *err, size_t errlen);

/*
 * Where log messages go; fn NULL silences them (the default).
 * Threads: one thread at a time per options object.
 * Ownership: userdata stays the caller's and must stay valid while any
 * client built from these options lives (fn is called with it).
 */
MCRING_API void mcring_options_set_log(mcring_options *opts, mcring_log_fn fn,
                                       void *userdata);

/* One option as documented: every field is a static string. */
typedef struct mcring_option_doc {
    const char *name;          /* as in memcache.conf and mcring_options_set */
    const char *type;          /* servers, integer, bytes, seconds, number,
                                * boolean, path or word */
    const char *default_value; /* as text */
    const char *takes;         /* what values it takes */
    int swift;                 /* nonzero: Swift's memcache.conf has it */
    const char *doc;           /* one line */
} mcring_option_doc;

/*
 * Every option there is: sets *out (when not NULL) to an array of them, in
 * the order of the documentation, and returns how many.
 * Threads: thread-safe.
 * Ownership: the array and its strings are the library's, valid forever.
 */
MCRING_API size_t mcring_option_docs(const mcring_option_doc **out);

MCRING_END_DECLS

#endif /* MCRING_PUBLIC_OPTIONS_H */
