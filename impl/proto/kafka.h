/* Kafka protocol constants: API keys, wire error codes, and the one table of
 * the APIs and versions weir implements.
 *
 * weir_api_table is the single source of truth: the request dispatcher
 * accepts exactly these (key, version) pairs and ApiVersions advertises
 * exactly these ranges, so weir can never advertise a version it has no
 * codec for. Every version in every range has a decoder and an encoder in
 * messages.c (tests/unit/test_proto.c round-trips all of them).
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
    WEIR_API_API_VERSIONS = 18,
    WEIR_API_CREATE_TOPICS = 19,
    WEIR_API_DELETE_TOPICS = 20,
    WEIR_API_OFFSET_FOR_LEADER_EPOCH = 23, /* inter-broker: follower -> leader */
    WEIR_API_ALTER_PARTITION = 56,         /* inter-broker: leader -> controller */
    WEIR_API_BROKER_REGISTRATION = 62,     /* inter-broker: broker -> controller */
    WEIR_API_BROKER_HEARTBEAT = 63,        /* inter-broker: broker -> controller */
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
    WEIR_KERR_INVALID_TOPIC_EXCEPTION = 17,
    WEIR_KERR_RECORD_LIST_TOO_LARGE = 18,
    WEIR_KERR_NOT_ENOUGH_REPLICAS = 19,
    WEIR_KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND = 20,
    WEIR_KERR_INVALID_REQUIRED_ACKS = 21,
    WEIR_KERR_UNSUPPORTED_VERSION = 35,
    WEIR_KERR_TOPIC_ALREADY_EXISTS = 36,
    WEIR_KERR_INVALID_PARTITIONS = 37,
    WEIR_KERR_INVALID_REPLICATION_FACTOR = 38,
    WEIR_KERR_INVALID_REQUEST = 42,
    WEIR_KERR_KAFKA_STORAGE_ERROR = 56,
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
 * and the inter-broker APIs (replication and controller; codecs in
 * messages_cluster.c):
 *   LeaderAndIsr 4: 2-3, OffsetForLeaderEpoch 23: 0-3,
 *   AlterPartition 56: 0-1 (flexible), BrokerRegistration 62: 0 (flexible),
 *   BrokerHeartbeat 63: 0 (flexible). */
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
