/* fuzz_http.c: eddy-chat's HTTP request head reader (apps/chat/http.c,
 * http_requests over http-parser) against any bytes a browser, a scanner
 * or an attacker can send, arriving in pieces through a socketpair
 * (feed.c).
 *
 * Input: byte 0 picks the head limit (small ones too, so 414 and 431 are
 * reached), byte 1 the stream's first buffer size, bytes 2..5 the piece
 * sizes; the rest is the stream. The stream is set up as the web port's
 * acceptor does (a buffer that may grow to the head limit and a little
 * more). Checked for every request yielded:
 *  - an error is one of the statuses the reader promises (400, 414, 431,
 *    505), with a text, not keep-alive, and the last item;
 *  - a good request has a path that is a NUL-terminated string within
 *    its array, a Sec-WebSocket-Key likewise, and keep-alive off when it
 *    has a body (which is never read);
 *  - no more items follow one that is not keep-alive;
 *  - after a first request that asks for a WebSocket upgrade (where the
 *    web port leaves the loop), the stream holds exactly the bytes after
 *    the head: the frames that follow are not eaten by the HTTP reader;
 *  - the loop ends with 0 (or is left at the upgrade): every read is
 *    bounded (a -ETIMEDOUT would be a hang, as the peer always ends the
 *    stream). */
#include "replay.h"

#include "feed.h"
#include "http.h"

#include <http_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct job {
  const uint8_t *in;
  size_t n, max_head;
} job;

/* Where the first request's head ends in the input: past the blank line
 * after its request line (the reader skips blank lines before it). */
static size_t first_head_end(const uint8_t *in, size_t n) {
  size_t i = 0;
  int started = 0;
  while (i < n) {
    const uint8_t *nl = memchr(in + i, '\n', n - i);
    if (!nl) return n;
    size_t len = (size_t)(nl - (in + i)) + 1;
    int blank = len == 1 || (len == 2 && in[i] == '\r');
    i += len;
    if (blank && started) return i;
    if (!blank) started = 1;
  }
  return n;
}

/* After the upgrade the WebSocket reads from the same stream: the reader
 * must have consumed the head and not a byte more. */
static void check_rest_after_upgrade(eddy_stream *s, const job *j) {
  size_t end = first_head_end(j->in, j->n), got = 0;
  char buf[512];
  long k;
  while ((k = eddy_stream_read(s, buf, sizeof buf, eddy_deadline_in(FEED_ITEM_DEADLINE))) > 0) {
    CHECK((size_t)k <= j->n - end - got && memcmp(buf, j->in + end + got, (size_t)k) == 0);
    got += (size_t)k;
  }
  CHECK(k == 0 && got == j->n - end);
}

static int read_requests(eddy_stream *s, void *arg) {
  job *j = arg;
  http_request *q;
  int st, last = 0, items = 0, upgrade = 0;
  EDDY_FOR_UNTIL(q, http_requests(s, j->max_head), st, FEED_ITEM_DEADLINE) {
    CHECK(!last); /* nothing after an error or a close */
    items++;
    if (q->error_status) {
      CHECK(q->error_status == 400 || q->error_status == 414 || q->error_status == 431 ||
            q->error_status == 505);
      CHECK(q->error_text && q->error_text[0]);
      CHECK(!q->keep_alive);
      last = 1;
      continue;
    }
    CHECK(memchr(q->path, 0, sizeof q->path));
    CHECK(memchr(q->ws_key, 0, sizeof q->ws_key));
    CHECK(http_method_name(q->method) != NULL);
    if (q->has_body) CHECK(!q->keep_alive);
    if (!q->keep_alive) last = 1;
    if (q->upgrade_websocket && q->connection_upgrade) { /* as the web port does */
      upgrade = items == 1;
      break;
    }
  }
  if (st != 0 && st != EDDY_BROKE)
    fprintf(stderr, "fuzz_http: requests ended with %s\n", eddy_strerror(st));
  CHECK(st == 0 || st == EDDY_BROKE);
  if (upgrade) check_rest_after_upgrade(s, j);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 6) return 0;
  job j = {data + 6, size - 6, 16 + (size_t)data[0] * 32}; /* head limit 16 .. 8176 */
  eddy_stream_opts o = {.read_buffer = (size_t)16 << (data[1] % 9), /* 16 .. 4096 */
                        .max_buffer = j.max_head + 1024};
  feed_run(j.in, j.n, data + 2, &o, read_requests, &j);
  return 0;
}
