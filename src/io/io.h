/* io.h: what the files of src/io share. */
#ifndef EDDY_IO_H
#define EDDY_IO_H

#include "../core/internal.h"
#include "eddy/net.h"

/* A listening socket (TCP or Unix): its registration and bound port. */
struct eddy_listener {
  eddy_watch watch;
  int port;
  void *accept_state; /* the backend's accept request (io_uring), or NULL */
};

#include <sys/socket.h>

/* The maker of a stream knows its fd is a byte-stream socket or a pipe, in
 * which a short read means empty: spares the stream finding out (stream.c). */
void eddy__stream_byte_stream(eddy_stream *s);
/* The next datagram for eddy_udp_datagrams (unix.c): lent out of the
 * loop's ring (valid until the next call, or the socket's close), or read
 * into buf (max bytes). 0 or an error. */
int eddy__udp_next(eddy_udp *u, char *buf, size_t max, eddy_datagram *d,
                   eddy_time_t deadline);
/* Test hook: 1 if the stream reads through multishot receive (stream.c). */
int eddy__stream_multishot(const eddy_stream *s);

/* A numeric IPv4/IPv6 address and port as a sockaddr (NULL or "" host:
 * 0.0.0.0). 0 or -EINVAL. */
int eddy__inet_addr(const char *host, int port, struct sockaddr_storage *ss,
                    socklen_t *len);
/* Bind fd to the address, listen, and wrap it as a listener; on failure
 * fd is closed. (Unix listeners unlink the path first themselves.) */
int eddy__listen_fd(int fd, const struct sockaddr *a, socklen_t len,
                    int backlog, eddy_listener **out);

/* One read or write of a regular file at off (-1: the file position),
 * never blocking the loop: a ring operation on io_uring; on epoll a
 * RWF_NOWAIT read from the page cache, else the thread pool (file.c).
 * *no_nowait remembers a filesystem that refuses RWF_NOWAIT. */
long eddy__fd_read(int fd, void *buf, size_t n, off_t off, int *no_nowait);
long eddy__fd_write(int fd, const void *buf, size_t n, off_t off);

#endif
