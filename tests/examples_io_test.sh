#!/bin/sh
# examples_io_test.sh CASE BUILD_EXAMPLES_DIR: runs an I/O example against
# real peers and checks what it does (ctest runs it on whichever backend
# EDDY_BACKEND names, so CI runs it on both).
#   line_count   a file argument, a redirected file and a pipe on stdin
#   file_copy    a 3 MiB file copied byte for byte
#   echo_socat   echo_server driven by socat; SIGTERM shuts it down with "bye"
#   subprocess   subprocess_lines streams a child's output line by line
set -u
case_=$1
dir=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
case $case_ in
line_count)
  seq 1 50000 > "$tmp/in"
  want="50000 lines, 288894 bytes"
  [ "$("$dir/line_count" "$tmp/in")" = "$want" ] || fail "file argument"
  [ "$("$dir/line_count" < "$tmp/in")" = "$want" ] || fail "redirected stdin"
  [ "$(cat "$tmp/in" | "$dir/line_count")" = "$want" ] || fail "pipe on stdin"
  [ "$(printf 'no newline' | "$dir/line_count")" = "0 lines, 10 bytes" ] || fail "last line"
  ;;
file_copy)
  head -c 3145728 /dev/urandom > "$tmp/src"
  "$dir/file_copy" "$tmp/src" "$tmp/dst" || fail "exit status"
  cmp "$tmp/src" "$tmp/dst" || fail "copy differs"
  "$dir/file_copy" "$tmp/missing" "$tmp/x" 2>/dev/null && fail "missing source accepted"
  ;;
echo_socat)
  command -v socat >/dev/null || fail "socat is not installed (scripts/deps.sh installs it)"
  "$dir/echo_server" 0 > "$tmp/server.out" 2>&1 &   # port 0: any free one
  srv=$!
  i=0
  until port=$(sed -n 's/^echo server on 127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/server.out") &&
        [ -n "$port" ]; do
    i=$((i + 1)); [ $i -gt 100 ] && { kill $srv; fail "server did not start: $(cat "$tmp/server.out")"; }
    sleep 0.05
  done
  out=$(printf 'hello\nworld\n' | socat -t 2 - TCP:127.0.0.1:$port 2>&1)
  [ "$out" = "hello
world" ] || { kill $srv; fail "echo: got '$out'"; }
  # a connection open during shutdown gets the goodbye, then the server exits 0
  (sleep 5 | socat -t 5 - TCP:127.0.0.1:$port > "$tmp/idle.out" 2>/dev/null) &
  cli=$!
  sleep 1
  kill -TERM $srv
  wait $srv || fail "server exit status $?"
  wait $cli
  grep -q bye "$tmp/idle.out" || fail "no goodbye: '$(cat "$tmp/idle.out")'"
  ;;
subprocess)
  out=$("$dir/subprocess_lines" sh -c 'echo one; sleep 0.05; echo two') || fail "exit status"
  echo "$out" | grep -q "one" && echo "$out" | grep -q "two" || fail "output: $out"
  ;;
*) fail "unknown case $case_" ;;
esac
echo "ok $case_ (${EDDY_BACKEND:-auto})"
