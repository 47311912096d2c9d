#!/usr/bin/python3
"""python3-kafka (kafka-python 2.0.2, a pure-Python client with its own wire
code: ApiVersions v0 + a pipelined Metadata v0 probe, then fixed versions:
Produce v7, Fetch v4, FindCoordinator v0, JoinGroup v2, OffsetCommit v2,
OffsetFetch v1; CRCs checked) against a cluster whose topic TOPIC exists:
  1. a producer (acks=all) writes N keyed records, each send confirmed;
  2. a group consumer (enable_auto_commit=False) reads all N, committing
     synchronously after each poll;
  3. a new consumer in the group finds the committed offsets = end offsets,
     reads nothing; after M more records it reads exactly those M.
kafka-python has no transactions.
Every step runs under a watchdog (STEP_S, default 40 s).
usage: /usr/bin/python3 kafkapython.py BOOTSTRAP TOPIC [N]
"""
import logging
import os
import sys
import threading
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

BS, TOPIC = sys.argv[1], sys.argv[2]
N = int(sys.argv[3]) if len(sys.argv) > 3 else 500
M = 50
STEP_S = float(os.environ.get("STEP_S", "40"))
T0 = time.time()
fails = []
logging.basicConfig(level=logging.WARNING, stream=sys.stdout, format="  kafka-python %(levelname)s %(name)s: %(message)s")
if os.environ.get("KAFKA_PYTHON_DEBUG"):
    logging.getLogger("kafka").setLevel(logging.DEBUG)
last_problem = [""]  # the latest kafka-python warning/error, for a timeout's reason


class Remember(logging.Handler):
    def emit(self, record):
        if record.levelno >= logging.WARNING:
            last_problem[0] = "%s: %s" % (record.name, record.getMessage())


logging.getLogger("kafka").addHandler(Remember())


def log(msg):
    print(msg, flush=True)


def ok(msg):
    log("ok: %s (%.1f s)" % (msg, time.time() - T0))


def bad(step, msg):
    fails.append(step)
    log("FAIL %s: %s (%.1f s)" % (step, msg, time.time() - T0))


class Step:
    """Watchdog: exits the process if the step takes longer than STEP_S
    (kafka-python's commit() and group join retry forever)."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.timer = threading.Timer(STEP_S, self.expire)
        self.timer.daemon = True
        self.timer.start()
        return self

    def expire(self):
        log("FAIL %s: timed out after %.0f s (a client call did not return)%s"
            % (self.name, STEP_S, "; last kafka-python error: " + last_problem[0][:300] if last_problem[0] else ""))
        sys.stdout.flush()
        os._exit(3)

    def __exit__(self, typ, val, tb):
        self.timer.cancel()
        if typ is not None and issubclass(typ, Exception):
            bad(self.name, "%s: %s" % (typ.__name__, val))
            return True
        return False


common = dict(bootstrap_servers=BS.split(","), request_timeout_ms=20000, api_version_auto_timeout_ms=10000)
group = "kp-grp-%d" % os.getpid()


def produce(first, count, step):
    with Step(step):
        p = KafkaProducer(acks="all", linger_ms=5, **common)
        futures = [p.send(TOPIC, key=b"key%d" % i, value=b"value%d" % i) for i in range(first, first + count)]
        p.flush(timeout=20)
        parts = set()
        for f in futures:
            md = f.get(timeout=20)
            parts.add(md.partition)
        p.close(timeout=5)
        ok("producer: %d records acknowledged, in partitions %s (broker version inferred as %s)"
           % (count, sorted(parts), ".".join(map(str, p.config["api_version"]))))
        return True
    return False


def consumer(**kw):
    return KafkaConsumer(group_id=group, enable_auto_commit=False, auto_offset_reset="earliest",
                         session_timeout_ms=10000, heartbeat_interval_ms=1000, **common, **kw)


def read(c, expect, quiet_s):
    """Once the group has assigned partitions, poll until `expect` records
    and then quiet_s without any, committing after each non-empty poll.
    Returns the keys read."""
    keys = []
    last = time.time()
    start = last
    while True:
        batch = c.poll(timeout_ms=500)
        if not c.assignment():
            if time.time() - start > STEP_S - 8:
                raise RuntimeError("no partitions assigned after %.0f s (JoinGroup/SyncGroup)" % (time.time() - start))
            last = time.time()
            continue
        n = sum(len(v) for v in batch.values())
        if n:
            for recs in batch.values():
                keys.extend(r.key for r in recs)
            c.commit()  # synchronous OffsetCommit of the positions
            last = time.time()
        if len(keys) >= expect and time.time() - last > quiet_s:
            return keys
        if time.time() - last > STEP_S - 8:
            return keys


produce(0, N, "produce")

with Step("group-consume"):
    c = consumer()
    c.subscribe([TOPIC])
    keys = read(c, N, 1.0)
    if len(keys) != N or len(set(keys)) != N:
        bad("group-consume", "group %s read %d records (%d distinct keys), expected %d; assignment %s"
            % (group, len(keys), len(set(keys)), N, sorted(tp.partition for tp in c.assignment())))
    else:
        ok("group consumer %s read all %d (committing after each poll) over partitions %s"
           % (group, N, sorted(tp.partition for tp in c.assignment())))
    c.close()

with Step("group-resume"):
    c = consumer()
    parts = sorted(c.partitions_for_topic(TOPIC) or [])
    tps = [TopicPartition(TOPIC, p) for p in parts]
    ends = {tp.partition: o for tp, o in c.end_offsets(tps).items()}
    committed = {tp.partition: c.committed(tp) for tp in tps}
    if not parts or committed != ends:
        bad("group-resume", "committed offsets %s != end offsets %s" % (committed, ends))
    else:
        ok("the group's committed offsets (OffsetFetch) = end offsets %s" % ends)
    c.subscribe([TOPIC])
    keys = read(c, 0, 4.0)
    if keys:
        bad("group-resume", "a new member of %s read %d records, expected 0 (first: %s)" % (group, len(keys), keys[:3]))
    else:
        ok("a new member of %s resumes at the committed offsets: 0 records" % group)
    c.close()

if produce(N, M, "produce-more"):
    with Step("group-resume-new"):
        c = consumer()
        c.subscribe([TOPIC])
        keys = read(c, M, 1.0)
        want = sorted(b"key%d" % i for i in range(N, N + M))
        if sorted(keys) != want:
            bad("group-resume-new", "read %d records, expected exactly the %d new ones" % (len(keys), M))
        else:
            ok("after %d more records the group reads exactly those" % M)
        c.close()

if fails:
    log("%d kafka-python check(s) failed: %s" % (len(fails), " ".join(fails)))
    sys.exit(1)
log("all kafka-python checks passed")
