/* main.c: redis-lite, a Redis-compatible server (RESP2) in straight-line
 * eddy code: the listener's connections are an async iterator, each one is
 * served by a task in the server's task group, and each task runs
 *
 *   FOR cmd IN commands(connection): execute cmd, append its reply
 *
 * where commands() is an iterator over the connection's buffered bytes.
 * Its next() parses the next command already buffered; only when none is
 * complete, and the stream holds no more received bytes, does it send the
 * replies gathered so far (one write for a whole pipelined batch) and read
 * more (one receive for the next batch). The loop busy-polls briefly
 * before sleeping (--busy-poll-us; see eddy_loop_opts.busy_poll): under
 * load the next batch usually arrives within microseconds, and catching it
 * awake spares the client's send a wake-up of this CPU.
 * A periodic task sweeps expired keys; SIGINT/SIGTERM cancel the group,
 * every connection closes, and the keyspace is freed.
 *
 *   redis-lite [--port 6379] [--bind 127.0.0.1] [limits]   (--help) */
#include "server.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define IN_INITIAL ((size_t)16 * 1024)

/* ---------------------------------------------------------- commands(conn) */

/* Send the replies gathered so far. */
static int flush(client *c) {
  if (!c->out.len) return 0;
  int r = eddy_stream_write(c->s, c->out.buf, c->out.len, NULL, EDDY_FOREVER);
  c->out.len = 0;
  if (c->out.cap > c->srv->cfg.max_output * 4) resp_out_fini(&c->out); /* a huge reply passed */
  return r;
}

/* Room to read `want` bytes into: compact (when the room at the back is
 * short of them), then grow up to the pending-command limit (only when
 * full: a command larger than the buffer). */
static int make_room(client *c, size_t want) {
  if (c->start == c->end) c->start = c->end = 0;
  if (c->cap - c->end >= want) return 0;
  if (c->start) {
    memmove(c->in, c->in + c->start, c->end - c->start);
    c->end -= c->start;
    c->start = 0;
  }
  if (c->end < c->cap) return 0;
  size_t max = c->srv->cfg.lim.max_command;
  if (c->cap >= max) return -EMSGSIZE;
  size_t ncap = c->cap * 2 > max ? max : c->cap * 2;
  char *in = realloc(c->in, ncap);
  if (!in) return -ENOMEM;
  c->in = in;
  c->cap = ncap;
  return 0;
}

static int commands_next(eddy_iter *it, void *item) {
  client *c = (client *)it;
  resp_cmd *cmd = item;
  for (;;) {
    if (c->start < c->end) {
      long r = resp_parse(&c->p, c->in + c->start, c->end - c->start, cmd);
      if (r > 0) {
        c->start += (size_t)r;
        if (cmd->argc) return 0;
        continue;
      }
      if (r == RESP_EPROTO) {
        resp_out_error(&c->out, c->p.err);
        return -EPROTO;
      }
      if (r == RESP_ENOMEM) return -ENOMEM;
    }
    /* No complete command here. If the stream holds more bytes (received
     * with the ones parsed, but more than the room we had), take them
     * first: the batch is not over, and its replies go out together. */
    size_t more = eddy_stream_buffered(c->s);
    int r;
    if (!more) { /* the batch is over: send its replies, then read */
      if ((r = flush(c))) return r;
      if (c->start == c->end && c->cap > IN_INITIAL) { /* a big command passed */
        char *in = realloc(c->in, IN_INITIAL);
        if (in) {
          c->in = in;
          c->cap = IN_INITIAL;
        }
        resp_parser_trim(&c->p);
      }
    }
    if ((r = make_room(c, more ? more : 1))) {
      if (r == -EMSGSIZE)
        resp_out_error(&c->out, "ERR Protocol error: command larger than the pending command limit");
      return r;
    }
    if (!more) {
      /* Wait for one byte (0, EDDY_DONE or an error: unambiguous, unlike
       * eddy_stream_read, whose count of 1 reads as EDDY_DONE), then take
       * whatever else the same receive brought, without another one. */
      if ((r = eddy_stream_read_exact(c->s, c->in + c->end, 1, EDDY_FOREVER))) return r;
      c->end++;
      more = eddy_stream_buffered(c->s);
    }
    if (more > c->cap - c->end) more = c->cap - c->end;
    if (more && (r = eddy_stream_read_exact(c->s, c->in + c->end, more, EDDY_FOREVER)) == 0)
      c->end += more;
    else if (more) return r;
  }
}

static const eddy_iter_ops commands_ops = {commands_next, NULL, NULL};

static eddy_iter *commands(client *c) {
  eddy_iter_init(&c->it, &commands_ops);
  return &c->it;
}

/* ---------------------------------------------------------- a connection */
static void client_free(client *c) {
  c->srv->nclients--;
  resp_parser_fini(&c->p);
  resp_out_fini(&c->out);
  free(c->in);
  free(c);
}

static int serve_client(void *arg) {
  client *c = arg;
  EDDY_WITH(g, &eddy_stream_cm, c->s); /* closes gracefully, however we leave */
  resp_cmd cmd;
  int st;
  EDDY_FOR(cmd, commands(c), st) {
    cmd_exec(c, &cmd);
    if (c->out.oom) {
      EDDY_FOR_FAIL(st, -ENOMEM);
      break;
    }
    if (c->quit) break;
    if (c->out.len >= c->srv->cfg.max_output) { /* a long batch: don't hoard replies */
      int r = flush(c);
      if (r) {
        EDDY_FOR_FAIL(st, r);
        break;
      }
    }
  }
  if (c->out.len && (c->quit || st == -EPROTO || st == -EMSGSIZE)) {
    /* the last reply (QUIT's +OK, the protocol error) goes out even if the
     * server is shutting down: shielded, with its own deadline */
    eddy_shield sh;
    eddy_shield_init(&sh, eddy_deadline_in(EDDY_SEC(1)));
    EDDY_WITH(gs, &eddy_shield_cm, &sh);
    flush(c);
  }
  client_free(c);
  return 0;
}

/* Over the client limit: say so and hang up. */
static int reject_client(void *arg) {
  eddy_stream *s = arg;
  EDDY_WITH(g, &eddy_stream_cm, s);
  static const char msg[] = "-ERR max number of clients reached\r\n";
  eddy_stream_write(s, msg, sizeof msg - 1, NULL, eddy_deadline_in(EDDY_SEC(1)));
  return 0;
}

typedef struct listening {
  server *srv;
  eddy_listener *l;
  eddy_taskgroup *tg;
} listening;

static int accept_loop(void *arg) {
  listening *ls = arg;
  server *srv = ls->srv;
  eddy_stream_opts opts = {0};
  eddy_stream *s;
  int st;
  EDDY_FOR(s, eddy_accept_iter(ls->l, &opts), st) {
    eddy_spawn_opts so = {.name = "client"};
    if (srv->nclients >= srv->cfg.max_clients) {
      so.name = "reject";
      if (eddy_taskgroup_spawn(ls->tg, reject_client, s, &so)) eddy_stream_close(s);
      continue;
    }
    client *c = calloc(1, sizeof *c);
    char *in = c ? malloc(IN_INITIAL) : NULL;
    if (!in) {
      free(c);
      eddy_stream_close(s);
      continue;
    }
    c->srv = srv;
    c->s = s;
    c->in = in;
    c->cap = IN_INITIAL;
    c->id = ++srv->next_id;
    resp_parser_init(&c->p, &srv->cfg.lim);
    srv->nclients++;
    if (eddy_taskgroup_spawn(ls->tg, serve_client, c, &so)) {
      eddy_stream_close(s);
      client_free(c);
    }
  }
  return st == -ECANCELED ? 0 : st;
}

/* Expiry for keys nobody reads: a slice of the table every period, more
 * at once while it keeps finding expired keys. */
static int sweeper(void *arg) {
  server *srv = arg;
  for (;;) {
    if (eddy_sleep(EDDY_MSEC(srv->cfg.sweep_ms))) return 0;
    for (int round = 0; round < 16; round++)
      if (db_sweep(&srv->db, 1024, now_ms()) < 64) break;
  }
}

/* ---------------------------------------------------------- startup */
static int main_task(void *arg) {
  server *srv = arg;
  eddy_listener *l;
  int r = eddy_tcp_listen(srv->cfg.bind, srv->cfg.port, 511, 0, &l);
  if (r) {
    fprintf(stderr, "redis-lite: listen on %s:%d: %s\n", srv->cfg.bind, srv->cfg.port,
            eddy_strerror(r));
    return 1;
  }
  EDDY_WITH(gl, &eddy_listener_cm, l);
  srv->cfg.port = eddy_listener_port(l);
  int sigs[] = {SIGINT, SIGTERM};
  eddy_signals *sg;
  if ((r = eddy_signals_open(sigs, 2, &sg))) {
    fprintf(stderr, "redis-lite: signals: %s\n", eddy_strerror(r));
    return 1;
  }
  printf("redis-lite listening on %s:%d\n", srv->cfg.bind, srv->cfg.port);
  fflush(stdout);
  eddy_taskgroup tg;
  eddy_taskgroup_init(&tg);
  {
    EDDY_WITH(g, &eddy_taskgroup_cm, &tg); /* every connection ends with it */
    listening ls = {srv, l, &tg};
    eddy_spawn_opts so = {.name = "accept"};
    eddy_taskgroup_spawn(&tg, accept_loop, &ls, &so);
    so.name = "sweep";
    eddy_taskgroup_spawn(&tg, sweeper, srv, &so);
    int sig = eddy_signals_next(sg, EDDY_FOREVER);
    if (sig > 0) fprintf(stderr, "redis-lite: signal %d, shutting down\n", sig);
    eddy_taskgroup_cancel(&tg);
  }
  eddy_signals_close(sg);
  eddy_taskgroup_fini(&tg);
  return 0;
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: redis-lite [options]\n"
          "  --port N          TCP port (default 6379; 0 picks a free one, printed at start)\n"
          "  --bind ADDR       address to listen on (default 127.0.0.1)\n"
          "  --max-clients N   connections served at once (default 10000); more get an error\n"
          "  --max-bulk N      bytes of one argument (default 16777216)\n"
          "  --max-args N      arguments of one command (default 1048576)\n"
          "  --max-inline N    bytes of one inline command line (default 65536)\n"
          "  --max-command N   bytes of one pending command (default 67108864)\n"
          "  --max-output N    reply bytes gathered before a mid-batch write (default 65536)\n"
          "  --sweep-ms N      period of the expired-key sweep (default 100)\n"
          "  --busy-poll-us N  under load, watch for requests this long before\n"
          "                    sleeping (io_uring; default 20, 0: never)\n"
          "  --help            this text\n"
          "SIGINT or SIGTERM shuts the server down gracefully.\n");
}

static int parse_size(const char *s, size_t *out) {
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (!*s || *end || s[0] == '-') return -1;
  *out = (size_t)v;
  return 0;
}

int main(int argc, char **argv) {
  static server srv;
  srv.cfg = (server_cfg){
      .bind = "127.0.0.1",
      .port = 6379,
      .max_clients = 10000,
      .max_output = 64 * 1024,
      .sweep_ms = 100,
      .busy_poll_us = 20,
      .lim = {.max_bulk = 16u << 20, .max_args = 1u << 20, .max_inline = 64 * 1024,
              .max_command = 64u << 20},
  };
  static const struct option longopts[] = {
      {"port", 1, 0, 'p'},       {"bind", 1, 0, 'b'},        {"max-clients", 1, 0, 'c'},
      {"max-bulk", 1, 0, 'B'},   {"max-args", 1, 0, 'a'},    {"max-inline", 1, 0, 'i'},
      {"max-command", 1, 0, 'm'}, {"max-output", 1, 0, 'o'}, {"sweep-ms", 1, 0, 's'},
      {"busy-poll-us", 1, 0, 'P'}, {"help", 0, 0, 'h'},       {0, 0, 0, 0}};
  int o;
  while ((o = getopt_long(argc, argv, "p:b:h", longopts, NULL)) != -1) {
    size_t v = 0;
    if (o == 'h') {
      usage(stdout);
      return 0;
    }
    if (o == 'b') {
      srv.cfg.bind = optarg;
      continue;
    }
    if (o == '?' || parse_size(optarg, &v)) {
      if (o != '?') fprintf(stderr, "redis-lite: bad number '%s'\n", optarg);
      usage(stderr);
      return 2;
    }
    switch (o) {
    case 'p': srv.cfg.port = v > 65535 ? -1 : (int)v; break;
    case 'c': srv.cfg.max_clients = v; break;
    case 'B': srv.cfg.lim.max_bulk = v; break;
    case 'a': srv.cfg.lim.max_args = v; break;
    case 'i': srv.cfg.lim.max_inline = v; break;
    case 'm': srv.cfg.lim.max_command = v; break;
    case 'o': srv.cfg.max_output = v; break;
    case 's': srv.cfg.sweep_ms = v > 0 && v < 1000000 ? (int)v : -1; break;
    case 'P': srv.cfg.busy_poll_us = v <= 1000000 ? (int)v : -1; break;
    }
  }
  if (optind < argc || srv.cfg.port < 0 || srv.cfg.sweep_ms < 0 || srv.cfg.busy_poll_us < 0 || !srv.cfg.lim.max_args ||
      srv.cfg.lim.max_command < 1024 || srv.cfg.lim.max_inline >= srv.cfg.lim.max_command ||
      srv.cfg.max_output < 1024 || !srv.cfg.max_clients) {
    fprintf(stderr, "redis-lite: bad arguments (max-command >= 1024 and > max-inline, "
                    "max-output >= 1024, counts > 0)\n");
    usage(stderr);
    return 2;
  }
  uint64_t seed;
  if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed) seed = (uint64_t)time(NULL);
  ht_seed(seed);
  db_init(&srv.db, seed >> 1);
  cmd_init();
  eddy_loop_opts lo = {.grace = EDDY_SEC(1), .busy_poll = EDDY_USEC(srv.cfg.busy_poll_us)};
  int r = eddy_run_opts(main_task, &srv, &lo);
  db_fini(&srv.db);
  return r < 0 ? 1 : r;
}
