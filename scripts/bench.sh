#!/usr/bin/env bash
# Runs the benchmarks (optimised build). Each prints its figure beside a
# baseline measured in the same run, and the ratio.
#
#   ./scripts/bench.sh                  every tests/bench/bench_*.c
#   ./scripts/bench.sh bench_log ...    only the ones named
#
# bench_log writes about 1.3 GiB under $TMPDIR (default /tmp): point TMPDIR at
# the disk to measure. Its sizes come from WEIR_BENCH_LOG_APPEND_MIB,
# WEIR_BENCH_LOG_MIB, WEIR_BENCH_LOG_LOOKUPS, WEIR_BENCH_LOG_FLUSH_EVERY,
# WEIR_BENCH_LOG_ROUNDS and WEIR_BENCH_LOG_COLD (see tests/bench/bench_log.c).
# bench_broker (built when librdkafka is installed) starts build/weir itself
# (WEIR_BIN overrides) and takes WEIR_BENCH_BROKER_MESSAGES, _RATE, _SECONDS,
# _ROUNDS, _PARTITIONS and _VALUE_BYTES (see tests/bench/bench_broker.c).
# bench_eos (likewise) measures idempotent and transactional produce and a
# consumer-group rebalance against one weir broker; it takes
# WEIR_BENCH_EOS_MESSAGES, _TXN_MESSAGES, _TXN_SIZE, _PARTITIONS, _ROUNDS,
# _GROUP_ROUNDS and _REBALANCE_DELAY_MS (see tests/bench/bench_eos.c).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
scripted=" bench_cluster bench_sim_scenario bench_chaos "
if [ $# -gt 0 ]; then
  benches=()
  for name in "$@"; do
    [[ "$scripted" == *" $name "* ]] || benches+=("build/tests/$name")
  done
else
  benches=(build/tests/bench_*)
fi
for b in "${benches[@]+"${benches[@]}"}"; do
  if [ ! -x "$b" ]; then
    [ $# -gt 0 ] && { echo "bench.sh: no benchmark $b" >&2; exit 2; }
    continue
  fi
  echo "== $(basename "$b")"
  "$b"
done
# Scripted benchmarks: the replicated loopback cluster, and the simulator's
# speed on the leader-crash scenario (60 simulated s, 3 partitions, 10,000 msg/s).
if [ $# -eq 0 ] || [[ " $* " == *" bench_cluster "* ]]; then
  echo "== bench_cluster"
  bash tests/bench/bench_cluster.sh build/weir build/tests/rdkafka_roundtrip
fi
if [ $# -eq 0 ] || [[ " $* " == *" bench_sim_scenario "* ]]; then
  echo "== bench_sim_scenario"
  ./build/weir sim scenarios/leader-crash.yaml | grep -E "simulated s in|^trace"
fi
# The chaos engine: seeds per minute under every fault kind, and the
# shrinking of a planted bug (a second build with -DWEIR_PLANTED_BUG=ON).
if [ $# -eq 0 ] || [[ " $* " == *" bench_chaos "* ]]; then
  echo "== bench_chaos"
  cmake -S . -B build-planted -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWEIR_PLANTED_BUG=ON >/dev/null
  cmake --build build-planted -j"$(nproc)" --target weir >/dev/null
  bash tests/bench/bench_chaos.sh build/weir build-planted/weir
fi
