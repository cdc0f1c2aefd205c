/* selector: see selector.h. The filters are evaluated once per item into a bitmap (the marks may
 * change under us; one snapshot keeps counting and choosing consistent), so a pick needs no
 * allocation for up to SEL_STACK_ITEMS items. */
#include "chain/selector.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "core/crc32.h"

#define SEL_STACK_ITEMS 4096
#define SEL_WORD_BITS   64

/* ---- marks --------------------------------------------------------------------------------- */

void sel_mark_fail(struct sel_mark *m, int64_t now_ms)
{
    if (m == NULL)
        return;
    uint32_t f = atomic_load_explicit(&m->fails, memory_order_relaxed);
    while (f != UINT32_MAX && !atomic_compare_exchange_weak_explicit(
                                  &m->fails, &f, f + 1, memory_order_relaxed, memory_order_relaxed))
        ;
    atomic_store_explicit(&m->last_fail_ms, now_ms, memory_order_relaxed);
}

void sel_mark_ok(struct sel_mark *m)
{
    if (m == NULL)
        return;
    /* skip the store when already clean: no cache-line ping-pong on the success path */
    if (atomic_load_explicit(&m->fails, memory_order_relaxed) != 0)
        atomic_store_explicit(&m->fails, 0, memory_order_relaxed);
}

uint32_t sel_mark_fails(const struct sel_mark *m)
{
    if (m == NULL)
        return 0;
    return atomic_load_explicit(&((struct sel_mark *)m)->fails, memory_order_relaxed);
}

/* ---- per-thread PRNG (splitmix64) ---------------------------------------------------------- */

static _Thread_local uint64_t sel_rng_state;
static _Thread_local int sel_rng_seeded;

void selector_rng_seed(uint64_t seed)
{
    sel_rng_state = seed;
    sel_rng_seeded = 1;
}

static uint64_t selector_rng_next(void)
{
    if (!sel_rng_seeded) {
        uint64_t seed = 0;
        if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)(uintptr_t)&ts;
        }
        selector_rng_seed(seed);
    }
    uint64_t z = (sel_rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, bound), bound >= 1. The modulo bias of a 64-bit draw is below 2^-32 for any
 * bound we can see (item counts, weight sums < 2^32). */
static uint64_t selector_rng_below(uint64_t bound)
{
    if (bound <= 1)
        return 0;
    return selector_rng_next() % bound;
}

/* ---- strategy names ------------------------------------------------------------------------ */

int selector_strategy_parse(const char *name, enum sel_strategy *out)
{
    static const struct {
        const char *name;
        enum sel_strategy s;
    } names[] = {
        {"round", SEL_ROUND}, {"rr", SEL_ROUND}, {"random", SEL_RANDOM}, {"rand", SEL_RANDOM},
        {"fifo", SEL_FIFO},   {"ha", SEL_FIFO},  {"hash", SEL_HASH},
    };

    if (name == NULL || name[0] == '\0') {
        *out = SEL_ROUND;
        return 0;
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(name, names[i].name) == 0) {
            *out = names[i].s;
            return 0;
        }
    }
    if (strcmp(name, "parallel") == 0 || strcmp(name, "lowestlatency") == 0 ||
        strcmp(name, "lowest") == 0 || strcmp(name, "ll") == 0)
        return -ENOTSUP;
    return -EINVAL;
}

const char *selector_strategy_name(enum sel_strategy s)
{
    switch (s) {
    case SEL_RANDOM:
        return "random";
    case SEL_FIFO:
        return "fifo";
    case SEL_HASH:
        return "hash";
    case SEL_ROUND:
    default:
        return "round";
    }
}

int selector_init(struct selector *s, const char *strategy, int max_fails, int64_t fail_timeout_ms,
                  char *err, size_t errlen)
{
    enum sel_strategy st;
    int rc = selector_strategy_parse(strategy, &st);

    if (rc != 0) {
        if (err != NULL && errlen > 0) {
            if (rc == -ENOTSUP)
                snprintf(err, errlen, "selector strategy \"%s\" is not supported", strategy);
            else
                snprintf(err, errlen,
                         "unknown selector strategy \"%s\" (want round, rr, random, rand, fifo, "
                         "ha or hash)",
                         strategy);
        }
        return rc;
    }
    s->strategy = st;
    s->max_fails = max_fails > 0 ? max_fails : SEL_DEFAULT_MAX_FAILS;
    s->fail_timeout_ms = fail_timeout_ms > 0 ? fail_timeout_ms : SEL_DEFAULT_FAIL_TIMEOUT_MS;
    atomic_init(&s->counter, 0);
    return 0;
}

/* ---- pick ---------------------------------------------------------------------------------- */

static bool selector_item_alive(const struct selector *s, const struct sel_item *it, int64_t now)
{
    if (it->mark == NULL)
        return true;
    uint32_t max_fails = (uint32_t)(it->max_fails > 0 ? it->max_fails : s->max_fails);
    int64_t timeout = it->fail_timeout_ms > 0 ? it->fail_timeout_ms : s->fail_timeout_ms;
    uint32_t fails = atomic_load_explicit(&it->mark->fails, memory_order_relaxed);
    if (fails < max_fails)
        return true;
    int64_t last = atomic_load_explicit(&it->mark->last_fail_ms, memory_order_relaxed);
    return now - last >= timeout;
}

static inline bool sel_bit(const uint64_t *bits, size_t i)
{
    return (bits[i / SEL_WORD_BITS] >> (i % SEL_WORD_BITS)) & 1u;
}

int selector_pick(struct selector *s, const struct sel_item *items, size_t n, const char *hash_key,
                  int64_t now_ms)
{
    uint64_t stack_bits[SEL_STACK_ITEMS / SEL_WORD_BITS];
    uint64_t *alive = stack_bits;
    size_t nalive = 0, nprimary = 0;
    bool primaries_only;
    size_t m, k;
    int result = -1;

    if (n == 0 || n > INT_MAX)
        return -1;
    if (n > SEL_STACK_ITEMS) {
        alive = malloc(((n + SEL_WORD_BITS - 1) / SEL_WORD_BITS) * sizeof(uint64_t));
        if (alive == NULL)
            abort(); /* DESIGN §7: out of memory aborts */
    }
    memset(alive, 0, ((n + SEL_WORD_BITS - 1) / SEL_WORD_BITS) * sizeof(uint64_t));

    /* fail filter (a single item is never filtered) */
    for (size_t i = 0; i < n; i++) {
        if (n == 1 || selector_item_alive(s, &items[i], now_ms)) {
            alive[i / SEL_WORD_BITS] |= (uint64_t)1 << (i % SEL_WORD_BITS);
            nalive++;
            if (!items[i].backup)
                nprimary++;
        }
    }
    /* backup filter over what is left (again, 0 or 1 items pass untouched) */
    primaries_only = nalive > 1 && nprimary > 0;
    m = primaries_only ? nprimary : nalive;
    if (m == 0)
        goto out;

    /* strategy: k = position within the remaining items */
    switch (s->strategy) {
    case SEL_FIFO:
        k = 0;
        break;
    case SEL_HASH:
        if (hash_key != NULL)
            k = (size_t)((uint64_t)crc32_ieee(hash_key, strlen(hash_key)) % m);
        else
            k = (size_t)selector_rng_below(m);
        break;
    case SEL_RANDOM: {
        uint64_t sum = 0;
        for (size_t i = 0; i < n; i++) {
            if (sel_bit(alive, i) && (!primaries_only || !items[i].backup))
                sum += items[i].weight > 0 ? (uint64_t)items[i].weight : 1;
        }
        uint64_t r = selector_rng_below(sum);
        for (size_t i = 0; i < n; i++) {
            if (!sel_bit(alive, i) || (primaries_only && items[i].backup))
                continue;
            uint64_t w = items[i].weight > 0 ? (uint64_t)items[i].weight : 1;
            if (r < w) {
                result = (int)i;
                goto out;
            }
            r -= w;
        }
        goto out; /* not reached: r < sum */
    }
    case SEL_ROUND:
    default:
        k = (size_t)(atomic_fetch_add_explicit(&s->counter, 1, memory_order_relaxed) % m);
        break;
    }

    for (size_t i = 0; i < n; i++) {
        if (!sel_bit(alive, i) || (primaries_only && items[i].backup))
            continue;
        if (k == 0) {
            result = (int)i;
            break;
        }
        k--;
    }
out:
    if (alive != stack_bits)
        free(alive);
    return result;
}
