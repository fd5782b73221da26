/* test_loop_poll.c: the loop's turns at I/O while tasks keep each other
 * busy. Every EDDY__POLL_EVERY hand-offs the scheduler looks at I/O,
 * timers and cross-thread submissions without waiting; when nothing can
 * have happened (no task waits on an fd, no submission queued, and on
 * io_uring no completion or task work in the ring) that look makes no
 * system call. These tests hold both halves: busy tasks make no system
 * call for it, and still see everything that does happen. They run on
 * whichever backend EDDY_BACKEND names (CI runs the suite on both). */
#include "test.h"

#include <pthread.h>
#include <stdatomic.h>

/* The loop's count of polls that entered the kernel (src/core/loop.c). */
unsigned long eddy__loop_kernel_polls(void);

#define SPINS 200000 /* about 200 turns at I/O between two yielding tasks */

static int yield_n(void *arg) {
  long n = (long)(intptr_t)arg;
  for (long i = 0; i < n; i++)
    if (eddy_yield()) return 1;
  return 0;
}

static int busy_main(void *arg) {
  (void)arg;
  eddy_task *a, *b;
  ASSERT_RC(eddy_spawn(&a, yield_n, (void *)(intptr_t)SPINS), 0);
  ASSERT_RC(eddy_spawn(&b, yield_n, (void *)(intptr_t)SPINS), 0);
  unsigned long before = eddy__loop_kernel_polls();
  int ra = -1, rb = -1;
  ASSERT_RC(eddy_join(a, &ra), 0);
  ASSERT_RC(eddy_join(b, &rb), 0);
  ASSERT_EQ(ra, 0);
  ASSERT_EQ(rb, 0);
  /* 2 * SPINS hand-offs: ~400 turns at I/O, none of which had anything
   * to look at. A few may enter the kernel (the first arms the ring). */
  unsigned long polls = eddy__loop_kernel_polls() - before;
  if (polls >= 8) FAIL_("%lu of ~%d turns at I/O entered the kernel", polls, 2 * SPINS / 1024);
  return 0;
}
TEST(busy_tasks_take_their_turns_at_io_without_system_calls) {
  ASSERT_EQ(eddy_run(busy_main, NULL), 0);
}

/* A task waiting on an fd keeps every turn at I/O real. */
static int pipe_fds[2];
static int read_pipe(void *arg) {
  (void)arg;
  char c;
  ASSERT_RC(eddy_wait_fd(pipe_fds[0], EDDY_READABLE, eddy_deadline_in(EDDY_SEC(5))),
            EDDY_READABLE);
  ASSERT_EQ(read(pipe_fds[0], &c, 1), 1);
  return c == 'x' ? 0 : 1;
}
static volatile int reader_done;
static int yield_until_reader_done(void *arg) {
  (void)arg;
  for (long i = 0; !reader_done; i++) {
    if (i == 5000000000L) return 1; /* never: the write comes within 20 ms */
    if (i == 100000) ASSERT_EQ(write(pipe_fds[1], "x", 1), 1);
    eddy_yield();
  }
  return 0;
}
static int fd_main(void *arg) {
  (void)arg;
  ASSERT_EQ(pipe2(pipe_fds, O_NONBLOCK | O_CLOEXEC), 0);
  reader_done = 0;
  eddy_task *r, *y;
  ASSERT_RC(eddy_spawn(&r, read_pipe, NULL), 0);
  ASSERT_RC(eddy_spawn(&y, yield_until_reader_done, NULL), 0);
  int rr = -1, ry = -1;
  ASSERT_RC(eddy_join(r, &rr), 0);
  reader_done = 1;
  ASSERT_RC(eddy_join(y, &ry), 0);
  ASSERT_EQ(rr, 0);
  ASSERT_EQ(ry, 0);
  close(pipe_fds[0]);
  close(pipe_fds[1]);
  return 0;
}
TEST(busy_tasks_do_not_hide_fd_readiness_from_a_waiting_task) {
  ASSERT_EQ(eddy_run(fd_main, NULL), 0);
}

/* A submission from another thread is run while tasks stay busy, at the
 * loop's next turn at I/O: within 1024 hand-offs of being queued. Counted
 * in hand-offs, not time, so a slow run (valgrind, which lets one thread
 * run at a time) proves the same thing. */
static volatile int submitted_ran;
static atomic_int thread_submitted;
static void on_loop(void *arg) {
  (void)arg;
  submitted_ran = 1;
}
static void *submitter(void *arg) {
  usleep(10000);
  ASSERT_RC(eddy_loop_submit(arg, on_loop, NULL), 0);
  atomic_store(&thread_submitted, 1);
  return NULL;
}
static int yield_until_submitted(void *arg) {
  (void)arg;
  long after = 0;
  eddy_time_t give_up = eddy_deadline_in(EDDY_SEC(120));
  while (!submitted_ran) {
    if (atomic_load(&thread_submitted) && ++after > 4 * 1024) return 1;
    if (eddy_now() > give_up) return 2; /* the thread never ran */
    eddy_yield();
  }
  return 0;
}
static int submit_main(void *arg) {
  (void)arg;
  submitted_ran = 0;
  atomic_store(&thread_submitted, 0);
  eddy_task *a, *b;
  ASSERT_RC(eddy_spawn(&a, yield_until_submitted, NULL), 0);
  ASSERT_RC(eddy_spawn(&b, yield_until_submitted, NULL), 0);
  pthread_t th;
  ASSERT_EQ(pthread_create(&th, NULL, submitter, eddy_loop_current()), 0);
  int ra = -1, rb = -1;
  ASSERT_RC(eddy_join(a, &ra), 0);
  ASSERT_RC(eddy_join(b, &rb), 0);
  pthread_join(th, NULL);
  ASSERT_EQ(ra, 0);
  ASSERT_EQ(rb, 0);
  return 0;
}
TEST(busy_tasks_do_not_hide_a_cross_thread_submission) {
  ASSERT_EQ(eddy_run(submit_main, NULL), 0);
}

/* A timer falls due while tasks stay busy: the sleeper wakes. */
static volatile int slept;
static int sleeper(void *arg) {
  (void)arg;
  ASSERT_RC(eddy_sleep(EDDY_MSEC(5)), 0);
  slept = 1;
  return 0;
}
static int yield_until_slept(void *arg) {
  (void)arg;
  eddy_time_t give_up = eddy_deadline_in(EDDY_SEC(5));
  while (!slept) {
    if (eddy_now() > give_up) return 1;
    eddy_yield();
  }
  return 0;
}
static int timer_main(void *arg) {
  (void)arg;
  slept = 0;
  eddy_task *s, *y;
  ASSERT_RC(eddy_spawn(&s, sleeper, NULL), 0);
  ASSERT_RC(eddy_spawn(&y, yield_until_slept, NULL), 0);
  int rs = -1, ry = -1;
  ASSERT_RC(eddy_join(s, &rs), 0);
  ASSERT_RC(eddy_join(y, &ry), 0);
  ASSERT_EQ(rs, 0);
  ASSERT_EQ(ry, 0);
  return 0;
}
TEST(busy_tasks_do_not_delay_a_timer) { ASSERT_EQ(eddy_run(timer_main, NULL), 0); }
