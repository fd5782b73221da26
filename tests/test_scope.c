/* test_scope.c: the core cancellation scopes: level-triggered cancellation
 * (R16), shields (R17), deadlines (R47, R50), cancellation reaching tasks
 * spawned under a scope, and misuse. The WITH-level rules are tested in the
 * with/timeout/group tests. */
#include "test.h"

static eddy_loop_opts vclock = {.virtual_clock = 1};

static int level_main(void *arg) {
  (void)arg;
  eddy_scope s;
  ASSERT_RC(eddy_scope_enter(&s, EDDY_FOREVER, 0), 0);
  eddy_scope_cancel(&s);
  ASSERT_RC(eddy_sleep(1), -ECANCELED);
  /* swallowed: the next blocking call fails again */
  ASSERT_RC(eddy_yield(), -ECANCELED);
  ASSERT(eddy_scope_cancelled(&s));
  ASSERT_EQ(eddy_scope_exit(&s), 2); /* cancelled explicitly */
  ASSERT_RC(eddy_yield(), 0);        /* outside it, all is well */
  return 0;
}
TEST(R16_cancellation_is_level_triggered) { ASSERT_EQ(eddy_run(level_main, NULL), 0); }

static int shield_main(void *arg) {
  (void)arg;
  eddy_scope outer, sh;
  eddy_scope_enter(&outer, EDDY_FOREVER, 0);
  eddy_scope_enter(&sh, EDDY_FOREVER, EDDY_SCOPE_SHIELD);
  eddy_scope_cancel(&outer);
  ASSERT_RC(eddy_sleep(EDDY_MSEC(2)), 0); /* shielded: completes */
  eddy_scope_exit(&sh);
  ASSERT_RC(eddy_sleep(EDDY_MSEC(2)), -ECANCELED); /* delivered after */
  eddy_scope_exit(&outer);
  return 0;
}
TEST(R17_shield_blocks_outer_cancellation) {
  ASSERT_EQ(eddy_run_opts(shield_main, NULL, &vclock), 0);
}

static int shield_wake_child(void *arg) {
  eddy_scope sh;
  eddy_scope_enter(&sh, EDDY_FOREVER, EDDY_SCOPE_SHIELD);
  int r = eddy_sleep(EDDY_MSEC(10)); /* parked when the cancel comes */
  *(int *)arg = r;
  eddy_scope_exit(&sh);
  return eddy_checkpoint();
}
static int shield_wake_main(void *arg) {
  (void)arg;
  int inner = -1, res = 0;
  eddy_task *t;
  eddy_spawn(&t, shield_wake_child, &inner);
  eddy_sleep(EDDY_MSEC(1));
  eddy_cancel(t); /* must not wake the shielded sleep */
  eddy_join(t, &res);
  ASSERT_RC(inner, 0);
  ASSERT_RC(res, -ECANCELED);
  return 0;
}
TEST(R17_parked_task_in_shield_not_woken) {
  ASSERT_EQ(eddy_run_opts(shield_wake_main, NULL, &vclock), 0);
}

static int deadline_main(void *arg) {
  (void)arg;
  eddy_scope s;
  eddy_time_t t0 = eddy_now();
  eddy_scope_enter(&s, t0 + EDDY_MSEC(10), 0);
  ASSERT_RC(eddy_sleep(EDDY_SEC(1)), -ECANCELED);
  ASSERT_EQ(eddy_now() - t0, EDDY_MSEC(10));
  ASSERT_EQ(eddy_scope_exit(&s), 1); /* its own deadline fired */
  /* past deadline: the non-blocking prefix runs, the first checkpoint fails */
  int side_effect = 0;
  eddy_scope_enter(&s, eddy_now() - 1, 0);
  side_effect = 1;
  ASSERT_RC(eddy_yield(), -ECANCELED);
  ASSERT_EQ(eddy_scope_exit(&s), 1);
  ASSERT_EQ(side_effect, 1);
  return 0;
}
TEST(R50_deadline_and_past_deadline) {
  ASSERT_EQ(eddy_run_opts(deadline_main, NULL, &vclock), 0);
}

static int resched_main(void *arg) {
  (void)arg;
  eddy_scope s;
  eddy_time_t t0 = eddy_now();
  eddy_scope_enter(&s, t0 + EDDY_MSEC(10), 0);
  eddy_scope_reschedule(&s, t0 + EDDY_MSEC(30));
  ASSERT_RC(eddy_sleep(EDDY_MSEC(20)), 0);
  eddy_scope_reschedule(&s, EDDY_FOREVER);
  ASSERT_RC(eddy_sleep(EDDY_SEC(20)), 0);
  eddy_scope_reschedule(&s, eddy_now() - 1); /* in the past: fires now */
  ASSERT(eddy_scope_cancelled(&s));
  ASSERT_EQ(eddy_scope_exit(&s), 1);
  return 0;
}
TEST(R47_reschedule_moves_deadline) {
  ASSERT_EQ(eddy_run_opts(resched_main, NULL, &vclock), 0);
}

static int misuse_main(void *arg) {
  (void)arg;
  eddy_scope a, b;
  eddy_scope_enter(&a, EDDY_FOREVER, 0);
  eddy_scope_enter(&b, EDDY_FOREVER, 0);
  ASSERT_RC(eddy_scope_exit(&a), -EINVAL); /* not the innermost */
  ASSERT_RC(eddy_scope_exit(&b), 0);
  ASSERT_RC(eddy_scope_exit(&a), 0);
  ASSERT_RC(eddy_scope_enter(NULL, EDDY_FOREVER, 0), -EINVAL);
  return 0;
}
TEST(scope_misuse_is_reported) {
  ASSERT_RC(eddy_scope_enter(NULL, 0, 0), EDDY_ENOTTASK);
  ASSERT_EQ(eddy_run(misuse_main, NULL), 0);
}

static int left_open_main(void *arg) {
  (void)arg;
  static eddy_scope a;
  eddy_scope_enter(&a, EDDY_FOREVER, 0);
  return 0; /* returns with the scope open: a programming error */
}
static void left_open_child(void *arg) {
  (void)arg;
  eddy_run(left_open_main, NULL);
}
TEST(returning_with_open_scope_aborts_with_message) {
  char buf[512];
  int st = run_in_child(left_open_child, NULL, buf, sizeof buf);
  ASSERT(WIFSIGNALED(st));
  ASSERT(strstr(buf, "returned with a scope still open") != NULL);
}

static int oom_main(void *arg) {
  (void)arg;
  eddy_scope s;
  eddy__fault_set(EDDY_SYS_ALLOC, 0, ENOMEM, 1); /* timer heap cannot grow */
  ASSERT_RC(eddy_scope_enter(&s, eddy_now() + EDDY_SEC(1), 0), -ENOMEM);
  eddy__fault_set(EDDY_SYS_ALLOC, 0, ENOMEM, 1);
  ASSERT_RC(eddy_sleep(EDDY_SEC(1)), -ENOMEM);
  ASSERT_RC(eddy_sleep(EDDY_MSEC(1)), 0);
  return 0;
}
TEST(timer_heap_out_of_memory) { ASSERT_EQ(eddy_run_opts(oom_main, NULL, &vclock), 0); }

static int many_timers_main(void *arg) {
  (void)arg;
  /* arm and cancel many scopes out of order: the heap stays consistent */
  enum { N = 500 };
  static eddy_scope s[N];
  eddy_time_t now = eddy_now();
  for (int i = 0; i < N; i++)
    eddy_scope_enter(&s[i], now + EDDY_MSEC(1 + (i * 7919) % 1000), 0);
  for (int i = 0; i < N; i += 3) eddy_scope_reschedule(&s[i], now + EDDY_SEC(5));
  ASSERT_RC(eddy_sleep(EDDY_MSEC(2000)), -ECANCELED);
  for (int i = N - 1; i >= 0; i--) eddy_scope_exit(&s[i]);
  ASSERT_RC(eddy_sleep(EDDY_MSEC(1)), 0);
  return 0;
}
TEST(timer_heap_many_out_of_order) {
  ASSERT_EQ(eddy_run_opts(many_timers_main, NULL, &vclock), 0);
}
