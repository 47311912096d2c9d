/* The group coordinator's state, shared by group.c (membership: join, sync,
 * heartbeat, leave, session timeouts), group_admin.c (DescribeGroups,
 * ListGroups), group_offsets.c (commits and fetches,
 * transactional offsets, appends waiting for replication) and group_log.c
 * (the __consumer_offsets record format, loading and unloading).
 *
 * Ownership: b->groups owns one grp_part per loaded __consumer_offsets
 * partition; a part owns its groups (sorted by id) and the appends it has in
 * flight; a group owns its members, pending member ids and offsets. Every
 * string is a heap copy. Invariants:
 *   - a member has at most one parked JoinGroup and one parked SyncGroup;
 *   - join_waiting counts members with a parked JoinGroup;
 *   - state CompletingRebalance/Stable implies members and a protocol;
 *   - a group's offsets are sorted by (topic, partition), unique.
 */
#ifndef WEIR_BROKER_GROUP_INTERNAL_H
#define WEIR_BROKER_GROUP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/coord.h"
#include "broker/group.h"

#define GRP_NEW_MEMBER_JOIN_TIMEOUT_MS 300000 /* Kafka's NewMemberJoinTimeoutMs */

typedef enum grp_state {
    GRP_EMPTY,
    GRP_PREPARING_REBALANCE,
    GRP_COMPLETING_REBALANCE,
    GRP_STABLE,
    GRP_DEAD,
} grp_state;

typedef struct grp_group grp_group;
typedef struct grp_part grp_part;

typedef struct grp_protocol {
    char *name;
    uint8_t *metadata;
    int32_t metadata_len;
} grp_protocol;

typedef struct grp_member {
    grp_group *g;
    char *member_id;
    char *group_instance_id; /* NULL: a dynamic member */
    char *client_id;
    char *client_host;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms;
    grp_protocol *protocols; /* in the member's order of preference */
    int n_protocols;
    uint8_t *assignment;
    int32_t assignment_len;
    bk_reply *join_reply; /* a JoinGroup held until the rebalance completes */
    bk_reply *sync_reply; /* a SyncGroup held until the assignment is stored */
    bool is_new;          /* joined in the current rebalance, not answered yet */
    int64_t deadline_ns;  /* session expiry (or the new-member join timeout) */
    weir_timer *session_timer;
    int64_t timer_due_ns; /* when session_timer fires */
} grp_member;

/* A member id handed out with MEMBER_ID_REQUIRED, not yet rejoined. */
typedef struct grp_pending_member {
    grp_group *g;
    char *member_id;
    weir_timer *timer; /* expiry after the session timeout */
} grp_pending_member;

typedef struct grp_offset {
    char *topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    char *metadata; /* never NULL: null commits are stored as "" (Kafka's NoMetadata) */
    int64_t commit_ts_ms;
    int64_t log_offset; /* the record's offset in __consumer_offsets; -1 not appended yet */
} grp_offset;

typedef struct grp_offsets {
    grp_offset *v; /* sorted by (topic, partition) */
    size_t n;
    size_t cap;
} grp_offsets;

/* Transactional offsets of one producer, waiting for its marker. */
typedef struct grp_txn_pending {
    int64_t producer_id;
    grp_offsets offsets;
} grp_txn_pending;

struct grp_group {
    grp_part *part;
    char *group_id;
    grp_state state;
    int32_t generation;
    char *protocol_type;  /* NULL until a member joined */
    char *protocol_name;  /* NULL: none chosen */
    char *leader_id;      /* NULL: none */
    grp_member **members; /* in join order */
    int n_members;
    int cap_members;
    int join_waiting; /* members with a parked JoinGroup */
    grp_pending_member **pending;
    int n_pending;
    int cap_pending;
    weir_timer *join_timer; /* the rebalance deadline, or the initial delay */
    bool initial_join;      /* join_timer is the initial delay of a new group */
    int32_t initial_remaining_ms;
    bool new_member_added;
    int64_t state_ts_ms;
    grp_offsets offsets;
    grp_txn_pending *txn;
    int n_txn;
};

typedef struct grp_append grp_append;

struct grp_part {
    weir_broker *b;
    int32_t index;
    grp_group **groups; /* sorted by id */
    size_t n_groups;
    size_t cap_groups;
    grp_append *appends; /* in flight, oldest first */
};

typedef struct bk_groups bk_groups;
struct bk_groups {
    grp_part **parts; /* by partition index; NULL when not loaded */
    int32_t n_parts;
    int n_loaded;
};

/* ---- group.c ---- */

const char *grp_state_name(grp_state s);
/* The loaded part for index, NULL if none. */
grp_part *grp_part_get(weir_broker *b, int32_t index);
grp_group *grp_find(grp_part *part, const char *id, size_t len);
/* Adds an Empty group (generation 0). NULL when out of memory. */
grp_group *grp_create(grp_part *part, const char *id, size_t len);
grp_member *grp_member_find(grp_group *g, const char *id, size_t len);
/* Frees a group: timers cancelled when env_alive, parked requests answered
 * with `error` (or just freed after a crash). */
void grp_free(weir_broker *b, grp_group *g, bool env_alive, int16_t error);
/* Drops members (their parked requests answered with `error`), pending ids,
 * protocol and rebalance: the group is Empty at generation 0 after. */
void grp_reset_membership(weir_broker *b, grp_group *g, bool env_alive, int16_t error);
/* Restarts a member's session deadline (heartbeat, commit, sync, join). */
void grp_member_touch(weir_broker *b, grp_member *m);
/* Adds a member read from a GroupMetadata record (load). */
grp_member *grp_member_add_loaded(weir_broker *b, grp_group *g, const char *member_id,
                                  const char *instance_id, const char *client_id,
                                  const char *client_host, int32_t rebalance_timeout_ms,
                                  int32_t session_timeout_ms, const uint8_t *subscription,
                                  int32_t subscription_len, const uint8_t *assignment,
                                  int32_t assignment_len);
/* Stable/CompletingRebalance/Empty: starts a rebalance. */
void grp_maybe_rebalance(weir_broker *b, grp_group *g, const char *why);
/* The stored assignment is durable (or its append failed): answers the
 * parked SyncGroups of generation `generation`. */
void grp_store_done(weir_broker *b, grp_group *g, int32_t generation, int16_t error,
                    const char *const *member_ids, uint8_t *const *assignments,
                    const int32_t *assignment_lens, int n);
/* The member's subscription for the group's protocol (NULL/0 if none). */
void grp_member_subscription(const grp_group *g, const grp_member *m, const uint8_t **p,
                             int32_t *len);

/* ---- group_offsets.c ---- */

grp_offset *grp_offset_find(grp_offsets *o, const char *topic, size_t topic_len, int32_t partition);
/* Inserts or replaces (taking the strings of *e). Returns 0 or WEIR_E_NOMEM
 * (then frees e's strings). */
int grp_offset_put(grp_offsets *o, grp_offset *e);
void grp_offset_remove(grp_offsets *o, const char *topic, int32_t partition);
void grp_offsets_free(grp_offsets *o);
grp_txn_pending *grp_txn_get(grp_group *g, int64_t producer_id, bool create);
void grp_txn_remove(grp_group *g, int64_t producer_id);
/* Applies (commit) or drops a producer's pending offsets in g. */
void grp_txn_complete(grp_group *g, int64_t producer_id, bool commit);
/* Writes the group's metadata (GroupMetadataValue) with the assignment
 * given per member (or the members' own when assignments is NULL); on
 * completion calls grp_store_done when `for_sync`. Returns the immediate
 * error (NONE when the append is in flight). */
int16_t grp_store_group(weir_broker *b, grp_group *g, bool for_sync, const char *const *member_ids,
                        uint8_t *const *assignments, const int32_t *assignment_lens, int n);
/* Frees the part's appends in flight (crash: their callbacks never come). */
void grp_appends_abandon(grp_part *part);

/* ---- group_log.c ---- */

/* Builds one record batch (uncompressed) holding the group's metadata
 * record, assignments as in grp_store_group. *buf_out: the builder's; free
 * with weir_batch_builder_free(bb). */
int grp_record_group(weir_broker *b, const grp_group *g, const char *const *member_ids,
                     uint8_t *const *assignments, const int32_t *assignment_lens, int n,
                     weir_batch_builder *bb);
/* Adds an offset commit record (key version 1, value version 3) to bb. */
void grp_record_offset(weir_batch_builder *bb, int64_t now_ms, const char *group, const char *topic,
                       int32_t partition, int64_t offset, int32_t leader_epoch,
                       const char *metadata, int64_t commit_ts_ms);

#endif
