/* sock_listen: listening TCP/unix sockets and the accept helper. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/fiber.h"
#include "core/sock.h"
#include "core/sock_int.h"

#define SOCK_ACCEPT_BACKOFF_MIN_MS 10
#define SOCK_ACCEPT_BACKOFF_MAX_MS 1000

static bool sock_is_any6(const struct gaddr *a)
{
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a->ss;
    return a->ss.ss_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr);
}

int sock_listen_tcp(const struct gaddr *addr, bool reuseport, int backlog, int *fd_out)
{
    char where[ADDR_STRLEN];
    int on = 1, off = 0, rc;
    *fd_out = -1;
    int fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rc = -errno;
        goto fail;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0 ||
        (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) < 0) ||
        (sock_is_any6(addr) && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) < 0) ||
        bind(fd, (const struct sockaddr *)&addr->ss, addr->len) < 0 ||
        listen(fd, backlog > 0 ? backlog : SOMAXCONN) < 0) {
        rc = -errno;
        close(fd);
        goto fail;
    }
    *fd_out = fd;
    return 0;
fail:
    addr_format(addr, where, sizeof where);
    fiber_set_err("listen tcp %s: %s", where, sock_strerror(rc));
    return rc;
}

/* A socket file at path: remove it if nobody listens there any more. */
static int sock_unix_clear_stale(const struct gaddr *a, const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
        return 0; /* absent, or not a socket: bind reports the conflict */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int rc = connect(fd, (const struct sockaddr *)&a->ss, a->len);
    int e = errno;
    close(fd);
    if (rc == 0 || e == EAGAIN)
        return -EADDRINUSE; /* alive */
    if (e == ECONNREFUSED && unlink(path) < 0 && errno != ENOENT)
        return -errno;
    return 0;
}

int sock_listen_unix(const char *path, int mode)
{
    struct gaddr a;
    int rc = addr_from_unix(path, &a);
    int fd = -1;
    if (rc < 0)
        goto fail;
    bool abstract = path[0] == '@';
    if (!abstract && (rc = sock_unix_clear_stale(&a, path)) < 0)
        goto fail;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (const struct sockaddr *)&a.ss, a.len) < 0 ||
        (!abstract && mode && chmod(path, (mode_t)mode) < 0) || listen(fd, SOMAXCONN) < 0) {
        rc = -errno;
        goto fail;
    }
    return fd;
fail:
    if (fd >= 0)
        close(fd);
    fiber_set_err("listen unix %s: %s", path, sock_strerror(rc));
    return rc;
}

/* 0.0.0.0 or [::] (also [::ffff:0.0.0.0]): the local address of an accepted conn varies. */
static bool sock_addr_is_wildcard(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == htonl(INADDR_ANY);
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_UNSPECIFIED(a))
            return true;
        static const uint8_t any4[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0};
        return memcmp(a, any4, 16) == 0;
    }
    return true;
}

int sock_listener_open(struct sock_listener *l, int fd)
{
    int domain = 0;
    socklen_t len = sizeof domain;
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0) {
        int e = errno;
        close(fd);
        l->io.fd = -1;
        return -e;
    }
    l->is_unix = domain == AF_UNIX;
    l->local_len = 0;
    struct sockaddr_in6 sa;
    socklen_t slen = sizeof sa;
    if (!l->is_unix && getsockname(fd, (struct sockaddr *)&sa, &slen) == 0 && slen <= sizeof sa &&
        !sock_addr_is_wildcard((struct sockaddr *)&sa)) {
        l->local = sa;
        l->local_len = (uint8_t)slen;
    }
    return iofd_open(&l->io, fd);
}

static bool sock_accept_transient(int e)
{
    switch (e) {
    case EINTR:
    case ECONNABORTED:
    case EPROTO:
    case EPERM: /* firewall rules */
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH:
        return true;
    default:
        return false;
    }
}

static bool sock_accept_exhausted(int e)
{
    return e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM;
}

int sock_accept(struct sock_listener *l, struct conn **out, int64_t deadline)
{
    int64_t backoff = 0;
    *out = NULL;
    for (;;) {
        if (fiber_cancelled())
            return -ECANCELED;
        struct sockaddr_in6 peer;
        socklen_t plen = sizeof peer;
        int fd = accept4(l->io.fd, l->is_unix ? NULL : (struct sockaddr *)&peer,
                         l->is_unix ? NULL : &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            if (!l->is_unix) {
                int on = 1;
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
            }
            struct conn_sock *s = conn_sock_wrap(fd, l->is_unix);
            if (!s)
                return -errno;
            if (!l->is_unix && plen <= sizeof peer) { /* no getpeername/getsockname later */
                s->peer = peer;
                s->peer_len = (uint8_t)plen;
                s->local = l->local;
                s->local_len = l->local_len;
            }
            *out = &s->base;
            return 0;
        }
        int e = errno;
        if (e == EAGAIN) {
            iofd_clear(&l->io, IOFD_READ);
            int rc = iofd_wait(&l->io, IOFD_READ, deadline);
            if (rc < 0)
                return rc; /* -EBADF: closed meanwhile, l may be gone */
            continue;
        }
        if (sock_accept_transient(e))
            continue;
        if (!sock_accept_exhausted(e))
            return -e;
        /* Out of fds or memory: the pending connection stays queued; back off, don't spin. */
        backoff = backoff ? backoff * 2 : SOCK_ACCEPT_BACKOFF_MIN_MS;
        if (backoff > SOCK_ACCEPT_BACKOFF_MAX_MS)
            backoff = SOCK_ACCEPT_BACKOFF_MAX_MS;
        int64_t until = deadline_min(deadline, deadline_in(backoff));
        int rc = fiber_park(until);
        if (rc == -ECANCELED || (rc == -ETIMEDOUT && until == deadline))
            return rc;
    }
}

int sock_listener_addr(struct sock_listener *l, struct gaddr *out)
{
    return sock_name(l->io.fd, false, out);
}

void sock_listener_close(struct sock_listener *l)
{
    iofd_close(&l->io);
}
