/* sock_dial: outgoing TCP and unix stream connections. */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/fiber.h"
#include "core/sock.h"
#include "core/sock_int.h"

#define SOCK_UNIX_RETRY_MS 10 /* unix connect on a full backlog: retry period */

static int sock_dial_prepare(int fd, const struct sock_dial_opts *opts)
{
    int on = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) < 0)
        return -errno;
    if (!opts)
        return 0;
    if (opts->mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &opts->mark, sizeof opts->mark) < 0)
        return -errno;
    if (opts->ifname && *opts->ifname &&
        setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, opts->ifname,
                   (socklen_t)strnlen(opts->ifname, IF_NAMESIZE)) < 0)
        return -errno;
    if (opts->local && opts->local->len) {
        if (addr_port(opts->local) == 0)
            setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on);
        if (bind(fd, (const struct sockaddr *)&opts->local->ss, opts->local->len) < 0)
            return -errno;
    }
    return 0;
}

/* Non-blocking connect: wait writable, then the verdict is in SO_ERROR (asked only when the
 * event carried an error or hang-up bit). */
static int sock_connect_tcp(struct conn_sock *s, const struct gaddr *to, int64_t deadline)
{
    if (connect(s->io.fd, (const struct sockaddr *)&to->ss, to->len) == 0)
        return 0;
    if (errno != EINPROGRESS && errno != EINTR)
        return -errno;
    iofd_clear(&s->io, IOFD_WRITE);
    int rc = iofd_wait(&s->io, IOFD_WRITE, deadline);
    if (rc < 0)
        return rc;
    /* Writable without EPOLLERR/EPOLLHUP/EPOLLRDHUP: connected, no need to ask. Any of those
     * (a refusal, or a peer that already sent its FIN) and SO_ERROR gives the verdict. */
    if (!s->io.hup)
        return 0;
    int err = 0;
    socklen_t elen = sizeof err;
    if (getsockopt(s->io.fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
        return -errno;
    return err ? -err : 0;
}

int sock_dial_tcp_ex(const struct gaddr *to, const struct sock_dial_opts *opts, int64_t deadline,
                     struct conn **out)
{
    char target[ADDR_STRLEN];
    int rc;
    *out = NULL;
    if (fiber_cancelled()) {
        rc = -ECANCELED;
        goto fail;
    }
    int fd = socket(to->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rc = -errno;
        goto fail;
    }
    rc = sock_dial_prepare(fd, opts);
    if (rc < 0) {
        close(fd);
        goto fail;
    }
    struct conn_sock *s = conn_sock_wrap(fd, false);
    if (!s) {
        rc = -errno;
        goto fail;
    }
    rc = sock_connect_tcp(s, to, deadline);
    if (rc < 0) {
        conn_close(&s->base);
        goto fail;
    }
    *out = &s->base;
    return 0;
fail:
    addr_format(to, target, sizeof target);
    fiber_set_err("dial tcp %s: %s%s", target,
                  rc == -ETIMEDOUT || rc == -ECANCELED ? "" : "connect: ", sock_strerror(rc));
    return rc;
}

int sock_dial_tcp(const struct gaddr *to, int64_t deadline, struct conn **out)
{
    return sock_dial_tcp_ex(to, NULL, deadline, out);
}

int sock_dial_unix(const char *path, int64_t deadline, struct conn **out)
{
    struct gaddr to;
    struct conn_sock *s = NULL;
    *out = NULL;
    int rc = addr_from_unix(path, &to);
    if (rc < 0)
        goto fail;
    if (fiber_cancelled()) {
        rc = -ECANCELED;
        goto fail;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rc = -errno;
        goto fail;
    }
    s = conn_sock_wrap(fd, true);
    if (!s) {
        rc = -errno;
        goto fail;
    }
    for (;;) {
        if (connect(s->io.fd, (const struct sockaddr *)&to.ss, to.len) == 0)
            break;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN) {
            rc = -errno;
            goto fail;
        }
        /* The listener's backlog is full; a unix socket gives no edge for that: retry. */
        int64_t until = deadline_min(deadline, deadline_in(SOCK_UNIX_RETRY_MS));
        rc = fiber_park(until);
        if (rc == -ETIMEDOUT && until == deadline)
            goto fail;
        if (rc == -ECANCELED)
            goto fail;
    }
    *out = &s->base;
    return 0;
fail:
    if (s)
        conn_close(&s->base);
    fiber_set_err("dial unix %s: %s", path, sock_strerror(rc));
    return rc;
}
