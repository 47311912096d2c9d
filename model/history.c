/* The history checker (see history.h for every anomaly's definition).
 *
 * Recording only appends to arrays. weir_history_check sorts the final log two
 * ways (by place for "what sits at (partition, offset)", by id for "where is
 * this message"), sorts the side tables, then runs one pass per check in a
 * fixed order, so the findings kept under max_findings are deterministic. The
 * reads stay in recorded order: the poll checks depend on it.
 */
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

/* ---- recording ---- */

void weir_history_init(weir_history *h)
{
    memset(h, 0, sizeof *h);
}

void weir_history_free(weir_history *h)
{
    free(h->acks);
    free(h->log);
    free(h->reads);
    free(h->commits);
    free(h->seeks);
    free(h->members);
    free(h->txns);
    free(h->in_txn);
    free(h->failed);
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

void weir_history_logged_vis(weir_history *h, weir_msg_id id, int32_t partition, int64_t offset,
                             weir_hist_vis vis)
{
    WEIR_ASSERT((unsigned)vis <= WEIR_VIS_OPEN);
    struct weir_hist_entry e = {id, partition, (uint8_t)vis, offset};
    PUSH(h->log, h->n_log, h->cap_log, e);
}

void weir_history_logged(weir_history *h, weir_msg_id id, int32_t partition, int64_t offset)
{
    weir_history_logged_vis(h, id, partition, offset, WEIR_VIS_PLAIN);
}

void weir_history_read(weir_history *h, weir_msg_id id, int32_t partition, int64_t offset)
{
    struct weir_hist_read rd = {id, partition, WEIR_HIST_UNORDERED, offset, 0, false};
    PUSH(h->reads, h->n_reads, h->cap_reads, rd);
}

void weir_history_poll(weir_history *h, int32_t consumer, int32_t epoch, weir_msg_id id,
                       int32_t partition, int64_t offset, bool read_committed)
{
    WEIR_ASSERT(consumer >= 0); /* WEIR_HIST_UNORDERED is the old API's */
    struct weir_hist_read rd = {id, partition, consumer, offset, epoch, read_committed};
    PUSH(h->reads, h->n_reads, h->cap_reads, rd);
}

void weir_history_seek(weir_history *h, int32_t consumer, int32_t epoch, int32_t partition,
                       int64_t offset)
{
    WEIR_ASSERT(consumer >= 0); /* WEIR_HIST_UNORDERED is the old API's */
    struct weir_hist_seek k = {consumer, epoch, partition, offset, h->n_reads, h->n_seeks};
    PUSH(h->seeks, h->n_seeks, h->cap_seeks, k);
}

void weir_history_consumer_group(weir_history *h, int32_t consumer, int32_t group)
{
    WEIR_ASSERT(consumer >= 0);
    struct weir_hist_member m = {consumer, group, h->n_members};
    PUSH(h->members, h->n_members, h->cap_members, m);
}

void weir_history_commit(weir_history *h, int32_t group, int32_t partition, int64_t offset)
{
    weir_history_commit_sent(h, group, partition, offset, h->n_reads);
}

void weir_history_commit_sent(weir_history *h, int32_t group, int32_t partition, int64_t offset,
                              size_t reads_before)
{
    WEIR_ASSERT(reads_before <= h->n_reads);
    struct weir_hist_commit c = {group, partition, offset, reads_before, h->n_commits};
    PUSH(h->commits, h->n_commits, h->cap_commits, c);
}

void weir_history_txn(weir_history *h, int64_t txn, weir_txn_outcome outcome)
{
    WEIR_ASSERT(txn >= 0 && (unsigned)outcome <= WEIR_TXN_ABORTED);
    struct weir_hist_txn t = {txn, outcome, h->n_txns};
    PUSH(h->txns, h->n_txns, h->cap_txns, t);
}

void weir_history_send_in_txn(weir_history *h, weir_msg_id id, int64_t txn)
{
    WEIR_ASSERT(txn >= 0);
    struct weir_hist_in_txn m = {id, txn};
    PUSH(h->in_txn, h->n_in_txn, h->cap_in_txn, m);
}

void weir_history_send_failed(weir_history *h, weir_msg_id id)
{
    PUSH(h->failed, h->n_failed, h->cap_failed, id);
}

void weir_history_expect_all_read(weir_history *h)
{
    h->expect_all_read = true;
}

const char *weir_finding_name(weir_finding_kind k)
{
    static const char *const names[WEIR_FINDING_KINDS_] = {
        [WEIR_FINDING_LOST] = "lost-write",
        [WEIR_FINDING_MOVED] = "moved",
        [WEIR_FINDING_DUPLICATED] = "duplicate",
        [WEIR_FINDING_REORDERED] = "reordered",
        [WEIR_FINDING_DIRTY_READ] = "dirty-read",
        [WEIR_FINDING_INCONSISTENT_OFFSETS] = "inconsistent-offsets",
        [WEIR_FINDING_POLL_SKIP] = "poll-skip",
        [WEIR_FINDING_NONMONOTONIC_POLL] = "nonmonotonic-poll",
        [WEIR_FINDING_REREAD_BEYOND_COMMIT] = "reread-beyond-commit",
        [WEIR_FINDING_ABORTED_READ] = "G1a",
        [WEIR_FINDING_UNSEEN] = "unseen",
        [WEIR_FINDING_TORN_TXN] = "torn-transaction",
    };
    return (unsigned)k < WEIR_FINDING_KINDS_ ? names[k] : "?";
}

/* ---- comparing and noting ---- */

static const weir_msg_id no_id = {-1, -1};

static int cmp_id(weir_msg_id a, weir_msg_id b)
{
    if (a.producer != b.producer) {
        return a.producer < b.producer ? -1 : 1;
    }
    return a.seq < b.seq ? -1 : (a.seq > b.seq ? 1 : 0);
}

#define CMP3(a, b) ((a) < (b) ? -1 : ((a) > (b) ? 1 : 0))

/* log order: partition, offset */
static int cmp_by_place(const void *x, const void *y)
{
    const struct weir_hist_entry *a = x, *b = y;
    if (a->partition != b->partition) {
        return a->partition < b->partition ? -1 : 1;
    }
    return CMP3(a->offset, b->offset);
}

static bool vis_visible(uint8_t vis)
{
    return vis == WEIR_VIS_PLAIN || vis == WEIR_VIS_COMMITTED;
}

/* A finding of kind at (id, partition, offset), every other field unset. */
static weir_finding finding(weir_finding_kind kind, weir_msg_id id, int32_t partition,
                            int64_t offset, int64_t other_offset)
{
    return (weir_finding){kind, id, partition, offset, other_offset, no_id, -1, -1};
}

static void note_finding(weir_history_report *r, weir_finding f)
{
    WEIR_ASSERT((unsigned)f.kind < WEIR_FINDING_KINDS_);
    r->counts[f.kind]++;
    if (r->n_findings < r->max_findings) {
        r->findings[r->n_findings++] = f;
    }
}

static void note(weir_history_report *r, weir_finding_kind kind, weir_msg_id id, int32_t partition,
                 int64_t offset, int64_t other)
{
    note_finding(r, finding(kind, id, partition, offset, other));
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
    return pass < 8 ? (unsigned)(k.lo >> (8 * pass)) & 0xff
                    : (unsigned)(k.hi >> (8 * (pass - 8))) & 0xff;
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
        unsigned differs =
            p < 8 ? (unsigned)(lo_diff >> (8 * p)) & 0xff : (hi_diff >> (8 * (p - 8))) & 0xff;
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

/* Sorts a[0..n) by id, or by place then id (both stable). */
static void entries_sort(struct weir_hist_entry *a, size_t n, bool by_place)
{
    if (n < 2) {
        return;
    }
    struct weir_hist_entry *tmp = malloc(n * sizeof *tmp);
    WEIR_ASSERT(tmp != NULL);
    radix_sort(a, tmp, n, true);
    if (by_place) {
        radix_sort(a, tmp, n, false);
    }
    free(tmp);
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

/* partition's run, or NULL if the final log holds nothing there */
static const hist_run *run_of(const hist_places *pl, int32_t partition)
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
    return lo < pl->n_runs && pl->runs[lo].partition == partition ? &pl->runs[lo] : NULL;
}

/* The index (in by_place) of run's first entry at or above offset, or run->end. */
static size_t lower_in_run(const hist_places *pl, const hist_run *r, int64_t offset)
{
    const struct weir_hist_entry *e = pl->by_place;
    if (r->dense) {
        int64_t i = offset - e[r->start].offset;
        if (i <= 0) {
            return r->start;
        }
        return (uint64_t)i < r->end - r->start ? r->start + (size_t)i : r->end;
    }
    size_t lo = r->start, hi = r->end;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (e[mid].offset < offset) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* The (first) final-log entry at (partition, offset), or NULL. */
static const struct weir_hist_entry *at_place(const hist_places *pl, int32_t partition,
                                              int64_t offset)
{
    const hist_run *r = run_of(pl, partition);
    if (r == NULL) {
        return NULL;
    }
    size_t i = lower_in_run(pl, r, offset);
    return i < r->end && pl->by_place[i].offset == offset ? &pl->by_place[i] : NULL;
}

/* The index of the first entry of by_id (sorted by id) with id >= id. */
static size_t id_lower(const struct weir_hist_entry *by_id, size_t n, weir_msg_id id)
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
    return lo;
}

static bool id_logged(const struct weir_hist_entry *by_id, size_t n, weir_msg_id id)
{
    size_t i = id_lower(by_id, n, id);
    return i < n && cmp_id(by_id[i].id, id) == 0;
}

/* ---- the checking context ---- */

typedef struct hist_ctx {
    weir_history *h;                  /* h->log sorted by id */
    struct weir_hist_entry *by_place; /* the final log by place */
    hist_places places;
    size_t *visible_before; /* [i]: visible entries in by_place[0, i); NULL until needed */
    struct weir_hist_in_txn *in_txn_by_id; /* h->in_txn sorted by id */
    weir_history_report *r;
} hist_ctx;

/* Messages of the final log at offsets [from, to) of partition that a reader
 * (read_committed or not) should have received. */
static size_t readable_between(const hist_ctx *c, int32_t partition, int64_t from, int64_t to,
                               bool read_committed)
{
    const hist_run *run = run_of(&c->places, partition);
    if (run == NULL || from >= to) {
        return 0;
    }
    size_t a = lower_in_run(&c->places, run, from);
    size_t b = lower_in_run(&c->places, run, to);
    WEIR_ASSERT(a <= b);
    return read_committed ? c->visible_before[b] - c->visible_before[a] : b - a;
}

/* What the final log holds of one id. */
typedef struct msg_fate {
    const struct weir_hist_entry *any_at;     /* its first copy, or NULL */
    const struct weir_hist_entry *visible_at; /* its first visible copy, or NULL */
    const struct weir_hist_entry *aborted_at; /* its first copy behind an ABORT marker, or NULL */
    size_t n_visible, n_aborted;              /* copies */
} msg_fate;

static msg_fate fate_of(const hist_ctx *c, weir_msg_id id)
{
    msg_fate f = {NULL, NULL, NULL, 0, 0};
    const weir_history *h = c->h;
    for (size_t i = id_lower(h->log, h->n_log, id); i < h->n_log && cmp_id(h->log[i].id, id) == 0;
         i++) {
        const struct weir_hist_entry *e = &h->log[i];
        f.any_at = f.any_at != NULL ? f.any_at : e;
        if (vis_visible(e->vis)) {
            f.visible_at = f.visible_at != NULL ? f.visible_at : e;
            f.n_visible++;
        }
        if (e->vis == WEIR_VIS_ABORTED) {
            f.aborted_at = f.aborted_at != NULL ? f.aborted_at : e;
            f.n_aborted++;
        }
    }
    return f;
}

/* ---- the side tables: groups, commits, transactions, failed sends ---- */

static int cmp_member(const void *x, const void *y)
{
    const struct weir_hist_member *a = x, *b = y;
    return a->consumer != b->consumer ? CMP3(a->consumer, b->consumer) : CMP3(a->seq, b->seq);
}

static int cmp_commit(const void *x, const void *y)
{
    const struct weir_hist_commit *a = x, *b = y;
    if (a->group != b->group) {
        return CMP3(a->group, b->group);
    }
    if (a->partition != b->partition) {
        return CMP3(a->partition, b->partition);
    }
    if (a->reads_before != b->reads_before) {
        return CMP3(a->reads_before, b->reads_before); /* where it applies */
    }
    return CMP3(a->seq, b->seq);
}

static int cmp_seek(const void *x, const void *y)
{
    const struct weir_hist_seek *a = x, *b = y;
    if (a->consumer != b->consumer) {
        return CMP3(a->consumer, b->consumer);
    }
    if (a->epoch != b->epoch) {
        return CMP3(a->epoch, b->epoch);
    }
    if (a->partition != b->partition) {
        return CMP3(a->partition, b->partition);
    }
    return CMP3(a->seq, b->seq); /* reads_before grows with seq */
}

static int cmp_txn(const void *x, const void *y)
{
    const struct weir_hist_txn *a = x, *b = y;
    return a->txn != b->txn ? CMP3(a->txn, b->txn) : CMP3(a->seq, b->seq);
}

static int cmp_in_txn_by_txn(const void *x, const void *y)
{
    const struct weir_hist_in_txn *a = x, *b = y;
    return a->txn != b->txn ? CMP3(a->txn, b->txn) : cmp_id(a->id, b->id);
}

static int cmp_in_txn_by_id(const void *x, const void *y)
{
    const struct weir_hist_in_txn *a = x, *b = y;
    int c = cmp_id(a->id, b->id);
    return c != 0 ? c : CMP3(a->txn, b->txn);
}

static int cmp_msg_id(const void *x, const void *y)
{
    return cmp_id(*(const weir_msg_id *)x, *(const weir_msg_id *)y);
}

/* Sorts the side tables (total orders, so qsort is deterministic). */
static void tables_sort(weir_history *h)
{
    if (h->n_members > 1) {
        qsort(h->members, h->n_members, sizeof *h->members, cmp_member);
    }
    if (h->n_commits > 1) {
        qsort(h->commits, h->n_commits, sizeof *h->commits, cmp_commit);
    }
    if (h->n_seeks > 1) {
        qsort(h->seeks, h->n_seeks, sizeof *h->seeks, cmp_seek);
    }
    if (h->n_txns > 1) {
        qsort(h->txns, h->n_txns, sizeof *h->txns, cmp_txn);
    }
    if (h->n_in_txn > 1) {
        qsort(h->in_txn, h->n_in_txn, sizeof *h->in_txn, cmp_in_txn_by_txn);
    }
    if (h->n_failed > 1) {
        qsort(h->failed, h->n_failed, sizeof *h->failed, cmp_msg_id);
    }
}

/* consumer's group (its last declaration); false if it has none. */
static bool group_of(const weir_history *h, int32_t consumer, int32_t *group_out)
{
    size_t lo = 0, hi = h->n_members; /* first member above consumer */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (h->members[mid].consumer <= consumer) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo == 0 || h->members[lo - 1].consumer != consumer) {
        return false;
    }
    *group_out = h->members[lo - 1].group;
    return true;
}

/* The last commit of (group, partition) recorded before reads[read_index], or NULL. */
static const struct weir_hist_commit *commit_before(const weir_history *h, int32_t group,
                                                    int32_t partition, size_t read_index)
{
    size_t lo = 0, hi = h->n_commits; /* first commit after the ones that count */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct weir_hist_commit *m = &h->commits[mid];
        bool before = m->group != group           ? m->group < group
                      : m->partition != partition ? m->partition < partition
                                                  : m->reads_before <= read_index;
        if (before) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo == 0) {
        return NULL;
    }
    const struct weir_hist_commit *m = &h->commits[lo - 1];
    return m->group == group && m->partition == partition ? m : NULL;
}

/* The last seek of rd's (consumer, epoch, partition) recorded after
 * reads[after_index] (any, if after_index is SIZE_MAX) and before
 * reads[read_index], or NULL. */
static const struct weir_hist_seek *seek_before(const weir_history *h,
                                                const struct weir_hist_read *rd, size_t after_index,
                                                size_t read_index)
{
    size_t lo = 0, hi = h->n_seeks; /* first seek after the ones that count */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct weir_hist_seek *m = &h->seeks[mid];
        bool before = m->consumer != rd->consumer     ? m->consumer < rd->consumer
                      : m->epoch != rd->epoch         ? m->epoch < rd->epoch
                      : m->partition != rd->partition ? m->partition < rd->partition
                                                      : m->reads_before <= read_index;
        if (before) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo == 0) {
        return NULL;
    }
    const struct weir_hist_seek *m = &h->seeks[lo - 1];
    bool same =
        m->consumer == rd->consumer && m->epoch == rd->epoch && m->partition == rd->partition;
    return same && (after_index == SIZE_MAX || m->reads_before > after_index) ? m : NULL;
}

/* txn's outcome (its last record), WEIR_TXN_UNKNOWN if none. */
static weir_txn_outcome outcome_of(const weir_history *h, int64_t txn)
{
    size_t lo = 0, hi = h->n_txns;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (h->txns[mid].txn <= txn) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo > 0 && h->txns[lo - 1].txn == txn ? h->txns[lo - 1].outcome : WEIR_TXN_UNKNOWN;
}

/* The transactions id was sent in, by outcome, leaving out `except` (-1: none). */
typedef struct txn_claims {
    size_t committed, aborted, unknown;
    int64_t first_aborted; /* the lowest aborted one, or -1 */
} txn_claims;

static txn_claims claims_of(const hist_ctx *c, weir_msg_id id, int64_t except)
{
    txn_claims cl = {0, 0, 0, -1};
    const struct weir_hist_in_txn *t = c->in_txn_by_id;
    size_t lo = 0, hi = c->h->n_in_txn;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_id(t[mid].id, id) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    for (size_t i = lo; i < c->h->n_in_txn && cmp_id(t[i].id, id) == 0; i++) {
        if (t[i].txn == except || (i > lo && t[i].txn == t[i - 1].txn)) {
            continue;
        }
        switch (outcome_of(c->h, t[i].txn)) {
        case WEIR_TXN_COMMITTED:
            cl.committed++;
            break;
        case WEIR_TXN_ABORTED:
            cl.aborted++;
            cl.first_aborted = cl.first_aborted < 0 ? t[i].txn : cl.first_aborted;
            break;
        default:
            cl.unknown++;
            break;
        }
    }
    return cl;
}

static bool send_failed(const weir_history *h, weir_msg_id id)
{
    return h->n_failed > 0 && bsearch(&id, h->failed, h->n_failed, sizeof id, cmp_msg_id) != NULL;
}

/* ---- the checks that were here first ---- */

static void check_duplicates(const hist_ctx *c)
{
    const weir_history *h = c->h;
    /* equal ids side by side in id order; a copy behind an ABORT marker
     * (an aborted attempt before the committed one) is no second copy */
    const struct weir_hist_entry *kept = NULL;
    for (size_t i = 0; i < h->n_log; i++) {
        const struct weir_hist_entry *e = &h->log[i];
        if (e->vis == WEIR_VIS_ABORTED) {
            continue;
        }
        if (kept != NULL && cmp_id(e->id, kept->id) == 0) {
            note(c->r, WEIR_FINDING_DUPLICATED, e->id, e->partition, e->offset, kept->offset);
        }
        kept = e;
    }
}

static void check_reordered(const hist_ctx *c)
{
    const struct weir_hist_entry *by_place = c->by_place;
    /* within a partition, a producer's sequence must increase */
    for (size_t i = 0; i < c->h->n_log; i++) {
        const struct weir_hist_entry *e = &by_place[i];
        if (e->vis == WEIR_VIS_ABORTED) {
            continue; /* aborted records are no part of the order readers see */
        }
        for (size_t j = i; j-- > 0 && by_place[j].partition == e->partition;) {
            if (by_place[j].id.producer == e->id.producer && by_place[j].vis != WEIR_VIS_ABORTED) {
                if (by_place[j].id.seq > e->id.seq) {
                    note(c->r, WEIR_FINDING_REORDERED, e->id, e->partition, e->offset,
                         by_place[j].offset);
                }
                break;
            }
        }
    }
}

static void check_acks(const hist_ctx *c)
{
    const weir_history *h = c->h;
    for (size_t i = 0; i < h->n_acks; i++) {
        const struct weir_hist_ack *a = &h->acks[i];
        if (!a->must_survive) {
            continue;
        }
        c->r->acked_must_survive++;
        const struct weir_hist_entry *there = at_place(&c->places, a->partition, a->offset);
        if (there != NULL && cmp_id(there->id, a->id) == 0) {
            continue;
        }
        if (!id_logged(h->log, h->n_log, a->id)) {
            note(c->r, WEIR_FINDING_LOST, a->id, a->partition, a->offset, -1);
        } else {
            note(c->r, WEIR_FINDING_MOVED, a->id, a->partition, a->offset,
                 there != NULL ? there->offset : -1);
        }
    }
}

/* Reads must match the final log. Returns the dirty reads as entries (the
 * caller frees them), for inconsistent-offsets. */
static struct weir_hist_entry *check_dirty_reads(const hist_ctx *c, size_t *n_out)
{
    const weir_history *h = c->h;
    struct weir_hist_entry *dirty = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < h->n_reads; i++) {
        const struct weir_hist_read *rd = &h->reads[i];
        const struct weir_hist_entry *there = at_place(&c->places, rd->partition, rd->offset);
        if (there == NULL || cmp_id(there->id, rd->id) != 0) {
            note(c->r, WEIR_FINDING_DIRTY_READ, rd->id, rd->partition, rd->offset, -1);
            struct weir_hist_entry e = {rd->id, rd->partition, WEIR_VIS_PLAIN, rd->offset};
            PUSH(dirty, n, cap, e);
        }
    }
    *n_out = n;
    return dirty;
}

/* ---- inconsistent-offsets ---- */

/* Only places a dirty read touched, or the final log holds twice, can see two
 * ids: those entries (sus, which this frees) are sorted by place then id and
 * each place compared with the final log's message there. */
static void check_inconsistent_offsets(const hist_ctx *c, struct weir_hist_entry *sus, size_t n)
{
    size_t cap = n;
    const struct weir_hist_entry *by_place = c->by_place;
    for (size_t i = 1; i < c->h->n_log; i++) {
        if (cmp_by_place(&by_place[i - 1], &by_place[i]) == 0) {
            if (i == 1 || cmp_by_place(&by_place[i - 2], &by_place[i - 1]) != 0) {
                PUSH(sus, n, cap, by_place[i - 1]);
            }
            PUSH(sus, n, cap, by_place[i]);
        }
    }
    entries_sort(sus, n, true);
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && cmp_by_place(&sus[i], &sus[j]) == 0) {
            j++;
        }
        const struct weir_hist_entry *logged =
            at_place(&c->places, sus[i].partition, sus[i].offset);
        weir_msg_id base = logged != NULL ? logged->id : sus[i].id;
        for (size_t k = i; k < j; k++) {
            if (cmp_id(sus[k].id, base) != 0) {
                weir_finding f = finding(WEIR_FINDING_INCONSISTENT_OFFSETS, base, sus[i].partition,
                                         sus[i].offset, -1);
                f.other_id = sus[k].id;
                note_finding(c->r, f);
                break;
            }
        }
        i = j;
    }
    free(sus);
}

/* ---- unseen ---- */

static void check_unseen(const hist_ctx *c)
{
    const weir_history *h = c->h;
    if (!h->expect_all_read) {
        return;
    }
    struct weir_hist_entry *read = malloc((h->n_reads ? h->n_reads : 1) * sizeof *read);
    WEIR_ASSERT(read != NULL);
    for (size_t i = 0; i < h->n_reads; i++) {
        read[i] =
            (struct weir_hist_entry){h->reads[i].id, h->reads[i].partition, 0, h->reads[i].offset};
    }
    entries_sort(read, h->n_reads, false);
    for (size_t i = 0; i < h->n_acks; i++) {
        const struct weir_hist_ack *a = &h->acks[i];
        if (!a->must_survive || id_logged(read, h->n_reads, a->id)) {
            continue;
        }
        msg_fate f = fate_of(c, a->id);
        if (f.visible_at != NULL) { /* not in the log at all: a lost-write */
            note(c->r, WEIR_FINDING_UNSEEN, a->id, a->partition, a->offset, f.visible_at->offset);
        }
    }
    free(read);
}

/* ---- G1a: aborted reads ---- */

static void check_aborted_reads(const hist_ctx *c)
{
    const weir_history *h = c->h;
    for (size_t i = 0; i < h->n_reads; i++) {
        const struct weir_hist_read *rd = &h->reads[i];
        if (rd->consumer == WEIR_HIST_UNORDERED || !rd->read_committed) {
            continue;
        }
        /* the history's word: every send of it failed or aborted */
        txn_claims cl = claims_of(c, rd->id, -1);
        bool aborted =
            (send_failed(h, rd->id) || cl.aborted > 0) && cl.committed == 0 && cl.unknown == 0;
        if (!aborted) { /* the log's word, at the place it was read */
            const struct weir_hist_entry *there = at_place(&c->places, rd->partition, rd->offset);
            aborted =
                there != NULL && cmp_id(there->id, rd->id) == 0 && there->vis == WEIR_VIS_ABORTED;
        }
        if (aborted) {
            weir_finding f =
                finding(WEIR_FINDING_ABORTED_READ, rd->id, rd->partition, rd->offset, -1);
            f.consumer = rd->consumer;
            f.txn = cl.first_aborted;
            note_finding(c->r, f);
        }
    }
}

/* ---- the poll checks: poll-skip, nonmonotonic-poll, reread-beyond-commit ---- */

typedef struct poll_key {
    int32_t consumer, epoch, partition;
    size_t index; /* into h->reads */
} poll_key;

static int cmp_poll_key(const void *x, const void *y)
{
    const poll_key *a = x, *b = y;
    if (a->consumer != b->consumer) {
        return CMP3(a->consumer, b->consumer);
    }
    if (a->epoch != b->epoch) {
        return CMP3(a->epoch, b->epoch);
    }
    if (a->partition != b->partition) {
        return CMP3(a->partition, b->partition);
    }
    return CMP3(a->index, b->index);
}

static void note_poll(const hist_ctx *c, weir_finding_kind kind, const struct weir_hist_read *rd,
                      int64_t expected)
{
    weir_finding f = finding(kind, rd->id, rd->partition, rd->offset, expected);
    f.consumer = rd->consumer;
    note_finding(c->r, f);
}

/* rd, expected at `expected` after a seek or a previous read: earlier goes
 * back, later must skip nothing readable. */
static void check_poll_at(const hist_ctx *c, const struct weir_hist_read *rd, int64_t expected)
{
    if (rd->offset < expected) {
        note_poll(c, WEIR_FINDING_NONMONOTONIC_POLL, rd, expected);
    } else if (readable_between(c, rd->partition, expected, rd->offset, rd->read_committed) > 0) {
        note_poll(c, WEIR_FINDING_POLL_SKIP, rd, expected);
    }
}

/* The first read of an assignment (reads[index]) resumes where the consumer
 * seeked, else at its group's last commit. */
static void check_poll_start(const hist_ctx *c, size_t index)
{
    const struct weir_hist_read *rd = &c->h->reads[index];
    const struct weir_hist_seek *sk = seek_before(c->h, rd, SIZE_MAX, index);
    if (sk != NULL) {
        check_poll_at(c, rd, sk->offset);
        return;
    }
    int32_t group;
    if (!group_of(c->h, rd->consumer, &group)) {
        return;
    }
    const struct weir_hist_commit *cm = commit_before(c->h, group, rd->partition, index);
    if (cm == NULL) {
        return; /* nothing committed yet: the reset policy decides */
    }
    if (rd->offset < cm->offset) {
        note_poll(c, WEIR_FINDING_REREAD_BEYOND_COMMIT, rd, cm->offset);
    } else if (readable_between(c, rd->partition, cm->offset, rd->offset, rd->read_committed) > 0) {
        note_poll(c, WEIR_FINDING_POLL_SKIP, rd, cm->offset);
    }
}

/* reads[index] follows reads[prev_index] within one assignment: one step
 * forward over nothing readable, unless the consumer seeked in between. */
static void check_poll_step(const hist_ctx *c, size_t prev_index, size_t index)
{
    const struct weir_hist_read *prev = &c->h->reads[prev_index], *rd = &c->h->reads[index];
    const struct weir_hist_seek *sk = seek_before(c->h, rd, prev_index, index);
    check_poll_at(c, rd, sk != NULL ? sk->offset : prev->offset + 1);
}

static void check_polls(hist_ctx *c)
{
    const weir_history *h = c->h;
    size_t n = 0;
    for (size_t i = 0; i < h->n_reads; i++) {
        n += h->reads[i].consumer != WEIR_HIST_UNORDERED;
    }
    if (n == 0) {
        return;
    }
    poll_key *keys = malloc(n * sizeof *keys);
    c->visible_before = malloc((h->n_log + 1) * sizeof *c->visible_before);
    WEIR_ASSERT(keys != NULL && c->visible_before != NULL);
    c->visible_before[0] = 0;
    for (size_t i = 0; i < h->n_log; i++) {
        c->visible_before[i + 1] = c->visible_before[i] + vis_visible(c->by_place[i].vis);
    }
    n = 0;
    for (size_t i = 0; i < h->n_reads; i++) {
        const struct weir_hist_read *rd = &h->reads[i];
        if (rd->consumer != WEIR_HIST_UNORDERED) {
            keys[n++] = (poll_key){rd->consumer, rd->epoch, rd->partition, i};
        }
    }
    qsort(keys, n, sizeof *keys, cmp_poll_key);
    for (size_t i = 0; i < n; i++) {
        bool starts = i == 0 || keys[i - 1].consumer != keys[i].consumer ||
                      keys[i - 1].epoch != keys[i].epoch ||
                      keys[i - 1].partition != keys[i].partition;
        if (starts) {
            check_poll_start(c, keys[i].index);
        } else {
            check_poll_step(c, keys[i - 1].index, keys[i].index);
        }
    }
    free(keys);
}

/* ---- torn-transaction ---- */

/* Whether in_txn[i] takes part in its transaction's fate: not a failed send
 * the final log does not hold. */
static bool torn_counts(const hist_ctx *c, size_t i, const msg_fate *f)
{
    return f->any_at != NULL || !send_failed(c->h, c->h->in_txn[i].id);
}

/* One transaction: in_txn[from, to) (sorted by id). A message also sent in
 * other transactions (a retry after an abort) may owe its visible copies to
 * the committed or unknown ones and its aborted copies to the aborted or
 * unknown ones; only copies none of them explains contradict T's outcome. */
static void check_torn_one(const hist_ctx *c, size_t from, size_t to)
{
    const weir_history *h = c->h;
    int64_t txn = h->in_txn[from].txn;
    weir_txn_outcome outcome = outcome_of(h, txn);
    size_t first_visible = to, first_hidden = to, stray_visible = to, stray_aborted = to;
    for (size_t i = from; i < to; i++) {
        msg_fate f = fate_of(c, h->in_txn[i].id);
        if (!torn_counts(c, i, &f)) {
            continue;
        }
        txn_claims cl = claims_of(c, h->in_txn[i].id, txn);
        first_visible = first_visible == to && f.n_visible > 0 ? i : first_visible;
        first_hidden = first_hidden == to && f.n_visible == 0 ? i : first_hidden;
        if (stray_visible == to && f.n_visible > cl.committed + cl.unknown) {
            stray_visible = i;
        }
        if (stray_aborted == to && f.n_aborted > cl.aborted + cl.unknown) {
            stray_aborted = i;
        }
    }
    size_t named = to;
    if (outcome != WEIR_TXN_ABORTED && first_visible < to && first_hidden < to) {
        named = first_visible; /* some visible, another not */
    } else if (outcome == WEIR_TXN_ABORTED && stray_visible < to) {
        named = stray_visible; /* aborted, yet visible */
    } else if (outcome == WEIR_TXN_COMMITTED && stray_aborted < to) {
        named = stray_aborted; /* committed, yet behind an ABORT marker */
    }
    if (named == to) {
        return;
    }
    msg_fate nf = fate_of(c, h->in_txn[named].id);
    const struct weir_hist_entry *at = nf.visible_at != NULL ? nf.visible_at : nf.aborted_at;
    WEIR_ASSERT(at != NULL);
    weir_finding out =
        finding(WEIR_FINDING_TORN_TXN, h->in_txn[named].id, at->partition, at->offset, -1);
    out.txn = txn;
    for (size_t i = from; i < to; i++) {
        msg_fate f = fate_of(c, h->in_txn[i].id);
        if (torn_counts(c, i, &f) && (f.n_visible > 0) != (nf.n_visible > 0)) {
            out.other_id = h->in_txn[i].id;
            out.other_offset = f.any_at != NULL ? f.any_at->offset : -1;
            break;
        }
    }
    note_finding(c->r, out);
}

static void check_torn(const hist_ctx *c)
{
    const weir_history *h = c->h;
    for (size_t i = 0; i < h->n_in_txn;) {
        size_t j = i + 1;
        while (j < h->n_in_txn && h->in_txn[j].txn == h->in_txn[i].txn) {
            j++;
        }
        check_torn_one(c, i, j);
        i = j;
    }
}

/* ---- the whole check ---- */

/* Copies the final log into by_place (sorted by place) and sorts h->log by
 * id; the radix sorts are stable, so equal ids stay in place order. */
static struct weir_hist_entry *log_prepare(weir_history *h)
{
    struct weir_hist_entry *by_place = malloc((h->n_log ? h->n_log : 1) * sizeof *by_place);
    WEIR_ASSERT(by_place != NULL);
    if (h->n_log > 0) {
        memcpy(by_place, h->log, h->n_log * sizeof *by_place);
    }
    if (h->n_log > 1) {
        if (!sorted_by_place(by_place, h->n_log)) {
            radix_sort(by_place, h->log, h->n_log, false);
        }
        memcpy(h->log, by_place, h->n_log * sizeof *h->log);
        struct weir_hist_entry *tmp = malloc(h->n_log * sizeof *tmp);
        WEIR_ASSERT(tmp != NULL);
        radix_sort(h->log, tmp, h->n_log, true);
        free(tmp);
    }
    return by_place;
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

    hist_ctx c = {.h = h, .r = r};
    c.by_place = log_prepare(h);
    places_build(&c.places, c.by_place, h->n_log);
    tables_sort(h);
    if (h->n_in_txn > 0) {
        c.in_txn_by_id = malloc(h->n_in_txn * sizeof *c.in_txn_by_id);
        WEIR_ASSERT(c.in_txn_by_id != NULL);
        memcpy(c.in_txn_by_id, h->in_txn, h->n_in_txn * sizeof *c.in_txn_by_id);
        qsort(c.in_txn_by_id, h->n_in_txn, sizeof *c.in_txn_by_id, cmp_in_txn_by_id);
    }

    check_duplicates(&c);
    check_reordered(&c);
    check_acks(&c);
    size_t n_dirty;
    struct weir_hist_entry *dirty = check_dirty_reads(&c, &n_dirty);
    check_inconsistent_offsets(&c, dirty, n_dirty);
    check_unseen(&c);
    check_aborted_reads(&c);
    check_polls(&c);
    check_torn(&c);

    free(c.in_txn_by_id);
    free(c.visible_before);
    free(c.places.runs);
    free(c.by_place);
    size_t total = 0;
    for (int k = 0; k < WEIR_FINDING_KINDS_; k++) {
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
