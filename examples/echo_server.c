/* echo_server.c: a TCP line echo server written the way the seed would
 * write it: FOR connection in listener, spawn a handler; in the handler the
 * connection is a context manager and its lines an async iterator. Ctrl-C
 * (SIGINT) or SIGTERM shuts it down gracefully: the server's task group is
 * cancelled, every handler says "bye", and each connection closes cleanly.
 *
 *   ./echo_server [port]        then: nc localhost PORT */
#include <eddy.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINE 4096

static int handle(void *arg) {
  eddy_stream *conn = arg;
  EDDY_WITH(g, &eddy_stream_cm, conn); /* closes itself, however we leave */
  eddy_line line;
  int st;
  EDDY_FOR(line, eddy_lines(conn, MAX_LINE), st)
    if (eddy_stream_write(conn, line.data, line.len, NULL, EDDY_FOREVER)) break;
  const char *why = st == -EMSGSIZE ? "line too long\n" : st == -ECANCELED ? "bye\n" : NULL;
  if (why) {
    /* a cancelled task's blocking calls fail (level-triggered), so the
     * goodbye is written in a shield, bounded by its own deadline */
    eddy_shield sh;
    eddy_shield_init(&sh, eddy_deadline_in(EDDY_SEC(1)));
    EDDY_WITH(gs, &eddy_shield_cm, &sh);
    eddy_stream_write(conn, why, strlen(why), NULL, EDDY_FOREVER);
  }
  return 0;
}

typedef struct server {
  eddy_listener *l;
  eddy_taskgroup *tg;
} server;

static int serve(void *arg) {
  server *sv = arg;
  eddy_listener *l = sv->l;
  eddy_taskgroup *tg = sv->tg;
  eddy_stream *conn;
  int st;
  EDDY_FOR(conn, eddy_accept_iter(l, NULL), st) {
    eddy_spawn_opts o = {.name = "conn"};
    if (eddy_taskgroup_spawn(tg, handle, conn, &o)) eddy_stream_close(conn);
  }
  return st == -ECANCELED ? 0 : st;
}

static int main_task(void *arg) {
  int port = (int)(intptr_t)arg;
  eddy_listener *l;
  int r = eddy_tcp_listen("127.0.0.1", port, 128, 0, &l);
  if (r) {
    fprintf(stderr, "listen: %s\n", eddy_strerror(r));
    return 1;
  }
  EDDY_WITH(gl, &eddy_listener_cm, l);
  printf("echo server on 127.0.0.1:%d (nc localhost %d)\n", eddy_listener_port(l),
         eddy_listener_port(l));
  fflush(stdout);
  int sigs[] = {SIGINT, SIGTERM};
  eddy_signals *s;
  if ((r = eddy_signals_open(sigs, 2, &s))) return 1;
  eddy_taskgroup tg;
  eddy_taskgroup_init(&tg);
  {
    EDDY_WITH(g, &eddy_taskgroup_cm, &tg); /* every handler ends with it */
    server sv = {l, &tg};
    eddy_taskgroup_spawn(&tg, serve, &sv, NULL);
    int sig = eddy_signals_next(s, EDDY_FOREVER);
    printf("signal %d: shutting down\n", sig);
    fflush(stdout);
    eddy_taskgroup_cancel(&tg);
  }
  eddy_signals_close(s);
  eddy_taskgroup_fini(&tg);
  return 0;
}

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 7777;
  return eddy_run(main_task, (void *)(intptr_t)port);
}
