/* test_mshot.c: stream reads through multishot receive (io_uring's
 * provided-buffer ring, src/backend/uring_recv.c), and the one-shot path
 * they fall back to. Each behaviour runs on both backends: on epoll the
 * same reads must give the same bytes (there is no ring: the hooks say
 * so), on io_uring the tests also check that multishot was the path taken
 * and that every buffer goes back to the ring. */
#include "test.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

/* Internal hooks (test-only). */
int eddy__stream_multishot(const eddy_stream *s);
#ifdef EDDY_HAVE_URING
long eddy__recv_buffers_out(void);
unsigned long eddy__recv_nobufs(void);
#else
static long eddy__recv_buffers_out(void) { return -1; }
static unsigned long eddy__recv_nobufs(void) { return 0; }
#endif

static int on_uring(void) { return strcmp(eddy_backend_name(), "io_uring") == 0; }

/* multishot is opt-in: these tests ask for it */
static const eddy_loop_opts opts_ms = {.recv_multishot = 1};

static void run_both_opts(eddy_task_fn fn, const eddy_loop_opts *o) {
  eddy_loop_opts e = *o, u = *o;
  e.backend = EDDY_BACKEND_EPOLL;
  ASSERT_RC(eddy_run_opts(fn, NULL, &e), 0);
#ifdef EDDY_HAVE_URING
  u.backend = EDDY_BACKEND_IO_URING;
  ASSERT_RC(eddy_run_opts(fn, NULL, &u), 0);
#else
  (void)u;
#endif
}
static void run_both(eddy_task_fn fn) { run_both_opts(fn, &opts_ms); }

/* On io_uring: the stream read through multishot, and (once it is closed)
 * every buffer is back in the ring. On epoll there is no ring. */
static void expect_multishot(eddy_stream *s, int want) {
  if (on_uring()) ASSERT_EQ(eddy__stream_multishot(s), want);
  else ASSERT_EQ(eddy__stream_multishot(s), 0);
}
static void expect_ring_whole(void) {
  if (on_uring()) ASSERT_EQ(eddy__recv_buffers_out(), 0);
  else ASSERT_EQ(eddy__recv_buffers_out(), -1);
}

/* A TCP connection over loopback: the accepted side as a stream, the
 * connecting side as a plain blocking-free socket fd (the "peer"). */
static void tcp_pair(eddy_stream **s, int *peer, const eddy_stream_opts *o) {
  eddy_listener *l;
  ASSERT_RC(eddy_tcp_listen("127.0.0.1", 0, 8, 0, &l), 0);
  int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT(c >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)eddy_listener_port(l)),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  ASSERT_EQ(connect(c, (struct sockaddr *)&a, sizeof a), 0);
  ASSERT_RC(eddy_listener_accept(l, s, o, EDDY_FOREVER), 0);
  eddy_listener_close(l);
  int one = 1;
  setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  *peer = c;
}

static unsigned char pat(size_t i) { return (unsigned char)(i * 131u + (i >> 9)); }

/* ---- byte order and completeness */

#define TOTAL ((size_t)3 << 20)

typedef struct {
  eddy_stream *w;
} writer_arg;

/* Sends the pattern in sizes from 1 byte to 64 KiB, through a stream of
 * its own (so the reader's loop is the one that waits). */
static int pattern_writer(void *arg) {
  eddy_stream *w = arg;
  static unsigned char buf[1 << 16];
  size_t off = 0, k = 0;
  static const size_t sizes[] = {1, 7, 100, 1500, 4096, 8192, 8193, 65536, 3, 30000};
  while (off < TOTAL) {
    size_t n = sizes[k++ % (sizeof sizes / sizeof sizes[0])];
    if (n > TOTAL - off) n = TOTAL - off;
    for (size_t i = 0; i < n; i++) buf[i] = pat(off + i);
    ASSERT_RC(eddy_stream_write(w, buf, n, NULL, EDDY_FOREVER), 0);
    off += n;
    if (k % 5 == 0) ASSERT_RC(eddy_yield(), 0); /* let completions pile up */
  }
  ASSERT_RC(eddy_stream_shutdown(w), 0);
  return 0;
}

/* Reads the pattern back through every kind of read in turn. */
static int order_main(void *arg) {
  (void)arg;
  eddy_stream *s;
  int peer;
  tcp_pair(&s, &peer, NULL);
  eddy_stream *w;
  ASSERT_EQ(fcntl(peer, F_SETFL, O_NONBLOCK), 0);
  ASSERT_RC(eddy_stream_from_fd(peer, NULL, &w), 0);
  eddy_task *t;
  ASSERT_RC(eddy_spawn(&t, pattern_writer, w), 0);
  static unsigned char got[70000];
  size_t off = 0;
  for (unsigned k = 0; off < TOTAL; k++) {
    size_t n = 0;
    const char *d = NULL;
    switch (k % 4) {
    case 0: {
      long r = eddy_stream_read(s, got, 1 + k % 9000, EDDY_FOREVER);
      ASSERT(r > 0);
      n = (size_t)r;
      d = (const char *)got;
      break;
    }
    case 1: /* zero-copy on io_uring */
      ASSERT_RC(eddy_stream_read_chunk(s, 1 + (k * 37) % 20000, &d, &n, EDDY_FOREVER), 0);
      break;
    case 2:
      n = 1 + (k * 13) % 5000;
      if (n > TOTAL - off) n = TOTAL - off;
      ASSERT_RC(eddy_stream_read_exact(s, got, n, EDDY_FOREVER), 0);
      d = (const char *)got;
      break;
    case 3: /* up to a byte value: read_until over queued buffers */
      ASSERT_RC(eddy_stream_read_until(s, (char)pat(off + 700), 1 << 20, &d, &n,
                                       EDDY_FOREVER), 0);
      break;
    }
    for (size_t i = 0; i < n; i++)
      if ((unsigned char)d[i] != pat(off + i))
        FAIL_("byte %zu: %u, want %u", off + i, (unsigned char)d[i], pat(off + i));
    off += n;
  }
  ASSERT_EQ(off, TOTAL);
  char c;
  ASSERT_EQ(eddy_stream_read(s, &c, 1, EDDY_FOREVER), 0);
  expect_multishot(s, 1);
  int res;
  ASSERT_RC(eddy_join(t, &res), 0);
  ASSERT_RC(res, 0);
  eddy_stream_close(s); /* w was shut down: s sees its end at once */
  eddy_stream_close(w);
  expect_ring_whole();
  return 0;
}
TEST(bytes_arrive_whole_and_in_order_through_every_read) { run_both(order_main); }

/* ---- a slow reader lets the ring run dry */

#define DRY_STREAMS 4
#define DRY_BYTES ((size_t)256 << 10)

static int dry_main(void *arg) {
  (void)arg;
  eddy_stream *s[DRY_STREAMS];
  int peer[DRY_STREAMS];
  unsigned long nobufs0 = eddy__recv_nobufs();
  static unsigned char buf[DRY_BYTES];
  for (int i = 0; i < DRY_STREAMS; i++) {
    tcp_pair(&s[i], &peer[i], NULL);
    int big = 1 << 20;
    setsockopt(peer[i], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  }
  /* each stream's first byte arms its request; then everything is sent
   * while nobody reads, so the requests take buffers until none is left */
  for (int i = 0; i < DRY_STREAMS; i++) {
    ASSERT_EQ(send(peer[i], "\x01", 1, 0), 1);
    char c;
    ASSERT_EQ(eddy_stream_read(s[i], &c, 1, EDDY_FOREVER), 1);
  }
  for (int i = 0; i < DRY_STREAMS; i++) {
    for (size_t k = 0; k < DRY_BYTES; k++) buf[k] = pat(k + (size_t)i);
    ASSERT_EQ(send(peer[i], buf, DRY_BYTES, MSG_DONTWAIT), (long)DRY_BYTES);
    shutdown(peer[i], SHUT_WR);
  }
  ASSERT_RC(eddy_sleep(EDDY_MSEC(20)), 0); /* completions pile up */
  if (on_uring()) ASSERT(eddy__recv_nobufs() > nobufs0); /* the ring ran dry */
  /* read slowly, a little from each in turn: everything comes, in order */
  size_t off[DRY_STREAMS] = {0};
  int done = 0;
  while (done < DRY_STREAMS) {
    done = 0;
    for (int i = 0; i < DRY_STREAMS; i++) {
      if (off[i] == DRY_BYTES) {
        done++;
        continue;
      }
      long n = eddy_stream_read(s[i], buf, 3000, EDDY_FOREVER);
      ASSERT(n > 0);
      for (long k = 0; k < n; k++)
        ASSERT_EQ(buf[k], pat(off[i] + (size_t)k + (size_t)i));
      off[i] += (size_t)n;
    }
  }
  for (int i = 0; i < DRY_STREAMS; i++) {
    char c;
    ASSERT_EQ(eddy_stream_read(s[i], &c, 1, EDDY_FOREVER), 0);
    expect_multishot(s[i], 1);
    eddy_stream_close(s[i]);
    close(peer[i]);
  }
  expect_ring_whole();
  return 0;
}
TEST(slow_readers_run_the_ring_dry_and_lose_nothing) {
  /* 8 buffers of 4 KiB for four streams with 256 KiB each */
  eddy_loop_opts o = {.recv_multishot = 1, .recv_buffers = 8,
                      .recv_buffer_size = 4096};
  run_both_opts(dry_main, &o);
}

/* ---- close while completions are queued */

static int close_queued_main(void *arg) {
  (void)arg;
  eddy_stream *s;
  int peer;
  tcp_pair(&s, &peer, NULL);
  static unsigned char buf[200000];
  ASSERT_EQ(send(peer, "x", 1, 0), 1);
  const char *d;
  size_t n;
  ASSERT_RC(eddy_stream_read_chunk(s, 1, &d, &n, EDDY_FOREVER), 0);
  memset(buf, 'q', sizeof buf);
  ASSERT_EQ(send(peer, buf, sizeof buf, 0), (long)sizeof buf);
  ASSERT_RC(eddy_sleep(EDDY_MSEC(10)), 0);
  /* bytes wait in the ring for the stream, one buffer lent out */
  ASSERT_RC(eddy_stream_read_chunk(s, 10, &d, &n, EDDY_FOREVER), 0);
  ASSERT_EQ(n, 10);
  if (on_uring()) {
    ASSERT(eddy_stream_buffered(s) > 4096); /* queued, not yet read */
    ASSERT(eddy__recv_buffers_out() > 1);
  }
  close(peer);
  ASSERT_RC(eddy_stream_close(s), 0);
  expect_ring_whole(); /* and no record leaks (the harness counts them) */
  return 0;
}
TEST(close_with_completions_queued_returns_every_buffer) { run_both(close_queued_main); }

/* The same outside any task (a stream closed by loop teardown code): the
 * request's record outlives the stream until the loop ends. */
static int close_outside_main(void *arg) {
  (void)arg;
  eddy_stream *s;
  int peer;
  tcp_pair(&s, &peer, NULL);
  ASSERT_EQ(send(peer, "abc", 3, 0), 3);
  char b[3];
  ASSERT_RC(eddy_stream_read_exact(s, b, 3, EDDY_FOREVER), 0);
  ASSERT_RC(eddy_stream_shutdown(s), 0);
  close(peer);
  eddy_stream_close(s); /* closing with its request armed, then end */
  return 0;
}
TEST(loop_ends_with_a_closed_streams_request_in_flight) { run_both(close_outside_main); }

/* ---- cancellation and deadlines */

static int parked_read(void *arg) {
  char b[16];
  return (int)eddy_stream_read(arg, b, sizeof b, EDDY_FOREVER);
}
static int cancel_main(void *arg) {
  (void)arg;
  eddy_stream *s;
  int peer;
  tcp_pair(&s, &peer, NULL);
  ASSERT_EQ(send(peer, "1", 1, 0), 1); /* the request is armed */
  char b[64];
  ASSERT_EQ(eddy_stream_read(s, b, sizeof b, EDDY_FOREVER), 1);
  eddy_task *t;
  ASSERT_RC(eddy_spawn(&t, parked_read, s), 0);
  ASSERT_RC(eddy_sleep(EDDY_MSEC(2)), 0);
  eddy_cancel(t);
  int res;
  ASSERT_RC(eddy_join(t, &res), 0);
  ASSERT_RC(res, -ECANCELED);
  /* a deadline the same way */
  ASSERT_RC(eddy_stream_read(s, b, sizeof b, eddy_deadline_in(EDDY_MSEC(3))), -ETIMEDOUT);
  const char *d;
  size_t n;
  ASSERT_RC(eddy_stream_read_chunk(s, 8, &d, &n, eddy_deadline_in(EDDY_MSEC(3))), -ETIMEDOUT);
  /* what comes next is read by the next call, whole */
  ASSERT_EQ(send(peer, "hello", 5, 0), 5);
  ASSERT_RC(eddy_stream_read_exact(s, b, 5, EDDY_FOREVER), 0);
  ASSERT(memcmp(b, "hello", 5) == 0);
  expect_multishot(s, 1);
  close(peer);
  eddy_stream_close(s);
  expect_ring_whole();
  return 0;
}
TEST(cancelled_or_timed_out_read_loses_nothing) { run_both(cancel_main); }

/* A reader a cancellation woke keeps its place at the request until it
 * runs: a close, or bytes arriving, before then must not wake it again
 * (that queued it twice and lost the task queued behind it). */
static int behind_ran;
static int queued_behind(void *arg) {
  (void)arg;
  eddy_yield();
  behind_ran = 1;
  return 0;
}
static int cancel_then_close_main(void *arg) {
  (void)arg;
  eddy_stream *s;
  int peer;
  tcp_pair(&s, &peer, NULL);
  ASSERT_EQ(send(peer, "1", 1, 0), 1); /* the request is armed */
  char b[64];
  ASSERT_EQ(eddy_stream_read(s, b, sizeof b, EDDY_FOREVER), 1);
  eddy_task *t, *o;
  ASSERT_RC(eddy_spawn(&t, parked_read, s), 0);
  ASSERT_RC(eddy_sleep(EDDY_MSEC(2)), 0);
  eddy_cancel(t);
  behind_ran = 0;
  ASSERT_RC(eddy_spawn(&o, queued_behind, NULL), 0);
  eddy_stream_close(s); /* before the reader runs */
  int res;
  ASSERT_RC(eddy_join_until(t, &res, eddy_deadline_in(EDDY_SEC(2))), 0);
  ASSERT_RC(res, -EBADF); /* the stream is gone: it must not touch it */
  ASSERT_RC(eddy_join_until(o, NULL, eddy_deadline_in(EDDY_SEC(2))), 0);
  ASSERT(behind_ran);
  close(peer);
  expect_ring_whole();
  return 0;
}
TEST(stream_closed_after_its_reader_was_cancelled_wakes_it_once) {
  run_both(cancel_then_close_main);
}

#define SPINNERS 1500 /* more than the loop's hand-off budget */
static int spinners_done;
static int spinner(void *arg) {
  (void)arg;
  for (int i = 0; i < 20; i++) eddy_yield();
  spinners_done++;
  return 0;
}
static int cancel_then_bytes_main(void *arg) {
  (void)arg;
  eddy_stream *s;
  int peer;
  tcp_pair(&s, &peer, NULL);
  ASSERT_EQ(send(peer, "1", 1, 0), 1);
  char b[64];
  ASSERT_EQ(eddy_stream_read(s, b, sizeof b, EDDY_FOREVER), 1);
  eddy_task *t;
  ASSERT_RC(eddy_spawn(&t, parked_read, s), 0);
  ASSERT_RC(eddy_sleep(EDDY_MSEC(2)), 0);
  spinners_done = 0;
  for (int i = 0; i < SPINNERS; i++) ASSERT_RC(eddy_spawn(NULL, spinner, NULL), 0);
  eddy_yield(); /* the spinners are queued ahead of the reader */
  eddy_cancel(t);
  ASSERT_EQ(send(peer, "abc", 3, 0), 3); /* lands while the reader waits its turn */
  int res;
  ASSERT_RC(eddy_join_until(t, &res, eddy_deadline_in(EDDY_SEC(5))), 0);
  ASSERT_RC(res, -ECANCELED);
  ASSERT_EQ(eddy_stream_read(s, b, sizeof b, eddy_deadline_in(EDDY_SEC(2))), 3);
  ASSERT(memcmp(b, "abc", 3) == 0);
  while (spinners_done < SPINNERS) ASSERT_RC(eddy_sleep(EDDY_MSEC(1)), 0);
  close(peer);
  eddy_stream_close(s);
  expect_ring_whole();
  return 0;
}
TEST(bytes_after_a_reader_was_cancelled_do_not_wake_it_again) {
  run_both(cancel_then_bytes_main);
}

/* ---- the peer's end: reset, orderly close */

static int reset_main(void *arg) {
  (void)arg;
  eddy_stream *s;
  int peer;
  tcp_pair(&s, &peer, NULL);
  ASSERT_EQ(send(peer, "0", 1, 0), 1);
  char b[64];
  ASSERT_EQ(eddy_stream_read(s, b, 1, EDDY_FOREVER), 1);
  ASSERT_EQ(send(peer, "before", 6, 0), 6);
  ASSERT_RC(eddy_sleep(EDDY_MSEC(5)), 0); /* received (queued on io_uring) */
  struct linger lg = {.l_onoff = 1, .l_linger = 0};
  ASSERT_EQ(setsockopt(peer, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
  close(peer); /* reset */
  ASSERT_RC(eddy_sleep(EDDY_MSEC(5)), 0);
  /* the bytes that came before the reset, then the reset, which stays */
  ASSERT_RC(eddy_stream_read_exact(s, b, 6, EDDY_FOREVER), 0);
  ASSERT(memcmp(b, "before", 6) == 0);
  ASSERT_RC(eddy_stream_read(s, b, sizeof b, EDDY_FOREVER), -ECONNRESET);
  const char *d;
  size_t n;
  ASSERT_RC(eddy_stream_read_chunk(s, 8, &d, &n, EDDY_FOREVER), -ECONNRESET);
  eddy_stream_close(s);
  expect_ring_whole();
  return 0;
}
TEST(reset_comes_after_the_bytes_before_it_and_stays) { run_both(reset_main); }

static int eof_main(void *arg) {
  (void)arg;
  eddy_stream *s;
  int peer;
  tcp_pair(&s, &peer, NULL);
  ASSERT_EQ(send(peer, "a\nb", 3, 0), 3);
  shutdown(peer, SHUT_WR);
  ASSERT_RC(eddy_sleep(EDDY_MSEC(5)), 0);
  eddy_line ln;
  ASSERT_RC(eddy_stream_read_until(s, '\n', 64, &ln.data, &ln.len, EDDY_FOREVER), 0);
  ASSERT_EQ(ln.len, 2);
  ASSERT_RC(eddy_stream_read_until(s, '\n', 64, &ln.data, &ln.len, EDDY_FOREVER), 0);
  ASSERT_EQ(ln.len, 1); /* the last line, unterminated */
  ASSERT(ln.data[0] == 'b');
  for (int i = 0; i < 2; i++) {
    const char *d;
    size_t n;
    char c;
    ASSERT_RC(eddy_stream_read_chunk(s, 8, &d, &n, EDDY_FOREVER), EDDY_DONE);
    ASSERT_EQ(eddy_stream_read(s, &c, 1, EDDY_FOREVER), 0);
  }
  close(peer);
  eddy_stream_close(s);
  expect_ring_whole();
  return 0;
}
TEST(end_of_stream_after_queued_bytes_and_it_stays) { run_both(eof_main); }

/* ---- zero-copy chunks */

static int lend_main(void *arg) {
  (void)arg;
  eddy_stream *s;
  int peer;
  tcp_pair(&s, &peer, NULL);
  ASSERT_EQ(send(peer, "abcdef", 6, 0), 6);
  const char *d;
  size_t n;
  ASSERT_RC(eddy_stream_read_chunk(s, 4, &d, &n, EDDY_FOREVER), 0);
  ASSERT_EQ(n, 4);
  ASSERT(memcmp(d, "abcd", 4) == 0);
  ASSERT_EQ(eddy_stream_buffered(s), 2); /* the rest, on either path */
  if (on_uring()) ASSERT_EQ(eddy__recv_buffers_out(), 1); /* lent, held */
  ((char *)d)[0] = 'Z'; /* a chunk may be written over */
  ASSERT_RC(eddy_stream_read_chunk(s, 4, &d, &n, EDDY_FOREVER), 0);
  ASSERT_EQ(n, 2);
  ASSERT(memcmp(d, "ef", 2) == 0);
  char c;
  ASSERT_RC(eddy_stream_read(s, &c, 1, eddy_deadline_in(EDDY_MSEC(2))), -ETIMEDOUT);
  expect_ring_whole(); /* the next read gave the buffer back */
  close(peer);
  eddy_stream_close(s);
  return 0;
}
TEST(chunk_lends_the_buffer_until_the_next_read) { run_both(lend_main); }

/* ---- fallbacks and injected failures */

static int echo_small(void) {
  eddy_stream *s;
  int peer;
  tcp_pair(&s, &peer, NULL);
  ASSERT_EQ(send(peer, "ping\n", 5, 0), 5);
  const char *d;
  size_t n;
  ASSERT_RC(eddy_stream_read_until(s, '\n', 64, &d, &n, EDDY_FOREVER), 0);
  ASSERT_EQ(n, 5);
  ASSERT(memcmp(d, "ping\n", 5) == 0);
  ASSERT_EQ(send(peer, "pong\n", 5, 0), 5);
  ASSERT_RC(eddy_stream_read_until(s, '\n', 64, &d, &n, EDDY_FOREVER), 0);
  ASSERT(memcmp(d, "pong\n", 5) == 0);
  int ms = eddy__stream_multishot(s);
  close(peer);
  eddy_stream_close(s);
  return ms;
}

static int no_ring_main(void *arg) {
  (void)arg;
  ASSERT_EQ(eddy__recv_buffers_out(), -1); /* no ring registered */
  ASSERT_EQ(echo_small(), 0);             /* one-shot receives */
  return 0;
}
TEST(buffer_ring_refused_at_start_leaves_one_shot_receives) {
  eddy__fault_set(EDDY_SYS_URING_BUFRING, 0, EINVAL, 1);
  run_both(no_ring_main);
}
TEST(multishot_off_by_default_and_by_option) {
  unsetenv("EDDY_RECV_MULTISHOT");
  eddy_loop_opts o = {0};
  run_both_opts(no_ring_main, &o);
  o.recv_multishot = -1;
  run_both_opts(no_ring_main, &o);
}
TEST(multishot_on_by_environment_unless_the_loop_says_no) {
  setenv("EDDY_RECV_MULTISHOT", "1", 1);
  eddy_loop_opts o = {0};
  run_both_opts(order_main, &o); /* asserts the multishot path on io_uring */
  o.recv_multishot = -1; /* an explicit choice wins */
  run_both_opts(no_ring_main, &o);
  setenv("EDDY_RECV_MULTISHOT", "0", 1);
  o.recv_multishot = 0;
  run_both_opts(no_ring_main, &o);
  unsetenv("EDDY_RECV_MULTISHOT");
}

static int refused_main(void *arg) {
  (void)arg;
  /* the kernel refuses the request (before 6.0): this stream and every
   * later one use one-shot receives */
  if (on_uring()) eddy__fault_set(EDDY_SYS_RECV, 0, EINVAL, 1);
  ASSERT_EQ(echo_small(), 0);
  ASSERT_EQ(echo_small(), 0);
  return 0;
}
TEST(kernel_refusing_multishot_falls_back_to_one_shot) { run_both(refused_main); }

static int nobufs_main(void *arg) {
  (void)arg;
  /* the ring is dry as the request starts: one receive of the stream's
   * own, then multishot again */
  if (on_uring()) eddy__fault_set(EDDY_SYS_RECV, 0, ENOBUFS, 1);
  ASSERT_EQ(echo_small(), on_uring());
  expect_ring_whole();
  return 0;
}
TEST(dry_ring_at_arming_takes_one_receive_then_rearms) { run_both(nobufs_main); }

static int nomem_main(void *arg) {
  (void)arg;
  eddy_stream *s;
  int peer;
  tcp_pair(&s, &peer, NULL);
  ASSERT_EQ(send(peer, "abc", 3, 0), 3);
  char b[8];
  eddy__fault_set(EDDY_SYS_ALLOC, 0, ENOMEM, 1); /* the request's record */
  ASSERT_EQ(eddy_stream_read(s, b, sizeof b, EDDY_FOREVER), 3);
  ASSERT_EQ(eddy__stream_multishot(s), 0); /* that read was a one-shot */
  ASSERT_EQ(send(peer, "de", 2, 0), 2);
  ASSERT_EQ(eddy_stream_read(s, b, sizeof b, EDDY_FOREVER), 2);
  ASSERT(memcmp(b, "de", 2) == 0);
  expect_multishot(s, 1); /* and the next one armed it */
  close(peer);
  eddy_stream_close(s);
  return 0;
}
TEST(no_memory_for_the_request_takes_one_receive) { run_both(nomem_main); }

static int reset_injected_main(void *arg) {
  (void)arg;
  eddy_stream *s;
  int peer;
  tcp_pair(&s, &peer, NULL);
  eddy__fault_set(EDDY_SYS_RECV, 0, ECONNRESET, 1);
  char b[8];
  ASSERT_RC(eddy_stream_read(s, b, sizeof b, EDDY_FOREVER), -ECONNRESET);
  ASSERT_RC(eddy_stream_read(s, b, sizeof b, EDDY_FOREVER), -ECONNRESET);
  close(peer);
  eddy_stream_close(s);
  return 0;
}
TEST(injected_reset_ends_the_request_and_reaches_the_reader) { run_both(reset_injected_main); }

/* Streams that asked for less memory than a ring buffer, pipes, and
 * message sockets keep to one-shot receives. */
static int small_stream_main(void *arg) {
  (void)arg;
  eddy_stream *s;
  int peer;
  eddy_stream_opts o = {.read_buffer = 512, .max_buffer = 1024};
  tcp_pair(&s, &peer, &o);
  static char junk[8192];
  memset(junk, 'z', sizeof junk);
  ASSERT_EQ(send(peer, junk, sizeof junk, 0), (long)sizeof junk);
  const char *d;
  size_t n;
  ASSERT_RC(eddy_stream_read_until(s, '\n', 1 << 20, &d, &n, EDDY_FOREVER), -EMSGSIZE);
  ASSERT(eddy_stream_buffered(s) <= 1024 + 1); /* the stream's bound holds (and its byte) */
  ASSERT_EQ(eddy__stream_multishot(s), 0);
  close(peer);
  eddy_stream_close(s);

  int pp[2];
  ASSERT_EQ(pipe2(pp, O_NONBLOCK | O_CLOEXEC), 0);
  ASSERT_RC(eddy_stream_from_fd(pp[0], NULL, &s), 0);
  ASSERT_EQ(write(pp[1], "pipe", 4), 4);
  char b[8];
  ASSERT_EQ(eddy_stream_read(s, b, sizeof b, EDDY_FOREVER), 4);
  ASSERT_EQ(eddy__stream_multishot(s), 0);
  close(pp[1]);
  ASSERT_EQ(eddy_stream_read(s, b, sizeof b, EDDY_FOREVER), 0);
  eddy_stream_close(s);

  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
  ASSERT_RC(eddy_stream_from_fd(sv[0], NULL, &s), 0);
  ASSERT_EQ(send(sv[1], "msg", 3, 0), 3);
  ASSERT_EQ(eddy_stream_read(s, b, sizeof b, EDDY_FOREVER), 3);
  ASSERT_EQ(eddy__stream_multishot(s), 0);
  close(sv[1]);
  eddy_stream_close(s);
  expect_ring_whole();
  return 0;
}
TEST(small_streams_pipes_and_message_sockets_stay_one_shot) { run_both(small_stream_main); }

/* ---- options */

static int nothing(void *arg) {
  (void)arg;
  return 0;
}
TEST(receive_options_are_checked_on_every_backend) {
  const eddy_loop_opts bad[] = {
      {.recv_buffers = 3},
      {.recv_buffers = 65536},
      {.recv_buffer_size = EDDY_RECV_BUFFER_MAX + 1},
      {.recv_multishot = 2},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    eddy_loop_opts o = bad[i];
    o.backend = EDDY_BACKEND_EPOLL;
    ASSERT_RC(eddy_run_opts(nothing, NULL, &o), -EINVAL);
#ifdef EDDY_HAVE_URING
    o.backend = EDDY_BACKEND_IO_URING;
    ASSERT_RC(eddy_run_opts(nothing, NULL, &o), -EINVAL);
#endif
  }
  eddy_loop_opts ok = {.recv_multishot = 1, .recv_buffers = 1,
                       .recv_buffer_size = 1};
  run_both_opts(nothing, &ok);
}

/* ---- datagrams (eddy_udp_datagrams) */

static int udp_sender(int *port) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  ASSERT_EQ(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  *port = ntohs(a.sin_port);
  int big = 1 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  return fd;
}
static void udp_send(int fd, int port, const void *p, size_t n) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  ASSERT_EQ(sendto(fd, p, n, 0, (struct sockaddr *)&a, sizeof a), (long)n);
}
static size_t dgram_size(int i) { return (size_t)((i + 1) * 97) % 3001; }

/* n datagrams of pattern, sizes dgram_size(i), first byte-of-pattern i */
static void send_dgrams(int fd, int port, int n) {
  static unsigned char b[4096];
  for (int i = 0; i < n; i++) {
    size_t len = dgram_size(i);
    for (size_t k = 0; k < len; k++) b[k] = pat(k + (size_t)i);
    udp_send(fd, port, b, len);
  }
}
static void check_dgram(const eddy_datagram *d, int i, int sport) {
  ASSERT_EQ(d->len, dgram_size(i));
  ASSERT_EQ(d->truncated, 0);
  for (size_t k = 0; k < d->len; k++) ASSERT_EQ((unsigned char)d->data[k], pat(k + (size_t)i));
  ASSERT_EQ(d->fromlen, sizeof(struct sockaddr_in));
  ASSERT_EQ(ntohs(((const struct sockaddr_in *)&d->from)->sin_port), sport);
}

static int dgram_main(void *arg) {
  (void)arg;
  eddy_udp *u;
  ASSERT_RC(eddy_udp_open("127.0.0.1", 0, &u), 0);
  int sport, fd = udp_sender(&sport);
  int i = 0;
  eddy_datagram d;
  int st;
  send_dgrams(fd, eddy_udp_port(u), 40);
  EDDY_FOR(d, eddy_udp_datagrams(u, 4096), st) {
    check_dgram(&d, i, sport);
    /* lent out of the ring on io_uring, held until the next step */
    if (on_uring()) ASSERT_EQ(eddy__recv_buffers_out() >= 1, 1);
    if (++i == 40) break;
  }
  ASSERT_RC(st, EDDY_BROKE); /* left by break */
  /* truncation: cut to max, marked, and the loop goes on */
  static char big[5000];
  memset(big, 'B', sizeof big);
  udp_send(fd, eddy_udp_port(u), big, sizeof big);
  udp_send(fd, eddy_udp_port(u), "after", 5);
  int k = 0;
  EDDY_FOR(d, eddy_udp_datagrams(u, 1000), st) {
    if (k++ == 0) {
      ASSERT_EQ(d.len, 1000);
      ASSERT_EQ(d.truncated, 1);
      ASSERT(d.data[999] == 'B');
    } else {
      ASSERT_EQ(d.len, 5);
      ASSERT_EQ(d.truncated, 0);
      ASSERT(memcmp(d.data, "after", 5) == 0);
      break;
    }
  }
  ASSERT_RC(st, EDDY_BROKE); /* left by break */
  /* an empty datagram (which ends a multishot recvmsg: re-armed) */
  udp_send(fd, eddy_udp_port(u), "", 0);
  udp_send(fd, eddy_udp_port(u), "x", 1);
  k = 0;
  EDDY_FOR(d, eddy_udp_datagrams(u, 100), st) {
    ASSERT_EQ(d.len, (size_t)k);
    if (++k == 2) break;
  }
  ASSERT_RC(st, EDDY_BROKE);
  /* eddy_udp_recv takes what waits in the queue first, in order */
  udp_send(fd, eddy_udp_port(u), "one", 3);
  udp_send(fd, eddy_udp_port(u), "two", 3);
  ASSERT_RC(eddy_sleep(EDDY_MSEC(5)), 0);
  char b[8];
  ASSERT_EQ(eddy_udp_recv(u, b, sizeof b, NULL, NULL, EDDY_FOREVER), 3);
  ASSERT(memcmp(b, "one", 3) == 0);
  ASSERT_RC(eddy_udp_recv(u, b, 2, NULL, NULL, EDDY_FOREVER), -EMSGSIZE); /* consumed */
  ASSERT_RC(eddy_udp_recv(u, b, sizeof b, NULL, NULL, eddy_deadline_in(EDDY_MSEC(3))), -ETIMEDOUT);
  /* closed with datagrams queued: every buffer goes back */
  send_dgrams(fd, eddy_udp_port(u), 5);
  ASSERT_RC(eddy_sleep(EDDY_MSEC(5)), 0);
  eddy_udp_close(u);
  expect_ring_whole();
  close(fd);
  return 0;
}
TEST(datagrams_come_whole_in_order_with_their_sender) { run_both(dgram_main); }

#define DRY_SOCKS 3
#define DRY_DGRAMS 60
static int dgram_dry_main(void *arg) {
  (void)arg;
  eddy_udp *u[DRY_SOCKS];
  eddy_iter *it[DRY_SOCKS];
  int sport, fd = udp_sender(&sport);
  unsigned long nobufs0 = eddy__recv_nobufs();
  eddy_datagram d;
  /* each socket's first datagram arms its request; then 60 more each
   * come while nobody reads, more than the ring's 8 buffers hold */
  for (int s = 0; s < DRY_SOCKS; s++) {
    ASSERT_RC(eddy_udp_open("127.0.0.1", 0, &u[s]), 0);
    it[s] = eddy_udp_datagrams(u[s], 3500);
    send_dgrams(fd, eddy_udp_port(u[s]), 1);
    ASSERT_RC(eddy_iter_next(it[s], &d), 0);
    check_dgram(&d, 0, sport);
  }
  for (int s = 0; s < DRY_SOCKS; s++) send_dgrams(fd, eddy_udp_port(u[s]), DRY_DGRAMS + 1);
  ASSERT_RC(eddy_sleep(EDDY_MSEC(10)), 0);
  if (on_uring()) ASSERT(eddy__recv_nobufs() > nobufs0); /* ran dry */
  for (int i = 0; i <= DRY_DGRAMS; i++)
    for (int s = 0; s < DRY_SOCKS; s++) {
      ASSERT_RC(eddy_iter_next(it[s], &d), 0);
      check_dgram(&d, i, sport);
    }
  for (int s = 0; s < DRY_SOCKS; s++) {
    eddy_iter_close(it[s]);
    it[s]->ops->release(it[s]); /* owned: FOR would have freed it */
    eddy_udp_close(u[s]);
  }
  expect_ring_whole();
  close(fd);
  return 0;
}
TEST(datagrams_through_a_dry_ring_lose_nothing) {
  eddy_loop_opts o = {.recv_multishot = 1, .recv_buffers = 8,
                      .recv_buffer_size = 4096};
  run_both_opts(dgram_dry_main, &o);
}

/* A max larger than a ring buffer holds: one-shot receives, whole. */
static int dgram_large_main(void *arg) {
  (void)arg;
  eddy_udp *u;
  ASSERT_RC(eddy_udp_open("127.0.0.1", 0, &u), 0);
  int sport, fd = udp_sender(&sport);
  static char big[20000];
  memset(big, 'L', sizeof big);
  udp_send(fd, eddy_udp_port(u), big, sizeof big);
  eddy_datagram d;
  int st;
  EDDY_FOR(d, eddy_udp_datagrams(u, 65536), st) {
    ASSERT_EQ(d.len, sizeof big);
    ASSERT_EQ(d.truncated, 0);
    if (on_uring()) ASSERT_EQ(eddy__recv_buffers_out(), 0); /* not the ring's */
    break;
  }
  ASSERT_RC(st, EDDY_BROKE); /* left by break */
  eddy_udp_close(u);
  close(fd);
  return 0;
}
TEST(datagrams_larger_than_a_ring_buffer_take_one_shot_receives) { run_both(dgram_large_main); }

/* Injected ends of the recvmsg request (io_uring; on epoll the same
 * datagrams come through recvfrom): an error is news about one datagram,
 * not the socket's end; a refusal leaves the socket on one-shot receives
 * and the loop's streams on multishot. */
static int dgram_faults_main(void *arg) {
  (void)arg;
  eddy_udp *u;
  ASSERT_RC(eddy_udp_open("127.0.0.1", 0, &u), 0);
  int sport, fd = udp_sender(&sport);
  eddy_datagram d;
  int st;
  if (on_uring()) {
    eddy__fault_set(EDDY_SYS_RECV, 0, ECONNREFUSED, 1);
    EDDY_FOR(d, eddy_udp_datagrams(u, 100), st) ASSERT(0);
    ASSERT_RC(st, -ECONNREFUSED);
  }
  udp_send(fd, eddy_udp_port(u), "ok", 2);
  EDDY_FOR(d, eddy_udp_datagrams(u, 100), st) {
    ASSERT_EQ(d.len, 2);
    ASSERT(memcmp(d.data, "ok", 2) == 0);
    break;
  }
  ASSERT_RC(st, EDDY_BROKE);
  eddy_udp_close(u);

  ASSERT_RC(eddy_udp_open("127.0.0.1", 0, &u), 0);
  if (on_uring()) eddy__fault_set(EDDY_SYS_RECV, 0, EINVAL, 1);
  udp_send(fd, eddy_udp_port(u), "one-shot", 8);
  EDDY_FOR(d, eddy_udp_datagrams(u, 100), st) {
    ASSERT_EQ(d.len, 8);
    ASSERT_EQ(eddy__recv_buffers_out(), on_uring() ? 0 : -1); /* not lent */
    break;
  }
  ASSERT_RC(st, EDDY_BROKE);
  eddy_udp_close(u);
  close(fd);
  ASSERT_EQ(echo_small(), on_uring()); /* streams still multishot */
  return 0;
}
TEST(datagram_request_errors_and_refusal) { run_both(dgram_faults_main); }
