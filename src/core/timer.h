/* timer: one-shot timers on the current worker's binary heap (millisecond resolution).
 *
 * `struct timer` is embedded by its user (no allocation). It must be started and stopped on one
 * worker thread, and stopped before the memory holding it is freed. The callback runs in loop
 * context (not in a fiber: it must not block); it may start/stop any timer (including its own),
 * wake or spawn fibers. A timer is not active while its callback runs.
 */
#ifndef GOST_CORE_TIMER_H
#define GOST_CORE_TIMER_H

#include <stdbool.h>
#include <stdint.h>

struct timer {
    int64_t when;                /* absolute ms (clock.h) */
    void (*cb)(struct timer *t); /* called once when due */
    unsigned idx;                /* heap slot + 1; 0 = not active */
    void *data;                  /* free for the user */
};

/* Zero the timer (inactive). */
void timer_init(struct timer *t);

/* (Re)arm t to fire at absolute time when_ms (a past time fires on the next loop iteration).
 * If t is already active it is moved. Must be on a worker thread. */
void timer_start(struct timer *t, int64_t when_ms, void (*cb)(struct timer *t));

/* Disarm t; no-op if not active. */
void timer_stop(struct timer *t);

static inline bool timer_active(const struct timer *t)
{
    return t->idx != 0;
}

#endif
