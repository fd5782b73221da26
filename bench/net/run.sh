#!/usr/bin/env bash
# run.sh [--quick] [--eddy-build DIR]: the I/O benchmark entries (see
# bench/net/README.md): TCP echo, HTTP hello world and page-cache file reads,
# eddy against the C floors and the other runtimes, on loopback.
#   --quick           tiny durations and one repetition, for CI: everything
#                     builds and runs, the figures mean nothing.
#   --eddy-build DIR  the project's CMake build holding bench/net's programs
#                     (default build-bench, configured Release if missing);
#                     the targets are (re)built there.
#   --only LIST       only these sections (comma-separated: echo,http,files).
# Prints `BENCH <entry> <runtime> <value> <unit>` and `BENCHSPREAD <entry>
# <runtime> <min> <max> <unit>` on stdout, progress and a summary table on
# stderr. Servers run pinned to CPU 0, load generators to CPU 1; each timed
# figure is the median of 3 runs. A runtime that fails to build or to run
# is reported (failed) and the rest goes on; exit status 1 then.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/bench/net
quick=0
ebuild=$root/build-bench
only=echo,http,files
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1 ;;
    --eddy-build) ebuild=${2:?--eddy-build needs a directory}; shift ;;
    --only) only=${2:?--only needs a list}; shift ;;
    -h|--help) sed -n '2,15s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--quick] [--eddy-build DIR] [--only echo,http,files]" >&2; exit 2 ;;
  esac
  shift
done
ebuild=$(mkdir -p "$ebuild" && cd "$ebuild" && pwd)
peers=$root/build/bench-peers
work=$peers/net
mkdir -p "$work"
results=$work/results.txt
: >"$results"
failed=0
say() { echo "net: $*" >&2; }
fail() { say "$1 (failed)"; echo "FAILED $1" >>"$results"; failed=1; }

# ---- durations (seconds) and repetitions
if [ $quick = 1 ]; then
  dur=0.3 warm=0.1 reps=1 echo_reps=1 http_reps=1 wrkdur=1 sysdur=0.3
else
  # echo_64x64 (a target's entry) gets 5 rounds, the rest 3: loopback on
  # this VM flips between a fast and a slow regime for seconds at a time
  # (~220k against ~165k round trips/s for every server alike), and the
  # median of 3 rounds was at the mercy of which regime each round met.
  # The HTTP entries (nginx's target) get 5 for the same reason: one page
  # had eddy-uring at 148k requests per CPU-second (143k..173k) against
  # nginx's 156k, where alternating runs just after read 178k-204k
  # against 163k-185k.
  dur=3 warm=0.5 reps=3 echo_reps=5 http_reps=5 wrkdur=3 sysdur=1.5
fi
export EDDY_BENCH_QUICK=$quick GOMAXPROCS=1

# ---- every server we start is stopped by its own pid, whatever happens
servers=()
stop_all() {
  for p in "${servers[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  servers=()
}
trap 'stop_all' EXIT
trap 'stop_all; exit 130' INT TERM

say "machine load at start: $(uptime | sed 's/.*load average/load average/')"

# ---- pinning: server on CPU 0, load on CPU 1
spin=(taskset -c 0) lpin=(taskset -c 1)
if ! taskset -c 0 true 2>/dev/null; then
  say "taskset unavailable: running unpinned"
  spin=() lpin=()
elif ! taskset -c 1 true 2>/dev/null; then
  say "one CPU only: the load generator shares CPU 0 with the server"
  lpin=(taskset -c 0)
fi

# ---- build: the peers, then eddy's programs in the CMake build
"$root/bench/peers/build.sh" "$peers" || say "some peers did not build; they show as (failed)"
if [ -f "$ebuild/CMakeCache.txt" ]; then
  cmake "$ebuild" >/dev/null # re-finds what build.sh may just have installed
else
  cmake -S "$root" -B "$ebuild" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
for t in echo_load echo_eddy http_eddy file_eddy; do
  cmake --build "$ebuild" -j2 --target "$t" >"$work/build-$t.log" 2>&1 ||
    say "$t did not build: see $work/build-$t.log"
done
bin=$ebuild/bench/net
load=$bin/echo_load

free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# start NAME PORT CMD...: start a server pinned to CPU 0 in the background;
# sets spid. The command's own pid: env/taskset/the interpreters exec.
spid=
start() {
  local name=$1 port=$2
  shift 2
  "${spin[@]}" "$@" >"$work/$name.out" 2>"$work/$name.err" &
  spid=$!
  servers+=("$spid")
  for _ in $(seq 100); do # up to 10 s (interpreters, a loaded machine)
    kill -0 "$spid" 2>/dev/null || { say "$name exited at start: $(tail -2 "$work/$name.err")"; return 1; }
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  say "$name does not listen on $port"
  return 1
}
cpu_of() { # utime + stime of a pid, in clock ticks
  awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$1/stat" 2>/dev/null || echo 0
}
# report ENTRY RUNTIME UNIT VALUES...: median and spread of the values
report() {
  local e=$1 rt=$2 unit=$3
  shift 3
  local x
  for x in "$@"; do [ -n "$x" ] || { fail "$e $rt: no figure"; return; }; done
  [ $# -gt 0 ] || return
  # in round order: report.py pairs the runtimes' figures round by round
  echo "BENCHROUNDS $e $rt $*" | tee -a "$results"
  printf '%s\n' "$@" | sort -g | awk -v e="$e" -v rt="$rt" -v u="$unit" '
    { v[NR] = $1 }
    END {
      m = v[int((NR + 1) / 2)]
      f = m >= 100 ? "%.0f" : "%.2f"
      printf "BENCH %s %s " f " %s\n", e, rt, m, u
      printf "BENCHSPREAD %s %s " f " " f " %s\n", e, rt, v[1], v[NR], u
    }' | tee -a "$results"
}
field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p"; } # key=value from echo_load's line

# syscalls-per-request counter: perf's syscall tracepoint if it works here,
# strace -c otherwise
counter=none
if perf stat -e raw_syscalls:sys_enter -x, -o /dev/null -- true 2>/dev/null; then
  counter=perf
elif command -v strace >/dev/null; then
  counter=strace
fi
say "system calls counted with: $counter"
# count_syscalls PID CMD...: system calls PID makes while CMD runs
count_syscalls() {
  local pid=$1 f=$work/syscalls.txt cpid
  shift
  rm -f "$f"
  case $counter in
    perf) perf stat -e raw_syscalls:sys_enter -x, -o "$f" -p "$pid" & cpid=$! ;;
    strace) strace -c -f -p "$pid" -o "$f" & cpid=$! ;;
    *) return 1 ;;
  esac
  sleep 0.5 # attached before the load starts
  "$@"
  local rc=$?
  kill -INT "$cpid" 2>/dev/null
  wait "$cpid" 2>/dev/null
  [ $rc = 0 ] || return 1
  case $counter in
    perf) awk -F, '/raw_syscalls:sys_enter/ {print $1}' "$f" ;;
    strace) awk '$NF == "total" {print $(NF - 1)}' "$f" ;;
  esac
}

# Every server of a section runs at once (idle while another is measured),
# and the repetitions go round them in turn: on a shared machine a busy
# minute then spreads over every runtime instead of sinking one.
declare -A sport spidof vals dead
# launch KIND RUNTIME PORT CMD...: start one server, remember port and pid;
# adds RUNTIME to the array named by KIND_rts
launch() {
  local kind=$1 rt=$2 port=$3
  shift 3
  if ! command -v "$1" >/dev/null 2>&1 && [ ! -x "$1" ]; then fail "$kind $rt: $1 not built"; return; fi
  say "$kind: $rt on port $port"
  if start "$kind-$rt" "$port" "$@"; then
    sport[$kind-$rt]=$port spidof[$kind-$rt]=$spid
    eval "${kind}_rts+=(\"\$rt\")"
  else
    fail "$kind $rt"
    stop_pid "$spid"
  fi
}
stop_pid() {
  kill "$1" 2>/dev/null
  wait "$1" 2>/dev/null
  local keep=() p
  for p in "${servers[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  servers=("${keep[@]}")
}
want() { case ",$only," in *",$1,"*) return 0 ;; esac; return 1; }
py=/usr/bin/python3

# ---------------------------------------------------------------- 1. echo
echo_rts=()
# echo_launch RUNTIME CMD...: the server command without its port argument
echo_launch() {
  local rt=$1 port
  shift
  port=$(free_port)
  launch echo "$rt" "$port" "$@" "$port"
}
# echo_round RUNTIME ROUND: one measurement of each echo entry (past the
# common number of rounds, of echo_64x64 only)
echo_round() {
  local rt=$1 port=${sport[echo-$1]} pid=${spidof[echo-$1]} entry conns size line entries=(echo_64x64)
  [ "$2" -gt "$reps" ] || entries+=(echo_256x1k)
  for entry in "${entries[@]}"; do
    if [ $entry = echo_64x64 ]; then conns=64 size=64; else conns=256 size=1024; fi
    if ! line=$(timeout $((${dur%.*} + 20)) "${lpin[@]}" "$load" "$port" $conns $size $dur $warm "$pid" 2>>"$work/echo-$rt.err"); then
      fail "$entry $rt: $(tail -1 "$work/echo-$rt.err")"
      dead[$rt]=1
      stop_pid "$pid"
      return
    fi
    say "  $entry $rt: $(echo "$line" | field rate) req/s, server util $(echo "$line" | field util)"
    vals[$entry|$rt]+=" $(echo "$line" | field rate)"
    [ $entry = echo_64x64 ] && vals[echo_64x64_cpu|$rt]+=" $(echo "$line" | field per_cpu)"
  done
}
# echo_syscalls RUNTIME: system calls per request, one separate short run
echo_syscalls() {
  local rt=$1 port=${sport[echo-$1]} pid=${spidof[echo-$1]} calls total
  if calls=$(count_syscalls "$pid" sh -c "timeout 30 ${lpin[*]} '$load' $port 64 64 $sysdur 0 $pid >'$work/sys-$rt.txt' 2>>'$work/echo-$rt.err'") &&
      total=$(field total <"$work/sys-$rt.txt") && [ -n "$calls" ] && [ -n "$total" ] && [ "$total" -gt 0 ]; then
    report echo_64x64_syscalls "$rt" calls "$(awk -v c="$calls" -v t="$total" 'BEGIN {printf "%.3f", c / t}')"
  else
    say "  echo_64x64_syscalls $rt: not counted"
  fi
}

if want echo; then
  if [ ! -x "$load" ]; then
    fail "echo: echo_load not built"
  else
    echo_launch eddy-epoll env EDDY_BACKEND=epoll "$bin/echo_eddy"
    echo_launch eddy-uring env EDDY_BACKEND=io_uring "$bin/echo_eddy"
    echo_launch c-epoll "$peers/echo_epoll"
    echo_launch c-uring "$peers/echo_uring"
    echo_launch libuv "$peers/echo_libuv"
    echo_launch tokio "$peers/echo_tokio"
    echo_launch go "$peers/echo_go"
    echo_launch uvloop $py "$root/bench/peers/echo_py.py" uvloop
    echo_launch asyncio $py "$root/bench/peers/echo_py.py" asyncio
    echo_launch node node "$root/bench/peers/echo_node.mjs"
    # one untimed run each first: a fresh server (an interpreter above all)
    # is slower for its first second
    if [ $quick = 0 ]; then
      for rt in "${echo_rts[@]}"; do
        timeout 30 "${lpin[@]}" "$load" "${sport[echo-$rt]}" 64 64 1 0 >/dev/null 2>>"$work/echo-$rt.err"
      done
    fi
    for k in $(seq $echo_reps); do
      say "echo: round $k of $echo_reps"
      for rt in "${echo_rts[@]}"; do [ -n "${dead[$rt]:-}" ] || echo_round "$rt" "$k"; done
    done
    for rt in "${echo_rts[@]}"; do
      [ -z "${dead[$rt]:-}" ] || continue
      for e in echo_64x64 echo_256x1k echo_64x64_cpu; do report $e "$rt" ops/s ${vals[$e|$rt]}; done
      echo_syscalls "$rt"
      stop_pid "${spidof[echo-$rt]}"
    done
  fi
fi

# ---------------------------------------------------------------- 2. HTTP
# wrk_run PORT PID [wrk args...]: prints "rate per_cpu" or fails
wrk_run() {
  local port=$1 pid=$2 out c0 c1
  shift 2
  c0=$(cpu_of "$pid")
  out=$(timeout $((wrkdur + 30)) "${lpin[@]}" wrk -t1 -c64 -d${wrkdur}s --timeout 10s "$@" "http://127.0.0.1:$port/" 2>&1) || { echo "$out" >&2; return 1; }
  c1=$(cpu_of "$pid")
  # wrong answers or broken connections fail the run; slow answers (a busy
  # machine) only count as slow
  if echo "$out" | grep -qE 'Non-2xx' ||
      echo "$out" | grep -qE 'Socket errors: connect [1-9]|read [1-9]|write [1-9]'; then
    echo "$out" >&2
    return 1
  fi
  echo "$out" | awk -v c="$((c1 - c0))" -v hz="$(getconf CLK_TCK)" '
    / requests in / { n = $1 }
    /^Requests\/sec:/ { r = $2 }
    END { if (r == "") exit 1; printf "%s %.1f\n", r, (c > 0 ? n / (c / hz) : -1) }'
}
http_rts=()
# http_round RUNTIME: one measurement of each HTTP entry
http_round() {
  local rt=$1 port=${sport[http-$1]} pid=${spidof[http-$1]} v p16
  if ! v=$(wrk_run "$port" "$pid" 2>>"$work/http-$rt.err") ||
      ! p16=$(wrk_run "$port" "$pid" -s "$here/pipeline.lua" 2>>"$work/http-$rt.err"); then
    fail "http $rt: see $work/http-$rt.err"
    dead[$rt]=1
    stop_pid "$pid"
    return
  fi
  vals[http_hello|$rt]+=" ${v% *}" vals[http_hello_cpu|$rt]+=" ${v#* }"
  vals[http_hello_p16|$rt]+=" ${p16% *}" vals[http_hello_p16_cpu|$rt]+=" ${p16#* }"
  say "  $rt: ${v% *} req/s (${v#* } per CPU-s), pipelined x16 ${p16% *} req/s (${p16#* } per CPU-s)"
}

if want http; then
  dead=()
  if ! command -v wrk >/dev/null; then
    fail "http: wrk missing"
  else
    port=$(free_port)
    launch http eddy-epoll "$port" env EDDY_BACKEND=epoll "$bin/http_eddy" "$port"
    port=$(free_port)
    launch http eddy-uring "$port" env EDDY_BACKEND=io_uring "$bin/http_eddy" "$port"
    # nginx: one process (no master, no daemon) so its CPU time is one
    # pid's; a generated config in a temp dir; keep-alive without a request
    # limit, as the eddy server has none.
    ngx=$work/nginx
    rm -rf "$ngx" && mkdir -p "$ngx/tmp"
    port=$(free_port)
    cat >"$ngx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
master_process off;
pid $ngx/nginx.pid;
error_log $ngx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 60s;
  client_body_temp_path $ngx/tmp/body;
  proxy_temp_path $ngx/tmp/proxy;
  fastcgi_temp_path $ngx/tmp/fastcgi;
  uwsgi_temp_path $ngx/tmp/uwsgi;
  scgi_temp_path $ngx/tmp/scgi;
  server {
    listen 127.0.0.1:$port;
    location / {
      default_type text/plain;
      return 200 "hello";
    }
  }
}
CONF
    launch http nginx "$port" /usr/sbin/nginx -p "$ngx" -c "$ngx/nginx.conf" -e "$ngx/error.log"
    if [ $quick = 0 ]; then # warm-up
      for rt in "${http_rts[@]}"; do wrk_run "${sport[http-$rt]}" "${spidof[http-$rt]}" >/dev/null 2>&1; done
    fi
    for k in $(seq $http_reps); do
      say "http: round $k of $http_reps"
      for rt in "${http_rts[@]}"; do [ -n "${dead[$rt]:-}" ] || http_round "$rt"; done
    done
    for rt in "${http_rts[@]}"; do
      [ -z "${dead[$rt]:-}" ] || continue
      for e in http_hello http_hello_p16 http_hello_cpu http_hello_p16_cpu; do report $e "$rt" ops/s ${vals[$e|$rt]}; done
      stop_pid "${spidof[http-$rt]}"
    done
  fi
fi

# ---------------------------------------------------------------- 3. files
if want files; then
data=$work/file.dat
mb=64
[ $quick = 1 ] && mb=4
if [ "$(stat -c %s "$data" 2>/dev/null || echo 0)" != $((mb * 1024 * 1024)) ]; then
  head -c $((mb * 1024 * 1024)) /dev/urandom >"$data"
fi
cat "$data" >/dev/null # into the page cache
# file_bench LABEL CMD...: a program printing its own BENCH lines
file_bench() {
  local label=$1
  shift
  say "files: $label"
  if timeout 300 "${spin[@]}" "$@" >"$work/$label.out" 2>"$work/$label.err"; then
    grep -E '^BENCH(SPREAD)? ' "$work/$label.out" | tee -a "$results"
  else
    fail "files $label: $(tail -1 "$work/$label.err")"
  fi
}
file_bench file-eddy-epoll env EDDY_BACKEND=epoll "$bin/file_eddy" "$data" eddy-epoll
file_bench file-eddy-uring env EDDY_BACKEND=io_uring "$bin/file_eddy" "$data" eddy-uring
file_bench file-floor "$peers/file_floor" "$data"
fi

# ---------------------------------------------------------------- summary
{
  [ $quick = 1 ] && echo "(quick mode: tiny durations, the figures mean nothing)"
  awk '
    $1 == "BENCH" { k = $2; if (!(k in seen)) { seen[k] = 1; order[++n] = k }
                    row[k] = row[k] sprintf("  %-11s %12s %s\n", $3, $4, $5) }
    $1 == "FAILED" { $1 = ""; bad = bad "  (failed)" $0 "\n" }
    END {
      for (i = 1; i <= n; i++) printf "== %s\n%s", order[i], row[order[i]]
      if (bad != "") printf "== failures\n%s", bad
    }' "$results"
} >&2
say "results: $results"
exit $failed
