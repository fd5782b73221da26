/* client.c: one task per connection, speaking the line protocol:
 *   /nick NAME  /join ROOM  /leave  /rooms  /who  /history N  /quit  /help
 * and anything else is a message to the current room. The connection is a
 * context manager (it closes itself however the task ends) and its lines
 * are an async iterator with an idle deadline per line. Room messages reach
 * the client through a second task, the writer, which reads the client's
 * subscription; a client too slow to keep up is told why and disconnected,
 * and nobody else waits for it. Every violation of a limit gets a clear
 * message; only a few end the connection. */
#include "chat.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct client {
  server *srv;
  eddy_stream *conn;
  eddy_lock out;           /* replies and room messages share the socket */
  char nick[NICK_MAX];
  room *room;
  eddy_sub *sub;
  eddy_task *writer, *self;
  int too_slow;
  uint64_t replayed;       /* last seq shown from history: skip it live */
  eddy_time_t bucket_at;   /* rate limit: a token bucket */
  double tokens;
  struct client *next;     /* in the server's list (nick uniqueness, /who) */
} client;

static client *clients;

int valid_name(const char *s, size_t max) {
  size_t n = strlen(s);
  if (n == 0 || n >= max) return 0;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-') return 0;
  return 1;
}

static int say(client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int say(client *c, const char *fmt, ...) {
  char buf[TEXT_MAX + 128];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return -EINVAL;
  if ((size_t)n > sizeof buf - 2) n = (int)sizeof buf - 2;
  buf[n++] = '\n';
  EDDY_WITH(g, &eddy_lock_cm, &c->out);
  if (g.status) return g.status;
  return eddy_stream_write(c->conn, buf, (size_t)n, NULL, eddy_deadline_in(EDDY_SEC(10)));
}

/* Said even while the task is being cancelled (shutdown, too slow): in a
 * shield, bounded. */
static void say_last(client *c, const char *text) {
  eddy_shield sh;
  eddy_shield_init(&sh, eddy_deadline_in(EDDY_SEC(1)));
  EDDY_WITH(g, &eddy_shield_cm, &sh);
  say(c, "%s", text);
}

static void show(client *c, const chat_msg *m) {
  if (m->nick[0]) say(c, "[%s] <%s> %s", c->room->name, m->nick, m->text);
  else say(c, "[%s] * %s", c->room->name, m->text);
}

static int writer_task(void *arg) {
  client *c = arg;
  chat_msg m;
  int r;
  while ((r = eddy_sub_recv(c->sub, &m, EDDY_FOREVER)) == 0)
    if (m.seq > c->replayed) show(c, &m);
  if (r == -ENOBUFS) { /* fell too far behind: tell it why, then cut it off */
    c->too_slow = 1;
    say_last(c, "error: you fell too far behind the room; disconnecting");
    eddy_cancel(c->self);
  }
  return 0;
}

static void leave(client *c, int announce) {
  if (!c->room) return;
  if (c->writer) {
    eddy_cancel(c->writer);
    eddy_join(c->writer, NULL);
    c->writer = NULL;
  }
  eddy_sub_unsubscribe(c->sub);
  c->sub = NULL;
  room *r = c->room;
  c->room = NULL;
  r->members--;
  if (announce) {
    char t[64];
    snprintf(t, sizeof t, "%s left", c->nick);
    room_post(c->srv, r, NULL, t);
  }
}

static int join(client *c, const char *name) {
  if (!valid_name(name, ROOM_MAX)) return say(c, "error: room names are 1-%d letters, digits, _ or -", ROOM_MAX - 1);
  int err;
  room *r = room_get(c->srv, name, 1, &err);
  if (!r) return say(c, "error: cannot open room %s: %s", name, eddy_strerror(err));
  leave(c, 1);
  int rc = eddy_bcast_subscribe(r->b, c->srv->opts.client_buffer, EDDY_SUB_FAIL, &c->sub);
  if (rc) return say(c, "error: cannot join: %s", eddy_strerror(rc));
  c->room = r;
  r->members++;
  /* the last N messages first, then live ones: the subscription already
   * buffers anything posted while we replay */
  int n = c->srv->opts.history_on_join < r->nrecent ? c->srv->opts.history_on_join : r->nrecent;
  c->replayed = 0;
  for (int i = r->nrecent - n; i < r->nrecent; i++) {
    const chat_msg *m = &r->recent[(r->head + i) % RECENT_MAX];
    show(c, m);
    c->replayed = m->seq;
  }
  eddy_spawn_opts o = {.name = "writer"};
  rc = eddy_spawn_ex(&c->writer, writer_task, c, &o);
  if (rc) return rc;
  char t[64];
  snprintf(t, sizeof t, "%s joined", c->nick);
  return room_post(c->srv, r, NULL, t);
}

static int rate_ok(client *c) {
  double rate = c->srv->opts.rate_per_sec;
  eddy_time_t now = eddy_now();
  c->tokens += (double)(now - c->bucket_at) / 1e9 * rate;
  if (c->tokens > 2 * rate) c->tokens = 2 * rate;
  c->bucket_at = now;
  if (c->tokens < 1) return 0;
  c->tokens -= 1;
  return 1;
}

static const char *HELP =
    "commands: /nick NAME, /join ROOM, /leave, /rooms, /who, /history N, /quit, /help;\n"
    "anything else is a message to your room";

/* One line from the client; returns 1 to end the session. */
static int handle_line(client *c, char *line) {
  server *s = c->srv;
  if (line[0] != '/') {
    if (!c->nick[0]) return say(c, "error: choose a nickname first: /nick NAME"), 0;
    if (!c->room) return say(c, "error: join a room first: /join ROOM"), 0;
    if (!line[0]) return 0;
    if (!rate_ok(c)) return say(c, "error: slow down (%d messages per second)", s->opts.rate_per_sec), 0;
    if (strlen(line) >= TEXT_MAX) return say(c, "error: message longer than %d bytes", TEXT_MAX - 1), 0;
    int rc = room_post(s, c->room, c->nick, line);
    if (rc) say(c, "error: %s", eddy_strerror(rc));
    return 0;
  }
  char cmd[16] = "", arg[TEXT_MAX] = "";
  sscanf(line, "%15s", cmd);
  const char *rest = line + strlen(cmd);
  while (*rest == ' ') rest++;
  snprintf(arg, sizeof arg, "%s", rest); /* the whole rest: validated below */
  for (size_t n = strlen(arg); n && arg[n - 1] == ' '; n--) arg[n - 1] = 0;
  if (!strcmp(cmd, "/quit")) return 1;
  if (!strcmp(cmd, "/help")) return say(c, "%s", HELP), 0;
  if (!strcmp(cmd, "/nick")) {
    if (!valid_name(arg, NICK_MAX)) return say(c, "error: nicknames are 1-%d letters, digits, _ or -", NICK_MAX - 1), 0;
    for (client *o = clients; o; o = o->next)
      if (o != c && !strcmp(o->nick, arg)) return say(c, "error: nickname %s is taken", arg), 0;
    char old[NICK_MAX];
    snprintf(old, sizeof old, "%s", c->nick);
    memcpy(c->nick, arg, strlen(arg) + 1); /* valid_name: shorter than NICK_MAX */
    if (c->room && old[0]) {
      char t[80];
      snprintf(t, sizeof t, "%s is now %s", old, c->nick);
      room_post(s, c->room, NULL, t);
    }
    return say(c, "* you are %s", c->nick), 0;
  }
  if (!strcmp(cmd, "/join")) {
    if (!c->nick[0]) return say(c, "error: choose a nickname first: /nick NAME"), 0;
    return join(c, arg), 0;
  }
  if (!strcmp(cmd, "/leave")) {
    if (!c->room) return say(c, "error: you are in no room"), 0;
    leave(c, 1);
    return say(c, "* you left the room"), 0;
  }
  if (!strcmp(cmd, "/rooms")) {
    for (room *r = s->rooms; r; r = r->next) say(c, "* %s (%d here)", r->name, r->members);
    return say(c, "* end of rooms"), 0;
  }
  if (!strcmp(cmd, "/who")) {
    if (!c->room) return say(c, "error: you are in no room"), 0;
    for (client *o = clients; o; o = o->next)
      if (o->room == c->room) say(c, "* %s", o->nick);
    return say(c, "* end of list"), 0;
  }
  if (!strcmp(cmd, "/history")) {
    if (!c->room) return say(c, "error: you are in no room"), 0;
    int n = atoi(arg);
    if (n <= 0 || n > RECENT_MAX) return say(c, "error: /history N, with N from 1 to %d", RECENT_MAX), 0;
    room *r = c->room;
    if (n > r->nrecent) n = r->nrecent;
    for (int i = r->nrecent - n; i < r->nrecent; i++) show(c, &r->recent[(r->head + i) % RECENT_MAX]);
    return say(c, "* end of history"), 0;
  }
  return say(c, "error: unknown command %s (try /help)", cmd), 0;
}

int client_task(void *arg) {
  client c;
  memset(&c, 0, sizeof c);
  c.srv = ((server **)arg)[0];
  c.conn = ((eddy_stream **)arg)[1];
  free(arg);
  c.self = eddy_task_current();
  c.bucket_at = eddy_now();
  c.tokens = c.srv->opts.rate_per_sec;
  eddy_lock_init(&c.out);
  EDDY_WITH(g, &eddy_stream_cm, c.conn); /* the connection closes itself */
  server *s = c.srv;
  if (s->clients >= s->opts.max_clients) {
    say_last(&c, "error: server full, try again later");
    return 0;
  }
  s->clients++;
  c.next = clients;
  clients = &c;
  say(&c, "welcome to eddy-chat; choose a nickname with /nick NAME (/help for more)");
  char line[TEXT_MAX + 64];
  eddy_line ln;
  int st, quit = 0;
  EDDY_FOR_UNTIL(ln, eddy_lines(c.conn, s->opts.max_line), st, EDDY_SEC(s->opts.idle_sec)) {
    size_t n = ln.len;
    while (n && (ln.data[n - 1] == '\n' || ln.data[n - 1] == '\r')) n--;
    if (n >= sizeof line) n = sizeof line - 1;
    memcpy(line, ln.data, n);
    line[n] = 0;
    for (size_t i = 0; i < n; i++)
      if (line[i] == '\t' || (unsigned char)line[i] < 32) line[i] = ' ';
    if ((quit = handle_line(&c, line)) != 0) break;
  }
  if (quit) say(&c, "* bye");
  else if (st == -EMSGSIZE) say_last(&c, "error: line too long; disconnecting");
  else if (st == -ETIMEDOUT) say_last(&c, "error: idle for too long; disconnecting");
  else if (st == -ECANCELED && !c.too_slow) say_last(&c, "* server shutting down; goodbye");
  {
    /* leaving the room may post (and log) a message: finish it even when
     * this task is being cancelled */
    eddy_shield sh;
    eddy_shield_init(&sh, eddy_deadline_in(EDDY_SEC(2)));
    EDDY_WITH(gs, &eddy_shield_cm, &sh);
    leave(&c, 1);
  }
  for (client **p = &clients; *p; p = &(*p)->next)
    if (*p == &c) {
      *p = c.next;
      break;
    }
  s->clients--;
  return 0;
}
