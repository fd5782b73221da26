/* file.c: regular files through the thread pool. Each call packs its
 * arguments in a small struct on the caller's stack and runs the system
 * call on a pool thread; the result comes back as -errno. */
#include "../core/internal.h"
#include "eddy/file.h"
#include "eddy/thread.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

struct eddy_file {
  int fd;
};

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
  fop o = {.op = OP_OPEN, .path = path, .flags = flags, .mode = mode};
  long r = submit(&o);
  if (r < 0) {
    eddy__free(f);
    return (int)r;
  }
  f->fd = (int)r;
  *out = f;
  return 0;
}

EDDY_API long eddy_file_read(eddy_file *f, void *buf, size_t n) {
  if (!f || (!buf && n)) return -EINVAL;
  fop o = {.op = OP_READ, .fd = f->fd, .buf = buf, .n = n};
  return submit(&o);
}

EDDY_API long eddy_file_pread(eddy_file *f, void *buf, size_t n, off_t off) {
  if (!f || (!buf && n) || off < 0) return -EINVAL;
  fop o = {.op = OP_PREAD, .fd = f->fd, .buf = buf, .n = n, .off = off};
  return submit(&o);
}

static int write_all(eddy_file *f, const void *buf, size_t n, off_t off,
                     int positional) {
  if (!f || (!buf && n) || off < 0) return -EINVAL;
  const char *p = buf;
  while (n > 0) {
    fop o = {.op = positional ? OP_PWRITE : OP_WRITE, .fd = f->fd,
             .buf = (void *)p, .n = n, .off = off};
    long r = submit(&o);
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

EDDY_API int eddy_file_sync(eddy_file *f) {
  if (!f) return -EINVAL;
  fop o = {.op = OP_FSYNC, .fd = f->fd};
  return (int)submit(&o);
}

EDDY_API int eddy_file_datasync(eddy_file *f) {
  if (!f) return -EINVAL;
  fop o = {.op = OP_FDATASYNC, .fd = f->fd};
  return (int)submit(&o);
}

EDDY_API int eddy_file_fd(const eddy_file *f) { return f ? f->fd : -1; }

/* Close is cleanup: it must happen even in a cancelled task, so it runs in
 * a shield (a queued close would otherwise be dropped as "did not happen"). */
EDDY_API int eddy_file_close(eddy_file *f) {
  if (!f) return 0;
  int r;
  eddy_scope shield;
  if (eddy__self() && eddy_scope_enter(&shield, EDDY_FOREVER, EDDY_SCOPE_SHIELD) == 0) {
    fop o = {.op = OP_CLOSE, .fd = f->fd};
    r = (int)submit(&o);
    eddy_scope_exit(&shield);
  } else {
    r = close(f->fd) == 0 ? 0 : -errno;
  }
  eddy__free(f);
  return r;
}
