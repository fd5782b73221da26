/* eddy/dns.h: name resolution driven by the loop. With c-ares (found by
 * pkg-config at build time) queries run on the loop itself, with deadline
 * and cancellation; without it, getaddrinfo runs on the thread pool.
 * eddy_dns_backend() says which. */
#ifndef EDDY_DNS_H
#define EDDY_DNS_H

#include "core.h"

#include <sys/socket.h>

EDDY_BEGIN_DECLS

typedef struct eddy_addr {
  struct sockaddr_storage sa;
  socklen_t len;
} eddy_addr;

/* Resolve host (a name or a numeric address) for `port` into at most max
 * addresses (family AF_UNSPEC, AF_INET or AF_INET6). Returns how many
 * (>= 1), or -ENOENT (no such name), -ETIMEDOUT, -ECANCELED (the query was
 * cancelled and its resources released), -EAGAIN (temporary failure). */
EDDY_API int eddy_dns_resolve(const char *host, int port, int family,
                              eddy_addr *out, int max, eddy_time_t deadline);
EDDY_API const char *eddy_dns_backend(void); /* "c-ares" or "thread pool" */
/* The name servers every later query of the process asks, instead of the
 * system's (/etc/resolv.conf): a comma-separated list of addresses, each
 * with an optional port; an IPv6 address with a port goes in brackets, one
 * without stays bare ("192.0.2.1,127.0.0.1:5300,2001:db8::1,[::1]:5353").
 * NULL goes back to the system's. 0, -EINVAL (a list that does not parse,
 * or an empty one), -ENOMEM, or -ENOTSUP without c-ares (getaddrinfo
 * always asks the system's). Thread-safe; a query already running keeps
 * the servers it started with. Timeouts and attempts stay the system's
 * (resolv.conf's "options", or the RES_OPTIONS environment variable). */
EDDY_API int eddy_dns_set_servers(const char *servers);

EDDY_END_DECLS
#endif
