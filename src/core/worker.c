/* worker: one thread's event loop: timers, run queue, epoll, mailbox, graceful stop. */
#include "core/worker.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/xmalloc.h"

_Thread_local struct worker *worker_cur;

#define WORKER_HARD_STOP_MS 500 /* after cancelling everything, how long fibers get to unwind */
/* While fibers stay runnable, poll epoll only every this many batches (a zero-timeout epoll_wait
 * costs a syscall; fibers handing work to each other should not pay it on every switch). */
#define WORKER_POLL_EVERY 16

_Noreturn void worker_panic(const char *msg)
{
    static const char pre[] = "gost: fatal: ";
    ssize_t rc = write(2, pre, sizeof pre - 1);
    rc = write(2, msg, strlen(msg));
    rc = write(2, "\n", 1);
    (void)rc;
    abort();
}

static void worker_mbox_cb(struct iofd *io, uint32_t events)
{
    struct worker *w = io->data;
    mailbox_drain(w->mbox);
}

struct worker *worker_new(int id)
{
    struct worker *w = xcalloc(1, sizeof *w);
    w->id = id;
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (w->epfd < 0)
        goto fail;
    w->mbox = mailbox_new();
    if (!w->mbox)
        goto fail;
    w->mbox_io.fd = w->mbox->evfd;
    w->mbox_io.cb = worker_mbox_cb;
    w->mbox_io.data = w;
    w->mbox_io.w = w;
    int rc = worker_epoll_add(w, &w->mbox_io);
    if (rc < 0) {
        errno = -rc;
        goto fail;
    }
    return w;
fail:;
    int e = errno;
    worker_free(w);
    errno = e;
    return NULL;
}

void worker_free(struct worker *w)
{
    if (!w)
        return;
    if (w->mbox) {
        mailbox_kill(w->mbox);
        mailbox_unref(w->mbox);
    }
    if (w->epfd >= 0)
        close(w->epfd);
    free(w);
}

/* Act on stop requests and on the phases' deadlines. */
static void worker_stop_step(struct worker *w, int64_t now)
{
    int req = sched_stop_requests();
    if (req > w->stop_seen) {
        if (w->stop_phase == 0) {
            w->stop_phase = 1;
            w->stop_at = now + sched_grace_ms();
            sched_spawn_stop_hooks(w);
        }
        if (req >= 2 && w->stop_phase < 2) {
            w->stop_phase = 2;
            w->stop_at = now + WORKER_HARD_STOP_MS;
            fiber_cancel_all(w);
        }
        w->stop_seen = req;
    }
    if (w->stop_phase == 1 && now >= w->stop_at) {
        w->stop_phase = 2;
        w->stop_at = now + WORKER_HARD_STOP_MS;
        fiber_cancel_all(w);
    }
}

static bool worker_should_exit(struct worker *w, int64_t now)
{
    return w->stop_phase && (w->nfibers == 0 || (w->stop_phase == 2 && now >= w->stop_at));
}

/* Run the fibers that were runnable at the start; those made runnable meanwhile wait for the
 * next iteration, after an epoll poll, so I/O is never starved. */
static void worker_run_batch(struct worker *w)
{
    struct fiber *f = w->runq_head;
    w->runq_head = w->runq_tail = NULL;
    while (f) {
        struct fiber *next = f->run_next;
        fiber_resume(w, f);
        f = next;
    }
}

static int worker_timeout(struct worker *w, int64_t now)
{
    if (w->runq_head)
        return 0;
    int64_t next = timer_next(w);
    if (w->stop_phase)
        next = deadline_min(next, w->stop_at);
    if (next == DEADLINE_NONE)
        return -1;
    if (next <= now)
        return 0;
    return next - now > INT_MAX ? INT_MAX : (int)(next - now);
}

static void worker_loop(struct worker *w)
{
    mailbox_drain(w->mbox); /* posted before the thread started */
    for (;;) {
        int64_t now = clock_update();
        timer_run_due(w, now);
        worker_stop_step(w, now);
        if (worker_should_exit(w, now))
            break;
        worker_run_batch(w);
        if (w->runq_head && ++w->skip_polls < WORKER_POLL_EVERY)
            continue;
        w->skip_polls = 0;
        now = clock_update();
        if (worker_should_exit(w, now))
            break;
        int n = epoll_wait(w->epfd, w->events, WORKER_MAX_EVENTS, worker_timeout(w, now));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            worker_panic("epoll_wait failed");
        }
        w->ev_n = n;
        for (w->ev_pos = 0; w->ev_pos < w->ev_n; w->ev_pos++) {
            struct iofd *io = w->events[w->ev_pos].data.ptr;
            if (io)
                iofd_dispatch(io, w->events[w->ev_pos].events);
        }
        w->ev_pos = w->ev_n = 0;
    }
}

void *worker_main(void *arg)
{
    struct worker *w = arg;
    worker_cur = w;
    worker_loop(w);
    /* Fibers still alive after the hard stop are dropped without unwinding. */
    fiber_drop_all(w);
    timer_heap_free(w);
    fiber_stack_pool_free(w);
    mailbox_kill(w->mbox);
    worker_cur = NULL;
    clock_uncache();
    return NULL;
}
