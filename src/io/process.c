/* process.c: child processes via posix_spawn, pipes wrapped as streams,
 * and exit waited for through a pidfd registered on the loop.
 *
 * The child's stdin is a Unix stream socket rather than a pipe: writing to
 * a pipe whose reader has exited raises SIGPIPE, which kills the whole
 * program (there is no MSG_NOSIGNAL for pipes, and on io_uring the write
 * runs in our own context too), while a socket send says -EPIPE. Our end
 * is shut for reading, so it never waits for the child to close it. */
#include "io.h"
#include "eddy/process.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct eddy_process {
  pid_t pid;
  int pidfd;
  int reaped, status;
  unsigned flags;
  eddy_stream *io[3];
};

static int pidfd_open_(pid_t pid) {
  return (int)syscall(SYS_pidfd_open, pid, 0);
}

EDDY_API int eddy_process_spawn(const char *const argv[], unsigned flags,
                                eddy_process **out) {
  if (!argv || !argv[0] || !out) return -EINVAL;
  *out = NULL;
  if (!eddy__loop()) return EDDY_ENOTTASK;
  eddy_process *p = eddy__calloc(1, sizeof *p);
  if (!p) return -ENOMEM;
  p->flags = flags;
  p->pidfd = -1;
  int fds[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
  int r = 0;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  for (int i = 0; i < 3; i++) {
    if (!(flags & (1u << i))) continue;
    if ((i == 0 ? socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds[i])
                : pipe2(fds[i], O_CLOEXEC)) != 0) {
      r = -errno;
      goto fail;
    }
    int child_end = i == 0 ? fds[i][0] : fds[i][1];
    posix_spawn_file_actions_adddup2(&fa, child_end, i);
  }
  r = -posix_spawnp(&p->pid, argv[0], &fa, NULL, (char *const *)argv, environ);
  if (r) goto fail;
  for (int i = 0; i < 3; i++) {
    if (fds[i][0] < 0) continue;
    int mine = i == 0 ? fds[i][1] : fds[i][0];
    close(i == 0 ? fds[i][0] : fds[i][1]);
    fcntl(mine, F_SETFL, fcntl(mine, F_GETFL) | O_NONBLOCK);
    if (i == 0) shutdown(mine, SHUT_RD); /* closing it drains nothing */
    fds[i][0] = fds[i][1] = -1;
    int e = eddy_stream_from_fd(mine, NULL, &p->io[i]);
    if (!e) eddy__stream_byte_stream(p->io[i]); /* pipes, a stream socket */
    if (e) {
      close(mine);
      if (!r) r = e;
    }
  }
  /* Without pidfds (kernels before 5.3, valgrind) waits poll instead. */
  p->pidfd = pidfd_open_(p->pid);
  posix_spawn_file_actions_destroy(&fa);
  if (r) {
    eddy_process_free(p);
    return r;
  }
  *out = p;
  return 0;
fail:
  for (int i = 0; i < 3; i++)
    for (int k = 0; k < 2; k++)
      if (fds[i][k] >= 0) close(fds[i][k]);
  posix_spawn_file_actions_destroy(&fa);
  eddy__free(p);
  return r;
}

EDDY_API eddy_stream *eddy_process_stdin(eddy_process *p) { return p ? p->io[0] : NULL; }
EDDY_API eddy_stream *eddy_process_stdout(eddy_process *p) { return p ? p->io[1] : NULL; }
EDDY_API eddy_stream *eddy_process_stderr(eddy_process *p) { return p ? p->io[2] : NULL; }
EDDY_API int eddy_process_pid(const eddy_process *p) { return p ? p->pid : -1; }

EDDY_API void eddy_process_close_stdin(eddy_process *p) {
  if (p && p->io[0]) {
    eddy_stream_close(p->io[0]);
    p->io[0] = NULL;
  }
}

static int reap(eddy_process *p) {
  if (p->reaped) return 0;
  int st;
  pid_t r = waitpid(p->pid, &st, WNOHANG);
  if (r == p->pid) {
    p->reaped = 1;
    p->status = st;
    return 0;
  }
  return r < 0 ? -errno : -EAGAIN;
}

EDDY_API int eddy_process_kill(eddy_process *p, int sig) {
  if (!p) return -EINVAL;
  if (p->reaped) return -ESRCH;
  return kill(p->pid, sig) == 0 ? 0 : -errno;
}

/* Kill and reap, uncancellably: used when a wait is abandoned. */
static void kill_and_reap(eddy_process *p) {
  if (p->reaped) return;
  kill(p->pid, SIGKILL);
  eddy_scope shield;
  int shielded = eddy__self() && eddy_scope_enter(&shield, EDDY_FOREVER, EDDY_SCOPE_SHIELD) == 0;
  while (reap(p) == -EAGAIN) {
    if (shielded && p->pidfd >= 0)
      eddy_wait_fd(p->pidfd, EDDY_READABLE, eddy_deadline_in(EDDY_MSEC(100)));
    else if (shielded)
      eddy_sleep(EDDY_MSEC(1));
    else
      usleep(1000);
  }
  if (shielded) eddy_scope_exit(&shield);
}

EDDY_API int eddy_process_wait(eddy_process *p, int *status,
                               eddy_time_t deadline) {
  eddy_task *t;
  int r = eddy__checkpoint(&t);
  if (r == -ECANCELED && p) {
    kill_and_reap(p);
    return r;
  }
  if (r) return r;
  if (!p) return -EINVAL;
  int backoff = 1;
  for (;;) {
    r = reap(p);
    if (r == 0) {
      if (status) *status = p->status;
      return 0;
    }
    if (r != -EAGAIN) return r;
    if (p->pidfd >= 0) {
      r = eddy_wait_fd(p->pidfd, EDDY_READABLE, deadline);
    } else { /* no pidfd: poll, backing off to 20 ms */
      eddy_time_t step = eddy_deadline_in(EDDY_MSEC(backoff));
      if (backoff < 20) backoff *= 2;
      r = eddy_sleep_until(step < deadline ? step : deadline);
      if (r == 0 && eddy_now() >= deadline) r = -ETIMEDOUT;
    }
    if (r == -ECANCELED ||
        (r == -ETIMEDOUT && (p->flags & EDDY_PROCESS_KILL_ON_TIMEOUT))) {
      kill_and_reap(p);
      return r;
    }
    if (r < 0) return r;
  }
}

EDDY_API void eddy_process_free(eddy_process *p) {
  if (!p) return;
  for (int i = 0; i < 3; i++)
    if (p->io[i]) eddy_stream_close(p->io[i]);
  if (p->pid > 0) kill_and_reap(p);
  if (p->pidfd >= 0) close(p->pidfd);
  eddy__free(p);
}
