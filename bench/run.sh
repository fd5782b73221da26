#!/usr/bin/env bash
# run.sh [--quick] [--eddy-bench PATH] [--reps N] [--report-dir DIR]: the
# whole benchmark suite in one command (`make bench` calls it).
#   1. installs what is missing (gnuplot-nox, valgrind; the peers' toolchains
#      through bench/peers/build.sh) and builds the peers;
#   2. runs eddy's bench and every peer N times (3; 1 with --quick), one
#      program at a time, each pinned to CPU 0, repetition after repetition
#      (so a burst of load on the machine hits every runtime alike);
#   3. counts instructions per operation of the micro entries under
#      `valgrind --tool=callgrind` (eddy, the C floor, Boost);
#   4. runs bench/net/run.sh, bench/redis/run.sh and bench/fanout/run.sh when
#      present (each pins its own server and load and repeats itself);
#   5. bench/report.py writes the page with its tables and plots and prints
#      the tables here.
#   --quick            tiny counts (EDDY_BENCH_QUICK=1) and one repetition,
#                      for CI: everything builds and runs, the figures mean
#                      nothing; the page goes to build/bench-quick/, never
#                      to docs/.
#   --eddy-bench PATH  eddy's bench binary (default build/bench/eddy_bench);
#                      if it is missing, the tables show the peers alone.
#   --reps N           repetitions of every program (default 3, quick 1).
#   --report-dir DIR   where benchmarks.md and img/ go (default docs/, quick
#                      build/bench-quick/).
# Results: every BENCH/BENCHSPREAD line of every run, with META/SECTION/
# FAILED/NOTRUN lines around them, in build/bench-results.txt (quick:
# build/bench-quick/results.txt); each program's output in
# build/bench-peers/<label>.<rep>.out|err. A program that fails or times out
# shows as (failed) and the rest goes on. Exit status: 0 if every program
# ran, 1 otherwise.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
eddy_bench=$root/build/bench/eddy_bench
quick=0
reps=
report_dir=
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1 ;;
    --eddy-bench) eddy_bench=${2:?--eddy-bench needs a path}; shift ;;
    --reps) reps=${2:?--reps needs a number}; shift ;;
    --report-dir) report_dir=${2:?--report-dir needs a directory}; shift ;;
    -h|--help) sed -n '2,32s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--quick] [--eddy-bench PATH] [--reps N] [--report-dir DIR]" >&2; exit 2 ;;
  esac
  shift
done
case $reps in '') reps=$([ $quick = 1 ] && echo 1 || echo 3) ;; *[!0-9]*|0) echo "bench: --reps wants a positive number" >&2; exit 2 ;; esac
case $eddy_bench in /*) ;; *) eddy_bench=$PWD/$eddy_bench ;; esac
out=$root/build/bench-peers
if [ $quick = 1 ]; then
  results=$root/build/bench-quick/results.txt
  report_dir=${report_dir:-$root/build/bench-quick}
  mode=quick
else
  results=$root/build/bench-results.txt
  report_dir=${report_dir:-$root/docs}
  mode=full
fi
mkdir -p "$out" "$(dirname "$results")"
T0=$SECONDS
say() { echo "bench: $*" >&2; }
mmss() { printf '%d:%02d' $(($1 / 60)) $(($1 % 60)); }

# ---- 1. what the suite needs: plots (gnuplot-nox: a few MB, against
# matplotlib's numpy and friends), instruction counts (valgrind), and the
# peers' toolchains (build.sh)
need=()
command -v gnuplot >/dev/null 2>&1 || need+=(gnuplot-nox)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
command -v valgrind >/dev/null 2>&1 || need+=(valgrind)
command -v taskset >/dev/null 2>&1 || need+=(util-linux)
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
    say "apt-get install ${need[*]} failed; going on without"
fi
"$root/bench/peers/build.sh" "$out" || say "some peers did not build; they will show as (failed)"

export EDDY_BENCH_QUICK=$quick GOMAXPROCS=1
pin=(taskset -c 0)
if ! taskset -c 0 true 2>/dev/null; then
  say "taskset unavailable; running unpinned"
  pin=()
fi
limit=600
[ $quick = 1 ] && limit=60

# ---- the results file starts with what the page's machine section needs
meta() { printf 'META %s %s\n' "$1" "${2:-unknown}" >>"$results"; }
ver() { "$@" 2>&1 | head -1; }
: >"$results"
meta mode "$mode"
meta reps "$reps"
meta date "$(date -u '+%Y-%m-%d %H:%M UTC')"
meta cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
meta cores "$(nproc)"
meta memory "$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
meta kernel "$(uname -sr)"
meta os "$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
meta load_start "$(cut -d' ' -f1-3 /proc/loadavg)"
meta commit "$(git -C "$root" rev-parse --short HEAD 2>/dev/null)$(git -C "$root" diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')"
cache=$(dirname "$(dirname "$eddy_bench")")/CMakeCache.txt
meta eddy_build "$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$cache" 2>/dev/null) build, $(
  "$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$cache" 2>/dev/null)" --version 2>/dev/null | head -1)"
meta gcc "$(ver gcc --version)"
meta clang "$(ver clang --version)"
meta g++ "$(ver g++ --version)"
meta boost "$(sed -n 's/^#define BOOST_LIB_VERSION "\(.*\)"/\1/p' /usr/include/boost/version.hpp 2>/dev/null | tr _ .)"
meta go "$(ver go version)"
meta rustc "$(ver rustc --version)"
meta tokio "$(basename "$(ls -d /usr/share/cargo/registry/tokio-1.* 2>/dev/null | sort -V | tail -1)" 2>/dev/null)"
meta node "$(ver node --version)"
meta python "$(ver /usr/bin/python3 --version)"
meta uvloop "$(/usr/bin/python3 -c 'import uvloop; print(uvloop.__version__)' 2>/dev/null)"
meta valgrind "$(ver valgrind --version)"

# ---- 2. the timed programs. label and command of each; a program's
# expected duration (for the ETA) is its last run's, else a guess.
labels=(eddy floor boost go tokio node asyncio uvloop)
declare -A cmd=(
  [eddy]="$eddy_bench"
  [floor]="$out/c_floor"
  [boost]="$out/boost_switch"
  [go]="$out/go_bench"
  [tokio]="$out/tokio_bench"
  [node]="node $root/bench/peers/node_bench.mjs"
  [asyncio]="/usr/bin/python3 $root/bench/peers/py_bench.py asyncio"
  [uvloop]="/usr/bin/python3 $root/bench/peers/py_bench.py uvloop"
)
declare -A guess=([eddy]=40 [floor]=1 [boost]=2 [go]=20 [tokio]=20 [node]=40 [asyncio]=60 [uvloop]=40
  [callgrind]=10 [net]=120 [redis]=200 [fanout]=120)
if [ $quick = 1 ]; then for k in "${!guess[@]}"; do guess[$k]=2; done; guess[net]=30 guess[redis]=30 guess[fanout]=30; fi
durations=$out/durations-$mode.txt
declare -A took
if [ -f "$durations" ]; then
  while read -r k v; do [ -n "$k" ] && guess[$k]=$v; done <"$durations"
fi
extras=()
for s in net redis fanout; do [ -x "$root/bench/$s/run.sh" ] && extras+=("$s"); done
# the plan, in order: rep-major over the programs, then callgrind, then extras
plan=()
for ((r = 1; r <= reps; r++)); do for l in "${labels[@]}"; do plan+=("$l"); done; done
plan+=(callgrind "${extras[@]}")
step=0
# eta: seconds still expected after the current step
eta() {
  local s=0 i
  for ((i = step; i < ${#plan[@]}; i++)); do
    local k=${plan[$i]}
    s=$((s + ${took[$k]:-${guess[$k]:-30}}))
  done
  echo $s
}
progress() { # label what seconds
  say "[$step/${#plan[@]}] $1 $2 in ${3}s  (elapsed $(mmss $((SECONDS - T0))), about $(mmss "$(eta)") to go)"
}

# bounded SECONDS command...: run under timeout, remembering its pid, so
# that an interrupted run.sh stops the program it started (timeout forwards
# the signal to it) instead of leaving it running in its own process group
child=
trap '[ -n "$child" ] && kill -TERM "$child" 2>/dev/null; exit 130' INT TERM
bounded() {
  timeout "$@" &
  child=$!
  wait "$child"
  local rc=$?
  child=
  return $rc
}

failed=0
run_prog() { # label rep
  local label=$1 rep=$2 t0=$SECONDS
  read -r -a argv <<<"${cmd[$label]}"
  step=$((step + 1))
  local o=$out/$label.$rep
  if ! command -v "${argv[0]}" >/dev/null 2>&1; then
    say "[$step/${#plan[@]}] $label: ${argv[0]} not found (failed)"
    echo "FAILED $label not found: ${argv[0]}" >>"$results"
    failed=1
    return
  fi
  say "[$step/${#plan[@]}] $label (repetition $rep/$reps) ..."
  # A program built here runs from a fresh copy of its file in each
  # repetition: identical copies of one binary differ by up to 7 % on the
  # micro entries here (the page cache puts each copy's code at other
  # physical addresses), so the median over repetitions also spans that.
  if [ "${argv[0]}" = "$eddy_bench" ] || [ "${argv[0]#"$out"/}" != "${argv[0]}" ]; then
    local copy=$out/copies/$label.$rep
    if mkdir -p "$copy" && cp "${argv[0]}" "$copy/"; then
      argv[0]=$copy/$(basename "${argv[0]}")
    else
      say "could not copy ${argv[0]} (disk full?): this repetition runs the original"
    fi
  fi
  local rc=0
  bounded "$limit" "${pin[@]}" "${argv[@]}" >"$o.out" 2>"$o.err" || rc=$?
  rm -rf "$out/copies/$label.$rep"
  grep -E '^BENCH(SPREAD)? ' "$o.out" >>"$results"
  took[$label]=$((SECONDS - t0))
  if [ $rc = 0 ]; then
    progress "$label" "done" "${took[$label]}"
  else
    local why="exit $rc"
    [ $rc = 124 ] && why="timed out after ${limit}s"
    progress "$label" "FAILED ($why, see $o.err)" "${took[$label]}"
    echo "FAILED $label $why" >>"$results"
    failed=1
  fi
}

echo "SECTION micro" >>"$results"
for ((r = 1; r <= reps; r++)); do
  for l in "${labels[@]}"; do
    if [ "$l" = eddy ] && [ ! -x "$eddy_bench" ]; then
      step=$((step + 1))
      say "[$step/${#plan[@]}] no eddy bench binary at $eddy_bench: skipping eddy (build it, or pass --eddy-bench PATH)"
      [ $r = 1 ] && echo "MISSING eddy" >>"$results"
      continue
    fi
    run_prog "$l" "$r"
  done
done

# ---- 3. instructions per operation under callgrind: each entry alone
# (EDDY_BENCH_ONLY) at two counts; the difference in instructions over the
# difference in operations (BENCHOPS) leaves setup and teardown out.
# Deterministic, so one pass. Go, Tokio, Node and Python are not run: their
# runtimes' threads, JIT and collectors make the counts neither comparable
# nor cheap under valgrind.
step=$((step + 1))
t0=$SECONDS
micro=(switch switch_fp yield pingpong agen iter_plain with_lock spawn_join timer)
n1=20000 n2=40000
cg_count() { # entry count command...: prints "instructions operations"
  local entry=$1 n=$2
  shift 2
  local log ops ir
  log=$(EDDY_BENCH_ONLY=$entry EDDY_BENCH_COUNT=$n timeout 120 valgrind --tool=callgrind \
    --callgrind-out-file=/dev/null "$@" 2>&1 >"$out/callgrind.stdout") || return 1
  ir=$(echo "$log" | sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
  ops=$(awk -v e="$entry" '$1 == "BENCHOPS" && $2 == e { print $4 }' "$out/callgrind.stdout" | tail -1)
  [ -n "$ir" ] && [ -n "$ops" ] && echo "$ir $ops"
}
echo "SECTION callgrind" >>"$results"
if command -v valgrind >/dev/null 2>&1; then
  for rt in eddy floor boost; do
    case $rt in
      eddy) [ -x "$eddy_bench" ] || continue; prog=("$eddy_bench") ;;
      floor) prog=("$out/c_floor") ;;
      boost) prog=("$out/boost_switch") ;;
    esac
    [ -x "${prog[0]}" ] || { echo "FAILED callgrind-$rt not built" >>"$results"; continue; }
    for e in "${micro[@]}"; do
      [ $rt != eddy ] && [ "$e" != switch ] && continue
      if a=$(cg_count "$e" $n1 "${prog[@]}") && b=$(cg_count "$e" $n2 "${prog[@]}"); then
        read -r i1 o1 <<<"$a"
        read -r i2 o2 <<<"$b"
        awk -v e="$e" -v rt="$rt" -v di=$((i2 - i1)) -v dn=$((o2 - o1)) \
          'BEGIN { if (dn > 0) printf "BENCH %s_instr %s %.1f instr\n", e, rt, di / dn }' >>"$results"
      else
        say "callgrind: $e under $rt failed"
        echo "FAILED callgrind-$rt $e" >>"$results"
        failed=1
      fi
    done
  done
else
  echo "FAILED callgrind valgrind not installed" >>"$results"
  failed=1
fi
took[callgrind]=$((SECONDS - t0))
progress callgrind "instruction counts done" "${took[callgrind]}"

# ---- 4. the other families, when their scripts are there: they pin, repeat
# and stop their own servers; only their BENCH lines are kept
for s in net redis fanout; do
  echo "SECTION $s" >>"$results"
  script=$root/bench/$s/run.sh
  if [ ! -x "$script" ]; then
    echo "NOTRUN $s bench/$s/run.sh is not there" >>"$results"
    continue
  fi
  step=$((step + 1))
  t0=$SECONDS
  flag=(); [ $quick = 1 ] && flag=(--quick)
  # each family uses the CMake build that holds the eddy bench binary
  ebuild=$(cd "$(dirname "$eddy_bench")/.." 2>/dev/null && pwd)
  if [ -n "$ebuild" ]; then
    case $s in
      net) flag+=(--eddy-build "$ebuild") ;;
      fanout) flag+=(--build "$ebuild") ;;
      redis) [ -x "$ebuild/examples/redis-lite/redis-lite" ] &&
        flag+=(--redis-lite "$ebuild/examples/redis-lite/redis-lite") ;;
    esac
  fi
  say "[$step/${#plan[@]}] $s: bench/$s/run.sh ${flag[*]} ..."
  rc=0
  bounded $((limit * 3)) "$script" "${flag[@]}" >"$out/$s.out" 2> >(tee "$out/$s.err" | sed "s/^/  $s: /" >&2) || rc=$?
  grep -E '^BENCH(SPREAD|ROUNDS)? ' "$out/$s.out" >>"$results"
  took[$s]=$((SECONDS - t0))
  if [ $rc = 0 ]; then
    progress "$s" done "${took[$s]}"
  else
    progress "$s" "FAILED (exit $rc, see $out/$s.err)" "${took[$s]}"
    echo "FAILED $s exit $rc" >>"$results"
    failed=1
  fi
done

meta load_end "$(cut -d' ' -f1-3 /proc/loadavg)"
meta duration "$((SECONDS - T0))"
for k in "${!took[@]}"; do echo "$k ${took[$k]}"; done >"$durations"

# ---- 5. the page, its plots, and the tables on stdout
/usr/bin/python3 "$root/bench/report.py" "$results" --out "$report_dir" || failed=1
say "results: $results; page: $report_dir/benchmarks.md; total $(mmss $((SECONDS - T0)))"
exit $failed
