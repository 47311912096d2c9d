/* Kafka protocol constants: API keys, wire error codes, and the one table of
 * the APIs and versions weir implements.
 *
 * weir_api_table is the single source of truth: the request dispatcher
 * accepts exactly these (key, version) pairs and ApiVersions advertises
 * exactly these ranges, so weir can never advertise a version it has no
 * codec for. Every version in every range has a decoder and an encoder in
 * messages.c, messages_cluster.c, messages_group.c or messages_txn.c
 * (tests/unit/test_proto.c round-trips all of them).
 *
 * Kafka error codes (weir_kerr) are their own type: they travel in int16
 * fields and never mix with WEIR_E_*.
 */
#ifndef WEIR_PROTO_KAFKA_H
#define WEIR_PROTO_KAFKA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum weir_api_key {
    WEIR_API_PRODUCE = 0,
    WEIR_API_FETCH = 1,
    WEIR_API_LIST_OFFSETS = 2,
    WEIR_API_METADATA = 3,
    WEIR_API_LEADER_AND_ISR = 4, /* inter-broker: controller -> broker */
    WEIR_API_OFFSET_COMMIT = 8,
    WEIR_API_OFFSET_FETCH = 9,
    WEIR_API_FIND_COORDINATOR = 10,
    WEIR_API_JOIN_GROUP = 11,
    WEIR_API_HEARTBEAT = 12,
    WEIR_API_LEAVE_GROUP = 13,
    WEIR_API_SYNC_GROUP = 14,
    WEIR_API_DESCRIBE_GROUPS = 15,
    WEIR_API_LIST_GROUPS = 16,
    WEIR_API_API_VERSIONS = 18,
    WEIR_API_CREATE_TOPICS = 19,
    WEIR_API_DELETE_TOPICS = 20,
    WEIR_API_INIT_PRODUCER_ID = 22,
    WEIR_API_OFFSET_FOR_LEADER_EPOCH = 23, /* inter-broker: follower -> leader */
    WEIR_API_ADD_PARTITIONS_TO_TXN = 24,
    WEIR_API_ADD_OFFSETS_TO_TXN = 25,
    WEIR_API_END_TXN = 26,
    WEIR_API_WRITE_TXN_MARKERS = 27, /* inter-broker: txn coordinator -> partition leader */
    WEIR_API_TXN_OFFSET_COMMIT = 28,
    WEIR_API_ALTER_PARTITION = 56,     /* inter-broker: leader -> controller */
    WEIR_API_BROKER_REGISTRATION = 62, /* inter-broker: broker -> controller */
    WEIR_API_BROKER_HEARTBEAT = 63,    /* inter-broker: broker -> controller */
};

/* Kafka's error codes, with Kafka's numbers. */
typedef enum weir_kerr {
    WEIR_KERR_UNKNOWN_SERVER_ERROR = -1,
    WEIR_KERR_NONE = 0,
    WEIR_KERR_OFFSET_OUT_OF_RANGE = 1,
    WEIR_KERR_CORRUPT_MESSAGE = 2,
    WEIR_KERR_UNKNOWN_TOPIC_OR_PARTITION = 3,
    WEIR_KERR_INVALID_FETCH_SIZE = 4,
    WEIR_KERR_LEADER_NOT_AVAILABLE = 5,
    WEIR_KERR_NOT_LEADER_OR_FOLLOWER = 6,
    WEIR_KERR_REQUEST_TIMED_OUT = 7,
    WEIR_KERR_MESSAGE_TOO_LARGE = 10,
    WEIR_KERR_OFFSET_METADATA_TOO_LARGE = 12,
    WEIR_KERR_COORDINATOR_LOAD_IN_PROGRESS = 14,
    WEIR_KERR_COORDINATOR_NOT_AVAILABLE = 15,
    WEIR_KERR_NOT_COORDINATOR = 16,
    WEIR_KERR_INVALID_TOPIC_EXCEPTION = 17,
    WEIR_KERR_RECORD_LIST_TOO_LARGE = 18,
    WEIR_KERR_NOT_ENOUGH_REPLICAS = 19,
    WEIR_KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND = 20,
    WEIR_KERR_INVALID_REQUIRED_ACKS = 21,
    WEIR_KERR_ILLEGAL_GENERATION = 22,
    WEIR_KERR_INCONSISTENT_GROUP_PROTOCOL = 23,
    WEIR_KERR_INVALID_GROUP_ID = 24,
    WEIR_KERR_UNKNOWN_MEMBER_ID = 25,
    WEIR_KERR_INVALID_SESSION_TIMEOUT = 26,
    WEIR_KERR_REBALANCE_IN_PROGRESS = 27,
    WEIR_KERR_INVALID_COMMIT_OFFSET_SIZE = 28,
    WEIR_KERR_TOPIC_AUTHORIZATION_FAILED = 29,
    WEIR_KERR_GROUP_AUTHORIZATION_FAILED = 30,
    WEIR_KERR_UNSUPPORTED_VERSION = 35,
    WEIR_KERR_TOPIC_ALREADY_EXISTS = 36,
    WEIR_KERR_INVALID_PARTITIONS = 37,
    WEIR_KERR_INVALID_REPLICATION_FACTOR = 38,
    WEIR_KERR_INVALID_REQUEST = 42,
    WEIR_KERR_OUT_OF_ORDER_SEQUENCE_NUMBER = 45,
    WEIR_KERR_DUPLICATE_SEQUENCE_NUMBER = 46,
    WEIR_KERR_INVALID_PRODUCER_EPOCH = 47,
    WEIR_KERR_INVALID_TXN_STATE = 48,
    WEIR_KERR_INVALID_PRODUCER_ID_MAPPING = 49,
    WEIR_KERR_INVALID_TRANSACTION_TIMEOUT = 50,
    WEIR_KERR_CONCURRENT_TRANSACTIONS = 51,
    WEIR_KERR_TRANSACTION_COORDINATOR_FENCED = 52,
    WEIR_KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53,
    WEIR_KERR_KAFKA_STORAGE_ERROR = 56,
    WEIR_KERR_UNKNOWN_PRODUCER_ID = 59,
    WEIR_KERR_NON_EMPTY_GROUP = 68,
    WEIR_KERR_GROUP_ID_NOT_FOUND = 69,
    WEIR_KERR_MEMBER_ID_REQUIRED = 79,
    WEIR_KERR_GROUP_MAX_SIZE_REACHED = 81,
    WEIR_KERR_FENCED_INSTANCE_ID = 82,
    WEIR_KERR_UNSTABLE_OFFSET_COMMIT = 88,
    WEIR_KERR_PRODUCER_FENCED = 90,
    WEIR_KERR_TRANSACTIONAL_ID_NOT_FOUND = 105,
    WEIR_KERR_TRANSACTION_ABORTABLE = 120,
} weir_kerr;

/* Kafka's name for a code ("UNKNOWN_TOPIC_OR_PARTITION"); "UNKNOWN_ERROR_CODE"
 * for a code not in weir_kerr. Static string. */
const char *weir_kerr_name(int16_t code);

/* One supported API: versions min_version..max_version; versions from
 * flex_from on use the flexible (KIP-482) encoding (Kafka's flexibleVersions;
 * it may lie above max_version, meaning none of ours is flexible). */
typedef struct weir_api_range {
    int16_t api_key;
    int16_t min_version;
    int16_t max_version;
    int16_t flex_from; /* -1 in entries decoded from an ApiVersions response */
} weir_api_range;

/* The table, in api key order:
 *   Produce 0: 3-7, Fetch 1: 4-11, ListOffsets 2: 0-3, Metadata 3: 0-4,
 *   ApiVersions 18: 0-3 (v3 flexible), CreateTopics 19: 0-4, DeleteTopics 20: 0-1;
 * the consumer-group APIs (codecs in messages_group.c):
 *   OffsetCommit 8: 0-7, OffsetFetch 9: 0-5, FindCoordinator 10: 0-2,
 *   JoinGroup 11: 0-5, Heartbeat 12: 0-3, LeaveGroup 13: 0-1, SyncGroup 14: 0-3,
 *   DescribeGroups 15: 0-4, ListGroups 16: 0-2;
 * idempotence and transactions (codecs in messages_txn.c):
 *   InitProducerId 22: 0-1, AddPartitionsToTxn 24: 0-1, AddOffsetsToTxn 25: 0-1,
 *   EndTxn 26: 0-5 (v3+ flexible), WriteTxnMarkers 27: 0 (inter-broker),
 *   TxnOffsetCommit 28: 0-2;
 * and the inter-broker APIs (replication and controller; codecs in
 * messages_cluster.c):
 *   LeaderAndIsr 4: 2-3, OffsetForLeaderEpoch 23: 0-3,
 *   AlterPartition 56: 0-1 (flexible), BrokerRegistration 62: 0 (flexible),
 *   BrokerHeartbeat 63: 0 (flexible).
 * Apart from ApiVersions v3, EndTxn v3-v5 and the controller APIs, no
 * advertised version is flexible. */
extern const weir_api_range weir_api_table[];
extern const int32_t weir_api_table_count;

/* The table entry for key, or NULL when weir does not implement the API. */
const weir_api_range *weir_api_find(int16_t api_key);

/* True when weir implements (api_key, version). */
bool weir_api_supported(int16_t api_key, int16_t version);

/* True when the request of (api_key, version) is flexible: request header v2
 * and a flexible body. Uses Kafka's flexibleVersions, so it also answers for
 * versions above weir's max (ApiVersions v4 is flexible). False for unknown keys. */
bool weir_api_flexible(int16_t api_key, int16_t version);

/* True when the response header carries a tag buffer (header v1): flexible,
 * and not ApiVersions (always header v0). */
bool weir_api_response_header_tagged(int16_t api_key, int16_t version);

/* "Produce", "Fetch", ...; "Unknown" for keys weir does not know. */
const char *weir_api_name(int16_t api_key);

#endif
