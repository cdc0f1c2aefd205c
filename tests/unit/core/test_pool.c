/* Unit tests: helper pool — call, concurrency, cancel and deadline while the job runs. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "core/pool.h"
#include "rt_harness.h"

static void msleep(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

struct job {
    atomic_int refs;
    int in, out;
    int sleep_ms;
};

static atomic_int jobs_done;

static void job_put(struct job *j)
{
    if (atomic_fetch_sub(&j->refs, 1) == 1)
        free(j);
}

static void job_fn(void *arg)
{
    struct job *j = arg;
    if (j->sleep_ms)
        msleep(j->sleep_ms);
    j->out = j->in * 2;
    atomic_fetch_add(&jobs_done, 1);
    job_put(j);
}

static struct job *job_new(int in, int sleep_ms)
{
    struct job *j = calloc(1, sizeof *j);
    atomic_init(&j->refs, 2);
    j->in = in;
    j->sleep_ms = sleep_ms;
    return j;
}

static int basic_out, conc_ok;

static void concurrent(void *arg)
{
    intptr_t i = (intptr_t)arg;
    struct job *j = job_new((int)i, 5);
    if (pool_call(job_fn, j) == 0 && j->out == 2 * i)
        conc_ok++;
    job_put(j);
}

static void body_basic(void *arg)
{
    struct job *j = job_new(21, 0);
    rt_check(pool_call(job_fn, j) == 0);
    basic_out = j->out;
    job_put(j);
    for (intptr_t i = 0; i < 32; i++)
        fiber_spawn(concurrent, (void *)i);
    for (int i = 0; i < 400 && conc_ok < 32; i++)
        fiber_sleep_ms(5);
    rt_done();
}

static void test_pool_basic(void **state)
{
    conc_ok = 0;
    assert_int_equal(rt_run(1, body_basic, NULL), 0);
    assert_int_equal(basic_out, 42);
    assert_int_equal(conc_ok, 32);
    assert_true(pool_nthreads() >= 1 && pool_nthreads() <= 4);
}

static int cancel_rc, deadline_rc;
static int64_t cancel_elapsed;
static struct fiber *caller;

static void cancelled_caller(void *arg)
{
    caller = fiber_self();
    struct job *j = job_new(1, 200);
    int64_t t0 = clock_update();
    cancel_rc = pool_call(job_fn, j);
    cancel_elapsed = clock_update() - t0;
    job_put(j); /* the job keeps its own reference */
    caller = NULL;
}

static void body_cancel(void *arg)
{
    atomic_store(&jobs_done, 0);
    fiber_spawn(cancelled_caller, NULL);
    fiber_sleep_ms(20);
    if (caller)
        fiber_cancel(caller);
    fiber_sleep_ms(5);
    struct job *j = job_new(1, 200);
    deadline_rc = pool_call_deadline(job_fn, j, deadline_in(20));
    job_put(j);
    /* let both abandoned jobs finish before the run ends (LeakSanitizer) */
    for (int i = 0; i < 200 && atomic_load(&jobs_done) < 2; i++)
        fiber_sleep_ms(5);
    rt_done();
}

static void test_pool_cancel_deadline(void **state)
{
    assert_int_equal(rt_run(1, body_cancel, NULL), 0);
    assert_int_equal(cancel_rc, -ECANCELED);
    assert_true(cancel_elapsed < 150);
    assert_int_equal(deadline_rc, -ETIMEDOUT);
    assert_int_equal(atomic_load(&jobs_done), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_basic),
        cmocka_unit_test(test_pool_cancel_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
