/* selector: GOST's load-balancing selector (go-gost/x selector/) as pure logic, no I/O.
 *
 * Used by hops (pick a node), forwarders (pick a target) and chain groups (pick a chain). The
 * caller keeps its own list of things and describes it as an array of struct sel_item (same
 * order); selector_pick returns an index into that array.
 *
 * A pick runs, like GOST's defaultSelector.Select:
 *   1. fail filter   - drops an item while fails >= max_fails and now - last_fail < fail_timeout
 *                      (per-item overrides; a list of 0 or 1 items is never filtered);
 *   2. backup filter - of what is left, only the non-backup items, or the backup items when no
 *                      non-backup item is left (a list of 0 or 1 items is never filtered);
 *   3. nothing left  - returns -1 (GOST returns nil: "no node available"); there is no fallback
 *                      to failed items until their fail_timeout has passed;
 *   4. strategy      - over the remaining items, in their original order:
 *        round (rr, default)  shared counter, (counter++) % len
 *        random (rand)        weighted: item weight (<= 0 counts as 1) / sum of weights
 *        fifo (ha)            the first remaining item
 *        hash                 CRC-32/IEEE(hash_key) % len; uniform random when hash_key is NULL
 *
 * Fail marks (struct sel_mark) belong to the items (a node, a chain) and are shared by every
 * worker thread: the dialing code calls sel_mark_fail() when a dial/handshake through the
 * item fails and sel_mark_ok() when it succeeds (GOST's Marker.Mark / Marker.Reset).
 *
 * Naming: the mark functions and the item/mark types keep the short `sel_` prefix the team's API
 * sketch gave them; the selector itself uses `selector_`.
 *
 * Threading: selector_pick, sel_mark_* may run concurrently from any thread (atomics only,
 * no locks). selector_init must finish before the selector is shared. Random choices use a
 * per-thread PRNG seeded from getrandom().
 *
 * Time: every `now_ms` is the caller's monotonic clock in milliseconds (clock_now_ms()); marks
 * and picks must use the same clock.
 */
#ifndef GOST_CHAIN_SELECTOR_H
#define GOST_CHAIN_SELECTOR_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* GOST's defaults (go-gost/x selector/selector.go). */
#define SEL_DEFAULT_MAX_FAILS       1
#define SEL_DEFAULT_FAIL_TIMEOUT_MS 10000

/* Failure state of one item. Zero-initialised (static, calloc, = {0}) means "never failed". */
struct sel_mark {
    _Atomic uint32_t fails;       /* consecutive failures since the last success (saturates) */
    _Atomic int64_t last_fail_ms; /* now_ms of the latest failure */
};

/* Records a failure at now_ms: fails + 1, last_fail = now_ms. NULL is ignored. */
void sel_mark_fail(struct sel_mark *m, int64_t now_ms);

/* Records a success: fails = 0 (last_fail is kept, as in GOST). NULL is ignored. */
void sel_mark_ok(struct sel_mark *m);

/* Current failure count (0 for NULL). */
uint32_t sel_mark_fails(const struct sel_mark *m);

/* What a pick needs to know about one candidate. All members are read-only to the selector. */
struct sel_item {
    struct sel_mark *mark;   /* borrowed; NULL = never filtered as failed */
    int weight;              /* metadata.weight; <= 0 counts as 1 (random strategy only) */
    bool backup;             /* metadata.backup */
    int max_fails;           /* metadata.maxFails; <= 0: the selector's */
    int64_t fail_timeout_ms; /* metadata.failTimeout; <= 0: the selector's */
};

enum sel_strategy {
    SEL_ROUND,  /* "round", "rr"; the default */
    SEL_RANDOM, /* "random", "rand" */
    SEL_FIFO,   /* "fifo", "ha" */
    SEL_HASH,   /* "hash" */
};

/* A selector (one per hop / forwarder / chain group). Initialise with selector_init; the
 * members are read-only afterwards except `counter`. Not copyable once in use. */
struct selector {
    enum sel_strategy strategy;
    int max_fails;            /* >= 1 */
    int64_t fail_timeout_ms;  /* >= 1 */
    _Atomic uint64_t counter; /* round-robin position */
};

/* Parses a strategy name (exact, lower-case, as GOST matches it). NULL or "" is round.
 * Returns 0, -ENOTSUP for GOST HEAD's "parallel" / "lowestlatency" ("lowest", "ll"), or -EINVAL
 * for anything else (GOST silently uses round; we report it). */
int selector_strategy_parse(const char *name, enum sel_strategy *out);

/* Canonical name of a strategy ("round", "random", "fifo", "hash"). */
const char *selector_strategy_name(enum sel_strategy s);

/* Initialises s. strategy: see selector_strategy_parse. max_fails <= 0 means 1 and
 * fail_timeout_ms <= 0 means 10 s (GOST's FailFilter defaults). Returns 0, or a negative errno
 * with a message in err (err may be NULL). */
int selector_init(struct selector *s, const char *strategy, int max_fails, int64_t fail_timeout_ms,
                  char *err, size_t errlen);

/* Picks one of items[0..n) (borrowed) as described above. hash_key (borrowed, NUL-terminated)
 * is only used by the hash strategy: the client ID when the client authenticated, else the hash
 * source (client IP, or the target host with the handler's hash=host); NULL when GOST would
 * have neither (then the pick is random). "" is hashed like any string (CRC 0 -> index 0), as
 * GOST does for an empty source. Returns the index, or -1 when n == 0 or every item is filtered
 * out. n must not exceed INT_MAX. */
int selector_pick(struct selector *s, const struct sel_item *items, size_t n, const char *hash_key,
                  int64_t now_ms);

/* Test hook: reseeds the calling thread's PRNG so that random picks are reproducible. */
void selector_rng_seed(uint64_t seed);

#endif
