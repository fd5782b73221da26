/* test_backend.c: choosing the I/O backend, and the behaviour that is the
 * io_uring backend's own: operations the kernel holds while the task waits
 * (cancelled and awaited, never completing into a dead frame), watches
 * closed under a waiter, injected failures, files on the ring. The rest of
 * the I/O suite runs on both backends through EDDY_BACKEND (see
 * scripts/test-all.sh). */
#include "test.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <time.h>

static int name_is(void *arg) {
  const char *want = arg;
  return strcmp(eddy_backend_name(), want) == 0 ? 0 : 1;
}

static const eddy_loop_opts on_epoll = {.backend = EDDY_BACKEND_EPOLL};
#ifdef EDDY_HAVE_URING
static const eddy_loop_opts on_uring = {.backend = EDDY_BACKEND_IO_URING};
#endif

TEST(environment_variable_chooses_backend) {
  setenv("EDDY_BACKEND", "epoll", 1);
  ASSERT_RC(eddy_run(name_is, "epoll"), 0);
#ifdef EDDY_HAVE_URING
  setenv("EDDY_BACKEND", "io_uring", 1);
  ASSERT_RC(eddy_run(name_is, "io_uring"), 0);
#endif
  setenv("EDDY_BACKEND", "kqueue", 1);
  ASSERT_RC(eddy_run(name_is, "epoll"), -EINVAL);
  ASSERT(eddy_backend_name() == NULL); /* outside a loop */
}

TEST(explicit_choice_beats_environment) {
  setenv("EDDY_BACKEND", "io_uring", 1);
  ASSERT_RC(eddy_run_opts(name_is, "epoll", &on_epoll), 0);
  eddy_loop_opts bad = {.backend = 7};
  ASSERT_RC(eddy_run_opts(name_is, "epoll", &bad), -EINVAL);
}

/* Without liburing the build has epoll alone: AUTO takes it, and an
 * explicit io_uring fails. */
#ifdef EDDY_HAVE_URING
#define URING_NAME "io_uring"
#else
#define URING_NAME "epoll"
#endif
static int under_valgrind(void) { /* its preload library is in the map */
  const char *p = getenv("LD_PRELOAD");
  return p && strstr(p, "vgpreload") != NULL;
}
TEST(auto_prefers_io_uring_where_it_works) {
  unsetenv("EDDY_BACKEND"); /* memcheck gets epoll: see select.c */
  ASSERT_RC(eddy_run(name_is, under_valgrind() ? "epoll" : URING_NAME), 0);
}

TEST(uring_setup_failure_falls_back_to_epoll_in_auto) {
  unsetenv("EDDY_BACKEND");
  eddy__fault_set(EDDY_SYS_URING_SETUP, 0, ENOSYS, 1);
  ASSERT_RC(eddy_run(name_is, "epoll"), 0);
}

TEST(unavailable_io_uring_fails_an_explicit_choice) {
  eddy__fault_set(EDDY_SYS_URING_SETUP, 0, ENOSYS, 1);
  eddy_loop_opts o = {.backend = EDDY_BACKEND_IO_URING};
  ASSERT_RC(eddy_run_opts(name_is, "io_uring", &o), -ENOSYS);
}

/* ---- behaviour on each backend (run twice: epoll and io_uring) */

static void run_both(eddy_task_fn fn) {
  ASSERT_RC(eddy_run_opts(fn, NULL, &on_epoll), 0);
#ifdef EDDY_HAVE_URING
  ASSERT_RC(eddy_run_opts(fn, NULL, &on_uring), 0);
#endif
}

/* A receive the kernel holds when the deadline passes: the call returns
 * -ETIMEDOUT, and the stream still works (no stale completion lands later
 * in the buffer or in a dead stack frame). */
static int recv_timeout_main(void *arg) {
  (void)arg;
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  eddy_stream *s;
  ASSERT_RC(eddy_stream_from_fd(sv[0], NULL, &s), 0);
  char buf[8];
  ASSERT_RC(eddy_stream_read(s, buf, sizeof buf, eddy_deadline_in(EDDY_MSEC(5))),
            -ETIMEDOUT);
  ASSERT_EQ(write(sv[1], "ab\n", 3), 3);
  const char *line;
  size_t len;
  ASSERT_RC(eddy_stream_read_until(s, '\n', 16, &line, &len, EDDY_FOREVER), 0);
  ASSERT_EQ(len, 3);
  ASSERT(memcmp(line, "ab\n", 3) == 0);
  close(sv[1]);
  eddy_stream_close(s);
  return 0;
}
TEST(held_receive_times_out_and_stream_stays_usable) { run_both(recv_timeout_main); }

static int blocked_reader(void *arg) {
  eddy_stream *s = arg;
  char buf[8];
  long n = eddy_stream_read(s, buf, sizeof buf, EDDY_FOREVER);
  return (int)n;
}
static int recv_cancel_main(void *arg) {
  (void)arg;
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  eddy_stream *s;
  ASSERT_RC(eddy_stream_from_fd(sv[0], NULL, &s), 0);
  eddy_task *t;
  ASSERT_RC(eddy_spawn(&t, blocked_reader, s), 0);
  ASSERT_RC(eddy_sleep(EDDY_MSEC(2)), 0);
  eddy_cancel(t);
  int res;
  ASSERT_RC(eddy_join(t, &res), 0);
  ASSERT_RC(res, -ECANCELED);
  /* bytes sent now are read by the next call, none lost */
  ASSERT_EQ(write(sv[1], "xyz", 3), 3);
  char buf[8];
  ASSERT_EQ(eddy_stream_read(s, buf, sizeof buf, EDDY_FOREVER), 3);
  close(sv[1]);
  eddy_stream_close(s);
  return 0;
}
TEST(held_receive_cancelled_loses_nothing) { run_both(recv_cancel_main); }

static eddy_watch watch;
static int watch_waiter(void *arg) {
  (void)arg;
  return eddy_watch_wait(&watch, EDDY_READABLE, EDDY_FOREVER);
}
static int watch_fini_main(void *arg) {
  (void)arg;
  int p[2];
  ASSERT_EQ(pipe2(p, O_NONBLOCK), 0);
  ASSERT_RC(eddy_watch_init(&watch, p[0]), 0);
  eddy_task *t;
  ASSERT_RC(eddy_spawn(&t, watch_waiter, NULL), 0);
  ASSERT_RC(eddy_sleep(EDDY_MSEC(2)), 0);
  eddy_watch_fini(&watch); /* closes the registration under the waiter */
  close(p[0]);
  int res;
  ASSERT_RC(eddy_join(t, &res), 0);
  ASSERT_RC(res, -EBADF);
  close(p[1]);
  return 0;
}
TEST(watch_closed_under_a_waiter_wakes_it_with_ebadf) { run_both(watch_fini_main); }

static int wait_fd_main(void *arg) {
  (void)arg;
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  ASSERT_RC(eddy_wait_fd(p[0], EDDY_READABLE, eddy_deadline_in(EDDY_MSEC(3))),
            -ETIMEDOUT);
  ASSERT_EQ(write(p[1], "x", 1), 1);
  ASSERT_EQ(eddy_wait_fd(p[0], EDDY_READABLE, EDDY_FOREVER), EDDY_READABLE);
  ASSERT_EQ(eddy_wait_fd(p[1], EDDY_WRITABLE, EDDY_FOREVER), EDDY_WRITABLE);
  close(p[1]); /* hang-up reads as readable */
  ASSERT(eddy_wait_fd(p[0], EDDY_READABLE, EDDY_FOREVER) & EDDY_READABLE);
  close(p[0]);
  return 0;
}
TEST(wait_fd_timeout_readiness_and_hangup) { run_both(wait_fd_main); }

static int reset_main(void *arg) {
  (void)arg;
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  eddy_stream *s;
  ASSERT_RC(eddy_stream_from_fd(sv[0], NULL, &s), 0);
  eddy__fault_set(EDDY_SYS_RECV, 0, ECONNRESET, 1);
  char buf[4];
  ASSERT_RC(eddy_stream_read(s, buf, sizeof buf, EDDY_FOREVER), -ECONNRESET);
  ASSERT_RC(eddy_stream_read(s, buf, sizeof buf, EDDY_FOREVER), -ECONNRESET);
  eddy__fault_set(EDDY_SYS_SEND, 0, EPIPE, 1);
  ASSERT_RC(eddy_stream_write(s, "x", 1, NULL, EDDY_FOREVER), -EPIPE);
  eddy__fault_clear();
  eddy_stream_close(s);
  close(sv[1]);
  return 0;
}
TEST(injected_reset_and_broken_pipe_reach_the_caller) { run_both(reset_main); }

static int accept_timeout_main(void *arg) {
  (void)arg;
  eddy_listener *l;
  ASSERT_RC(eddy_tcp_listen("127.0.0.1", 0, 8, 0, &l), 0);
  eddy_stream *c;
  ASSERT_RC(eddy_listener_accept(l, &c, NULL, eddy_deadline_in(EDDY_MSEC(3))),
            -ETIMEDOUT);
  eddy_stream *out;
  ASSERT_RC(eddy_tcp_connect("127.0.0.1", eddy_listener_port(l), NULL,
                             EDDY_FOREVER, &out),
            0);
  ASSERT_RC(eddy_listener_accept(l, &c, NULL, EDDY_FOREVER), 0);
  ASSERT_RC(eddy_stream_write(out, "hi", 2, NULL, EDDY_FOREVER), 0);
  char buf[4];
  ASSERT_EQ(eddy_stream_read(c, buf, sizeof buf, EDDY_FOREVER), 2);
  eddy_stream_shutdown(out);
  eddy_stream_close(c);
  eddy_stream_close(out);
  eddy_listener_close(l);
  return 0;
}
TEST(accept_times_out_then_accepts) { run_both(accept_timeout_main); }

static char path[64];
static int file_main(void *arg) {
  (void)arg;
  eddy_file *f;
  ASSERT_RC(eddy_file_open(path, O_RDWR | O_CREAT | O_TRUNC, 0600, &f), 0);
  ASSERT_RC(eddy_file_write(f, "hello world", 11), 0);
  ASSERT_RC(eddy_file_pwrite(f, "W", 1, 6), 0);
  ASSERT_RC(eddy_file_datasync(f), 0);
  ASSERT_RC(eddy_file_sync(f), 0);
  char buf[16] = {0};
  ASSERT_EQ(eddy_file_pread(f, buf, sizeof buf, 0), 11);
  ASSERT(memcmp(buf, "hello World", 11) == 0);
  ASSERT_EQ(eddy_file_pread(f, buf, sizeof buf, 11), 0); /* end of file */
  /* a read in a cancelled scope does not happen */
  eddy_scope sc;
  ASSERT_RC(eddy_scope_enter(&sc, EDDY_FOREVER, 0), 0);
  eddy_scope_cancel(&sc);
  ASSERT_RC(eddy_file_pread(f, buf, 4, 0), -ECANCELED);
  eddy_scope_exit(&sc);
  ASSERT_RC(eddy_file_close(f), 0);
  ASSERT_RC(eddy_file_open("/nonexistent/x", O_RDONLY, 0, &f), -ENOENT);
  unlink(path);
  return 0;
}
TEST(file_operations_and_cancelled_read) {
  snprintf(path, sizeof path, "/tmp/eddy-backend-%d", (int)getpid());
  run_both(file_main);
}

/* On epoll a read the page cache can answer must not queue behind the
 * thread pool: with the pool's only thread busy for 300 ms, the read
 * still returns before that job ends. */
static volatile int pool_job_done;
static int slow_job(void *arg) {
  (void)arg;
  struct timespec ts = {0, 300 * 1000 * 1000};
  nanosleep(&ts, NULL);
  pool_job_done = 1;
  return 0;
}
static int occupy_pool(void *arg) {
  (void)arg;
  int res;
  return eddy_to_thread(slow_job, NULL, &res);
}
static int nowait_main(void *arg) {
  (void)arg;
  eddy_pool_opts po = {.threads = 1};
  ASSERT_RC(eddy_pool_configure(&po), 0);
  eddy_file *f;
  ASSERT_RC(eddy_file_open(path, O_RDONLY, 0, &f), 0); /* uses the pool */
  eddy_task *t;
  ASSERT_RC(eddy_spawn(&t, occupy_pool, NULL), 0);
  ASSERT_RC(eddy_sleep(EDDY_MSEC(5)), 0); /* the job is running */
  char buf[8];
  ASSERT_EQ(eddy_file_pread(f, buf, 5, 0), 5);
  ASSERT(memcmp(buf, "cache", 5) == 0);
  ASSERT_EQ(pool_job_done, 0);
  ASSERT_RC(eddy_join(t, NULL), 0);
  ASSERT_RC(eddy_file_close(f), 0);
  return 0;
}
TEST(epoll_page_cache_read_does_not_wait_for_the_pool) {
  snprintf(path, sizeof path, "/tmp/eddy-nowait-%d", (int)getpid());
  FILE *fp = fopen(path, "w");
  ASSERT(fp != NULL);
  fputs("cached", fp);
  fclose(fp);
  /* Where the kernel (or an emulator: qemu-user) refuses RWF_NOWAIT, every
   * read goes to the pool by design, and there is nothing to check. */
  int fd = open(path, O_RDONLY);
  char c;
  struct iovec v = {&c, 1};
  ssize_t r = preadv2(fd, &v, 1, 0, RWF_NOWAIT);
  int e = errno;
  close(fd);
  if (r < 0 && (e == EOPNOTSUPP || e == EINVAL || e == ENOSYS)) {
    fprintf(stderr, "RWF_NOWAIT refused here (%s): nothing to check\n", strerror(e));
    unlink(path);
    return;
  }
  ASSERT_EQ(r, 1);
  ASSERT_RC(eddy_run_opts(nowait_main, NULL, &on_epoll), 0);
  unlink(path);
}

/* epoll skips the read that could only say EAGAIN after a short read; an
 * end of stream that arrived with the data raises no later edge, and must
 * still be seen. */
static int eof_with_data_main(void *arg) {
  (void)arg;
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  eddy_stream *s;
  ASSERT_RC(eddy_stream_from_fd(sv[0], NULL, &s), 0);
  char buf[8];
  ASSERT_EQ(write(sv[1], "ab", 2), 2);
  ASSERT_EQ(eddy_stream_read(s, buf, sizeof buf, EDDY_FOREVER), 2);
  ASSERT_EQ(write(sv[1], "cd", 2), 2);
  shutdown(sv[1], SHUT_WR);
  ASSERT_RC(eddy_sleep(EDDY_MSEC(1)), 0); /* let the loop see both edges */
  ASSERT_EQ(eddy_stream_read(s, buf, sizeof buf, eddy_deadline_in(EDDY_SEC(5))), 2);
  ASSERT_EQ(eddy_stream_read(s, buf, sizeof buf, eddy_deadline_in(EDDY_SEC(5))), 0); /* the end */
  close(sv[1]);
  eddy_stream_close(s);
  return 0;
}
TEST(end_of_stream_after_a_short_read_is_seen) { run_both(eof_with_data_main); }

/* io_uring keeps one accept request in the kernel across calls: the
 * connections it accepts while nobody waits are queued, not lost. */
static int queued_accept_main(void *arg) {
  (void)arg;
  eddy_listener *l;
  ASSERT_RC(eddy_tcp_listen("127.0.0.1", 0, 8, 0, &l), 0);
  eddy_stream *c, *out[3];
  ASSERT_RC(eddy_listener_accept(l, &c, NULL, eddy_deadline_in(EDDY_MSEC(1))),
            -ETIMEDOUT);
  for (int i = 0; i < 3; i++) {
    ASSERT_RC(eddy_tcp_connect("127.0.0.1", eddy_listener_port(l), NULL,
                               EDDY_FOREVER, &out[i]), 0);
    char b = (char)('a' + i);
    ASSERT_RC(eddy_stream_write(out[i], &b, 1, NULL, EDDY_FOREVER), 0);
  }
  ASSERT_RC(eddy_sleep(EDDY_MSEC(5)), 0);
  for (int i = 0; i < 3; i++) {
    ASSERT_RC(eddy_listener_accept(l, &c, NULL, EDDY_FOREVER), 0);
    char b;
    ASSERT_EQ(eddy_stream_read(c, &b, 1, EDDY_FOREVER), 1);
    ASSERT_EQ(b, 'a' + i);
    eddy_stream_shutdown(out[i]);
    eddy_stream_close(c);
    eddy_stream_close(out[i]);
  }
  eddy_listener_close(l);
  return 0;
}
TEST(connections_arriving_between_accepts_are_kept_in_order) {
  run_both(queued_accept_main);
}

static int count_fds(void) {
  int n = 0;
  for (int fd = 0; fd < 1024; fd++) n += fcntl(fd, F_GETFD) >= 0;
  return n;
}
static int close_queued_main(void *arg) {
  (void)arg;
  int before = count_fds();
  eddy_listener *l;
  ASSERT_RC(eddy_tcp_listen("127.0.0.1", 0, 8, 0, &l), 0);
  eddy_stream *c, *out[2];
  ASSERT_RC(eddy_listener_accept(l, &c, NULL, eddy_deadline_in(EDDY_MSEC(1))),
            -ETIMEDOUT);
  for (int i = 0; i < 2; i++)
    ASSERT_RC(eddy_tcp_connect("127.0.0.1", eddy_listener_port(l), NULL,
                               EDDY_FOREVER, &out[i]), 0);
  ASSERT_RC(eddy_sleep(EDDY_MSEC(5)), 0);
  eddy_listener_close(l); /* queued connections are closed, not leaked */
  for (int i = 0; i < 2; i++) {
    char b;
    long n = eddy_stream_read(out[i], &b, 1, eddy_deadline_in(EDDY_SEC(5)));
    ASSERT(n == 0 || n == -ECONNRESET);
    eddy_stream_close(out[i]);
  }
  ASSERT_EQ(count_fds(), before);
  return 0;
}
TEST(closing_a_listener_closes_connections_nobody_took) {
  run_both(close_queued_main);
}


/* A stream closed by one task while another is blocked reading it: the
 * reader is woken with -EBADF at once (on io_uring the kernel still holds
 * its receive, which must be cancelled, not left to complete into the freed
 * stream later), and nothing touches the freed stream afterwards. */
static int closed_reader(void *arg) {
  eddy_stream *s = arg;
  char buf[8];
  return (int)eddy_stream_read(s, buf, sizeof buf, EDDY_FOREVER);
}
static int close_under_reader_main(void *arg) {
  (void)arg;
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  eddy_stream *s;
  ASSERT_RC(eddy_stream_from_fd(sv[0], NULL, &s), 0);
  eddy_task *t;
  ASSERT_RC(eddy_spawn(&t, closed_reader, s), 0);
  ASSERT_RC(eddy_sleep(EDDY_MSEC(2)), 0); /* the reader is parked */
  eddy_stream_close(s);
  int res;
  ASSERT_RC(eddy_join_until(t, &res, eddy_deadline_in(EDDY_SEC(2))), 0);
  ASSERT_RC(res, -EBADF);
  ASSERT_EQ(send(sv[1], "late", 4, MSG_NOSIGNAL), -1); /* the peer sees the close */
  close(sv[1]);
  return 0;
}
TEST(stream_closed_under_a_reader_wakes_it) { run_both(close_under_reader_main); }

/* The same for a listener closed under a task blocked in accept (the usual
 * way a server stops accepting). */
static int closed_acceptor(void *arg) {
  eddy_listener *l = arg;
  eddy_stream *c;
  int r = eddy_listener_accept(l, &c, NULL, EDDY_FOREVER);
  if (r == 0) eddy_stream_close(c);
  return r;
}
static int close_under_accept_main(void *arg) {
  (void)arg;
  eddy_listener *l;
  ASSERT_RC(eddy_tcp_listen("127.0.0.1", 0, 8, 0, &l), 0);
  eddy_task *t;
  ASSERT_RC(eddy_spawn(&t, closed_acceptor, l), 0);
  ASSERT_RC(eddy_sleep(EDDY_MSEC(2)), 0);
  eddy_listener_close(l);
  int res;
  ASSERT_RC(eddy_join_until(t, &res, eddy_deadline_in(EDDY_SEC(2))), 0);
  ASSERT_RC(res, -EBADF);
  return 0;
}
TEST(listener_closed_under_an_acceptor_wakes_it) { run_both(close_under_accept_main); }

/* A waiter that a cancellation woke keeps its registration until it runs.
 * A close or an edge arriving before then must not wake it a second time:
 * that queued it twice, which lost the tasks queued behind it (a hang) or
 * crashed. In each case a task queued behind the waiter must still run,
 * and the waiter returns once. */
static int other_ran;
static int queued_behind(void *arg) {
  (void)arg;
  eddy_yield();
  other_ran = 1;
  return 0;
}
static int cancelled_then_closed_accept_main(void *arg) {
  (void)arg;
  eddy_listener *l;
  ASSERT_RC(eddy_tcp_listen("127.0.0.1", 0, 8, 0, &l), 0);
  eddy_task *a, *o;
  ASSERT_RC(eddy_spawn(&a, closed_acceptor, l), 0);
  ASSERT_RC(eddy_sleep(EDDY_MSEC(2)), 0); /* the acceptor is parked */
  eddy_cancel(a);                          /* woken, not yet run */
  other_ran = 0;
  ASSERT_RC(eddy_spawn(&o, queued_behind, NULL), 0);
  eddy_listener_close(l); /* the listener goes before the acceptor runs */
  int res;
  ASSERT_RC(eddy_join_until(a, &res, eddy_deadline_in(EDDY_SEC(2))), 0);
  ASSERT_RC(res, -EBADF); /* told not to touch the listener, which is gone */
  ASSERT_RC(eddy_join_until(o, NULL, eddy_deadline_in(EDDY_SEC(2))), 0);
  ASSERT(other_ran);
  return 0;
}
TEST(listener_closed_after_its_acceptor_was_cancelled_wakes_it_once) {
  run_both(cancelled_then_closed_accept_main);
}

static int cancelled_then_fini_main(void *arg) {
  (void)arg;
  int p[2];
  ASSERT_EQ(pipe2(p, O_NONBLOCK), 0);
  ASSERT_RC(eddy_watch_init(&watch, p[0]), 0);
  eddy_task *t, *o;
  ASSERT_RC(eddy_spawn(&t, watch_waiter, NULL), 0);
  ASSERT_RC(eddy_sleep(EDDY_MSEC(2)), 0);
  eddy_cancel(t);
  other_ran = 0;
  ASSERT_RC(eddy_spawn(&o, queued_behind, NULL), 0);
  eddy_watch_fini(&watch);
  close(p[0]);
  int res;
  ASSERT_RC(eddy_join_until(t, &res, eddy_deadline_in(EDDY_SEC(2))), 0);
  ASSERT_RC(res, -EBADF);
  ASSERT_RC(eddy_join_until(o, NULL, eddy_deadline_in(EDDY_SEC(2))), 0);
  ASSERT(other_ran);
  close(p[1]);
  return 0;
}
TEST(watch_closed_after_its_waiter_was_cancelled_wakes_it_once) {
  run_both(cancelled_then_fini_main);
}

/* The edge case: more ready tasks than the loop's hand-off budget (1024)
 * are queued ahead of the cancelled waiter, so the loop polls before it
 * runs and sees its fd readable. */
#define SPINNERS 1500
static int spinners_done;
static int spinner(void *arg) {
  (void)arg;
  for (int i = 0; i < 20; i++) eddy_yield();
  spinners_done++;
  return 0;
}
static int cancelled_then_edge_main(void *arg) {
  (void)arg;
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  ASSERT_RC(eddy_watch_init(&watch, sv[0]), 0);
  eddy_task *t;
  ASSERT_RC(eddy_spawn(&t, watch_waiter, NULL), 0);
  eddy_yield(); /* the waiter parks */
  spinners_done = 0;
  for (int i = 0; i < SPINNERS; i++) ASSERT_RC(eddy_spawn(NULL, spinner, NULL), 0);
  eddy_yield(); /* the spinners are all queued */
  eddy_cancel(t);
  ASSERT_EQ(write(sv[1], "x", 1), 1); /* an edge for the loop's next poll */
  int res;
  ASSERT_RC(eddy_join_until(t, &res, eddy_deadline_in(EDDY_SEC(5))), 0);
  ASSERT_RC(res, -ECANCELED);
  /* the edge was kept for the next wait */
  ASSERT_RC(eddy_watch_wait(&watch, EDDY_READABLE, eddy_deadline_in(EDDY_SEC(1))), 0);
  while (spinners_done < SPINNERS) ASSERT_RC(eddy_sleep(EDDY_MSEC(1)), 0);
  eddy_watch_fini(&watch);
  close(sv[0]);
  close(sv[1]);
  return 0;
}
TEST(edge_after_its_waiter_was_cancelled_does_not_wake_it_again) {
  run_both(cancelled_then_edge_main);
}

static int cancelled_then_connection_main(void *arg) {
  (void)arg;
  eddy_listener *l;
  ASSERT_RC(eddy_tcp_listen("127.0.0.1", 0, 8, 0, &l), 0);
  eddy_task *a;
  ASSERT_RC(eddy_spawn(&a, closed_acceptor, l), 0);
  eddy_yield(); /* the acceptor parks */
  spinners_done = 0;
  for (int i = 0; i < SPINNERS; i++) ASSERT_RC(eddy_spawn(NULL, spinner, NULL), 0);
  eddy_yield();
  eddy_cancel(a);
  eddy_stream *out, *c;
  /* the connection arrives while the acceptor waits its turn */
  ASSERT_RC(eddy_tcp_connect("127.0.0.1", eddy_listener_port(l), NULL,
                             eddy_deadline_in(EDDY_SEC(5)), &out),
            0);
  int res;
  ASSERT_RC(eddy_join_until(a, &res, eddy_deadline_in(EDDY_SEC(5))), 0);
  ASSERT_RC(res, -ECANCELED);
  /* and waits for the next accept */
  ASSERT_RC(eddy_listener_accept(l, &c, NULL, eddy_deadline_in(EDDY_SEC(2))), 0);
  while (spinners_done < SPINNERS) ASSERT_RC(eddy_sleep(EDDY_MSEC(1)), 0);
  eddy_stream_shutdown(out);
  eddy_stream_close(c);
  eddy_stream_close(out);
  eddy_listener_close(l);
  return 0;
}
TEST(connection_after_its_acceptor_was_cancelled_does_not_wake_it_again) {
  run_both(cancelled_then_connection_main);
}

/* Two tasks reading one stream: the second is refused with -EBUSY on both
 * backends (on io_uring two receives in flight would land in the same bytes
 * of the stream's buffer), the refusal leaves the stream healthy, and the
 * first reader gets exactly what was sent. */
static int second_reader_main(void *arg) {
  (void)arg;
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  eddy_stream *s;
  ASSERT_RC(eddy_stream_from_fd(sv[0], NULL, &s), 0);
  eddy_task *t;
  ASSERT_RC(eddy_spawn(&t, blocked_reader, s), 0);
  ASSERT_RC(eddy_sleep(EDDY_MSEC(2)), 0); /* the first reader is parked */
  char buf[8];
  ASSERT_RC(eddy_stream_read(s, buf, sizeof buf, eddy_deadline_in(EDDY_MSEC(50))),
            -EBUSY);
  ASSERT_EQ(write(sv[1], "abc", 3), 3);
  int res;
  ASSERT_RC(eddy_join_until(t, &res, eddy_deadline_in(EDDY_SEC(2))), 0);
  ASSERT_EQ(res, 3);
  ASSERT_EQ(write(sv[1], "de", 2), 2);
  ASSERT_EQ(eddy_stream_read(s, buf, sizeof buf, eddy_deadline_in(EDDY_SEC(2))), 2);
  ASSERT(memcmp(buf, "de", 2) == 0);
  close(sv[1]);
  eddy_stream_close(s);
  return 0;
}
TEST(second_concurrent_reader_is_refused) { run_both(second_reader_main); }

/* TCP urgent data stops a read short at the urgent mark with bytes still
 * queued behind it, and no new edge will come for them: a reader that
 * takes every short read for "the socket is empty" (epoll) would wait
 * forever for bytes it already has. */
static int urgent_main(void *arg) {
  (void)arg;
  eddy_listener *l;
  ASSERT_RC(eddy_tcp_listen("127.0.0.1", 0, 8, 0, &l), 0);
  int c = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)eddy_listener_port(l)),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  ASSERT_EQ(connect(c, (struct sockaddr *)&a, sizeof a), 0);
  eddy_stream *s;
  ASSERT_RC(eddy_listener_accept(l, &s, NULL, EDDY_FOREVER), 0);
  ASSERT_EQ(send(c, "ab", 2, 0), 2);
  ASSERT_EQ(send(c, "!", 1, MSG_OOB), 1);
  ASSERT_EQ(send(c, "cd", 2, 0), 2);
  ASSERT_RC(eddy_sleep(EDDY_MSEC(5)), 0); /* every edge seen before reading */
  char buf[16];
  /* "ab", then "cd" (a one-shot receive stops at the mark; a multishot
   * receive has both queued by now and hands them out together) */
  size_t got = 0;
  while (got < 4) {
    long n = eddy_stream_read(s, buf + got, sizeof buf - got,
                              eddy_deadline_in(EDDY_SEC(2)));
    ASSERT(n > 0);
    got += (size_t)n;
  }
  ASSERT_EQ(got, 4);
  ASSERT(memcmp(buf, "abcd", 4) == 0);
  close(c);
  eddy_stream_close(s);
  eddy_listener_close(l);
  return 0;
}
TEST(urgent_data_does_not_stall_the_reader) { run_both(urgent_main); }

/* io_uring: more waits than the submission queue holds (SQ full: the
 * backend hands the queue to the kernel mid-turn) and more completions at
 * once than the completion queue holds (overflow): every waiter still
 * wakes, once. Then a cancelled crowd: every held operation is cancelled
 * and awaited. (epoll allows one eddy_wait_fd per fd, and has no queues of
 * its own to overflow.) */
#ifdef EDDY_HAVE_URING
#define CROWD 5000
static int crowd_fd;
static int crowd_woken;
static int crowd_waiter(void *arg) {
  (void)arg;
  int r = eddy_wait_fd(crowd_fd, EDDY_READABLE, EDDY_FOREVER);
  if (r == EDDY_READABLE) crowd_woken++;
  return r;
}
static int crowd_main(void *arg) {
  (void)arg;
  int p[2];
  ASSERT_EQ(pipe2(p, O_NONBLOCK), 0);
  crowd_fd = p[0];
  crowd_woken = 0;
  static eddy_task *ts[CROWD];
  eddy_spawn_opts so = {.stack_size = EDDY_STACK_MIN};
  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < CROWD; i++) ASSERT_RC(eddy_spawn_ex(&ts[i], crowd_waiter, NULL, &so), 0);
    ASSERT_RC(eddy_sleep(EDDY_MSEC(20)), 0); /* all parked */
    if (round == 0) {
      ASSERT_EQ(write(p[1], "x", 1), 1);
    } else {
      for (int i = 0; i < CROWD; i++) eddy_cancel(ts[i]);
    }
    for (int i = 0; i < CROWD; i++) {
      int res;
      ASSERT_RC(eddy_join_until(ts[i], &res, eddy_deadline_in(EDDY_SEC(10))), 0);
      ASSERT_RC(res, round == 0 ? (int)EDDY_READABLE : -ECANCELED);
    }
    ASSERT_EQ(crowd_woken, CROWD); /* round 1 adds none */
    char c;
    if (round == 0) ASSERT_EQ(read(p[0], &c, 1), 1);
  }
  close(p[0]);
  close(p[1]);
  return 0;
}
#endif
TEST(crowd_of_waits_overflows_the_queues) {
#ifdef EDDY_HAVE_URING
  ASSERT_RC(eddy_run_opts(crowd_main, NULL, &on_uring), 0);
#endif
}

/* A big write to a peer that does not read times out part-way: *sent says
 * exactly how many bytes went (the peer receives that many, in order, and
 * no more), and the stream keeps working for the rest. */
static int partial_send_main(void *arg) {
  (void)arg;
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  eddy_stream *s;
  ASSERT_RC(eddy_stream_from_fd(sv[0], NULL, &s), 0);
  size_t big = (size_t)4 << 20;
  unsigned char *src = malloc(big), *dst = malloc(big);
  ASSERT(src && dst);
  for (size_t i = 0; i < big; i++) src[i] = (unsigned char)(i * 7 + i / 251);
  size_t sent = 0;
  ASSERT_RC(eddy_stream_write(s, src, big, &sent, eddy_deadline_in(EDDY_MSEC(20))),
            -ETIMEDOUT);
  ASSERT(sent > 0 && sent < big);
  size_t got = 0;
  for (;;) { /* drain what is in the socket: exactly sent bytes */
    ssize_t n = read(sv[1], dst + got, big - got);
    if (n <= 0) break;
    got += (size_t)n;
  }
  ASSERT_EQ(got, sent);
  ASSERT(memcmp(src, dst, got) == 0);
  size_t rest = 0;
  ASSERT_RC(eddy_stream_write(s, src + sent, 1000, &rest, EDDY_FOREVER), 0);
  ASSERT_EQ(rest, 1000);
  ASSERT_EQ(read(sv[1], dst, 2000), 1000);
  ASSERT(memcmp(src + sent, dst, 1000) == 0);
  free(src);
  free(dst);
  close(sv[1]);
  eddy_stream_close(s);
  return 0;
}
TEST(write_timed_out_part_way_reports_what_was_sent) { run_both(partial_send_main); }

/* A stream over a socket that keeps message boundaries (SOCK_SEQPACKET)
 * reads one message per receive, so a short read does not mean the socket
 * is empty: two messages sent together are both read. */
static int seqpacket_main(void *arg) {
  (void)arg;
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
  eddy_stream *s;
  ASSERT_RC(eddy_stream_from_fd(sv[0], NULL, &s), 0);
  ASSERT_EQ(write(sv[1], "ab", 2), 2);
  ASSERT_EQ(write(sv[1], "cd", 2), 2);
  ASSERT_RC(eddy_sleep(EDDY_MSEC(5)), 0); /* every edge seen before reading */
  char buf[16];
  ASSERT_EQ(eddy_stream_read(s, buf, sizeof buf, EDDY_FOREVER), 2);
  ASSERT_EQ(eddy_stream_read(s, buf, sizeof buf, eddy_deadline_in(EDDY_SEC(2))), 2);
  ASSERT(memcmp(buf, "cd", 2) == 0);
  close(sv[1]);
  eddy_stream_close(s);
  return 0;
}
TEST(message_socket_read_after_a_short_read) { run_both(seqpacket_main); }

/* A TCP peer that resets the connection (close with a zero linger) while
 * the reader is parked: the reader gets -ECONNRESET on both backends, and
 * the stream stays reset. */
static int rst_main(void *arg) {
  (void)arg;
  eddy_listener *l;
  ASSERT_RC(eddy_tcp_listen("127.0.0.1", 0, 8, 0, &l), 0);
  int c = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)eddy_listener_port(l)),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  ASSERT_EQ(connect(c, (struct sockaddr *)&a, sizeof a), 0);
  eddy_stream *s;
  ASSERT_RC(eddy_listener_accept(l, &s, NULL, EDDY_FOREVER), 0);
  eddy_task *t;
  ASSERT_RC(eddy_spawn(&t, blocked_reader, s), 0);
  ASSERT_RC(eddy_sleep(EDDY_MSEC(2)), 0);
  struct linger lg = {.l_onoff = 1, .l_linger = 0};
  ASSERT_EQ(setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
  close(c);
  int res;
  ASSERT_RC(eddy_join_until(t, &res, eddy_deadline_in(EDDY_SEC(2))), 0);
  ASSERT_RC(res, -ECONNRESET);
  char buf[4];
  ASSERT_RC(eddy_stream_read(s, buf, sizeof buf, EDDY_FOREVER), -ECONNRESET);
  eddy_stream_close(s);
  eddy_listener_close(l);
  return 0;
}
TEST(reset_under_a_parked_reader_reaches_it) { run_both(rst_main); }

/* main cancels a task parked in a receive and one parked in an accept,
 * detaches them and returns at once: the loop awaits their cancelled
 * operations and ends, and each task closes what it held. */
static int parked_reader_closes(void *arg) {
  eddy_stream *s = arg;
  char buf[8];
  long n = eddy_stream_read(s, buf, sizeof buf, EDDY_FOREVER);
  eddy_stream_close(s);
  return (int)n;
}
static int parked_acceptor_closes(void *arg) {
  eddy_listener *l = arg;
  eddy_stream *c;
  int r = eddy_listener_accept(l, &c, NULL, EDDY_FOREVER);
  eddy_listener_close(l);
  return r;
}
static int shutdown_sv[2];
static int shutdown_in_flight_main(void *arg) {
  (void)arg;
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, shutdown_sv), 0);
  eddy_stream *s;
  ASSERT_RC(eddy_stream_from_fd(shutdown_sv[0], NULL, &s), 0);
  eddy_listener *l;
  ASSERT_RC(eddy_tcp_listen("127.0.0.1", 0, 8, 0, &l), 0);
  eddy_task *t[2];
  ASSERT_RC(eddy_spawn(&t[0], parked_reader_closes, s), 0);
  ASSERT_RC(eddy_spawn(&t[1], parked_acceptor_closes, l), 0);
  ASSERT_RC(eddy_sleep(EDDY_MSEC(2)), 0);
  for (int i = 0; i < 2; i++) {
    eddy_cancel(t[i]);
    eddy_detach(t[i]);
  }
  return 0;
}
TEST(loop_ends_with_operations_in_flight) {
  for (int b = 0; b < 2; b++) {
#ifndef EDDY_HAVE_URING
    if (b) break;
#endif
    eddy_loop_opts o = {.backend = b ? EDDY_BACKEND_IO_URING : EDDY_BACKEND_EPOLL,
                        .grace = EDDY_MSEC(50)};
    ASSERT_RC(eddy_run_opts(shutdown_in_flight_main, NULL, &o), 0);
    /* the reader closed its end: the peer sees the close */
    char c;
    ASSERT_EQ(read(shutdown_sv[1], &c, 1), 0);
    close(shutdown_sv[1]);
  }
}

/* Every way out of a held operation (timeout, cancellation, the owner
 * closed under it) gives back its count of tasks waiting on I/O: with all
 * of them done and the last task waiting for an event nobody sets, the
 * loop still sees the deadlock instead of sleeping forever. */
static int deadlock_after_io_main(void *arg) {
  (void)arg;
  ASSERT_RC(recv_timeout_main(NULL), 0);
  ASSERT_RC(recv_cancel_main(NULL), 0);
  ASSERT_RC(watch_fini_main(NULL), 0);
  ASSERT_RC(close_under_reader_main(NULL), 0);
  ASSERT_RC(close_under_accept_main(NULL), 0);
  ASSERT_RC(second_reader_main(NULL), 0);
  eddy_event e;
  eddy_event_init(&e);
  ASSERT_RC(eddy_event_wait(&e), -ECANCELED); /* reported, then cancelled */
  return 0;
}
TEST(deadlock_still_seen_after_held_operations) {
  alarm(20); /* a leaked count would make the loop sleep forever */
  run_both(deadlock_after_io_main);
  alarm(0);
}

/* io_uring: two writers parked on one full pipe (writes share the write
 * slot there) are both woken with -EBADF when the stream is closed, and
 * neither touches it afterwards. (A socket's close shuts writing down
 * first, which fails parked sends with -EPIPE on either backend.) */
#ifdef EDDY_HAVE_URING
static int parked_writer(void *arg) {
  static char big[1 << 20];
  return eddy_stream_write(arg, big, sizeof big, NULL, EDDY_FOREVER);
}
static int two_writers_main(void *arg) {
  (void)arg;
  int sv[2];
  ASSERT_EQ(pipe2(sv, O_NONBLOCK), 0);
  eddy_stream *s;
  ASSERT_RC(eddy_stream_from_fd(sv[1], NULL, &s), 0);
  eddy_task *t[2];
  for (int i = 0; i < 2; i++) ASSERT_RC(eddy_spawn(&t[i], parked_writer, s), 0);
  ASSERT_RC(eddy_sleep(EDDY_MSEC(5)), 0); /* both parked on a full pipe */
  eddy_stream_close(s);
  for (int i = 0; i < 2; i++) {
    int res;
    ASSERT_RC(eddy_join_until(t[i], &res, eddy_deadline_in(EDDY_SEC(2))), 0);
    ASSERT_RC(res, -EBADF);
  }
  close(sv[0]);
  return 0;
}
#endif
TEST(two_writers_closed_under_on_io_uring) {
#ifdef EDDY_HAVE_URING
  ASSERT_RC(eddy_run_opts(two_writers_main, NULL, &on_uring), 0);
#endif
}

/* The first writes on a pipe stream, made by two tasks at once: both go
 * through (on io_uring both first try a send, and both learn it is no
 * socket; the second must not take the first one's finding for an error). */
static int small_writer(void *arg) {
  return eddy_stream_write(arg, "ab", 2, NULL, eddy_deadline_in(EDDY_SEC(2)));
}
static int two_first_writes_main(void *arg) {
  (void)arg;
  int p[2];
  ASSERT_EQ(pipe2(p, O_NONBLOCK), 0);
  eddy_stream *s;
  ASSERT_RC(eddy_stream_from_fd(p[1], NULL, &s), 0);
  eddy_task *t[2];
  for (int i = 0; i < 2; i++) ASSERT_RC(eddy_spawn(&t[i], small_writer, s), 0);
  for (int i = 0; i < 2; i++) {
    int res;
    ASSERT_RC(eddy_join(t[i], &res), 0);
    ASSERT_RC(res, 0);
  }
  char buf[8];
  ASSERT_EQ(read(p[0], buf, sizeof buf), 4);
  ASSERT_RC(eddy_stream_close(s), 0);
  close(p[0]);
  return 0;
}
TEST(first_writes_on_a_pipe_from_two_tasks) { run_both(two_first_writes_main); }

/* An accept whose deadline has already passed when a connection is
 * waiting: it may take the connection (epoll tries first) or give up as
 * the kernel accepts it (io_uring); either way the connection is not lost,
 * the next accept returns it. */
static int accept_expired_main(void *arg) {
  (void)arg;
  eddy_listener *l;
  ASSERT_RC(eddy_tcp_listen("127.0.0.1", 0, 8, 0, &l), 0);
  eddy_stream *out, *c = NULL;
  ASSERT_RC(eddy_tcp_connect("127.0.0.1", eddy_listener_port(l), NULL,
                             EDDY_FOREVER, &out),
            0);
  ASSERT_RC(eddy_stream_write(out, "hi", 2, NULL, EDDY_FOREVER), 0);
  int r = eddy_listener_accept(l, &c, NULL, eddy_now() - 1);
  if (r == -ETIMEDOUT)
    r = eddy_listener_accept(l, &c, NULL, eddy_deadline_in(EDDY_SEC(2)));
  ASSERT_RC(r, 0);
  char buf[4];
  ASSERT_EQ(eddy_stream_read(c, buf, sizeof buf, eddy_deadline_in(EDDY_SEC(2))), 2);
  eddy_stream_shutdown(out);
  eddy_stream_close(c);
  eddy_stream_close(out);
  eddy_listener_close(l);
  return 0;
}
TEST(connection_accepted_as_accept_gives_up_is_kept) { run_both(accept_expired_main); }

/* A one-byte read is data: the end of stream is 0, as read(2) says it
 * (EDDY_DONE is 1, so it could not tell the two apart). */
static int one_byte_main(void *arg) {
  (void)arg;
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  eddy_stream *s;
  ASSERT_RC(eddy_stream_from_fd(sv[0], NULL, &s), 0);
  ASSERT_EQ(write(sv[1], "x", 1), 1);
  char buf[8];
  ASSERT_EQ(eddy_stream_read(s, buf, sizeof buf, EDDY_FOREVER), 1);
  ASSERT_EQ(buf[0], 'x');
  close(sv[1]);
  ASSERT_EQ(eddy_stream_read(s, buf, sizeof buf, EDDY_FOREVER), 0);
  ASSERT_RC(eddy_stream_read(s, buf, 0, EDDY_FOREVER), -EINVAL);
  eddy_stream_close(s);
  return 0;
}
TEST(one_byte_read_is_data_and_the_end_is_zero) { run_both(one_byte_main); }

/* A read the page cache cannot answer (RWF_NOWAIT says EAGAIN, injected
 * here) goes to the ring or the pool and still returns the bytes. */
static int uncached_main(void *arg) {
  (void)arg;
  eddy_file *f;
  ASSERT_RC(eddy_file_open(path, O_RDWR | O_CREAT | O_TRUNC, 0600, &f), 0);
  ASSERT_RC(eddy_file_write(f, "on disk", 7), 0);
  char buf[8] = {0};
  eddy__fault_set(EDDY_SYS_READ, 0, EAGAIN, 1);
  ASSERT_EQ(eddy_file_pread(f, buf, 7, 0), 7);
  ASSERT(memcmp(buf, "on disk", 7) == 0);
  eddy__fault_set(EDDY_SYS_READ, 0, EIO, 1);
  ASSERT_RC(eddy_file_pread(f, buf, 7, 0), -EIO);
  eddy__fault_clear();
  ASSERT_RC(eddy_file_close(f), 0);
  unlink(path);
  return 0;
}
TEST(uncached_read_goes_to_the_ring_or_the_pool) {
  snprintf(path, sizeof path, "/tmp/eddy-uncached-%d", (int)getpid());
  run_both(uncached_main);
}

/* Bytes arrive for a parked reader and, in the same loop turn, another task
 * closes the stream before the reader runs: the reader must be told the
 * stream is gone (-EBADF) rather than go back to the freed stream. (The
 * closer is woken first: its fd became ready first.) */
static eddy_stream *woken_s;
static int woken_trigger[2];
static int woken_reader(void *arg) {
  (void)arg;
  char buf[8];
  return (int)eddy_stream_read(woken_s, buf, sizeof buf, EDDY_FOREVER);
}
static int woken_closer(void *arg) {
  (void)arg;
  int r = eddy_wait_fd(woken_trigger[0], EDDY_READABLE, EDDY_FOREVER);
  if (r < 0) return r;
  eddy_stream_close(woken_s);
  return 0;
}
static int woken_reader_closed_main(void *arg) {
  (void)arg;
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  ASSERT_EQ(pipe2(woken_trigger, O_CLOEXEC), 0);
  ASSERT_RC(eddy_stream_from_fd(sv[0], NULL, &woken_s), 0);
  eddy_task *r, *c;
  ASSERT_RC(eddy_spawn(&c, woken_closer, NULL), 0);
  ASSERT_RC(eddy_spawn(&r, woken_reader, NULL), 0);
  ASSERT_RC(eddy_sleep(EDDY_MSEC(5)), 0); /* both parked */
  ASSERT_EQ(write(woken_trigger[1], "c", 1), 1);  /* the closer first */
  ASSERT_EQ(send(sv[1], "x", 1, MSG_NOSIGNAL), 1); /* then bytes for the reader */
  close(sv[1]); /* the close finds the end at once: it does not wait */
  int rr = 1, rc = 1;
  ASSERT_RC(eddy_join_until(c, &rc, eddy_deadline_in(EDDY_SEC(2))), 0);
  ASSERT_RC(eddy_join_until(r, &rr, eddy_deadline_in(EDDY_SEC(2))), 0);
  ASSERT_RC(rc, 0);
  ASSERT(rr == 1 || rr == -EBADF); /* it read the byte before the close, or was told */
  close(woken_trigger[0]);
  close(woken_trigger[1]);
  return 0;
}
TEST(reader_woken_by_bytes_then_closed_before_it_runs) { run_both(woken_reader_closed_main); }

/* The same with a close that does not wait for the peer (a grace period
 * that has run out): the close must neither take the bytes that arrived
 * for the reader nor leave the reader parked on what the close freed. */
TEST(reader_woken_by_bytes_then_closed_at_once) {
  eddy_loop_opts o = on_epoll;
  o.grace = 1;
  ASSERT_RC(eddy_run_opts(woken_reader_closed_main, NULL, &o), 0);
#ifdef EDDY_HAVE_URING
  o = on_uring;
  o.grace = 1;
  ASSERT_RC(eddy_run_opts(woken_reader_closed_main, NULL, &o), 0);
  o.recv_multishot = 1;
  ASSERT_RC(eddy_run_opts(woken_reader_closed_main, NULL, &o), 0);
  o.grace = 0;
  ASSERT_RC(eddy_run_opts(woken_reader_closed_main, NULL, &o), 0);
#endif
}

/* io_uring: a writer waiting for room (its write said EAGAIN: injected)
 * and a second writer whose write the kernel holds on the full pipe. The
 * first one's wait times out and it closes the stream. The second must be
 * told the stream is gone (-EBADF): the first one's wait ending must not
 * drop the second's write from the stream's records, or the close misses
 * it and the second goes back to the freed stream when its write ends. */
#ifdef EDDY_HAVE_URING
static eddy_stream *room_s;
static int room_first(void *arg) {
  (void)arg;
  int r = eddy_stream_write(room_s, "a", 1, NULL, eddy_deadline_in(EDDY_MSEC(20)));
  eddy_stream_close(room_s);
  return r;
}
static int room_second(void *arg) {
  (void)arg;
  return eddy_stream_write(room_s, "b", 1, NULL, EDDY_FOREVER);
}
static int room_wait_then_close_main(void *arg) {
  (void)arg;
  int p[2];
  ASSERT_EQ(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
  ASSERT_RC(eddy_stream_from_fd(p[1], NULL, &room_s), 0);
  ASSERT_RC(eddy_stream_write(room_s, "0", 1, NULL, EDDY_FOREVER), 0); /* a pipe: learnt */
  char fill[4096];
  memset(fill, 'x', sizeof fill);
  while (write(p[1], fill, sizeof fill) > 0) {}
  while (write(p[1], fill, 1) > 0) {}
  eddy__fault_set(EDDY_SYS_WRITE, 0, EAGAIN, 1); /* the first writer's write */
  eddy_task *a, *b;
  ASSERT_RC(eddy_spawn(&a, room_first, NULL), 0);
  ASSERT_RC(eddy_spawn(&b, room_second, NULL), 0);
  int ra = 1, rb = 1;
  ASSERT_RC(eddy_join_until(a, &ra, eddy_deadline_in(EDDY_SEC(2))), 0);
  ASSERT_RC(ra, -ETIMEDOUT);
  while (read(p[0], fill, sizeof fill) > 0) {} /* room: b's write ends */
  ASSERT_RC(eddy_join_until(b, &rb, eddy_deadline_in(EDDY_SEC(2))), 0);
  ASSERT_RC(rb, -EBADF);
  close(p[0]);
  return 0;
}
#endif
TEST(writer_held_by_the_ring_is_told_of_a_close_after_another_wait_for_room_ended) {
#ifdef EDDY_HAVE_URING
  ASSERT_RC(eddy_run_opts(room_wait_then_close_main, NULL, &on_uring), 0);
#endif
}
