/* subprocess_lines.c: run a command and show its output line by line as
 * it arrives, with a deadline on the whole run.
 *
 *   ./subprocess_lines [command args...]   (default: a slow counter) */
#include <eddy.h>
#include <stdio.h>
#include <sys/wait.h>

static int main_task(void *arg) {
  char **argv = arg;
  static const char *deflt[] = {
      "sh", "-c", "for i in 1 2 3 4 5; do echo tick $i; sleep 0.05; done", NULL};
  const char *const *cmd = argv && argv[0] ? (const char *const *)argv : deflt;
  eddy_process *p;
  int r = eddy_process_spawn(cmd, EDDY_PIPE_STDOUT | EDDY_PROCESS_KILL_ON_TIMEOUT, &p);
  if (r) {
    fprintf(stderr, "spawn: %s\n", eddy_strerror(r));
    return 1;
  }
  eddy_time_t deadline = eddy_deadline_in(EDDY_SEC(10));
  const char *line;
  size_t len;
  eddy_time_t t0 = eddy_now();
  while ((r = eddy_stream_read_until(eddy_process_stdout(p), '\n', 65536, &line,
                                     &len, deadline)) == 0)
    printf("[%4lld ms] %.*s", (long long)((eddy_now() - t0) / 1000000), (int)len, line);
  int st = 0;
  r = eddy_process_wait(p, &st, deadline);
  if (r == 0 && WIFEXITED(st)) printf("exit status %d\n", WEXITSTATUS(st));
  else printf("wait: %s\n", eddy_strerror(r));
  eddy_process_free(p);
  return 0;
}

int main(int argc, char **argv) {
  (void)argc;
  return eddy_run(main_task, argv + 1);
}
