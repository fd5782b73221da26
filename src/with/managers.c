/* managers.c: the built-in context managers over the core's primitives:
 * lock, semaphore, timeout (fail and move-on), shield and cancel scope.
 * None of their exits blocks, so they run unshielded (EDDY_CM_NOSHIELD):
 * a scope's exit must be the innermost scope when it runs. */
#include "../core/internal.h"
#include "eddy/with.h"

#include <errno.h>

/* ---- lock */
static int lock_enter(void *self, void **value) {
  *value = self;
  return eddy_lock_acquire(self);
}
static int lock_exit(void *self, int status) {
  int r = eddy_lock_release(self);
  return r ? r : status;
}
EDDY_API const eddy_cm_ops eddy_lock_cm = {lock_enter, lock_exit, EDDY_CM_NOSHIELD};

/* ---- semaphore */
static int sem_enter(void *self, void **value) {
  *value = self;
  return eddy_sem_acquire(self);
}
static int sem_exit(void *self, int status) {
  int r = eddy_sem_release(self);
  return r ? r : status;
}
EDDY_API const eddy_cm_ops eddy_sem_cm = {sem_enter, sem_exit, EDDY_CM_NOSHIELD};

/* ---- timeout */
#define RELATIVE_MARK INT64_MIN /* deadline field holds -delta until enter */

EDDY_API void eddy_timeout_in(eddy_timeout *t, eddy_time_t delta, int move_on) {
  t->deadline = delta == EDDY_FOREVER ? EDDY_FOREVER : RELATIVE_MARK;
  t->scope.deadline = delta < 0 ? 0 : delta;
  t->move_on = move_on;
  t->expired = t->caught = 0;
  t->scope.owner = NULL;
}

EDDY_API void eddy_timeout_at(eddy_timeout *t, eddy_time_t deadline, int move_on) {
  t->deadline = deadline;
  t->move_on = move_on;
  t->expired = t->caught = 0;
  t->scope.owner = NULL;
}

EDDY_API eddy_time_t eddy_timeout_deadline(const eddy_timeout *t) {
  return t->deadline;
}

EDDY_API void eddy_timeout_reschedule(eddy_timeout *t, eddy_time_t deadline) {
  t->deadline = deadline;
  if (t->scope.owner) eddy_scope_reschedule(&t->scope, deadline);
}

static int timeout_enter(void *self, void **value) {
  eddy_timeout *t = self;
  *value = self;
  if (t->scope.owner) return -EBUSY; /* single use (R9) */
  if (t->deadline == RELATIVE_MARK) t->deadline = eddy_deadline_in(t->scope.deadline);
  return eddy_scope_enter(&t->scope, t->deadline, 0);
}

static int timeout_exit(void *self, int status) {
  eddy_timeout *t = self;
  int fired = eddy_scope_exit(&t->scope) == 1;
  t->expired = fired || (t->deadline != EDDY_FOREVER && eddy_now() >= t->deadline);
  if (!fired) return status; /* not ours: pass through (R49) */
  if (status == 0) return 0;  /* fired, but never delivered: R51 */
  /* Our deadline fired: the body saw -ECANCELED (or swallowed it, R52). */
  if (status != 0 && status != -ECANCELED) return status; /* a real error */
  if (eddy_cancelled()) return status; /* an outer cancellation too */
  if (t->move_on) {
    t->caught = 1;
    return 0;
  }
  return -ETIMEDOUT;
}
EDDY_API const eddy_cm_ops eddy_timeout_cm = {timeout_enter, timeout_exit, EDDY_CM_NOSHIELD};

/* ---- shield */
EDDY_API void eddy_shield_init(eddy_shield *s, eddy_time_t deadline) {
  s->deadline = deadline;
}
static int shield_enter(void *self, void **value) {
  eddy_shield *s = self;
  *value = self;
  return eddy_scope_enter(&s->scope, s->deadline, EDDY_SCOPE_SHIELD);
}
static int shield_exit(void *self, int status) {
  eddy_shield *s = self;
  int fired = eddy_scope_exit(&s->scope) == 1;
  if (fired && status == -ECANCELED && !eddy_cancelled()) return -ETIMEDOUT;
  return status;
}
EDDY_API const eddy_cm_ops eddy_shield_cm = {shield_enter, shield_exit, EDDY_CM_NOSHIELD};

/* ---- plain cancel scope */
static int cscope_enter(void *self, void **value) {
  *value = self;
  return eddy_scope_enter(self, EDDY_FOREVER, 0);
}
static int cscope_exit(void *self, int status) {
  int was = eddy_scope_exit(self);
  if (was == 2 && status == -ECANCELED && !eddy_cancelled()) return 0;
  return status;
}
EDDY_API const eddy_cm_ops eddy_cancel_scope_cm = {cscope_enter, cscope_exit, EDDY_CM_NOSHIELD};
