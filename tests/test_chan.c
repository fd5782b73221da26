/* test_chan.c: channels (R59-R62, R18 for channels) with conservation
 * tests that cancel at every suspension point, and broadcast channels with
 * their slow-subscriber policies. */
#include "test.h"

static eddy_loop_opts vclock = {.virtual_clock = 1};
static int disposed;
static void dispose(void *item) {
  (void)item;
  disposed++;
}

static int r59_main(void *arg) {
  (void)arg;
  eddy_chan *ch;
  ASSERT_RC(eddy_chan_new(&ch, sizeof(int), 4, dispose), 0);
  for (int i = 0; i < 3; i++) ASSERT_RC(eddy_chan_send(ch, &i, EDDY_FOREVER), 0);
  eddy_chan_close(ch);
  int x = 9;
  ASSERT_RC(eddy_chan_send(ch, &x, EDDY_FOREVER), EDDY_ECLOSED);
  for (int i = 0; i < 3; i++) {
    ASSERT_RC(eddy_chan_recv(ch, &x, EDDY_FOREVER), 0);
    ASSERT_EQ(x, i); /* drained in order */
  }
  ASSERT_RC(eddy_chan_recv(ch, &x, EDDY_FOREVER), EDDY_DONE);
  eddy_chan_free(ch);
  ASSERT_EQ(disposed, 0);
  return 0;
}
TEST(R59_graceful_close_drains_then_done) { ASSERT_EQ(eddy_run(r59_main, NULL), 0); }

static int r60_main(void *arg) {
  (void)arg;
  disposed = 0;
  eddy_chan *ch;
  eddy_chan_new(&ch, sizeof(int), 4, dispose);
  for (int i = 0; i < 3; i++) eddy_chan_send(ch, &i, EDDY_FOREVER);
  eddy_chan_close_now(ch);
  ASSERT_EQ(disposed, 3); /* once per dropped item */
  int x;
  ASSERT_RC(eddy_chan_recv(ch, &x, EDDY_FOREVER), EDDY_ECLOSED);
  eddy_chan_free(ch);
  ASSERT_EQ(disposed, 3);
  disposed = 0;
  eddy_chan_new(&ch, sizeof(int), 4, dispose);
  x = 1;
  eddy_chan_send(ch, &x, EDDY_FOREVER);
  eddy_chan_rx_close(ch); /* every receiver gone */
  ASSERT_EQ(disposed, 1);
  ASSERT_RC(eddy_chan_send(ch, &x, EDDY_FOREVER), -EPIPE);
  eddy_chan_free(ch);
  return 0;
}
TEST(R60_immediate_close_disposes_and_epipe) { ASSERT_EQ(eddy_run(r60_main, NULL), 0); }

static int producer(void *arg) {
  eddy_chan *ch = arg;
  for (int i = 0; i < 5; i++) eddy_chan_send(ch, &i, EDDY_FOREVER);
  eddy_chan_close(ch);
  return 0;
}
static int r61_main(void *arg) {
  int immediate = (int)(intptr_t)arg;
  eddy_chan *ch;
  eddy_chan_new(&ch, sizeof(int), 1, NULL);
  eddy_chan_iter ci;
  int x, st, n = 0;
  if (!immediate) {
    eddy_spawn(NULL, producer, ch);
    EDDY_FOR(x, eddy_chan_iter_init(&ci, ch), st) n++;
    ASSERT_EQ(n, 5);
    ASSERT_RC(st, 0);
  } else {
    x = 1;
    eddy_chan_send(ch, &x, EDDY_FOREVER);
    eddy_chan_close_now(ch);
    EDDY_FOR(x, eddy_chan_iter_init(&ci, ch), st) n++;
    ASSERT_RC(st, EDDY_ECLOSED);
  }
  eddy_chan_free(ch);
  return 0;
}
TEST(R61_for_over_channel_graceful) { ASSERT_EQ(eddy_run(r61_main, (void *)0), 0); }
TEST(R61_for_over_channel_immediate_close) { ASSERT_EQ(eddy_run(r61_main, (void *)1), 0); }

static int r18_main(void *arg) {
  (void)arg;
  eddy_chan *ch;
  eddy_chan_new(&ch, sizeof(int), 2, NULL);
  int x = 1;
  eddy_chan_send(ch, &x, EDDY_FOREVER);
  eddy_scope s;
  eddy_scope_enter(&s, EDDY_FOREVER, 0);
  eddy_scope_cancel(&s);
  ASSERT_RC(eddy_chan_recv(ch, &x, EDDY_FOREVER), -ECANCELED);
  ASSERT_EQ(eddy_chan_len(ch), 1); /* the item stays queued */
  ASSERT_RC(eddy_chan_send(ch, &x, EDDY_FOREVER), -ECANCELED);
  ASSERT_EQ(eddy_chan_len(ch), 1);
  eddy_scope_exit(&s);
  eddy_chan_free(ch);
  return 0;
}
TEST(R18_channel_checkpoint_on_entry) { ASSERT_EQ(eddy_run(r18_main, NULL), 0); }

/* A channel call takes its fast path only while no scope of the loop is
 * cancelled: leaving one cancelled scope while another still is must not
 * let a send through, and leaving the last one must bring hand-offs back. */
static int r18_echo(void *arg) {
  eddy_chan **pair = arg;
  int x;
  while (eddy_chan_recv(pair[0], &x, EDDY_FOREVER) == 0)
    if (eddy_chan_send(pair[1], &x, EDDY_FOREVER)) break;
  return 0;
}
static int r18_nested_main(void *arg) {
  (void)arg;
  eddy_chan *pair[2];
  ASSERT_RC(eddy_chan_new(&pair[0], sizeof(int), 1, NULL), 0);
  ASSERT_RC(eddy_chan_new(&pair[1], sizeof(int), 1, NULL), 0);
  eddy_task *t;
  ASSERT_RC(eddy_spawn(&t, r18_echo, pair), 0);
  ASSERT_RC(eddy_yield(), 0); /* the echo task waits in recv */
  int x = 5;
  eddy_scope outer, inner;
  eddy_scope_enter(&outer, EDDY_FOREVER, 0);
  eddy_scope_cancel(&outer);
  eddy_scope_enter(&inner, EDDY_FOREVER, 0);
  eddy_scope_cancel(&inner);
  ASSERT_RC(eddy_chan_send(pair[0], &x, EDDY_FOREVER), -ECANCELED);
  eddy_scope_exit(&inner);
  ASSERT_RC(eddy_chan_send(pair[0], &x, EDDY_FOREVER), -ECANCELED); /* outer still is */
  ASSERT_RC(eddy_chan_recv(pair[1], &x, EDDY_FOREVER), -ECANCELED);
  eddy_scope_exit(&outer);
  for (int i = 0; i < 3; i++) { /* a receiver waits each time: hand-offs */
    ASSERT_RC(eddy_chan_send(pair[0], &i, EDDY_FOREVER), 0);
    ASSERT_RC(eddy_chan_recv(pair[1], &x, EDDY_FOREVER), 0);
    ASSERT_EQ(x, i);
  }
  eddy_chan_close(pair[0]);
  ASSERT_RC(eddy_join(t, NULL), 0);
  eddy_chan_free(pair[0]);
  eddy_chan_free(pair[1]);
  return 0;
}
TEST(R18_channel_cancel_seen_until_the_last_cancelled_scope_exits) {
  ASSERT_EQ(eddy_run(r18_nested_main, NULL), 0);
}

/* A deadline fires in the scheduler, which then resumes the task it woke:
 * the task's channel calls must still see the cancelled scope, though no
 * task cancelled it and the task did not come back by a hand-off. */
static int r18_deadline_main(void *arg) {
  (void)arg;
  eddy_chan *ch;
  ASSERT_RC(eddy_chan_new(&ch, sizeof(int), 2, NULL), 0);
  int x = 7;
  ASSERT_RC(eddy_chan_send(ch, &x, EDDY_FOREVER), 0);
  eddy_scope s;
  ASSERT_RC(eddy_scope_enter(&s, eddy_deadline_in(EDDY_MSEC(5)), 0), 0);
  ASSERT_RC(eddy_sleep(EDDY_SEC(5)), -ECANCELED);
  ASSERT_RC(eddy_chan_send(ch, &x, EDDY_FOREVER), -ECANCELED); /* room for it */
  ASSERT_EQ(eddy_chan_len(ch), 1);
  ASSERT_RC(eddy_chan_recv(ch, &x, EDDY_FOREVER), -ECANCELED); /* an item ready */
  ASSERT_EQ(eddy_chan_len(ch), 1);
  eddy_scope_exit(&s);
  ASSERT_RC(eddy_chan_send(ch, &x, EDDY_FOREVER), 0);
  ASSERT_EQ(eddy_chan_len(ch), 2);
  eddy_chan_free(ch);
  return 0;
}
TEST(R18_channel_checkpoint_after_a_deadline_fired_in_the_scheduler) {
  ASSERT_EQ(eddy_run_opts(r18_deadline_main, NULL, &vclock), 0);
}

/* A wait with a deadline that a hand-off ends early disarms its timer: a
 * timer left armed would fire during the next wait, which has none, and
 * end it with -ETIMEDOUT. */
static int timed_sender(void *arg) {
  eddy_chan *ch = arg;
  int v = 1;
  ASSERT_RC(eddy_chan_send(ch, &v, EDDY_FOREVER), 0); /* to the timed wait */
  ASSERT_RC(eddy_sleep(EDDY_MSEC(50)), 0);            /* past its deadline */
  v = 2;
  ASSERT_RC(eddy_chan_send(ch, &v, EDDY_FOREVER), 0);
  return 0;
}
static int timed_main(void *arg) {
  (void)arg;
  eddy_chan *ch;
  ASSERT_RC(eddy_chan_new(&ch, sizeof(int), 1, NULL), 0);
  eddy_task *t;
  ASSERT_RC(eddy_spawn(&t, timed_sender, ch), 0);
  int x = 0;
  ASSERT_RC(eddy_chan_recv(ch, &x, eddy_deadline_in(EDDY_MSEC(10))), 0);
  ASSERT_EQ(x, 1);
  ASSERT_RC(eddy_chan_recv(ch, &x, EDDY_FOREVER), 0);
  ASSERT_EQ(x, 2);
  ASSERT_RC(eddy_join(t, NULL), 0);
  eddy_chan_free(ch);
  return 0;
}
/* The exported functions (taken by address, not the header's inline
 * forms) hand off and finish their waits the same way. */
typedef int (*chan_op)(eddy_chan *, void *, eddy_time_t);
static int by_address_echo(void *arg) {
  eddy_chan **pair = arg;
  int (*send)(eddy_chan *, const void *, eddy_time_t) = &eddy_chan_send;
  chan_op recv = &eddy_chan_recv;
  int x;
  while (recv(pair[0], &x, EDDY_FOREVER) == 0)
    if (send(pair[1], &x, EDDY_FOREVER)) break;
  return 0;
}
static int by_address_main(void *arg) {
  (void)arg;
  eddy_chan *pair[2];
  ASSERT_RC(eddy_chan_new(&pair[0], sizeof(int), 1, NULL), 0);
  ASSERT_RC(eddy_chan_new(&pair[1], sizeof(int), 1, NULL), 0);
  eddy_task *t;
  ASSERT_RC(eddy_spawn(&t, by_address_echo, pair), 0);
  int (*send)(eddy_chan *, const void *, eddy_time_t) = &eddy_chan_send;
  chan_op recv = &eddy_chan_recv;
  for (int i = 0; i < 100; i++) {
    int x = -1;
    ASSERT_RC(send(pair[0], &i, EDDY_FOREVER), 0);
    ASSERT_RC(recv(pair[1], &x, EDDY_FOREVER), 0);
    ASSERT_EQ(x, i);
  }
  int x;
  ASSERT_RC(recv(pair[1], &x, eddy_deadline_in(EDDY_MSEC(1))), -ETIMEDOUT);
  eddy_chan_close(pair[0]);
  ASSERT_RC(eddy_join(t, NULL), 0);
  ASSERT_RC(recv(pair[0], &x, EDDY_FOREVER), EDDY_DONE);
  eddy_chan_free(pair[0]);
  eddy_chan_free(pair[1]);
  return 0;
}
TEST(R61_channel_functions_by_address_hand_off) {
  ASSERT_EQ(eddy_run_opts(by_address_main, NULL, &vclock), 0);
}

TEST(R62_timed_wait_ended_by_a_hand_off_disarms_its_timer) {
  ASSERT_EQ(eddy_run_opts(timed_main, NULL, &vclock), 0);
}

/* What a send gets on a channel both closed and without receivers: the
 * close; and a channel whose last receiver left takes sends again once a
 * receiver is added. */
static int refused_main(void *arg) {
  (void)arg;
  eddy_chan *ch;
  int x = 1;
  ASSERT_RC(eddy_chan_new(&ch, sizeof(int), 2, NULL), 0);
  eddy_chan_rx_close(ch);
  ASSERT_RC(eddy_chan_send(ch, &x, EDDY_FOREVER), -EPIPE);
  ASSERT_RC(eddy_chan_try_send(ch, &x), -EPIPE);
  eddy_chan_rx_add(ch);
  ASSERT_RC(eddy_chan_send(ch, &x, EDDY_FOREVER), 0);
  ASSERT_EQ(eddy_chan_len(ch), 1);
  eddy_chan_rx_close(ch);
  eddy_chan_close(ch);
  ASSERT_RC(eddy_chan_send(ch, &x, EDDY_FOREVER), EDDY_ECLOSED);
  ASSERT_RC(eddy_chan_try_send(ch, &x), EDDY_ECLOSED);
  eddy_chan_free(ch);
  return 0;
}
TEST(R60_send_refused_closed_before_no_receivers_and_receivers_come_back) {
  ASSERT_EQ(eddy_run(refused_main, NULL), 0);
}

/* A channel wait that a cancellation ends is counted as a cancellation the
 * task was told of, also when it ends in the caller's inline code: a WITH
 * block that swallows it still hands its exit -ECANCELED (with.c compares
 * the count). Woken by another task's cancel (the wait parked by handing
 * off to that task), and by a scope deadline fired from the loop's timers
 * (a wait that has its own deadline too, so a timer to disarm as well). */
static int swallowed_exit_status;
static int swallow_enter(void *self, void **value) {
  (void)self, (void)value;
  return 0;
}
static int swallow_exit(void *self, int status) {
  (void)self;
  swallowed_exit_status = status;
  return 0; /* suppress */
}
static const eddy_cm_ops swallow_ops = {swallow_enter, swallow_exit, 0};
static int cancel_scope_task(void *arg) {
  eddy_scope_cancel(arg);
  return 0;
}
static int swallowed_main(void *arg) {
  int by_deadline = arg != NULL;
  eddy_chan *ch;
  ASSERT_RC(eddy_chan_new(&ch, sizeof(int), 1, NULL), 0);
  eddy_scope s;
  eddy_task *c = NULL;
  swallowed_exit_status = 1;
  eddy_scope_enter(&s, by_deadline ? eddy_deadline_in(EDDY_MSEC(5)) : EDDY_FOREVER, 0);
  {
    EDDY_WITH(g, &swallow_ops, NULL);
    if (!by_deadline) ASSERT_RC(eddy_spawn(&c, cancel_scope_task, &s), 0);
    int x;
    eddy_time_t deadline = by_deadline ? eddy_deadline_in(EDDY_SEC(5)) : EDDY_FOREVER;
    ASSERT_RC(eddy_chan_recv(ch, &x, deadline), -ECANCELED); /* and swallowed */
  }
  ASSERT_RC(swallowed_exit_status, -ECANCELED);
  eddy_scope_exit(&s);
  if (c) ASSERT_RC(eddy_join(c, NULL), 0);
  eddy_chan_free(ch);
  return 0;
}
TEST(R18_channel_wait_cancelled_by_a_task_counts_for_with) {
  ASSERT_EQ(eddy_run_opts(swallowed_main, NULL, &vclock), 0);
}
TEST(R18_channel_wait_cancelled_by_a_deadline_counts_for_with) {
  ASSERT_EQ(eddy_run_opts(swallowed_main, (void *)1, &vclock), 0);
}

/* A task that waits in a channel while it runs a generator parks with the
 * generator's stack as its context, and the hand-off that resumes it lands
 * there; the generator moves between two tasks that take turns (R39). */
enum { GEN_ITEMS = 500 };
static eddy_chan *gen_src, *gen_turn[2];
static eddy_iter *gen_moving;
static int gen_next_expected;
static int chan_gen(eddy_gen *g, void *arg) {
  (void)arg;
  int x;
  while (eddy_chan_recv(gen_src, &x, EDDY_FOREVER) == 0)
    if (eddy_gen_yield(g, &x)) return 0;
  return 0;
}
static int gen_src_producer(void *arg) {
  (void)arg;
  for (int i = 0; i < GEN_ITEMS; i++) ASSERT_RC(eddy_chan_send(gen_src, &i, EDDY_FOREVER), 0);
  eddy_chan_close(gen_src);
  return 0;
}
static int gen_driver(void *arg) {
  int me = (int)(intptr_t)arg, token;
  while (eddy_chan_recv(gen_turn[me], &token, EDDY_FOREVER) == 0) {
    int x = -1;
    if (eddy_iter_next(gen_moving, &x) != 0) break;
    ASSERT_EQ(x, gen_next_expected);
    gen_next_expected++;
    ASSERT_RC(eddy_chan_send(gen_turn[1 - me], &token, EDDY_FOREVER), 0);
  }
  eddy_chan_close(gen_turn[0]);
  eddy_chan_close(gen_turn[1]);
  return 0;
}
static int gen_moving_main(void *arg) {
  (void)arg;
  ASSERT_RC(eddy_chan_new(&gen_src, sizeof(int), 0, NULL), 0);
  ASSERT_RC(eddy_chan_new(&gen_turn[0], sizeof(int), 1, NULL), 0);
  ASSERT_RC(eddy_chan_new(&gen_turn[1], sizeof(int), 1, NULL), 0);
  gen_moving = eddy_gen_new(chan_gen, NULL, sizeof(int));
  gen_next_expected = 0;
  eddy_task *p, *a, *b;
  ASSERT_RC(eddy_spawn(&p, gen_src_producer, NULL), 0);
  ASSERT_RC(eddy_spawn(&a, gen_driver, (void *)0), 0);
  ASSERT_RC(eddy_spawn(&b, gen_driver, (void *)1), 0);
  int token = 1;
  ASSERT_RC(eddy_chan_send(gen_turn[0], &token, EDDY_FOREVER), 0);
  ASSERT_RC(eddy_join(p, NULL), 0);
  ASSERT_RC(eddy_join(a, NULL), 0);
  ASSERT_RC(eddy_join(b, NULL), 0);
  ASSERT_EQ(gen_next_expected, GEN_ITEMS);
  eddy_gen_free(gen_moving);
  eddy_chan_free(gen_src);
  eddy_chan_free(gen_turn[0]);
  eddy_chan_free(gen_turn[1]);
  return 0;
}
TEST(R39_channel_waits_inside_a_generator_moving_between_tasks) {
  ASSERT_EQ(eddy_run(gen_moving_main, NULL), 0);
}

/* ---- conservation: many producers and consumers, random cancellations at
 * every suspension point; every item sent is received exactly once. */
enum { PRODUCERS = 4, CONSUMERS = 3, PER = 300 };
static eddy_chan *cch;
static int seen[PRODUCERS * PER];
static int sent_ok;
static unsigned rng = 12345;
static unsigned rnd(void) { return rng = rng * 1103515245u + 12345u; }

static int cons_producer(void *arg) {
  int base = (int)(intptr_t)arg * PER;
  for (int i = 0; i < PER; i++) {
    int v = base + i;
    for (;;) {
      int r = eddy_chan_send(cch, &v, eddy_deadline_in(EDDY_USEC(rnd() % 50)));
      if (r == 0) {
        sent_ok++;
        break;
      }
      ASSERT(r == -ETIMEDOUT); /* not queued: send again */
    }
  }
  return 0;
}
static int cons_consumer(void *arg) {
  (void)arg;
  for (;;) {
    int v;
    int r = eddy_chan_recv(cch, &v, eddy_deadline_in(EDDY_USEC(rnd() % 50)));
    if (r == EDDY_DONE) return 0;
    if (r == -ETIMEDOUT) continue; /* took nothing */
    ASSERT_RC(r, 0);
    ASSERT_EQ(seen[v], 0); /* never twice */
    seen[v] = 1;
  }
}
static int conservation_main(void *arg) {
  size_t cap = (size_t)(intptr_t)arg;
  memset(seen, 0, sizeof seen);
  sent_ok = 0;
  eddy_chan_new(&cch, sizeof(int), cap, NULL);
  eddy_task *p[PRODUCERS], *c[CONSUMERS];
  for (int i = 0; i < PRODUCERS; i++) eddy_spawn(&p[i], cons_producer, (void *)(intptr_t)i);
  for (int i = 0; i < CONSUMERS; i++) eddy_spawn(&c[i], cons_consumer, NULL);
  for (int i = 0; i < PRODUCERS; i++) eddy_join(p[i], NULL);
  eddy_chan_close(cch);
  for (int i = 0; i < CONSUMERS; i++) eddy_join(c[i], NULL);
  for (int i = 0; i < PRODUCERS * PER; i++) ASSERT_EQ(seen[i], 1); /* never lost */
  ASSERT_EQ(sent_ok, PRODUCERS * PER);
  eddy_chan_free(cch);
  return 0;
}
TEST(R62_conservation_bounded_under_deadlines) {
  ASSERT_EQ(eddy_run_opts(conservation_main, (void *)2, &vclock), 0);
}
TEST(R62_conservation_rendezvous_under_deadlines) {
  ASSERT_EQ(eddy_run_opts(conservation_main, (void *)0, &vclock), 0);
}
TEST(R62_conservation_unbounded) {
  ASSERT_EQ(eddy_run_opts(conservation_main, (void *)(intptr_t)EDDY_CHAN_UNBOUNDED, &vclock), 0);
}

/* woken with an item, then cancelled before it ran: it keeps the item */
static int woken_child(void *arg) {
  int *out = arg;
  return eddy_chan_recv(cch, out, EDDY_FOREVER);
}
static int race_main(void *arg) {
  (void)arg;
  eddy_chan_new(&cch, sizeof(int), 1, NULL);
  int got = -1;
  eddy_task *t;
  eddy_spawn(&t, woken_child, &got);
  eddy_yield(); /* parked in recv */
  int v = 77;
  eddy_chan_send(cch, &v, EDDY_FOREVER); /* handed over directly */
  eddy_cancel(t);                        /* cancelled before it runs */
  int res = -1;
  eddy_join(t, &res);
  ASSERT_RC(res, 0); /* completion wins: not lost */
  ASSERT_EQ(got, 77);
  ASSERT_EQ(eddy_chan_len(cch), 0);
  /* a cancelled parked sender: nothing queued, the item is still ours */
  eddy_chan *full;
  eddy_chan_new(&full, sizeof(int), 0, NULL);
  ASSERT_RC(eddy_chan_send(full, &v, eddy_deadline_in(EDDY_MSEC(1))), -ETIMEDOUT);
  ASSERT_RC(eddy_chan_try_recv(full, &v), -EAGAIN);
  eddy_chan_free(full);
  eddy_chan_free(cch);
  return 0;
}
TEST(R62_woken_then_cancelled_keeps_item) { ASSERT_EQ(eddy_run(race_main, NULL), 0); }

static int chan_errors_main(void *arg) {
  (void)arg;
  eddy_chan *ch;
  ASSERT_RC(eddy_chan_new(&ch, 0, 1, NULL), -EINVAL);
  eddy__fault_set(EDDY_SYS_ALLOC, 1, ENOMEM, 1);
  ASSERT_RC(eddy_chan_new(&ch, 4, 8, NULL), -ENOMEM);
  ASSERT_RC(eddy_chan_new(&ch, 4, 1, NULL), 0);
  int x = 1;
  ASSERT_RC(eddy_chan_try_send(ch, &x), 0);
  ASSERT_RC(eddy_chan_try_send(ch, &x), -EAGAIN);
  ASSERT_RC(eddy_chan_send(NULL, &x, 0), -EINVAL);
  eddy_chan_free(ch);
  return 0;
}
TEST(channel_errors) { ASSERT_EQ(eddy_run(chan_errors_main, NULL), 0); }

/* ---------------------------------------------------------------- bcast */
static int bcast_main(void *arg) {
  (void)arg;
  eddy_bcast *b;
  ASSERT_RC(eddy_bcast_new(&b, sizeof(int)), 0);
  eddy_sub *fast, *drop, *fail;
  ASSERT_RC(eddy_bcast_subscribe(b, 4, EDDY_SUB_WAIT, &fast), 0);
  ASSERT_RC(eddy_bcast_subscribe(b, 2, EDDY_SUB_DROP_OLDEST, &drop), 0);
  ASSERT_RC(eddy_bcast_subscribe(b, 2, EDDY_SUB_FAIL, &fail), 0);
  ASSERT_EQ(eddy_bcast_subscribers(b), 3);
  for (int i = 0; i < 4; i++) ASSERT_RC(eddy_bcast_publish(b, &i, EDDY_FOREVER), 0);
  int x;
  for (int i = 0; i < 4; i++) {
    ASSERT_RC(eddy_sub_recv(fast, &x, EDDY_FOREVER), 0);
    ASSERT_EQ(x, i); /* every item, in order */
  }
  ASSERT_RC(eddy_sub_recv(drop, &x, EDDY_FOREVER), 0);
  ASSERT_EQ(x, 2); /* the two oldest were dropped */
  ASSERT_EQ(eddy_sub_dropped(drop), 2);
  ASSERT_RC(eddy_sub_recv(fail, &x, EDDY_FOREVER), 0);
  ASSERT_RC(eddy_sub_recv(fail, &x, EDDY_FOREVER), 0);
  ASSERT_RC(eddy_sub_recv(fail, &x, EDDY_FOREVER), -ENOBUFS); /* cut off */
  eddy_sub_unsubscribe(fail);
  /* the WAIT subscriber makes the publisher wait; a deadline bounds it */
  for (int i = 0; i < 4; i++) eddy_bcast_publish(b, &i, EDDY_FOREVER);
  ASSERT_RC(eddy_bcast_publish(b, &x, eddy_deadline_in(EDDY_MSEC(1))), -ETIMEDOUT);
  eddy_bcast_close(b);
  int n = 0;
  while (eddy_sub_recv(fast, &x, EDDY_FOREVER) == 0) n++;
  ASSERT_EQ(n, 4); /* the timed-out publish delivered to nobody */
  ASSERT_RC(eddy_sub_recv(fast, &x, EDDY_FOREVER), EDDY_DONE);
  ASSERT_RC(eddy_bcast_publish(b, &x, EDDY_FOREVER), EDDY_ECLOSED);
  eddy_sub_unsubscribe(fast);
  eddy_sub_unsubscribe(drop);
  eddy_bcast_free(b);
  return 0;
}
TEST(broadcast_policies_wait_drop_fail) { ASSERT_EQ(eddy_run_opts(bcast_main, NULL, &vclock), 0); }

static eddy_bcast *room;
static int member(void *arg) {
  eddy_sub *s = arg;
  int x, sum = 0, r;
  while ((r = eddy_sub_recv(s, &x, EDDY_FOREVER)) == 0) sum += x;
  eddy_sub_unsubscribe(s);
  return r == EDDY_DONE ? sum : r;
}
static int fanout_main(void *arg) {
  (void)arg;
  eddy_bcast_new(&room, sizeof(int));
  eddy_task *t[10];
  for (int i = 0; i < 10; i++) {
    eddy_sub *s;
    eddy_bcast_subscribe(room, 8, EDDY_SUB_WAIT, &s);
    eddy_spawn(&t[i], member, s);
  }
  for (int i = 1; i <= 100; i++) eddy_bcast_publish(room, &i, EDDY_FOREVER);
  eddy_bcast_close(room);
  for (int i = 0; i < 10; i++) {
    int sum = 0;
    eddy_join(t[i], &sum);
    ASSERT_EQ(sum, 5050); /* every member saw every message */
  }
  eddy_bcast_free(room);
  return 0;
}
TEST(broadcast_fanout_every_member_every_item) { ASSERT_EQ(eddy_run(fanout_main, NULL), 0); }

/* Items go round the shared ring many times; each subscriber still reads
 * every one in order (WAIT) or the newest cap of them (DROP_OLDEST). */
static int wrap_reader(void *arg) {
  eddy_sub *s = arg;
  int x, want = 0, r;
  while ((r = eddy_sub_recv(s, &x, EDDY_FOREVER)) == 0)
    if (x != want++) return -1000 - x;
  return r == EDDY_DONE ? want : r;
}
static int wrap_main(void *arg) {
  (void)arg;
  eddy_bcast *b;
  eddy_sub *wait, *drop;
  ASSERT_RC(eddy_bcast_new(&b, sizeof(int)), 0);
  ASSERT_RC(eddy_bcast_subscribe(b, 4, EDDY_SUB_WAIT, &wait), 0);
  ASSERT_RC(eddy_bcast_subscribe(b, 3, EDDY_SUB_DROP_OLDEST, &drop), 0);
  eddy_task *t;
  ASSERT_RC(eddy_spawn(&t, wrap_reader, wait), 0);
  for (int i = 0; i < 1000; i++) ASSERT_RC(eddy_bcast_publish(b, &i, EDDY_FOREVER), 0);
  eddy_bcast_close(b);
  int got = 0;
  ASSERT_RC(eddy_join(t, &got), 0);
  ASSERT_EQ(got, 1000);
  int x;
  for (int i = 997; i < 1000; i++) {
    ASSERT_RC(eddy_sub_recv(drop, &x, EDDY_FOREVER), 0);
    ASSERT_EQ(x, i);
  }
  ASSERT_EQ(eddy_sub_dropped(drop), 997);
  ASSERT_RC(eddy_sub_recv(drop, &x, EDDY_FOREVER), EDDY_DONE);
  eddy_bcast_free(b);
  return 0;
}
TEST(broadcast_ring_wraps_every_item_in_order) { ASSERT_EQ(eddy_run(wrap_main, NULL), 0); }

/* A subscriber with a larger capacity grows the shared ring; what the
 * others had not read yet survives the move, and a new subscriber sees
 * only what is published after it joined. */
static int grow_main(void *arg) {
  (void)arg;
  eddy_bcast *b;
  eddy_sub *small, *big;
  ASSERT_RC(eddy_bcast_new(&b, sizeof(int)), 0);
  ASSERT_RC(eddy_bcast_subscribe(b, 2, EDDY_SUB_DROP_OLDEST, &small), 0);
  for (int i = 0; i < 5; i++) ASSERT_RC(eddy_bcast_publish(b, &i, EDDY_FOREVER), 0);
  ASSERT_RC(eddy_bcast_subscribe(b, 8, EDDY_SUB_WAIT, &big), 0);
  ASSERT_EQ(eddy_sub_pending(big), 0);
  int x;
  for (int i = 3; i < 5; i++) { /* small's two, across the growth */
    ASSERT_RC(eddy_sub_recv(small, &x, EDDY_FOREVER), 0);
    ASSERT_EQ(x, i);
  }
  for (int i = 5; i < 13; i++) ASSERT_RC(eddy_bcast_publish(b, &i, EDDY_FOREVER), 0);
  ASSERT_EQ(eddy_sub_pending(big), 8);
  ASSERT_EQ(eddy_sub_pending(small), 2);
  for (int i = 5; i < 13; i++) {
    ASSERT_RC(eddy_sub_recv(big, &x, EDDY_FOREVER), 0);
    ASSERT_EQ(x, i);
  }
  for (int i = 11; i < 13; i++) {
    ASSERT_RC(eddy_sub_recv(small, &x, EDDY_FOREVER), 0);
    ASSERT_EQ(x, i);
  }
  eddy_bcast_free(b);
  return 0;
}
TEST(broadcast_larger_subscriber_grows_the_ring_keeping_unread_items) {
  ASSERT_EQ(eddy_run(grow_main, NULL), 0);
}

/* A cut-off subscriber still reads what was queued for it, though the
 * ring has since reused those slots, then gets -ENOBUFS. */
static int cut_main(void *arg) {
  (void)arg;
  eddy_bcast *b;
  eddy_sub *fail, *drop;
  ASSERT_RC(eddy_bcast_new(&b, sizeof(int)), 0);
  ASSERT_RC(eddy_bcast_subscribe(b, 2, EDDY_SUB_FAIL, &fail), 0);
  ASSERT_RC(eddy_bcast_subscribe(b, 2, EDDY_SUB_DROP_OLDEST, &drop), 0);
  for (int i = 0; i < 20; i++) ASSERT_RC(eddy_bcast_publish(b, &i, EDDY_FOREVER), 0);
  ASSERT_EQ(eddy_sub_pending(fail), 2);
  ASSERT_EQ(eddy_sub_dropped(fail), 1);
  int x;
  for (int i = 0; i < 2; i++) {
    ASSERT_RC(eddy_sub_recv(fail, &x, EDDY_FOREVER), 0);
    ASSERT_EQ(x, i);
  }
  ASSERT_RC(eddy_sub_recv(fail, &x, EDDY_FOREVER), -ENOBUFS);
  ASSERT_RC(eddy_sub_recv(drop, &x, EDDY_FOREVER), 0);
  ASSERT_EQ(x, 18);
  eddy_bcast_free(b);
  return 0;
}
TEST(broadcast_cut_off_subscriber_reads_its_queue_then_enobufs) {
  ASSERT_EQ(eddy_run(cut_main, NULL), 0);
}

/* Without memory to keep a cut-off subscriber's queue, its items are
 * counted as dropped and it fails at once: no crash, nothing made up. */
static int cut_nomem_main(void *arg) {
  (void)arg;
  eddy_bcast *b;
  eddy_sub *fail;
  ASSERT_RC(eddy_bcast_new(&b, sizeof(int)), 0);
  ASSERT_RC(eddy_bcast_subscribe(b, 2, EDDY_SUB_FAIL, &fail), 0);
  for (int i = 0; i < 2; i++) ASSERT_RC(eddy_bcast_publish(b, &i, EDDY_FOREVER), 0);
  eddy__fault_set(EDDY_SYS_ALLOC, 0, ENOMEM, 1);
  int x = 2;
  ASSERT_RC(eddy_bcast_publish(b, &x, EDDY_FOREVER), 0);
  eddy__fault_clear();
  ASSERT_EQ(eddy_sub_dropped(fail), 3);
  ASSERT_EQ(eddy_sub_pending(fail), 0);
  ASSERT_RC(eddy_sub_recv(fail, &x, EDDY_FOREVER), -ENOBUFS);
  eddy_bcast_free(b);
  return 0;
}
TEST(broadcast_cut_off_without_memory_counts_the_queue_dropped) {
  ASSERT_EQ(eddy_run(cut_nomem_main, NULL), 0);
}

/* Publishing to many subscribers copies into the one shared ring: it
 * allocates nothing, and subscribing costs no ring of its own. */
static int noalloc_main(void *arg) {
  (void)arg;
  eddy_bcast *b;
  eddy_sub *s[100];
  ASSERT_RC(eddy_bcast_new(&b, 256), 0);
  ASSERT_RC(eddy_bcast_subscribe(b, 64, EDDY_SUB_DROP_OLDEST, &s[0]), 0);
  long before = eddy__alloc_live();
  for (int i = 1; i < 100; i++) ASSERT_RC(eddy_bcast_subscribe(b, 64, EDDY_SUB_DROP_OLDEST, &s[i]), 0);
  ASSERT_EQ(eddy__alloc_live() - before, 99); /* the subscriptions themselves, no rings */
  char item[256] = {7};
  eddy__fault_set(EDDY_SYS_ALLOC, 0, ENOMEM, 1000000);
  for (int i = 0; i < 200; i++) ASSERT_RC(eddy_bcast_publish(b, item, EDDY_FOREVER), 0);
  eddy__fault_clear();
  for (int i = 0; i < 100; i++) ASSERT_EQ(eddy_sub_pending(s[i]), 64);
  eddy_bcast_free(b);
  return 0;
}
TEST(broadcast_publish_allocates_nothing) { ASSERT_EQ(eddy_run(noalloc_main, NULL), 0); }

/* Items shorter than the item size (eddy_bcast_publish_n): each is
 * copied with its length, which eddy_sub_recv_n reports; eddy_sub_recv
 * leaves the bytes past it alone; longer than the item size is refused. */
static int short_main(void *arg) {
  (void)arg;
  eddy_bcast *b;
  eddy_sub *s;
  ASSERT_RC(eddy_bcast_new(&b, (size_t)UINT32_MAX + 1), -EINVAL); /* lengths are 32-bit */
  ASSERT_RC(eddy_bcast_new(&b, 16), 0);
  ASSERT_RC(eddy_bcast_subscribe(b, 8, EDDY_SUB_WAIT, &s), 0);
  char full[16];
  memset(full, 'f', sizeof full);
  ASSERT_RC(eddy_bcast_publish_n(b, "abc", 3, EDDY_FOREVER), 0);
  ASSERT_RC(eddy_bcast_publish(b, full, EDDY_FOREVER), 0);
  ASSERT_RC(eddy_bcast_publish_n(b, NULL, 0, EDDY_FOREVER), 0);
  ASSERT_RC(eddy_bcast_publish_n(b, "xyz", 2, EDDY_FOREVER), 0);
  ASSERT_RC(eddy_bcast_publish_n(b, full, 17, EDDY_FOREVER), -EMSGSIZE);
  ASSERT_RC(eddy_bcast_publish_n(b, NULL, 1, EDDY_FOREVER), -EINVAL);
  ASSERT_EQ(eddy_sub_pending(s), 4);
  char got[16];
  size_t len = 99;
  memset(got, 'Z', sizeof got);
  ASSERT_RC(eddy_sub_recv_n(s, got, &len, EDDY_FOREVER), 0);
  ASSERT_EQ(len, 3);
  ASSERT(memcmp(got, "abcZ", 4) == 0);
  ASSERT_RC(eddy_sub_recv_n(s, got, &len, EDDY_FOREVER), 0);
  ASSERT_EQ(len, 16);
  ASSERT(memcmp(got, full, 16) == 0);
  memset(got, 'Z', sizeof got);
  ASSERT_RC(eddy_sub_recv_n(s, got, &len, EDDY_FOREVER), 0);
  ASSERT_EQ(len, 0);
  ASSERT_EQ(got[0], 'Z');
  ASSERT_RC(eddy_sub_recv(s, got, EDDY_FOREVER), 0); /* no length wanted */
  ASSERT(memcmp(got, "xyZ", 3) == 0);
  eddy_bcast_free(b);
  return 0;
}
TEST(broadcast_short_items_carry_their_length) { ASSERT_EQ(eddy_run(short_main, NULL), 0); }

/* A receiver parked in eddy_sub_recv_n is handed the item by the publish
 * itself, length included. */
static eddy_sub *short_sub;
static size_t short_len;
static char short_got[16];
static int short_receiver(void *arg) {
  (void)arg;
  return eddy_sub_recv_n(short_sub, short_got, &short_len, EDDY_FOREVER);
}
static int short_handoff_main(void *arg) {
  (void)arg;
  eddy_bcast *b;
  ASSERT_RC(eddy_bcast_new(&b, 16), 0);
  ASSERT_RC(eddy_bcast_subscribe(b, 4, EDDY_SUB_WAIT, &short_sub), 0);
  eddy_task *t;
  ASSERT_RC(eddy_spawn(&t, short_receiver, NULL), 0);
  ASSERT_RC(eddy_yield(), 0); /* it parks */
  ASSERT_RC(eddy_bcast_publish_n(b, "hello", 5, EDDY_FOREVER), 0);
  ASSERT_EQ(eddy_sub_pending(short_sub), 0); /* handed over, not queued */
  int res = -1;
  ASSERT_RC(eddy_join(t, &res), 0);
  ASSERT_RC(res, 0);
  ASSERT_EQ(short_len, 5);
  ASSERT(memcmp(short_got, "hello", 5) == 0);
  eddy_bcast_free(b);
  return 0;
}
TEST(broadcast_short_item_handed_to_a_waiting_receiver_with_its_length) {
  ASSERT_EQ(eddy_run(short_handoff_main, NULL), 0);
}

/* The lengths move with the items when the ring grows and when a cut-off
 * subscriber's queue is copied out. */
static int short_grow_cut_main(void *arg) {
  (void)arg;
  eddy_bcast *b;
  eddy_sub *fail, *big;
  ASSERT_RC(eddy_bcast_new(&b, 8), 0);
  ASSERT_RC(eddy_bcast_subscribe(b, 2, EDDY_SUB_FAIL, &fail), 0);
  ASSERT_RC(eddy_bcast_publish_n(b, "a", 1, EDDY_FOREVER), 0);
  ASSERT_RC(eddy_bcast_publish_n(b, "bcdef", 5, EDDY_FOREVER), 0);
  ASSERT_RC(eddy_bcast_subscribe(b, 8, EDDY_SUB_WAIT, &big), 0); /* the ring grows */
  ASSERT_RC(eddy_bcast_publish_n(b, "gh", 2, EDDY_FOREVER), 0); /* fail is cut off */
  ASSERT_EQ(eddy_sub_dropped(fail), 1);
  char got[8];
  size_t len;
  ASSERT_RC(eddy_sub_recv_n(fail, got, &len, EDDY_FOREVER), 0);
  ASSERT_EQ(len, 1);
  ASSERT_EQ(got[0], 'a');
  ASSERT_RC(eddy_sub_recv_n(fail, got, &len, EDDY_FOREVER), 0);
  ASSERT_EQ(len, 5);
  ASSERT(memcmp(got, "bcdef", 5) == 0);
  ASSERT_RC(eddy_sub_recv_n(fail, got, &len, EDDY_FOREVER), -ENOBUFS);
  ASSERT_RC(eddy_sub_recv_n(big, got, &len, EDDY_FOREVER), 0);
  ASSERT_EQ(len, 2);
  ASSERT(memcmp(got, "gh", 2) == 0);
  eddy_bcast_free(b);
  return 0;
}
TEST(broadcast_short_items_keep_their_length_across_growth_and_cut_off) {
  ASSERT_EQ(eddy_run(short_grow_cut_main, NULL), 0);
}

/* eddy_bcast_most_unread: the most any subscriber still in has left
 * unread after the last publish; a cut-off one and a reader that took the
 * item directly count for nothing. */
static int most_reader(void *arg) {
  int x;
  return eddy_sub_recv(arg, &x, EDDY_FOREVER);
}
static int most_main(void *arg) {
  (void)arg;
  eddy_bcast *b;
  eddy_sub *a, *c, *f, *w;
  ASSERT_RC(eddy_bcast_new(&b, sizeof(int)), 0);
  ASSERT_EQ(eddy_bcast_most_unread(b), 0);
  ASSERT_RC(eddy_bcast_subscribe(b, 8, EDDY_SUB_DROP_OLDEST, &a), 0);
  ASSERT_RC(eddy_bcast_subscribe(b, 8, EDDY_SUB_DROP_OLDEST, &c), 0);
  ASSERT_RC(eddy_bcast_subscribe(b, 2, EDDY_SUB_FAIL, &f), 0);
  for (int i = 0; i < 3; i++) ASSERT_RC(eddy_bcast_publish(b, &i, EDDY_FOREVER), 0);
  ASSERT_EQ(eddy_bcast_most_unread(b), 3); /* a and c; f was cut off at 2 */
  int x;
  ASSERT_RC(eddy_sub_recv(a, &x, EDDY_FOREVER), 0);
  ASSERT_RC(eddy_sub_recv(c, &x, EDDY_FOREVER), 0);
  ASSERT_RC(eddy_sub_recv(c, &x, EDDY_FOREVER), 0);
  x = 3;
  ASSERT_RC(eddy_bcast_publish(b, &x, EDDY_FOREVER), 0);
  ASSERT_EQ(eddy_bcast_most_unread(b), 3); /* a: 2 + 1 */
  eddy_sub_unsubscribe(a);
  eddy_sub_unsubscribe(c);
  ASSERT_RC(eddy_bcast_subscribe(b, 8, EDDY_SUB_WAIT, &w), 0);
  eddy_task *t;
  ASSERT_RC(eddy_spawn(&t, most_reader, w), 0);
  ASSERT_RC(eddy_yield(), 0); /* the reader waits */
  ASSERT_RC(eddy_bcast_publish(b, &x, EDDY_FOREVER), 0);
  ASSERT_EQ(eddy_bcast_most_unread(b), 0); /* handed straight to it */
  ASSERT_RC(eddy_join(t, NULL), 0);
  eddy_bcast_free(b);
  return 0;
}
TEST(broadcast_most_unread_counts_subscribers_still_in) { ASSERT_EQ(eddy_run(most_main, NULL), 0); }

/* Out of memory while subscribing (the subscription, or a larger ring):
 * -ENOMEM, and the broadcast is as it was. */
static int sub_nomem_main(void *arg) {
  (void)arg;
  eddy_bcast *b;
  eddy_sub *a, *c;
  ASSERT_RC(eddy_bcast_new(&b, sizeof(int)), 0);
  ASSERT_RC(eddy_bcast_subscribe(b, 2, EDDY_SUB_WAIT, &a), 0);
  int x = 5;
  ASSERT_RC(eddy_bcast_publish(b, &x, EDDY_FOREVER), 0);
  eddy__fault_set(EDDY_SYS_ALLOC, 0, ENOMEM, 1);
  ASSERT_RC(eddy_bcast_subscribe(b, 2, EDDY_SUB_WAIT, &c), -ENOMEM);
  eddy__fault_set(EDDY_SYS_ALLOC, 1, ENOMEM, 1); /* the ring, after the subscription */
  ASSERT_RC(eddy_bcast_subscribe(b, 64, EDDY_SUB_WAIT, &c), -ENOMEM);
  eddy__fault_set(EDDY_SYS_ALLOC, 2, ENOMEM, 1); /* the slots' lengths, after the ring */
  ASSERT_RC(eddy_bcast_subscribe(b, 64, EDDY_SUB_WAIT, &c), -ENOMEM);
  eddy__fault_clear();
  ASSERT_EQ(eddy_bcast_subscribers(b), 1);
  ASSERT_RC(eddy_bcast_subscribe(b, (size_t)-1 / 2, EDDY_SUB_WAIT, &c), -ENOMEM);
  ASSERT_RC(eddy_sub_recv(a, &x, EDDY_FOREVER), 0);
  ASSERT_EQ(x, 5);
  ASSERT_RC(eddy_bcast_subscribe(b, 0, EDDY_SUB_WAIT, &c), -EINVAL);
  eddy_bcast_free(b);
  return 0;
}
TEST(broadcast_subscribe_out_of_memory_leaves_it_unchanged) {
  ASSERT_EQ(eddy_run(sub_nomem_main, NULL), 0);
}

/* A publisher woken for room by one subscriber's read, then cancelled
 * before it runs, while another WAIT subscriber is still full: it must see
 * the cancellation, not park again where nothing cancels it. */
static eddy_bcast *woken_b;
static int woken_publisher(void *arg) {
  (void)arg;
  int x = 1;
  return eddy_bcast_publish(woken_b, &x, EDDY_FOREVER);
}
static int publish_woken_then_cancelled_main(void *arg) {
  (void)arg;
  eddy_sub *a, *b;
  ASSERT_RC(eddy_bcast_new(&woken_b, sizeof(int)), 0);
  ASSERT_RC(eddy_bcast_subscribe(woken_b, 1, EDDY_SUB_WAIT, &a), 0);
  ASSERT_RC(eddy_bcast_subscribe(woken_b, 1, EDDY_SUB_WAIT, &b), 0);
  int x = 0;
  ASSERT_RC(eddy_bcast_publish(woken_b, &x, EDDY_FOREVER), 0); /* both full */
  eddy_task *p;
  ASSERT_RC(eddy_spawn(&p, woken_publisher, NULL), 0);
  ASSERT_RC(eddy_yield(), 0); /* p parks for room */
  ASSERT_RC(eddy_sub_recv(a, &x, EDDY_FOREVER), 0); /* wakes p: b still full */
  eddy_cancel(p);
  int res = 0;
  ASSERT_RC(eddy_join_until(p, &res, eddy_deadline_in(EDDY_SEC(1))), 0);
  ASSERT_RC(res, -ECANCELED);
  ASSERT_EQ(eddy_sub_pending(b), 1); /* nothing published */
  eddy_sub_unsubscribe(a);
  eddy_sub_unsubscribe(b);
  eddy_bcast_free(woken_b);
  return 0;
}
TEST(broadcast_publish_woken_then_cancelled_sees_the_cancel) {
  ASSERT_EQ(eddy_run_opts(publish_woken_then_cancelled_main, NULL, &vclock), 0);
}

/* The last subscriber leaves, waking a publisher that waited for it to make
 * room, and the broadcast is freed before that publisher runs: it must not
 * go back to the freed broadcast (an ASan report, or a crash). */
static eddy_bcast *freed_b;
static int freed_publisher(void *arg) {
  (void)arg;
  int x = 1;
  return eddy_bcast_publish(freed_b, &x, EDDY_FOREVER);
}
static int publish_woken_then_freed_main(void *arg) {
  (void)arg;
  eddy_sub *s;
  ASSERT_RC(eddy_bcast_new(&freed_b, sizeof(int)), 0);
  ASSERT_RC(eddy_bcast_subscribe(freed_b, 1, EDDY_SUB_WAIT, &s), 0);
  int x = 0;
  ASSERT_RC(eddy_bcast_publish(freed_b, &x, EDDY_FOREVER), 0); /* s is full */
  eddy_task *p;
  ASSERT_RC(eddy_spawn(&p, freed_publisher, NULL), 0);
  ASSERT_RC(eddy_yield(), 0); /* p parks for room */
  eddy_sub_unsubscribe(s);    /* wakes p: nobody holds it up now */
  eddy_bcast_free(freed_b);   /* before p runs */
  freed_b = NULL;
  int res = 1;
  ASSERT_RC(eddy_join(p, &res), 0);
  ASSERT_RC(res, EDDY_ECLOSED);
  return 0;
}
TEST(broadcast_freed_under_a_woken_publisher) {
  ASSERT_EQ(eddy_run_opts(publish_woken_then_freed_main, NULL, &vclock), 0);
}

/* ---- eddy_dump says where a channel wait was called from: the caller's
 * own code, whether it calls the inline form (the header's macro) or the
 * exported function through its address. */
static eddy_chan *site_ch;
static int (*volatile site_recv_fn)(eddy_chan *, void *, eddy_time_t) = (eddy_chan_recv);
static __attribute__((noinline)) int site_waiter_inline(void *arg) {
  (void)arg;
  int v;
  return eddy_chan_recv(site_ch, &v, EDDY_FOREVER);
}
static __attribute__((noinline)) int site_waiter_by_address(void *arg) {
  (void)arg;
  int v;
  return site_recv_fn(site_ch, &v, EDDY_FOREVER);
}
/* The "called from" address eddy_dump shows lies in fn's code, not in the
 * library's eddy_chan_recv (where a step that read its own return address
 * would point). fn's code is taken as its first 4 KiB: an ASan build at
 * -O0 puts the call far past the first few hundred bytes. */
static int site_check(eddy_task_fn fn) {
  ASSERT_EQ(eddy_chan_new(&site_ch, sizeof(int), 0, NULL), 0);
  eddy_task *w;
  ASSERT_EQ(eddy_spawn(&w, fn, NULL), 0);
  eddy_yield();
  char buf[4096] = {0};
  FILE *f = fmemopen(buf, sizeof buf - 1, "w");
  eddy_dump(f);
  fclose(f);
  const char *at = strstr(buf, "waiting in recv (called from ");
  ASSERT(at != NULL);
  void *pc = NULL;
  ASSERT_EQ(sscanf(at + strlen("waiting in recv (called from "), "%p", &pc), 1);
  ASSERT((char *)pc > (char *)fn && (char *)pc < (char *)fn + 4096);
  char *lib = (char *)(eddy_chan_recv);
  ASSERT(!((char *)pc > lib && (char *)pc < lib + 1024));
  int one = 1;
  ASSERT_EQ(eddy_chan_send(site_ch, &one, EDDY_FOREVER), 0);
  int r = -1;
  ASSERT_EQ(eddy_join(w, &r), 0);
  ASSERT_RC(r, 0);
  eddy_chan_free(site_ch);
  return 0;
}
static int site_inline_main(void *arg) {
  (void)arg;
  return site_check(site_waiter_inline);
}
static int site_by_address_main(void *arg) {
  (void)arg;
  return site_check(site_waiter_by_address);
}
TEST(dump_shows_the_callers_site_of_an_inline_wait) {
  ASSERT_EQ(eddy_run(site_inline_main, NULL), 0);
}
TEST(dump_shows_the_callers_site_of_a_wait_called_by_address) {
  ASSERT_EQ(eddy_run(site_by_address_main, NULL), 0);
}
