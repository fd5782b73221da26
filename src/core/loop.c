/* loop.c: the loop: eddy_run(), the scheduler, the clock and cross-thread
 * submissions. The whole scheduling policy is in run_loop() below:
 *
 *   run ready tasks in FIFO order; look at I/O and timers when the run
 *   queue empties, or after every EDDY__POLL_EVERY resumptions so a busy set of
 *   tasks cannot starve I/O; block in the poller only when nothing is
 *   ready, for no longer than the next timer.
 *
 * Checking I/O only every EDDY__POLL_EVERY switches keeps system calls off the
 * yield path: a task that yields in a loop costs two register switches and
 * a queue operation, not an epoll_wait. */

#include "internal.h"
#include "../backend/backend.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>



eddy_time_t eddy__clock(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (eddy_time_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

EDDY_API eddy_time_t eddy_now(void) {
  eddy_loop *loop = eddy__loop();
  if (loop && loop->virtual_clock) return loop->vnow;
  return eddy__clock();
}

EDDY_API eddy_time_t eddy_deadline_in(eddy_time_t delta) {
  eddy_time_t now = eddy_now();
  if (delta <= 0) return now;
  if (delta >= EDDY_FOREVER - now) return EDDY_FOREVER;
  return now + delta;
}

EDDY_API eddy_loop *eddy_loop_current(void) { return eddy__loop(); }

/* For tests: how many of this loop's polls entered the kernel. */
unsigned long eddy__loop_kernel_polls(void);
unsigned long eddy__loop_kernel_polls(void) {
  eddy_loop *loop = eddy__loop();
  return loop ? loop->kernel_polls : 0;
}

/* ------------------------------------------------------------- groups */

void eddy__group_init(struct eddy_group *g, eddy_scope *scope) {
  memset(g, 0, sizeof *g);
  eddy__list_init(&g->tasks);
  eddy__list_init(&g->idle_waiters);
  g->scope = scope;
}

void eddy__group_wait_idle(struct eddy_group *g) {
  eddy_task *self = eddy__self();
  while (g->live) {
    eddy__wait w;
    eddy__wait_init(&w, self);
    w.flags = 0;
    eddy__list_push_back(&g->idle_waiters, &w.node);
    eddy__park(&w, EDDY_FOREVER, "group", __builtin_return_address(0));
  }
}

/* ------------------------------------------------------------- submit */

EDDY_API int eddy_loop_submit(eddy_loop *loop, void (*fn)(void *), void *arg) {
  if (!loop || !fn) return -EINVAL;
  eddy__submission *s = eddy__alloc(sizeof *s);
  if (!s) return -ENOMEM;
  s->next = NULL;
  s->fn = fn;
  s->arg = arg;
  s->owned = 1;
  pthread_mutex_lock(&loop->sub_mu);
  if (loop->shutting_down > 1) {
    pthread_mutex_unlock(&loop->sub_mu);
    eddy__free(s);
    return -ESHUTDOWN;
  }
  __atomic_store_n(loop->sub_tail, s, __ATOMIC_RELEASE); /* peeked unlocked */
  loop->sub_tail = &s->next;
  pthread_mutex_unlock(&loop->sub_mu);
  /* Always poke the eventfd: one write per submission keeps the protocol
   * simple and correct whether or not the loop is asleep. */
  uint64_t one = 1;
  ssize_t r = eddy__sys_write(loop->evfd, &one, sizeof one);
  (void)r; /* EAGAIN means the counter is already non-zero: it will wake */
  return 0;
}

void eddy__loop_submit_node(eddy_loop *loop, eddy__submission *s) {
  s->next = NULL;
  pthread_mutex_lock(&loop->sub_mu);
  __atomic_store_n(loop->sub_tail, s, __ATOMIC_RELEASE);
  loop->sub_tail = &s->next;
  pthread_mutex_unlock(&loop->sub_mu);
  uint64_t one = 1;
  ssize_t r = eddy__sys_write(loop->evfd, &one, sizeof one);
  (void)r;
}

void eddy__submissions_run(eddy_loop *loop) {
  pthread_mutex_lock(&loop->sub_mu);
  eddy__submission *s = loop->sub_head;
  __atomic_store_n(&loop->sub_head, NULL, __ATOMIC_RELAXED);
  loop->sub_tail = &loop->sub_head;
  pthread_mutex_unlock(&loop->sub_mu);
  while (s) {
    eddy__submission *next = s->next;
    int owned = s->owned;
    s->fn(s->arg); /* may free a caller-owned node */
    if (owned) eddy__free(s);
    s = next;
  }
}

static int submissions_pending(eddy_loop *loop) {
  pthread_mutex_lock(&loop->sub_mu);
  int p = loop->sub_head != NULL;
  pthread_mutex_unlock(&loop->sub_mu);
  return p;
}

EDDY_API void eddy_loop_hold(eddy_loop *loop) {
  if (loop) __atomic_add_fetch(&loop->holds, 1, __ATOMIC_SEQ_CST);
}

static void nothing(void *arg) { (void)arg; }

EDDY_API void eddy_loop_release(eddy_loop *loop) {
  if (!loop) return;
  __atomic_sub_fetch(&loop->holds, 1, __ATOMIC_SEQ_CST);
  eddy_loop_submit(loop, nothing, NULL); /* wake it to re-check */
}

/* ------------------------------------------------------------- the loop */

static void report_deadlock(eddy_loop *loop) {
  fprintf(stderr,
          "eddy: deadlock: every task is blocked and nothing can wake one "
          "(no timer, no I/O, no hold); cancelling them all\n");
  eddy_dump(stderr);
  eddy__scope_cancel_reason(&loop->root_scope, -ECANCELED);
}

static void wake_turn_end(eddy_loop *loop) {
  while (!eddy__list_empty(&loop->turn_end))
    eddy__wake(eddy__container_of(loop->turn_end.next, eddy__wait, node), 0);
}

static void run_loop(eddy_loop *loop) {
  for (;;) {
    while (eddy__any_ready(loop)) {
      eddy__resume(loop, eddy__ready_take(loop, 1));
      if (unlikely(++loop->since_poll >= EDDY__POLL_EVERY)) break;
    }
    loop->since_poll = 0;
    int alive = loop->live > 0 ||
                __atomic_load_n(&loop->holds, __ATOMIC_SEQ_CST) > 0;
    if (!alive && !eddy__any_ready(loop) && !submissions_pending(loop))
      break;
    if (!eddy__list_empty(&loop->turn_end) && !loop->turn_ended) {
      /* The end of the turn: every task that was ready has run (or the
       * hand-off budget is spent). One look at I/O without waiting, so
       * what is ready now (I/O, due timers, submissions) runs first, then
       * the tasks waiting for this moment, behind them. Once per turn: one
       * that waits again waits for the next, or it would spin. */
      eddy__poller_poll(loop, 0);
      loop->turn_ended = 1;
      wake_turn_end(loop);
      continue;
    }
    eddy_time_t timeout = 0;
    if (!eddy__any_ready(loop)) {
      eddy_time_t next = eddy__timer_next(loop);
      if (next == EDDY_FOREVER) {
        timeout = -1;
        if (loop->nfdwait == 0 && loop->live > 0 &&
            __atomic_load_n(&loop->holds, __ATOMIC_SEQ_CST) == 0 &&
            !submissions_pending(loop)) {
          if (!eddy__list_empty(&loop->turn_end)) { /* nothing else will happen */
            wake_turn_end(loop);
            continue;
          }
          report_deadlock(loop);
          if (!eddy__any_ready(loop)) {
            /* The cancellation reached no task: each waits where it
             * cannot (inside a shield, or in a wait that cannot be
             * interrupted), so nothing will ever run again. Looping would
             * hang the program; stop it, as a returned-with-open-scope
             * task does, with the dump above saying who waits where. */
            fprintf(stderr, "eddy: deadlock: no blocked task can be cancelled (each waits "
                            "inside a shield or where a cancellation cannot reach); "
                            "stopping\n");
            abort();
          }
          continue;
        }
      } else {
        timeout = next - eddy_now();
        if (timeout < 0) timeout = 0;
      }
    }
    /* Freed stacks' pages go back when the loop is about to sleep, or
     * once they have waited long enough in a loop that never does; a
     * bounded share per turn (16 slabs: 4096 stacks, ~1 ms), so a large
     * release does not hold up I/O and timers. A negative delay releases
     * in rounds of 256 as stacks are freed (stack.c): a busy turn leaves
     * the rest of a round alone, or it would cost a madvise per turn. */
    if (unlikely(loop->stack_pending) &&
        (timeout != 0 ||
         (loop->stack_release_delay >= 0 &&
          eddy_now() - loop->stack_pending_since >= loop->stack_release_delay)) &&
        eddy__stacks_release(loop, 16))
      timeout = 0;
    eddy__poller_poll(loop, timeout);
    loop->turn_ended = 0; /* a new turn */
  }
}

static int loop_init(eddy_loop *loop, const eddy_loop_opts *o) {
  eddy__list_init(&loop->runq);
  eddy__list_init(&loop->turn_end);
  eddy__list_init(&loop->all);
  eddy__list_init(&loop->gens);
  eddy__scope_link(&loop->root_scope, NULL, NULL);
  eddy__group_init(&loop->root_group, &loop->root_scope);
  loop->stack_size = o && o->stack_size ? o->stack_size : EDDY_STACK_DEFAULT;
  if (loop->stack_size < eddy__stack_min(o ? o->stack_guard : 0) ||
      loop->stack_size > EDDY_STACK_MAX)
    return EDDY_ESTACK;
  loop->grace = o && o->grace ? o->grace : EDDY_GRACE_DEFAULT;
  loop->virtual_clock = o ? o->virtual_clock : 0;
  loop->fp_env_per_task = o ? o->fp_env_per_task != 0 : 0;
  loop->fast_limit = loop->fp_env_per_task ? 0 : EDDY__POLL_EVERY;
  loop->stack_guard = o ? o->stack_guard : 0;
  loop->stack_release_delay = o && o->stack_release_delay ? o->stack_release_delay
                                                          : EDDY_STACK_RELEASE_DELAY_DEFAULT;
  loop->evfd = -1;
  loop->epfd = -1;
  loop->sub_tail = &loop->sub_head;
  pthread_mutex_init(&loop->sub_mu, NULL);
  int r = eddy__poller_init(loop, o ? o->backend : EDDY_BACKEND_AUTO);
  if (r == 0 && o) eddy__poller_busy_poll(loop, o->busy_poll);
  if (r == 0) r = eddy__poller_recv_setup(loop, o);
  return r;
}

static void loop_fini(eddy_loop *loop) {
  if (loop->pool_fini) loop->pool_fini(loop); /* joins the pool's threads */
  loop->shutting_down = 2;
  eddy__submissions_run(loop); /* late submissions: run, never leak */
  eddy__poller_fini(loop);
  eddy__stacks_destroy(loop);
  eddy__heap_free(&loop->timers);
  pthread_mutex_destroy(&loop->sub_mu);
}

/* Hook for the FOR layer: close generators still open at shutdown. */
int (*eddy__shutdown_hook)(eddy_loop *loop);

EDDY_API int eddy_run_opts(eddy_task_fn main_fn, void *arg,
                           const eddy_loop_opts *opts) {
  if (!main_fn) return -EINVAL;
  if (eddy__loop()) return -EBUSY; /* one loop per thread at a time */
  eddy_loop *loop = eddy__calloc(1, sizeof *loop);
  if (!loop) return -ENOMEM;
  int r = loop_init(loop, opts);
  if (r) {
    loop_fini(loop);
    eddy__free(loop);
    return r;
  }
  eddy__overflow_handler_install();
  eddy__loop_tls = loop;
  eddy__calm_loop_tls = loop->ncancelled ? NULL : loop;
  eddy_task *main_task;
  eddy_spawn_opts so = {.name = "main"};
  r = eddy_spawn_at(&main_task, main_fn, arg, &so, __FILE__, __LINE__);
  if (r == 0) {
    run_loop(loop);
    r = main_task->result;
    eddy__task_release(main_task);
    while (eddy__shutdown_hook && eddy__shutdown_hook(loop)) run_loop(loop);
  }
  loop_fini(loop);
  eddy__loop_tls = NULL;
  eddy__calm_loop_tls = NULL;
  eddy__free(loop);
  return r;
}

EDDY_API int eddy_run(eddy_task_fn main_fn, void *arg) {
  return eddy_run_opts(main_fn, arg, NULL);
}
