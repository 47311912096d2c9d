/* Idempotence and transactions across failures: a controller and three
 * brokers in the simulator, driven with raw Kafka requests
 * (test_txn_harness.h).
 *
 *  - An idempotent producer's last batch, resent to the new leader after the
 *    old one crashed, is recognised as a duplicate (producer state is
 *    replicated with the log) and gets its original offset.
 *  - The transaction coordinator crashes right after answering EndTxn(commit)
 *    (its PrepareCommit record replicated, markers in flight): the broker
 *    that takes over its __transaction_state partition loads PrepareCommit,
 *    sends the markers again and writes CompleteCommit, so every partition
 *    of the transaction gets its COMMIT marker and the LSO moves past it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_txn_harness.h"

#include "broker/coord.h"
#include "broker/txn_log.h"
#include "controller/controller.h"

#define TID "tx-crash"

static const char *name_of(int32_t id)
{
    static const char *names[] = {"", "b1", "b2", "b3"};
    return id >= 1 && id <= 3 ? names[id] : "b1";
}

static int32_t leader_of(tx *t, const char *topic, int32_t partition)
{
    weir_controller *c = weir_world_node_state(t->w, "controller");
    int32_t leader = -1, epoch, isr[16];
    int n_isr;
    if (c == NULL ||
        !weir_controller_partition(c, topic, partition, &leader, &epoch, isr, &n_isr)) {
        return -1;
    }
    return leader;
}

static void cluster(uint64_t seed, const tx_step *prog, int n, int64_t duration_ms, tx_outcome *out)
{
    weir_sim_config cfg;
    weir_sim_config_default(&cfg, seed);
    cfg.log_level = getenv("TXN_TEST_LOG") != NULL ? WEIR_LOG_DEBUG : WEIR_LOG_ERROR;
    weir_world *w = weir_sim_world_new(&cfg);
    static weir_controller_config cc;
    weir_controller_config_default(&cc);
    cc.session_timeout_ms = 1500;
    cc.n_topics = 1;
    snprintf(cc.topics[0].name, sizeof cc.topics[0].name, "t");
    cc.topics[0].partitions = 2;
    cc.topics[0].replication_factor = 3;
    cc.log_level = (int)cfg.log_level;
    static weir_broker_config bc[3];
    int rc = weir_world_node_add(w, "controller", &weir_controller_node, &cc);
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
        bc[i].log_level = (int)cfg.log_level;
        rc = weir_world_node_add(w, name_of(i + 1), &weir_broker_node, &bc[i]);
    }
    if (rc != 0) {
        snprintf(out->failure, sizeof out->failure, "cannot add the nodes");
        return;
    }
    tx_run_world(w, prog, n, duration_ms, out);
}

/* Waits until the controller names a leader for t-0 and t-1 with a full ISR. */
static void s_wait_leaders(tx *t)
{
    weir_controller *c = weir_world_node_state(t->w, "controller");
    int32_t leader, epoch, isr[16];
    int n0 = 0, n1 = 0;
    if (c == NULL || !weir_controller_partition(c, "t", 0, &leader, &epoch, isr, &n0) ||
        !weir_controller_partition(c, "t", 1, &leader, &epoch, isr, &n1) || n0 < 3 || n1 < 3 ||
        leader_of(t, "t", 0) <= 0) {
        t->pc--; /* this step again */
        tx_sleep(t, 100);
        return;
    }
    tx_sleep(t, 500); /* the brokers have the controller's push */
}

/* ---- 1. idempotent state across a leader failover ---- */

static void i_init(tx *t)
{
    t->coord = leader_of(t, "t", 0);
    tx_init_pid(t, name_of(t->coord), NULL, 0);
}

/* Followers 20 ms away from the leader (or back to normal). */
static void slow_followers(tx *t, int64_t latency_ms)
{
    for (int32_t id = 1; id <= 3; id++) {
        if (id != t->coord) {
            weir_sim_pair_set(t->w, name_of(t->coord), name_of(id), latency_ms * MS, 1e12);
        }
    }
}

/* acks=1, so the answer does not wait for the followers... */
static void i_first(tx *t)
{
    TX_CHECK(t, t->r.err == 0 && t->r.u.init.error_code == 0, "InitProducerId");
    t->pid = t->r.u.init.producer_id;
    slow_followers(t, 20);
    tx_produce(t, name_of(t->coord), NULL, "t", 0, tx_batch(t->pid, 0, 0, false, 1, "s0"), 1);
}

/* ...and its retry with acks=all is a duplicate that must wait for the HW
 * to pass the original before it answers. */
static void i_retry_acks_all(tx *t)
{
    TX_CHECK(t, tx_produce_code(t) == 0 && tx_produce_offset(t) == 0, "acks=1 produce");
    tx_produce(t, name_of(t->coord), NULL, "t", 0, tx_batch(t->pid, 0, 0, false, 1, "s0"), -1);
}

static void i_retry_waited(tx *t)
{
    TX_CHECK(t, tx_produce_code(t) == 0 && tx_produce_offset(t) == 0, "duplicate: %d at %lld",
             tx_produce_code(t), (long long)tx_produce_offset(t));
    weir_broker_partition_info info;
    weir_broker *b = weir_world_node_state(t->w, name_of(t->coord));
    TX_CHECK(t, weir_broker_partition(b, "t", 0, &info) && info.log_end == 1, "leader log");
    TX_CHECK(t, info.high_watermark >= 1,
             "an acks=all duplicate was answered before the original was replicated (HW %lld)",
             (long long)info.high_watermark);
    slow_followers(t, 0);
    t->n[0] = 1;
}

static void i_prod(tx *t)
{
    if (t->r.api_key == WEIR_API_PRODUCE && t->n[6]++ > 0) {
        TX_CHECK(t, tx_produce_code(t) == 0 && tx_produce_offset(t) == t->n[0],
                 "batch %lld: code %d offset %lld", (long long)t->n[0], tx_produce_code(t),
                 (long long)tx_produce_offset(t));
        t->n[0]++;
    }
    if (t->n[0] < 3) {
        char tag[24];
        snprintf(tag, sizeof tag, "s%lld", (long long)t->n[0]);
        t->pc--; /* back here with the response */
        tx_produce(t, name_of(t->coord), NULL, "t", 0,
                   tx_batch(t->pid, 0, (int32_t)t->n[0], false, 1, tag), -1);
    }
}

static void i_crash(tx *t)
{
    TX_CHECK(t, weir_world_crash(t->w, name_of(t->coord)) == 0, "crash");
    t->n[1] = t->coord;
}

static void i_wait_new_leader(tx *t)
{
    int32_t l = leader_of(t, "t", 0);
    if (l <= 0 || l == t->n[1]) {
        t->pc--;
        tx_sleep(t, 100);
        return;
    }
    t->coord = l;
}

static void i_resend(tx *t)
{
    tx_produce(t, name_of(t->coord), NULL, "t", 0, tx_batch(t->pid, 0, 2, false, 1, "s2"), -1);
}

static void i_resend_checked(tx *t)
{
    if (t->r.err != 0 || tx_produce_code(t) == WEIR_KERR_NOT_LEADER_OR_FOLLOWER ||
        tx_produce_code(t) == WEIR_KERR_NOT_ENOUGH_REPLICAS ||
        tx_produce_code(t) == WEIR_KERR_REQUEST_TIMED_OUT) {
        tx_retry(t, 100); /* the new leader is not ready yet */
        return;
    }
    t->tries = 0;
    TX_CHECK(t, tx_produce_code(t) == 0 && tx_produce_offset(t) == 2,
             "the resent batch after failover: code %d offset %lld", tx_produce_code(t),
             (long long)tx_produce_offset(t));
    tx_list_offsets(t, name_of(t->coord), "t", 0, -1, 0);
}

static void i_count(tx *t)
{
    int16_t code;
    TX_CHECK(t, tx_list_offset(t, &code) == 3,
             "the duplicate was appended again on the new leader");
    tx_produce(t, name_of(t->coord), NULL, "t", 0, tx_batch(t->pid, 0, 3, false, 1, "s3"), -1);
}

static void i_next(tx *t)
{
    TX_CHECK(t, tx_produce_code(t) == 0 && tx_produce_offset(t) == 3, "the next batch: %d at %lld",
             tx_produce_code(t), (long long)tx_produce_offset(t));
}

static const tx_step failover_prog[] = {
    s_wait_leaders, i_init,           i_first, i_retry_acks_all,
    i_retry_waited, i_prod,           i_crash, i_wait_new_leader,
    i_resend,       i_resend_checked, i_count, i_next,
};

static void run_failover(uint64_t seed, tx_outcome *out)
{
    cluster(seed, failover_prog, (int)(sizeof failover_prog / sizeof failover_prog[0]), 30000, out);
}

static void an_idempotent_retry_to_the_new_leader_after_failover_is_a_duplicate(void **state)
{
    (void)state;
    tx_outcome a = tx_forked(run_failover, 21);
    TX_ASSERT_OK(a);
}

/* ---- 2. the coordinator crashes mid-commit ---- */

static void k_find(tx *t)
{
    tx_find_coord(t, t->n[2] > 0 ? name_of((int32_t)t->n[2]) : "b1", TID,
                  WEIR_COORDINATOR_TRANSACTION);
}

static void k_found(tx *t)
{
    if (t->r.err != 0 || t->r.u.find.error_code != 0 || t->r.u.find.node_id <= 0 ||
        t->r.u.find.node_id == t->n[1]) {
        tx_retry(t, 100);
        return;
    }
    t->tries = 0;
    t->coord = t->r.u.find.node_id;
}

static void k_init(tx *t)
{
    tx_init_pid(t, name_of(t->coord), TID, 60000);
}

static void k_add(tx *t)
{
    if (t->r.err == 0 && tx_coord_retriable(t->r.u.init.error_code)) {
        tx_retry(t, 100);
        return;
    }
    TX_CHECK(t, t->r.err == 0 && t->r.u.init.error_code == 0, "InitProducerId: %d",
             t->r.u.init.error_code);
    t->tries = 0;
    t->pid = t->r.u.init.producer_id;
    t->epoch = t->r.u.init.producer_epoch;
    static const int32_t parts[] = {0, 1};
    tx_add_parts(t, name_of(t->coord), TID, t->pid, t->epoch, "t", parts, 2);
}

static void k_prod0(tx *t)
{
    TX_CHECK(t, tx_add_parts_code(t) == 0, "AddPartitionsToTxn: %d", tx_add_parts_code(t));
    tx_produce(t, name_of(leader_of(t, "t", 0)), TID, "t", 0,
               tx_batch(t->pid, t->epoch, 0, true, 2, "k"), -1);
}

static void k_prod1(tx *t)
{
    TX_CHECK(t, tx_produce_code(t) == 0, "produce t-0: %d", tx_produce_code(t));
    tx_produce(t, name_of(leader_of(t, "t", 1)), TID, "t", 1,
               tx_batch(t->pid, t->epoch, 0, true, 2, "k"), -1);
}

static void k_commit(tx *t)
{
    TX_CHECK(t, tx_produce_code(t) == 0, "produce t-1: %d", tx_produce_code(t));
    tx_end(t, name_of(t->coord), TID, t->pid, t->epoch, true, 1);
}

/* EndTxn is answered once PrepareCommit is replicated; the markers are in
 * flight: the coordinator dies now. */
static void k_crash(tx *t)
{
    TX_CHECK(t, t->r.err == 0 && t->r.u.end.error_code == 0, "EndTxn: %d", t->r.u.end.error_code);
    t->n[1] = t->coord;
    TX_CHECK(t, weir_world_crash(t->w, name_of(t->coord)) == 0, "crash");
    t->n[2] = t->coord % 3 + 1; /* ask a live broker from now on */
    t->n[3] = bk_coord_partition_for(TID, strlen(TID), 3);
}

static void k_retry_commit(tx *t)
{
    tx_end(t, name_of(t->coord), TID, t->pid, t->epoch, true, 1);
}

static void k_retry_checked(tx *t)
{
    if (t->r.err != 0 || tx_coord_retriable(t->r.u.end.error_code)) {
        tx_retry(t, 100); /* loading, or still sending the markers */
        return;
    }
    t->tries = 0;
    TX_CHECK(t, t->r.u.end.error_code == 0, "the commit retried on the new coordinator: %d",
             t->r.u.end.error_code);
    t->n[4] = 0;
}

/* Each partition: read_committed up to the log end, the COMMIT marker, the data. */
static void k_fetch(tx *t)
{
    int32_t part = (int32_t)t->n[4];
    tx_fetch(t, name_of(leader_of(t, "t", part)), "t", part, 0, 1, 0);
}

static void k_fetch_checked(tx *t)
{
    const weir_fetch_partition_response *fp = tx_fetch_part(t);
    if (fp == NULL || fp->error_code != 0 || fp->last_stable_offset < 3) {
        tx_retry(t, 100);
        return;
    }
    t->tries = 0;
    tx_seen s;
    tx_consume(fp, true, &s);
    TX_CHECK(t, s.n_commit_markers >= 1 && s.n_values == 2 && s.n_abort_markers == 0,
             "t-%lld: %d values, %d commit markers", (long long)t->n[4], s.n_values,
             s.n_commit_markers);
    if (++t->n[4] < 2) {
        t->pc -= 2;
    }
}

/* The new coordinator's log: PrepareCommit from the old leader epoch, then
 * CompleteCommit written in the new one. */
static void k_log(tx *t)
{
    int32_t idx = (int32_t)t->n[3];
    int32_t leader = leader_of(t, BK_TXN_STATE_TOPIC, idx);
    TX_CHECK(t, leader > 0 && leader != t->n[1], "no new leader for the coordinator partition");
    weir_broker *b = weir_world_node_state(t->w, name_of(leader));
    struct weir_plog *log = weir_broker_partition_log(b, BK_TXN_STATE_TOPIC, idx);
    TX_CHECK(t, log != NULL, "no log");
    int32_t prepare_epoch = -1, complete_epoch = -1;
    for (int64_t off = weir_plog_start_offset(log); off < weir_plog_end_offset(log);) {
        weir_log_read_result rr;
        TX_CHECK(t, weir_plog_read(log, off, 1 << 20, true, &rr) == 0, "read");
        for (size_t at = 0; rr.len - at >= WEIR_BATCH_HEADER_BYTES;) {
            weir_batch_header h;
            weir_batch_header_decode(rr.data + at, &h);
            size_t total = (size_t)weir_batch_total_bytes(&h);
            weir_record_iter it;
            weir_record rec;
            if (weir_record_iter_init(&it, rr.data + at, total) == 0) {
                while (weir_record_next(&it, &rec) == 1) {
                    weir_str tid;
                    weir_txn_log_value v;
                    weir_arena a;
                    weir_arena_init(&a, 0);
                    if (rec.value != NULL &&
                        weir_txn_log_key_read(rec.key, (size_t)rec.key_len, &tid) == 0 &&
                        weir_str_eq_cstr(tid, TID) &&
                        weir_txn_log_value_read(rec.value, (size_t)rec.value_len, &a, &v) == 0) {
                        if (v.status == WEIR_TXN_PREPARE_COMMIT) {
                            prepare_epoch = h.leader_epoch;
                        } else if (v.status == WEIR_TXN_COMPLETE_COMMIT) {
                            complete_epoch = h.leader_epoch;
                        }
                    }
                    weir_arena_free(&a);
                }
            }
            at += total;
        }
        off = rr.next_offset;
        weir_log_read_result_free(&rr);
    }
    TX_CHECK(t, prepare_epoch >= 0 && complete_epoch > prepare_epoch,
             "PrepareCommit in leader epoch %d, CompleteCommit in %d", prepare_epoch,
             complete_epoch);
    t->n[5] = complete_epoch - prepare_epoch;
}

static const tx_step crash_prog[] = {
    s_wait_leaders,  k_find,   k_found,         k_init, k_add,   k_prod0,
    k_prod1,         k_commit, k_crash,         k_find, k_found, k_retry_commit,
    k_retry_checked, k_fetch,  k_fetch_checked, k_log,
};

static void run_crash(uint64_t seed, tx_outcome *out)
{
    cluster(seed, crash_prog, (int)(sizeof crash_prog / sizeof crash_prog[0]), 40000, out);
}

static void a_new_coordinator_completes_the_markers_of_a_crashed_one(void **state)
{
    (void)state;
    tx_outcome a = tx_forked(run_crash, 23);
    TX_ASSERT_OK(a);
    assert_true(a.n[5] >= 1);
    tx_outcome b = tx_forked(run_crash, 23);
    assert_true(a.hash == b.hash);
}

int main(int argc, char **argv)
{
    static const tx_child_fn fns[] = {run_failover, run_crash};
    int direct = tx_main_direct(argc, argv, fns, (int)(sizeof fns / sizeof fns[0]));
    if (direct >= 0) {
        return direct;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_idempotent_retry_to_the_new_leader_after_failover_is_a_duplicate),
        cmocka_unit_test(a_new_coordinator_completes_the_markers_of_a_crashed_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
