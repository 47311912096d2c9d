/* Broker settings, read from a Kafka-style properties file (`key=value`
 * lines, `#` or `!` comments) and command-line overrides, with Kafka's names
 * and defaults. Log settings (`log.segment.bytes`, `log.retention.ms`, ...)
 * go to weir_log_config. Errors name the source and line.
 */
#ifndef WEIR_BROKER_CONFIG_H
#define WEIR_BROKER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log/log.h"

#define WEIR_BROKER_HOST_MAX 128
#define WEIR_BROKER_PATH_MAX 1024

typedef struct weir_broker_config {
    int32_t node_id;                      /* node.id (or broker.id): 0 */
    char listen_host[WEIR_BROKER_HOST_MAX]; /* from listeners=PLAINTEXT://host:port */
    int listen_port;                      /* 9092 */
    char advertised_host[WEIR_BROKER_HOST_MAX]; /* advertised.listeners, else the listener */
    int advertised_port;
    char log_dir[WEIR_BROKER_PATH_MAX];   /* log.dirs (first entry) or log.dir: /tmp/kafka-logs */
    int32_t num_partitions;               /* num.partitions: 1 */
    int16_t default_replication_factor;   /* default.replication.factor: 1 */
    bool auto_create_topics;              /* auto.create.topics.enable: true */
    uint32_t socket_request_max_bytes;    /* socket.request.max.bytes: 104857600 */
    int64_t retention_check_interval_ms;  /* log.retention.check.interval.ms: 300000 */
    int64_t flush_interval_messages;      /* log.flush.interval.messages: -1 = never */
    int64_t flush_interval_ms;            /* log.flush.interval.ms: -1 = never */
    int64_t fetch_max_wait_cap_ms;        /* longest fetch wait honoured: 30000 */
    char cluster_id[64];                  /* cluster.id: "weir" */
    int log_level;                        /* weir_log_level for the node; -1 = the env's */
    /* cluster mode (replication), when a controller is configured */
    char controller_addr[WEIR_BROKER_HOST_MAX + 8]; /* controller.quorum.voters=ID@host:port; "" = standalone */
    int16_t min_insync_replicas;          /* min.insync.replicas: 1 */
    int64_t replica_lag_time_max_ms;      /* replica.lag.time.max.ms: 30000 */
    int32_t replica_fetch_wait_max_ms;    /* replica.fetch.wait.max.ms: 500 */
    int32_t replica_fetch_max_bytes;      /* replica.fetch.max.bytes: 1048576 */
    int32_t replica_socket_timeout_ms;    /* replica.socket.timeout.ms: 30000 */
    int64_t heartbeat_interval_ms;        /* broker.heartbeat.interval.ms: 2000 */
    int64_t hw_checkpoint_interval_ms;    /* replica.high.watermark.checkpoint.interval.ms: 5000 */
    bool truncate_by_epoch;               /* replication.truncation.rule: leader_epoch (true) or truncate_to_hw */
    /* Coordinators: consumer groups (__consumer_offsets) and transactions
     * (__transaction_state), with Kafka's names and defaults. */
    int32_t offsets_topic_partitions;       /* offsets.topic.num.partitions: 50 */
    int16_t offsets_topic_replication;      /* offsets.topic.replication.factor: 3 (capped to the live brokers) */
    int32_t offsets_commit_timeout_ms;      /* offsets.commit.timeout.ms: 5000 */
    int32_t offset_metadata_bytes_max;      /* offset.metadata.max.bytes: 4096 */
    int32_t group_initial_rebalance_delay_ms; /* group.initial.rebalance.delay.ms: 3000 */
    int32_t group_session_timeout_ms_min;   /* group.min.session.timeout.ms: 6000 */
    int32_t group_session_timeout_ms_max;   /* group.max.session.timeout.ms: 1800000 */
    int32_t txn_topic_partitions;           /* transaction.state.log.num.partitions: 50 */
    int16_t txn_topic_replication;          /* transaction.state.log.replication.factor: 3 (capped) */
    int32_t txn_timeout_ms_max;             /* transaction.max.timeout.ms: 900000 */
    int64_t txn_id_expiration_ms;           /* transactional.id.expiration.ms: 604800000 */
    int16_t txn_version;                    /* transaction.version: 2 (KIP-890: EndTxn v5 offered); 1: up to v4 */
    /* Per-topic min.insync.replicas (topic-level configs), over the broker's. */
    struct {
        char topic[250];
        int16_t min_insync_replicas;
    } topic_min_isr[16];
    int n_topic_min_isr;
    /* Observers (optional), for timelines and oracles in the simulator. */
    void (*on_truncate)(void *arg, int32_t broker_id, const char *topic, int32_t partition,
                        int64_t from, int64_t to, const char *rule);
    void *observer_arg;
    weir_log_config log;                  /* log.* settings */
} weir_broker_config;

void weir_broker_config_default(weir_broker_config *cfg);

/* Applies one setting. Returns 0, WEIR_E_NOENT for an unknown key (callers
 * warn and go on, as Kafka does), or WEIR_E_INVAL with why (naming the key). */
WEIR_MUST_CHECK int weir_broker_config_set(weir_broker_config *cfg, const char *key,
                                           const char *value, char *why, size_t why_size);

/* Parses properties text. `source` names it in messages ("server.properties").
 * Unknown keys are reported through warn(source, line, key, arg) and skipped;
 * the first bad line fails with why = "<source>:<line>: <reason>". */
WEIR_MUST_CHECK int weir_broker_config_parse(weir_broker_config *cfg, const char *text,
                                             size_t len, const char *source,
                                             void (*warn)(const char *source, int line,
                                                          const char *key, void *arg),
                                             void *arg, char *why, size_t why_size);

#endif
