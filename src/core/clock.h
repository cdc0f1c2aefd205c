/* clock: monotonic milliseconds and absolute deadlines.
 *
 * All deadlines in core/ are absolute CLOCK_MONOTONIC times in milliseconds; DEADLINE_NONE means
 * "no deadline". On a worker thread clock_now_ms() returns a value cached once per loop
 * iteration (refreshed by the loop with clock_update()); on any other thread it reads the clock.
 */
#ifndef GOST_CORE_CLOCK_H
#define GOST_CORE_CLOCK_H

#include <stdint.h>

#define DEADLINE_NONE INT64_MAX

/* Monotonic time in ms (cached per loop iteration on a worker thread). */
int64_t clock_now_ms(void);

/* Re-read the clock and refresh this thread's cache; returns the new value. Workers call it at
 * the top of every loop iteration; a fiber doing long CPU work may call it too. */
int64_t clock_update(void);

/* Drop this thread's cache: clock_now_ms() reads the clock every time again (used by a worker
 * thread when it leaves its loop). */
void clock_uncache(void);

/* Absolute deadline `ms` from now; ms <= 0 means no deadline (DEADLINE_NONE). */
int64_t deadline_in(int64_t ms);

/* The earlier of two deadlines. */
static inline int64_t deadline_min(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

#endif
