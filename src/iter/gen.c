/* gen.c: async generators. A generator is a coroutine (src/core/task.c)
 * that the pulling task switches into for each item and that switches back
 * with the item: two register switches per item, no allocation, no
 * scheduler. If the generator blocks, it blocks the pulling task (the task's
 * active coroutine is the generator's while it runs).
 *
 * Closing is level-triggered: once a close is requested, every yield
 * returns EDDY_ECLOSING immediately, so a generator cannot refuse to close
 * or hang its consumer by yielding again.
 *
 * Every open generator is on its loop's list, in creation order; at
 * shutdown the ones never closed are closed there (outer before inner) and
 * reported with the place they were created. */
#include "../core/internal.h"
#include "eddy/gen.h"

#include <stdio.h>
#include <string.h>

enum { G_NEW, G_SUSPENDED, G_RUNNING, G_DONE };

struct eddy_gen {
  eddy_iter it;          /* first: an eddy_gen is an iterator */
  eddy__coro coro;
  eddy__coro *back;      /* the coro that resumed us */
  eddy_gen_fn fn;
  void *arg;
  size_t item_size, stack_size;
  void *out;             /* where the current next wants its item */
  int state;
  int closing;           /* level-triggered close request */
  int yielded_closing;   /* yielded after being told to close */
  int inject;            /* error to return from the pending yield */
  int result;            /* the function's return value */
  int item_ready;
  void *sent;
  eddy_scope *scope_at_resume;
  eddy_node link;        /* loop->gens */
  const char *file;
  int line;
};

static int gen_next(eddy_iter *it, void *item);
static int gen_close(eddy_iter *it);
static void gen_release(eddy_iter *it);
static const eddy_iter_ops gen_ops = {gen_next, gen_close, gen_release};

EDDY_API eddy_gen *eddy_gen_of(eddy_iter *it) {
  return it && it->ops == &gen_ops ? (eddy_gen *)it : NULL;
}

static void gen_entry(eddy__transfer tr) {
  eddy_gen *g = eddy__coro_begin(tr);
  g->result = g->fn(g, g->arg);
  g->state = G_DONE;
  eddy__coro_exit(g->back, NULL);
}

EDDY_API eddy_iter *eddy_gen_new_at(eddy_gen_fn fn, void *arg, size_t item_size,
                                    size_t stack_size, const char *file, int line) {
  eddy_loop *loop = eddy__loop();
  if (!loop) return eddy_iter_error(EDDY_ENOTTASK);
  if (!fn) return eddy_iter_error(-EINVAL);
  eddy_gen *g = eddy__calloc(1, sizeof *g);
  if (!g) return eddy_iter_error(-ENOMEM);
  eddy_iter_init(&g->it, &gen_ops);
  g->it.owned = 1;
  g->fn = fn;
  g->arg = arg;
  g->item_size = item_size;
  g->stack_size = stack_size;
  g->file = file;
  g->line = line;
  eddy__list_push_back(&loop->gens, &g->link);
  return &g->it;
}

/* Switch into the generator until it yields or returns. */
static void resume(eddy_gen *g) {
  eddy_task *t = eddy__self();
  g->back = t->active;
  g->scope_at_resume = t->scope;
  g->state = G_RUNNING;
  eddy__coro_switch(&g->coro, g);
  if (g->state == G_RUNNING) g->state = G_SUSPENDED;
}

static int start(eddy_gen *g) {
  int r = eddy__coro_init(&g->coro, g->stack_size, gen_entry);
  if (r) {
    g->state = G_DONE;
    g->result = r;
    return r;
  }
  return 0;
}

static void finish(eddy_gen *g) {
  if (g->coro.stack.slot) eddy__coro_fini(&g->coro);
}

/* What a step returns once the generator has switched back. */
static int outcome(eddy_gen *g) {
  if (g->state == G_DONE) {
    finish(g);
    int r = g->result;
    g->result = 0;
    if (r == 0) return EDDY_DONE;           /* only a return ends the stream */
    if (r > 0) return EDDY_EPROTOCOL;       /* R38: no positive leaks */
    return r;
  }
  return 0;
}

static int step(eddy_gen *g, void *item) {
  if (g->state == G_DONE) return EDDY_DONE;
  if (g->state == G_NEW && start(g)) return g->result;
  g->out = item;
  g->item_ready = 0;
  resume(g);
  return outcome(g);
}

static int gen_next(eddy_iter *it, void *item) {
  eddy_gen *g = (eddy_gen *)it;
  eddy_loop *loop = eddy__calm_loop_tls; /* no scope cancelled: no checkpoint to fail */
  eddy_task *t;
  /* The common step, a started generator resumed for its next item, in
   * one frame with the task looked up once (step and resume each look it
   * up again, and the switch's bookkeeping reloads it). */
  if (likely(loop && (t = loop->current) && g->state == G_SUSPENDED)) {
    g->out = item;
    g->item_ready = 0;
    eddy__coro *from = t->active;
    g->back = from;
    g->scope_at_resume = t->scope;
    g->state = G_RUNNING;
    t->active = &g->coro;
    t->coro_prev = from;
    eddy__transfer tr =
        eddy__switch_to(loop, g->coro.ctx, g->coro.stack.lo,
                        (size_t)(g->coro.stack.hi - g->coro.stack.lo), &from->asan_fake, g);
    g->coro.ctx = tr.ctx; /* only the generator switches back into this step */
    if (likely(g->state == G_SUSPENDED)) return 0;
    if (g->state == G_RUNNING) g->state = G_SUSPENDED;
    return outcome(g);
  }
  int r = eddy__checkpoint(&t);
  if (r) return r;
  return step(g, item);
}

/* What a yield returns once resumed: by next, close, throw or send. */
static inline int resumed(eddy_gen *g) {
  if (g->closing) return EDDY_ECLOSING;
  int inj = g->inject;
  g->inject = 0;
  return inj;
}

/* Every case of eddy__gen_yield_begin but the common one, apart so that
 * the common one runs without a stack frame. */
static __attribute__((noinline)) void *yield_begin_slow(eddy_gen *g, const void *item, int *rc) {
  eddy_task *t = eddy__self();
  if (unlikely(!g || !t || t->active != &g->coro)) {
    *rc = -EINVAL;
    return NULL;
  }
  if (unlikely(g->closing)) {
    g->yielded_closing = 1;
    *rc = EDDY_ECLOSING; /* level-triggered: no suspension */
    return NULL;
  }
  /* R40: a scope opened inside the generator is still open */
  if (unlikely(t->scope != g->scope_at_resume)) {
    *rc = EDDY_ESCOPE;
    return NULL;
  }
  if (g->out && item && g->item_size) eddy__copy_item(g->out, item, g->item_size);
  g->item_ready = 1;
  g->state = G_SUSPENDED;
  eddy__coro_switch(g->back, NULL);
  *rc = resumed(g);
  return NULL;
}

EDDY_API void *eddy__gen_yield_begin(eddy_gen *g, const void *item, int *rc) {
#if defined(EDDY__INLINE_SWITCH_USABLE) && !defined(EDDY__ASAN)
  eddy_task *t = eddy__self();
  if (likely(g && t && t->active == &g->coro && !g->closing && t->scope == g->scope_at_resume &&
             !t->loop->fp_env_per_task)) {
    void *out = g->out;
    size_t n = g->item_size;
    if (out && item && n) {
      switch (n) { /* the sizes items usually have, without a call */
      case 4: memcpy(out, item, 4); break;
      case 8: memcpy(out, item, 8); break;
      case 16: memcpy(out, item, 16); break;
      default: return yield_begin_slow(g, item, rc);
      }
    }
    g->item_ready = 1;
    g->state = G_SUSPENDED;
    /* the caller switches: the bookkeeping of eddy__coro_switch, split */
    eddy__coro *to = g->back;
    t->coro_prev = t->active;
    t->active = to;
    return to->ctx;
  }
#endif
  return yield_begin_slow(g, item, rc);
}

EDDY_API int eddy__gen_yield_end(eddy_gen *g, void *from) {
  g->back->ctx = from; /* whoever resumed us set g->back, in whatever task (R39) */
  return resumed(g);
}

EDDY_API int eddy_gen_yield(eddy_gen *g, const void *item) {
  int rc;
  void *to = eddy__gen_yield_begin(g, item, &rc);
  if (!to) return rc;
  return eddy__gen_yield_end(g, eddy__ctx_switch_fast_nofp(to, NULL).ctx);
}

EDDY_API int eddy_gen_throw(eddy_gen *g, int err, void *item) {
  if (!g || err >= 0) return -EINVAL;
  if (g->it.state == 1) return -EBUSY;
  if (g->state == G_NEW) { /* never started: it finishes with the error */
    g->state = G_DONE;
    g->it.state = 2;
    return err;
  }
  if (g->state == G_DONE) return EDDY_DONE;
  g->inject = err;
  g->it.state = 1;
  int r = step(g, item);
  g->it.state = r == 0 ? 0 : 2;
  return r;
}

EDDY_API int eddy_gen_send(eddy_gen *g, void *value, void *item) {
  if (!g) return -EINVAL;
  if (g->state == G_NEW && value) return -EINVAL; /* R37 */
  if (g->it.state == 1) return -EBUSY;
  g->sent = value;
  g->it.state = 1;
  int r = g->state == G_DONE ? EDDY_DONE : step(g, item);
  g->it.state = r == 0 ? 0 : 2;
  return r;
}

EDDY_API void *eddy_gen_sent(eddy_gen *g) { return g ? g->sent : NULL; }

static int gen_close(eddy_iter *it) {
  eddy_gen *g = (eddy_gen *)it;
  eddy__node_unlink(&g->link);
  if (g->state == G_NEW || g->state == G_DONE) { /* R30, R34 */
    g->state = G_DONE;
    finish(g);
    return 0;
  }
  g->closing = 1;
  g->out = NULL;
  resume(g); /* runs its cleanup; every further yield returns at once */
  while (g->state != G_DONE) resume(g);
  finish(g);
  int r = g->result;
  if (g->yielded_closing) return EDDY_EPROTOCOL; /* R35 */
  return r == EDDY_ECLOSING || r == -ECANCELED || r > 0 ? 0 : r;
}

static void gen_release(eddy_iter *it) {
  eddy_gen *g = (eddy_gen *)it;
  eddy__node_unlink(&g->link);
  eddy__free(g);
}

EDDY_API int eddy_gen_free(eddy_iter *it) {
  if (!it) return 0;
  int r = eddy_iter_close(it);
  if (it->ops && it->ops->release) it->ops->release(it);
  return r;
}

/* ---- loop shutdown: close what nobody closed (R44, R45) */

static int closer(void *arg) {
  eddy_loop *loop = arg;
  eddy_node *n;
  while ((n = loop->gens.next) != &loop->gens) {
    eddy_gen *g = eddy__container_of(n, eddy_gen, link);
    fprintf(stderr, "eddy: generator created at %s:%d was never closed; closing it at shutdown\n",
            g->file, g->line);
    eddy__node_unlink(n);
    eddy_iter_close(&g->it);
    eddy__free(g);
  }
  return 0;
}

static int gen_shutdown(eddy_loop *loop) {
  if (eddy__list_empty(&loop->gens)) return 0;
  return eddy_spawn(NULL, closer, loop) == 0;
}

__attribute__((constructor)) static void gen_register(void) {
  eddy__shutdown_hook = gen_shutdown;
}
