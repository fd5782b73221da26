/* test_net.c: TCP streams over loopback: lines, exact reads, limits,
 * half-close, graceful close, backpressure, failures (refused, reset,
 * EMFILE in accept) and cancellation consuming nothing. */
#include "test.h"

#include <arpa/inet.h>
#include <sys/socket.h>

static eddy_listener *lst;

static int echo_lines(void *arg) {
  eddy_stream *c = arg;
  const char *line;
  size_t len;
  int r;
  while ((r = eddy_stream_read_until(c, '\n', 64, &line, &len, EDDY_FOREVER)) == 0)
    if ((r = eddy_stream_write(c, line, len, NULL, EDDY_FOREVER))) break;
  eddy_stream_close(c);
  return r == EDDY_DONE ? 0 : r;
}
static int server(void *arg) {
  int n = (int)(intptr_t)arg;
  for (int i = 0; i < n; i++) {
    eddy_stream *c;
    int r = eddy_listener_accept(lst, &c, NULL, EDDY_FOREVER);
    if (r) return r;
    eddy_spawn(NULL, echo_lines, c);
  }
  return 0;
}

static int echo_main(void *arg) {
  (void)arg;
  ASSERT_RC(eddy_tcp_listen("127.0.0.1", 0, 16, 0, &lst), 0);
  ASSERT(eddy_listener_port(lst) > 0);
  eddy_task *srv;
  eddy_spawn(&srv, server, (void *)1);
  eddy_stream *c;
  ASSERT_RC(eddy_tcp_connect("localhost", eddy_listener_port(lst), NULL,
                             eddy_deadline_in(EDDY_SEC(5)), &c), 0);
  ASSERT_RC(eddy_stream_write(c, "hello\nworld\n", 12, NULL, EDDY_FOREVER), 0);
  const char *line;
  size_t len;
  ASSERT_RC(eddy_stream_read_until(c, '\n', 100, &line, &len, EDDY_FOREVER), 0);
  ASSERT_EQ(len, 6);
  ASSERT(memcmp(line, "hello\n", 6) == 0);
  char buf[6];
  ASSERT_RC(eddy_stream_read_exact(c, buf, 6, EDDY_FOREVER), 0);
  ASSERT(memcmp(buf, "world\n", 6) == 0);
  ASSERT_RC(eddy_stream_shutdown(c), 0); /* half-close: server sees EOF */
  ASSERT_EQ(eddy_stream_read(c, buf, 6, EDDY_FOREVER), 0); /* the end */
  ASSERT_RC(eddy_stream_write(c, "x", 1, NULL, EDDY_FOREVER), -EPIPE);
  ASSERT_RC(eddy_stream_close(c), 0);
  ASSERT_RC(eddy_join(srv, NULL), 0);
  eddy_listener_close(lst);
  return 0;
}
TEST(tcp_echo_lines_exact_halfclose) { ASSERT_EQ(eddy_run(echo_main, NULL), 0); }

static int limit_main(void *arg) {
  (void)arg;
  ASSERT_RC(eddy_tcp_listen("127.0.0.1", 0, 16, 0, &lst), 0);
  eddy_task *srv;
  eddy_spawn(&srv, server, (void *)1);
  eddy_stream *c;
  eddy_stream_opts o = {.read_buffer = 256, .max_buffer = 1024};
  ASSERT_RC(eddy_tcp_connect("127.0.0.1", eddy_listener_port(lst), &o,
                             EDDY_FOREVER, &c), 0);
  char big[200];
  memset(big, 'a', sizeof big);
  big[199] = '\n';
  /* the server's limit is 64: an oversized line ends that connection */
  ASSERT_RC(eddy_stream_write(c, big, sizeof big, NULL, EDDY_FOREVER), 0);
  int res = 0;
  eddy_join(srv, &res);
  const char *line;
  size_t len;
  int r = eddy_stream_read_until(c, '\n', 64, &line, &len, eddy_deadline_in(EDDY_SEC(5)));
  ASSERT(r == EDDY_DONE || r == -ECONNRESET);
  eddy_stream_close(c);
  eddy_listener_close(lst);
  return 0;
}
TEST(line_over_limit_is_emsgsize) { ASSERT_EQ(eddy_run(limit_main, NULL), 0); }

static int endless_main(void *arg) {
  (void)arg;
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  eddy_stream *a;
  eddy_stream_opts o = {.read_buffer = 128, .max_buffer = 512};
  ASSERT_RC(eddy_stream_from_fd(sv[0], &o, &a), 0);
  char junk[4096];
  memset(junk, 'z', sizeof junk);
  ASSERT_EQ(write(sv[1], junk, sizeof junk), (long)sizeof junk);
  const char *line;
  size_t len;
  /* a peer sending an endless line: bounded memory, a clear error */
  ASSERT_RC(eddy_stream_read_until(a, '\n', 100000, &line, &len, EDDY_FOREVER), -EMSGSIZE);
  ASSERT(eddy_stream_buffered(a) <= 512 + 1); /* max_buffer, and the byte that tells */
  ASSERT_RC(eddy_stream_read_until(a, '\n', 100, &line, &len, EDDY_FOREVER), -EMSGSIZE);
  ASSERT_EQ(eddy_stream_discard(a, 100000), 512 + 1);
  close(sv[1]);
  eddy_stream_close(a);
  return 0;
}
TEST(endless_line_bounded_memory) { ASSERT_EQ(eddy_run(endless_main, NULL), 0); }

/* A last line with no delimiter, exactly max_buffer bytes long, then the
 * end of the stream: the line is returned, as a shorter one would be; one
 * byte more is a line too long. On whichever backend EDDY_BACKEND names. */
static int exact_last_line(const char *send_, size_t n, size_t *got, int *rc2) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  eddy_stream *a;
  eddy_stream_opts o = {.read_buffer = 8, .max_buffer = 8};
  ASSERT_RC(eddy_stream_from_fd(sv[0], &o, &a), 0);
  ASSERT_EQ(write(sv[1], send_, n), (long)n);
  close(sv[1]);
  const char *line;
  size_t len = 0;
  int r = eddy_stream_read_until(a, '\n', 8, &line, &len, EDDY_FOREVER);
  *got = r == 0 ? len : 0;
  *rc2 = r;
  eddy_stream_close(a);
  return 0;
}
static int exact_main(void *arg) {
  (void)arg;
  size_t got;
  int r;
  exact_last_line("12345678", 8, &got, &r);
  ASSERT_RC(r, 0);
  ASSERT_EQ(got, 8);
  exact_last_line("123456789", 9, &got, &r);
  ASSERT_RC(r, -EMSGSIZE);
  exact_last_line("1234567\n", 8, &got, &r);
  ASSERT_RC(r, 0);
  ASSERT_EQ(got, 8);
  return 0;
}
TEST(last_line_of_exactly_max_buffer_bytes_is_returned) { ASSERT_EQ(eddy_run(exact_main, NULL), 0); }

static int cancel_read_child(void *arg) {
  eddy_stream *a = arg;
  char buf[8];
  return eddy_stream_read_exact(a, buf, 8, EDDY_FOREVER);
}
static int cancel_read_main(void *arg) {
  (void)arg;
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  eddy_stream *a;
  ASSERT_RC(eddy_stream_from_fd(sv[0], NULL, &a), 0);
  eddy_task *t;
  eddy_spawn(&t, cancel_read_child, a);
  ASSERT_EQ(write(sv[1], "1234", 4), 4);
  eddy_sleep(EDDY_MSEC(2));
  eddy_cancel(t); /* half the bytes arrived: nothing may be lost */
  int res = 0;
  eddy_join(t, &res);
  ASSERT_RC(res, -ECANCELED);
  ASSERT_EQ(write(sv[1], "5678", 4), 4);
  char buf[8];
  ASSERT_RC(eddy_stream_read_exact(a, buf, 8, EDDY_FOREVER), 0);
  ASSERT(memcmp(buf, "12345678", 8) == 0);
  ASSERT_RC(eddy_stream_read_exact(a, buf, 8, eddy_deadline_in(EDDY_MSEC(2))), -ETIMEDOUT);
  close(sv[1]);
  ASSERT_RC(eddy_stream_read_exact(a, buf, 1, EDDY_FOREVER), EDDY_DONE);
  eddy_stream_close(a);
  return 0;
}
TEST(R19_cancelled_read_consumes_nothing) { ASSERT_EQ(eddy_run(cancel_read_main, NULL), 0); }

static int big_reader(void *arg) {
  eddy_stream *b = arg;
  static char buf[65536];
  long total = 0, n;
  while ((n = eddy_stream_read(b, buf, sizeof buf, EDDY_FOREVER)) > 0)
    total += n;
  eddy_stream_close(b);
  return (int)(total / 1024);
}
static int backpressure_main(void *arg) {
  (void)arg;
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  eddy_stream *a, *b;
  ASSERT_RC(eddy_stream_from_fd(sv[0], NULL, &a), 0);
  ASSERT_RC(eddy_stream_from_fd(sv[1], NULL, &b), 0);
  eddy_task *t;
  eddy_spawn(&t, big_reader, b);
  static char chunk[1 << 20];
  struct iovec v[4];
  for (int i = 0; i < 4; i++) {
    v[i].iov_base = chunk;
    v[i].iov_len = sizeof chunk / 4;
  }
  size_t sent = 0;
  for (int i = 0; i < 8; i++) { /* 8 MiB through a small socket buffer */
    ASSERT_RC(eddy_stream_writev(a, v, 4, &sent, EDDY_FOREVER), 0);
    ASSERT_EQ(sent, sizeof chunk);
  }
  eddy_stream_close(a);
  int kib = 0;
  eddy_join(t, &kib);
  ASSERT_EQ(kib, 8 * 1024);
  return 0;
}
TEST(write_all_with_backpressure_and_writev) { ASSERT_EQ(eddy_run(backpressure_main, NULL), 0); }

static int refused_main(void *arg) {
  (void)arg;
  eddy_listener *l;
  ASSERT_RC(eddy_tcp_listen("127.0.0.1", 0, 1, 0, &l), 0);
  int port = eddy_listener_port(l);
  eddy_listener_close(l); /* nobody listens there now */
  eddy_stream *c;
  ASSERT_RC(eddy_tcp_connect("127.0.0.1", port, NULL, EDDY_FOREVER, &c), -ECONNREFUSED);
  ASSERT_RC(eddy_tcp_connect("no-such-host.invalid", 80, NULL,
                             eddy_deadline_in(EDDY_SEC(5)), &c) < 0, 1);
  ASSERT_RC(eddy_tcp_connect(NULL, 80, NULL, EDDY_FOREVER, &c), -EINVAL);
  ASSERT_RC(eddy_tcp_listen("not-an-address", 0, 1, 0, &l), -EINVAL);
  ASSERT_RC(eddy_tcp_listen("127.0.0.1", 70000, 1, 0, &l), -EINVAL);
  return 0;
}
TEST(connect_refused_and_bad_input) { ASSERT_EQ(eddy_run(refused_main, NULL), 0); }

static int reset_main(void *arg) {
  (void)arg;
  ASSERT_RC(eddy_tcp_listen("127.0.0.1", 0, 16, 0, &lst), 0);
  eddy_stream *c, *s;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)eddy_listener_port(lst))};
  a.sin_addr.s_addr = htonl(0x7f000001);
  ASSERT_EQ(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  ASSERT_RC(eddy_listener_accept(lst, &s, NULL, EDDY_FOREVER), 0);
  struct linger lg = {1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(fd); /* abortive close: RST */
  char buf[4];
  ASSERT_RC(eddy_stream_read(s, buf, 4, EDDY_FOREVER), -ECONNRESET);
  ASSERT_RC(eddy_stream_read(s, buf, 4, EDDY_FOREVER), -ECONNRESET); /* sticky */
  eddy_stream_close(s);
  (void)c;
  eddy_listener_close(lst);
  return 0;
}
TEST(peer_reset_is_econnreset) { ASSERT_EQ(eddy_run(reset_main, NULL), 0); }

static int emfile_main(void *arg) {
  (void)arg;
  ASSERT_RC(eddy_tcp_listen("127.0.0.1", 0, 16, 0, &lst), 0);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)eddy_listener_port(lst))};
  a.sin_addr.s_addr = htonl(0x7f000001);
  ASSERT_EQ(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  eddy__fault_set(EDDY_SYS_ACCEPT, 0, EMFILE, 3); /* out of fds three times */
  eddy_time_t t0 = eddy_now();
  eddy_stream *s;
  ASSERT_RC(eddy_listener_accept(lst, &s, NULL, EDDY_FOREVER), 0);
  ASSERT(eddy_now() - t0 >= EDDY_MSEC(30)); /* backed off, did not spin */
  close(fd); /* first, so the graceful close sees the peer's end at once */
  eddy_stream_close(s);
  eddy__fault_set(EDDY_SYS_ACCEPT, 0, EMFILE, 0);
  ASSERT_RC(eddy_listener_accept(lst, &s, NULL, eddy_deadline_in(EDDY_MSEC(25))), -EMFILE);
  eddy__fault_clear();
  eddy_listener_close(lst);
  return 0;
}
TEST(accept_emfile_backs_off) { ASSERT_EQ(eddy_run(emfile_main, NULL), 0); }

static int oom_main(void *arg) {
  (void)arg;
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  eddy_stream *a;
  eddy__fault_set(EDDY_SYS_ALLOC, 0, ENOMEM, 1);
  ASSERT_RC(eddy_stream_from_fd(sv[0], NULL, &a), -ENOMEM);
  eddy__fault_set(EDDY_SYS_ALLOC, 1, ENOMEM, 1);
  ASSERT_RC(eddy_stream_from_fd(sv[0], NULL, &a), -ENOMEM);
  eddy__fault_set(EDDY_SYS_EPOLL_CTL, 0, ENOMEM, 1);
  ASSERT_RC(eddy_stream_from_fd(sv[0], NULL, &a), -ENOMEM);
  eddy__fault_set(EDDY_SYS_SOCKET, 0, EMFILE, 1);
  eddy_listener *l;
  ASSERT_RC(eddy_tcp_listen("127.0.0.1", 0, 1, 0, &l), -EMFILE);
  close(sv[0]);
  close(sv[1]);
  return 0;
}
TEST(stream_setup_failures) {
  eddy_loop_opts o = {.backend = EDDY_BACKEND_EPOLL}; /* epoll_ctl fault */
  ASSERT_EQ(eddy_run_opts(oom_main, NULL, &o), 0);
}

static int unix_server(void *arg) {
  eddy_listener *l = arg;
  eddy_stream *c;
  int r = eddy_listener_accept(l, &c, NULL, EDDY_FOREVER);
  if (r) return r;
  return echo_lines(c);
}
static int unix_main(void *arg) {
  (void)arg;
  char path[64];
  snprintf(path, sizeof path, "/tmp/eddy-test-%d.sock", (int)getpid());
  eddy_listener *l;
  ASSERT_RC(eddy_unix_listen(path, 4, &l), 0);
  eddy_task *t;
  eddy_spawn(&t, unix_server, l);
  eddy_stream *c;
  ASSERT_RC(eddy_unix_connect(path, NULL, EDDY_FOREVER, &c), 0);
  ASSERT_RC(eddy_stream_write(c, "ping\n", 5, NULL, EDDY_FOREVER), 0);
  const char *line;
  size_t len;
  ASSERT_RC(eddy_stream_read_until(c, '\n', 16, &line, &len, EDDY_FOREVER), 0);
  ASSERT_EQ(len, 5);
  eddy_stream_close(c);
  ASSERT_RC(eddy_join(t, NULL), 0);
  eddy_listener_close(l);
  unlink(path);
  ASSERT_RC(eddy_unix_connect("/nonexistent/sock", NULL, EDDY_FOREVER, &c), -ENOENT);
  char longp[200];
  memset(longp, 'x', sizeof longp - 1);
  longp[199] = 0;
  ASSERT_RC(eddy_unix_listen(longp, 1, &l), -ENAMETOOLONG);
  return 0;
}
TEST(unix_socket_echo) { ASSERT_EQ(eddy_run(unix_main, NULL), 0); }

static int udp_main(void *arg) {
  (void)arg;
  eddy_udp *a, *b;
  ASSERT_RC(eddy_udp_open("127.0.0.1", 0, &a), 0);
  ASSERT_RC(eddy_udp_open("127.0.0.1", 0, &b), 0);
  char buf[8];
  ASSERT_RC(eddy_udp_recv(b, buf, sizeof buf, NULL, NULL, eddy_deadline_in(EDDY_MSEC(2))), -ETIMEDOUT);
  ASSERT_RC(eddy_udp_send(a, "datagram", 8, "127.0.0.1", eddy_udp_port(b), EDDY_FOREVER), 0);
  ASSERT_EQ(eddy_udp_recv(b, buf, sizeof buf, NULL, NULL, EDDY_FOREVER), 8);
  ASSERT(memcmp(buf, "datagram", 8) == 0);
  ASSERT_RC(eddy_udp_send(a, "too-long-for-4", 14, "127.0.0.1", eddy_udp_port(b), EDDY_FOREVER), 0);
  ASSERT_RC(eddy_udp_recv(b, buf, 4, NULL, NULL, EDDY_FOREVER), -EMSGSIZE);
  ASSERT_RC(eddy_udp_send(a, "x", 1, "bogus", 1, EDDY_FOREVER), -EINVAL);
  eddy_udp_close(a);
  eddy_udp_close(b);
  return 0;
}
TEST(udp_datagrams) { ASSERT_EQ(eddy_run(udp_main, NULL), 0); }

/* ---- I/O as iterators and managers */
static int seed_handler(void *arg) {
  EDDY_WITH(g, &eddy_stream_cm, arg); /* the connection closes itself */
  eddy_line line;
  int st;
  EDDY_FOR(line, eddy_lines(arg, 64), st)
    if (eddy_stream_write(arg, line.data, line.len, NULL, EDDY_FOREVER)) break;
  return eddy_with_close(&g, st == -EMSGSIZE ? st : 0);
}
static int seed_server(void *arg) {
  eddy_listener *l = arg;
  eddy_stream *conn;
  int st, n = 0;
  EDDY_FOR(conn, eddy_accept_iter(l, NULL), st) {
    eddy_spawn(NULL, seed_handler, conn);
    if (++n == 2) break;
  }
  return st == EDDY_BROKE ? 0 : st;
}
static int iter_main(void *arg) {
  (void)arg;
  eddy_listener *l;
  ASSERT_RC(eddy_tcp_listen("127.0.0.1", 0, 8, 0, &l), 0);
  EDDY_WITH(gl, &eddy_listener_cm, l);
  eddy_task *srv;
  eddy_spawn(&srv, seed_server, l);
  for (int k = 0; k < 2; k++) {
    eddy_stream *c;
    ASSERT_RC(eddy_tcp_connect("127.0.0.1", eddy_listener_port(l), NULL, EDDY_FOREVER, &c), 0);
    EDDY_WITH(gc, &eddy_stream_cm, c);
    ASSERT_RC(eddy_stream_write(c, "one\ntwo\n", 8, NULL, EDDY_FOREVER), 0);
    eddy_stream_shutdown(c);
    eddy_chunk ch;
    int st;
    size_t got = 0;
    char all[32];
    EDDY_FOR(ch, eddy_chunks(c, 4), st) {
      memcpy(all + got, ch.data, ch.len);
      got += ch.len;
    }
    ASSERT_RC(st, 0);
    ASSERT_EQ(got, 8);
    ASSERT(memcmp(all, "one\ntwo\n", 8) == 0);
  }
  ASSERT_RC(eddy_join(srv, NULL), 0);
  return 0;
}
TEST(accept_lines_chunks_iterators_and_managers) { ASSERT_EQ(eddy_run(iter_main, NULL), 0); }

/* A chunk of one byte is data: eddy_stream_read's count of 1 equals
 * EDDY_DONE, so the chunks iterator must not be built on it. */
static int one_byte_writer(void *arg) {
  eddy_stream *w = arg;
  ASSERT_RC(eddy_stream_write(w, "a", 1, NULL, EDDY_FOREVER), 0);
  ASSERT_RC(eddy_sleep(EDDY_MSEC(20)), 0);
  ASSERT_RC(eddy_stream_write(w, "b", 1, NULL, EDDY_FOREVER), 0);
  ASSERT_RC(eddy_sleep(EDDY_MSEC(20)), 0);
  ASSERT_RC(eddy_stream_write(w, "cd", 2, NULL, EDDY_FOREVER), 0);
  eddy_stream_shutdown(w);
  return 0;
}
static int one_byte_chunks_main(void *arg) {
  (void)arg;
  int sv[2];
  ASSERT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
  eddy_stream *r, *w;
  ASSERT_RC(eddy_stream_from_fd(sv[0], NULL, &r), 0);
  ASSERT_RC(eddy_stream_from_fd(sv[1], NULL, &w), 0);
  eddy_task *t;
  ASSERT_RC(eddy_spawn(&t, one_byte_writer, w), 0);
  char all[8];
  size_t got = 0;
  int st, chunks = 0;
  eddy_chunk ch;
  EDDY_FOR(ch, eddy_chunks(r, 4), st) {
    ASSERT(got + ch.len <= sizeof all);
    memcpy(all + got, ch.data, ch.len);
    got += ch.len;
    chunks++;
  }
  ASSERT_RC(st, 0);
  ASSERT_EQ(got, 4);
  ASSERT(memcmp(all, "abcd", 4) == 0);
  ASSERT_EQ(chunks, 3);
  ASSERT_RC(eddy_join(t, NULL), 0);
  eddy_stream_close(r); /* w has shut down writing: r sees its end at once */
  eddy_stream_close(w);
  return 0;
}
TEST(chunks_of_one_byte_are_data) { ASSERT_EQ(eddy_run(one_byte_chunks_main, NULL), 0); }

static int file_chunks_main(void *arg) {
  (void)arg;
  eddy_file *f;
  ASSERT_RC(eddy_file_open("/etc/hostname", O_RDONLY, 0, &f), 0);
  EDDY_WITH(g, &eddy_file_cm, f);
  eddy_chunk ch;
  int st;
  long total = 0;
  EDDY_FOR(ch, eddy_file_chunks(f, 3), st) total += (long)ch.len;
  ASSERT_RC(st, 0);
  ASSERT(total > 0);
  return 0;
}
TEST(file_chunks_and_file_manager) { ASSERT_EQ(eddy_run(file_chunks_main, NULL), 0); }
