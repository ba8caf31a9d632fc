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
/* A TLS write gathers small pieces into one record of at most this. */
#define TLS_RECORD 16384

void conn_init(conn *c)
{
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    pthread_mutex_init(&c->ssl_lock, NULL);
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
    c->wretry = 0;
}

void conn_destroy(conn *c)
{
    conn_close(c);
    free(c->rbuf);
    free(c->wbuf);
    c->rbuf = c->wbuf = NULL;
    c->rcap = c->wcap = 0;
    pthread_mutex_destroy(&c->ssl_lock);
}

void conn_shutdown(conn *c)
{
    if (c->fd >= 0)
        shutdown(c->fd, SHUT_RDWR);
}

static void set_timeval(struct timeval *tv, int64_t ns)
{
    tv->tv_sec = (time_t)(ns / NS_PER_SEC);
    tv->tv_usec = (suseconds_t)((ns % NS_PER_SEC) / 1000);
    if (tv->tv_sec == 0 && tv->tv_usec == 0)
        tv->tv_usec = 1; /* zero would mean "wait forever" */
}

/* Makes SO_RCVTIMEO end no later than deadline (+ slack); force sets it to
 * exactly the time left. Read side. */
static int arm_read(conn *c, int64_t deadline, bool force)
{
    int64_t left = deadline - clock_now_ns();
    if (left <= 0)
        return MCRING_ETIMEOUT;
    if (force || c->rcv_timeout_ns > left + ARM_SLACK_NS) {
        struct timeval tv;
        set_timeval(&tv, left);
        if (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) {
            c->rerrno = errno;
            return MCRING_EIO;
        }
        c->rcv_timeout_ns = left;
    }
    return 0;
}

static int errno_code(int e)
{
    return e == EPIPE || e == ECONNRESET ? MCRING_ECLOSED : MCRING_EIO;
}

/* Waits until fd is ready for events or the deadline passes. */
static int wait_fd(int fd, short events, int64_t deadline, int *err)
{
    for (;;) {
        int64_t now = clock_now_ns();
        if (now >= deadline)
            return MCRING_ETIMEOUT;
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, clock_ms_left(deadline, now));
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR) {
            *err = errno;
            return errno_code(errno);
        }
    }
}

/* ---- TLS ---------------------------------------------------------------- */

/* Maps an SSL_* result (ssl_lock held) to: 1 retry after waiting for
 * *want, or a failure with its errno or text. */
static int tls_result(SSL *ssl, int ret, short *want, int *err,
                      const char **why)
{
    int e = SSL_get_error(ssl, ret);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        *want = POLLIN;
        return 1;
    case SSL_ERROR_WANT_WRITE:
        *want = POLLOUT;
        return 1;
    case SSL_ERROR_ZERO_RETURN:
        return MCRING_ECLOSED;
    case SSL_ERROR_SYSCALL:
        if (errno == 0 || ERR_peek_error() == 0) {
            if (ret == 0)
                return MCRING_ECLOSED;
            *err = errno;
            return errno_code(errno);
        }
        *why = ERR_reason_error_string(ERR_peek_last_error());
        return MCRING_ETLS;
    default:
        *err = 0;
        *why = ERR_reason_error_string(ERR_peek_last_error());
        return MCRING_ETLS;
    }
}

/* Creates the connection's SSL object over its socket, checking the name
 * the server was configured with as Python does: an IP address against the
 * certificate's IP SANs, a host name against its DNS names (and sent as
 * SNI). */
static int tls_setup(conn *c, tls_ctx *tls, const address *a)
{
    ERR_clear_error();
    c->ssl = SSL_new(tls->ctx);
    if (c->ssl == NULL)
        return MCRING_ENOMEM;
    BIO *bio = tls_socket_bio(c->fd);
    if (bio == NULL)
        return MCRING_ENOMEM;
    SSL_set_bio(c->ssl, bio, bio);
    X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
    if (X509_VERIFY_PARAM_set1_ip_asc(vp, a->host) != 1) {
        SSL_set_tlsext_host_name(c->ssl, a->host);
        if (SSL_set1_host(c->ssl, a->host) != 1)
            return MCRING_ETLS;
    }
    return 0;
}

/* One step of the handshake: 0 done, 1 wait for *want, or a failure. */
static int tls_step(conn *c, short *want)
{
    int r = SSL_connect(c->ssl);
    if (r == 1)
        return 0;
    int e = tls_result(c->ssl, r, want, &c->sys_errno, &c->why);
    if (e == 1)
        return 1;
    long v = SSL_get_verify_result(c->ssl);
    if (v != X509_V_OK) {
        c->why = X509_verify_cert_error_string(v);
        return MCRING_ECERT;
    }
    if (e == MCRING_ECLOSED) {
        c->why = "the server closed the connection during the handshake";
        return MCRING_ETLS;
    }
    return e;
}

static int tls_handshake(conn *c, tls_ctx *tls, const address *a,
                         int64_t deadline)
{
    int rc = tls_setup(c, tls, a);
    if (rc != 0)
        return rc;
    for (;;) {
        short want = 0;
        rc = tls_step(c, &want);
        if (rc != 1)
            return rc;
        int w = wait_fd(c->fd, want, deadline, &c->sys_errno);
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
        /* EAGAIN is no connect in progress: a Unix socket whose accept
         * backlog is full (or no local port left). A connect failure. */
        if (errno != EINPROGRESS) {
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

/* Closes what c held and clears the last attempt's errors: a connect
 * starts from here. */
static int conn_begin(conn *c)
{
    conn_close(c);
    c->sys_errno = 0;
    c->why = NULL;
    c->rerrno = c->werrno = 0;
    c->rwhy = c->wwhy = NULL;
    c->wretry = 0;
    c->rwant = c->wwant = 0;
    if (c->rbuf == NULL) {
        c->rbuf = malloc(CONN_RBUF_SIZE);
        if (c->rbuf == NULL)
            return MCRING_ENOMEM;
        c->rcap = CONN_RBUF_SIZE;
    }
    return 0;
}

int conn_connect(conn *c, const address *a, tls_ctx *tls,
                 int64_t connect_timeout_ns, int64_t io_timeout_ns,
                 int64_t pool_deadline)
{
    int rc = conn_begin(c);
    if (rc != 0)
        return rc;

    rc = MCRING_ECONNECT;
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
    c->rcv_timeout_ns = io_timeout_ns;
    return 0;
}

/* ---- write side --------------------------------------------------------- */

/* One TLS record's worth of iov gathered into wbuf (a write that must be
 * repeated is repeated with the same bytes: OpenSSL requires it). */
static ssize_t tls_send_some(conn *c, const struct iovec *iov, int iovcnt)
{
    size_t total = c->wretry;
    if (total == 0) {
        for (int i = 0; i < iovcnt && total < TLS_RECORD; i++)
            total += iov[i].iov_len;
        if (total > TLS_RECORD)
            total = TLS_RECORD;
    }
    if (c->wcap < total) {
        char *b = realloc(c->wbuf, TLS_RECORD);
        if (b == NULL)
            return MCRING_ENOMEM;
        c->wbuf = b;
        c->wcap = TLS_RECORD;
    }
    size_t off = 0;
    for (int i = 0; i < iovcnt && off < total; i++) {
        size_t take = iov[i].iov_len;
        if (take > total - off)
            take = total - off;
        memcpy(c->wbuf + off, iov[i].iov_base, take);
        off += take;
    }
    pthread_mutex_lock(&c->ssl_lock);
    ERR_clear_error();
    int n = SSL_write(c->ssl, c->wbuf, (int)off);
    int r = n > 0 ? 0 : tls_result(c->ssl, n, &c->wwant, &c->werrno, &c->wwhy);
    pthread_mutex_unlock(&c->ssl_lock);
    if (n > 0) {
        c->wretry = 0;
        return n;
    }
    if (r == 1) {
        c->wretry = off;
        return 0;
    }
    return r;
}

ssize_t conn_send_some(conn *c, const struct iovec *iov, int iovcnt)
{
    if (c->ssl != NULL)
        return tls_send_some(c, iov, iovcnt);
    struct msghdr mh = {.msg_iov = (struct iovec *)iov,
                        .msg_iovlen = (size_t)iovcnt};
    for (;;) {
        ssize_t n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        c->werrno = errno;
        return errno_code(errno);
    }
}

/* ---- read side ---------------------------------------------------------- */

/* One non-blocking read of up to cap bytes: > 0 bytes, 0 none yet (TLS:
 * rwant says what to wait for), < 0 failure. */
static ssize_t read_some(conn *c, void *dst, size_t cap)
{
    if (c->ssl != NULL) {
        pthread_mutex_lock(&c->ssl_lock);
        ERR_clear_error();
        int n = SSL_read(c->ssl, dst, (int)(cap > INT32_MAX ? INT32_MAX : cap));
        int r = n > 0 ? 0 : tls_result(c->ssl, n, &c->rwant, &c->rerrno, &c->rwhy);
        pthread_mutex_unlock(&c->ssl_lock);
        if (n > 0)
            return n;
        return r == 1 ? 0 : r;
    }
    for (;;) {
        ssize_t n = recv(c->fd, dst, cap, MSG_DONTWAIT);
        if (n > 0)
            return n;
        if (n == 0)
            return MCRING_ECLOSED;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            c->rwant = POLLIN;
            return 0;
        }
        c->rerrno = errno;
        return errno_code(errno);
    }
}

/* Blocking read of up to cap bytes into dst, by deadline. */
static ssize_t read_blocking(conn *c, void *dst, size_t cap, int64_t deadline)
{
    if (c->ssl != NULL) {
        for (;;) {
            ssize_t n = read_some(c, dst, cap);
            if (n != 0)
                return n;
            int w = wait_fd(c->fd, c->rwant, deadline, &c->rerrno);
            if (w != 0)
                return w;
        }
    }
    bool force = false;
    for (;;) {
        int r = arm_read(c, deadline, force);
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
            /* The socket's timeout fired: early if it was armed long ago. */
            force = true;
            continue;
        }
        c->rerrno = errno;
        return errno_code(errno);
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

int conn_try_fill(conn *c)
{
    conn_make_room(c);
    size_t room = c->rcap - c->rlen;
    ssize_t n = read_some(c, c->rbuf + c->rlen, room);
    if (n <= 0)
        return (int)n;
    c->rlen += (size_t)n;
    c->rfull = (size_t)n == room;
    return 1;
}

ssize_t conn_try_read_direct(conn *c, void *dst, size_t len)
{
    return read_some(c, dst, len);
}

bool conn_input_pending(conn *c)
{
    if (conn_buffered(c) > 0)
        return true;
    if (c->ssl != NULL) {
        char b;
        pthread_mutex_lock(&c->ssl_lock);
        ERR_clear_error();
        int n = SSL_peek(c->ssl, &b, 1);
        short want = 0;
        int err = 0;
        const char *why = NULL;
        int r = n > 0 ? 0 : tls_result(c->ssl, n, &want, &err, &why);
        pthread_mutex_unlock(&c->ssl_lock);
        return n > 0 || r != 1;
    }
    /* Readable means bytes are there or the peer closed: either way the
     * connection is not idle and in step. */
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    return poll(&p, 1, 0) != 0;
}

bool conn_readable_now(conn *c)
{
    if (c->ssl == NULL)
        return false;
    pthread_mutex_lock(&c->ssl_lock);
    bool pending = SSL_has_pending(c->ssl);
    pthread_mutex_unlock(&c->ssl_lock);
    return pending;
}

short conn_poll_events(const conn *c, bool writing)
{
    if (c->ssl != NULL)
        return writing ? (c->wwant ? c->wwant : POLLOUT)
                       : (c->rwant ? c->rwant : POLLIN);
    return writing ? POLLOUT : POLLIN;
}

/* ---- connecting without waiting (event loops) ---------------------------- */

/* Starts a non-blocking connect to the address ai; 0 connected, 1 in
 * progress, or a failure. */
static int start_one(conn *c, const struct addrinfo *ai)
{
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    0);
    if (fd < 0) {
        c->sys_errno = errno;
        return MCRING_ESYS;
    }
    if (ai->ai_family != AF_UNIX) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    c->fd = fd;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return 0;
    if (errno == EINPROGRESS)
        return 1;
    c->sys_errno = errno;
    close(fd);
    c->fd = -1;
    return errno == ECONNREFUSED || errno == ENOENT ? MCRING_ECONNREFUSED
                                                     : MCRING_ECONNECT;
}

/* Tries the addresses from c->ai_next on until one connects or is in
 * progress. */
static int start_next(conn *c)
{
    int rc = MCRING_ECONNECT;
    while (c->ai_next != NULL) {
        struct addrinfo *ai = c->ai_next;
        c->ai_next = ai->ai_next;
        rc = start_one(c, ai);
        if (rc >= 0)
            return rc;
    }
    return rc;
}

static void async_connect_done(conn *c)
{
    if (c->ai_list != NULL)
        freeaddrinfo(c->ai_list);
    c->ai_list = c->ai_next = NULL;
    c->unix_ai = NULL;
}

int conn_connect_start(conn *c, const address *a)
{
    int rc = conn_begin(c);
    if (rc != 0)
        return rc;
    c->cstate = CONN_C_TCP;
    if (a->is_unix) {
        struct sockaddr_un *sun = calloc(1, sizeof(*sun));
        struct addrinfo *ai = calloc(1, sizeof(*ai));
        size_t n = strlen(a->host);
        if (sun == NULL || ai == NULL || n >= sizeof(sun->sun_path)) {
            free(sun);
            free(ai);
            return n >= sizeof(sun->sun_path) ? MCRING_EADDR : MCRING_ENOMEM;
        }
        sun->sun_family = AF_UNIX;
        memcpy(sun->sun_path, a->host, n + 1);
        *ai = (struct addrinfo){.ai_family = AF_UNIX,
                                .ai_addr = (struct sockaddr *)sun,
                                .ai_addrlen = sizeof(*sun)};
        c->unix_ai = ai;
        c->ai_next = ai;
        rc = start_next(c);
        free(sun);
        free(ai);
        c->unix_ai = NULL;
        c->ai_next = NULL;
        return rc;
    }
    struct addrinfo hints = {0};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    int g = getaddrinfo(a->host, a->port, &hints, &c->ai_list);
    if (g != 0) {
        c->sys_errno = g == EAI_SYSTEM ? errno : 0;
        c->ai_list = NULL;
        return MCRING_ERESOLVE;
    }
    c->ai_next = c->ai_list;
    rc = start_next(c);
    if (rc != 1)
        async_connect_done(c);
    return rc;
}

int conn_connect_step(conn *c, tls_ctx *tls, const address *a, short *want)
{
    if (c->cstate == CONN_C_TCP) {
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
            soerr = errno;
        if (soerr == EINPROGRESS || soerr == EALREADY) {
            *want = POLLOUT;
            return 1;
        }
        if (soerr != 0) {
            /* This address failed: the next one, if any. */
            c->sys_errno = soerr;
            close(c->fd);
            c->fd = -1;
            int rc = start_next(c);
            if (rc == 1) {
                *want = POLLOUT;
                return 1;
            }
            if (rc < 0) {
                async_connect_done(c);
                return soerr == ECONNREFUSED ? MCRING_ECONNREFUSED
                                             : MCRING_ECONNECT;
            }
        }
        async_connect_done(c);
        if (tls == NULL) {
            c->cstate = CONN_C_DONE;
            return 0;
        }
        int rc = tls_setup(c, tls, a);
        if (rc != 0)
            return rc;
        c->cstate = CONN_C_TLS;
    }
    if (c->cstate == CONN_C_TLS) {
        int rc = tls_step(c, want);
        if (rc == 0)
            c->cstate = CONN_C_DONE;
        return rc;
    }
    return 0;
}

void conn_connect_abandon(conn *c)
{
    async_connect_done(c);
    conn_close(c);
}
