/* make_native.c: builds the first frame of a new context for the assembly
 * switches, so that the first eddy__ctx_switch() into it "returns" into
 * eddy__ctx_start, which calls the entry function. The frame layout must
 * match switch_<arch>.S exactly. */
#include "switch.h"

#include <stdint.h>
#include <string.h>

void eddy__ctx_start(void);

#if defined(__x86_64__)
const char eddy__ctx_impl[] = "x86_64";

void *eddy__ctx_make(void *stack_lo, void *stack_hi, eddy__entry_fn entry) {
  (void)stack_lo;
  uintptr_t top = (uintptr_t)stack_hi & ~(uintptr_t)15;
  /* 16 bytes FP control, 6 registers, resume address; eddy__ctx_start
   * moves rsp past them to top - 16, 16-byte aligned as at a call site. */
  uint64_t *sp = (uint64_t *)(top - 88);
  uint32_t mxcsr;
  uint16_t fcw;
  __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
  __asm__ volatile("fnstcw %0" : "=m"(fcw));
  memset(sp, 0, 88);
  memcpy((char *)sp + 8, &mxcsr, 4);
  memcpy((char *)sp + 12, &fcw, 2);
  sp[2] = 0;                            /* r12 */
  sp[3] = 0;                            /* r13 */
  sp[4] = 0;                            /* r14 */
  sp[5] = 0;                            /* r15 */
  sp[6] = (uint64_t)(uintptr_t)entry;   /* rbx slot: eddy__ctx_start reads it */
  sp[7] = 0;                            /* rbp: end of the frame chain */
  sp[8] = (uint64_t)(uintptr_t)eddy__ctx_start;
  return sp;
}

#elif defined(__aarch64__)
const char eddy__ctx_impl[] = "aarch64";

void *eddy__ctx_make(void *stack_lo, void *stack_hi, eddy__entry_fn entry) {
  (void)stack_lo;
  uintptr_t top = (uintptr_t)stack_hi & ~(uintptr_t)15;
  uint64_t *sp = (uint64_t *)(top - 176);
  uint64_t fpcr;
  __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
  memset(sp, 0, 176);
  sp[8] = (uint64_t)(uintptr_t)entry;   /* x19 */
  sp[18] = 0;                           /* x29 */
  sp[19] = (uint64_t)(uintptr_t)eddy__ctx_start; /* x30: resume address */
  sp[20] = fpcr;
  return sp;
}
#else
#error "make_native.c is for x86_64 and aarch64; use switch_ucontext.c"
#endif
