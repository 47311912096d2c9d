/* Benchmark: what exactly-once costs on a real weir broker, each figure beside
 * a baseline measured in the same run against the same broker, and the ratio.
 *
 *   bench_eos [-w WEIR] [messages [txn_messages]]
 *
 * One `weir broker` process (bench_common.c: a fresh temporary folder, a free
 * loopback port, SIGTERM at the end; no controller, so replication factor 1
 * everywhere; not the 3-broker cluster of tests/integration/lib_cluster.sh,
 * which needs a controller and a script around this program, and would
 * measure replication too) with, besides node.id, listeners and log.dirs:
 * num.partitions=<partitions>, offsets.topic.replication.factor=1,
 * transaction.state.log.replication.factor=1 and
 * group.initial.rebalance.delay.ms=<delay> (3000, Kafka's default); the
 * internal topics keep Kafka's 50 partitions. The clients are librdkafka's C
 * API in this process. Values are 100 bytes (sequence number + pattern), no
 * keys, the default partitioner. Every producer uses acks=all, linger.ms=5,
 * batch.size=1000000, batch.num.messages=10000, compression none; only what
 * each case names differs. Cases:
 *
 * 1. idempotence: `messages` (500,000) values into a new topic of
 *    `partitions` (3) partitions with enable.idempotence=true, and as many
 *    with enable.idempotence=false into another (librdkafka then allows 5
 *    requests in flight per broker instead of 1,000,000: part of what
 *    idempotence costs). Timed from the first produce call to the end of
 *    rd_kafka_flush; before the clock starts the producer has the topic's
 *    metadata and has delivered one message to a warm-up topic (so the
 *    idempotent one has its producer id). Aim: idempotent/plain >= 0.9.
 * 2. transactions: `txn_messages` (500,000) values in transactions of
 *    `txn_size` (100): begin_transaction, 100 produce calls,
 *    commit_transaction, until all are sent; timed from the first
 *    begin_transaction to the return of the last commit_transaction (which
 *    flushes), after init_transactions and one warm-up transaction. Baseline:
 *    as many values with plain acks=all (idempotence off), timed as in 1.
 *    Also printed: transactions/s and each transaction's time, begin to
 *    commit returned (p50, p99 over all rounds).
 *    After every produce run of cases 1 and 2: every delivery report must be
 *    a success; the partitions' end offsets must sum to exactly the messages
 *    sent (plain, idempotent; and per partition the reported offsets are
 *    0..n-1), or to that plus at least one and at most `partitions` commit
 *    markers per transaction (transactional); and a read_committed consumer
 *    reading every partition from offset 0 to its end (partition EOF) must
 *    see every value exactly once, undamaged, and nothing else.
 *    Cases 1 and 2 run `rounds` (3) times each, the two sides alternating who
 *    goes first, each run on a new topic; medians are printed with every
 *    round's figures and weir's CPU time per million messages (the broker
 *    process's CPU clock: the figure that still compares when other jobs
 *    share the cores).
 * 3. group rebalance, 3 -> 2 members: three high-level consumers
 *    (subscribe, a rebalance callback that assigns what it is given,
 *    partition.assignment.strategy=range, session.timeout.ms=6000,
 *    heartbeat.interval.ms=500, no auto commit), one polling thread each, in
 *    a new group on a 6-partition topic. Baseline, the initial join: from
 *    the first subscribe call until all three have had an assignment
 *    callback and hold disjoint partitions covering all 6 (the time of the
 *    last such callback). group.initial.rebalance.delay.ms dominates it: a
 *    new group waits that long after its first JoinGroup, and once more
 *    when members arrived meanwhile (Kafka's InitialDelayedJoin), so about
 *    twice the delay here. Then, 1 s + round * 500 / group_rounds ms later,
 *    one member's polling thread stops and rd_kafka_consumer_close (which
 *    sends LeaveGroup) is called on it; measured: from that call until both
 *    remaining members have had a new assignment callback and hold disjoint
 *    partitions covering all 6. The remaining members hear of the
 *    rebalance only in their next Heartbeat's answer, so the figure is
 *    mostly where the leave falls in their 500 ms heartbeat cycle: the
 *    rounds' offsets spread it over the cycle. Also printed: its last part,
 *    from the later survivor's revoke callback (its heartbeat's answer came)
 *    to the last new assignment, i.e. JoinGroup + SyncGroup. The
 *    consumers' clients are created and have fetched metadata before the
 *    clock starts; a warm-up group has loaded the group coordinator.
 *    `group_rounds` (3) rounds, each with a new group; medians and every
 *    round are printed. Lower is better here.
 *
 * Environment (argv wins): WEIR_BIN (default: <dir of this program>/../weir),
 * WEIR_BENCH_EOS_MESSAGES (500000), WEIR_BENCH_EOS_TXN_MESSAGES (500000),
 * WEIR_BENCH_EOS_TXN_SIZE (100), WEIR_BENCH_EOS_PARTITIONS (3),
 * WEIR_BENCH_EOS_ROUNDS (3), WEIR_BENCH_EOS_GROUP_ROUNDS (3),
 * WEIR_BENCH_EOS_REBALANCE_DELAY_MS (3000).
 *
 * Exits 1 if the broker fails, a client call fails or times out, or a message
 * is lost, duplicated or damaged; 2 on bad usage.
 */
#define _GNU_SOURCE 1
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_common.h"

#define VALUE_BYTES 100
#define TXN_CALL_MS 30000 /* init/commit_transaction */
#define READ_TIMEOUT_NS (60 * BENCH_NS_PER_S)
#define GROUP_WAIT_NS (30 * BENCH_NS_PER_S) /* for a join or a rebalance */
#define GROUP_SETTLE_MS 1000                /* stable group before a member leaves */
#define GROUP_MEMBERS 3
#define GROUP_PARTITIONS 6
#define ERRORS_SHOWN_MAX 5

/* Client settings, printed in the output (the producers' others: BENCH_*). */
#define ACKS "all"
#define SESSION_TIMEOUT_MS "6000"
#define HEARTBEAT_MS 500 /* heartbeat.interval.ms */
#define ASSIGNOR "range"

#define TOPIC_WARM "eos-warm"
#define TOPIC_GROUP "eos-group"

typedef struct eos_cfg {
    int64_t message_count;     /* case 1, per run */
    int64_t txn_message_count; /* case 2, per run */
    int32_t txn_size;          /* messages per transaction */
    int32_t partition_count;   /* cases 1 and 2 */
    int rounds;                /* cases 1 and 2 */
    int group_rounds;          /* case 3 */
    int32_t rebalance_delay_ms;
    char weir_path[PATH_MAX];
} eos_cfg;

enum { MODE_PLAIN, MODE_IDEMPOTENT, MODE_TXN, MODE_COUNT };
static const char *const mode_names[MODE_COUNT] = {"plain", "idempotent", "transactional"};

/* One timed produce run. */
typedef struct run_result {
    double rate_per_s;
    double cpu_s_per_million; /* weir's; < 0: not known */
    double txn_per_s;         /* transactional runs */
    int64_t markers;          /* transactional runs: end offsets minus records */
} run_result;

/* Per-transaction times (ns) over all rounds of case 2. */
typedef struct txn_times {
    int64_t *ns;
    int64_t count;
    int64_t cap;
} txn_times;

/* One consumer of case 3 and what its rebalance callback has seen. */
typedef struct member {
    rd_kafka_t *rk;
    pthread_t thread;
    atomic_bool stop;          /* the polling thread returns */
    atomic_bool close_on_stop; /* ... after rd_kafka_consumer_close */
    atomic_uint owned;         /* partitions held, a bit each */
    atomic_llong assigned_ns;  /* when the last assignment came */
    atomic_llong revoked_ns;   /* when the last revocation came */
    atomic_int assign_count;   /* assignments so far */
    atomic_int error_count;    /* failed assign calls, consumer errors */
} member;

typedef struct group_round {
    double join_ms;
    double rebalance_ms;
    double close_ms;  /* how long rd_kafka_consumer_close took */
    double rejoin_ms; /* from the last survivor's revocation to the last new assignment */
} group_round;

/* ---- configuration ---- */

static void cfg_load(eos_cfg *cfg, int argc, char **argv)
{
    cfg->message_count = (int64_t)bench_env_num("WEIR_BENCH_EOS_MESSAGES", 500000, 1, 1e9);
    cfg->txn_message_count = (int64_t)bench_env_num("WEIR_BENCH_EOS_TXN_MESSAGES", 500000, 1, 1e9);
    cfg->txn_size = (int32_t)bench_env_num("WEIR_BENCH_EOS_TXN_SIZE", 100, 1, 1e6);
    cfg->partition_count =
        (int32_t)bench_env_num("WEIR_BENCH_EOS_PARTITIONS", 3, 1, BENCH_PARTITIONS_MAX);
    cfg->rounds = (int)bench_env_num("WEIR_BENCH_EOS_ROUNDS", 3, 1, BENCH_ROUNDS_MAX);
    cfg->group_rounds = (int)bench_env_num("WEIR_BENCH_EOS_GROUP_ROUNDS", 3, 1, BENCH_ROUNDS_MAX);
    cfg->rebalance_delay_ms =
        (int32_t)bench_env_num("WEIR_BENCH_EOS_REBALANCE_DELAY_MS", 3000, 0, 60000);
    int first = bench_args(argc, argv, 2, cfg->weir_path, sizeof cfg->weir_path);
    int left = argc - first;
    if (left > 0) {
        cfg->message_count = (int64_t)bench_num_parse(argv[first], "messages", 1, 1e9);
    }
    if (left > 1) {
        cfg->txn_message_count = (int64_t)bench_num_parse(argv[first + 1], "txn_messages", 1, 1e9);
    }
}

/* ---- produce ---- */

/* A producer in `mode` (txn_id: its transactional.id in MODE_TXN) whose
 * delivery reports go to *d, which must outlive it. */
static rd_kafka_t *producer_new(const char *bootstrap, int mode, const char *txn_id,
                                bench_deliveries *d)
{
    rd_kafka_conf_t *conf = bench_producer_conf(bootstrap, ACKS, mode != MODE_PLAIN, d);
    if (mode == MODE_TXN) {
        bench_conf_set(conf, "transactional.id", txn_id);
    }
    return bench_client_new(RD_KAFKA_PRODUCER, conf);
}

/* Runs a transactional API call; a failure ends the run with librdkafka's words. */
static void txn_call(rd_kafka_error_t *error, const char *what)
{
    if (error != NULL) {
        bench_die("%s: %s (%s%s%s)", what, rd_kafka_error_string(error),
                  rd_kafka_error_is_fatal(error) ? "fatal" : "not fatal",
                  rd_kafka_error_is_retriable(error) ? ", retriable" : "",
                  rd_kafka_error_txn_requires_abort(error) ? ", requires abort" : "");
    }
}

static void flush_checked(rd_kafka_t *rk, const char *what)
{
    rd_kafka_resp_err_t err = bench_flush_watching(rk);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        bench_die("%s: flush: %s (%d still queued)", what, rd_kafka_err2str(err),
                  rd_kafka_outq_len(rk));
    }
}

/* Before the clock: one message to the warm-up topic (in a transaction for a
 * transactional producer, after init_transactions), delivered. */
static void producer_warm(rd_kafka_t *rk, int mode, bench_deliveries *d)
{
    static const uint8_t value[VALUE_BYTES];
    if (mode == MODE_TXN) {
        txn_call(rd_kafka_init_transactions(rk, TXN_CALL_MS), "init_transactions");
        txn_call(rd_kafka_begin_transaction(rk), "begin_transaction (warm-up)");
    }
    rd_kafka_topic_t *warm = rd_kafka_topic_new(rk, TOPIC_WARM, NULL);
    bench_produce_one(rk, warm, value, sizeof value);
    if (mode == MODE_TXN) {
        txn_call(rd_kafka_commit_transaction(rk, TXN_CALL_MS), "commit_transaction (warm-up)");
    }
    flush_checked(rk, "warm-up");
    rd_kafka_topic_destroy(warm);
    bench_deliveries_check(d, 1, false, "warm-up");
    bench_deliveries_reset(d);
}

/* Sends count values; in MODE_TXN in transactions of txn_size, each one's time
 * appended to times. Returns the seconds from the first send to the last ack. */
static double produce_timed(const eos_cfg *cfg, rd_kafka_t *rk, rd_kafka_topic_t *rkt, int mode,
                            int64_t count, txn_times *times)
{
    uint8_t value[VALUE_BYTES];
    int64_t t0 = bench_mono_ns(), txn_t0 = t0;
    for (int64_t i = 0; i < count; i++) {
        bool txn_first = mode == MODE_TXN && i % cfg->txn_size == 0;
        if (txn_first) {
            txn_t0 = bench_mono_ns();
            txn_call(rd_kafka_begin_transaction(rk), "begin_transaction");
        }
        bench_value_fill(value, VALUE_BYTES, (uint64_t)i, 0);
        bench_produce_one(rk, rkt, value, sizeof value);
        if (mode == MODE_TXN && ((i + 1) % cfg->txn_size == 0 || i + 1 == count)) {
            txn_call(rd_kafka_commit_transaction(rk, TXN_CALL_MS), "commit_transaction");
            int64_t now = bench_mono_ns();
            if (times->count < times->cap) {
                times->ns[times->count++] = now - txn_t0;
            }
            bench_weir_check_alive();
        } else if (i % BENCH_POLL_EVERY == 0) {
            rd_kafka_poll(rk, 0);
            bench_weir_check_alive();
        }
    }
    if (mode != MODE_TXN) {
        flush_checked(rk, mode_names[mode]);
    }
    return (double)(bench_mono_ns() - t0) / BENCH_NS_PER_S;
}

/* ---- reading back ---- */

/* What the read-back consumer has seen; filled by on_read only. */
typedef struct read_pass {
    int32_t partition_count;
    uint64_t seq_count;
    uint8_t *seen; /* per sequence number */
    int64_t eof_offset[BENCH_PARTITIONS_MAX];
    int32_t eof_count;
    int64_t got;
    int64_t bad;
} read_pass;

static void on_read(rd_kafka_message_t *m, void *opaque)
{
    read_pass *rp = opaque;
    int32_t p = m->partition;
    const char *why = NULL;
    uint64_t seq = 0;
    int64_t sent_ns;
    if (p < 0 || p >= rp->partition_count) {
        why = "partition out of range";
    } else if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        rp->eof_count += rp->eof_offset[p] < 0;
        rp->eof_offset[p] = m->offset;
        return;
    } else if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        why = rd_kafka_message_errstr(m);
    } else if (!bench_value_check(m->payload, m->len, VALUE_BYTES, rp->seq_count, &seq, &sent_ns)) {
        why = "damaged value";
    } else if (rp->seen[seq]++ != 0) {
        why = "duplicate";
    }
    if (why != NULL) {
        if (rp->bad++ < ERRORS_SHOWN_MAX) {
            fprintf(stderr, "bench_eos: read back: partition %d offset %" PRId64 ": %s\n", (int)p,
                    m->offset, why);
        }
        return;
    }
    rp->got++;
}

/* The end offsets of the topic's partitions, summed; each goes to end_out. */
static int64_t end_offsets(rd_kafka_t *rk, const char *topic, int32_t partitions, int64_t *end_out)
{
    int64_t sum = 0;
    for (int32_t p = 0; p < partitions; p++) {
        int64_t lo = -1;
        rd_kafka_resp_err_t err =
            rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &end_out[p], 10000);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR || lo != 0) {
            bench_die("%s [%d]: watermarks: %s (low %" PRId64 ")", topic, p, rd_kafka_err2str(err),
                      lo);
        }
        sum += end_out[p];
    }
    return sum;
}

/* Reads every partition from 0 to its end with isolation.level=read_committed:
 * each of the count values exactly once and nothing else, or bench_die().
 * Returns the end offsets' sum. */
static int64_t read_back(const char *bootstrap, const char *topic, int32_t partitions,
                         int64_t count)
{
    rd_kafka_conf_t *conf = bench_client_conf(bootstrap);
    bench_conf_set(conf, "isolation.level", "read_committed");
    bench_conf_set(conf, "enable.partition.eof", "true");
    bench_conf_set(conf, "fetch.wait.max.ms", "5");
    rd_kafka_t *rk = bench_client_new(RD_KAFKA_CONSUMER, conf);
    int64_t end[BENCH_PARTITIONS_MAX];
    int64_t end_sum = end_offsets(rk, topic, partitions, end);
    read_pass rp = {.partition_count = partitions, .seq_count = (uint64_t)count};
    rp.seen = calloc((size_t)count, 1);
    if (rp.seen == NULL) {
        bench_die("out of memory");
    }
    for (int32_t p = 0; p < partitions; p++) {
        rp.eof_offset[p] = -1;
    }
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    for (int32_t p = 0; p < partitions; p++) {
        if (rd_kafka_consume_start_queue(rkt, p, 0, q) != 0) {
            bench_die("consume_start %s [%d]: %s", topic, p,
                      rd_kafka_err2str(rd_kafka_last_error()));
        }
    }
    int64_t deadline = bench_mono_ns() + READ_TIMEOUT_NS;
    while (rp.eof_count < partitions && rp.bad == 0 && bench_mono_ns() < deadline) {
        rd_kafka_consume_callback_queue(q, 100, on_read, &rp);
        bench_weir_check_alive();
    }
    for (int32_t p = 0; p < partitions; p++) {
        rd_kafka_consume_stop(rkt, p);
        if (rp.eof_offset[p] != end[p]) {
            bench_die("%s [%d]: read to offset %" PRId64 ", the end is %" PRId64, topic, p,
                      rp.eof_offset[p], end[p]);
        }
    }
    rd_kafka_topic_destroy(rkt);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    free(rp.seen);
    if (rp.got != count || rp.bad != 0) {
        bench_die("%s: read_committed read %" PRId64 " of %" PRId64 " values, %" PRId64 " wrong",
                  topic, rp.got, count, rp.bad);
    }
    return end_sum;
}

/* The log check after a run: end offsets, then every value read back. */
static int64_t log_check(const eos_cfg *cfg, const char *bootstrap, const char *topic, int mode,
                         int64_t count)
{
    int64_t end_sum = read_back(bootstrap, topic, cfg->partition_count, count);
    int64_t markers = end_sum - count;
    int64_t txns = (count + cfg->txn_size - 1) / cfg->txn_size;
    if (mode != MODE_TXN ? markers != 0 : markers < txns || markers > txns * cfg->partition_count) {
        bench_die("%s: end offsets sum to %" PRId64 " for %" PRId64 " messages (%s)", topic,
                  end_sum, count, mode_names[mode]);
    }
    return markers;
}

/* One timed run of `mode` into a new topic, checked end to end. */
static run_result produce_run(const eos_cfg *cfg, const char *bootstrap, rd_kafka_t *admin,
                              const char *topic, int mode, int64_t count, txn_times *times)
{
    bench_topic_create(admin, topic, cfg->partition_count);
    bench_deliveries d;
    char txn_id[128];
    snprintf(txn_id, sizeof txn_id, "bench-eos-%s", topic);
    rd_kafka_t *rk = producer_new(bootstrap, mode, txn_id, &d);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    bench_metadata_wait(rk, rkt, cfg->partition_count);
    producer_warm(rk, mode, &d);
    int64_t cpu0 = bench_weir_cpu_ns();
    double s = produce_timed(cfg, rk, rkt, mode, count, times);
    int64_t cpu1 = bench_weir_cpu_ns();
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    bench_deliveries_check(&d, count, mode != MODE_TXN, topic);
    run_result r = {.rate_per_s = (double)count / s, .cpu_s_per_million = -1};
    if (cpu0 >= 0 && cpu1 >= 0) {
        r.cpu_s_per_million = (double)(cpu1 - cpu0) / BENCH_NS_PER_S * 1e6 / (double)count;
    }
    if (mode == MODE_TXN) {
        r.txn_per_s = (double)((count + cfg->txn_size - 1) / cfg->txn_size) / s;
    }
    r.markers = log_check(cfg, bootstrap, topic, mode, count);
    return r;
}

/* Rounds of `mode` against plain acks=all, alternating who goes first. */
static void produce_rounds(const eos_cfg *cfg, const char *bootstrap, rd_kafka_t *admin, int mode,
                           int64_t count, run_result out[2][BENCH_ROUNDS_MAX], txn_times *times)
{
    int modes[2] = {mode, MODE_PLAIN};
    for (int r = 0; r < cfg->rounds; r++) {
        for (int k = 0; k < 2; k++) {
            int side = (k + r) % 2; /* 0 the case, 1 its baseline */
            char topic[96];
            snprintf(topic, sizeof topic, "eos-case%d-%s-%d", mode == MODE_TXN ? 2 : 1,
                     mode_names[modes[side]], r);
            out[side][r] = produce_run(cfg, bootstrap, admin, topic, modes[side], count, times);
        }
    }
}

/* ---- consumer group ---- */

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    member *m = opaque;
    int64_t now = bench_mono_ns();
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        unsigned mask = 0;
        for (int i = 0; i < parts->cnt; i++) {
            int32_t p = parts->elems[i].partition;
            mask |= p >= 0 && p < GROUP_PARTITIONS ? 1u << p : 0;
        }
        if (rd_kafka_assign(rk, parts) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            atomic_fetch_add(&m->error_count, 1);
        }
        atomic_store(&m->owned, mask);
        atomic_store(&m->assigned_ns, now);
        atomic_fetch_add(&m->assign_count, 1);
    } else {
        atomic_store(&m->owned, 0u);
        atomic_store(&m->revoked_ns, now);
        if (rd_kafka_assign(rk, NULL) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            atomic_fetch_add(&m->error_count, 1);
        }
    }
}

static void *member_poll(void *arg)
{
    member *m = arg;
    while (!atomic_load(&m->stop)) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(m->rk, 20);
        if (msg != NULL) {
            if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR &&
                atomic_fetch_add(&m->error_count, 1) < ERRORS_SHOWN_MAX) {
                fprintf(stderr, "bench_eos: group member: %s\n", rd_kafka_message_errstr(msg));
            }
            rd_kafka_message_destroy(msg);
        }
    }
    if (atomic_load(&m->close_on_stop)) {
        rd_kafka_consumer_close(m->rk);
    }
    return NULL;
}

static void member_open(member *m, const char *bootstrap, const char *group, int index)
{
    rd_kafka_conf_t *conf = bench_client_conf(bootstrap);
    char id[128];
    snprintf(id, sizeof id, "bench_eos-%s-%d", group, index);
    bench_conf_set(conf, "client.id", id);
    bench_conf_set(conf, "group.id", group);
    bench_conf_set(conf, "session.timeout.ms", SESSION_TIMEOUT_MS);
    char hb[16];
    snprintf(hb, sizeof hb, "%d", HEARTBEAT_MS);
    bench_conf_set(conf, "heartbeat.interval.ms", hb);
    bench_conf_set(conf, "partition.assignment.strategy", ASSIGNOR);
    bench_conf_set(conf, "enable.auto.commit", "false");
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_opaque(conf, m);
    memset(m, 0, sizeof *m);
    m->rk = bench_client_new(RD_KAFKA_CONSUMER, conf);
    rd_kafka_poll_set_consumer(m->rk);
    const rd_kafka_metadata_t *md = NULL; /* connects before the clock starts */
    if (rd_kafka_metadata(m->rk, 1, NULL, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        bench_die("group member %d: no metadata", index);
    }
    rd_kafka_metadata_destroy(md);
    if (pthread_create(&m->thread, NULL, member_poll, m) != 0) {
        bench_die("cannot start a consumer thread");
    }
}

/* When every member of ms[0..n) has had an assignment after since_ns and
 * together they hold disjoint partitions covering all of the group topic's:
 * the time of the last of those assignments; else -1. */
static int64_t group_settled_ns(member *const *ms, int n, int64_t since_ns)
{
    unsigned all = 0;
    int held = 0;
    int64_t last = 0;
    for (int i = 0; i < n; i++) {
        unsigned owned = atomic_load(&ms[i]->owned);
        int64_t at = atomic_load(&ms[i]->assigned_ns);
        if (owned == 0 || at <= since_ns) {
            return -1;
        }
        all |= owned;
        held += __builtin_popcount(owned);
        last = at > last ? at : last;
    }
    return all == (1u << GROUP_PARTITIONS) - 1 && held == GROUP_PARTITIONS ? last : -1;
}

static int64_t group_wait(member *const *ms, int n, int64_t since_ns, const char *what)
{
    int64_t deadline = bench_mono_ns() + GROUP_WAIT_NS;
    int64_t at;
    while ((at = group_settled_ns(ms, n, since_ns)) < 0) {
        if (bench_mono_ns() > deadline) {
            char held[128] = "";
            for (int i = 0; i < n; i++) {
                size_t len = strlen(held);
                snprintf(held + len, sizeof held - len, " 0x%x (%d assignments)",
                         atomic_load(&ms[i]->owned), atomic_load(&ms[i]->assign_count));
            }
            bench_die(
                "%s: the group did not settle within %lld s; partitions held, as bit masks:%s",
                what, GROUP_WAIT_NS / BENCH_NS_PER_S, held);
        }
        bench_weir_check_alive();
        bench_sleep_ms(1);
    }
    return at;
}

static void subscribe(member *m)
{
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, TOPIC_GROUP, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(m->rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        bench_die("subscribe: %s", rd_kafka_err2str(err));
    }
}

/* One round of case 3 in a new group. */
static group_round group_round_run(const char *bootstrap, int round, int rounds)
{
    char group[64];
    snprintf(group, sizeof group, "bench-eos-group-%d", round);
    static member ms[GROUP_MEMBERS];
    member *all[GROUP_MEMBERS];
    for (int i = 0; i < GROUP_MEMBERS; i++) {
        member_open(&ms[i], bootstrap, group, i);
        all[i] = &ms[i];
    }
    group_round res;
    int64_t t0 = bench_mono_ns();
    for (int i = 0; i < GROUP_MEMBERS; i++) {
        subscribe(&ms[i]);
    }
    res.join_ms = (double)(group_wait(all, GROUP_MEMBERS, t0, "initial join") - t0) / 1e6;
    /* each round's leave falls at another point of the heartbeat cycle */
    bench_sleep_ms(GROUP_SETTLE_MS + round * HEARTBEAT_MS / rounds);
    member *leaver = &ms[GROUP_MEMBERS - 1];
    atomic_store(&leaver->stop, true);
    pthread_join(leaver->thread, NULL);
    int64_t t1 = bench_mono_ns();
    rd_kafka_resp_err_t err = rd_kafka_consumer_close(leaver->rk);
    res.close_ms = (double)(bench_mono_ns() - t1) / 1e6;
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        bench_die("consumer_close: %s", rd_kafka_err2str(err));
    }
    int64_t settled = group_wait(all, GROUP_MEMBERS - 1, t1, "3 -> 2");
    res.rebalance_ms = (double)(settled - t1) / 1e6;
    int64_t revoked = 0;
    for (int i = 0; i < GROUP_MEMBERS - 1; i++) {
        int64_t at = atomic_load(&ms[i].revoked_ns);
        revoked = at > revoked ? at : revoked;
    }
    if (revoked <= t1) {
        bench_die("group %s: a member was reassigned without a revocation first", group);
    }
    res.rejoin_ms = (double)(settled - revoked) / 1e6;
    for (int i = 0; i < GROUP_MEMBERS - 1; i++) {
        atomic_store(&ms[i].close_on_stop, true);
        atomic_store(&ms[i].stop, true);
    }
    for (int i = 0; i < GROUP_MEMBERS; i++) {
        if (i < GROUP_MEMBERS - 1) {
            pthread_join(ms[i].thread, NULL);
        }
        if (atomic_load(&ms[i].error_count) != 0) {
            bench_die("group %s: member %d saw %d error(s)", group, i,
                      atomic_load(&ms[i].error_count));
        }
        rd_kafka_destroy(ms[i].rk);
    }
    return res;
}

/* Loads the group coordinator (FindCoordinator, OffsetFetch) before any timing. */
static void group_warm(const char *bootstrap)
{
    rd_kafka_conf_t *conf = bench_client_conf(bootstrap);
    bench_conf_set(conf, "group.id", "bench-eos-warm");
    rd_kafka_t *rk = bench_client_new(RD_KAFKA_CONSUMER, conf);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, TOPIC_GROUP, 0);
    rd_kafka_resp_err_t err = rd_kafka_committed(rk, parts, 20000);
    rd_kafka_topic_partition_list_destroy(parts);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        bench_die("warm-up group: committed offsets: %s", rd_kafka_err2str(err));
    }
    rd_kafka_destroy(rk);
}

/* ---- reporting ---- */

static double run_median(const run_result *v, int n, size_t field_offset)
{
    double x[BENCH_ROUNDS_MAX];
    for (int i = 0; i < n; i++) {
        memcpy(&x[i], (const char *)&v[i] + field_offset, sizeof x[i]);
    }
    return bench_median(x, n);
}

#define RUN_MEDIAN(v, n, field) run_median(v, n, offsetof(run_result, field))

static void report_rounds(const eos_cfg *cfg, const char *a, const char *b,
                          run_result out[2][BENCH_ROUNDS_MAX])
{
    printf("  median of %d; k msg/s %s/%s per round:", cfg->rounds, a, b);
    for (int r = 0; r < cfg->rounds; r++) {
        printf(" %.0f/%.0f", out[0][r].rate_per_s / 1e3, out[1][r].rate_per_s / 1e3);
    }
    double ca = RUN_MEDIAN(out[0], cfg->rounds, cpu_s_per_million);
    double cb = RUN_MEDIAN(out[1], cfg->rounds, cpu_s_per_million);
    if (ca >= 0 && cb >= 0) {
        printf("; weir CPU per million messages: %s %.3f s, %s %.3f s (ratio %.2f)", a, ca, b, cb,
               ca / cb);
    }
    printf("\n");
}

static void report_idempotence(const eos_cfg *cfg, run_result out[2][BENCH_ROUNDS_MAX])
{
    double i = RUN_MEDIAN(out[0], cfg->rounds, rate_per_s);
    double p = RUN_MEDIAN(out[1], cfg->rounds, rate_per_s);
    char a[32], b[32];
    printf("idempotent produce %d B, acks=all, %d partitions: %s msg/s  (plain, idempotence off: "
           "%s msg/s, ratio %.2f; aim >= 0.9: %s)\n",
           VALUE_BYTES, cfg->partition_count, bench_fmt_rate(a, sizeof a, i),
           bench_fmt_rate(b, sizeof b, p), i / p, i / p >= 0.9 ? "met" : "not met");
    report_rounds(cfg, "idempotent", "plain", out);
    printf("  every delivery report succeeded; each topic's end offsets sum to exactly %" PRId64
           " (offsets 0..n-1 per partition) and a read_committed consumer read every value once\n",
           cfg->message_count);
}

static void report_txn(const eos_cfg *cfg, run_result out[2][BENCH_ROUNDS_MAX], txn_times *times)
{
    double t = RUN_MEDIAN(out[0], cfg->rounds, rate_per_s);
    double p = RUN_MEDIAN(out[1], cfg->rounds, rate_per_s);
    char a[32], b[32];
    printf("transactional produce %d B, %d messages per transaction, acks=all, %d partitions: %s "
           "msg/s, %.0f transactions/s  (plain acks=all: %s msg/s, ratio %.2f)\n",
           VALUE_BYTES, cfg->txn_size, cfg->partition_count, bench_fmt_rate(a, sizeof a, t),
           RUN_MEDIAN(out[0], cfg->rounds, txn_per_s), bench_fmt_rate(b, sizeof b, p), t / p);
    report_rounds(cfg, "transactional", "plain", out);
    bench_sort_i64(times->ns, times->count);
    printf("  one transaction, begin to commit returned: p50 %.2f ms, p99 %.2f ms, max %.2f ms "
           "over %" PRId64 "; every delivery report succeeded; a read_committed consumer read "
           "exactly the %" PRId64 " values of each run once; commit markers per run:",
           bench_percentile_ms(times->ns, times->count, 0.5),
           bench_percentile_ms(times->ns, times->count, 0.99),
           (double)times->ns[times->count - 1] / BENCH_NS_PER_MS, times->count,
           cfg->txn_message_count);
    for (int r = 0; r < cfg->rounds; r++) {
        printf(" %" PRId64, out[0][r].markers);
    }
    printf(" (for %" PRId64 " transactions)\n",
           (cfg->txn_message_count + cfg->txn_size - 1) / cfg->txn_size);
}

static void report_group(const eos_cfg *cfg, const group_round *g)
{
    int n = cfg->group_rounds;
    double join[BENCH_ROUNDS_MAX], reb[BENCH_ROUNDS_MAX], rejoin[BENCH_ROUNDS_MAX];
    double cl[BENCH_ROUNDS_MAX];
    for (int r = 0; r < n; r++) {
        join[r] = g[r].join_ms;
        reb[r] = g[r].rebalance_ms;
        rejoin[r] = g[r].rejoin_ms;
        cl[r] = g[r].close_ms;
    }
    double j = bench_median(join, n), b = bench_median(reb, n);
    printf("group rebalance 3 -> 2 members (one rd_kafka_consumer_close), %d partitions: %.0f ms  "
           "(initial join of 3 members: %.0f ms, ratio %.2f; lower is better)\n",
           GROUP_PARTITIONS, b, j, b / j);
    printf("  median of %d; ms rebalance (of which rejoin)/join per round, the leave %d ms + "
           "round*%d/%d ms after the join:",
           n, GROUP_SETTLE_MS, HEARTBEAT_MS, n);
    for (int r = 0; r < n; r++) {
        printf(" %.0f (%.1f)/%.0f", g[r].rebalance_ms, g[r].rejoin_ms, g[r].join_ms);
    }
    printf("\n  the rebalance is the wait for the survivors' next heartbeat (whose answer "
           "announces it; their revoke callbacks) plus the rejoin, from the last revoke callback "
           "to the last new assignment (JoinGroup + SyncGroup): median %.1f ms; "
           "rd_kafka_consumer_close returned after %.1f ms (median)\n",
           bench_median(rejoin, n), bench_median(cl, n));
    int delays = cfg->rebalance_delay_ms > 0 ? (int)(j / cfg->rebalance_delay_ms) : 0;
    printf("  group.initial.rebalance.delay.ms=%d: the join holds %d whole delay(s) (members "
           "arriving during the first extend it once, as Kafka's InitialDelayedJoin does); join "
           "minus those: %.0f ms\n",
           cfg->rebalance_delay_ms, delays, j - (double)delays * cfg->rebalance_delay_ms);
}

static void print_setup(const char *bootstrap, const char *props)
{
    printf("bench_eos: librdkafka %s; one weir broker process (no controller, RF 1) at %s, "
           "log dir %s/logs; %d B values, no keys\n",
           rd_kafka_version_str(), bootstrap, bench_weir_root(), VALUE_BYTES);
    printf("  broker properties beyond node.id/listeners/log.dirs: %s\n", props);
    printf("  producers: acks=%s linger.ms=%s batch.size=%s batch.num.messages=%s "
           "compression=%s; group members: session.timeout.ms=%s heartbeat.interval.ms=%d "
           "partition.assignment.strategy=%s\n",
           ACKS, BENCH_LINGER_MS, BENCH_BATCH_BYTES, BENCH_BATCH_MESSAGES, BENCH_COMPRESSION,
           SESSION_TIMEOUT_MS, HEARTBEAT_MS, ASSIGNOR);
}

int main(int argc, char **argv)
{
    bench_init("bench_eos", "bench_eos [-w WEIR] [messages [txn_messages]]");
    eos_cfg cfg;
    cfg_load(&cfg, argc, argv);
    char props[512], bootstrap[64];
    snprintf(props, sizeof props,
             "num.partitions=%d\noffsets.topic.replication.factor=1\n"
             "transaction.state.log.replication.factor=1\ngroup.initial.rebalance.delay.ms=%d\n",
             cfg.partition_count, cfg.rebalance_delay_ms);
    bench_weir_start(cfg.weir_path, props, bootstrap, sizeof bootstrap);
    for (char *c = strchr(props, '\n'); c != NULL; c = strchr(c, '\n')) {
        *c = c[1] != '\0' ? ' ' : '\0';
    }
    print_setup(bootstrap, props);
    rd_kafka_t *admin = bench_client_new(RD_KAFKA_PRODUCER, bench_client_conf(bootstrap));
    bench_topic_create(admin, TOPIC_WARM, cfg.partition_count);
    bench_topic_create(admin, TOPIC_GROUP, GROUP_PARTITIONS);

    static run_result idem[2][BENCH_ROUNDS_MAX], txn[2][BENCH_ROUNDS_MAX];
    txn_times times = {.cap = cfg.rounds *
                              ((cfg.txn_message_count + cfg.txn_size - 1) / cfg.txn_size)};
    times.ns = calloc((size_t)times.cap, sizeof *times.ns);
    if (times.ns == NULL) {
        bench_die("out of memory");
    }
    produce_rounds(&cfg, bootstrap, admin, MODE_IDEMPOTENT, cfg.message_count, idem, NULL);
    report_idempotence(&cfg, idem);
    produce_rounds(&cfg, bootstrap, admin, MODE_TXN, cfg.txn_message_count, txn, &times);
    report_txn(&cfg, txn, &times);
    free(times.ns);

    group_warm(bootstrap);
    static group_round g[BENCH_ROUNDS_MAX];
    for (int r = 0; r < cfg.group_rounds; r++) {
        g[r] = group_round_run(bootstrap, r, cfg.group_rounds);
    }
    report_group(&cfg, g);

    rd_kafka_destroy(admin);
    bench_weir_stop();
    return 0;
}
