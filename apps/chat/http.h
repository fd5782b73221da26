/* http.h: HTTP/1.1 for eddy-chat's web port: the requests arriving on a
 * connection as an async iterator (http.c, parsed by http-parser), and
 * writing a response. Only what a page and a WebSocket upgrade need: the
 * method, the path, the few headers that matter, keep-alive. */
#ifndef EDDY_CHAT_HTTP_H
#define EDDY_CHAT_HTTP_H

#include <eddy.h>

#define HTTP_PATH_MAX 1024

typedef struct http_request {
  int method;              /* enum http_method */
  char path[HTTP_PATH_MAX]; /* without the query */
  int upgrade_websocket;   /* Upgrade: websocket */
  int connection_upgrade;  /* Connection: ... upgrade ... */
  char ws_key[64];         /* Sec-WebSocket-Key ("" if absent or too long) */
  int ws_version;          /* Sec-WebSocket-Version */
  int has_body;            /* Content-Length > 0 or chunked */
  int keep_alive;
  /* when the request could not be read: the status to answer (400, 414,
   * 431) and why; the iterator then ends */
  int error_status;
  const char *error_text;
} http_request;

typedef struct http_reader http_reader;

/* The requests on conn, each head at most max_head bytes. An item is a
 * pointer to the reader's request, valid until the next one. A request
 * that cannot be parsed is still yielded, with error_status set (answer it,
 * then the loop ends). The stream stays at the first byte after the head:
 * a WebSocket's frames are read from there. */
eddy_iter *http_requests(eddy_stream *conn, size_t max_head);

/* Write a whole response. extra: more header lines, each ending in \r\n
 * (or NULL); body may be NULL with len 0; head_only: a HEAD request. */
int http_respond(eddy_stream *conn, int status, const char *extra, const char *type,
                 const void *body, size_t len, int keep_alive, int head_only);
/* An error response with a short text body; the connection then closes. */
int http_error(eddy_stream *conn, int status, const char *extra, const char *text);
const char *http_method_name(int method);

#endif
