#!/usr/bin/env bash
# run.sh [--quick] [--eddy-bench PATH]: build the peers, run eddy's bench
# and every peer pinned to CPU 0 (one after another, never concurrently),
# and print a table per entry with ratios against eddy and the floor.
# --quick: tiny counts so CI keeps everything building and running; its
# figures mean nothing.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
eddy_bench=$root/build/bench/eddy_bench
quick=0
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1 ;;
    --eddy-bench) eddy_bench=$2; shift ;;
    *) echo "usage: $0 [--quick] [--eddy-bench PATH]" >&2; exit 2 ;;
  esac
  shift
done
out=$root/build/bench-peers
results=$root/build/bench-results.txt
mkdir -p "$out"
"$root/bench/peers/build.sh" "$out" || { echo "peers failed to build" >&2; exit 1; }
export EDDY_BENCH_QUICK=$quick GOMAXPROCS=1
pin="taskset -c 0"
command -v taskset >/dev/null || pin=""
: >"$results"
failed=0
run() { # label command...
  local label=$1
  shift
  echo "bench: running $label ..." >&2
  if ! timeout 900 $pin "$@" >>"$results" 2>"$out/$label.err"; then
    echo "bench: $label (failed; see $out/$label.err)" >&2
    echo "FAILED $label" >>"$results"
    failed=1
  fi
}
if [ -x "$eddy_bench" ]; then run eddy "$eddy_bench"; else echo "bench: no eddy bench at $eddy_bench" >&2; fi
run floor "$out/c_floor"
run boost "$out/boost_switch"
run go "$out/go_bench"
run tokio "$out/tokio_bench"
run node node "$root/bench/peers/node_bench.mjs"
run asyncio /usr/bin/python3 "$root/bench/peers/py_bench.py" asyncio
run uvloop /usr/bin/python3 "$root/bench/peers/py_bench.py" uvloop

# One table per entry: value, and the ratio that says how eddy compares
# (time and bytes: peer/eddy, so >1 means eddy is faster or smaller;
# ops/s: eddy/peer, >1 means eddy is faster).
awk '
  $1 == "BENCH" { v[$2, $3] = $4; u[$2] = $5; if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 }
                  if (!(($2, $3) in has)) { has[$2, $3] = 1; rts[$2] = rts[$2] " " $3 } }
  $1 == "BENCHSPREAD" { lo[$2, $3] = $4; hi[$2, $3] = $5 }
  END {
    for (i = 1; i <= n; i++) {
      e = order[i]; unit = u[e]
      printf "\n%-16s %-12s %14s %22s %12s\n", e, "runtime", "value (" unit ")", "spread", "vs eddy"
      m = split(rts[e], r, " ")
      for (k = 1; k <= m; k++) {
        rt = r[k]; val = v[e, rt]; ratio = "-"
        if ((e, "eddy") in v && rt != "eddy" && val > 0 && v[e, "eddy"] > 0) {
          if (unit == "ops/s") ratio = sprintf("%.2fx", v[e, "eddy"] / val)
          else ratio = sprintf("%.2fx", val / v[e, "eddy"])
          if (rt == "floor") ratio = ratio " (eddy/floor " sprintf("%.2f", v[e, "eddy"] / val) ")"
        }
        spread = ((e, rt) in lo) ? sprintf("%s..%s", lo[e, rt], hi[e, rt]) : ""
        printf "%-16s %-12s %14s %22s %12s\n", "", rt, val, spread, ratio
      }
    }
    print "\nratio: for ns and B, peer/eddy (above 1: eddy faster or smaller); for ops/s, eddy/peer"
  }' "$results"
grep '^FAILED' "$results" || true
exit $failed
