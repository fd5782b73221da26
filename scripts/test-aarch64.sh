#!/usr/bin/env bash
# test-aarch64.sh: cross-build eddy for aarch64 and run the test suite under
# user-mode QEMU, so the aarch64 context switch (src/arch/switch_aarch64.S)
# is exercised on every CI run. Installs the cross tools when missing.
set -uo pipefail
cd "$(dirname "$0")/.."
if ! command -v aarch64-linux-gnu-gcc >/dev/null || ! command -v qemu-aarch64 >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user >/dev/null || exit 1
fi
dir=build-ci-aarch64
cmake -S . -B $dir -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64-linux-gnu.cmake \
  -DCMAKE_BUILD_TYPE=Debug -DEDDY_BUILD_BENCH=OFF >/dev/null || exit 1
cmake --build $dir -j2 >$dir.log 2>&1 || { tail -40 $dir.log; exit 1; }
EDDY_TEST_QEMU=1 EDDY_TEST_TASKS=10000 EDDY_TEST_TIMEOUT_SCALE=4 \
  ctest --test-dir $dir -j2 --output-on-failure 2>&1 | grep -vE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* Passed|^ +Start +[0-9]+:'
exit "${PIPESTATUS[0]}"
