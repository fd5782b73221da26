#!/usr/bin/env bash
# run.sh PREFIX: build the consumer programs against eddy installed in
# PREFIX, with pkg-config and with CMake, as C and C++, and run them.
set -euo pipefail
prefix=$1
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig:$prefix/lib/x86_64-linux-gnu/pkgconfig:$prefix/lib/aarch64-linux-gnu/pkgconfig"
libdir=$(pkg-config --variable=libdir eddy)
# pkg-config, shared
cc -std=c11 -Wall -Wextra -Werror "$here/consumer.c" $(pkg-config --cflags --libs eddy) -o "$out/pc_c"
LD_LIBRARY_PATH="$libdir" "$out/pc_c"
# pkg-config, static
cc -std=c11 -Wall -Wextra -Werror "$here/consumer.c" $(pkg-config --cflags eddy) "$libdir/libeddy.a" $(pkg-config --libs-only-l --static eddy | sed 's/-leddy//') -o "$out/pc_static"
"$out/pc_static"
# pkg-config, C++
c++ -std=c++17 -Wall -Wextra -Werror "$here/consumer.cpp" $(pkg-config --cflags --libs eddy) -o "$out/pc_cpp"
LD_LIBRARY_PATH="$libdir" "$out/pc_cpp"
# CMake package
cmake -S "$here" -B "$out/cmake" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$out/cmake" >/dev/null
LD_LIBRARY_PATH="$libdir" "$out/cmake/consumer"
"$out/cmake/consumer_static"
LD_LIBRARY_PATH="$libdir" "$out/cmake/consumer_cpp"
# the shared library exports only eddy_* symbols
bad=$(nm -D --defined-only "$libdir/libeddy.so" | awk '{print $3}' | grep -vE '^(eddy_|_init|_fini|__bss_start|_edata|_end)' || true)
if [ -n "$bad" ]; then echo "unexpected exported symbols: $bad"; exit 1; fi
readlink "$libdir/libeddy.so" | grep -q 'libeddy.so.0' || { echo "SONAME link missing"; exit 1; }
echo "consumers: OK"
rm -rf "$out"
