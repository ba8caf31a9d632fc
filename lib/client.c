/*
 * The client: its life cycle, reconfiguration, and the single-key
 * operations. Every call follows the same path, top to bottom:
 *
 *   prepare the key (hash, validate) → enter the RCU read side and take the
 *   current state → ask the ring for the try order → for each server not
 *   error-limited: borrow a connection (connecting it if needed), run the
 *   exchange, give the connection back (closing it if its stream may be out
 *   of step) → on a server failure, log and count it, try the next server.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "clock.h"
#include "error.h"
#include "watch.h"

const char *mcring_version(void)
{
    return MCRING_VERSION_STRING;
}

void mcring_item_free(mcring_item *item)
{
    if (item == NULL)
        return;
    free(item->data);
    item->data = NULL;
    item->len = item->cap = 0;
    item->flags = 0;
}

/* ---- keys ----------------------------------------------------------------*/

int key_prepare_digest(const settings *s, const void *key, size_t len,
                       const unsigned char md5[MD5_LEN], key_op *k)
{
    if (key == NULL) {
        if (len > 0)
            return MCRING_EINVAL;
        key = "";
    }
    if (s->keys == KEYS_RAW && !proto_key_valid(key, len))
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

pool_slot *server_borrow(const state *st, server *sv, int *rc)
{
    atomic_fetch_add_explicit(&sv->requests, 1, memory_order_relaxed);
    /* The common case, an idle connection, needs no clock. */
    pool_slot *slot = pool_try_borrow(&sv->pool);
    if (slot != NULL && conn_is_open(&slot->conn))
        return slot;
    int64_t pool_deadline = clock_now_ns() + st->set.pool_timeout_ns;
    if (slot == NULL)
        slot = pool_borrow(&sv->pool, pool_deadline);
    if (slot == NULL) {
        *rc = server_failed(st, sv, MCRING_EPOOLTIMEOUT, PHASE_POOL, 0, NULL,
                            NULL);
        return NULL;
    }
    if (conn_is_open(&slot->conn))
        return slot; /* an idle one came back while we waited */
    int r = conn_connect(&slot->conn, &sv->addr, st->tls,
                         st->set.connect_timeout_ns, st->set.io_timeout_ns,
                         pool_deadline);
    if (r != 0) {
        int e = slot->conn.sys_errno;
        const char *why = slot->conn.why;
        pool_return(&sv->pool, slot, false);
        *rc = server_failed(st, sv, r,
                            r == MCRING_EPOOLTIMEOUT ? PHASE_POOL
                                                     : PHASE_CONNECT,
                            e, why, NULL);
        return NULL;
    }
    pool_count_open(&sv->pool);
    atomic_fetch_add_explicit(&sv->connects, 1, memory_order_relaxed);
    return slot;
}

int server_release(const state *st, server *sv, pool_slot *slot, int rc,
                   phase ph, const char *detail)
{
    /* Read what the log needs before the slot is back in other hands. */
    int e = slot->conn.sys_errno;
    const char *why = slot->conn.why;
    pool_return(&sv->pool, slot, rc_keeps_conn(rc));
    if (rc_is_final(rc))
        return rc;
    return server_failed(st, sv, rc, ph, e, why, detail);
}

/* ---- reply classification ---------------------------------------------- */

static int reply_failure(exchange *x, const reply *r)
{
    return exchange_reply_failure(x, r);
}

int classify_store(exchange *x, const reply *r, uint64_t *number)
{
    (void)number;
    if (r->kind == REPLY_STORED)
        return MCRING_OK;
    if (r->kind == REPLY_NOT_STORED) {
        snprintf(x->detail, sizeof(x->detail), "NOT_STORED");
        return MCRING_EREJECTED;
    }
    return reply_failure(x, r);
}

static int classify_add(exchange *x, const reply *r, uint64_t *number)
{
    (void)number;
    if (r->kind == REPLY_STORED)
        return MCRING_OK;
    if (r->kind == REPLY_NOT_STORED)
        return MCRING_NOT_STORED;
    return reply_failure(x, r);
}

static int classify_delete(exchange *x, const reply *r, uint64_t *number)
{
    (void)number;
    if (r->kind == REPLY_DELETED)
        return MCRING_OK;
    if (r->kind == REPLY_NOT_FOUND)
        return MCRING_MISS;
    return reply_failure(x, r);
}

static int classify_arith(exchange *x, const reply *r, uint64_t *number)
{
    if (r->kind == REPLY_NUMBER) {
        *number = r->number;
        return MCRING_OK;
    }
    if (r->kind == REPLY_NOT_FOUND)
        return MCRING_MISS;
    if (proto_is_non_numeric(r)) {
        snprintf(x->detail, sizeof(x->detail), "value is not a number");
        return MCRING_ENOTNUM;
    }
    return reply_failure(x, r);
}

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

/* ---- the failover walk ---------------------------------------------------*/

typedef int (*attempt_fn)(const state *st, conn *cn, void *ctx,
                          int64_t deadline, char *detail, phase *ph);

/*
 * Runs attempt on the servers the ring gives for `where`, in order, until
 * one gives a final answer. An error-limited server uses up its try, as in
 * Swift. Call inside the RCU read side.
 */
static int with_failover(const state *st, const keyhash *where,
                         attempt_fn attempt, void *ctx)
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
        pool_slot *slot = server_borrow(st, sv, &rc);
        if (slot == NULL)
            continue;
        connected = true;
        char detail[96] = "";
        phase ph = PHASE_TALK;
        int r = attempt(st, &slot->conn, ctx,
                        clock_now_ns() + st->set.io_timeout_ns, detail, &ph);
        rc = server_release(st, sv, slot, r, ph, detail);
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

/* ---- get ----------------------------------------------------------------*/

typedef struct get_ctx {
    mcring_key key;
    mcring_item *item;
    int status;
} get_ctx;

static int attempt_get(const state *st, conn *cn, void *ctx, int64_t deadline,
                       char *detail, phase *ph)
{
    (void)ph;
    get_ctx *g = ctx;
    char line[PROTO_HEADER_MAX];
    struct iovec iov = {line, proto_get(line, g->key.data, g->key.len)};
    get_reader r;
    get_reader_init(&r, &g->key, NULL, 1, g->item, &g->status,
                    st->set.item_size_max);
    exchange x = {.conn = cn, .iov = &iov, .iovcnt = 1,
                  .read = get_reader_read, .ctx = &r};
    int rc = exchange_run(&x, deadline);
    if (rc != 0) {
        /* Nothing read from a server that failed may reach the caller
         * (Swift returns such a value; bug 5). */
        get_reader_reset(&r);
        snprintf(detail, 96, "%s", x.detail);
        return rc;
    }
    return g->status;
}

int mcring_get(mcring_client *c, const void *key, size_t key_len,
               mcring_item *out)
{
    if (c == NULL || out == NULL)
        return MCRING_EINVAL;
    out->len = 0;
    out->flags = 0;
    state *st = state_enter(&c->current);
    key_op k;
    int rc = key_prepare(&st->set, key, key_len, &k);
    if (rc == 0) {
        get_ctx g = {{k.wire, k.wire_len}, out, MCRING_MISS};
        rc = with_failover(st, &k.kh, attempt_get, &g);
    }
    state_leave();
    if (rc != MCRING_OK && rc != MCRING_UNDECODABLE)
        out->len = 0;
    return rc;
}

/* ---- set ----------------------------------------------------------------*/

typedef struct set_ctx {
    const char *key;
    size_t key_len;
    const void *value;
    size_t value_len;
    uint32_t flags;
    int64_t exptime;
} set_ctx;

static int attempt_set(const state *st, conn *cn, void *ctx, int64_t deadline,
                       char *detail, phase *ph)
{
    (void)st;
    set_ctx *s = ctx;
    char head[PROTO_HEADER_MAX];
    struct iovec iov[3] = {
        {head, proto_storage_header(head, "set", s->key, s->key_len, s->flags,
                                    s->exptime, s->value_len)},
        {(void *)s->value, s->value_len},
        {(void *)"\r\n", 2},
    };
    int result;
    int rc = exchange_line(cn, iov, 3, classify_store, &result, NULL,
                           deadline, detail, 96);
    if (rc != 0)
        return rc;
    if (!rc_is_final(result))
        *ph = PHASE_SET; /* the server answered, but not STORED */
    return result;
}

int mcring_set(mcring_client *c, const void *key, size_t key_len,
               const void *value, size_t value_len, uint32_t flags, double ttl)
{
    if (c == NULL || (value == NULL && value_len > 0))
        return MCRING_EINVAL;
    int64_t exptime;
    if (proto_exptime(ttl, clock_wall_s(), &exptime) != 0)
        return MCRING_EINVAL;
    state *st = state_enter(&c->current);
    key_op k;
    int rc = key_prepare(&st->set, key, key_len, &k);
    if (rc == 0 && value_len > st->set.item_size_max)
        rc = MCRING_ETOOLARGE;
    if (rc == 0) {
        set_ctx s = {k.wire, k.wire_len, value ? value : "", value_len,
                     flags, exptime};
        rc = with_failover(st, &k.kh, attempt_set, &s);
        if (rc == MCRING_OK)
            warn_item_size(st, value_len);
    }
    state_leave();
    return rc;
}

/* ---- delete ------------------------------------------------------------- */

static int attempt_delete(const state *st, conn *cn, void *ctx,
                          int64_t deadline, char *detail, phase *ph)
{
    (void)st;
    (void)ph;
    const key_op *k = ctx;
    char line[PROTO_HEADER_MAX];
    struct iovec iov = {line, proto_delete(line, k->wire, k->wire_len)};
    int result;
    int rc = exchange_line(cn, &iov, 1, classify_delete, &result, NULL,
                           deadline, detail, 96);
    return rc != 0 ? rc : result;
}

int mcring_delete(mcring_client *c, const void *key, size_t key_len,
                  const void *server_key, size_t server_key_len)
{
    if (c == NULL)
        return MCRING_EINVAL;
    state *st = state_enter(&c->current);
    key_op k;
    int rc = key_prepare(&st->set, key, key_len, &k);
    if (rc == 0) {
        /* Swift: md5hash(server_key) if server_key else key. */
        keyhash where = k.kh;
        if (server_key != NULL && server_key_len > 0)
            keyhash_init(&where, server_key, server_key_len);
        rc = with_failover(st, &where, attempt_delete, &k);
    }
    state_leave();
    return rc;
}

/* ---- incr / decr -------------------------------------------------------- */

/* Rounds of incr → add → incr before giving up on a key that keeps being
 * created and deleted under us. */
#define ARITH_ROUNDS 3

typedef struct arith_ctx {
    const key_op *key;
    bool incr;
    uint64_t delta;
    int64_t exptime;
    uint64_t result;
} arith_ctx;

static int attempt_arith(const state *st, conn *cn, void *ctx,
                         int64_t deadline, char *detail, phase *ph)
{
    (void)st;
    (void)ph;
    arith_ctx *a = ctx;
    const key_op *k = a->key;
    char line[PROTO_HEADER_MAX];
    /* The value a missing key is created with: the delta, or 0 for decr. */
    char init[24];
    size_t init_len = proto_u64(init, a->incr ? a->delta : 0);

    for (int round = 0; round < ARITH_ROUNDS; round++) {
        struct iovec iov = {line, proto_arith(line, a->incr, k->wire,
                                              k->wire_len, a->delta)};
        int result;
        int rc = exchange_line(cn, &iov, 1, classify_arith, &result,
                               &a->result, deadline, detail, 96);
        if (rc != 0)
            return rc;
        if (result != MCRING_MISS)
            return result; /* OK with a->result, ENOTNUM, or a failure */

        /* NOT_FOUND: create it with add, the TTL applying only here. */
        struct iovec add[3] = {
            {line, proto_storage_header(line, "add", k->wire, k->wire_len, 0,
                                        a->exptime, init_len)},
            {init, init_len},
            {(void *)"\r\n", 2},
        };
        rc = exchange_line(cn, add, 3, classify_add, &result, NULL, deadline,
                           detail, 96);
        if (rc != 0)
            return rc;
        if (result == MCRING_OK) {
            a->result = a->incr ? a->delta : 0;
            return MCRING_OK;
        }
        if (result != MCRING_NOT_STORED)
            return result;
        /* Somebody else created it in between: count on theirs. */
    }
    snprintf(detail, 96, "key kept disappearing");
    return MCRING_ERACE;
}

static int arith(mcring_client *c, const void *key, size_t key_len, bool incr,
                 uint64_t delta, double ttl, uint64_t *result)
{
    if (c == NULL)
        return MCRING_EINVAL;
    int64_t exptime;
    if (proto_exptime(ttl, clock_wall_s(), &exptime) != 0)
        return MCRING_EINVAL;
    state *st = state_enter(&c->current);
    key_op k;
    int rc = key_prepare(&st->set, key, key_len, &k);
    if (rc == 0) {
        arith_ctx a = {&k, incr, delta, exptime, 0};
        rc = with_failover(st, &k.kh, attempt_arith, &a);
        if (rc == MCRING_OK && result != NULL)
            *result = a.result;
    }
    state_leave();
    return rc;
}

/* |v| for any int64, INT64_MIN included. */
static uint64_t magnitude(int64_t v)
{
    return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

int mcring_incr(mcring_client *c, const void *key, size_t key_len,
                int64_t delta, double ttl, uint64_t *result)
{
    return arith(c, key, key_len, delta >= 0, magnitude(delta), ttl, result);
}

int mcring_decr(mcring_client *c, const void *key, size_t key_len,
                int64_t delta, double ttl, uint64_t *result)
{
    /* Swift: decr(delta) is incr(-delta); decr(-5) adds 5. */
    return arith(c, key, key_len, delta <= 0, magnitude(delta), ttl, result);
}

/* ---- life cycle ---------------------------------------------------------*/

int client_snapshot(mcring_client *c, mcring_options *opts,
                    mcring_options *base, uint64_t *generation)
{
    pthread_mutex_lock(&c->reg.lock);
    int rc = opts != NULL ? options_copy(opts, &c->opts) : 0;
    if (rc == 0 && base != NULL && (rc = options_copy(base, &c->base)) != 0 &&
        opts != NULL)
        options_clear(opts);
    *generation = c->generation;
    pthread_mutex_unlock(&c->reg.lock);
    return rc;
}

int client_publish(mcring_client *c, mcring_options *o, mcring_options *base,
                   uint64_t since, const atomic_bool *abandon, char *err,
                   size_t errlen)
{
    /* The ring (the expensive part) is built outside the lock, so a large
     * reconfiguration holds up neither other writers nor the reclaimer. */
    state *st;
    int rc = state_prepare(o, &st, err, errlen);
    if (rc != 0)
        return rc;
    if (abandon != NULL && atomic_load(abandon)) {
        state_discard(st);
        return CLIENT_ABANDONED;
    }
    pthread_mutex_lock(&c->reg.lock);
    if (since != CLIENT_ANY_GENERATION && since != c->generation)
        rc = CLIENT_STALE;
    else
        rc = state_attach(st, &c->reg, err, errlen);
    if (rc == 0) {
        state_publish(&c->current, st);
        c->generation++;
        options_clear(&c->opts);
        c->opts = *o;
        if (base != NULL) {
            options_clear(&c->base);
            c->base = *base;
        }
    }
    pthread_mutex_unlock(&c->reg.lock);
    if (rc != 0)
        state_discard(st);
    return rc;
}

int client_apply(mcring_client *c, const mcring_options *o, bool as_base,
                 char *err, size_t errlen)
{
    mcring_options copy, base;
    if (options_copy(&copy, o) != 0)
        return err_set(err, errlen, MCRING_ENOMEM, "out of memory");
    if (as_base && options_copy(&base, o) != 0) {
        options_clear(&copy);
        return err_set(err, errlen, MCRING_ENOMEM, "out of memory");
    }
    int rc = client_publish(c, &copy, as_base ? &base : NULL,
                            CLIENT_ANY_GENERATION, NULL, err, errlen);
    if (rc != 0) {
        options_clear(&copy);
        if (as_base)
            options_clear(&base);
    }
    return rc;
}

int mcring_client_new(mcring_client **out, const mcring_options *opts,
                      char *err, size_t errlen)
{
    if (out == NULL || opts == NULL)
        return err_set(err, errlen, MCRING_EINVAL, "NULL argument");
    mcring_client *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return err_set(err, errlen, MCRING_ENOMEM, "out of memory");
    registry_init(&c->reg);
    int rc = client_apply(c, opts, true, err, errlen);
    if (rc != 0) {
        registry_destroy(&c->reg);
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void mcring_client_free(mcring_client *c)
{
    if (c == NULL)
        return;
    watch_stop(c->watch);
    c->watch = NULL;
    /* Wait for the reclamation of earlier states (their callbacks take the
     * registry lock), then reclaim the current one directly: no call may be
     * running any more. */
    urcu_bp_barrier();
    state *st = c->current;
    c->current = NULL;
    state_reclaim_now(st, &c->reg);
    registry_destroy(&c->reg);
    options_clear(&c->opts);
    options_clear(&c->base);
    free(c);
}

int mcring_client_reconfigure(mcring_client *c, const mcring_options *opts,
                              char *err, size_t errlen)
{
    if (c == NULL || opts == NULL)
        return err_set(err, errlen, MCRING_EINVAL, "NULL argument");
    return client_apply(c, opts, true, err, errlen);
}

int mcring_set_servers(mcring_client *c, const char *servers, char *err,
                       size_t errlen)
{
    if (c == NULL || servers == NULL)
        return err_set(err, errlen, MCRING_EINVAL, "NULL argument");
    for (;;) {
        /* Only the servers change: start from the running options, and
         * start again if another writer published meanwhile. */
        mcring_options o, b;
        uint64_t gen;
        if (client_snapshot(c, &o, &b, &gen) != 0)
            return err_set(err, errlen, MCRING_ENOMEM, "out of memory");
        int rc = mcring_options_set(&o, "memcache_servers", servers, err,
                                    errlen);
        if (rc == 0)
            rc = mcring_options_set(&b, "memcache_servers", servers, err,
                                    errlen);
        if (rc == 0)
            rc = client_publish(c, &o, &b, gen, NULL, err, errlen);
        if (rc != 0) {
            options_clear(&o);
            options_clear(&b);
        }
        if (rc != CLIENT_STALE)
            return rc;
    }
}

mcring_ring *mcring_client_ring(mcring_client *c)
{
    mcring_ring *r = ring_ref(state_enter(&c->current)->ring);
    state_leave();
    return r;
}

int mcring_ring_new(mcring_ring **out, const mcring_options *o, char *err,
                    size_t errlen)
{
    if (out == NULL || o == NULL)
        return err_set(err, errlen, MCRING_EINVAL, "NULL argument");
    server_list list;
    int rc = server_list_parse(o->servers, &list, err, errlen);
    if (rc != 0)
        return rc;
    rc = ring_build(o->ring, &list, (size_t)o->tries, out, err, errlen);
    server_list_free(&list);
    return rc;
}

size_t mcring_client_stats(mcring_client *c, mcring_server_stats *out,
                           size_t max)
{
    if (c == NULL)
        return 0;
    const state *st = state_enter(&c->current);
    size_t n = st->ring->nservers;
    int64_t now = clock_now_ns();
    for (size_t i = 0; i < n && i < max && out != NULL; i++) {
        server *sv = st->servers[i];
        mcring_server_stats *o = &out[i];
        memset(o, 0, sizeof(*o));
        snprintf(o->name, sizeof(o->name), "%s", sv->name);
        o->requests = atomic_load_explicit(&sv->requests, memory_order_relaxed);
        o->errors = atomic_load_explicit(&sv->errors, memory_order_relaxed);
        o->connects = atomic_load_explicit(&sv->connects, memory_order_relaxed);
        o->pool_waits = atomic_load_explicit(&sv->pool.waits, memory_order_relaxed);
        o->pool_timeouts =
            atomic_load_explicit(&sv->pool.timeouts, memory_order_relaxed);
        int open = atomic_load_explicit(&sv->pool.open, memory_order_relaxed);
        int idle = atomic_load_explicit(&sv->pool.nidle, memory_order_relaxed);
        o->conns_open = open > 0 ? (uint32_t)open : 0;
        o->conns_idle = idle > 0 ? (uint32_t)idle : 0;
        o->max_connections = sv->pool.size;
        int64_t until =
            atomic_load_explicit(&sv->limited_until, memory_order_relaxed);
        o->limited_for = until > now ? (double)(until - now) / 1e9 : 0.0;
    }
    state_leave();
    return n;
}
