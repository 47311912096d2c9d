/* The supported-API table and Kafka's error-code names. */
#include "proto/kafka.h"

/* {key, min, max, flexible from}. Client ranges from ../shared/notes/WIRE.md §6
 * (phase 1); the inter-broker ranges are the versions weir's replication and
 * controller speak. Flexible-from values are Kafka's flexibleVersions for each
 * message. */
const weir_api_range weir_api_table[] = {
    {WEIR_API_PRODUCE, 3, 7, 9},        /* >= 3: record batch v2 (librdkafka MsgVer2) */
    {WEIR_API_FETCH, 4, 11, 12},        /* v4 kafka-python, v11 librdkafka/kafkajs */
    {WEIR_API_LIST_OFFSETS, 0, 3, 6},   /* v0 OldStyleOffsets; v1 kafka-python, v2 librdkafka */
    {WEIR_API_METADATA, 0, 4, 9},       /* v0 for the kafka-python version probe */
    {WEIR_API_LEADER_AND_ISR, 2, 3, 4}, /* >= 2: TopicStates grouping; v3 Adding/RemovingReplicas */
    {WEIR_API_API_VERSIONS, 0, 3, 3},   /* v3 (flexible) is librdkafka's first request */
    {WEIR_API_CREATE_TOPICS, 0, 4, 5},  /* admin clients, P-partition fixtures */
    {WEIR_API_DELETE_TOPICS, 0, 1, 4},
    {WEIR_API_OFFSET_FOR_LEADER_EPOCH, 0, 3, 4}, /* KIP-101 truncation; v3 ReplicaId */
    {WEIR_API_ALTER_PARTITION, 0, 1, 0},         /* ISR changes; v1 LeaderRecoveryState */
    {WEIR_API_BROKER_REGISTRATION, 0, 0, 0},
    {WEIR_API_BROKER_HEARTBEAT, 0, 0, 0},
};

const int32_t weir_api_table_count = (int32_t)(sizeof weir_api_table / sizeof weir_api_table[0]);

const weir_api_range *weir_api_find(int16_t api_key)
{
    for (int32_t i = 0; i < weir_api_table_count; i++) {
        if (weir_api_table[i].api_key == api_key) {
            return &weir_api_table[i];
        }
    }
    return NULL;
}

bool weir_api_supported(int16_t api_key, int16_t version)
{
    const weir_api_range *r = weir_api_find(api_key);
    return r != NULL && version >= r->min_version && version <= r->max_version;
}

bool weir_api_flexible(int16_t api_key, int16_t version)
{
    const weir_api_range *r = weir_api_find(api_key);
    return r != NULL && r->flex_from >= 0 && version >= r->flex_from;
}

bool weir_api_response_header_tagged(int16_t api_key, int16_t version)
{
    return api_key != WEIR_API_API_VERSIONS && weir_api_flexible(api_key, version);
}

const char *weir_api_name(int16_t api_key)
{
    switch (api_key) {
    case WEIR_API_PRODUCE:
        return "Produce";
    case WEIR_API_FETCH:
        return "Fetch";
    case WEIR_API_LIST_OFFSETS:
        return "ListOffsets";
    case WEIR_API_METADATA:
        return "Metadata";
    case WEIR_API_API_VERSIONS:
        return "ApiVersions";
    case WEIR_API_CREATE_TOPICS:
        return "CreateTopics";
    case WEIR_API_DELETE_TOPICS:
        return "DeleteTopics";
    case WEIR_API_LEADER_AND_ISR:
        return "LeaderAndIsr";
    case WEIR_API_OFFSET_FOR_LEADER_EPOCH:
        return "OffsetForLeaderEpoch";
    case WEIR_API_ALTER_PARTITION:
        return "AlterPartition";
    case WEIR_API_BROKER_REGISTRATION:
        return "BrokerRegistration";
    case WEIR_API_BROKER_HEARTBEAT:
        return "BrokerHeartbeat";
    default:
        return "Unknown";
    }
}

const char *weir_kerr_name(int16_t code)
{
    switch ((weir_kerr)code) {
    case WEIR_KERR_UNKNOWN_SERVER_ERROR:
        return "UNKNOWN_SERVER_ERROR";
    case WEIR_KERR_NONE:
        return "NONE";
    case WEIR_KERR_OFFSET_OUT_OF_RANGE:
        return "OFFSET_OUT_OF_RANGE";
    case WEIR_KERR_CORRUPT_MESSAGE:
        return "CORRUPT_MESSAGE";
    case WEIR_KERR_UNKNOWN_TOPIC_OR_PARTITION:
        return "UNKNOWN_TOPIC_OR_PARTITION";
    case WEIR_KERR_INVALID_FETCH_SIZE:
        return "INVALID_FETCH_SIZE";
    case WEIR_KERR_LEADER_NOT_AVAILABLE:
        return "LEADER_NOT_AVAILABLE";
    case WEIR_KERR_NOT_LEADER_OR_FOLLOWER:
        return "NOT_LEADER_OR_FOLLOWER";
    case WEIR_KERR_REQUEST_TIMED_OUT:
        return "REQUEST_TIMED_OUT";
    case WEIR_KERR_MESSAGE_TOO_LARGE:
        return "MESSAGE_TOO_LARGE";
    case WEIR_KERR_INVALID_TOPIC_EXCEPTION:
        return "INVALID_TOPIC_EXCEPTION";
    case WEIR_KERR_RECORD_LIST_TOO_LARGE:
        return "RECORD_LIST_TOO_LARGE";
    case WEIR_KERR_NOT_ENOUGH_REPLICAS:
        return "NOT_ENOUGH_REPLICAS";
    case WEIR_KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
        return "NOT_ENOUGH_REPLICAS_AFTER_APPEND";
    case WEIR_KERR_INVALID_REQUIRED_ACKS:
        return "INVALID_REQUIRED_ACKS";
    case WEIR_KERR_UNSUPPORTED_VERSION:
        return "UNSUPPORTED_VERSION";
    case WEIR_KERR_TOPIC_ALREADY_EXISTS:
        return "TOPIC_ALREADY_EXISTS";
    case WEIR_KERR_INVALID_PARTITIONS:
        return "INVALID_PARTITIONS";
    case WEIR_KERR_INVALID_REPLICATION_FACTOR:
        return "INVALID_REPLICATION_FACTOR";
    case WEIR_KERR_INVALID_REQUEST:
        return "INVALID_REQUEST";
    case WEIR_KERR_KAFKA_STORAGE_ERROR:
        return "KAFKA_STORAGE_ERROR";
    }
    return "UNKNOWN_ERROR_CODE";
}
