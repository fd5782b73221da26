/* bench_with.c: the WITH entry of eddy_bench: enter + exit of an
 * uncontended lock through the declaration form, and the allocations it
 * makes (zero). Compare: `async with asyncio.Lock()` in bench/peers. */
#include <eddy.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

long eddy__alloc_live(void);
void eddy_bench_with(int quick);

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double per_op;
static long allocs;

static int with_lock_main(void *arg) {
  long n = (long)(intptr_t)arg;
  eddy_lock lock;
  eddy_lock_init(&lock);
  long a0 = eddy__alloc_live();
  double t0 = now_ns();
  for (long i = 0; i < n; i++) {
    EDDY_WITH(g, &eddy_lock_cm, &lock);
    if (g.status) return g.status;
  }
  per_op = (now_ns() - t0) / (double)n;
  allocs = eddy__alloc_live() - a0;
  return 0;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

void eddy_bench_with(int quick) {
  double v[3];
  long n = quick ? 100000 : 10000000;
  for (int r = 0; r < 3; r++) {
    eddy_run(with_lock_main, (void *)(intptr_t)n);
    v[r] = per_op;
  }
  qsort(v, 3, sizeof v[0], cmp);
  printf("BENCH with_lock eddy %.2f ns\nBENCHSPREAD with_lock eddy %.2f %.2f ns\n", v[1], v[0], v[2]);
  printf("BENCH with_lock_allocs eddy %ld count\n", allocs);
  fflush(stdout);
}
