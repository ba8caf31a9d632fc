#include <errno.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "error.h"
#include "tls.h"

static const char *ssl_reason(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    return r ? r : "unknown reason";
}

int tls_ctx_new(const char *cafile, const char *certfile, const char *keyfile,
                tls_ctx **out, char *err, size_t errlen)
{
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL)
        return err_set(err, errlen, MCRING_ENOMEM, "TLS: SSL_CTX_new failed");
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    /* A connection is closed without a close_notify when its stream is out
     * of step; the peer's missing one must not fail a read either. */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

    int ok = cafile != NULL && *cafile
                 ? SSL_CTX_load_verify_locations(ctx, cafile, NULL)
                 : SSL_CTX_set_default_verify_paths(ctx);
    if (ok != 1) {
        err_set(err, errlen, MCRING_ETLS, "TLS: cannot load CA file '%s': %s",
                cafile ? cafile : "(system default)", ssl_reason());
        SSL_CTX_free(ctx);
        return MCRING_ETLS;
    }
    if (certfile != NULL && *certfile) {
        const char *kf = keyfile != NULL && *keyfile ? keyfile : certfile;
        if (SSL_CTX_use_certificate_chain_file(ctx, certfile) != 1) {
            err_set(err, errlen, MCRING_ETLS,
                    "TLS: cannot load certificate '%s': %s", certfile,
                    ssl_reason());
            SSL_CTX_free(ctx);
            return MCRING_ETLS;
        }
        if (SSL_CTX_use_PrivateKey_file(ctx, kf, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(ctx) != 1) {
            err_set(err, errlen, MCRING_ETLS,
                    "TLS: cannot use private key '%s': %s", kf, ssl_reason());
            SSL_CTX_free(ctx);
            return MCRING_ETLS;
        }
    }
    tls_ctx *t = malloc(sizeof(*t));
    if (t == NULL) {
        SSL_CTX_free(ctx);
        return err_set(err, errlen, MCRING_ENOMEM, "out of memory");
    }
    t->ctx = ctx;
    atomic_init(&t->refs, 1);
    *out = t;
    return 0;
}

tls_ctx *tls_ctx_ref(tls_ctx *t)
{
    if (t != NULL)
        atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
    return t;
}

void tls_ctx_unref(tls_ctx *t)
{
    if (t == NULL)
        return;
    if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1) {
        SSL_CTX_free(t->ctx);
        free(t);
    }
}

/* ---- a socket BIO that never raises SIGPIPE ----------------------------- */

static int bio_fd(BIO *b)
{
    return (int)(intptr_t)BIO_get_data(b);
}

static int bio_retry(BIO *b, int e, bool writing)
{
    BIO_clear_retry_flags(b);
    if (e == EAGAIN || e == EWOULDBLOCK || e == EINTR) {
        if (writing)
            BIO_set_retry_write(b);
        else
            BIO_set_retry_read(b);
    }
    return -1;
}

static int bio_write(BIO *b, const char *data, int len)
{
    ssize_t n = send(bio_fd(b), data, (size_t)len, MSG_NOSIGNAL);
    if (n >= 0) {
        BIO_clear_retry_flags(b);
        return (int)n;
    }
    return bio_retry(b, errno, true);
}

static int bio_read(BIO *b, char *data, int len)
{
    ssize_t n = recv(bio_fd(b), data, (size_t)len, 0);
    if (n >= 0) {
        BIO_clear_retry_flags(b);
        return (int)n;
    }
    return bio_retry(b, errno, false);
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    /* Writes go straight to the socket: nothing to flush. Everything else
     * a socket BIO answers (fd, close flag, ...) is not asked of this
     * one. */
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

static void bio_method_init(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
                                 "mcring socket");
    if (m == NULL)
        return;
    if (BIO_meth_set_write(m, bio_write) != 1 ||
        BIO_meth_set_read(m, bio_read) != 1 ||
        BIO_meth_set_ctrl(m, bio_ctrl) != 1) {
        BIO_meth_free(m);
        return;
    }
    bio_method = m; /* lives as long as the process */
}

BIO *tls_socket_bio(int fd)
{
    pthread_once(&bio_once, bio_method_init);
    if (bio_method == NULL)
        return NULL;
    BIO *b = BIO_new(bio_method);
    if (b == NULL)
        return NULL;
    BIO_set_data(b, (void *)(intptr_t)fd);
    BIO_set_init(b, 1);
    return b;
}
