/* eddy/inline_switch.h: not API. The x86_64 register switch as inline
 * assembly, for the one hot path a public header inlines into user code
 * (the generator's yield, eddy/gen.h) and for the library's own hand-offs
 * (src/arch/switch_inline.h uses this very code).
 *
 * Why inline: a switch reached through a call is left by a jump into
 * another stack, so the CPU's return-stack buffer is one entry off after it
 * and every return that follows mispredicts. With the generator's side of
 * a yield inline, a resume and a yield leave the buffer balanced.
 *
 * The protocol (shared with switch_x86_64.S and make_native.c): a context
 * is a pointer to a 72-byte frame, [8] MXCSR, [12] x87 control word,
 * [16..56] r12, r13, r14, r15, rbx, rbp, [64] the resume address. Every
 * suspend stores rbx, rbp and the resume address at least. Whoever resumes
 * a context loads the floating-point words if its loop keeps them, rbx and
 * rbp, sets the stack pointer to the frame and jumps to the resume
 * address, with rax = its own context and rdx = the message. The code at
 * the resume address restores the rest of what its own suspend saved: the
 * assembly switch, r12-r15; this inline switch, nothing, because it names
 * r12-r15 as clobbered and the compiler keeps across it only what is live
 * there (in a hand-off loop, a few stack slots instead of six loads and six
 * stores per switch).
 *
 * rbp and rbx are saved by hand: a compiler keeping a frame pointer
 * refuses rbp as a clobber, and clang keeps its base pointer in rbx (in a
 * frame both realigned and of variable size: an over-aligned local beside
 * a VLA or alloca, or any VLA with -mstackrealign) and silently drops rbx
 * from a clobber list, so that rbx would come back as the other context's
 * and every local read through it would be wrong (tests/test_switch_regs.c).
 * The resumer loads them, so the loads wait for nothing but the target's
 * address: a one-way switch took 0.49 ns here, against 0.86 with all six
 * registers moved and 0.95 to 0.99 with a register loaded after the jump.
 *
 * The inline form takes the target in rax and the message in rdx, the
 * registers a call returning a pair leaves them in (eddy__chan_*_step's
 * context and slot): no moves between that call and the switch, and rdx
 * already holds the message the resumed side expects (ping-pong 299 -> 291
 * instructions per round trip).
 *
 * The 128-byte red zone below the stack pointer is stepped over first:
 * the compiler may keep locals there. The stack pointer moves below the
 * frame before anything is stored (a signal arriving mid-switch must not
 * overwrite the frame); on resume the frame is at the stack pointer, which
 * the code there moves past it when done with it.
 * Only the library knows whether its contexts are of this kind (it may be
 * built with ucontext, or with ASan's fiber annotations), so user code
 * never switches on its own: the library hands it a context to switch to
 * only when this switch is the right one. */
#ifndef EDDY_INLINE_SWITCH_H
#define EDDY_INLINE_SWITCH_H

typedef struct eddy__transfer {
  void *ctx;  /* the context we came from, to switch back to later */
  void *data; /* what the switcher passed */
} eddy__transfer;

#if defined(__x86_64__)
#define EDDY__HAVE_INLINE_SWITCH 1
/* Every register a call may change is named, so the compiler keeps nothing
 * in one across the switch (the other side changes them all): with them the
 * x87 stack, where gcc keeps a long double otherwise, and with AVX-512 the
 * upper vector and the mask registers (gcc knows them only then). A
 * function given AVX-512 by a target attribute alone, in a file compiled
 * without it, must not keep values there across a switch. */
#if defined(__AVX512F__)
#define EDDY__SWITCH_AVX512_CLOBBERS                                           \
  , "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23",     \
      "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31",   \
      "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"
#else
#define EDDY__SWITCH_AVX512_CLOBBERS
#endif
/* FP: the instructions that save and restore the floating-point control
 * words (MXCSR, x87 control word), or nothing. The 16-byte slot is there
 * either way, so both kinds of switch agree on the frame. */
#define EDDY__SWITCH_ASM(SAVE_FP, LOAD_FP)                                     \
  void *ax = to, *dx = data;                                                  \
  __asm__ volatile("leaq -200(%%rsp), %%rsp\n\t"                              \
                   "leaq 1f(%%rip), %%rcx\n\t"                                \
                   "movq %%rbx, 48(%%rsp)\n\t"                                \
                   "movq %%rbp, 56(%%rsp)\n\t"                                \
                   "movq %%rcx, 64(%%rsp)\n\t" SAVE_FP LOAD_FP                \
                   "movq 56(%%rax), %%rbp\n\t"                                \
                   "movq 48(%%rax), %%rbx\n\t"                                \
                   "movq %%rax, %%rcx\n\t"                                    \
                   "movq %%rsp, %%rax\n\t"                                    \
                   "movq %%rcx, %%rsp\n\t"                                    \
                   "jmp *64(%%rsp)\n"                                          \
                   "1:\n\t"                                                   \
                   "leaq 200(%%rsp), %%rsp\n\t"                               \
                   : "+a"(ax), "+d"(dx)                                       \
                   :                                                          \
                   : "rdi", "rsi", "r12", "r13", "r14", "r15", "rcx", "r8",   \
                     "r9", "r10", "r11", "memory", "cc", "xmm0", "xmm1",      \
                     "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",  \
                     "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",     \
                     "xmm15", "st", "st(1)", "st(2)", "st(3)", "st(4)",       \
                     "st(5)", "st(6)", "st(7)" EDDY__SWITCH_AVX512_CLOBBERS); \
  eddy__transfer tr = {ax, dx};                                               \
  return tr

/* Keeps each context's floating-point control words (a loop made with
 * eddy_loop_opts.fp_env_per_task). */
static inline __attribute__((always_inline)) eddy__transfer
eddy__ctx_switch_inline(void *to, void *data) {
  EDDY__SWITCH_ASM("stmxcsr 8(%%rsp)\n\tfnstcw 12(%%rsp)\n\t",
                   "ldmxcsr 8(%%rax)\n\tfldcw 12(%%rax)\n\t");
}
/* Leaves them to the thread, as a function call does (the default): the
 * save and restore cost more than the rest of the switch. */
static inline __attribute__((always_inline)) eddy__transfer
eddy__ctx_switch_inline_nofp(void *to, void *data) {
  EDDY__SWITCH_ASM("", "");
}
#endif

#endif
