/* threadpool.c: the loop's pool of threads for blocking calls
 * (eddy_to_thread). A job lives on the waiting task's stack; a worker runs
 * it and hands it back to the loop through an allocation-free submission
 * node embedded in the job, so a round trip allocates nothing.
 *
 * The loop thread owns all bookkeeping that tasks see (in-flight count,
 * waiters for space); workers only touch the queue under its mutex and the
 * job's own fields. While a job is in flight the loop holds itself alive:
 * its task waits on no timer or fd, and must not look like a deadlock. */
#include "../core/internal.h"
#include "eddy/thread.h"

#include <errno.h>
#include <string.h>

enum { J_QUEUED, J_RUNNING, J_DONE, J_DELIVERED };

typedef struct job {
  eddy_node node;           /* in the pool queue while queued */
  int (*fn)(void *);
  void *arg;
  int result;
  int state;                /* written by workers under pool->mu */
  eddy__wait w;
  eddy__submission back;    /* completion, handed to the loop */
  struct pool *pool;
} job;

typedef struct pool {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  eddy_node queue;
  pthread_t *threads;
  int nthreads, max_threads, idle, stop;
  /* loop-thread side */
  int inflight, max_inflight;
  eddy_node space_waiters;
  eddy_loop *loop;
} pool;

static eddy_pool_opts pending_opts;

EDDY_API int eddy_pool_configure(const eddy_pool_opts *opts) {
  eddy_loop *loop = eddy__loop();
  if (!loop) return EDDY_ENOTTASK;
  if (!opts || opts->threads < 0 || opts->queue_max < 0) return -EINVAL;
  if (loop->pool) return -EBUSY;
  pending_opts = *opts;
  return 0;
}

static void *worker(void *arg) {
  pool *p = arg;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (!p->stop && eddy__list_empty(&p->queue)) {
      p->idle++;
      pthread_cond_wait(&p->cv, &p->mu);
      p->idle--;
    }
    if (eddy__list_empty(&p->queue)) break; /* stop, and nothing left */
    job *j = eddy__container_of(eddy__list_pop_front(&p->queue), job, node);
    j->state = J_RUNNING;
    pthread_mutex_unlock(&p->mu);
    int r = j->fn(j->arg);
    pthread_mutex_lock(&p->mu);
    j->result = r;
    j->state = J_DONE;
    eddy__loop_submit_node(p->loop, &j->back);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

static void pool_fini(eddy_loop *loop) {
  pool *p = loop->pool;
  if (!p) return;
  pthread_mutex_lock(&p->mu);
  p->stop = 1;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
  for (int i = 0; i < p->nthreads; i++) pthread_join(p->threads[i], NULL);
  pthread_cond_destroy(&p->cv);
  pthread_mutex_destroy(&p->mu);
  eddy__free(p->threads);
  eddy__free(p);
  loop->pool = NULL;
}

static pool *pool_get(eddy_loop *loop) {
  if (loop->pool) return loop->pool;
  pool *p = eddy__calloc(1, sizeof *p);
  if (!p) return NULL;
  p->max_threads = pending_opts.threads ? pending_opts.threads : 4;
  p->threads = eddy__calloc((size_t)p->max_threads, sizeof *p->threads);
  if (!p->threads) {
    eddy__free(p);
    return NULL;
  }
  p->max_inflight =
      p->max_threads + (pending_opts.queue_max ? pending_opts.queue_max : 1024);
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  eddy__list_init(&p->queue);
  eddy__list_init(&p->space_waiters);
  p->loop = loop;
  loop->pool = p;
  loop->pool_fini = pool_fini;
  return p;
}

/* Loop thread: a worker finished j. */
static void job_back(void *arg) {
  job *j = arg;
  pool *p = j->pool;
  eddy_loop *loop = p->loop;
  p->inflight--;
  __atomic_sub_fetch(&loop->holds, 1, __ATOMIC_SEQ_CST);
  if (!eddy__list_empty(&p->space_waiters))
    eddy__wake(eddy__container_of(p->space_waiters.next, eddy__wait, node), 0);
  j->state = J_DELIVERED;
  if (j->w.task->wait == &j->w) eddy__wake(&j->w, 0);
}

EDDY_API int eddy_to_thread_until(int (*fn)(void *), void *arg, int *result,
                                  eddy_time_t deadline) {
  eddy_task *t;
  int r = eddy__checkpoint(&t);
  if (r) return r;
  if (!fn) return -EINVAL;
  eddy_loop *loop = t->loop;
  pool *p = pool_get(loop);
  if (!p) return -ENOMEM;
  while (p->inflight >= p->max_inflight) { /* backpressure */
    eddy__wait sw;
    eddy__wait_init(&sw, t);
    eddy__list_push_back(&p->space_waiters, &sw.node);
    r = eddy__park(&sw, deadline, "pool-space", __builtin_return_address(0));
    if (r) return r;
  }
  job j;
  memset(&j, 0, sizeof j);
  j.fn = fn;
  j.arg = arg;
  j.pool = p;
  j.back.fn = job_back;
  j.back.arg = &j;
  eddy__wait_init(&j.w, t);
  pthread_mutex_lock(&p->mu);
  if (p->idle == 0 && p->nthreads < p->max_threads) {
    int e = eddy__fault(EDDY_SYS_PTHREAD);
    if (!e) e = pthread_create(&p->threads[p->nthreads], NULL, worker, p);
    if (e == 0) p->nthreads++;
    else if (p->nthreads == 0) {
      pthread_mutex_unlock(&p->mu);
      return -EAGAIN;
    }
  }
  j.state = J_QUEUED;
  eddy__list_push_back(&p->queue, &j.node);
  pthread_cond_signal(&p->cv);
  pthread_mutex_unlock(&p->mu);
  p->inflight++;
  __atomic_add_fetch(&loop->holds, 1, __ATOMIC_SEQ_CST);

  r = eddy__park(&j.w, deadline, "thread", __builtin_return_address(0));
  if (r && j.state != J_DELIVERED) {
    pthread_mutex_lock(&p->mu);
    int queued = j.state == J_QUEUED;
    if (queued) eddy__node_unlink(&j.node);
    pthread_mutex_unlock(&p->mu);
    if (queued) { /* it never ran: the cancellation stands */
      p->inflight--;
      __atomic_sub_fetch(&loop->holds, 1, __ATOMIC_SEQ_CST);
      if (!eddy__list_empty(&p->space_waiters))
        eddy__wake(eddy__container_of(p->space_waiters.next, eddy__wait, node), 0);
      return r;
    }
    /* It is running: it cannot be stopped, so wait for it (uncancellable)
     * and report what it did. */
    while (j.state != J_DELIVERED) {
      eddy__wait_init(&j.w, t);
      j.w.flags = 0;
      eddy__park(&j.w, EDDY_FOREVER, "thread", __builtin_return_address(0));
    }
  }
  if (result) *result = j.result;
  return 0;
}

EDDY_API int eddy_to_thread(int (*fn)(void *), void *arg, int *result) {
  return eddy_to_thread_until(fn, arg, result, EDDY_FOREVER);
}
