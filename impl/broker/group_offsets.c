/* Committed offsets: OffsetCommit, OffsetFetch, TxnOffsetCommit and the
 * transaction markers that make transactional offsets visible, plus every
 * append the group coordinator makes to __consumer_offsets (commits and
 * group metadata), each answered only once the high watermark passed it.
 *
 * The cache (grp_group.offsets) changes only when an append is committed
 * (or while loading), so what OffsetFetch returns survives a failover of
 * the partition. Transactional offsets wait per producer id
 * (grp_group.txn) until a COMMIT marker lands in the partition. */
#include "broker/group_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "log/log.h"

/* ---- the offsets table ---- */

static int off_cmp(const char *topic, size_t tlen, int32_t partition, const grp_offset *e)
{
    size_t elen = strlen(e->topic);
    int c = memcmp(topic, e->topic, tlen < elen ? tlen : elen);
    if (c == 0) {
        c = tlen < elen ? -1 : (tlen > elen ? 1 : 0);
    }
    if (c == 0) {
        c = partition < e->partition ? -1 : (partition > e->partition ? 1 : 0);
    }
    return c;
}

static size_t off_lower_bound(const grp_offsets *o, const char *topic, size_t tlen,
                              int32_t partition)
{
    size_t lo = 0, hi = o->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (off_cmp(topic, tlen, partition, &o->v[mid]) > 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

grp_offset *grp_offset_find(grp_offsets *o, const char *topic, size_t topic_len, int32_t partition)
{
    size_t i = off_lower_bound(o, topic, topic_len, partition);
    return i < o->n && off_cmp(topic, topic_len, partition, &o->v[i]) == 0 ? &o->v[i] : NULL;
}

static void offset_free(grp_offset *e)
{
    free(e->topic);
    free(e->metadata);
    e->topic = e->metadata = NULL;
}

int grp_offset_put(grp_offsets *o, grp_offset *e)
{
    size_t tlen = strlen(e->topic);
    size_t i = off_lower_bound(o, e->topic, tlen, e->partition);
    if (i < o->n && off_cmp(e->topic, tlen, e->partition, &o->v[i]) == 0) {
        offset_free(&o->v[i]);
        o->v[i] = *e;
        return 0;
    }
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 8;
        grp_offset *grown = realloc(o->v, cap * sizeof *grown);
        if (grown == NULL) {
            offset_free(e);
            return WEIR_E_NOMEM;
        }
        o->v = grown;
        o->cap = cap;
    }
    memmove(o->v + i + 1, o->v + i, (o->n - i) * sizeof *o->v);
    o->v[i] = *e;
    o->n++;
    return 0;
}

void grp_offset_remove(grp_offsets *o, const char *topic, int32_t partition)
{
    size_t tlen = strlen(topic);
    size_t i = off_lower_bound(o, topic, tlen, partition);
    if (i < o->n && off_cmp(topic, tlen, partition, &o->v[i]) == 0) {
        offset_free(&o->v[i]);
        memmove(o->v + i, o->v + i + 1, (o->n - i - 1) * sizeof *o->v);
        o->n--;
    }
}

void grp_offsets_free(grp_offsets *o)
{
    for (size_t i = 0; i < o->n; i++) {
        offset_free(&o->v[i]);
    }
    free(o->v);
    memset(o, 0, sizeof *o);
}

/* A heap copy of one offset (strings duplicated). 0 or WEIR_E_NOMEM. */
static int offset_copy(const grp_offset *from, grp_offset *to)
{
    *to = *from;
    to->topic = strdup(from->topic);
    to->metadata = strdup(from->metadata);
    if (to->topic == NULL || to->metadata == NULL) {
        offset_free(to);
        return WEIR_E_NOMEM;
    }
    return 0;
}

/* ---- transactional offsets ---- */

grp_txn_pending *grp_txn_get(grp_group *g, int64_t producer_id, bool create)
{
    for (int i = 0; i < g->n_txn; i++) {
        if (g->txn[i].producer_id == producer_id) {
            return &g->txn[i];
        }
    }
    if (!create) {
        return NULL;
    }
    grp_txn_pending *grown = realloc(g->txn, (size_t)(g->n_txn + 1) * sizeof *grown);
    if (grown == NULL) {
        return NULL;
    }
    g->txn = grown;
    grp_txn_pending *t = &g->txn[g->n_txn++];
    memset(t, 0, sizeof *t);
    t->producer_id = producer_id;
    return t;
}

void grp_txn_remove(grp_group *g, int64_t producer_id)
{
    for (int i = 0; i < g->n_txn; i++) {
        if (g->txn[i].producer_id == producer_id) {
            grp_offsets_free(&g->txn[i].offsets);
            memmove(g->txn + i, g->txn + i + 1, (size_t)(g->n_txn - i - 1) * sizeof *g->txn);
            g->n_txn--;
            return;
        }
    }
}

void grp_txn_complete(grp_group *g, int64_t producer_id, bool commit)
{
    grp_txn_pending *t = grp_txn_get(g, producer_id, false);
    if (t == NULL) {
        return;
    }
    for (size_t i = 0; commit && i < t->offsets.n; i++) {
        const grp_offset *e = &t->offsets.v[i];
        if (e->log_offset < 0) {
            continue; /* its append never completed: nothing to make visible */
        }
        grp_offset *cur = grp_offset_find(&g->offsets, e->topic, strlen(e->topic), e->partition);
        grp_offset copy;
        if ((cur == NULL || cur->log_offset < e->log_offset) && offset_copy(e, &copy) == 0) {
            weir_ignore(grp_offset_put(&g->offsets, &copy));
        }
    }
    grp_txn_remove(g, producer_id);
}

void bk_group_on_marker(weir_broker *b, int32_t partition_index, int64_t producer_id, bool commit)
{
    grp_part *part = grp_part_get(b, partition_index);
    for (size_t i = 0; part != NULL && i < part->n_groups; i++) {
        grp_txn_complete(part->groups[i], producer_id, commit);
    }
}

/* ---- appends in flight ---- */

typedef enum app_kind { APP_COMMIT, APP_TXN_COMMIT, APP_GROUP } app_kind;

/* One partition of an OffsetCommit or TxnOffsetCommit, in request order. */
typedef struct app_entry {
    weir_str topic_view; /* the request's topic name while handling; then `topic` */
    char *topic;
    int32_t partition;
    int16_t error;
    int64_t offset;
    int32_t leader_epoch;
    char *metadata;
    int64_t commit_ts_ms;
    int32_t record_index; /* in the batch; -1: not written (error set) */
} app_entry;

struct grp_append {
    grp_append *next;
    int32_t part_index;
    app_kind kind;
    char *group_id;
    bk_reply *reply; /* commits: the request, answered when the append ends */
    int64_t producer_id;
    app_entry *e;
    int n;
    /* APP_GROUP */
    int32_t generation;
    bool for_sync;
    char **ids;
    uint8_t **assignments;
    int32_t *lens;
    int n_assign;
};

static void append_free(grp_append *a)
{
    for (int i = 0; i < a->n; i++) {
        free(a->e[i].topic);
        free(a->e[i].metadata);
    }
    free(a->e);
    for (int i = 0; i < a->n_assign; i++) {
        free(a->ids[i]);
        free(a->assignments[i]);
    }
    free(a->ids);
    free(a->assignments);
    free(a->lens);
    free(a->group_id);
    bk_reply_free(a->reply);
    free(a);
}

static void append_unlink(grp_part *part, grp_append *a)
{
    for (grp_append **pp = &part->appends; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == a) {
            *pp = a->next;
            a->next = NULL;
            return;
        }
    }
}

static void append_link(grp_part *part, grp_append *a)
{
    grp_append **pp = &part->appends;
    while (*pp != NULL) {
        pp = &(*pp)->next;
    }
    *pp = a;
}

void grp_appends_abandon(grp_part *part)
{
    while (part->appends != NULL) {
        grp_append *a = part->appends;
        part->appends = a->next;
        append_free(a);
    }
}

/* Kafka's mapping of append errors for offset commits. */
static int16_t commit_error(int16_t e)
{
    switch (e) {
    case WEIR_KERR_UNKNOWN_TOPIC_OR_PARTITION:
    case WEIR_KERR_NOT_ENOUGH_REPLICAS:
    case WEIR_KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
        return WEIR_KERR_COORDINATOR_NOT_AVAILABLE;
    case WEIR_KERR_NOT_LEADER_OR_FOLLOWER:
    case WEIR_KERR_KAFKA_STORAGE_ERROR:
        return WEIR_KERR_NOT_COORDINATOR;
    case WEIR_KERR_MESSAGE_TOO_LARGE:
    case WEIR_KERR_RECORD_LIST_TOO_LARGE:
    case WEIR_KERR_INVALID_FETCH_SIZE:
        return WEIR_KERR_INVALID_COMMIT_OFFSET_SIZE;
    default:
        return e;
    }
}

/* Consecutive entries of one topic form one topic entry, as in the request. */
static int commit_encode(weir_wr *w, weir_arena *ar, int16_t version, void *arg)
{
    const grp_append *a = arg;
    int32_t nt = 0;
    if (a->kind == APP_COMMIT) {
        weir_offset_commit_topic_response *ts =
            weir_arena_alloc_array(ar, (size_t)a->n, sizeof *ts);
        weir_offset_commit_partition_response *ps =
            weir_arena_alloc_array(ar, (size_t)a->n, sizeof *ps);
        if (a->n > 0 && (ts == NULL || ps == NULL)) {
            return WEIR_E_NOMEM;
        }
        for (int i = 0; i < a->n; i++) {
            if (i == 0 || strcmp(a->e[i].topic, a->e[i - 1].topic) != 0) {
                ts[nt++] =
                    (weir_offset_commit_topic_response){weir_str_from(a->e[i].topic), 0, &ps[i]};
            }
            ps[i] = (weir_offset_commit_partition_response){a->e[i].partition, a->e[i].error};
            ts[nt - 1].partition_count++;
        }
        weir_offset_commit_response resp = {0, nt, ts};
        return weir_encode_offset_commit_response(w, version, &resp);
    }
    weir_txn_offset_commit_topic_response *ts =
        weir_arena_alloc_array(ar, (size_t)a->n, sizeof *ts);
    weir_txn_offset_commit_partition_response *ps =
        weir_arena_alloc_array(ar, (size_t)a->n, sizeof *ps);
    if (a->n > 0 && (ts == NULL || ps == NULL)) {
        return WEIR_E_NOMEM;
    }
    for (int i = 0; i < a->n; i++) {
        if (i == 0 || strcmp(a->e[i].topic, a->e[i - 1].topic) != 0) {
            ts[nt++] =
                (weir_txn_offset_commit_topic_response){weir_str_from(a->e[i].topic), 0, &ps[i]};
        }
        ps[i] = (weir_txn_offset_commit_partition_response){a->e[i].partition, a->e[i].error};
        ts[nt - 1].partition_count++;
    }
    weir_txn_offset_commit_response resp = {0, nt, ts};
    return weir_encode_txn_offset_commit_response(w, version, &resp);
}

/* Records the outcome of a commit's entries in the cache (or the producer's
 * pending offsets) and in the entries' errors. */
static void commit_settle(grp_group *g, grp_append *a, int16_t error, int64_t base_offset)
{
    grp_txn_pending *t =
        g != NULL && a->kind == APP_TXN_COMMIT ? grp_txn_get(g, a->producer_id, false) : NULL;
    for (int i = 0; i < a->n; i++) {
        app_entry *e = &a->e[i];
        if (e->record_index < 0) {
            continue;
        }
        e->error = error == WEIR_KERR_NONE ? WEIR_KERR_NONE : commit_error(error);
        if (a->kind == APP_COMMIT && error == WEIR_KERR_NONE && g != NULL) {
            grp_offset o = {strdup(e->topic),
                            e->partition,
                            e->offset,
                            e->leader_epoch,
                            strdup(e->metadata),
                            e->commit_ts_ms,
                            base_offset + e->record_index};
            if (o.topic == NULL || o.metadata == NULL) {
                offset_free(&o);
                e->error = WEIR_KERR_UNKNOWN_SERVER_ERROR;
            } else if (grp_offset_put(&g->offsets, &o) != 0) {
                e->error = WEIR_KERR_UNKNOWN_SERVER_ERROR;
            }
        } else if (a->kind == APP_TXN_COMMIT && t != NULL) {
            grp_offset *p = grp_offset_find(&t->offsets, e->topic, strlen(e->topic), e->partition);
            if (p != NULL && p->log_offset < 0) {
                if (error == WEIR_KERR_NONE) {
                    p->log_offset = base_offset + e->record_index; /* waits for the marker */
                } else {
                    grp_offset_remove(&t->offsets, e->topic, e->partition);
                }
            }
        }
    }
}

static void append_done(weir_broker *b, void *arg, int16_t error, int64_t base_offset)
{
    grp_append *a = arg;
    grp_part *part = grp_part_get(b, a->part_index);
    if (part != NULL) {
        append_unlink(part, a);
    }
    grp_group *g = part != NULL ? grp_find(part, a->group_id, strlen(a->group_id)) : NULL;
    if (a->kind == APP_GROUP) {
        if (g != NULL && a->for_sync) {
            grp_store_done(b, g, a->generation, error, (const char *const *)a->ids, a->assignments,
                           a->lens, a->n_assign);
        } else if (error != WEIR_KERR_NONE) {
            weir_log_warn(b->env, "group %s: storing its metadata failed: %s", a->group_id,
                          weir_kerr_name(error));
        }
    } else {
        commit_settle(g, a, error, base_offset);
        if (a->reply != NULL) {
            bk_reply *r = a->reply;
            a->reply = NULL;
            bk_reply_send(b, r, commit_encode, a);
        }
    }
    append_free(a);
}

/* ---- OffsetCommit / TxnOffsetCommit ---- */

static grp_append *append_new(app_kind kind, int32_t part_index, weir_str group_id, int n)
{
    grp_append *a = calloc(1, sizeof *a);
    if (a == NULL) {
        return NULL;
    }
    a->kind = kind;
    a->part_index = part_index;
    a->group_id =
        strndup(group_id.len > 0 ? group_id.p : "", group_id.len > 0 ? (size_t)group_id.len : 0);
    a->e = calloc((size_t)(n > 0 ? n : 1), sizeof *a->e);
    a->n = n;
    if (a->group_id == NULL || a->e == NULL) {
        free(a->group_id);
        free(a->e);
        free(a);
        return NULL;
    }
    return a;
}

/* Copies the strings of the entries (filled with views). WEIR_E_NOMEM. */
static int entries_own(grp_append *a)
{
    for (int i = 0; i < a->n; i++) {
        app_entry *e = &a->e[i];
        e->topic = strndup(e->topic_view.len > 0 ? e->topic_view.p : "",
                           e->topic_view.len > 0 ? (size_t)e->topic_view.len : 0);
        if (e->topic == NULL || e->metadata == NULL) {
            return WEIR_E_NOMEM;
        }
    }
    return 0;
}

static char *metadata_copy(weir_str m)
{
    return strndup(m.len > 0 ? m.p : "", m.len > 0 ? (size_t)m.len : 0); /* null -> "" */
}

/* Checks each entry not failed yet and adds a record for each valid one to
 * bb. Returns how many records. */
static int commit_records(weir_broker *b, grp_append *a, weir_batch_builder *bb)
{
    int64_t now = weir_wall_ms(b->env);
    int k = 0;
    for (int i = 0; i < a->n; i++) {
        app_entry *e = &a->e[i];
        e->record_index = -1;
        if (e->error != WEIR_KERR_NONE) {
            continue;
        }
        weir_topic *t = weir_topics_find(&b->topics, e->topic, strlen(e->topic));
        if (weir_topic_partition(t, e->partition) == NULL) {
            e->error = WEIR_KERR_UNKNOWN_TOPIC_OR_PARTITION;
        } else if ((int64_t)strlen(e->metadata) > b->cfg.offset_metadata_bytes_max) {
            e->error = WEIR_KERR_OFFSET_METADATA_TOO_LARGE;
        } else {
            grp_record_offset(bb, now, a->group_id, e->topic, e->partition, e->offset,
                              e->leader_epoch, e->metadata, e->commit_ts_ms);
            e->record_index = k++;
        }
    }
    return k;
}

/* A transactional batch: the producer's id and epoch, and the sequence after
 * its last batch in the partition, because the log checks producer batches
 * as it does clients' (Kafka's coordinator appends skip that check). */
static void commit_as_producer(weir_broker *b, const grp_append *a, int32_t index, int16_t epoch,
                               weir_batch_builder *bb)
{
    weir_pstate_entry pe;
    int32_t seq = 0;
    struct weir_plog *log = weir_broker_partition_log(b, BK_OFFSETS_TOPIC, index);
    if (log != NULL && weir_plog_producer(log, a->producer_id, &pe) && pe.epoch == epoch &&
        pe.n_batches > 0) {
        seq = weir_seq_add(pe.batches[pe.n_batches - 1].last_seq, 1);
    }
    weir_batch_builder_set_producer(bb, a->producer_id, epoch, seq);
    weir_batch_builder_set_attributes(bb, WEIR_BATCH_TRANSACTIONAL);
}

/* The written entries of a TxnOffsetCommit wait for their producer's marker
 * (log offset -1 until the append completes). */
static void txn_pending_add(weir_broker *b, const grp_append *a, int32_t index)
{
    grp_group *g = grp_find(grp_part_get(b, index), a->group_id, strlen(a->group_id));
    grp_txn_pending *t = g != NULL ? grp_txn_get(g, a->producer_id, true) : NULL;
    for (int i = 0; t != NULL && i < a->n; i++) {
        const app_entry *e = &a->e[i];
        grp_offset o = {strdup(e->topic),    e->partition,    e->offset, e->leader_epoch,
                        strdup(e->metadata), e->commit_ts_ms, -1};
        if (e->record_index >= 0 && o.topic != NULL && o.metadata != NULL) {
            weir_ignore(grp_offset_put(&t->offsets, &o));
        } else {
            offset_free(&o);
        }
    }
}

/* Writes the valid entries to __consumer_offsets and parks the request, or
 * answers now (every entry failed, or the append was refused). Always takes a. */
static int commit_append(bk_conn *c, const weir_request *r, grp_append *a, int32_t index,
                         int16_t producer_epoch, bool *parked)
{
    weir_broker *b = c->b;
    weir_batch_builder bb;
    weir_batch_builder_init(&bb);
    int k = commit_records(b, a, &bb);
    if (k > 0) {
        uint8_t *buf;
        size_t len;
        if (a->kind == APP_TXN_COMMIT) {
            commit_as_producer(b, a, index, producer_epoch, &bb);
        }
        int64_t base = -1;
        int16_t code =
            weir_batch_builder_finish(&bb, &buf, &len) != 0
                ? WEIR_KERR_UNKNOWN_SERVER_ERROR
                : bk_coord_append(b, BK_COORD_GROUP, index, buf, len,
                                  b->cfg.offsets_commit_timeout_ms, append_done, a, &base);
        for (int i = 0; code != WEIR_KERR_NONE && i < a->n; i++) {
            if (a->e[i].record_index >= 0) {
                a->e[i].error = commit_error(code);
                a->e[i].record_index = -1;
            }
        }
        k = code == WEIR_KERR_NONE ? k : 0;
    }
    weir_batch_builder_free(&bb);
    if (k == 0) {
        int err = commit_encode(&b->out, &b->arena, r->header.api_version, a);
        append_free(a);
        return err;
    }
    /* in flight: answered by append_done, from a timer */
    if (a->kind == APP_TXN_COMMIT) {
        txn_pending_add(b, a, index);
    }
    append_link(grp_part_get(b, index), a);
    a->reply = bk_reply_park(c, &r->header);
    if (a->reply == NULL) {
        return WEIR_E_NOMEM; /* the connection closes; the append still completes */
    }
    *parked = true;
    return 0;
}

/* Kafka's validateOffsetCommit for a group that exists. */
static int16_t commit_validate(weir_broker *b, grp_group *g, int32_t generation, weir_str member_id,
                               weir_str instance_id)
{
    if (g->state == GRP_DEAD) {
        return WEIR_KERR_COORDINATOR_NOT_AVAILABLE;
    }
    if (generation >= 0 || member_id.len > 0 || instance_id.len >= 0) {
        grp_member *m = grp_member_find(g, member_id.len > 0 ? member_id.p : "",
                                        member_id.len > 0 ? (size_t)member_id.len : 0);
        if (m == NULL) {
            return WEIR_KERR_UNKNOWN_MEMBER_ID;
        }
        if (generation != g->generation) {
            return WEIR_KERR_ILLEGAL_GENERATION;
        }
        if (g->state == GRP_COMPLETING_REBALANCE) {
            return WEIR_KERR_REBALANCE_IN_PROGRESS;
        }
        grp_member_touch(b, m);
        return WEIR_KERR_NONE;
    }
    /* a "simple" consumer (no generation): only while nobody is a member */
    return g->state == GRP_EMPTY ? WEIR_KERR_NONE : WEIR_KERR_UNKNOWN_MEMBER_ID;
}

int bk_handle_offset_commit(bk_conn *c, const weir_request *r, bool *parked)
{
    weir_broker *b = c->b;
    const weir_offset_commit_request *req = &r->body.offset_commit;
    weir_str gid = req->group_id.len > 0 ? req->group_id : weir_str_from("");
    int n = 0;
    for (int32_t i = 0; i < req->topic_count; i++) {
        n += req->topics[i].partition_count > 0 ? req->topics[i].partition_count : 0;
    }
    int32_t index = -1;
    int16_t error = bk_coord_lookup(b, BK_COORD_GROUP, gid.p, (size_t)gid.len, &index);
    grp_append *a = append_new(APP_COMMIT, index, gid, n);
    if (a == NULL) {
        return WEIR_E_NOMEM;
    }
    int k = 0;
    int64_t now = weir_wall_ms(b->env);
    for (int32_t i = 0; i < req->topic_count; i++) {
        const weir_offset_commit_topic *ot = &req->topics[i];
        for (int32_t j = 0; j < ot->partition_count; j++, k++) {
            const weir_offset_commit_partition *op = &ot->partitions[j];
            a->e[k].topic_view = ot->name;
            a->e[k].partition = op->partition_index;
            a->e[k].offset = op->committed_offset;
            a->e[k].leader_epoch = op->committed_leader_epoch;
            a->e[k].metadata = metadata_copy(op->committed_metadata);
            a->e[k].commit_ts_ms = op->commit_timestamp >= 0 ? op->commit_timestamp : now;
        }
    }
    if (entries_own(a) != 0) {
        append_free(a);
        return WEIR_E_NOMEM;
    }
    if (error == WEIR_KERR_NONE) {
        grp_part *part = grp_part_get(b, index);
        grp_group *g = grp_find(part, gid.p, (size_t)gid.len);
        if (g == NULL && req->generation_id < 0) {
            g = grp_create(part, gid.p, (size_t)gid.len); /* offsets-only group */
            error = g == NULL ? WEIR_KERR_UNKNOWN_SERVER_ERROR : WEIR_KERR_NONE;
        } else if (g == NULL) {
            error = WEIR_KERR_ILLEGAL_GENERATION;
        } else {
            error =
                commit_validate(b, g, req->generation_id, req->member_id, req->group_instance_id);
        }
    }
    for (int i = 0; i < a->n; i++) {
        a->e[i].error = error;
    }
    return commit_append(c, r, a, index, -1, parked);
}

int bk_handle_txn_offset_commit(bk_conn *c, const weir_request *r, bool *parked)
{
    weir_broker *b = c->b;
    const weir_txn_offset_commit_request *req = &r->body.txn_offset_commit;
    weir_str gid = req->group_id.len > 0 ? req->group_id : weir_str_from("");
    int n = 0;
    for (int32_t i = 0; i < req->topic_count; i++) {
        n += req->topics[i].partition_count > 0 ? req->topics[i].partition_count : 0;
    }
    int32_t index = -1;
    int16_t error = gid.len == 0
                        ? WEIR_KERR_INVALID_GROUP_ID
                        : bk_coord_lookup(b, BK_COORD_GROUP, gid.p, (size_t)gid.len, &index);
    grp_append *a = append_new(APP_TXN_COMMIT, index, gid, n);
    if (a == NULL) {
        return WEIR_E_NOMEM;
    }
    a->producer_id = req->producer_id;
    int k = 0;
    int64_t now = weir_wall_ms(b->env);
    for (int32_t i = 0; i < req->topic_count; i++) {
        const weir_txn_offset_commit_topic *ot = &req->topics[i];
        for (int32_t j = 0; j < ot->partition_count; j++, k++) {
            const weir_txn_offset_commit_partition *op = &ot->partitions[j];
            a->e[k].topic_view = ot->name;
            a->e[k].partition = op->partition_index;
            a->e[k].offset = op->committed_offset;
            a->e[k].leader_epoch = op->committed_leader_epoch;
            a->e[k].metadata = metadata_copy(op->committed_metadata);
            a->e[k].commit_ts_ms = now;
        }
    }
    if (entries_own(a) != 0) {
        append_free(a);
        return WEIR_E_NOMEM;
    }
    if (error == WEIR_KERR_NONE) {
        grp_part *part = grp_part_get(b, index);
        grp_group *g = grp_find(part, gid.p, (size_t)gid.len);
        if (g == NULL) {
            g = grp_create(part, gid.p, (size_t)gid.len); /* as Kafka: the group appears */
        }
        error = g == NULL
                    ? WEIR_KERR_UNKNOWN_SERVER_ERROR
                    : (g->state == GRP_DEAD ? WEIR_KERR_COORDINATOR_NOT_AVAILABLE : WEIR_KERR_NONE);
    }
    for (int i = 0; i < a->n; i++) {
        a->e[i].error = error;
    }
    return commit_append(c, r, a, index, req->producer_epoch, parked);
}

/* ---- OffsetFetch ---- */

/* OffsetFetch with null topics (v2+): every partition the group has an
 * offset for, grouped by topic. */
static int fetch_all(weir_broker *b, int16_t version, const grp_group *g)
{
    size_t n = g != NULL ? g->offsets.n : 0;
    weir_offset_fetch_topic_response *ts = weir_arena_alloc_array(&b->arena, n, sizeof *ts);
    weir_offset_fetch_partition_response *ps = weir_arena_alloc_array(&b->arena, n, sizeof *ps);
    if (n > 0 && (ts == NULL || ps == NULL)) {
        return WEIR_E_NOMEM;
    }
    int32_t nt = 0;
    for (size_t i = 0; i < n; i++) {
        const grp_offset *e = &g->offsets.v[i];
        if (i == 0 || strcmp(e->topic, g->offsets.v[i - 1].topic) != 0) {
            ts[nt++] = (weir_offset_fetch_topic_response){weir_str_from(e->topic), 0, &ps[i]};
        }
        ps[i] = (weir_offset_fetch_partition_response){e->partition, e->offset, e->leader_epoch,
                                                       weir_str_from(e->metadata), WEIR_KERR_NONE};
        ts[nt - 1].partition_count++;
    }
    weir_offset_fetch_response resp = {0, nt, ts, WEIR_KERR_NONE};
    return weir_encode_offset_fetch_response(&b->out, version, &resp);
}

int bk_handle_offset_fetch(bk_conn *c, const weir_request *r)
{
    weir_broker *b = c->b;
    const weir_offset_fetch_request *req = &r->body.offset_fetch;
    int16_t version = r->header.api_version;
    weir_str gid = req->group_id.len > 0 ? req->group_id : weir_str_from("");
    int32_t index = -1;
    int16_t error = bk_coord_lookup(b, BK_COORD_GROUP, gid.p, (size_t)gid.len, &index);
    grp_group *g =
        error == WEIR_KERR_NONE ? grp_find(grp_part_get(b, index), gid.p, (size_t)gid.len) : NULL;
    weir_offset_fetch_response resp = {0, 0, NULL, WEIR_KERR_NONE};
    if (error != WEIR_KERR_NONE && version >= 2) {
        resp.error_code = error; /* v2+: a top-level error and no topics */
        return weir_encode_offset_fetch_response(&b->out, version, &resp);
    }
    if (req->topic_count < 0) {
        return fetch_all(b, version, g);
    }
    int32_t nt = req->topic_count;
    weir_offset_fetch_topic_response *ts =
        weir_arena_alloc_array(&b->arena, (size_t)nt, sizeof *ts);
    if (nt > 0 && ts == NULL) {
        return WEIR_E_NOMEM;
    }
    for (int32_t i = 0; i < nt; i++) {
        const weir_offset_fetch_topic *ft = &req->topics[i];
        int32_t np = ft->partition_index_count > 0 ? ft->partition_index_count : 0;
        weir_offset_fetch_partition_response *ps =
            weir_arena_alloc_array(&b->arena, (size_t)np, sizeof *ps);
        if (np > 0 && ps == NULL) {
            return WEIR_E_NOMEM;
        }
        for (int32_t j = 0; j < np; j++) {
            int32_t partition = ft->partition_indexes[j];
            /* no commit: offset -1, no metadata (Kafka's INVALID_OFFSET, "") */
            ps[j] = (weir_offset_fetch_partition_response){partition, -1, -1, weir_str_from(""),
                                                           WEIR_KERR_NONE};
            if (error != WEIR_KERR_NONE) {
                ps[j].error_code = error; /* v0-v1: the error goes per partition */
                continue;
            }
            const grp_offset *e =
                g != NULL && ft->name.len > 0
                    ? grp_offset_find(&g->offsets, ft->name.p, (size_t)ft->name.len, partition)
                    : NULL;
            if (e != NULL) {
                ps[j].committed_offset = e->offset;
                ps[j].committed_leader_epoch = e->leader_epoch;
                ps[j].metadata = weir_str_from(e->metadata);
            }
        }
        ts[i] = (weir_offset_fetch_topic_response){ft->name, np, ps};
    }
    resp.topic_count = nt;
    resp.topics = ts;
    return weir_encode_offset_fetch_response(&b->out, version, &resp);
}

/* ---- group metadata ---- */

int16_t grp_store_group(weir_broker *b, grp_group *g, bool for_sync, const char *const *member_ids,
                        uint8_t *const *assignments, const int32_t *assignment_lens, int n)
{
    grp_append *a = calloc(1, sizeof *a);
    if (a == NULL) {
        return WEIR_KERR_UNKNOWN_SERVER_ERROR;
    }
    a->kind = APP_GROUP;
    a->part_index = g->part->index;
    a->group_id = strdup(g->group_id);
    a->generation = g->generation;
    a->for_sync = for_sync;
    bool ok = a->group_id != NULL;
    if (ok && n > 0) {
        a->ids = calloc((size_t)n, sizeof *a->ids);
        a->assignments = calloc((size_t)n, sizeof *a->assignments);
        a->lens = calloc((size_t)n, sizeof *a->lens);
        ok = a->ids != NULL && a->assignments != NULL && a->lens != NULL;
        for (int i = 0; ok && i < n; i++) {
            a->ids[i] = strdup(member_ids[i]);
            a->assignments[i] = malloc((size_t)(assignment_lens[i] > 0 ? assignment_lens[i] : 1));
            a->lens[i] = assignment_lens[i] > 0 ? assignment_lens[i] : 0;
            a->n_assign = i + 1;
            ok = a->ids[i] != NULL && a->assignments[i] != NULL;
            if (ok && a->lens[i] > 0) {
                memcpy(a->assignments[i], assignments[i], (size_t)a->lens[i]);
            }
        }
    }
    weir_batch_builder bb;
    weir_batch_builder_init(&bb);
    uint8_t *buf;
    size_t len;
    int16_t code = WEIR_KERR_UNKNOWN_SERVER_ERROR;
    int64_t base = -1;
    if (ok &&
        grp_record_group(b, g, (const char *const *)a->ids, a->assignments, a->lens, a->n_assign,
                         &bb) == 0 &&
        weir_batch_builder_finish(&bb, &buf, &len) == 0) {
        code = bk_coord_append(b, BK_COORD_GROUP, g->part->index, buf, len,
                               b->cfg.offsets_commit_timeout_ms, append_done, a, &base);
    }
    weir_batch_builder_free(&bb);
    if (code != WEIR_KERR_NONE) {
        append_free(a);
        return code;
    }
    append_link(g->part, a);
    return WEIR_KERR_NONE;
}
