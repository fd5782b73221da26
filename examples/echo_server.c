/* echo_server.c: a TCP line echo server, one task per connection, written
 * straight-line: accept, spawn a handler, read a line, write it back.
 * Ctrl-C (SIGINT) or SIGTERM shuts it down gracefully: the accept loop is
 * cancelled, each open connection gets "bye" and is closed cleanly.
 *
 *   ./echo_server [port]        then: nc localhost PORT */
#include <eddy.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_LINE 4096

static int handle(void *arg) {
  eddy_stream *c = arg;
  const char *line;
  size_t len;
  int r;
  while ((r = eddy_stream_read_until(c, '\n', MAX_LINE, &line, &len,
                                     eddy_deadline_in(EDDY_SEC(300)))) == 0)
    if ((r = eddy_stream_write(c, line, len, NULL, EDDY_FOREVER)) != 0) break;
  if (r == -EMSGSIZE)
    eddy_stream_write(c, "line too long\n", 14, NULL, eddy_deadline_in(EDDY_SEC(1)));
  else if (r == -ECANCELED)
    eddy_stream_write(c, "bye\n", 4, NULL, eddy_deadline_in(EDDY_SEC(1)));
  eddy_stream_close(c);
  return 0;
}

static int accept_loop(void *arg) {
  eddy_listener *l = arg;
  for (;;) {
    eddy_stream *c;
    int r = eddy_listener_accept(l, &c, NULL, EDDY_FOREVER);
    if (r == -ECANCELED) return 0;
    if (r) {
      fprintf(stderr, "accept: %s\n", eddy_strerror(r));
      continue;
    }
    eddy_spawn_opts o = {.name = "conn"};
    if (eddy_spawn_ex(NULL, handle, c, &o)) eddy_stream_close(c);
  }
}

static int main_task(void *arg) {
  int port = (int)(intptr_t)arg;
  eddy_listener *l;
  int r = eddy_tcp_listen("127.0.0.1", port, 128, 0, &l);
  if (r) {
    fprintf(stderr, "listen: %s\n", eddy_strerror(r));
    return 1;
  }
  printf("echo server on 127.0.0.1:%d (nc localhost %d)\n", eddy_listener_port(l),
         eddy_listener_port(l));
  fflush(stdout);
  int sigs[] = {SIGINT, SIGTERM};
  eddy_signals *s;
  if (eddy_signals_open(sigs, 2, &s) == 0) {
    eddy_task *acceptor;
    eddy_spawn(&acceptor, accept_loop, l);
    int sig = eddy_signals_next(s, EDDY_FOREVER);
    printf("signal %d: shutting down\n", sig);
    eddy_signals_close(s);
    eddy_cancel(acceptor);
    eddy_join(acceptor, NULL);
  }
  eddy_listener_close(l);
  /* connection tasks finish on their own (they are owned by the loop) */
  return 0;
}

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 7777;
  return eddy_run(main_task, (void *)(intptr_t)port);
}
