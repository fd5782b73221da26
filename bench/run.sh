#!/usr/bin/env bash
# run.sh [--quick] [--eddy-bench PATH]: build the peers (bench/peers/build.sh),
# run eddy's bench and every peer pinned to CPU 0, one after another, collect
# their `BENCH <entry> <runtime> <value> <unit>` lines in
# build/bench-results.txt and print one table per entry with the ratio
# against eddy and against the floor.
#   --quick            tiny counts (EDDY_BENCH_QUICK=1), for CI: the figures
#                      mean nothing, the point is that everything still runs.
#   --eddy-bench PATH  eddy's bench binary (default build/bench/eddy_bench);
#                      if it is missing, the tables show the peers alone.
# A peer that fails to build or to run is shown as (failed); the rest goes
# on. Exit status: 0 if every program ran, 1 otherwise.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
eddy_bench=$root/build/bench/eddy_bench
quick=0
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1 ;;
    --eddy-bench) eddy_bench=${2:?--eddy-bench needs a path}; shift ;;
    -h|--help) sed -n '2,12s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--quick] [--eddy-bench PATH]" >&2; exit 2 ;;
  esac
  shift
done
out=$root/build/bench-peers
results=$root/build/bench-results.txt
mkdir -p "$out"
"$root/bench/peers/build.sh" "$out" || echo "bench: some peers did not build; they will show as (failed)" >&2

export EDDY_BENCH_QUICK=$quick GOMAXPROCS=1
pin=(taskset -c 0)
if ! taskset -c 0 true 2>/dev/null; then
  echo "bench: taskset unavailable; running unpinned" >&2
  pin=()
fi
limit=600
[ $quick = 1 ] && limit=60
: >"$results"
failed=0
run() { # label command...: run one program, append its BENCH lines
  local label=$1 t0=$SECONDS
  shift
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "bench: $label: $1 not found (failed)" >&2
    echo "FAILED $label" >>"$results"
    failed=1
    return
  fi
  echo "bench: running $label ..." >&2
  if timeout "$limit" "${pin[@]}" "$@" >"$out/$label.out" 2>"$out/$label.err"; then
    echo "bench: $label done in $((SECONDS - t0)) s" >&2
  else
    echo "bench: $label failed (exit $?); see $out/$label.err" >&2
    echo "FAILED $label" >>"$results"
    failed=1
  fi
  grep -E '^BENCH(SPREAD)? ' "$out/$label.out" >>"$results"
}
if [ -x "$eddy_bench" ]; then
  run eddy "$eddy_bench"
else
  echo "bench: no eddy bench binary at $eddy_bench: skipping eddy (build it, or pass --eddy-bench PATH)" >&2
  echo "MISSING eddy" >>"$results"
fi
run floor "$out/c_floor"
run boost "$out/boost_switch"
run go "$out/go_bench"
run tokio "$out/tokio_bench"
run node node "$root/bench/peers/node_bench.mjs"
run asyncio /usr/bin/python3 "$root/bench/peers/py_bench.py" asyncio
run uvloop /usr/bin/python3 "$root/bench/peers/py_bench.py" uvloop

# One table per entry. Ratios: for ns and B, peer/eddy (above 1: eddy is that
# many times faster or smaller); for ops/s, eddy/peer (above 1: eddy is
# faster). "vs floor" is the same ratio against the C floor (switch only).
# Expected runtimes per entry, so a failed or missing program shows up; the
# program that prints each runtime (node-sync comes from node, python-sync
# from asyncio). Entries that only eddy prints follow at the end.
awk -v quick="$quick" '
  BEGIN {
    split("switch yield spawn_join idle_mem timer pingpong agen iter_plain with_lock", order, " ")
    for (i in order) known[order[i]] = 1
    want["switch"] = "eddy floor boost"
    want["yield"] = want["spawn_join"] = want["idle_mem"] = want["timer"] = want["pingpong"] = "eddy go tokio node asyncio uvloop"
    want["agen"] = "eddy go tokio node node-sync asyncio uvloop python-sync"
    want["iter_plain"] = "eddy node-sync python-sync"
    want["with_lock"] = "eddy go tokio asyncio uvloop"
    prog["node-sync"] = "node"; prog["python-sync"] = "asyncio"
  }
  $1 == "FAILED" { bad[$2] = "(failed)"; next }
  $1 == "MISSING" { bad[$2] = "(not built)"; next }
  $1 == "BENCH" {
    v[$2, $3] = $4; u[$2] = $5
    if (!(($2, $3) in has)) { has[$2, $3] = 1; rts[$2] = rts[$2] " " $3 }
    if (!($2 in known) && !($2 in extra)) { extra[$2] = 1; order[length(order) + 1] = $2 }
    next
  }
  $1 == "BENCHSPREAD" { spread[$2, $3] = num($4) ".." num($5) }
  function num(x) { return x >= 1000 ? sprintf("%.0f", x) : sprintf("%.2f", x) }
  function ratio(val, ref, unit) {
    if (val == "" || ref == "" || val <= 0 || ref <= 0) return "-"
    if (unit == "ns" || unit == "B") return sprintf("%.2fx", val / ref)
    if (unit == "ops/s") return sprintf("%.2fx", ref / val)
    return "-"
  }
  END {
    if (quick) print "(quick mode: tiny counts, the figures mean nothing)"
    for (i = 1; i <= length(order); i++) {
      e = order[i]
      list = want[e] " " rts[e]
      m = split(list, r, " ")
      unit = u[e]
      if (unit == "" && want[e] == "") continue
      printf "\n== %s (%s)\n", e, unit == "" ? "no figures" : unit
      printf "  %-12s %14s %-6s %24s %10s %10s\n", "runtime", "value", "unit", "spread (min..max)", "vs eddy", "vs floor"
      delete shown
      for (k = 1; k <= m; k++) {
        rt = r[k]
        if (rt in shown) continue
        shown[rt] = 1
        if ((e, rt) in v) {
          val = v[e, rt]
          re = ratio(val, v[e, "eddy"], unit)
          rf = (e, "floor") in v ? (rt == "floor" ? "1.00x" : sprintf("%.2f", val / v[e, "floor"]) "x") : "-"
          if (unit != "ns" && unit != "B") rf = "-"
          printf "  %-12s %14s %-6s %24s %10s %10s\n", rt, num(val), unit, spread[e, rt], re, rf
        } else {
          p = (rt in prog) ? prog[rt] : rt
          why = (p in bad) ? bad[p] : "(no output)"
          printf "  %-12s %14s\n", rt, why
        }
      }
    }
    print "\nvs eddy: ns and B: peer/eddy (above 1 = eddy faster/smaller); ops/s: eddy/peer (above 1 = eddy faster)"
    print "vs floor: value/floor (how far above the bare register switch)"
  }' "$results"
echo "results: $results" >&2
exit $failed
