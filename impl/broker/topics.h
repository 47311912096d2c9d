/* The broker's topics and partitions, each partition a weir_plog in
 * `<topic>-<partition>` under the node's root (the broker's log dir).
 *
 * A partition carries its leader, leader epoch, replicas and ISR from the
 * start; with one broker they are all this node, and the high watermark is
 * the log end. Replication (a later layer) will own those fields.
 */
#ifndef WEIR_BROKER_TOPICS_H
#define WEIR_BROKER_TOPICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "env/env.h"
#include "log/log.h"
#include "replication/replica.h"

#define WEIR_TOPIC_NAME_MAX 249

typedef enum weir_replica_role {
    WEIR_ROLE_NONE,     /* not hosted here, or no word from the controller yet */
    WEIR_ROLE_LEADER,
    WEIR_ROLE_FOLLOWER,
} weir_replica_role;

typedef struct bk_follower bk_follower;

typedef struct weir_partition {
    int32_t index;
    weir_plog *log;             /* NULL: this broker does not host a replica */
    int32_t leader_id;          /* -1: none (offline) or not known yet */
    int32_t leader_epoch;
    int32_t partition_epoch;    /* the controller's version of leader + ISR */
    int32_t replicas[WEIR_REPLICAS_MAX];
    int n_replicas;
    int32_t isr[WEIR_REPLICAS_MAX];
    int n_isr;
    int64_t high_watermark;
    int64_t hw_checkpointed;    /* last HW written to replication-offset-checkpoint */
    int64_t unflushed_messages; /* since the last flush (log.flush.interval.messages) */
    weir_replica_role role;
    weir_leader_state lead;     /* valid while role == LEADER */
    bool isr_change_in_flight;
    bk_follower *follow;        /* while role == FOLLOWER */
} weir_partition;

typedef struct weir_topic {
    char name[WEIR_TOPIC_NAME_MAX + 1];
    int32_t partition_count;
    weir_partition *partitions;
} weir_topic;

typedef struct weir_topics {
    weir_env *env;
    int32_t self_id;
    weir_log_config log_cfg;
    weir_topic **t; /* sorted by name */
    size_t n;
    size_t cap;
} weir_topics;

/* Kafka's rule: 1..249 characters of [a-zA-Z0-9._-], not "." or "..". */
bool weir_topic_name_valid(const char *name, size_t len);

void weir_topics_init(weir_topics *ts, weir_env *env, int32_t self_id, const weir_log_config *cfg);

/* Opens every partition folder in the node's root (recovering each). A
 * folder that does not parse as <topic>-<partition> is skipped with a
 * warning; missing partitions of a topic are created empty. */
WEIR_MUST_CHECK int weir_topics_load(weir_topics *ts);

weir_topic *weir_topics_find(const weir_topics *ts, const char *name, size_t len);
weir_partition *weir_topic_partition(const weir_topic *t, int32_t index);

/* Creates a topic with `partitions` empty partitions. WEIR_E_EXIST if it
 * exists, WEIR_E_INVAL for a bad name or count. */
WEIR_MUST_CHECK int weir_topics_create(weir_topics *ts, const char *name, size_t len,
                                       int32_t partitions, weir_topic **out);

/* Cluster mode: the topic as the controller describes it, hosting nothing
 * yet (partitions are hosted one by one with weir_topics_host). Grows the
 * partition count if the controller knows more. */
WEIR_MUST_CHECK int weir_topics_ensure(weir_topics *ts, const char *name, size_t len,
                                       int32_t partitions, weir_topic **out);

/* Opens (creating if missing) the log of one partition here. */
WEIR_MUST_CHECK int weir_topics_host(weir_topics *ts, weir_topic *t, int32_t index);

/* Closes a topic's logs and deletes their folders. */
WEIR_MUST_CHECK int weir_topics_delete(weir_topics *ts, const char *name, size_t len);

/* Clean shutdown of every log (clean-shutdown markers written); frees all. */
void weir_topics_close(weir_topics *ts);
/* Frees without writing (a crash). */
void weir_topics_abandon(weir_topics *ts);

#endif
