/* handler tcp / udp / forward / unix: local port forwarding to the service's forwarder targets,
 * directly or through the handler's chain.
 *
 * For each accepted conn: pick a target (selector with fail marks), dial it through the router
 * (up to `retries` more attempts with another pick), then relay until both directions end. A
 * failed dial marks the target failed and is logged once at error level; the client conn is then
 * closed at once. `tcp` dials "tcp", `udp` dials "udp" (one upstream socket per client session),
 * `unix` dials a unix socket, `forward` follows the listener: "udp" for datagram conns, else
 * "tcp".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "chain/forwarder.h"
#include "config/md.h"
#include "config/schema.h"
#include "core/addr.h"
#include "core/fiber.h"
#include "core/log.h"
#include "core/pconn.h"
#include "core/relay.h"
#include "listener/udp_listener.h"
#include "service/service.h"

struct fwd_handler {
    struct handler base;
    const char *network; /* NULL = follow the conn */
    int64_t udp_ttl_ms;
    int64_t idle_ms;
};

static int fwd_init_common(struct handler *h, const char *network, struct cfg_errs *errs)
{
    struct fwd_handler *f = (struct fwd_handler *)h;
    f->network = network;
    /* Without a forwarder GOST dials a dummy ":0" through the chain: the last hop (a `forward`
     * connector to a port-forwarding server, a relay...) decides the target. Without a chain
     * either, nothing could ever be reached. */
    if (!h->fwd && !h->router->chain) {
        cfg_errs_add(errs, cfg_pos_of(h->cfg->node, "type"),
                     "handler \"%s\" needs a forwarder (a target such as tcp://:8080/host:port) "
                     "or a chain",
                     h->type->name);
        return -EINVAL;
    }
    const struct cval *lmd = h->svc->cfg->listener ? h->svc->cfg->listener->metadata : NULL;
    int64_t idle_ns = 0;
    if (udp_listener_ttl_ms(lmd, &f->udp_ttl_ms, errs) < 0 ||
        md_parse_duration(h->cfg->metadata, MD_KEYS("idleTimeout"), &idle_ns, errs) == MD_INVALID)
        return -EINVAL;
    f->idle_ms = idle_ns > 0 ? idle_ns / 1000000 : 0;
    return 0;
}

static int tcp_init(struct handler *h, struct cfg_errs *errs)
{
    return fwd_init_common(h, "tcp", errs);
}

static int udp_init(struct handler *h, struct cfg_errs *errs)
{
    return fwd_init_common(h, "udp", errs);
}

static int unix_init(struct handler *h, struct cfg_errs *errs)
{
    return fwd_init_common(h, "unix", errs);
}

static int forward_init(struct handler *h, struct cfg_errs *errs)
{
    return fwd_init_common(h, NULL, errs);
}

static void fwd_handle(struct handler *h, struct conn *c, struct session *s)
{
    struct fwd_handler *f = (struct fwd_handler *)h;
    bool dgram = conn_ctl(c, CONN_CTL_IS_DGRAM, NULL) == 0;
    const char *network = f->network ? f->network : dgram ? "udp" : "tcp";
    struct conn *up = NULL;
    struct fwd_target *t = NULL;
    int rc = -EHOSTUNREACH;
    /* The hash selector's key: the client's IP (GOST's default hash source). */
    char client_ip[ADDR_STRLEN];
    uint16_t client_port;
    if (addr_split(s->remote, client_ip, sizeof client_ip, &client_port) < 0)
        snprintf(client_ip, sizeof client_ip, "%s", s->remote);
    const char *hash_key = s->client_id ? s->client_id : client_ip;
    char dst[ADDR_STRLEN + 8];
    static struct fwd_target dummy = {.name = "dummy", .addr = ":0"};
    for (int attempt = 0; attempt <= h->retries; attempt++) {
        t = h->fwd ? forwarder_pick(h->fwd, network, hash_key) : &dummy;
        if (!t) {
            LOG(LOG_ERROR, &s->log, "target not available");
            rc = -EHOSTUNREACH;
            break;
        }
        fiber_clear_err();
        rc = route_dial(h->router, network, t->addr, hash_key, &up);
        if (rc == 0) {
            sel_mark_ok(&t->mark);
            break;
        }
        sel_mark_fail(&t->mark, clock_now_ms());
        snprintf(dst, sizeof dst, "%s/%s", t->addr, network);
        LOGX(LOG_ERROR, &s->log, LOG_FIELDS(LOG_FIELD_STR("dst", dst)), "%s",
             fiber_err()[0] ? fiber_err() : strerror(-rc));
        if (rc == -ECANCELED)
            break;
    }
    if (rc < 0) {
        atomic_fetch_add(&s->svc->total_errs, 1);
        conn_close(c);
        session_log_end(s, 0, 0);
        return;
    }
    snprintf(dst, sizeof dst, "%s/%s", t->addr, network);
    LOGX(LOG_DEBUG, &s->log, LOG_FIELDS(LOG_FIELD_STR("dst", dst)), "%s <-> %s", s->remote,
         t->addr);
    struct relay_opts o = {
        .idle_timeout_ms = dgram ? f->udp_ttl_ms : f->idle_ms,
        .buf_size = dgram ? PCONN_MAX_DGRAM : 0,
    };
    struct session_tail *tail = session_tail_new(s);
    relay(c, up, &o, session_tail_finish, tail);
}

const struct handler_type handler_tcp = {
    .name = "tcp",
    .size = sizeof(struct fwd_handler),
    .init = tcp_init,
    .handle = fwd_handle,
};

const struct handler_type handler_udp = {
    .name = "udp",
    .size = sizeof(struct fwd_handler),
    .init = udp_init,
    .handle = fwd_handle,
};

const struct handler_type handler_forward = {
    .name = "forward",
    .size = sizeof(struct fwd_handler),
    .init = forward_init,
    .handle = fwd_handle,
};

const struct handler_type handler_unix = {
    .name = "unix",
    .size = sizeof(struct fwd_handler),
    .init = unix_init,
    .handle = fwd_handle,
};
