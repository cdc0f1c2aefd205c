/* clock: monotonic milliseconds, cached per loop iteration on workers. */
#include "core/clock.h"

#include <time.h>

/* 0 = not cached: read the clock (monotonic time is never 0 ms after boot in practice; the
 * cache stores max(now, 1)). */
static _Thread_local int64_t clock_cache;

static int64_t clock_read(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_now_ms(void)
{
    return clock_cache ? clock_cache : clock_read();
}

int64_t clock_update(void)
{
    int64_t now = clock_read();
    clock_cache = now ? now : 1;
    return clock_cache;
}

void clock_uncache(void)
{
    clock_cache = 0;
}

int64_t deadline_in(int64_t ms)
{
    if (ms <= 0)
        return DEADLINE_NONE;
    int64_t now = clock_now_ms();
    if (ms >= DEADLINE_NONE - now)
        return DEADLINE_NONE;
    return now + ms;
}
