/* server.h: what the connection side (main.c) and the commands (cmd.c)
 * share: the server's settings and state, and one client connection. */
#ifndef REDIS_LITE_SERVER_H
#define REDIS_LITE_SERVER_H

#include <eddy.h>

#include "db.h"
#include "resp.h"

typedef struct server_cfg {
  const char *bind;
  int port;
  size_t max_clients;
  size_t max_output;  /* reply bytes buffered before a mid-batch flush */
  int sweep_ms;       /* period of the expiry sweep */
  int busy_poll_us;   /* the loop's busy polling (eddy_loop_opts.busy_poll) */
  resp_limits lim;
} server_cfg;

typedef struct server {
  server_cfg cfg;
  db db;
  size_t nclients;
  uint64_t next_id;
  uint64_t commands;
} server;

typedef struct client {
  eddy_iter it;        /* the command iterator (see main.c) */
  server *srv;
  eddy_stream *s;
  char *in;            /* received bytes: [start, end) not yet parsed */
  size_t start, end, cap;
  resp_parser p;
  resp_out out;
  int quit;            /* QUIT: flush the reply, then close */
  uint64_t id;
  char name[64];
} client;

/* Build the command table (once). */
void cmd_init(void);
/* Run one command, appending its reply to c->out. */
void cmd_exec(client *c, const resp_cmd *cmd);
/* The clock expiry runs on: the loop's monotonic clock in milliseconds. */
int64_t now_ms(void);

#endif
