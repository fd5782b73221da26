/* echo_epoll.c: the hand-written C floor of the TCP echo entries on epoll
 * (runtime c-epoll): one thread, edge-triggered, the fewest system calls we
 * know how to make.
 *
 *  - the listener drains its queue with accept4(SOCK_NONBLOCK) until EAGAIN;
 *  - a connection is registered once, EPOLLIN | EPOLLET; a read shorter than
 *    the buffer means the socket is drained (the next arrival raises a new
 *    edge), so the usual extra read that only returns EAGAIN is skipped;
 *  - what was read is sent back at once; only if the socket is full is the
 *    rest kept and EPOLLOUT asked for (reading stops until it drains).
 *
 *   echo_epoll PORT           serves 127.0.0.1:PORT until killed */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF (64 * 1024)

typedef struct conn {
  int fd;
  size_t pend_off, pend_len; /* unsent bytes in pend (socket was full) */
  char *pend;
} conn;

static int ep;
static char buf[BUF];

static void drop(conn *c) {
  close(c->fd); /* also removes it from the epoll set */
  free(c->pend);
  free(c);
}

/* Send what is pending; 1 if all went, 0 if the socket is full, -1 error. */
static int flush(conn *c) {
  while (c->pend_len) {
    ssize_t n = send(c->fd, c->pend + c->pend_off, c->pend_len, MSG_NOSIGNAL);
    if (n > 0) {
      c->pend_off += (size_t)n;
      c->pend_len -= (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && errno == EAGAIN ? 0 : -1;
  }
  return 1;
}

/* Echo n bytes of buf; 1 sent, 0 socket full (rest kept), -1 error. */
static int echo(conn *c, size_t n) {
  size_t off = 0;
  while (off < n) {
    ssize_t k = send(c->fd, buf + off, n - off, MSG_NOSIGNAL);
    if (k > 0) {
      off += (size_t)k;
      continue;
    }
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && errno == EAGAIN) {
      c->pend = malloc(n - off);
      if (!c->pend) return -1;
      memcpy(c->pend, buf + off, n - off);
      c->pend_off = 0;
      c->pend_len = n - off;
      struct epoll_event e = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c};
      epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
      return 0;
    }
    return -1;
  }
  return 1;
}

static void on_readable(conn *c) {
  for (;;) {
    ssize_t n = recv(c->fd, buf, BUF, 0);
    if (n > 0) {
      int r = echo(c, (size_t)n);
      if (r < 0) break;
      if (r == 0 || (size_t)n < BUF) return; /* full, or drained */
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    break; /* end of stream or error */
  }
  drop(c);
}

static void on_writable(conn *c) {
  int r = flush(c);
  if (r < 0) {
    drop(c);
    return;
  }
  if (r == 0) return;
  free(c->pend);
  c->pend = NULL;
  struct epoll_event e = {.events = EPOLLIN | EPOLLET, .data.ptr = c};
  epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
  on_readable(c); /* reading stopped while full: data may wait, no new edge */
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: echo_epoll PORT\n");
    return 2;
  }
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(lfd, (struct sockaddr *)&a, sizeof a) || listen(lfd, 1024)) {
    perror("echo_epoll: bind/listen");
    return 1;
  }
  ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event le = {.events = EPOLLIN | EPOLLET, .data.ptr = NULL};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &le);
  struct epoll_event evs[512];
  for (;;) {
    int n = epoll_wait(ep, evs, 512, -1);
    for (int i = 0; i < n; i++) {
      conn *c = evs[i].data.ptr;
      if (!c) { /* the listener */
        int fd;
        while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          conn *nc = calloc(1, sizeof *nc);
          if (!nc) {
            close(fd);
            continue;
          }
          nc->fd = fd;
          struct epoll_event e = {.events = EPOLLIN | EPOLLET, .data.ptr = nc};
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
          on_readable(nc); /* bytes may have come before registration */
        }
        continue;
      }
      if (c->pend) {
        if (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) on_writable(c);
      } else if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) {
        on_readable(c);
      }
    }
  }
}
