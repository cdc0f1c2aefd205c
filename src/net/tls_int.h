/* tls_int: what the TLS contexts (tls_ctx.c) share with the layer (tls.c). Private to src/net. */
#ifndef GOST_NET_TLS_INT_H
#define GOST_NET_TLS_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <openssl/ssl.h>

struct tls_alpn_list; /* tls_ctx.c */

struct tls_server_ctx {
    atomic_int refs;
    SSL_CTX *ssl;               /* owned */
    struct tls_alpn_list *alpn; /* owned; the ALPN select callback's list, or NULL */
};

struct tls_client_ctx {
    atomic_int refs;
    SSL_CTX *ssl;      /* owned */
    char *server_name; /* configured serverName or NULL, owned */
    bool verify_host;  /* secure: check the certificate against the server name */
};

/* The self-signed certificate GOST generates when no certificate is configured: ECDSA P-256,
 * subject O=org (default "GOST"), CN=cn (default "gost.run"), SAN DNS:cn, valid validity_ns
 * (<= 0: one year) from now, key usage digitalSignature+keyCertSign, EKU server+client auth.
 * Generated once per process per (cn, org, validity) and cached (thread-safe). 0 and new
 * references in *cert / *key (X509_free / EVP_PKEY_free them), or -ENOMEM (fiber_err set). */
int tls_cert_generated(const char *cn, const char *org, int64_t validity_ns, X509 **cert,
                       EVP_PKEY **key);

/* Record the OpenSSL error queue (and a failed certificate verification of ssl, if any) as the
 * fiber's error: "<what>: <reason>". Clears the queue. */
void tls_set_ssl_err(SSL *ssl, const char *what);

#endif
