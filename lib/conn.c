#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "conn.h"
#include "mcring.h"

/* How far a socket timeout may exceed the deadline before it is lowered. */
#define ARM_SLACK_NS NS_PER_MS

void conn_init(conn *c)
{
    memset(c, 0, sizeof(*c));
    c->fd = -1;
}

void conn_close(conn *c)
{
    if (c->ssl != NULL) {
        /* No close_notify: the stream may be out of step, and waiting for
         * the peer is exactly what a failing server would make us do. */
        SSL_set_quiet_shutdown(c->ssl, 1);
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->rpos = c->rlen = 0;
}

void conn_destroy(conn *c)
{
    conn_close(c);
    free(c->rbuf);
    free(c->wbuf);
    c->rbuf = c->wbuf = NULL;
    c->rcap = c->wcap = 0;
}

int conn_reserve_wbuf(conn *c, size_t n)
{
    if (c->wcap >= n)
        return 0;
    size_t cap = c->wcap ? c->wcap : 4096;
    while (cap < n)
        cap *= 2;
    char *b = realloc(c->wbuf, cap);
    if (b == NULL)
        return MCRING_ENOMEM;
    c->wbuf = b;
    c->wcap = cap;
    return 0;
}

static void set_timeval(struct timeval *tv, int64_t ns)
{
    tv->tv_sec = (time_t)(ns / NS_PER_SEC);
    tv->tv_usec = (suseconds_t)((ns % NS_PER_SEC) / 1000);
    if (tv->tv_sec == 0 && tv->tv_usec == 0)
        tv->tv_usec = 1; /* zero would mean "wait forever" */
}

/* Makes the socket's timeout for opt end no later than deadline (+ slack);
 * force sets it to exactly the time left. */
static int sock_arm(conn *c, int opt, int64_t *cur, int64_t deadline,
                    bool force)
{
    int64_t left = deadline - clock_now_ns();
    if (left <= 0)
        return MCRING_ETIMEOUT;
    if (force || *cur > left + ARM_SLACK_NS) {
        struct timeval tv;
        set_timeval(&tv, left);
        if (setsockopt(c->fd, SOL_SOCKET, opt, &tv, sizeof(tv)) != 0) {
            c->sys_errno = errno;
            return MCRING_EIO;
        }
        *cur = left;
    }
    return 0;
}

static int io_errno(conn *c, int e)
{
    c->sys_errno = e;
    return e == EPIPE || e == ECONNRESET ? MCRING_ECLOSED : MCRING_EIO;
}

/* Waits until fd is ready for events or the deadline passes. */
static int wait_fd(conn *c, short events, int64_t deadline)
{
    for (;;) {
        int64_t now = clock_now_ns();
        if (now >= deadline)
            return MCRING_ETIMEOUT;
        struct pollfd p = {.fd = c->fd, .events = events};
        int n = poll(&p, 1, clock_ms_left(deadline, now));
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return io_errno(c, errno);
    }
}

/* ---- TLS ---------------------------------------------------------------- */

/* Maps an SSL_* result to: 1 retry after waiting (tls_want set), or an
 * error. */
static int tls_result(conn *c, int ret)
{
    int e = SSL_get_error(c->ssl, ret);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        c->tls_want = POLLIN;
        return 1;
    case SSL_ERROR_WANT_WRITE:
        c->tls_want = POLLOUT;
        return 1;
    case SSL_ERROR_ZERO_RETURN:
        return MCRING_ECLOSED;
    case SSL_ERROR_SYSCALL:
        if (errno == 0 || ERR_peek_error() == 0)
            return ret == 0 ? MCRING_ECLOSED : io_errno(c, errno);
        c->why = ERR_reason_error_string(ERR_peek_last_error());
        return MCRING_ETLS;
    default:
        c->sys_errno = 0;
        c->why = ERR_reason_error_string(ERR_peek_last_error());
        return MCRING_ETLS;
    }
}

static int tls_handshake(conn *c, tls_ctx *tls, const address *a,
                         int64_t deadline)
{
    ERR_clear_error();
    c->ssl = SSL_new(tls->ctx);
    if (c->ssl == NULL)
        return MCRING_ENOMEM;
    SSL_set_fd(c->ssl, c->fd);
    /* Python checks the name the server was configured with: an IP address
     * against the certificate's IP SANs, a host name against its DNS
     * names (and sends it as SNI). */
    X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
    if (X509_VERIFY_PARAM_set1_ip_asc(vp, a->host) != 1) {
        SSL_set_tlsext_host_name(c->ssl, a->host);
        if (SSL_set1_host(c->ssl, a->host) != 1)
            return MCRING_ETLS;
    }
    for (;;) {
        int r = SSL_connect(c->ssl);
        if (r == 1)
            return 0;
        int e = tls_result(c, r);
        if (e != 1) {
            long v = SSL_get_verify_result(c->ssl);
            if (v != X509_V_OK) {
                c->why = X509_verify_cert_error_string(v);
                return MCRING_ECERT;
            }
            if (e == MCRING_ECLOSED) {
                c->why = "the server closed the connection during the "
                         "handshake";
                return MCRING_ETLS;
            }
            return e;
        }
        int w = wait_fd(c, c->tls_want, deadline);
        if (w != 0)
            return w == MCRING_ETIMEOUT ? MCRING_EPOOLTIMEOUT : w;
    }
}

/* ---- connect ------------------------------------------------------------ */

static int connect_one(conn *c, int family, const struct sockaddr *sa,
                       socklen_t salen, int64_t connect_deadline,
                       int64_t pool_deadline)
{
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        c->sys_errno = errno;
        return MCRING_ESYS;
    }
    if (family != AF_UNIX) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    int rc = 0;
    if (connect(fd, sa, salen) != 0) {
        if (errno != EINPROGRESS && errno != EAGAIN) {
            c->sys_errno = errno;
            rc = errno == ECONNREFUSED || errno == ENOENT
                     ? MCRING_ECONNREFUSED
                     : MCRING_ECONNECT;
        } else {
            int64_t deadline = connect_deadline < pool_deadline
                                   ? connect_deadline
                                   : pool_deadline;
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            int n;
            do {
                n = poll(&p, 1, clock_ms_left(deadline, clock_now_ns()));
            } while (n < 0 && errno == EINTR);
            if (n == 0) {
                c->sys_errno = ETIMEDOUT;
                rc = pool_deadline <= connect_deadline ? MCRING_EPOOLTIMEOUT
                                                       : MCRING_ECONNTIMEOUT;
            } else {
                int soerr = 0;
                socklen_t sl = sizeof(soerr);
                if (n < 0)
                    soerr = errno;
                else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) !=
                         0)
                    soerr = errno;
                if (soerr != 0) {
                    c->sys_errno = soerr;
                    rc = soerr == ECONNREFUSED ? MCRING_ECONNREFUSED
                                               : MCRING_ECONNECT;
                }
            }
        }
    }
    if (rc != 0) {
        close(fd);
        return rc;
    }
    c->fd = fd;
    return 0;
}

int conn_connect(conn *c, const address *a, tls_ctx *tls,
                 int64_t connect_timeout_ns, int64_t io_timeout_ns,
                 int64_t pool_deadline)
{
    conn_close(c);
    c->sys_errno = 0;
    c->why = NULL;
    if (c->rbuf == NULL) {
        c->rbuf = malloc(CONN_RBUF_SIZE);
        if (c->rbuf == NULL)
            return MCRING_ENOMEM;
        c->rcap = CONN_RBUF_SIZE;
    }

    int rc = MCRING_ECONNECT;
    if (a->is_unix) {
        struct sockaddr_un sun = {.sun_family = AF_UNIX};
        size_t n = strlen(a->host);
        if (n >= sizeof(sun.sun_path))
            return MCRING_EADDR;
        memcpy(sun.sun_path, a->host, n + 1);
        rc = connect_one(c, AF_UNIX, (struct sockaddr *)&sun, sizeof(sun),
                         clock_now_ns() + connect_timeout_ns, pool_deadline);
    } else {
        struct addrinfo hints = {0}, *res = NULL;
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_NUMERICSERV;
        int g = getaddrinfo(a->host, a->port, &hints, &res);
        if (g != 0) {
            c->sys_errno = g == EAI_SYSTEM ? errno : 0;
            return MCRING_ERESOLVE;
        }
        /* Swift uses only the first address; every one is tried here
         * (docs/swift-compat.md). */
        for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
            int64_t now = clock_now_ns();
            if (now >= pool_deadline) {
                rc = MCRING_EPOOLTIMEOUT;
                break;
            }
            rc = connect_one(c, ai->ai_family, ai->ai_addr, ai->ai_addrlen,
                             now + connect_timeout_ns, pool_deadline);
            if (rc == 0 || rc == MCRING_EPOOLTIMEOUT)
                break;
        }
        freeaddrinfo(res);
    }
    if (rc != 0)
        return rc;

    if (tls != NULL) {
        rc = tls_handshake(c, tls, a, pool_deadline);
        if (rc != 0) {
            conn_close(c);
            return rc;
        }
        return 0;
    }

    /* Plain TCP: back to blocking mode, with the io timeout as a start. */
    int fl = fcntl(c->fd, F_GETFL);
    if (fl < 0 || fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        c->sys_errno = errno;
        conn_close(c);
        return MCRING_ESYS;
    }
    struct timeval tv;
    set_timeval(&tv, io_timeout_ns);
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    c->rcv_timeout_ns = c->snd_timeout_ns = io_timeout_ns;
    return 0;
}

/* ---- blocking I/O ------------------------------------------------------- */

static void iov_advance(struct iovec **iov, int *iovcnt, size_t n)
{
    while (*iovcnt > 0 && n >= (*iov)->iov_len) {
        n -= (*iov)->iov_len;
        (*iov)++;
        (*iovcnt)--;
    }
    if (*iovcnt > 0 && n > 0) {
        (*iov)->iov_base = (char *)(*iov)->iov_base + n;
        (*iov)->iov_len -= n;
    }
    while (*iovcnt > 0 && (*iov)->iov_len == 0) {
        (*iov)++;
        (*iovcnt)--;
    }
}

static int tls_send_some(conn *c, struct iovec **iov, int *iovcnt)
{
    /* One record per call: gather small pieces so a request is one write. */
    const void *src = (*iov)->iov_base;
    size_t len = (*iov)->iov_len;
    if (*iovcnt > 1 && len < 16384) {
        size_t total = 0;
        for (int i = 0; i < *iovcnt && total < 16384; i++)
            total += (*iov)[i].iov_len;
        if (total > 16384)
            total = 16384;
        if (conn_reserve_wbuf(c, total) != 0)
            return MCRING_ENOMEM;
        size_t off = 0;
        for (int i = 0; i < *iovcnt && off < total; i++) {
            size_t take = (*iov)[i].iov_len;
            if (take > total - off)
                take = total - off;
            memcpy(c->wbuf + off, (*iov)[i].iov_base, take);
            off += take;
        }
        src = c->wbuf;
        len = total;
    }
    ERR_clear_error();
    int n = SSL_write(c->ssl, src, (int)(len > INT32_MAX ? INT32_MAX : len));
    if (n > 0) {
        iov_advance(iov, iovcnt, (size_t)n);
        return 0;
    }
    return tls_result(c, n);
}

int conn_send(conn *c, struct iovec *iov, int iovcnt, int64_t deadline)
{
    while (iovcnt > 0 && iov->iov_len == 0) {
        iov++;
        iovcnt--;
    }
    bool force = false;
    while (iovcnt > 0) {
        if (c->ssl != NULL) {
            int r = tls_send_some(c, &iov, &iovcnt);
            if (r < 0)
                return r;
            if (r == 1 && (r = wait_fd(c, c->tls_want, deadline)) != 0)
                return r;
            continue;
        }
        int r = sock_arm(c, SO_SNDTIMEO, &c->snd_timeout_ns, deadline, force);
        if (r != 0)
            return r;
        struct msghdr mh = {.msg_iov = iov,
                            .msg_iovlen = (size_t)(iovcnt > 1024 ? 1024 : iovcnt)};
        ssize_t n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
        if (n >= 0) {
            iov_advance(&iov, &iovcnt, (size_t)n);
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            force = true;
            continue;
        }
        return io_errno(c, errno);
    }
    return 0;
}

/* Blocking read of up to cap bytes into dst. */
static ssize_t read_blocking(conn *c, void *dst, size_t cap, int64_t deadline)
{
    bool force = false;
    for (;;) {
        if (c->ssl != NULL) {
            ERR_clear_error();
            int n = SSL_read(c->ssl, dst, (int)(cap > INT32_MAX ? INT32_MAX : cap));
            if (n > 0)
                return n;
            int r = tls_result(c, n);
            if (r < 0)
                return r;
            if ((r = wait_fd(c, c->tls_want, deadline)) != 0)
                return r;
            continue;
        }
        int r = sock_arm(c, SO_RCVTIMEO, &c->rcv_timeout_ns, deadline, force);
        if (r != 0)
            return r;
        ssize_t n = recv(c->fd, dst, cap, 0);
        if (n > 0)
            return n;
        if (n == 0)
            return MCRING_ECLOSED;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            force = true;
            continue;
        }
        return io_errno(c, errno);
    }
}

void conn_make_room(conn *c)
{
    if (c->rfull && c->rcap < CONN_RBUF_MAX) {
        char *b = realloc(c->rbuf, c->rcap * 2);
        if (b != NULL) { /* else: carry on with the buffer we have */
            c->rbuf = b;
            c->rcap *= 2;
        }
    }
    c->rfull = false;
    if (c->rpos == c->rlen) {
        c->rpos = c->rlen = 0;
    } else if (c->rcap - c->rlen < 2048) {
        memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
        c->rlen -= c->rpos;
        c->rpos = 0;
    }
}

int conn_fill(conn *c, int64_t deadline)
{
    conn_make_room(c);
    size_t room = c->rcap - c->rlen;
    ssize_t n = read_blocking(c, c->rbuf + c->rlen, room, deadline);
    if (n < 0)
        return (int)n;
    c->rlen += (size_t)n;
    c->rfull = (size_t)n == room;
    return 0;
}

ssize_t conn_read_direct(conn *c, void *dst, size_t len, int64_t deadline)
{
    return read_blocking(c, dst, len, deadline);
}

/* ---- non-blocking I/O --------------------------------------------------- */

int conn_try_send(conn *c, struct iovec **iov, int *iovcnt)
{
    while (*iovcnt > 0) {
        if (c->ssl != NULL) {
            int r = tls_send_some(c, iov, iovcnt);
            if (r < 0)
                return r;
            if (r == 1)
                return 0;
            continue;
        }
        struct msghdr mh = {.msg_iov = *iov,
                            .msg_iovlen = (size_t)(*iovcnt > 1024 ? 1024 : *iovcnt)};
        ssize_t n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n >= 0) {
            iov_advance(iov, iovcnt, (size_t)n);
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        return io_errno(c, errno);
    }
    return 1;
}

static ssize_t read_nonblocking(conn *c, void *dst, size_t cap)
{
    for (;;) {
        if (c->ssl != NULL) {
            ERR_clear_error();
            int n = SSL_read(c->ssl, dst, (int)(cap > INT32_MAX ? INT32_MAX : cap));
            if (n > 0)
                return n;
            int r = tls_result(c, n);
            return r == 1 ? 0 : r;
        }
        ssize_t n = recv(c->fd, dst, cap, MSG_DONTWAIT);
        if (n > 0)
            return n;
        if (n == 0)
            return MCRING_ECLOSED;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        return io_errno(c, errno);
    }
}

int conn_try_fill(conn *c)
{
    conn_make_room(c);
    size_t room = c->rcap - c->rlen;
    ssize_t n = read_nonblocking(c, c->rbuf + c->rlen, room);
    if (n <= 0)
        return (int)n;
    c->rlen += (size_t)n;
    c->rfull = (size_t)n == room;
    return 1;
}

ssize_t conn_try_read_direct(conn *c, void *dst, size_t len)
{
    return read_nonblocking(c, dst, len);
}

short conn_poll_events(const conn *c, bool sending)
{
    if (c->ssl != NULL)
        return c->tls_want ? c->tls_want : POLLIN;
    return sending ? (POLLIN | POLLOUT) : POLLIN;
}
