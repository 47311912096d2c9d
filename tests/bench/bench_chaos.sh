#!/usr/bin/env bash
# The chaos engine's two benchmarks.
#
#   bash tests/bench/bench_chaos.sh WEIR [WEIR_PLANTED]
#
# 1. Seeds per minute: `weir chaos scenarios/leader-crash.yaml` over
#    CHAOS_BENCH_SEEDS seeds (default 40) with every fault kind, as many at
#    once as there are cores; beside it, the same-run baseline: the same
#    number of plain `weir sim scenarios/leader-crash.yaml --seed N` runs
#    (its own one-crash schedule), as many at once. Aim: >= 100 seeds/min.
# 2. Shrinking a planted bug (WEIR_PLANTED: weir built with
#    -DWEIR_PLANTED_BUG=ON, followers that never truncate): 30-fault schedules
#    of scenarios/chaos-durable.yaml (the chaos gate's fault kinds: all but
#    bit_flip, which breaks replicas by itself) until one fails, then the
#    shrinker; the
#    figure is the shrink time and the faults left (aim: <= 3), beside the
#    time of one run of the schedule. The shrunk file is replayed with the
#    printed command and must fail again with the same trace hash.
set -euo pipefail
weir=$(realpath "$1")
planted=${2:+$(realpath "$2")}
cd "$(dirname "$0")/../.."
jobs=$(nproc)
seeds=${CHAOS_BENCH_SEEDS:-40}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

now() { date +%s.%N; }

echo "seeds per minute, leader-crash (60 simulated s, 10,000 msg/s), $jobs at a time, $seeds seeds"
t0=$(now)
"$weir" chaos scenarios/leader-crash.yaml --seeds "1..$seeds" -j "$jobs" --shrink 0 --out "$tmp/chaos" \
  > "$tmp/chaos.log" 2>&1 || true
t1=$(now)
seq 1 "$seeds" | xargs -P "$jobs" -I{} sh -c "\"$weir\" sim scenarios/leader-crash.yaml --seed {} > /dev/null 2>&1 || true"
t2=$(now)
awk -v s="$seeds" -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN {
  chaos = s / (b - a) * 60; plain = s / (c - b) * 60;
  printf "  chaos, every fault kind   %7.1f seeds/min  (%.1f s)\n", chaos, b - a;
  printf "  baseline, plain runs      %7.1f seeds/min  (%.1f s)\n", plain, c - b;
  printf "  ratio %.2f; aim >= 100 seeds/min: %s\n", chaos / plain, (chaos >= 100 ? "met" : "not met") }'
grep -E "^  [0-9]+ seeds," "$tmp/chaos.log" | sed 's/^/  /'

[ -n "$planted" ] || { echo "shrinking: skipped (no planted-bug build given)"; exit 0; }
echo
echo "shrinking a planted bug (followers never truncate), 30-fault schedules of chaos-durable"
kinds=crash,torn,clean_shutdown,pause,partition,isolate,one_way,bridge,reset,latency,bandwidth,clock,fsync_error,disk_full,slow_disk
found=""
for s in $(seq 1 20); do
  if ! "$planted" chaos scenarios/chaos-durable.yaml --seeds "$s" --min-faults 30 --max-faults 30 \
       --faults "$kinds" -j "$jobs" --shrink 0 --out "$tmp/find" > /dev/null 2>&1; then
    found=$s
    break
  fi
done
[ -n "$found" ] || { echo "  no failing seed in 1..20: the planted bug was not caught"; exit 1; }
t0=$(now)
"$planted" sim "$tmp/find/chaos-durable-s$found/scenario.yaml" > /dev/null 2>&1 || true
t1=$(now)
"$planted" chaos scenarios/chaos-durable.yaml --seeds "$found" --min-faults 30 --max-faults 30 -j "$jobs" \
  --faults "$kinds" --shrink 1 --out "$tmp/shrink" > "$tmp/shrink.log" 2>&1 || true
t2=$(now)
line=$(grep -E "^  [0-9]+ -> [0-9]+ faults in" "$tmp/shrink.log" || true)
[ -n "$line" ] || { echo "  the shrinker did not run"; cat "$tmp/shrink.log"; exit 1; }
left=$(sed -E 's/^  [0-9]+ -> ([0-9]+) faults.*/\1/' <<<"$line")
replay=$(sed -n 's/^  replay: //p' "$tmp/shrink.log" | head -1)
hash=$(sed -n 's/^  trace hash //p' "$tmp/shrink.log" | head -1)
awk -v a="$t0" -v b="$t1" -v c="$t2" -v seed="$found" 'BEGIN {
  printf "  seed %s fails; shrinking took %.1f s, one run of the schedule %.1f s (ratio %.0f)\n",
         seed, c - b, b - a, (c - b) / (b - a) }'
echo "  $line" | sed 's/^  *//; s/^/  /'
echo "  aim <= 3 faults: $([ "$left" -le 3 ] && echo met || echo "not met")"
out=$(${replay/weir/$planted} 2>/dev/null || true)
again=$(sed -n 's/^trace: [0-9]* events, hash //p' <<<"$out")
if grep -q "^verdict: FAIL" <<<"$out" && [ "$again" = "$hash" ]; then
  echo "  replayed from the printed command: FAIL again, same trace hash $hash"
else
  echo "  replay did not reproduce the failure (hash $again, expected $hash)"
  exit 1
fi
