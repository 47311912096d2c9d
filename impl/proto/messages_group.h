/* The consumer-group Kafka messages: what a group member says to its group
 * coordinator, with the same codec (and the same rules) as messages.h, which
 * includes this header.
 *
 *   OffsetCommit (8) v0-v7      commit offsets for a group
 *   OffsetFetch (9) v0-v5       read a group's committed offsets
 *   FindCoordinator (10) v0-v2  which broker coordinates a group (or a transactional id)
 *   JoinGroup (11) v0-v5        join, and get a member id and a generation
 *   Heartbeat (12) v0-v3        stay in the generation
 *   LeaveGroup (13) v0-v1       leave the group
 *   SyncGroup (14) v0-v3        the leader hands out assignments, members get theirs
 *   DescribeGroups (15) v0-v4   state and members of groups (admin)
 *   ListGroups (16) v0-v2       the groups a coordinator knows (admin)
 *
 * None of these versions is flexible (Kafka's flexibleVersions start above
 * every range: OffsetCommit 8, OffsetFetch 6, FindCoordinator 3, JoinGroup 6,
 * Heartbeat/LeaveGroup/SyncGroup 4, DescribeGroups 5, ListGroups 3), so all
 * strings, bytes and arrays use the classic int16/int32 length forms.
 *
 * Every API has plain structs and the four functions of messages.h with the
 * same contracts: decoders give views into the frame and arrays from the
 * arena, set fields the version lacks to Kafka's default (noted per field),
 * and name the failing field in rd->why ("OffsetCommit.Topics[0].
 * Partitions[2].CommittedOffset: truncated"); encoders write exactly the
 * fields of the version and return WEIR_E_INVAL for a version outside
 * weir_api_table or a value it cannot carry. Arrays are not nullable unless
 * a field says so: a count of -1 is WEIR_E_INVAL when encoding and "null
 * array" (WEIR_E_CORRUPT) when decoding. Like Kafka's serializer for
 * non-ignorable fields, request encoders also refuse (WEIR_E_INVAL) a value a
 * version would silently drop and that changes the meaning: a FindCoordinator
 * KeyType other than 0 in v0, a non-null GroupInstanceId below its version.
 */
#ifndef WEIR_PROTO_MESSAGES_GROUP_H
#define WEIR_PROTO_MESSAGES_GROUP_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "proto/kafka.h"
#include "proto/wire.h"

/* ---- OffsetCommit (8), v0-v7 ---- */

typedef struct weir_offset_commit_partition {
    int32_t partition_index;
    int64_t committed_offset;
    int32_t committed_leader_epoch; /* v6+; -1 before */
    int64_t commit_timestamp;       /* v1 only; -1 in every other version */
    weir_str committed_metadata;    /* nullable */
} weir_offset_commit_partition;

typedef struct weir_offset_commit_topic {
    weir_str name;
    int32_t partition_count;
    const weir_offset_commit_partition *partitions;
} weir_offset_commit_topic;

typedef struct weir_offset_commit_request {
    weir_str group_id;
    int32_t generation_id;      /* v1+; -1 before (also: a "simple" consumer, no group) */
    weir_str member_id;         /* v1+; "" before */
    weir_str group_instance_id; /* v7+, nullable; null before; INVAL if set below v7 */
    int64_t retention_time_ms;  /* v2-v4 only; -1 (broker default) in other versions */
    int32_t topic_count;
    const weir_offset_commit_topic *topics;
} weir_offset_commit_request;

typedef struct weir_offset_commit_partition_response {
    int32_t partition_index;
    int16_t error_code;
} weir_offset_commit_partition_response;

typedef struct weir_offset_commit_topic_response {
    weir_str name;
    int32_t partition_count;
    const weir_offset_commit_partition_response *partitions;
} weir_offset_commit_topic_response;

typedef struct weir_offset_commit_response {
    int32_t throttle_time_ms; /* v3+ (first field); 0 before */
    int32_t topic_count;
    const weir_offset_commit_topic_response *topics;
} weir_offset_commit_response;

WEIR_MUST_CHECK int weir_decode_offset_commit_request(weir_rd *rd, int16_t version, weir_arena *a,
                                                      weir_offset_commit_request *out);
WEIR_MUST_CHECK int weir_encode_offset_commit_response(weir_wr *w, int16_t version,
                                                       const weir_offset_commit_response *r);
WEIR_MUST_CHECK int weir_encode_offset_commit_request(weir_wr *w, int16_t version,
                                                      const weir_offset_commit_request *r);
WEIR_MUST_CHECK int weir_decode_offset_commit_response(weir_rd *rd, int16_t version, weir_arena *a,
                                                       weir_offset_commit_response *out);

/* ---- OffsetFetch (9), v0-v5 ---- */

typedef struct weir_offset_fetch_topic {
    weir_str name;
    int32_t partition_index_count;
    const int32_t *partition_indexes;
} weir_offset_fetch_topic;

typedef struct weir_offset_fetch_request {
    weir_str group_id;
    /* -1: null = every partition the group has offsets for (v2+ only; an
     * encoder refuses -1 for v0-v1, a decoder of v0-v1 rejects it) */
    int32_t topic_count;
    const weir_offset_fetch_topic *topics;
} weir_offset_fetch_request;

typedef struct weir_offset_fetch_partition_response {
    int32_t partition_index;
    int64_t committed_offset;       /* -1: no committed offset */
    int32_t committed_leader_epoch; /* v5+; -1 before */
    weir_str metadata;              /* nullable */
    int16_t error_code;
} weir_offset_fetch_partition_response;

typedef struct weir_offset_fetch_topic_response {
    weir_str name;
    int32_t partition_count;
    const weir_offset_fetch_partition_response *partitions;
} weir_offset_fetch_topic_response;

typedef struct weir_offset_fetch_response {
    int32_t throttle_time_ms; /* v3+ (first field); 0 before */
    int32_t topic_count;
    const weir_offset_fetch_topic_response *topics;
    int16_t error_code; /* v2+ (top level, the LAST field); 0 before */
} weir_offset_fetch_response;

WEIR_MUST_CHECK int weir_decode_offset_fetch_request(weir_rd *rd, int16_t version, weir_arena *a,
                                                     weir_offset_fetch_request *out);
WEIR_MUST_CHECK int weir_encode_offset_fetch_response(weir_wr *w, int16_t version,
                                                      const weir_offset_fetch_response *r);
WEIR_MUST_CHECK int weir_encode_offset_fetch_request(weir_wr *w, int16_t version,
                                                     const weir_offset_fetch_request *r);
WEIR_MUST_CHECK int weir_decode_offset_fetch_response(weir_rd *rd, int16_t version, weir_arena *a,
                                                      weir_offset_fetch_response *out);

/* ---- FindCoordinator (10), v0-v2 ---- */

enum {
    WEIR_COORDINATOR_GROUP = 0,       /* KeyType: Key is a group id */
    WEIR_COORDINATOR_TRANSACTION = 1, /* KeyType: Key is a transactional id */
};

typedef struct weir_find_coordinator_request {
    weir_str key;
    int8_t key_type; /* v1+; 0 (WEIR_COORDINATOR_GROUP) before; v0 cannot carry 1: INVAL */
} weir_find_coordinator_request;

typedef struct weir_find_coordinator_response {
    int32_t throttle_time_ms; /* v1+ (first field); 0 before */
    int16_t error_code;
    weir_str error_message; /* v1+, nullable; null before */
    int32_t node_id;
    weir_str host;
    int32_t port;
} weir_find_coordinator_response;

WEIR_MUST_CHECK int weir_decode_find_coordinator_request(weir_rd *rd, int16_t version,
                                                         weir_arena *a,
                                                         weir_find_coordinator_request *out);
WEIR_MUST_CHECK int weir_encode_find_coordinator_response(weir_wr *w, int16_t version,
                                                          const weir_find_coordinator_response *r);
WEIR_MUST_CHECK int weir_encode_find_coordinator_request(weir_wr *w, int16_t version,
                                                         const weir_find_coordinator_request *r);
WEIR_MUST_CHECK int weir_decode_find_coordinator_response(weir_rd *rd, int16_t version,
                                                          weir_arena *a,
                                                          weir_find_coordinator_response *out);

/* ---- JoinGroup (11), v0-v5 ---- */

typedef struct weir_join_group_protocol {
    weir_str name;       /* "range", "roundrobin", ... */
    weir_bytes metadata; /* opaque to the coordinator (consumer subscription) */
} weir_join_group_protocol;

typedef struct weir_join_group_request {
    weir_str group_id;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms; /* v1+; -1 before (the coordinator uses the session timeout) */
    weir_str member_id;           /* "" on the first join */
    weir_str group_instance_id;   /* v5+, nullable; null before; INVAL if set below v5 */
    weir_str protocol_type;       /* "consumer" */
    int32_t protocol_count;
    const weir_join_group_protocol *protocols;
} weir_join_group_request;

typedef struct weir_join_group_member {
    weir_str member_id;
    weir_str group_instance_id; /* v5+, nullable; null before */
    weir_bytes metadata;
} weir_join_group_member;

typedef struct weir_join_group_response {
    int32_t throttle_time_ms; /* v2+ (first field); 0 before */
    int16_t error_code;
    int32_t generation_id; /* -1 on errors */
    weir_str protocol_name;
    weir_str leader;      /* the leader's member id */
    weir_str member_id;   /* the receiver's own member id */
    int32_t member_count; /* the leader gets every member; the others 0 */
    const weir_join_group_member *members;
} weir_join_group_response;

WEIR_MUST_CHECK int weir_decode_join_group_request(weir_rd *rd, int16_t version, weir_arena *a,
                                                   weir_join_group_request *out);
WEIR_MUST_CHECK int weir_encode_join_group_response(weir_wr *w, int16_t version,
                                                    const weir_join_group_response *r);
WEIR_MUST_CHECK int weir_encode_join_group_request(weir_wr *w, int16_t version,
                                                   const weir_join_group_request *r);
WEIR_MUST_CHECK int weir_decode_join_group_response(weir_rd *rd, int16_t version, weir_arena *a,
                                                    weir_join_group_response *out);

/* ---- Heartbeat (12), v0-v3 ---- */

typedef struct weir_heartbeat_request {
    weir_str group_id;
    int32_t generation_id;
    weir_str member_id;
    weir_str group_instance_id; /* v3+, nullable; null before; INVAL if set below v3 */
} weir_heartbeat_request;

typedef struct weir_heartbeat_response {
    int32_t throttle_time_ms; /* v1+ (first field); 0 before */
    int16_t error_code;
} weir_heartbeat_response;

WEIR_MUST_CHECK int weir_decode_heartbeat_request(weir_rd *rd, int16_t version, weir_arena *a,
                                                  weir_heartbeat_request *out);
WEIR_MUST_CHECK int weir_encode_heartbeat_response(weir_wr *w, int16_t version,
                                                   const weir_heartbeat_response *r);
WEIR_MUST_CHECK int weir_encode_heartbeat_request(weir_wr *w, int16_t version,
                                                  const weir_heartbeat_request *r);
WEIR_MUST_CHECK int weir_decode_heartbeat_response(weir_rd *rd, int16_t version, weir_arena *a,
                                                   weir_heartbeat_response *out);

/* ---- LeaveGroup (13), v0-v1 ---- */

typedef struct weir_leave_group_request {
    weir_str group_id;
    weir_str member_id; /* v0-v2 form; v3+ (Members[]) is outside weir's range */
} weir_leave_group_request;

typedef struct weir_leave_group_response {
    int32_t throttle_time_ms; /* v1+ (first field); 0 before */
    int16_t error_code;
} weir_leave_group_response;

WEIR_MUST_CHECK int weir_decode_leave_group_request(weir_rd *rd, int16_t version, weir_arena *a,
                                                    weir_leave_group_request *out);
WEIR_MUST_CHECK int weir_encode_leave_group_response(weir_wr *w, int16_t version,
                                                     const weir_leave_group_response *r);
WEIR_MUST_CHECK int weir_encode_leave_group_request(weir_wr *w, int16_t version,
                                                    const weir_leave_group_request *r);
WEIR_MUST_CHECK int weir_decode_leave_group_response(weir_rd *rd, int16_t version, weir_arena *a,
                                                     weir_leave_group_response *out);

/* ---- SyncGroup (14), v0-v3 ---- */

typedef struct weir_sync_group_assignment {
    weir_str member_id;
    weir_bytes assignment; /* opaque to the coordinator */
} weir_sync_group_assignment;

typedef struct weir_sync_group_request {
    weir_str group_id;
    int32_t generation_id;
    weir_str member_id;
    weir_str group_instance_id; /* v3+, nullable; null before; INVAL if set below v3 */
    int32_t assignment_count;   /* the leader sends every member's; the others 0 */
    const weir_sync_group_assignment *assignments;
} weir_sync_group_request;

typedef struct weir_sync_group_response {
    int32_t throttle_time_ms; /* v1+ (first field); 0 before */
    int16_t error_code;
    weir_bytes assignment; /* BYTES (not nullable): send length 0 for none */
} weir_sync_group_response;

WEIR_MUST_CHECK int weir_decode_sync_group_request(weir_rd *rd, int16_t version, weir_arena *a,
                                                   weir_sync_group_request *out);
WEIR_MUST_CHECK int weir_encode_sync_group_response(weir_wr *w, int16_t version,
                                                    const weir_sync_group_response *r);
WEIR_MUST_CHECK int weir_encode_sync_group_request(weir_wr *w, int16_t version,
                                                   const weir_sync_group_request *r);
WEIR_MUST_CHECK int weir_decode_sync_group_response(weir_rd *rd, int16_t version, weir_arena *a,
                                                    weir_sync_group_response *out);

/* ---- DescribeGroups (15), v0-v4 ---- */

/* Kafka's "not requested / unknown" value of AuthorizedOperations. */
#define WEIR_AUTHORIZED_OPERATIONS_UNKNOWN INT32_MIN

typedef struct weir_describe_groups_request {
    int32_t group_count;
    const weir_str *groups;             /* group ids */
    bool include_authorized_operations; /* v3+; false before */
} weir_describe_groups_request;

typedef struct weir_describe_groups_member {
    weir_str member_id;
    weir_str group_instance_id; /* v4+, nullable; null before */
    weir_str client_id;
    weir_str client_host;
    weir_bytes member_metadata;
    weir_bytes member_assignment;
} weir_describe_groups_member;

typedef struct weir_describe_groups_group {
    int16_t error_code;
    weir_str group_id;
    weir_str group_state;   /* "Stable", "PreparingRebalance", "Empty", "Dead", ... */
    weir_str protocol_type; /* "" when empty */
    weir_str protocol_data; /* the chosen protocol name */
    int32_t member_count;
    const weir_describe_groups_member *members;
    int32_t authorized_operations; /* v3+; WEIR_AUTHORIZED_OPERATIONS_UNKNOWN before */
} weir_describe_groups_group;

typedef struct weir_describe_groups_response {
    int32_t throttle_time_ms; /* v1+ (first field); 0 before */
    int32_t group_count;
    const weir_describe_groups_group *groups;
} weir_describe_groups_response;

WEIR_MUST_CHECK int weir_decode_describe_groups_request(weir_rd *rd, int16_t version, weir_arena *a,
                                                        weir_describe_groups_request *out);
WEIR_MUST_CHECK int weir_encode_describe_groups_response(weir_wr *w, int16_t version,
                                                         const weir_describe_groups_response *r);
WEIR_MUST_CHECK int weir_encode_describe_groups_request(weir_wr *w, int16_t version,
                                                        const weir_describe_groups_request *r);
WEIR_MUST_CHECK int weir_decode_describe_groups_response(weir_rd *rd, int16_t version,
                                                         weir_arena *a,
                                                         weir_describe_groups_response *out);

/* ---- ListGroups (16), v0-v2 ---- */

typedef struct weir_list_groups_request {
    int32_t unused; /* the body is empty in v0-v2 (StatesFilter is v4+) */
} weir_list_groups_request;

typedef struct weir_list_groups_group {
    weir_str group_id;
    weir_str protocol_type; /* "consumer", or "" for a group with no members yet */
} weir_list_groups_group;

typedef struct weir_list_groups_response {
    int32_t throttle_time_ms; /* v1+ (first field); 0 before */
    int16_t error_code;
    int32_t group_count;
    const weir_list_groups_group *groups;
} weir_list_groups_response;

WEIR_MUST_CHECK int weir_decode_list_groups_request(weir_rd *rd, int16_t version, weir_arena *a,
                                                    weir_list_groups_request *out);
WEIR_MUST_CHECK int weir_encode_list_groups_response(weir_wr *w, int16_t version,
                                                     const weir_list_groups_response *r);
WEIR_MUST_CHECK int weir_encode_list_groups_request(weir_wr *w, int16_t version,
                                                    const weir_list_groups_request *r);
WEIR_MUST_CHECK int weir_decode_list_groups_response(weir_rd *rd, int16_t version, weir_arena *a,
                                                     weir_list_groups_response *out);

#endif
