/* test_switch_fp.c: the assembly context switch on its own, without the
 * runtime. Checks, for x86_64 and aarch64:
 *
 *   1. callee-saved registers survive a round trip: each side loads its
 *      own patterns into x19-x28 and d8-d15 (aarch64) or rbx, rbp,
 *      r12-r15 (x86_64) right before switching, the other side loads
 *      different ones before switching back, and each checks it got its own
 *      back; x29 (the frame pointer) must come back equal to sp;
 *   2. the transfer: data arrives, `from` names the context we came from;
 *   3. the floating-point control state is per context: a new context
 *      starts with the FP control state of the thread at eddy__ctx_make,
 *      then each context keeps its own rounding mode (fesetround /
 *      fegetround, and the rounding of real divisions in double and long
 *      double) and flush-to-zero bit (FPCR.FZ / MXCSR.FTZ) across many
 *      switches;
 *   4. every entry starts on a 16-byte aligned stack;
 *   5. a ring of three contexts passes the baton around.
 *
 * Not built by CMake (the test glob is tests/test_*.c only): built and run
 * by scripts/test-aarch64.sh, natively and for aarch64 under qemu-user:
 *
 *   cc -O2 -std=gnu11 -frounding-math -Isrc/arch tests/arch/test_switch_fp.c \
 *      src/arch/switch_<arch>.S src/arch/make_native.c -lm
 *
 * Prints "N passed, N failed" and exits non-zero on any failure. */
#define _GNU_SOURCE
#include <fenv.h>
#include <float.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "switch.h"

#if !defined(__x86_64__) && !defined(__aarch64__)
#error "test_switch_fp.c tests the assembly switches (x86_64, aarch64)"
#endif

static int failures, checks;
#define CHECK(c)                                                             \
  do {                                                                       \
    checks++;                                                                \
    if (!(c)) {                                                              \
      failures++;                                                            \
      if (failures < 20)                                                     \
        fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, #c);      \
    }                                                                        \
  } while (0)

/* ---- probe_switch: load `in` into the callee-saved registers, switch,
 * store what the registers hold on return into `out`, restore the caller's
 * registers, return the transfer.
 *
 * aarch64: in = x19..x28, d8..d15 (18 words); out = the same 18 words,
 *          then x29, sp, from, data (22 words).
 * x86_64:  in = rbx, rbp, r12..r15 (6 words); out = the same 6 words, then
 *          from, data (8 words). */
#if defined(__aarch64__)
enum { NIN = 18, NOUT = 22 };
__asm__(
    "  .text\n"
    "  .p2align 4\n"
    "  .type probe_switch, %function\n"
    "probe_switch:\n" /* x0 to, x1 data, x2 in, x3 out */
    "  stp x29, x30, [sp, #-176]!\n"
    "  mov x29, sp\n"
    "  stp x19, x20, [sp, #16]\n"
    "  stp x21, x22, [sp, #32]\n"
    "  stp x23, x24, [sp, #48]\n"
    "  stp x25, x26, [sp, #64]\n"
    "  stp x27, x28, [sp, #80]\n"
    "  stp d8,  d9,  [sp, #96]\n"
    "  stp d10, d11, [sp, #112]\n"
    "  stp d12, d13, [sp, #128]\n"
    "  stp d14, d15, [sp, #144]\n"
    "  str x3, [sp, #160]\n"
    "  ldp x19, x20, [x2, #0]\n"
    "  ldp x21, x22, [x2, #16]\n"
    "  ldp x23, x24, [x2, #32]\n"
    "  ldp x25, x26, [x2, #48]\n"
    "  ldp x27, x28, [x2, #64]\n"
    "  ldp d8,  d9,  [x2, #80]\n"
    "  ldp d10, d11, [x2, #96]\n"
    "  ldp d12, d13, [x2, #112]\n"
    "  ldp d14, d15, [x2, #128]\n"
    "  bl eddy__ctx_switch\n"
    "  ldr x3, [sp, #160]\n"
    "  stp x19, x20, [x3, #0]\n"
    "  stp x21, x22, [x3, #16]\n"
    "  stp x23, x24, [x3, #32]\n"
    "  stp x25, x26, [x3, #48]\n"
    "  stp x27, x28, [x3, #64]\n"
    "  stp d8,  d9,  [x3, #80]\n"
    "  stp d10, d11, [x3, #96]\n"
    "  stp d12, d13, [x3, #112]\n"
    "  stp d14, d15, [x3, #128]\n"
    "  mov x9, sp\n"
    "  stp x29, x9,  [x3, #144]\n"
    "  stp x0,  x1,  [x3, #160]\n"
    "  ldp x19, x20, [sp, #16]\n"
    "  ldp x21, x22, [sp, #32]\n"
    "  ldp x23, x24, [sp, #48]\n"
    "  ldp x25, x26, [sp, #64]\n"
    "  ldp x27, x28, [sp, #80]\n"
    "  ldp d8,  d9,  [sp, #96]\n"
    "  ldp d10, d11, [sp, #112]\n"
    "  ldp d12, d13, [sp, #128]\n"
    "  ldp d14, d15, [sp, #144]\n"
    "  ldp x29, x30, [sp], #176\n"
    "  ret\n"
    "  .size probe_switch, .-probe_switch\n");
#else
enum { NIN = 6, NOUT = 8 };
__asm__(
    "  .text\n"
    "  .p2align 4\n"
    "  .type probe_switch, @function\n"
    "probe_switch:\n" /* rdi to, rsi data, rdx in, rcx out */
    "  pushq %rbp\n"
    "  pushq %rbx\n"
    "  pushq %r12\n"
    "  pushq %r13\n"
    "  pushq %r14\n"
    "  pushq %r15\n"
    "  pushq %rcx\n" /* out; also makes rsp 16-byte aligned at the call */
    "  movq 0(%rdx), %rbx\n"
    "  movq 8(%rdx), %rbp\n"
    "  movq 16(%rdx), %r12\n"
    "  movq 24(%rdx), %r13\n"
    "  movq 32(%rdx), %r14\n"
    "  movq 40(%rdx), %r15\n"
    "  call eddy__ctx_switch\n"
    "  movq (%rsp), %rcx\n"
    "  movq %rbx, 0(%rcx)\n"
    "  movq %rbp, 8(%rcx)\n"
    "  movq %r12, 16(%rcx)\n"
    "  movq %r13, 24(%rcx)\n"
    "  movq %r14, 32(%rcx)\n"
    "  movq %r15, 40(%rcx)\n"
    "  movq %rax, 48(%rcx)\n"
    "  movq %rdx, 56(%rcx)\n"
    "  popq %rcx\n"
    "  popq %r15\n"
    "  popq %r14\n"
    "  popq %r13\n"
    "  popq %r12\n"
    "  popq %rbx\n"
    "  popq %rbp\n"
    "  ret\n"
    "  .size probe_switch, .-probe_switch\n");
#endif
eddy__transfer probe_switch(void *to, void *data, const uint64_t *in, uint64_t *out);

static void fill(uint64_t *in, uint64_t seed) {
  for (int i = 0; i < NIN; i++)
    in[i] = (seed * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)(i + 1) * 0x0101010101010101ull);
}

/* Switch with patterned registers; check they come back and that the
 * transfer carries `expect_data`. */
static eddy__transfer probed(void *to, void *data, uint64_t seed, void *expect_data) {
  uint64_t in[NIN], out[NOUT];
  fill(in, seed);
  memset(out, 0, sizeof out);
  eddy__transfer t = probe_switch(to, data, in, out);
  for (int i = 0; i < NIN; i++) CHECK(out[i] == in[i]);
#if defined(__aarch64__)
  CHECK(out[18] == out[19]); /* x29 restored: the probe's frame pointer */
  CHECK(out[20] == (uint64_t)(uintptr_t)t.ctx && out[21] == (uint64_t)(uintptr_t)t.data);
#else
  CHECK(out[6] == (uint64_t)(uintptr_t)t.ctx && out[7] == (uint64_t)(uintptr_t)t.data);
#endif
  CHECK(t.data == expect_data);
  return t;
}

static int aligned16(void) {
  _Alignas(16) volatile char probe[16];
  void *p = (void *)probe;
  __asm__ volatile("" : "+r"(p)); /* the compiler may not assume the answer */
  probe[0] = 0;
  return ((uintptr_t)p & 15) == 0;
}

/* ---- FP control state */
static const int modes[4] = {FE_TONEAREST, FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO};
typedef struct {
  double d[4];
  long double l[2];
} sig;

/* Divisions whose rounding tells the four modes apart (computed at run
 * time: the operands are volatile, and the file is built -frounding-math). */
static __attribute__((noinline)) sig signature(void) {
  static volatile double one = 1.0, three = 3.0, ten = 10.0;
  static volatile long double lone = 1.0L, lthree = 3.0L;
  sig s;
  memset(&s, 0, sizeof s);
  s.d[0] = one / three;
  s.d[1] = -one / three;
  s.d[2] = one / ten;
  s.d[3] = -one / ten;
  s.l[0] = lone / lthree;
  s.l[1] = -lone / lthree;
  return s;
}
static sig expected[4];

static int sig_eq(const sig *a, const sig *b) {
  for (int i = 0; i < 4; i++)
    if (a->d[i] != b->d[i]) return 0;
  for (int i = 0; i < 2; i++)
    if (a->l[i] != b->l[i]) return 0;
  return 1;
}

/* Flush-to-zero: FPCR.FZ (bit 24) on aarch64, MXCSR.FTZ (bit 15) on x86. */
static unsigned get_ftz(void) {
#if defined(__aarch64__)
  uint64_t v;
  __asm__ volatile("mrs %0, fpcr" : "=r"(v));
  return (unsigned)(v >> 24) & 1;
#else
  uint32_t v;
  __asm__ volatile("stmxcsr %0" : "=m"(v));
  return (v >> 15) & 1;
#endif
}
static void set_ftz(unsigned on) {
#if defined(__aarch64__)
  uint64_t v;
  __asm__ volatile("mrs %0, fpcr" : "=r"(v));
  v = (v & ~(1ull << 24)) | ((uint64_t)(on & 1) << 24);
  __asm__ volatile("msr fpcr, %0" : : "r"(v));
#else
  uint32_t v;
  __asm__ volatile("stmxcsr %0" : "=m"(v));
  v = (v & ~(1u << 15)) | ((on & 1) << 15);
  __asm__ volatile("ldmxcsr %0" : : "m"(v));
#endif
}
/* A subnormal result: flushed to zero with FTZ on. */
static __attribute__((noinline)) int flushes(void) {
  static volatile double tiny = DBL_MIN, two = 2.0;
  return tiny / two == 0.0;
}

static void check_fp(int mode, unsigned ftz) {
  CHECK(fegetround() == modes[mode]);
  sig s = signature();
  CHECK(sig_eq(&s, &expected[mode]));
  CHECK(get_ftz() == ftz);
  CHECK(flushes() == (int)ftz);
}

/* ---- the two-context test: main (M) and one coroutine (B) */
enum { ROUNDS = 2000 };
static char stack_b[64 * 1024] __attribute__((aligned(64)));
static int b_entry_aligned, b_entry_mode, b_entry_ftz, b_done;
static void *main_ctx_seen;

static int m_mode(int i) { return i % 4; }
static int b_mode(int i) { return (i + 1 + (i / 4) % 3) % 4; } /* never M's */

static void b_entry(eddy__transfer t) {
  b_entry_aligned = aligned16();
  b_entry_mode = fegetround();
  b_entry_ftz = (int)get_ftz();
  CHECK(t.data == (void *)(uintptr_t)0xA0);
  main_ctx_seen = t.ctx;
  for (int i = 0; i < ROUNDS; i++) {
    fesetround(modes[b_mode(i)]);
    set_ftz((unsigned)(i & 1) ^ 1u);
    check_fp(b_mode(i), (unsigned)(i & 1) ^ 1u);
    t = probed(t.ctx, (void *)(uintptr_t)(0xB000 + i), 0xB00000000ull + (uint64_t)i,
               (void *)(uintptr_t)(0xA000 + i + 1));
    check_fp(b_mode(i), (unsigned)(i & 1) ^ 1u); /* M ran with other settings */
  }
  b_done = 1;
  eddy__ctx_switch(t.ctx, (void *)(uintptr_t)0xD0);
  abort(); /* never resumed */
}

static void two_contexts(void) {
  fesetround(FE_TOWARDZERO);
  set_ftz(1);
  void *b = eddy__ctx_make(stack_b, stack_b + sizeof stack_b, b_entry);
  CHECK(b != NULL);
  CHECK((char *)b > stack_b && (char *)b < stack_b + sizeof stack_b);
  /* Change the thread's state after the make: B must not see this. */
  fesetround(FE_UPWARD);
  set_ftz(0);
  eddy__transfer t = eddy__ctx_switch(b, (void *)(uintptr_t)0xA0);
  CHECK(b_entry_aligned);
  CHECK(b_entry_mode == FE_TOWARDZERO); /* the state at ctx_make */
  CHECK(b_entry_ftz == 1);
  CHECK(fegetround() == FE_UPWARD); /* ours, untouched by B's entry */
  CHECK(get_ftz() == 0);
  CHECK(t.data == (void *)(uintptr_t)0xB000);
  CHECK((char *)t.ctx > stack_b && (char *)t.ctx < stack_b + sizeof stack_b);
  for (int i = 0; i < ROUNDS; i++) {
    CHECK((char *)t.ctx > stack_b && (char *)t.ctx < stack_b + sizeof stack_b);
    fesetround(modes[m_mode(i)]);
    set_ftz((unsigned)(i & 1));
    check_fp(m_mode(i), (unsigned)(i & 1));
    void *expect = i + 1 < ROUNDS ? (void *)(uintptr_t)(0xB000 + i + 1) : (void *)(uintptr_t)0xD0;
    t = probed(t.ctx, (void *)(uintptr_t)(0xA000 + i + 1), 0xA00000000ull + (uint64_t)i, expect);
    check_fp(m_mode(i), (unsigned)(i & 1));
  }
  CHECK(b_done);
  CHECK(main_ctx_seen != NULL);
  fesetround(FE_TONEAREST);
  set_ftz(0);
}

/* ---- a ring of three: main -> r1 -> r2 -> main, the data counting up.
 * Nobody is told where to go back to: each learns the context it came from
 * through the transfer and records it for whoever switches there next. */
static char stack_r1[32 * 1024] __attribute__((aligned(64)));
static char stack_r2[32 * 1024] __attribute__((aligned(64)));
static void *ctx_of[3]; /* latest saved context of main, r1, r2 */
static long ring_hops;

static int on_stack(const void *p, const char *stack, size_t size) {
  return (const char *)p > stack && (const char *)p < stack + size;
}

static void ring_entry(eddy__transfer t) {
  volatile char here = 0;
  int self = on_stack((const void *)&here, stack_r1, sizeof stack_r1) ? 1 : 2;
  for (;;) {
    CHECK(aligned16());
    ring_hops++;
    ctx_of[self - 1] = t.ctx; /* r1 came from main, r2 from r1 */
    if (self == 2) CHECK(on_stack(t.ctx, stack_r1, sizeof stack_r1));
    else CHECK(!on_stack(t.ctx, stack_r1, sizeof stack_r1) &&
               !on_stack(t.ctx, stack_r2, sizeof stack_r2));
    void *next = ctx_of[(self + 1) % 3];
    t = eddy__ctx_switch(next, (void *)((uintptr_t)t.data + 1));
  }
}

static void ring(void) {
  ctx_of[1] = eddy__ctx_make(stack_r1, stack_r1 + sizeof stack_r1, ring_entry);
  ctx_of[2] = eddy__ctx_make(stack_r2, stack_r2 + sizeof stack_r2, ring_entry);
  uintptr_t n = 1;
  for (int lap = 0; lap < 100; lap++) {
    eddy__transfer t = eddy__ctx_switch(ctx_of[1], (void *)n);
    CHECK(t.data == (void *)(n + 2));
    CHECK(on_stack(t.ctx, stack_r2, sizeof stack_r2));
    ctx_of[2] = t.ctx;
    n += 3;
  }
  CHECK(ring_hops == 200);
}

int main(void) {
  /* The four modes must be told apart by the signature. */
  for (int m = 0; m < 4; m++) {
    CHECK(fesetround(modes[m]) == 0);
    expected[m] = signature();
  }
  fesetround(FE_TONEAREST);
  for (int a = 0; a < 4; a++)
    for (int b = a + 1; b < 4; b++) CHECK(!sig_eq(&expected[a], &expected[b]));
  set_ftz(1);
  CHECK(flushes());
  set_ftz(0);
  CHECK(!flushes());

  fprintf(stderr, "test_switch_fp: impl %s\n", eddy__ctx_impl);
  int before = failures;
  two_contexts();
  printf("two_contexts: %s\n", failures == before ? "ok" : "FAILED");
  int p = failures == before, f = !p;
  before = failures;
  ring();
  printf("ring: %s\n", failures == before ? "ok" : "FAILED");
  p += failures == before;
  f += failures != before;
  printf("(%d checks)\n", checks);
  printf("%d passed, %d failed\n", p, f);
  return f ? 1 : 0;
}
