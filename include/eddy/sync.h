/* eddy/sync.h: events, locks, semaphores and conditions between the tasks
 * of one loop. None of them allocates; all live wherever the user puts
 * them (initialise with the *_init call or the static initialiser).
 *
 * Rules every primitive follows (tested in tests/test_sync.c):
 *  - every wait is a checkpoint and takes an absolute deadline;
 *  - "cancelled means it did not happen": a wait that returns -ECANCELED
 *    or -ETIMEDOUT holds nothing (no lock, no permit);
 *  - completion wins the race: a task that was handed the lock (or permit,
 *    or event) before its cancellation was noticed gets 0 and holds it;
 *    the cancellation shows at its next checkpoint;
 *  - wake-ups are FIFO and hand the resource over directly, so no waiter
 *    starves and a late-comer cannot barge in. */
#ifndef EDDY_SYNC_H
#define EDDY_SYNC_H

#include "core.h"

EDDY_BEGIN_DECLS

/* ------------------------------------------------------------- event */
typedef struct eddy_event {
  eddy_node waiters;
  int set;
} eddy_event;

EDDY_API void eddy_event_init(eddy_event *e);
/* Set the event and wake every waiter. Callable outside tasks. */
EDDY_API void eddy_event_set(eddy_event *e);
EDDY_API void eddy_event_clear(eddy_event *e);
EDDY_API int eddy_event_is_set(const eddy_event *e);
EDDY_API int eddy_event_wait(eddy_event *e);
EDDY_API int eddy_event_wait_until(eddy_event *e, eddy_time_t deadline);

/* ------------------------------------------------------------- lock */
typedef struct eddy_lock {
  eddy_node waiters;
  eddy_task *owner;
} eddy_lock;

EDDY_API void eddy_lock_init(eddy_lock *l);
EDDY_API int eddy_lock_acquire(eddy_lock *l);
EDDY_API int eddy_lock_acquire_until(eddy_lock *l, eddy_time_t deadline);
/* 0 if taken now, -EBUSY if held. Not a checkpoint. */
EDDY_API int eddy_lock_try(eddy_lock *l);
/* Release; -EPERM if the caller does not hold it. Hands the lock to the
 * first waiter, if any. */
EDDY_API int eddy_lock_release(eddy_lock *l);
EDDY_API int eddy_lock_held(const eddy_lock *l);

/* ------------------------------------------------------------- semaphore */
typedef struct eddy_sem {
  eddy_node waiters;
  long value;
  long max; /* 0: unbounded; else release past max is -EOVERFLOW */
} eddy_sem;

EDDY_API int eddy_sem_init(eddy_sem *s, long initial, long max);
EDDY_API int eddy_sem_acquire(eddy_sem *s);
EDDY_API int eddy_sem_acquire_until(eddy_sem *s, eddy_time_t deadline);
EDDY_API int eddy_sem_try(eddy_sem *s);
EDDY_API int eddy_sem_release(eddy_sem *s);
EDDY_API long eddy_sem_value(const eddy_sem *s);

/* ------------------------------------------------------------- condition */
typedef struct eddy_cond {
  eddy_node waiters;
} eddy_cond;

EDDY_API void eddy_cond_init(eddy_cond *c);
/* Release l, wait for a signal, re-acquire l. l is held again on every
 * return, including -ECANCELED and -ETIMEDOUT (as with pthreads), so the
 * caller's unlock path stays the same. The re-acquisition itself is not
 * interrupted by cancellation. */
EDDY_API int eddy_cond_wait(eddy_cond *c, eddy_lock *l);
EDDY_API int eddy_cond_wait_until(eddy_cond *c, eddy_lock *l,
                                  eddy_time_t deadline);
EDDY_API void eddy_cond_signal(eddy_cond *c);
EDDY_API void eddy_cond_broadcast(eddy_cond *c);

EDDY_END_DECLS
#endif
