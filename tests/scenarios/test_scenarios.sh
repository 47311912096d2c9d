#!/usr/bin/env bash
# Every scenario in scenarios/ and scenarios/regressions/ (schedules that
# once found a bug), every variant: it must meet its expectations
# (including the violations some variants must show), and a second run with
# the same seed must give the same trace hash.
# usage: test_scenarios.sh WEIR
set -u
weir=$1
dir=$(cd "$(dirname "$0")/../../scenarios" && pwd)
failed=0
passed=0
for f in "$dir"/*.yaml "$dir"/regressions/*.yaml; do
  variants=$(sed -n '/^variants:/,$ s/^  - name: *//p' "$f")
  for v in ${variants:-""}; do
    label="${f#"$dir"/}"; label="${label%.yaml}${v:+ / $v}"
    out1=$("$weir" sim "$f" ${v:+--variant "$v"} 2>&1); rc1=$?
    out2=$("$weir" sim "$f" ${v:+--variant "$v"} 2>&1); rc2=$?
    h1=$(sed -n 's/^trace: .*hash //p' <<<"$out1")
    h2=$(sed -n 's/^trace: .*hash //p' <<<"$out2")
    if [ "$rc1" -ne 0 ] || [ "$rc2" -ne 0 ]; then
      failed=$((failed + 1))
      echo "FAIL $label: exit $rc1/$rc2"; grep -A8 "^verdict" <<<"$out1"
    elif [ -z "$h1" ] || [ "$h1" != "$h2" ]; then
      failed=$((failed + 1))
      echo "FAIL $label: trace hash $h1 then $h2"
    else
      passed=$((passed + 1))
      echo "ok   $label: PASS, trace hash $h1 twice ($(grep -o '[0-9.]* simulated s in [0-9.]* wall s ([0-9]*x)' <<<"$out1"))"
    fi
  done
done
echo "scenarios: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
