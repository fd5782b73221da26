/* fuzz_websocket.c: eddy-chat's WebSocket frame reader (apps/chat/
 * websocket.c: ws_messages over wslay) against any bytes a client can send
 * after the upgrade, arriving in pieces through a socketpair (feed.c).
 *
 * Input: bytes 0..1 pick the message limit (small ones too, so 1009 is
 * reached), bytes 2..5 the piece sizes; the rest is the stream of frames.
 * The connection is entered as the chat does (the 101 answer goes to the
 * peer, which drains it with the pongs and the close frame). Checked:
 *  - each message is at most the limit and is valid UTF-8, as the header
 *    promises (text messages only, invalid UTF-8 refused);
 *  - the loop ends with one of the promised outcomes: 0 (the peer's close
 *    frame), -EMSGSIZE, -EPROTO or -ECONNRESET (the stream ended without a
 *    close); a -ETIMEDOUT would be a hang, as the peer always ends it;
 *  - the exit (a close frame, wslay's state freed) leaks nothing. */
#include "replay.h"

#include "feed.h"
#include "websocket.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c)) {                                                                \
      fprintf(stderr, "fuzz_websocket: %s:%d: invariant broken: %s\n",        \
              __FILE__, __LINE__, #c);                                         \
      abort();                                                                 \
    }                                                                          \
  } while (0)

/* RFC 3629 UTF-8: no overlongs, no surrogates, nothing past U+10FFFF. */
static int utf8_valid(const unsigned char *s, size_t n) {
  for (size_t i = 0; i < n;) {
    unsigned c = s[i];
    size_t k;
    unsigned lo = 0x80, hi = 0xBF;
    if (c < 0x80) {
      i++;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      k = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      k = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      k = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return 0;
    }
    if (n - i <= k) return 0;
    if (s[i + 1] < lo || s[i + 1] > hi) return 0;
    for (size_t j = 2; j <= k; j++)
      if (s[i + j] < 0x80 || s[i + j] > 0xBF) return 0;
    i += k + 1;
  }
  return 1;
}

static int read_messages(eddy_stream *s, void *arg) {
  size_t max_msg = *(size_t *)arg;
  ws_conn ws;
  ws_init(&ws, s, "dGhlIHNhbXBsZSBub25jZQ==", max_msg);
  int st = 0;
  {
    EDDY_WITH(wg, &ws_cm, &ws);
    CHECK(wg.status == 0);
    ws_message m;
    EDDY_FOR_UNTIL(m, ws_messages(&ws), st, FEED_ITEM_DEADLINE) {
      CHECK(m.len <= max_msg);
      CHECK(m.len == 0 || m.data);
      CHECK(utf8_valid((const unsigned char *)m.data, m.len));
    }
  }
  if (st != 0 && st != -EMSGSIZE && st != -EPROTO && st != -ECONNRESET) {
    fprintf(stderr, "fuzz_websocket: messages ended with %s\n", eddy_strerror(st));
    CHECK(0);
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 6) return 0;
  size_t max_msg = 1 + ((size_t)data[0] << 8 | data[1]) % 8192;
  feed_run(data + 6, size - 6, data + 2, NULL, read_messages, &max_msg);
  return 0;
}
