/* socks5_bind: the BIND command (0x02) of the socks5 handler, with bind=true (as GOST: always on
 * this host, never through the chain).
 *
 * Listen on the requested address (strict: a port in use is a failure, reply 01), reply with the
 * control connection's local IP (or publicAddr) and the bound port, accept ONE peer within
 * SOCKS5_BIND_ACCEPT_MS, send the second reply with the peer's address, then relay. If the client
 * closes (or sends anything) before a peer arrives, the listener is closed and the session ends.
 */
#include <errno.h>
#include <string.h>

#include "core/fiber.h"
#include "core/log.h"
#include "core/relay.h"
#include "core/sock.h"
#include "handler/socks5_int.h"
#include "service/service.h"

#define SOCKS5_BIND_ACCEPT_MS 120000

struct s5b {
    struct conn *c;
    struct sock_listener ln;
    struct fiber *watcher;
    struct fiber *main;
    bool done;
};

/* Ends the wait for a peer when the client's side becomes readable (EOF, data or error). */
static void s5b_watch(void *arg)
{
    struct s5b *b = arg;
    if (conn_wait_readable(b->c, DEADLINE_NONE) == 0)
        sock_listener_close(&b->ln);
    b->watcher = NULL;
    b->done = true;
    if (b->main)
        fiber_wake(b->main);
}

void socks5_bind_fail(struct socks5_handler *h, struct conn *c, struct session *s, const char *cmd,
                      uint8_t rep, const char *why, int rc)
{
    if (rep) {
        conn_set_deadline(c, deadline_in(h->read_timeout_ms), deadline_in(h->read_timeout_ms));
        socks5_handler_reply(c, rep, NULL);
    }
    LOG(LOG_ERROR, &s->log, "socks5: %s: %s: %s", cmd, why, strerror(rc < 0 ? -rc : rc));
    atomic_fetch_add(&s->svc->total_errs, 1);
    conn_close(c);
    session_log_end(s, 0, 0);
}

int socks5_bind_listen(struct socks5_handler *h, struct conn *c, struct session *s, const char *cmd,
                       const struct socks5_addr *dst, int backlog, struct sock_listener *ln,
                       uint16_t *port)
{
    if (!h->enable_bind) {
        socks5_bind_fail(h, c, s, cmd, SOCKS5_REP_NOT_ALLOWED, "disabled (bind=true enables it)",
                         EPERM);
        return -1;
    }
    struct gaddr ba;
    int rc = socks5_addr_to_gaddr(dst, &ba);
    int fd = -1;
    if (rc == 0)
        rc = sock_listen_tcp(&ba, false, backlog, &fd);
    if (rc == 0)
        rc = sock_listener_open(ln, fd);
    if (rc < 0) {
        socks5_bind_fail(h, c, s, cmd, SOCKS5_REP_FAILURE, "listen", rc);
        return -1;
    }
    struct gaddr la, cl;
    struct socks5_addr bnd;
    if (sock_listener_addr(ln, &la) < 0 || conn_ctl(c, CONN_CTL_LOCAL_ADDR, &cl) < 0 ||
        socks5_addr_from_gaddr(&bnd, &cl) < 0) {
        sock_listener_close(ln);
        socks5_bind_fail(h, c, s, cmd, SOCKS5_REP_FAILURE, "local address", EINVAL);
        return -1;
    }
    bnd.port = addr_port(&la);
    if (h->public_host) {
        char hp[ADDR_STRLEN + 8];
        struct socks5_addr pa;
        if (addr_join(h->public_host, bnd.port, hp, sizeof hp) > 0 &&
            socks5_addr_parse(&pa, hp) == 0)
            bnd = pa;
    }
    conn_set_deadline(c, deadline_in(h->read_timeout_ms), deadline_in(h->read_timeout_ms));
    rc = socks5_handler_reply(c, SOCKS5_REP_SUCCEEDED, &bnd);
    conn_set_deadline(c, DEADLINE_NONE, DEADLINE_NONE);
    if (rc < 0) {
        sock_listener_close(ln);
        socks5_bind_fail(h, c, s, cmd, 0, "reply", rc);
        return -1;
    }
    *port = bnd.port;
    return 0;
}

void socks5_handle_bind(struct socks5_handler *h, struct conn *c, struct session *s,
                        const struct socks5_addr *dst)
{
    struct s5b b = {.c = c};
    uint16_t port;
    if (socks5_bind_listen(h, c, s, "bind", dst, 1, &b.ln, &port) < 0)
        return;
    b.watcher = fiber_spawn(s5b_watch, &b);
    struct conn *peer = NULL;
    int rc = b.watcher ? sock_accept(&b.ln, &peer, deadline_in(SOCKS5_BIND_ACCEPT_MS)) : -ENOMEM;
    sock_listener_close(&b.ln);
    if (b.watcher)
        fiber_cancel(b.watcher);
    b.main = fiber_self();
    while (b.watcher && !b.done)
        if (fiber_park(DEADLINE_NONE) == -ECANCELED)
            fiber_yield();
    if (rc < 0) {
        socks5_bind_fail(h, c, s, "bind", rc == -EBADF ? 0 : SOCKS5_REP_FAILURE, "accept",
                         rc == -EBADF ? ECONNABORTED : rc);
        return;
    }
    struct gaddr pa;
    struct socks5_addr paddr;
    if (conn_ctl(peer, CONN_CTL_REMOTE_ADDR, &pa) < 0 || socks5_addr_from_gaddr(&paddr, &pa) < 0)
        socks5_addr_zero(&paddr);
    conn_set_deadline(c, deadline_in(h->read_timeout_ms), deadline_in(h->read_timeout_ms));
    rc = socks5_handler_reply(c, SOCKS5_REP_SUCCEEDED, &paddr);
    conn_set_deadline(c, DEADLINE_NONE, DEADLINE_NONE);
    if (rc < 0) {
        conn_close(peer);
        socks5_bind_fail(h, c, s, "bind", 0, "second reply", rc);
        return;
    }
    LOG(LOG_DEBUG, &s->log, "socks5: bind: peer %s accepted", paddr.host);
    struct session_tail *tail = session_tail_new(s);
    relay(c, peer, NULL, session_tail_finish, tail);
}
