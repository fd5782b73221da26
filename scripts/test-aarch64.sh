#!/usr/bin/env bash
# test-aarch64.sh: cross-build eddy for aarch64 and run it under user-mode
# QEMU, so the aarch64 context switch (src/arch/switch_aarch64.S and the
# aarch64 frame in src/arch/make_native.c) runs on every CI pass:
#   1. tests/arch/test_switch_fp: the switch alone (callee-saved x19-x29
#      and d8-d15, FPCR per context, the transfer), for aarch64 under QEMU
#      and natively for this machine's arch;
#   2. the ctest suite of an aarch64 Debug build in build-ci-aarch64 (every
#      test by default, ~10 s under QEMU; extra arguments go to ctest, e.g.
#      `scripts/test-aarch64.sh -R '^(core|sync|scope|fault)\.'`).
# Installs the cross tools (Debian packages) when missing. Prints ctest's
# summary and "N passed, N failed" for the switch test; exits non-zero if
# anything failed. Timings under QEMU mean nothing: nothing is measured.
set -uo pipefail
cd "$(dirname "$0")/.."

if ! command -v aarch64-linux-gnu-gcc >/dev/null || ! command -v qemu-aarch64 >/dev/null ||
  [ ! -e /usr/aarch64-linux-gnu/include/stdio.h ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user >/dev/null || exit 1
fi
QEMU=(qemu-aarch64 -L /usr/aarch64-linux-gnu)
dir=build-ci-aarch64
fail=0

# 1. the switch on its own
mkdir -p $dir/arch
FPFLAGS=(-O2 -std=gnu11 -frounding-math -Wall -Wextra -Werror -Isrc/arch)
echo "== tests/arch/test_switch_fp (aarch64, qemu)"
if aarch64-linux-gnu-gcc "${FPFLAGS[@]}" tests/arch/test_switch_fp.c src/arch/switch_aarch64.S \
    src/arch/make_native.c -lm -o $dir/arch/test_switch_fp; then
  "${QEMU[@]}" $dir/arch/test_switch_fp || fail=1
else
  fail=1
fi
host=$(uname -m)
if [ "$host" = x86_64 ] && command -v cc >/dev/null; then
  echo "== tests/arch/test_switch_fp ($host, native)"
  if cc "${FPFLAGS[@]}" tests/arch/test_switch_fp.c src/arch/switch_$host.S \
      src/arch/make_native.c -lm -o $dir/arch/test_switch_fp_native; then
    $dir/arch/test_switch_fp_native || fail=1
  else
    fail=1
  fi
fi

# 2. the suite. EDDY_TEST_QEMU: qemu-user (7.2) answers MADV_GUARD_INSTALL
# with success but installs no guard (unknown advice is ignored as a hint),
# so test_stack's overflow test, which needs a guard, skips itself.
echo "== ctest, aarch64 under qemu"
cfg=$(cmake -S . -B $dir -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64-linux-gnu.cmake \
  -DCMAKE_BUILD_TYPE=Debug -DEDDY_BUILD_BENCH=OFF -DEDDY_BUILD_EXAMPLES=ON 2>&1) ||
  { echo "$cfg" | tail -40; exit 1; }
echo "$cfg" | grep -q 'context switch = aarch64' ||
  { echo "the aarch64 build does not use the assembly switch"; exit 1; }
cmake --build $dir -j2 >$dir.log 2>&1 || { tail -40 $dir.log; exit 1; }
EDDY_TEST_QEMU=1 EDDY_TEST_TASKS=10000 EDDY_TEST_TIMEOUT_SCALE=4 \
  ctest --test-dir $dir -j2 --output-on-failure "$@" 2>&1 |
  grep -vE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* Passed|^ +Start +[0-9]+:'
[ "${PIPESTATUS[0]}" -eq 0 ] || fail=1
[ $fail -eq 0 ] || echo "test-aarch64: FAILED"
exit $fail
