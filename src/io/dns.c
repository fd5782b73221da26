/* dns.c: name resolution. With c-ares, each query gets its own channel
 * whose sockets are registered (through its socket-state callback) in a
 * small private epoll set; the task waits on that set's fd like on any fd,
 * with the deadline and cancellation of any blocking call, and feeds
 * readiness back to c-ares. Cancelling calls ares_cancel, so the query's
 * resources go before the call returns. Without c-ares (EDDY_HAVE_CARES
 * unset), getaddrinfo runs on the thread pool. */
#include "io.h"
#include "eddy/dns.h"
#include "eddy/thread.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

static int copy_out(const struct sockaddr *sa, socklen_t len, int port,
                    eddy_addr *out) {
  if (len > sizeof out->sa) return 0;
  memcpy(&out->sa, sa, len);
  out->len = len;
  if (sa->sa_family == AF_INET) ((struct sockaddr_in *)&out->sa)->sin_port = htons((uint16_t)port);
  else if (sa->sa_family == AF_INET6) ((struct sockaddr_in6 *)&out->sa)->sin6_port = htons((uint16_t)port);
  return 1;
}

#ifdef EDDY_HAVE_CARES
#include <ares.h>
#include <pthread.h>
#include <stdlib.h>

EDDY_API const char *eddy_dns_backend(void) { return "c-ares"; }

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static int lib_status;
static void lib_init(void) { lib_status = ares_library_init(ARES_LIB_INIT_ALL); }

/* eddy_dns_set_servers' list, copied by each query as it starts. */
static pthread_mutex_t servers_lock = PTHREAD_MUTEX_INITIALIZER;
static char *servers_csv;

/* Point a fresh channel at the configured servers, if any. */
static int apply_servers(ares_channel ch) {
  int st = ARES_SUCCESS;
  pthread_mutex_lock(&servers_lock);
  if (servers_csv) st = ares_set_servers_ports_csv(ch, servers_csv);
  pthread_mutex_unlock(&servers_lock);
  return st;
}

/* Every port in a server list is 1..65535: c-ares 1.18 takes
 * "127.0.0.1:99999" and wraps the port. An entry's port follows "]:" of a
 * bracketed address, or its only colon. */
static int ports_valid(const char *csv) {
  for (const char *p = csv; *p;) {
    const char *end = strchr(p, ',');
    if (!end) end = p + strlen(p);
    const char *port = NULL;
    if (*p == '[') {
      const char *rb = memchr(p, ']', (size_t)(end - p));
      if (!rb) return 0;
      if (rb + 1 < end) {
        if (rb[1] != ':') return 0;
        port = rb + 2;
      }
    } else {
      const char *c = memchr(p, ':', (size_t)(end - p));
      if (c && !memchr(c + 1, ':', (size_t)(end - c - 1))) port = c + 1;
    }
    if (port) {
      long v = 0;
      if (port == end) return 0;
      for (const char *d = port; d < end; d++) {
        if (*d < '0' || *d > '9') return 0;
        v = v * 10 + (*d - '0');
        if (v > 65535) return 0;
      }
      if (v == 0) return 0;
    }
    p = *end ? end + 1 : end;
  }
  return 1;
}

EDDY_API int eddy_dns_set_servers(const char *servers) {
  pthread_once(&lib_once, lib_init);
  if (lib_status != ARES_SUCCESS) return -ENOMEM;
  char *copy = NULL;
  if (servers) {
    if (!*servers || !ports_valid(servers)) return -EINVAL;
    /* parse it now, on a channel of its own, so a bad list fails here
     * and not in every later query */
    ares_channel probe;
    struct ares_options opts;
    memset(&opts, 0, sizeof opts);
    if (ares_init_options(&probe, &opts, 0) != ARES_SUCCESS) return -ENOMEM;
    int st = ares_set_servers_ports_csv(probe, servers);
    ares_destroy(probe);
    if (st == ARES_ENOMEM) return -ENOMEM;
    if (st != ARES_SUCCESS) return -EINVAL;
    copy = strdup(servers);
    if (!copy) return -ENOMEM;
  }
  pthread_mutex_lock(&servers_lock);
  char *old = servers_csv;
  servers_csv = copy;
  pthread_mutex_unlock(&servers_lock);
  free(old);
  return 0;
}

typedef struct query {
  int epfd;
  int done, status;
  eddy_addr *out;
  int max, n, port;
} query;

static void sock_state(void *data, ares_socket_t fd, int readable, int writable) {
  query *q = data;
  struct epoll_event ev = {.events = (readable ? EPOLLIN : 0u) | (writable ? EPOLLOUT : 0u),
                           .data.fd = fd};
  if (!readable && !writable) {
    epoll_ctl(q->epfd, EPOLL_CTL_DEL, fd, NULL);
    return;
  }
  if (epoll_ctl(q->epfd, EPOLL_CTL_MOD, fd, &ev) != 0)
    epoll_ctl(q->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int map_status(int st) {
  switch (st) {
  case ARES_SUCCESS: return 0;
  case ARES_ENOTFOUND:
  case ARES_ENODATA:
  case ARES_ENONAME: return -ENOENT;
  case ARES_ETIMEOUT: return -ETIMEDOUT;
  case ARES_ECANCELLED:
  case ARES_EDESTRUCTION: return -ECANCELED;
  case ARES_ENOMEM: return -ENOMEM;
  default: return -EAGAIN;
  }
}

static void on_result(void *arg, int status, int timeouts, struct ares_addrinfo *res) {
  (void)timeouts;
  query *q = arg;
  q->done = 1;
  q->status = map_status(status);
  if (status == ARES_SUCCESS && res) {
    for (struct ares_addrinfo_node *n = res->nodes; n && q->n < q->max; n = n->ai_next)
      q->n += copy_out(n->ai_addr, n->ai_addrlen, q->port, &q->out[q->n]);
  }
  if (res) ares_freeaddrinfo(res);
}

static int resolve_cares(const char *host, int port, int family, eddy_addr *out,
                         int max, eddy_time_t deadline) {
  pthread_once(&lib_once, lib_init);
  if (lib_status != ARES_SUCCESS) return -ENOMEM;
  query q = {.out = out, .max = max, .port = port};
  q.epfd = epoll_create1(EPOLL_CLOEXEC);
  if (q.epfd < 0) return -errno;
  struct ares_options opts;
  memset(&opts, 0, sizeof opts);
  opts.sock_state_cb = sock_state;
  opts.sock_state_cb_data = &q;
  ares_channel ch;
  int st = ares_init_options(&ch, &opts, ARES_OPT_SOCK_STATE_CB);
  if (st != ARES_SUCCESS) {
    close(q.epfd);
    return map_status(st);
  }
  st = apply_servers(ch);
  if (st != ARES_SUCCESS) {
    ares_destroy(ch);
    close(q.epfd);
    return map_status(st);
  }
  struct ares_addrinfo_hints hints;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = family;
  hints.ai_socktype = SOCK_STREAM;
  ares_getaddrinfo(ch, host, NULL, &hints, on_result, &q);
  /* stop: why the wait below gave up on the query (cancelled, our deadline
   * passed, or an error of the wait itself); 0 while c-ares decides. A
   * wait that ends at one of c-ares' own timeouts is not a reason: the
   * reply may be readable by then, and the query's status is what counts. */
  int r, stop = 0;
  while (!q.done) {
    struct timeval tv, *tvp = ares_timeout(ch, NULL, &tv);
    eddy_time_t until = deadline;
    if (tvp) {
      eddy_time_t t = eddy_deadline_in((eddy_time_t)tvp->tv_sec * 1000000000 +
                                       (eddy_time_t)tvp->tv_usec * 1000);
      if (t < until) until = t;
    }
    r = eddy_wait_fd(q.epfd, EDDY_READABLE, until);
    if (r == -ETIMEDOUT && eddy_now() < deadline) r = 0; /* c-ares' timeout */
    if (r < 0) {
      stop = r;
      ares_cancel(ch); /* runs on_result with ARES_ECANCELLED */
      break;
    }
    struct epoll_event evs[8];
    int n = epoll_wait(q.epfd, evs, 8, 0);
    if (n <= 0) {
      ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD); /* timeouts */
      continue;
    }
    for (int i = 0; i < n && !q.done; i++)
      ares_process_fd(ch, (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) ? evs[i].data.fd : ARES_SOCKET_BAD,
                      (evs[i].events & EPOLLOUT) ? evs[i].data.fd : ARES_SOCKET_BAD);
  }
  ares_destroy(ch);
  close(q.epfd);
  if (stop) return stop;
  if (q.status) return q.status;
  return q.n ? q.n : -ENOENT;
}
#else
EDDY_API const char *eddy_dns_backend(void) { return "thread pool"; }

EDDY_API int eddy_dns_set_servers(const char *servers) {
  (void)servers;
  return -ENOTSUP;
}
#endif

/* ---- getaddrinfo on the thread pool (no c-ares) */
#ifndef EDDY_HAVE_CARES
typedef struct gai_job {
  const char *host;
  int family;
  struct addrinfo *res;
} gai_job;

static int gai_run(void *arg) {
  gai_job *j = arg;
  struct addrinfo hints;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = j->family;
  hints.ai_socktype = SOCK_STREAM;
  int r = getaddrinfo(j->host, NULL, &hints, &j->res);
  return r == 0 ? 0 : r == EAI_NONAME ? -ENOENT : r == EAI_MEMORY ? -ENOMEM : -EAGAIN;
}
#endif

EDDY_API int eddy_dns_resolve(const char *host, int port, int family,
                              eddy_addr *out, int max, eddy_time_t deadline) {
  eddy_task *t;
  int r = eddy__checkpoint(&t);
  if (r) return r;
  if (!host || !*host || !out || max <= 0 || port < 0 || port > 65535 ||
      (family != AF_UNSPEC && family != AF_INET && family != AF_INET6))
    return -EINVAL;
  /* numeric addresses need no lookup */
  struct sockaddr_in a4 = {.sin_family = AF_INET};
  struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
  if (family != AF_INET6 && inet_pton(AF_INET, host, &a4.sin_addr) == 1)
    return copy_out((struct sockaddr *)&a4, sizeof a4, port, out);
  if (family != AF_INET && inet_pton(AF_INET6, host, &a6.sin6_addr) == 1)
    return copy_out((struct sockaddr *)&a6, sizeof a6, port, out);
#ifdef EDDY_HAVE_CARES
  return resolve_cares(host, port, family, out, max, deadline);
#else
  gai_job j = {.host = host, .family = family};
  int res = 0;
  r = eddy_to_thread_until(gai_run, &j, &res, deadline);
  if (r) return r;
  if (res) return res;
  int n = 0;
  for (struct addrinfo *ai = j.res; ai && n < max; ai = ai->ai_next)
    n += copy_out(ai->ai_addr, ai->ai_addrlen, port, &out[n]);
  freeaddrinfo(j.res);
  return n ? n : -ENOENT;
#endif
}
