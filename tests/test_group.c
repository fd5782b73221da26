/* test_group.c: task groups (R53-R58) and exit stacks (R42, R43). */
#include "test.h"

static eddy_loop_opts vclock = {.virtual_clock = 1};
static test_log L;

static int sleeper(void *arg) {
  int ms = (int)(intptr_t)arg;
  int r = eddy_sleep(EDDY_MSEC(ms));
  LOG(&L, "child%d %s", ms, eddy_errname(r));
  return r;
}
static int failer(void *arg) {
  eddy_sleep(EDDY_MSEC(1));
  return (int)(intptr_t)arg;
}

static int r53_body(eddy_taskgroup *tg) {
  EDDY_WITH(g, &eddy_taskgroup_cm, tg);
  if (g.status) return g.status;
  eddy_taskgroup_spawn(tg, sleeper, (void *)5, NULL);
  return 0; /* return inside the block: exit still waits */
}
static int r53_main(void *arg) {
  (void)arg;
  eddy_taskgroup tg;
  eddy_taskgroup_init(&tg);
  r53_body(&tg);
  LOG(&L, "returned");
  ASSERT_RC(eddy_taskgroup_spawn(&tg, sleeper, (void *)1, NULL), EDDY_ECLOSED);
  eddy_taskgroup_fini(&tg);
  return 0;
}
TEST(R53_exit_waits_for_children_after_return) {
  ASSERT_EQ(eddy_run_opts(r53_main, NULL, &vclock), 0);
  ASSERT_STR(L.buf, "child5 OK returned");
}

static int r54_main(void *arg) {
  int which = (int)(intptr_t)arg;
  eddy_taskgroup tg;
  eddy_taskgroup_init(&tg);
  int r;
  {
    EDDY_WITH(g, &eddy_taskgroup_cm, &tg);
    eddy_taskgroup_spawn(&tg, sleeper, (void *)100, NULL);
    if (which == 0) eddy_taskgroup_spawn(&tg, failer, (void *)-EIO, NULL);
    int body = eddy_sleep(EDDY_MSEC(50));
    LOG(&L, "body %s", eddy_errname(body));
    r = eddy_with_close(&g, which == 1 ? -EBADF : body);
  }
  eddy_taskgroup_fini(&tg);
  return r;
}
TEST(R54_child_failure_cancels_siblings_and_body) {
  memset(&L, 0, sizeof L);
  ASSERT_RC(eddy_run_opts(r54_main, (void *)0, &vclock), -EIO);
  ASSERT(strstr(L.buf, "child100 ECANCELED") && strstr(L.buf, "body ECANCELED"));
}
TEST(R54_body_failure_cancels_children) {
  memset(&L, 0, sizeof L);
  ASSERT_RC(eddy_run_opts(r54_main, (void *)1, &vclock), -EBADF);
  ASSERT_STR(L.buf, "body OK child100 ECANCELED");
}
static int r54ext_child(void *arg) {
  (void)arg;
  return r54_main((void *)2);
}
static int r54ext_main(void *arg) {
  (void)arg;
  eddy_task *t;
  eddy_spawn(&t, r54ext_child, NULL);
  eddy_sleep(EDDY_MSEC(2));
  eddy_cancel(t);
  int res = 0;
  eddy_join(t, &res);
  return res;
}
TEST(R54_external_cancel_gives_ecanceled) {
  memset(&L, 0, sizeof L);
  ASSERT_RC(eddy_run_opts(r54ext_main, NULL, &vclock), -ECANCELED);
}

static int r55_main(void *arg) {
  (void)arg;
  eddy_taskgroup tg;
  eddy_taskgroup_init(&tg);
  int r;
  {
    EDDY_WITH(g, &eddy_taskgroup_cm, &tg);
    eddy_spawn_opts a = {.name = "a"}, b = {.name = "b"}, c = {.name = "c"};
    eddy_taskgroup_spawn(&tg, failer, (void *)-EIO, &a);
    eddy_taskgroup_spawn(&tg, failer, (void *)-ENOSPC, &b);
    eddy_taskgroup_spawn(&tg, sleeper, (void *)100, &c);
    r = eddy_with_close(&g, 0);
  }
  ASSERT_RC(r, EDDY_EMULTI);
  size_t n;
  const eddy_child_result *res = eddy_taskgroup_results(&tg, &n);
  ASSERT_EQ(n, 3);
  int eio = 0, enospc = 0, cancelled = 0;
  for (size_t i = 0; i < n; i++) {
    eio += res[i].result == -EIO && !strcmp(res[i].name, "a");
    enospc += res[i].result == -ENOSPC && !strcmp(res[i].name, "b");
    cancelled += res[i].result == -ECANCELED;
  }
  ASSERT_EQ(eio + enospc + cancelled, 3); /* both failures retrievable */
  eddy_taskgroup_fini(&tg);
  return 0;
}
TEST(R55_several_errors_enumerated) {
  memset(&L, 0, sizeof L);
  ASSERT_EQ(eddy_run_opts(r55_main, NULL, &vclock), 0);
}

static int nested_inner(void *arg) {
  (void)arg;
  eddy_taskgroup tg;
  eddy_taskgroup_init(&tg);
  int r;
  {
    EDDY_WITH(g, &eddy_taskgroup_cm, &tg);
    eddy_taskgroup_spawn(&tg, failer, (void *)-EPIPE, NULL);
    eddy_taskgroup_spawn(&tg, sleeper, (void *)100, NULL);
    r = eddy_with_close(&g, 0);
  }
  eddy_taskgroup_fini(&tg);
  return r;
}
static int r56_main(void *arg) {
  (void)arg;
  eddy_taskgroup outer;
  eddy_taskgroup_init(&outer);
  int r;
  {
    EDDY_WITH(g, &eddy_taskgroup_cm, &outer);
    eddy_taskgroup_spawn(&outer, nested_inner, NULL, NULL);
    eddy_taskgroup_spawn(&outer, failer, (void *)-EIO, NULL);
    r = eddy_with_close(&g, eddy_sleep(EDDY_SEC(1)));
  }
  /* each group handled its own children; the inner's EPIPE is a real
   * failure of a child of the outer group too */
  size_t n;
  const eddy_child_result *res = eddy_taskgroup_results(&outer, &n);
  ASSERT_EQ(n, 2);
  int epipe = 0, eio = 0;
  for (size_t i = 0; i < n; i++) {
    epipe += res[i].result == -EPIPE;
    eio += res[i].result == -EIO;
  }
  ASSERT_EQ(epipe + eio, 2);
  ASSERT_RC(r, EDDY_EMULTI);
  eddy_taskgroup_fini(&outer);
  return 0;
}
TEST(R56_nested_groups_internal_vs_external) { ASSERT_EQ(eddy_run_opts(r56_main, NULL, &vclock), 0); }

static int r57_main(void *arg) {
  (void)arg;
  eddy_timeout t;
  eddy_timeout_in(&t, EDDY_MSEC(10), 0);
  eddy_taskgroup tg;
  eddy_taskgroup_init(&tg);
  int r;
  {
    EDDY_WITH(gt, &eddy_timeout_cm, &t); /* a deadline outside the group */
    {
      EDDY_WITH(g, &eddy_taskgroup_cm, &tg);
      eddy_taskgroup_spawn(&tg, sleeper, (void *)1000, NULL);
      r = eddy_with_close(&g, 0);
    }
    r = eddy_with_close(&gt, r);
  }
  ASSERT_RC(r, -ETIMEDOUT); /* the child was inside the timeout */
  eddy_taskgroup_fini(&tg);
  /* a deadline around the spawn call alone does not apply to the child */
  memset(&L, 0, sizeof L);
  eddy_taskgroup tg2;
  eddy_taskgroup_init(&tg2);
  {
    EDDY_WITH(g, &eddy_taskgroup_cm, &tg2);
    eddy_timeout t2;
    eddy_timeout_in(&t2, EDDY_MSEC(1), 0);
    {
      EDDY_WITH(gt, &eddy_timeout_cm, &t2);
      eddy_taskgroup_spawn(&tg2, sleeper, (void *)20, NULL);
    }
  }
  ASSERT_STR(L.buf, "child20 OK");
  eddy_taskgroup_fini(&tg2);
  return 0;
}
TEST(R57_children_inherit_group_scopes) { ASSERT_EQ(eddy_run_opts(r57_main, NULL, &vclock), 0); }

static int ready_child(void *arg) {
  int mode = (int)(intptr_t)arg;
  eddy_sleep(EDDY_MSEC(2));
  if (mode == 1) return -EADDRINUSE; /* fails before ready */
  if (mode == 2) return 0;           /* returns without saying ready */
  eddy_task_started("port 8080");
  return eddy_sleep(EDDY_MSEC(5));
}
static int r58_main(void *arg) {
  (void)arg;
  eddy_taskgroup tg;
  eddy_taskgroup_init(&tg);
  {
    EDDY_WITH(g, &eddy_taskgroup_cm, &tg);
    void *v = NULL;
    ASSERT_RC(eddy_taskgroup_start(&tg, ready_child, (void *)0, NULL, &v), 0);
    ASSERT_STR((char *)v, "port 8080");
    ASSERT_RC(eddy_taskgroup_start(&tg, ready_child, (void *)1, NULL, &v), -EADDRINUSE);
    eddy_with_fail(&g, 0);
  }
  eddy_taskgroup_fini(&tg);
  eddy_taskgroup tg2;
  eddy_taskgroup_init(&tg2);
  {
    EDDY_WITH(g, &eddy_taskgroup_cm, &tg2);
    ASSERT_RC(eddy_taskgroup_start(&tg2, ready_child, (void *)2, NULL, NULL), EDDY_EPROTOCOL);
  }
  eddy_taskgroup_fini(&tg2);
  ASSERT_RC(eddy_task_started(NULL), -EINVAL); /* not being started */
  return 0;
}
TEST(R58_spawn_waits_for_readiness) { ASSERT_EQ(eddy_run_opts(r58_main, NULL, &vclock), 0); }

/* ---------------------------------------------------------------- F */
typedef struct logcm {
  const char *name;
  int enter_rc, exit_mode, exit_rc;
} logcm;
static int log_enter(void *self, void **value) {
  logcm *m = self;
  LOG(&L, "enter %s", m->name);
  *value = m;
  return m->enter_rc;
}
static int log_exit(void *self, int status) {
  logcm *m = self;
  LOG(&L, "exit %s %s", m->name, eddy_errname(status));
  return m->exit_mode == 0 ? status : m->exit_mode == 1 ? 0 : m->exit_rc;
}
static const eddy_cm_ops log_ops = {log_enter, log_exit, 0};
static void cb(void *arg, int status) { LOG(&L, "callback %s %s", (char *)arg, eddy_errname(status)); }

static int r42_main(void *arg) {
  int which = (int)(intptr_t)arg;
  logcm x = {.name = "x", .exit_mode = 2, .exit_rc = -EIO};
  logcm y = {.name = "y"}, z = {.name = "z", .exit_mode = 1};
  logcm p = {.name = "p"}, q = {.name = "q", .enter_rc = -EINVAL};
  eddy_exitstack st;
  eddy_exitstack_init(&st);
  EDDY_WITH(g, &eddy_exitstack_cm, &st);
  if (which == 0) {
    eddy_exitstack_callback(&st, cb, "first-registered");
    eddy_exitstack_enter(&st, &log_ops, &x, NULL);
    eddy_exitstack_enter(&st, &log_ops, &y, NULL);
    eddy_exitstack_enter(&st, &log_ops, &z, NULL);
    return eddy_with_close(&g, -ENOENT); /* z suppresses; x fails */
  }
  eddy_exitstack_enter(&st, &log_ops, &p, NULL);
  int r = eddy_exitstack_enter(&st, &log_ops, &q, NULL);
  return eddy_with_close(&g, r); /* unwinds p with q's error */
}
TEST(R42_exit_stack_like_nested_with) {
  memset(&L, 0, sizeof L);
  ASSERT_RC(eddy_run(r42_main, (void *)0), -EIO);
  ASSERT_STR(L.buf, "enter x enter y enter z exit z ENOENT exit y OK exit x OK "
                    "callback first-registered EIO");
}
TEST(R42_exit_stack_partial_enter_unwinds) {
  memset(&L, 0, sizeof L);
  ASSERT_RC(eddy_run(r42_main, (void *)1), -EINVAL);
  ASSERT_STR(L.buf, "enter p enter q exit p EINVAL");
}

static int r43_main(void *arg) {
  (void)arg;
  logcm kept = {.name = "kept"};
  eddy_exitstack later;
  eddy_exitstack_init(&later);
  {
    eddy_exitstack st;
    eddy_exitstack_init(&st);
    EDDY_WITH(g, &eddy_exitstack_cm, &st);
    eddy_exitstack_enter(&st, &log_ops, &kept, NULL);
    ASSERT_RC(eddy_exitstack_transfer(&st, &later), 0); /* pop_all */
    LOG(&L, "block ended");
  }
  ASSERT_RC(eddy_exitstack_close(&later, 0), 0);
  ASSERT_RC(eddy_exitstack_transfer(NULL, &later), -EINVAL);
  eddy_exitstack tiny;
  eddy_exitstack_init(&tiny);
  tiny.max = 1;
  ASSERT_RC(eddy_exitstack_callback(&tiny, cb, "a"), 0);
  ASSERT_RC(eddy_exitstack_callback(&tiny, cb, "b"), -ENOSPC); /* explicit limit */
  eddy_exitstack_close(&tiny, 0);
  return 0;
}
TEST(R43_transfer_then_close_later) {
  memset(&L, 0, sizeof L);
  ASSERT_EQ(eddy_run(r43_main, NULL), 0);
  ASSERT_STR(L.buf, "enter kept block ended exit kept OK callback a OK");
}
