/* fiber_cond: FIFO wait queue between fibers of one worker. */
#include <errno.h>

#include "core/fiber.h"
#include "core/worker.h"

static void fiber_cond_unlink(struct fiber_cond *c, struct fiber *f)
{
    if (f->cond_prev)
        f->cond_prev->cond_next = f->cond_next;
    else
        c->head = f->cond_next;
    if (f->cond_next)
        f->cond_next->cond_prev = f->cond_prev;
    else
        c->tail = f->cond_prev;
    f->cond = NULL;
    f->cond_prev = f->cond_next = NULL;
}

int fiber_cond_wait(struct fiber_cond *c, int64_t deadline)
{
    struct fiber *f = fiber_self();
    if (!f)
        worker_panic("fiber_cond_wait called outside a fiber");
    if (f->cancelled)
        return -ECANCELED;
    f->cond = c;
    f->cond_next = NULL;
    f->cond_prev = c->tail;
    if (c->tail)
        c->tail->cond_next = f;
    else
        c->head = f;
    c->tail = f;
    int rc = fiber_park(deadline);
    if (f->cond == c) /* not taken by a signal: timeout, cancel, or a foreign wake */
        fiber_cond_unlink(c, f);
    return rc;
}

void fiber_cond_signal(struct fiber_cond *c)
{
    while (c->head) {
        struct fiber *f = c->head;
        fiber_cond_unlink(c, f);
        /* A waiter already woken by its deadline or a cancel is runnable, not parked: it will
         * return its error; the signal goes to the next one. */
        if (f->state == FIBER_PARKED) {
            fiber_wake_rc(f, 0);
            return;
        }
    }
}

void fiber_cond_broadcast(struct fiber_cond *c)
{
    while (c->head) {
        struct fiber *f = c->head;
        fiber_cond_unlink(c, f);
        fiber_wake_rc(f, 0);
    }
}

bool fiber_cond_has_waiters(const struct fiber_cond *c)
{
    return c->head != NULL;
}
