/* handler http, UDP over HTTP (inventory §5.3, §5.4): after `CONNECT host:port` with
 * `X-Gost-Protocol: udp` has been answered 200, the tunnel carries UDP-TUN frames (SOCKS5 UDP
 * header with RSV = payload length, FRAG = 0xFF; connector/socks5_udptun.h). Each frame is sent
 * from one unconnected UDP socket of this host to the frame's address (domains resolved, one
 * entry cached); every datagram that comes back is framed with its source address. Direct
 * only (no chain), like the socks5 handler's UDP-TUN. The relay ends when the client closes the
 * tunnel, on a malformed frame, or after `idle_ms` without a datagram either way (0 = never).
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>

#include "connector/socks5_udptun.h"
#include "core/addr.h"
#include "core/bufpool.h"
#include "core/clock.h"
#include "core/fiber.h"
#include "core/log.h"
#include "core/pconn.h"
#include "net/udp_target.h"
#include "proto/socks5.h"
#include "service/service.h"

struct hu {
    struct session *s;
    struct conn *tun;
    struct pconn *out;
    struct fiber *down, *waiter;
    bool down_live;
    int64_t last_ms; /* last datagram either way */
    uint64_t up, dn;
    struct udp_target_cache rcache;
};

/* Targets -> client. */
static void hu_down_fiber(void *arg)
{
    struct hu *u = arg;
    uint8_t *buf = bufpool_get(PCONN_MAX_DGRAM);
    for (;;) {
        struct gaddr from;
        ssize_t n = pconn_recvfrom(u->out, buf, PCONN_MAX_DGRAM, &from);
        if (n == -ECANCELED)
            break;
        if (n <= 0)
            continue; /* ICMP errors, empty datagrams */
        struct socks5_addr fa;
        if (socks5_addr_from_gaddr(&fa, &from) < 0)
            continue;
        if (udptun_send(u->tun, buf, (size_t)n, &fa) < 0)
            break;
        u->dn += (uint64_t)n;
        u->last_ms = clock_now_ms();
    }
    bufpool_put(buf, PCONN_MAX_DGRAM);
    u->down_live = false;
    u->down = NULL;
    if (u->waiter)
        fiber_wake(u->waiter);
}

static int hu_target(struct hu *u, const struct socks5_addr *a, struct gaddr *g)
{
    return udp_target_resolve(&u->rcache, a, g);
}

/* Called by handler/http.c once the 200 is written. Consumes c; logs the end of the session. */
void http_udp_relay(struct conn *c, struct session *s, int64_t idle_ms);

void http_udp_relay(struct conn *c, struct session *s, int64_t idle_ms)
{
    struct hu u = {.s = s, .last_ms = clock_now_ms()};
    struct gaddr any;
    addr_from_numeric("", 0, &any);
    int rc = udp_listen(&any, &u.out);
    if (rc < 0) {
        LOG(LOG_ERROR, &s->log, "http: udp: listen: %s", strerror(-rc));
        atomic_fetch_add(&s->svc->total_errs, 1);
        conn_close(c);
        session_log_end(s, 0, 0);
        return;
    }
    u.tun = udptun_conn_new(c, NULL);
    u.down = fiber_spawn(hu_down_fiber, &u);
    u.down_live = u.down != NULL;
    if (u.down_live) {
        char la[ADDR_STRLEN];
        struct gaddr l;
        if (pconn_ctl(u.out, CONN_CTL_LOCAL_ADDR, &l) < 0 || addr_format(&l, la, sizeof la) < 0)
            la[0] = '\0';
        LOG(LOG_INFO, &s->log, "%s <-> %s", s->remote, la);
        uint8_t *buf = bufpool_get(PCONN_MAX_DGRAM);
        for (;;) {
            u.tun->rd_deadline = idle_ms > 0 ? u.last_ms + idle_ms : DEADLINE_NONE;
            struct socks5_addr to;
            ssize_t n = udptun_recv(u.tun, buf, PCONN_MAX_DGRAM, &to);
            if (n == -ETIMEDOUT && clock_now_ms() < u.last_ms + idle_ms)
                continue; /* the other direction was active meanwhile */
            if (n <= 0)
                break;
            u.last_ms = clock_now_ms();
            struct gaddr ta;
            if (hu_target(&u, &to, &ta) < 0)
                continue;
            if (pconn_sendto(u.out, buf, (size_t)n, &ta) == -ECANCELED)
                break;
            u.up += (uint64_t)n;
        }
        bufpool_put(buf, PCONN_MAX_DGRAM);
        if (u.down)
            fiber_cancel(u.down);
        u.waiter = fiber_self();
        while (u.down_live)
            if (fiber_park(DEADLINE_NONE) == -ECANCELED)
                fiber_yield();
        u.waiter = NULL;
    }
    pconn_close(u.out);
    conn_close(u.tun);
    session_log_end(s, u.up, u.dn);
}
