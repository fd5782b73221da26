/* task.c: tasks: spawn, the switch in and out of the scheduler, parking and
 * waking, join, detach, cancel, names and task-local storage.
 *
 * A task's control block lives at the top of its own stack slot, so spawn
 * allocates nothing but a (pooled) stack, and an idle task costs the one or
 * two pages its stack has touched. The scheduler (loop.c) runs on the
 * thread's own stack; every suspension is a switch to it and every
 * resumption a switch from it, so a task switch is two register switches
 * and a queue operation. */

#include "internal.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef EDDY__ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

__thread eddy_loop *eddy__loop_tls __attribute__((tls_model("initial-exec")));
__thread eddy_loop *eddy__calm_loop_tls __attribute__((tls_model("initial-exec")));

/* ------------------------------------------------------------- switching */

/* The switch protocol between tasks and the scheduler: whoever switches
 * away passes as the transfer's data the slot its own context belongs in
 * (its task's resume_ctx; the scheduler's is loop->sched_ctx) and sets
 * loop->current to the task it resumes. The resumed side stores the
 * context it came from in that slot: one store, with no test of who the
 * switcher was (the hand-off's resumed side is in user code, inlined from
 * eddy/chan.h, and does the same). */
static inline void arrived(eddy__transfer tr) { *(void **)tr.data = tr.ctx; }

/* Whom a suspending t hands the CPU to: the next ready task, if any,
 * directly, without a trip through the scheduler (one register switch per
 * hand-off); else the scheduler. Every EDDY__POLL_EVERY hand-offs the
 * scheduler gets a turn to poll I/O and timers, so a busy set of tasks
 * cannot starve them. Returns 0 when the next ready task is t itself (it
 * just goes on), else 1 with the target context and, for ASan, its stack. */
static inline __attribute__((always_inline)) int handoff(eddy_loop *loop, eddy_task *t,
                                                         void **ctx, const void **lo,
                                                         size_t *size) {
  if (eddy__any_ready(loop) && loop->since_poll < EDDY__POLL_EVERY) {
    loop->since_poll++;
    eddy_task *next = eddy__ready_take(loop, 1);
    next->state = EDDY__RUNNING;
    if (next == t) return 0;
    eddy__coro *nc = next->active; /* its stack, for ASan */
    loop->current = next;
    *ctx = next->resume_ctx;
    *lo = nc->stack.lo;
    *size = (size_t)(nc->stack.hi - nc->stack.lo);
    return 1;
  }
  *ctx = loop->sched_ctx;
  *lo = loop->native_lo;
  *size = loop->native_size;
  return 1;
}

/* Suspend t (already queued or parked). */
static inline __attribute__((always_inline)) void suspend(eddy_task *t) {
  eddy_loop *loop = t->loop;
  void *ctx;
  const void *lo;
  size_t size;
  if (!handoff(loop, t, &ctx, &lo, &size)) return;
  arrived(eddy__switch_to(loop, ctx, lo, size, &t->active->asan_fake, &t->resume_ctx));
}
/* Out of line on purpose: eddy_yield calls it rather than inlining the
 * switch, which measured 5.5 ns per yield here against 9.5 ns inlined
 * (same instruction count; the inlined form runs slower on this CPU). */
__attribute__((noinline)) void eddy__suspend(eddy_task *t) { suspend(t); }
static __attribute__((noinline)) int yield_suspend(eddy_task *t) {
  suspend(t);
  return 0;
}

/* Called by the scheduler: run t; return when some task switches back to
 * the scheduler (not necessarily t: tasks hand off directly). */
void eddy__resume(eddy_loop *loop, eddy_task *t) {
  eddy__coro *c = t->active;
  loop->current = t;
  t->state = EDDY__RUNNING;
  eddy__transfer tr =
      eddy__switch_to(loop, t->resume_ctx, c->stack.lo, (size_t)(c->stack.hi - c->stack.lo),
                &loop->native_fake, &loop->sched_ctx);
  eddy_task *back = eddy__container_of(tr.data, eddy_task, resume_ctx);
  loop->current = NULL;
  if (back->state == EDDY__DONE) {
    if (!(back->flags & EDDY__F_HANDLE)) eddy__task_release(back);
  } else {
    back->resume_ctx = tr.ctx;
  }
}

/* ------------------------------------------------------------- parking */

static void task_timer_fire(eddy_timer_entry *e) {
  eddy_task *t = eddy__container_of(e, eddy_task, timer);
  if (t->wait) eddy__wake(t->wait, -ETIMEDOUT);
}

/* The halves of a park around its switch (eddy__park_begin/_end let a
 * public header put the switch in the caller's own code; eddy__park is the
 * whole). */
static inline int park_prepare(eddy__wait *w, eddy_time_t deadline, const char *what, void *pc) {
  eddy_task *t = w->task;
  /* A cancellation that came while the task was not parked (woken by a
   * waker, then cancelled before it ran) woke nobody: a call that parks
   * again after such a wake (a retry, a second stage) must not sleep
   * through it. The entry checkpoint covers the first park only. */
  if (unlikely((w->flags & EDDY__WAIT_CANCELLABLE) && eddy__cancel_state(t))) {
    eddy__node_unlink(&w->node);
    t->cancels_seen++;
    return -ECANCELED;
  }
  if (deadline != EDDY_FOREVER) {
    if (deadline <= eddy_now()) {
      eddy__node_unlink(&w->node);
      return -ETIMEDOUT;
    }
    int r = eddy__timer_arm(t->loop, &t->timer, deadline);
    if (r) {
      eddy__node_unlink(&w->node);
      return r;
    }
    w->flags |= EDDY__WAIT_TIMED; /* a ticket's end must disarm it */
  }
  t->wait = w;
  t->wait_what = what;
  t->wait_pc = pc;
  t->state = EDDY__WAITING;
  return 0;
}

/* t->wait_what stays: eddy_dump reads it only while the task is waiting,
 * and every wait sets it. */
static inline int park_done(eddy__wait *w, eddy_task *t) {
  int r = w->result;
  if (unlikely(r == -ECANCELED)) t->cancels_seen++;
  return r;
}
/* Apart, so that a wait without deadline finishes without a stack frame
 * (the call to the timer code would make the compiler save registers). */
static __attribute__((noinline)) int park_finish_timed(eddy__wait *w) {
  eddy_task *t = w->task;
  eddy__timer_cancel(t->loop, &t->timer);
  return park_done(w, t);
}
static inline int park_finish(eddy__wait *w) {
  eddy_task *t = w->task;
  if (unlikely(eddy__timer_armed(&t->timer))) return park_finish_timed(w);
  return park_done(w, t);
}

int eddy__park(eddy__wait *w, eddy_time_t deadline, const char *what,
               void *pc) {
  int r = park_prepare(w, deadline, what, pc);
  if (r) return r;
  suspend(w->task);
  return park_finish(w);
}

/* Everything but the common case of eddy__park_begin, apart so that the
 * common case runs without saving registers for these calls. */
static __attribute__((noinline)) eddy__park_step park_begin_slow(eddy__wait *w,
                                                                 eddy_time_t deadline,
                                                                 const char *what, void *pc) {
  eddy__park_step s = {.rc = park_prepare(w, deadline, what, pc)};
  if (s.rc) return s;
  eddy_task *t = w->task;
#if defined(EDDY__INLINE_SWITCH_USABLE) && !defined(EDDY__ASAN)
  if (likely(!t->loop->fp_env_per_task)) {
    const void *lo;
    size_t size;
    if (handoff(t->loop, t, &s.to, &lo, &size)) { /* the caller switches */
      s.self = &t->resume_ctx;
      return s;
    }
    s.rc = park_finish(w);
    return s;
  }
#endif
  suspend(t);
  s.rc = park_finish(w);
  return s;
}

eddy__park_step eddy__park_begin(eddy__wait *w, eddy_time_t deadline, const char *what,
                                 void *pc) {
  eddy_task *t = w->task;
  if (likely(deadline == EDDY_FOREVER && eddy__park_fast_ok(t->loop)))
    return (eddy__park_step){.to = eddy__park_fast(t->loop, w, t, what, pc), .self = &t->resume_ctx};
  return park_begin_slow(w, deadline, what, pc);
}

int eddy__park_end(eddy__wait *w, void *from_ctx, void *from_data) {
  arrived((eddy__transfer){from_ctx, from_data});
  return park_finish(w);
}

/* The public header's name for the rest of a park (eddy/chan.h): the wait
 * record is the ticket's first member. */
EDDY_API int eddy__park_ticket_finish(eddy__park_ticket *tk) {
  return park_finish((eddy__wait *)(void *)tk->wait);
}

/* ------------------------------------------------------------- spawn */

static void task_entry(eddy__transfer tr);

static atomic_int next_local_key;
#define MAX_LOCAL_KEYS 1024
static void (*local_dtors[MAX_LOCAL_KEYS])(void *);

EDDY_API int eddy_spawn_at(eddy_task **out, eddy_task_fn fn, void *arg,
                           const eddy_spawn_opts *opts, const char *file,
                           int line) {
  eddy_loop *loop = eddy__loop();
  if (out) *out = NULL;
  if (!loop) return EDDY_ENOTTASK;
  if (!fn) return -EINVAL;
  struct eddy_group *g = opts && opts->group ? opts->group : &loop->root_group;
  if (g->closed || loop->shutting_down) return EDDY_ECLOSED;
  eddy__stack st;
  int r = eddy__stack_get(loop, opts ? opts->stack_size : 0, &st);
  if (r) return r;
  /* The control block takes the top of the slot, cache-line aligned. */
  uintptr_t top = ((uintptr_t)st.hi - sizeof(eddy_task)) & ~(uintptr_t)63;
  eddy_task *t = (eddy_task *)top;
  memset(t, 0, sizeof *t);
  t->coro.stack = st;
  t->coro.ctx = eddy__ctx_make(st.lo, (void *)top, task_entry);
  if (!t->coro.ctx) {
    eddy__stack_put(loop, &st);
    return -ENOMEM;
  }
  t->active = &t->coro;
  t->resume_ctx = t->coro.ctx;
  t->loop = loop;
  t->fn = fn;
  t->arg = arg;
  t->id = ++loop->next_id;
  t->spawn_file = file;
  t->spawn_line = line;
  t->timer.fire = task_timer_fire;
  if (opts && opts->name) snprintf(t->name, sizeof t->name, "%s", opts->name);
  eddy__list_init(&t->joiners);
  eddy__list_init(&t->runq);
  eddy__scope_link(&t->root, g->scope, t);
  t->scope = &t->root;
  eddy__list_push_back(&loop->all, &t->all);
  eddy__list_push_back(&g->tasks, &t->group_link);
  t->group = g;
  g->live++;
  loop->live++;
  if (out) {
    t->flags |= EDDY__F_HANDLE;
    *out = t;
  }
  eddy__make_ready(t);
  return 0;
}

static void task_finish(eddy_task *t) {
  eddy_loop *loop = t->loop;
  /* A scope still open here lived in a frame that has returned: its memory
   * is gone, so the tree cannot be repaired. Fail fast and say where. */
  if (t->scope != &t->root) {
    fprintf(stderr,
            "eddy: task %llu '%s' (spawned at %s:%d) returned with a scope "
            "still open; scopes must be exited (use the WITH forms)\n",
            (unsigned long long)t->id, t->name, t->spawn_file, t->spawn_line);
    abort();
  }
  eddy__locals_destroy(t);
  eddy__scope_unlink(&t->root);
  t->scope = NULL;
  t->state = EDDY__DONE;
  eddy__node_unlink(&t->all);
  eddy_node *n;
  while ((n = eddy__list_pop_front(&t->joiners)) != NULL) {
    eddy__wait *w = eddy__container_of(n, eddy__wait, node);
    eddy__list_init(&w->node);
    eddy__wake(w, 0);
  }
  struct eddy_group *g = t->group;
  eddy__node_unlink(&t->group_link);
  g->live--;
  loop->live--;
  if (g->on_child_done) g->on_child_done(g, t);
  if (g->live == 0) {
    while ((n = eddy__list_pop_front(&g->idle_waiters)) != NULL) {
      eddy__wait *w = eddy__container_of(n, eddy__wait, node);
      eddy__list_init(&w->node);
      eddy__wake(w, 0);
    }
  }
}

static void task_entry(eddy__transfer tr) {
  eddy_loop *loop = eddy__loop();
  eddy_task *t = loop->current;
#ifdef EDDY__ASAN
  const void *lo;
  size_t size;
  __sanitizer_finish_switch_fiber(NULL, &lo, &size);
  if (tr.data == &loop->sched_ctx) { /* entered from the scheduler: the native stack */
    loop->native_lo = lo;
    loop->native_size = size;
  }
#endif
  arrived(tr);
  t->result = t->fn(t->arg);
  task_finish(t);
  /* Last switch out, always to the scheduler, which releases this stack;
   * ASan may drop its fake frames (save=NULL). */
  eddy__switch_to(loop, loop->sched_ctx, loop->native_lo, loop->native_size, NULL,
                  &t->resume_ctx);
  abort();
}

#define CANARY_BROKEN " (found as it ended: the canary at the bottom of its unguarded stack was overwritten, and the memory below with it)"

void eddy__task_release(eddy_task *t) {
  t->flags |= EDDY__F_REAPED;
  if (unlikely(!eddy__stack_intact(&t->coro.stack)))
    eddy__stack_overflow_abort(t, &t->coro, CANARY_BROKEN);
  eddy__stack st = t->coro.stack;
  eddy__stack_put(t->loop, &st);
}

/* ------------------------------------------------------------- join */

EDDY_API int eddy_join_until(eddy_task *t, int *result, eddy_time_t deadline) {
  eddy_task *self;
  int r = eddy__checkpoint(&self);
  if (r) return r;
  if (!t || !(t->flags & EDDY__F_HANDLE)) return -EINVAL;
  if (t == self) return -EDEADLK;
  while (t->state != EDDY__DONE) {
    if (!eddy__list_empty(&t->joiners)) return -EBUSY;
    eddy__wait w;
    eddy__wait_init(&w, self);
    eddy__list_push_back(&t->joiners, &w.node);
    r = eddy__park(&w, deadline, "join", __builtin_return_address(0));
    if (r) return r;
  }
  if (result) *result = t->result;
  t->flags &= (uint8_t)~EDDY__F_HANDLE;
  eddy__task_release(t);
  return 0;
}

EDDY_API int eddy_join(eddy_task *t, int *result) {
  return eddy_join_until(t, result, EDDY_FOREVER);
}

EDDY_API void eddy_detach(eddy_task *t) {
  if (!t || !(t->flags & EDDY__F_HANDLE)) return;
  t->flags &= (uint8_t)~EDDY__F_HANDLE;
  if (t->state == EDDY__DONE) eddy__task_release(t);
}

EDDY_API void eddy_cancel(eddy_task *t) {
  if (!t || t->state == EDDY__DONE) return;
  eddy__scope_cancel_reason(&t->root, -ECANCELED);
}

EDDY_API int eddy_task_done(const eddy_task *t) {
  return t && t->state == EDDY__DONE;
}

EDDY_API eddy_task *eddy_task_current(void) { return eddy__self(); }

EDDY_API const char *eddy_task_name(const eddy_task *t) {
  return t ? t->name : "";
}

EDDY_API int eddy_task_set_name(eddy_task *t, const char *name) {
  if (!t || !name) return -EINVAL;
  snprintf(t->name, sizeof t->name, "%s", name);
  return strlen(name) < sizeof t->name ? 0 : -ENAMETOOLONG;
}

EDDY_API uint64_t eddy_task_id(const eddy_task *t) { return t ? t->id : 0; }

/* ------------------------------------------------------------- yield */

EDDY_API int eddy_yield(void) {
  eddy_task *t;
  int r = eddy__checkpoint(&t);
  if (unlikely(r)) return r;
  eddy__make_ready(t);
  return yield_suspend(t); /* a tail call: eddy_yield keeps no frame */
}

EDDY_API int eddy_checkpoint(void) {
  eddy_task *t;
  return eddy__checkpoint(&t);
}

EDDY_API int eddy_sleep_until(eddy_time_t deadline) {
  eddy_task *t;
  int r = eddy__checkpoint(&t);
  if (r) return r;
  if (deadline <= eddy_now()) return eddy_yield();
  eddy__wait w;
  eddy__wait_init(&w, t);
  r = eddy__park(&w, deadline, "sleep", __builtin_return_address(0));
  /* The deadline passed between the test above and the park (no timer
   * was armed: it never slept): a sleep is still a schedule point. */
  if (r == -ETIMEDOUT && !(w.flags & EDDY__WAIT_TIMED)) return eddy_yield();
  return r == -ETIMEDOUT ? 0 : r;
}

EDDY_API int eddy_wait_turn_end(eddy_time_t deadline) {
  eddy_task *t;
  int r = eddy__checkpoint(&t);
  if (r) return r;
  eddy__wait w;
  eddy__wait_init(&w, t);
  eddy__list_push_back(&t->loop->turn_end, &w.node);
  return eddy__park(&w, deadline, "turn end", __builtin_return_address(0));
}

EDDY_API int eddy_sleep(eddy_time_t delta) {
  return eddy_sleep_until(eddy_deadline_in(delta));
}

/* ------------------------------------------------------------- locals */

EDDY_API int eddy_local_key_create(eddy_local_key *key, void (*dtor)(void *)) {
  int k = atomic_fetch_add(&next_local_key, 1);
  if (k >= MAX_LOCAL_KEYS) {
    atomic_fetch_sub(&next_local_key, 1);
    return -EAGAIN;
  }
  local_dtors[k] = dtor;
  *key = k;
  return 0;
}

EDDY_API void *eddy_local_get(eddy_local_key key) {
  eddy_task *t = eddy__self();
  if (!t || key < 0) return NULL;
  if (key < EDDY__LOCALS_INLINE) return t->locals_inline[key];
  int i = key - EDDY__LOCALS_INLINE;
  return i < t->nlocals_more ? t->locals_more[i] : NULL;
}

EDDY_API int eddy_local_set(eddy_local_key key, void *value) {
  eddy_task *t = eddy__self();
  if (!t) return EDDY_ENOTTASK;
  if (key < 0 || key >= atomic_load(&next_local_key)) return -EINVAL;
  if (key < EDDY__LOCALS_INLINE) {
    t->locals_inline[key] = value;
    return 0;
  }
  int i = key - EDDY__LOCALS_INLINE;
  if (i >= t->nlocals_more) {
    int n = i + 8;
    void **v = eddy__realloc(t->locals_more, (size_t)n * sizeof *v);
    if (!v) return -ENOMEM;
    memset(v + t->nlocals_more, 0, (size_t)(n - t->nlocals_more) * sizeof *v);
    t->locals_more = v;
    t->nlocals_more = n;
  }
  t->locals_more[i] = value;
  return 0;
}

void eddy__locals_destroy(eddy_task *t) {
  for (int k = 0; k < EDDY__LOCALS_INLINE; k++)
    if (t->locals_inline[k] && local_dtors[k]) {
      void *v = t->locals_inline[k];
      t->locals_inline[k] = NULL;
      local_dtors[k](v);
    }
  for (int i = 0; i < t->nlocals_more; i++) {
    void *v = t->locals_more[i];
    int k = i + EDDY__LOCALS_INLINE;
    if (v && local_dtors[k]) {
      t->locals_more[i] = NULL;
      local_dtors[k](v);
    }
  }
  eddy__free(t->locals_more);
  t->locals_more = NULL;
  t->nlocals_more = 0;
}

/* ------------------------------------------------------------- dump */

static const char *state_name(int s) {
  switch (s) {
  case EDDY__READY: return "ready";
  case EDDY__RUNNING: return "running";
  case EDDY__WAITING: return "waiting";
  case EDDY__DONE: return "done";
  default: return "?";
  }
}

EDDY_API void eddy_dump(void *file) {
  FILE *f = file ? file : stderr;
  eddy_loop *loop = eddy__loop();
  if (!loop) {
    fprintf(f, "eddy: no loop on this thread\n");
    return;
  }
  size_t ready = loop->ready_first != NULL; /* counted here, not kept up on every hand-off */
  for (eddy_node *n = loop->runq.next; n != &loop->runq; n = n->next) ready++;
  fprintf(f, "eddy: %zu live task(s), %zu ready\n", loop->live, ready);
  for (eddy_node *n = loop->all.next; n != &loop->all; n = n->next) {
    eddy_task *t = eddy__container_of(n, eddy_task, all);
    fprintf(f, "  task %llu '%s' %s, spawned at %s:%d",
            (unsigned long long)t->id, t->name, state_name(t->state),
            t->spawn_file ? t->spawn_file : "?", t->spawn_line);
    if (t->state == EDDY__WAITING && t->wait_what)
      fprintf(f, ", waiting in %s (called from %p)", t->wait_what, t->wait_pc);
    if (eddy__cancel_state(t)) fprintf(f, ", cancelled");
    fputc('\n', f);
  }
}

/* ------------------------------------------------------------- coros */

int eddy__coro_init(eddy__coro *c, size_t stack_size, eddy__entry_fn entry) {
  eddy_loop *loop = eddy__loop();
  if (!loop) return EDDY_ENOTTASK;
  memset(c, 0, sizeof *c);
  int r = eddy__stack_get(loop, stack_size, &c->stack);
  if (r) return r;
  c->ctx = eddy__ctx_make(c->stack.lo, c->stack.hi, entry);
  if (!c->ctx) {
    eddy__stack_put(loop, &c->stack);
    return -ENOMEM;
  }
  return 0;
}

void eddy__coro_fini(eddy__coro *c) {
  eddy_loop *loop = eddy__loop();
  if (c->stack.slot && loop && unlikely(!eddy__stack_intact(&c->stack)) && loop->current)
    eddy__stack_overflow_abort(loop->current, c, CANARY_BROKEN);
  if (c->stack.slot && loop) eddy__stack_put(loop, &c->stack);
  c->stack.slot = NULL;
}

void *eddy__coro_begin(eddy__transfer tr) {
#ifdef EDDY__ASAN
  __sanitizer_finish_switch_fiber(NULL, NULL, NULL);
#endif
  eddy_task *t = eddy__self();
  t->coro_prev->ctx = tr.ctx;
  return tr.data;
}

void eddy__coro_exit(eddy__coro *to, void *data) {
  eddy_task *t = eddy__self();
  t->coro_prev = t->active;
  t->active = to;
  eddy__switch_to(t->loop, to->ctx, to->stack.lo, (size_t)(to->stack.hi - to->stack.lo),
            NULL, data);
  abort();
}
