#!/usr/bin/env bash
# The main job: build weir and run the default simulator suite with its
# reports: the leader-crash scenario in full, a verdict line for every
# scenario and variant in scenarios/, then a chaos sweep (random fault
# schedules of every kind over scenarios/chaos-durable.yaml) with progress,
# a summary and shrunk failures; then the HTML reports of both.
#   ./scripts/run.sh            # chaos seeds 1..20
#   SEEDS=200 ./scripts/run.sh  # a longer sweep
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target weir >/dev/null

suite=reports/out/suite
rm -rf "$suite"
first=$(./build/weir sim scenarios/leader-crash.yaml --out "$suite" 2>&1) || true
echo "$first"
echo
echo "scenario suite"
printf '  %-44s %-7s %10s  %-16s %s\n' scenario verdict events "trace hash" "sim/wall"
failed=0
for f in scenarios/*.yaml scenarios/regressions/*.yaml; do
  variants=$(sed -n '/^variants:/,$ s/^  - name: *//p' "$f")
  for v in ${variants:-""}; do
    if [ "$f" = scenarios/leader-crash.yaml ] && [ -z "$v" ]; then
      out=$first # already run, above
    else
      out=$(./build/weir sim "$f" ${v:+--variant "$v"} --out "$suite" 2>&1) || true
    fi
    verdict=$(sed -n 's/^verdict: //p' <<<"$out")
    verdict=${verdict:-ERROR}
    [ "$verdict" = PASS ] || failed=$((failed + 1))
    events=$(sed -n 's/^trace: \([0-9]*\) events, hash \(.*\)$/\1/p' <<<"$out")
    hash=$(sed -n 's/^trace: \([0-9]*\) events, hash \(.*\)$/\2/p' <<<"$out")
    ratio=$(grep -o '([0-9]*x)' <<<"$out" | head -1 || true)
    label=${f#scenarios/}
    printf '  %-44s %-7s %10s  %-16s %s\n' "${label%.yaml}${v:+ / $v}" "$verdict" "$events" "$hash" "$ratio"
    [ "$verdict" = PASS ] || grep -A6 '^verdict' <<<"$out" | sed 's/^/      /'
  done
done
echo
seeds=${SEEDS:-20}
chaos=reports/out/chaos
rm -rf "$chaos"
./build/weir chaos scenarios/chaos-durable.yaml --seeds "1..$seeds" -j "$(nproc)" --out "$chaos" \
  --faults crash,torn,clean_shutdown,pause,partition,isolate,one_way,bridge,reset,latency,bandwidth,clock,fsync_error,disk_full,slow_disk \
  || failed=$((failed + 1))
echo
coverage=()
[ -f reports/out/coverage/weir.info ] && coverage=(--coverage reports/out/coverage/weir.info)
./build/weir report "$suite" "${coverage[@]}" | tail -1
./build/weir report "$chaos" "${coverage[@]}" | tail -1
echo "reports: $suite/report.html, $chaos/report.html"
echo "summary: $failed failed (the scenario suite, and the chaos sweep of $seeds seeds)"
[ "$failed" -eq 0 ]
