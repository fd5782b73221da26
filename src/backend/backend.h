/* backend.h: the seam between the loop and the kernel's I/O interface.
 *
 * A backend waits for I/O and timers (poll), tells a task when an fd is
 * ready (wait_fd, watches), and may also run whole operations itself
 * (call): io_uring receives, sends, reads files and accepts connections in
 * the kernel, where epoll only reports readiness and leaves the system
 * call to the caller. Everything above this seam is written against
 * readiness; callers that can use whole operations ask eddy__io_native()
 * first and fall back to the readiness path when it says no.
 *
 * The backend is chosen when the loop starts (eddy_loop_opts.backend, or
 * the EDDY_BACKEND environment variable) by select.c. */
#ifndef EDDY_BACKEND_H
#define EDDY_BACKEND_H

#include "../core/internal.h"

#include <sys/socket.h>
#include <sys/uio.h>

/* A whole operation for backends that run them (io_uring). */
enum {
  EDDY__IO_RECV,      /* recv(fd, buf, len) */
  EDDY__IO_SENDV,     /* sendmsg(fd, iov, iovcnt), MSG_NOSIGNAL */
  EDDY__IO_READ,      /* pread(fd, buf, len, off); off -1: current position */
  EDDY__IO_WRITE,     /* pwrite(fd, buf, len, off); off -1: current position */
  EDDY__IO_FSYNC,     /* fsync(fd); flags 1: fdatasync */
  EDDY__IO_OPEN,      /* openat(AT_FDCWD, path, flags, mode) */
  EDDY__IO_CLOSE,     /* close(fd) */
  EDDY__IO_ACCEPT,    /* accept4(fd, NULL, NULL, flags) */
  EDDY__IO_WRITEV,    /* writev(fd, iov, iovcnt) at the position: pipes */
};

typedef struct eddy__io_req {
  int op;
  int fd;
  int flags;
  int mode;
  void *buf;
  size_t len;
  long long off;
  const struct iovec *iov;
  int iovcnt;
  const char *path;
  /* The watch of the stream or listener the operation belongs to (or
   * NULL): eddy_watch_fini under the operation cancels it and its caller
   * gets -EBADF (in *interrupted too) without touching the owner again,
   * which is being freed. Receives and accepts take the watch's read slot
   * alone (a second one gets -EBUSY, as a second reader does on epoll);
   * sends and writes share the write slot. */
  eddy_watch *watch;
} eddy__io_req;

typedef struct eddy__backend {
  const char *name;
  int (*init)(eddy_loop *loop);
  void (*fini)(eddy_loop *loop);
  /* Wait for I/O and timers: timeout < 0 blocks until something happens.
   * Runs due timers and cross-thread submissions before returning. */
  int (*poll)(eddy_loop *loop, eddy_time_t timeout);
  /* Park t until fd is ready for `events`: the ready mask or an error. */
  int (*wait_fd)(eddy_task *t, int fd, unsigned events, eddy_time_t deadline);
  int (*watch_init)(eddy_watch *w);
  int (*watch_wait)(eddy_task *t, eddy_watch *w, unsigned event,
                    eddy_time_t deadline);
  void (*watch_fini)(eddy_watch *w);
  /* Run a whole operation (NULL: this backend doesn't). Returns the
   * operation's result (>= 0 or -errno). If the deadline passes or the
   * task is cancelled first, the operation is cancelled in the kernel and
   * awaited: *interrupted is set to -ETIMEDOUT/-ECANCELED, and the result
   * is what the operation did anyway (-ECANCELED if nothing). Either way
   * the kernel is done with req's buffers when this returns. */
  long (*call)(eddy_task *t, const eddy__io_req *req, eddy_time_t deadline,
               int *interrupted);
  /* Accept from listening socket fd through a request that stays in the
   * kernel across calls (NULL: this backend doesn't; use readiness).
   * *state starts NULL and belongs to the listener; connections accepted
   * while nobody waits are queued there, never lost. Returns an fd
   * (non-blocking, close-on-exec) or -errno; a timeout or cancellation
   * returns at once. */
  int (*accept)(eddy_task *t, void **state, int fd, eddy_time_t deadline);
  /* Retire the state: queued connections are closed; waits for the
   * kernel to let go of the request when called from a task. */
  void (*accept_close)(eddy_loop *loop, void *state);
  /* Spin up to ns before sleeping in poll (eddy_loop_opts.busy_poll);
   * NULL: this backend cannot watch for work without a system call. */
  void (*busy_poll)(eddy_loop *loop, eddy_time_t ns);
  /* Multishot receive (NULL: this backend has none; see uring_recv.c).
   * recv_setup registers the loop's ring of provided buffers (n buffers of
   * size bytes; the options are checked already); a failure only leaves
   * the loop without multishot receive. */
  void (*recv_setup)(eddy_loop *loop, unsigned n, unsigned size);
  /* The received bytes at the head of the stream's queue: *data and the
   * count (> 0), 0 at end of stream, or -errno. *state starts NULL and
   * belongs to the stream; w is the stream's watch (its fd, and its read
   * slot, where a receive of the stream's own may be in flight); limit is
   * the stream's max_buffer: it queues no more than that (streams whose
   * limit is under one buffer get -ENOTSUP). wait 0: -EAGAIN rather than park when nothing is
   * queued. Interruptions (-ETIMEDOUT, -ECANCELED, -EBADF when the stream
   * is closed under the call, after which the stream must not be touched)
   * are also put in *interrupted; other errors are the stream's. -ENOBUFS:
   * the ring ran dry and the request ended; make one receive of your own,
   * then ask again. -ENOTSUP: not for this stream or loop, use one-shot
   * receives. Bytes stay queued until recv_consume. */
  long (*recv_peek)(eddy_task *t, void **state, eddy_watch *w, size_t limit,
                    eddy_time_t deadline, int wait, const char **data,
                    int *interrupted);
  /* The same for a datagram socket: the datagram at the head of the
   * queue in *d (its payload cut to max bytes, d->truncated if it was
   * longer): 1, or -errno as for recv_peek (-ENOTSUP also when max does
   * not fit in a ring buffer). recv_consume (any n) drops it. */
  long (*recvmsg_peek)(eddy_task *t, void **state, eddy_watch *w, size_t max,
                       eddy_time_t deadline, eddy_datagram *d,
                       int *interrupted);
  /* Consume n bytes (at most what recv_peek gave) of the head of the
   * queue; an emptied buffer goes back to the ring. */
  void (*recv_consume)(eddy_loop *loop, void *state, size_t n);
  /* Bytes queued and not consumed. */
  size_t (*recv_queued)(const void *state);
  /* Retire the state: queued buffers go back to the ring, a waiting reader
   * gets -EBADF, the request is cancelled (its record is freed when its
   * last completion comes, or when the loop ends). */
  void (*recv_close)(eddy_loop *loop, void *state);
} eddy__backend;

extern const eddy__backend eddy__backend_epoll;
#ifdef EDDY_HAVE_URING
extern const eddy__backend eddy__backend_uring;
#endif

/* Pass eddy_loop_opts.busy_poll to the backend, if it can spin (select.c). */
void eddy__poller_busy_poll(eddy_loop *loop, eddy_time_t ns);
/* Check eddy_loop_opts' receive options and set up multishot receive if
 * the backend has it and the options (or EDDY_RECV_MULTISHOT) want it:
 * 0 or -EINVAL (select.c). */
int eddy__poller_recv_setup(eddy_loop *loop, const eddy_loop_opts *o);

/* Helpers every backend's poll uses (select.c). */
void eddy__evfd_drain(eddy_loop *loop);
/* After waiting: advance a virtual clock when nothing happened, run due
 * timers, then cross-thread submissions if the eventfd fired. */
void eddy__poll_after(eddy_loop *loop, int nevents, eddy_time_t timeout,
                      int submitted);
/* Milliseconds for a poll timeout in ns, rounded up (never early). */
static inline int eddy__timeout_ms(const eddy_loop *loop, eddy_time_t t) {
  if (loop->virtual_clock) return 0; /* virtual time never sleeps */
  if (t < 0) return -1;
  return (int)((t + 999999) / 1000000);
}

/* The loop's backend runs whole operations (callers use ->call). */
static inline int eddy__io_native(const eddy_loop *loop) {
  return loop->backend->call != NULL;
}

/* Run req on the current task's loop's backend; the checkpoint is the
 * caller's. Result and *interrupted as for ->call. */
static inline long eddy__io_call(eddy_task *t, const eddy__io_req *req,
                                 eddy_time_t deadline, int *interrupted) {
  *interrupted = 0;
  return t->loop->backend->call(t, req, deadline, interrupted);
}

#endif
