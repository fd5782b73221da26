/* chat.h: eddy-chat's shared types: options, rooms, messages and the
 * history log. The server is a handful of files, one concept each:
 * main.c (options, signals, the server's task group), client.c (one task
 * per connection: the line protocol), room.c (rooms: broadcast fan-out and
 * in-memory recent history), history.c (the append-only log on disk). */
#ifndef EDDY_CHAT_H
#define EDDY_CHAT_H

#include <eddy.h>
#include <stdint.h>

#define NICK_MAX 24
#define ROOM_MAX 32
#define TEXT_MAX 400
#define RECENT_MAX 200 /* messages kept in memory per room for /history */

typedef struct chat_opts {
  int port;
  char data_dir[512];
  int fsync_each;          /* 1: fsync every message; 0: every fsync_ms */
  int fsync_ms;
  size_t max_line;         /* bytes per line from a client */
  int max_clients;
  int idle_sec;            /* disconnect a silent client after this */
  int rate_per_sec;        /* messages per second per client (burst = 2x) */
  int history_on_join;     /* messages replayed on /join */
  size_t client_buffer;    /* messages a client may fall behind */
} chat_opts;

typedef struct chat_msg {
  uint64_t seq;            /* per room, from 1, in the order everyone sees */
  int64_t time_ms;         /* wall clock */
  char nick[NICK_MAX];
  char text[TEXT_MAX];     /* for system messages, nick is empty */
} chat_msg;

typedef struct room {
  char name[ROOM_MAX];
  eddy_bcast *b;
  int members;
  uint64_t next_seq;
  chat_msg recent[RECENT_MAX]; /* ring of the latest messages */
  int nrecent, head;
  eddy_file *log;
  int dirty;               /* written since the last fsync */
  struct room *next;
} room;

typedef struct server {
  chat_opts opts;
  room *rooms;
  int clients;
  eddy_taskgroup *tg;
  eddy_lock log_lock;      /* serialises writes to the logs */
  eddy_lock rooms_lock;    /* serialises opening rooms */
} server;

/* room.c */
room *room_get(server *s, const char *name, int create, int *err);
int room_post(server *s, room *r, const char *nick, const char *text);
void rooms_close(server *s);

/* history.c */
int history_open(server *s, room *r);
int history_append(server *s, room *r, const chat_msg *m);
int history_flush(server *s, room *r);
int history_flusher(void *arg); /* task: periodic fsync when batched */

/* client.c */
int client_task(void *arg);
int valid_name(const char *s, size_t max);

#endif
