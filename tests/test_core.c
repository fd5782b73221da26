/* test_core.c: the loop and tasks: run, spawn, join, yield, sleep, the
 * virtual clock, task-local storage, names, dump, submit from threads, and
 * the errors of each. */
#include "test.h"

#include <fenv.h>
#include <pthread.h>

static int ret_arg(void *arg) { return (int)(intptr_t)arg; }

TEST(run_returns_main_result) {
  ASSERT_EQ(eddy_run(ret_arg, (void *)(intptr_t)42), 42);
  ASSERT_EQ(eddy_run(ret_arg, (void *)(intptr_t)-5), -5);
}

TEST(run_rejects_null_main) { ASSERT_RC(eddy_run(NULL, NULL), -EINVAL); }

static int nested_run(void *arg) {
  (void)arg;
  return eddy_run(ret_arg, NULL);
}
TEST(run_inside_run_is_ebusy) { ASSERT_RC(eddy_run(nested_run, NULL), -EBUSY); }

TEST(blocking_call_outside_task_is_enottask) {
  ASSERT_RC(eddy_yield(), EDDY_ENOTTASK);
  ASSERT_RC(eddy_sleep(1), EDDY_ENOTTASK);
  ASSERT_RC(eddy_spawn(NULL, ret_arg, NULL), EDDY_ENOTTASK);
  eddy_event e;
  eddy_event_init(&e);
  ASSERT_RC(eddy_event_wait(&e), EDDY_ENOTTASK);
  ASSERT_RC(eddy_checkpoint(), EDDY_ENOTTASK);
}

static int child_add(void *arg) {
  int *p = arg;
  eddy_yield();
  return *p + 1;
}
static int spawn_join_main(void *arg) {
  (void)arg;
  int v = 10, res = 0;
  eddy_task *t;
  ASSERT_RC(eddy_spawn(&t, child_add, &v), 0);
  ASSERT(!eddy_task_done(t));
  ASSERT_RC(eddy_join(t, &res), 0);
  ASSERT_EQ(res, 11);
  return 0;
}
TEST(spawn_join_returns_result) { ASSERT_EQ(eddy_run(spawn_join_main, NULL), 0); }

static test_log order_log;
static int logger(void *arg) {
  for (int i = 0; i < 3; i++) {
    LOG(&order_log, "%s%d", (char *)arg, i);
    eddy_yield();
  }
  return 0;
}
static int yield_main(void *arg) {
  (void)arg;
  eddy_spawn(NULL, logger, "a");
  eddy_spawn(NULL, logger, "b");
  return 0;
}
TEST(yield_round_robin_fifo) {
  ASSERT_EQ(eddy_run(yield_main, NULL), 0);
  ASSERT_STR(order_log.buf, "a0 b0 a1 b1 a2 b2");
}

/* The first task made ready while none is waits in a slot of its own,
 * ahead of the list: one made ready while others are goes behind all of
 * them, slot or list, and a task is never put ahead of one already
 * queued. */
static test_log ready_log;
static int ready_y(void *arg) {
  (void)arg;
  LOG(&ready_log, "y");
  return 0;
}
static int ready_x(void *arg) {
  (void)arg;
  LOG(&ready_log, "x");
  eddy_spawn(NULL, ready_y, NULL); /* main is queued: y goes behind it */
  return 0;
}
static int ready_letter(void *arg) {
  LOG(&ready_log, "%s", (char *)arg);
  return 0;
}
static int ready_main(void *arg) {
  (void)arg;
  eddy_spawn(NULL, ready_letter, "a"); /* nothing ready: the slot */
  eddy_spawn(NULL, ready_letter, "b"); /* the list, behind a */
  eddy_spawn(NULL, ready_letter, "c");
  eddy_yield();
  LOG(&ready_log, "m");
  eddy_spawn(NULL, ready_x, NULL); /* nothing ready again: the slot */
  eddy_yield();                    /* main goes to the list, behind x */
  LOG(&ready_log, "m");
  eddy_yield();
  LOG(&ready_log, "m");
  return 0;
}
TEST(ready_tasks_run_in_the_order_they_became_ready) {
  ASSERT_EQ(eddy_run(ready_main, NULL), 0);
  ASSERT_STR(ready_log.buf, "a b c m x m y m");
}

static int done_flag;
static int late(void *arg) {
  (void)arg;
  eddy_sleep(EDDY_MSEC(5));
  done_flag = 1;
  return 0;
}
static int unjoined_main(void *arg) {
  (void)arg;
  eddy_spawn(NULL, late, NULL); /* nobody keeps a handle (R46) */
  return 3;
}
TEST(R46_unjoined_task_still_completes) {
  ASSERT_EQ(eddy_run(unjoined_main, NULL), 3);
  ASSERT_EQ(done_flag, 1);
}

static int handle_not_joined_main(void *arg) {
  (void)arg;
  eddy_task *t;
  eddy_spawn(&t, ret_arg, NULL); /* handle kept, never joined: reaped at exit */
  return 0;
}
TEST(unjoined_handle_reaped_at_shutdown) {
  ASSERT_EQ(eddy_run(handle_not_joined_main, NULL), 0);
}

static int detach_main(void *arg) {
  (void)arg;
  eddy_task *t;
  eddy_spawn(&t, ret_arg, NULL);
  eddy_yield();
  ASSERT(eddy_task_done(t));
  eddy_detach(t); /* releases the finished task */
  eddy_spawn(&t, late, NULL);
  eddy_detach(t); /* released when it finishes */
  return 0;
}
TEST(detach_before_and_after_finish) { ASSERT_EQ(eddy_run(detach_main, NULL), 0); }

static int join_errors_main(void *arg) {
  (void)arg;
  ASSERT_RC(eddy_join(NULL, NULL), -EINVAL);
  ASSERT_RC(eddy_join(eddy_task_current(), NULL), -EDEADLK);
  ASSERT_RC(eddy_spawn(NULL, NULL, NULL), -EINVAL);
  return 0;
}
TEST(join_and_spawn_bad_arguments) { ASSERT_EQ(eddy_run(join_errors_main, NULL), 0); }

static int sleeper_forever(void *arg) {
  (void)arg;
  return eddy_sleep(EDDY_SEC(1000));
}
static int join_deadline_main(void *arg) {
  (void)arg;
  eddy_task *t;
  int res = 0;
  eddy_spawn(&t, sleeper_forever, NULL);
  eddy_time_t t0 = eddy_now();
  ASSERT_RC(eddy_join_until(t, &res, eddy_deadline_in(EDDY_MSEC(10))), -ETIMEDOUT);
  ASSERT(eddy_now() - t0 >= EDDY_MSEC(10));
  eddy_cancel(t);
  ASSERT_RC(eddy_join(t, &res), 0); /* handle still valid after timeout */
  ASSERT_RC(res, -ECANCELED);
  return 0;
}
TEST(join_deadline_keeps_handle) {
  eddy_loop_opts o = {.virtual_clock = 1};
  ASSERT_EQ(eddy_run_opts(join_deadline_main, NULL, &o), 0);
}

static int vclock_main(void *arg) {
  (void)arg;
  eddy_time_t t0 = eddy_now();
  ASSERT_RC(eddy_sleep(EDDY_SEC(3600)), 0);
  ASSERT_EQ(eddy_now() - t0, EDDY_SEC(3600)); /* exact, and instant */
  return 0;
}
TEST(virtual_clock_is_exact_and_instant) {
  eddy_loop_opts o = {.virtual_clock = 1};
  eddy_time_t real0 = eddy_now();
  ASSERT_EQ(eddy_run_opts(vclock_main, NULL, &o), 0);
  ASSERT(eddy_now() - real0 < EDDY_SEC(2));
}

static test_log sleep_log;
static int sleep_n(void *arg) {
  int ms = (int)(intptr_t)arg;
  eddy_sleep(EDDY_MSEC(ms));
  LOG(&sleep_log, "%d", ms);
  return 0;
}
static int sleep_sort_main(void *arg) {
  (void)arg;
  int v[] = {30, 10, 20, 0, 50, 40};
  for (int i = 0; i < 6; i++) eddy_spawn(NULL, sleep_n, (void *)(intptr_t)v[i]);
  return 0;
}
TEST(sleep_wakes_in_deadline_order) {
  eddy_loop_opts o = {.virtual_clock = 1};
  ASSERT_EQ(eddy_run_opts(sleep_sort_main, NULL, &o), 0);
  ASSERT_STR(sleep_log.buf, "0 10 20 30 40 50");
}

static int real_sleep_main(void *arg) {
  (void)arg;
  eddy_time_t t0 = eddy_now();
  ASSERT_RC(eddy_sleep(EDDY_MSEC(20)), 0);
  eddy_time_t d = eddy_now() - t0;
  ASSERT(d >= EDDY_MSEC(20));
  ASSERT(d < EDDY_MSEC(2000));
  return 0;
}
TEST(real_clock_sleep_not_early) { ASSERT_EQ(eddy_run(real_sleep_main, NULL), 0); }

/* R18: a sleep is a schedule point however short it is. A deadline that
 * passes after eddy_sleep_until's own look at the clock but before its
 * park (which then arms no timer and returns at once) still lets the
 * other ready tasks run. Deadlines 0-252 ns ahead land in that window in
 * a good share of the tries. (Tests that sleep a moment "so that another
 * task parks" rely on it: under valgrind the first park of a sleep can
 * outlast a 2 ms deadline.) */
static long ticks;
static int ticker(void *arg) {
  (void)arg;
  for (;;) {
    ticks++;
    if (eddy_yield()) return 0;
  }
}
static int short_sleep_main(void *arg) {
  (void)arg;
  eddy_task *t;
  ASSERT_RC(eddy_spawn(&t, ticker, NULL), 0);
  long missed = 0;
  for (int i = 0; i < 20000; i++) {
    long before = ticks;
    ASSERT_RC(eddy_sleep_until(eddy_now() + (i % 64) * 4), 0);
    if (ticks == before) missed++;
  }
  eddy_cancel(t);
  ASSERT_RC(eddy_join(t, NULL), 0);
  ASSERT_EQ(missed, 0);
  return 0;
}
TEST(R18_sleep_is_a_schedule_point_when_its_deadline_passes_on_the_way) {
  ASSERT_EQ(eddy_run(short_sleep_main, NULL), 0);
}

static void free_counter(void *p) { (*(int *)p)++; }
static int dtor_calls;
static eddy_local_key k1, k2[8];
static int locals_child(void *arg) {
  ASSERT(eddy_local_get(k1) == NULL); /* not inherited */
  ASSERT_RC(eddy_local_set(k1, arg), 0);
  for (int i = 0; i < 8; i++) ASSERT_RC(eddy_local_set(k2[i], &dtor_calls), 0);
  eddy_yield();
  ASSERT(eddy_local_get(k1) == arg);
  ASSERT(eddy_local_get(k2[7]) == &dtor_calls);
  return 0;
}
static int locals_main(void *arg) {
  (void)arg;
  ASSERT_RC(eddy_local_key_create(&k1, NULL), 0);
  for (int i = 0; i < 8; i++) ASSERT_RC(eddy_local_key_create(&k2[i], free_counter), 0);
  int a = 1, b = 2;
  eddy_spawn(NULL, locals_child, &a);
  eddy_spawn(NULL, locals_child, &b);
  ASSERT_RC(eddy_local_set(-1, NULL), -EINVAL);
  ASSERT_RC(eddy_local_set(100000, NULL), -EINVAL);
  return 0;
}
TEST(task_locals_per_task_with_destructors) {
  ASSERT_EQ(eddy_run(locals_main, NULL), 0);
  ASSERT_EQ(dtor_calls, 16); /* 8 keys x 2 tasks */
}

static int local_oom_main(void *arg) {
  (void)arg;
  eddy_local_key k[8];
  for (int i = 0; i < 8; i++) eddy_local_key_create(&k[i], NULL);
  eddy__fault_set(EDDY_SYS_ALLOC, 0, ENOMEM, 1);
  ASSERT_RC(eddy_local_set(k[7], &k), -ENOMEM);
  ASSERT_RC(eddy_local_set(k[7], &k), 0);
  return 0;
}
TEST(task_local_set_out_of_memory) { ASSERT_EQ(eddy_run(local_oom_main, NULL), 0); }

static int named(void *arg) {
  (void)arg;
  ASSERT_STR(eddy_task_name(eddy_task_current()), "worker-1");
  ASSERT_RC(eddy_task_set_name(eddy_task_current(),
                               "a-name-that-is-far-too-long-to-fit-in-the-slot"),
            -ENAMETOOLONG);
  ASSERT_RC(eddy_task_set_name(NULL, "x"), -EINVAL);
  return 0;
}
static int names_main(void *arg) {
  (void)arg;
  eddy_spawn_opts o = {.name = "worker-1"};
  eddy_task *t;
  ASSERT_RC(eddy_spawn_ex(&t, named, NULL, &o), 0);
  ASSERT(eddy_task_id(t) > eddy_task_id(eddy_task_current()));
  ASSERT_RC(eddy_join(t, NULL), 0);
  ASSERT_STR(eddy_task_name(eddy_task_current()), "main");
  return 0;
}
TEST(task_names_and_ids) { ASSERT_EQ(eddy_run(names_main, NULL), 0); }

static eddy_event dump_ev;
static int dump_waiter(void *arg) {
  (void)arg;
  return eddy_event_wait(&dump_ev);
}
static int dump_main(void *arg) {
  (void)arg;
  eddy_event_init(&dump_ev);
  eddy_spawn_opts o = {.name = "waiter"};
  eddy_spawn_ex(NULL, dump_waiter, NULL, &o);
  eddy_yield();
  char buf[2048] = {0};
  FILE *f = fmemopen(buf, sizeof buf - 1, "w");
  eddy_dump(f);
  fclose(f);
  ASSERT(strstr(buf, "'waiter' waiting, spawned at") != NULL);
  ASSERT(strstr(buf, "waiting in event") != NULL);
  ASSERT(strstr(buf, "test_core.c:") != NULL);
  ASSERT(strstr(buf, "'main' running") != NULL);
  eddy_event_set(&dump_ev);
  return 0;
}
TEST(dump_shows_spawn_site_and_wait) { ASSERT_EQ(eddy_run(dump_main, NULL), 0); }

static int dump_ready_main(void *arg) {
  (void)arg;
  for (int i = 0; i < 3; i++) eddy_spawn(NULL, ready_letter, "r");
  char buf[2048] = {0};
  FILE *f = fmemopen(buf, sizeof buf - 1, "w");
  eddy_dump(f);
  fclose(f);
  ASSERT(strstr(buf, "4 live task(s), 3 ready") != NULL); /* the slot's and the list's */
  return 0;
}
TEST(dump_counts_every_ready_task) { ASSERT_EQ(eddy_run(dump_ready_main, NULL), 0); }

/* ---- cross-thread submission */
static eddy_event sub_ev;
static int sub_value;
static void on_loop(void *arg) {
  sub_value = (int)(intptr_t)arg;
  eddy_event_set(&sub_ev);
  eddy_loop_release(eddy_loop_current());
}
static void *thread_fn(void *arg) {
  usleep(10000);
  ASSERT_RC(eddy_loop_submit(arg, on_loop, (void *)(intptr_t)77), 0);
  return NULL;
}
static int submit_main(void *arg) {
  (void)arg;
  eddy_event_init(&sub_ev);
  eddy_loop *loop = eddy_loop_current();
  eddy_loop_hold(loop);
  pthread_t th;
  pthread_create(&th, NULL, thread_fn, loop);
  ASSERT_RC(eddy_event_wait(&sub_ev), 0);
  ASSERT_EQ(sub_value, 77);
  pthread_join(th, NULL);
  ASSERT_RC(eddy_loop_submit(NULL, on_loop, NULL), -EINVAL);
  return 0;
}
TEST(submit_from_another_thread) { ASSERT_EQ(eddy_run(submit_main, NULL), 0); }

static int submit_oom_main(void *arg) {
  (void)arg;
  eddy__fault_set(EDDY_SYS_ALLOC, 0, ENOMEM, 1);
  ASSERT_RC(eddy_loop_submit(eddy_loop_current(), on_loop, NULL), -ENOMEM);
  return 0;
}
TEST(submit_out_of_memory) { ASSERT_EQ(eddy_run(submit_oom_main, NULL), 0); }

static int deadlock_waiter(void *arg) { return eddy_event_wait(arg); }
static int deadlock_main(void *arg) {
  (void)arg;
  eddy_event e;
  eddy_event_init(&e);
  eddy_task *t;
  eddy_spawn(&t, deadlock_waiter, &e);
  int res = 0;
  int r = eddy_join(t, &res); /* everyone waits forever: loop cancels */
  ASSERT_RC(r, -ECANCELED);
  eddy_cancel(t);
  ASSERT_RC(eddy_join(t, &res) == 0 || 1, 1);
  return 0;
}
TEST(deadlock_is_reported_and_cancelled) {
  ASSERT_RC(eddy_run(deadlock_main, NULL), 0);
}

/* A deadlock the cancellation cannot undo (the waiter is shielded) stops
 * the program with a message instead of reporting it forever. */
static int shielded_waiter(void *arg) {
  eddy_scope s;
  ASSERT_RC(eddy_scope_enter(&s, EDDY_FOREVER, EDDY_SCOPE_SHIELD), 0);
  int r = eddy_event_wait(arg);
  eddy_scope_exit(&s);
  return r;
}
static int shielded_deadlock_main(void *arg) {
  (void)arg;
  static eddy_event e;
  eddy_event_init(&e);
  eddy_spawn(NULL, shielded_waiter, &e);
  eddy_yield();
  return 0; /* the shielded task waits on; nothing can set the event */
}
static void shielded_deadlock_child(void *arg) {
  (void)arg;
  eddy_run(shielded_deadlock_main, NULL);
}
TEST(deadlock_nothing_can_cancel_stops_with_message) {
  char buf[16384];
  int st = run_in_child(shielded_deadlock_child, NULL, buf, sizeof buf);
  ASSERT(WIFSIGNALED(st));
  ASSERT_EQ(WTERMSIG(st), SIGABRT);
  ASSERT(strstr(buf, "no blocked task can be cancelled") != NULL);
}

TEST(strerror_and_names) {
  ASSERT_STR(eddy_strerror(-ECANCELED), "operation cancelled");
  ASSERT_STR(eddy_strerror(-ETIMEDOUT), "deadline reached");
  ASSERT_STR(eddy_errname(-ECANCELED), "ECANCELED");
  ASSERT_STR(eddy_errname(EDDY_DONE), "EDDY_DONE");
  ASSERT_STR(eddy_errname(EDDY_ENOGUARD), "EDDY_ENOGUARD");
  ASSERT_STR(eddy_errname(12345), "EUNKNOWN");
  ASSERT_STR(eddy_strerror(-ENOENT), "No such file or directory");
  ASSERT_STR(eddy_strerror(424242), "unknown error");
  ASSERT(EDDY_DONE > 0);
  ASSERT_EQ(eddy_version(), EDDY_VERSION_HEX);
  ASSERT_STR(eddy_version_string(), EDDY_VERSION_STRING);
}

static double fp_val;
static int fp_child(void *arg) {
  (void)arg;
  volatile double x = 1.0;
  eddy_yield();
  fp_val = x / 3.0;
  return 0;
}
TEST(float_state_survives_switches) {
  ASSERT_EQ(eddy_run(fp_child, NULL), 0);
  ASSERT(fp_val > 0.333 && fp_val < 0.334);
}

/* The floating-point control state (here the rounding mode) belongs to the
 * thread by default, as in every runtime whose tasks share a thread: what
 * one task sets, the next one sees. With fp_env_per_task every task and
 * generator keeps its own across switches. */
static int fp_seen[2];
static int fp_setter(void *arg) {
  fesetround((int)(intptr_t)arg);
  eddy_yield();
  fp_seen[(int)(intptr_t)arg == FE_UPWARD ? 0 : 1] = fegetround();
  return 0;
}
static int fp_two_tasks(void *arg) {
  (void)arg;
  eddy_task *a, *b;
  ASSERT_RC(eddy_spawn(&a, fp_setter, (void *)(intptr_t)FE_UPWARD), 0);
  ASSERT_RC(eddy_spawn(&b, fp_setter, (void *)(intptr_t)FE_DOWNWARD), 0);
  eddy_join(a, NULL);
  eddy_join(b, NULL);
  fesetround(FE_TONEAREST);
  return 0;
}
TEST(fp_env_belongs_to_the_thread_by_default) {
  ASSERT_EQ(eddy_run(fp_two_tasks, NULL), 0);
#ifdef EDDY_SWITCH_UCONTEXT
  ASSERT_EQ(fp_seen[0], FE_UPWARD); /* swapcontext keeps it per context */
#else
  ASSERT_EQ(fp_seen[0], FE_DOWNWARD); /* b's setting, made after a's */
#endif
  ASSERT_EQ(fp_seen[1], FE_DOWNWARD);
}
TEST(fp_env_per_task_keeps_each_tasks_rounding_mode) {
  eddy_loop_opts o = {.fp_env_per_task = 1};
  ASSERT_EQ(eddy_run_opts(fp_two_tasks, NULL, &o), 0);
  ASSERT_EQ(fp_seen[0], FE_UPWARD);
  ASSERT_EQ(fp_seen[1], FE_DOWNWARD);
  ASSERT_EQ(fegetround(), FE_TONEAREST);
}

static int fp_gen_seen;
static int fp_gen(eddy_gen *g, void *arg) {
  (void)arg;
  fesetround(FE_TOWARDZERO);
  for (int i = 0; i < 3; i++) {
    if (eddy_gen_yield(g, &i)) break;
    fp_gen_seen = fegetround();
  }
  return 0;
}
static int fp_gen_main(void *arg) {
  (void)arg;
  int x, st, ok = 1;
  fesetround(FE_UPWARD);
  EDDY_FOR(x, eddy_gen_new(fp_gen, NULL, sizeof x), st) ok &= fegetround() == FE_UPWARD;
  fesetround(FE_TONEAREST);
  return ok && st == 0 ? 0 : 1;
}
TEST(fp_env_per_task_keeps_a_generators_own_rounding_mode) {
  eddy_loop_opts o = {.fp_env_per_task = 1};
  ASSERT_EQ(eddy_run_opts(fp_gen_main, NULL, &o), 0);
  ASSERT_EQ(fp_gen_seen, FE_TOWARDZERO);
}
