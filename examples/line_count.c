/* line_count.c: count lines (and bytes) of a file or of stdin, streaming
 * chunks through a bounded buffer so the input's size does not matter.
 * stdin may be a terminal, a pipe or a redirected file: eddy_stdio_stream
 * reads each kind without blocking the loop and leaves the shell's
 * descriptor as it was.
 *
 *   ./line_count FILE        ./line_count < FILE        cmd | ./line_count */
#include <eddy.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int main_task(void *arg) {
  const char *path = arg;
  int fd = 0;
  if (path && (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
    perror(path);
    return 1;
  }
  eddy_stream *in;
  int r = eddy_stdio_stream(fd, NULL, &in);
  if (path) close(fd); /* the stream has its own descriptor */
  if (r) {
    fprintf(stderr, "line_count: %s\n", eddy_strerror(r));
    return 1;
  }
  long lines = 0, bytes = 0;
  {
    EDDY_WITH(closing, &eddy_stream_cm, in);
    eddy_chunk c;
    int st;
    EDDY_FOR(c, eddy_chunks(in, 64 * 1024), st) {
      bytes += (long)c.len;
      for (const char *p = c.data, *end = c.data + c.len;
           (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
        lines++;
    }
    if (st < 0) {
      fprintf(stderr, "line_count: %s\n", eddy_strerror(st));
      return 1;
    }
  }
  printf("%ld lines, %ld bytes\n", lines, bytes);
  return 0;
}

int main(int argc, char **argv) {
  return eddy_run(main_task, argc > 1 ? argv[1] : NULL);
}
