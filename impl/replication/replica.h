/* Replication rules, as pure functions of state and time (no I/O), so the
 * broker applies them and the tests and the simulator check them directly.
 *
 * Leader side (Kafka's rules, ../shared/notes/KAFKA.md §2):
 * - each follower's LEO is the offset of its latest fetch; it was "caught up"
 *   at a fetch that reaches the leader's LEO of that moment, or at its
 *   previous fetch if this one reaches the LEO the leader had then (Kafka's
 *   rule: under steady writes a follower is always a little behind);
 * - HW = the smallest LEO among ISR members (the leader included), and the
 *   leader's HW never moves back;
 * - a follower not caught up for replica.lag.time.max.ms leaves the ISR; one
 *   whose LEO reaches the HW (and the start of the leader's epoch) rejoins.
 *   Changes are proposals: the controller's answer makes them real.
 *
 * Follower side: where to truncate on becoming a follower, under either rule
 * (the classic truncate-to-HW, or KIP-101/279 leader epochs).
 */
#ifndef WEIR_REPLICATION_REPLICA_H
#define WEIR_REPLICATION_REPLICA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log/epoch_cache.h"

#define WEIR_REPLICAS_MAX 16

typedef struct weir_replica_view {
    int32_t broker_id;
    int64_t leo;               /* -1 until its first fetch */
    int64_t last_caught_up_ns; /* last time it held everything the leader had */
    int64_t last_fetch_ns;
    int64_t last_fetch_leader_leo; /* the leader's LEO at its previous fetch */
} weir_replica_view;

typedef struct weir_leader_state {
    int32_t self_id;
    int32_t leader_epoch;
    int64_t epoch_start_offset; /* leader LEO when this epoch began */
    int64_t hw;
    weir_replica_view replicas[WEIR_REPLICAS_MAX]; /* the assignment, leader included */
    int n_replicas;
    int32_t isr[WEIR_REPLICAS_MAX]; /* as last confirmed by the controller */
    int n_isr;
} weir_leader_state;

/* Starts a leadership. Followers start as caught up at `now` (they get
 * replica.lag.time.max.ms to prove it, as in Kafka). */
void weir_leader_init(weir_leader_state *st, int32_t self_id, int32_t epoch,
                      const int32_t *replicas, int n_replicas, const int32_t *isr, int n_isr,
                      int64_t leo, int64_t hw, int64_t now_ns);

bool weir_leader_in_isr(const weir_leader_state *st, int32_t broker_id);

/* A follower fetched from fetch_offset (so it holds everything below).
 * Returns true if the HW moved. Unknown replicas are ignored. */
bool weir_leader_on_fetch(weir_leader_state *st, int32_t replica_id, int64_t fetch_offset,
                          int64_t leader_leo, int64_t now_ns);

/* The leader's own log grew (or anything else changed): recompute the HW.
 * Returns true if it moved. */
bool weir_leader_update_hw(weir_leader_state *st, int64_t leader_leo);

/* The ISR the leader should ask the controller for now: members lagging more
 * than lag_max_ns leave, caught-up non-members join. Returns true (and fills
 * out) if it differs from the current ISR. The leader never leaves. */
bool weir_leader_isr_proposal(const weir_leader_state *st, int64_t leader_leo, int64_t now_ns,
                              int64_t lag_max_ns, int32_t *out, int *n_out);

/* The controller confirmed an ISR: adopt it and recompute the HW. */
bool weir_leader_isr_confirmed(weir_leader_state *st, const int32_t *isr, int n_isr,
                               int64_t leader_leo);

typedef enum weir_truncation_rule {
    WEIR_TRUNCATE_TO_HW,        /* the classic rule: cut above the checkpointed HW */
    WEIR_TRUNCATE_LEADER_EPOCH, /* KIP-101/279: ask the leader where our epoch ends */
} weir_truncation_rule;

/* Classic rule: everything above the follower's own checkpointed HW goes. */
int64_t weir_follower_truncate_to_hw(int64_t hw_checkpoint, int64_t leo);

/* KIP-279: the follower asked the leader for the end of its latest epoch and
 * got (leader_epoch, leader_end); -1, -1 means the leader knows no such epoch
 * (fall back to the HW). If the leader answers with an older epoch than asked,
 * the follower's own end of that epoch bounds the cut too. */
int64_t weir_follower_truncate_by_epoch(const weir_epoch_cache *own, int64_t leo,
                                        int64_t hw_checkpoint, int32_t asked_epoch,
                                        int32_t leader_epoch, int64_t leader_end);

/* Controller: the new leader for a partition. The first live replica in
 * assignment order that is in the ISR; with `unclean`, else the first live
 * replica (*was_unclean set). -1 if none: the partition is offline. */
int32_t weir_elect_leader(const int32_t *replicas, int n_replicas, const int32_t *isr, int n_isr,
                          bool (*alive)(int32_t broker_id, void *arg), void *arg, bool unclean,
                          bool *was_unclean);

#endif
