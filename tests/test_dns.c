/* test_dns.c: name resolution on the loop (c-ares when built with it,
 * otherwise the thread pool): names from /etc/hosts, numeric addresses,
 * deadlines, cancellation, bad input. No network is needed. */
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
