/* eddy/net.h: TCP and Unix stream sockets with buffered reading, on the
 * loop's readiness backend. Every call that can block takes an absolute
 * deadline (EDDY_FOREVER for none) and is a cancellation checkpoint.
 *
 * Ownership: eddy_stream and eddy_listener objects are allocated by eddy
 * and released by eddy_stream_close() / eddy_listener_close(), which also
 * close the fd. Limits are explicit: a read_until with more than `max`
 * bytes before the delimiter fails with -EMSGSIZE and leaves the stream at
 * a defined point (the oversized bytes stay buffered up to the buffer's
 * capacity; call eddy_stream_discard() or close). */
#ifndef EDDY_NET_H
#define EDDY_NET_H

#include "core.h"

#include <stddef.h>
#include <sys/socket.h>
#include <sys/uio.h>

EDDY_BEGIN_DECLS

typedef struct eddy_stream eddy_stream;
typedef struct eddy_listener eddy_listener;

typedef struct eddy_stream_opts {
  size_t read_buffer;   /* initial buffer size; 0 = 16 KiB */
  size_t max_buffer;    /* the buffer never grows past this (and one byte,
                         * to see whether a line ends there); 0 = 1 MiB */
  int nodelay;          /* TCP_NODELAY (default on: 0 means on, -1 off) */
  int keepalive;        /* SO_KEEPALIVE when 1 */
  int sndbuf, rcvbuf;   /* SO_SNDBUF / SO_RCVBUF when > 0: bounds the kernel
                         * memory a slow peer can pin */
} eddy_stream_opts;

/* Listen on host:port ("0.0.0.0", "::", "127.0.0.1"; port 0 = any). With
 * reuseport=1 several listeners may share the port. */
EDDY_API int eddy_tcp_listen(const char *host, int port, int backlog,
                             int reuseport, eddy_listener **out);
/* The port actually bound (for port 0). */
EDDY_API int eddy_listener_port(const eddy_listener *l);
/* Accept one connection. On EMFILE/ENFILE it backs off (sleeps 10 ms, up
 * to the deadline) instead of spinning, and reports the error only if the
 * deadline passes. */
EDDY_API int eddy_listener_accept(eddy_listener *l, eddy_stream **out,
                                  const eddy_stream_opts *opts,
                                  eddy_time_t deadline);
EDDY_API void eddy_listener_close(eddy_listener *l);

/* Connect to host:port, trying every resolved address in turn until one
 * answers (name resolution runs on the thread pool). */
EDDY_API int eddy_tcp_connect(const char *host, int port,
                              const eddy_stream_opts *opts,
                              eddy_time_t deadline, eddy_stream **out);
/* Wrap an already connected, non-blocking socket or pipe fd. */
EDDY_API int eddy_stream_from_fd(int fd, const eddy_stream_opts *opts,
                                 eddy_stream **out);
/* The process's stdin (0), stdout (1) or stderr (2), or any inherited fd,
 * as a stream of its own: whatever the fd is (terminal, pipe, socket,
 * regular file), reads and writes never block the loop, and the fd itself
 * is left as it was (pipes and terminals are reopened with O_NONBLOCK
 * rather than switched to it under the shell's feet; regular files go
 * through the file layer). Closing the stream closes its own descriptor,
 * never fd itself. */
EDDY_API int eddy_stdio_stream(int fd, const eddy_stream_opts *opts,
                               eddy_stream **out);

/* Unix stream sockets: listen on / connect to a filesystem path (an
 * existing socket file at the path is replaced by listen). */
EDDY_API int eddy_unix_listen(const char *path, int backlog,
                              eddy_listener **out);
EDDY_API int eddy_unix_connect(const char *path, const eddy_stream_opts *opts,
                               eddy_time_t deadline, eddy_stream **out);

/* UDP: a bound datagram socket. send/recv move one datagram each; recv
 * truncation is reported as -EMSGSIZE (the datagram is consumed). */
typedef struct eddy_udp eddy_udp;
EDDY_API int eddy_udp_open(const char *host, int port, eddy_udp **out);
EDDY_API int eddy_udp_port(const eddy_udp *u);
EDDY_API int eddy_udp_send(eddy_udp *u, const void *buf, size_t n,
                           const char *host, int port, eddy_time_t deadline);
/* Returns the datagram's length; the sender's address goes to from/fromlen
 * if not NULL (a struct sockaddr_storage). */
EDDY_API long eddy_udp_recv(eddy_udp *u, void *buf, size_t n, void *from,
                            unsigned *fromlen, eddy_time_t deadline);
EDDY_API void eddy_udp_close(eddy_udp *u);

/* One datagram, as eddy_udp_datagrams (<eddy/stream_iter.h>) hands it out:
 * data is valid until the iterator's next step (or its close). */
typedef struct eddy_datagram {
  const char *data;
  size_t len;       /* at most the iterator's max */
  int truncated;    /* the datagram was longer: data holds its first len
                     * bytes, the rest is gone */
  unsigned fromlen; /* the sender's address */
  struct sockaddr_storage from;
} eddy_datagram;

/* Read what is available, up to n bytes (n >= 1): the count (at least 1),
 * 0 at end of stream (as read(2); a count of 1 must not be mistaken for
 * the end, so this call does not use EDDY_DONE), or an error. */
EDDY_API long eddy_stream_read(eddy_stream *s, void *buf, size_t n,
                               eddy_time_t deadline);
/* Exactly n bytes: 0, EDDY_DONE if the stream ends first (the partial bytes
 * stay buffered), or an error. On -ECANCELED/-ETIMEDOUT nothing is consumed. */
EDDY_API int eddy_stream_read_exact(eddy_stream *s, void *buf, size_t n,
                                    eddy_time_t deadline);
/* Up to and including `delim`: *line points into the stream's buffer and
 * stays valid until the next read; *len includes the delimiter. -EMSGSIZE
 * when more than max bytes come without a delimiter; EDDY_DONE at end of
 * stream with nothing buffered; a last unterminated line at end of stream
 * is returned as is. */
EDDY_API int eddy_stream_read_until(eddy_stream *s, char delim, size_t max,
                                    const char **line, size_t *len,
                                    eddy_time_t deadline);
/* What is available, up to max bytes (max >= 1), without copying: *data
 * points into the stream's buffer and stays valid until the next read of
 * the stream (the bytes are consumed: writing over them is allowed).
 * 0 with *len >= 1, EDDY_DONE at end of stream, or an error; on
 * -ECANCELED/-ETIMEDOUT nothing is consumed. */
EDDY_API int eddy_stream_read_chunk(eddy_stream *s, size_t max,
                                    const char **data, size_t *len,
                                    eddy_time_t deadline);
/* Drop n buffered bytes (after -EMSGSIZE). */
EDDY_API size_t eddy_stream_discard(eddy_stream *s, size_t n);
/* Bytes buffered and not yet consumed (with multishot receive, those
 * received and queued for the stream too). */
EDDY_API size_t eddy_stream_buffered(const eddy_stream *s);

/* Send everything (waits for the peer to drain: backpressure). Returns 0 or
 * an error; on error some prefix may have been sent (*sent tells, if not
 * NULL). */
EDDY_API int eddy_stream_write(eddy_stream *s, const void *buf, size_t n,
                               size_t *sent, eddy_time_t deadline);
EDDY_API int eddy_stream_writev(eddy_stream *s, const struct iovec *iov,
                                int iovcnt, size_t *sent,
                                eddy_time_t deadline);
/* Half-close: no more writes; the peer reads end of stream. */
EDDY_API int eddy_stream_shutdown(eddy_stream *s);
/* Graceful close: shut down writing, drain what the peer still sends until
 * it closes or the deadline (or the loop's grace period) passes, close. */
EDDY_API int eddy_stream_close(eddy_stream *s);
EDDY_API int eddy_stream_fd(const eddy_stream *s);

EDDY_END_DECLS
#endif
