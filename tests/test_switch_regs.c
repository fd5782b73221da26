/* test_switch_regs.c: what user code keeps across the switches that the
 * public headers inline into it (eddy/inline_switch.h, through a
 * generator's yield and a channel's hand-off): its locals, whatever
 * registers the compiler holds them in, and whatever register it addresses
 * them through. The frames that matter are the unusual ones: one both
 * realigned and of variable size (an over-aligned local beside a VLA), which
 * clang addresses through rbx as a base pointer; one reading arguments
 * passed on the stack after the switch; and one holding more values than
 * there are callee-saved registers. The same file is built a second time
 * with -fno-omit-frame-pointer (tests/CMakeLists.txt), where rbp is the
 * frame pointer rather than one more register for values. */
#include "test.h"

#include <stdalign.h>

#define ROUNDS 300

/* ---- a realigned frame of variable size */

static int realigned_gen(eddy_gen *g, void *arg) {
  int n = *(int *)arg;
  volatile char vla[n];
  alignas(64) volatile long marks[4] = {0};
  for (int j = 0; j < n; j++) vla[j] = (char)j;
  for (int i = 0; i < ROUNDS; i++) {
    marks[i & 3] = i;
    if (eddy_gen_yield(g, &i)) break;
    if (marks[i & 3] != i || vla[i % n] != (char)(i % n)) return -EPROTO;
  }
  return 0;
}
static int realigned_gen_main(void *arg) {
  (void)arg;
  int n = 37, x, st, count = 0;
  EDDY_FOR(x, eddy_gen_new(realigned_gen, &n, sizeof x), st) {
    ASSERT_EQ(x, count);
    count++;
  }
  ASSERT_RC(st, 0);
  ASSERT_EQ(count, ROUNDS);
  return 0;
}
TEST(gen_yield_keeps_locals_of_a_realigned_variable_frame) {
  ASSERT_EQ(eddy_run(realigned_gen_main, NULL), 0);
}

typedef struct pingpong {
  eddy_chan *there, *back;
  int n;
  int bad; /* rounds where a local came back wrong */
} pingpong;

static int realigned_pinger(void *arg) {
  pingpong *p = arg;
  int n = p->n;
  volatile char vla[n];
  alignas(64) volatile long marks[4] = {0};
  for (int j = 0; j < n; j++) vla[j] = (char)j;
  for (int i = 0; i < ROUNDS; i++) {
    int v = -1;
    marks[i & 3] = i;
    if (eddy_chan_send(p->there, &i, EDDY_FOREVER)) return -EPROTO;
    if (eddy_chan_recv(p->back, &v, EDDY_FOREVER)) return -EPROTO;
    if (v != i || marks[i & 3] != i || vla[i % n] != (char)(i % n)) p->bad++;
  }
  return 0;
}
static int ponger(void *arg) {
  pingpong *p = arg;
  for (int i = 0; i < ROUNDS; i++) {
    int v;
    if (eddy_chan_recv(p->there, &v, EDDY_FOREVER)) return -EPROTO;
    if (eddy_chan_send(p->back, &v, EDDY_FOREVER)) return -EPROTO;
  }
  return 0;
}
static int realigned_chan_main(void *arg) {
  (void)arg;
  pingpong p = {.n = 29};
  ASSERT_EQ(eddy_chan_new(&p.there, sizeof(int), 0, NULL), 0);
  ASSERT_EQ(eddy_chan_new(&p.back, sizeof(int), 0, NULL), 0);
  eddy_task *a, *b;
  ASSERT_EQ(eddy_spawn(&a, realigned_pinger, &p), 0);
  ASSERT_EQ(eddy_spawn(&b, ponger, &p), 0);
  int ra = -1, rb = -1;
  ASSERT_EQ(eddy_join(a, &ra), 0);
  ASSERT_EQ(eddy_join(b, &rb), 0);
  ASSERT_RC(ra, 0);
  ASSERT_RC(rb, 0);
  ASSERT_EQ(p.bad, 0);
  eddy_chan_free(p.there);
  eddy_chan_free(p.back);
  return 0;
}
TEST(chan_handoff_keeps_locals_of_a_realigned_variable_frame) {
  ASSERT_EQ(eddy_run(realigned_chan_main, NULL), 0);
}

/* ---- arguments passed on the stack, read after the switch (gcc reaches
 * them through a register of its own in a realigned frame) */

static __attribute__((noinline)) long yield_between(eddy_gen *g, int i, long a1, long a2, long a3,
                                                    long a4, long a5, long a6, long a7, long a8) {
  alignas(64) volatile long mark = i;
  if (eddy_gen_yield(g, &i)) return -1;
  if (mark != i) return -2;
  return a1 + a2 + a3 + a4 + a5 + a6 + a7 * 1000 + a8 * 100000;
}
static int stack_args_gen(eddy_gen *g, void *arg) {
  (void)arg;
  for (int i = 0; i < ROUNDS; i++) {
    long r = yield_between(g, i, i, 1, 2, 3, 4, 5, i + 7, i + 8);
    if (r == -1) break;
    if (r != i + 15 + (long)(i + 7) * 1000 + (long)(i + 8) * 100000) return -EPROTO;
  }
  return 0;
}
static int stack_args_main(void *arg) {
  (void)arg;
  int x, st, count = 0;
  EDDY_FOR(x, eddy_gen_new(stack_args_gen, NULL, sizeof x), st) count++;
  ASSERT_RC(st, 0);
  ASSERT_EQ(count, ROUNDS);
  return 0;
}
TEST(gen_yield_keeps_stack_arguments) { ASSERT_EQ(eddy_run(stack_args_main, NULL), 0); }

/* ---- more live values than callee-saved registers, on both sides: the
 * generator across its yield, the consumer across its pull */

typedef unsigned long ul; /* wraps, where long would overflow */
static ul mix(ul a, ul b) { return a * 31 + b; }
typedef struct twelve {
  ul v[12];
} twelve;
static void step12(ul *v, int i) {
  v[0] = mix(v[0], (ul)i);
  for (int k = 1; k < 12; k++) v[k] = mix(v[k], v[k - 1]);
}
static int live_gen(eddy_gen *g, void *arg) {
  ul a = 1, b = 2, c = 3, d = 4, e = 5, f = 6, h = 7, k = 8, l = 9, m = 10, o = 11, p = 12;
  for (int i = 0; i < ROUNDS; i++) {
    a = mix(a, (ul)i), b = mix(b, a), c = mix(c, b), d = mix(d, c), e = mix(e, d), f = mix(f, e);
    h = mix(h, f), k = mix(k, h), l = mix(l, k), m = mix(m, l), o = mix(o, m), p = mix(p, o);
    if (eddy_gen_yield(g, &i)) break;
  }
  twelve *out = arg;
  ul got[12] = {a, b, c, d, e, f, h, k, l, m, o, p};
  memcpy(out->v, got, sizeof got);
  return 0;
}
static int live_main(void *arg) {
  (void)arg;
  twelve got, want;
  for (int k = 0; k < 12; k++) want.v[k] = (ul)k + 1;
  ul a = 1, b = 2, c = 3, d = 4, e = 5, f = 6;
  int x, st, count = 0;
  EDDY_FOR(x, eddy_gen_new(live_gen, &got, sizeof x), st) {
    a = mix(a, (ul)x), b = mix(b, a), c = mix(c, b), d = mix(d, c), e = mix(e, d), f = mix(f, e);
    step12(want.v, x);
    count++;
  }
  ASSERT_RC(st, 0);
  ASSERT_EQ(count, ROUNDS);
  for (int k = 0; k < 12; k++) ASSERT(got.v[k] == want.v[k]);
  ul mine[6] = {a, b, c, d, e, f};
  for (int k = 0; k < 6; k++) ASSERT(mine[k] == want.v[k]);
  return 0;
}
TEST(gen_yield_keeps_more_live_values_than_registers) {
  ASSERT_EQ(eddy_run(live_main, NULL), 0);
}
