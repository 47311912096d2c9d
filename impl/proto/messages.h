/* Kafka request/response headers and message bodies for the APIs in
 * weir_api_table (kafka.h), every version of every advertised range. The
 * produce/consume/admin APIs are declared here; the others, included below
 * with the same conventions, in messages_cluster.h (inter-broker: LeaderAndIsr,
 * OffsetForLeaderEpoch, AlterPartition, BrokerRegistration, BrokerHeartbeat),
 * messages_group.h (consumer groups: OffsetCommit, OffsetFetch,
 * FindCoordinator, JoinGroup, Heartbeat, LeaveGroup, SyncGroup,
 * DescribeGroups, ListGroups) and messages_txn.h (InitProducerId,
 * AddPartitionsToTxn, AddOffsetsToTxn, EndTxn, WriteTxnMarkers,
 * TxnOffsetCommit).
 *
 * For each API there are plain structs and four functions:
 *
 *   weir_decode_<api>_request (rd, version, arena, out)   broker side
 *   weir_encode_<api>_response(w, version, r)             broker side
 *   weir_encode_<api>_request (w, version, r)             clients and tests
 *   weir_decode_<api>_response(rd, version, arena, out)   clients and tests
 *
 * Decoders: strings and bytes in *out point into the reader's buffer (no
 * copies); arrays come from the arena. So *out is valid while both the frame
 * and the arena are. They return 0, WEIR_E_CORRUPT (malformed or truncated:
 * rd->why names the field, e.g. "Fetch.Topics[0].Partitions[3].FetchOffset:
 * truncated"), WEIR_E_NOMEM (the arena ran out or hit its limit; rd->why says
 * so) or WEIR_E_INVAL (a version outside weir_api_table). Bytes after the last
 * field are ignored, as Kafka does; nothing past the buffer is ever read.
 * Fields the version lacks are set to Kafka's defaults (noted per field).
 *
 * Encoders write exactly the fields of that version, in that version's order
 * (the throttle time sits first in most responses, last in Produce and
 * ApiVersions). They return 0, WEIR_E_INVAL (version outside the table, or a
 * value the version cannot carry, such as a null non-nullable string) or
 * WEIR_E_NOMEM. On error the writer holds a partial message: reset it.
 * A count of -1 encodes a null array where the version allows one.
 *
 * Neither adds the 4-byte frame size: the env's weir_conn_send does.
 */
#ifndef WEIR_PROTO_MESSAGES_H
#define WEIR_PROTO_MESSAGES_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "proto/kafka.h"
#include "proto/messages_cluster.h" /* the inter-broker APIs, same conventions */
#include "proto/messages_group.h"   /* the consumer-group APIs, same conventions */
#include "proto/messages_txn.h"     /* idempotence and transactions, same conventions */
#include "proto/wire.h"

/* ---- headers ---- */

typedef struct weir_request_header {
    int16_t api_key;
    int16_t api_version;
    int32_t correlation_id;
    weir_str client_id; /* NULLABLE_STRING (int16 length) even in header v2 */
    bool flexible;      /* header v2: a tag buffer followed the client id */
} weir_request_header;

/* Request header v1/v2: key, version, correlation id, client id, and a tag
 * buffer when weir_api_flexible(key, version) (also for versions weir does not
 * implement, so an ApiVersions v4 header is read right). For unknown keys it
 * reads header v1. On error, the fields read before the failure stay set:
 * with rd->why "RequestHeader.ClientId: truncated" the correlation id is
 * still known and an error reply can go out. Returns 0 or WEIR_E_CORRUPT. */
WEIR_MUST_CHECK int weir_decode_request_header(weir_rd *rd, weir_request_header *out);

/* Writes header v1, or v2 (a 0x00 tag byte) when the (key, version) is flexible. */
WEIR_MUST_CHECK int weir_encode_request_header(weir_wr *w, const weir_request_header *h);

/* Response header: the correlation id, then an empty tag buffer when
 * weir_api_response_header_tagged(api_key, version) (never for ApiVersions). */
WEIR_MUST_CHECK int weir_encode_response_header(weir_wr *w, int16_t api_key, int16_t version,
                                                int32_t correlation_id);
WEIR_MUST_CHECK int weir_decode_response_header(weir_rd *rd, int16_t api_key, int16_t version,
                                                int32_t *correlation_id_out);

/* ---- ApiVersions (18), v0-v3 ---- */

typedef struct weir_api_versions_request {
    weir_str client_software_name;    /* v3+ COMPACT_STRING; "" before */
    weir_str client_software_version; /* v3+ COMPACT_STRING; "" before */
} weir_api_versions_request;

typedef struct weir_api_versions_response {
    int16_t error_code;
    int32_t api_key_count;
    const weir_api_range *api_keys; /* flex_from is not sent; decoded as -1 */
    int32_t throttle_time_ms;       /* v1+ (last field); 0 before */
} weir_api_versions_response;

/* The successful reply: error 0 and every entry of weir_api_table. */
void weir_api_versions_response_supported(weir_api_versions_response *out);

WEIR_MUST_CHECK int weir_decode_api_versions_request(weir_rd *rd, int16_t version, weir_arena *a,
                                                     weir_api_versions_request *out);
WEIR_MUST_CHECK int weir_encode_api_versions_response(weir_wr *w, int16_t version,
                                                      const weir_api_versions_response *r);
WEIR_MUST_CHECK int weir_encode_api_versions_request(weir_wr *w, int16_t version,
                                                     const weir_api_versions_request *r);
WEIR_MUST_CHECK int weir_decode_api_versions_response(weir_rd *rd, int16_t version, weir_arena *a,
                                                      weir_api_versions_response *out);

/* The whole reply (response header v0 + a v0 body) to an ApiVersions request
 * of a version weir does not implement, whatever that version: ErrorCode 35
 * (UNSUPPORTED_VERSION) and ApiKeys = [{18, 0, max ApiVersions version}], so
 * clients retry with a version weir has (KIP-511). */
WEIR_MUST_CHECK int weir_encode_api_versions_unsupported(weir_wr *w, int32_t correlation_id);

/* ---- Metadata (3), v0-v4 ---- */

typedef struct weir_metadata_request {
    int32_t topic_count;            /* -1: null (v1+ only) */
    const weir_str *topics;         /* topic names */
    bool allow_auto_topic_creation; /* v4+; true before */
    bool all_topics;                /* decoded: v0 with [] or v1+ with null; not encoded */
} weir_metadata_request;

typedef struct weir_metadata_broker {
    int32_t node_id;
    weir_str host;
    int32_t port;
    weir_str rack; /* v1+, nullable; null before */
} weir_metadata_broker;

typedef struct weir_metadata_partition {
    int16_t error_code;
    int32_t partition_index;
    int32_t leader_id;
    int32_t replica_count;
    const int32_t *replica_nodes;
    int32_t isr_count;
    const int32_t *isr_nodes;
} weir_metadata_partition;

typedef struct weir_metadata_topic {
    int16_t error_code;
    weir_str name;
    bool is_internal; /* v1+; false before */
    int32_t partition_count;
    const weir_metadata_partition *partitions;
} weir_metadata_topic;

typedef struct weir_metadata_response {
    int32_t throttle_time_ms; /* v3+ (first field); 0 before */
    int32_t broker_count;
    const weir_metadata_broker *brokers;
    weir_str cluster_id;   /* v2+, nullable; null before */
    int32_t controller_id; /* v1+; -1 before */
    int32_t topic_count;
    const weir_metadata_topic *topics;
} weir_metadata_response;

WEIR_MUST_CHECK int weir_decode_metadata_request(weir_rd *rd, int16_t version, weir_arena *a,
                                                 weir_metadata_request *out);
WEIR_MUST_CHECK int weir_encode_metadata_response(weir_wr *w, int16_t version,
                                                  const weir_metadata_response *r);
WEIR_MUST_CHECK int weir_encode_metadata_request(weir_wr *w, int16_t version,
                                                 const weir_metadata_request *r);
WEIR_MUST_CHECK int weir_decode_metadata_response(weir_rd *rd, int16_t version, weir_arena *a,
                                                  weir_metadata_response *out);

/* ---- Produce (0), v3-v7 ---- */

typedef struct weir_produce_partition {
    int32_t partition_index;
    weir_bytes records; /* NULLABLE_BYTES, a view into the frame */
} weir_produce_partition;

typedef struct weir_produce_topic {
    weir_str name;
    int32_t partition_count;
    const weir_produce_partition *partitions;
} weir_produce_topic;

typedef struct weir_produce_request {
    weir_str transactional_id; /* nullable */
    int16_t acks;              /* 0: no response at all; 1; -1: all */
    int32_t timeout_ms;
    int32_t topic_count;
    const weir_produce_topic *topics;
} weir_produce_request;

typedef struct weir_produce_partition_response {
    int32_t partition_index;
    int16_t error_code;
    int64_t base_offset;
    int64_t log_append_time_ms; /* -1 unless the topic uses LogAppendTime */
    int64_t log_start_offset;   /* v5+; -1 before */
} weir_produce_partition_response;

typedef struct weir_produce_topic_response {
    weir_str name;
    int32_t partition_count;
    const weir_produce_partition_response *partitions;
} weir_produce_topic_response;

typedef struct weir_produce_response {
    int32_t topic_count;
    const weir_produce_topic_response *topics;
    int32_t throttle_time_ms; /* the LAST field */
} weir_produce_response;

WEIR_MUST_CHECK int weir_decode_produce_request(weir_rd *rd, int16_t version, weir_arena *a,
                                                weir_produce_request *out);
WEIR_MUST_CHECK int weir_encode_produce_response(weir_wr *w, int16_t version,
                                                 const weir_produce_response *r);
WEIR_MUST_CHECK int weir_encode_produce_request(weir_wr *w, int16_t version,
                                                const weir_produce_request *r);
WEIR_MUST_CHECK int weir_decode_produce_response(weir_rd *rd, int16_t version, weir_arena *a,
                                                 weir_produce_response *out);

/* ---- Fetch (1), v4-v11 ---- */

typedef struct weir_fetch_partition {
    int32_t partition_index;
    int32_t current_leader_epoch; /* v9+; -1 before */
    int64_t fetch_offset;
    int64_t log_start_offset; /* v5+ (followers); -1 before */
    int32_t partition_max_bytes;
} weir_fetch_partition;

typedef struct weir_fetch_topic {
    weir_str name;
    int32_t partition_count;
    const weir_fetch_partition *partitions;
} weir_fetch_topic;

typedef struct weir_fetch_forgotten_topic {
    weir_str name;
    int32_t partition_count;
    const int32_t *partitions;
} weir_fetch_forgotten_topic;

typedef struct weir_fetch_request {
    int32_t replica_id; /* -1 for consumers */
    int32_t max_wait_ms;
    int32_t min_bytes;
    int32_t max_bytes;
    int8_t isolation_level; /* 0 read_uncommitted, 1 read_committed */
    int32_t session_id;     /* v7+; 0 before */
    int32_t session_epoch;  /* v7+; -1 before */
    int32_t topic_count;
    const weir_fetch_topic *topics;
    int32_t forgotten_count; /* v7+; 0 before */
    const weir_fetch_forgotten_topic *forgotten;
    weir_str rack_id; /* v11+; "" before */
} weir_fetch_request;

typedef struct weir_fetch_aborted_txn {
    int64_t producer_id;
    int64_t first_offset;
} weir_fetch_aborted_txn;

typedef struct weir_fetch_partition_response {
    int32_t partition_index;
    int16_t error_code;
    int64_t high_watermark;
    int64_t last_stable_offset;
    int64_t log_start_offset; /* v5+; -1 before */
    int32_t aborted_count;    /* -1: null */
    const weir_fetch_aborted_txn *aborted;
    int32_t preferred_read_replica; /* v11+; -1 before */
    weir_bytes records;             /* null or empty is sent as length 0, never -1 */
} weir_fetch_partition_response;

typedef struct weir_fetch_topic_response {
    weir_str name;
    int32_t partition_count;
    const weir_fetch_partition_response *partitions;
} weir_fetch_topic_response;

typedef struct weir_fetch_response {
    int32_t throttle_time_ms;
    int16_t error_code; /* v7+; 0 before */
    int32_t session_id; /* v7+; 0 before */
    int32_t topic_count;
    const weir_fetch_topic_response *topics;
} weir_fetch_response;

WEIR_MUST_CHECK int weir_decode_fetch_request(weir_rd *rd, int16_t version, weir_arena *a,
                                              weir_fetch_request *out);
WEIR_MUST_CHECK int weir_encode_fetch_response(weir_wr *w, int16_t version,
                                               const weir_fetch_response *r);
WEIR_MUST_CHECK int weir_encode_fetch_request(weir_wr *w, int16_t version,
                                              const weir_fetch_request *r);
WEIR_MUST_CHECK int weir_decode_fetch_response(weir_rd *rd, int16_t version, weir_arena *a,
                                               weir_fetch_response *out);

/* ---- ListOffsets (2), v0-v3 ---- */

typedef struct weir_list_offsets_partition {
    int32_t partition_index;
    int64_t timestamp;       /* -1 latest, -2 earliest, >= 0 by time */
    int32_t max_num_offsets; /* v0 only; 1 after */
} weir_list_offsets_partition;

typedef struct weir_list_offsets_topic {
    weir_str name;
    int32_t partition_count;
    const weir_list_offsets_partition *partitions;
} weir_list_offsets_topic;

typedef struct weir_list_offsets_request {
    int32_t replica_id;
    int8_t isolation_level; /* v2+; 0 before */
    int32_t topic_count;
    const weir_list_offsets_topic *topics;
} weir_list_offsets_request;

typedef struct weir_list_offsets_partition_response {
    int32_t partition_index;
    int16_t error_code;
    int32_t old_style_offset_count; /* v0 only; 0 after */
    const int64_t *old_style_offsets;
    int64_t timestamp; /* v1+; -1 before */
    int64_t offset;    /* v1+; -1 before */
} weir_list_offsets_partition_response;

typedef struct weir_list_offsets_topic_response {
    weir_str name;
    int32_t partition_count;
    const weir_list_offsets_partition_response *partitions;
} weir_list_offsets_topic_response;

typedef struct weir_list_offsets_response {
    int32_t throttle_time_ms; /* v2+ (first field); 0 before */
    int32_t topic_count;
    const weir_list_offsets_topic_response *topics;
} weir_list_offsets_response;

WEIR_MUST_CHECK int weir_decode_list_offsets_request(weir_rd *rd, int16_t version, weir_arena *a,
                                                     weir_list_offsets_request *out);
WEIR_MUST_CHECK int weir_encode_list_offsets_response(weir_wr *w, int16_t version,
                                                      const weir_list_offsets_response *r);
WEIR_MUST_CHECK int weir_encode_list_offsets_request(weir_wr *w, int16_t version,
                                                     const weir_list_offsets_request *r);
WEIR_MUST_CHECK int weir_decode_list_offsets_response(weir_rd *rd, int16_t version, weir_arena *a,
                                                      weir_list_offsets_response *out);

/* ---- CreateTopics (19), v0-v4 ---- */

typedef struct weir_create_topics_assignment {
    int32_t partition_index;
    int32_t broker_id_count;
    const int32_t *broker_ids;
} weir_create_topics_assignment;

typedef struct weir_create_topics_config {
    weir_str name;
    weir_str value; /* nullable */
} weir_create_topics_config;

typedef struct weir_create_topics_topic {
    weir_str name;
    int32_t num_partitions;     /* -1: from assignments or the broker default */
    int16_t replication_factor; /* -1: from assignments or the broker default */
    int32_t assignment_count;
    const weir_create_topics_assignment *assignments;
    int32_t config_count;
    const weir_create_topics_config *configs;
} weir_create_topics_topic;

typedef struct weir_create_topics_request {
    int32_t topic_count;
    const weir_create_topics_topic *topics;
    int32_t timeout_ms;
    bool validate_only; /* v1+; false before */
} weir_create_topics_request;

typedef struct weir_create_topics_topic_response {
    weir_str name;
    int16_t error_code;
    weir_str error_message; /* v1+, nullable; null before */
} weir_create_topics_topic_response;

typedef struct weir_create_topics_response {
    int32_t throttle_time_ms; /* v2+ (first field); 0 before */
    int32_t topic_count;
    const weir_create_topics_topic_response *topics;
} weir_create_topics_response;

WEIR_MUST_CHECK int weir_decode_create_topics_request(weir_rd *rd, int16_t version, weir_arena *a,
                                                      weir_create_topics_request *out);
WEIR_MUST_CHECK int weir_encode_create_topics_response(weir_wr *w, int16_t version,
                                                       const weir_create_topics_response *r);
WEIR_MUST_CHECK int weir_encode_create_topics_request(weir_wr *w, int16_t version,
                                                      const weir_create_topics_request *r);
WEIR_MUST_CHECK int weir_decode_create_topics_response(weir_rd *rd, int16_t version, weir_arena *a,
                                                       weir_create_topics_response *out);

/* ---- DeleteTopics (20), v0-v1 ---- */

typedef struct weir_delete_topics_request {
    int32_t topic_name_count;
    const weir_str *topic_names;
    int32_t timeout_ms;
} weir_delete_topics_request;

typedef struct weir_delete_topics_topic_response {
    weir_str name;
    int16_t error_code;
} weir_delete_topics_topic_response;

typedef struct weir_delete_topics_response {
    int32_t throttle_time_ms; /* v1+ (first field); 0 before */
    int32_t response_count;
    const weir_delete_topics_topic_response *responses;
} weir_delete_topics_response;

WEIR_MUST_CHECK int weir_decode_delete_topics_request(weir_rd *rd, int16_t version, weir_arena *a,
                                                      weir_delete_topics_request *out);
WEIR_MUST_CHECK int weir_encode_delete_topics_response(weir_wr *w, int16_t version,
                                                       const weir_delete_topics_response *r);
WEIR_MUST_CHECK int weir_encode_delete_topics_request(weir_wr *w, int16_t version,
                                                      const weir_delete_topics_request *r);
WEIR_MUST_CHECK int weir_decode_delete_topics_response(weir_rd *rd, int16_t version, weir_arena *a,
                                                       weir_delete_topics_response *out);

/* ---- one request, any API ---- */

typedef struct weir_request {
    weir_request_header header;
    union {
        weir_api_versions_request api_versions;
        weir_metadata_request metadata;
        weir_produce_request produce;
        weir_fetch_request fetch;
        weir_list_offsets_request list_offsets;
        weir_create_topics_request create_topics;
        weir_delete_topics_request delete_topics;
        /* consumer groups (messages_group.h) */
        weir_offset_commit_request offset_commit;
        weir_offset_fetch_request offset_fetch;
        weir_find_coordinator_request find_coordinator;
        weir_join_group_request join_group;
        weir_heartbeat_request heartbeat;
        weir_leave_group_request leave_group;
        weir_sync_group_request sync_group;
        weir_describe_groups_request describe_groups;
        weir_list_groups_request list_groups;
        /* idempotence and transactions (messages_txn.h) */
        weir_init_producer_id_request init_producer_id;
        weir_add_partitions_to_txn_request add_partitions_to_txn;
        weir_add_offsets_to_txn_request add_offsets_to_txn;
        weir_end_txn_request end_txn;
        weir_write_txn_markers_request write_txn_markers;
        weir_txn_offset_commit_request txn_offset_commit;
        /* inter-broker (messages_cluster.h) */
        weir_leader_and_isr_request leader_and_isr;
        weir_offset_for_leader_epoch_request offset_for_leader_epoch;
        weir_alter_partition_request alter_partition;
        weir_broker_registration_request broker_registration;
        weir_broker_heartbeat_request broker_heartbeat;
    } body; /* the member named by header.api_key */
} weir_request;

/* Decodes a whole request frame payload (header, then the body the header
 * names). Returns 0; WEIR_E_UNSUPPORTED when (key, version) is not in
 * weir_api_table (out->header is filled, the body is not read: for
 * ApiVersions answer with weir_encode_api_versions_unsupported); or the
 * header or body decoder's error, with rd->why set. The header fields read
 * before a failure stay set. */
WEIR_MUST_CHECK int weir_decode_request(weir_rd *rd, weir_arena *a, weir_request *out);

/* Encodes header and body of r (the client side). */
WEIR_MUST_CHECK int weir_encode_request(weir_wr *w, const weir_request *r);

#endif
