/* room.c: rooms. A room is a broadcast channel (every member's connection
 * task subscribes with a bounded buffer) plus its recent history. Posting
 * takes the server's log lock, numbers the message, writes it to the log
 * and publishes it, in that order, so every member sees one order per room
 * and the log holds the same order. */
#include "chat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static room *find(server *s, const char *name) {
  for (room *r = s->rooms; r; r = r->next)
    if (strcmp(r->name, name) == 0) return r;
  return NULL;
}

room *room_get(server *s, const char *name, int create, int *err) {
  *err = 0;
  room *found = find(s, name);
  if (found || !create) return found;
  /* Opening a room loads its log, which suspends: one opener at a time, and
   * look again once we have the lock, so a room is never opened twice. */
  EDDY_WITH(g, &eddy_lock_cm, &s->rooms_lock);
  if (g.status) {
    *err = g.status;
    return NULL;
  }
  if ((found = find(s, name))) return found;
  room *r = calloc(1, sizeof *r);
  if (!r) {
    *err = -ENOMEM;
    return NULL;
  }
  snprintf(r->name, sizeof r->name, "%s", name);
  r->name_len = strlen(r->name);
  eddy_cond_init(&r->log_done);
  int rc = eddy_bcast_new(&r->b, sizeof(chat_msg));
  if (rc == 0) rc = history_open(s, r);
  if (rc) {
    if (r->b) eddy_bcast_free(r->b);
    if (r->log) eddy_file_close(r->log);
    free(r);
    *err = rc;
    return NULL;
  }
  r->next = s->rooms;
  s->rooms = r;
  return r;
}

void chat_msg_fill(chat_msg *m, const char *nick, const char *text) {
  memset(m, 0, sizeof *m);
  /* copies, cut to fit (the zeroed tail terminates them) */
  m->nick_len = nick ? (uint16_t)strnlen(nick, sizeof m->nick - 1) : 0;
  m->text_len = (uint16_t)strnlen(text, sizeof m->text - 1);
  memcpy(m->nick, nick ? nick : "", m->nick_len);
  memcpy(m->text, text, m->text_len);
}

int room_post(server *s, room *r, const char *nick, const char *text) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  chat_msg m;
  chat_msg_fill(&m, nick, text);
  m.time_ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
  int rc;
  {
    EDDY_WITH(g, &eddy_lock_cm, &s->log_lock);
    if (g.status) return g.status;
    rc = history_post(s, r, &m);
  }
  /* A burst of lines read in one go is posted without a pause, while the
   * members' writers wait for the end of the turn: once some member has
   * half its buffer unread, end the turn here so that the writers send
   * before more is posted. A member cut off is then one whose socket is
   * full, not one whose writer had no turn yet. */
  if (eddy_bcast_most_unread(r->b) * 2 >= (size_t)s->opts.client_buffer)
    eddy_wait_turn_end(EDDY_FOREVER);
  return rc;
}

void rooms_close(server *s) {
  history_pending_write(s); /* posted after the logger ended (goodbyes) */
  room *r = s->rooms;
  while (r) {
    room *next = r->next;
    eddy_bcast_close(r->b);
    history_flush(s, r);
    eddy_file_close(r->log);
    eddy_bcast_free(r->b);
    history_free(r);
    free(r);
    r = next;
  }
  s->rooms = NULL;
}
