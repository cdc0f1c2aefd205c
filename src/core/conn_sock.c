/* conn_sock: TCP and unix stream sockets as the base `struct conn`. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/fiber.h"
#include "core/sock.h"
#include "core/sock_int.h"
#include "core/xmalloc.h"

static ssize_t conn_sock_read(struct conn *c, void *buf, size_t n)
{
    struct conn_sock *s = (struct conn_sock *)c;
    if (fiber_cancelled())
        return -ECANCELED;
    for (;;) {
        ssize_t r = read(s->io.fd, buf, n);
        if (r >= 0)
            return r;
        int e = errno;
        if (e == EINTR)
            continue;
        if (e != EAGAIN)
            return -e;
        iofd_clear(&s->io, IOFD_READ);
        int rc = iofd_wait(&s->io, IOFD_READ, c->rd_deadline);
        if (rc < 0)
            return rc;
    }
}

static ssize_t conn_sock_write(struct conn *c, const void *buf, size_t n)
{
    struct conn_sock *s = (struct conn_sock *)c;
    if (fiber_cancelled())
        return -ECANCELED;
    size_t off = 0;
    while (off < n) {
        ssize_t r = send(s->io.fd, (const char *)buf + off, n - off, MSG_NOSIGNAL);
        if (r >= 0) {
            off += (size_t)r;
            continue;
        }
        int e = errno;
        if (e == EINTR)
            continue;
        if (e != EAGAIN)
            return -e;
        iofd_clear(&s->io, IOFD_WRITE);
        int rc = iofd_wait(&s->io, IOFD_WRITE, c->wr_deadline);
        if (rc < 0)
            return rc;
    }
    return (ssize_t)n;
}

static int conn_sock_shutdown(struct conn *c)
{
    struct conn_sock *s = (struct conn_sock *)c;
    return shutdown(s->io.fd, SHUT_WR) < 0 ? -errno : 0;
}

static void conn_sock_close(struct conn *c)
{
    struct conn_sock *s = (struct conn_sock *)c;
    iofd_close(&s->io);
    free(s);
}

int sock_name(int fd, bool peer, struct gaddr *out)
{
    memset(out, 0, sizeof *out);
    out->len = sizeof out->ss;
    int rc = peer ? getpeername(fd, (struct sockaddr *)&out->ss, &out->len)
                  : getsockname(fd, (struct sockaddr *)&out->ss, &out->len);
    if (rc < 0) {
        out->len = 0;
        return -errno;
    }
    return 0;
}

static int conn_sock_ctl_common(struct conn_sock *s, int op, void *arg)
{
    switch (op) {
    case CONN_CTL_FD:
        *(int *)arg = s->io.fd;
        return 0;
    case CONN_CTL_LOCAL_ADDR:
        if (s->local_len) {
            addr_from_sockaddr(arg, (const struct sockaddr *)&s->local, s->local_len);
            return 0;
        }
        return sock_name(s->io.fd, false, arg);
    case CONN_CTL_REMOTE_ADDR:
        if (s->peer_len) {
            addr_from_sockaddr(arg, (const struct sockaddr *)&s->peer, s->peer_len);
            return 0;
        }
        return sock_name(s->io.fd, true, arg);
    default:
        return -ENOTSUP;
    }
}

static int conn_sock_tcp_ctl(struct conn *c, int op, void *arg)
{
    struct conn_sock *s = (struct conn_sock *)c;
    if (op == CONN_CTL_NODELAY) {
        int on = *(int *)arg ? 1 : 0;
        return setsockopt(s->io.fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) < 0 ? -errno : 0;
    }
    return conn_sock_ctl_common(s, op, arg);
}

static int conn_sock_unix_ctl(struct conn *c, int op, void *arg)
{
    struct conn_sock *s = (struct conn_sock *)c;
    if (op == CONN_CTL_NODELAY)
        return 0; /* nothing to delay on a unix socket */
    return conn_sock_ctl_common(s, op, arg);
}

int sock_wait_readable(struct iofd *io, int64_t deadline)
{
    if (fiber_cancelled())
        return -ECANCELED;
    for (;;) {
        if (iofd_ready(io, IOFD_READ)) {
            /* Readiness may be stale (remembered from before the last read): ask the kernel. */
            char b;
            ssize_t r = recv(io->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
            if (r >= 0 || (errno != EAGAIN && errno != EINTR))
                return 0;
            if (errno == EINTR)
                continue;
            iofd_clear(io, IOFD_READ);
        }
        int rc = iofd_wait(io, IOFD_READ, deadline);
        if (rc < 0)
            return rc;
        return 0; /* a fresh edge: something is there */
    }
}

static int conn_sock_wait_readable(struct conn *c, int64_t deadline)
{
    return sock_wait_readable(&((struct conn_sock *)c)->io, deadline);
}

static const struct conn_ops conn_sock_tcp_ops = {
    .name = "tcp",
    .read = conn_sock_read,
    .write = conn_sock_write,
    .shutdown = conn_sock_shutdown,
    .close = conn_sock_close,
    .ctl = conn_sock_tcp_ctl,
    .wait_readable = conn_sock_wait_readable,
};

static const struct conn_ops conn_sock_unix_ops = {
    .name = "unix",
    .read = conn_sock_read,
    .write = conn_sock_write,
    .shutdown = conn_sock_shutdown,
    .close = conn_sock_close,
    .ctl = conn_sock_unix_ctl,
    .wait_readable = conn_sock_wait_readable,
};

struct conn_sock *conn_sock_wrap(int fd, bool is_unix)
{
    struct conn_sock *s = xmalloc(sizeof *s);
    conn_init(&s->base, is_unix ? &conn_sock_unix_ops : &conn_sock_tcp_ops, NULL);
    s->peer_len = s->local_len = 0;
    int rc = iofd_open(&s->io, fd);
    if (rc < 0) {
        free(s);
        errno = -rc;
        return NULL;
    }
    return s;
}

struct conn *conn_sock_new(int fd)
{
    int domain = 0;
    socklen_t len = sizeof domain;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) ||
        getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return NULL;
    }
    struct conn_sock *s = conn_sock_wrap(fd, domain == AF_UNIX);
    return s ? &s->base : NULL;
}

bool conn_sock_is_bare(const struct conn *c)
{
    return c->ops == &conn_sock_tcp_ops || c->ops == &conn_sock_unix_ops;
}

int conn_sock_take(struct conn *c, struct iofd *dst)
{
    if (!conn_sock_is_bare(c))
        return -EINVAL;
    struct conn_sock *s = (struct conn_sock *)c;
    int rc = iofd_move(dst, &s->io);
    if (rc < 0)
        return rc;
    free(s);
    return 0;
}

const char *sock_strerror(int neg_errno)
{
    switch (neg_errno) {
    case -ETIMEDOUT:
        return "i/o timeout";
    case -ECANCELED:
        return "operation was canceled";
    default: {
        /* Go spells syscall errors in lower case ("connection refused"); GOST users grep for
         * those words. strerror_r keeps it thread-safe. */
        static _Thread_local char buf[128];
        const char *msg = strerror_r(-neg_errno, buf, sizeof buf);
        if (msg != buf)
            snprintf(buf, sizeof buf, "%s", msg);
        if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z'))
            buf[0] = (char)(buf[0] - 'A' + 'a');
        return buf;
    }
    }
}
