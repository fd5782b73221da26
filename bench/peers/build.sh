#!/usr/bin/env bash
# build.sh [OUT]: install the peers' toolchains from Debian (only what is
# missing) and build every peer into OUT (default build/bench-peers), with
# GOCACHE, GOPATH and CARGO_HOME inside OUT. Idempotent: a peer whose binary
# is newer than its sources is not rebuilt. A peer that fails to build is
# reported and skipped (run.sh then shows it as failed); the others still
# build. Exit status: 0 if all built, 1 otherwise.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-build/bench-peers}
mkdir -p "$out" && out=$(cd "$out" && pwd)

need=()
command -v go >/dev/null || need+=(golang-go)
[ -f /usr/include/boost/context/detail/fcontext.hpp ] || need+=(libboost-context-dev)
ls -d /usr/share/cargo/registry/tokio-1.* >/dev/null 2>&1 || need+=(librust-tokio-dev)
/usr/bin/python3 -c 'import uvloop' 2>/dev/null || need+=(python3-uvloop)
command -v g++ >/dev/null || need+=(g++)
command -v cc >/dev/null || need+=(gcc)
command -v node >/dev/null || need+=(nodejs)
command -v cargo >/dev/null || need+=(cargo rustc)
command -v taskset >/dev/null || need+=(util-linux)
# the I/O entries (bench/net/run.sh): C floors, libuv, the HTTP server's
# parser, nginx and wrk, and the system-call counters
[ -f /usr/include/liburing.h ] || need+=(liburing-dev)
[ -f /usr/include/uv.h ] || need+=(libuv1-dev)
[ -f /usr/include/http_parser.h ] || need+=(libhttp-parser-dev)
[ -x /usr/sbin/nginx ] || need+=(nginx)
command -v wrk >/dev/null || need+=(wrk)
command -v strace >/dev/null || need+=(strace)
command -v perf >/dev/null || need+=(linux-perf)
if [ ${#need[@]} -gt 0 ]; then
  echo "peers: installing ${need[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
    echo "peers: apt-get install failed; building what can be built" >&2
fi

failed=()
# fresh BIN SRC...: true if BIN exists and is newer than every SRC
fresh() {
  local bin=$1; shift
  [ -x "$bin" ] || return 1
  for s in "$@"; do [ "$bin" -nt "$s" ] || return 1; done
}
step() { # name command...: run one build, record a failure, go on
  local name=$1; shift
  "$@" || { echo "peers: $name failed to build" >&2; rm -f "$out/$name"; failed+=("$name"); }
}

echo "peers: building into $out" >&2
fresh "$out/c_floor" "$here/c_floor.c" ||
  step c_floor cc -O2 "$here/c_floor.c" -o "$out/c_floor"
fresh "$out/boost_switch" "$here/boost_switch.cpp" ||
  step boost_switch g++ -O2 "$here/boost_switch.cpp" -o "$out/boost_switch" -lboost_context

build_go() {
  GOCACHE="$out/gocache" GOPATH="$out/gopath" GO111MODULE=off GOFLAGS= \
    go build -o "$out/go_bench" "$here/go_bench.go"
}
fresh "$out/go_bench" "$here/go_bench.go" || step go_bench build_go

# Tokio from Debian's packaged crate sources (librust-tokio-dev), offline:
# cargo's crates-io source is replaced by /usr/share/cargo/registry.
build_tokio_config() {
  mkdir -p "$out/cargo-home"
  cat >"$out/cargo-home/config.toml" <<CFG
[source.crates-io]
replace-with = "debian"
[source.debian]
directory = "/usr/share/cargo/registry"
[net]
offline = true
CFG
}
build_tokio() {
  build_tokio_config
  mkdir -p "$out/tokio/src"
  cp "$here/tokio_bench/Cargo.toml" "$out/tokio/"
  cp "$here/tokio_bench/src/main.rs" "$out/tokio/src/"
  (cd "$out/tokio" && CARGO_HOME="$out/cargo-home" CARGO_TARGET_DIR="$out/tokio/target" \
    cargo build --release -q) &&
    cp "$out/tokio/target/release/tokio_bench" "$out/tokio_bench"
}
fresh "$out/tokio_bench" "$here/tokio_bench/Cargo.toml" "$here/tokio_bench/src/main.rs" ||
  step tokio_bench build_tokio

# The I/O peers (bench/net/run.sh): echo servers and the file-read floor.
for p in echo_epoll file_floor; do
  fresh "$out/$p" "$here/$p.c" || step $p cc -O2 -Wall "$here/$p.c" -o "$out/$p"
done
fresh "$out/echo_uring" "$here/echo_uring.c" ||
  step echo_uring cc -O2 -Wall "$here/echo_uring.c" -o "$out/echo_uring" -luring
fresh "$out/echo_libuv" "$here/echo_libuv.c" ||
  step echo_libuv cc -O2 -Wall "$here/echo_libuv.c" -o "$out/echo_libuv" -luv
build_go_echo() {
  GOCACHE="$out/gocache" GOPATH="$out/gopath" GO111MODULE=off GOFLAGS="" \
    go build -o "$out/echo_go" "$here/echo_go.go"
}
fresh "$out/echo_go" "$here/echo_go.go" || step echo_go build_go_echo
# Same offline cargo home as tokio_bench; its own crate (tokio's net
# feature), so the scheduler entries keep their build untouched.
build_tokio_echo() {
  build_tokio_config
  mkdir -p "$out/tokio_echo/src"
  cp "$here/tokio_echo/Cargo.toml" "$out/tokio_echo/"
  cp "$here/tokio_echo/src/main.rs" "$out/tokio_echo/src/"
  (cd "$out/tokio_echo" && CARGO_HOME="$out/cargo-home" CARGO_TARGET_DIR="$out/tokio_echo/target" \
    cargo build --release -q) &&
    cp "$out/tokio_echo/target/release/tokio_echo" "$out/echo_tokio"
}
fresh "$out/echo_tokio" "$here/tokio_echo/Cargo.toml" "$here/tokio_echo/src/main.rs" ||
  step echo_tokio build_tokio_echo

if [ ${#failed[@]} -gt 0 ]; then
  echo "peers: built, except: ${failed[*]}" >&2
  exit 1
fi
echo "peers: built" >&2
