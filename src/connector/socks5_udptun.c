/* socks5_udptun: UDP-TUN frames over a stream conn (see socks5_udptun.h). */
#include "connector/socks5_udptun.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/bufpool.h"
#include "core/pconn.h"
#include "core/xmalloc.h"

#define UDPTUN_BUF (SOCKS5_UDP_HDR_MAX + PCONN_MAX_DGRAM)

struct udptun_conn {
    struct conn base;
    struct socks5_addr target;
    struct socks5_tun_dec dec;
    uint8_t *buf; /* UDPTUN_BUF bytes, allocated on the first read */
    size_t off, len;
};

static const struct conn_ops udptun_ops;

struct conn *udptun_conn_new(struct conn *inner, const struct socks5_addr *target)
{
    struct udptun_conn *u = xcalloc(1, sizeof *u);
    conn_init(&u->base, &udptun_ops, inner);
    if (target)
        u->target = *target;
    else
        socks5_addr_zero(&u->target);
    socks5_tun_dec_init(&u->dec);
    return &u->base;
}

/* Read more stream bytes into the buffer (compacting first). >0, 0 = EOF, <0 error. */
static ssize_t udptun_fill(struct udptun_conn *u)
{
    if (u->off > 0) {
        memmove(u->buf, u->buf + u->off, u->len - u->off);
        u->len -= u->off;
        u->off = 0;
    }
    conn_sync_deadlines(&u->base);
    return conn_read(u->base.inner, u->buf + u->len, UDPTUN_BUF - u->len);
}

/* Advance the header decoder over buffered bytes: 1 = a whole frame is buffered, 0 = not yet,
 * -EPROTO = malformed header. */
static int udptun_ready(struct udptun_conn *u)
{
    if (!u->dec.in_payload && u->off < u->len) {
        ssize_t k = socks5_tun_dec_header(&u->dec, u->buf + u->off, u->len - u->off);
        if (k < 0)
            return -EPROTO;
        u->off += (size_t)k;
    }
    return u->dec.in_payload && u->len - u->off >= u->dec.remaining;
}

ssize_t udptun_recv(struct conn *c, void *out, size_t n, struct socks5_addr *from)
{
    struct udptun_conn *u = (struct udptun_conn *)c;
    if (!u->buf)
        u->buf = xmalloc(UDPTUN_BUF);
    for (;;) {
        int rd = udptun_ready(u);
        if (rd < 0)
            return rd;
        if (rd) {
            size_t plen = u->dec.remaining;
            const uint8_t *p = u->buf + u->off;
            u->off += plen;
            socks5_tun_dec_payload(&u->dec, plen);
            if (plen == 0)
                continue;
            if (from)
                *from = u->dec.h.addr;
            size_t m = plen < n ? plen : n;
            memcpy(out, p, m);
            return (ssize_t)m;
        }
        ssize_t r = udptun_fill(u);
        if (r < 0)
            return r;
        if (r == 0)
            return u->dec.in_payload || u->dec.hlen || u->off < u->len ? -ECONNRESET : 0;
        u->len += (size_t)r;
    }
}

ssize_t udptun_send(struct conn *c, const void *p, size_t n, const struct socks5_addr *to)
{
    if (n == 0)
        return 0;
    if (n > PCONN_MAX_DGRAM)
        return -EMSGSIZE;
    size_t cap = SOCKS5_UDP_HDR_MAX + n;
    uint8_t *b = bufpool_get(cap);
    ssize_t h = socks5_udptun_hdr_encode(b, cap, to, n);
    ssize_t r = h;
    if (h > 0) {
        memcpy(b + h, p, n);
        conn_sync_deadlines(c);
        r = conn_write(c->inner, b, (size_t)h + n);
        if (r >= 0)
            r = (ssize_t)n;
    }
    bufpool_put(b, cap);
    return r;
}

static ssize_t udptun_read(struct conn *c, void *buf, size_t n)
{
    return udptun_recv(c, buf, n, NULL);
}

static ssize_t udptun_write(struct conn *c, const void *buf, size_t n)
{
    return udptun_send(c, buf, n, &((struct udptun_conn *)c)->target);
}

static int udptun_shutdown(struct conn *c)
{
    return conn_shutdown(c->inner);
}

static void udptun_close(struct conn *c)
{
    struct udptun_conn *u = (struct udptun_conn *)c;
    conn_close(c->inner);
    free(u->buf);
    free(u);
}

static int udptun_ctl(struct conn *c, int op, void *arg)
{
    if (op == CONN_CTL_IS_DGRAM)
        return 0;
    if (op == CONN_CTL_FD)
        return -ENOTSUP;
    return conn_ctl(c->inner, op, arg);
}

static int udptun_wait_readable(struct conn *c, int64_t deadline)
{
    struct udptun_conn *u = (struct udptun_conn *)c;
    if (u->buf && udptun_ready(u) != 0)
        return 0; /* a whole frame, or an error for read to report */
    return conn_wait_readable(c->inner, deadline);
}

static const struct conn_ops udptun_ops = {
    .name = "udptun",
    .read = udptun_read,
    .write = udptun_write,
    .shutdown = udptun_shutdown,
    .close = udptun_close,
    .ctl = udptun_ctl,
    .wait_readable = udptun_wait_readable,
};
