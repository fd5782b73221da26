/* test_file.c: files through the thread pool, and signals as a stream. */
#include "test.h"

#include <fcntl.h>
#include <signal.h>

static int file_main(void *arg) {
  (void)arg;
  char path[] = "/tmp/eddy-test-XXXXXX";
  int tmp = mkstemp(path);
  ASSERT(tmp >= 0);
  close(tmp);
  eddy_file *f;
  ASSERT_RC(eddy_file_open(path, O_RDWR | O_TRUNC, 0600, &f), 0);
  ASSERT_RC(eddy_file_write(f, "hello, file\n", 12), 0);
  ASSERT_RC(eddy_file_pwrite(f, "H", 1, 0), 0);
  ASSERT_RC(eddy_file_datasync(f), 0);
  ASSERT_RC(eddy_file_sync(f), 0);
  char buf[32] = {0};
  ASSERT_EQ(eddy_file_pread(f, buf, sizeof buf, 0), 12);
  ASSERT_STR(buf, "Hello, file\n");
  ASSERT_EQ(eddy_file_read(f, buf, sizeof buf), 0); /* at end */
  ASSERT(eddy_file_fd(f) >= 0);
  ASSERT_RC(eddy_file_close(f), 0);
  ASSERT_RC(eddy_file_open("/nonexistent/dir/x", O_RDONLY, 0, &f), -ENOENT);
  ASSERT_RC(eddy_file_open(NULL, O_RDONLY, 0, &f), -EINVAL);
  ASSERT_RC(eddy_file_pread(NULL, buf, 1, 0), -EINVAL);
  unlink(path);
  return 0;
}
TEST(file_read_write_sync) { ASSERT_EQ(eddy_run(file_main, NULL), 0); }

/* File chunks come in order, whole, each in a buffer that starts on a
 * 64-byte line. */
static int chunks_main(void *arg) {
  (void)arg;
  char path[] = "/tmp/eddy-test-XXXXXX";
  int tmp = mkstemp(path);
  ASSERT(tmp >= 0);
  static char data[10000];
  for (size_t i = 0; i < sizeof data; i++) data[i] = (char)(i * 7);
  ASSERT_EQ(write(tmp, data, sizeof data), (long)sizeof data);
  close(tmp);
  eddy_file *f;
  ASSERT_RC(eddy_file_open(path, O_RDONLY, 0, &f), 0);
  eddy_chunk c;
  int st, chunks = 0;
  size_t at = 0;
  EDDY_FOR(c, eddy_file_chunks(f, 4096), st) {
    ASSERT_EQ((uintptr_t)c.data % 64, 0);
    ASSERT(at + c.len <= sizeof data);
    ASSERT(memcmp(c.data, data + at, c.len) == 0);
    at += c.len;
    chunks++;
  }
  ASSERT_RC(st, 0);
  ASSERT_EQ(at, sizeof data);
  ASSERT_EQ(chunks, 3);
  ASSERT_RC(eddy_file_close(f), 0);
  unlink(path);
  return 0;
}
TEST(file_chunks_are_whole_in_order_and_line_aligned) { ASSERT_EQ(eddy_run(chunks_main, NULL), 0); }

static int file_cancel_main(void *arg) {
  (void)arg;
  eddy_file *f;
  ASSERT_RC(eddy_file_open("/dev/null", O_RDONLY, 0, &f), 0);
  eddy_cancel(eddy_task_current());
  char b[4];
  ASSERT_RC(eddy_file_read(f, b, 4), -ECANCELED); /* did not happen */
  ASSERT_RC(eddy_file_close(f), 0);              /* cleanup still runs */
  eddy__fault_set(EDDY_SYS_ALLOC, 0, ENOMEM, 1);
  ASSERT_RC(eddy_file_open("/dev/null", O_RDONLY, 0, &f), -ENOMEM);
  return 0;
}
TEST(file_ops_cancelled_and_close_still_runs) {
  ASSERT_EQ(eddy_run(file_cancel_main, NULL), 0);
}

static int sig_main(void *arg) {
  (void)arg;
  int sigs[] = {SIGUSR1, SIGUSR2};
  eddy_signals *s;
  ASSERT_RC(eddy_signals_open(sigs, 2, &s), 0);
  ASSERT_RC(eddy_signals_next(s, eddy_deadline_in(EDDY_MSEC(5))), -ETIMEDOUT);
  kill(getpid(), SIGUSR2);
  ASSERT_EQ(eddy_signals_next(s, EDDY_FOREVER), SIGUSR2);
  kill(getpid(), SIGUSR1);
  ASSERT_EQ(eddy_signals_next(s, EDDY_FOREVER), SIGUSR1);
  eddy_signals_close(s);
  sigset_t cur;
  pthread_sigmask(SIG_SETMASK, NULL, &cur);
  ASSERT(!sigismember(&cur, SIGUSR1)); /* mask restored */
  int bad[] = {9999};
  ASSERT_RC(eddy_signals_open(bad, 1, &s), -EINVAL);
  ASSERT_RC(eddy_signals_open(NULL, 0, &s), -EINVAL);
  return 0;
}
TEST(signals_as_a_stream) { ASSERT_EQ(eddy_run(sig_main, NULL), 0); }
