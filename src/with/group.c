/* group.c: task groups. A group is a cancel scope opened where the group is
 * entered, plus the core's group record that owns the children; every
 * child's root scope hangs below the group's scope, so cancelling the group
 * (on the first failure) or anything around it reaches them all.
 *
 * Internal and external cancellation are told apart by where the mark is:
 * the group cancels only its own scope; an external cancellation marks a
 * scope above it. So at exit, "cancelled above us" means external. */
#include "../core/internal.h"
#include "eddy/group.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

typedef struct start_rec {
  eddy_event ready;
  void *value;
  int started;
} start_rec;

static int real_error(int r) { return r != 0 && r != -ECANCELED; }

static void note_failure(eddy_taskgroup *tg, int r) {
  tg->nerrors++;
  if (!tg->first_error) tg->first_error = r;
  if (!tg->cancelled_by_us) {
    tg->cancelled_by_us = 1;
    eddy_scope_cancel(&tg->scope);
  }
}

static void on_child_done(struct eddy_group *g, eddy_task *t) {
  eddy_taskgroup *tg = (eddy_taskgroup *)g->on_child_done_arg;
  if (tg->nresults == tg->cap) {
    size_t cap = tg->cap ? tg->cap * 2 : 8;
    eddy_child_result *v = eddy__realloc(tg->results, cap * sizeof *v);
    if (v) {
      tg->results = v;
      tg->cap = cap;
    }
  }
  if (tg->nresults < tg->cap) {
    eddy_child_result *cr = &tg->results[tg->nresults++];
    cr->id = t->id;
    memcpy(cr->name, t->name, sizeof cr->name);
    cr->result = t->result;
  }
  start_rec *sr = t->start_rec;
  if (sr && !sr->started) {
    /* failed before it was ready: the error belongs to the start() caller
     * (Trio's rule), not to the group */
    eddy_event_set(&sr->ready);
    return;
  }
  if (real_error(t->result)) note_failure(tg, t->result);
}

EDDY_API void eddy_taskgroup_init(eddy_taskgroup *tg) {
  memset(tg, 0, sizeof *tg);
}

static int tg_enter(void *self, void **value) {
  eddy_taskgroup *tg = self;
  *value = self;
  if (tg->state != 0) return -EBUSY;
  struct eddy_group *g = eddy__alloc(sizeof *g);
  if (!g) return -ENOMEM;
  int r = eddy_scope_enter(&tg->scope, EDDY_FOREVER, 0);
  if (r) {
    eddy__free(g);
    return r;
  }
  eddy__group_init(g, &tg->scope);
  g->on_child_done = on_child_done;
  g->on_child_done_arg = tg;
  tg->group = g;
  tg->state = 1;
  return 0;
}

static int tg_exit(void *self, int status) {
  eddy_taskgroup *tg = self;
  struct eddy_group *g = tg->group;
  tg->state = 2;
  if (real_error(status)) {
    tg->body_error = status;
    note_failure(tg, status);
  }
  eddy__group_wait_idle(g); /* children see any cancellation; we just wait */
  g->closed = 1;
  tg->state = 3;
  eddy_scope_exit(&tg->scope);
  eddy__free(g);
  tg->group = NULL;
  if (tg->nerrors > 1) return EDDY_EMULTI;
  if (tg->nerrors == 1) return tg->first_error;
  if (eddy_cancelled()) return -ECANCELED; /* external */
  return status == -ECANCELED && tg->cancelled_by_us ? 0 : status;
}

EDDY_API const eddy_cm_ops eddy_taskgroup_cm = {tg_enter, tg_exit,
                                             EDDY_CM_NOSHIELD | EDDY_CM_COMPOSITE};

EDDY_API int eddy_taskgroup_spawn(eddy_taskgroup *tg, eddy_task_fn fn,
                                  void *arg, const eddy_spawn_opts *opts) {
  if (!tg) return -EINVAL;
  if (tg->state != 1 || !tg->group) return EDDY_ECLOSED;
  eddy_spawn_opts o = opts ? *opts : (eddy_spawn_opts){0};
  o.group = tg->group;
  return eddy_spawn_at(NULL, fn, arg, &o, __FILE__, __LINE__);
}

EDDY_API int eddy_taskgroup_start(eddy_taskgroup *tg, eddy_task_fn fn,
                                  void *arg, const eddy_spawn_opts *opts,
                                  void **value) {
  if (!tg) return -EINVAL;
  if (tg->state != 1 || !tg->group) return EDDY_ECLOSED;
  start_rec sr;
  eddy_event_init(&sr.ready);
  sr.value = NULL;
  sr.started = 0;
  eddy_spawn_opts o = opts ? *opts : (eddy_spawn_opts){0};
  o.group = tg->group;
  eddy_task *t;
  int r = eddy_spawn_at(&t, fn, arg, &o, __FILE__, __LINE__);
  if (r) return r;
  t->start_rec = &sr;
  r = eddy_event_wait(&sr.ready);
  if (!eddy_task_done(t)) t->start_rec = NULL;
  if (sr.started) {
    if (value) *value = sr.value;
    eddy_detach(t);
    return 0;
  }
  if (eddy_task_done(t)) r = t->result ? t->result : EDDY_EPROTOCOL;
  if (eddy_task_done(t)) eddy_detach(t);
  else {
    /* cancelled while waiting: the child stays in the group, unstarted */
    t->start_rec = NULL;
    eddy_detach(t);
  }
  return r;
}

EDDY_API int eddy_task_started(void *value) {
  eddy_task *t = eddy__self();
  if (!t) return EDDY_ENOTTASK;
  start_rec *sr = t->start_rec;
  if (!sr || sr->started) return -EINVAL;
  sr->value = value;
  sr->started = 1;
  t->start_rec = NULL;
  eddy_event_set(&sr->ready);
  return 0;
}

EDDY_API void eddy_taskgroup_cancel(eddy_taskgroup *tg) {
  if (tg && tg->state >= 1 && tg->state < 3) {
    tg->cancelled_by_us = 1;
    eddy_scope_cancel(&tg->scope);
  }
}

EDDY_API const eddy_child_result *eddy_taskgroup_results(const eddy_taskgroup *tg,
                                                         size_t *n) {
  if (n) *n = tg ? tg->nresults : 0;
  return tg ? tg->results : NULL;
}

EDDY_API void eddy_taskgroup_fini(eddy_taskgroup *tg) {
  if (!tg) return;
  eddy__free(tg->results);
  tg->results = NULL;
  tg->nresults = tg->cap = 0;
}
