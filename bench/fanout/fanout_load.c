/* fanout_load.c: the load generator of the fan-out benchmark (run.sh).
 *
 * One thread, one epoll set, every socket non-blocking. It opens --conns
 * connections to a chat server speaking eddy-chat's line protocol; each
 * chooses a nickname (/nick), --members of them join the bench room, the
 * others idle: half in --idle-rooms other rooms, half in no room at all
 * (the lobby). --senders of the members (nicknames s0, s1, ...) then post
 * timestamped messages "SEQ SEND_NS xxxx..." to the room in up to two
 * timed phases: first (--rate R > 0) R messages per second in total, open
 * loop, for --duration seconds: the latency phase; then (--saturate S > 0)
 * S seconds as fast as the room takes them: each sender keeps at most
 * --window messages that not every member has received yet (closed loop,
 * so the server's per-client buffers are never what limits the run).
 *
 * Every line reaching every connection is read. A member parses the room
 * messages "[ROOM] <sK> SEQ SEND_NS ..." (one message reaching one member is
 * one delivery, the sender's own copy included): the latency is now minus
 * SEND_NS (CLOCK_MONOTONIC, same host; "now" is taken once per read(2)),
 * and the sequence per sender must go up by exactly one: a gap is counted
 * as lost messages, a step back as reordered. Messages a member never got
 * by the end of the drain are lost too.
 *
 * It prints one line per phase on stdout:
 *   RESULT mode=rate|saturation deliveries=... seconds=... deliveries_per_s=... p50_ns=...
 *          p99_ns=... lost=... reordered=... ... rss_connected_kb=...
 * and progress on stderr; exit status 0 only if nothing was lost, reordered,
 * refused or disconnected. With --server-pid it reads the server's VmRSS
 * once every connection is set up and quiet and at the end of each phase,
 * and its CPU time (utime +
 * stime, every thread) over each timed phase. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CARRY_MAX 1024     /* longest line kept across reads */
#define ACK_RING 65536     /* per sender: messages in flight we can track */
#define SETUP_INFLIGHT 128 /* connections being set up at once */

enum { ST_CONNECTING, ST_CONNECTED, ST_SETUP, ST_READY, ST_DEAD };
enum { R_LOBBY, R_IDLE_ROOM, R_MEMBER };

typedef struct conn {
  int fd;
  int id;
  uint8_t state, role;
  int16_t sender;          /* sender index, or -1 */
  uint16_t carry_len;
  char *carry;             /* a partial line left over from the last read */
  char *out;               /* bytes the kernel did not take yet */
  size_t out_len, out_cap;
  uint32_t *next_seq;      /* members: next expected seq per sender */
  char nick[16];
  char room[24];
} conn;

static struct {
  const char *host;
  int port, conns, members, senders, idle_rooms, window, size;
  double rate, duration, saturate, drain;
  const char *room;
  int server_pid;
  double setup_timeout;
} opt = {.host = "127.0.0.1", .port = 7777, .conns = 10000, .members = 1000, .senders = 4,
         .idle_rooms = 9, .window = 32, .size = 64, .rate = 0, .duration = 10, .saturate = 10,
         .drain = 10, .room = "bench", .setup_timeout = 120};

static conn *conns;
static int ep;
static uint64_t deliveries, lost, reordered, errors, disconnects, refused, other_lines;
static uint64_t sent_total;
static uint64_t *sent, *acked;           /* per sender */
static uint16_t *ackcnt;                 /* per sender: ACK_RING counters */
static int nready, nsetup, next_to_open;
static uint64_t last_rx_ns, last_delivery_ns;
static int errors_shown;

/* ---- latency histogram: log-linear, 64 sub-buckets per power of two */
#define SUB_BITS 6
#define NBUCKETS (128 + 57 * 64)
static uint64_t hist[NBUCKETS];
static uint64_t lat_max;

static int bucket(uint64_t v) {
  if (v < 128) return (int)v;
  int e = 63 - __builtin_clzll(v);
  return 128 + (e - 7) * 64 + (int)((v >> (e - SUB_BITS)) & 63);
}
static uint64_t bucket_mid(int b) {
  if (b < 128) return (uint64_t)b;
  int e = (b - 128) / 64 + 7, sub = (b - 128) % 64;
  uint64_t lo = ((uint64_t)1 << e) + ((uint64_t)sub << (e - SUB_BITS));
  return lo + ((uint64_t)1 << (e - SUB_BITS)) / 2;
}
static uint64_t percentile(double p) {
  uint64_t total = 0, seen = 0;
  for (int i = 0; i < NBUCKETS; i++) total += hist[i];
  if (!total) return 0;
  uint64_t want = (uint64_t)(p * (double)total);
  if (want >= total) want = total - 1;
  for (int i = 0; i < NBUCKETS; i++) {
    seen += hist[i];
    if (seen > want) return bucket_mid(i);
  }
  return lat_max;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
  fprintf(stderr, "fanout_load: %s: %s\n", what, strerror(errno));
  exit(2);
}

static void kill_conn(conn *c, const char *why) {
  if (c->state == ST_DEAD) return;
  if (c->state != ST_READY) nsetup--;
  else nready--;
  c->state = ST_DEAD;
  disconnects++;
  if (errors_shown++ < 5) fprintf(stderr, "fanout_load: connection %d (%s): %s\n", c->id, c->nick, why);
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
}

/* Queue bytes; write what the kernel takes now, keep the rest for EPOLLOUT. */
static void send_bytes(conn *c, const char *p, size_t n) {
  if (c->state == ST_DEAD) return;
  if (c->out_len == 0 && c->state != ST_CONNECTING) {
    ssize_t w = write(c->fd, p, n);
    if (w < 0 && errno != EAGAIN) {
      kill_conn(c, strerror(errno));
      return;
    }
    if (w > 0) {
      p += w;
      n -= (size_t)w;
    }
    if (n == 0) return;
  }
  if (c->out_len + n > c->out_cap) {
    size_t cap = c->out_cap ? c->out_cap * 2 : 4096;
    while (cap < c->out_len + n) cap *= 2;
    char *nb = realloc(c->out, cap);
    if (!nb) die("realloc");
    c->out = nb;
    c->out_cap = cap;
  }
  memcpy(c->out + c->out_len, p, n);
  c->out_len += n;
}

static void flush_out(conn *c) {
  while (c->out_len && c->state != ST_DEAD) {
    ssize_t w = write(c->fd, c->out, c->out_len);
    if (w < 0) {
      if (errno != EAGAIN) kill_conn(c, strerror(errno));
      return;
    }
    memmove(c->out, c->out + w, c->out_len - (size_t)w);
    c->out_len -= (size_t)w;
  }
}

static void open_one(void) {
  conn *c = &conns[next_to_open++];
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket (raise ulimit -n)");
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port)};
  inet_pton(AF_INET, opt.host, &a.sin_addr);
  int one = 1; /* a message goes out when it is sent, not with the next one */
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->fd = fd;
  c->state = ST_CONNECTING;
  nsetup++;
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) die("epoll_ctl");
  if (connect(fd, (struct sockaddr *)&a, sizeof a) && errno != EINPROGRESS) {
    refused++;
    kill_conn(c, strerror(errno));
  }
}

static void became_ready(conn *c) {
  c->state = ST_READY;
  nsetup--;
  nready++;
}

static void sender_ack(int s, uint32_t seq) {
  if (++ackcnt[(size_t)s * ACK_RING + seq % ACK_RING] < opt.members) return;
  /* every member has it: advance this sender's acked mark over the
   * contiguous run of complete messages */
  while (acked[s] < sent[s] && ackcnt[(size_t)s * ACK_RING + acked[s] % ACK_RING] >= opt.members) {
    ackcnt[(size_t)s * ACK_RING + acked[s] % ACK_RING] = 0;
    acked[s]++;
  }
}

/* A room message "[ROOM] <sK> SEQ NS ...", or another line. */
static void on_line(conn *c, char *l, size_t n, uint64_t now) {
  l[n] = 0;
  if (c->state == ST_READY && c->role == R_MEMBER && l[0] == '[') {
    size_t rl = strlen(c->room);
    if (n > rl + 5 && !memcmp(l + 1, c->room, rl) && l[rl + 1] == ']' && l[rl + 2] == ' ' &&
        l[rl + 3] == '<' && l[rl + 4] == 's') {
      char *p = l + rl + 5, *e;
      unsigned long s = strtoul(p, &e, 10);
      if (e != p && *e == '>' && s < (unsigned long)opt.senders) {
        uint64_t seq = strtoull(e + 1, &p, 10);
        uint64_t ts = strtoull(p, &e, 10);
        if (p != e) {
          deliveries++;
          last_delivery_ns = now;
          uint64_t lat = now > ts ? now - ts : 0;
          hist[bucket(lat)]++;
          if (lat > lat_max) lat_max = lat;
          uint32_t exp = c->next_seq[s];
          if (seq == exp) {
            c->next_seq[s] = (uint32_t)seq + 1;
          } else if (seq > exp) {
            lost += seq - exp;
            c->next_seq[s] = (uint32_t)seq + 1;
          } else { /* a step back: counted, not acknowledged twice */
            reordered++;
            return;
          }
          sender_ack((int)s, (uint32_t)seq);
          return;
        }
      }
    }
  }
  if (!strncmp(l, "error:", 6)) {
    errors++;
    if (errors_shown++ < 5) fprintf(stderr, "fanout_load: %s got: %s\n", c->nick, l);
    if (c->state != ST_READY && c->state != ST_DEAD) kill_conn(c, "refused during set-up");
    return;
  }
  switch (c->state) {
  case ST_CONNECTED:
    if (!strncmp(l, "welcome", 7)) { /* the server took us: set up */
      char cmd[96];
      int k;
      if (c->role == R_LOBBY) k = snprintf(cmd, sizeof cmd, "/nick %s\n", c->nick);
      else k = snprintf(cmd, sizeof cmd, "/nick %s\n/join %s\n", c->nick, c->room);
      c->state = ST_SETUP;
      send_bytes(c, cmd, (size_t)k);
      return;
    }
    break;
  case ST_SETUP:
    if (c->role == R_LOBBY) {
      if (!strncmp(l, "* you are ", 10) && !strcmp(l + 10, c->nick)) became_ready(c);
    } else {
      char want[64];
      snprintf(want, sizeof want, "[%s] * %s joined", c->room, c->nick);
      if (!strcmp(l, want)) became_ready(c);
    }
    return;
  default:
    break;
  }
  other_lines++;
}

static char rxbuf[1 << 18];

static void on_readable(conn *c) {
  for (;;) {
    if (c->state == ST_DEAD) return;
    size_t have = c->carry_len;
    memcpy(rxbuf, c->carry, have);
    ssize_t n = read(c->fd, rxbuf + have, sizeof rxbuf - have - 1);
    if (n == 0) {
      kill_conn(c, "closed by the server");
      return;
    }
    if (n < 0) {
      if (errno != EAGAIN) kill_conn(c, strerror(errno));
      return;
    }
    uint64_t now = now_ns();
    last_rx_ns = now;
    size_t len = have + (size_t)n, start = 0;
    for (;;) {
      char *nl = memchr(rxbuf + start, '\n', len - start);
      if (!nl) break;
      size_t e = (size_t)(nl - rxbuf);
      on_line(c, rxbuf + start, e - start, now);
      start = e + 1;
      if (c->state == ST_DEAD) return;
    }
    if (len - start >= CARRY_MAX) {
      kill_conn(c, "line too long");
      return;
    }
    memcpy(c->carry, rxbuf + start, len - start);
    c->carry_len = (uint16_t)(len - start);
    if ((size_t)n < sizeof rxbuf - have - 1) return; /* drained (edge-triggered) */
  }
}

static void on_event(conn *c, uint32_t ev) {
  if (c->state == ST_DEAD) return;
  if (c->state == ST_CONNECTING) {
    if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    int err = 0;
    socklen_t l = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
    if (err) {
      refused++;
      kill_conn(c, strerror(err));
      return;
    }
    c->state = ST_CONNECTED;
  }
  if (ev & EPOLLOUT) flush_out(c);
  if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) on_readable(c);
}

static void send_message(int s, uint64_t now) {
  conn *c = &conns[s]; /* senders are the first connections */
  char line[512];
  int n = snprintf(line, sizeof line, "%" PRIu64 " %" PRIu64 " ", sent[s], now);
  while (n < opt.size) line[n++] = 'x';
  line[n++] = '\n';
  send_bytes(c, line, (size_t)n);
  sent[s]++;
  sent_total++;
}

static void poll_once(int timeout_ms) {
  struct epoll_event evs[512];
  int n = epoll_wait(ep, evs, 512, timeout_ms);
  if (n < 0 && errno != EINTR) die("epoll_wait");
  for (int i = 0; i < n; i++) on_event(evs[i].data.ptr, evs[i].events);
}

static long read_rss_kb(int pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  long kb = -1;
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, "VmRSS:", 6)) kb = atol(line + 6);
  fclose(f);
  return kb;
}

static double read_cpu_s(int pid) { /* utime + stime of every thread */
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  if (!p) return -1;
  unsigned long ut = 0, st = 0;
  /* after ") ": state(3) ... utime is field 14, stime 15 */
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) return -1;
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

/* One timed phase: rate > 0 sends that many messages per second (open
 * loop), rate == 0 saturates (closed loop, --window per sender). Then waits
 * until every member has every message (or --drain), prints its RESULT
 * line and returns 1 if anything went wrong. */
static int run_phase(double rate, double duration, long rss_kb, double setup_s) {
  memset(hist, 0, sizeof hist);
  lat_max = 0;
  uint64_t d0 = deliveries, lost0 = lost, re0 = reordered, err0 = errors, disc0 = disconnects;
  uint64_t sent0 = sent_total, backlogged = 0;
  fprintf(stderr, "fanout_load: %s phase, %.1f s\n", rate > 0 ? "rate" : "saturation", duration);
  double srv_cpu0 = opt.server_pid ? read_cpu_s(opt.server_pid) : -1, my_cpu0 = self_cpu_s();
  uint64_t t0 = now_ns(), t_end = t0 + (uint64_t)(duration * 1e9);
  for (;;) {
    uint64_t now = now_ns();
    if (now >= t_end) break;
    if (rate > 0) {
      uint64_t due = (uint64_t)((double)(now - t0) / 1e9 * rate) + 1;
      while (sent_total - sent0 < due) {
        int s = (int)(sent_total % (uint64_t)opt.senders);
        if (sent[s] - acked[s] >= ACK_RING) { /* the server is far behind */
          backlogged++;
          break;
        }
        send_message(s, now);
      }
      poll_once(1);
    } else {
      for (int s = 0; s < opt.senders; s++)
        while (sent[s] - acked[s] < (uint64_t)opt.window && conns[s].state == ST_READY)
          send_message(s, now_ns());
      poll_once(10);
    }
  }
  uint64_t t_stop = now_ns();
  /* drain: until every member has every message, or --drain */
  for (;;) {
    int done = 1;
    for (int s = 0; s < opt.senders; s++)
      if (acked[s] < sent[s]) done = 0;
    if (done || (double)(now_ns() - t_stop) / 1e9 > opt.drain || nready < opt.conns) break;
    poll_once(10);
  }
  double srv_cpu = opt.server_pid ? read_cpu_s(opt.server_pid) - srv_cpu0 : -1;
  double my_cpu = self_cpu_s() - my_cpu0;
  long rss_end_kb = opt.server_pid ? read_rss_kb(opt.server_pid) : -1;
  /* what a member never got is lost; count it once */
  for (int i = 0; i < opt.members; i++)
    for (int s = 0; s < opt.senders; s++)
      if (conns[i].next_seq[s] < sent[s]) {
        lost += sent[s] - conns[i].next_seq[s];
        conns[i].next_seq[s] = (uint32_t)sent[s];
      }
  uint64_t msgs = sent_total - sent0, dl = deliveries - d0;
  uint64_t t_last = last_delivery_ns > t0 ? last_delivery_ns : now_ns();
  double secs = (double)(t_last - t0) / 1e9;
  printf("RESULT mode=%s messages=%" PRIu64 " deliveries=%" PRIu64 " seconds=%.3f deliveries_per_s=%.0f"
         " p50_ns=%" PRIu64 " p99_ns=%" PRIu64 " max_ns=%" PRIu64 " lost=%" PRIu64 " reordered=%" PRIu64
         " errors=%" PRIu64 " disconnects=%" PRIu64 " refused=%" PRIu64 " backlogged=%" PRIu64
         " rss_connected_kb=%ld rss_end_kb=%ld server_cpu_s=%.2f load_cpu_s=%.2f setup_s=%.1f\n",
         rate > 0 ? "rate" : "saturation", msgs, dl, secs, secs > 0 ? (double)dl / secs : 0.0,
         percentile(0.50), percentile(0.99), lat_max, lost - lost0, reordered - re0, errors - err0,
         disconnects - disc0, refused, backlogged, rss_kb, rss_end_kb, srv_cpu, my_cpu, setup_s);
  fflush(stdout);
  int bad = lost > lost0 || reordered > re0 || errors > err0 || disconnects > disc0 || refused ||
            backlogged || dl != msgs * (uint64_t)opt.members;
  if (bad)
    fprintf(stderr, "fanout_load: FAILED: %" PRIu64 " deliveries of %" PRIu64 " expected\n", dl,
            msgs * (uint64_t)opt.members);
  return bad;
}

static void usage(void) {
  fprintf(stderr,
          "usage: fanout_load [options]\n"
          "  --host A --port N     the chat server (127.0.0.1:7777)\n"
          "  --conns N             connections in total (10000)\n"
          "  --members N           of which in the bench room (1000)\n"
          "  --senders N           of the members, posting (4)\n"
          "  --idle-rooms N        rooms for half of the idle connections (9)\n"
          "  --room NAME           the bench room (bench)\n"
          "  --rate R              first phase: R messages per second, all senders\n"
          "                        together (open loop), for --duration S seconds\n"
          "  --duration S          (10)\n"
          "  --saturate S          then S seconds as fast as the room takes them\n"
          "                        (closed loop) (default 10; 0: no such phase)\n"
          "  --window N            saturation: unacknowledged messages per sender (32)\n"
          "  --size N              message text bytes (64)\n"
          "  --drain S             longest wait for the last deliveries (10)\n"
          "  --server-pid P        read the server's VmRSS and CPU time\n"
          "  --setup-timeout S     (120)\n");
  exit(2);
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[++i] : NULL;
    if (!v) usage();
    if (!strcmp(a, "--host")) opt.host = v;
    else if (!strcmp(a, "--port")) opt.port = atoi(v);
    else if (!strcmp(a, "--conns")) opt.conns = atoi(v);
    else if (!strcmp(a, "--members")) opt.members = atoi(v);
    else if (!strcmp(a, "--senders")) opt.senders = atoi(v);
    else if (!strcmp(a, "--idle-rooms")) opt.idle_rooms = atoi(v);
    else if (!strcmp(a, "--room")) opt.room = v;
    else if (!strcmp(a, "--rate")) opt.rate = atof(v);
    else if (!strcmp(a, "--window")) opt.window = atoi(v);
    else if (!strcmp(a, "--size")) opt.size = atoi(v);
    else if (!strcmp(a, "--duration")) opt.duration = atof(v);
    else if (!strcmp(a, "--saturate")) opt.saturate = atof(v);
    else if (!strcmp(a, "--drain")) opt.drain = atof(v);
    else if (!strcmp(a, "--server-pid")) opt.server_pid = atoi(v);
    else if (!strcmp(a, "--setup-timeout")) opt.setup_timeout = atof(v);
    else usage();
  }
  if (opt.conns < 1 || opt.members < 1 || opt.members > opt.conns || opt.senders < 1 ||
      opt.senders > opt.members || opt.senders > 1000 || opt.idle_rooms < 1 || opt.window < 1 ||
      opt.window > ACK_RING || opt.size < 0 || opt.size > 300 || (opt.rate > 0 && opt.duration <= 0) || opt.saturate < 0 ||
      (opt.rate <= 0 && opt.saturate <= 0) ||
      strlen(opt.room) > 20 || opt.members > 65535)
    usage();

  ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  conns = calloc((size_t)opt.conns, sizeof *conns);
  sent = calloc((size_t)opt.senders, sizeof *sent);
  acked = calloc((size_t)opt.senders, sizeof *acked);
  ackcnt = calloc((size_t)opt.senders * ACK_RING, sizeof *ackcnt);
  if (!conns || !sent || !acked || !ackcnt) die("calloc");
  /* Roles: the first --members connections are the room (the first
   * --senders of them post); the rest alternate between the lobby (no
   * room) and the idle rooms. */
  for (int i = 0; i < opt.conns; i++) {
    conn *c = &conns[i];
    c->id = i;
    c->sender = -1;
    c->carry = malloc(CARRY_MAX);
    if (!c->carry) die("malloc");
    if (i < opt.members) {
      c->role = R_MEMBER;
      snprintf(c->room, sizeof c->room, "%s", opt.room);
      c->next_seq = calloc((size_t)opt.senders, sizeof *c->next_seq);
      if (!c->next_seq) die("calloc");
      if (i < opt.senders) c->sender = (int16_t)i;
      if (i < opt.senders) snprintf(c->nick, sizeof c->nick, "s%d", i);
      else snprintf(c->nick, sizeof c->nick, "m%d", i);
    } else {
      int k = i - opt.members;
      c->role = k % 2 ? R_IDLE_ROOM : R_LOBBY;
      snprintf(c->nick, sizeof c->nick, "i%d", i);
      if (c->role == R_IDLE_ROOM) snprintf(c->room, sizeof c->room, "idle%d", (k / 2) % opt.idle_rooms);
    }
  }

  /* ---- set-up: open, welcome, /nick, /join; a bounded number at once */
  uint64_t t_setup = now_ns(), last_report = t_setup;
  fprintf(stderr, "fanout_load: opening %d connections (%d in room %s, %d senders)\n", opt.conns,
          opt.members, opt.room, opt.senders);
  while (nready < opt.conns) {
    while (next_to_open < opt.conns && nsetup < SETUP_INFLIGHT) open_one();
    if (nsetup == 0 && next_to_open == opt.conns) break; /* some died */
    poll_once(100);
    uint64_t now = now_ns();
    if (now - last_report > 2000000000ull) {
      fprintf(stderr, "fanout_load: %d ready, %d setting up\n", nready, nsetup);
      last_report = now;
    }
    if ((double)(now - t_setup) / 1e9 > opt.setup_timeout) {
      fprintf(stderr, "fanout_load: set-up timed out with %d of %d ready\n", nready, opt.conns);
      return 1;
    }
  }
  if (nready < opt.conns) {
    fprintf(stderr, "fanout_load: only %d of %d connections set up\n", nready, opt.conns);
    return 1;
  }
  /* settle: the join notices still travelling to the members */
  uint64_t t_settle = now_ns();
  do poll_once(50);
  while (now_ns() - last_rx_ns < 300000000ull && now_ns() - t_settle < 20000000000ull);
  double setup_s = (double)(now_ns() - t_setup) / 1e9;
  long rss_kb = opt.server_pid ? read_rss_kb(opt.server_pid) : -1;
  fprintf(stderr, "fanout_load: %d connections set up in %.1f s; server VmRSS %ld kB\n", nready,
          setup_s, rss_kb);

  int bad = 0;
  if (opt.rate > 0) bad |= run_phase(opt.rate, opt.duration, rss_kb, setup_s);
  if (opt.saturate > 0) bad |= run_phase(0, opt.saturate, rss_kb, setup_s);
  for (int i = 0; i < opt.conns; i++)
    if (conns[i].state != ST_DEAD) close(conns[i].fd);
  return bad ? 1 : 0;
}
