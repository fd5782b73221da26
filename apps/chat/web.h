/* web.h: the web client's pieces, shared by http_server.c, web_client.c
 * and page.c: HTTP requests, the WebSocket, the JSON session and the page
 * embedded in the binary. */
#ifndef EDDY_CHAT_WEB_H
#define EDDY_CHAT_WEB_H

#include "chat.h"
#include "http.h"
#include "websocket.h"

#include <stdlib.h>

/* web_client.c: a WebSocket chat session on an upgraded connection */
int web_session(server *s, eddy_stream *conn, const char *ws_key);

/* the page (page.html, embedded at build time by embed.cmake) */
extern const unsigned char chat_page_html[];
extern const size_t chat_page_html_len;

#endif
