#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "meta.h"
#include "prober.h"
#include "request.h"

/* ---- keys ----------------------------------------------------------------*/

int key_prepare_digest(const settings *s, const void *key, size_t len,
                       const unsigned char md5[MD5_LEN], key_op *k)
{
    if (key == NULL) {
        if (len > 0)
            return MCRING_EINVAL;
        key = "";
    }
    /* Meta commands carry any key bytes (base64-encoded, meta.h); text
     * commands only those the syntax can. */
    if (s->keys == KEYS_RAW && !(s->protocol == PROTOCOL_META
                                     ? meta_key_valid(key, len)
                                     : proto_key_valid(key, len)))
        return MCRING_EKEY;
    k->kh.key = key;
    k->kh.len = len;
    if (md5 != NULL)
        memcpy(k->kh.md5, md5, MD5_LEN);
    else
        hash_md5(key, len, k->kh.md5);
    if (s->keys == KEYS_RAW) {
        k->wire = key;
        k->wire_len = len;
    } else {
        hash_hex(k->kh.md5, k->hex);
        k->wire = k->hex;
        k->wire_len = MD5_HEX_LEN;
    }
    return 0;
}

int key_prepare(const settings *s, const void *key, size_t len, key_op *k)
{
    return key_prepare_digest(s, key, len, NULL, k);
}

/* ---- logging and failure accounting ------------------------------------ */

void client_log(const state *st, mcring_log_level level, const server *sv,
                const char *fmt, ...)
{
    if (st->set.log == NULL)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    st->set.log(st->set.log_userdata, level, sv ? sv->name : NULL, msg);
}

/* What a failure says of the server's health. */
static health_failure failure_kind(int rc, phase ph)
{
    if (ph == PHASE_CONNECT)
        return FAILURE_CONNECT;
    switch (rc) {
    case MCRING_ECONNREFUSED:
    case MCRING_ECONNECT:
    case MCRING_ECONNTIMEOUT:
    case MCRING_ERESOLVE:
        return FAILURE_CONNECT;
    case MCRING_ETIMEOUT:
    case MCRING_EPOOLTIMEOUT:
        return FAILURE_TIMEOUT;
    default:
        return FAILURE_OTHER;
    }
}

/* server_health = probe: counts a failure toward marking sv down; when it
 * goes down, says so, hands it to the prober, and sends whoever waits for
 * one of its connections on (they give up: pool.h). */
static void health_note(const state *st, server *sv, health_failure kind,
                        bool over_limit, int64_t now)
{
    bool capped;
    health_status to = health_failed(&sv->health, sv->fleet, &st->set.health,
                                     kind, over_limit, now, &capped);
    if (to == HEALTH_UP)
        return;
    client_log(st, MCRING_LOG_ERROR, sv,
               "Marking memcached server %s down (%s): requests pass it by "
               "until a probe answers",
               sv->name,
               to == HEALTH_HARD_DOWN ? "it refused or did not take a "
                                        "connection"
               : over_limit           ? "error limit"
                                      : "timeouts in a row");
    if (sv->fleet != NULL && sv->fleet->prober != NULL &&
        !prober_kick(sv->fleet->prober)) {
        /* Nothing would bring it back: keep using it. */
        health_restore(&sv->health, sv->fleet, now);
        client_log(st, MCRING_LOG_ERROR, sv,
                   "Cannot start the health prober: %s stays in use",
                   sv->name);
        return;
    }
    pool_wake_waiters(&sv->pool);
}

int server_failed(const state *st, server *sv, int rc, phase ph,
                  int sys_errno, const char *why_text, const char *detail)
{
    static const char *const action[] = {
        [PHASE_POOL] = "getting a connection",
        [PHASE_CONNECT] = "connecting",
        [PHASE_TALK] = "talking",
    };
    char why[160];
    if (detail != NULL && detail[0] != '\0')
        snprintf(why, sizeof(why), "%s", detail);
    else if (why_text != NULL)
        snprintf(why, sizeof(why), "%s: %s", mcring_strerror(rc), why_text);
    else if (sys_errno != 0)
        snprintf(why, sizeof(why), "%s: %s", mcring_strerror(rc),
                 strerror(sys_errno));
    else
        snprintf(why, sizeof(why), "%s", mcring_strerror(rc));

    if (ph == PHASE_SET)
        client_log(st, MCRING_LOG_ERROR, sv,
                   "Error setting value in memcached: %s: %s", sv->name, why);
    else if (rc == MCRING_EPOOLTIMEOUT || rc == MCRING_ECONNTIMEOUT ||
             rc == MCRING_ETIMEOUT)
        client_log(st, MCRING_LOG_ERROR, sv, "Timeout %s to memcached: %s",
                   action[ph], sv->name);
    else
        client_log(st, MCRING_LOG_ERROR, sv, "Error %s to memcached: %s: %s",
                   action[ph], sv->name, why);

    int64_t now = clock_now_ns();
    if (!st->set.health.probe) {
        if (server_record_error(sv, &st->set.limits, now))
            client_log(st, MCRING_LOG_ERROR, sv, "Error limiting server %s",
                       sv->name);
    } else {
        bool over = server_count_error(sv, &st->set.limits, now);
        health_note(st, sv, failure_kind(rc, ph), over, now);
    }
    return rc;
}

bool server_passed_by(const state *st, server *sv)
{
    bool skip = st->set.health.probe ? health_is_down(&sv->health)
                                     : server_is_limited(sv);
    if (skip)
        atomic_fetch_add_explicit(&sv->fast_fails, 1, memory_order_relaxed);
    return skip;
}

/* ---- one request on one server -------------------------------------------*/

mux_slot *server_claim(const state *st, server *sv, int *rc)
{
    if (st->set.health.probe && health_is_down(&sv->health)) {
        atomic_fetch_add_explicit(&sv->fast_fails, 1, memory_order_relaxed);
        *rc = MCRING_ELIMITED;
        return NULL;
    }
    atomic_fetch_add_explicit(&sv->requests, 1, memory_order_relaxed);
    bool connect = false;
    int64_t pool_deadline;
    connect_limits lim = state_connect_limits(st, sv);
    claim_failure why;
    mux_slot *s = pool_claim_limited(&sv->pool, st->set.depth,
                                     st->set.pool_timeout_ns, &lim, &connect,
                                     &pool_deadline, &why);
    if (s == NULL && why != CLAIM_TIMEOUT) {
        /* Down meanwhile, or no connect allowed: no socket touched. */
        atomic_fetch_add_explicit(&sv->fast_fails, 1, memory_order_relaxed);
        *rc = MCRING_ELIMITED;
        return NULL;
    }
    if (s == NULL) {
        *rc = server_failed(st, sv, MCRING_EPOOLTIMEOUT, PHASE_POOL, 0, NULL,
                            NULL);
        return NULL;
    }
    if (!connect)
        return s;
    /* This caller connects the slot; others may queue on it meanwhile. */
    conn *c = &s->pl.conn;
    int r = conn_connect(c, &sv->addr, st->tls, st->set.connect_timeout_ns,
                         st->set.io_timeout_ns, pool_deadline);
    int e = c->sys_errno;
    const char *why_text = c->why;
    fence_mode fence =
        st->set.fences
            ? (fence_mode)atomic_load_explicit(&sv->pool.fence_hint,
                                               memory_order_relaxed)
            : FENCE_OFF;
    mux_slot_connected(s, r, fence);
    if (r != 0) {
        /* Counted (and the server marked down) before the callers waiting
         * for this connect look again, so that they pass it by rather
         * than dial it themselves. */
        *rc = server_failed(st, sv, r,
                            r == MCRING_EPOOLTIMEOUT ? PHASE_POOL
                                                     : PHASE_CONNECT,
                            e, why_text, NULL);
        pool_connect_done(&sv->pool);
        return NULL;
    }
    pool_connect_done(&sv->pool);
    atomic_fetch_add_explicit(&sv->connects, 1, memory_order_relaxed);
    return s;
}

int server_settle(const state *st, server *sv, mux_req *r)
{
    int rc = r->pr.result;
    if (rc == 0)
        health_ok(&sv->health);
    if (r->count_it)
        server_failed(st, sv, rc != 0 ? rc : r->uncounted_rc, PHASE_TALK,
                      r->fail_errno, r->fail_why, r->fail_detail);
    return rc;
}

int server_roundtrip(const state *st, server *sv, struct iovec *iov,
                     int iovcnt, reply_reader *rd, bool *connected)
{
    int rc;
    mux_slot *s = server_claim(st, sv, &rc);
    if (s == NULL)
        return rc;
    *connected = true;
    waiter w;
    waiter_init(&w);
    mux_req r;
    r.pr.iov = iov;
    r.pr.iovcnt = iovcnt;
    r.pr.reader = rd;
    r.no_defer = false; /* its caller waits here alone */
    server_submit(st, s, &r, &w);
    mux_req *one = &r;
    mux_wait(&one, 1, &w);
    return server_settle(st, sv, &r);
}

int server_read_one(const state *st, server *sv, struct iovec *line,
                    const mcring_key *key, mcring_item *item,
                    bool *connected)
{
    int status;
    get_reader rd;
    get_reader_init(&rd, key, NULL, 1, item, &status, st->set.item_size_max);
    int rc = server_roundtrip(st, sv, line, 1, &rd.base, connected);
    if (rc == 0 && rd.outcome != 0)
        rc = server_failed(st, sv, rd.outcome, PHASE_TALK, 0, NULL,
                           rd.base.detail);
    if (rc != 0) {
        get_reader_reset(&rd);
        return rc;
    }
    return status;
}

/* ---- the failover walk ---------------------------------------------------*/

size_t request_order(const state *st, const keyhash *where, uint32_t *out,
                     size_t max)
{
    if (max == 0)
        return 0;
    if (st->gutter == NULL)
        return ring_locate(st->ring, where, out, max);
    size_t n = ring_locate(st->ring, where, out, 1);
    if (n == 0 || max == 1)
        return n;
    size_t g = ring_locate(st->gutter, where, out + 1, max - 1);
    for (size_t i = 1; i <= g; i++)
        out[i] += (uint32_t)st->ring->nservers;
    return 1 + g;
}

/* Walks ring's try order for where (its server i is st->servers[base +
 * i]) from position `from`, running attempt on each server not passed by
 * until one gives a final answer, and recording each attempt as info says
 * (metrics.h). *rc keeps the last attempt's outcome (untouched when none
 * ran). Returns MCRING_ENOMEM or 0. */
static int walk(const state *st, const mcring_ring *ring, size_t base,
                size_t from, size_t limit, const keyhash *where,
                attempt_fn attempt, void *ctx, attempt_info *info,
                bool *connected, int *rc)
{
    uint32_t small[64];
    uint32_t *order = small;
    size_t tries = ring->tries < limit ? ring->tries : limit;
    if (tries > 64) {
        order = malloc(tries * sizeof(*order));
        if (order == NULL)
            return MCRING_ENOMEM;
    }
    /* The first server usually answers: walk the ring for it alone, and
     * for the rest of the try order only when it is needed. */
    size_t n = from < tries ? ring_locate(ring, where, order, from + 1) : 0;
    for (size_t i = from;; i++) {
        if (i == n) {
            if (n >= tries)
                break;
            n = ring_locate(ring, where, order, tries);
            if (i >= n)
                break;
        }
        server *sv = st->servers[base + order[i]];
        if (server_passed_by(st, sv))
            continue;
        int64_t start = metrics_attempt_start(st->set.timed);
        *rc = attempt(st, sv, ctx, connected);
        if (st->set.timed) {
            info->attempt++;
            metrics_attempt_end(st, sv, info, *rc, start);
        }
        if (rc_is_final(*rc))
            break;
    }
    if (order != small)
        free(order);
    return 0;
}

int with_failover_gutter(const state *st, mcring_op op, size_t key_len,
                         const keyhash *where, attempt_fn attempt, void *ctx,
                         void *gutter_ctx)
{
    attempt_info info = {op, key_len, 1, 0};
    int rc = MCRING_ELIMITED;
    bool connected = false;
    int e;
    if (st->gutter == NULL) {
        e = walk(st, st->ring, 0, 0, SIZE_MAX, where, attempt, ctx,
                 &info, &connected, &rc);
    } else {
        /* The key's own server, then the gutter instead of the ring. */
        e = walk(st, st->ring, 0, 0, 1, where, attempt, ctx, &info,
                 &connected, &rc);
        if (e == 0 && !rc_is_final(rc)) {
            uint32_t first;
            ring_locate(st->ring, where, &first, 1);
            atomic_fetch_add_explicit(&st->servers[first]->to_gutter, 1,
                                      memory_order_relaxed);
            e = walk(st, st->gutter, st->ring->nservers, 0, SIZE_MAX, where,
                     attempt, gutter_ctx, &info, &connected, &rc);
        }
    }
    if (e != 0)
        return e;
    if (!connected)
        client_log(st, MCRING_LOG_ERROR, NULL,
                   "All memcached servers error-limited");
    return rc;
}

int with_failover(const state *st, mcring_op op, size_t key_len,
                  const keyhash *where, attempt_fn attempt, void *ctx)
{
    return with_failover_gutter(st, op, key_len, where, attempt, ctx, ctx);
}

int with_failover_both(const state *st, mcring_op op, size_t key_len,
                       const keyhash *where, attempt_fn attempt, void *ctx)
{
    if (st->gutter == NULL)
        return with_failover(st, op, key_len, where, attempt, ctx);
    attempt_info info = {op, key_len, 1, 0};
    int first = MCRING_ELIMITED, gutter = MCRING_ELIMITED;
    bool connected = false;
    int e = walk(st, st->ring, 0, 0, 1, where, attempt, ctx, &info,
                 &connected, &first);
    if (e == 0)
        e = walk(st, st->gutter, st->ring->nservers, 0, SIZE_MAX, where,
                 attempt, ctx, &info, &connected, &gutter);
    if (e != 0)
        return e;
    if (!connected)
        client_log(st, MCRING_LOG_ERROR, NULL,
                   "All memcached servers error-limited");
    if (first == MCRING_OK || gutter == MCRING_OK)
        return MCRING_OK;
    return rc_is_final(first) ? first : gutter;
}

int64_t request_gutter_exptime(const state *st, int64_t exptime)
{
    int64_t cap = st->set.gutter_ttl;
    if (exptime < 0)
        return exptime; /* already expired */
    if (exptime == 0)
        return cap; /* "never" */
    if (exptime <= 2592000)
        return exptime > cap ? cap : exptime; /* seconds from now */
    /* An absolute time (Swift's TTLs over 30 days). */
    return exptime - (int64_t)clock_wall_s() > cap ? cap : exptime;
}

/* ---- expiry times --------------------------------------------------------*/

/* memcached keeps exptime in a signed 32-bit number: an absolute time past
 * this (January 2038) is taken as already expired. */
#define EXPTIME_MAX 2147483647LL

int request_exptime(const state *st, double ttl, int64_t *exptime)
{
    if (proto_exptime(ttl, clock_wall_s(), exptime) != 0)
        return MCRING_EINVAL;
    if (*exptime > EXPTIME_MAX)
        client_log(st, MCRING_LOG_WARNING, NULL,
                   "TTL %.0f s ends after 2038 (exptime %lld): memcached "
                   "stores the item already expired",
                   ttl, (long long)*exptime);
    return 0;
}

/* ---- Swift's item size warning -------------------------------------------*/

/* Python's swift.common.utils.human_readable (round half to even). */
static void human_readable(double v, char *buf, size_t len)
{
    static const char suffixes[] = "KMGTPEZY";
    int index = -1;
    while (v >= 1024 && index + 1 < (int)sizeof(suffixes) - 1) {
        index++;
        v = nearbyint(v / 1024);
    }
    if (index == -1)
        snprintf(buf, len, "%.0f", v);
    else
        snprintf(buf, len, "%.0f%ci", nearbyint(v), suffixes[index]);
}

void warn_item_size(const state *st, size_t len)
{
    int64_t t = st->set.item_size_warning_threshold;
    if (t < 0 || (uint64_t)t > len)
        return;
    char a[32], b[32];
    human_readable((double)len, a, sizeof(a));
    human_readable((double)t, b, sizeof(b));
    client_log(st, MCRING_LOG_WARNING, NULL,
               "Item size larger than warning threshold: %zu (%s) >= %lld "
               "(%s)",
               len, a, (long long)t, b);
}
