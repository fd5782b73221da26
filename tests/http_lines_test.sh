#!/bin/sh
# Runs examples/http/http_lines against its own test server (one request)
# and checks the streamed lines exactly. The server listens on port 0 and
# prints the port the kernel chose, so two runs never contend for one.
prog=$1
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
$prog --serve 0 1 > "$tmp/server.out" 2>&1 &
srv=$!
i=0
until port=$(sed -n 's/^serving on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/server.out") &&
      [ -n "$port" ]; do
  kill -0 $srv 2>/dev/null || { echo "server exited:"; cat "$tmp/server.out"; exit 1; }
  i=$((i + 1))
  [ $i -lt 100 ] || { echo "server printed no port in 10 s"; kill $srv; exit 1; }
  sleep 0.1
done
out=$($prog http://127.0.0.1:$port/readings 2>&1) ||
  { echo "client failed:"; echo "$out"; kill $srv; exit 1; }
wait $srv || { echo "server failed:"; cat "$tmp/server.out"; exit 1; }
expected="line 1: reading 1: 21.3 C
line 2: reading 2: 22.6 C
line 3: reading 3: 23.9 C
line 4: reading 4: 24.2 C
line 5: reading 5: 25.5 C
end of stream (HTTP 200, 5 lines)"
[ "$out" = "$expected" ] || { echo "got:"; echo "$out"; exit 1; }
