/* test_fault.c: failure paths of loop start-up and of the poller, reached
 * through the system-call seam; each must give a clear code and leak
 * nothing (the harness checks the allocation count after every test). */
#include "test.h"

static int noop(void *arg) {
  (void)arg;
  return 5;
}

TEST(loop_alloc_failure) {
  eddy__fault_set(EDDY_SYS_ALLOC, 0, ENOMEM, 1);
  ASSERT_RC(eddy_run(noop, NULL), -ENOMEM);
  ASSERT_EQ(eddy_run(noop, NULL), 5); /* and it recovers */
}
static const eddy_loop_opts on_epoll = {.backend = EDDY_BACKEND_EPOLL};
TEST(epoll_create_failure) {
  eddy__fault_set(EDDY_SYS_EPOLL_CREATE, 0, EMFILE, 1);
  ASSERT_RC(eddy_run_opts(noop, NULL, &on_epoll), -EMFILE);
}
TEST(eventfd_failure) {
  eddy__fault_set(EDDY_SYS_EVENTFD, 0, ENFILE, 1);
  ASSERT_RC(eddy_run(noop, NULL), -ENFILE);
}
TEST(epoll_ctl_failure_at_start) {
  eddy__fault_set(EDDY_SYS_EPOLL_CTL, 0, ENOMEM, 1);
  ASSERT_RC(eddy_run_opts(noop, NULL, &on_epoll), -ENOMEM);
}

static int sleeper(void *arg) {
  (void)arg;
  return eddy_sleep(EDDY_MSEC(5));
}
TEST(epoll_wait_eintr_is_retried) {
  eddy__fault_set(EDDY_SYS_EPOLL_WAIT, 0, EINTR, 3);
  ASSERT_RC(eddy_run_opts(sleeper, NULL, &on_epoll), 0);
}

/* ---- fds */
static int wait_fd_main(void *arg) {
  (void)arg;
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  ASSERT_RC(eddy_wait_fd(p[0], EDDY_READABLE, eddy_deadline_in(EDDY_MSEC(5))),
            -ETIMEDOUT);
  ASSERT_EQ(write(p[1], "x", 1), 1);
  ASSERT_EQ(eddy_wait_fd(p[0], EDDY_READABLE, EDDY_FOREVER), EDDY_READABLE);
  ASSERT_EQ(eddy_wait_fd(p[1], EDDY_WRITABLE, EDDY_FOREVER), EDDY_WRITABLE);
  ASSERT_RC(eddy_wait_fd(-1, EDDY_READABLE, EDDY_FOREVER), -EINVAL);
  ASSERT_RC(eddy_wait_fd(p[0], 0, EDDY_FOREVER), -EINVAL);
  eddy__fault_set(EDDY_SYS_EPOLL_CTL, 0, ENOMEM, 1);
  ASSERT_RC(eddy_wait_fd(p[0], EDDY_READABLE, EDDY_FOREVER), -ENOMEM);
  close(p[0]);
  close(p[1]);
  return 0;
}
TEST(wait_fd_readiness_deadline_errors) {
  ASSERT_EQ(eddy_run_opts(wait_fd_main, NULL, &on_epoll), 0);
}

static eddy_watch w;
static int pipefds[2];
static int reader(void *arg) {
  char *out = arg;
  size_t got = 0;
  while (got < 5) {
    ssize_t n = read(pipefds[0], out + got, 5 - got);
    if (n > 0) {
      got += (size_t)n;
      continue;
    }
    ASSERT(n < 0 && errno == EAGAIN);
    int r = eddy_watch_wait(&w, EDDY_READABLE, EDDY_FOREVER);
    if (r) return r;
  }
  return 0;
}
static int watch_main(void *arg) {
  (void)arg;
  ASSERT_EQ(pipe2(pipefds, O_NONBLOCK), 0);
  ASSERT_RC(eddy_watch_init(&w, pipefds[0]), 0);
  char buf[8] = {0};
  eddy_task *t;
  eddy_spawn(&t, reader, buf);
  eddy_yield();
  ASSERT_RC(eddy_watch_wait(&w, EDDY_READABLE, EDDY_FOREVER), -EBUSY);
  for (const char *p = "hello"; *p; p++) {
    ASSERT_EQ(write(pipefds[1], p, 1), 1);
    eddy_sleep(EDDY_MSEC(1));
  }
  int res = -1;
  eddy_join(t, &res);
  ASSERT_RC(res, 0);
  ASSERT_STR(buf, "hello");
  /* a waiter is woken with -EBADF when the watch goes away */
  eddy_spawn(&t, reader, buf);
  eddy_yield();
  eddy_watch_fini(&w);
  eddy_join(t, &res);
  ASSERT_RC(res, -EBADF);
  ASSERT_RC(eddy_watch_wait(&w, EDDY_READABLE, EDDY_FOREVER), -EINVAL);
  ASSERT_RC(eddy_watch_init(&w, -1), -EINVAL);
  close(pipefds[0]);
  close(pipefds[1]);
  return 0;
}
TEST(watch_edge_triggered_read) { ASSERT_EQ(eddy_run(watch_main, NULL), 0); }

static int watch_cancel_main(void *arg) {
  (void)arg;
  ASSERT_EQ(pipe2(pipefds, O_NONBLOCK), 0);
  ASSERT_RC(eddy_watch_init(&w, pipefds[0]), 0);
  char buf[8];
  eddy_task *t;
  eddy_spawn(&t, reader, buf);
  eddy_yield();
  eddy_cancel(t);
  int res = 0;
  eddy_join(t, &res);
  ASSERT_RC(res, -ECANCELED);
  ASSERT(w.waiter[0] == NULL); /* the slot is free again */
  ASSERT_RC(eddy_watch_wait(&w, EDDY_READABLE, eddy_deadline_in(EDDY_MSEC(1))),
            -ETIMEDOUT);
  eddy_watch_fini(&w);
  close(pipefds[0]);
  close(pipefds[1]);
  return 0;
}
TEST(watch_wait_cancelled_frees_slot) { ASSERT_EQ(eddy_run(watch_cancel_main, NULL), 0); }
