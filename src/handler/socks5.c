/* handler socks5 / socks: SOCKS5 server (RFC 1928/1929) with GOST's extensions (inventory §5.2):
 * method negotiation, user/pass, CONNECT, UDP ASSOCIATE (udp=true), UDP-TUN 0xF3 (udp=true for
 * the outbound association, bind=true for a bound UDP port), BIND and MBIND 0xF2 (bind=true;
 * socks5_bind.c, socks5_mbind.c over net/smux). See docs/socks.md.
 *
 * The negotiation (greeting, auth, request) is bounded by readTimeout (default 15 s) for reads
 * and writes; every read takes exactly the bytes the message needs, so nothing the client sends
 * after the request is consumed here and the relay can splice the plain socket. Malformed input
 * gets the protocol's failure reply (where the protocol has one) and the connection is closed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "config/md.h"
#include "config/schema.h"
#include "core/fiber.h"
#include "core/log.h"
#include "core/relay.h"
#include "core/xmalloc.h"
#include "handler/socks5_int.h"
#include "modules/auth.h"
#include "net/tls.h"
#include "service/service.h"

#define SOCKS5_DEFAULT_READ_TIMEOUT_MS 15000

int socks5_handler_reply(struct conn *c, uint8_t rep, const struct socks5_addr *bnd)
{
    uint8_t b[SOCKS5_REQUEST_MAX];
    ssize_t n = socks5_reply_encode(b, sizeof b, rep, bnd);
    if (n < 0)
        n = socks5_reply_encode(b, sizeof b, rep, NULL);
    ssize_t w = conn_write(c, b, (size_t)n);
    return w < 0 ? (int)w : 0;
}

/* Read one message with a need-driven decoder (proto/socks5.h convention) into b (cap bytes),
 * reading exactly the bytes the decoder asks for. DECODE is an expression over the macro's
 * `have_` (bytes in b) and `need_` (out: total bytes needed); rc gets its result: > 0 complete,
 * -EPROTO / -EAFNOSUPPORT malformed, or a read error (-ECONNRESET, -ETIMEDOUT, ...; a read
 * -EPROTO is reported as -EIO so the two stay apart). */
#define SOCKS5_READ_MSG(c, b, cap, rc, DECODE)                                                     \
    do {                                                                                           \
        size_t have_ = 0, need_ = 2;                                                               \
        for (;;) {                                                                                 \
            if (need_ > (cap)) {                                                                   \
                rc = -EPROTO;                                                                      \
                break;                                                                             \
            }                                                                                      \
            ssize_t r_ = conn_read_full((c), (b) + have_, need_ - have_);                          \
            if (r_ < 0) {                                                                          \
                rc = r_ == -EPROTO ? -EIO : r_;                                                    \
                break;                                                                             \
            }                                                                                      \
            have_ = need_;                                                                         \
            rc = DECODE;                                                                           \
            if (rc != 0)                                                                           \
                break;                                                                             \
        }                                                                                          \
    } while (0)

static uint8_t socks5_rep_for(int err)
{
    switch (err) {
    case -ECONNREFUSED:
        return SOCKS5_REP_CONN_REFUSED;
    case -EHOSTUNREACH:
    case -ENOENT:
    case -ETIMEDOUT:
        return SOCKS5_REP_HOST_UNREACHABLE;
    default:
        return SOCKS5_REP_NET_UNREACHABLE;
    }
}

static void socks5_fail(struct session *s, struct conn *c, const char *what, int rc)
{
    LOG(LOG_ERROR, &s->log, "socks5: %s: %s", what,
        fiber_err()[0] ? fiber_err() : strerror(rc < 0 ? -rc : rc));
    atomic_fetch_add(&s->svc->total_errs, 1);
    conn_close(c);
    session_log_end(s, 0, 0);
}

/* Method negotiation and authentication. 0 (c may have been replaced by a TLS layer) or < 0
 * (the failure reply, if any, was sent). id receives the client ID on authentication. */
static int socks5_negotiate(struct socks5_handler *h, struct conn **cp, struct session *s,
                            int64_t dl, char *id, size_t idlen)
{
    struct conn *c = *cp;
    uint8_t b[SOCKS5_USERPASS_MAX];
    uint8_t methods[255];
    size_t nm = 0;
    ssize_t rc;
    SOCKS5_READ_MSG(c, b, sizeof b, rc, socks5_greeting_decode(b, have_, methods, &nm, &need_));
    if (rc < 0) {
        fiber_set_err("greeting: %s", rc == -EPROTO ? "bad format or version" : strerror((int)-rc));
        return (int)rc;
    }
    uint8_t m = socks5_select_method(methods, nm, h->auther != NULL, h->tls != NULL);
    uint8_t sel[2];
    socks5_method_encode(sel, m);
    ssize_t w = conn_write(c, sel, 2);
    if (w < 0)
        return (int)w;
    if (m == SOCKS5_METHOD_NONE) {
        fiber_set_err("no acceptable method offered");
        return -EACCES;
    }
    if (m == SOCKS5_METHOD_TLS || m == SOCKS5_METHOD_TLS_AUTH) {
        /* GOST's extension: TLS on the raw connection with the service's certificate. */
        *cp = NULL;
        int trc = tls_server(c, h->tls, dl, &c);
        if (trc < 0) {
            fiber_wrap_err("tls handshake (method 0x%02x)", m);
            return trc;
        }
        conn_set_deadline(c, dl, dl);
        *cp = c;
    }
    if (m != SOCKS5_METHOD_USERPASS && m != SOCKS5_METHOD_TLS_AUTH)
        return 0;
    char user[256], pass[256];
    SOCKS5_READ_MSG(c, b, sizeof b, rc, socks5_userpass_decode(b, have_, user, pass, &need_));
    if (rc < 0) {
        fiber_set_err("user/pass: %s",
                      rc == -EPROTO ? "bad format or version" : strerror((int)-rc));
        if (rc == -EPROTO) {
            uint8_t rep[2];
            socks5_userpass_reply_encode(rep, 0x01);
            conn_write(c, rep, 2);
        }
        return (int)rc;
    }
    bool ok = true;
    if (h->auther)
        ok = auther_authenticate(h->auther, user, pass, s->remote, id, idlen);
    uint8_t rep[2];
    socks5_userpass_reply_encode(rep, ok ? 0x00 : 0x01);
    w = conn_write(c, rep, 2);
    if (!ok) {
        fiber_set_err("authentication failed for user \"%s\"", user);
        return -EACCES;
    }
    return w < 0 ? (int)w : 0;
}

static void socks5_connect(struct socks5_handler *h, struct conn *c, struct session *s,
                           const char *dst)
{
    struct conn *up = NULL;
    char client_ip[ADDR_STRLEN];
    uint16_t port;
    if (addr_split(s->remote, client_ip, sizeof client_ip, &port) < 0)
        snprintf(client_ip, sizeof client_ip, "%s", s->remote);
    const char *hash_key = h->hash_host ? dst : s->client_id ? s->client_id : client_ip;
    LOGX(LOG_DEBUG, &s->log, LOG_FIELDS(LOG_FIELD_STR("dst", dst), LOG_FIELD_STR("cmd", "connect")),
         "%s >> %s", s->remote, dst);
    fiber_clear_err();
    int rc = route_dial(h->base.router, "tcp", dst, hash_key, &up);
    if (rc < 0) {
        socks5_handler_reply(c, socks5_rep_for(rc), NULL);
        char what[ADDR_STRLEN + 300];
        snprintf(what, sizeof what, "connect %s", dst);
        socks5_fail(s, c, what, rc);
        return;
    }
    conn_set_deadline(c, deadline_in(h->read_timeout_ms), deadline_in(h->read_timeout_ms));
    rc = socks5_handler_reply(c, SOCKS5_REP_SUCCEEDED, NULL);
    conn_set_deadline(c, DEADLINE_NONE, DEADLINE_NONE);
    if (rc < 0) {
        conn_close(up);
        socks5_fail(s, c, "reply", rc);
        return;
    }
    LOGX(LOG_INFO, &s->log, LOG_FIELDS(LOG_FIELD_STR("dst", dst), LOG_FIELD_STR("cmd", "connect")),
         "%s <-> %s", s->remote, dst);
    struct session_tail *tail = session_tail_new(s);
    relay(c, up, NULL, session_tail_finish, tail);
}

static void socks5_handle(struct handler *hb, struct conn *c, struct session *s)
{
    struct socks5_handler *h = (struct socks5_handler *)hb;
    int64_t dl = deadline_in(h->read_timeout_ms);
    conn_set_deadline(c, dl, dl);
    char id[AUTH_ID_MAX] = "";
    int rc = socks5_negotiate(h, &c, s, dl, id, sizeof id);
    if (rc < 0) {
        socks5_fail(s, c, "negotiation", rc);
        return;
    }
    if (id[0])
        s->client_id = id;
    uint8_t b[SOCKS5_REQUEST_MAX];
    uint8_t cmd = 0;
    struct socks5_addr dst;
    ssize_t r;
    SOCKS5_READ_MSG(c, b, sizeof b, r, socks5_request_decode(b, have_, &cmd, &dst, &need_));
    if (r < 0) {
        if (r == -EPROTO || r == -EAFNOSUPPORT)
            socks5_handler_reply(
                c, r == -EAFNOSUPPORT ? SOCKS5_REP_ADDR_UNSUPPORTED : SOCKS5_REP_FAILURE, NULL);
        fiber_set_err("%s", r == -EPROTO         ? "bad format or version"
                            : r == -EAFNOSUPPORT ? "unknown address type"
                                                 : strerror((int)-r));
        socks5_fail(s, c, "request", (int)r);
        return;
    }
    conn_set_deadline(c, DEADLINE_NONE, DEADLINE_NONE);
    char dst_s[ADDR_STRLEN + 256];
    socks5_addr_format(&dst, dst_s, sizeof dst_s);
    switch (cmd) {
    case SOCKS5_CMD_CONNECT:
        socks5_connect(h, c, s, dst_s);
        return;
    case SOCKS5_CMD_UDPTUN:
        socks5_handle_udptun(h, c, s, &dst);
        return;
    case SOCKS5_CMD_UDP:
        socks5_handle_udp(h, c, s);
        return;
    case SOCKS5_CMD_BIND:
        socks5_handle_bind(h, c, s, &dst);
        return;
    case SOCKS5_CMD_MBIND:
        socks5_handle_mbind(h, c, s, &dst);
        return;
    default:
        conn_set_deadline(c, dl, dl);
        socks5_handler_reply(c, SOCKS5_REP_CMD_UNSUPPORTED, NULL);
        fiber_set_err("command 0x%02x not supported", cmd);
        socks5_fail(s, c, "request", -ENOTSUP);
        return;
    }
}

static int socks5_port_md(const struct cval *md, const char *const *keys, uint16_t *out,
                          struct cfg_errs *errs, const struct cval *node)
{
    int64_t v = 0;
    enum md_status st = md_parse_int(md, keys, &v, errs);
    if (st == MD_INVALID)
        return -EINVAL;
    if (st == MD_ABSENT)
        return 0;
    if (v < 0 || v > 65535) {
        cfg_errs_add(errs, cfg_pos_of(node, "metadata"), "metadata \"%s\": port %lld out of range",
                     keys[0], (long long)v);
        return -EINVAL;
    }
    *out = (uint16_t)v;
    return 0;
}

static int socks5_init(struct handler *hb, struct cfg_errs *errs)
{
    struct socks5_handler *h = (struct socks5_handler *)hb;
    const struct cval *md = hb->cfg->metadata;
    int64_t rt = 0;
    bool notls = false;
    const char *pub = NULL, *hash = NULL;
    if (md_parse_duration(md, MD_KEYS("readTimeout"), &rt, errs) == MD_INVALID ||
        md_parse_bool(md, MD_KEYS("notls"), &notls, errs) == MD_INVALID ||
        md_parse_bool(md, MD_KEYS("udp"), &h->enable_udp, errs) == MD_INVALID ||
        md_parse_bool(md, MD_KEYS("bind"), &h->enable_bind, errs) == MD_INVALID ||
        md_parse_bool(md, MD_KEYS("comp"), &h->compat, errs) == MD_INVALID ||
        smux_config_from_md(md, hb->cfg->node, &h->mux, errs) < 0 ||
        md_parse_str(md, MD_KEYS("socks.publicAddr", "publicAddr"), &pub, errs) == MD_INVALID ||
        md_parse_str(md, MD_KEYS("hash"), &hash, errs) == MD_INVALID ||
        socks5_port_md(md, MD_KEYS("udp.bindRange.min", "udp.minPort"), &h->bind_min, errs,
                       hb->cfg->node) < 0 ||
        socks5_port_md(md, MD_KEYS("udp.bindRange.max", "udp.maxPort"), &h->bind_max, errs,
                       hb->cfg->node) < 0)
        return -EINVAL;
    int64_t bs = 0;
    if (md_parse_int(md, MD_KEYS("udp.bufferSize", "udpBufferSize"), &bs, errs) == MD_INVALID)
        return -EINVAL;
    h->read_timeout_ms = rt > 0 ? rt / 1000000 : SOCKS5_DEFAULT_READ_TIMEOUT_MS;
    h->hash_host = hash && strcmp(hash, "host") == 0;
    if (h->bind_min && !h->bind_max)
        h->bind_max = 65535;
    if (h->bind_max && h->bind_min > h->bind_max) {
        cfg_errs_add(errs, cfg_pos_of(hb->cfg->node, "metadata"),
                     "metadata \"udp.bindRange\": min %u > max %u", h->bind_min, h->bind_max);
        return -EINVAL;
    }
    if (pub && pub[0]) {
        char host[ADDR_STRLEN];
        uint16_t port;
        if (addr_split(pub, host, sizeof host, &port) < 0)
            snprintf(host, sizeof host, "%s", pub);
        h->public_host = xstrdup(host);
    }
    if (auth_build_for_handler(hb->cfg, hb->root, &h->auther, errs) < 0)
        return -EINVAL;
    if (!notls && tls_server_ctx_from_cfg(hb->cfg->tls, hb->root, &h->tls, errs) < 0)
        return -EINVAL;
    return 0;
}

static void socks5_free(struct handler *hb)
{
    struct socks5_handler *h = (struct socks5_handler *)hb;
    auther_free(h->auther);
    tls_server_ctx_unref(h->tls);
    free(h->public_host);
}

const struct handler_type handler_socks5 = {
    .name = "socks5",
    .size = sizeof(struct socks5_handler),
    .flags = HANDLER_AUTH,
    .init = socks5_init,
    .handle = socks5_handle,
    .free = socks5_free,
};

const struct handler_type handler_socks = {
    .name = "socks",
    .size = sizeof(struct socks5_handler),
    .flags = HANDLER_AUTH,
    .init = socks5_init,
    .handle = socks5_handle,
    .free = socks5_free,
};
