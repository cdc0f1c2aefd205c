/* Unit tests: scheduler — workers, on_each_worker, post, stop hooks, grace period, re-init. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rt_harness.h"

static atomic_int each_mask, each_count, hook_mask, hook_count;
static pthread_t each_thread[4];

static void each_fn(void *arg, int wid)
{
    atomic_fetch_or(&each_mask, 1 << wid);
    each_thread[wid] = pthread_self();
    rt_check(sched_worker_id() == wid);
    rt_check(arg == (void *)&each_mask);
    atomic_fetch_add(&each_count, 1);
}

static void stop_hook(void *arg)
{
    rt_check(fiber_self() != NULL);
    atomic_fetch_or(&hook_mask, 1 << sched_worker_id());
    atomic_fetch_add(&hook_count, 1);
}

static void body_each(void *arg)
{
    sched_on_each_worker(each_fn, &each_mask);
    for (int i = 0; i < 200 && atomic_load(&each_count) < 2; i++)
        fiber_sleep_ms(5);
    rt_done();
}

static void test_two_workers(void **state)
{
    atomic_store(&each_mask, 0);
    atomic_store(&each_count, 0);
    atomic_store(&hook_mask, 0);
    atomic_store(&hook_count, 0);
    assert_int_equal(sched_nworkers(), 0);
    assert_int_equal(sched_init(2), 0);
    assert_int_equal(sched_nworkers(), 2);
    assert_int_equal(sched_init(2), -EBUSY);
    sched_on_stop(stop_hook, NULL);
    sched_post(0, rt_start, NULL);
    rt_body = body_each;
    assert_int_equal(sched_run(), 0);
    assert_int_equal(rt_failures, 0);
    assert_false(rt_timed_out);
    assert_int_equal(atomic_load(&each_mask), 3);
    assert_int_equal(atomic_load(&each_count), 2);
    assert_false(pthread_equal(each_thread[0], each_thread[1]));
    assert_int_equal(atomic_load(&hook_mask), 3); /* once on each worker */
    assert_int_equal(atomic_load(&hook_count), 2);
    assert_int_equal(sched_nworkers(), 0); /* torn down */
}

/* A fiber that ignores the stop is cancelled after the grace period and unwinds. */
static int stubborn_rc;
static int64_t stop_elapsed;

static void stubborn(void *arg)
{
    stubborn_rc = fiber_park(DEADLINE_NONE);
}

static void body_grace(void *arg)
{
    fiber_spawn(stubborn, NULL);
    fiber_yield();
    rt_done();
}

static void test_grace_cancel(void **state)
{
    stubborn_rc = 1;
    assert_int_equal(sched_init(1), 0);
    sched_set_grace_ms(100);
    rt_body = body_grace;
    sched_post(0, rt_start, NULL);
    int64_t t0 = clock_now_ms();
    assert_int_equal(sched_run(), 0);
    stop_elapsed = clock_now_ms() - t0;
    assert_int_equal(stubborn_rc, -ECANCELED);
    assert_true(stop_elapsed >= 100 && stop_elapsed < 1500);
    sched_set_grace_ms(2000);
}

/* A stop hook that cancels the worker's session fibers: the loop exits without waiting for the
 * grace period. */
static struct fiber *session[2];
static int session_rc[2];

static void session_fn(void *arg)
{
    intptr_t wid = (intptr_t)arg;
    session[wid] = fiber_self();
    session_rc[wid] = fiber_sleep_ms(60000);
    session[wid] = NULL;
}

static void start_sessions(void *arg, int wid)
{
    fiber_spawn(session_fn, (void *)(intptr_t)wid);
}

static void cancel_sessions_hook(void *arg)
{
    int wid = sched_worker_id();
    if (session[wid])
        fiber_cancel(session[wid]);
}

static void body_hook_cancel(void *arg)
{
    sched_on_each_worker(start_sessions, NULL);
    fiber_sleep_ms(20);
    rt_done();
}

static void test_hook_cancels(void **state)
{
    memset(session_rc, 0, sizeof session_rc);
    assert_int_equal(sched_init(2), 0);
    sched_set_grace_ms(5000);
    sched_on_stop(cancel_sessions_hook, NULL);
    rt_body = body_hook_cancel;
    sched_post(0, rt_start, NULL);
    int64_t t0 = clock_now_ms();
    assert_int_equal(sched_run(), 0);
    assert_true(clock_now_ms() - t0 < 2000);
    assert_int_equal(session_rc[0], -ECANCELED);
    assert_int_equal(session_rc[1], -ECANCELED);
    sched_set_grace_ms(2000);
}

/* sched_post from another worker, and posting before sched_run. */
static atomic_int posted_on;

static void posted(void *arg)
{
    atomic_store(&posted_on, sched_worker_id() + 10);
}

static void body_post(void *arg)
{
    rt_check(sched_post(5, posted, NULL) == -EINVAL);
    rt_check(sched_post(1, posted, NULL) == 0);
    for (int i = 0; i < 200 && !atomic_load(&posted_on); i++)
        fiber_sleep_ms(5);
    rt_done();
}

static void test_post(void **state)
{
    atomic_store(&posted_on, 0);
    assert_int_equal(rt_run(2, body_post, NULL), 0);
    assert_int_equal(atomic_load(&posted_on), 11);
}

/* Stop requested from a plain thread, as a signal handler would. */
static void *stopper(void *arg)
{
    struct timespec ts = {0, 30 * 1000000};
    nanosleep(&ts, NULL);
    sched_stop();
    return NULL;
}

static void idle_each(void *arg, int wid) {}

static void test_stop_from_thread(void **state)
{
    assert_int_equal(sched_init(2), 0);
    sched_on_each_worker(idle_each, NULL);
    pthread_t t;
    pthread_create(&t, NULL, stopper, NULL);
    assert_int_equal(sched_run(), 0);
    pthread_join(t, NULL);
    assert_int_equal(sched_stopping(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_workers),      cmocka_unit_test(test_grace_cancel),
        cmocka_unit_test(test_hook_cancels),     cmocka_unit_test(test_post),
        cmocka_unit_test(test_stop_from_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
