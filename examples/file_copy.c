/* file_copy.c: copy a file by streaming chunks: FOR over the source's
 * chunks, each written to the destination; both files are context managers
 * that close themselves. Reads and writes are ring operations on io_uring
 * and run on the thread pool on epoll, so the loop stays free for other
 * tasks either way.
 *
 *   ./file_copy SRC DST */
#include <eddy.h>
#include <fcntl.h>
#include <stdio.h>

static int copy(void *arg) {
  char **argv = arg;
  eddy_file *in, *out;
  int r = eddy_file_open(argv[1], O_RDONLY, 0, &in);
  if (r) return r;
  EDDY_WITH(gi, &eddy_file_cm, in);
  if ((r = eddy_file_open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644, &out))) return r;
  EDDY_WITH(go, &eddy_file_cm, out);
  eddy_chunk chunk;
  int st;
  long total = 0;
  EDDY_FOR(chunk, eddy_file_chunks(in, 1 << 16), st) {
    if ((r = eddy_file_write(out, chunk.data, chunk.len))) {
      EDDY_FOR_FAIL(st, r);
      break;
    }
    total += (long)chunk.len;
  }
  if (st == 0) st = eddy_file_datasync(out);
  if (st == 0) printf("copied %ld bytes\n", total);
  return eddy_with_close(&go, st);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s SRC DST\n", argv[0]);
    return 2;
  }
  int r = eddy_run(copy, argv);
  if (r) fprintf(stderr, "file_copy: %s\n", eddy_strerror(r));
  return r ? 1 : 0;
}
