/* Transaction markers, both ends (Kafka's TransactionMarkerChannelManager and
 * KafkaApis.handleWriteTxnMarkersRequest).
 *
 * Coordinator side: for every transaction in PrepareCommit/PrepareAbort, one
 * WriteTxnMarkers v0 request per partition leader (looked up in this broker's
 * metadata), over a weir_peer per broker (this broker's own address too).
 * A partition whose leader is unknown, or whose answer is a retriable error,
 * is tried again after TXN_MARKER_RETRY_MS; when every partition answered,
 * txn_coord.c writes the Complete record.
 *
 * Leader side: the handler appends each marker with weir_plog_append_marker
 * (producer state refuses an older producer or coordinator epoch) and answers
 * once the HW passes every marker it appended, as acks=all does; markers on
 * __consumer_offsets also go to the group coordinator (bk_group_on_marker).
 */
#include "broker/txn_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/group.h"
#include "core/assert.h"
#include "log/log.h"

/* ---- coordinator side: calls out ---- */

struct bk_marker_call {
    bk_marker_call *next; /* in bk_txn_state.calls */
    bk_txn_state *s;
    bk_txn *txn; /* NULL once forgotten */
    int32_t broker_id;
    int64_t producer_id;
    int n;
    int idx[]; /* indexes into txn->m.tps (fixed while in PrepareX) */
};

static void call_unlink(bk_txn_state *s, bk_marker_call *call)
{
    for (bk_marker_call **pp = &s->calls; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == call) {
            *pp = call->next;
            call->next = NULL;
            return;
        }
    }
    WEIR_ASSERT(!"a marker call missing from its list");
}

void bk_txn_markers_forget(bk_txn_state *s, const bk_txn *txn)
{
    for (bk_marker_call *call = s->calls; call != NULL; call = call->next) {
        if (call->txn == txn) {
            call->txn = NULL; /* its reply only frees it */
        }
    }
}

static void marker_tick(weir_env *env, void *arg);

void bk_txn_markers_schedule(bk_txn_state *s, int64_t delay_ms)
{
    if (s->marker_timer == NULL && !s->b->shut_down) {
        s->marker_timer = weir_timer_start(s->b->env, delay_ms * TXN_MS, marker_tick, s);
    }
}

/* The current leader of a partition and its address: false when unknown. */
static bool leader_addr(weir_broker *b, const bk_txn_tp *tp, int32_t *id_out, char *addr,
                        size_t size)
{
    weir_topic *t = weir_topics_find(&b->topics, tp->topic, strlen(tp->topic));
    weir_partition *p = weir_topic_partition(t, tp->partition);
    if (p == NULL || p->leader_id < 0) {
        return false;
    }
    *id_out = p->leader_id;
    if (p->leader_id == b->cfg.node_id) {
        snprintf(addr, size, "%s:%d", b->cfg.advertised_host, b->cfg.advertised_port);
        return true;
    }
    for (int i = 0; i < b->cl.n_live; i++) {
        const bk_live_broker *lb = &b->cl.live[i];
        if (lb->id == p->leader_id && lb->up) {
            snprintf(addr, size, "%s:%d", lb->host, lb->port);
            return true;
        }
    }
    return false;
}

static weir_peer *peer_for(bk_txn_state *s, int32_t id, const char *addr)
{
    for (int i = 0; i < s->n_peers; i++) {
        if (s->peers[i].broker_id == id) {
            if (strcmp(weir_peer_addr(s->peers[i].peer), addr) != 0) {
                weir_peer_set_addr(s->peers[i].peer, addr); /* it moved */
            }
            return s->peers[i].peer;
        }
    }
    bk_txn_peer *grown = realloc(s->peers, (size_t)(s->n_peers + 1) * sizeof *grown);
    if (grown == NULL) {
        return NULL;
    }
    s->peers = grown;
    weir_peer *peer = weir_peer_new(s->b->env, addr, "weir-txn-markers");
    if (peer == NULL) {
        return NULL;
    }
    s->peers[s->n_peers++] = (bk_txn_peer){id, peer};
    return peer;
}

/* The result for (topic, partition) of producer_id in a WriteTxnMarkers
 * response, or -1 when the response does not name it. */
static int marker_result(const weir_write_txn_markers_response *resp, int64_t producer_id,
                         const bk_txn_tp *tp)
{
    for (int32_t m = 0; m < resp->marker_count; m++) {
        const weir_write_txn_markers_marker_result *mr = &resp->markers[m];
        if (mr->producer_id != producer_id) {
            continue;
        }
        for (int32_t t = 0; t < mr->topic_count; t++) {
            if (!weir_str_eq_cstr(mr->topics[t].name, tp->topic)) {
                continue;
            }
            for (int32_t k = 0; k < mr->topics[t].partition_count; k++) {
                if (mr->topics[t].partitions[k].partition_index == tp->partition) {
                    return mr->topics[t].partitions[k].error_code;
                }
            }
        }
    }
    return -1;
}

static void marker_reply(void *arg, int err, weir_rd *rd, weir_arena *a)
{
    bk_marker_call *call = arg;
    bk_txn_state *s = call->s;
    call_unlink(s, call);
    bk_txn *txn = call->txn;
    if (txn == NULL) {
        free(call);
        return;
    }
    txn->markers_in_flight--;
    weir_write_txn_markers_response resp;
    if (err == 0) {
        err = weir_decode_write_txn_markers_response(rd, 0, a, &resp);
    }
    bool retry = false;
    for (int i = 0; i < call->n; i++) {
        bk_txn_tp *tp = &txn->m.tps[call->idx[i]];
        int code = err == 0 ? marker_result(&resp, call->producer_id, tp) : -1;
        if (code == WEIR_KERR_NONE) {
            tp->marker = TXN_MARKER_DONE;
        } else if (code == WEIR_KERR_INVALID_PRODUCER_EPOCH ||
                   code == WEIR_KERR_TRANSACTION_COORDINATOR_FENCED) {
            /* a newer producer epoch or coordinator has moved the partition on */
            weir_log_warn(s->b->env,
                          "transactional id %s: marker for %s-%d refused (%s); "
                          "not sending it again",
                          txn->tid, tp->topic, tp->partition, weir_kerr_name((int16_t)code));
            tp->marker = TXN_MARKER_DONE;
        } else {
            tp->marker = TXN_MARKER_PENDING; /* not leader, not enough replicas, timed out, ... */
            retry = true;
        }
    }
    free(call);
    if (retry) {
        bk_txn_markers_schedule(s, TXN_MARKER_RETRY_MS);
    } else if (txn->markers_in_flight == 0) {
        bk_txn_markers_schedule(s, 0); /* the pass completes it when all are done */
    }
}

/* Sends one request to `leader` with the pending partitions it leads. */
static bool markers_send(bk_txn_state *s, const bk_txn_part *part, bk_txn *txn, int32_t leader,
                         const char *addr, const int32_t *leaders)
{
    int n = 0;
    for (int i = 0; i < txn->m.n_tps; i++) {
        n += txn->m.tps[i].marker == TXN_MARKER_PENDING && leaders[i] == leader;
    }
    bk_marker_call *call = calloc(1, sizeof *call + (size_t)n * sizeof call->idx[0]);
    weir_write_txn_markers_topic *topics = calloc((size_t)n, sizeof *topics);
    int32_t *indexes = calloc((size_t)n, sizeof *indexes);
    weir_peer *peer = peer_for(s, leader, addr);
    if (call == NULL || topics == NULL || indexes == NULL || peer == NULL) {
        free(call);
        free(topics);
        free(indexes);
        return false;
    }
    int32_t nt = 0;
    for (int i = 0; i < txn->m.n_tps; i++) {
        const bk_txn_tp *tp = &txn->m.tps[i];
        if (tp->marker != TXN_MARKER_PENDING || leaders[i] != leader) {
            continue;
        }
        /* tps are sorted: one topic's partitions are adjacent */
        if (nt == 0 || !weir_str_eq_cstr(topics[nt - 1].name, tp->topic)) {
            topics[nt++] =
                (weir_write_txn_markers_topic){weir_str_from(tp->topic), 0, &indexes[call->n]};
        }
        indexes[call->n] = tp->partition;
        topics[nt - 1].partition_index_count++;
        call->idx[call->n++] = i;
    }
    weir_write_txn_markers_marker marker = {txn->m.producer_id,
                                            txn->m.producer_epoch,
                                            txn->m.state == WEIR_TXN_PREPARE_COMMIT,
                                            nt,
                                            topics,
                                            part->coordinator_epoch};
    weir_request r;
    memset(&r, 0, sizeof r);
    r.header.api_key = WEIR_API_WRITE_TXN_MARKERS;
    r.header.api_version = 0;
    r.body.write_txn_markers = (weir_write_txn_markers_request){1, &marker};
    call->s = s;
    call->txn = txn;
    call->broker_id = leader;
    call->producer_id = txn->m.producer_id;
    int err = weir_peer_send(peer, &r, TXN_MARKER_TIMEOUT_MS, marker_reply, call);
    free(topics);
    free(indexes);
    if (err != 0) {
        free(call);
        return false;
    }
    for (int i = 0; i < call->n; i++) {
        txn->m.tps[call->idx[i]].marker = TXN_MARKER_IN_FLIGHT;
    }
    call->next = s->calls;
    s->calls = call;
    txn->markers_in_flight++;
    return true;
}

/* Sends what txn still needs; true when some partition must wait (no leader). */
static bool markers_for(bk_txn_state *s, const bk_txn_part *part, bk_txn *txn)
{
    int32_t *leaders = calloc((size_t)txn->m.n_tps + 1, sizeof *leaders);
    char(*addrs)[160] = calloc((size_t)txn->m.n_tps + 1, sizeof *addrs);
    if (leaders == NULL || addrs == NULL) {
        free(leaders);
        free(addrs);
        return true;
    }
    bool later = false;
    for (int i = 0; i < txn->m.n_tps; i++) {
        bk_txn_tp *tp = &txn->m.tps[i];
        leaders[i] = -1;
        if (tp->marker != TXN_MARKER_PENDING) {
            continue;
        }
        weir_topic *topic = weir_topics_find(&s->b->topics, tp->topic, strlen(tp->topic));
        if (weir_topic_partition(topic, tp->partition) == NULL) {
            /* As Kafka: a partition the metadata does not know was deleted; its
             * marker is skipped rather than retried forever. */
            weir_log_info(s->b->env, "transactional id %s: %s-%d is gone; no marker for it",
                          txn->tid, tp->topic, tp->partition);
            tp->marker = TXN_MARKER_DONE;
            continue;
        }
        if (!leader_addr(s->b, tp, &leaders[i], addrs[i], sizeof addrs[i])) {
            leaders[i] = -1;
            later = true;
        }
    }
    /* one request per leader, in the order the partitions name them */
    for (int i = 0; i < txn->m.n_tps; i++) {
        if (txn->m.tps[i].marker != TXN_MARKER_PENDING || leaders[i] < 0) {
            continue;
        }
        if (!markers_send(s, part, txn, leaders[i], addrs[i], leaders)) {
            later = true;
            int32_t gone = leaders[i];
            for (int k = i; k < txn->m.n_tps; k++) {
                if (leaders[k] == gone) {
                    leaders[k] = -1; /* not again in this pass */
                }
            }
        }
    }
    free(leaders);
    free(addrs);
    return later;
}

static void marker_tick(weir_env *env, void *arg)
{
    (void)env;
    bk_txn_state *s = arg;
    s->marker_timer = NULL;
    bool later = false;
    for (int32_t i = 0; i < s->n_parts; i++) {
        bk_txn_part *part = &s->parts[i];
        for (int k = 0; part->loaded && k < part->n; k++) {
            bk_txn *txn = part->txns[k];
            if (txn->write != NULL || (txn->m.state != WEIR_TXN_PREPARE_COMMIT &&
                                       txn->m.state != WEIR_TXN_PREPARE_ABORT)) {
                continue;
            }
            later = markers_for(s, part, txn) || later;
            bool all_done = txn->markers_in_flight == 0;
            for (int t = 0; all_done && t < txn->m.n_tps; t++) {
                all_done = txn->m.tps[t].marker == TXN_MARKER_DONE;
            }
            if (all_done) {
                bk_txn_markers_done(s, txn); /* may schedule this pass again */
            }
        }
    }
    if (later) {
        bk_txn_markers_schedule(s, TXN_MARKER_RETRY_MS);
    }
}

/* ---- leader side: WriteTxnMarkers ---- */

typedef struct mw_entry {
    int marker; /* index into the request's markers */
    char topic[WEIR_TOPIC_NAME_MAX + 1];
    int32_t partition;
    int16_t error_code;
    int32_t leader_epoch; /* of the append */
    int64_t required_hw;  /* -1: settled */
} mw_entry;

struct bk_marker_wait {
    bk_marker_wait *next; /* in bk_txn_state.mwaits */
    weir_broker *b;
    bk_reply *reply;
    weir_timer *timer;
    int64_t *producer_ids; /* per marker */
    int n_markers;
    mw_entry *e;
    int n;
};

static void mwait_free(bk_marker_wait *w)
{
    free(w->producer_ids);
    free(w->e);
    free(w);
}

static int16_t min_isr(const weir_broker *b, const char *topic)
{
    int16_t n = b->cfg.min_insync_replicas;
    for (int i = 0; i < b->cfg.n_topic_min_isr; i++) {
        if (strcmp(b->cfg.topic_min_isr[i].topic, topic) == 0) {
            n = b->cfg.topic_min_isr[i].min_insync_replicas;
        }
    }
    return n;
}

static int16_t pstate_code(int producer_error)
{
    switch (producer_error) {
    case WEIR_PSTATE_INVALID_PRODUCER_EPOCH:
        return WEIR_KERR_INVALID_PRODUCER_EPOCH;
    case WEIR_PSTATE_COORDINATOR_FENCED:
        return WEIR_KERR_TRANSACTION_COORDINATOR_FENCED;
    default:
        return WEIR_KERR_UNKNOWN_SERVER_ERROR;
    }
}

/* Appends one marker as leader; sets e->error_code and e->required_hw. */
static void marker_append(weir_broker *b, const weir_write_txn_markers_marker *m, mw_entry *e)
{
    weir_topic *t = weir_topics_find(&b->topics, e->topic, strlen(e->topic));
    weir_partition *p = weir_topic_partition(t, e->partition);
    if (p == NULL) {
        e->error_code = WEIR_KERR_UNKNOWN_TOPIC_OR_PARTITION;
        return;
    }
    if (p->log == NULL || p->role != WEIR_ROLE_LEADER) {
        e->error_code = WEIR_KERR_NOT_LEADER_OR_FOLLOWER;
        return;
    }
    if (p->lead.n_isr < min_isr(b, t->name)) {
        e->error_code = WEIR_KERR_NOT_ENOUGH_REPLICAS; /* acks=all: refused before appending */
        return;
    }
    weir_log_append_info info;
    const char *why = NULL;
    int err =
        weir_plog_append_marker(p->log, m->producer_id, m->producer_epoch, m->coordinator_epoch,
                                m->transaction_result, p->leader_epoch, &info, &why);
    if (err != 0) {
        e->error_code =
            err == WEIR_E_PRODUCER ? pstate_code(info.producer_error) : bk_kerr_from(err);
        weir_log_warn(b->env, "%s-%d: %s marker of producer %lld epoch %d refused: %s", t->name,
                      p->index, m->transaction_result ? "COMMIT" : "ABORT",
                      (long long)m->producer_id, m->producer_epoch,
                      why != NULL ? why : weir_kerr_name(e->error_code));
        return;
    }
    e->error_code = WEIR_KERR_NONE;
    e->leader_epoch = p->leader_epoch;
    if (weir_leader_update_hw(&p->lead, weir_plog_end_offset(p->log))) {
        p->high_watermark = p->lead.hw;
        bk_hw_advanced(b, p);
    }
    if (p->high_watermark <= info.last_offset) {
        e->required_hw = info.last_offset + 1;
    }
    p->unflushed_messages++;
    if (b->cfg.flush_interval_messages > 0 &&
        p->unflushed_messages >= b->cfg.flush_interval_messages) {
        err = weir_plog_flush(p->log);
        if (err != 0) {
            char what[300];
            snprintf(what, sizeof what, "%s-%d: flush", t->name, p->index);
            bk_log_dir_failed(b, what, err);
            e->error_code = WEIR_KERR_KAFKA_STORAGE_ERROR;
            e->required_hw = -1;
            return;
        }
        p->unflushed_messages = 0;
    }
    if (strcmp(t->name, BK_OFFSETS_TOPIC) == 0) {
        /* the producer's transactional offsets become visible, or go */
        bk_group_on_marker(b, p->index, m->producer_id, m->transaction_result);
    }
}

static int mwait_encode(weir_wr *w, weir_arena *a, int16_t version, void *arg)
{
    const bk_marker_wait *mw = arg;
    weir_write_txn_markers_marker_result *markers =
        weir_arena_alloc_array(a, (size_t)mw->n_markers + 1, sizeof *markers);
    weir_write_txn_markers_topic_result *topics =
        weir_arena_alloc_array(a, (size_t)mw->n + 1, sizeof *topics);
    weir_write_txn_markers_partition_result *parts =
        weir_arena_alloc_array(a, (size_t)mw->n + 1, sizeof *parts);
    if (markers == NULL || topics == NULL || parts == NULL) {
        return WEIR_E_NOMEM;
    }
    int nt = 0;
    int i = 0;
    for (int m = 0; m < mw->n_markers; m++) {
        markers[m] = (weir_write_txn_markers_marker_result){mw->producer_ids[m], 0, &topics[nt]};
        for (; i < mw->n && mw->e[i].marker == m; i++) {
            const mw_entry *e = &mw->e[i];
            if (markers[m].topic_count == 0 || strcmp(e->topic, mw->e[i - 1].topic) != 0) {
                topics[nt++] =
                    (weir_write_txn_markers_topic_result){weir_str_from(e->topic), 0, &parts[i]};
                markers[m].topic_count++;
            }
            parts[i] = (weir_write_txn_markers_partition_result){e->partition, e->error_code};
            topics[nt - 1].partition_count++;
        }
    }
    weir_write_txn_markers_response resp = {mw->n_markers, markers};
    return weir_encode_write_txn_markers_response(w, version, &resp);
}

/* Settles what is decided; true when every entry is. */
static bool mwait_settle(weir_broker *b, bk_marker_wait *mw, bool timed_out)
{
    bool all = true;
    for (int i = 0; i < mw->n; i++) {
        mw_entry *e = &mw->e[i];
        if (e->required_hw < 0) {
            continue;
        }
        weir_topic *t = weir_topics_find(&b->topics, e->topic, strlen(e->topic));
        weir_partition *p = weir_topic_partition(t, e->partition);
        if (p == NULL || p->log == NULL || p->role != WEIR_ROLE_LEADER ||
            p->leader_epoch != e->leader_epoch) {
            e->error_code = WEIR_KERR_NOT_LEADER_OR_FOLLOWER;
            e->required_hw = -1;
        } else if (p->high_watermark >= e->required_hw) {
            e->required_hw = -1;
        } else if (timed_out) {
            e->error_code = WEIR_KERR_REQUEST_TIMED_OUT;
            e->required_hw = -1;
        } else {
            all = false;
        }
    }
    return all;
}

static void mwait_unlink(bk_txn_state *s, bk_marker_wait *mw)
{
    for (bk_marker_wait **pp = &s->mwaits; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == mw) {
            *pp = mw->next;
            mw->next = NULL;
            return;
        }
    }
    WEIR_ASSERT(!"a marker wait missing from its list");
}

static void mwait_answer(weir_broker *b, bk_marker_wait *mw)
{
    if (mw->timer != NULL) {
        weir_timer_cancel(b->env, mw->timer);
        mw->timer = NULL;
    }
    mwait_unlink(b->txn, mw);
    bk_reply_send(b, mw->reply, mwait_encode, mw);
    mwait_free(mw);
}

static void mwait_timeout(weir_env *env, void *arg)
{
    (void)env;
    bk_marker_wait *mw = arg;
    mw->timer = NULL;
    mwait_settle(mw->b, mw, true);
    mwait_answer(mw->b, mw);
}

void bk_txn_marker_waits_check(weir_broker *b)
{
    bk_txn_state *s = b->txn;
    if (s == NULL) {
        return;
    }
    for (bk_marker_wait *mw = s->mwaits; mw != NULL;) {
        bk_marker_wait *next = mw->next;
        if (mwait_settle(b, mw, false)) {
            mwait_answer(b, mw);
        }
        mw = next;
    }
}

/* The request's (marker, topic, partition) triples, in request order. */
static bk_marker_wait *mwait_new(weir_broker *b, const weir_write_txn_markers_request *req)
{
    int n = 0;
    int32_t nm = req->marker_count > 0 ? req->marker_count : 0;
    for (int32_t m = 0; m < nm; m++) {
        for (int32_t t = 0; t < req->markers[m].topic_count; t++) {
            n += req->markers[m].topics[t].partition_index_count > 0
                     ? req->markers[m].topics[t].partition_index_count
                     : 0;
        }
    }
    bk_marker_wait *mw = calloc(1, sizeof *mw);
    int64_t *pids = calloc((size_t)nm + 1, sizeof *pids);
    mw_entry *e = calloc((size_t)n + 1, sizeof *e);
    if (mw == NULL || pids == NULL || e == NULL) {
        free(mw);
        free(pids);
        free(e);
        return NULL;
    }
    mw->b = b;
    mw->producer_ids = pids;
    mw->n_markers = nm;
    mw->e = e;
    int k = 0;
    for (int32_t m = 0; m < nm; m++) {
        pids[m] = req->markers[m].producer_id;
        for (int32_t t = 0; t < req->markers[m].topic_count; t++) {
            const weir_write_txn_markers_topic *tt = &req->markers[m].topics[t];
            int32_t len = tt->name.len > 0 ? tt->name.len : 0;
            if (len > WEIR_TOPIC_NAME_MAX) {
                len = WEIR_TOPIC_NAME_MAX;
            }
            for (int32_t j = 0; j < tt->partition_index_count; j++, k++) {
                e[k].marker = m;
                memcpy(e[k].topic, tt->name.p, (size_t)len);
                e[k].topic[len] = '\0';
                e[k].partition = tt->partition_indexes[j];
                e[k].required_hw = -1;
            }
        }
    }
    mw->n = k;
    return mw;
}

int bk_handle_write_txn_markers(bk_conn *c, const weir_request *r, bool *parked)
{
    weir_broker *b = c->b;
    const weir_write_txn_markers_request *req = &r->body.write_txn_markers;
    bk_txn_state *s = bk_txn_state_get(b);
    bk_marker_wait *mw = s != NULL ? mwait_new(b, req) : NULL;
    if (mw == NULL) {
        return WEIR_E_NOMEM;
    }
    bool appended = false;
    bool waiting = false;
    for (int i = 0; i < mw->n; i++) {
        marker_append(b, &req->markers[mw->e[i].marker], &mw->e[i]);
        appended = appended || mw->e[i].error_code == WEIR_KERR_NONE;
        waiting = waiting || mw->e[i].required_hw >= 0;
    }
    if (appended) {
        bk_fetch_wake_all(b); /* followers, and read_committed consumers once the LSO moves */
    }
    if (!waiting) {
        int err = mwait_encode(&b->out, &b->arena, r->header.api_version, mw);
        mwait_free(mw);
        return err;
    }
    mw->reply = bk_reply_park(c, &r->header);
    if (mw->reply == NULL) {
        mwait_free(mw);
        return WEIR_E_NOMEM;
    }
    mw->timer =
        weir_timer_start(b->env, (int64_t)TXN_MARKER_TIMEOUT_MS * TXN_MS, mwait_timeout, mw);
    mw->next = s->mwaits;
    s->mwaits = mw;
    *parked = true;
    bk_produce_check_all(b); /* the HW may have passed already */
    return 0;
}

/* ---- teardown ---- */

void bk_txn_markers_free(bk_txn_state *s, bool env_alive)
{
    weir_broker *b = s->b;
    if (env_alive && s->marker_timer != NULL) {
        weir_timer_cancel(b->env, s->marker_timer);
    }
    s->marker_timer = NULL;
    for (int i = 0; i < s->n_peers; i++) {
        if (env_alive) {
            weir_peer_free(s->peers[i].peer); /* drops the calls' callbacks */
        } else {
            weir_peer_abandon(s->peers[i].peer);
        }
    }
    free(s->peers);
    s->peers = NULL;
    s->n_peers = 0;
    while (s->calls != NULL) {
        bk_marker_call *call = s->calls;
        s->calls = call->next;
        free(call);
    }
    while (s->mwaits != NULL) {
        bk_marker_wait *mw = s->mwaits;
        s->mwaits = mw->next;
        if (env_alive && mw->timer != NULL) {
            weir_timer_cancel(b->env, mw->timer);
        }
        bk_reply_free(mw->reply); /* its connection is closed: nothing to answer */
        mwait_free(mw);
    }
}
