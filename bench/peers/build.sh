#!/usr/bin/env bash
# build.sh [OUT]: install the peers' toolchains from Debian (once) and build
# every peer into OUT (default build/bench-peers). Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(mkdir -p "${1:-build/bench-peers}" && cd "${1:-build/bench-peers}" && pwd)
need=()
command -v go >/dev/null || need+=(golang-go)
[ -f /usr/include/boost/context/detail/fcontext.hpp ] || need+=(libboost-context-dev)
[ -d /usr/share/cargo/registry/tokio-1.24.2 ] || ls -d /usr/share/cargo/registry/tokio-1.* >/dev/null 2>&1 || need+=(librust-tokio-dev)
/usr/bin/python3 -c 'import uvloop' 2>/dev/null || need+=(python3-uvloop)
command -v g++ >/dev/null || need+=(g++)
command -v node >/dev/null || need+=(nodejs)
command -v cargo >/dev/null || need+=(cargo rustc)
if [ ${#need[@]} -gt 0 ]; then
  echo "peers: installing ${need[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
echo "peers: building into $out" >&2
cc -O2 "$here/c_floor.c" -o "$out/c_floor"
g++ -O2 "$here/boost_switch.cpp" -o "$out/boost_switch" -lboost_context
export GOCACHE="$out/gocache" GOPATH="$out/gopath" GOFLAGS=-mod=mod GO111MODULE=off
go build -o "$out/go_bench" "$here/go_bench.go"
# Tokio from Debian's packaged crate sources, offline.
mkdir -p "$out/cargo-home" "$out/tokio"
cat >"$out/cargo-home/config.toml" <<CFG
[source.crates-io]
replace-with = "debian"
[source.debian]
directory = "/usr/share/cargo/registry"
[net]
offline = true
CFG
cp "$here/tokio_bench/Cargo.toml" "$out/tokio/"
mkdir -p "$out/tokio/src" && cp "$here/tokio_bench/src/main.rs" "$out/tokio/src/"
(cd "$out/tokio" && CARGO_HOME="$out/cargo-home" CARGO_TARGET_DIR="$out/tokio/target" cargo build --release -q)
cp "$out/tokio/target/release/tokio_bench" "$out/tokio_bench"
echo "peers: built" >&2
