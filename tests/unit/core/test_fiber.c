/* Unit tests: fibers — spawn/yield order, park/wake, deadlines, cancel, sleep, cond, error slot,
 * many parked fibers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rt_harness.h"

static char trace[256];
static size_t trace_len;

static void trace_add(char c)
{
    if (trace_len + 1 < sizeof trace) {
        trace[trace_len++] = c;
        trace[trace_len] = '\0';
    }
}

static void trace_reset(void)
{
    trace_len = 0;
    trace[0] = '\0';
}

/* ---- spawn / yield ---- */

static void yielder(void *arg)
{
    char c = (char)(intptr_t)arg;
    for (int i = 0; i < 3; i++) {
        trace_add(c);
        fiber_yield();
    }
}

static void body_yield(void *arg)
{
    fiber_spawn(yielder, (void *)(intptr_t)'a');
    fiber_spawn(yielder, (void *)(intptr_t)'b');
    trace_add('m'); /* spawn does not run the child before the parent yields */
    fiber_yield();
    trace_add('M');
    fiber_sleep_ms(5);
    rt_done();
}

static void test_spawn_yield_order(void **state)
{
    trace_reset();
    assert_int_equal(rt_run(1, body_yield, NULL), 0);
    assert_false(rt_timed_out);
    assert_string_equal(trace, "mabMabab");
}

/* ---- park / wake ---- */

static struct fiber *parked;
static int park_rc;

static void parker(void *arg)
{
    parked = fiber_self();
    trace_add('p');
    park_rc = fiber_park(deadline_in(5000));
    trace_add('w');
    parked = NULL;
}

static void body_park_wake(void *arg)
{
    fiber_spawn(parker, NULL);
    fiber_yield();
    trace_add('y');
    rt_check(parked != NULL);
    fiber_wake(parked);
    fiber_wake(parked); /* idempotent while runnable */
    fiber_yield();
    fiber_yield();
    rt_done();
}

static void test_park_wake(void **state)
{
    trace_reset();
    park_rc = 1;
    assert_int_equal(rt_run(1, body_park_wake, NULL), 0);
    assert_false(rt_timed_out);
    assert_int_equal(park_rc, 0);
    assert_string_equal(trace, "pyw");
}

/* ---- deadlines ---- */

static int64_t dl_elapsed;
static int dl_rc, dl_past_rc;

static void body_deadline(void *arg)
{
    int64_t t0 = clock_update();
    dl_rc = fiber_park(deadline_in(30));
    dl_elapsed = clock_update() - t0;
    dl_past_rc = fiber_park(clock_now_ms() - 1);
    rt_done();
}

static void test_park_deadline(void **state)
{
    assert_int_equal(rt_run(1, body_deadline, NULL), 0);
    assert_int_equal(dl_rc, -ETIMEDOUT);
    assert_true(dl_elapsed >= 29 && dl_elapsed < 2000);
    assert_int_equal(dl_past_rc, -ETIMEDOUT);
}

/* ---- cancel ---- */

static int cancel_rcs[4];
static bool cancel_flag;

static void victim(void *arg)
{
    parked = fiber_self();
    cancel_rcs[0] = fiber_park(DEADLINE_NONE);
    cancel_flag = fiber_cancelled();
    cancel_rcs[1] = fiber_park(deadline_in(1000)); /* at once */
    cancel_rcs[2] = fiber_sleep_ms(1000);          /* at once */
    struct fiber_cond c;
    fiber_cond_init(&c);
    cancel_rcs[3] = fiber_cond_wait(&c, DEADLINE_NONE);
    parked = NULL;
}

static void body_cancel(void *arg)
{
    fiber_spawn(victim, NULL);
    fiber_sleep_ms(10);
    rt_check(parked != NULL);
    int64_t t0 = clock_update();
    fiber_cancel(parked);
    while (parked)
        fiber_yield();
    cancel_rcs[0] += (clock_update() - t0 > 500) ? 1000 : 0; /* must not have waited */
    rt_done();
}

static void test_cancel(void **state)
{
    memset(cancel_rcs, 0, sizeof cancel_rcs);
    assert_int_equal(rt_run(1, body_cancel, NULL), 0);
    assert_false(rt_timed_out);
    assert_true(cancel_flag);
    for (int i = 0; i < 4; i++)
        assert_int_equal(cancel_rcs[i], -ECANCELED);
}

/* ---- sleep ordering ---- */

static void sleeper(void *arg)
{
    intptr_t ms = (intptr_t)arg;
    fiber_sleep_ms(ms);
    trace_add((char)('0' + ms / 10));
}

static void body_sleep(void *arg)
{
    fiber_spawn(sleeper, (void *)(intptr_t)30);
    fiber_spawn(sleeper, (void *)(intptr_t)10);
    fiber_spawn(sleeper, (void *)(intptr_t)20);
    fiber_spawn(sleeper, (void *)(intptr_t)0);
    fiber_sleep_ms(60);
    rt_done();
}

static void test_sleep_order(void **state)
{
    trace_reset();
    assert_int_equal(rt_run(1, body_sleep, NULL), 0);
    assert_string_equal(trace, "0123");
}

/* ---- cond ---- */

struct queue {
    struct fiber_cond cond;
    int items[16];
    int n;
    int got;
    int sum;
};

static void consumer(void *arg)
{
    struct queue *q = arg;
    for (;;) {
        while (q->n == 0) {
            int rc = fiber_cond_wait(&q->cond, deadline_in(200));
            if (rc == -ETIMEDOUT) {
                trace_add('t');
                return;
            }
        }
        q->sum += q->items[--q->n];
        q->got++;
    }
}

static int cond_timeout_rc;

static void body_cond(void *arg)
{
    struct queue *q = arg;
    fiber_cond_init(&q->cond);
    fiber_spawn(consumer, q);
    fiber_spawn(consumer, q);
    fiber_yield();
    for (int i = 1; i <= 10; i++) {
        q->items[q->n++] = i;
        fiber_cond_signal(&q->cond);
        if (i % 3 == 0)
            fiber_yield();
    }
    fiber_cond_broadcast(&q->cond);
    struct fiber_cond lonely;
    fiber_cond_init(&lonely);
    cond_timeout_rc = fiber_cond_wait(&lonely, deadline_in(10));
    rt_check(!fiber_cond_has_waiters(&lonely));
    fiber_sleep_ms(400); /* consumers time out and leave */
    rt_done();
}

static void test_cond(void **state)
{
    struct queue q;
    memset(&q, 0, sizeof q);
    trace_reset();
    assert_int_equal(rt_run(1, body_cond, &q), 0);
    assert_false(rt_timed_out);
    assert_int_equal(q.got, 10);
    assert_int_equal(q.sum, 55);
    assert_int_equal(cond_timeout_rc, -ETIMEDOUT);
    assert_string_equal(trace, "tt");
}

/* ---- error slot ---- */

static char err_a[FIBER_ERR_MAX], err_b[FIBER_ERR_MAX];
static size_t err_long_len;

static void err_fiber(void *arg)
{
    fiber_set_err("dial %s", "1.2.3.4:80");
    fiber_yield();
    fiber_wrap_err("connect via %s", "hop-0");
    snprintf(err_b, sizeof err_b, "%s", fiber_err());
}

static void body_err(void *arg)
{
    fiber_clear_err();
    fiber_spawn(err_fiber, NULL);
    fiber_set_err("mine");
    fiber_yield();
    fiber_yield();
    snprintf(err_a, sizeof err_a, "%s", fiber_err());
    char big[600];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    fiber_set_err("%s", big);
    fiber_wrap_err("ctx");
    err_long_len = strlen(fiber_err());
    rt_done();
}

static void test_err_slot(void **state)
{
    assert_int_equal(rt_run(1, body_err, NULL), 0);
    assert_string_equal(err_a, "mine");
    assert_string_equal(err_b, "connect via hop-0: dial 1.2.3.4:80");
    assert_int_equal(err_long_len, FIBER_ERR_MAX - 1);
    /* off-fiber: thread-local slot */
    fiber_set_err("main %d", 1);
    assert_string_equal(fiber_err(), "main 1");
    fiber_clear_err();
    assert_string_equal(fiber_err(), "");
}

/* ---- many fibers ---- */

#define MANY 10000
static struct fiber *many[MANY];
static int many_woken, many_parked;

static void many_fiber(void *arg)
{
    intptr_t i = (intptr_t)arg;
    many[i] = fiber_self();
    many_parked++;
    if (fiber_park(deadline_in(10000)) == 0)
        many_woken++;
    many[i] = NULL;
}

static void body_many(void *arg)
{
    for (intptr_t i = 0; i < MANY; i++)
        if (!fiber_spawn(many_fiber, (void *)i))
            return rt_done();
    while (many_parked < MANY)
        fiber_yield();
    for (int i = MANY - 1; i >= 0; i--)
        fiber_wake(many[i]);
    while (many_woken < MANY && !fiber_cancelled())
        fiber_yield();
    rt_done();
}

static void test_many_fibers(void **state)
{
    many_woken = many_parked = 0;
    assert_int_equal(rt_run(1, body_many, NULL), 0);
    assert_false(rt_timed_out);
    assert_int_equal(many_parked, MANY);
    assert_int_equal(many_woken, MANY);
}

/* ---- misuse off-worker ---- */

static void nop(void *arg) {}

static void test_spawn_off_worker(void **state)
{
    errno = 0;
    assert_null(fiber_spawn(nop, NULL));
    assert_int_equal(errno, EPERM);
    assert_null(fiber_self());
    assert_false(fiber_cancelled());
    assert_int_equal(sched_worker_id(), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spawn_yield_order), cmocka_unit_test(test_park_wake),
        cmocka_unit_test(test_park_deadline),     cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_sleep_order),       cmocka_unit_test(test_cond),
        cmocka_unit_test(test_err_slot),          cmocka_unit_test(test_many_fibers),
        cmocka_unit_test(test_spawn_off_worker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
