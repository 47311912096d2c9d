#!/usr/bin/env bash
# A replicated cluster on loopback: `weir controller` and three `weir broker`
# processes, a topic with replication factor 3 and min.insync.replicas 2. A
# librdkafka producer sends with acks=all while the leader of partition 0 is
# killed with kill -9 and later restarted; afterwards every acknowledged
# message is read back at its acknowledged offset.
# usage: test_cluster.sh WEIR ROUNDTRIP
set -uo pipefail
weir=$1
roundtrip=$2
tmp=$(mktemp -d /tmp/weir_cluster_test.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  [ -n "${keep:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

base=$((20000 + RANDOM % 30000))
cport=$base
"$weir" controller --override listeners=CONTROLLER://127.0.0.1:$cport \
  --override broker.session.timeout.ms=3000 > "$tmp/controller.log" 2>&1 &
pids[0]=$!

start_broker() { # start_broker ID
  local id=$1 port=$((base + $1))
  cat > "$tmp/b$id.properties" <<PROPS
node.id=$id
listeners=PLAINTEXT://127.0.0.1:$port
log.dirs=$tmp/b$id
controller.quorum.voters=1000@127.0.0.1:$cport
num.partitions=3
default.replication.factor=3
min.insync.replicas=2
broker.heartbeat.interval.ms=500
replica.lag.time.max.ms=4000
replica.fetch.wait.max.ms=100
PROPS
  "$weir" broker --config "$tmp/b$id.properties" >> "$tmp/b$id.log" 2>&1 &
  pids[$id]=$!
}
for id in 1 2 3; do start_broker $id; done
bs=127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2)),127.0.0.1:$((base + 3))

# wait for all three to register
for _ in $(seq 1 100); do
  n=$(grep -c "registered at" "$tmp/controller.log" 2>/dev/null || true)
  [ "${n:-0}" -ge 3 ] && break
  sleep 0.1
done
[ "${n:-0}" -ge 3 ] && ok "three brokers registered with the controller" || { bad "brokers did not register"; cat "$tmp/controller.log"; exit 1; }

# the topic is auto-created through the controller on first metadata
for _ in $(seq 1 100); do
  meta=$(kcat -L -b "$bs" -t events -m 5 2>&1)
  echo "$meta" | grep -q "3 partitions" && ! echo "$meta" | grep -q "Leader not available" && break
  sleep 0.2
done
echo "$meta" | grep -q "3 brokers:" && ok "kcat -L lists the three brokers" || bad "metadata: $meta"
leader=$(echo "$meta" | sed -n 's/.*partition 0, leader \([0-9]*\),.*/\1/p')
echo "$meta" | grep -q "partition 0, leader [0-9]*, replicas: [0-9],[0-9],[0-9], isrs: [0-9],[0-9],[0-9]" \
  && ok "partition 0: leader $leader, three replicas in the ISR" || bad "partition 0 metadata: $(echo "$meta" | grep 'partition 0')"

# produce with acks=all; kill -9 the leader of partition 0 in the middle
n=60000
RT_RATE=8000 "$roundtrip" "$bs" events $n produce > "$tmp/placed.txt" 2>"$tmp/produce.err" &
producer=$!
sleep 2
if [ -n "$leader" ] && [ "$leader" -ge 1 ] && [ "$leader" -le 3 ]; then
  kill -9 "${pids[$leader]}"
  ok "killed broker $leader (kill -9) while producing"
  sleep 3
  start_broker "$leader"
  ok "restarted broker $leader"
fi
wait $producer && ok "librdkafka: $(tail -1 "$tmp/produce.err")" || bad "produce: $(tail -3 "$tmp/produce.err")"
grep -q "leader $leader -> " "$tmp/controller.log" && ok "the controller elected a new leader: $(grep -m1 "leader $leader -> " "$tmp/controller.log" | sed 's/.*controller: //')" \
  || bad "no leader change in the controller log"

# every acknowledged message is there, at its acknowledged offset
sleep 2
if "$roundtrip" "$bs" events $n consume-dups-ok < "$tmp/placed.txt" 2>"$tmp/consume.err"; then
  ok "librdkafka: $(grep consumed "$tmp/consume.err") $(grep retried "$tmp/consume.err" || true)"
else
  bad "consume: $(tail -5 "$tmp/consume.err")"
fi
# the restarted broker caught up and rejoined the ISR
for _ in $(seq 1 50); do
  isr=$(kcat -L -b "$bs" -t events -m 5 2>&1 | grep "partition 0,")
  echo "$isr" | grep -q "isrs: [0-9],[0-9],[0-9]" && break
  sleep 0.2
done
echo "$isr" | grep -q "isrs: [0-9],[0-9],[0-9]" && ok "broker $leader rejoined the ISR: $isr" || bad "ISR after restart: $isr"

for id in 1 2 3; do kill -TERM "${pids[$id]}" 2>/dev/null; done
wait "${pids[1]}" "${pids[2]}" "${pids[3]}" 2>/dev/null
for id in 1 2 3; do
  "$weir" log verify "$tmp/b$id/events-0" >/dev/null 2>&1 && ok "broker $id: events-0 verifies" || bad "broker $id: events-0 damaged"
done
if grep -l -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$tmp"/*.log >/dev/null 2>&1; then
  bad "sanitizer report in $(grep -l -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$tmp"/*.log | tr '\n' ' ')"
fi
if [ "$fails" -ne 0 ]; then
  keep=1; echo "$fails check(s) failed; logs in $tmp"; exit 1
fi
echo "all cluster checks passed"
