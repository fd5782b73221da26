/* eddy/with.h: asynchronous context managers: Python's `async with`.
 *
 * A manager is an ops table plus an object. enter may suspend and may fail
 * (then exit is not called: enter undoes its own partial work). exit may
 * suspend; it receives the block's outcome (0, the block's error, or
 * -ECANCELED) and returns the resulting status:
 *   - the status it received: propagate it;
 *   - 0: suppress it (control continues after the block);
 *   - another error: its own failure. When the block failed, the block's
 *     error stays the result and exit's error is kept as the "cleanup
 *     error" (eddy_with_cleanup_error()); after a clean block it is the
 *     result. -ECANCELED/-ETIMEDOUT from an exit never displace a real
 *     error. No error is dropped silently.
 *
 * Exits run shielded from outer cancellation but under a grace deadline
 * (the loop's eddy_loop_opts.grace, or eddy_with_set_grace()): a final
 * flush or rollback can still do I/O after a cancel, and one that hangs is
 * cut off (its blocking calls fail once the grace deadline passes).
 *
 * Two syntaxes, both built on __attribute__((cleanup)), so exit runs
 * exactly once however the block is left: fall-through, break, continue,
 * return, goto, an error, cancellation.
 *
 *   Declaration form (preferred: break/continue/return/goto keep their
 *   ordinary meaning; exit runs at the end of the enclosing C block):
 *
 *     EDDY_WITH(g, &eddy_lock_cm, &lock);
 *     if (g.status) return g.status;       // enter failed: no exit
 *     ... body ...
 *     if (bad) return eddy_with_close(&g, -EIO);   // leave with an error
 *
 *   Block form (a visible block; NOTE: break and continue inside it leave
 *   the WITH block itself, not an enclosing loop):
 *
 *     int rc;
 *     EDDY_WITH_BLOCK(g, &eddy_lock_cm, &lock, &rc) {
 *       ... body (runs only if enter succeeded) ...
 *     }
 *     // rc: enter's error, or the combined result of body and exit
 *
 * A plain `return rc;` cannot tell exit about rc (a cleanup handler cannot
 * see or change a C return value): exit then sees 0. To leave with an
 * error that exit sees, use eddy_with_fail(&g, rc) before leaving, or
 * `return eddy_with_close(&g, rc);`, which runs exit now and returns the
 * combined status. Never jump *into* a WITH block (the build uses
 * -Wjump-misses-init so gcc rejects it, as clang does). Never longjmp out
 * of one. */
#ifndef EDDY_WITH_H
#define EDDY_WITH_H

#include "core.h"
#include "sync.h"

EDDY_BEGIN_DECLS

#define EDDY_CM_NOSHIELD 1u /* exit never blocks: run it unshielded (scopes) */
#define EDDY_CM_COMPOSITE 2u /* exit already combines statuses as nested WITH
                              * blocks would (exit stacks, task groups): its
                              * result is taken as is */

typedef struct eddy_cm_ops {
  int (*enter)(void *self, void **value);
  int (*exit)(void *self, int status);
  unsigned flags;
} eddy_cm_ops;

typedef struct eddy_with {
  const eddy_cm_ops *ops;
  void *self;
  void *value;       /* what enter produced (the `as` target) */
  int status;        /* enter's result: 0 means entered */
  int error;         /* the block's error, recorded by eddy_with_fail */
  int result;        /* combined result after exit */
  int cleanup_error; /* exit's own error, when it did not become result */
  int state;         /* private: 1 entered, 2 exited */
  int *out;          /* block form: where the result goes */
  unsigned seen;     /* private: cancellations delivered before the block */
  eddy_time_t grace; /* 0: the loop's */
} eddy_with;

EDDY_API eddy_with eddy_with_enter(const eddy_cm_ops *ops, void *self);
EDDY_API void eddy_with_cleanup(eddy_with *g);
/* What the macros below call: g already holds ops and self (zero
 * elsewhere); enters in place, without the copy of a returned struct. */
EDDY_API int eddy__with_begin(eddy_with *g);
/* Record the block's error (exit will see it); returns rc. */
EDDY_API int eddy_with_fail(eddy_with *g, int rc);
/* Leave now with rc as the block's outcome: runs exit (once) and returns the
 * combined status. */
EDDY_API int eddy_with_close(eddy_with *g, int rc);
/* Grace period for this guard's exit (relative ns; <0: unbounded). */
EDDY_API void eddy_with_set_grace(eddy_with *g, eddy_time_t grace);
/* The current task's most recent cleanup error that could not become a
 * result (exit failing on a path that had its own error or a plain
 * `return`); 0 if none. Reading it clears it. */
EDDY_API int eddy_with_cleanup_error(void);

/* Both forms initialize the guard where it lives and enter there
 * (eddy__with_begin): eddy_with_enter() returns a whole guard, which the
 * compiler builds in its own frame and copies out, a cost on every
 * uncontended lock. EDDY_WITH is therefore two statements: a declaration,
 * then the enter. */
/* every field, in order, without designators: C++ compilers warn of the
 * fields a designated list leaves out */
#define EDDY__WITH_INIT(ops_, self_) {(ops_), (self_), 0, 0, 0, 0, 0, 0, 0, 0, 0}
#define EDDY_WITH(g, ops, self)                                              \
  eddy_with g __attribute__((cleanup(eddy_with_cleanup), unused)) =          \
      EDDY__WITH_INIT(ops, self);                                            \
  (void)eddy__with_begin(&g)

#define EDDY__CAT2(a, b) a##b
#define EDDY__CAT(a, b) EDDY__CAT2(a, b)
#define EDDY_WITH_BLOCK(g, ops, self, outp)                                \
  for (eddy_with g __attribute__((cleanup(eddy_with_cleanup), unused)) =   \
           EDDY__WITH_INIT(ops, self),                                     \
           *EDDY__CAT(g, _once) = (eddy__with_begin(&g), g.out = (outp),  \
                                   g.out ? (*g.out = g.status) : 0, &g);   \
       EDDY__CAT(g, _once); EDDY__CAT(g, _once) = NULL)                    \
    if (g.status == 0)

/* ------------------------------------------------ built-in managers */

/* Lock and semaphore: enter acquires (a checkpoint), exit releases. */
EDDY_API extern const eddy_cm_ops eddy_lock_cm;
EDDY_API extern const eddy_cm_ops eddy_sem_cm;

/* Timeouts as scopes (asyncio.timeout, Trio fail_after/move_on_after).
 * Inside, blocking calls fail with -ECANCELED once the deadline passes; at
 * exit the scope converts that: fail-variant to -ETIMEDOUT, move-on variant
 * to 0 with `caught` set. Only the scope whose deadline fired converts; an
 * outer or external cancellation passes through unchanged. A deadline that
 * passes while the body never blocks leaves the result alone but sets
 * `expired`. */
typedef struct eddy_timeout {
  eddy_scope scope;
  eddy_time_t deadline;
  int move_on;
  int expired; /* after exit: the deadline had passed */
  int caught;  /* after exit (move-on): the deadline fired and was absorbed */
} eddy_timeout;

EDDY_API extern const eddy_cm_ops eddy_timeout_cm;
/* Initialise: relative (timeout_in) or absolute (timeout_at); EDDY_FOREVER
 * never fires. A relative timeout is converted at enter. */
EDDY_API void eddy_timeout_in(eddy_timeout *t, eddy_time_t delta, int move_on);
EDDY_API void eddy_timeout_at(eddy_timeout *t, eddy_time_t deadline, int move_on);
EDDY_API void eddy_timeout_reschedule(eddy_timeout *t, eddy_time_t deadline);
EDDY_API eddy_time_t eddy_timeout_deadline(const eddy_timeout *t);

/* Shield: outer cancellation does not reach inside; the caller waits for
 * the block; the cancellation is delivered at the first checkpoint after.
 * An optional deadline bounds it (EDDY_FOREVER: none). */
typedef struct eddy_shield {
  eddy_scope scope;
  eddy_time_t deadline;
} eddy_shield;
EDDY_API extern const eddy_cm_ops eddy_shield_cm;
EDDY_API void eddy_shield_init(eddy_shield *s, eddy_time_t deadline);

/* A cancel scope with no deadline, cancelled on request (Trio's
 * CancelScope): exit absorbs its own cancellation. */
EDDY_API extern const eddy_cm_ops eddy_cancel_scope_cm;

EDDY_END_DECLS
#endif
