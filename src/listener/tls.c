/* listener tls: a TCP listener (listener/sock_listener.h, one SO_REUSEPORT socket per worker)
 * whose accepted conns are TLS server conns. The handshake never runs in the accept loop: the
 * conn handshakes lazily on its first read/write/wait (net/tls.h tls_server_lazy), in the
 * session fiber, bounded by metadata `handshakeTimeout` (default 15 s) from accept time.
 * Certificate: the listener's `tls:` object, else the process default (docs/tls.md). */
#include <errno.h>

#include "config/md.h"
#include "config/schema.h"
#include "core/clock.h"
#include "listener/sock_listener.h"
#include "net/tls.h"
#include "service/service.h"

#define TLS_LISTENER_HS_TIMEOUT_MS 15000

struct tls_lst {
    struct sock_lst tcp; /* first: see sock_listener.h */
    struct tls_server_ctx *ctx;
    int64_t hs_timeout_ms;
};

static int tls_lst_init(struct listener *l, struct cfg_errs *errs)
{
    struct tls_lst *t = (struct tls_lst *)l;
    t->tcp.fd = -1; /* nothing bound yet: free() must not close fd 0 */
    int64_t ns = 0;
    enum md_status st = md_parse_duration(l->cfg->metadata, MD_KEYS("handshakeTimeout"), &ns, errs);
    if (st == MD_INVALID)
        return -EINVAL;
    t->hs_timeout_ms = st == MD_OK && ns > 0 ? ns / 1000000 : TLS_LISTENER_HS_TIMEOUT_MS;
    if (t->hs_timeout_ms <= 0)
        t->hs_timeout_ms = 1;
    /* Workers after the first share worker 0's context (same certificate, built once). */
    const struct listener *first = l->worker > 0 ? l->svc->listeners[0] : NULL;
    if (first && first->type == l->type && ((const struct tls_lst *)first)->ctx) {
        t->ctx = tls_server_ctx_ref(((const struct tls_lst *)first)->ctx);
    } else {
        int rc = tls_server_ctx_from_cfg(l->cfg->tls, l->root, &t->ctx, errs);
        if (rc < 0)
            return rc;
    }
    return sock_lst_init_tcp(l, errs);
}

static int tls_lst_accept(struct listener *l, struct conn **out)
{
    struct tls_lst *t = (struct tls_lst *)l;
    struct conn *c;
    int rc = sock_lst_accept(l, &c);
    if (rc < 0)
        return rc;
    *out = tls_server_lazy(c, t->ctx, clock_now_ms() + t->hs_timeout_ms);
    return 0;
}

static void tls_lst_free(struct listener *l)
{
    struct tls_lst *t = (struct tls_lst *)l;
    sock_lst_free(l);
    tls_server_ctx_unref(t->ctx);
    t->ctx = NULL;
}

const struct listener_type listener_tls = {
    .name = "tls",
    .size = sizeof(struct tls_lst),
    .flags = LISTENER_PER_WORKER,
    .init = tls_lst_init,
    .start = sock_lst_start,
    .accept = tls_lst_accept,
    .close = sock_lst_close,
    .free = tls_lst_free,
};
