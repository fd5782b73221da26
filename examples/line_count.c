/* line_count.c: count lines (and bytes) of a file or of stdin, streaming
 * through a bounded buffer so the input's size does not matter.
 *
 *   ./line_count FILE        ./line_count < FILE */
#include <eddy.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

static void count(const char *buf, long n, long *lines) {
  for (long i = 0; i < n; i++) *lines += buf[i] == '\n';
}

/* A regular file cannot be polled (epoll refuses it with EPERM): read it
 * through the thread pool instead. */
static int count_file(const char *path) {
  eddy_file *f;
  int r = eddy_file_open(path, O_RDONLY, 0, &f);
  if (r) return r;
  static char buf[1 << 16];
  long n, lines = 0, bytes = 0;
  while ((n = eddy_file_read(f, buf, sizeof buf)) > 0) {
    bytes += n;
    count(buf, n, &lines);
  }
  eddy_file_close(f);
  if (n < 0) return (int)n;
  printf("%ld lines, %ld bytes\n", lines, bytes);
  return 0;
}

static int count_stream(int fd) {
  eddy_stream *in;
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  int r = eddy_stream_from_fd(fd, NULL, &in);
  if (r) return r;
  static char buf[1 << 14];
  long n, lines = 0, bytes = 0;
  while ((n = eddy_stream_read(in, buf, sizeof buf, EDDY_FOREVER)) > 0 &&
         n != EDDY_DONE) {
    bytes += n;
    count(buf, n, &lines);
  }
  eddy_stream_close(in);
  if (n < 0) return (int)n;
  printf("%ld lines, %ld bytes\n", lines, bytes);
  return 0;
}

static int main_task(void *arg) {
  const char *path = arg;
  int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : dup(0);
  if (fd < 0) {
    perror(path ? path : "stdin");
    return 1;
  }
  int r = count_stream(fd);
  if (r == -EPERM) {
    close(fd);
    r = count_file(path ? path : "/dev/stdin");
  }
  if (r) fprintf(stderr, "line_count: %s\n", eddy_strerror(r));
  return r ? 1 : 0;
}

int main(int argc, char **argv) {
  return eddy_run(main_task, argc > 1 ? argv[1] : NULL);
}
