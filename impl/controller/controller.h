/* The controller node: the authority on brokers and partition leadership.
 *
 * Brokers register (BrokerRegistration) and heartbeat (BrokerHeartbeat); one
 * that misses broker.session.timeout.ms is fenced (the stalest first; time
 * the controller itself did not run does not count). Topics are created here
 * (CreateTopics, or the configured list once enough brokers are up), with
 * replicas assigned round robin. When a leader is fenced the controller
 * elects a new one from the ISR (or, with unclean.leader.election.enable, any
 * live replica), bumps the leader epoch and pushes the state of every
 * partition to every live broker (LeaderAndIsr). Leaders propose ISR changes
 * with AlterPartition; the controller's answer is authoritative.
 *
 * One controller for now; its state lives in memory, so it is not crashed in
 * scenarios (a later issue makes it a quorum).
 */
#ifndef WEIR_CONTROLLER_CONTROLLER_H
#define WEIR_CONTROLLER_CONTROLLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#include "env/world.h"

#define WEIR_CONTROLLER_TOPICS_MAX 64

typedef struct weir_controller_topic_spec {
    char name[250];
    int32_t partitions;
    int16_t replication_factor;
    /* partitions x replication_factor broker ids, row by row (the first of a
     * row is the preferred leader); NULL: round robin. Must outlive the node. */
    const int32_t *assignment;
} weir_controller_topic_spec;

/* What changed, for timelines and oracles (all optional). */
typedef struct weir_controller_observer {
    void (*leader_changed)(void *arg, const char *topic, int32_t partition, int32_t old_leader,
                           int32_t new_leader, int32_t leader_epoch, bool unclean);
    void (*isr_changed)(void *arg, const char *topic, int32_t partition, const int32_t *isr,
                        int n_isr);
    void (*broker_fenced)(void *arg, int32_t broker_id);
    void (*broker_registered)(void *arg, int32_t broker_id, int64_t broker_epoch);
    void *arg;
} weir_controller_observer;

typedef struct weir_controller_config {
    int32_t node_id;                  /* 1000 */
    char listen_host[128];            /* "controller" in the sim */
    int listen_port;                  /* 9093 */
    int64_t session_timeout_ms;       /* broker.session.timeout.ms: 9000 */
    bool unclean_election;            /* unclean.leader.election.enable: false */
    int32_t default_partitions;       /* for CreateTopics with -1: 1 */
    int16_t default_replication_factor; /* 1 */
    weir_controller_topic_spec topics[WEIR_CONTROLLER_TOPICS_MAX]; /* created at start */
    int n_topics;
    int log_level;                    /* -1: the env's */
    weir_controller_observer observer;
} weir_controller_config;

void weir_controller_config_default(weir_controller_config *cfg);

/* One setting by Kafka's name: node.id, listeners, broker.session.timeout.ms,
 * unclean.leader.election.enable, num.partitions, default.replication.factor.
 * WEIR_E_NOENT for an unknown key, WEIR_E_INVAL with why for a bad value. */
WEIR_MUST_CHECK int weir_controller_config_set(weir_controller_config *cfg, const char *key,
                                               const char *value, char *why, size_t why_size);

typedef struct weir_controller weir_controller;

/* Node type: arg is a weir_controller_config (copied). */
extern const weir_node_type weir_controller_node;

/* For tests and oracles: the controller's view of one partition. */
bool weir_controller_partition(const weir_controller *c, const char *topic, int32_t partition,
                               int32_t *leader, int32_t *leader_epoch, int32_t *isr, int *n_isr);

#endif
