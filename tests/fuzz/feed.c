/* feed.c: the socketpair driver of the stream harnesses (see feed.h). */
#include "feed.h"

#include "core/sys.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct feed {
  const uint8_t *in;
  size_t n;
  const uint8_t *steps;
  const eddy_stream_opts *opts;
  feed_body body;
  void *arg;
  eddy_stream *peer;
  int result;
} feed;

static void die(const char *what, int rc) {
  fprintf(stderr, "feed: %s: %s\n", what, eddy_strerror(rc));
  abort();
}

/* The peer: the input in pieces, end of stream, then read until the body
 * closes its side (its answers must not fill the socket and block it). */
static int peer_task(void *arg) {
  feed *f = arg;
  size_t off = 0, k = 0;
  int rc = 0;
  while (off < f->n && rc == 0) {
    size_t piece = f->steps ? 1 + (size_t)f->steps[k++ % 4] * 4 : f->n;
    if (piece > f->n - off) piece = f->n - off;
    rc = eddy_stream_write(f->peer, f->in + off, piece, NULL, eddy_deadline_in(EDDY_SEC(2)));
    off += piece;
    /* a pause with a timer, so the loop polls and the reader wakes with
     * only this piece buffered */
    if (rc == 0 && f->steps && off < f->n) rc = eddy_sleep(EDDY_USEC(1));
  }
  /* -EPIPE/-ECONNRESET: the body stopped reading and closed, as it may */
  eddy_stream_shutdown(f->peer);
  char sink[4096];
  while (eddy_stream_read(f->peer, sink, sizeof sink, eddy_deadline_in(EDDY_SEC(2))) > 0) {
  }
  return 0;
}

static int main_task(void *arg) {
  feed *f = arg;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv)) die("socketpair", -errno);
  eddy_stream *s;
  int rc = eddy_stream_from_fd(sv[0], f->opts, &s);
  if (rc) die("stream", rc);
  if ((rc = eddy_stream_from_fd(sv[1], NULL, &f->peer))) die("peer stream", rc);
  eddy_task *peer;
  if ((rc = eddy_spawn(&peer, peer_task, f))) die("spawn", rc);
  f->result = f->body(s, f->arg);
  eddy_stream_close(s);
  int pr;
  if ((rc = eddy_join(peer, &pr))) die("join", rc);
  eddy_stream_close(f->peer);
  return 0;
}

int feed_run(const uint8_t *in, size_t n, const uint8_t *steps, const eddy_stream_opts *opts,
             feed_body body, void *arg) {
  long before = eddy__alloc_live();
  feed f = {in, n, steps, opts, body, arg, NULL, 0};
  int rc = eddy_run(main_task, &f);
  if (rc) die("eddy_run", rc);
  long after = eddy__alloc_live();
  if (after != before) {
    fprintf(stderr, "feed: %ld eddy allocation(s) not given back\n", after - before);
    abort();
  }
  return f.result;
}
