/* fiber_ctx: machine context switch (internal to core/; use fiber.h).
 *
 * x86_64 and aarch64 use a small assembly switch (fiber_switch_*.S) that saves only the
 * callee-saved registers on the stack being left; other targets (or -DGOST_FIBER_UCONTEXT) use
 * ucontext. fiber_ctx_make prepares a context that starts entry(arg) on the given stack; entry
 * must never return (it switches away for the last time instead).
 */
#ifndef GOST_CORE_FIBER_CTX_H
#define GOST_CORE_FIBER_CTX_H

#include <stddef.h>

#if defined(GOST_FIBER_UCONTEXT) || !(defined(__x86_64__) || defined(__aarch64__))
#define FIBER_CTX_UCONTEXT 1
#include <ucontext.h>

struct fiber_ctx {
    ucontext_t uc;
};

static inline void fiber_ctx_swap(struct fiber_ctx *from, struct fiber_ctx *to)
{
    swapcontext(&from->uc, &to->uc);
}
#else
struct fiber_ctx {
    void *sp; /* saved stack pointer; the registers are on that stack */
};

/* Implemented in fiber_switch_<arch>.S: save callee-saved state on the current stack, store the
 * stack pointer in *save_sp, load to_sp and restore from it. */
void fiber_ctx_switch(void **save_sp, void *to_sp);

static inline void fiber_ctx_swap(struct fiber_ctx *from, struct fiber_ctx *to)
{
    fiber_ctx_switch(&from->sp, to->sp);
}
#endif

/* Prepare ctx to run entry(arg) on [stack_lo, stack_lo + size) when first switched to. */
void fiber_ctx_make(struct fiber_ctx *ctx, void *stack_lo, size_t size, void (*entry)(void *),
                    void *arg);

#endif
