/* test_gen.c: async iteration: the protocol (R20-R23, R27), FOR's closing
 * on every exit (R24-R26, R29), async generators (R28, R30-R41) and
 * shutdown (R44, R45). Named after the spec's rules. */
#include "test.h"

static eddy_loop_opts vclock = {.virtual_clock = 1};
static test_log L;
static void reset(void) { memset(&L, 0, sizeof L); }

/* counts to n; optional error at fail_at; logs its cleanup (which blocks) */
typedef struct spec {
  int n, fail_at, cleanup_sleep, cleanup_rc, yield_in_cleanup;
} spec;
static int counter(eddy_gen *g, void *arg) {
  spec *s = arg;
  int r = 0;
  for (int i = 0; i < s->n; i++) {
    if (s->fail_at && i == s->fail_at) {
      r = -EIO;
      break;
    }
    r = eddy_gen_yield(g, &i);
    if (r) break;
  }
  if (r == EDDY_ECLOSING || r == -EIO || r == -ECANCELED) {
    LOG(&L, "cleanup %s", eddy_errname(r));
    if (s->cleanup_sleep) LOG(&L, "slept %s", eddy_errname(eddy_sleep(EDDY_MSEC(s->cleanup_sleep))));
    if (s->yield_in_cleanup) {
      int z = 99;
      LOG(&L, "yield-in-cleanup %s", eddy_errname(eddy_gen_yield(g, &z)));
      LOG(&L, "again %s", eddy_errname(eddy_gen_yield(g, &z)));
    }
    if (s->cleanup_rc) return s->cleanup_rc;
  }
  return r == EDDY_ECLOSING ? 0 : r;
}

static int fails_at_once(eddy_gen *g, void *arg) {
  (void)g;
  (void)arg;
  return -EIO;
}
static int r20_main(void *arg) {
  (void)arg;
  int x, st;
  spec s0 = {.n = 0}, s1 = {.n = 1};
  int count = 0;
  EDDY_FOR(x, eddy_gen_new(counter, &s0, sizeof x), st) count++;
  ASSERT_EQ(count, 0);
  ASSERT_RC(st, 0); /* empty stream: exhausted */
  EDDY_FOR(x, eddy_gen_new(counter, &s1, sizeof x), st) count++;
  ASSERT_EQ(count, 1);
  EDDY_FOR(x, eddy_gen_new(fails_at_once, NULL, sizeof x), st) count++;
  ASSERT_RC(st, -EIO); /* error on the first next */
  ASSERT(EDDY_DONE > 0);
  return 0;
}
TEST(R20_protocol_empty_one_error) { ASSERT_EQ(eddy_run(r20_main, NULL), 0); }

/* Each yield is made at another depth of the generator's stack than the one
 * before it, so every step must resume the generator at the context its
 * last yield left, not at an earlier one. A resume at an earlier context
 * carries on from that yield, with its item: the check after the yield
 * sees an item other than the last one yielded. */
static int last_yielded;
static __attribute__((noinline)) int yield_at_depth(eddy_gen *g, int depth, int v) {
  volatile int frame[16]; /* a frame of its own at every depth */
  frame[depth & 15] = v;
  if (depth > 0) return yield_at_depth(g, depth - 1, v) + frame[depth & 15] - v;
  last_yielded = v;
  int r = eddy_gen_yield(g, &v);
  if (last_yielded != v || frame[0] != v) return -EFAULT; /* resumed at a stale yield */
  return r;
}
static int yields_at_depths(eddy_gen *g, void *arg) {
  int n = *(int *)arg;
  for (int i = 0; i < n; i++) {
    int r = yield_at_depth(g, (i * 7) % 5, i);
    if (r) return r == EDDY_ECLOSING ? 0 : r;
  }
  return 0;
}
static int r20_depth_main(void *arg) {
  (void)arg;
  int n = 200, x, st, next = 0;
  EDDY_FOR(x, eddy_gen_new(yields_at_depths, &n, sizeof x), st) {
    ASSERT_EQ(x, next);
    next++;
  }
  ASSERT_RC(st, 0);
  ASSERT_EQ(next, n);
  return 0;
}
TEST(R20_items_arrive_in_order_whatever_depth_each_yield_is_made_at) {
  ASSERT_EQ(eddy_run(r20_depth_main, NULL), 0);
}

static int r21_main(void *arg) {
  (void)arg;
  int x, st;
  spec s = {.n = 3}, f = {.n = 3, .fail_at = 2};
  EDDY_FOR(x, eddy_gen_new(counter, &s, sizeof x), st) {}
  ASSERT_RC(st, 0);
  EDDY_FOR(x, eddy_gen_new(counter, &s, sizeof x), st) if (x == 1) break;
  ASSERT_RC(st, EDDY_BROKE);
  EDDY_FOR(x, eddy_gen_new(counter, &f, sizeof x), st) {}
  ASSERT_RC(st, -EIO);
  return 0;
}
TEST(R21_exhausted_broken_failed_distinguishable) { ASSERT_EQ(eddy_run(r21_main, NULL), 0); }

static int r22_main(void *arg) {
  (void)arg;
  reset();
  int x, st;
  spec f = {.n = 5, .fail_at = 2};
  EDDY_FOR(x, eddy_gen_new(counter, &f, sizeof x), st) LOG(&L, "item %d", x);
  ASSERT_RC(st, -EIO);
  ASSERT_STR(L.buf, "item 0 item 1 cleanup EIO");
  return 0;
}
TEST(R22_error_from_next_ends_loop) { ASSERT_EQ(eddy_run(r22_main, NULL), 0); }

static int r23_main(void *arg) {
  (void)arg;
  spec s = {.n = 1};
  eddy_iter *it = eddy_gen_new(counter, &s, sizeof(int));
  int x;
  ASSERT_RC(eddy_iter_next(it, &x), 0);
  for (int i = 0; i < 3; i++) ASSERT_RC(eddy_iter_next(it, &x), EDDY_DONE);
  ASSERT_RC(eddy_iter_close(it), 0);
  ASSERT_RC(eddy_iter_next(it, &x), EDDY_DONE); /* after close too */
  eddy_gen_free(it);
  return 0;
}
TEST(R23_fused) { ASSERT_EQ(eddy_run(r23_main, NULL), 0); }

static int leave(int how, spec *s) {
  int x, st;
  for (int outer = 0; outer < 1; outer++) {
    EDDY_FOR(x, eddy_gen_new(counter, s, sizeof x), st) {
      if (x < 1) continue;
      if (how == 0) break;
      if (how == 1) return 5;
      if (how == 2) goto out;
      if (how == 3) {
        EDDY_FOR_FAIL(st, -EBADMSG);
        break;
      }
    }
    LOG(&L, "after-loop %s", eddy_errname(st));
  }
out:
  LOG(&L, "next-statement");
  return 0;
}
static int r24_main(void *arg) {
  (void)arg;
  spec s = {.n = 10, .cleanup_sleep = 1};
  for (int how = 0; how < 4; how++) {
    reset();
    leave(how, &s);
    /* the generator's (blocking) cleanup ran before the next statement */
    const char *expect[] = {
        "cleanup EDDY_ECLOSING slept OK after-loop EDDY_BROKE next-statement",
        "cleanup EDDY_ECLOSING slept OK next-statement",
        "cleanup EDDY_ECLOSING slept OK next-statement",
        "cleanup EDDY_ECLOSING slept OK after-loop EBADMSG next-statement"};
    if (how == 1) {
      ASSERT(strncmp(L.buf, "cleanup EDDY_ECLOSING slept OK", 30) == 0);
      continue;
    }
    ASSERT_STR(L.buf, expect[how]);
  }
  return 0;
}
TEST(R24_early_exit_closes_at_once) { ASSERT_EQ(eddy_run_opts(r24_main, NULL, &vclock), 0); }

static eddy_local_key key;
static int ctx_gen(eddy_gen *g, void *arg) {
  (void)arg;
  int i = 0;
  int r = eddy_gen_yield(g, &i);
  LOG(&L, "closed in %s", (char *)eddy_local_get(key)); /* the consumer's task */
  return r == EDDY_ECLOSING ? 0 : r;
}
static int r25_main(void *arg) {
  (void)arg;
  reset();
  eddy_local_key_create(&key, NULL);
  eddy_local_set(key, "consumer");
  int x, st;
  EDDY_FOR(x, eddy_gen_new(ctx_gen, NULL, sizeof x), st) break;
  ASSERT_STR(L.buf, "closed in consumer");
  return 0;
}
TEST(R25_close_runs_in_consumer_context) { ASSERT_EQ(eddy_run(r25_main, NULL), 0); }

static int r26_main(void *arg) {
  (void)arg;
  reset();
  spec s = {.n = 10};
  int x, st;
  EDDY_FOR(x, eddy_gen_new(counter, &s, sizeof x), st) {
    EDDY_FOR_FAIL(st, -EPERM); /* consumer error */
    break;
  }
  ASSERT_RC(st, -EPERM);
  ASSERT_STR(L.buf, "cleanup EDDY_ECLOSING"); /* told "closing", not EPERM */
  return 0;
}
TEST(R26_consumer_error_reaches_gen_as_closing) { ASSERT_EQ(eddy_run(r26_main, NULL), 0); }

static int slow_gen(eddy_gen *g, void *arg) {
  (void)arg;
  for (int i = 0;; i++) {
    int r = eddy_sleep(EDDY_MSEC(10));
    if (r) return r;
    if ((r = eddy_gen_yield(g, &i))) return r == EDDY_ECLOSING ? 0 : r;
  }
}
static eddy_iter *shared_it;
static int racer(void *arg) {
  (void)arg;
  int x;
  return eddy_iter_next(shared_it, &x);
}
static int r27_main(void *arg) {
  (void)arg;
  shared_it = eddy_gen_new(slow_gen, NULL, sizeof(int));
  eddy_task *a;
  eddy_spawn(&a, racer, NULL);
  eddy_sleep(EDDY_MSEC(1)); /* a is inside next, the generator sleeping */
  int x;
  ASSERT_RC(eddy_iter_next(shared_it, &x), -EBUSY);
  ASSERT_RC(eddy_iter_close(shared_it), -EBUSY);
  int res = -1;
  eddy_join(a, &res);
  ASSERT_RC(res, 0);
  eddy_gen_free(shared_it);
  return 0;
}
TEST(R27_single_consumer) { ASSERT_EQ(eddy_run_opts(r27_main, NULL, &vclock), 0); }

static int r28_child(void *arg) {
  (void)arg;
  int x, st;
  EDDY_FOR(x, eddy_gen_new(slow_gen, NULL, sizeof x), st) LOG(&L, "item %d", x);
  return st;
}
static int r28_main(void *arg) {
  (void)arg;
  reset();
  eddy_task *t;
  eddy_spawn(&t, r28_child, NULL);
  eddy_sleep(EDDY_MSEC(15)); /* one item, then the generator sleeps again */
  eddy_cancel(t);
  int res = 0;
  eddy_join(t, &res);
  ASSERT_RC(res, -ECANCELED);
  ASSERT_STR(L.buf, "item 0");
  return 0;
}
TEST(R28_cancel_while_generator_mid_step) { ASSERT_EQ(eddy_run_opts(r28_main, NULL, &vclock), 0); }

static int r29_main(void *arg) {
  (void)arg;
  reset();
  spec s = {.n = 6};
  eddy_iter *it = eddy_gen_new(counter, &s, sizeof(int));
  int x, st, header = 0, rest = 0;
  EDDY_FOR_BORROW(x, it, st) {
    header++;
    if (x == 1) break; /* read the "header": two items, not closed */
  }
  ASSERT_RC(st, EDDY_BROKE);
  it->owned = 0;
  EDDY_FOR(x, it, st) rest++;
  ASSERT_EQ(header, 2);
  ASSERT_EQ(rest, 4);
  ASSERT_RC(st, 0);
  eddy_gen_free(it); /* closed once, at the end */
  return 0;
}
TEST(R29_borrowing_for_does_not_close) { ASSERT_EQ(eddy_run(r29_main, NULL), 0); }

static int touched;
static int touching(eddy_gen *g, void *arg) {
  (void)g;
  (void)arg;
  touched = 1;
  return 0;
}
static int r30_main(void *arg) {
  (void)arg;
  eddy_iter *it = eddy_gen_new(touching, NULL, 0);
  ASSERT_RC(eddy_gen_free(it), 0);
  ASSERT_EQ(touched, 0); /* none of its code ran */
  return 0;
}
TEST(R30_lazy_start) { ASSERT_EQ(eddy_run(r30_main, NULL), 0); }

static int close_main(void *arg) {
  spec *s = arg;
  eddy_iter *it = eddy_gen_new(counter, s, sizeof(int));
  int x;
  eddy_iter_next(it, &x);
  int r = eddy_iter_close(it);
  ASSERT_RC(eddy_iter_close(it), 0); /* R34: idempotent */
  eddy_gen_free(it);
  return r;
}
TEST(R31_close_suspended_gen_cleanup_may_block) {
  reset();
  spec s = {.n = 5, .cleanup_sleep = 5};
  ASSERT_RC(eddy_run_opts(close_main, &s, &vclock), 0);
  ASSERT_STR(L.buf, "cleanup EDDY_ECLOSING slept OK");
}
TEST(R32_handled_close_is_clean) {
  reset();
  spec s = {.n = 5};
  ASSERT_RC(eddy_run(close_main, &s), 0);
}
TEST(R33_cleanup_failure_surfaces) {
  reset();
  spec s = {.n = 5, .cleanup_rc = -ENOSPC};
  ASSERT_RC(eddy_run(close_main, &s), -ENOSPC);
}
static int r33_for_main(void *arg) {
  (void)arg;
  spec s = {.n = 5, .cleanup_rc = -ENOSPC};
  int x, st;
  EDDY_FOR(x, eddy_gen_new(counter, &s, sizeof x), st) break;
  return st; /* via break: the close error becomes the status */
}
TEST(R33_cleanup_failure_via_break) { ASSERT_RC(eddy_run(r33_for_main, NULL), -ENOSPC); }
TEST(R34_idempotent_close) {
  reset();
  spec s = {.n = 0};
  ASSERT_RC(eddy_run(close_main, &s), 0);
}
TEST(R35_gen_cannot_refuse_close) {
  reset();
  spec s = {.n = 5, .yield_in_cleanup = 1};
  ASSERT_RC(eddy_run(close_main, &s), EDDY_EPROTOCOL);
  ASSERT_STR(L.buf, "cleanup EDDY_ECLOSING yield-in-cleanup EDDY_ECLOSING again EDDY_ECLOSING");
}

static int catcher(eddy_gen *g, void *arg) {
  (void)arg;
  int v = 1;
  int r = eddy_gen_yield(g, &v);
  if (r == -EAGAIN) { /* handled: yields again */
    v = 42;
    r = eddy_gen_yield(g, &v);
  }
  if (r == -EPIPE) return r; /* unhandled: propagates */
  return r == EDDY_ECLOSING ? 0 : r;
}
static int r36_main(void *arg) {
  (void)arg;
  eddy_iter *it = eddy_gen_new(catcher, NULL, sizeof(int));
  int x;
  ASSERT_RC(eddy_iter_next(it, &x), 0);
  ASSERT_RC(eddy_gen_throw(eddy_gen_of(it), -EAGAIN, &x), 0);
  ASSERT_EQ(x, 42);
  ASSERT_RC(eddy_gen_throw(eddy_gen_of(it), -EPIPE, &x), -EPIPE);
  ASSERT_RC(eddy_iter_next(it, &x), EDDY_DONE); /* finished */
  ASSERT_RC(eddy_gen_throw(eddy_gen_of(it), 5, &x), -EINVAL);
  eddy_gen_free(it);
  return 0;
}
TEST(R36_throw_handled_and_unhandled) { ASSERT_EQ(eddy_run(r36_main, NULL), 0); }

static int echo_gen(eddy_gen *g, void *arg) {
  (void)arg;
  int v = 0;
  for (;;) {
    int r = eddy_gen_yield(g, &v);
    if (r) return r == EDDY_ECLOSING ? 0 : r;
    int *sent = eddy_gen_sent(g);
    v = sent ? *sent * 2 : -1;
  }
}
static int r37_main(void *arg) {
  (void)arg;
  eddy_iter *it = eddy_gen_new(echo_gen, NULL, sizeof(int));
  int x, seven = 7;
  ASSERT_RC(eddy_gen_send(eddy_gen_of(it), &seven, &x), -EINVAL); /* before start */
  ASSERT_RC(eddy_gen_send(eddy_gen_of(it), NULL, &x), 0);
  ASSERT_RC(eddy_gen_send(eddy_gen_of(it), &seven, &x), 0);
  ASSERT_EQ(x, 14);
  eddy_gen_free(it);
  return 0;
}
TEST(R37_send) { ASSERT_EQ(eddy_run(r37_main, NULL), 0); }

static int inner_gen(eddy_gen *g, void *arg) {
  (void)arg;
  for (int i = 0; i < 2; i++)
    if (eddy_gen_yield(g, &i)) return 0;
  return 0;
}
static int forwarding(eddy_gen *g, void *arg) {
  (void)arg;
  eddy_iter *inner = eddy_gen_new(inner_gen, NULL, sizeof(int));
  int x, r;
  while ((r = eddy_iter_next(inner, &x)) == 0)
    if (eddy_gen_yield(g, &x)) break;
  eddy_gen_free(inner);
  /* the inner stream's end does not end ours: we go on */
  int tail = 100;
  eddy_gen_yield(g, &tail);
  return r == EDDY_DONE ? 0 : r;
}
static int bad_positive(eddy_gen *g, void *arg) {
  (void)g;
  (void)arg;
  return 7; /* not a documented code */
}
static int r38_main(void *arg) {
  (void)arg;
  int x, st, n = 0, last = 0;
  EDDY_FOR(x, eddy_gen_new(forwarding, NULL, sizeof x), st) {
    n++;
    last = x;
  }
  ASSERT_EQ(n, 3);
  ASSERT_EQ(last, 100);
  EDDY_FOR(x, eddy_gen_new(bad_positive, NULL, sizeof x), st) {}
  ASSERT_RC(st, EDDY_EPROTOCOL);
  return 0;
}
TEST(R38_end_only_from_return) { ASSERT_EQ(eddy_run(r38_main, NULL), 0); }

static eddy_iter *moving;
static int puller(void *arg) {
  int *sum = arg;
  int x;
  for (int i = 0; i < 3; i++) {
    if (eddy_iter_next(moving, &x) == 0) *sum += x;
    eddy_yield();
  }
  return 0;
}
static int r39_main(void *arg) {
  (void)arg;
  spec s = {.n = 6};
  moving = eddy_gen_new(counter, &s, sizeof(int));
  int sum = 0;
  eddy_task *a, *b;
  eddy_spawn(&a, puller, &sum);
  eddy_spawn(&b, puller, &sum);
  eddy_join(a, NULL);
  eddy_join(b, NULL);
  ASSERT_EQ(sum, 0 + 1 + 2 + 3 + 4 + 5);
  eddy_gen_free(moving);
  return 0;
}
TEST(R39_generator_moves_between_tasks) { ASSERT_EQ(eddy_run(r39_main, NULL), 0); }

static int scoped_gen(eddy_gen *g, void *arg) {
  (void)arg;
  eddy_scope s;
  eddy_scope_enter(&s, eddy_deadline_in(EDDY_MSEC(5)), 0);
  int i = 1;
  int r = eddy_gen_yield(g, &i); /* across a scope it opened: refused */
  LOG(&L, "yield %s", eddy_errname(r));
  eddy_scope_exit(&s);
  return r;
}
static int r40_main(void *arg) {
  (void)arg;
  reset();
  int x, st;
  EDDY_FOR(x, eddy_gen_new(scoped_gen, NULL, sizeof x), st) {}
  ASSERT_RC(st, EDDY_ESCOPE);
  ASSERT_RC(eddy_sleep(EDDY_MSEC(20)), 0); /* the consumer is not cancelled */
  ASSERT_STR(L.buf, "yield EDDY_ESCOPE");
  return 0;
}
TEST(R40_yield_across_own_scope_refused) { ASSERT_EQ(eddy_run_opts(r40_main, NULL, &vclock), 0); }

static int r41_main(void *arg) {
  (void)arg;
  int x, st, n = 0;
  EDDY_FOR_UNTIL(x, eddy_gen_new(slow_gen, NULL, sizeof x), st, EDDY_MSEC(15)) {
    if (++n == 2) break;
  }
  ASSERT_RC(st, EDDY_BROKE); /* 10 ms per item fits in 15 */
  EDDY_FOR_UNTIL(x, eddy_gen_new(slow_gen, NULL, sizeof x), st, EDDY_MSEC(5)) {}
  ASSERT_RC(st, -ETIMEDOUT); /* and the generator saw ECANCELED */
  return 0;
}
TEST(R41_per_item_deadline) { ASSERT_EQ(eddy_run_opts(r41_main, NULL, &vclock), 0); }

static int outer_gen(eddy_gen *g, void *arg) {
  (void)arg;
  eddy_iter *inner = eddy_gen_new(inner_gen, NULL, sizeof(int));
  int x;
  eddy_iter_next(inner, &x);
  int r = eddy_gen_yield(g, &x);
  LOG(&L, "outer cleanup %s", eddy_errname(r));
  eddy_gen_free(inner); /* the outer closes its inner one */
  return 0;
}
static int r45_main(void *arg) {
  (void)arg;
  eddy_iter *it = eddy_gen_new(outer_gen, NULL, sizeof(int));
  int x;
  eddy_iter_next(it, &x);
  return 0; /* leaves the outer generator open: the loop closes it */
}
TEST(R45_open_generators_closed_at_shutdown_in_order) {
  reset();
  ASSERT_EQ(eddy_run(r45_main, NULL), 0);
  ASSERT_STR(L.buf, "outer cleanup EDDY_ECLOSING");
}
static void r45_child(void *arg) {
  (void)arg;
  _exit(eddy_run(r45_main, NULL));
}
TEST(R44_abandoned_generator_closed_and_reported) {
  reset();
  char buf[512];
  int st = run_in_child(r45_child, NULL, buf, sizeof buf);
  ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  ASSERT(strstr(buf, "test_gen.c:") != NULL); /* where it was created */
  ASSERT(strstr(buf, "never closed") != NULL);
}

TEST(gen_outside_task) {
  eddy_iter *it = eddy_gen_new(counter, NULL, sizeof(int));
  int x;
  ASSERT_RC(eddy_iter_next(it, &x), EDDY_ENOTTASK);
}
static int oom_main(void *arg) {
  (void)arg;
  eddy__fault_set(EDDY_SYS_ALLOC, 0, ENOMEM, 1);
  int x, st;
  EDDY_FOR(x, eddy_gen_new(counter, NULL, sizeof x), st) {}
  ASSERT_RC(st, -ENOMEM);
  eddy__fault_set(EDDY_SYS_MMAP, 0, ENOMEM, 0);
  spec s = {.n = 3};
  EDDY_FOR(x, eddy_gen_new_at(counter, &s, sizeof x, 8 << 20, __FILE__, __LINE__), st) {}
  ASSERT_RC(st, -ENOMEM); /* no stack for it */
  eddy__fault_clear();
  return 0;
}
TEST(gen_creation_failures) { ASSERT_EQ(eddy_run(oom_main, NULL), 0); }
