/* file.c: regular files, which never block the loop.
 *
 * A read first tries preadv2(RWF_NOWAIT), which returns at once from the
 * page cache and says EAGAIN instead of waiting for the disk. Only then
 * (and for writes, syncs, opens and closes, which may block on the disk or
 * a network filesystem) does a call leave the loop's thread: as a ring
 * operation on io_uring, or on the thread pool on epoll, packing its
 * arguments in a small struct on the caller's stack. Results come back as
 * -errno either way. */
#include "../backend/backend.h"
#include "io.h"
#include "eddy/file.h"
#include "eddy/thread.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

struct eddy_file {
  int fd;
  int no_nowait; /* RWF_NOWAIT refused by this file's filesystem */
};

/* On io_uring: run the operation on the ring. A cancelled or timed-out
 * call whose operation completed anyway returns what it did (the bytes
 * were read or written); one that never ran returns the interruption. */
static long ring_op(eddy_task *t, eddy__io_req *q) {
  int intr;
  long r = eddy__io_call(t, q, EDDY_FOREVER, &intr);
  if (intr && (r == -ECANCELED || r == -EINTR)) return intr;
  return r;
}

/* The native path, or 0 with *done = 0 when the loop has no ring. */
static long native(eddy__io_req *q, int *done) {
  eddy_task *t = eddy__self();
  *done = t && eddy__io_native(t->loop);
  if (!*done) return 0;
  int r = eddy__cancel_state(t);
  if (r) {
    t->cancels_seen++;
    return r;
  }
  return ring_op(t, q);
}

enum { OP_OPEN, OP_READ, OP_PREAD, OP_WRITE, OP_PWRITE, OP_FSYNC, OP_FDATASYNC,
       OP_CLOSE };

typedef struct fop {
  int op, fd, flags, mode;
  const char *path;
  void *buf;
  size_t n;
  off_t off;
  long ret;
} fop;

static int run_op(void *arg) {
  fop *o = arg;
  long r;
  switch (o->op) {
  case OP_OPEN: r = open(o->path, o->flags | O_CLOEXEC, o->mode); break;
  case OP_READ: r = read(o->fd, o->buf, o->n); break;
  case OP_PREAD: r = pread(o->fd, o->buf, o->n, o->off); break;
  case OP_WRITE: r = write(o->fd, o->buf, o->n); break;
  case OP_PWRITE: r = pwrite(o->fd, o->buf, o->n, o->off); break;
  case OP_FSYNC: r = fsync(o->fd); break;
  case OP_FDATASYNC: r = fdatasync(o->fd); break;
  case OP_CLOSE: r = close(o->fd); break;
  default: r = -1; errno = EINVAL;
  }
  o->ret = r < 0 ? -errno : r;
  return 0;
}

static long submit(fop *o) {
  int res;
  int r = eddy_to_thread(run_op, o, &res);
  return r ? r : o->ret;
}

EDDY_API int eddy_file_open(const char *path, int flags, int mode,
                            eddy_file **out) {
  if (!path || !out) return -EINVAL;
  *out = NULL;
  eddy_file *f = eddy__alloc(sizeof *f);
  if (!f) return -ENOMEM;
  f->no_nowait = 0;
  int done;
  eddy__io_req q = {.op = EDDY__IO_OPEN, .path = path,
                    .flags = flags | O_CLOEXEC, .mode = mode};
  long r = native(&q, &done);
  if (!done) {
    fop o = {.op = OP_OPEN, .path = path, .flags = flags, .mode = mode};
    r = submit(&o);
  }
  if (r < 0) {
    eddy__free(f);
    return (int)r;
  }
  f->fd = (int)r;
  *out = f;
  return 0;
}

/* A read at off (-1: the file position) that never waits for the disk:
 * the byte count, or -EAGAIN when the pool must do it. */
static long read_nowait(int fd, void *buf, size_t n, off_t off,
                        int *no_nowait) {
  int e = eddy__fault(EDDY_SYS_READ); /* tests: EAGAIN = not cached */
  if (e) return -e;
  if (*no_nowait || n == 0) return -EAGAIN;
  struct iovec v = {.iov_base = buf, .iov_len = n};
  /* The system call itself, not libc's preadv2: that one is a cancellation
   * point, which once the pool has started threads costs two atomic
   * operations per call, and eddy never uses thread cancellation. The
   * offset goes as the kernel's low and high halves (the high one is
   * ignored where long holds it all). */
  ssize_t r = syscall(SYS_preadv2, fd, &v, 1, (long)off,
                      (long)((unsigned long long)off >> 32), RWF_NOWAIT);
  if (r >= 0) return r;
  if (errno == EOPNOTSUPP || errno == EINVAL || errno == ENOSYS) {
    *no_nowait = 1;
    return -EAGAIN;
  }
  return errno == EAGAIN ? -EAGAIN : -errno;
}

long eddy__fd_read(int fd, void *buf, size_t n, off_t off, int *no_nowait) {
  eddy_task *t;
  int c = eddy__checkpoint(&t);
  if (c) return c;
  if (n > 0x7ffff000) n = 0x7ffff000; /* what one read(2) transfers */
  /* The page cache answers at the cost of the one system call, on either
   * backend, which no hand-off (to the ring or to a thread) can beat; only
   * a read that would wait for the disk goes on. */
  long r = read_nowait(fd, buf, n, off, no_nowait);
  if (r != -EAGAIN) return r;
  if (eddy__io_native(t->loop)) {
    eddy__io_req q = {.op = EDDY__IO_READ, .fd = fd, .buf = buf, .len = n,
                      .off = off};
    return ring_op(t, &q);
  }
  fop o = {.op = off < 0 ? OP_READ : OP_PREAD, .fd = fd, .buf = buf, .n = n,
           .off = off};
  return submit(&o);
}

long eddy__fd_write(int fd, const void *buf, size_t n, off_t off) {
  if (n > 0x7ffff000) n = 0x7ffff000;
  eddy__io_req q = {.op = EDDY__IO_WRITE, .fd = fd, .buf = (void *)buf,
                    .len = n, .off = off};
  int done;
  long r = native(&q, &done);
  if (done) return r;
  fop o = {.op = off < 0 ? OP_WRITE : OP_PWRITE, .fd = fd, .buf = (void *)buf,
           .n = n, .off = off};
  return submit(&o);
}

static long read_at(eddy_file *f, void *buf, size_t n, off_t off) {
  return eddy__fd_read(f->fd, buf, n, off, &f->no_nowait);
}

EDDY_API long eddy_file_read(eddy_file *f, void *buf, size_t n) {
  if (!f || (!buf && n)) return -EINVAL;
  return read_at(f, buf, n, -1);
}

EDDY_API long eddy_file_pread(eddy_file *f, void *buf, size_t n, off_t off) {
  if (!f || (!buf && n) || off < 0) return -EINVAL;
  return read_at(f, buf, n, off);
}

static int write_all(eddy_file *f, const void *buf, size_t n, off_t off,
                     int positional) {
  if (!f || (!buf && n) || off < 0) return -EINVAL;
  const char *p = buf;
  while (n > 0) {
    long r = eddy__fd_write(f->fd, p, n, positional ? off : -1);
    if (r == -EINTR) continue;
    if (r < 0) return (int)r;
    if (r == 0) return -EIO;
    p += r;
    n -= (size_t)r;
    off += r;
  }
  return 0;
}

EDDY_API int eddy_file_write(eddy_file *f, const void *buf, size_t n) {
  return write_all(f, buf, n, 0, 0);
}

EDDY_API int eddy_file_pwrite(eddy_file *f, const void *buf, size_t n,
                              off_t off) {
  return write_all(f, buf, n, off, 1);
}

static int sync_file(eddy_file *f, int data_only) {
  if (!f) return -EINVAL;
  int done;
  eddy__io_req q = {.op = EDDY__IO_FSYNC, .fd = f->fd, .flags = data_only};
  long r = native(&q, &done);
  if (done) return (int)r;
  fop o = {.op = data_only ? OP_FDATASYNC : OP_FSYNC, .fd = f->fd};
  return (int)submit(&o);
}

EDDY_API int eddy_file_sync(eddy_file *f) { return sync_file(f, 0); }
EDDY_API int eddy_file_datasync(eddy_file *f) { return sync_file(f, 1); }

EDDY_API int eddy_file_fd(const eddy_file *f) { return f ? f->fd : -1; }

/* Close is cleanup: it must happen even in a cancelled task, so it runs in
 * a shield (a queued close would otherwise be dropped as "did not happen"). */
EDDY_API int eddy_file_close(eddy_file *f) {
  if (!f) return 0;
  int r;
  eddy_scope shield;
  if (eddy__self() && eddy_scope_enter(&shield, EDDY_FOREVER, EDDY_SCOPE_SHIELD) == 0) {
    int done;
    eddy__io_req q = {.op = EDDY__IO_CLOSE, .fd = f->fd};
    r = (int)native(&q, &done);
    if (!done) {
      fop o = {.op = OP_CLOSE, .fd = f->fd};
      r = (int)submit(&o);
    }
    eddy_scope_exit(&shield);
  } else {
    r = close(f->fd) == 0 ? 0 : -errno;
  }
  eddy__free(f);
  return r;
}
