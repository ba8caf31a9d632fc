/*
 * One connection to one memcached server: connect (every address
 * getaddrinfo returns, connect and pool deadlines, TLS), and its two
 * directions of I/O, each used by one thread at a time: the read side
 * (a buffer the replies are parsed from, blocking reads against a
 * deadline) and the write side (non-blocking writes of whatever is
 * queued). One thread may read while another writes; the rest of the
 * struct is set up and torn down by one thread with no I/O running.
 *
 * Plain TCP sockets stay in blocking mode with SO_RCVTIMEO, so waiting for
 * a reply is one recv in the common case; the timeout is lowered only when
 * a deadline is nearer than what the socket holds (and raised after it
 * fired early), so a read never overshoots its deadline by more than the
 * kernel's timer granularity plus 1 ms. Writes use MSG_DONTWAIT: a writer
 * that finds the socket full waits with poll (conn_poll_events) and can
 * read meanwhile, so a large batch never deadlocks against its own
 * replies.
 *
 * TLS sockets are non-blocking; every call into the connection's SSL
 * object is made under its own lock (OpenSSL objects are not safe for a
 * reader and a writer at once), and waiting happens outside it, in poll.
 * Writes go through a BIO that sends with MSG_NOSIGNAL, so a server that
 * went away never raises SIGPIPE in the host process.
 */
#ifndef MCRING_CONN_H
#define MCRING_CONN_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "address.h"
#include "tls.h"

typedef struct ssl_st SSL;

/* Read buffer size: holds any reply line many times over; values larger
 * than what is buffered are read straight into the caller's item. A
 * connection whose reads keep filling its buffer (large multi-gets) grows
 * it, up to CONN_RBUF_MAX, so that one recv takes a whole reply: every
 * system call saved counts (four fewer per 1,000-key multi-get is worth
 * 10% of its throughput here, docs/benchmarks.md). */
#define CONN_RBUF_SIZE 16384
#define CONN_RBUF_MAX (256 * 1024)

typedef struct conn {
    int fd; /* -1 when not connected */
    SSL *ssl;
    pthread_mutex_t ssl_lock; /* held around every SSL_* call */

    /* Connect: who failed and why (the connecting thread's). */
    int sys_errno;
    /* A connect without waiting (conn_connect_start): where it is. */
    int cstate;
    struct addrinfo *ai_list, *ai_next, *unix_ai;
    const char *why; /* static text behind a TLS failure, or NULL */

    /* Read side. */
    char *rbuf; /* unread input is rbuf[rpos..rlen) */
    size_t rpos, rlen, rcap;
    bool rfull;             /* the last read filled the buffer: grow it */
    int64_t rcv_timeout_ns; /* what SO_RCVTIMEO holds (plain TCP) */
    short rwant;            /* TLS: POLLIN or POLLOUT a read waits for */
    int rerrno;             /* errno behind the last read failure */
    const char *rwhy;       /* TLS text behind the last read failure */

    /* Write side. */
    char *wbuf; /* TLS: small pieces gathered into one record */
    size_t wcap;
    size_t wretry; /* TLS: length of an SSL_write to repeat, or 0 */
    short wwant;   /* TLS: POLLIN or POLLOUT a write waits for */
    int werrno;
    const char *wwhy;
} conn;

void conn_init(conn *c);
/* Closes the socket (if open) and drops buffered input; keeps buffers.
 * No I/O may be running on it. */
void conn_close(conn *c);
/* conn_close plus freeing the buffers. */
void conn_destroy(conn *c);

static inline bool conn_is_open(const conn *c)
{
    return c->fd >= 0;
}

/*
 * Connects to a, trying each address getaddrinfo returns until one answers.
 * Each connect() waits at most connect_timeout_ns, and everything (DNS
 * aside, which has no timeout of its own) ends by pool_deadline. tls NULL:
 * plain TCP. io_timeout_ns seeds the socket's read timeout.
 * Returns 0, MCRING_ERESOLVE, MCRING_ECONNREFUSED, MCRING_ECONNECT,
 * MCRING_ECONNTIMEOUT, MCRING_EPOOLTIMEOUT (the pool deadline cut the
 * connect short), MCRING_ETLS, MCRING_ECERT or MCRING_ENOMEM.
 */
int conn_connect(conn *c, const address *a, tls_ctx *tls,
                 int64_t connect_timeout_ns, int64_t io_timeout_ns,
                 int64_t pool_deadline);

/* ---- connecting without waiting (event loops) ---------------------------- */

enum { CONN_C_TCP = 0, CONN_C_TLS = 1, CONN_C_DONE = 2 };

/*
 * Starts connecting to a without waiting: returns 0 when connected at once
 * (plain TCP; a TLS connection then still needs conn_connect_step), 1 when
 * the connect is in progress (wait until the socket is writable, then call
 * conn_connect_step), or a failure as conn_connect's. Host names are
 * resolved here, with getaddrinfo: the one step that may block (there is no
 * resolver that neither blocks nor starts a thread); numeric addresses and
 * Unix sockets never do. The socket stays non-blocking.
 */
int conn_connect_start(conn *c, const address *a);

/*
 * Goes on with a connect conn_connect_start began, after the socket became
 * ready for what the last step asked (*want: POLLIN or POLLOUT): checks the
 * TCP connect (trying the next address on failure), then steps the TLS
 * handshake when tls is not NULL. 0: connected; 1: wait for *want again;
 * or a failure.
 */
int conn_connect_step(conn *c, tls_ctx *tls, const address *a, short *want);

/* Gives up a connect in progress and closes the socket. */
void conn_connect_abandon(conn *c);

/* Ends the connection's I/O in both directions without closing the
 * descriptor: a thread blocked reading or writing on it returns at once.
 * Any thread. */
void conn_shutdown(conn *c);

/* ---- write side --------------------------------------------------------- */

/* Sends what the socket takes now of iov[0..iovcnt) (not modified).
 * Returns the byte count (0: the socket is full; wait for
 * conn_poll_events(c, true)), or MCRING_EIO, MCRING_ECLOSED, MCRING_ETLS,
 * MCRING_ENOMEM. */
ssize_t conn_send_some(conn *c, const struct iovec *iov, int iovcnt);

/* ---- read side ---------------------------------------------------------- */

/* Reads more input into the buffer, blocking until at least one byte came
 * or deadline passed. Returns 0, MCRING_ETIMEOUT, MCRING_EIO,
 * MCRING_ECLOSED or MCRING_ETLS. */
int conn_fill(conn *c, int64_t deadline);

/* Reads up to len bytes straight into dst (the buffer being drained),
 * blocking as conn_fill. Returns the count (> 0) or a negative error. */
ssize_t conn_read_direct(conn *c, void *dst, size_t len, int64_t deadline);

/* conn_fill without waiting: 1 when bytes were added, 0 when none are
 * there yet, or a negative error. */
int conn_try_fill(conn *c);
/* conn_read_direct without waiting: > 0 bytes, 0 none yet, < 0 error. */
ssize_t conn_try_read_direct(conn *c, void *dst, size_t len);

/* True when input is waiting to be read (in the buffer, in TLS's buffer
 * or on the socket), or the peer closed: for checking that an idle
 * connection received nothing it was not asked for. Read side. */
bool conn_input_pending(conn *c);

/* True when a read can make progress without waiting (TLS holds decrypted
 * input): poll would not say so. Read side. */
bool conn_readable_now(conn *c);

/* poll() events to wait for before the next try on that side. */
short conn_poll_events(const conn *c, bool writing);

/* Before reading more: empties a drained buffer, or moves unread input to
 * the front when the free tail is too short for a reply line. */
void conn_make_room(conn *c);

/* Bytes buffered and not yet consumed. */
static inline size_t conn_buffered(const conn *c)
{
    return c->rlen - c->rpos;
}

#endif
