/* replay.h: what every fuzz_<target>.c includes: CHECK for its
 * invariants, and the regression runner it becomes outside libFuzzer.
 * When the file is not built with -fsanitize=fuzzer (which brings its own
 * main), this main() runs
 * every file named on the command line (a directory: each file in it)
 * through LLVMFuzzerTestOneInput, so the seed corpus and every input that
 * once crashed are replayed by ctest in the ordinary gcc build. A harness
 * reports a broken invariant by aborting, so the runner needs no verdict
 * of its own: it ends with 0 only if every input went through. */
#ifndef EDDY_FUZZ_REPLAY_H
#define EDDY_FUZZ_REPLAY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A harness's invariant: broken, it aborts, which libFuzzer reports as a
 * crash (and keeps the input) and the replay runner as a failure. */
#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c)) {                                                                \
      fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #c); \
      abort();                                                                 \
    }                                                                          \
  } while (0)

#ifndef EDDY_FUZZ_LIBFUZZER
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int replay_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    return -1;
  }
  size_t cap = 4096, n = 0;
  unsigned char *buf = malloc(cap);
  for (size_t k; buf && (k = fread(buf + n, 1, cap - n, f)) > 0;) {
    n += k;
    if (n == cap) {
      unsigned char *b = realloc(buf, cap * 2);
      if (!b) break;
      buf = b;
      cap *= 2;
    }
  }
  int bad = ferror(f) || !buf;
  fclose(f);
  if (bad) {
    fprintf(stderr, "%s: cannot read\n", path);
    free(buf);
    return -1;
  }
  /* an exact-size copy: ASan sees a read one byte past the input */
  unsigned char *exact = malloc(n ? n : 1);
  memcpy(exact, buf, n);
  free(buf);
  LLVMFuzzerTestOneInput(exact, n);
  free(exact);
  return 0;
}

static int replay_path(const char *path, int *count) {
  struct stat st;
  if (stat(path, &st)) {
    perror(path);
    return -1;
  }
  if (!S_ISDIR(st.st_mode)) {
    (*count)++;
    return replay_file(path);
  }
  DIR *d = opendir(path);
  if (!d) {
    perror(path);
    return -1;
  }
  int rc = 0;
  for (struct dirent *e; (e = readdir(d));) {
    if (e->d_name[0] == '.') continue;
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
    if (replay_path(sub, count)) rc = -1;
  }
  closedir(d);
  return rc;
}

int main(int argc, char **argv) {
  int rc = 0, count = 0;
  for (int i = 1; i < argc; i++)
    if (replay_path(argv[i], &count)) rc = 1;
  if (count == 0) {
    fprintf(stderr, "no inputs replayed\n");
    rc = 1;
  }
  printf("%d inputs replayed%s\n", count, rc ? ", with errors" : "");
  return rc;
}
#endif

#endif
