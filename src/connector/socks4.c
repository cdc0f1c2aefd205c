/* connector socks4 / socks4a: SOCKS4(a) CONNECT client (GOST's gosocks4 behaviour).
 *
 * By default the destination is sent in the 4a form (DSTIP 0.0.0.1 + host name, IP literals
 * included, as GOST); disable4a=true sends an IPv4 address instead (names resolved here, IPv4
 * only). The user id is the connector's auth user name. Only "tcp" is supported.
 * Metadata: timeout (handshake bound), disable4a.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "config/md.h"
#include "config/schema.h"
#include "core/addr.h"
#include "core/fiber.h"
#include "modules/auth.h"
#include "proto/socks4.h"
#include "service/component.h"

struct socks4_connector {
    struct connector base;
    char user[256];
    bool disable4a;
    int64_t timeout_ms;
};

static int socks4c_connect(struct connector *cb, struct conn *in, const char *network,
                           const char *addr, const struct dial_opts *o, struct conn **out)
{
    struct socks4_connector *k = (struct socks4_connector *)cb;
    *out = NULL;
    if (strncmp(network, "tcp", 3) != 0) {
        fiber_set_err("socks4: network %s is not supported", network);
        conn_close(in);
        return -EPROTONOSUPPORT;
    }
    int64_t dl = o ? o->deadline : DEADLINE_NONE;
    if (k->timeout_ms > 0)
        dl = deadline_min(dl, deadline_in(k->timeout_ms));
    struct socks4_request req;
    memset(&req, 0, sizeof req);
    req.cmd = SOCKS4_CMD_CONNECT;
    snprintf(req.userid, sizeof req.userid, "%s", k->user);
    char host[256];
    if (addr_split(addr, host, sizeof host, &req.port) < 0 || (!k->disable4a && !host[0])) {
        fiber_set_err("socks4: invalid address %s", addr);
        conn_close(in);
        return -EINVAL;
    }
    if (k->disable4a) {
        struct gaddr g;
        int rc = addr_resolve(host, req.port, SOCK_STREAM, &g, dl);
        if (rc == 0 && g.ss.ss_family != AF_INET)
            rc = -EAFNOSUPPORT;
        if (rc < 0) {
            fiber_set_err("socks4: resolve %s: no IPv4 address", host);
            conn_close(in);
            return rc;
        }
        memcpy(req.ip, &((struct sockaddr_in *)&g.ss)->sin_addr, 4);
    } else {
        req.is_4a = true;
        snprintf(req.host, sizeof req.host, "%s", host);
    }
    uint8_t b[SOCKS4_REQUEST_MAX];
    ssize_t n = socks4_request_encode(b, sizeof b, &req);
    conn_set_deadline(in, dl, dl);
    uint8_t code = 0;
    if (n < 0 || conn_write(in, b, (size_t)n) < 0 || conn_read_full(in, b, SOCKS4_REPLY_LEN) < 0 ||
        socks4_reply_decode(b, &code) < 0) {
        fiber_set_err("socks4: connect %s: handshake failed", addr);
        conn_close(in);
        return -ECONNRESET;
    }
    if (code != SOCKS4_GRANTED) {
        fiber_set_err("socks4: connect %s: rejected (%u)", addr, code);
        conn_close(in);
        return -EHOSTUNREACH;
    }
    conn_set_deadline(in, DEADLINE_NONE, DEADLINE_NONE);
    *out = in;
    return 0;
}

static int socks4c_init(struct connector *cb, struct cfg_errs *errs)
{
    struct socks4_connector *k = (struct socks4_connector *)cb;
    const struct cval *md = cb->cfg ? cb->cfg->metadata : NULL;
    int64_t t = 0;
    if (md_parse_duration(md, MD_KEYS("timeout"), &t, errs) == MD_INVALID ||
        md_parse_bool(md, MD_KEYS("disable4a"), &k->disable4a, errs) == MD_INVALID)
        return -EINVAL;
    k->timeout_ms = t > 0 ? t / 1000000 : 0;
    char pass[256];
    if (auth_client_creds(cb->cfg ? cb->cfg->auth : NULL, k->user, sizeof k->user, pass,
                          sizeof pass) < 0) {
        cfg_errs_add(errs, cfg_pos_of(cb->cfg ? cb->cfg->node : NULL, "auth"),
                     "connector auth: user name too long");
        return -EINVAL;
    }
    return 0;
}

const struct connector_type connector_socks4 = {
    .name = "socks4",
    .size = sizeof(struct socks4_connector),
    .init = socks4c_init,
    .connect = socks4c_connect,
};

const struct connector_type connector_socks4a = {
    .name = "socks4a",
    .size = sizeof(struct socks4_connector),
    .init = socks4c_init,
    .connect = socks4c_connect,
};
