/* uring_recv.c: multishot receive into a ring of provided buffers (the
 * io_uring backend's stream reads).
 *
 * The loop registers one ring of equal buffers with the kernel when it
 * starts (eddy_loop_opts.recv_buffers, recv_buffer_size). A stream's first
 * read arms one receive request that stays in the kernel: every time data
 * arrives the kernel takes a buffer from the ring, fills it and posts a
 * completion, with no request of ours in between. Completions that come
 * while the stream's task does something else are queued on the stream, in
 * order; a read takes bytes from the head of that queue (copied into the
 * stream's buffer, or lent out as they are by eddy_stream_read_chunk), and
 * a buffer goes back to the ring once all its bytes are consumed.
 *
 * Bounds: a stream holding more than half the ring cancels its request
 * (the rest waits in the socket, where TCP's window holds the peer back)
 * and re-arms when its reader has emptied its queue; when the ring runs dry
 * anyway (many slow readers) the kernel ends the request with -ENOBUFS, and
 * the reader makes one ordinary receive into its own buffer before arming
 * again. Either way nothing is lost or reordered: a request is only armed
 * when the stream's queue is empty and no other request is live.
 *
 * Buffers are memory of the ring, never of a stream, so a stream can be
 * freed at once when it closes: its buffers go back to the ring, its
 * request is cancelled, and the small record the kernel's completions
 * point to lives on (an orphan) until the last completion comes, or the
 * loop ends. Kernels that refuse multishot receive (before 6.0) or buffer
 * rings (before 5.19) leave the loop on one-shot receives. */
#include "uring_ring.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#else
#define VALGRIND_MAKE_MEM_DEFINED(p, n) ((void)(p), (void)(n))
#endif

#define BGID 0 /* the loop's one buffer group */

typedef struct mrecv mrecv;

struct uring_recv {
  struct io_uring_buf_ring *br; /* shared with the kernel */
  size_t br_len;
  char *mem; /* the buffers: n of size bytes */
  size_t mem_len;
  unsigned n, size, mask;
  unsigned cap;    /* queued buffers a stream may hold before pausing */
  int refused;     /* the kernel refused multishot receive: never again */
  uint32_t *len;   /* per buffer: the bytes received into it */
  uint16_t *next;  /* per buffer: the next one in its stream's queue */
  mrecv *orphans;  /* closed streams' requests the kernel still holds */
  unsigned out;    /* buffers taken from the ring and not yet put back */
};

static atomic_ulong nobufs_seen; /* every loop's: loops may run on threads */
unsigned long eddy__recv_nobufs(void) { return atomic_load(&nobufs_seen); }
long eddy__recv_buffers_out(void) {
  eddy_loop *loop = eddy__loop();
  if (!loop || loop->backend != &eddy__backend_uring) return -1;
  uring_recv *u = ring_of(loop)->recv;
  return u ? (long)u->out : -1;
}

/* A stream's request and queue. Buffers queued are linked through the
 * ring's next[] (a buffer is in one queue at most), so a queue costs no
 * memory of its own and can never fail to take a completion. */
struct mrecv {
  int armed;      /* the request is live in the kernel */
  int cancelling; /* a cancel for it is queued */
  int closing;    /* the stream is gone: an orphan until the last CQE */
  int got_data;   /* a request of this stream delivered data */
  int eof;        /* the peer closed (after the queued bytes) */
  int err;        /* the socket's error (after the queued bytes) */
  int nobufs;     /* the ring ran dry: one receive of the caller's own */
  int refused;    /* the kernel refused the request: one-shot from now on */
  int msg;        /* datagrams (recvmsg: each buffer starts with a header
                   * and the sender's address), not a byte stream */
  struct msghdr mh; /* msg: what the request asks for (the name's room) */
  int head, tail; /* queued buffers, -1 if none */
  unsigned nq;    /* how many */
  unsigned off;   /* bytes of the head buffer already consumed */
  size_t bytes;   /* queued bytes not yet consumed */
  size_t limit;   /* the most bytes to queue before pausing */
  eddy__wait *waiter;
  mrecv *prev, *next; /* in the orphan list */
};

static void unmap(uring_recv *u) {
  if (u->br) munmap(u->br, u->br_len);
  if (u->mem) munmap(u->mem, u->mem_len);
}

static void put_buffer(uring_recv *u, unsigned bid) {
  u->out--;
  io_uring_buf_ring_add(u->br, u->mem + (size_t)bid * u->size, u->size,
                        (unsigned short)bid, (int)u->mask, 0);
  io_uring_buf_ring_advance(u->br, 1);
}

void eddy__uring_recv_setup(eddy_loop *loop, unsigned n, unsigned size) {
  ring *r = ring_of(loop);
  if (eddy__fault(EDDY_SYS_URING_BUFRING)) return; /* as a kernel refusing */
  uring_recv *u = eddy__calloc(1, sizeof *u);
  if (!u) return;
  u->n = n;
  u->size = size;
  u->mask = (unsigned)io_uring_buf_ring_mask(n);
  u->cap = n / 2 ? n / 2 : 1;
  u->len = eddy__alloc(n * sizeof *u->len);
  u->next = eddy__alloc(n * sizeof *u->next);
  /* Anonymous memory: only the pages data is received into are ever
   * backed, so a ring sized for bursts costs little while idle. */
  u->br_len = n * sizeof(struct io_uring_buf);
  u->mem_len = (size_t)n * size;
  int err = 0;
  u->br = eddy__sys_mmap(u->br_len, &err);
  u->mem = u->br ? eddy__sys_mmap(u->mem_len, &err) : NULL;
  if (!u->len || !u->next || !u->mem) goto fail;
  struct io_uring_buf_reg reg;
  memset(&reg, 0, sizeof reg);
  reg.ring_addr = (uint64_t)(uintptr_t)u->br;
  reg.ring_entries = n;
  reg.bgid = BGID;
  if (io_uring_register_buf_ring(&r->ring, &reg, 0) != 0) goto fail;
  io_uring_buf_ring_init(u->br);
  for (unsigned i = 0; i < n; i++)
    io_uring_buf_ring_add(u->br, u->mem + (size_t)i * size, size,
                          (unsigned short)i, (int)u->mask, (int)i);
  io_uring_buf_ring_advance(u->br, (int)n);
  r->recv = u;
  return;
fail:
  if (u->br == NULL) u->br_len = 0;
  unmap(u);
  eddy__free(u->len);
  eddy__free(u->next);
  eddy__free(u);
}

/* After io_uring_queue_exit: no request is left to complete. */
void eddy__uring_recv_fini(ring *r) {
  uring_recv *u = r->recv;
  if (!u) return;
  while (u->orphans) {
    mrecv *m = u->orphans;
    u->orphans = m->next;
    eddy__free(m);
  }
  unmap(u);
  eddy__free(u->len);
  eddy__free(u->next);
  eddy__free(u);
  r->recv = NULL;
}

static void orphan_unlink(uring_recv *u, mrecv *m) {
  if (m->prev) m->prev->next = m->next;
  else u->orphans = m->next;
  if (m->next) m->next->prev = m->prev;
}

static void cancel(ring *r, mrecv *m) {
  if (cancel_request(r, (uint64_t)(uintptr_t)m | UD_RECV)) m->cancelling = 1;
}

/* Take a completion of m's request (a real one, or one the fault injector
 * made up). */
static void completed(ring *r, mrecv *m, int res, unsigned flags) {
  uring_recv *u = r->recv;
  if (res > 0) {
    if (flags & IORING_CQE_F_BUFFER) {
      unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;
      u->out++;
      VALGRIND_MAKE_MEM_DEFINED(u->mem + (size_t)bid * u->size, (size_t)res);
      if (m->closing) {
        put_buffer(u, bid);
      } else {
        u->len[bid] = (uint32_t)res;
        u->next[bid] = 0;
        if (m->tail >= 0) u->next[m->tail] = (uint16_t)bid;
        else m->head = (int)bid;
        m->tail = (int)bid;
        m->nq++;
        m->bytes += (size_t)res;
        m->got_data = 1;
      }
    } else if (!m->err) {
      m->err = -EIO; /* bytes we cannot find: say so rather than lose them */
    }
  } else if (res == 0) {
    m->eof = 1;
  } else if (res == -ENOBUFS) {
    m->nobufs = 1;
    atomic_fetch_add_explicit(&nobufs_seen, 1, memory_order_relaxed);
  } else if (res == -ECANCELED) {
    /* ours: paused (the queue is long) or closing */
  } else if ((res == -EINVAL || res == -EOPNOTSUPP) && !m->got_data) {
    m->refused = 1; /* no multishot receive here: the one-shot path */
    if (!m->msg) u->refused = 1; /* (recvmsg came later than recv) */
  } else if (!m->err) {
    m->err = res;
  }
  if (!(flags & IORING_CQE_F_MORE)) {
    m->armed = 0;
    m->cancelling = 0;
    if (m->closing) { /* the last completion of a closed stream's request */
      orphan_unlink(u, m);
      eddy__free(m);
      return;
    }
  } else if ((m->nq >= u->cap || m->bytes >= m->limit) && !m->cancelling &&
             !m->closing) {
    cancel(r, m); /* nobody is reading: leave the rest in the socket */
  }
  /* The waiter drops m->waiter itself when it runs, however it was woken
   * (here, by a timeout or by a cancellation): a close before then must
   * find it, to tell it the stream is gone (eddy__wake_gone). */
  if (m->waiter && (m->nq || m->eof || m->err || m->nobufs || m->refused ||
                    !m->armed) && eddy__wait_parked(m->waiter))
    eddy__wake(m->waiter, 0);
}

void eddy__uring_recv_completed(ring *r, uint64_t ud, struct io_uring_cqe *cqe) {
  completed(r, (mrecv *)(uintptr_t)(ud & ~(uint64_t)7), cqe->res, cqe->flags);
}

static void arm(ring *r, mrecv *m, int fd) {
  m->armed = 1;
  int e = eddy__fault(EDDY_SYS_RECV); /* as the kernel ending the request */
  if (e) {
    completed(r, m, -e, 0);
    return;
  }
  struct io_uring_sqe *sqe = get_sqe(r);
  if (!sqe) {
    m->armed = 0;
    m->nobufs = 1; /* no slot: one receive of the caller's own this time */
    return;
  }
  if (m->msg) io_uring_prep_recvmsg_multishot(sqe, fd, &m->mh, MSG_TRUNC);
  else io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = BGID;
  io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)m | UD_RECV);
}

/* Wait until m's queue has a buffer (1), or says the end (0), or an error,
 * arming the request as needed (see eddy__uring_recv_peek). */
static long await_head(eddy_task *t, ring *r, mrecv *m, eddy_watch *wt,
                       eddy_time_t deadline, int wait, int *interrupted) {
  uring_recv *u = r->recv;
  for (;;) {
    if (m->nq) return 1;
    if (m->err) { /* a stream's stays (a reset stream stays reset); a
                   * datagram socket's is news about one datagram */
      int e = m->err;
      if (m->msg) m->err = 0;
      return e;
    }
    if (m->eof) return 0;
    if (m->refused) return -ENOTSUP;
    if (m->nobufs) {
      m->nobufs = 0;
      return -ENOBUFS;
    }
    if (!wait) return -EAGAIN;
    if (m->waiter) return -EBUSY;
    if (deadline != EDDY_FOREVER && deadline <= eddy_now()) {
      *interrupted = -ETIMEDOUT;
      return -ETIMEDOUT;
    }
    if (!m->armed) {
      if (u->refused) return -ENOTSUP;
      /* a receive of the caller's own is in flight (another reader): two
       * requests would split the bytes between them */
      if (wt->waiter[0]) return -EBUSY;
      arm(r, m, wt->fd);
      continue;
    }
    eddy__wait w;
    eddy__wait_init(&w, t);
    m->waiter = &w;
    t->loop->nfdwait++;
    int rc = eddy__park(&w, deadline, "recv", __builtin_return_address(0));
    t->loop->nfdwait--;
    if (rc == -EBADF) { /* closed under us: m is gone */
      *interrupted = rc;
      return rc;
    }
    if (m->waiter == &w) m->waiter = NULL;
    if (rc) { /* what arrives meanwhile stays queued */
      *interrupted = rc;
      return rc;
    }
  }
}

static mrecv *state_new(void **state) {
  mrecv *m = eddy__calloc(1, sizeof *m);
  if (!m) return NULL;
  m->head = m->tail = -1;
  *state = m;
  return m;
}

long eddy__uring_recv_peek(eddy_task *t, void **state, eddy_watch *wt,
                           size_t limit, eddy_time_t deadline, int wait,
                           const char **data, int *interrupted) {
  *interrupted = 0;
  ring *r = ring_of(t->loop);
  uring_recv *u = r->recv;
  mrecv *m = *state;
  if (!m) {
    /* a stream whose whole buffer is smaller than one of the ring's asked
     * for tighter memory than multishot gives */
    if (!u || u->refused || limit < u->size) return -ENOTSUP;
    if (!(m = state_new(state))) return -ENOBUFS; /* this time, the caller's */
    m->limit = limit;
  }
  long rc = await_head(t, r, m, wt, deadline, wait, interrupted);
  if (rc <= 0) return rc;
  *data = u->mem + (size_t)m->head * u->size + m->off;
  return (long)(u->len[m->head] - m->off);
}

long eddy__uring_recvmsg_peek(eddy_task *t, void **state, eddy_watch *wt,
                              size_t max, eddy_time_t deadline,
                              eddy_datagram *d, int *interrupted) {
  *interrupted = 0;
  ring *r = ring_of(t->loop);
  uring_recv *u = r->recv;
  mrecv *m = *state;
  if (!m) {
    /* each buffer holds the header, the address and the payload: larger
     * datagrams than fit would be cut short where one-shot reads are not */
    size_t head = sizeof(struct io_uring_recvmsg_out) + sizeof(d->from);
    if (!u || u->refused || u->size < head || max > u->size - head)
      return -ENOTSUP;
    if (!(m = state_new(state))) return -ENOBUFS;
    m->msg = 1;
    m->limit = SIZE_MAX;
    m->mh.msg_namelen = sizeof(d->from);
  }
  long rc = await_head(t, r, m, wt, deadline, 1, interrupted);
  if (rc <= 0) return rc; /* (0 cannot come from a datagram socket) */
  char *buf = u->mem + (size_t)m->head * u->size;
  struct io_uring_recvmsg_out *o =
      io_uring_recvmsg_validate(buf, (int)u->len[m->head], &m->mh);
  if (!o) return -EIO; /* not what the kernel writes: never seen */
  size_t n = io_uring_recvmsg_payload_length(o, (int)u->len[m->head], &m->mh);
  d->data = io_uring_recvmsg_payload(o, &m->mh);
  d->len = n < max ? n : max;
  d->truncated = (o->flags & MSG_TRUNC) || o->payloadlen > max;
  d->fromlen = o->namelen < sizeof(d->from) ? o->namelen : sizeof(d->from);
  memcpy(&d->from, io_uring_recvmsg_name(o), d->fromlen);
  return 1;
}

void eddy__uring_recv_consume(eddy_loop *loop, void *state, size_t n) {
  mrecv *m = state;
  uring_recv *u = ring_of(loop)->recv;
  if (!m || !m->nq || !n) return;
  unsigned bid = (unsigned)m->head;
  if (m->msg) n = u->len[bid] - m->off; /* a datagram goes whole */
  m->off += (unsigned)n;
  m->bytes -= n;
  if (m->off < u->len[bid]) return;
  m->off = 0;
  m->nq--;
  m->head = m->nq ? u->next[bid] : -1;
  if (!m->nq) m->tail = -1;
  put_buffer(u, bid);
}

size_t eddy__uring_recv_queued(const void *state) {
  const mrecv *m = state;
  return m ? m->bytes : 0;
}

void eddy__uring_recv_close(eddy_loop *loop, void *state) {
  mrecv *m = state;
  if (!m) return;
  ring *r = ring_of(loop);
  uring_recv *u = r->recv;
  m->closing = 1;
  if (m->waiter) { /* a task is reading: the stream is gone */
    eddy__wait *w = m->waiter;
    m->waiter = NULL;
    eddy__wake_gone(w);
  }
  while (m->nq) {
    unsigned bid = (unsigned)m->head;
    m->head = u->next[bid];
    m->nq--;
    put_buffer(u, bid);
  }
  if (!m->armed) {
    eddy__free(m);
    return;
  }
  if (!m->cancelling) cancel(r, m);
  /* Have the kernel cancel now, not at the next loop turn: the request
   * holds the socket open, and the caller is about to close it (the peer
   * must see the close when it happens). */
  io_uring_submit(&r->ring);
  m->prev = NULL; /* an orphan until its last completion (completed()) */
  m->next = u->orphans;
  if (u->orphans) u->orphans->prev = m;
  u->orphans = m;
}
