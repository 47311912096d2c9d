/* The transaction coordinator (Kafka's TransactionCoordinator and
 * TransactionStateManager): InitProducerId, AddPartitionsToTxn,
 * AddOffsetsToTxn and EndTxn for the transactional ids whose
 * __transaction_state partition this broker leads, the state records in that
 * partition, loading them when leadership arrives, and the timeout scan.
 *
 * Every state change is a record appended to the partition (the plumbing's
 * bk_coord_append, acks=all) and takes effect, and is answered, once the HW
 * passes it; see txn_internal.h for the invariants. EndTxn is answered once
 * its PrepareCommit/PrepareAbort record is replicated; the markers then go
 * out (txn_markers.c) and the CompleteCommit/CompleteAbort record follows.
 *
 * EndTxn v5 is Kafka's "transaction version 2" (KIP-890): the Prepare record
 * carries epoch + 1, so do the markers, and the reply returns it; a delayed
 * request of the finished transaction carries the old epoch and is fenced.
 * EndTxn v0-v4 keep the epoch (the hazard KIP-890 closes).
 */
#include "broker/txn_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "log/batch.h"
#include "log/log.h"

/* ---- state, partitions, transactions ---- */

bk_txn_state *bk_txn_state_get(weir_broker *b)
{
    if (b->txn == NULL) {
        bk_txn_state *s = calloc(1, sizeof *s);
        if (s == NULL) {
            return NULL;
        }
        s->b = b;
        weir_pid_init(&s->pids, b->cfg.node_id);
        s->writes.prev = s->writes.next = &s->writes;
        b->txn = s;
    }
    return b->txn;
}

static bk_txn_part *txn_part(bk_txn_state *s, int32_t index)
{
    return index >= 0 && index < s->n_parts && s->parts[index].loaded ? &s->parts[index] : NULL;
}

/* Binary search by id: the position of tid, or where it would go. */
static int txn_pos(const bk_txn_part *part, const char *tid, int32_t len, bool *found)
{
    int lo = 0;
    int hi = part->n;
    *found = false;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        const bk_txn *t = part->txns[mid];
        int32_t n = t->tid_len < len ? t->tid_len : len;
        int cmp = memcmp(t->tid, tid, (size_t)n);
        if (cmp == 0) {
            cmp = t->tid_len < len ? -1 : (t->tid_len > len ? 1 : 0);
        }
        if (cmp == 0) {
            *found = true;
            return mid;
        }
        if (cmp < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static bk_txn *txn_find(const bk_txn_part *part, weir_str tid)
{
    bool found;
    int at = txn_pos(part, tid.p, tid.len, &found);
    return found ? part->txns[at] : NULL;
}

static void meta_free(bk_txn_meta *m)
{
    free(m->tps);
    m->tps = NULL;
    m->n_tps = 0;
}

/* A deep copy of m (tps included). */
static int meta_copy(bk_txn_meta *dst, const bk_txn_meta *m)
{
    *dst = *m;
    dst->tps = NULL;
    if (m->n_tps > 0) {
        dst->tps = malloc((size_t)m->n_tps * sizeof *dst->tps);
        if (dst->tps == NULL) {
            return WEIR_E_NOMEM;
        }
        memcpy(dst->tps, m->tps, (size_t)m->n_tps * sizeof *dst->tps);
    }
    return 0;
}

static void txn_free(bk_txn *t)
{
    if (t != NULL) {
        meta_free(&t->m);
        free(t->tid);
        free(t);
    }
}

/* Inserts a new transaction for tid (absent) with meta m (taken). */
static bk_txn *txn_insert(bk_txn_part *part, int32_t index, weir_str tid, bk_txn_meta *m)
{
    bool found;
    int at = txn_pos(part, tid.p, tid.len, &found);
    WEIR_ASSERT(!found);
    if (part->n == part->cap) {
        int cap = part->cap ? part->cap * 2 : 16;
        bk_txn **grown = realloc(part->txns, (size_t)cap * sizeof *grown);
        if (grown == NULL) {
            return NULL;
        }
        part->txns = grown;
        part->cap = cap;
    }
    bk_txn *t = calloc(1, sizeof *t);
    char *copy = malloc((size_t)tid.len + 1);
    if (t == NULL || copy == NULL) {
        free(t);
        free(copy);
        return NULL;
    }
    memcpy(copy, tid.p, (size_t)tid.len);
    copy[tid.len] = '\0';
    t->tid = copy;
    t->tid_len = tid.len;
    t->index = index;
    t->m = *m;
    memset(m, 0, sizeof *m);
    memmove(&part->txns[at + 1], &part->txns[at], (size_t)(part->n - at) * sizeof *part->txns);
    part->txns[at] = t;
    part->n++;
    return t;
}

static int tp_cmp(const char *topic, int32_t partition, const bk_txn_tp *b)
{
    int c = strcmp(topic, b->topic);
    return c != 0 ? c : (partition < b->partition ? -1 : partition > b->partition);
}

/* Adds (topic, partition) to m's sorted set; 0, or WEIR_E_NOMEM. */
static int meta_add_tp(bk_txn_meta *m, const char *topic, int32_t partition)
{
    int at = 0;
    while (at < m->n_tps && tp_cmp(topic, partition, &m->tps[at]) > 0) {
        at++;
    }
    if (at < m->n_tps && tp_cmp(topic, partition, &m->tps[at]) == 0) {
        return 0;
    }
    bk_txn_tp *grown = realloc(m->tps, (size_t)(m->n_tps + 1) * sizeof *grown);
    if (grown == NULL) {
        return WEIR_E_NOMEM;
    }
    m->tps = grown;
    memmove(&m->tps[at + 1], &m->tps[at], (size_t)(m->n_tps - at) * sizeof *m->tps);
    memset(&m->tps[at], 0, sizeof m->tps[at]);
    snprintf(m->tps[at].topic, sizeof m->tps[at].topic, "%s", topic);
    m->tps[at].partition = partition;
    m->n_tps++;
    return 0;
}

static bool meta_has_tp(const bk_txn_meta *m, const char *topic, int32_t partition)
{
    for (int i = 0; i < m->n_tps; i++) {
        if (tp_cmp(topic, partition, &m->tps[i]) == 0) {
            return true;
        }
    }
    return false;
}

static bool state_is_prepare(int8_t st)
{
    return st == WEIR_TXN_PREPARE_COMMIT || st == WEIR_TXN_PREPARE_ABORT;
}

static bool state_is_complete(int8_t st)
{
    return st == WEIR_TXN_COMPLETE_COMMIT || st == WEIR_TXN_COMPLETE_ABORT;
}

/* ---- replies ---- */

/* PRODUCER_FENCED (90) exists from InitProducerId v4, AddPartitionsToTxn v2,
 * AddOffsetsToTxn v2 and EndTxn v2; older versions get INVALID_PRODUCER_EPOCH,
 * as Kafka maps it. */
static int16_t fenced_code(int16_t api_key, int16_t version)
{
    int16_t first = api_key == WEIR_API_INIT_PRODUCER_ID ? 4 : 2;
    return version >= first ? WEIR_KERR_PRODUCER_FENCED : WEIR_KERR_INVALID_PRODUCER_EPOCH;
}

typedef struct txn_answer {
    int16_t api_key;
    int16_t error_code;
    int64_t producer_id;
    int16_t producer_epoch;
    const bk_txn_tp *asked; /* AddPartitionsToTxn */
    int n_asked;
} txn_answer;

static int answer_add_partitions(weir_wr *w, weir_arena *a, int16_t version, const txn_answer *ans)
{
    /* one topic entry per run of equal topics, in the request's order */
    weir_add_partitions_to_txn_topic_result *topics =
        weir_arena_alloc_array(a, (size_t)ans->n_asked + 1, sizeof *topics);
    weir_add_partitions_to_txn_partition_result *parts =
        weir_arena_alloc_array(a, (size_t)ans->n_asked + 1, sizeof *parts);
    if (topics == NULL || parts == NULL) {
        return WEIR_E_NOMEM;
    }
    int32_t nt = 0;
    for (int i = 0; i < ans->n_asked; i++) {
        const bk_txn_tp *tp = &ans->asked[i];
        if (i == 0 || strcmp(tp->topic, ans->asked[i - 1].topic) != 0) {
            topics[nt] =
                (weir_add_partitions_to_txn_topic_result){weir_str_from(tp->topic), 0, &parts[i]};
            nt++;
        }
        /* marker carries a per-partition error when the request was refused
         * partition by partition (unknown topics) */
        int16_t code = tp->marker != 0
                           ? (int16_t)(tp->marker == 1 ? WEIR_KERR_UNKNOWN_TOPIC_OR_PARTITION
                                                       : TXN_KERR_OPERATION_NOT_ATTEMPTED)
                           : ans->error_code;
        parts[i] = (weir_add_partitions_to_txn_partition_result){tp->partition, code};
        topics[nt - 1].result_count++;
    }
    weir_add_partitions_to_txn_response resp = {0, nt, topics};
    return weir_encode_add_partitions_to_txn_response(w, version, &resp);
}

static int answer_encode(weir_wr *w, weir_arena *a, int16_t version, void *arg)
{
    const txn_answer *ans = arg;
    switch (ans->api_key) {
    case WEIR_API_INIT_PRODUCER_ID: {
        weir_init_producer_id_response resp = {0, ans->error_code, ans->producer_id,
                                               ans->producer_epoch};
        return weir_encode_init_producer_id_response(w, version, &resp);
    }
    case WEIR_API_ADD_PARTITIONS_TO_TXN:
        return answer_add_partitions(w, a, version, ans);
    case WEIR_API_ADD_OFFSETS_TO_TXN: {
        weir_add_offsets_to_txn_response resp = {0, ans->error_code};
        return weir_encode_add_offsets_to_txn_response(w, version, &resp);
    }
    case WEIR_API_END_TXN: {
        weir_end_txn_response resp = {0, ans->error_code, ans->producer_id, ans->producer_epoch};
        return weir_encode_end_txn_response(w, version, &resp);
    }
    default:
        WEIR_ASSERT(!"a transaction reply for an API the coordinator does not serve");
    }
    return WEIR_E_INVAL;
}

/* Answers now, into b->out (the handler's own response). */
static int answer_now(bk_conn *c, const weir_request *r, txn_answer *ans)
{
    ans->api_key = r->header.api_key;
    if (ans->error_code != WEIR_KERR_NONE && ans->api_key != WEIR_API_END_TXN) {
        ans->producer_id = -1;
        ans->producer_epoch = -1;
    }
    return answer_encode(&c->b->out, &c->b->arena, r->header.api_version, ans);
}

static void answer_later(weir_broker *b, bk_reply *reply, txn_answer *ans)
{
    if (reply != NULL) {
        bk_reply_send(b, reply, answer_encode, ans);
    }
}

/* A failed txn-log append, as Kafka's TransactionStateManager maps it. */
static int16_t append_error(int16_t code)
{
    switch (code) {
    case WEIR_KERR_NONE:
        return WEIR_KERR_NONE;
    case WEIR_KERR_UNKNOWN_TOPIC_OR_PARTITION:
    case WEIR_KERR_NOT_ENOUGH_REPLICAS:
    case WEIR_KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case WEIR_KERR_REQUEST_TIMED_OUT:
        return WEIR_KERR_COORDINATOR_NOT_AVAILABLE;
    case WEIR_KERR_NOT_COORDINATOR:
    case WEIR_KERR_NOT_LEADER_OR_FOLLOWER:
    case WEIR_KERR_KAFKA_STORAGE_ERROR:
        return WEIR_KERR_NOT_COORDINATOR;
    default:
        return WEIR_KERR_UNKNOWN_SERVER_ERROR;
    }
}

/* ---- state records ---- */

static void write_unlink(bk_txn_write *w)
{
    w->prev->next = w->next;
    w->next->prev = w->prev;
    w->prev = w->next = w;
}

static void write_free(bk_txn_write *w)
{
    meta_free(&w->target);
    free(w->asked);
    free(w);
}

/* The record for target as bytes of a one-record batch (malloc'd by the
 * builder, which the caller frees). */
static int txn_record_build(weir_broker *b, const bk_txn *txn, const bk_txn_meta *m,
                            weir_batch_builder *bb, uint8_t **buf, size_t *len)
{
    weir_batch_builder_init(bb);
    weir_wr key, val;
    weir_wr_init(&key);
    weir_wr_init(&val);
    weir_txn_log_key_write(&key, (weir_str){txn->tid, txn->tid_len});
    weir_txn_log_tp *tps = m->n_tps > 0 ? calloc((size_t)m->n_tps, sizeof *tps) : NULL;
    int err = m->n_tps > 0 && tps == NULL ? WEIR_E_NOMEM : 0;
    for (int i = 0; err == 0 && i < m->n_tps; i++) {
        tps[i] = (weir_txn_log_tp){weir_str_from(m->tps[i].topic), m->tps[i].partition};
    }
    weir_txn_log_value v = {m->producer_id,
                            m->producer_epoch,
                            m->timeout_ms,
                            m->state,
                            m->state == WEIR_TXN_EMPTY ? -1 : m->n_tps,
                            tps,
                            m->update_ms,
                            m->start_ms};
    if (err == 0) {
        weir_txn_log_value_write(&val, &v);
        err = weir_wr_status(&key);
    }
    if (err == 0) {
        err = weir_wr_status(&val);
    }
    if (err == 0) {
        weir_batch_builder_add(bb, weir_wall_ms(b->env), key.buf, (int32_t)key.len, val.buf,
                               (int32_t)val.len, NULL, 0);
        err = weir_batch_builder_finish(bb, buf, len);
    }
    free(tps);
    weir_wr_free(&key);
    weir_wr_free(&val);
    return err;
}

static void txn_write_done(weir_broker *b, void *arg, int16_t error_code, int64_t base_offset);

/* Appends target (always taken) as txn's next state. Returns NONE with the
 * write in flight (txn->write; its reply set by the caller), or the error for
 * the client (the txn unchanged). */
static int16_t txn_write(bk_txn_state *s, bk_txn *txn, txn_write_kind kind, bk_txn_meta *target,
                         int16_t api_key, bk_txn_write **out)
{
    WEIR_ASSERT(txn->write == NULL);
    bk_txn_write *w = calloc(1, sizeof *w);
    weir_batch_builder bb;
    uint8_t *buf = NULL;
    size_t len = 0;
    int err = w == NULL ? WEIR_E_NOMEM : txn_record_build(s->b, txn, target, &bb, &buf, &len);
    if (err != 0) {
        if (w != NULL) {
            weir_batch_builder_free(&bb);
        }
        free(w);
        meta_free(target);
        return WEIR_KERR_UNKNOWN_SERVER_ERROR;
    }
    w->b = s->b;
    w->txn = txn;
    w->index = txn->index;
    w->kind = kind;
    w->target = *target;
    w->api_key = api_key;
    memset(target, 0, sizeof *target);
    int64_t base = -1;
    int16_t code = bk_coord_append(s->b, BK_COORD_TXN, txn->index, buf, len, TXN_APPEND_TIMEOUT_MS,
                                   txn_write_done, w, &base);
    weir_batch_builder_free(&bb);
    if (code != WEIR_KERR_NONE) {
        weir_log_warn(s->b->env, "transactional id %s: state record not written: %s", txn->tid,
                      weir_kerr_name(code));
        write_free(w);
        return append_error(code);
    }
    w->next = s->writes.next;
    w->prev = &s->writes;
    s->writes.next->prev = w;
    s->writes.next = w;
    txn->write = w;
    *out = w;
    return WEIR_KERR_NONE;
}

/* The Complete record of a transaction whose markers are all written. */
void bk_txn_markers_done(bk_txn_state *s, bk_txn *txn)
{
    if (txn->write != NULL || !state_is_prepare(txn->m.state)) {
        return;
    }
    bk_txn_meta target = txn->m;
    target.tps = NULL;
    target.n_tps = 0;
    target.state = txn->m.state == WEIR_TXN_PREPARE_COMMIT ? WEIR_TXN_COMPLETE_COMMIT
                                                           : WEIR_TXN_COMPLETE_ABORT;
    target.update_ms = weir_wall_ms(s->b->env);
    if (txn->m.next_producer_id >= 0) { /* TV2 epoch overflow: a fresh id from here on */
        target.last_producer_id = txn->m.producer_id;
        target.producer_id = txn->m.next_producer_id;
        target.producer_epoch = 0;
        target.next_producer_id = -1;
    }
    bk_txn_write *w = NULL;
    int16_t code = txn_write(s, txn, TXN_WRITE_COMPLETE, &target, -1, &w);
    if (code != WEIR_KERR_NONE && code != WEIR_KERR_NOT_COORDINATOR) {
        bk_txn_markers_schedule(s, TXN_MARKER_RETRY_MS); /* tried again from the marker pass */
    }
}

/* The reply for a successful write of kind, from txn's new state. */
static void write_reply_ok(weir_broker *b, bk_txn_write *w, const bk_txn *txn)
{
    txn_answer ans = {w->api_key, WEIR_KERR_NONE, -1, -1, NULL, 0};
    switch (w->kind) {
    case TXN_WRITE_INIT:
        ans.producer_id = txn->m.producer_id;
        ans.producer_epoch = txn->m.producer_epoch;
        break;
    case TXN_WRITE_ADD:
        ans.asked = w->asked;
        ans.n_asked = w->n_asked;
        break;
    case TXN_WRITE_END:
        /* v5 learns the epoch of its next transaction (a new id after an overflow) */
        ans.producer_id =
            txn->m.next_producer_id >= 0 ? txn->m.next_producer_id : txn->m.producer_id;
        ans.producer_epoch = txn->m.next_producer_id >= 0 ? 0 : txn->m.producer_epoch;
        break;
    case TXN_WRITE_FENCE:
        ans.error_code = WEIR_KERR_CONCURRENT_TRANSACTIONS;
        break;
    case TXN_WRITE_TIMEOUT:
    case TXN_WRITE_COMPLETE:
        break;
    }
    answer_later(b, w->reply, &ans);
    w->reply = NULL;
}

static void txn_write_done(weir_broker *b, void *arg, int16_t error_code, int64_t base_offset)
{
    (void)base_offset;
    bk_txn_write *w = arg;
    bk_txn_state *s = b->txn;
    write_unlink(w);
    bk_txn *txn = w->txn;
    if (txn == NULL) { /* its partition unloaded first (and answered) */
        write_free(w);
        return;
    }
    WEIR_ASSERT(txn->write == w);
    txn->write = NULL;
    if (error_code != WEIR_KERR_NONE) {
        int16_t code = append_error(error_code);
        weir_log_warn(b->env, "transactional id %s: %s record failed: %s", txn->tid,
                      weir_txn_status_name(w->target.state), weir_kerr_name(error_code));
        if (w->kind == TXN_WRITE_FENCE || w->kind == TXN_WRITE_TIMEOUT) {
            txn->failed_epoch_fence = true; /* the bump may not be in the log: do not bump twice */
        }
        txn_answer ans = {w->api_key, code, -1, -1, w->asked, w->n_asked};
        answer_later(b, w->reply, &ans);
        w->reply = NULL;
        if (w->kind == TXN_WRITE_COMPLETE && code != WEIR_KERR_NOT_COORDINATOR) {
            bk_txn_markers_schedule(s, TXN_MARKER_RETRY_MS); /* write it again */
        }
        write_free(w);
        return;
    }
    meta_free(&txn->m);
    txn->m = w->target;
    memset(&w->target, 0, sizeof w->target);
    if (w->kind != TXN_WRITE_COMPLETE) {
        txn->failed_epoch_fence = false;
    }
    weir_log_debug(b->env, "transactional id %s: %s (producer %lld epoch %d, %d partition(s))",
                   txn->tid, weir_txn_status_name(txn->m.state), (long long)txn->m.producer_id,
                   txn->m.producer_epoch, txn->m.n_tps);
    write_reply_ok(b, w, txn);
    write_free(w);
    if (state_is_prepare(txn->m.state)) {
        for (int i = 0; i < txn->m.n_tps; i++) {
            txn->m.tps[i].marker = TXN_MARKER_PENDING;
        }
        if (txn->m.n_tps == 0) {
            bk_txn_markers_done(s, txn); /* nothing to mark: complete at once */
        } else {
            bk_txn_markers_schedule(s, 0);
        }
    }
}

/* ---- the coordinator's checks ---- */

/* The coordinator partition of tid and its state here: NONE with *part_out,
 * or the error for the client. */
static int16_t txn_locate(weir_broker *b, weir_str tid, bk_txn_part **part_out, int32_t *index_out)
{
    int32_t index = -1;
    int16_t code = bk_coord_lookup(b, BK_COORD_TXN, tid.p, (size_t)tid.len, &index);
    *index_out = index;
    if (code != WEIR_KERR_NONE) {
        return code;
    }
    bk_txn_state *s = bk_txn_state_get(b);
    bk_txn_part *part = s != NULL ? txn_part(s, index) : NULL;
    if (part == NULL) {
        return WEIR_KERR_COORDINATOR_LOAD_IN_PROGRESS;
    }
    *part_out = part;
    return WEIR_KERR_NONE;
}

static bool timeout_valid(const weir_broker *b, int32_t timeout_ms)
{
    return timeout_ms > 0 && timeout_ms <= b->cfg.txn_timeout_ms_max;
}

/* A new producer id; COORDINATOR_NOT_AVAILABLE when it cannot be reserved. */
static int16_t pid_next(weir_broker *b, int64_t *pid_out)
{
    bk_txn_state *s = bk_txn_state_get(b);
    int err = s != NULL ? weir_pid_next(&s->pids, b->env, pid_out) : WEIR_E_NOMEM;
    if (err != 0) {
        weir_log_error(b->env, "cannot reserve producer ids (%s): %s", WEIR_PID_FILE,
                       weir_err_str(err));
        return WEIR_KERR_COORDINATOR_NOT_AVAILABLE;
    }
    return WEIR_KERR_NONE;
}

/* Parks the request being handled for w's reply. */
static int park_for(bk_conn *c, const weir_request *r, bk_txn_write *w, bool *parked)
{
    w->reply = bk_reply_park(c, &r->header);
    if (w->reply == NULL) {
        return WEIR_E_NOMEM; /* the write goes on; the client retries on a new connection */
    }
    *parked = true;
    return 0;
}

/* ---- InitProducerId ---- */

/* The transition InitProducerId asks of txn (Empty or Complete*): epoch + 1,
 * or a new producer id when the epoch is exhausted. */
static int16_t init_target(weir_broker *b, const bk_txn *txn, int32_t timeout_ms, bk_txn_meta *out)
{
    memset(out, 0, sizeof *out);
    *out = txn->m;
    out->tps = NULL;
    out->n_tps = 0;
    out->next_producer_id = -1;
    if (txn->m.producer_epoch >= TXN_EPOCH_EXHAUSTED) {
        int64_t pid;
        int16_t code = pid_next(b, &pid);
        if (code != WEIR_KERR_NONE) {
            return code;
        }
        out->last_producer_id = txn->m.producer_id;
        out->producer_id = pid;
        out->producer_epoch = 0;
    } else {
        out->producer_epoch = (int16_t)(txn->m.producer_epoch + 1); /* -1 (new) -> 0 */
    }
    out->timeout_ms = timeout_ms;
    out->state = WEIR_TXN_EMPTY;
    out->start_ms = -1;
    out->update_ms = weir_wall_ms(b->env);
    return WEIR_KERR_NONE;
}

/* An abort decided by the coordinator (a new instance's InitProducerId, or a
 * timeout): PrepareAbort with the epoch bumped, so the markers fence the old
 * instance's late writes (Kafka's PrepareEpochFence). */
static int16_t fence_target(weir_broker *b, const bk_txn *txn, bk_txn_meta *out)
{
    int err = meta_copy(out, &txn->m);
    if (err != 0) {
        return WEIR_KERR_UNKNOWN_SERVER_ERROR;
    }
    if (!txn->failed_epoch_fence && txn->m.producer_epoch < TXN_EPOCH_MAX) {
        out->producer_epoch = (int16_t)(txn->m.producer_epoch + 1);
    }
    out->state = WEIR_TXN_PREPARE_ABORT;
    out->update_ms = weir_wall_ms(b->env);
    return WEIR_KERR_NONE;
}

static int init_idempotent(bk_conn *c, const weir_request *r)
{
    txn_answer ans = {0, WEIR_KERR_NONE, -1, -1, NULL, 0};
    int64_t pid = -1;
    ans.error_code = pid_next(c->b, &pid);
    if (ans.error_code == WEIR_KERR_NONE) {
        ans.producer_id = pid;
        ans.producer_epoch = 0;
    }
    return answer_now(c, r, &ans);
}

int bk_handle_init_producer_id(bk_conn *c, const weir_request *r, bool *parked)
{
    weir_broker *b = c->b;
    const weir_init_producer_id_request *req = &r->body.init_producer_id;
    txn_answer ans = {0, WEIR_KERR_NONE, -1, -1, NULL, 0};
    weir_str tid = req->transactional_id;
    if (tid.len < 0) {
        return init_idempotent(c, r); /* any broker: no coordinator involved */
    }
    bk_txn_part *part = NULL;
    int32_t index = -1;
    if (tid.len == 0) {
        ans.error_code = WEIR_KERR_INVALID_REQUEST;
    } else if (!timeout_valid(b, req->transaction_timeout_ms)) {
        ans.error_code = WEIR_KERR_INVALID_TRANSACTION_TIMEOUT;
    } else {
        ans.error_code = txn_locate(b, tid, &part, &index);
    }
    if (ans.error_code != WEIR_KERR_NONE) {
        return answer_now(c, r, &ans);
    }
    bk_txn_state *s = b->txn;
    bk_txn *txn = txn_find(part, tid);
    if (txn == NULL) {
        int64_t pid;
        ans.error_code = pid_next(b, &pid);
        bk_txn_meta m = {pid,
                         -1,
                         -1,
                         -1,
                         req->transaction_timeout_ms,
                         WEIR_TXN_EMPTY,
                         NULL,
                         0,
                         -1,
                         weir_wall_ms(b->env)};
        if (ans.error_code == WEIR_KERR_NONE && (txn = txn_insert(part, index, tid, &m)) == NULL) {
            ans.error_code = WEIR_KERR_UNKNOWN_SERVER_ERROR;
        }
        if (ans.error_code != WEIR_KERR_NONE) {
            return answer_now(c, r, &ans);
        }
    }
    bk_txn_meta target;
    txn_write_kind kind = TXN_WRITE_INIT;
    if (txn->write != NULL || state_is_prepare(txn->m.state)) {
        ans.error_code = WEIR_KERR_CONCURRENT_TRANSACTIONS; /* the client backs off and retries */
    } else if (txn->m.state == WEIR_TXN_ONGOING) {
        kind = TXN_WRITE_FENCE;
        ans.error_code = fence_target(b, txn, &target);
    } else if (txn->m.state == WEIR_TXN_EMPTY || state_is_complete(txn->m.state)) {
        ans.error_code = init_target(b, txn, req->transaction_timeout_ms, &target);
    } else {
        ans.error_code =
            WEIR_KERR_UNKNOWN_SERVER_ERROR; /* Dead / PrepareEpochFence: never stored */
    }
    bk_txn_write *w = NULL;
    if (ans.error_code == WEIR_KERR_NONE) {
        ans.error_code = txn_write(s, txn, kind, &target, WEIR_API_INIT_PRODUCER_ID, &w);
    }
    if (ans.error_code != WEIR_KERR_NONE) {
        return answer_now(c, r, &ans);
    }
    if (kind == TXN_WRITE_FENCE) {
        weir_log_info(b->env,
                      "transactional id %s: a new instance fences epoch %d; aborting its "
                      "open transaction",
                      txn->tid, txn->m.producer_epoch);
    }
    return park_for(c, r, w, parked);
}

/* ---- AddPartitionsToTxn / AddOffsetsToTxn ---- */

/* The checks both share; NONE when tps may be added (or *done when they are
 * there already). */
static int16_t add_check(const bk_txn *txn, int64_t pid, int16_t epoch, int16_t api_key,
                         int16_t version)
{
    if (txn == NULL || txn->m.producer_id != pid) {
        return WEIR_KERR_INVALID_PRODUCER_ID_MAPPING;
    }
    if (txn->m.producer_epoch != epoch) {
        return fenced_code(api_key, version);
    }
    if (txn->write != NULL || state_is_prepare(txn->m.state)) {
        return WEIR_KERR_CONCURRENT_TRANSACTIONS;
    }
    return WEIR_KERR_NONE;
}

/* Adds asked[0..n) to txn: NONE at once if already there, else a write in
 * flight (*w_out) or an error. asked is taken when a write starts. */
static int16_t add_partitions(weir_broker *b, bk_txn *txn, int16_t api_key, bk_txn_tp **asked,
                              int n, bk_txn_write **w_out)
{
    *w_out = NULL;
    bool all_there = txn->m.state == WEIR_TXN_ONGOING;
    for (int i = 0; all_there && i < n; i++) {
        all_there = meta_has_tp(&txn->m, (*asked)[i].topic, (*asked)[i].partition);
    }
    if (all_there) {
        return WEIR_KERR_NONE;
    }
    bk_txn_meta target;
    if (meta_copy(&target, &txn->m) != 0) {
        return WEIR_KERR_UNKNOWN_SERVER_ERROR;
    }
    for (int i = 0; i < n; i++) {
        if (meta_add_tp(&target, (*asked)[i].topic, (*asked)[i].partition) != 0) {
            meta_free(&target);
            return WEIR_KERR_UNKNOWN_SERVER_ERROR;
        }
    }
    int64_t now = weir_wall_ms(b->env);
    if (txn->m.state != WEIR_TXN_ONGOING) {
        target.start_ms = now; /* a new transaction starts */
    }
    target.state = WEIR_TXN_ONGOING;
    target.update_ms = now;
    int16_t code = txn_write(b->txn, txn, TXN_WRITE_ADD, &target, api_key, w_out);
    if (code == WEIR_KERR_NONE) {
        (*w_out)->asked = *asked;
        (*w_out)->n_asked = n;
        *asked = NULL;
    }
    return code;
}

/* The request's partitions, flattened in request order. marker: 1 for an
 * unknown partition (set when any is unknown: the others are not attempted, 2). */
static bk_txn_tp *asked_list(weir_broker *b, const weir_add_partitions_to_txn_request *req,
                             int *n_out, bool *unknown)
{
    int n = 0;
    for (int32_t i = 0; i < req->topic_count; i++) {
        n += req->topics[i].partition_count > 0 ? req->topics[i].partition_count : 0;
    }
    bk_txn_tp *asked = calloc((size_t)n + 1, sizeof *asked);
    *n_out = n;
    *unknown = false;
    if (asked == NULL) {
        return NULL;
    }
    int k = 0;
    for (int32_t i = 0; i < req->topic_count; i++) {
        const weir_add_partitions_to_txn_topic *t = &req->topics[i];
        int32_t len = t->name.len > 0 ? t->name.len : 0;
        if (len > WEIR_TOPIC_NAME_MAX) {
            len = WEIR_TOPIC_NAME_MAX;
        }
        weir_topic *topic = len > 0 ? weir_topics_find(&b->topics, t->name.p, (size_t)len) : NULL;
        for (int32_t j = 0; j < t->partition_count; j++, k++) {
            memcpy(asked[k].topic, t->name.p, (size_t)len);
            asked[k].topic[len] = '\0';
            asked[k].partition = t->partitions[j];
            if (weir_topic_partition(topic, t->partitions[j]) == NULL) {
                asked[k].marker = 1;
                *unknown = true;
            }
        }
    }
    for (int i = 0; *unknown && i < n; i++) {
        asked[i].marker = asked[i].marker == 1 ? 1 : 2;
    }
    return asked;
}

int bk_handle_add_partitions_to_txn(bk_conn *c, const weir_request *r, bool *parked)
{
    weir_broker *b = c->b;
    const weir_add_partitions_to_txn_request *req = &r->body.add_partitions_to_txn;
    int n = 0;
    bool unknown = false;
    bk_txn_tp *asked = asked_list(b, req, &n, &unknown);
    if (asked == NULL) {
        return WEIR_E_NOMEM;
    }
    txn_answer ans = {0, WEIR_KERR_NONE, -1, -1, asked, n};
    bk_txn_part *part = NULL;
    int32_t index;
    if (req->transactional_id.len <= 0) {
        ans.error_code = WEIR_KERR_INVALID_REQUEST;
    } else if (!unknown) {
        ans.error_code = txn_locate(b, req->transactional_id, &part, &index);
    }
    bk_txn *txn = part != NULL ? txn_find(part, req->transactional_id) : NULL;
    if (part != NULL) {
        ans.error_code = add_check(txn, req->producer_id, req->producer_epoch, r->header.api_key,
                                   r->header.api_version);
    }
    bk_txn_write *w = NULL;
    if (part != NULL && ans.error_code == WEIR_KERR_NONE) {
        ans.error_code = add_partitions(b, txn, r->header.api_key, &asked, n, &w);
    }
    int err;
    if (w != NULL) {
        err = park_for(c, r, w, parked);
    } else {
        err = answer_now(c, r, &ans);
    }
    free(asked);
    return err;
}

int bk_handle_add_offsets_to_txn(bk_conn *c, const weir_request *r, bool *parked)
{
    weir_broker *b = c->b;
    const weir_add_offsets_to_txn_request *req = &r->body.add_offsets_to_txn;
    txn_answer ans = {0, WEIR_KERR_NONE, -1, -1, NULL, 0};
    bk_txn_part *part = NULL;
    int32_t index;
    if (req->transactional_id.len <= 0 || req->group_id.len < 0) {
        ans.error_code = WEIR_KERR_INVALID_REQUEST;
    } else {
        ans.error_code = txn_locate(b, req->transactional_id, &part, &index);
    }
    bk_txn *txn = part != NULL ? txn_find(part, req->transactional_id) : NULL;
    if (ans.error_code == WEIR_KERR_NONE) {
        ans.error_code = add_check(txn, req->producer_id, req->producer_epoch, r->header.api_key,
                                   r->header.api_version);
    }
    bk_txn_write *w = NULL;
    if (ans.error_code == WEIR_KERR_NONE) {
        /* the group's __consumer_offsets partition joins the transaction */
        weir_topic *offsets = bk_coord_topic(b, BK_COORD_GROUP, false);
        int32_t count =
            offsets != NULL ? offsets->partition_count : b->cfg.offsets_topic_partitions;
        bk_txn_tp *tp = calloc(1, sizeof *tp);
        if (tp == NULL) {
            return WEIR_E_NOMEM;
        }
        snprintf(tp->topic, sizeof tp->topic, "%s", BK_OFFSETS_TOPIC);
        tp->partition = bk_coord_partition_for(req->group_id.p, (size_t)req->group_id.len, count);
        ans.error_code = add_partitions(b, txn, r->header.api_key, &tp, 1, &w);
        free(tp);
    }
    return w != NULL ? park_for(c, r, w, parked) : answer_now(c, r, &ans);
}

/* ---- EndTxn ---- */

/* The Prepare state EndTxn leads to, with the epoch bump of TV2 (and a new
 * producer id reserved when that bump exhausts the epochs). */
static int16_t end_target(weir_broker *b, const bk_txn *txn, bool commit, bool tv2, bool drop_tps,
                          bk_txn_meta *out)
{
    if (meta_copy(out, &txn->m) != 0) {
        return WEIR_KERR_UNKNOWN_SERVER_ERROR;
    }
    if (drop_tps) {
        meta_free(out);
    }
    int64_t now = weir_wall_ms(b->env);
    out->state = commit ? WEIR_TXN_PREPARE_COMMIT : WEIR_TXN_PREPARE_ABORT;
    out->update_ms = now;
    if (out->start_ms < 0 || !(txn->m.state == WEIR_TXN_ONGOING)) {
        out->start_ms = now; /* TV2 may abort with no partition added */
    }
    out->next_producer_id = -1;
    if (tv2) {
        if (txn->m.producer_epoch >= TXN_EPOCH_EXHAUSTED) {
            int64_t pid;
            int16_t code = pid_next(b, &pid);
            if (code != WEIR_KERR_NONE) {
                meta_free(out);
                return code;
            }
            out->next_producer_id = pid;
        }
        out->producer_epoch = (int16_t)(txn->m.producer_epoch + 1);
    }
    return WEIR_KERR_NONE;
}

/* Transaction version 1 (EndTxn v0-v4): no epoch bump, Kafka's endTransactionWithTV1. */
static int16_t end_check_tv1(const bk_txn *txn, const weir_end_txn_request *req, int16_t fenced,
                             bool *start, bool *drop_tps)
{
    *start = false;
    *drop_tps = false;
    bool commit = req->committed;
    if (txn == NULL || txn->m.producer_id != req->producer_id) {
        return WEIR_KERR_INVALID_PRODUCER_ID_MAPPING;
    }
    if (req->producer_epoch != txn->m.producer_epoch) {
        return fenced;
    }
    if (txn->write != NULL) {
        return WEIR_KERR_CONCURRENT_TRANSACTIONS;
    }
    switch (txn->m.state) {
    case WEIR_TXN_ONGOING:
        *start = true;
        return WEIR_KERR_NONE;
    case WEIR_TXN_COMPLETE_COMMIT:
        return commit ? WEIR_KERR_NONE : WEIR_KERR_INVALID_TXN_STATE;
    case WEIR_TXN_COMPLETE_ABORT:
        return !commit ? WEIR_KERR_NONE : WEIR_KERR_INVALID_TXN_STATE;
    case WEIR_TXN_PREPARE_COMMIT:
        return commit ? WEIR_KERR_CONCURRENT_TRANSACTIONS : WEIR_KERR_INVALID_TXN_STATE;
    case WEIR_TXN_PREPARE_ABORT:
        return !commit ? WEIR_KERR_CONCURRENT_TRANSACTIONS : WEIR_KERR_INVALID_TXN_STATE;
    default:
        return WEIR_KERR_INVALID_TXN_STATE; /* Empty */
    }
}

/* Transaction version 2 (EndTxn v5): the epoch moves at every end, so a
 * retry carries the epoch before the bump; Kafka's table:
 *                    Abort retry/current   Commit retry/current
 *   Empty            fenced / bump          fenced / invalid state
 *   CompleteAbort    none   / bump          invalid / invalid
 *   CompleteCommit   invalid / bump         none   / invalid            */
static int16_t end_check_tv2(const bk_txn *txn, const weir_end_txn_request *req, bool *start,
                             bool *drop_tps)
{
    *start = false;
    *drop_tps = false;
    bool commit = req->committed;
    if (txn == NULL) {
        return WEIR_KERR_INVALID_PRODUCER_ID_MAPPING;
    }
    int16_t cur = txn->m.producer_epoch;
    bool retry_overflow = txn->m.last_producer_id == req->producer_id &&
                          req->producer_epoch == TXN_EPOCH_EXHAUSTED && cur == 0;
    bool retry_bump = !retry_overflow && cur == req->producer_epoch + 1;
    bool retry = retry_bump || retry_overflow;
    if (txn->m.producer_id != req->producer_id && !retry_overflow) {
        return WEIR_KERR_INVALID_PRODUCER_ID_MAPPING;
    }
    bool valid;
    switch (txn->m.state) {
    case WEIR_TXN_PREPARE_COMMIT:
    case WEIR_TXN_PREPARE_ABORT:
        valid = retry_bump;
        break;
    case WEIR_TXN_COMPLETE_COMMIT:
    case WEIR_TXN_COMPLETE_ABORT:
        valid = retry || req->producer_epoch == cur;
        break;
    default:
        valid = req->producer_epoch == cur;
        break;
    }
    if (!valid) {
        return WEIR_KERR_PRODUCER_FENCED;
    }
    if (txn->write != NULL) {
        return WEIR_KERR_CONCURRENT_TRANSACTIONS;
    }
    switch (txn->m.state) {
    case WEIR_TXN_ONGOING:
        *start = true;
        return WEIR_KERR_NONE;
    case WEIR_TXN_COMPLETE_COMMIT:
        if (commit) {
            return retry ? WEIR_KERR_NONE : WEIR_KERR_INVALID_TXN_STATE;
        }
        *start = *drop_tps = !retry;
        return retry ? WEIR_KERR_INVALID_TXN_STATE : WEIR_KERR_NONE;
    case WEIR_TXN_COMPLETE_ABORT:
        if (!commit) {
            *start = *drop_tps = !retry;
            return WEIR_KERR_NONE;
        }
        return WEIR_KERR_INVALID_TXN_STATE;
    case WEIR_TXN_PREPARE_COMMIT:
        return commit ? WEIR_KERR_CONCURRENT_TRANSACTIONS : WEIR_KERR_INVALID_TXN_STATE;
    case WEIR_TXN_PREPARE_ABORT:
        return !commit ? WEIR_KERR_CONCURRENT_TRANSACTIONS : WEIR_KERR_INVALID_TXN_STATE;
    case WEIR_TXN_EMPTY:
        if (!commit) {
            *start = *drop_tps = true;
            return WEIR_KERR_NONE;
        }
        return WEIR_KERR_INVALID_TXN_STATE;
    default:
        return WEIR_KERR_INVALID_TXN_STATE;
    }
}

int bk_handle_end_txn(bk_conn *c, const weir_request *r, bool *parked)
{
    weir_broker *b = c->b;
    const weir_end_txn_request *req = &r->body.end_txn;
    bool tv2 = r->header.api_version >= 5;
    txn_answer ans = {0, WEIR_KERR_NONE, -1, -1, NULL, 0};
    bk_txn_part *part = NULL;
    int32_t index;
    if (req->transactional_id.len <= 0) {
        ans.error_code = WEIR_KERR_INVALID_REQUEST;
    } else {
        ans.error_code = txn_locate(b, req->transactional_id, &part, &index);
    }
    bk_txn *txn = part != NULL ? txn_find(part, req->transactional_id) : NULL;
    bool start = false;
    bool drop_tps = false;
    if (ans.error_code == WEIR_KERR_NONE) {
        ans.error_code =
            tv2 ? end_check_tv2(txn, req, &start, &drop_tps)
                : end_check_tv1(txn, req, fenced_code(WEIR_API_END_TXN, r->header.api_version),
                                &start, &drop_tps);
    }
    if (ans.error_code == WEIR_KERR_NONE && !start && tv2) {
        ans.producer_id = txn->m.producer_id; /* a retry: the epoch it already has */
        ans.producer_epoch = txn->m.producer_epoch;
    }
    bk_txn_write *w = NULL;
    if (ans.error_code == WEIR_KERR_NONE && start) {
        bk_txn_meta target;
        ans.error_code = end_target(b, txn, req->committed, tv2, drop_tps, &target);
        if (ans.error_code == WEIR_KERR_NONE) {
            ans.error_code = txn_write(b->txn, txn, TXN_WRITE_END, &target, WEIR_API_END_TXN, &w);
        }
    }
    if (w != NULL) {
        return park_for(c, r, w, parked);
    }
    return answer_now(c, r, &ans);
}

/* ---- loading a partition ---- */

typedef struct load_ctx {
    weir_broker *b;
    bk_txn_part *part;
    int32_t index;
    weir_arena arena;
} load_ctx;

static void part_clear(bk_txn_part *part)
{
    for (int i = 0; i < part->n; i++) {
        txn_free(part->txns[i]);
    }
    free(part->txns);
    part->txns = NULL;
    part->n = part->cap = 0;
}

/* One record of the log: the transactional id's latest state (or its removal). */
static int load_record(load_ctx *ctx, const weir_record *rec)
{
    weir_str tid;
    if (rec->key == NULL) {
        return 0;
    }
    int err = weir_txn_log_key_read(rec->key, (size_t)rec->key_len, &tid);
    if (err == WEIR_E_UNSUPPORTED) {
        return 0; /* not a transaction record */
    }
    if (err != 0 || tid.len <= 0) {
        return WEIR_E_CORRUPT;
    }
    bool found;
    int at = txn_pos(ctx->part, tid.p, tid.len, &found);
    if (rec->value == NULL) { /* tombstone */
        if (found) {
            txn_free(ctx->part->txns[at]);
            memmove(&ctx->part->txns[at], &ctx->part->txns[at + 1],
                    (size_t)(ctx->part->n - at - 1) * sizeof *ctx->part->txns);
            ctx->part->n--;
        }
        return 0;
    }
    weir_txn_log_value v;
    weir_arena_reset(&ctx->arena);
    err = weir_txn_log_value_read(rec->value, (size_t)rec->value_len, &ctx->arena, &v);
    if (err == WEIR_E_UNSUPPORTED) {
        return 0;
    }
    if (err != 0) {
        return err;
    }
    bk_txn_meta m = {v.producer_id, -1,   -1, v.producer_epoch, v.timeout_ms,
                     v.status,      NULL, 0,  v.start_ms,       v.last_update_ms};
    for (int32_t i = 0; i < v.n_parts; i++) {
        char topic[WEIR_TOPIC_NAME_MAX + 1];
        int32_t len =
            v.parts[i].topic.len < WEIR_TOPIC_NAME_MAX ? v.parts[i].topic.len : WEIR_TOPIC_NAME_MAX;
        memcpy(topic, v.parts[i].topic.p, (size_t)(len > 0 ? len : 0));
        topic[len > 0 ? len : 0] = '\0';
        if (meta_add_tp(&m, topic, v.parts[i].partition) != 0) {
            meta_free(&m);
            return WEIR_E_NOMEM;
        }
    }
    if (found) {
        bk_txn *t = ctx->part->txns[at];
        if (t->m.producer_id != m.producer_id) {
            m.last_producer_id = t->m.producer_id;
        } else {
            m.last_producer_id = t->m.last_producer_id;
        }
        meta_free(&t->m);
        t->m = m;
        return 0;
    }
    return txn_insert(ctx->part, ctx->index, tid, &m) != NULL ? 0 : WEIR_E_NOMEM;
}

static int load_batch(void *arg, const weir_batch_header *h, const uint8_t *batch, size_t len)
{
    load_ctx *ctx = arg;
    if ((h->attributes & WEIR_BATCH_CONTROL) != 0) {
        return 0;
    }
    weir_record_iter it;
    int err = weir_record_iter_init(&it, batch, len);
    if (err == WEIR_E_UNSUPPORTED) {
        weir_log_warn(ctx->b->env, "%s-%d: skipping a compressed batch at offset %lld",
                      BK_TXN_STATE_TOPIC, ctx->index, (long long)h->base_offset);
        return 0;
    }
    if (err != 0) {
        return err;
    }
    weir_record rec;
    int more;
    while ((more = weir_record_next(&it, &rec)) == 1) {
        err = load_record(ctx, &rec);
        if (err != 0) {
            return err;
        }
    }
    return more < 0 ? more : 0;
}

static void scan_schedule(bk_txn_state *s);

int bk_txn_load(weir_broker *b, int32_t index, struct weir_plog *log)
{
    bk_txn_state *s = bk_txn_state_get(b);
    weir_topic *t = bk_coord_topic(b, BK_COORD_TXN, false);
    weir_partition *p = weir_topic_partition(t, index);
    if (s == NULL || p == NULL) {
        return WEIR_E_NOMEM;
    }
    if (index >= s->n_parts) {
        int32_t n = t->partition_count > index ? t->partition_count : index + 1;
        bk_txn_part *grown = realloc(s->parts, (size_t)n * sizeof *grown);
        if (grown == NULL) {
            return WEIR_E_NOMEM;
        }
        memset(grown + s->n_parts, 0, (size_t)(n - s->n_parts) * sizeof *grown);
        s->parts = grown;
        s->n_parts = n;
    }
    bk_txn_part *part = &s->parts[index];
    if (part->loaded) {
        bk_txn_unload(b, index, true);
    }
    load_ctx ctx = {b, part, index, {0}};
    weir_arena_init(&ctx.arena, WEIR_ARENA_BYTES_MAX_DEFAULT);
    int err = bk_coord_log_scan(log, weir_plog_start_offset(log), weir_plog_end_offset(log),
                                load_batch, &ctx);
    weir_arena_free(&ctx.arena);
    if (err != 0) {
        part_clear(part);
        return err;
    }
    part->loaded = true;
    part->coordinator_epoch = p->leader_epoch;
    int resumed = 0;
    for (int i = 0; i < part->n; i++) {
        bk_txn *txn = part->txns[i];
        if (state_is_prepare(txn->m.state)) { /* the last coordinator died mid-way: finish it */
            for (int k = 0; k < txn->m.n_tps; k++) {
                txn->m.tps[k].marker = TXN_MARKER_PENDING;
            }
            resumed++;
        }
    }
    if (resumed > 0) {
        weir_log_info(b->env, "%s-%d: resuming the markers of %d transaction(s)",
                      BK_TXN_STATE_TOPIC, index, resumed);
        bk_txn_markers_schedule(s, 0);
    }
    scan_schedule(s);
    return 0;
}

void bk_txn_unload(weir_broker *b, int32_t index, bool env_alive)
{
    bk_txn_state *s = b->txn;
    if (s == NULL || index < 0 || index >= s->n_parts || !s->parts[index].loaded) {
        return;
    }
    bk_txn_part *part = &s->parts[index];
    for (int i = 0; i < part->n; i++) {
        bk_txn *txn = part->txns[i];
        bk_txn_markers_forget(s, txn);
        bk_txn_write *w = txn->write;
        if (w == NULL) {
            continue;
        }
        txn->write = NULL;
        w->txn = NULL;
        if (w->reply != NULL) {
            if (env_alive) {
                txn_answer ans = {w->api_key, WEIR_KERR_NOT_COORDINATOR, -1, -1, w->asked,
                                  w->n_asked};
                answer_later(b, w->reply, &ans);
            } else {
                bk_reply_free(w->reply);
            }
            w->reply = NULL;
        }
        if (!env_alive) { /* its callback will never run */
            write_unlink(w);
            write_free(w);
        }
    }
    part_clear(part);
    part->loaded = false;
}

/* ---- transaction timeouts ---- */

static void scan_tick(weir_env *env, void *arg);

static void scan_schedule(bk_txn_state *s)
{
    if (s->scan_timer == NULL && !s->b->shut_down) {
        s->scan_timer = weir_timer_start(s->b->env, TXN_ABORT_SCAN_MS * TXN_MS, scan_tick, s);
    }
}

/* Aborts transactions open longer than their timeout, bumping the epoch so
 * the producer that let it time out is fenced (Kafka's abortTimedOutTransactions). */
static void scan_tick(weir_env *env, void *arg)
{
    bk_txn_state *s = arg;
    s->scan_timer = NULL;
    int64_t now = weir_wall_ms(env);
    bool any = false;
    for (int32_t i = 0; i < s->n_parts; i++) {
        bk_txn_part *part = &s->parts[i];
        any = any || part->loaded;
        for (int k = 0; part->loaded && k < part->n; k++) {
            bk_txn *txn = part->txns[k];
            if (txn->m.state != WEIR_TXN_ONGOING || txn->write != NULL ||
                txn->m.start_ms + txn->m.timeout_ms >= now) {
                continue;
            }
            bk_txn_meta target;
            bk_txn_write *w = NULL;
            if (fence_target(s->b, txn, &target) == WEIR_KERR_NONE &&
                txn_write(s, txn, TXN_WRITE_TIMEOUT, &target, -1, &w) == WEIR_KERR_NONE) {
                weir_log_info(env,
                              "transactional id %s: open for more than %d ms; aborting it "
                              "(epoch %d -> %d)",
                              txn->tid, txn->m.timeout_ms, txn->m.producer_epoch,
                              w->target.producer_epoch);
            }
        }
    }
    if (any) {
        scan_schedule(s);
    }
}

/* ---- lifecycle ---- */

static void state_free(weir_broker *b, bool env_alive)
{
    bk_txn_state *s = b->txn;
    if (s == NULL) {
        return;
    }
    for (int32_t i = 0; i < s->n_parts; i++) {
        if (s->parts[i].loaded) {
            bk_txn_unload(b, i, env_alive);
        }
    }
    bk_txn_markers_free(s, env_alive);
    if (env_alive && s->scan_timer != NULL) {
        weir_timer_cancel(b->env, s->scan_timer);
    }
    /* Writes still waiting (none after bk_coord_stop, which ran their
     * callbacks; a crash runs none): free them. */
    while (s->writes.next != &s->writes) {
        bk_txn_write *w = s->writes.next;
        write_unlink(w);
        if (w->txn != NULL) {
            w->txn->write = NULL;
        }
        bk_reply_free(w->reply);
        write_free(w);
    }
    free(s->parts);
    free(s);
    b->txn = NULL;
}

void bk_txn_stop(weir_broker *b)
{
    state_free(b, true);
}

void bk_txn_abandon(weir_broker *b)
{
    state_free(b, false);
}
