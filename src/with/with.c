/* with.c: the WITH protocol: entering a manager, recording the block's
 * outcome, running exit exactly once (shielded, under a grace deadline),
 * and combining the two statuses without ever dropping an error. */
#include "../core/internal.h"
#include "eddy/with.h"

#include <errno.h>
#include <string.h>

static int is_cancel(int rc) { return rc == -ECANCELED || rc == -ETIMEDOUT; }

EDDY_API int eddy__with_begin(eddy_with *g) {
  const eddy_cm_ops *ops = g->ops;
  eddy_task *t = eddy__self();
  if (unlikely(!ops || !ops->enter || !ops->exit)) return g->status = -EINVAL;
  if (unlikely(!t)) return g->status = EDDY_ENOTTASK;
  int r = ops->enter(g->self, &g->value);
  g->status = r;
  g->state = r == 0;
  g->seen = eddy__self()->cancels_seen; /* enter may have suspended */
  return r;
}

EDDY_API eddy_with eddy_with_enter(const eddy_cm_ops *ops, void *self) {
  eddy_with g = {.ops = ops, .self = self};
  eddy__with_begin(&g);
  return g;
}

EDDY_API int eddy_with_fail(eddy_with *g, int rc) {
  if (g && g->state == 1 && rc != 0 && g->error == 0) g->error = rc;
  return rc;
}

EDDY_API void eddy_with_set_grace(eddy_with *g, eddy_time_t grace) {
  if (g) g->grace = grace;
}

EDDY_API int eddy_with_cleanup_error(void) {
  eddy_task *t = eddy__self();
  if (!t) return 0;
  int e = t->cleanup_error;
  t->cleanup_error = 0;
  return e;
}

/* exit under a shield: outer cancellation does not reach it, but a grace
 * deadline does. Out of line: the scope on its frame would otherwise make
 * every exit, shielded or not, pay for that frame. */
static __attribute__((noinline)) int exit_shielded(eddy_with *g, int status, eddy_task *t) {
  eddy_time_t grace = g->grace ? g->grace : t->loop->grace;
  eddy_scope shield;
  int sh = eddy_scope_enter(&shield, grace > 0 ? eddy_deadline_in(grace) : EDDY_FOREVER,
                            EDDY_SCOPE_SHIELD);
  int r = g->ops->exit(g->self, status);
  if (sh == 0) eddy_scope_exit(&shield);
  return r;
}

/* Run exit once and combine. `status` is what the block produced. */
static inline __attribute__((always_inline)) int run_exit(eddy_with *g, int status,
                                                          eddy_task *t) {
  g->state = 2;
  /* The block may have swallowed a cancellation: exit still learns that
   * the scope is cancelled. A block that never reached a checkpoint was
   * never told, and ends as it ended (Python: no await, no error). */
  if (status == 0 && t && eddy__cancel_state(t) && t->cancels_seen != g->seen)
    status = -ECANCELED;
  int r = g->ops->flags & EDDY_CM_NOSHIELD ? g->ops->exit(g->self, status)
                                           : exit_shielded(g, status, t);
  int result;
  if (g->ops->flags & EDDY_CM_COMPOSITE) {
    result = r;
  } else if (r == status || r == 0) {
    result = r; /* propagated, or suppressed */
  } else if (status != 0 && !is_cancel(status)) {
    result = status; /* the block's real error stays primary */
    g->cleanup_error = r;
  } else {
    /* A clean or cancelled block: exit's status is the result, whether it
     * converts the cancellation (a timeout's -ETIMEDOUT) or is exit's own
     * failure. */
    result = r;
  }
  g->result = result;
  if (g->out) *g->out = result;
  return result;
}

EDDY_API int eddy_with_close(eddy_with *g, int rc) {
  if (!g) return -EINVAL;
  if (g->state != 1) return g->state == 2 ? g->result : g->status;
  if (rc && !g->error) g->error = rc;
  return run_exit(g, g->error, eddy__self());
}

EDDY_API void eddy_with_cleanup(eddy_with *g) {
  if (g->state != 1) return;
  int result = run_exit(g, g->error, eddy__self());
  /* On this path nobody can read the result except through `out` or the
   * task's cleanup-error slot: keep an exit failure there (the slot of
   * the task running now: a generator's exit may have suspended and been
   * resumed by another task, R39). */
  if (unlikely(!g->out && (g->cleanup_error || result))) {
    eddy_task *t = eddy__self();
    if (g->cleanup_error) t->cleanup_error = g->cleanup_error;
    else if (result && result != g->error && !is_cancel(result))
      t->cleanup_error = result;
  }
}
