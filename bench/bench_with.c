/* bench_with.c: the WITH entry of eddy_bench: enter + exit of an
 * uncontended lock through the declaration form, and the allocations it
 * makes (zero). Compare: `async with asyncio.Lock()` in bench/peers.
 * Honours EDDY_BENCH_ONLY / EDDY_BENCH_COUNT (bench_opts.h). */
#include <eddy.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_opts.h"

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

void eddy_bench_with(int quick) {
  (void)quick;
  if (!eddy_bench_selected("with_lock")) return;
  double v[3];
  long n = eddy_bench_iters(10000000);
  int reps = eddy_bench_reps();
  for (int r = 0; r < reps; r++) {
    eddy_run(with_lock_main, (void *)(intptr_t)n);
    v[r] = per_op;
    eddy_bench_ops("with_lock", n);
  }
  eddy_bench_report("with_lock", v, reps, "ns");
  printf("BENCH with_lock_allocs eddy %ld count\n", allocs);
  fflush(stdout);
}
