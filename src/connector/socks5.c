/* connector socks5 / socks: SOCKS5 client with GOST's extensions (inventory §5.2).
 *
 * Offer (byte-exact with gost 3.2.0): 0x00, 0x02 when credentials are configured (connector
 * auth / auth.file), and unless notls=true 0x80 and 0x82 (with credentials): TLS on the raw
 * connection (connector `tls:`; default: no verification and no SNI, as GOST), then for 0x82
 * RFC 1929 inside it.
 * "tcp": CONNECT. "udp": UDP-TUN 0xF3 (dst 0.0.0.0:0), returning a message-preserving conn that
 * frames each write as one UDP-TUN datagram to the requested address (socks5_udptun.h).
 * With relay=udp, "udp" uses a standard UDP ASSOCIATE and real UDP datagrams to the server's
 * relay port instead (socks5_udprelay.h).
 * Metadata: timeout (handshake bound, on top of the route's dial deadline), notls, relay.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config/md.h"
#include "config/schema.h"
#include "connector/socks5_udprelay.h"
#include "connector/socks5_udptun.h"
#include "core/fiber.h"
#include "modules/auth.h"
#include "net/tls.h"
#include "proto/socks5.h"
#include "service/component.h"

struct socks5_connector {
    struct connector base;
    char user[256], pass[256];
    bool has_creds;
    int64_t timeout_ms;
    bool relay_udp;             /* relay=udp: UDP ASSOCIATE instead of UDP-TUN */
    struct tls_client_ctx *tls; /* NULL with notls */
};

static const char *socks5c_rep_text(uint8_t rep)
{
    static const char *const t[] = {
        "succeeded",           "general failure",       "connection not allowed by ruleset",
        "network unreachable", "host unreachable",      "connection refused",
        "TTL expired",         "command not supported", "address type not supported",
    };
    return rep < sizeof t / sizeof t[0] ? t[rep] : "unknown reply code";
}

static int socks5c_read_reply(struct conn *c, struct socks5_addr *bnd, uint8_t *rep)
{
    uint8_t b[SOCKS5_REQUEST_MAX];
    size_t have = 0, need = 5;
    for (;;) {
        ssize_t r = conn_read_full(c, b + have, need - have);
        if (r < 0)
            return (int)r;
        have = need;
        r = socks5_reply_decode(b, have, rep, bnd, &need);
        if (r > 0)
            return 0;
        if (r < 0 || need > sizeof b)
            return -EPROTO;
    }
}

/* Consumes *cp on failure (*cp = NULL); on success *cp may be a TLS layer over it. */
static int socks5c_handshake(struct socks5_connector *k, struct conn **cp, int64_t dl)
{
    struct conn *c = *cp;
    uint8_t methods[4];
    size_t nm = 0;
    methods[nm++] = SOCKS5_METHOD_NOAUTH;
    if (k->has_creds)
        methods[nm++] = SOCKS5_METHOD_USERPASS;
    if (k->tls) {
        methods[nm++] = SOCKS5_METHOD_TLS;
        if (k->has_creds)
            methods[nm++] = SOCKS5_METHOD_TLS_AUTH;
    }
    uint8_t b[SOCKS5_USERPASS_MAX];
    ssize_t n = socks5_greeting_encode(b, sizeof b, methods, nm);
    ssize_t r = conn_write(c, b, (size_t)n);
    if (r >= 0)
        r = conn_read_full(c, b, 2);
    if (r < 0) {
        fiber_set_err("socks5: greeting: %s", strerror((int)-r));
        return (int)r;
    }
    uint8_t m;
    if (socks5_method_decode(b, &m) < 0) {
        fiber_set_err("socks5: bad version in method selection");
        return -EPROTO;
    }
    bool offered = memchr(methods, m, nm) != NULL;
    if (offered && (m == SOCKS5_METHOD_TLS || m == SOCKS5_METHOD_TLS_AUTH)) {
        *cp = NULL;
        int rc = tls_client(c, k->tls, NULL, dl, &c);
        if (rc < 0) {
            fiber_wrap_err("socks5: tls (method 0x%02x)", m);
            return rc;
        }
        conn_set_deadline(c, dl, dl);
        *cp = c;
    }
    if (m == SOCKS5_METHOD_NOAUTH || (offered && m == SOCKS5_METHOD_TLS))
        return 0;
    if (!offered || (m != SOCKS5_METHOD_USERPASS && m != SOCKS5_METHOD_TLS_AUTH)) {
        fiber_set_err(m == SOCKS5_METHOD_NONE ? "socks5: no acceptable authentication method"
                                              : "socks5: server chose method 0x%02x, not offered",
                      m);
        return -EACCES;
    }
    n = socks5_userpass_encode(b, sizeof b, k->user, k->pass);
    if (n < 0 || conn_write(c, b, (size_t)n) < 0 || conn_read_full(c, b, 2) < 0) {
        fiber_set_err("socks5: user/pass exchange failed");
        return -ECONNRESET;
    }
    uint8_t st;
    if (socks5_userpass_reply_decode(b, &st) < 0 || st != 0) {
        fiber_set_err("socks5: authentication failed");
        return -EACCES;
    }
    return 0;
}

static int socks5c_connect(struct connector *cb, struct conn *in, const char *network,
                           const char *addr, const struct dial_opts *o, struct conn **out)
{
    struct socks5_connector *k = (struct socks5_connector *)cb;
    *out = NULL;
    bool udp = strncmp(network, "udp", 3) == 0;
    if (!udp && strncmp(network, "tcp", 3) != 0) {
        fiber_set_err("socks5: network %s is not supported", network);
        conn_close(in);
        return -EPROTONOSUPPORT;
    }
    struct socks5_addr dst;
    if (socks5_addr_parse(&dst, addr) < 0) {
        fiber_set_err("socks5: invalid address %s", addr);
        conn_close(in);
        return -EINVAL;
    }
    int64_t dl = o ? o->deadline : DEADLINE_NONE;
    if (k->timeout_ms > 0)
        dl = deadline_min(dl, deadline_in(k->timeout_ms));
    conn_set_deadline(in, dl, dl);
    int rc = socks5c_handshake(k, &in, dl);
    if (rc < 0) {
        conn_close(in);
        return rc;
    }
    uint8_t b[SOCKS5_REQUEST_MAX];
    uint8_t cmd = !udp ? SOCKS5_CMD_CONNECT : k->relay_udp ? SOCKS5_CMD_UDP : SOCKS5_CMD_UDPTUN;
    ssize_t n = socks5_request_encode(b, sizeof b, cmd, udp ? NULL : &dst);
    if (n < 0 || conn_write(in, b, (size_t)n) < 0) {
        fiber_set_err("socks5: write request failed");
        conn_close(in);
        return -ECONNRESET;
    }
    struct socks5_addr bnd;
    uint8_t rep = 0xFF;
    rc = socks5c_read_reply(in, &bnd, &rep);
    if (rc < 0 || rep != SOCKS5_REP_SUCCEEDED) {
        if (rc < 0)
            fiber_set_err("socks5: read reply: %s", strerror(-rc));
        else
            fiber_set_err("socks5: %s %s: %s",
                          !udp           ? "connect"
                          : k->relay_udp ? "udp associate"
                                         : "udp-tun",
                          addr, socks5c_rep_text(rep));
        conn_close(in);
        return rc < 0 ? rc : rep == SOCKS5_REP_CONN_REFUSED ? -ECONNREFUSED : -EHOSTUNREACH;
    }
    conn_set_deadline(in, DEADLINE_NONE, DEADLINE_NONE);
    if (udp && k->relay_udp)
        return udprelay_conn_new(in, &bnd, &dst, out);
    *out = udp ? udptun_conn_new(in, &dst) : in;
    return 0;
}

static int socks5c_init(struct connector *cb, struct cfg_errs *errs)
{
    struct socks5_connector *k = (struct socks5_connector *)cb;
    const struct cval *md = cb->cfg ? cb->cfg->metadata : NULL;
    const struct cval *node = cb->cfg ? cb->cfg->node : NULL;
    int64_t t = 0;
    bool notls = false;
    const char *relay = NULL;
    if (md_parse_duration(md, MD_KEYS("timeout"), &t, errs) == MD_INVALID ||
        md_parse_bool(md, MD_KEYS("notls"), &notls, errs) == MD_INVALID ||
        md_parse_str(md, MD_KEYS("relay"), &relay, errs) == MD_INVALID)
        return -EINVAL;
    int64_t bs = 0;
    if (md_parse_int(md, MD_KEYS("udpBufferSize", "udp.bufferSize"), &bs, errs) == MD_INVALID)
        return -EINVAL;
    if (relay && relay[0]) {
        if (strcmp(relay, "udp") != 0) {
            cfg_errs_add(errs, cfg_pos_of(node, "metadata"),
                         "metadata \"relay\": unknown value \"%s\" (only \"udp\")", relay);
            return -EINVAL;
        }
        k->relay_udp = true;
    }
    k->timeout_ms = t > 0 ? t / 1000000 : 0;
    int rc = auth_client_creds(cb->cfg ? cb->cfg->auth : NULL, k->user, sizeof k->user, k->pass,
                               sizeof k->pass);
    if (rc < 0) {
        cfg_errs_add(errs, cfg_pos_of(node, "auth"), "connector auth: credentials too long");
        return -EINVAL;
    }
    k->has_creds = rc == 1;
    if (!notls && tls_client_ctx_from_cfg(cb->cfg ? cb->cfg->tls : NULL, &k->tls, errs) < 0)
        return -EINVAL;
    return 0;
}

static void socks5c_free(struct connector *cb)
{
    tls_client_ctx_unref(((struct socks5_connector *)cb)->tls);
}

const struct connector_type connector_socks5 = {
    .name = "socks5",
    .size = sizeof(struct socks5_connector),
    .init = socks5c_init,
    .connect = socks5c_connect,
    .free = socks5c_free,
};

const struct connector_type connector_socks = {
    .name = "socks",
    .size = sizeof(struct socks5_connector),
    .init = socks5c_init,
    .connect = socks5c_connect,
    .free = socks5c_free,
};
