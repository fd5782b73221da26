/* error.c: eddy_strerror() and eddy_errname() over errno codes and eddy's
 * own. One table keeps each code, its name and its text together. */
#include "internal.h"

#include <errno.h>
#include <string.h>

#define EDDY_OWN_CODES(X)                                                   \
  X(EDDY_DONE, "end of stream")                                             \
  X(EDDY_BROKE, "loop left before the end of the stream")                                             \
  X(EDDY_ENOTTASK, "blocking call made outside an eddy task")               \
  X(EDDY_ENOGUARD, "no stack guard page could be installed (vm.max_map_count?)") \
  X(EDDY_ESTACK, "stack size out of range")                                 \
  X(EDDY_ESCOPE, "yield inside a scope the generator opened")               \
  X(EDDY_EMULTI, "several tasks failed; enumerate the group's results")     \
  X(EDDY_ECLOSED, "object already closed or finished")                      \
  X(EDDY_ECLOSING, "generator is being closed")                             \
  X(EDDY_EPROTOCOL, "iterator or generator broke the protocol")

#define ERRNO_NAMES(X)                                                     \
  X(EPERM) X(ENOENT) X(ESRCH) X(EINTR) X(EIO) X(ENXIO) X(E2BIG) X(EBADF)   \
  X(ECHILD) X(EAGAIN) X(ENOMEM) X(EACCES) X(EFAULT) X(EBUSY) X(EEXIST)     \
  X(EXDEV) X(ENODEV) X(ENOTDIR) X(EISDIR) X(EINVAL) X(ENFILE) X(EMFILE)    \
  X(ENOTTY) X(EFBIG) X(ENOSPC) X(ESPIPE) X(EROFS) X(EMLINK) X(EPIPE)       \
  X(EDOM) X(ERANGE) X(EDEADLK) X(ENAMETOOLONG) X(ENOSYS) X(ENOTEMPTY)      \
  X(ELOOP) X(ENOMSG) X(EOVERFLOW) X(EILSEQ) X(EPROTO) X(EBADMSG)           \
  X(ENOTSOCK) X(EDESTADDRREQ) X(EMSGSIZE) X(EPROTOTYPE) X(ENOPROTOOPT)     \
  X(EPROTONOSUPPORT) X(EOPNOTSUPP) X(EAFNOSUPPORT) X(EADDRINUSE)           \
  X(EADDRNOTAVAIL) X(ENETDOWN) X(ENETUNREACH) X(ECONNABORTED)              \
  X(ECONNRESET) X(ENOBUFS) X(EISCONN) X(ENOTCONN) X(ESHUTDOWN)             \
  X(ETIMEDOUT) X(ECONNREFUSED) X(EHOSTUNREACH) X(EALREADY) X(EINPROGRESS)  \
  X(ECANCELED) X(EOWNERDEAD)

EDDY_API const char *eddy_strerror(int code) {
  switch (code) {
  case 0: return "success";
#define X(c, s) case c: return s;
    EDDY_OWN_CODES(X)
#undef X
  case -ECANCELED: return "operation cancelled";
  case -ETIMEDOUT: return "deadline reached";
  default: break;
  }
  if (code < 0 && code > -4096) return strerror(-code);
  return "unknown error";
}

EDDY_API const char *eddy_errname(int code) {
  switch (code) {
  case 0: return "OK";
#define X(c, s) case c: return #c;
    EDDY_OWN_CODES(X)
#undef X
#define Y(e) case -e: return #e;
    ERRNO_NAMES(Y)
#undef Y
  default: return "EUNKNOWN";
  }
}
