/* eddy/exitstack.h: exit stacks (Python's AsyncExitStack): a dynamic
 * number of managers and plain cleanup callbacks, unwound in reverse order
 * when the stack's own WITH block ends (or by eddy_exitstack_close()).
 *
 *   eddy_exitstack st;
 *   eddy_exitstack_init(&st);
 *   {
 *     EDDY_WITH(g, &eddy_exitstack_cm, &st);
 *     for (...) {
 *       void *conn;
 *       int r = eddy_exitstack_enter(&st, &conn_cm, conns[i], &conn);
 *       if (r) return eddy_with_close(&g, r);  // unwinds those entered
 *     }
 *     ...
 *   }
 *
 * Each exit sees the status left by the ones registered after it
 * (suppression and replacement propagate, as with nested WITH); callbacks
 * see it too but cannot change it. eddy_exitstack_transfer() moves every
 * registration to another stack without running any (pop_all). */
#ifndef EDDY_EXITSTACK_H
#define EDDY_EXITSTACK_H

#include "with.h"

EDDY_BEGIN_DECLS

typedef struct eddy_exitstack_entry {
  const eddy_cm_ops *ops; /* NULL for a callback */
  void *self;
  void (*cb)(void *arg, int status);
} eddy_exitstack_entry;

typedef struct eddy_exitstack {
  eddy_exitstack_entry *v; /* private */
  size_t n, cap;
  int max;                 /* registrations allowed; 0 = 1024 */
} eddy_exitstack;

EDDY_API void eddy_exitstack_init(eddy_exitstack *st);
EDDY_API extern const eddy_cm_ops eddy_exitstack_cm;
/* Enter a manager and register its exit. On failure nothing is registered
 * (enter undid itself) and the error is returned. */
EDDY_API int eddy_exitstack_enter(eddy_exitstack *st, const eddy_cm_ops *ops,
                                  void *self, void **value);
/* Register an already-entered manager's exit, or a callback. */
EDDY_API int eddy_exitstack_push(eddy_exitstack *st, const eddy_cm_ops *ops,
                                 void *self);
EDDY_API int eddy_exitstack_callback(eddy_exitstack *st,
                                     void (*cb)(void *arg, int status),
                                     void *arg);
/* Unwind now with `status` as the outcome; returns the final status. */
EDDY_API int eddy_exitstack_close(eddy_exitstack *st, int status);
/* Move every registration to `to` (which must be empty), running none. */
EDDY_API int eddy_exitstack_transfer(eddy_exitstack *from, eddy_exitstack *to);

EDDY_END_DECLS
#endif
