/* switch_ucontext.c: the portable fallback context switch, for
 * architectures without an assembly switch (and selectable everywhere with
 * -DEDDY_SWITCH=ucontext, so CI exercises it). It is ~100x slower than the
 * assembly versions because swapcontext() saves the signal mask with a
 * system call.
 *
 * A context is a record holding a ucontext_t. Records of new contexts sit
 * at the top of their stacks; the thread's original context uses a
 * thread-local record. The transfer's "from" and "data" travel through
 * thread-local slots, set just before swapcontext and read just after. */
#include "switch.h"

#include <stdint.h>
#include <stdlib.h>
#include <ucontext.h>

const char eddy__ctx_impl[] = "ucontext";

typedef struct ctx_record {
  ucontext_t uc;
  eddy__entry_fn entry;
} ctx_record;

static __thread ctx_record native_record;
static __thread ctx_record *current;
static __thread eddy__transfer pending;

static void start(void) {
  ctx_record *self = current;
  self->entry(pending);
  abort(); /* entry functions never return */
}

void *eddy__ctx_make(void *stack_lo, void *stack_hi, eddy__entry_fn entry) {
  uintptr_t top = ((uintptr_t)stack_hi - sizeof(ctx_record)) & ~(uintptr_t)63;
  /* volatile: getcontext returns twice as far as gcc -O2 knows */
  ctx_record *volatile r = (ctx_record *)top;
  if (getcontext(&r->uc) != 0) return NULL;
  r->uc.uc_stack.ss_sp = stack_lo;
  r->uc.uc_stack.ss_size = top - (uintptr_t)stack_lo;
  r->uc.uc_link = NULL;
  r->entry = entry;
  makecontext(&r->uc, start, 0);
  return r;
}

eddy__transfer eddy__ctx_switch(void *to, void *data) {
  ctx_record *from = current ? current : &native_record;
  ctx_record *target = to;
  pending.ctx = from;
  pending.data = data;
  current = target;
  swapcontext(&from->uc, &target->uc);
  return pending;
}

/* swapcontext keeps the floating-point environment either way. */
eddy__transfer eddy__ctx_switch_nofp(void *to, void *data) {
  return eddy__ctx_switch(to, data);
}
