#!/bin/sh
# Runs examples/http/http_lines against its own test server (one request)
# on a free port and checks the streamed lines exactly.
prog=$1
port=$((20000 + $$ % 20000))
$prog --serve $port 1 > /dev/null &
srv=$!
i=0
while [ $i -lt 50 ]; do
  out=$($prog http://127.0.0.1:$port/readings 2>&1) && break
  i=$((i + 1)); sleep 0.1
done
wait $srv
expected="line 1: reading 1: 21.3 C
line 2: reading 2: 22.6 C
line 3: reading 3: 23.9 C
line 4: reading 4: 24.2 C
line 5: reading 5: 25.5 C
end of stream (HTTP 200, 5 lines)"
[ "$out" = "$expected" ] || { echo "got:"; echo "$out"; exit 1; }
