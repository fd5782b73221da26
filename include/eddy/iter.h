/* eddy/iter.h: asynchronous iterators (Python's `async for`) and the FOR
 * statement.
 *
 * Protocol: an iterator is an eddy_iter: an ops table {next, close,
 * release} and its state. next may suspend and returns 0 with the item
 * stored, EDDY_DONE at the end of the stream (never an errno), or a negative
 * error. Through eddy_iter_next() iterators are fused (after the end, an
 * error or a close, next keeps returning EDDY_DONE) and single-consumer (a
 * next or close while a next is in progress is -EBUSY).
 *
 * FOR: leaving the loop early in any way (break, return, goto, an error in
 * the body, cancellation) closes the iterator at once, in the consumer's
 * task, before the next statement runs; Python needs aclosing() for that.
 *
 *   int item, st;
 *   EDDY_FOR(item, it, st) {
 *     if (item == 3) break;
 *     if (bad(item)) { EDDY_FOR_FAIL(st, -EIO); break; }
 *   }
 *   // st: 0 exhausted, EDDY_BROKE left early, or the error (next's, the
 *   // body's via EDDY_FOR_FAIL, or close's when there was none before)
 *
 * break and continue apply to the FOR itself. EDDY_FOR_BORROW does the same
 * without closing (read a stream in parts). EDDY_FOR_UNTIL gives each item a
 * deadline: a next that takes longer fails with -ETIMEDOUT (the generator
 * sees -ECANCELED at its suspension point). */
#ifndef EDDY_ITER_H
#define EDDY_ITER_H

#include "core.h"

EDDY_BEGIN_DECLS


typedef struct eddy_iter eddy_iter;

typedef struct eddy_iter_ops {
  int (*next)(eddy_iter *it, void *item);
  int (*close)(eddy_iter *it);     /* may block; called at most once */
  void (*release)(eddy_iter *it);  /* free an owned iterator; may be NULL */
} eddy_iter_ops;

struct eddy_iter {
  const eddy_iter_ops *ops;
  int state; /* private: 0 open, 1 in next, 2 finished, 3 closed */
  int owned; /* release after close (FOR over a temporary) */
};

EDDY_API void eddy_iter_init(eddy_iter *it, const eddy_iter_ops *ops);
EDDY_API int eddy_iter_next(eddy_iter *it, void *item);
EDDY_API int eddy_iter_next_until(eddy_iter *it, void *item,
                                  eddy_time_t deadline);
EDDY_API int eddy_iter_close(eddy_iter *it);

/* An iterator standing for a failure to create one (NULL stays NULL): its
 * next returns the error. Lets constructors be used inline in FOR. */
EDDY_API eddy_iter *eddy_iter_error(int err);

/* ---- the FOR statement */
typedef struct eddy_for_guard {
  eddy_iter *it;
  int *status;
  int error;      /* body error (EDDY_FOR_FAIL) */
  int state;      /* 0 running, 1 ended by next, 2 in body */
  int borrow;
  eddy_time_t per_item;
} eddy_for_guard;

EDDY_API eddy_for_guard eddy_for_begin(eddy_iter *it, int *status, int borrow,
                                       eddy_time_t per_item);
EDDY_API int eddy_for_step(eddy_for_guard *g, void *item);
EDDY_API void eddy_for_end(eddy_for_guard *g);

/* The per-item step, inline so that the loop calls the iterator's next
 * directly: with stackful generators every call frame between the loop and
 * the switch costs a mispredicted return per item. Same rules as
 * eddy_iter_next (fused, single consumer, end-of-stream protocol). */
static inline int eddy__for_step(eddy_for_guard *g, void *item) {
  eddy_iter *it = g->it;
  if (__builtin_expect(g->error != 0 || g->per_item != 0 || !it || !it->ops ||
                           it->state != 0, 0))
    return eddy_for_step(g, item);
  it->state = 1;
  int r = it->ops->next(it, item);
  if (it->state == 1) it->state = r == 0 ? 0 : 2;
  if (__builtin_expect(r == 0, 1)) {
    g->state = 2;
    return 1;
  }
  if (r > 0 && r != EDDY_DONE) r = EDDY_EPROTOCOL;
  g->state = 1;
  *g->status = r == EDDY_DONE ? 0 : r;
  return 0;
}

#define EDDY__FOR(item, iter, st, borrow, per_item)                         \
  for (eddy_for_guard st##_for __attribute__((cleanup(eddy_for_end), unused)) = \
           eddy_for_begin((iter), &(st), (borrow), (per_item));             \
       eddy__for_step(&st##_for, &(item));)

#define EDDY_FOR(item, iter, st) EDDY__FOR(item, iter, st, 0, 0)
#define EDDY_FOR_BORROW(item, iter, st) EDDY__FOR(item, iter, st, 1, 0)
#define EDDY_FOR_UNTIL(item, iter, st, per_item) \
  EDDY__FOR(item, iter, st, 0, per_item)
/* Record the body's error as the loop's status; then leave the loop. */
#define EDDY_FOR_FAIL(st, rc) ((st##_for).error = (rc))

EDDY_END_DECLS
#endif
