/* fiber: spawn, switch, park/wake, cancel, sleep, the error slot, and the stack pool. */
#include "core/fiber.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/worker.h"

#if defined(__SANITIZE_ADDRESS__)
#define FIBER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FIBER_ASAN 1
#endif
#endif

#ifdef FIBER_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define FIBER_DEFAULT_STACK_KIB 256
#else
#define FIBER_DEFAULT_STACK_KIB 64
#endif
#define FIBER_MIN_STACK_KIB 16
#define FIBER_MAX_STACK_KIB (64 * 1024)
#define FIBER_POOL_MAX      128 /* pooled stacks kept per worker */

static pthread_once_t fiber_sizes_once = PTHREAD_ONCE_INIT;
static size_t fiber_page;     /* guard page size */
static size_t fiber_map_size; /* guard + stack + struct fiber */
static size_t fiber_top_size; /* bytes at the top reserved for struct fiber */

static void fiber_sizes_init(void)
{
    long page = sysconf(_SC_PAGESIZE);
    fiber_page = page > 0 ? (size_t)page : 4096;
    size_t kib = FIBER_DEFAULT_STACK_KIB;
    const char *env = getenv("GOST_FIBER_STACK");
    if (env && *env) {
        char *end;
        unsigned long v = strtoul(env, &end, 10);
        if (*end == '\0' && v >= FIBER_MIN_STACK_KIB && v <= FIBER_MAX_STACK_KIB)
            kib = v;
    }
    size_t bytes = (kib * 1024 + fiber_page - 1) / fiber_page * fiber_page;
    fiber_map_size = fiber_page + bytes;
    fiber_top_size = (sizeof(struct fiber) + 63) & ~(size_t)63;
}

static char *fiber_stack_lo(const struct fiber *f)
{
    return f->map + fiber_page;
}

static size_t fiber_stack_size(const struct fiber *f)
{
    return (size_t)((const char *)f - fiber_stack_lo(f));
}

/* ---- AddressSanitizer stack-switch annotations ---- */

static inline void fiber_asan_start(void **fake, const void *lo, size_t size)
{
#ifdef FIBER_ASAN
    __sanitizer_start_switch_fiber(fake, lo, size);
#else
    (void)fake, (void)lo, (void)size;
#endif
}

static inline void fiber_asan_finish(void *fake, const void **lo, size_t *size)
{
#ifdef FIBER_ASAN
    __sanitizer_finish_switch_fiber(fake, lo, size);
#else
    (void)fake, (void)lo, (void)size;
#endif
}

static void fiber_unpoison(struct fiber *f)
{
#ifdef FIBER_ASAN
    ASAN_UNPOISON_MEMORY_REGION(fiber_stack_lo(f), fiber_stack_size(f));
#else
    (void)f;
#endif
}

/* ---- stacks ---- */

static struct fiber *fiber_stack_get(struct worker *w)
{
    struct fiber *f = w->stack_free;
    if (f) {
        w->stack_free = f->run_next;
        w->nstack_free--;
        fiber_unpoison(f);
        return f;
    }
    char *map = mmap(NULL, fiber_map_size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (map == MAP_FAILED)
        return NULL;
    if (mprotect(map, fiber_page, PROT_NONE) < 0) {
        int e = errno;
        munmap(map, fiber_map_size);
        errno = e;
        return NULL;
    }
    f = (struct fiber *)(map + fiber_map_size - fiber_top_size);
    f->map = map;
    f->map_size = fiber_map_size;
    return f;
}

static void fiber_stack_unmap(struct fiber *f)
{
    fiber_unpoison(f);
    munmap(f->map, f->map_size);
}

static void fiber_stack_put(struct worker *w, struct fiber *f)
{
    if (w->nstack_free >= FIBER_POOL_MAX) {
        fiber_stack_unmap(f);
        return;
    }
    f->run_next = w->stack_free;
    w->stack_free = f;
    w->nstack_free++;
}

void fiber_stack_pool_free(struct worker *w)
{
    while (w->stack_free) {
        struct fiber *f = w->stack_free;
        w->stack_free = f->run_next;
        fiber_stack_unmap(f);
    }
    w->nstack_free = 0;
}

/* ---- run queue and list of live fibers ---- */

static void fiber_enqueue(struct worker *w, struct fiber *f)
{
    f->state = FIBER_RUNNABLE;
    f->run_next = NULL;
    if (w->runq_tail)
        w->runq_tail->run_next = f;
    else
        w->runq_head = f;
    w->runq_tail = f;
}

static void fiber_unlink_all(struct worker *w, struct fiber *f)
{
    if (f->all_prev)
        f->all_prev->all_next = f->all_next;
    else
        w->all = f->all_next;
    if (f->all_next)
        f->all_next->all_prev = f->all_prev;
    w->nfibers--;
}

/* ---- switching ---- */

/* From the running fiber back to its worker's loop. */
static void fiber_switch_out(struct fiber *f, bool dying)
{
    struct worker *w = f->w;
    fiber_asan_start(dying ? NULL : &f->asan_fake, w->sched_stack_lo, w->sched_stack_size);
    fiber_ctx_swap(&f->ctx, &w->sched_ctx);
    fiber_asan_finish(f->asan_fake, &w->sched_stack_lo, &w->sched_stack_size);
}

static void fiber_entry(void *p)
{
    struct fiber *f = p;
    struct worker *w = f->w;
    fiber_asan_finish(NULL, &w->sched_stack_lo, &w->sched_stack_size);
    f->fn(f->arg);
    f->state = FIBER_DEAD;
    fiber_switch_out(f, true);
    worker_panic("a dead fiber was resumed");
}

void fiber_resume(struct worker *w, struct fiber *f)
{
    w->current = f;
    f->state = FIBER_RUNNING;
    fiber_asan_start(&w->sched_fake, fiber_stack_lo(f), fiber_stack_size(f));
    fiber_ctx_swap(&w->sched_ctx, &f->ctx);
    fiber_asan_finish(w->sched_fake, NULL, NULL);
    w->current = NULL;
    if (f->state == FIBER_DEAD) {
        timer_stop(&f->park_timer);
        fiber_unlink_all(w, f);
        fiber_stack_put(w, f);
    }
}

/* ---- public API ---- */

struct fiber *fiber_spawn_on(struct worker *w, void (*fn)(void *), void *arg)
{
    pthread_once(&fiber_sizes_once, fiber_sizes_init);
    struct fiber *f = fiber_stack_get(w);
    if (!f)
        return NULL;
    char *map = f->map;
    size_t map_size = f->map_size;
    memset(f, 0, sizeof *f);
    f->map = map;
    f->map_size = map_size;
    f->w = w;
    f->fn = fn;
    f->arg = arg;
    f->id = ++w->next_fiber_id;
    timer_init(&f->park_timer);
    fiber_ctx_make(&f->ctx, fiber_stack_lo(f), fiber_stack_size(f), fiber_entry, f);
    f->all_next = w->all;
    if (w->all)
        w->all->all_prev = f;
    w->all = f;
    w->nfibers++;
    fiber_enqueue(w, f);
    return f;
}

struct fiber *fiber_spawn(void (*fn)(void *arg), void *arg)
{
    struct worker *w = worker_cur;
    if (!w) {
        errno = EPERM;
        return NULL;
    }
    return fiber_spawn_on(w, fn, arg);
}

struct fiber *fiber_self(void)
{
    struct worker *w = worker_cur;
    return w ? w->current : NULL;
}

static struct fiber *fiber_self_or_panic(const char *what)
{
    struct fiber *f = fiber_self();
    if (!f)
        worker_panic(what);
    return f;
}

void fiber_yield(void)
{
    struct fiber *f = fiber_self_or_panic("fiber_yield called outside a fiber");
    fiber_enqueue(f->w, f);
    fiber_switch_out(f, false);
}

static void fiber_park_timeout(struct timer *t)
{
    struct fiber *f = (struct fiber *)((char *)t - offsetof(struct fiber, park_timer));
    fiber_wake_rc(f, -ETIMEDOUT);
}

int fiber_park(int64_t deadline)
{
    struct fiber *f = fiber_self_or_panic("fiber_park called outside a fiber (blocking call?)");
    if (f->cancelled)
        return -ECANCELED;
    if (deadline != DEADLINE_NONE) {
        if (deadline <= clock_now_ms())
            return -ETIMEDOUT;
        timer_start(&f->park_timer, deadline, fiber_park_timeout);
    }
    f->state = FIBER_PARKED;
    f->park_rc = 0;
    fiber_switch_out(f, false);
    timer_stop(&f->park_timer);
    return f->park_rc;
}

void fiber_wake_rc(struct fiber *f, int rc)
{
    if (f->state != FIBER_PARKED)
        return;
    f->park_rc = rc;
    fiber_enqueue(f->w, f);
}

void fiber_wake(struct fiber *f)
{
    if (f->w != worker_cur)
        worker_panic("fiber_wake from another thread");
    fiber_wake_rc(f, 0);
}

void fiber_cancel(struct fiber *f)
{
    if (f->w != worker_cur)
        worker_panic("fiber_cancel from another thread");
    f->cancelled = true;
    fiber_wake_rc(f, -ECANCELED);
}

bool fiber_cancelled(void)
{
    struct fiber *f = fiber_self();
    return f && f->cancelled;
}

int fiber_sleep_ms(int64_t ms)
{
    if (ms <= 0) {
        fiber_yield();
        return fiber_cancelled() ? -ECANCELED : 0;
    }
    int64_t deadline = deadline_in(ms);
    for (;;) {
        int rc = fiber_park(deadline);
        if (rc == -ETIMEDOUT)
            return 0;
        if (rc == -ECANCELED)
            return rc;
    }
}

uint64_t fiber_id(const struct fiber *f)
{
    return f ? f->id : 0;
}

void fiber_set_name(struct fiber *f, const char *name)
{
    f->name = name;
}

const char *fiber_name(const struct fiber *f)
{
    return f && f->name ? f->name : "";
}

void fiber_cancel_all(struct worker *w)
{
    for (struct fiber *f = w->all; f; f = f->all_next)
        fiber_cancel(f);
}

void fiber_drop_all(struct worker *w)
{
    while (w->all) {
        struct fiber *f = w->all;
        fiber_unlink_all(w, f);
        fiber_stack_unmap(f);
    }
    w->runq_head = w->runq_tail = NULL;
}

/* ---- error slot ---- */

static _Thread_local char fiber_thread_err[FIBER_ERR_MAX];

static char *fiber_err_slot(void)
{
    struct fiber *f = fiber_self();
    return f ? f->err : fiber_thread_err;
}

void fiber_set_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fiber_err_slot(), FIBER_ERR_MAX, fmt, ap);
    va_end(ap);
}

void fiber_wrap_err(const char *fmt, ...)
{
    char *slot = fiber_err_slot();
    char buf[2 * FIBER_ERR_MAX + 2];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, FIBER_ERR_MAX, fmt, ap);
    va_end(ap);
    size_t len = n < 0 ? 0 : strnlen(buf, FIBER_ERR_MAX - 1);
    if (slot[0] != '\0') {
        buf[len++] = ':';
        buf[len++] = ' ';
        size_t old = strnlen(slot, FIBER_ERR_MAX - 1);
        memcpy(buf + len, slot, old);
        len += old;
    }
    if (len > FIBER_ERR_MAX - 1)
        len = FIBER_ERR_MAX - 1;
    memcpy(slot, buf, len);
    slot[len] = '\0';
}

void fiber_clear_err(void)
{
    fiber_err_slot()[0] = '\0';
}

const char *fiber_err(void)
{
    return fiber_err_slot();
}
