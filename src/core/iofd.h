/* iofd: a file descriptor registered once with the worker's epoll, edge-triggered (DESIGN §2).
 *
 * `struct iofd` is embedded by its user. iofd_open() sets O_NONBLOCK and adds the fd
 * with EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET; there is no epoll_ctl per wait. The loop remembers
 * readiness per direction ("an edge was seen since the last EAGAIN"). Readiness is a hint: do the
 * syscall first; when it returns EAGAIN call iofd_clear(io, dir) and then iofd_wait(io, dir, dl).
 *     for (;;) {
 *         ssize_t n = read(io->fd, buf, len);
 *         if (n >= 0) return n;
 *         if (errno != EAGAIN) return -errno;
 *         iofd_clear(io, IOFD_READ);
 *         int rc = iofd_wait(io, IOFD_READ, deadline);
 *         if (rc < 0) return rc;
 *     }
 * A new iofd starts "ready" in both directions (unknown: try the syscall).
 *
 * Two modes, exclusive:
 *  - fiber mode (default): one reader and one writer fiber may wait at a time (one per direction).
 *  - callback mode (iofd_set_cb): every epoll event calls cb(io, events) in loop context; for
 *    stackless users such as the splice relay pump. Readiness bits are updated too.
 * An iofd is bound to the worker that opened it; use it only on that worker.
 */
#ifndef GOST_CORE_IOFD_H
#define GOST_CORE_IOFD_H

#include <stdbool.h>
#include <stdint.h>

struct fiber;
struct worker;

#define IOFD_READ  0
#define IOFD_WRITE 1

struct iofd {
    int fd;                                   /* -1 when closed */
    uint8_t ready;                            /* bit (1 << dir): readiness remembered */
    uint8_t hup;                              /* EPOLLHUP/EPOLLERR/EPOLLRDHUP seen */
    struct fiber *waiter[2];                  /* parked reader / writer */
    void (*cb)(struct iofd *io, uint32_t ev); /* callback mode, else NULL */
    void *data;                               /* free for the user; iofd_open keeps it */
    struct worker *w;                         /* owning worker */
};

/* Take fd (the iofd owns it from now on, even on failure: on error it is closed and io->fd is
 * -1) and register it with the current worker's epoll. 0 or -errno. Must be called on a worker
 * thread. The fd must already be non-blocking and close-on-exec (create it with
 * SOCK_NONBLOCK|SOCK_CLOEXEC; debug builds check) and must never be duplicated (dup, fork,
 * SCM_RIGHTS): iofd_close relies on close() removing the epoll registration. */
int iofd_open(struct iofd *io, int fd);

/* Hand src's fd and its epoll registration to dst (which must not be open) with one
 * EPOLL_CTL_MOD instead of a DEL and an ADD; events of the current batch follow to dst. dst
 * starts ready both ways in fiber mode; src is left closed (fd -1), its waiters woken with
 * -EBADF. 0, or -errno with src untouched. On src's worker only. */
int iofd_move(struct iofd *dst, struct iofd *src);

/* Park the running fiber until the fd is ready in direction dir (IOFD_READ/IOFD_WRITE): 0 ready
 * (at once if readiness is remembered), -ETIMEDOUT, -ECANCELED, -EBADF if another fiber closed
 * the iofd meanwhile (then io may already be freed: do not touch it after -EBADF), -EBUSY if
 * another fiber already waits in that direction. EPOLLERR/EPOLLHUP count as ready both ways. */
int iofd_wait(struct iofd *io, int dir, int64_t deadline);

/* Forget readiness in dir (call after EAGAIN). */
static inline void iofd_clear(struct iofd *io, int dir)
{
    io->ready &= (uint8_t) ~(1u << dir);
}

static inline bool iofd_ready(const struct iofd *io, int dir)
{
    return (io->ready >> dir) & 1u;
}

/* Switch to callback mode (cb != NULL) or back to fiber mode (cb == NULL). cb gets the raw epoll
 * event mask. Must not be called while a fiber waits. */
void iofd_set_cb(struct iofd *io, void (*cb)(struct iofd *io, uint32_t events));

/* Deregister and close the fd. Fibers waiting on it are woken with -EBADF. Safe from a callback
 * of this very iofd and while the loop holds pending events for it (they are dropped). The
 * struct may be freed right after. No-op if already closed. */
void iofd_close(struct iofd *io);

/* Deregister and give the fd back to the caller without closing it (still non-blocking).
 * Waiters are woken with -EBADF. Returns the fd (-1 if closed). */
int iofd_release(struct iofd *io);

#endif
