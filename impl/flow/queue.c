/* Connection queues (queue.h).
 *
 * Active is two structures that together hold one priority order:
 *   run   a deque of entries already in order (each appended entry compares
 *         >= the one before it), so FIFO offers cost O(1);
 *   heap  a binary min-heap for everything that arrives out of order
 *         (requeues, swap-ins, expired penalties, non-FIFO prioritizers).
 * The head of active is the smaller of run's head and heap's top. A new
 * prioritizer chain empties run into heap and re-heapifies.
 *
 * Penalized is a min-heap by (penalty expiry, queue date, queue index).
 * The swap queue is an array of FlowFile pointers with a head offset, so the
 * oldest swap_batch_count are contiguous for swap_out. Swapped batches are a
 * deque of (location, count, bytes).
 *
 * Invariants: the counters in struct weir_flow_queue equal what the four
 * places hold (weir_flow_queue_check recounts them); run is sorted; both
 * heaps keep the heap property; no entry's key is stale.
 */
#include "flow/queue.h"

#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "flow/flowfile.h"

typedef struct qent {
    weir_prio_key key;
    int64_t penalty_ns; /* ff->penalty_expiry_ns when it entered */
    weir_flowfile *ff;
} qent;

typedef struct qheap {
    qent *v;
    size_t n;
    size_t cap;
} qheap;

typedef struct qrun {
    qent *v;
    size_t head; /* entries are v[head .. head + n) */
    size_t n;
    size_t cap;
} qrun;

typedef struct qbatch {
    uint64_t location;
    uint64_t count;
    uint64_t bytes;
} qbatch;

struct weir_flow_queue {
    weir_flow_queue_config cfg;
    weir_flow_queue_hooks hooks;
    bool swap_enabled; /* swap_out and swap_in given and swap_threshold > 0 */
    bool swap_mode;

    qrun run;
    qheap heap;
    uint64_t active_bytes;
    qheap pen;
    uint64_t pen_bytes;

    weir_flowfile **swapq; /* swapq[swapq_head .. swapq_head + swapq_n) */
    size_t swapq_head;
    size_t swapq_n;
    size_t swapq_cap;
    uint64_t swapq_bytes;
    uint64_t swap_retry_at; /* after a failed swap_out: retry at this swap queue count */

    qbatch *batches; /* batches[batch_head .. batch_head + batch_n) */
    size_t batch_head;
    size_t batch_n;
    size_t batch_cap;
    uint64_t swapped_count;
    uint64_t swapped_bytes;
    weir_flowfile **swapin_buf; /* swap_batch_count slots, allocated on first use */
    size_t swapin_cap;

    uint64_t next_index;
    /* keys carry the priority attribute: set for good the first time a
     * chain needs it (until then no offer pays for looking it up) */
    bool keys_priority;
    int64_t now_seen_ns;      /* latest now_ns any call gave: decides penalties for requeues */
    weir_flow_queue_stats st; /* counters; the place counts are filled by stats_get */
};

/* ---- ordering ---- */

/* FIFO (prioritizer.h): queue date, then queue index. */
static inline int q_cmp_fifo(const qent *a, const qent *b)
{
    if (a->key.queue_date != b->key.queue_date) {
        return a->key.queue_date < b->key.queue_date ? -1 : 1;
    }
    return (a->key.queue_index > b->key.queue_index) - (a->key.queue_index < b->key.queue_index);
}

static int q_cmp_pen(const qent *a, const qent *b)
{
    if (a->penalty_ns != b->penalty_ns) {
        return a->penalty_ns < b->penalty_ns ? -1 : 1;
    }
    return q_cmp_fifo(a, b);
}

/* < 0 when a goes first in heap h (active or penalized). */
static inline int q_cmp(const weir_flow_queue *q, const qheap *h, const qent *a, const qent *b)
{
    if (h == &q->pen) {
        return q_cmp_pen(a, b);
    }
    if (q->cfg.prioritizers.count == 0) {
        return q_cmp_fifo(a, b); /* the common chain, without a call */
    }
    return weir_prioritizers_compare(&q->cfg.prioritizers, &a->key, &b->key);
}

static bool q_chain_uses_priority(const weir_prioritizers *p)
{
    for (size_t i = 0; i < p->count; i++) {
        if (p->kinds[i] == WEIR_FLOW_PRIO_PRIORITY_ATTRIBUTE) {
            return true;
        }
    }
    return false;
}

/* ---- heap ---- */

static int qheap_reserve(qheap *h, size_t need)
{
    if (need <= h->cap) {
        return 0;
    }
    size_t cap = h->cap ? h->cap : 64;
    while (cap < need) {
        cap *= 2;
    }
    qent *v = realloc(h->v, cap * sizeof(*v));
    if (v == NULL) {
        return WEIR_E_NOMEM;
    }
    h->v = v;
    h->cap = cap;
    return 0;
}

static void qheap_sift_up(const weir_flow_queue *q, qheap *h, size_t i)
{
    qent e = h->v[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (q_cmp(q, h, &h->v[parent], &e) <= 0) {
            break;
        }
        h->v[i] = h->v[parent];
        i = parent;
    }
    h->v[i] = e;
}

static void qheap_sift_down(const weir_flow_queue *q, qheap *h, size_t i)
{
    qent e = h->v[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= h->n) {
            break;
        }
        if (child + 1 < h->n && q_cmp(q, h, &h->v[child + 1], &h->v[child]) < 0) {
            child++;
        }
        if (q_cmp(q, h, &e, &h->v[child]) <= 0) {
            break;
        }
        h->v[i] = h->v[child];
        i = child;
    }
    h->v[i] = e;
}

/* The caller reserved room. */
static void qheap_push(const weir_flow_queue *q, qheap *h, const qent *e)
{
    WEIR_ASSERT(h->n < h->cap);
    h->v[h->n++] = *e;
    qheap_sift_up(q, h, h->n - 1);
}

static qent qheap_pop(const weir_flow_queue *q, qheap *h)
{
    WEIR_ASSERT(h->n > 0);
    qent top = h->v[0];
    h->n--;
    if (h->n > 0) {
        h->v[0] = h->v[h->n];
        qheap_sift_down(q, h, 0);
    }
    return top;
}

static void qheap_heapify(const weir_flow_queue *q, qheap *h)
{
    for (size_t i = h->n / 2; i-- > 0;) {
        qheap_sift_down(q, h, i);
    }
}

/* ---- run (sorted deque) ---- */

static int qrun_reserve_tail(qrun *r)
{
    if (r->head + r->n < r->cap) {
        return 0;
    }
    if (r->head > 0 && r->head >= r->cap / 2) {
        memmove(r->v, r->v + r->head, r->n * sizeof(*r->v));
        r->head = 0;
        return 0;
    }
    size_t cap = r->cap ? r->cap * 2 : 64;
    qent *v = realloc(r->v, cap * sizeof(*v));
    if (v == NULL) {
        return WEIR_E_NOMEM;
    }
    r->v = v;
    r->cap = cap;
    return 0;
}

/* ---- active ---- */

static size_t q_active_n(const weir_flow_queue *q)
{
    return q->run.n + q->heap.n;
}

static size_t q_resident_n(const weir_flow_queue *q)
{
    return q->run.n + q->heap.n + q->pen.n + q->swapq_n;
}

/* Reserves room for one more entry in active, wherever it lands. */
static int q_active_reserve(weir_flow_queue *q)
{
    int rc = qrun_reserve_tail(&q->run);
    if (rc == 0) {
        rc = qheap_reserve(&q->heap, q->heap.n + 1);
    }
    return rc;
}

static void q_active_insert(weir_flow_queue *q, const qent *e)
{
    qrun *r = &q->run;
    if (r->n == 0 || q_cmp(q, &q->heap, &r->v[r->head + r->n - 1], e) <= 0) {
        WEIR_ASSERT(r->head + r->n < r->cap);
        r->v[r->head + r->n++] = *e;
    } else {
        qheap_push(q, &q->heap, e);
    }
    q->active_bytes += e->ff->size;
}

/* The head of active, or NULL. */
static const qent *q_active_head(const weir_flow_queue *q)
{
    const qent *a = q->run.n > 0 ? &q->run.v[q->run.head] : NULL;
    const qent *b = q->heap.n > 0 ? &q->heap.v[0] : NULL;
    if (a == NULL) {
        return b;
    }
    if (b == NULL) {
        return a;
    }
    return q_cmp(q, &q->heap, a, b) <= 0 ? a : b;
}

static weir_flowfile *q_active_pop(weir_flow_queue *q)
{
    const qent *h = q_active_head(q);
    WEIR_ASSERT(h != NULL);
    weir_flowfile *ff;
    if (q->run.n > 0 && h == &q->run.v[q->run.head]) {
        ff = h->ff;
        q->run.head++;
        q->run.n--;
        if (q->run.n == 0) {
            q->run.head = 0;
        }
    } else {
        ff = qheap_pop(q, &q->heap).ff;
    }
    WEIR_ASSERT(q->active_bytes >= ff->size);
    q->active_bytes -= ff->size;
    return ff;
}

/* ---- placing resident FlowFiles ---- */

/* ff's sort key: the priority attribute only when keys carry it. */
static void q_key_make(const weir_flow_queue *q, const weir_flowfile *ff, weir_prio_key *key)
{
    if (q->keys_priority) {
        weir_prio_key_make(ff, key);
        return;
    }
    *key = (weir_prio_key){.queue_date = ff->queue_date_ns,
                           .queue_index = ff->queue_index,
                           .lineage_start_date = ff->lineage_start_ns,
                           .priority_class = WEIR_PRIO_MISSING};
}

static void q_ent_make(const weir_flow_queue *q, qent *e, weir_flowfile *ff)
{
    q_key_make(q, ff, &e->key);
    e->penalty_ns = ff->penalty_expiry_ns;
    e->ff = ff;
}

/* Reserves what q_resident_put may need. */
static int q_resident_reserve(weir_flow_queue *q)
{
    int rc = q_active_reserve(q);
    if (rc == 0) {
        rc = qheap_reserve(&q->pen, q->pen.n + 1);
    }
    return rc;
}

/* Puts ff in penalized when its penalty runs past now_seen_ns, else active.
 * Room reserved. */
static void q_resident_put(weir_flow_queue *q, weir_flowfile *ff)
{
    qent e;
    q_ent_make(q, &e, ff);
    if (ff->penalty_expiry_ns > q->now_seen_ns) {
        qheap_push(q, &q->pen, &e);
        q->pen_bytes += ff->size;
    } else {
        q_active_insert(q, &e);
    }
}

static void q_note_now(weir_flow_queue *q, int64_t now_ns)
{
    if (now_ns > q->now_seen_ns) {
        q->now_seen_ns = now_ns;
    }
}

static void q_peaks(weir_flow_queue *q)
{
    if (q->st.count > q->st.count_peak) {
        q->st.count_peak = q->st.count;
    }
    if (q->st.bytes > q->st.bytes_peak) {
        q->st.bytes_peak = q->st.bytes;
    }
    uint64_t resident = q_resident_n(q);
    if (resident > q->st.resident_count_peak) {
        q->st.resident_count_peak = resident;
    }
}

/* ---- swapping ---- */

static void q_swap_error(weir_flow_queue *q, int rc)
{
    q->st.swap_errors++;
    q->st.swap_error_last = rc;
}

static int q_swapq_reserve(weir_flow_queue *q)
{
    if (q->swapq_head + q->swapq_n < q->swapq_cap) {
        return 0;
    }
    if (q->swapq_head > 0 && q->swapq_head >= q->swapq_cap / 2) {
        memmove(q->swapq, q->swapq + q->swapq_head, q->swapq_n * sizeof(*q->swapq));
        q->swapq_head = 0;
        return 0;
    }
    size_t cap = q->swapq_cap ? q->swapq_cap * 2 : 1024;
    weir_flowfile **v = realloc(q->swapq, cap * sizeof(*v));
    if (v == NULL) {
        return WEIR_E_NOMEM;
    }
    q->swapq = v;
    q->swapq_cap = cap;
    return 0;
}

static int q_batches_reserve(weir_flow_queue *q)
{
    if (q->batch_head + q->batch_n < q->batch_cap) {
        return 0;
    }
    if (q->batch_head > 0) {
        memmove(q->batches, q->batches + q->batch_head, q->batch_n * sizeof(*q->batches));
        q->batch_head = 0;
        return 0;
    }
    size_t cap = q->batch_cap ? q->batch_cap * 2 : 16;
    qbatch *v = realloc(q->batches, cap * sizeof(*v));
    if (v == NULL) {
        return WEIR_E_NOMEM;
    }
    q->batches = v;
    q->batch_cap = cap;
    return 0;
}

/* Whether active is low enough to take a batch back (NiFi's
 * migrateSwapToActive gate): empty, or at most swap_threshold - batch. */
static bool q_swap_in_gate(const weir_flow_queue *q)
{
    uint64_t held = q_active_n(q) + q->pen.n;
    return held == 0 || held + q->cfg.swap_batch_count <= q->cfg.swap_threshold;
}

/* Moves the swap queue's oldest FlowFiles into active while active holds
 * fewer than swap_threshold; only when no batch is on disk, as those are
 * older. */
static void q_swapq_migrate(weir_flow_queue *q)
{
    while (q->batch_n == 0 && q->swapq_n > 0 && q_active_n(q) + q->pen.n < q->cfg.swap_threshold) {
        if (q_resident_reserve(q) != 0) {
            return; /* try again at the next poll */
        }
        weir_flowfile *ff = q->swapq[q->swapq_head++];
        q->swapq_n--;
        q->swapq_bytes -= ff->size;
        q_resident_put(q, ff);
    }
    if (q->swapq_n == 0) {
        q->swapq_head = 0;
        if (q->batch_n == 0) {
            q->swap_mode = false;
        }
    }
}

/* Writes the swap queue's oldest full batches out. */
static void q_swap_out_batches(weir_flow_queue *q)
{
    size_t batch = (size_t)q->cfg.swap_batch_count;
    while (q->swapq_n >= batch && q->swapq_n >= q->swap_retry_at) {
        if (q_batches_reserve(q) != 0) {
            return;
        }
        weir_flowfile **ffs = &q->swapq[q->swapq_head];
        uint64_t location = 0;
        int rc = q->hooks.swap_out(q->hooks.arg, ffs, batch, &location);
        if (rc != 0) {
            q_swap_error(q, rc);
            q->swap_retry_at = q->swapq_n + batch;
            return;
        }
        q->swap_retry_at = 0;
        uint64_t bytes = 0;
        for (size_t i = 0; i < batch; i++) {
            bytes += ffs[i]->size;
            weir_flowfile_free(ffs[i]);
            ffs[i] = NULL;
        }
        q->swapq_head += batch;
        q->swapq_n -= batch;
        q->swapq_bytes -= bytes;
        q->batches[q->batch_head + q->batch_n++] =
            (qbatch){.location = location, .count = batch, .bytes = bytes};
        q->swapped_count += batch;
        q->swapped_bytes += bytes;
        q->st.swap_out_count++;
    }
}

/* Reads the oldest batch back into active. */
static int q_swap_in_one(weir_flow_queue *q)
{
    qbatch b = q->batches[q->batch_head];
    if (q->swapin_cap < b.count) {
        weir_flowfile **v = realloc(q->swapin_buf, (size_t)b.count * sizeof(*v));
        if (v == NULL) {
            return WEIR_E_NOMEM;
        }
        q->swapin_buf = v;
        q->swapin_cap = (size_t)b.count;
    }
    /* Room first, so that a FlowFile read back always has a place. */
    if (qrun_reserve_tail(&q->run) != 0 || qheap_reserve(&q->heap, q->heap.n + b.count) != 0 ||
        qheap_reserve(&q->pen, q->pen.n + b.count) != 0) {
        return WEIR_E_NOMEM;
    }
    int rc = q->hooks.swap_in(q->hooks.arg, b.location, q->swapin_buf, (size_t)b.count);
    if (rc != 0) {
        return rc;
    }
    q->batch_head++;
    q->batch_n--;
    if (q->batch_n == 0) {
        q->batch_head = 0;
    }
    uint64_t bytes = 0;
    for (size_t i = 0; i < b.count; i++) {
        weir_flowfile *ff = q->swapin_buf[i];
        WEIR_ASSERT(ff != NULL);
        bytes += ff->size;
        if (qrun_reserve_tail(&q->run) != 0) {
            /* run is full and cannot grow: the heap has room for the rest */
            qent e;
            q_ent_make(q, &e, ff);
            if (ff->penalty_expiry_ns > q->now_seen_ns) {
                qheap_push(q, &q->pen, &e);
                q->pen_bytes += ff->size;
            } else {
                qheap_push(q, &q->heap, &e);
                q->active_bytes += ff->size;
            }
            continue;
        }
        q_resident_put(q, ff);
    }
    q->swapped_count -= b.count;
    q->swapped_bytes -= b.bytes;
    /* The summary was taken at swap-out (or by recovery); what came back is
     * what is queued now. */
    if (WEIR_NEVER(bytes != b.bytes)) {
        q->st.bytes = q->st.bytes - b.bytes + bytes;
    }
    q->st.swap_in_count++;
    q_peaks(q);
    return 0;
}

/* ---- housekeeping before poll and peek ---- */

static void q_release_penalties(weir_flow_queue *q, int64_t now_ns)
{
    while (q->pen.n > 0 && q->pen.v[0].penalty_ns <= now_ns) {
        if (q_active_reserve(q) != 0) {
            return;
        }
        qent e = qheap_pop(q, &q->pen);
        q->pen_bytes -= e.ff->size;
        q_active_insert(q, &e);
    }
}

/* Returns the swap_in error when one failed, else 0. */
static int q_swap_in_due(weir_flow_queue *q)
{
    int err = 0;
    while (q->batch_n > 0 && q_swap_in_gate(q)) {
        int rc = q_swap_in_one(q);
        if (rc != 0) {
            q_swap_error(q, rc);
            err = rc;
            break;
        }
    }
    if (q->batch_n == 0 && q->swapq_n > 0 && q_swap_in_gate(q)) {
        q_swapq_migrate(q);
    }
    return err;
}

static bool q_is_expired(const weir_flow_queue *q, const weir_flowfile *ff, int64_t now_ns)
{
    /* NiFi: expired once entryDate + expiration < now (strictly). */
    return q->cfg.expiration_ns > 0 && ff->entry_date_ns < now_ns - q->cfg.expiration_ns;
}

static void q_expire_head(weir_flow_queue *q, int64_t now_ns)
{
    const qent *h;
    while ((h = q_active_head(q)) != NULL && q_is_expired(q, h->ff, now_ns)) {
        weir_flowfile *ff = q_active_pop(q);
        q->st.count--;
        q->st.bytes -= ff->size;
        q->st.expired_count++;
        q->st.expired_bytes += ff->size;
        if (q->hooks.on_expired != NULL) {
            q->hooks.on_expired(q->hooks.arg, ff);
        } else {
            weir_flowfile_free(ff);
        }
    }
}

static int q_housekeep(weir_flow_queue *q, int64_t now_ns)
{
    q_note_now(q, now_ns);
    q_release_penalties(q, now_ns);
    int err = q->swap_enabled ? q_swap_in_due(q) : 0;
    q_expire_head(q, now_ns);
    if (q_active_n(q) == 0 && err != 0) {
        return err;
    }
    return 0;
}

/* ---- life cycle ---- */

void weir_flow_queue_config_default(weir_flow_queue_config *out)
{
    memset(out, 0, sizeof(*out));
    out->object_threshold = WEIR_FLOW_OBJECT_THRESHOLD_DEFAULT;
    out->size_threshold_bytes = WEIR_FLOW_SIZE_THRESHOLD_DEFAULT;
    out->expiration_ns = 0;
    out->prioritizers.count = 0;
    out->swap_threshold = WEIR_FLOW_SWAP_THRESHOLD_DEFAULT;
    out->swap_batch_count = WEIR_FLOW_SWAP_BATCH_COUNT_DEFAULT;
}

static bool q_config_valid(const weir_flow_queue_config *c)
{
    weir_prioritizers check;
    if (weir_prioritizers_set(&check, c->prioritizers.kinds, c->prioritizers.count) != 0) {
        return false;
    }
    if (c->expiration_ns < 0) {
        return false;
    }
    if (c->swap_threshold > 0 &&
        (c->swap_batch_count == 0 || c->swap_batch_count > c->swap_threshold ||
         c->swap_batch_count > UINT32_MAX)) {
        return false;
    }
    return true;
}

weir_flow_queue *weir_flow_queue_new(const weir_flow_queue_config *config,
                                     const weir_flow_queue_hooks *hooks, int *err_out)
{
    WEIR_ASSERT(config != NULL);
    if (!q_config_valid(config)) {
        if (err_out != NULL) {
            *err_out = WEIR_E_INVAL;
        }
        return NULL;
    }
    weir_flow_queue *q = calloc(1, sizeof(*q));
    if (q == NULL) {
        if (err_out != NULL) {
            *err_out = WEIR_E_NOMEM;
        }
        return NULL;
    }
    q->cfg = *config;
    if (hooks != NULL) {
        q->hooks = *hooks;
    }
    q->swap_enabled =
        q->hooks.swap_out != NULL && q->hooks.swap_in != NULL && config->swap_threshold > 0;
    q->keys_priority = q_chain_uses_priority(&config->prioritizers);
    q->now_seen_ns = INT64_MIN;
    if (err_out != NULL) {
        *err_out = 0;
    }
    return q;
}

void weir_flow_queue_free(weir_flow_queue *q)
{
    if (q == NULL) {
        return;
    }
    for (size_t i = 0; i < q->run.n; i++) {
        weir_flowfile_free(q->run.v[q->run.head + i].ff);
    }
    for (size_t i = 0; i < q->heap.n; i++) {
        weir_flowfile_free(q->heap.v[i].ff);
    }
    for (size_t i = 0; i < q->pen.n; i++) {
        weir_flowfile_free(q->pen.v[i].ff);
    }
    for (size_t i = 0; i < q->swapq_n; i++) {
        weir_flowfile_free(q->swapq[q->swapq_head + i]);
    }
    free(q->run.v);
    free(q->heap.v);
    free(q->pen.v);
    free(q->swapq);
    free(q->batches);
    free(q->swapin_buf);
    free(q);
}

/* ---- offering ---- */

/* Queues ff (dates already set): swap queue in swap mode, else resident.
 * When restoring it is resident while active and penalized hold fewer than
 * swap_threshold, swap mode or not. WEIR_E_NOMEM leaves ff out. */
static int q_place(weir_flow_queue *q, weir_flowfile *ff, bool restoring)
{
    bool held_full = q_active_n(q) + q->pen.n >= q->cfg.swap_threshold;
    bool to_swap = q->swap_enabled && (restoring ? held_full : (q->swap_mode || held_full));
    if (to_swap) {
        int rc = q_swapq_reserve(q);
        if (rc != 0) {
            return rc;
        }
        q->swapq[q->swapq_head + q->swapq_n++] = ff;
        q->swapq_bytes += ff->size;
        q->swap_mode = true;
    } else {
        int rc = q_resident_reserve(q);
        if (rc != 0) {
            return rc;
        }
        q_resident_put(q, ff);
    }
    q->st.count++;
    q->st.bytes += ff->size;
    q->st.in_count++;
    q->st.in_bytes += ff->size;
    q_peaks(q);
    if (to_swap && q->swapq_n >= q->cfg.swap_batch_count) {
        if (q->batch_n == 0 && q_swap_in_gate(q)) {
            q_swapq_migrate(q); /* room in active: no need to write them out */
        }
        q_swap_out_batches(q);
    }
    return 0;
}

int weir_flow_queue_offer(weir_flow_queue *q, weir_flowfile *ff, int64_t now_ns)
{
    WEIR_ASSERT(q != NULL && ff != NULL);
    q_note_now(q, now_ns);
    int64_t date_was = ff->queue_date_ns;
    uint64_t index_was = ff->queue_index;
    ff->queue_date_ns = now_ns;
    ff->queue_index = q->next_index;
    int rc = q_place(q, ff, false);
    if (rc != 0) {
        ff->queue_date_ns = date_was;
        ff->queue_index = index_was;
        return rc;
    }
    q->next_index++;
    return 0;
}

int weir_flow_queue_offer_all(weir_flow_queue *q, weir_flowfile *const *ffs, size_t count,
                              int64_t now_ns, size_t *taken_out)
{
    size_t i = 0;
    int rc = 0;
    for (; i < count; i++) {
        rc = weir_flow_queue_offer(q, ffs[i], now_ns);
        if (rc != 0) {
            break;
        }
    }
    if (taken_out != NULL) {
        *taken_out = i;
    }
    return rc;
}

int weir_flow_queue_requeue(weir_flow_queue *q, weir_flowfile *const *ffs, size_t count,
                            size_t *taken_out)
{
    WEIR_ASSERT(q != NULL);
    size_t i = 0;
    int rc = 0;
    for (; i < count; i++) {
        weir_flowfile *ff = ffs[i];
        rc = q_resident_reserve(q);
        if (rc != 0) {
            break;
        }
        q_resident_put(q, ff);
        if (ff->queue_index >= q->next_index) {
            q->next_index = ff->queue_index + 1;
        }
        q->st.count++;
        q->st.bytes += ff->size;
        /* Undo the poll. A FlowFile this queue never handed out counts as
         * offered instead, so in - out - expired = count still holds. */
        if (q->st.out_count > 0) {
            q->st.out_count--;
            q->st.out_bytes -= q->st.out_bytes >= ff->size ? ff->size : q->st.out_bytes;
        } else {
            q->st.in_count++;
            q->st.in_bytes += ff->size;
        }
        q_peaks(q);
    }
    if (taken_out != NULL) {
        *taken_out = i;
    }
    return rc;
}

int weir_flow_queue_restore(weir_flow_queue *q, weir_flowfile *ff)
{
    WEIR_ASSERT(q != NULL && ff != NULL);
    int rc = q_place(q, ff, true);
    if (rc == 0 && ff->queue_index >= q->next_index) {
        q->next_index = ff->queue_index + 1;
    }
    return rc;
}

int weir_flow_queue_restore_swapped(weir_flow_queue *q, uint64_t location, uint64_t count,
                                    uint64_t bytes)
{
    WEIR_ASSERT(q != NULL);
    if (count == 0 || !q->swap_enabled) {
        return WEIR_E_INVAL;
    }
    int rc = q_batches_reserve(q);
    if (rc != 0) {
        return rc;
    }
    q->batches[q->batch_head + q->batch_n++] =
        (qbatch){.location = location, .count = count, .bytes = bytes};
    q->swapped_count += count;
    q->swapped_bytes += bytes;
    q->swap_mode = true;
    q->st.count += count;
    q->st.bytes += bytes;
    q->st.in_count += count;
    q->st.in_bytes += bytes;
    q_peaks(q);
    return 0;
}

/* ---- polling ---- */

int weir_flow_queue_poll_batch(weir_flow_queue *q, int64_t now_ns, weir_flowfile **ffs_out,
                               size_t max, size_t *count_out)
{
    WEIR_ASSERT(q != NULL && count_out != NULL);
    size_t got = 0;
    int rc = 0;
    while (got < max) {
        rc = q_housekeep(q, now_ns);
        if (rc != 0 || q_active_n(q) == 0) {
            break;
        }
        weir_flowfile *ff = q_active_pop(q);
        q->st.count--;
        q->st.bytes -= ff->size;
        q->st.out_count++;
        q->st.out_bytes += ff->size;
        ffs_out[got++] = ff;
    }
    *count_out = got;
    return got > 0 ? 0 : rc;
}

int weir_flow_queue_poll(weir_flow_queue *q, int64_t now_ns, weir_flowfile **ff_out)
{
    WEIR_ASSERT(ff_out != NULL);
    size_t got = 0;
    *ff_out = NULL;
    return weir_flow_queue_poll_batch(q, now_ns, ff_out, 1, &got);
}

int weir_flow_queue_peek(weir_flow_queue *q, int64_t now_ns, const weir_flowfile **ff_out)
{
    WEIR_ASSERT(q != NULL && ff_out != NULL);
    int rc = q_housekeep(q, now_ns);
    const qent *h = q_active_head(q);
    *ff_out = h != NULL ? h->ff : NULL;
    return h != NULL ? 0 : rc;
}

/* ---- state ---- */

bool weir_flow_queue_is_full(const weir_flow_queue *q)
{
    return (q->cfg.object_threshold > 0 && q->st.count >= q->cfg.object_threshold) ||
           (q->cfg.size_threshold_bytes > 0 && q->st.bytes >= q->cfg.size_threshold_bytes);
}

bool weir_flow_queue_is_empty(const weir_flow_queue *q)
{
    return q->st.count == 0;
}

bool weir_flow_queue_has_ready(const weir_flow_queue *q, int64_t now_ns)
{
    return q_active_n(q) > 0 || q->swapq_n > 0 || q->batch_n > 0 ||
           (q->pen.n > 0 && q->pen.v[0].penalty_ns <= now_ns);
}

bool weir_flow_queue_penalty_expiry_next(const weir_flow_queue *q, int64_t *expiry_ns_out)
{
    if (q->pen.n == 0) {
        return false;
    }
    *expiry_ns_out = q->pen.v[0].penalty_ns;
    return true;
}

uint64_t weir_flow_queue_count(const weir_flow_queue *q)
{
    return q->st.count;
}

uint64_t weir_flow_queue_bytes(const weir_flow_queue *q)
{
    return q->st.bytes;
}

void weir_flow_queue_stats_get(const weir_flow_queue *q, weir_flow_queue_stats *out)
{
    *out = q->st;
    out->active_count = q_active_n(q);
    out->penalized_count = q->pen.n;
    out->swap_queue_count = q->swapq_n;
    out->swapped_count = q->swapped_count;
    out->swap_file_count = q->batch_n;
    out->resident_count = q_resident_n(q);
}

const weir_flow_queue_config *weir_flow_queue_config_get(const weir_flow_queue *q)
{
    return &q->cfg;
}

/* ---- changes while running ---- */

void weir_flow_queue_set_thresholds(weir_flow_queue *q, uint64_t object_threshold,
                                    uint64_t size_threshold_bytes)
{
    q->cfg.object_threshold = object_threshold;
    q->cfg.size_threshold_bytes = size_threshold_bytes;
}

int weir_flow_queue_set_expiration(weir_flow_queue *q, int64_t expiration_ns)
{
    if (expiration_ns < 0) {
        return WEIR_E_INVAL;
    }
    q->cfg.expiration_ns = expiration_ns;
    return 0;
}

int weir_flow_queue_set_prioritizers(weir_flow_queue *q, const weir_prioritizers *p)
{
    weir_prioritizers next;
    int rc = weir_prioritizers_set(&next, p->kinds, p->count);
    if (rc != 0) {
        return rc;
    }
    rc = qheap_reserve(&q->heap, q->heap.n + q->run.n);
    if (rc != 0) {
        return rc;
    }
    if (!q->keys_priority && q_chain_uses_priority(&next)) {
        /* from now on keys carry the attribute, those made before too */
        q->keys_priority = true;
        for (size_t i = 0; i < q->run.n; i++) {
            q_key_make(q, q->run.v[q->run.head + i].ff, &q->run.v[q->run.head + i].key);
        }
        for (size_t i = 0; i < q->heap.n; i++) {
            q_key_make(q, q->heap.v[i].ff, &q->heap.v[i].key);
        }
        for (size_t i = 0; i < q->pen.n; i++) {
            q_key_make(q, q->pen.v[i].ff, &q->pen.v[i].key); /* FIFO order: unchanged */
        }
    }
    memcpy(q->heap.v + q->heap.n, q->run.v + q->run.head, q->run.n * sizeof(qent));
    q->heap.n += q->run.n;
    q->run.head = 0;
    q->run.n = 0;
    q->cfg.prioritizers = next;
    qheap_heapify(q, &q->heap);
    return 0;
}

/* ---- checking ---- */

static bool q_key_fresh(const weir_flow_queue *q, const qent *e)
{
    weir_prio_key k;
    q_key_make(q, e->ff, &k);
    return k.queue_date == e->key.queue_date && k.queue_index == e->key.queue_index &&
           k.lineage_start_date == e->key.lineage_start_date &&
           k.priority_class == e->key.priority_class &&
           k.priority_number == e->key.priority_number &&
           k.priority_string == e->key.priority_string && e->penalty_ns == e->ff->penalty_expiry_ns;
}

static bool q_heap_valid(const weir_flow_queue *q, const qheap *h, uint64_t *bytes)
{
    for (size_t i = 0; i < h->n; i++) {
        if (i > 0 && q_cmp(q, h, &h->v[(i - 1) / 2], &h->v[i]) > 0) {
            return false;
        }
        if (!q_key_fresh(q, &h->v[i])) {
            return false;
        }
        *bytes += h->v[i].ff->size;
    }
    return true;
}

int weir_flow_queue_check(const weir_flow_queue *q)
{
    uint64_t active_bytes = 0, pen_bytes = 0, swapq_bytes = 0, batch_count = 0, batch_bytes = 0;
    for (size_t i = 0; i < q->run.n; i++) {
        const qent *e = &q->run.v[q->run.head + i];
        if (i > 0 && q_cmp(q, &q->heap, e - 1, e) > 0) {
            return WEIR_E_CORRUPT;
        }
        if (!q_key_fresh(q, e)) {
            return WEIR_E_CORRUPT;
        }
        active_bytes += e->ff->size;
    }
    if (!q_heap_valid(q, &q->heap, &active_bytes) || !q_heap_valid(q, &q->pen, &pen_bytes)) {
        return WEIR_E_CORRUPT;
    }
    for (size_t i = 0; i < q->swapq_n; i++) {
        swapq_bytes += q->swapq[q->swapq_head + i]->size;
    }
    for (size_t i = 0; i < q->batch_n; i++) {
        batch_count += q->batches[q->batch_head + i].count;
        batch_bytes += q->batches[q->batch_head + i].bytes;
    }
    uint64_t count = q_resident_n(q) + batch_count;
    uint64_t bytes = active_bytes + pen_bytes + swapq_bytes + batch_bytes;
    if (active_bytes != q->active_bytes || pen_bytes != q->pen_bytes ||
        swapq_bytes != q->swapq_bytes || batch_count != q->swapped_count ||
        batch_bytes != q->swapped_bytes || count != q->st.count || bytes != q->st.bytes) {
        return WEIR_E_CORRUPT;
    }
    if (q->st.count_peak < q->st.count || q->st.bytes_peak < q->st.bytes ||
        q->st.in_count - q->st.out_count - q->st.expired_count != q->st.count) {
        return WEIR_E_CORRUPT;
    }
    if (!q->swap_mode && (q->swapq_n > 0 || q->batch_n > 0)) {
        return WEIR_E_CORRUPT;
    }
    return 0;
}
