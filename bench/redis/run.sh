#!/usr/bin/env bash
# bench/redis/run.sh [--quick] [--redis-lite PATH]: redis-lite against
# Debian's redis-server under redis-benchmark.
#
# Three servers: redis-lite as it ships (eddy: it watches for requests for
# 20 us before sleeping), redis-lite with --busy-poll-us 0 (eddy-nopoll)
# and redis-server (redis, with --save '' and --appendonly no, so no server
# touches the disk), all pinned to CPU 0, redis-benchmark pinned to CPU 1:
# `-t <test> -n N -c 50 -q --csv`, plain and with -P 16 (10 N: see np below). The runs alternate
# between the servers so that a neighbour's load drifting over time does
# not favour one of them, and the servers take turns at going first
# (eddy, eddy-nopoll, redis for one test; eddy-nopoll, redis, eddy for the
# next...): none always opens a test, right after another test's runs.
# Prints, per test (ping_inline, ping_mbulk, set, get, each also _p16):
#   BENCH redis_<test> <eddy|eddy-nopoll|redis> <median requests/s> ops/s
#   BENCHSPREAD redis_<test> <server> <min> <max>
#   BENCH redis_<test>_cpu <server> <requests per server CPU-second> ops/s
#   BENCH redis_<test>_load <server> <load generator's CPU, % of its core> %
# (CPU: the server's utime+stime from /proc/PID/stat around each run; the
# ping run covers both ping tests; the load generator's CPU: bash's `time`
# around each redis-benchmark.) Progress goes to stderr.
#   --quick            N=2000, one repetition (the figures mean nothing)
#   --redis-lite PATH  the server (default build/examples/redis-lite/redis-lite)
set -uo pipefail
export LC_ALL=C # bash's `time` prints decimals the locale's way; awk reads C's
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$root/build/examples/redis-lite/redis-lite
n=${REDIS_BENCH_N:-200000}
# pipelined runs send 10x as many: 200k requests at -P 16 take ~0.13 s,
# short enough for run-to-run noise to decide which server looks ahead
# (one run to the next varied 1.44M-1.85M requests/s against one server);
# 2M take ~1.3 s and vary by under 1 %
np=$((n * 10))
# 5 repetitions: redis-benchmark, at its core's limit against every
# server, varies by up to 20 % from run to run against one server; the
# median of 3 was left to chance
reps=${REDIS_BENCH_REPS:-5}
while [ $# -gt 0 ]; do
  case $1 in
    --quick) n=2000; np=2000; reps=1 ;;
    --redis-lite) bin=${2:?--redis-lite needs a path}; shift ;;
    -h|--help) sed -n '2,/^set -uo/{/^set -uo/d;s/^# \{0,1\}//p}' "$0"; exit 0 ;;
    *) echo "usage: $0 [--quick] [--redis-lite PATH]" >&2; exit 2 ;;
  esac
  shift
done
for tool in redis-server redis-benchmark redis-cli; do
  command -v $tool >/dev/null || { echo "bench/redis: $tool missing (scripts/deps.sh installs it)" >&2; exit 1; }
done
[ -x "$bin" ] || { echo "bench/redis: $bin not built" >&2; exit 1; }
pin0=(taskset -c 0)
pin1=(taskset -c 1)
if ! taskset -c 1 true 2>/dev/null; then
  echo "bench/redis: taskset unavailable (or one CPU); running unpinned" >&2
  pin0=()
  pin1=()
fi
tmp=$(mktemp -d)
eddy_pid=
nopoll_pid=
redis_pid=
cleanup() {
  for p in $eddy_pid $nopoll_pid $redis_pid; do
    kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_ready() { # port
  for _ in $(seq 1 100); do
    [ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ] && return 0
    sleep 0.05
  done
  return 1
}
cpu_ticks() { # pid: utime + stime
  awk '{print $14 + $15}' "/proc/$1/stat"
}
hz=$(getconf CLK_TCK)

eddy_port=$(free_port)
"${pin0[@]}" "$bin" --port "$eddy_port" >"$tmp/eddy.log" 2>&1 &
eddy_pid=$!
# the same server without busy polling: it sleeps as soon as it is idle,
# trading the load generator's wake-up cost for its own CPU time
nopoll_port=$(free_port)
"${pin0[@]}" "$bin" --port "$nopoll_port" --busy-poll-us 0 >"$tmp/nopoll.log" 2>&1 &
nopoll_pid=$!
redis_port=$(free_port)
"${pin0[@]}" redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
  --daemonize no --logfile "$tmp/redis.log" &
redis_pid=$!
wait_ready "$eddy_port" || { echo "bench/redis: redis-lite did not start" >&2; cat "$tmp/eddy.log" >&2; exit 1; }
wait_ready "$nopoll_port" || { echo "bench/redis: redis-lite (no busy poll) did not start" >&2; cat "$tmp/nopoll.log" >&2; exit 1; }
wait_ready "$redis_port" || { echo "bench/redis: redis-server did not start" >&2; exit 1; }

# results: lines "<entry> <runtime> <rps>" and "<entry>_cpu <runtime> <req/cpu-s>"
res=$tmp/results
: >"$res"
failed=0
one_run() { # runtime port pid test pipeline
  local rt=$1 port=$2 pid=$3 t=$4 p=$5 suffix="" n=$n
  [ "$p" -gt 1 ] && suffix=_p$p n=$np
  local c0 c1 out
  c0=$(cpu_ticks "$pid")
  # bash's own `time` gives the load generator's CPU beside its wall time
  local TIMEFORMAT='%R %U %S'
  if ! { time out=$(timeout 300 "${pin1[@]}" redis-benchmark -p "$port" -t "$t" -n "$n" -c 50 -P "$p" -q --csv 2>"$tmp/err"); } 2>"$tmp/time"; then
    echo "bench/redis: $rt $t -P $p failed: $(tail -c 300 "$tmp/err")" >&2
    failed=1
    return
  fi
  c1=$(cpu_ticks "$pid")
  # how busy the load generator's core was: near 100 %, the figure is the
  # load generator's limit, not the server's
  awk -v e="redis_${t}${suffix}_load" -v rt="$rt" '{ if ($1 > 0) printf "%s %s %.1f\n", e, rt, 100 * ($2 + $3) / $1 }' \
    "$tmp/time" >>"$res"
  local total=0
  while IFS=, read -r name rps _; do
    name=${name//\"/}
    rps=${rps//\"/}
    [ "$name" = test ] && continue
    [ -z "$rps" ] && continue
    name=$(echo "$name" | tr 'A-Z' 'a-z')
    echo "redis_${name}${suffix} $rt $rps" >>"$res"
    total=$((total + n))
    echo "bench/redis: $rt $name$suffix $rps req/s" >&2
  done <<<"$out"
  local ticks=$((c1 - c0))
  if [ "$total" -gt 0 ] && [ "$ticks" -gt 0 ]; then
    echo "redis_${t}${suffix}_cpu $rt $(awk -v r="$total" -v t="$ticks" -v hz="$hz" 'BEGIN{printf "%.0f", r / (t / hz)}')" >>"$res"
  fi
}

run_on() { # server test pipeline
  case $1 in
    eddy) one_run eddy "$eddy_port" "$eddy_pid" "$2" "$3" ;;
    eddy-nopoll) one_run eddy-nopoll "$nopoll_port" "$nopoll_pid" "$2" "$3" ;;
    redis) one_run redis "$redis_port" "$redis_pid" "$2" "$3" ;;
  esac
}
servers=(eddy eddy-nopoll redis)
turn=0 # which server goes first: each does, one test in three
for rep in $(seq 1 "$reps"); do
  for p in 1 16; do
    for t in ping set get; do
      for i in 0 1 2; do run_on "${servers[$(((turn + i) % 3))]}" "$t" "$p"; done
      turn=$((turn + 1))
    done
  done
  turn=$((turn + 1)) # six tests a round: without it a test's first would never change
  echo "bench/redis: repetition $rep of $reps done" >&2
done

# stop each server by its own pid (SIGTERM: a graceful shutdown)
kill "$eddy_pid" && wait "$eddy_pid" || { echo "bench/redis: redis-lite did not exit cleanly" >&2; failed=1; }
eddy_pid=
kill "$nopoll_pid" && wait "$nopoll_pid" || { echo "bench/redis: redis-lite (no busy poll) did not exit cleanly" >&2; failed=1; }
nopoll_pid=
kill "$redis_pid" && wait "$redis_pid"
redis_pid=

# median and spread per entry and runtime
sort -k1,1 -k2,2 -k3,3n "$res" | awk '
  function flush() {
    if (key == "") return
    med = (cnt % 2) ? v[(cnt + 1) / 2] : (v[cnt / 2] + v[cnt / 2 + 1]) / 2
    split(key, k, " ")
    if (k[1] ~ /_load$/) { printf "BENCH %s %s %.1f %%\n", k[1], k[2], med; return }
    printf "BENCH %s %s %.0f ops/s\n", k[1], k[2], med
    if (k[1] !~ /_cpu$/) printf "BENCHSPREAD %s %s %.0f %.0f\n", k[1], k[2], v[1], v[cnt]
  }
  { cur = $1 " " $2
    if (cur != key) { flush(); key = cur; cnt = 0 }
    v[++cnt] = $3 }
  END { flush() }'
# and each entry's figures in round order (the order they were taken):
# report.py pairs the servers' figures round by round
awk '$1 !~ /_load$/ { k = $1 " " $2; if (!(k in r)) o[++n] = k; r[k] = r[k] " " $3 }
  END { for (i = 1; i <= n; i++) print "BENCHROUNDS " o[i] r[o[i]] }' "$res"
exit $failed
