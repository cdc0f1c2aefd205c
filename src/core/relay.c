/* relay: splice pump for bare socket pairs, helper fibers for everything else (see relay.h and
 * docs/relay.md). */
#include "core/relay.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/bufpool.h"
#include "core/clock.h"
#include "core/fiber.h"
#include "core/iofd.h"
#include "core/pipe_pool.h"
#include "core/sock.h"
#include "core/timer.h"
#include "core/xmalloc.h"

#define RELAY_DIR_BUDGET (RELAY_BUDGET / 2) /* per direction and wakeup */

static void relay_report(relay_done_fn done, void *arg, uint64_t ab, uint64_t ba, int64_t start,
                         int err)
{
    struct relay_stats st = {
        .a_to_b = ab,
        .b_to_a = ba,
        .start_ms = start,
        .end_ms = clock_now_ms(),
        .err = err,
    };
    if (done)
        done(arg, &st);
}

/* ======================================================================================== */
/* Splice pump                                                                               */
/* ======================================================================================== */

/* Direction d moves bytes from io[d] to io[d ^ 1]: d = 0 is a -> b, d = 1 is b -> a. */
enum {
    PF_EOF0 = 1u << 0,   /* EOF read on io[0] (direction 0 reads no more) */
    PF_EOF1 = 1u << 1,   /* EOF read on io[1] */
    PF_SHUT0 = 1u << 2,  /* direction 0 finished: io[1]'s write half shut */
    PF_SHUT1 = 1u << 3,  /* direction 1 finished: io[0]'s write half shut */
    PF_KICK = 1u << 4,   /* the timer is armed to run the pump again soon (not the idle check) */
    PF_LINKED = 1u << 5, /* in the worker's list of pumps */
    PF_BULK0 = 1u << 6,  /* direction 0 moved a full scratch buffer at once: splice from now on */
    PF_BULK1 = 1u << 7,  /* direction 1 likewise */
};

/* The whole per-pair state (one allocation). Idle, it holds no pipe and no buffer. */
struct relay_pump {
    struct iofd io[2];              /* io[0] = a, io[1] = b; callback mode, data = the pump */
    struct timer timer;             /* idle check or "run again" kick; timer.data = done's arg */
    struct relay_pump *prev, *next; /* worker's list (relay_shutdown_all) */
    struct pipe_pair pipe[2];       /* pipe of direction d, {-1, -1} while empty */
    uint32_t pend[2];               /* bytes in pipe[d] */
    uint64_t bytes[2];              /* bytes delivered in direction d */
    int64_t start_ms;
    int64_t last_ms; /* last time a byte moved */
    relay_done_fn done;
    uint32_t idle_ms; /* 0 = no idle timeout */
    uint8_t flags;
};

static _Thread_local struct relay_pump *relay_pumps;
static _Thread_local size_t relay_npumps;

size_t relay_pump_state_size(void)
{
    return sizeof(struct relay_pump);
}

static void pump_link(struct relay_pump *p)
{
    p->prev = NULL;
    p->next = relay_pumps;
    if (relay_pumps)
        relay_pumps->prev = p;
    relay_pumps = p;
    p->flags |= PF_LINKED;
    relay_npumps++;
}

static void pump_unlink(struct relay_pump *p)
{
    if (!(p->flags & PF_LINKED))
        return;
    if (p->prev)
        p->prev->next = p->next;
    else
        relay_pumps = p->next;
    if (p->next)
        p->next->prev = p->prev;
    p->prev = p->next = NULL;
    p->flags &= (uint8_t)~PF_LINKED;
    relay_npumps--;
}

static void pump_set_linger0(int fd)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

/* End the pump: close both sockets (abortively if `reset`), give the pipes back, free the state,
 * then call done. */
static void pump_end(struct relay_pump *p, int err, bool reset)
{
    uint64_t ab = p->bytes[0], ba = p->bytes[1];
    int64_t start = p->start_ms;
    relay_done_fn done = p->done;
    void *arg = p->timer.data;

    timer_stop(&p->timer);
    pump_unlink(p);
    for (int d = 0; d < 2; d++) {
        if (reset && p->io[d].fd >= 0)
            pump_set_linger0(p->io[d].fd);
        iofd_close(&p->io[d]);
        if (p->pend[d])
            pipe_pool_discard(&p->pipe[d]);
        else
            pipe_pool_put(&p->pipe[d]);
    }
    free(p);
    relay_report(done, arg, ab, ba, start, err);
}

/* Small transfers are copied, large ones spliced. A splice costs a round trip through a pipe
 * (page references in and out) that a 64-byte request/response does not repay: measured on
 * loopback, always-splice costs ~6 us more CPU per short connection than recv+send (haproxy's
 * splice-auto makes the same choice). So a direction starts in copy mode through this per-worker
 * scratch buffer (the pump never yields inside a callback, so one buffer per thread is safe);
 * once a single read fills it, the direction is carrying bulk data and splices from then on. */
#define PUMP_SCRATCH 4096 /* = the smallest pipe (one page): a remainder always fits */
static _Thread_local unsigned char pump_scratch[PUMP_SCRATCH];

/* Copy-mode read for direction d: recv into the scratch buffer and send on at once; what the
 * destination does not take goes into the direction's pipe (empty here, so it takes it all)
 * and step 1 of pump_dir delivers it. 1 = moved bytes or saw EOF (go on), 0 = source drained,
 * -errno = the relay must end. */
static int pump_copy(struct relay_pump *p, int d, size_t *budget)
{
    struct iofd *src = &p->io[d], *dst = &p->io[d ^ 1];
    ssize_t n;
    do
        n = recv(src->fd, pump_scratch, PUMP_SCRATCH, MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n == 0) {
        p->flags |= (uint8_t)(PF_EOF0 << d);
        return 1;
    }
    if (n < 0) {
        if (errno != EAGAIN)
            return -errno;
        iofd_clear(src, IOFD_READ);
        return 0;
    }
    if (n == PUMP_SCRATCH)
        p->flags |= (uint8_t)(PF_BULK0 << d);
    else if (!src->hup)
        iofd_clear(src, IOFD_READ); /* a short read drained the socket: wait for the next edge
                                     * instead of a recv that returns EAGAIN (once a hang-up was
                                     * seen, read on to the EOF: no edge would announce it) */
    *budget -= (size_t)n < *budget ? (size_t)n : *budget;
    ssize_t w = 0;
    if (iofd_ready(dst, IOFD_WRITE)) {
        do
            w = send(dst->fd, pump_scratch, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
        while (w < 0 && errno == EINTR);
        if (w < 0) {
            if (errno != EAGAIN)
                return -errno;
            iofd_clear(dst, IOFD_WRITE);
            w = 0;
        }
    }
    if (w > 0) {
        p->bytes[d] += (uint64_t)w;
        p->last_ms = clock_now_ms();
    }
    if (w < n) {
        int rc = pipe_pool_get(&p->pipe[d]);
        if (rc < 0)
            return rc;
        ssize_t k = write(p->pipe[d].wr, pump_scratch + w, (size_t)(n - w));
        if (k != n - w) /* an empty pipe holds at least a page: this cannot be short */
            return k < 0 ? -errno : -EIO;
        p->pend[d] = (uint32_t)k;
    }
    return 1;
}

/* Work on direction d until it would block. Returns 0 (waiting for an event or finished), 1
 * (budget used up with more to do: run again soon) or -errno (the relay must end). */
static int pump_dir(struct relay_pump *p, int d)
{
    struct iofd *src = &p->io[d], *dst = &p->io[d ^ 1];
    const uint8_t eof = (uint8_t)(PF_EOF0 << d), shut = (uint8_t)(PF_SHUT0 << d);
    const uint8_t bulk = (uint8_t)(PF_BULK0 << d);
    size_t budget = RELAY_DIR_BUDGET;

    if (p->flags & shut)
        return 0;
    for (;;) {
        /* 1. Deliver what is in the pipe. */
        while (p->pend[d]) {
            if (!iofd_ready(dst, IOFD_WRITE))
                return 0;
            ssize_t n = splice(p->pipe[d].rd, NULL, dst->fd, NULL, p->pend[d],
                               SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            if (n > 0) {
                p->pend[d] -= (uint32_t)n;
                p->bytes[d] += (uint64_t)n;
                p->last_ms = clock_now_ms();
                continue;
            }
            if (n == 0)
                return -EPIPE;
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                iofd_clear(dst, IOFD_WRITE);
                return 0;
            }
            return -errno;
        }
        /* The pipe is empty: an idle direction holds none. */
        pipe_pool_put(&p->pipe[d]);

        /* 2. EOF seen and everything delivered: pass the half-close on — unless the other
         * direction is finished too: then the pump ends and close() sends the FIN (dst's
         * input was read to EOF, so the close cannot turn into a reset). */
        if (p->flags & eof) {
            if (!(p->flags & (uint8_t)(PF_SHUT0 << (d ^ 1))) && shutdown(dst->fd, SHUT_WR) < 0 &&
                errno != ENOTCONN)
                return -errno;
            p->flags |= shut;
            return 0;
        }

        /* 3. Read more. The pipe is empty here, so EAGAIN can only mean "socket drained". */
        if (!iofd_ready(src, IOFD_READ))
            return 0;
        if (budget == 0)
            return 1;
        if (!(p->flags & bulk)) {
            int rc = pump_copy(p, d, &budget);
            if (rc <= 0)
                return rc;
            continue;
        }
        int rc = pipe_pool_get(&p->pipe[d]);
        if (rc < 0)
            return rc;
        ssize_t n =
            splice(src->fd, NULL, p->pipe[d].wr, NULL, budget, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n > 0) {
            p->pend[d] = (uint32_t)n;
            budget -= (size_t)n < budget ? (size_t)n : budget;
            continue;
        }
        if (n == 0) {
            p->flags |= eof;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN) {
            iofd_clear(src, IOFD_READ);
            pipe_pool_put(&p->pipe[d]);
            return 0;
        }
        return -errno;
    }
}

static void pump_timer_cb(struct timer *t);

static void pump_run(struct relay_pump *p)
{
    int more = 0;
    for (int d = 0; d < 2; d++) {
        int rc = pump_dir(p, d);
        if (rc < 0) {
            pump_end(p, rc, true);
            return;
        }
        more |= rc;
    }
    if ((p->flags & (PF_SHUT0 | PF_SHUT1)) == (PF_SHUT0 | PF_SHUT1)) {
        pump_end(p, 0, false);
        return;
    }
    if (more) {
        /* Budget used up: let the other connections of this worker run, then continue from the
         * next loop iteration (a timer due "now" fires after the current epoll batch). The
         * readiness bits remember that more is pending, so no edge is lost. */
        p->flags |= PF_KICK;
        timer_start(&p->timer, clock_now_ms(), pump_timer_cb);
    } else if (p->idle_ms && !timer_active(&p->timer)) {
        timer_start(&p->timer, p->last_ms + p->idle_ms, pump_timer_cb);
    }
}

static void pump_timer_cb(struct timer *t)
{
    struct relay_pump *p = (struct relay_pump *)((char *)t - offsetof(struct relay_pump, timer));
    if (p->flags & PF_KICK) {
        p->flags &= (uint8_t)~PF_KICK;
        pump_run(p);
        return;
    }
    /* Idle check, re-armed lazily: activity only updates last_ms. */
    int64_t now = clock_now_ms();
    if (now - p->last_ms >= (int64_t)p->idle_ms) {
        pump_end(p, -ETIMEDOUT, false);
        return;
    }
    timer_start(t, p->last_ms + p->idle_ms, pump_timer_cb);
}

static void pump_io_cb(struct iofd *io, uint32_t ev)
{
    struct relay_pump *p = io->data;
    if (ev & EPOLLERR) {
        int e = 0;
        socklen_t len = sizeof e;
        if (getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &e, &len) == 0 && e != 0) {
            pump_end(p, -e, true);
            return;
        }
    }
    pump_run(p);
}

/* Takes bare conn_socks a and b (both closed on failure): their fds and epoll registrations
 * move into the pump (one EPOLL_CTL_MOD each). 1, or 0 after done reported a setup failure. */
static int pump_start(struct conn *a, struct conn *b, const struct relay_opts *o,
                      relay_done_fn done, void *arg, int64_t start)
{
    struct relay_pump *p = xcalloc(1, sizeof *p);
    p->io[0].fd = p->io[1].fd = -1;
    int rc = conn_sock_take(a, &p->io[0]);
    if (rc == 0) {
        rc = conn_sock_take(b, &p->io[1]);
        if (rc < 0)
            iofd_close(&p->io[0]);
    } else {
        conn_close(a);
    }
    if (rc < 0) {
        if (p->io[1].fd < 0)
            conn_close(b);
        free(p);
        relay_report(done, arg, 0, 0, start, rc);
        return 0;
    }
    for (int d = 0; d < 2; d++) {
        p->io[d].data = p;
        iofd_set_cb(&p->io[d], pump_io_cb);
        p->pipe[d].rd = p->pipe[d].wr = -1;
    }
    p->start_ms = p->last_ms = start;
    p->done = done;
    timer_init(&p->timer);
    p->timer.data = arg;
    if (o->idle_timeout_ms > 0)
        p->idle_ms = o->idle_timeout_ms > UINT32_MAX ? UINT32_MAX : (uint32_t)o->idle_timeout_ms;
    pump_link(p);
    /* First run from the loop (data may already wait in the sockets); done never runs inside
     * relay() for a pump. */
    p->flags |= PF_KICK;
    timer_start(&p->timer, clock_now_ms(), pump_timer_cb);
    return 1;
}

/* ======================================================================================== */
/* Fiber path                                                                                */
/* ======================================================================================== */

struct relay_fib;

struct relay_fib_half {
    struct relay_fib *r;
    int d; /* moves c[d] -> c[d ^ 1] */
};

/* Lives on the calling fiber's stack for the duration of relay(). */
struct relay_fib {
    struct conn *c[2];
    struct fiber *helper[2]; /* NULL once that helper has returned */
    struct relay_fib_half half[2];
    struct fiber_cond cond; /* the caller waits here for the helpers */
    struct relay_fib *prev, *next;
    uint64_t bytes[2];
    int64_t last_ms;
    int64_t idle_ms;
    size_t buf_size;
    int err;
    int alive; /* helpers not yet returned */
    bool aborted;
    bool writing[2]; /* direction d is inside conn_write */
};

static _Thread_local struct relay_fib *relay_fibs;
static _Thread_local size_t relay_nfibs;

/* End both directions: record the first error, cancel the helpers (not the calling one). */
static void relay_fib_abort(struct relay_fib *r, int err)
{
    if (!r->err)
        r->err = err;
    r->aborted = true;
    struct fiber *self = fiber_self();
    for (int d = 0; d < 2; d++)
        if (r->helper[d] && r->helper[d] != self)
            fiber_cancel(r->helper[d]);
}

/* Deadline for waits: `idle` after the last activity (or from now while the other direction is
 * busy writing: a write in progress is activity we cannot see yet). */
static int64_t relay_fib_deadline(const struct relay_fib *r)
{
    if (!r->idle_ms)
        return DEADLINE_NONE;
    int64_t base = r->last_ms;
    if (r->writing[0] || r->writing[1]) {
        int64_t now = clock_now_ms();
        if (now > base)
            base = now;
    }
    return base + r->idle_ms;
}

static bool relay_fib_idle(const struct relay_fib *r)
{
    return r->idle_ms && !r->writing[0] && !r->writing[1] &&
           clock_now_ms() - r->last_ms >= r->idle_ms;
}

/* Copy direction d until EOF (then half-close the other side) or until the relay is aborted. */
static void relay_fib_copy(struct relay_fib *r, int d)
{
    struct conn *src = r->c[d], *dst = r->c[d ^ 1];
    const size_t size = r->buf_size;
    int failed_probes = 0;

    while (!r->aborted) {
        int rc = conn_wait_readable(src, relay_fib_deadline(r));
        if (rc == -ETIMEDOUT) {
            if (relay_fib_idle(r)) {
                relay_fib_abort(r, -ETIMEDOUT);
                return;
            }
            continue;
        }
        if (rc < 0) {
            relay_fib_abort(r, rc);
            return;
        }
        /* Readable: borrow a buffer while data moves. */
        char *buf = bufpool_get(size);
        size_t moved = 0;
        for (;;) {
            /* Deadline 0 (past) makes the read a non-blocking probe: -ETIMEDOUT = nothing there
             * after all (readiness is a hint), and we go back to waiting WITHOUT the buffer.
             * A layer whose wait_readable keeps reporting readable while a read would block
             * (partial record) gets a blocking read instead, so we never spin. */
            bool probe = failed_probes < 2;
            src->rd_deadline = probe ? 0 : relay_fib_deadline(r);
            ssize_t n = conn_read(src, buf, size);
            if (n == -ETIMEDOUT) {
                if (probe) {
                    if (moved == 0)
                        failed_probes++;
                    break;
                }
                if (!relay_fib_idle(r))
                    continue;
            }
            if (n <= 0) {
                bufpool_put(buf, size);
                if (n == 0) {
                    /* EOF: everything read was written; pass the half-close on. An error here
                     * surfaces in the other direction if it matters. */
                    (void)conn_shutdown(dst);
                } else {
                    relay_fib_abort(r, (int)n);
                }
                return;
            }
            failed_probes = 0;
            r->writing[d] = true;
            dst->wr_deadline = r->idle_ms ? clock_now_ms() + r->idle_ms : DEADLINE_NONE;
            ssize_t w = conn_write(dst, buf, (size_t)n);
            r->writing[d] = false;
            if (w < 0) {
                bufpool_put(buf, size);
                relay_fib_abort(r, (int)w);
                return;
            }
            r->bytes[d] += (uint64_t)n;
            r->last_ms = clock_now_ms();
            moved += (size_t)n;
            if (moved >= RELAY_DIR_BUDGET) {
                /* Fairness: let the other fibers and the loop run. */
                bufpool_put(buf, size);
                fiber_yield();
                if (r->aborted)
                    return;
                buf = bufpool_get(size);
                moved = 0;
            }
        }
        bufpool_put(buf, size);
    }
}

static void relay_fib_helper(void *arg)
{
    struct relay_fib_half *h = arg;
    struct relay_fib *r = h->r;
    relay_fib_copy(r, h->d);
    r->helper[h->d] = NULL; /* the struct fiber goes away when we return */
    r->alive--;
    fiber_cond_signal(&r->cond);
}

static void relay_fib_link(struct relay_fib *r)
{
    r->prev = NULL;
    r->next = relay_fibs;
    if (relay_fibs)
        relay_fibs->prev = r;
    relay_fibs = r;
    relay_nfibs++;
}

static void relay_fib_unlink(struct relay_fib *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        relay_fibs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    relay_nfibs--;
}

static int relay_fiber(struct conn *a, struct conn *b, const struct relay_opts *o,
                       relay_done_fn done, void *arg, int64_t start)
{
    struct relay_fib r = {
        .c = {a, b},
        .last_ms = start,
        .idle_ms = o->idle_timeout_ms > 0 ? o->idle_timeout_ms : 0,
        .buf_size = o->buf_size,
    };
    fiber_cond_init(&r.cond);
    relay_fib_link(&r);
    for (int d = 0; d < 2; d++) {
        r.half[d] = (struct relay_fib_half){.r = &r, .d = d};
        r.helper[d] = fiber_spawn(relay_fib_helper, &r.half[d]);
        if (!r.helper[d]) {
            relay_fib_abort(&r, errno ? -errno : -ENOMEM);
            break;
        }
        fiber_set_name(r.helper[d], "relay");
        r.alive++;
    }
    while (r.alive > 0) {
        if (fiber_cond_wait(&r.cond, DEADLINE_NONE) == -ECANCELED) {
            /* The calling fiber was cancelled (session shutdown): stop the helpers and wait
             * for them without blocking calls (ours would all return -ECANCELED now). */
            relay_fib_abort(&r, -ECANCELED);
            while (r.alive > 0)
                fiber_yield();
        }
    }
    relay_fib_unlink(&r);
    conn_close(a);
    conn_close(b);
    relay_report(done, arg, r.bytes[0], r.bytes[1], start, r.err);
    return 0;
}

/* ======================================================================================== */
/* Public                                                                                    */
/* ======================================================================================== */

int relay(struct conn *a, struct conn *b, const struct relay_opts *o, relay_done_fn done, void *arg)
{
    struct relay_opts opts = o ? *o : (struct relay_opts){0};
    if (!opts.buf_size)
        opts.buf_size = RELAY_DEFAULT_BUF_SIZE;
    int64_t start = clock_now_ms();

    struct relay_offload off = {
        .a = a, .b = b, .opts = &opts, .done = done, .arg = arg, .start_ms = start};
    if (conn_ctl(a, CONN_CTL_RELAY_OFFLOAD, &off) == 0)
        return 1;
    if (conn_sock_is_bare(a) && conn_sock_is_bare(b))
        return pump_start(a, b, &opts, done, arg, start);
    return relay_fiber(a, b, &opts, done, arg, start);
}

void relay_shutdown_all(void)
{
    /* Take the current pumps out of the list first, so pumps started from done callbacks are
     * not affected and the walk never sees a freed pump. */
    struct relay_pump *list = relay_pumps;
    relay_pumps = NULL;
    relay_npumps = 0;
    for (struct relay_pump *p = list; p; p = p->next)
        p->flags &= (uint8_t)~PF_LINKED;
    while (list) {
        struct relay_pump *p = list;
        list = p->next;
        pump_end(p, -ECANCELED, false);
    }
    for (struct relay_fib *r = relay_fibs; r; r = r->next)
        relay_fib_abort(r, -ECANCELED);
}

void relay_worker_stats(struct relay_worker_stats *st)
{
    struct pipe_pool_stats ps;
    struct bufpool_stats bs;
    pipe_pool_stats(&ps);
    bufpool_stats(&bs);
    st->pumps = relay_npumps;
    st->fiber_relays = relay_nfibs;
    st->pipes_in_use = ps.in_use;
    st->pipes_idle = ps.idle;
    st->bufs_in_use = bs.in_use;
}
