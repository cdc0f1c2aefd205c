/* udp: UDP sockets as an unconnected pconn (udp_listen) and a message-preserving conn
 * (udp_dial). */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/fiber.h"
#include "core/pconn.h"
#include "core/sock_int.h"
#include "core/xmalloc.h"

struct udp_pconn {
    struct pconn base;
    struct iofd io;
    int family;
};

struct udp_conn {
    struct conn base;
    struct iofd io;
};

/* Map an IPv4 destination to IPv4-mapped IPv6 for an AF_INET6 socket. */
static const struct gaddr *udp_dest(int family, const struct gaddr *to, struct gaddr *tmp)
{
    if (family != AF_INET6 || to->ss.ss_family != AF_INET)
        return to;
    const struct sockaddr_in *in = (const struct sockaddr_in *)&to->ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&tmp->ss;
    memset(tmp, 0, sizeof *tmp);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = in->sin_port;
    in6->sin6_addr.s6_addr[10] = 0xff;
    in6->sin6_addr.s6_addr[11] = 0xff;
    memcpy(&in6->sin6_addr.s6_addr[12], &in->sin_addr, 4);
    tmp->len = sizeof *in6;
    return tmp;
}

/* Block until one datagram is received: its (possibly truncated) length or -errno. */
static ssize_t udp_recv(struct iofd *io, void *buf, size_t n, struct gaddr *from, int64_t deadline)
{
    if (fiber_cancelled())
        return -ECANCELED;
    for (;;) {
        struct gaddr tmp;
        tmp.len = sizeof tmp.ss;
        ssize_t r = recvfrom(io->fd, buf, n, 0, (struct sockaddr *)&tmp.ss, &tmp.len);
        if (r >= 0) {
            if (from)
                *from = tmp;
            return r;
        }
        int e = errno;
        if (e == EINTR)
            continue;
        if (e != EAGAIN)
            return -e;
        iofd_clear(io, IOFD_READ);
        int rc = iofd_wait(io, IOFD_READ, deadline);
        if (rc < 0)
            return rc;
    }
}

static ssize_t udp_send(struct iofd *io, const void *buf, size_t n, const struct gaddr *to,
                        int64_t deadline)
{
    if (fiber_cancelled())
        return -ECANCELED;
    if (n > PCONN_MAX_DGRAM)
        return -EMSGSIZE;
    for (;;) {
        ssize_t r =
            to ? sendto(io->fd, buf, n, MSG_NOSIGNAL, (const struct sockaddr *)&to->ss, to->len)
               : send(io->fd, buf, n, MSG_NOSIGNAL);
        if (r >= 0)
            return (ssize_t)n;
        int e = errno;
        if (e == EINTR)
            continue;
        if (e != EAGAIN)
            return -e;
        iofd_clear(io, IOFD_WRITE);
        int rc = iofd_wait(io, IOFD_WRITE, deadline);
        if (rc < 0)
            return rc;
    }
}

/* ---- pconn ---- */

static ssize_t udp_pconn_recvfrom(struct pconn *pc, void *buf, size_t n, struct gaddr *from)
{
    struct udp_pconn *u = (struct udp_pconn *)pc;
    return udp_recv(&u->io, buf, n, from, pc->rd_deadline);
}

static ssize_t udp_pconn_sendto(struct pconn *pc, const void *buf, size_t n, const struct gaddr *to)
{
    struct udp_pconn *u = (struct udp_pconn *)pc;
    struct gaddr tmp;
    return udp_send(&u->io, buf, n, udp_dest(u->family, to, &tmp), pc->wr_deadline);
}

static void udp_pconn_close(struct pconn *pc)
{
    struct udp_pconn *u = (struct udp_pconn *)pc;
    iofd_close(&u->io);
    free(u);
}

static int udp_pconn_ctl(struct pconn *pc, int op, void *arg)
{
    struct udp_pconn *u = (struct udp_pconn *)pc;
    switch (op) {
    case CONN_CTL_FD:
        *(int *)arg = u->io.fd;
        return 0;
    case CONN_CTL_LOCAL_ADDR:
        return sock_name(u->io.fd, false, arg);
    default:
        return -ENOTSUP;
    }
}

static int udp_pconn_wait_readable(struct pconn *pc, int64_t deadline)
{
    return sock_wait_readable(&((struct udp_pconn *)pc)->io, deadline);
}

static const struct pconn_ops udp_pconn_ops = {
    .name = "udp",
    .recvfrom = udp_pconn_recvfrom,
    .sendto = udp_pconn_sendto,
    .close = udp_pconn_close,
    .ctl = udp_pconn_ctl,
    .wait_readable = udp_pconn_wait_readable,
};

int udp_bind_fd(const struct gaddr *addr, bool reuseport)
{
    int on = 1, off = 0;
    int fd = socket(addr->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&addr->ss;
    if ((reuseport && (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0 ||
                       setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) < 0)) ||
        (addr->ss.ss_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr) &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) < 0) ||
        bind(fd, (const struct sockaddr *)&addr->ss, addr->len) < 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

int udp_pconn_open(int fd, struct pconn **out)
{
    struct gaddr local;
    *out = NULL;
    int rc = sock_name(fd, false, &local);
    if (rc < 0) {
        close(fd);
        fiber_set_err("udp socket: %s", sock_strerror(rc));
        return rc;
    }
    struct udp_pconn *u = xmalloc(sizeof *u);
    pconn_init(&u->base, &udp_pconn_ops, NULL);
    u->family = local.ss.ss_family;
    rc = iofd_open(&u->io, fd);
    if (rc < 0) {
        free(u);
        fiber_set_err("udp socket: %s", sock_strerror(rc));
        return rc;
    }
    *out = &u->base;
    return 0;
}

static int udp_listen_opt(const struct gaddr *addr, bool reuseport, struct pconn **out)
{
    char where[ADDR_STRLEN];
    *out = NULL;
    int rc = udp_bind_fd(addr, reuseport);
    if (rc >= 0)
        rc = udp_pconn_open(rc, out);
    if (rc < 0) {
        addr_format(addr, where, sizeof where);
        fiber_set_err("listen udp %s: %s", where, sock_strerror(rc));
    }
    return rc < 0 ? rc : 0;
}

int udp_listen(const struct gaddr *addr, struct pconn **out)
{
    return udp_listen_opt(addr, false, out);
}

int udp_listen_reuseport(const struct gaddr *addr, struct pconn **out)
{
    return udp_listen_opt(addr, true, out);
}

int udp_pconn_recv_batch(struct pconn *pc, struct mmsghdr *v, unsigned n)
{
    if (pc->ops != &udp_pconn_ops)
        return -ENOTSUP;
    struct iofd *io = &((struct udp_pconn *)pc)->io;
    if (fiber_cancelled())
        return -ECANCELED;
    for (;;) {
        if (iofd_ready(io, IOFD_READ)) {
            int r = recvmmsg(io->fd, v, n, MSG_DONTWAIT, NULL);
            if (r > 0) {
                if ((unsigned)r < n)
                    iofd_clear(io, IOFD_READ); /* drained: the next datagram is a new edge */
                return r;
            }
            int e = r < 0 ? errno : EAGAIN;
            if (e == EINTR)
                continue;
            if (e != EAGAIN)
                return -e;
            iofd_clear(io, IOFD_READ);
        }
        int rc = iofd_wait(io, IOFD_READ, pc->rd_deadline);
        if (rc < 0)
            return rc;
    }
}

/* ---- connected, message-preserving conn ---- */

static ssize_t udp_conn_read(struct conn *c, void *buf, size_t n)
{
    struct udp_conn *u = (struct udp_conn *)c;
    for (;;) {
        ssize_t r = udp_recv(&u->io, buf, n, NULL, c->rd_deadline);
        if (r != 0 || n == 0)
            return r;
        /* an empty datagram would read as EOF: skip it */
    }
}

static ssize_t udp_conn_write(struct conn *c, const void *buf, size_t n)
{
    struct udp_conn *u = (struct udp_conn *)c;
    return udp_send(&u->io, buf, n, NULL, c->wr_deadline);
}

static int udp_conn_shutdown(struct conn *c)
{
    return 0;
}

static void udp_conn_close(struct conn *c)
{
    struct udp_conn *u = (struct udp_conn *)c;
    iofd_close(&u->io);
    free(u);
}

static int udp_conn_ctl(struct conn *c, int op, void *arg)
{
    struct udp_conn *u = (struct udp_conn *)c;
    switch (op) {
    case CONN_CTL_LOCAL_ADDR:
        return sock_name(u->io.fd, false, arg);
    case CONN_CTL_REMOTE_ADDR:
        return sock_name(u->io.fd, true, arg);
    case CONN_CTL_IS_DGRAM:
        return 0;
    default:
        /* CONN_CTL_FD included: a datagram socket is not a byte stream to splice. */
        return -ENOTSUP;
    }
}

static int udp_conn_wait_readable(struct conn *c, int64_t deadline)
{
    return sock_wait_readable(&((struct udp_conn *)c)->io, deadline);
}

static const struct conn_ops udp_conn_ops = {
    .name = "udp",
    .read = udp_conn_read,
    .write = udp_conn_write,
    .shutdown = udp_conn_shutdown,
    .close = udp_conn_close,
    .ctl = udp_conn_ctl,
    .wait_readable = udp_conn_wait_readable,
};

int udp_conn_detach(struct conn *c)
{
    if (!c || c->ops != &udp_conn_ops)
        return -1;
    struct udp_conn *u = (struct udp_conn *)c;
    if (u->io.fd < 0)
        return -1;
    int fd = iofd_release(&u->io);
    free(u);
    return fd;
}

int udp_dial(const struct gaddr *to, struct conn **out)
{
    char target[ADDR_STRLEN];
    int rc;
    *out = NULL;
    int fd = socket(to->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rc = -errno;
        goto fail;
    }
    if (connect(fd, (const struct sockaddr *)&to->ss, to->len) < 0) {
        rc = -errno;
        close(fd);
        goto fail;
    }
    struct udp_conn *u = xmalloc(sizeof *u);
    conn_init(&u->base, &udp_conn_ops, NULL);
    rc = iofd_open(&u->io, fd);
    if (rc < 0) {
        free(u);
        goto fail;
    }
    *out = &u->base;
    return 0;
fail:
    addr_format(to, target, sizeof target);
    fiber_set_err("dial udp %s: %s", target, sock_strerror(rc));
    return rc;
}
