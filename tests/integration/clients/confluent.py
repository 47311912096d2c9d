#!/usr/bin/python3
"""python3-confluent-kafka (librdkafka) against a cluster whose topics IN and
OUT exist:
  1. an idempotent producer (acks=all) writes N keyed records to IN;
  2. a group consumer with manual (synchronous) commits reads all N; a new
     consumer in the same group finds the committed offsets equal to IN's end
     offsets and reads nothing more; two consumers in another group split
     IN's partitions between them and together read every key;
  3. consume-transform-produce in transactions: a read_committed group
     consumer and a transactional producer (send_offsets_to_transaction,
     commit_transaction), plus one aborted transaction writing ABORTED-<p>
     to every partition of OUT;
  4. a read_committed consumer sees exactly the N transformed records in OUT
     and no ABORTED one; a read_uncommitted one does see them (so the abort
     markers hide them, not luck); the transaction's group offsets were
     committed.
Against librdkafka's mock cluster step 4 fails (no control markers, no
aborted-transaction list, TxnOffsetCommit offsets not stored): expected.

Every step runs under a watchdog (STEP_S, default 40 s): a step that hangs in
a client call prints "FAIL <step>: timed out" and exits.
usage: /usr/bin/python3 confluent.py BOOTSTRAP IN OUT [N]
"""
import os
import sys
import threading
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

BS, IN, OUT = sys.argv[1], sys.argv[2], sys.argv[3]
N = int(sys.argv[4]) if len(sys.argv) > 4 else 500
STEP_S = float(os.environ.get("STEP_S", "40"))
CALL = 15.0  # seconds, per client call that takes a timeout
T0 = time.time()
fails = []


def log(msg):
    print(msg, flush=True)


def ok(msg):
    log("ok: %s (%.1f s)" % (msg, time.time() - T0))


def bad(step, msg):
    fails.append(step)
    log("FAIL %s: %s (%.1f s)" % (step, msg, time.time() - T0))


class Step:
    """Watchdog: the process exits if the step takes longer than STEP_S
    (a blocking librdkafka call cannot be interrupted otherwise)."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.timer = threading.Timer(STEP_S, self.expire)
        self.timer.daemon = True
        self.timer.start()
        return self

    def expire(self):
        log("FAIL %s: timed out after %.0f s (a client call did not return)" % (self.name, STEP_S))
        sys.stdout.flush()
        os._exit(3)

    def __exit__(self, typ, val, tb):
        self.timer.cancel()
        if typ is not None and issubclass(typ, Exception):
            bad(self.name, "%s: %s" % (typ.__name__, val))
            return True  # reported; later steps decide whether they can run
        return False


def on_error(err):
    log("  client error: %s" % err)


def conf(**kw):
    c = {"bootstrap.servers": BS, "error_cb": on_error, "socket.timeout.ms": 10000}
    if os.environ.get("RDKAFKA_DEBUG"):
        c["debug"] = os.environ["RDKAFKA_DEBUG"]
    for k, v in kw.items():
        c[k.replace("_", ".")] = v
    return c


def partitions(topic):
    p = Producer(conf())
    md = p.list_topics(topic, timeout=CALL)
    t = md.topics[topic]
    if t.error is not None:
        raise KafkaException(t.error)
    return sorted(t.partitions)


def end_offsets(consumer, topic, parts):
    return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=CALL)[1] for p in parts}


def drain(consumer, expect, what, quiet_s=1.0):
    """Poll until `expect` records arrived and then nothing for quiet_s, or the
    step's watchdog fires. Returns the records."""
    got = []
    last = time.time()
    while True:
        for m in consumer.consume(500, 0.5):
            if m.error():
                if m.error().code() != KafkaError._PARTITION_EOF:
                    log("  %s: %s" % (what, m.error()))
                continue
            got.append(m)
            last = time.time()
        if len(got) >= expect and time.time() - last > quiet_s:
            return got
        if len(got) < expect and time.time() - last > STEP_S - 5:
            return got


in_parts = out_parts = None
with Step("metadata"):
    in_parts, out_parts = partitions(IN), partitions(OUT)
    ok("metadata: %s has %d partitions, %s has %d" % (IN, len(in_parts), OUT, len(out_parts)))
if in_parts is None:
    sys.exit(1)

# ---- 1. idempotent producer ----
with Step("idempotent-produce"):
    delivered, errors = [0], []

    def dr(err, msg):
        if err:
            errors.append(str(err))
        else:
            delivered[0] += 1

    p = Producer(conf(enable_idempotence=True, acks="all", linger_ms=5, message_timeout_ms=20000))
    for i in range(N):
        p.produce(IN, key=b"k%d" % i, value=b"v%d" % i, on_delivery=dr)
        p.poll(0)
    left = p.flush(CALL + 10)
    if left or errors or delivered[0] != N:
        bad("idempotent-produce", "%d of %d delivered, %d undelivered, errors %s" % (delivered[0], N, left, errors[:3]))
    else:
        ok("idempotent producer: %d records delivered to %s" % (N, IN))

# ---- 2. group consumer, manual commits ----
group = "ck-grp-%d" % os.getpid()
with Step("group-consume"):
    c = Consumer(conf(group_id=group, auto_offset_reset="earliest", enable_auto_commit=False, session_timeout_ms=10000))
    c.subscribe([IN])
    got, keys = 0, set()
    deadline = time.time() + STEP_S - 5
    while got < N and time.time() < deadline:
        msgs = c.consume(100, 1.0)
        real = [m for m in msgs if not m.error()]
        for m in msgs:
            if m.error():
                log("  group consumer: %s" % m.error())
        if real:
            got += len(real)
            keys.update(m.key() for m in real)
            # synchronous commit of what this batch consumed (OffsetCommit)
            for tp in c.commit(asynchronous=False):
                if tp.error:
                    raise KafkaException(tp.error)
    if got != N or len(keys) != N:
        bad("group-consume", "group %s read %d records (%d distinct keys), expected %d; assignment %s"
            % (group, got, len(keys), N, [tp.partition for tp in c.assignment()]))
    else:
        ok("group consumer %s read all %d, committing after each batch" % (group, N))
    c.close()

with Step("group-resume"):
    c = Consumer(conf(group_id=group, auto_offset_reset="earliest", enable_auto_commit=False,
                      enable_partition_eof=True, session_timeout_ms=10000))
    committed = c.committed([TopicPartition(IN, p) for p in in_parts], timeout=CALL)
    ends = end_offsets(c, IN, in_parts)
    have = {tp.partition: tp.offset for tp in committed}
    if have != ends:
        bad("group-resume", "committed offsets %s != end offsets %s" % (have, ends))
    else:
        ok("a new consumer in %s finds the committed offsets = end offsets %s" % (group, ends))
    c.subscribe([IN])
    eofs, extra = set(), 0
    deadline = time.time() + STEP_S - 5
    while len(eofs) < len(in_parts) and time.time() < deadline:
        for m in c.consume(100, 1.0):
            if m.error() and m.error().code() == KafkaError._PARTITION_EOF:
                eofs.add(m.partition())
            elif not m.error():
                extra += 1
    if len(eofs) < len(in_parts) or extra:
        bad("group-resume", "resumed consumer read %d records, reached EOF on %d of %d partitions"
            % (extra, len(eofs), len(in_parts)))
    else:
        ok("it resumes there: 0 records, EOF on every partition")
    c.close()

# ---- 2b. two members in one group split the partitions ----
with Step("group-two-members"):
    g2 = "ck-pair-%d" % os.getpid()
    members = [Consumer(conf(group_id=g2, auto_offset_reset="earliest", enable_auto_commit=False,
                             session_timeout_ms=10000, client_id="ck-member-%d" % i)) for i in range(2)]
    for c in members:
        c.subscribe([IN])
    keys, counts = set(), [0, 0]
    deadline = time.time() + STEP_S - 5
    settled = None
    while time.time() < deadline:
        for i, c in enumerate(members):
            for m in c.consume(100, 0.2):
                if not m.error():
                    keys.add(m.key())
                    counts[i] += 1
        a = [sorted(tp.partition for tp in c.assignment()) for c in members]
        split = all(a) and sorted(a[0] + a[1]) == in_parts
        if split and len(keys) == N:
            settled = settled or time.time()
            if time.time() - settled > 1.0:
                break
        else:
            settled = None
    if not split or len(keys) != N:
        bad("group-two-members", "group %s: assignments %s (want both non-empty, disjoint, covering %s); %d of %d keys read"
            % (g2, a, in_parts, len(keys), N))
    else:
        ok("two members of group %s split the partitions %s / %s (JoinGroup with 2 members, leader assigns); together all %d keys"
           % (g2, a[0], a[1], N))
    for c in members:
        c.close()

# ---- 3. transactions ----
eos_group = "ck-eos-%d" % os.getpid()
txn_ok = False
with Step("transactions"):
    c = Consumer(conf(group_id=eos_group, auto_offset_reset="earliest", enable_auto_commit=False,
                      isolation_level="read_committed", session_timeout_ms=10000))
    c.subscribe([IN])
    tp = Producer(conf(transactional_id="ck-txn-%d" % os.getpid(), message_timeout_ms=20000))
    tp.init_transactions(CALL)
    ok("init_transactions")
    done, txns, aborted = 0, 0, False
    deadline = time.time() + STEP_S - 5
    while done < N and time.time() < deadline:
        msgs = [m for m in c.consume(100, 1.0) if not m.error()]
        if not msgs:
            continue
        tp.begin_transaction()
        for m in msgs:
            tp.produce(OUT, key=m.key(), value=b"T(" + m.value() + b")")
        tp.send_offsets_to_transaction(c.position(c.assignment()), c.consumer_group_metadata(), CALL)
        tp.commit_transaction(CALL)
        txns += 1
        done += len(msgs)
        if not aborted:
            tp.begin_transaction()
            for p in out_parts:
                tp.produce(OUT, partition=p, key=b"ABORTED-%d" % p, value=b"x")
            if tp.flush(CALL):
                raise RuntimeError("the aborted transaction's records were not delivered")
            tp.abort_transaction(CALL)
            aborted = True
            ok("a transaction writing ABORTED-<p> to all %d partitions was aborted" % len(out_parts))
    c.close()
    if done != N:
        bad("transactions", "transformed %d of %d input records in %d transactions" % (done, N, txns))
    else:
        ok("%d records transformed in %d committed transactions (send_offsets_to_transaction)" % (N, txns))
        txn_ok = True


def read_out(isolation, expect):
    c = Consumer(conf(group_id="ck-verify-%d" % os.getpid(), isolation_level=isolation,
                      enable_auto_commit=False, enable_partition_eof=True))
    c.assign([TopicPartition(OUT, p, -2) for p in out_parts])  # -2: beginning
    got, eofs = [], set()
    deadline = time.time() + STEP_S - 5
    while len(eofs) < len(out_parts) and time.time() < deadline:
        for m in c.consume(500, 0.5):
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    eofs.add(m.partition())
                else:
                    log("  %s: %s" % (isolation, m.error()))
            else:
                got.append((m.key(), m.value()))
    c.close()
    if len(eofs) < len(out_parts):
        raise RuntimeError("%s: EOF on %d of %d partitions, %d records read" % (isolation, len(eofs), len(out_parts), len(got)))
    return got


if txn_ok:
    want = sorted((b"k%d" % i, b"T(v%d)" % i) for i in range(N))
    with Step("read_committed"):
        got = read_out("read_committed", N)
        ab = [k for k, _ in got if k.startswith(b"ABORTED")]
        data = sorted(kv for kv in got if not kv[0].startswith(b"ABORTED"))
        if data != want:
            bad("read_committed", "output has %d records, %d distinct; expected the %d transformed inputs once each"
                % (len(data), len(set(data)), N))
        else:
            ok("read_committed: exactly the %d transformed records" % N)
        if ab:  # expected against librdkafka's mock (no control markers)
            bad("read_committed-aborted", "%d aborted records visible: %s" % (len(ab), ab[:3]))
        else:
            ok("read_committed: the aborted records are invisible")
    with Step("read_uncommitted"):
        got = read_out("read_uncommitted", N)
        ab = [k for k, _ in got if k.startswith(b"ABORTED")]
        if len(ab) != len(out_parts):
            bad("read_uncommitted", "sees %d of the %d aborted records" % (len(ab), len(out_parts)))
        else:
            ok("read_uncommitted: sees the %d aborted records (the log holds them; only markers can hide them)" % len(ab))
    with Step("txn-offsets"):
        c = Consumer(conf(group_id=eos_group, enable_auto_commit=False))
        committed = {tp.partition: tp.offset for tp in c.committed([TopicPartition(IN, p) for p in in_parts], timeout=CALL)}
        ends = end_offsets(c, IN, in_parts)
        c.close()
        if committed != ends:  # expected against the mock: it drops TxnOffsetCommit
            bad("txn-offsets", "group %s committed %s, expected the end offsets %s" % (eos_group, committed, ends))
        else:
            ok("the transactions committed group %s's offsets: %s" % (eos_group, committed))

if fails:
    log("%d confluent-kafka check(s) failed: %s" % (len(fails), " ".join(fails)))
    sys.exit(1)
log("all confluent-kafka checks passed")
