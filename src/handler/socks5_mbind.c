/* socks5_mbind: GOST's multiplexed BIND (0xF2) of the socks5 handler, with bind=true (inventory
 * §5.2; docs/smux.md).
 *
 * Listen on the requested address (strict: in use = failure reply 01), reply Succeeded with the
 * control connection's local IP (or publicAddr) and the bound port, then run smux on the control
 * connection with THIS END AS THE SMUX CLIENT. Every accepted peer gets a new stream that starts
 * with a SOCKS5 reply carrying the peer's address (none with comp=true), then peer <-> stream are
 * relayed. Streams the client opens are closed at once (as GOST). The session ends when the smux
 * session dies (client gone, keepalive timeout, bad frame) or the service stops; the listener is
 * closed then, the open streams fail and the peers are closed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/fiber.h"
#include "core/log.h"
#include "core/relay.h"
#include "core/sock.h"
#include "core/xmalloc.h"
#include "handler/socks5_int.h"
#include "net/smux.h"
#include "service/service.h"

#define SOCKS5_MBIND_BACKLOG 128

struct s5m {
    struct socks5_handler *h;
    struct session *s;
    struct smux_session *mux;
    struct sock_listener ln;
    struct fiber *main;
    bool watcher_done;
    unsigned npeers;              /* peer fibers still running */
    uint64_t in_bytes, out_bytes; /* stream -> peer, peer -> stream */
};

struct s5m_peer {
    struct s5m *m;
    struct conn *peer;
};

/* Closes the streams the client opens; when the session dies, closes the listener. */
static void s5m_watch(void *arg)
{
    struct s5m *m = arg;
    struct conn *st;
    while (smux_accept(m->mux, &st, DEADLINE_NONE) == 0)
        conn_close(st);
    sock_listener_close(&m->ln);
    m->watcher_done = true;
    if (m->main)
        fiber_wake(m->main);
}

static void s5m_peer_done(void *arg, const struct relay_stats *st)
{
    struct s5m *m = arg;
    m->in_bytes += st->a_to_b;
    m->out_bytes += st->b_to_a;
}

static void s5m_peer(void *arg)
{
    struct s5m_peer *p = arg;
    struct s5m *m = p->m;
    struct conn *peer = p->peer;
    free(p);
    struct gaddr pa;
    struct socks5_addr paddr;
    if (conn_ctl(peer, CONN_CTL_REMOTE_ADDR, &pa) < 0 || socks5_addr_from_gaddr(&paddr, &pa) < 0)
        socks5_addr_zero(&paddr);
    struct conn *st = NULL;
    int rc = smux_open(m->mux, &st);
    if (rc == 0 && !m->h->compat) {
        st->wr_deadline = deadline_in(m->h->read_timeout_ms);
        rc = socks5_handler_reply(st, SOCKS5_REP_SUCCEEDED, &paddr);
        st->wr_deadline = DEADLINE_NONE;
    }
    if (rc < 0) {
        LOG(LOG_ERROR, &m->s->log, "socks5: mbind: stream for peer %s: %s", paddr.host,
            strerror(-rc));
        conn_close(st);
        conn_close(peer);
    } else {
        LOG(LOG_DEBUG, &m->s->log, "socks5: mbind: peer %s <-> stream", paddr.host);
        relay(st, peer, NULL, s5m_peer_done, m);
    }
    if (--m->npeers == 0 && m->main)
        fiber_wake(m->main);
}

/* Park until cond holds; keeps waiting (yielding) when the fiber is cancelled, for fibers that
 * borrow state on this stack. */
#define S5M_WAIT(cond)                                                                             \
    while (!(cond))                                                                                \
        if (fiber_park(DEADLINE_NONE) == -ECANCELED)                                               \
            fiber_yield();

void socks5_handle_mbind(struct socks5_handler *h, struct conn *c, struct session *s,
                         const struct socks5_addr *dst)
{
    struct s5m m = {.h = h, .s = s};
    uint16_t port;
    if (socks5_bind_listen(h, c, s, "mbind", dst, SOCKS5_MBIND_BACKLOG, &m.ln, &port) < 0)
        return;
    LOG(LOG_DEBUG, &s->log, "socks5: mbind: bound on port %u", port);
    m.mux = smux_session_new(c, true, &h->mux);
    struct fiber *w = fiber_spawn(s5m_watch, &m);
    if (!w) {
        sock_listener_close(&m.ln);
        m.watcher_done = true;
    }
    int rc;
    for (;;) {
        struct conn *peer = NULL;
        rc = sock_accept(&m.ln, &peer, DEADLINE_NONE);
        if (rc < 0)
            break;
        struct s5m_peer *p = xmalloc(sizeof *p);
        p->m = &m;
        p->peer = peer;
        m.npeers++;
        if (!fiber_spawn(s5m_peer, p)) {
            m.npeers--;
            conn_close(peer);
            free(p);
        }
    }
    sock_listener_close(&m.ln);
    smux_session_abort(m.mux);
    m.main = fiber_self();
    S5M_WAIT(m.watcher_done && m.npeers == 0);
    smux_session_close(m.mux);
    LOG(LOG_DEBUG, &s->log, "socks5: mbind: session over (%s)",
        rc == -EBADF ? "smux session closed" : strerror(-rc));
    session_log_end(s, m.in_bytes, m.out_bytes);
}
