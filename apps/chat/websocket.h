/* websocket.h: a server-side WebSocket (RFC 6455) over an eddy stream,
 * framed by wslay's event API (libwslay-dev). The connection is a context
 * manager (enter: the handshake's 101 answer; exit: a close frame, then
 * the library state is freed) and its text messages an async iterator. */
#ifndef EDDY_CHAT_WEBSOCKET_H
#define EDDY_CHAT_WEBSOCKET_H

#include <eddy.h>
#include <stdint.h>

#define WS_INBUF 4096

typedef struct ws_conn {
  eddy_stream *conn;
  const char *key;         /* the request's Sec-WebSocket-Key */
  size_t max_msg;          /* longest message accepted (bytes) */
  void *ctx;               /* wslay_event_context_ptr */
  eddy_lock lock;          /* one user of the wslay context at a time */
  eddy_time_t deadline;    /* for the write in progress */
  int io_error;            /* the stream's error, seen by a callback */
  /* receiving: frames are assembled here, complete messages wait in pend
   * until the consumer has taken them */
  uint8_t inbuf[WS_INBUF];
  const uint8_t *in;       /* read, not yet handed to wslay */
  size_t in_len;
  uint64_t in_payload;     /* of the frame being handed over, bytes to come */
  char *msg, *pend;
  size_t msg_len, pend_used;
  size_t *pend_off, *pend_len, npend, pend_max;
  int frame_is_data, frame_fin;
  int refused;             /* the peer broke a rule: the iterator's error */
  int failed;              /* a send failed for good (set by the user) */
  /* closing: the frame exit sends (0: from the block's outcome) */
  uint16_t close_code;
  char close_reason[120];
} ws_conn;

typedef struct ws_message {
  const char *data;        /* valid until the next message */
  size_t len;
} ws_message;

/* Prepare (nothing is sent until the manager is entered). */
void ws_init(ws_conn *ws, eddy_stream *conn, const char *key, size_t max_msg);
extern const eddy_cm_ops ws_cm;

/* The peer's text messages. The loop ends with 0 when the peer closes,
 * -EMSGSIZE when a message is longer than max_msg (a close frame 1009 with
 * the reason is already on its way), -EPROTO for a protocol violation
 * (binary data, bad frames, invalid UTF-8: likewise closed), a stream
 * error, or ECONNRESET when the peer left without a close frame. */
eddy_iter *ws_messages(ws_conn *ws);

/* Send one text message (queued and written at once, with backpressure). */
int ws_send_text(ws_conn *ws, const char *data, size_t len);
/* The close frame the manager's exit sends (code 1000..4999; reason short). */
void ws_set_close(ws_conn *ws, uint16_t code, const char *reason);

/* Sec-WebSocket-Accept for a key: SHA-1 and base64 (libcrypto). 0, or
 * -EINVAL for a key that is not 16 bytes in base64. */
int ws_accept_value(const char *key, char out[29]);

#endif
