/*
 * TLS client context through OpenSSL, configured as Swift does with
 * ssl.create_default_context(cafile) and load_cert_chain(certfile, keyfile):
 * peer verification and host-name checking on, client certificate optional.
 */
#ifndef MCRING_TLS_H
#define MCRING_TLS_H

#include <stdatomic.h>
#include <stddef.h>

typedef struct ssl_ctx_st SSL_CTX;

typedef struct tls_ctx {
    SSL_CTX *ctx;
    atomic_uint refs;
} tls_ctx;

/* cafile NULL: the system's default CA store. certfile NULL: no client
 * certificate. keyfile NULL: the key is in certfile. Returns 0, MCRING_ETLS
 * (files unreadable or not matching; err says which) or MCRING_ENOMEM. */
int tls_ctx_new(const char *cafile, const char *certfile, const char *keyfile,
                tls_ctx **out, char *err, size_t errlen);
tls_ctx *tls_ctx_ref(tls_ctx *t);
/* A BIO for a connected socket that OpenSSL reads and writes through: it
 * sends with MSG_NOSIGNAL, so a TLS write to a server that went away
 * cannot raise SIGPIPE in the host process (OpenSSL's own socket BIO uses
 * write()). Does not close fd. NULL when out of memory. */
typedef struct bio_st BIO;
BIO *tls_socket_bio(int fd);
void tls_ctx_unref(tls_ctx *t);

#endif
