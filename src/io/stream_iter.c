/* stream_iter.c: iterators over streams (lines, chunks), listeners
 * (connections), files (chunks) and datagram sockets, and the context
 * managers that close streams, files and listeners. Lines and stream
 * chunks point into the stream's own buffer (no copy); file chunks into the
 * iterator's (cache-line aligned); datagrams into the loop's receive ring
 * or the iterator's. */
#include "io.h"
#include "eddy/stream_iter.h"

#include <string.h>

typedef struct sit {
  eddy_iter it;
  int kind;
  eddy_stream *s;
  eddy_listener *l;
  eddy_file *f;
  eddy_udp *u;
  eddy_stream_opts opts;
  int has_opts;
  size_t max;
  char *buf;
} sit;

enum { S_LINES, S_CHUNKS, S_ACCEPT, S_FILE, S_DGRAM };

static int sit_next(eddy_iter *it, void *item) {
  sit *x = (sit *)it;
  switch (x->kind) {
  case S_LINES: {
    eddy_line *ln = item;
    return eddy_stream_read_until(x->s, '\n', x->max, &ln->data, &ln->len,
                                  EDDY_FOREVER);
  }
  case S_CHUNKS: { /* zero-copy: the chunk is the stream's own buffer */
    eddy_chunk *c = item;
    const char *data;
    int r = eddy_stream_read_chunk(x->s, x->max, &data, &c->len, EDDY_FOREVER);
    c->data = (char *)data; /* consumed bytes: the caller may write over them */
    return r; /* EDDY_DONE: the stream's end is the iterator's */
  }
  case S_ACCEPT:
    return eddy_listener_accept(x->l, (eddy_stream **)item,
                                x->has_opts ? &x->opts : NULL, EDDY_FOREVER);
  case S_DGRAM:
    return eddy__udp_next(x->u, x->buf, x->max, item, EDDY_FOREVER);
  case S_FILE: {
    eddy_chunk *c = item;
    long n = eddy_file_read(x->f, x->buf, x->max);
    if (n < 0) return (int)n;
    if (n == 0) return EDDY_DONE;
    c->data = x->buf;
    c->len = (size_t)n;
    return 0;
  }
  }
  return -EINVAL;
}

static void sit_release(eddy_iter *it) {
  sit *x = (sit *)it;
  eddy__free(x->buf);
  eddy__free(x);
}

static const eddy_iter_ops sit_ops = {sit_next, NULL, sit_release};

static eddy_iter *make(int kind, size_t bufsize) {
  sit *x = eddy__calloc(1, sizeof *x);
  if (!x) return NULL;
  if (bufsize && !(x->buf = eddy__alloc_aligned(bufsize))) {
    eddy__free(x);
    return NULL;
  }
  eddy_iter_init(&x->it, &sit_ops);
  x->it.owned = 1;
  x->kind = kind;
  x->max = bufsize;
  return &x->it;
}

EDDY_API eddy_iter *eddy_lines(eddy_stream *s, size_t max) {
  if (!s || !max) return eddy_iter_error(-EINVAL);
  eddy_iter *it = make(S_LINES, 0);
  if (!it) return eddy_iter_error(-ENOMEM);
  ((sit *)it)->s = s;
  ((sit *)it)->max = max;
  return it;
}

EDDY_API eddy_iter *eddy_chunks(eddy_stream *s, size_t size) {
  if (!s || !size) return eddy_iter_error(-EINVAL);
  eddy_iter *it = make(S_CHUNKS, 0);
  if (!it) return eddy_iter_error(-ENOMEM);
  ((sit *)it)->s = s;
  ((sit *)it)->max = size;
  return it;
}

EDDY_API eddy_iter *eddy_accept_iter(eddy_listener *l, const eddy_stream_opts *opts) {
  if (!l) return eddy_iter_error(-EINVAL);
  eddy_iter *it = make(S_ACCEPT, 0);
  if (!it) return eddy_iter_error(-ENOMEM);
  ((sit *)it)->l = l;
  if (opts) {
    ((sit *)it)->opts = *opts;
    ((sit *)it)->has_opts = 1;
  }
  return it;
}

EDDY_API eddy_iter *eddy_file_chunks(eddy_file *f, size_t size) {
  if (!f || !size) return eddy_iter_error(-EINVAL);
  eddy_iter *it = make(S_FILE, size);
  if (!it) return eddy_iter_error(-ENOMEM);
  ((sit *)it)->f = f;
  return it;
}

EDDY_API eddy_iter *eddy_udp_datagrams(eddy_udp *u, size_t max) {
  if (!u || !max) return eddy_iter_error(-EINVAL);
  eddy_iter *it = make(S_DGRAM, max);
  if (!it) return eddy_iter_error(-ENOMEM);
  ((sit *)it)->u = u;
  return it;
}

/* ---- managers */
static int pass_enter(void *self, void **value) {
  *value = self;
  return self ? 0 : -EINVAL;
}
static int stream_exit(void *self, int status) {
  int r = eddy_stream_close(self);
  return r ? r : status;
}
static int file_exit(void *self, int status) {
  int r = eddy_file_close(self);
  return r ? r : status;
}
static int listener_exit(void *self, int status) {
  eddy_listener_close(self);
  return status;
}
EDDY_API const eddy_cm_ops eddy_stream_cm = {pass_enter, stream_exit, 0};
EDDY_API const eddy_cm_ops eddy_file_cm = {pass_enter, file_exit, 0};
EDDY_API const eddy_cm_ops eddy_listener_cm = {pass_enter, listener_exit, EDDY_CM_NOSHIELD};
