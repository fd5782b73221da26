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
/* ---- values kept in registers no call preserves but that the asm must
 * name: the x87 stack (long double) and, with AVX-512, xmm16-31. Each side
 * of the inline switch, used directly as the library's own hand-offs use
 * it, keeps its own value there across every switch. A test this build
 * cannot run (no inline switch, no AVX-512) exits 77: ctest counts it as
 * skipped, and the build made for it runs it (tests/CMakeLists.txt). */
#if defined(__x86_64__)
#include "arch/switch.h"

#define REG_ROUNDS 64
/* The contexts the library makes are the inline switch's own only with the
 * assembly switch (a ucontext build has no inline switch). */
static void native_contexts_or_skip(void) {
  if (strcmp(eddy__ctx_impl, "x86_64") != 0) exit(77);
}
static _Alignas(16) char regs_stack[64 * 1024];
static volatile long double regs_seed_other = -7.0L;
static __attribute__((noinline)) long double x87_across(void *to, void **from,
                                                        volatile long double *seed) {
  long double v = *seed; /* loaded before the switch, used after it */
  eddy__transfer tr = eddy__ctx_switch_inline_nofp(to, NULL);
  *from = tr.ctx;
  return v * 2.0L;
}
static void x87_other(eddy__transfer tr) {
  void *back = tr.ctx;
  for (;;) {
    long double got = x87_across(back, &back, &regs_seed_other);
    regs_seed_other = got == -14.0L ? -7.0L : 99.0L; /* 99: came back wrong */
  }
}
#endif
TEST(inline_switch_keeps_x87_values) {
#if defined(__x86_64__)
  static volatile long double seed = 3.0L;
  native_contexts_or_skip();
  void *other = eddy__ctx_make(regs_stack, regs_stack + sizeof regs_stack, x87_other);
  ASSERT(other != NULL);
  for (int i = 0; i < REG_ROUNDS; i++) {
    long double got = x87_across(other, &other, &seed);
    ASSERT(got == 6.0L);
    ASSERT(regs_seed_other == -7.0L);
  }
#else
  exit(77);
#endif
}

#if defined(__x86_64__) && defined(__AVX512F__)
/* gcc keeps doubles in xmm16-31 when xmm0-15 are named; the other side
 * sets them all, as AVX-512 string functions in libc may. */
#include <unistd.h>
static __attribute__((constructor)) void avx512_or_skip(void) {
  if (!__builtin_cpu_supports("avx512f")) _exit(77);
}
static _Alignas(16) char avx_stack[64 * 1024];
static __attribute__((noinline)) double avx_across(void *to, void **from, const double *a) {
  double v0 = a[0] * 2, v1 = a[1] * 3, v2 = a[2] * 4, v3 = a[3] * 5, v4 = a[4] * 6,
         v5 = a[5] * 7, v6 = a[6] * 8, v7 = a[7] * 9;
  eddy__transfer tr = eddy__ctx_switch_inline_nofp(to, NULL);
  *from = tr.ctx;
  return v0 + v1 + v2 + v3 + v4 + v5 + v6 + v7;
}
static void avx_other(eddy__transfer tr) {
  void *back = tr.ctx;
  for (;;) {
    __asm__ volatile("vpternlogd $0xff, %%zmm16, %%zmm16, %%zmm16\n\t"
                     "vmovdqa64 %%zmm16, %%zmm17\n\tvmovdqa64 %%zmm16, %%zmm18\n\t"
                     "vmovdqa64 %%zmm16, %%zmm19\n\tvmovdqa64 %%zmm16, %%zmm20\n\t"
                     "vmovdqa64 %%zmm16, %%zmm21\n\tvmovdqa64 %%zmm16, %%zmm22\n\t"
                     "vmovdqa64 %%zmm16, %%zmm23\n\tvmovdqa64 %%zmm16, %%zmm24\n\t"
                     "vmovdqa64 %%zmm16, %%zmm25\n\tvmovdqa64 %%zmm16, %%zmm26\n\t"
                     "vmovdqa64 %%zmm16, %%zmm27\n\tvmovdqa64 %%zmm16, %%zmm28\n\t"
                     "vmovdqa64 %%zmm16, %%zmm29\n\tvmovdqa64 %%zmm16, %%zmm30\n\t"
                     "vmovdqa64 %%zmm16, %%zmm31"
                     ::: "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22",
                       "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29",
                       "xmm30", "xmm31");
    back = eddy__ctx_switch_inline_nofp(back, NULL).ctx;
  }
}
#endif
TEST(inline_switch_keeps_upper_vector_registers) {
#if defined(__x86_64__) && defined(__AVX512F__)
  static const double a[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  native_contexts_or_skip();
  void *other = eddy__ctx_make(avx_stack, avx_stack + sizeof avx_stack, avx_other);
  ASSERT(other != NULL);
  for (int i = 0; i < REG_ROUNDS; i++) ASSERT(avx_across(other, &other, a) == 240.0);
#else
  exit(77);
#endif
}
