/* eddy/group.h: task groups (asyncio.TaskGroup, Trio's nurseries) as
 * context managers.
 *
 *   eddy_taskgroup tg;
 *   eddy_taskgroup_init(&tg);
 *   {
 *     EDDY_WITH(g, &eddy_taskgroup_cm, &tg);
 *     if (g.status) return g.status;
 *     eddy_taskgroup_spawn(&tg, worker, arg, NULL);
 *     ...
 *   }   // exit waits for every child, even after `return`
 *
 * Rules: the first real failure (a child or the block returning an error
 * other than -ECANCELED) cancels the siblings and the block; the group's
 * result is that error, or EDDY_EMULTI when several failed (enumerate them
 * with eddy_taskgroup_results()); the cancellations the group caused itself
 * are never reported as errors; an external cancellation gives -ECANCELED.
 * Children are inside the scopes active where the group was opened (a
 * deadline around the group applies to them; one around a single spawn
 * call does not). Spawning into a group that has finished fails with
 * EDDY_ECLOSED. */
#ifndef EDDY_GROUP_H
#define EDDY_GROUP_H

#include "with.h"

EDDY_BEGIN_DECLS

typedef struct eddy_child_result {
  uint64_t id;
  char name[32];
  int result;
} eddy_child_result;

typedef struct eddy_taskgroup {
  /* private */
  eddy_scope scope;
  void *group;            /* the core's group record (owned) */
  eddy_child_result *results;
  size_t nresults, cap;
  int first_error, nerrors, body_error;
  int state;              /* 0 new, 1 open, 2 closing, 3 finished */
  int cancelled_by_us;
} eddy_taskgroup;

EDDY_API void eddy_taskgroup_init(eddy_taskgroup *tg);
EDDY_API extern const eddy_cm_ops eddy_taskgroup_cm;

/* Spawn a child (opts->group is ignored). out may be NULL: the group joins
 * it. With out, the caller may also eddy_join() it. */
EDDY_API int eddy_taskgroup_spawn(eddy_taskgroup *tg, eddy_task_fn fn,
                                  void *arg, const eddy_spawn_opts *opts);
/* Trio's nursery.start: spawn and wait until the child calls
 * eddy_task_started(value) (value goes to *value). A child that returns
 * before that fails the start with its error (EDDY_EPROTOCOL if it
 * returned 0). */
EDDY_API int eddy_taskgroup_start(eddy_taskgroup *tg, eddy_task_fn fn,
                                  void *arg, const eddy_spawn_opts *opts,
                                  void **value);
/* Called by a child started with eddy_taskgroup_start. */
EDDY_API int eddy_task_started(void *value);
/* Cancel everything in the group (the block too). */
EDDY_API void eddy_taskgroup_cancel(eddy_taskgroup *tg);
/* Every finished child's result, in completion order. */
EDDY_API const eddy_child_result *eddy_taskgroup_results(const eddy_taskgroup *tg,
                                                         size_t *n);
/* Release the results array (after the group has finished). */
EDDY_API void eddy_taskgroup_fini(eddy_taskgroup *tg);

EDDY_END_DECLS
#endif
