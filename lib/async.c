/*
 * The non-blocking API (mcring/async.h): requests of one event loop on
 * connections of its own, one per server, pipelined with the same rules as
 * the blocking path (pipeline.h: wire order, fences, a reply that does not
 * fit ends the connection), driven by the loop through hooks.
 *
 * The pieces, top to bottom:
 *  - an operation (aop): one call of the API — its key(s), copied value,
 *    try order, the state it started on (pinned, so its ring, servers and
 *    settings outlive the read side), its callback;
 *  - an attempt (areq): one request of an operation on one server, with
 *    its reply reader; owned by the pipeline from submit to completion,
 *    which may come after its operation was cancelled;
 *  - a connection (aconn): a server's socket for this loop, its pipeline,
 *    the requests waiting for a place on it (pipeline_depth), its watch.
 *
 * Nothing here blocks or takes a lock but the registry's when a pinned
 * state goes; completions are collected while the pipeline runs and their
 * consequences (callbacks, failover, new attempts) handled after, so that
 * no user callback ever runs inside the pipeline or inside the call that
 * queued its request.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "clock.h"
#include "command.h"
#include "compress.h"
#include "flight.h"
#include "request.h"
#include "strmap.h"

#define NO_SERVER UINT32_MAX

typedef struct aop aop;
typedef struct areq areq;
typedef struct aconn aconn;

/* AOP_GET: get, gets, gat, gats; AOP_SET: every storage command (set, add,
 * replace, append, prepend, cas: op->mode). */
enum aop_kind {
    AOP_GET,
    AOP_SET,
    AOP_DELETE,
    AOP_ARITH,
    AOP_TOUCH,
    AOP_MGET, /* get_multi, gets_multi (want_cas) */
    AOP_MSET,
    AOP_MTOUCH
};

static bool is_multi(int kind)
{
    return kind == AOP_MGET || kind == AOP_MSET || kind == AOP_MTOUCH;
}
enum arith_step { STEP_ARITH, STEP_ADD };
enum aconn_status { AC_CLOSED, AC_CONNECTING, AC_OPEN };

/* One request of an operation on one server. */
struct areq {
    pipe_req pr; /* first: the pipeline hands it back */
    aop *op;     /* NULL once its operation is gone (cancelled, done) */
    aconn *conn;
    server *sv;
    struct iovec iov[3];
    struct iovec *iovs; /* multi-set: 3 per key (owned) */
    char head[META_HEADER_MAX]; /* the request line (text or meta) */
    char *line;          /* multi-get: the request line (owned) */
    uint32_t *members;   /* multi: the op's key indexes (owned) */
    size_t count;
    get_reader get;
    line_reader lines;
    meta_reader meta;    /* single-key requests with protocol = meta */
    int result1;         /* one-line replies */
    int *results;        /* multi-set (owned) */
    uint64_t number;
    int step;            /* arith */
    int64_t pool_deadline; /* while waiting for a place */
    int64_t start;       /* multi: when it was submitted (metrics.h) */
    unsigned round;      /* multi: the op's round that sent it */
    areq *next;          /* backlog, completion queue */
    bool done;
    bool connect_failed; /* its connection never opened */
};

struct aconn {
    mcring_async *a;
    server *sv;
    state *pin;       /* keeps sv alive while this connection exists */
    pipeline pl;
    int status;
    short cwant;      /* connecting: what the socket must become */
    int64_t connect_deadline;
    int watching;     /* events asked of the loop */
    int watched_fd;   /* the fd the loop knows, or -1 */
    void *slot;       /* the adapter's */
    unsigned load;    /* requests on the pipeline */
    areq *backlog, *backlog_tail; /* waiting for a place */
    unsigned seen;    /* prune's mark: in the current state */
    bool dirty;       /* requests admitted and not yet written: they go
                       * out together as the entry point leaves */
    aconn *next;
};

struct aop {
    mcring_async *a;
    int kind;
    state *st; /* pinned */
    void *cb, *ud;
    bool called;
    int live;  /* attempts not yet completed */
    bool connected; /* some attempt got a connection */
    int rc;         /* the outcome, once finished */
    /* metrics.h: attempts recorded so far, and when the single-key
     * attempt on the current server started (incr's add included) */
    unsigned attempts; /* single key: servers tried; multi: rounds */
    int64_t attempt_start;
    /* single key */
    char *wire;
    size_t wire_len;
    size_t key_len;  /* the caller's key */
    mcring_key wkey; /* {wire, wire_len} for the reader */
    keyhash where;
    uint32_t order[64]; /* try order (at most 64 tries kept) */
    size_t norder, pos;
    char *value;
    size_t value_len;
    uint32_t flags;
    int64_t exptime;
    bool incr;
    uint64_t delta, result;
    store_mode mode; /* AOP_SET */
    uint64_t cas;    /* AOP_SET with STORE_CAS */
    bool want_cas;   /* AOP_GET: gets, gats */
    bool touch;      /* AOP_GET: gat, gats (exptime applies) */
    bool meta;       /* single key, protocol = meta: a meta command */
    int rounds;
    mcring_item item;
    /* multi */
    size_t n;
    mcring_key *keys;       /* wire keys (owned copies) */
    size_t *caller_len;     /* the caller's key lengths (when timed) */
    unsigned char (*md5)[MD5_LEN];
    uint32_t *first;        /* each key's servers: first, then full orders */
    uint32_t *orders;       /* n * tries, or NULL until needed */
    uint32_t *kpos;
    int *status, *last_err;
    bool *failed_srv;       /* per ring index */
    mcring_item *items;
    char *headers;          /* multi-set: the request headers */
    size_t *head_off, *head_len;
    char **values;
    size_t *value_lens;
    uint32_t *value_flags;
    bool shared;            /* one try order for every key (server_key) */
    aop *next;              /* the async object's list of live ops */
    aop *prev;
};

struct mcring_async {
    mcring_client *client;
    mcring_async_hooks hooks;
    strmap conns;      /* server pointer -> aconn */
    aconn *all;        /* every connection */
    aop *ops;          /* live operations */
    areq *done_head, *done_tail; /* completed attempts to handle */
    aop *to_call, *to_call_tail; /* finished ops whose callback is due */
    aop *finished;     /* ops whose callback ran, freed once idle */
    const state *seen_state; /* the state prune last looked at */
    unsigned prune_mark;
    size_t pending;
    int depth;         /* in a call into this object */
    bool freeing;
    int64_t armed;     /* the deadline the timer is armed for */
};

/* ---- small helpers -------------------------------------------------------*/

static void *dup_mem(const void *p, size_t n)
{
    char *d = malloc(n ? n : 1);
    if (d != NULL && n > 0)
        memcpy(d, p, n);
    return d;
}

static void op_link(mcring_async *a, aop *op)
{
    op->next = a->ops;
    op->prev = NULL;
    if (a->ops != NULL)
        a->ops->prev = op;
    a->ops = op;
    a->pending++;
}

static void op_unlink(mcring_async *a, aop *op)
{
    if (op->prev != NULL)
        op->prev->next = op->next;
    else
        a->ops = op->next;
    if (op->next != NULL)
        op->next->prev = op->prev;
    op->next = op->prev = NULL;
    a->pending--;
}

static void op_free(aop *op)
{
    if (op->st != NULL)
        state_unpin(op->st);
    free(op->wire);
    free(op->value);
    mcring_item_release(&op->item);
    if (op->items != NULL)
        for (size_t i = 0; i < op->n; i++)
            mcring_item_release(&op->items[i]);
    if (op->keys != NULL)
        for (size_t i = 0; i < op->n; i++)
            free((void *)op->keys[i].data);
    if (op->values != NULL)
        for (size_t i = 0; i < op->n; i++)
            free(op->values[i]);
    free(op->keys);
    free(op->caller_len);
    free(op->md5);
    free(op->first);
    free(op->orders);
    free(op->kpos);
    free(op->status);
    free(op->last_err);
    free(op->failed_srv);
    free(op->items);
    free(op->headers);
    free(op->head_off);
    free(op->head_len);
    free(op->values);
    free(op->value_lens);
    free(op->value_flags);
    free(op);
}

static void areq_free(areq *r)
{
    free(r->iovs);
    free(r->line);
    free(r->members);
    free(r->results);
    free(r);
}

/* ---- the loop ------------------------------------------------------------ */

static void set_watch(aconn *c, int events)
{
    mcring_async *a = c->a;
    int fd = c->pl.conn.fd;
    if (fd < 0)
        return;
    if (c->watched_fd == fd && c->watching == events)
        return;
    c->watched_fd = fd;
    c->watching = events;
    a->hooks.watch(a->hooks.loop, fd, events, c, &c->slot);
}

static void forget_fd(aconn *c)
{
    mcring_async *a = c->a;
    if (c->watched_fd >= 0) {
        a->hooks.forget(a->hooks.loop, c->watched_fd, &c->slot);
        c->watched_fd = -1;
        c->watching = 0;
        c->slot = NULL;
    }
}

/* What an open connection needs from the loop now. */
static void update_watch(aconn *c)
{
    if (c->status == AC_CONNECTING) {
        set_watch(c, c->cwant == POLLIN ? MCRING_EV_READ : MCRING_EV_WRITE);
        return;
    }
    if (c->status != AC_OPEN)
        return;
    int ev = MCRING_EV_READ; /* also notices a server hanging up */
    if (pipeline_has_output(&c->pl))
        ev |= MCRING_EV_WRITE;
    if (c->pl.conn.ssl != NULL) {
        /* TLS may need the other direction to make progress. */
        if (c->pl.conn.wwant == POLLIN)
            ev |= MCRING_EV_READ;
        if (c->pl.conn.rwant == POLLOUT)
            ev |= MCRING_EV_WRITE;
    }
    set_watch(c, ev);
}

/* Arms the timer for the earliest thing that has a deadline. */
static void schedule(mcring_async *a)
{
    if (a->freeing)
        return;
    int64_t when = INT64_MAX;
    if (a->done_head != NULL || a->to_call != NULL)
        when = 0;
    for (aconn *c = a->all; c != NULL && when > 0; c = c->next) {
        if (c->status == AC_CONNECTING && c->connect_deadline < when)
            when = c->connect_deadline;
        int64_t d = pipeline_deadline(&c->pl);
        if (d < when)
            when = d;
        if (c->backlog != NULL && c->backlog->pool_deadline < when)
            when = c->backlog->pool_deadline;
    }
    if (when == a->armed)
        return;
    a->armed = when;
    if (when == INT64_MAX) {
        a->hooks.timer(a->hooks.loop, -1);
        return;
    }
    int64_t now = clock_now_ns();
    long ms = when <= now ? 0 : (long)clock_ms_left(when, now);
    a->hooks.timer(a->hooks.loop, ms);
}

/* ---- connections --------------------------------------------------------- */

/* The pipeline completed r: queue it for handling. */
static void on_complete(pipe_req *pr, void *ctx)
{
    (void)ctx;
    areq *r = (areq *)pr;
    aconn *c = r->conn;
    c->load--;
    r->done = true;
    r->next = NULL;
    mcring_async *a = c->a;
    if (a->done_tail != NULL)
        a->done_tail->next = r;
    else
        a->done_head = r;
    a->done_tail = r;
}

/* Fails r without it ever reaching a pipeline (no place came, or the
 * connection failed before it went on). */
static void fail_unsent(areq *r, int rc)
{
    r->connect_failed = r->conn->status != AC_OPEN;
    r->pr.result = rc;
    r->pr.conn_failure = true;
    r->done = true;
    r->next = NULL;
    mcring_async *a = r->conn->a;
    if (a->done_tail != NULL)
        a->done_tail->next = r;
    else
        a->done_head = r;
    a->done_tail = r;
}

/* Ends the connection: every request on it (and waiting for it) fails with
 * rc, counted once against the server (by the connection, with the state
 * it was opened in). */
static void conn_fail(aconn *c, int rc, int phase, const char *detail)
{
    conn *cn = &c->pl.conn;
    int e = phase == PHASE_CONNECT ? cn->sys_errno
                                   : (cn->rerrno ? cn->rerrno : cn->werrno);
    const char *why = phase == PHASE_CONNECT ? cn->why
                                             : (cn->rwhy ? cn->rwhy : cn->wwhy);
    server_failed(c->pin, c->sv, rc, phase, e, why, detail);
    forget_fd(c);
    if (c->status == AC_CONNECTING)
        conn_connect_abandon(cn);
    if (phase == PHASE_CONNECT)
        for (pipe_req *pr = pipeline_head(&c->pl); pr != NULL;
             pr = atomic_load_explicit(&pr->next, memory_order_relaxed))
            ((areq *)pr)->connect_failed = true;
    pipeline_fail_all(&c->pl, rc, on_complete, NULL);
    conn_close(cn);
    c->status = AC_CLOSED;
    c->load = 0;
    while (c->backlog != NULL) {
        areq *r = c->backlog;
        c->backlog = r->next;
        fail_unsent(r, rc);
    }
    c->backlog_tail = NULL;
}

static aconn *conn_for(mcring_async *a, state *st, server *sv)
{
    aconn *c = strmap_get(&a->conns, 0, &sv, sizeof(sv));
    if (c != NULL)
        return c;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->a = a;
    c->sv = sv;
    c->pin = st;
    state_pin(st);
    c->watched_fd = -1;
    c->seen = a->prune_mark;
    pipeline_init(&c->pl);
    if (strmap_put(&a->conns, 0, &c->sv, sizeof(c->sv), c, NULL) < 0) {
        state_unpin(st);
        pipeline_destroy(&c->pl);
        free(c);
        return NULL;
    }
    c->next = a->all;
    a->all = c;
    return c;
}

/* Opens c's socket (the connect completes in on_io). */
static void conn_open(aconn *c, const state *st)
{
    conn *cn = &c->pl.conn;
    c->connect_deadline =
        clock_now_ns() + (st->set.connect_timeout_ns < st->set.pool_timeout_ns
                              ? st->set.connect_timeout_ns
                              : st->set.pool_timeout_ns);
    /* Counted with the blocking calls' connects (connect_attempts); the
     * pool's connect limits are not applied here (async.h). */
    atomic_fetch_add_explicit(&c->sv->pool.attempts, 1, memory_order_relaxed);
    int rc = conn_connect_start(cn, &c->sv->addr);
    if (rc < 0) {
        c->status = AC_CONNECTING; /* for conn_fail's bookkeeping */
        conn_fail(c, rc, PHASE_CONNECT, NULL);
        return;
    }
    c->status = AC_CONNECTING;
    c->cwant = POLLOUT;
    atomic_store(&c->pl.fence,
                 st->set.fences
                     ? atomic_load_explicit(&c->sv->pool.fence_hint,
                                            memory_order_relaxed)
                     : FENCE_OFF);
    if (rc == 0 && st->tls == NULL) {
        c->status = AC_OPEN;
        atomic_fetch_add_explicit(&c->sv->connects, 1, memory_order_relaxed);
        return;
    }
    update_watch(c);
}

/* Sends what the socket takes now. */
static void conn_write(aconn *c)
{
    pipeline *p = &c->pl;
    for (;;) {
        struct iovec *iov;
        int n = pipeline_gather(p, &iov);
        if (n <= 0) {
            if (n < 0)
                conn_fail(c, n, PHASE_TALK, "out of memory");
            return;
        }
        ssize_t sent = conn_send_some(&p->conn, iov, n);
        if (sent < 0) {
            conn_fail(c, (int)sent, PHASE_TALK, NULL);
            return;
        }
        if (sent == 0)
            return;
        pipeline_sent(p, (size_t)sent, on_complete, NULL);
    }
}

/* Parses what is buffered. 0 more needed, 1 nothing left to read for, or
 * a failure. */
static int conn_parse(aconn *c)
{
    pipeline *p = &c->pl;
    for (;;) {
        int step = pipeline_parse(p);
        if (step < 0)
            return step;
        if (step == PARSE_READ)
            return 0;
        if (step == PARSE_CONFIRM) {
            pipeline_confirm(p, on_complete, NULL);
            int mode = atomic_load_explicit(&p->fence, memory_order_relaxed);
            if (mode != FENCE_PROBE)
                atomic_store_explicit(&c->sv->pool.fence_hint, mode,
                                      memory_order_relaxed);
            continue;
        }
        if (!pipeline_advance(p)) {
            if (conn_buffered(&p->conn) > 0) {
                snprintf(p->why, sizeof(p->why),
                         "a reply that no request asked for");
                return MCRING_EPROTO;
            }
            return 1;
        }
    }
}

/* Reads what has arrived and completes what it answers. */
static void conn_read(aconn *c)
{
    pipeline *p = &c->pl;
    conn *cn = &p->conn;
    for (;;) {
        int rc = conn_parse(c);
        if (rc < 0) {
            conn_fail(c, rc, PHASE_TALK, p->why);
            return;
        }
        size_t dlen = 0;
        char *d = pipeline_direct(p, &dlen);
        ssize_t n;
        if (d != NULL) {
            n = conn_try_read_direct(cn, d, dlen);
            if (n > 0)
                pipeline_direct_done(p, (size_t)n);
        } else {
            n = conn_try_fill(cn);
        }
        if (n == 0)
            return;
        if (n < 0) {
            if (p->count == 0 && n == MCRING_ECLOSED) {
                /* The server hung up an idle connection: just close. */
                forget_fd(c);
                conn_close(cn);
                c->status = AC_CLOSED;
                return;
            }
            conn_fail(c, (int)n, PHASE_TALK, NULL);
            return;
        }
    }
}

/* Moves requests waiting for a place onto the pipeline. */
static void conn_admit(aconn *c, const settings *set)
{
    unsigned depth = set->depth ? set->depth : 1;
    while (c->backlog != NULL && c->load < depth) {
        areq *r = c->backlog;
        c->backlog = r->next;
        if (c->backlog == NULL)
            c->backlog_tail = NULL;
        r->next = NULL;
        int64_t from = clock_now_ns();
        r->pr.deadline = from + set->io_timeout_ns;
        if (c->pl.count == 0 &&
            atomic_load_explicit(&c->pl.fence, memory_order_relaxed) ==
                FENCE_OFF &&
            pipeline_idle_check(&c->pl) != 0) {
            pipeline_push(&c->pl, &r->pr);
            c->load++;
            conn_fail(c, MCRING_EPROTO, PHASE_TALK, c->pl.why);
            return;
        }
        pipeline_push(&c->pl, &r->pr);
        c->load++;
    }
}

/* Gets c going after new requests: connect, admit, write. */
static void conn_kick(aconn *c, const state *st)
{
    if (c->status == AC_CLOSED) {
        conn_open(c, st);
        if (c->status == AC_CLOSED)
            return; /* the connect failed at once */
    }
    if (c->status != AC_OPEN)
        return;
    conn_admit(c, &st->set);
    if (c->status == AC_OPEN)
        c->dirty = true; /* written as the entry point leaves (flush) */
}

/* Writes every connection that took requests during this entry point, so
 * that the requests queued by one turn of the loop — every callback's next
 * request included — share one write per connection. True when something
 * was flushed (a write may fail a connection: completions to process). */
static bool flush(mcring_async *a)
{
    bool any = false;
    for (aconn *c = a->all; c != NULL; c = c->next) {
        if (!c->dirty)
            continue;
        c->dirty = false;
        any = true;
        if (c->status == AC_OPEN) {
            conn_write(c);
            if (c->status == AC_OPEN)
                update_watch(c);
        }
    }
    return any;
}

/* ---- attempts -------------------------------------------------------------*/

static areq *areq_new(aop *op, server *sv)
{
    areq *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->op = op;
    r->sv = sv;
    return r;
}

/* Puts r (request and reader set) on sv's connection. */
static int areq_submit(aop *op, areq *r)
{
    mcring_async *a = op->a;
    aconn *c = conn_for(a, op->st, r->sv);
    if (c == NULL)
        return MCRING_ENOMEM;
    atomic_fetch_add_explicit(&r->sv->requests, 1, memory_order_relaxed);
    r->conn = c;
    r->pr.owner = r;
    int64_t now = clock_now_ns();
    r->pool_deadline = now + op->st->set.pool_timeout_ns;
    r->start = now;
    if (c->backlog_tail != NULL)
        c->backlog_tail->next = r;
    else
        c->backlog = r;
    c->backlog_tail = r;
    op->live++;
    conn_kick(c, op->st);
    return 0;
}

/* ---- delivering results ---------------------------------------------------*/

/* The op's outcome is known: its callback is due (run by run_callbacks,
 * from an entry point where callbacks may run). */
/* A write of the op's key(s) completed, whatever its outcome: blocking
 * gets of them in flight take no more joiners (flight.h). */
static void wrote(aop *op)
{
    const state *st = op->st;
    if (!st->set.single_flight)
        return;
    key_op k;
    if (op->kind == AOP_MSET) {
        for (size_t i = 0; i < op->n; i++) {
            memset(&k, 0, sizeof(k));
            memcpy(k.kh.md5, op->md5[i], MD5_LEN);
            k.wire = op->keys[i].data;
            k.wire_len = op->keys[i].len;
            flight_wrote(op->a->client, st, &k);
        }
        return;
    }
    memset(&k, 0, sizeof(k));
    k.kh = op->where;
    k.wire = op->wire;
    k.wire_len = op->wire_len;
    flight_wrote(op->a->client, st, &k);
}

static void finish(aop *op, int rc)
{
    if (op->called)
        return;
    op->called = true;
    op->rc = rc;
    if (op->kind == AOP_SET || op->kind == AOP_DELETE ||
        op->kind == AOP_ARITH || op->kind == AOP_MSET)
        wrote(op);
    mcring_async *a = op->a;
    op_unlink(a, op);
    op->next = NULL;
    if (a->to_call_tail != NULL)
        a->to_call_tail->next = op;
    else
        a->to_call = op;
    a->to_call_tail = op;
}

static void call_back(mcring_async *a, aop *op)
{
    int rc = op->rc;
    /* Values read compressed are handed on decompressed, as the blocking
     * calls hand them (compress.h). */
    compress_stats *cs = &a->client->compress;
    const compress_config *cc = &op->st->set.compress;
    if (op->kind == AOP_GET)
        rc = compress_unpack(cs, cc, &op->item, rc);
    if (op->kind == AOP_MGET && rc != MCRING_ENOMEM && rc != MCRING_ECANCELED)
        rc = compress_unpack_many(cs, cc, op->items, op->status, op->n);
    switch (op->kind) {
    case AOP_GET:
        ((mcring_async_get_cb)op->cb)(a, rc,
                                      rc == MCRING_OK || rc == MCRING_UNDECODABLE
                                          ? &op->item
                                          : NULL,
                                      op->ud);
        break;
    case AOP_SET:
    case AOP_DELETE:
    case AOP_TOUCH:
        ((mcring_async_done_cb)op->cb)(a, rc, op->ud);
        break;
    case AOP_ARITH:
        ((mcring_async_count_cb)op->cb)(a, rc, rc == MCRING_OK ? op->result : 0,
                                        op->ud);
        break;
    case AOP_MGET:
        ((mcring_async_multi_cb)op->cb)(a, rc, op->n, op->items, op->status,
                                        op->ud);
        break;
    case AOP_MSET:
    case AOP_MTOUCH:
        ((mcring_async_set_multi_cb)op->cb)(a, rc, op->n, op->status, op->ud);
        break;
    }
}

/* Runs the callbacks that are due, in the order their ops finished. A
 * callback may start ops, cancel, or free the object (which then goes when
 * the entry point returns). */
static void run_callbacks(mcring_async *a)
{
    while (a->to_call != NULL) {
        aop *op = a->to_call;
        a->to_call = op->next;
        if (a->to_call == NULL)
            a->to_call_tail = NULL;
        a->depth++;
        call_back(a, op);
        a->depth--;
        /* Its memory goes once no attempt of it is on a connection. */
        op->next = a->finished;
        a->finished = op;
    }
}

static void reap_finished(mcring_async *a)
{
    aop **pp = &a->finished;
    while (*pp != NULL) {
        aop *op = *pp;
        if (op->live == 0) {
            *pp = op->next;
            op_free(op);
        } else {
            pp = &op->next;
        }
    }
}

/* ---- single-key operations ------------------------------------------------*/

static void single_next(aop *op, int last_rc);

/* ---- recording attempts (metrics.h), as the blocking calls do ------------*/

static mcring_op single_op(const aop *op)
{
    switch (op->kind) {
    case AOP_GET:
        return MCRING_OP_GET;
    case AOP_SET:
        return MCRING_OP_SET;
    case AOP_DELETE:
        return MCRING_OP_DELETE;
    case AOP_TOUCH:
        return MCRING_OP_TOUCH;
    default:
        return op->incr ? MCRING_OP_INCR : MCRING_OP_DECR;
    }
}

/* The single-key attempt on sv ended with result. */
static void record_single(aop *op, server *sv, int result)
{
    const state *st = op->st;
    if (!st->set.timed)
        return;
    attempt_info info = {single_op(op), op->key_len, 1, ++op->attempts};
    metrics_attempt_end(st, sv, &info, result, op->attempt_start);
}

/* A multi-key request (r->count keys on r->sv) ended with result; an
 * answered get counts its keys' hits and misses. */
static void record_multi(aop *op, areq *r, int result)
{
    const state *st = op->st;
    if (!st->set.timed)
        return;
    bool get = op->kind == AOP_MGET;
    attempt_info info = {get                         ? MCRING_OP_GET_MULTI
                         : op->kind == AOP_MTOUCH ? MCRING_OP_TOUCH_MULTI
                                                  : MCRING_OP_SET_MULTI,
                         0, r->count, r->round};
    uint64_t hits = 0, misses = 0;
    for (size_t i = 0; i < r->count; i++) {
        uint32_t k = r->members[i];
        info.key_len += op->caller_len[k];
        if (get && result == 0) {
            hits += op->status[k] == MCRING_OK ||
                    op->status[k] == MCRING_UNDECODABLE;
            misses += op->status[k] == MCRING_MISS;
        }
    }
    metrics_attempt_done(st, r->sv, &info, result, r->start, hits, misses);
}

/* ---- single-key requests ---------------------------------------------------*/

/* The op as a command (command.h), for the meta protocol. */
static void op_command(aop *op, command *c)
{
    memset(c, 0, sizeof(*c));
    switch (op->kind) {
    case AOP_GET:
        c->kind = CMD_GET;
        c->item = &op->item;
        c->want_cas = op->want_cas;
        c->touch = op->touch;
        c->exptime = op->exptime;
        break;
    case AOP_SET:
        c->kind = CMD_STORE;
        c->mode = op->mode;
        c->value = op->value;
        c->value_len = op->value_len;
        c->flags = op->flags;
        c->exptime = op->exptime;
        c->cas = op->cas;
        break;
    case AOP_DELETE:
        c->kind = CMD_DELETE;
        break;
    case AOP_TOUCH:
        c->kind = CMD_TOUCH;
        c->exptime = op->exptime;
        break;
    default:
        /* One ma that creates a missing key holding the delta (0 for
         * decr) with the TTL, as the blocking call's meta form does. */
        c->kind = CMD_ARITH;
        c->incr = op->incr;
        c->delta = op->delta;
        c->initial = op->incr ? op->delta : 0;
        c->exptime = op->exptime;
        break;
    }
}

/* r as the op's meta command with a token of its own: its reply carries
 * the token (and the key, for a value), so it needs no fence. */
static void meta_request(aop *op, areq *r)
{
    command c;
    op_command(op, &c);
    key_op k;
    memset(&k, 0, sizeof(k));
    k.wire = op->wire;
    k.wire_len = op->wire_len;
    uint64_t opaque = command_opaque(1);
    r->iov[0] =
        (struct iovec){r->head, command_meta_request(&c, &k, opaque, r->head)};
    r->pr.iovcnt = 1;
    if (c.kind == CMD_STORE) {
        r->iov[1] = (struct iovec){op->value, op->value_len};
        r->iov[2] = (struct iovec){(void *)"\r\n", 2};
        r->pr.iovcnt = 3;
    }
    bool has_value = command_has_value(&c);
    meta_reader_init(&r->meta, opaque, has_value ? op->wire : NULL,
                     op->wire_len, has_value ? &op->item : NULL,
                     op->st->set.item_size_max);
    r->pr.reader = &r->meta.base;
}

/* Starts the request of the operation's kind on sv. */
static int single_attempt(aop *op, server *sv)
{
    areq *r = areq_new(op, sv);
    if (r == NULL)
        return MCRING_ENOMEM;
    const settings *set = &op->st->set;
    switch (op->meta ? -1 : op->kind) {
    case -1:
        meta_request(op, r);
        break;
    case AOP_GET:
        r->iov[0] = (struct iovec){
            r->head,
            op->touch ? proto_gat(r->head, op->want_cas ? "gats" : "gat",
                                  op->exptime, op->wire, op->wire_len)
                      : proto_retrieve(r->head, op->want_cas ? "gets" : "get",
                                       op->wire, op->wire_len)};
        r->pr.iovcnt = 1;
        get_reader_init(&r->get, &op->wkey, NULL, 1, &op->item, &r->result1,
                        set->item_size_max);
        r->pr.reader = &r->get.base;
        break;
    case AOP_SET: {
        static const char *const verb[] = {
            [STORE_SET] = "set",         [STORE_ADD] = "add",
            [STORE_REPLACE] = "replace", [STORE_APPEND] = "append",
            [STORE_PREPEND] = "prepend",
        };
        r->iov[0] = (struct iovec){
            r->head,
            op->mode == STORE_CAS
                ? proto_cas_header(r->head, op->wire, op->wire_len, op->flags,
                                   op->exptime, op->value_len, op->cas)
                : proto_storage_header(r->head, verb[op->mode], op->wire,
                                       op->wire_len, op->flags, op->exptime,
                                       op->value_len)};
        r->iov[1] = (struct iovec){op->value, op->value_len};
        r->iov[2] = (struct iovec){(void *)"\r\n", 2};
        r->pr.iovcnt = 3;
        /* set: anything but STORED is the server's failure (Swift's
         * rule); the others' NOT_STORED, EXISTS, NOT_FOUND are outcomes. */
        line_reader_init(&r->lines, 1,
                         op->mode == STORE_SET ? classify_store
                                               : classify_storage,
                         &r->result1, NULL);
        r->pr.reader = &r->lines.base;
        break;
    }
    case AOP_TOUCH:
        r->iov[0] = (struct iovec){r->head, proto_touch(r->head, op->wire,
                                                        op->wire_len,
                                                        op->exptime)};
        r->pr.iovcnt = 1;
        line_reader_init(&r->lines, 1, classify_touch, &r->result1, NULL);
        r->pr.reader = &r->lines.base;
        break;
    case AOP_DELETE:
        r->iov[0] = (struct iovec){
            r->head, proto_delete(r->head, op->wire, op->wire_len)};
        r->pr.iovcnt = 1;
        line_reader_init(&r->lines, 1, classify_delete, &r->result1, NULL);
        r->pr.reader = &r->lines.base;
        break;
    case AOP_ARITH:
        if (op->rounds % 2 == 0) {
            r->step = STEP_ARITH;
            r->iov[0] = (struct iovec){
                r->head, proto_arith(r->head, op->incr, op->wire,
                                     op->wire_len, op->delta)};
            r->pr.iovcnt = 1;
            line_reader_init(&r->lines, 1, classify_arith, &r->result1,
                             &r->number);
        } else {
            /* NOT_FOUND: create it with add, the TTL applying only here. */
            r->step = STEP_ADD;
            char init[24];
            size_t il = proto_u64(init, op->incr ? op->delta : 0);
            free(op->value);
            op->value = dup_mem(init, il);
            if (op->value == NULL) {
                areq_free(r);
                return MCRING_ENOMEM;
            }
            op->value_len = il;
            r->iov[0] = (struct iovec){
                r->head, proto_storage_header(r->head, "add", op->wire,
                                              op->wire_len, 0, op->exptime,
                                              il)};
            r->iov[1] = (struct iovec){op->value, il};
            r->iov[2] = (struct iovec){(void *)"\r\n", 2};
            r->pr.iovcnt = 3;
            line_reader_init(&r->lines, 1, classify_add, &r->result1, NULL);
        }
        r->pr.reader = &r->lines.base;
        break;
    default:
        areq_free(r);
        return MCRING_EINVAL;
    }
    r->pr.iov = r->iov;
    int rc = areq_submit(op, r);
    if (rc != 0)
        areq_free(r);
    return rc;
}

/* Tries the next usable server of the op's order, or ends the op with
 * last_rc. */
static void single_next(aop *op, int last_rc)
{
    const state *st = op->st;
    while (op->pos < op->norder) {
        server *sv = st->servers[op->order[op->pos]];
        if (server_passed_by(st, sv)) {
            op->pos++; /* an error-limited server uses up its try */
            continue;
        }
        op->attempt_start = metrics_attempt_start(st->set.timed);
        int rc = single_attempt(op, sv);
        if (rc == 0)
            return;
        finish(op, rc);
        return;
    }
    if (!op->connected)
        client_log(st, MCRING_LOG_ERROR, NULL,
                   "All memcached servers error-limited");
    finish(op, last_rc);
}

/* An incr or decr's next round on the same server (the key was missing,
 * or another caller created it first), or, when its rounds are spent,
 * MCRING_ERACE. */
static void arith_again(aop *op, server *sv, bool spent)
{
    if (spent) {
        record_single(op, sv, MCRING_ERACE);
        finish(op, MCRING_ERACE);
        return;
    }
    op->rounds++;
    int e = single_attempt(op, sv);
    if (e != 0)
        finish(op, e);
}

/* ma requests an incr or decr makes before MCRING_ERACE (ops.c's
 * ARITH_ROUNDS). */
#define META_ARITH_TRIES 3

/* The outcome of a meta attempt whose reply was read. */
static void meta_done(aop *op, areq *r)
{
    server *sv = r->sv;
    command c;
    op_command(op, &c);
    /* A reply that says the server failed is counted by this. */
    int outcome = command_meta_outcome(op->st, sv, &c, &r->meta);
    if (op->kind == AOP_ARITH &&
        (outcome == MCRING_NOT_STORED || outcome == MCRING_MISS)) {
        /* The create raced with another's: again, as Swift does after
         * NOT_STORED, as many times as the blocking call (ops.c). */
        arith_again(op, sv, op->rounds + 1 >= META_ARITH_TRIES);
        return;
    }
    record_single(op, sv, outcome);
    if (!rc_is_final(outcome)) {
        op->pos++;
        single_next(op, outcome);
        return;
    }
    if (op->kind == AOP_ARITH && outcome == MCRING_OK)
        op->result = c.number;
    if (op->kind == AOP_SET && outcome == MCRING_OK &&
        op->mode != STORE_APPEND && op->mode != STORE_PREPEND)
        warn_item_size(op->st, op->value_len);
    finish(op, outcome);
}

/* The outcome of a finished single-key attempt. */
static void single_done(aop *op, areq *r)
{
    const state *st = op->st;
    server *sv = r->sv;
    int rc = r->pr.result;
    if (!r->connect_failed)
        op->connected = true;
    if (rc == 0)
        health_ok(&sv->health); /* a reply came: no timeouts in a row */
    if (rc != 0) {
        /* The connection failed under it: counted by the connection. */
        record_single(op, sv, rc);
        if (op->meta)
            op->item.len = 0;
        else if (op->kind == AOP_GET)
            get_reader_reset(&r->get);
        op->pos++;
        single_next(op, rc);
        return;
    }
    if (op->meta) {
        meta_done(op, r);
        return;
    }
    int outcome = r->result1;
    phase ph = PHASE_TALK;
    if (op->kind == AOP_GET && r->get.outcome != 0) {
        outcome = r->get.outcome;
        get_reader_reset(&r->get);
    } else if (op->kind == AOP_SET && op->mode == STORE_SET &&
               !rc_is_final(outcome)) {
        ph = PHASE_SET;
    } else if (op->kind == AOP_ARITH) {
        if (r->step == STEP_ARITH) {
            if (outcome == MCRING_OK) {
                op->result = r->number;
                record_single(op, sv, MCRING_OK);
                finish(op, MCRING_OK);
                return;
            }
            if (outcome == MCRING_MISS) {
                arith_again(op, sv, op->rounds >= 5);
                return;
            }
        } else {
            if (outcome == MCRING_OK) {
                op->result = op->incr ? op->delta : 0;
                record_single(op, sv, MCRING_OK);
                finish(op, MCRING_OK);
                return;
            }
            if (outcome == MCRING_NOT_STORED) {
                /* Somebody else created it: count on theirs. */
                arith_again(op, sv, false);
                return;
            }
        }
    }
    record_single(op, sv, outcome);
    if (rc_is_final(outcome)) {
        if (op->kind == AOP_SET && outcome == MCRING_OK &&
            op->mode != STORE_APPEND && op->mode != STORE_PREPEND)
            warn_item_size(st, op->value_len);
        finish(op, outcome);
        return;
    }
    server_failed(st, sv, outcome, ph, 0, NULL, r->pr.reader->detail);
    op->pos++;
    single_next(op, outcome);
}

/* ---- multi-key operations -------------------------------------------------*/

#define PENDING 0x7fff

/* Key k's server at position p of its try order (NO_SERVER past it). */
static uint32_t key_server(aop *op, size_t k, uint32_t p)
{
    size_t tries = op->st->ring->tries;
    if (p >= tries)
        return NO_SERVER;
    if (op->shared)
        return p < op->norder ? op->order[p] : NO_SERVER;
    if (p == 0)
        return op->first[k];
    if (op->orders == NULL) {
        op->orders = calloc(op->n * tries, sizeof(uint32_t));
        if (op->orders == NULL)
            return NO_SERVER;
        for (size_t i = 0; i < op->n; i++)
            op->orders[i * tries] = NO_SERVER; /* not computed yet */
    }
    uint32_t *o = op->orders + k * tries;
    if (o[0] == NO_SERVER) {
        keyhash kh;
        kh.key = NULL;
        kh.len = 0;
        memcpy(kh.md5, op->md5[k], MD5_LEN);
        ring_locate(op->st->ring, &kh, o, tries);
    }
    return o[p];
}

/* Ends the op when no key is pending. */
static void multi_maybe_done(aop *op)
{
    if (op->live > 0 || op->called)
        return;
    for (size_t k = 0; k < op->n; k++)
        if (op->status[k] == PENDING)
            return;
    int rc = 0;
    for (size_t k = 0; k < op->n; k++)
        if (op->status[k] < 0) {
            rc = op->status[k];
            break;
        }
    if (!op->connected)
        client_log(op->st, MCRING_LOG_ERROR, NULL,
                   "All memcached servers error-limited");
    finish(op, rc);
}

/* Builds the request for the keys members[0..count) on sv. */
static int multi_request(aop *op, server *sv, uint32_t *members, size_t count)
{
    areq *r = areq_new(op, sv);
    if (r == NULL)
        return MCRING_ENOMEM;
    r->members = members;
    r->count = count;
    r->round = op->attempts;
    if (op->kind == AOP_MGET) {
        const char *cmd = op->want_cas ? "gets" : "get";
        size_t len = 6;
        for (size_t i = 0; i < count; i++)
            len += 1 + op->keys[members[i]].len;
        r->line = malloc(len);
        if (r->line == NULL) {
            areq_free(r);
            return MCRING_ENOMEM;
        }
        char *p = r->line;
        memcpy(p, cmd, strlen(cmd));
        p += strlen(cmd);
        for (size_t i = 0; i < count; i++) {
            const mcring_key *k = &op->keys[members[i]];
            *p++ = ' ';
            memcpy(p, k->data, k->len);
            p += k->len;
        }
        *p++ = '\r';
        *p++ = '\n';
        r->iov[0] = (struct iovec){r->line, (size_t)(p - r->line)};
        r->pr.iov = r->iov;
        r->pr.iovcnt = 1;
        get_reader_init(&r->get, op->keys, members, count, op->items,
                        op->status, op->st->set.item_size_max);
        r->pr.reader = &r->get.base;
    } else if (op->kind == AOP_MTOUCH) {
        /* One touch line per key, written together. */
        r->line = malloc(count * PROTO_HEADER_MAX);
        r->results = malloc(count * sizeof(int));
        if (r->line == NULL || r->results == NULL) {
            areq_free(r);
            return MCRING_ENOMEM;
        }
        size_t len = 0;
        for (size_t i = 0; i < count; i++) {
            const mcring_key *k = &op->keys[members[i]];
            len += proto_touch(r->line + len, k->data, k->len, op->exptime);
        }
        r->iov[0] = (struct iovec){r->line, len};
        r->pr.iov = r->iov;
        r->pr.iovcnt = 1;
        line_reader_init(&r->lines, count, classify_touch, r->results, NULL);
        r->pr.reader = &r->lines.base;
    } else {
        r->iovs = malloc(3 * count * sizeof(*r->iovs));
        r->results = malloc(count * sizeof(int));
        if (r->iovs == NULL || r->results == NULL) {
            areq_free(r);
            return MCRING_ENOMEM;
        }
        for (size_t i = 0; i < count; i++) {
            uint32_t k = members[i];
            r->iovs[3 * i] =
                (struct iovec){op->headers + op->head_off[k], op->head_len[k]};
            r->iovs[3 * i + 1] =
                (struct iovec){op->values[k], op->value_lens[k]};
            r->iovs[3 * i + 2] = (struct iovec){(void *)"\r\n", 2};
        }
        r->pr.iov = r->iovs;
        r->pr.iovcnt = (int)(3 * count);
        line_reader_init(&r->lines, count, classify_store, r->results, NULL);
        r->pr.reader = &r->lines.base;
    }
    int rc = areq_submit(op, r);
    if (rc != 0)
        areq_free(r);
    return rc;
}

/* Sends every pending key to its next usable server, one request per
 * server. */
static void multi_round(aop *op)
{
    const state *st = op->st;
    op->attempts++;
    size_t nsrv = st->ring->nservers;
    uint32_t *assigned = malloc(op->n * sizeof(*assigned));
    uint32_t *count = calloc(nsrv, sizeof(*count));
    /* Whether each server is passed by, asked once per round (it counts
     * a fast failure per server, not per key). */
    signed char *usable = malloc(nsrv);
    if (assigned == NULL || count == NULL || usable == NULL) {
        free(assigned);
        free(count);
        free(usable);
        for (size_t k = 0; k < op->n; k++)
            if (op->status[k] == PENDING)
                op->status[k] = MCRING_ENOMEM;
        multi_maybe_done(op);
        return;
    }
    memset(usable, -1, nsrv);
    for (size_t k = 0; k < op->n; k++) {
        assigned[k] = NO_SERVER;
        if (op->status[k] != PENDING)
            continue;
        for (;; op->kpos[k]++) {
            uint32_t s = key_server(op, k, op->kpos[k]);
            if (s == NO_SERVER)
                break;
            /* An error-limited server uses up its try, as in Swift. */
            if (op->failed_srv[s])
                continue;
            if (usable[s] < 0)
                usable[s] = !server_passed_by(st, st->servers[s]);
            if (!usable[s])
                continue;
            assigned[k] = s;
            count[s]++;
            break;
        }
        if (assigned[k] == NO_SERVER)
            op->status[k] = op->last_err[k];
    }
    for (size_t s = 0; s < nsrv; s++) {
        if (count[s] == 0)
            continue;
        uint32_t *members = malloc(count[s] * sizeof(*members));
        size_t m = 0;
        for (size_t k = 0; k < op->n; k++)
            if (assigned[k] == s) {
                if (members != NULL)
                    members[m++] = (uint32_t)k;
                else
                    op->status[k] = MCRING_ENOMEM;
            }
        if (members == NULL)
            continue;
        int rc = multi_request(op, st->servers[s], members, m);
        if (rc != 0) {
            for (size_t i = 0; i < m; i++)
                op->status[members[i]] = rc;
            free(members);
        }
    }
    free(assigned);
    free(count);
    free(usable);
    multi_maybe_done(op);
}

static void multi_done(aop *op, areq *r)
{
    const state *st = op->st;
    int rc = r->pr.result;
    if (!r->connect_failed)
        op->connected = true;
    if (rc == 0)
        health_ok(&r->sv->health); /* a reply came: no timeouts in a row */
    phase ph = PHASE_TALK;
    const char *detail = r->pr.reader->detail;
    if (rc == 0 && op->kind == AOP_MGET && r->get.outcome != 0)
        rc = r->get.outcome;
    if (rc == 0 && op->kind == AOP_MSET)
        for (size_t i = 0; i < r->count; i++)
            if (!rc_is_final(r->results[i])) {
                rc = r->results[i];
                ph = PHASE_SET;
                break;
            }
    /* Each key's own outcome, as the blocking calls keep them. */
    if (rc == 0 && (op->kind == AOP_MSET || op->kind == AOP_MTOUCH))
        for (size_t i = 0; i < r->count; i++)
            op->status[r->members[i]] = r->results[i];
    record_multi(op, r, rc);
    if (rc != 0) {
        if (!r->pr.conn_failure)
            server_failed(st, r->sv, rc, ph, 0, NULL, detail);
        if (op->kind == AOP_MGET)
            get_reader_reset(&r->get);
        bool final = rc_is_final(rc);
        for (size_t i = 0; i < op->st->ring->nservers; i++)
            if (st->servers[i] == r->sv)
                op->failed_srv[i] = !final;
        for (size_t i = 0; i < r->count; i++) {
            uint32_t k = r->members[i];
            if (final) {
                op->status[k] = rc;
            } else {
                op->status[k] = PENDING;
                op->last_err[k] = rc;
                op->kpos[k]++;
            }
        }
        if (!final) {
            multi_round(op);
            return;
        }
    }
    multi_maybe_done(op);
}

/* ---- driving --------------------------------------------------------------*/

/* Handles completed attempts until none is left. */
static void process(mcring_async *a)
{
    a->depth++;
    while (a->done_head != NULL) {
        areq *r = a->done_head;
        a->done_head = r->next;
        if (a->done_head == NULL)
            a->done_tail = NULL;
        aop *op = r->op;
        if (op != NULL) {
            op->live--;
            if (!op->called && !a->freeing) {
                if (is_multi(op->kind))
                    multi_done(op, r);
                else
                    single_done(op, r);
            }
        }
        areq_free(r);
    }
    a->depth--;
}

static void finish_free(mcring_async *a);

/* After every entry point: handle completions; where callbacks may run
 * (callbacks_ok: the loop called in), run those that are due; then the
 * loop's part. A call that queues a request never runs a callback: what
 * it made due waits for the timer, armed at once. */
static void leave(mcring_async *a, bool callbacks_ok)
{
    for (;;) {
        process(a);
        /* The outermost entry point writes what was queued. */
        if (a->depth == 0 && flush(a))
            continue;
        if (!callbacks_ok || a->to_call == NULL)
            break;
        run_callbacks(a);
    }
    reap_finished(a);
    if (a->freeing) {
        if (a->depth == 0)
            finish_free(a);
        return;
    }
    schedule(a);
}

void mcring_async_on_io(mcring_async *a, void *cookie, int ready)
{
    aconn *c = cookie;
    a->depth++;
    if (c->status == AC_CONNECTING) {
        short want = 0;
        int rc = conn_connect_step(&c->pl.conn, c->pin->tls, &c->sv->addr,
                                   &want);
        if (rc < 0) {
            conn_fail(c, rc, PHASE_CONNECT, NULL);
        } else if (rc == 1) {
            c->cwant = want;
            update_watch(c);
        } else {
            c->status = AC_OPEN;
            atomic_fetch_add_explicit(&c->sv->connects, 1,
                                      memory_order_relaxed);
            conn_kick(c, c->pin);
        }
    } else if (c->status == AC_OPEN) {
        if (ready & MCRING_EV_READ)
            conn_read(c);
        if (c->status == AC_OPEN && (ready & MCRING_EV_WRITE)) {
            conn_write(c);
            if (c->status == AC_OPEN && c->pl.conn.ssl != NULL)
                conn_read(c); /* TLS: a write may have unblocked a read */
        }
        if (c->status == AC_OPEN) {
            conn_admit(c, &c->pin->set);
            if (c->status == AC_OPEN) {
                conn_write(c);
                update_watch(c);
            }
        }
    }
    a->depth--;
    leave(a, true);
}

void mcring_async_on_timer(mcring_async *a)
{
    a->depth++;
    a->armed = INT64_MAX; /* fired */
    int64_t now = clock_now_ns();
    for (aconn *c = a->all; c != NULL; c = c->next) {
        if (c->status == AC_CONNECTING && now >= c->connect_deadline) {
            c->pl.conn.sys_errno = ETIMEDOUT;
            conn_fail(c, MCRING_ECONNTIMEOUT, PHASE_CONNECT, NULL);
            continue;
        }
        if (c->status == AC_OPEN && now >= pipeline_deadline(&c->pl)) {
            conn_fail(c, MCRING_ETIMEOUT, PHASE_TALK, NULL);
            continue;
        }
        /* Waiting for a place past the pool timeout. */
        while (c->backlog != NULL && now >= c->backlog->pool_deadline) {
            areq *r = c->backlog;
            c->backlog = r->next;
            if (c->backlog == NULL)
                c->backlog_tail = NULL;
            server_failed(c->pin, c->sv, MCRING_EPOOLTIMEOUT, PHASE_POOL, 0,
                          NULL, NULL);
            fail_unsent(r, MCRING_EPOOLTIMEOUT);
        }
    }
    a->depth--;
    leave(a, true);
}

size_t mcring_async_pending(const mcring_async *a)
{
    return a != NULL ? a->pending : 0;
}

/* ---- life cycle -----------------------------------------------------------*/

int mcring_async_new(mcring_async **out, mcring_client *client,
                     const mcring_async_hooks *hooks)
{
    if (out == NULL || client == NULL || hooks == NULL ||
        hooks->watch == NULL || hooks->forget == NULL ||
        hooks->timer == NULL)
        return MCRING_EINVAL;
    mcring_async *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return MCRING_ENOMEM;
    if (strmap_init(&a->conns, 16) != 0) {
        free(a);
        return MCRING_ENOMEM;
    }
    a->client = client;
    a->hooks = *hooks;
    a->armed = INT64_MAX;
    *out = a;
    return 0;
}

void mcring_async_cancel(mcring_async *a)
{
    if (a == NULL)
        return;
    while (a->ops != NULL)
        finish(a->ops, MCRING_ECANCELED);
    leave(a, true);
}

static void finish_free(mcring_async *a)
{
    a->freeing = true;
    a->depth++;
    while (a->ops != NULL)
        finish(a->ops, MCRING_ECANCELED);
    run_callbacks(a);
    /* Connections go with whatever is on them (their ops are done). */
    for (aconn *c = a->all; c != NULL; c = c->next) {
        forget_fd(c);
        if (c->status == AC_CONNECTING)
            conn_connect_abandon(&c->pl.conn);
        pipeline_fail_all(&c->pl, MCRING_ECANCELED, on_complete, NULL);
        while (c->backlog != NULL) {
            areq *r = c->backlog;
            c->backlog = r->next;
            fail_unsent(r, MCRING_ECANCELED);
        }
    }
    process(a); /* frees the attempts */
    reap_finished(a);
    for (aconn *c = a->all; c != NULL;) {
        aconn *next = c->next;
        pipeline_destroy(&c->pl);
        state_unpin(c->pin);
        free(c);
        c = next;
    }
    a->all = NULL;
    strmap_free(&a->conns);
    a->hooks.timer(a->hooks.loop, -1);
    if (a->hooks.cleanup != NULL)
        a->hooks.cleanup(a->hooks.loop);
    free(a);
}

void mcring_async_free(mcring_async *a)
{
    if (a == NULL)
        return;
    a->freeing = true;
    if (a->depth > 0)
        return; /* from inside a callback: when it returns */
    finish_free(a);
}

/* ---- the calls ------------------------------------------------------------*/

/*
 * After a ring swap (call inside the read side of st, the current state):
 * connections to servers that stay are pinned to st instead (so that old
 * states can go); those to servers the ring no longer names are closed as
 * soon as nothing is on them.
 */
static void prune(mcring_async *a, state *st)
{
    if (a->seen_state != st) {
        a->seen_state = st;
        a->prune_mark++;
        for (size_t i = 0; i < st->ring->nservers; i++) {
            server *sv = st->servers[i];
            aconn *c = strmap_get(&a->conns, 0, &sv, sizeof(sv));
            if (c == NULL)
                continue;
            c->seen = a->prune_mark;
            if (c->pin != st) {
                state_pin(st);
                state_unpin(c->pin);
                c->pin = st;
            }
        }
    }
    for (aconn **pp = &a->all; *pp != NULL;) {
        aconn *c = *pp;
        bool idle = c->pl.count == 0 && c->backlog == NULL &&
                    c->status != AC_CONNECTING;
        if (c->seen == a->prune_mark || !idle) {
            pp = &c->next;
            continue;
        }
        *pp = c->next;
        strmap_remove(&a->conns, 0, &c->sv, sizeof(c->sv));
        forget_fd(c);
        conn_close(&c->pl.conn);
        pipeline_destroy(&c->pl);
        state_unpin(c->pin);
        free(c);
    }
}

/* A new operation on the current state, pinned. */
static aop *op_begin(mcring_async *a, int kind, void *cb, void *ud)
{
    if (a->freeing)
        return NULL;
    aop *op = calloc(1, sizeof(*op));
    if (op == NULL)
        return NULL;
    op->a = a;
    op->kind = kind;
    op->cb = cb;
    op->ud = ud;
    op->st = client_enter(a->client);
    state_pin(op->st);
    op->meta = !is_multi(kind) &&
               op->st->set.protocol == PROTOCOL_META;
    if (op->st != a->seen_state)
        prune(a, op->st);
    state_leave();
    return op;
}

/* A prepared op goes: its first requests are queued and written as the
 * call returns. When rc (the preparation's outcome) is a failure, the op
 * is freed instead and rc returned: its callback never runs. */
static int launch(mcring_async *a, aop *op, int rc)
{
    if (rc != 0) {
        op_free(op);
        return rc;
    }
    op_link(a, op);
    a->depth++;
    if (is_multi(op->kind))
        multi_round(op); /* no keys: done at once, its callback later */
    else
        single_next(op, MCRING_ELIMITED);
    a->depth--;
    leave(a, false);
    return 0;
}

/* A single-key op prepared so far with outcome rc: its key and its try
 * order, then launch. */
static int single_start(mcring_async *a, aop *op, int rc, const void *key,
                        size_t key_len)
{
    key_op k;
    if (rc == 0)
        rc = key_prepare(&op->st->set, key, key_len, &k);
    if (rc == 0 && (op->wire = dup_mem(k.wire, k.wire_len)) == NULL)
        rc = MCRING_ENOMEM;
    if (rc != 0)
        return launch(a, op, rc);
    op->wire_len = k.wire_len;
    op->key_len = key_len;
    op->wkey = (mcring_key){op->wire, op->wire_len};
    op->where = k.kh;
    op->where.key = NULL; /* the caller's bytes are not kept */
    size_t tries = op->st->ring->tries;
    op->norder = ring_locate(op->st->ring, &k.kh, op->order,
                             tries < 64 ? tries : 64);
    return launch(a, op, 0);
}

int mcring_async_get(mcring_async *a, const void *key, size_t key_len,
                     mcring_async_get_cb cb, void *userdata)
{
    if (a == NULL || cb == NULL)
        return MCRING_EINVAL;
    aop *op = op_begin(a, AOP_GET, (void *)cb, userdata);
    if (op == NULL)
        return a->freeing ? MCRING_EINVAL : MCRING_ENOMEM;
    return single_start(a, op, 0, key, key_len);
}

/* Every storage command: append and prepend keep the stored flags and TTL
 * (the server ignores what is sent). */
static int store_start(mcring_async *a, store_mode mode, const void *key,
                       size_t key_len, const void *value, size_t value_len,
                       uint32_t flags, double ttl, uint64_t cas,
                       mcring_async_done_cb cb, void *userdata)
{
    if (a == NULL || cb == NULL || (value == NULL && value_len > 0))
        return MCRING_EINVAL;
    aop *op = op_begin(a, AOP_SET, (void *)cb, userdata);
    if (op == NULL)
        return a->freeing ? MCRING_EINVAL : MCRING_ENOMEM;
    op->mode = mode;
    op->cas = cas;
    bool uses_ttl = mode != STORE_APPEND && mode != STORE_PREPEND;
    int rc = uses_ttl ? request_exptime(op->st, ttl, &op->exptime) : 0;
    if (rc == 0 && op->st->set.item_size_max != 0 &&
        value_len > op->st->set.item_size_max)
        rc = MCRING_ETOOLARGE;
    /* set compresses as mcring_set does (compress.h); the other storage
     * commands, as their blocking forms, store the bytes given. */
    packed_value p = {value != NULL ? value : "", value_len,
                      uses_ttl ? flags : 0, NULL};
    if (rc == 0 && mode == STORE_SET)
        rc = compress_pack(&a->client->compress, &op->st->set.compress, p.data,
                           p.len, p.flags, &p);
    if (rc == 0 && (op->value = dup_mem(p.data, p.len)) == NULL)
        rc = MCRING_ENOMEM;
    packed_release(&p);
    op->value_len = p.len;
    op->flags = p.flags;
    return single_start(a, op, rc, key, key_len);
}

int mcring_async_set(mcring_async *a, const void *key, size_t key_len,
                     const void *value, size_t value_len, uint32_t flags,
                     double ttl, mcring_async_done_cb cb, void *userdata)
{
    return store_start(a, STORE_SET, key, key_len, value, value_len, flags,
                       ttl, 0, cb, userdata);
}

int mcring_async_add(mcring_async *a, const void *key, size_t key_len,
                     const void *value, size_t value_len, uint32_t flags,
                     double ttl, mcring_async_done_cb cb, void *userdata)
{
    return store_start(a, STORE_ADD, key, key_len, value, value_len, flags,
                       ttl, 0, cb, userdata);
}

int mcring_async_replace(mcring_async *a, const void *key, size_t key_len,
                         const void *value, size_t value_len, uint32_t flags,
                         double ttl, mcring_async_done_cb cb, void *userdata)
{
    return store_start(a, STORE_REPLACE, key, key_len, value, value_len, flags,
                       ttl, 0, cb, userdata);
}

int mcring_async_append(mcring_async *a, const void *key, size_t key_len,
                        const void *value, size_t value_len,
                        mcring_async_done_cb cb, void *userdata)
{
    return store_start(a, STORE_APPEND, key, key_len, value, value_len, 0, 0,
                       0, cb, userdata);
}

int mcring_async_prepend(mcring_async *a, const void *key, size_t key_len,
                         const void *value, size_t value_len,
                         mcring_async_done_cb cb, void *userdata)
{
    return store_start(a, STORE_PREPEND, key, key_len, value, value_len, 0, 0,
                       0, cb, userdata);
}

int mcring_async_cas(mcring_async *a, const void *key, size_t key_len,
                     const void *value, size_t value_len, uint32_t flags,
                     double ttl, uint64_t cas, mcring_async_done_cb cb,
                     void *userdata)
{
    return store_start(a, STORE_CAS, key, key_len, value, value_len, flags,
                       ttl, cas, cb, userdata);
}

/* get, gets, gat, gats. */
static int read_start(mcring_async *a, const void *key, size_t key_len,
                      bool touch, double ttl, bool want_cas,
                      mcring_async_get_cb cb, void *userdata)
{
    if (a == NULL || cb == NULL)
        return MCRING_EINVAL;
    aop *op = op_begin(a, AOP_GET, (void *)cb, userdata);
    if (op == NULL)
        return a->freeing ? MCRING_EINVAL : MCRING_ENOMEM;
    op->touch = touch;
    op->want_cas = want_cas;
    int rc = touch ? request_exptime(op->st, ttl, &op->exptime) : 0;
    return single_start(a, op, rc, key, key_len);
}

int mcring_async_gets(mcring_async *a, const void *key, size_t key_len,
                      mcring_async_get_cb cb, void *userdata)
{
    return read_start(a, key, key_len, false, 0, true, cb, userdata);
}

int mcring_async_gat(mcring_async *a, const void *key, size_t key_len,
                     double ttl, mcring_async_get_cb cb, void *userdata)
{
    return read_start(a, key, key_len, true, ttl, false, cb, userdata);
}

int mcring_async_gats(mcring_async *a, const void *key, size_t key_len,
                      double ttl, mcring_async_get_cb cb, void *userdata)
{
    return read_start(a, key, key_len, true, ttl, true, cb, userdata);
}

int mcring_async_touch(mcring_async *a, const void *key, size_t key_len,
                       double ttl, mcring_async_done_cb cb, void *userdata)
{
    if (a == NULL || cb == NULL)
        return MCRING_EINVAL;
    aop *op = op_begin(a, AOP_TOUCH, (void *)cb, userdata);
    if (op == NULL)
        return a->freeing ? MCRING_EINVAL : MCRING_ENOMEM;
    int rc = request_exptime(op->st, ttl, &op->exptime);
    return single_start(a, op, rc, key, key_len);
}

int mcring_async_delete(mcring_async *a, const void *key, size_t key_len,
                        mcring_async_done_cb cb, void *userdata)
{
    if (a == NULL || cb == NULL)
        return MCRING_EINVAL;
    aop *op = op_begin(a, AOP_DELETE, (void *)cb, userdata);
    if (op == NULL)
        return a->freeing ? MCRING_EINVAL : MCRING_ENOMEM;
    return single_start(a, op, 0, key, key_len);
}

static uint64_t magnitude(int64_t v)
{
    return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

static int arith_start(mcring_async *a, const void *key, size_t key_len,
                       bool incr, uint64_t delta, double ttl,
                       mcring_async_count_cb cb, void *userdata)
{
    if (a == NULL || cb == NULL)
        return MCRING_EINVAL;
    aop *op = op_begin(a, AOP_ARITH, (void *)cb, userdata);
    if (op == NULL)
        return a->freeing ? MCRING_EINVAL : MCRING_ENOMEM;
    int rc = request_exptime(op->st, ttl, &op->exptime);
    op->incr = incr;
    op->delta = delta;
    return single_start(a, op, rc, key, key_len);
}

int mcring_async_incr(mcring_async *a, const void *key, size_t key_len,
                      int64_t delta, double ttl, mcring_async_count_cb cb,
                      void *userdata)
{
    return arith_start(a, key, key_len, delta >= 0, magnitude(delta), ttl, cb,
                       userdata);
}

int mcring_async_decr(mcring_async *a, const void *key, size_t key_len,
                      int64_t delta, double ttl, mcring_async_count_cb cb,
                      void *userdata)
{
    /* Swift: decr(delta) is incr(-delta). */
    return arith_start(a, key, key_len, delta <= 0, magnitude(delta), ttl, cb,
                       userdata);
}

/* The keys of a multi-key op, prepared; placement done. */
static int multi_prepare_keys(aop *op, const mcring_key *keys, size_t n,
                              const void *server_key, size_t server_key_len)
{
    const state *st = op->st;
    op->n = n;
    op->keys = calloc(n, sizeof(*op->keys));
    op->md5 = malloc(n * MD5_LEN);
    op->first = malloc(n * sizeof(*op->first));
    op->kpos = calloc(n, sizeof(*op->kpos));
    op->status = malloc(n * sizeof(*op->status));
    op->last_err = malloc(n * sizeof(*op->last_err));
    op->failed_srv = calloc(st->ring->nservers, sizeof(bool));
    if (st->set.timed)
        op->caller_len = malloc(n * sizeof(*op->caller_len));
    if (op->keys == NULL || op->md5 == NULL || op->first == NULL ||
        op->kpos == NULL || op->status == NULL || op->last_err == NULL ||
        op->failed_srv == NULL || (st->set.timed && op->caller_len == NULL))
        return MCRING_ENOMEM;
    op->shared = server_key != NULL;
    if (op->shared) {
        keyhash kh;
        keyhash_init(&kh, server_key, server_key_len);
        size_t tries = st->ring->tries;
        op->norder = ring_locate(st->ring, &kh, op->order,
                                 tries < 64 ? tries : 64);
    }
    for (size_t k = 0; k < n; k++) {
        key_op ko;
        int rc = key_prepare(&st->set, keys[k].data, keys[k].len, &ko);
        if (rc != 0)
            return rc;
        /* Multi-key requests are classic lines in either protocol: a raw
         * key meta mode would send base64-encoded cannot go in them. */
        if (!proto_key_valid(ko.wire, ko.wire_len))
            return MCRING_EKEY;
        memcpy(op->md5[k], ko.kh.md5, MD5_LEN);
        op->keys[k].data = dup_mem(ko.wire, ko.wire_len);
        if (op->keys[k].data == NULL)
            return MCRING_ENOMEM;
        op->keys[k].len = ko.wire_len;
        if (op->caller_len != NULL)
            op->caller_len[k] = keys[k].len;
        op->status[k] = PENDING;
        op->last_err[k] = MCRING_ELIMITED;
        if (!op->shared)
            ring_locate(st->ring, &ko.kh, &op->first[k], 1);
    }
    return 0;
}

/* get_multi and gets_multi. */
static int read_multi_start(mcring_async *a, const mcring_key *keys, size_t n,
                            const void *server_key, size_t server_key_len,
                            bool want_cas, mcring_async_multi_cb cb,
                            void *userdata)
{
    if (a == NULL || cb == NULL || (n > 0 && keys == NULL))
        return MCRING_EINVAL;
    aop *op = op_begin(a, AOP_MGET, (void *)cb, userdata);
    if (op == NULL)
        return a->freeing ? MCRING_EINVAL : MCRING_ENOMEM;
    op->want_cas = want_cas;
    int rc = multi_prepare_keys(op, keys, n, server_key, server_key_len);
    if (rc == 0 && (op->items = calloc(n ? n : 1, sizeof(*op->items))) == NULL)
        rc = MCRING_ENOMEM;
    return launch(a, op, rc);
}

int mcring_async_get_multi(mcring_async *a, const mcring_key *keys, size_t n,
                           const void *server_key, size_t server_key_len,
                           mcring_async_multi_cb cb, void *userdata)
{
    return read_multi_start(a, keys, n, server_key, server_key_len, false, cb,
                            userdata);
}

int mcring_async_gets_multi(mcring_async *a, const mcring_key *keys, size_t n,
                            const void *server_key, size_t server_key_len,
                            mcring_async_multi_cb cb, void *userdata)
{
    return read_multi_start(a, keys, n, server_key, server_key_len, true, cb,
                            userdata);
}

int mcring_async_touch_multi(mcring_async *a, const mcring_key *keys,
                             size_t n, const void *server_key,
                             size_t server_key_len, double ttl,
                             mcring_async_set_multi_cb cb, void *userdata)
{
    if (a == NULL || cb == NULL || (n > 0 && keys == NULL))
        return MCRING_EINVAL;
    aop *op = op_begin(a, AOP_MTOUCH, (void *)cb, userdata);
    if (op == NULL)
        return a->freeing ? MCRING_EINVAL : MCRING_ENOMEM;
    int rc = request_exptime(op->st, ttl, &op->exptime);
    if (rc == 0)
        rc = multi_prepare_keys(op, keys, n, server_key, server_key_len);
    return launch(a, op, rc);
}

int mcring_async_set_multi(mcring_async *a, const mcring_kv *kvs, size_t n,
                           const void *server_key, size_t server_key_len,
                           double ttl, mcring_async_set_multi_cb cb,
                           void *userdata)
{
    if (a == NULL || cb == NULL || (n > 0 && kvs == NULL))
        return MCRING_EINVAL;
    for (size_t k = 0; k < n; k++)
        if (kvs[k].value == NULL && kvs[k].value_len > 0)
            return MCRING_EINVAL;
    aop *op = op_begin(a, AOP_MSET, (void *)cb, userdata);
    if (op == NULL)
        return a->freeing ? MCRING_EINVAL : MCRING_ENOMEM;
    mcring_key *keys = malloc((n ? n : 1) * sizeof(*keys));
    int64_t exptime = 0;
    int rc = keys == NULL ? MCRING_ENOMEM
                          : request_exptime(op->st, ttl, &exptime);
    for (size_t k = 0; rc == 0 && k < n; k++) {
        keys[k] = (mcring_key){kvs[k].key, kvs[k].key_len};
        if (op->st->set.item_size_max != 0 &&
            kvs[k].value_len > op->st->set.item_size_max)
            rc = MCRING_ETOOLARGE;
    }
    if (rc == 0)
        rc = multi_prepare_keys(op, keys, n, server_key, server_key_len);
    free(keys);
    if (rc == 0) {
        op->values = calloc(n ? n : 1, sizeof(*op->values));
        op->value_lens = malloc((n ? n : 1) * sizeof(size_t));
        op->head_off = malloc((n ? n : 1) * sizeof(size_t));
        op->head_len = malloc((n ? n : 1) * sizeof(size_t));
        op->headers = malloc((n ? n : 1) * PROTO_HEADER_MAX);
        if (op->values == NULL || op->value_lens == NULL ||
            op->head_off == NULL || op->head_len == NULL ||
            op->headers == NULL)
            rc = MCRING_ENOMEM;
    }
    size_t off = 0;
    for (size_t k = 0; rc == 0 && k < n; k++) {
        /* As mcring_set_multi: compressed on the way (compress.h). */
        packed_value p;
        rc = compress_pack(&a->client->compress, &op->st->set.compress,
                           kvs[k].value ? kvs[k].value : "", kvs[k].value_len,
                           kvs[k].flags, &p);
        if (rc != 0)
            break;
        op->values[k] = dup_mem(p.data, p.len);
        packed_release(&p);
        if (op->values[k] == NULL) {
            rc = MCRING_ENOMEM;
            break;
        }
        op->value_lens[k] = p.len;
        op->head_off[k] = off;
        op->head_len[k] = proto_storage_header(
            op->headers + off, "set", op->keys[k].data, op->keys[k].len,
            p.flags, exptime, p.len);
        off += op->head_len[k];
    }
    return launch(a, op, rc);
}
