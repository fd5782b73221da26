/* fuzz_stream_iter.c: the stream iterators eddy_lines and eddy_chunks
 * (src/io/stream_iter.c over src/io/stream.c's buffer) against any bytes,
 * arriving in pieces through a socketpair (feed.c).
 *
 * Input: byte 0 picks lines or chunks, byte 1 the maximum line length or
 * chunk size (small, so long lines are common), byte 2 the stream's first
 * buffer size (small, so the buffer grows and compacts), byte 3 how much
 * room past a maximal line the buffer may grow to (none included: a last
 * line exactly as long as the buffer's limit must still come back whole), bytes 4..7 the piece
 * sizes; the rest is the stream. Checked:
 *  - lines: each is the next bytes of the input, ends at its first '\n'
 *    (only the last may lack one, at the end of the stream) and is at most
 *    max bytes; the loop ends with 0 after the last byte, or with
 *    -EMSGSIZE exactly where the next line is longer than max: no byte is
 *    lost, invented or reordered;
 *  - chunks: each is 1..size bytes, and together they are the input;
 *  - nothing else ends a loop (a -ETIMEDOUT would be a hang: the peer
 *    always ends the stream). */
#include "replay.h"

#include "feed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct job {
  const uint8_t *in;
  size_t n, max;
  int chunks;
} job;

static int read_lines(eddy_stream *s, void *arg) {
  job *j = arg;
  size_t off = 0;
  eddy_line ln;
  int st;
  EDDY_FOR_UNTIL(ln, eddy_lines(s, j->max), st, FEED_ITEM_DEADLINE) {
    CHECK(ln.len >= 1 && ln.len <= j->max && ln.len <= j->n - off);
    CHECK(memcmp(ln.data, j->in + off, ln.len) == 0);
    const char *nl = memchr(ln.data, '\n', ln.len);
    if (nl) CHECK(nl == ln.data + ln.len - 1); /* ends at its first '\n' */
    else CHECK(off + ln.len == j->n);          /* unterminated: the last */
    off += ln.len;
  }
  if (st == 0) {
    CHECK(off == j->n);
  } else if (st == -EMSGSIZE) {
    /* the next line (up to and with its '\n', or to the end) is too long */
    const uint8_t *nl = memchr(j->in + off, '\n', j->n - off);
    size_t next = nl ? (size_t)(nl - (j->in + off)) + 1 : j->n - off;
    if (next <= j->max)
      fprintf(stderr, "fuzz_stream_iter: -EMSGSIZE at %zu for a line of %zu <= %zu bytes\n", off,
              next, j->max);
    CHECK(next > j->max);
  } else {
    fprintf(stderr, "fuzz_stream_iter: lines ended with %s\n", eddy_strerror(st));
    CHECK(0);
  }
  return 0;
}

static int read_chunks(eddy_stream *s, void *arg) {
  job *j = arg;
  size_t off = 0;
  eddy_chunk c;
  int st;
  EDDY_FOR_UNTIL(c, eddy_chunks(s, j->max), st, FEED_ITEM_DEADLINE) {
    CHECK(c.len >= 1 && c.len <= j->max && c.len <= j->n - off);
    CHECK(memcmp(c.data, j->in + off, c.len) == 0);
    memset(c.data, 0xA5, c.len); /* allowed: the bytes are consumed */
    off += c.len;
  }
  if (st != 0) fprintf(stderr, "fuzz_stream_iter: chunks ended with %s\n", eddy_strerror(st));
  CHECK(st == 0 && off == j->n);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 8) return 0;
  job j = {data + 8, size - 8, 1 + (size_t)data[1] % 64, data[0] & 1};
  eddy_stream_opts o = {.read_buffer = 1 + (size_t)data[2] % 32,
                        .max_buffer = j.max + (size_t)data[3] % 9};
  feed_run(j.in, j.n, data + 4, &o, j.chunks ? read_chunks : read_lines, &j);
  return 0;
}
