/*
 * One connection to one memcached server: connect (every address
 * getaddrinfo returns, connect and pool deadlines, TLS), and buffered reads
 * and writes against a deadline. Not thread-safe: a connection is used by
 * the one thread that borrowed it from its pool.
 *
 * Plain TCP sockets stay in blocking mode with SO_RCVTIMEO/SO_SNDTIMEO, so a
 * request costs one send and one recv in the common case; the timeout is
 * lowered only when an exchange's deadline is nearer than what the socket
 * holds (and raised after it fired early), so a call never overshoots its
 * deadline by more than the kernel's timer granularity plus 1 ms. The
 * multiplexed path (several connections at once) uses MSG_DONTWAIT and
 * poll(). TLS sockets are non-blocking and always wait in poll().
 */
#ifndef MCRING_CONN_H
#define MCRING_CONN_H

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
    int64_t rcv_timeout_ns; /* what SO_RCVTIMEO holds (plain TCP) */
    int64_t snd_timeout_ns;
    int sys_errno; /* errno behind the last failure, for log messages */
    const char *why; /* static text behind the last TLS failure, or NULL */
    short tls_want; /* TLS: POLLIN or POLLOUT the last call waited for */
    char *rbuf;    /* unread input is rbuf[rpos..rlen) */
    size_t rpos, rlen, rcap;
    bool rfull;    /* the last read filled the buffer: grow it */
    char *wbuf; /* scratch for multi-key requests and TLS writes */
    size_t wcap;
} conn;

void conn_init(conn *c);
/* Closes the socket (if open) and drops buffered input; keeps buffers. */
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
 * plain TCP. io_timeout_ns seeds the socket timeouts.
 * Returns 0, MCRING_ERESOLVE, MCRING_ECONNREFUSED, MCRING_ECONNECT,
 * MCRING_ECONNTIMEOUT, MCRING_EPOOLTIMEOUT (the pool deadline cut the
 * connect short), MCRING_ETLS, MCRING_ECERT or MCRING_ENOMEM.
 */
int conn_connect(conn *c, const address *a, tls_ctx *tls,
                 int64_t connect_timeout_ns, int64_t io_timeout_ns,
                 int64_t pool_deadline);

/* Sends all of iov (modified) before deadline. Returns 0, MCRING_ETIMEOUT,
 * MCRING_EIO, MCRING_ECLOSED or MCRING_ETLS. */
int conn_send(conn *c, struct iovec *iov, int iovcnt, int64_t deadline);

/* Blocks until at least one more byte is buffered. Same errors as
 * conn_send. */
int conn_fill(conn *c, int64_t deadline);

/* Reads up to len bytes straight into dst (bypassing the buffer, which the
 * caller has drained). Returns the count (> 0) or a negative error. */
ssize_t conn_read_direct(conn *c, void *dst, size_t len, int64_t deadline);

/* ---- non-blocking use, for driving several connections with poll() ---- */

/* Sends what the socket takes now. Returns 1 when everything was sent, 0
 * when it would block (wait for conn_poll_events), or a negative error. */
int conn_try_send(conn *c, struct iovec **iov, int *iovcnt);
/* Reads what has arrived into the buffer. Returns 1 when bytes were added,
 * 0 when none are there yet, or a negative error. */
int conn_try_fill(conn *c);
/* Like conn_read_direct without waiting: > 0 bytes, 0 none yet, < 0 error. */
ssize_t conn_try_read_direct(conn *c, void *dst, size_t len);
/* poll() events to wait for before the next try_* call can progress. */
short conn_poll_events(const conn *c, bool sending);

/* Before reading more: empties a drained buffer, or moves unread input to
 * the front when the free tail is too short for a reply line. */
void conn_make_room(conn *c);

/* Makes sure wbuf holds at least n bytes. 0 or MCRING_ENOMEM. */
int conn_reserve_wbuf(conn *c, size_t n);

/* Bytes buffered and not yet consumed. */
static inline size_t conn_buffered(const conn *c)
{
    return c->rlen - c->rpos;
}

#endif
