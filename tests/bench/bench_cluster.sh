#!/usr/bin/env bash
# Produce throughput of one librdkafka producer into a replicated loopback
# cluster (`weir controller` + 3 `weir broker`, a topic with RF 3 and min ISR
# 2): acks=all beside acks=1 in the same run (the issue's aim: >= 0.6).
# usage: bench_cluster.sh WEIR ROUNDTRIP [MESSAGES]
set -uo pipefail
weir=$1
roundtrip=$2
n=${3:-${WEIR_BENCH_CLUSTER_MESSAGES:-300000}}
tmp=$(mktemp -d /tmp/weir_bench_cluster.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$tmp"' EXIT
base=$((20000 + RANDOM % 30000))
"$weir" controller --override listeners=CONTROLLER://127.0.0.1:$base > "$tmp/controller.log" 2>&1 &
pids+=($!)
for id in 1 2 3; do
  "$weir" broker --log-level warn --override node.id=$id --override listeners=PLAINTEXT://127.0.0.1:$((base + id)) \
    --override log.dirs="$tmp/b$id" --override controller.quorum.voters=1000@127.0.0.1:$base \
    --override num.partitions=3 --override default.replication.factor=3 --override min.insync.replicas=2 \
    --override replica.fetch.wait.max.ms=10 > "$tmp/b$id.log" 2>&1 &
  pids+=($!)
done
bs=127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2)),127.0.0.1:$((base + 3))
for _ in $(seq 1 100); do
  [ "$(grep -c 'registered at' "$tmp/controller.log")" -ge 3 ] && break
  sleep 0.1
done
run() { # run TOPIC ACKS -> messages/s
  local t0 t1
  t0=$(date +%s.%N)
  RT_ACKS=$2 "$roundtrip" "$bs" "$1" "$n" produce > /dev/null 2> "$tmp/$1.err" || { cat "$tmp/$1.err" >&2; echo 0; return; }
  t1=$(date +%s.%N)
  awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }'
}
# warm up: topics auto-created through the controller
RT_ACKS=1 "$roundtrip" "$bs" warm 1000 produce > /dev/null 2>&1
one=$(run bench-acks1 1)
all=$(run bench-acksall all)
echo "cluster produce, 3 brokers RF 3 min ISR 2, 3 partitions, $n x ~80 B values, librdkafka defaults"
awk -v a="$all" -v o="$one" 'BEGIN { printf "  acks=all: %.0f msg/s  (acks=1 in the same run: %.0f msg/s, ratio %.2f)\n", a, o, (o > 0 ? a / o : 0) }'
