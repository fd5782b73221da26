/* uring.c: the io_uring backend (liburing).
 *
 * The ring is set up single-issuer with deferred task work, so completions
 * are posted only when the loop asks for them (one io_uring_enter per loop
 * turn submits everything queued and reaps everything done); kernels
 * without those flags get cooperative task running instead, and kernels
 * or sandboxes without io_uring make the loop fall back to epoll (see
 * select.c). SQPOLL stays off: on two cores a polling kernel thread takes
 * the other core away from the program.
 *
 * Every operation is a `uop` on the waiting task's stack; its address is
 * the SQE's user_data. A task never leaves while its operation is in the
 * kernel: on timeout or cancellation it queues an async cancel and parks,
 * uncancellably, until the operation's own completion arrives, which is
 * prompt (a cancelled receive or poll completes at once) and means the
 * kernel is done with the record and with the caller's buffers. So no
 * operation state is ever allocated, and nothing can complete into freed
 * memory.
 *
 * Readiness (eddy_wait_fd, watches) is a one-shot poll request per wait;
 * streams, files and listeners use whole operations (->call) instead, so a
 * busy connection costs no system call of its own: its receives and sends
 * ride on the loop's one io_uring_enter per turn.
 *
 * Busy polling (eddy_loop_opts.busy_poll): before sleeping, the loop may
 * watch the ring for a while. The kernel raises IORING_SQ_TASKRUN in the
 * shared ring flags as soon as work is queued for us (a receive's data came,
 * a send finished), so the watch is a load in user space, no system call.
 * Work that arrives during the spin is taken at once, and the peer whose
 * send made it never has to wake a sleeping CPU: under a virtual machine
 * that wake-up (an inter-processor interrupt, the vCPU rescheduled on the
 * host) costs the sender more than a small request costs the server. The
 * spin adapts: once one finds nothing, the loop stops spinning until a
 * sleep ends within the spin time again, so an idle or lightly loaded loop
 * sleeps at once. Nor does it spin while other threads want its CPU (see
 * contention_check). */
#include "uring_ring.h"

#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

/* memcheck does not know that the kernel fills receive buffers through the
 * ring; say so, or it reports every received byte as uninitialised. */
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#else
#define VALGRIND_MAKE_MEM_DEFINED(p, n) ((void)(p), (void)(n))
#endif

/* A listener's multishot accept: connections the kernel accepted, queued
 * until a task takes them. Lives on the heap: it outlives any one call. */
struct maccept {
  int fd;
  int armed;       /* the request is live in the kernel */
  int cancelling;  /* a cancel for it is queued */
  int closing;
  int err;         /* why the kernel ended the request (EMFILE...) */
  int *q;          /* ring buffer of accepted fds */
  unsigned head, n, cap;
  eddy__wait *waiter;      /* a task waiting for a connection */
  eddy__wait *closer;      /* a task waiting for the request to end */
  maccept *next_orphan;
};

typedef struct uop {
  eddy__wait w;
  int res;
  int done;
  int forced; /* eddy_watch_fini: the result the waiter reports */
  struct uop *next; /* the other operations in the same watch slot */
} uop;

static void arm_evfd(eddy_loop *loop, ring *r) {
  struct io_uring_sqe *sqe = get_sqe(r);
  if (!sqe) return;
  io_uring_prep_poll_multishot(sqe, loop->evfd, POLLIN);
  io_uring_sqe_set_data64(sqe, UD_EVFD);
  r->evfd_armed = 1;
}

static int required_ops_present(struct io_uring *io) {
  static const int ops[] = {IORING_OP_POLL_ADD, IORING_OP_ASYNC_CANCEL,
                            IORING_OP_RECV,     IORING_OP_SENDMSG,
                            IORING_OP_SEND,
                            IORING_OP_READ,     IORING_OP_WRITE,
                            IORING_OP_FSYNC,    IORING_OP_OPENAT,
                            IORING_OP_CLOSE,    IORING_OP_ACCEPT,
                            IORING_OP_WRITEV};
  struct io_uring_probe *p = io_uring_get_probe_ring(io);
  if (!p) return 0;
  int ok = 1;
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    if (!io_uring_opcode_supported(p, ops[i])) ok = 0;
  io_uring_free_probe(p);
  return ok;
}

static int uring_init(eddy_loop *loop) {
  int e = eddy__fault(EDDY_SYS_URING_SETUP);
  if (e) return -e;
  ring *r = eddy__calloc(1, sizeof *r);
  if (!r) return -ENOMEM;
  loop->backend_data = r;
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
            IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_CQSIZE;
  p.cq_entries = CQ_ENTRIES;
  int rc = io_uring_queue_init_params(SQ_ENTRIES, &r->ring, &p);
  if (rc == -EINVAL) { /* before 6.1: no deferred task work */
    memset(&p, 0, sizeof p);
    p.flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_CQSIZE;
    p.cq_entries = CQ_ENTRIES;
    rc = io_uring_queue_init_params(SQ_ENTRIES, &r->ring, &p);
  }
  if (rc) return rc == -EPERM || rc == -EINVAL ? -ENOSYS : rc;
  r->up = 1;
  /* Waits with a timeout need EXT_ARG (no timeout SQE per wait); a full
   * completion queue must not drop completions (NODROP). */
  if (!(p.features & IORING_FEAT_EXT_ARG) || !(p.features & IORING_FEAT_NODROP) ||
      !(p.features & IORING_FEAT_RW_CUR_POS) || !required_ops_present(&r->ring))
    return -ENOSYS;
  arm_evfd(loop, r);
  return 0;
}

static void maccept_free(maccept *m);

static void uring_fini(eddy_loop *loop) {
  ring *r = ring_of(loop);
  if (!r) return;
  if (r->up) io_uring_queue_exit(&r->ring); /* ends every request */
  if (r->spin && r->schedstat >= 0) close(r->schedstat);
  while (r->orphans) {
    maccept *m = r->orphans;
    r->orphans = m->next_orphan;
    maccept_free(m);
  }
  eddy__uring_recv_fini(r); /* after the exit: no request holds a buffer */
  eddy__free(r);
  loop->backend_data = NULL;
}

static void accept_completed(ring *r, maccept *m, struct io_uring_cqe *cqe);

static void complete(eddy_loop *loop, ring *r, struct io_uring_cqe *cqe,
                     int *submitted) {
  uint64_t ud = io_uring_cqe_get_data64(cqe);
  if (ud == UD_IGNORE) return;
  if (ud == UD_EVFD) {
    if (!(cqe->flags & IORING_CQE_F_MORE)) r->evfd_armed = 0;
    eddy__evfd_drain(loop);
    *submitted = 1;
    return;
  }
  if ((ud & 7u) == UD_RECV) {
    eddy__uring_recv_completed(r, ud, cqe);
    return;
  }
  if ((ud & 7u) == UD_ACCEPT) {
    accept_completed(r, (maccept *)(uintptr_t)(ud & ~(uint64_t)7), cqe);
    return;
  }
  uop *o = (uop *)(uintptr_t)ud;
  o->res = cqe->res;
  o->done = 1;
  if (o->w.task->wait == &o->w) eddy__wake(&o->w, 0);
}

/* Work is waiting: completions to reap, task work the kernel queued
 * (which runs, and posts its completions, when we next enter), or
 * completions held back by a full completion queue (flushed when we
 * next enter). */
static int work_ready(ring *r) {
  return io_uring_cq_ready(&r->ring) ||
         (IO_URING_READ_ONCE(*r->ring.sq.kflags) & (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW));
}

/* Busy polling (see the top of the file): submit what is queued, then spin
 * until work is ready or the spin time (or the poll's timeout) runs out.
 * Returns the timeout left for the poll: 0 when work came. */
static eddy_time_t spin(ring *r, eddy_time_t timeout, eddy_time_t t0) {
  io_uring_submit(&r->ring);
  eddy_time_t lim = timeout > 0 && timeout < r->spin ? timeout : r->spin;
  eddy_time_t spent = 0;
  for (unsigned i = 1;; i++) {
    if (work_ready(r)) return 0;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
    if (i % 32 == 0 && (spent = eddy_now() - t0) >= lim) break;
  }
  r->spin_on = 0; /* nothing came: sleep at once until traffic is dense */
  if (timeout < 0) return timeout;
  return timeout > spent ? timeout - spent : 0;
}

/* Nothing to submit, nothing completed and no task work queued: a poll
 * that may not wait would enter the kernel for nothing. Only a ring that
 * flags its queued task work can tell (TASKRUN_FLAG); completions from the
 * eventfd (cross-thread submissions) arrive that way too. */
static int idle_ring(ring *r) {
  return (r->ring.flags & IORING_SETUP_TASKRUN_FLAG) && r->evfd_armed &&
         io_uring_sq_ready(&r->ring) == 0 && !work_ready(r);
}

#define CONTENTION_WINDOW EDDY_MSEC(20)
#define CONTENTION_HOLD EDDY_MSEC(200)

/* The time this thread has spent runnable but waiting for a CPU (the
 * scheduler's run_delay), or 0 if the kernel does not say. */
static unsigned long long run_queue_wait(ring *r) {
  char b[96];
  unsigned long long oncpu, waited;
  if (r->schedstat < 0) return 0;
  ssize_t n = pread(r->schedstat, b, sizeof b - 1, 0);
  if (n <= 0) return 0;
  b[n] = 0;
  return sscanf(b, "%llu %llu", &oncpu, &waited) == 2 ? waited : 0;
}

/* Once per window: was this thread kept waiting for its CPU for more than
 * a quarter of it? Then another thread shares the CPU in earnest (a
 * spinner sharing with a thread that never sleeps waits about half the
 * time; a neighbour that runs now and then costs a little either way, and
 * it is let in whenever it wakes, spinning or not), and spinning would
 * only burn the CPU time the scheduler grants us, time we then lack when
 * work comes; worse, a task that sleeps is let back in at once when woken,
 * where one that spins waits for its turn. So no spinning for a while
 * (longer than a window: a loop that stops spinning stops being kept
 * waiting, which says nothing about its company). Without such company
 * the thread waits almost never (a kernel thread now and then). */
static void contention_check(ring *r, eddy_time_t now) {
  unsigned long long waited = run_queue_wait(r);
  if ((waited - r->waited) * 4 > (unsigned long long)(now - r->window))
    r->no_spin_until = now + CONTENTION_HOLD;
  r->waited = waited;
  r->window = now;
}

static int uring_poll(eddy_loop *loop, eddy_time_t timeout) {
  ring *r = ring_of(loop);
  if (unlikely(!r->evfd_armed)) arm_evfd(loop, r);
  eddy_time_t slept_from = -1;
  if (r->spin && timeout != 0 && !loop->virtual_clock) {
    eddy_time_t now = eddy_now();
    if (now - r->window >= CONTENTION_WINDOW) contention_check(r, now);
    if (r->spin_on && now >= r->no_spin_until) timeout = spin(r, timeout, now);
    else slept_from = now;
  }
  if (timeout == 0 && idle_ring(r)) {
    eddy__poll_after(loop, 0, 0, 0);
    return 0;
  }
  loop->kernel_polls++;
  if (timeout == 0 || loop->virtual_clock) {
    io_uring_submit_and_get_events(&r->ring);
  } else {
    struct __kernel_timespec ts, *tp = NULL;
    if (timeout > 0) {
      ts.tv_sec = timeout / 1000000000;
      ts.tv_nsec = timeout % 1000000000;
      tp = &ts;
    }
    struct io_uring_cqe *cqe;
    io_uring_submit_and_wait_timeout(&r->ring, &cqe, 1, tp, NULL);
    if (slept_from >= 0 && eddy_now() - slept_from < r->spin) r->spin_on = 1;
  }
  unsigned head, n = 0;
  int submitted = 0;
  struct io_uring_cqe *cqe;
  io_uring_for_each_cqe(&r->ring, head, cqe) {
    n++;
    complete(loop, r, cqe, &submitted);
  }
  io_uring_cq_advance(&r->ring, n);
  eddy__poll_after(loop, (int)n, timeout, submitted);
  return (int)n;
}

static void uring_busy_poll(eddy_loop *loop, eddy_time_t ns) {
  ring *r = ring_of(loop);
  /* only where the kernel flags queued task work in the ring */
  if (!(r->ring.flags & IORING_SETUP_TASKRUN_FLAG)) return;
  r->schedstat = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
  r->spin = ns;
  r->spin_on = 1;
  r->window = eddy_now();
  r->waited = run_queue_wait(r);
}

static void cancel_op(ring *r, uop *o) { cancel_request(r, (uint64_t)(uintptr_t)o); }

/* Park until o completes (its SQE is queued). A timeout or cancellation
 * cancels the operation and waits for its completion; *interrupted tells
 * which. Returns the operation's result. */
static int park_op(eddy_task *t, uop *o, eddy_time_t deadline,
                   const char *what, void *pc, int *interrupted) {
  eddy_loop *loop = t->loop;
  loop->nfdwait++;
  int r = eddy__park(&o->w, deadline, what, pc);
  if (r) {
    *interrupted = r;
    if (!o->done) {
      cancel_op(ring_of(loop), o);
      while (!o->done) {
        eddy__wait_init(&o->w, t);
        o->w.flags = 0;
        eddy__park(&o->w, EDDY_FOREVER, what, pc);
      }
    }
  }
  loop->nfdwait--;
  return o->res;
}

static void uop_init(uop *o, eddy_task *t) {
  eddy__wait_init(&o->w, t);
  o->res = 0;
  o->done = 0;
  o->forced = 0;
  o->next = NULL;
}

static unsigned mask_of(int ev) {
  unsigned m = 0;
  if (ev & (POLLIN | POLLRDHUP | POLLHUP | POLLERR)) m |= EDDY_READABLE;
  if (ev & (POLLOUT | POLLHUP | POLLERR)) m |= EDDY_WRITABLE;
  return m;
}

static int uring_wait_fd(eddy_task *t, int fd, unsigned events,
                         eddy_time_t deadline) {
  ring *r = ring_of(t->loop);
  unsigned pm = 0;
  if (events & EDDY_READABLE) pm |= POLLIN | POLLRDHUP;
  if (events & EDDY_WRITABLE) pm |= POLLOUT;
  if (deadline != EDDY_FOREVER && deadline <= eddy_now()) return -ETIMEDOUT;
  struct io_uring_sqe *sqe = get_sqe(r);
  if (!sqe) return -EBUSY;
  uop o;
  uop_init(&o, t);
  io_uring_prep_poll_add(sqe, fd, pm);
  io_uring_sqe_set_data(sqe, &o);
  int intr = 0;
  int res = park_op(t, &o, deadline, "fd", __builtin_return_address(0), &intr);
  if (intr) return intr;
  if (res < 0) return res;
  unsigned m = mask_of(res);
  return (int)(m & events ? m & events : m);
}

static int uring_watch_init(eddy_watch *w) {
  (void)w; /* nothing to register: each wait is its own poll request */
  return 0;
}

/* Leave a watch slot's list of operations (a wait for readiness, a
 * stream's writes) that closing the owner cancels. */
static void slot_leave(eddy_watch *w, int i, uop *o) {
  for (uop **pp = (uop **)&w->waiter[i]; *pp; pp = &(*pp)->next)
    if (*pp == o) {
      *pp = o->next;
      return;
    }
}

static int uring_watch_wait(eddy_task *t, eddy_watch *w, unsigned event,
                            eddy_time_t deadline) {
  int i = event == EDDY_WRITABLE;
  if (w->waiter[i]) return -EBUSY;
  if (deadline != EDDY_FOREVER && deadline <= eddy_now()) return -ETIMEDOUT;
  ring *r = ring_of(t->loop);
  struct io_uring_sqe *sqe = get_sqe(r);
  if (!sqe) return -EBUSY;
  uop o;
  uop_init(&o, t);
  io_uring_prep_poll_add(sqe, w->fd, i ? POLLOUT : POLLIN | POLLRDHUP);
  io_uring_sqe_set_data(sqe, &o);
  w->waiter[i] = &o;
  int intr = 0;
  int res = park_op(t, &o, deadline, i ? "write" : "read",
                    __builtin_return_address(0), &intr);
  if (o.forced) return o.forced; /* the watch is gone: don't touch it */
  slot_leave(w, i, &o); /* a write queued behind the wait stays registered */
  if (intr) return intr;
  return res < 0 ? res : 0;
}

static void uring_watch_fini(eddy_watch *w) {
  ring *r = ring_of(w->loop);
  int cancelled = 0;
  for (int i = 0; i < 2; i++) {
    uop *o = w->waiter[i];
    w->waiter[i] = NULL;
    for (; o; o = o->next) { /* o->next stays valid: each task is parked */
      o->forced = -EBADF;
      if (!o->done) {
        cancel_op(r, o);
        cancelled = 1;
      }
    }
  }
  /* The owner frees its receive buffer as soon as this returns: have the
   * kernel cancel now (cancelling a waiting receive is synchronous), not at
   * the next loop turn, when data arriving in between could be copied into
   * the freed buffer (task work runs early without DEFER_TASKRUN). */
  if (cancelled) io_uring_submit(&r->ring);
}

/* Take the watch slot of a stream's or listener's operation, so that
 * closing the owner cancels it (see eddy__io_req.watch). */
static int slot_of(const eddy__io_req *q) {
  return q->op == EDDY__IO_SENDV || q->op == EDDY__IO_WRITEV ||
         q->op == EDDY__IO_WRITE;
}

static long uring_call(eddy_task *t, const eddy__io_req *q,
                       eddy_time_t deadline, int *interrupted) {
  static const int fault_kind[] = {
      [EDDY__IO_RECV] = EDDY_SYS_RECV,   [EDDY__IO_SENDV] = EDDY_SYS_SEND,
      [EDDY__IO_READ] = EDDY_SYS_READ,   [EDDY__IO_WRITE] = EDDY_SYS_WRITE,
      [EDDY__IO_FSYNC] = EDDY_SYS_WRITE, [EDDY__IO_OPEN] = EDDY_SYS_OPEN,
      [EDDY__IO_CLOSE] = EDDY_SYS_CLOSE, [EDDY__IO_ACCEPT] = EDDY_SYS_ACCEPT,
      [EDDY__IO_WRITEV] = EDDY_SYS_WRITE,
  };
  static const char *const what[] = {
      [EDDY__IO_RECV] = "recv",   [EDDY__IO_SENDV] = "send",
      [EDDY__IO_READ] = "read",   [EDDY__IO_WRITE] = "write",
      [EDDY__IO_FSYNC] = "fsync", [EDDY__IO_OPEN] = "open",
      [EDDY__IO_CLOSE] = "close", [EDDY__IO_ACCEPT] = "accept",
      [EDDY__IO_WRITEV] = "write",
  };
  if (q->op < EDDY__IO_RECV || q->op > EDDY__IO_WRITEV) return -EINVAL;
  int e = eddy__fault(fault_kind[q->op]);
  if (e) return -e;
  int slot = q->watch ? slot_of(q) : -1;
  /* Two receives in flight would fill the same bytes of the owner's buffer:
   * one reader at a time, as on epoll. Checked before taking an SQE, which
   * once taken is submitted whatever it holds. */
  if (slot == 0 && q->watch->waiter[0]) return -EBUSY;
  ring *r = ring_of(t->loop);
  struct io_uring_sqe *sqe = get_sqe(r);
  if (!sqe) return -EBUSY;
  struct msghdr msg; /* read by the kernel until the send completes */
  __u64 off = q->off < 0 ? (__u64)-1 : (__u64)q->off;
  switch (q->op) {
  case EDDY__IO_RECV:
    io_uring_prep_recv(sqe, q->fd, q->buf, q->len, 0);
    break;
  case EDDY__IO_SENDV:
    if (q->iovcnt == 1) { /* a plain send spares the kernel the msghdr */
      io_uring_prep_send(sqe, q->fd, q->iov[0].iov_base, q->iov[0].iov_len,
                         MSG_NOSIGNAL);
      break;
    }
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = (struct iovec *)q->iov;
    msg.msg_iovlen = (size_t)q->iovcnt;
    io_uring_prep_sendmsg(sqe, q->fd, &msg, MSG_NOSIGNAL);
    break;
  case EDDY__IO_READ:
    io_uring_prep_read(sqe, q->fd, q->buf, (unsigned)q->len, off);
    break;
  case EDDY__IO_WRITE:
    io_uring_prep_write(sqe, q->fd, q->buf, (unsigned)q->len, off);
    break;
  case EDDY__IO_FSYNC:
    io_uring_prep_fsync(sqe, q->fd, q->flags ? IORING_FSYNC_DATASYNC : 0);
    break;
  case EDDY__IO_OPEN:
    io_uring_prep_openat(sqe, AT_FDCWD, q->path, q->flags, (mode_t)q->mode);
    break;
  case EDDY__IO_CLOSE:
    io_uring_prep_close(sqe, q->fd);
    break;
  case EDDY__IO_ACCEPT:
    io_uring_prep_accept(sqe, q->fd, NULL, NULL, q->flags);
    break;
  case EDDY__IO_WRITEV:
    io_uring_prep_writev(sqe, q->fd, q->iov, (unsigned)q->iovcnt, (__u64)-1);
    break;
  }
  uop o;
  uop_init(&o, t);
  io_uring_sqe_set_data(sqe, &o);
  if (slot >= 0) {
    o.next = q->watch->waiter[slot];
    q->watch->waiter[slot] = &o;
  }
  int res = park_op(t, &o, deadline, what[q->op], __builtin_return_address(0),
                    interrupted);
  if (o.forced) { /* the owner was closed under us and is being freed */
    if (q->op == EDDY__IO_ACCEPT && res >= 0) eddy__sys_close(res);
    *interrupted = o.forced;
    return o.forced;
  }
  if (slot >= 0) slot_leave(q->watch, slot, &o);
  if (res > 0 && (q->op == EDDY__IO_RECV || q->op == EDDY__IO_READ))
    VALGRIND_MAKE_MEM_DEFINED(q->buf, (size_t)res);
  return res;
}

/* ---- multishot accept */

static void maccept_free(maccept *m) {
  while (m->n) {
    close(m->q[m->head]);
    m->head = (m->head + 1) % m->cap;
    m->n--;
  }
  eddy__free(m->q);
  eddy__free(m);
}

static void accept_cancel(ring *r, maccept *m) {
  if (cancel_request(r, (uint64_t)(uintptr_t)m | UD_ACCEPT)) m->cancelling = 1;
}

static int accept_push(maccept *m, int fd) {
  if (m->n == m->cap) {
    unsigned ncap = m->cap ? m->cap * 2 : 16;
    int *nq = eddy__alloc(ncap * sizeof *nq);
    if (!nq) return -ENOMEM;
    for (unsigned i = 0; i < m->n; i++) nq[i] = m->q[(m->head + i) % m->cap];
    eddy__free(m->q);
    m->q = nq;
    m->head = 0;
    m->cap = ncap;
  }
  m->q[(m->head + m->n) % m->cap] = fd;
  m->n++;
  return 0;
}

static void accept_completed(ring *r, maccept *m, struct io_uring_cqe *cqe) {
  if (cqe->res >= 0) {
    if (m->closing || accept_push(m, cqe->res) != 0)
      close(cqe->res); /* nobody will take it (or no memory to hold it) */
  } else if (cqe->res != -ECANCELED) {
    m->err = cqe->res;
  }
  if (!(cqe->flags & IORING_CQE_F_MORE)) {
    m->armed = 0;
    m->cancelling = 0;
  } else if (m->n >= ACCEPT_QUEUE_MAX && !m->cancelling) {
    accept_cancel(r, m); /* nobody is taking them: leave the rest queued
                          * in the kernel's backlog instead */
  }
  if (m->closer && !m->armed) {
    eddy__wait *w = m->closer;
    m->closer = NULL;
    eddy__wake(w, 0);
  }
  /* The waiter drops m->waiter itself when it runs, however it was woken
   * (here, by a timeout or by a cancellation): a close before then must
   * find it, to tell it the listener is gone (eddy__wake_gone). */
  if (m->waiter && (m->n || m->err || !m->armed) && eddy__wait_parked(m->waiter))
    eddy__wake(m->waiter, 0);
}

static int uring_accept(eddy_task *t, void **state, int fd,
                        eddy_time_t deadline) {
  int e = eddy__fault(EDDY_SYS_ACCEPT);
  if (e) return -e;
  ring *r = ring_of(t->loop);
  maccept *m = *state;
  if (!m) {
    m = eddy__calloc(1, sizeof *m);
    if (!m) return -ENOMEM;
    m->fd = fd;
    *state = m;
  }
  for (;;) {
    if (m->n) {
      int c = m->q[m->head];
      m->head = (m->head + 1) % m->cap;
      m->n--;
      return c;
    }
    if (m->err) {
      int err = m->err;
      m->err = 0;
      return err;
    }
    if (m->waiter) return -EBUSY;
    if (!m->armed) {
      struct io_uring_sqe *sqe = get_sqe(r);
      if (!sqe) return -EBUSY;
      io_uring_prep_multishot_accept(sqe, fd, NULL, NULL,
                                     SOCK_NONBLOCK | SOCK_CLOEXEC);
      io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)m | UD_ACCEPT);
      m->armed = 1;
    }
    eddy__wait w;
    eddy__wait_init(&w, t);
    m->waiter = &w;
    t->loop->nfdwait++;
    int rc = eddy__park(&w, deadline, "accept", __builtin_return_address(0));
    t->loop->nfdwait--;
    if (rc == -EBADF) return rc; /* closed under us: m may be gone */
    if (m->waiter == &w) m->waiter = NULL;
    if (rc) return rc; /* connections that come later stay queued */
  }
}

static void uring_accept_close(eddy_loop *loop, void *state) {
  maccept *m = state;
  if (!m) return;
  ring *r = ring_of(loop);
  m->closing = 1;
  if (m->waiter) { /* a task waits to accept: the listener is gone */
    eddy__wait *w = m->waiter;
    m->waiter = NULL;
    eddy__wake_gone(w);
  }
  if (m->armed && !m->cancelling) accept_cancel(r, m);
  eddy_task *t = eddy__self();
  if (m->armed && t) { /* wait for the kernel to let go of the record */
    eddy__wait w;
    eddy__wait_init(&w, t);
    w.flags = 0;
    m->closer = &w;
    loop->nfdwait++;
    eddy__park(&w, EDDY_FOREVER, "accept close", __builtin_return_address(0));
    loop->nfdwait--;
  }
  if (m->armed) { /* no task to wait in: the ring's exit frees it */
    m->next_orphan = r->orphans;
    r->orphans = m;
    return;
  }
  maccept_free(m);
}

const eddy__backend eddy__backend_uring = {
    .name = "io_uring",
    .init = uring_init,
    .fini = uring_fini,
    .poll = uring_poll,
    .wait_fd = uring_wait_fd,
    .watch_init = uring_watch_init,
    .watch_wait = uring_watch_wait,
    .watch_fini = uring_watch_fini,
    .call = uring_call,
    .accept = uring_accept,
    .accept_close = uring_accept_close,
    .busy_poll = uring_busy_poll,
    .recv_setup = eddy__uring_recv_setup,
    .recv_peek = eddy__uring_recv_peek,
    .recvmsg_peek = eddy__uring_recvmsg_peek,
    .recv_consume = eddy__uring_recv_consume,
    .recv_queued = eddy__uring_recv_queued,
    .recv_close = eddy__uring_recv_close,
};
