/* file_floor.c: the floor of the page-cache file entries (runtime floor):
 * what bench/net/file_eddy.c does, with bare system calls in a C loop.
 *
 *  - file_pread_4k: pread of 4 KiB at pseudo-random 4 KiB-aligned offsets
 *    (xorshift64, the same sequence as file_eddy's), ns per read; and, as
 *    runtime floor-nowait, the same reads with the one call that cannot
 *    wait for the disk, preadv2(RWF_NOWAIT) (raw, as eddy makes it). That
 *    is the floor for a loop that must never block: a plain pread of an
 *    evicted page sleeps, and O_NONBLOCK means nothing to regular files.
 *    The two alternate, repetition by repetition, so drift hits both;
 *  - file_seq_bw: the whole file with read() of 64 KiB, several passes,
 *    MB/s (10^6 bytes per second).
 *
 * The file is read once, untimed, first. Median of 3 repetitions (one with
 * EDDY_BENCH_QUICK=1, and tiny counts). Prints BENCH / BENCHSPREAD lines.
 *
 *   file_floor PATH */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096
#define CHUNK (64 * 1024)

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void report(const char *entry, const char *name, double *v, int n, const char *unit) {
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
      double t = v[j];
      v[j] = v[j - 1];
      v[j - 1] = t;
    }
  printf("BENCH %s %s %.2f %s\n", entry, name, v[n / 2], unit);
  printf("BENCHSPREAD %s %s %.2f %.2f %s\n", entry, name, v[0], v[n - 1], unit);
  fflush(stdout);
}

static char chunk[CHUNK] __attribute__((aligned(64))); /* as eddy's buffers */

/* One pass over the whole file; bytes read or -1. */
static long long pass(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  long long total = 0;
  ssize_t n;
  while ((n = read(fd, chunk, CHUNK)) > 0) total += n;
  close(fd);
  return n < 0 ? -1 : total;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: file_floor PATH\n");
    return 2;
  }
  const char *path = argv[1], *q = getenv("EDDY_BENCH_QUICK");
  int quick = q && *q && strcmp(q, "0") != 0;
  long long size = pass(path);
  if (size < (1 << 20)) {
    fprintf(stderr, "file_floor: %s: unreadable or smaller than 1 MiB\n", path);
    return 1;
  }
  int reps = quick ? 1 : 3;
  long reads = quick ? 2000 : 200000;
  int passes = quick ? 1 : 8;
  uint64_t pages = (uint64_t)size / PAGE;
  double v[3];
  static char buf[PAGE] __attribute__((aligned(64)));
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 1;
  double w[3];
  int has_nowait = 1; /* off where the filesystem refuses RWF_NOWAIT */
  long misses = 0;    /* pages evicted since the file was read in */
  for (int k = 0; k < 2 * reps; k++) {
    int nowait = k & 1;
    if (nowait && !has_nowait) continue;
    uint64_t x = 88172645463325252ull;
    double t0 = now_ns();
    for (long i = 0; i < reads; i++) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      off_t off = (off_t)((x % pages) * PAGE);
      ssize_t n;
      if (nowait) {
        struct iovec iv = {.iov_base = buf, .iov_len = PAGE};
        n = syscall(SYS_preadv2, fd, &iv, 1, (long)off, (long)((unsigned long long)off >> 32),
                    RWF_NOWAIT);
      } else {
        n = pread(fd, buf, PAGE, off);
      }
      if (n < 0 && nowait && errno == EAGAIN) { /* evicted since: read it as eddy would, */
        misses++;                                /* from the disk, and count it */
        n = pread(fd, buf, PAGE, off);
      }
      if (n < 0 && nowait && (errno == EOPNOTSUPP || errno == EINVAL)) {
        fprintf(stderr, "file_floor: no RWF_NOWAIT on this filesystem: no floor-nowait\n");
        has_nowait = 0;
        break;
      }
      if (n != PAGE) {
        perror(nowait ? "file_floor: preadv2(RWF_NOWAIT)" : "file_floor: pread");
        return 1;
      }
    }
    (nowait ? w : v)[k / 2] = (now_ns() - t0) / (double)reads;
  }
  close(fd);
  report("file_pread_4k", "floor", v, reps, "ns");
  if (has_nowait) report("file_pread_4k", "floor-nowait", w, reps, "ns");
  if (misses) /* the machine reclaims page cache (DAMON here): say so */
    fprintf(stderr, "file_floor: %ld of %ld RWF_NOWAIT reads found their page evicted\n",
            misses, reads * reps);
  for (int k = 0; k < reps; k++) {
    double t0 = now_ns();
    long long bytes = 0;
    for (int p = 0; p < passes; p++) {
      long long n = pass(path);
      if (n != size) {
        fprintf(stderr, "file_floor: a pass read %lld of %lld bytes\n", n, size);
        return 1;
      }
      bytes += n;
    }
    v[k] = (double)bytes / ((now_ns() - t0) / 1e9) / 1e6;
  }
  report("file_seq_bw", "floor", v, reps, "MB/s");
  return 0;
}
