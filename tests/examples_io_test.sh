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
  port=$((21000 + $$ % 20000))
  "$dir/echo_server" $port > "$tmp/server.out" 2>&1 &
  srv=$!
  i=0
  until out=$(printf 'hello\nworld\n' | socat -t 2 - TCP:127.0.0.1:$port 2>/dev/null) &&
        [ -n "$out" ]; do
    i=$((i + 1)); [ $i -gt 50 ] && { kill $srv; fail "server did not answer"; }
    sleep 0.1
  done
  [ "$out" = "hello
world" ] || { kill $srv; fail "echo: got '$out'"; }
  # a connection open during shutdown gets the goodbye, then the server exits 0
  (sleep 3 | socat -t 3 - TCP:127.0.0.1:$port > "$tmp/idle.out" 2>/dev/null) &
  cli=$!
  sleep 0.5
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
