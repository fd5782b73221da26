/* http_eddy.c: eddy's server for the HTTP entries (http_hello,
 * http_hello_p16): HTTP/1.1 with keep-alive and pipelining, requests parsed
 * by http-parser (libhttp-parser-dev), the same answer nginx gives to
 * `return 200 "hello"` (status line, Server, Date, Content-Type,
 * Content-Length) for GET / and 404 for any other path.
 *
 * The eddy way: FOR over the listener, a task per connection, FOR over the
 * chunks that arrive. Responses to every request completed in a chunk are
 * gathered in one buffer and written with one call, so a pipelined batch
 * costs one read and one write. A malformed request gets 400 and the
 * connection closes; `Connection: close` (or HTTP/1.0 without keep-alive)
 * closes after the answer.
 *
 *   http_eddy PORT          serves 127.0.0.1:PORT until killed */
#include <eddy.h>
#include <http_parser.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OUT_CAP 8192
#define RESP_MAX 256 /* bigger than any answer below */
#define URL_MAX 256

typedef struct hconn {
  eddy_stream *s;
  http_parser p;
  char url[URL_MAX];
  size_t url_len;
  int url_long;
  int closing;  /* answer, then close */
  int werr;     /* a write failed */
  size_t olen;
  char out[OUT_CAP];
} hconn;

/* The Date header changes once a second: formatted only then, together
 * with the whole keep-alive answer to GET /, which is then copied as is. */
static char date[64];
static time_t date_at;
static char hello[RESP_MAX];
static size_t hello_len;

static const char *http_date(void) {
  time_t t = time(NULL);
  if (t != date_at) {
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    date_at = t;
    int n = snprintf(hello, sizeof hello,
                     "HTTP/1.1 200 OK\r\nServer: eddy\r\nDate: %s\r\n"
                     "Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
                     date);
    hello_len = n > 0 && (size_t)n < sizeof hello ? (size_t)n : 0;
  }
  return date;
}

static void flush(hconn *c) {
  if (c->olen && !c->werr)
    c->werr = eddy_stream_write(c->s, c->out, c->olen, NULL, EDDY_FOREVER) != 0;
  c->olen = 0;
}

static void answer(hconn *c, const char *status, const char *body, int head) {
  if (c->olen + RESP_MAX > OUT_CAP) flush(c);
  http_date();
  if (body[0] == 'h' && !head && !c->closing && c->p.http_minor == 1 && hello_len) {
    memcpy(c->out + c->olen, hello, hello_len); /* the common case */
    c->olen += hello_len;
    return;
  }
  size_t blen = strlen(body);
  int n = snprintf(c->out + c->olen, OUT_CAP - c->olen,
                   "HTTP/1.1 %s\r\nServer: eddy\r\nDate: %s\r\n"
                   "Content-Type: text/plain\r\nContent-Length: %zu\r\n%s\r\n%s",
                   status, date, blen,
                   c->closing ? "Connection: close\r\n"
                   : c->p.http_minor == 0 ? "Connection: keep-alive\r\n" : "",
                   head ? "" : body);
  if (n > 0 && (size_t)n < OUT_CAP - c->olen) c->olen += (size_t)n;
}

static int on_begin(http_parser *p) {
  hconn *c = p->data;
  c->url_len = 0;
  c->url_long = 0;
  return 0;
}

static int on_url(http_parser *p, const char *at, size_t n) {
  hconn *c = p->data;
  if (c->url_len + n > URL_MAX) {
    c->url_long = 1;
    return 0;
  }
  memcpy(c->url + c->url_len, at, n);
  c->url_len += n;
  return 0;
}

static int on_complete(http_parser *p) {
  hconn *c = p->data;
  if (!http_should_keep_alive(p)) c->closing = 1;
  int head = p->method == HTTP_HEAD;
  if (!c->url_long && c->url_len == 1 && c->url[0] == '/')
    answer(c, "200 OK", "hello", head);
  else
    answer(c, "404 Not Found", "not found\n", head);
  if (c->closing) http_parser_pause(p, 1); /* no more requests on it */
  return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_begin,
    .on_url = on_url,
    .on_message_complete = on_complete,
};

static int handle(void *arg) {
  eddy_stream *s = arg;
  EDDY_WITH(g, &eddy_stream_cm, s);
  hconn *c = malloc(sizeof *c);
  if (!c) return -ENOMEM;
  c->s = s;
  c->olen = 0;
  c->closing = c->werr = 0;
  http_parser_init(&c->p, HTTP_REQUEST);
  c->p.data = c;
  eddy_chunk ch;
  int st;
  EDDY_FOR(ch, eddy_chunks(s, 16 * 1024), st) {
    size_t used = http_parser_execute(&c->p, &settings, ch.data, ch.len);
    enum http_errno e = HTTP_PARSER_ERRNO(&c->p);
    if (e != HPE_OK && e != HPE_PAUSED) {
      c->closing = 1;
      answer(c, "400 Bad Request", "bad request\n", 0);
    } else if (used != ch.len && !c->closing) {
      c->closing = 1; /* an upgrade or CONNECT: not served here */
      answer(c, "400 Bad Request", "bad request\n", 0);
    }
    flush(c);
    if (c->closing || c->werr) break;
  }
  free(c);
  return 0;
}

static int serve(void *arg) {
  eddy_listener *l;
  int r = eddy_tcp_listen("127.0.0.1", (int)(intptr_t)arg, 1024, 0, &l);
  if (r) {
    fprintf(stderr, "http_eddy: listen: %s\n", eddy_strerror(r));
    return 1;
  }
  EDDY_WITH(gl, &eddy_listener_cm, l);
  eddy_stream *conn;
  int st;
  EDDY_FOR(conn, eddy_accept_iter(l, NULL), st)
    if (eddy_spawn(NULL, handle, conn)) eddy_stream_close(conn);
  fprintf(stderr, "http_eddy: accept: %s\n", eddy_strerror(st));
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: http_eddy PORT\n");
    return 2;
  }
  return eddy_run(serve, (void *)(intptr_t)atoi(argv[1]));
}
