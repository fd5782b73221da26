#!/usr/bin/env bash
# run.sh: run every libFuzzer harness built in BINDIR (fuzz_<target>) for
# SECONDS each, one after the other (they share the machine), starting from
# the seed corpus in tests/fuzz/corpus/<target>. New inputs go to
# WORKDIR/corpus/<target>, never into the source tree; a crash, a leak, UB
# or a hang (-timeout=5 per input) fails the run and leaves the input as
# WORKDIR/<target>-crash-* (or -leak-, -timeout-, -oom-).
# FUZZ_SEED=N fixes libFuzzer's seed (CI does, so that a run explores the
# same inputs again; unset, each run explores new ones).
#   tests/fuzz/run.sh BINDIR WORKDIR SECONDS [target...]
set -uo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 BINDIR WORKDIR SECONDS [target...]" >&2
  exit 2
fi
bindir=$1 work=$2 secs=$3
shift 3
seeds=$(cd "$(dirname "$0")" && pwd)/corpus
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for b in "$bindir"/fuzz_*; do
    [ -x "$b" ] && targets+=("$(basename "$b" | sed 's/^fuzz_//')")
  done
fi
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz: no fuzz_* programs in $bindir (configure with CC=clang -DEDDY_FUZZ=ON)" >&2
  exit 1
fi
mkdir -p "$work"
fail=0
for t in "${targets[@]}"; do
  mkdir -p "$work/corpus/$t"
  log=$work/$t.log
  # the harnesses run a loop per input; leaks are checked by the harness
  # (eddy's allocation count) and by LeakSanitizer
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_stack_use_after_return=0} \
    timeout -k 10 $((secs + 120)) "$bindir/fuzz_$t" -max_total_time="$secs" -rss_limit_mb=1024 \
      -timeout=5 -print_final_stats=1 -artifact_prefix="$work/$t-" ${FUZZ_SEED:+-seed=$FUZZ_SEED} \
      "$work/corpus/$t" "$seeds/$t" >"$log" 2>&1
  rc=$?
  runs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1)
  if [ $rc -eq 0 ]; then
    echo "fuzz: $t: ${runs:-?} inputs in ${secs}s, ${cov:-cov: ?}, nothing found"
  else
    fail=1
    echo "fuzz: $t FAILED (exit $rc); the input is kept as:"
    ls "$work/$t"-* 2>/dev/null | sed 's/^/  /'
    echo "  replay it: $bindir/fuzz_$t <input>   (then add it to tests/fuzz/corpus/$t)"
    grep -vE '^#[0-9]+ +(NEW|REDUCE|pulse)|Uses: ' "$log" | tail -40
  fi
done
exit $fail
