/* epoll.c: the readiness backend: waits for I/O and timers, and carries
 * cross-thread submissions through an eventfd.
 *
 * epoll_event.data.ptr is a tagged pointer: tag 0 is the loop's eventfd,
 * tag 1 an eddy_watch (persistent, edge-triggered), tag 2 a one-shot wait
 * record living on the waiting task's stack. */

#include "backend.h"

#include <errno.h>
#include <stdint.h>

#define TAG_EVFD 0u
#define TAG_WATCH 1u
#define TAG_ONESHOT 2u
#define MAX_EVENTS 256

typedef struct oneshot {
  eddy__wait w;
  unsigned got;
} oneshot;

static int epoll_init(eddy_loop *loop) {
  int ep = eddy__sys_epoll_create();
  if (ep < 0) return ep;
  loop->epfd = ep;
  struct epoll_event e = {.events = EPOLLIN, .data.ptr = NULL};
  return eddy__sys_epoll_ctl(ep, EPOLL_CTL_ADD, loop->evfd, &e);
}

static void epoll_fini(eddy_loop *loop) {
  if (loop->epfd >= 0) eddy__sys_close(loop->epfd);
  loop->epfd = -1;
}

static unsigned mask_of(uint32_t ev) {
  unsigned m = 0;
  if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) m |= EDDY_READABLE;
  if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR)) m |= EDDY_WRITABLE;
  return m;
}

static void watch_event(eddy_watch *w, unsigned m, uint32_t ev) {
  w->ready |= m;
  if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) w->ready |= EDDY__WATCH_HUP;
  if (ev & EPOLLPRI) w->ready |= EDDY__WATCH_URG;
  for (int i = 0; i < 2; i++) {
    unsigned bit = i ? EDDY_WRITABLE : EDDY_READABLE;
    /* A waiter woken already (by a timeout, a cancellation or an earlier
     * edge) unregisters itself when it runs; the edge stays for the next
     * wait. One woken here stays registered until then too, so that a
     * close before it runs tells it the watch is gone (eddy__wake_gone). */
    if ((m & bit) && w->waiter[i] && eddy__wait_parked(w->waiter[i])) {
      w->ready &= ~bit;
      eddy__wake(w->waiter[i], 0);
    }
  }
}

static int epoll_poll(eddy_loop *loop, eddy_time_t timeout) {
  /* A poll that may not wait, while no task waits on an fd and no
   * submission is queued, would find nothing anyone waits for: readiness
   * of an fd nobody waits on stays with the kernel until a later poll. So
   * tasks that keep each other busy (yields, channels) make no system call
   * for their turns at I/O. */
  if (timeout == 0 && loop->nfdwait == 0 && !eddy__submissions_queued(loop)) {
    eddy__poll_after(loop, 0, 0, 0);
    return 0;
  }
  loop->kernel_polls++;
  struct epoll_event evs[MAX_EVENTS];
  int n = eddy__sys_epoll_wait(loop->epfd, evs, MAX_EVENTS,
                               eddy__timeout_ms(loop, timeout));
  if (n < 0) n = 0; /* EINTR (or injected failure): just go round again */
  int submitted = 0;
  for (int i = 0; i < n; i++) {
    uintptr_t p = (uintptr_t)evs[i].data.ptr;
    unsigned m = mask_of(evs[i].events);
    switch (p & 3u) {
    case TAG_EVFD:
      eddy__evfd_drain(loop);
      submitted = 1;
      break;
    case TAG_WATCH:
      watch_event((eddy_watch *)(p & ~(uintptr_t)3), m, evs[i].events);
      break;
    case TAG_ONESHOT: {
      oneshot *o = (oneshot *)(p & ~(uintptr_t)3);
      if (o->w.task->wait == &o->w) {
        o->got = m;
        eddy__wake(&o->w, 0);
      }
      break;
    }
    }
  }
  eddy__poll_after(loop, n, timeout, submitted);
  return n;
}

static int epoll_wait_fd(eddy_task *t, int fd, unsigned events,
                         eddy_time_t deadline) {
  eddy_loop *loop = t->loop;
  int r;
  oneshot o;
  eddy__wait_init(&o.w, t);
  o.got = 0;
  struct epoll_event e = {.events = EPOLLONESHOT, .data.ptr = NULL};
  if (events & EDDY_READABLE) e.events |= EPOLLIN | EPOLLRDHUP;
  if (events & EDDY_WRITABLE) e.events |= EPOLLOUT;
  e.data.ptr = (void *)((uintptr_t)&o | TAG_ONESHOT);
  r = eddy__sys_epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &e);
  if (r) return r;
  loop->nfdwait++;
  r = eddy__park(&o.w, deadline, "fd", __builtin_return_address(0));
  loop->nfdwait--;
  eddy__sys_epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
  if (r) return r;
  return (int)(o.got & events ? o.got & events : o.got);
}

#define WATCH_EVENTS (EPOLLIN | EPOLLRDHUP | EPOLLPRI | EPOLLET)

static int epoll_watch_init(eddy_watch *w) {
  struct epoll_event e = {.events = WATCH_EVENTS,
                          .data.ptr = (void *)((uintptr_t)w | TAG_WATCH)};
  return eddy__sys_epoll_ctl(w->loop->epfd, EPOLL_CTL_ADD, w->fd, &e);
}

/* The first wait for writability adds EPOLLOUT to the registration (see
 * EDDY__WATCH_OUT); the modification reports the current state as an edge,
 * so space that freed up since the caller's EAGAIN is not missed. */
static int want_writable(eddy_watch *w) {
  struct epoll_event e = {.events = WATCH_EVENTS | EPOLLOUT,
                          .data.ptr = (void *)((uintptr_t)w | TAG_WATCH)};
  int r = eddy__sys_epoll_ctl(w->loop->epfd, EPOLL_CTL_MOD, w->fd, &e);
  if (r == 0) w->ready |= EDDY__WATCH_OUT;
  return r;
}

static int epoll_watch_wait(eddy_task *t, eddy_watch *w, unsigned event,
                            eddy_time_t deadline) {
  int r;
  if (w->ready & event) { /* an edge arrived since the caller's EAGAIN */
    w->ready &= ~event;
    return 0;
  }
  int i = event == EDDY_WRITABLE;
  if (w->waiter[i]) return -EBUSY;
  if (i && !(w->ready & EDDY__WATCH_OUT) && (r = want_writable(w)) != 0) return r;
  eddy__wait wt;
  eddy__wait_init(&wt, t);
  w->waiter[i] = &wt;
  w->loop->nfdwait++;
  r = eddy__park(&wt, deadline, i ? "write" : "read",
                 __builtin_return_address(0));
  /* Only eddy_watch_fini (-EBADF) unregisters the waiter; an edge, a
   * timeout or a cancellation leaves that to it. After -EBADF the watch
   * must not be read at all: its owner (a stream, a listener) is freed
   * right after closing it. */
  if (r != -EBADF) {
    w->waiter[i] = NULL;
    w->loop->nfdwait--;
  }
  return r;
}

static void epoll_watch_fini(eddy_watch *w) {
  for (int i = 0; i < 2; i++)
    if (w->waiter[i]) {
      eddy__wait *wt = w->waiter[i];
      w->waiter[i] = NULL;
      w->loop->nfdwait--;
      eddy__wake_gone(wt);
    }
  eddy__sys_epoll_ctl(w->loop->epfd, EPOLL_CTL_DEL, w->fd, NULL);
}

const eddy__backend eddy__backend_epoll = {
    .name = "epoll",
    .init = epoll_init,
    .fini = epoll_fini,
    .poll = epoll_poll,
    .wait_fd = epoll_wait_fd,
    .watch_init = epoll_watch_init,
    .watch_wait = epoll_watch_wait,
    .watch_fini = epoll_watch_fini,
    .call = NULL,
};
