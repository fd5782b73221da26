/* tcp.c: TCP listeners and connections. Connect resolves the name (on the
 * loop with c-ares, or on the thread pool) and tries every address in
 * turn until one answers; accept backs off on EMFILE/ENFILE instead of
 * spinning on a listener that stays readable. */
#include "io.h"
#include "../backend/backend.h"
#include "eddy/dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void set_opts(int fd, const eddy_stream_opts *o) {
  int one = 1;
  if (!o || o->nodelay >= 0)
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (o && o->keepalive > 0)
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  if (o && o->sndbuf > 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &o->sndbuf, sizeof o->sndbuf);
  if (o && o->rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &o->rcvbuf, sizeof o->rcvbuf);
}

int eddy__inet_addr(const char *host, int port, struct sockaddr_storage *ss,
                    socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  if (port < 0 || port > 65535) return -EINVAL;
  struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
  if (!host || !*host) host = "0.0.0.0";
  if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    *len = sizeof *a4;
    return 0;
  }
  if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    *len = sizeof *a6;
    return 0;
  }
  return -EINVAL;
}

int eddy__listen_fd(int fd, const struct sockaddr *a, socklen_t len,
                    int backlog, eddy_listener **out) {
  int r;
  if (bind(fd, a, len) != 0 || listen(fd, backlog > 0 ? backlog : 511) != 0) {
    r = -errno;
    close(fd);
    return r;
  }
  eddy_listener *l = eddy__calloc(1, sizeof *l);
  if (!l) {
    close(fd);
    return -ENOMEM;
  }
  if ((r = eddy_watch_init(&l->watch, fd)) != 0) {
    close(fd);
    eddy__free(l);
    return r;
  }
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  l->port = 0;
  if (a->sa_family != AF_UNIX && getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
    l->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                            : ((struct sockaddr_in6 *)&ss)->sin6_port);
  *out = l;
  return 0;
}

EDDY_API int eddy_tcp_listen(const char *host, int port, int backlog,
                             int reuseport, eddy_listener **out) {
  if (!out || port < 0 || port > 65535) return -EINVAL;
  *out = NULL;
  if (!eddy__loop()) return EDDY_ENOTTASK;
  struct sockaddr_storage ss;
  socklen_t len;
  int r = eddy__inet_addr(host, port, &ss, &len);
  if (r) return r;
  int fd = eddy__sys_socket(ss.ss_family, SOCK_STREAM, 0);
  if (fd < 0) return fd;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (reuseport) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  return eddy__listen_fd(fd, (struct sockaddr *)&ss, len, backlog, out);
}

EDDY_API int eddy_listener_port(const eddy_listener *l) { return l ? l->port : -1; }

EDDY_API int eddy_listener_accept(eddy_listener *l, eddy_stream **out,
                                  const eddy_stream_opts *opts,
                                  eddy_time_t deadline) {
  eddy_task *t;
  int r = eddy__checkpoint(&t);
  if (r) return r;
  if (!l || !out) return -EINVAL;
  *out = NULL;
  const eddy__backend *be = t->loop->backend;
  for (;;) {
    int fd;
    if (be->accept) { /* one request in the kernel accepts them all */
      fd = be->accept(t, &l->accept_state, l->watch.fd, deadline);
      if (fd == -ETIMEDOUT || fd == -ECANCELED) return fd;
    } else {
      fd = eddy__sys_accept(l->watch.fd, SOCK_NONBLOCK | SOCK_CLOEXEC);
    }
    if (fd >= 0) {
      set_opts(fd, opts);
      r = eddy_stream_from_fd(fd, opts, out);
      if (r) close(fd);
      else eddy__stream_byte_stream(*out); /* TCP and Unix listeners: streams */
      return r;
    }
    if (fd == -EINTR || fd == -ECONNABORTED) continue;
    if (fd == -EMFILE || fd == -ENFILE || fd == -ENOBUFS || fd == -ENOMEM) {
      /* Out of descriptors: the listener stays readable, so waiting for
       * readiness would spin. Back off and retry until the deadline. */
      eddy_time_t until = eddy_deadline_in(EDDY_MSEC(10));
      if (deadline <= eddy_now()) return fd;
      r = eddy_sleep_until(until < deadline ? until : deadline);
      if (r) return r;
      continue;
    }
    if (fd != -EAGAIN) return fd;
    r = eddy_watch_wait(&l->watch, EDDY_READABLE, deadline);
    if (r) return r;
  }
}

EDDY_API void eddy_listener_close(eddy_listener *l) {
  if (!l) return;
  int fd = l->watch.fd;
  if (l->accept_state) l->watch.loop->backend->accept_close(l->watch.loop, l->accept_state);
  eddy_watch_fini(&l->watch);
  if (fd >= 0) eddy__sys_close(fd);
  eddy__free(l);
}

/* ---- connect */

static int connect_one(const struct sockaddr *a, socklen_t len,
                       const eddy_stream_opts *opts, eddy_time_t deadline,
                       eddy_stream **out) {
  int fd = eddy__sys_socket(a->sa_family, SOCK_STREAM, 0);
  if (fd < 0) return fd;
  int r = eddy__sys_connect(fd, a, len);
  if (r == -EINPROGRESS) {
    r = eddy_wait_fd(fd, EDDY_WRITABLE, deadline);
    if (r > 0) {
      int err = 0;
      socklen_t el = sizeof err;
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
      r = -err;
    }
  }
  if (r == 0) {
    set_opts(fd, opts);
    r = eddy_stream_from_fd(fd, opts, out);
    if (r == 0) eddy__stream_byte_stream(*out);
  }
  if (r) close(fd);
  return r;
}

EDDY_API int eddy_tcp_connect(const char *host, int port,
                              const eddy_stream_opts *opts,
                              eddy_time_t deadline, eddy_stream **out) {
  eddy_task *t;
  int r = eddy__checkpoint(&t);
  if (r) return r;
  if (!host || !out || port <= 0 || port > 65535) return -EINVAL;
  *out = NULL;
  struct sockaddr_storage ss;
  socklen_t len;
  if (eddy__inet_addr(host, port, &ss, &len) == 0)
    return connect_one((struct sockaddr *)&ss, len, opts, deadline, out);
  eddy_addr addrs[16];
  int n = eddy_dns_resolve(host, port, AF_UNSPEC, addrs, 16, deadline);
  if (n < 0) return n;
  r = -EHOSTUNREACH;
  for (int i = 0; i < n; i++) { /* every address in turn */
    r = connect_one((struct sockaddr *)&addrs[i].sa, addrs[i].len, opts, deadline, out);
    if (r == 0 || r == -ECANCELED || r == -ETIMEDOUT) break;
  }
  return r;
}
