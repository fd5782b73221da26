/* switch_inline.h: the context switch inlined at its call site, for the
 * task hand-off path (x86_64 only; elsewhere it is the out-of-line switch).
 *
 * Why: an out-of-line switch is entered with `call` but left with a jump
 * into another stack, so every switch leaves one unmatched entry on the
 * CPU's return-stack buffer, and each `ret` the resumed task executes
 * afterwards is predicted off by one: a yield cost ~24 ns that way against
 * the switch's own ~4 ns. Inlined, there is no call; the resumed task's
 * returns pop entries pushed by the same call chain in the task that
 * switched away, and are predicted.
 *
 * The frame pushed here is exactly the one switch_x86_64.S pushes (resume
 * address, rbp, rbx, r15..r12, MXCSR and x87 control word), so a context
 * saved by either switch can be resumed by the other, and contexts from
 * eddy__ctx_make work with both. The 128-byte red zone below the stack
 * pointer is stepped over first: the compiler may keep locals there. */
#ifndef EDDY_SWITCH_INLINE_H
#define EDDY_SWITCH_INLINE_H

#include "switch.h"

#if defined(__x86_64__) && !defined(EDDY_SWITCH_UCONTEXT)
static inline __attribute__((always_inline)) eddy__transfer
eddy__ctx_switch_fast(void *to, void *data) {
  register void *rdi __asm__("rdi") = to;
  register void *rsi __asm__("rsi") = data;
  register void *rax __asm__("rax");
  register void *rdx __asm__("rdx");
  __asm__ volatile(
      "leaq -128(%%rsp), %%rsp\n\t"
      "leaq 1f(%%rip), %%rcx\n\t"
      "pushq %%rcx\n\t"
      "pushq %%rbp\n\t"
      "pushq %%rbx\n\t"
      "pushq %%r15\n\t"
      "pushq %%r14\n\t"
      "pushq %%r13\n\t"
      "pushq %%r12\n\t"
      "subq $16, %%rsp\n\t"
      "stmxcsr 8(%%rsp)\n\t"
      "fnstcw 12(%%rsp)\n\t"
      "movq %%rsp, %%rax\n\t"
      "movq %%rdi, %%rsp\n\t"
      "ldmxcsr 8(%%rsp)\n\t"
      "fldcw 12(%%rsp)\n\t"
      "addq $16, %%rsp\n\t"
      "popq %%r12\n\t"
      "popq %%r13\n\t"
      "popq %%r14\n\t"
      "popq %%r15\n\t"
      "popq %%rbx\n\t"
      "popq %%rbp\n\t"
      "popq %%r8\n\t"
      "movq %%rsi, %%rdx\n\t"
      "jmp *%%r8\n"
      "1:\n\t"
      "leaq 128(%%rsp), %%rsp\n\t"
      : "=r"(rax), "=r"(rdx), "+r"(rdi), "+r"(rsi)
      :
      : "rcx", "r8", "r9", "r10", "r11", "memory", "cc", "xmm0", "xmm1",
        "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
        "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
  eddy__transfer tr = {rax, rdx};
  return tr;
}
#else
#define eddy__ctx_switch_fast eddy__ctx_switch
#endif

#endif
