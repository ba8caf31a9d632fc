/*
 * mcring/metrics.h — what a client can tell about its requests: latency
 * histograms and outcome counts per server and operation, all of a
 * client's counters in the Prometheus text format, and a trace hook
 * called for every attempt of a request on a server. docs/metrics.md
 * lists every metric.
 *
 * An attempt is one try of an operation on one server: a call that fails
 * over makes several, one per server tried (an error-limited server that
 * is skipped is not tried). A multi-key call makes one attempt per server
 * per round: all the keys it asks that server for in one request.
 * Durations run from claiming a place on one of the server's connections
 * (connecting it when needed) to having read the reply; for a multi-key
 * call, to having read the replies of every server of the round, since
 * the call waits for all of them at once.
 */
#ifndef MCRING_PUBLIC_METRICS_H
#define MCRING_PUBLIC_METRICS_H

#include "mcring/common.h"
#include "mcring/options.h"

MCRING_BEGIN_DECLS

/* The kinds of operation attempts are counted by. New kinds are added at
 * the end. incr and decr are the command sent: mcring_decr() with a
 * negative delta sends incr, as Swift does. Every storage command (add,
 * replace, append, prepend, cas, lease fills) counts as set, every read
 * (gets, gat, lease reads) as get; gets_multi as get_multi. */
typedef enum mcring_op {
    MCRING_OP_GET = 0,
    MCRING_OP_SET = 1,
    MCRING_OP_DELETE = 2,
    MCRING_OP_INCR = 3,
    MCRING_OP_DECR = 4,
    MCRING_OP_GET_MULTI = 5,
    MCRING_OP_SET_MULTI = 6,
    MCRING_OP_TOUCH = 7,
    MCRING_OP_TOUCH_MULTI = 8
} mcring_op;

/*
 * The op's name as metrics label it: "get", "set", "delete", "incr",
 * "decr", "get_multi", "set_multi", "touch", "touch_multi"; NULL for a
 * value that is no op.
 * Threads: thread-safe.
 * Ownership: a static string; never freed, never allocates.
 */
MCRING_API const char *mcring_op_name(mcring_op op);

/* ---- the trace hook ----------------------------------------------------- */

/* One attempt, as the trace hook sees it. Fields may be added at the end:
 * read it through the pointer the hook is given, never copy it whole. */
typedef struct mcring_trace_event {
    mcring_op op;
    const char *server; /* the server string as configured */
    size_t key_len;     /* the caller's key; for a multi-key attempt, the
                         * sum of its keys' lengths */
    size_t keys;        /* keys in the attempt: 1, or the group's size */
    int result;         /* the attempt's outcome (>= 0: MCRING_OK,
                         * MCRING_MISS, ...) or failure (< 0); a multi-key
                         * attempt that was answered reports MCRING_OK, its
                         * keys' own outcomes being in the call's status
                         * array */
    uint64_t duration_ns;
    unsigned attempt;   /* 1 for the first server tried by this call, 2
                         * for the next; for a multi-key call, its round */
} mcring_trace_event;

/*
 * Called once for every attempt, from the thread making the call (for an
 * mcring_async, its loop's thread), after the attempt ended and before
 * the next one starts. `event` and its
 * strings are valid only during the call. It must be quick (the caller's
 * request waits for it) and must not call back into the client.
 */
typedef void (*mcring_trace_fn)(void *userdata,
                                const mcring_trace_event *event);

/*
 * Sets the trace hook of clients built from these options (NULL, the
 * default, turns it off: the request path then only tests a pointer).
 * Threads: one thread at a time per options object.
 * Ownership: userdata stays the caller's and must stay valid while any
 * client built from these options lives (fn is called with it).
 */
MCRING_API void mcring_options_set_trace(mcring_options *opts,
                                         mcring_trace_fn fn, void *userdata);

/* ---- latency and outcomes per server and op ----------------------------- */

/*
 * One operation kind on one server, since the client first used that
 * server (a server kept across reconfigurations keeps its figures).
 * Quantiles come from the histogram's buckets (each at most 1/8 of its
 * value wide), interpolated inside the bucket; all times are seconds.
 */
typedef struct mcring_op_stats {
    char server[MCRING_NAME_MAX]; /* as configured */
    mcring_op op;
    uint64_t attempts;   /* attempts made (the histogram's count) */
    uint64_t failures;   /* attempts that ended in a failure (< 0) */
    uint64_t hits;       /* get, get_multi: keys found */
    uint64_t misses;     /* get, get_multi: keys not found */
    double seconds;      /* the attempts' durations added up */
    double p50, p90, p99, p999;
} mcring_op_stats;

/*
 * Fills out[0..max) with the figures of every (server, op) of the current
 * ring that has attempts, servers in ring order and ops in enum order, and
 * returns how many such pairs there are (which may exceed max; out may be
 * NULL with max 0 to ask only that). Nothing is counted when the option
 * latency_histograms is false. Reading adds up the per-thread counters
 * (about 2 us per server and op) and never holds up requests.
 * Threads: thread-safe.
 * Ownership: out is the caller's array; nothing is kept.
 */
MCRING_API size_t mcring_client_op_stats(mcring_client *client,
                                         mcring_op_stats *out, size_t max);

/* ---- Prometheus --------------------------------------------------------- */

/* The Content-Type of what mcring_client_write_prometheus() writes. */
#define MCRING_PROMETHEUS_CONTENT_TYPE                                         \
    "text/plain; version=0.0.4; charset=utf-8"

/*
 * Writes every counter, gauge and histogram of the client in the
 * Prometheus text exposition format (version 0.0.4) into buf, for a host
 * to serve on its own /metrics: at most len - 1 bytes and a NUL when len
 * > 0, as snprintf does. Returns the length of the whole text (without
 * the NUL); when it is >= len the text was cut, and a buffer of the
 * returned length plus some room (counters grow meanwhile) should be
 * tried. Names, labels and units: docs/metrics.md.
 * Threads: thread-safe.
 * Ownership: buf is the caller's (may be NULL when len is 0); nothing is
 * kept.
 */
MCRING_API size_t mcring_client_write_prometheus(mcring_client *client,
                                                 char *buf, size_t len);

MCRING_END_DECLS

#endif /* MCRING_PUBLIC_METRICS_H */
