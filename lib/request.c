#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "meta.h"
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

    if (server_record_error(sv, &st->set.limits, clock_now_ns()))
        client_log(st, MCRING_LOG_ERROR, sv, "Error limiting server %s",
                   sv->name);
    return rc;
}

/* ---- one request on one server -------------------------------------------*/

mux_slot *server_claim(const state *st, server *sv, int *rc)
{
    atomic_fetch_add_explicit(&sv->requests, 1, memory_order_relaxed);
    bool connect = false;
    int64_t pool_deadline;
    mux_slot *s = pool_claim(&sv->pool, st->set.depth, st->set.pool_timeout_ns,
                             &connect, &pool_deadline);
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
    const char *why = c->why;
    fence_mode fence =
        st->set.fences
            ? (fence_mode)atomic_load_explicit(&sv->pool.fence_hint,
                                               memory_order_relaxed)
            : FENCE_OFF;
    mux_slot_connected(s, r, fence);
    if (r != 0) {
        *rc = server_failed(st, sv, r,
                            r == MCRING_EPOOLTIMEOUT ? PHASE_POOL
                                                     : PHASE_CONNECT,
                            e, why, NULL);
        return NULL;
    }
    atomic_fetch_add_explicit(&sv->connects, 1, memory_order_relaxed);
    return s;
}

int server_settle(const state *st, server *sv, mux_req *r)
{
    int rc = r->pr.result;
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
    server_submit(st, s, &r, &w);
    mux_req *one = &r;
    mux_wait(&one, 1, &w);
    return server_settle(st, sv, &r);
}

/* ---- the failover walk ---------------------------------------------------*/

int with_failover(const state *st, mcring_op op, size_t key_len,
                  const keyhash *where, attempt_fn attempt, void *ctx)
{
    uint32_t small[64];
    uint32_t *order = small;
    size_t tries = st->ring->tries;
    if (tries > 64) {
        order = malloc(tries * sizeof(*order));
        if (order == NULL)
            return MCRING_ENOMEM;
    }
    /* The first server usually answers: walk the ring for it alone, and
     * for the rest of the try order only when it is needed. */
    size_t n = ring_locate(st->ring, where, order, 1);

    int rc = MCRING_ELIMITED;
    bool connected = false;
    attempt_info info = {op, key_len, 1, 0};
    for (size_t i = 0;; i++) {
        if (i == n) {
            if (n >= tries)
                break;
            n = ring_locate(st->ring, where, order, tries);
            if (i >= n)
                break;
        }
        server *sv = st->servers[order[i]];
        if (server_is_limited(sv))
            continue;
        int64_t start = metrics_attempt_start(st->set.timed);
        rc = attempt(st, sv, ctx, &connected);
        if (st->set.timed) {
            info.attempt++;
            metrics_attempt_end(st, sv, &info, rc, start);
        }
        if (rc_is_final(rc))
            break;
    }
    if (!connected)
        client_log(st, MCRING_LOG_ERROR, NULL,
                   "All memcached servers error-limited");
    if (order != small)
        free(order);
    return rc;
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
