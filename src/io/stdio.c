/* stdio.c: the process's standard streams (or any inherited fd) as eddy
 * streams.
 *
 * Making fd 0 non-blocking in place would change the open file description
 * the shell and every other process on the terminal share: after we exit
 * the shell would see EAGAIN. So pipes, FIFOs and terminals are reopened
 * through /proc/self/fd, which gives a description of our own to make
 * non-blocking. Sockets cannot be reopened that way; they are duplicated
 * and made non-blocking (a socket handed to us is ours to drive). Regular
 * files are never "ready" or "not ready": the stream reads and writes them
 * through the file layer, which keeps the disk off the loop. */
#include "io.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

EDDY_API int eddy_stdio_stream(int fd, const eddy_stream_opts *opts,
                               eddy_stream **out) {
  if (!out || fd < 0) return -EINVAL;
  *out = NULL;
  if (!eddy__loop()) return EDDY_ENOTTASK;
  struct stat st;
  if (fstat(fd, &st) != 0) return -errno;
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) return -errno;
  int mine = -1;
  if (S_ISSOCK(st.st_mode)) {
    mine = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (mine >= 0 && fcntl(mine, F_SETFL, flags | O_NONBLOCK) != 0) {
      close(mine);
      mine = -1;
    }
  } else if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) {
    mine = fcntl(fd, F_DUPFD_CLOEXEC, 3); /* shares the file position */
  } else {
    char path[32];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    mine = open(path, (flags & O_ACCMODE) | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  }
  if (mine < 0) return -errno;
  int r = eddy_stream_from_fd(mine, opts, out);
  if (r) close(mine);
  return r;
}
