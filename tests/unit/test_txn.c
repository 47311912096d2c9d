/* Idempotence and transactions on one broker in the simulator, driven with
 * raw Kafka requests (test_txn_harness.h): duplicates answered with their
 * original offsets, sequence and epoch errors with the producer state intact,
 * producer ids never reused across a crash, InitProducerId fencing, commit
 * and abort markers on every partition of a transaction (__consumer_offsets
 * included), read_committed fetches and the LSO, transaction timeouts,
 * EndTxn v5's epoch bump against the delayed-request hazard of v0-v4, and
 * invalid transaction timeouts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_txn_harness.h"

#include "broker/coord.h"

#define PID_BASE ((int64_t)1 << 40) /* broker 1's producer id range */

static void one_broker(uint64_t seed, const tx_step *prog, int n, int64_t duration_ms,
                       tx_outcome *out)
{
    weir_sim_config cfg;
    weir_sim_config_default(&cfg, seed);
    cfg.log_level = getenv("TXN_TEST_LOG") != NULL ? WEIR_LOG_DEBUG : WEIR_LOG_ERROR;
    weir_world *w = weir_sim_world_new(&cfg);
    static weir_broker_config bc;
    weir_broker_config_default(&bc);
    snprintf(bc.listen_host, sizeof bc.listen_host, "b1");
    bc.listen_port = 9092;
    bc.node_id = 1;
    bc.flush_interval_messages = 1; /* acknowledged = synced: it survives a crash */
    bc.txn_topic_partitions = 3;
    bc.offsets_topic_partitions = 3;
    bc.log_level = (int)cfg.log_level;
    if (weir_world_node_add(w, "b1", &weir_broker_node, &bc) != 0) {
        snprintf(out->failure, sizeof out->failure, "cannot add the broker");
        return;
    }
    tx_run_world(w, prog, n, duration_ms, out);
}

/* ---- shared steps ---- */

static void s_create_t1(tx *t)
{
    tx_create_topic(t, "b1", "t", 1, 1);
}

static void s_create_t3(tx *t)
{
    tx_create_topic(t, "b1", "t", 3, 1);
}

static void s_check_created(tx *t)
{
    TX_CHECK(t,
             t->r.err == 0 && t->r.u.create.topic_count == 1 &&
                 t->r.u.create.topics[0].error_code == WEIR_KERR_NONE,
             "CreateTopics failed");
}

static const char *tid_of(tx *t)
{
    static const char *tids[] = {"tx-commit", "tx-fence", "tx-timeout", "tx-v5", "tx-v1-hazard"};
    return tids[t->n[15]];
}

static void s_find_txn_coord(tx *t)
{
    tx_find_coord(t, "b1", tid_of(t), WEIR_COORDINATOR_TRANSACTION);
}

static void s_check_coord(tx *t)
{
    if (t->r.err != 0 || t->r.u.find.error_code != WEIR_KERR_NONE) {
        tx_retry(t, 50);
        return;
    }
    TX_CHECK(t, t->r.u.find.node_id == 1, "coordinator %d", t->r.u.find.node_id);
    t->tries = 0;
}

static void s_init(tx *t)
{
    tx_init_pid(t, "b1", tid_of(t), (int32_t)(t->n[14] > 0 ? t->n[14] : 60000));
}

static void s_check_init(tx *t)
{
    if (t->r.err == 0 && tx_coord_retriable(t->r.u.init.error_code)) {
        tx_retry(t, 50);
        return;
    }
    TX_CHECK(t, t->r.err == 0 && t->r.u.init.error_code == WEIR_KERR_NONE, "InitProducerId: %d/%d",
             t->r.err, t->r.u.init.error_code);
    t->tries = 0;
    t->pid = t->r.u.init.producer_id;
    t->epoch = t->r.u.init.producer_epoch;
}

/* Polls ListOffsets read_committed on t-0 until the LSO reaches the log end. */
static void s_lso_t0(tx *t)
{
    tx_list_offsets(t, "b1", "t", 0, -1, 1);
}

static void s_check_lso_at(tx *t, int64_t want)
{
    int16_t code;
    int64_t off = tx_list_offset(t, &code);
    TX_CHECK(t, code == WEIR_KERR_NONE, "ListOffsets: %d", code);
    if (off < want) {
        tx_retry(t, 20);
        return;
    }
    t->tries = 0;
    TX_CHECK(t, off == want, "LSO %lld, want %lld", (long long)off, (long long)want);
}

/* ---- 1. idempotent produce ---- */

static void i_init(tx *t)
{
    s_check_created(t);
    if (!t->done) {
        tx_init_pid(t, "b1", NULL, 0);
    }
}

static void i_first(tx *t)
{
    TX_CHECK(t, t->r.err == 0 && t->r.u.init.error_code == 0, "InitProducerId(null) failed");
    TX_CHECK(t, t->r.u.init.producer_id == PID_BASE && t->r.u.init.producer_epoch == 0,
             "first producer id %lld epoch %d", (long long)t->r.u.init.producer_id,
             t->r.u.init.producer_epoch);
    t->pid = t->r.u.init.producer_id;
    tx_produce(t, "b1", NULL, "t", 0, tx_batch(t->pid, 0, 0, false, 3, "a"), -1);
}

static void i_dup(tx *t)
{
    TX_CHECK(t, tx_produce_code(t) == 0 && tx_produce_offset(t) == 0, "first batch");
    tx_produce(t, "b1", NULL, "t", 0, tx_batch(t->pid, 0, 0, false, 3, "a"), -1);
}

static void i_dup_checked(tx *t)
{
    TX_CHECK(t, tx_produce_code(t) == 0 && tx_produce_offset(t) == 0,
             "a retried batch must get its original offset: code %d offset %lld",
             tx_produce_code(t), (long long)tx_produce_offset(t));
    tx_list_offsets(t, "b1", "t", 0, -1, 0);
}

static void i_second(tx *t)
{
    int16_t code;
    TX_CHECK(t, tx_list_offset(t, &code) == 3, "a duplicate appended something");
    tx_produce(t, "b1", NULL, "t", 0, tx_batch(t->pid, 0, 3, false, 2, "b"), -1);
}

static void i_older_dup(tx *t)
{
    TX_CHECK(t, tx_produce_code(t) == 0 && tx_produce_offset(t) == 3, "second batch");
    tx_produce(t, "b1", NULL, "t", 0, tx_batch(t->pid, 0, 0, false, 3, "a"), -1);
}

static void i_gap(tx *t)
{
    TX_CHECK(t, tx_produce_code(t) == 0 && tx_produce_offset(t) == 0, "an older cached batch");
    tx_produce(t, "b1", NULL, "t", 0, tx_batch(t->pid, 0, 7, false, 1, "gap"), -1);
}

static void i_gap_checked(tx *t)
{
    TX_CHECK(t, tx_produce_code(t) == WEIR_KERR_OUT_OF_ORDER_SEQUENCE_NUMBER, "gap: %d",
             tx_produce_code(t));
    tx_produce(t, "b1", NULL, "t", 0, tx_batch(t->pid, 1, 0, false, 1, "c"), -1);
}

static void i_stale(tx *t)
{
    TX_CHECK(t, tx_produce_code(t) == 0 && tx_produce_offset(t) == 5, "new epoch: %d at %lld",
             tx_produce_code(t), (long long)tx_produce_offset(t));
    tx_produce(t, "b1", NULL, "t", 0, tx_batch(t->pid, 0, 5, false, 1, "stale"), -1);
}

static void i_after_rejections(tx *t)
{
    TX_CHECK(t, tx_produce_code(t) == WEIR_KERR_INVALID_PRODUCER_EPOCH, "stale epoch: %d",
             tx_produce_code(t));
    tx_produce(t, "b1", NULL, "t", 0, tx_batch(t->pid, 1, 1, false, 1, "d"), -1);
}

static void i_bad_new_epoch(tx *t)
{
    TX_CHECK(t, tx_produce_code(t) == 0 && tx_produce_offset(t) == 6,
             "the state must be intact after rejections: %d at %lld", tx_produce_code(t),
             (long long)tx_produce_offset(t));
    tx_produce(t, "b1", NULL, "t", 0, tx_batch(t->pid, 3, 4, false, 1, "e"), -1);
}

static void i_count(tx *t)
{
    TX_CHECK(t, tx_produce_code(t) == WEIR_KERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
             "a new epoch must start at 0: %d", tx_produce_code(t));
    tx_list_offsets(t, "b1", "t", 0, -1, 0);
}

static void i_txn_open(tx *t)
{
    int16_t code;
    TX_CHECK(t, tx_list_offset(t, &code) == 7, "rejected batches appended something");
    /* a producer with no state here starts a transaction on t-1 (raw protocol) */
    t->pid2 = PID_BASE + 500;
    tx_produce(t, "b1", "raw", "t", 1, tx_batch(t->pid2, 0, 0, true, 1, "open"), -1);
}

static void i_plain_in_txn(tx *t)
{
    TX_CHECK(t, tx_produce_code(t) == 0, "transactional batch: %d", tx_produce_code(t));
    tx_produce(t, "b1", NULL, "t", 1, tx_batch(t->pid2, 0, 1, false, 1, "plain"), -1);
}

static void i_lso(tx *t)
{
    TX_CHECK(t, tx_produce_code(t) == WEIR_KERR_INVALID_TXN_STATE,
             "a plain write during an open transaction: %d", tx_produce_code(t));
    tx_fetch(t, "b1", "t", 1, 0, 1, 0);
}

static void i_init_again(tx *t)
{
    const weir_fetch_partition_response *fp = tx_fetch_part(t);
    TX_CHECK(t, fp != NULL && fp->error_code == 0, "fetch failed");
    TX_CHECK(t, fp->records.len == 0 && fp->last_stable_offset == 0 && fp->high_watermark == 1,
             "read_committed read %d bytes, LSO %lld, HW %lld", fp->records.len,
             (long long)fp->last_stable_offset, (long long)fp->high_watermark);
    tx_init_pid(t, "b1", NULL, 0);
}

static void i_crash(tx *t)
{
    TX_CHECK(t, t->r.u.init.producer_id == t->pid + 1, "second producer id %lld",
             (long long)t->r.u.init.producer_id);
    TX_CHECK(t, weir_world_crash(t->w, "b1") == 0 && weir_world_restart(t->w, "b1") == 0,
             "crash/restart");
    tx_sleep(t, 500);
}

static void i_init_after_crash(tx *t)
{
    tx_init_pid(t, "b1", NULL, 0);
}

static void i_dup_after_crash(tx *t)
{
    TX_CHECK(t, t->r.err == 0 && t->r.u.init.error_code == 0, "InitProducerId after the crash");
    TX_CHECK(t, t->r.u.init.producer_id >= PID_BASE + 1000,
             "a producer id may repeat after a crash: %lld", (long long)t->r.u.init.producer_id);
    tx_produce(t, "b1", NULL, "t", 0, tx_batch(t->pid, 1, 1, false, 1, "d"), -1);
}

static void i_end(tx *t)
{
    TX_CHECK(t, tx_produce_code(t) == 0 && tx_produce_offset(t) == 6,
             "producer state after the restart: %d at %lld", tx_produce_code(t),
             (long long)tx_produce_offset(t));
    tx_list_offsets(t, "b1", "t", 0, -1, 0);
}

static void i_end_checked(tx *t)
{
    int16_t code;
    TX_CHECK(t, tx_list_offset(t, &code) == 7, "the duplicate after the restart was appended");
}

static const tx_step idempotent_prog[] = {
    s_create_t3 /* 2 would do */,
    i_init,
    i_first,
    i_dup,
    i_dup_checked,
    i_second,
    i_older_dup,
    i_gap,
    i_gap_checked,
    i_stale,
    i_after_rejections,
    i_bad_new_epoch,
    i_count,
    i_txn_open,
    i_plain_in_txn,
    i_lso,
    i_init_again,
    i_crash,
    i_init_after_crash,
    i_dup_after_crash,
    i_end,
    i_end_checked,
};

static void run_idempotent(uint64_t seed, tx_outcome *out)
{
    one_broker(seed, idempotent_prog, (int)(sizeof idempotent_prog / sizeof idempotent_prog[0]),
               20000, out);
}

static void idempotent_produce_dedups_rejects_and_survives_a_crash(void **state)
{
    (void)state;
    tx_outcome a = tx_forked(run_idempotent, 3);
    TX_ASSERT_OK(a);
    tx_outcome b = tx_forked(run_idempotent, 3);
    assert_true(a.hash == b.hash);
}

/* ---- 2. commit and abort: markers, read_committed, the LSO ---- */

static void c_t0(tx *t)
{
    s_check_init(t);
    if (t->done || t->waiting) {
        return;
    }
    static const int32_t parts[] = {0, 1, 2};
    tx_add_parts(t, "b1", tid_of(t), t->pid, t->epoch, "t", parts, 3);
}

static void c_prod0(tx *t)
{
    TX_CHECK(t, tx_add_parts_code(t) == 0, "AddPartitionsToTxn: %d", tx_add_parts_code(t));
    tx_produce(t, "b1", tid_of(t), "t", 0, tx_batch(t->pid, t->epoch, 0, true, 2, "c1"), -1);
}

static void c_prod1(tx *t)
{
    TX_CHECK(t, tx_produce_code(t) == 0 && tx_produce_offset(t) == 0, "txn produce t-0");
    tx_produce(t, "b1", tid_of(t), "t", 1, tx_batch(t->pid, t->epoch, 0, true, 2, "c1"), -1);
}

static void c_prod2(tx *t)
{
    TX_CHECK(t, tx_produce_code(t) == 0, "txn produce t-1");
    tx_produce(t, "b1", tid_of(t), "t", 2, tx_batch(t->pid, t->epoch, 0, true, 2, "c1"), -1);
}

static void c_plain(tx *t)
{
    TX_CHECK(t, tx_produce_code(t) == 0, "txn produce t-2");
    tx_produce(t, "b1", NULL, "t", 0, tx_batch(-1, -1, -1, false, 1, "plain"), -1);
}

static void c_lso_stuck(tx *t)
{
    TX_CHECK(t, tx_produce_code(t) == 0 && tx_produce_offset(t) == 2, "plain produce");
    tx_list_offsets(t, "b1", "t", 0, -1, 1);
}

static void c_hw(tx *t)
{
    int16_t code;
    TX_CHECK(t, tx_list_offset(t, &code) == 0, "LSO must stay at the open transaction");
    tx_list_offsets(t, "b1", "t", 0, -1, 0);
}

static void c_fetch_open(tx *t)
{
    int16_t code;
    TX_CHECK(t, tx_list_offset(t, &code) == 3, "HW");
    tx_fetch(t, "b1", "t", 0, 0, 1, 0);
}

static void c_park_fetch(tx *t)
{
    const weir_fetch_partition_response *fp = tx_fetch_part(t);
    TX_CHECK(t,
             fp != NULL && fp->error_code == 0 && fp->records.len == 0 &&
                 fp->last_stable_offset == 0 && fp->high_watermark == 3,
             "read_committed returned open-transaction data");
    /* a read_committed fetch that must wait for the LSO to move */
    tx_fetch_bg(t, "b1", "t", 1, 0, 5000);
    tx_sleep(t, 50);
}

static void c_commit(tx *t)
{
    TX_CHECK(t, t->bg_waiting, "the read_committed fetch did not wait for the open transaction");
    tx_end(t, "b1", tid_of(t), t->pid, t->epoch, true, 1);
}

static void c_committed(tx *t)
{
    TX_CHECK(t, t->r.err == 0 && t->r.u.end.error_code == 0, "EndTxn commit: %d",
             t->r.u.end.error_code);
}

static void c_check_lso4(tx *t)
{
    s_check_lso_at(t, 4);
}

static void c_woken(tx *t)
{
    TX_CHECK(t, !t->bg_waiting && t->bg_at_ns >= 0 && t->bg_err == 0,
             "the waiting fetch was not answered when the LSO moved");
    TX_CHECK(t, t->bg_at_ns - t->bg_sent_ns < 1000 * MS, "the waiting fetch waited %lld ms",
             (long long)((t->bg_at_ns - t->bg_sent_ns) / MS));
    TX_CHECK(t, t->bg_seen.n_values == 2 && t->bg_lso == 3, "the woken fetch: %d values, LSO %lld",
             t->bg_seen.n_values, (long long)t->bg_lso);
}

static void c_fetch1(tx *t)
{
    tx_fetch(t, "b1", "t", 1, 0, 1, 0);
}

static void c_fetch1_checked(tx *t)
{
    const weir_fetch_partition_response *fp = tx_fetch_part(t);
    TX_CHECK(t, fp != NULL && fp->error_code == 0, "fetch t-1");
    if (fp->last_stable_offset < 3) {
        tx_retry(t, 20); /* the marker is on its way */
        return;
    }
    t->tries = 0;
    tx_seen s;
    tx_consume(fp, true, &s);
    TX_CHECK(t, s.n_values == 2 && s.n_commit_markers == 1 && fp->aborted_count == 0,
             "t-1: %d values, %d commit markers, %d aborted", s.n_values, s.n_commit_markers,
             fp->aborted_count);
}

static void c_fetch2(tx *t)
{
    tx_fetch(t, "b1", "t", 2, 0, 1, 0);
}

static void c_fetch2_checked(tx *t)
{
    const weir_fetch_partition_response *fp = tx_fetch_part(t);
    if (fp != NULL && fp->last_stable_offset < 3) {
        tx_retry(t, 20);
        return;
    }
    t->tries = 0;
    tx_seen s;
    TX_CHECK(t, fp != NULL, "fetch t-2");
    tx_consume(fp, true, &s);
    TX_CHECK(t, s.n_values == 2 && s.n_commit_markers == 1, "t-2: %d values, %d markers",
             s.n_values, s.n_commit_markers);
    static const int32_t parts[] = {0, 1};
    tx_add_parts(t, "b1", tid_of(t), t->pid, t->epoch, "t", parts, 2);
}

static void c_abort_prod0(tx *t)
{
    TX_CHECK(t, tx_add_parts_code(t) == 0, "AddPartitionsToTxn 2: %d", tx_add_parts_code(t));
    tx_produce(t, "b1", tid_of(t), "t", 0, tx_batch(t->pid, t->epoch, 2, true, 1, "a2"), -1);
}

static void c_abort_prod1(tx *t)
{
    TX_CHECK(t, tx_produce_code(t) == 0 && tx_produce_offset(t) == 4,
             "txn 2 produce t-0: %d at %lld", tx_produce_code(t), (long long)tx_produce_offset(t));
    tx_produce(t, "b1", tid_of(t), "t", 1, tx_batch(t->pid, t->epoch, 2, true, 1, "a2"), -1);
}

static void c_abort(tx *t)
{
    TX_CHECK(t, tx_produce_code(t) == 0, "txn 2 produce t-1");
    tx_end(t, "b1", tid_of(t), t->pid, t->epoch, false, 1);
}

static void c_aborted(tx *t)
{
    TX_CHECK(t, t->r.err == 0 && t->r.u.end.error_code == 0, "EndTxn abort");
}

static void c_check_lso6(tx *t)
{
    s_check_lso_at(t, 6);
}

static void c_fetch0(tx *t)
{
    tx_fetch(t, "b1", "t", 0, 0, 1, 0);
}

static void c_fetch0_checked(tx *t)
{
    const weir_fetch_partition_response *fp = tx_fetch_part(t);
    TX_CHECK(t, fp != NULL && fp->error_code == 0 && fp->last_stable_offset == 6, "fetch t-0");
    TX_CHECK(t,
             fp->aborted_count == 1 && fp->aborted[0].producer_id == t->pid &&
                 fp->aborted[0].first_offset == 4,
             "aborted transactions: %d", fp->aborted_count);
    tx_seen s;
    tx_consume(fp, true, &s);
    TX_CHECK(t,
             s.n_values == 3 && !tx_seen_has_prefix(&s, "a2") && s.n_abort_markers == 1 &&
                 s.n_commit_markers == 1,
             "read_committed kept %d values (aborted seen: %d)", s.n_values,
             tx_seen_has_prefix(&s, "a2"));
    tx_end(t, "b1", tid_of(t), t->pid, t->epoch, false, 1);
}

static void c_retry_ok(tx *t)
{
    TX_CHECK(t, t->r.u.end.error_code == 0, "a retried abort after completion: %d",
             t->r.u.end.error_code);
    tx_end(t, "b1", tid_of(t), t->pid, t->epoch, true, 1);
}

static void c_no_txn_checked(tx *t)
{
    TX_CHECK(t, t->r.u.end.error_code == WEIR_KERR_INVALID_TXN_STATE,
             "EndTxn commit with no transaction: %d", t->r.u.end.error_code);
    t->tries = 0;
}

static void c_group_coord(tx *t)
{
    tx_find_coord(t, "b1", "g1", WEIR_COORDINATOR_GROUP);
}

static void c_add_offsets(tx *t)
{
    if (t->r.err != 0 || t->r.u.find.error_code != WEIR_KERR_NONE) {
        tx_retry(t, 50);
        return;
    }
    t->tries = 0;
    tx_add_offsets(t, "b1", tid_of(t), t->pid, t->epoch, "g1");
}

static void c_offsets_commit(tx *t)
{
    TX_CHECK(t, t->r.err == 0 && t->r.u.add_offsets.error_code == 0, "AddOffsetsToTxn: %d",
             t->r.u.add_offsets.error_code);
    tx_end(t, "b1", tid_of(t), t->pid, t->epoch, true, 1);
}

static void c_offsets_end_checked(tx *t)
{
    TX_CHECK(t, t->r.u.end.error_code == 0, "EndTxn with offsets");
}

static void c_offsets_fetch(tx *t)
{
    int32_t part = bk_coord_partition_for("g1", 2, 3);
    tx_fetch(t, "b1", BK_OFFSETS_TOPIC, part, 0, 0, 0);
}

static void c_offsets_marker(tx *t)
{
    const weir_fetch_partition_response *fp = tx_fetch_part(t);
    TX_CHECK(t, fp != NULL && fp->error_code == 0, "fetch __consumer_offsets: %d",
             fp != NULL ? fp->error_code : -1);
    tx_seen s;
    tx_consume(fp, false, &s);
    if (s.n_commit_markers < 1) {
        tx_retry(t, 20);
        return;
    }
    t->n[0] = s.n_commit_markers;
}

static void shutdown_b1(weir_env *env, void *arg)
{
    (void)env;
    tx *t = arg;
    weir_broker_shutdown(weir_world_node_state(t->w, "b1"));
}

/* A clean stop with the coordinator's state loaded (and, under ASan, nothing left). */
static void c_shutdown(tx *t)
{
    TX_CHECK(t, weir_sim_node_post(t->w, "b1", shutdown_b1, t) == 0, "post");
    tx_sleep(t, 100);
}

static const tx_step commit_prog[] = {
    s_create_t3,
    s_check_created,
    s_find_txn_coord,
    s_check_coord,
    s_init,
    c_t0,
    c_prod0,
    c_prod1,
    c_prod2,
    c_plain,
    c_lso_stuck,
    c_hw,
    c_fetch_open,
    c_park_fetch,
    c_commit,
    c_committed,
    s_lso_t0,
    c_check_lso4,
    c_woken,
    c_fetch1,
    c_fetch1_checked,
    c_fetch2,
    c_fetch2_checked,
    c_abort_prod0,
    c_abort_prod1,
    c_abort,
    c_aborted,
    s_lso_t0,
    c_check_lso6,
    c_fetch0,
    c_fetch0_checked,
    c_retry_ok,
    c_no_txn_checked,
    c_group_coord,
    c_add_offsets,
    c_offsets_commit,
    c_offsets_end_checked,
    c_offsets_fetch,
    c_offsets_marker,
    c_shutdown,
};

static void run_commit(uint64_t seed, tx_outcome *out)
{
    T.n[15] = 0;
    one_broker(seed, commit_prog, (int)(sizeof commit_prog / sizeof commit_prog[0]), 30000, out);
}

static void commit_and_abort_mark_every_partition_and_read_committed_skips_aborted(void **state)
{
    (void)state;
    tx_outcome a = tx_forked(run_commit, 5);
    TX_ASSERT_OK(a);
    assert_int_equal(a.n[0], 1); /* the COMMIT marker on the group's __consumer_offsets partition */
}

/* ---- 3. a new instance fences the old one ---- */

static void f_add(tx *t)
{
    s_check_init(t);
    if (t->done || t->waiting) {
        return;
    }
    t->pid2 = t->pid; /* the first instance */
    t->epoch2 = t->epoch;
    static const int32_t parts[] = {0};
    tx_add_parts(t, "b1", tid_of(t), t->pid, t->epoch, "t", parts, 1);
}

static void f_prod(tx *t)
{
    TX_CHECK(t, tx_add_parts_code(t) == 0, "AddPartitionsToTxn");
    tx_produce(t, "b1", tid_of(t), "t", 0, tx_batch(t->pid, t->epoch, 0, true, 1, "zombie"), -1);
}

static void f_prod_checked(tx *t)
{
    TX_CHECK(t, tx_produce_code(t) == 0, "txn produce");
}

static void f_second_instance(tx *t)
{
    tx_init_pid(t, "b1", tid_of(t), 60000);
}

static void f_second_ok(tx *t)
{
    if (t->r.err == 0 && t->r.u.init.error_code == WEIR_KERR_CONCURRENT_TRANSACTIONS) {
        t->n[1]++; /* the open transaction is being aborted first */
        tx_retry(t, 20);
        return;
    }
    TX_CHECK(t, t->r.err == 0 && t->r.u.init.error_code == 0, "second InitProducerId: %d",
             t->r.u.init.error_code);
    t->tries = 0;
    TX_CHECK(t, t->r.u.init.producer_id == t->pid2 && t->r.u.init.producer_epoch == t->epoch2 + 2,
             "fenced epoch %d (was %d)", t->r.u.init.producer_epoch, t->epoch2);
    t->epoch = t->r.u.init.producer_epoch;
    tx_end(t, "b1", tid_of(t), t->pid2, t->epoch2, true, 1);
}

static void f_zombie_end(tx *t)
{
    TX_CHECK(t, t->r.err == 0 && t->r.u.end.error_code == WEIR_KERR_INVALID_PRODUCER_EPOCH,
             "the old instance's EndTxn v1: %d", t->r.u.end.error_code);
    tx_end(t, "b1", tid_of(t), t->pid2, t->epoch2, true, 3);
}

static void f_zombie_end_v3(tx *t)
{
    TX_CHECK(t, t->r.err == 0 && t->r.u.end.error_code == WEIR_KERR_PRODUCER_FENCED,
             "the old instance's EndTxn v3: %d", t->r.u.end.error_code);
    tx_produce(t, "b1", tid_of(t), "t", 0, tx_batch(t->pid2, t->epoch2, 1, true, 1, "zombie"), -1);
}

static void f_zombie_produce(tx *t)
{
    TX_CHECK(t, tx_produce_code(t) == WEIR_KERR_INVALID_PRODUCER_EPOCH,
             "the old instance's produce after the fence: %d", tx_produce_code(t));
}

static void f_fetch(tx *t)
{
    tx_fetch(t, "b1", "t", 0, 0, 1, 0);
}

static void f_nothing_visible(tx *t)
{
    const weir_fetch_partition_response *fp = tx_fetch_part(t);
    TX_CHECK(t, fp != NULL && fp->error_code == 0, "fetch");
    if (fp->last_stable_offset < 2) {
        tx_retry(t, 20);
        return;
    }
    tx_seen s;
    tx_consume(fp, true, &s);
    TX_CHECK(t, s.n_values == 0 && s.n_abort_markers == 1 && fp->aborted_count == 1,
             "the fenced transaction: %d values, %d abort markers", s.n_values, s.n_abort_markers);
}

static const tx_step fence_prog[] = {
    s_create_t1,  s_check_created, s_find_txn_coord, s_check_coord,     s_init,
    f_add,        f_prod,          f_prod_checked,   f_second_instance, f_second_ok,
    f_zombie_end, f_zombie_end_v3, f_zombie_produce, f_fetch,           f_nothing_visible,
};

static void run_fence(uint64_t seed, tx_outcome *out)
{
    T.n[15] = 1;
    one_broker(seed, fence_prog, (int)(sizeof fence_prog / sizeof fence_prog[0]), 20000, out);
}

static void init_producer_id_fences_the_old_instance_and_aborts_its_transaction(void **state)
{
    (void)state;
    tx_outcome a = tx_forked(run_fence, 7);
    TX_ASSERT_OK(a);
    assert_true(a.n[1] >= 1); /* CONCURRENT_TRANSACTIONS while the abort completed */
}

/* ---- 4. transaction timeout ---- */

static void t_add(tx *t)
{
    s_check_init(t);
    if (t->done || t->waiting) {
        return;
    }
    static const int32_t parts[] = {0};
    tx_add_parts(t, "b1", tid_of(t), t->pid, t->epoch, "t", parts, 1);
}

static void t_prod(tx *t)
{
    TX_CHECK(t, tx_add_parts_code(t) == 0, "AddPartitionsToTxn");
    tx_produce(t, "b1", tid_of(t), "t", 0, tx_batch(t->pid, t->epoch, 0, true, 1, "slow"), -1);
}

static void t_wait(tx *t)
{
    TX_CHECK(t, tx_produce_code(t) == 0, "txn produce");
    tx_sleep(t, 3500);
}

static void t_check_lso2(tx *t)
{
    s_check_lso_at(t, 2); /* data + the ABORT marker */
}

static void t_late_end(tx *t)
{
    tx_end(t, "b1", tid_of(t), t->pid, t->epoch, true, 1);
}

static void t_late_end_checked(tx *t)
{
    TX_CHECK(t, t->r.err == 0 && t->r.u.end.error_code == WEIR_KERR_INVALID_PRODUCER_EPOCH,
             "EndTxn after the timeout abort: %d", t->r.u.end.error_code);
    tx_fetch(t, "b1", "t", 0, 0, 1, 0);
}

static void t_aborted(tx *t)
{
    const weir_fetch_partition_response *fp = tx_fetch_part(t);
    TX_CHECK(t, fp != NULL && fp->aborted_count == 1, "the timed-out transaction is not aborted");
    tx_seen s;
    tx_consume(fp, true, &s);
    TX_CHECK(t, s.n_values == 0, "aborted data visible");
}

static const tx_step timeout_prog[] = {
    s_create_t1, s_check_created, s_find_txn_coord, s_check_coord, s_init,     t_add,
    t_prod,      t_wait,          s_lso_t0,         t_check_lso2,  t_late_end, t_late_end_checked,
    t_aborted,
};

static void run_timeout(uint64_t seed, tx_outcome *out)
{
    T.n[15] = 2;
    T.n[14] = 1000; /* transaction.timeout.ms */
    one_broker(seed, timeout_prog, (int)(sizeof timeout_prog / sizeof timeout_prog[0]), 20000, out);
}

static void a_transaction_open_past_its_timeout_is_aborted_and_its_producer_fenced(void **state)
{
    (void)state;
    tx_outcome a = tx_forked(run_timeout, 9);
    TX_ASSERT_OK(a);
}

/* ---- 5. EndTxn v5 bumps the epoch; v1 shows the hazard ---- */

static void v_add(tx *t)
{
    s_check_init(t);
    if (t->done || t->waiting) {
        return;
    }
    static const int32_t parts[] = {0};
    tx_add_parts(t, "b1", tid_of(t), t->pid, t->epoch, "t", parts, 1);
}

static void v_prod(tx *t)
{
    TX_CHECK(t, tx_add_parts_code(t) == 0, "AddPartitionsToTxn: %d", tx_add_parts_code(t));
    tx_produce(t, "b1", tid_of(t), "t", 0,
               tx_batch(t->pid, t->epoch, (int32_t)t->n[2], true, 1, t->n[3] == 0 ? "t1" : "t2"),
               -1);
}

static void v_end(tx *t)
{
    TX_CHECK(t, tx_produce_code(t) == 0, "txn produce: %d", tx_produce_code(t));
    tx_end(t, "b1", tid_of(t), t->pid, t->epoch, true, 5);
}

static void v_bumped(tx *t)
{
    TX_CHECK(t, t->r.err == 0 && t->r.u.end.error_code == 0, "EndTxn v5: %d",
             t->r.u.end.error_code);
    TX_CHECK(t, t->r.u.end.producer_id == t->pid && t->r.u.end.producer_epoch == t->epoch + 1,
             "EndTxn v5 returned epoch %d (had %d)", t->r.u.end.producer_epoch, t->epoch);
    t->epoch2 = t->epoch;
    t->epoch = t->r.u.end.producer_epoch;
    /* a Produce of the finished transaction, delayed in the network */
    tx_produce(t, "b1", tid_of(t), "t", 0, tx_batch(t->pid, t->epoch2, 1, true, 1, "late"), -1);
}

static void v_late_fenced(tx *t)
{
    TX_CHECK(t, tx_produce_code(t) == WEIR_KERR_INVALID_PRODUCER_EPOCH,
             "a delayed old-epoch produce after the bump: %d", tx_produce_code(t));
}

static void v_check_lso2(tx *t)
{
    s_check_lso_at(t, 2);
}

static void v_t2(tx *t)
{
    t->n[2] = 0; /* the new epoch starts at sequence 0 */
    t->n[3] = 1;
    static const int32_t parts[] = {0};
    tx_add_parts(t, "b1", tid_of(t), t->pid, t->epoch, "t", parts, 1);
}

static void v_t2_prod(tx *t)
{
    TX_CHECK(t, tx_add_parts_code(t) == 0, "AddPartitionsToTxn T2: %d", tx_add_parts_code(t));
    tx_produce(t, "b1", tid_of(t), "t", 0, tx_batch(t->pid, t->epoch, 0, true, 1, "t2"), -1);
}

static void v_late_end(tx *t)
{
    TX_CHECK(t, tx_produce_code(t) == 0, "T2 produce with the bumped epoch: %d",
             tx_produce_code(t));
    /* an EndTxn(abort) of T1, delayed: it must not end T2 */
    tx_end(t, "b1", tid_of(t), t->pid, t->epoch2, false, 5);
}

static void v_late_end_fenced(tx *t)
{
    TX_CHECK(t, t->r.err == 0 && t->r.u.end.error_code == WEIR_KERR_PRODUCER_FENCED,
             "a delayed EndTxn of T1 during T2: %d", t->r.u.end.error_code);
    tx_end(t, "b1", tid_of(t), t->pid, t->epoch, true, 5);
}

static void v_t2_committed(tx *t)
{
    TX_CHECK(
        t, t->r.err == 0 && t->r.u.end.error_code == 0 && t->r.u.end.producer_epoch == t->epoch + 1,
        "T2 commit: %d epoch %d", t->r.u.end.error_code, t->r.u.end.producer_epoch);
}

static void v_check_lso4(tx *t)
{
    s_check_lso_at(t, 4);
}

static void v_read(tx *t)
{
    tx_fetch(t, "b1", "t", 0, 0, 1, 0);
}

static void v_read_checked(tx *t)
{
    const weir_fetch_partition_response *fp = tx_fetch_part(t);
    TX_CHECK(t, fp != NULL, "fetch");
    tx_seen s;
    tx_consume(fp, true, &s);
    TX_CHECK(t,
             s.n_values == 2 && tx_seen_has_prefix(&s, "t1") && tx_seen_has_prefix(&s, "t2") &&
                 !tx_seen_has_prefix(&s, "late"),
             "v5 read_committed: %d values", s.n_values);
    /* Now the same with EndTxn v1 on another id: the hazard. */
    t->n[15] = 4;
    t->tries = 0;
}

static void h_add1(tx *t)
{
    s_check_init(t);
    if (t->done || t->waiting) {
        return;
    }
    static const int32_t parts[] = {0};
    tx_add_parts(t, "b1", tid_of(t), t->pid, t->epoch, "t", parts, 1);
}

static void h_prod1(tx *t)
{
    TX_CHECK(t, tx_add_parts_code(t) == 0, "AddPartitionsToTxn h1");
    tx_produce(t, "b1", tid_of(t), "t", 0, tx_batch(t->pid, t->epoch, 0, true, 1, "h1"), -1);
}

static void h_end1(tx *t)
{
    TX_CHECK(t, tx_produce_code(t) == 0, "h1 produce");
    tx_end(t, "b1", tid_of(t), t->pid, t->epoch, true, 1);
}

static void h_add2(tx *t)
{
    if (t->r.api_key == WEIR_API_END_TXN) {
        TX_CHECK(t, t->r.u.end.error_code == 0, "h1 commit");
    }
    static const int32_t parts[] = {0};
    tx_add_parts(t, "b1", tid_of(t), t->pid, t->epoch, "t", parts, 1);
}

static void h_prod2(tx *t)
{
    if (tx_add_parts_code(t) == WEIR_KERR_CONCURRENT_TRANSACTIONS) {
        tx_retry(t, 20); /* the commit's markers are still out */
        return;
    }
    t->tries = 0;
    TX_CHECK(t, tx_add_parts_code(t) == 0, "AddPartitionsToTxn h2: %d", tx_add_parts_code(t));
    tx_produce(t, "b1", tid_of(t), "t", 0, tx_batch(t->pid, t->epoch, 1, true, 1, "h2"), -1);
}

static void h_delayed_abort(tx *t)
{
    TX_CHECK(t, tx_produce_code(t) == 0, "h2 produce: %d (same epoch, next sequence)",
             tx_produce_code(t));
    /* a delayed EndTxn(abort) meant for the first transaction: same epoch */
    tx_end(t, "b1", tid_of(t), t->pid, t->epoch, false, 1);
}

static void h_hazard(tx *t)
{
    TX_CHECK(t, t->r.err == 0 && t->r.u.end.error_code == 0,
             "v1 cannot tell a delayed EndTxn from a new one: %d", t->r.u.end.error_code);
    t->n[4] = 1; /* the hazard: it ended the second transaction */
    tx_end(t, "b1", tid_of(t), t->pid, t->epoch, true, 1);
}

static void h_own_commit(tx *t)
{
    if (t->r.u.end.error_code == WEIR_KERR_CONCURRENT_TRANSACTIONS) {
        tx_retry(t, 20);
        return;
    }
    TX_CHECK(t, t->r.u.end.error_code == WEIR_KERR_INVALID_TXN_STATE,
             "the producer's own commit after the hijacked abort: %d", t->r.u.end.error_code);
}

static const tx_step v5_prog[] = {
    s_create_t1,    s_check_created, s_find_txn_coord, s_check_coord,
    s_init,         v_add,           v_prod,           v_end,
    v_bumped,       v_late_fenced,   s_lso_t0,         v_check_lso2,
    v_t2,           v_t2_prod,       v_late_end,       v_late_end_fenced,
    v_t2_committed, s_lso_t0,        v_check_lso4,     v_read,
    v_read_checked, s_init,          h_add1,           h_prod1,
    h_end1,         h_add2,          h_prod2,          h_delayed_abort,
    h_hazard,       h_own_commit,
};

static void run_v5(uint64_t seed, tx_outcome *out)
{
    T.n[15] = 3;
    one_broker(seed, v5_prog, (int)(sizeof v5_prog / sizeof v5_prog[0]), 20000, out);
}

static void end_txn_v5_bumps_the_epoch_and_fences_delayed_requests_v1_does_not(void **state)
{
    (void)state;
    tx_outcome a = tx_forked(run_v5, 11);
    TX_ASSERT_OK(a);
    assert_int_equal(a.n[4], 1);
}

/* ---- 6. invalid transaction timeouts ---- */

static void x_too_long(tx *t)
{
    tx_init_pid(t, "b1", "tx-x", 900001);
}

static void x_zero(tx *t)
{
    TX_CHECK(t, t->r.err == 0 && t->r.u.init.error_code == WEIR_KERR_INVALID_TRANSACTION_TIMEOUT,
             "timeout 900001: %d", t->r.u.init.error_code);
    tx_init_pid(t, "b1", "tx-x", 0);
}

static void x_empty_id(tx *t)
{
    TX_CHECK(t, t->r.err == 0 && t->r.u.init.error_code == WEIR_KERR_INVALID_TRANSACTION_TIMEOUT,
             "timeout 0: %d", t->r.u.init.error_code);
    tx_init_pid(t, "b1", "", 60000);
}

static void x_checked(tx *t)
{
    TX_CHECK(t,
             t->r.err == 0 && t->r.u.init.error_code == WEIR_KERR_INVALID_REQUEST &&
                 t->r.u.init.producer_id == -1,
             "empty transactional id: %d", t->r.u.init.error_code);
}

static const tx_step invalid_prog[] = {x_too_long, x_zero, x_empty_id, x_checked};

static void run_invalid(uint64_t seed, tx_outcome *out)
{
    one_broker(seed, invalid_prog, (int)(sizeof invalid_prog / sizeof invalid_prog[0]), 5000, out);
}

static void a_transaction_timeout_above_the_maximum_is_invalid(void **state)
{
    (void)state;
    tx_outcome a = tx_forked(run_invalid, 13);
    TX_ASSERT_OK(a);
}

int main(int argc, char **argv)
{
    static const tx_child_fn fns[] = {run_idempotent, run_commit, run_fence,
                                      run_timeout,    run_v5,     run_invalid};
    int direct = tx_main_direct(argc, argv, fns, (int)(sizeof fns / sizeof fns[0]));
    if (direct >= 0) {
        return direct;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(idempotent_produce_dedups_rejects_and_survives_a_crash),
        cmocka_unit_test(commit_and_abort_mark_every_partition_and_read_committed_skips_aborted),
        cmocka_unit_test(init_producer_id_fences_the_old_instance_and_aborts_its_transaction),
        cmocka_unit_test(a_transaction_open_past_its_timeout_is_aborted_and_its_producer_fenced),
        cmocka_unit_test(end_txn_v5_bumps_the_epoch_and_fences_delayed_requests_v1_does_not),
        cmocka_unit_test(a_transaction_timeout_above_the_maximum_is_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
