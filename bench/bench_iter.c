/* bench_iter.c: the FOR entries of eddy_bench: an async generator yielding
 * one int per item into a FOR loop, and a plain C callback iterator
 * producing the same ints (the ratio of the two is the cost of the
 * coroutine hand-off). Channel ping-pong lives here too when channels are
 * built in. Each entry honours EDDY_BENCH_ONLY / EDDY_BENCH_COUNT
 * (bench_opts.h). */
#include <eddy.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_opts.h"

void eddy_bench_iter(int quick);

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}
static void report(const char *e, double v[3]) { eddy_bench_report(e, v, eddy_bench_reps(), "ns"); }

static long n_items;
static double result;

static int ints(eddy_gen *g, void *arg) {
  (void)arg;
  for (long i = 0; i < n_items; i++) {
    int v = (int)i;
    if (eddy_gen_yield(g, &v)) break;
  }
  return 0;
}
static int agen_main(void *arg) {
  (void)arg;
  int x, st;
  long sum = 0;
  double t0 = now_ns();
  EDDY_FOR(x, eddy_gen_new(ints, NULL, sizeof x), st) sum += x;
  result = (now_ns() - t0) / (double)n_items;
  return sum == n_items * (n_items - 1) / 2 ? 0 : 1;
}

/* the plain iterator: a callback that produces the next int */
typedef struct plain {
  long i, n;
} plain;
static __attribute__((noinline)) int plain_next(plain *p, int *out) {
  if (p->i >= p->n) return 0;
  *out = (int)p->i++;
  return 1;
}
static int (*volatile plain_fn)(plain *, int *) = plain_next;
static int plain_main(void *arg) {
  (void)arg;
  plain p = {0, n_items};
  int x;
  long sum = 0;
  double t0 = now_ns();
  while (plain_fn(&p, &x)) sum += x;
  result = (now_ns() - t0) / (double)n_items;
  return sum == n_items * (n_items - 1) / 2 ? 0 : 1;
}

/* ping-pong: two tasks, a 1-slot channel each way; ns per round trip */
static eddy_chan *ping, *pong;
static int echo(void *arg) {
  (void)arg;
  int x;
  while (eddy_chan_recv(ping, &x, EDDY_FOREVER) == 0)
    if (eddy_chan_send(pong, &x, EDDY_FOREVER)) break;
  return 0;
}
static int pingpong_main(void *arg) {
  (void)arg;
  eddy_chan_new(&ping, sizeof(int), 1, NULL);
  eddy_chan_new(&pong, sizeof(int), 1, NULL);
  eddy_task *t;
  eddy_spawn(&t, echo, NULL);
  double t0 = now_ns();
  for (long i = 0; i < n_items; i++) {
    int x = (int)i;
    eddy_chan_send(ping, &x, EDDY_FOREVER);
    eddy_chan_recv(pong, &x, EDDY_FOREVER);
  }
  result = (now_ns() - t0) / (double)n_items;
  eddy_chan_close(ping);
  eddy_join(t, NULL);
  eddy_chan_free(ping);
  eddy_chan_free(pong);
  return 0;
}

void eddy_bench_iter(int quick) {
  (void)quick;
  n_items = eddy_bench_iters(10000000);
  int reps = eddy_bench_reps();
  int do_agen = eddy_bench_selected("agen"), do_plain = eddy_bench_selected("iter_plain");
  double a[3], p[3];
  /* agen and the plain iterator alternate, so drift hits both alike */
  for (int r = 0; r < reps && (do_agen || do_plain); r++) {
    if (do_agen) {
      eddy_run(agen_main, NULL);
      a[r] = result;
      eddy_bench_ops("agen", n_items);
    }
    if (do_plain) {
      eddy_run(plain_main, NULL);
      p[r] = result;
      eddy_bench_ops("iter_plain", n_items);
    }
  }
  if (eddy_bench_selected("pingpong")) {
    double pp[3];
    for (int r = 0; r < reps; r++) {
      eddy_run(pingpong_main, NULL);
      pp[r] = result;
      eddy_bench_ops("pingpong", n_items);
    }
    report("pingpong", pp);
  }
  if (do_agen) report("agen", a);
  if (do_plain) report("iter_plain", p);
  if (do_agen && do_plain) printf("BENCH agen_over_plain eddy %.2f ratio\n", a[reps / 2] / p[reps / 2]);
}
