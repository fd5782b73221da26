/* echo_eddy.c: eddy's server for the TCP echo entries (echo_64x64,
 * echo_256x1k), written the way examples/echo_server.c is: FOR over the
 * listener's connections, a task per connection, and in each task FOR over
 * the chunks that arrive, writing every chunk back. No tuning beyond what a
 * user would write; the backend comes from the environment (EDDY_BACKEND).
 *
 *   echo_eddy PORT          serves 127.0.0.1:PORT until killed */
#include <eddy.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int handle(void *arg) {
  eddy_stream *conn = arg;
  EDDY_WITH(g, &eddy_stream_cm, conn);
  eddy_chunk c;
  int st;
  EDDY_FOR(c, eddy_chunks(conn, 16 * 1024), st)
    if (eddy_stream_write(conn, c.data, c.len, NULL, EDDY_FOREVER)) break;
  return 0;
}

static int serve(void *arg) {
  eddy_listener *l;
  int r = eddy_tcp_listen("127.0.0.1", (int)(intptr_t)arg, 1024, 0, &l);
  if (r) {
    fprintf(stderr, "echo_eddy: listen: %s\n", eddy_strerror(r));
    return 1;
  }
  EDDY_WITH(gl, &eddy_listener_cm, l);
  eddy_stream *conn;
  int st;
  EDDY_FOR(conn, eddy_accept_iter(l, NULL), st)
    if (eddy_spawn(NULL, handle, conn)) eddy_stream_close(conn);
  fprintf(stderr, "echo_eddy: accept: %s\n", eddy_strerror(st));
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: echo_eddy PORT\n");
    return 2;
  }
  return eddy_run(serve, (void *)(intptr_t)atoi(argv[1]));
}
