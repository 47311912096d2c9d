#!/usr/bin/env bash
# kcat (librdkafka) against a cluster whose topics TOPIC and TXN_TOPIC exist
# with 3 partitions:
#   1. -P -X enable.idempotence=true: N keyed messages;
#   2. -C from the beginning: all N back, each key once, each key in one
#      partition, offsets contiguous per partition, several partitions used;
#   3. -G GROUP (balanced consumer group, offsets committed): reads all N;
#   4. -G GROUP again: resumes at the committed offsets, reads nothing;
#      after M more messages, a third run reads exactly those M;
#   5. -P -X transactional.id=...: N messages in one committed transaction;
#      a read_committed -C reads them all, and every partition written ends
#      with a commit marker (end offset = last record offset + 2).
#      (librdkafka's mock writes no markers: that last check fails there.)
# Every kcat call runs under `timeout CALL_S` (default 30 s).
# usage: kcat.sh BOOTSTRAP TOPIC TXN_TOPIC [N]
# Prints "ok: ..." / "FAIL <step>: ..." lines; exit 1 if any check failed.
set -uo pipefail
bs=$1
topic=$2
txn_topic=$3
n=${4:-1000}
m=50
call_s=${CALL_S:-30}
tmp=$(mktemp -d /tmp/weir_kcat.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
k() { timeout -k 2 "$call_s" kcat -b "$bs" ${RDKAFKA_DEBUG:+-d "$RDKAFKA_DEBUG"} "$@"; }
why() { # why RC ERRFILE: a timeout and kcat's most severe log lines (levels 0-3 first)
  local lines
  lines=$( (grep -E '^%[0-3]\|' "$2"; grep -vE '^%[0-7]\|' "$2"; grep -E '^%[4-6]\|' "$2") | head -3 | cut -c1-300 | tr '\n' ' ')
  if [ "$1" -eq 124 ]; then echo "timed out after ${call_s}s; $lines"; else echo "rc=$1; $lines"; fi
}
group=${KCAT_GROUP:-kcat-grp-$$}

# ---- 1. idempotent produce ----
for i in $(seq 1 "$n"); do echo "key$i:value$i"; done > "$tmp/in.txt"
k -P -t "$topic" -K: -X enable.idempotence=true -X acks=all -X message.timeout.ms=20000 -l "$tmp/in.txt" 2> "$tmp/p.err"
rc=$?
if [ $rc -eq 0 ] && ! grep -qi "fail\|error" "$tmp/p.err"; then
  ok "kcat -P -X enable.idempotence=true: $n keyed messages"
else
  bad "idempotent-produce: $(why $rc "$tmp/p.err")"
fi

# ---- 2. plain consume ----
k -C -t "$topic" -o beginning -e -q -f '%p %o %k %s\n' > "$tmp/c.txt" 2> "$tmp/c.err"
rc=$?
got=$(wc -l < "$tmp/c.txt")
if [ $rc -ne 0 ] || [ "$got" -ne "$n" ]; then
  bad "consume: read $got of $n ($(why $rc "$tmp/c.err"))"
elif ! diff <(awk '{print $3":"$4}' "$tmp/c.txt" | sort) <(sort "$tmp/in.txt") > /dev/null; then
  bad "consume: keys/values differ from what was sent"
elif ! awk '{ if ($2 != nx[$1]+0) { print "partition " $1 " offset " $2 " expected " nx[$1]+0; b=1 } nx[$1]=$2+1
             if ((k[$3] != "") && (k[$3] != $1)) { print "key " $3 " in partitions " k[$3] " and " $1; b=1 } k[$3]=$1 }
           END { if (length(nx) < 2) { print "only " length(nx) " partition(s) used"; b=1 } exit b }' "$tmp/c.txt" > "$tmp/c.chk"; then
  bad "consume: $(head -3 "$tmp/c.chk" | tr '\n' ' ')"
else
  ok "kcat -C: all $n messages, each key once in one partition, offsets contiguous over $(awk '{print $1}' "$tmp/c.txt" | sort -u | wc -l) partitions"
fi

# ---- 3. balanced consumer group, commits ----
group_read() { # group_read OUT: one -G run to EOF on every assigned partition (no -o:
  # kcat would assign that offset and ignore the committed ones)
  k -G "$group" -X auto.offset.reset=earliest -e -q -f '%p %o %k\n' -X auto.commit.interval.ms=200 -X session.timeout.ms=10000 "$topic" > "$1" 2> "$1.err"
}
group_read "$tmp/g1.txt"
rc=$?
got=$(wc -l < "$tmp/g1.txt")
if [ $rc -ne 0 ] || [ "$got" -ne "$n" ]; then
  bad "group-consume: kcat -G $group read $got of $n ($(why $rc "$tmp/g1.txt.err"))"
elif [ "$(awk '{print $3}' "$tmp/g1.txt" | sort -u | wc -l)" -ne "$n" ]; then
  bad "group-consume: kcat -G $group read duplicates"
else
  ok "kcat -G $group: read all $n (FindCoordinator, JoinGroup, SyncGroup, OffsetFetch, OffsetCommit)"
fi

# ---- 4. resume from the committed offsets ----
group_read "$tmp/g2.txt"
rc=$?
got=$(wc -l < "$tmp/g2.txt")
if [ $rc -ne 0 ]; then
  bad "group-resume: second kcat -G run: $(why $rc "$tmp/g2.txt.err")"
elif [ "$got" -ne 0 ]; then
  bad "group-resume: second kcat -G run read $got messages, expected 0 (committed offsets not used: $(head -2 "$tmp/g2.txt" | tr '\n' ' '))"
else
  ok "kcat -G $group again: resumed at the committed offsets, 0 messages"
fi
for i in $(seq $((n + 1)) $((n + m))); do echo "key$i:value$i"; done > "$tmp/more.txt"
k -P -t "$topic" -K: -X enable.idempotence=true -X acks=all -l "$tmp/more.txt" 2> "$tmp/p2.err" || bad "group-resume: producing $m more: $(why $? "$tmp/p2.err")"
group_read "$tmp/g3.txt"
rc=$?
got=$(wc -l < "$tmp/g3.txt")
if [ $rc -ne 0 ] || [ "$got" -ne "$m" ]; then
  bad "group-resume: third kcat -G run read $got, expected the $m new ones ($(why $rc "$tmp/g3.txt.err"))"
elif ! diff <(awk '{print $3}' "$tmp/g3.txt" | sort) <(cut -d: -f1 "$tmp/more.txt" | sort) > /dev/null; then
  bad "group-resume: third kcat -G run read other keys than the $m new ones"
else
  ok "kcat -G $group a third time: exactly the $m messages produced since"
fi

# ---- 5. transactional produce ----
for i in $(seq 1 "$n"); do echo "tkey$i:tvalue$i"; done > "$tmp/tin.txt"
k -P -t "$txn_topic" -K: -X transactional.id="kcat-txn-$$" -X acks=all -l "$tmp/tin.txt" 2> "$tmp/t.err"
rc=$?
if [ $rc -eq 0 ] && ! grep -qi "fail\|error" "$tmp/t.err"; then
  ok "kcat -P -X transactional.id=kcat-txn-$$: $n messages, transaction committed"
else
  bad "txn-produce: $(why $rc "$tmp/t.err")"
fi
k -C -t "$txn_topic" -o beginning -e -q -X isolation.level=read_committed -f '%p %o %k %s\n' > "$tmp/tc.txt" 2> "$tmp/tc.err"
rc=$?
got=$(wc -l < "$tmp/tc.txt")
if [ $rc -ne 0 ] || [ "$got" -ne "$n" ]; then
  bad "txn-consume: read_committed read $got of $n ($(why $rc "$tmp/tc.err"))"
elif ! diff <(awk '{print $3":"$4}' "$tmp/tc.txt" | sort) <(sort "$tmp/tin.txt") > /dev/null; then
  bad "txn-consume: keys/values differ from what was sent"
else
  ok "kcat -C read_committed: all $n transactional messages"
  # a partition written by the transaction ends with its COMMIT marker
  markers=ok
  for p in $(awk '{print $1}' "$tmp/tc.txt" | sort -u); do
    last=$(awk -v p="$p" '$1 == p {o=$2} END {print o}' "$tmp/tc.txt")
    end=$(k -Q -t "$txn_topic:$p:-1" 2> /dev/null | sed -n 's/.* offset \([0-9-]*\).*/\1/p')
    if [ "$end" != "$((last + 2))" ]; then
      markers="partition $p: last record at $last, end offset ${end:-?} (expected $((last + 2)): a commit marker)"
      break
    fi
  done
  # expected to fail against librdkafka's mock cluster: it writes no markers
  [ "$markers" = ok ] && ok "every partition written ends with a commit marker" || bad "txn-marker: $markers"
fi

[ "$fails" -eq 0 ] || { echo "$fails kcat check(s) failed"; exit 1; }
echo "all kcat checks passed"
