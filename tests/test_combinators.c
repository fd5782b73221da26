/* test_combinators.c: each combinator's output, that closing the outer
 * iterator closes everything it wraps, and that the concurrent ones (merge,
 * buffer, batch) end their background tasks with them. */
#include "test.h"

static eddy_loop_opts vclock = {.virtual_clock = 1};
static int closed_count;

typedef struct range {
  int from, to, step_ms;
} range;
static int range_gen(eddy_gen *g, void *arg) {
  range *r = arg;
  int rc = 0;
  for (int i = r->from; i < r->to; i++) {
    if (r->step_ms && (rc = eddy_sleep(EDDY_MSEC(r->step_ms)))) break;
    if ((rc = eddy_gen_yield(g, &i))) break;
  }
  closed_count++;
  return rc == EDDY_ECLOSING ? 0 : rc;
}
static eddy_iter *R(range *r) { return eddy_gen_new(range_gen, r, sizeof(int)); }

static int is_even(void *ctx, const void *item) {
  (void)ctx;
  return *(const int *)item % 2 == 0;
}
static int below5(void *ctx, const void *item) {
  (void)ctx;
  return *(const int *)item < 5;
}
static int square(void *ctx, const void *in, void *out) {
  (void)ctx;
  *(long *)out = (long)*(const int *)in * *(const int *)in;
  return 0;
}

static int pull_main(void *arg) {
  (void)arg;
  range r10 = {0, 10, 0}, r3 = {0, 3, 0}, r3b = {10, 13, 0};
  int x, st;
  long lx;
  char out[64];
  size_t o = 0;
  closed_count = 0;
  EDDY_FOR(x, eddy_take(eddy_filter(R(&r10), sizeof x, is_even, NULL), sizeof x, 3), st)
    o += (size_t)snprintf(out + o, sizeof out - o, "%d ", x);
  ASSERT_STR(out, "0 2 4 ");
  ASSERT_EQ(closed_count, 1); /* take closed the chain below it */
  o = 0;
  EDDY_FOR(lx, eddy_map(R(&r3), sizeof(int), sizeof(long), square, NULL), st)
    o += (size_t)snprintf(out + o, sizeof out - o, "%ld ", lx);
  ASSERT_STR(out, "0 1 4 ");
  o = 0;
  EDDY_FOR(x, eddy_take_while(R(&r10), sizeof x, below5, NULL), st)
    o += (size_t)snprintf(out + o, sizeof out - o, "%d ", x);
  ASSERT_STR(out, "0 1 2 3 4 ");
  o = 0;
  EDDY_FOR(x, eddy_skip(R(&r10), sizeof x, 7), st)
    o += (size_t)snprintf(out + o, sizeof out - o, "%d ", x);
  ASSERT_STR(out, "7 8 9 ");
  struct {
    eddy_enumerated h;
    int v;
  } e;
  o = 0;
  EDDY_FOR(e, eddy_enumerate(R(&r3b), sizeof(int)), st)
    o += (size_t)snprintf(out + o, sizeof out - o, "%zu:%d ", e.h.index, e.v);
  ASSERT_STR(out, "0:10 1:11 2:12 ");
  eddy_iter *parts[2] = {R(&r3), R(&r3b)};
  o = 0;
  EDDY_FOR(x, eddy_chain(parts, 2, sizeof x), st)
    o += (size_t)snprintf(out + o, sizeof out - o, "%d ", x);
  ASSERT_STR(out, "0 1 2 10 11 12 ");
  struct {
    int a, b;
  } pr;
  o = 0;
  EDDY_FOR(pr, eddy_zip(R(&r10), sizeof(int), R(&r3b), sizeof(int)), st)
    o += (size_t)snprintf(out + o, sizeof out - o, "%d-%d ", pr.a, pr.b);
  ASSERT_STR(out, "0-10 1-11 2-12 "); /* ends with the shorter */
  ASSERT_RC(st, 0);
  return 0;
}
TEST(pull_combinators) { ASSERT_EQ(eddy_run(pull_main, NULL), 0); }

static int early_close_main(void *arg) {
  (void)arg;
  closed_count = 0;
  range a = {0, 100, 0}, b = {0, 100, 0};
  eddy_iter *parts[2] = {R(&a), R(&b)};
  int x, st;
  EDDY_FOR(x, eddy_skip(eddy_chain(parts, 2, sizeof x), sizeof x, 1), st) break;
  ASSERT_EQ(closed_count, 1); /* the running one closed; the unstarted one ran nothing */
  ASSERT_RC(st, EDDY_BROKE);
  return 0;
}
TEST(closing_outer_closes_all_inner) { ASSERT_EQ(eddy_run(early_close_main, NULL), 0); }

static int timeout_main(void *arg) {
  (void)arg;
  range slow = {0, 5, 20};
  int x, st, n = 0;
  EDDY_FOR(x, eddy_timeout_each(R(&slow), EDDY_MSEC(50)), st) n++;
  ASSERT_EQ(n, 5);
  EDDY_FOR(x, eddy_timeout_each(R(&slow), EDDY_MSEC(10)), st) n++;
  ASSERT_RC(st, -ETIMEDOUT);
  return 0;
}
TEST(per_item_timeout) { ASSERT_EQ(eddy_run_opts(timeout_main, NULL, &vclock), 0); }

static int merge_main(void *arg) {
  (void)arg;
  closed_count = 0;
  range a = {0, 3, 10}, b = {100, 103, 15};
  eddy_iter *parts[2] = {R(&a), R(&b)};
  int x, st, sum = 0, n = 0;
  EDDY_FOR(x, eddy_merge(parts, 2, sizeof x), st) {
    sum += x;
    n++;
  }
  ASSERT_RC(st, 0);
  ASSERT_EQ(n, 6);
  ASSERT_EQ(sum, 0 + 1 + 2 + 100 + 101 + 102);
  ASSERT_EQ(closed_count, 2);
  /* left early: the pumps are cancelled and joined, inputs closed */
  closed_count = 0;
  range c = {0, 1000, 1}, d = {0, 1000, 1};
  eddy_iter *more[2] = {R(&c), R(&d)};
  EDDY_FOR(x, eddy_merge(more, 2, sizeof x), st) if (++n > 10) break;
  ASSERT_EQ(closed_count, 2);
  return 0;
}
TEST(merge_concurrent_and_structured) { ASSERT_EQ(eddy_run_opts(merge_main, NULL, &vclock), 0); }

static int buffer_main(void *arg) {
  (void)arg;
  range a = {0, 20, 1};
  int x, st, n = 0;
  EDDY_FOR(x, eddy_buffer(R(&a), sizeof x, 4), st) {
    ASSERT_EQ(x, n);
    n++;
  }
  ASSERT_EQ(n, 20);
  ASSERT_RC(st, 0);
  return 0;
}
TEST(buffer_prefetches_in_order) { ASSERT_EQ(eddy_run_opts(buffer_main, NULL, &vclock), 0); }

static int batch_main(void *arg) {
  (void)arg;
  range a = {0, 7, 0};
  struct {
    size_t n;
    int v[3];
  } b;
  int st;
  char out[64];
  size_t o = 0;
  EDDY_FOR(b, eddy_batch(R(&a), sizeof(int), 3, EDDY_FOREVER), st)
    o += (size_t)snprintf(out + o, sizeof out - o, "%zu ", b.n);
  ASSERT_STR(out, "3 3 1 "); /* by count */
  range slow = {0, 6, 10}; /* one item every 10 ms, cut every 25 ms */
  o = 0;
  EDDY_FOR(b, eddy_batch(R(&slow), sizeof(int), 3, EDDY_MSEC(25)), st)
    o += (size_t)snprintf(out + o, sizeof out - o, "%zu ", b.n);
  ASSERT_STR(out, "3 3 "); /* first item, then two more within 25 ms */
  return 0;
}
TEST(batch_by_count_and_time) { ASSERT_EQ(eddy_run_opts(batch_main, NULL, &vclock), 0); }

static int interval_main(void *arg) {
  (void)arg;
  uint64_t tick;
  int st;
  eddy_time_t t0 = eddy_now();
  EDDY_FOR(tick, eddy_interval(EDDY_MSEC(100)), st) {
    if (tick == 2) eddy_sleep(EDDY_MSEC(350)); /* fall behind */
    if (tick == 4) break;
  }
  /* ticks at 100, 200; 300-500 are missed and skipped (no burst), so
   * tick 3 comes at 600 and tick 4 at 700 */
  ASSERT_EQ(eddy_now() - t0, EDDY_MSEC(700));
  return 0;
}
TEST(interval_ticker_skips_missed) { ASSERT_EQ(eddy_run_opts(interval_main, NULL, &vclock), 0); }

static int errors_main(void *arg) {
  (void)arg;
  int x, st;
  EDDY_FOR(x, eddy_take(NULL, sizeof x, 1), st) {}
  ASSERT_RC(st, -EINVAL);
  eddy__fault_set(EDDY_SYS_ALLOC, 0, ENOMEM, 1);
  range a = {0, 3, 0};
  eddy_iter *src = R(&a);
  EDDY_FOR(x, eddy_take(src, sizeof x, 1), st) {}
  ASSERT_RC(st, -ENOMEM); /* and src was closed, not leaked */
  EDDY_FOR(x, eddy_interval(0), st) {}
  ASSERT_RC(st, -EINVAL);
  return 0;
}
TEST(combinator_errors_leak_nothing) { ASSERT_EQ(eddy_run(errors_main, NULL), 0); }
