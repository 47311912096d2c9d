#include "replication/replica.h"

#include <string.h>

#include "core/assert.h"

static weir_replica_view *find(weir_leader_state *st, int32_t id)
{
    for (int i = 0; i < st->n_replicas; i++) {
        if (st->replicas[i].broker_id == id) {
            return &st->replicas[i];
        }
    }
    return NULL;
}

bool weir_leader_in_isr(const weir_leader_state *st, int32_t broker_id)
{
    for (int i = 0; i < st->n_isr; i++) {
        if (st->isr[i] == broker_id) {
            return true;
        }
    }
    return false;
}

void weir_leader_init(weir_leader_state *st, int32_t self_id, int32_t epoch,
                      const int32_t *replicas, int n_replicas, const int32_t *isr, int n_isr,
                      int64_t leo, int64_t hw, int64_t now_ns)
{
    WEIR_ASSERT(n_replicas >= 1 && n_replicas <= WEIR_REPLICAS_MAX);
    WEIR_ASSERT(n_isr >= 1 && n_isr <= n_replicas);
    memset(st, 0, sizeof *st);
    st->self_id = self_id;
    st->leader_epoch = epoch;
    st->epoch_start_offset = leo;
    st->hw = hw < leo ? hw : leo;
    st->n_replicas = n_replicas;
    for (int i = 0; i < n_replicas; i++) {
        st->replicas[i].broker_id = replicas[i];
        st->replicas[i].leo = replicas[i] == self_id ? leo : -1;
        st->replicas[i].last_caught_up_ns = now_ns;
        st->replicas[i].last_fetch_ns = now_ns;
        st->replicas[i].last_fetch_leader_leo = -1;
    }
    memcpy(st->isr, isr, (size_t)n_isr * sizeof *isr);
    st->n_isr = n_isr;
    WEIR_ASSERT(weir_leader_in_isr(st, self_id));
}

bool weir_leader_update_hw(weir_leader_state *st, int64_t leader_leo)
{
    weir_replica_view *self = find(st, st->self_id);
    WEIR_ASSERT(self != NULL);
    self->leo = leader_leo;
    int64_t hw = leader_leo;
    for (int i = 0; i < st->n_isr; i++) {
        const weir_replica_view *r = find(st, st->isr[i]);
        if (r != NULL && r->leo < hw) {
            hw = r->leo;
        }
    }
    /* The leader's HW never goes back (a member with an unknown LEO holds it). */
    if (hw > st->hw) {
        st->hw = hw;
        return true;
    }
    return false;
}

bool weir_leader_on_fetch(weir_leader_state *st, int32_t replica_id, int64_t fetch_offset,
                          int64_t leader_leo, int64_t now_ns)
{
    weir_replica_view *r = find(st, replica_id);
    if (r == NULL || replica_id == st->self_id) {
        return false;
    }
    r->leo = fetch_offset < leader_leo ? fetch_offset : leader_leo;
    if (fetch_offset >= leader_leo) {
        r->last_caught_up_ns = now_ns;
    } else if (r->last_fetch_leader_leo >= 0 && fetch_offset >= r->last_fetch_leader_leo) {
        /* it had everything the leader had at its previous fetch */
        if (r->last_fetch_ns > r->last_caught_up_ns) {
            r->last_caught_up_ns = r->last_fetch_ns;
        }
    }
    r->last_fetch_ns = now_ns;
    r->last_fetch_leader_leo = leader_leo;
    return weir_leader_update_hw(st, leader_leo);
}

bool weir_leader_isr_proposal(const weir_leader_state *st, int64_t leader_leo, int64_t now_ns,
                              int64_t lag_max_ns, int32_t *out, int *n_out)
{
    (void)leader_leo;
    int n = 0;
    bool changed = false;
    for (int i = 0; i < st->n_replicas; i++) {
        const weir_replica_view *r = &st->replicas[i];
        bool member = weir_leader_in_isr(st, r->broker_id);
        bool keep;
        if (r->broker_id == st->self_id) {
            keep = true;
        } else if (member) {
            keep = now_ns - r->last_caught_up_ns <= lag_max_ns;
        } else {
            /* Rejoins once it holds everything committed, in this epoch too. */
            keep = r->leo >= st->hw && r->leo >= st->epoch_start_offset &&
                   now_ns - r->last_caught_up_ns <= lag_max_ns;
        }
        if (keep) {
            out[n++] = r->broker_id;
        }
        changed = changed || keep != member;
    }
    *n_out = n;
    return changed;
}

bool weir_leader_isr_confirmed(weir_leader_state *st, const int32_t *isr, int n_isr,
                               int64_t leader_leo)
{
    WEIR_ASSERT(n_isr >= 1 && n_isr <= WEIR_REPLICAS_MAX);
    memcpy(st->isr, isr, (size_t)n_isr * sizeof *isr);
    st->n_isr = n_isr;
    return weir_leader_update_hw(st, leader_leo);
}

int64_t weir_follower_truncate_to_hw(int64_t hw_checkpoint, int64_t leo)
{
    int64_t hw = hw_checkpoint < 0 ? 0 : hw_checkpoint;
    return hw < leo ? hw : leo;
}

int64_t weir_follower_truncate_by_epoch(const weir_epoch_cache *own, int64_t leo,
                                        int64_t hw_checkpoint, int32_t asked_epoch,
                                        int32_t leader_epoch, int64_t leader_end)
{
    if (leader_epoch < 0 || leader_end < 0) {
        return weir_follower_truncate_to_hw(hw_checkpoint, leo);
    }
    int64_t cut = leader_end < leo ? leader_end : leo;
    if (leader_epoch < asked_epoch) {
        /* The leader never had our epoch: our log diverges where our copy of
         * the leader's last common epoch ends. */
        int32_t e;
        int64_t own_end;
        weir_epoch_cache_end_offset(own, leader_epoch, leo, &e, &own_end);
        if (e == leader_epoch && own_end >= 0 && own_end < cut) {
            cut = own_end;
        }
    }
    return cut < 0 ? 0 : cut;
}

int32_t weir_elect_leader(const int32_t *replicas, int n_replicas, const int32_t *isr, int n_isr,
                          bool (*alive)(int32_t broker_id, void *arg), void *arg, bool unclean,
                          bool *was_unclean)
{
    *was_unclean = false;
    for (int i = 0; i < n_replicas; i++) {
        bool in_isr = false;
        for (int j = 0; j < n_isr && !in_isr; j++) {
            in_isr = isr[j] == replicas[i];
        }
        if (in_isr && alive(replicas[i], arg)) {
            return replicas[i];
        }
    }
    if (!unclean) {
        return -1;
    }
    for (int i = 0; i < n_replicas; i++) {
        if (alive(replicas[i], arg)) {
            *was_unclean = true;
            return replicas[i];
        }
    }
    return -1;
}
