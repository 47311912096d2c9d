#!/usr/bin/env bash
# `weir chaos SCENARIO --real`: random faults against a loopback cluster of
# real `weir controller` / `weir broker` processes behind the TCP fault proxy.
# Two seeds of leader-crash for 20 s each must pass, with a kill -9 and at
# least one proxy fault really fired, acknowledged messages and no acks=all
# loss; the run folder has the records `weir report` reads; no process is
# left behind and the data dirs are gone. A bad fault kind is a usage error
# that lists the kinds.
# usage: test_chaos_real.sh WEIR
set -uo pipefail
weir=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
scenario=$root/scenarios/leader-crash.yaml
tmp=$(mktemp -d /tmp/weir_chaos_real_test.XXXXXX)
cleanup() {
  # nothing may survive the command; this is only a safety net
  pkill -9 -f -- "$tmp/" 2>/dev/null
  [ -n "${keep:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

# ---- a bad fault kind: exit 2, the kinds listed ----
"$weir" chaos "$scenario" --real --faults kill,meteor > "$tmp/bad.out" 2> "$tmp/bad.err"
rc=$?
[ $rc -eq 2 ] && ok "--faults kill,meteor exits 2" || bad "--faults kill,meteor exited $rc"
grep -q "unknown fault kind 'meteor'" "$tmp/bad.err" && grep -q "kill,delay,reset,blackhole,skew" "$tmp/bad.err" \
  && ok "the message names the bad kind and lists the kinds: $(head -1 "$tmp/bad.err")" \
  || bad "message: $(head -2 "$tmp/bad.err")"

# ---- two seeds against real processes ----
out=$tmp/out
start=$(date +%s)
"$weir" chaos "$scenario" --real --seeds 1..2 --duration 20s --out "$out" > "$tmp/chaos.out" 2> "$tmp/chaos.err"
rc=$?
took=$(( $(date +%s) - start ))
cat "$tmp/chaos.out"
[ $rc -eq 0 ] && ok "weir chaos --real --seeds 1..2 exits 0 (${took}s)" \
  || bad "weir chaos --real exited $rc: $(tail -5 "$tmp/chaos.err")"

index=$out/index.tsv
if [ -f "$index" ]; then
  head -1 "$index" | grep -q "^run	scenario	variant	seed	verdict	trace_hash	events	sim_s	wall_s	faults	failure$" \
    && ok "index.tsv has the report's header" || bad "index.tsv header: $(head -1 "$index")"
  rows=$(tail -n +2 "$index" | grep -c .)
  pass=$(tail -n +2 "$index" | awk -F'\t' '$5 == "PASS"' | grep -c .)
  [ "$rows" -eq 2 ] && [ "$pass" -eq 2 ] && ok "index.tsv: both runs PASS" \
    || bad "index.tsv: $rows rows, $pass PASS: $(tail -n +2 "$index" | cut -f1,5,11)"
else
  bad "no index.tsv in $out"
fi

kills=0; proxy=0; skews=0
for run in "$out"/leader-crash-real-s1 "$out"/leader-crash-real-s2; do
  name=$(basename "$run")
  ev=$run/events.tsv meta=$run/meta.tsv
  [ -f "$ev" ] && [ -f "$meta" ] && [ -f "$run/latency.tsv" ] || { bad "$name: records missing"; continue; }
  k=$(grep -cP '^\d+\tfault\tkill\tb\d\tstart\tkill -9 broker \d+ \(pid \d+\)' "$ev")
  ke=$(grep -cP '^\d+\tfault\tkill\tb\d\tend\trestarted broker' "$ev")
  [ "$k" -ge 1 ] && [ "$ke" -eq "$k" ] && ok "$name: $k kill -9, each restarted" || bad "$name: kills $k, restarts $ke"
  kills=$((kills + k))
  # a proxy fault acted on live connections
  p=$(grep -cP '^\d+\tfault\t(delay|reset|blackhole)\tb\d\tstart\t.*[1-9]\d* connection' "$ev")
  proxy=$((proxy + p))
  s=$(grep -cP '^\d+\tfault\tskew\tb\d\tstart\t' "$ev")
  if [ "$s" -ge 1 ]; then
    grep -q "under libfaketime (FAKETIME=" "$run"/b*.log && ok "$name: $s skew(s): a broker restarted under libfaketime" \
      || bad "$name: skew fired but no broker log shows libfaketime"
    skews=$((skews + s))
  fi
  acked=$(awk -F'\t' '$1 == "acked" {print $2}' "$meta")
  lost=$(awk -F'\t' '$1 == "lost_all" {print $2}' "$meta")
  dups=$(awk -F'\t' '$1 == "duplicated" {print $2}' "$meta")
  [ "${acked:-0}" -gt 0 ] && [ "${lost:-x}" = 0 ] && ok "$name: $acked acknowledged, 0 acks=all lost ($dups duplicated)" \
    || bad "$name: acked '${acked:-}', lost_all '${lost:-}'"
  grep -qP '^world\treal$' "$meta" && grep -qP '^replay\tweir chaos .*--real --seeds \d+\.\.\d+' "$meta" \
    && ok "$name: meta.tsv says world real and how to replay it" || bad "$name: meta.tsv: $(tr '\n' ' ' < "$meta")"
  proxied=$(awk -F'\t' '$1 == "proxied_bytes" {print $2}' "$meta")
  [ "${proxied:-0}" -gt 1000000 ] && ok "$name: the proxies relayed $proxied bytes" || bad "$name: proxied_bytes '${proxied:-}'"
  grep -qP '^writer\t\d+\t\d+\t[1-9]' "$run/latency.tsv" && ok "$name: latency histogram written" \
    || bad "$name: latency.tsv: $(head -2 "$run/latency.tsv")"
  grep -qP '\tnote\tfinal read: [1-9]\d* records' "$ev" && ok "$name: $(grep -oP 'final read: \d+ records' "$ev")" \
    || bad "$name: no final read in events.tsv"
  [ -f "$run/controller.log" ] && [ -f "$run/b1.log" ] && ok "$name: process logs kept" || bad "$name: process logs missing"
  [ -d "$run/data" ] && bad "$name: data dirs left behind (no --keep)" || ok "$name: data dirs removed"
  if grep -l -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$run"/*.log >/dev/null 2>&1; then
    bad "$name: sanitizer report in $(grep -l -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$run"/*.log | tr '\n' ' ')"
  fi
done
[ $kills -ge 2 ] && ok "kill -9 fired in both runs ($kills in all)" || bad "kills fired: $kills"
[ $proxy -ge 1 ] && ok "$proxy proxy fault(s) (delay, reset, blackhole) acted on live connections" \
  || bad "no proxy fault acted on a connection"

left=$(pgrep -f -- "$out/" | wc -l)
[ "$left" -eq 0 ] && ok "no controller or broker process left" || bad "$left process(es) left: $(pgrep -af -- "$out/" | cut -c1-120)"

if [ "$fails" -ne 0 ]; then
  keep=1; echo "$fails check(s) failed; records in $tmp"; exit 1
fi
echo "all chaos --real checks passed (${took}s for two seeds)"
