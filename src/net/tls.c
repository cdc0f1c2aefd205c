/* tls: the TLS conn layer over memory BIOs (see tls.h for the contract and docs/tls.md). */
#include "net/tls.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/addr.h"
#include "core/bufpool.h"
#include "core/fiber.h"
#include "core/xmalloc.h"
#include "net/tls_int.h"

/* Ciphertext moved per inner read / write, and plaintext encrypted per flush. */
#define TLS_IO_BUF      ((size_t)64 * 1024)
#define TLS_WRITE_CHUNK ((size_t)48 * 1024)
#define TLS_ALPN_MAX    255

struct tls_conn {
    struct conn base;
    SSL *ssl;
    BIO *rbio, *wbio;            /* memory BIOs, owned by ssl: ciphertext in / out */
    struct tls_server_ctx *sctx; /* referenced (server side) */
    struct tls_client_ctx *cctx; /* referenced (client side) */
    int64_t hs_deadline;         /* lazy server handshake bound, DEADLINE_NONE otherwise */
    int err;                     /* sticky fatal error (< 0), 0 while healthy */
    bool hs_done, hs_busy;       /* handshake over / running in some fiber */
    bool rd_busy, wr_busy;       /* a fiber is reading / writing the inner conn */
    bool inner_eof;              /* the inner conn returned EOF */
    bool peer_closed;            /* close_notify received (or clean EOF) */
    bool sent_close;             /* close_notify queued */
    struct fiber_cond hs_cond, rd_cond, wr_cond;
    char alpn[TLS_ALPN_MAX + 1];
};

void tls_set_ssl_err(SSL *ssl, const char *what)
{
    char reason[160] = "";
    long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    unsigned long e = ERR_peek_last_error();
    if (vr != X509_V_OK)
        snprintf(reason, sizeof reason, "certificate verify failed: %s",
                 X509_verify_cert_error_string(vr));
    else if (e)
        ERR_error_string_n(e, reason, sizeof reason);
    else
        snprintf(reason, sizeof reason, "protocol error");
    ERR_clear_error();
    fiber_set_err("%s: %s", what, reason);
}

static bool tls_transient(int rc)
{
    return rc == -ETIMEDOUT || rc == -ECANCELED;
}

/* The conn is broken: record a sticky error (the first one wins) and return err for this call.
 * A timeout or cancellation that broke the stream is stored as -ECONNABORTED: later calls must
 * not report a retryable -ETIMEDOUT forever (the relay would retry). */
static int tls_fail(struct tls_conn *t, int err)
{
    if (!t->err)
        t->err = tls_transient(err) ? -ECONNABORTED : err;
    return err;
}

/* Write everything queued in wbio to the inner conn. One fiber at a time; it also sends what
 * others queued while it was parked. Any failure is fatal (the record stream is cut). */
static int tls_flush(struct tls_conn *t, int64_t deadline)
{
    while (t->wr_busy) {
        int rc = fiber_cond_wait(&t->wr_cond, deadline);
        if (rc < 0)
            return tls_fail(t, rc);
    }
    if (t->err)
        return t->err;
    if (BIO_ctrl_pending(t->wbio) == 0)
        return 0;
    t->wr_busy = true;
    char *buf = bufpool_get(TLS_IO_BUF);
    int rc = 0;
    size_t pend;
    while ((pend = BIO_ctrl_pending(t->wbio)) > 0) {
        int n = BIO_read(t->wbio, buf, (int)(pend < TLS_IO_BUF ? pend : TLS_IO_BUF));
        if (n <= 0)
            break;
        t->base.inner->wr_deadline = deadline;
        ssize_t w = conn_write(t->base.inner, buf, (size_t)n);
        if (w < 0) {
            rc = tls_fail(t, (int)w);
            break;
        }
    }
    bufpool_put(buf, TLS_IO_BUF);
    t->wr_busy = false;
    fiber_cond_broadcast(&t->wr_cond);
    return rc;
}

/* Read some ciphertext from the inner conn into rbio. 1 = progress (bytes, or another reader
 * made some: retry), 0 = EOF (inner_eof set), < 0 = error (transient ones leave no trace). */
static int tls_fill(struct tls_conn *t, int64_t deadline)
{
    if (t->rd_busy) {
        while (t->rd_busy) {
            int rc = fiber_cond_wait(&t->rd_cond, deadline);
            if (rc < 0)
                return rc;
        }
        return 1;
    }
    if (t->inner_eof)
        return 0;
    t->rd_busy = true;
    char *buf = bufpool_get(TLS_IO_BUF);
    t->base.inner->rd_deadline = deadline;
    ssize_t n = conn_read(t->base.inner, buf, TLS_IO_BUF);
    if (n > 0 && BIO_write(t->rbio, buf, (int)n) != (int)n)
        n = -ENOMEM;
    if (n == 0)
        t->inner_eof = true;
    bufpool_put(buf, TLS_IO_BUF);
    t->rd_busy = false;
    fiber_cond_broadcast(&t->rd_cond);
    if (n < 0) {
        if (!tls_transient((int)n))
            tls_fail(t, (int)n);
        return (int)n;
    }
    return n > 0 ? 1 : 0;
}

static void tls_record_alpn(struct tls_conn *t)
{
    const unsigned char *p = NULL;
    unsigned int len = 0;
    SSL_get0_alpn_selected(t->ssl, &p, &len);
    if (len > TLS_ALPN_MAX)
        len = TLS_ALPN_MAX;
    if (p && len)
        memcpy(t->alpn, p, len);
    t->alpn[len] = '\0';
}

/* Drive SSL_do_handshake until it is over. Reads wait until rd_dl, writes until wr_dl. */
static int tls_run_handshake(struct tls_conn *t, int64_t rd_dl, int64_t wr_dl)
{
    for (;;) {
        ERR_clear_error();
        int r = SSL_do_handshake(t->ssl);
        int e = r == 1 ? SSL_ERROR_NONE : SSL_get_error(t->ssl, r);
        if (e != SSL_ERROR_NONE && e != SSL_ERROR_WANT_READ) {
            /* Record the reason first, then try to send the alert OpenSSL queued. */
            tls_set_ssl_err(t->ssl, "tls handshake");
            char why[FIBER_ERR_MAX];
            snprintf(why, sizeof why, "%s", fiber_err());
            (void)tls_flush(t, wr_dl);
            fiber_set_err("%s", why);
            return tls_fail(t, -EPROTO);
        }
        int rc = tls_flush(t, wr_dl);
        if (rc < 0) {
            fiber_wrap_err("tls handshake");
            return rc;
        }
        if (e == SSL_ERROR_NONE) {
            t->hs_done = true;
            tls_record_alpn(t);
            return 0;
        }
        rc = tls_fill(t, rd_dl);
        if (rc == 0) {
            fiber_set_err("tls handshake: connection closed by peer");
            return tls_fail(t, -ECONNRESET);
        }
        if (rc < 0) {
            if (!tls_transient(rc))
                fiber_wrap_err("tls handshake");
            return rc;
        }
    }
}

/* Make sure the handshake is over: run it (bounded by hs_deadline too) or wait for the fiber
 * running it (until wait_dl). Transient errors (-ETIMEDOUT, -ECANCELED) leave it resumable,
 * except when hs_deadline itself passed (-ECONNABORTED, sticky). */
static int tls_ensure_handshake(struct tls_conn *t, int64_t rd_dl, int64_t wr_dl, int64_t wait_dl)
{
    while (!t->hs_done) {
        if (t->err)
            return t->err;
        if (t->hs_busy) {
            int rc = fiber_cond_wait(&t->hs_cond, wait_dl);
            if (rc < 0)
                return rc;
            continue;
        }
        t->hs_busy = true;
        int rc = tls_run_handshake(t, deadline_min(rd_dl, t->hs_deadline),
                                   deadline_min(wr_dl, t->hs_deadline));
        t->hs_busy = false;
        fiber_cond_broadcast(&t->hs_cond);
        if (rc == 0)
            return 0;
        if (rc == -ETIMEDOUT && t->hs_deadline != DEADLINE_NONE &&
            clock_now_ms() >= t->hs_deadline) {
            fiber_set_err("tls handshake timeout");
            /* A timed-out write already made -ETIMEDOUT sticky: replace it. */
            t->err = -ECONNABORTED;
            return t->err;
        }
        return rc;
    }
    return 0;
}

static ssize_t tls_read(struct conn *c, void *buf, size_t n)
{
    struct tls_conn *t = (struct tls_conn *)c;
    int rc = tls_ensure_handshake(t, c->rd_deadline, c->wr_deadline, c->rd_deadline);
    if (rc < 0)
        return rc;
    if (n == 0)
        return 0;
    for (;;) {
        if (t->peer_closed)
            return 0;
        if (t->err)
            return t->err;
        size_t got = 0;
        ERR_clear_error();
        int r = SSL_read_ex(t->ssl, buf, n, &got);
        int e = r == 1 ? SSL_ERROR_NONE : SSL_get_error(t->ssl, r);
        /* Post-handshake answers (key update...); a busy writer sends them with its own. */
        if (BIO_ctrl_pending(t->wbio) > 0 && !t->wr_busy)
            (void)tls_flush(t, c->wr_deadline);
        switch (e) {
        case SSL_ERROR_NONE:
            return (ssize_t)got;
        case SSL_ERROR_ZERO_RETURN:
            t->peer_closed = true;
            return 0;
        case SSL_ERROR_WANT_READ:
            if (t->inner_eof) {
                /* EOF at a record boundary reads as EOF (Go does the same); inside one it is a
                 * truncation. */
                if (SSL_has_pending(t->ssl) || BIO_ctrl_pending(t->rbio) > 0) {
                    fiber_set_err("tls: connection closed inside a record");
                    return tls_fail(t, -ECONNRESET);
                }
                t->peer_closed = true;
                return 0;
            }
            rc = tls_fill(t, c->rd_deadline);
            if (rc < 0)
                return rc;
            continue;
        default:
            tls_set_ssl_err(t->ssl, "tls read");
            return tls_fail(t, -EPROTO);
        }
    }
}

static ssize_t tls_write(struct conn *c, const void *buf, size_t n)
{
    struct tls_conn *t = (struct tls_conn *)c;
    int rc = tls_ensure_handshake(t, c->wr_deadline, c->wr_deadline, c->wr_deadline);
    if (rc < 0)
        return rc;
    const char *p = buf;
    size_t off = 0;
    while (off < n) {
        if (t->err)
            return t->err;
        if (t->sent_close)
            return -EPIPE;
        size_t chunk = n - off < TLS_WRITE_CHUNK ? n - off : TLS_WRITE_CHUNK;
        size_t w = 0;
        ERR_clear_error();
        if (SSL_write_ex(t->ssl, p + off, chunk, &w) != 1) {
            tls_set_ssl_err(t->ssl, "tls write");
            return tls_fail(t, -EPROTO);
        }
        off += w;
        rc = tls_flush(t, c->wr_deadline);
        if (rc < 0)
            return rc;
    }
    return (ssize_t)n;
}

static int tls_shutdown(struct conn *c)
{
    struct tls_conn *t = (struct tls_conn *)c;
    int rc = tls_ensure_handshake(t, c->wr_deadline, c->wr_deadline, c->wr_deadline);
    if (rc < 0)
        return rc;
    if (t->sent_close)
        return 0;
    if (t->err)
        return t->err;
    t->sent_close = true;
    ERR_clear_error();
    if (SSL_shutdown(t->ssl) < 0) {
        tls_set_ssl_err(t->ssl, "tls shutdown");
        return tls_fail(t, -EPROTO);
    }
    return tls_flush(t, c->wr_deadline);
}

static void tls_close(struct conn *c)
{
    struct tls_conn *t = (struct tls_conn *)c;
    SSL_free(t->ssl);
    tls_server_ctx_unref(t->sctx);
    tls_client_ctx_unref(t->cctx);
    conn_close(c->inner);
    free(t);
}

static int tls_ctl(struct conn *c, int op, void *arg)
{
    struct tls_conn *t = (struct tls_conn *)c;
    switch (op) {
    case CONN_CTL_FD:
        return -ENOTSUP;
    case TLS_CTL_ALPN:
        if (!t->hs_done)
            return -EAGAIN;
        *(const char **)arg = t->alpn;
        return 0;
    default:
        return conn_ctl_default(c, op, arg);
    }
}

static int tls_wait_readable(struct conn *c, int64_t deadline)
{
    struct tls_conn *t = (struct tls_conn *)c;
    int rc =
        tls_ensure_handshake(t, deadline, deadline_min(c->wr_deadline, t->hs_deadline), deadline);
    if (tls_transient(rc))
        return rc;
    if (rc < 0 || t->err || t->peer_closed || t->inner_eof)
        return 0; /* a read returns at once */
    if (SSL_has_pending(t->ssl) || BIO_ctrl_pending(t->rbio) > 0)
        return 0;
    if (t->rd_busy) {
        /* Another reader is on the inner conn: readable when it brings something back. */
        while (t->rd_busy) {
            rc = fiber_cond_wait(&t->rd_cond, deadline);
            if (rc < 0)
                return rc;
        }
        return 0;
    }
    return conn_wait_readable(c->inner, deadline);
}

static const struct conn_ops tls_conn_ops = {
    .name = "tls",
    .read = tls_read,
    .write = tls_write,
    .shutdown = tls_shutdown,
    .close = tls_close,
    .ctl = tls_ctl,
    .wait_readable = tls_wait_readable,
};

/* A tls conn around inner (consumed) with a fresh SSL from ssl_ctx; NULL if OpenSSL fails (inner
 * is closed then, fiber_err set). */
static struct tls_conn *tls_conn_new(struct conn *inner, SSL_CTX *ssl_ctx)
{
    SSL *ssl = SSL_new(ssl_ctx);
    BIO *rbio = BIO_new(BIO_s_mem());
    BIO *wbio = BIO_new(BIO_s_mem());
    if (!ssl || !rbio || !wbio) {
        tls_set_ssl_err(NULL, "tls");
        SSL_free(ssl);
        BIO_free(rbio);
        BIO_free(wbio);
        conn_close(inner);
        return NULL;
    }
    SSL_set_bio(ssl, rbio, wbio);
    struct tls_conn *t = xcalloc(1, sizeof *t);
    conn_init(&t->base, &tls_conn_ops, inner);
    t->ssl = ssl;
    t->rbio = rbio;
    t->wbio = wbio;
    t->hs_deadline = DEADLINE_NONE;
    fiber_cond_init(&t->hs_cond);
    fiber_cond_init(&t->rd_cond);
    fiber_cond_init(&t->wr_cond);
    return t;
}

static int tls_handshake_now(struct tls_conn *t, int64_t deadline, struct conn **out)
{
    int rc = tls_ensure_handshake(t, deadline, deadline, deadline);
    if (rc < 0) {
        if (rc == -ETIMEDOUT)
            fiber_set_err("tls handshake timeout");
        else if (rc == -ECANCELED && !fiber_err()[0])
            fiber_set_err("tls handshake: cancelled");
        tls_close(&t->base);
        return rc;
    }
    *out = &t->base;
    return 0;
}

static bool tls_is_ip_literal(const char *s)
{
    struct gaddr ga;
    return addr_from_numeric(s, 0, &ga) == 0;
}

int tls_client(struct conn *inner, const struct tls_client_ctx *ctx, const char *server_name,
               int64_t deadline, struct conn **out)
{
    struct tls_conn *t = tls_conn_new(inner, ctx->ssl);
    if (!t)
        return -ENOMEM;
    t->cctx = tls_client_ctx_ref((struct tls_client_ctx *)ctx);
    const char *name = ctx->server_name ? ctx->server_name : server_name;
    if (name && !*name)
        name = NULL;
    bool ip = name && tls_is_ip_literal(name);
    int ok = 1;
    if (name && !ip)
        ok = SSL_set_tlsext_host_name(t->ssl, name);
    if (ok && ctx->verify_host) {
        if (!name) {
            fiber_set_err("tls: secure verification needs a server name");
            tls_close(&t->base);
            return -EINVAL;
        }
        if (ip) {
            ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), name);
        } else {
            SSL_set_hostflags(t->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            ok = SSL_set1_host(t->ssl, name);
        }
    }
    if (!ok) {
        tls_set_ssl_err(NULL, "tls");
        tls_close(&t->base);
        return -EINVAL;
    }
    SSL_set_connect_state(t->ssl);
    return tls_handshake_now(t, deadline, out);
}

int tls_server(struct conn *inner, const struct tls_server_ctx *ctx, int64_t deadline,
               struct conn **out)
{
    struct tls_conn *t = tls_conn_new(inner, ctx->ssl);
    if (!t)
        return -ENOMEM;
    t->sctx = tls_server_ctx_ref((struct tls_server_ctx *)ctx);
    SSL_set_accept_state(t->ssl);
    return tls_handshake_now(t, deadline, out);
}

struct conn *tls_server_lazy(struct conn *inner, const struct tls_server_ctx *ctx,
                             int64_t hs_deadline)
{
    struct tls_conn *t = tls_conn_new(inner, ctx->ssl);
    if (!t)
        abort(); /* out of memory inside OpenSSL */
    t->sctx = tls_server_ctx_ref((struct tls_server_ctx *)ctx);
    t->hs_deadline = hs_deadline;
    SSL_set_accept_state(t->ssl);
    return &t->base;
}

int tls_conn_handshake(struct conn *c, int64_t deadline)
{
    struct tls_conn *t = (struct tls_conn *)c;
    return tls_ensure_handshake(t, deadline, deadline, deadline);
}
