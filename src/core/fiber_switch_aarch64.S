/* fiber_switch (AArch64 AAPCS64): context switch for fibers; see fiber_ctx.h.
 *
 * Frame saved on the stack being left (160 bytes, 16-byte aligned):
 *   [sp+0]   x19 x20   [sp+16]  x21 x22   [sp+32]  x23 x24   [sp+48] x25 x26
 *   [sp+64]  x27 x28   [sp+80]  x29 x30   [sp+96]  d8 d9     [sp+112] d10 d11
 *   [sp+128] d12 d13   [sp+144] d14 d15
 * A new context (fiber_ctx_make) has x19 = arg, x20 = entry, x29 = 0 and
 * x30 = fiber_ctx_trampoline.
 */
#if defined(__aarch64__) && !defined(GOST_FIBER_UCONTEXT)

    .text
    .globl  fiber_ctx_switch
    .hidden fiber_ctx_switch
    .type   fiber_ctx_switch, %function
    .p2align 4
fiber_ctx_switch:
    /* x0 = void **save_sp, x1 = void *to_sp */
    sub     sp, sp, #160
    stp     x19, x20, [sp, #0]
    stp     x21, x22, [sp, #16]
    stp     x23, x24, [sp, #32]
    stp     x25, x26, [sp, #48]
    stp     x27, x28, [sp, #64]
    stp     x29, x30, [sp, #80]
    stp     d8, d9, [sp, #96]
    stp     d10, d11, [sp, #112]
    stp     d12, d13, [sp, #128]
    stp     d14, d15, [sp, #144]
    mov     x9, sp
    str     x9, [x0]
    mov     sp, x1
    ldp     x19, x20, [sp, #0]
    ldp     x21, x22, [sp, #16]
    ldp     x23, x24, [sp, #32]
    ldp     x25, x26, [sp, #48]
    ldp     x27, x28, [sp, #64]
    ldp     x29, x30, [sp, #80]
    ldp     d8, d9, [sp, #96]
    ldp     d10, d11, [sp, #112]
    ldp     d12, d13, [sp, #128]
    ldp     d14, d15, [sp, #144]
    add     sp, sp, #160
    ret
    .size   fiber_ctx_switch, .-fiber_ctx_switch

    .globl  fiber_ctx_trampoline
    .hidden fiber_ctx_trampoline
    .type   fiber_ctx_trampoline, %function
    .p2align 4
fiber_ctx_trampoline:
    /* First switch into a new context lands here (x30): call entry(arg). */
    mov     x0, x19
    blr     x20
    brk     #0
    .size   fiber_ctx_trampoline, .-fiber_ctx_trampoline

#endif

#if defined(__linux__) && defined(__ELF__)
    .section .note.GNU-stack, "", %progbits
#endif
