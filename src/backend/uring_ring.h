/* uring_ring.h: the io_uring backend's ring, shared by the files of the
 * backend (uring.c: the ring, operations, multishot accept; uring_recv.c:
 * multishot receive into provided buffers). Private to src/backend. */
#ifndef EDDY_URING_RING_H
#define EDDY_URING_RING_H

#include "backend.h"

#include <liburing.h>

#define UD_IGNORE 0u /* cancel requests: their completions carry nothing */
#define UD_EVFD 1u   /* the multishot poll on the loop's eventfd */
#define SQ_ENTRIES 256u
#define CQ_ENTRIES 4096u

#define UD_ACCEPT 2u  /* tag on a listener's multishot accept record */
#define ACCEPT_QUEUE_MAX 1024u /* accepted but not yet taken: then pause */

typedef struct maccept maccept;

typedef struct uring_recv uring_recv;

typedef struct ring {
  struct io_uring ring;
  int up;         /* io_uring_queue_init succeeded */
  int evfd_armed; /* the eventfd poll is live */
  maccept *orphans; /* closed outside a task while the kernel held them */
  eddy_time_t spin; /* busy polling: the most to spin before sleeping */
  int spin_on;      /* the last spin, or the last sleep, was short */
  eddy_time_t no_spin_until; /* the CPU was wanted by others lately */
  int schedstat;    /* /proc/thread-self/schedstat, or -1 */
  eddy_time_t window;        /* start of the contention window */
  unsigned long long waited; /* run-queue wait (ns) at its start */
  uring_recv *recv; /* multishot receive: the buffer ring, or NULL */
} ring;

#define UD_RECV 3u /* tag on a stream's multishot receive record */

static inline ring *ring_of(eddy_loop *loop) { return loop->backend_data; }

static inline struct io_uring_sqe *get_sqe(ring *r) {
  struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
  if (unlikely(!sqe)) { /* queue full: hand it to the kernel, take a slot */
    io_uring_submit(&r->ring);
    sqe = io_uring_get_sqe(&r->ring);
  }
  return sqe;
}

/* Ask the kernel to cancel the request whose user data is ud (its own
 * completion reports the outcome); 0 when no submission slot was left. */
static inline int cancel_request(ring *r, uint64_t ud) {
  struct io_uring_sqe *sqe = get_sqe(r);
  if (!sqe) return 0;
  io_uring_prep_cancel64(sqe, ud, 0);
  io_uring_sqe_set_data64(sqe, UD_IGNORE);
  return 1;
}

/* uring_recv.c */
void eddy__uring_recv_setup(eddy_loop *loop, unsigned n, unsigned size);
void eddy__uring_recv_fini(ring *r);
void eddy__uring_recv_completed(ring *r, uint64_t ud, struct io_uring_cqe *cqe);
long eddy__uring_recv_peek(eddy_task *t, void **state, eddy_watch *w,
                           size_t limit, eddy_time_t deadline, int wait,
                           const char **data, int *interrupted);
long eddy__uring_recvmsg_peek(eddy_task *t, void **state, eddy_watch *w,
                              size_t max, eddy_time_t deadline,
                              eddy_datagram *d, int *interrupted);
void eddy__uring_recv_consume(eddy_loop *loop, void *state, size_t n);
size_t eddy__uring_recv_queued(const void *state);
void eddy__uring_recv_close(eddy_loop *loop, void *state);
/* Test hooks: the current loop's buffers out of the ring (-1: no ring), and
 * how often a ring ran dry. */
long eddy__recv_buffers_out(void);
unsigned long eddy__recv_nobufs(void);

#endif
