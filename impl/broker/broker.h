/* The broker node: serves the Kafka protocol (ApiVersions, Metadata, Produce,
 * Fetch, ListOffsets, CreateTopics, DeleteTopics) from partition logs under
 * the node's root, on weir_env only, so the same node runs as `weir broker`
 * on real sockets and inside the simulator.
 *
 * Requests on one connection are handled strictly in order, as Kafka does: a
 * Fetch waiting for data (min_bytes / max_wait_ms, by timer) holds back the
 * requests behind it. Malformed frames, unknown API keys and unsupported
 * versions close the connection with a log line naming the peer and the
 * reason; ApiVersions of an unsupported version gets Kafka's error-35 reply.
 */
#ifndef WEIR_BROKER_BROKER_H
#define WEIR_BROKER_BROKER_H

#include <stdbool.h>

#include "broker/config.h"
#include "env/world.h"

typedef struct weir_broker weir_broker;

/* Node type: arg is a weir_broker_config (copied at start). destroy() frees
 * without writing anything, as a crash would: call weir_broker_shutdown first
 * for a clean stop. */
extern const weir_node_type weir_broker_node;

/* Clean stop: stops listening, answers nothing more, closes every log with
 * its clean-shutdown marker so the next start skips recovery. Idempotent. */
void weir_broker_shutdown(weir_broker *b);

/* One partition as this broker sees it, for tests, oracles and reports. */
typedef struct weir_broker_partition_info {
    bool hosted;           /* a replica lives here */
    int role;              /* weir_replica_role */
    int32_t leader_id;
    int32_t leader_epoch;
    int64_t log_start;
    int64_t log_end;
    int64_t high_watermark;
    int n_isr;
    int32_t isr[16];
} weir_broker_partition_info;

bool weir_broker_partition(const weir_broker *b, const char *topic, int32_t partition,
                           weir_broker_partition_info *out);

/* The partition's log, read-only, for oracles that compare replicas (NULL if
 * not hosted). */
struct weir_plog *weir_broker_partition_log(const weir_broker *b, const char *topic,
                                            int32_t partition);

/* True once the node listens (start can fail: bad log dir, port in use). */
bool weir_broker_is_serving(const weir_broker *b);

#endif
