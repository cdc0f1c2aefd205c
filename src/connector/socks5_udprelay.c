/* socks5_udprelay: RFC 1928 UDP datagrams through a SOCKS5 relay port (see socks5_udprelay.h). */
#include "connector/socks5_udprelay.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/bufpool.h"
#include "core/fiber.h"
#include "core/pconn.h"
#include "core/xmalloc.h"

struct udprelay_conn {
    struct conn base; /* inner = the connected UDP conn */
    struct conn *tcp;
    struct socks5_addr target;
};

static const struct conn_ops udprelay_ops;

static ssize_t udprelay_read(struct conn *c, void *buf, size_t n)
{
    for (;;) {
        conn_sync_deadlines(c);
        ssize_t r = conn_read(c->inner, buf, n);
        if (r <= 0)
            return r;
        struct socks5_udp_hdr h;
        size_t need = 0;
        ssize_t hl = socks5_udp_hdr_decode(buf, (size_t)r, &h, &need);
        if (hl <= 0 || h.frag != 0 || hl == r)
            continue;
        memmove(buf, (uint8_t *)buf + hl, (size_t)(r - hl));
        return r - hl;
    }
}

static ssize_t udprelay_write(struct conn *c, const void *p, size_t n)
{
    struct udprelay_conn *u = (struct udprelay_conn *)c;
    size_t cap = SOCKS5_UDP_HDR_MAX + n;
    uint8_t *b = bufpool_get(cap);
    struct socks5_udp_hdr h = {.rsv = 0, .frag = 0, .addr = u->target};
    ssize_t hl = socks5_udp_hdr_encode(b, cap, &h);
    ssize_t r = hl;
    if (hl > 0) {
        if ((size_t)hl + n > PCONN_MAX_DGRAM) {
            r = -EMSGSIZE;
        } else {
            memcpy(b + hl, p, n);
            conn_sync_deadlines(c);
            r = conn_write(c->inner, b, (size_t)hl + n);
            if (r >= 0)
                r = (ssize_t)n;
        }
    }
    bufpool_put(b, cap);
    return r;
}

static int udprelay_shutdown(struct conn *c)
{
    (void)c;
    return 0;
}

static void udprelay_close(struct conn *c)
{
    struct udprelay_conn *u = (struct udprelay_conn *)c;
    conn_close(c->inner);
    conn_close(u->tcp);
    free(u);
}

static int udprelay_ctl(struct conn *c, int op, void *arg)
{
    if (op == CONN_CTL_IS_DGRAM)
        return 0;
    if (op == CONN_CTL_FD)
        return -ENOTSUP;
    return conn_ctl(c->inner, op, arg);
}

static int udprelay_wait_readable(struct conn *c, int64_t deadline)
{
    return conn_wait_readable(c->inner, deadline);
}

static const struct conn_ops udprelay_ops = {
    .name = "socks5-udp",
    .read = udprelay_read,
    .write = udprelay_write,
    .shutdown = udprelay_shutdown,
    .close = udprelay_close,
    .ctl = udprelay_ctl,
    .wait_readable = udprelay_wait_readable,
};

int udprelay_conn_new(struct conn *tcp, const struct socks5_addr *relay,
                      const struct socks5_addr *target, struct conn **out)
{
    *out = NULL;
    struct gaddr ra;
    if (socks5_addr_to_gaddr(relay, &ra) < 0) {
        fiber_set_err("socks5: UDP relay address %s is not an IP", relay->host);
        conn_close(tcp);
        return -EINVAL;
    }
    static const uint8_t zero[16];
    if (memcmp(relay->ip, zero, relay->atyp == SOCKS5_ATYP_IPV4 ? 4 : 16) == 0) {
        struct gaddr peer;
        if (conn_ctl(tcp, CONN_CTL_REMOTE_ADDR, &peer) == 0) {
            addr_set_port(&peer, relay->port);
            ra = peer;
        }
    }
    struct conn *uc = NULL;
    int rc = udp_dial(&ra, &uc);
    if (rc < 0) {
        conn_close(tcp);
        return rc;
    }
    struct udprelay_conn *u = xcalloc(1, sizeof *u);
    conn_init(&u->base, &udprelay_ops, uc);
    u->tcp = tcp;
    u->target = *target;
    *out = &u->base;
    return 0;
}
