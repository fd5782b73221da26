/* echo_load.c: the closed-loop load generator of the TCP echo entries.
 *
 *   echo_load PORT CONNS SIZE SECONDS [WARMUP] [SERVER_PID]
 *
 * Opens CONNS connections to 127.0.0.1:PORT; each keeps exactly one request
 * of SIZE bytes outstanding: send it, wait until SIZE bytes came back, check
 * they are the bytes sent (a sequence number and a per-connection pattern),
 * send the next. One thread, epoll (level-triggered: a connection has at
 * most one message in flight, so an event always means "read it").
 *
 * Requests completed during the WARMUP seconds (default 0.5) are not
 * counted; the measured window is the SECONDS after it. With SERVER_PID,
 * the server's CPU time (utime + stime of /proc/PID/stat, all its threads)
 * is read at both ends of the window, so requests per server CPU-second and
 * the server's utilisation (CPU-seconds per second: near 1 means the server
 * was the bottleneck) come from exactly the window measured.
 *
 * Prints one line on stdout:
 *   requests=N seconds=S rate=R total=T cpu=C per_cpu=P util=U
 * (total counts every request, warm-up included, for per-request counters
 * such as system calls taken over the whole run). Exit status 1 with a
 * message on stderr if a connection fails or an echo differs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct conn {
  int fd;
  size_t got;
  uint64_t seq;
  unsigned char *tx, *rx;
} conn;

static size_t size;
static long long total;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* utime + stime of a process in seconds; -1 if unreadable. */
static double cpu_of(int pid) {
  if (pid <= 0) return -1;
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')'); /* the command name may hold spaces */
  if (!p) return -1;
  unsigned long ut = 0, st = 0;
  /* after ")": state(3) ... utime is field 14, stime 15 */
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
             &st) != 2)
    return -1;
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void die(const char *what) {
  fprintf(stderr, "echo_load: %s: %s\n", what, strerror(errno));
  exit(1);
}

/* Send the whole request; a full socket buffer (never seen with these
 * sizes on loopback) is waited out with poll. */
static void send_all(conn *c) {
  memcpy(c->tx, &c->seq, sizeof c->seq);
  size_t off = 0;
  while (off < size) {
    ssize_t n = send(c->fd, c->tx + off, size - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      struct pollfd p = {.fd = c->fd, .events = POLLOUT};
      poll(&p, 1, 1000);
      continue;
    }
    die("send");
  }
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: echo_load PORT CONNS SIZE SECONDS [WARMUP] [SERVER_PID]\n");
    return 2;
  }
  int port = atoi(argv[1]), nconn = atoi(argv[2]);
  size = (size_t)atol(argv[3]);
  double secs = atof(argv[4]);
  double warm = argc > 5 ? atof(argv[5]) : 0.5;
  int pid = argc > 6 ? atoi(argv[6]) : 0;
  if (port <= 0 || nconn <= 0 || size < sizeof(uint64_t) || secs <= 0) {
    fprintf(stderr, "echo_load: bad arguments\n");
    return 2;
  }
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  conn *cs = calloc((size_t)nconn, sizeof *cs);
  if (!cs) die("calloc");
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  for (int i = 0; i < nconn; i++) {
    conn *c = &cs[i];
    c->tx = malloc(size);
    c->rx = malloc(size);
    if (!c->tx || !c->rx) die("malloc");
    for (size_t k = 0; k < size; k++) c->tx[k] = (unsigned char)(i * 7 + k);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0) die("socket");
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a)) die("connect");
    if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK)) die("fcntl");
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e)) die("epoll_ctl");
  }
  for (int i = 0; i < nconn; i++) send_all(&cs[i]);

  double t0 = now(), tw = t0 + warm, tend = tw + secs;
  long long counted = -1, at_warm = 0;
  double cpu0 = -1, cpu1 = -1, tstart = tw, tstop = tend;
  struct epoll_event evs[512];
  for (;;) {
    int n = epoll_wait(ep, evs, 512, 5000);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    if (n == 0) {
      int partial = 0;
      for (int i = 0; i < nconn; i++) partial += cs[i].got > 0;
      fprintf(stderr,
              "echo_load: no echo for 5 s (server stuck or dead; %lld round "
              "trips done, %d of %d connections hold a partial echo)\n",
              total, partial, nconn);
      return 1;
    }
    for (int i = 0; i < n; i++) {
      conn *c = evs[i].data.ptr;
      ssize_t r = recv(c->fd, c->rx + c->got, size - c->got, 0);
      if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (r < 0) die("recv");
      if (r == 0) {
        fprintf(stderr, "echo_load: server closed a connection\n");
        return 1;
      }
      c->got += (size_t)r;
      if (c->got < size) continue;
      if (memcmp(c->rx, c->tx, size) != 0) {
        fprintf(stderr, "echo_load: echoed bytes differ from the bytes sent\n");
        return 1;
      }
      total++;
      c->got = 0;
      c->seq++;
      send_all(c);
    }
    double t = now();
    if (counted < 0 && t >= tw) {
      counted = 0;
      at_warm = total;
      tstart = t;
      cpu0 = cpu_of(pid);
    } else if (counted >= 0 && t >= tend) {
      tstop = t;
      cpu1 = cpu_of(pid);
      counted = total - at_warm;
      break;
    }
  }
  for (int i = 0; i < nconn; i++) {
    close(cs[i].fd);
    free(cs[i].tx);
    free(cs[i].rx);
  }
  free(cs);
  close(ep);
  double el = tstop - tstart, cpu = cpu0 >= 0 && cpu1 >= 0 ? cpu1 - cpu0 : -1;
  printf("requests=%lld seconds=%.3f rate=%.1f total=%lld cpu=%.3f per_cpu=%.1f util=%.3f\n",
         counted, el, counted / el, total, cpu, cpu > 0 ? counted / cpu : -1,
         cpu >= 0 ? cpu / el : -1);
  return 0;
}
