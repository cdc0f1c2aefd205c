/* conn: the layered stream connection (DESIGN §3).
 *
 * Every stream (TCP, unix, TLS, WebSocket, mux stream, cipher...) is a `struct conn` embedded as
 * the FIRST member of its layer's struct. A layer that wraps another owns it through `inner`.
 * Calls are blocking from the fiber's point of view and must be made in a fiber of the worker
 * that created the base transport (fd-based conns are bound to one worker's epoll).
 *
 *   read:  >= 1 bytes as soon as some are there; 0 = EOF; < 0 = -errno. Honours c->rd_deadline
 *          (-ETIMEDOUT) and cancellation (-ECANCELED).
 *   write: writes all n bytes or returns < 0 (some bytes may have been sent). Honours
 *          c->wr_deadline. Returns n on success.
 *   shutdown: half-close the write side (TCP FIN, TLS close_notify, ...). 0 or -errno.
 *   close: frees this layer and the inner conn it owns (never fails; NULL-safe wrapper).
 *   ctl:   queries/settings (CONN_CTL_*); what a layer does not know it forwards to c->inner
 *          (conn_ctl_default does that); the bottom answers -ENOTSUP.
 *   wait_readable: park until a read would not block (data, EOF or error pending): 0,
 *          -ETIMEDOUT, -ECANCELED. Lets a relay wait without holding a buffer.
 *
 * Deadlines are absolute (clock.h), DEADLINE_NONE by default; conn_set_deadline() sets them on
 * this layer; layers pass their own deadlines down by setting inner's before blocking on it
 * (conn_sync_deadlines helps).
 *
 * Ownership: constructors that wrap a conn CONSUME it (close it on failure).
 */
#ifndef GOST_CORE_CONN_H
#define GOST_CORE_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/clock.h"

struct conn;

struct conn_ops {
    const char *name; /* "tcp", "tls", ... */
    ssize_t (*read)(struct conn *c, void *buf, size_t n);
    ssize_t (*write)(struct conn *c, const void *buf, size_t n);
    int (*shutdown)(struct conn *c);
    void (*close)(struct conn *c);
    int (*ctl)(struct conn *c, int op, void *arg); /* NULL = conn_ctl_default */
    int (*wait_readable)(struct conn *c, int64_t deadline);
};

struct conn {
    const struct conn_ops *ops;
    struct conn *inner; /* owned; NULL for a base transport */
    int64_t rd_deadline, wr_deadline;
};

/* ctl ops. Layers may define their own from CONN_CTL_USER upwards. */
enum {
    CONN_CTL_FD = 1,      /* int *: the raw fd. ONLY a base transport with no transforming layer
                           * above answers: a layer that transforms bytes returns -ENOTSUP
                           * instead of forwarding, so fd != -1 means "raw socket" for the relay */
    CONN_CTL_LOCAL_ADDR,  /* struct gaddr *: local address */
    CONN_CTL_REMOTE_ADDR, /* struct gaddr *: peer address */
    CONN_CTL_NODELAY,     /* int *: 1 = set TCP_NODELAY, 0 = clear it */
    CONN_CTL_IS_DGRAM,    /* NULL: 0 if the conn preserves message boundaries (udp_dial) */
    CONN_CTL_USER = 100,
};

/* Initialise the base struct of a new layer: ops, inner (consumed), deadlines = none. */
static inline void conn_init(struct conn *c, const struct conn_ops *ops, struct conn *inner)
{
    c->ops = ops;
    c->inner = inner;
    c->rd_deadline = DEADLINE_NONE;
    c->wr_deadline = DEADLINE_NONE;
}

static inline ssize_t conn_read(struct conn *c, void *buf, size_t n)
{
    return c->ops->read(c, buf, n);
}

static inline ssize_t conn_write(struct conn *c, const void *buf, size_t n)
{
    return c->ops->write(c, buf, n);
}

static inline int conn_shutdown(struct conn *c)
{
    return c->ops->shutdown(c);
}

/* Free c and everything it owns. NULL-safe. */
static inline void conn_close(struct conn *c)
{
    if (c)
        c->ops->close(c);
}

/* Forward to c->inner, -ENOTSUP at the bottom. The ctl of layers that do not define one. */
int conn_ctl_default(struct conn *c, int op, void *arg);

static inline int conn_ctl(struct conn *c, int op, void *arg)
{
    return c->ops->ctl ? c->ops->ctl(c, op, arg) : conn_ctl_default(c, op, arg);
}

static inline int conn_wait_readable(struct conn *c, int64_t deadline)
{
    return c->ops->wait_readable(c, deadline);
}

/* Set both deadlines of this layer (DEADLINE_NONE to clear). */
static inline void conn_set_deadline(struct conn *c, int64_t rd, int64_t wr)
{
    c->rd_deadline = rd;
    c->wr_deadline = wr;
}

/* Copy c's deadlines to c->inner (if any): call before blocking on the inner conn. */
static inline void conn_sync_deadlines(struct conn *c)
{
    if (c->inner) {
        c->inner->rd_deadline = c->rd_deadline;
        c->inner->wr_deadline = c->wr_deadline;
    }
}

/* Read exactly n bytes: n, or < 0. EOF before n bytes gives -ECONNRESET (n == 0 returns 0). */
ssize_t conn_read_full(struct conn *c, void *buf, size_t n);

/* Raw fd of c if c is a plain socket with no transforming layer, else -1. */
int conn_fd(struct conn *c);

/* Format c's peer / local address into buf (ADDR_STRLEN), "" if unknown. Returns buf. */
const char *conn_remote_str(struct conn *c, char *buf, size_t buflen);
const char *conn_local_str(struct conn *c, char *buf, size_t buflen);

#endif
