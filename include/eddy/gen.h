/* eddy/gen.h: async generators: a function that produces items with
 * eddy_gen_yield() and may block between them. It runs on its own (pooled)
 * stack on behalf of whichever task pulls from it, and hands each item over
 * with a direct switch, no trip through the scheduler.
 *
 *   static int numbers(eddy_gen *g, void *arg) {
 *     for (int i = 0; i < 5; i++) {
 *       eddy_sleep(EDDY_MSEC(100));               // items arrive over time
 *       if (eddy_gen_yield(g, &i)) break;         // consumer gone: clean up
 *     }
 *     return 0;                                   // end of stream
 *   }
 *   int x, st;
 *   EDDY_FOR(x, eddy_gen_new(numbers, NULL, sizeof x), st) printf("%d\n", x);
 *
 * Rules: the body starts at the first next (closing a never-started
 * generator runs none of it); eddy_gen_yield returns 0 when the consumer
 * wants more, EDDY_ECLOSING when it is being closed (return then; every
 * later yield returns EDDY_ECLOSING at once without suspending, and close
 * reports EDDY_EPROTOCOL if the function yielded after being told), an
 * error injected by eddy_gen_throw, or EDDY_ESCOPE when a scope or task
 * group the generator opened is still open (a yield must not cross it; the
 * consumer is not affected). The end of the stream comes only from the
 * function returning 0; a negative return is the stream's error. A
 * generator that is never closed is closed when its loop shuts down (in
 * creation order), with a report of where it was created. */
#ifndef EDDY_GEN_H
#define EDDY_GEN_H

#include "inline_switch.h"
#include "iter.h"

EDDY_BEGIN_DECLS

typedef struct eddy_gen eddy_gen;
typedef int (*eddy_gen_fn)(eddy_gen *g, void *arg);

/* Create a generator producing items of item_size bytes. The returned
 * iterator is owned by whoever consumes it: FOR closes and frees it;
 * otherwise eddy_gen_free(). On failure returns an iterator whose next
 * reports the error (so it can be used inline in FOR). */
EDDY_API eddy_iter *eddy_gen_new_at(eddy_gen_fn fn, void *arg, size_t item_size,
                                    size_t stack_size, const char *file, int line);
#define eddy_gen_new(fn, arg, item_size) \
  eddy_gen_new_at((fn), (arg), (item_size), 0, __FILE__, __LINE__)

EDDY_API eddy_gen *eddy_gen_of(eddy_iter *it); /* NULL if not a generator */
EDDY_API int eddy_gen_yield(eddy_gen *g, const void *item);

/* Not API: eddy_gen_yield in two halves around a switch inlined into the
 * generator's own code, so that a resume and a yield leave the CPU's
 * return predictor balanced (see eddy/inline_switch.h). _begin does every
 * check and hands over the item; it returns the context to switch to, or
 * NULL with *rc set when the yield is already over (an error, a close, or
 * a switch that cannot be this one: a library built with ucontext or ASan,
 * a loop keeping the FP state per task; then it did the whole yield).
 * _end takes the context the switch came from and returns what the yield
 * returns. Calling eddy_gen_yield by address still works. */
EDDY_API void *eddy__gen_yield_begin(eddy_gen *g, const void *item, int *rc);
EDDY_API int eddy__gen_yield_end(eddy_gen *g, void *from);
#if defined(EDDY__HAVE_INLINE_SWITCH) && !defined(EDDY_BUILDING)
static inline __attribute__((always_inline)) int eddy__gen_yield_inline(eddy_gen *g,
                                                                        const void *item) {
  int rc;
  void *to = eddy__gen_yield_begin(g, item, &rc);
  if (__builtin_expect(to == NULL, 0)) return rc;
  return eddy__gen_yield_end(g, eddy__ctx_switch_inline_nofp(to, NULL).ctx);
}
#define eddy_gen_yield(g, item) eddy__gen_yield_inline((g), (item))
#endif
/* Resume the generator with `err` returned from its yield; returns what it
 * does next: 0 (it yielded again, item stored), EDDY_DONE, or its error. */
EDDY_API int eddy_gen_throw(eddy_gen *g, int err, void *item);
/* Resume with a value the generator reads with eddy_gen_sent(); sending a
 * non-NULL value before the first yield is -EINVAL. */
EDDY_API int eddy_gen_send(eddy_gen *g, void *value, void *item);
EDDY_API void *eddy_gen_sent(eddy_gen *g);
/* Close (if needed) and free. */
EDDY_API int eddy_gen_free(eddy_iter *it);

EDDY_END_DECLS
#endif
