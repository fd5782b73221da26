/* client.c: one task per TCP connection, speaking the line protocol:
 *   /nick NAME  /join ROOM  /leave  /rooms  /who  /history N  /quit  /help
 * and anything else is a message to the current room. The connection is a
 * context manager (it closes itself however the task ends) and its lines
 * are an async iterator with an idle deadline per line. What a client does
 * (rooms, limits, the writer task that fans room messages out) lives in
 * session.c; this file only reads lines and writes them. Every violation
 * of a limit gets a clear message; only a few end the connection. */
#include "chat.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The line protocol's own state: replies and room messages share the
 * socket, one writer at a time. */
typedef struct line_conn {
  eddy_stream *conn;
  eddy_lock out;
  size_t held;                   /* room messages held back (CHAT_MSG_MORE) */
  char pend[TEXT_MAX + 2048];    /* ...here, sent in one write */
} line_conn;

static int send_held(line_conn *lc) {
  if (!lc->held) return 0;
  size_t n = lc->held;
  lc->held = 0;
  return eddy_stream_write(lc->conn, lc->pend, n, NULL, eddy_deadline_in(EDDY_SEC(10)));
}

/* One line to the client. With more, it may wait in lc->pend for the
 * lines that follow at once; anything else sends what waits first, so the
 * client sees lines in the order they were said. */
static int say(client *c, int more, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int say(client *c, int more, const char *fmt, ...) {
  line_conn *lc = c->proto;
  char buf[TEXT_MAX + 128];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return -EINVAL;
  if ((size_t)n > sizeof buf - 2) n = (int)sizeof buf - 2;
  buf[n++] = '\n';
  EDDY_WITH(g, &eddy_lock_cm, &lc->out);
  if (g.status) return g.status;
  int rc;
  if (lc->held + (size_t)n > sizeof lc->pend && (rc = send_held(lc)) != 0) return rc;
  memcpy(lc->pend + lc->held, buf, (size_t)n);
  lc->held += (size_t)n;
  return more ? 0 : send_held(lc);
}

/* A room message, "[room] <nick> text" or "[room] * text", put together
 * with copies straight into the held bytes (lengths measured once, when
 * the message was posted), not through say()'s format: every member's
 * writer does it for every message (and a shallow call keeps the
 * writer's stack to one page). */
static void put_message(line_conn *lc, const room *r, const chat_msg *m) {
  char *p = lc->pend + lc->held;
  *p++ = '[';
  memcpy(p, r->name, r->name_len);
  p += r->name_len;
  *p++ = ']';
  *p++ = ' ';
  if (m->nick_len) {
    *p++ = '<';
    memcpy(p, m->nick, m->nick_len);
    p += m->nick_len;
    *p++ = '>';
  } else {
    *p++ = '*';
  }
  *p++ = ' ';
  memcpy(p, m->text, m->text_len);
  p += m->text_len;
  *p++ = '\n';
  lc->held = (size_t)(p - lc->pend);
}

static int show(client *c, const room *r, const chat_msg *m, int flags) {
  line_conn *lc = c->proto;
  int more = (flags & CHAT_MSG_MORE) != 0;
  size_t need = r->name_len + (m->nick_len ? m->nick_len + 3u : 2u) + m->text_len + 4;
  _Static_assert(ROOM_MAX + NICK_MAX + TEXT_MAX + 4 <= sizeof ((line_conn *)0)->pend,
                 "a room message fits the held bytes");
  /* The lock keeps a second writer off the held bytes while a write of
   * them is suspended. A message that is only held back, while nobody
   * holds the lock, needs none: tasks switch only where they suspend, so
   * nothing runs between this test and the copy. This is the path of all
   * but the last message of a writer's batch. */
  if (more && !eddy_lock_held(&lc->out) && lc->held + need <= sizeof lc->pend) {
    put_message(lc, r, m);
    return 0;
  }
  EDDY_WITH(g, &eddy_lock_cm, &lc->out);
  if (g.status) return g.status;
  int rc;
  if (lc->held + need > sizeof lc->pend && (rc = send_held(lc)) != 0) return rc;
  put_message(lc, r, m);
  return more ? 0 : send_held(lc);
}

static int flush_held(client *c) {
  line_conn *lc = c->proto;
  EDDY_WITH(g, &eddy_lock_cm, &lc->out);
  if (g.status) return g.status;
  return send_held(lc);
}

static int notice(client *c, int kind, const char *text) {
  return say(c, 0, "%s%s", kind == NOTICE_ERROR ? "error: " : "* ", text);
}

static const client_ops line_ops = {show, notice, NULL, flush_held};

static const char *HELP =
    "commands: /nick NAME, /join ROOM, /leave, /rooms, /who, /history N, /quit, /help;\n"
    "anything else is a message to your room";

/* One line from the client; returns 1 to end the session. */
static int handle_line(client *c, char *line) {
  server *s = c->srv;
  char why[TEXT_MAX];
  if (line[0] != '/') {
    if (!c->nick[0]) return say(c, 0, "error: choose a nickname first: /nick NAME"), 0;
    if (!c->room) return say(c, 0, "error: join a room first: /join ROOM"), 0;
    if (!line[0]) return 0;
    if (session_post(c, line, why, sizeof why)) say(c, 0, "error: %s", why);
    return 0;
  }
  char cmd[16] = "", arg[TEXT_MAX] = "";
  sscanf(line, "%15s", cmd);
  const char *rest = line + strlen(cmd);
  while (*rest == ' ') rest++;
  snprintf(arg, sizeof arg, "%s", rest); /* the whole rest: validated below */
  for (size_t n = strlen(arg); n && arg[n - 1] == ' '; n--) arg[n - 1] = 0;
  if (!strcmp(cmd, "/quit")) return 1;
  if (!strcmp(cmd, "/help")) return say(c, 0, "%s", HELP), 0;
  if (!strcmp(cmd, "/nick")) {
    if (session_nick(c, arg, why, sizeof why)) return say(c, 0, "error: %s", why), 0;
    return say(c, 0, "* you are %s", c->nick), 0;
  }
  if (!strcmp(cmd, "/join")) {
    if (!c->nick[0]) return say(c, 0, "error: choose a nickname first: /nick NAME"), 0;
    if (session_join(c, arg, why, sizeof why)) say(c, 0, "error: %s", why);
    return 0;
  }
  if (!strcmp(cmd, "/leave")) {
    if (!c->room) return say(c, 0, "error: you are in no room"), 0;
    session_leave(c, 1);
    return say(c, 0, "* you left the room"), 0;
  }
  if (!strcmp(cmd, "/rooms")) {
    for (room *r = s->rooms; r; r = r->next) say(c, 0, "* %s (%d here)", r->name, r->members);
    return say(c, 0, "* end of rooms"), 0;
  }
  if (!strcmp(cmd, "/who")) {
    if (!c->room) return say(c, 0, "error: you are in no room"), 0;
    for (client *o = s->list; o; o = o->next)
      if (o->room == c->room) say(c, 0, "* %s", o->nick);
    return say(c, 0, "* end of list"), 0;
  }
  if (!strcmp(cmd, "/history")) {
    if (!c->room) return say(c, 0, "error: you are in no room"), 0;
    int n = atoi(arg);
    if (n <= 0 || n > RECENT_MAX) return say(c, 0, "error: /history N, with N from 1 to %d", RECENT_MAX), 0;
    room *r = c->room;
    if (n > r->nrecent) n = r->nrecent;
    for (int i = r->nrecent - n; i < r->nrecent; i++) show(c, r, &r->recent[(r->head + i) % RECENT_MAX], 1);
    return say(c, 0, "* end of history"), 0;
  }
  return say(c, 0, "error: unknown command %s (try /help)", cmd), 0;
}

int client_task(void *arg) {
  conn_arg ca = *(conn_arg *)arg;
  free(arg);
  server *s = ca.s;
  line_conn lc = {.conn = ca.conn};
  eddy_lock_init(&lc.out);
  EDDY_WITH(g, &eddy_stream_cm, lc.conn); /* the connection closes itself */
  client c;
  if (session_begin(&c, s, &line_ops, &lc)) {
    session_notice_last(&c, NOTICE_ERROR, "server full, try again later");
    return 0;
  }
  say(&c, 0, "welcome to eddy-chat; choose a nickname with /nick NAME (/help for more)");
  char line[TEXT_MAX + 64];
  eddy_line ln;
  int st, quit = 0;
  EDDY_FOR_UNTIL(ln, eddy_lines(lc.conn, s->opts.max_line), st, EDDY_SEC(s->opts.idle_sec)) {
    size_t n = ln.len;
    while (n && (ln.data[n - 1] == '\n' || ln.data[n - 1] == '\r')) n--;
    if (n >= sizeof line) n = sizeof line - 1;
    memcpy(line, ln.data, n);
    line[n] = 0;
    for (size_t i = 0; i < n; i++)
      if (line[i] == '\t' || (unsigned char)line[i] < 32) line[i] = ' ';
    if ((quit = handle_line(&c, line)) != 0) break;
  }
  if (quit) say(&c, 0, "* bye");
  else if (st == -EMSGSIZE) session_notice_last(&c, NOTICE_ERROR, "line too long; disconnecting");
  else if (st == -ETIMEDOUT) session_notice_last(&c, NOTICE_ERROR, "idle for too long; disconnecting");
  else if (st == -ECANCELED && !c.too_slow) {
    session_stop_writer(&c); /* the goodbye is the last line */
    session_notice_last(&c, NOTICE_INFO, "server shutting down; goodbye");
  }
  session_end(&c);
  return 0;
}
