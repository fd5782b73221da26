/* switch.h: the context-switch seam. One implementation is linked in:
 * switch_x86_64.S, switch_aarch64.S, or switch_ucontext.c for any other
 * architecture (or when EDDY_SWITCH=ucontext is configured).
 *
 * The shape is a "transfer": switching hands the target a pointer-sized
 * message and tells it which context it came from, both in registers.
 * Nothing is stored through a global, and the assembly versions resume the
 * target with an indirect jump, never `ret`: a `ret` into another stack
 * mispredicts on every switch (8 ns instead of 1.3 ns measured here). */
#ifndef EDDY_SWITCH_H
#define EDDY_SWITCH_H

#include <stddef.h>

#include "../../include/eddy/inline_switch.h" /* eddy__transfer */

typedef void (*eddy__entry_fn)(eddy__transfer t);

/* Suspend the running context and resume `to`, handing it `data`. Returns
 * when something switches back here. */
eddy__transfer eddy__ctx_switch(void *to, void *data);
/* The same, leaving the floating-point control state (rounding mode,
 * exception masks) to the thread instead of keeping it per context: the
 * default, as a function call leaves it. Both agree on the frame; a loop
 * uses one kind for all its switches (eddy_loop_opts.fp_env_per_task). */
eddy__transfer eddy__ctx_switch_nofp(void *to, void *data);

/* Prepare a context on the stack [stack_lo, stack_hi): the first switch to
 * the returned context calls entry(t). entry must never return. */
void *eddy__ctx_make(void *stack_lo, void *stack_hi, eddy__entry_fn entry);

/* Which implementation this build uses ("x86_64", "aarch64", "ucontext"). */
extern const char eddy__ctx_impl[];
#endif
