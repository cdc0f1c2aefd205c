/* fiber_switch (x86_64 System V): context switch for fibers; see fiber_ctx.h.
 *
 * Frame saved on the stack being left (from low to high address):
 *   [sp+0]  padding (keeps the saved sp 16-byte aligned)
 *   [sp+8]  r15, r14, r13, r12, rbx, rbp
 *   [sp+56] return address
 * The MXCSR and x87 control words are not switched: floating-point modes are per thread, and no
 * code of ours changes them inside a fiber (saving them cost ~40% of a switch).
 * A new context (fiber_ctx_make) has the same frame with r12 = entry, rbx = arg and the return
 * address = fiber_ctx_trampoline.
 */
#if defined(__x86_64__) && !defined(GOST_FIBER_UCONTEXT)

    .text
    .globl  fiber_ctx_switch
    .hidden fiber_ctx_switch
    .type   fiber_ctx_switch, @function
    .p2align 4
fiber_ctx_switch:
    /* rdi = void **save_sp, rsi = void *to_sp */
    pushq   %rbp
    pushq   %rbx
    pushq   %r12
    pushq   %r13
    pushq   %r14
    pushq   %r15
    subq    $8, %rsp
    movq    %rsp, (%rdi)
    movq    %rsi, %rsp
    addq    $8, %rsp
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %rbx
    popq    %rbp
    ret
    .size   fiber_ctx_switch, .-fiber_ctx_switch

    .globl  fiber_ctx_trampoline
    .hidden fiber_ctx_trampoline
    .type   fiber_ctx_trampoline, @function
    .p2align 4
fiber_ctx_trampoline:
    /* Entered by the ret above with rsp 16-byte aligned: call entry(arg). */
    movq    %rbx, %rdi
    xorl    %ebp, %ebp
    callq   *%r12
    ud2
    .size   fiber_ctx_trampoline, .-fiber_ctx_trampoline

#endif

#if defined(__linux__) && defined(__ELF__)
    .section .note.GNU-stack, "", %progbits
#endif
