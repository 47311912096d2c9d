#include "history.h"

#include <stdlib.h>
#include <string.h>

#include "core/assert.h"

/* Decimal digits of v at out, no terminator; returns how many. */
static size_t id_digits(char *out, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; i++) {
        out[i] = tmp[n - 1 - i];
    }
    return n;
}

static size_t id_signed(char *out, int64_t v)
{
    if (v < 0) {
        out[0] = '-';
        return 1 + id_digits(out + 1, (uint64_t)0 - (uint64_t)v);
    }
    return id_digits(out, (uint64_t)v);
}

size_t weir_msg_id_write(char *out, weir_msg_id id)
{
    size_t n = 0;
    out[n++] = 'P';
    n += id_signed(out + n, id.producer);
    out[n++] = ':';
    n += id_signed(out + n, id.seq);
    out[n++] = '|';
    return n;
}

/* A signed decimal at *p (before end); advances *p past it. */
static bool id_parse_int(const uint8_t **p, const uint8_t *end, long long *out)
{
    const uint8_t *q = *p;
    bool neg = q < end && *q == '-';
    q += neg;
    const uint8_t *digits = q;
    unsigned long long v = 0;
    while (q < end && *q >= '0' && *q <= '9') {
        v = v * 10 + (unsigned)(*q - '0');
        q++;
    }
    if (q == digits) {
        return false;
    }
    *out = neg ? -(long long)v : (long long)v;
    *p = q;
    return true;
}

bool weir_msg_id_read(const uint8_t *v, size_t len, weir_msg_id *id)
{
    if (v == NULL || len == 0) {
        return false;
    }
    const uint8_t *end = v + (len < WEIR_MSG_ID_MAX ? len : WEIR_MSG_ID_MAX);
    const uint8_t *p = v;
    long long prod, seq;
    if (*p++ != 'P' || !id_parse_int(&p, end, &prod) || p == end || *p++ != ':' ||
        !id_parse_int(&p, end, &seq) || p == end || *p != '|') {
        return false;
    }
    id->producer = (int32_t)prod;
    id->seq = seq;
    return true;
}

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

static void note(weir_history_report *r, weir_finding_kind kind, weir_msg_id id, int32_t partition,
                 int64_t offset, int64_t other)
{
    r->counts[kind]++;
    if (r->n_findings < r->max_findings) {
        r->findings[r->n_findings++] = (weir_finding){kind, id, partition, offset, other};
    }
}

/* ---- sorting: stable LSD radix sorts by (partition, offset) or by id ---- */

typedef struct hist_key {
    uint64_t lo; /* offset, or seq: sign bit flipped so unsigned order is signed order */
    uint32_t hi; /* partition, or producer: likewise */
} hist_key;

static inline hist_key key_of(const struct weir_hist_entry *e, bool by_id)
{
    hist_key k;
    if (by_id) {
        k.lo = (uint64_t)e->id.seq ^ (1ULL << 63);
        k.hi = (uint32_t)e->id.producer ^ 0x80000000u;
    } else {
        k.lo = (uint64_t)e->offset ^ (1ULL << 63);
        k.hi = (uint32_t)e->partition ^ 0x80000000u;
    }
    return k;
}

static inline unsigned key_byte(hist_key k, int pass)
{
    return pass < 8 ? (unsigned)(k.lo >> (8 * pass)) & 0xff : (unsigned)(k.hi >> (8 * (pass - 8))) & 0xff;
}

#define HIST_PASSES 12

/* Sorts a[0..n) by (hi, lo) keeping the order of equal keys; tmp holds n
 * entries. Only the key bytes that differ somewhere get a pass. */
static void radix_sort(struct weir_hist_entry *a, struct weir_hist_entry *tmp, size_t n, bool by_id)
{
    if (n < 2) {
        return;
    }
    hist_key first = key_of(&a[0], by_id);
    uint64_t lo_diff = 0;
    uint32_t hi_diff = 0;
    for (size_t i = 1; i < n; i++) {
        hist_key k = key_of(&a[i], by_id);
        lo_diff |= k.lo ^ first.lo;
        hi_diff |= k.hi ^ first.hi;
    }
    struct weir_hist_entry *src = a, *dst = tmp;
    for (int p = 0; p < HIST_PASSES; p++) {
        unsigned differs = p < 8 ? (unsigned)(lo_diff >> (8 * p)) & 0xff
                                 : (hi_diff >> (8 * (p - 8))) & 0xff;
        if (differs == 0) {
            continue; /* every key has the same byte here */
        }
        size_t c[256] = {0};
        for (size_t i = 0; i < n; i++) {
            c[key_byte(key_of(&src[i], by_id), p)]++;
        }
        size_t at = 0;
        for (int b = 0; b < 256; b++) {
            size_t k = c[b];
            c[b] = at;
            at += k;
        }
        for (size_t i = 0; i < n; i++) {
            dst[c[key_byte(key_of(&src[i], by_id), p)]++] = src[i];
        }
        struct weir_hist_entry *t = src;
        src = dst;
        dst = t;
    }
    if (src != a) {
        memcpy(a, src, n * sizeof *a);
    }
}

static bool sorted_by_place(const struct weir_hist_entry *a, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        if (cmp_by_place(&a[i - 1], &a[i]) > 0) {
            return false;
        }
    }
    return true;
}

/* ---- lookups by place ---- */

/* One partition's run in the by-place array; dense when its offsets go up by
 * exactly one from entry to entry, so an offset maps straight to an index. */
typedef struct hist_run {
    int32_t partition;
    size_t start, end;
    bool dense;
} hist_run;

typedef struct hist_places {
    const struct weir_hist_entry *by_place;
    hist_run *runs;
    size_t n_runs;
} hist_places;

static void places_build(hist_places *pl, const struct weir_hist_entry *by_place, size_t n)
{
    pl->by_place = by_place;
    pl->runs = NULL;
    pl->n_runs = 0;
    size_t cap = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        bool dense = true;
        while (j < n && by_place[j].partition == by_place[i].partition) {
            dense = dense && by_place[j].offset == by_place[j - 1].offset + 1;
            j++;
        }
        if (pl->n_runs == cap) {
            cap = cap ? cap * 2 : 16;
            hist_run *grown = realloc(pl->runs, cap * sizeof *grown);
            WEIR_ASSERT(grown != NULL);
            pl->runs = grown;
        }
        pl->runs[pl->n_runs++] = (hist_run){by_place[i].partition, i, j, dense};
        i = j;
    }
}

/* The final-log entry at (partition, offset), or NULL. */
static const struct weir_hist_entry *at_place(const hist_places *pl, int32_t partition, int64_t offset)
{
    size_t lo = 0, hi = pl->n_runs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (pl->runs[mid].partition < partition) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo == pl->n_runs || pl->runs[lo].partition != partition) {
        return NULL;
    }
    const hist_run *r = &pl->runs[lo];
    const struct weir_hist_entry *e = pl->by_place;
    if (r->dense) {
        int64_t i = offset - e[r->start].offset;
        return i >= 0 && (uint64_t)i < r->end - r->start ? &e[r->start + (size_t)i] : NULL;
    }
    lo = r->start;
    hi = r->end;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (e[mid].offset < offset) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < r->end && e[lo].offset == offset ? &e[lo] : NULL;
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
        /* by place, then by id: the radix sorts are stable, so equal ids
         * stay in place order (id order, then place) */
        if (!sorted_by_place(by_place, h->n_log)) {
            radix_sort(by_place, h->log, h->n_log, false);
        }
        memcpy(h->log, by_place, h->n_log * sizeof *h->log);
        struct weir_hist_entry *tmp = malloc(h->n_log * sizeof *tmp);
        WEIR_ASSERT(tmp != NULL);
        radix_sort(h->log, tmp, h->n_log, true);
        free(tmp);
    }
    hist_places places;
    places_build(&places, by_place, h->n_log);

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
        const struct weir_hist_entry *there = at_place(&places, a->partition, a->offset);
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
        const struct weir_hist_entry *there = at_place(&places, rd->partition, rd->offset);
        if (there == NULL || cmp_id(there->id, rd->id) != 0) {
            note(r, WEIR_FINDING_DIRTY_READ, rd->id, rd->partition, rd->offset, -1);
        }
    }
    free(places.runs);
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
