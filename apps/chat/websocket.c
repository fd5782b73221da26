/* websocket.c: a server-side WebSocket over an eddy stream, framed by
 * wslay's event API. wslay never touches the socket: its receive callback
 * hands it the bytes the generator has just read from the stream, and its
 * send callback writes through eddy_stream_write (which suspends the
 * calling task, not the loop). Data frames are not buffered by wslay (its
 * no-buffering mode): messages are assembled here, so the size limit is
 * checked on each frame's announced length before any byte of it is kept,
 * and an oversized message is refused with close code 1009 and a reason.
 * One lock serialises the reader and the writer on the wslay context. */
#include "websocket.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wslay/wslay.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

int ws_accept_value(const char *key, char out[29]) {
  size_t n = strlen(key);
  unsigned char raw[32];
  /* 16 random bytes in base64: 24 characters ending in "==" */
  if (n != 24 || key[22] != '=' || key[23] != '=' ||
      EVP_DecodeBlock(raw, (const unsigned char *)key, 24) != 18)
    return -EINVAL;
  char buf[24 + sizeof WS_GUID];
  memcpy(buf, key, 24);
  memcpy(buf + 24, WS_GUID, sizeof WS_GUID);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned mdlen = 0;
  if (!EVP_Digest(buf, 24 + sizeof WS_GUID - 1, md, &mdlen, EVP_sha1(), NULL) || mdlen != 20)
    return -EIO;
  EVP_EncodeBlock((unsigned char *)out, md, 20); /* 28 characters and a NUL */
  return 0;
}

/* How many of the pending bytes to hand wslay now, at most `room`. Frame
 * headers go over whole, and a close frame whole, header and payload:
 * wslay 1.1.1 checks a close reason's UTF-8 from the third byte of each
 * piece of the payload it is handed, not of the payload, so a close frame
 * that arrived in two reads was refused as invalid (1007) however good
 * its reason, and a bad reason split elsewhere could pass. Payloads of
 * other frames go over as they come. What is held back (a header, or a
 * close frame, at most 131 bytes) stays in `in` for the next read to
 * append to. wslay asks with its whole 4096-byte buffer free (it keeps
 * only partial headers, which it is never handed), so a held-back frame
 * always fits once it is all here. */
static size_t handover(ws_conn *ws, size_t room) {
  const uint8_t *p = ws->in;
  size_t have = ws->in_len, give = have < room ? have : room, pos = 0;
  while (pos < give) {
    if (ws->in_payload) { /* the rest of a frame already started */
      size_t t = give - pos < ws->in_payload ? give - pos : (size_t)ws->in_payload;
      pos += t;
      ws->in_payload -= t;
      continue;
    }
    if (have - pos < 2) break;
    unsigned len7 = p[pos + 1] & 127u, ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
    size_t head = 2 + ext + (p[pos + 1] & 0x80u ? 4 : 0);
    if (have - pos < head) break;
    uint64_t len = len7;
    if (ext) {
      len = 0;
      for (unsigned k = 0; k < ext; k++) len = len << 8 | p[pos + 2 + k];
    }
    int whole_close = (p[pos] & 15u) == WSLAY_CONNECTION_CLOSE && len <= 125;
    size_t take = whole_close ? head + (size_t)len : head;
    if (take > give - pos) break; /* not all here, or not all fits this time */
    pos += take;
    if (!whole_close) ws->in_payload = len;
  }
  return pos;
}

/* ---- wslay callbacks */
static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *u) {
  (void)flags;
  ws_conn *ws = u;
  size_t n = handover(ws, len);
  if (n == 0) { /* all handed over, or held back: wslay stops until more is read */
    wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    return -1;
  }
  memcpy(buf, ws->in, n);
  ws->in += n;
  ws->in_len -= n;
  return (ssize_t)n;
}

static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *u) {
  (void)flags;
  ws_conn *ws = u;
  int rc = eddy_stream_write(ws->conn, data, len, NULL, ws->deadline);
  if (rc) {
    ws->io_error = rc;
    wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
  }
  return (ssize_t)len;
}

static void refuse(ws_conn *ws, wslay_event_context_ptr ctx, uint16_t code, const char *reason,
                   int err) {
  if (ws->refused) return;
  ws->refused = err;
  wslay_event_queue_close(ctx, code, (const uint8_t *)reason, strlen(reason));
  wslay_event_shutdown_read(ctx);
}

static void frame_start(wslay_event_context_ptr ctx, const struct wslay_event_on_frame_recv_start_arg *a,
                        void *u) {
  ws_conn *ws = u;
  ws->frame_is_data = !(a->opcode & 0x8); /* control frames are wslay's */
  if (!ws->frame_is_data) return;
  ws->frame_fin = a->fin;
  if (a->opcode == WSLAY_BINARY_FRAME) {
    refuse(ws, ctx, WSLAY_CODE_UNSUPPORTED_DATA, "text messages only", -EPROTO);
    return;
  }
  if (a->opcode == WSLAY_TEXT_FRAME) ws->msg_len = 0;
  if (a->payload_length > ws->max_msg - ws->msg_len) {
    char why[100];
    snprintf(why, sizeof why, "message too big: the limit is %zu bytes", ws->max_msg);
    refuse(ws, ctx, WSLAY_CODE_MESSAGE_TOO_BIG, why, -EMSGSIZE);
  }
}

static void frame_chunk(wslay_event_context_ptr ctx, const struct wslay_event_on_frame_recv_chunk_arg *a,
                        void *u) {
  (void)ctx;
  ws_conn *ws = u;
  if (!ws->frame_is_data || ws->refused || a->data_length > ws->max_msg - ws->msg_len) return;
  memcpy(ws->msg + ws->msg_len, a->data, a->data_length);
  ws->msg_len += a->data_length;
}

static void frame_end(wslay_event_context_ptr ctx, void *u) {
  ws_conn *ws = u;
  if (!ws->frame_is_data || ws->refused || !ws->frame_fin) return;
  if (ws->npend == ws->pend_max || ws->pend_used + ws->msg_len > ws->max_msg + WS_INBUF) {
    refuse(ws, ctx, WSLAY_CODE_POLICY_VIOLATION, "too many messages at once", -EPROTO);
    return;
  }
  memcpy(ws->pend + ws->pend_used, ws->msg, ws->msg_len);
  ws->pend_off[ws->npend] = ws->pend_used;
  ws->pend_len[ws->npend++] = ws->msg_len;
  ws->pend_used += ws->msg_len;
  ws->msg_len = 0;
}

static const struct wslay_event_callbacks callbacks = {
    .recv_callback = recv_cb,
    .send_callback = send_cb,
    .on_frame_recv_start_callback = frame_start,
    .on_frame_recv_chunk_callback = frame_chunk,
    .on_frame_recv_end_callback = frame_end,
};

/* Write whatever wslay has queued; the caller holds the lock. */
static int flush(ws_conn *ws) {
  ws->deadline = eddy_deadline_in(EDDY_SEC(10));
  ws->io_error = 0;
  int rc = wslay_event_send(ws->ctx);
  if (rc) return ws->io_error ? ws->io_error : -EPIPE;
  return 0;
}

void ws_init(ws_conn *ws, eddy_stream *conn, const char *key, size_t max_msg) {
  memset(ws, 0, sizeof *ws);
  ws->conn = conn;
  ws->key = key;
  ws->max_msg = max_msg;
  eddy_lock_init(&ws->lock);
}

static void release(ws_conn *ws) {
  if (ws->ctx) wslay_event_context_free(ws->ctx);
  free(ws->msg);
  free(ws->pend);
  free(ws->pend_off);
  free(ws->pend_len);
  ws->ctx = NULL;
  ws->msg = ws->pend = NULL;
  ws->pend_off = ws->pend_len = NULL;
}

/* enter: answer the upgrade (101) and set wslay up */
static int ws_enter(void *self, void **value) {
  ws_conn *ws = self;
  char accept[29];
  int rc = ws_accept_value(ws->key, accept);
  if (rc) return rc;
  ws->pend_max = WS_INBUF / 2 + 2; /* a client's frame is at least 6 bytes */
  ws->msg = malloc(ws->max_msg + 1);
  ws->pend = malloc(ws->max_msg + WS_INBUF);
  ws->pend_off = malloc(ws->pend_max * sizeof(size_t));
  ws->pend_len = malloc(ws->pend_max * sizeof(size_t));
  wslay_event_context_ptr ctx = NULL;
  if (!ws->msg || !ws->pend || !ws->pend_off || !ws->pend_len ||
      wslay_event_context_server_init(&ctx, &callbacks, ws)) {
    release(ws);
    return -ENOMEM;
  }
  ws->ctx = ctx;
  wslay_event_config_set_no_buffering(ctx, 1);
  char head[256];
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 101 Switching Protocols\r\n"
                   "Upgrade: websocket\r\n"
                   "Connection: Upgrade\r\n"
                   "Sec-WebSocket-Accept: %s\r\n\r\n",
                   accept);
  rc = eddy_stream_write(ws->conn, head, (size_t)n, NULL, eddy_deadline_in(EDDY_SEC(10)));
  if (rc) {
    release(ws);
    return rc;
  }
  *value = ws;
  return 0;
}

/* exit: the close frame (unless one went already), then free wslay's state.
 * Runs shielded, under the grace deadline, so it is sent on shutdown too. */
static int ws_exit(void *self, int status) {
  ws_conn *ws = self;
  {
    EDDY_WITH(g, &eddy_lock_cm, &ws->lock);
    if (g.status == 0 && wslay_event_get_write_enabled(ws->ctx)) {
      uint16_t code = ws->close_code;
      if (!code) code = status == 0 ? WSLAY_CODE_NORMAL_CLOSURE
                        : status == -ECANCELED ? WSLAY_CODE_GOING_AWAY
                                               : WSLAY_CODE_INTERNAL_SERVER_ERROR;
      wslay_event_queue_close(ws->ctx, code, (const uint8_t *)ws->close_reason,
                              strlen(ws->close_reason));
      flush(ws);
    }
  }
  release(ws);
  return status;
}

const eddy_cm_ops ws_cm = {ws_enter, ws_exit, 0};

void ws_set_close(ws_conn *ws, uint16_t code, const char *reason) {
  ws->close_code = code;
  snprintf(ws->close_reason, sizeof ws->close_reason, "%s", reason ? reason : "");
}

int ws_send_text(ws_conn *ws, const char *data, size_t len) {
  EDDY_WITH(g, &eddy_lock_cm, &ws->lock);
  if (g.status) return g.status;
  if (!ws->ctx || !wslay_event_get_write_enabled(ws->ctx)) return -EPIPE;
  struct wslay_event_msg m = {WSLAY_TEXT_FRAME, (const uint8_t *)data, len};
  if (wslay_event_queue_msg(ws->ctx, &m)) return -EPIPE; /* closing already */
  return flush(ws);
}

/* ---- the messages, as a generator */
static int messages_gen(eddy_gen *g, void *arg) {
  ws_conn *ws = arg;
  for (;;) {
    for (size_t i = 0; i < ws->npend; i++) {
      ws_message m = {ws->pend + ws->pend_off[i], ws->pend_len[i]};
      if (eddy_gen_yield(g, &m)) return 0;
    }
    ws->npend = ws->pend_used = 0;
    if (ws->refused) return ws->refused;
    if (!wslay_event_get_read_enabled(ws->ctx))
      return wslay_event_get_close_received(ws->ctx) ? 0 : -EPROTO;
    /* what handover() held back goes first */
    if (ws->in_len) memmove(ws->inbuf, ws->in, ws->in_len);
    long n = eddy_stream_read(ws->conn, ws->inbuf + ws->in_len, sizeof ws->inbuf - ws->in_len,
                              EDDY_FOREVER);
    if (n == 0) return -ECONNRESET; /* gone without a close frame */
    if (n < 0) return (int)n;
    int rc;
    {
      EDDY_WITH(lg, &eddy_lock_cm, &ws->lock);
      if (lg.status) return lg.status;
      ws->in = ws->inbuf;
      ws->in_len += (size_t)n;
      rc = wslay_event_recv(ws->ctx) ? -EPROTO : 0;
      int fr = flush(ws); /* pongs, and the close answering the peer's */
      if (!rc && fr && wslay_event_get_read_enabled(ws->ctx)) rc = fr;
    }
    if (rc) return rc;
  }
}

eddy_iter *ws_messages(ws_conn *ws) {
  if (!ws->ctx) return eddy_iter_error(-EINVAL);
  return eddy_gen_new(messages_gen, ws, sizeof(ws_message));
}
