#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "exchange.h"

/* Below this many bytes a value is read through the connection's buffer,
 * which also brings in what follows it; above, straight into the item. */
#define DIRECT_MIN 4096

enum { G_LINE, G_DATA, G_CRLF };

static int fail(exchange *x, int code, const char *what)
{
    snprintf(x->detail, sizeof(x->detail), "%s", what);
    return code;
}

int exchange_reply_failure(exchange *x, const reply *r)
{
    const char *kw;
    int code;
    switch (r->kind) {
    case REPLY_ERROR:
        kw = "ERROR";
        code = MCRING_EREJECTED;
        break;
    case REPLY_CLIENT_ERROR:
        kw = "CLIENT_ERROR";
        code = MCRING_EREJECTED;
        break;
    case REPLY_SERVER_ERROR:
        kw = "SERVER_ERROR";
        code = proto_is_too_large(r) ? MCRING_ETOOLARGE : MCRING_ESERVER;
        break;
    default:
        return fail(x, MCRING_EPROTO, "unexpected reply");
    }
    int ml = (int)(r->msg_len > 60 ? 60 : r->msg_len);
    snprintf(x->detail, sizeof(x->detail), "%s%s%.*s", kw, ml ? " " : "", ml,
             r->msg ? r->msg : "");
    return code;
}

/* ---- get ---------------------------------------------------------------- */

void get_reader_init(get_reader *g, const mcring_key *keys,
                     const uint32_t *idx, size_t n, mcring_item *items,
                     int *status, size_t item_max)
{
    g->keys = keys;
    g->idx = idx;
    g->n = n;
    g->items = items;
    g->status = status;
    g->item_max = item_max;
    get_reader_reset(g);
}

/* Position i of the request -> index into keys/items/status. */
static inline size_t at(const get_reader *g, size_t i)
{
    return g->idx != NULL ? g->idx[i] : i;
}

void get_reader_reset(get_reader *g)
{
    for (size_t i = 0; i < g->n; i++) {
        mcring_item *it = &g->items[at(g, i)];
        it->len = 0;
        it->flags = 0;
        if (it->data != NULL)
            it->data[0] = '\0';
        g->status[at(g, i)] = MCRING_MISS;
    }
    g->next = g->cur = g->expect = 0;
    g->state = G_LINE;
}

static bool key_eq(const get_reader *g, size_t i, const char *s, size_t n)
{
    const mcring_key *k = &g->keys[at(g, i)];
    return k->len == n && memcmp(k->data, s, n) == 0;
}

/* The request key a VALUE answers: memcached answers in request order, so
 * look from the last match on; accept an out-of-order answer for a key that
 * is still unanswered, and nothing else. */
static ptrdiff_t match_key(get_reader *g, const char *key, size_t len)
{
    for (size_t i = g->next; i < g->n; i++)
        if (g->status[at(g, i)] == MCRING_MISS && key_eq(g, i, key, len)) {
            g->next = i + 1;
            return (ptrdiff_t)at(g, i);
        }
    for (size_t i = 0; i < g->next && i < g->n; i++)
        if (g->status[at(g, i)] == MCRING_MISS && key_eq(g, i, key, len))
            return (ptrdiff_t)at(g, i);
    return -1;
}

static int item_reserve(mcring_item *it, size_t n)
{
    if (it->cap >= n + 1)
        return 0;
    size_t cap = it->cap ? it->cap : 64;
    while (cap < n + 1)
        cap = cap * 2;
    char *d = realloc(it->data, cap);
    if (d == NULL)
        return MCRING_ENOMEM;
    it->data = d;
    it->cap = cap;
    return 0;
}

int get_reader_read(exchange *x)
{
    get_reader *g = x->ctx;
    conn *c = x->conn;
    for (;;) {
        if (g->state == G_LINE) {
            if (conn_buffered(c) == 0)
                return X_MORE;
            reply r;
            ssize_t n = proto_parse_line(c->rbuf + c->rpos, conn_buffered(c),
                                         g->item_max, &r);
            if (n == 0)
                return X_MORE;
            if (n < 0)
                return fail(x, MCRING_EPROTO, "malformed reply line");
            c->rpos += (size_t)n;
            if (r.kind == REPLY_END)
                return X_DONE;
            if (r.kind != REPLY_VALUE) {
                int rc = exchange_reply_failure(x, &r);
                /* To a get, even "too large" means the server misbehaved. */
                return rc == MCRING_ETOOLARGE ? MCRING_ESERVER : rc;
            }
            ptrdiff_t j = match_key(g, r.key, r.key_len);
            if (j < 0)
                return fail(x, MCRING_EPROTO, "reply for a key not asked for");
            mcring_item *it = &g->items[j];
            if (item_reserve(it, r.value_len) != 0)
                return fail(x, MCRING_ENOMEM, "out of memory");
            it->len = 0;
            it->flags = r.flags;
            g->status[j] = MCRING_OK; /* provisional: data still to come */
            g->cur = (size_t)j;
            g->expect = r.value_len;
            g->state = G_DATA;
            continue;
        }
        mcring_item *it = &g->items[g->cur];
        if (g->state == G_DATA) {
            size_t want = g->expect - it->len;
            size_t avail = conn_buffered(c);
            size_t take = avail < want ? avail : want;
            memcpy(it->data + it->len, c->rbuf + c->rpos, take);
            it->len += take;
            c->rpos += take;
            if (it->len < g->expect) {
                x->direct = it->data + it->len;
                x->direct_len = g->expect - it->len;
                x->direct_count = &it->len;
                return X_MORE;
            }
            g->state = G_CRLF;
        }
        if (conn_buffered(c) < 2)
            return X_MORE;
        if (c->rbuf[c->rpos] != '\r' || c->rbuf[c->rpos + 1] != '\n')
            return fail(x, MCRING_EPROTO, "value data not followed by CRLF");
        c->rpos += 2;
        it->data[it->len] = '\0';
        g->status[g->cur] = (it->flags & MCRING_FLAG_PICKLE)
                                ? MCRING_UNDECODABLE
                                : MCRING_OK;
        g->state = G_LINE;
    }
}

/* ---- one-line replies ----------------------------------------------------*/

int line_reader_read(exchange *x)
{
    line_reader *l = x->ctx;
    conn *c = x->conn;
    while (l->got < l->n) {
        reply r;
        ssize_t n = proto_parse_line(c->rbuf + c->rpos, conn_buffered(c), 0, &r);
        if (n == 0)
            return X_MORE;
        if (n < 0 || r.kind == REPLY_VALUE || r.kind == REPLY_END)
            return fail(x, MCRING_EPROTO, "malformed reply line");
        uint64_t number = 0;
        l->results[l->got] = l->classify(x, &r, &number);
        if (l->numbers != NULL)
            l->numbers[l->got] = number;
        c->rpos += (size_t)n;
        l->got++;
    }
    return X_DONE;
}

/* ---- drivers ------------------------------------------------------------ */

int exchange_run(exchange *x, int64_t deadline)
{
    int rc = conn_send(x->conn, x->iov, x->iovcnt, deadline);
    if (rc != 0)
        return rc;
    x->iovcnt = 0;
    return exchange_finish(x, deadline);
}

int exchange_finish(exchange *x, int64_t deadline)
{
    int rc;
    for (;;) {
        x->direct = NULL;
        rc = x->read(x);
        if (rc == X_DONE)
            return 0;
        if (rc < 0)
            return rc;
        if (x->direct != NULL && x->direct_len >= DIRECT_MIN &&
            conn_buffered(x->conn) == 0) {
            ssize_t n =
                conn_read_direct(x->conn, x->direct, x->direct_len, deadline);
            if (n < 0)
                return (int)n;
            *x->direct_count += (size_t)n;
        } else if ((rc = conn_fill(x->conn, deadline)) != 0) {
            return rc;
        }
    }
}

int exchange_line(conn *c, struct iovec *iov, int iovcnt,
                  line_classify_fn classify, int *result, uint64_t *number,
                  int64_t deadline, char *detail, size_t detail_len)
{
    line_reader l = {.n = 1, .classify = classify, .results = result,
                     .numbers = number};
    exchange x = {.conn = c, .iov = iov, .iovcnt = iovcnt,
                  .read = line_reader_read, .ctx = &l};
    int rc = exchange_run(&x, deadline);
    if (detail != NULL && detail_len > 0)
        snprintf(detail, detail_len, "%s", x.detail);
    return rc;
}

/* One step of exchange x without blocking: 1 done, 0 waiting, < 0 failed. */
static int step(exchange *x)
{
    if (x->iovcnt > 0) {
        int s = conn_try_send(x->conn, &x->iov, &x->iovcnt);
        if (s < 0)
            return s;
        if (s == 1)
            x->iovcnt = 0;
    }
    for (;;) {
        x->direct = NULL;
        int rc = x->read(x);
        if (rc == X_DONE)
            return 1;
        if (rc < 0)
            return rc;
        ssize_t n;
        if (x->direct != NULL && x->direct_len >= DIRECT_MIN &&
            conn_buffered(x->conn) == 0) {
            n = conn_try_read_direct(x->conn, x->direct, x->direct_len);
            if (n > 0)
                *x->direct_count += (size_t)n;
        } else {
            n = conn_try_fill(x->conn);
        }
        if (n < 0)
            return (int)n;
        if (n == 0)
            return 0;
    }
}

int exchange_run_many(exchange **xs, size_t n, int *results, int64_t deadline)
{
    enum { PENDING = 1 };
    struct pollfd small_pfd[16];
    size_t small_map[16];
    bool small_ready[16];
    struct pollfd *pfd = small_pfd;
    size_t *map = small_map;
    bool *ready = small_ready;
    if (n > 16) {
        pfd = malloc(n * sizeof(*pfd));
        map = malloc(n * sizeof(*map));
        ready = malloc(n * sizeof(*ready));
        if (pfd == NULL || map == NULL || ready == NULL) {
            free(pfd);
            free(map);
            free(ready);
            return MCRING_ENOMEM;
        }
    }
    for (size_t i = 0; i < n; i++) {
        results[i] = PENDING;
        ready[i] = true;
    }

    int rc = 0;
    for (;;) {
        size_t np = 0;
        for (size_t i = 0; i < n; i++) {
            if (results[i] != PENDING)
                continue;
            int s = ready[i] ? step(xs[i]) : 0;
            if (s == 1) {
                results[i] = 0;
            } else if (s < 0) {
                results[i] = s;
            } else {
                pfd[np].fd = xs[i]->conn->fd;
                pfd[np].events =
                    conn_poll_events(xs[i]->conn, xs[i]->iovcnt > 0);
                pfd[np].revents = 0;
                map[np++] = i;
            }
        }
        if (np == 0)
            break;
        int64_t now = clock_now_ns();
        if (now >= deadline) {
            for (size_t k = 0; k < np; k++)
                results[map[k]] = MCRING_ETIMEOUT;
            break;
        }
        int r = poll(pfd, (nfds_t)np, clock_ms_left(deadline, now));
        if (r < 0 && errno != EINTR) {
            for (size_t k = 0; k < np; k++)
                results[map[k]] = MCRING_ESYS;
            rc = MCRING_ESYS;
            break;
        }
        for (size_t k = 0; k < np; k++)
            ready[map[k]] = r > 0 && pfd[k].revents != 0;
    }
    if (n > 16) {
        free(pfd);
        free(map);
        free(ready);
    }
    return rc;
}
