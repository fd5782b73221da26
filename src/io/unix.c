/* unix.c: Unix stream sockets (listen and connect on a path) and UDP
 * datagram sockets, on the same readiness machinery as TCP. Where the loop
 * has multishot receive (io_uring, eddy_loop_opts.recv_multishot), the
 * datagram iterator receives through one multishot recvmsg request into
 * the loop's buffer ring and lends each datagram out of it; eddy_udp_recv
 * then takes the datagrams queued there first, so none is skipped. */
#include "../backend/backend.h"
#include "io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int unix_addr(const char *path, struct sockaddr_un *a) {
  if (!path || !*path) return -EINVAL;
  if (strlen(path) >= sizeof a->sun_path) return -ENAMETOOLONG;
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  strcpy(a->sun_path, path);
  return 0;
}

EDDY_API int eddy_unix_listen(const char *path, int backlog,
                              eddy_listener **out) {
  if (!out) return -EINVAL;
  *out = NULL;
  if (!eddy__loop()) return EDDY_ENOTTASK;
  struct sockaddr_un a;
  int r = unix_addr(path, &a);
  if (r) return r;
  int fd = eddy__sys_socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) return fd;
  unlink(path); /* a stale socket file from an earlier run */
  return eddy__listen_fd(fd, (struct sockaddr *)&a, sizeof a, backlog, out);
}

EDDY_API int eddy_unix_connect(const char *path, const eddy_stream_opts *opts,
                               eddy_time_t deadline, eddy_stream **out) {
  eddy_task *t;
  int r = eddy__checkpoint(&t);
  if (r) return r;
  if (!out) return -EINVAL;
  *out = NULL;
  struct sockaddr_un a;
  r = unix_addr(path, &a);
  if (r) return r;
  int fd = eddy__sys_socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) return fd;
  r = eddy__sys_connect(fd, (struct sockaddr *)&a, sizeof a);
  if (r == -EINPROGRESS || r == -EAGAIN) {
    r = eddy_wait_fd(fd, EDDY_WRITABLE, deadline);
    if (r > 0) {
      int err = 0;
      socklen_t el = sizeof err;
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
      r = -err;
    }
  }
  if (r == 0) r = eddy_stream_from_fd(fd, opts, out);
  if (r == 0) eddy__stream_byte_stream(*out);
  if (r) close(fd);
  return r;
}

/* ---- UDP */

struct eddy_udp {
  eddy_watch watch;
  int family;
  void *ms;  /* the backend's multishot recvmsg state, or NULL */
  int no_ms; /* not for this socket (refused, or too large a max) */
  int lent;  /* the datagram at the head of the queue is lent out */
};

EDDY_API int eddy_udp_open(const char *host, int port, eddy_udp **out) {
  if (!out) return -EINVAL;
  *out = NULL;
  if (!eddy__loop()) return EDDY_ENOTTASK;
  struct sockaddr_storage ss;
  socklen_t len;
  int r = eddy__inet_addr(host, port, &ss, &len);
  if (r) return r;
  int fd = eddy__sys_socket(ss.ss_family, SOCK_DGRAM, 0);
  if (fd < 0) return fd;
  if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
    r = -errno;
    close(fd);
    return r;
  }
  eddy_udp *u = eddy__calloc(1, sizeof *u);
  if (!u) {
    close(fd);
    return -ENOMEM;
  }
  u->family = ss.ss_family;
  r = eddy_watch_init(&u->watch, fd);
  if (r) {
    close(fd);
    eddy__free(u);
    return r;
  }
  *out = u;
  return 0;
}

EDDY_API int eddy_udp_port(const eddy_udp *u) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (!u || getsockname(u->watch.fd, (struct sockaddr *)&ss, &len) != 0) return -1;
  return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                       : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

EDDY_API int eddy_udp_send(eddy_udp *u, const void *buf, size_t n,
                           const char *host, int port, eddy_time_t deadline) {
  eddy_task *t;
  int r = eddy__checkpoint(&t);
  if (r) return r;
  if (!u || (!buf && n)) return -EINVAL;
  struct sockaddr_storage ss;
  socklen_t len;
  r = eddy__inet_addr(host, port, &ss, &len);
  if (r) return r;
  for (;;) {
    ssize_t s = sendto(u->watch.fd, buf, n, MSG_NOSIGNAL, (struct sockaddr *)&ss, len);
    if (s >= 0) return 0;
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return -errno;
    r = eddy_watch_wait(&u->watch, EDDY_WRITABLE, deadline);
    if (r) return r;
  }
}

/* The datagram lent by the iterator is done with: drop it. */
static void settle(eddy_udp *u) {
  if (u->lent) {
    u->watch.loop->backend->recv_consume(u->watch.loop, u->ms, 1);
    u->lent = 0;
  }
}

/* From the multishot queue: 1 with *d filled (consume it after), 0 when
 * the caller should make a receive of its own, or an error. */
static int next_queued(eddy_udp *u, eddy_task *t, size_t max,
                       eddy_datagram *d, eddy_time_t deadline) {
  const eddy__backend *b = t->loop->backend;
  if (u->no_ms || !b->recvmsg_peek) return 0;
  int intr;
  long k = b->recvmsg_peek(t, &u->ms, &u->watch, max, deadline, d, &intr);
  if (k > 0) return 1;
  if (intr) return intr;
  if (k == -ENOTSUP) {
    if (u->ms) b->recv_close(t->loop, u->ms);
    u->ms = NULL;
    u->no_ms = 1;
    return 0;
  }
  return k == -ENOBUFS ? 0 : (int)k; /* dry ring: one receive of ours */
}

/* One datagram by recvfrom, waiting for readiness: its length (> max when
 * it was longer than buf), or an error. */
static long recv_once(eddy_udp *u, void *buf, size_t n, void *from,
                      unsigned *fromlen, eddy_time_t deadline) {
  int r;
  for (;;) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    ssize_t s = recvfrom(u->watch.fd, buf, n, MSG_TRUNC, (struct sockaddr *)&ss, &len);
    if (s >= 0) {
      if (from && fromlen) {
        unsigned k = *fromlen < len ? *fromlen : len;
        memcpy(from, &ss, k);
        *fromlen = len;
      }
      return (long)s;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return -errno;
    r = eddy_watch_wait(&u->watch, EDDY_READABLE, deadline);
    if (r) return r;
  }
}

EDDY_API long eddy_udp_recv(eddy_udp *u, void *buf, size_t n, void *from,
                            unsigned *fromlen, eddy_time_t deadline) {
  eddy_task *t;
  if (u) settle(u);
  int r = eddy__checkpoint(&t);
  if (r) return r;
  if (!u || (!buf && n)) return -EINVAL;
  if (u->ms) { /* the iterator armed multishot: datagrams wait there */
    eddy_datagram d;
    r = next_queued(u, t, n, &d, deadline);
    if (r < 0) return r;
    if (r > 0) {
      memcpy(buf, d.data, d.len);
      if (from && fromlen) {
        unsigned k = *fromlen < d.fromlen ? *fromlen : d.fromlen;
        memcpy(from, &d.from, k);
        *fromlen = d.fromlen;
      }
      long len = d.truncated ? -EMSGSIZE : (long)d.len;
      t->loop->backend->recv_consume(t->loop, u->ms, 1);
      return len;
    }
  }
  long s = recv_once(u, buf, n, from, fromlen, deadline);
  return s >= 0 && (size_t)s > n ? -EMSGSIZE : s;
}

int eddy__udp_next(eddy_udp *u, char *buf, size_t max, eddy_datagram *d,
                   eddy_time_t deadline) {
  eddy_task *t;
  settle(u);
  int r = eddy__checkpoint(&t);
  if (r) return r;
  r = next_queued(u, t, max, d, deadline);
  if (r < 0) return r;
  if (r > 0) { /* lent until the next step */
    u->lent = 1;
    return 0;
  }
  d->fromlen = sizeof d->from;
  long s = recv_once(u, buf, max, &d->from, &d->fromlen, deadline);
  if (s < 0) return (int)s;
  d->data = buf;
  d->truncated = (size_t)s > max;
  d->len = d->truncated ? max : (size_t)s;
  return 0;
}

EDDY_API void eddy_udp_close(eddy_udp *u) {
  if (!u) return;
  settle(u);
  if (u->ms) u->watch.loop->backend->recv_close(u->watch.loop, u->ms);
  int fd = u->watch.fd;
  eddy_watch_fini(&u->watch);
  if (fd >= 0) close(fd);
  eddy__free(u);
}
