/* Sample Kafka messages for every API and version in weir_api_table, shared by
 * the codec tests (tests/unit/test_proto.c) and the fuzz target's seed writer
 * (tests/fuzz/fuzz_proto.c).
 *
 * Fields a version lacks hold the decoder's default for that version, so a
 * sample survives encode -> decode with every field equal. Variant 0 fills
 * every array with several entries; variant 1 uses empty and null arrays and
 * null strings where the version allows them. The samples point into static
 * storage, valid until the next call. The inter-broker APIs
 * (messages_cluster.h), the consumer-group APIs (messages_group.h) and the
 * transaction APIs (messages_txn.h) are sampled the same way.
 */
#ifndef WEIR_TEST_PROTO_SAMPLES_H
#define WEIR_TEST_PROTO_SAMPLES_H

#include <string.h>

#include "proto/kafka.h"
#include "proto/messages.h"
#include "proto/wire.h"

#define PS_VARIANTS 2

/* A response with its header fields, for the tests' client side. */
typedef struct proto_response {
    int16_t api_key;
    int16_t api_version;
    int32_t correlation_id;
    union {
        weir_api_versions_response api_versions;
        weir_metadata_response metadata;
        weir_produce_response produce;
        weir_fetch_response fetch;
        weir_list_offsets_response list_offsets;
        weir_create_topics_response create_topics;
        weir_delete_topics_response delete_topics;
        weir_leader_and_isr_response leader_and_isr;
        weir_offset_for_leader_epoch_response offset_for_leader_epoch;
        weir_alter_partition_response alter_partition;
        weir_broker_registration_response broker_registration;
        weir_broker_heartbeat_response broker_heartbeat;
        weir_offset_commit_response offset_commit;
        weir_offset_fetch_response offset_fetch;
        weir_find_coordinator_response find_coordinator;
        weir_join_group_response join_group;
        weir_heartbeat_response heartbeat;
        weir_leave_group_response leave_group;
        weir_sync_group_response sync_group;
        weir_describe_groups_response describe_groups;
        weir_list_groups_response list_groups;
        weir_init_producer_id_response init_producer_id;
        weir_add_partitions_to_txn_response add_partitions_to_txn;
        weir_add_offsets_to_txn_response add_offsets_to_txn;
        weir_end_txn_response end_txn;
        weir_write_txn_markers_response write_txn_markers;
        weir_txn_offset_commit_response txn_offset_commit;
    } body;
} proto_response;

#define S(lit) ((weir_str){(lit), (int32_t)(sizeof(lit) - 1)})
#define B(lit) ((weir_bytes){(const uint8_t *)(lit), (int32_t)(sizeof(lit) - 1)})

static inline void ps_request_api_versions(int16_t v, int variant, weir_api_versions_request *r)
{
    (void)variant;
    r->client_software_name = v >= 3 ? S("weir-test") : S("");
    r->client_software_version = v >= 3 ? S("0.1.0") : S("");
}

static inline void ps_request_metadata(int16_t v, int variant, weir_metadata_request *r)
{
    static weir_str topics[3];
    topics[0] = S("a");
    topics[1] = S("topic-b");
    topics[2] = S("c.d_e");
    if (variant == 0) {
        r->topic_count = 3;
        r->topics = topics;
        r->allow_auto_topic_creation = v >= 4 ? false : true;
        r->all_topics = false;
    } else {
        r->topic_count = v == 0 ? 0 : -1;
        r->topics = NULL;
        r->allow_auto_topic_creation = true;
        r->all_topics = true;
    }
}

static inline void ps_request_produce(int16_t v, int variant, weir_produce_request *r)
{
    (void)v;
    static weir_produce_partition parts[2];
    static weir_produce_topic topics[2];
    parts[0] = (weir_produce_partition){0, B("\x00\x01\x02 record batch bytes")};
    parts[1] = (weir_produce_partition){7, WEIR_BYTES_NULL};
    topics[0] = (weir_produce_topic){S("t1"), 2, parts};
    topics[1] = (weir_produce_topic){S("t2"), 0, parts};
    r->transactional_id = variant == 0 ? S("txn-1") : WEIR_STR_NULL;
    r->acks = variant == 0 ? -1 : 0;
    r->timeout_ms = 1500;
    r->topic_count = variant == 0 ? 2 : 0;
    r->topics = topics;
}

static inline void ps_request_fetch(int16_t v, int variant, weir_fetch_request *r)
{
    static weir_fetch_partition parts[2];
    static weir_fetch_topic topics[2];
    static int32_t forgotten_parts[3] = {1, 2, 3};
    static weir_fetch_forgotten_topic forgotten[1];
    parts[0] = (weir_fetch_partition){0, v >= 9 ? 4 : -1, 100, v >= 5 ? 0 : -1, 1048576};
    parts[1] = (weir_fetch_partition){2, v >= 9 ? 5 : -1, 0x123456789aLL, v >= 5 ? 17 : -1, 65536};
    topics[0] = (weir_fetch_topic){S("t1"), 2, parts};
    topics[1] = (weir_fetch_topic){S("other"), 1, parts + 1};
    forgotten[0] = (weir_fetch_forgotten_topic){S("old"), 3, forgotten_parts};
    memset(r, 0, sizeof *r);
    r->replica_id = -1;
    r->max_wait_ms = 500;
    r->min_bytes = 1;
    r->max_bytes = 52428800;
    r->isolation_level = 1;
    r->session_id = v >= 7 ? 12 : 0;
    r->session_epoch = v >= 7 ? 3 : -1;
    r->topic_count = variant == 0 ? 2 : 0;
    r->topics = topics;
    r->forgotten_count = v >= 7 && variant == 0 ? 1 : 0;
    r->forgotten = forgotten;
    r->rack_id = v >= 11 && variant == 0 ? S("rack-1") : S("");
}

static inline void ps_request_list_offsets(int16_t v, int variant, weir_list_offsets_request *r)
{
    static weir_list_offsets_partition parts[2];
    static weir_list_offsets_topic topics[1];
    parts[0] = (weir_list_offsets_partition){0, -1, v == 0 ? 5 : 1};
    parts[1] = (weir_list_offsets_partition){1, 1700000000000LL, 1};
    topics[0] = (weir_list_offsets_topic){S("t1"), 2, parts};
    r->replica_id = -1;
    r->isolation_level = v >= 2 ? 1 : 0;
    r->topic_count = variant == 0 ? 1 : 0;
    r->topics = topics;
}

static inline void ps_request_create_topics(int16_t v, int variant, weir_create_topics_request *r)
{
    static int32_t ids[4] = {1, 2, 2, 3};
    static weir_create_topics_assignment assign[2];
    static weir_create_topics_config configs[2];
    static weir_create_topics_topic topics[2];
    assign[0] = (weir_create_topics_assignment){0, 2, ids};
    assign[1] = (weir_create_topics_assignment){1, 2, ids + 2};
    configs[0] = (weir_create_topics_config){S("retention.ms"), S("1000")};
    configs[1] = (weir_create_topics_config){S("cleanup.policy"), WEIR_STR_NULL};
    topics[0] = (weir_create_topics_topic){S("new"), 3, 1, 0, assign, 2, configs};
    topics[1] = (weir_create_topics_topic){S("manual"), -1, -1, 2, assign, 0, configs};
    r->topic_count = variant == 0 ? 2 : 0;
    r->topics = topics;
    r->timeout_ms = 30000;
    r->validate_only = v >= 1 && variant == 0;
}

static inline void ps_request_delete_topics(int16_t v, int variant, weir_delete_topics_request *r)
{
    (void)v;
    static weir_str names[2];
    names[0] = S("a");
    names[1] = S("b-b");
    r->topic_name_count = variant == 0 ? 2 : 0;
    r->topic_names = names;
    r->timeout_ms = 10000;
}

/* ---- inter-broker requests ---- */

static inline void ps_request_leader_and_isr(int16_t v, int variant, weir_leader_and_isr_request *r)
{
    static int32_t ids[3] = {1, 2, 3};
    static int32_t adding[1] = {4};
    static int32_t removing[2] = {3, 2};
    static weir_leader_and_isr_partition_state parts[2];
    static weir_leader_and_isr_topic_state topics[2];
    static weir_leader_and_isr_live_leader leaders[2];
    parts[0] = (weir_leader_and_isr_partition_state){
        0, 5, 1, 7, 3, ids, 12, 3, ids, v >= 3 ? 1 : 0, adding, v >= 3 ? 2 : 0, removing, false};
    parts[1] = (weir_leader_and_isr_partition_state){3, 5,   2, 8,      2, ids + 1,  0,
                                                     3, ids, 0, adding, 0, removing, true};
    topics[0] = (weir_leader_and_isr_topic_state){S("t1"), 2, parts};
    topics[1] = (weir_leader_and_isr_topic_state){S("empty"), 0, parts};
    leaders[0] = (weir_leader_and_isr_live_leader){1, S("broker-1"), 9092};
    leaders[1] = (weir_leader_and_isr_live_leader){2, S("broker-2"), 9093};
    r->controller_id = 1;
    r->controller_epoch = 3;
    r->broker_epoch = variant == 0 ? 0x100000002LL : -1;
    r->topic_state_count = variant == 0 ? 2 : 0;
    r->topic_states = topics;
    r->live_leader_count = variant == 0 ? 2 : 0;
    r->live_leaders = leaders;
}

static inline void ps_request_offset_for_leader_epoch(int16_t v, int variant,
                                                      weir_offset_for_leader_epoch_request *r)
{
    static weir_offset_for_leader_epoch_partition parts[2];
    static weir_offset_for_leader_epoch_topic topics[2];
    parts[0] = (weir_offset_for_leader_epoch_partition){0, v >= 2 ? 7 : -1, 6};
    parts[1] = (weir_offset_for_leader_epoch_partition){1, v >= 2 ? 7 : -1, 7};
    topics[0] = (weir_offset_for_leader_epoch_topic){S("t1"), 2, parts};
    topics[1] = (weir_offset_for_leader_epoch_topic){S("t2"), 0, parts};
    r->replica_id = v >= 3 ? 2 : -2;
    r->topic_count = variant == 0 ? 2 : 0;
    r->topics = topics;
}

static inline void ps_request_alter_partition(int16_t v, int variant,
                                              weir_alter_partition_request *r)
{
    static int32_t isr[2] = {1, 2};
    static weir_alter_partition_partition parts[2];
    static weir_alter_partition_topic topics[2];
    parts[0] = (weir_alter_partition_partition){0, 7, 2, isr, v >= 1 ? 1 : 0, 12};
    parts[1] = (weir_alter_partition_partition){1, 7, 0, isr, 0, 3};
    topics[0] = (weir_alter_partition_topic){S("t1"), 2, parts};
    topics[1] = (weir_alter_partition_topic){S(""), 0, parts};
    r->broker_id = 1;
    r->broker_epoch = variant == 0 ? 0x200000001LL : -1;
    r->topic_count = variant == 0 ? 2 : 0;
    r->topics = topics;
}

static inline void ps_request_broker_registration(int16_t v, int variant,
                                                  weir_broker_registration_request *r)
{
    (void)v;
    static weir_broker_registration_listener listeners[2];
    static weir_broker_registration_feature features[1];
    listeners[0] = (weir_broker_registration_listener){S("PLAINTEXT"), S("127.0.0.1"), 9092, 0};
    listeners[1] = (weir_broker_registration_listener){S("EXTERNAL"), S("h.example"), 65535, 1};
    features[0] = (weir_broker_registration_feature){S("metadata.version"), 1, 7};
    r->broker_id = 2;
    r->cluster_id = variant == 0 ? S("weir-cluster-AbCd") : S("");
    for (int i = 0; i < 16; i++) {
        r->incarnation_id.b[i] = variant == 0 ? (uint8_t)(0xf0 + i) : 0;
    }
    r->listener_count = variant == 0 ? 2 : 0;
    r->listeners = listeners;
    r->feature_count = variant == 0 ? 1 : 0;
    r->features = features;
    r->rack = variant == 0 ? S("rack-a") : WEIR_STR_NULL;
}

static inline void ps_request_broker_heartbeat(int16_t v, int variant,
                                               weir_broker_heartbeat_request *r)
{
    (void)v;
    r->broker_id = 2;
    r->broker_epoch = variant == 0 ? 42 : -1;
    r->current_metadata_offset = variant == 0 ? 0x123456789LL : -1;
    r->want_fence = variant == 1;
    r->want_shut_down = variant == 1;
}

/* ---- consumer-group requests ---- */

static inline void ps_request_offset_commit(int16_t v, int variant, weir_offset_commit_request *r)
{
    static weir_offset_commit_partition parts[2];
    static weir_offset_commit_topic topics[2];
    parts[0] = (weir_offset_commit_partition){0, 0x123456789aLL, v >= 6 ? 9 : -1,
                                              v == 1 ? 1700000000123LL : -1, S("meta-0")};
    parts[1] =
        (weir_offset_commit_partition){3, 0, v >= 6 ? 2 : -1, v == 1 ? 5 : -1, WEIR_STR_NULL};
    topics[0] = (weir_offset_commit_topic){S("t1"), 2, parts};
    topics[1] = (weir_offset_commit_topic){S("t-empty"), 0, parts};
    r->group_id = S("grp");
    r->generation_id = v >= 1 ? (variant == 0 ? 7 : -1) : -1;
    r->member_id = v >= 1 && variant == 0 ? S("rdkafka-5f3e") : S("");
    r->group_instance_id = v >= 7 && variant == 0 ? S("static-1") : WEIR_STR_NULL;
    r->retention_time_ms = v >= 2 && v <= 4 ? (variant == 0 ? 86400000 : -1) : -1;
    r->topic_count = variant == 0 ? 2 : 0;
    r->topics = topics;
}

static inline void ps_request_offset_fetch(int16_t v, int variant, weir_offset_fetch_request *r)
{
    static int32_t parts[3] = {0, 1, 5};
    static weir_offset_fetch_topic topics[2];
    topics[0] = (weir_offset_fetch_topic){S("t1"), 3, parts};
    topics[1] = (weir_offset_fetch_topic){S("t2"), 0, parts};
    r->group_id = variant == 0 ? S("grp") : S("");
    r->topic_count = variant == 0 ? 2 : (v >= 2 ? -1 : 0);
    r->topics = variant == 0 ? topics : NULL;
}

static inline void ps_request_find_coordinator(int16_t v, int variant,
                                               weir_find_coordinator_request *r)
{
    r->key = variant == 0 ? S("txn-1") : S("grp");
    r->key_type = v >= 1 && variant == 0 ? WEIR_COORDINATOR_TRANSACTION : WEIR_COORDINATOR_GROUP;
}

static inline void ps_request_join_group(int16_t v, int variant, weir_join_group_request *r)
{
    static weir_join_group_protocol protocols[2];
    protocols[0] = (weir_join_group_protocol){S("range"), B("\x00\x01\x00\x00\x00\x01\x00\x02t1")};
    protocols[1] = (weir_join_group_protocol){S("roundrobin"), B("")};
    r->group_id = S("grp");
    r->session_timeout_ms = 45000;
    r->rebalance_timeout_ms = v >= 1 ? 300000 : -1;
    r->member_id = variant == 0 ? S("member-1") : S("");
    r->group_instance_id = v >= 5 && variant == 0 ? S("static-1") : WEIR_STR_NULL;
    r->protocol_type = S("consumer");
    r->protocol_count = variant == 0 ? 2 : 0;
    r->protocols = protocols;
}

static inline void ps_request_heartbeat(int16_t v, int variant, weir_heartbeat_request *r)
{
    r->group_id = S("grp");
    r->generation_id = variant == 0 ? 12 : -1;
    r->member_id = variant == 0 ? S("member-1") : S("");
    r->group_instance_id = v >= 3 && variant == 0 ? S("static-1") : WEIR_STR_NULL;
}

static inline void ps_request_leave_group(int16_t v, int variant, weir_leave_group_request *r)
{
    (void)v;
    r->group_id = S("grp");
    r->member_id = variant == 0 ? S("member-1") : S("");
}

static inline void ps_request_sync_group(int16_t v, int variant, weir_sync_group_request *r)
{
    static weir_sync_group_assignment assignments[2];
    assignments[0] = (weir_sync_group_assignment){S("member-1"), B("\x00\x01 assignment")};
    assignments[1] = (weir_sync_group_assignment){S("member-2"), B("")};
    r->group_id = S("grp");
    r->generation_id = variant == 0 ? 12 : 1;
    r->member_id = S("member-1");
    r->group_instance_id = v >= 3 && variant == 0 ? S("static-1") : WEIR_STR_NULL;
    r->assignment_count = variant == 0 ? 2 : 0;
    r->assignments = assignments;
}

static inline void ps_request_describe_groups(int16_t v, int variant,
                                              weir_describe_groups_request *r)
{
    static weir_str groups[2];
    groups[0] = S("grp");
    groups[1] = S("other-group");
    r->group_count = variant == 0 ? 2 : 0;
    r->groups = groups;
    r->include_authorized_operations = v >= 3 && variant == 0;
}

static inline void ps_request_list_groups(int16_t v, int variant, weir_list_groups_request *r)
{
    (void)v;
    (void)variant;
    r->unused = 0;
}

/* ---- transaction requests ---- */

static inline void ps_request_init_producer_id(int16_t v, int variant,
                                               weir_init_producer_id_request *r)
{
    (void)v;
    r->transactional_id = variant == 0 ? S("txn-1") : WEIR_STR_NULL;
    r->transaction_timeout_ms = variant == 0 ? 60000 : 2147483647;
}

static inline void ps_request_add_partitions_to_txn(int16_t v, int variant,
                                                    weir_add_partitions_to_txn_request *r)
{
    (void)v;
    static int32_t parts[3] = {0, 2, 4};
    static weir_add_partitions_to_txn_topic topics[2];
    topics[0] = (weir_add_partitions_to_txn_topic){S("t1"), 3, parts};
    topics[1] = (weir_add_partitions_to_txn_topic){S("t2"), 0, parts};
    r->transactional_id = S("txn-1");
    r->producer_id = variant == 0 ? 0x100000001LL : 0;
    r->producer_epoch = variant == 0 ? 3 : 0;
    r->topic_count = variant == 0 ? 2 : 0;
    r->topics = topics;
}

static inline void ps_request_add_offsets_to_txn(int16_t v, int variant,
                                                 weir_add_offsets_to_txn_request *r)
{
    (void)v;
    r->transactional_id = S("txn-1");
    r->producer_id = variant == 0 ? 4000 : 0;
    r->producer_epoch = variant == 0 ? 32767 : 0;
    r->group_id = variant == 0 ? S("grp") : S("");
}

static inline void ps_request_end_txn(int16_t v, int variant, weir_end_txn_request *r)
{
    (void)v;
    r->transactional_id = variant == 0 ? S("txn-1") : S("");
    r->producer_id = variant == 0 ? 0x7fffffff00000001LL : 0;
    r->producer_epoch = variant == 0 ? 5 : 0;
    r->committed = variant == 0;
}

static inline void ps_request_write_txn_markers(int16_t v, int variant,
                                                weir_write_txn_markers_request *r)
{
    (void)v;
    static int32_t parts[2] = {1, 3};
    static weir_write_txn_markers_topic topics[2];
    static weir_write_txn_markers_marker markers[2];
    topics[0] = (weir_write_txn_markers_topic){S("t1"), 2, parts};
    topics[1] = (weir_write_txn_markers_topic){S("__consumer_offsets"), 1, parts + 1};
    markers[0] = (weir_write_txn_markers_marker){4000, 3, true, 2, topics, 11};
    markers[1] = (weir_write_txn_markers_marker){4001, 0, false, 0, topics, 0};
    r->marker_count = variant == 0 ? 2 : 0;
    r->markers = markers;
}

static inline void ps_request_txn_offset_commit(int16_t v, int variant,
                                                weir_txn_offset_commit_request *r)
{
    static weir_txn_offset_commit_partition parts[2];
    static weir_txn_offset_commit_topic topics[2];
    parts[0] = (weir_txn_offset_commit_partition){0, 42, v >= 2 ? 6 : -1, S("m")};
    parts[1] = (weir_txn_offset_commit_partition){1, 0x1000000000LL, -1, WEIR_STR_NULL};
    topics[0] = (weir_txn_offset_commit_topic){S("t1"), 2, parts};
    topics[1] = (weir_txn_offset_commit_topic){S("t2"), 0, parts};
    r->transactional_id = S("txn-1");
    r->group_id = S("grp");
    r->producer_id = variant == 0 ? 4000 : 0;
    r->producer_epoch = variant == 0 ? 2 : 0;
    r->topic_count = variant == 0 ? 2 : 0;
    r->topics = topics;
}

/* A whole request (header + body) of (key, version). */
static inline void ps_request(int16_t key, int16_t v, int variant, weir_request *out)
{
    memset(out, 0, sizeof *out);
    out->header.api_key = key;
    out->header.api_version = v;
    out->header.correlation_id = 1000 + key * 16 + v;
    out->header.client_id = variant == 0 ? S("weir-client") : WEIR_STR_NULL;
    out->header.flexible = weir_api_flexible(key, v);
    switch (key) {
    case WEIR_API_API_VERSIONS:
        ps_request_api_versions(v, variant, &out->body.api_versions);
        break;
    case WEIR_API_METADATA:
        ps_request_metadata(v, variant, &out->body.metadata);
        break;
    case WEIR_API_PRODUCE:
        ps_request_produce(v, variant, &out->body.produce);
        break;
    case WEIR_API_FETCH:
        ps_request_fetch(v, variant, &out->body.fetch);
        break;
    case WEIR_API_LIST_OFFSETS:
        ps_request_list_offsets(v, variant, &out->body.list_offsets);
        break;
    case WEIR_API_CREATE_TOPICS:
        ps_request_create_topics(v, variant, &out->body.create_topics);
        break;
    case WEIR_API_DELETE_TOPICS:
        ps_request_delete_topics(v, variant, &out->body.delete_topics);
        break;
    case WEIR_API_LEADER_AND_ISR:
        ps_request_leader_and_isr(v, variant, &out->body.leader_and_isr);
        break;
    case WEIR_API_OFFSET_FOR_LEADER_EPOCH:
        ps_request_offset_for_leader_epoch(v, variant, &out->body.offset_for_leader_epoch);
        break;
    case WEIR_API_ALTER_PARTITION:
        ps_request_alter_partition(v, variant, &out->body.alter_partition);
        break;
    case WEIR_API_BROKER_REGISTRATION:
        ps_request_broker_registration(v, variant, &out->body.broker_registration);
        break;
    case WEIR_API_BROKER_HEARTBEAT:
        ps_request_broker_heartbeat(v, variant, &out->body.broker_heartbeat);
        break;
    case WEIR_API_OFFSET_COMMIT:
        ps_request_offset_commit(v, variant, &out->body.offset_commit);
        break;
    case WEIR_API_OFFSET_FETCH:
        ps_request_offset_fetch(v, variant, &out->body.offset_fetch);
        break;
    case WEIR_API_FIND_COORDINATOR:
        ps_request_find_coordinator(v, variant, &out->body.find_coordinator);
        break;
    case WEIR_API_JOIN_GROUP:
        ps_request_join_group(v, variant, &out->body.join_group);
        break;
    case WEIR_API_HEARTBEAT:
        ps_request_heartbeat(v, variant, &out->body.heartbeat);
        break;
    case WEIR_API_LEAVE_GROUP:
        ps_request_leave_group(v, variant, &out->body.leave_group);
        break;
    case WEIR_API_SYNC_GROUP:
        ps_request_sync_group(v, variant, &out->body.sync_group);
        break;
    case WEIR_API_DESCRIBE_GROUPS:
        ps_request_describe_groups(v, variant, &out->body.describe_groups);
        break;
    case WEIR_API_LIST_GROUPS:
        ps_request_list_groups(v, variant, &out->body.list_groups);
        break;
    case WEIR_API_INIT_PRODUCER_ID:
        ps_request_init_producer_id(v, variant, &out->body.init_producer_id);
        break;
    case WEIR_API_ADD_PARTITIONS_TO_TXN:
        ps_request_add_partitions_to_txn(v, variant, &out->body.add_partitions_to_txn);
        break;
    case WEIR_API_ADD_OFFSETS_TO_TXN:
        ps_request_add_offsets_to_txn(v, variant, &out->body.add_offsets_to_txn);
        break;
    case WEIR_API_END_TXN:
        ps_request_end_txn(v, variant, &out->body.end_txn);
        break;
    case WEIR_API_WRITE_TXN_MARKERS:
        ps_request_write_txn_markers(v, variant, &out->body.write_txn_markers);
        break;
    case WEIR_API_TXN_OFFSET_COMMIT:
        ps_request_txn_offset_commit(v, variant, &out->body.txn_offset_commit);
        break;
    default:
        break;
    }
}

/* ---- responses ---- */

static inline void ps_response_api_versions(int16_t v, int variant, weir_api_versions_response *r)
{
    static weir_api_range keys[64]; /* >= weir_api_table_count */
    for (int32_t i = 0; i < weir_api_table_count; i++) {
        keys[i] = weir_api_table[i];
        keys[i].flex_from = -1; /* not on the wire */
    }
    r->error_code = 0;
    r->api_key_count = variant == 0 ? weir_api_table_count : 0;
    r->api_keys = keys;
    r->throttle_time_ms = v >= 1 ? 7 : 0;
}

static inline void ps_response_metadata(int16_t v, int variant, weir_metadata_response *r)
{
    static weir_metadata_broker brokers[2];
    static int32_t replicas[2] = {1, 2};
    static weir_metadata_partition parts[2];
    static weir_metadata_topic topics[2];
    brokers[0] = (weir_metadata_broker){1, S("127.0.0.1"), 9092, v >= 1 ? S("r1") : WEIR_STR_NULL};
    brokers[1] = (weir_metadata_broker){2, S("host-2"), 9093, WEIR_STR_NULL};
    parts[0] = (weir_metadata_partition){0, 0, 1, 2, replicas, 1, replicas};
    parts[1] = (weir_metadata_partition){5, 1, -1, 0, replicas, 0, replicas};
    topics[0] = (weir_metadata_topic){0, S("t1"), false, 2, parts};
    topics[1] = (weir_metadata_topic){3, S("__missing"), v >= 1, 0, parts};
    r->throttle_time_ms = v >= 3 ? 5 : 0;
    r->broker_count = variant == 0 ? 2 : 0;
    r->brokers = brokers;
    r->cluster_id = v >= 2 && variant == 0 ? S("weir-cluster") : WEIR_STR_NULL;
    r->controller_id = v >= 1 ? 1 : -1;
    r->topic_count = variant == 0 ? 2 : 0;
    r->topics = topics;
}

static inline void ps_response_produce(int16_t v, int variant, weir_produce_response *r)
{
    static weir_produce_partition_response parts[2];
    static weir_produce_topic_response topics[2];
    parts[0] = (weir_produce_partition_response){0, 0, 100, -1, v >= 5 ? 7 : -1};
    parts[1] = (weir_produce_partition_response){1, 6, -1, 1700000000123LL, -1};
    topics[0] = (weir_produce_topic_response){S("t1"), 2, parts};
    topics[1] = (weir_produce_topic_response){S("t2"), 0, parts};
    r->topic_count = variant == 0 ? 2 : 0;
    r->topics = topics;
    r->throttle_time_ms = 3;
}

static inline void ps_response_fetch(int16_t v, int variant, weir_fetch_response *r)
{
    static weir_fetch_aborted_txn aborted[2] = {{7, 150}, {9, 160}};
    static weir_fetch_partition_response parts[2];
    static weir_fetch_topic_response topics[1];
    parts[0] = (weir_fetch_partition_response){
        0, 0, 200, 190, v >= 5 ? 10 : -1, 2, aborted, v >= 11 ? 2 : -1, B("batch-bytes")};
    parts[1] = (weir_fetch_partition_response){
        1, 1, -1, -1, -1, -1, NULL, -1, (weir_bytes){(const uint8_t *)"", 0}};
    topics[0] = (weir_fetch_topic_response){S("t1"), 2, parts};
    r->throttle_time_ms = 0;
    r->error_code = 0;
    r->session_id = v >= 7 ? 12 : 0;
    r->topic_count = variant == 0 ? 1 : 0;
    r->topics = topics;
}

static inline void ps_response_list_offsets(int16_t v, int variant, weir_list_offsets_response *r)
{
    static int64_t old[2] = {100, 0};
    static weir_list_offsets_partition_response parts[2];
    static weir_list_offsets_topic_response topics[1];
    parts[0] = (weir_list_offsets_partition_response){
        0, 0, v == 0 ? 2 : 0, old, v >= 1 ? 1700000000000LL : -1, v >= 1 ? 100 : -1};
    parts[1] = (weir_list_offsets_partition_response){1, 3, 0, old, -1, -1};
    topics[0] = (weir_list_offsets_topic_response){S("t1"), 2, parts};
    r->throttle_time_ms = v >= 2 ? 9 : 0;
    r->topic_count = variant == 0 ? 1 : 0;
    r->topics = topics;
}

static inline void ps_response_create_topics(int16_t v, int variant, weir_create_topics_response *r)
{
    static weir_create_topics_topic_response topics[2];
    topics[0] = (weir_create_topics_topic_response){S("new"), 0, WEIR_STR_NULL};
    topics[1] = (weir_create_topics_topic_response){
        S("bad"), 37, v >= 1 ? S("Number of partitions must be larger than 0.") : WEIR_STR_NULL};
    r->throttle_time_ms = v >= 2 ? 4 : 0;
    r->topic_count = variant == 0 ? 2 : 0;
    r->topics = topics;
}

static inline void ps_response_delete_topics(int16_t v, int variant, weir_delete_topics_response *r)
{
    static weir_delete_topics_topic_response rs[2];
    rs[0] = (weir_delete_topics_topic_response){S("a"), 0};
    rs[1] = (weir_delete_topics_topic_response){S("b-b"), 3};
    r->throttle_time_ms = v >= 1 ? 2 : 0;
    r->response_count = variant == 0 ? 2 : 0;
    r->responses = rs;
}

/* ---- inter-broker responses ---- */

static inline void ps_response_leader_and_isr(int16_t v, int variant,
                                              weir_leader_and_isr_response *r)
{
    (void)v;
    static weir_leader_and_isr_partition_error errs[2];
    errs[0] = (weir_leader_and_isr_partition_error){S("t1"), 0, 0};
    errs[1] = (weir_leader_and_isr_partition_error){S("t1"), 3, 56};
    r->error_code = variant == 0 ? 0 : 11; /* STALE_CONTROLLER_EPOCH */
    r->partition_error_count = variant == 0 ? 2 : 0;
    r->partition_errors = errs;
}

static inline void ps_response_offset_for_leader_epoch(int16_t v, int variant,
                                                       weir_offset_for_leader_epoch_response *r)
{
    static weir_offset_for_leader_epoch_partition_response parts[2];
    static weir_offset_for_leader_epoch_topic_response topics[2];
    parts[0] =
        (weir_offset_for_leader_epoch_partition_response){0, 0, v >= 1 ? 6 : -1, 0x123456789aLL};
    parts[1] = (weir_offset_for_leader_epoch_partition_response){74, 1, -1, -1};
    topics[0] = (weir_offset_for_leader_epoch_topic_response){S("t1"), 2, parts};
    topics[1] = (weir_offset_for_leader_epoch_topic_response){S("t2"), 0, parts};
    r->throttle_time_ms = v >= 2 ? 6 : 0;
    r->topic_count = variant == 0 ? 2 : 0;
    r->topics = topics;
}

static inline void ps_response_alter_partition(int16_t v, int variant,
                                               weir_alter_partition_response *r)
{
    static int32_t isr[2] = {1, 2};
    static weir_alter_partition_partition_response parts[2];
    static weir_alter_partition_topic_response topics[1];
    parts[0] = (weir_alter_partition_partition_response){0, 0, 1, 7, 2, isr, v >= 1 ? 1 : 0, 13};
    parts[1] = (weir_alter_partition_partition_response){1, 3, -1, -1, 0, isr, 0, -1};
    topics[0] = (weir_alter_partition_topic_response){S("t1"), 2, parts};
    r->throttle_time_ms = 8;
    r->error_code = variant == 0 ? 0 : 41; /* NOT_CONTROLLER */
    r->topic_count = variant == 0 ? 1 : 0;
    r->topics = topics;
}

static inline void ps_response_broker_registration(int16_t v, int variant,
                                                   weir_broker_registration_response *r)
{
    (void)v;
    r->throttle_time_ms = 0;
    r->error_code = variant == 0 ? 0 : 41;
    r->broker_epoch = variant == 0 ? 0x7000000000000001LL : -1;
}

static inline void ps_response_broker_heartbeat(int16_t v, int variant,
                                                weir_broker_heartbeat_response *r)
{
    (void)v;
    r->throttle_time_ms = 1;
    r->error_code = 0;
    r->is_caught_up = variant == 0;
    r->is_fenced = variant == 1;
    r->should_shut_down = variant == 1;
}

/* ---- consumer-group responses ---- */

static inline void ps_response_offset_commit(int16_t v, int variant, weir_offset_commit_response *r)
{
    static weir_offset_commit_partition_response parts[2];
    static weir_offset_commit_topic_response topics[2];
    parts[0] = (weir_offset_commit_partition_response){0, 0};
    parts[1] = (weir_offset_commit_partition_response){3, 22}; /* ILLEGAL_GENERATION */
    topics[0] = (weir_offset_commit_topic_response){S("t1"), 2, parts};
    topics[1] = (weir_offset_commit_topic_response){S("t2"), 0, parts};
    r->throttle_time_ms = v >= 3 ? 11 : 0;
    r->topic_count = variant == 0 ? 2 : 0;
    r->topics = topics;
}

static inline void ps_response_offset_fetch(int16_t v, int variant, weir_offset_fetch_response *r)
{
    static weir_offset_fetch_partition_response parts[2];
    static weir_offset_fetch_topic_response topics[2];
    parts[0] =
        (weir_offset_fetch_partition_response){0, 0x123456789aLL, v >= 5 ? 4 : -1, S("meta"), 0};
    parts[1] = (weir_offset_fetch_partition_response){1, -1, -1, WEIR_STR_NULL, 3};
    topics[0] = (weir_offset_fetch_topic_response){S("t1"), 2, parts};
    topics[1] = (weir_offset_fetch_topic_response){S("t2"), 0, parts};
    r->throttle_time_ms = v >= 3 ? 12 : 0;
    r->topic_count = variant == 0 ? 2 : 0;
    r->topics = topics;
    r->error_code = v >= 2 && variant == 1 ? 14 : 0; /* COORDINATOR_LOAD_IN_PROGRESS */
}

static inline void ps_response_find_coordinator(int16_t v, int variant,
                                                weir_find_coordinator_response *r)
{
    r->throttle_time_ms = v >= 1 ? 13 : 0;
    r->error_code = variant == 0 ? 0 : 15; /* COORDINATOR_NOT_AVAILABLE */
    r->error_message =
        v >= 1 && variant == 1 ? S("The coordinator is not available.") : WEIR_STR_NULL;
    r->node_id = variant == 0 ? 2 : -1;
    r->host = variant == 0 ? S("127.0.0.1") : S("");
    r->port = variant == 0 ? 9093 : -1;
}

static inline void ps_response_join_group(int16_t v, int variant, weir_join_group_response *r)
{
    static weir_join_group_member members[2];
    members[0] = (weir_join_group_member){S("member-1"), v >= 5 ? S("static-1") : WEIR_STR_NULL,
                                          B("\x00\x01 subscription")};
    members[1] = (weir_join_group_member){S("member-2"), WEIR_STR_NULL, B("")};
    r->throttle_time_ms = v >= 2 ? 14 : 0;
    r->error_code = variant == 0 ? 0 : 79; /* MEMBER_ID_REQUIRED */
    r->generation_id = variant == 0 ? 3 : -1;
    r->protocol_name = variant == 0 ? S("range") : S("");
    r->leader = variant == 0 ? S("member-1") : S("");
    r->member_id = variant == 0 ? S("member-1") : S("member-new");
    r->member_count = variant == 0 ? 2 : 0;
    r->members = members;
}

static inline void ps_response_heartbeat(int16_t v, int variant, weir_heartbeat_response *r)
{
    r->throttle_time_ms = v >= 1 ? 15 : 0;
    r->error_code = variant == 0 ? 0 : 27; /* REBALANCE_IN_PROGRESS */
}

static inline void ps_response_leave_group(int16_t v, int variant, weir_leave_group_response *r)
{
    r->throttle_time_ms = v >= 1 ? 16 : 0;
    r->error_code = variant == 0 ? 0 : 25; /* UNKNOWN_MEMBER_ID */
}

static inline void ps_response_sync_group(int16_t v, int variant, weir_sync_group_response *r)
{
    r->throttle_time_ms = v >= 1 ? 17 : 0;
    r->error_code = variant == 0 ? 0 : 27;
    r->assignment = variant == 0 ? B("\x00\x01\x00\x00\x00\x01\x00\x02t1") : B("");
}

static inline void ps_response_describe_groups(int16_t v, int variant,
                                               weir_describe_groups_response *r)
{
    static weir_describe_groups_member members[2];
    static weir_describe_groups_group groups[2];
    members[0] =
        (weir_describe_groups_member){S("member-1"),      v >= 4 ? S("static-1") : WEIR_STR_NULL,
                                      S("rdkafka"),       S("/127.0.0.1"),
                                      B("\x00\x01 meta"), B("\x00\x01 assign")};
    members[1] =
        (weir_describe_groups_member){S("member-2"), WEIR_STR_NULL, S(""), S(""), B(""), B("")};
    groups[0] =
        (weir_describe_groups_group){0,          S("grp"), S("Stable"), S("consumer"),
                                     S("range"), 2,        members,     v >= 3 ? 0x7f8 : INT32_MIN};
    groups[1] =
        (weir_describe_groups_group){69, S("gone"), S("Dead"), S(""), S(""), 0, members, INT32_MIN};
    r->throttle_time_ms = v >= 1 ? 18 : 0;
    r->group_count = variant == 0 ? 2 : 0;
    r->groups = groups;
}

static inline void ps_response_list_groups(int16_t v, int variant, weir_list_groups_response *r)
{
    static weir_list_groups_group groups[2];
    groups[0] = (weir_list_groups_group){S("grp"), S("consumer")};
    groups[1] = (weir_list_groups_group){S("empty-group"), S("")};
    r->throttle_time_ms = v >= 1 ? 19 : 0;
    r->error_code = variant == 0 ? 0 : 14;
    r->group_count = variant == 0 ? 2 : 0;
    r->groups = groups;
}

/* ---- transaction responses ---- */

static inline void ps_response_init_producer_id(int16_t v, int variant,
                                                weir_init_producer_id_response *r)
{
    (void)v;
    r->throttle_time_ms = 20;
    r->error_code = variant == 0 ? 0 : 51; /* CONCURRENT_TRANSACTIONS */
    r->producer_id = variant == 0 ? 0x100000001LL : -1;
    r->producer_epoch = variant == 0 ? 7 : -1;
}

static inline void ps_response_add_partitions_to_txn(int16_t v, int variant,
                                                     weir_add_partitions_to_txn_response *r)
{
    (void)v;
    static weir_add_partitions_to_txn_partition_result parts[2];
    static weir_add_partitions_to_txn_topic_result topics[2];
    parts[0] = (weir_add_partitions_to_txn_partition_result){0, 0};
    parts[1] = (weir_add_partitions_to_txn_partition_result){2, 48}; /* INVALID_TXN_STATE */
    topics[0] = (weir_add_partitions_to_txn_topic_result){S("t1"), 2, parts};
    topics[1] = (weir_add_partitions_to_txn_topic_result){S("t2"), 0, parts};
    r->throttle_time_ms = 21;
    r->result_count = variant == 0 ? 2 : 0;
    r->results = topics;
}

static inline void ps_response_add_offsets_to_txn(int16_t v, int variant,
                                                  weir_add_offsets_to_txn_response *r)
{
    (void)v;
    r->throttle_time_ms = 22;
    r->error_code = variant == 0 ? 0 : 47; /* INVALID_PRODUCER_EPOCH */
}

static inline void ps_response_end_txn(int16_t v, int variant, weir_end_txn_response *r)
{
    r->throttle_time_ms = 23;
    r->error_code = variant == 0 ? 0 : 120; /* TRANSACTION_ABORTABLE */
    r->producer_id = v >= 5 && variant == 0 ? 0x100000001LL : -1;
    r->producer_epoch = v >= 5 && variant == 0 ? 8 : -1;
}

static inline void ps_response_write_txn_markers(int16_t v, int variant,
                                                 weir_write_txn_markers_response *r)
{
    (void)v;
    static weir_write_txn_markers_partition_result parts[2];
    static weir_write_txn_markers_topic_result topics[2];
    static weir_write_txn_markers_marker_result markers[2];
    parts[0] = (weir_write_txn_markers_partition_result){1, 0};
    parts[1] = (weir_write_txn_markers_partition_result){3, 6}; /* NOT_LEADER_OR_FOLLOWER */
    topics[0] = (weir_write_txn_markers_topic_result){S("t1"), 2, parts};
    topics[1] = (weir_write_txn_markers_topic_result){S("t2"), 0, parts};
    markers[0] = (weir_write_txn_markers_marker_result){4000, 2, topics};
    markers[1] = (weir_write_txn_markers_marker_result){4001, 0, topics};
    r->marker_count = variant == 0 ? 2 : 0;
    r->markers = markers;
}

static inline void ps_response_txn_offset_commit(int16_t v, int variant,
                                                 weir_txn_offset_commit_response *r)
{
    (void)v;
    static weir_txn_offset_commit_partition_response parts[2];
    static weir_txn_offset_commit_topic_response topics[2];
    parts[0] = (weir_txn_offset_commit_partition_response){0, 0};
    parts[1] = (weir_txn_offset_commit_partition_response){1, 16}; /* NOT_COORDINATOR */
    topics[0] = (weir_txn_offset_commit_topic_response){S("t1"), 2, parts};
    topics[1] = (weir_txn_offset_commit_topic_response){S("t2"), 0, parts};
    r->throttle_time_ms = 24;
    r->topic_count = variant == 0 ? 2 : 0;
    r->topics = topics;
}

static inline void ps_response(int16_t key, int16_t v, int variant, proto_response *out)
{
    memset(out, 0, sizeof *out);
    out->api_key = key;
    out->api_version = v;
    out->correlation_id = 2000 + key * 16 + v;
    switch (key) {
    case WEIR_API_API_VERSIONS:
        ps_response_api_versions(v, variant, &out->body.api_versions);
        break;
    case WEIR_API_METADATA:
        ps_response_metadata(v, variant, &out->body.metadata);
        break;
    case WEIR_API_PRODUCE:
        ps_response_produce(v, variant, &out->body.produce);
        break;
    case WEIR_API_FETCH:
        ps_response_fetch(v, variant, &out->body.fetch);
        break;
    case WEIR_API_LIST_OFFSETS:
        ps_response_list_offsets(v, variant, &out->body.list_offsets);
        break;
    case WEIR_API_CREATE_TOPICS:
        ps_response_create_topics(v, variant, &out->body.create_topics);
        break;
    case WEIR_API_DELETE_TOPICS:
        ps_response_delete_topics(v, variant, &out->body.delete_topics);
        break;
    case WEIR_API_LEADER_AND_ISR:
        ps_response_leader_and_isr(v, variant, &out->body.leader_and_isr);
        break;
    case WEIR_API_OFFSET_FOR_LEADER_EPOCH:
        ps_response_offset_for_leader_epoch(v, variant, &out->body.offset_for_leader_epoch);
        break;
    case WEIR_API_ALTER_PARTITION:
        ps_response_alter_partition(v, variant, &out->body.alter_partition);
        break;
    case WEIR_API_BROKER_REGISTRATION:
        ps_response_broker_registration(v, variant, &out->body.broker_registration);
        break;
    case WEIR_API_BROKER_HEARTBEAT:
        ps_response_broker_heartbeat(v, variant, &out->body.broker_heartbeat);
        break;
    case WEIR_API_OFFSET_COMMIT:
        ps_response_offset_commit(v, variant, &out->body.offset_commit);
        break;
    case WEIR_API_OFFSET_FETCH:
        ps_response_offset_fetch(v, variant, &out->body.offset_fetch);
        break;
    case WEIR_API_FIND_COORDINATOR:
        ps_response_find_coordinator(v, variant, &out->body.find_coordinator);
        break;
    case WEIR_API_JOIN_GROUP:
        ps_response_join_group(v, variant, &out->body.join_group);
        break;
    case WEIR_API_HEARTBEAT:
        ps_response_heartbeat(v, variant, &out->body.heartbeat);
        break;
    case WEIR_API_LEAVE_GROUP:
        ps_response_leave_group(v, variant, &out->body.leave_group);
        break;
    case WEIR_API_SYNC_GROUP:
        ps_response_sync_group(v, variant, &out->body.sync_group);
        break;
    case WEIR_API_DESCRIBE_GROUPS:
        ps_response_describe_groups(v, variant, &out->body.describe_groups);
        break;
    case WEIR_API_LIST_GROUPS:
        ps_response_list_groups(v, variant, &out->body.list_groups);
        break;
    case WEIR_API_INIT_PRODUCER_ID:
        ps_response_init_producer_id(v, variant, &out->body.init_producer_id);
        break;
    case WEIR_API_ADD_PARTITIONS_TO_TXN:
        ps_response_add_partitions_to_txn(v, variant, &out->body.add_partitions_to_txn);
        break;
    case WEIR_API_ADD_OFFSETS_TO_TXN:
        ps_response_add_offsets_to_txn(v, variant, &out->body.add_offsets_to_txn);
        break;
    case WEIR_API_END_TXN:
        ps_response_end_txn(v, variant, &out->body.end_txn);
        break;
    case WEIR_API_WRITE_TXN_MARKERS:
        ps_response_write_txn_markers(v, variant, &out->body.write_txn_markers);
        break;
    case WEIR_API_TXN_OFFSET_COMMIT:
        ps_response_txn_offset_commit(v, variant, &out->body.txn_offset_commit);
        break;
    default:
        break;
    }
}

/* Response header + body. */
static inline int ps_encode_response(weir_wr *w, const proto_response *r)
{
    int16_t v = r->api_version;
    int err = weir_encode_response_header(w, r->api_key, v, r->correlation_id);
    if (err != 0) {
        return err;
    }
    switch (r->api_key) {
    case WEIR_API_API_VERSIONS:
        return weir_encode_api_versions_response(w, v, &r->body.api_versions);
    case WEIR_API_METADATA:
        return weir_encode_metadata_response(w, v, &r->body.metadata);
    case WEIR_API_PRODUCE:
        return weir_encode_produce_response(w, v, &r->body.produce);
    case WEIR_API_FETCH:
        return weir_encode_fetch_response(w, v, &r->body.fetch);
    case WEIR_API_LIST_OFFSETS:
        return weir_encode_list_offsets_response(w, v, &r->body.list_offsets);
    case WEIR_API_CREATE_TOPICS:
        return weir_encode_create_topics_response(w, v, &r->body.create_topics);
    case WEIR_API_DELETE_TOPICS:
        return weir_encode_delete_topics_response(w, v, &r->body.delete_topics);
    case WEIR_API_LEADER_AND_ISR:
        return weir_encode_leader_and_isr_response(w, v, &r->body.leader_and_isr);
    case WEIR_API_OFFSET_FOR_LEADER_EPOCH:
        return weir_encode_offset_for_leader_epoch_response(w, v, &r->body.offset_for_leader_epoch);
    case WEIR_API_ALTER_PARTITION:
        return weir_encode_alter_partition_response(w, v, &r->body.alter_partition);
    case WEIR_API_BROKER_REGISTRATION:
        return weir_encode_broker_registration_response(w, v, &r->body.broker_registration);
    case WEIR_API_BROKER_HEARTBEAT:
        return weir_encode_broker_heartbeat_response(w, v, &r->body.broker_heartbeat);
    case WEIR_API_OFFSET_COMMIT:
        return weir_encode_offset_commit_response(w, v, &r->body.offset_commit);
    case WEIR_API_OFFSET_FETCH:
        return weir_encode_offset_fetch_response(w, v, &r->body.offset_fetch);
    case WEIR_API_FIND_COORDINATOR:
        return weir_encode_find_coordinator_response(w, v, &r->body.find_coordinator);
    case WEIR_API_JOIN_GROUP:
        return weir_encode_join_group_response(w, v, &r->body.join_group);
    case WEIR_API_HEARTBEAT:
        return weir_encode_heartbeat_response(w, v, &r->body.heartbeat);
    case WEIR_API_LEAVE_GROUP:
        return weir_encode_leave_group_response(w, v, &r->body.leave_group);
    case WEIR_API_SYNC_GROUP:
        return weir_encode_sync_group_response(w, v, &r->body.sync_group);
    case WEIR_API_DESCRIBE_GROUPS:
        return weir_encode_describe_groups_response(w, v, &r->body.describe_groups);
    case WEIR_API_LIST_GROUPS:
        return weir_encode_list_groups_response(w, v, &r->body.list_groups);
    case WEIR_API_INIT_PRODUCER_ID:
        return weir_encode_init_producer_id_response(w, v, &r->body.init_producer_id);
    case WEIR_API_ADD_PARTITIONS_TO_TXN:
        return weir_encode_add_partitions_to_txn_response(w, v, &r->body.add_partitions_to_txn);
    case WEIR_API_ADD_OFFSETS_TO_TXN:
        return weir_encode_add_offsets_to_txn_response(w, v, &r->body.add_offsets_to_txn);
    case WEIR_API_END_TXN:
        return weir_encode_end_txn_response(w, v, &r->body.end_txn);
    case WEIR_API_WRITE_TXN_MARKERS:
        return weir_encode_write_txn_markers_response(w, v, &r->body.write_txn_markers);
    case WEIR_API_TXN_OFFSET_COMMIT:
        return weir_encode_txn_offset_commit_response(w, v, &r->body.txn_offset_commit);
    default:
        return WEIR_E_INVAL;
    }
}

/* Decodes the body only (the header already read or absent). */
static inline int ps_decode_response_body(weir_rd *rd, weir_arena *a, int16_t key, int16_t v,
                                          proto_response *out)
{
    out->api_key = key;
    out->api_version = v;
    switch (key) {
    case WEIR_API_API_VERSIONS:
        return weir_decode_api_versions_response(rd, v, a, &out->body.api_versions);
    case WEIR_API_METADATA:
        return weir_decode_metadata_response(rd, v, a, &out->body.metadata);
    case WEIR_API_PRODUCE:
        return weir_decode_produce_response(rd, v, a, &out->body.produce);
    case WEIR_API_FETCH:
        return weir_decode_fetch_response(rd, v, a, &out->body.fetch);
    case WEIR_API_LIST_OFFSETS:
        return weir_decode_list_offsets_response(rd, v, a, &out->body.list_offsets);
    case WEIR_API_CREATE_TOPICS:
        return weir_decode_create_topics_response(rd, v, a, &out->body.create_topics);
    case WEIR_API_DELETE_TOPICS:
        return weir_decode_delete_topics_response(rd, v, a, &out->body.delete_topics);
    case WEIR_API_LEADER_AND_ISR:
        return weir_decode_leader_and_isr_response(rd, v, a, &out->body.leader_and_isr);
    case WEIR_API_OFFSET_FOR_LEADER_EPOCH:
        return weir_decode_offset_for_leader_epoch_response(rd, v, a,
                                                            &out->body.offset_for_leader_epoch);
    case WEIR_API_ALTER_PARTITION:
        return weir_decode_alter_partition_response(rd, v, a, &out->body.alter_partition);
    case WEIR_API_BROKER_REGISTRATION:
        return weir_decode_broker_registration_response(rd, v, a, &out->body.broker_registration);
    case WEIR_API_BROKER_HEARTBEAT:
        return weir_decode_broker_heartbeat_response(rd, v, a, &out->body.broker_heartbeat);
    case WEIR_API_OFFSET_COMMIT:
        return weir_decode_offset_commit_response(rd, v, a, &out->body.offset_commit);
    case WEIR_API_OFFSET_FETCH:
        return weir_decode_offset_fetch_response(rd, v, a, &out->body.offset_fetch);
    case WEIR_API_FIND_COORDINATOR:
        return weir_decode_find_coordinator_response(rd, v, a, &out->body.find_coordinator);
    case WEIR_API_JOIN_GROUP:
        return weir_decode_join_group_response(rd, v, a, &out->body.join_group);
    case WEIR_API_HEARTBEAT:
        return weir_decode_heartbeat_response(rd, v, a, &out->body.heartbeat);
    case WEIR_API_LEAVE_GROUP:
        return weir_decode_leave_group_response(rd, v, a, &out->body.leave_group);
    case WEIR_API_SYNC_GROUP:
        return weir_decode_sync_group_response(rd, v, a, &out->body.sync_group);
    case WEIR_API_DESCRIBE_GROUPS:
        return weir_decode_describe_groups_response(rd, v, a, &out->body.describe_groups);
    case WEIR_API_LIST_GROUPS:
        return weir_decode_list_groups_response(rd, v, a, &out->body.list_groups);
    case WEIR_API_INIT_PRODUCER_ID:
        return weir_decode_init_producer_id_response(rd, v, a, &out->body.init_producer_id);
    case WEIR_API_ADD_PARTITIONS_TO_TXN:
        return weir_decode_add_partitions_to_txn_response(rd, v, a,
                                                          &out->body.add_partitions_to_txn);
    case WEIR_API_ADD_OFFSETS_TO_TXN:
        return weir_decode_add_offsets_to_txn_response(rd, v, a, &out->body.add_offsets_to_txn);
    case WEIR_API_END_TXN:
        return weir_decode_end_txn_response(rd, v, a, &out->body.end_txn);
    case WEIR_API_WRITE_TXN_MARKERS:
        return weir_decode_write_txn_markers_response(rd, v, a, &out->body.write_txn_markers);
    case WEIR_API_TXN_OFFSET_COMMIT:
        return weir_decode_txn_offset_commit_response(rd, v, a, &out->body.txn_offset_commit);
    default:
        return WEIR_E_INVAL;
    }
}

static inline int ps_decode_response(weir_rd *rd, weir_arena *a, int16_t key, int16_t v,
                                     proto_response *out)
{
    memset(out, 0, sizeof *out);
    int err = weir_decode_response_header(rd, key, v, &out->correlation_id);
    if (err != 0) {
        return err;
    }
    return ps_decode_response_body(rd, a, key, v, out);
}

#undef S
#undef B

#endif
