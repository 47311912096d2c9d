/* Cluster mode: registration and heartbeats with the controller, the
 * controller's LeaderAndIsr pushes (who leads what), followers fetching from
 * their leaders, truncation on becoming a follower (either rule), the
 * leader's ISR proposals (AlterPartition) and HW checkpoints. */
#include "broker/broker_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/coord.h"
#include "core/assert.h"
#include "log/batch.h"
#include "replication/replica.h"

#define MS 1000000LL
#define REQUEST_TIMEOUT_MS 30000
#define RETRY_MS 100

/* Kafka error codes used here. */
enum {
    KERR_FENCED_LEADER_EPOCH = 74,
    KERR_UNKNOWN_LEADER_EPOCH = 75,
};

/* One replica following its leader, on a connection of its own: a fetch of
 * one partition waiting at the leader must not hold back another's. */
struct bk_follower {
    weir_broker *b;
    weir_peer *peer; /* to the leader; created once its address is known */
    char topic[WEIR_TOPIC_NAME_MAX + 1];
    int32_t index;
    int32_t leader_id;
    int32_t leader_epoch;
    bool in_flight;    /* a Fetch or OffsetForLeaderEpoch is out */
    bool truncated;    /* the becoming-a-follower truncation is done */
    weir_timer *retry;
};

static void pending_add(weir_broker *b, bk_pending *p)
{
    bk_pending *head = &b->cl.pending;
    p->prev = head;
    p->next = head->next;
    head->next->prev = p;
    head->next = p;
}

static void pending_del(bk_pending *p)
{
    p->prev->next = p->next;
    p->next->prev = p->prev;
    p->prev = p->next = p;
}

static weir_partition *part_of(weir_broker *b, const char *topic, int32_t index)
{
    weir_topic *t = weir_topics_find(&b->topics, topic, strlen(topic));
    weir_partition *p = weir_topic_partition(t, index);
    return p != NULL && p->log != NULL ? p : NULL;
}

static bk_live_broker *live_by_id(weir_broker *b, int32_t id)
{
    for (int i = 0; i < b->cl.n_live; i++) {
        if (b->cl.live[i].id == id) {
            return &b->cl.live[i];
        }
    }
    return NULL;
}

/* ---- HW ---- */

void bk_hw_advanced(weir_broker *b, weir_partition *p)
{
    bk_produce_check_all(b);
    bk_fetch_wake_all(b);
    bk_coord_hw_advanced(b, p); /* internal appends waiting for the HW */
}

static void set_hw(weir_broker *b, weir_partition *p, int64_t hw)
{
    if (hw != p->high_watermark) {
        p->high_watermark = hw;
        bk_hw_advanced(b, p);
    }
}

void bk_follower_fetched(weir_broker *b, const weir_fetch_request *req)
{
    int64_t now = weir_now_ns(b->env);
    for (int32_t i = 0; i < req->topic_count; i++) {
        const weir_fetch_topic *ft = &req->topics[i];
        weir_topic *t = ft->name.len > 0 ? weir_topics_find(&b->topics, ft->name.p, (size_t)ft->name.len)
                                         : NULL;
        for (int32_t j = 0; j < ft->partition_count; j++) {
            weir_partition *p = weir_topic_partition(t, ft->partitions[j].partition_index);
            if (p == NULL || p->log == NULL || p->role != WEIR_ROLE_LEADER) {
                continue;
            }
            if (weir_leader_on_fetch(&p->lead, req->replica_id, ft->partitions[j].fetch_offset,
                                     weir_plog_end_offset(p->log), now)) {
                set_hw(b, p, p->lead.hw);
            }
        }
    }
}

/* ---- followers ---- */

static void follower_step(weir_broker *b, bk_follower *f);

static void follower_retry_cb(weir_env *env, void *arg)
{
    (void)env;
    bk_follower *f = arg;
    f->retry = NULL;
    follower_step(f->b, f);
}

static void follower_later(bk_follower *f, int64_t ms)
{
    if (f->retry == NULL) {
        f->retry = weir_timer_start(f->b->env, ms * MS, follower_retry_cb, f);
    }
}

static void follower_stop(weir_broker *b, weir_partition *p)
{
    bk_follower *f = p->follow;
    if (f == NULL) {
        return;
    }
    p->follow = NULL;
    if (f->retry != NULL) {
        weir_timer_cancel(b->env, f->retry);
    }
    weir_peer_free(f->peer); /* drops the callback of a request in flight */
    free(f);
}

static void truncate_follower(weir_broker *b, weir_partition *p, bk_follower *f, int64_t to,
                              const char *rule)
{
    int64_t leo = weir_plog_end_offset(p->log);
#ifdef WEIR_PLANTED_BUG_TRUNCATION
    /* A deliberate bug for testing the chaos engine (cmake -DWEIR_PLANTED_BUG=ON):
     * a follower keeps its divergent tail instead of cutting it. */
    to = leo;
#endif
    if (to < leo) {
        int err = weir_plog_truncate_to(p->log, to);
        if (err != 0) {
            weir_log_error(b->env, "%s-%d: truncation to %lld failed: %s", f->topic, f->index,
                           (long long)to, weir_err_str(err));
            return;
        }
        weir_log_info(b->env, "%s-%d: truncated from %lld to %lld (%s) following broker %d",
                      f->topic, f->index, (long long)leo, (long long)weir_plog_end_offset(p->log),
                      rule, f->leader_id);
        if (b->cfg.on_truncate != NULL) {
            b->cfg.on_truncate(b->cfg.observer_arg, b->cfg.node_id, f->topic, f->index, leo,
                               weir_plog_end_offset(p->log), rule);
        }
    }
    int64_t end = weir_plog_end_offset(p->log);
    if (p->high_watermark > end) {
        p->high_watermark = end;
    }
    f->truncated = true;
}

static void epoch_reply(void *arg, int err, weir_rd *rd, weir_arena *a)
{
    bk_follower *f = arg;
    f->in_flight = false;
    weir_broker *b = f->b;
    weir_partition *p = part_of(b, f->topic, f->index);
    weir_offset_for_leader_epoch_response resp;
    if (err == 0) {
        err = weir_decode_offset_for_leader_epoch_response(rd, 3, a, &resp);
    }
    if (p == NULL || err != 0 || resp.topic_count < 1 || resp.topics[0].partition_count < 1) {
        follower_later(f, RETRY_MS);
        return;
    }
    const weir_offset_for_leader_epoch_partition_response *r = &resp.topics[0].partitions[0];
    if (r->error_code != WEIR_KERR_NONE) {
        follower_later(f, RETRY_MS);
        return;
    }
    int32_t asked = weir_epoch_cache_latest(weir_plog_epochs(p->log));
    int64_t to = weir_follower_truncate_by_epoch(weir_plog_epochs(p->log), weir_plog_end_offset(p->log),
                                                 p->high_watermark, asked, r->leader_epoch,
                                                 r->end_offset);
    truncate_follower(b, p, f, to, "leader epoch");
    follower_step(b, f);
}

static void fetch_reply(void *arg, int err, weir_rd *rd, weir_arena *a)
{
    bk_follower *f = arg;
    f->in_flight = false;
    weir_broker *b = f->b;
    if (b->halt_timer != NULL) {
        return; /* halting after a log dir failure: nothing more is appended */
    }
    weir_partition *p = part_of(b, f->topic, f->index);
    weir_fetch_response resp;
    if (err == 0) {
        err = weir_decode_fetch_response(rd, 11, a, &resp);
    }
    if (p == NULL || err != 0 || resp.topic_count < 1 || resp.topics[0].partition_count < 1) {
        follower_later(f, RETRY_MS);
        return;
    }
    const weir_fetch_partition_response *r = &resp.topics[0].partitions[0];
    if (r->error_code == WEIR_KERR_OFFSET_OUT_OF_RANGE) {
        int64_t leo = weir_plog_end_offset(p->log);
        if (leo < r->log_start_offset) {
            weir_ignore(weir_plog_truncate_fully(p->log, r->log_start_offset));
        } else if (r->high_watermark >= 0 && leo > r->high_watermark) {
            truncate_follower(b, p, f, r->high_watermark, "out of range on the leader");
        }
        follower_later(f, RETRY_MS);
        return;
    }
    if (r->error_code != WEIR_KERR_NONE) {
        follower_later(f, RETRY_MS);
        return;
    }
    if (r->records.len > 0) {
        const char *why = NULL;
        weir_log_append_info info;
        err = weir_plog_append_follower(p->log, r->records.p, (size_t)r->records.len, &info, &why);
        if (err != 0) {
            weir_log_warn(b->env, "%s-%d: cannot append what leader %d sent: %s (%s)", f->topic,
                          f->index, f->leader_id, why ? why : "", weir_err_str(err));
            follower_later(f, RETRY_MS);
            return;
        }
        /* log.flush.interval.messages applies to every append, as in Kafka */
        p->unflushed_messages += info.last_offset - info.first_offset + 1;
        if (b->cfg.flush_interval_messages > 0 &&
            p->unflushed_messages >= b->cfg.flush_interval_messages) {
            int ferr = weir_plog_flush(p->log);
            if (ferr != 0) {
                char what[300];
                snprintf(what, sizeof what, "%s-%d: flush", f->topic, f->index);
                bk_log_dir_failed(b, what, ferr);
                /* no next fetch: it would tell the leader of an offset that may not
                 * be on disk, and the leader would count it towards the HW */
                return;
            }
            p->unflushed_messages = 0;
        }
    }
    int64_t leo = weir_plog_end_offset(p->log);
    int64_t hw = r->high_watermark < leo ? r->high_watermark : leo;
    if (hw > p->high_watermark) {
        set_hw(b, p, hw);
    }
    follower_step(b, f);
}

static void follower_step(weir_broker *b, bk_follower *f)
{
    if (f->in_flight || f->retry != NULL) {
        return;
    }
    weir_partition *p = part_of(b, f->topic, f->index);
    bk_live_broker *leader = live_by_id(b, f->leader_id);
    if (p == NULL || leader == NULL || !leader->up) {
        follower_later(f, RETRY_MS);
        return;
    }
    char addr[160];
    snprintf(addr, sizeof addr, "%s:%d", leader->host, leader->port);
    if (f->peer == NULL) {
        f->peer = weir_peer_new(b->env, addr, "weir-replica");
    } else {
        weir_peer_set_addr(f->peer, addr); /* the leader moved to a new address */
    }
    weir_request r;
    memset(&r, 0, sizeof r);
    int err;
    if (!f->truncated) {
        int32_t latest = weir_epoch_cache_latest(weir_plog_epochs(p->log));
        if (!b->cfg.truncate_by_epoch || latest < 0) {
            truncate_follower(b, p, f, weir_follower_truncate_to_hw(p->high_watermark,
                                                                   weir_plog_end_offset(p->log)),
                              latest < 0 && b->cfg.truncate_by_epoch ? "no epochs yet: to the HW"
                                                                     : "truncate to HW");
        } else {
            weir_offset_for_leader_epoch_partition part = {f->index, f->leader_epoch, latest};
            weir_offset_for_leader_epoch_topic top = {weir_str_from(f->topic), 1, &part};
            r.header.api_key = WEIR_API_OFFSET_FOR_LEADER_EPOCH;
            r.header.api_version = 3;
            r.body.offset_for_leader_epoch =
                (weir_offset_for_leader_epoch_request){b->cfg.node_id, 1, &top};
            err = weir_peer_send(f->peer, &r, b->cfg.replica_socket_timeout_ms, epoch_reply, f);
            if (err != 0) {
                follower_later(f, RETRY_MS);
                return;
            }
            f->in_flight = true;
            return;
        }
    }
    weir_fetch_partition fp = {f->index, f->leader_epoch, weir_plog_end_offset(p->log),
                               weir_plog_start_offset(p->log), b->cfg.replica_fetch_max_bytes};
    weir_fetch_topic ft = {weir_str_from(f->topic), 1, &fp};
    r.header.api_key = WEIR_API_FETCH;
    r.header.api_version = 11;
    r.body.fetch = (weir_fetch_request){b->cfg.node_id, b->cfg.replica_fetch_wait_max_ms, 1,
                                        b->cfg.replica_fetch_max_bytes, 0, 0, -1, 1, &ft, 0, NULL,
                                        weir_str_from("")};
    err = weir_peer_send(f->peer, &r,
                         b->cfg.replica_socket_timeout_ms + b->cfg.replica_fetch_wait_max_ms,
                         fetch_reply, f);
    if (err != 0) {
        follower_later(f, RETRY_MS);
        return;
    }
    f->in_flight = true;
}

/* ---- roles ---- */

static void become_leader(weir_broker *b, weir_topic *t, weir_partition *p)
{
    follower_stop(b, p);
    int64_t leo = weir_plog_end_offset(p->log);
    int err = weir_plog_assign_epoch(p->log, p->leader_epoch, leo);
    if (err != 0) {
        weir_log_error(b->env, "%s-%d: cannot record leader epoch %d: %s", t->name, p->index,
                       p->leader_epoch, weir_err_str(err));
    }
    weir_leader_init(&p->lead, b->cfg.node_id, p->leader_epoch, p->replicas, p->n_replicas, p->isr,
                     p->n_isr, leo, p->high_watermark, weir_now_ns(b->env));
    p->role = WEIR_ROLE_LEADER;
    p->isr_change_in_flight = false;
    weir_leader_update_hw(&p->lead, leo);
    weir_log_info(b->env, "%s-%d: leader for epoch %d (log end %lld, HW %lld)", t->name, p->index,
                  p->leader_epoch, (long long)leo, (long long)p->lead.hw);
    set_hw(b, p, p->lead.hw > p->high_watermark ? p->lead.hw : p->high_watermark);
    bk_coord_leadership_changed(b, t, p); /* a coordinator partition loads */
}

static void become_follower(weir_broker *b, weir_topic *t, weir_partition *p)
{
    follower_stop(b, p);
    bk_follower *f = calloc(1, sizeof *f);
    WEIR_ASSERT(f != NULL);
    f->b = b;
    snprintf(f->topic, sizeof f->topic, "%s", t->name);
    f->index = p->index;
    f->leader_id = p->leader_id;
    f->leader_epoch = p->leader_epoch;
    p->follow = f;
    p->role = WEIR_ROLE_FOLLOWER;
    weir_log_info(b->env, "%s-%d: following broker %d in epoch %d", t->name, p->index, p->leader_id,
                  p->leader_epoch);
    bk_produce_check_all(b); /* waiting produces here lost their leader */
    bk_coord_leadership_changed(b, t, p); /* a coordinator partition unloads */
    follower_step(b, f);
}

static bool is_replica(const weir_partition *p, int32_t id)
{
    for (int i = 0; i < p->n_replicas; i++) {
        if (p->replicas[i] == id) {
            return true;
        }
    }
    return false;
}

static void apply_state(weir_broker *b, weir_topic *t, const weir_leader_and_isr_partition_state *s)
{
    weir_partition *p = &t->partitions[s->partition_index];
    if (s->leader_epoch < p->leader_epoch ||
        (s->leader_epoch == p->leader_epoch && s->zk_version < p->partition_epoch)) {
        return; /* stale */
    }
    bool new_epoch = s->leader_epoch != p->leader_epoch || p->role == WEIR_ROLE_NONE;
    p->leader_id = s->leader;
    p->leader_epoch = s->leader_epoch;
    p->partition_epoch = s->zk_version;
    p->n_replicas = s->replica_count < WEIR_REPLICAS_MAX ? s->replica_count : WEIR_REPLICAS_MAX;
    memcpy(p->replicas, s->replicas, (size_t)p->n_replicas * sizeof *p->replicas);
    p->n_isr = s->isr_count < WEIR_REPLICAS_MAX ? s->isr_count : WEIR_REPLICAS_MAX;
    memcpy(p->isr, s->isr, (size_t)p->n_isr * sizeof *p->isr);
    int32_t self = b->cfg.node_id;
    if (!is_replica(p, self)) {
        return; /* metadata only */
    }
    if (p->log == NULL) {
        int err = weir_topics_host(&b->topics, t, p->index);
        if (err != 0) {
            weir_log_error(b->env, "%s-%d: cannot host the replica: %s", t->name, p->index,
                           weir_err_str(err));
            return;
        }
        /* the HW we can vouch for is the checkpointed one */
        int64_t leo = weir_plog_end_offset(p->log);
        int64_t hw = p->hw_checkpointed >= 0 ? p->hw_checkpointed : 0;
        p->high_watermark = hw < leo ? hw : leo;
        new_epoch = true;
    }
    if (p->leader_id == self) {
        if (new_epoch || p->role != WEIR_ROLE_LEADER) {
            become_leader(b, t, p);
        } else if (weir_leader_isr_confirmed(&p->lead, p->isr, p->n_isr, weir_plog_end_offset(p->log))) {
            set_hw(b, p, p->lead.hw);
        }
    } else if (p->leader_id >= 0) {
        if (new_epoch || p->role != WEIR_ROLE_FOLLOWER || p->follow == NULL ||
            p->follow->leader_id != p->leader_id) {
            become_follower(b, t, p);
        }
    } else if (p->role != WEIR_ROLE_NONE) {
        follower_stop(b, p);
        p->role = WEIR_ROLE_NONE;
        bk_produce_check_all(b);
        bk_coord_leadership_changed(b, t, p);
    }
}

int bk_handle_leader_and_isr(bk_conn *c, const weir_request *r)
{
    weir_broker *b = c->b;
    const weir_leader_and_isr_request *req = &r->body.leader_and_isr;
    b->cl.live_known = true; /* coordinators may size internal topics now */
    /* addresses first: new followers connect to them */
    for (int i = 0; i < b->cl.n_live; i++) {
        b->cl.live[i].up = false;
    }
    for (int32_t i = 0; i < req->live_leader_count; i++) {
        const weir_leader_and_isr_live_leader *l = &req->live_leaders[i];
        if (l->broker_id == b->cfg.node_id || l->host_name.len <= 0 || l->host_name.len >= 128) {
            continue;
        }
        bk_live_broker *lb = live_by_id(b, l->broker_id);
        if (lb == NULL && b->cl.n_live < (int)(sizeof b->cl.live / sizeof b->cl.live[0])) {
            lb = &b->cl.live[b->cl.n_live++];
            memset(lb, 0, sizeof *lb);
            lb->id = l->broker_id;
        }
        if (lb == NULL) {
            continue;
        }
        memcpy(lb->host, l->host_name.p, (size_t)l->host_name.len);
        lb->host[l->host_name.len] = '\0';
        lb->up = true;
        lb->port = l->port;
    }
    for (int32_t i = 0; i < req->topic_state_count; i++) {
        const weir_leader_and_isr_topic_state *ts = &req->topic_states[i];
        int32_t count = 0;
        for (int32_t j = 0; j < ts->partition_state_count; j++) {
            if (ts->partition_states[j].partition_index + 1 > count) {
                count = ts->partition_states[j].partition_index + 1;
            }
        }
        weir_topic *t;
        if (count < 1 || ts->topic_name.len <= 0 ||
            weir_topics_ensure(&b->topics, ts->topic_name.p, (size_t)ts->topic_name.len, count, &t) != 0) {
            continue;
        }
        for (int32_t j = 0; j < ts->partition_state_count; j++) {
            if (ts->partition_states[j].partition_index >= 0) {
                apply_state(b, t, &ts->partition_states[j]);
            }
        }
    }
    weir_leader_and_isr_response resp = {WEIR_KERR_NONE, 0, NULL};
    return weir_encode_leader_and_isr_response(&b->out, r->header.api_version, &resp);
}

int bk_handle_offset_for_leader_epoch(bk_conn *c, const weir_request *r)
{
    weir_broker *b = c->b;
    const weir_offset_for_leader_epoch_request *req = &r->body.offset_for_leader_epoch;
    weir_offset_for_leader_epoch_topic_response *tr = weir_arena_alloc_array(
        &b->arena, (size_t)(req->topic_count > 0 ? req->topic_count : 0), sizeof *tr);
    if (tr == NULL) {
        return WEIR_E_NOMEM;
    }
    for (int32_t i = 0; i < req->topic_count; i++) {
        const weir_offset_for_leader_epoch_topic *ot = &req->topics[i];
        weir_topic *t = ot->name.len > 0 ? weir_topics_find(&b->topics, ot->name.p, (size_t)ot->name.len)
                                         : NULL;
        weir_offset_for_leader_epoch_partition_response *pr = weir_arena_alloc_array(
            &b->arena, (size_t)(ot->partition_count > 0 ? ot->partition_count : 0), sizeof *pr);
        if (pr == NULL) {
            return WEIR_E_NOMEM;
        }
        for (int32_t j = 0; j < ot->partition_count; j++) {
            const weir_offset_for_leader_epoch_partition *op = &ot->partitions[j];
            weir_partition *p = weir_topic_partition(t, op->partition_index);
            pr[j] = (weir_offset_for_leader_epoch_partition_response){WEIR_KERR_NONE,
                                                                       op->partition_index, -1, -1};
            if (p == NULL || p->log == NULL) {
                pr[j].error_code = WEIR_KERR_UNKNOWN_TOPIC_OR_PARTITION;
            } else if (p->role != WEIR_ROLE_LEADER) {
                pr[j].error_code = WEIR_KERR_NOT_LEADER_OR_FOLLOWER;
            } else if (op->current_leader_epoch > p->leader_epoch) {
                pr[j].error_code = KERR_UNKNOWN_LEADER_EPOCH;
            } else if (op->current_leader_epoch >= 0 && op->current_leader_epoch < p->leader_epoch) {
                pr[j].error_code = KERR_FENCED_LEADER_EPOCH;
            } else {
                weir_plog_epoch_end_offset(p->log, op->leader_epoch, &pr[j].leader_epoch,
                                           &pr[j].end_offset);
            }
        }
        tr[i] = (weir_offset_for_leader_epoch_topic_response){ot->name, ot->partition_count, pr};
    }
    weir_offset_for_leader_epoch_response resp = {0, req->topic_count, tr};
    return weir_encode_offset_for_leader_epoch_response(&b->out, r->header.api_version, &resp);
}

/* ---- ISR proposals ---- */

typedef struct isr_call {
    bk_pending link;
    weir_broker *b;
    char topic[WEIR_TOPIC_NAME_MAX + 1];
    int32_t index;
} isr_call;

static void isr_reply(void *arg, int err, weir_rd *rd, weir_arena *a)
{
    isr_call *call = arg;
    weir_broker *b = call->b;
    weir_partition *p = b->shut_down ? NULL : part_of(b, call->topic, call->index);
    weir_alter_partition_response resp;
    if (p != NULL) {
        p->isr_change_in_flight = false;
    }
    if (p != NULL && err == 0 && weir_decode_alter_partition_response(rd, 0, a, &resp) == 0 &&
        resp.error_code == WEIR_KERR_NONE && resp.topic_count == 1 &&
        resp.topics[0].partition_count == 1 && resp.topics[0].partitions[0].error_code == 0 &&
        p->role == WEIR_ROLE_LEADER) {
        const weir_alter_partition_partition_response *r = &resp.topics[0].partitions[0];
        if (r->leader_epoch == p->leader_epoch && r->isr_count >= 1 && r->isr_count <= WEIR_REPLICAS_MAX) {
            p->n_isr = r->isr_count;
            memcpy(p->isr, r->isr, (size_t)r->isr_count * sizeof *p->isr);
            p->partition_epoch = r->partition_epoch;
            if (weir_leader_isr_confirmed(&p->lead, p->isr, p->n_isr, weir_plog_end_offset(p->log))) {
                set_hw(b, p, p->lead.hw);
            }
            weir_log_info(b->env, "%s-%d: ISR now has %d member(s)", call->topic, call->index,
                          p->n_isr);
        }
    }
    pending_del(&call->link);
    free(call);
}

static void isr_tick(weir_env *env, void *arg)
{
    weir_broker *b = arg;
    b->cl.isr_timer = NULL;
    int64_t now = weir_now_ns(env);
    for (size_t i = 0; b->cl.broker_epoch >= 0 && i < b->topics.n; i++) {
        weir_topic *t = b->topics.t[i];
        for (int32_t j = 0; j < t->partition_count; j++) {
            weir_partition *p = &t->partitions[j];
            int32_t isr[WEIR_REPLICAS_MAX];
            int n = 0;
            if (p->log == NULL || p->role != WEIR_ROLE_LEADER || p->isr_change_in_flight ||
                !weir_leader_isr_proposal(&p->lead, weir_plog_end_offset(p->log), now,
                                          b->cfg.replica_lag_time_max_ms * MS, isr, &n)) {
                continue;
            }
            isr_call *call = calloc(1, sizeof *call);
            WEIR_ASSERT(call != NULL);
            pending_add(b, &call->link);
            call->b = b;
            snprintf(call->topic, sizeof call->topic, "%s", t->name);
            call->index = j;
            weir_alter_partition_partition ap = {j, p->leader_epoch, n, isr, 0, p->partition_epoch};
            weir_alter_partition_topic at = {weir_str_from(t->name), 1, &ap};
            weir_request r;
            memset(&r, 0, sizeof r);
            r.header.api_key = WEIR_API_ALTER_PARTITION;
            r.header.api_version = 0;
            r.body.alter_partition = (weir_alter_partition_request){b->cfg.node_id, b->cl.broker_epoch, 1, &at};
            if (weir_peer_send(b->cl.ctl, &r, REQUEST_TIMEOUT_MS, isr_reply, call) != 0) {
                pending_del(&call->link);
                free(call);
                continue;
            }
            p->isr_change_in_flight = true;
            weir_log_info(env, "%s-%d: asking the controller for an ISR of %d member(s)", t->name, j, n);
        }
    }
    int64_t period = b->cfg.replica_lag_time_max_ms / 4;
    b->cl.isr_timer = weir_timer_start(env, (period > 50 ? period : 50) * MS, isr_tick, b);
}

/* ---- HW checkpoints ---- */

static void hw_checkpoint_all(weir_broker *b)
{
    for (size_t i = 0; i < b->topics.n; i++) {
        weir_topic *t = b->topics.t[i];
        for (int32_t j = 0; j < t->partition_count; j++) {
            weir_partition *p = &t->partitions[j];
            if (p->log != NULL && p->high_watermark != p->hw_checkpointed &&
                weir_plog_hw_write(p->log, p->high_watermark) == 0) {
                p->hw_checkpointed = p->high_watermark;
            }
        }
    }
}

static void hw_tick(weir_env *env, void *arg)
{
    weir_broker *b = arg;
    b->cl.hw_timer = NULL;
    hw_checkpoint_all(b);
    b->cl.hw_timer = weir_timer_start(env, b->cfg.hw_checkpoint_interval_ms * MS, hw_tick, b);
}

/* ---- registration and heartbeats ---- */

static void heartbeat_tick(weir_env *env, void *arg);

static void registration_reply(void *arg, int err, weir_rd *rd, weir_arena *a)
{
    weir_broker *b = arg;
    b->cl.registering = false;
    if (b->shut_down) {
        return;
    }
    weir_broker_registration_response resp;
    if (err == 0) {
        err = weir_decode_broker_registration_response(rd, 0, a, &resp);
    }
    if (err == 0 && resp.error_code == WEIR_KERR_NONE) {
        b->cl.broker_epoch = resp.broker_epoch;
        weir_log_info(b->env, "registered with the controller (broker epoch %lld)",
                      (long long)resp.broker_epoch);
    } else {
        weir_log_warn(b->env, "registration with the controller failed: %s",
                      err != 0 ? weir_err_str(err) : weir_kerr_name(resp.error_code));
    }
}

static void send_registration(weir_broker *b)
{
    weir_broker_registration_listener l = {
        weir_str_from("PLAINTEXT"), weir_str_from(b->cfg.advertised_host),
        (uint16_t)b->cfg.advertised_port, 0};
    weir_request r;
    memset(&r, 0, sizeof r);
    r.header.api_key = WEIR_API_BROKER_REGISTRATION;
    r.header.api_version = 0;
    weir_broker_registration_request *req = &r.body.broker_registration;
    req->broker_id = b->cfg.node_id;
    req->cluster_id = weir_str_from(b->cfg.cluster_id);
    memcpy(req->incarnation_id.b, b->cl.incarnation, 16);
    req->listener_count = 1;
    req->listeners = &l;
    req->rack = WEIR_STR_NULL;
    if (weir_peer_send(b->cl.ctl, &r, REQUEST_TIMEOUT_MS, registration_reply, b) == 0) {
        b->cl.registering = true;
    }
}

static void heartbeat_reply(void *arg, int err, weir_rd *rd, weir_arena *a)
{
    weir_broker *b = arg;
    b->cl.heartbeat_in_flight = false;
    if (b->shut_down) {
        return;
    }
    weir_broker_heartbeat_response resp;
    if (err == 0 && weir_decode_broker_heartbeat_response(rd, 0, a, &resp) == 0 &&
        (resp.is_fenced || resp.error_code != WEIR_KERR_NONE)) {
        weir_log_warn(b->env, "the controller fenced this broker: registering again");
        b->cl.broker_epoch = -1;
    }
}

static void heartbeat_tick(weir_env *env, void *arg)
{
    weir_broker *b = arg;
    b->cl.hb_timer = NULL;
    if (b->cl.broker_epoch < 0) {
        if (!b->cl.registering) {
            send_registration(b);
        }
    } else if (!b->cl.heartbeat_in_flight) {
        weir_request r;
        memset(&r, 0, sizeof r);
        r.header.api_key = WEIR_API_BROKER_HEARTBEAT;
        r.header.api_version = 0;
        r.body.broker_heartbeat =
            (weir_broker_heartbeat_request){b->cfg.node_id, b->cl.broker_epoch, 0, false, false};
        if (weir_peer_send(b->cl.ctl, &r, REQUEST_TIMEOUT_MS, heartbeat_reply, b) == 0) {
            b->cl.heartbeat_in_flight = true;
        }
    }
    int64_t period = b->cl.broker_epoch < 0 ? 500 : b->cfg.heartbeat_interval_ms;
    b->cl.hb_timer = weir_timer_start(env, period * MS, heartbeat_tick, b);
}

void bk_cluster_start(weir_broker *b)
{
    if (b->cfg.controller_addr[0] == '\0') {
        return;
    }
    b->cl.enabled = true;
    b->cl.broker_epoch = -1;
    /* after a halt the old peer took its callbacks with it: nothing is in flight */
    b->cl.registering = false;
    b->cl.heartbeat_in_flight = false;
    b->cl.n_live = 0;
    b->cl.live_known = false;
    b->cl.pending.prev = b->cl.pending.next = &b->cl.pending;
    for (int i = 0; i < 16; i++) {
        b->cl.incarnation[i] = (uint8_t)weir_random(b->env);
    }
    /* Local logs wait for the controller's word before serving. */
    for (size_t i = 0; i < b->topics.n; i++) {
        weir_topic *t = b->topics.t[i];
        for (int32_t j = 0; j < t->partition_count; j++) {
            weir_partition *p = &t->partitions[j];
            p->role = WEIR_ROLE_NONE;
            p->leader_id = -1;
            p->leader_epoch = -1;
            p->partition_epoch = -1;
            if (p->log != NULL) {
                int64_t leo = weir_plog_end_offset(p->log);
                int64_t hw = p->hw_checkpointed >= 0 ? p->hw_checkpointed : 0;
                p->high_watermark = hw < leo ? hw : leo;
            }
        }
    }
    b->cl.ctl = weir_peer_new(b->env, b->cfg.controller_addr, "weir-broker");
    send_registration(b);
    b->cl.hb_timer = weir_timer_start(b->env, b->cfg.heartbeat_interval_ms * MS, heartbeat_tick, b);
    b->cl.isr_timer = weir_timer_start(b->env, 100 * MS, isr_tick, b);
    b->cl.hw_timer = weir_timer_start(b->env, b->cfg.hw_checkpoint_interval_ms * MS, hw_tick, b);
}

void bk_cluster_stop(weir_broker *b)
{
    if (!b->cl.enabled) {
        return;
    }
    weir_timer **timers[] = {&b->cl.hb_timer, &b->cl.isr_timer, &b->cl.hw_timer};
    for (size_t i = 0; i < sizeof timers / sizeof timers[0]; i++) {
        if (*timers[i] != NULL) {
            weir_timer_cancel(b->env, *timers[i]);
            *timers[i] = NULL;
        }
    }
    for (size_t i = 0; i < b->topics.n; i++) {
        weir_topic *t = b->topics.t[i];
        for (int32_t j = 0; j < t->partition_count; j++) {
            follower_stop(b, &t->partitions[j]);
        }
    }
    hw_checkpoint_all(b);
    /* The peers drop their callbacks: free what those would have freed. */
    weir_peer_free(b->cl.ctl);
    b->cl.ctl = NULL;
    while (b->cl.pending.next != &b->cl.pending) {
        bk_pending *p = b->cl.pending.next;
        pending_del(p);
        free(p); /* an isr_call: it starts with its link */
    }
    b->cl.enabled = false;
}

void bk_cluster_abandon(weir_broker *b)
{
    if (!b->cl.enabled) {
        return;
    }
    for (size_t i = 0; i < b->topics.n; i++) {
        weir_topic *t = b->topics.t[i];
        for (int32_t j = 0; j < t->partition_count; j++) {
            bk_follower *f = t->partitions[j].follow;
            if (f != NULL) {
                weir_peer_abandon(f->peer);
                free(f);
                t->partitions[j].follow = NULL;
            }
        }
    }
    weir_peer_abandon(b->cl.ctl);
    b->cl.ctl = NULL;
    while (b->cl.pending.next != &b->cl.pending) {
        bk_pending *p = b->cl.pending.next;
        pending_del(p);
        free(p);
    }
    b->cl.enabled = false;
}

static void create_reply(void *arg, int err, weir_rd *rd, weir_arena *a)
{
    (void)rd;
    (void)a;
    weir_broker *b = arg;
    if (err != 0 && !b->shut_down) {
        weir_log_warn(b->env, "asking the controller to create a topic failed: %s", weir_err_str(err));
    }
}

void bk_cluster_create_topic(weir_broker *b, const char *name, size_t len, int32_t partitions,
                             int16_t replication_factor)
{
    if (!b->cl.enabled || b->cl.ctl == NULL) {
        return;
    }
    weir_create_topics_topic t = {{name, (int32_t)len}, partitions, replication_factor, 0, NULL, 0, NULL};
    weir_request r;
    memset(&r, 0, sizeof r);
    r.header.api_key = WEIR_API_CREATE_TOPICS;
    r.header.api_version = 4;
    r.body.create_topics = (weir_create_topics_request){1, &t, REQUEST_TIMEOUT_MS, false};
    if (weir_peer_send(b->cl.ctl, &r, REQUEST_TIMEOUT_MS, create_reply, b) != 0) {
        weir_log_warn(b->env, "cannot reach the controller to create topic %.*s", (int)len, name);
    }
}
