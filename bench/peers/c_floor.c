/* c_floor.c: the machine's floor for the switch entry: a minimal x86_64
 * register switch (six callee-saved registers, stack pointer passed in
 * registers, resume by jump, no floating-point control state), in the same
 * loop shape as eddy_bench's switch. x86_64 only; elsewhere prints nothing.
 * EDDY_BENCH_COUNT=<n>: one repetition of n round trips and a
 * `BENCHOPS switch floor <one-way switches>` line, for callgrind
 * (bench/run.sh); EDDY_BENCH_ONLY other than switch: nothing to run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__)
void *floor_switch(void *to);
__asm__(".text\n.globl floor_switch\nfloor_switch:\n"
        "pushq %rbp\npushq %rbx\npushq %r15\npushq %r14\npushq %r13\npushq %r12\n"
        "movq %rsp, %rax\nmovq %rdi, %rsp\n"
        "popq %r12\npopq %r13\npopq %r14\npopq %r15\npopq %rbx\npopq %rbp\n"
        "popq %r8\njmp *%r8\n"
        ".globl floor_start\nfloor_start:\nmovq %rax, %rdi\ncall entry_loop\nud2\n");
void floor_start(void);
void entry_loop(void *back);
void entry_loop(void *back) {
  for (;;) back = floor_switch(back);
}
static char stack[65536] __attribute__((aligned(16)));
static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}
static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}
int main(void) {
  const char *q = getenv("EDDY_BENCH_QUICK");
  long n = q && *q && strcmp(q, "0") ? 500000 : 50000000;
  const char *only = getenv("EDDY_BENCH_ONLY"), *cnt = getenv("EDDY_BENCH_COUNT");
  if (only && *only && strcmp(only, "switch") != 0) return 0;
  int reps = 3;
  if (cnt && *cnt) {
    n = atol(cnt);
    reps = 1;
    if (n <= 0) return 2;
  }
  double v[3];
  for (int r = 0; r < reps; r++) {
    /* first frame: six zero registers, then floor_start as the resume
     * address. After the seven pops rsp is 16-byte aligned, so floor_start's
     * `call entry_loop` enters it with the alignment the ABI wants. */
    unsigned long *sp = (unsigned long *)(stack + sizeof stack - 72);
    memset(sp, 0, 72);
    sp[6] = (unsigned long)floor_start;
    void *ctx = sp;
    ctx = floor_switch(ctx); /* enter: entry's first switch comes back */
    double t0 = now();
    for (long i = 0; i < n; i++) ctx = floor_switch(ctx);
    v[r] = (now() - t0) / (2.0 * n);
  }
  if (reps == 1) {
    printf("BENCHOPS switch floor %ld\n", 2 * n);
    return 0;
  }
  qsort(v, 3, sizeof v[0], cmp);
  printf("BENCH switch floor %.2f ns\nBENCHSPREAD switch floor %.2f %.2f ns\n", v[1], v[0], v[2]);
  return 0;
}
#else
int main(void) { return 0; }
#endif
