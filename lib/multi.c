/*
 * Multi-key operations: mcring_get_multi and mcring_set_multi.
 *
 * Each key carries its own try order (with a server_key, all keys share the
 * server_key's, which is Swift's get_multi/set_multi). A round groups the
 * keys still unanswered by the next usable server of their order, borrows
 * one connection per group, writes every group's request and reads replies
 * as they arrive on all connections at once (exchange_run_many). Keys of a
 * server that failed move on to their next server in the next round; a
 * server that failed once is not asked again within the same call.
 *
 * Connections of several servers are borrowed in one global order (by
 * server object address), so two threads each holding one server's last
 * connection can never wait for each other's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "clock.h"

#define PENDING 0x7fff /* status of a key with no answer yet */

typedef struct group {
    server *sv;
    uint32_t srv;      /* ring index */
    uint32_t *members; /* key indexes, into the round's array */
    size_t count;
    pool_slot *slot;
    exchange x;
    get_reader get;
    line_reader lines;
    struct iovec iov1; /* get: the one request line */
} group;

typedef struct round {
    group *groups;
    size_t ngroups;
    uint32_t *members;   /* every group's members */
    int *line_results;   /* set: a reply per member */
    struct iovec *iov;   /* set: three per member */
    exchange **xs;
    int *results;
} round;

typedef struct multi {
    const state *st;
    size_t n;
    bool is_get;
    mcring_key *wire;
    char *hex;
    uint32_t *orders; /* tries per key, or one shared order */
    size_t tries;
    bool shared;
    uint32_t *pos;      /* next position in each key's order */
    uint32_t *assigned; /* this round's server per key, or UINT32_MAX */
    int *status;        /* the caller's array */
    int *last_err;
    bool *server_failed; /* per ring index, within this call */
    mcring_item *items;  /* get */
    const mcring_kv *kvs; /* set */
    char *headers;
    size_t *head_off;
    size_t *head_len;
} multi;

static const uint32_t *order_of(const multi *m, size_t k)
{
    return m->shared ? m->orders : m->orders + k * m->tries;
}

static void multi_free(multi *m)
{
    free(m->wire);
    free(m->hex);
    free(m->orders);
    free(m->pos);
    free(m->assigned);
    free(m->last_err);
    free(m->server_failed);
    free(m->headers);
    free(m->head_off);
    free(m->head_len);
}

static void round_free(round *r)
{
    free(r->groups);
    free(r->members);
    free(r->line_results);
    free(r->iov);
    free(r->xs);
    free(r->results);
    memset(r, 0, sizeof(*r));
}

/* Marks every pending key with code (nothing was sent). */
static void finish_pending(multi *m, int code)
{
    for (size_t k = 0; k < m->n; k++)
        if (m->status[k] == PENDING)
            m->status[k] = code;
}

/* Validates and hashes every key and computes the try orders. A bad key
 * stops the call before anything is sent: it gets its error, the other
 * keys MCRING_ECANCELED. */
static int multi_prepare(multi *m, const state *st, const mcring_key *keys,
                         const void *server_key, size_t server_key_len)
{
    size_t n = m->n;
    m->st = st;
    m->tries = st->ring->tries;
    m->shared = server_key != NULL;
    m->wire = calloc(n, sizeof(*m->wire));
    m->hex = st->set.keys == KEYS_SWIFT ? malloc(n * MD5_HEX_LEN) : NULL;
    m->orders = malloc((m->shared ? 1 : n) * m->tries * sizeof(uint32_t));
    m->pos = calloc(n, sizeof(*m->pos));
    m->assigned = malloc(n * sizeof(*m->assigned));
    m->last_err = malloc(n * sizeof(*m->last_err));
    m->server_failed = calloc(st->ring->nservers, sizeof(bool));
    if (m->wire == NULL || m->orders == NULL || m->pos == NULL ||
        m->assigned == NULL || m->last_err == NULL ||
        m->server_failed == NULL ||
        (st->set.keys == KEYS_SWIFT && m->hex == NULL))
        return MCRING_ENOMEM;

    if (m->shared) {
        keyhash kh;
        keyhash_init(&kh, server_key, server_key_len);
        ring_locate(st->ring, &kh, m->orders, m->tries);
    }
    int first = 0;
    for (size_t k = 0; k < n; k++) {
        const mcring_key *key = &keys[k];
        key_op op;
        int rc = key_prepare(&st->set, key->data, key->len, &op);
        m->status[k] = PENDING;
        m->last_err[k] = MCRING_ELIMITED;
        if (rc != 0) {
            m->status[k] = rc;
            if (first == 0)
                first = rc;
            continue;
        }
        if (m->hex != NULL) {
            memcpy(m->hex + k * MD5_HEX_LEN, op.hex, MD5_HEX_LEN);
            m->wire[k].data = m->hex + k * MD5_HEX_LEN;
        } else {
            m->wire[k].data = op.wire;
        }
        m->wire[k].len = op.wire_len;
        if (!m->shared)
            ring_locate(st->ring, &op.kh, m->orders + k * m->tries, m->tries);
    }
    return first;
}

static int group_cmp(const void *a, const void *b)
{
    const group *x = a, *y = b;
    return x->sv < y->sv ? -1 : x->sv > y->sv;
}

/* Gives each pending key its next usable server and groups the keys by it.
 * Keys with no server left get their last failure. 0 or MCRING_ENOMEM. */
static int plan_round(multi *m, round *r)
{
    const state *st = m->st;
    size_t nsrv = st->ring->nservers;
    memset(r, 0, sizeof(*r));
    size_t *count = calloc(nsrv, sizeof(*count));
    if (count == NULL)
        return MCRING_ENOMEM;

    size_t total = 0;
    for (size_t k = 0; k < m->n; k++) {
        m->assigned[k] = UINT32_MAX;
        if (m->status[k] != PENDING)
            continue;
        const uint32_t *order = order_of(m, k);
        for (; m->pos[k] < m->tries; m->pos[k]++) {
            uint32_t s = order[m->pos[k]];
            /* An error-limited server uses up its try, as in Swift. */
            if (m->server_failed[s] || server_is_limited(st->servers[s]))
                continue;
            m->assigned[k] = s;
            if (count[s]++ == 0)
                r->ngroups++;
            total++;
            break;
        }
        if (m->assigned[k] == UINT32_MAX)
            m->status[k] = m->last_err[k];
    }
    if (r->ngroups == 0) {
        free(count);
        return 0;
    }

    r->groups = calloc(r->ngroups, sizeof(*r->groups));
    r->members = malloc(total * sizeof(*r->members));
    r->xs = malloc(r->ngroups * sizeof(*r->xs));
    r->results = malloc(r->ngroups * sizeof(*r->results));
    if (!m->is_get) {
        r->line_results = malloc(total * sizeof(*r->line_results));
        r->iov = malloc(3 * total * sizeof(*r->iov));
    }
    size_t *gidx = malloc(nsrv * sizeof(*gidx));
    if (r->groups == NULL || r->members == NULL || r->xs == NULL ||
        r->results == NULL || gidx == NULL ||
        (!m->is_get && (r->line_results == NULL || r->iov == NULL))) {
        free(gidx);
        free(count);
        round_free(r);
        return MCRING_ENOMEM;
    }
    size_t g = 0, off = 0;
    for (size_t s = 0; s < nsrv; s++) {
        if (count[s] == 0)
            continue;
        r->groups[g].sv = st->servers[s];
        r->groups[g].srv = (uint32_t)s;
        r->groups[g].members = r->members + off;
        off += count[s];
        gidx[s] = g++;
    }
    for (size_t k = 0; k < m->n; k++) {
        if (m->assigned[k] == UINT32_MAX)
            continue;
        group *grp = &r->groups[gidx[m->assigned[k]]];
        grp->members[grp->count++] = (uint32_t)k;
    }
    qsort(r->groups, r->ngroups, sizeof(*r->groups), group_cmp);
    free(gidx);
    free(count);
    return 0;
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
        }
    }
}

static void group_final(multi *m, group *g, int rc)
{
    for (size_t i = 0; i < g->count; i++)
        m->status[g->members[i]] = rc;
}

/* Sets up the group's request and reader on its borrowed connection. */
static int build_exchange(multi *m, round *r, group *g)
{
    conn *cn = &g->slot->conn;
    g->x = (exchange){.conn = cn};
    if (m->is_get) {
        size_t len = 5;
        for (size_t i = 0; i < g->count; i++)
            len += 1 + m->wire[g->members[i]].len;
        if (conn_reserve_wbuf(cn, len) != 0)
            return MCRING_ENOMEM;
        char *p = cn->wbuf;
        memcpy(p, "get", 3);
        p += 3;
        for (size_t i = 0; i < g->count; i++) {
            const mcring_key *k = &m->wire[g->members[i]];
            *p++ = ' ';
            memcpy(p, k->data, k->len);
            p += k->len;
        }
        *p++ = '\r';
        *p++ = '\n';
        g->iov1 = (struct iovec){cn->wbuf, (size_t)(p - cn->wbuf)};
        g->x.iov = &g->iov1;
        g->x.iovcnt = 1;
        get_reader_init(&g->get, m->wire, g->members, g->count, m->items,
                        m->status, m->st->set.item_size_max);
        g->x.read = get_reader_read;
        g->x.ctx = &g->get;
        return 0;
    }
    size_t base = (size_t)(g->members - r->members);
    struct iovec *iov = r->iov + 3 * base;
    for (size_t i = 0; i < g->count; i++) {
        uint32_t k = g->members[i];
        iov[3 * i] = (struct iovec){m->headers + m->head_off[k], m->head_len[k]};
        iov[3 * i + 1] =
            (struct iovec){(void *)m->kvs[k].value, m->kvs[k].value_len};
        iov[3 * i + 2] = (struct iovec){(void *)"\r\n", 2};
    }
    g->lines = (line_reader){.n = g->count,
                             .classify = classify_store,
                             .results = r->line_results + base};
    g->x.iov = iov;
    g->x.iovcnt = (int)(3 * g->count);
    g->x.read = line_reader_read;
    g->x.ctx = &g->lines;
    return 0;
}

/* A set group that read every reply: the first reply that says the server
 * failed fails the group (Swift resends the whole batch to the next
 * server); otherwise each key keeps its own outcome. */
static int set_group_outcome(group *g)
{
    for (size_t i = 0; i < g->count; i++)
        if (!rc_is_final(g->lines.results[i]))
            return g->lines.results[i];
    return 0;
}

static int run_round(multi *m, round *r)
{
    const state *st = m->st;
    size_t nx = 0;
    for (size_t i = 0; i < r->ngroups; i++) {
        group *g = &r->groups[i];
        int rc;
        g->slot = server_borrow(st, g->sv, &rc);
        if (g->slot == NULL) {
            group_failed(m, g, rc);
            continue;
        }
        rc = build_exchange(m, r, g);
        if (rc != 0) {
            server_release(st, g->sv, g->slot, rc, PHASE_TALK, NULL);
            g->slot = NULL;
            group_final(m, g, rc);
            continue;
        }
        r->xs[nx++] = &g->x;
    }
    if (nx > 0) {
        int rc = exchange_run_many(r->xs, nx, r->results,
                                   clock_now_ns() + st->set.io_timeout_ns);
        if (rc == MCRING_ENOMEM)
            return rc;
    }
    size_t xi = 0;
    for (size_t i = 0; i < r->ngroups; i++) {
        group *g = &r->groups[i];
        if (g->slot == NULL)
            continue;
        int rc = r->results[xi++];
        phase ph = PHASE_TALK;
        if (rc == 0 && !m->is_get && (rc = set_group_outcome(g)) != 0)
            ph = PHASE_SET;
        if (rc != 0 && m->is_get)
            get_reader_reset(&g->get);
        rc = server_release(st, g->sv, g->slot, rc, ph, g->x.detail);
        g->slot = NULL;
        if (rc == 0) {
            if (!m->is_get)
                for (size_t j = 0; j < g->count; j++)
                    m->status[g->members[j]] = g->lines.results[j];
        } else if (rc_is_final(rc)) {
            group_final(m, g, rc);
        } else {
            group_failed(m, g, rc);
        }
    }
    return 0;
}

static int run_rounds(multi *m)
{
    for (;;) {
        round r;
        int rc = plan_round(m, &r);
        if (rc != 0) {
            finish_pending(m, rc);
            return rc;
        }
        if (r.ngroups == 0)
            break;
        rc = run_round(m, &r);
        round_free(&r);
        if (rc != 0) {
            finish_pending(m, rc);
            return rc;
        }
    }
    for (size_t k = 0; k < m->n; k++)
        if (m->status[k] < 0)
            return m->status[k];
    return 0;
}

int mcring_get_multi(mcring_client *c, const mcring_key *keys, size_t n,
                     const void *server_key, size_t server_key_len,
                     mcring_item *items, int *status)
{
    if (c == NULL || (n > 0 && (keys == NULL || items == NULL ||
                                status == NULL)))
        return MCRING_EINVAL;
    if (server_key != NULL && server_key_len == 0)
        server_key = NULL; /* Swift: an empty server_key means "none" */
    for (size_t k = 0; k < n; k++) {
        items[k].len = 0;
        items[k].flags = 0;
    }
    /* Swift sends "get \r\n" for no keys and waits out the timeout on the
     * ERROR (bug 2): no keys, no network. */
    if (n == 0)
        return 0;

    multi m = {.n = n, .is_get = true, .status = status, .items = items};
    const state *st = state_enter(&c->current);
    int rc = multi_prepare(&m, st, keys, server_key, server_key_len);
    if (rc == 0)
        rc = run_rounds(&m);
    else
        finish_pending(&m, rc == MCRING_ENOMEM ? rc : MCRING_ECANCELED);
    state_leave();
    multi_free(&m);
    return rc;
}

/* set_multi's request headers, one per key, built once for all rounds. */
static int build_headers(multi *m, const mcring_kv *kvs, int64_t exptime)
{
    m->head_off = malloc(m->n * sizeof(*m->head_off));
    m->head_len = malloc(m->n * sizeof(*m->head_len));
    size_t cap = m->n * 64 + 64, len = 0;
    m->headers = malloc(cap);
    if (m->head_off == NULL || m->head_len == NULL || m->headers == NULL)
        return MCRING_ENOMEM;
    for (size_t k = 0; k < m->n; k++) {
        if (m->status[k] != PENDING)
            continue;
        if (len + PROTO_HEADER_MAX > cap) {
            cap = cap * 2 + PROTO_HEADER_MAX;
            char *h = realloc(m->headers, cap);
            if (h == NULL)
                return MCRING_ENOMEM;
            m->headers = h;
        }
        m->head_off[k] = len;
        m->head_len[k] = proto_storage_header(
            m->headers + len, "set", m->wire[k].data, m->wire[k].len,
            kvs[k].flags, exptime, kvs[k].value_len);
        len += m->head_len[k];
    }
    return 0;
}

int mcring_set_multi(mcring_client *c, const mcring_kv *kvs, size_t n,
                     const void *server_key, size_t server_key_len, double ttl,
                     int *status)
{
    if (c == NULL || (n > 0 && kvs == NULL))
        return MCRING_EINVAL;
    if (server_key != NULL && server_key_len == 0)
        server_key = NULL;
    if (n == 0)
        return 0;
    int64_t exptime;
    if (proto_exptime(ttl, clock_wall_s(), &exptime) != 0)
        return MCRING_EINVAL;
    int *own = NULL;
    if (status == NULL) {
        own = malloc(n * sizeof(*own));
        if (own == NULL)
            return MCRING_ENOMEM;
        status = own;
    }
    mcring_key *keys = malloc(n * sizeof(*keys));
    if (keys == NULL) {
        free(own);
        return MCRING_ENOMEM;
    }
    for (size_t k = 0; k < n; k++) {
        if (kvs[k].value == NULL && kvs[k].value_len > 0) {
            free(keys);
            free(own);
            return MCRING_EINVAL;
        }
        keys[k] = (mcring_key){kvs[k].key, kvs[k].key_len};
    }

    multi m = {.n = n, .is_get = false, .status = status, .kvs = kvs};
    const state *st = state_enter(&c->current);
    int rc = multi_prepare(&m, st, keys, server_key, server_key_len);
    for (size_t k = 0; rc != MCRING_ENOMEM && k < n; k++)
        if (m.status[k] == PENDING && kvs[k].value_len > st->set.item_size_max) {
            m.status[k] = MCRING_ETOOLARGE;
            if (rc == 0)
                rc = MCRING_ETOOLARGE;
        }
    if (rc == 0)
        rc = build_headers(&m, kvs, exptime);
    if (rc == 0)
        rc = run_rounds(&m);
    else
        finish_pending(&m, rc == MCRING_ENOMEM ? rc : MCRING_ECANCELED);
    state_leave();
    multi_free(&m);
    free(keys);
    free(own);
    return rc;
}
