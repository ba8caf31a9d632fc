/*
 * What a client shows of its metrics: the figures per (server, op) with
 * their quantiles (mcring_client_op_stats), and every counter, gauge and
 * histogram in the Prometheus text format (mcring_client_write_prometheus;
 * docs/metrics.md lists them). Both read the current state's servers
 * inside the RCU read side, adding up the per-thread shards (metrics.h).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "clock.h"
#include "compress.h"
#include "metrics.h"

/* ---- per (server, op) ----------------------------------------------------*/

static void fill_op_stats(mcring_op_stats *o, const server *sv, unsigned op,
                          const op_snapshot *s)
{
    memset(o, 0, sizeof(*o));
    snprintf(o->server, sizeof(o->server), "%s", sv->name);
    o->op = (mcring_op)op;
    o->attempts = s->hist.count;
    o->failures = s->failures;
    o->hits = s->hits;
    o->misses = s->misses;
    o->seconds = (double)s->hist.sum_ns / 1e9;
    o->p50 = hist_quantile(&s->hist, 0.50) / 1e9;
    o->p90 = hist_quantile(&s->hist, 0.90) / 1e9;
    o->p99 = hist_quantile(&s->hist, 0.99) / 1e9;
    o->p999 = hist_quantile(&s->hist, 0.999) / 1e9;
}

size_t mcring_client_op_stats(mcring_client *c, mcring_op_stats *out,
                              size_t max)
{
    if (c == NULL)
        return 0;
    const state *st = client_enter(c);
    size_t found = 0;
    op_snapshot s;
    for (size_t i = 0; i < st->ring->nservers; i++) {
        server *sv = st->servers[i];
        for (unsigned op = 0; op < METRICS_OPS; op++) {
            metrics_read(sv->metrics, op, &s);
            if (s.hist.count == 0)
                continue;
            if (out != NULL && found < max)
                fill_op_stats(&out[found], sv, op, &s);
            found++;
        }
    }
    state_leave();
    return found;
}

/* ---- the Prometheus text format ------------------------------------------ */

/* Output as snprintf makes it: everything is counted, what fits is
 * written, and the text stays NUL-terminated. */
typedef struct writer {
    char *buf;
    size_t len, pos;
} writer;

static void put(writer *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put(writer *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = w->pos < w->len ? w->len - w->pos : 0;
    int n = vsnprintf(room ? w->buf + w->pos : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        w->pos += (size_t)n;
}

/* A label value: backslash, double quote and line feed escaped, as the
 * format requires. */
static void put_label(writer *w, const char *s)
{
    while (*s) {
        size_t run = strcspn(s, "\\\"\n");
        if (run > 0)
            put(w, "%.*s", (int)run, s);
        s += run;
        if (*s == '\0')
            break;
        put(w, "%s", *s == '\n' ? "\\n" : *s == '"' ? "\\\"" : "\\\\");
        s++;
    }
}

static void family(writer *w, const char *name, const char *type,
                   const char *help)
{
    put(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{server="...", [op="..."]} — the sample's name and labels, up to
 * where more labels or the value go. */
static void series(writer *w, const char *name, const server *sv, int op)
{
    put(w, "%s{server=\"", name);
    put_label(w, sv->name);
    if (op >= 0)
        put(w, "\",op=\"%s", mcring_op_name((mcring_op)op));
    put(w, "\"");
}

/* Nanoseconds as seconds, exactly: 1024 -> 0.000001024. */
static void put_seconds(writer *w, uint64_t ns)
{
    char frac[16];
    snprintf(frac, sizeof(frac), "%09" PRIu64, ns % 1000000000u);
    size_t n = strlen(frac);
    while (n > 1 && frac[n - 1] == '0')
        n--;
    put(w, "%" PRIu64 ".%.*s", ns / 1000000000u, (int)n, frac);
}

typedef uint64_t (*server_counter)(server *sv);

static uint64_t c_requests(server *sv)
{
    return atomic_load_explicit(&sv->requests, memory_order_relaxed);
}
static uint64_t c_errors(server *sv)
{
    return atomic_load_explicit(&sv->errors, memory_order_relaxed);
}
static uint64_t c_connects(server *sv)
{
    return atomic_load_explicit(&sv->connects, memory_order_relaxed);
}
static uint64_t c_pool_waits(server *sv)
{
    return atomic_load_explicit(&sv->pool.waits, memory_order_relaxed);
}
static uint64_t c_pool_timeouts(server *sv)
{
    return atomic_load_explicit(&sv->pool.timeouts, memory_order_relaxed);
}
static uint64_t c_conns_open(server *sv)
{
    uint32_t open, idle;
    pool_count(&sv->pool, &open, &idle);
    return open;
}
static uint64_t c_conns_idle(server *sv)
{
    uint32_t open, idle;
    pool_count(&sv->pool, &open, &idle);
    return idle;
}
static uint64_t c_conns_max(server *sv)
{
    return sv->pool.size;
}

static const struct {
    const char *name, *type, *help;
    server_counter get;
} server_metrics_table[] = {
    {"mcring_server_requests_total", "counter",
     "Requests put on the server's connections (each round trip, "
     "failover tries included).",
     c_requests},
    {"mcring_server_errors_total", "counter",
     "Failures of the server counted for error limiting.", c_errors},
    {"mcring_server_connects_total", "counter", "Connections opened.",
     c_connects},
    {"mcring_server_pool_waits_total", "counter",
     "Requests that waited for a place on the server's connections.",
     c_pool_waits},
    {"mcring_server_pool_timeouts_total", "counter",
     "Requests that gave up waiting for a place (pool_timeout).",
     c_pool_timeouts},
    {"mcring_server_connections", "gauge",
     "Connected sockets to the server, idle or in use.", c_conns_open},
    {"mcring_server_connections_idle", "gauge",
     "Connected sockets with no request on them.", c_conns_idle},
    {"mcring_server_connections_max", "gauge",
     "Connections the server may have (memcache_max_connections).",
     c_conns_max},
};

static void write_server_counters(writer *w, const state *st)
{
    size_t n = st->ring->nservers;
    for (size_t m = 0;
         m < sizeof(server_metrics_table) / sizeof(server_metrics_table[0]);
         m++) {
        family(w, server_metrics_table[m].name, server_metrics_table[m].type,
               server_metrics_table[m].help);
        for (size_t i = 0; i < n; i++) {
            series(w, server_metrics_table[m].name, st->servers[i], -1);
            put(w, "} %" PRIu64 "\n",
                server_metrics_table[m].get(st->servers[i]));
        }
    }
    family(w, "mcring_server_error_limited_seconds", "gauge",
           "Seconds left of the server's error-limit ban, else 0.");
    int64_t now = clock_now_ns();
    for (size_t i = 0; i < n; i++) {
        int64_t until = atomic_load_explicit(&st->servers[i]->limited_until,
                                             memory_order_relaxed);
        series(w, "mcring_server_error_limited_seconds", st->servers[i], -1);
        put(w, "} ");
        put_seconds(w, until > now ? (uint64_t)(until - now) : 0);
        put(w, "\n");
    }
}

static void write_histograms(writer *w, const state *st)
{
    static const char name[] = "mcring_attempt_duration_seconds";
    static const char bucket[] = "mcring_attempt_duration_seconds_bucket";
    family(w, name, "histogram",
           "Duration of each attempt of an operation on a server, from "
           "claiming a place on a connection to the reply read.");
    op_snapshot s;
    for (size_t i = 0; i < st->ring->nservers; i++) {
        server *sv = st->servers[i];
        for (unsigned op = 0; op < METRICS_OPS; op++) {
            metrics_read(sv->metrics, op, &s);
            if (s.hist.count == 0)
                continue;
            uint64_t below = 0;
            for (unsigned b = 0; b < HIST_OVERFLOW; b++) {
                below += s.hist.buckets[b];
                uint64_t upper = hist_upper(b);
                if ((upper & (upper - 1)) != 0)
                    continue; /* only powers of two are exposed */
                series(w, bucket, sv, (int)op);
                put(w, ",le=\"");
                put_seconds(w, upper);
                put(w, "\"} %" PRIu64 "\n", below);
            }
            series(w, bucket, sv, (int)op);
            put(w, ",le=\"+Inf\"} %" PRIu64 "\n", s.hist.count);
            put(w, "%s_sum{server=\"", name);
            put_label(w, sv->name);
            put(w, "\",op=\"%s\"} ", mcring_op_name((mcring_op)op));
            put_seconds(w, s.hist.sum_ns);
            put(w, "\n%s_count{server=\"", name);
            put_label(w, sv->name);
            put(w, "\",op=\"%s\"} %" PRIu64 "\n",
                mcring_op_name((mcring_op)op), s.hist.count);
        }
    }
}

/* The per-(server, op) counters besides the histogram: failures, hits,
 * misses (which: 0, 1, 2). Gets only for hits and misses. */
static void write_op_counter(writer *w, const state *st, const char *name,
                             const char *help, int which)
{
    family(w, name, "counter", help);
    op_snapshot s;
    for (size_t i = 0; i < st->ring->nservers; i++) {
        server *sv = st->servers[i];
        for (unsigned op = 0; op < METRICS_OPS; op++) {
            bool get = op == MCRING_OP_GET || op == MCRING_OP_GET_MULTI;
            if (which != 0 && !get)
                continue;
            metrics_read(sv->metrics, op, &s);
            if (s.hist.count == 0)
                continue;
            series(w, name, sv, (int)op);
            put(w, "} %" PRIu64 "\n",
                which == 0 ? s.failures : which == 1 ? s.hits : s.misses);
        }
    }
}

static void write_compression(writer *w, compress_stats *cs)
{
    static const struct {
        const char *name, *help;
        size_t offset;
    } rows[] = {
        {"mcring_compressed_values_total", "Values stored compressed.",
         offsetof(compress_stats, compressed)},
        {"mcring_compression_input_bytes_total",
         "Bytes of the values stored compressed, before compression.",
         offsetof(compress_stats, bytes_in)},
        {"mcring_compression_output_bytes_total",
         "Bytes of the values stored compressed, as stored.",
         offsetof(compress_stats, bytes_out)},
        {"mcring_compression_not_smaller_total",
         "Values above min_compress_len stored uncompressed because "
         "compressing did not make them smaller.",
         offsetof(compress_stats, not_smaller)},
        {"mcring_decompressed_values_total", "Compressed values read.",
         offsetof(compress_stats, decompressed)},
    };
    for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
        family(w, rows[r].name, "counter", rows[r].help);
        atomic_uint_fast64_t *c =
            (atomic_uint_fast64_t *)((char *)cs + rows[r].offset);
        for (int a = COMPRESS_ZLIB; a < COMPRESS_ALGOS; a++)
            put(w, "%s{algorithm=\"%s\"} %" PRIu64 "\n", rows[r].name,
                compress_algo_name((compress_algo)a),
                (uint64_t)atomic_load_explicit(&c[a], memory_order_relaxed));
    }
    static const char refused[] = "mcring_decompression_refused_total";
    family(w, refused, "counter",
           "Compressed values refused on read: too_large (would expand past "
           "item_size_max, or 64 MiB without one) or corrupt.");
    for (int a = COMPRESS_ZLIB; a < COMPRESS_ALGOS; a++) {
        const char *an = compress_algo_name((compress_algo)a);
        put(w, "%s{algorithm=\"%s\",reason=\"too_large\"} %" PRIu64 "\n",
            refused, an,
            (uint64_t)atomic_load_explicit(&cs->too_large[a],
                                           memory_order_relaxed));
        put(w, "%s{algorithm=\"%s\",reason=\"corrupt\"} %" PRIu64 "\n",
            refused, an,
            (uint64_t)atomic_load_explicit(&cs->corrupt[a],
                                           memory_order_relaxed));
    }
}

size_t mcring_client_write_prometheus(mcring_client *c, char *buf, size_t len)
{
    writer w = {buf, buf != NULL ? len : 0, 0};
    if (w.len > 0)
        buf[0] = '\0';
    if (c == NULL)
        return 0;
    const state *st = client_enter(c);
    family(&w, "mcring_build_info", "gauge",
           "The mcring library's version, as a label; always 1.");
    put(&w, "mcring_build_info{version=\"%s\"} 1\n", mcring_version());
    family(&w, "mcring_servers", "gauge", "Servers in the current ring.");
    put(&w, "mcring_servers %zu\n", st->ring->nservers);
    write_server_counters(&w, st);
    write_histograms(&w, st);
    write_op_counter(&w, st, "mcring_attempt_failures_total",
                     "Attempts of an operation on a server that ended in "
                     "a failure.",
                     0);
    write_op_counter(&w, st, "mcring_key_hits_total",
                     "Keys a get found on the server.", 1);
    write_op_counter(&w, st, "mcring_key_misses_total",
                     "Keys a get did not find on the server.", 2);
    state_leave();
    write_compression(&w, &c->compress);
    return w.pos;
}
