/* stream.c: buffered byte streams over a non-blocking fd (TCP, Unix
 * sockets, pipes). The fd is registered once, edge-triggered; every
 * operation tries the system call first and waits for readiness only on
 * EAGAIN, so a busy stream costs one system call per read or write. The
 * exception: after a short read from a socket (which empties it) the next
 * read waits for the next edge first, since trying would only find EAGAIN.
 *
 * Reads fill a private buffer and only then consume from it, so a read
 * cancelled or timed out half-way consumes nothing: the bytes that did
 * arrive stay buffered for the next call ("cancelled means it did not
 * happen"). The buffer grows up to max_buffer and no further: a peer that
 * sends an endless line costs bounded memory and gets -EMSGSIZE.
 *
 * On a backend that runs whole operations (io_uring) a read is a receive
 * straight into that buffer and a write a send of the caller's iovecs,
 * both carried by the loop's one system call per turn; on epoll they are
 * system calls of their own, made before waiting. Where the loop asks for
 * it (eddy_loop_opts.recv_multishot), byte-stream sockets on io_uring
 * receive through one multishot request instead (uring_recv.c):
 * bytes wait in the loop's provided buffers, queued on the stream, until
 * a read copies them into the stream's buffer, or read_chunk lends them
 * out as they are (until the stream's next read). */
#include "../backend/backend.h"
#include "io.h"
#include "eddy/net.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

struct eddy_stream {
  eddy_watch watch;
  char *buf;
  size_t start, end, cap, max;
  size_t scanned; /* read_until: bytes already searched for the delimiter */
  int eof, err;
  int wr_shut;
  int not_sock; /* a pipe or tty: read/write operations, not recv/send */
  int drained;  /* epoll: the last read was short, the socket is empty */
  int empties;  /* does a short read mean the fd is empty? 0: not known yet,
                 * 1: yes (byte-stream sockets, pipes), -1: no (terminals
                 * hand out a line per read, message sockets a message) */
  int regular;  /* a regular file (redirected stdio) epoll cannot watch:
                 * reads and writes go through the file layer */
  int no_nowait;
  int no_ms;    /* no multishot receive for this stream (see ms_usable) */
  void *ms;     /* the backend's multishot receive state, or NULL */
  size_t lent;  /* bytes read_chunk lent out of the receive queue: consumed
                 * at the next read */
};

#define DEFAULT_BUF ((size_t)16 * 1024)
#define DEFAULT_MAX ((size_t)1 << 20)

EDDY_API int eddy_stream_from_fd(int fd, const eddy_stream_opts *o,
                                 eddy_stream **out) {
  if (!out || fd < 0) return -EINVAL;
  *out = NULL;
  if (!eddy__loop()) return EDDY_ENOTTASK;
  eddy_stream *s = eddy__calloc(1, sizeof *s);
  if (!s) return -ENOMEM;
  s->cap = o && o->read_buffer ? o->read_buffer : DEFAULT_BUF;
  s->max = o && o->max_buffer ? o->max_buffer : DEFAULT_MAX;
  /* One byte more than asked: a buffer holding max_buffer bytes with no
   * delimiter must still read once more, to tell a last line of exactly
   * that size (the end of the stream follows) from a longer one. */
  if (s->max < SIZE_MAX) s->max++;
  if (s->cap > s->max) s->cap = s->max;
  s->buf = eddy__alloc_aligned(s->cap);
  if (!s->buf) {
    eddy__free(s);
    return -ENOMEM;
  }
  int r = eddy_watch_init(&s->watch, fd);
  if (r == -EPERM) { /* epoll refuses regular files: always "ready" */
    s->regular = 1;
    s->not_sock = 1;
    r = 0;
  }
  if (r) {
    eddy__free(s->buf);
    eddy__free(s);
    return r;
  }
  *out = s;
  return 0;
}

EDDY_API int eddy_stream_fd(const eddy_stream *s) { return s->watch.fd; }
EDDY_API size_t eddy_stream_buffered(const eddy_stream *s) {
  size_t n = s->end - s->start;
  if (s->ms) n += s->watch.loop->backend->recv_queued(s->ms) - s->lent;
  return n;
}

/* The chunk read_chunk lent out of the receive queue is done with: its
 * bytes are consumed (and its buffer goes back to the ring). */
static inline void settle(eddy_stream *s) {
  if (unlikely(s->lent)) {
    s->watch.loop->backend->recv_consume(s->watch.loop, s->ms, s->lent);
    s->lent = 0;
  }
}

EDDY_API size_t eddy_stream_discard(eddy_stream *s, size_t n) {
  size_t have = s->end - s->start;
  if (n > have) n = have;
  s->start += n;
  s->scanned = 0;
  return n;
}

/* Consume n buffered bytes. A buffer emptied starts over at its beginning
 * (the bytes stay where they are until the next read fills it again), so
 * reads keep to the same few cache lines instead of walking the whole
 * buffer, and make_room seldom has to move anything. */
static inline void consume(eddy_stream *s, size_t n) {
  s->start += n;
  if (s->start == s->end) s->start = s->end = 0;
  s->scanned = 0;
}

/* Make room at the end of the buffer: compact, then grow up to max.
 * Returns 0, -EMSGSIZE (full at max) or -ENOMEM. */
static int make_room(eddy_stream *s) {
  /* Everything consumed: start over at the front (free), so the next read
   * is offered the whole buffer. Otherwise the end creeps to the back, and
   * every so often a read is offered a sliver and cuts a batch in two. */
  if (s->start == s->end) s->start = s->end = 0;
  if (s->end < s->cap) return 0;
  if (s->start > 0) {
    memmove(s->buf, s->buf + s->start, s->end - s->start);
    s->end -= s->start;
    s->start = 0;
    return 0;
  }
  if (s->cap >= s->max) return -EMSGSIZE;
  size_t ncap = s->cap * 2 > s->max ? s->max : s->cap * 2;
  char *nb = eddy__alloc_aligned(ncap); /* not realloc: it keeps no alignment */
  if (!nb) return -ENOMEM;
  memcpy(nb, s->buf, s->end);
  eddy__free(s->buf);
  s->buf = nb;
  s->cap = ncap;
  return 0;
}

/* fill() on io_uring: receive into the buffer. Bytes that arrive even
 * though the wait was interrupted stay buffered, and the interruption is
 * still reported. */
static int fill_native(eddy_stream *s, eddy_task *t, eddy_time_t deadline) {
  for (;;) {
    eddy__io_req q = {.op = s->not_sock ? EDDY__IO_READ : EDDY__IO_RECV,
                      .fd = s->watch.fd, .buf = s->buf + s->end,
                      .len = s->cap - s->end, .off = -1,
                      .watch = &s->watch};
    int intr;
    long n = eddy__io_call(t, &q, deadline, &intr);
    if (n == -ENOTSOCK && q.op == EDDY__IO_RECV) {
      s->not_sock = 1;
      continue;
    }
    if (n > 0) {
      s->end += (size_t)n;
      return intr;
    }
    if (n == 0) {
      s->eof = 1;
      return intr;
    }
    if (intr) return intr;
    if (n == -EINTR) continue;
    if (n == -EBUSY) return (int)n; /* another reader: not the stream's fault */
    if (n == -EAGAIN) { /* a non-blocking socket the kernel would not park */
      int r = eddy_watch_wait(&s->watch, EDDY_READABLE, deadline);
      if (r) return r;
      continue;
    }
    s->err = (int)n;
    return (int)n;
  }
}

/* Stop using multishot receive on this stream (the kernel refused it, or
 * the fd is no socket): its queue is empty by now. */
static void ms_off(eddy_stream *s) {
  if (s->ms) s->watch.loop->backend->recv_close(s->watch.loop, s->ms);
  s->ms = NULL;
  s->no_ms = 1;
}

/* What fill_ms and read_chunk do with a receive queue that had no bytes:
 * end of stream, an interruption, the stream's error, or a receive of the
 * stream's own (the ring ran dry, or multishot is not for this stream). */
static int ms_result(eddy_stream *s, eddy_task *t, long n, int intr,
                     eddy_time_t deadline) {
  if (n == 0) {
    s->eof = 1;
    return 0;
  }
  if (intr) return intr; /* -EBADF: closed under us, s is gone */
  switch (n) {
  case -ENOBUFS:
    return fill_native(s, t, deadline);
  case -ENOTSOCK: /* a pipe */
    s->not_sock = 1;
    /* fall through */
  case -ENOTSUP:
    ms_off(s);
    return fill_native(s, t, deadline);
  case -EBUSY:
    return (int)n; /* another reader: not the stream's fault */
  }
  s->err = (int)n; /* sticky: a reset stream stays reset */
  return (int)n;
}

/* fill() through the multishot receive: copy what is queued (as much as
 * fits), waiting for the first bytes if nothing is. */
static int fill_ms(eddy_stream *s, eddy_task *t, eddy_time_t deadline) {
  const eddy__backend *b = t->loop->backend;
  const char *p;
  int intr;
  long n = b->recv_peek(t, &s->ms, &s->watch, s->max, deadline, 1, &p, &intr);
  if (n <= 0) return ms_result(s, t, n, intr, deadline);
  do {
    size_t room = s->cap - s->end;
    size_t k = (size_t)n < room ? (size_t)n : room;
    memcpy(s->buf + s->end, p, k);
    s->end += k;
    b->recv_consume(t->loop, s->ms, k);
    if (k == room) break;
    /* more queued: take it too, without waiting (an end or an error
     * behind the bytes is found by the next fill) */
    n = b->recv_peek(t, &s->ms, &s->watch, s->max, deadline, 0, &p, &intr);
  } while (n > 0);
  return 0;
}

void eddy__stream_byte_stream(eddy_stream *s) { s->empties = 1; }

/* Test hook (internal): does the stream read through multishot receive? */
int eddy__stream_multishot(const eddy_stream *s) { return s->ms != NULL; }

/* Whether a short read emptied the fd, so the next read can wait for an
 * edge instead (epoll). Learnt once per stream, on its first short read,
 * for streams whose maker did not say (eddy__stream_byte_stream). */
static int short_read_empties(eddy_stream *s) {
  if (likely(s->empties)) return s->empties > 0;
  struct stat st;
  int type = 0;
  socklen_t tl = sizeof type;
  s->empties = -1;
  if (fstat(s->watch.fd, &st) != 0) return 0;
  if (S_ISFIFO(st.st_mode) ||
      (S_ISSOCK(st.st_mode) &&
       getsockopt(s->watch.fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 &&
       type == SOCK_STREAM))
    s->empties = 1;
  return s->empties > 0;
}

/* Multishot receive is for byte-stream sockets on a backend that has it:
 * a message socket would cut messages at the buffers' size. */
static inline int ms_usable(eddy_stream *s, eddy_task *t) {
  if (likely(s->ms)) return 1;
  if (s->no_ms) return 0;
  if (!t->loop->backend->recv_peek || s->not_sock || s->regular ||
      !short_read_empties(s)) {
    s->no_ms = 1;
    return 0;
  }
  return 1;
}

/* Wait for the next edge. `fresh`: the caller's checkpoint is still
 * current (nothing has run since it), so the backend is asked directly;
 * after any wait the full eddy_watch_wait checks for cancellation again. */
static int wait_readable(eddy_stream *s, eddy_task *t, int *fresh,
                         eddy_time_t deadline) {
  if (likely(*fresh)) {
    *fresh = 0;
    return t->loop->backend->watch_wait(t, &s->watch, EDDY_READABLE, deadline);
  }
  return eddy_watch_wait(&s->watch, EDDY_READABLE, deadline);
}

/* Read more bytes into the buffer: 0 (some arrived, or end of stream: see
 * s->eof), or an error. t is the current task (NULL outside one); fresh
 * says the caller made its checkpoint just before (see wait_readable). */
static int fill(eddy_stream *s, eddy_task *t, int fresh, eddy_time_t deadline) {
  if (s->eof) return 0;
  if (s->err) return s->err;
  int r = make_room(s);
  if (r) return r;
  if (t && eddy__io_native(t->loop))
    return ms_usable(s, t) ? fill_ms(s, t, deadline)
                           : fill_native(s, t, deadline);
  if (s->regular) {
    long n = eddy__fd_read(s->watch.fd, s->buf + s->end, s->cap - s->end, -1,
                           &s->no_nowait);
    if (n > 0) s->end += (size_t)n;
    else if (n == 0) s->eof = 1;
    else if (n != -ECANCELED && n != -ETIMEDOUT) s->err = (int)n;
    return n < 0 ? (int)n : 0;
  }
  for (;;) {
    /* A read shorter than the room we offered emptied the socket, and
     * bytes arriving after it raise a new edge: so wait for that edge
     * rather than make a read that can only say EAGAIN. Edges are only
     * counted from just before the read on. A hang-up seen earlier raises
     * no new edge, so then the read is made (it returns the end); so does
     * urgent data, which cuts reads short without emptying the socket. */
    if (s->drained &&
        !(s->watch.ready & (EDDY__WATCH_HUP | EDDY__WATCH_URG))) {
      s->drained = 0;
      r = wait_readable(s, t, &fresh, deadline);
      if (r) return r;
    }
    s->watch.ready &= ~(unsigned)EDDY_READABLE;
    size_t room = s->cap - s->end;
    ssize_t n = s->not_sock
                    ? eddy__sys_recv(s->watch.fd, s->buf + s->end, room)
                    : eddy__sys_sock_recv(s->watch.fd, s->buf + s->end, room);
    if (n > 0) {
      s->end += (size_t)n;
      s->drained = (size_t)n < room && short_read_empties(s);
      return 0;
    }
    if (n == 0) {
      s->eof = 1;
      return 0;
    }
    if (n == -EINTR) continue;
    if (n == -ENOTSOCK && !s->not_sock) { /* a pipe or a terminal */
      s->not_sock = 1;
      continue;
    }
    if (n != -EAGAIN) {
      s->err = (int)n; /* sticky: a reset stream stays reset */
      return (int)n;
    }
    r = wait_readable(s, t, &fresh, deadline);
    if (r) return r;
  }
}

EDDY_API long eddy_stream_read(eddy_stream *s, void *buf, size_t n,
                               eddy_time_t deadline) {
  if (s) settle(s);
  eddy_task *t;
  int r = eddy__checkpoint(&t);
  if (r) return r;
  if (!s || !buf || n == 0) return -EINVAL;
  int fresh = 1;
  while (s->end == s->start) {
    if (s->eof) return 0; /* the end, as read(2) says it */
    r = fill(s, t, fresh, deadline);
    if (r) return r;
    fresh = 0;
  }
  size_t have = s->end - s->start;
  if (n > have) n = have;
  memcpy(buf, s->buf + s->start, n);
  consume(s, n);
  return (long)n;
}

EDDY_API int eddy_stream_read_exact(eddy_stream *s, void *buf, size_t n,
                                    eddy_time_t deadline) {
  if (s) settle(s);
  eddy_task *t;
  int r = eddy__checkpoint(&t);
  if (r) return r;
  if (!s || (!buf && n)) return -EINVAL;
  if (n > s->max) return -EMSGSIZE;
  int fresh = 1;
  while (s->end - s->start < n) {
    if (s->eof) return EDDY_DONE;
    if (s->end == s->cap && s->start) make_room(s);
    r = fill(s, t, fresh, deadline);
    if (r) return r;
    fresh = 0;
  }
  memcpy(buf, s->buf + s->start, n);
  consume(s, n);
  return 0;
}

EDDY_API int eddy_stream_read_until(eddy_stream *s, char delim, size_t max,
                                    const char **line, size_t *len,
                                    eddy_time_t deadline) {
  if (s) settle(s);
  eddy_task *t;
  int r = eddy__checkpoint(&t);
  if (r) return r;
  if (!s || !line || !len || max == 0) return -EINVAL;
  int fresh = 1;
  for (;;) {
    size_t have = s->end - s->start;
    char *from = s->buf + s->start + s->scanned;
    char *hit = memchr(from, delim, have - s->scanned);
    if (hit) {
      size_t n = (size_t)(hit - (s->buf + s->start)) + 1;
      if (n > max) return -EMSGSIZE;
      *line = s->buf + s->start;
      *len = n;
      consume(s, n);
      return 0;
    }
    s->scanned = have;
    if (have > max) return -EMSGSIZE;
    if (s->eof) {
      if (!have) return EDDY_DONE;
      *line = s->buf + s->start; /* last line without delimiter */
      *len = have;
      s->start = s->end;
      s->scanned = 0;
      return 0;
    }
    r = fill(s, t, fresh, deadline);
    if (r) return r;
    fresh = 0;
  }
}

EDDY_API int eddy_stream_read_chunk(eddy_stream *s, size_t max,
                                    const char **data, size_t *len,
                                    eddy_time_t deadline) {
  if (s) settle(s);
  eddy_task *t;
  int r = eddy__checkpoint(&t);
  if (r) return r;
  if (!s || !data || !len || max == 0) return -EINVAL;
  int fresh = 1;
  while (s->end == s->start) {
    if (s->eof) return EDDY_DONE;
    if (!s->err && eddy__io_native(t->loop) && ms_usable(s, t)) {
      /* zero-copy: lend the received buffer itself */
      const char *p;
      int intr;
      long k = t->loop->backend->recv_peek(t, &s->ms, &s->watch, s->max,
                                           deadline, 1, &p, &intr);
      if (k > 0) {
        *data = p;
        *len = (size_t)k < max ? (size_t)k : max;
        s->lent = *len;
        return 0;
      }
      r = ms_result(s, t, k, intr, deadline);
    } else {
      r = fill(s, t, fresh, deadline);
    }
    if (r) return r;
    fresh = 0;
  }
  size_t have = s->end - s->start;
  if (have > max) have = max;
  *data = s->buf + s->start;
  *len = have;
  consume(s, have);
  return 0;
}

/* The writes of v[0..iovcnt), advancing v in place; the caller made the
 * checkpoint and checked the arguments. */
static int writev_at(eddy_stream *s, eddy_task *t, struct iovec *v,
                     int iovcnt, size_t *sent, eddy_time_t deadline) {
  size_t total = 0;
  int r;
  int native = eddy__io_native(t->loop);
  int i = 0;
  while (i < iovcnt) {
    if (v[i].iov_len == 0) {
      i++;
      continue;
    }
    ssize_t n;
    int intr = 0;
    if (s->regular) {
      n = eddy__fd_write(s->watch.fd, v[i].iov_base, v[i].iov_len, -1);
      if (n == -EAGAIN) n = -EIO; /* a regular file is never "full" */
    } else if (native) {
      eddy__io_req q = {.op = s->not_sock ? EDDY__IO_WRITEV : EDDY__IO_SENDV,
                        .fd = s->watch.fd, .iov = v + i, .iovcnt = iovcnt - i,
                        .watch = &s->watch};
      n = eddy__io_call(t, &q, deadline, &intr);
      /* Test the operation made, not the flag: another writer may have
       * found out (and set it) while this send was in flight. */
      if (n == -ENOTSOCK && q.op == EDDY__IO_SENDV) {
        s->not_sock = 1;
        continue;
      }
      if (intr && n < 0) return intr;
    } else {
      /* one buffer left (every eddy_stream_write): send(2), which spares
       * the kernel sendmsg's msghdr copy and iovec import */
      n = iovcnt - i == 1
              ? eddy__sys_send(s->watch.fd, v[i].iov_base, v[i].iov_len)
              : eddy__sys_sendv(s->watch.fd, v + i, iovcnt - i);
    }
    if (n >= 0) {
      total += (size_t)n;
      if (sent) *sent = total;
      while (n > 0 && i < iovcnt) { /* short write: advance */
        size_t k = (size_t)n < v[i].iov_len ? (size_t)n : v[i].iov_len;
        v[i].iov_base = (char *)v[i].iov_base + k;
        v[i].iov_len -= k;
        n -= (ssize_t)k;
        if (v[i].iov_len == 0) i++;
      }
      /* Interrupted after the kernel took bytes: if it took them all, the
       * write happened, and saying otherwise would make the caller treat
       * sent data as unsent; the cancellation shows at the next
       * checkpoint. If it took part, *sent says how much. */
      if (intr && i < iovcnt) return intr;
      continue;
    }
    if (n == -EINTR) continue;
    if (n != -EAGAIN) return (int)n;
    r = eddy_watch_wait(&s->watch, EDDY_WRITABLE, deadline);
    if (r) return r;
  }
  return 0;
}

EDDY_API int eddy_stream_writev(eddy_stream *s, const struct iovec *iov,
                                int iovcnt, size_t *sent,
                                eddy_time_t deadline) {
  eddy_task *t;
  if (sent) *sent = 0;
  int r = eddy__checkpoint(&t);
  if (r) return r;
  if (!s || iovcnt < 0 || iovcnt > 64 || (!iov && iovcnt)) return -EINVAL;
  if (s->wr_shut) return -EPIPE;
  struct iovec v[64];
  memcpy(v, iov, sizeof *v * (size_t)iovcnt);
  return writev_at(s, t, v, iovcnt, sent, deadline);
}

/* eddy_stream_write on a readiness backend after send(2) returned k short
 * of n: wait for room, then the rest goes through writev_at. */
static __attribute__((noinline)) int write_rest(eddy_stream *s, eddy_task *t,
                                                const char *buf, size_t n,
                                                ssize_t k, size_t *sent,
                                                eddy_time_t deadline) {
  size_t done = k > 0 ? (size_t)k : 0;
  if (sent) *sent = done;
  if (k < 0 && k != -EAGAIN && k != -EINTR) return (int)k;
  int r;
  if (k != -EINTR && (r = eddy_watch_wait(&s->watch, EDDY_WRITABLE, deadline)))
    return r;
  struct iovec v = {.iov_base = (void *)(buf + done), .iov_len = n - done};
  size_t more = 0;
  r = writev_at(s, t, &v, 1, &more, deadline);
  if (sent) *sent = done + more;
  return r;
}

/* eddy_stream_write on a ring backend: the send operation, again for what
 * a short send left, without writev_at's iovec walk. As there: a send
 * interrupted after it took everything happened; ENOTSOCK turns the stream
 * into a plain fd. */
static int write_native(eddy_stream *s, eddy_task *t, const char *buf,
                        size_t n, size_t *sent, eddy_time_t deadline) {
  size_t done = 0;
  while (done < n) {
    struct iovec v = {.iov_base = (void *)(buf + done), .iov_len = n - done};
    eddy__io_req q = {.op = s->not_sock ? EDDY__IO_WRITEV : EDDY__IO_SENDV,
                      .fd = s->watch.fd, .iov = &v, .iovcnt = 1,
                      .watch = &s->watch};
    int intr;
    long k = eddy__io_call(t, &q, deadline, &intr);
    if (k >= 0) {
      done += (size_t)k;
      if (sent) *sent = done;
      if (intr && done < n) return intr;
      continue;
    }
    if (k == -ENOTSOCK && q.op == EDDY__IO_SENDV) {
      s->not_sock = 1;
      continue;
    }
    if (intr) return intr;
    if (k == -EINTR) continue;
    if (k != -EAGAIN) return (int)k;
    int r = eddy_watch_wait(&s->watch, EDDY_WRITABLE, deadline);
    if (r) return r;
  }
  return 0;
}

EDDY_API int eddy_stream_write(eddy_stream *s, const void *buf, size_t n,
                               size_t *sent, eddy_time_t deadline) {
  eddy_task *t;
  if (sent) *sent = 0;
  int r = eddy__checkpoint(&t);
  if (r) return r;
  if (!s || (!buf && n)) return -EINVAL;
  if (s->wr_shut) return -EPIPE;
  if (unlikely(s->regular || n == 0)) {
    struct iovec v = {.iov_base = (void *)buf, .iov_len = n};
    return writev_at(s, t, &v, 1, sent, deadline);
  }
  if (eddy__io_native(t->loop))
    return write_native(s, t, buf, n, sent, deadline);
  /* The common case on a readiness backend: one send(2) takes it all, and
   * writev's bookkeeping is not needed. */
  ssize_t k = eddy__sys_send(s->watch.fd, buf, n);
  if (unlikely(k < 0 || (size_t)k != n))
    return write_rest(s, t, buf, n, k, sent, deadline);
  if (sent) *sent = n;
  return 0;
}

EDDY_API int eddy_stream_shutdown(eddy_stream *s) {
  if (!s) return -EINVAL;
  if (s->wr_shut) return 0;
  s->wr_shut = 1;
  if (s->not_sock) return 0;
  if (shutdown(s->watch.fd, SHUT_WR) != 0) {
    if (errno != ENOTSOCK) return -errno;
    s->not_sock = 1;
  }
  return 0;
}

/* Graceful close. Runs shielded, bounded by the loop's grace period, so a
 * cancelled task still closes its connections properly. */
EDDY_API int eddy_stream_close(eddy_stream *s) {
  if (!s) return 0;
  eddy_loop *loop = eddy__loop();
  int rc = 0;
  settle(s);
  if (loop && eddy__self() && !s->err) {
    eddy_scope shield;
    eddy_time_t grace = loop->grace > 0 ? eddy_deadline_in(loop->grace)
                                        : EDDY_FOREVER;
    if (eddy_scope_enter(&shield, grace, EDDY_SCOPE_SHIELD) == 0) {
      eddy_stream_shutdown(s);
      /* read until the peer closes, so it sees a clean end and not a reset
       * (sockets only: a pipe or a terminal has no such peer to wait for) */
      s->start = s->end = 0;
      while (!s->not_sock && !s->eof && !s->err) {
        int r = fill(s, eddy__self(), 0, EDDY_FOREVER);
        if (r) break;
        s->start = s->end = 0;
      }
      eddy_scope_exit(&shield);
    }
  }
  int fd = s->watch.fd;
  if (s->ms) s->watch.loop->backend->recv_close(s->watch.loop, s->ms);
  if (!s->regular) eddy_watch_fini(&s->watch);
  if (fd >= 0) rc = eddy__sys_close(fd);
  eddy__free(s->buf);
  eddy__free(s);
  return rc;
}
