/* eddy/stream_iter.h: I/O the eddy way: resources as context managers and
 * what arrives over time as async iterators.
 *
 *   EDDY_FOR(conn, eddy_accept_iter(listener, NULL), st)   // connections
 *     eddy_spawn(NULL, handle, conn);
 *
 *   eddy_line line;
 *   EDDY_FOR(line, eddy_lines(conn, 4096), st)             // lines
 *     eddy_stream_write(conn, line.data, line.len, NULL, EDDY_FOREVER);
 *   // st == -EMSGSIZE: a line was longer than 4096 bytes
 *
 *   EDDY_WITH(g, &eddy_stream_cm, conn);                   // closes itself
 *
 * A line's data points into the stream's buffer and is valid until the
 * next item. Closing a lines/chunks iterator does not close the stream;
 * closing the accept iterator does not close the listener. */
#ifndef EDDY_STREAM_ITER_H
#define EDDY_STREAM_ITER_H

#include "file.h"
#include "iter.h"
#include "net.h"
#include "with.h"

EDDY_BEGIN_DECLS

typedef struct eddy_line {
  const char *data;
  size_t len; /* including the '\n', except for a last unterminated line */
} eddy_line;

typedef struct eddy_chunk {
  char *data; /* valid until the next item (see eddy_chunks) */
  size_t len;
} eddy_chunk;

/* Lines of at most max bytes (longer: the loop ends with -EMSGSIZE). */
EDDY_API eddy_iter *eddy_lines(eddy_stream *s, size_t max);
/* Chunks of up to size bytes as they arrive. A chunk is the stream's own
 * buffer, handed out without a copy (eddy_stream_read_chunk): it stays valid
 * until the next item or the next read of the stream, and may be written
 * over (its bytes are consumed). */
EDDY_API eddy_iter *eddy_chunks(eddy_stream *s, size_t size);
/* Connections (eddy_stream *), accepted with the given options. */
EDDY_API eddy_iter *eddy_accept_iter(eddy_listener *l,
                                     const eddy_stream_opts *opts);
/* Datagrams (item: eddy_datagram) of at most max bytes, as they arrive:
 * a longer one comes cut to max with .truncated set (the loop goes on).
 * data is valid until the next item. With multishot receive on
 * (eddy_loop_opts.recv_multishot, io_uring) and max within one ring
 * buffer's room (its size less 144 bytes of header and address), datagrams
 * are lent out of the loop's ring without a copy, and any that would not
 * fit a buffer come truncated. Closing the iterator does not close the
 * socket. */
EDDY_API eddy_iter *eddy_udp_datagrams(eddy_udp *u, size_t max);
/* Chunks of a file (item: eddy_chunk), each at most size bytes, read into
 * the iterator's own buffer, which starts on a 64-byte line (the kernel
 * fills an aligned buffer fastest). */
EDDY_API eddy_iter *eddy_file_chunks(eddy_file *f, size_t size);

/* Managers: exit closes the resource (gracefully, for streams). enter
 * only hands the object over (it is already open). */
EDDY_API extern const eddy_cm_ops eddy_stream_cm;
EDDY_API extern const eddy_cm_ops eddy_file_cm;
EDDY_API extern const eddy_cm_ops eddy_listener_cm;

EDDY_END_DECLS
#endif
