#!/usr/bin/env bash
# The main job: build weir and run the default simulator suite with its report:
# the leader-crash scenario in full, a one-line verdict for every scenario and
# variant in scenarios/, then a seed sweep of leader-crash.
#   ./scripts/run.sh            # seeds 1..10
#   SEEDS=50 ./scripts/run.sh   # a longer sweep
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target weir >/dev/null

./build/weir sim scenarios/leader-crash.yaml
echo
echo "scenario suite"
printf '  %-44s %-7s %10s  %-16s %s\n' scenario verdict events "trace hash" "sim/wall"
failed=0
for f in scenarios/*.yaml; do
  variants=$(sed -n '/^variants:/,$ s/^  - name: *//p' "$f")
  for v in ${variants:-""}; do
    if out=$(./build/weir sim "$f" ${v:+--variant "$v"} 2>&1); then verdict=PASS; else verdict=FAIL; failed=$((failed + 1)); fi
    events=$(sed -n 's/^trace: \([0-9]*\) events, hash \(.*\)$/\1/p' <<<"$out")
    hash=$(sed -n 's/^trace: \([0-9]*\) events, hash \(.*\)$/\2/p' <<<"$out")
    ratio=$(grep -o '([0-9]*x)' <<<"$out" | head -1)
    printf '  %-44s %-7s %10s  %-16s %s\n' "$(basename "$f" .yaml)${v:+ / $v}" "$verdict" "$events" "$hash" "$ratio"
    [ "$verdict" = PASS ] || grep -A6 '^verdict' <<<"$out" | sed 's/^/      /'
  done
done
echo
seeds=${SEEDS:-10}
echo "seed sweep: leader-crash, seeds 1..$seeds"
printf '%6s  %-7s %10s  %s\n' seed verdict events "trace hash"
start=$(date +%s)
for seed in $(seq 1 "$seeds"); do
  if out=$(./build/weir sim scenarios/leader-crash.yaml --seed "$seed" 2>&1); then verdict=PASS; else verdict=FAIL; failed=$((failed + 1)); fi
  events=$(sed -n 's/^trace: \([0-9]*\) events, hash \(.*\)$/\1/p' <<<"$out")
  hash=$(sed -n 's/^trace: \([0-9]*\) events, hash \(.*\)$/\2/p' <<<"$out")
  elapsed=$(( $(date +%s) - start ))
  printf '%6s  %-7s %10s  %s   [%d/%d, %ds, ETA %ds]\n' "$seed" "$verdict" "$events" "$hash" "$seed" "$seeds" \
    "$elapsed" $(( elapsed * (seeds - seed) / seed ))
  [ "$verdict" = PASS ] || grep -A6 '^verdict' <<<"$out" | sed 's/^/      /'
done
echo "summary: $failed failed (scenario suite and $seeds seeds of leader-crash)"
[ "$failed" -eq 0 ]
