/* cmgen.c: generator-style managers. enter switches into the function's
 * coroutine, which runs setup and comes back at eddy_cmgen_yield (or by
 * returning, which fails enter). exit switches in again with the block's
 * status; teardown runs and the function's return value comes back as
 * exit's result. Switching is direct, coroutine to coroutine, within the
 * task: no trip through the scheduler. */
#include "../core/internal.h"
#include "eddy/cmgen.h"

#include <errno.h>
#include <string.h>

enum { S_NEW, S_SETUP, S_YIELDED, S_TEARDOWN, S_DONE };

typedef struct gen_coro {
  eddy__coro coro;
  eddy__coro *back; /* the coro that entered or exited us */
  eddy_cmgen *g;
} gen_coro;

EDDY_API void eddy_cmgen_init(eddy_cmgen *g, eddy_cmgen_fn fn, void *arg,
                              size_t stack_size) {
  memset(g, 0, sizeof *g);
  g->fn = fn;
  g->arg = arg;
  g->stack_size = stack_size;
}

static void gen_entry(eddy__transfer tr) {
  gen_coro *gc = eddy__coro_begin(tr);
  eddy_cmgen *g = gc->g;
  g->result = g->fn(g, g->arg);
  g->state = S_DONE;
  eddy__coro_exit(gc->back, NULL);
}

/* Switch into the generator and run until it yields or returns. */
static void run_gen(gen_coro *gc) {
  eddy_task *t = eddy__self();
  gc->back = t->active;
  eddy__coro_switch(&gc->coro, gc);
}

EDDY_API int eddy_cmgen_yield(eddy_cmgen *g, void *value) {
  gen_coro *gc = g ? g->coro : NULL;
  if (!gc || eddy__self()->active != &gc->coro) return -EINVAL;
  if (++g->yields > 1 || g->state == S_TEARDOWN) {
    g->result = EDDY_EPROTOCOL; /* a second yield: refuse, level-triggered */
    return EDDY_ECLOSING;
  }
  g->value = value;
  g->state = S_YIELDED;
  eddy__coro_switch(gc->back, NULL); /* into the block */
  g->state = S_TEARDOWN;
  return g->sent;
}

static int cmgen_enter(void *self, void **value) {
  eddy_cmgen *g = self;
  if (!g || !g->fn) return -EINVAL;
  if (g->state != S_NEW) return -EBUSY; /* single use */
  gen_coro *gc = eddy__alloc(sizeof *gc);
  if (!gc) return -ENOMEM;
  memset(gc, 0, sizeof *gc);
  int r = eddy__coro_init(&gc->coro, g->stack_size, gen_entry);
  if (r) {
    eddy__free(gc);
    return r;
  }
  gc->g = g;
  g->coro = gc;
  g->state = S_SETUP;
  run_gen(gc);
  if (g->state == S_YIELDED) {
    *value = g->value;
    return 0;
  }
  /* returned without yielding: enter fails */
  eddy__coro_fini(&gc->coro);
  eddy__free(gc);
  g->coro = NULL;
  return g->result ? g->result : EDDY_EPROTOCOL;
}

static int cmgen_exit(void *self, int status) {
  eddy_cmgen *g = self;
  gen_coro *gc = g->coro;
  g->sent = status;
  run_gen(gc); /* teardown runs; second yields return at once */
  int r = g->result;
  if (g->yields > 1) r = EDDY_EPROTOCOL;
  eddy__coro_fini(&gc->coro);
  eddy__free(gc);
  g->coro = NULL;
  return r;
}

EDDY_API const eddy_cm_ops eddy_cmgen_cm = {cmgen_enter, cmgen_exit, 0};
