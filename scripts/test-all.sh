#!/usr/bin/env bash
# test-all.sh: everything CI checks, in one command (`make test`):
#   1. gcc debug build, every test, on the default backend (io_uring where
#      the kernel has it), then every test again on epoll, and the I/O
#      tests with multishot receive
#   2. clang release build, every test
#   3. ASan+UBSan build (clang, with fiber annotations), every test, and the
#      I/O tests again on epoll; then the parsers' libFuzzer harnesses,
#      45 s each (tests/fuzz)
#   4. valgrind (memcheck, registered stacks) on the test programs
#   5. the portable ucontext context switch (and DNS without c-ares, I/O
#      without liburing)
#   6. install, then build consumers (C and C++) with pkg-config and CMake
#   7. the aarch64 build under qemu-user (the aarch64 context switch)
#   8. benchmarks in quick mode, so they cannot rot (figures meaningless)
# Ends with "N passed, N failed" over all ctest runs.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh || exit 1

JOBS=2
TOTAL_PASS=0
TOTAL_FAIL=0
FAILED_STEPS=()
REPORT=build-ci-failures.txt # each failure's details, printed again at the end
: >"$REPORT"
step() { echo; echo "==== $*"; }
# failed NAME [DETAILS]: a step failed; CI's log may keep only its tail, so
# the details are repeated at the very end, under the summary's line
failed() {
  FAILED_STEPS+=("$1")
  { echo "---- $1"; [ $# -gt 1 ] && printf '%s\n' "$2" | tail -40; } >>"$REPORT"
}

run_ctest() { # dir label [ctest args...]
  local dir=$1 label=$2
  shift 2
  local out
  out=$(ctest --test-dir "$dir" -j"$JOBS" --output-on-failure "$@" 2>&1)
  local rc=$?
  echo "$out" | grep -vE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* Passed|^ +Start +[0-9]+:' | tail -40
  local line p f
  line=$(echo "$out" | grep -E 'tests passed, [0-9]+ tests failed out of' | tail -1)
  f=$(echo "$line" | sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/')
  p=$(echo "$line" | sed -E 's/.*failed out of ([0-9]+).*/\1/')
  if [ -n "$line" ]; then
    TOTAL_PASS=$((TOTAL_PASS + p - f))
    TOTAL_FAIL=$((TOTAL_FAIL + f))
  fi
  if [ $rc -ne 0 ]; then
    failed "$label" "$(echo "$out" | grep -E 'tests failed out of|^ *[0-9]+ - |\*\*\*|Failed|Timeout' | tail -30)"
  fi
}

build() { # dir cc [cmake args...]
  local dir=$1 cc=$2
  shift 2
  CC=$cc CXX=$([ "$cc" = clang ] && echo clang++ || echo g++) \
    cmake -S . -B "$dir" -G Ninja "$@" >/dev/null && cmake --build "$dir" -j"$JOBS" >"$dir.log" 2>&1
  local rc=$?
  if [ $rc -ne 0 ]; then tail -60 "$dir.log"; failed "build $dir" "$(tail -20 "$dir.log")"; fi
  return $rc
}

export EDDY_TEST_TASKS=${EDDY_TEST_TASKS:-1000000}

IO_TESTS='^(backend|net|file|dns|process|signal|thread|fault|chat|example|redis)\.'
step "1. gcc, debug"
if build build-ci-gcc gcc -DCMAKE_BUILD_TYPE=Debug; then
  run_ctest build-ci-gcc gcc
  step "1b. gcc, debug, every test on the epoll backend"
  EDDY_BACKEND=epoll run_ctest build-ci-gcc gcc-epoll
  step "1c. gcc, debug, the I/O tests with multishot receive (io_uring)"
  EDDY_RECV_MULTISHOT=1 run_ctest build-ci-gcc gcc-multishot -R "$IO_TESTS|^(stream_|mshot)"
fi

step "2. clang, release"
build build-ci-clang clang -DCMAKE_BUILD_TYPE=Release && run_ctest build-ci-clang clang

step "3. ASan + UBSan (clang)"
if build build-ci-asan clang -DCMAKE_BUILD_TYPE=Debug -DEDDY_SANITIZE=ON; then
  EDDY_TEST_TASKS=100000 ASAN_OPTIONS=detect_leaks=1:detect_stack_use_after_return=0 \
    UBSAN_OPTIONS=print_stacktrace=1 EDDY_TEST_TIMEOUT_SCALE=3 \
    run_ctest build-ci-asan asan
  step "3b. ASan + UBSan, the I/O tests on the epoll backend"
  EDDY_BACKEND=epoll EDDY_TEST_TASKS=100000 ASAN_OPTIONS=detect_leaks=1:detect_stack_use_after_return=0 \
    UBSAN_OPTIONS=print_stacktrace=1 EDDY_TEST_TIMEOUT_SCALE=3 \
    run_ctest build-ci-asan asan-epoll -R "$IO_TESTS"
  step "3c. ASan + UBSan, the I/O tests with multishot receive (io_uring)"
  EDDY_RECV_MULTISHOT=1 EDDY_TEST_TASKS=100000 ASAN_OPTIONS=detect_leaks=1:detect_stack_use_after_return=0 \
    UBSAN_OPTIONS=print_stacktrace=1 EDDY_TEST_TIMEOUT_SCALE=3 \
    run_ctest build-ci-asan asan-multishot -R "$IO_TESTS|^(stream_|mshot)"
fi

step "3d. fuzzing (libFuzzer, clang): each parser fuzzer for 45 s from its seed corpus"
if CC=clang cmake -S . -B build-ci-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEDDY_FUZZ=ON \
    -DEDDY_BUILD_EXAMPLES=OFF -DEDDY_BUILD_BENCH=OFF >/dev/null &&
    cmake --build build-ci-fuzz -j"$JOBS" --target fuzzers >build-ci-fuzz.log 2>&1; then
  FUZZ_SEED=1 tests/fuzz/run.sh build-ci-fuzz/tests/fuzz build-ci-fuzz/fuzz-run 45 >build-ci-fuzz/run.txt 2>&1
  rc=$?
  cat build-ci-fuzz/run.txt
  [ $rc -eq 0 ] || failed fuzz "$(grep -A45 FAILED build-ci-fuzz/run.txt || cat build-ci-fuzz/run.txt)"
else
  tail -60 build-ci-fuzz.log
  failed "build build-ci-fuzz" "$(tail -20 build-ci-fuzz.log)"
fi

step "4. valgrind (memcheck) on the test programs"
vg_fail=0
for t in build-ci-gcc/tests/test_*; do
  [ -x "$t" ] || continue
  case "$(basename "$t")" in test_stack) continue ;; esac # 1M stacks: too slow
  rc=0
  # --fair-sched=yes: valgrind runs one thread at a time, and its default
  # lock lets a thread that makes no system call (tasks yielding to each
  # other) take it back at once, so another thread may wait for minutes:
  # test_loop_poll's submitter thread took 29-110 s here, and once over
  # the test's 120 s. With the fair lock it runs within a second.
  EDDY_TEST_TASKS=1000 EDDY_TEST_TIMEOUT_SCALE=10 valgrind -q --fair-sched=yes --error-exitcode=99 \
    --leak-check=full --errors-for-leak-kinds=definite "$t" >"$t.vg.log" 2>&1 || rc=$?
  if [ $rc -eq 77 ]; then # the whole program cannot run here (test_switch_regs_avx512:
    # valgrind's CPU has no AVX-512)
    echo "valgrind: $(basename "$t") skipped (it cannot run under valgrind's CPU)"
  elif [ $rc -ne 0 ]; then
    echo "valgrind: $(basename "$t") FAILED"; tail -30 "$t.vg.log"; vg_fail=1
    failed "valgrind $(basename "$t")" "$(tail -30 "$t.vg.log")"
  else
    echo "valgrind: $(basename "$t") clean ($(tail -1 "$t.vg.log"))"
  fi
done

step "5. ucontext fallback switch, DNS without c-ares, epoll without liburing"
build build-ci-ucontext gcc -DCMAKE_BUILD_TYPE=Debug -DEDDY_SWITCH=ucontext -DEDDY_WITH_CARES=OFF \
  -DEDDY_WITH_URING=OFF &&
  run_ctest build-ci-ucontext ucontext -R '^(core|sync|scope|fault|dns|gen|with|backend|net|file)\.'

step "6. install + consumers"
prefix=$(pwd)/build-ci-prefix
rm -rf "$prefix"
if cmake --install build-ci-gcc --prefix "$prefix" >/dev/null; then
  out=$(tests/consumer/run.sh "$prefix" 2>&1)
  rc=$?
  echo "$out"
  [ $rc -eq 0 ] || failed consumers "$out"
else
  failed install
fi

step "7. aarch64 (cross-built, run under qemu-user)"
if out=$(scripts/test-aarch64.sh 2>&1); then
  echo "$out" | tail -3
  line=$(echo "$out" | grep -E 'tests passed, [0-9]+ tests failed out of' | tail -1)
  n=$(echo "$line" | sed -E 's/.*failed out of ([0-9]+).*/\1/')
  [ -n "$line" ] && TOTAL_PASS=$((TOTAL_PASS + n))
else
  echo "$out" | tail -40
  failed aarch64 "$out"
fi

step "8. benchmarks, quick mode"
if build build-ci-bench gcc -DCMAKE_BUILD_TYPE=Release; then
  EDDY_BENCH_QUICK=1 build-ci-bench/bench/eddy_bench >build-ci-bench/quick.txt 2>&1 &&
    grep -c '^BENCH ' build-ci-bench/quick.txt | sed 's/^/bench: entries printed: /' ||
    { cat build-ci-bench/quick.txt; failed bench "$(cat build-ci-bench/quick.txt)"; }
  if [ -x bench/run.sh ] && [ "${EDDY_CI_PEERS:-1}" = 1 ]; then
    # with the I/O, redis-lite and fan-out families (bench/{net,redis,fanout}),
    # which fail on any lost or wrong reply
    bench/run.sh --quick --eddy-bench build-ci-bench/bench/eddy_bench >build-ci-bench/peers.txt 2>&1 ||
      failed "bench peers" "$(cat build-ci-bench/peers.txt)"
    tail -40 build-ci-bench/peers.txt
  fi
fi

echo
if [ ${#FAILED_STEPS[@]} -gt 0 ]; then
  echo "==== the failures again (each in full above)"
  tail -150 "$REPORT"
  echo "FAILED steps: ${FAILED_STEPS[*]}"
fi
echo "${TOTAL_PASS} passed, ${TOTAL_FAIL} failed"
[ ${#FAILED_STEPS[@]} -eq 0 ] && [ "$TOTAL_FAIL" -eq 0 ]
