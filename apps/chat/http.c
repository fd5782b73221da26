/* http.c: HTTP/1.1 requests on a connection as an async iterator (a
 * generator), parsed by http-parser (libhttp-parser-dev), and responses.
 * The head is fed to the parser a line at a time straight from the
 * stream's buffer, so nothing past the head is consumed: after an upgrade
 * the WebSocket reads its frames from the same stream. Limits are explicit:
 * a head longer than max_head is 431, a request line longer than that 414,
 * anything the parser rejects 400, a version other than 1.x 505; each is
 * yielded once as a request with error_status set, and the iterator ends. */
#include "http.h"

#include <http_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct http_reader {
  eddy_stream *conn;
  size_t max_head;
  http_parser p;
  http_parser_settings set;
  http_request req;
  char url[HTTP_PATH_MAX];
  size_t ulen;
  int url_too_long;
  char field[32], value[128]; /* the header being read (longer: ignored) */
  size_t flen, vlen;
  int in_value, field_long, value_long;
  int head_done;
  int bad_version;
};

static void append(char *dst, size_t cap, size_t *len, int *overflow, const char *at, size_t n) {
  if (*len + n >= cap) {
    *overflow = 1;
    return;
  }
  memcpy(dst + *len, at, n);
  *len += n;
  dst[*len] = 0;
}

static int has_token(const char *list, const char *token) {
  size_t n = strlen(token);
  for (const char *p = list; *p;) {
    while (*p == ' ' || *p == ',' || *p == '\t') p++;
    const char *e = p;
    while (*e && *e != ',') e++;
    const char *t = e;
    while (t > p && (t[-1] == ' ' || t[-1] == '\t')) t--;
    if ((size_t)(t - p) == n && !strncasecmp(p, token, n)) return 1;
    p = e;
  }
  return 0;
}

/* One complete header: keep what the web port needs. */
static void header_done(http_reader *r) {
  if (!r->field_long && !r->value_long) {
    http_request *q = &r->req;
    if (!strcasecmp(r->field, "Upgrade")) q->upgrade_websocket = has_token(r->value, "websocket");
    else if (!strcasecmp(r->field, "Connection")) q->connection_upgrade = has_token(r->value, "upgrade");
    else if (!strcasecmp(r->field, "Sec-WebSocket-Key") && r->vlen < sizeof q->ws_key)
      memcpy(q->ws_key, r->value, r->vlen + 1);
    else if (!strcasecmp(r->field, "Sec-WebSocket-Version")) q->ws_version = atoi(r->value);
  }
  r->flen = r->vlen = 0;
  r->field[0] = r->value[0] = 0;
  r->in_value = r->field_long = r->value_long = 0;
}

static int on_url(http_parser *p, const char *at, size_t n) {
  http_reader *r = p->data;
  append(r->url, sizeof r->url, &r->ulen, &r->url_too_long, at, n);
  return 0;
}

static int on_field(http_parser *p, const char *at, size_t n) {
  http_reader *r = p->data;
  if (r->in_value) header_done(r);
  append(r->field, sizeof r->field, &r->flen, &r->field_long, at, n);
  return 0;
}

static int on_value(http_parser *p, const char *at, size_t n) {
  http_reader *r = p->data;
  r->in_value = 1;
  append(r->value, sizeof r->value, &r->vlen, &r->value_long, at, n);
  return 0;
}

static int on_headers_complete(http_parser *p) {
  http_reader *r = p->data;
  if (r->in_value) header_done(r);
  http_request *q = &r->req;
  q->method = (int)p->method;
  q->keep_alive = http_should_keep_alive(p);
  q->has_body = (p->flags & F_CHUNKED) || (p->content_length > 0 && p->content_length != (uint64_t)-1);
  r->head_done = 1;
  r->bad_version = p->http_major != 1;
  return 0;
}

static void fail(http_reader *r, int status, const char *text) {
  r->req.error_status = status;
  r->req.error_text = text;
  r->req.keep_alive = 0;
}

/* Read one request head; 0 with req filled (maybe error_status), or
 * EDDY_DONE when the peer closed (or never started a request), or an
 * error of the stream (cancellation, a deadline). */
static int read_head(http_reader *r) {
  memset(&r->req, 0, sizeof r->req);
  r->ulen = 0;
  r->url[0] = 0;
  r->url_too_long = 0;
  r->head_done = 0;
  header_done(r);
  size_t total = 0;
  while (!r->head_done) {
    const char *line;
    size_t len;
    int rc = eddy_stream_read_until(r->conn, '\n', r->max_head, &line, &len, EDDY_FOREVER);
    if (rc == -EMSGSIZE) {
      if (total == 0) fail(r, 414, "request line too long");
      else fail(r, 431, "request header fields too large");
      return 0;
    }
    if (rc == EDDY_DONE || (rc == 0 && len > 0 && line[len - 1] != '\n'))
      return EDDY_DONE; /* the peer left, maybe mid-request: nobody to answer */
    if (rc) return rc;
    if (total == 0 && (len == 1 || (len == 2 && line[0] == '\r'))) continue; /* leading CRLF */
    /* A CR anywhere but before the LF is invalid (RFC 9112 2.2). http-parser
     * (lenient) reads "\r" and one more byte as the end of a line, and a
     * header line "X:\r \n" as a header and then the blank line: the head
     * would end a line early, and the headers after it would be read as
     * the WebSocket's frames after an upgrade. */
    const char *cr = memchr(line, '\r', len);
    if (cr && cr != line + len - 2) {
      fail(r, 400, "a CR that does not end a line");
      return 0;
    }
    total += len;
    if (total > r->max_head) {
      fail(r, 431, "request header fields too large");
      return 0;
    }
    size_t used = http_parser_execute(&r->p, &r->set, line, len);
    enum http_errno e = HTTP_PARSER_ERRNO(&r->p);
    /* A whole line is fed, so a well-formed head ends exactly at a line's
     * end, an upgrade's too: the parser stopping mid-line is a malformed
     * head (the rest of the line, consumed here, would be lost). */
    if (e != HPE_OK || used != len) {
      fail(r, 400, e != HPE_OK ? http_errno_description(e) : "malformed request");
      return 0;
    }
  }
  if (r->bad_version) {
    fail(r, 505, "only HTTP/1.x is spoken here");
    return 0;
  }
  if (r->url_too_long) {
    fail(r, 414, "request target too long");
    return 0;
  }
  struct http_parser_url u;
  http_parser_url_init(&u);
  if (http_parser_parse_url(r->url, r->ulen, 0, &u) || !(u.field_set & (1 << UF_PATH))) {
    fail(r, 400, "bad request target");
    return 0;
  }
  snprintf(r->req.path, sizeof r->req.path, "%.*s", (int)u.field_data[UF_PATH].len,
           r->url + u.field_data[UF_PATH].off);
  if (r->req.has_body) r->req.keep_alive = 0; /* its body is not read: close after */
  return 0;
}

static int requests_gen(eddy_gen *g, void *arg) {
  http_reader *r = arg;
  for (;;) {
    int rc = read_head(r);
    if (rc == EDDY_DONE) return 0;
    if (rc) return rc;
    http_request *q = &r->req;
    if (eddy_gen_yield(g, &q)) return 0;
    if (r->req.error_status || !r->req.keep_alive || r->p.upgrade) return 0;
  }
}

/* The generator owns its reader: freed when the generator's function
 * returns, however it ends (a FOR always starts it). */
static int requests_main(eddy_gen *g, void *arg) {
  int rc = requests_gen(g, arg);
  free(arg);
  return rc;
}

eddy_iter *http_requests(eddy_stream *conn, size_t max_head) {
  http_reader *r = calloc(1, sizeof *r);
  if (!r) return eddy_iter_error(-ENOMEM);
  r->conn = conn;
  r->max_head = max_head;
  http_parser_init(&r->p, HTTP_REQUEST);
  r->p.data = r;
  http_parser_settings_init(&r->set);
  r->set.on_url = on_url;
  r->set.on_header_field = on_field;
  r->set.on_header_value = on_value;
  r->set.on_headers_complete = on_headers_complete;
  eddy_iter *it = eddy_gen_new(requests_main, r, sizeof(http_request *));
  if (!eddy_gen_of(it)) free(r); /* the error iterator: the body never runs */
  return it;
}

const char *http_method_name(int method) {
  return http_method_str((enum http_method)method);
}

int http_respond(eddy_stream *conn, int status, const char *extra, const char *type,
                 const void *body, size_t len, int keep_alive, int head_only) {
  char head[1024];
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 %d %s\r\n"
                   "Server: eddy-chat\r\n"
                   "Content-Type: %s\r\n"
                   "Content-Length: %zu\r\n"
                   "Cache-Control: no-store\r\n"
                   "X-Content-Type-Options: nosniff\r\n"
                   "Connection: %s\r\n"
                   "%s\r\n",
                   status, http_status_str((enum http_status)status), type, len,
                   keep_alive ? "keep-alive" : "close", extra ? extra : "");
  if (n < 0 || (size_t)n >= sizeof head) return -EMSGSIZE;
  struct iovec iov[2] = {{head, (size_t)n}, {(void *)body, head_only ? 0 : len}};
  return eddy_stream_writev(conn, iov, iov[1].iov_len ? 2 : 1, NULL, eddy_deadline_in(EDDY_SEC(10)));
}

int http_error(eddy_stream *conn, int status, const char *extra, const char *text) {
  char body[256];
  int n = snprintf(body, sizeof body, "%d %s: %s\n", status, http_status_str((enum http_status)status), text);
  if (n < 0) n = 0;
  if ((size_t)n >= sizeof body) n = (int)sizeof body - 1;
  return http_respond(conn, status, extra, "text/plain; charset=utf-8", body, (size_t)n, 0, 0);
}
