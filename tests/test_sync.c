/* test_sync.c: events, locks, semaphores and conditions: FIFO hand-off,
 * deadlines, and "cancelled means it did not happen" at every suspension
 * point of every primitive (R18, R19). */
#include "test.h"

static eddy_loop_opts vclock = {.virtual_clock = 1};

/* ---------------------------------------------------------------- event */
static eddy_event ev;
static int ev_waiter(void *arg) {
  test_log *l = arg;
  int r = eddy_event_wait(&ev);
  LOG(l, "woke%d", r);
  return r;
}
static test_log ev_log;
static int event_main(void *arg) {
  (void)arg;
  eddy_event_init(&ev);
  for (int i = 0; i < 3; i++) eddy_spawn(NULL, ev_waiter, &ev_log);
  eddy_yield();
  ASSERT(!eddy_event_is_set(&ev));
  eddy_event_set(&ev);
  ASSERT_RC(eddy_event_wait(&ev), 0); /* already set: no wait */
  eddy_event_clear(&ev);
  ASSERT_RC(eddy_event_wait_until(&ev, eddy_deadline_in(EDDY_MSEC(5))), -ETIMEDOUT);
  return 0;
}
TEST(event_set_wakes_all_and_deadline) {
  ASSERT_EQ(eddy_run_opts(event_main, NULL, &vclock), 0);
  ASSERT_STR(ev_log.buf, "woke0 woke0 woke0");
}

/* ---------------------------------------------------------------- lock */
static eddy_lock lk;
static test_log lock_log;
static int locker(void *arg) {
  int id = (int)(intptr_t)arg;
  ASSERT_RC(eddy_lock_acquire(&lk), 0);
  LOG(&lock_log, "in%d", id);
  eddy_sleep(EDDY_MSEC(1));
  LOG(&lock_log, "out%d", id);
  ASSERT_RC(eddy_lock_release(&lk), 0);
  return 0;
}
static int lock_main(void *arg) {
  (void)arg;
  eddy_lock_init(&lk);
  for (int i = 0; i < 3; i++) eddy_spawn(NULL, locker, (void *)(intptr_t)i);
  return 0;
}
TEST(lock_is_exclusive_and_fifo) {
  ASSERT_EQ(eddy_run_opts(lock_main, NULL, &vclock), 0);
  ASSERT_STR(lock_log.buf, "in0 out0 in1 out1 in2 out2");
}

static int lock_errors_main(void *arg) {
  (void)arg;
  eddy_lock_init(&lk);
  ASSERT_RC(eddy_lock_release(&lk), -EPERM);
  ASSERT_RC(eddy_lock_try(&lk), 0);
  ASSERT_RC(eddy_lock_try(&lk), -EBUSY);
  ASSERT_RC(eddy_lock_acquire(&lk), -EDEADLK);
  ASSERT(eddy_lock_held(&lk));
  ASSERT_RC(eddy_lock_release(&lk), 0);
  return 0;
}
TEST(lock_misuse_errors) { ASSERT_EQ(eddy_run(lock_errors_main, NULL), 0); }

static int try_lock_then_timeout(void *arg) {
  (void)arg;
  return eddy_lock_acquire_until(&lk, eddy_deadline_in(EDDY_MSEC(3)));
}
static int lock_deadline_main(void *arg) {
  (void)arg;
  eddy_lock_init(&lk);
  eddy_lock_acquire(&lk);
  eddy_task *t;
  int res = 0;
  eddy_spawn(&t, try_lock_then_timeout, NULL);
  eddy_join(t, &res);
  ASSERT_RC(res, -ETIMEDOUT);
  ASSERT(lk.owner == eddy_task_current()); /* the timed-out waiter holds nothing */
  ASSERT(eddy__list_empty_(&lk.waiters));
  eddy_lock_release(&lk);
  ASSERT(!eddy_lock_held(&lk));
  return 0;
}
TEST(lock_deadline_holds_nothing) {
  ASSERT_EQ(eddy_run_opts(lock_deadline_main, NULL, &vclock), 0);
}

/* Completion wins the race: the lock is handed over, then the new owner is
 * cancelled before it runs; it must still own the lock. */
static int handoff_child(void *arg) {
  (void)arg;
  int r = eddy_lock_acquire(&lk);
  ASSERT_RC(r, 0);
  ASSERT(lk.owner == eddy_task_current());
  ASSERT_RC(eddy_checkpoint(), -ECANCELED); /* seen at the next checkpoint */
  eddy_lock_release(&lk);
  return 0;
}
static int handoff_main(void *arg) {
  (void)arg;
  eddy_lock_init(&lk);
  eddy_lock_acquire(&lk);
  eddy_task *t;
  eddy_spawn(&t, handoff_child, NULL);
  eddy_yield();              /* child queues on the lock */
  eddy_lock_release(&lk);    /* hand-off: child owns it now */
  eddy_cancel(t);            /* ...and is cancelled before running */
  int res = -1;
  eddy_join(t, &res);
  ASSERT_RC(res, 0);
  ASSERT(!eddy_lock_held(&lk));
  return 0;
}
TEST(R19_lock_completion_wins_over_cancel) {
  ASSERT_EQ(eddy_run(handoff_main, NULL), 0);
}

/* ---------------------------------------------------------------- sem */
static eddy_sem sem;
static int sem_user(void *arg) {
  int *inside = arg;
  ASSERT_RC(eddy_sem_acquire(&sem), 0);
  (*inside)++;
  ASSERT(*inside <= 2);
  eddy_sleep(EDDY_MSEC(1));
  (*inside)--;
  return eddy_sem_release(&sem);
}
static int sem_main(void *arg) {
  (void)arg;
  static int inside;
  ASSERT_RC(eddy_sem_init(&sem, 2, 2), 0);
  for (int i = 0; i < 6; i++) eddy_spawn(NULL, sem_user, &inside);
  return 0;
}
TEST(semaphore_bounds_concurrency) { ASSERT_EQ(eddy_run_opts(sem_main, NULL, &vclock), 0); }

static int sem_errors_main(void *arg) {
  (void)arg;
  ASSERT_RC(eddy_sem_init(&sem, -1, 0), -EINVAL);
  ASSERT_RC(eddy_sem_init(&sem, 3, 2), -EINVAL);
  ASSERT_RC(eddy_sem_init(&sem, 1, 1), 0);
  ASSERT_RC(eddy_sem_release(&sem), -EOVERFLOW);
  ASSERT_RC(eddy_sem_try(&sem), 0);
  ASSERT_RC(eddy_sem_try(&sem), -EAGAIN);
  ASSERT_RC(eddy_sem_acquire_until(&sem, eddy_deadline_in(EDDY_MSEC(1))), -ETIMEDOUT);
  ASSERT_EQ(eddy_sem_value(&sem), 0);
  ASSERT_RC(eddy_sem_release(&sem), 0);
  ASSERT_EQ(eddy_sem_value(&sem), 1);
  return 0;
}
TEST(semaphore_errors_and_deadline) {
  ASSERT_EQ(eddy_run_opts(sem_errors_main, NULL, &vclock), 0);
}

/* ---------------------------------------------------------------- cond */
static eddy_cond cv;
static int ready_flag;
static int cond_waiter(void *arg) {
  (void)arg;
  eddy_lock_acquire(&lk);
  while (!ready_flag) ASSERT_RC(eddy_cond_wait(&cv, &lk), 0);
  ASSERT(lk.owner == eddy_task_current());
  eddy_lock_release(&lk);
  return 7;
}
static int cond_main(void *arg) {
  (void)arg;
  eddy_lock_init(&lk);
  eddy_cond_init(&cv);
  eddy_task *a, *b;
  eddy_spawn(&a, cond_waiter, NULL);
  eddy_spawn(&b, cond_waiter, NULL);
  eddy_yield();
  eddy_lock_acquire(&lk);
  ready_flag = 1;
  eddy_cond_broadcast(&cv);
  eddy_lock_release(&lk);
  int ra = 0, rb = 0;
  eddy_join(a, &ra);
  eddy_join(b, &rb);
  ASSERT_EQ(ra + rb, 14);
  ASSERT_RC(eddy_cond_wait(&cv, &lk), -EPERM); /* lock not held */
  return 0;
}
TEST(condition_broadcast) { ASSERT_EQ(eddy_run(cond_main, NULL), 0); }

static int cond_cancel_child(void *arg) {
  (void)arg;
  eddy_lock_acquire(&lk);
  int r = eddy_cond_wait(&cv, &lk);
  ASSERT_RC(r, -ECANCELED);
  ASSERT(lk.owner == eddy_task_current()); /* lock held again even so */
  eddy_lock_release(&lk);
  return 0;
}
static int cond_cancel_main(void *arg) {
  (void)arg;
  eddy_lock_init(&lk);
  eddy_cond_init(&cv);
  eddy_task *t;
  eddy_spawn(&t, cond_cancel_child, NULL);
  eddy_yield();
  eddy_lock_acquire(&lk); /* hold it while the child is cancelled */
  eddy_cancel(t);
  eddy_yield();
  eddy_yield();
  eddy_lock_release(&lk); /* now the child can re-acquire */
  ASSERT_RC(eddy_join(t, NULL), 0);
  eddy_cond_signal(&cv); /* no waiter: nothing happens */
  return 0;
}
TEST(condition_cancel_reacquires_lock) { ASSERT_EQ(eddy_run(cond_cancel_main, NULL), 0); }

/* ------------------------------------------------- cancellation sweep */
/* For each primitive: cancel the waiter at its suspension point, then
 * check the resource is untouched (R19), and that a cancelled task fails
 * on entry even when the primitive is ready (R18). */
enum { P_EVENT, P_LOCK, P_SEM, P_COND, P_SLEEP, P_JOIN, P__N };
static eddy_event sw_ev;
static eddy_task *sw_sleeper;
static int sw_forever(void *arg) {
  (void)arg;
  return eddy_sleep(EDDY_SEC(100000));
}
static int sw_wait(void *arg) {
  switch ((int)(intptr_t)arg) {
  case P_EVENT: return eddy_event_wait(&sw_ev);
  case P_LOCK: return eddy_lock_acquire(&lk);
  case P_SEM: return eddy_sem_acquire(&sem);
  case P_COND: {
    eddy_lock_acquire(&lk);
    int r = eddy_cond_wait(&cv, &lk);
    eddy_lock_release(&lk);
    return r;
  }
  case P_SLEEP: return eddy_sleep(EDDY_SEC(1000));
  case P_JOIN: return eddy_join(sw_sleeper, NULL);
  }
  return -1;
}
static int sweep_main(void *arg) {
  (void)arg;
  for (int p = 0; p < P__N; p++) {
    eddy_event_init(&sw_ev);
    eddy_lock_init(&lk);
    eddy_cond_init(&cv);
    eddy_sem_init(&sem, 0, 0);
    eddy_spawn(&sw_sleeper, sw_forever, NULL);
    if (p == P_LOCK) eddy_lock_acquire(&lk);
    eddy_task *t;
    eddy_spawn(&t, sw_wait, (void *)(intptr_t)p);
    eddy_yield(); /* t is now parked in the primitive */
    eddy_cancel(t);
    int res = 0;
    ASSERT_RC(eddy_join(t, &res), 0);
    ASSERT_RC(res, -ECANCELED);
    /* nothing happened: no permit taken, lock still ours, no waiter left */
    ASSERT_EQ(eddy_sem_value(&sem), 0);
    ASSERT(eddy__list_empty_(&sem.waiters));
    ASSERT(eddy__list_empty_(&lk.waiters));
    ASSERT(eddy__list_empty_(&sw_ev.waiters));
    ASSERT(eddy__list_empty_(&cv.waiters));
    if (p == P_LOCK) {
      ASSERT(lk.owner == eddy_task_current());
      eddy_lock_release(&lk);
    }
    ASSERT(!eddy_lock_held(&lk));
    eddy_sem_release(&sem);
    ASSERT_EQ(eddy_sem_value(&sem), 1); /* the permit goes to no ghost */
    eddy_cancel(sw_sleeper);
    eddy_join(sw_sleeper, NULL);
  }
  return 0;
}
TEST(R19_cancel_at_every_suspension_point) {
  ASSERT_EQ(eddy_run_opts(sweep_main, NULL, &vclock), 0);
}

static int ready_but_cancelled(void *arg) {
  (void)arg;
  eddy_cancel(eddy_task_current());
  ASSERT_RC(eddy_event_wait(&sw_ev), -ECANCELED);   /* set, but cancelled */
  ASSERT_RC(eddy_sem_acquire(&sem), -ECANCELED);    /* permit free */
  ASSERT_EQ(eddy_sem_value(&sem), 1);               /* ...and untouched */
  ASSERT_RC(eddy_lock_acquire(&lk), -ECANCELED);    /* lock free */
  ASSERT(!eddy_lock_held(&lk));
  ASSERT_RC(eddy_yield(), -ECANCELED);
  ASSERT_RC(eddy_sleep(0), -ECANCELED);
  ASSERT_RC(eddy_checkpoint(), -ECANCELED);
  ASSERT_RC(eddy_cancelled(), -ECANCELED);
  return 0;
}
static int r18_main(void *arg) {
  (void)arg;
  eddy_event_init(&sw_ev);
  eddy_event_set(&sw_ev);
  eddy_sem_init(&sem, 1, 0);
  eddy_lock_init(&lk);
  eddy_task *t;
  eddy_spawn(&t, ready_but_cancelled, NULL);
  return eddy_join(t, NULL);
}
TEST(R18_checkpoint_on_entry_even_when_ready) { ASSERT_EQ(eddy_run(r18_main, NULL), 0); }
