#!/usr/bin/env bash
# `weir broker` with unmodified Kafka clients: kcat (-L, -P, -C) and a
# librdkafka C program (rdkafka_roundtrip), across clean and kill -9
# restarts; then bad input on the socket.
# usage: test_broker.sh WEIR ROUNDTRIP
set -uo pipefail
weir=$1
roundtrip=$2
tmp=$(mktemp -d /tmp/weir_broker_test.XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

if ! command -v kcat >/dev/null; then
  echo "FAIL: kcat is not installed (scripts/deps.sh installs it)"; exit 1
fi

port=$((20000 + RANDOM % 30000))
cat > "$tmp/server.properties" <<PROPS
# a single-node broker for the test
node.id=1
listeners=PLAINTEXT://127.0.0.1:$port
log.dirs=$tmp/logs
num.partitions=3
log.segment.bytes=65536
zookeeper.connect=localhost:2181
PROPS
bs=127.0.0.1:$port

start_broker() { # start_broker LOGNAME
  "$weir" broker --config "$tmp/server.properties" >"$tmp/$1.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    if kcat -L -b "$bs" -m 2 >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "broker did not come up; its log:"; cat "$tmp/$1.log"
  exit 1
}

stop_broker() { # stop_broker SIGNAL
  kill "-$1" "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  pid=
}

start_broker first
grep -q "unknown setting 'zookeeper.connect'" "$tmp/first.log" && ok "unknown settings are warned about, naming file and line" \
  || bad "no warning for zookeeper.connect"

# ---- kcat -L ----
meta=$(kcat -L -b "$bs" -m 5 2>&1)
echo "$meta" | grep -q "1 brokers:" && echo "$meta" | grep -q "broker 1 at 127.0.0.1:$port" \
  && ok "kcat -L lists the broker" || { bad "kcat -L: $meta"; }

# ---- kcat -P / -C: N keyed messages over 3 auto-created partitions ----
n=600
for i in $(seq 1 $n); do echo "key$i:value-$i-$((i * 37 % 101))"; done > "$tmp/in.txt"
if kcat -P -b "$bs" -t orders -K: -X acks=all -l "$tmp/in.txt" 2>"$tmp/kcat_p.err"; then
  ok "kcat -P sent $n keyed messages"
else
  bad "kcat -P: $(cat "$tmp/kcat_p.err")"
fi
kcat -L -b "$bs" -t orders -m 5 2>&1 | grep -q "3 partitions" && ok "the topic was auto-created with num.partitions=3" \
  || bad "topic metadata: $(kcat -L -b "$bs" -t orders -m 5 2>&1)"

consume() { # consume OUTFILE
  kcat -C -b "$bs" -t orders -o beginning -e -q -f '%p %o %k %s\n' -m 10 > "$1" 2>"$1.err"
}
check_consumed() { # check_consumed FILE WHAT
  local f=$1
  local count
  count=$(wc -l < "$f")
  if [ "$count" -ne "$n" ]; then bad "$2: read $count messages, expected $n ($(head -c 300 "$f.err"))"; return; fi
  # every key:value sent comes back exactly once
  if ! diff <(awk '{print $3":"$4}' "$f" | sort) <(sort "$tmp/in.txt") >/dev/null; then
    bad "$2: keys/values differ from what was sent"; return
  fi
  # offsets per partition are 0..k-1 in order, and more than one partition is used
  if ! awk '{ if ($2 != next_off[$1]+0) { print "partition " $1 " offset " $2 " expected " next_off[$1]+0; bad=1 } next_off[$1]=$2+1 }
            END { if (length(next_off) < 2) { print "only " length(next_off) " partition(s) used"; bad=1 } exit bad }' "$f"; then
    bad "$2: offsets not contiguous per partition"; return
  fi
  ok "$2: all $n messages, keys, partitions and contiguous offsets"
}
consume "$tmp/out1.txt"
check_consumed "$tmp/out1.txt" "kcat -C after produce"
# the same key always went to the same partition: the placement is stable across reads
sort "$tmp/out1.txt" > "$tmp/out1.sorted"

# ---- librdkafka: produce with acks=all and delivery reports, plain consumer back ----
if "$roundtrip" "$bs" events 100000 produce > "$tmp/placed.txt" 2>"$tmp/rt_p.err"; then
  ok "librdkafka: $(cat "$tmp/rt_p.err")"
else
  bad "librdkafka produce: $(tail -5 "$tmp/rt_p.err")"
fi
if "$roundtrip" "$bs" events 100000 consume < "$tmp/placed.txt" 2>"$tmp/rt_c.err"; then
  ok "librdkafka: $(cat "$tmp/rt_c.err")"
else
  bad "librdkafka consume: $(tail -5 "$tmp/rt_c.err")"
fi

# ---- clean restart (SIGTERM): everything there, no recovery scan ----
stop_broker TERM
grep -q "shut down cleanly" "$tmp/first.log" && ok "SIGTERM shuts down cleanly" || bad "no clean shutdown line"
ls "$tmp/logs/orders-0/.kafka_cleanshutdown" >/dev/null 2>&1 && ok "clean-shutdown markers written" \
  || bad "no .kafka_cleanshutdown in orders-0"
start_broker second
grep -q "recovered after an unclean shutdown" "$tmp/second.log" && bad "recovery ran after a clean shutdown" \
  || ok "restart after a clean shutdown skips recovery"
consume "$tmp/out2.txt"
check_consumed "$tmp/out2.txt" "kcat -C after a clean restart"
"$roundtrip" "$bs" events 100000 consume < "$tmp/placed.txt" 2>"$tmp/rt_c2.err" \
  && ok "librdkafka after a clean restart: $(cat "$tmp/rt_c2.err")" || bad "librdkafka after a clean restart: $(tail -3 "$tmp/rt_c2.err")"

# ---- kill -9: every acknowledged message survives ----
stop_broker KILL
start_broker third
grep -q "recovered after an unclean shutdown" "$tmp/third.log" && ok "kill -9 leaves logs that are recovered on start" \
  || bad "no recovery after kill -9"
consume "$tmp/out3.txt"
check_consumed "$tmp/out3.txt" "kcat -C after kill -9"
"$roundtrip" "$bs" events 100000 consume < "$tmp/placed.txt" 2>"$tmp/rt_c3.err" \
  && ok "librdkafka after kill -9: $(cat "$tmp/rt_c3.err")" || bad "librdkafka after kill -9: $(tail -3 "$tmp/rt_c3.err")"
"$weir" log verify "$tmp/logs/orders-0" >/dev/null && ok "weir log verify: the broker's partition folder is healthy" \
  || bad "weir log verify found damage in orders-0"

# ---- bad input: the connection closes with a log line, the broker serves on ----
send_raw() { # send_raw HEX
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return
  printf "$1" >&3
  sleep 0.3
  exec 3<&- 3>&-
}
send_raw '\x00\x00\x00\x05hello'
send_raw '\x00\x00\x00\x0c\x03\xe7\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00'
send_raw '\x00\x00\x00\x0b\x00\x03\x00\x63\x00\x00\x00\x01\x00\x00\x00'
send_raw '\x7f\xff\xff\xff'
sleep 0.3
grep -q "closing connection from 127.0.0.1:[0-9]*: malformed request" "$tmp/third.log" && ok "a malformed request closes the connection, naming the peer" \
  || bad "no log line for the malformed request"
grep -q "unknown API" "$tmp/third.log" && ok "an unknown API key closes the connection" || bad "no log line for the unknown API key"
grep -q "unsupported version" "$tmp/third.log" && ok "an unsupported version closes the connection" || bad "no log line for the unsupported version"
kcat -L -b "$bs" -m 5 >/dev/null 2>&1 && kill -0 "$pid" && ok "the broker still serves after bad input" || bad "the broker died on bad input"

# a batch with a bad CRC: CORRUPT_MESSAGE, nothing appended
before=$(kcat -C -b "$bs" -t orders -p 0 -o beginning -e -q -f '%o\n' | wc -l)
printf 'x:y\n' | kcat -P -b "$bs" -t orders -p 0 -K: -X acks=all 2>/dev/null
after=$(kcat -C -b "$bs" -t orders -p 0 -o beginning -e -q -f '%o\n' | wc -l)
[ "$after" -eq $((before + 1)) ] && ok "a good produce after bad input appends" || bad "produce after bad input: $before -> $after"

stop_broker TERM
# under the sanitizer build, any report in a broker log is a failure
if grep -l -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$tmp"/*.log >/dev/null 2>&1; then
  bad "sanitizer report in $(grep -l -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$tmp"/*.log | tr '\n' ' ')"
else
  ok "no sanitizer reports in the broker logs"
fi
if [ "$fails" -ne 0 ]; then
  echo "$fails check(s) failed; broker logs in $tmp kept"; trap - EXIT; exit 1
fi
echo "all broker checks passed"
