/* test_stdio.c: standard streams as eddy streams (eddy_stdio_stream): a
 * pipe, a regular file and a socket behind fd 0 or any fd, on both
 * backends, and the caller's descriptor left as it was. */
#include "test.h"

#include <sys/socket.h>
#include <termios.h>

static const eddy_loop_opts on_epoll = {.backend = EDDY_BACKEND_EPOLL};
#ifdef EDDY_HAVE_URING
static const eddy_loop_opts on_uring = {.backend = EDDY_BACKEND_IO_URING};
#endif
static void run_both(eddy_task_fn fn, void *arg) {
  ASSERT_RC(eddy_run_opts(fn, arg, &on_epoll), 0);
#ifdef EDDY_HAVE_URING
  ASSERT_RC(eddy_run_opts(fn, arg, &on_uring), 0);
#endif
}

/* Read every line of the stream on fd and compare with want. */
static int read_all_lines(void *arg) {
  const char *want = arg;
  eddy_stream *in;
  ASSERT_RC(eddy_stdio_stream(0, NULL, &in), 0);
  char got[256] = {0};
  size_t at = 0;
  const char *line;
  size_t len;
  int r;
  while ((r = eddy_stream_read_until(in, '\n', 64, &line, &len, EDDY_FOREVER)) == 0) {
    ASSERT(at + len < sizeof got);
    memcpy(got + at, line, len);
    at += len;
  }
  ASSERT_RC(r, EDDY_DONE);
  ASSERT(strcmp(got, want) == 0);
  ASSERT_RC(eddy_stream_close(in), 0);
  return 0;
}

static const char text[] = "one\ntwo\nthree\n";

TEST(stdin_from_a_pipe_is_read_and_left_blocking) {
  int saved = dup(0);
  for (int pass = 0; pass < 2; pass++) {
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    ASSERT_EQ(write(p[1], text, sizeof text - 1), (long)sizeof text - 1);
    close(p[1]);
    ASSERT_EQ(dup2(p[0], 0), 0);
    close(p[0]);
    eddy_loop_opts o = {.backend = pass ? EDDY_BACKEND_AUTO : EDDY_BACKEND_EPOLL};
    ASSERT_RC(eddy_run_opts(read_all_lines, (void *)text, &o), 0);
    ASSERT_EQ(fcntl(0, F_GETFL) & O_NONBLOCK, 0); /* the shell's fd as it was */
  }
  dup2(saved, 0);
  close(saved);
}

TEST(stdin_from_a_regular_file_is_read) {
  char path[64];
  snprintf(path, sizeof path, "/tmp/eddy-stdin-%d", (int)getpid());
  FILE *f = fopen(path, "w");
  ASSERT(f != NULL);
  fputs(text, f);
  fclose(f);
  int saved = dup(0);
  for (int pass = 0; pass < 2; pass++) {
    int fd = open(path, O_RDONLY);
    ASSERT(fd >= 0);
    ASSERT_EQ(dup2(fd, 0), 0);
    close(fd);
    eddy_loop_opts o = {.backend = pass ? EDDY_BACKEND_AUTO : EDDY_BACKEND_EPOLL};
    ASSERT_RC(eddy_run_opts(read_all_lines, (void *)text, &o), 0);
  }
  dup2(saved, 0);
  close(saved);
  unlink(path);
}

static int out_fd;
static int write_lines(void *arg) {
  (void)arg;
  eddy_stream *out;
  ASSERT_RC(eddy_stdio_stream(out_fd, NULL, &out), 0);
  struct iovec v[2] = {{(void *)"one\ntwo\n", 8}, {(void *)"three\n", 6}};
  ASSERT_RC(eddy_stream_writev(out, v, 2, NULL, EDDY_FOREVER), 0);
  ASSERT_RC(eddy_stream_close(out), 0);
  return 0;
}
TEST(stdout_to_a_regular_file_is_written) {
  char path[64];
  snprintf(path, sizeof path, "/tmp/eddy-stdout-%d", (int)getpid());
  for (int pass = 0; pass < 2; pass++) {
    out_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ASSERT(out_fd >= 0);
    eddy_loop_opts o = {.backend = pass ? EDDY_BACKEND_AUTO : EDDY_BACKEND_EPOLL};
    ASSERT_RC(eddy_run_opts(write_lines, NULL, &o), 0);
    close(out_fd);
    char buf[64] = {0};
    int fd = open(path, O_RDONLY);
    ASSERT_EQ(read(fd, buf, sizeof buf), 14);
    close(fd);
    ASSERT(strcmp(buf, text) == 0);
  }
  unlink(path);
}

static int sock_main(void *arg) {
  (void)arg;
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  eddy_stream *s;
  ASSERT_RC(eddy_stdio_stream(sv[0], NULL, &s), 0);
  ASSERT_RC(eddy_stream_write(s, "ping", 4, NULL, EDDY_FOREVER), 0);
  char buf[8];
  ASSERT_EQ(read(sv[1], buf, sizeof buf), 4);
  ASSERT_EQ(write(sv[1], "pong", 4), 4);
  ASSERT_EQ(eddy_stream_read(s, buf, sizeof buf, EDDY_FOREVER), 4);
  shutdown(sv[1], SHUT_WR);
  ASSERT_RC(eddy_stream_close(s), 0);
  close(sv[0]);
  close(sv[1]);
  return 0;
}
TEST(socket_on_an_inherited_fd_is_a_stream) { run_both(sock_main, NULL); }

static int bad_main(void *arg) {
  (void)arg;
  eddy_stream *s;
  ASSERT_RC(eddy_stdio_stream(-1, NULL, &s), -EINVAL);
  ASSERT_RC(eddy_stdio_stream(999, NULL, &s), -EBADF);
  return 0;
}
TEST(stdio_stream_bad_fd) { run_both(bad_main, NULL); }

/* A terminal: the slave side of a pseudo-terminal in raw mode stands in
 * for the user's tty. Lines typed are read; a read that times out while
 * the terminal is quiet loses nothing typed afterwards (on io_uring the
 * kernel held that read and must have let go of it); writes come out on the
 * other side; a hung-up terminal reads as its end, not a hang. */
static int pty_main(void *arg) {
  (void)arg;
  int m = posix_openpt(O_RDWR | O_NOCTTY);
  ASSERT(m >= 0);
  ASSERT_EQ(grantpt(m), 0);
  ASSERT_EQ(unlockpt(m), 0);
  int sl = open(ptsname(m), O_RDWR | O_NOCTTY);
  ASSERT(sl >= 0);
  struct termios tio;
  ASSERT_EQ(tcgetattr(sl, &tio), 0);
  cfmakeraw(&tio);
  ASSERT_EQ(tcsetattr(sl, TCSANOW, &tio), 0);
  eddy_stream *s;
  ASSERT_RC(eddy_stdio_stream(sl, NULL, &s), 0);
  ASSERT_EQ(fcntl(sl, F_GETFL) & O_NONBLOCK, 0); /* the caller's fd untouched */
  ASSERT_EQ(write(m, "hello\n", 6), 6);
  const char *line;
  size_t len;
  ASSERT_RC(eddy_stream_read_until(s, '\n', 64, &line, &len,
                                   eddy_deadline_in(EDDY_SEC(2))), 0);
  ASSERT(len == 6 && memcmp(line, "hello\n", 6) == 0);
  ASSERT_RC(eddy_stream_read_until(s, '\n', 64, &line, &len,
                                   eddy_deadline_in(EDDY_MSEC(20))), -ETIMEDOUT);
  ASSERT_EQ(write(m, "again\n", 6), 6);
  ASSERT_RC(eddy_stream_read_until(s, '\n', 64, &line, &len,
                                   eddy_deadline_in(EDDY_SEC(2))), 0);
  ASSERT(len == 6 && memcmp(line, "again\n", 6) == 0);
  ASSERT_RC(eddy_stream_write(s, "out\n", 4, NULL, eddy_deadline_in(EDDY_SEC(2))), 0);
  char buf[16];
  ASSERT_EQ(read(m, buf, sizeof buf), 4);
  ASSERT(memcmp(buf, "out\n", 4) == 0);
  close(m); /* the terminal hangs up */
  char c;
  long n = eddy_stream_read(s, &c, 1, eddy_deadline_in(EDDY_SEC(2)));
  ASSERT_EQ(n, 0); /* a terminal that hung up reads as its end */
  ASSERT_RC(eddy_stream_close(s), 0);
  close(sl);
  return 0;
}
TEST(terminal_is_read_and_written) { run_both(pty_main, NULL); }

/* A terminal in canonical mode (as a user's usually is) hands out one line
 * per read even when more are waiting: two lines pasted at once are both
 * read, without waiting for a keystroke that may never come. */
static int canonical_main(void *arg) {
  (void)arg;
  int m = posix_openpt(O_RDWR | O_NOCTTY);
  ASSERT(m >= 0);
  ASSERT_EQ(grantpt(m), 0);
  ASSERT_EQ(unlockpt(m), 0);
  int sl = open(ptsname(m), O_RDWR | O_NOCTTY);
  ASSERT(sl >= 0);
  struct termios tio;
  ASSERT_EQ(tcgetattr(sl, &tio), 0);
  tio.c_lflag |= ICANON;
  tio.c_lflag &= ~(tcflag_t)ECHO;
  ASSERT_EQ(tcsetattr(sl, TCSANOW, &tio), 0);
  eddy_stream *s;
  ASSERT_RC(eddy_stdio_stream(sl, NULL, &s), 0);
  ASSERT_EQ(write(m, "one\ntwo\n", 8), 8);
  ASSERT_RC(eddy_sleep(EDDY_MSEC(5)), 0); /* both lines are in the terminal */
  const char *line;
  size_t len;
  ASSERT_RC(eddy_stream_read_until(s, '\n', 64, &line, &len,
                                   eddy_deadline_in(EDDY_SEC(2))), 0);
  ASSERT(len == 4 && memcmp(line, "one\n", 4) == 0);
  ASSERT_RC(eddy_stream_read_until(s, '\n', 64, &line, &len,
                                   eddy_deadline_in(EDDY_SEC(2))), 0);
  ASSERT(len == 4 && memcmp(line, "two\n", 4) == 0);
  ASSERT_RC(eddy_stream_close(s), 0);
  close(sl);
  close(m);
  return 0;
}
TEST(terminal_lines_typed_together_are_all_read) { run_both(canonical_main, NULL); }
