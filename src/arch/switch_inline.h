/* switch_inline.h: the context switch inlined at its call site, for the
 * task hand-off path (x86_64 only; elsewhere it is the out-of-line switch).
 *
 * Why: an out-of-line switch is entered with `call` but left with a jump
 * into another stack, so every switch leaves one unmatched entry on the
 * CPU's return-stack buffer, and each `ret` the resumed task executes
 * afterwards is predicted off by one: a yield cost ~24 ns that way against
 * the switch's own ~4 ns. Inlined, there is no call; the resumed task's
 * returns pop entries pushed by the same call chain in the task that
 * switched away, and are predicted. The assembly lives in the public
 * eddy/inline_switch.h, which the generator's yield also inlines. */
#ifndef EDDY_SWITCH_INLINE_H
#define EDDY_SWITCH_INLINE_H

#include "switch.h"

#if defined(EDDY__HAVE_INLINE_SWITCH) && !defined(EDDY_SWITCH_UCONTEXT)
#define EDDY__INLINE_SWITCH_USABLE 1
#define eddy__ctx_switch_fast eddy__ctx_switch_inline
#define eddy__ctx_switch_fast_nofp eddy__ctx_switch_inline_nofp
#else
#define eddy__ctx_switch_fast eddy__ctx_switch
#define eddy__ctx_switch_fast_nofp eddy__ctx_switch_nofp
#endif

#endif
