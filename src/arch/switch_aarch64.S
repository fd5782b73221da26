/* switch_aarch64.S: context switch for AArch64, AAPCS64.
 *
 * A context is a stack pointer. Saved in a 176-byte frame: d8-d15 (the
 * callee-saved halves of v8-v15), x19-x28, the frame pointer x29, the
 * resume address x30, and FPCR (rounding mode and trap enables).
 *
 *   eddy__transfer eddy__ctx_switch(void *to, void *data)
 *     x0 = to, x1 = data; returns {from in x0, data in x1}.
 *   eddy__ctx_switch_nofp: the same without FPCR (the default).
 *
 * Resumes with `br`, not `ret`, so the return-address predictor is not
 * trained on a return that goes to another stack. That makes this file
 * incompatible with BTI (a `br` may only land on a `bti j`, and the resume
 * address is any call site), so it carries no GNU property note: a program
 * linking it is not BTI-marked, even when the C code is built with
 * -mbranch-protection=standard. Return-address signing (pac-ret) in the C
 * code is unaffected: x30 holds the plain address at the call, and each
 * function signs and authenticates its own.
 *
 * Verified under qemu-user by tests/arch/test_switch_fp.c (every
 * callee-saved register, FPCR per context) via scripts/test-aarch64.sh. */
/* One macro for both switches; fp = 1 keeps FPCR. */
        .macro  EDDY_SWITCH name, fp
        .globl  \name
        .hidden \name
        .type   \name, %function
        .p2align 4
\name:
        sub     sp, sp, #176
        stp     d8,  d9,  [sp, #0]
        stp     d10, d11, [sp, #16]
        stp     d12, d13, [sp, #32]
        stp     d14, d15, [sp, #48]
        stp     x19, x20, [sp, #64]
        stp     x21, x22, [sp, #80]
        stp     x23, x24, [sp, #96]
        stp     x25, x26, [sp, #112]
        stp     x27, x28, [sp, #128]
        stp     x29, x30, [sp, #144]
        .if \fp
        mrs     x9, fpcr
        str     x9, [sp, #160]
        .endif
        mov     x9, sp                  /* from = this context */
        mov     sp, x0                  /* become the target */
        .if \fp
        ldr     x10, [sp, #160]
        msr     fpcr, x10
        .endif
        ldp     d8,  d9,  [sp, #0]
        ldp     d10, d11, [sp, #16]
        ldp     d12, d13, [sp, #32]
        ldp     d14, d15, [sp, #48]
        ldp     x19, x20, [sp, #64]
        ldp     x21, x22, [sp, #80]
        ldp     x23, x24, [sp, #96]
        ldp     x25, x26, [sp, #112]
        ldp     x27, x28, [sp, #128]
        ldp     x29, x30, [sp, #144]
        add     sp, sp, #176
        mov     x0, x9                  /* from */
        br      x30                     /* data stays in x1 */
        .size   \name, .-\name
        .endm

        .text
        EDDY_SWITCH eddy__ctx_switch, 1
/* leaving FPCR to the thread (the default): same frame, slot untouched */
        EDDY_SWITCH eddy__ctx_switch_nofp, 0

/* First code on a new stack: x19 holds the entry function, x0/x1 the
 * transfer. x29 = 0 and x30 = 0 end the frame chain for unwinders. */
        .globl  eddy__ctx_start
        .hidden eddy__ctx_start
        .type   eddy__ctx_start, %function
        .p2align 4
eddy__ctx_start:
        mov     x29, #0
        mov     x30, #0
        blr     x19
        brk     #0                      /* entry functions never return */
        .size   eddy__ctx_start, .-eddy__ctx_start

        .section .note.GNU-stack,"",%progbits
