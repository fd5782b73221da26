/* chat.h: eddy-chat's shared types: options, rooms, messages, clients and
 * the history log. The server is a handful of files, one concept each:
 * main.c (options, signals, the server's task group), session.c (what every
 * client does whatever its protocol: nickname, rooms, posting, limits, the
 * writer that fans room messages out to it), client.c (the line protocol
 * over TCP), room.c (rooms: broadcast fan-out and in-memory recent
 * history), history.c (the append-only log on disk); and the web client:
 * http_server.c (the HTTP port: requests, the page, the upgrade), http.c
 * (HTTP/1.1 requests as an async iterator), websocket.c (WebSocket over an
 * eddy stream), web_client.c (the JSON protocol), page.html (the page). */
#ifndef EDDY_CHAT_H
#define EDDY_CHAT_H

#include <eddy.h>
#include <stddef.h>
#include <stdint.h>

#define NICK_MAX 24
#define ROOM_MAX 32
#define TEXT_MAX 400
#define CHAT_NICK_BUCKETS 16384 /* a power of two */
#define RECENT_MAX 200 /* messages kept in memory per room for /history */

typedef struct chat_opts {
  int port;
  int http_port;           /* the web page and its WebSocket; 0: off */
  char data_dir[512];
  int fsync_each;          /* 1: fsync every message; 0: every fsync_ms */
  int fsync_ms;
  int log_timeout_ms;      /* the longest one history write may take */
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
  uint16_t nick_len, text_len; /* measured once (chat_msg_fill), not per member */
  char nick[NICK_MAX];
  char text[TEXT_MAX];     /* for system messages, nick is empty */
} chat_msg;

/* Zero m and copy nick (NULL: a system message) and text in, cut to fit. */
void chat_msg_fill(chat_msg *m, const char *nick, const char *text);
/* The bytes of m in use, up to its text's terminating zero: what a room
 * publishes (eddy_bcast_publish_n), so that a member's copy of a short
 * message is short too. Past them, a member's copy holds stale bytes. */
static inline size_t chat_msg_size(const chat_msg *m) {
  return offsetof(chat_msg, text) + m->text_len + 1u;
}

typedef struct room {
  char name[ROOM_MAX];
  size_t name_len;
  eddy_bcast *b;
  int members;
  uint64_t next_seq;
  chat_msg recent[RECENT_MAX]; /* ring of the latest messages */
  int nrecent, head;
  eddy_file *log;
  int dirty;               /* written since the last fsync */
  /* group commit (history.c): messages posted but not yet in the log, and
   * the one poster that writes them, a batch per write */
  chat_msg *pend, *spare;
  int npend, pendcap, sparecap;
  int writing;
  uint64_t written_seq;    /* the log has every message up to here */
  uint64_t failed_from, failed_upto;
  int failed_err;          /* ...except these, which the disk refused */
  int last_err;            /* the last batch's write: 0 or -errno */
  eddy_cond log_done;
  char *logbuf;
  size_t logcap;
  struct room *next;
} room;

struct client;

typedef struct server {
  chat_opts opts;
  room *rooms;
  int clients;
  struct client *list;     /* every client (/who) */
  /* clients with a nickname, by its hash (session.c): /nick checks one
   * short chain, not every client (10,000 clients made each /nick a walk
   * over 10,000 task stacks). Fixed, so it costs no allocation that could
   * fail: 128 KiB, a chain of 0.6 on average at the default limit. */
  struct client *nicks[CHAT_NICK_BUCKETS];
  eddy_taskgroup *tg;
  eddy_lock log_lock;      /* serialises writes to the logs */
  eddy_cond log_wanted;    /* batched: a post queued history to write */
  eddy_lock rooms_lock;    /* serialises opening rooms */
} server;

/* room.c */
room *room_get(server *s, const char *name, int create, int *err);
int room_post(server *s, room *r, const char *nick, const char *text);
void rooms_close(server *s);

/* history.c */
int history_open(server *s, room *r);
/* Log m (its seq already given) and, per the durability setting, publish
 * it: see history.c. Called with s->log_lock held. Batched: returns once
 * published, with the error of the room's last write if the disk refused
 * it; durable: once its batch is written and fsynced. */
int history_post(server *s, room *r, chat_msg *m);
void history_free(room *r);
int history_flush(server *s, room *r);
/* Task, batched durability only: writes what posts queued, fsyncs every
 * fsync_ms. */
int history_logger(void *arg);
/* Write what is still queued (shutdown, after the logger has ended). */
int history_pending_write(server *s);

/* session.c: a client, whatever its protocol. A protocol supplies how a
 * room message and a notice reach its peer; the session does the rest. */
typedef struct client client;
enum { NOTICE_INFO, NOTICE_ERROR };
#define CHAT_MSG_REPLAYED 1 /* from history, on join */
#define CHAT_MSG_MORE 2     /* another message follows at once: a protocol
                             * may hold this one back and send both in one
                             * write (one system call per batch, not per
                             * message, is what lets a room fan out) */

typedef struct client_ops {
  /* a room message, live or replayed from history (flags: CHAT_MSG_*) */
  int (*message)(client *c, const room *r, const chat_msg *m, int flags);
  /* a reply to this client only: information or an error */
  int (*notice)(client *c, int kind, const char *text);
  /* the client is now in room r (before history is replayed); may be NULL */
  int (*joined)(client *c, const room *r);
  /* send what message() held back; may be NULL */
  int (*flush)(client *c);
} client_ops;

struct client {
  server *srv;
  const client_ops *ops;
  void *proto;             /* the protocol's own state */
  char nick[NICK_MAX];
  room *room;
  eddy_sub *sub;
  eddy_task *writer, *self;
  int too_slow;
  uint64_t replayed;       /* last seq shown from history: skip it live */
  eddy_time_t bucket_at;   /* rate limit: a token bucket */
  double tokens;
  struct client *next;     /* in the server's list */
  struct client **pprev;   /* what points at it there: leaving is O(1) */
  struct client *nick_next, **nick_pprev; /* its nickname's chain (NULL: none) */
};

int valid_name(const char *s, size_t max);
/* FNV-1a: the history records' checksum and the nickname index's hash. */
static inline uint32_t fnv1a(const char *s, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
  return h;
}
/* Register a new client; -EBUSY when the server is full. */
int session_begin(client *c, server *s, const client_ops *ops, void *proto);
/* Stop delivering room messages (before a last word such as the shutdown
 * goodbye, so nothing follows it). */
void session_stop_writer(client *c);
/* Leave the room (announced, even while cancelled) and unregister. */
void session_end(client *c);
/* Each returns 0, or -1 with the reason (for this client) in why. */
int session_nick(client *c, const char *name, char *why, size_t n);
int session_join(client *c, const char *name, char *why, size_t n);
int session_post(client *c, const char *text, char *why, size_t n);
void session_leave(client *c, int announce);
/* A notice that must go out even while the task is being cancelled. */
void session_notice_last(client *c, int kind, const char *text);

/* client.c: the line protocol */
int client_task(void *arg);

/* main.c: one acceptor per port. Each connection gets a task of the
 * server's task group running conn_task(conn_arg *), which frees its
 * argument; a connection that cannot get one is closed at once. */
typedef struct conn_arg {
  server *s;
  eddy_stream *conn;
} conn_arg;

typedef struct acceptor_arg {
  server *s;
  eddy_listener *l;
  eddy_stream_opts so; /* per connection: buffers and kernel send buffer */
  eddy_task_fn conn_task;
  const char *name; /* the connection tasks' name */
} acceptor_arg;

/* http_server.c: the web port (built with EDDY_CHAT_WEB) */
int http_conn_task(void *arg); /* arg: conn_arg */
/* A web connection's stream: room for one header line; the kernel send
 * buffer bounded as for line clients (the slow-consumer cut-off relies on
 * it). */
eddy_stream_opts http_stream_opts(void);

#endif
