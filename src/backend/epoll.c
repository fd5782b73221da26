/* epoll.c: the readiness backend: waits for I/O and timers, and carries
 * cross-thread submissions through an eventfd.
 *
 * epoll_event.data.ptr is a tagged pointer: tag 0 is the loop's eventfd,
 * tag 1 an eddy_watch (persistent, edge-triggered), tag 2 a one-shot wait
 * record living on the waiting task's stack. */

#include "../core/internal.h"

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

int eddy__poller_init(eddy_loop *loop) {
  int ep = eddy__sys_epoll_create();
  if (ep < 0) return ep;
  loop->epfd = ep;
  int ev = eddy__sys_eventfd();
  if (ev < 0) return ev;
  loop->evfd = ev;
  struct epoll_event e = {.events = EPOLLIN, .data.ptr = NULL};
  return eddy__sys_epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e);
}

void eddy__poller_fini(eddy_loop *loop) {
  if (loop->evfd >= 0) eddy__sys_close(loop->evfd);
  if (loop->epfd >= 0) eddy__sys_close(loop->epfd);
  loop->evfd = loop->epfd = -1;
}

static unsigned mask_of(uint32_t ev) {
  unsigned m = 0;
  if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) m |= EDDY_READABLE;
  if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR)) m |= EDDY_WRITABLE;
  return m;
}

static void watch_event(eddy_watch *w, unsigned m) {
  w->ready |= m;
  for (int i = 0; i < 2; i++) {
    unsigned bit = i ? EDDY_WRITABLE : EDDY_READABLE;
    if ((m & bit) && w->waiter[i]) {
      eddy__wait *wt = w->waiter[i];
      w->waiter[i] = NULL;
      w->ready &= ~bit;
      w->loop->nfdwait--;
      eddy__wake(wt, 0);
    }
  }
}

int eddy__poller_poll(eddy_loop *loop, eddy_time_t timeout) {
  struct epoll_event evs[MAX_EVENTS];
  int ms;
  if (loop->virtual_clock) ms = 0; /* virtual time never sleeps */
  else if (timeout < 0) ms = -1;
  else ms = (int)((timeout + 999999) / 1000000); /* round up: never early */
  int n = eddy__sys_epoll_wait(loop->epfd, evs, MAX_EVENTS, ms);
  if (n < 0) n = 0; /* EINTR (or injected failure): just go round again */
  int submitted = 0;
  for (int i = 0; i < n; i++) {
    uintptr_t p = (uintptr_t)evs[i].data.ptr;
    unsigned m = mask_of(evs[i].events);
    switch (p & 3u) {
    case TAG_EVFD: {
      uint64_t v;
      eddy__sys_read(loop->evfd, &v, sizeof v);
      submitted = 1;
      break;
    }
    case TAG_WATCH:
      if (evs[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) m |= EDDY__WATCH_HUP;
      watch_event((eddy_watch *)(p & ~(uintptr_t)3), m);
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
  if (loop->virtual_clock && n == 0 && timeout != 0 && !submitted) {
    eddy_time_t next = eddy__timer_next(loop);
    if (next != EDDY_FOREVER && next > loop->vnow) loop->vnow = next;
  }
  eddy__timers_run(loop, eddy_now());
  if (submitted) eddy__submissions_run(loop);
  return n;
}

EDDY_API int eddy_wait_fd(int fd, unsigned events, eddy_time_t deadline) {
  eddy_task *t;
  int r = eddy__checkpoint(&t);
  if (r) return r;
  if (fd < 0 || !(events & (EDDY_READABLE | EDDY_WRITABLE))) return -EINVAL;
  eddy_loop *loop = t->loop;
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

EDDY_API int eddy_watch_init(eddy_watch *w, int fd) {
  eddy_loop *loop = eddy__loop();
  if (!loop) return EDDY_ENOTTASK;
  if (!w || fd < 0) return -EINVAL;
  w->fd = fd;
  w->ready = 0;
  w->waiter[0] = w->waiter[1] = NULL;
  w->loop = loop;
  struct epoll_event e = {
      .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
      .data.ptr = (void *)((uintptr_t)w | TAG_WATCH)};
  int r = eddy__sys_epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &e);
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
  if (w->ready & event) { /* an edge arrived since the caller's EAGAIN */
    w->ready &= ~event;
    return 0;
  }
  int i = event == EDDY_WRITABLE;
  if (w->waiter[i]) return -EBUSY;
  eddy__wait wt;
  eddy__wait_init(&wt, t);
  w->waiter[i] = &wt;
  w->loop->nfdwait++;
  r = eddy__park(&wt, deadline, i ? "write" : "read",
                 __builtin_return_address(0));
  if (w->waiter[i] == &wt) { /* timed out or cancelled: still registered */
    w->waiter[i] = NULL;
    w->loop->nfdwait--;
  }
  return r;
}

EDDY_API void eddy_watch_fini(eddy_watch *w) {
  if (!w || w->fd < 0 || !w->loop) return;
  for (int i = 0; i < 2; i++)
    if (w->waiter[i]) {
      eddy__wait *wt = w->waiter[i];
      w->waiter[i] = NULL;
      w->loop->nfdwait--;
      eddy__wake(wt, -EBADF);
    }
  eddy__sys_epoll_ctl(w->loop->epfd, EPOLL_CTL_DEL, w->fd, NULL);
  w->loop->nwatch--;
  w->fd = -1;
}
