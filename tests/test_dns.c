/* test_dns.c: name resolution on the loop (c-ares when built with it,
 * otherwise the thread pool): names from /etc/hosts, numeric addresses,
 * deadlines, cancellation, bad input, and with c-ares a name server of the
 * test's own on loopback. No network is needed. */
#include "test.h"

#include <arpa/inet.h>
#include <netinet/in.h>

static int resolve_main(void *arg) {
  (void)arg;
  eddy_addr a[8];
  int n = eddy_dns_resolve("localhost", 8080, AF_INET, a, 8, eddy_deadline_in(EDDY_SEC(5)));
  ASSERT(n >= 1);
  struct sockaddr_in *s4 = (struct sockaddr_in *)&a[0].sa;
  ASSERT_EQ(s4->sin_family, AF_INET);
  ASSERT_EQ(ntohs(s4->sin_port), 8080);
  ASSERT_EQ(ntohl(s4->sin_addr.s_addr), 0x7f000001);
  ASSERT_EQ(eddy_dns_resolve("10.1.2.3", 1, AF_UNSPEC, a, 8, EDDY_FOREVER), 1); /* numeric */
  ASSERT_EQ(eddy_dns_resolve("::1", 1, AF_UNSPEC, a, 8, EDDY_FOREVER), 1);
  ASSERT_RC(eddy_dns_resolve("", 1, AF_UNSPEC, a, 8, EDDY_FOREVER), -EINVAL);
  ASSERT_RC(eddy_dns_resolve("x", 1, 12345, a, 8, EDDY_FOREVER), -EINVAL);
  ASSERT_RC(eddy_dns_resolve("x", 70000, AF_UNSPEC, a, 8, EDDY_FOREVER), -EINVAL);
  /* a name that cannot resolve here: an error, within the deadline */
  eddy_time_t t0 = eddy_now();
  int r = eddy_dns_resolve("no-such-host.invalid", 80, AF_UNSPEC, a, 8,
                           eddy_deadline_in(EDDY_MSEC(1500)));
  ASSERT(r < 0);
  ASSERT(eddy_now() - t0 < EDDY_SEC(3));
  fprintf(stderr, "backend %s: unresolvable name -> %s\n", eddy_dns_backend(), eddy_errname(r));
  return 0;
}
TEST(resolve_hosts_numeric_and_errors) { ASSERT_EQ(eddy_run(resolve_main, NULL), 0); }

static int cancel_main(void *arg) {
  (void)arg;
  eddy_cancel(eddy_task_current());
  eddy_addr a[1];
  ASSERT_RC(eddy_dns_resolve("localhost", 1, AF_UNSPEC, a, 1, EDDY_FOREVER), -ECANCELED);
  return 0;
}
TEST(resolve_is_a_checkpoint) { ASSERT_EQ(eddy_run(cancel_main, NULL), 0); }

static int slow_lookup(void *arg) {
  (void)arg;
  eddy_addr a[1];
  return eddy_dns_resolve("no-such-host.invalid", 80, AF_UNSPEC, a, 1, EDDY_FOREVER);
}
static int cancel_mid_main(void *arg) {
  (void)arg;
  eddy_task *t;
  eddy_spawn(&t, slow_lookup, NULL);
  eddy_sleep(EDDY_MSEC(20));
  eddy_time_t t0 = eddy_now();
  eddy_cancel(t);
  int res = 0;
  eddy_join(t, &res);
  /* either it had already failed (no resolver reachable here), or the
   * cancellation stopped it at once */
  ASSERT(res == -ECANCELED || res < 0);
  ASSERT(eddy_now() - t0 < EDDY_SEC(1));
  return 0;
}
TEST(resolve_cancelled_mid_query) { ASSERT_EQ(eddy_run(cancel_mid_main, NULL), 0); }

/* ---- against a name server of the test's own (c-ares only): a thread
 * with a UDP socket on loopback, which answers each query with one A
 * record (192.0.2.7), or NXDOMAIN for names whose first label is "nohost",
 * after a delay for the first query if asked, or never. */
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

typedef struct fake_dns {
  int fd, port;
  int first_delay_ms; /* the first query's answer waits this long */
  int silent;         /* answer nothing */
  int queries;        /* received so far */
  pthread_t th;
} fake_dns;

static void *fake_dns_run(void *arg) {
  fake_dns *d = arg;
  unsigned char q[512], a[600];
  for (;;) {
    struct sockaddr_storage from;
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(d->fd, q, sizeof q, 0, (struct sockaddr *)&from, &fl);
    if (n <= 0) return NULL; /* shut down (a shut-down UDP socket reads 0) */
    if (n < 12) continue;
    int first = __atomic_fetch_add(&d->queries, 1, __ATOMIC_SEQ_CST) == 0;
    if (d->silent) continue;
    if (first && d->first_delay_ms) usleep((useconds_t)d->first_delay_ms * 1000);
    /* the header and the question, as asked */
    size_t end = 12;
    while (end < (size_t)n && q[end]) end += (size_t)q[end] + 1;
    end += 1 + 4; /* the root label, QTYPE, QCLASS */
    if (end > (size_t)n) continue;
    int nx = q[12] == 6 && memcmp(q + 13, "nohost", 6) == 0;
    memcpy(a, q, end);
    a[2] = (unsigned char)(0x80 | (q[2] & 0x01)); /* QR, RD as asked */
    a[3] = nx ? 0x83 : 0x80;                      /* RA, NXDOMAIN or NOERROR */
    a[4] = 0, a[5] = 1;                           /* one question */
    a[6] = 0, a[7] = (unsigned char)!nx;
    memset(a + 8, 0, 4);
    size_t len = end;
    if (!nx) {
      static const unsigned char rr[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 7};
      memcpy(a + len, rr, sizeof rr);
      len += sizeof rr;
    }
    sendto(d->fd, a, len, 0, (struct sockaddr *)&from, fl);
  }
}

/* Start it and point the resolver at it; c-ares' timeout per try 1 s. */
static void fake_dns_start(fake_dns *d) {
  d->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT(d->fd >= 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  ASSERT_EQ(bind(d->fd, (struct sockaddr *)&sa, sizeof sa), 0);
  socklen_t sl = sizeof sa;
  ASSERT_EQ(getsockname(d->fd, (struct sockaddr *)&sa, &sl), 0);
  d->port = ntohs(sa.sin_port);
  ASSERT_EQ(pthread_create(&d->th, NULL, fake_dns_run, d), 0);
  char csv[64];
  snprintf(csv, sizeof csv, "127.0.0.1:%d", d->port);
  setenv("RES_OPTIONS", "retrans:1000 retry:3", 1);
  ASSERT_EQ(eddy_dns_set_servers(csv), 0);
}
static void fake_dns_stop(fake_dns *d) {
  ASSERT_EQ(eddy_dns_set_servers(NULL), 0);
  shutdown(d->fd, SHUT_RDWR);
  pthread_join(d->th, NULL);
  close(d->fd);
}
/* Run main_fn as a loop's main task against the server d describes. */
static void run_against(fake_dns *d, eddy_task_fn main_fn) {
  fake_dns_start(d);
  ASSERT_EQ(eddy_run(main_fn, NULL), 0);
  fake_dns_stop(d);
}
static int have_cares(void) { return strcmp(eddy_dns_backend(), "c-ares") == 0; }
/* The tests against the test's own server need c-ares (getaddrinfo asks
 * the system's servers). CI runs them in every build made with c-ares;
 * its one build without (ucontext, no liburing) checks -ENOTSUP instead. */
#define NEEDS_CARES()                                                        \
  do {                                                                      \
    if (!have_cares()) {                                                    \
      fprintf(stderr, "not run: DNS backend is %s, not c-ares\n", eddy_dns_backend()); \
      return;                                                               \
    }                                                                       \
  } while (0)

TEST(set_servers_takes_a_list_and_rejects_what_does_not_parse) {
  if (!have_cares()) {
    ASSERT_RC(eddy_dns_set_servers("127.0.0.1"), -ENOTSUP);
    return;
  }
  ASSERT_RC(eddy_dns_set_servers(""), -EINVAL);
  ASSERT_RC(eddy_dns_set_servers("not an address"), -EINVAL);
  ASSERT_RC(eddy_dns_set_servers("127.0.0.1:99999"), -EINVAL);
  ASSERT_RC(eddy_dns_set_servers("127.0.0.1:0"), -EINVAL);
  ASSERT_RC(eddy_dns_set_servers("127.0.0.1:"), -EINVAL);
  ASSERT_RC(eddy_dns_set_servers("127.0.0.1:53x"), -EINVAL);
  ASSERT_RC(eddy_dns_set_servers("[::1]53"), -EINVAL);
  ASSERT_RC(eddy_dns_set_servers("[::1:53"), -EINVAL);
  ASSERT_EQ(eddy_dns_set_servers("2001:db8::1"), 0); /* bare IPv6, no port */
  ASSERT_EQ(eddy_dns_set_servers("127.0.0.1:5300,[::1]:53"), 0);
  ASSERT_EQ(eddy_dns_set_servers(NULL), 0);
}

static int answered_main(void *arg) {
  (void)arg;
  eddy_addr a[4];
  int n = eddy_dns_resolve("www.example.test.", 443, AF_INET, a, 4, eddy_deadline_in(EDDY_SEC(5)));
  ASSERT_EQ(n, 1);
  struct sockaddr_in *s4 = (struct sockaddr_in *)&a[0].sa;
  ASSERT_EQ(ntohl(s4->sin_addr.s_addr), 0xc0000207u);
  ASSERT_EQ(ntohs(s4->sin_port), 443);
  ASSERT_RC(eddy_dns_resolve("nohost.example.test.", 443, AF_INET, a, 4, EDDY_FOREVER), -ENOENT);
  return 0;
}
TEST(set_servers_sends_queries_there) {
  NEEDS_CARES();
  fake_dns d = {0};
  run_against(&d, answered_main);
  ASSERT(d.queries >= 2);
}

/* The reply to the first try arrives while the loop is busy, after c-ares'
 * 1 s timeout for that try: the resolving task is woken by that timeout
 * with the reply already readable, and must report the reply (no such
 * name), not the timeout. blocker keeps the loop from polling from 0.5 s
 * to 1.5 s, so the timeout (1 s) and hog's sleep (0.6 s) end in the same
 * poll, hog first; hog then holds the loop until 2 s, and the reply comes
 * at 1.7 s, after that poll. */
static void block_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {}
}
static int blocker(void *arg) {
  (void)arg;
  eddy_sleep(EDDY_MSEC(500));
  block_ms(1000);
  return 0;
}
static int hog(void *arg) {
  (void)arg;
  eddy_sleep(EDDY_MSEC(600));
  block_ms(500);
  return 0;
}
static int nxdomain_lookup(void *arg) {
  (void)arg;
  eddy_addr a[1];
  return eddy_dns_resolve("nohost.example.test.", 80, AF_INET, a, 1, eddy_deadline_in(EDDY_SEC(10)));
}
static int late_reply_main(void *arg) {
  (void)arg;
  eddy_task *r, *b, *h;
  ASSERT_EQ(eddy_spawn(&r, nxdomain_lookup, NULL), 0);
  ASSERT_EQ(eddy_spawn(&b, blocker, NULL), 0);
  ASSERT_EQ(eddy_spawn(&h, hog, NULL), 0);
  int res = 0;
  ASSERT_EQ(eddy_join(r, &res), 0);
  ASSERT_RC(res, -ENOENT);
  eddy_join(b, NULL);
  eddy_join(h, NULL);
  return 0;
}
TEST(reply_read_after_a_try_timed_out_reports_the_reply) {
  NEEDS_CARES();
  fake_dns d = {.first_delay_ms = 1700};
  run_against(&d, late_reply_main);
}

/* A server that never answers: the query ends at its own deadline with
 * -ETIMEDOUT, long before c-ares' tries are spent (3 x 1 s and more). */
static int deadline_main(void *arg) {
  (void)arg;
  eddy_addr a[1];
  eddy_time_t t0 = eddy_now();
  ASSERT_RC(eddy_dns_resolve("www.example.test.", 80, AF_INET, a, 1, eddy_deadline_in(EDDY_MSEC(300))),
            -ETIMEDOUT);
  eddy_time_t took = eddy_now() - t0;
  ASSERT(took >= EDDY_MSEC(290) && took < EDDY_MSEC(900));
  return 0;
}
TEST(unanswered_query_ends_at_its_deadline) {
  NEEDS_CARES();
  fake_dns d = {.silent = 1};
  run_against(&d, deadline_main);
  ASSERT(d.queries >= 1);
}

/* ... and a cancellation ends it at once with -ECANCELED. */
static int unanswered_lookup(void *arg) {
  (void)arg;
  eddy_addr a[1];
  return eddy_dns_resolve("www.example.test.", 80, AF_INET, a, 1, EDDY_FOREVER);
}
static int cancel_unanswered_main(void *arg) {
  (void)arg;
  eddy_task *t;
  ASSERT_EQ(eddy_spawn(&t, unanswered_lookup, NULL), 0);
  eddy_sleep(EDDY_MSEC(100));
  eddy_time_t t0 = eddy_now();
  eddy_cancel(t);
  int res = 0;
  eddy_join(t, &res);
  ASSERT_RC(res, -ECANCELED);
  ASSERT(eddy_now() - t0 < EDDY_MSEC(100));
  return 0;
}
TEST(unanswered_query_cancelled_ends_at_once) {
  NEEDS_CARES();
  fake_dns d = {.silent = 1};
  run_against(&d, cancel_unanswered_main);
}
