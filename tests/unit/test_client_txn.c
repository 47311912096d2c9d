/* The producer's idempotence and transactions (impl/client/producer_txn.c)
 * and the cluster's coordinator lookup, in the simulator.
 *
 * A fake broker node ("fake:9092", broker id 1) answers Metadata,
 * FindCoordinator, ApiVersions, InitProducerId, Produce, AddPartitionsToTxn,
 * AddOffsetsToTxn, TxnOffsetCommit and EndTxn, and records what it received:
 * every batch's producer id, epoch, base sequence, attributes and bytes, and
 * every request's key and version in order. Like Kafka's broker it keeps one
 * log per partition, checks sequences per (producer id, epoch) and answers a
 * duplicate (same id, epoch and base sequence as an appended batch) with the
 * original offset; knobs make it close the connection instead of answering a
 * Produce it appended, answer one with an error, answer AddPartitionsToTxn
 * with CONCURRENT_TRANSACTIONS, delay its answers, advertise EndTxn v1 only.
 *
 * Checked: batches carry the producer id, epoch and contiguous sequences,
 * one batch per partition in flight; a retried batch is the same bytes with
 * the same sequence and is not appended twice; DUPLICATE_SEQUENCE_NUMBER is
 * success; fencing fails every pending record and later ones; an
 * out-of-order answer gets a new producer id; a rejected batch's sequence is
 * reused; transactions add their partitions before their first batch, send
 * offsets to the group coordinator, end with EndTxn v5 and a new epoch (or v1
 * and the same epoch without transaction_epoch_bump), and an abort drops
 * queued records.
 *
 * Then with weir's own brokers (a controller, three brokers, replication
 * factor 3, min ISR 2): partition 0's leader crashes once it has committed a
 * batch whose answer the producer has not had; the producer resends it to the
 * new leader, and only without idempotence does the log hold it twice. And
 * three transactions (commit, abort, commit; offsets in the first) read back
 * by a read_committed consumer (the committed ones, once) and a
 * read_uncommitted one (all three), with and without the epoch bump.
 *
 * Each run is a forked child: SimGrid starts once per process.
 * WEIR_TEST_CLIENT_LOG=debug|info|warn shows the nodes' log lines;
 * WEIR_TEST_CLIENT_SEEDS=n runs n crash seeds (6), WEIR_TEST_CLIENT_VERBOSE
 * prints each.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker/broker.h"
#include "client/cluster.h"
#include "client/consumer.h"
#include "client/producer.h"
#include "controller/controller.h"
#include "log/batch.h"
#include "log/log.h"
#include "proto/messages.h"
#include "sim.h"
#include "child_exit.h"

#define MS 1000000LL
#define TOPIC "t"
#define PARTS_MAX 4
#define RECORDS_MAX 400
#define BATCHES_MAX 600
#define REQS_MAX 600
#define FAKE_PID_IDEMPOTENT 1000
#define FAKE_PID_TXN 5000

/* ---- what a run sets and what it measured ---- */

typedef enum kind {
    K_PRODUCE = 0, /* records, then wait for every report */
    K_TXN,         /* transactions */
    K_LOOKUP,      /* weir_cluster_find_coordinator only */
} kind;

typedef struct run_cfg {
    kind kind;
    uint64_t seed;
    bool idempotent;
    bool transactional;
    bool epoch_bump;    /* transaction_epoch_bump */
    int32_t partitions; /* at the fake */
    int records;        /* K_PRODUCE: in all; K_TXN: per transaction */
    int per_tick;       /* K_PRODUCE: records per 1 ms tick */
    int32_t batch_size;
    int32_t linger_ms;
    int txns;                    /* K_TXN */
    unsigned abort_mask;         /* K_TXN: transaction i aborts when bit i is set */
    unsigned wait_mask;          /* K_TXN: transaction i waits for its reports before ending */
    bool offsets;                /* K_TXN: offsets in the first transaction */
    bool send_after_end;         /* K_PRODUCE: one more record once all are reported */
    int missing_records;         /* K_TXN: records to a topic the fake does not know, in txn 0 */
    int32_t delivery_timeout_ms; /* 0: the default */
    /* the fake's knobs */
    int64_t reply_delay_ns;
    int drop_produce_nth;  /* close instead of answering the Nth Produce (appended) */
    int error_produce_nth; /* answer the Nth Produce's first partition with error_code */
    int16_t error_code;
    bool dup_code;               /* duplicates get DUPLICATE_SEQUENCE_NUMBER */
    int concurrent_adds;         /* the first N AddPartitionsToTxn get CONCURRENT_TRANSACTIONS */
    int16_t end_txn_max;         /* EndTxn max advertised (0: weir's) */
    int coordinator_unavailable; /* the first N FindCoordinator get COORDINATOR_NOT_AVAILABLE */
} run_cfg;

typedef struct seen_batch {
    int32_t partition;
    int64_t producer_id;
    int16_t epoch;
    int32_t base_seq;
    int32_t count;
    int16_t attributes;
    bool txn_request; /* the Produce carried a transactional id */
    uint32_t crc;
    uint32_t len;
    int64_t offset; /* appended at; the original for a duplicate; -1 rejected */
    int16_t answer;
    int same_as; /* an earlier batch with the same bytes, or -1 */
    int request; /* index into reqs */
} seen_batch;

typedef struct seen_req {
    int16_t api_key;
    int16_t version;
    int8_t key_type;     /* FindCoordinator */
    bool committed;      /* EndTxn */
    bool has_txn_id;     /* InitProducerId, Produce */
    int64_t producer_id; /* as sent */
    int16_t epoch;
    int32_t count;      /* AddPartitionsToTxn partitions; TxnOffsetCommit offsets */
    int64_t offset_sum; /* TxnOffsetCommit */
} seen_req;

typedef struct rec_state {
    bool reported;
    int reports;
    int32_t partition;
    int64_t offset;
    int16_t error;
} rec_state;

typedef struct outcome {
    char failure[256];
    uint64_t hash;
    int64_t sim_ms;
    /* the fake */
    int nbatches;
    seen_batch batches[BATCHES_MAX];
    int nreqs;
    seen_req reqs[REQS_MAX];
    int inflight_max[PARTS_MAX];
    int sequence_errors;    /* out-of-order sequences the fake found itself */
    int produce_before_add; /* transactional batches to partitions not added */
    int stale_epoch;        /* transactional requests with another epoch than the current */
    int64_t log_end[PARTS_MAX];
    /* the client */
    int sent;
    rec_state recs[RECORDS_MAX + 1];
    int16_t init_error;
    int16_t end_error[8];
    int ends;
    int16_t offsets_error;
    int offsets_reports;
    int64_t pid_end[8];
    int16_t epoch_end[8];
    int64_t final_pid;
    int16_t final_epoch;
    int16_t extra_error; /* the record sent after the end (send_after_end) */
    int extra_reports;
    int send_outside_txn; /* weir_producer_send's answer outside a transaction */
    weir_producer_stats stats;
    int lookup_err;
    int32_t lookup_node;
    int lookup_calls;
    bool finished;
} outcome;

static outcome O;
static const run_cfg *RC;
static weir_world *W;

static void run_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void run_fail(const char *fmt, ...)
{
    if (O.failure[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(O.failure, sizeof O.failure, fmt, ap);
        va_end(ap);
    }
    weir_world_stop(W);
}

/* ---- the fake broker ---- */

typedef struct fake_reply {
    struct fake_reply *next;
    weir_conn *conn;
    int64_t due_ns;
    uint32_t parts_mask; /* Produce: partitions whose in-flight count drops when sent */
    size_t len;
    uint8_t data[];
} fake_reply;

typedef struct fake {
    weir_env *env;
    weir_listener *listener;
    weir_wr w;
    weir_arena a;
    uint8_t *bytes[BATCHES_MAX]; /* each seen batch, for byte comparisons */
    int produces;
    int adds;
    int lookups;
    int inflight[PARTS_MAX];
    /* per partition: the latest (producer id, epoch) and its last sequence */
    int64_t seq_pid[PARTS_MAX];
    int16_t seq_epoch[PARTS_MAX];
    int32_t seq_last[PARTS_MAX];
    int64_t next_pid;
    bool txn_known;
    int64_t txn_pid;
    int16_t txn_epoch;
    bool added[PARTS_MAX];
    fake_reply *replies; /* in due order */
    fake_reply *replies_tail;
    weir_timer *timer;
} fake;

static fake F;

static void fake_flush_replies(weir_env *env, void *arg);

static void fake_arm(void)
{
    if (F.timer == NULL && F.replies != NULL) {
        int64_t delay = F.replies->due_ns - weir_now_ns(F.env);
        F.timer = weir_timer_start(F.env, delay > 0 ? delay : 0, fake_flush_replies, NULL);
    }
}

static void fake_flush_replies(weir_env *env, void *arg)
{
    (void)arg;
    F.timer = NULL;
    int64_t now = weir_now_ns(env);
    while (F.replies != NULL && F.replies->due_ns <= now) {
        fake_reply *r = F.replies;
        F.replies = r->next;
        if (F.replies == NULL) {
            F.replies_tail = NULL;
        }
        for (int p = 0; p < PARTS_MAX; p++) {
            F.inflight[p] -= (r->parts_mask >> p) & 1;
        }
        if (r->conn != NULL) {
            weir_ignore(weir_conn_send(r->conn, r->data, r->len));
        }
        free(r);
    }
    fake_arm();
}

/* Queues what F.w holds as conn's next reply, after the run's delay. */
static void fake_reply_queue(weir_conn *conn, uint32_t parts_mask)
{
    if (weir_wr_status(&F.w) != 0) {
        run_fail("fake: encoding a reply failed");
        return;
    }
    fake_reply *r = malloc(sizeof *r + F.w.len);
    assert_non_null(r);
    r->next = NULL;
    r->conn = conn;
    r->due_ns = weir_now_ns(F.env) + RC->reply_delay_ns;
    r->parts_mask = parts_mask;
    r->len = F.w.len;
    memcpy(r->data, F.w.buf, F.w.len);
    if (F.replies_tail != NULL) {
        F.replies_tail->next = r;
    } else {
        F.replies = r;
    }
    F.replies_tail = r;
    fake_arm();
}

static seen_req *fake_req_add(const weir_request *req)
{
    if (O.nreqs >= REQS_MAX) {
        run_fail("fake: too many requests");
        return NULL;
    }
    seen_req *s = &O.reqs[O.nreqs++];
    memset(s, 0, sizeof *s);
    s->api_key = req->header.api_key;
    s->version = req->header.api_version;
    s->producer_id = -1;
    s->epoch = -1;
    return s;
}

static void fake_metadata(weir_conn *conn, const weir_request *req)
{
    static weir_metadata_partition parts[PARTS_MAX];
    static weir_metadata_topic topics[8];
    static const int32_t one[1] = {1};
    weir_metadata_broker broker = {1, weir_str_from("fake"), 9092, WEIR_STR_NULL};
    const weir_metadata_request *m = &req->body.metadata;
    for (int32_t p = 0; p < RC->partitions; p++) {
        parts[p] = (weir_metadata_partition){0, p, 1, 1, one, 1, one};
    }
    int32_t n = m->topic_count > 8 ? 8 : (m->topic_count < 0 ? 0 : m->topic_count);
    for (int32_t i = 0; i < n; i++) {
        bool known = weir_str_eq_cstr(m->topics[i], TOPIC);
        topics[i] =
            (weir_metadata_topic){known ? WEIR_KERR_NONE : WEIR_KERR_UNKNOWN_TOPIC_OR_PARTITION,
                                  m->topics[i], false, known ? RC->partitions : 0, parts};
    }
    weir_metadata_response r = {0, 1, &broker, WEIR_STR_NULL, 1, n, topics};
    weir_ignore(weir_encode_metadata_response(&F.w, req->header.api_version, &r));
    fake_reply_queue(conn, 0);
}

/* Where a Produce's batch goes: appended, a duplicate, or rejected. */
static void fake_judge_batch(seen_batch *b, bool forced_error)
{
    int32_t p = b->partition;
    if (forced_error) {
        b->answer = RC->error_code;
        b->offset = -1;
        return;
    }
    if (b->producer_id >= 0) {
        for (int i = 0; i < O.nbatches - 1; i++) {
            const seen_batch *o = &O.batches[i];
            if (o->partition == p && o->offset >= 0 && o->answer == WEIR_KERR_NONE &&
                o->producer_id == b->producer_id && o->epoch == b->epoch &&
                o->base_seq == b->base_seq) {
                b->answer = RC->dup_code ? WEIR_KERR_DUPLICATE_SEQUENCE_NUMBER : WEIR_KERR_NONE;
                b->offset = o->offset;
                return;
            }
        }
        bool same = F.seq_pid[p] == b->producer_id && F.seq_epoch[p] == b->epoch;
        int32_t expect = same ? (F.seq_last[p] == INT32_MAX ? 0 : F.seq_last[p] + 1) : 0;
        if (b->base_seq != expect) {
            O.sequence_errors++;
            b->answer = WEIR_KERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
            b->offset = -1;
            return;
        }
        F.seq_pid[p] = b->producer_id;
        F.seq_epoch[p] = b->epoch;
        F.seq_last[p] = b->base_seq + b->count - 1;
    }
    b->answer = WEIR_KERR_NONE;
    b->offset = O.log_end[p];
    O.log_end[p] += b->count;
}

static void fake_produce(weir_conn *conn, const weir_request *req)
{
    const weir_produce_request *pr = &req->body.produce;
    seen_req *sr = fake_req_add(req);
    if (sr == NULL) {
        return;
    }
    sr->has_txn_id = pr->transactional_id.len >= 0;
    F.produces++;
    static weir_produce_partition_response presp[16];
    static weir_produce_topic_response tresp[1];
    int32_t np = 0;
    uint32_t mask = 0;
    for (int32_t t = 0; t < pr->topic_count; t++) {
        for (int32_t j = 0; j < pr->topics[t].partition_count && np < 16; j++) {
            const weir_produce_partition *pp = &pr->topics[t].partitions[j];
            if (O.nbatches >= BATCHES_MAX || pp->partition_index < 0 ||
                pp->partition_index >= RC->partitions || pp->records.len < 61) {
                run_fail("fake: a Produce it cannot take");
                return;
            }
            weir_batch_header h;
            const char *why = NULL;
            if (weir_batch_validate(pp->records.p, (size_t)pp->records.len, &h, &why) != 0) {
                run_fail("fake: a bad batch: %s", why);
                return;
            }
            int idx = O.nbatches++;
            seen_batch *b = &O.batches[idx];
            *b = (seen_batch){pp->partition_index,
                              h.producer_id,
                              h.producer_epoch,
                              h.base_sequence,
                              h.record_count,
                              h.attributes,
                              sr->has_txn_id,
                              h.crc,
                              (uint32_t)pp->records.len,
                              -1,
                              0,
                              -1,
                              O.nreqs - 1};
            F.bytes[idx] = malloc((size_t)pp->records.len);
            assert_non_null(F.bytes[idx]);
            memcpy(F.bytes[idx], pp->records.p, (size_t)pp->records.len);
            for (int i = 0; i < idx && b->same_as < 0; i++) {
                if (O.batches[i].partition == b->partition && O.batches[i].len == b->len &&
                    memcmp(F.bytes[i], F.bytes[idx], b->len) == 0) {
                    b->same_as = i;
                }
            }
            if (sr->has_txn_id) {
                if (!F.added[b->partition]) {
                    O.produce_before_add++;
                }
                if (b->producer_id != F.txn_pid || b->epoch != F.txn_epoch) {
                    O.stale_epoch++;
                }
            }
            fake_judge_batch(b, F.produces == RC->error_produce_nth && np == 0);
            presp[np] =
                (weir_produce_partition_response){b->partition, b->answer, b->offset, -1, 0};
            np++;
            mask |= 1u << b->partition;
            F.inflight[b->partition]++;
            if (F.inflight[b->partition] > O.inflight_max[b->partition]) {
                O.inflight_max[b->partition] = F.inflight[b->partition];
            }
        }
    }
    if (F.produces == RC->drop_produce_nth) {
        for (int p = 0; p < PARTS_MAX; p++) {
            F.inflight[p] -= (mask >> p) & 1;
        }
        weir_conn_close(conn); /* appended, but the answer is lost */
        return;
    }
    tresp[0] = (weir_produce_topic_response){weir_str_from(TOPIC), np, presp};
    weir_produce_response r = {1, tresp, 0};
    weir_ignore(weir_encode_produce_response(&F.w, req->header.api_version, &r));
    fake_reply_queue(conn, mask);
}

static void fake_find_coordinator(weir_conn *conn, const weir_request *req)
{
    seen_req *sr = fake_req_add(req);
    if (sr == NULL) {
        return;
    }
    sr->key_type = req->body.find_coordinator.key_type;
    F.lookups++;
    weir_find_coordinator_response r = {0, WEIR_KERR_NONE,        WEIR_STR_NULL,
                                        1, weir_str_from("fake"), 9092};
    if (F.lookups <= RC->coordinator_unavailable) {
        r = (weir_find_coordinator_response){
            0, WEIR_KERR_COORDINATOR_NOT_AVAILABLE, WEIR_STR_NULL, -1, weir_str_from(""), -1};
    }
    weir_ignore(weir_encode_find_coordinator_response(&F.w, req->header.api_version, &r));
    fake_reply_queue(conn, 0);
}

static void fake_api_versions(weir_conn *conn, const weir_request *req)
{
    static weir_api_range table[64];
    (void)fake_req_add(req);
    int32_t n = weir_api_table_count < 64 ? weir_api_table_count : 64;
    for (int32_t i = 0; i < n; i++) {
        table[i] = weir_api_table[i];
        if (table[i].api_key == WEIR_API_END_TXN && RC->end_txn_max > 0) {
            table[i].max_version = RC->end_txn_max;
        }
    }
    weir_api_versions_response r = {WEIR_KERR_NONE, n, table, 0};
    weir_ignore(weir_encode_api_versions_response(&F.w, req->header.api_version, &r));
    fake_reply_queue(conn, 0);
}

static void fake_init_producer_id(weir_conn *conn, const weir_request *req)
{
    seen_req *sr = fake_req_add(req);
    if (sr == NULL) {
        return;
    }
    const weir_init_producer_id_request *ir = &req->body.init_producer_id;
    sr->has_txn_id = ir->transactional_id.len >= 0;
    weir_init_producer_id_response r = {0, WEIR_KERR_NONE, -1, -1};
    if (sr->has_txn_id) {
        if (!F.txn_known) {
            F.txn_known = true;
            F.txn_pid = FAKE_PID_TXN;
            F.txn_epoch = 0;
        } else {
            F.txn_epoch++; /* fences the older instance, as Kafka's coordinator */
        }
        memset(F.added, 0, sizeof F.added);
        r.producer_id = F.txn_pid;
        r.producer_epoch = F.txn_epoch;
    } else {
        r.producer_id = F.next_pid++;
        r.producer_epoch = 0;
    }
    weir_ignore(weir_encode_init_producer_id_response(&F.w, req->header.api_version, &r));
    fake_reply_queue(conn, 0);
}

static void fake_check_txn_epoch(int64_t pid, int16_t epoch)
{
    if (pid != F.txn_pid || epoch != F.txn_epoch) {
        O.stale_epoch++;
    }
}

static void fake_add_partitions(weir_conn *conn, const weir_request *req)
{
    seen_req *sr = fake_req_add(req);
    if (sr == NULL) {
        return;
    }
    const weir_add_partitions_to_txn_request *ar = &req->body.add_partitions_to_txn;
    sr->producer_id = ar->producer_id;
    sr->epoch = ar->producer_epoch;
    fake_check_txn_epoch(ar->producer_id, ar->producer_epoch);
    F.adds++;
    bool busy = F.adds <= RC->concurrent_adds;
    static weir_add_partitions_to_txn_partition_result pres[16];
    static weir_add_partitions_to_txn_topic_result tres[4];
    int32_t np = 0;
    int32_t nt = 0;
    for (int32_t t = 0; t < ar->topic_count && nt < 4; t++) {
        tres[nt] = (weir_add_partitions_to_txn_topic_result){ar->topics[t].name, 0, &pres[np]};
        for (int32_t j = 0; j < ar->topics[t].partition_count && np < 16; j++) {
            int32_t p = ar->topics[t].partitions[j];
            pres[np++] = (weir_add_partitions_to_txn_partition_result){
                p, busy ? WEIR_KERR_CONCURRENT_TRANSACTIONS : WEIR_KERR_NONE};
            tres[nt].result_count++;
            sr->count++;
            if (!busy && p >= 0 && p < PARTS_MAX) {
                F.added[p] = true;
            }
        }
        nt++;
    }
    weir_add_partitions_to_txn_response r = {0, nt, tres};
    weir_ignore(weir_encode_add_partitions_to_txn_response(&F.w, req->header.api_version, &r));
    fake_reply_queue(conn, 0);
}

static void fake_add_offsets(weir_conn *conn, const weir_request *req)
{
    seen_req *sr = fake_req_add(req);
    if (sr == NULL) {
        return;
    }
    sr->producer_id = req->body.add_offsets_to_txn.producer_id;
    sr->epoch = req->body.add_offsets_to_txn.producer_epoch;
    fake_check_txn_epoch(sr->producer_id, sr->epoch);
    weir_add_offsets_to_txn_response r = {0, WEIR_KERR_NONE};
    weir_ignore(weir_encode_add_offsets_to_txn_response(&F.w, req->header.api_version, &r));
    fake_reply_queue(conn, 0);
}

static void fake_txn_offset_commit(weir_conn *conn, const weir_request *req)
{
    seen_req *sr = fake_req_add(req);
    if (sr == NULL) {
        return;
    }
    const weir_txn_offset_commit_request *tr = &req->body.txn_offset_commit;
    sr->producer_id = tr->producer_id;
    sr->epoch = tr->producer_epoch;
    fake_check_txn_epoch(sr->producer_id, sr->epoch);
    static weir_txn_offset_commit_partition_response pres[16];
    static weir_txn_offset_commit_topic_response tres[4];
    int32_t np = 0;
    int32_t nt = 0;
    for (int32_t t = 0; t < tr->topic_count && nt < 4; t++) {
        tres[nt] = (weir_txn_offset_commit_topic_response){tr->topics[t].name, 0, &pres[np]};
        for (int32_t j = 0; j < tr->topics[t].partition_count && np < 16; j++) {
            const weir_txn_offset_commit_partition *pp = &tr->topics[t].partitions[j];
            pres[np++] =
                (weir_txn_offset_commit_partition_response){pp->partition_index, WEIR_KERR_NONE};
            tres[nt].partition_count++;
            sr->count++;
            sr->offset_sum += pp->committed_offset;
        }
        nt++;
    }
    weir_txn_offset_commit_response r = {0, nt, tres};
    weir_ignore(weir_encode_txn_offset_commit_response(&F.w, req->header.api_version, &r));
    fake_reply_queue(conn, 0);
}

static void fake_end_txn(weir_conn *conn, const weir_request *req)
{
    seen_req *sr = fake_req_add(req);
    if (sr == NULL) {
        return;
    }
    const weir_end_txn_request *er = &req->body.end_txn;
    sr->producer_id = er->producer_id;
    sr->epoch = er->producer_epoch;
    sr->committed = er->committed;
    fake_check_txn_epoch(er->producer_id, er->producer_epoch);
    memset(F.added, 0, sizeof F.added);
    weir_end_txn_response r = {0, WEIR_KERR_NONE, -1, -1};
    if (req->header.api_version >= 5) {
        F.txn_epoch++; /* KIP-890: a new epoch per transaction */
        r.producer_id = F.txn_pid;
        r.producer_epoch = F.txn_epoch;
    }
    weir_ignore(weir_encode_end_txn_response(&F.w, req->header.api_version, &r));
    fake_reply_queue(conn, 0);
}

static void fake_on_frame(weir_conn *conn, const uint8_t *payload, size_t len, void *arg)
{
    (void)arg;
    weir_rd rd;
    weir_rd_init(&rd, payload, len);
    weir_arena_reset(&F.a);
    weir_request req;
    memset(&req, 0, sizeof req);
    if (weir_decode_request(&rd, &F.a, &req) != 0) {
        run_fail("fake: undecodable request (key %d v%d): %s", req.header.api_key,
                 req.header.api_version, rd.why ? rd.why : "?");
        return;
    }
    weir_wr_reset(&F.w);
    weir_ignore(weir_encode_response_header(&F.w, req.header.api_key, req.header.api_version,
                                            req.header.correlation_id));
    switch (req.header.api_key) {
    case WEIR_API_METADATA:
        fake_metadata(conn, &req);
        break;
    case WEIR_API_PRODUCE:
        fake_produce(conn, &req);
        break;
    case WEIR_API_FIND_COORDINATOR:
        fake_find_coordinator(conn, &req);
        break;
    case WEIR_API_API_VERSIONS:
        fake_api_versions(conn, &req);
        break;
    case WEIR_API_INIT_PRODUCER_ID:
        fake_init_producer_id(conn, &req);
        break;
    case WEIR_API_ADD_PARTITIONS_TO_TXN:
        fake_add_partitions(conn, &req);
        break;
    case WEIR_API_ADD_OFFSETS_TO_TXN:
        fake_add_offsets(conn, &req);
        break;
    case WEIR_API_TXN_OFFSET_COMMIT:
        fake_txn_offset_commit(conn, &req);
        break;
    case WEIR_API_END_TXN:
        fake_end_txn(conn, &req);
        break;
    default:
        run_fail("fake: unexpected %s request", weir_api_name(req.header.api_key));
    }
}

static void fake_on_close(weir_conn *conn, int reason, void *arg)
{
    (void)reason;
    (void)arg;
    for (fake_reply *r = F.replies; r != NULL; r = r->next) {
        if (r->conn == conn) {
            r->conn = NULL; /* dropped; its in-flight counts still go when due */
        }
    }
}

static void *fake_start(weir_env *env, void *arg)
{
    (void)arg;
    F.env = env;
    F.next_pid = FAKE_PID_IDEMPOTENT;
    for (int p = 0; p < PARTS_MAX; p++) {
        F.seq_pid[p] = -1;
        F.seq_last[p] = -1;
    }
    weir_wr_init(&F.w);
    weir_arena_init(&F.a, WEIR_ARENA_BYTES_MAX_DEFAULT);
    weir_conn_handlers h = {NULL, fake_on_frame, fake_on_close, NULL};
    if (weir_listen(env, "fake:9092", &h, &F.listener) != 0) {
        run_fail("fake: cannot listen");
    }
    return &F;
}

static void fake_destroy(void *state)
{
    (void)state;
    while (F.replies != NULL) {
        fake_reply *r = F.replies;
        F.replies = r->next;
        free(r);
    }
    for (int i = 0; i < BATCHES_MAX; i++) {
        free(F.bytes[i]);
        F.bytes[i] = NULL;
    }
    weir_wr_free(&F.w);
    weir_arena_free(&F.a);
}

static const weir_node_type fake_node = {"fake", fake_start, fake_destroy};

/* ---- the client ---- */

typedef struct client {
    weir_env *env;
    weir_producer *p;
    weir_cluster *cl;
    int txn;       /* the transaction being run (K_TXN) */
    int txn_first; /* its first record */
    bool finishing;
} client;

static client C;

static void finish_poll(weir_env *env, void *arg);

static void on_delivery(void *ctx, const char *topic, int32_t partition, int64_t offset,
                        int16_t error, void *opaque)
{
    (void)ctx;
    (void)topic;
    int id = (int)(intptr_t)opaque - 1;
    if (id == RECORDS_MAX) {
        O.extra_error = error;
        O.extra_reports++;
        return;
    }
    if (id < 0 || id >= RECORDS_MAX) {
        run_fail("a report for an unknown record");
        return;
    }
    rec_state *r = &O.recs[id];
    r->reports++;
    r->reported = true;
    r->partition = partition;
    r->offset = offset;
    r->error = error;
}

static int send_one(int id, int32_t partition)
{
    char value[64];
    memset(value, 'a' + id % 26, sizeof value);
    int n = snprintf(value, sizeof value, "rec-%d|", id);
    value[n] = '|';
    return weir_producer_send(C.p, TOPIC, partition, NULL, 0, value, (int32_t)sizeof value, -1,
                              (void *)(intptr_t)(id + 1));
}

static int reported_count(void)
{
    int n = 0;
    for (int i = 0; i < O.sent; i++) {
        n += O.recs[i].reported;
    }
    return n;
}

/* Stops the world once every record has its report (and waits a little for
 * anything that should not come). */
static void finish_poll(weir_env *env, void *arg)
{
    (void)arg;
    if (weir_producer_in_flight(C.p) != 0 || reported_count() < O.sent) {
        weir_timer_start(env, 1 * MS, finish_poll, NULL);
        return;
    }
    if (RC->send_after_end && O.extra_reports == 0 && !C.finishing) {
        C.finishing = true;
        if (weir_producer_send(C.p, TOPIC, 0, NULL, 0, "x", 1, -1,
                               (void *)(intptr_t)(RECORDS_MAX + 1)) != 0) {
            run_fail("the record after the end was refused");
            return;
        }
        weir_producer_flush(C.p);
        weir_timer_start(env, 1 * MS, finish_poll, NULL);
        return;
    }
    weir_producer_stats_get(C.p, &O.stats);
    weir_producer_id(C.p, &O.final_pid, &O.final_epoch);
    O.sim_ms = weir_sim_now_ns(W) / MS;
    weir_producer_free(C.p);
    C.p = NULL;
    O.finished = true;
    weir_world_stop(W);
}

static void produce_tick(weir_env *env, void *arg)
{
    (void)arg;
    for (int i = 0; i < RC->per_tick && O.sent < RC->records; i++) {
        int id = O.sent;
        if (send_one(id, id % RC->partitions) != 0) {
            run_fail("weir_producer_send refused record %d", id);
            return;
        }
        O.sent++;
    }
    if (O.sent < RC->records) {
        weir_timer_start(env, 1 * MS, produce_tick, NULL);
        return;
    }
    weir_producer_flush(C.p);
    weir_timer_start(env, 1 * MS, finish_poll, NULL);
}

/* ---- K_TXN: transactions one after another ---- */

static void txn_begin(weir_env *env, void *arg);

static void on_end(void *ctx, int16_t error)
{
    (void)ctx;
    int i = C.txn;
    if (i < 8) {
        O.end_error[i] = error;
        weir_producer_id(C.p, &O.pid_end[i], &O.epoch_end[i]);
    }
    O.ends++;
    C.txn++;
    if (error == WEIR_KERR_PRODUCER_FENCED || error == WEIR_KERR_INVALID_PRODUCER_EPOCH) {
        weir_timer_start(C.env, 0, finish_poll, NULL); /* fatal: nothing more */
        return;
    }
    if (error != WEIR_KERR_NONE) {
        /* commit failed: the transaction can only be aborted */
        if (weir_producer_abort_transaction(C.p, on_end, NULL) != 0) {
            run_fail("abort after a failed commit refused");
        }
        return;
    }
    if (C.txn < RC->txns) {
        weir_timer_start(C.env, 1 * MS, txn_begin, NULL);
    } else {
        weir_timer_start(C.env, 0, finish_poll, NULL);
    }
}

static void on_offsets(void *ctx, int16_t error)
{
    (void)ctx;
    O.offsets_error = error;
    O.offsets_reports++;
}

static void txn_end(weir_env *env, void *arg)
{
    (void)arg;
    unsigned bit = 1u << C.txn;
    if ((RC->wait_mask & bit) != 0 && reported_count() < O.sent) {
        weir_timer_start(env, 1 * MS, txn_end, NULL);
        return;
    }
    int err = (RC->abort_mask & bit) != 0 ? weir_producer_abort_transaction(C.p, on_end, NULL)
                                          : weir_producer_commit_transaction(C.p, on_end, NULL);
    if (err != 0) {
        run_fail("ending transaction %d refused: %s", C.txn, weir_err_str(err));
    }
}

static void txn_begin(weir_env *env, void *arg)
{
    (void)arg;
    if (weir_producer_begin_transaction(C.p) != 0) {
        run_fail("begin_transaction %d refused", C.txn);
        return;
    }
    if (weir_producer_begin_transaction(C.p) != WEIR_E_INVAL) {
        run_fail("a second begin_transaction was accepted");
        return;
    }
    C.txn_first = O.sent;
    for (int i = 0; i < RC->records && O.sent < RECORDS_MAX; i++) {
        int id = O.sent;
        if (send_one(id, id % RC->partitions) != 0) {
            run_fail("weir_producer_send refused record %d", id);
            return;
        }
        O.sent++;
    }
    for (int i = 0; C.txn == 0 && i < RC->missing_records && O.sent < RECORDS_MAX; i++) {
        if (weir_producer_send(C.p, "missing", -1, NULL, 0, "m", 1, -1,
                               (void *)(intptr_t)(O.sent + 1)) != 0) {
            run_fail("weir_producer_send refused a record to the missing topic");
            return;
        }
        O.sent++;
    }
    if (RC->offsets && C.txn == 0) {
        weir_partition_offset offs[3] = {{TOPIC, 0, 42}, {TOPIC, 1, 7}, {"other", 0, 1}};
        weir_group_metadata g = {"g1", -1, ""};
        if (weir_producer_send_offsets_to_transaction(C.p, offs, 3, &g, on_offsets, NULL) != 0) {
            run_fail("send_offsets_to_transaction refused");
            return;
        }
    }
    txn_end(env, NULL);
}

static void on_init(void *ctx, int16_t error)
{
    (void)ctx;
    O.init_error = error;
    if (error != WEIR_KERR_NONE) {
        run_fail("init_transactions: %s", weir_kerr_name(error));
        return;
    }
    weir_timer_start(C.env, 1 * MS, txn_begin, NULL);
}

/* ---- K_LOOKUP ---- */

static void on_lookup(weir_cluster *cl, int err, int32_t node_id, void *arg)
{
    (void)cl;
    (void)arg;
    O.lookup_calls++;
    O.lookup_err = err;
    O.lookup_node = node_id;
    O.finished = true;
    weir_world_stop(W);
}

static void *client_start(weir_env *env, void *arg)
{
    (void)arg;
    C.env = env;
    if (RC->kind == K_LOOKUP) {
        weir_cluster_config cc;
        weir_cluster_config_default(&cc);
        cc.bootstrap = "fake:9092";
        cc.request_timeout_ms = 2000;
        C.cl = weir_cluster_new(env, &cc, NULL);
        if (C.cl == NULL || weir_cluster_find_coordinator(C.cl, WEIR_COORDINATOR_GROUP, "g1",
                                                          on_lookup, NULL) != 0) {
            run_fail("lookup setup failed");
        }
        return &C;
    }
    weir_producer_config pc;
    weir_producer_config_default(&pc);
    pc.bootstrap = "fake:9092";
    pc.batch_size = RC->batch_size;
    pc.linger_ms = RC->linger_ms;
    pc.enable_idempotence = RC->idempotent;
    pc.transactional_id = RC->transactional ? "tx-1" : NULL;
    pc.transaction_epoch_bump = RC->epoch_bump;
    pc.request_timeout_ms = 1000;
    pc.retry_backoff_ms = 20;
    if (RC->delivery_timeout_ms > 0) {
        pc.delivery_timeout_ms = RC->delivery_timeout_ms;
    }
    const char *why = NULL;
    C.p = weir_producer_new(env, &pc, on_delivery, &C, &why);
    if (C.p == NULL) {
        run_fail("producer: %s", why ? why : "?");
        return &C;
    }
    if (RC->kind == K_PRODUCE) {
        weir_timer_start(env, 10 * MS, produce_tick, NULL);
        return &C;
    }
    O.send_outside_txn = weir_producer_send(C.p, TOPIC, 0, NULL, 0, "x", 1, -1, NULL);
    if (weir_producer_begin_transaction(C.p) != WEIR_E_INVAL) {
        run_fail("begin_transaction before init was accepted");
    }
    if (weir_producer_init_transactions(C.p, on_init, NULL) != 0 ||
        weir_producer_init_transactions(C.p, on_init, NULL) != WEIR_E_INVAL) {
        run_fail("init_transactions: not accepted once, or accepted twice");
    }
    return &C;
}

static void client_destroy(void *state)
{
    (void)state;
    weir_producer_abandon(C.p);
    weir_cluster_abandon(C.cl);
    C.p = NULL;
    C.cl = NULL;
}

static const weir_node_type client_node = {"client", client_start, client_destroy};

/* ---- running ---- */

static void run_in_child(const run_cfg *rc)
{
    RC = rc;
    memset(&O, 0, sizeof O);
    memset(&F, 0, sizeof F);
    memset(&C, 0, sizeof C);
    weir_sim_config cfg;
    weir_sim_config_default(&cfg, rc->seed);
    cfg.log_level = WEIR_LOG_ERROR;
    const char *lvl = getenv("WEIR_TEST_CLIENT_LOG");
    if (lvl != NULL) {
        cfg.log_level = strcmp(lvl, "debug") == 0  ? WEIR_LOG_DEBUG
                        : strcmp(lvl, "info") == 0 ? WEIR_LOG_INFO
                                                   : WEIR_LOG_WARN;
    }
    W = weir_sim_world_new(&cfg);
    if (W == NULL || weir_world_node_add(W, "fake", &fake_node, NULL) != 0 ||
        weir_world_node_add(W, "client", &client_node, NULL) != 0 ||
        weir_world_run(W, 60000 * MS) != 0) {
        snprintf(O.failure, sizeof O.failure, "world setup failed");
        return;
    }
    if (O.failure[0] == '\0' && !O.finished) {
        snprintf(O.failure, sizeof O.failure, "did not finish: %d sent, %d reported", O.sent,
                 reported_count());
    }
    O.hash = weir_sim_trace_hash(W);
}

static void run_forked(const run_cfg *rc, outcome *out)
{
    int fds[2];
    memset(out, 0, sizeof *out);
    if (pipe(fds) != 0) {
        snprintf(out->failure, sizeof out->failure, "pipe failed");
        return;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        run_in_child(rc);
        const uint8_t *p = (const uint8_t *)&O;
        for (size_t done = 0; done < sizeof O;) {
            ssize_t n = write(fds[1], p + done, sizeof O - done);
            if (n <= 0) {
                _exit(3);
            }
            done += (size_t)n;
        }
        test_child_exit(0);
    }
    close(fds[1]);
    uint8_t *p = (uint8_t *)out;
    size_t done = 0;
    while (done < sizeof *out) {
        ssize_t n = read(fds[0], p + done, sizeof *out - done);
        if (n <= 0) {
            break;
        }
        done += (size_t)n;
    }
    if (done != sizeof *out) {
        memset(out, 0, sizeof *out);
        snprintf(out->failure, sizeof out->failure, "child died");
    }
    close(fds[0]);
    waitpid(pid, NULL, 0);
}

static outcome *run(const run_cfg *rc)
{
    static outcome out;
    run_forked(rc, &out);
    if (out.failure[0] != '\0') {
        fail_msg("%s", out.failure);
    }
    return &out;
}

/* Index of the first request of key (from index `from`), or -1. */
static int req_find(const outcome *o, int16_t key, int from)
{
    for (int i = from; i < o->nreqs; i++) {
        if (o->reqs[i].api_key == key) {
            return i;
        }
    }
    return -1;
}

static int req_count(const outcome *o, int16_t key)
{
    int n = 0;
    for (int i = 0; i < o->nreqs; i++) {
        n += o->reqs[i].api_key == key;
    }
    return n;
}

/* Per partition, in arrival order: each first-seen batch (not a resend)
 * under the same (id, epoch) starts where the previous one ended. Returns
 * the number of breaks. */
static int sequence_breaks(const outcome *o, int32_t partition)
{
    int64_t pid = -2;
    int16_t epoch = -2;
    int32_t next = 0;
    int breaks = 0;
    for (int i = 0; i < o->nbatches; i++) {
        const seen_batch *b = &o->batches[i];
        if (b->partition != partition || b->same_as >= 0) {
            continue;
        }
        if (b->producer_id != pid || b->epoch != epoch) {
            pid = b->producer_id;
            epoch = b->epoch;
            next = 0;
        }
        breaks += b->base_seq != next;
        next = b->answer == WEIR_KERR_NONE ? b->base_seq + b->count : b->base_seq;
    }
    return breaks;
}

/* ---- tests ---- */

static const run_cfg idem_base = {
    .kind = K_PRODUCE,
    .seed = 3,
    .idempotent = true,
    .partitions = 2,
    .records = 120,
    .per_tick = 6,
    .batch_size = 400, /* a few records per batch */
    .linger_ms = 0,
    .reply_delay_ns = 3 * MS,
};

static void test_idempotent_batches_carry_the_producer_id_and_contiguous_sequences(void **state)
{
    (void)state;
    outcome *o = run(&idem_base);
    int init = req_find(o, WEIR_API_INIT_PRODUCER_ID, 0);
    assert_true(init >= 0);
    assert_false(o->reqs[init].has_txn_id);
    assert_int_equal(req_count(o, WEIR_API_INIT_PRODUCER_ID), 1);
    assert_true(req_find(o, WEIR_API_PRODUCE, 0) > init); /* no batch before the id */
    assert_true(o->nbatches > 10);
    for (int i = 0; i < o->nbatches; i++) {
        const seen_batch *b = &o->batches[i];
        assert_int_equal(b->producer_id, FAKE_PID_IDEMPOTENT);
        assert_int_equal(b->epoch, 0);
        assert_int_equal(b->attributes & WEIR_BATCH_TRANSACTIONAL, 0);
        assert_false(b->txn_request);
        assert_int_equal(b->answer, WEIR_KERR_NONE);
    }
    for (int32_t p = 0; p < 2; p++) {
        assert_int_equal(sequence_breaks(o, p), 0);
        assert_int_equal(o->inflight_max[p], 1); /* one batch per partition in flight */
    }
    assert_int_equal(o->sequence_errors, 0);
    assert_int_equal(o->log_end[0] + o->log_end[1], idem_base.records);
    for (int i = 0; i < idem_base.records; i++) {
        assert_int_equal(o->recs[i].reports, 1);
        assert_int_equal(o->recs[i].error, WEIR_KERR_NONE);
        assert_true(o->recs[i].offset >= 0);
    }
    assert_int_equal(o->final_pid, FAKE_PID_IDEMPOTENT);
    assert_int_equal(o->final_epoch, 0);
}

static void test_a_plain_producer_sends_no_producer_id_and_pipelines(void **state)
{
    (void)state;
    run_cfg rc = idem_base;
    rc.idempotent = false;
    outcome *o = run(&rc);
    assert_int_equal(req_count(o, WEIR_API_INIT_PRODUCER_ID), 0);
    for (int i = 0; i < o->nbatches; i++) {
        assert_int_equal(o->batches[i].producer_id, -1);
        assert_int_equal(o->batches[i].epoch, -1);
        assert_int_equal(o->batches[i].base_seq, -1);
    }
    assert_true(o->inflight_max[0] > 1); /* the one-in-flight rule is idempotence's */
    assert_int_equal(o->final_pid, -1);
}

static void test_a_batch_whose_answer_was_lost_is_resent_byte_for_byte_and_kept_once(void **state)
{
    (void)state;
    for (int dup_code = 0; dup_code < 2; dup_code++) {
        run_cfg rc = idem_base;
        rc.drop_produce_nth = 4;
        rc.dup_code = dup_code != 0;
        outcome *o = run(&rc);
        int resent = 0;
        for (int i = 0; i < o->nbatches; i++) {
            const seen_batch *b = &o->batches[i];
            if (b->same_as < 0) {
                continue;
            }
            const seen_batch *first = &o->batches[b->same_as];
            resent++;
            assert_int_equal(b->base_seq, first->base_seq);
            assert_int_equal(b->crc, first->crc);
            assert_int_equal(b->offset, first->offset); /* the original offset */
            assert_int_equal(b->answer,
                             dup_code ? WEIR_KERR_DUPLICATE_SEQUENCE_NUMBER : WEIR_KERR_NONE);
        }
        assert_true(resent >= 1);
        assert_true(o->stats.batches_retried >= 1);
        /* nothing appended twice: the logs hold each record once */
        assert_int_equal(o->log_end[0] + o->log_end[1], rc.records);
        for (int i = 0; i < rc.records; i++) {
            assert_int_equal(o->recs[i].reports, 1);
            assert_int_equal(o->recs[i].error, WEIR_KERR_NONE);
            assert_true(o->recs[i].offset >= 0);
            for (int j = 0; j < i; j++) {
                assert_false(o->recs[j].partition == o->recs[i].partition &&
                             o->recs[j].offset == o->recs[i].offset);
            }
        }
        assert_int_equal(o->sequence_errors, 0);
    }
}

static void test_fencing_fails_every_pending_record_and_later_ones(void **state)
{
    (void)state;
    for (int c = 0; c < 2; c++) {
        run_cfg rc = idem_base;
        rc.error_produce_nth = 5;
        rc.error_code = c == 0 ? WEIR_KERR_INVALID_PRODUCER_EPOCH : WEIR_KERR_PRODUCER_FENCED;
        rc.send_after_end = true;
        outcome *o = run(&rc);
        int ok = 0;
        int fenced = 0;
        for (int i = 0; i < rc.records; i++) {
            assert_int_equal(o->recs[i].reports, 1);
            ok += o->recs[i].error == WEIR_KERR_NONE;
            fenced += o->recs[i].error == rc.error_code;
        }
        assert_int_equal(ok + fenced, rc.records);
        assert_true(fenced > 0 && ok > 0);
        assert_int_equal(o->extra_reports, 1); /* a later record: reported, failed */
        assert_int_equal(o->extra_error, rc.error_code);
        /* records sent long after the fencing never went */
        assert_int_equal(o->recs[rc.records - 1].error, rc.error_code);
        assert_true(o->log_end[0] + o->log_end[1] < rc.records / 2);
    }
}

static void test_out_of_order_fails_the_batch_and_a_new_producer_id_starts_at_0(void **state)
{
    (void)state;
    run_cfg rc = idem_base;
    rc.error_produce_nth = 5;
    rc.error_code = WEIR_KERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
    outcome *o = run(&rc);
    int failed = 0;
    for (int i = 0; i < rc.records; i++) {
        assert_int_equal(o->recs[i].reports, 1);
        if (o->recs[i].error != WEIR_KERR_NONE) {
            assert_int_equal(o->recs[i].error, WEIR_KERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
            failed++;
        }
    }
    assert_true(failed > 0 && failed < rc.records / 4); /* that batch only */
    assert_int_equal(req_count(o, WEIR_API_INIT_PRODUCER_ID), 2);
    assert_int_equal(o->final_pid, FAKE_PID_IDEMPOTENT + 1);
    /* the fake checks sequences: a new id starts at 0 on every partition */
    assert_int_equal(o->sequence_errors, 0);
    assert_int_equal(sequence_breaks(o, 0), 0);
    assert_int_equal(sequence_breaks(o, 1), 0);
}

static void test_a_rejected_batch_gives_its_sequence_to_the_next_one(void **state)
{
    (void)state;
    run_cfg rc = idem_base;
    rc.error_produce_nth = 5;
    rc.error_code = WEIR_KERR_CORRUPT_MESSAGE;
    outcome *o = run(&rc);
    int failed = 0;
    for (int i = 0; i < rc.records; i++) {
        failed += o->recs[i].error == WEIR_KERR_CORRUPT_MESSAGE;
    }
    assert_true(failed > 0);
    assert_int_equal(req_count(o, WEIR_API_INIT_PRODUCER_ID), 1); /* same id */
    assert_int_equal(o->sequence_errors, 0); /* no gap: the next batch took its sequence */
    assert_int_equal(sequence_breaks(o, 0), 0);
    assert_int_equal(sequence_breaks(o, 1), 0);
}

static const run_cfg txn_base = {
    .kind = K_TXN,
    .seed = 7,
    .transactional = true,
    .epoch_bump = true,
    .partitions = 3,
    .records = 12,
    .batch_size = 16384,
    .linger_ms = 5,
    .txns = 3,
    .offsets = true,
    .reply_delay_ns = 1 * MS,
};

static void test_transactions_add_partitions_first_and_get_a_new_epoch_with_endtxn_v5(void **state)
{
    (void)state;
    run_cfg rc = txn_base;
    rc.concurrent_adds = 1;
    outcome *o = run(&rc);
    assert_int_equal(o->send_outside_txn, WEIR_E_INVAL);
    assert_int_equal(o->init_error, WEIR_KERR_NONE);
    /* FindCoordinator(transaction), ApiVersions, InitProducerId(tx-1), then data */
    int fc = req_find(o, WEIR_API_FIND_COORDINATOR, 0);
    assert_true(fc >= 0);
    assert_int_equal(o->reqs[fc].key_type, WEIR_COORDINATOR_TRANSACTION);
    int av = req_find(o, WEIR_API_API_VERSIONS, 0);
    int init = req_find(o, WEIR_API_INIT_PRODUCER_ID, 0);
    assert_true(fc < av && av < init);
    assert_true(o->reqs[init].has_txn_id);
    assert_int_equal(o->produce_before_add, 0);
    assert_int_equal(o->stale_epoch, 0);
    assert_true(req_count(o, WEIR_API_ADD_PARTITIONS_TO_TXN) >= rc.txns + 1); /* one retried */
    /* offsets: AddOffsetsToTxn, FindCoordinator(group), TxnOffsetCommit */
    int ao = req_find(o, WEIR_API_ADD_OFFSETS_TO_TXN, 0);
    int fg = req_find(o, WEIR_API_FIND_COORDINATOR, ao);
    int toc = req_find(o, WEIR_API_TXN_OFFSET_COMMIT, fg);
    assert_true(ao > init && fg > ao && toc > fg);
    assert_int_equal(o->reqs[fg].key_type, WEIR_COORDINATOR_GROUP);
    assert_int_equal(o->reqs[toc].version, 2);
    assert_int_equal(o->reqs[toc].count, 3);
    assert_int_equal(o->reqs[toc].offset_sum, 42 + 7 + 1);
    assert_int_equal(o->offsets_reports, 1);
    assert_int_equal(o->offsets_error, WEIR_KERR_NONE);
    /* every transaction committed with EndTxn v5, each under the next epoch */
    assert_int_equal(o->ends, rc.txns);
    int end = -1;
    for (int t = 0; t < rc.txns; t++) {
        assert_int_equal(o->end_error[t], WEIR_KERR_NONE);
        end = req_find(o, WEIR_API_END_TXN, end + 1);
        assert_true(end >= 0);
        assert_int_equal(o->reqs[end].version, 5);
        assert_true(o->reqs[end].committed);
        assert_int_equal(o->reqs[end].epoch, t);
        assert_int_equal(o->pid_end[t], FAKE_PID_TXN);
        assert_int_equal(o->epoch_end[t], t + 1);
    }
    /* batches: transactional, the transaction's epoch, sequences from 0 per epoch */
    for (int i = 0; i < o->nbatches; i++) {
        const seen_batch *b = &o->batches[i];
        assert_true(b->txn_request);
        assert_int_equal(b->attributes & WEIR_BATCH_TRANSACTIONAL, WEIR_BATCH_TRANSACTIONAL);
        assert_int_equal(b->producer_id, FAKE_PID_TXN);
        assert_int_equal(b->answer, WEIR_KERR_NONE);
    }
    for (int32_t p = 0; p < rc.partitions; p++) {
        assert_int_equal(sequence_breaks(o, p), 0);
    }
    assert_int_equal(o->sequence_errors, 0);
    for (int i = 0; i < o->sent; i++) {
        assert_int_equal(o->recs[i].reports, 1);
        assert_int_equal(o->recs[i].error, WEIR_KERR_NONE);
    }
}

static void test_without_epoch_bump_endtxn_v1_keeps_the_epoch_and_the_sequences(void **state)
{
    (void)state;
    run_cfg rc = txn_base;
    rc.epoch_bump = false;
    rc.offsets = false;
    outcome *o = run(&rc);
    assert_int_equal(req_count(o, WEIR_API_API_VERSIONS), 0);
    assert_int_equal(o->ends, rc.txns);
    for (int t = 0; t < rc.txns; t++) {
        assert_int_equal(o->end_error[t], WEIR_KERR_NONE);
        assert_int_equal(o->epoch_end[t], 0);
    }
    int end = -1;
    while ((end = req_find(o, WEIR_API_END_TXN, end + 1)) >= 0) {
        assert_int_equal(o->reqs[end].version, 1);
    }
    /* one epoch for all: each partition's sequences run on across transactions */
    for (int32_t p = 0; p < rc.partitions; p++) {
        int32_t next = 0;
        for (int i = 0; i < o->nbatches; i++) {
            if (o->batches[i].partition == p) {
                assert_int_equal(o->batches[i].epoch, 0);
                assert_int_equal(o->batches[i].base_seq, next);
                next += o->batches[i].count;
            }
        }
        assert_true(next >= rc.records * rc.txns / rc.partitions);
    }
    assert_int_equal(o->stale_epoch, 0);
}

static void test_a_broker_without_endtxn_v5_gets_v1(void **state)
{
    (void)state;
    run_cfg rc = txn_base;
    rc.end_txn_max = 1;
    rc.txns = 2;
    outcome *o = run(&rc);
    assert_int_equal(req_count(o, WEIR_API_API_VERSIONS), 1);
    int end = req_find(o, WEIR_API_END_TXN, 0);
    assert_true(end >= 0);
    assert_int_equal(o->reqs[end].version, 1);
    assert_int_equal(o->epoch_end[1], 0);
}

static void test_abort_drops_queued_records_and_ends_what_reached_the_coordinator(void **state)
{
    (void)state;
    run_cfg rc = txn_base;
    rc.offsets = false;
    rc.txns = 3;
    rc.abort_mask = 1u | 2u; /* 0: at once (records still queued); 1: after its reports */
    rc.wait_mask = 2u;
    rc.linger_ms = 50;
    outcome *o = run(&rc);
    assert_int_equal(o->ends, 3);
    for (int t = 0; t < 3; t++) {
        assert_int_equal(o->end_error[t], WEIR_KERR_NONE);
    }
    /* transaction 0: every record dropped, reported once; nothing reached the
     * coordinator, so no EndTxn for it */
    for (int i = 0; i < rc.records; i++) {
        assert_int_equal(o->recs[i].reports, 1);
        assert_int_equal(o->recs[i].error, WEIR_KERR_TRANSACTION_ABORTABLE);
    }
    /* transaction 1: written, then aborted; transaction 2 committed */
    for (int i = rc.records; i < 3 * rc.records; i++) {
        assert_int_equal(o->recs[i].reports, 1);
        assert_int_equal(o->recs[i].error, WEIR_KERR_NONE);
    }
    int e1 = req_find(o, WEIR_API_END_TXN, 0);
    int e2 = req_find(o, WEIR_API_END_TXN, e1 + 1);
    assert_true(e1 >= 0 && e2 > e1);
    assert_false(o->reqs[e1].committed);
    assert_true(o->reqs[e2].committed);
    assert_int_equal(req_find(o, WEIR_API_END_TXN, e2 + 1), -1);
    assert_int_equal(o->produce_before_add, 0);
    assert_int_equal(o->sequence_errors, 0);
}

static void test_a_fenced_transaction_fails_its_commit_and_its_records(void **state)
{
    (void)state;
    run_cfg rc = txn_base;
    rc.offsets = false;
    rc.txns = 2;
    rc.error_produce_nth = 1;
    rc.error_code = WEIR_KERR_PRODUCER_FENCED;
    outcome *o = run(&rc);
    assert_int_equal(o->ends, 1);
    assert_int_equal(o->end_error[0], WEIR_KERR_PRODUCER_FENCED);
    int fenced = 0;
    for (int i = 0; i < o->sent; i++) {
        assert_int_equal(o->recs[i].reports, 1);
        fenced += o->recs[i].error == WEIR_KERR_PRODUCER_FENCED;
    }
    assert_true(fenced > 0);
    assert_int_equal(req_count(o, WEIR_API_END_TXN), 0);
}

static void test_find_coordinator_retries_and_adds_the_node(void **state)
{
    (void)state;
    run_cfg rc = {.kind = K_LOOKUP, .seed = 5, .partitions = 1, .coordinator_unavailable = 2};
    outcome *o = run(&rc);
    assert_int_equal(o->lookup_calls, 1);
    assert_int_equal(o->lookup_err, 0);
    assert_int_equal(o->lookup_node, 1);
    assert_int_equal(req_count(o, WEIR_API_FIND_COORDINATOR), 3);
    assert_int_equal(o->reqs[0].key_type, WEIR_COORDINATOR_GROUP);
    rc.coordinator_unavailable = 1000; /* never: WEIR_E_TIMEOUT after request_timeout_ms */
    o = run(&rc);
    assert_int_equal(o->lookup_calls, 1);
    assert_int_equal(o->lookup_err, WEIR_E_TIMEOUT);
    assert_int_equal(o->lookup_node, -1);
    assert_true(o->nreqs > 3);
}

static void test_a_record_that_expires_makes_the_transaction_abortable(void **state)
{
    (void)state;
    run_cfg rc = txn_base;
    rc.offsets = false;
    rc.txns = 3;            /* the abort after the failed commit counts as one */
    rc.missing_records = 3; /* wait for metadata that never comes */
    rc.delivery_timeout_ms = 300;
    outcome *o = run(&rc);
    /* transaction 0: commit fails (REQUEST_TIMED_OUT), the abort that follows
     * succeeds; the next transaction commits */
    assert_int_equal(o->ends, 3);
    assert_int_equal(o->end_error[0], WEIR_KERR_REQUEST_TIMED_OUT);
    assert_int_equal(o->end_error[1], WEIR_KERR_NONE);
    assert_int_equal(o->end_error[2], WEIR_KERR_NONE);
    int e1 = req_find(o, WEIR_API_END_TXN, 0);
    int e2 = req_find(o, WEIR_API_END_TXN, e1 + 1);
    assert_true(e1 >= 0 && e2 > e1);
    assert_false(o->reqs[e1].committed);
    assert_true(o->reqs[e2].committed);
    int timed_out = 0;
    for (int i = 0; i < o->sent; i++) {
        assert_int_equal(o->recs[i].reports, 1);
        timed_out += o->recs[i].error == WEIR_KERR_REQUEST_TIMED_OUT;
    }
    assert_int_equal(timed_out, rc.missing_records);
    assert_int_equal(o->stale_epoch, 0);
}

static void test_the_same_seed_gives_the_same_trace_hash(void **state)
{
    (void)state;
    run_cfg rc = txn_base;
    rc.abort_mask = 2u;
    uint64_t a = run(&rc)->hash;
    uint64_t b = run(&rc)->hash;
    assert_true(a != 0);
    assert_true(a == b);
}

static void test_idempotence_configs_are_checked(void **state)
{
    (void)state;
    static int ctx;
    weir_producer_config pc;
    weir_producer_config_default(&pc);
    assert_true(pc.transaction_epoch_bump);
    assert_int_equal(pc.transaction_timeout_ms, 60000);
    pc.bootstrap = "b1:9092";
    pc.enable_idempotence = true;
    pc.acks = 1;
    const char *why = NULL;
    assert_null(weir_producer_new(NULL, &pc, on_delivery, &ctx, &why));
    assert_string_equal(why, "idempotence needs acks=all (-1)");
    pc.enable_idempotence = false;
    pc.transactional_id = "tx";
    assert_null(weir_producer_new(NULL, &pc, on_delivery, &ctx, &why));
    pc.acks = -1;
    pc.transactional_id = "";
    assert_null(weir_producer_new(NULL, &pc, on_delivery, &ctx, &why));
    pc.transactional_id = "tx";
    weir_producer *p = weir_producer_new(NULL, &pc, on_delivery, &ctx, &why);
    assert_non_null(p);
    int64_t pid;
    int16_t epoch;
    weir_producer_id(p, &pid, &epoch);
    assert_int_equal(pid, -1);
    assert_int_equal(epoch, -1);
    assert_int_equal(weir_producer_begin_transaction(p), WEIR_E_INVAL);
    assert_int_equal(weir_producer_send(p, TOPIC, 0, NULL, 0, "x", 1, -1, NULL), WEIR_E_INVAL);
    weir_producer_free(p);
    pc.transactional_id = NULL;
    p = weir_producer_new(NULL, &pc, on_delivery, &ctx, &why);
    assert_non_null(p);
    assert_int_equal(weir_producer_begin_transaction(p), WEIR_E_INVAL); /* not transactional */
    weir_producer_free(p);
}

/* ---- with weir brokers: a controller and three brokers ---- */

#define CL_PARTS 2
#define CL_RECORDS_MAX 4000

typedef struct cl_cfg {
    uint64_t seed;
    bool idempotent;
    bool transactional;
    bool epoch_bump;
    int records;            /* the crash run: records in all */
    int64_t crash_delay_ns; /* the crash run: from a Produce seen in flight to the crash */
} cl_cfg;

typedef struct cl_outcome {
    char failure[256];
    uint64_t hash;
    int acked;
    int failed;
    int64_t retried;
    int crashed;          /* the broker id crashed */
    int64_t copies_extra; /* records in the logs beyond one per id */
    int acked_missing;    /* acknowledged, not in the log at that offset */
    /* transactions */
    int ends;
    int16_t end_error[4];
    int16_t epoch_end[4];
    int16_t offsets_error;
    int rc_ids[3];  /* read_committed: records read per transaction */
    int ru_ids[3];  /* read_uncommitted */
    int rc_repeats; /* an id read twice at read_committed */
    int markers;    /* control batches in the logs */
    bool finished;
} cl_outcome;

typedef struct cl_run {
    const cl_cfg *cfg;
    weir_world *w;
    weir_env *env;
    weir_producer *p;
    weir_consumer *rc; /* read_committed */
    weir_consumer *ru; /* read_uncommitted */
    int sent;
    int reported;
    int64_t acked_offset[CL_RECORDS_MAX];
    int32_t acked_partition[CL_RECORDS_MAX];
    int64_t acked_end[CL_PARTS]; /* one past the highest offset acknowledged */
    bool crashed;
    bool restarted;
    int64_t restarted_ns;
    int txn;
    int64_t done_since_ns;
    bool rc_seen[CL_RECORDS_MAX];
    cl_outcome o;
} cl_run;

static cl_run CR;

static const char *cl_name(int32_t id)
{
    static const char *names[] = {"", "b1", "b2", "b3"};
    return id >= 1 && id <= 3 ? names[id] : "";
}

static int32_t cl_leader(const char *topic, int32_t partition)
{
    weir_controller *c = weir_world_node_state(CR.w, "controller");
    int32_t leader = -1;
    int32_t epoch;
    int32_t isr[16];
    int n_isr;
    if (c == NULL ||
        !weir_controller_partition(c, topic, partition, &leader, &epoch, isr, &n_isr)) {
        return -1;
    }
    return leader;
}

static void cl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void cl_fail(const char *fmt, ...)
{
    if (CR.o.failure[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(CR.o.failure, sizeof CR.o.failure, fmt, ap);
        va_end(ap);
    }
    weir_world_stop(CR.w);
}

static int cl_id_of(const uint8_t *value, int32_t len)
{
    int id = -1;
    char buf[16] = {0};
    if (value != NULL && len >= 9) {
        memcpy(buf, value, 9);
        if (sscanf(buf, "id=%06d", &id) != 1) {
            id = -1;
        }
    }
    return id >= 0 && id < CL_RECORDS_MAX ? id : -1;
}

static int cl_send(int id)
{
    char value[32];
    int n = snprintf(value, sizeof value, "id=%06d|payload", id);
    return weir_producer_send(CR.p, TOPIC, id % CL_PARTS, NULL, 0, value, n, -1,
                              (void *)(intptr_t)(id + 1));
}

static void cl_on_delivery(void *ctx, const char *topic, int32_t partition, int64_t offset,
                           int16_t error, void *opaque)
{
    (void)ctx;
    (void)topic;
    int id = (int)(intptr_t)opaque - 1;
    if (id < 0 || id >= CL_RECORDS_MAX) {
        cl_fail("a report for an unknown record");
        return;
    }
    CR.reported++;
    if (error == WEIR_KERR_NONE) {
        CR.o.acked++;
        CR.acked_offset[id] = offset;
        CR.acked_partition[id] = partition;
        if (partition >= 0 && partition < CL_PARTS && offset + 1 > CR.acked_end[partition]) {
            CR.acked_end[partition] = offset + 1;
        }
    } else {
        CR.o.failed++;
    }
}

static weir_producer *cl_producer(weir_env *env)
{
    weir_producer_config pc;
    weir_producer_config_default(&pc);
    pc.bootstrap = "b1:9092,b2:9092,b3:9092";
    pc.enable_idempotence = CR.cfg->idempotent;
    pc.transactional_id = CR.cfg->transactional ? "tx-cluster" : NULL;
    pc.transaction_epoch_bump = CR.cfg->epoch_bump;
    pc.request_timeout_ms = 3000;
    const char *why = NULL;
    weir_producer *p = weir_producer_new(env, &pc, cl_on_delivery, &CR, &why);
    if (p == NULL) {
        cl_fail("producer: %s", why ? why : "?");
    }
    return p;
}

/* Reads every partition's final leader's log: each record's id, the offset
 * it sits at, control batches. */
static void cl_read_logs(void)
{
    static int copies[CL_RECORDS_MAX];
    memset(copies, 0, sizeof copies);
    for (int32_t part = 0; part < CL_PARTS; part++) {
        int32_t leader = cl_leader(TOPIC, part);
        weir_broker *b = leader > 0 ? weir_world_node_state(CR.w, cl_name(leader)) : NULL;
        struct weir_plog *log = b != NULL ? weir_broker_partition_log(b, TOPIC, part) : NULL;
        if (log == NULL) {
            snprintf(CR.o.failure, sizeof CR.o.failure, "no leader log for %s-%d (leader %d, %p)",
                     TOPIC, part, leader, (void *)b);
            return;
        }
        for (int64_t off = weir_plog_start_offset(log); off < weir_plog_end_offset(log);) {
            weir_log_read_result rr;
            if (weir_plog_read(log, off, 1 << 20, true, &rr) != 0) {
                snprintf(CR.o.failure, sizeof CR.o.failure, "log read failed");
                return;
            }
            for (size_t at = 0; at < rr.len;) {
                weir_batch_header bh;
                weir_batch_header_decode(rr.data + at, &bh);
                size_t total = (size_t)weir_batch_total_bytes(&bh);
                weir_record_iter it;
                weir_record rec;
                if ((bh.attributes & WEIR_BATCH_CONTROL) != 0) {
                    CR.o.markers++;
                } else if (weir_record_iter_init(&it, rr.data + at, total) == 0) {
                    while (weir_record_next(&it, &rec) == 1) {
                        int id = cl_id_of(rec.value, rec.value_len);
                        if (id < 0) {
                            continue;
                        }
                        copies[id]++;
                        int64_t at_off = bh.base_offset + rec.offset_delta;
                        if (CR.acked_offset[id] == at_off && CR.acked_partition[id] == part) {
                            CR.acked_offset[id] = -2; /* found where its report said */
                        }
                    }
                }
                at += total;
            }
            off = rr.next_offset;
            weir_log_read_result_free(&rr);
        }
    }
    for (int id = 0; id < CR.sent; id++) {
        CR.o.copies_extra += copies[id] > 1 ? copies[id] - 1 : 0;
        CR.o.acked_missing += CR.acked_offset[id] >= 0;
    }
}

/* -- the crash run: an idempotent (or plain) producer, the leader crashes -- */

static void cl_finish(weir_env *env, void *arg)
{
    (void)arg;
    if (CR.reported < CR.sent || CR.sent < CR.cfg->records || !CR.restarted ||
        weir_now_ns(env) < CR.restarted_ns + 3000 * MS) {
        weir_timer_start(env, 10 * MS, cl_finish, NULL);
        return;
    }
    weir_producer_stats st;
    weir_producer_stats_get(CR.p, &st);
    CR.o.retried = st.batches_retried;
    weir_producer_free(CR.p);
    CR.p = NULL;
    CR.o.finished = true; /* the world runs on to its end: the logs are read then */
}

static void cl_tick(weir_env *env, void *arg)
{
    (void)arg;
    for (int i = 0; i < 10 && CR.sent < CR.cfg->records; i++) {
        if (cl_send(CR.sent) != 0) {
            cl_fail("send refused");
            return;
        }
        CR.sent++;
    }
    if (CR.sent < CR.cfg->records) {
        weir_timer_start(env, 5 * MS, cl_tick, NULL);
    }
}

static void cl_restart(weir_env *env, void *arg)
{
    (void)arg;
    if (weir_world_restart(CR.w, cl_name(CR.o.crashed)) != 0) {
        cl_fail("restart failed");
        return;
    }
    CR.restarted = true;
    CR.restarted_ns = weir_now_ns(env);
}

static void cl_crash(weir_env *env, void *arg)
{
    (void)arg;
    int32_t leader = cl_leader(TOPIC, 0);
    if (leader <= 0 || weir_world_crash(CR.w, cl_name(leader)) != 0) {
        cl_fail("crash failed");
        return;
    }
    CR.o.crashed = leader;
    CR.crashed = true;
    weir_timer_start(env, 3000 * MS, cl_restart, NULL);
}

/* After 1.5 s, waits until partition 0's leader has committed (HW) records
 * the producer has not heard of while its Produce is in flight, then crashes
 * that leader crash_delay_ns later: the batch is in every replica, its
 * answer is lost, and the producer sends it again to the new leader. */
static void cl_chaos_tick(weir_env *env, void *arg)
{
    (void)arg;
    weir_producer_stats st = {0};
    if (CR.p != NULL) {
        weir_producer_stats_get(CR.p, &st);
    }
    int32_t leader = cl_leader(TOPIC, 0);
    weir_broker *b = leader > 0 ? weir_world_node_state(CR.w, cl_name(leader)) : NULL;
    weir_broker_partition_info info;
    if (st.requests_in_flight > 0 && b != NULL && weir_broker_partition(b, TOPIC, 0, &info) &&
        info.high_watermark > CR.acked_end[0]) {
        weir_timer_start(env, CR.cfg->crash_delay_ns, cl_crash, NULL);
        return;
    }
    weir_timer_start(env, 10 * 1000, cl_chaos_tick, NULL);
}

static void *cl_chaos_start(weir_env *env, void *arg)
{
    (void)arg;
    if (CR.cfg->records > 0) {
        weir_timer_start(env, 1500 * MS, cl_chaos_tick, NULL);
    }
    return &CR;
}

/* -- the transaction run: commit, abort, commit; two consumers read -- */

#define CL_TXN_RECORDS 20

static void cl_txn_begin(weir_env *env, void *arg);

static int cl_txn_of(int id)
{
    return id / CL_TXN_RECORDS < 3 ? id / CL_TXN_RECORDS : 2;
}

static void cl_on_record(void *ctx, const weir_consumer_record *rec)
{
    int id = cl_id_of(rec->value, rec->value_len);
    if (id < 0 || id >= 3 * CL_TXN_RECORDS) {
        cl_fail("read an unknown record");
        return;
    }
    if (ctx == &CR.rc) {
        CR.o.rc_repeats += CR.rc_seen[id];
        CR.rc_seen[id] = true;
        CR.o.rc_ids[cl_txn_of(id)]++;
    } else {
        CR.o.ru_ids[cl_txn_of(id)]++;
    }
}

static weir_consumer *cl_consumer(weir_env *env, bool read_committed, void *ctx)
{
    weir_consumer_config cc;
    weir_consumer_config_default(&cc);
    cc.bootstrap = "b1:9092,b2:9092,b3:9092";
    cc.read_committed = read_committed;
    cc.auto_offset_reset = WEIR_OFFSET_RESET_EARLIEST;
    weir_consumer_callbacks cbs = {.on_record = cl_on_record, .ctx = ctx};
    const char *why = NULL;
    weir_consumer *c = weir_consumer_new(env, &cc, &cbs, &why);
    weir_topic_partition tps[CL_PARTS];
    for (int32_t p = 0; p < CL_PARTS; p++) {
        tps[p] = (weir_topic_partition){TOPIC, p};
    }
    if (c == NULL || weir_consumer_assign(c, tps, CL_PARTS) != 0) {
        cl_fail("consumer: %s", why ? why : "assign failed");
    }
    return c;
}

/* Done once both consumers reached every partition's end and stayed there. */
static void cl_read_poll(weir_env *env, void *arg)
{
    (void)arg;
    bool at_end = true;
    for (int32_t p = 0; p < CL_PARTS; p++) {
        int32_t leader = cl_leader(TOPIC, p);
        weir_broker *b = leader > 0 ? weir_world_node_state(CR.w, cl_name(leader)) : NULL;
        weir_broker_partition_info info;
        int64_t rc_pos = -1;
        int64_t ru_pos = -1;
        if (b == NULL || !weir_broker_partition(b, TOPIC, p, &info) ||
            weir_consumer_position(CR.rc, TOPIC, p, &rc_pos) != 0 ||
            weir_consumer_position(CR.ru, TOPIC, p, &ru_pos) != 0 || rc_pos < info.high_watermark ||
            ru_pos < info.high_watermark) {
            at_end = false;
        }
    }
    int64_t now = weir_now_ns(env);
    if (!at_end) {
        CR.done_since_ns = 0;
    } else if (CR.done_since_ns == 0) {
        CR.done_since_ns = now;
    } else if (now - CR.done_since_ns >= 500 * MS) {
        weir_consumer_free(CR.rc);
        weir_consumer_free(CR.ru);
        weir_producer_free(CR.p);
        CR.rc = CR.ru = NULL;
        CR.p = NULL;
        CR.o.finished = true;
        return;
    }
    weir_timer_start(env, 10 * MS, cl_read_poll, NULL);
}

static void cl_on_offsets(void *ctx, int16_t error)
{
    (void)ctx;
    CR.o.offsets_error = error;
}

static void cl_on_end(void *ctx, int16_t error)
{
    (void)ctx;
    int i = CR.txn++;
    CR.o.end_error[i] = error;
    CR.o.ends++;
    int64_t pid;
    weir_producer_id(CR.p, &pid, &CR.o.epoch_end[i]);
    if (error != WEIR_KERR_NONE) {
        cl_fail("transaction %d ended with %s", i, weir_kerr_name(error));
        return;
    }
    if (CR.txn < 3) {
        weir_timer_start(CR.env, 1 * MS, cl_txn_begin, NULL);
        return;
    }
    CR.rc = cl_consumer(CR.env, true, &CR.rc);
    CR.ru = cl_consumer(CR.env, false, &CR.ru);
    weir_timer_start(CR.env, 10 * MS, cl_read_poll, NULL);
}

static void cl_txn_end(weir_env *env, void *arg)
{
    (void)arg;
    if (CR.reported < CR.sent) {
        weir_timer_start(env, 1 * MS, cl_txn_end, NULL); /* everything written first */
        return;
    }
    int err = CR.txn == 1 ? weir_producer_abort_transaction(CR.p, cl_on_end, NULL)
                          : weir_producer_commit_transaction(CR.p, cl_on_end, NULL);
    if (err != 0) {
        cl_fail("ending transaction %d refused", CR.txn);
    }
}

static void cl_txn_begin(weir_env *env, void *arg)
{
    (void)arg;
    if (weir_producer_begin_transaction(CR.p) != 0) {
        cl_fail("begin refused");
        return;
    }
    for (int i = 0; i < CL_TXN_RECORDS; i++) {
        if (cl_send(CR.sent) != 0) {
            cl_fail("send refused");
            return;
        }
        CR.sent++;
    }
    if (CR.txn == 0) {
        weir_partition_offset off = {TOPIC, 0, 5};
        weir_group_metadata g = {"g-txn", -1, ""};
        if (weir_producer_send_offsets_to_transaction(CR.p, &off, 1, &g, cl_on_offsets, NULL) !=
            0) {
            cl_fail("send_offsets refused");
            return;
        }
    }
    weir_producer_flush(CR.p);
    weir_timer_start(env, 1 * MS, cl_txn_end, NULL);
}

static void cl_on_init(void *ctx, int16_t error)
{
    (void)ctx;
    if (error != WEIR_KERR_NONE) {
        cl_fail("init_transactions: %s", weir_kerr_name(error));
        return;
    }
    weir_timer_start(CR.env, 1 * MS, cl_txn_begin, NULL);
}

static void *cl_client_start(weir_env *env, void *arg)
{
    (void)arg;
    CR.env = env;
    CR.p = cl_producer(env);
    if (CR.p == NULL) {
        return &CR;
    }
    if (CR.cfg->transactional) {
        if (weir_producer_init_transactions(CR.p, cl_on_init, NULL) != 0) {
            cl_fail("init refused");
        }
    } else {
        weir_timer_start(env, 1000 * MS, cl_tick, NULL);
        weir_timer_start(env, 1000 * MS, cl_finish, NULL);
    }
    return &CR;
}

static void cl_client_destroy(void *state)
{
    (void)state;
    weir_producer_abandon(CR.p);
    weir_consumer_abandon(CR.rc);
    weir_consumer_abandon(CR.ru);
    CR.p = NULL;
    CR.rc = CR.ru = NULL;
}

static const weir_node_type cl_client_node = {"client", cl_client_start, cl_client_destroy};
static const weir_node_type cl_chaos_node = {"chaos", cl_chaos_start, NULL};

static void cl_run_in_child(const cl_cfg *cfg)
{
    memset(&CR, 0, sizeof CR);
    CR.cfg = cfg;
    for (int i = 0; i < CL_RECORDS_MAX; i++) {
        CR.acked_offset[i] = -1;
    }
    weir_sim_config sc;
    weir_sim_config_default(&sc, cfg->seed);
    sc.log_level = WEIR_LOG_ERROR;
    const char *lvl = getenv("WEIR_TEST_CLIENT_LOG");
    if (lvl != NULL) {
        sc.log_level = strcmp(lvl, "debug") == 0  ? WEIR_LOG_DEBUG
                       : strcmp(lvl, "info") == 0 ? WEIR_LOG_INFO
                                                  : WEIR_LOG_WARN;
    }
    CR.w = weir_sim_world_new(&sc);
    static weir_controller_config cc;
    weir_controller_config_default(&cc);
    cc.session_timeout_ms = 1500;
    cc.n_topics = 1;
    snprintf(cc.topics[0].name, sizeof cc.topics[0].name, TOPIC);
    cc.topics[0].partitions = CL_PARTS;
    cc.topics[0].replication_factor = 3;
    cc.log_level = (int)sc.log_level;
    static weir_broker_config bc[3];
    int rc =
        CR.w == NULL ? -1 : weir_world_node_add(CR.w, "controller", &weir_controller_node, &cc);
    for (int i = 0; i < 3 && rc == 0; i++) {
        weir_broker_config_default(&bc[i]);
        bc[i].node_id = i + 1;
        snprintf(bc[i].listen_host, sizeof bc[i].listen_host, "b%d", i + 1);
        bc[i].listen_port = 9092;
        snprintf(bc[i].controller_addr, sizeof bc[i].controller_addr, "controller:9093");
        bc[i].min_insync_replicas = 2;
        bc[i].heartbeat_interval_ms = 300;
        bc[i].replica_lag_time_max_ms = 1000;
        bc[i].hw_checkpoint_interval_ms = 200;
        bc[i].txn_topic_partitions = 3;
        bc[i].txn_topic_replication = 3;
        bc[i].offsets_topic_partitions = 3;
        bc[i].offsets_topic_replication = 3;
        bc[i].log_level = (int)sc.log_level;
        rc = weir_world_node_add(CR.w, cl_name(i + 1), &weir_broker_node, &bc[i]);
    }
    if (rc != 0 || weir_world_node_add(CR.w, "client", &cl_client_node, NULL) != 0 ||
        weir_world_node_add(CR.w, "chaos", &cl_chaos_node, NULL) != 0 ||
        weir_world_run(CR.w, (cfg->transactional ? 5000 : 12000) * MS) != 0) {
        snprintf(CR.o.failure, sizeof CR.o.failure, "world failed");
        return;
    }
    if (CR.o.failure[0] == '\0' && !CR.o.finished) {
        snprintf(CR.o.failure, sizeof CR.o.failure,
                 "did not finish: %d sent, %d reported, %d transaction(s) ended", CR.sent,
                 CR.reported, CR.o.ends);
    }
    weir_sim_disk_set(CR.w, 0, 0, 0);
    if (CR.o.failure[0] == '\0') {
        cl_read_logs();
    }
    CR.o.hash = weir_sim_trace_hash(CR.w);
}

static void cl_run_forked(const cl_cfg *cfg, cl_outcome *out)
{
    int fds[2];
    memset(out, 0, sizeof *out);
    if (pipe(fds) != 0) {
        snprintf(out->failure, sizeof out->failure, "pipe failed");
        return;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        cl_run_in_child(cfg);
        if (write(fds[1], &CR.o, sizeof CR.o) != (ssize_t)sizeof CR.o) {
            _exit(3);
        }
        test_child_exit(0);
    }
    close(fds[1]);
    if (read(fds[0], out, sizeof *out) != (ssize_t)sizeof *out) {
        memset(out, 0, sizeof *out);
        snprintf(out->failure, sizeof out->failure, "child died");
    }
    close(fds[0]);
    waitpid(pid, NULL, 0);
}

/* The leader crashes after it committed a batch whose answer the producer
 * never gets (at a few delays past that moment): the producer sends the batch
 * again to the new leader. Without idempotence it is in the log twice; with
 * it the new leader knows the sequence and answers with the first offsets. */
static void test_an_idempotent_producer_leaves_no_duplicate_across_a_leader_crash(void **state)
{
    (void)state;
    int seeds = 6;
    const char *env_seeds = getenv("WEIR_TEST_CLIENT_SEEDS");
    if (env_seeds != NULL && atoi(env_seeds) > 0) {
        seeds = atoi(env_seeds);
    }
    int64_t plain_copies = 0;
    int64_t idem_retried = 0;
    for (int i = 0; i < seeds; i++) {
        for (int idem = 1; idem >= 0; idem--) {
            cl_cfg cfg = {.seed = 40 + (uint64_t)i,
                          .idempotent = idem != 0,
                          .records = 3000,
                          .crash_delay_ns = (int64_t)(i * 7 % 40) * 1000};
            cl_outcome o;
            cl_run_forked(&cfg, &o);
            if (o.failure[0] != '\0') {
                fail_msg("seed %llu (%s): %s", (unsigned long long)cfg.seed,
                         idem ? "idempotent" : "plain", o.failure);
            }
            assert_int_equal(o.acked + o.failed, cfg.records);
            assert_int_equal(o.acked_missing, 0); /* every ack at its offset */
            if (getenv("WEIR_TEST_CLIENT_VERBOSE") != NULL) {
                print_message("seed %llu %s: acked %d failed %d retried %lld extra copies %lld\n",
                              (unsigned long long)cfg.seed, idem ? "idempotent" : "plain", o.acked,
                              o.failed, (long long)o.retried, (long long)o.copies_extra);
            }
            if (idem) {
                if (o.copies_extra != 0) {
                    fail_msg("seed %llu: %lld duplicate record(s) with idempotence",
                             (unsigned long long)cfg.seed, (long long)o.copies_extra);
                }
                assert_true(o.retried >= 1); /* the lost answer's batch went again */
                idem_retried += o.retried;
            } else {
                assert_true(o.copies_extra > 0); /* the same crash duplicates without it */
                plain_copies += o.copies_extra;
            }
        }
    }
    print_message("%d seeds: idempotent: no duplicate, %lld retried batch(es); plain: %lld "
                  "duplicate record(s)\n",
                  seeds, (long long)idem_retried, (long long)plain_copies);
}

static void check_txn_run(bool epoch_bump)
{
    cl_cfg cfg = {.seed = 61, .transactional = true, .epoch_bump = epoch_bump};
    cl_outcome o;
    cl_run_forked(&cfg, &o);
    if (o.failure[0] != '\0') {
        fail_msg("%s", o.failure);
    }
    print_message("epoch bump %d: epochs %d %d %d; read_committed %d/%d/%d, read_uncommitted "
                  "%d/%d/%d, %d marker(s)\n",
                  epoch_bump, o.epoch_end[0], o.epoch_end[1], o.epoch_end[2], o.rc_ids[0],
                  o.rc_ids[1], o.rc_ids[2], o.ru_ids[0], o.ru_ids[1], o.ru_ids[2], o.markers);
    assert_int_equal(o.ends, 3);
    assert_int_equal(o.offsets_error, WEIR_KERR_NONE);
    assert_int_equal(o.acked, 3 * CL_TXN_RECORDS);
    /* committed: seen once each; aborted: never, at read_committed */
    assert_int_equal(o.rc_ids[0], CL_TXN_RECORDS);
    assert_int_equal(o.rc_ids[1], 0);
    assert_int_equal(o.rc_ids[2], CL_TXN_RECORDS);
    assert_int_equal(o.rc_repeats, 0);
    /* read_uncommitted sees the aborted ones too: they are in the log */
    assert_int_equal(o.ru_ids[1], CL_TXN_RECORDS);
    assert_true(o.markers >= 3 * CL_PARTS);
    if (epoch_bump) {
        assert_true(o.epoch_end[1] == o.epoch_end[0] + 1 && o.epoch_end[2] == o.epoch_end[1] + 1);
    } else {
        assert_true(o.epoch_end[0] == o.epoch_end[2]);
    }
}

static void
test_a_committed_transaction_is_read_at_read_committed_and_an_aborted_one_is_not(void **state)
{
    (void)state;
    check_txn_run(true);
    check_txn_run(false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idempotence_configs_are_checked),
        cmocka_unit_test(test_find_coordinator_retries_and_adds_the_node),
        cmocka_unit_test(test_idempotent_batches_carry_the_producer_id_and_contiguous_sequences),
        cmocka_unit_test(test_a_plain_producer_sends_no_producer_id_and_pipelines),
        cmocka_unit_test(test_a_batch_whose_answer_was_lost_is_resent_byte_for_byte_and_kept_once),
        cmocka_unit_test(test_fencing_fails_every_pending_record_and_later_ones),
        cmocka_unit_test(test_out_of_order_fails_the_batch_and_a_new_producer_id_starts_at_0),
        cmocka_unit_test(test_a_rejected_batch_gives_its_sequence_to_the_next_one),
        cmocka_unit_test(test_transactions_add_partitions_first_and_get_a_new_epoch_with_endtxn_v5),
        cmocka_unit_test(test_without_epoch_bump_endtxn_v1_keeps_the_epoch_and_the_sequences),
        cmocka_unit_test(test_a_broker_without_endtxn_v5_gets_v1),
        cmocka_unit_test(test_abort_drops_queued_records_and_ends_what_reached_the_coordinator),
        cmocka_unit_test(test_a_fenced_transaction_fails_its_commit_and_its_records),
        cmocka_unit_test(test_a_record_that_expires_makes_the_transaction_abortable),
        cmocka_unit_test(test_the_same_seed_gives_the_same_trace_hash),
        cmocka_unit_test(test_an_idempotent_producer_leaves_no_duplicate_across_a_leader_crash),
        cmocka_unit_test(
            test_a_committed_transaction_is_read_at_read_committed_and_an_aborted_one_is_not),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
