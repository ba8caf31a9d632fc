#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcring.h"
#include "pipeline.h"

/* What one sendmsg takes at most (Linux's UIO_MAXIOV). */
#define WRITE_IOV_MAX 1024
/* Below this a value's bytes are read through the connection's buffer,
 * which also brings in what follows them; above, straight into the item. */
#define DIRECT_MIN 4096

static const char fence_bytes[] = "mn\r\n";
#define FENCE_LEN 4

void pipeline_init(pipeline *p)
{
    memset(p, 0, sizeof(*p));
    conn_init(&p->conn);
    atomic_init(&p->anchor.next, NULL);
    p->tail = &p->anchor;
    atomic_init(&p->fence, FENCE_PROBE);
}

void pipeline_destroy(pipeline *p)
{
    conn_destroy(&p->conn);
    free(p->wiov);
    p->wiov = NULL;
    p->wiov_cap = 0;
}

void pipeline_push(pipeline *p, pipe_req *r)
{
    size_t len = 0;
    for (int i = 0; i < r->iovcnt; i++)
        len += r->iov[i].iov_len;
    r->len = len;
    r->sent = 0;
    r->result = 0;
    r->conn_failure = false;
    atomic_store_explicit(&r->wstate, PIPE_QUEUED, memory_order_relaxed);
    atomic_store_explicit(&r->fence_after, false, memory_order_relaxed);
    atomic_store_explicit(&r->unfenced, false, memory_order_relaxed);
    atomic_store_explicit(&r->next, NULL, memory_order_relaxed);
    /* The reader follows next pointers without the lock: publish r whole. */
    atomic_store_explicit(&p->tail->next, r, memory_order_release);
    p->tail = r;
    if (p->wnext == NULL)
        p->wnext = r;
    p->count++;
    p->read_idle = false;
}

static size_t wire_len(const pipe_req *r)
{
    return r->len + (atomic_load_explicit(&r->fence_after,
                                          memory_order_relaxed)
                         ? FENCE_LEN
                         : 0);
}

static pipe_req *next_of(const pipe_req *r)
{
    return atomic_load_explicit(&((pipe_req *)r)->next, memory_order_relaxed);
}

/* Adds r's bytes past `skip` to the iovecs, one slot kept free for a
 * fence. Returns false when they did not all fit. */
static bool add_iovecs(pipeline *p, const pipe_req *r, size_t skip, int *n)
{
    for (int i = 0; i < r->iovcnt; i++) {
        size_t l = r->iov[i].iov_len;
        if (skip >= l) {
            skip -= l;
            continue;
        }
        if (*n >= WRITE_IOV_MAX - 1)
            return false;
        p->wiov[(*n)++] = (struct iovec){(char *)r->iov[i].iov_base + skip,
                                         l - skip};
        skip = 0;
    }
    return true;
}

int pipeline_gather(pipeline *p, struct iovec **iov)
{
    if (p->wnext == NULL)
        return 0;
    if (p->wiov == NULL) {
        p->wiov = malloc(WRITE_IOV_MAX * sizeof(*p->wiov));
        if (p->wiov == NULL)
            return MCRING_ENOMEM;
        p->wiov_cap = WRITE_IOV_MAX;
    }
    int n = 0;
    pipe_req *last_whole = NULL;
    /* The batch this write starts: what follows the last request whose
     * fence already went out (or began to) belongs to an earlier batch,
     * fenced with it, and is never marked unfenced here. */
    pipe_req *batch_first = p->wnext;
    bool need_fence = false; /* a request of the batch is not self-matched */
    for (pipe_req *r = p->wnext; r != NULL; r = next_of(r)) {
        /* Marked before any of its bytes can reach the server, so that a
         * reply to it is never taken for an unsolicited one. */
        atomic_store_explicit(&r->wstate, PIPE_WRITING, memory_order_release);
        size_t skip = r == p->wnext ? r->sent : 0;
        if (skip < r->len && !add_iovecs(p, r, skip, &n))
            break;
        if (atomic_load_explicit(&r->fence_after, memory_order_relaxed)) {
            /* Its fence went out (or began to) with an earlier write. */
            size_t fskip = skip > r->len ? skip - r->len : 0;
            if (n >= WRITE_IOV_MAX - 1)
                break;
            p->wiov[n++] = (struct iovec){(char *)fence_bytes + fskip,
                                          FENCE_LEN - fskip};
            batch_first = next_of(r);
            need_fence = false;
        } else if (!r->reader->self_matched) {
            need_fence = true;
        }
        last_whole = r;
    }
    if (last_whole == NULL ||
        atomic_load_explicit(&last_whole->fence_after, memory_order_relaxed)) {
        /* Nothing whole, or the batch's fence is already on its way. */
    } else if (!need_fence) {
        /* Every reply of the batch carries its request's token. */
        for (pipe_req *r = batch_first;; r = next_of(r)) {
            atomic_store_explicit(&r->unfenced, true, memory_order_release);
            if (r == last_whole)
                break;
        }
    } else if (atomic_load_explicit(&p->fence, memory_order_relaxed) !=
               FENCE_OFF) {
        /* One fence after the batch: after the last request sent whole. */
        atomic_store_explicit(&last_whole->fence_after, true,
                              memory_order_release);
        p->wiov[n++] = (struct iovec){(char *)fence_bytes, FENCE_LEN};
    }
    *iov = p->wiov;
    return n;
}

/* Completes the requests that are answered (up to p->confirm) and fully
 * sent (before p->wnext), oldest first. */
static unsigned complete_ready(pipeline *p, pipe_complete_fn done, void *ctx)
{
    unsigned n = 0;
    while (p->confirm != NULL) {
        pipe_req *r = next_of(&p->anchor);
        if (r == NULL || r == p->wnext)
            break;
        pipe_req *next = next_of(r);
        atomic_store_explicit(&p->anchor.next, next, memory_order_relaxed);
        if (p->tail == r)
            p->tail = &p->anchor;
        if (p->rlast == r)
            p->rlast = NULL;
        if (p->confirm == r)
            p->confirm = NULL;
        p->count--;
        n++;
        r->result = 0;
        done(r, ctx); /* r may be gone after this */
    }
    return n;
}

unsigned pipeline_sent(pipeline *p, size_t n, pipe_complete_fn done,
                       void *ctx)
{
    while (n > 0 && p->wnext != NULL) {
        pipe_req *r = p->wnext;
        size_t left = wire_len(r) - r->sent;
        if (n < left) {
            r->sent += n;
            break;
        }
        n -= left;
        r->sent += left;
        atomic_store_explicit(&r->wstate, PIPE_SENT, memory_order_release);
        p->wnext = next_of(r);
    }
    return complete_ready(p, done, ctx);
}

/* ---- reading ------------------------------------------------------------ */

static int broken(pipeline *p, int code, const char *what)
{
    snprintf(p->why, sizeof(p->why), "%s", what);
    return code;
}

/* Reads the fence reply that is due. */
static int read_fence(pipeline *p)
{
    conn *c = &p->conn;
    reply line;
    ssize_t n = proto_parse_line(c->rbuf + c->rpos, conn_buffered(c), 0,
                                 &line);
    if (n == 0)
        return PARSE_READ;
    if (n < 0)
        return broken(p, MCRING_EPROTO,
                      "malformed line where a fence reply was due");
    int mode = atomic_load_explicit(&p->fence, memory_order_relaxed);
    if (line.kind == REPLY_MN) {
        if (mode == FENCE_OFF)
            return broken(p, MCRING_EPROTO,
                          "a fence reply from a server that refused fences");
        atomic_store_explicit(&p->fence, FENCE_ON, memory_order_relaxed);
    } else if (line.kind == REPLY_ERROR && line.msg_len == 0 &&
               mode != FENCE_ON) {
        /* memcached before 1.6 does not know mn: go on without fences. */
        atomic_store_explicit(&p->fence, FENCE_OFF, memory_order_relaxed);
    } else {
        return broken(p, MCRING_EPROTO,
                      "a reply where the fence reply was due (one reply "
                      "too many)");
    }
    c->rpos += (size_t)n;
    p->expect_fence = false;
    return PARSE_CONFIRM;
}

int pipeline_parse(pipeline *p)
{
    conn *c = &p->conn;
    for (;;) {
        if (p->expect_fence)
            return conn_buffered(c) > 0 ? read_fence(p) : PARSE_READ;
        pipe_req *r = p->rnext;
        if (r == NULL)
            return PARSE_ADVANCE;
        size_t avail = conn_buffered(c);
        if (avail == 0)
            return PARSE_READ;
        if (atomic_load_explicit(&r->wstate, memory_order_acquire) ==
            PIPE_QUEUED)
            return broken(p, MCRING_EPROTO,
                          "a reply arrived before its request was sent");
        size_t used = 0;
        int rc = r->reader->feed(r->reader, c->rbuf + c->rpos, avail, &used);
        c->rpos += used;
        if (rc < 0)
            return broken(p, rc, r->reader->detail);
        if (rc == READ_MORE)
            return PARSE_READ;
        /* r's reply is complete; it stays alive until pipeline_confirm. */
        p->rready = r;
        p->rnext = atomic_load_explicit(&r->next, memory_order_acquire);
        if (atomic_load_explicit(&r->fence_after, memory_order_acquire))
            p->expect_fence = true;
        else if (atomic_load_explicit(&p->fence, memory_order_relaxed) ==
                     FENCE_OFF ||
                 atomic_load_explicit(&r->unfenced, memory_order_acquire))
            return PARSE_CONFIRM;
        /* else: its batch's fence comes after a later request */
    }
}

bool pipeline_advance(pipeline *p)
{
    pipe_req *base = p->rready != NULL ? p->rready : p->rlast;
    p->rnext = base != NULL ? next_of(base) : next_of(&p->anchor);
    return p->rnext != NULL;
}

char *pipeline_direct(pipeline *p, size_t *len)
{
    pipe_req *r = p->rnext;
    if (r == NULL || p->expect_fence || conn_buffered(&p->conn) != 0)
        return NULL;
    reply_reader *rd = r->reader;
    if (rd->direct == NULL || rd->direct_len < DIRECT_MIN)
        return NULL;
    *len = rd->direct_len;
    return rd->direct;
}

void pipeline_direct_done(pipeline *p, size_t n)
{
    reply_direct_done(p->rnext->reader, n);
}

unsigned pipeline_confirm(pipeline *p, pipe_complete_fn done, void *ctx)
{
    if (p->rready != NULL) {
        p->confirm = p->rready;
        p->rlast = p->rready;
        p->rready = NULL;
    }
    return complete_ready(p, done, ctx);
}

unsigned pipeline_fail_all(pipeline *p, int rc, pipe_complete_fn done,
                           void *ctx)
{
    unsigned n = 0;
    pipe_req *r = next_of(&p->anchor);
    atomic_store_explicit(&p->anchor.next, NULL, memory_order_relaxed);
    p->tail = &p->anchor;
    p->wnext = NULL;
    p->count = 0;
    p->confirm = NULL;
    p->rnext = p->rlast = p->rready = NULL;
    p->expect_fence = false;
    p->read_idle = false;
    while (r != NULL) {
        pipe_req *next = next_of(r);
        r->result = rc;
        r->conn_failure = true;
        n++;
        done(r, ctx); /* r may be gone after this */
        r = next;
    }
    return n;
}

int pipeline_idle_check(pipeline *p)
{
    conn *c = &p->conn;
    if (conn_buffered(c) > 0 || conn_input_pending(c))
        return broken(p, MCRING_EPROTO,
                      "bytes arrived that no request asked for");
    return 0;
}
