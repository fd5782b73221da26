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
 *  - the loop ends with 0: every read is bounded (a -ETIMEDOUT would be
 *    a hang, as the peer always ends the stream). */
#include "replay.h"

#include "feed.h"
#include "http.h"

#include <http_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c)) {                                                                \
      fprintf(stderr, "fuzz_http: %s:%d: invariant broken: %s\n", __FILE__,    \
              __LINE__, #c);                                                   \
      abort();                                                                 \
    }                                                                          \
  } while (0)

static int read_requests(eddy_stream *s, void *arg) {
  size_t max_head = *(size_t *)arg;
  http_request *q;
  int st, last = 0;
  EDDY_FOR_UNTIL(q, http_requests(s, max_head), st, FEED_ITEM_DEADLINE) {
    CHECK(!last); /* nothing after an error, a close or an upgrade */
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
  }
  if (st != 0) fprintf(stderr, "fuzz_http: requests ended with %s\n", eddy_strerror(st));
  CHECK(st == 0);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 6) return 0;
  size_t max_head = 16 + (size_t)data[0] * 32; /* 16 .. 8176 */
  eddy_stream_opts o = {.read_buffer = (size_t)16 << (data[1] % 9), /* 16 .. 4096 */
                        .max_buffer = max_head + 1024};
  feed_run(data + 6, size - 6, data + 2, &o, read_requests, &max_head);
  return 0;
}
