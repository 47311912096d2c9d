/* Fetch: whole batches from each partition up to the high watermark, within
 * the partition and response byte limits (the first partition with data
 * returns at least one batch, KIP-74). With fewer than min_bytes available the
 * request waits, by timer, until data arrives or max_wait_ms passes; the
 * requests behind it on the connection wait too.
 *
 * read_committed (isolation level 1) reads up to the last stable offset
 * instead (the first offset of the earliest transaction still open or whose
 * marker is not replicated yet) and gets the aborted transactions of the range
 * it reads, from the .txnindex, so the consumer can drop their records. Every
 * partition answer carries the LSO (v4+). A waiting read_committed fetch is
 * ready when the LSO passes its offset: the LSO moves only when a HW moves
 * (markers are replicated like records), which wakes the waiting fetches. */
#include "broker/broker_internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "log/batch.h"

#define MS 1000000LL

typedef struct fetch_reads {
    weir_log_read_result *r;
    size_t n;
    size_t cap;
} fetch_reads;

static void reads_free(fetch_reads *fr)
{
    for (size_t i = 0; i < fr->n; i++) {
        weir_log_read_result_free(&fr->r[i]);
    }
    free(fr->r);
    memset(fr, 0, sizeof *fr);
}

int64_t bk_fetch_limit(const weir_broker *b, const weir_partition *p, int32_t replica_id)
{
    (void)b;
    /* Followers copy everything the leader has; consumers see committed data only. */
    return replica_id >= 0 ? weir_plog_end_offset(p->log) : p->high_watermark;
}

/* The highest offset (exclusive) this request may read: read_committed
 * consumers stop at the LSO. */
static int64_t fetch_visible(const weir_broker *b, const weir_partition *p,
                             const weir_fetch_request *req)
{
    if (req->replica_id < 0 && req->isolation_level == 1) {
        return weir_plog_lso(p->log, p->high_watermark);
    }
    return bk_fetch_limit(b, p, req->replica_id);
}

/* Drops batches that reach past the limit (not committed, or not stable);
 * *next_out: the offset after the last batch kept. */
static size_t trim_to_hw(const weir_log_read_result *rr, int64_t hw, int64_t *next_out)
{
    size_t at = 0;
    *next_out = rr->first_offset;
    while (rr->len - at >= WEIR_BATCH_HEADER_BYTES) {
        weir_batch_header h;
        weir_batch_header_decode(rr->data + at, &h);
        if (weir_batch_last_offset(&h) >= hw) {
            break;
        }
        at += (size_t)weir_batch_total_bytes(&h);
        *next_out = weir_batch_last_offset(&h) + 1;
    }
    return at;
}

/* The aborted transactions of [from, upper) in the response's form (arena). */
static int fetch_aborted(weir_broker *b, weir_partition *p, int64_t from, int64_t upper,
                         weir_fetch_partition_response *out)
{
    weir_aborted_txn *list = NULL;
    size_t n = 0;
    out->aborted_count = 0; /* read_committed: an empty list, not null */
    if (upper <= from) {
        return 0;
    }
    int err = weir_plog_aborted_txns(p->log, from, upper, &list, &n);
    if (err != 0) {
        return err;
    }
    weir_fetch_aborted_txn *a = weir_arena_alloc_array(&b->arena, n + 1, sizeof *a);
    if (a == NULL) {
        free(list);
        return WEIR_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        a[i] = (weir_fetch_aborted_txn){list[i].producer_id, list[i].first_offset};
    }
    free(list);
    out->aborted = a;
    out->aborted_count = (int32_t)n;
    return 0;
}

/* Builds the response from the logs as they are now. *bytes_out: records bytes. */
static int fetch_collect(weir_broker *b, const weir_fetch_request *req, fetch_reads *fr,
                         weir_fetch_response *resp, size_t *bytes_out, bool *any_error)
{
    memset(resp, 0, sizeof *resp);
    *bytes_out = 0;
    *any_error = false;
    size_t budget = req->max_bytes > 0 ? (size_t)req->max_bytes : 0;
    size_t total = 0;
    int32_t nt = req->topic_count > 0 ? req->topic_count : 0;
    weir_fetch_topic_response *topics = weir_arena_alloc_array(&b->arena, (size_t)nt, sizeof *topics);
    if (topics == NULL) {
        return WEIR_E_NOMEM;
    }
    for (int32_t i = 0; i < nt; i++) {
        const weir_fetch_topic *ft = &req->topics[i];
        int32_t np = ft->partition_count > 0 ? ft->partition_count : 0;
        weir_fetch_partition_response *parts =
            weir_arena_alloc_array(&b->arena, (size_t)np, sizeof *parts);
        if (parts == NULL) {
            return WEIR_E_NOMEM;
        }
        weir_topic *t = ft->name.len > 0 ? weir_topics_find(&b->topics, ft->name.p, (size_t)ft->name.len)
                                         : NULL;
        for (int32_t j = 0; j < np; j++) {
            const weir_fetch_partition *fp = &ft->partitions[j];
            weir_fetch_partition_response *out = &parts[j];
            out->partition_index = fp->partition_index;
            out->high_watermark = -1;
            out->last_stable_offset = -1;
            out->log_start_offset = -1;
            out->aborted_count = -1;
            out->preferred_read_replica = -1;
            out->records = (weir_bytes){NULL, 0};
            weir_partition *p = weir_topic_partition(t, fp->partition_index);
            if (p == NULL || p->log == NULL) {
                out->error_code = WEIR_KERR_UNKNOWN_TOPIC_OR_PARTITION;
                *any_error = true;
                continue;
            }
            if (p->role != WEIR_ROLE_LEADER) {
                out->error_code = WEIR_KERR_NOT_LEADER_OR_FOLLOWER;
                *any_error = true;
                continue;
            }
            int64_t lso = weir_plog_lso(p->log, p->high_watermark);
            bool committed = req->replica_id < 0 && req->isolation_level == 1;
            int64_t hw = committed ? lso : bk_fetch_limit(b, p, req->replica_id);
            int64_t start = weir_plog_start_offset(p->log);
            out->high_watermark = p->high_watermark;
            out->last_stable_offset = lso;
            out->log_start_offset = start;
            if (committed) {
                out->aborted_count = 0;
            }
            /* Out of range means outside the log, not past the HW: a new
             * leader's HW can lag what consumers already read from the old
             * one, and they must wait for it, not be reset past messages. */
            if (fp->fetch_offset < start || fp->fetch_offset > weir_plog_end_offset(p->log)) {
                out->error_code = WEIR_KERR_OFFSET_OUT_OF_RANGE;
                *any_error = true;
                continue;
            }
            if (fp->fetch_offset >= hw || fp->partition_max_bytes <= 0 ||
                (total >= budget && total > 0)) {
                continue;
            }
            size_t limit = (size_t)fp->partition_max_bytes;
            if (budget > total && budget - total < limit) {
                limit = budget - total;
            }
            if (fr->n == fr->cap) {
                size_t cap = fr->cap ? fr->cap * 2 : 8;
                weir_log_read_result *nr = realloc(fr->r, cap * sizeof *nr);
                if (nr == NULL) {
                    return WEIR_E_NOMEM;
                }
                fr->r = nr;
                fr->cap = cap;
            }
            weir_log_read_result *rr = &fr->r[fr->n];
            int err = weir_plog_read(p->log, fp->fetch_offset, limit, total == 0, rr);
            if (err != 0) {
                out->error_code = bk_kerr_from(err);
                *any_error = true;
                continue;
            }
            fr->n++;
            int64_t next = fp->fetch_offset;
            size_t len = trim_to_hw(rr, hw, &next);
            out->records = (weir_bytes){rr->data, (int32_t)len};
            total += len;
            if (committed && len > 0) {
                err = fetch_aborted(b, p, fp->fetch_offset, next, out);
                if (err != 0) {
                    return err;
                }
            }
        }
        topics[i].name = ft->name;
        topics[i].partition_count = np;
        topics[i].partitions = parts;
    }
    resp->topic_count = nt;
    resp->topics = topics;
    *bytes_out = total;
    return 0;
}

/* Collects and encodes the response into b->out (after the header). */
static int fetch_answer(weir_broker *b, const weir_request *r, fetch_reads *fr, size_t *bytes,
                        bool *any_error)
{
    weir_fetch_response resp;
    int err = fetch_collect(b, &r->body.fetch, fr, &resp, bytes, any_error);
    if (err == 0) {
        err = weir_encode_fetch_response(&b->out, r->header.api_version, &resp);
    }
    return err;
}

void bk_fetch_wait_free(weir_env *env, bk_fetch_wait *w)
{
    if (w->timer != NULL) {
        weir_timer_cancel(env, w->timer);
    }
    weir_arena_free(&w->arena);
    free(w->frame);
    free(w);
}

/* Answers a waiting fetch with what is there now, then resumes its connection. */
static void fetch_complete(bk_conn *c)
{
    weir_broker *b = c->b;
    bk_fetch_wait *w = c->parked;
    WEIR_ASSERT(w != NULL);
    weir_arena_reset(&b->arena);
    weir_wr_reset(&b->out);
    const weir_request_header *h = &w->req.header;
    int err = weir_encode_response_header(&b->out, h->api_key, h->api_version, h->correlation_id);
    fetch_reads fr = {0};
    size_t bytes;
    bool any_error;
    if (err == 0) {
        err = fetch_answer(b, &w->req, &fr, &bytes, &any_error);
    }
    weir_request_header hdr = *h;
    c->parked = NULL;
    bk_send(c, &hdr, err);
    reads_free(&fr);
    bk_fetch_wait_free(b->env, w);
    bk_conn_resume(c);
}

static void fetch_deadline(weir_env *env, void *arg)
{
    (void)env;
    bk_conn *c = arg;
    if (c->parked != NULL) {
        c->parked->timer = NULL;
        fetch_complete(c);
    }
}

/* Is there now enough for this waiting fetch? (Counts bytes only.) */
static bool fetch_ready(weir_broker *b, bk_fetch_wait *w)
{
    const weir_fetch_request *req = &w->req.body.fetch;
    if (req->min_bytes <= 1) {
        /* Any new batch will do: compare offsets instead of reading data. */
        for (int32_t i = 0; i < req->topic_count; i++) {
            const weir_fetch_topic *ft = &req->topics[i];
            weir_topic *t = ft->name.len > 0
                                ? weir_topics_find(&b->topics, ft->name.p, (size_t)ft->name.len)
                                : NULL;
            for (int32_t j = 0; j < ft->partition_count; j++) {
                weir_partition *p = weir_topic_partition(t, ft->partitions[j].partition_index);
                if (p == NULL || p->log == NULL ||
                    fetch_visible(b, p, req) > ft->partitions[j].fetch_offset) {
                    return true; /* data, or an error to report */
                }
            }
        }
        return false;
    }
    weir_arena_reset(&b->arena);
    fetch_reads fr = {0};
    weir_fetch_response resp;
    size_t bytes = 0;
    bool any_error = false;
    int err = fetch_collect(b, &w->req.body.fetch, &fr, &resp, &bytes, &any_error);
    reads_free(&fr);
    return err != 0 || any_error || bytes >= (size_t)w->req.body.fetch.min_bytes;
}

static void wake_cb(weir_env *env, void *arg)
{
    (void)env;
    weir_broker *b = arg;
    b->wake_timer = NULL;
    for (bk_conn *c = b->conns; c != NULL;) {
        bk_conn *next = c->next; /* completing may resume requests on c, not unlink it */
        if (c->parked != NULL && !c->closing && fetch_ready(b, c->parked)) {
            fetch_complete(c);
        }
        c = next;
    }
}

void bk_fetch_wake_all(weir_broker *b)
{
    /* Deferred: the caller is in the middle of its own response. */
    if (b->wake_timer == NULL && !b->shut_down) {
        b->wake_timer = weir_timer_start(b->env, 0, wake_cb, b);
    }
}

int bk_handle_fetch(bk_conn *c, const weir_request *r, const uint8_t *frame, size_t len,
                    bool *parked)
{
    weir_broker *b = c->b;
    const weir_fetch_request *req = &r->body.fetch;
    *parked = false;
    if (req->replica_id >= 0) {
        bk_follower_fetched(b, req);
    }
    size_t mark = b->out.len; /* after the response header */
    fetch_reads fr = {0};
    size_t bytes = 0;
    bool any_error = false;
    int err = fetch_answer(b, r, &fr, &bytes, &any_error);
    reads_free(&fr);
    bool wait = err == 0 && !any_error && req->max_wait_ms > 0 && req->min_bytes > 0 &&
                bytes < (size_t)req->min_bytes;
    if (!wait) {
        return err;
    }
    b->out.len = mark;
    /* Park: keep a copy of the frame and decode it again into its own arena. */
    bk_fetch_wait *w = calloc(1, sizeof *w);
    uint8_t *copy = malloc(len);
    if (w == NULL || copy == NULL) {
        free(w);
        free(copy);
        return WEIR_E_NOMEM;
    }
    memcpy(copy, frame, len);
    w->frame = copy;
    w->len = len;
    weir_arena_init(&w->arena, WEIR_ARENA_BYTES_MAX_DEFAULT);
    weir_rd rd;
    weir_rd_init(&rd, copy, len);
    err = weir_decode_request(&rd, &w->arena, &w->req);
    WEIR_ASSERT(err == 0); /* it decoded a moment ago */
    int64_t wait_ms = req->max_wait_ms;
    if (wait_ms > b->cfg.fetch_max_wait_cap_ms) {
        wait_ms = b->cfg.fetch_max_wait_cap_ms;
    }
    w->timer = weir_timer_start(b->env, wait_ms * MS, fetch_deadline, c);
    c->parked = w;
    *parked = true;
    return 0;
}
