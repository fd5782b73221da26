#!/usr/bin/env bash
# run.sh [--quick] [--build DIR] [--reps N]: the fan-out benchmark.
# Builds eddy-chat, fanout_load and fanout_epoll (CMake targets, in DIR,
# default build/), then for each server, eddy-chat ("eddy") and the plain C
# epoll server ("c-epoll"), N times (default 3): start it fresh pinned to
# CPU 0, read its idle VmRSS, run fanout_load pinned to CPU 1 (10,000
# connections, 1,000 of them in one room, 4 senders; a latency phase at a
# fixed rate, then a saturation phase), stop the server by its pid.
# stdout: BENCH / BENCHSPREAD lines (median of the repetitions; spread
# min..max): fanout_deliveries (saturation phase), fanout_p50 / fanout_p99
# (latency phase), fanout_mem_per_client, and fanout_cpu_per_delivery
# (server CPU time over deliveries in the saturation phase: steadier than
# the throughput on a shared machine); stderr: progress and a summary with
# the ratio eddy / c-epoll.
#   --quick   200 connections, 50 in the room, one short repetition (CI:
#             everything builds and runs and nothing is lost; the figures
#             mean nothing).
# eddy-chat keeps its history in a fresh data directory on tmpfs
# (/dev/shm when writable) with batched durability, so the disk is not what
# is measured. Exit status: 0 if every run delivered everything in order.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$root/build
quick=0
reps=3
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1 ;;
    --build) build=${2:?--build needs a directory}; shift ;;
    --reps) reps=${2:?--reps needs a number}; shift ;;
    -h|--help) sed -n '2,21s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--quick] [--build DIR] [--reps N]" >&2; exit 2 ;;
  esac
  shift
done

if [ $quick = 1 ]; then
  conns=200 members=50 senders=2 rate=200 duration=1 saturate=1 reps=1 limit=60
else
  conns=10000 members=1000 senders=4 rate=100 duration=5 saturate=10 limit=300
fi
window=32 # per sender: 4 x 32 = 128 messages in flight, under eddy-chat's 256 per member

log() { echo "fanout: $*" >&2; }

# ---- build
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >&2 || exit 1
fi
cmake --build "$build" -j2 --target eddy-chat fanout_load fanout_epoll >&2 || exit 1
chat=$build/apps/chat/eddy-chat
load=$build/bench/fanout/fanout_load
cepoll=$build/bench/fanout/fanout_epoll

# ---- file descriptors: each process needs one per connection
need=$((conns + 200))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $need ]; then
  ulimit -n $need 2>/dev/null || ulimit -n "$(ulimit -Hn)"
fi
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $need ]; then
  log "need $need file descriptors per process, the hard limit is $(ulimit -Hn)"
  exit 1
fi

# ---- pinning: the server on CPU 0, the load on CPU 1
pin_srv=() pin_load=()
if [ "$(nproc)" -ge 2 ] && taskset -c 1 true 2>/dev/null; then
  pin_srv=(taskset -c 0) pin_load=(taskset -c 1)
else
  log "fewer than 2 CPUs or no taskset: running unpinned"
fi

shm=/dev/shm
[ -d $shm ] && [ -w $shm ] || shm=${TMPDIR:-/tmp}
work=$(mktemp -d "$shm/eddy-fanout.XXXXXX")
srv_pid=
cleanup() {
  if [ -n "$srv_pid" ] && kill -0 "$srv_pid" 2>/dev/null; then kill -KILL "$srv_pid"; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_server() { # runtime rep: sets srv_pid and port
  local rt=$1 rep=$2 out=$work/$1.$2.server
  if [ "$rt" = eddy ]; then
    local data=$work/data.$rep
    # EDDY_CHAT_HTTP_PORT=0: no web page listener (where eddy-chat has one)
    EDDY_CHAT_HTTP_PORT=0 "${pin_srv[@]}" "$chat" --port 0 --data-dir "$data" --durability batched --fsync-ms 100 \
      --max-clients $((conns + 100)) --rate 1000000 --idle 3600 >"$out" 2>&1 &
  else
    "${pin_srv[@]}" "$cepoll" --port 0 --log "$work/c-epoll.$rep.log" >"$out" 2>&1 &
  fi
  srv_pid=$! # taskset execs the server: this is the server's own pid
  port=
  for _ in $(seq 100); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$out" | head -1)
    [ -n "$port" ] && return 0
    kill -0 $srv_pid 2>/dev/null || break
    sleep 0.1
  done
  log "$rt did not start:"; cat "$out" >&2
  return 1
}

stop_server() { # runtime rep: SIGTERM, then its exit status must be 0
  local out=$work/$1.$2.server st
  kill -TERM "$srv_pid" 2>/dev/null
  for _ in $(seq 100); do
    kill -0 "$srv_pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$srv_pid" 2>/dev/null; then
    log "server $srv_pid did not stop on SIGTERM within 10 s: killing it"
    kill -KILL "$srv_pid"
  fi
  wait "$srv_pid" 2>/dev/null
  st=$?
  srv_pid=
  if [ $st != 0 ]; then
    log "$1 exited with status $st:"; tail -20 "$out" >&2
    return 1
  fi
}

field() { # name line
  sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"
}

failed=0
results=$work/results # runtime metric value, one per line
: >"$results"
log "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for rt in eddy c-epoll; do
  for rep in $(seq "$reps"); do
    log "$rt, repetition $rep/$reps"
    start_server "$rt" "$rep" || { failed=1; continue; }
    sleep 0.3
    idle_kb=$(awk '/^VmRSS:/{print $2}' /proc/$srv_pid/status)
    lo=$work/$rt.$rep.load
    timeout $limit "${pin_load[@]}" "$load" --port "$port" --server-pid "$srv_pid" \
      --conns $conns --members $members --senders $senders --window $window \
      --rate $rate --duration $duration --saturate $saturate >"$lo" 2>"$lo.err"
    rc=$?
    stop_server "$rt" "$rep" || failed=1
    grep '^fanout_load: .*\(set up\|FAILED\|got:\|connection\)' "$lo.err" | sed "s/^/  /" >&2
    if [ $rc != 0 ]; then
      log "$rt repetition $rep: fanout_load failed (exit $rc)"; tail -5 "$lo.err" >&2
      failed=1
    fi
    r_rate=$(grep '^RESULT mode=rate ' "$lo")
    r_sat=$(grep '^RESULT mode=saturation ' "$lo")
    [ -n "$r_rate" ] && [ -n "$r_sat" ] || { failed=1; continue; }
    conn_kb=$(field rss_connected_kb "$r_sat")
    {
      echo "$rt deliveries $(field deliveries_per_s "$r_sat")"
      echo "$rt p50 $(field p50_ns "$r_rate")"
      echo "$rt p99 $(field p99_ns "$r_rate")"
      echo "$rt mem $(( (conn_kb - idle_kb) * 1024 / conns ))"
      echo "$rt srvcpu $(awk -v c="$(field server_cpu_s "$r_sat")" -v s="$(field seconds "$r_sat")" 'BEGIN{printf "%.0f", 100*c/s}')"
      echo "$rt loadcpu $(awk -v c="$(field load_cpu_s "$r_sat")" -v s="$(field seconds "$r_sat")" 'BEGIN{printf "%.0f", 100*c/s}')"
      echo "$rt setup $(field setup_s "$r_sat")"
      echo "$rt cpudel $(awk -v c="$(field server_cpu_s "$r_sat")" -v d="$(field deliveries "$r_sat")" 'BEGIN{printf "%.0f", c*1e9/d}')"
      echo "$rt rssend $(field rss_end_kb "$r_sat")"
    } >>"$results"
    log "  saturation $(field deliveries_per_s "$r_sat") deliveries/s (server CPU $(field server_cpu_s "$r_sat") s, load CPU $(field load_cpu_s "$r_sat") s in $(field seconds "$r_sat") s); at $rate msg/s p50 $(field p50_ns "$r_rate") ns p99 $(field p99_ns "$r_rate") ns; VmRSS idle $idle_kb kB, connected $conn_kb kB"
  done
done
log "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- median and spread per runtime and metric; the ratio on stderr
awk -v quick=$quick '
  { v[$1, $2, ++n[$1, $2]] = $3 }
  function sorted(rt, m,   k, i, j, t) {
    k = n[rt, m]
    for (i = 1; i <= k; i++) s[i] = v[rt, m, i]
    for (i = 2; i <= k; i++) for (j = i; j > 1 && s[j - 1] + 0 > s[j] + 0; j--) { t = s[j]; s[j] = s[j - 1]; s[j - 1] = t }
    return k
  }
  function med(rt, m,   k) { k = sorted(rt, m); return k ? (k % 2 ? s[(k + 1) / 2] : (s[k / 2] + s[k / 2 + 1]) / 2) : "" }
  function emit(entry, m, unit,   r, k) {
    split("eddy c-epoll", rts, " ")
    for (r = 1; r <= 2; r++) {
      if (!n[rts[r], m]) continue
      printf "BENCH %s %s %s %s\n", entry, rts[r], med(rts[r], m), unit
      k = sorted(rts[r], m)
      printf "BENCHSPREAD %s %s %s %s %s\n", entry, rts[r], s[1], s[k], unit
    }
  }
  END {
    emit("fanout_deliveries", "deliveries", "ops/s")
    emit("fanout_p50", "p50", "ns")
    emit("fanout_p99", "p99", "ns")
    emit("fanout_mem_per_client", "mem", "B")
    emit("fanout_cpu_per_delivery", "cpudel", "ns")
    if (quick) print "fanout: (quick mode: the figures mean nothing)" > "/dev/stderr"
    printf "fanout: %-22s %14s %14s %8s\n", "median", "eddy", "c-epoll", "ratio" > "/dev/stderr"
    split("deliveries p50 p99 mem cpudel srvcpu loadcpu rssend setup", ms, " ")
    split("deliveries/s|p50 ns|p99 ns|B per client|server CPU ns/delivery|server CPU % (sat)|load CPU % (sat)|VmRSS kB at the end|set-up s", names, "|")
    for (i = 1; i <= 9; i++) {
      a = med("eddy", ms[i]); b = med("c-epoll", ms[i])
      ratio = (a > 0 && b > 0) ? sprintf("%.2f", a / b) : "-"
      printf "fanout: %-22s %14s %14s %8s\n", names[i], a, b, ratio > "/dev/stderr"
    }
    print "fanout: ratio = eddy / c-epoll (deliveries: below 1 means eddy delivers less)" > "/dev/stderr"
  }' "$results"
exit $failed
