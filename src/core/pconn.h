/* pconn: unconnected packet (datagram) connections, and UDP transports (DESIGN §3).
 *
 * `struct pconn` is embedded first in each packet layer, like `struct conn`. Calls block from the
 * fiber's point of view and honour rd_deadline/wr_deadline and cancellation.
 *   recvfrom: one datagram into buf: its length (>= 0; truncated to n if longer), from = sender
 *             (may be NULL); < 0 = -errno.
 *   sendto:   one datagram of n bytes to `to`: n or -errno (-EMSGSIZE if too big).
 *   close:    frees the layer and what it owns.
 *   ctl:      CONN_CTL_* ops (conn.h) where they make sense (FD, LOCAL_ADDR); unknown ops go to
 *             inner (pconn_ctl_default), -ENOTSUP at the bottom.
 *   wait_readable: park until a datagram (or error) is pending.
 * Datagrams are up to 65535 bytes.
 */
#ifndef GOST_CORE_PCONN_H
#define GOST_CORE_PCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "core/addr.h"
#include "core/clock.h"
#include "core/conn.h"

#define PCONN_MAX_DGRAM 65535

struct pconn;

struct pconn_ops {
    const char *name;
    ssize_t (*recvfrom)(struct pconn *pc, void *buf, size_t n, struct gaddr *from);
    ssize_t (*sendto)(struct pconn *pc, const void *buf, size_t n, const struct gaddr *to);
    void (*close)(struct pconn *pc);
    int (*ctl)(struct pconn *pc, int op, void *arg); /* NULL = pconn_ctl_default */
    int (*wait_readable)(struct pconn *pc, int64_t deadline);
};

struct pconn {
    const struct pconn_ops *ops;
    struct pconn *inner; /* owned; NULL at the bottom */
    int64_t rd_deadline, wr_deadline;
};

static inline void pconn_init(struct pconn *pc, const struct pconn_ops *ops, struct pconn *inner)
{
    pc->ops = ops;
    pc->inner = inner;
    pc->rd_deadline = DEADLINE_NONE;
    pc->wr_deadline = DEADLINE_NONE;
}

static inline ssize_t pconn_recvfrom(struct pconn *pc, void *buf, size_t n, struct gaddr *from)
{
    return pc->ops->recvfrom(pc, buf, n, from);
}

static inline ssize_t pconn_sendto(struct pconn *pc, const void *buf, size_t n,
                                   const struct gaddr *to)
{
    return pc->ops->sendto(pc, buf, n, to);
}

/* NULL-safe. */
static inline void pconn_close(struct pconn *pc)
{
    if (pc)
        pc->ops->close(pc);
}

int pconn_ctl_default(struct pconn *pc, int op, void *arg);

static inline int pconn_ctl(struct pconn *pc, int op, void *arg)
{
    return pc->ops->ctl ? pc->ops->ctl(pc, op, arg) : pconn_ctl_default(pc, op, arg);
}

static inline int pconn_wait_readable(struct pconn *pc, int64_t deadline)
{
    return pc->ops->wait_readable(pc, deadline);
}

static inline void pconn_set_deadline(struct pconn *pc, int64_t rd, int64_t wr)
{
    pc->rd_deadline = rd;
    pc->wr_deadline = wr;
}

/* Bind an unconnected UDP socket to addr (port 0 = ephemeral; host 0.0.0.0 / [::] = any) and
 * register it on this worker. *out is owned by the caller. 0 or -errno (fiber_err set). Must run
 * on a worker thread. */
int udp_listen(const struct gaddr *addr, struct pconn **out);

/* Same, with SO_REUSEADDR+SO_REUSEPORT so that one socket per worker can share the port. */
int udp_listen_reuseport(const struct gaddr *addr, struct pconn **out);

/* The two halves of udp_listen*, for listeners that bind at start-up (main thread, so that an
 * address in use is a start-up error) and register on a worker later:
 *   udp_bind_fd:     a bound, non-blocking, close-on-exec UDP socket (SO_REUSEADDR+SO_REUSEPORT
 *                    if reuseport; dual-stack for [::]). Any thread. fd or -errno.
 *   udp_pconn_open:  take that fd (closed on failure) and register it on this worker as a udp
 *                    pconn. 0 or -errno (fiber_err set). */
int udp_bind_fd(const struct gaddr *addr, bool reuseport);
int udp_pconn_open(int fd, struct pconn **out);

/* Batch receive on a udp pconn (udp_listen*, udp_pconn_open): block (rd_deadline, cancellation)
 * until at least one datagram is there, then take up to n at once with recvmmsg(2). The caller
 * fills v[i].msg_hdr (iov, name/namelen reset before each call); on return v[i].msg_len is each
 * datagram's length. When fewer than n came back the socket is drained, so its readiness is
 * forgotten (no extra EAGAIN round trip). Count (>= 1) or -errno; -ENOTSUP on another pconn. */
int udp_pconn_recv_batch(struct pconn *pc, struct mmsghdr *v, unsigned n);

/* The fd of a udp_dial conn, taken out of it: the conn is freed and the fd deregistered from the
 * worker (still non-blocking, connected; the caller owns it). -1 if c is not a bare udp_dial
 * conn (a layered or chained conn): c is then untouched. */
int udp_conn_detach(struct conn *c);

/* A connected UDP socket as a message-preserving `struct conn` named "udp": each conn_write sends
 * one datagram (n <= 65535, else -EMSGSIZE), each conn_read returns one datagram (truncated to
 * the buffer; use a 65535-byte buffer). Empty datagrams are skipped by read (0 means EOF for a
 * conn, which UDP never reports). Errors from ICMP (e.g. -ECONNREFUSED) surface on read/write.
 * shutdown is a no-op. Answers CONN_CTL_LOCAL_ADDR, _REMOTE_ADDR and CONN_CTL_IS_DGRAM; NOT
 * CONN_CTL_FD (-ENOTSUP), so a stream relay never mistakes it for a raw stream socket.
 * 0 or -errno (fiber_err set). */
int udp_dial(const struct gaddr *to, struct conn **out);

#endif
