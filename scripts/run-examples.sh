#!/usr/bin/env bash
# run-examples.sh BUILD_DIR: the main job for now: run each self-contained
# example (those that need no input or peer) and show its output.
set -euo pipefail
dir=${1:-build}
for name in hello_tasks deadlines seed_async_context seed_async_context_error \
            seed_async_iterator seed_producer_consumer; do
  ex="$dir/examples/$name"
  [ -x "$ex" ] || continue
  echo "=== examples/$name"
  "$ex" || echo "(exit status $?)"
done
