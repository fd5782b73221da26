/* sys.h: the seam between eddy and the system. Every system call and every
 * allocation eddy makes goes through here, so tests can make the n-th call
 * of a kind fail with a chosen errno (fault injection) and count what is
 * still allocated (leak checks). When no fault is armed the cost is one
 * predictable branch. */
#ifndef EDDY_SYS_H
#define EDDY_SYS_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/uio.h>

enum eddy__sys_kind {
  EDDY_SYS_ALLOC,
  EDDY_SYS_MMAP,
  EDDY_SYS_MADVISE_GUARD,
  EDDY_SYS_MPROTECT,
  EDDY_SYS_EPOLL_CREATE,
  EDDY_SYS_EPOLL_CTL,
  EDDY_SYS_EPOLL_WAIT,
  EDDY_SYS_EVENTFD,
  EDDY_SYS_READ,
  EDDY_SYS_WRITE,
  EDDY_SYS_SOCKET,
  EDDY_SYS_ACCEPT,
  EDDY_SYS_CONNECT,
  EDDY_SYS_SEND,
  EDDY_SYS_RECV,
  EDDY_SYS_OPEN,
  EDDY_SYS_CLOSE,
  EDDY_SYS_PTHREAD,
  EDDY_SYS_URING_SETUP, /* io_uring ring setup (the backend falls back) */
  EDDY_SYS_URING_BUFRING, /* registering the provided-buffer ring */
  EDDY_SYS__COUNT
};

/* Test control (internal, reachable from tests that link the static
 * library): the call after `skip` more successful ones fails with -err;
 * `times` failures in a row (0 = forever until cleared). */
void eddy__fault_set(int kind, int skip, int err, int times);
void eddy__fault_clear(void);
long eddy__alloc_live(void); /* allocations not yet freed */

extern int eddy__faults_armed;
int eddy__fault_hit(int kind); /* returns errno to fail with, or 0 */

static inline int eddy__fault(int kind) {
  if (__builtin_expect(eddy__faults_armed, 0)) return eddy__fault_hit(kind);
  return 0;
}

void *eddy__alloc(size_t n);
void *eddy__calloc(size_t n, size_t size);
void *eddy__realloc(void *p, size_t n);
void *eddy__alloc_aligned(size_t n); /* 64-byte aligned (I/O buffers) */
void eddy__free(void *p);
char *eddy__strdup(const char *s);

/* System calls: same contract as libc but return -errno on failure. */
void *eddy__sys_mmap(size_t len, int *err);
int eddy__sys_munmap(void *p, size_t len);
int eddy__sys_madvise_guard(void *p, size_t len);
int eddy__sys_mprotect_none(void *p, size_t len);
int eddy__sys_epoll_create(void);
int eddy__sys_epoll_ctl(int ep, int op, int fd, struct epoll_event *ev);
int eddy__sys_epoll_wait(int ep, struct epoll_event *evs, int n, int ms);
int eddy__sys_eventfd(void);
ssize_t eddy__sys_read(int fd, void *buf, size_t n);
ssize_t eddy__sys_write(int fd, const void *buf, size_t n);
int eddy__sys_close(int fd);
struct sockaddr;
int eddy__sys_socket(int domain, int type, int proto);
int eddy__sys_accept(int fd, int flags);
int eddy__sys_connect(int fd, const struct sockaddr *a, unsigned len);
ssize_t eddy__sys_recv(int fd, void *buf, size_t n);
ssize_t eddy__sys_sock_recv(int fd, void *buf, size_t n);
ssize_t eddy__sys_send(int fd, const void *buf, size_t n);
ssize_t eddy__sys_sendv(int fd, const struct iovec *iov, int n);
#endif
