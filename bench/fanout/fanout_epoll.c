/* fanout_epoll.c: the fan-out benchmark's reference server, written the
 * way one writes it by hand in C: one thread, one epoll set (edge-
 * triggered), non-blocking sockets, a fixed input buffer and a growable
 * output buffer per client. It speaks the part of eddy-chat's line protocol
 * the load uses, with the same lines:
 *   connect      -> "welcome to fanout-epoll; choose a nickname with /nick NAME"
 *   /nick NAME   -> "* you are NAME"            (unique, 1-23 of [A-Za-z0-9_-])
 *   /join ROOM   -> "[ROOM] * NAME joined" to everyone in the room
 *   text         -> "[ROOM] <NAME> text" to everyone in the room
 *   /quit, close -> "[ROOM] * NAME left"
 * A room message is formatted once and appended to every member's output
 * buffer; the buffers are written out once per turn of the loop, after
 * every ready event has been handled (--flush batched, as Redis does), or
 * right away (--flush each: one write per message per member, the shape
 * of eddy-chat's writer). A member whose pending output passes --max-out
 * bytes (after writing what the kernel takes) is told it fell behind (best
 * effort: the line is lost if its kernel buffer is full) and disconnected,
 * like eddy-chat's
 * slow-client cut-off; the kernel send buffer is 64 KiB and Nagle is off,
 * as in eddy-chat. With
 * --log FILE every room message is also appended to FILE (write(2), and
 * fdatasync at most every 100 ms: eddy-chat's batched durability). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_ 1024
#define NICK_MAX 24
#define ROOM_MAX 32
#define TEXT_MAX 400

typedef struct room room;

typedef struct client {
  int fd;
  int idx;                 /* in the clients array */
  int midx;                /* in its room's member array */
  int pending;             /* in the flush list */
  int doomed;              /* to be disconnected at the end of the turn */
  int dead;
  room *room;
  char nick[NICK_MAX];
  size_t in_len;
  char in[LINE_MAX_];
  char *out;
  size_t out_off, out_len, out_cap;
} client;

struct room {
  char name[ROOM_MAX];
  client **m;
  int n, cap;
  room *next;
};

static int ep, lfd, flush_each, log_fd = -1;
static size_t max_out = 256 * 1024;
static client **clients, **pending, **doomed, **dead;
static int nclients, npending, ndoomed, ndead, cap_clients;
static room *rooms;
static volatile sig_atomic_t stop;
static struct timespec last_sync;
static int log_dirty;

static void on_signal(int s) {
  (void)s;
  stop = 1;
}

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n);
  if (!q) {
    perror("fanout_epoll: realloc");
    exit(1);
  }
  return q;
}

static int valid_name(const char *s, size_t max) {
  size_t n = strlen(s);
  if (n == 0 || n >= max) return 0;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-') return 0;
  return 1;
}

/* Disconnect at the end of the turn: never while a room's member array
 * is being walked. */
static void doom(client *c) {
  if (c->doomed || c->dead) return;
  c->doomed = 1;
  doomed[ndoomed++] = c;
}

static void flush(client *c) {
  while (c->out_len > c->out_off && !c->doomed && !c->dead) {
    ssize_t w = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
    if (w < 0) {
      if (errno == EAGAIN) return; /* EPOLLOUT will call again */
      doom(c);
      return;
    }
    c->out_off += (size_t)w;
  }
  c->out_off = c->out_len = 0;
}

static void append(client *c, const char *p, size_t n) {
  if (c->dead || c->doomed) return;
  /* Over the cut-off, first give the kernel what it takes now: one turn
   * may read many messages, and a member keeping up is not behind. */
  if (c->out_len - c->out_off + n > max_out) flush(c);
  if (c->dead || c->doomed) return;
  if (c->out_len - c->out_off + n > max_out) { /* too far behind */
    static const char why[] = "error: you fell too far behind the room; disconnecting\n";
    if (write(c->fd, why, sizeof why - 1) < 0) { /* best effort */
    }
    doom(c);
    return;
  }
  if (c->out_len + n > c->out_cap) {
    if (c->out_off) { /* compact first */
      memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
      c->out_len -= c->out_off;
      c->out_off = 0;
    }
    if (c->out_len + n > c->out_cap) {
      size_t cap = c->out_cap ? c->out_cap : 4096;
      while (cap < c->out_len + n) cap *= 2;
      c->out = xrealloc(c->out, cap);
      c->out_cap = cap;
    }
  }
  memcpy(c->out + c->out_len, p, n);
  c->out_len += n;
  if (flush_each) {
    flush(c);
  } else if (!c->pending) {
    c->pending = 1;
    pending[npending++] = c;
  }
}

static void say(client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(client *c, const char *fmt, ...) {
  char buf[TEXT_MAX + 128];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n > sizeof buf - 2) n = (int)sizeof buf - 2;
  buf[n++] = '\n';
  append(c, buf, (size_t)n);
}

static void log_line(const char *p, size_t n) {
  if (log_fd < 0) return;
  if (write(log_fd, p, n) < 0) perror("fanout_epoll: log");
  log_dirty = 1;
}

/* Format once, copy into every member's buffer. */
static void post(room *r, const char *nick, const char *text) {
  char buf[TEXT_MAX + 128];
  int n = nick ? snprintf(buf, sizeof buf - 1, "[%s] <%s> %s", r->name, nick, text)
               : snprintf(buf, sizeof buf - 1, "[%s] * %s", r->name, text);
  if ((size_t)n > sizeof buf - 2) n = (int)sizeof buf - 2;
  buf[n++] = '\n';
  log_line(buf, (size_t)n);
  for (int i = 0; i < r->n; i++) append(r->m[i], buf, (size_t)n);
}

static room *room_get(const char *name) {
  for (room *r = rooms; r; r = r->next)
    if (!strcmp(r->name, name)) return r;
  room *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  snprintf(r->name, sizeof r->name, "%s", name);
  r->next = rooms;
  rooms = r;
  return r;
}

static void leave(client *c) {
  room *r = c->room;
  if (!r) return;
  r->m[c->midx] = r->m[--r->n];
  r->m[c->midx]->midx = c->midx;
  c->room = NULL;
  if (c->nick[0]) {
    char t[64];
    snprintf(t, sizeof t, "%s left", c->nick);
    post(r, NULL, t);
  }
}

static void join(client *c, room *r) {
  leave(c);
  if (r->n == r->cap) {
    r->cap = r->cap ? r->cap * 2 : 16;
    r->m = xrealloc(r->m, (size_t)r->cap * sizeof *r->m);
  }
  c->midx = r->n;
  r->m[r->n++] = c;
  c->room = r;
  char t[64];
  snprintf(t, sizeof t, "%s joined", c->nick);
  post(r, NULL, t);
}

/* Leave the room and stop reading now; free at the end of the turn (an
 * event for it may still be in this turn's batch). */
static void kill_client(client *c) {
  if (c->dead) return;
  c->dead = 1;
  c->doomed = 0;
  leave(c);
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  clients[c->idx] = clients[--nclients];
  clients[c->idx]->idx = c->idx;
  dead[ndead++] = c;
}

/* One line; returns 1 to end the session. */
static int handle_line(client *c, char *line) {
  if (line[0] != '/') {
    if (!c->nick[0]) return say(c, "error: choose a nickname first: /nick NAME"), 0;
    if (!c->room) return say(c, "error: join a room first: /join ROOM"), 0;
    if (!line[0]) return 0;
    if (strlen(line) >= TEXT_MAX) return say(c, "error: message longer than %d bytes", TEXT_MAX - 1), 0;
    post(c->room, c->nick, line);
    return 0;
  }
  char cmd[16] = "";
  sscanf(line, "%15s", cmd);
  char *arg = line + strlen(cmd);
  while (*arg == ' ') arg++;
  for (size_t n = strlen(arg); n && arg[n - 1] == ' '; n--) arg[n - 1] = 0;
  if (!strcmp(cmd, "/quit")) return 1;
  if (!strcmp(cmd, "/nick")) {
    if (!valid_name(arg, NICK_MAX)) return say(c, "error: nicknames are 1-%d letters, digits, _ or -", NICK_MAX - 1), 0;
    for (int i = 0; i < nclients; i++)
      if (clients[i] != c && !strcmp(clients[i]->nick, arg)) return say(c, "error: nickname %s is taken", arg), 0;
    memcpy(c->nick, arg, strlen(arg) + 1);
    return say(c, "* you are %s", c->nick), 0;
  }
  if (!strcmp(cmd, "/join")) {
    if (!c->nick[0]) return say(c, "error: choose a nickname first: /nick NAME"), 0;
    if (!valid_name(arg, ROOM_MAX)) return say(c, "error: room names are 1-%d letters, digits, _ or -", ROOM_MAX - 1), 0;
    room *r = room_get(arg);
    if (!r) return say(c, "error: out of memory"), 0;
    join(c, r);
    return 0;
  }
  return say(c, "error: unknown command %s", cmd), 0;
}

static void on_readable(client *c) {
  while (!c->dead && !c->doomed) {
    ssize_t n = read(c->fd, c->in + c->in_len, sizeof c->in - c->in_len);
    if (n == 0 || (n < 0 && errno != EAGAIN)) {
      doom(c);
      return;
    }
    if (n < 0) return;
    size_t len = c->in_len + (size_t)n, start = 0;
    for (;;) {
      char *nl = memchr(c->in + start, '\n', len - start);
      if (!nl) break;
      char *l = c->in + start;
      size_t e = (size_t)(nl - c->in), ll = e - start;
      while (ll && (l[ll - 1] == '\r')) ll--;
      l[ll] = 0;
      for (size_t i = 0; i < ll; i++)
        if ((unsigned char)l[i] < 32) l[i] = ' ';
      start = e + 1;
      if (handle_line(c, l)) {
        doom(c);
        return;
      }
      if (c->dead || c->doomed) return;
    }
    if (start == 0 && len == sizeof c->in) {
      say(c, "error: line too long; disconnecting");
      flush(c);
      doom(c);
      return;
    }
    memmove(c->in, c->in + start, len - start);
    c->in_len = len - start;
  }
}

static void accept_all(void) {
  for (;;) {
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
        perror("fanout_epoll: accept4");
      return;
    }
    int sndbuf = 64 * 1024, one = 1; /* eddy-chat's settings: 64 KiB, no Nagle */
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    client *c = calloc(1, sizeof *c);
    if (!c) {
      close(fd);
      continue;
    }
    c->fd = fd;
    if (nclients == cap_clients) {
      cap_clients = cap_clients ? cap_clients * 2 : 1024;
      clients = xrealloc(clients, (size_t)cap_clients * sizeof *clients);
      pending = xrealloc(pending, (size_t)cap_clients * sizeof *pending);
      doomed = xrealloc(doomed, (size_t)cap_clients * sizeof *doomed);
      dead = xrealloc(dead, (size_t)cap_clients * sizeof *dead);
    }
    c->idx = nclients;
    clients[nclients++] = c;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) {
      doom(c);
      continue;
    }
    say(c, "welcome to fanout-epoll; choose a nickname with /nick NAME");
  }
}

/* Disconnect the doomed; their "left" notices may doom more. */
static void reap(void) {
  for (int i = 0; i < ndoomed; i++) kill_client(doomed[i]);
  ndoomed = 0;
}

static void maybe_sync(void) {
  if (!log_dirty) return;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  if ((now.tv_sec - last_sync.tv_sec) * 1000 + (now.tv_nsec - last_sync.tv_nsec) / 1000000 < 100) return;
  fdatasync(log_fd);
  log_dirty = 0;
  last_sync = now;
}

int main(int argc, char **argv) {
  int port = 7778;
  const char *log_path = NULL;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--port")) port = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--flush")) flush_each = !strcmp(argv[i + 1], "each");
    else if (!strcmp(argv[i], "--max-out")) max_out = (size_t)atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--log")) log_path = argv[i + 1];
    else {
      fprintf(stderr, "usage: fanout_epoll [--port N] [--flush batched|each] [--max-out BYTES] [--log FILE]\n");
      return 2;
    }
  }
  if (argc % 2 == 0) {
    fprintf(stderr, "usage: fanout_epoll [--port N] [--flush batched|each] [--max-out BYTES] [--log FILE]\n");
    return 2;
  }
  if (log_path && (log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0) {
    perror("fanout_epoll: --log");
    return 1;
  }
  struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: epoll_wait returns */
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  socklen_t al = sizeof a;
  if (bind(lfd, (struct sockaddr *)&a, sizeof a) || listen(lfd, 1024) ||
      getsockname(lfd, (struct sockaddr *)&a, &al)) {
    perror("fanout_epoll: listen");
    return 1;
  }
  ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev);
  printf("fanout_epoll listening on 127.0.0.1:%d\n", ntohs(a.sin_port));
  fflush(stdout);
  clock_gettime(CLOCK_MONOTONIC, &last_sync);
  struct epoll_event evs[1024];
  while (!stop) {
    int n = epoll_wait(ep, evs, 1024, log_dirty ? 100 : -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("fanout_epoll: epoll_wait");
      return 1;
    }
    for (int i = 0; i < n; i++) {
      client *c = evs[i].data.ptr;
      if (!c) {
        accept_all();
        continue;
      }
      if (c->dead) continue;
      if (evs[i].events & EPOLLOUT) flush(c);
      if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) on_readable(c);
    }
    /* one write per client per turn, whatever the turn queued for it;
     * disconnecting posts "left" notices, which queue more */
    do {
      reap();
      for (int i = 0; i < npending; i++) {
        pending[i]->pending = 0;
        flush(pending[i]);
      }
      npending = 0;
    } while (ndoomed);
    for (int i = 0; i < ndead; i++) {
      free(dead[i]->out);
      free(dead[i]);
    }
    ndead = 0;
    maybe_sync();
  }
  /* shutdown: every client closed, the log synced */
  reap();
  while (nclients) kill_client(clients[0]);
  for (int i = 0; i < ndead; i++) {
    free(dead[i]->out);
    free(dead[i]);
  }
  while (rooms) {
    room *r = rooms->next;
    free(rooms->m);
    free(rooms);
    rooms = r;
  }
  if (log_fd >= 0) {
    fdatasync(log_fd);
    close(log_fd);
  }
  free(clients);
  free(pending);
  free(dead);
  printf("fanout_epoll: bye\n");
  return 0;
}
