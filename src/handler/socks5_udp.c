/* socks5_udp: the UDP paths of the socks5 handler (see socks5_int.h, docs/socks.md).
 *
 *  - UDP-TUN 0xF3: datagrams travel as UDP-TUN frames on the TCP connection; the server sends
 *    them from one UDP socket (outbound association, dst 0.0.0.0:0, needs udp=true) or from a
 *    socket bound to the requested address (dst with a port, needs bind=true) and frames what
 *    comes back with the sender's address.
 *  - UDP ASSOCIATE 0x03 (needs udp=true): a UDP socket for the client (on the TCP connection's
 *    local IP, port from udp.bindRange if set) and one for the targets; classic RFC 1928
 *    datagrams (FRAG != 0 dropped), only from the client's IP; the association ends when the TCP
 *    connection ends.
 * Without a chain the datagrams leave from one unconnected UDP socket of this host. With a chain
 * (GOST: Router.Dial("udp", "") = one packet conn through the chain), each destination gets its
 * own "udp" route through the chain (route_dial; e.g. UDP-TUN over the next SOCKS5 hop), up to
 * S5U_MAX_PEERS destinations per association (datagrams to further ones are dropped). The
 * bind form of UDP-TUN always binds on this host.
 */
#include <errno.h>
#include <stdio.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "connector/socks5_udptun.h"
#include "chain/chain.h"
#include "core/bufpool.h"
#include "core/fiber.h"
#include "core/log.h"
#include "core/pconn.h"
#include "core/xmalloc.h"
#include "handler/socks5_int.h"
#include "net/udp_target.h"
#include "service/service.h"

#define S5U_MAX_PEERS 256

struct s5u;

/* One destination reached through the chain. */
struct s5u_peer {
    struct s5u *u;
    struct socks5_addr addr;
    char key[ADDR_STRLEN + 260]; /* addr as "host:port" */
    struct conn *c;
    struct fiber *f; /* reader; NULL once it ended */
    bool dead;
};

struct s5u {
    struct socks5_handler *h;
    struct session *s;
    struct pconn *out;       /* to the targets */
    struct pconn *client;    /* UDP ASSOCIATE: the client's socket; NULL for UDP-TUN */
    struct conn *tun;        /* UDP-TUN: framed TCP conn; NULL for UDP ASSOCIATE */
    struct gaddr client_ip;  /* UDP ASSOCIATE: datagrams accepted only from this IP */
    struct gaddr client_udp; /* UDP ASSOCIATE: the client's UDP address once known */
    struct fiber *helper[2];
    int live;                /* helpers and peer readers still running */
    bool via_chain;          /* outbound datagrams go through the handler's chain */
    struct s5u_peer **peers; /* their destinations */
    size_t npeers;
    struct fiber *waiter;
    uint64_t up, down; /* payload bytes client -> targets, targets -> client */
    /* last resolved domain */
    struct udp_target_cache rcache;
};

/* Where a datagram for `a` goes: an IP as is, a domain resolved (one-entry cache). */
static int s5u_target(struct s5u *u, const struct socks5_addr *a, struct gaddr *g)
{
    return udp_target_resolve(&u->rcache, a, g);
}

/* Errors a UDP socket reports for one datagram (ICMP) and then works on. */
static bool s5u_transient(ssize_t err)
{
    return err == -ECONNREFUSED || err == -EHOSTUNREACH || err == -ENETUNREACH ||
           err == -EMSGSIZE || err == -EAGAIN || err == -EINTR;
}

static void s5u_helper_end(struct s5u *u, int i)
{
    u->helper[i] = NULL;
    u->live--;
    if (u->waiter)
        fiber_wake(u->waiter);
}

/* Hand a datagram from `from` to the client. payload has SOCKS5_UDP_HDR_MAX bytes of headroom.
 * 0, or < 0 when the client side is gone. */
static int s5u_deliver(struct s5u *u, uint8_t *payload, size_t n, const struct socks5_addr *from)
{
    if (u->tun)
        return udptun_send(u->tun, payload, n, from) < 0 ? -EPIPE : 0;
    if (!u->client_udp.len)
        return 0;
    struct socks5_udp_hdr h = {.rsv = 0, .frag = 0, .addr = *from};
    uint8_t hdr[SOCKS5_UDP_HDR_MAX];
    ssize_t hl = socks5_udp_hdr_encode(hdr, sizeof hdr, &h);
    if (hl < 0 || (size_t)hl + n > PCONN_MAX_DGRAM)
        return 0;
    memcpy(payload - hl, hdr, (size_t)hl);
    if (pconn_sendto(u->client, payload - hl, (size_t)hl + n, &u->client_udp) == -ECANCELED)
        return -ECANCELED;
    return 0;
}

/* Reader of one chain peer: its datagrams go to the client with the peer's address. */
static void s5u_peer_reader(void *arg)
{
    struct s5u_peer *p = arg;
    struct s5u *u = p->u;
    uint8_t *buf = bufpool_get(SOCKS5_UDP_HDR_MAX + PCONN_MAX_DGRAM);
    uint8_t *payload = buf + SOCKS5_UDP_HDR_MAX;
    for (;;) {
        ssize_t n = conn_read(p->c, payload, PCONN_MAX_DGRAM);
        if (n <= 0)
            break;
        if (s5u_deliver(u, payload, (size_t)n, &p->addr) < 0)
            break;
        u->down += (uint64_t)n;
    }
    bufpool_put(buf, SOCKS5_UDP_HDR_MAX + PCONN_MAX_DGRAM);
    p->f = NULL;
    p->dead = true;
    u->live--;
    if (u->waiter)
        fiber_wake(u->waiter);
}

/* The chain peer for `to` (dialed on first use; re-dialed after its reader ended). */
static struct s5u_peer *s5u_peer_get(struct s5u *u, const struct socks5_addr *to)
{
    char key[sizeof((struct s5u_peer *)0)->key];
    if (socks5_addr_format(to, key, sizeof key) < 0)
        return NULL;
    struct s5u_peer *p = NULL;
    for (size_t i = 0; i < u->npeers; i++)
        if (strcmp(u->peers[i]->key, key) == 0)
            p = u->peers[i];
    if (p && !p->dead)
        return p;
    if (!p) {
        if (u->npeers >= S5U_MAX_PEERS)
            return NULL;
        p = xcalloc(1, sizeof *p);
        p->u = u;
        p->addr = *to;
        snprintf(p->key, sizeof p->key, "%s", key);
        u->peers = xrealloc(u->peers, (u->npeers + 1) * sizeof *u->peers);
        u->peers[u->npeers++] = p;
    }
    conn_close(p->c);
    p->c = NULL;
    fiber_clear_err();
    int rc = route_dial(u->h->base.router, "udp", key, u->s->client_id, &p->c);
    if (rc < 0) {
        LOG(LOG_DEBUG, &u->s->log, "socks5: udp to %s: %s", key,
            fiber_err()[0] ? fiber_err() : strerror(-rc));
        p->dead = true;
        return NULL;
    }
    p->dead = false;
    p->f = fiber_spawn(s5u_peer_reader, p);
    if (!p->f) {
        p->dead = true;
        return NULL;
    }
    u->live++;
    return p;
}

/* Send a datagram from the client to `to`: directly, or through the chain. 0, or -ECANCELED. */
static int s5u_send_out(struct s5u *u, const uint8_t *p, size_t n, const struct socks5_addr *to)
{
    if (u->via_chain) {
        struct s5u_peer *peer = s5u_peer_get(u, to);
        if (!peer)
            return fiber_cancelled() ? -ECANCELED : 0;
        ssize_t w = conn_write(peer->c, p, n);
        if (w == -ECANCELED)
            return -ECANCELED;
        if (w >= 0)
            u->up += n;
        return 0;
    }
    struct gaddr ta;
    if (s5u_target(u, to, &ta) < 0)
        return fiber_cancelled() ? -ECANCELED : 0;
    if (pconn_sendto(u->out, p, n, &ta) == -ECANCELED)
        return -ECANCELED;
    u->up += n;
    return 0;
}

/* targets -> client */
static void s5u_down(void *arg)
{
    struct s5u *u = arg;
    uint8_t *buf = bufpool_get(SOCKS5_UDP_HDR_MAX + PCONN_MAX_DGRAM);
    uint8_t *payload = buf + SOCKS5_UDP_HDR_MAX;
    for (;;) {
        struct gaddr from;
        ssize_t n = pconn_recvfrom(u->out, payload, PCONN_MAX_DGRAM, &from);
        if (n < 0 && !s5u_transient(n))
            break;
        if (n <= 0)
            continue; /* ICMP errors, empty datagrams */
        struct socks5_addr fa;
        if (socks5_addr_from_gaddr(&fa, &from) < 0)
            continue;
        if (s5u_deliver(u, payload, (size_t)n, &fa) < 0)
            break;
        u->down += (uint64_t)n;
    }
    bufpool_put(buf, SOCKS5_UDP_HDR_MAX + PCONN_MAX_DGRAM);
    s5u_helper_end(u, 0);
}

static bool s5u_same_ip(const struct gaddr *a, const struct gaddr *b)
{
    struct socks5_addr x, y;
    if (socks5_addr_from_gaddr(&x, a) < 0 || socks5_addr_from_gaddr(&y, b) < 0)
        return false;
    return x.atyp == y.atyp && memcmp(x.ip, y.ip, x.atyp == SOCKS5_ATYP_IPV4 ? 4 : 16) == 0;
}

/* client -> targets over UDP ASSOCIATE */
static void s5u_up_udp(void *arg)
{
    struct s5u *u = arg;
    uint8_t *buf = bufpool_get(PCONN_MAX_DGRAM);
    for (;;) {
        struct gaddr from;
        ssize_t n = pconn_recvfrom(u->client, buf, PCONN_MAX_DGRAM, &from);
        if (n < 0 && !s5u_transient(n))
            break;
        if (n <= 0 || !s5u_same_ip(&from, &u->client_ip))
            continue;
        struct socks5_udp_hdr h;
        size_t need = 0;
        ssize_t hl = socks5_udp_hdr_decode(buf, (size_t)n, &h, &need);
        if (hl <= 0 || h.frag != 0)
            continue; /* malformed or fragmented: dropped (RFC 1928 §7 allows it) */
        u->client_udp = from;
        if (s5u_send_out(u, buf + hl, (size_t)(n - hl), &h.addr) < 0)
            break;
    }
    bufpool_put(buf, PCONN_MAX_DGRAM);
    s5u_helper_end(u, 1);
}

static void s5u_wait_helpers(struct s5u *u)
{
    for (int i = 0; i < 2; i++)
        if (u->helper[i])
            fiber_cancel(u->helper[i]);
    for (size_t i = 0; i < u->npeers; i++)
        if (u->peers[i]->f)
            fiber_cancel(u->peers[i]->f);
    u->waiter = fiber_self();
    while (u->live > 0)
        if (fiber_park(DEADLINE_NONE) == -ECANCELED)
            fiber_yield();
    u->waiter = NULL;
}

static int s5u_spawn(struct s5u *u, int i, void (*fn)(void *))
{
    u->helper[i] = fiber_spawn(fn, u);
    if (!u->helper[i])
        return -errno;
    u->live++;
    return 0;
}

/* An unconnected UDP socket on host (NULL = [::], falling back to 0.0.0.0), on any port or, with
 * `range` and a configured udp.bindRange, on a free port of that range. */
static int s5u_listen(struct socks5_handler *h, const struct gaddr *host, bool range,
                      struct pconn **out)
{
    struct gaddr a;
    if (host) {
        a = *host;
    } else if (addr_from_numeric("::", 0, &a) < 0) {
        return -EINVAL;
    }
    uint32_t lo = range ? h->bind_min : 0, hi = range ? h->bind_max : 0;
    if (!hi) {
        addr_set_port(&a, 0);
        int rc = udp_listen(&a, out);
        if (rc < 0 && !host && addr_from_numeric("0.0.0.0", 0, &a) == 0)
            rc = udp_listen(&a, out);
        return rc;
    }
    uint32_t span = hi - lo + 1, start = (uint32_t)random() % span;
    int rc = -EADDRINUSE;
    for (uint32_t i = 0; i < span; i++) {
        addr_set_port(&a, (uint16_t)(lo + (start + i) % span));
        rc = udp_listen(&a, out);
        if (rc != -EADDRINUSE)
            break;
    }
    return rc;
}

static void s5u_end(struct s5u *u, struct conn *c)
{
    for (size_t i = 0; i < u->npeers; i++) {
        conn_close(u->peers[i]->c);
        free(u->peers[i]);
    }
    free(u->peers);
    pconn_close(u->out);
    pconn_close(u->client);
    conn_close(c);
    session_log_end(u->s, u->up, u->down);
}

static bool s5u_refuse(struct socks5_handler *h, struct conn *c, struct session *s, bool allowed,
                       const char *what)
{
    if (allowed)
        return false;
    conn_set_deadline(c, deadline_in(h->read_timeout_ms), deadline_in(h->read_timeout_ms));
    socks5_handler_reply(c, SOCKS5_REP_NOT_ALLOWED, NULL);
    LOG(LOG_ERROR, &s->log, "socks5: %s is disabled", what);
    atomic_fetch_add(&s->svc->total_errs, 1);
    conn_close(c);
    session_log_end(s, 0, 0);
    return true;
}

static int s5u_reply_bound(struct socks5_handler *h, struct conn *c, struct pconn *pc, bool public)
{
    struct gaddr la;
    struct socks5_addr bnd;
    if (pconn_ctl(pc, CONN_CTL_LOCAL_ADDR, &la) < 0 || socks5_addr_from_gaddr(&bnd, &la) < 0)
        socks5_addr_zero(&bnd);
    if (public && h->public_host) {
        char hp[ADDR_STRLEN + 8];
        struct socks5_addr pa;
        if (addr_join(h->public_host, bnd.port, hp, sizeof hp) > 0 &&
            socks5_addr_parse(&pa, hp) == 0)
            bnd = pa;
    }
    conn_set_deadline(c, deadline_in(h->read_timeout_ms), deadline_in(h->read_timeout_ms));
    int rc = socks5_handler_reply(c, SOCKS5_REP_SUCCEEDED, &bnd);
    conn_set_deadline(c, DEADLINE_NONE, DEADLINE_NONE);
    return rc;
}

void socks5_handle_udptun(struct socks5_handler *h, struct conn *c, struct session *s,
                          const struct socks5_addr *dst)
{
    bool bind = dst->port != 0;
    if (s5u_refuse(h, c, s, bind ? h->enable_bind : h->enable_udp,
                   bind ? "UDP-TUN bind" : "UDP relay"))
        return;
    struct s5u u = {.h = h, .s = s, .via_chain = !bind && h->base.router->chain};
    int rc;
    if (bind) {
        struct gaddr ba;
        rc = socks5_addr_to_gaddr(dst, &ba);
        if (rc == 0)
            rc = udp_listen(&ba, &u.out);
    } else {
        rc = s5u_listen(h, NULL, false, &u.out);
    }
    if (rc < 0) {
        conn_set_deadline(c, deadline_in(h->read_timeout_ms), deadline_in(h->read_timeout_ms));
        socks5_handler_reply(c, SOCKS5_REP_FAILURE, NULL);
        LOG(LOG_ERROR, &s->log, "socks5: udp-tun: listen: %s", strerror(-rc));
        atomic_fetch_add(&s->svc->total_errs, 1);
        s5u_end(&u, c);
        return;
    }
    if (s5u_reply_bound(h, c, u.out, false) < 0) {
        s5u_end(&u, c);
        return;
    }
    u.tun = udptun_conn_new(c, NULL);
    LOG(LOG_DEBUG, &s->log, "socks5: udp-tun %s", bind ? "bind" : "relay");
    uint8_t *buf = bufpool_get(PCONN_MAX_DGRAM);
    if (s5u_spawn(&u, 0, s5u_down) == 0) {
        for (;;) {
            struct socks5_addr to;
            ssize_t n = udptun_recv(u.tun, buf, PCONN_MAX_DGRAM, &to);
            if (n <= 0)
                break;
            if (s5u_send_out(&u, buf, (size_t)n, &to) < 0)
                break;
        }
    }
    bufpool_put(buf, PCONN_MAX_DGRAM);
    s5u_wait_helpers(&u);
    s5u_end(&u, u.tun);
}

void socks5_handle_udp(struct socks5_handler *h, struct conn *c, struct session *s)
{
    if (s5u_refuse(h, c, s, h->enable_udp, "UDP relay"))
        return;
    struct s5u u = {.h = h, .s = s, .via_chain = h->base.router->chain != NULL};
    struct gaddr local;
    int rc = conn_ctl(c, CONN_CTL_LOCAL_ADDR, &local);
    if (rc == 0)
        rc = conn_ctl(c, CONN_CTL_REMOTE_ADDR, &u.client_ip);
    if (rc == 0)
        rc = s5u_listen(h, &local, true, &u.client);
    if (rc == 0)
        rc = s5u_listen(h, NULL, false, &u.out);
    if (rc < 0) {
        conn_set_deadline(c, deadline_in(h->read_timeout_ms), deadline_in(h->read_timeout_ms));
        socks5_handler_reply(c, SOCKS5_REP_FAILURE, NULL);
        LOG(LOG_ERROR, &s->log, "socks5: udp: listen: %s", strerror(-rc));
        atomic_fetch_add(&s->svc->total_errs, 1);
        s5u_end(&u, c);
        return;
    }
    if (s5u_reply_bound(h, c, u.client, true) < 0) {
        s5u_end(&u, c);
        return;
    }
    if (s5u_spawn(&u, 0, s5u_down) == 0 && s5u_spawn(&u, 1, s5u_up_udp) == 0) {
        /* The association lives as long as the TCP connection (RFC 1928 §6). */
        uint8_t sink[512];
        while (conn_read(c, sink, sizeof sink) > 0)
            ;
    }
    s5u_wait_helpers(&u);
    s5u_end(&u, c);
}
