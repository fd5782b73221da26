/* http_lines.c: the seed's "streaming data from a web API": an HTTP/1.1
 * client that shows a response line by line as it arrives, chunked
 * transfer encoding included. The HTTP parsing is http-parser
 * (libhttp-parser-dev), kept behind the small response_stream interface
 * below: an async generator of lines over a connection.
 *
 *   ./http_lines http://127.0.0.1:8080/path     stream a URL's lines
 *   ./http_lines --serve 8080                   a test server: a chunked
 *                                               response, a line every 50 ms
 */
#include <eddy.h>
#include <http_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINE 8192

/* ---- response_stream: HTTP response body lines as an async generator */
typedef struct response_stream {
  eddy_stream *conn;
  http_parser parser;
  http_parser_settings settings;
  char line[MAX_LINE];
  size_t len;
  int status, done, too_long;
  eddy_gen *gen; /* set while feeding: lines are yielded from callbacks */
  int yield_rc;
} response_stream;

typedef struct text {
  char s[MAX_LINE + 1];
} text;

static int emit(response_stream *rs) {
  text *t = malloc(sizeof *t);
  if (!t) return -ENOMEM;
  memcpy(t->s, rs->line, rs->len);
  t->s[rs->len] = 0;
  rs->len = 0;
  int r = eddy_gen_yield(rs->gen, &t); /* hand the line to the consumer */
  if (r) free(t);
  return r;
}

static int on_body(http_parser *p, const char *at, size_t n) {
  response_stream *rs = p->data;
  for (size_t i = 0; i < n; i++) {
    if (rs->len == MAX_LINE) {
      rs->too_long = 1;
      return 1; /* stop the parser */
    }
    rs->line[rs->len++] = at[i];
    if (at[i] == '\n' && (rs->yield_rc = emit(rs)) != 0) return 1;
  }
  return 0;
}

static int on_complete(http_parser *p) {
  ((response_stream *)p->data)->done = 1;
  return 0;
}

static int on_headers(http_parser *p) {
  ((response_stream *)p->data)->status = (int)p->status_code;
  return 0;
}

/* The generator: read chunks, feed the parser, which yields lines. */
static int lines_gen(eddy_gen *g, void *arg) {
  response_stream *rs = arg;
  rs->gen = g;
  eddy_chunk chunk;
  int st;
  EDDY_FOR(chunk, eddy_chunks(rs->conn, 4096), st) {
    size_t used = http_parser_execute(&rs->parser, &rs->settings, chunk.data, chunk.len);
    if (rs->yield_rc) return rs->yield_rc == EDDY_ECLOSING ? 0 : rs->yield_rc;
    if (rs->too_long) return -EMSGSIZE;
    if (used != chunk.len && !rs->done) return -EPROTO;
    if (rs->done) break;
  }
  if (st < 0) return st;
  if (!rs->done) http_parser_execute(&rs->parser, &rs->settings, NULL, 0); /* EOF */
  if (rs->len) emit(rs); /* a last line without '\n' */
  return rs->done ? 0 : -EPROTO;
}

static eddy_iter *response_lines(response_stream *rs, eddy_stream *conn) {
  memset(rs, 0, sizeof *rs);
  rs->conn = conn;
  http_parser_init(&rs->parser, HTTP_RESPONSE);
  rs->parser.data = rs;
  http_parser_settings_init(&rs->settings);
  rs->settings.on_body = on_body;
  rs->settings.on_message_complete = on_complete;
  rs->settings.on_headers_complete = on_headers;
  return eddy_gen_new(lines_gen, rs, sizeof(text *));
}

/* ---- the client */
static int client(const char *url) {
  struct http_parser_url u;
  http_parser_url_init(&u);
  if (http_parser_parse_url(url, strlen(url), 0, &u) || !(u.field_set & (1 << UF_HOST))) {
    fprintf(stderr, "bad URL: %s\n", url);
    return -EINVAL;
  }
  char host[256], path[1024] = "/";
  snprintf(host, sizeof host, "%.*s", u.field_data[UF_HOST].len, url + u.field_data[UF_HOST].off);
  if (u.field_set & (1 << UF_PATH))
    snprintf(path, sizeof path, "%.*s", u.field_data[UF_PATH].len, url + u.field_data[UF_PATH].off);
  int port = u.port ? u.port : 80;
  eddy_stream *conn;
  int r = eddy_tcp_connect(host, port, NULL, eddy_deadline_in(EDDY_SEC(10)), &conn);
  if (r) return r;
  EDDY_WITH(g, &eddy_stream_cm, conn);
  char req[1400];
  int n = snprintf(req, sizeof req,
                   "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: text/plain\r\nConnection: close\r\n\r\n",
                   path, host);
  if ((r = eddy_stream_write(conn, req, (size_t)n, NULL, eddy_deadline_in(EDDY_SEC(10)))))
    return eddy_with_close(&g, r);
  response_stream rs;
  text *line;
  int st, count = 0;
  EDDY_FOR(line, response_lines(&rs, conn), st) {
    printf("line %d: %s", ++count, line->s); /* shown as it arrives */
    fflush(stdout);
    free(line);
  }
  if (st == 0) printf("end of stream (HTTP %d, %d lines)\n", rs.status, count);
  return eddy_with_close(&g, st);
}

/* ---- a test server: a chunked response, one line every 50 ms */
static int serve_one(void *arg) {
  eddy_stream *c = arg;
  EDDY_WITH(g, &eddy_stream_cm, c);
  eddy_line ln;
  int st;
  EDDY_FOR(ln, eddy_lines(c, 8192), st)
    if (ln.len <= 2) break; /* the blank line ending the request head */
  const char *head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                     "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
  int r = eddy_stream_write(c, head, strlen(head), NULL, EDDY_FOREVER);
  for (int i = 1; r == 0 && i <= 5; i++) {
    char body[64], chunk[96];
    int bn = snprintf(body, sizeof body, "reading %d: %d.%d C\n", i, 20 + i, i * 3 % 10);
    int cn = snprintf(chunk, sizeof chunk, "%x\r\n%s\r\n", bn, body);
    eddy_sleep(EDDY_MSEC(50)); /* data that arrives over time */
    r = eddy_stream_write(c, chunk, (size_t)cn, NULL, EDDY_FOREVER);
  }
  if (r == 0) r = eddy_stream_write(c, "0\r\n\r\n", 5, NULL, EDDY_FOREVER);
  return eddy_with_close(&g, r);
}

static int server(int port, int count) {
  eddy_listener *l;
  int r = eddy_tcp_listen("127.0.0.1", port, 16, 0, &l);
  if (r) return r;
  EDDY_WITH(g, &eddy_listener_cm, l);
  printf("serving on 127.0.0.1:%d\n", eddy_listener_port(l));
  fflush(stdout);
  eddy_stream *c;
  int st, n = 0;
  EDDY_FOR(c, eddy_accept_iter(l, NULL), st) {
    eddy_spawn(NULL, serve_one, c);
    if (count && ++n == count) break;
  }
  return 0;
}

static int argc_;
static char **argv_;
static int main_task(void *arg) {
  (void)arg;
  if (argc_ >= 3 && strcmp(argv_[1], "--serve") == 0)
    return server(atoi(argv_[2]), argc_ > 3 ? atoi(argv_[3]) : 0);
  return client(argc_ > 1 ? argv_[1] : "http://127.0.0.1:8080/");
}

int main(int argc, char **argv) {
  argc_ = argc;
  argv_ = argv;
  int r = eddy_run(main_task, NULL);
  if (r) fprintf(stderr, "http_lines: %s\n", eddy_strerror(r));
  return r ? 1 : 0;
}
