/* echo_uring.c: the hand-written C floor of the TCP echo entries on
 * io_uring (runtime c-uring), with liburing (liburing-dev, 2.3 in Debian 12).
 *
 *  - the ring is set up SINGLE_ISSUER | DEFER_TASKRUN (completions are
 *    processed only when we wait: no interrupts of our own thread), falling
 *    back to COOP_TASKRUN, then to no flags, on kernels without them;
 *  - one multishot accept feeds every connection;
 *  - each connection has one multishot recv drawing from a provided-buffer
 *    ring: data lands in a pool buffer, with no recv to resubmit;
 *  - the bytes are sent back from that same buffer (no copy); one send in
 *    flight per connection keeps the echo in order; the buffer goes back to
 *    the ring when its send completes;
 *  - one io_uring_enter per loop turn submits everything and waits.
 *
 *   echo_uring PORT           serves 127.0.0.1:PORT until killed */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define NBUF 512          /* provided buffers (a power of two) */
#define BUFSZ (16 * 1024)
#define GROUP 1
#define QLEN 64           /* received buffers waiting for their send */

enum { OP_ACCEPT, OP_RECV, OP_SEND };

typedef struct conn {
  int fd;
  int sending;     /* a send is in flight */
  int recv_live;   /* the multishot recv has not terminated */
  int dead;
  unsigned qh, qt; /* queue of buffers to echo: bid and length */
  uint16_t qbid[QLEN];
  uint32_t qlen[QLEN];
  uint32_t off;    /* bytes of the head buffer already sent */
} conn;

static struct io_uring ring;
static struct io_uring_buf_ring *br;
static char *bufs;
static int lfd;

static struct io_uring_sqe *sqe_get(void) {
  struct io_uring_sqe *s = io_uring_get_sqe(&ring);
  while (!s) { /* submission queue full: push it to the kernel */
    io_uring_submit(&ring);
    s = io_uring_get_sqe(&ring);
  }
  return s;
}

static uint64_t tag(void *p, int op) { return (uint64_t)(uintptr_t)p | (uint64_t)op; }

static void arm_accept(void) {
  struct io_uring_sqe *s = sqe_get();
  io_uring_prep_multishot_accept(s, lfd, NULL, NULL, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(s, tag(NULL, OP_ACCEPT));
}

static void arm_recv(conn *c) {
  struct io_uring_sqe *s = sqe_get();
  io_uring_prep_recv_multishot(s, c->fd, NULL, 0, 0);
  s->flags |= IOSQE_BUFFER_SELECT;
  s->buf_group = GROUP;
  io_uring_sqe_set_data64(s, tag(c, OP_RECV));
  c->recv_live = 1;
}

static void give_back(uint16_t bid) {
  io_uring_buf_ring_add(br, bufs + (size_t)bid * BUFSZ, BUFSZ, bid,
                        io_uring_buf_ring_mask(NBUF), 0);
  io_uring_buf_ring_advance(br, 1);
}

static void send_head(conn *c) {
  unsigned i = c->qh % QLEN;
  struct io_uring_sqe *s = sqe_get();
  io_uring_prep_send(s, c->fd, bufs + (size_t)c->qbid[i] * BUFSZ + c->off,
                     c->qlen[i] - c->off, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(s, tag(c, OP_SEND));
  c->sending = 1;
}

/* Free the connection once nothing of it is in flight any more. */
static void maybe_free(conn *c) {
  if (!c->dead || c->sending || c->recv_live) return;
  while (c->qh != c->qt) give_back(c->qbid[c->qh++ % QLEN]);
  close(c->fd);
  free(c);
}

static void kill_conn(conn *c) {
  if (!c->dead) {
    c->dead = 1;
    shutdown(c->fd, SHUT_RDWR); /* ends the multishot recv */
  }
  maybe_free(c);
}

static void on_recv(conn *c, struct io_uring_cqe *cqe) {
  int more = cqe->flags & IORING_CQE_F_MORE;
  if (!more) c->recv_live = 0;
  if (cqe->res > 0) {
    uint16_t bid = (uint16_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
    if (c->dead || c->qt - c->qh == QLEN) {
      give_back(bid);
      kill_conn(c);
      return;
    }
    c->qbid[c->qt % QLEN] = bid;
    c->qlen[c->qt % QLEN] = (uint32_t)cqe->res;
    c->qt++;
    if (!c->sending) send_head(c);
    if (!more && !c->dead) arm_recv(c);
    return;
  }
  if (cqe->res == -ENOBUFS && !c->dead) { /* pool empty for a moment */
    if (!more) arm_recv(c);
    return;
  }
  kill_conn(c); /* end of stream or error */
}

static void on_send(conn *c, struct io_uring_cqe *cqe) {
  c->sending = 0;
  if (cqe->res < 0 || c->dead) {
    kill_conn(c);
    return;
  }
  unsigned i = c->qh % QLEN;
  c->off += (uint32_t)cqe->res;
  if (c->off == c->qlen[i]) {
    give_back(c->qbid[i]);
    c->qh++;
    c->off = 0;
  }
  if (c->qh != c->qt) send_head(c);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: echo_uring PORT\n");
    return 2;
  }
  lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(lfd, (struct sockaddr *)&a, sizeof a) || listen(lfd, 1024)) {
    perror("echo_uring: bind/listen");
    return 1;
  }
  unsigned flagsets[] = {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
                         IORING_SETUP_COOP_TASKRUN, 0};
  int r = -EINVAL;
  for (unsigned k = 0; k < 3 && r < 0; k++) {
    struct io_uring_params p = {.flags = flagsets[k]};
    r = io_uring_queue_init_params(1024, &ring, &p);
  }
  if (r < 0) {
    fprintf(stderr, "echo_uring: io_uring_queue_init: %s\n", strerror(-r));
    return 1;
  }
  size_t brsz = NBUF * sizeof(struct io_uring_buf);
  br = mmap(NULL, brsz, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  bufs = malloc((size_t)NBUF * BUFSZ);
  if (br == MAP_FAILED || !bufs) {
    fprintf(stderr, "echo_uring: out of memory\n");
    return 1;
  }
  io_uring_buf_ring_init(br);
  struct io_uring_buf_reg reg = {.ring_addr = (uint64_t)(uintptr_t)br,
                                 .ring_entries = NBUF, .bgid = GROUP};
  if ((r = io_uring_register_buf_ring(&ring, &reg, 0)) < 0) {
    fprintf(stderr, "echo_uring: register_buf_ring: %s\n", strerror(-r));
    return 1;
  }
  for (int b = 0; b < NBUF; b++)
    io_uring_buf_ring_add(br, bufs + (size_t)b * BUFSZ, BUFSZ, (unsigned short)b,
                          io_uring_buf_ring_mask(NBUF), b);
  io_uring_buf_ring_advance(br, NBUF);
  arm_accept();
  for (;;) {
    r = io_uring_submit_and_wait(&ring, 1);
    if (r < 0 && r != -EINTR) {
      fprintf(stderr, "echo_uring: io_uring_enter: %s\n", strerror(-r));
      return 1;
    }
    struct io_uring_cqe *cqe;
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      seen++;
      uint64_t ud = io_uring_cqe_get_data64(cqe);
      conn *c = (conn *)(uintptr_t)(ud & ~(uint64_t)3);
      switch ((int)(ud & 3)) {
      case OP_ACCEPT:
        if (cqe->res >= 0) {
          conn *nc = calloc(1, sizeof *nc);
          if (!nc) {
            close(cqe->res);
          } else {
            nc->fd = cqe->res;
            setsockopt(nc->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            arm_recv(nc);
          }
        }
        if (!(cqe->flags & IORING_CQE_F_MORE)) arm_accept();
        break;
      case OP_RECV: on_recv(c, cqe); break;
      case OP_SEND: on_send(c, cqe); break;
      }
    }
    io_uring_cq_advance(&ring, seen);
  }
}
