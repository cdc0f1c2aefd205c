/* Unit tests: timers — order, stop, restart, re-arm from the callback, heap stress. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rt_harness.h"

#define NT 2000

struct tt {
    struct timer t;
    int id;
};

static struct tt tts[NT];
static int fired[NT], nfired;
static int64_t fired_when[NT];

static void tt_cb(struct timer *t)
{
    struct tt *x = (struct tt *)t;
    fired_when[nfired] = t->when;
    fired[nfired++] = x->id;
}

static void body_order(void *arg)
{
    int64_t now = clock_now_ms();
    int order[] = {30, 10, 20, 5, 25};
    for (int i = 0; i < 5; i++) {
        timer_init(&tts[i].t);
        tts[i].id = order[i];
        timer_start(&tts[i].t, now + order[i], tt_cb);
    }
    timer_stop(&tts[3].t); /* the 5 ms one */
    timer_stop(&tts[3].t); /* idempotent */
    rt_check(!timer_active(&tts[3].t));
    timer_start(&tts[0].t, now + 1, tt_cb); /* move 30 -> 1 */
    fiber_sleep_ms(60);
    rt_check(!timer_active(&tts[0].t));
    rt_done();
}

static void test_timer_order(void **state)
{
    nfired = 0;
    assert_int_equal(rt_run(1, body_order, NULL), 0);
    assert_int_equal(nfired, 4);
    assert_int_equal(fired[0], 30); /* moved to +1 */
    assert_int_equal(fired[1], 10);
    assert_int_equal(fired[2], 20);
    assert_int_equal(fired[3], 25);
}

static int rearm_count;

static void rearm_cb(struct timer *t)
{
    if (++rearm_count < 5)
        timer_start(t, clock_now_ms(), rearm_cb); /* in the "past": next iteration */
}

static void body_rearm(void *arg)
{
    static struct timer t;
    timer_init(&t);
    timer_start(&t, clock_now_ms() + 1, rearm_cb);
    fiber_sleep_ms(30);
    rt_done();
}

static void test_timer_rearm(void **state)
{
    rearm_count = 0;
    assert_int_equal(rt_run(1, body_rearm, NULL), 0);
    assert_int_equal(rearm_count, 5);
}

static void body_stress(void *arg)
{
    int64_t base = clock_now_ms() + 20;
    srand(42);
    for (int i = 0; i < NT; i++) {
        timer_init(&tts[i].t);
        tts[i].id = i;
        timer_start(&tts[i].t, base + rand() % 50, tt_cb);
    }
    /* stop a third, move a third */
    for (int i = 0; i < NT; i += 3)
        timer_stop(&tts[i].t);
    for (int i = 1; i < NT; i += 3)
        timer_start(&tts[i].t, base + rand() % 50, tt_cb);
    fiber_sleep_ms(120);
    rt_done();
}

static void test_timer_stress(void **state)
{
    nfired = 0;
    assert_int_equal(rt_run(1, body_stress, NULL), 0);
    int expect = 0;
    for (int i = 0; i < NT; i++)
        expect += i % 3 != 0;
    assert_int_equal(nfired, expect);
    for (int i = 1; i < nfired; i++)
        assert_true(fired_when[i - 1] <= fired_when[i]);
    for (int i = 0; i < nfired; i++)
        assert_true(fired[i] % 3 != 0);
}

static void test_clock(void **state)
{
    assert_int_equal(deadline_in(0), DEADLINE_NONE);
    assert_int_equal(deadline_in(-5), DEADLINE_NONE);
    assert_int_equal(deadline_in(INT64_MAX), DEADLINE_NONE);
    int64_t now = clock_now_ms();
    int64_t d = deadline_in(100);
    assert_true(d >= now + 100 && d < now + 1100);
    assert_int_equal(deadline_min(3, 4), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clock),
        cmocka_unit_test(test_timer_order),
        cmocka_unit_test(test_timer_rearm),
        cmocka_unit_test(test_timer_stress),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
