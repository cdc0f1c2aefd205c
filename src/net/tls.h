/* tls: a TLS layer (OpenSSL 3) over ANY stream conn, and the shared TLS contexts built from
 * GOST's `tls:` config objects (inventory §2.14). See docs/tls.md.
 *
 * The layer never lets OpenSSL touch the inner conn: the SSL object talks to two memory BIOs and
 * the layer moves ciphertext between them and the inner conn itself. SSL_* calls therefore never
 * park, and a fiber that parks (on the inner conn, a deadline, cancellation) never leaves the SSL
 * object half-way through an operation. Consequences:
 *  - one fiber may read while another writes on the same conn (the relay does that); inner reads
 *    are serialised among readers, inner writes among writers, the handshake runs in one fiber
 *    while the others wait for it;
 *  - -ETIMEDOUT / -ECANCELED from read leave the conn usable (nothing was lost);
 *  - a failed or timed-out write to the inner conn breaks the conn for good (the record stream
 *    is cut at an unknown point): later writes fail with the same error.
 *
 * Conn semantics (core/conn.h): read returns decrypted bytes (0 = close_notify received or the
 * inner conn ended at a record boundary, as Go's crypto/tls); write encrypts and writes all of
 * it; shutdown sends close_notify (the inner conn is NOT shut down, as Go's CloseWrite: an inner
 * WebSocket/mux layer keeps carrying the other direction); close frees the SSL and the inner
 * conn (no close_notify: call shutdown for a clean end). ctl: CONN_CTL_FD answers -ENOTSUP (the
 * bytes are transformed); TLS_CTL_ALPN is answered here; everything else goes to the inner conn.
 * Errors: -EPROTO (TLS alert, bad record, verification failure: fiber_err says which),
 * -ECONNRESET (inner conn ended inside a record / before the handshake ended), -ECONNABORTED
 * (handshake deadline passed), or the inner conn's -errno.
 *
 * Threading: a tls conn lives on the worker of its inner conn, like every conn. Contexts are
 * immutable after they are built, refcounted (atomic) and shared by all workers.
 */
#ifndef GOST_NET_TLS_H
#define GOST_NET_TLS_H

#include <stdint.h>

#include "config/cfg_err.h"
#include "config/types.h"
#include "core/conn.h"

/* ctl: `const char **`: the negotiated ALPN protocol ("" when none), borrowed, valid as long as
 * the conn. -EAGAIN before the handshake is over. */
#define TLS_CTL_ALPN (CONN_CTL_USER + 10)

struct tls_server_ctx;
struct tls_client_ctx;

/* ---- contexts (main thread, config time) ------------------------------------------------ */

/* Server context of a service (listener `tls:` or handler `tls:` object; NULL = none):
 *  - certFile + keyFile given: load them (PEM; the cert file may hold the chain); caFile:
 *    require a client certificate verified against it (mTLS); options apply.
 *  - else the process default certificate: top-level `tls:` of `root` (certFile/keyFile/caFile,
 *    or a generated certificate with its commonName/organization/validity), else cert.pem +
 *    key.pem (+ ca.pem = mTLS, as GOST) in the working directory, else a self-signed ECDSA P-256
 *    certificate generated once per process (CN "gost.run", O "GOST", 1 year); the service's
 *    own caFile/options still apply on top of it.
 * Unreadable or invalid files and unknown option values are errors positioned at their key.
 * 0 and *out (one reference for the caller), or -EINVAL with errs filled. */
int tls_server_ctx_from_cfg(const struct cfg_tls *svc_tls, const struct cfg *root,
                            struct tls_server_ctx **out, struct cfg_errs *errs);

/* Client context (dialer/connector `tls:`; NULL = defaults): `secure` false (the default) = no
 * verification; caFile given = verify the chain against it (with secure false: no host name
 * check, as GOST); secure true = verify chain (caFile, else the system store) AND host name.
 * certFile/keyFile = client certificate. serverName = SNI + checked name (see tls_client).
 * 0 and *out, or -EINVAL with errs filled. */
int tls_client_ctx_from_cfg(const struct cfg_tls *tls, struct tls_client_ctx **out,
                            struct cfg_errs *errs);

/* Same for a node's `tls:` (TLSNodeConfig: serverName, secure, options) — used when a forward
 * handler re-originates TLS to a node. NULL = defaults. */
int tls_client_ctx_from_node_cfg(const struct cfg_tls_node *tls, struct tls_client_ctx **out,
                                 struct cfg_errs *errs);

/* The configured serverName, or NULL. Borrowed (lives as long as ctx). */
const char *tls_client_ctx_server_name(const struct tls_client_ctx *ctx);

/* Reference counting (atomic; any thread). unref(NULL) is a no-op. */
struct tls_server_ctx *tls_server_ctx_ref(struct tls_server_ctx *ctx);
void tls_server_ctx_unref(struct tls_server_ctx *ctx);
struct tls_client_ctx *tls_client_ctx_ref(struct tls_client_ctx *ctx);
void tls_client_ctx_unref(struct tls_client_ctx *ctx);

/* ---- the layer (in a fiber) ------------------------------------------------------------- */

/* Client handshake over `inner` (CONSUMED: closed on failure). SNI and (with secure) the checked
 * host name are the ctx's serverName if configured, else `server_name` (may be NULL: no SNI; an
 * IP literal is not sent as SNI but checked against the certificate's IP SANs, as Go does).
 * Blocks until the handshake is over or `deadline` (absolute) passes: -ETIMEDOUT. `ctx` is
 * referenced by the new conn. 0 and *out, or -errno with fiber_err set. */
int tls_client(struct conn *inner, const struct tls_client_ctx *ctx, const char *server_name,
               int64_t deadline, struct conn **out);

/* Server handshake over `inner` (CONSUMED), same contract. */
int tls_server(struct conn *inner, const struct tls_server_ctx *ctx, int64_t deadline,
               struct conn **out);

/* Wrap `inner` (CONSUMED) as a server-side tls conn WITHOUT handshaking: the first read, write,
 * wait_readable or shutdown performs the handshake, bounded by `hs_deadline` (absolute) as well
 * as by the call's own deadline; passing hs_deadline fails the conn with -ECONNABORTED. For
 * listeners: the accept loop never runs a handshake. Never fails (aborts on OOM). */
struct conn *tls_server_lazy(struct conn *inner, const struct tls_server_ctx *ctx,
                             int64_t hs_deadline);

/* Run the (pending) handshake of a tls conn now; 0 at once if it is done. For callers of
 * tls_server_lazy that want the error before touching data. `c` must be a tls conn. */
int tls_conn_handshake(struct conn *c, int64_t deadline);

#endif
