/* test_timeout.c: timeouts as scopes, rules R47-R52 (spec section H). */
#include "test.h"

static eddy_loop_opts vclock = {.virtual_clock = 1};

static int run_timeout(eddy_timeout *t, eddy_time_t sleep_for, int *inner) {
  EDDY_WITH(g, &eddy_timeout_cm, t);
  if (g.status) return g.status;
  int r = eddy_sleep(sleep_for);
  if (inner) *inner = r;
  return eddy_with_close(&g, r);
}

static int r47_main(void *arg) {
  (void)arg;
  eddy_timeout t;
  eddy_timeout_in(&t, EDDY_MSEC(10), 0); /* relative: measured from enter */
  eddy_sleep(EDDY_MSEC(50));             /* late enter */
  eddy_time_t t0 = eddy_now();
  ASSERT_RC(run_timeout(&t, EDDY_MSEC(8), NULL), 0);
  ASSERT_EQ(eddy_timeout_deadline(&t), t0 + EDDY_MSEC(10));
  /* reschedule extends it */
  eddy_timeout t2;
  eddy_timeout_in(&t2, EDDY_MSEC(10), 0);
  {
    EDDY_WITH(g, &eddy_timeout_cm, &t2);
    eddy_timeout_reschedule(&t2, eddy_now() + EDDY_MSEC(30));
    ASSERT_RC(eddy_sleep(EDDY_MSEC(20)), 0);
  }
  ASSERT(!t2.expired);
  /* absolute form, and "no deadline" never fires */
  eddy_timeout t3;
  eddy_timeout_at(&t3, eddy_now() + EDDY_MSEC(5), 0);
  ASSERT_RC(run_timeout(&t3, EDDY_SEC(1), NULL), -ETIMEDOUT);
  eddy_timeout t4;
  eddy_timeout_in(&t4, EDDY_FOREVER, 0);
  ASSERT_RC(run_timeout(&t4, EDDY_SEC(3600), NULL), 0);
  return 0;
}
TEST(R47_deadline_forms_and_reschedule) { ASSERT_EQ(eddy_run_opts(r47_main, NULL, &vclock), 0); }

static int r48_main(void *arg) {
  (void)arg;
  eddy_timeout t;
  int inner = 0;
  eddy_timeout_in(&t, EDDY_MSEC(5), 0);
  ASSERT_RC(run_timeout(&t, EDDY_SEC(1), &inner), -ETIMEDOUT); /* fail variant */
  ASSERT_RC(inner, -ECANCELED);                                /* inside */
  ASSERT(t.expired);
  eddy_timeout m;
  eddy_timeout_in(&m, EDDY_MSEC(5), 1);
  ASSERT_RC(run_timeout(&m, EDDY_SEC(1), &inner), 0); /* move on */
  ASSERT(m.caught);
  ASSERT_RC(eddy_sleep(1), 0); /* code after a move-on scope runs normally */
  return 0;
}
TEST(R48_expiry_converts_at_exit) { ASSERT_EQ(eddy_run_opts(r48_main, NULL, &vclock), 0); }

static int r49_main(void *arg) {
  int which = (int)(intptr_t)arg;
  eddy_timeout outer, inner;
  eddy_timeout_in(&outer, which == 0 ? EDDY_SEC(10) : EDDY_MSEC(5), 0);
  eddy_timeout_in(&inner, which == 0 ? EDDY_MSEC(5) : EDDY_SEC(10), 0);
  int ri, ro;
  {
    EDDY_WITH(go, &eddy_timeout_cm, &outer);
    {
      EDDY_WITH(gi, &eddy_timeout_cm, &inner);
      ri = eddy_with_close(&gi, eddy_sleep(EDDY_SEC(100)));
    }
    if (which == 0) ASSERT_RC(eddy_sleep(EDDY_MSEC(1)), 0); /* outer still running */
    ro = eddy_with_close(&go, ri);
  }
  if (which == 0) {
    ASSERT_RC(ri, -ETIMEDOUT); /* inner handled by inner only */
    ASSERT_RC(ro, -ETIMEDOUT); /* passes out as an ordinary error */
  } else {
    ASSERT_RC(ri, -ECANCELED); /* outer's expiry passes through inner */
    ASSERT_RC(ro, -ETIMEDOUT);
    ASSERT(!inner.expired);
  }
  return 0;
}
TEST(R49_inner_expiry_only_inner_converts) { ASSERT_EQ(eddy_run_opts(r49_main, (void *)0, &vclock), 0); }
TEST(R49_outer_expiry_passes_inner) { ASSERT_EQ(eddy_run_opts(r49_main, (void *)1, &vclock), 0); }

static int ext_child(void *arg) {
  (void)arg;
  eddy_timeout t;
  eddy_timeout_in(&t, EDDY_SEC(10), 0);
  return run_timeout(&t, EDDY_SEC(100), NULL);
}
static int r49ext_main(void *arg) {
  (void)arg;
  eddy_task *c;
  eddy_spawn(&c, ext_child, NULL);
  eddy_sleep(EDDY_MSEC(1));
  eddy_cancel(c);
  int res = 0;
  eddy_join(c, &res);
  ASSERT_RC(res, -ECANCELED); /* not converted to a timeout */
  return 0;
}
TEST(R49_external_cancel_not_converted) { ASSERT_EQ(eddy_run_opts(r49ext_main, NULL, &vclock), 0); }

static int r50_main(void *arg) {
  (void)arg;
  eddy_timeout t;
  eddy_timeout_at(&t, eddy_now() - 1, 0);
  int prefix = 0, r;
  {
    EDDY_WITH(g, &eddy_timeout_cm, &t);
    ASSERT_RC(g.status, 0); /* not at enter */
    prefix = 1;
    r = eddy_with_close(&g, eddy_yield()); /* the first blocking call */
  }
  ASSERT_EQ(prefix, 1);
  ASSERT_RC(r, -ETIMEDOUT);
  return 0;
}
TEST(R50_past_deadline_fires_at_first_blocking_call) { ASSERT_EQ(eddy_run(r50_main, NULL), 0); }

static int r51_main(void *arg) {
  (void)arg;
  eddy_timeout t;
  eddy_timeout_in(&t, EDDY_MSEC(1), 0);
  int r;
  {
    EDDY_WITH(g, &eddy_timeout_cm, &t);
    eddy_time_t until = eddy_now() + EDDY_MSEC(3);
    while (eddy_now() < until) { /* busy, never blocks */ }
    r = eddy_with_close(&g, 0);
  }
  ASSERT_RC(r, 0);  /* no timeout invented after the fact */
  ASSERT(t.expired); /* but observable */
  return 0;
}
TEST(R51_no_timeout_invented) { ASSERT_EQ(eddy_run(r51_main, NULL), 0); }

static int r52_main(void *arg) {
  (void)arg;
  eddy_timeout t;
  eddy_timeout_in(&t, EDDY_MSEC(5), 0);
  int r, again;
  {
    EDDY_WITH(g, &eddy_timeout_cm, &t);
    eddy_sleep(EDDY_SEC(1)); /* -ECANCELED, swallowed */
    again = eddy_sleep(EDDY_SEC(1));
    r = eddy_with_close(&g, 0);
  }
  ASSERT_RC(again, -ECANCELED); /* further blocking calls keep failing */
  ASSERT_RC(r, -ETIMEDOUT);     /* and the scope still reports the timeout */
  return 0;
}
TEST(R52_swallowing_does_not_defeat_timeout) { ASSERT_EQ(eddy_run_opts(r52_main, NULL, &vclock), 0); }

static int r51b_main(void *arg) {
  (void)arg;
  eddy_timeout t;
  eddy_timeout_at(&t, eddy_now() - 1, 0); /* already past at enter */
  int r;
  {
    EDDY_WITH(g, &eddy_timeout_cm, &t);
    r = eddy_with_close(&g, 0); /* the body never reaches a checkpoint */
  }
  ASSERT_RC(r, 0); /* nothing was delivered, so nothing is converted */
  ASSERT(t.expired);
  return 0;
}
TEST(R51_past_deadline_without_checkpoint_is_not_a_timeout) {
  ASSERT_EQ(eddy_run(r51b_main, NULL), 0);
}
