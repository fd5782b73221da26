/* iter.c: the iterator protocol's guarantees (fused, single consumer) and
 * the FOR statement's guard: it closes the iterator however the loop is
 * left and leaves the loop's status behind. */
#include "../core/internal.h"
#include "eddy/iter.h"

enum { I_OPEN, I_BUSY, I_FINISHED, I_CLOSED };

EDDY_API void eddy_iter_init(eddy_iter *it, const eddy_iter_ops *ops) {
  it->ops = ops;
  it->state = I_OPEN;
  it->owned = 0;
}

EDDY_API int eddy_iter_next(eddy_iter *it, void *item) {
  if (!it || !it->ops) return -EINVAL;
  if (it->state == I_BUSY) return -EBUSY;
  if (it->state != I_OPEN) return EDDY_DONE; /* fused */
  it->state = I_BUSY;
  int r = it->ops->next(it, item);
  if (it->state == I_BUSY) it->state = r == 0 ? I_OPEN : I_FINISHED;
  if (r > 0 && r != EDDY_DONE) r = EDDY_EPROTOCOL; /* R38 */
  return r;
}

EDDY_API int eddy_iter_next_until(eddy_iter *it, void *item,
                                  eddy_time_t deadline) {
  if (deadline == EDDY_FOREVER) return eddy_iter_next(it, item);
  eddy_scope s;
  int r = eddy_scope_enter(&s, deadline, 0);
  if (r) return r;
  r = eddy_iter_next(it, item);
  if (eddy_scope_exit(&s) == 1 && r == -ECANCELED && !eddy_cancelled())
    r = -ETIMEDOUT;
  return r;
}

EDDY_API int eddy_iter_close(eddy_iter *it) {
  if (!it || !it->ops) return -EINVAL;
  if (it->state == I_BUSY) return -EBUSY;
  if (it->state == I_CLOSED) return 0; /* idempotent */
  it->state = I_CLOSED;
  if (!it->ops->close) return 0;
  /* Close is cleanup: shielded from outer cancellation, bounded by the
   * loop's grace period. */
  eddy_loop *loop = eddy__loop();
  eddy_scope shield;
  int sh = -1;
  if (loop && eddy__self())
    sh = eddy_scope_enter(&shield, loop->grace > 0 ? eddy_deadline_in(loop->grace)
                                                   : EDDY_FOREVER,
                          EDDY_SCOPE_SHIELD);
  int r = it->ops->close(it);
  if (sh == 0) eddy_scope_exit(&shield);
  return r;
}

/* ---- a stand-in for an iterator that could not be created */
typedef struct err_iter {
  eddy_iter it;
  int err;
} err_iter;
static int err_next(eddy_iter *it, void *item) {
  (void)item;
  return ((err_iter *)it)->err;
}
static const eddy_iter_ops err_ops = {err_next, NULL, NULL};
#define ERR_SLOTS 4
static __thread err_iter err_slots[ERR_SLOTS];
static __thread int err_next_slot;

EDDY_API eddy_iter *eddy_iter_error(int err) {
  err_iter *e = &err_slots[err_next_slot++ % ERR_SLOTS];
  eddy_iter_init(&e->it, &err_ops);
  e->err = err;
  return &e->it;
}

/* ---- FOR */

EDDY_API eddy_for_guard eddy_for_begin(eddy_iter *it, int *status, int borrow,
                                       eddy_time_t per_item) {
  eddy_for_guard g = {.it = it, .status = status, .borrow = borrow,
                      .per_item = per_item};
  *status = 0;
  return g;
}

EDDY_API int eddy_for_step(eddy_for_guard *g, void *item) {
  if (g->error) { /* EDDY_FOR_FAIL then continue: treat as leaving */
    g->state = 1;
    *g->status = g->error;
    return 0;
  }
  int r = g->per_item ? eddy_iter_next_until(g->it, item, eddy_deadline_in(g->per_item))
                      : eddy_iter_next(g->it, item);
  if (r == 0) {
    g->state = 2;
    return 1;
  }
  g->state = 1;
  *g->status = r == EDDY_DONE ? 0 : r;
  return 0;
}

EDDY_API void eddy_for_end(eddy_for_guard *g) {
  if (!g->it) return;
  int st = *g->status;
  if (g->state == 2) st = g->error ? g->error : EDDY_BROKE; /* left early */
  if (!g->borrow || g->state == 1) {
    if (!g->borrow) {
      int cr = eddy_iter_close(g->it);
      if (cr && (st == 0 || st == EDDY_BROKE)) st = cr; /* else attach below */
      else if (cr) {
        eddy_task *t = eddy__self();
        if (t) t->cleanup_error = cr;
      }
      if (g->it->owned && g->it->ops->release) g->it->ops->release(g->it);
    }
  }
  *g->status = st;
}
