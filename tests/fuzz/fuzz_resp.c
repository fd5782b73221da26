/* fuzz_resp.c: redis-lite's RESP2 parser (examples/redis-lite/resp.c)
 * against any bytes a peer can send.
 *
 * Input: 4 bytes choose small limits (so every limit is reached), 4 bytes
 * choose the sizes of the pieces the stream arrives in, the rest is the
 * stream. It is parsed twice, as redis-lite's connection does (unconsumed
 * bytes kept at the start of the buffer, the parser resumed as more
 * arrive): once as it arrives piece by piece, once all at once. Checked:
 *  - every call sees an exact-size copy of the pending bytes, so a read
 *    past them is an ASan report;
 *  - a command's arguments lie inside the bytes it consumed (multibulk,
 *    no copy) or inside the parser's scratch (inline), within the limits;
 *  - an error is RESP_EPROTO with a one-line reason, and no command;
 *  - while the parser asks for more, the pending bytes stay bounded by
 *    the limits (a peer cannot make the connection buffer grow);
 *  - the commands and the final error are the same however the stream was
 *    split (the incremental path loses or invents nothing). */
#include "replay.h"

#include "resp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a run produced: each command's arguments, length-prefixed, then the
 * error text if it ended with one. */
typedef struct transcript {
  char *buf;
  size_t len, cap;
} transcript;

static void put(transcript *t, const void *s, size_t n) {
  if (t->len + n > t->cap) {
    size_t c = t->cap ? t->cap : 256;
    while (c < t->len + n) c *= 2;
    char *b = realloc(t->buf, c);
    CHECK(b);
    t->buf = b;
    t->cap = c;
  }
  memcpy(t->buf + t->len, s, n);
  t->len += n;
}

static void check_cmd(const resp_parser *p, const resp_limits *lim, const char *buf, long r,
                      const resp_cmd *c, transcript *t) {
  CHECK(c->argc > 0 && (size_t)c->argc <= lim->max_args);
  int multibulk = c->argv[0] >= buf && c->argv[0] < buf + r;
  put(t, "C", 1);
  for (int i = 0; i < c->argc; i++) {
    const char *a = c->argv[i];
    size_t n = c->lens[i];
    if (multibulk) { /* points into the consumed bytes, no copy */
      CHECK(a >= buf && n <= (size_t)r && a + n <= buf + r);
      CHECK(n <= lim->max_bulk);
      CHECK(a[n] == '\r' && a[n + 1] == '\n' && a + n + 2 <= buf + r);
    } else { /* unquoted into the scratch buffer */
      CHECK(a >= p->scratch && n <= p->scratch_cap && a + n <= p->scratch + p->scratch_cap);
      CHECK(n <= lim->max_inline);
    }
    size_t sum = 0; /* touch every byte: ASan checks each */
    for (size_t k = 0; k < n; k++) sum += (unsigned char)a[k];
    (void)sum;
    put(t, &n, sizeof n);
    put(t, a, n);
  }
  if (multibulk) CHECK((size_t)r <= lim->max_command);
}

/* Feed in[0..n) to a fresh parser, `piece(i)` more bytes at a time (0: all
 * at once). Returns the transcript. */
static transcript run(const resp_limits *lim, const uint8_t *in, size_t n, const uint8_t *steps) {
  transcript t = {0};
  resp_parser p;
  resp_parser_init(&p, lim);
  size_t start = 0, avail = steps ? 0 : n, k = 0;
  /* pending bytes allowed while the parser waits: a whole command, or an
   * inline line, plus a header's worth (digits, CR) */
  size_t bound = (lim->max_command > lim->max_inline ? lim->max_command : lim->max_inline) + 64;
  for (;;) {
    if (steps && avail < n) {
      size_t step = 1 + steps[k++ % 4] % 24;
      avail = avail + step > n ? n : avail + step;
    }
    size_t len = avail - start;
    char *buf = malloc(len ? len : 1);
    CHECK(buf);
    memcpy(buf, in + start, len);
    resp_cmd c;
    memset(&c, 0, sizeof c);
    long r = resp_parse(&p, buf, len, &c);
    if (r > 0) {
      CHECK((size_t)r <= len);
      if (c.argc) check_cmd(&p, lim, buf, r, &c, &t);
      start += (size_t)r;
      /* the parser's trim between commands, as the server does */
      if (start == avail) resp_parser_trim(&p);
    } else if (r == 0) {
      CHECK(len <= bound);
      if (avail == n) {
        free(buf);
        break; /* the stream ended mid-command: nothing more comes */
      }
    } else {
      CHECK(r == RESP_EPROTO); /* no allocation here is big enough to fail */
      CHECK(c.argc == 0);
      CHECK(p.err && p.err[0] && !strpbrk(p.err, "\r\n"));
      put(&t, "E", 1);
      put(&t, p.err, strlen(p.err));
      free(buf);
      break; /* the server answers the error and closes */
    }
    free(buf);
  }
  resp_parser_fini(&p);
  return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 8) return 0;
  resp_limits lim = {
      .max_bulk = (size_t)data[0] % 40,
      .max_args = 1 + (size_t)data[1] % 8,
      .max_inline = 1 + (size_t)data[2] % 48,
  };
  /* as redis-lite requires: an inline line fits in the command limit */
  lim.max_command = lim.max_inline + 1 + (size_t)data[3] % 160;
  const uint8_t *steps = data + 4, *in = data + 8;
  size_t n = size - 8;
  transcript whole = run(&lim, in, n, NULL);
  transcript split = run(&lim, in, n, steps);
  if (whole.len != split.len || (whole.len && memcmp(whole.buf, split.buf, whole.len))) {
    fprintf(stderr, "fuzz_resp: the split stream parsed differently from the whole one\n");
    abort();
  }
  free(whole.buf);
  free(split.buf);
  return 0;
}
