/* signal.c: signals through signalfd, registered on the loop like any fd.
 * The signals are blocked with pthread_sigmask on the loop's thread; a
 * program with other threads should block them there too (or open the set
 * before starting them, since threads inherit the mask). */
#include "../core/internal.h"
#include "eddy/signal.h"

#include <errno.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

struct eddy_signals {
  eddy_watch watch;
  sigset_t old;
};

EDDY_API int eddy_signals_open(const int *signos, int n, eddy_signals **out) {
  if (!signos || n <= 0 || !out) return -EINVAL;
  *out = NULL;
  if (!eddy__loop()) return EDDY_ENOTTASK;
  sigset_t set;
  sigemptyset(&set);
  for (int i = 0; i < n; i++)
    if (sigaddset(&set, signos[i]) != 0) return -EINVAL;
  eddy_signals *s = eddy__alloc(sizeof *s);
  if (!s) return -ENOMEM;
  int r = pthread_sigmask(SIG_BLOCK, &set, &s->old);
  if (r) {
    eddy__free(s);
    return -r;
  }
  int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) {
    r = -errno;
    pthread_sigmask(SIG_SETMASK, &s->old, NULL);
    eddy__free(s);
    return r;
  }
  r = eddy_watch_init(&s->watch, fd);
  if (r) {
    close(fd);
    pthread_sigmask(SIG_SETMASK, &s->old, NULL);
    eddy__free(s);
    return r;
  }
  *out = s;
  return 0;
}

EDDY_API int eddy_signals_next(eddy_signals *s, eddy_time_t deadline) {
  eddy_task *t;
  int r = eddy__checkpoint(&t);
  if (r) return r;
  if (!s) return -EINVAL;
  for (;;) {
    struct signalfd_siginfo si;
    ssize_t n = eddy__sys_read(s->watch.fd, &si, sizeof si);
    if (n == (ssize_t)sizeof si) return (int)si.ssi_signo;
    if (n >= 0) return -EIO;
    if (n == -EINTR) continue;
    if (n != -EAGAIN) return (int)n;
    r = eddy_watch_wait(&s->watch, EDDY_READABLE, deadline);
    if (r) return r;
  }
}

EDDY_API void eddy_signals_close(eddy_signals *s) {
  if (!s) return;
  int fd = s->watch.fd;
  eddy_watch_fini(&s->watch);
  if (fd >= 0) close(fd);
  pthread_sigmask(SIG_SETMASK, &s->old, NULL);
  eddy__free(s);
}
