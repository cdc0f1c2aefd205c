/* fiber_ctx: preparing new machine contexts (the switch itself is in fiber_switch_*.S). */
#include "core/fiber_ctx.h"

#include <stdint.h>
#include <string.h>

#ifdef FIBER_CTX_UCONTEXT
#include <stdlib.h>

/* makecontext passes int arguments only: carry each pointer as two 32-bit halves. */
static void fiber_ctx_uc_entry(unsigned e_hi, unsigned e_lo, unsigned a_hi, unsigned a_lo)
{
    uintptr_t e = ((uintptr_t)e_hi << 16 << 16) | e_lo;
    uintptr_t a = ((uintptr_t)a_hi << 16 << 16) | a_lo;
    void (*entry)(void *);
    memcpy(&entry, &e, sizeof entry);
    entry((void *)a);
    abort(); /* entry never returns */
}

void fiber_ctx_make(struct fiber_ctx *ctx, void *stack_lo, size_t size, void (*entry)(void *),
                    void *arg)
{
    uintptr_t e, a = (uintptr_t)arg;
    memcpy(&e, &entry, sizeof e);
    getcontext(&ctx->uc);
    ctx->uc.uc_stack.ss_sp = stack_lo;
    ctx->uc.uc_stack.ss_size = size;
    ctx->uc.uc_link = NULL;
    makecontext(&ctx->uc, (void (*)(void))fiber_ctx_uc_entry, 4, (unsigned)(e >> 16 >> 16),
                (unsigned)e, (unsigned)(a >> 16 >> 16), (unsigned)a);
}

#else

void fiber_ctx_trampoline(void);

void fiber_ctx_make(struct fiber_ctx *ctx, void *stack_lo, size_t size, void (*entry)(void *),
                    void *arg)
{
    uintptr_t top = ((uintptr_t)stack_lo + size) & ~(uintptr_t)15;
    uintptr_t tramp = (uintptr_t)fiber_ctx_trampoline;
    uintptr_t ent;
    memcpy(&ent, &entry, sizeof ent);
#if defined(__x86_64__)
    /* See the frame layout in fiber_switch_x86_64.S. After its final `ret` rsp == top, which is
     * 16-byte aligned as the trampoline's call requires. */
    uint64_t *sp = (uint64_t *)(top - 8 * sizeof(uint64_t));
    sp[0] = 0;              /* padding */
    sp[1] = 0;              /* r15 */
    sp[2] = 0;              /* r14 */
    sp[3] = 0;              /* r13 */
    sp[4] = ent;            /* r12 = entry */
    sp[5] = (uintptr_t)arg; /* rbx = arg */
    sp[6] = 0;              /* rbp */
    sp[7] = tramp;          /* return address */
#elif defined(__aarch64__)
    /* See the frame layout in fiber_switch_aarch64.S. */
    uint64_t *sp = (uint64_t *)(top - 20 * sizeof(uint64_t));
    memset(sp, 0, 20 * sizeof(uint64_t));
    sp[0] = (uintptr_t)arg; /* x19 */
    sp[1] = ent;            /* x20 */
    sp[10] = 0;             /* x29 (frame pointer) */
    sp[11] = tramp;         /* x30 (link register) */
#endif
    ctx->sp = sp;
}

#endif
