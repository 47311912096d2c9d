#include "history.h"

#include <stdlib.h>
#include <string.h>

#include "core/assert.h"

void weir_history_init(weir_history *h)
{
    memset(h, 0, sizeof *h);
}

void weir_history_free(weir_history *h)
{
    free(h->acks);
    free(h->log);
    free(h->reads);
    memset(h, 0, sizeof *h);
}

#define PUSH(arr, n, cap, value)                                                         \
    do {                                                                                 \
        if ((n) == (cap)) {                                                              \
            (cap) = (cap) ? (cap) * 2 : 256;                                             \
            void *grown = realloc((arr), (cap) * sizeof *(arr));                         \
            WEIR_ASSERT(grown != NULL);                                                  \
            (arr) = grown;                                                               \
        }                                                                                \
        (arr)[(n)++] = (value);                                                          \
    } while (0)

void weir_history_ack(weir_history *h, weir_msg_id id, int32_t partition, int64_t offset,
                      bool must_survive)
{
    struct weir_hist_ack a = {id, partition, offset, must_survive};
    PUSH(h->acks, h->n_acks, h->cap_acks, a);
}

void weir_history_logged(weir_history *h, weir_msg_id id, int32_t partition, int64_t offset)
{
    struct weir_hist_entry e = {id, partition, offset};
    PUSH(h->log, h->n_log, h->cap_log, e);
}

void weir_history_read(weir_history *h, weir_msg_id id, int32_t partition, int64_t offset)
{
    struct weir_hist_entry e = {id, partition, offset};
    PUSH(h->reads, h->n_reads, h->cap_reads, e);
}

const char *weir_finding_name(weir_finding_kind k)
{
    static const char *const names[] = {"lost", "moved", "duplicated", "reordered", "dirty read"};
    return (unsigned)k < 5 ? names[k] : "?";
}

static int cmp_id(weir_msg_id a, weir_msg_id b)
{
    if (a.producer != b.producer) {
        return a.producer < b.producer ? -1 : 1;
    }
    return a.seq < b.seq ? -1 : (a.seq > b.seq ? 1 : 0);
}

/* log order: partition, offset */
static int cmp_by_place(const void *x, const void *y)
{
    const struct weir_hist_entry *a = x, *b = y;
    if (a->partition != b->partition) {
        return a->partition < b->partition ? -1 : 1;
    }
    return a->offset < b->offset ? -1 : (a->offset > b->offset ? 1 : 0);
}

/* id order, then place */
static int cmp_by_id(const void *x, const void *y)
{
    const struct weir_hist_entry *a = x, *b = y;
    int c = cmp_id(a->id, b->id);
    return c != 0 ? c : cmp_by_place(x, y);
}

static void note(weir_history_report *r, weir_finding_kind kind, weir_msg_id id, int32_t partition,
                 int64_t offset, int64_t other)
{
    r->counts[kind]++;
    if (r->n_findings < r->max_findings) {
        r->findings[r->n_findings++] = (weir_finding){kind, id, partition, offset, other};
    }
}

/* The final-log entry at (partition, offset), or NULL; by_place is sorted. */
static const struct weir_hist_entry *at_place(const struct weir_hist_entry *by_place, size_t n,
                                              int32_t partition, int64_t offset)
{
    struct weir_hist_entry key = {{0, 0}, partition, offset};
    return n == 0 ? NULL : bsearch(&key, by_place, n, sizeof *by_place, cmp_by_place);
}

static bool id_logged(const struct weir_hist_entry *by_id, size_t n, weir_msg_id id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_id(by_id[mid].id, id) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < n && cmp_id(by_id[lo].id, id) == 0;
}

bool weir_history_check(weir_history *h, weir_history_report *r)
{
    if (r->max_findings > 0 && r->findings == NULL) {
        r->findings = calloc(r->max_findings, sizeof *r->findings);
        WEIR_ASSERT(r->findings != NULL);
    }
    memset(r->counts, 0, sizeof r->counts);
    r->n_findings = 0;
    r->acked = h->n_acks;
    r->logged = h->n_log;
    r->reads = h->n_reads;
    r->acked_must_survive = 0;

    /* by place: the log as the partitions hold it */
    struct weir_hist_entry *by_place = malloc((h->n_log ? h->n_log : 1) * sizeof *by_place);
    WEIR_ASSERT(by_place != NULL);
    if (h->n_log > 0) {
        memcpy(by_place, h->log, h->n_log * sizeof *by_place);
    }
    if (h->n_log > 1) {
        qsort(by_place, h->n_log, sizeof *by_place, cmp_by_place);
        qsort(h->log, h->n_log, sizeof *h->log, cmp_by_id);
    }

    /* duplicates: equal ids side by side in id order */
    for (size_t i = 1; i < h->n_log; i++) {
        if (cmp_id(h->log[i].id, h->log[i - 1].id) == 0) {
            note(r, WEIR_FINDING_DUPLICATED, h->log[i].id, h->log[i].partition, h->log[i].offset,
                 h->log[i - 1].offset);
        }
    }
    /* reordering: within a partition, a producer's sequence must increase */
    for (size_t i = 0; i < h->n_log; i++) {
        const struct weir_hist_entry *e = &by_place[i];
        for (size_t j = i; j-- > 0 && by_place[j].partition == e->partition;) {
            if (by_place[j].id.producer == e->id.producer) {
                if (by_place[j].id.seq > e->id.seq) {
                    note(r, WEIR_FINDING_REORDERED, e->id, e->partition, e->offset, by_place[j].offset);
                }
                break;
            }
        }
    }
    /* acknowledgements */
    for (size_t i = 0; i < h->n_acks; i++) {
        const struct weir_hist_ack *a = &h->acks[i];
        if (!a->must_survive) {
            continue;
        }
        r->acked_must_survive++;
        const struct weir_hist_entry *there = at_place(by_place, h->n_log, a->partition, a->offset);
        if (there != NULL && cmp_id(there->id, a->id) == 0) {
            continue;
        }
        if (!id_logged(h->log, h->n_log, a->id)) {
            note(r, WEIR_FINDING_LOST, a->id, a->partition, a->offset, -1);
        } else {
            note(r, WEIR_FINDING_MOVED, a->id, a->partition, a->offset,
                 there != NULL ? there->offset : -1);
        }
    }
    /* reads must match the final log */
    for (size_t i = 0; i < h->n_reads; i++) {
        const struct weir_hist_entry *rd = &h->reads[i];
        const struct weir_hist_entry *there = at_place(by_place, h->n_log, rd->partition, rd->offset);
        if (there == NULL || cmp_id(there->id, rd->id) != 0) {
            note(r, WEIR_FINDING_DIRTY_READ, rd->id, rd->partition, rd->offset, -1);
        }
    }
    free(by_place);
    size_t total = 0;
    for (int k = 0; k < 5; k++) {
        total += r->counts[k];
    }
    return total == 0;
}

void weir_history_report_free(weir_history_report *r)
{
    free(r->findings);
    r->findings = NULL;
    r->n_findings = 0;
}
