/* Unit tests for chain/selector and core/crc32: every strategy, the fail and backup filters,
 * fail/recover over time (explicit now_ms), weights, hash stability, single element, threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "chain/selector.h"
#include "core/crc32.h"

/* ---- crc32 --------------------------------------------------------------------------------- */

/* Bitwise reference definition, to check the table. */
static uint32_t crc_ref(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0xedb88320u : c >> 1;
    }
    return ~c;
}

static void test_crc32_vectors(void **state)
{
    (void)state;
    assert_int_equal(crc32_ieee("123456789", 9), 0xcbf43926u);
    assert_int_equal(crc32_ieee("", 0), 0);
    assert_int_equal(crc32_ieee(NULL, 0), 0);
    assert_int_equal(crc32_ieee("a", 1), 0xe8b7be43u);
    assert_int_equal(crc32_ieee("The quick brown fox jumps over the lazy dog", 43), 0x414fa339u);

    /* incremental == one shot */
    const char *s = "192.168.1.100";
    uint32_t c = crc32_ieee_update(0, s, 4);
    c = crc32_ieee_update(c, s + 4, strlen(s) - 4);
    assert_int_equal(c, crc32_ieee(s, strlen(s)));

    /* table against the bitwise definition, every byte value and a few lengths */
    unsigned char buf[300];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (unsigned char)(i * 7 + 3);
    for (size_t n = 0; n <= sizeof(buf); n += 13)
        assert_int_equal(crc32_ieee(buf, n), crc_ref(buf, n));
    for (int b = 0; b < 256; b++) {
        unsigned char one = (unsigned char)b;
        assert_int_equal(crc32_ieee(&one, 1), crc_ref(&one, 1));
    }
}

/* ---- helpers ------------------------------------------------------------------------------- */

#define N_MAX 8

struct fixture {
    struct sel_mark marks[N_MAX];
    struct sel_item items[N_MAX];
};

static void fixture_init(struct fixture *f, size_t n)
{
    memset(f, 0, sizeof(*f));
    for (size_t i = 0; i < n; i++)
        f->items[i].mark = &f->marks[i];
}

static struct selector make(const char *strategy, int max_fails, int64_t fail_timeout_ms)
{
    struct selector s;
    char err[128];
    assert_int_equal(selector_init(&s, strategy, max_fails, fail_timeout_ms, err, sizeof(err)), 0);
    return s;
}

/* ---- init / names -------------------------------------------------------------------------- */

static void test_init_and_names(void **state)
{
    (void)state;
    struct selector s;
    char err[128];
    enum sel_strategy st;

    const struct {
        const char *name;
        enum sel_strategy s;
    } ok[] = {{NULL, SEL_ROUND},  {"", SEL_ROUND},        {"round", SEL_ROUND},
              {"rr", SEL_ROUND},  {"random", SEL_RANDOM}, {"rand", SEL_RANDOM},
              {"fifo", SEL_FIFO}, {"ha", SEL_FIFO},       {"hash", SEL_HASH}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        assert_int_equal(selector_strategy_parse(ok[i].name, &st), 0);
        assert_int_equal(st, ok[i].s);
    }
    assert_string_equal(selector_strategy_name(SEL_ROUND), "round");
    assert_string_equal(selector_strategy_name(SEL_RANDOM), "random");
    assert_string_equal(selector_strategy_name(SEL_FIFO), "fifo");
    assert_string_equal(selector_strategy_name(SEL_HASH), "hash");

    assert_int_equal(selector_init(&s, "Round", 0, 0, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "\"Round\""));
    assert_int_equal(selector_init(&s, "weighted", 0, 0, NULL, 0), -EINVAL);
    assert_int_equal(selector_init(&s, "parallel", 0, 0, err, sizeof(err)), -ENOTSUP);
    assert_non_null(strstr(err, "parallel"));
    assert_int_equal(selector_strategy_parse("ll", &st), -ENOTSUP);

    /* GOST's defaults for <= 0 */
    assert_int_equal(selector_init(&s, NULL, 0, 0, err, sizeof(err)), 0);
    assert_int_equal(s.strategy, SEL_ROUND);
    assert_int_equal(s.max_fails, SEL_DEFAULT_MAX_FAILS);
    assert_int_equal(s.fail_timeout_ms, SEL_DEFAULT_FAIL_TIMEOUT_MS);
    assert_int_equal(selector_init(&s, "fifo", -3, -1, err, sizeof(err)), 0);
    assert_int_equal(s.max_fails, 1);
    assert_int_equal(s.fail_timeout_ms, 10000);
    assert_int_equal(selector_init(&s, "rand", 3, 30000, err, sizeof(err)), 0);
    assert_int_equal(s.max_fails, 3);
    assert_int_equal(s.fail_timeout_ms, 30000);
}

static void test_empty_and_single(void **state)
{
    (void)state;
    const char *strategies[] = {"round", "random", "fifo", "hash"};
    struct fixture f;

    for (size_t k = 0; k < 4; k++) {
        struct selector s = make(strategies[k], 1, 1000);
        fixture_init(&f, 1);
        assert_int_equal(selector_pick(&s, f.items, 0, NULL, 0), -1);
        /* a single element is never filtered: failed and backup, still picked */
        sel_mark_fail(&f.marks[0], 100);
        f.items[0].backup = true;
        for (int i = 0; i < 5; i++)
            assert_int_equal(selector_pick(&s, f.items, 1, "k", 200), 0);
    }
}

/* ---- strategies ---------------------------------------------------------------------------- */

static void test_round_robin(void **state)
{
    (void)state;
    struct fixture f;
    struct selector s = make("rr", 0, 0);
    fixture_init(&f, 3);

    for (int i = 0; i < 9; i++)
        assert_int_equal(selector_pick(&s, f.items, 3, NULL, 0), i % 3);

    /* the counter is shared and applied to the filtered list, as in GOST */
    struct selector s2 = make("round", 1, 1000);
    fixture_init(&f, 3);
    sel_mark_fail(&f.marks[1], 0);                                 /* items 0 and 2 left */
    assert_int_equal(selector_pick(&s2, f.items, 3, NULL, 10), 0); /* counter 0 */
    assert_int_equal(selector_pick(&s2, f.items, 3, NULL, 10), 2); /* counter 1 */
    assert_int_equal(selector_pick(&s2, f.items, 3, NULL, 10), 0); /* counter 2 */
    /* item 1 is back after its fail timeout: counter 3 % 3 = 0, 4 % 3 = 1 */
    assert_int_equal(selector_pick(&s2, f.items, 3, NULL, 1000), 0);
    assert_int_equal(selector_pick(&s2, f.items, 3, NULL, 1000), 1);
}

static void test_fifo(void **state)
{
    (void)state;
    struct fixture f;
    struct selector s = make("ha", 1, 5000);
    fixture_init(&f, 3);

    for (int i = 0; i < 4; i++)
        assert_int_equal(selector_pick(&s, f.items, 3, NULL, 0), 0);
    sel_mark_fail(&f.marks[0], 100);
    assert_int_equal(selector_pick(&s, f.items, 3, NULL, 200), 1);
    sel_mark_fail(&f.marks[1], 200);
    assert_int_equal(selector_pick(&s, f.items, 3, NULL, 300), 2);
    /* the primary recovers after the timeout and is preferred again */
    assert_int_equal(selector_pick(&s, f.items, 3, NULL, 5100), 0);
    /* or at once when a success is recorded */
    sel_mark_fail(&f.marks[0], 6000);
    assert_int_equal(selector_pick(&s, f.items, 3, NULL, 6001), 1);
    sel_mark_ok(&f.marks[0]);
    assert_int_equal(selector_pick(&s, f.items, 3, NULL, 6002), 0);
}

static void test_random_weighted(void **state)
{
    (void)state;
    struct fixture f;
    struct selector s = make("random", 0, 0);
    int counts[N_MAX] = {0};
    const int picks = 60000;

    selector_rng_seed(12345);
    fixture_init(&f, 3);
    f.items[0].weight = 1;
    f.items[1].weight = 3;
    f.items[2].weight = 0; /* counts as 1 */
    for (int i = 0; i < picks; i++) {
        int r = selector_pick(&s, f.items, 3, NULL, 0);
        assert_true(r >= 0 && r < 3);
        counts[r]++;
    }
    /* expected 1/5, 3/5, 1/5; allow +-10% relative */
    assert_in_range(counts[0], picks / 5 * 9 / 10, picks / 5 * 11 / 10);
    assert_in_range(counts[1], picks * 3 / 5 * 9 / 10, picks * 3 / 5 * 11 / 10);
    assert_in_range(counts[2], picks / 5 * 9 / 10, picks / 5 * 11 / 10);

    /* the same seed gives the same sequence */
    int seq1[32], seq2[32];
    selector_rng_seed(99);
    for (int i = 0; i < 32; i++)
        seq1[i] = selector_pick(&s, f.items, 3, NULL, 0);
    selector_rng_seed(99);
    for (int i = 0; i < 32; i++)
        seq2[i] = selector_pick(&s, f.items, 3, NULL, 0);
    assert_memory_equal(seq1, seq2, sizeof(seq1));

    /* a heavy item wins nearly always; filtered items never come up */
    fixture_init(&f, 3);
    f.items[0].weight = 100;
    f.items[1].weight = 1;
    f.items[2].weight = 1000;
    sel_mark_fail(&f.marks[2], 0);
    int heavy = 0;
    for (int i = 0; i < 2000; i++) {
        int r = selector_pick(&s, f.items, 3, NULL, 10);
        assert_true(r == 0 || r == 1);
        heavy += r == 0;
    }
    assert_true(heavy > 1800);
}

static void test_hash(void **state)
{
    (void)state;
    struct fixture f;
    struct selector s = make("hash", 0, 0);
    const char *keys[] = {"test-client", "192.168.1.100", "10.0.0.1", "example.com:443", ""};

    fixture_init(&f, 5);
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        int want = (int)(crc32_ieee(keys[k], strlen(keys[k])) % 5);
        for (int i = 0; i < 3; i++)
            assert_int_equal(selector_pick(&s, f.items, 5, keys[k], 0), want);
    }
    /* "" hashes to CRC 0 -> the first item, as GOST does for an empty source */
    assert_int_equal(selector_pick(&s, f.items, 5, "", 0), 0);

    /* the modulus is the filtered list: fail the item the key maps to and it moves */
    const char *key = "192.168.1.100";
    int first = selector_pick(&s, f.items, 5, key, 0);
    sel_mark_fail(&f.marks[first], 0);
    int second = selector_pick(&s, f.items, 5, key, 1);
    assert_true(second >= 0 && second != first);
    int idx = (int)(crc32_ieee(key, strlen(key)) % 4); /* position among the 4 left */
    int expect = -1;
    for (int i = 0, pos = 0; i < 5; i++) {
        if (i == first)
            continue;
        if (pos++ == idx)
            expect = i;
    }
    assert_int_equal(second, expect);

    /* different keys spread; no key is random (uniform-ish) */
    fixture_init(&f, 4);
    int counts[4] = {0};
    selector_rng_seed(7);
    for (int i = 0; i < 4000; i++)
        counts[selector_pick(&s, f.items, 4, NULL, 0)]++;
    for (int i = 0; i < 4; i++)
        assert_in_range(counts[i], 800, 1200);
}

/* ---- filters ------------------------------------------------------------------------------- */

static void test_fail_filter(void **state)
{
    (void)state;
    struct fixture f;
    struct selector s = make("fifo", 2, 1000);
    fixture_init(&f, 2);

    /* below max_fails: still used */
    sel_mark_fail(&f.marks[0], 100);
    assert_int_equal(sel_mark_fails(&f.marks[0]), 1);
    assert_int_equal(selector_pick(&s, f.items, 2, NULL, 150), 0);
    /* at max_fails: excluded until fail_timeout after the last failure */
    sel_mark_fail(&f.marks[0], 200);
    assert_int_equal(selector_pick(&s, f.items, 2, NULL, 250), 1);
    assert_int_equal(selector_pick(&s, f.items, 2, NULL, 1199), 1);
    assert_int_equal(selector_pick(&s, f.items, 2, NULL, 1200), 0); /* now - last >= timeout */
    /* one more failure while half-open: out again for a full timeout */
    sel_mark_fail(&f.marks[0], 1300);
    assert_int_equal(sel_mark_fails(&f.marks[0]), 3);
    assert_int_equal(selector_pick(&s, f.items, 2, NULL, 2299), 1);
    assert_int_equal(selector_pick(&s, f.items, 2, NULL, 2300), 0);
    /* success resets */
    sel_mark_ok(&f.marks[0]);
    assert_int_equal(sel_mark_fails(&f.marks[0]), 0);
    assert_int_equal(selector_pick(&s, f.items, 2, NULL, 2301), 0);

    /* all failed: nothing (GOST returns nil), until one times out */
    sel_mark_fail(&f.marks[0], 3000);
    sel_mark_fail(&f.marks[0], 3000);
    sel_mark_fail(&f.marks[1], 3500);
    sel_mark_fail(&f.marks[1], 3500);
    assert_int_equal(selector_pick(&s, f.items, 2, NULL, 3600), -1);
    assert_int_equal(selector_pick(&s, f.items, 2, NULL, 4000), 0);
    assert_int_equal(selector_pick(&s, f.items, 2, NULL, 4499), 0);

    /* items without a mark are never filtered; NULL marks are ignored */
    fixture_init(&f, 2);
    f.items[0].mark = NULL;
    sel_mark_fail(NULL, 0);
    sel_mark_ok(NULL);
    assert_int_equal(sel_mark_fails(NULL), 0);
    assert_int_equal(selector_pick(&s, f.items, 2, NULL, 0), 0);
}

static void test_fail_filter_overrides(void **state)
{
    (void)state;
    struct fixture f;
    struct selector s = make("fifo", 1, 10000);
    fixture_init(&f, 3);

    /* item 0: maxFails 3; item 1: failTimeout 100 ms; item 2: selector defaults */
    f.items[0].max_fails = 3;
    f.items[1].fail_timeout_ms = 100;
    sel_mark_fail(&f.marks[0], 0);
    sel_mark_fail(&f.marks[0], 0);
    assert_int_equal(selector_pick(&s, f.items, 3, NULL, 1), 0);
    sel_mark_fail(&f.marks[0], 0);
    assert_int_equal(selector_pick(&s, f.items, 3, NULL, 1), 1);
    sel_mark_fail(&f.marks[1], 0);
    assert_int_equal(selector_pick(&s, f.items, 3, NULL, 1), 2);
    assert_int_equal(selector_pick(&s, f.items, 3, NULL, 100), 1); /* its own 100 ms */
    sel_mark_fail(&f.marks[2], 0);
    assert_int_equal(selector_pick(&s, f.items, 3, NULL, 99), -1);
    assert_int_equal(selector_pick(&s, f.items, 3, NULL, 9999), 1);
    assert_int_equal(selector_pick(&s, f.items, 3, NULL, 10000), 0);
}

static void test_backup_filter(void **state)
{
    (void)state;
    struct fixture f;
    struct selector s = make("round", 1, 1000);
    fixture_init(&f, 4);
    f.items[1].backup = true;
    f.items[3].backup = true;

    /* only primaries while one is alive */
    for (int i = 0; i < 6; i++) {
        int r = selector_pick(&s, f.items, 4, NULL, 0);
        assert_true(r == 0 || r == 2);
    }
    sel_mark_fail(&f.marks[0], 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(selector_pick(&s, f.items, 4, NULL, 1), 2);
    /* all primaries failed: the backups take over, round-robin among them */
    sel_mark_fail(&f.marks[2], 0);
    int seen1 = 0, seen3 = 0;
    for (int i = 0; i < 6; i++) {
        int r = selector_pick(&s, f.items, 4, NULL, 2);
        assert_true(r == 1 || r == 3);
        seen1 += r == 1;
        seen3 += r == 3;
    }
    assert_int_equal(seen1, 3);
    assert_int_equal(seen3, 3);
    /* a primary recovers: backups are left again */
    assert_int_equal(selector_pick(&s, f.items, 4, NULL, 1000), 0);

    /* only backups configured: they are used like primaries */
    fixture_init(&f, 2);
    f.items[0].backup = f.items[1].backup = true;
    struct selector s2 = make("rr", 0, 0);
    assert_int_equal(selector_pick(&s2, f.items, 2, NULL, 0), 0);
    assert_int_equal(selector_pick(&s2, f.items, 2, NULL, 0), 1);

    /* one primary failed + one backup: the backup (single survivor) */
    fixture_init(&f, 2);
    f.items[1].backup = true;
    sel_mark_fail(&f.marks[0], 0);
    assert_int_equal(selector_pick(&s2, f.items, 2, NULL, 1), 1);
    /* everything failed: nothing, backups are not a fallback for failed backups */
    sel_mark_fail(&f.marks[1], 0);
    assert_int_equal(selector_pick(&s2, f.items, 2, NULL, 1), -1);
}

static void test_many_items(void **state)
{
    (void)state;
    /* more items than the on-stack bitmap holds */
    size_t n = 5000;
    struct sel_mark *marks = calloc(n, sizeof(*marks));
    struct sel_item *items = calloc(n, sizeof(*items));
    struct selector s = make("round", 1, 1000);
    for (size_t i = 0; i < n; i++)
        items[i].mark = &marks[i];
    for (size_t i = 0; i < n - 1; i++)
        sel_mark_fail(&marks[i], 0);
    assert_int_equal(selector_pick(&s, items, n, NULL, 1), (int)(n - 1));
    assert_int_equal(selector_pick(&s, items, n, NULL, 1), (int)(n - 1));
    assert_int_equal(selector_pick(&s, items, n, NULL, 1000), 2);
    free(items);
    free(marks);
}

/* ---- threads ------------------------------------------------------------------------------- */

#define THREADS 4
#define PICKS   20000

struct thr {
    struct selector *s;
    struct fixture *f;
    int counts[N_MAX];
};

static void *picker(void *arg)
{
    struct thr *t = arg;
    for (int i = 0; i < PICKS; i++) {
        int r = selector_pick(t->s, t->f->items, 4, NULL, 0);
        if (r >= 0)
            t->counts[r]++;
        if (i % 1000 == 0) /* concurrent marks must be harmless */
            sel_mark_ok(&t->f->marks[i % 4]);
    }
    return NULL;
}

static void test_concurrent_round_robin(void **state)
{
    (void)state;
    struct fixture f;
    struct selector s = make("round", 0, 0);
    struct thr t[THREADS];
    pthread_t th[THREADS];

    fixture_init(&f, 4);
    for (int i = 0; i < THREADS; i++) {
        memset(&t[i], 0, sizeof(t[i]));
        t[i].s = &s;
        t[i].f = &f;
        assert_int_equal(pthread_create(&th[i], NULL, picker, &t[i]), 0);
    }
    int total[4] = {0};
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        for (int k = 0; k < 4; k++)
            total[k] += t[i].counts[k];
    }
    /* one shared atomic counter: exactly even over all threads */
    for (int k = 0; k < 4; k++)
        assert_int_equal(total[k], THREADS * PICKS / 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32_vectors),
        cmocka_unit_test(test_init_and_names),
        cmocka_unit_test(test_empty_and_single),
        cmocka_unit_test(test_round_robin),
        cmocka_unit_test(test_fifo),
        cmocka_unit_test(test_random_weighted),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_fail_filter),
        cmocka_unit_test(test_fail_filter_overrides),
        cmocka_unit_test(test_backup_filter),
        cmocka_unit_test(test_many_items),
        cmocka_unit_test(test_concurrent_round_robin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
