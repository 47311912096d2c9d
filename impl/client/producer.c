/* The producer (see producer.h): records -> per-partition batch queues ->
 * Produce requests per leader -> delivery reports. Idempotence and
 * transactions live in producer_txn.c; here they only stamp batches with the
 * producer id, epoch and sequence when sealed, gate what may be sent, and
 * hook failures (pr_report) and the end of each run (pr_idem_run). Without
 * idempotence (p->idem NULL) none of it runs.
 *
 * Invariants:
 * - a batch is in exactly one place: its partition's queue, one request in
 *   flight, or the report list; part->in_flight counts its batches in flight;
 * - records_accepted - records_reported is the number of records owed a report;
 * - reports run only from pr_reports_flush, at the end of an env event;
 * - idempotent: see producer_internal.h (one sealed batch per partition).
 */
#include "client/producer.h"

#include <stdlib.h>
#include <string.h>

#include "client/cluster.h"
#include "client/partitioner.h"
#include "client/producer_internal.h"
#include "core/assert.h"
#include "log/batch.h"
#include "proto/messages.h"

#define MS PR_MS
#define PR_PRODUCE_VERSION 7
/* Upper bound on a record's encoding beyond its key and value: attributes,
 * timestamp and offset deltas, the length varints, the header count. */
#define PR_RECORD_OVERHEAD_MAX 31

static void pr_run(weir_producer *p);

void weir_producer_config_default(weir_producer_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->acks = -1;
    cfg->linger_ms = 5;
    cfg->batch_size = 16384;
    cfg->request_size_max = 1048576;
    cfg->in_flight_max = 5;
    cfg->retries = INT32_MAX;
    cfg->retry_backoff_ms = 100;
    cfg->request_timeout_ms = 30000;
    cfg->delivery_timeout_ms = 120000;
    cfg->metadata_max_age_ms = 300000;
    cfg->transaction_timeout_ms = 60000;
    cfg->transaction_epoch_bump = true;
}

/* ---- timer ---- */

static void pr_timer_cb(weir_env *env, void *arg)
{
    (void)env;
    weir_producer *p = arg;
    p->timer = NULL;
    pr_run(p);
}

void pr_arm(weir_producer *p, int64_t at_ns)
{
    int64_t now = weir_now_ns(p->env);
    if (at_ns < now) {
        at_ns = now;
    }
    if (p->timer != NULL) {
        if (p->timer_at_ns <= at_ns) {
            return;
        }
        weir_timer_cancel(p->env, p->timer);
    }
    p->timer_at_ns = at_ns;
    p->timer = weir_timer_start(p->env, at_ns - now, pr_timer_cb, p);
}

static void pr_on_wake(void *arg)
{
    weir_producer *p = arg;
    pr_arm(p, 0); /* from the event loop, after the cluster's callback returns */
}

/* ---- batches and reports ---- */

static void pr_batch_free(pr_batch *b)
{
    weir_batch_builder_free(&b->bb);
    free(b->opaques);
    free(b);
}

static pr_batch *pr_batch_new(weir_producer *p, pr_topic *t, pr_partition *part, int32_t partition,
                              int64_t seq)
{
    pr_batch *b = calloc(1, sizeof *b);
    if (b == NULL) {
        return NULL;
    }
    weir_batch_builder_init(&b->bb);
    b->topic = t;
    b->part = part;
    b->partition = partition;
    b->first_seq = seq;
    b->created_ns = weir_now_ns(p->env);
    b->last_attempt_ns = b->created_ns;
    b->base_offset = -1;
    return b;
}

static bool pr_batch_add_opaque(pr_batch *b, void *opaque)
{
    if (b->count == b->cap) {
        int32_t cap = b->cap ? b->cap * 2 : 16;
        void **o = realloc(b->opaques, (size_t)cap * sizeof *o);
        if (o == NULL) {
            return false;
        }
        b->opaques = o;
        b->cap = cap;
    }
    b->opaques[b->count++] = opaque;
    return true;
}

void pr_report(weir_producer *p, pr_batch *b, int16_t error, int64_t base_offset)
{
    if (p->idem != NULL && error != WEIR_KERR_NONE) {
        pr_idem_on_failure(p, b, error);
    }
    b->error = error;
    b->base_offset = error == WEIR_KERR_NONE ? base_offset : -1;
    b->next = NULL;
    if (p->reports_tail != NULL) {
        p->reports_tail->next = b;
    } else {
        p->reports = b;
    }
    p->reports_tail = b;
}

/* Calls on_delivery for every finished record, in order. The callbacks may
 * queue new records. */
static void pr_reports_flush(weir_producer *p)
{
    while (p->reports != NULL) {
        pr_batch *b = p->reports;
        p->reports = b->next;
        if (p->reports == NULL) {
            p->reports_tail = NULL;
        }
        for (int32_t i = 0; i < b->count; i++) {
            int64_t offset =
                b->error == WEIR_KERR_NONE && b->base_offset >= 0 ? b->base_offset + i : -1;
            if (b->error == WEIR_KERR_NONE) {
                p->stats.records_acked++;
            } else {
                p->stats.records_failed++;
            }
            p->records_reported++;
            p->reporting = true;
            p->on_delivery(p->ctx, b->topic->name, b->partition, offset, b->error, b->opaques[i]);
            p->reporting = false;
        }
        pr_batch_free(b);
    }
    WEIR_ASSERT(p->records_reported <= p->records_accepted);
}

/* A single failed record (no partition or no batch yet). */
static void pr_report_record(weir_producer *p, pr_topic *t, int32_t partition, int64_t seq,
                             void *opaque, int16_t error)
{
    pr_batch *b = pr_batch_new(p, t, NULL, partition, seq);
    WEIR_ASSERT(b != NULL && pr_batch_add_opaque(b, opaque)); /* a report must never be lost */
    pr_report(p, b, error, -1);
    pr_arm(p, 0);
}

/* Puts a batch back in its queue, ahead of everything with later records. */
static void pr_requeue(pr_partition *part, pr_batch *b)
{
    pr_batch **at = &part->head;
    while (*at != NULL && (*at)->first_seq < b->first_seq) {
        at = &(*at)->next;
    }
    b->next = *at;
    *at = b;
    if (b->next == NULL) {
        part->tail = b;
    }
}

/* ---- topics ---- */

static pr_topic *pr_topic_find(weir_producer *p, const char *name)
{
    for (size_t i = 0; i < p->topic_count; i++) {
        if (strcmp(p->topics[i]->name, name) == 0) {
            return p->topics[i];
        }
    }
    return NULL;
}

static pr_topic *pr_topic_get(weir_producer *p, const char *name)
{
    pr_topic *t = pr_topic_find(p, name);
    if (t != NULL) {
        return t;
    }
    if (p->topic_count == p->topic_cap) {
        size_t cap = p->topic_cap ? p->topic_cap * 2 : 8;
        pr_topic **ts = realloc(p->topics, cap * sizeof *ts);
        if (ts == NULL) {
            return NULL;
        }
        p->topics = ts;
        p->topic_cap = cap;
    }
    t = calloc(1, sizeof *t);
    if (t == NULL || (t->name = strdup(name)) == NULL ||
        weir_cluster_topic_want(p->cl, name) != 0) {
        if (t != NULL) {
            free(t->name);
        }
        free(t);
        return NULL;
    }
    /* Java's pre-KIP-480 DefaultPartitioner starts each topic's counter at a random int. */
    t->rr_counter = (uint32_t)weir_random(p->env);
    p->topics[p->topic_count++] = t;
    return t;
}

/* Brings the topic's partition array up to the metadata's count. Returns 0,
 * WEIR_E_AGAIN (not known yet), WEIR_E_NOENT (*kerr_out final) or WEIR_E_NOMEM. */
static int pr_topic_sync(weir_producer *p, pr_topic *t, int16_t *kerr_out)
{
    int32_t count = 0;
    int err = weir_cluster_topic_partitions(p->cl, t->name, &count, kerr_out);
    if (err != 0) {
        return t->partition_count > 0 && err == WEIR_E_AGAIN ? 0 : err;
    }
    if (count <= t->partition_count) {
        return 0; /* Kafka partitions never shrink; keep what we have */
    }
    pr_partition **parts = realloc(t->parts, (size_t)count * sizeof *parts);
    if (parts == NULL) {
        return WEIR_E_NOMEM;
    }
    t->parts = parts;
    for (int32_t i = t->partition_count; i < count; i++) {
        parts[i] = calloc(1, sizeof *parts[i]);
        if (parts[i] == NULL) {
            return WEIR_E_NOMEM; /* partition_count still covers only the ones made */
        }
        parts[i]->topic = t;
        parts[i]->index = i;
        t->partition_count = i + 1;
    }
    return 0;
}

static int32_t pr_choose_partition(weir_producer *p, pr_topic *t, int32_t partition,
                                   const void *key, int32_t key_len)
{
    if (partition >= 0) {
        return partition < t->partition_count ? partition : -1;
    }
    if (key != NULL) {
        return weir_partition_for_key(key, (size_t)key_len, t->partition_count);
    }
    if (p->avail_cap < t->partition_count) {
        int32_t *a = realloc(p->avail, (size_t)t->partition_count * sizeof *a);
        if (a != NULL) {
            p->avail = a;
            p->avail_cap = t->partition_count;
        }
    }
    int32_t n = 0;
    for (int32_t i = 0; i < t->partition_count && i < p->avail_cap; i++) {
        if (weir_cluster_leader(p->cl, t->name, i) >= 0) {
            p->avail[n++] = i;
        }
    }
    return weir_partition_round_robin(&t->rr_counter, p->avail, n, t->partition_count);
}

/* Appends one record to the partition's open batch (opening one as needed).
 * Returns 0 or WEIR_E_NOMEM. */
static int pr_append(weir_producer *p, pr_partition *part, int64_t seq, int64_t timestamp,
                     const void *key, int32_t key_len, const void *value, int32_t value_len,
                     void *opaque)
{
    size_t est =
        PR_RECORD_OVERHEAD_MAX + (key ? (size_t)key_len : 0) + (value ? (size_t)value_len : 0);
    pr_batch *b = part->tail;
    size_t used = b != NULL && b->bb.len > 0 ? b->bb.len : WEIR_BATCH_HEADER_BYTES;
    if (b == NULL || b->sealed || (b->count > 0 && used + est > (size_t)p->cfg.batch_size)) {
        if (b != NULL) {
            b->full = true;
        }
        b = pr_batch_new(p, part->topic, part, part->index, seq);
        if (b == NULL) {
            return WEIR_E_NOMEM;
        }
        if (part->tail != NULL) {
            part->tail->next = b;
        } else {
            part->head = b;
        }
        part->tail = b;
        pr_arm(p, b->created_ns + (int64_t)p->cfg.linger_ms * MS);
    }
    if (!pr_batch_add_opaque(b, opaque)) {
        return WEIR_E_NOMEM;
    }
    weir_batch_builder_add(&b->bb, timestamp, key, key_len, value, value_len, NULL, 0);
    if (b->bb.failed) {
        b->count--;
        return WEIR_E_NOMEM;
    }
    if (b->bb.len + PR_RECORD_OVERHEAD_MAX >= (size_t)p->cfg.batch_size) {
        b->full = true;
        pr_arm(p, 0);
    }
    return 0;
}

/* Places a record whose topic has metadata: partitioner, then batch. */
static int pr_place(weir_producer *p, pr_topic *t, int32_t partition, int64_t seq,
                    int64_t timestamp, const void *key, int32_t key_len, const void *value,
                    int32_t value_len, void *opaque)
{
    int32_t chosen = pr_choose_partition(p, t, partition, key, key_len);
    if (chosen < 0) {
        PR_LOG(p, WEIR_LOG_WARN, "%s has %d partition(s); partition %d does not exist", t->name,
               t->partition_count, partition);
        pr_report_record(p, t, partition, seq, opaque, WEIR_KERR_UNKNOWN_TOPIC_OR_PARTITION);
        return 0;
    }
    if (p->idem != NULL) {
        pr_idem_partition_touch(p, t->parts[chosen]);
    }
    return pr_append(p, t->parts[chosen], seq, timestamp, key, key_len, value, value_len, opaque);
}

static int pr_pend(weir_producer *p, pr_topic *t, int32_t partition, int64_t seq, int64_t timestamp,
                   const void *key, int32_t key_len, const void *value, int32_t value_len,
                   void *opaque)
{
    size_t kl = key != NULL ? (size_t)key_len : 0;
    size_t vl = value != NULL ? (size_t)value_len : 0;
    pr_pending *r = malloc(sizeof *r + kl + vl);
    if (r == NULL) {
        return WEIR_E_NOMEM;
    }
    r->next = NULL;
    r->partition = partition;
    r->key_len = key != NULL ? key_len : -1;
    r->value_len = value != NULL ? value_len : -1;
    r->timestamp = timestamp;
    r->seq = seq;
    r->created_ns = weir_now_ns(p->env);
    r->opaque = opaque;
    if (kl > 0) {
        memcpy(r->data, key, kl);
    }
    if (vl > 0) {
        memcpy(r->data + kl, value, vl);
    }
    if (t->pending_tail != NULL) {
        t->pending_tail->next = r;
    } else {
        t->pending_head = r;
    }
    t->pending_tail = r;
    pr_arm(p, r->created_ns + (int64_t)p->cfg.delivery_timeout_ms * MS);
    return 0;
}

int weir_producer_send(weir_producer *p, const char *topic, int32_t partition, const void *key,
                       int32_t key_len, const void *value, int32_t value_len, int64_t timestamp,
                       void *opaque)
{
    if (topic == NULL || topic[0] == '\0' || partition < -1 || (key != NULL && key_len < 0) ||
        (value != NULL && value_len < 0)) {
        return WEIR_E_INVAL;
    }
    int16_t refused = WEIR_KERR_NONE;
    if (p->idem != NULL) {
        int verdict = pr_idem_send_check(p, &refused);
        if (verdict < 0) {
            return verdict;
        }
    }
    pr_topic *t = pr_topic_get(p, topic);
    if (t == NULL) {
        return WEIR_E_NOMEM;
    }
    if (timestamp < 0) {
        timestamp = weir_wall_ms(p->env);
    }
    int64_t seq = p->records_accepted;
    int16_t kerr;
    int err;
    if (refused != WEIR_KERR_NONE) {
        pr_report_record(p, t, partition, seq, opaque, refused);
        err = 0;
    } else if (t->pending_head == NULL && pr_topic_sync(p, t, &kerr) == 0 &&
               t->partition_count > 0) {
        err = pr_place(p, t, partition, seq, timestamp, key, key_len, value, value_len, opaque);
    } else {
        err = pr_pend(p, t, partition, seq, timestamp, key, key_len, value, value_len, opaque);
        pr_arm(p, 0); /* the run loop fails it at once if the topic is known to be invalid */
    }
    if (err == 0) {
        p->records_accepted++;
    }
    return err;
}

void weir_producer_flush(weir_producer *p)
{
    p->flush_until_seq = p->records_accepted;
    pr_arm(p, 0);
}

int64_t weir_producer_in_flight(const weir_producer *p)
{
    return p->records_accepted - p->records_reported;
}

void weir_producer_stats_get(const weir_producer *p, weir_producer_stats *out)
{
    *out = p->stats;
}

void weir_producer_id(const weir_producer *p, int64_t *producer_id_out, int16_t *epoch_out)
{
    *producer_id_out = p->producer_id;
    *epoch_out = p->producer_epoch;
}

void pr_fail_queued(weir_producer *p, int16_t error)
{
    for (size_t i = 0; i < p->topic_count; i++) {
        pr_topic *t = p->topics[i];
        while (t->pending_head != NULL) {
            pr_pending *r = t->pending_head;
            t->pending_head = r->next;
            pr_report_record(p, t, r->partition, r->seq, r->opaque, error);
            free(r);
        }
        t->pending_tail = NULL;
        for (int32_t j = 0; j < t->partition_count; j++) {
            pr_partition *part = t->parts[j];
            while (part->head != NULL) {
                pr_batch *b = part->head;
                part->head = b->next;
                if (part->head == NULL) {
                    part->tail = NULL;
                }
                pr_report(p, b, error, -1);
            }
        }
    }
}

/* ---- the run loop ---- */

/* Moves pending records of topics that now have metadata into batches; fails
 * them on a final topic error or past the delivery timeout. */
static void pr_pending_drain(weir_producer *p, pr_topic *t, int64_t now, int64_t *wake)
{
    int16_t kerr = WEIR_KERR_NONE;
    int err = pr_topic_sync(p, t, &kerr);
    while (t->pending_head != NULL) {
        pr_pending *r = t->pending_head;
        const uint8_t *key = r->key_len >= 0 ? r->data : NULL;
        const uint8_t *value =
            r->value_len >= 0 ? r->data + (r->key_len > 0 ? r->key_len : 0) : NULL;
        if (err == 0 && t->partition_count > 0) {
            if (pr_place(p, t, r->partition, r->seq, r->timestamp, key, r->key_len, value,
                         r->value_len, r->opaque) != 0) {
                pr_report_record(p, t, r->partition, r->seq, r->opaque,
                                 WEIR_KERR_UNKNOWN_SERVER_ERROR);
            }
        } else if (err == WEIR_E_NOENT) {
            pr_report_record(p, t, r->partition, r->seq, r->opaque, kerr);
        } else if (now >= r->created_ns + (int64_t)p->cfg.delivery_timeout_ms * MS) {
            PR_LOG(p, WEIR_LOG_WARN, "no metadata for %s within delivery_timeout_ms", t->name);
            pr_report_record(p, t, r->partition, r->seq, r->opaque, WEIR_KERR_REQUEST_TIMED_OUT);
        } else {
            int64_t at = r->created_ns + (int64_t)p->cfg.delivery_timeout_ms * MS;
            *wake = at < *wake ? at : *wake;
            break; /* keep send order: the rest waits behind it */
        }
        t->pending_head = r->next;
        if (t->pending_head == NULL) {
            t->pending_tail = NULL;
        }
        free(r);
    }
}

/* Fails queued batches past their delivery timeout (batches in flight wait
 * for their answer, as in Kafka). */
static void pr_expire(weir_producer *p, pr_partition *part, int64_t now, int64_t *wake)
{
    int64_t timeout_ns = (int64_t)p->cfg.delivery_timeout_ms * MS;
    pr_batch **at = &part->head;
    pr_batch *prev = NULL;
    while (*at != NULL) {
        pr_batch *b = *at;
        if (now >= b->created_ns + timeout_ns) {
            *at = b->next;
            if (part->tail == b) {
                part->tail = prev;
            }
            PR_LOG(p, WEIR_LOG_WARN, "%s-%d: %d record(s) expired after %d attempt(s)",
                   part->topic->name, part->index, b->count, b->attempts);
            pr_report(p, b, WEIR_KERR_REQUEST_TIMED_OUT, -1);
            continue;
        }
        if (b->created_ns + timeout_ns < *wake) {
            *wake = b->created_ns + timeout_ns;
        }
        prev = b;
        at = &b->next;
    }
}

/* May the batch go now? If not, *wake learns when it may. */
static bool pr_sendable(weir_producer *p, const pr_batch *b, int64_t now, int64_t *wake)
{
    if (b->attempts > 0) {
        int64_t at = b->last_attempt_ns + (int64_t)p->cfg.retry_backoff_ms * MS;
        if (now < at) {
            *wake = at < *wake ? at : *wake;
            return false;
        }
        return true;
    }
    if (b->sealed || b->full || b->next != NULL || b->first_seq < p->flush_until_seq) {
        return true;
    }
    int64_t at = b->created_ns + (int64_t)p->cfg.linger_ms * MS;
    if (now >= at) {
        return true;
    }
    *wake = at < *wake ? at : *wake;
    return false;
}

/* weir_kerr_name, plus the code weir_kerr lacks. */
static const char *pr_error_name(int16_t error)
{
    return error == WEIR_PRODUCER_ERR_NETWORK ? "NETWORK_EXCEPTION" : weir_kerr_name(error);
}

/* Decides what becomes of a batch whose attempt failed with a retriable error. */
static void pr_retry_or_fail(weir_producer *p, pr_batch *b, int16_t error, int64_t now)
{
    pr_partition *part = b->part;
    int16_t no_retry = p->idem != NULL ? pr_idem_no_retry(p) : WEIR_KERR_NONE;
    if (no_retry != WEIR_KERR_NONE) {
        pr_report(p, b, no_retry, -1);
        return;
    }
    if (now >= b->created_ns + (int64_t)p->cfg.delivery_timeout_ms * MS) {
        PR_LOG(p, WEIR_LOG_WARN, "%s-%d: %s; delivery timeout passed after %d attempt(s)",
               part->topic->name, part->index, pr_error_name(error), b->attempts);
        pr_report(p, b, WEIR_KERR_REQUEST_TIMED_OUT, -1);
        return;
    }
    if (b->attempts - 1 >= p->cfg.retries) {
        PR_LOG(p, WEIR_LOG_WARN, "%s-%d: %s; no retries left after %d attempt(s)",
               part->topic->name, part->index, pr_error_name(error), b->attempts);
        pr_report(p, b, error, -1);
        return;
    }
    PR_LOG(p, WEIR_LOG_INFO, "%s-%d: %s; retrying %d record(s) in %d ms (attempt %d)",
           part->topic->name, part->index, pr_error_name(error), b->count, p->cfg.retry_backoff_ms,
           b->attempts + 1);
    b->last_attempt_ns = now;
    p->stats.batches_retried++;
    pr_requeue(part, b);
}

static bool pr_retriable(int16_t error)
{
    switch (error) {
    case WEIR_KERR_NOT_LEADER_OR_FOLLOWER:
    case WEIR_KERR_LEADER_NOT_AVAILABLE:
    case WEIR_KERR_UNKNOWN_TOPIC_OR_PARTITION:
    case WEIR_KERR_REQUEST_TIMED_OUT:
    case WEIR_KERR_NOT_ENOUGH_REPLICAS:
    case WEIR_KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case WEIR_KERR_KAFKA_STORAGE_ERROR:
    case WEIR_PRODUCER_ERR_NETWORK:
        return true;
    default:
        return false;
    }
}

/* Errors after which the batch may be in the leader's log all the same. */
static bool pr_maybe_appended(int16_t error)
{
    return error == WEIR_PRODUCER_ERR_NETWORK || error == WEIR_KERR_REQUEST_TIMED_OUT ||
           error == WEIR_KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND ||
           error == WEIR_KERR_KAFKA_STORAGE_ERROR;
}

/* Errors after which the leader may have moved: refresh metadata. */
static bool pr_stale_metadata(int16_t error)
{
    return error == WEIR_KERR_NOT_LEADER_OR_FOLLOWER || error == WEIR_KERR_LEADER_NOT_AVAILABLE ||
           error == WEIR_KERR_UNKNOWN_TOPIC_OR_PARTITION ||
           error == WEIR_KERR_KAFKA_STORAGE_ERROR || error == WEIR_PRODUCER_ERR_NETWORK;
}

static void pr_request_unlink(weir_producer *p, pr_request *req)
{
    if (req->prev != NULL) {
        req->prev->next = req->next;
    } else {
        p->requests = req->next;
    }
    if (req->next != NULL) {
        req->next->prev = req->prev;
    }
}

static const weir_produce_partition_response *pr_find_result(const weir_produce_response *r,
                                                             const pr_batch *b)
{
    for (int32_t i = 0; i < r->topic_count; i++) {
        if (!weir_str_eq_cstr(r->topics[i].name, b->topic->name)) {
            continue;
        }
        for (int32_t j = 0; j < r->topics[i].partition_count; j++) {
            if (r->topics[i].partitions[j].partition_index == b->partition) {
                return &r->topics[i].partitions[j];
            }
        }
    }
    return NULL;
}

static void pr_on_response(weir_cluster *cl, int err, const weir_response *resp, void *arg)
{
    (void)cl;
    pr_request *req = arg;
    weir_producer *p = req->p;
    int64_t now = weir_now_ns(p->env);
    pr_request_unlink(p, req);
    p->stats.requests_in_flight--;
    bool refresh = false;
    int16_t fenced = WEIR_KERR_NONE;
    for (int32_t i = 0; i < req->batch_count; i++) {
        pr_batch *b = req->batches[i];
        b->part->in_flight--;
        WEIR_ASSERT(b->part->in_flight >= 0);
        int16_t error;
        int64_t base = -1;
        if (err != 0) {
            error = err == WEIR_E_TIMEOUT ? WEIR_KERR_REQUEST_TIMED_OUT : WEIR_PRODUCER_ERR_NETWORK;
        } else {
            const weir_produce_partition_response *r = pr_find_result(&resp->body.produce, b);
            error = r != NULL ? r->error_code : WEIR_KERR_UNKNOWN_SERVER_ERROR;
            base = r != NULL ? r->base_offset : -1;
        }
        refresh = refresh || pr_stale_metadata(error) || error == WEIR_KERR_REQUEST_TIMED_OUT;
        if (error != WEIR_KERR_NONE && p->cfg.on_attempt_error != NULL) {
            p->cfg.on_attempt_error(p->ctx, b->topic->name, b->partition, error);
        }
        if (error == WEIR_KERR_NONE) {
            pr_report(p, b, WEIR_KERR_NONE, base);
        } else if (p->idem != NULL && error == WEIR_KERR_DUPLICATE_SEQUENCE_NUMBER) {
            pr_report(p, b, WEIR_KERR_NONE, base); /* appended by an earlier attempt */
        } else if (pr_retriable(error)) {
            b->maybe_appended = b->maybe_appended || pr_maybe_appended(error);
            pr_retry_or_fail(p, b, error, now);
        } else if (p->idem != NULL && (error == WEIR_KERR_INVALID_PRODUCER_EPOCH ||
                                       error == WEIR_KERR_PRODUCER_FENCED)) {
            PR_LOG(p, WEIR_LOG_ERROR, "%s-%d: %s: this producer is fenced", b->topic->name,
                   b->partition, pr_error_name(error));
            pr_report(p, b, error, -1);
            fenced = error;
        } else {
            PR_LOG(p, WEIR_LOG_WARN, "%s-%d: %d record(s) failed: %s", b->topic->name, b->partition,
                   b->count, pr_error_name(error));
            pr_report(p, b, error, -1);
        }
    }
    free(req);
    if (fenced != WEIR_KERR_NONE) {
        pr_idem_fatal(p, fenced);
    }
    if (refresh) {
        weir_cluster_metadata_request(p->cl);
    }
    pr_run(p);
}

/* Kafka's DefaultRecordBatch.incrementSequence: sequences wrap from
 * INT32_MAX to 0. */
static int32_t pr_seq_add(int32_t seq, int32_t n)
{
    WEIR_ASSERT(seq >= 0 && n >= 0);
    return seq > INT32_MAX - n ? n - (INT32_MAX - seq) - 1 : seq + n;
}

/* Gives an idempotent batch about to be sealed its producer id, epoch and
 * base sequence (the partition's next; 0 under a new id or epoch) and the
 * transactional bit. part->next_seq moves once the batch is sealed. */
static void pr_stamp(weir_producer *p, pr_partition *part, pr_batch *b)
{
    WEIR_ASSERT(p->producer_id >= 0 && !b->sealed);
    if (part->seq_producer_id != p->producer_id || part->seq_epoch != p->producer_epoch) {
        part->seq_producer_id = p->producer_id;
        part->seq_epoch = p->producer_epoch;
        part->next_seq = 0;
    }
    b->producer_id = p->producer_id;
    b->producer_epoch = p->producer_epoch;
    b->base_sequence = part->next_seq;
    weir_batch_builder_set_producer(&b->bb, b->producer_id, b->producer_epoch, b->base_sequence);
    if (pr_idem_transactional_id(p) != NULL) {
        weir_batch_builder_set_attributes(&b->bb, WEIR_BATCH_TRANSACTIONAL);
    }
}

/* Takes from each partition led by node_id its first batch, if it may go,
 * up to request_size_max bytes; returns how many (0: nothing to send). */
static int32_t pr_collect(weir_producer *p, int32_t node_id, int64_t now, pr_batch **out,
                          int32_t out_max)
{
    size_t total_parts = 0;
    for (size_t i = 0; i < p->topic_count; i++) {
        total_parts += (size_t)p->topics[i]->partition_count;
    }
    if (total_parts == 0) {
        return 0;
    }
    int32_t n = 0;
    size_t bytes = 0;
    size_t start = p->drain_cursor++ % total_parts;
    for (size_t k = 0; k < total_parts && n < out_max; k++) {
        size_t flat = (start + k) % total_parts;
        pr_topic *t = NULL;
        for (size_t i = 0; i < p->topic_count; i++) {
            if (flat < (size_t)p->topics[i]->partition_count) {
                t = p->topics[i];
                break;
            }
            flat -= (size_t)p->topics[i]->partition_count;
        }
        pr_partition *part = t->parts[flat];
        pr_batch *b = part->head;
        int64_t ignore = INT64_MAX;
        if (b == NULL || ((p->cfg.in_flight_max == 1 || p->idem != NULL) && part->in_flight > 0) ||
            weir_cluster_leader(p->cl, t->name, part->index) != node_id ||
            !pr_sendable(p, b, now, &ignore) ||
            (p->idem != NULL && !pr_idem_may_send(p, part, b))) {
            continue;
        }
        if (!b->sealed) {
            if (p->idem != NULL) {
                pr_stamp(p, part, b);
            }
            if (weir_batch_builder_finish(&b->bb, &b->bytes, &b->len) != 0) {
                continue; /* cannot be empty; out of memory: try again later */
            }
            b->sealed = true;
            if (p->idem != NULL) {
                part->next_seq = pr_seq_add(b->base_sequence, b->count);
            }
        }
        if (n > 0 && bytes + b->len > (size_t)p->cfg.request_size_max) {
            break;
        }
        bytes += b->len;
        part->head = b->next;
        if (part->head == NULL) {
            part->tail = NULL;
        }
        b->next = NULL;
        out[n++] = b;
    }
    return n;
}

/* Builds and sends one Produce request of the given batches. */
static int pr_send_batches(weir_producer *p, int32_t node_id, pr_request *req)
{
    int32_t n = req->batch_count;
    weir_produce_topic *topics = calloc((size_t)n, sizeof *topics);
    weir_produce_partition *parts = calloc((size_t)n, sizeof *parts);
    if (topics == NULL || parts == NULL) {
        free(topics);
        free(parts);
        return WEIR_E_NOMEM;
    }
    /* Group by topic, keeping the order of first appearance. */
    int32_t nt = 0;
    int32_t np = 0;
    for (int32_t i = 0; i < n; i++) {
        pr_topic *t = req->batches[i]->topic;
        bool seen = false;
        for (int32_t j = 0; j < i && !seen; j++) {
            seen = req->batches[j]->topic == t;
        }
        if (seen) {
            continue;
        }
        topics[nt].name = weir_str_from(t->name);
        topics[nt].partitions = &parts[np];
        for (int32_t j = i; j < n; j++) {
            pr_batch *b = req->batches[j];
            if (b->topic == t) {
                parts[np].partition_index = b->partition;
                parts[np].records = (weir_bytes){b->bytes, (int32_t)b->len};
                np++;
                topics[nt].partition_count++;
            }
        }
        nt++;
    }
    weir_request r;
    memset(&r, 0, sizeof r);
    r.header.api_key = WEIR_API_PRODUCE;
    r.header.api_version = PR_PRODUCE_VERSION;
    r.body.produce.transactional_id = WEIR_STR_NULL;
    if (p->idem != NULL && pr_idem_transactional_id(p) != NULL) {
        r.body.produce.transactional_id = weir_str_from(pr_idem_transactional_id(p));
    }
    r.body.produce.acks = p->cfg.acks;
    r.body.produce.timeout_ms = p->cfg.request_timeout_ms;
    r.body.produce.topic_count = nt;
    r.body.produce.topics = topics;
    int err =
        weir_cluster_send(p->cl, node_id, &r, 0, p->cfg.acks == 0 ? NULL : pr_on_response, req);
    free(topics);
    free(parts);
    return err;
}

/* Sends what node_id's partitions have ready, while its connection takes more. */
static void pr_drain_node(weir_producer *p, int32_t node_id, int64_t now)
{
    int32_t out_max = 0;
    for (size_t i = 0; i < p->topic_count; i++) {
        out_max += p->topics[i]->partition_count;
    }
    while (out_max > 0 && weir_cluster_node_ready(p->cl, node_id)) {
        pr_request *req = calloc(1, sizeof *req + (size_t)out_max * sizeof(pr_batch *));
        if (req == NULL) {
            return;
        }
        req->p = p;
        req->node_id = node_id;
        req->batch_count = pr_collect(p, node_id, now, req->batches, out_max);
        if (req->batch_count == 0) {
            free(req);
            return;
        }
        for (int32_t i = 0; i < req->batch_count; i++) {
            req->batches[i]->attempts++;
            req->batches[i]->last_attempt_ns = now;
            req->batches[i]->part->in_flight++;
        }
        int err = pr_send_batches(p, node_id, req);
        p->stats.requests_sent += err == 0;
        p->stats.batches_sent += err == 0 ? req->batch_count : 0;
        if (err != 0 || p->cfg.acks == 0) {
            for (int32_t i = 0; i < req->batch_count; i++) {
                pr_batch *b = req->batches[i];
                b->part->in_flight--;
                if (err == 0) {
                    pr_report(p, b, WEIR_KERR_NONE, -1); /* acks=0: done once sent */
                } else {
                    pr_retry_or_fail(p, b, WEIR_PRODUCER_ERR_NETWORK, now);
                }
            }
            free(req);
            if (err != 0) {
                weir_cluster_metadata_request(p->cl);
                return;
            }
            continue;
        }
        PR_LOG(p, WEIR_LOG_DEBUG, "Produce to node %d: %d batch(es), first %s-%d", node_id,
               req->batch_count, req->batches[0]->topic->name, req->batches[0]->partition);
        p->stats.requests_in_flight++;
        req->next = p->requests;
        if (p->requests != NULL) {
            p->requests->prev = req;
        }
        p->requests = req;
    }
}

static void pr_run(weir_producer *p)
{
    if (p->running) {
        pr_arm(p, 0);
        return;
    }
    p->running = true;
    int64_t now = weir_now_ns(p->env);
    int64_t wake = INT64_MAX;
    bool need_metadata = false;
    int32_t nodes[16];
    int32_t node_count = 0;
    bool nodes_overflow = false;
    for (size_t i = 0; i < p->topic_count; i++) {
        pr_topic *t = p->topics[i];
        if (t->pending_head != NULL) {
            pr_pending_drain(p, t, now, &wake);
            need_metadata = need_metadata || t->pending_head != NULL;
        }
        for (int32_t j = 0; j < t->partition_count; j++) {
            pr_partition *part = t->parts[j];
            pr_expire(p, part, now, &wake);
            if (part->head == NULL) {
                continue;
            }
            int32_t leader = weir_cluster_leader(p->cl, t->name, j);
            if (leader < 0) {
                need_metadata = true;
                continue;
            }
            if (!pr_sendable(p, part->head, now, &wake)) {
                continue;
            }
            bool seen = false;
            for (int32_t k = 0; k < node_count && !seen; k++) {
                seen = nodes[k] == leader;
            }
            if (!seen && node_count < (int32_t)(sizeof nodes / sizeof nodes[0])) {
                nodes[node_count++] = leader;
            } else if (!seen) {
                nodes_overflow = true;
            }
        }
    }
    /* Ascending node ids: the order does not depend on the topics' layout. */
    for (int32_t a = 1; a < node_count; a++) {
        for (int32_t b = a; b > 0 && nodes[b - 1] > nodes[b]; b--) {
            int32_t tmp = nodes[b];
            nodes[b] = nodes[b - 1];
            nodes[b - 1] = tmp;
        }
    }
    for (int32_t k = 0; k < node_count; k++) {
        pr_drain_node(p, nodes[k], now);
    }
    if (nodes_overflow) {
        wake = now; /* more leaders than one pass takes: go again */
    }
    if (need_metadata) {
        weir_cluster_metadata_request(p->cl);
    }
    p->running = false;
    if (wake != INT64_MAX) {
        pr_arm(p, wake);
    }
    pr_reports_flush(p);
    if (p->idem != NULL) {
        pr_idem_run(p);
    }
}

/* ---- lifecycle ---- */

weir_producer *weir_producer_new(weir_env *env, const weir_producer_config *cfg,
                                 weir_producer_delivery_cb on_delivery, void *ctx, const char **why)
{
    const char *dummy;
    if (why == NULL) {
        why = &dummy;
    }
    *why = NULL;
    if (on_delivery == NULL || (cfg->acks != 0 && cfg->acks != 1 && cfg->acks != -1) ||
        cfg->linger_ms < 0 || cfg->batch_size <= 0 || cfg->request_size_max <= 0 ||
        cfg->in_flight_max <= 0 || cfg->retries < 0 || cfg->retry_backoff_ms < 0 ||
        cfg->request_timeout_ms <= 0 || cfg->delivery_timeout_ms <= 0) {
        *why = on_delivery == NULL ? "no delivery callback" : "a setting is out of range";
        return NULL;
    }
    bool idempotent = cfg->enable_idempotence || cfg->transactional_id != NULL;
    if (idempotent && cfg->acks != -1) {
        *why = "idempotence needs acks=all (-1)";
        return NULL;
    }
    if (cfg->transactional_id != NULL &&
        (cfg->transactional_id[0] == '\0' || cfg->transaction_timeout_ms <= 0)) {
        *why = "empty transactional id or transaction timeout out of range";
        return NULL;
    }
    weir_producer *p = calloc(1, sizeof *p);
    if (p == NULL) {
        *why = "out of memory";
        return NULL;
    }
    p->env = env;
    p->cfg = *cfg;
    p->on_delivery = on_delivery;
    p->ctx = ctx;
    p->producer_id = -1;
    p->producer_epoch = -1;
    weir_cluster_config cc;
    weir_cluster_config_default(&cc);
    cc.bootstrap = cfg->bootstrap;
    cc.client_id = cfg->client_id != NULL ? cfg->client_id : "weir-producer";
    cc.request_timeout_ms = cfg->request_timeout_ms;
    cc.metadata_max_age_ms = cfg->metadata_max_age_ms;
    cc.retry_backoff_ms = cfg->retry_backoff_ms;
    cc.in_flight_max = cfg->in_flight_max;
    cc.on_wake = pr_on_wake;
    cc.arg = p;
    p->cl = weir_cluster_new(env, &cc, why);
    if (p->cl == NULL) {
        free(p);
        return NULL;
    }
    if (idempotent && pr_idem_new(p, why) != 0) {
        weir_cluster_abandon(p->cl); /* nothing started yet */
        free(p);
        return NULL;
    }
    p->cfg.bootstrap = NULL; /* copied by the cluster; not kept */
    p->cfg.client_id = NULL;
    p->cfg.transactional_id = NULL; /* copied by pr_idem_new */
    return p;
}

static void pr_release(weir_producer *p, bool env_live)
{
    if (p == NULL) {
        return;
    }
    WEIR_ASSERT(!p->reporting);
    if (env_live) {
        if (p->timer != NULL) {
            weir_timer_cancel(p->env, p->timer);
        }
        weir_cluster_free(p->cl);
    } else {
        weir_cluster_abandon(p->cl);
    }
    while (p->requests != NULL) {
        pr_request *req = p->requests;
        p->requests = req->next;
        for (int32_t i = 0; i < req->batch_count; i++) {
            pr_batch_free(req->batches[i]);
        }
        free(req);
    }
    while (p->reports != NULL) {
        pr_batch *b = p->reports;
        p->reports = b->next;
        pr_batch_free(b);
    }
    for (size_t i = 0; i < p->topic_count; i++) {
        pr_topic *t = p->topics[i];
        for (int32_t j = 0; j < t->partition_count; j++) {
            while (t->parts[j]->head != NULL) {
                pr_batch *b = t->parts[j]->head;
                t->parts[j]->head = b->next;
                pr_batch_free(b);
            }
            free(t->parts[j]);
        }
        while (t->pending_head != NULL) {
            pr_pending *r = t->pending_head;
            t->pending_head = r->next;
            free(r);
        }
        free(t->parts);
        free(t->name);
        free(t);
    }
    free(p->topics);
    free(p->avail);
    pr_idem_free(p);
    free(p);
}

void weir_producer_free(weir_producer *p)
{
    pr_release(p, true);
}

void weir_producer_abandon(weir_producer *p)
{
    pr_release(p, false);
}
