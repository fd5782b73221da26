/* internal.h: the runtime's private data structures, shared by the files
 * of src/core and src/backend. Nothing here is installed.
 *
 * Vocabulary:
 *  - coro: a stack plus a saved context. A task has its own coro; a
 *    generator (FOR) has another one and runs on behalf of whichever task
 *    pulls from it, so a task's *active* coro may not be its own.
 *  - wait: the record a parked task leaves behind (on its own stack). A
 *    waker unlinks it, stores the outcome and makes the task ready.
 *  - scope: see eddy_scope in <eddy/core.h>. */
#ifndef EDDY_INTERNAL_H
#define EDDY_INTERNAL_H

#include "eddy.h"
#include "list.h"
#include "sys.h"
#include "../arch/switch_inline.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#define EDDY__HIDDEN __attribute__((visibility("hidden")))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#if defined(__SANITIZE_ADDRESS__)
#define EDDY__ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EDDY__ASAN 1
#endif
#endif

/* ---------------------------------------------------------------- stacks */
typedef struct eddy__stack {
  char *lo;          /* lowest usable byte (just above the guard) */
  char *hi;          /* one past the highest usable byte */
  char *slot;        /* start of the slot (the guard page) */
  struct eddy__pool *pool;
  struct eddy__slab *slab; /* the mapping the slot is in */
  unsigned vg_id;    /* valgrind stack registration */
} eddy__stack;

/* Take a stack of at least `size` usable bytes: 0 or -ENOMEM/EDDY_ENOGUARD. */
int eddy__stack_get(eddy_loop *loop, size_t size, eddy__stack *out);
void eddy__stack_put(eddy_loop *loop, eddy__stack *st);
/* The smallest stack a loop with this stack_guard setting takes. */
size_t eddy__stack_min(int stack_guard);
/* 0 when a packed (unguarded) stack's bottom canary was overwritten. */
int eddy__stack_intact(const eddy__stack *st);
struct eddy__coro;
__attribute__((noreturn)) void eddy__stack_overflow_abort(const eddy_task *t,
                                                          const struct eddy__coro *c,
                                                          const char *how);
void eddy__stacks_destroy(eddy_loop *loop);
/* Give back the pages of freed stacks still pending (see stack.c), from
 * up to `max_slabs` slabs; 1 when some remain pending. */
int eddy__stacks_release(eddy_loop *loop, size_t max_slabs);
/* Which task (if any) has its guard page at addr: for the overflow report. */
size_t eddy__stack_guard_size(void);

/* ---------------------------------------------------------------- coros */
typedef struct eddy__coro {
  void *ctx;            /* saved context while not running */
  eddy__stack stack;
  void *asan_fake;      /* ASan fake-stack handle while switched out */
} eddy__coro;

/* ---------------------------------------------------------------- waits */
typedef struct eddy__wait {
  eddy_node node;   /* in the primitive's wait queue, or self-linked */
  eddy_task *task;
  int result;       /* set by whoever wakes the task */
  int flags;        /* EDDY__WAIT_*: not CANCELLABLE inside uninterruptible
                     * waits (cond re-lock) */
  void *data;       /* primitive-specific payload */
} eddy__wait;
#define EDDY__WAIT_CANCELLABLE 1
#define EDDY__WAIT_TIMED 2 /* a timer is armed for the deadline */
/* A park ticket (eddy/chan.h) is a wait record whose result and flags the
 * public header reads as one word. */
_Static_assert(offsetof(eddy__wait, result) == EDDY__TICKET_OUTCOME_OFFSET &&
                   offsetof(eddy__wait, flags) == EDDY__TICKET_OUTCOME_OFFSET + 4 &&
                   sizeof(eddy__wait) <= sizeof(((eddy__park_ticket *)0)->wait),
               "eddy__park_ticket must hold a wait record as eddy/chan.h reads it");

/* eddy_watch.ready: besides EDDY_READABLE/WRITABLE edges, a sticky bit
 * saying the peer hung up or the socket failed (epoll): an end that raises
 * no further edge, so readers must not wait for one. */
#define EDDY__WATCH_HUP 0x100u
/* Sticky too: the peer sent urgent (out-of-band) data. A read then stops
 * short at the urgent mark with bytes still queued behind it, which raise
 * no new edge, so a short read no longer means the socket is empty. */
#define EDDY__WATCH_URG 0x200u
/* epoll: writability is part of the registration (added on the first wait
 * for it, and kept: most streams never fill their send buffer, and for
 * those an EPOLLOUT interest would cost a wake-up on every ACK). */
#define EDDY__WATCH_OUT 0x400u

/* ---------------------------------------------------------------- tasks */
enum { EDDY__READY = 1, EDDY__RUNNING, EDDY__WAITING, EDDY__DONE };
enum {
  EDDY__F_HANDLE = 1,   /* a handle is out: keep after finishing */
  EDDY__F_REAPED = 2,
  EDDY__F_MAIN = 4,
};

#define EDDY__LOCALS_INLINE 4

struct eddy_task {
  eddy__coro coro;        /* must be first: the task's own stack */
  eddy__coro *active;     /* coro to resume (own, or a generator's) */
  eddy_loop *loop;
  eddy_node runq;         /* run queue link */
  /* Where the task resumes: the context it last switched away from (its
   * own coro's or a generator's). Kept here, beside the run queue link,
   * rather than in the active coro, so that handing the CPU to the next
   * ready task is one load from its link, not two. */
  void *resume_ctx;
  eddy_node all;          /* every live task, for dump and shutdown */
  eddy_node group_link;   /* in the owning group's list */
  struct eddy_group *group;
  eddy_task_fn fn;
  void *arg;
  int result;
  uint8_t state;
  uint8_t flags;
  uint64_t id;
  eddy__wait *wait;       /* non-NULL while parked */
  eddy_timer_entry timer; /* per-call deadline */
  eddy_scope root;        /* cancelling the task cancels this */
  eddy_scope *scope;      /* innermost open scope */
  eddy_node joiners;      /* tasks in eddy_join */
  void *locals_inline[EDDY__LOCALS_INLINE];
  void **locals_more;
  int nlocals_more;
  const char *spawn_file;
  int spawn_line;
  const char *wait_what;  /* "sleep", "lock", ... for eddy_dump */
  void *wait_pc;          /* code address of the blocking call */
  char name[32];
  void *user_gen;         /* innermost generator running (FOR layer) */
  eddy__coro *coro_prev;  /* coro that switched to the active one */
  int cleanup_error;      /* WITH: last exit error that had nowhere to go */
  unsigned cancels_seen;  /* -ECANCELED returned to this task so far */
  void *start_rec;        /* task groups: pending readiness handshake */
};

/* Groups: the owner of tasks. The loop has a root group; task groups
 * (<eddy/group.h>) are groups with a body and failure policy. */
struct eddy_group {
  eddy_node tasks;        /* live tasks */
  eddy_scope *scope;      /* children's root scopes hang below this one */
  size_t live;
  eddy_node idle_waiters; /* tasks waiting for live == 0 */
  void (*on_child_done)(struct eddy_group *g, eddy_task *t);
  void *on_child_done_arg;
  int closed;
};

/* ---------------------------------------------------------------- timers */
typedef struct eddy__heap {
  eddy_timer_entry **v; /* 1-based 4-ary min-heap */
  uint32_t n, cap;
} eddy__heap;

int eddy__timer_arm(eddy_loop *loop, eddy_timer_entry *t, eddy_time_t when);
void eddy__timer_cancel(eddy_loop *loop, eddy_timer_entry *t);
static inline int eddy__timer_armed(const eddy_timer_entry *t) {
  return t->index != 0;
}
eddy_time_t eddy__timer_next(eddy_loop *loop);
/* Fire every timer due at `now`; returns how many fired. */
int eddy__timers_run(eddy_loop *loop, eddy_time_t now);
void eddy__heap_free(eddy__heap *h);

/* ---------------------------------------------------------------- poller */
typedef struct eddy__submission {
  struct eddy__submission *next;
  void (*fn)(void *);
  void *arg;
  int owned; /* allocated by eddy_loop_submit: freed after fn runs */
} eddy__submission;

/* ---------------------------------------------------------------- loop */
struct eddy_loop {
  void *sched_ctx;          /* the scheduler's context while a task runs */
  eddy_task *current;
  /* The ready tasks: the first in ready_first, the rest in runq behind it.
   * A task made ready goes to ready_first when nothing else is ready, so
   * in a hand-off (one task wakes another and waits) the queue is one
   * pointer stored and loaded, not a list's links (see eddy__make_ready). */
  eddy_task *ready_first;
  eddy_node runq;
  eddy_node turn_end;       /* tasks in eddy_wait_turn_end */
  int turn_ended;           /* they were woken this turn */
  eddy__heap timers;
  /* backend (src/backend): epoll's set, or io_uring's ring in backend_data */
  const struct eddy__backend *backend;
  void *backend_data;
  int epfd;
  int nwatch;               /* fds registered, waiting or not */
  int nfdwait;              /* tasks parked on fds */
  uint32_t since_poll;      /* switches since the last I/O poll */
  /* since_poll's bound for the channel's inline hand-off: EDDY__POLL_EVERY,
   * or 0 with fp_env_per_task (whose switches are never inlined) */
  uint32_t fast_limit;
  unsigned long kernel_polls; /* polls that entered the kernel (tests read it) */
  /* Linked scopes marked cancelled (scope.c). While it is 0, which is
   * nearly always, a checkpoint needs no walk up the scope chain. */
  size_t ncancelled;
  int fp_env_per_task;      /* switches keep each context's FP control words */
  /* cross-thread submissions */
  int evfd;
  pthread_mutex_t sub_mu;
  eddy__submission *sub_head, **sub_tail;
  int sub_sleeping;         /* loop is (about to be) in epoll_wait */
  int holds;
  /* time */
  int virtual_clock;
  eddy_time_t vnow;
  /* tasks */
  eddy_node all;
  uint64_t next_id;
  size_t live;
  struct eddy_group root_group;
  eddy_scope root_scope;
  size_t stack_size;
  eddy_time_t grace;
  int stack_guard;
  struct eddy__pool *pools;
  size_t stack_pending;             /* freed stacks whose pages are kept */
  eddy_time_t stack_pending_since;  /* when the first of them was freed */
  eddy_time_t stack_release_delay;  /* < 0: release in rounds at once */
  /* ASan: the scheduler's (native) stack */
  const void *native_lo;
  size_t native_size;
  void *native_fake;
  int shutting_down;
  /* FOR layer: registry of open generators, for the shutdown sweep */
  eddy_node gens;
  /* thread pool (src/io/threadpool.c), created on first use */
  void *pool;
  void (*pool_fini)(eddy_loop *loop);
};

/* initial-exec: one fs-relative load, not a __tls_get_addr call per access
 * (the library is PIC). */
extern __thread eddy_loop *eddy__loop_tls
    __attribute__((tls_model("initial-exec")));
/* The same loop while none of its scopes is cancelled (ncancelled 0), else
 * NULL: the channels' fast paths test both with one load. Kept where
 * either changes: loop.c (entering and leaving the loop) and scope.c (the
 * count, which only the thread running the loop changes). */
extern __thread eddy_loop *eddy__calm_loop_tls
    __attribute__((tls_model("initial-exec")));

static inline eddy_loop *eddy__loop(void) { return eddy__loop_tls; }
static inline eddy_task *eddy__self(void) {
  eddy_loop *l = eddy__loop_tls;
  return l ? l->current : NULL;
}

/* Park the current task until woken: returns w->result, or -ETIMEDOUT when
 * the deadline passes, or -ECANCELED when a scope around it is cancelled
 * (if w is cancellable). The caller has done its checkpoint and linked w into
 * its queue (or not, for sleep). */
int eddy__park(eddy__wait *w, eddy_time_t deadline, const char *what,
               void *pc);
/* eddy__park in two halves around a switch the caller makes itself (with
 * the no-FP inline switch, passing &task->resume_ctx as the data): _begin
 * returns the context to switch to, or none with the result when the park
 * is over already (deadline passed, or done whole in here: a switch that
 * cannot be inlined). _end takes what the switch returned. */
eddy__park_step eddy__park_begin(eddy__wait *w, eddy_time_t deadline, const char *what,
                                 void *pc);
int eddy__park_end(eddy__wait *w, void *from_ctx, void *from_data);

/* Scope flags private to the core (the public one is EDDY_SCOPE_SHIELD). */
#define EDDY__SCOPE_CANCELLED 0x100u
#define EDDY__SCOPE_FIRED 0x200u    /* cancelled by its own deadline */
#define EDDY__SCOPE_EXPLICIT 0x400u /* cancelled by eddy_scope_cancel */
#define EDDY__SCOPE_LINKED 0x800u   /* in its loop's tree */
#define EDDY__SCOPE_COUNTED 0x1000u /* cancelled, in loop->ncancelled */

/* Copy one item of a channel or generator: the sizes items usually have
 * get a copy the compiler unrolls instead of a call. _small says whether
 * it could (the frameless fast paths take no call); _item always copies. */
static inline int eddy__copy_small(void *dst, const void *src, size_t n) {
  /* tested in this order (a switch lets the compiler pick one): pointers
   * and handles first, then ints, then pairs */
  if (n == 8) memcpy(dst, src, 8);
  else if (n == 4) memcpy(dst, src, 4);
  else if (n == 16) memcpy(dst, src, 16);
  else return 0;
  return 1;
}
static inline void eddy__copy_item(void *dst, const void *src, size_t n) {
  if (!eddy__copy_small(dst, src, n)) memcpy(dst, src, n);
}

/* Put a ready task on the run queue: in ready_first when no task is ready
 * (the list is empty then too), else at the list's end. FIFO either way:
 * ready_first, when set, is the oldest ready task. */
static inline void eddy__make_ready(eddy_task *t) {
  eddy_loop *loop = t->loop;
  t->state = EDDY__READY;
  if (!eddy__list_empty(&loop->runq) || loop->ready_first != NULL)
    eddy__list_push_back(&loop->runq, &t->runq);
  else
    loop->ready_first = t;
}
static inline int eddy__any_ready(const eddy_loop *loop) {
  return loop->ready_first != NULL || !eddy__list_empty(&loop->runq);
}
/* Take the oldest ready task (there is one). relink: point its run-queue
 * link back at itself if it was on the list. Nothing reads the link of a
 * task off the queue, but two tasks yielding to each other (always on the
 * list: each is queued while the other is still ready) measured 5.1 ns per
 * yield without it, 3.8 with it; the channel's hand-off does without. */
static inline __attribute__((always_inline)) eddy_task *eddy__ready_take(eddy_loop *loop,
                                                                        int relink) {
  eddy_task *t = loop->ready_first;
  if (likely(t != NULL)) {
    loop->ready_first = NULL;
    return t;
  }
  eddy_node *n = loop->runq.next;
  eddy__list_remove_first(&loop->runq, n);
  if (relink) n->next = n->prev = n;
  return eddy__container_of(n, eddy_task, runq);
}
/* Make a parked task ready with `result`, unlinking its wait record. */
static inline void eddy__wake(eddy__wait *w, int result) {
  eddy_task *t = w->task;
  eddy__node_unlink_fast(&w->node);
  w->result = result;
  t->wait = NULL;
  eddy__make_ready(t);
}
/* Whether w's task is still parked on w. A waker that keeps its own
 * pointer to a wait record (an fd's reader or writer, an accept or receive
 * request) must test it: after a timeout or a cancellation woke the task,
 * the record stays registered until the task runs and drops it, and a
 * second wake would queue the task twice (corrupting the run queue). */
static inline int eddy__wait_parked(const eddy__wait *w) { return w->task->wait == w; }
/* Tell the waiter of a resource being closed (an fd's watch, a listener, a
 * stream) that it is gone: woken with -EBADF if still parked; if woken
 * already and not yet run, its result becomes -EBADF, so that it does not
 * touch the resource, which its owner frees next. */
static inline void eddy__wake_gone(eddy__wait *w) {
  if (eddy__wait_parked(w)) eddy__wake(w, -EBADF);
  else w->result = -EBADF;
}
/* eddy__wake of the first waiter of queue q (not empty): the unlink
 * stores through q itself (see list.h). Returns the wait record. */
static inline eddy__wait *eddy__wake_first(eddy_node *q, int result) {
  eddy__wait *w = eddy__container_of(q->next, eddy__wait, node);
  eddy_task *t = w->task;
  eddy__list_remove_first(q, &w->node);
  w->result = result;
  t->wait = NULL;
  eddy__make_ready(t);
  return w;
}
/* eddy__wake_first for a caller that read the first record's task and
 * next link itself, before it copied an item through the record's data
 * pointer (after such a copy, which may alias anything, the compiler would
 * load them again). */
static inline void eddy__wake_first_read(eddy_node *q, eddy__wait *w, eddy_task *t,
                                         eddy_node *next, int result) {
  eddy__list_remove_first_next(q, next);
  w->result = result;
  t->wait = NULL;
  eddy__make_ready(t);
}
/* -ECANCELED if any scope around the task's innermost one is cancelled
 * (stopping at shields), else 0. Never cached: the walk is two or three
 * pointer hops and cannot go stale; and while no scope of the loop is
 * cancelled it is skipped altogether. */
static inline int eddy__cancel_state(const eddy_task *t) {
  if (likely(t->loop->ncancelled == 0)) return 0;
  for (const eddy_scope *s = t->scope; s; s = s->parent) {
    if (s->flags & EDDY__SCOPE_CANCELLED) return -ECANCELED;
    if (s->flags & EDDY_SCOPE_SHIELD) break;
  }
  return 0;
}
/* The checkpoint every blocking call starts with. */
static inline int eddy__checkpoint(eddy_task **out) {
  eddy_loop *loop = eddy__loop_tls;
  eddy_task *t = loop ? loop->current : NULL;
  *out = t;
  if (unlikely(t == NULL)) return EDDY_ENOTTASK;
  /* loop->ncancelled, not t->loop's: one dependent load fewer */
  if (likely(loop->ncancelled == 0)) return 0;
  int r = eddy__cancel_state(t);
  if (unlikely(r)) t->cancels_seen++;
  return r;
}
static inline void eddy__wait_init(eddy__wait *w, eddy_task *t) {
  eddy__list_init(&w->node);
  w->task = t;
  w->result = 0;
  w->flags = EDDY__WAIT_CANCELLABLE;
  w->data = NULL;
}
#define EDDY__POLL_EVERY 1024
/* The common case of eddy__park_begin, inline for the channel's own wait:
 * a wait without deadline, in a loop whose switch the caller inlines,
 * handing the CPU to the next ready task. eddy__park_fast_ok says whether
 * it applies; eddy__park_fast then parks t on w and returns the context to
 * switch to (apart, so that the caller's test is the only one: a single
 * function returning NULL for "not here" made its caller test again).
 * Lean on purpose (ping-pong 14.1 -> 13.8 ns): one compare covers both the
 * poll budget and a loop keeping FP words (fast_limit 0); the next task's
 * run-queue link is not pointed back at itself (nothing reads a link that
 * is off the queue); and there is no test that t itself is next: a task
 * that is running is on no queue (only a parked or yielding task is woken
 * or queued, and a yield does not come here). */
static inline __attribute__((always_inline)) int eddy__park_fast_ok(const eddy_loop *loop) {
#if defined(EDDY__INLINE_SWITCH_USABLE) && !defined(EDDY__ASAN)
  return likely(eddy__any_ready(loop) && loop->since_poll < loop->fast_limit);
#else
  (void)loop;
  return 0;
#endif
}
static inline __attribute__((always_inline)) void *
eddy__park_fast(eddy_loop *loop, eddy__wait *w, eddy_task *t, const char *what, void *pc) {
  t->wait = w;
  t->wait_what = what;
  t->wait_pc = pc;
  t->state = EDDY__WAITING;
  loop->since_poll++;
  eddy_task *next = eddy__ready_take(loop, 0);
  next->state = EDDY__RUNNING;
  loop->current = next;
  return next->resume_ctx;
}
/* Switch from the current task to the scheduler (the task must already be
 * queued somewhere, or parked). */
void eddy__suspend(eddy_task *t);
/* Scheduler side: run t until it suspends or finishes. */
void eddy__resume(eddy_loop *loop, eddy_task *t);
/* Called when every task has finished; returns 1 if it spawned tasks that
 * must run before the loop can close (closing forgotten generators). */
extern int (*eddy__shutdown_hook)(eddy_loop *loop);

/* Coroutines inside a task (generators, generator-style managers): a coro
 * runs on its own stack on behalf of whichever task switches into it.
 * eddy__coro_init takes a pooled stack and prepares entry; the entry
 * function must start with eddy__coro_begin(tr) and end with
 * eddy__coro_exit(). eddy__coro_switch(to, data) suspends the running coro
 * (task stack or another coro) and resumes `to`; it returns the data passed
 * by whoever switches back. */
int eddy__coro_init(eddy__coro *c, size_t stack_size, eddy__entry_fn entry);
void eddy__coro_fini(eddy__coro *c);
void *eddy__coro_begin(eddy__transfer tr);
__attribute__((noreturn)) void eddy__coro_exit(eddy__coro *to, void *data);

#ifdef EDDY__ASAN
#include <sanitizer/common_interface_defs.h>
#endif

/* Switch to another context, telling ASan about the stack change: `save`
 * keeps this context's fake stack while it is switched out (NULL when this
 * context is finished and never comes back). */
static inline __attribute__((always_inline)) eddy__transfer
eddy__switch_to(const eddy_loop *loop, void *ctx, const void *lo, size_t size,
                                       void **save, void *data) {
#ifdef EDDY__ASAN
  __sanitizer_start_switch_fiber(save, lo, size);
#else
  (void)lo;
  (void)size;
#endif
  eddy__transfer tr = likely(!loop->fp_env_per_task)
                          ? eddy__ctx_switch_fast_nofp(ctx, data)
                          : eddy__ctx_switch_fast(ctx, data);
#ifdef EDDY__ASAN
  __sanitizer_finish_switch_fiber(save ? *save : NULL, NULL, NULL);
#else
  (void)save;
#endif
  return tr;
}

/* Inline so a generator step is one register switch each way with no
 * extra call frames (each frame costs a mispredicted return after a
 * switch, since the two stacks' call chains differ). */
static inline __attribute__((always_inline)) void *
eddy__coro_switch(eddy__coro *to, void *data) {
  eddy_task *t = eddy__self();
  eddy__coro *from = t->active;
  t->active = to;
  t->coro_prev = from;
  eddy__transfer tr =
      eddy__switch_to(t->loop, to->ctx, to->stack.lo, (size_t)(to->stack.hi - to->stack.lo),
                &from->asan_fake, data);
  t = eddy__self(); /* possibly another task drives us now (R39) */
  t->coro_prev->ctx = tr.ctx;
  return tr.data;
}

/* scopes */
void eddy__scope_link(eddy_scope *s, eddy_scope *parent, eddy_task *owner);
void eddy__scope_unlink(eddy_scope *s);
void eddy__scope_cancel_reason(eddy_scope *s, int reason);

/* groups */
void eddy__group_init(struct eddy_group *g, eddy_scope *scope);
/* Wait until the group has no live task (uncancellable). */
void eddy__group_wait_idle(struct eddy_group *g);

/* poller: picks and starts the backend (src/backend/select.c) */
int eddy__poller_init(eddy_loop *loop, int backend);
void eddy__poller_fini(eddy_loop *loop);
/* Wait for I/O and timers: timeout_ns < 0 blocks until something happens. */
int eddy__poller_poll(eddy_loop *loop, eddy_time_t timeout_ns);
void eddy__submissions_run(eddy_loop *loop);
/* Whether a cross-thread submission is queued: a lock-free peek, enough
 * for a poll deciding whether it may skip the kernel (a submission that
 * races the peek has also written the eventfd, seen by the next poll). */
static inline int eddy__submissions_queued(eddy_loop *loop) {
  return __atomic_load_n(&loop->sub_head, __ATOMIC_ACQUIRE) != NULL;
}
/* Thread-safe, allocation-free submission of a caller-owned node. */
void eddy__loop_submit_node(eddy_loop *loop, eddy__submission *s);

eddy_time_t eddy__clock(void);

/* tasks */
void eddy__task_release(eddy_task *t);
void eddy__locals_destroy(eddy_task *t);

/* stack overflow reporting */
void eddy__overflow_handler_install(void);
void eddy__overflow_set_current(eddy_loop *loop);

#endif
