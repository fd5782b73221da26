/* test_stream_room.c: the room a stream's read buffer offers each receive.
 * Once everything buffered has been consumed, the next receive must be
 * offered the whole buffer, not what is left behind the consumed bytes: a
 * request-response server would otherwise, every so often, receive a
 * client's batch in two pieces and answer it with two writes. Run on each
 * backend. */
#include "test.h"

#include <sys/socket.h>

#define BUF 64

static int room_main(void *arg) {
  (void)arg;
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  eddy_stream_opts o = {.read_buffer = BUF, .max_buffer = BUF};
  eddy_stream *s;
  ASSERT_RC(eddy_stream_from_fd(sv[0], &o, &s), 0);
  char out[40], in[40];
  for (int round = 0; round < 3; round++) {
    memset(out, 'a' + round, sizeof out);
    ASSERT_EQ(write(sv[1], out, sizeof out), (ssize_t)sizeof out);
    /* one byte first: the receive's size shows in what stays buffered */
    ASSERT_EQ(eddy_stream_read(s, in, 1, EDDY_FOREVER), 1);
    ASSERT_EQ(eddy_stream_buffered(s), sizeof out - 1); /* all 40 in one go */
    ASSERT_RC(eddy_stream_read_exact(s, in + 1, sizeof in - 1, EDDY_FOREVER), 0);
    ASSERT(memcmp(in, out, sizeof out) == 0);
  }
  close(sv[1]);
  eddy_stream_close(s);
  return 0;
}

TEST(drained_buffer_offers_its_whole_room_to_the_next_receive) {
  eddy_loop_opts epoll = {.backend = EDDY_BACKEND_EPOLL};
  ASSERT_RC(eddy_run_opts(room_main, NULL, &epoll), 0);
#ifdef EDDY_HAVE_URING
  eddy_loop_opts uring = {.backend = EDDY_BACKEND_IO_URING};
  ASSERT_RC(eddy_run_opts(room_main, NULL, &uring), 0);
#endif
}
