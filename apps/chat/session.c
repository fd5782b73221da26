/* session.c: what a client does whatever protocol it speaks (the line
 * protocol over TCP, JSON over WebSocket): choose a nickname, join and
 * leave rooms, post under the rate limit, and receive the room's messages
 * through a second task, the writer, which reads the client's subscription
 * to the room's broadcast channel. A client too slow to keep up is told
 * why and cut off, and nobody else waits for it. The protocol only says how
 * a message or a notice reaches its peer (client_ops); so nc and web
 * clients share rooms, limits and one order per room. */
#include "chat.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

int valid_name(const char *s, size_t max) {
  size_t n = strlen(s);
  if (n == 0 || n >= max) return 0;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-') return 0;
  return 1;
}

void session_notice_last(client *c, int kind, const char *text) {
  /* a cancelled task's blocking calls fail: in a shield, bounded */
  eddy_shield sh;
  eddy_shield_init(&sh, eddy_deadline_in(EDDY_SEC(1)));
  EDDY_WITH(g, &eddy_shield_cm, &sh);
  c->ops->notice(c, kind, text);
}

static int writer_task(void *arg) {
  client *c = arg;
  chat_msg m;
  int r;
  int held = 0; /* the protocol holds messages back (CHAT_MSG_MORE) */
  while ((r = eddy_sub_recv(c->sub, &m, EDDY_FOREVER)) == 0) {
    if (!eddy_sub_pending(c->sub) && c->ops->flush) {
      /* Wait for the end of the loop's turn before writing: the posts
       * read from other clients' sockets in this turn land here first and
       * go out in the same write (as a hand-written server flushes its
       * buffers once per turn, before it polls). A cancellation only ends
       * the wait. */
      eddy_wait_turn_end(EDDY_FOREVER);
    }
    /* The batch, m and whatever is queued behind it, goes out whole:
     * cancelling the writer (on leave, or shutdown) takes effect between
     * batches, never in the middle of a message, which would leave a
     * protocol (a WebSocket frame) cut in half. Bounded, so a stuck peer
     * cannot hold it forever; one shield (one timer) per batch, not per
     * message. */
    eddy_shield sh;
    eddy_shield_init(&sh, eddy_deadline_in(EDDY_SEC(10)));
    EDDY_WITH(g, &eddy_shield_cm, &sh);
    for (;;) {
      int more = eddy_sub_pending(c->sub) > 0;
      if (m.seq > c->replayed) {
        c->ops->message(c, c->room, &m, more ? CHAT_MSG_MORE : 0);
        held = more;
      } else if (held && !more && c->ops->flush) {
        c->ops->flush(c);
        held = 0;
      }
      /* queued: this returns at once (the shield keeps it from failing) */
      if (!more || eddy_sub_recv(c->sub, &m, EDDY_FOREVER) != 0) break;
    }
  }
  if (r == -ENOBUFS) { /* fell too far behind: tell it why, then cut it off */
    c->too_slow = 1;
    session_notice_last(c, NOTICE_ERROR, "you fell too far behind the room; disconnecting");
    eddy_cancel(c->self);
  }
  return 0;
}

void session_stop_writer(client *c) {
  if (!c->writer) return;
  eddy_cancel(c->writer);
  /* the join waits for a message in flight to finish: in a shield, since
   * the caller may be cancelled itself (shutdown) */
  eddy_shield sh;
  eddy_shield_init(&sh, eddy_deadline_in(EDDY_SEC(11)));
  EDDY_WITH(g, &eddy_shield_cm, &sh);
  eddy_join(c->writer, NULL);
  c->writer = NULL;
}

void session_leave(client *c, int announce) {
  if (!c->room) return;
  session_stop_writer(c);
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

int session_join(client *c, const char *name, char *why, size_t wn) {
  if (!valid_name(name, ROOM_MAX))
    return snprintf(why, wn, "room names are 1-%d letters, digits, _ or -", ROOM_MAX - 1), -1;
  int err;
  room *r = room_get(c->srv, name, 1, &err);
  if (!r) return snprintf(why, wn, "cannot open room %s: %s", name, eddy_strerror(err)), -1;
  session_leave(c, 1);
  int rc = eddy_bcast_subscribe(r->b, c->srv->opts.client_buffer, EDDY_SUB_FAIL, &c->sub);
  if (rc) return snprintf(why, wn, "cannot join: %s", eddy_strerror(rc)), -1;
  c->room = r;
  r->members++;
  if (c->ops->joined) c->ops->joined(c, r);
  /* the last N messages first, then live ones: the subscription already
   * buffers anything posted while we replay */
  int n = c->srv->opts.history_on_join < r->nrecent ? c->srv->opts.history_on_join : r->nrecent;
  c->replayed = 0;
  for (int i = r->nrecent - n; i < r->nrecent; i++) {
    const chat_msg *m = &r->recent[(r->head + i) % RECENT_MAX];
    c->ops->message(c, r, m, CHAT_MSG_REPLAYED);
    c->replayed = m->seq;
  }
  eddy_spawn_opts o = {.name = "writer"};
  rc = eddy_spawn_ex(&c->writer, writer_task, c, &o);
  if (rc) return snprintf(why, wn, "cannot join: %s", eddy_strerror(rc)), -1;
  char t[64];
  snprintf(t, sizeof t, "%s joined", c->nick);
  rc = room_post(c->srv, r, NULL, t);
  if (rc) return snprintf(why, wn, "%s", eddy_strerror(rc)), -1;
  return 0;
}

/* ---- the nickname index: a chained hash of the clients that have one */

static client **nick_chain(server *s, const char *nick) {
  return &s->nicks[fnv1a(nick, strlen(nick)) & (CHAT_NICK_BUCKETS - 1)];
}

static client *nick_find(server *s, const char *nick) {
  for (client *o = *nick_chain(s, nick); o; o = o->nick_next)
    if (!strcmp(o->nick, nick)) return o;
  return NULL;
}

static void nick_link(client *c) {
  client **head = nick_chain(c->srv, c->nick);
  c->nick_next = *head;
  if (c->nick_next) c->nick_next->nick_pprev = &c->nick_next;
  c->nick_pprev = head;
  *head = c;
}

static void nick_unlink(client *c) {
  if (!c->nick_pprev) return;
  *c->nick_pprev = c->nick_next;
  if (c->nick_next) c->nick_next->nick_pprev = c->nick_pprev;
  c->nick_next = NULL;
  c->nick_pprev = NULL;
}

int session_nick(client *c, const char *name, char *why, size_t wn) {
  if (!valid_name(name, NICK_MAX))
    return snprintf(why, wn, "nicknames are 1-%d letters, digits, _ or -", NICK_MAX - 1), -1;
  client *o = nick_find(c->srv, name);
  if (o && o != c) return snprintf(why, wn, "nickname %s is taken", name), -1;
  char old[NICK_MAX];
  snprintf(old, sizeof old, "%s", c->nick);
  nick_unlink(c);
  memcpy(c->nick, name, strlen(name) + 1); /* valid_name: shorter than NICK_MAX */
  nick_link(c);
  if (c->room && old[0]) {
    char t[80];
    snprintf(t, sizeof t, "%s is now %s", old, c->nick);
    room_post(c->srv, c->room, NULL, t);
  }
  return 0;
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

int session_post(client *c, const char *text, char *why, size_t wn) {
  if (!rate_ok(c))
    return snprintf(why, wn, "slow down (%d messages per second)", c->srv->opts.rate_per_sec), -1;
  if (strlen(text) >= TEXT_MAX) return snprintf(why, wn, "message longer than %d bytes", TEXT_MAX - 1), -1;
  int rc = room_post(c->srv, c->room, c->nick, text);
  if (rc) return snprintf(why, wn, "%s", eddy_strerror(rc)), -1;
  return 0;
}

int session_begin(client *c, server *s, const client_ops *ops, void *proto) {
  memset(c, 0, sizeof *c);
  c->srv = s;
  c->ops = ops;
  c->proto = proto;
  c->self = eddy_task_current();
  c->bucket_at = eddy_now();
  c->tokens = s->opts.rate_per_sec;
  if (s->clients >= s->opts.max_clients) return -EBUSY;
  s->clients++;
  c->next = s->list;
  if (c->next) c->next->pprev = &c->next;
  c->pprev = &s->list;
  s->list = c;
  return 0;
}

void session_end(client *c) {
  {
    /* leaving the room may post (and log) a message: finish it even when
     * this task is being cancelled */
    eddy_shield sh;
    eddy_shield_init(&sh, eddy_deadline_in(EDDY_SEC(2)));
    EDDY_WITH(gs, &eddy_shield_cm, &sh);
    session_leave(c, 1);
  }
  *c->pprev = c->next; /* 10,000 leaving clients: no walk of the list each */
  if (c->next) c->next->pprev = c->pprev;
  nick_unlink(c); /* its nickname is free again */
  c->srv->clients--;
}
