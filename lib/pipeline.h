/*
 * A connection's pipeline: the requests written to one connection and not
 * yet answered, in the order they went on the wire, and the rules that keep
 * every reply matched to the request that produced it.
 *
 * memcached answers the requests of a connection in the order it received
 * them. The pipeline keeps its requests in that order; the writer sends
 * them from the first not fully sent (many requests in one sendmsg), and
 * the reader feeds the replies, as they arrive, to each request's reply
 * reader (reply.h) from the oldest on.
 *
 * Fences. After each batch it writes, the writer adds "mn\r\n", memcached's
 * no-op (protocol.txt, "Meta No-Op"), whose reply "MN\r\n" must come right
 * after the batch's last reply. A batch's requests are completed only when
 * its fence has been read: a server or proxy that sends one reply too many
 * or too few — at once or late — is caught before any reply of the batch
 * reaches a caller, because the fence then turns up where a reply was
 * expected or a reply where the fence was. (The ASCII protocol's replies to
 * set, delete and incr carry no key; without fences a shifted stream would
 * hand one caller another caller's answer.) A server too old for meta
 * commands answers the first fence with ERROR: the connection then goes on
 * without fences, and the server is remembered as such (pipeline_fences).
 * Without fences, a request is completed as soon as its reply is read, and
 * anything read when no request is waiting for it — or found waiting on an
 * idle connection before it is reused (pipeline_idle_check) — ends the
 * connection.
 *
 * Tokens instead of fences. A single meta command carries an opaque token
 * that its reply echoes (reply.h, self_matched): a reply too many or too
 * few shifts some later reply under a request whose token it does not
 * carry, and that reader ends the connection before anyone is answered
 * from it. A batch made only of such requests is written without a fence
 * and each of its requests completes as soon as its reply is read
 * (memcached then answers the whole batch with one write); a batch with
 * any other request in it — a text command, or a quiet meta batch, whose
 * closing MN carries no token — is fenced as above, and so is the rest of
 * a fenced batch that a partial write left for the next write. Error
 * lines carry no token either: one is taken as the failure of the
 * request it reaches.
 *
 * Failure. Any reply that does not fit (reply.h), a fence out of place, an
 * I/O error or a timeout ends the connection: every request on it
 * completes with that failure and the connection is closed, never reused.
 *
 * Concurrency. The pipeline is not thread-aware; its driver serialises
 * (lib/mux.c with a mutex and roles for threads sharing a connection; an
 * event loop needs nothing). Each function says what it needs:
 *  [lock]    the driver's lock for this pipeline is held;
 *  [writer]  called by the one party writing (the writer role);
 *  [reader]  called by the one party reading (the reader role), which may
 *            run at the same time as the writer and as [lock] callers.
 * Request memory belongs to the submitter and must stay valid until the
 * request completes (its complete callback has run).
 */
#ifndef MCRING_PIPELINE_H
#define MCRING_PIPELINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "conn.h"
#include "reply.h"

/* How far a request has gone onto the wire. */
enum { PIPE_QUEUED = 0, PIPE_WRITING = 1, PIPE_SENT = 2 };

/* Whether a connection writes fences. */
typedef enum fence_mode {
    FENCE_PROBE = 0, /* not known yet: the first fence's reply decides */
    FENCE_ON = 1,    /* the server answers mn: a fence is required */
    FENCE_OFF = 2,   /* no fences (the server does not know mn, or the
                      * option turned them off) */
} fence_mode;

typedef struct pipe_req pipe_req;

struct pipe_req {
    /* Filled by the submitter before pipeline_push. */
    struct iovec *iov; /* the request's bytes (not modified) */
    int iovcnt;
    reply_reader *reader;
    int64_t deadline; /* monotonic ns: its reply must be read by then */
    void *owner;      /* the driver's */

    /* The pipeline's. */
    _Atomic(pipe_req *) next;
    size_t len;  /* bytes in iov */
    size_t sent; /* [writer] bytes accepted by the kernel, fence included */
    atomic_int wstate;       /* PIPE_*: written by the writer, read by the
                              * reader to tell a reply from an unsolicited
                              * line */
    atomic_bool fence_after; /* "mn\r\n" follows it on the wire */
    atomic_bool unfenced;    /* its batch has no fence: every reply in it
                              * carries its request's token */
    int result;        /* at completion: 0 (its reply was read; the
                        * outcome is in its reader) or the failure */
    bool conn_failure; /* result is the connection's failure */
};

/* Called for each request as it completes, with its result set: [lock]. */
typedef void (*pipe_complete_fn)(pipe_req *r, void *ctx);

typedef struct pipeline {
    conn conn;
    atomic_int fence; /* fence_mode: set by the reader, read by the
                       * writer */

    /* [lock] The requests in wire order after an anchor node: anchor.next is
     * the oldest not completed, tail the newest (&anchor: none), wnext the
     * first not fully sent (NULL: all sent). The reader walks next
     * pointers without the lock, from the anchor on. */
    pipe_req anchor;
    pipe_req *tail, *wnext;
    unsigned count;
    bool read_idle; /* every request's reply has been read (set by the
                     * reader, cleared by pipeline_push) */

    /* [writer] scratch for the iovecs of a write. */
    struct iovec *wiov;
    int wiov_cap;

    /* [lock] Requests up to this one had their replies read (and their
     * fence, if any): they complete as soon as they are fully sent too. */
    pipe_req *confirm;

    /* [reader] progress through the replies. */
    pipe_req *rnext;      /* the request whose reply comes next; NULL:
                           * not known yet (pipeline_advance finds it) */
    pipe_req *rlast;      /* [lock] the last request whose reply was read;
                           * NULL once it completed (the next to read is
                           * then the oldest) */
    pipe_req *rready;     /* the last request read and not yet handed to
                           * pipeline_confirm */
    bool expect_fence;    /* a fence reply is due next */
    char why[96];         /* what broke the stream */
} pipeline;

/* Sets up an empty pipeline (the connection unconnected). */
void pipeline_init(pipeline *p);
/* Frees its buffers; it must hold no request. */
void pipeline_destroy(pipeline *p);

/* [lock] Appends r (fields above filled) at the tail. */
void pipeline_push(pipeline *p, pipe_req *r);

/* [lock] True when some request has bytes still to send. */
static inline bool pipeline_has_output(const pipeline *p)
{
    return p->wnext != NULL;
}

/* [lock] The earliest deadline among its requests (INT64_MAX: none).
 * Requests are nearly in deadline order; the oldest is taken. */
static inline int64_t pipeline_deadline(const pipeline *p)
{
    pipe_req *h = atomic_load_explicit(&p->anchor.next, memory_order_relaxed);
    return h != NULL ? h->deadline : INT64_MAX;
}

/* [lock] The oldest request not completed, or NULL. */
static inline pipe_req *pipeline_head(const pipeline *p)
{
    return atomic_load_explicit(&p->anchor.next, memory_order_relaxed);
}

/*
 * [lock][writer] Points *iov at the iovecs of what is still to send, from
 * the first request not fully sent: whole requests (a request with more
 * iovecs than one write takes is sent over several), a fence after the
 * last whole request when the connection uses fences. Marks every request
 * included PIPE_WRITING. Returns the iovec count, 0 when nothing is left
 * to send, or MCRING_ENOMEM.
 */
int pipeline_gather(pipeline *p, struct iovec **iov);

/* [lock][writer] n more bytes of what pipeline_gather gave were accepted.
 * Completes (done(r, ctx)) the requests now fully sent whose replies were
 * already read. Returns how many completed. */
unsigned pipeline_sent(pipeline *p, size_t n, pipe_complete_fn done,
                       void *ctx);

/* What pipeline_parse asks for next. */
enum {
    PARSE_READ = 0,    /* nothing more to do with the buffered bytes: read
                        * more (maybe straight into pipeline_direct) */
    PARSE_CONFIRM = 1, /* replies were read: call pipeline_confirm */
    PARSE_ADVANCE = 2, /* call pipeline_advance to find the next request */
};

/*
 * [reader] Reads what the connection has buffered: feeds the replies to
 * the requests in wire order and reads fences, without the lock. Returns a
 * PARSE_* step, or a negative failure when the stream is out of step
 * (p->why says how): the connection must end.
 */
int pipeline_parse(pipeline *p);

/* [lock][reader] Finds the request whose reply comes next, after
 * pipeline_parse returned PARSE_ADVANCE. Returns false when there is none
 * (and then any buffered byte is unsolicited). */
bool pipeline_advance(pipeline *p);

/* [reader] After pipeline_parse returned 0: where the next bytes may be
 * read straight into (a large value), or NULL. *len is set. */
char *pipeline_direct(pipeline *p, size_t *len);
/* [reader] Accounts n bytes read straight into pipeline_direct's place. */
void pipeline_direct_done(pipeline *p, size_t n);

/*
 * [lock][reader] Marks the requests pipeline_parse read as answered and
 * completes those that are also fully sent, oldest first, calling
 * done(r, ctx) for each. Returns how many completed. (A reply can be read
 * before the writer has accounted for the last bytes it sent; those
 * requests complete in pipeline_sent.)
 */
unsigned pipeline_confirm(pipeline *p, pipe_complete_fn done, void *ctx);

/*
 * [lock] Completes every request with rc (conn_failure set) and resets the
 * pipeline for a new connection. The caller makes sure no writer or reader
 * is inside the pipeline (their roles are free), and closes the
 * connection. Returns how many requests it completed.
 */
unsigned pipeline_fail_all(pipeline *p, int rc, pipe_complete_fn done,
                           void *ctx);

/*
 * [lock] For a connection without fences, before a request is pushed onto
 * an idle pipeline (no request on it): 0 when nothing is waiting to be
 * read, or MCRING_EPROTO when bytes arrived that no request asked for (a
 * late extra reply); the connection must then end.
 */
int pipeline_idle_check(pipeline *p);

#endif
