/* eddy_bench.c: eddy's side of the benchmark suite (bench/run.sh runs it
 * next to the peers in bench/peers and prints the ratios). Each entry
 * prints `BENCH <entry> eddy <value> <unit>` (the median of 3 runs) and
 * `BENCHSPREAD <entry> eddy <min> <max> <unit>`. EDDY_BENCH_QUICK=1 runs
 * tiny counts so CI keeps this compiling and running; its figures mean
 * nothing. The entries of the WITH and FOR layers live in bench_with.c and
 * bench_iter.c and are linked in when present. EDDY_BENCH_ONLY and
 * EDDY_BENCH_COUNT select the instruction-count mode (bench_opts.h). */
#define _GNU_SOURCE
#include <eddy.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../src/arch/switch_inline.h"
#include "../src/core/internal.h"
#include "bench_opts.h"

static int quick;
static long count;       /* EDDY_BENCH_COUNT, 0 in timed mode */
static const char *only; /* EDDY_BENCH_ONLY, NULL for every entry */

int eddy_bench_selected(const char *entry) { return !only || strcmp(only, entry) == 0; }
long eddy_bench_iters(long full) { return count ? count : quick ? full / 100 : full; }
int eddy_bench_reps(void) { return count ? 1 : 3; }
void eddy_bench_ops(const char *entry, long ops) {
  if (count) printf("BENCHOPS %s eddy %ld\n", entry, ops);
}
static long iters(long full) { return eddy_bench_iters(full); }

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

void eddy_bench_report(const char *entry, double *v, int reps, const char *unit) {
  qsort(v, (size_t)reps, sizeof v[0], cmp_double);
  printf("BENCH %s eddy %.2f %s\n", entry, v[reps / 2], unit);
  printf("BENCHSPREAD %s eddy %.2f %.2f %s\n", entry, v[0], v[reps - 1], unit);
  fflush(stdout);
}
static void report(const char *entry, double v[3], const char *unit) {
  eddy_bench_report(entry, v, eddy_bench_reps(), unit);
}

/* ---- switch: raw one-way context switch between two stacks, as eddy's
 * loops switch by default (the floating-point control words belong to the
 * thread), and switch_fp as a loop with fp_env_per_task switches (each
 * context keeps its own, as Boost.Context's switch does). */
static void sw_entry(eddy__transfer t) {
  for (;;) t = eddy__ctx_switch_fast_nofp(t.ctx, NULL);
}
static void sw_entry_fp(eddy__transfer t) {
  for (;;) t = eddy__ctx_switch_fast(t.ctx, NULL);
}
static void bench_switch(int fp) {
  static char stack[64 * 1024] __attribute__((aligned(16)));
  const char *entry = fp ? "switch_fp" : "switch";
  double v[3];
  for (int rep = 0; rep < eddy_bench_reps(); rep++) {
    void *ctx = eddy__ctx_make(stack, stack + sizeof stack, fp ? sw_entry_fp : sw_entry);
    long n = iters(50000000);
    double t0 = now_ns();
    if (fp)
      for (long i = 0; i < n; i++) ctx = eddy__ctx_switch_fast(ctx, NULL).ctx;
    else
      for (long i = 0; i < n; i++) ctx = eddy__ctx_switch_fast_nofp(ctx, NULL).ctx;
    v[rep] = (now_ns() - t0) / (double)(2 * n);
    eddy_bench_ops(entry, 2 * n);
  }
  report(entry, v, "ns");
}

/* ---- yield: two tasks yield to each other through the run queue, so
 * every yield is a real switch (with one task alone a yield returns at once
 * and would measure nothing). ns per yield. */
static double result_ns;
static int yielder(void *arg) {
  long n = (long)(intptr_t)arg;
  for (long i = 0; i < n; i++) eddy_yield();
  return 0;
}
static int yield_main(void *arg) {
  long n = (long)(intptr_t)arg;
  eddy_task *a, *b;
  double t0 = now_ns();
  eddy_spawn(&a, yielder, (void *)(intptr_t)n);
  eddy_spawn(&b, yielder, (void *)(intptr_t)n);
  eddy_join(a, NULL);
  eddy_join(b, NULL);
  result_ns = (now_ns() - t0) / (double)(2 * n);
  return 0;
}
static void bench_yield(void) {
  double v[3];
  for (int rep = 0; rep < eddy_bench_reps(); rep++) {
    eddy_run(yield_main, (void *)(intptr_t)iters(20000000));
    v[rep] = result_ns;
    eddy_bench_ops("yield", 2 * iters(20000000));
  }
  report("yield", v, "ns");
}

/* ---- spawn_join: spawn a short task and join it */
static int trivial(void *arg) { return (int)(intptr_t)arg; }
static int churn_main(void *arg) {
  long n = (long)(intptr_t)arg;
  double t0 = now_ns();
  for (long i = 0; i < n; i++) {
    eddy_task *t;
    eddy_spawn(&t, trivial, NULL);
    eddy_join(t, NULL);
  }
  result_ns = (now_ns() - t0) / (double)n;
  return 0;
}
static void bench_spawn_join(void) {
  double v[3];
  for (int rep = 0; rep < eddy_bench_reps(); rep++) {
    eddy_run(churn_main, (void *)(intptr_t)iters(5000000));
    v[rep] = 1e9 / result_ns;
    eddy_bench_ops("spawn_join", iters(5000000));
  }
  report("spawn_join", v, "ops/s");
}

/* ---- idle_mem: RSS per idle task, one million tasks */
static long rss_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long pages = 0, rss = 0;
  if (f) {
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
    fclose(f);
  }
  return rss * 4096;
}
static eddy_event gate;
static const char *idle_tag = ""; /* "_small" for the small-stack run */
static int idle(void *arg) {
  (void)arg;
  return eddy_event_wait(&gate);
}
static size_t idle_stack; /* 0: the loop's default */
static int idle_main(void *arg) {
  long n = (long)(intptr_t)arg;
  eddy_spawn_opts so = {.stack_size = idle_stack};
  eddy_event_init(&gate);
  long before = rss_bytes();
  double t0 = now_ns();
  for (long i = 0; i < n; i++) eddy_spawn_ex(NULL, idle, NULL, &so);
  eddy_yield();
  double t1 = now_ns();
  long after = rss_bytes();
  result_ns = (double)(after - before) / (double)n;
  printf("BENCH idle_spawn%s eddy %.1f ns\n", idle_tag, (t1 - t0) / (double)n);
  t0 = now_ns();
  eddy_event_set(&gate);
  eddy_yield();
  printf("BENCH idle_wake%s eddy %.1f ns\n", idle_tag, (now_ns() - t0) / (double)n);
  return 0;
}
/* stack_size 0: the default (64 KiB, guarded); else the idle tasks get
 * stacks of that size in a loop without guard pages (packed under a page) */
static void bench_idle_mem(size_t stack_size, const char *entry) {
  double v[3];
  eddy_loop_opts o = {.stack_guard = stack_size ? -1 : 0};
  idle_stack = stack_size;
  idle_tag = stack_size ? "_small" : "";
  for (int rep = 0; rep < eddy_bench_reps(); rep++) {
    eddy_run_opts(idle_main, (void *)(intptr_t)(quick ? 10000 : 1000000), &o);
    v[rep] = result_ns;
  }
  report(entry, v, "B");
}

/* ---- timer: arm + cancel of a timer (the heap under every deadline) */
static int timer_main(void *arg) {
  long n = (long)(intptr_t)arg;
  eddy_loop *loop = eddy_loop_current();
  /* a realistic heap: 1000 other timers armed */
  static eddy_timer_entry bg[1000], t;
  eddy_time_t base = eddy_now();
  for (int i = 0; i < 1000; i++) eddy__timer_arm(loop, &bg[i], base + EDDY_SEC(10 + i));
  double t0 = now_ns();
  for (long i = 0; i < n; i++) {
    eddy__timer_arm(loop, &t, base + EDDY_SEC(5) + i);
    eddy__timer_cancel(loop, &t);
  }
  result_ns = (now_ns() - t0) / (double)n;
  for (int i = 0; i < 1000; i++) eddy__timer_cancel(loop, &bg[i]);
  return 0;
}
static void bench_timer(void) {
  double v[3];
  for (int rep = 0; rep < eddy_bench_reps(); rep++) {
    eddy_run(timer_main, (void *)(intptr_t)iters(20000000));
    v[rep] = result_ns;
    eddy_bench_ops("timer", iters(20000000));
  }
  report("timer", v, "ns");
}

/* ---- timeout_scope: enter + exit of a deadline scope (what a user types) */
static int scope_main(void *arg) {
  long n = (long)(intptr_t)arg;
  double t0 = now_ns();
  for (long i = 0; i < n; i++) {
    eddy_scope s;
    eddy_scope_enter(&s, eddy_deadline_in(EDDY_SEC(5)), 0);
    eddy_scope_exit(&s);
  }
  result_ns = (now_ns() - t0) / (double)n;
  return 0;
}
static void bench_scope(void) {
  double v[3];
  for (int rep = 0; rep < eddy_bench_reps(); rep++) {
    eddy_run(scope_main, (void *)(intptr_t)iters(10000000));
    v[rep] = result_ns;
  }
  report("timeout_scope", v, "ns");
}

__attribute__((weak)) void eddy_bench_with(int q);
__attribute__((weak)) void eddy_bench_iter(int q);

int main(int argc, char **argv) {
  const char *q = getenv("EDDY_BENCH_QUICK");
  quick = q && *q && strcmp(q, "0") != 0;
  const char *o = getenv("EDDY_BENCH_ONLY"), *c = getenv("EDDY_BENCH_COUNT");
  only = o && *o ? o : NULL;
  static const char *const entries[] = {"switch", "switch_fp", "yield", "spawn_join", "timer", "timeout_scope",
                                        "idle_mem", "idle_mem_small", "with_lock", "pingpong",
                                        "agen", "iter_plain"};
  int known = !only;
  for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) known |= only && strcmp(only, entries[i]) == 0;
  if (!known) {
    fprintf(stderr, "eddy_bench: EDDY_BENCH_ONLY: no entry '%s'\n", only);
    return 2;
  }
  if (c && *c) {
    char *end;
    count = strtol(c, &end, 10);
    if (*end || count <= 0) {
      fprintf(stderr, "eddy_bench: EDDY_BENCH_COUNT must be a positive integer, not '%s'\n", c);
      return 2;
    }
  }
  const char *group = argc > 1 ? argv[1] : NULL;
  /* argv[1] names one entry, or the group "with" / "iter" */
#define RUN(name, call) \
  if ((!group || strcmp(group, name) == 0) && eddy_bench_selected(name)) { call; }
  RUN("switch", bench_switch(0));
  RUN("switch_fp", bench_switch(1));
  RUN("yield", bench_yield());
  RUN("spawn_join", bench_spawn_join());
  RUN("timer", bench_timer());
  RUN("timeout_scope", bench_scope());
  RUN("idle_mem", bench_idle_mem(0, "idle_mem"));
  RUN("idle_mem_small", bench_idle_mem(EDDY_STACK_MIN_UNGUARDED, "idle_mem_small"));
  /* the groups select their own entries with eddy_bench_selected */
  if (eddy_bench_with && (!group || strcmp(group, "with") == 0)) eddy_bench_with(quick);
  if (eddy_bench_iter && (!group || strcmp(group, "iter") == 0)) eddy_bench_iter(quick);
  return 0;
}
