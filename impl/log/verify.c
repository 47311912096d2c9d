/* Read-only health check of a partition folder (see verify.h).
 *
 * Segments are checked one at a time, in offset order: the .log is scanned
 * (weir_segment_scan_file), its valid batches are kept in memory as (position,
 * offsets, max timestamp) and its two indexes are compared with them. Then
 * every other file is looked at in name order. Nothing is ever written: files
 * are opened with no flags (no CREATE, no TRUNC) and only read, and the index
 * files are read raw rather than through weir_index_open, which preallocates.
 */
#include "log/verify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "core/bytes.h"
#include "log/batch.h"
#include "log/checkpoint.h"
#include "log/index.h"
#include "log/log.h"
#include "log/segment.h"
#include "log/snapshot.h"
#include "log/txn_index.h"

#define VF_INDEX_BYTES_MAX ((size_t)1 << 31) /* segment.index.bytes is an int32 */
#define VF_PATH_MAX 1024

/* A valid batch of the segment being checked. */
typedef struct vf_batch {
    uint64_t pos;
    int64_t base;
    int64_t last;
    int64_t max_ts;
} vf_batch;

typedef struct vf_segment {
    int64_t base;
    char name[WEIR_SEGMENT_NAME_DIGITS + 16]; /* "<base>.log" */
    vf_batch *b;
    size_t n;
    size_t cap;
    uint64_t valid_bytes; /* of whole valid batches from the start */
    int64_t next_offset;  /* after the last valid batch */
    bool damaged;         /* the .log was not valid to its end: indexes are judged up to there */
} vf_segment;

typedef struct vf {
    weir_env *env;
    const char *dir;
    weir_verify_issue_cb cb;
    void *arg;
    weir_verify_report *rep;
    char topic[WEIR_LOG_TOPIC_MAX + 1];
    int32_t partition;
    const weir_dirlist *list;
    /* leader-epoch-checkpoint, loaded before the segments so batches can be
     * compared with it; its own problems are reported with the metadata. */
    int epochs_err;
    char epochs_why[200];
    weir_epoch_entry *epochs;
    size_t epoch_count;
    int64_t epoch_mismatches;
    int64_t epoch_first_bad_offset;
    int32_t epoch_first_bad_has;
    int32_t epoch_first_bad_want;
    vf_segment *seg; /* the segment being scanned */
    int err;         /* what stopped the check (WEIR_E_NOMEM) */
} vf;

__attribute__((format(printf, 7, 8))) static void vf_issue(vf *v, weir_verify_severity sev,
                                                           const char *file, int64_t position,
                                                           int64_t offset, int line,
                                                           const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (sev == WEIR_VERIFY_PROBLEM) {
        v->rep->problems++;
    } else {
        v->rep->notes++;
    }
    if (v->cb != NULL) {
        weir_verify_issue issue = {sev, file, position, offset, line, msg};
        v->cb(&issue, v->arg);
    }
}

/* Reports a reader's "<file>:<line>: <reason>" text with the line split out. */
static void vf_issue_why(vf *v, const char *file, const char *why)
{
    size_t n = strlen(file);
    int line = 0;
    if (strncmp(why, file, n) == 0 && why[n] == ':') {
        const char *p = why + n + 1;
        while (*p >= '0' && *p <= '9' && line < 1000000) {
            line = line * 10 + (*p++ - '0');
        }
        if (p[0] == ':' && p[1] == ' ') {
            why = p + 2;
        } else {
            line = 0;
        }
    }
    vf_issue(v, WEIR_VERIFY_PROBLEM, file, -1, -1, line, "%s", why);
}

static bool vf_path(char *out, size_t size, const char *dir, const char *name)
{
    int n = snprintf(out, size, "%s/%s", dir, name);
    return n > 0 && (size_t)n < size;
}

static bool vf_has_suffix(const char *name, const char *suffix)
{
    size_t n = strlen(name), s = strlen(suffix);
    return n >= s && strcmp(name + n - s, suffix) == 0;
}

static bool vf_listed(const vf *v, const char *name)
{
    for (size_t i = 0; i < v->list->count; i++) {
        if (strcmp(v->list->names[i], name) == 0) {
            return true;
        }
    }
    return false;
}

/* ---- leader epochs ---- */

/* Epoch the checkpoint gives `offset`, -1 if it precedes every entry. */
static int32_t vf_epoch_at(const vf *v, int64_t offset)
{
    int32_t epoch = -1;
    for (size_t i = 0; i < v->epoch_count && v->epochs[i].start_offset <= offset; i++) {
        epoch = v->epochs[i].epoch;
    }
    return epoch;
}

static void vf_epochs_load(vf *v)
{
    v->epochs_err = WEIR_E_NOENT;
    if (!vf_listed(v, WEIR_EPOCH_CHECKPOINT)) {
        return;
    }
    v->epochs_err = weir_epoch_checkpoint_read(v->env, v->dir, &v->epochs, &v->epoch_count,
                                               v->epochs_why, sizeof v->epochs_why);
    if (v->epochs_err == WEIR_E_NOMEM) {
        v->err = WEIR_E_NOMEM;
    }
}

static void vf_epochs_report(vf *v)
{
    static const char name[] = WEIR_EPOCH_CHECKPOINT;
    if (v->epochs_err == WEIR_E_CORRUPT) {
        vf_issue_why(v, name, v->epochs_why);
        return;
    }
    if (v->epochs_err != 0) {
        vf_issue(v, WEIR_VERIFY_PROBLEM, name, -1, -1, 0, "cannot read it: %s",
                 weir_err_str(v->epochs_err));
        return;
    }
    int64_t end = v->rep->end_offset;
    for (size_t i = 0; i < v->epoch_count && v->rep->segments > 0; i++) {
        if (v->epochs[i].start_offset > end) {
            vf_issue(v, WEIR_VERIFY_PROBLEM, name, -1, v->epochs[i].start_offset, (int)i + 3,
                     "epoch %d starts at offset %lld, past the log end %lld", v->epochs[i].epoch,
                     (long long)v->epochs[i].start_offset, (long long)end);
        }
    }
    if (v->epoch_mismatches > 0) {
        vf_issue(v, WEIR_VERIFY_PROBLEM, name, -1, v->epoch_first_bad_offset, 0,
                 "%lld batch(es) disagree with it; the first, at offset %lld, has leader epoch %d "
                 "where the checkpoint gives %d",
                 (long long)v->epoch_mismatches, (long long)v->epoch_first_bad_offset,
                 v->epoch_first_bad_has, v->epoch_first_bad_want);
    }
}

/* ---- one segment's .log ---- */

static void vf_scan_each(const weir_batch_header *h, uint64_t pos, const uint8_t *batch, void *arg)
{
    vf *v = arg;
    vf_segment *s = v->seg;
    if (v->err != 0) {
        return;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        vf_batch *nb = realloc(s->b, cap * sizeof *nb);
        if (nb == NULL) {
            v->err = WEIR_E_NOMEM;
            return;
        }
        s->b = nb;
        s->cap = cap;
    }
    vf_batch *b = &s->b[s->n++];
    b->pos = pos;
    b->base = h->base_offset;
    b->last = weir_batch_last_offset(h);
    b->max_ts = h->max_timestamp;
    v->rep->batches++;
    v->rep->records += h->record_count;
    const char *why = NULL;
    if (weir_batch_validate_records(batch, (size_t)weir_batch_total_bytes(h), &why) != 0) {
        vf_issue(v, WEIR_VERIFY_PROBLEM, s->name, (int64_t)pos, b->base, 0,
                 "batch of offsets %lld..%lld has a valid CRC but bad records: %s",
                 (long long)b->base, (long long)b->last, why);
    }
    if (v->epochs_err == 0 && h->leader_epoch >= 0) {
        int32_t want = vf_epoch_at(v, b->base);
        if (want != h->leader_epoch && v->epoch_mismatches++ == 0) {
            v->epoch_first_bad_offset = b->base;
            v->epoch_first_bad_has = h->leader_epoch;
            v->epoch_first_bad_want = want;
        }
    }
}

/* Checks that the segment continues the previous one (prev_end < 0: first or
 * after a damaged one), then scans its .log. Returns false if the .log could
 * not be read to its end (so where it really ends is unknown). */
static bool vf_check_log(vf *v, vf_segment *s, int64_t prev_end)
{
    if (prev_end >= 0 && s->base > prev_end) {
        vf_issue(v, WEIR_VERIFY_PROBLEM, s->name, 0, s->base, 0,
                 "offsets %lld..%lld are missing: the previous segment ends at %lld but this one "
                 "starts at %lld (no %020lld.log)",
                 (long long)prev_end, (long long)s->base - 1, (long long)prev_end,
                 (long long)s->base, (long long)prev_end);
    } else if (prev_end >= 0 && s->base < prev_end) {
        vf_issue(v, WEIR_VERIFY_PROBLEM, s->name, 0, s->base, 0,
                 "overlaps the previous segment: it starts at offset %lld, before that one's end "
                 "%lld",
                 (long long)s->base, (long long)prev_end);
    }
    char path[VF_PATH_MAX];
    weir_file *f = NULL;
    int err = vf_path(path, sizeof path, v->dir, s->name) ? 0 : WEIR_E_INVAL;
    if (err == 0) {
        err = weir_file_open(v->env, path, WEIR_F_RDONLY, &f);
    }
    if (err != 0) {
        vf_issue(v, WEIR_VERIFY_PROBLEM, s->name, -1, s->base, 0, "cannot open it: %s",
                 weir_err_str(err));
        return false;
    }
    weir_segment_scan scan;
    v->seg = s;
    err = weir_segment_scan_file(v->env, f, s->base, &scan, vf_scan_each, v);
    v->seg = NULL;
    weir_file_close(v->env, f);
    v->rep->log_bytes += scan.file_bytes;
    s->valid_bytes = scan.valid_bytes;
    s->next_offset = scan.next_offset;
    if (err != 0) {
        vf_issue(v, WEIR_VERIFY_PROBLEM, s->name, (int64_t)scan.valid_bytes, scan.next_offset, 0,
                 "reading it failed: %s", weir_err_str(err));
    } else if (scan.damaged) {
        vf_issue(v, WEIR_VERIFY_PROBLEM, s->name, (int64_t)scan.valid_bytes, scan.next_offset, 0,
                 "%s (the last %llu of its %llu bytes are not valid batches)", scan.why,
                 (unsigned long long)(scan.file_bytes - scan.valid_bytes),
                 (unsigned long long)scan.file_bytes);
    }
    return err == 0 && !scan.damaged;
}

/* ---- one segment's indexes ---- */

/* The batch starting at pos, or -1. */
static ptrdiff_t vf_batch_at_pos(const vf_segment *s, uint64_t pos)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->b[mid].pos < pos) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < s->n && s->b[lo].pos == pos ? (ptrdiff_t)lo : -1;
}

/* The batch holding offset, or -1. */
static ptrdiff_t vf_batch_holding(const vf_segment *s, int64_t offset)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->b[mid].last < offset) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < s->n && s->b[lo].base <= offset ? (ptrdiff_t)lo : -1;
}

static bool vf_all_zero(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] != 0) {
            return false;
        }
    }
    return true;
}

/* Bytes from `from` on must be zero (preallocated space after the last entry). */
static void vf_check_index_tail(vf *v, const char *name, const uint8_t *raw, size_t len,
                                size_t from)
{
    for (size_t at = from; at < len; at++) {
        if (raw[at] != 0) {
            vf_issue(v, WEIR_VERIFY_PROBLEM, name, (int64_t)at, -1, 0,
                     "non-zero byte after the last entry (entries end at byte %zu)", from);
            return;
        }
    }
}

/* Reads a whole index file; false (after reporting) if it cannot. */
static bool vf_index_load(vf *v, const char *name, uint8_t **raw, size_t *len)
{
    char path[VF_PATH_MAX];
    char *buf = NULL;
    int err = vf_path(path, sizeof path, v->dir, name) ? 0 : WEIR_E_INVAL;
    if (err == 0) {
        err = weir_checkpoint_slurp(v->env, path, VF_INDEX_BYTES_MAX, &buf, len);
    }
    if (err == WEIR_E_NOENT) {
        vf_issue(v, WEIR_VERIFY_NOTE, name, -1, -1, 0,
                 "missing (weir rebuilds it from the .log when it opens the log)");
        return false;
    }
    if (err == WEIR_E_NOMEM) {
        v->err = err;
    }
    if (err != 0) {
        vf_issue(v, WEIR_VERIFY_PROBLEM, name, -1, -1, 0, "cannot read it: %s",
                 err == WEIR_E_CORRUPT ? "larger than 2 GiB" : weir_err_str(err));
        return false;
    }
    *raw = (uint8_t *)buf;
    return true;
}

/* One offset-index entry against the batches; NULL if it is right, else why
 * (written into msg). */
static const char *vf_offset_entry_why(const vf_segment *s, size_t i, uint32_t rel, uint32_t pos,
                                       int64_t prev_rel, uint32_t prev_pos, char *msg, size_t size)
{
    int64_t off = s->base + rel;
    ptrdiff_t k;
    if (pos == 0) {
        snprintf(msg, size, "entry %zu (offset %lld) has position 0, which is never indexed", i,
                 (long long)off);
    } else if ((int64_t)rel <= prev_rel || pos <= prev_pos) {
        snprintf(msg, size,
                 "entry %zu (offset %lld, position %u) does not follow the previous one (offset "
                 "%lld, position %u)",
                 i, (long long)off, pos, (long long)(s->base + prev_rel), prev_pos);
    } else if (off >= s->next_offset) {
        snprintf(msg, size, "entry %zu: offset %lld is past the segment's last valid offset %lld",
                 i, (long long)off, (long long)s->next_offset - 1);
    } else if (pos >= s->valid_bytes) {
        snprintf(msg, size,
                 "entry %zu (offset %lld): position %u is past the .log's valid batches (%llu "
                 "bytes)",
                 i, (long long)off, pos, (unsigned long long)s->valid_bytes);
    } else if ((k = vf_batch_at_pos(s, pos)) < 0) {
        snprintf(msg, size, "entry %zu (offset %lld): position %u is not the start of a batch", i,
                 (long long)off, pos);
    } else if (s->b[k].last != off) {
        snprintf(msg, size,
                 "entry %zu: position %u starts the batch of offsets %lld..%lld, not one ending "
                 "at offset %lld",
                 i, pos, (long long)s->b[k].base, (long long)s->b[k].last, (long long)off);
    } else {
        return NULL;
    }
    return msg;
}

static void vf_check_offset_index(vf *v, const vf_segment *s, const char *name)
{
    uint8_t *raw;
    size_t len;
    if (!vf_index_load(v, name, &raw, &len)) {
        return;
    }
    size_t n = len / WEIR_OFFSET_INDEX_ENTRY;
    int64_t prev_rel = -1;
    uint32_t prev_pos = 0;
    size_t i = 0;
    for (; i < n; i++) {
        const uint8_t *e = raw + i * WEIR_OFFSET_INDEX_ENTRY;
        if (vf_all_zero(e, WEIR_OFFSET_INDEX_ENTRY)) {
            break; /* preallocated space: the entries end here */
        }
        uint32_t rel = weir_get_be32(e);
        uint32_t pos = weir_get_be32(e + 4);
        if (s->damaged && (s->base + rel >= s->next_offset || pos >= s->valid_bytes)) {
            free(raw); /* past the .log's damage, already reported: nothing to compare */
            return;
        }
        char msg[240];
        const char *why = vf_offset_entry_why(s, i, rel, pos, prev_rel, prev_pos, msg, sizeof msg);
        if (why != NULL) {
            vf_issue(v, WEIR_VERIFY_PROBLEM, name, (int64_t)(i * WEIR_OFFSET_INDEX_ENTRY),
                     s->base + rel, 0, "%s", why);
            free(raw);
            return; /* the index is damaged from here on */
        }
        prev_rel = rel;
        prev_pos = pos;
    }
    vf_check_index_tail(v, name, raw, len, i * WEIR_OFFSET_INDEX_ENTRY);
    free(raw);
}

static const char *vf_time_entry_why(const vf_segment *s, size_t i, int64_t ts, uint32_t rel,
                                     int64_t prev_ts, int64_t prev_rel, char *msg, size_t size)
{
    int64_t off = s->base + rel;
    ptrdiff_t k;
    if (i > 0 && (ts <= prev_ts || (int64_t)rel < prev_rel)) {
        snprintf(msg, size,
                 "entry %zu (timestamp %lld, offset %lld) does not follow the previous one "
                 "(timestamp %lld, offset %lld)",
                 i, (long long)ts, (long long)off, (long long)prev_ts,
                 (long long)(s->base + prev_rel));
    } else if (off >= s->next_offset) {
        snprintf(msg, size, "entry %zu: offset %lld is past the segment's last valid offset %lld",
                 i, (long long)off, (long long)s->next_offset - 1);
    } else if ((k = vf_batch_holding(s, off)) < 0) {
        snprintf(msg, size, "entry %zu: offset %lld is in no batch of the .log", i, (long long)off);
    } else if (s->b[k].max_ts != ts) {
        snprintf(msg, size,
                 "entry %zu: timestamp %lld for offset %lld, but the batch of offsets %lld..%lld "
                 "has max timestamp %lld",
                 i, (long long)ts, (long long)off, (long long)s->b[k].base, (long long)s->b[k].last,
                 (long long)s->b[k].max_ts);
    } else {
        return NULL;
    }
    return msg;
}

static void vf_check_time_index(vf *v, const vf_segment *s, const char *name)
{
    uint8_t *raw;
    size_t len;
    if (!vf_index_load(v, name, &raw, &len)) {
        return;
    }
    size_t n = len / WEIR_TIME_INDEX_ENTRY;
    int64_t prev_ts = INT64_MIN;
    int64_t prev_rel = -1;
    size_t i = 0;
    for (; i < n; i++) {
        const uint8_t *e = raw + i * WEIR_TIME_INDEX_ENTRY;
        if (vf_all_zero(e, WEIR_TIME_INDEX_ENTRY)) {
            break;
        }
        int64_t ts = (int64_t)weir_get_be64(e);
        uint32_t rel = weir_get_be32(e + 8);
        if (s->damaged && s->base + rel >= s->next_offset) {
            free(raw);
            return;
        }
        char msg[240];
        const char *why = vf_time_entry_why(s, i, ts, rel, prev_ts, prev_rel, msg, sizeof msg);
        if (why != NULL) {
            vf_issue(v, WEIR_VERIFY_PROBLEM, name, (int64_t)(i * WEIR_TIME_INDEX_ENTRY),
                     s->base + rel, 0, "%s", why);
            free(raw);
            return;
        }
        prev_ts = ts;
        prev_rel = rel;
    }
    vf_check_index_tail(v, name, raw, len, i * WEIR_TIME_INDEX_ENTRY);
    free(raw);
}

/* The .txnindex of a segment, if it has one: whole entries in Kafka's format,
 * each naming a one-record batch of the segment (its ABORT marker). */
static void vf_check_txn_index(vf *v, const vf_segment *s, const char *name)
{
    if (!vf_listed(v, name)) {
        return; /* most segments have none */
    }
    uint8_t *raw;
    size_t len;
    if (!vf_index_load(v, name, &raw, &len)) {
        return;
    }
    weir_aborted_txn *e = NULL;
    size_t n = 0;
    const char *why = NULL;
    int err = weir_txn_index_decode(raw, len, s->base, &e, &n, &why);
    free(raw);
    if (err == WEIR_E_NOMEM) {
        v->err = err;
        return;
    }
    if (err != 0) {
        vf_issue(v, WEIR_VERIFY_PROBLEM, name, (int64_t)(n * WEIR_TXN_INDEX_ENTRY_BYTES), -1, 0,
                 "%s", why);
    }
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        while (j < s->n && s->b[j].base < e[i].last_offset) {
            j++;
        }
        bool marker = j < s->n && s->b[j].base == e[i].last_offset && s->b[j].last == s->b[j].base;
        if (!marker && !(s->damaged && e[i].last_offset >= s->next_offset)) {
            vf_issue(v, WEIR_VERIFY_PROBLEM, name, (int64_t)(i * WEIR_TXN_INDEX_ENTRY_BYTES),
                     e[i].last_offset, 0,
                     "producer %lld: no one-record marker batch at offset %lld in the segment",
                     (long long)e[i].producer_id, (long long)e[i].last_offset);
            break;
        }
    }
    free(e);
}

/* Checks every segment in offset order (the list is sorted by name, and the
 * names are 20-digit base offsets). */
static void vf_check_segments(vf *v)
{
    int64_t prev_end = -1;
    vf_segment s;
    memset(&s, 0, sizeof s);
    for (size_t i = 0; i < v->list->count && v->err == 0; i++) {
        int64_t base = weir_segment_parse_name(v->list->names[i], "log");
        if (base < 0) {
            continue;
        }
        s.base = base;
        s.n = 0;
        s.valid_bytes = 0;
        s.next_offset = base;
        snprintf(s.name, sizeof s.name, "%s", v->list->names[i]);
        if (v->rep->segments++ == 0) {
            v->rep->start_offset = base;
        }
        s.damaged = !vf_check_log(v, &s, prev_end);
        /* After a damaged .log the next segment's start cannot be judged. */
        prev_end = s.damaged ? -1 : s.next_offset;
        v->rep->end_offset = s.next_offset;
        char name[sizeof s.name];
        snprintf(name, sizeof name, "%020lld.index", (long long)base);
        vf_check_offset_index(v, &s, name);
        snprintf(name, sizeof name, "%020lld.timeindex", (long long)base);
        vf_check_time_index(v, &s, name);
        snprintf(name, sizeof name, "%020lld.txnindex", (long long)base);
        vf_check_txn_index(v, &s, name);
    }
    free(s.b);
    if (v->rep->segments == 0) {
        vf_issue(v, WEIR_VERIFY_PROBLEM, "", -1, -1, 0,
                 "no segment: a partition folder holds at least one <20-digit offset>.log");
    }
}

/* ---- metadata files ---- */

static void vf_check_offset_checkpoint(vf *v, const char *name, const char *what)
{
    char why[200];
    int64_t off = -1;
    int err = weir_offset_checkpoint_read(v->env, v->dir, name, v->topic, v->partition, &off, why,
                                          sizeof why);
    if (err == WEIR_E_CORRUPT) {
        vf_issue_why(v, name, why);
    } else if (err == WEIR_E_NOENT) {
        vf_issue(v, WEIR_VERIFY_PROBLEM, name, -1, -1, 0, "has no entry for %s-%d", v->topic,
                 v->partition);
    } else if (err != 0) {
        vf_issue(v, WEIR_VERIFY_PROBLEM, name, -1, -1, 0, "cannot read it: %s", weir_err_str(err));
    } else if (v->rep->segments > 0 && off > v->rep->end_offset) {
        vf_issue(v, WEIR_VERIFY_PROBLEM, name, -1, off, 0, "%s %lld is past the log end %lld", what,
                 (long long)off, (long long)v->rep->end_offset);
    }
}

static void vf_check_snapshot(vf *v, const char *name, int64_t offset)
{
    weir_producer_entry *e = NULL;
    size_t n = 0;
    const char *why = NULL;
    int err = weir_snapshot_read(v->env, v->dir, offset, &e, &n, &why);
    if (err == WEIR_E_CORRUPT) {
        vf_issue(v, WEIR_VERIFY_PROBLEM, name, -1, offset, 0, "does not decode: %s", why);
    } else if (err != 0) {
        vf_issue(v, WEIR_VERIFY_PROBLEM, name, -1, offset, 0, "cannot read it: %s",
                 weir_err_str(err));
    } else if (v->rep->segments > 0 && offset > v->rep->end_offset) {
        vf_issue(v, WEIR_VERIFY_PROBLEM, name, -1, offset, 0,
                 "snapshot at offset %lld is past the log end %lld", (long long)offset,
                 (long long)v->rep->end_offset);
    }
    for (size_t i = 0; err == 0 && i < n; i++) {
        if (e[i].last_offset >= offset) {
            vf_issue(v, WEIR_VERIFY_PROBLEM, name,
                     (int64_t)(WEIR_SNAPSHOT_HEADER_BYTES + i * WEIR_SNAPSHOT_ENTRY_BYTES),
                     e[i].last_offset, 0,
                     "producer %lld: last offset %lld is not below the snapshot's offset %lld",
                     (long long)e[i].producer_id, (long long)e[i].last_offset, (long long)offset);
            break;
        }
    }
    free(e);
}

/* An index whose .log exists is a segment file, checked with its segment. */
static bool vf_is_segment_index(const vf *v, const char *name, int64_t *base)
{
    *base = weir_segment_parse_name(name, "index");
    if (*base < 0) {
        *base = weir_segment_parse_name(name, "timeindex");
    }
    if (*base < 0) {
        *base = weir_segment_parse_name(name, "txnindex");
    }
    if (*base < 0) {
        return false;
    }
    char log_name[WEIR_SEGMENT_NAME_DIGITS + 8];
    snprintf(log_name, sizeof log_name, "%020lld.log", (long long)*base);
    return vf_listed(v, log_name);
}

/* Every file that is not a segment's, in name order. */
static void vf_check_other(vf *v, const char *name)
{
    int64_t n;
    if (weir_segment_parse_name(name, "log") >= 0 || strcmp(name, WEIR_CLEAN_SHUTDOWN) == 0 ||
        strcmp(name, "partition.metadata") == 0) {
        return;
    }
    if (strcmp(name, WEIR_EPOCH_CHECKPOINT) == 0) {
        vf_epochs_report(v);
    } else if (strcmp(name, WEIR_HW_CHECKPOINT) == 0) {
        vf_check_offset_checkpoint(v, name, "high watermark");
    } else if (strcmp(name, WEIR_RECOVERY_CHECKPOINT) == 0) {
        vf_check_offset_checkpoint(v, name, "recovery point");
    } else if (strcmp(name, WEIR_LOG_START_CHECKPOINT) == 0) {
        vf_check_offset_checkpoint(v, name, "log start offset");
    } else if ((n = weir_segment_parse_name(name, "snapshot")) >= 0) {
        vf_check_snapshot(v, name, n);
    } else if (vf_is_segment_index(v, name, &n)) {
        return;
    } else if (n >= 0) {
        vf_issue(v, WEIR_VERIFY_PROBLEM, name, -1, n, 0, "orphan index: there is no %020lld.log",
                 (long long)n);
    } else if (vf_has_suffix(name, ".tmp") || vf_has_suffix(name, ".deleted") ||
               vf_has_suffix(name, ".cleaned") || vf_has_suffix(name, ".swap")) {
        vf_issue(v, WEIR_VERIFY_NOTE, name, -1, -1, 0,
                 "leftover of an interrupted operation (weir removes it when it opens the log)");
    } else {
        vf_issue(v, WEIR_VERIFY_NOTE, name, -1, -1, 0, "unknown file, not checked");
    }
}

int weir_log_verify(weir_env *env, const char *dir, weir_verify_issue_cb cb, void *arg,
                    weir_verify_report *report)
{
    WEIR_ASSERT(env != NULL && dir != NULL && report != NULL);
    memset(report, 0, sizeof *report);
    report->start_offset = -1;
    report->end_offset = -1;
    vf v;
    memset(&v, 0, sizeof v);
    v.env = env;
    v.dir = dir;
    v.cb = cb;
    v.arg = arg;
    v.rep = report;
    int err = weir_log_parse_dir_name(dir, v.topic, sizeof v.topic, &v.partition);
    if (err != 0) {
        return err;
    }
    bool is_dir = false;
    err = weir_fs_stat(env, dir, &is_dir, NULL);
    if (err == 0 && !is_dir) {
        err = WEIR_E_NOTDIR;
    }
    weir_dirlist list = {0};
    if (err == 0) {
        err = weir_fs_list(env, dir, &list);
    }
    if (err != 0) {
        return err;
    }
    v.list = &list;
    vf_epochs_load(&v);
    if (v.err == 0) {
        vf_check_segments(&v);
    }
    for (size_t i = 0; i < list.count && v.err == 0; i++) {
        vf_check_other(&v, list.names[i]);
    }
    free(v.epochs);
    weir_fs_list_free(&list);
    return v.err;
}
