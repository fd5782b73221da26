/* select.c: which backend a loop runs on, and the public fd-readiness API
 * that forwards to it.
 *
 * EDDY_BACKEND_AUTO takes io_uring when the kernel lets us set up a ring
 * with the flags that make it pay (see uring.c), and epoll otherwise; an
 * explicit choice that cannot be met makes the loop fail to start with
 * -ENOSYS rather than run silently on the other one. The environment
 * variable EDDY_BACKEND (epoll, io_uring, auto) decides for every loop that
 * leaves the choice to eddy (AUTO), so a whole test suite or benchmark can
 * be run on either backend; a loop that names its backend gets it. */
#include "backend.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

static int backend_from_env(int fallback) {
  const char *e = getenv("EDDY_BACKEND");
  if (!e || !*e) return fallback;
  if (!strcmp(e, "epoll")) return EDDY_BACKEND_EPOLL;
  if (!strcmp(e, "io_uring") || !strcmp(e, "uring")) return EDDY_BACKEND_IO_URING;
  if (!strcmp(e, "auto")) return EDDY_BACKEND_AUTO;
  return -1;
}

int eddy__poller_init(eddy_loop *loop, int which) {
  if (which == EDDY_BACKEND_AUTO) which = backend_from_env(which);
  /* valgrind runs one thread at a time and keeps its lock across
   * io_uring_enter (it does not know the call blocks), so a wake-up from
   * another thread (the pool, eddy_loop_submit) would never come: left to
   * eddy, a loop under valgrind runs on epoll. */
  if (which == EDDY_BACKEND_AUTO && RUNNING_ON_VALGRIND) which = EDDY_BACKEND_EPOLL;
  if (which < EDDY_BACKEND_AUTO || which > EDDY_BACKEND_IO_URING) return -EINVAL;
  int ev = eddy__sys_eventfd();
  if (ev < 0) return ev;
  loop->evfd = ev;
  int r = -ENOSYS;
#ifdef EDDY_HAVE_URING
  if (which != EDDY_BACKEND_EPOLL) {
    loop->backend = &eddy__backend_uring;
    r = eddy__backend_uring.init(loop);
    if (r == 0) return 0;
    eddy__backend_uring.fini(loop);
    loop->backend = NULL;
  }
#endif
  if (which == EDDY_BACKEND_IO_URING) return r;
  loop->backend = &eddy__backend_epoll;
  return eddy__backend_epoll.init(loop);
}

void eddy__poller_busy_poll(eddy_loop *loop, eddy_time_t ns) {
  if (ns > 0 && loop->backend && loop->backend->busy_poll)
    loop->backend->busy_poll(loop, ns);
}

int eddy__poller_recv_setup(eddy_loop *loop, const eddy_loop_opts *o) {
  unsigned n = o && o->recv_buffers ? o->recv_buffers : EDDY_RECV_BUFFERS_DEFAULT;
  unsigned size = o && o->recv_buffer_size ? o->recv_buffer_size
                                           : EDDY_RECV_BUFFER_SIZE_DEFAULT;
  /* checked on every backend, so options that work on one work on all */
  if (n > 32768 || (n & (n - 1)) || size > EDDY_RECV_BUFFER_MAX) return -EINVAL;
  int mode = o ? o->recv_multishot : 0;
  if (mode < -1 || mode > 1) return -EINVAL;
  if (mode == 0) { /* off unless the environment asks (docs/guide-io.md) */
    const char *e = getenv("EDDY_RECV_MULTISHOT");
    mode = e && !strcmp(e, "1") ? 1 : -1;
  }
  if (mode > 0 && loop->backend->recv_setup)
    loop->backend->recv_setup(loop, n, size);
  return 0;
}

void eddy__poller_fini(eddy_loop *loop) {
  if (loop->backend) loop->backend->fini(loop);
  if (loop->evfd >= 0) eddy__sys_close(loop->evfd);
  loop->evfd = -1;
}

int eddy__poller_poll(eddy_loop *loop, eddy_time_t timeout) {
  return loop->backend->poll(loop, timeout);
}

void eddy__evfd_drain(eddy_loop *loop) {
  uint64_t v;
  eddy__sys_read(loop->evfd, &v, sizeof v);
}

void eddy__poll_after(eddy_loop *loop, int n, eddy_time_t timeout,
                      int submitted) {
  if (loop->virtual_clock && n == 0 && timeout != 0 && !submitted) {
    eddy_time_t next = eddy__timer_next(loop);
    if (next != EDDY_FOREVER && next > loop->vnow) loop->vnow = next;
  }
  eddy__timers_run(loop, eddy_now());
  if (submitted) eddy__submissions_run(loop);
}

EDDY_API const char *eddy_backend_name(void) {
  eddy_loop *loop = eddy__loop();
  return loop && loop->backend ? loop->backend->name : NULL;
}

EDDY_API int eddy_wait_fd(int fd, unsigned events, eddy_time_t deadline) {
  eddy_task *t;
  int r = eddy__checkpoint(&t);
  if (r) return r;
  if (fd < 0 || !(events & (EDDY_READABLE | EDDY_WRITABLE))) return -EINVAL;
  return t->loop->backend->wait_fd(t, fd, events, deadline);
}

EDDY_API int eddy_watch_init(eddy_watch *w, int fd) {
  eddy_loop *loop = eddy__loop();
  if (!loop) return EDDY_ENOTTASK;
  if (!w || fd < 0) return -EINVAL;
  w->fd = fd;
  w->ready = 0;
  w->waiter[0] = w->waiter[1] = NULL;
  w->loop = loop;
  int r = loop->backend->watch_init(w);
  if (r) return r;
  loop->nwatch++;
  return 0;
}

EDDY_API int eddy_watch_wait(eddy_watch *w, unsigned event,
                             eddy_time_t deadline) {
  eddy_task *t;
  int r = eddy__checkpoint(&t);
  if (r) return r;
  if (!w || w->fd < 0 || (event != EDDY_READABLE && event != EDDY_WRITABLE))
    return -EINVAL;
  return w->loop->backend->watch_wait(t, w, event, deadline);
}

EDDY_API void eddy_watch_fini(eddy_watch *w) {
  if (!w || w->fd < 0 || !w->loop) return;
  w->loop->backend->watch_fini(w);
  w->loop->nwatch--;
  w->fd = -1;
}
