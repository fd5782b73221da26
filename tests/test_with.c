/* test_with.c: `async with` in C: one test per rule of the spec's sections
 * A, B and K (R1-R17, R63-R66), named after the rule. */
#include "test.h"

static eddy_loop_opts vclock = {.virtual_clock = 1};
static test_log L;

/* A manager that logs, with configurable enter failure and exit policy. */
typedef struct logcm {
  const char *name;
  int enter_rc;
  int exit_mode; /* 0 propagate, 1 suppress, 2 return exit_rc */
  int exit_rc;
  eddy_time_t exit_sleep;
  int exits;
} logcm;

static int log_enter(void *self, void **value) {
  logcm *m = self;
  LOG(&L, "enter %s", m->name);
  *value = m;
  return m->enter_rc;
}
static int log_exit(void *self, int status) {
  logcm *m = self;
  m->exits++;
  LOG(&L, "exit %s %s", m->name, eddy_errname(status));
  if (m->exit_sleep) {
    int r = eddy_sleep(m->exit_sleep);
    LOG(&L, "exit-slept %s", eddy_errname(r));
  }
  return m->exit_mode == 0 ? status : m->exit_mode == 1 ? 0 : m->exit_rc;
}
static const eddy_cm_ops log_ops = {log_enter, log_exit, 0};

static void reset(void) { memset(&L, 0, sizeof L); }

/* ---------------------------------------------------------------- A */

static int r1_main(void *arg) {
  (void)arg;
  logcm m = {.name = "cm", .enter_rc = -EIO};
  {
    EDDY_WITH(g, &log_ops, &m);
    ASSERT_RC(g.status, -EIO);
    if (g.status) goto out;
    LOG(&L, "body");
  }
out:
  ASSERT_EQ(m.exits, 0);
  return 0;
}
TEST(R1_enter_failure_no_exit) {
  ASSERT_EQ(eddy_run(r1_main, NULL), 0);
  ASSERT_STR(L.buf, "enter cm");
}

static int exits_after(int how, logcm *m) {
  for (int i = 0; i < 2; i++) {
    EDDY_WITH(g, &log_ops, m);
    if (how == 0) break;
    if (how == 1) continue;
    if (how == 2) return 7;
    if (how == 3) goto done;
  }
done:
  return 0;
}
static int r2_main(void *arg) {
  (void)arg;
  for (int how = 0; how < 4; how++) {
    logcm m = {.name = "cm"};
    int r = exits_after(how, &m);
    ASSERT_EQ(m.exits, how == 1 ? 2 : 1); /* exactly once per entry */
    if (how == 2) ASSERT_EQ(r, 7);
  }
  logcm m = {.name = "ft"};
  { EDDY_WITH(g, &log_ops, &m); }
  ASSERT_EQ(m.exits, 1);
  return 0;
}
TEST(R2_exit_once_on_every_path) { ASSERT_EQ(eddy_run(r2_main, NULL), 0); }

static int r3_main(void *arg) {
  (void)arg;
  logcm m = {.name = "cm"};
  EDDY_WITH(g, &log_ops, &m);
  if (g.status) return g.status;
  void *bound = g.value; /* bound only after enter succeeded */
  if (bound != &m) return eddy_with_close(&g, -EINVAL);
  return eddy_with_close(&g, -EBADMSG); /* failure in the "binding" step */
}
TEST(R3_binding_failure_reaches_exit) {
  ASSERT_RC(eddy_run(r3_main, NULL), -EBADMSG);
  ASSERT_STR(L.buf, "enter cm exit cm EBADMSG");
}

static int r4_main(void *arg) {
  (void)arg;
  logcm m = {.name = "cm"};
  {
    EDDY_WITH(g, &log_ops, &m);
    eddy_with_fail(&g, -EPIPE); /* the block's error, then leave */
  }
  logcm m2 = {.name = "ret"};
  {
    EDDY_WITH(g, &log_ops, &m2); /* a plain return/fall-through: exit sees 0 */
  }
  return 0;
}
TEST(R4_exit_sees_outcome) {
  reset();
  ASSERT_EQ(eddy_run(r4_main, NULL), 0);
  ASSERT_STR(L.buf, "enter cm exit cm EPIPE enter ret exit ret OK");
}

static int r5_main(void *arg) {
  (void)arg;
  logcm sup = {.name = "sup", .exit_mode = 1};
  ASSERT_RC(({
              EDDY_WITH(g, &log_ops, &sup);
              eddy_with_close(&g, -EIO);
            }),
            0); /* suppressed */
  logcm prop = {.name = "prop"};
  ASSERT_RC(({
              EDDY_WITH(g, &log_ops, &prop);
              eddy_with_close(&g, -EIO);
            }),
            -EIO);
  int iters = 0;
  for (int i = 0; i < 3; i++) { /* break is honoured although exit returns 0 */
    EDDY_WITH(g, &log_ops, &sup);
    iters++;
    break;
  }
  ASSERT_EQ(iters, 1);
  return 0;
}
TEST(R5_suppress_and_propagate) { ASSERT_EQ(eddy_run(r5_main, NULL), 0); }

static int r6_main(void *arg) {
  (void)arg;
  logcm bad = {.name = "bad", .exit_mode = 2, .exit_rc = -ENOSPC};
  int r;
  {
    EDDY_WITH(g, &log_ops, &bad);
    r = eddy_with_close(&g, -EIO);
    ASSERT_RC(g.cleanup_error, -ENOSPC); /* kept, readable */
  }
  ASSERT_RC(r, -EIO); /* the body's error stays primary */
  {
    EDDY_WITH(g, &log_ops, &bad);
    r = eddy_with_close(&g, 0);
  }
  ASSERT_RC(r, -ENOSPC); /* clean body: exit's error is the result */
  ASSERT_RC(eddy_with_cleanup_error(), 0);
  { EDDY_WITH(g, &log_ops, &bad); } /* return path: goes to the task slot */
  ASSERT_RC(eddy_with_cleanup_error(), -ENOSPC);
  ASSERT_RC(eddy_with_cleanup_error(), 0); /* read once */
  logcm cancelling = {.name = "c", .exit_mode = 2, .exit_rc = -ECANCELED};
  {
    EDDY_WITH(g, &log_ops, &cancelling);
    r = eddy_with_close(&g, -EIO);
  }
  ASSERT_RC(r, -EIO); /* a cancellation from cleanup never replaces */
  return 0;
}
TEST(R6_error_precedence) { ASSERT_EQ(eddy_run(r6_main, NULL), 0); }

static int r7_main(void *arg) {
  int which = (int)(intptr_t)arg;
  logcm a = {.name = "a"}, b = {.name = "b"};
  if (which == 1) b.enter_rc = -EINVAL;
  if (which == 2) b.exit_mode = 1;
  if (which == 3) {
    b.exit_mode = 2;
    b.exit_rc = -ENOTSUP;
  }
  EDDY_WITH(ga, &log_ops, &a);
  EDDY_WITH(gb, &log_ops, &b);
  if (gb.status) return eddy_with_close(&ga, gb.status);
  LOG(&L, "body");
  int r = eddy_with_close(&gb, which >= 2 ? -EIO : 0);
  return eddy_with_close(&ga, r);
}
TEST(R7_nested_order) {
  reset();
  ASSERT_EQ(eddy_run(r7_main, (void *)0), 0);
  ASSERT_STR(L.buf, "enter a enter b body exit b OK exit a OK");
}
TEST(R7_inner_enter_fails) {
  reset();
  ASSERT_RC(eddy_run(r7_main, (void *)1), -EINVAL);
  ASSERT_STR(L.buf, "enter a enter b exit a EINVAL");
}
TEST(R7_inner_suppresses) {
  reset();
  ASSERT_RC(eddy_run(r7_main, (void *)2), 0);
  ASSERT_STR(L.buf, "enter a enter b body exit b EIO exit a OK");
}
TEST(R7_inner_exit_error_seen_by_outer) {
  reset();
  ASSERT_RC(eddy_run(r7_main, (void *)3), -EIO);
  /* the body's EIO stays primary; the inner cleanup error is kept */
  ASSERT_STR(L.buf, "enter a enter b body exit b EIO exit a EIO");
}

static int r8_main(void *arg) {
  (void)arg;
  logcm m = {.name = "cm", .exit_sleep = EDDY_MSEC(5)};
  eddy_time_t t0 = eddy_now();
  { EDDY_WITH(g, &log_ops, &m); }
  LOG(&L, "after");
  ASSERT_EQ(eddy_now() - t0, EDDY_MSEC(5));
  return 0;
}
TEST(R8_exit_may_suspend) {
  reset();
  ASSERT_EQ(eddy_run_opts(r8_main, NULL, &vclock), 0);
  ASSERT_STR(L.buf, "enter cm exit cm OK exit-slept OK after");
}

static int r9_main(void *arg) {
  (void)arg;
  eddy_timeout t;
  eddy_timeout_in(&t, EDDY_SEC(1), 0);
  { EDDY_WITH(g, &eddy_timeout_cm, &t); ASSERT_RC(g.status, 0); }
  { EDDY_WITH(g, &eddy_timeout_cm, &t); ASSERT_RC(g.status, -EBUSY); } /* reuse */
  eddy_cmgen cg;
  eddy_cmgen_init(&cg, NULL, NULL, 0);
  { EDDY_WITH(g, &eddy_cmgen_cm, &cg); ASSERT_RC(g.status, -EINVAL); }
  { EDDY_WITH(g, NULL, NULL); ASSERT_RC(g.status, -EINVAL); }
  return 0;
}
TEST(R9_single_use) { ASSERT_EQ(eddy_run(r9_main, NULL), 0); }

static eddy_local_key key;
static int r10_exit(void *self, int status) {
  (void)self;
  ASSERT_STR((char *)eddy_local_get(key), "body-value"); /* same task */
  return status;
}
static int noop_enter(void *self, void **value) {
  *value = self;
  return 0;
}
static const eddy_cm_ops r10_ops = {noop_enter, r10_exit, 0};
static int r10_main(void *arg) {
  (void)arg;
  eddy_local_key_create(&key, NULL);
  EDDY_WITH(g, &r10_ops, NULL);
  eddy_local_set(key, "body-value");
  return 0;
}
TEST(R10_exit_runs_in_body_task) { ASSERT_EQ(eddy_run(r10_main, NULL), 0); }

/* ---- R11: generator-style managers */
static int gen_resource(eddy_cmgen *g, void *arg) {
  int mode = (int)(intptr_t)arg;
  LOG(&L, "setup");
  if (mode == 1) return -ENOENT; /* no yield: enter error */
  if (mode == 2) return 0;       /* no yield, no error: protocol error */
  if (mode == 5) {               /* P7: a scope absorbs its own cancel */
    eddy_scope s;
    eddy_scope_enter(&s, EDDY_FOREVER, 0);
    eddy_scope_cancel(&s);
    int r = eddy_sleep(EDDY_MSEC(1));
    eddy_scope_exit(&s);
    return r; /* -ECANCELED: an error, not "didn't yield" */
  }
  int status = eddy_cmgen_yield(g, "resource");
  LOG(&L, "teardown %s", eddy_errname(status));
  if (mode == 3) {
    int r = eddy_cmgen_yield(g, "again"); /* second yield */
    LOG(&L, "second %s", eddy_errname(r));
    return 0;
  }
  if (mode == 4) return 0; /* swallow: suppress */
  return status;
}
static int r11_main(void *arg) {
  int mode = (int)(intptr_t)arg;
  eddy_cmgen cg;
  eddy_cmgen_init(&cg, gen_resource, (void *)(intptr_t)mode, 0);
  EDDY_WITH(g, &eddy_cmgen_cm, &cg);
  if (g.status) return g.status;
  LOG(&L, "body %s", (char *)g.value);
  return eddy_with_close(&g, mode == 0 ? 0 : -EIO);
}
TEST(R11_cmgen_yields_into_block) {
  reset();
  ASSERT_RC(eddy_run(r11_main, (void *)0), 0);
  ASSERT_STR(L.buf, "setup body resource teardown OK");
}
TEST(R11_cmgen_no_yield_is_enter_error) {
  reset();
  ASSERT_RC(eddy_run(r11_main, (void *)1), -ENOENT);
  ASSERT_RC(eddy_run(r11_main, (void *)2), EDDY_EPROTOCOL);
}
TEST(R11_cmgen_second_yield_is_protocol_error) {
  reset();
  ASSERT_RC(eddy_run(r11_main, (void *)3), -EIO);
  ASSERT_STR(L.buf, "setup body resource teardown EIO second EDDY_ECLOSING");
}
TEST(R11_cmgen_swallow_suppresses) {
  reset();
  ASSERT_RC(eddy_run(r11_main, (void *)4), 0);
  ASSERT_STR(L.buf, "setup body resource teardown EIO");
}
TEST(R11_cmgen_inner_scope_absorbing_cancel_is_an_error) {
  reset();
  ASSERT_RC(eddy_run(r11_main, (void *)5), -ECANCELED);
}
static int r11_cancel_child(void *arg) {
  (void)arg;
  eddy_cmgen cg;
  eddy_cmgen_init(&cg, gen_resource, (void *)0, 0);
  EDDY_WITH(g, &eddy_cmgen_cm, &cg);
  return eddy_with_fail(&g, eddy_sleep(EDDY_SEC(10)));
}
static int r11_cancel_main(void *arg) {
  (void)arg;
  eddy_task *t;
  eddy_spawn(&t, r11_cancel_child, NULL);
  eddy_sleep(EDDY_MSEC(1));
  eddy_cancel(t);
  int res = 0;
  eddy_join(t, &res);
  return res;
}
TEST(R11_cmgen_cancellation_arrives_at_yield) {
  reset();
  ASSERT_EQ(eddy_run_opts(r11_cancel_main, NULL, &vclock), -ECANCELED);
  ASSERT_STR(L.buf, "setup teardown ECANCELED");
}

/* ---------------------------------------------------------------- B */

static int cancelled_body(void *arg) {
  logcm *m = arg;
  EDDY_WITH(g, &log_ops, m);
  return eddy_with_fail(&g, eddy_sleep(EDDY_SEC(10)));
}
static int cancel_child_main(void *arg) {
  logcm *m = arg;
  eddy_task *t;
  eddy_spawn(&t, cancelled_body, m);
  eddy_sleep(EDDY_MSEC(1));
  eddy_cancel(t);
  int res = 0;
  eddy_join(t, &res);
  return res;
}
TEST(R12_cancel_in_body_exit_sees_ecanceled) {
  reset();
  logcm m = {.name = "cm"};
  ASSERT_RC(eddy_run_opts(cancel_child_main, &m, &vclock), -ECANCELED);
  ASSERT_STR(L.buf, "enter cm exit cm ECANCELED");
}

static eddy_lock r13_lock;
static int r13_child(void *arg) {
  (void)arg;
  EDDY_WITH(g, &eddy_lock_cm, &r13_lock);
  return g.status;
}
static int r13_main(void *arg) {
  (void)arg;
  eddy_lock_init(&r13_lock);
  eddy_lock_acquire(&r13_lock);
  eddy_task *t;
  eddy_spawn(&t, r13_child, NULL);
  eddy_yield();
  eddy_cancel(t); /* cancelled during enter */
  int res = 0;
  eddy_join(t, &res);
  ASSERT_RC(res, -ECANCELED);
  ASSERT(r13_lock.owner == eddy_task_current()); /* no partial acquisition */
  eddy_lock_release(&r13_lock);
  return 0;
}
TEST(R13_cancel_during_enter) { ASSERT_EQ(eddy_run(r13_main, NULL), 0); }

static int r14_main(void *arg) {
  (void)arg;
  logcm a = {.name = "a"}, b = {.name = "b"}, c = {.name = "c"};
  EDDY_WITH(ga, &log_ops, &a);
  EDDY_WITH(gb, &log_ops, &b);
  EDDY_WITH(gc, &log_ops, &c);
  int r = eddy_with_close(&gc, -4242);
  r = eddy_with_close(&gb, r);
  return eddy_with_close(&ga, r);
}
TEST(R14_error_identity_through_exits) { ASSERT_EQ(eddy_run(r14_main, NULL), -4242); }

static int twostep_body(void *arg) {
  logcm *m = arg;
  EDDY_WITH(g, &log_ops, m);
  return eddy_with_fail(&g, eddy_sleep(EDDY_SEC(10)));
}
static int r15_main(void *arg) {
  int mode = (int)(intptr_t)arg;
  logcm m = {.name = "cm", .exit_sleep = mode == 0 ? EDDY_MSEC(5) : EDDY_SEC(100)};
  eddy_task *t;
  eddy_spawn(&t, twostep_body, &m);
  eddy_sleep(EDDY_MSEC(1));
  eddy_cancel(t);
  eddy_sleep(EDDY_MSEC(2));
  eddy_cancel(t); /* a second cancel does not abort the cleanup */
  int res = 0;
  eddy_join(t, &res);
  return res;
}
TEST(R15_cleanup_survives_two_cancels) {
  reset();
  ASSERT_RC(eddy_run_opts(r15_main, (void *)0, &vclock), -ECANCELED);
  ASSERT_STR(L.buf, "enter cm exit cm ECANCELED exit-slept OK");
}
TEST(R15_hanging_cleanup_cut_at_grace) {
  reset();
  eddy_loop_opts o = {.virtual_clock = 1, .grace = EDDY_SEC(2)};
  ASSERT_RC(eddy_run_opts(r15_main, (void *)1, &o), -ECANCELED);
  ASSERT_STR(L.buf, "enter cm exit cm ECANCELED exit-slept ECANCELED");
}
static int inner_timeout_exit(void *self, int status) {
  (void)self;
  eddy_timeout t;
  eddy_timeout_in(&t, EDDY_MSEC(3), 0);
  int r;
  {
    EDDY_WITH(g, &eddy_timeout_cm, &t);
    r = eddy_with_close(&g, eddy_sleep(EDDY_SEC(1)));
  }
  LOG(&L, "inner %s", eddy_errname(r));
  return status;
}
static const eddy_cm_ops inner_timeout_ops = {noop_enter, inner_timeout_exit, 0};
static int r15c_main(void *arg) {
  (void)arg;
  EDDY_WITH(g, &inner_timeout_ops, NULL);
  eddy_cancel(eddy_task_current());
  return 0;
}
TEST(R15_cleanup_inner_timeout_still_fires) {
  reset();
  ASSERT_EQ(eddy_run_opts(r15c_main, NULL, &vclock), 0);
  ASSERT_STR(L.buf, "inner ETIMEDOUT");
}

static int r16_main(void *arg) {
  (void)arg;
  logcm sup = {.name = "sup", .exit_mode = 1};
  eddy_scope s;
  eddy_scope_enter(&s, EDDY_FOREVER, 0);
  eddy_scope_cancel(&s);
  {
    EDDY_WITH(g, &log_ops, &sup);
    eddy_with_fail(&g, eddy_sleep(1));
  } /* exit suppressed the ECANCELED ... */
  ASSERT_RC(eddy_sleep(1), -ECANCELED); /* ... but the scope stays cancelled */
  eddy_scope_exit(&s);
  return 0;
}
TEST(R16_swallowed_cancel_stays_in_force) { ASSERT_EQ(eddy_run(r16_main, NULL), 0); }

static int r17_child(void *arg) {
  (void)arg;
  int inner;
  eddy_shield sh;
  eddy_shield_init(&sh, EDDY_FOREVER);
  {
    EDDY_WITH(g, &eddy_shield_cm, &sh);
    inner = eddy_sleep(EDDY_MSEC(10)); /* completes despite the cancel */
  }
  LOG(&L, "inner %s", eddy_errname(inner));
  return eddy_sleep(1);
}
static int r17_main(void *arg) {
  (void)arg;
  eddy_task *t;
  eddy_spawn(&t, r17_child, NULL);
  eddy_sleep(EDDY_MSEC(1));
  eddy_cancel(t);
  int res = 0;
  eddy_join(t, &res); /* the caller waits for the shielded block */
  return res;
}
TEST(R17_shield_block) {
  reset();
  ASSERT_RC(eddy_run_opts(r17_main, NULL, &vclock), -ECANCELED);
  ASSERT_STR(L.buf, "inner OK");
}

/* ---------------------------------------------------------------- K */

static int r63_main(void *arg) {
  (void)arg;
  logcm m = {.name = "cm"};
  int n = 0;
  for (int i = 0; i < 5; i++) {
    EDDY_WITH(g, &log_ops, &m);
    if (i == 1) continue; /* the user's loop continues */
    if (i == 3) break;    /* the user's loop ends */
    n++;
  }
  ASSERT_EQ(n, 2);
  ASSERT_EQ(m.exits, 4);
  /* block form: break leaves the WITH block only */
  int rc = -1, after = 0;
  for (int i = 0; i < 2; i++) {
    EDDY_WITH_BLOCK(g, &log_ops, &m, &rc) {
      break;
    }
    after++;
  }
  ASSERT_EQ(after, 2);
  ASSERT_RC(rc, 0);
  logcm bad = {.name = "bad", .enter_rc = -EACCES};
  int ran = 0;
  EDDY_WITH_BLOCK(g, &log_ops, &bad, &rc) { ran = 1; }
  ASSERT_EQ(ran, 0);
  ASSERT_RC(rc, -EACCES);
  return 0;
}
TEST(R63_break_continue_in_with) { ASSERT_EQ(eddy_run(r63_main, NULL), 0); }

static int r66_main(void *arg) {
  (void)arg;
  logcm a = {.name = "a"}, b = {.name = "b"}, c = {.name = "c"};
  EDDY_WITH(g1, &log_ops, &a);
  EDDY_WITH(g2, &log_ops, &b);
  EDDY_WITH(g3, &log_ops, &c);
  return 0;
}
TEST(R66_reverse_declaration_order) {
  reset();
  ASSERT_EQ(eddy_run(r66_main, NULL), 0);
  ASSERT_STR(L.buf, "enter a enter b enter c exit c OK exit b OK exit a OK");
}

TEST(with_outside_task_is_enottask) {
  logcm m = {.name = "x"};
  EDDY_WITH(g, &log_ops, &m);
  ASSERT_RC(g.status, EDDY_ENOTTASK);
  ASSERT_RC(eddy_with_close(&g, 0), EDDY_ENOTTASK);
}

/* eddy_with_enter(), the function form the macros no longer call (they
 * enter in place), still enters, validates and pairs with cleanup. */
static int enter_function_main(void *arg) {
  (void)arg;
  logcm m = {.name = "f"};
  {
    eddy_with g __attribute__((cleanup(eddy_with_cleanup))) = eddy_with_enter(&log_ops, &m);
    ASSERT_RC(g.status, 0);
    ASSERT(g.value == &m);
    LOG(&L, "body");
  }
  ASSERT_EQ(m.exits, 1);
  logcm bad = {.name = "b", .enter_rc = -EIO};
  {
    eddy_with g __attribute__((cleanup(eddy_with_cleanup))) = eddy_with_enter(&log_ops, &bad);
    ASSERT_RC(g.status, -EIO);
  }
  ASSERT_EQ(bad.exits, 0);
  eddy_with n = eddy_with_enter(NULL, &m);
  ASSERT_RC(n.status, -EINVAL);
  ASSERT_RC(eddy_with_close(&n, 0), -EINVAL);
  return 0;
}
TEST(with_enter_function_enters_and_validates) {
  reset();
  ASSERT_EQ(eddy_run(enter_function_main, NULL), 0);
  ASSERT_STR(L.buf, "enter f body exit f OK enter b");
  logcm m = {.name = "x"};
  eddy_with g = eddy_with_enter(&log_ops, &m); /* outside a task */
  ASSERT_RC(g.status, EDDY_ENOTTASK);
  ASSERT_EQ(m.exits, 0);
}

static int lock_sem_main(void *arg) {
  (void)arg;
  eddy_lock l;
  eddy_lock_init(&l);
  eddy_sem s;
  eddy_sem_init(&s, 1, 1);
  {
    EDDY_WITH(gl, &eddy_lock_cm, &l);
    EDDY_WITH(gs, &eddy_sem_cm, &s);
    ASSERT(eddy_lock_held(&l));
    ASSERT_EQ(eddy_sem_value(&s), 0);
  }
  ASSERT(!eddy_lock_held(&l));
  ASSERT_EQ(eddy_sem_value(&s), 1);
  return 0;
}
TEST(lock_and_semaphore_managers) { ASSERT_EQ(eddy_run(lock_sem_main, NULL), 0); }

/* R64: cancellation and errors travel as return codes, never by longjmp:
 * a cancellation deep inside nested WITH blocks unwinds through every exit,
 * innermost first, and each exit sees it. */
static int r64_inner(int depth, logcm *m) {
  EDDY_WITH(g, &log_ops, &m[depth]);
  if (depth == 2) return eddy_with_close(&g, eddy_sleep(EDDY_SEC(10)));
  return eddy_with_close(&g, r64_inner(depth + 1, m));
}
static int r64_child(void *arg) { return r64_inner(0, arg); }
static int r64_main(void *arg) {
  (void)arg;
  logcm m[3] = {{.name = "0"}, {.name = "1"}, {.name = "2"}};
  eddy_task *t;
  eddy_spawn(&t, r64_child, m);
  eddy_sleep(EDDY_MSEC(1));
  eddy_cancel(t);
  int res = 0;
  eddy_join(t, &res);
  ASSERT_RC(res, -ECANCELED);
  for (int i = 0; i < 3; i++) ASSERT_EQ(m[i].exits, 1);
  return 0;
}
TEST(R64_cancellation_unwinds_as_return_codes) {
  reset();
  ASSERT_EQ(eddy_run_opts(r64_main, NULL, &vclock), 0);
  ASSERT_STR(L.buf, "enter 0 enter 1 enter 2 exit 2 ECANCELED exit 1 ECANCELED exit 0 ECANCELED");
}
