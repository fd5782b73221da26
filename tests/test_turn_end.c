/* test_turn_end.c: eddy_wait_turn_end, the end of a turn of the loop,
 * where it would next wait for I/O. A task parked there runs after every
 * ready task and after I/O that is already ready, once per turn; busy
 * tasks cannot put it off past the turn; its deadline and cancellation
 * bound it. */
#include "test.h"

#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int counted[3];
static int yield_count(void *arg) {
  int *c = arg;
  for (int i = 0; i < 5; i++) {
    (*c)++;
    if (eddy_yield()) return 1;
  }
  return 0;
}
static int after_ready_main(void *arg) {
  (void)arg;
  eddy_task *t[3];
  for (int i = 0; i < 3; i++) ASSERT_RC(eddy_spawn(&t[i], yield_count, &counted[i]), 0);
  ASSERT_RC(eddy_wait_turn_end(EDDY_FOREVER), 0);
  for (int i = 0; i < 3; i++) ASSERT_EQ(counted[i], 5); /* they all ran to the end */
  for (int i = 0; i < 3; i++) ASSERT_RC(eddy_join(t[i], NULL), 0);
  return 0;
}
TEST(runs_after_every_ready_task) { ASSERT_EQ(eddy_run(after_ready_main, NULL), 0); }

/* Bytes already waiting on a socket wake their reader before the waiter:
 * the loop looks at I/O once more as the turn ends. */
static int got;
static int reader(void *arg) {
  char b[8];
  long n = eddy_stream_read(arg, b, sizeof b, EDDY_FOREVER);
  got = (int)n;
  return n > 0 ? 0 : 1;
}
static int io_first_main(void *arg) {
  (void)arg;
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  eddy_stream *s;
  ASSERT_RC(eddy_stream_from_fd(sv[0], NULL, &s), 0);
  eddy_task *t;
  ASSERT_RC(eddy_spawn(&t, reader, s), 0);
  ASSERT_RC(eddy_yield(), 0); /* the reader now waits on the socket */
  ASSERT_EQ(write(sv[1], "hello", 5), 5);
  ASSERT_RC(eddy_wait_turn_end(EDDY_FOREVER), 0);
  ASSERT_EQ(got, 5);
  ASSERT_RC(eddy_join(t, NULL), 0);
  close(sv[1]);
  eddy_stream_close(s);
  return 0;
}
TEST(ready_io_runs_before_the_waiter) { ASSERT_EQ(eddy_run(io_first_main, NULL), 0); }

/* A task that waits again in the same turn waits for the next turn: a
 * waiter in a loop sleeps with the loop instead of spinning. */
static int turns;
static int flusher(void *arg) {
  (void)arg;
  for (;;) {
    int r = eddy_wait_turn_end(EDDY_FOREVER);
    if (r) return r == -ECANCELED ? 0 : r;
    turns++;
  }
}
static int once_per_turn_main(void *arg) {
  (void)arg;
  eddy_task *f;
  ASSERT_RC(eddy_spawn(&f, flusher, NULL), 0);
  /* a first sleep, not counted: under valgrind the first pass through the
   * park path can outlast a 10 ms deadline, and a sleep whose deadline
   * passes on the way only yields (no sleeping turn) */
  ASSERT_RC(eddy_sleep(EDDY_MSEC(10)), 0);
  turns = 0;
  for (int i = 0; i < 5; i++) ASSERT_RC(eddy_sleep(EDDY_MSEC(10)), 0); /* five turns */
  /* one end per sleeping turn, not a spin */
  if (turns < 5 || turns > 7) FAIL_("%d wake-ups over 5 sleeping turns", turns);
  eddy_cancel(f);
  ASSERT_RC(eddy_join(f, NULL), 0);
  return 0;
}
TEST(once_per_turn_not_a_spin) { ASSERT_EQ(eddy_run(once_per_turn_main, NULL), 0); }

/* Tasks that keep yielding to each other do not put it off: the turn
 * ends when its budget of hand-offs is spent. */
static volatile int stop;
static long spins;
static int busy(void *arg) {
  (void)arg;
  while (!stop) {
    spins++;
    if (eddy_yield()) return 1;
  }
  return 0;
}
static int busy_main(void *arg) {
  (void)arg;
  stop = 0;
  spins = 0;
  eddy_task *b;
  ASSERT_RC(eddy_spawn(&b, busy, NULL), 0);
  ASSERT_RC(eddy_wait_turn_end(eddy_deadline_in(EDDY_SEC(10))), 0);
  ASSERT(spins > 0); /* woken while the busy task still runs */
  stop = 1;
  ASSERT_RC(eddy_join(b, NULL), 0);
  return 0;
}
TEST(busy_tasks_cannot_put_it_off) { ASSERT_EQ(eddy_run(busy_main, NULL), 0); }

/* A turn longer than the deadline (a task computing without yielding):
 * the deadline wins, and the waiter sees -ETIMEDOUT. */
static int compute(void *arg) {
  (void)arg;
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  do clock_gettime(CLOCK_MONOTONIC, &b);
  while ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < 20000000L);
  return 0;
}
static int deadline_main(void *arg) {
  (void)arg;
  eddy_task *c;
  ASSERT_RC(eddy_spawn(&c, compute, NULL), 0);
  ASSERT_RC(eddy_wait_turn_end(eddy_deadline_in(EDDY_MSEC(1))), -ETIMEDOUT);
  ASSERT_RC(eddy_join(c, NULL), 0);
  return 0;
}
TEST(deadline_bounds_a_long_turn) { ASSERT_EQ(eddy_run(deadline_main, NULL), 0); }

static int turn_waiter(void *arg) {
  (void)arg;
  return eddy_wait_turn_end(EDDY_FOREVER);
}
static int cancel_main(void *arg) {
  (void)arg;
  stop = 0;
  eddy_task *b, *w;
  ASSERT_RC(eddy_spawn(&b, busy, NULL), 0);
  ASSERT_RC(eddy_spawn(&w, turn_waiter, NULL), 0);
  ASSERT_RC(eddy_yield(), 0);
  eddy_cancel(w);
  int r = 0;
  ASSERT_RC(eddy_join(w, &r), 0);
  ASSERT_EQ(r, -ECANCELED);
  stop = 1;
  ASSERT_RC(eddy_join(b, NULL), 0);
  return 0;
}
TEST(cancelled_waiter_returns_ecanceled) { ASSERT_EQ(eddy_run(cancel_main, NULL), 0); }

/* With nothing else in the loop (no I/O, timer or hold that could wake a
 * task), a waiter is woken, not reported as a deadlock. */
static int alone_main(void *arg) {
  (void)arg;
  ASSERT_RC(eddy_wait_turn_end(EDDY_FOREVER), 0);
  ASSERT_RC(eddy_wait_turn_end(EDDY_FOREVER), 0);
  return 0;
}
TEST(alone_it_returns_rather_than_deadlock) { ASSERT_EQ(eddy_run(alone_main, NULL), 0); }

/* Outside a task there is no loop to wait on. */
TEST(outside_a_task_is_an_error) { ASSERT_RC(eddy_wait_turn_end(EDDY_FOREVER), EDDY_ENOTTASK); }
