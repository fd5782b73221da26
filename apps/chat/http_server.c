/* http_server.c: eddy-chat's web port. An acceptor (FOR connection in
 * listener) spawns a task per connection into the server's task group; in
 * it the connection is a context manager and its HTTP requests an async
 * iterator (http.c), each head read under a deadline. GET / is the page
 * (embedded in the binary); GET /ws with a valid upgrade hands the
 * connection to a WebSocket chat session (web_client.c). Anything else gets
 * a clear HTTP error: 400 malformed or bad upgrade, 404 unknown path, 405
 * wrong method, 414/431 oversized, 505 not HTTP/1.x; then the connection
 * closes. Shutdown is the group's cancellation, as for line clients. */
#include "web.h"

#include <http_parser.h>
#include <string.h>

#define HEAD_MAX 8192            /* request line and headers, in bytes */
#define HEAD_TIMEOUT EDDY_SEC(10) /* for each request head to arrive */

static const char *PAGE_HEADERS =
    "Content-Security-Policy: default-src 'none'; script-src 'unsafe-inline'; "
    "style-src 'unsafe-inline'; connect-src 'self'; img-src data:\r\n"
    "X-Frame-Options: DENY\r\n";

/* What to do with one request: 1 to go on (keep-alive), 0 to close, 2 to
 * upgrade (key copied). */
static int route(eddy_stream *conn, const http_request *q, char *key, size_t keycap) {
  int get = q->method == HTTP_GET, head = q->method == HTTP_HEAD;
  if (q->error_status) return http_error(conn, q->error_status, NULL, q->error_text), 0;
  if (!strcmp(q->path, "/") || !strcmp(q->path, "/index.html")) {
    if (!get && !head) return http_error(conn, 405, "Allow: GET, HEAD\r\n", "the page is read with GET"), 0;
    int rc = http_respond(conn, 200, PAGE_HEADERS, "text/html; charset=utf-8", chat_page_html,
                          chat_page_html_len, q->keep_alive, head);
    return rc == 0 && q->keep_alive;
  }
  if (!strcmp(q->path, "/ws")) {
    char accept[29];
    if (!get) return http_error(conn, 405, "Allow: GET\r\n", "a WebSocket upgrade is a GET"), 0;
    if (!q->upgrade_websocket || !q->connection_upgrade)
      return http_error(conn, 400, NULL,
                        "not a WebSocket upgrade (needs Upgrade: websocket and Connection: Upgrade)"), 0;
    if (q->ws_version != 13)
      return http_error(conn, 400, "Sec-WebSocket-Version: 13\r\n",
                        "unsupported Sec-WebSocket-Version (13 is)"), 0;
    if (ws_accept_value(q->ws_key, accept) || strlen(q->ws_key) >= keycap)
      return http_error(conn, 400, NULL, "missing or malformed Sec-WebSocket-Key"), 0;
    if (q->has_body) return http_error(conn, 400, NULL, "an upgrade request has no body"), 0;
    memcpy(key, q->ws_key, strlen(q->ws_key) + 1);
    return 2;
  }
  return http_error(conn, 404, NULL, "no such page (the chat is at /)"), 0;
}

int http_conn_task(void *arg) {
  conn_arg ca = *(conn_arg *)arg;
  free(arg);
  server *s = ca.s;
  eddy_stream *conn = ca.conn;
  EDDY_WITH(g, &eddy_stream_cm, conn); /* closes itself, however we leave */
  char key[64];
  int next = 0, st;
  http_request *q;
  EDDY_FOR_UNTIL(q, http_requests(conn, HEAD_MAX), st, HEAD_TIMEOUT)
    if ((next = route(conn, q, key, sizeof key)) != 1) break;
  if (next == 2) return web_session(s, conn, key);
  return 0;
}

eddy_stream_opts http_stream_opts(void) {
  return (eddy_stream_opts){.read_buffer = 4096, .max_buffer = HEAD_MAX + 1024, .sndbuf = 64 * 1024};
}
