/* Internal to impl/client: the consumer-group member a weir_consumer with a
 * group_id owns (group_member.c), and the few consumer operations the member
 * drives (consumer.c). Not a public header.
 *
 * Split of work: consumer.c fetches (positions, Fetch, ListOffsets,
 * read_committed filtering); group_member.c speaks to the group coordinator
 * (FindCoordinator, JoinGroup, SyncGroup, Heartbeat, OffsetFetch,
 * OffsetCommit, LeaveGroup), runs the assignor when it leads, and tells the
 * consumer which partitions to fetch from where. Both run on the same env and
 * share the consumer's weir_cluster.
 */
#ifndef WEIR_CLIENT_GROUP_MEMBER_H
#define WEIR_CLIENT_GROUP_MEMBER_H

#include <stdbool.h>
#include <stdint.h>

#include "client/cluster.h"
#include "client/consumer.h"

typedef struct weir_group_member weir_group_member;

/* ---- the member (group_member.c), called by consumer.c ---- */

/* True when cfg's group settings are usable (group_id set and not empty, a
 * known assignor, 0 < heartbeat_interval_ms < session_timeout_ms, positive
 * rebalance timeout and, with enable_auto_commit, interval); else false with
 * *why a static reason. */
bool weir_group_member_config_ok(const weir_consumer_config *cfg, const char **why);

/* A member for cfg->group_id (copied), idle until subscribe. NULL with *why
 * on a bad group setting or out of memory. c, cl and the env outlive it. */
weir_group_member *weir_group_member_new(weir_consumer *c, weir_cluster *cl,
                                         const weir_consumer_config *cfg, const char **why);

/* Frees the member; with env_live its timers are cancelled (the cluster,
 * freed by the caller right after, drops the requests in flight). */
void weir_group_member_release(weir_group_member *m, bool env_live);

/* See weir_consumer_subscribe / _commit / _close / _closed. */
WEIR_MUST_CHECK int weir_group_member_subscribe(weir_group_member *m, const char *const *topics,
                                                int32_t count);
WEIR_MUST_CHECK int weir_group_member_commit(weir_group_member *m, weir_consumer_commit_cb cb,
                                             void *ctx);
void weir_group_member_close(weir_group_member *m);
bool weir_group_member_closed(const weir_group_member *m);

/* True once subscribed (manual assignment is refused from then on). */
bool weir_group_member_subscribed(const weir_group_member *m);

/* New metadata or an opened connection: a leader waiting for partition
 * counts may go on. Only arms the member's timer. */
void weir_group_member_wake(weir_group_member *m);

void weir_group_member_metadata(const weir_group_member *m, const char **group_id_out,
                                int32_t *generation_out, const char **member_id_out);

/* ---- the consumer (consumer.c), called by the member ---- */

/* Stops fetching: answers in flight are dropped, no new request goes out;
 * positions stay readable (for the commit before a revoke). */
void weir_consumer_group_pause(weir_consumer *c);

/* Replaces the assignment with tps[0..count) (copied) and resumes fetching.
 * positions[i] >= 0 starts tps[i] there, -1 per auto_offset_reset. Bumps the
 * assignment epoch when bump_epoch. Returns 0 or WEIR_E_NOMEM (the consumer
 * then holds nothing and stays paused). */
WEIR_MUST_CHECK int weir_consumer_group_install(weir_consumer *c, const weir_topic_partition *tps,
                                                const int64_t *positions, int32_t count,
                                                bool bump_epoch);

/* Calls on_assign (assigned) or on_revoke (!assigned), if set, marked as a
 * callback (so the owner cannot assign or free from inside it). */
void weir_consumer_group_notify(weir_consumer *c, bool assigned, const weir_topic_partition *tps,
                                int32_t count);

/* Calls on_error, if set: a group-level error has topic NULL and partition -1. */
void weir_consumer_group_error(weir_consumer *c, const char *topic, int32_t partition,
                               int16_t error, int64_t offset);

/* Calls a commit callback (not NULL), marked as a callback. */
void weir_consumer_group_commit_done(weir_consumer *c, weir_consumer_commit_cb cb, void *ctx,
                                     int16_t error);

#endif
