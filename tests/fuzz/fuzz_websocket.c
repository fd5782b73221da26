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
 *  - the messages are exactly those the frames carry, in order, as far as
 *    a strict reading of the frames is sure of them (decode()); when every
 *    frame is good, all of them come, then the end the input has: 0 after
 *    a close frame, -ECONNRESET when the stream just ends;
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

/* The messages a client's frames must give, by a strict reading of RFC
 * 6455 that stops (`end` = SUSPECT) at the first frame it is not sure
 * about: whatever the reader does there (refusing is its right), the
 * messages before it must come out exactly, in order. */
enum { ENDED_STREAM, ENDED_CLOSE, SUSPECT };

typedef struct expect {
  char *buf;               /* the messages, one after the other */
  size_t off[4096], len[4096], n;
  int end;
} expect;

static void decode(const uint8_t *in, size_t n, size_t max_msg, expect *e) {
  size_t i = 0, used = 0, start = 0;
  int in_msg = 0;
  e->n = 0;
  e->buf = malloc(n ? n : 1);
  CHECK(e->buf);
  e->end = SUSPECT;
  for (;;) {
    if (i == n) {
      if (!in_msg) e->end = ENDED_STREAM;
      return;
    }
    if (n - i < 2) return;
    unsigned fin = in[i] >> 7, rsv = in[i] & 0x70, op = in[i] & 15, masked = in[i + 1] >> 7;
    uint64_t len = in[i + 1] & 127;
    size_t h = 2;
    if (rsv || !masked) return;
    if (len == 126) {
      if (n - i < 4) return;
      len = (uint64_t)in[i + 2] << 8 | in[i + 3];
      if (len < 126) return; /* not the shortest form: leave it to the reader */
      h = 4;
    } else if (len == 127) {
      if (n - i < 10) return;
      len = 0;
      for (int k = 0; k < 8; k++) len = len << 8 | in[i + 2 + k];
      if (len < 65536 || len >> 63) return;
      h = 10;
    }
    if (n - i < h + 4 || len > n - i - h - 4) return; /* the mask and the whole payload */
    const uint8_t *mask = in + i + h, *pay = mask + 4;
    i += h + 4 + (size_t)len;
    if (op >= 8) { /* control */
      if (!fin || len > 125 || op > 10) return;
      if (op == 8) { /* a clean close: no code, or a valid one and a UTF-8 reason */
        unsigned code = len >= 2 ? (unsigned)(pay[0] ^ mask[0]) << 8 | (pay[1] ^ mask[1]) : 0;
        char reason[125];
        for (size_t k = 2; k < len; k++) reason[k - 2] = (char)(pay[k] ^ mask[k % 4]);
        int ok = len == 0 || (len >= 2 && ((code >= 1000 && code <= 1003) ||
                                           (code >= 1007 && code <= 1011) ||
                                           (code >= 3000 && code <= 4999)) &&
                              utf8_valid((const unsigned char *)reason, (size_t)len - 2));
        if (ok && !in_msg) e->end = ENDED_CLOSE;
        return;
      }
      continue; /* ping, pong */
    }
    if (op == 1 && !in_msg) {
      in_msg = 1;
      start = used;
    } else if (op != 0 || !in_msg) {
      return; /* binary, reserved, or out of order */
    }
    if (len > max_msg - (used - start)) return; /* too big: refused, rightly */
    for (size_t k = 0; k < len; k++) e->buf[used++] = (char)(pay[k] ^ mask[k % 4]);
    if (fin) {
      if (!utf8_valid((const unsigned char *)e->buf + start, used - start)) return;
      if (e->n == sizeof e->off / sizeof e->off[0]) return;
      e->off[e->n] = start;
      e->len[e->n++] = used - start;
      in_msg = 0;
    }
  }
}

typedef struct job {
  const uint8_t *in;
  size_t n, max_msg;
} job;

static int read_messages(eddy_stream *s, void *arg) {
  job *j = arg;
  expect *e = malloc(sizeof *e);
  CHECK(e);
  decode(j->in, j->n, j->max_msg, e);
  ws_conn ws;
  ws_init(&ws, s, "dGhlIHNhbXBsZSBub25jZQ==", j->max_msg);
  int st = 0;
  size_t got = 0;
  {
    EDDY_WITH(wg, &ws_cm, &ws);
    CHECK(wg.status == 0);
    ws_message m;
    EDDY_FOR_UNTIL(m, ws_messages(&ws), st, FEED_ITEM_DEADLINE) {
      CHECK(m.len <= j->max_msg);
      CHECK(m.len == 0 || m.data);
      CHECK(utf8_valid((const unsigned char *)m.data, m.len));
      if (got < e->n) { /* exactly the next message the frames carry */
        CHECK(m.len == e->len[got] && memcmp(m.data, e->buf + e->off[got], m.len) == 0);
      } else {
        CHECK(e->end == SUSPECT); /* a message the frames do not carry */
      }
      got++;
    }
  }
  if (st != 0 && st != -EMSGSIZE && st != -EPROTO && st != -ECONNRESET) {
    fprintf(stderr, "fuzz_websocket: messages ended with %s\n", eddy_strerror(st));
    CHECK(0);
  }
  if (e->end != SUSPECT) { /* all good frames: every message, then the end */
    if (got != e->n || st != (e->end == ENDED_CLOSE ? 0 : -ECONNRESET))
      fprintf(stderr, "fuzz_websocket: %zu of %zu messages, then %s\n", got, e->n,
              eddy_strerror(st));
    CHECK(got == e->n);
    CHECK(st == (e->end == ENDED_CLOSE ? 0 : -ECONNRESET));
  }
  free(e->buf);
  free(e);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 6) return 0;
  job j = {data + 6, size - 6, 1 + ((size_t)data[0] << 8 | data[1]) % 8192};
  feed_run(j.in, j.n, data + 2, NULL, read_messages, &j);
  return 0;
}
