/* The consumer side of Kafka's classic group protocol, as pure functions:
 * the "consumer" protocol type's member metadata (ConsumerProtocol
 * Subscription and Assignment, version 0 written, any version read) and the
 * two built-in assignors the leader runs.
 *
 *   Subscription v0: Version i16, Topics [STRING], UserData nullable BYTES
 *   Assignment v0:   Version i16, AssignedPartitions [Topic STRING, Partitions [i32]],
 *                    UserData nullable BYTES
 *
 * Later versions append fields (v1 OwnedPartitions, v2 GenerationId, v3
 * RackId); a reader takes the v0 prefix and ignores the rest, as Kafka's
 * compatibility rules allow, so Java and librdkafka members can share a group.
 *
 * Assignors (deterministic: members sorted by member id with strcmp, topics by
 * name, partitions by index; Kafka compares Java strings, the same order for
 * ASCII ids):
 *   "range":      per topic, the members subscribed to it get contiguous
 *                 ranges; the first (partitions % members) get one extra.
 *   "roundrobin": every partition of every subscribed topic, sorted by topic
 *                 then partition, dealt in turn to the sorted members,
 *                 skipping members not subscribed to the partition's topic.
 * A topic no member subscribes to, or with no partitions, is not assigned.
 */
#ifndef WEIR_CLIENT_ASSIGNOR_H
#define WEIR_CLIENT_ASSIGNOR_H

#include <stdbool.h>
#include <stdint.h>

#include "client/consumer.h"
#include "core/err.h"
#include "proto/wire.h"

/* One member as the leader sees it (JoinGroup response + decoded metadata). */
typedef struct weir_assignor_member {
    const char *member_id;
    int32_t topic_count;
    const char *const *topics; /* subscribed topics (duplicates allowed) */
} weir_assignor_member;

/* What the leader knows about a topic; partition_count <= 0: unknown. */
typedef struct weir_assignor_topic {
    const char *name;
    int32_t partition_count;
} weir_assignor_topic;

/* One member's share; topic pointers point at the weir_assignor_topic names
 * the assignor was given. */
typedef struct weir_assignor_share {
    weir_topic_partition *tps; /* sorted by topic, then partition */
    int32_t count;
} weir_assignor_share;

/* True for "range" and "roundrobin". */
bool weir_assignor_known(const char *name);

/* Runs assignor `name` over members[0..member_count) and topics; fills
 * shares[i] for members[i] (the caller provides member_count entries; free
 * them with weir_assignor_shares_free). Returns 0, WEIR_E_INVAL (unknown
 * assignor, duplicate member ids) or WEIR_E_NOMEM (nothing to free). */
WEIR_MUST_CHECK int weir_assignor_assign(const char *name, const weir_assignor_member *members,
                                         int32_t member_count, const weir_assignor_topic *topics,
                                         int32_t topic_count, weir_assignor_share *shares);

void weir_assignor_shares_free(weir_assignor_share *shares, int32_t member_count);

/* ---- ConsumerProtocol ---- */

/* Appends Subscription v0 (null user data) to w. Returns 0 or the writer's
 * error. */
WEIR_MUST_CHECK int weir_assignor_subscription_encode(weir_wr *w, const char *const *topics,
                                                      int32_t count);

/* Reads a Subscription of any version into *topics_out (count_out names;
 * each a weir_str view into b, the array from the arena). Returns 0,
 * WEIR_E_CORRUPT (negative version, truncated, a null topic name) or
 * WEIR_E_NOMEM. */
WEIR_MUST_CHECK int weir_assignor_subscription_decode(weir_bytes b, weir_arena *a,
                                                      const weir_str **topics_out,
                                                      int32_t *count_out);

/* Appends Assignment v0 for tps (grouped by topic in first-appearance order;
 * null user data). Returns 0 or the writer's error. */
WEIR_MUST_CHECK int weir_assignor_assignment_encode(weir_wr *w, const weir_topic_partition *tps,
                                                    int32_t count);

/* Reads an Assignment of any version; an empty b (a member the leader gave
 * nothing) is an empty assignment. *tps_out is malloc'd with strdup'd topic
 * names, duplicates dropped; free it with weir_assignor_tps_free. Returns 0,
 * WEIR_E_CORRUPT (nothing allocated) or WEIR_E_NOMEM. */
WEIR_MUST_CHECK int weir_assignor_assignment_decode(weir_bytes b, weir_topic_partition **tps_out,
                                                    int32_t *count_out);

void weir_assignor_tps_free(weir_topic_partition *tps, int32_t count);

#endif
