/* The idempotent-producer and transaction Kafka messages, with the same codec
 * (and the same rules) as messages.h, which includes this header.
 *
 *   InitProducerId (22) v0-v1       get a producer id and epoch (fences older epochs)
 *   AddPartitionsToTxn (24) v0-v1   producer -> txn coordinator: partitions joining a transaction
 *   AddOffsetsToTxn (25) v0-v1      producer -> txn coordinator: a group's offsets join it
 *   EndTxn (26) v0-v5               producer -> txn coordinator: commit or abort (v3+ flexible)
 *   WriteTxnMarkers (27) v0         inter-broker: txn coordinator -> partition leaders
 *   TxnOffsetCommit (28) v0-v2      producer -> group coordinator: offsets inside a transaction
 *
 * Only EndTxn v3-v5 are flexible (compact strings, a tag buffer after the
 * body; decoders skip tagged fields, encoders write empty tag buffers). Every
 * other version here uses the classic encodings (Kafka's flexibleVersions:
 * InitProducerId 2+, AddPartitionsToTxn 3+, AddOffsetsToTxn 3+,
 * WriteTxnMarkers 1+, TxnOffsetCommit 3+, all above weir's ranges).
 *
 * Every API has plain structs and the four functions of messages.h with the
 * same contracts: decoders give views into the frame and arrays from the
 * arena, set fields the version lacks to Kafka's default (noted per field),
 * and name the failing field in rd->why ("TxnOffsetCommit.Topics[0].
 * Partitions[1].CommittedOffset: truncated"); encoders write exactly the
 * fields of the version and return WEIR_E_INVAL for a version outside
 * weir_api_table or a value it cannot carry. No array here is nullable: a
 * count of -1 is WEIR_E_INVAL when encoding and "null array" when decoding.
 */
#ifndef WEIR_PROTO_MESSAGES_TXN_H
#define WEIR_PROTO_MESSAGES_TXN_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "proto/kafka.h"
#include "proto/wire.h"

/* ---- InitProducerId (22), v0-v1 ---- */

typedef struct weir_init_producer_id_request {
    weir_str transactional_id; /* nullable: null for an idempotent-only producer */
    int32_t transaction_timeout_ms;
} weir_init_producer_id_request;

typedef struct weir_init_producer_id_response {
    int32_t throttle_time_ms; /* first field, every version */
    int16_t error_code;
    int64_t producer_id;    /* -1 on errors */
    int16_t producer_epoch; /* -1 on errors */
} weir_init_producer_id_response;

WEIR_MUST_CHECK int weir_decode_init_producer_id_request(weir_rd *rd, int16_t version,
                                                         weir_arena *a,
                                                         weir_init_producer_id_request *out);
WEIR_MUST_CHECK int weir_encode_init_producer_id_response(weir_wr *w, int16_t version,
                                                          const weir_init_producer_id_response *r);
WEIR_MUST_CHECK int weir_encode_init_producer_id_request(weir_wr *w, int16_t version,
                                                         const weir_init_producer_id_request *r);
WEIR_MUST_CHECK int weir_decode_init_producer_id_response(weir_rd *rd, int16_t version,
                                                          weir_arena *a,
                                                          weir_init_producer_id_response *out);

/* ---- AddPartitionsToTxn (24), v0-v1 ---- */

typedef struct weir_add_partitions_to_txn_topic {
    weir_str name;
    int32_t partition_count;
    const int32_t *partitions; /* partition indexes */
} weir_add_partitions_to_txn_topic;

typedef struct weir_add_partitions_to_txn_request {
    weir_str transactional_id;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t topic_count;
    const weir_add_partitions_to_txn_topic *topics;
} weir_add_partitions_to_txn_request;

typedef struct weir_add_partitions_to_txn_partition_result {
    int32_t partition_index;
    int16_t error_code;
} weir_add_partitions_to_txn_partition_result;

typedef struct weir_add_partitions_to_txn_topic_result {
    weir_str name;
    int32_t result_count;
    const weir_add_partitions_to_txn_partition_result *results;
} weir_add_partitions_to_txn_topic_result;

typedef struct weir_add_partitions_to_txn_response {
    int32_t throttle_time_ms; /* first field, every version */
    int32_t result_count;
    const weir_add_partitions_to_txn_topic_result *results;
} weir_add_partitions_to_txn_response;

WEIR_MUST_CHECK int
weir_decode_add_partitions_to_txn_request(weir_rd *rd, int16_t version, weir_arena *a,
                                          weir_add_partitions_to_txn_request *out);
WEIR_MUST_CHECK int
weir_encode_add_partitions_to_txn_response(weir_wr *w, int16_t version,
                                           const weir_add_partitions_to_txn_response *r);
WEIR_MUST_CHECK int
weir_encode_add_partitions_to_txn_request(weir_wr *w, int16_t version,
                                          const weir_add_partitions_to_txn_request *r);
WEIR_MUST_CHECK int
weir_decode_add_partitions_to_txn_response(weir_rd *rd, int16_t version, weir_arena *a,
                                           weir_add_partitions_to_txn_response *out);

/* ---- AddOffsetsToTxn (25), v0-v1 ---- */

typedef struct weir_add_offsets_to_txn_request {
    weir_str transactional_id;
    int64_t producer_id;
    int16_t producer_epoch;
    weir_str group_id;
} weir_add_offsets_to_txn_request;

typedef struct weir_add_offsets_to_txn_response {
    int32_t throttle_time_ms; /* first field, every version */
    int16_t error_code;
} weir_add_offsets_to_txn_response;

WEIR_MUST_CHECK int weir_decode_add_offsets_to_txn_request(weir_rd *rd, int16_t version,
                                                           weir_arena *a,
                                                           weir_add_offsets_to_txn_request *out);
WEIR_MUST_CHECK int
weir_encode_add_offsets_to_txn_response(weir_wr *w, int16_t version,
                                        const weir_add_offsets_to_txn_response *r);
WEIR_MUST_CHECK int
weir_encode_add_offsets_to_txn_request(weir_wr *w, int16_t version,
                                       const weir_add_offsets_to_txn_request *r);
WEIR_MUST_CHECK int weir_decode_add_offsets_to_txn_response(weir_rd *rd, int16_t version,
                                                            weir_arena *a,
                                                            weir_add_offsets_to_txn_response *out);

/* ---- EndTxn (26), v0-v5; v3+ flexible ---- */

typedef struct weir_end_txn_request {
    weir_str transactional_id;
    int64_t producer_id;
    int16_t producer_epoch;
    bool committed; /* true: commit, false: abort */
} weir_end_txn_request;

typedef struct weir_end_txn_response {
    int32_t throttle_time_ms; /* first field, every version */
    int16_t error_code;
    /* v5+ (KIP-890 transaction version 2: the epoch is bumped at every end,
     * and the producer learns its new id and epoch here); -1 before */
    int64_t producer_id;
    int16_t producer_epoch;
} weir_end_txn_response;

WEIR_MUST_CHECK int weir_decode_end_txn_request(weir_rd *rd, int16_t version, weir_arena *a,
                                                weir_end_txn_request *out);
WEIR_MUST_CHECK int weir_encode_end_txn_response(weir_wr *w, int16_t version,
                                                 const weir_end_txn_response *r);
WEIR_MUST_CHECK int weir_encode_end_txn_request(weir_wr *w, int16_t version,
                                                const weir_end_txn_request *r);
WEIR_MUST_CHECK int weir_decode_end_txn_response(weir_rd *rd, int16_t version, weir_arena *a,
                                                 weir_end_txn_response *out);

/* ---- WriteTxnMarkers (27), v0 (inter-broker) ---- */

typedef struct weir_write_txn_markers_topic {
    weir_str name;
    int32_t partition_index_count;
    const int32_t *partition_indexes;
} weir_write_txn_markers_topic;

typedef struct weir_write_txn_markers_marker {
    int64_t producer_id;
    int16_t producer_epoch;
    bool transaction_result; /* true: commit, false: abort */
    int32_t topic_count;
    const weir_write_txn_markers_topic *topics;
    int32_t coordinator_epoch;
} weir_write_txn_markers_marker;

typedef struct weir_write_txn_markers_request {
    int32_t marker_count;
    const weir_write_txn_markers_marker *markers;
} weir_write_txn_markers_request;

typedef struct weir_write_txn_markers_partition_result {
    int32_t partition_index;
    int16_t error_code;
} weir_write_txn_markers_partition_result;

typedef struct weir_write_txn_markers_topic_result {
    weir_str name;
    int32_t partition_count;
    const weir_write_txn_markers_partition_result *partitions;
} weir_write_txn_markers_topic_result;

typedef struct weir_write_txn_markers_marker_result {
    int64_t producer_id;
    int32_t topic_count;
    const weir_write_txn_markers_topic_result *topics;
} weir_write_txn_markers_marker_result;

typedef struct weir_write_txn_markers_response {
    int32_t marker_count; /* no throttle time in this response */
    const weir_write_txn_markers_marker_result *markers;
} weir_write_txn_markers_response;

WEIR_MUST_CHECK int weir_decode_write_txn_markers_request(weir_rd *rd, int16_t version,
                                                          weir_arena *a,
                                                          weir_write_txn_markers_request *out);
WEIR_MUST_CHECK int
weir_encode_write_txn_markers_response(weir_wr *w, int16_t version,
                                       const weir_write_txn_markers_response *r);
WEIR_MUST_CHECK int weir_encode_write_txn_markers_request(weir_wr *w, int16_t version,
                                                          const weir_write_txn_markers_request *r);
WEIR_MUST_CHECK int weir_decode_write_txn_markers_response(weir_rd *rd, int16_t version,
                                                           weir_arena *a,
                                                           weir_write_txn_markers_response *out);

/* ---- TxnOffsetCommit (28), v0-v2 ---- */

typedef struct weir_txn_offset_commit_partition {
    int32_t partition_index;
    int64_t committed_offset;
    int32_t committed_leader_epoch; /* v2+; -1 before */
    weir_str committed_metadata;    /* nullable */
} weir_txn_offset_commit_partition;

typedef struct weir_txn_offset_commit_topic {
    weir_str name;
    int32_t partition_count;
    const weir_txn_offset_commit_partition *partitions;
} weir_txn_offset_commit_topic;

typedef struct weir_txn_offset_commit_request {
    weir_str transactional_id;
    weir_str group_id;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t topic_count;
    const weir_txn_offset_commit_topic *topics;
} weir_txn_offset_commit_request;

typedef struct weir_txn_offset_commit_partition_response {
    int32_t partition_index;
    int16_t error_code;
} weir_txn_offset_commit_partition_response;

typedef struct weir_txn_offset_commit_topic_response {
    weir_str name;
    int32_t partition_count;
    const weir_txn_offset_commit_partition_response *partitions;
} weir_txn_offset_commit_topic_response;

typedef struct weir_txn_offset_commit_response {
    int32_t throttle_time_ms; /* first field, every version */
    int32_t topic_count;
    const weir_txn_offset_commit_topic_response *topics;
} weir_txn_offset_commit_response;

WEIR_MUST_CHECK int weir_decode_txn_offset_commit_request(weir_rd *rd, int16_t version,
                                                          weir_arena *a,
                                                          weir_txn_offset_commit_request *out);
WEIR_MUST_CHECK int
weir_encode_txn_offset_commit_response(weir_wr *w, int16_t version,
                                       const weir_txn_offset_commit_response *r);
WEIR_MUST_CHECK int weir_encode_txn_offset_commit_request(weir_wr *w, int16_t version,
                                                          const weir_txn_offset_commit_request *r);
WEIR_MUST_CHECK int weir_decode_txn_offset_commit_response(weir_rd *rd, int16_t version,
                                                           weir_arena *a,
                                                           weir_txn_offset_commit_response *out);

#endif
