/*
 * Multi-key operations: mcring_get_multi, mcring_gets_multi,
 * mcring_set_multi and mcring_touch_multi.
 *
 * Each key goes to the first server of its own try order (with a
 * server_key, all keys share the server_key's order, which is Swift's
 * get_multi/set_multi); with a gutter, a key's order is its server and
 * then the gutter's order for it (request_order), and sets and touches
 * that go to the gutter carry the capped TTL (request_gutter_exptime).
 * A round groups the keys still unanswered by their next usable server
 * and puts one request per group — "get k1 k2 ..." or all the group's
 * sets — on one of that server's connections, alongside
 * whatever other threads have in flight there (mux.h); then it waits for
 * all of them, reading for everyone meanwhile. Keys of a server that
 * failed move on to their next server in the next round; a server that
 * failed once is not asked again in the same call. A key's full try order
 * is computed only when it needs one.
 *
 * With protocol = meta a group's request is a quiet batch (meta.h): one
 * mg/ms per key with q and an opaque token each, then the batch's own mn,
 * read by a meta_batch_reader (reply.h); the commonest answers (a miss, a
 * store) then cost no reply at all.
 *
 * All per-call memory comes from the calling thread's arena (arena.h):
 * steady-state calls do not allocate.
 *
 * Places on several servers are claimed in one global order (by server
 * object address), all before any request goes out, so two threads each
 * waiting for a place the other holds cannot happen, and no call sits on a
 * request in flight while it waits for a place elsewhere.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "client.h"
#include "clock.h"
#include "command.h"
#include "flight.h"
#include "request.h"

#define PENDING 0x7fff /* status of a key with no answer yet */
#define NO_SERVER UINT32_MAX

typedef struct group {
    server *sv;
    uint32_t srv;      /* ring index */
    uint32_t *members; /* key indexes */
    size_t count;
    mux_slot *slot;    /* claimed, or NULL */
    mux_req req;
    get_reader get;
    line_reader lines;
    meta_batch_reader batch;
    int *line_results;
    struct iovec iov1; /* get: the request line */
} group;

typedef struct multi {
    const state *st;
    arena *a;
    size_t n;
    bool is_get;
    bool want_cas;  /* gets */
    bool is_touch;  /* touch (is_get false) */
    bool meta;      /* protocol = meta: quiet batches */
    int64_t exptime; /* set_multi, touch_multi */
    const mcring_key *keys; /* the caller's */
    mcring_key *wire;
    uint32_t *first;   /* each key's first server */
    uint32_t *orders;  /* full try orders: shared (tries) or per key */
    bool *has_order;   /* per key, when not shared */
    size_t tries;
    bool shared;
    uint32_t *pos;     /* position in each key's try order */
    int *status;       /* the caller's array */
    int *last_err;
    bool *server_failed; /* per ring index, within this call */
    mcring_item *items;   /* get */
    const mcring_kv *kvs; /* set */
    char *headers;
    size_t *head_off, *head_len;
    /* The same with the gutter's TTL, built when a set first needs them. */
    char *gutter_headers;
    size_t *gutter_off, *gutter_len;
    int64_t gutter_exptime;
    bool connected; /* some server gave a connection (Swift's "yielded") */
    unsigned round; /* 1 for the first round (metrics.h's attempt) */
} multi;

/* The server at position p of key k's try order (NO_SERVER past its end). */
static uint32_t server_at(multi *m, size_t k, uint32_t p)
{
    if (p >= m->tries)
        return NO_SERVER;
    if (m->shared)
        return m->orders[p];
    if (p == 0)
        return m->first[k];
    if (m->orders == NULL) {
        m->orders = arena_alloc(m->a, m->n * m->tries * sizeof(uint32_t));
        m->has_order = arena_zalloc(m->a, m->n);
        if (m->orders == NULL || m->has_order == NULL)
            return NO_SERVER; /* out of memory: no failover */
    }
    uint32_t *o = m->orders + k * m->tries;
    if (!m->has_order[k]) {
        keyhash kh;
        keyhash_init(&kh, m->keys[k].data, m->keys[k].len);
        request_order(m->st, &kh, o, m->tries);
        m->has_order[k] = true;
    }
    return o[p];
}

static void finish_pending(multi *m, int code)
{
    for (size_t k = 0; k < m->n; k++)
        if (m->status[k] == PENDING)
            m->status[k] = code;
}

/* Validates and hashes every key and finds its first server. A bad key
 * stops the call before anything is sent: it gets its error, the other
 * keys MCRING_ECANCELED. */
static int multi_prepare(multi *m, const void *server_key,
                         size_t server_key_len)
{
    const state *st = m->st;
    size_t n = m->n;
    m->tries = request_tries(st);
    m->shared = server_key != NULL;
    bool swift_keys = st->set.keys == KEYS_SWIFT;
    m->wire = arena_alloc(m->a, n * sizeof(*m->wire));
    char *hex = swift_keys ? arena_alloc(m->a, n * MD5_HEX_LEN) : NULL;
    m->first = arena_alloc(m->a, n * sizeof(*m->first));
    m->pos = arena_zalloc(m->a, n * sizeof(*m->pos));
    m->last_err = arena_alloc(m->a, n * sizeof(*m->last_err));
    m->server_failed = arena_zalloc(m->a, st->nservers);
    if (m->wire == NULL || m->first == NULL || m->pos == NULL ||
        m->last_err == NULL || m->server_failed == NULL ||
        (swift_keys && hex == NULL))
        return MCRING_ENOMEM;
    if (m->shared) {
        m->orders = arena_alloc(m->a, m->tries * sizeof(uint32_t));
        if (m->orders == NULL)
            return MCRING_ENOMEM;
        keyhash kh;
        keyhash_init(&kh, server_key, server_key_len);
        request_order(st, &kh, m->orders, m->tries);
    }
    /* All the keys' MD5s at once: eight at a time on AVX2 machines. */
    unsigned char(*md5)[MD5_LEN] = arena_alloc(m->a, n * MD5_LEN);
    if (md5 == NULL)
        return MCRING_ENOMEM;
    hash_md5_many(m->keys, n, md5);
    int first = 0;
    for (size_t k = 0; k < n; k++) {
        key_op op;
        int rc = key_prepare_digest(&st->set, m->keys[k].data, m->keys[k].len,
                                    md5[k], &op);
        m->status[k] = PENDING;
        m->last_err[k] = MCRING_ELIMITED;
        if (rc != 0) {
            m->status[k] = rc;
            if (first == 0)
                first = rc;
            continue;
        }
        if (swift_keys) {
            memcpy(hex + k * MD5_HEX_LEN, op.hex, MD5_HEX_LEN);
            m->wire[k].data = hex + k * MD5_HEX_LEN;
        } else {
            m->wire[k].data = op.wire;
        }
        m->wire[k].len = op.wire_len;
        if (!m->shared)
            ring_locate(st->ring, &op.kh, &m->first[k], 1);
    }
    return first;
}

static int group_cmp(const void *a, const void *b)
{
    const group *x = a, *y = b;
    return x->sv < y->sv ? -1 : x->sv > y->sv;
}

/* Gives each pending key its next usable server and groups the keys by
 * it; keys out of servers get their last failure. Returns the number of
 * groups (0: nothing left to do), or MCRING_ENOMEM. */
static int plan_round(multi *m, group **out)
{
    const state *st = m->st;
    size_t nsrv = st->nservers;
    uint32_t *count = arena_zalloc(m->a, nsrv * sizeof(*count));
    uint32_t *assigned = arena_alloc(m->a, m->n * sizeof(*assigned));
    /* Whether each server may be asked this round: 0 unknown, 1 yes,
     * 2 no (failed in this call, or passed by: error-limited or down). */
    uint8_t *usable = arena_zalloc(m->a, nsrv);
    if (count == NULL || assigned == NULL || usable == NULL)
        return MCRING_ENOMEM;
    size_t ngroups = 0, total = 0;
    for (size_t k = 0; k < m->n; k++) {
        assigned[k] = NO_SERVER;
        if (m->status[k] != PENDING)
            continue;
        for (;; m->pos[k]++) {
            uint32_t s = server_at(m, k, m->pos[k]);
            if (s == NO_SERVER)
                break;
            /* A server passed by uses up its try, as an error-limited one
             * does in Swift. */
            if (usable[s] == 0)
                usable[s] = m->server_failed[s] ||
                                    server_passed_by(st, st->servers[s])
                                ? 2
                                : 1;
            if (usable[s] == 2)
                continue;
            if (m->pos[k] == 1 && s >= st->ring->nservers)
                atomic_fetch_add_explicit(
                    &st->servers[server_at(m, k, 0)]->to_gutter, 1,
                    memory_order_relaxed);
            assigned[k] = s;
            ngroups += count[s]++ == 0;
            total++;
            break;
        }
        if (assigned[k] == NO_SERVER)
            m->status[k] = m->last_err[k];
    }
    if (ngroups == 0)
        return 0;

    group *g = arena_zalloc(m->a, ngroups * sizeof(*g));
    uint32_t *members = arena_alloc(m->a, total * sizeof(*members));
    uint32_t *gidx = arena_alloc(m->a, nsrv * sizeof(*gidx));
    if (g == NULL || members == NULL || gidx == NULL)
        return MCRING_ENOMEM;
    size_t gi = 0, off = 0;
    for (size_t s = 0; s < nsrv; s++) {
        if (count[s] == 0)
            continue;
        g[gi].sv = st->servers[s];
        g[gi].srv = (uint32_t)s;
        g[gi].members = members + off;
        off += count[s];
        gidx[s] = (uint32_t)gi++;
    }
    for (size_t k = 0; k < m->n; k++) {
        if (assigned[k] == NO_SERVER)
            continue;
        group *grp = &g[gidx[assigned[k]]];
        grp->members[grp->count++] = (uint32_t)k;
    }
    if (ngroups > 1)
        qsort(g, ngroups, sizeof(*g), group_cmp);
    *out = g;
    return (int)ngroups;
}

/* Puts a group's keys back to pending, to try their next server. */
static void group_failed(multi *m, group *g, int rc)
{
    m->server_failed[g->srv] = true;
    for (size_t i = 0; i < g->count; i++) {
        uint32_t k = g->members[i];
        m->status[k] = PENDING;
        m->last_err[k] = rc;
        m->pos[k]++;
        if (m->is_get) {
            m->items[k].len = 0;
            m->items[k].flags = 0;
            m->items[k].cas = 0;
        }
    }
}

static void group_final(multi *m, group *g, int rc)
{
    for (size_t i = 0; i < g->count; i++)
        m->status[g->members[i]] = rc;
}

/* The exptime a group's sets and touches carry: the call's, capped at
 * gutter_ttl on a gutter server. */
static int64_t group_exptime(const multi *m, const group *g)
{
    return g->srv >= m->st->ring->nservers ? m->gutter_exptime : m->exptime;
}

/* The group's quiet meta batch: one command per key, then "mn". */
static int build_meta_batch(multi *m, group *g)
{
    mux_req *r = &g->req;
    int64_t exptime = group_exptime(m, g);
    uint64_t opaque = command_opaque(g->count);
    size_t per_key = m->is_get || m->is_touch ? 1 : 3;
    struct iovec *iov = arena_alloc(m->a, (per_key * g->count + 1) *
                                              sizeof(*iov));
    char *lines = arena_alloc(m->a, g->count * META_HEADER_MAX);
    if (iov == NULL || lines == NULL)
        return MCRING_ENOMEM;
    size_t len = 0;
    int n = 0;
    for (size_t i = 0; i < g->count; i++) {
        uint32_t k = g->members[i];
        meta_cmd c = {.key = m->wire[k].data, .key_len = m->wire[k].len,
                      .tokens = META_TOKEN_O, .O = opaque + i};
        if (m->is_get) {
            c.cmd = "mg";
            c.flags = m->want_cas ? "vfkcq" : "vfkq";
        } else if (m->is_touch) {
            c.cmd = "mg";
            c.flags = "q";
            c.tokens |= META_TOKEN_T;
            c.T = exptime;
        } else {
            c.cmd = "ms";
            c.flags = "q";
            c.has_datalen = true;
            c.datalen = m->kvs[k].value_len;
            c.tokens |= META_TOKEN_T | META_TOKEN_F;
            c.T = exptime;
            c.F = m->kvs[k].flags;
        }
        size_t l = meta_encode(lines + len, &c);
        if (per_key == 1 && n > 0) {
            iov[n - 1].iov_len += l; /* contiguous: one iovec */
        } else {
            iov[n++] = (struct iovec){lines + len, l};
        }
        len += l;
        if (per_key == 3) {
            iov[n++] = (struct iovec){(void *)m->kvs[k].value,
                                      m->kvs[k].value_len};
            iov[n++] = (struct iovec){(void *)"\r\n", 2};
        }
    }
    iov[n++] = (struct iovec){(void *)"mn\r\n", 4};
    batch_kind kind = m->is_get     ? BATCH_GET
                      : m->is_touch ? BATCH_TOUCH
                                    : BATCH_SET;
    meta_batch_reader_init(&g->batch, kind, opaque, m->wire, g->members,
                           g->count, m->is_get ? m->items : NULL, m->status,
                           m->st->set.item_size_max);
    r->pr.iov = iov;
    r->pr.iovcnt = n;
    r->pr.reader = &g->batch.base;
    return 0;
}

/* set_multi's request headers for the keys still pending, one each:
 * built once for all rounds (and once more with the gutter's TTL when the
 * gutter is used). */
static int build_headers(multi *m, int64_t exptime, char **headers,
                         size_t **offs, size_t **lens)
{
    size_t *off = arena_alloc(m->a, m->n * sizeof(*off));
    size_t *len = arena_alloc(m->a, m->n * sizeof(*len));
    char *buf = arena_alloc(m->a, m->n * PROTO_HEADER_MAX);
    if (off == NULL || len == NULL || buf == NULL)
        return MCRING_ENOMEM;
    size_t at = 0;
    for (size_t k = 0; k < m->n; k++) {
        if (m->status[k] != PENDING)
            continue;
        off[k] = at;
        len[k] = proto_storage_header(buf + at, "set", m->wire[k].data,
                                      m->wire[k].len, m->kvs[k].flags,
                                      exptime, m->kvs[k].value_len);
        at += len[k];
    }
    *headers = buf;
    *offs = off;
    *lens = len;
    return 0;
}

/* Sets up the group's request and reader, in the call's arena. */
static int build_request(multi *m, group *g)
{
    mux_req *r = &g->req;
    if (m->meta)
        return build_meta_batch(m, g);
    if (m->is_get) {
        const char *cmd = m->want_cas ? "gets" : "get";
        size_t len = strlen(cmd) + 2;
        for (size_t i = 0; i < g->count; i++)
            len += 1 + m->wire[g->members[i]].len;
        char *line = arena_alloc(m->a, len);
        if (line == NULL)
            return MCRING_ENOMEM;
        char *p = line;
        memcpy(p, cmd, strlen(cmd));
        p += strlen(cmd);
        for (size_t i = 0; i < g->count; i++) {
            const mcring_key *k = &m->wire[g->members[i]];
            *p++ = ' ';
            memcpy(p, k->data, k->len);
            p += k->len;
        }
        *p++ = '\r';
        *p++ = '\n';
        g->iov1 = (struct iovec){line, (size_t)(p - line)};
        r->pr.iov = &g->iov1;
        r->pr.iovcnt = 1;
        get_reader_init(&g->get, m->wire, g->members, g->count, m->items,
                        m->status, m->st->set.item_size_max);
        r->pr.reader = &g->get.base;
        return 0;
    }
    g->line_results = arena_alloc(m->a, g->count * sizeof(int));
    if (g->line_results == NULL)
        return MCRING_ENOMEM;
    if (m->is_touch) {
        char *lines = arena_alloc(m->a, g->count * PROTO_HEADER_MAX);
        if (lines == NULL)
            return MCRING_ENOMEM;
        size_t len = 0;
        for (size_t i = 0; i < g->count; i++) {
            const mcring_key *k = &m->wire[g->members[i]];
            len += proto_touch(lines + len, k->data, k->len,
                               group_exptime(m, g));
        }
        g->iov1 = (struct iovec){lines, len};
        line_reader_init(&g->lines, g->count, classify_touch, g->line_results,
                         NULL);
        r->pr.iov = &g->iov1;
        r->pr.iovcnt = 1;
        r->pr.reader = &g->lines.base;
        return 0;
    }
    struct iovec *iov = arena_alloc(m->a, 3 * g->count * sizeof(*iov));
    if (iov == NULL)
        return MCRING_ENOMEM;
    bool gutter = g->srv >= m->st->ring->nservers;
    if (gutter && m->gutter_headers == NULL &&
        build_headers(m, m->gutter_exptime, &m->gutter_headers,
                      &m->gutter_off, &m->gutter_len) != 0)
        return MCRING_ENOMEM;
    const char *heads = gutter ? m->gutter_headers : m->headers;
    const size_t *off = gutter ? m->gutter_off : m->head_off;
    const size_t *hlen = gutter ? m->gutter_len : m->head_len;
    for (size_t i = 0; i < g->count; i++) {
        uint32_t k = g->members[i];
        iov[3 * i] = (struct iovec){(char *)heads + off[k], hlen[k]};
        iov[3 * i + 1] =
            (struct iovec){(void *)m->kvs[k].value, m->kvs[k].value_len};
        iov[3 * i + 2] = (struct iovec){(void *)"\r\n", 2};
    }
    line_reader_init(&g->lines, g->count, classify_store, g->line_results,
                     NULL);
    r->pr.iov = iov;
    r->pr.iovcnt = (int)(3 * g->count);
    r->pr.reader = &g->lines.base;
    return 0;
}

/* A set group that read every reply: the first reply that says the server
 * failed fails the group (Swift resends the whole batch to the next
 * server); otherwise each key keeps its own outcome. */
static int set_group_outcome(const multi *m, group *g)
{
    for (size_t i = 0; i < g->count; i++) {
        int r = m->meta ? m->status[g->members[i]] : g->line_results[i];
        if (!rc_is_final(r))
            return r;
    }
    return 0;
}

/* Records a group's attempt (metrics.h); an answered get counts its
 * keys' hits and misses. */
static void record_group(multi *m, group *g, int rc, int64_t start)
{
    attempt_info a = {m->is_get     ? MCRING_OP_GET_MULTI
                      : m->is_touch ? MCRING_OP_TOUCH_MULTI
                                    : MCRING_OP_SET_MULTI,
                      0, g->count, m->round};
    bool answered = rc == 0 && m->is_get;
    uint64_t hits = 0, misses = 0;
    for (size_t i = 0; i < g->count; i++) {
        int status = m->status[g->members[i]];
        a.key_len += m->keys[g->members[i]].len;
        hits += answered &&
                (status == MCRING_OK || status == MCRING_UNDECODABLE);
        misses += answered && status == MCRING_MISS;
    }
    metrics_attempt_done(m->st, g->sv, &a, rc, start, hits, misses);
}

static int run_round(multi *m, group *g, size_t ngroups)
{
    const state *st = m->st;
    int64_t start = metrics_attempt_start(st->set.timed);
    /* Claim a place per group (connecting where needed), in the global
     * order plan_round sorted them in, before anything goes out. */
    for (size_t i = 0; i < ngroups; i++) {
        int rc = build_request(m, &g[i]);
        if (rc != 0) {
            group_final(m, &g[i], rc);
            continue;
        }
        g[i].slot = server_claim(st, g[i].sv, &rc);
        if (g[i].slot == NULL && st->set.timed)
            record_group(m, &g[i], rc, start);
        if (g[i].slot == NULL)
            group_failed(m, &g[i], rc);
        else
            m->connected = true;
    }
    mux_req **reqs = arena_alloc(m->a, ngroups * sizeof(*reqs));
    if (reqs == NULL) {
        for (size_t i = 0; i < ngroups; i++)
            if (g[i].slot != NULL)
                mux_slot_unclaim(g[i].slot);
        return MCRING_ENOMEM;
    }
    waiter w;
    waiter_init(&w);
    /* Requests on several slots go out at once: this caller may sit in a
     * read on one slot while another's reader leaves (mux.h, no_defer). */
    size_t nslots = 0;
    for (size_t i = 0; i < ngroups; i++)
        nslots += g[i].slot != NULL;
    size_t nr = 0;
    for (size_t i = 0; i < ngroups; i++)
        if (g[i].slot != NULL) {
            g[i].req.no_defer = nslots > 1;
            server_submit(st, g[i].slot, &g[i].req, &w);
            reqs[nr++] = &g[i].req;
        }
    mux_wait(reqs, nr, &w);

    for (size_t i = 0; i < ngroups; i++) {
        group *grp = &g[i];
        if (grp->slot == NULL)
            continue;
        int r = server_settle(st, grp->sv, &grp->req);
        reply_reader *rd = grp->req.pr.reader;
        int outcome = m->meta ? grp->batch.outcome
                      : m->is_get ? grp->get.outcome
                                  : 0;
        if (r == 0 && outcome != 0)
            r = rc_is_final(outcome)
                    ? outcome
                    : server_failed(st, grp->sv, outcome, PHASE_TALK, 0,
                                    NULL, rd->detail);
        if (r == 0 && !m->is_get && !m->is_touch &&
            (r = set_group_outcome(m, grp)) != 0)
            r = server_failed(st, grp->sv, r, PHASE_SET, 0, NULL, rd->detail);
        if (st->set.timed)
            record_group(m, grp, r, start);
        if (r != 0 && m->meta)
            meta_batch_reader_reset(&grp->batch);
        else if (r != 0 && m->is_get)
            get_reader_reset(&grp->get);
        if (r == 0) {
            if (!m->is_get && !m->meta)
                for (size_t j = 0; j < grp->count; j++)
                    m->status[grp->members[j]] = grp->line_results[j];
        } else if (rc_is_final(r)) {
            group_final(m, grp, r);
        } else {
            group_failed(m, grp, r);
        }
        grp->slot = NULL;
    }
    return 0;
}

static int run_rounds(multi *m)
{
    for (;;) {
        group *g = NULL;
        int n = plan_round(m, &g);
        if (n == 0)
            break;
        m->round++;
        if (n < 0 || (n = run_round(m, g, (size_t)n)) != 0) {
            finish_pending(m, MCRING_ENOMEM);
            return MCRING_ENOMEM;
        }
    }
    if (!m->connected)
        client_log(m->st, MCRING_LOG_ERROR, NULL,
                   "All memcached servers error-limited");
    for (size_t k = 0; k < m->n; k++)
        if (m->status[k] < 0)
            return m->status[k];
    return 0;
}

/* get_multi and gets_multi. */
static int read_multi(mcring_client *c, const mcring_key *keys, size_t n,
                      const void *server_key, size_t server_key_len,
                      mcring_item *items, int *status, bool want_cas)
{
    if (c == NULL || (n > 0 && (keys == NULL || items == NULL ||
                                status == NULL)))
        return MCRING_EINVAL;
    /* NULL is no server key (each key on its own servers, an mcring
     * extension); any other, "" included, places every key where Swift
     * puts md5(server_key). */
    for (size_t k = 0; k < n; k++) {
        items[k].len = 0;
        items[k].flags = 0;
        items[k].cas = 0;
    }
    /* Swift sends "get \r\n" for no keys and waits out the timeout on the
     * ERROR (bug 2): no keys, no network. */
    if (n == 0)
        return 0;
    arena *a = arena_begin();
    if (a == NULL)
        return MCRING_ENOMEM;
    multi m = {.a = a, .n = n, .is_get = true, .want_cas = want_cas,
               .keys = keys, .status = status, .items = items};
    m.st = client_enter(c);
    m.meta = m.st->set.protocol == PROTOCOL_META;
    int rc = multi_prepare(&m, server_key, server_key_len);
    if (rc == 0) {
        rc = run_rounds(&m);
        int unpacked = compress_unpack_many(&c->compress, &m.st->set.compress,
                                            items, status, n);
        if (rc != MCRING_ENOMEM)
            rc = unpacked;
    } else {
        finish_pending(&m, rc == MCRING_ENOMEM ? rc : MCRING_ECANCELED);
    }
    state_leave();
    arena_end(a);
    return rc;
}

int mcring_get_multi(mcring_client *c, const mcring_key *keys, size_t n,
                     const void *server_key, size_t server_key_len,
                     mcring_item *items, int *status)
{
    return read_multi(c, keys, n, server_key, server_key_len, items, status,
                      false);
}

int mcring_gets_multi(mcring_client *c, const mcring_key *keys, size_t n,
                      const void *server_key, size_t server_key_len,
                      mcring_item *items, int *status)
{
    return read_multi(c, keys, n, server_key, server_key_len, items, status,
                      true);
}

/* A set of key k was tried: gets of it in flight take no more joiners. */
static void wrote_key(const multi *m, const mcring_client *c, size_t k)
{
    if (!m->st->set.single_flight || m->wire == NULL)
        return;
    key_op op;
    if (key_prepare(&m->st->set, m->keys[k].data, m->keys[k].len, &op) == 0)
        flight_wrote(c, m->st, &op);
}

int mcring_set_multi(mcring_client *c, const mcring_kv *kvs, size_t n,
                     const void *server_key, size_t server_key_len, double ttl,
                     int *status)
{
    if (c == NULL || (n > 0 && kvs == NULL))
        return MCRING_EINVAL;
    if (n == 0)
        return 0;
    int64_t exptime;
    if (proto_exptime(ttl, clock_wall_s(), &exptime) != 0)
        return MCRING_EINVAL;
    for (size_t k = 0; k < n; k++)
        if (kvs[k].value == NULL && kvs[k].value_len > 0)
            return MCRING_EINVAL;
    arena *a = arena_begin();
    if (a == NULL)
        return MCRING_ENOMEM;
    mcring_key *keys = arena_alloc(a, n * sizeof(*keys));
    if (status == NULL)
        status = arena_alloc(a, n * sizeof(*status));
    if (keys == NULL || status == NULL) {
        arena_end(a);
        return MCRING_ENOMEM;
    }
    for (size_t k = 0; k < n; k++)
        keys[k] = (mcring_key){kvs[k].key, kvs[k].key_len};

    multi m = {.a = a, .n = n, .is_get = false, .keys = keys, .status = status,
               .kvs = kvs};
    m.st = client_enter(c);
    m.meta = m.st->set.protocol == PROTOCOL_META;
    request_exptime(m.st, ttl, &exptime); /* valid: checked above */
    m.exptime = exptime;
    m.gutter_exptime = request_gutter_exptime(m.st, exptime);
    int rc = multi_prepare(&m, server_key, server_key_len);
    for (size_t k = 0; rc != MCRING_ENOMEM && k < n; k++)
        if (m.status[k] == PENDING && m.st->set.item_size_max != 0 &&
            kvs[k].value_len > m.st->set.item_size_max) {
            m.status[k] = MCRING_ETOOLARGE;
            if (rc == 0)
                rc = MCRING_ETOOLARGE;
        }
    const mcring_kv *sent = kvs;
    if (rc == 0)
        rc = compress_pack_kvs(&c->compress, &m.st->set.compress, kvs, n,
                               &sent);
    m.kvs = sent;
    if (rc == 0 && !m.meta)
        rc = build_headers(&m, exptime, &m.headers, &m.head_off,
                           &m.head_len);
    if (rc == 0)
        rc = run_rounds(&m);
    else
        finish_pending(&m, rc == MCRING_ENOMEM ? rc : MCRING_ECANCELED);
    compress_release_kvs(kvs, sent, n);
    for (size_t k = 0; rc != MCRING_ENOMEM && k < n; k++)
        wrote_key(&m, c, k);
    state_leave();
    arena_end(a);
    return rc;
}

int mcring_touch_multi(mcring_client *c, const mcring_key *keys, size_t n,
                       const void *server_key, size_t server_key_len,
                       double ttl, int *status)
{
    if (c == NULL || (n > 0 && (keys == NULL || status == NULL)))
        return MCRING_EINVAL;
    if (n == 0)
        return 0;
    int64_t exptime;
    if (proto_exptime(ttl, clock_wall_s(), &exptime) != 0)
        return MCRING_EINVAL;
    arena *a = arena_begin();
    if (a == NULL)
        return MCRING_ENOMEM;
    multi m = {.a = a, .n = n, .is_touch = true, .keys = keys,
               .status = status};
    m.st = client_enter(c);
    m.meta = m.st->set.protocol == PROTOCOL_META;
    request_exptime(m.st, ttl, &m.exptime); /* valid: checked above */
    m.gutter_exptime = request_gutter_exptime(m.st, m.exptime);
    int rc = multi_prepare(&m, server_key, server_key_len);
    if (rc == 0)
        rc = run_rounds(&m);
    else
        finish_pending(&m, rc == MCRING_ENOMEM ? rc : MCRING_ECANCELED);
    state_leave();
    arena_end(a);
    return rc;
}
