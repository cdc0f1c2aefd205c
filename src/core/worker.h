/* worker: internals shared by the runtime files of core/ (fiber, timer, iofd, pool, sched).
 * Not for use outside core/: other code uses fiber.h, sched.h, iofd.h, timer.h.
 *
 * A worker is one thread with one epoll fd, one run queue of fibers, one timer heap, one stack
 * pool and one mailbox for messages from other threads. worker_cur is the worker of the calling
 * thread (NULL off-worker).
 */
#ifndef GOST_CORE_WORKER_H
#define GOST_CORE_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "core/fiber.h"
#include "core/fiber_ctx.h"
#include "core/iofd.h"
#include "core/mailbox.h"
#include "core/timer.h"

enum fiber_state {
    FIBER_RUNNABLE, /* in the run queue */
    FIBER_RUNNING,
    FIBER_PARKED,
    FIBER_DEAD, /* fn returned; the loop frees it after switching back */
};

/* Lives at the top of its own stack mapping: [guard page][stack ... ][struct fiber]. */
struct fiber {
    struct fiber_ctx ctx;
    struct worker *w;
    void (*fn)(void *);
    void *arg;
    uint8_t state;
    bool cancelled;
    int park_rc;             /* what fiber_park returns when woken */
    struct timer park_timer; /* deadline of the current park */
    struct fiber *run_next;  /* run queue / free stack list */
    struct fiber *all_prev, *all_next;
    struct fiber_cond *cond; /* the cond this fiber waits on, if any */
    struct fiber *cond_prev, *cond_next;
    char *map; /* start of the mapping (guard page) */
    size_t map_size;
    uint64_t id;
    const char *name;
    void *asan_fake; /* AddressSanitizer fake stack of this fiber while switched out */
    char err[FIBER_ERR_MAX];
};

#define WORKER_MAX_EVENTS 256

struct worker {
    int id;
    pthread_t thread;
    int epfd;
    struct mailbox *mbox;
    struct iofd mbox_io;

    /* scheduler */
    struct fiber *current;
    struct fiber_ctx sched_ctx;
    const void *sched_stack_lo; /* for AddressSanitizer fiber switches */
    size_t sched_stack_size;
    void *sched_fake;
    struct fiber *runq_head, *runq_tail;
    int skip_polls;    /* batches run since the last epoll_wait */
    struct fiber *all; /* every live fiber */
    int nfibers;
    uint64_t next_fiber_id;
    struct fiber *stack_free; /* pooled stacks (struct fiber at the top of each) */
    int nstack_free;

    /* timers: binary min-heap, 1-based (heap[0] unused) */
    struct timer **heap;
    unsigned heap_len, heap_cap;

    /* epoll events of the current batch (iofd_close clears entries for a closed iofd) */
    struct epoll_event events[WORKER_MAX_EVENTS];
    int ev_pos, ev_n;

    /* graceful stop */
    int stop_seen;   /* stop requests acted upon */
    int stop_phase;  /* 0 running, 1 draining, 2 cancelled everything */
    int64_t stop_at; /* phase 1: when to cancel all; phase 2: when to exit */
};

extern _Thread_local struct worker *worker_cur;

/* Abort with a message: a broken runtime invariant or API misuse (e.g. parking off-fiber). */
_Noreturn void worker_panic(const char *msg);

/* worker.c */
struct worker *worker_new(int id);
void worker_free(struct worker *w);
void *worker_main(void *w);
/* Register fd with w's epoll (fd must already be non-blocking). 0 or -errno. */
int worker_epoll_add(struct worker *w, struct iofd *io);

/* iofd.c: deliver one epoll event (loop context). */
void iofd_dispatch(struct iofd *io, uint32_t events);

/* fiber.c */
void fiber_wake_rc(struct fiber *f, int rc);
void fiber_resume(struct worker *w, struct fiber *f); /* loop: switch into f and back */
void fiber_cancel_all(struct worker *w);
void fiber_drop_all(struct worker *w); /* unmap fibers still alive at exit */
void fiber_stack_pool_free(struct worker *w);
/* Loop: spawn on worker w (current thread is w's). */
struct fiber *fiber_spawn_on(struct worker *w, void (*fn)(void *), void *arg);

/* timer.c */
int64_t timer_next(struct worker *w); /* earliest `when`, DEADLINE_NONE if none */
void timer_run_due(struct worker *w, int64_t now);
void timer_heap_free(struct worker *w);

/* sched.c */
int sched_stop_requests(void);
void sched_spawn_stop_hooks(struct worker *w);
int64_t sched_grace_ms(void);

#endif
