/* eddy/file.h: regular files. On the epoll backend every call runs on the
 * loop's thread pool (eddy/thread.h), so a slow disk never blocks the loop;
 * cancellation follows the pool's rule (a call that had not started did not
 * happen; one that had is waited for and reports what it did). */
#ifndef EDDY_FILE_H
#define EDDY_FILE_H

#include "core.h"

#include <sys/types.h>

EDDY_BEGIN_DECLS

typedef struct eddy_file eddy_file;

/* open(2) flags and mode. */
EDDY_API int eddy_file_open(const char *path, int flags, int mode,
                            eddy_file **out);
/* Bytes read (0 at end of file) or an error; pread/pwrite at an offset. */
EDDY_API long eddy_file_read(eddy_file *f, void *buf, size_t n);
EDDY_API long eddy_file_pread(eddy_file *f, void *buf, size_t n, off_t off);
/* Write everything (looping over short writes); 0 or an error. */
EDDY_API int eddy_file_write(eddy_file *f, const void *buf, size_t n);
EDDY_API int eddy_file_pwrite(eddy_file *f, const void *buf, size_t n,
                              off_t off);
EDDY_API int eddy_file_sync(eddy_file *f);      /* fsync */
EDDY_API int eddy_file_datasync(eddy_file *f);  /* fdatasync */
EDDY_API int eddy_file_fd(const eddy_file *f);
/* Close (on the pool too: close can block on network filesystems). */
EDDY_API int eddy_file_close(eddy_file *f);

EDDY_END_DECLS
#endif
