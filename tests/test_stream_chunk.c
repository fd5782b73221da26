/* test_stream_chunk.c: zero-copy reads (eddy_stream_read_chunk and the
 * chunks iterator built on it: a chunk is the stream's own buffer) and the
 * single-buffer write path (eddy_stream_write): boundaries, end of stream,
 * errors, timeouts consuming nothing, chunks staying valid until the next
 * step, and partial sends under backpressure. */
#include "test.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

/* Close both ends without waiting out the grace period: each side's
 * graceful close reads until the other has shut down. */
static void close_pair(eddy_stream *a, eddy_stream *b) {
  eddy_stream_shutdown(a);
  eddy_stream_shutdown(b);
  eddy_stream_close(a);
  eddy_stream_close(b);
}

/* A connected pair of streams over a Unix socketpair. */
static void pair(eddy_stream **a, eddy_stream **b, const eddy_stream_opts *o) {
  int sv[2];
  ASSERT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
  ASSERT_RC(eddy_stream_from_fd(sv[0], o, a), 0);
  ASSERT_RC(eddy_stream_from_fd(sv[1], o, b), 0);
}

static int boundaries_main(void *arg) {
  (void)arg;
  eddy_stream *r, *w;
  pair(&r, &w, NULL);
  ASSERT_RC(eddy_stream_write(w, "abcdefgh", 8, NULL, EDDY_FOREVER), 0);
  const char *d;
  size_t n;
  /* at most max bytes, in order, never more than arrived */
  ASSERT_RC(eddy_stream_read_chunk(r, 3, &d, &n, EDDY_FOREVER), 0);
  ASSERT_EQ(n, 3);
  ASSERT(memcmp(d, "abc", 3) == 0);
  ASSERT_EQ(eddy_stream_buffered(r), 5);
  ASSERT_RC(eddy_stream_read_chunk(r, 3, &d, &n, EDDY_FOREVER), 0);
  ASSERT_EQ(n, 3);
  ASSERT(memcmp(d, "def", 3) == 0);
  ASSERT_RC(eddy_stream_read_chunk(r, 100, &d, &n, EDDY_FOREVER), 0);
  ASSERT_EQ(n, 2);
  ASSERT(memcmp(d, "gh", 2) == 0);
  ASSERT_EQ(eddy_stream_buffered(r), 0);
  /* mixing with copying reads: each sees the bytes the other left */
  ASSERT_RC(eddy_stream_write(w, "xyz\n123", 7, NULL, EDDY_FOREVER), 0);
  const char *line;
  size_t len;
  ASSERT_RC(eddy_stream_read_until(r, '\n', 16, &line, &len, EDDY_FOREVER), 0);
  ASSERT_EQ(len, 4);
  ASSERT_RC(eddy_stream_read_chunk(r, 100, &d, &n, EDDY_FOREVER), 0);
  ASSERT_EQ(n, 3);
  ASSERT(memcmp(d, "123", 3) == 0);
  close_pair(w, r);
  return 0;
}
TEST(read_chunk_hands_out_at_most_max_bytes_in_order) {
  ASSERT_EQ(eddy_run(boundaries_main, NULL), 0);
}

static int eof_main(void *arg) {
  (void)arg;
  eddy_stream *r, *w;
  pair(&r, &w, NULL);
  ASSERT_RC(eddy_stream_write(w, "a", 1, NULL, EDDY_FOREVER), 0);
  eddy_stream_shutdown(w);
  const char *d = NULL;
  size_t n = 0;
  /* one byte is data (0), never mistaken for the end (EDDY_DONE) */
  ASSERT_RC(eddy_stream_read_chunk(r, 16, &d, &n, EDDY_FOREVER), 0);
  ASSERT_EQ(n, 1);
  ASSERT_EQ(d[0], 'a');
  ASSERT_RC(eddy_stream_read_chunk(r, 16, &d, &n, EDDY_FOREVER), EDDY_DONE);
  ASSERT_RC(eddy_stream_read_chunk(r, 16, &d, &n, EDDY_FOREVER), EDDY_DONE);
  close_pair(r, w);
  return 0;
}
TEST(read_chunk_says_done_at_end_of_stream_and_keeps_saying_it) {
  ASSERT_EQ(eddy_run(eof_main, NULL), 0);
}

static int errors_main(void *arg) {
  (void)arg;
  eddy_stream *r, *w;
  pair(&r, &w, NULL);
  const char *d;
  size_t n;
  ASSERT_RC(eddy_stream_read_chunk(r, 0, &d, &n, EDDY_FOREVER), -EINVAL);
  ASSERT_RC(eddy_stream_read_chunk(NULL, 4, &d, &n, EDDY_FOREVER), -EINVAL);
  ASSERT_RC(eddy_stream_read_chunk(r, 4, NULL, &n, EDDY_FOREVER), -EINVAL);
  ASSERT_RC(eddy_stream_read_chunk(r, 4, &d, NULL, EDDY_FOREVER), -EINVAL);
  ASSERT_RC(eddy_stream_write(w, NULL, 4, NULL, EDDY_FOREVER), -EINVAL);
  ASSERT_RC(eddy_stream_write(w, NULL, 0, NULL, EDDY_FOREVER), 0);
  /* nothing arrives: a timeout, and nothing is lost when bytes come later */
  ASSERT_RC(eddy_stream_read_chunk(r, 4, &d, &n, eddy_deadline_in(EDDY_MSEC(20))),
            -ETIMEDOUT);
  ASSERT_RC(eddy_stream_write(w, "late", 4, NULL, EDDY_FOREVER), 0);
  ASSERT_RC(eddy_stream_read_chunk(r, 4, &d, &n, EDDY_FOREVER), 0);
  ASSERT_EQ(n, 4);
  ASSERT(memcmp(d, "late", 4) == 0);
  close_pair(w, r);
  /* a peer that closes with our bytes unread resets the stream: an error,
   * and it stays one */
  int sv[2];
  ASSERT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
  ASSERT_RC(eddy_stream_from_fd(sv[0], NULL, &r), 0);
  ASSERT_RC(eddy_stream_write(r, "unread", 6, NULL, EDDY_FOREVER), 0);
  close(sv[1]);
  ASSERT_RC(eddy_stream_read_chunk(r, 4, &d, &n, EDDY_FOREVER), -ECONNRESET);
  ASSERT_RC(eddy_stream_read_chunk(r, 4, &d, &n, EDDY_FOREVER), -ECONNRESET);
  eddy_stream_close(r);
  return 0;
}
TEST(read_chunk_rejects_bad_arguments_and_times_out_consuming_nothing) {
  ASSERT_EQ(eddy_run(errors_main, NULL), 0);
}

static int cancelled_main(void *arg) {
  (void)arg;
  eddy_stream *r, *w;
  pair(&r, &w, NULL);
  ASSERT_RC(eddy_stream_write(w, "ab", 2, NULL, EDDY_FOREVER), 0);
  const char *d;
  size_t n;
  eddy_scope sc;
  ASSERT_RC(eddy_scope_enter(&sc, EDDY_FOREVER, 0), 0);
  eddy_scope_cancel(&sc);
  /* cancelled before it starts: the buffered bytes stay for later */
  ASSERT_RC(eddy_stream_read_chunk(r, 16, &d, &n, EDDY_FOREVER), -ECANCELED);
  ASSERT_RC(eddy_stream_write(w, "cd", 2, NULL, EDDY_FOREVER), -ECANCELED);
  eddy_scope_exit(&sc);
  ASSERT_RC(eddy_stream_read_chunk(r, 16, &d, &n, EDDY_FOREVER), 0);
  ASSERT_EQ(n, 2);
  ASSERT(memcmp(d, "ab", 2) == 0);
  close_pair(w, r);
  return 0;
}
TEST(read_chunk_and_write_in_a_cancelled_scope_do_nothing) {
  ASSERT_EQ(eddy_run(cancelled_main, NULL), 0);
}

/* The chunks iterator: a chunk is valid until the next step even when more
 * bytes arrive meanwhile, and may be written over. */
static int late_writer(void *arg) {
  eddy_stream *w = arg;
  for (int i = 0; i < 3; i++) {
    char msg[4] = {(char)('A' + i), (char)('a' + i), (char)('0' + i), '\n'};
    ASSERT_RC(eddy_stream_write(w, msg, 4, NULL, EDDY_FOREVER), 0);
    ASSERT_RC(eddy_sleep(EDDY_MSEC(5)), 0);
  }
  eddy_stream_shutdown(w);
  return 0;
}
static int chunks_valid_main(void *arg) {
  (void)arg;
  eddy_stream *r, *w;
  eddy_stream_opts o = {.read_buffer = 64};
  pair(&r, &w, &o);
  eddy_task *t;
  ASSERT_RC(eddy_spawn(&t, late_writer, w), 0);
  char all[64];
  size_t got = 0;
  eddy_chunk c;
  int st;
  EDDY_FOR(c, eddy_chunks(r, 2), st) {
    ASSERT(c.len >= 1 && c.len <= 2);
    char copy[2];
    memcpy(copy, c.data, c.len);
    ASSERT_RC(eddy_sleep(EDDY_MSEC(8)), 0); /* more arrives meanwhile */
    ASSERT(memcmp(copy, c.data, c.len) == 0);
    memcpy(all + got, c.data, c.len);
    got += c.len;
    memset(c.data, '#', c.len); /* consumed bytes: ours to scribble on */
  }
  ASSERT_RC(st, 0);
  ASSERT_EQ(got, 12);
  ASSERT(memcmp(all, "Aa0\nBb1\nCc2\n", 12) == 0);
  ASSERT_RC(eddy_join(t, NULL), 0);
  close_pair(r, w);
  return 0;
}
TEST(chunks_stay_valid_until_the_next_step_and_may_be_overwritten) {
  ASSERT_EQ(eddy_run(chunks_valid_main, NULL), 0);
}

/* A chunk pointing into the buffer must not stop the buffer from serving
 * more data than it holds at once: the buffer starts over when emptied. */
static int steady_writer(void *arg) {
  eddy_stream *w = arg;
  char block[100];
  for (int i = 0; i < 1000; i++) {
    for (int k = 0; k < 100; k++) block[k] = (char)(i + k);
    ASSERT_RC(eddy_stream_write(w, block, sizeof block, NULL, EDDY_FOREVER), 0);
  }
  eddy_stream_shutdown(w);
  return 0;
}
static int chunks_stream_main(void *arg) {
  (void)arg;
  eddy_stream *r, *w;
  eddy_stream_opts o = {.read_buffer = 256, .max_buffer = 256};
  pair(&r, &w, &o);
  eddy_task *t;
  ASSERT_RC(eddy_spawn(&t, steady_writer, w), 0);
  size_t got = 0;
  int bad = 0;
  eddy_chunk c;
  int st;
  EDDY_FOR(c, eddy_chunks(r, 4096), st) {
    ASSERT(c.len <= 256); /* never more than the stream's buffer */
    for (size_t k = 0; k < c.len; k++, got++)
      if (c.data[k] != (char)(got / 100 + got % 100)) bad++;
  }
  ASSERT_RC(st, 0);
  ASSERT_EQ(got, 100000);
  ASSERT_EQ(bad, 0);
  ASSERT_RC(eddy_join(t, NULL), 0);
  close_pair(r, w);
  return 0;
}
TEST(chunks_carry_a_long_stream_through_a_small_buffer_intact) {
  ASSERT_EQ(eddy_run(chunks_stream_main, NULL), 0);
}

/* eddy_stream_write of one buffer bigger than the socket takes: partial
 * sends, waits for room, and the rest, in order. */
static int slow_reader(void *arg) {
  eddy_stream *r = arg;
  static char got[1 << 22];
  size_t n = 0;
  const char *d;
  size_t len;
  int rc;
  while ((rc = eddy_stream_read_chunk(r, 1000, &d, &len, EDDY_FOREVER)) == 0) {
    ASSERT(n + len <= sizeof got);
    memcpy(got + n, d, len);
    n += len;
    if (n % 65536 < 1000) eddy_yield();
  }
  ASSERT_RC(rc, EDDY_DONE);
  ASSERT_EQ(n, sizeof got);
  for (size_t k = 0; k < n; k++)
    if (got[k] != (char)(k * 7 + k / 4096)) return 1;
  return 0;
}
static int big_write_main(void *arg) {
  (void)arg;
  eddy_stream *r, *w;
  pair(&r, &w, NULL);
  static char big[1 << 22];
  for (size_t k = 0; k < sizeof big; k++) big[k] = (char)(k * 7 + k / 4096);
  eddy_task *t;
  ASSERT_RC(eddy_spawn(&t, slow_reader, r), 0);
  size_t sent = 0;
  ASSERT_RC(eddy_stream_write(w, big, sizeof big, &sent, EDDY_FOREVER), 0);
  ASSERT_EQ(sent, sizeof big);
  eddy_stream_shutdown(w);
  int res = -1;
  ASSERT_RC(eddy_join(t, &res), 0);
  ASSERT_EQ(res, 0);
  close_pair(r, w);
  return 0;
}
TEST(write_of_one_big_buffer_waits_for_room_and_sends_it_all) {
  ASSERT_EQ(eddy_run(big_write_main, NULL), 0);
}

/* A write the peer never drains times out and says how much went. */
static int stuck_write_main(void *arg) {
  (void)arg;
  eddy_stream *r, *w;
  pair(&r, &w, NULL);
  static char big[1 << 22];
  size_t sent = 12345;
  ASSERT_RC(eddy_stream_write(w, big, sizeof big, &sent,
                              eddy_deadline_in(EDDY_MSEC(30))),
            -ETIMEDOUT);
  ASSERT(sent > 0 && sent < sizeof big);
  /* what was sent arrives, and nothing else */
  size_t n = 0;
  const char *d;
  size_t len;
  eddy_stream_shutdown(w);
  int rc;
  while ((rc = eddy_stream_read_chunk(r, 1 << 16, &d, &len, EDDY_FOREVER)) == 0) n += len;
  ASSERT_RC(rc, EDDY_DONE);
  ASSERT_EQ(n, sent);
  close_pair(r, w);
  return 0;
}
TEST(write_to_a_peer_that_never_reads_times_out_telling_what_was_sent) {
  ASSERT_EQ(eddy_run(stuck_write_main, NULL), 0);
}

/* A stream over a pipe: sockets are read with recv(2), which a pipe
 * refuses; the stream finds out once and reads it with read(2). */
static int pipe_main(void *arg) {
  (void)arg;
  int p[2];
  ASSERT(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
  eddy_stream *r, *w;
  ASSERT_RC(eddy_stream_from_fd(p[0], NULL, &r), 0);
  ASSERT_RC(eddy_stream_from_fd(p[1], NULL, &w), 0);
  for (int i = 0; i < 3; i++) {
    ASSERT_RC(eddy_stream_write(w, "pipe", 4, NULL, EDDY_FOREVER), 0);
    const char *d;
    size_t n;
    ASSERT_RC(eddy_stream_read_chunk(r, 16, &d, &n, EDDY_FOREVER), 0);
    ASSERT_EQ(n, 4);
    ASSERT(memcmp(d, "pipe", 4) == 0);
  }
  eddy_stream_close(w);
  const char *d;
  size_t n;
  ASSERT_RC(eddy_stream_read_chunk(r, 16, &d, &n, EDDY_FOREVER), EDDY_DONE);
  eddy_stream_close(r);
  return 0;
}
TEST(read_chunk_reads_a_pipe_too) { ASSERT_EQ(eddy_run(pipe_main, NULL), 0); }

/* The stream's buffer starts on a 64-byte line, also after it has grown
 * (the kernel copies into an aligned buffer fastest), and growing keeps
 * every byte. */
static int aligned_main(void *arg) {
  (void)arg;
  eddy_stream_opts o = {.read_buffer = 64, .max_buffer = 8192};
  eddy_stream *r, *w;
  pair(&r, &w, &o);
  char line[3001];
  for (int i = 0; i < 3000; i++) line[i] = (char)('a' + i % 26);
  line[3000] = '\n';
  ASSERT_RC(eddy_stream_write(w, line, sizeof line, NULL, EDDY_FOREVER), 0);
  const char *d;
  size_t n;
  ASSERT_RC(eddy_stream_read_until(r, '\n', 8192, &d, &n, EDDY_FOREVER), 0);
  ASSERT_EQ(n, sizeof line);
  ASSERT_EQ((uintptr_t)d % 64, 0);
  ASSERT(memcmp(d, line, sizeof line) == 0);
  close_pair(r, w);
  return 0;
}
TEST(stream_buffer_is_line_aligned_after_growing) { ASSERT_EQ(eddy_run(aligned_main, NULL), 0); }
