#!/usr/bin/env bash
# deps.sh: install what building and testing eddy needs on Debian 12, once.
# Skips apt entirely when everything is already there.
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1; }
have cmake || need+=(cmake)
have gcc || need+=(gcc)
have g++ || need+=(g++)
have clang || need+=(clang)
have make || need+=(make)
have pkg-config || need+=(pkg-config)
have valgrind || need+=(valgrind)
have ninja || need+=(ninja-build)
have python3 || need+=(python3) # bench/net/selftest.py
[ -f /usr/include/valgrind/valgrind.h ] || need+=(valgrind)
[ -f /usr/include/ares.h ] || need+=(libc-ares-dev)
[ -f /usr/include/liburing.h ] || need+=(liburing-dev)
have socat || need+=(socat) # a real peer for the I/O examples' tests
# eddy-chat's web client (apps/chat) and its browser test
[ -f /usr/include/wslay/wslay.h ] || need+=(libwslay-dev)
[ -f /usr/include/jansson.h ] || need+=(libjansson-dev)
[ -f /usr/include/openssl/evp.h ] || need+=(libssl-dev)
[ -f /usr/include/http_parser.h ] || need+=(libhttp-parser-dev)
have chromium || need+=(chromium)
have node || need+=(nodejs)
have npm || need+=(npm)
have redis-cli || need+=(redis-tools)         # examples/redis-lite tests
have redis-server || need+=(redis-server)   # bench/redis: the peer
# libFuzzer's runtime for tests/fuzz (clang -fsanitize=fuzzer)
compgen -G '/usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a' >/dev/null ||
  need+=(libclang-rt-14-dev)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  echo "deps: installing ${need[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
