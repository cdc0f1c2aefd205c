/* dialer tls: TCP to the node, then a TLS client handshake (net/tls.h) in `handshake`.
 * TLS settings: the dialer's `tls:` object (secure false = no verification, GOST's default;
 * serverName defaults to the host part of the node address). Metadata: `handshakeTimeout`
 * (duration; 0 = only the dial deadline bounds the handshake). */
#include <errno.h>
#include <stdlib.h>

#include "chain/chain.h"
#include "config/md.h"
#include "core/addr.h"
#include "core/clock.h"
#include "core/fiber.h"
#include "net/tls.h"
#include "service/component.h"

struct tls_dialer {
    struct dialer base;
    struct tls_client_ctx *ctx;
    char host[256]; /* host part of the node address: the default server name */
    int64_t hs_timeout_ms;
};

static int tls_dialer_init(struct dialer *d, struct cfg_errs *errs)
{
    struct tls_dialer *t = (struct tls_dialer *)d;
    int64_t ns = 0;
    if (d->cfg &&
        md_parse_duration(d->cfg->metadata, MD_KEYS("handshakeTimeout"), &ns, errs) == MD_INVALID)
        return -EINVAL;
    t->hs_timeout_ms = ns > 0 ? (ns + 999999) / 1000000 : 0;
    uint16_t port;
    if (!d->node_addr || addr_split(d->node_addr, t->host, sizeof t->host, &port) < 0)
        t->host[0] = '\0';
    return tls_client_ctx_from_cfg(d->cfg ? d->cfg->tls : NULL, &t->ctx, errs);
}

static int tls_dialer_dial(struct dialer *d, const char *addr, const struct dial_opts *o,
                           struct conn **out)
{
    (void)d;
    return route_dial_direct("tcp", addr, o->deadline, out);
}

static int tls_dialer_handshake(struct dialer *d, struct conn *c, const struct dial_opts *o,
                                struct conn **out)
{
    struct tls_dialer *t = (struct tls_dialer *)d;
    int64_t deadline = o->deadline;
    if (t->hs_timeout_ms > 0)
        deadline = deadline_min(deadline, clock_now_ms() + t->hs_timeout_ms);
    return tls_client(c, t->ctx, t->host, deadline, out);
}

static void tls_dialer_free(struct dialer *d)
{
    struct tls_dialer *t = (struct tls_dialer *)d;
    tls_client_ctx_unref(t->ctx);
    t->ctx = NULL;
}

const struct dialer_type dialer_tls = {
    .name = "tls",
    .size = sizeof(struct tls_dialer),
    .init = tls_dialer_init,
    .dial = tls_dialer_dial,
    .handshake = tls_dialer_handshake,
    .free = tls_dialer_free,
};
