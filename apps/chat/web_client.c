/* web_client.c: a chat client over WebSocket, speaking JSON (jansson): one
 * JSON object per text message, {"type": ...} (the protocol is in
 * apps/chat/README.md). It is the same session as a line client (session.c:
 * rooms, nicknames, the rate limit, the writer task reading the room's
 * broadcast channel, the slow-consumer cut-off), so web and nc clients
 * share rooms and see one order per room. The WebSocket is a context
 * manager whose exit sends the close frame, and the peer's messages are an
 * async iterator with the idle deadline per message. */
#include "web.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <wslay/wslay.h>

/* Encode and send one object; steals the reference. Encoded on the stack
 * when it fits (a room message always does). A send that fails for good
 * (the peer stopped reading until the write deadline, or vanished) ends
 * the session: wslay refuses every later frame anyway. */
static int send_json(client *c, json_t *o) {
  if (!o) return -ENOMEM;
  char buf[2048], *heap = NULL;
  size_t n = json_dumpb(o, buf, sizeof buf, JSON_COMPACT);
  if (n > sizeof buf) heap = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  if (n == 0 || (n > sizeof buf && !heap)) return -ENOMEM;
  ws_conn *ws = c->proto;
  int rc = ws_send_text(ws, heap ? heap : buf, heap ? strlen(heap) : n);
  free(heap);
  if (rc && rc != -ECANCELED && !ws->failed) {
    ws->failed = rc;
    if (eddy_task_current() != c->self) eddy_cancel(c->self); /* from the writer */
  }
  return rc;
}

static int web_message(client *c, const room *r, const chat_msg *m, int flags) {
  return send_json(c, json_pack("{s:s, s:s, s:I, s:I, s:s, s:s, s:b, s:b}", "type", "message",
                                "room", r->name, "seq", (json_int_t)m->seq, "time",
                                (json_int_t)m->time_ms, "nick", m->nick, "text", m->text,
                                "system", !m->nick[0], "history", (flags & CHAT_MSG_REPLAYED) != 0));
}

static int web_notice(client *c, int kind, const char *text) {
  return send_json(c, json_pack("{s:s, s:s}", "type", kind == NOTICE_ERROR ? "error" : "info",
                                "text", text));
}

static int web_joined(client *c, const room *r) {
  return send_json(c, json_pack("{s:s, s:s}", "type", "joined", "room", r->name));
}

static const client_ops web_ops = {web_message, web_notice, web_joined, NULL};

static int send_rooms(client *c) {
  json_t *a = json_array();
  for (room *r = c->srv->rooms; r && a; r = r->next)
    json_array_append_new(a, json_pack("{s:s, s:i}", "name", r->name, "members", r->members));
  return send_json(c, json_pack("{s:s, s:o}", "type", "rooms", "rooms", a));
}

static int send_who(client *c) {
  json_t *a = json_array();
  for (client *o = c->srv->list; o && a; o = o->next)
    if (o->room == c->room) json_array_append_new(a, json_string(o->nick));
  return send_json(c, json_pack("{s:s, s:s, s:o}", "type", "who", "room", c->room->name, "nicks", a));
}

static int error(client *c, const char *text) {
  return web_notice(c, NOTICE_ERROR, text);
}

/* One JSON message from the page. */
static void handle(client *c, const char *data, size_t len) {
  char why[TEXT_MAX];
  json_error_t jerr;
  json_t *o = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
  const char *type = NULL;
  if (!o || !json_is_object(o) || !(type = json_string_value(json_object_get(o, "type")))) {
    error(c, "expected a JSON object with a \"type\"");
    json_decref(o);
    return;
  }
  const char *str = NULL; /* the string argument, where there is one */
  if (!strcmp(type, "say")) str = json_string_value(json_object_get(o, "text"));
  else if (!strcmp(type, "nick")) str = json_string_value(json_object_get(o, "nick"));
  else if (!strcmp(type, "join")) str = json_string_value(json_object_get(o, "room"));

  if (!strcmp(type, "say")) {
    if (!str) error(c, "say: \"text\" must be a string");
    else if (!c->nick[0]) error(c, "choose a nickname first");
    else if (!c->room) error(c, "join a room first");
    else if (!str[0]) error(c, "say: the text is empty");
    else {
      /* control characters become spaces, as on the line protocol */
      char text[TEXT_MAX];
      size_t n = strlen(str);
      if (n < sizeof text) {
        for (size_t i = 0; i <= n; i++)
          text[i] = i < n && (unsigned char)str[i] < 32 ? ' ' : str[i];
        str = text;
      }
      if (session_post(c, str, why, sizeof why)) error(c, why);
    }
  } else if (!strcmp(type, "nick")) {
    if (!str) error(c, "nick: \"nick\" must be a string");
    else if (session_nick(c, str, why, sizeof why)) error(c, why);
    else send_json(c, json_pack("{s:s, s:s}", "type", "nick", "nick", c->nick));
  } else if (!strcmp(type, "join")) {
    if (!str) error(c, "join: \"room\" must be a string");
    else if (!c->nick[0]) error(c, "choose a nickname first");
    else if (session_join(c, str, why, sizeof why)) error(c, why);
  } else if (!strcmp(type, "leave")) {
    if (!c->room) error(c, "you are in no room");
    else {
      char name[ROOM_MAX];
      snprintf(name, sizeof name, "%s", c->room->name);
      session_leave(c, 1);
      send_json(c, json_pack("{s:s, s:s}", "type", "left", "room", name));
    }
  } else if (!strcmp(type, "rooms")) {
    send_rooms(c);
  } else if (!strcmp(type, "who")) {
    if (!c->room) error(c, "you are in no room");
    else send_who(c);
  } else if (!strcmp(type, "history")) {
    json_t *nv = json_object_get(o, "n");
    json_int_t n = json_is_integer(nv) ? json_integer_value(nv) : 0;
    if (!c->room) error(c, "you are in no room");
    else if (n <= 0 || n > RECENT_MAX) {
      snprintf(why, sizeof why, "history: \"n\" from 1 to %d", RECENT_MAX);
      error(c, why);
    } else {
      room *r = c->room;
      int k = n > r->nrecent ? r->nrecent : (int)n;
      for (int i = r->nrecent - k; i < r->nrecent; i++)
        web_message(c, r, &r->recent[(r->head + i) % RECENT_MAX], CHAT_MSG_REPLAYED);
      send_json(c, json_pack("{s:s}", "type", "history_end"));
    }
  } else {
    snprintf(why, sizeof why, "unknown type \"%.40s\"", type);
    error(c, why);
  }
  json_decref(o);
}

int web_session(server *s, eddy_stream *conn, const char *key) {
  ws_conn ws;
  ws_init(&ws, conn, key, s->opts.max_line);
  EDDY_WITH(wg, &ws_cm, &ws); /* the close frame goes out however we leave */
  if (wg.status) return wg.status;
  client c;
  if (session_begin(&c, s, &web_ops, &ws)) {
    session_notice_last(&c, NOTICE_ERROR, "server full, try again later");
    ws_set_close(&ws, 1013, "server full"); /* 1013: try again later */
    return 0;
  }
  send_json(&c, json_pack("{s:s, s:s, s:i, s:i, s:i}", "type", "welcome", "text",
                          "welcome to eddy-chat; choose a nickname", "max_message",
                          (int)s->opts.max_line, "max_text", TEXT_MAX - 1, "rate",
                          s->opts.rate_per_sec));
  ws_message m;
  int st;
  EDDY_FOR_UNTIL(m, ws_messages(&ws), st, EDDY_SEC(s->opts.idle_sec)) {
    handle(&c, m.data, m.len);
    if (ws.failed) break;
  }
  if (ws.failed) {
    /* nothing more can be written to it */
  } else if (st == -ETIMEDOUT) {
    session_notice_last(&c, NOTICE_ERROR, "idle for too long; disconnecting");
    ws_set_close(&ws, WSLAY_CODE_NORMAL_CLOSURE, "idle for too long");
  } else if (st == -ECANCELED && c.too_slow) {
    ws_set_close(&ws, WSLAY_CODE_POLICY_VIOLATION, "too slow: fell too far behind the room");
  } else if (st == -ECANCELED) {
    /* shutdown: a goodbye the page can show, then the close frame */
    session_stop_writer(&c);
    eddy_shield sh;
    eddy_shield_init(&sh, eddy_deadline_in(EDDY_SEC(1)));
    {
      EDDY_WITH(g, &eddy_shield_cm, &sh);
      send_json(&c, json_pack("{s:s, s:s}", "type", "goodbye", "text", "server shutting down; goodbye"));
    }
    ws_set_close(&ws, WSLAY_CODE_GOING_AWAY, "server shutting down");
  }
  session_end(&c);
  return 0;
}
