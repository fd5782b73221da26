/* exitstack.c: exit stacks. Registrations live in a growable array; the
 * unwind runs them last-in first-out, threading the status through each
 * exit exactly as nested WITH blocks would (R42). Exits run shielded under
 * the loop's grace deadline, like every WITH exit. */
#include "../core/internal.h"
#include "eddy/exitstack.h"

#include <errno.h>
#include <string.h>

EDDY_API void eddy_exitstack_init(eddy_exitstack *st) {
  memset(st, 0, sizeof *st);
}

static int add(eddy_exitstack *st, eddy_exitstack_entry e) {
  size_t max = st->max > 0 ? (size_t)st->max : 1024;
  if (st->n >= max) return -ENOSPC;
  if (st->n == st->cap) {
    size_t cap = st->cap ? st->cap * 2 : 8;
    eddy_exitstack_entry *v = eddy__realloc(st->v, cap * sizeof *v);
    if (!v) return -ENOMEM;
    st->v = v;
    st->cap = cap;
  }
  st->v[st->n++] = e;
  return 0;
}

EDDY_API int eddy_exitstack_push(eddy_exitstack *st, const eddy_cm_ops *ops,
                                 void *self) {
  if (!st || !ops || !ops->exit) return -EINVAL;
  return add(st, (eddy_exitstack_entry){ops, self, NULL});
}

EDDY_API int eddy_exitstack_callback(eddy_exitstack *st,
                                     void (*cb)(void *arg, int status),
                                     void *arg) {
  if (!st || !cb) return -EINVAL;
  return add(st, (eddy_exitstack_entry){NULL, arg, cb});
}

EDDY_API int eddy_exitstack_enter(eddy_exitstack *st, const eddy_cm_ops *ops,
                                  void *self, void **value) {
  if (!st || !ops || !ops->enter || !ops->exit) return -EINVAL;
  /* Reserve the slot first: a registration that cannot be recorded after a
   * successful enter would leak the resource. */
  if (st->n == st->cap) {
    int r = add(st, (eddy_exitstack_entry){NULL, NULL, NULL});
    if (r) return r;
    st->n--;
  }
  size_t max = st->max > 0 ? (size_t)st->max : 1024;
  if (st->n >= max) return -ENOSPC;
  void *v = NULL;
  int r = ops->enter(self, &v);
  if (r) return r;
  if (value) *value = v;
  st->v[st->n++] = (eddy_exitstack_entry){ops, self, NULL};
  return 0;
}

EDDY_API int eddy_exitstack_close(eddy_exitstack *st, int status) {
  if (!st) return -EINVAL;
  while (st->n > 0) {
    eddy_exitstack_entry e = st->v[--st->n];
    if (e.ops) {
      /* the same combination a WITH guard applies (with.c) */
      int r = e.ops->exit(e.self, status);
      int real = status != 0 && status != -ECANCELED && status != -ETIMEDOUT;
      if (r == status || r == 0 || !real || (e.ops->flags & EDDY_CM_COMPOSITE))
        status = r;
    } else {
      e.cb(e.self, status); /* callbacks cannot suppress */
    }
  }
  eddy__free(st->v);
  st->v = NULL;
  st->cap = 0;
  return status;
}

EDDY_API int eddy_exitstack_transfer(eddy_exitstack *from, eddy_exitstack *to) {
  if (!from || !to || to->n) return -EINVAL;
  eddy__free(to->v);
  *to = *from;
  from->v = NULL;
  from->n = from->cap = 0;
  return 0;
}

static int es_enter(void *self, void **value) {
  *value = self;
  return 0;
}
static int es_exit(void *self, int status) {
  return eddy_exitstack_close(self, status);
}
EDDY_API const eddy_cm_ops eddy_exitstack_cm = {es_enter, es_exit, EDDY_CM_COMPOSITE};
