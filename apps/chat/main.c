/* main.c: eddy-chat, the seed's real-time chat: rooms, nicknames, messages
 * delivered to everyone in a room as they arrive, history on disk.
 * The server is a task group: an acceptor (FOR connection in listener), a
 * task per client, and a history logger; SIGINT/SIGTERM cancel the group,
 * every client is told goodbye, pending history is flushed, exit 0. The
 * web page and its WebSocket clients (http_server.c) are a second acceptor
 * in the same group, on their own port. */
#include "chat.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *f) {
  fprintf(f,
          "usage: eddy-chat [options]\n"
          "  --port N            TCP port for the line protocol (EDDY_CHAT_PORT, default 7777)\n"
          "  --http-port N       HTTP port for the web page and its WebSocket\n"
          "                      (EDDY_CHAT_HTTP_PORT, default 8080; 0 turns it off)\n"
          "  --data-dir DIR      history logs (EDDY_CHAT_DATA_DIR, default\n"
          "                      $XDG_DATA_HOME/eddy-chat or ~/.local/share/eddy-chat)\n"
          "  --durability MODE   'always' (fsync each message) or 'batched'\n"
          "                      (EDDY_CHAT_DURABILITY, default batched)\n"
          "  --fsync-ms N        batched: fsync interval (default 100)\n"
          "  --log-timeout-ms N  the longest one history write (a batch) may take; past\n"
          "                      it the batch fails and its posters are told (default 10000)\n"
          "  --max-line N        longest line, or web message, a client may send (default 1024)\n"
          "  --max-clients N     clients at once, line and web (default 10000)\n"
          "  --idle SEC          disconnect clients silent this long (default 600)\n"
          "  --rate N            messages per second per client (default 20)\n"
          "  --history N         messages replayed on /join (default 20)\n"
          "  --client-buffer N   messages a client may fall behind (default 256)\n"
          "  --help\n");
}

static int mkdirs(char *path) {
  for (char *p = path + 1; *p; p++)
    if (*p == '/') {
      *p = 0;
      if (mkdir(path, 0755) != 0 && errno != EEXIST) return -errno;
      *p = '/';
    }
  if (mkdir(path, 0755) != 0 && errno != EEXIST) return -errno;
  return 0;
}

static int parse_opts(int argc, char **argv, chat_opts *o) {
  const char *e;
  o->port = (e = getenv("EDDY_CHAT_PORT")) ? atoi(e) : 7777;
  o->http_port = (e = getenv("EDDY_CHAT_HTTP_PORT")) ? atoi(e) : 8080;
  if ((e = getenv("EDDY_CHAT_DATA_DIR"))) snprintf(o->data_dir, sizeof o->data_dir, "%s", e);
  else if ((e = getenv("XDG_DATA_HOME")) && *e) snprintf(o->data_dir, sizeof o->data_dir, "%s/eddy-chat", e);
  else snprintf(o->data_dir, sizeof o->data_dir, "%s/.local/share/eddy-chat", getenv("HOME") ? getenv("HOME") : "/tmp");
  o->fsync_each = (e = getenv("EDDY_CHAT_DURABILITY")) && !strcmp(e, "always");
  o->fsync_ms = 100;
  o->log_timeout_ms = 10000;
  o->max_line = 1024;
  o->max_clients = 10000;
  o->idle_sec = 600;
  o->rate_per_sec = 20;
  o->history_on_join = 20;
  o->client_buffer = 256;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help")) {
      usage(stdout);
      exit(0);
    }
    if (!v) {
      usage(stderr);
      return -EINVAL;
    }
    i++;
    if (!strcmp(a, "--port")) o->port = atoi(v);
    else if (!strcmp(a, "--http-port")) o->http_port = atoi(v);
    else if (!strcmp(a, "--data-dir")) snprintf(o->data_dir, sizeof o->data_dir, "%s", v);
    else if (!strcmp(a, "--durability")) {
      if (strcmp(v, "always") && strcmp(v, "batched")) return -EINVAL;
      o->fsync_each = !strcmp(v, "always");
    } else if (!strcmp(a, "--fsync-ms")) o->fsync_ms = atoi(v);
    else if (!strcmp(a, "--log-timeout-ms")) o->log_timeout_ms = atoi(v);
    else if (!strcmp(a, "--max-line")) o->max_line = (size_t)atol(v);
    else if (!strcmp(a, "--max-clients")) o->max_clients = atoi(v);
    else if (!strcmp(a, "--idle")) o->idle_sec = atoi(v);
    else if (!strcmp(a, "--rate")) o->rate_per_sec = atoi(v);
    else if (!strcmp(a, "--history")) o->history_on_join = atoi(v);
    else if (!strcmp(a, "--client-buffer")) o->client_buffer = (size_t)atol(v);
    else {
      usage(stderr);
      return -EINVAL;
    }
  }
  if (o->port < 0 || o->port > 65535 || o->http_port < 0 || o->http_port > 65535 || o->fsync_ms <= 0 || o->log_timeout_ms <= 0 || o->max_line < 16 ||
      o->max_clients <= 0 || o->idle_sec <= 0 || o->rate_per_sec <= 0 ||
      o->history_on_join < 0 || o->history_on_join > RECENT_MAX || o->client_buffer == 0)
    return -EINVAL;
  return 0;
}

static int acceptor(void *arg) {
  acceptor_arg *a = arg;
  eddy_stream *conn;
  int st;
  EDDY_FOR(conn, eddy_accept_iter(a->l, &a->so), st) {
    conn_arg *ca = malloc(sizeof *ca);
    if (!ca) {
      eddy_stream_close(conn);
      continue;
    }
    *ca = (conn_arg){a->s, conn};
    eddy_spawn_opts o = {.name = a->name};
    if (eddy_taskgroup_spawn(a->s->tg, a->conn_task, ca, &o)) {
      free(ca);
      eddy_stream_close(conn);
    }
  }
  return st == -ECANCELED ? 0 : st;
}

static int argc_;
static char **argv_;

static int main_task(void *unused) {
  (void)unused;
  static server s;
  int r = parse_opts(argc_, argv_, &s.opts);
  if (r) {
    fprintf(stderr, "eddy-chat: bad options (see --help)\n");
    return 2;
  }
  if ((r = mkdirs(s.opts.data_dir))) {
    fprintf(stderr, "eddy-chat: data directory %s: %s\n", s.opts.data_dir, eddy_strerror(r));
    return 1;
  }
  eddy_lock_init(&s.log_lock);
  eddy_cond_init(&s.log_wanted);
  eddy_lock_init(&s.rooms_lock);
  eddy_listener *l;
  if ((r = eddy_tcp_listen("127.0.0.1", s.opts.port, 1024, 0, &l))) {
    fprintf(stderr, "eddy-chat: port %d: %s\n", s.opts.port, eddy_strerror(r));
    return 1;
  }
  EDDY_WITH(gl, &eddy_listener_cm, l);
  eddy_listener *hl = NULL;
#ifdef EDDY_CHAT_WEB
  if (s.opts.http_port && (r = eddy_tcp_listen("127.0.0.1", s.opts.http_port, 1024, 0, &hl))) {
    fprintf(stderr, "eddy-chat: HTTP port %d: %s\n", s.opts.http_port, eddy_strerror(r));
    return 1;
  }
#endif
  EDDY_WITH(ghl, &eddy_listener_cm, hl); /* NULL: no web port */
  int sigs[] = {SIGINT, SIGTERM};
  eddy_signals *sg;
  if ((r = eddy_signals_open(sigs, 2, &sg))) return 1;
  printf("eddy-chat listening on 127.0.0.1:%d (history in %s)\n"
         "connect with: nc localhost %d   (then /nick NAME, /join ROOM; /help)\n",
         eddy_listener_port(l), s.opts.data_dir, eddy_listener_port(l));
  if (hl) printf("web page: http://localhost:%d/   (open it in a browser)\n", eddy_listener_port(hl));
#ifndef EDDY_CHAT_WEB
  printf("web page: not built in (see the build's cmake messages)\n");
#else
  else printf("web page: off (--http-port 0)\n");
#endif
  fflush(stdout);
  eddy_taskgroup tg;
  eddy_taskgroup_init(&tg);
  s.tg = &tg;
  {
    EDDY_WITH(g, &eddy_taskgroup_cm, &tg);
    /* A line client's kernel send buffer is bounded too: together with
     * its subscription buffer that caps what a slow client can make us
     * hold. */
    acceptor_arg aa = {&s, l, {.read_buffer = 4096, .max_buffer = s.opts.max_line + 64, .sndbuf = 64 * 1024},
                       client_task, "client"};
    eddy_taskgroup_spawn(&tg, acceptor, &aa, NULL);
#ifdef EDDY_CHAT_WEB
    acceptor_arg ha = {&s, hl, http_stream_opts(), http_conn_task, "http"};
    if (hl) eddy_taskgroup_spawn(&tg, acceptor, &ha, NULL);
#endif
    if (!s.opts.fsync_each) eddy_taskgroup_spawn(&tg, history_logger, &s, NULL);
    int sig = eddy_signals_next(sg, EDDY_FOREVER);
    printf("eddy-chat: signal %d, shutting down\n", sig);
    fflush(stdout);
    eddy_taskgroup_cancel(&tg); /* every client says goodbye and leaves */
  }
  eddy_signals_close(sg);
  eddy_taskgroup_fini(&tg);
  rooms_close(&s); /* flushes and closes every log */
  printf("eddy-chat: bye\n");
  return 0;
}

int main(int argc, char **argv) {
  argc_ = argc;
  argv_ = argv;
  return eddy_run(main_task, NULL);
}
