/* eddy/thread.h: a bounded pool of threads for calls that block (Python's
 * asyncio.to_thread): a task hands a function to the pool and waits; the
 * loop runs on. Used by the file and DNS layers on the epoll backend.
 *
 * Cancellation is honest about what already ran:
 *  - a job that has not started when its task is cancelled (or its deadline
 *    passes) is taken off the queue and never runs: -ECANCELED/-ETIMEDOUT;
 *  - a job that has started cannot be stopped, so the task waits for it and
 *    gets its result (completion wins); the cancellation shows at the task's
 *    next checkpoint. The caller therefore always knows whether fn ran. */
#ifndef EDDY_THREAD_H
#define EDDY_THREAD_H

#include "core.h"

EDDY_BEGIN_DECLS

typedef struct eddy_pool_opts {
  int threads;      /* worker threads; 0 = 4 */
  int queue_max;    /* queued jobs before submitters wait; 0 = 1024 */
} eddy_pool_opts;

/* Configure the loop's pool before its first use (-EBUSY after). */
EDDY_API int eddy_pool_configure(const eddy_pool_opts *opts);

/* Run fn(arg) on a pool thread; *result gets its return value. fn must not
 * call eddy functions. Returns 0, -ECANCELED / -ETIMEDOUT (fn did not run),
 * -ENOMEM, -EAGAIN (no thread could be started). */
EDDY_API int eddy_to_thread(int (*fn)(void *), void *arg, int *result);
EDDY_API int eddy_to_thread_until(int (*fn)(void *), void *arg, int *result,
                                  eddy_time_t deadline);

EDDY_END_DECLS
#endif
