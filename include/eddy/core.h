/* eddy/core.h: the runtime core: the loop, tasks, time, cancellation
 * scopes and readiness waits. Everything else in eddy is built on these.
 *
 * Model (asyncio's, with Trio's cancellation):
 *  - eddy_run() starts a loop on the calling thread and runs a main task
 *    until it and every task it (transitively) spawned have finished.
 *  - A task is a function running on its own stack. Blocking calls
 *    (sleep, join, lock, I/O...) suspend only the calling task.
 *  - Every blocking call is a checkpoint: it fails with -ECANCELED on
 *    entry if the task is cancelled, and a call that fails with -ECANCELED
 *    did not happen. Cancellation is level-triggered: once a scope is
 *    cancelled, every later blocking call inside it fails too.
 *  - Every blocking call takes (or has a variant taking) an absolute
 *    deadline; reaching it fails the call with -ETIMEDOUT.
 *  - All of eddy is single-threaded per loop. The one thread-safe entry
 *    point is eddy_loop_submit(). */
#ifndef EDDY_CORE_H
#define EDDY_CORE_H

#include "common.h"
#include "error.h"

EDDY_BEGIN_DECLS

typedef struct eddy_loop eddy_loop;
typedef struct eddy_task eddy_task;
typedef int (*eddy_task_fn)(void *arg);

/* ---------------------------------------------------------------- loop */

typedef struct eddy_loop_opts {
  size_t stack_size;      /* default task stack size; 0 = EDDY_STACK_DEFAULT */
  int virtual_clock;      /* 1: time jumps to the next timer when every task
                           * is blocked (exact, instant timeout tests) */
  eddy_time_t grace;      /* cleanup grace period for exits and closes;
                           * 0 = EDDY_GRACE_DEFAULT, <0 = none (unbounded) */
  int stack_guard;        /* 1 (default when 0): guard page per stack;
                           * -1: no guard (say so explicitly), and stacks
                           * from EDDY_STACK_MIN_UNGUARDED up, those under
                           * a page packed */
  int backend;            /* EDDY_BACKEND_*; AUTO (0) lets the environment
                           * variable EDDY_BACKEND (epoll, io_uring, auto)
                           * choose */
  int fp_env_per_task;    /* 1: every task and generator keeps its own
                           * floating-point control state (rounding mode,
                           * exception masks: fesetround, feenableexcept)
                           * across switches, at ~2 ns per switch. 0 (the
                           * default): it belongs to the thread, as in Go,
                           * Tokio, Node and asyncio, and a task that
                           * changes it changes it for all */
  eddy_time_t busy_poll;  /* io_uring: before sleeping for I/O, watch the ring
                           * this long (ns) for work that arrives meanwhile,
                           * without a system call; 0: never (see
                           * docs/guide-io.md, "Busy polling") */
  /* io_uring stream receives (see docs/guide-io.md, "Multishot receive"):
   * one receive request per stream stays in the kernel and takes buffers
   * from a ring of provided buffers the loop registers at start. */
  int recv_multishot;     /* 1: multishot receive into the loop's buffer
                           * ring; -1: one receive per read, straight into
                           * the stream's buffer; 0: the default (one
                           * receive per read: it measured a little ahead
                           * on the echo benchmark), unless the environment
                           * variable EDDY_RECV_MULTISHOT=1 asks for it */
  unsigned recv_buffers;  /* buffers in the ring: a power of two up to
                           * 32768; 0 = EDDY_RECV_BUFFERS_DEFAULT */
  unsigned recv_buffer_size; /* bytes per buffer, 1 .. EDDY_RECV_BUFFER_MAX;
                              * 0 = EDDY_RECV_BUFFER_SIZE_DEFAULT. The ring's
                              * memory is reserved at start and touched only
                              * as data arrives */
  eddy_time_t stack_release_delay; /* a finished task's stack goes back to
                           * a pool; beyond the 1024 kept warm, the loop
                           * gives its pages back to the system when it is
                           * about to sleep, or at the latest this long (ns)
                           * after the first such stack was freed, so that a
                           * burst of exits makes no system call and a burst
                           * of spawns soon after finds its pages (see
                           * docs/runtime.md, "Stacks"). 0 =
                           * EDDY_STACK_RELEASE_DELAY_DEFAULT; < 0: at once,
                           * one madvise per 256 freed stacks (the rest of
                           * a round when the loop sleeps) */
} eddy_loop_opts;

#define EDDY_RECV_BUFFERS_DEFAULT 256u
#define EDDY_RECV_BUFFER_SIZE_DEFAULT 8192u
#define EDDY_RECV_BUFFER_MAX (1u << 20)

/* I/O backends. AUTO: io_uring where the kernel offers what makes it pay
 * (a single-issuer ring with deferred task work, or cooperative task
 * running), epoll otherwise. An explicit choice the machine cannot meet
 * makes eddy_run_opts fail with -ENOSYS. */
enum { EDDY_BACKEND_AUTO = 0, EDDY_BACKEND_EPOLL = 1, EDDY_BACKEND_IO_URING = 2 };

#define EDDY_STACK_DEFAULT ((size_t)64 * 1024)
#define EDDY_STACK_RELEASE_DELAY_DEFAULT EDDY_SEC(1)
#define EDDY_STACK_MIN ((size_t)16 * 1024)
/* The smallest stack of a loop without guard pages (stack_guard = -1).
 * Stacks under a page are packed side by side there (two 2 KiB tasks to a
 * page); the task's control block (about 500 bytes) takes the top of its
 * stack. An overflow is not caught as it happens: a canary at the bottom
 * is checked when the stack is given back, and a broken one aborts. */
#define EDDY_STACK_MIN_UNGUARDED ((size_t)2 * 1024)
#define EDDY_STACK_MAX ((size_t)256 * 1024 * 1024)
#define EDDY_GRACE_DEFAULT EDDY_SEC(5)

/* Run main(arg) as the first task of a new loop on this thread; return when
 * it and every other task have finished. Returns main's result, or a
 * negative code if the loop could not start (-ENOMEM, EDDY_ENOGUARD...). */
EDDY_API int eddy_run(eddy_task_fn main_fn, void *arg);
EDDY_API int eddy_run_opts(eddy_task_fn main_fn, void *arg,
                           const eddy_loop_opts *opts);

/* The running loop's backend: "epoll" or "io_uring" (NULL outside a loop). */
EDDY_API const char *eddy_backend_name(void);

/* The loop running on this thread, or NULL. */
EDDY_API eddy_loop *eddy_loop_current(void);

/* Thread-safe: ask the loop to call fn(arg) on its own thread, soon. fn
 * runs outside any task, so it must not block; it may spawn tasks and set
 * events. Returns 0, or -ENOMEM / -ESHUTDOWN (the loop is gone). */
EDDY_API int eddy_loop_submit(eddy_loop *loop, void (*fn)(void *), void *arg);

/* Keep the loop alive while something outside it (another thread) may
 * still submit work: each hold is paired with one release. */
EDDY_API void eddy_loop_hold(eddy_loop *loop);
EDDY_API void eddy_loop_release(eddy_loop *loop);

/* ---------------------------------------------------------------- time */

/* The loop's clock (monotonic ns; virtual in virtual-clock mode). Outside
 * a loop: CLOCK_MONOTONIC. */
EDDY_API eddy_time_t eddy_now(void);
/* now + delta, saturating at EDDY_FOREVER; delta < 0 means now. */
EDDY_API eddy_time_t eddy_deadline_in(eddy_time_t delta);

EDDY_API int eddy_sleep(eddy_time_t delta);
EDDY_API int eddy_sleep_until(eddy_time_t deadline);
/* Let every other ready task run once, then continue. A checkpoint. */
EDDY_API int eddy_yield(void);
/* Park until the end of the loop's turn: every task that was ready has
 * run, or the turn's budget of hand-offs is spent, and one last look at
 * I/O has queued what is ready now; the caller runs behind all of them,
 * where the loop would next wait for I/O. A task that gathers output
 * flushes there, once per turn, as Redis does before it polls: busy
 * tasks cannot put it off past the turn, and one that waits again waits
 * for the next turn. Returns 0, -ETIMEDOUT at the deadline, or
 * -ECANCELED. */
EDDY_API int eddy_wait_turn_end(eddy_time_t deadline);
/* A checkpoint that does not yield: -ECANCELED if cancelled, else 0. */
EDDY_API int eddy_checkpoint(void);

/* ---------------------------------------------------------------- tasks */

typedef struct eddy_group eddy_group;

typedef struct eddy_spawn_opts {
  const char *name;   /* copied; shown by eddy_dump() */
  size_t stack_size;  /* 0: the loop's default */
  eddy_group *group;  /* owner; NULL: the loop's root group (see below) */
} eddy_spawn_opts;

/* Start fn(arg) as a new task. It is ready at once and first runs when the
 * caller next blocks or yields.
 *  - out != NULL: the caller owns a handle and must eddy_join() it (or
 *    eddy_detach() it); the finished task's memory is held until then.
 *  - out == NULL: nobody can join it; its memory goes back as soon as it
 *    finishes.
 * Either way the task is owned by a group (opts->group, or the loop's root
 * group), and eddy_run() does not return while it is pending: nothing is
 * destroyed while it runs. May be called from a task or from a function
 * passed to eddy_loop_submit(). */
EDDY_API int eddy_spawn_at(eddy_task **out, eddy_task_fn fn, void *arg,
                           const eddy_spawn_opts *opts, const char *file,
                           int line);
#define eddy_spawn(out, fn, arg) \
  eddy_spawn_at((out), (fn), (arg), NULL, __FILE__, __LINE__)
#define eddy_spawn_ex(out, fn, arg, opts) \
  eddy_spawn_at((out), (fn), (arg), (opts), __FILE__, __LINE__)

/* Wait for the task to finish and release it: *result gets its return
 * value. A checkpoint: if the caller is cancelled it returns -ECANCELED
 * and the handle stays valid (join again later). */
EDDY_API int eddy_join(eddy_task *t, int *result);
EDDY_API int eddy_join_until(eddy_task *t, int *result, eddy_time_t deadline);
/* Give up the handle: the task is released when it finishes. */
EDDY_API void eddy_detach(eddy_task *t);
/* Request cancellation: the task's blocking calls fail with -ECANCELED
 * from now on (level-triggered), except inside shields. Idempotent. */
EDDY_API void eddy_cancel(eddy_task *t);
/* 1 if the task has finished (its function returned). */
EDDY_API int eddy_task_done(const eddy_task *t);

EDDY_API eddy_task *eddy_task_current(void);
EDDY_API const char *eddy_task_name(const eddy_task *t);
EDDY_API int eddy_task_set_name(eddy_task *t, const char *name);
EDDY_API uint64_t eddy_task_id(const eddy_task *t);

/* Task-local storage. Keys are process-wide; values are per task. The
 * destructor (may be NULL) runs on a non-NULL value when the task ends. */
typedef int eddy_local_key;
EDDY_API int eddy_local_key_create(eddy_local_key *key, void (*dtor)(void *));
EDDY_API void *eddy_local_get(eddy_local_key key);
EDDY_API int eddy_local_set(eddy_local_key key, void *value);

/* Print every live task: id, name, state, where it was spawned and what
 * it waits on (with the code address of the blocking call). */
EDDY_API void eddy_dump(void *file /* FILE* */);

/* ---------------------------------------------------------------- scopes */

/* A cancellation scope: a region of one task that can be cancelled as a
 * unit, optionally with a deadline, optionally shielded from outer
 * cancellation. Tasks spawned into a group opened inside a scope are inside
 * it too. Scopes nest strictly (LIFO). The WITH forms in <eddy/with.h>
 * wrap these; the raw calls are for library code. Fields are private. */
typedef struct eddy_timer_entry {
  eddy_time_t when;
  uint32_t index; /* position in the heap; 0 = not armed */
  void (*fire)(struct eddy_timer_entry *);
} eddy_timer_entry;

typedef struct eddy_scope {
  struct eddy_scope *parent;
  eddy_node children; /* child scopes (same task or child tasks' roots) */
  eddy_node sibling;
  eddy_task *owner;
  eddy_timer_entry timer;
  eddy_time_t deadline;
  int reason;        /* -ECANCELED or -ETIMEDOUT once cancelled */
  unsigned flags;
} eddy_scope;

#define EDDY_SCOPE_SHIELD 1u   /* outer cancellation does not reach inside */

/* Enter/leave a scope in the current task. deadline: EDDY_FOREVER for none;
 * a past deadline cancels the scope at once (the first checkpoint fails). */
EDDY_API int eddy_scope_enter(eddy_scope *s, eddy_time_t deadline,
                              unsigned flags);
/* Leave; returns 1 if the scope was cancelled by its own deadline, 2 if
 * cancelled explicitly (eddy_scope_cancel), else 0. Must be the innermost. */
EDDY_API int eddy_scope_exit(eddy_scope *s);
EDDY_API void eddy_scope_cancel(eddy_scope *s);
EDDY_API void eddy_scope_reschedule(eddy_scope *s, eddy_time_t deadline);
EDDY_API int eddy_scope_cancelled(const eddy_scope *s);
/* -ECANCELED if the current task is cancelled here (without yielding). */
EDDY_API int eddy_cancelled(void);

/* ---------------------------------------------------------------- fds */

#define EDDY_READABLE 1u
#define EDDY_WRITABLE 2u

/* Wait until fd is readable/writable (one-shot registration: simple, two
 * epoll_ctl calls per wait). Returns the ready mask (>0), -ETIMEDOUT,
 * -ECANCELED, or the epoll error. Streams use eddy_watch below instead. */
EDDY_API int eddy_wait_fd(int fd, unsigned events, eddy_time_t deadline);

/* A persistent, edge-triggered registration of one fd, for streams: do the
 * I/O call first; on EAGAIN call eddy_watch_wait(). One reader and one
 * writer task may wait at a time (-EBUSY otherwise). */
typedef struct eddy_watch {
  int fd;
  unsigned ready;   /* readiness seen since the last EAGAIN */
  void *waiter[2];  /* private */
  eddy_loop *loop;
} eddy_watch;

EDDY_API int eddy_watch_init(eddy_watch *w, int fd);
EDDY_API int eddy_watch_wait(eddy_watch *w, unsigned event,
                             eddy_time_t deadline);
/* Wake any waiter with -EBADF and remove fd from the poller (does not close
 * fd). A waiter that a cancellation or a deadline woke already, and that
 * has not run yet, gets -EBADF too: the watch must not be touched after
 * this call. */
EDDY_API void eddy_watch_fini(eddy_watch *w);

EDDY_END_DECLS
#endif
