#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reply.h"

/* Longest value a VALUE header may announce at all: memcached's lengths are
 * 32-bit. Below it, the caller's item_max (if any) decides. */
#define VALUE_LEN_MAX UINT32_MAX
/* An item grows ahead of the data by at most this much (or by doubling
 * what already arrived), so that a large value can be read straight into
 * it in big pieces without a header alone costing memory. */
#define GROW_AHEAD (64 * 1024)

enum { G_LINE, G_DATA, G_CRLF, G_SKIP, G_SKIP_CRLF };
/* get_line: a VALUE header was read; go on with its data. */
#define GO_ON 2

static int fail(reply_reader *r, int code, const char *what)
{
    snprintf(r->detail, sizeof(r->detail), "%s", what);
    return code;
}

int reply_failure(const reply *r, bool *in_step, char *detail, size_t dlen)
{
    const char *kw;
    int code;
    switch (r->kind) {
    case REPLY_ERROR:
        kw = "ERROR";
        code = MCRING_EREJECTED;
        *in_step = false;
        break;
    case REPLY_CLIENT_ERROR:
        kw = "CLIENT_ERROR";
        code = MCRING_EREJECTED;
        *in_step = false;
        break;
    case REPLY_SERVER_ERROR:
        kw = "SERVER_ERROR";
        code = proto_is_too_large(r) ? MCRING_ETOOLARGE : MCRING_ESERVER;
        break;
    default:
        snprintf(detail, dlen, "unexpected reply");
        *in_step = false;
        return MCRING_EPROTO;
    }
    int ml = (int)(r->msg_len > 60 ? 60 : r->msg_len);
    snprintf(detail, dlen, "%s%s%.*s", kw, ml ? " " : "", ml,
             r->msg ? r->msg : "");
    return code;
}

/* ---- get ---------------------------------------------------------------- */

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
    g->next = g->cur = g->expect = g->skip = 0;
    g->state = G_LINE;
    g->outcome = 0;
}

static int get_feed(reply_reader *r, const char *buf, size_t len,
                    size_t *used);

void get_reader_init(get_reader *g, const mcring_key *keys,
                     const uint32_t *idx, size_t n, mcring_item *items,
                     int *status, size_t item_max)
{
    memset(&g->base, 0, sizeof(g->base));
    g->base.feed = get_feed;
    g->keys = keys;
    g->idx = idx;
    g->n = n;
    g->items = items;
    g->status = status;
    g->item_max = item_max;
    get_reader_reset(g);
}

/* The request position a VALUE for key answers: the first position at or
 * after the last answered one that holds this key (memcached answers in
 * request order, skipping misses). -1: not asked for, or out of order. */
static ptrdiff_t match_key(get_reader *g, const char *key, size_t len)
{
    for (size_t i = g->next; i < g->n; i++) {
        const mcring_key *k = &g->keys[at(g, i)];
        if (k->len == len && memcmp(k->data, key, len) == 0) {
            g->next = i + 1;
            return (ptrdiff_t)i;
        }
    }
    return -1;
}

/* Makes room for need bytes plus the NUL, growing by doubling but never
 * past limit bytes of data. 0 or MCRING_ENOMEM. */
static int item_grow(mcring_item *it, size_t need, size_t limit)
{
    if (it->cap >= need + 1)
        return 0;
    size_t cap = it->cap > 16 ? it->cap * 2 : 32;
    if (cap < need + 1)
        cap = need + 1;
    if (cap > limit + 1)
        cap = limit + 1;
    char *d = realloc(it->data, cap);
    if (d == NULL)
        return MCRING_ENOMEM;
    it->data = d;
    it->cap = cap;
    return 0;
}

static int get_line(get_reader *g, const char *buf, size_t len, size_t *pos)
{
    reply r;
    ssize_t n = proto_parse_line(buf + *pos, len - *pos, VALUE_LEN_MAX, &r);
    if (n == 0)
        return READ_MORE;
    if (n < 0)
        return fail(&g->base, MCRING_EPROTO, "malformed reply line");
    *pos += (size_t)n;
    if (r.kind == REPLY_END)
        return READ_DONE;
    if (r.kind == REPLY_SERVER_ERROR) {
        /* The server gave up on the get (memory, say) and said so: the
         * stream is in step, the keys failed. */
        bool in_step = true;
        reply_failure(&r, &in_step, g->base.detail, sizeof(g->base.detail));
        g->outcome = MCRING_ESERVER;
        return READ_DONE;
    }
    if (r.kind != REPLY_VALUE) {
        bool in_step = true;
        return reply_failure(&r, &in_step, g->base.detail,
                             sizeof(g->base.detail));
    }
    ptrdiff_t i = match_key(g, r.key, r.key_len);
    if (i < 0)
        return fail(&g->base, MCRING_EPROTO,
                    "reply for a key not asked for (or out of order)");
    size_t j = at(g, (size_t)i);
    mcring_item *it = &g->items[j];
    g->cur = j;
    g->expect = r.value_len;
    if (g->item_max != 0 && r.value_len > g->item_max) {
        /* Larger than the caller accepts: skip it, keeping the stream in
         * step. The caller's limit, not the server's fault. */
        g->status[j] = MCRING_ETOOLARGE;
        g->skip = r.value_len;
        g->state = G_SKIP;
        return GO_ON;
    }
    size_t first = r.value_len < GROW_AHEAD ? r.value_len : GROW_AHEAD;
    if (item_grow(it, first, r.value_len) != 0)
        return fail(&g->base, MCRING_ENOMEM, "out of memory");
    it->len = 0;
    it->flags = r.flags;
    g->status[j] = MCRING_OK; /* provisional: data still to come */
    g->state = G_DATA;
    return GO_ON;
}

static int get_feed(reply_reader *rr, const char *buf, size_t len,
                    size_t *used)
{
    get_reader *g = (get_reader *)rr;
    size_t pos = 0;
    int rc = READ_MORE;
    rr->direct = NULL;
    for (;;) {
        if (g->state == G_LINE) {
            if (pos == len)
                break;
            rc = get_line(g, buf, len, &pos);
            if (rc == GO_ON) {
                rc = READ_MORE;
                continue;
            }
            break;
        }
        if (g->state == G_SKIP) {
            size_t take = len - pos < g->skip ? len - pos : g->skip;
            pos += take;
            g->skip -= take;
            if (g->skip > 0)
                break;
            g->state = G_SKIP_CRLF;
        }
        mcring_item *it = &g->items[g->cur];
        if (g->state == G_DATA) {
            size_t want = g->expect - it->len;
            size_t take = len - pos < want ? len - pos : want;
            if (item_grow(it, it->len + take, g->expect) != 0) {
                rc = fail(rr, MCRING_ENOMEM, "out of memory");
                break;
            }
            memcpy(it->data + it->len, buf + pos, take);
            it->len += take;
            pos += take;
            if (it->len < g->expect) {
                /* Offer the rest of the value for a direct read, growing
                 * the item at most GROW_AHEAD or twice what came so far. */
                size_t ahead = it->len > GROW_AHEAD ? it->len : GROW_AHEAD;
                size_t target = g->expect - it->len < ahead
                                    ? g->expect
                                    : it->len + ahead;
                if (item_grow(it, target, g->expect) == 0) {
                    rr->direct = it->data + it->len;
                    rr->direct_len = it->cap - 1 - it->len;
                    if (rr->direct_len > g->expect - it->len)
                        rr->direct_len = g->expect - it->len;
                    rr->direct_count = &it->len;
                }
                break;
            }
            g->state = G_CRLF;
        }
        /* G_CRLF or G_SKIP_CRLF */
        if (len - pos < 2) {
            if (len - pos == 1 && buf[pos] != '\r') {
                rc = fail(rr, MCRING_EPROTO, "value data not followed by CRLF");
                break;
            }
            break;
        }
        if (buf[pos] != '\r' || buf[pos + 1] != '\n') {
            rc = fail(rr, MCRING_EPROTO, "value data not followed by CRLF");
            break;
        }
        pos += 2;
        if (g->state == G_CRLF) {
            it->data[it->len] = '\0';
            g->status[g->cur] = (it->flags & MCRING_FLAG_PICKLE)
                                    ? MCRING_UNDECODABLE
                                    : MCRING_OK;
        }
        g->state = G_LINE;
    }
    *used = pos;
    if (rc != READ_MORE)
        rr->direct = NULL;
    return rc;
}

/* ---- one-line replies ---------------------------------------------------- */

static int line_feed(reply_reader *rr, const char *buf, size_t len,
                     size_t *used)
{
    line_reader *l = (line_reader *)rr;
    size_t pos = 0;
    int rc = READ_DONE;
    rr->direct = NULL;
    while (l->got < l->n) {
        reply r;
        ssize_t n = proto_parse_line(buf + pos, len - pos, 0, &r);
        if (n == 0) {
            rc = READ_MORE;
            break;
        }
        if (n < 0) {
            rc = fail(rr, MCRING_EPROTO, "malformed reply line");
            break;
        }
        uint64_t number = 0;
        bool in_step = true;
        int outcome = l->classify(&r, &number, &in_step, rr->detail,
                                  sizeof(rr->detail));
        if (!in_step) {
            rc = outcome < 0 ? outcome : MCRING_EPROTO;
            break;
        }
        l->results[l->got] = outcome;
        if (l->numbers != NULL)
            l->numbers[l->got] = number;
        pos += (size_t)n;
        l->got++;
    }
    *used = pos;
    return rc;
}

void line_reader_init(line_reader *l, size_t n, line_classify_fn classify,
                      int *results, uint64_t *numbers)
{
    memset(&l->base, 0, sizeof(l->base));
    l->base.feed = line_feed;
    l->n = n;
    l->got = 0;
    l->classify = classify;
    l->results = results;
    l->numbers = numbers;
}

int classify_store(const reply *r, uint64_t *number, bool *in_step,
                   char *detail, size_t dlen)
{
    (void)number;
    if (r->kind == REPLY_STORED)
        return MCRING_OK;
    if (r->kind == REPLY_NOT_STORED) {
        snprintf(detail, dlen, "NOT_STORED");
        return MCRING_EREJECTED;
    }
    return reply_failure(r, in_step, detail, dlen);
}

int classify_add(const reply *r, uint64_t *number, bool *in_step,
                 char *detail, size_t dlen)
{
    (void)number;
    if (r->kind == REPLY_STORED)
        return MCRING_OK;
    if (r->kind == REPLY_NOT_STORED)
        return MCRING_NOT_STORED;
    return reply_failure(r, in_step, detail, dlen);
}

int classify_delete(const reply *r, uint64_t *number, bool *in_step,
                    char *detail, size_t dlen)
{
    (void)number;
    if (r->kind == REPLY_DELETED)
        return MCRING_OK;
    if (r->kind == REPLY_NOT_FOUND)
        return MCRING_MISS;
    return reply_failure(r, in_step, detail, dlen);
}

int classify_arith(const reply *r, uint64_t *number, bool *in_step,
                   char *detail, size_t dlen)
{
    if (r->kind == REPLY_NUMBER) {
        *number = r->number;
        return MCRING_OK;
    }
    if (r->kind == REPLY_NOT_FOUND)
        return MCRING_MISS;
    if (proto_is_non_numeric(r)) {
        /* memcached's answer to incr on text: in step, the caller's. */
        snprintf(detail, dlen, "value is not a number");
        return MCRING_ENOTNUM;
    }
    return reply_failure(r, in_step, detail, dlen);
}
