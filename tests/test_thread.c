/* test_thread.c: the thread pool: results, concurrency, backpressure, and
 * cancellation that is honest about whether the job ran. */
#include "test.h"

#include <stdatomic.h>

static atomic_int ran;

static int slow_square(void *arg) {
  usleep(20000);
  atomic_fetch_add(&ran, 1);
  int v = (int)(intptr_t)arg;
  return v * v;
}

static int basic_main(void *arg) {
  (void)arg;
  int r = 0;
  ASSERT_RC(eddy_to_thread(slow_square, (void *)7, &r), 0);
  ASSERT_EQ(r, 49);
  ASSERT_RC(eddy_to_thread(NULL, NULL, &r), -EINVAL);
  return 0;
}
TEST(to_thread_returns_result) { ASSERT_EQ(eddy_run(basic_main, NULL), 0); }

static int loop_ticks;
static int ticker(void *arg) {
  (void)arg;
  for (int i = 0; i < 10; i++) {
    eddy_sleep(EDDY_MSEC(1));
    loop_ticks++;
  }
  return 0;
}
static int nonblocking_main(void *arg) {
  (void)arg;
  eddy_spawn(NULL, ticker, NULL);
  int r;
  eddy_to_thread(slow_square, (void *)2, &r);
  ASSERT(loop_ticks >= 5); /* the loop kept running other tasks */
  return 0;
}
TEST(to_thread_does_not_block_the_loop) { ASSERT_EQ(eddy_run(nonblocking_main, NULL), 0); }

static int user(void *arg) {
  int r = 0;
  int rc = eddy_to_thread(slow_square, arg, &r);
  return rc ? rc : r;
}
static int parallel_main(void *arg) {
  (void)arg;
  eddy_pool_opts o = {.threads = 2, .queue_max = 1};
  ASSERT_RC(eddy_pool_configure(&o), 0);
  eddy_task *t[6];
  for (int i = 0; i < 6; i++) eddy_spawn(&t[i], user, (void *)(intptr_t)i);
  for (int i = 0; i < 6; i++) {
    int res = -1;
    eddy_join(t[i], &res);
    ASSERT_EQ(res, i * i);
  }
  ASSERT_RC(eddy_pool_configure(&o), -EBUSY);
  ASSERT_RC(eddy_pool_configure(NULL), -EINVAL);
  return 0;
}
TEST(pool_bounded_and_backpressure) {
  ASSERT_EQ(eddy_run(parallel_main, NULL), 0);
  ASSERT_EQ(atomic_load(&ran), 6);
}

static int cancel_queued_main(void *arg) {
  (void)arg;
  eddy_pool_opts o = {.threads = 1};
  eddy_pool_configure(&o);
  eddy_task *busy, *queued;
  eddy_spawn(&busy, user, (void *)3);  /* occupies the only thread */
  eddy_spawn(&queued, user, (void *)4);
  eddy_sleep(EDDY_MSEC(5));
  eddy_cancel(queued); /* still queued: removed, never runs */
  int rb = 0, rq = 0;
  eddy_join(busy, &rb);
  eddy_join(queued, &rq);
  ASSERT_EQ(rb, 9);
  ASSERT_RC(rq, -ECANCELED);
  return 0;
}
TEST(cancel_before_start_means_it_did_not_run) {
  atomic_store(&ran, 0);
  ASSERT_EQ(eddy_run(cancel_queued_main, NULL), 0);
  ASSERT_EQ(atomic_load(&ran), 1);
}

static atomic_int started;
static int flagged_square(void *arg) {
  atomic_store(&started, 1);
  return slow_square(arg);
}
static int cancel_running_child(void *arg) {
  (void)arg;
  int r = -1;
  int rc = eddy_to_thread(flagged_square, (void *)5, &r);
  ASSERT_RC(rc, 0);        /* it ran: completion wins */
  ASSERT_EQ(r, 25);
  return eddy_checkpoint(); /* the cancellation shows here */
}
static int cancel_running_main(void *arg) {
  (void)arg;
  eddy_task *t;
  eddy_spawn(&t, cancel_running_child, NULL);
  while (!atomic_load(&started)) eddy_sleep(EDDY_MSEC(1)); /* it runs now */
  eddy_cancel(t);
  int res = 0;
  eddy_join(t, &res);
  ASSERT_RC(res, -ECANCELED);
  return 0;
}
TEST(cancel_while_running_reports_what_ran) {
  ASSERT_EQ(eddy_run(cancel_running_main, NULL), 0);
}

static int deadline_main(void *arg) {
  (void)arg;
  eddy_pool_opts o = {.threads = 1};
  eddy_pool_configure(&o);
  eddy_spawn(NULL, user, (void *)1);
  eddy_yield();
  int r = 0;
  ASSERT_RC(eddy_to_thread_until(slow_square, (void *)2, &r,
                                 eddy_deadline_in(EDDY_MSEC(2))), -ETIMEDOUT);
  return 0;
}
TEST(deadline_while_queued) { ASSERT_EQ(eddy_run(deadline_main, NULL), 0); }

static int thread_fail_main(void *arg) {
  (void)arg;
  eddy__fault_set(EDDY_SYS_PTHREAD, 0, EAGAIN, 1);
  int r;
  ASSERT_RC(eddy_to_thread(slow_square, (void *)1, &r), -EAGAIN);
  eddy__fault_set(EDDY_SYS_ALLOC, 0, ENOMEM, 1);
  return 0;
}
TEST(thread_start_failure) { ASSERT_EQ(eddy_run(thread_fail_main, NULL), 0); }

static int pool_oom_main(void *arg) {
  (void)arg;
  int r;
  eddy__fault_set(EDDY_SYS_ALLOC, 0, ENOMEM, 1);
  ASSERT_RC(eddy_to_thread(slow_square, (void *)1, &r), -ENOMEM);
  eddy__fault_set(EDDY_SYS_ALLOC, 1, ENOMEM, 1); /* the pool, then its thread array */
  ASSERT_RC(eddy_to_thread(slow_square, (void *)1, &r), -ENOMEM);
  ASSERT_RC(eddy_to_thread(slow_square, (void *)1, &r), 0);
  return 0;
}
TEST(pool_out_of_memory) { ASSERT_EQ(eddy_run(pool_oom_main, NULL), 0); }

/* A task waiting for room in the pool, handed room by a cancelled queued
 * job and cancelled before it runs: it must return -ECANCELED without
 * queueing its job, not queue it and wait, deaf to the cancellation. */
static atomic_int held_release, held_ran;
static int held_job(void *arg) {
  (void)arg;
  while (!atomic_load(&held_release)) usleep(1000);
  return 0;
}
static int counted_job(void *arg) {
  (void)arg;
  atomic_fetch_add(&held_ran, 1);
  return 0;
}
static eddy_task *room_waiter;
static int hold_user(void *arg) {
  (void)arg;
  int r;
  return eddy_to_thread(held_job, NULL, &r);
}
static int room_waiter_fn(void *arg) {
  (void)arg;
  int r;
  return eddy_to_thread(counted_job, NULL, &r);
}
static int queued_then_cancels(void *arg) {
  (void)arg;
  int r;
  int rc = eddy_to_thread(counted_job, NULL, &r); /* queued, then cancelled */
  eddy_cancel(room_waiter); /* woken for room just now: not run yet */
  return rc;
}
static int room_woken_then_cancelled_main(void *arg) {
  (void)arg;
  eddy_pool_opts o = {.threads = 1, .queue_max = 1}; /* two in flight */
  ASSERT_RC(eddy_pool_configure(&o), 0);
  eddy_task *busy, *queued;
  ASSERT_RC(eddy_spawn(&busy, hold_user, NULL), 0);
  ASSERT_RC(eddy_spawn(&queued, queued_then_cancels, NULL), 0);
  ASSERT_RC(eddy_spawn(&room_waiter, room_waiter_fn, NULL), 0);
  ASSERT_RC(eddy_yield(), 0); /* busy runs, queued is queued, room_waiter waits */
  eddy_cancel(queued);
  int rq = 0, rw = 0, rb = -1;
  ASSERT_RC(eddy_join(queued, &rq), 0);
  ASSERT_RC(rq, -ECANCELED);
  int jr = eddy_join_until(room_waiter, &rw, eddy_deadline_in(EDDY_MSEC(300)));
  atomic_store(&held_release, 1);
  if (jr) eddy_join(room_waiter, &rw);
  ASSERT_RC(eddy_join(busy, &rb), 0);
  ASSERT_RC(jr, 0);
  ASSERT_RC(rw, -ECANCELED);
  ASSERT_EQ(atomic_load(&held_ran), 0); /* neither queued job ran */
  ASSERT_RC(rb, 0);
  return 0;
}
TEST(room_waiter_woken_then_cancelled_queues_nothing) {
  ASSERT_EQ(eddy_run(room_woken_then_cancelled_main, NULL), 0);
}
