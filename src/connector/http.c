/* connector http (the default connector): ask an HTTP proxy to open a tunnel with CONNECT
 * (inventory §1.4, §5.4).
 *
 * The request is the one GOST's connector sends (Go's http.Request.Write), byte for byte:
 *   CONNECT host:port HTTP/1.1 / Host / User-Agent: Go-http-client/1.1 / then sorted:
 *   Proxy-Authorization: Basic ... (connector auth), Proxy-Connection: keep-alive, the `header`
 *   metadata entries (a `User-Agent` entry replaces the default one).
 * The response head is read with a deadline (metadata `timeout`, else the route's dial
 * deadline) and a size limit; anything but 200 fails with "<code> <reason>" in fiber_err. Bytes
 * the proxy sent after the head are kept (the returned conn replays them) — GOST drops them.
 * network "udp": the request carries `X-Gost-Protocol: udp` and the returned conn frames each
 * datagram as UDP-TUN addressed to addr (connector/socks5_udptun.h), as GOST's does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/md.h"
#include "connector/socks5_udptun.h"
#include "core/fiber.h"
#include "core/xmalloc.h"
#include "modules/auth.h"
#include "net/bufconn.h"
#include "proto/http1.h"
#include "proto/http1_md.h"
#include "service/component.h"

/* Largest CONNECT response head accepted. */
#define HTTPC_RESP_HEAD_MAX 16384

struct http_connector {
    struct connector base;
    int64_t timeout_ms; /* 0 = the route's deadline */
    struct http1_hdrs hdrs;
    char *auth; /* "Basic ..." or NULL */
};

static int httpc_init(struct connector *cn, struct cfg_errs *errs)
{
    struct http_connector *hc = (struct http_connector *)cn;
    const struct cval *md = cn->cfg ? cn->cfg->metadata : NULL;
    int64_t ns = 0;
    if (md_parse_duration(md, MD_KEYS("timeout"), &ns, errs) == MD_INVALID)
        return -EINVAL;
    hc->timeout_ms = ns > 0 ? ns / 1000000 : 0;
    if (http1_md_headers(md, MD_KEYS("header"), &hc->hdrs, errs) < 0)
        return -EINVAL;
    char user[AUTH_FIELD_MAX + 1], pass[AUTH_FIELD_MAX + 1];
    int rc =
        auth_client_creds(cn->cfg ? cn->cfg->auth : NULL, user, sizeof user, pass, sizeof pass);
    if (rc < 0) {
        cfg_errs_add(errs, cn->cfg->auth->pos, "connector auth: credentials too long");
        return -EINVAL;
    }
    if (rc == 1) {
        char b[2 * (AUTH_FIELD_MAX + 1) * 4 / 3 + 16];
        if (http1_basic_encode(user, pass, b, sizeof b) < 0)
            return -EINVAL;
        hc->auth = xstrdup(b);
    }
    return 0;
}

static void httpc_free(struct connector *cn)
{
    struct http_connector *hc = (struct http_connector *)cn;
    http1_hdrs_free(&hc->hdrs);
    free(hc->auth);
}

/* Exposed for the unit test: build the CONNECT request head into o (udp: the UDP variant). */
void http_connector_request(const struct connector *cn, const char *addr, bool udp,
                            struct http1_out *o);

void http_connector_request(const struct connector *cn, const char *addr, bool udp,
                            struct http1_out *o)
{
    const struct http_connector *hc = (const struct http_connector *)cn;
    struct http1_kv kv[HTTP1_GO_MAX_HEADERS];
    size_t n = 0;
    for (size_t i = 0; i < hc->hdrs.n; i++)
        if (strcmp(hc->hdrs.kv[i].name, "Proxy-Connection") != 0 &&
            (!hc->auth || strcmp(hc->hdrs.kv[i].name, "Proxy-Authorization") != 0) &&
            (!udp || strcmp(hc->hdrs.kv[i].name, "X-Gost-Protocol") != 0))
            kv[n++] = hc->hdrs.kv[i];
    kv[n++] = (struct http1_kv){"Proxy-Connection", "keep-alive"};
    if (hc->auth)
        kv[n++] = (struct http1_kv){"Proxy-Authorization", hc->auth};
    if (udp)
        kv[n++] = (struct http1_kv){"X-Gost-Protocol", "udp"};
    http1_go_request(o, "CONNECT", addr, addr, kv, n);
}

/* Read the response head into buf (NUL-terminated). Length, or < 0. */
static ssize_t httpc_read_head(struct conn *b, char *buf, size_t max)
{
    size_t len = 0;
    for (;;) {
        if (len + 2 > max)
            return -EMSGSIZE;
        ssize_t n = bufconn_read_line(b, buf + len, max - len);
        if (n == 0)
            return -ECONNRESET;
        if (n < 0)
            return n;
        bool empty =
            (n == 1 && buf[len] == '\n') || (n == 2 && buf[len] == '\r' && buf[len + 1] == '\n');
        len += (size_t)n;
        if (empty)
            return (ssize_t)len;
    }
}

static int httpc_connect(struct connector *cn, struct conn *in, const char *network,
                         const char *addr, const struct dial_opts *o, struct conn **out)
{
    *out = NULL;
    bool udp = strncmp(network, "udp", 3) == 0;
    struct socks5_addr ua;
    if ((!udp && strncmp(network, "tcp", 3) != 0) || (udp && socks5_addr_parse(&ua, addr) < 0)) {
        fiber_set_err("http connector: %s %s is not supported", network, addr);
        conn_close(in);
        return -EPROTONOSUPPORT;
    }
    struct http_connector *hc = (struct http_connector *)cn;
    int64_t dl = hc->timeout_ms > 0 ? deadline_in(hc->timeout_ms) : o->deadline;
    char *buf = xmalloc(HTTPC_RESP_HEAD_MAX);
    struct http1_out w;
    http1_out_init(&w, buf, HTTPC_RESP_HEAD_MAX);
    http_connector_request(cn, addr, udp, &w);
    int rc = 0;
    struct conn *b = NULL;
    if (!http1_out_ok(&w)) {
        fiber_set_err("http connector: CONNECT request too large");
        rc = -EMSGSIZE;
        goto fail;
    }
    conn_set_deadline(in, dl, dl);
    ssize_t n = conn_write(in, buf, w.len);
    if (n < 0) {
        rc = (int)n;
        fiber_set_err("http connector: write CONNECT: %s", strerror(-rc));
        goto fail;
    }
    b = bufconn_new(in, 4096);
    in = NULL;
    conn_set_deadline(b, dl, dl);
    n = httpc_read_head(b, buf, HTTPC_RESP_HEAD_MAX);
    if (n < 0) {
        rc = (int)n;
        fiber_set_err("http connector: read response: %s",
                      rc == -EMSGSIZE ? "head too large" : strerror(-rc));
        goto fail;
    }
    struct http1_head *h = xmalloc(sizeof *h);
    rc = http1_parse_response(buf, (size_t)n, h);
    if (rc < 0) {
        free(h);
        fiber_set_err("http connector: malformed response");
        rc = -EPROTO;
        goto fail;
    }
    int status = h->status;
    if (status != 200) {
        fiber_set_err("%d %s", status, h->reason);
        free(h);
        rc = -ECONNREFUSED;
        goto fail;
    }
    free(h);
    free(buf);
    conn_set_deadline(b, DEADLINE_NONE, DEADLINE_NONE);
    conn_sync_deadlines(b);
    *out = bufconn_unwrap(b);
    if (udp)
        *out = udptun_conn_new(*out, &ua);
    return 0;
fail:
    free(buf);
    conn_close(in);
    conn_close(b);
    return rc;
}

const struct connector_type connector_http = {
    .name = "http",
    .size = sizeof(struct http_connector),
    .init = httpc_init,
    .connect = httpc_connect,
    .free = httpc_free,
};
