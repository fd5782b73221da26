/* sys.c: the system-call and allocation seam (see sys.h), with the fault
 * injector tests use to reach every error path. */

#include "sys.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102 /* Linux 6.13 */
#endif

int eddy__faults_armed;

static struct {
  int skip, err, times, active;
} faults[EDDY_SYS__COUNT];

static atomic_long alloc_live;

void eddy__fault_set(int kind, int skip, int err, int times) {
  faults[kind].skip = skip;
  faults[kind].err = err;
  faults[kind].times = times;
  faults[kind].active = 1;
  eddy__faults_armed = 1;
}

void eddy__fault_clear(void) {
  memset(faults, 0, sizeof faults);
  eddy__faults_armed = 0;
}

long eddy__alloc_live(void) { return atomic_load(&alloc_live); }

int eddy__fault_hit(int kind) {
  if (!faults[kind].active) return 0;
  if (faults[kind].skip > 0) {
    faults[kind].skip--;
    return 0;
  }
  int err = faults[kind].err;
  if (faults[kind].times > 0 && --faults[kind].times == 0)
    faults[kind].active = 0;
  return err;
}

/* Allocations carry no header; the live counter is what leak tests read. */
void *eddy__alloc(size_t n) {
  if (eddy__fault(EDDY_SYS_ALLOC)) return NULL;
  void *p = malloc(n);
  if (p) atomic_fetch_add(&alloc_live, 1);
  return p;
}

void *eddy__calloc(size_t n, size_t size) {
  if (eddy__fault(EDDY_SYS_ALLOC)) return NULL;
  void *p = calloc(n, size);
  if (p) atomic_fetch_add(&alloc_live, 1);
  return p;
}

void *eddy__realloc(void *p, size_t n) {
  if (eddy__fault(EDDY_SYS_ALLOC)) return NULL;
  void *q = realloc(p, n);
  if (q && !p) atomic_fetch_add(&alloc_live, 1);
  return q;
}

/* Cache-line aligned: a buffer the kernel copies file or socket data into
 * is filled at full speed only from an aligned start (a 64 KiB read into a
 * buffer 16 bytes off a line ran 22% slower here). Freed with eddy__free. */
void *eddy__alloc_aligned(size_t n) {
  if (eddy__fault(EDDY_SYS_ALLOC)) return NULL;
  void *p = NULL;
  if (posix_memalign(&p, 64, n ? n : 1)) return NULL;
  atomic_fetch_add(&alloc_live, 1);
  return p;
}

void eddy__free(void *p) {
  if (!p) return;
  atomic_fetch_sub(&alloc_live, 1);
  free(p);
}

char *eddy__strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = eddy__alloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

#define FAULT_OR(kind)              \
  do {                              \
    int e_ = eddy__fault(kind);     \
    if (e_) return -e_;             \
  } while (0)

void *eddy__sys_mmap(size_t len, int *err) {
  int e = eddy__fault(EDDY_SYS_MMAP);
  if (e) {
    *err = -e;
    return NULL;
  }
  void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    *err = -errno;
    return NULL;
  }
  return p;
}

int eddy__sys_munmap(void *p, size_t len) {
  return munmap(p, len) == 0 ? 0 : -errno;
}

int eddy__sys_madvise_guard(void *p, size_t len) {
  FAULT_OR(EDDY_SYS_MADVISE_GUARD);
  return madvise(p, len, MADV_GUARD_INSTALL) == 0 ? 0 : -errno;
}

int eddy__sys_mprotect_none(void *p, size_t len) {
  FAULT_OR(EDDY_SYS_MPROTECT);
  return mprotect(p, len, PROT_NONE) == 0 ? 0 : -errno;
}

int eddy__sys_epoll_create(void) {
  FAULT_OR(EDDY_SYS_EPOLL_CREATE);
  int fd = epoll_create1(EPOLL_CLOEXEC);
  return fd >= 0 ? fd : -errno;
}

int eddy__sys_epoll_ctl(int ep, int op, int fd, struct epoll_event *ev) {
  FAULT_OR(EDDY_SYS_EPOLL_CTL);
  return epoll_ctl(ep, op, fd, ev) == 0 ? 0 : -errno;
}

int eddy__sys_epoll_wait(int ep, struct epoll_event *evs, int n, int ms) {
  FAULT_OR(EDDY_SYS_EPOLL_WAIT);
  int r = epoll_wait(ep, evs, n, ms);
  return r >= 0 ? r : -errno;
}

int eddy__sys_eventfd(void) {
  FAULT_OR(EDDY_SYS_EVENTFD);
  int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  return fd >= 0 ? fd : -errno;
}

ssize_t eddy__sys_read(int fd, void *buf, size_t n) {
  FAULT_OR(EDDY_SYS_READ);
  ssize_t r = read(fd, buf, n);
  return r >= 0 ? r : -errno;
}

ssize_t eddy__sys_write(int fd, const void *buf, size_t n) {
  FAULT_OR(EDDY_SYS_WRITE);
  ssize_t r = write(fd, buf, n);
  return r >= 0 ? r : -errno;
}

int eddy__sys_close(int fd) {
  FAULT_OR(EDDY_SYS_CLOSE);
  return close(fd) == 0 ? 0 : -errno;
}

int eddy__sys_socket(int domain, int type, int proto) {
  FAULT_OR(EDDY_SYS_SOCKET);
  int fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
  return fd >= 0 ? fd : -errno;
}

int eddy__sys_accept(int fd, int flags) {
  FAULT_OR(EDDY_SYS_ACCEPT);
  int c = accept4(fd, NULL, NULL, flags);
  return c >= 0 ? c : -errno;
}

int eddy__sys_connect(int fd, const struct sockaddr *a, unsigned len) {
  FAULT_OR(EDDY_SYS_CONNECT);
  return connect(fd, a, len) == 0 ? 0 : -errno;
}

/* read(), not recv(): streams also wrap pipes */
ssize_t eddy__sys_recv(int fd, void *buf, size_t n) {
  FAULT_OR(EDDY_SYS_RECV);
  ssize_t r = read(fd, buf, n);
  return r >= 0 ? r : -errno;
}

/* recv() for what is known to be a socket: the kernel's socket path skips
 * the file layer that read() goes through (tens of ns per call). -ENOTSOCK
 * on anything else. */
ssize_t eddy__sys_sock_recv(int fd, void *buf, size_t n) {
  FAULT_OR(EDDY_SYS_RECV);
  ssize_t r = recv(fd, buf, n, 0);
  return r >= 0 ? r : -errno;
}

ssize_t eddy__sys_send(int fd, const void *buf, size_t n) {
  FAULT_OR(EDDY_SYS_SEND);
  ssize_t r = send(fd, buf, n, MSG_NOSIGNAL);
  if (r < 0 && errno == ENOTSOCK) r = write(fd, buf, n);
  return r >= 0 ? r : -errno;
}

ssize_t eddy__sys_sendv(int fd, const struct iovec *iov, int n) {
  FAULT_OR(EDDY_SYS_SEND);
  struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n};
  ssize_t r = sendmsg(fd, &m, MSG_NOSIGNAL);
  if (r < 0 && errno == ENOTSOCK) r = writev(fd, iov, n);
  return r >= 0 ? r : -errno;
}
