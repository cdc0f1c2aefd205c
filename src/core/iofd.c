/* iofd: edge-triggered fd registration with per-direction readiness and waiter slots. */
#include "core/iofd.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "core/fiber.h"
#include "core/worker.h"

/* Every iofd is registered once with this mask; readiness is tracked per direction. */
#define IOFD_EVENTS (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)

int worker_epoll_add(struct worker *w, struct iofd *io)
{
    struct epoll_event ev = {
        .events = IOFD_EVENTS,
        .data.ptr = io,
    };
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, io->fd, &ev) < 0)
        return -errno;
    return 0;
}

int iofd_open(struct iofd *io, int fd)
{
    struct worker *w = worker_cur;
    io->fd = -1;
    io->ready = (1u << IOFD_READ) | (1u << IOFD_WRITE);
    io->hup = 0;
    io->waiter[0] = io->waiter[1] = NULL;
    io->cb = NULL;
    io->w = w;
    if (!w) {
        close(fd);
        return -EPERM;
    }
#ifndef NDEBUG
    if (!(fcntl(fd, F_GETFL) & O_NONBLOCK))
        worker_panic("iofd_open: blocking fd (create it with SOCK_NONBLOCK)");
#endif
    io->fd = fd;
    int rc = worker_epoll_add(w, io);
    if (rc < 0) {
        close(fd);
        io->fd = -1;
    }
    return rc;
}

int iofd_wait(struct iofd *io, int dir, int64_t deadline)
{
    struct fiber *self = fiber_self();
    if (!self)
        worker_panic("iofd_wait called outside a fiber");
    for (;;) {
        if (fiber_cancelled())
            return -ECANCELED;
        if (io->fd < 0)
            return -EBADF;
        if (iofd_ready(io, dir))
            return 0;
        if (io->waiter[dir] && io->waiter[dir] != self)
            return -EBUSY;
        io->waiter[dir] = self;
        int rc = fiber_park(deadline);
        if (rc == -EBADF)
            return rc; /* closed by another fiber: io may be gone */
        if (io->waiter[dir] == self)
            io->waiter[dir] = NULL;
        if (rc < 0)
            return rc;
        /* rc == 0: woken by readiness, or a foreign fiber_wake: re-check. */
    }
}

void iofd_set_cb(struct iofd *io, void (*cb)(struct iofd *io, uint32_t events))
{
    io->cb = cb;
}

/* Point the events of this batch not yet dispatched for `from` at `to` (NULL: drop them). */
static void iofd_redirect_pending(struct worker *w, struct iofd *from, struct iofd *to)
{
    for (int i = w->ev_pos + 1; i < w->ev_n; i++)
        if (w->events[i].data.ptr == from)
            w->events[i].data.ptr = to;
}

/* Drop pending events of this batch and wake waiters with -EBADF; deregister from epoll if
 * `deregister` (not needed before close(): the fd is never duplicated, so closing it removes
 * the registration). */
static void iofd_detach(struct iofd *io, bool deregister)
{
    struct worker *w = io->w;
    if (w) {
        if (deregister)
            epoll_ctl(w->epfd, EPOLL_CTL_DEL, io->fd, NULL);
        iofd_redirect_pending(w, io, NULL);
    }
    for (int dir = 0; dir < 2; dir++) {
        struct fiber *f = io->waiter[dir];
        io->waiter[dir] = NULL;
        if (f)
            fiber_wake_rc(f, -EBADF);
    }
    io->ready = 0;
    io->cb = NULL;
}

void iofd_close(struct iofd *io)
{
    if (io->fd < 0)
        return;
    iofd_detach(io, false);
    close(io->fd);
    io->fd = -1;
}

int iofd_release(struct iofd *io)
{
    int fd = io->fd;
    if (fd < 0)
        return -1;
    iofd_detach(io, true);
    io->fd = -1;
    return fd;
}

int iofd_move(struct iofd *dst, struct iofd *src)
{
    struct worker *w = src->w;
    if (src->fd < 0 || !w || w != worker_cur)
        return -EBADF;
    struct epoll_event ev = {
        .events = IOFD_EVENTS,
        .data.ptr = dst,
    };
    if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, src->fd, &ev) < 0)
        return -errno;
    iofd_redirect_pending(w, src, dst);
    dst->fd = src->fd;
    dst->ready = (1u << IOFD_READ) | (1u << IOFD_WRITE);
    dst->hup = src->hup;
    dst->waiter[0] = dst->waiter[1] = NULL;
    dst->cb = NULL;
    dst->w = w;
    src->fd = -1; /* keeps src's pending events away: they now belong to dst */
    for (int dir = 0; dir < 2; dir++) {
        struct fiber *f = src->waiter[dir];
        src->waiter[dir] = NULL;
        if (f)
            fiber_wake_rc(f, -EBADF);
    }
    src->ready = 0;
    src->cb = NULL;
    return 0;
}

/* Loop: one epoll event for io. */
void iofd_dispatch(struct iofd *io, uint32_t ev)
{
    if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        io->ready |= 1u << IOFD_READ;
    if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR))
        io->ready |= 1u << IOFD_WRITE;
    if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        io->hup = 1;
    if (io->cb) {
        io->cb(io, ev);
        return;
    }
    for (int dir = 0; dir < 2; dir++) {
        struct fiber *f = io->waiter[dir];
        if (f && iofd_ready(io, dir)) {
            io->waiter[dir] = NULL;
            fiber_wake_rc(f, 0);
        }
    }
}
