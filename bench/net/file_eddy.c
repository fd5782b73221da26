/* file_eddy.c: eddy's side of the page-cache file entries, against
 * bench/peers/file_floor.c (bare pread/read in a C loop) on the same file:
 *
 *  - file_pread_4k: eddy_file_pread of 4 KiB at pseudo-random 4 KiB-aligned
 *    offsets (the same sequence as the floor's), ns per read;
 *  - file_seq_bw: the whole file, FOR over eddy_file_chunks of 64 KiB,
 *    several passes, MB/s (10^6 bytes per second).
 *
 * The file is read once, untimed, first, so every timed read is a page-cache
 * hit. Median of 3 repetitions (one with EDDY_BENCH_QUICK=1, and tiny
 * counts). Prints BENCH / BENCHSPREAD lines under the runtime name given.
 *
 *   file_eddy PATH RUNTIME      (PATH: a file of at least 1 MiB) */
#include <eddy.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PAGE 4096
#define CHUNK (64 * 1024)

static const char *path, *name;
static int quick;
static char *buf;

static void report(const char *entry, double *v, int n, const char *unit) {
  for (int i = 1; i < n; i++) /* sort n <= 3 values */
    for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
      double t = v[j];
      v[j] = v[j - 1];
      v[j - 1] = t;
    }
  printf("BENCH %s %s %.2f %s\n", entry, name, v[n / 2], unit);
  printf("BENCHSPREAD %s %s %.2f %.2f %s\n", entry, name, v[0], v[n - 1], unit);
  fflush(stdout);
}

/* One pass over the whole file in chunks; bytes read or an error. */
static long long pass(void) {
  eddy_file *f;
  int r = eddy_file_open(path, O_RDONLY, 0, &f);
  if (r) return r;
  EDDY_WITH(g, &eddy_file_cm, f);
  long long total = 0;
  eddy_chunk c;
  int st;
  EDDY_FOR(c, eddy_file_chunks(f, CHUNK), st) total += (long long)c.len;
  return st < 0 ? st : total;
}

static int run(void *arg) {
  (void)arg;
  long long size = pass(); /* untimed: brings the file into the page cache */
  if (size < (1 << 20)) {
    fprintf(stderr, "file_eddy: %s: %s\n", path,
            size < 0 ? eddy_strerror((int)size) : "smaller than 1 MiB");
    return 1;
  }
  int reps = quick ? 1 : 3;
  long reads = quick ? 2000 : 200000;
  int passes = quick ? 1 : 8;
  uint64_t pages = (uint64_t)size / PAGE;
  double v[3];

  eddy_file *f;
  int r = eddy_file_open(path, O_RDONLY, 0, &f);
  if (r) return 1;
  {
    EDDY_WITH(g, &eddy_file_cm, f);
    for (int k = 0; k < reps; k++) {
      uint64_t x = 88172645463325252ull; /* xorshift64: the floor's sequence */
      eddy_time_t t0 = eddy_now();
      for (long i = 0; i < reads; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        long n = eddy_file_pread(f, buf, PAGE, (off_t)((x % pages) * PAGE));
        if (n != PAGE) {
          fprintf(stderr, "file_eddy: pread: %s\n", n < 0 ? eddy_strerror((int)n) : "short");
          return 1;
        }
      }
      v[k] = (double)(eddy_now() - t0) / (double)reads;
    }
  }
  report("file_pread_4k", v, reps, "ns");

  for (int k = 0; k < reps; k++) {
    eddy_time_t t0 = eddy_now();
    long long bytes = 0;
    for (int p = 0; p < passes; p++) {
      long long n = pass();
      if (n != size) {
        fprintf(stderr, "file_eddy: pass read %lld of %lld bytes\n", n, size);
        return 1;
      }
      bytes += n;
    }
    v[k] = (double)bytes / ((double)(eddy_now() - t0) / 1e9) / 1e6;
  }
  report("file_seq_bw", v, reps, "MB/s");
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: file_eddy PATH RUNTIME\n");
    return 2;
  }
  path = argv[1];
  name = argv[2];
  const char *q = getenv("EDDY_BENCH_QUICK");
  quick = q && *q && strcmp(q, "0") != 0;
  /* 64-byte aligned, as the floor's buffers are: the kernel's copy into a
   * buffer off a cache line is slower, and both sides must pay the same */
  if (posix_memalign((void **)&buf, 64, PAGE)) return 1;
  int r = eddy_run(run, NULL);
  free(buf);
  return r;
}
