#!/usr/bin/env bash
# The main job: build weir and run the default simulator suite with its report.
#   ./scripts/run.sh            # full report for seed 1, then a sweep of seeds 1..10
#   SEEDS=50 ./scripts/run.sh   # a longer sweep
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target weir >/dev/null

./build/weir sim demo --seed 1
echo
seeds=${SEEDS:-10}
echo "seed sweep: demo, seeds 1..$seeds"
printf '%6s  %-7s %8s  %s\n' seed verdict events "trace hash"
failed=0
for seed in $(seq 1 "$seeds"); do
  if out=$(./build/weir sim demo --seed "$seed"); then verdict=PASS; else verdict=FAIL; failed=$((failed + 1)); fi
  events=$(sed -n 's/^trace: \([0-9]*\) events, hash \(.*\)$/\1/p' <<<"$out")
  hash=$(sed -n 's/^trace: \([0-9]*\) events, hash \(.*\)$/\2/p' <<<"$out")
  printf '%6s  %-7s %8s  %s\n' "$seed" "$verdict" "$events" "$hash"
done
echo "summary: $((seeds - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
