/* The inter-broker Kafka messages: what weir's replication and controller
 * speak between nodes, with the same codec (and the same rules) as the
 * client APIs in messages.h, which includes this header.
 *
 *   LeaderAndIsr (4) v2-v3            controller -> broker: partition leaders and ISRs
 *   OffsetForLeaderEpoch (23) v0-v3   follower -> leader: end offset of an epoch (KIP-101)
 *   AlterPartition (56) v0-v1         leader -> controller: a new ISR (flexible)
 *   BrokerRegistration (62) v0        broker -> controller: join, get an epoch (flexible)
 *   BrokerHeartbeat (63) v0           broker -> controller: keep the lease (flexible)
 *
 * Every API has plain structs and the four functions of messages.h, with the
 * same contracts: decoders give views into the frame and arrays from the
 * arena and name the failing field in rd->why ("LeaderAndIsr.TopicStates[0].
 * PartitionStates[2].Isr: truncated"); encoders write exactly the fields of
 * the version and return WEIR_E_INVAL for a version outside weir_api_table or
 * a value it cannot carry. In flexible versions strings and arrays are the
 * compact forms and every struct ends with a tag buffer; decoders skip the
 * tagged fields (none of them is used), encoders write empty ones.
 * No array of these messages is nullable: a count of -1 is WEIR_E_INVAL
 * when encoding and "null array" when decoding.
 */
#ifndef WEIR_PROTO_MESSAGES_CLUSTER_H
#define WEIR_PROTO_MESSAGES_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "proto/kafka.h"
#include "proto/wire.h"

/* ---- LeaderAndIsr (4), v2-v3 ---- */

typedef struct weir_leader_and_isr_partition_state {
    int32_t partition_index;
    int32_t controller_epoch;
    int32_t leader; /* broker id */
    int32_t leader_epoch;
    int32_t isr_count;
    const int32_t *isr; /* broker ids */
    int32_t zk_version; /* the partition epoch */
    int32_t replica_count;
    const int32_t *replicas;
    int32_t adding_replica_count; /* v3+; 0 before */
    const int32_t *adding_replicas;
    int32_t removing_replica_count; /* v3+; 0 before */
    const int32_t *removing_replicas;
    bool is_new; /* the replica did not exist on the broker before */
} weir_leader_and_isr_partition_state;

typedef struct weir_leader_and_isr_topic_state {
    weir_str topic_name;
    int32_t partition_state_count;
    const weir_leader_and_isr_partition_state *partition_states;
} weir_leader_and_isr_topic_state;

typedef struct weir_leader_and_isr_live_leader {
    int32_t broker_id;
    weir_str host_name;
    int32_t port;
} weir_leader_and_isr_live_leader;

typedef struct weir_leader_and_isr_request {
    int32_t controller_id;
    int32_t controller_epoch;
    int64_t broker_epoch; /* v2+ (all of ours); -1: not known */
    int32_t topic_state_count;
    const weir_leader_and_isr_topic_state *topic_states;
    int32_t live_leader_count;
    const weir_leader_and_isr_live_leader *live_leaders;
} weir_leader_and_isr_request;

typedef struct weir_leader_and_isr_partition_error {
    weir_str topic_name;
    int32_t partition_index;
    int16_t error_code;
} weir_leader_and_isr_partition_error;

typedef struct weir_leader_and_isr_response {
    int16_t error_code;
    int32_t partition_error_count;
    const weir_leader_and_isr_partition_error *partition_errors;
} weir_leader_and_isr_response;

WEIR_MUST_CHECK int weir_decode_leader_and_isr_request(weir_rd *rd, int16_t version, weir_arena *a,
                                                       weir_leader_and_isr_request *out);
WEIR_MUST_CHECK int weir_encode_leader_and_isr_response(weir_wr *w, int16_t version,
                                                        const weir_leader_and_isr_response *r);
WEIR_MUST_CHECK int weir_encode_leader_and_isr_request(weir_wr *w, int16_t version,
                                                       const weir_leader_and_isr_request *r);
WEIR_MUST_CHECK int weir_decode_leader_and_isr_response(weir_rd *rd, int16_t version, weir_arena *a,
                                                        weir_leader_and_isr_response *out);

/* ---- OffsetForLeaderEpoch (23), v0-v3 ---- */

typedef struct weir_offset_for_leader_epoch_partition {
    int32_t partition_index;
    int32_t current_leader_epoch; /* v2+ (fencing); -1 before */
    int32_t leader_epoch;         /* the epoch whose end offset is wanted */
} weir_offset_for_leader_epoch_partition;

typedef struct weir_offset_for_leader_epoch_topic {
    weir_str name;
    int32_t partition_count;
    const weir_offset_for_leader_epoch_partition *partitions;
} weir_offset_for_leader_epoch_topic;

typedef struct weir_offset_for_leader_epoch_request {
    /* v3+: the follower's broker id, -1 for a consumer; -2 before (Kafka's
     * default, a "debug" consumer that may read past the high watermark) */
    int32_t replica_id;
    int32_t topic_count;
    const weir_offset_for_leader_epoch_topic *topics;
} weir_offset_for_leader_epoch_request;

typedef struct weir_offset_for_leader_epoch_partition_response {
    int16_t error_code;
    int32_t partition_index;
    int32_t leader_epoch; /* v1+: the largest epoch <= the one asked; -1 before */
    int64_t end_offset;   /* start of the next epoch, or the LEO for the latest */
} weir_offset_for_leader_epoch_partition_response;

typedef struct weir_offset_for_leader_epoch_topic_response {
    weir_str name;
    int32_t partition_count;
    const weir_offset_for_leader_epoch_partition_response *partitions;
} weir_offset_for_leader_epoch_topic_response;

typedef struct weir_offset_for_leader_epoch_response {
    int32_t throttle_time_ms; /* v2+ (first field); 0 before */
    int32_t topic_count;
    const weir_offset_for_leader_epoch_topic_response *topics;
} weir_offset_for_leader_epoch_response;

WEIR_MUST_CHECK int
weir_decode_offset_for_leader_epoch_request(weir_rd *rd, int16_t version, weir_arena *a,
                                            weir_offset_for_leader_epoch_request *out);
WEIR_MUST_CHECK int
weir_encode_offset_for_leader_epoch_response(weir_wr *w, int16_t version,
                                             const weir_offset_for_leader_epoch_response *r);
WEIR_MUST_CHECK int
weir_encode_offset_for_leader_epoch_request(weir_wr *w, int16_t version,
                                            const weir_offset_for_leader_epoch_request *r);
WEIR_MUST_CHECK int
weir_decode_offset_for_leader_epoch_response(weir_rd *rd, int16_t version, weir_arena *a,
                                             weir_offset_for_leader_epoch_response *out);

/* ---- AlterPartition (56), v0-v1, flexible ---- */

typedef struct weir_alter_partition_partition {
    int32_t partition_index;
    int32_t leader_epoch;
    int32_t new_isr_count;
    const int32_t *new_isr;       /* broker ids */
    int8_t leader_recovery_state; /* v1+: 1 recovering from an unclean election; 0 before */
    int32_t partition_epoch;      /* the epoch expected to be updated */
} weir_alter_partition_partition;

typedef struct weir_alter_partition_topic {
    weir_str name;
    int32_t partition_count;
    const weir_alter_partition_partition *partitions;
} weir_alter_partition_topic;

typedef struct weir_alter_partition_request {
    int32_t broker_id;
    int64_t broker_epoch;
    int32_t topic_count;
    const weir_alter_partition_topic *topics;
} weir_alter_partition_request;

typedef struct weir_alter_partition_partition_response {
    int32_t partition_index;
    int16_t error_code;
    int32_t leader_id;
    int32_t leader_epoch;
    int32_t isr_count;
    const int32_t *isr;
    int8_t leader_recovery_state; /* v1+; 0 before */
    int32_t partition_epoch;
} weir_alter_partition_partition_response;

typedef struct weir_alter_partition_topic_response {
    weir_str name;
    int32_t partition_count;
    const weir_alter_partition_partition_response *partitions;
} weir_alter_partition_topic_response;

typedef struct weir_alter_partition_response {
    int32_t throttle_time_ms;
    int16_t error_code;
    int32_t topic_count;
    const weir_alter_partition_topic_response *topics;
} weir_alter_partition_response;

WEIR_MUST_CHECK int weir_decode_alter_partition_request(weir_rd *rd, int16_t version, weir_arena *a,
                                                        weir_alter_partition_request *out);
WEIR_MUST_CHECK int weir_encode_alter_partition_response(weir_wr *w, int16_t version,
                                                         const weir_alter_partition_response *r);
WEIR_MUST_CHECK int weir_encode_alter_partition_request(weir_wr *w, int16_t version,
                                                        const weir_alter_partition_request *r);
WEIR_MUST_CHECK int weir_decode_alter_partition_response(weir_rd *rd, int16_t version,
                                                         weir_arena *a,
                                                         weir_alter_partition_response *out);

/* ---- BrokerRegistration (62), v0, flexible ---- */

typedef struct weir_broker_registration_listener {
    weir_str name; /* "PLAINTEXT" */
    weir_str host;
    uint16_t port;             /* uint16 on the wire */
    int16_t security_protocol; /* 0 PLAINTEXT, 1 SSL, 2 SASL_PLAINTEXT, 3 SASL_SSL */
} weir_broker_registration_listener;

typedef struct weir_broker_registration_feature {
    weir_str name;
    int16_t min_supported_version;
    int16_t max_supported_version;
} weir_broker_registration_feature;

typedef struct weir_broker_registration_request {
    int32_t broker_id;
    weir_str cluster_id;
    weir_uuid incarnation_id; /* new on every start of the broker process */
    int32_t listener_count;
    const weir_broker_registration_listener *listeners;
    int32_t feature_count;
    const weir_broker_registration_feature *features;
    weir_str rack; /* nullable */
} weir_broker_registration_request;

typedef struct weir_broker_registration_response {
    int32_t throttle_time_ms;
    int16_t error_code;
    int64_t broker_epoch; /* -1: none assigned */
} weir_broker_registration_response;

WEIR_MUST_CHECK int weir_decode_broker_registration_request(weir_rd *rd, int16_t version,
                                                            weir_arena *a,
                                                            weir_broker_registration_request *out);
WEIR_MUST_CHECK int
weir_encode_broker_registration_response(weir_wr *w, int16_t version,
                                         const weir_broker_registration_response *r);
WEIR_MUST_CHECK int
weir_encode_broker_registration_request(weir_wr *w, int16_t version,
                                        const weir_broker_registration_request *r);
WEIR_MUST_CHECK int
weir_decode_broker_registration_response(weir_rd *rd, int16_t version, weir_arena *a,
                                         weir_broker_registration_response *out);

/* ---- BrokerHeartbeat (63), v0, flexible ---- */

typedef struct weir_broker_heartbeat_request {
    int32_t broker_id;
    int64_t broker_epoch; /* -1: not registered */
    int64_t current_metadata_offset;
    bool want_fence;
    bool want_shut_down;
} weir_broker_heartbeat_request;

typedef struct weir_broker_heartbeat_response {
    int32_t throttle_time_ms;
    int16_t error_code;
    bool is_caught_up;
    bool is_fenced;
    bool should_shut_down;
} weir_broker_heartbeat_response;

WEIR_MUST_CHECK int weir_decode_broker_heartbeat_request(weir_rd *rd, int16_t version,
                                                         weir_arena *a,
                                                         weir_broker_heartbeat_request *out);
WEIR_MUST_CHECK int weir_encode_broker_heartbeat_response(weir_wr *w, int16_t version,
                                                          const weir_broker_heartbeat_response *r);
WEIR_MUST_CHECK int weir_encode_broker_heartbeat_request(weir_wr *w, int16_t version,
                                                         const weir_broker_heartbeat_request *r);
WEIR_MUST_CHECK int weir_decode_broker_heartbeat_response(weir_rd *rd, int16_t version,
                                                          weir_arena *a,
                                                          weir_broker_heartbeat_response *out);

#endif
