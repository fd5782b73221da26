/* echo_libuv.c: libuv peer of the TCP echo entries (runtime libuv, Debian's
 * libuv1-dev): the canonical libuv echo server. uv_read_start with an
 * allocator handing out one buffer per connection (reused, so no malloc
 * per read), uv_try_write first (the common case completes inline, like
 * every other server here) and uv_write with a copied buffer only when the
 * socket is full. TCP_NODELAY on, as the other servers have it.
 *
 *   echo_libuv PORT           serves 127.0.0.1:PORT until killed */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define BUF (64 * 1024)

typedef struct conn {
  uv_tcp_t tcp;
  char buf[BUF];
} conn;

typedef struct wreq {
  uv_write_t req;
  uv_buf_t b;
} wreq;

static uv_loop_t *loop;

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b) {
  (void)hint;
  conn *c = h->data;
  *b = uv_buf_init(c->buf, BUF);
}

static void on_close(uv_handle_t *h) { free(h->data); }

static void on_written(uv_write_t *req, int status) {
  wreq *w = (wreq *)req;
  if (status < 0) uv_close((uv_handle_t *)req->handle, on_close);
  free(w->b.base);
  free(w);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  if (n < 0) {
    uv_close((uv_handle_t *)s, on_close);
    return;
  }
  if (n == 0) return;
  uv_buf_t out = uv_buf_init(b->base, (unsigned)n);
  int k = uv_try_write(s, &out, 1);
  if (k == n) return;
  if (k < 0 && k != UV_EAGAIN) {
    uv_close((uv_handle_t *)s, on_close);
    return;
  }
  if (k < 0) k = 0;
  wreq *w = malloc(sizeof *w);
  char *copy = malloc((size_t)(n - k));
  if (!w || !copy) {
    free(w);
    free(copy);
    uv_close((uv_handle_t *)s, on_close);
    return;
  }
  memcpy(copy, b->base + k, (size_t)(n - k));
  w->b = uv_buf_init(copy, (unsigned)(n - k));
  uv_write(&w->req, s, &w->b, 1, on_written);
}

static void on_conn(uv_stream_t *server, int status) {
  if (status < 0) return;
  conn *c = malloc(sizeof *c);
  if (!c) return;
  uv_tcp_init(loop, &c->tcp);
  c->tcp.data = c;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) == 0) {
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  } else {
    uv_close((uv_handle_t *)&c->tcp, on_close);
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: echo_libuv PORT\n");
    return 2;
  }
  loop = uv_default_loop();
  uv_tcp_t server;
  uv_tcp_init(loop, &server);
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", atoi(argv[1]), &a);
  int r = uv_tcp_bind(&server, (const struct sockaddr *)&a, 0);
  if (!r) r = uv_listen((uv_stream_t *)&server, 1024, on_conn);
  if (r) {
    fprintf(stderr, "echo_libuv: %s\n", uv_strerror(r));
    return 1;
  }
  return uv_run(loop, UV_RUN_DEFAULT);
}
