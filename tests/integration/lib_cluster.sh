# shellcheck shell=bash
# A weir cluster on loopback for integration tests: `weir controller` and N
# `weir broker` processes, started the way test_cluster.sh starts them.
# Source this file, then:
#   cluster_start WEIR DIR [NBROKERS]   start; sets CLUSTER_BS (bootstrap list)
#                                       and waits for every broker to register
#                                       and answer Metadata; returns 1 if not
#   cluster_start_broker ID             (re)start broker ID
#   cluster_stop                        SIGTERM the brokers, then the controller
#   cluster_kill                        kill -9 everything still running
# Logs: DIR/controller.log, DIR/b<ID>.log; data: DIR/b<ID>/.
# Extra broker settings (key=value lines) can be put in CLUSTER_BROKER_PROPS
# before cluster_start.

CLUSTER_PIDS=()
CLUSTER_BS=
CLUSTER_DIR=
CLUSTER_WEIR=
CLUSTER_BASE=
CLUSTER_N=0

cluster_start_broker() { # cluster_start_broker ID
  local id=$1 port=$((CLUSTER_BASE + $1))
  cat > "$CLUSTER_DIR/b$id.properties" <<PROPS
node.id=$id
listeners=PLAINTEXT://127.0.0.1:$port
log.dirs=$CLUSTER_DIR/b$id
controller.quorum.voters=1000@127.0.0.1:$CLUSTER_BASE
num.partitions=3
default.replication.factor=3
min.insync.replicas=2
broker.heartbeat.interval.ms=500
replica.lag.time.max.ms=4000
replica.fetch.wait.max.ms=100
${CLUSTER_BROKER_PROPS:-}
PROPS
  "$CLUSTER_WEIR" broker --config "$CLUSTER_DIR/b$id.properties" >> "$CLUSTER_DIR/b$id.log" 2>&1 &
  CLUSTER_PIDS[$id]=$!
}

cluster_start() { # cluster_start WEIR DIR [NBROKERS]
  CLUSTER_WEIR=$1
  CLUSTER_DIR=$2
  CLUSTER_N=${3:-3}
  CLUSTER_BASE=$((20000 + RANDOM % 30000))
  mkdir -p "$CLUSTER_DIR"
  "$CLUSTER_WEIR" controller --override listeners=CONTROLLER://127.0.0.1:$CLUSTER_BASE \
    --override broker.session.timeout.ms=3000 > "$CLUSTER_DIR/controller.log" 2>&1 &
  CLUSTER_PIDS[0]=$!
  local id n=0 bs=
  for id in $(seq 1 "$CLUSTER_N"); do
    cluster_start_broker "$id"
    bs="$bs${bs:+,}127.0.0.1:$((CLUSTER_BASE + id))"
  done
  CLUSTER_BS=$bs
  for _ in $(seq 1 100); do
    n=$(grep -c "registered at" "$CLUSTER_DIR/controller.log" 2>/dev/null || true)
    [ "${n:-0}" -ge "$CLUSTER_N" ] && break
    sleep 0.1
  done
  if [ "${n:-0}" -lt "$CLUSTER_N" ]; then
    echo "cluster: only ${n:-0} of $CLUSTER_N brokers registered with the controller" >&2
    return 1
  fi
  for _ in $(seq 1 100); do
    kcat -L -b "$CLUSTER_BS" -m 2 2>/dev/null | grep -q "$CLUSTER_N brokers:" && return 0
    sleep 0.1
  done
  echo "cluster: Metadata does not list $CLUSTER_N brokers" >&2
  return 1
}

cluster_stop() {
  local id
  for id in $(seq 1 "$CLUSTER_N"); do
    [ -n "${CLUSTER_PIDS[$id]:-}" ] && kill -TERM "${CLUSTER_PIDS[$id]}" 2>/dev/null
  done
  for id in $(seq 1 "$CLUSTER_N"); do
    [ -n "${CLUSTER_PIDS[$id]:-}" ] && wait "${CLUSTER_PIDS[$id]}" 2>/dev/null
    CLUSTER_PIDS[$id]=
  done
  [ -n "${CLUSTER_PIDS[0]:-}" ] && { kill -TERM "${CLUSTER_PIDS[0]}" 2>/dev/null; wait "${CLUSTER_PIDS[0]}" 2>/dev/null; }
  CLUSTER_PIDS[0]=
  return 0
}

cluster_kill() {
  local p
  for p in "${CLUSTER_PIDS[@]}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null; done
  return 0
}
