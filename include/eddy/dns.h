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

EDDY_END_DECLS
#endif
