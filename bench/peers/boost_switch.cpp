// boost_switch.cpp: Boost.Context peer for the one-way switch entry:
// jump_fcontext between two contexts, ns per one-way switch (the same
// shape as eddy_bench's switch entry). Prints BENCH lines.
// EDDY_BENCH_COUNT=<n>: one repetition of n round trips and a
// `BENCHOPS switch boost <one-way switches>` line, for callgrind
// (bench/run.sh); EDDY_BENCH_ONLY other than switch: nothing to run.
#include <algorithm>
#include <boost/context/detail/fcontext.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace ctx = boost::context::detail;

static void entry(ctx::transfer_t t) {
  for (;;) t = ctx::jump_fcontext(t.fctx, nullptr);
}

int main() {
  const char *q = std::getenv("EDDY_BENCH_QUICK");
  bool quick = q && *q && std::strcmp(q, "0") != 0;
  long n = quick ? 500000 : 50000000;
  const char *only = std::getenv("EDDY_BENCH_ONLY"), *cnt = std::getenv("EDDY_BENCH_COUNT");
  if (only && *only && std::strcmp(only, "switch") != 0) return 0;
  int reps = 3;
  if (cnt && *cnt) {
    n = std::atol(cnt);
    reps = 1;
    if (n <= 0) return 2;
  }
  static char stack[64 * 1024] __attribute__((aligned(16)));
  double v[3];
  for (int r = 0; r < reps; r++) {
    ctx::fcontext_t c = ctx::make_fcontext(stack + sizeof stack, sizeof stack, entry);
    auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < n; i++) c = ctx::jump_fcontext(c, nullptr).fctx;
    auto dt = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
    v[r] = dt / (2.0 * n);
  }
  if (reps == 1) {
    std::printf("BENCHOPS switch boost %ld\n", 2 * n);
    return 0;
  }
  std::sort(v, v + 3);
  std::printf("BENCH switch boost %.2f ns\nBENCHSPREAD switch boost %.2f %.2f ns\n", v[1], v[0], v[2]);
}
