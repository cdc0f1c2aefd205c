/* rt_harness: run a test body in a fiber on a fresh scheduler, bounded in time.
 *
 * rt_run(nworkers, body, arg) initialises the scheduler, posts body(arg) to worker 0, arms a
 * watchdog timer (RT_WATCHDOG_MS) and runs until the body calls rt_done() (sched_stop) or the
 * watchdog fires (rt_timed_out is then set and every fiber is cancelled). cmocka assertions are
 * made on the main thread after rt_run returns: bodies record results in variables.
 */
#ifndef GOST_TEST_RT_HARNESS_H
#define GOST_TEST_RT_HARNESS_H

#include <stdbool.h>
#include <stdio.h>

#include "core/clock.h"
#include "core/fiber.h"
#include "core/sched.h"
#include "core/timer.h"

#ifndef RT_WATCHDOG_MS
#define RT_WATCHDOG_MS 20000
#endif

static bool rt_timed_out;
/* Checks inside fibers (cmocka asserts may only run on the main thread). */
static int rt_failures;
static char rt_first_failure[200];
#define rt_check(cond)                                                                             \
    do {                                                                                           \
        if (!(cond) && rt_failures++ == 0)                                                         \
            snprintf(rt_first_failure, sizeof rt_first_failure, "%s:%d: %s", __FILE__, __LINE__,   \
                     #cond);                                                                       \
    } while (0)

static struct timer rt_watchdog;
static void (*rt_body)(void *);

static void rt_watchdog_cb(struct timer *t)
{
    (void)t;
    rt_timed_out = true;
    sched_stop();
    sched_stop();
}

static void rt_done(void)
{
    timer_stop(&rt_watchdog);
    sched_stop();
}

static void rt_start(void *arg)
{
    timer_init(&rt_watchdog);
    timer_start(&rt_watchdog, clock_now_ms() + RT_WATCHDOG_MS, rt_watchdog_cb);
    rt_body(arg);
}

static inline int rt_run(int nworkers, void (*body)(void *), void *arg)
{
    rt_timed_out = false;
    rt_failures = 0;
    rt_first_failure[0] = '\0';
    rt_body = body;
    int rc = sched_init(nworkers);
    if (rc < 0)
        return rc;
    sched_set_grace_ms(2000);
    sched_post(0, rt_start, arg);
    rc = sched_run();
    if (rt_failures)
        fprintf(stderr, "fiber check failed: %s\n", rt_first_failure);
    return rc ? rc : rt_failures ? -1000 - rt_failures : 0;
}

#endif
