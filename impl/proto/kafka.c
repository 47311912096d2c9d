/* The supported-API table and Kafka's error-code names. */
#include "proto/kafka.h"

/* {key, min, max, flexible from}. Client ranges from ../shared/notes/WIRE.md §6
 * (phases 1-3); the inter-broker ranges are the versions weir's replication and
 * controller speak. Flexible-from values are Kafka's flexibleVersions for each
 * message. */
const weir_api_range weir_api_table[] = {
    {WEIR_API_PRODUCE, 3, 7, 9},        /* >= 3: record batch v2 (librdkafka MsgVer2) */
    {WEIR_API_FETCH, 4, 11, 12},        /* v4 kafka-python, v11 librdkafka/kafkajs */
    {WEIR_API_LIST_OFFSETS, 0, 3, 6},   /* v0 OldStyleOffsets; v1 kafka-python, v2 librdkafka */
    {WEIR_API_METADATA, 0, 4, 9},       /* v0 for the kafka-python version probe */
    {WEIR_API_LEADER_AND_ISR, 2, 3, 4}, /* >= 2: TopicStates grouping; v3 Adding/RemovingReplicas */
    {WEIR_API_OFFSET_COMMIT, 0, 7, 8},  /* v2 kafka-python, v7 librdkafka */
    {WEIR_API_OFFSET_FETCH, 0, 5, 6},   /* v1 kafka-python, v5 librdkafka (6+ flexible) */
    {WEIR_API_FIND_COORDINATOR, 0, 2, 3}, /* min 0, or librdkafka never looks one up */
    {WEIR_API_JOIN_GROUP, 0, 5, 6},       /* v2 kafka-python, v5 librdkafka */
    {WEIR_API_HEARTBEAT, 0, 3, 4},
    {WEIR_API_LEAVE_GROUP, 0, 1, 4}, /* v3+ leaves in batches (Members[]) */
    {WEIR_API_SYNC_GROUP, 0, 3, 4},
    {WEIR_API_DESCRIBE_GROUPS, 0, 4, 5},
    {WEIR_API_LIST_GROUPS, 0, 2, 3},   /* librdkafka would use flexible v3+ */
    {WEIR_API_API_VERSIONS, 0, 3, 3},  /* v3 (flexible) is librdkafka's first request */
    {WEIR_API_CREATE_TOPICS, 0, 4, 5}, /* admin clients, P-partition fixtures */
    {WEIR_API_DELETE_TOPICS, 0, 1, 4},
    {WEIR_API_INIT_PRODUCER_ID, 0, 1, 2},        /* 2+ flexible; KIP-360 epoch bumps need 3+ */
    {WEIR_API_OFFSET_FOR_LEADER_EPOCH, 0, 3, 4}, /* KIP-101 truncation; v3 ReplicaId */
    {WEIR_API_ADD_PARTITIONS_TO_TXN, 0, 1, 3},
    {WEIR_API_ADD_OFFSETS_TO_TXN, 0, 1, 3},
    {WEIR_API_END_TXN, 0, 5, 3},           /* v3+ flexible; v5 returns the bumped epoch (KIP-890) */
    {WEIR_API_WRITE_TXN_MARKERS, 0, 0, 1}, /* inter-broker: coordinator -> partition leaders */
    {WEIR_API_TXN_OFFSET_COMMIT, 0, 2, 3},
    {WEIR_API_ALTER_PARTITION, 0, 1, 0}, /* ISR changes; v1 LeaderRecoveryState */
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
    case WEIR_API_OFFSET_COMMIT:
        return "OffsetCommit";
    case WEIR_API_OFFSET_FETCH:
        return "OffsetFetch";
    case WEIR_API_FIND_COORDINATOR:
        return "FindCoordinator";
    case WEIR_API_JOIN_GROUP:
        return "JoinGroup";
    case WEIR_API_HEARTBEAT:
        return "Heartbeat";
    case WEIR_API_LEAVE_GROUP:
        return "LeaveGroup";
    case WEIR_API_SYNC_GROUP:
        return "SyncGroup";
    case WEIR_API_DESCRIBE_GROUPS:
        return "DescribeGroups";
    case WEIR_API_LIST_GROUPS:
        return "ListGroups";
    case WEIR_API_INIT_PRODUCER_ID:
        return "InitProducerId";
    case WEIR_API_ADD_PARTITIONS_TO_TXN:
        return "AddPartitionsToTxn";
    case WEIR_API_ADD_OFFSETS_TO_TXN:
        return "AddOffsetsToTxn";
    case WEIR_API_END_TXN:
        return "EndTxn";
    case WEIR_API_WRITE_TXN_MARKERS:
        return "WriteTxnMarkers";
    case WEIR_API_TXN_OFFSET_COMMIT:
        return "TxnOffsetCommit";
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
    case WEIR_KERR_OFFSET_METADATA_TOO_LARGE:
        return "OFFSET_METADATA_TOO_LARGE";
    case WEIR_KERR_COORDINATOR_LOAD_IN_PROGRESS:
        return "COORDINATOR_LOAD_IN_PROGRESS";
    case WEIR_KERR_COORDINATOR_NOT_AVAILABLE:
        return "COORDINATOR_NOT_AVAILABLE";
    case WEIR_KERR_NOT_COORDINATOR:
        return "NOT_COORDINATOR";
    case WEIR_KERR_ILLEGAL_GENERATION:
        return "ILLEGAL_GENERATION";
    case WEIR_KERR_INCONSISTENT_GROUP_PROTOCOL:
        return "INCONSISTENT_GROUP_PROTOCOL";
    case WEIR_KERR_INVALID_GROUP_ID:
        return "INVALID_GROUP_ID";
    case WEIR_KERR_UNKNOWN_MEMBER_ID:
        return "UNKNOWN_MEMBER_ID";
    case WEIR_KERR_INVALID_SESSION_TIMEOUT:
        return "INVALID_SESSION_TIMEOUT";
    case WEIR_KERR_REBALANCE_IN_PROGRESS:
        return "REBALANCE_IN_PROGRESS";
    case WEIR_KERR_INVALID_COMMIT_OFFSET_SIZE:
        return "INVALID_COMMIT_OFFSET_SIZE";
    case WEIR_KERR_TOPIC_AUTHORIZATION_FAILED:
        return "TOPIC_AUTHORIZATION_FAILED";
    case WEIR_KERR_GROUP_AUTHORIZATION_FAILED:
        return "GROUP_AUTHORIZATION_FAILED";
    case WEIR_KERR_OUT_OF_ORDER_SEQUENCE_NUMBER:
        return "OUT_OF_ORDER_SEQUENCE_NUMBER";
    case WEIR_KERR_DUPLICATE_SEQUENCE_NUMBER:
        return "DUPLICATE_SEQUENCE_NUMBER";
    case WEIR_KERR_INVALID_PRODUCER_EPOCH:
        return "INVALID_PRODUCER_EPOCH";
    case WEIR_KERR_INVALID_TXN_STATE:
        return "INVALID_TXN_STATE";
    case WEIR_KERR_INVALID_PRODUCER_ID_MAPPING:
        return "INVALID_PRODUCER_ID_MAPPING";
    case WEIR_KERR_INVALID_TRANSACTION_TIMEOUT:
        return "INVALID_TRANSACTION_TIMEOUT";
    case WEIR_KERR_CONCURRENT_TRANSACTIONS:
        return "CONCURRENT_TRANSACTIONS";
    case WEIR_KERR_TRANSACTION_COORDINATOR_FENCED:
        return "TRANSACTION_COORDINATOR_FENCED";
    case WEIR_KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
        return "TRANSACTIONAL_ID_AUTHORIZATION_FAILED";
    case WEIR_KERR_UNKNOWN_PRODUCER_ID:
        return "UNKNOWN_PRODUCER_ID";
    case WEIR_KERR_NON_EMPTY_GROUP:
        return "NON_EMPTY_GROUP";
    case WEIR_KERR_GROUP_ID_NOT_FOUND:
        return "GROUP_ID_NOT_FOUND";
    case WEIR_KERR_MEMBER_ID_REQUIRED:
        return "MEMBER_ID_REQUIRED";
    case WEIR_KERR_GROUP_MAX_SIZE_REACHED:
        return "GROUP_MAX_SIZE_REACHED";
    case WEIR_KERR_FENCED_INSTANCE_ID:
        return "FENCED_INSTANCE_ID";
    case WEIR_KERR_UNSTABLE_OFFSET_COMMIT:
        return "UNSTABLE_OFFSET_COMMIT";
    case WEIR_KERR_PRODUCER_FENCED:
        return "PRODUCER_FENCED";
    case WEIR_KERR_TRANSACTIONAL_ID_NOT_FOUND:
        return "TRANSACTIONAL_ID_NOT_FOUND";
    case WEIR_KERR_TRANSACTION_ABORTABLE:
        return "TRANSACTION_ABORTABLE";
    }
    return "UNKNOWN_ERROR_CODE";
}
