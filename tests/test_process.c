/* test_process.c: child processes: output streamed line by line, stdin,
 * exit status, deadlines, and killing on cancellation. */
#include "test.h"

#include <sys/wait.h>

static int lines_main(void *arg) {
  (void)arg;
  const char *argv[] = {"sh", "-c", "for i in 1 2 3; do echo line $i; sleep 0.01; done; exit 3", NULL};
  eddy_process *p;
  ASSERT_RC(eddy_process_spawn(argv, EDDY_PIPE_STDOUT, &p), 0);
  const char *line;
  size_t len;
  int n = 0;
  while (eddy_stream_read_until(eddy_process_stdout(p), '\n', 100, &line, &len, EDDY_FOREVER) == 0) {
    n++;
    ASSERT(len == 7 && memcmp(line, "line ", 5) == 0);
  }
  ASSERT_EQ(n, 3);
  int st = 0;
  ASSERT_RC(eddy_process_wait(p, &st, EDDY_FOREVER), 0);
  ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 3);
  eddy_process_free(p);
  return 0;
}
TEST(process_output_lines_and_status) { ASSERT_EQ(eddy_run(lines_main, NULL), 0); }

static int stdin_main(void *arg) {
  (void)arg;
  const char *argv[] = {"tr", "a-z", "A-Z", NULL};
  eddy_process *p;
  ASSERT_RC(eddy_process_spawn(argv, EDDY_PIPE_STDIN | EDDY_PIPE_STDOUT, &p), 0);
  ASSERT_RC(eddy_stream_write(eddy_process_stdin(p), "hello\n", 6, NULL, EDDY_FOREVER), 0);
  eddy_process_close_stdin(p);
  char buf[6];
  ASSERT_RC(eddy_stream_read_exact(eddy_process_stdout(p), buf, 6, EDDY_FOREVER), 0);
  ASSERT(memcmp(buf, "HELLO\n", 6) == 0);
  int st;
  ASSERT_RC(eddy_process_wait(p, &st, EDDY_FOREVER), 0);
  eddy_process_free(p);
  return 0;
}
TEST(process_stdin_pipe) { ASSERT_EQ(eddy_run(stdin_main, NULL), 0); }

static int waiter(void *arg) {
  int st;
  return eddy_process_wait(arg, &st, EDDY_FOREVER);
}
static int cancel_main(void *arg) {
  (void)arg;
  const char *argv[] = {"sleep", "100", NULL};
  eddy_process *p;
  ASSERT_RC(eddy_process_spawn(argv, 0, &p), 0);
  int st;
  ASSERT_RC(eddy_process_wait(p, &st, eddy_deadline_in(EDDY_MSEC(10))), -ETIMEDOUT);
  ASSERT_RC(eddy_process_kill(p, 0), 0); /* still running */
  eddy_task *t;
  eddy_spawn(&t, waiter, p);
  eddy_sleep(EDDY_MSEC(5));
  eddy_cancel(t); /* the owner is cancelled: the child is killed and reaped */
  int res = 0;
  eddy_join(t, &res);
  ASSERT_RC(res, -ECANCELED);
  ASSERT_RC(eddy_process_kill(p, 0), -ESRCH);
  eddy_process_free(p);
  const char *bad[] = {"/nonexistent/program", NULL};
  /* posix_spawn reports a failed exec as ENOENT, or (where the spawn is
   * emulated by fork, as under valgrind) as a child exiting with 127 */
  int r = eddy_process_spawn(bad, 0, &p);
  if (r == 0) {
    ASSERT_RC(eddy_process_wait(p, &st, EDDY_FOREVER), 0);
    ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 127);
    eddy_process_free(p);
  } else {
    ASSERT_RC(r, -ENOENT);
  }
  ASSERT_RC(eddy_process_spawn(NULL, 0, &p), -EINVAL);
  return 0;
}
TEST(process_killed_when_wait_cancelled) { ASSERT_EQ(eddy_run(cancel_main, NULL), 0); }

/* A child that exits without reading its stdin: writing to it is -EPIPE for
 * the caller, not a SIGPIPE that kills the whole program (on io_uring the
 * write runs in the program's own context too). */
static const eddy_loop_opts pipe_on_epoll = {.backend = EDDY_BACKEND_EPOLL};
#ifdef EDDY_HAVE_URING
static const eddy_loop_opts pipe_on_uring = {.backend = EDDY_BACKEND_IO_URING};
#endif
static int dead_reader_main(void *arg) {
  (void)arg;
  const char *argv[] = {"true", NULL};
  eddy_process *p;
  ASSERT_RC(eddy_process_spawn(argv, EDDY_PIPE_STDIN, &p), 0);
  int st;
  ASSERT_RC(eddy_process_wait(p, &st, EDDY_FOREVER), 0);
  ASSERT_RC(eddy_stream_write(eddy_process_stdin(p), "hello\n", 6, NULL, EDDY_FOREVER),
            -EPIPE);
  eddy_process_free(p);
  return 0;
}
TEST(writing_to_a_child_that_exited_is_epipe) {
  signal(SIGPIPE, SIG_DFL);
  ASSERT_RC(eddy_run_opts(dead_reader_main, NULL, &pipe_on_epoll), 0);
#ifdef EDDY_HAVE_URING
  ASSERT_RC(eddy_run_opts(dead_reader_main, NULL, &pipe_on_uring), 0);
#endif
}

/* Closing the stdin of a child that neither reads nor exits returns at
 * once (nothing to drain from the child's side). */
static int busy_child_main(void *arg) {
  (void)arg;
  const char *argv[] = {"sleep", "5", NULL};
  eddy_process *p;
  ASSERT_RC(eddy_process_spawn(argv, EDDY_PIPE_STDIN, &p), 0);
  ASSERT_RC(eddy_stream_write(eddy_process_stdin(p), "x\n", 2, NULL, EDDY_FOREVER), 0);
  eddy_time_t t0 = eddy_now();
  eddy_process_close_stdin(p);
  ASSERT(eddy_now() - t0 < EDDY_MSEC(200));
  ASSERT_RC(eddy_process_kill(p, SIGKILL), 0);
  int st;
  ASSERT_RC(eddy_process_wait(p, &st, EDDY_FOREVER), 0);
  eddy_process_free(p);
  return 0;
}
TEST(closing_stdin_of_a_busy_child_returns_at_once) {
  ASSERT_RC(eddy_run_opts(busy_child_main, NULL, &pipe_on_epoll), 0);
#ifdef EDDY_HAVE_URING
  ASSERT_RC(eddy_run_opts(busy_child_main, NULL, &pipe_on_uring), 0);
#endif
}
