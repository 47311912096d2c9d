/* The Kafka wire codec (impl/proto): golden bytes from real clients, round
 * trips of every version of every API in weir_api_table (the inter-broker,
 * consumer-group and transaction ones too), truncation at every byte, absurd
 * counts, error paths that name the field, and the table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/kafka.h"
#include "proto/messages.h"
#include "proto/wire.h"
#include "proto_samples.h"

/* ---- helpers ---- */

static void expect_bytes(const uint8_t *got, size_t got_len, const void *want, size_t want_len)
{
    if (got_len != want_len || memcmp(got, want, want_len) != 0) {
        fprintf(stderr, "got  (%zu):", got_len);
        for (size_t i = 0; i < got_len; i++) {
            fprintf(stderr, " %02x", got[i]);
        }
        fprintf(stderr, "\nwant (%zu):", want_len);
        for (size_t i = 0; i < want_len; i++) {
            fprintf(stderr, " %02x", ((const uint8_t *)want)[i]);
        }
        fprintf(stderr, "\n");
        fail_msg("bytes differ");
    }
}

#define EXPECT_STR(a, b) assert_true(weir_str_eq((a), (b)))
#define EXPECT_BYTES(a, b) assert_true(weir_bytes_eq((a), (b)))

/* A heap copy of exactly len bytes, so ASan catches a read past the end. */
static uint8_t *dup_exact(const uint8_t *p, size_t len)
{
    uint8_t *c = malloc(len == 0 ? 1 : len);
    assert_non_null(c);
    if (len > 0) {
        memcpy(c, p, len);
    }
    return c;
}

/* ---- comparators: every field, both ways ---- */

/* ---- comparators for the inter-broker APIs ---- */

static void eq_i32s(int32_t n, const int32_t *x, int32_t m, const int32_t *y)
{
    assert_int_equal(n, m);
    for (int32_t i = 0; i < n; i++) {
        assert_int_equal(x[i], y[i]);
    }
}

static void eq_leader_and_isr_request(const weir_leader_and_isr_request *x,
                                      const weir_leader_and_isr_request *y)
{
    assert_int_equal(x->controller_id, y->controller_id);
    assert_int_equal(x->controller_epoch, y->controller_epoch);
    assert_int_equal(x->broker_epoch, y->broker_epoch);
    assert_int_equal(x->topic_state_count, y->topic_state_count);
    for (int32_t i = 0; i < x->topic_state_count; i++) {
        const weir_leader_and_isr_topic_state *s = &x->topic_states[i], *t = &y->topic_states[i];
        EXPECT_STR(s->topic_name, t->topic_name);
        assert_int_equal(s->partition_state_count, t->partition_state_count);
        for (int32_t j = 0; j < s->partition_state_count; j++) {
            const weir_leader_and_isr_partition_state *p = &s->partition_states[j];
            const weir_leader_and_isr_partition_state *q = &t->partition_states[j];
            assert_int_equal(p->partition_index, q->partition_index);
            assert_int_equal(p->controller_epoch, q->controller_epoch);
            assert_int_equal(p->leader, q->leader);
            assert_int_equal(p->leader_epoch, q->leader_epoch);
            eq_i32s(p->isr_count, p->isr, q->isr_count, q->isr);
            assert_int_equal(p->zk_version, q->zk_version);
            eq_i32s(p->replica_count, p->replicas, q->replica_count, q->replicas);
            eq_i32s(p->adding_replica_count, p->adding_replicas, q->adding_replica_count,
                    q->adding_replicas);
            eq_i32s(p->removing_replica_count, p->removing_replicas, q->removing_replica_count,
                    q->removing_replicas);
            assert_int_equal(p->is_new, q->is_new);
        }
    }
    assert_int_equal(x->live_leader_count, y->live_leader_count);
    for (int32_t i = 0; i < x->live_leader_count; i++) {
        assert_int_equal(x->live_leaders[i].broker_id, y->live_leaders[i].broker_id);
        EXPECT_STR(x->live_leaders[i].host_name, y->live_leaders[i].host_name);
        assert_int_equal(x->live_leaders[i].port, y->live_leaders[i].port);
    }
}

static void eq_offset_for_leader_epoch_request(const weir_offset_for_leader_epoch_request *x,
                                               const weir_offset_for_leader_epoch_request *y)
{
    assert_int_equal(x->replica_id, y->replica_id);
    assert_int_equal(x->topic_count, y->topic_count);
    for (int32_t i = 0; i < x->topic_count; i++) {
        EXPECT_STR(x->topics[i].name, y->topics[i].name);
        assert_int_equal(x->topics[i].partition_count, y->topics[i].partition_count);
        for (int32_t j = 0; j < x->topics[i].partition_count; j++) {
            const weir_offset_for_leader_epoch_partition *p = &x->topics[i].partitions[j];
            const weir_offset_for_leader_epoch_partition *q = &y->topics[i].partitions[j];
            assert_int_equal(p->partition_index, q->partition_index);
            assert_int_equal(p->current_leader_epoch, q->current_leader_epoch);
            assert_int_equal(p->leader_epoch, q->leader_epoch);
        }
    }
}

static void eq_alter_partition_request(const weir_alter_partition_request *x,
                                       const weir_alter_partition_request *y)
{
    assert_int_equal(x->broker_id, y->broker_id);
    assert_int_equal(x->broker_epoch, y->broker_epoch);
    assert_int_equal(x->topic_count, y->topic_count);
    for (int32_t i = 0; i < x->topic_count; i++) {
        EXPECT_STR(x->topics[i].name, y->topics[i].name);
        assert_int_equal(x->topics[i].partition_count, y->topics[i].partition_count);
        for (int32_t j = 0; j < x->topics[i].partition_count; j++) {
            const weir_alter_partition_partition *p = &x->topics[i].partitions[j];
            const weir_alter_partition_partition *q = &y->topics[i].partitions[j];
            assert_int_equal(p->partition_index, q->partition_index);
            assert_int_equal(p->leader_epoch, q->leader_epoch);
            eq_i32s(p->new_isr_count, p->new_isr, q->new_isr_count, q->new_isr);
            assert_int_equal(p->leader_recovery_state, q->leader_recovery_state);
            assert_int_equal(p->partition_epoch, q->partition_epoch);
        }
    }
}

static void eq_broker_registration_request(const weir_broker_registration_request *x,
                                           const weir_broker_registration_request *y)
{
    assert_int_equal(x->broker_id, y->broker_id);
    EXPECT_STR(x->cluster_id, y->cluster_id);
    assert_true(weir_uuid_eq(x->incarnation_id, y->incarnation_id));
    assert_int_equal(x->listener_count, y->listener_count);
    for (int32_t i = 0; i < x->listener_count; i++) {
        EXPECT_STR(x->listeners[i].name, y->listeners[i].name);
        EXPECT_STR(x->listeners[i].host, y->listeners[i].host);
        assert_int_equal(x->listeners[i].port, y->listeners[i].port);
        assert_int_equal(x->listeners[i].security_protocol, y->listeners[i].security_protocol);
    }
    assert_int_equal(x->feature_count, y->feature_count);
    for (int32_t i = 0; i < x->feature_count; i++) {
        EXPECT_STR(x->features[i].name, y->features[i].name);
        assert_int_equal(x->features[i].min_supported_version,
                         y->features[i].min_supported_version);
        assert_int_equal(x->features[i].max_supported_version,
                         y->features[i].max_supported_version);
    }
    EXPECT_STR(x->rack, y->rack);
}

static void eq_offset_for_leader_epoch_response(const weir_offset_for_leader_epoch_response *x,
                                                const weir_offset_for_leader_epoch_response *y)
{
    assert_int_equal(x->throttle_time_ms, y->throttle_time_ms);
    assert_int_equal(x->topic_count, y->topic_count);
    for (int32_t i = 0; i < x->topic_count; i++) {
        EXPECT_STR(x->topics[i].name, y->topics[i].name);
        assert_int_equal(x->topics[i].partition_count, y->topics[i].partition_count);
        for (int32_t j = 0; j < x->topics[i].partition_count; j++) {
            const weir_offset_for_leader_epoch_partition_response *p = &x->topics[i].partitions[j];
            const weir_offset_for_leader_epoch_partition_response *q = &y->topics[i].partitions[j];
            assert_int_equal(p->error_code, q->error_code);
            assert_int_equal(p->partition_index, q->partition_index);
            assert_int_equal(p->leader_epoch, q->leader_epoch);
            assert_int_equal(p->end_offset, q->end_offset);
        }
    }
}

static void eq_alter_partition_response(const weir_alter_partition_response *x,
                                        const weir_alter_partition_response *y)
{
    assert_int_equal(x->throttle_time_ms, y->throttle_time_ms);
    assert_int_equal(x->error_code, y->error_code);
    assert_int_equal(x->topic_count, y->topic_count);
    for (int32_t i = 0; i < x->topic_count; i++) {
        EXPECT_STR(x->topics[i].name, y->topics[i].name);
        assert_int_equal(x->topics[i].partition_count, y->topics[i].partition_count);
        for (int32_t j = 0; j < x->topics[i].partition_count; j++) {
            const weir_alter_partition_partition_response *p = &x->topics[i].partitions[j];
            const weir_alter_partition_partition_response *q = &y->topics[i].partitions[j];
            assert_int_equal(p->partition_index, q->partition_index);
            assert_int_equal(p->error_code, q->error_code);
            assert_int_equal(p->leader_id, q->leader_id);
            assert_int_equal(p->leader_epoch, q->leader_epoch);
            eq_i32s(p->isr_count, p->isr, q->isr_count, q->isr);
            assert_int_equal(p->leader_recovery_state, q->leader_recovery_state);
            assert_int_equal(p->partition_epoch, q->partition_epoch);
        }
    }
}

/* Compares the inter-broker response bodies; false for other keys. */
static bool eq_cluster_response_body(int16_t key, const proto_response *a, const proto_response *b)
{
    switch (key) {
    case WEIR_API_LEADER_AND_ISR: {
        const weir_leader_and_isr_response *x = &a->body.leader_and_isr;
        const weir_leader_and_isr_response *y = &b->body.leader_and_isr;
        assert_int_equal(x->error_code, y->error_code);
        assert_int_equal(x->partition_error_count, y->partition_error_count);
        for (int32_t i = 0; i < x->partition_error_count; i++) {
            EXPECT_STR(x->partition_errors[i].topic_name, y->partition_errors[i].topic_name);
            assert_int_equal(x->partition_errors[i].partition_index,
                             y->partition_errors[i].partition_index);
            assert_int_equal(x->partition_errors[i].error_code, y->partition_errors[i].error_code);
        }
        return true;
    }
    case WEIR_API_OFFSET_FOR_LEADER_EPOCH:
        eq_offset_for_leader_epoch_response(&a->body.offset_for_leader_epoch,
                                            &b->body.offset_for_leader_epoch);
        return true;
    case WEIR_API_ALTER_PARTITION:
        eq_alter_partition_response(&a->body.alter_partition, &b->body.alter_partition);
        return true;
    case WEIR_API_BROKER_REGISTRATION: {
        const weir_broker_registration_response *x = &a->body.broker_registration;
        const weir_broker_registration_response *y = &b->body.broker_registration;
        assert_int_equal(x->throttle_time_ms, y->throttle_time_ms);
        assert_int_equal(x->error_code, y->error_code);
        assert_int_equal(x->broker_epoch, y->broker_epoch);
        return true;
    }
    case WEIR_API_BROKER_HEARTBEAT: {
        const weir_broker_heartbeat_response *x = &a->body.broker_heartbeat;
        const weir_broker_heartbeat_response *y = &b->body.broker_heartbeat;
        assert_int_equal(x->throttle_time_ms, y->throttle_time_ms);
        assert_int_equal(x->error_code, y->error_code);
        assert_int_equal(x->is_caught_up, y->is_caught_up);
        assert_int_equal(x->is_fenced, y->is_fenced);
        assert_int_equal(x->should_shut_down, y->should_shut_down);
        return true;
    }
    default:
        return false;
    }
}

/* ---- comparators for the consumer-group and transaction APIs ---- */

static void eq_offset_commit_request(const weir_offset_commit_request *x,
                                     const weir_offset_commit_request *y)
{
    EXPECT_STR(x->group_id, y->group_id);
    assert_int_equal(x->generation_id, y->generation_id);
    EXPECT_STR(x->member_id, y->member_id);
    EXPECT_STR(x->group_instance_id, y->group_instance_id);
    assert_int_equal(x->retention_time_ms, y->retention_time_ms);
    assert_int_equal(x->topic_count, y->topic_count);
    for (int32_t i = 0; i < x->topic_count; i++) {
        EXPECT_STR(x->topics[i].name, y->topics[i].name);
        assert_int_equal(x->topics[i].partition_count, y->topics[i].partition_count);
        for (int32_t j = 0; j < x->topics[i].partition_count; j++) {
            const weir_offset_commit_partition *p = &x->topics[i].partitions[j];
            const weir_offset_commit_partition *q = &y->topics[i].partitions[j];
            assert_int_equal(p->partition_index, q->partition_index);
            assert_int_equal(p->committed_offset, q->committed_offset);
            assert_int_equal(p->committed_leader_epoch, q->committed_leader_epoch);
            assert_int_equal(p->commit_timestamp, q->commit_timestamp);
            EXPECT_STR(p->committed_metadata, q->committed_metadata);
        }
    }
}

static void eq_join_group_request(const weir_join_group_request *x,
                                  const weir_join_group_request *y)
{
    EXPECT_STR(x->group_id, y->group_id);
    assert_int_equal(x->session_timeout_ms, y->session_timeout_ms);
    assert_int_equal(x->rebalance_timeout_ms, y->rebalance_timeout_ms);
    EXPECT_STR(x->member_id, y->member_id);
    EXPECT_STR(x->group_instance_id, y->group_instance_id);
    EXPECT_STR(x->protocol_type, y->protocol_type);
    assert_int_equal(x->protocol_count, y->protocol_count);
    for (int32_t i = 0; i < x->protocol_count; i++) {
        EXPECT_STR(x->protocols[i].name, y->protocols[i].name);
        EXPECT_BYTES(x->protocols[i].metadata, y->protocols[i].metadata);
    }
}

static void eq_sync_group_request(const weir_sync_group_request *x,
                                  const weir_sync_group_request *y)
{
    EXPECT_STR(x->group_id, y->group_id);
    assert_int_equal(x->generation_id, y->generation_id);
    EXPECT_STR(x->member_id, y->member_id);
    EXPECT_STR(x->group_instance_id, y->group_instance_id);
    assert_int_equal(x->assignment_count, y->assignment_count);
    for (int32_t i = 0; i < x->assignment_count; i++) {
        EXPECT_STR(x->assignments[i].member_id, y->assignments[i].member_id);
        EXPECT_BYTES(x->assignments[i].assignment, y->assignments[i].assignment);
    }
}

static void eq_write_txn_markers_request(const weir_write_txn_markers_request *x,
                                         const weir_write_txn_markers_request *y)
{
    assert_int_equal(x->marker_count, y->marker_count);
    for (int32_t i = 0; i < x->marker_count; i++) {
        const weir_write_txn_markers_marker *m = &x->markers[i], *n = &y->markers[i];
        assert_int_equal(m->producer_id, n->producer_id);
        assert_int_equal(m->producer_epoch, n->producer_epoch);
        assert_int_equal(m->transaction_result, n->transaction_result);
        assert_int_equal(m->topic_count, n->topic_count);
        for (int32_t j = 0; j < m->topic_count; j++) {
            EXPECT_STR(m->topics[j].name, n->topics[j].name);
            eq_i32s(m->topics[j].partition_index_count, m->topics[j].partition_indexes,
                    n->topics[j].partition_index_count, n->topics[j].partition_indexes);
        }
        assert_int_equal(m->coordinator_epoch, n->coordinator_epoch);
    }
}

static void eq_txn_offset_commit_request(const weir_txn_offset_commit_request *x,
                                         const weir_txn_offset_commit_request *y)
{
    EXPECT_STR(x->transactional_id, y->transactional_id);
    EXPECT_STR(x->group_id, y->group_id);
    assert_int_equal(x->producer_id, y->producer_id);
    assert_int_equal(x->producer_epoch, y->producer_epoch);
    assert_int_equal(x->topic_count, y->topic_count);
    for (int32_t i = 0; i < x->topic_count; i++) {
        EXPECT_STR(x->topics[i].name, y->topics[i].name);
        assert_int_equal(x->topics[i].partition_count, y->topics[i].partition_count);
        for (int32_t j = 0; j < x->topics[i].partition_count; j++) {
            const weir_txn_offset_commit_partition *p = &x->topics[i].partitions[j];
            const weir_txn_offset_commit_partition *q = &y->topics[i].partitions[j];
            assert_int_equal(p->partition_index, q->partition_index);
            assert_int_equal(p->committed_offset, q->committed_offset);
            assert_int_equal(p->committed_leader_epoch, q->committed_leader_epoch);
            EXPECT_STR(p->committed_metadata, q->committed_metadata);
        }
    }
}

/* Compares the group and transaction request bodies; false for other keys. */
static bool eq_group_txn_request_body(int16_t key, const weir_request *a, const weir_request *b)
{
    switch (key) {
    case WEIR_API_OFFSET_COMMIT:
        eq_offset_commit_request(&a->body.offset_commit, &b->body.offset_commit);
        return true;
    case WEIR_API_OFFSET_FETCH: {
        const weir_offset_fetch_request *x = &a->body.offset_fetch, *y = &b->body.offset_fetch;
        EXPECT_STR(x->group_id, y->group_id);
        assert_int_equal(x->topic_count, y->topic_count);
        for (int32_t i = 0; i < x->topic_count; i++) {
            EXPECT_STR(x->topics[i].name, y->topics[i].name);
            eq_i32s(x->topics[i].partition_index_count, x->topics[i].partition_indexes,
                    y->topics[i].partition_index_count, y->topics[i].partition_indexes);
        }
        return true;
    }
    case WEIR_API_FIND_COORDINATOR:
        EXPECT_STR(a->body.find_coordinator.key, b->body.find_coordinator.key);
        assert_int_equal(a->body.find_coordinator.key_type, b->body.find_coordinator.key_type);
        return true;
    case WEIR_API_JOIN_GROUP:
        eq_join_group_request(&a->body.join_group, &b->body.join_group);
        return true;
    case WEIR_API_HEARTBEAT: {
        const weir_heartbeat_request *x = &a->body.heartbeat, *y = &b->body.heartbeat;
        EXPECT_STR(x->group_id, y->group_id);
        assert_int_equal(x->generation_id, y->generation_id);
        EXPECT_STR(x->member_id, y->member_id);
        EXPECT_STR(x->group_instance_id, y->group_instance_id);
        return true;
    }
    case WEIR_API_LEAVE_GROUP:
        EXPECT_STR(a->body.leave_group.group_id, b->body.leave_group.group_id);
        EXPECT_STR(a->body.leave_group.member_id, b->body.leave_group.member_id);
        return true;
    case WEIR_API_SYNC_GROUP:
        eq_sync_group_request(&a->body.sync_group, &b->body.sync_group);
        return true;
    case WEIR_API_DESCRIBE_GROUPS: {
        const weir_describe_groups_request *x = &a->body.describe_groups;
        const weir_describe_groups_request *y = &b->body.describe_groups;
        assert_int_equal(x->group_count, y->group_count);
        for (int32_t i = 0; i < x->group_count; i++) {
            EXPECT_STR(x->groups[i], y->groups[i]);
        }
        assert_int_equal(x->include_authorized_operations, y->include_authorized_operations);
        return true;
    }
    case WEIR_API_LIST_GROUPS:
        return true; /* an empty body */
    case WEIR_API_INIT_PRODUCER_ID: {
        const weir_init_producer_id_request *x = &a->body.init_producer_id;
        const weir_init_producer_id_request *y = &b->body.init_producer_id;
        EXPECT_STR(x->transactional_id, y->transactional_id);
        assert_int_equal(x->transaction_timeout_ms, y->transaction_timeout_ms);
        return true;
    }
    case WEIR_API_ADD_PARTITIONS_TO_TXN: {
        const weir_add_partitions_to_txn_request *x = &a->body.add_partitions_to_txn;
        const weir_add_partitions_to_txn_request *y = &b->body.add_partitions_to_txn;
        EXPECT_STR(x->transactional_id, y->transactional_id);
        assert_int_equal(x->producer_id, y->producer_id);
        assert_int_equal(x->producer_epoch, y->producer_epoch);
        assert_int_equal(x->topic_count, y->topic_count);
        for (int32_t i = 0; i < x->topic_count; i++) {
            EXPECT_STR(x->topics[i].name, y->topics[i].name);
            eq_i32s(x->topics[i].partition_count, x->topics[i].partitions,
                    y->topics[i].partition_count, y->topics[i].partitions);
        }
        return true;
    }
    case WEIR_API_ADD_OFFSETS_TO_TXN: {
        const weir_add_offsets_to_txn_request *x = &a->body.add_offsets_to_txn;
        const weir_add_offsets_to_txn_request *y = &b->body.add_offsets_to_txn;
        EXPECT_STR(x->transactional_id, y->transactional_id);
        assert_int_equal(x->producer_id, y->producer_id);
        assert_int_equal(x->producer_epoch, y->producer_epoch);
        EXPECT_STR(x->group_id, y->group_id);
        return true;
    }
    case WEIR_API_END_TXN: {
        const weir_end_txn_request *x = &a->body.end_txn, *y = &b->body.end_txn;
        EXPECT_STR(x->transactional_id, y->transactional_id);
        assert_int_equal(x->producer_id, y->producer_id);
        assert_int_equal(x->producer_epoch, y->producer_epoch);
        assert_int_equal(x->committed, y->committed);
        return true;
    }
    case WEIR_API_WRITE_TXN_MARKERS:
        eq_write_txn_markers_request(&a->body.write_txn_markers, &b->body.write_txn_markers);
        return true;
    case WEIR_API_TXN_OFFSET_COMMIT:
        eq_txn_offset_commit_request(&a->body.txn_offset_commit, &b->body.txn_offset_commit);
        return true;
    default:
        return false;
    }
}

/* [Name, Partitions[PartitionIndex, ErrorCode]]: OffsetCommit, AddPartitionsToTxn,
 * WriteTxnMarkers and TxnOffsetCommit responses share this shape (not the type). */
#define EQ_TOPIC_ERRORS(xs, ys, n, parts, count)                                                   \
    do {                                                                                           \
        for (int32_t i_ = 0; i_ < (n); i_++) {                                                     \
            EXPECT_STR((xs)[i_].name, (ys)[i_].name);                                              \
            assert_int_equal((xs)[i_].count, (ys)[i_].count);                                      \
            for (int32_t j_ = 0; j_ < (xs)[i_].count; j_++) {                                      \
                assert_int_equal((xs)[i_].parts[j_].partition_index,                               \
                                 (ys)[i_].parts[j_].partition_index);                              \
                assert_int_equal((xs)[i_].parts[j_].error_code, (ys)[i_].parts[j_].error_code);    \
            }                                                                                      \
        }                                                                                          \
    } while (0)

static void eq_offset_fetch_response(const weir_offset_fetch_response *x,
                                     const weir_offset_fetch_response *y)
{
    assert_int_equal(x->throttle_time_ms, y->throttle_time_ms);
    assert_int_equal(x->topic_count, y->topic_count);
    for (int32_t i = 0; i < x->topic_count; i++) {
        EXPECT_STR(x->topics[i].name, y->topics[i].name);
        assert_int_equal(x->topics[i].partition_count, y->topics[i].partition_count);
        for (int32_t j = 0; j < x->topics[i].partition_count; j++) {
            const weir_offset_fetch_partition_response *p = &x->topics[i].partitions[j];
            const weir_offset_fetch_partition_response *q = &y->topics[i].partitions[j];
            assert_int_equal(p->partition_index, q->partition_index);
            assert_int_equal(p->committed_offset, q->committed_offset);
            assert_int_equal(p->committed_leader_epoch, q->committed_leader_epoch);
            EXPECT_STR(p->metadata, q->metadata);
            assert_int_equal(p->error_code, q->error_code);
        }
    }
    assert_int_equal(x->error_code, y->error_code);
}

static void eq_join_group_response(const weir_join_group_response *x,
                                   const weir_join_group_response *y)
{
    assert_int_equal(x->throttle_time_ms, y->throttle_time_ms);
    assert_int_equal(x->error_code, y->error_code);
    assert_int_equal(x->generation_id, y->generation_id);
    EXPECT_STR(x->protocol_name, y->protocol_name);
    EXPECT_STR(x->leader, y->leader);
    EXPECT_STR(x->member_id, y->member_id);
    assert_int_equal(x->member_count, y->member_count);
    for (int32_t i = 0; i < x->member_count; i++) {
        EXPECT_STR(x->members[i].member_id, y->members[i].member_id);
        EXPECT_STR(x->members[i].group_instance_id, y->members[i].group_instance_id);
        EXPECT_BYTES(x->members[i].metadata, y->members[i].metadata);
    }
}

static void eq_describe_groups_response(const weir_describe_groups_response *x,
                                        const weir_describe_groups_response *y)
{
    assert_int_equal(x->throttle_time_ms, y->throttle_time_ms);
    assert_int_equal(x->group_count, y->group_count);
    for (int32_t i = 0; i < x->group_count; i++) {
        const weir_describe_groups_group *g = &x->groups[i], *h = &y->groups[i];
        assert_int_equal(g->error_code, h->error_code);
        EXPECT_STR(g->group_id, h->group_id);
        EXPECT_STR(g->group_state, h->group_state);
        EXPECT_STR(g->protocol_type, h->protocol_type);
        EXPECT_STR(g->protocol_data, h->protocol_data);
        assert_int_equal(g->member_count, h->member_count);
        for (int32_t j = 0; j < g->member_count; j++) {
            const weir_describe_groups_member *m = &g->members[j], *n = &h->members[j];
            EXPECT_STR(m->member_id, n->member_id);
            EXPECT_STR(m->group_instance_id, n->group_instance_id);
            EXPECT_STR(m->client_id, n->client_id);
            EXPECT_STR(m->client_host, n->client_host);
            EXPECT_BYTES(m->member_metadata, n->member_metadata);
            EXPECT_BYTES(m->member_assignment, n->member_assignment);
        }
        assert_int_equal(g->authorized_operations, h->authorized_operations);
    }
}

static void eq_write_txn_markers_response(const weir_write_txn_markers_response *x,
                                          const weir_write_txn_markers_response *y)
{
    assert_int_equal(x->marker_count, y->marker_count);
    for (int32_t i = 0; i < x->marker_count; i++) {
        assert_int_equal(x->markers[i].producer_id, y->markers[i].producer_id);
        assert_int_equal(x->markers[i].topic_count, y->markers[i].topic_count);
        EQ_TOPIC_ERRORS(x->markers[i].topics, y->markers[i].topics, x->markers[i].topic_count,
                        partitions, partition_count);
    }
}

/* The responses with a throttle time and an error code only. */
static bool eq_group_txn_small_response(int16_t key, const proto_response *a,
                                        const proto_response *b)
{
    int32_t tx, ty;
    int16_t ex, ey;
    switch (key) {
    case WEIR_API_HEARTBEAT:
        tx = a->body.heartbeat.throttle_time_ms, ty = b->body.heartbeat.throttle_time_ms;
        ex = a->body.heartbeat.error_code, ey = b->body.heartbeat.error_code;
        break;
    case WEIR_API_LEAVE_GROUP:
        tx = a->body.leave_group.throttle_time_ms, ty = b->body.leave_group.throttle_time_ms;
        ex = a->body.leave_group.error_code, ey = b->body.leave_group.error_code;
        break;
    case WEIR_API_ADD_OFFSETS_TO_TXN:
        tx = a->body.add_offsets_to_txn.throttle_time_ms;
        ty = b->body.add_offsets_to_txn.throttle_time_ms;
        ex = a->body.add_offsets_to_txn.error_code, ey = b->body.add_offsets_to_txn.error_code;
        break;
    default:
        return false;
    }
    assert_int_equal(tx, ty);
    assert_int_equal(ex, ey);
    return true;
}

/* Compares the group and transaction response bodies; false for other keys. */
static bool eq_group_txn_response_body(int16_t key, const proto_response *a,
                                       const proto_response *b)
{
    switch (key) {
    case WEIR_API_OFFSET_COMMIT: {
        const weir_offset_commit_response *x = &a->body.offset_commit, *y = &b->body.offset_commit;
        assert_int_equal(x->throttle_time_ms, y->throttle_time_ms);
        assert_int_equal(x->topic_count, y->topic_count);
        EQ_TOPIC_ERRORS(x->topics, y->topics, x->topic_count, partitions, partition_count);
        return true;
    }
    case WEIR_API_OFFSET_FETCH:
        eq_offset_fetch_response(&a->body.offset_fetch, &b->body.offset_fetch);
        return true;
    case WEIR_API_FIND_COORDINATOR: {
        const weir_find_coordinator_response *x = &a->body.find_coordinator;
        const weir_find_coordinator_response *y = &b->body.find_coordinator;
        assert_int_equal(x->throttle_time_ms, y->throttle_time_ms);
        assert_int_equal(x->error_code, y->error_code);
        EXPECT_STR(x->error_message, y->error_message);
        assert_int_equal(x->node_id, y->node_id);
        EXPECT_STR(x->host, y->host);
        assert_int_equal(x->port, y->port);
        return true;
    }
    case WEIR_API_JOIN_GROUP:
        eq_join_group_response(&a->body.join_group, &b->body.join_group);
        return true;
    case WEIR_API_SYNC_GROUP:
        assert_int_equal(a->body.sync_group.throttle_time_ms, b->body.sync_group.throttle_time_ms);
        assert_int_equal(a->body.sync_group.error_code, b->body.sync_group.error_code);
        EXPECT_BYTES(a->body.sync_group.assignment, b->body.sync_group.assignment);
        return true;
    case WEIR_API_DESCRIBE_GROUPS:
        eq_describe_groups_response(&a->body.describe_groups, &b->body.describe_groups);
        return true;
    case WEIR_API_LIST_GROUPS: {
        const weir_list_groups_response *x = &a->body.list_groups, *y = &b->body.list_groups;
        assert_int_equal(x->throttle_time_ms, y->throttle_time_ms);
        assert_int_equal(x->error_code, y->error_code);
        assert_int_equal(x->group_count, y->group_count);
        for (int32_t i = 0; i < x->group_count; i++) {
            EXPECT_STR(x->groups[i].group_id, y->groups[i].group_id);
            EXPECT_STR(x->groups[i].protocol_type, y->groups[i].protocol_type);
        }
        return true;
    }
    case WEIR_API_INIT_PRODUCER_ID: {
        const weir_init_producer_id_response *x = &a->body.init_producer_id;
        const weir_init_producer_id_response *y = &b->body.init_producer_id;
        assert_int_equal(x->throttle_time_ms, y->throttle_time_ms);
        assert_int_equal(x->error_code, y->error_code);
        assert_int_equal(x->producer_id, y->producer_id);
        assert_int_equal(x->producer_epoch, y->producer_epoch);
        return true;
    }
    case WEIR_API_ADD_PARTITIONS_TO_TXN: {
        const weir_add_partitions_to_txn_response *x = &a->body.add_partitions_to_txn;
        const weir_add_partitions_to_txn_response *y = &b->body.add_partitions_to_txn;
        assert_int_equal(x->throttle_time_ms, y->throttle_time_ms);
        assert_int_equal(x->result_count, y->result_count);
        EQ_TOPIC_ERRORS(x->results, y->results, x->result_count, results, result_count);
        return true;
    }
    case WEIR_API_END_TXN: {
        const weir_end_txn_response *x = &a->body.end_txn, *y = &b->body.end_txn;
        assert_int_equal(x->throttle_time_ms, y->throttle_time_ms);
        assert_int_equal(x->error_code, y->error_code);
        assert_int_equal(x->producer_id, y->producer_id);
        assert_int_equal(x->producer_epoch, y->producer_epoch);
        return true;
    }
    case WEIR_API_WRITE_TXN_MARKERS:
        eq_write_txn_markers_response(&a->body.write_txn_markers, &b->body.write_txn_markers);
        return true;
    case WEIR_API_TXN_OFFSET_COMMIT: {
        const weir_txn_offset_commit_response *x = &a->body.txn_offset_commit;
        const weir_txn_offset_commit_response *y = &b->body.txn_offset_commit;
        assert_int_equal(x->throttle_time_ms, y->throttle_time_ms);
        assert_int_equal(x->topic_count, y->topic_count);
        EQ_TOPIC_ERRORS(x->topics, y->topics, x->topic_count, partitions, partition_count);
        return true;
    }
    default:
        return eq_group_txn_small_response(key, a, b);
    }
}

static void eq_request_body(int16_t key, const weir_request *a, const weir_request *b)
{
    switch (key) {
    case WEIR_API_API_VERSIONS:
        EXPECT_STR(a->body.api_versions.client_software_name,
                   b->body.api_versions.client_software_name);
        EXPECT_STR(a->body.api_versions.client_software_version,
                   b->body.api_versions.client_software_version);
        break;
    case WEIR_API_METADATA: {
        const weir_metadata_request *x = &a->body.metadata, *y = &b->body.metadata;
        assert_int_equal(x->topic_count, y->topic_count);
        for (int32_t i = 0; i < x->topic_count; i++) {
            EXPECT_STR(x->topics[i], y->topics[i]);
        }
        assert_int_equal(x->allow_auto_topic_creation, y->allow_auto_topic_creation);
        assert_int_equal(x->all_topics, y->all_topics);
        break;
    }
    case WEIR_API_PRODUCE: {
        const weir_produce_request *x = &a->body.produce, *y = &b->body.produce;
        EXPECT_STR(x->transactional_id, y->transactional_id);
        assert_int_equal(x->acks, y->acks);
        assert_int_equal(x->timeout_ms, y->timeout_ms);
        assert_int_equal(x->topic_count, y->topic_count);
        for (int32_t i = 0; i < x->topic_count; i++) {
            EXPECT_STR(x->topics[i].name, y->topics[i].name);
            assert_int_equal(x->topics[i].partition_count, y->topics[i].partition_count);
            for (int32_t j = 0; j < x->topics[i].partition_count; j++) {
                assert_int_equal(x->topics[i].partitions[j].partition_index,
                                 y->topics[i].partitions[j].partition_index);
                EXPECT_BYTES(x->topics[i].partitions[j].records,
                             y->topics[i].partitions[j].records);
            }
        }
        break;
    }
    case WEIR_API_FETCH: {
        const weir_fetch_request *x = &a->body.fetch, *y = &b->body.fetch;
        assert_int_equal(x->replica_id, y->replica_id);
        assert_int_equal(x->max_wait_ms, y->max_wait_ms);
        assert_int_equal(x->min_bytes, y->min_bytes);
        assert_int_equal(x->max_bytes, y->max_bytes);
        assert_int_equal(x->isolation_level, y->isolation_level);
        assert_int_equal(x->session_id, y->session_id);
        assert_int_equal(x->session_epoch, y->session_epoch);
        assert_int_equal(x->topic_count, y->topic_count);
        for (int32_t i = 0; i < x->topic_count; i++) {
            EXPECT_STR(x->topics[i].name, y->topics[i].name);
            assert_int_equal(x->topics[i].partition_count, y->topics[i].partition_count);
            for (int32_t j = 0; j < x->topics[i].partition_count; j++) {
                const weir_fetch_partition *p = &x->topics[i].partitions[j];
                const weir_fetch_partition *q = &y->topics[i].partitions[j];
                assert_int_equal(p->partition_index, q->partition_index);
                assert_int_equal(p->current_leader_epoch, q->current_leader_epoch);
                assert_int_equal(p->fetch_offset, q->fetch_offset);
                assert_int_equal(p->log_start_offset, q->log_start_offset);
                assert_int_equal(p->partition_max_bytes, q->partition_max_bytes);
            }
        }
        assert_int_equal(x->forgotten_count, y->forgotten_count);
        for (int32_t i = 0; i < x->forgotten_count; i++) {
            EXPECT_STR(x->forgotten[i].name, y->forgotten[i].name);
            assert_int_equal(x->forgotten[i].partition_count, y->forgotten[i].partition_count);
            for (int32_t j = 0; j < x->forgotten[i].partition_count; j++) {
                assert_int_equal(x->forgotten[i].partitions[j], y->forgotten[i].partitions[j]);
            }
        }
        EXPECT_STR(x->rack_id, y->rack_id);
        break;
    }
    case WEIR_API_LIST_OFFSETS: {
        const weir_list_offsets_request *x = &a->body.list_offsets, *y = &b->body.list_offsets;
        assert_int_equal(x->replica_id, y->replica_id);
        assert_int_equal(x->isolation_level, y->isolation_level);
        assert_int_equal(x->topic_count, y->topic_count);
        for (int32_t i = 0; i < x->topic_count; i++) {
            EXPECT_STR(x->topics[i].name, y->topics[i].name);
            assert_int_equal(x->topics[i].partition_count, y->topics[i].partition_count);
            for (int32_t j = 0; j < x->topics[i].partition_count; j++) {
                const weir_list_offsets_partition *p = &x->topics[i].partitions[j];
                const weir_list_offsets_partition *q = &y->topics[i].partitions[j];
                assert_int_equal(p->partition_index, q->partition_index);
                assert_int_equal(p->timestamp, q->timestamp);
                assert_int_equal(p->max_num_offsets, q->max_num_offsets);
            }
        }
        break;
    }
    case WEIR_API_CREATE_TOPICS: {
        const weir_create_topics_request *x = &a->body.create_topics, *y = &b->body.create_topics;
        assert_int_equal(x->topic_count, y->topic_count);
        for (int32_t i = 0; i < x->topic_count; i++) {
            const weir_create_topics_topic *s = &x->topics[i], *t = &y->topics[i];
            EXPECT_STR(s->name, t->name);
            assert_int_equal(s->num_partitions, t->num_partitions);
            assert_int_equal(s->replication_factor, t->replication_factor);
            assert_int_equal(s->assignment_count, t->assignment_count);
            for (int32_t j = 0; j < s->assignment_count; j++) {
                assert_int_equal(s->assignments[j].partition_index,
                                 t->assignments[j].partition_index);
                assert_int_equal(s->assignments[j].broker_id_count,
                                 t->assignments[j].broker_id_count);
                for (int32_t k = 0; k < s->assignments[j].broker_id_count; k++) {
                    assert_int_equal(s->assignments[j].broker_ids[k],
                                     t->assignments[j].broker_ids[k]);
                }
            }
            assert_int_equal(s->config_count, t->config_count);
            for (int32_t j = 0; j < s->config_count; j++) {
                EXPECT_STR(s->configs[j].name, t->configs[j].name);
                EXPECT_STR(s->configs[j].value, t->configs[j].value);
            }
        }
        assert_int_equal(x->timeout_ms, y->timeout_ms);
        assert_int_equal(x->validate_only, y->validate_only);
        break;
    }
    case WEIR_API_DELETE_TOPICS: {
        const weir_delete_topics_request *x = &a->body.delete_topics, *y = &b->body.delete_topics;
        assert_int_equal(x->topic_name_count, y->topic_name_count);
        for (int32_t i = 0; i < x->topic_name_count; i++) {
            EXPECT_STR(x->topic_names[i], y->topic_names[i]);
        }
        assert_int_equal(x->timeout_ms, y->timeout_ms);
        break;
    }
    case WEIR_API_LEADER_AND_ISR:
        eq_leader_and_isr_request(&a->body.leader_and_isr, &b->body.leader_and_isr);
        break;
    case WEIR_API_OFFSET_FOR_LEADER_EPOCH:
        eq_offset_for_leader_epoch_request(&a->body.offset_for_leader_epoch,
                                           &b->body.offset_for_leader_epoch);
        break;
    case WEIR_API_ALTER_PARTITION:
        eq_alter_partition_request(&a->body.alter_partition, &b->body.alter_partition);
        break;
    case WEIR_API_BROKER_REGISTRATION:
        eq_broker_registration_request(&a->body.broker_registration, &b->body.broker_registration);
        break;
    case WEIR_API_BROKER_HEARTBEAT: {
        const weir_broker_heartbeat_request *x = &a->body.broker_heartbeat;
        const weir_broker_heartbeat_request *y = &b->body.broker_heartbeat;
        assert_int_equal(x->broker_id, y->broker_id);
        assert_int_equal(x->broker_epoch, y->broker_epoch);
        assert_int_equal(x->current_metadata_offset, y->current_metadata_offset);
        assert_int_equal(x->want_fence, y->want_fence);
        assert_int_equal(x->want_shut_down, y->want_shut_down);
        break;
    }
    default:
        if (!eq_group_txn_request_body(key, a, b)) {
            fail_msg("no comparator for key %d", key);
        }
    }
}

static void eq_metadata_response(const weir_metadata_response *x, const weir_metadata_response *y)
{
    assert_int_equal(x->throttle_time_ms, y->throttle_time_ms);
    assert_int_equal(x->broker_count, y->broker_count);
    for (int32_t i = 0; i < x->broker_count; i++) {
        assert_int_equal(x->brokers[i].node_id, y->brokers[i].node_id);
        EXPECT_STR(x->brokers[i].host, y->brokers[i].host);
        assert_int_equal(x->brokers[i].port, y->brokers[i].port);
        EXPECT_STR(x->brokers[i].rack, y->brokers[i].rack);
    }
    EXPECT_STR(x->cluster_id, y->cluster_id);
    assert_int_equal(x->controller_id, y->controller_id);
    assert_int_equal(x->topic_count, y->topic_count);
    for (int32_t i = 0; i < x->topic_count; i++) {
        const weir_metadata_topic *s = &x->topics[i], *t = &y->topics[i];
        assert_int_equal(s->error_code, t->error_code);
        EXPECT_STR(s->name, t->name);
        assert_int_equal(s->is_internal, t->is_internal);
        assert_int_equal(s->partition_count, t->partition_count);
        for (int32_t j = 0; j < s->partition_count; j++) {
            const weir_metadata_partition *p = &s->partitions[j], *q = &t->partitions[j];
            assert_int_equal(p->error_code, q->error_code);
            assert_int_equal(p->partition_index, q->partition_index);
            assert_int_equal(p->leader_id, q->leader_id);
            assert_int_equal(p->replica_count, q->replica_count);
            for (int32_t k = 0; k < p->replica_count; k++) {
                assert_int_equal(p->replica_nodes[k], q->replica_nodes[k]);
            }
            assert_int_equal(p->isr_count, q->isr_count);
            for (int32_t k = 0; k < p->isr_count; k++) {
                assert_int_equal(p->isr_nodes[k], q->isr_nodes[k]);
            }
        }
    }
}

static void eq_fetch_response(const weir_fetch_response *x, const weir_fetch_response *y)
{
    assert_int_equal(x->throttle_time_ms, y->throttle_time_ms);
    assert_int_equal(x->error_code, y->error_code);
    assert_int_equal(x->session_id, y->session_id);
    assert_int_equal(x->topic_count, y->topic_count);
    for (int32_t i = 0; i < x->topic_count; i++) {
        EXPECT_STR(x->topics[i].name, y->topics[i].name);
        assert_int_equal(x->topics[i].partition_count, y->topics[i].partition_count);
        for (int32_t j = 0; j < x->topics[i].partition_count; j++) {
            const weir_fetch_partition_response *p = &x->topics[i].partitions[j];
            const weir_fetch_partition_response *q = &y->topics[i].partitions[j];
            assert_int_equal(p->partition_index, q->partition_index);
            assert_int_equal(p->error_code, q->error_code);
            assert_int_equal(p->high_watermark, q->high_watermark);
            assert_int_equal(p->last_stable_offset, q->last_stable_offset);
            assert_int_equal(p->log_start_offset, q->log_start_offset);
            assert_int_equal(p->aborted_count, q->aborted_count);
            for (int32_t k = 0; k < p->aborted_count; k++) {
                assert_int_equal(p->aborted[k].producer_id, q->aborted[k].producer_id);
                assert_int_equal(p->aborted[k].first_offset, q->aborted[k].first_offset);
            }
            assert_int_equal(p->preferred_read_replica, q->preferred_read_replica);
            EXPECT_BYTES(p->records, q->records);
        }
    }
}

static void eq_response_body(int16_t key, const proto_response *a, const proto_response *b)
{
    switch (key) {
    case WEIR_API_API_VERSIONS: {
        const weir_api_versions_response *x = &a->body.api_versions, *y = &b->body.api_versions;
        assert_int_equal(x->error_code, y->error_code);
        assert_int_equal(x->api_key_count, y->api_key_count);
        for (int32_t i = 0; i < x->api_key_count; i++) {
            assert_int_equal(x->api_keys[i].api_key, y->api_keys[i].api_key);
            assert_int_equal(x->api_keys[i].min_version, y->api_keys[i].min_version);
            assert_int_equal(x->api_keys[i].max_version, y->api_keys[i].max_version);
        }
        assert_int_equal(x->throttle_time_ms, y->throttle_time_ms);
        break;
    }
    case WEIR_API_METADATA:
        eq_metadata_response(&a->body.metadata, &b->body.metadata);
        break;
    case WEIR_API_PRODUCE: {
        const weir_produce_response *x = &a->body.produce, *y = &b->body.produce;
        assert_int_equal(x->topic_count, y->topic_count);
        for (int32_t i = 0; i < x->topic_count; i++) {
            EXPECT_STR(x->topics[i].name, y->topics[i].name);
            assert_int_equal(x->topics[i].partition_count, y->topics[i].partition_count);
            for (int32_t j = 0; j < x->topics[i].partition_count; j++) {
                const weir_produce_partition_response *p = &x->topics[i].partitions[j];
                const weir_produce_partition_response *q = &y->topics[i].partitions[j];
                assert_int_equal(p->partition_index, q->partition_index);
                assert_int_equal(p->error_code, q->error_code);
                assert_int_equal(p->base_offset, q->base_offset);
                assert_int_equal(p->log_append_time_ms, q->log_append_time_ms);
                assert_int_equal(p->log_start_offset, q->log_start_offset);
            }
        }
        assert_int_equal(x->throttle_time_ms, y->throttle_time_ms);
        break;
    }
    case WEIR_API_FETCH:
        eq_fetch_response(&a->body.fetch, &b->body.fetch);
        break;
    case WEIR_API_LIST_OFFSETS: {
        const weir_list_offsets_response *x = &a->body.list_offsets, *y = &b->body.list_offsets;
        assert_int_equal(x->throttle_time_ms, y->throttle_time_ms);
        assert_int_equal(x->topic_count, y->topic_count);
        for (int32_t i = 0; i < x->topic_count; i++) {
            EXPECT_STR(x->topics[i].name, y->topics[i].name);
            assert_int_equal(x->topics[i].partition_count, y->topics[i].partition_count);
            for (int32_t j = 0; j < x->topics[i].partition_count; j++) {
                const weir_list_offsets_partition_response *p = &x->topics[i].partitions[j];
                const weir_list_offsets_partition_response *q = &y->topics[i].partitions[j];
                assert_int_equal(p->partition_index, q->partition_index);
                assert_int_equal(p->error_code, q->error_code);
                assert_int_equal(p->old_style_offset_count, q->old_style_offset_count);
                for (int32_t k = 0; k < p->old_style_offset_count; k++) {
                    assert_int_equal(p->old_style_offsets[k], q->old_style_offsets[k]);
                }
                assert_int_equal(p->timestamp, q->timestamp);
                assert_int_equal(p->offset, q->offset);
            }
        }
        break;
    }
    case WEIR_API_CREATE_TOPICS: {
        const weir_create_topics_response *x = &a->body.create_topics, *y = &b->body.create_topics;
        assert_int_equal(x->throttle_time_ms, y->throttle_time_ms);
        assert_int_equal(x->topic_count, y->topic_count);
        for (int32_t i = 0; i < x->topic_count; i++) {
            EXPECT_STR(x->topics[i].name, y->topics[i].name);
            assert_int_equal(x->topics[i].error_code, y->topics[i].error_code);
            EXPECT_STR(x->topics[i].error_message, y->topics[i].error_message);
        }
        break;
    }
    case WEIR_API_DELETE_TOPICS: {
        const weir_delete_topics_response *x = &a->body.delete_topics, *y = &b->body.delete_topics;
        assert_int_equal(x->throttle_time_ms, y->throttle_time_ms);
        assert_int_equal(x->response_count, y->response_count);
        for (int32_t i = 0; i < x->response_count; i++) {
            EXPECT_STR(x->responses[i].name, y->responses[i].name);
            assert_int_equal(x->responses[i].error_code, y->responses[i].error_code);
        }
        break;
    }
    default:
        if (!eq_cluster_response_body(key, a, b) && !eq_group_txn_response_body(key, a, b)) {
            fail_msg("no comparator for key %d", key);
        }
    }
}

/* ---- the table ---- */

static void test_proto_table_advertises_exactly_the_planned_ranges(void **state)
{
    (void)state;
    static const weir_api_range want[] = {
        {0, 3, 7, 9},  {1, 4, 11, 12}, {2, 0, 3, 6},  {3, 0, 4, 9},  {4, 2, 3, 4},  {8, 0, 7, 8},
        {9, 0, 5, 6},  {10, 0, 2, 3},  {11, 0, 5, 6}, {12, 0, 3, 4}, {13, 0, 1, 4}, {14, 0, 3, 4},
        {15, 0, 4, 5}, {16, 0, 2, 3},  {18, 0, 3, 3}, {19, 0, 4, 5}, {20, 0, 1, 4}, {22, 0, 1, 2},
        {23, 0, 3, 4}, {24, 0, 1, 3},  {25, 0, 1, 3}, {26, 0, 5, 3}, {27, 0, 0, 1}, {28, 0, 2, 3},
        {56, 0, 1, 0}, {62, 0, 0, 0},  {63, 0, 0, 0},
    };
    enum { want_count = (int)(sizeof want / sizeof want[0]) };
    assert_int_equal(weir_api_table_count, want_count);
    for (int i = 0; i < want_count; i++) {
        /* in api key order */
        assert_int_equal(weir_api_table[i].api_key, want[i].api_key);
        const weir_api_range *r = weir_api_find(want[i].api_key);
        assert_non_null(r);
        assert_int_equal(r->min_version, want[i].min_version);
        assert_int_equal(r->max_version, want[i].max_version);
        assert_int_equal(r->flex_from, want[i].flex_from);
    }
    assert_null(weir_api_find(17)); /* SaslHandshake */
    assert_null(weir_api_find(21)); /* DeleteRecords */
    /* Only ApiVersions v3, EndTxn v3-v5 and the controller APIs are flexible. */
    for (int i = 0; i < want_count; i++) {
        const weir_api_range *r = &weir_api_table[i];
        for (int16_t v = r->min_version; v <= r->max_version; v++) {
            bool expect = (r->api_key == WEIR_API_API_VERSIONS && v == 3) ||
                          (r->api_key == WEIR_API_END_TXN && v >= 3) || r->api_key >= 56;
            assert_int_equal(weir_api_flexible(r->api_key, v), expect);
        }
    }
    assert_true(weir_api_response_header_tagged(WEIR_API_END_TXN, 3));
    assert_false(weir_api_response_header_tagged(WEIR_API_END_TXN, 2));
    assert_true(weir_api_flexible(WEIR_API_OFFSET_FETCH, 6)); /* above weir's range */
    assert_string_equal(weir_api_name(WEIR_API_FIND_COORDINATOR), "FindCoordinator");
    assert_string_equal(weir_api_name(WEIR_API_ADD_PARTITIONS_TO_TXN), "AddPartitionsToTxn");
    assert_string_equal(weir_api_name(WEIR_API_WRITE_TXN_MARKERS), "WriteTxnMarkers");
    assert_string_equal(weir_api_name(WEIR_API_TXN_OFFSET_COMMIT), "TxnOffsetCommit");
    assert_false(weir_api_supported(WEIR_API_PRODUCE, 2));
    assert_true(weir_api_supported(WEIR_API_PRODUCE, 3));
    assert_false(weir_api_supported(WEIR_API_FETCH, 12));
    assert_true(weir_api_flexible(WEIR_API_API_VERSIONS, 3));
    assert_true(weir_api_flexible(WEIR_API_API_VERSIONS, 4));
    assert_false(weir_api_flexible(WEIR_API_API_VERSIONS, 2));
    assert_false(weir_api_flexible(WEIR_API_METADATA, 4));
    assert_false(weir_api_flexible(99, 9));
    /* ApiVersions responses never carry header tags, even when flexible. */
    assert_false(weir_api_response_header_tagged(WEIR_API_API_VERSIONS, 3));
    assert_true(weir_api_response_header_tagged(WEIR_API_METADATA, 9));
    assert_string_equal(weir_api_name(WEIR_API_LIST_OFFSETS), "ListOffsets");
    /* The inter-broker APIs: Kafka's flexibleVersions decide the header versions. */
    assert_false(weir_api_supported(WEIR_API_LEADER_AND_ISR, 1));
    assert_false(weir_api_supported(WEIR_API_LEADER_AND_ISR, 4));
    assert_false(weir_api_flexible(WEIR_API_LEADER_AND_ISR, 3));
    assert_true(weir_api_flexible(WEIR_API_LEADER_AND_ISR, 4));
    assert_false(weir_api_flexible(WEIR_API_OFFSET_FOR_LEADER_EPOCH, 3));
    assert_true(weir_api_flexible(WEIR_API_OFFSET_FOR_LEADER_EPOCH, 4));
    assert_true(weir_api_flexible(WEIR_API_ALTER_PARTITION, 0));
    assert_true(weir_api_response_header_tagged(WEIR_API_ALTER_PARTITION, 0));
    assert_true(weir_api_response_header_tagged(WEIR_API_BROKER_REGISTRATION, 0));
    assert_true(weir_api_response_header_tagged(WEIR_API_BROKER_HEARTBEAT, 0));
    assert_false(weir_api_response_header_tagged(WEIR_API_OFFSET_FOR_LEADER_EPOCH, 3));
    assert_string_equal(weir_api_name(4), "LeaderAndIsr");
    assert_string_equal(weir_api_name(23), "OffsetForLeaderEpoch");
    assert_string_equal(weir_api_name(56), "AlterPartition");
    assert_string_equal(weir_api_name(62), "BrokerRegistration");
    assert_string_equal(weir_api_name(63), "BrokerHeartbeat");
    assert_string_equal(weir_api_name(77), "Unknown");
}

static void test_proto_kerr_names_match_kafka(void **state)
{
    (void)state;
    assert_int_equal(WEIR_KERR_UNKNOWN_SERVER_ERROR, -1);
    assert_int_equal(WEIR_KERR_UNSUPPORTED_VERSION, 35);
    assert_int_equal(WEIR_KERR_KAFKA_STORAGE_ERROR, 56);
    assert_string_equal(weir_kerr_name(0), "NONE");
    assert_string_equal(weir_kerr_name(-1), "UNKNOWN_SERVER_ERROR");
    assert_string_equal(weir_kerr_name(3), "UNKNOWN_TOPIC_OR_PARTITION");
    assert_string_equal(weir_kerr_name(6), "NOT_LEADER_OR_FOLLOWER");
    assert_string_equal(weir_kerr_name(20), "NOT_ENOUGH_REPLICAS_AFTER_APPEND");
    assert_string_equal(weir_kerr_name(42), "INVALID_REQUEST");
    assert_string_equal(weir_kerr_name(56), "KAFKA_STORAGE_ERROR");
    assert_string_equal(weir_kerr_name(999), "UNKNOWN_ERROR_CODE");
    /* group coordinator, idempotent producer and transactions (Kafka's Errors.java) */
    static const struct {
        int16_t code;
        const char *name;
    } group_txn[] = {
        {12, "OFFSET_METADATA_TOO_LARGE"},
        {14, "COORDINATOR_LOAD_IN_PROGRESS"},
        {15, "COORDINATOR_NOT_AVAILABLE"},
        {16, "NOT_COORDINATOR"},
        {22, "ILLEGAL_GENERATION"},
        {23, "INCONSISTENT_GROUP_PROTOCOL"},
        {24, "INVALID_GROUP_ID"},
        {25, "UNKNOWN_MEMBER_ID"},
        {26, "INVALID_SESSION_TIMEOUT"},
        {27, "REBALANCE_IN_PROGRESS"},
        {28, "INVALID_COMMIT_OFFSET_SIZE"},
        {29, "TOPIC_AUTHORIZATION_FAILED"},
        {30, "GROUP_AUTHORIZATION_FAILED"},
        {45, "OUT_OF_ORDER_SEQUENCE_NUMBER"},
        {46, "DUPLICATE_SEQUENCE_NUMBER"},
        {47, "INVALID_PRODUCER_EPOCH"},
        {48, "INVALID_TXN_STATE"},
        {49, "INVALID_PRODUCER_ID_MAPPING"},
        {50, "INVALID_TRANSACTION_TIMEOUT"},
        {51, "CONCURRENT_TRANSACTIONS"},
        {52, "TRANSACTION_COORDINATOR_FENCED"},
        {53, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED"},
        {59, "UNKNOWN_PRODUCER_ID"},
        {68, "NON_EMPTY_GROUP"},
        {69, "GROUP_ID_NOT_FOUND"},
        {79, "MEMBER_ID_REQUIRED"},
        {81, "GROUP_MAX_SIZE_REACHED"},
        {82, "FENCED_INSTANCE_ID"},
        {88, "UNSTABLE_OFFSET_COMMIT"},
        {90, "PRODUCER_FENCED"},
        {105, "TRANSACTIONAL_ID_NOT_FOUND"},
        {120, "TRANSACTION_ABORTABLE"},
    };
    for (size_t i = 0; i < sizeof group_txn / sizeof group_txn[0]; i++) {
        assert_string_equal(weir_kerr_name(group_txn[i].code), group_txn[i].name);
    }
    assert_int_equal(WEIR_KERR_NOT_COORDINATOR, 16);
    assert_int_equal(WEIR_KERR_MEMBER_ID_REQUIRED, 79);
    assert_int_equal(WEIR_KERR_PRODUCER_FENCED, 90);
    assert_int_equal(WEIR_KERR_TRANSACTION_ABORTABLE, 120);
}

/* ---- golden bytes from WIRE.md (kcat 1.7.1 captures) ---- */

static const uint8_t kcat_api_versions_v3[] = {
    0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x07, 'r', 'd',
    'k',  'a',  'f',  'k',  'a',  0x00, 0x0b, 'l',  'i',  'b',  'r', 'd',
    'k',  'a',  'f',  'k',  'a',  0x06, '2',  '.',  '0',  '.',  '2', 0x00,
};

static const uint8_t kcat_api_versions_v0[] = {
    0x00, 0x12, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x07, 'r', 'd', 'k', 'a', 'f', 'k', 'a',
};

static const uint8_t kcat_metadata_v4_none[] = {
    0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x00, 0x03, 0x00, 0x07, 'r',
    'd',  'k',  'a',  'f',  'k',  'a',  0x00, 0x00, 0x00, 0x00, 0x00,
};

static const uint8_t kcat_metadata_v4_all[] = {
    0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x00, 0x04, 0x00, 0x07, 'r',
    'd',  'k',  'a',  'f',  'k',  'a',  0xff, 0xff, 0xff, 0xff, 0x01,
};

/* Decodes buf with weir_decode_request from an exactly-sized copy. */
static int decode_exact(const uint8_t *buf, size_t len, weir_arena *a, weir_request *out,
                        weir_rd *rd, uint8_t **copy_out)
{
    *copy_out = dup_exact(buf, len);
    weir_rd_init(rd, *copy_out, len);
    return weir_decode_request(rd, a, out);
}

/* Re-encodes r and checks the bytes equal want. */
static void expect_request_encodes_to(const weir_request *r, const uint8_t *want, size_t len)
{
    weir_wr w;
    weir_wr_init(&w);
    assert_int_equal(weir_encode_request(&w, r), 0);
    expect_bytes(w.buf, w.len, want, len);
    weir_wr_free(&w);
}

static void test_proto_decodes_kcat_api_versions_v3(void **state)
{
    (void)state;
    weir_arena a;
    weir_arena_init(&a, 0);
    weir_request r;
    weir_rd rd;
    uint8_t *copy;
    assert_int_equal(
        decode_exact(kcat_api_versions_v3, sizeof kcat_api_versions_v3, &a, &r, &rd, &copy), 0);
    assert_int_equal(r.header.api_key, 18);
    assert_int_equal(r.header.api_version, 3);
    assert_int_equal(r.header.correlation_id, 1);
    assert_true(weir_str_eq_cstr(r.header.client_id, "rdkafka"));
    assert_true(r.header.flexible);
    assert_true(weir_str_eq_cstr(r.body.api_versions.client_software_name, "librdkafka"));
    assert_true(weir_str_eq_cstr(r.body.api_versions.client_software_version, "2.0.2"));
    assert_int_equal(weir_rd_left(&rd), 0);
    expect_request_encodes_to(&r, kcat_api_versions_v3, sizeof kcat_api_versions_v3);
    free(copy);
    weir_arena_free(&a);
}

static void test_proto_decodes_kcat_api_versions_v0(void **state)
{
    (void)state;
    weir_arena a;
    weir_arena_init(&a, 0);
    weir_request r;
    weir_rd rd;
    uint8_t *copy;
    assert_int_equal(
        decode_exact(kcat_api_versions_v0, sizeof kcat_api_versions_v0, &a, &r, &rd, &copy), 0);
    assert_int_equal(r.header.api_key, 18);
    assert_int_equal(r.header.api_version, 0);
    assert_int_equal(r.header.correlation_id, 2);
    assert_false(r.header.flexible);
    assert_int_equal(r.body.api_versions.client_software_name.len, 0);
    expect_request_encodes_to(&r, kcat_api_versions_v0, sizeof kcat_api_versions_v0);
    free(copy);
    weir_arena_free(&a);
}

static void test_proto_decodes_kcat_metadata_v4_empty_and_null_topics(void **state)
{
    (void)state;
    weir_arena a;
    weir_arena_init(&a, 0);
    weir_request r;
    weir_rd rd;
    uint8_t *copy;
    assert_int_equal(
        decode_exact(kcat_metadata_v4_none, sizeof kcat_metadata_v4_none, &a, &r, &rd, &copy), 0);
    assert_int_equal(r.header.api_key, 3);
    assert_int_equal(r.header.api_version, 4);
    assert_int_equal(r.header.correlation_id, 3);
    assert_int_equal(r.body.metadata.topic_count, 0);
    assert_false(r.body.metadata.all_topics); /* v1+: [] means none */
    assert_false(r.body.metadata.allow_auto_topic_creation);
    expect_request_encodes_to(&r, kcat_metadata_v4_none, sizeof kcat_metadata_v4_none);
    free(copy);

    assert_int_equal(
        decode_exact(kcat_metadata_v4_all, sizeof kcat_metadata_v4_all, &a, &r, &rd, &copy), 0);
    assert_int_equal(r.header.correlation_id, 4);
    assert_int_equal(r.body.metadata.topic_count, -1);
    assert_true(r.body.metadata.all_topics); /* null means all */
    assert_true(r.body.metadata.allow_auto_topic_creation);
    expect_request_encodes_to(&r, kcat_metadata_v4_all, sizeof kcat_metadata_v4_all);
    free(copy);
    weir_arena_free(&a);
}

static void test_proto_metadata_v0_empty_topics_means_all(void **state)
{
    (void)state;
    static const uint8_t body[] = {0, 0, 0, 0};
    weir_arena a;
    weir_arena_init(&a, 0);
    weir_metadata_request m;
    weir_rd rd;
    weir_rd_init(&rd, body, sizeof body);
    assert_int_equal(weir_decode_metadata_request(&rd, 0, &a, &m), 0);
    assert_true(m.all_topics);
    assert_true(m.allow_auto_topic_creation); /* the default before v4 */
    /* v0 has no null array. */
    static const uint8_t null_body[] = {0xff, 0xff, 0xff, 0xff};
    weir_rd_init(&rd, null_body, sizeof null_body);
    assert_int_equal(weir_decode_metadata_request(&rd, 0, &a, &m), WEIR_E_CORRUPT);
    assert_string_equal(rd.why, "Metadata.Topics: null array");
    weir_arena_free(&a);
}

static void test_proto_api_versions_v3_response_bytes(void **state)
{
    (void)state;
    weir_wr w;
    weir_wr_init(&w);
    weir_api_versions_response r;
    weir_api_versions_response_supported(&r);
    assert_int_equal(weir_encode_response_header(&w, WEIR_API_API_VERSIONS, 3, 0x01020304), 0);
    assert_int_equal(weir_encode_api_versions_response(&w, 3, &r), 0);
    uint8_t want[7 + 7 * 64 + 5];
    assert_true(weir_api_table_count <= 64);
    size_t n = 0;
    const uint8_t head[] = {1, 2, 3, 4, 0, 0, (uint8_t)(weir_api_table_count + 1)};
    memcpy(want, head, sizeof head); /* header v0: no tag byte */
    n += sizeof head;
    for (int32_t i = 0; i < weir_api_table_count; i++) {
        const weir_api_range *e = &weir_api_table[i];
        uint8_t entry[7] = {0, (uint8_t)e->api_key,     0, (uint8_t)e->min_version,
                            0, (uint8_t)e->max_version, 0};
        memcpy(want + n, entry, sizeof entry);
        n += sizeof entry;
    }
    const uint8_t tail[] = {0, 0, 0, 0, 0}; /* throttle, body tags */
    memcpy(want + n, tail, sizeof tail);
    n += sizeof tail;
    expect_bytes(w.buf, w.len, want, n);
    weir_wr_free(&w);
}

static void test_proto_api_versions_unsupported_reply_is_v0_with_header_v0(void **state)
{
    (void)state;
    weir_wr w;
    weir_wr_init(&w);
    assert_int_equal(weir_encode_api_versions_unsupported(&w, 7), 0);
    static const uint8_t want[] = {0, 0, 0, 7, 0, 35, 0, 0, 0, 1, 0, 18, 0, 0, 0, 3};
    expect_bytes(w.buf, w.len, want, sizeof want);
    /* A client that asked v3 parses it as v0 because of error 35 (KIP-511). */
    weir_arena a;
    weir_arena_init(&a, 0);
    weir_rd rd;
    weir_rd_init(&rd, w.buf, w.len);
    proto_response resp;
    assert_int_equal(ps_decode_response(&rd, &a, WEIR_API_API_VERSIONS, 3, &resp), 0);
    assert_int_equal(resp.correlation_id, 7);
    assert_int_equal(resp.body.api_versions.error_code, 35);
    assert_int_equal(resp.body.api_versions.api_key_count, 1);
    assert_int_equal(resp.body.api_versions.api_keys[0].api_key, 18);
    assert_int_equal(resp.body.api_versions.api_keys[0].max_version, 3);
    weir_arena_free(&a);
    weir_wr_free(&w);
}

static void test_proto_fetch_empty_records_are_length_zero_never_minus_one(void **state)
{
    (void)state;
    weir_fetch_partition_response p = {0};
    p.aborted_count = -1;
    p.records = WEIR_BYTES_NULL;
    weir_fetch_topic_response t = {{"t", 1}, 1, &p};
    weir_fetch_response r = {0};
    r.topic_count = 1;
    r.topics = &t;
    weir_wr w;
    weir_wr_init(&w);
    assert_int_equal(weir_encode_fetch_response(&w, 11, &r), 0);
    assert_true(w.len >= 4);
    static const uint8_t zero[4] = {0, 0, 0, 0};
    expect_bytes(w.buf + w.len - 4, 4, zero, 4);
    /* and the aborted transactions: null (-1) before the preferred replica */
    static const uint8_t tail[] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0};
    expect_bytes(w.buf + w.len - 12, 12, tail, sizeof tail);
    weir_wr_free(&w);
}

static void test_proto_produce_response_puts_throttle_last(void **state)
{
    (void)state;
    weir_produce_response r = {0};
    r.throttle_time_ms = 0x11223344;
    weir_wr w;
    weir_wr_init(&w);
    assert_int_equal(weir_encode_produce_response(&w, 7, &r), 0);
    static const uint8_t want[] = {0, 0, 0, 0, 0x11, 0x22, 0x33, 0x44};
    expect_bytes(w.buf, w.len, want, sizeof want);
    weir_wr_free(&w);
}

/* ---- round trips: every version of every API, both directions ---- */

static void roundtrip_request(int16_t key, int16_t v, int variant)
{
    weir_request want, got;
    ps_request(key, v, variant, &want);
    weir_wr w;
    weir_wr_init(&w);
    assert_int_equal(weir_encode_request(&w, &want), 0);
    uint8_t *copy = dup_exact(w.buf, w.len);
    weir_arena a;
    weir_arena_init(&a, 0);
    weir_rd rd;
    weir_rd_init(&rd, copy, w.len);
    int err = weir_decode_request(&rd, &a, &got);
    if (err != 0) {
        fail_msg("%s v%d variant %d: %d %s", weir_api_name(key), v, variant, err, rd.why);
    }
    assert_int_equal(weir_rd_left(&rd), 0);
    assert_int_equal(got.header.api_key, key);
    assert_int_equal(got.header.api_version, v);
    assert_int_equal(got.header.correlation_id, want.header.correlation_id);
    EXPECT_STR(got.header.client_id, want.header.client_id);
    assert_int_equal(got.header.flexible, want.header.flexible);
    eq_request_body(key, &want, &got);
    /* Encoding what was decoded gives the same bytes. */
    weir_wr w2;
    weir_wr_init(&w2);
    assert_int_equal(weir_encode_request(&w2, &got), 0);
    expect_bytes(w2.buf, w2.len, w.buf, w.len);
    weir_wr_free(&w2);
    weir_arena_free(&a);
    free(copy);
    weir_wr_free(&w);
}

static void roundtrip_response(int16_t key, int16_t v, int variant)
{
    proto_response want, got;
    ps_response(key, v, variant, &want);
    weir_wr w;
    weir_wr_init(&w);
    assert_int_equal(ps_encode_response(&w, &want), 0);
    uint8_t *copy = dup_exact(w.buf, w.len);
    weir_arena a;
    weir_arena_init(&a, 0);
    weir_rd rd;
    weir_rd_init(&rd, copy, w.len);
    int err = ps_decode_response(&rd, &a, key, v, &got);
    if (err != 0) {
        fail_msg("%s response v%d variant %d: %d %s", weir_api_name(key), v, variant, err, rd.why);
    }
    assert_int_equal(weir_rd_left(&rd), 0);
    assert_int_equal(got.correlation_id, want.correlation_id);
    eq_response_body(key, &want, &got);
    weir_wr w2;
    weir_wr_init(&w2);
    assert_int_equal(ps_encode_response(&w2, &got), 0);
    expect_bytes(w2.buf, w2.len, w.buf, w.len);
    weir_wr_free(&w2);
    weir_arena_free(&a);
    free(copy);
    weir_wr_free(&w);
}

static void test_proto_every_version_round_trips(void **state)
{
    (void)state;
    int cases = 0;
    for (int32_t i = 0; i < weir_api_table_count; i++) {
        const weir_api_range *e = &weir_api_table[i];
        for (int16_t v = e->min_version; v <= e->max_version; v++) {
            for (int variant = 0; variant < PS_VARIANTS; variant++) {
                roundtrip_request(e->api_key, v, variant);
                roundtrip_response(e->api_key, v, variant);
                cases++;
            }
        }
    }
    /* client APIs, then LeaderAndIsr, OffsetForLeaderEpoch, AlterPartition,
     * BrokerRegistration, BrokerHeartbeat */
    int base = 5 + 8 + 4 + 5 + 4 + 5 + 2 + 2 + 4 + 2 + 1 + 1;
    /* OffsetCommit, OffsetFetch, FindCoordinator, JoinGroup, Heartbeat,
     * LeaveGroup, SyncGroup, DescribeGroups, ListGroups */
    int group = 8 + 6 + 3 + 6 + 4 + 2 + 4 + 5 + 3;
    /* InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn,
     * WriteTxnMarkers, TxnOffsetCommit */
    int txn = 2 + 2 + 2 + 6 + 1 + 3;
    assert_int_equal(cases, 2 * (base + group + txn));
}

static void test_proto_versions_outside_the_table_are_rejected(void **state)
{
    (void)state;
    weir_arena a;
    weir_arena_init(&a, 0);
    weir_wr w;
    weir_wr_init(&w);
    weir_produce_request pr = {0};
    assert_int_equal(weir_encode_produce_request(&w, 2, &pr), WEIR_E_INVAL);
    weir_metadata_response mr = {0};
    assert_int_equal(weir_encode_metadata_response(&w, 5, &mr), WEIR_E_INVAL);
    weir_rd rd;
    weir_rd_init(&rd, NULL, 0);
    weir_fetch_request fr;
    assert_int_equal(weir_decode_fetch_request(&rd, 12, &a, &fr), WEIR_E_INVAL);
    assert_int_equal(w.len, 0);
    weir_wr_free(&w);
    weir_arena_free(&a);
}

/* ---- dispatch of versions weir does not have ---- */

static void test_proto_unsupported_versions_decode_header_only(void **state)
{
    (void)state;
    weir_arena a;
    weir_arena_init(&a, 0);
    weir_request r;
    weir_rd rd;
    /* ApiVersions v4 is flexible: the header's tag buffer is read too. */
    static const uint8_t av4[] = {0, 18, 0, 4, 0, 0, 0, 9, 0, 1, 'x', 0, 2, 'a', 2, 'b', 0};
    weir_rd_init(&rd, av4, sizeof av4);
    assert_int_equal(weir_decode_request(&rd, &a, &r), WEIR_E_UNSUPPORTED);
    assert_int_equal(r.header.api_key, 18);
    assert_int_equal(r.header.api_version, 4);
    assert_int_equal(r.header.correlation_id, 9);
    assert_true(r.header.flexible);
    assert_int_equal(weir_rd_pos(&rd), 12);
    /* Metadata v5 and an unknown key: header v1. */
    static const uint8_t md5[] = {0, 3, 0, 5, 0, 0, 0, 10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    weir_rd_init(&rd, md5, sizeof md5);
    assert_int_equal(weir_decode_request(&rd, &a, &r), WEIR_E_UNSUPPORTED);
    assert_int_equal(r.header.correlation_id, 10);
    assert_int_equal(r.header.client_id.len, -1);
    static const uint8_t unk[] = {0, 99, 0, 0, 0, 0, 0, 11, 0, 0};
    weir_rd_init(&rd, unk, sizeof unk);
    assert_int_equal(weir_decode_request(&rd, &a, &r), WEIR_E_UNSUPPORTED);
    assert_false(r.header.flexible);
    weir_arena_free(&a);
}

static void test_proto_header_keeps_correlation_id_when_client_id_is_cut(void **state)
{
    (void)state;
    static const uint8_t cut[] = {0, 3, 0, 1, 0, 0, 1, 0, 0, 9, 'a', 'b'};
    weir_rd rd;
    weir_rd_init(&rd, cut, sizeof cut);
    weir_request_header h;
    assert_int_equal(weir_decode_request_header(&rd, &h), WEIR_E_CORRUPT);
    assert_string_equal(rd.why, "RequestHeader.ClientId: length past the end of the frame");
    assert_int_equal(h.correlation_id, 256);
    assert_int_equal(h.api_key, 3);
}

static void
test_proto_response_header_has_tags_only_when_flexible_and_not_api_versions(void **state)
{
    (void)state;
    weir_wr w;
    weir_wr_init(&w);
    assert_int_equal(weir_encode_response_header(&w, WEIR_API_METADATA, 4, 5), 0);
    assert_int_equal(w.len, 4);
    assert_int_equal(weir_encode_response_header(&w, WEIR_API_API_VERSIONS, 3, 6), 0);
    assert_int_equal(w.len, 8);
    /* Metadata v9 (beyond weir's range) would be flexible: header v1. */
    assert_int_equal(weir_encode_response_header(&w, WEIR_API_METADATA, 9, 7), 0);
    static const uint8_t want[] = {0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0, 7, 0};
    expect_bytes(w.buf, w.len, want, sizeof want);
    weir_rd rd;
    int32_t id;
    weir_rd_init(&rd, w.buf + 8, 5);
    assert_int_equal(weir_decode_response_header(&rd, WEIR_API_METADATA, 9, &id), 0);
    assert_int_equal(id, 7);
    assert_int_equal(weir_rd_left(&rd), 0);
    weir_wr_free(&w);
}

/* ---- truncation at every byte ---- */

/* Every strict prefix of a valid message must fail with WEIR_E_CORRUPT and a
 * reason that names a field; each prefix is its own exactly-sized heap block. */
static void truncate_request(int16_t key, int16_t v, int variant)
{
    weir_request want, got;
    ps_request(key, v, variant, &want);
    weir_wr w;
    weir_wr_init(&w);
    assert_int_equal(weir_encode_request(&w, &want), 0);
    weir_arena a;
    weir_arena_init(&a, 0);
    for (size_t len = 0; len < w.len; len++) {
        uint8_t *copy = dup_exact(w.buf, len);
        weir_rd rd;
        weir_rd_init(&rd, copy, len);
        int err = weir_decode_request(&rd, &a, &got);
        if (err != WEIR_E_CORRUPT || rd.why == NULL) {
            fail_msg("%s v%d variant %d cut at %zu: %d", weir_api_name(key), v, variant, len, err);
        }
        assert_true(rd.p <= rd.end);
        /* "<Message>.<Field...>: <what>" */
        const char *colon = strstr(rd.why, ": ");
        assert_non_null(colon);
        const char *dot = strchr(rd.why, '.');
        assert_true(dot != NULL && dot < colon);
        assert_true(strncmp(rd.why, "RequestHeader.", 14) == 0 ||
                    strncmp(rd.why, weir_api_name(key), strlen(weir_api_name(key))) == 0);
        weir_arena_reset(&a);
        free(copy);
    }
    weir_arena_free(&a);
    weir_wr_free(&w);
}

static void truncate_response(int16_t key, int16_t v, int variant)
{
    proto_response want, got;
    ps_response(key, v, variant, &want);
    weir_wr w;
    weir_wr_init(&w);
    assert_int_equal(ps_encode_response(&w, &want), 0);
    weir_arena a;
    weir_arena_init(&a, 0);
    for (size_t len = 0; len < w.len; len++) {
        uint8_t *copy = dup_exact(w.buf, len);
        weir_rd rd;
        weir_rd_init(&rd, copy, len);
        int err = ps_decode_response(&rd, &a, key, v, &got);
        if (err != WEIR_E_CORRUPT || rd.why == NULL || strstr(rd.why, ": ") == NULL) {
            fail_msg("%s response v%d cut at %zu: %d", weir_api_name(key), v, len, err);
        }
        weir_arena_reset(&a);
        free(copy);
    }
    weir_arena_free(&a);
    weir_wr_free(&w);
}

static void test_proto_truncation_at_every_byte_fails_cleanly(void **state)
{
    (void)state;
    for (int32_t i = 0; i < weir_api_table_count; i++) {
        const weir_api_range *e = &weir_api_table[i];
        for (int16_t v = e->min_version; v <= e->max_version; v++) {
            for (int variant = 0; variant < PS_VARIANTS; variant++) {
                truncate_request(e->api_key, v, variant);
                truncate_response(e->api_key, v, variant);
            }
        }
    }
}

static void test_proto_error_path_names_array_element(void **state)
{
    (void)state;
    /* Metadata v1 with 3 topics announced and 2 present. */
    static const uint8_t body[] = {0, 0, 0, 3, 0, 1, 'a', 0, 1, 'b'};
    weir_arena a;
    weir_arena_init(&a, 0);
    weir_metadata_request m;
    weir_rd rd;
    uint8_t *copy = dup_exact(body, sizeof body);
    weir_rd_init(&rd, copy, sizeof body);
    assert_int_equal(weir_decode_metadata_request(&rd, 1, &a, &m), WEIR_E_CORRUPT);
    assert_string_equal(rd.why, "Metadata.Topics[2].Name: truncated");
    free(copy);

    /* Fetch v11: the second topic's name is a null string. Counts are checked
     * against the bytes left first, so a cut inside fixed-size partitions is
     * reported at their count; a bad value inside an element names the element. */
    weir_request r;
    ps_request(WEIR_API_FETCH, 11, 0, &r);
    weir_wr w;
    weir_wr_init(&w);
    assert_int_equal(weir_encode_fetch_request(&w, 11, &r.body.fetch), 0);
    /* 25 fixed bytes, topic count 4, topic 0: name 2+2, count 4, 2 partitions of 28 */
    size_t at = 25 + 4 + 4 + 4 + 2 * 28;
    assert_int_equal(w.buf[at], 0);
    assert_int_equal(w.buf[at + 1], 5); /* "other" */
    w.buf[at] = 0xff;
    w.buf[at + 1] = 0xff;
    copy = dup_exact(w.buf, w.len);
    weir_rd_init(&rd, copy, w.len);
    weir_fetch_request f;
    assert_int_equal(weir_decode_fetch_request(&rd, 11, &a, &f), WEIR_E_CORRUPT);
    assert_string_equal(rd.why, "Fetch.Topics[1].Topic: null string");
    free(copy);
    /* ... and a cut inside the partitions array is caught at its count. */
    weir_wr_reset(&w);
    assert_int_equal(weir_encode_fetch_request(&w, 11, &r.body.fetch), 0);
    copy = dup_exact(w.buf, at - 3);
    weir_rd_init(&rd, copy, at - 3);
    assert_int_equal(weir_decode_fetch_request(&rd, 11, &a, &f), WEIR_E_CORRUPT);
    assert_string_equal(rd.why,
                        "Fetch.Topics[0].Partitions: array count past the end of the frame");
    free(copy);
    weir_wr_free(&w);
    weir_arena_free(&a);
}

/* ---- absurd counts ---- */

static void test_proto_absurd_counts_fail_fast_without_allocating(void **state)
{
    (void)state;
    weir_arena a;
    weir_arena_init(&a, 0);
    weir_rd rd;

    static const uint8_t md[] = {0x7f, 0xff, 0xff, 0xff, 0, 1, 'a'};
    weir_metadata_request m;
    weir_rd_init(&rd, md, sizeof md);
    assert_int_equal(weir_decode_metadata_request(&rd, 1, &a, &m), WEIR_E_CORRUPT);
    assert_string_equal(rd.why, "Metadata.Topics: array count past the end of the frame");
    assert_int_equal(a.used_bytes, 0);

    /* Produce: 1 topic, then 2^31-1 partitions. */
    static const uint8_t pr[] = {0xff, 0xff, 0,   1,    0,    0,    0,    100, 0, 0, 0, 1,
                                 0,    1,    't', 0x7f, 0xff, 0xff, 0xff, 0,   0, 0, 0};
    weir_produce_request p;
    weir_rd_init(&rd, pr, sizeof pr);
    assert_int_equal(weir_decode_produce_request(&rd, 7, &a, &p), WEIR_E_CORRUPT);
    assert_string_equal(
        rd.why, "Produce.TopicData[0].PartitionData: array count past the end of the frame");
    assert_true(a.used_bytes < 1024);

    /* Negative counts other than -1, and a huge string length. */
    static const uint8_t neg[] = {0x80, 0, 0, 0};
    weir_delete_topics_request d;
    weir_rd_init(&rd, neg, sizeof neg);
    assert_int_equal(weir_decode_delete_topics_request(&rd, 0, &a, &d), WEIR_E_CORRUPT);
    assert_string_equal(rd.why, "DeleteTopics.TopicNames: array count out of range");
    static const uint8_t records[] = {0, 0, 0, 0, 0, 0, 0, 0, 0,    0,    0,    1,    0, 1, 't',
                                      0, 0, 0, 1, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 1, 2, 3};
    weir_rd_init(&rd, records, sizeof records);
    assert_int_equal(weir_decode_produce_request(&rd, 3, &a, &p), WEIR_E_CORRUPT);
    assert_string_equal(
        rd.why, "Produce.TopicData[0].PartitionData[0].Records: length past the end of the frame");

    /* A compact count that does not fit (ApiVersions v3 response). */
    static const uint8_t av[] = {0, 0, 0x80, 0x80, 0x80, 0x80, 0x08}; /* 2^31 - 1 */
    weir_api_versions_response avr;
    weir_rd_init(&rd, av, sizeof av);
    assert_int_equal(weir_decode_api_versions_response(&rd, 3, &a, &avr), WEIR_E_CORRUPT);
    assert_string_equal(rd.why,
                        "ApiVersionsResponse.ApiKeys: array count past the end of the frame");
    weir_arena_free(&a);
}

static void test_proto_arena_limit_reports_nomem(void **state)
{
    (void)state;
    /* 1,000 topic names of 0 bytes fit the frame but not a 1 KiB arena. */
    size_t len = 4 + 1000 * 2;
    uint8_t *body = calloc(1, len);
    assert_non_null(body);
    body[2] = 0x03;
    body[3] = 0xe8;
    weir_arena a;
    weir_arena_init(&a, 1024);
    weir_metadata_request m;
    weir_rd rd;
    weir_rd_init(&rd, body, len);
    assert_int_equal(weir_decode_metadata_request(&rd, 1, &a, &m), WEIR_E_NOMEM);
    assert_string_equal(rd.why, "Metadata.Topics: out of memory (arena limit)");
    weir_arena_free(&a);
    weir_arena_init(&a, 0);
    weir_rd_init(&rd, body, len);
    assert_int_equal(weir_decode_metadata_request(&rd, 1, &a, &m), 0);
    assert_int_equal(m.topic_count, 1000);
    weir_arena_free(&a);
    free(body);
}

/* ---- reader, writer and arena details ---- */

static void test_proto_reader_skips_tags_and_rejects_bad_ones(void **state)
{
    (void)state;
    weir_arena a;
    weir_arena_init(&a, 0);
    weir_api_versions_request r;
    weir_rd rd;
    /* two tagged fields (tag 0 size 2, tag 5 size 0), then one extra byte that is ignored */
    static const uint8_t ok[] = {2, 'n', 2, 'v', 2, 0, 2, 0xaa, 0xbb, 5, 0, 0x99};
    weir_rd_init(&rd, ok, sizeof ok);
    assert_int_equal(weir_decode_api_versions_request(&rd, 3, &a, &r), 0);
    assert_true(weir_str_eq_cstr(r.client_software_name, "n"));
    assert_int_equal(weir_rd_left(&rd), 1);
    static const uint8_t bad[] = {2, 'n', 2, 'v', 1, 0, 9, 0xaa};
    weir_rd_init(&rd, bad, sizeof bad);
    assert_int_equal(weir_decode_api_versions_request(&rd, 3, &a, &r), WEIR_E_CORRUPT);
    assert_string_equal(rd.why, "ApiVersions.TaggedFields: length past the end of the frame");
    static const uint8_t null_name[] = {0, 1, 0};
    weir_rd_init(&rd, null_name, sizeof null_name);
    assert_int_equal(weir_decode_api_versions_request(&rd, 3, &a, &r), WEIR_E_CORRUPT);
    assert_string_equal(rd.why, "ApiVersions.ClientSoftwareName: null string");
    static const uint8_t long_varint[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    weir_rd_init(&rd, long_varint, sizeof long_varint);
    assert_int_equal(weir_decode_api_versions_request(&rd, 3, &a, &r), WEIR_E_CORRUPT);
    assert_string_equal(rd.why, "ApiVersions.ClientSoftwareName: varint too long");
    weir_arena_free(&a);
}

static void test_proto_reader_errors_are_sticky(void **state)
{
    (void)state;
    static const uint8_t buf[] = {1, 2, 3};
    weir_rd rd;
    weir_rd_init(&rd, buf, sizeof buf);
    weir_rd_scope(&rd, "X");
    assert_int_equal(weir_rd_i32(&rd, "A"), 0);
    assert_string_equal(rd.why, "X.A: truncated");
    assert_int_equal(weir_rd_i8(&rd, "B"), 0); /* a byte is left, but the reader stopped */
    assert_string_equal(rd.why, "X.A: truncated");
    assert_int_equal(weir_rd_pos(&rd), 0);
    assert_int_equal(weir_rd_status(&rd), WEIR_E_CORRUPT);
}

static void test_proto_writer_rejects_what_the_format_cannot_hold(void **state)
{
    (void)state;
    weir_wr w;
    weir_wr_init(&w);
    weir_wr_string(&w, WEIR_STR_NULL);
    assert_int_equal(weir_wr_status(&w), WEIR_E_INVAL);
    weir_wr_reset(&w);
    char *big = malloc(40000);
    assert_non_null(big);
    memset(big, 'x', 40000);
    weir_wr_string(&w, (weir_str){big, 40000});
    assert_int_equal(weir_wr_status(&w), WEIR_E_INVAL);
    weir_wr_reset(&w);
    weir_wr_nullable_string(&w, (weir_str){big, 32767});
    assert_int_equal(weir_wr_status(&w), 0);
    assert_int_equal(w.len, 2 + 32767);
    free(big);
    weir_wr_reset(&w);
    /* A non-nullable array given as null, or items missing. */
    weir_delete_topics_request d = {-1, NULL, 0};
    assert_int_equal(weir_encode_delete_topics_request(&w, 0, &d), WEIR_E_INVAL);
    weir_wr_reset(&w);
    d.topic_name_count = 2;
    assert_int_equal(weir_encode_delete_topics_request(&w, 0, &d), WEIR_E_INVAL);
    weir_wr_reset(&w);
    /* Metadata v0 cannot say null; v1 can. */
    weir_metadata_request m = {-1, NULL, true, true};
    assert_int_equal(weir_encode_metadata_request(&w, 0, &m), WEIR_E_INVAL);
    weir_wr_reset(&w);
    assert_int_equal(weir_encode_metadata_request(&w, 1, &m), 0);
    /* A frame-size slot patched later. */
    weir_wr_reset(&w);
    size_t pos = weir_wr_skip(&w, 4);
    weir_wr_i16(&w, 5);
    weir_wr_put_i32_at(&w, pos, (int32_t)(w.len - 4));
    static const uint8_t want[] = {0, 0, 0, 2, 0, 5};
    expect_bytes(w.buf, w.len, want, sizeof want);
    size_t len;
    uint8_t *taken = weir_wr_take(&w, &len);
    assert_non_null(taken);
    assert_int_equal(len, 6);
    assert_null(w.buf);
    free(taken);
    weir_wr_free(&w);
}

static void test_proto_uvarint_and_compact_forms(void **state)
{
    (void)state;
    weir_wr w;
    weir_wr_init(&w);
    weir_wr_uvarint(&w, 300);
    weir_wr_compact_nullable_string(&w, WEIR_STR_NULL);
    weir_wr_compact_string(&w, (weir_str){"hi", 2});
    weir_wr_compact_bytes(&w, (weir_bytes){(const uint8_t *)"\x01", 1});
    weir_wr_compact_array_count(&w, -1);
    weir_wr_compact_array_count(&w, 200);
    static const uint8_t want[] = {0xac, 0x02, 0x00, 0x03, 'h', 'i', 0x02, 0x01, 0x00, 0xc9, 0x01};
    expect_bytes(w.buf, w.len, want, sizeof want);
    weir_rd rd;
    weir_rd_init(&rd, w.buf, w.len);
    assert_int_equal(weir_rd_uvarint(&rd, "v"), 300);
    assert_int_equal(weir_rd_compact_nullable_string(&rd, "s").len, -1);
    assert_true(weir_str_eq_cstr(weir_rd_compact_string(&rd, "s"), "hi"));
    weir_bytes b = weir_rd_compact_bytes(&rd, "b");
    assert_int_equal(b.len, 1);
    assert_int_equal(weir_rd_compact_array_count(&rd, "n", true, 1), -1);
    assert_int_equal(weir_rd_status(&rd), 0);
    /* 200 elements of >= 1 byte do not fit in 0 bytes left. */
    assert_int_equal(weir_rd_compact_array_count(&rd, "n", false, 1), 0);
    assert_int_equal(weir_rd_status(&rd), WEIR_E_CORRUPT);
    weir_wr_free(&w);
}

static void test_proto_arena_resets_and_aligns(void **state)
{
    (void)state;
    weir_arena a;
    weir_arena_init(&a, 0);
    for (int i = 0; i < 1000; i++) {
        uint8_t *p = weir_arena_alloc(&a, (size_t)i * 7 + 1);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        assert_int_equal(p[0], 0);
        memset(p, 0xab, (size_t)i * 7 + 1);
    }
    assert_non_null(weir_arena_alloc(&a, 0));
    assert_null(weir_arena_alloc_array(&a, SIZE_MAX / 2, 4));
    weir_arena_reset(&a);
    assert_int_equal(a.used_bytes, 0);
    uint8_t *p = weir_arena_alloc(&a, 64);
    assert_non_null(p);
    assert_int_equal(p[63], 0);
    weir_arena_free(&a);
    weir_arena_free(&a); /* twice is fine */
}

/* ---- the inter-broker APIs ---- */

/* Decodes a body from an exactly-sized copy with the given decoder call. */
#define DECODE_BODY(bytes, len, call)                                                              \
    do {                                                                                           \
        uint8_t *copy_ = dup_exact((bytes), (len));                                                \
        weir_rd_init(&rd, copy_, (len));                                                           \
        err = (call);                                                                              \
        free(copy_);                                                                               \
    } while (0)

static void test_proto_broker_heartbeat_uses_request_header_v2_and_response_header_v1(void **state)
{
    (void)state;
    static const uint8_t req_bytes[] = {
        0x00, 0x3f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, /* key 63, v0, correlation 7 */
        0x00, 0x02, 'b',  '1',                          /* client id: int16 length even in v2 */
        0x00,                                           /* header tag buffer */
        0x00, 0x00, 0x00, 0x02,                         /* BrokerId */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, /* BrokerEpoch */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8, /* CurrentMetadataOffset */
        0x00, 0x01,                                     /* WantFence, WantShutDown */
        0x00,                                           /* body tag buffer */
    };
    weir_arena a;
    weir_arena_init(&a, 0);
    weir_request r;
    weir_rd rd;
    uint8_t *copy;
    assert_int_equal(decode_exact(req_bytes, sizeof req_bytes, &a, &r, &rd, &copy), 0);
    assert_int_equal(weir_rd_left(&rd), 0);
    assert_true(r.header.flexible);
    assert_true(weir_str_eq_cstr(r.header.client_id, "b1"));
    const weir_broker_heartbeat_request *h = &r.body.broker_heartbeat;
    assert_int_equal(h->broker_id, 2);
    assert_int_equal(h->broker_epoch, 42);
    assert_int_equal(h->current_metadata_offset, 1000);
    assert_false(h->want_fence);
    assert_true(h->want_shut_down);
    expect_request_encodes_to(&r, req_bytes, sizeof req_bytes);
    free(copy);

    proto_response resp;
    ps_response(WEIR_API_BROKER_HEARTBEAT, 0, 0, &resp);
    resp.correlation_id = 7;
    weir_wr w;
    weir_wr_init(&w);
    assert_int_equal(ps_encode_response(&w, &resp), 0);
    static const uint8_t resp_bytes[] = {
        0x00, 0x00, 0x00, 0x07, 0x00, /* correlation id, header tag buffer */
        0x00, 0x00, 0x00, 0x01,       /* ThrottleTimeMs */
        0x00, 0x00,                   /* ErrorCode */
        0x01, 0x00, 0x00,             /* IsCaughtUp, IsFenced, ShouldShutDown */
        0x00,                         /* body tag buffer */
    };
    expect_bytes(w.buf, w.len, resp_bytes, sizeof resp_bytes);
    weir_wr_free(&w);
    weir_arena_free(&a);
}

static void test_proto_broker_registration_v0_bytes_uuid_port_and_null_rack(void **state)
{
    (void)state;
    /* Body with a tagged field (tag 0, ZkMigrationReady, 1 byte) that is skipped. */
    static const uint8_t body[] = {
        0x00, 0x00, 0x00, 0x01,                                   /* BrokerId */
        0x03, 'c',  '1',                                          /* ClusterId */
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,           /* IncarnationId */
        0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,           /* ... */
        0x02,                                                     /* Listeners: 1 */
        0x0a, 'P',  'L',  'A',  'I',  'N',  'T',  'E',  'X', 'T', /* Name */
        0x02, 'h',                                                /* Host */
        0xff, 0xff,                                               /* Port (uint16) */
        0x00, 0x00,                                               /* SecurityProtocol */
        0x00,                                                     /* listener tags */
        0x02,                                                     /* Features: 1 */
        0x02, 'f',  0x00, 0x01, 0x00, 0x02, 0x00,                 /* Name, Min, Max, tags */
        0x00,                                                     /* Rack: null */
        0x01, 0x00, 0x01, 0x01,                                   /* tags: {0: [1]} */
    };
    weir_arena a;
    weir_arena_init(&a, 0);
    weir_rd rd;
    int err;
    weir_broker_registration_request r;
    DECODE_BODY(body, sizeof body, weir_decode_broker_registration_request(&rd, 0, &a, &r));
    assert_int_equal(err, 0);
    assert_int_equal(r.broker_id, 1);
    assert_int_equal(r.listener_count, 1);
    assert_int_equal(r.listeners[0].port, 65535);
    assert_int_equal(r.listeners[0].security_protocol, 0);
    assert_int_equal(r.feature_count, 1);
    assert_int_equal(r.features[0].min_supported_version, 1);
    assert_int_equal(r.features[0].max_supported_version, 2);
    assert_int_equal(r.rack.len, -1);
    for (int i = 0; i < 16; i++) {
        assert_int_equal(r.incarnation_id.b[i], i);
    }
    /* Views into the freed copy are not used again: re-encode from a fresh decode. */
    uint8_t *copy = dup_exact(body, sizeof body);
    weir_rd_init(&rd, copy, sizeof body);
    assert_int_equal(weir_decode_broker_registration_request(&rd, 0, &a, &r), 0);
    weir_wr w;
    weir_wr_init(&w);
    assert_int_equal(weir_encode_broker_registration_request(&w, 0, &r), 0);
    /* the same bytes, with the tagged field dropped: an empty tag buffer */
    assert_int_equal(w.len, sizeof body - 3);
    expect_bytes(w.buf, w.len - 1, body, sizeof body - 4);
    assert_int_equal(w.buf[w.len - 1], 0);
    free(copy);

    /* ClusterId is not nullable; Rack is. */
    weir_wr_reset(&w);
    r.rack = WEIR_STR_NULL;
    r.cluster_id = WEIR_STR_NULL;
    assert_int_equal(weir_encode_broker_registration_request(&w, 0, &r), WEIR_E_INVAL);
    weir_wr_free(&w);
    weir_arena_free(&a);
}

static void test_proto_offset_for_leader_epoch_versions_add_fields_where_kafka_says(void **state)
{
    (void)state;
    weir_offset_for_leader_epoch_partition p = {0, 5, 4};
    weir_offset_for_leader_epoch_topic t = {{"t1", 2}, 1, &p};
    weir_offset_for_leader_epoch_request r = {2, 1, &t};
    static const uint8_t v3[] = {
        0x00, 0x00, 0x00, 0x02,                         /* ReplicaId (v3+) */
        0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 't',  '1',  /* Topics: 1, "t1" */
        0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, /* Partitions: 1, Partition 0 */
        0x00, 0x00, 0x00, 0x05,                         /* CurrentLeaderEpoch (v2+) */
        0x00, 0x00, 0x00, 0x04,                         /* LeaderEpoch */
    };
    weir_wr w;
    weir_wr_init(&w);
    size_t len[4];
    for (int16_t v = 0; v <= 3; v++) {
        weir_wr_reset(&w);
        assert_int_equal(weir_encode_offset_for_leader_epoch_request(&w, v, &r), 0);
        len[v] = w.len;
    }
    expect_bytes(w.buf, w.len, v3, sizeof v3);
    assert_int_equal(len[0], len[1]);
    assert_int_equal(len[2], len[1] + 4);
    assert_int_equal(len[3], len[2] + 4);
    /* v0 reads the defaults: ReplicaId -2, CurrentLeaderEpoch -1. */
    weir_wr_reset(&w);
    assert_int_equal(weir_encode_offset_for_leader_epoch_request(&w, 0, &r), 0);
    weir_arena a;
    weir_arena_init(&a, 0);
    weir_rd rd;
    weir_rd_init(&rd, w.buf, w.len);
    weir_offset_for_leader_epoch_request got;
    assert_int_equal(weir_decode_offset_for_leader_epoch_request(&rd, 0, &a, &got), 0);
    assert_int_equal(got.replica_id, -2);
    assert_int_equal(got.topics[0].partitions[0].current_leader_epoch, -1);
    assert_int_equal(got.topics[0].partitions[0].leader_epoch, 4);

    /* Response: v1 adds LeaderEpoch per partition, v2 the leading ThrottleTimeMs. */
    weir_offset_for_leader_epoch_partition_response pr = {0, 0, 3, 100};
    weir_offset_for_leader_epoch_topic_response tr = {{"t1", 2}, 1, &pr};
    weir_offset_for_leader_epoch_response resp = {9, 1, &tr};
    for (int16_t v = 0; v <= 3; v++) {
        weir_wr_reset(&w);
        assert_int_equal(weir_encode_offset_for_leader_epoch_response(&w, v, &resp), 0);
        len[v] = w.len;
    }
    assert_int_equal(len[1], len[0] + 4);
    assert_int_equal(len[2], len[1] + 4);
    assert_int_equal(len[3], len[2]);
    static const uint8_t resp_v3[] = {
        0x00, 0x00, 0x00, 0x09,                         /* ThrottleTimeMs */
        0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 't',  '1',  /* Topics: 1, "t1" */
        0x00, 0x00, 0x00, 0x01, 0x00, 0x00,             /* Partitions: 1, ErrorCode */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, /* Partition, LeaderEpoch */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64, /* EndOffset */
    };
    expect_bytes(w.buf, w.len, resp_v3, sizeof resp_v3);
    weir_arena_free(&a);
    weir_wr_free(&w);
}

static void test_proto_alter_partition_v1_adds_leader_recovery_state(void **state)
{
    (void)state;
    static const int32_t isr[2] = {1, 2};
    weir_alter_partition_partition p = {0, 3, 2, isr, 1, 9};
    weir_alter_partition_topic t = {{"t", 1}, 1, &p};
    weir_alter_partition_request r = {1, 5, 1, &t};
    static const uint8_t v1[] = {
        0x00, 0x00, 0x00, 0x01,                               /* BrokerId */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,       /* BrokerEpoch */
        0x02, 0x02, 't',                                      /* Topics: 1 (compact), Name */
        0x02,                                                 /* Partitions: 1 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,       /* PartitionIndex, LeaderEpoch */
        0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, /* NewIsr: [1, 2] */
        0x01,                                                 /* LeaderRecoveryState (v1+) */
        0x00, 0x00, 0x00, 0x09,                               /* PartitionEpoch */
        0x00, 0x00, 0x00, /* partition, topic and body tag buffers */
    };
    weir_wr w;
    weir_wr_init(&w);
    assert_int_equal(weir_encode_alter_partition_request(&w, 1, &r), 0);
    expect_bytes(w.buf, w.len, v1, sizeof v1);
    weir_wr_reset(&w);
    assert_int_equal(weir_encode_alter_partition_request(&w, 0, &r), 0);
    assert_int_equal(w.len, sizeof v1 - 1);
    expect_bytes(w.buf, 33, v1, 33);
    expect_bytes(w.buf + 33, w.len - 33, v1 + 34, sizeof v1 - 34);
    /* v0 decodes LeaderRecoveryState as 0 (RECOVERED). */
    weir_arena a;
    weir_arena_init(&a, 0);
    weir_rd rd;
    weir_rd_init(&rd, w.buf, w.len);
    weir_alter_partition_request got;
    assert_int_equal(weir_decode_alter_partition_request(&rd, 0, &a, &got), 0);
    assert_int_equal(got.topics[0].partitions[0].leader_recovery_state, 0);
    assert_int_equal(got.topics[0].partitions[0].new_isr_count, 2);
    assert_int_equal(got.topics[0].partitions[0].new_isr[1], 2);
    assert_int_equal(got.topics[0].partitions[0].partition_epoch, 9);
    /* No null arrays here. */
    weir_wr_reset(&w);
    r.topic_count = -1;
    assert_int_equal(weir_encode_alter_partition_request(&w, 1, &r), WEIR_E_INVAL);
    weir_arena_free(&a);
    weir_wr_free(&w);
}

static void test_proto_leader_and_isr_v3_adds_adding_and_removing_replicas(void **state)
{
    (void)state;
    static const uint8_t v3[] = {
        0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, /* ControllerId, ControllerEpoch */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, /* BrokerEpoch */
        0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',        /* TopicStates: 1, TopicName */
        0x00, 0x00, 0x00, 0x01,                         /* PartitionStates: 1 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, /* PartitionIndex, ControllerEpoch */
        0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x04, /* Leader, LeaderEpoch */
        0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, /* Isr: [1] */
        0x00, 0x00, 0x00, 0x06,                         /* ZkVersion */
        0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, /* Replicas */
        0x00, 0x00, 0x00, 0x00,                         /* AddingReplicas: [] (v3+) */
        0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, /* RemovingReplicas: [2] (v3+) */
        0x01,                                           /* IsNew */
        0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, /* LiveLeaders: 1, BrokerId */
        0x00, 0x09, 'l',  'o',  'c',  'a',  'l',  'h',  'o',  's',  't', /* HostName */
        0x00, 0x00, 0x23, 0x84,                                          /* Port */
    };
    const size_t at_isr = 43, at_adding = 67; /* offsets of Isr and AddingReplicas */
    weir_arena a;
    weir_arena_init(&a, 0);
    weir_rd rd;
    int err;
    weir_leader_and_isr_request r;
    uint8_t *copy = dup_exact(v3, sizeof v3);
    weir_rd_init(&rd, copy, sizeof v3);
    assert_int_equal(weir_decode_leader_and_isr_request(&rd, 3, &a, &r), 0);
    assert_int_equal(weir_rd_left(&rd), 0);
    assert_int_equal(r.broker_epoch, 3);
    const weir_leader_and_isr_partition_state *p = &r.topic_states[0].partition_states[0];
    assert_int_equal(p->adding_replica_count, 0);
    assert_int_equal(p->removing_replica_count, 1);
    assert_int_equal(p->removing_replicas[0], 2);
    assert_true(p->is_new);
    assert_int_equal(r.live_leaders[0].port, 9092);
    assert_true(weir_str_eq_cstr(r.live_leaders[0].host_name, "localhost"));
    weir_wr w;
    weir_wr_init(&w);
    assert_int_equal(weir_encode_leader_and_isr_request(&w, 3, &r), 0);
    expect_bytes(w.buf, w.len, v3, sizeof v3);
    /* v2: the same without the two arrays (12 bytes here). */
    weir_wr_reset(&w);
    assert_int_equal(weir_encode_leader_and_isr_request(&w, 2, &r), 0);
    assert_int_equal(w.len, sizeof v3 - 12);
    expect_bytes(w.buf, at_adding, v3, at_adding);
    expect_bytes(w.buf + at_adding, w.len - at_adding, v3 + at_adding + 12,
                 sizeof v3 - at_adding - 12);
    free(copy);
    /* AddingReplicas is not nullable, whatever its "about" text says. */
    uint8_t bad[sizeof v3];
    memcpy(bad, v3, sizeof v3);
    memset(bad + at_adding, 0xff, 4);
    DECODE_BODY(bad, sizeof bad, weir_decode_leader_and_isr_request(&rd, 3, &a, &r));
    assert_int_equal(err, WEIR_E_CORRUPT);
    assert_string_equal(rd.why, "LeaderAndIsr.TopicStates[0].PartitionStates[0].AddingReplicas: "
                                "null array");
    /* A cut inside the partition states is caught at their count ... */
    DECODE_BODY(v3, 46, weir_decode_leader_and_isr_request(&rd, 3, &a, &r));
    assert_int_equal(err, WEIR_E_CORRUPT);
    assert_string_equal(rd.why, "LeaderAndIsr.TopicStates[0].PartitionStates: array count past "
                                "the end of the frame");
    /* ... and an absurd Isr count inside one names the element. */
    memcpy(bad, v3, sizeof v3);
    memset(bad + at_isr, 0x7f, 1);
    DECODE_BODY(bad, sizeof bad, weir_decode_leader_and_isr_request(&rd, 3, &a, &r));
    assert_int_equal(err, WEIR_E_CORRUPT);
    assert_string_equal(rd.why, "LeaderAndIsr.TopicStates[0].PartitionStates[0].Isr: array count "
                                "past the end of the frame");
    weir_wr_free(&w);
    weir_arena_free(&a);
}

static void test_proto_cluster_decoders_name_fields_and_refuse_absurd_counts(void **state)
{
    (void)state;
    weir_arena a;
    weir_arena_init(&a, 0);
    weir_rd rd;
    int err;

    /* LeaderAndIsr: 2^31-1 topic states. */
    static const uint8_t lai[] = {0, 0, 0,    1,    0,    0,    0, 2, 0,   0, 0, 0, 0, 0,
                                  0, 3, 0x7f, 0xff, 0xff, 0xff, 0, 1, 't', 0, 0, 0, 0};
    weir_leader_and_isr_request l;
    DECODE_BODY(lai, sizeof lai, weir_decode_leader_and_isr_request(&rd, 2, &a, &l));
    assert_int_equal(err, WEIR_E_CORRUPT);
    assert_string_equal(rd.why, "LeaderAndIsr.TopicStates: array count past the end of the frame");
    assert_int_equal(a.used_bytes, 0);

    /* BrokerRegistration: a compact Listeners count of 2^31-1. */
    static const uint8_t br[] = {0, 0, 0,    1,    2,    'c',  0,    0,    0, 0,
                                 0, 0, 0,    0,    0,    0,    0,    0,    0, 0,
                                 0, 0, 0x80, 0x80, 0x80, 0x80, 0x08, 0x01, 0, 0x00};
    weir_broker_registration_request b;
    DECODE_BODY(br, sizeof br, weir_decode_broker_registration_request(&rd, 0, &a, &b));
    assert_int_equal(err, WEIR_E_CORRUPT);
    assert_string_equal(rd.why,
                        "BrokerRegistration.Listeners: array count past the end of the frame");
    assert_int_equal(a.used_bytes, 0);
    /* ... and a null ClusterId (compact length 0). */
    static const uint8_t br_null[] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    DECODE_BODY(br_null, sizeof br_null, weir_decode_broker_registration_request(&rd, 0, &a, &b));
    assert_int_equal(err, WEIR_E_CORRUPT);
    assert_string_equal(rd.why, "BrokerRegistration.ClusterId: null string");
    /* ... and an IncarnationId cut short. */
    DECODE_BODY(br, 12, weir_decode_broker_registration_request(&rd, 0, &a, &b));
    assert_int_equal(err, WEIR_E_CORRUPT);
    assert_string_equal(rd.why, "BrokerRegistration.IncarnationId: truncated");

    /* AlterPartition: a null NewIsr, then a partition tag buffer that runs past the end. */
    static const uint8_t ap[] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5, 2, 2, 't', 2,
                                 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 9, 0, 0,   0};
    weir_alter_partition_request ar;
    DECODE_BODY(ap, sizeof ap, weir_decode_alter_partition_request(&rd, 0, &a, &ar));
    assert_int_equal(err, WEIR_E_CORRUPT);
    assert_string_equal(rd.why, "AlterPartition.Topics[0].Partitions[0].NewIsr: null array");
    uint8_t ap_tags[sizeof ap];
    memcpy(ap_tags, ap, sizeof ap);
    ap_tags[24] = 1;    /* NewIsr: [] */
    ap_tags[29] = 1;    /* partition tags: 1 field */
    ap_tags[30] = 0;    /* tag 0 */
    ap_tags[31] = 0x7f; /* of 127 bytes */
    DECODE_BODY(ap_tags, sizeof ap_tags, weir_decode_alter_partition_request(&rd, 0, &a, &ar));
    assert_int_equal(err, WEIR_E_CORRUPT);
    assert_string_equal(rd.why, "AlterPartition.Topics[0].Partitions[0].TaggedFields: "
                                "length past the end of the frame");

    /* OffsetForLeaderEpoch response: a partition count that cannot fit. */
    static const uint8_t oe[] = {0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 't', 0, 0, 1, 0, 0, 0, 0, 0, 0};
    weir_offset_for_leader_epoch_response o;
    DECODE_BODY(oe, sizeof oe, weir_decode_offset_for_leader_epoch_response(&rd, 2, &a, &o));
    assert_int_equal(err, WEIR_E_CORRUPT);
    assert_string_equal(rd.why, "OffsetForLeaderEpochResponse.Topics[0].Partitions: array count "
                                "past the end of the frame");
    weir_arena_free(&a);
}

static void test_proto_cluster_versions_outside_the_table_decode_header_only(void **state)
{
    (void)state;
    weir_arena a;
    weir_arena_init(&a, 0);
    weir_request r;
    weir_rd rd;
    /* LeaderAndIsr v4 is flexible: the header's tag buffer is read, the body is not. */
    static const uint8_t lai4[] = {0, 4, 0, 4, 0, 0, 0, 5, 0xff, 0xff, 0, 1, 2, 3};
    weir_rd_init(&rd, lai4, sizeof lai4);
    assert_int_equal(weir_decode_request(&rd, &a, &r), WEIR_E_UNSUPPORTED);
    assert_true(r.header.flexible);
    assert_int_equal(r.header.correlation_id, 5);
    assert_int_equal(weir_rd_pos(&rd), 11);
    /* LeaderAndIsr v1 (before the TopicStates grouping) and BrokerHeartbeat v1. */
    static const uint8_t lai1[] = {0, 4, 0, 1, 0, 0, 0, 6, 0xff, 0xff};
    weir_rd_init(&rd, lai1, sizeof lai1);
    assert_int_equal(weir_decode_request(&rd, &a, &r), WEIR_E_UNSUPPORTED);
    assert_false(r.header.flexible);
    static const uint8_t hb1[] = {0, 63, 0, 1, 0, 0, 0, 7, 0xff, 0xff, 0};
    weir_rd_init(&rd, hb1, sizeof hb1);
    assert_int_equal(weir_decode_request(&rd, &a, &r), WEIR_E_UNSUPPORTED);
    assert_true(r.header.flexible);
    assert_int_equal(weir_rd_left(&rd), 0);
    /* The body functions refuse them too. */
    weir_wr w;
    weir_wr_init(&w);
    weir_leader_and_isr_request l = {0};
    assert_int_equal(weir_encode_leader_and_isr_request(&w, 1, &l), WEIR_E_INVAL);
    assert_int_equal(weir_encode_leader_and_isr_request(&w, 4, &l), WEIR_E_INVAL);
    weir_broker_heartbeat_response hr = {0};
    assert_int_equal(weir_encode_broker_heartbeat_response(&w, 1, &hr), WEIR_E_INVAL);
    assert_int_equal(w.len, 0);
    weir_rd_init(&rd, NULL, 0);
    weir_alter_partition_response ar;
    assert_int_equal(weir_decode_alter_partition_response(&rd, 2, &a, &ar), WEIR_E_INVAL);
    weir_wr_free(&w);
    weir_arena_free(&a);
}

static void test_proto_uuid_is_sixteen_raw_bytes(void **state)
{
    (void)state;
    weir_uuid u;
    for (int i = 0; i < 16; i++) {
        u.b[i] = (uint8_t)(0xa0 + i);
    }
    weir_wr w;
    weir_wr_init(&w);
    weir_wr_uuid(&w, u);
    weir_wr_uuid(&w, WEIR_UUID_ZERO);
    assert_int_equal(w.len, 32);
    expect_bytes(w.buf, 16, u.b, 16);
    weir_rd rd;
    weir_rd_init(&rd, w.buf, w.len);
    assert_true(weir_uuid_eq(weir_rd_uuid(&rd, "A"), u));
    assert_true(weir_uuid_eq(weir_rd_uuid(&rd, "B"), WEIR_UUID_ZERO));
    assert_false(weir_uuid_eq(u, WEIR_UUID_ZERO));
    weir_rd_init(&rd, w.buf, 15);
    weir_rd_scope(&rd, "X");
    assert_true(weir_uuid_eq(weir_rd_uuid(&rd, "Id"), WEIR_UUID_ZERO));
    assert_string_equal(rd.why, "X.Id: truncated");
    assert_int_equal(weir_rd_pos(&rd), 0);
    weir_wr_free(&w);
}

/* ---- consumer groups and transactions ---- */

/* FindCoordinator v2 as librdkafka sends it for `kcat -G grp`, written out
 * from FindCoordinatorRequest.json (Key, KeyType) behind a v1 header. */
static const uint8_t rdkafka_find_coordinator_v2[] = {
    0x00, 0x0a, 0x00, 0x02, 0x00, 0x00, 0x00, 0x05,      /* key 10, v2, correlation 5 */
    0x00, 0x07, 'r',  'd',  'k',  'a',  'f',  'k',  'a', /* client id */
    0x00, 0x03, 'g',  'r',  'p',                         /* Key */
    0x00,                                                /* KeyType: group */
};

/* The consumer protocol's subscription: version 0, ["t1"], null user data. */
#define SUBSCRIPTION_T1 0, 0, 0, 0, 0, 1, 0, 2, 't', '1', 0xff, 0xff, 0xff, 0xff

/* JoinGroup v5 as librdkafka 2.0.2 sends it, written out from
 * JoinGroupRequest.json. */
static const uint8_t rdkafka_join_group_v5[] = {
    0x00,
    0x0b,
    0x00,
    0x05,
    0x00,
    0x00,
    0x00,
    0x06, /* key 11, v5, correlation 6 */
    0x00,
    0x07,
    'r',
    'd',
    'k',
    'a',
    'f',
    'k',
    'a', /* client id */
    0x00,
    0x03,
    'g',
    'r',
    'p', /* GroupId */
    0x00,
    0x00,
    0xaf,
    0xc8, /* SessionTimeoutMs 45000 */
    0x00,
    0x04,
    0x93,
    0xe0, /* RebalanceTimeoutMs 300000 */
    0x00,
    0x00, /* MemberId "" */
    0xff,
    0xff, /* GroupInstanceId null (v5+) */
    0x00,
    0x08,
    'c',
    'o',
    'n',
    's',
    'u',
    'm',
    'e',
    'r', /* ProtocolType */
    0x00,
    0x00,
    0x00,
    0x02, /* Protocols: 2 */
    0x00,
    0x05,
    'r',
    'a',
    'n',
    'g',
    'e', /* Name */
    0x00,
    0x00,
    0x00,
    0x0e,
    SUBSCRIPTION_T1, /* Metadata */
    0x00,
    0x0a,
    'r',
    'o',
    'u',
    'n',
    'd',
    'r',
    'o',
    'b',
    'i',
    'n',
    0x00,
    0x00,
    0x00,
    0x0e,
    SUBSCRIPTION_T1,
};

/* OffsetCommit v2 as kafka-python 2.0.2 sends it (its fixed version):
 * RetentionTimeMs sits between MemberId and Topics. */
static const uint8_t kafka_python_offset_commit_v2[] = {
    0x00, 0x08, 0x00, 0x02, 0x00, 0x00, 0x00, 0x07,           /* key 8, v2, correlation 7 */
    0x00, 0x0c, 'k',  'a',  'f',  'k',  'a',  '-',  'p', 'y', /* client id */
    't',  'h',  'o',  'n',                                    /* ... */
    0x00, 0x03, 'g',  'r',  'p',                              /* GroupId */
    0x00, 0x00, 0x00, 0x02,                                   /* GenerationId */
    0x00, 0x02, 'm',  '1',                                    /* MemberId */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,           /* RetentionTimeMs -1 */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 't',  '1',            /* Topics: 1, Name */
    0x00, 0x00, 0x00, 0x01,                                   /* Partitions: 1 */
    0x00, 0x00, 0x00, 0x00,                                   /* PartitionIndex */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a,           /* CommittedOffset 42 */
    0x00, 0x00,                                               /* CommittedMetadata "" */
};

static void test_proto_decodes_rdkafka_find_coordinator_v2(void **state)
{
    (void)state;
    weir_arena a;
    weir_arena_init(&a, 0);
    weir_request r;
    weir_rd rd;
    int err;
    uint8_t *copy;
    assert_int_equal(decode_exact(rdkafka_find_coordinator_v2, sizeof rdkafka_find_coordinator_v2,
                                  &a, &r, &rd, &copy),
                     0);
    assert_int_equal(weir_rd_left(&rd), 0);
    assert_false(r.header.flexible);
    assert_int_equal(r.header.correlation_id, 5);
    assert_true(weir_str_eq_cstr(r.body.find_coordinator.key, "grp"));
    assert_int_equal(r.body.find_coordinator.key_type, WEIR_COORDINATOR_GROUP);
    expect_request_encodes_to(&r, rdkafka_find_coordinator_v2, sizeof rdkafka_find_coordinator_v2);
    free(copy);

    /* The transaction coordinator (KeyType 1) needs v1+: v0 would silently
     * ask for a group coordinator, so the encoder refuses. */
    weir_wr w;
    weir_wr_init(&w);
    weir_find_coordinator_request fc = {{"txn-1", 5}, WEIR_COORDINATOR_TRANSACTION};
    assert_int_equal(weir_encode_find_coordinator_request(&w, 1, &fc), 0);
    static const uint8_t v1[] = {0x00, 0x05, 't', 'x', 'n', '-', '1', 0x01};
    expect_bytes(w.buf, w.len, v1, sizeof v1);
    weir_wr_reset(&w);
    assert_int_equal(weir_encode_find_coordinator_request(&w, 0, &fc), WEIR_E_INVAL);

    /* v0 (kafka-python): the key alone, read as a group key. */
    static const uint8_t v0[] = {0x00, 0x03, 'g', 'r', 'p'};
    weir_find_coordinator_request got;
    DECODE_BODY(v0, sizeof v0, weir_decode_find_coordinator_request(&rd, 0, &a, &got));
    assert_int_equal(err, 0);
    assert_int_equal(got.key_type, WEIR_COORDINATOR_GROUP);

    /* Responses: v0 is ErrorCode, NodeId, Host, Port; v1 puts ThrottleTimeMs
     * first and ErrorMessage after the code. */
    weir_find_coordinator_response fr = {9, 0, WEIR_STR_NULL, 1, {"h", 1}, 9092};
    weir_wr_reset(&w);
    assert_int_equal(weir_encode_find_coordinator_response(&w, 0, &fr), 0);
    static const uint8_t r0[] = {0, 0, 0, 0, 0, 1, 0, 1, 'h', 0, 0, 0x23, 0x84};
    expect_bytes(w.buf, w.len, r0, sizeof r0);
    weir_wr_reset(&w);
    assert_int_equal(weir_encode_find_coordinator_response(&w, 2, &fr), 0);
    static const uint8_t r2[] = {0, 0, 0, 9, 0,   0, 0xff, 0xff, 0,   0,
                                 0, 1, 0, 1, 'h', 0, 0,    0x23, 0x84};
    expect_bytes(w.buf, w.len, r2, sizeof r2);
    weir_wr_free(&w);
    weir_arena_free(&a);
}

static void test_proto_decodes_rdkafka_join_group_v5_with_group_instance_ids(void **state)
{
    (void)state;
    weir_arena a;
    weir_arena_init(&a, 0);
    weir_request r;
    weir_rd rd;
    uint8_t *copy;
    assert_int_equal(
        decode_exact(rdkafka_join_group_v5, sizeof rdkafka_join_group_v5, &a, &r, &rd, &copy), 0);
    assert_int_equal(weir_rd_left(&rd), 0);
    const weir_join_group_request *j = &r.body.join_group;
    assert_true(weir_str_eq_cstr(j->group_id, "grp"));
    assert_int_equal(j->session_timeout_ms, 45000);
    assert_int_equal(j->rebalance_timeout_ms, 300000);
    assert_int_equal(j->member_id.len, 0);
    assert_int_equal(j->group_instance_id.len, -1);
    assert_true(weir_str_eq_cstr(j->protocol_type, "consumer"));
    assert_int_equal(j->protocol_count, 2);
    assert_true(weir_str_eq_cstr(j->protocols[1].name, "roundrobin"));
    assert_int_equal(j->protocols[1].metadata.len, 14);
    expect_request_encodes_to(&r, rdkafka_join_group_v5, sizeof rdkafka_join_group_v5);
    free(copy);

    /* The same frame cut by one byte: the error names the element. */
    assert_int_equal(
        decode_exact(rdkafka_join_group_v5, sizeof rdkafka_join_group_v5 - 1, &a, &r, &rd, &copy),
        WEIR_E_CORRUPT);
    assert_string_equal(rd.why,
                        "JoinGroup.Protocols[1].Metadata: length past the end of the frame");
    free(copy);

    /* Static membership below v5 cannot be carried: refused, not dropped. */
    weir_request r4;
    ps_request(WEIR_API_JOIN_GROUP, 4, 0, &r4);
    r4.body.join_group.group_instance_id = weir_str_from("static-1");
    weir_wr w;
    weir_wr_init(&w);
    assert_int_equal(weir_encode_join_group_request(&w, 4, &r4.body.join_group), WEIR_E_INVAL);

    /* The v5 response carries each member's GroupInstanceId between MemberId
     * and Metadata; v4 has none; v1 has no ThrottleTimeMs. */
    static const weir_join_group_member m[1] = {{{"m1", 2}, {"s1", 2}, {(const uint8_t *)"xy", 2}}};
    weir_join_group_response jr = {3, 0, 1, {"range", 5}, {"m1", 2}, {"m1", 2}, 1, m};
    static const uint8_t v5[] = {
        0, 0, 0,   3,                       /* ThrottleTimeMs */
        0, 0, 0,   0,   0,   1,             /* ErrorCode, GenerationId */
        0, 5, 'r', 'a', 'n', 'g', 'e',      /* ProtocolName */
        0, 2, 'm', '1', 0,   2,   'm', '1', /* Leader, MemberId */
        0, 0, 0,   1,   0,   2,   'm', '1', /* Members: 1, MemberId */
        0, 2, 's', '1',                     /* GroupInstanceId */
        0, 0, 0,   2,   'x', 'y',           /* Metadata */
    };
    weir_wr_reset(&w);
    assert_int_equal(weir_encode_join_group_response(&w, 5, &jr), 0);
    expect_bytes(w.buf, w.len, v5, sizeof v5);
    weir_wr_reset(&w);
    assert_int_equal(weir_encode_join_group_response(&w, 4, &jr), 0);
    assert_int_equal(w.len, sizeof v5 - 4);
    expect_bytes(w.buf + w.len - 6, 6, v5 + sizeof v5 - 6, 6);
    weir_wr_reset(&w);
    assert_int_equal(weir_encode_join_group_response(&w, 1, &jr), 0);
    assert_int_equal(w.len, sizeof v5 - 4 - 4);
    expect_bytes(w.buf, w.len - 6, v5 + 4, sizeof v5 - 4 - 4 - 6);
    expect_bytes(w.buf + w.len - 6, 6, v5 + sizeof v5 - 6, 6);
    weir_join_group_response got;
    weir_rd_init(&rd, w.buf, w.len);
    assert_int_equal(weir_decode_join_group_response(&rd, 1, &a, &got), 0);
    assert_int_equal(got.throttle_time_ms, 0);
    assert_int_equal(got.members[0].group_instance_id.len, -1);
    weir_wr_free(&w);
    weir_arena_free(&a);
}

static void test_proto_offset_commit_fields_sit_where_each_version_has_them(void **state)
{
    (void)state;
    weir_arena a;
    weir_arena_init(&a, 0);
    weir_request r;
    weir_rd rd;
    uint8_t *copy;
    assert_int_equal(decode_exact(kafka_python_offset_commit_v2,
                                  sizeof kafka_python_offset_commit_v2, &a, &r, &rd, &copy),
                     0);
    assert_int_equal(weir_rd_left(&rd), 0);
    const weir_offset_commit_request *c = &r.body.offset_commit;
    assert_int_equal(c->generation_id, 2);
    assert_true(weir_str_eq_cstr(c->member_id, "m1"));
    assert_int_equal(c->retention_time_ms, -1);
    assert_int_equal(c->group_instance_id.len, -1);
    assert_int_equal(c->topics[0].partitions[0].committed_offset, 42);
    assert_int_equal(c->topics[0].partitions[0].committed_leader_epoch, -1);
    assert_int_equal(c->topics[0].partitions[0].commit_timestamp, -1);
    assert_int_equal(c->topics[0].partitions[0].committed_metadata.len, 0);
    expect_request_encodes_to(&r, kafka_python_offset_commit_v2,
                              sizeof kafka_python_offset_commit_v2);
    free(copy);

    /* One partition {0, 42, epoch 9, timestamp 77, null}: v1 has
     * CommitTimestamp, v5 neither, v6 CommittedLeaderEpoch. */
    static const weir_offset_commit_partition p[1] = {{0, 42, 9, 77, {NULL, -1}}};
    static const weir_offset_commit_topic t[1] = {{{"t", 1}, 1, p}};
    weir_offset_commit_request oc = {{"g", 1}, 2, {"m", 1}, {NULL, -1}, 1000, 1, t};
    static const uint8_t head[] = {0, 1, 'g', 0, 0, 0, 2, 0, 1, 'm'};
    static const uint8_t part_v1[] = {0, 0, 0, 1, 0, 1,  't', 0, 0, 0, 1, 0, 0, 0,  0,    0,   0,
                                      0, 0, 0, 0, 0, 42, 0,   0, 0, 0, 0, 0, 0, 77, 0xff, 0xff};
    static const uint8_t part_v6[] = {0, 0, 0, 1, 0, 1, 't', 0,  0, 0, 1, 0, 0,    0,   0,
                                      0, 0, 0, 0, 0, 0, 0,   42, 0, 0, 0, 9, 0xff, 0xff};
    weir_wr w;
    weir_wr_init(&w);
    assert_int_equal(weir_encode_offset_commit_request(&w, 1, &oc), 0);
    expect_bytes(w.buf, sizeof head, head, sizeof head);
    expect_bytes(w.buf + sizeof head, w.len - sizeof head, part_v1, sizeof part_v1);
    weir_wr_reset(&w);
    assert_int_equal(weir_encode_offset_commit_request(&w, 5, &oc), 0);
    assert_int_equal(w.len, sizeof head + sizeof part_v6 - 4);
    weir_wr_reset(&w);
    assert_int_equal(weir_encode_offset_commit_request(&w, 6, &oc), 0);
    expect_bytes(w.buf + sizeof head, w.len - sizeof head, part_v6, sizeof part_v6);
    /* v7 adds GroupInstanceId after MemberId; below v7 a non-null one is refused. */
    weir_wr_reset(&w);
    assert_int_equal(weir_encode_offset_commit_request(&w, 7, &oc), 0);
    assert_int_equal(w.buf[sizeof head], 0xff);
    assert_int_equal(w.buf[sizeof head + 1], 0xff);
    oc.group_instance_id = weir_str_from("i");
    weir_wr_reset(&w);
    assert_int_equal(weir_encode_offset_commit_request(&w, 6, &oc), WEIR_E_INVAL);

    /* The response: ThrottleTimeMs first from v3. */
    static const weir_offset_commit_partition_response pr[1] = {{0, 22}};
    static const weir_offset_commit_topic_response tr[1] = {{{"t", 1}, 1, pr}};
    weir_offset_commit_response resp = {5, 1, tr};
    static const uint8_t resp_v2[] = {0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 1, 0, 0, 0, 0, 0, 22};
    weir_wr_reset(&w);
    assert_int_equal(weir_encode_offset_commit_response(&w, 2, &resp), 0);
    expect_bytes(w.buf, w.len, resp_v2, sizeof resp_v2);
    weir_wr_reset(&w);
    assert_int_equal(weir_encode_offset_commit_response(&w, 3, &resp), 0);
    assert_int_equal(w.len, 4 + sizeof resp_v2);
    assert_int_equal(w.buf[3], 5);
    weir_wr_free(&w);
    weir_arena_free(&a);
}

static void test_proto_offset_fetch_topics_null_from_v2_and_error_code_last(void **state)
{
    (void)state;
    weir_arena a;
    weir_arena_init(&a, 0);
    weir_rd rd;
    int err;
    weir_wr w;
    weir_wr_init(&w);
    /* null Topics (all committed offsets) is v2+ only */
    weir_offset_fetch_request all = {{"g", 1}, -1, NULL};
    assert_int_equal(weir_encode_offset_fetch_request(&w, 1, &all), WEIR_E_INVAL);
    weir_wr_reset(&w);
    assert_int_equal(weir_encode_offset_fetch_request(&w, 2, &all), 0);
    static const uint8_t null_topics[] = {0, 1, 'g', 0xff, 0xff, 0xff, 0xff};
    expect_bytes(w.buf, w.len, null_topics, sizeof null_topics);
    weir_offset_fetch_request got;
    DECODE_BODY(null_topics, sizeof null_topics,
                weir_decode_offset_fetch_request(&rd, 2, &a, &got));
    assert_int_equal(err, 0);
    assert_int_equal(got.topic_count, -1);
    DECODE_BODY(null_topics, sizeof null_topics,
                weir_decode_offset_fetch_request(&rd, 1, &a, &got));
    assert_int_equal(err, WEIR_E_CORRUPT);
    assert_string_equal(rd.why, "OffsetFetch.Topics: null array");

    /* v1 response: Topics only; v2 adds ErrorCode last; v3 ThrottleTimeMs
     * first; v5 CommittedLeaderEpoch after CommittedOffset. */
    static const weir_offset_fetch_partition_response p[1] = {{0, 42, 4, {"", 0}, 0}};
    static const weir_offset_fetch_topic_response t[1] = {{{"t", 1}, 1, p}};
    weir_offset_fetch_response resp = {6, 1, t, 14};
    static const uint8_t v1[] = {0, 0, 0, 1, 0, 1, 't', 0, 0,  0, 1, 0, 0, 0,
                                 0, 0, 0, 0, 0, 0, 0,   0, 42, 0, 0, 0, 0};
    weir_wr_reset(&w);
    assert_int_equal(weir_encode_offset_fetch_response(&w, 1, &resp), 0);
    expect_bytes(w.buf, w.len, v1, sizeof v1);
    weir_wr_reset(&w);
    assert_int_equal(weir_encode_offset_fetch_response(&w, 2, &resp), 0);
    assert_int_equal(w.len, sizeof v1 + 2);
    expect_bytes(w.buf, sizeof v1, v1, sizeof v1);
    assert_int_equal(w.buf[w.len - 1], 14);
    weir_wr_reset(&w);
    assert_int_equal(weir_encode_offset_fetch_response(&w, 5, &resp), 0);
    static const uint8_t v5[] = {0, 0, 0, 6, 0, 0, 0, 1,  0, 1, 't', 0, 0, 0, 1, 0, 0, 0, 0,
                                 0, 0, 0, 0, 0, 0, 0, 42, 0, 0, 0,   4, 0, 0, 0, 0, 0, 14};
    expect_bytes(w.buf, w.len, v5, sizeof v5);
    weir_offset_fetch_response back;
    DECODE_BODY(v1, sizeof v1, weir_decode_offset_fetch_response(&rd, 1, &a, &back));
    assert_int_equal(err, 0);
    assert_int_equal(back.topics[0].partitions[0].committed_leader_epoch, -1);
    assert_int_equal(back.error_code, 0);
    weir_wr_free(&w);
    weir_arena_free(&a);
}

static void test_proto_end_txn_v3_is_flexible_and_v5_returns_the_new_epoch(void **state)
{
    (void)state;
    static const uint8_t req_v3[] = {
        0x00, 0x1a, 0x00, 0x03, 0x00, 0x00, 0x00, 0x08,      /* key 26, v3, correlation 8 */
        0x00, 0x07, 'r',  'd',  'k',  'a',  'f',  'k',  'a', /* client id (int16 length) */
        0x00,                                                /* header tag buffer */
        0x06, 't',  'x',  'n',  '-',  '1',                   /* TransactionalId (compact) */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0f, 0xa0,      /* ProducerId 4000 */
        0x00, 0x02,                                          /* ProducerEpoch */
        0x01,                                                /* Committed */
        0x00,                                                /* body tag buffer */
    };
    weir_arena a;
    weir_arena_init(&a, 0);
    weir_request r;
    weir_rd rd;
    uint8_t *copy;
    assert_int_equal(decode_exact(req_v3, sizeof req_v3, &a, &r, &rd, &copy), 0);
    assert_true(r.header.flexible);
    assert_true(weir_str_eq_cstr(r.body.end_txn.transactional_id, "txn-1"));
    assert_int_equal(r.body.end_txn.producer_id, 4000);
    assert_int_equal(r.body.end_txn.producer_epoch, 2);
    assert_true(r.body.end_txn.committed);
    expect_request_encodes_to(&r, req_v3, sizeof req_v3);
    /* v1 (librdkafka): classic string, no tag buffers. */
    r.header.api_version = 1;
    weir_wr w;
    weir_wr_init(&w);
    assert_int_equal(weir_encode_request(&w, &r), 0);
    free(copy); /* r's strings pointed into it */
    assert_int_equal(w.len, sizeof req_v3 - 2 + 1);
    assert_int_equal(w.buf[17], 0x00);
    assert_int_equal(w.buf[18], 0x05);

    /* v5 response: header v1 (tag buffer), ProducerId and ProducerEpoch after ErrorCode. */
    proto_response resp;
    ps_response(WEIR_API_END_TXN, 5, 0, &resp);
    resp.correlation_id = 8;
    weir_wr_reset(&w);
    assert_int_equal(ps_encode_response(&w, &resp), 0);
    static const uint8_t resp_v5[] = {
        0x00, 0x00, 0x00, 0x08, 0x00,                   /* correlation id, header tags */
        0x00, 0x00, 0x00, 0x17, 0x00, 0x00,             /* ThrottleTimeMs 23, ErrorCode */
        0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, /* ProducerId */
        0x00, 0x08,                                     /* ProducerEpoch */
        0x00,                                           /* body tags */
    };
    expect_bytes(w.buf, w.len, resp_v5, sizeof resp_v5);
    /* v4 = v3: no ids; v2: no tag buffers either. */
    ps_response(WEIR_API_END_TXN, 4, 0, &resp);
    resp.correlation_id = 8;
    weir_wr_reset(&w);
    assert_int_equal(ps_encode_response(&w, &resp), 0);
    assert_int_equal(w.len, 5 + 6 + 1);
    weir_end_txn_response back;
    weir_rd_init(&rd, w.buf + 5, w.len - 5);
    assert_int_equal(weir_decode_end_txn_response(&rd, 4, &a, &back), 0);
    assert_int_equal(back.producer_id, -1);
    assert_int_equal(back.producer_epoch, -1);
    weir_wr_reset(&w);
    assert_int_equal(weir_encode_end_txn_response(&w, 2, &back), 0);
    assert_int_equal(w.len, 6);
    weir_wr_reset(&w);
    assert_int_equal(weir_encode_end_txn_response(&w, 6, &back), WEIR_E_INVAL);
    weir_wr_free(&w);
    weir_arena_free(&a);
}

static void test_proto_group_and_txn_decoders_name_the_failing_field(void **state)
{
    (void)state;
    weir_arena a;
    weir_arena_init(&a, 0);
    weir_rd rd;
    int err;

    static const uint8_t hb[] = {0, 3, 'g', 'r', 'p', 0, 0};
    weir_heartbeat_request h;
    DECODE_BODY(hb, sizeof hb, weir_decode_heartbeat_request(&rd, 3, &a, &h));
    assert_int_equal(err, WEIR_E_CORRUPT);
    assert_string_equal(rd.why, "Heartbeat.GenerationId: truncated");

    /* 2 partition indexes announced, 1 present: caught at the count. */
    static const uint8_t of[] = {0, 1, 'g', 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 2, 0, 0, 0, 0};
    weir_offset_fetch_request o;
    DECODE_BODY(of, sizeof of, weir_decode_offset_fetch_request(&rd, 1, &a, &o));
    assert_int_equal(err, WEIR_E_CORRUPT);
    assert_string_equal(
        rd.why, "OffsetFetch.Topics[0].PartitionIndexes: array count past the end of the frame");

    static const uint8_t wm[] = {
        0,   0,   0,   1,                                     /* Markers: 1 */
        0,   0,   0,   0,   0,   0,  0x0f, 0xa0, 0,   3,   1, /* ProducerId, Epoch, Result */
        0,   0,   0,   1,   0,   10, 'a',  'b',  'c', 'd', 'e',
        'f', 'g', 'h', 'i', 'j', 0,  0,    0,    0,   0,   0, /* CoordinatorEpoch: cut */
    };
    weir_write_txn_markers_request m;
    DECODE_BODY(wm, sizeof wm, weir_decode_write_txn_markers_request(&rd, 0, &a, &m));
    assert_int_equal(err, WEIR_E_CORRUPT);
    assert_string_equal(rd.why, "WriteTxnMarkers.Markers[0].CoordinatorEpoch: truncated");

    static const uint8_t sg[] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 9, 'x'};
    weir_sync_group_response s;
    DECODE_BODY(sg, sizeof sg, weir_decode_sync_group_response(&rd, 1, &a, &s));
    assert_int_equal(err, WEIR_E_CORRUPT);
    assert_string_equal(rd.why, "SyncGroupResponse.Assignment: length past the end of the frame");

    /* A null member id in a DescribeGroups response member (v4). */
    static const uint8_t dg[] = {0, 0, 0, 0, 0,    0,    0,    1, /* throttle, Groups: 1 */
                                 0, 0, 0, 1, 'g',  0,    0,    0,    0, 0, 0, /* code, id, 3 "" */
                                 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff,          /* Members: 1, null */
                                 0, 0, 0, 0, 0,    0,    0,    0,    0, 0, 0, 0, 0, 0};
    weir_describe_groups_response d;
    DECODE_BODY(dg, sizeof dg, weir_decode_describe_groups_response(&rd, 4, &a, &d));
    assert_int_equal(err, WEIR_E_CORRUPT);
    assert_string_equal(rd.why,
                        "DescribeGroupsResponse.Groups[0].Members[0].MemberId: null string");

    /* An absurd count fails before any allocation. */
    static const uint8_t tc[] = {0, 1, 't', 0, 1, 'g', 0,    0,    0,    0,
                                 0, 0, 0,   1, 0, 0,   0x7f, 0xff, 0xff, 0xff};
    weir_txn_offset_commit_request t;
    weir_arena_reset(&a);
    DECODE_BODY(tc, sizeof tc, weir_decode_txn_offset_commit_request(&rd, 2, &a, &t));
    assert_int_equal(err, WEIR_E_CORRUPT);
    assert_string_equal(rd.why, "TxnOffsetCommit.Topics: array count past the end of the frame");
    assert_int_equal(a.used_bytes, 0);
    weir_arena_free(&a);
}

static void test_proto_api_versions_advertises_group_and_txn_ranges(void **state)
{
    (void)state;
    static const struct {
        int16_t key, min, max;
    } want[] = {{8, 0, 7},  {9, 0, 5},  {10, 0, 2}, {11, 0, 5}, {12, 0, 3},
                {13, 0, 1}, {14, 0, 3}, {15, 0, 4}, {16, 0, 2}, {22, 0, 1},
                {24, 0, 1}, {25, 0, 1}, {26, 0, 5}, {27, 0, 0}, {28, 0, 2}};
    weir_api_versions_response sup;
    weir_api_versions_response_supported(&sup);
    for (int16_t v = 0; v <= 3; v++) {
        weir_wr w;
        weir_wr_init(&w);
        assert_int_equal(weir_encode_api_versions_response(&w, v, &sup), 0);
        weir_arena a;
        weir_arena_init(&a, 0);
        weir_rd rd;
        weir_rd_init(&rd, w.buf, w.len);
        weir_api_versions_response got;
        assert_int_equal(weir_decode_api_versions_response(&rd, v, &a, &got), 0);
        assert_int_equal(got.api_key_count, weir_api_table_count);
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
            int found = 0;
            for (int32_t k = 0; k < got.api_key_count; k++) {
                if (got.api_keys[k].api_key == want[i].key) {
                    /* FindCoordinator must start at 0, or librdkafka never
                     * looks up a coordinator (and disables LZ4). */
                    assert_int_equal(got.api_keys[k].min_version, want[i].min);
                    assert_int_equal(got.api_keys[k].max_version, want[i].max);
                    found++;
                }
            }
            assert_int_equal(found, 1);
        }
        weir_arena_free(&a);
        weir_wr_free(&w);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proto_table_advertises_exactly_the_planned_ranges),
        cmocka_unit_test(test_proto_kerr_names_match_kafka),
        cmocka_unit_test(test_proto_decodes_kcat_api_versions_v3),
        cmocka_unit_test(test_proto_decodes_kcat_api_versions_v0),
        cmocka_unit_test(test_proto_decodes_kcat_metadata_v4_empty_and_null_topics),
        cmocka_unit_test(test_proto_metadata_v0_empty_topics_means_all),
        cmocka_unit_test(test_proto_api_versions_v3_response_bytes),
        cmocka_unit_test(test_proto_api_versions_unsupported_reply_is_v0_with_header_v0),
        cmocka_unit_test(test_proto_fetch_empty_records_are_length_zero_never_minus_one),
        cmocka_unit_test(test_proto_produce_response_puts_throttle_last),
        cmocka_unit_test(test_proto_every_version_round_trips),
        cmocka_unit_test(test_proto_versions_outside_the_table_are_rejected),
        cmocka_unit_test(test_proto_unsupported_versions_decode_header_only),
        cmocka_unit_test(test_proto_header_keeps_correlation_id_when_client_id_is_cut),
        cmocka_unit_test(
            test_proto_response_header_has_tags_only_when_flexible_and_not_api_versions),
        cmocka_unit_test(test_proto_truncation_at_every_byte_fails_cleanly),
        cmocka_unit_test(test_proto_error_path_names_array_element),
        cmocka_unit_test(test_proto_absurd_counts_fail_fast_without_allocating),
        cmocka_unit_test(test_proto_arena_limit_reports_nomem),
        cmocka_unit_test(test_proto_reader_skips_tags_and_rejects_bad_ones),
        cmocka_unit_test(test_proto_reader_errors_are_sticky),
        cmocka_unit_test(test_proto_writer_rejects_what_the_format_cannot_hold),
        cmocka_unit_test(test_proto_uvarint_and_compact_forms),
        cmocka_unit_test(test_proto_arena_resets_and_aligns),
        cmocka_unit_test(test_proto_broker_heartbeat_uses_request_header_v2_and_response_header_v1),
        cmocka_unit_test(test_proto_broker_registration_v0_bytes_uuid_port_and_null_rack),
        cmocka_unit_test(test_proto_offset_for_leader_epoch_versions_add_fields_where_kafka_says),
        cmocka_unit_test(test_proto_alter_partition_v1_adds_leader_recovery_state),
        cmocka_unit_test(test_proto_leader_and_isr_v3_adds_adding_and_removing_replicas),
        cmocka_unit_test(test_proto_cluster_decoders_name_fields_and_refuse_absurd_counts),
        cmocka_unit_test(test_proto_cluster_versions_outside_the_table_decode_header_only),
        cmocka_unit_test(test_proto_uuid_is_sixteen_raw_bytes),
        cmocka_unit_test(test_proto_decodes_rdkafka_find_coordinator_v2),
        cmocka_unit_test(test_proto_decodes_rdkafka_join_group_v5_with_group_instance_ids),
        cmocka_unit_test(test_proto_offset_commit_fields_sit_where_each_version_has_them),
        cmocka_unit_test(test_proto_offset_fetch_topics_null_from_v2_and_error_code_last),
        cmocka_unit_test(test_proto_end_txn_v3_is_flexible_and_v5_returns_the_new_epoch),
        cmocka_unit_test(test_proto_group_and_txn_decoders_name_the_failing_field),
        cmocka_unit_test(test_proto_api_versions_advertises_group_and_txn_ranges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
