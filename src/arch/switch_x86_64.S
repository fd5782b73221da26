/* switch_x86_64.S: context switch for x86_64, System V ABI.
 *
 * A context is a pointer to a frame on its stack: [8] MXCSR, [12] the x87
 * control word, [16..56] r12, r13, r14, r15, rbx, rbp, [64] the resume
 * address (the protocol is spelled out in eddy/inline_switch.h, whose
 * inline switch shares it). The resumer only jumps: it sets the stack
 * pointer to the frame, loads rbx and rbp from it and jumps to the resume
 * address, and the code there restores the rest of what its suspend saved.
 * Here that is r12-r15 and the return to this function's caller; the
 * inline switch restores nothing more, so a context saved by either switch
 * can be resumed by the other.
 *
 *   eddy__transfer eddy__ctx_switch(void *to, void *data)
 *     rdi = to, rsi = data; returns {from in rax, data in rdx}.
 *   eddy__ctx_switch_nofp: the same without the floating-point control
 *     state (its slot is kept, so both agree on the frame).
 *
 * No `ret` and no call into another stack: the resume is an indirect jump
 * and so is the return to the caller, so the return stack buffer never
 * sees a ret that does not match its call. Registers are saved and loaded
 * with plain moves rather than pushes and pops, so no load waits, each in
 * turn, for the stack pointer (measured: a one-way switch took 0.83 ns
 * instead of 1.36, a switch keeping the FP words 4.28 instead of 4.53). */
/* One macro for both switches; fp = 1 keeps the control words. */
        .macro  EDDY_SWITCH name, fp
        .globl  \name
        .hidden \name
        .type   \name, @function
        .p2align 4
\name:
        .cfi_startproc
        leaq    -72(%rsp), %rsp         /* the frame, below the return
                                           address (now at 72) */
        .cfi_adjust_cfa_offset 72
        movq    %r12, 16(%rsp)
        movq    %r13, 24(%rsp)
        movq    %r14, 32(%rsp)
        movq    %r15, 40(%rsp)
        movq    %rbx, 48(%rsp)
        movq    %rbp, 56(%rsp)
        leaq    1f(%rip), %rcx
        movq    %rcx, 64(%rsp)          /* resume here */
        .if \fp
        stmxcsr 8(%rsp)
        fnstcw  12(%rsp)
        .endif
        movq    %rsp, %rax              /* from = this context */
        .if \fp
        ldmxcsr 8(%rdi)
        fldcw   12(%rdi)
        .endif
        movq    56(%rdi), %rbp
        movq    48(%rdi), %rbx
        movq    %rdi, %rsp              /* become the target */
        movq    %rsi, %rdx              /* data */
        jmp     *64(%rsp)               /* at its resume address */
1:      /* resumed: rsp = our frame again */
        movq    16(%rsp), %r12
        movq    24(%rsp), %r13
        movq    32(%rsp), %r14
        movq    40(%rsp), %r15
        movq    72(%rsp), %r8           /* our return address */
        leaq    80(%rsp), %rsp
        .cfi_adjust_cfa_offset -80
        jmp     *%r8
        .cfi_endproc
        .size   \name, .-\name
        .endm

        .text
        EDDY_SWITCH eddy__ctx_switch, 1
/* leaving the floating-point control words to the thread (the default;
 * see eddy/inline_switch.h): same frame, slot untouched */
        EDDY_SWITCH eddy__ctx_switch_nofp, 0

/* First code run on a new stack, as the resume address of the frame
 * eddy__ctx_make built (rsp = that frame): the entry function is in its
 * rbx slot, which the resumer has loaded; rax/rdx hold the transfer. */
        .globl  eddy__ctx_start
        .hidden eddy__ctx_start
        .type   eddy__ctx_start, @function
        .p2align 4
eddy__ctx_start:
        .cfi_startproc
        .cfi_undefined rip              /* outermost frame for unwinders */
        leaq    72(%rsp), %rsp          /* 16-byte aligned, as at a call */
        movq    %rax, %rdi
        movq    %rdx, %rsi
        callq   *%rbx
        ud2                             /* entry functions never return */
        .cfi_endproc
        .size   eddy__ctx_start, .-eddy__ctx_start

        .section .note.GNU-stack,"",@progbits
