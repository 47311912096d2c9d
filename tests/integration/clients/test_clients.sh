#!/usr/bin/env bash
# Unmodified Kafka clients against a 3-broker weir cluster (`weir controller`
# + 3 `weir broker`, replication factor 3, min.insync.replicas 2): consumer
# groups with commits, idempotent producers and transactions.
#   kcat         kcat.sh: idempotent produce, consume, -G group + resume,
#                transactional produce and its commit markers
#   rdkafka      rdkafka_txn.c: librdkafka consume-transform-produce in
#                transactions, one aborted, read_committed/uncommitted checks
#   confluent    confluent.py: python3-confluent-kafka, the same in Python
#   kafkapython  kafkapython.py: python3-kafka, produce + group commits
#   kafkajs      kafkajs.js: kafkajs 2.2.4 (installed by install-kafkajs.sh)
# Each client runs under `timeout CLIENT_TIMEOUT` (default 240 s) and every
# client call inside has its own timeout, so a missing broker API shows as a
# FAIL naming the step, not a hang. One PASS/FAIL line per client; on a
# failure the client's output and the broker log lines written meanwhile are
# printed and kept. Exit 1 if any client failed.
#
# usage: test_clients.sh WEIR RDKAFKA_TXN [CLIENT...]      (default: all five)
#        test_clients.sh mock RDKAFKA_TXN [CLIENT...]
# "mock" runs the clients against librdkafka's mock cluster (rdkafka_txn
# mock) instead of weir, for developing the clients. The mock has no control
# records, no aborted-transaction list, drops TxnOffsetCommit offsets and
# does not fence an older producer epoch, so there the aborted-invisible,
# commit-marker, transaction-offset and fencing checks fail, as expected (a client whose only failures are those counts as PASS
# in mock mode); kafkajs needs KAFKAJS_MOCK=1 (set here) because the
# mock's ControllerId is no broker.
# Environment: CLIENT_TIMEOUT (s), N (records per client, default 500),
# KEEP=1 (keep the temporary folder even when everything passed),
# RDKAFKA_DEBUG (librdkafka debug contexts for rdkafka/confluent).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
weir=$1
txn=$2
shift 2
all=(kcat rdkafka confluent kafkapython kafkajs)
clients=("$@")
[ ${#clients[@]} -eq 0 ] && clients=("${all[@]}")
for c in "${clients[@]}"; do
  case " ${all[*]} " in *" $c "*) ;; *) echo "unknown client '$c' (one of: ${all[*]})"; exit 2 ;; esac
done
client_timeout=${CLIENT_TIMEOUT:-240}
n=${N:-500}
py=/usr/bin/python3 # Debian's python3-confluent-kafka / python3-kafka import only here

tmp=$(mktemp -d /tmp/weir_clients_test.XXXXXX)
mock_pid=
source "$here/../lib_cluster.sh"
cleanup() {
  [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null
  cluster_kill
  [ -n "${keep:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
keep=${KEEP:-}
fails=0
results=()

topics_of() { # topics_of CLIENT: NAME:PARTITIONS:RF for each topic it needs
  case $1 in
    kcat) echo "clients-kcat:3:3 clients-kcat-txn:3:3" ;;
    rdkafka) echo "clients-c-in:3:3 clients-c-out:3:3" ;;
    confluent) echo "clients-ck-in:3:3 clients-ck-out:3:3" ;;
    kafkapython) echo "clients-kp:3:3" ;;
    kafkajs) echo "clients-js-in:3:3 clients-js-out:3:3" ;;
  esac
}
command_of() { # command_of CLIENT: sets cmd to the command line, given the bootstrap list $bs
  case $1 in
    kcat) cmd=(bash "$here/kcat.sh" "$bs" clients-kcat clients-kcat-txn "$n") ;;
    rdkafka) cmd=("$txn" run "$bs" clients-c-in clients-c-out "$n") ;;
    confluent) cmd=("$py" "$here/confluent.py" "$bs" clients-ck-in clients-ck-out "$n") ;;
    kafkapython) cmd=("$py" "$here/kafkapython.py" "$bs" clients-kp "$n") ;;
    kafkajs) cmd=(node "$here/kafkajs.js" "$bs" clients-js-in clients-js-out "$n") ;;
  esac
}
prerequisite() { # prerequisite CLIENT: empty, or why the client cannot run
  case $1 in
    kcat) command -v kcat >/dev/null || echo "kcat is not installed (scripts/deps.sh)" ;;
    rdkafka) [ -x "$txn" ] || echo "no rdkafka_txn binary at '$txn' (needs librdkafka-dev)" ;;
    confluent) "$py" -c 'import confluent_kafka' 2>/dev/null || echo "python3-confluent-kafka is not installed (scripts/deps.sh)" ;;
    kafkapython) "$py" -c 'import kafka' 2>/dev/null || echo "python3-kafka is not installed (scripts/deps.sh)" ;;
    kafkajs) "$here/install-kafkajs.sh" > "$tmp/install-kafkajs.log" 2>&1 \
      || echo "kafkajs 2.2.4 could not be installed: $(tail -2 "$tmp/install-kafkajs.log" | tr '\n' ' ')" ;;
  esac
}

# ---- the cluster ----
if [ "$weir" = mock ]; then
  all_topics=()
  for c in "${clients[@]}"; do read -ra t <<< "$(topics_of "$c")"; all_topics+=("${t[@]}"); done
  "$txn" mock 3 "${all_topics[@]}" > "$tmp/mock.bootstrap" 2> "$tmp/mock.log" &
  mock_pid=$!
  for _ in $(seq 1 50); do [ -s "$tmp/mock.bootstrap" ] && break; sleep 0.1; done
  bs=$(head -1 "$tmp/mock.bootstrap")
  [ -n "$bs" ] || { echo "FAIL: the mock cluster did not start: $(cat "$tmp/mock.log")"; exit 1; }
  export KAFKAJS_MOCK=1
  # the checks the mock cannot pass: no control records (commit markers,
  # aborted records hidden from read_committed), TxnOffsetCommit not stored,
  # no fencing of an older producer epoch
  mock_expected='txn-marker|read_committed-aborted|committed-offsets|txn-offsets|fencing'
  echo "librdkafka mock cluster at $bs (aborted-invisible, marker and txn-offset checks are expected to fail)"
  broker_logs=()
else
  if ! cluster_start "$weir" "$tmp/cluster" 3; then
    echo "FAIL: the weir cluster did not start; logs in $tmp/cluster"
    tail -n 20 "$tmp"/cluster/*.log
    keep=1; exit 1
  fi
  bs=$CLUSTER_BS
  broker_logs=("$tmp/cluster/b1.log" "$tmp/cluster/b2.log" "$tmp/cluster/b3.log" "$tmp/cluster/controller.log")
  echo "weir cluster: controller + 3 brokers at $bs"
fi

# ---- one client ----
run_client() { # run_client CLIENT
  local c=$1
  local why out="$tmp/$c.out" start rc=0 secs reason='' cmd=() topics=()
  read -ra topics <<< "$(topics_of "$c")"
  why=$(prerequisite "$c")
  if [ -n "$why" ]; then
    results+=("FAIL $c: $why"); fails=$((fails + 1)); return
  fi
  # the byte offset of every broker log, to cut out what this client caused
  declare -A from=()
  local f
  for f in "${broker_logs[@]}"; do from[$f]=$(( $(stat -c %s "$f" 2>/dev/null || echo 0) + 1 )); done
  start=$(date +%s%N)
  if [ "$weir" != mock ]; then
    if ! timeout -k 5 60 "$txn" create "$bs" "${topics[@]}" > "$tmp/$c.create" 2>&1; then
      reason="creating topics ${topics[*]}: $(grep -v '^%' "$tmp/$c.create" | tail -2 | tr '\n' ' ')"
    fi
  fi
  if [ -z "${reason:-}" ]; then
    command_of "$c"
    echo "== $c: ${cmd[*]}"
    timeout -k 10 "$client_timeout" "${cmd[@]}" > "$out" 2>&1
    rc=$?
    # every ok/FAIL line; of the clients' own log lines only the first 25
    awk '/^(ok|FAIL|all )/ || other++ < 25 { print "   " $0 } END { if (other > 25) print "   (" other - 25 " more client log lines in '"$out"')" }' "$out"
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
      reason="timed out after ${client_timeout}s; last step: $(grep -E '^(ok|FAIL)' "$out" | tail -1)"
    elif [ $rc -ne 0 ]; then
      reason="$(grep -m1 '^FAIL' "$out" || tail -1 "$out")"
      local more
      more=$(grep -c '^FAIL' "$out")
      [ "$more" -gt 1 ] && reason="$reason (+$((more - 1)) more: $(grep '^FAIL' "$out" | tail -n +2 | sed 's/^FAIL \([^:]*\):.*/\1/' | tr '\n' ' '))"
    fi
  fi
  secs=$(awk -v a="$start" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
  if [ -z "${reason:-}" ]; then
    results+=("PASS $c (${secs} s): $(grep -c '^ok:' "$out") checks")
    return
  fi
  if [ "$weir" = mock ] && [ $rc -ne 124 ] && [ $rc -ne 137 ] && [ -s "$out" ]; then
    # steps that need control records / stored TxnOffsetCommit offsets
    local unexpected
    unexpected=$(grep '^FAIL' "$out" | sed 's/^FAIL \([^:]*\):.*/\1/' | grep -vxE "$mock_expected")
    if [ -z "$unexpected" ]; then
      results+=("PASS $c (${secs} s, mock): $(grep -c '^ok:' "$out") checks; failed as expected on the mock: $(grep '^FAIL' "$out" | sed 's/^FAIL \([^:]*\):.*/\1/' | tr '\n' ' ')")
      return
    fi
  fi
  fails=$((fails + 1))
  keep=1
  results+=("FAIL $c (${secs} s): ${reason#FAIL }")
  # the broker log lines written while this client ran
  for f in "${broker_logs[@]}"; do
    local cut
    cut="$tmp/$c.$(basename "$f")"
    tail -c +"${from[$f]}" "$f" > "$cut" 2>/dev/null
    echo "   -- $(basename "$f") while $c ran: $(wc -l < "$cut") lines, kept in $cut; warnings/errors (count, without time and port):"
    grep -iE "error|warn|unsupported|unknown|closing|fail" "$cut" | sed -E 's/^[0-9T:.Z-]+ +//; s/(127\.0\.0\.1):[0-9]+/\1:*/g' \
      | sort | uniq -c | sort -rn | head -n 12 | sed 's/^/      /'
  done
}

for c in "${clients[@]}"; do
  run_client "$c"
done

if [ "$weir" != mock ]; then
  cluster_stop
  if grep -l -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$tmp"/cluster/*.log >/dev/null 2>&1; then
    results+=("FAIL sanitizer: report in $(grep -l -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$tmp"/cluster/*.log | tr '\n' ' ')")
    fails=$((fails + 1)); keep=1
  fi
fi
echo
printf '%s\n' "${results[@]}"
if [ "$fails" -ne 0 ]; then
  echo "$fails client(s) failed; client output and broker logs kept in $tmp"
  exit 1
fi
[ -n "$keep" ] && echo "logs kept in $tmp"
echo "all client checks passed"
