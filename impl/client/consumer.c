/* The consumer (see consumer.h): positions per assigned partition, ListOffsets
 * for resets, one Fetch in flight per leader, records out in offset order,
 * aborted transactions filtered out under read_committed. A consumer with a
 * group_id owns a weir_group_member (group_member.c) that decides the
 * assignment through weir_consumer_group_* below.
 *
 * Invariants:
 * - a partition is `busy` while exactly one Fetch or ListOffsets of the
 *   current assignment generation covers it;
 * - every answer carries the generation and the partition's epoch it was asked
 *   under; an answer for an older generation or epoch (after assign or seek)
 *   changes nothing but the busy flag;
 * - position only grows while records are delivered; seek and reset are the
 *   only other writers;
 * - while `stopped` no request goes out (a rebalance or close is under way);
 * - a partition the owner paused is in no Fetch and gets no record; records
 *   fetched for it but not delivered wait in `held` (tied to the epoch they
 *   were fetched under) and go out after resume before it fetches again;
 * - `tps` mirrors `parts` (same order, topic pointers into the parts).
 */
#include "client/consumer.h"

#include <stdlib.h>
#include <string.h>

#include "client/cluster.h"
#include "client/group_member.h"
#include "core/assert.h"
#include "log/batch.h"
#include "log/log.h"
#include "proto/messages.h"

#define MS 1000000LL
/* A log line that starts with the client id. */
#define CS_LOG(c, level, fmt, ...)                                                                 \
    weir_log((c)->env, (level), "%s: " fmt, weir_cluster_client_id((c)->cl), __VA_ARGS__)
#define CS_FETCH_VERSION 11
#define CS_LIST_OFFSETS_VERSION 3

/* A fetched partition's records not delivered yet because the owner paused
 * the partition: a copy of the response's record bytes (whole batches,
 * walked again from the start: the position skips what went out) and, under
 * read_committed, its aborted transactions. */
typedef struct cs_held {
    uint32_t epoch; /* the partition's epoch when fetched */
    size_t len;
    weir_fetch_aborted_txn *aborted;
    int32_t aborted_count;
    uint8_t records[];
} cs_held;

typedef struct cs_part {
    char *topic;
    int32_t partition;
    int64_t position;      /* next offset to deliver; -1 unknown */
    int64_t reset_ts;      /* pending lookup: WEIR_LOG_TS_EARLIEST / LATEST; 0 none */
    bool waiting_seek;     /* auto_offset_reset none: nothing until a seek */
    bool report_no_offset; /* tell on_error once that it waits for a seek */
    bool busy;             /* a request of this generation covers it */
    bool paused;           /* weir_consumer_pause: no fetch, no record */
    cs_held *held;         /* fetched while paused, or NULL */
    int64_t backoff_until_ns;
    int64_t high_watermark;
    uint32_t epoch; /* bumps on seek and reset */
} cs_part;

typedef struct cs_entry {
    int32_t index; /* into c->parts */
    uint32_t epoch;
    int64_t offset; /* fetch offset, or the ListOffsets timestamp */
} cs_entry;

typedef struct cs_request {
    struct cs_request *prev;
    struct cs_request *next;
    weir_consumer *c;
    uint64_t gen;
    int32_t node_id;
    bool list_offsets;
    int32_t count;
    cs_entry e[];
} cs_request;

struct weir_consumer {
    weir_env *env;
    weir_consumer_config cfg;
    weir_consumer_callbacks cbs;
    weir_cluster *cl;
    cs_part **parts;
    int32_t part_count;
    weir_topic_partition *tps; /* weir_consumer_assignment's view of parts */
    uint64_t gen;              /* bumps on assign, install and pause */
    int64_t assignment_epoch;  /* bumps on every new assignment */
    cs_request *requests;
    weir_timer *timer;
    int64_t timer_at_ns;
    bool in_callback;
    bool running;
    bool stopped; /* weir_consumer_group_pause: a rebalance or close */
    bool closing;
    uint64_t fetch_count;  /* Fetch requests sent */
    weir_group_member *gm; /* NULL without group_id */
};

static void cs_run(weir_consumer *c);

void weir_consumer_config_default(weir_consumer_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->fetch_wait_ms_max = 500;
    cfg->fetch_bytes_min = 1;
    cfg->fetch_bytes_max = 52428800;
    cfg->partition_fetch_bytes_max = 1048576;
    cfg->auto_offset_reset = WEIR_OFFSET_RESET_LATEST;
    cfg->request_timeout_ms = 30000;
    cfg->retry_backoff_ms = 100;
    cfg->metadata_max_age_ms = 300000;
    cfg->allow_auto_create_topics = true;
    cfg->session_timeout_ms = 45000;
    cfg->heartbeat_interval_ms = 3000;
    cfg->rebalance_timeout_ms = 300000;
    cfg->enable_auto_commit = true;
    cfg->auto_commit_interval_ms = 5000;
    cfg->assignor = "range";
}

/* ---- timer ---- */

static void cs_timer_cb(weir_env *env, void *arg)
{
    (void)env;
    weir_consumer *c = arg;
    c->timer = NULL;
    cs_run(c);
}

static void cs_arm(weir_consumer *c, int64_t at_ns)
{
    int64_t now = weir_now_ns(c->env);
    if (at_ns < now) {
        at_ns = now;
    }
    if (c->timer != NULL) {
        if (c->timer_at_ns <= at_ns) {
            return;
        }
        weir_timer_cancel(c->env, c->timer);
    }
    c->timer_at_ns = at_ns;
    c->timer = weir_timer_start(c->env, at_ns - now, cs_timer_cb, c);
}

static void cs_on_wake(void *arg)
{
    weir_consumer *c = arg;
    cs_arm(c, 0);
    if (c->gm != NULL) {
        weir_group_member_wake(c->gm);
    }
}

/* ---- callbacks to the owner ---- */

static void cs_error(weir_consumer *c, const cs_part *p, int16_t error, int64_t offset)
{
    weir_consumer_group_error(c, p->topic, p->partition, error, offset);
}

static cs_part *cs_find(const weir_consumer *c, const char *topic, int32_t partition)
{
    for (int32_t i = 0; i < c->part_count; i++) {
        if (c->parts[i]->partition == partition && strcmp(c->parts[i]->topic, topic) == 0) {
            return c->parts[i];
        }
    }
    return NULL;
}

/* ---- assignment, seek, position ---- */

static void cs_held_free(cs_held *h)
{
    if (h != NULL) {
        free(h->aborted);
        free(h);
    }
}

/* Drops the records a paused partition holds (seek, reset, rebalance). */
static void cs_part_unhold(cs_part *p)
{
    cs_held_free(p->held);
    p->held = NULL;
}

static void cs_parts_free(cs_part **parts, int32_t count)
{
    for (int32_t i = 0; i < count; i++) {
        cs_part_unhold(parts[i]);
        free(parts[i]->topic);
        free(parts[i]);
    }
    free(parts);
}

/* A partition with no position yet, per auto_offset_reset. */
static void cs_part_reset(const weir_consumer *c, cs_part *p)
{
    p->position = -1;
    p->epoch++;
    switch (c->cfg.auto_offset_reset) {
    case WEIR_OFFSET_RESET_EARLIEST:
        p->reset_ts = WEIR_LOG_TS_EARLIEST;
        break;
    case WEIR_OFFSET_RESET_LATEST:
        p->reset_ts = WEIR_LOG_TS_LATEST;
        break;
    default:
        p->reset_ts = 0;
        p->waiting_seek = true;
        p->report_no_offset = true;
        break;
    }
}

/* New parts for tps (duplicates dropped) and their view. With positions
 * (the group's install) tps[i] starts at positions[i] (-1: auto_offset_reset);
 * without, a partition already assigned keeps its position (as Kafka's assign
 * does). Returns 0 or WEIR_E_NOMEM (nothing changed). */
static int cs_parts_build(weir_consumer *c, const weir_topic_partition *tps, int32_t count,
                          const int64_t *positions, cs_part ***parts_out, int32_t *count_out,
                          weir_topic_partition **view_out)
{
    cs_part **parts = calloc((size_t)(count > 0 ? count : 1), sizeof *parts);
    weir_topic_partition *view = calloc((size_t)(count > 0 ? count : 1), sizeof *view);
    if (parts == NULL || view == NULL) {
        free(parts);
        free(view);
        return WEIR_E_NOMEM;
    }
    int32_t n = 0;
    for (int32_t i = 0; i < count; i++) {
        bool dup = false;
        for (int32_t j = 0; j < n && !dup; j++) {
            dup = parts[j]->partition == tps[i].partition &&
                  strcmp(parts[j]->topic, tps[i].topic) == 0;
        }
        if (dup) {
            continue;
        }
        cs_part *p = calloc(1, sizeof *p);
        if (p == NULL || (p->topic = strdup(tps[i].topic)) == NULL ||
            weir_cluster_topic_want(c->cl, tps[i].topic) != 0) {
            if (p != NULL) {
                free(p->topic);
            }
            free(p);
            cs_parts_free(parts, n);
            free(view);
            return WEIR_E_NOMEM;
        }
        p->partition = tps[i].partition;
        p->high_watermark = -1;
        view[n] = (weir_topic_partition){p->topic, p->partition};
        const cs_part *old = positions == NULL ? cs_find(c, p->topic, p->partition) : NULL;
        if (positions != NULL && positions[i] >= 0) {
            p->position = positions[i];
        } else if (old != NULL) {
            /* Kept partitions keep their position (as Kafka's assign does). */
            p->position = old->position;
            p->reset_ts = old->reset_ts;
            p->waiting_seek = old->waiting_seek;
            p->high_watermark = old->high_watermark;
            p->paused = old->paused; /* as Kafka's assign keeps a kept partition's state */
            p->epoch = old->epoch + 1;
        } else {
            cs_part_reset(c, p);
        }
        parts[n++] = p;
    }
    *parts_out = parts;
    *count_out = n;
    *view_out = view;
    return 0;
}

static void cs_parts_replace(weir_consumer *c, cs_part **parts, int32_t count,
                             weir_topic_partition *view)
{
    cs_parts_free(c->parts, c->part_count);
    free(c->tps);
    c->parts = parts;
    c->part_count = count;
    c->tps = view;
    c->gen++;
}

int weir_consumer_assign(weir_consumer *c, const weir_topic_partition *tps, int32_t count)
{
    if (c->in_callback || c->closing || count < 0 || (count > 0 && tps == NULL) ||
        (c->gm != NULL && weir_group_member_subscribed(c->gm))) {
        return WEIR_E_INVAL;
    }
    for (int32_t i = 0; i < count; i++) {
        if (tps[i].topic == NULL || tps[i].topic[0] == '\0' || tps[i].partition < 0) {
            return WEIR_E_INVAL;
        }
    }
    cs_part **parts = NULL;
    weir_topic_partition *view = NULL;
    int32_t n = 0;
    int err = cs_parts_build(c, tps, count, NULL, &parts, &n, &view);
    if (err != 0) {
        return err;
    }
    cs_parts_replace(c, parts, n, view);
    c->assignment_epoch++;
    cs_arm(c, 0);
    return 0;
}

int weir_consumer_seek(weir_consumer *c, const char *topic, int32_t partition, int64_t offset)
{
    if (topic == NULL ||
        (offset < 0 && offset != WEIR_LOG_TS_EARLIEST && offset != WEIR_LOG_TS_LATEST)) {
        return WEIR_E_INVAL;
    }
    cs_part *p = cs_find(c, topic, partition);
    if (p == NULL) {
        return WEIR_E_NOENT;
    }
    p->position = offset >= 0 ? offset : -1;
    p->reset_ts = offset >= 0 ? 0 : offset;
    p->waiting_seek = false;
    p->report_no_offset = false;
    p->backoff_until_ns = 0;
    p->epoch++;
    cs_part_unhold(p);
    cs_arm(c, 0);
    return 0;
}

int weir_consumer_position(weir_consumer *c, const char *topic, int32_t partition,
                           int64_t *offset_out)
{
    const cs_part *p = topic != NULL ? cs_find(c, topic, partition) : NULL;
    if (p == NULL) {
        return WEIR_E_NOENT;
    }
    if (p->position < 0 || p->reset_ts != 0) {
        return WEIR_E_AGAIN;
    }
    *offset_out = p->position;
    return 0;
}

int weir_consumer_high_watermark(weir_consumer *c, const char *topic, int32_t partition,
                                 int64_t *offset_out)
{
    const cs_part *p = topic != NULL ? cs_find(c, topic, partition) : NULL;
    if (p == NULL) {
        return WEIR_E_NOENT;
    }
    *offset_out = p->high_watermark;
    return 0;
}

/* ---- pause and resume ---- */

/* Sets every pair's pause flag, or none when one is bad or not assigned.
 * Returns the number of flags that changed, WEIR_E_NOENT or WEIR_E_INVAL. */
static int cs_pause_set(weir_consumer *c, const weir_topic_partition *tps, int32_t count,
                        bool paused)
{
    if (count < 0 || (count > 0 && tps == NULL)) {
        return WEIR_E_INVAL;
    }
    for (int32_t i = 0; i < count; i++) {
        if (tps[i].topic == NULL) {
            return WEIR_E_INVAL;
        }
        if (cs_find(c, tps[i].topic, tps[i].partition) == NULL) {
            return WEIR_E_NOENT;
        }
    }
    int changed = 0;
    for (int32_t i = 0; i < count; i++) {
        cs_part *p = cs_find(c, tps[i].topic, tps[i].partition);
        changed += p->paused != paused ? 1 : 0;
        p->paused = paused;
    }
    return changed;
}

int weir_consumer_pause(weir_consumer *c, const weir_topic_partition *tps, int32_t count)
{
    int rc = cs_pause_set(c, tps, count, true);
    return rc < 0 ? rc : 0; /* nothing to send: the next fetch leaves them out */
}

int weir_consumer_resume(weir_consumer *c, const weir_topic_partition *tps, int32_t count)
{
    int rc = cs_pause_set(c, tps, count, false);
    if (rc > 0) {
        cs_arm(c, 0); /* held records out, or a fetch, from the next event */
    }
    return rc < 0 ? rc : 0;
}

bool weir_consumer_paused(const weir_consumer *c, const char *topic, int32_t partition)
{
    const cs_part *p = topic != NULL ? cs_find(c, topic, partition) : NULL;
    return p != NULL && p->paused;
}

uint64_t weir_consumer_fetch_count(const weir_consumer *c)
{
    return c->fetch_count;
}

/* ---- requests ---- */

static void cs_request_link(weir_consumer *c, cs_request *req)
{
    req->next = c->requests;
    if (c->requests != NULL) {
        c->requests->prev = req;
    }
    c->requests = req;
}

static void cs_request_unlink(weir_consumer *c, cs_request *req)
{
    if (req->prev != NULL) {
        req->prev->next = req->next;
    } else {
        c->requests = req->next;
    }
    if (req->next != NULL) {
        req->next->prev = req->prev;
    }
}

static bool cs_node_fetching(const weir_consumer *c, int32_t node_id)
{
    for (const cs_request *r = c->requests; r != NULL; r = r->next) {
        if (!r->list_offsets && r->node_id == node_id) {
            return true;
        }
    }
    return false;
}

/* Errors after which the leader may have moved. */
static bool cs_retriable(int16_t error)
{
    return error == WEIR_KERR_NOT_LEADER_OR_FOLLOWER || error == WEIR_KERR_LEADER_NOT_AVAILABLE ||
           error == WEIR_KERR_UNKNOWN_TOPIC_OR_PARTITION ||
           error == WEIR_KERR_KAFKA_STORAGE_ERROR || error == WEIR_KERR_REQUEST_TIMED_OUT;
}

static void cs_backoff(weir_consumer *c, cs_part *p)
{
    p->backoff_until_ns = weir_now_ns(c->env) + (int64_t)c->cfg.retry_backoff_ms * MS;
}

/* Marks the request's partitions free again; true if the answer still
 * belongs to the current assignment. */
static bool cs_request_settle(weir_consumer *c, cs_request *req)
{
    if (req->gen != c->gen) {
        return false;
    }
    for (int32_t i = 0; i < req->count; i++) {
        c->parts[req->e[i].index]->busy = false;
    }
    return true;
}

/* A whole request failed (connection, timeout, undecodable answer). */
static void cs_request_failed(weir_consumer *c, cs_request *req, int err)
{
    CS_LOG(c, WEIR_LOG_INFO, "%s to node %d failed: %s; retrying in %d ms",
           req->list_offsets ? "ListOffsets" : "Fetch", req->node_id, weir_err_str(err),
           c->cfg.retry_backoff_ms);
    for (int32_t i = 0; i < req->count; i++) {
        cs_backoff(c, c->parts[req->e[i].index]);
    }
    weir_cluster_metadata_request(c->cl);
}

/* ---- ListOffsets ---- */

static const weir_list_offsets_partition_response *
cs_find_list_result(const weir_list_offsets_response *r, const cs_part *p)
{
    for (int32_t i = 0; i < r->topic_count; i++) {
        if (!weir_str_eq_cstr(r->topics[i].name, p->topic)) {
            continue;
        }
        for (int32_t j = 0; j < r->topics[i].partition_count; j++) {
            if (r->topics[i].partitions[j].partition_index == p->partition) {
                return &r->topics[i].partitions[j];
            }
        }
    }
    return NULL;
}

static void cs_on_list_offsets(weir_cluster *cl, int err, const weir_response *resp, void *arg)
{
    (void)cl;
    cs_request *req = arg;
    weir_consumer *c = req->c;
    cs_request_unlink(c, req);
    if (cs_request_settle(c, req)) {
        if (err != 0) {
            cs_request_failed(c, req, err);
        }
        for (int32_t i = 0; err == 0 && i < req->count; i++) {
            cs_part *p = c->parts[req->e[i].index];
            if (p->epoch != req->e[i].epoch) {
                continue; /* seeked meanwhile */
            }
            const weir_list_offsets_partition_response *r =
                cs_find_list_result(&resp->body.list_offsets, p);
            int16_t error = r != NULL ? r->error_code : WEIR_KERR_UNKNOWN_SERVER_ERROR;
            if (error == WEIR_KERR_NONE && r->offset >= 0) {
                p->position = r->offset;
                p->reset_ts = 0;
                CS_LOG(c, WEIR_LOG_DEBUG, "%s-%d starts at offset %lld", p->topic, p->partition,
                       (long long)p->position);
                continue;
            }
            cs_backoff(c, p);
            if (cs_retriable(error)) {
                weir_cluster_metadata_request(c->cl);
            } else {
                cs_error(c, p, error, req->e[i].offset);
            }
        }
    }
    free(req);
    cs_run(c);
}

/* ---- Fetch ---- */

static const weir_fetch_partition_response *cs_find_fetch_result(const weir_fetch_response *r,
                                                                 const cs_part *p)
{
    for (int32_t i = 0; i < r->topic_count; i++) {
        if (!weir_str_eq_cstr(r->topics[i].name, p->topic)) {
            continue;
        }
        for (int32_t j = 0; j < r->topics[i].partition_count; j++) {
            if (r->topics[i].partitions[j].partition_index == p->partition) {
                return &r->topics[i].partitions[j];
            }
        }
    }
    return NULL;
}

/* Hands the records of one uncompressed batch at or past the position to
 * on_record. Returns false when the owner seeked or paused the partition
 * (stop reading). */
static bool cs_deliver_batch(weir_consumer *c, cs_part *p, uint32_t epoch, const uint8_t *buf,
                             size_t len, const weir_batch_header *h)
{
    weir_record_iter it;
    int rc = weir_record_iter_init(&it, buf, len);
    weir_record rec;
    while (rc == 0) {
        rc = weir_record_next(&it, &rec);
        if (rc != 1) {
            break; /* 0: the end; < 0: malformed */
        }
        rc = 0;
        int64_t offset = h->base_offset + rec.offset_delta;
        if (offset < p->position) {
            continue; /* the batch began before the fetch offset */
        }
        weir_consumer_record out;
        out.topic = p->topic;
        out.partition = p->partition;
        out.offset = offset;
        out.timestamp = (h->attributes & WEIR_BATCH_LOG_APPEND_TIME)
                            ? h->max_timestamp
                            : h->base_timestamp + rec.timestamp_delta;
        out.key = rec.key;
        out.key_len = rec.key != NULL ? rec.key_len : -1;
        out.value = rec.value;
        out.value_len = rec.value != NULL ? rec.value_len : -1;
        out.header_count = rec.header_count;
        p->position = offset + 1;
        c->in_callback = true;
        c->cbs.on_record(c->cbs.ctx, &out);
        c->in_callback = false;
        if (p->epoch != epoch || p->paused) {
            return false;
        }
    }
    if (rc < 0) {
        CS_LOG(c, WEIR_LOG_WARN, "%s-%d: batch at offset %lld has a malformed record", p->topic,
               p->partition, (long long)h->base_offset);
        cs_error(c, p, WEIR_KERR_CORRUPT_MESSAGE, h->base_offset);
        cs_backoff(c, p);
        return false;
    }
    return true;
}

/* read_committed: the aborted transactions of one fetched partition. An
 * entry is open from its first offset until an ABORT marker of its producer
 * at or after that offset closes it. */
typedef struct cs_txn_filter {
    const weir_fetch_aborted_txn *aborted;
    int32_t count;
    bool *closed; /* per entry */
} cs_txn_filter;

/* True when a control batch's (first) record is an ABORT marker: key
 * Version i16, Type i16 (0 abort, 1 commit). */
static bool cs_control_is_abort(const uint8_t *buf, size_t len)
{
    weir_record_iter it;
    weir_record rec;
    if (weir_record_iter_init(&it, buf, len) != 0 || weir_record_next(&it, &rec) != 1 ||
        rec.key == NULL || rec.key_len < 4) {
        return false;
    }
    return ((uint16_t)rec.key[2] << 8 | rec.key[3]) == 0;
}

/* Feeds one batch (in log order) to the filter; true when it is a data batch
 * of an aborted transaction. */
static bool cs_txn_aborted(cs_txn_filter *f, const uint8_t *buf, size_t len,
                           const weir_batch_header *h)
{
    if ((h->attributes & WEIR_BATCH_TRANSACTIONAL) == 0 || h->producer_id < 0) {
        return false;
    }
    int64_t last = weir_batch_last_offset(h);
    if ((h->attributes & WEIR_BATCH_CONTROL) != 0) {
        if (cs_control_is_abort(buf, len)) {
            for (int32_t i = 0; i < f->count; i++) {
                if (f->aborted[i].producer_id == h->producer_id &&
                    f->aborted[i].first_offset <= last) {
                    f->closed[i] = true;
                }
            }
        }
        return false; /* markers are never delivered anyway */
    }
    for (int32_t i = 0; i < f->count; i++) {
        if (!f->closed[i] && f->aborted[i].producer_id == h->producer_id &&
            f->aborted[i].first_offset <= last) {
            return true;
        }
    }
    return false;
}

/* Walks the batches of one partition's records; txn is NULL unless
 * read_committed with aborted transactions. Returns true when it stopped
 * because the owner paused the partition (the rest is still wanted). */
static bool cs_deliver(weir_consumer *c, cs_part *p, uint32_t epoch, const uint8_t *buf, size_t len,
                       cs_txn_filter *txn)
{
    size_t at = 0;
    while (len - at >= WEIR_BATCH_HEADER_BYTES && p->epoch == epoch) {
        if (p->paused) {
            return true;
        }
        weir_batch_header h;
        weir_batch_header_decode(buf + at, &h);
        uint64_t total = weir_batch_total_bytes(&h);
        if (h.length < 0 || total > len - at) {
            break; /* the partial batch a byte limit cut: fetched again next time */
        }
        const char *why = NULL;
        if (weir_batch_validate(buf + at, (size_t)total, &h, &why) != 0) {
            CS_LOG(c, WEIR_LOG_WARN, "%s-%d: bad batch at offset %lld: %s", p->topic, p->partition,
                   (long long)h.base_offset, why ? why : "invalid");
            cs_error(c, p, WEIR_KERR_CORRUPT_MESSAGE, h.base_offset);
            cs_backoff(c, p);
            return false;
        }
        int64_t last = weir_batch_last_offset(&h);
        bool aborted = txn != NULL && cs_txn_aborted(txn, buf + at, (size_t)total, &h);
        if (last >= p->position) {
            if (aborted) {
                CS_LOG(c, WEIR_LOG_DEBUG, "%s-%d: aborted batch %lld..%lld skipped", p->topic,
                       p->partition, (long long)h.base_offset, (long long)last);
            } else if ((h.attributes & WEIR_BATCH_COMPRESSION_MASK) != 0) {
                CS_LOG(c, WEIR_LOG_WARN, "%s-%d: compressed batch %lld..%lld skipped", p->topic,
                       p->partition, (long long)h.base_offset, (long long)last);
                cs_error(c, p, WEIR_CONSUMER_ERR_UNSUPPORTED_COMPRESSION, h.base_offset);
            } else if ((h.attributes & WEIR_BATCH_CONTROL) == 0 &&
                       !cs_deliver_batch(c, p, epoch, buf + at, (size_t)total, &h)) {
                return p->epoch == epoch && p->paused;
            }
            if (p->epoch != epoch) {
                return false;
            }
            if (p->position <= last) {
                p->position = last + 1; /* past control records, gaps, skipped batches */
            }
        }
        at += (size_t)total;
    }
    return false;
}

/* One partition's records (a response's or held ones) to on_record, with
 * the read_committed filter when there are aborted transactions. Returns
 * true when a pause stopped it. */
static bool cs_deliver_records(weir_consumer *c, cs_part *p, uint32_t epoch, const uint8_t *buf,
                               size_t len, const weir_fetch_aborted_txn *aborted,
                               int32_t aborted_count)
{
    if (!c->cfg.read_committed || aborted_count <= 0) {
        return cs_deliver(c, p, epoch, buf, len, NULL);
    }
    cs_txn_filter txn = {aborted, aborted_count, calloc((size_t)aborted_count, 1)};
    if (txn.closed == NULL) {
        cs_backoff(c, p); /* out of memory: fetched again */
        return false;
    }
    bool stopped = cs_deliver(c, p, epoch, buf, len, &txn);
    free(txn.closed);
    return stopped;
}

/* Keeps a response's records of a paused partition for after resume. Out of
 * memory they are dropped instead: the position did not move past them, so
 * they are fetched again. */
static void cs_hold(weir_consumer *c, cs_part *p, uint32_t epoch,
                    const weir_fetch_partition_response *r)
{
    WEIR_ASSERT(p->held == NULL); /* a partition holding records is never fetched */
    if (p->epoch != epoch) {
        return; /* seeked meanwhile */
    }
    size_t len = (size_t)r->records.len;
    int32_t n = c->cfg.read_committed && r->aborted_count > 0 ? r->aborted_count : 0;
    cs_held *h = malloc(sizeof *h + len);
    weir_fetch_aborted_txn *aborted = n > 0 ? malloc((size_t)n * sizeof *aborted) : NULL;
    if (h == NULL || (n > 0 && aborted == NULL)) {
        free(h);
        free(aborted);
        CS_LOG(c, WEIR_LOG_DEBUG, "%s-%d: records of a paused partition dropped (no memory)",
               p->topic, p->partition);
        return;
    }
    h->epoch = epoch;
    h->len = len;
    memcpy(h->records, r->records.p, len);
    if (n > 0) {
        memcpy(aborted, r->aborted, (size_t)n * sizeof *aborted);
    }
    h->aborted = aborted;
    h->aborted_count = n;
    p->held = h;
}

static void cs_fetch_partition(weir_consumer *c, cs_part *p, const cs_entry *e,
                               const weir_fetch_partition_response *r)
{
    int16_t error = r != NULL ? r->error_code : WEIR_KERR_UNKNOWN_SERVER_ERROR;
    if (error == WEIR_KERR_NONE) {
        p->high_watermark = r->high_watermark;
        if (c->cfg.read_committed && r->last_stable_offset >= 0) {
            p->high_watermark = r->last_stable_offset;
        }
        if (r->records.len <= 0) {
            return;
        }
        /* paused while the fetch was in flight, or from on_record just now */
        if (p->paused || cs_deliver_records(c, p, e->epoch, r->records.p, (size_t)r->records.len,
                                            r->aborted, r->aborted_count)) {
            cs_hold(c, p, e->epoch, r);
        }
        return;
    }
    if (error == WEIR_KERR_OFFSET_OUT_OF_RANGE) {
        CS_LOG(c, WEIR_LOG_INFO, "%s-%d: offset %lld out of range (log %lld..%lld)", p->topic,
               p->partition, (long long)e->offset, (long long)r->log_start_offset,
               (long long)r->high_watermark);
        cs_error(c, p, error, e->offset);
        if (p->epoch == e->epoch) {
            cs_part_reset(c, p); /* unless the owner seeked from on_error */
        }
        return;
    }
    cs_backoff(c, p);
    if (cs_retriable(error)) {
        CS_LOG(c, WEIR_LOG_DEBUG, "%s-%d: %s; refreshing metadata", p->topic, p->partition,
               weir_kerr_name(error));
        weir_cluster_metadata_request(c->cl);
        return;
    }
    cs_error(c, p, error, e->offset);
}

static void cs_on_fetch(weir_cluster *cl, int err, const weir_response *resp, void *arg)
{
    (void)cl;
    cs_request *req = arg;
    weir_consumer *c = req->c;
    cs_request_unlink(c, req);
    if (cs_request_settle(c, req)) {
        if (err != 0) {
            cs_request_failed(c, req, err);
        }
        for (int32_t i = 0; err == 0 && i < req->count && req->gen == c->gen; i++) {
            cs_part *p = c->parts[req->e[i].index];
            if (p->epoch != req->e[i].epoch) {
                continue; /* seeked meanwhile: these records are not wanted */
            }
            cs_fetch_partition(c, p, &req->e[i], cs_find_fetch_result(&resp->body.fetch, p));
        }
    }
    free(req);
    cs_run(c);
}

/* ---- sending ---- */

/* Builds the per-topic arrays of a request over req->e, grouping by topic in
 * first-appearance order; fills *topic_count. */
typedef struct cs_groups {
    int32_t topic_count;
    const char **names;
    int32_t *counts;
    int32_t *order; /* entry indexes, grouped by topic */
} cs_groups;

static int cs_group(const weir_consumer *c, const cs_request *req, cs_groups *g)
{
    int32_t n = req->count;
    g->names = calloc((size_t)n, sizeof *g->names);
    g->counts = calloc((size_t)n, sizeof *g->counts);
    g->order = calloc((size_t)n, sizeof *g->order);
    g->topic_count = 0;
    if (g->names == NULL || g->counts == NULL || g->order == NULL) {
        return WEIR_E_NOMEM;
    }
    int32_t k = 0;
    for (int32_t i = 0; i < n; i++) {
        const char *t = c->parts[req->e[i].index]->topic;
        bool seen = false;
        for (int32_t j = 0; j < g->topic_count && !seen; j++) {
            seen = strcmp(g->names[j], t) == 0;
        }
        if (seen) {
            continue;
        }
        g->names[g->topic_count] = t;
        for (int32_t j = i; j < n; j++) {
            if (strcmp(c->parts[req->e[j].index]->topic, t) == 0) {
                g->order[k++] = j;
                g->counts[g->topic_count]++;
            }
        }
        g->topic_count++;
    }
    return 0;
}

static void cs_groups_free(cs_groups *g)
{
    free(g->names);
    free(g->counts);
    free(g->order);
}

static int cs_send_list_offsets(weir_consumer *c, cs_request *req)
{
    cs_groups g;
    int err = cs_group(c, req, &g);
    weir_list_offsets_topic *topics = calloc((size_t)req->count, sizeof *topics);
    weir_list_offsets_partition *parts = calloc((size_t)req->count, sizeof *parts);
    if (err == 0 && (topics == NULL || parts == NULL)) {
        err = WEIR_E_NOMEM;
    }
    if (err == 0) {
        int32_t k = 0;
        for (int32_t t = 0; t < g.topic_count; t++) {
            topics[t].name = weir_str_from(g.names[t]);
            topics[t].partition_count = g.counts[t];
            topics[t].partitions = &parts[k];
            for (int32_t j = 0; j < g.counts[t]; j++, k++) {
                const cs_entry *e = &req->e[g.order[k]];
                parts[k].partition_index = c->parts[e->index]->partition;
                parts[k].timestamp = e->offset;
                parts[k].max_num_offsets = 1;
            }
        }
        weir_request r;
        memset(&r, 0, sizeof r);
        r.header.api_key = WEIR_API_LIST_OFFSETS;
        r.header.api_version = CS_LIST_OFFSETS_VERSION;
        r.body.list_offsets.replica_id = -1;
        r.body.list_offsets.isolation_level = c->cfg.read_committed ? 1 : 0;
        r.body.list_offsets.topic_count = g.topic_count;
        r.body.list_offsets.topics = topics;
        err = weir_cluster_send(c->cl, req->node_id, &r, 0, cs_on_list_offsets, req);
    }
    free(topics);
    free(parts);
    cs_groups_free(&g);
    return err;
}

static int cs_send_fetch(weir_consumer *c, cs_request *req)
{
    cs_groups g;
    int err = cs_group(c, req, &g);
    weir_fetch_topic *topics = calloc((size_t)req->count, sizeof *topics);
    weir_fetch_partition *parts = calloc((size_t)req->count, sizeof *parts);
    if (err == 0 && (topics == NULL || parts == NULL)) {
        err = WEIR_E_NOMEM;
    }
    if (err == 0) {
        int32_t k = 0;
        for (int32_t t = 0; t < g.topic_count; t++) {
            topics[t].name = weir_str_from(g.names[t]);
            topics[t].partition_count = g.counts[t];
            topics[t].partitions = &parts[k];
            for (int32_t j = 0; j < g.counts[t]; j++, k++) {
                const cs_entry *e = &req->e[g.order[k]];
                parts[k].partition_index = c->parts[e->index]->partition;
                parts[k].current_leader_epoch = -1;
                parts[k].fetch_offset = e->offset;
                parts[k].log_start_offset = -1;
                parts[k].partition_max_bytes = c->cfg.partition_fetch_bytes_max;
            }
        }
        weir_request r;
        memset(&r, 0, sizeof r);
        r.header.api_key = WEIR_API_FETCH;
        r.header.api_version = CS_FETCH_VERSION;
        weir_fetch_request *f = &r.body.fetch;
        f->replica_id = -1;
        f->max_wait_ms = c->cfg.fetch_wait_ms_max;
        f->min_bytes = c->cfg.fetch_bytes_min;
        f->max_bytes = c->cfg.fetch_bytes_max;
        f->isolation_level = c->cfg.read_committed ? 1 : 0;
        f->session_id = 0;     /* no fetch session: */
        f->session_epoch = -1; /* a full, sessionless fetch every time */
        f->topic_count = g.topic_count;
        f->topics = topics;
        f->rack_id = weir_str_from("");
        err = weir_cluster_send(c->cl, req->node_id, &r,
                                c->cfg.request_timeout_ms + c->cfg.fetch_wait_ms_max, cs_on_fetch,
                                req);
    }
    free(topics);
    free(parts);
    cs_groups_free(&g);
    return err;
}

/* Which requests a partition is ready for right now. */
static bool cs_wants_reset(const cs_part *p, int64_t now)
{
    return p->reset_ts != 0 && !p->busy && now >= p->backoff_until_ns;
}

static bool cs_wants_fetch(const cs_part *p, int64_t now)
{
    return p->reset_ts == 0 && p->position >= 0 && !p->waiting_seek && !p->busy && !p->paused &&
           p->held == NULL && now >= p->backoff_until_ns;
}

/* Sends one request of the given kind to node_id over every partition that
 * wants it and is led there. */
static void cs_send_to_node(weir_consumer *c, int32_t node_id, bool list_offsets, int64_t now)
{
    if (!list_offsets && cs_node_fetching(c, node_id)) {
        return;
    }
    if (!weir_cluster_node_ready(c->cl, node_id)) {
        return; /* on_wake follows when it opens or has room again */
    }
    cs_request *req = calloc(1, sizeof *req + (size_t)c->part_count * sizeof(cs_entry));
    if (req == NULL) {
        return;
    }
    req->c = c;
    req->gen = c->gen;
    req->node_id = node_id;
    req->list_offsets = list_offsets;
    for (int32_t i = 0; i < c->part_count; i++) {
        cs_part *p = c->parts[i];
        bool wants = list_offsets ? cs_wants_reset(p, now) : cs_wants_fetch(p, now);
        if (wants && weir_cluster_leader(c->cl, p->topic, p->partition) == node_id) {
            req->e[req->count++] =
                (cs_entry){i, p->epoch, list_offsets ? p->reset_ts : p->position};
        }
    }
    if (req->count == 0) {
        free(req);
        return;
    }
    int err = list_offsets ? cs_send_list_offsets(c, req) : cs_send_fetch(c, req);
    if (err != 0) {
        for (int32_t i = 0; i < req->count; i++) {
            cs_backoff(c, c->parts[req->e[i].index]);
        }
        free(req);
        return;
    }
    for (int32_t i = 0; i < req->count; i++) {
        c->parts[req->e[i].index]->busy = true;
    }
    c->fetch_count += list_offsets ? 0 : 1;
    cs_request_link(c, req);
}

/* Resumed partitions deliver what they held before they fetch again. */
static void cs_deliver_held(weir_consumer *c, int64_t now)
{
    for (int32_t i = 0; i < c->part_count && !c->stopped; i++) {
        cs_part *p = c->parts[i];
        cs_held *h = p->held;
        if (h == NULL || p->paused || p->busy || now < p->backoff_until_ns) {
            continue;
        }
        p->held = NULL; /* detached: a seek or close from on_record cannot free it */
        bool paused_again =
            h->epoch == p->epoch &&
            cs_deliver_records(c, p, h->epoch, h->records, h->len, h->aborted, h->aborted_count);
        if (paused_again && p->held == NULL) {
            p->held = h;
        } else {
            cs_held_free(h);
        }
    }
}

static void cs_run(weir_consumer *c)
{
    if (c->running) {
        cs_arm(c, 0);
        return;
    }
    if (c->stopped) {
        return; /* install or assign resumes */
    }
    c->running = true;
    int64_t now = weir_now_ns(c->env);
    cs_deliver_held(c, now);
    if (c->stopped) {
        c->running = false; /* closed from on_record */
        return;
    }
    int64_t wake = INT64_MAX;
    bool need_metadata = false;
    int32_t nodes[16];
    int32_t node_count = 0;
    for (int32_t i = 0; i < c->part_count; i++) {
        cs_part *p = c->parts[i];
        if (p->report_no_offset) {
            p->report_no_offset = false;
            cs_error(c, p, WEIR_KERR_OFFSET_OUT_OF_RANGE, -1); /* auto_offset_reset none */
        }
        if (p->busy || p->waiting_seek || (p->paused && p->reset_ts == 0)) {
            continue; /* a paused partition still looks its position up */
        }
        if (now < p->backoff_until_ns) {
            wake = p->backoff_until_ns < wake ? p->backoff_until_ns : wake;
            continue;
        }
        int32_t leader = weir_cluster_leader(c->cl, p->topic, p->partition);
        if (leader < 0) {
            need_metadata = true;
            continue;
        }
        bool seen = false;
        for (int32_t k = 0; k < node_count && !seen; k++) {
            seen = nodes[k] == leader;
        }
        if (!seen && node_count < (int32_t)(sizeof nodes / sizeof nodes[0])) {
            nodes[node_count++] = leader;
        }
    }
    for (int32_t a = 1; a < node_count; a++) {
        for (int32_t b = a; b > 0 && nodes[b - 1] > nodes[b]; b--) {
            int32_t tmp = nodes[b];
            nodes[b] = nodes[b - 1];
            nodes[b - 1] = tmp;
        }
    }
    for (int32_t k = 0; k < node_count; k++) {
        cs_send_to_node(c, nodes[k], true, now);
        cs_send_to_node(c, nodes[k], false, now);
    }
    if (need_metadata) {
        weir_cluster_metadata_request(c->cl);
    }
    c->running = false;
    if (wake != INT64_MAX) {
        cs_arm(c, wake);
    }
}

/* ---- lifecycle ---- */

weir_consumer *weir_consumer_new(weir_env *env, const weir_consumer_config *cfg,
                                 const weir_consumer_callbacks *cbs, const char **why)
{
    const char *dummy;
    if (why == NULL) {
        why = &dummy;
    }
    *why = NULL;
    if (cbs == NULL || cbs->on_record == NULL) {
        *why = "no on_record callback";
        return NULL;
    }
    if (cfg->fetch_wait_ms_max < 0 || cfg->fetch_bytes_min < 0 || cfg->fetch_bytes_max <= 0 ||
        cfg->partition_fetch_bytes_max <= 0 || cfg->request_timeout_ms <= 0 ||
        cfg->retry_backoff_ms < 0 || cfg->auto_offset_reset > WEIR_OFFSET_RESET_NONE) {
        *why = "a setting is out of range";
        return NULL;
    }
    if (cfg->group_id != NULL && !weir_group_member_config_ok(cfg, why)) {
        return NULL;
    }
    weir_consumer *c = calloc(1, sizeof *c);
    if (c == NULL) {
        *why = "out of memory";
        return NULL;
    }
    c->env = env;
    c->cfg = *cfg;
    c->cbs = *cbs;
    weir_cluster_config cc;
    weir_cluster_config_default(&cc);
    cc.bootstrap = cfg->bootstrap;
    cc.client_id = cfg->client_id != NULL ? cfg->client_id : "weir-consumer";
    cc.request_timeout_ms = cfg->request_timeout_ms;
    cc.metadata_max_age_ms = cfg->metadata_max_age_ms;
    cc.retry_backoff_ms = cfg->retry_backoff_ms;
    cc.allow_auto_topic_creation = cfg->allow_auto_create_topics;
    cc.on_wake = cs_on_wake;
    cc.arg = c;
    c->cl = weir_cluster_new(env, &cc, why);
    if (c->cl == NULL) {
        free(c);
        return NULL;
    }
    c->cfg.bootstrap = NULL; /* copied by the cluster; not kept */
    c->cfg.client_id = NULL;
    c->cfg.group_id = NULL; /* copied by the group member */
    c->cfg.assignor = NULL;
    if (cfg->group_id != NULL && (c->gm = weir_group_member_new(c, c->cl, cfg, why)) == NULL) {
        weir_cluster_free(c->cl);
        free(c);
        return NULL;
    }
    return c;
}

static void cs_release(weir_consumer *c, bool env_live)
{
    if (c == NULL) {
        return;
    }
    WEIR_ASSERT(!c->in_callback);
    weir_group_member_release(c->gm, env_live); /* before the cluster it sends on */
    if (env_live) {
        if (c->timer != NULL) {
            weir_timer_cancel(c->env, c->timer);
        }
        weir_cluster_free(c->cl);
    } else {
        weir_cluster_abandon(c->cl);
    }
    while (c->requests != NULL) {
        cs_request *r = c->requests;
        c->requests = r->next;
        free(r);
    }
    cs_parts_free(c->parts, c->part_count);
    free(c->tps);
    free(c);
}

void weir_consumer_free(weir_consumer *c)
{
    cs_release(c, true);
}

void weir_consumer_abandon(weir_consumer *c)
{
    cs_release(c, false);
}

/* ---- groups: the public side ---- */

int weir_consumer_subscribe(weir_consumer *c, const char *const *topics, int32_t count)
{
    if (c->gm == NULL || c->in_callback || c->closing ||
        (c->part_count > 0 && !weir_group_member_subscribed(c->gm))) {
        return WEIR_E_INVAL;
    }
    return weir_group_member_subscribe(c->gm, topics, count);
}

int weir_consumer_commit(weir_consumer *c, weir_consumer_commit_cb cb, void *ctx)
{
    if (c->gm == NULL || !weir_group_member_subscribed(c->gm) || c->assignment_epoch == 0 ||
        c->closing) {
        return WEIR_E_INVAL;
    }
    return weir_group_member_commit(c->gm, cb, ctx);
}

void weir_consumer_assignment(const weir_consumer *c, const weir_topic_partition **tps_out,
                              int32_t *count_out)
{
    *tps_out = c->tps;
    *count_out = c->part_count;
}

int64_t weir_consumer_assignment_epoch(const weir_consumer *c)
{
    return c->assignment_epoch;
}

void weir_consumer_group_metadata(const weir_consumer *c, const char **group_id_out,
                                  int32_t *generation_out, const char **member_id_out)
{
    if (c->gm == NULL) {
        *group_id_out = NULL;
        *generation_out = -1;
        *member_id_out = NULL;
        return;
    }
    weir_group_member_metadata(c->gm, group_id_out, generation_out, member_id_out);
}

void weir_consumer_close(weir_consumer *c)
{
    if (c->closing) {
        return;
    }
    c->closing = true;
    weir_consumer_group_pause(c);
    if (c->gm != NULL) {
        weir_group_member_close(c->gm);
    }
}

bool weir_consumer_closed(const weir_consumer *c)
{
    return c->closing && (c->gm == NULL || weir_group_member_closed(c->gm));
}

/* ---- groups: what the member drives (group_member.h) ---- */

void weir_consumer_group_pause(weir_consumer *c)
{
    c->stopped = true;
    c->gen++; /* answers in flight change nothing */
    for (int32_t i = 0; i < c->part_count; i++) {
        c->parts[i]->busy = false;
        c->parts[i]->epoch++; /* stops a delivery loop under way */
        cs_part_unhold(c->parts[i]);
    }
}

int weir_consumer_group_install(weir_consumer *c, const weir_topic_partition *tps,
                                const int64_t *positions, int32_t count, bool bump_epoch)
{
    WEIR_ASSERT(count == 0 || positions != NULL);
    cs_part **parts = NULL;
    weir_topic_partition *view = NULL;
    int32_t n = 0;
    int err = cs_parts_build(c, tps, count, positions, &parts, &n, &view);
    if (err != 0) {
        weir_consumer_group_pause(c);
        return err;
    }
    cs_parts_replace(c, parts, n, view);
    c->stopped = c->closing;
    if (bump_epoch) {
        c->assignment_epoch++;
    }
    cs_arm(c, 0);
    return 0;
}

void weir_consumer_group_notify(weir_consumer *c, bool assigned, const weir_topic_partition *tps,
                                int32_t count)
{
    void (*cb)(void *, const weir_topic_partition *, int32_t) =
        assigned ? c->cbs.on_assign : c->cbs.on_revoke;
    if (cb == NULL) {
        return;
    }
    bool was = c->in_callback;
    c->in_callback = true;
    cb(c->cbs.ctx, tps, count);
    c->in_callback = was;
}

void weir_consumer_group_error(weir_consumer *c, const char *topic, int32_t partition,
                               int16_t error, int64_t offset)
{
    if (c->cbs.on_error == NULL) {
        return;
    }
    bool was = c->in_callback;
    c->in_callback = true;
    c->cbs.on_error(c->cbs.ctx, topic, partition, error, offset);
    c->in_callback = was;
}

void weir_consumer_group_commit_done(weir_consumer *c, weir_consumer_commit_cb cb, void *ctx,
                                     int16_t error)
{
    bool was = c->in_callback;
    c->in_callback = true;
    cb(ctx, error);
    c->in_callback = was;
}
