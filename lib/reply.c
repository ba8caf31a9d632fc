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
        it->cas = 0;
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
    it->cas = r.number; /* gets and gats send it; get and gat do not (0) */
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

int classify_touch(const reply *r, uint64_t *number, bool *in_step,
                   char *detail, size_t dlen)
{
    (void)number;
    if (r->kind == REPLY_TOUCHED)
        return MCRING_OK;
    if (r->kind == REPLY_NOT_FOUND)
        return MCRING_NOT_FOUND;
    return reply_failure(r, in_step, detail, dlen);
}

int classify_storage(const reply *r, uint64_t *number, bool *in_step,
                     char *detail, size_t dlen)
{
    (void)number;
    switch (r->kind) {
    case REPLY_STORED:
        return MCRING_OK;
    case REPLY_NOT_STORED:
        return MCRING_NOT_STORED;
    case REPLY_EXISTS:
        return MCRING_EXISTS;
    case REPLY_NOT_FOUND:
        return MCRING_NOT_FOUND;
    default:
        return reply_failure(r, in_step, detail, dlen);
    }
}

int classify_ok(const reply *r, uint64_t *number, bool *in_step,
                char *detail, size_t dlen)
{
    (void)number;
    if (r->kind == REPLY_OK)
        return MCRING_OK;
    return reply_failure(r, in_step, detail, dlen);
}

/* ---- values of meta replies ----------------------------------------------*/

enum { V_DATA, V_CRLF, V_SKIP, V_SKIP_CRLF };

/* Starts reading a value of len bytes into it, or skipping it when it is
 * larger than item_max (0: no limit): then *too_large is set. */
static int value_begin(reply_reader *rr, value_in *v, mcring_item *it,
                       size_t len, size_t item_max, bool *too_large)
{
    v->item = it;
    v->expect = len;
    *too_large = false;
    if (item_max != 0 && len > item_max) {
        v->skip = len;
        v->state = V_SKIP;
        *too_large = true;
        return 0;
    }
    size_t first = len < GROW_AHEAD ? len : GROW_AHEAD;
    if (item_grow(it, first, len) != 0)
        return fail(rr, MCRING_ENOMEM, "out of memory");
    it->len = 0;
    v->state = V_DATA;
    return 0;
}

/* Reads the value's bytes and its CRLF from buf[*pos..len). READ_MORE (the
 * rest may be offered for a direct read), READ_DONE, or a failure. */
static int value_feed(reply_reader *rr, value_in *v, const char *buf,
                      size_t len, size_t *pos)
{
    mcring_item *it = v->item;
    if (v->state == V_SKIP) {
        size_t take = len - *pos < v->skip ? len - *pos : v->skip;
        *pos += take;
        v->skip -= take;
        if (v->skip > 0)
            return READ_MORE;
        v->state = V_SKIP_CRLF;
    }
    if (v->state == V_DATA) {
        size_t want = v->expect - it->len;
        size_t take = len - *pos < want ? len - *pos : want;
        if (item_grow(it, it->len + take, v->expect) != 0)
            return fail(rr, MCRING_ENOMEM, "out of memory");
        memcpy(it->data + it->len, buf + *pos, take);
        it->len += take;
        *pos += take;
        if (it->len < v->expect) {
            size_t ahead = it->len > GROW_AHEAD ? it->len : GROW_AHEAD;
            size_t target = v->expect - it->len < ahead ? v->expect
                                                        : it->len + ahead;
            if (item_grow(it, target, v->expect) == 0) {
                rr->direct = it->data + it->len;
                rr->direct_len = it->cap - 1 - it->len;
                if (rr->direct_len > v->expect - it->len)
                    rr->direct_len = v->expect - it->len;
                rr->direct_count = &it->len;
            }
            return READ_MORE;
        }
        v->state = V_CRLF;
    }
    if (len - *pos < 2) {
        if (len - *pos == 1 && buf[*pos] != '\r')
            return fail(rr, MCRING_EPROTO, "value data not followed by CRLF");
        return READ_MORE;
    }
    if (buf[*pos] != '\r' || buf[*pos + 1] != '\n')
        return fail(rr, MCRING_EPROTO, "value data not followed by CRLF");
    *pos += 2;
    if (v->state == V_CRLF)
        it->data[it->len] = '\0';
    return READ_DONE;
}

/* An error line in answer to a meta command: 0 with *outcome set when the
 * stream is in step, else the failure (the connection must end). */
static int meta_error(reply_reader *rr, const reply *e, int *outcome)
{
    bool in_step = true;
    if (e->kind == REPLY_ERROR && e->msg_len == 0)
        return fail(rr, MCRING_ENOMETA,
                    "ERROR: the server does not know meta commands");
    if (e->kind == REPLY_CLIENT_ERROR && e->msg_len >= 12 &&
        memcmp(e->msg, "invalid flag", 12) == 0) {
        snprintf(rr->detail, sizeof(rr->detail),
                 "CLIENT_ERROR invalid flag: the server is too old for a "
                 "flag sent");
        *outcome = MCRING_ENOTSUP;
        return 0;
    }
    if (proto_is_non_numeric(e)) {
        snprintf(rr->detail, sizeof(rr->detail), "value is not a number");
        *outcome = MCRING_ENOTNUM;
        return 0;
    }
    int rc = reply_failure(e, &in_step, rr->detail, sizeof(rr->detail));
    if (!in_step)
        return rc;
    *outcome = rc;
    return 0;
}

/* ---- one meta reply ------------------------------------------------------ */

/* The longest number ma's v can send: 20 digits and some padding. */
#define META_NUMBER_MAX 22

static int meta_feed(reply_reader *rr, const char *buf, size_t len,
                     size_t *used);

void meta_reader_init(meta_reader *r, uint64_t opaque, const char *key,
                      size_t key_len, mcring_item *item, size_t item_max)
{
    memset(&r->base, 0, sizeof(r->base));
    r->base.feed = meta_feed;
    r->base.self_matched = true;
    r->opaque = opaque;
    r->key = key;
    r->key_len = key_len;
    r->item = item;
    r->item_max = item_max;
    r->outcome = 0;
    r->number = 0;
    r->have_head = false;
    memset(&r->head, 0, sizeof(r->head));
    r->numitem = (mcring_item){r->numbuf, 0, sizeof(r->numbuf), 0, 0};
}

/* Checks the reply line against the request. READ_DONE: the reply is this
 * line; GO_ON: a value follows; < 0: it does not fit. */
static int meta_head(meta_reader *r)
{
    reply_reader *rr = &r->base;
    meta_reply *h = &r->head;
    if (h->code == META_ERROR_LINE) {
        int rc = meta_error(rr, &h->err, &r->outcome);
        return rc < 0 ? rc : READ_DONE;
    }
    if (h->code == META_MN)
        return fail(rr, MCRING_EPROTO,
                    "a no-op reply where a command's reply was due");
    if (!meta_has(h, 'O') || h->opaque != r->opaque)
        return fail(rr, MCRING_EPROTO,
                    "a reply carrying another request's opaque token");
    if (r->key != NULL && meta_has(h, 'k') &&
        !meta_key_matches(h, r->key, r->key_len))
        return fail(rr, MCRING_EPROTO, "a reply for a key not asked for");
    h->key = NULL; /* points into the buffer: not kept */
    if (h->code != META_VA)
        return READ_DONE;
    bool too_large;
    if (r->item == NULL) {
        if (h->value_len > META_NUMBER_MAX)
            return fail(rr, MCRING_EPROTO, "a number longer than 22 bytes");
        return value_begin(rr, &r->v, &r->numitem, h->value_len, 0,
                           &too_large) < 0
                   ? MCRING_ENOMEM
                   : GO_ON;
    }
    if (value_begin(rr, &r->v, r->item, h->value_len, r->item_max,
                    &too_large) < 0)
        return MCRING_ENOMEM;
    if (too_large) {
        snprintf(rr->detail, sizeof(rr->detail),
                 "value of %zu bytes over item_size_max", h->value_len);
        r->outcome = MCRING_ETOOLARGE;
    }
    r->item->flags = h->client_flags;
    r->item->cas = h->cas;
    return GO_ON;
}

/* ma's value: digits, perhaps padded with spaces (memcached keeps a
 * shrinking counter's length). */
static int meta_number(meta_reader *r)
{
    const char *d = r->numitem.data;
    size_t n = r->numitem.len;
    while (n > 0 && d[n - 1] == ' ')
        n--;
    uint64_t v = 0;
    if (n == 0 || n > 20)
        return fail(&r->base, MCRING_EPROTO, "ma's value is not a number");
    for (size_t i = 0; i < n; i++) {
        unsigned c = (unsigned)(d[i] - '0');
        if (c > 9 || v > (UINT64_MAX - c) / 10)
            return fail(&r->base, MCRING_EPROTO,
                        "ma's value is not a number");
        v = v * 10 + c;
    }
    r->number = v;
    return READ_DONE;
}

static int meta_feed(reply_reader *rr, const char *buf, size_t len,
                     size_t *used)
{
    meta_reader *r = (meta_reader *)rr;
    size_t pos = 0;
    rr->direct = NULL;
    if (!r->have_head) {
        ssize_t n = meta_parse_line(buf, len,
                                    r->item == NULL ? META_NUMBER_MAX
                                                    : VALUE_LEN_MAX,
                                    &r->head);
        if (n == 0) {
            *used = 0;
            return READ_MORE;
        }
        if (n < 0) {
            *used = 0;
            return fail(rr, MCRING_EPROTO, "malformed meta reply line");
        }
        pos = (size_t)n;
        int rc = meta_head(r);
        if (rc != GO_ON) {
            *used = pos;
            return rc;
        }
        r->have_head = true;
    }
    int rc = value_feed(rr, &r->v, buf, len, &pos);
    *used = pos;
    if (rc != READ_MORE)
        rr->direct = NULL;
    if (rc == READ_DONE && r->item == NULL)
        rc = meta_number(r);
    return rc;
}

/* ---- quiet batches ------------------------------------------------------- */

static inline size_t batch_at(const meta_batch_reader *b, size_t i)
{
    return b->idx != NULL ? b->idx[i] : i;
}

static int batch_silent(batch_kind kind)
{
    switch (kind) {
    case BATCH_GET:
        return MCRING_MISS;
    case BATCH_SET:
        return MCRING_OK;
    case BATCH_TOUCH:
        return MCRING_NOT_FOUND;
    }
    return MCRING_MISS;
}

void meta_batch_reader_reset(meta_batch_reader *b)
{
    for (size_t i = 0; i < b->n; i++) {
        size_t j = batch_at(b, i);
        if (b->items != NULL) {
            mcring_item *it = &b->items[j];
            it->len = 0;
            it->flags = 0;
            it->cas = 0;
            if (it->data != NULL)
                it->data[0] = '\0';
        }
        b->status[j] = batch_silent(b->kind);
    }
    b->next = 0;
    b->in_value = false;
    b->outcome = 0;
}

static int batch_feed(reply_reader *rr, const char *buf, size_t len,
                      size_t *used);

void meta_batch_reader_init(meta_batch_reader *b, batch_kind kind,
                            uint64_t opaque, const mcring_key *keys,
                            const uint32_t *idx, size_t n,
                            mcring_item *items, int *status, size_t item_max)
{
    memset(&b->base, 0, sizeof(b->base));
    b->base.feed = batch_feed;
    /* Not self-matched: the batch's closing MN carries no token, and a
     * key with no reply takes its silent outcome, so a stray MN ahead of
     * the replies would end the batch with every key answered wrongly.
     * The fence after the batch catches that, as for text requests. */
    b->base.self_matched = false;
    b->kind = kind;
    b->opaque = opaque;
    b->keys = keys;
    b->idx = idx;
    b->n = n;
    b->items = items;
    b->status = status;
    b->item_max = item_max;
    meta_batch_reader_reset(b);
}

/* One reply line of the batch (not MN). GO_ON: a value follows; 0: the
 * line was all; < 0: it does not fit. */
static int batch_line(meta_batch_reader *b, const meta_reply *h)
{
    reply_reader *rr = &b->base;
    if (h->code == META_ERROR_LINE) {
        int outcome = 0;
        int rc = meta_error(rr, &h->err, &outcome);
        if (rc < 0)
            return rc;
        if (b->outcome == 0)
            b->outcome = outcome;
        return 0;
    }
    if (!meta_has(h, 'O') || h->opaque < b->opaque ||
        h->opaque - b->opaque >= b->n)
        return fail(rr, MCRING_EPROTO,
                    "a reply carrying a token that is not the batch's");
    size_t p = (size_t)(h->opaque - b->opaque);
    if (p < b->next)
        return fail(rr, MCRING_EPROTO,
                    "a reply for a command already answered or passed "
                    "(out of order)");
    b->next = p + 1;
    size_t j = batch_at(b, p);
    const mcring_key *k = &b->keys[j];
    if (meta_has(h, 'k') && !meta_key_matches(h, k->data, k->len))
        return fail(rr, MCRING_EPROTO, "a reply for a key not asked for");
    switch (b->kind) {
    case BATCH_GET:
        if (h->code == META_EN) {
            b->status[j] = MCRING_MISS;
            return 0;
        }
        if (h->code != META_VA)
            break;
        {
            mcring_item *it = &b->items[j];
            bool too_large;
            if (value_begin(rr, &b->v, it, h->value_len, b->item_max,
                            &too_large) < 0)
                return MCRING_ENOMEM;
            it->flags = h->client_flags;
            it->cas = h->cas;
            b->status[j] = too_large ? MCRING_ETOOLARGE : MCRING_OK;
            b->cur = j;
            b->in_value = true;
            return GO_ON;
        }
    case BATCH_SET:
        if (h->code == META_HD) {
            b->status[j] = MCRING_OK;
            return 0;
        }
        if (h->code == META_NS) {
            snprintf(rr->detail, sizeof(rr->detail), "NS (not stored)");
            b->status[j] = MCRING_EREJECTED;
            return 0;
        }
        break;
    case BATCH_TOUCH:
        if (h->code == META_HD) {
            b->status[j] = MCRING_OK;
            return 0;
        }
        if (h->code == META_EN) {
            b->status[j] = MCRING_NOT_FOUND;
            return 0;
        }
        break;
    }
    return fail(rr, MCRING_EPROTO, "a reply its command cannot receive");
}

static int batch_feed(reply_reader *rr, const char *buf, size_t len,
                      size_t *used)
{
    meta_batch_reader *b = (meta_batch_reader *)rr;
    size_t pos = 0;
    int rc = READ_MORE;
    rr->direct = NULL;
    for (;;) {
        if (b->in_value) {
            rc = value_feed(rr, &b->v, buf, len, &pos);
            if (rc != READ_DONE)
                break;
            b->in_value = false;
            rc = READ_MORE;
            mcring_item *it = &b->items[b->cur];
            if (b->status[b->cur] == MCRING_OK &&
                (it->flags & MCRING_FLAG_PICKLE))
                b->status[b->cur] = MCRING_UNDECODABLE;
        }
        if (pos == len)
            break;
        meta_reply h;
        ssize_t n = meta_parse_line(buf + pos, len - pos, VALUE_LEN_MAX, &h);
        if (n == 0)
            break;
        if (n < 0) {
            rc = fail(rr, MCRING_EPROTO, "malformed meta reply line");
            break;
        }
        pos += (size_t)n;
        if (h.code == META_MN) {
            rc = READ_DONE; /* the batch's own no-op: all answered */
            break;
        }
        int r = batch_line(b, &h);
        if (r < 0) {
            rc = r;
            break;
        }
    }
    *used = pos;
    if (rc != READ_MORE)
        rr->direct = NULL;
    return rc;
}

/* ---- admin replies ------------------------------------------------------- */

static int text_feed(reply_reader *rr, const char *buf, size_t len,
                     size_t *used)
{
    text_reader *t = (text_reader *)rr;
    reply r;
    rr->direct = NULL;
    *used = 0;
    ssize_t n = proto_parse_line(buf, len, 0, &r);
    if (n == 0)
        return READ_MORE;
    if (n < 0)
        return fail(rr, MCRING_EPROTO, "malformed reply line");
    *used = (size_t)n;
    if (r.kind == t->expect) {
        if (r.kind == REPLY_VERSION) {
            size_t l = r.msg_len < sizeof(t->text) - 1 ? r.msg_len
                                                       : sizeof(t->text) - 1;
            memcpy(t->text, r.msg, l);
            t->text[l] = '\0';
        }
        return READ_DONE;
    }
    bool in_step = true;
    int rc = reply_failure(&r, &in_step, rr->detail, sizeof(rr->detail));
    if (!in_step)
        return rc;
    t->outcome = rc;
    return READ_DONE;
}

void text_reader_init(text_reader *t, reply_kind expect)
{
    memset(&t->base, 0, sizeof(t->base));
    t->base.feed = text_feed;
    t->expect = expect;
    t->outcome = 0;
    t->text[0] = '\0';
}

static int stats_add(stats_reader *s, const reply *r)
{
    size_t need = r->key_len + r->msg_len + 2;
    if (s->len + need > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4096;
        while (cap < s->len + need)
            cap *= 2;
        char *b = realloc(s->buf, cap);
        if (b == NULL)
            return MCRING_ENOMEM;
        s->buf = b;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, r->key, r->key_len);
    s->len += r->key_len;
    s->buf[s->len++] = '\0';
    memcpy(s->buf + s->len, r->msg, r->msg_len);
    s->len += r->msg_len;
    s->buf[s->len++] = '\0';
    s->count++;
    return 0;
}

static int stats_feed(reply_reader *rr, const char *buf, size_t len,
                      size_t *used)
{
    stats_reader *s = (stats_reader *)rr;
    size_t pos = 0;
    int rc = READ_MORE;
    rr->direct = NULL;
    while (pos < len) {
        reply r;
        ssize_t n = proto_parse_line(buf + pos, len - pos, 0, &r);
        if (n == 0)
            break;
        if (n < 0) {
            rc = fail(rr, MCRING_EPROTO, "malformed reply line");
            break;
        }
        pos += (size_t)n;
        if (r.kind == REPLY_STAT) {
            if (s->outcome == 0 && stats_add(s, &r) != 0)
                s->outcome = MCRING_ENOMEM; /* read on, to stay in step */
            continue;
        }
        if (r.kind == REPLY_END) {
            rc = READ_DONE;
            break;
        }
        if (r.kind == REPLY_ERROR && r.msg_len == 0 && s->count == 0) {
            /* memcached's answer to a group it does not have */
            snprintf(rr->detail, sizeof(rr->detail), "ERROR: no such stats "
                                                     "group");
            s->outcome = MCRING_EREJECTED;
            rc = READ_DONE;
            break;
        }
        bool in_step = true;
        int f = reply_failure(&r, &in_step, rr->detail, sizeof(rr->detail));
        if (!in_step || s->count > 0) {
            rc = in_step ? MCRING_EPROTO : f;
            break;
        }
        s->outcome = f;
        rc = READ_DONE;
        break;
    }
    *used = pos;
    return rc;
}

void stats_reader_init(stats_reader *s)
{
    memset(s, 0, sizeof(*s));
    s->base.feed = stats_feed;
}

void stats_reader_free(stats_reader *s)
{
    free(s->buf);
    s->buf = NULL;
    s->len = s->cap = s->count = 0;
}
