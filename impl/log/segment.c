#include "log/segment.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "core/bytes.h"

#define SCAN_WINDOW (256 * 1024)

bool weir_segment_path(char *out, size_t size, const char *dir, int64_t base, const char *suffix)
{
    WEIR_ASSERT(base >= 0);
    int n = snprintf(out, size, "%s/%020lld%s", dir, (long long)base, suffix);
    return n > 0 && (size_t)n < size;
}

int64_t weir_segment_parse_name(const char *name, const char *ext)
{
    size_t ext_len = strlen(ext);
    if (strlen(name) != WEIR_SEGMENT_NAME_DIGITS + 1 + ext_len || name[20] != '.' ||
        strcmp(name + 21, ext) != 0) {
        return -1;
    }
    int64_t v = 0;
    for (int i = 0; i < WEIR_SEGMENT_NAME_DIGITS; i++) {
        if (name[i] < '0' || name[i] > '9') {
            return -1;
        }
        int d = name[i] - '0';
        if (v > (INT64_MAX - d) / 10) {
            return -1;
        }
        v = v * 10 + d;
    }
    return v;
}

/* ---- reading batches from a .log through a window ---- */

typedef struct seg_reader {
    weir_env *env;
    weir_file *file;
    uint64_t file_bytes;
    uint8_t *buf;
    size_t cap;
    uint64_t at;   /* file offset of buf[0] */
    size_t have;   /* valid bytes in buf */
} seg_reader;

/* Makes [pos, pos + len) available; false if the file ends first. */
static int reader_fill(seg_reader *r, uint64_t pos, size_t len, const uint8_t **out)
{
    if (pos + len > r->file_bytes) {
        return WEIR_E_RANGE;
    }
    if (pos >= r->at && pos + len <= r->at + r->have) {
        *out = r->buf + (pos - r->at);
        return 0;
    }
    size_t want = len > SCAN_WINDOW ? len : SCAN_WINDOW;
    if (want > r->file_bytes - pos) {
        want = (size_t)(r->file_bytes - pos);
    }
    if (want > r->cap) {
        uint8_t *nb = realloc(r->buf, want);
        if (nb == NULL) {
            return WEIR_E_NOMEM;
        }
        r->buf = nb;
        r->cap = want;
    }
    size_t got = 0;
    int err = weir_file_pread(r->env, r->file, r->buf, want, pos, &got);
    if (err != 0) {
        r->have = 0;
        return err;
    }
    r->at = pos;
    r->have = got;
    if (got < len) {
        return WEIR_E_RANGE; /* the file shrank under us */
    }
    *out = r->buf;
    return 0;
}

static int reader_init(seg_reader *r, weir_env *env, weir_file *f)
{
    memset(r, 0, sizeof *r);
    r->env = env;
    r->file = f;
    return weir_file_size(env, f, &r->file_bytes);
}

int weir_segment_scan_file(weir_env *env, weir_file *log, int64_t base, weir_segment_scan *scan,
                           void (*each)(const weir_batch_header *h, uint64_t pos,
                                        const uint8_t *batch, void *arg),
                           void *arg)
{
    memset(scan, 0, sizeof *scan);
    scan->next_offset = base;
    seg_reader r;
    int err = reader_init(&r, env, log);
    if (err != 0) {
        return err;
    }
    scan->file_bytes = r.file_bytes;
    uint64_t pos = 0;
    while (pos < r.file_bytes) {
        const uint8_t *p;
        if (r.file_bytes - pos < WEIR_BATCH_HEADER_BYTES) {
            scan->why = "torn batch header at the end";
            break;
        }
        if ((err = reader_fill(&r, pos, WEIR_BATCH_HEADER_BYTES, &p)) != 0) {
            break;
        }
        weir_batch_header h;
        weir_batch_header_decode(p, &h);
        if (h.length < WEIR_BATCH_HEADER_BYTES - WEIR_BATCH_LOG_OVERHEAD) {
            scan->why = "batch length field too small";
            break;
        }
        uint64_t total = weir_batch_total_bytes(&h);
        if (total > r.file_bytes - pos) {
            scan->why = "torn batch: its length runs past the end of the file";
            break;
        }
        if ((err = reader_fill(&r, pos, (size_t)total, &p)) != 0) {
            break;
        }
        const char *why = NULL;
        if (weir_batch_validate(p, (size_t)total, &h, &why) != 0) {
            scan->why = why;
            break;
        }
        if (h.base_offset != scan->next_offset) {
            scan->why = "batch base offset breaks offset continuity";
            break;
        }
        if (weir_batch_last_offset(&h) - base > INT32_MAX) {
            scan->why = "batch offset too far from the segment's base offset";
            break;
        }
        if (each != NULL) {
            each(&h, pos, p, arg);
        }
        scan->batches++;
        pos += total;
        scan->valid_bytes = pos;
        scan->next_offset = weir_batch_last_offset(&h) + 1;
    }
    free(r.buf);
    if (err != 0 && err != WEIR_E_RANGE) {
        return err;
    }
    if (err == WEIR_E_RANGE && scan->why == NULL) {
        scan->why = "file shrank during the scan";
    }
    scan->damaged = scan->valid_bytes < scan->file_bytes;
    if (scan->damaged && scan->why == NULL) {
        scan->why = "unreadable bytes";
    }
    return 0;
}

/* ---- lifecycle ---- */

static int segment_alloc(weir_env *env, const char *dir, int64_t base,
                         const weir_segment_config *cfg, weir_segment **out)
{
    weir_segment *seg = calloc(1, sizeof *seg);
    size_t n = strlen(dir) + 1 + WEIR_SEGMENT_NAME_DIGITS + 1;
    char *prefix = malloc(n);
    if (seg == NULL || prefix == NULL) {
        free(seg);
        free(prefix);
        return WEIR_E_NOMEM;
    }
    snprintf(prefix, n, "%s/%020lld", dir, (long long)base);
    seg->env = env;
    seg->prefix = prefix;
    seg->base_offset = base;
    seg->next_offset = base;
    seg->index_interval = cfg->index_interval_bytes;
    seg->max_timestamp = -1;
    seg->offset_of_max_ts = base;
    seg->first_batch_ts = -1;
    seg->created_ms = weir_wall_ms(env);
    *out = seg;
    return 0;
}

static int seg_file_path(const weir_segment *seg, const char *suffix, char *out, size_t size)
{
    int n = snprintf(out, size, "%s%s", seg->prefix, suffix);
    return n > 0 && (size_t)n < size ? 0 : WEIR_E_INVAL;
}

static int segment_open_files(weir_segment *seg, const weir_segment_config *cfg, int log_flags,
                              bool load_indexes)
{
    char path[1024];
    int err = seg_file_path(seg, ".log", path, sizeof path);
    if (err == 0) {
        err = weir_file_open(seg->env, path, log_flags, &seg->log);
    }
    if (err == 0) {
        err = seg_file_path(seg, ".index", path, sizeof path);
    }
    if (err == 0) {
        err = weir_index_open(seg->env, path, WEIR_OFFSET_INDEX_ENTRY, cfg->index_bytes, load_indexes,
                              &seg->oix);
    }
    if (err == 0) {
        err = seg_file_path(seg, ".timeindex", path, sizeof path);
    }
    if (err == 0) {
        err = weir_index_open(seg->env, path, WEIR_TIME_INDEX_ENTRY, cfg->index_bytes, load_indexes,
                              &seg->tix);
    }
    if (err == 0) {
        err = seg_file_path(seg, ".txnindex", path, sizeof path);
    }
    if (err == 0) {
        /* A new segment has no aborted transactions: a file of that name is stale. */
        err = (log_flags & WEIR_F_TRUNC)
                  ? weir_txn_index_create(seg->env, path, &seg->txn)
                  : weir_txn_index_open(seg->env, path, seg->base_offset, &seg->txn, NULL);
    }
    return err;
}

void weir_segment_free(weir_segment *seg)
{
    if (seg == NULL) {
        return;
    }
    if (seg->log != NULL) {
        weir_file_close(seg->env, seg->log);
    }
    weir_index_close(&seg->oix);
    weir_index_close(&seg->tix);
    weir_txn_index_close(&seg->txn);
    free(seg->prefix);
    free(seg);
}

int weir_segment_create(weir_env *env, const char *dir, int64_t base,
                        const weir_segment_config *cfg, weir_segment **out)
{
    weir_segment *seg;
    int err = segment_alloc(env, dir, base, cfg, &seg);
    if (err != 0) {
        return err;
    }
    err = segment_open_files(seg, cfg, WEIR_F_CREATE | WEIR_F_TRUNC, false);
    if (err == 0) {
        err = weir_index_reset(&seg->oix);
    }
    if (err == 0) {
        err = weir_index_reset(&seg->tix);
    }
    if (err != 0) {
        weir_segment_free(seg);
        return err;
    }
    *out = seg;
    return 0;
}

/* Index bookkeeping for one batch at pos, exactly as on append (Kafka's rule:
 * an entry once more than index.interval.bytes went by since the last one). */
static int segment_track(weir_segment *seg, const weir_batch_header *h, uint64_t pos)
{
    int64_t last = weir_batch_last_offset(h);
    if (seg->first_batch_ts < 0 && seg->size == 0) {
        seg->first_batch_ts = h->max_timestamp;
    }
    if (h->max_timestamp > seg->max_timestamp) {
        seg->max_timestamp = h->max_timestamp;
        seg->offset_of_max_ts = last;
    }
    int err = 0;
    if (seg->bytes_since_index > seg->index_interval && !weir_offset_index_full(&seg->oix)) {
        err = weir_offset_index_append(&seg->oix, (uint32_t)(last - seg->base_offset),
                                       (uint32_t)pos);
        /* The last time-index slot stays free for the entry written at seal
         * (recovery can fill an index that appends would have rolled). */
        if (err == 0 && seg->max_timestamp >= 0 && !weir_time_index_full(&seg->tix)) {
            err = weir_time_index_maybe_append(&seg->tix, seg->max_timestamp,
                                               (uint32_t)(seg->offset_of_max_ts - seg->base_offset));
        }
        seg->bytes_since_index = 0;
    }
    seg->bytes_since_index += weir_batch_total_bytes(h);
    seg->next_offset = last + 1;
    return err;
}

typedef struct rebuild_ctx {
    weir_segment *seg;
    int err;
} rebuild_ctx;

static void rebuild_each(const weir_batch_header *h, uint64_t pos, const uint8_t *batch, void *arg)
{
    (void)batch;
    rebuild_ctx *c = arg;
    c->seg->size = pos;
    if (c->err == 0) {
        c->err = segment_track(c->seg, h, pos);
    }
    c->seg->size = pos + weir_batch_total_bytes(h);
}

/* Validates every batch, cuts the .log after the last valid one, rebuilds indexes. */
static int segment_recover(weir_segment *seg, weir_segment_scan *scan)
{
    int err = weir_index_reset(&seg->oix);
    if (err == 0) {
        err = weir_index_reset(&seg->tix);
    }
    if (err != 0) {
        return err;
    }
    seg->size = 0;
    seg->next_offset = seg->base_offset;
    seg->bytes_since_index = 0;
    seg->max_timestamp = -1;
    seg->offset_of_max_ts = seg->base_offset;
    seg->first_batch_ts = -1;
    rebuild_ctx ctx = {seg, 0};
    err = weir_segment_scan_file(seg->env, seg->log, seg->base_offset, scan, rebuild_each, &ctx);
    if (err == 0) {
        err = ctx.err;
    }
    if (err != 0) {
        return err;
    }
    WEIR_ASSERT(seg->size == scan->valid_bytes && seg->next_offset == scan->next_offset);
    if (scan->damaged) {
        err = weir_file_truncate(seg->env, seg->log, scan->valid_bytes);
    }
    return err;
}

/* Reads the header of the batch at pos (which must be inside the segment). */
/* Headers read through a small window, so a walk over neighbouring batches
 * costs one pread instead of one per batch. */
typedef struct header_window {
    uint8_t buf[8192];
    uint64_t at;
    size_t len;
} header_window;

static int window_header_at(weir_segment *seg, header_window *w, uint64_t pos,
                            weir_batch_header *h)
{
    if (pos + WEIR_BATCH_HEADER_BYTES > seg->size) {
        return WEIR_E_CORRUPT;
    }
    if (w == NULL || pos < w->at || pos + WEIR_BATCH_HEADER_BYTES > w->at + w->len) {
        uint8_t small[WEIR_BATCH_HEADER_BYTES];
        uint8_t *dst = w != NULL ? w->buf : small;
        size_t want = w != NULL ? sizeof w->buf : sizeof small;
        if (want > seg->size - pos) {
            want = (size_t)(seg->size - pos);
        }
        size_t got = 0;
        int err = weir_file_pread(seg->env, seg->log, dst, want, pos, &got);
        if (err != 0) {
            return err;
        }
        if (got < WEIR_BATCH_HEADER_BYTES) {
            return WEIR_E_CORRUPT;
        }
        if (w == NULL) {
            weir_batch_header_decode(small, h);
            goto check;
        }
        w->at = pos;
        w->len = got;
    }
    weir_batch_header_decode(w->buf + (pos - w->at), h);
check:
    if (h->magic != WEIR_BATCH_MAGIC || h->length < WEIR_BATCH_HEADER_BYTES - WEIR_BATCH_LOG_OVERHEAD ||
        pos + weir_batch_total_bytes(h) > seg->size || h->last_offset_delta < 0 ||
        h->base_offset < seg->base_offset) {
        return WEIR_E_CORRUPT;
    }
    return 0;
}

/* Reads and sanity-checks the header of the batch at pos. */
static int segment_header_at(weir_segment *seg, uint64_t pos, weir_batch_header *h)
{
    return window_header_at(seg, NULL, pos, h);
}

/* Without a full scan: next offset, max timestamp and index bookkeeping from
 * the last index entries and the batches after them. */
static int segment_load_tail(weir_segment *seg)
{
    uint64_t pos = 0;
    seg->max_timestamp = -1;
    seg->offset_of_max_ts = seg->base_offset;
    seg->next_offset = seg->base_offset;
    if (seg->oix.n > 0) {
        uint32_t rel;
        uint32_t p;
        weir_offset_index_entry(&seg->oix, seg->oix.n - 1, &rel, &p);
        pos = p;
    }
    if (seg->tix.n > 0) {
        int64_t ts;
        uint32_t rel;
        weir_time_index_entry(&seg->tix, seg->tix.n - 1, &ts, &rel);
        seg->max_timestamp = ts;
        seg->offset_of_max_ts = seg->base_offset + rel;
    }
    seg->bytes_since_index = 0;
    bool check_entry = seg->oix.n > 0;
    header_window w;
    w.at = 0;
    w.len = 0;
    while (pos < seg->size) {
        weir_batch_header h;
        int err = window_header_at(seg, &w, pos, &h);
        if (err != 0) {
            return err;
        }
        if (check_entry) {
            /* The last index entry must name the batch it points at. */
            uint32_t rel, p;
            weir_offset_index_entry(&seg->oix, seg->oix.n - 1, &rel, &p);
            if (weir_batch_last_offset(&h) != seg->base_offset + rel) {
                return WEIR_E_CORRUPT;
            }
            check_entry = false;
        }
        if (h.max_timestamp > seg->max_timestamp) {
            seg->max_timestamp = h.max_timestamp;
            seg->offset_of_max_ts = weir_batch_last_offset(&h);
        }
        seg->next_offset = weir_batch_last_offset(&h) + 1;
        seg->bytes_since_index += weir_batch_total_bytes(&h);
        pos += weir_batch_total_bytes(&h);
    }
    if (seg->size > 0) {
        weir_batch_header first;
        int err = segment_header_at(seg, 0, &first);
        if (err != 0) {
            return err;
        }
        if (first.base_offset != seg->base_offset) {
            return WEIR_E_CORRUPT;
        }
        seg->first_batch_ts = first.max_timestamp;
    }
    return 0;
}

static int find_from(weir_segment *seg, int64_t offset, uint64_t pos, uint64_t *pos_out,
                     weir_batch_header *h_out);

/* The first and last entries of both indexes must describe real batches: an
 * offset entry (O, P) the batch at P whose last offset is O; a time entry
 * (T, O) the batch whose last offset is O and whose max timestamp is T. */
static bool segment_index_ends_ok(weir_segment *seg)
{
    for (size_t k = 0; k < 2 && k < seg->oix.n; k++) {
        uint32_t rel, pos;
        weir_offset_index_entry(&seg->oix, k == 0 ? 0 : seg->oix.n - 1, &rel, &pos);
        weir_batch_header h;
        if (segment_header_at(seg, pos, &h) != 0 ||
            weir_batch_last_offset(&h) != seg->base_offset + rel) {
            return false;
        }
    }
    for (size_t k = 0; k < 2 && k < seg->tix.n; k++) {
        int64_t ts;
        uint32_t rel;
        weir_time_index_entry(&seg->tix, k == 0 ? 0 : seg->tix.n - 1, &ts, &rel);
        uint64_t pos;
        uint32_t irel, ipos;
        weir_batch_header h;
        weir_offset_index_lookup(&seg->oix, rel, &irel, &ipos);
        if (seg->base_offset + rel >= seg->next_offset ||
            find_from(seg, seg->base_offset + rel, ipos, &pos, &h) != 0 ||
            weir_batch_last_offset(&h) != seg->base_offset + rel || h.max_timestamp != ts) {
            return false;
        }
    }
    return true;
}

int weir_segment_open(weir_env *env, const char *dir, int64_t base, const weir_segment_config *cfg,
                      bool recover, weir_segment_scan *scan, bool *rebuilt, weir_segment **out)
{
    weir_segment *seg;
    int err = segment_alloc(env, dir, base, cfg, &seg);
    if (err != 0) {
        return err;
    }
    weir_segment_scan local;
    weir_segment_scan *sc = scan != NULL ? scan : &local;
    memset(sc, 0, sizeof *sc);
    sc->next_offset = base;
    *rebuilt = false;
    err = segment_open_files(seg, cfg, 0, !recover);
    if (err == 0) {
        err = weir_file_size(env, seg->log, &seg->size);
    }
    if (err == 0 && !recover) {
        /* Trust the .log; check the indexes and the tail they point at. */
        int64_t next_rel = seg->size > 0 ? (int64_t)INT32_MAX + 1 : 0;
        bool ok = weir_offset_index_sanitize(&seg->oix, seg->size, next_rel) &&
                  weir_time_index_sanitize(&seg->tix, next_rel);
        if (ok && seg->size > 0) {
            /* a missing index file was created empty just now */
            ok = !seg->oix.created && !seg->tix.created;
        }
        if (ok) {
            ok = segment_load_tail(seg) == 0 && segment_index_ends_ok(seg);
        }
        if (!ok) {
            recover = true; /* a damaged index: rebuild it, validating the log on the way */
        } else {
            sc->file_bytes = seg->size;
            sc->valid_bytes = seg->size;
            sc->next_offset = seg->next_offset;
        }
    }
    if (err == 0 && recover) {
        *rebuilt = true;
        err = segment_recover(seg, sc);
    }
    if (err == 0) {
        err = weir_txn_index_truncate(&seg->txn, seg->next_offset);
    }
    if (err != 0) {
        weir_segment_free(seg);
        return err;
    }
    *out = seg;
    return 0;
}

int weir_segment_append(weir_segment *seg, const uint8_t *batch, size_t len,
                        const weir_batch_header *h)
{
    WEIR_ASSERT(h->base_offset == seg->next_offset);
    WEIR_ASSERT(weir_batch_total_bytes(h) == len);
    WEIR_ASSERT(seg->size + len <= UINT32_MAX);
    int err = weir_file_pwrite(seg->env, seg->log, batch, len, seg->size);
    if (err != 0) {
        /* A partial write may have landed: cut it so the next append starts clean. */
        weir_ignore(weir_file_truncate(seg->env, seg->log, seg->size));
        return err;
    }
    uint64_t pos = seg->size;
    err = segment_track(seg, h, pos);
    seg->size = pos + len;
    return err;
}

/* Scans headers from pos for the first batch whose last offset >= offset. */
static int find_from(weir_segment *seg, int64_t offset, uint64_t pos, uint64_t *pos_out,
                     weir_batch_header *h_out)
{
    header_window w;
    w.at = 0;
    w.len = 0;
    while (pos < seg->size) {
        weir_batch_header h;
        int err = window_header_at(seg, &w, pos, &h);
        if (err != 0) {
            return err;
        }
        if (weir_batch_last_offset(&h) >= offset) {
            if (h.base_offset > offset) {
                return WEIR_E_CORRUPT; /* started past the batch we want */
            }
            *pos_out = pos;
            if (h_out != NULL) {
                *h_out = h;
            }
            return 0;
        }
        pos += weir_batch_total_bytes(&h);
    }
    return WEIR_E_CORRUPT; /* next_offset promised a batch that is not there */
}

int weir_segment_find(weir_segment *seg, int64_t offset, uint64_t *pos_out, weir_batch_header *h_out)
{
    if (offset >= seg->next_offset) {
        return WEIR_E_RANGE;
    }
    uint64_t pos = 0;
    if (offset > seg->base_offset) {
        uint32_t rel, p;
        if (weir_offset_index_lookup(&seg->oix, (uint32_t)(offset - seg->base_offset), &rel, &p)) {
            pos = p;
        }
    }
    int err = find_from(seg, offset, pos, pos_out, h_out);
    if (err == WEIR_E_CORRUPT && pos > 0) {
        /* The index led astray (damaged after load): fall back to a scan. */
        weir_log_warn(seg->env, "%s.index: entry for offset %lld is wrong; scanning the segment",
                      seg->prefix, (long long)offset);
        err = find_from(seg, offset, 0, pos_out, h_out);
    }
    return err;
}

int weir_segment_read(weir_segment *seg, uint64_t pos, size_t max_bytes, bool min_one,
                      const weir_batch_header *first, uint8_t **buf, size_t *len, size_t *cap)
{
    if (pos >= seg->size) {
        return 0;
    }
    /* One pread of the budget, then keep the whole batches in it. */
    uint64_t avail = seg->size - pos;
    uint64_t want = max_bytes < avail ? max_bytes : avail;
    if (min_one) {
        weir_batch_header h;
        if (first == NULL) {
            int err = segment_header_at(seg, pos, &h);
            if (err != 0) {
                return err;
            }
            first = &h;
        }
        if (weir_batch_total_bytes(first) > want) {
            want = weir_batch_total_bytes(first);
        }
    }
    if (want < WEIR_BATCH_HEADER_BYTES || want > SIZE_MAX - *len) {
        return 0;
    }
    if (*len + want > *cap) {
        size_t ncap = *cap ? *cap : 4096;
        while (ncap < *len + want) {
            ncap = ncap > SIZE_MAX / 2 ? *len + (size_t)want : ncap * 2;
        }
        uint8_t *nb = realloc(*buf, ncap);
        if (nb == NULL) {
            return WEIR_E_NOMEM;
        }
        *buf = nb;
        *cap = ncap;
    }
    uint8_t *p = *buf + *len;
    size_t got = 0;
    int err = weir_file_pread(seg->env, seg->log, p, (size_t)want, pos, &got);
    if (err != 0) {
        return err;
    }
    if (got != want) {
        return WEIR_E_CORRUPT; /* the file is shorter than the segment's size */
    }
    size_t at = 0;
    while (got - at >= WEIR_BATCH_HEADER_BYTES) {
        weir_batch_header h;
        weir_batch_header_decode(p + at, &h);
        if (h.magic != WEIR_BATCH_MAGIC ||
            h.length < WEIR_BATCH_HEADER_BYTES - WEIR_BATCH_LOG_OVERHEAD ||
            h.base_offset < seg->base_offset || h.last_offset_delta < 0) {
            return WEIR_E_CORRUPT;
        }
        uint64_t total = weir_batch_total_bytes(&h);
        if (total > got - at) {
            break;
        }
        at += (size_t)total;
    }
    if (at == 0 && min_one) {
        return WEIR_E_CORRUPT;
    }
    *len += at;
    return 0;
}

int weir_segment_offset_for_time(weir_segment *seg, int64_t ts, int64_t *offset_out)
{
    *offset_out = -1;
    if (seg->max_timestamp < ts) {
        return 0;
    }
    uint64_t pos = 0;
    int64_t entry_ts;
    uint32_t rel;
    /* Strictly older entries only: every record before such an entry's offset
     * is older than ts, so the scan cannot skip an equal timestamp. */
    if (ts > INT64_MIN && weir_time_index_lookup(&seg->tix, ts - 1, &entry_ts, &rel)) {
        uint32_t irel, ipos;
        if (weir_offset_index_lookup(&seg->oix, rel, &irel, &ipos)) {
            pos = ipos;
        }
    }
    header_window w;
    w.at = 0;
    w.len = 0;
    while (pos < seg->size) {
        weir_batch_header h;
        int err = window_header_at(seg, &w, pos, &h);
        if (err != 0) {
            return err;
        }
        uint64_t total = weir_batch_total_bytes(&h);
        if (h.max_timestamp >= ts) {
            *offset_out = h.base_offset;
            if ((h.attributes & WEIR_BATCH_COMPRESSION_MASK) != 0 || total > SIZE_MAX) {
                return 0; /* compressed: the batch's first offset */
            }
            uint8_t *b = malloc((size_t)total);
            size_t got = 0;
            if (b == NULL) {
                return WEIR_E_NOMEM;
            }
            err = weir_file_pread(seg->env, seg->log, b, (size_t)total, pos, &got);
            weir_record_iter it;
            if (err == 0 && got == total && weir_record_iter_init(&it, b, got) == 0) {
                weir_record r;
                while (weir_record_next(&it, &r) == 1) {
                    /* Wraps as Kafka's long arithmetic does, without UB. */
                    int64_t rts = (int64_t)((uint64_t)h.base_timestamp + (uint64_t)r.timestamp_delta);
                    if (rts >= ts) {
                        *offset_out = h.base_offset + r.offset_delta;
                        break;
                    }
                }
            }
            free(b);
            return err;
        }
        pos += total;
    }
    return 0;
}

int weir_segment_truncate(weir_segment *seg, int64_t offset)
{
    if (offset >= seg->next_offset) {
        return 0;
    }
    uint64_t pos = 0;
    if (offset > seg->base_offset) {
        int err = weir_segment_find(seg, offset, &pos, NULL);
        if (err != 0) {
            return err;
        }
    }
    uint32_t rel = offset > seg->base_offset ? (uint32_t)(offset - seg->base_offset) : 0;
    int err = weir_offset_index_truncate(&seg->oix, rel);
    if (err == 0) {
        err = weir_time_index_truncate(&seg->tix, rel);
    }
    if (err == 0) {
        err = weir_file_truncate(seg->env, seg->log, pos);
    }
    if (err != 0) {
        return err;
    }
    /* Index entries point at batch starts; drop any at or past the cut. */
    while (seg->oix.n > 0) {
        uint32_t r, p;
        weir_offset_index_entry(&seg->oix, seg->oix.n - 1, &r, &p);
        if (p < pos) {
            break;
        }
        if ((err = weir_offset_index_truncate(&seg->oix, r)) != 0) {
            return err;
        }
    }
    seg->size = pos;
    seg->first_batch_ts = -1;
    if ((err = segment_load_tail(seg)) != 0) {
        return err;
    }
    if ((err = weir_txn_index_truncate(&seg->txn, seg->next_offset)) != 0) {
        return err;
    }
    /* Synced at once: a crash must not bring truncated batches back (a
     * follower's divergent suffix would otherwise return). */
    return weir_segment_sync(seg);
}

int weir_segment_seal(weir_segment *seg)
{
    int err = 0;
    if (seg->max_timestamp >= 0) {
        err = weir_time_index_maybe_append(&seg->tix, seg->max_timestamp,
                                           (uint32_t)(seg->offset_of_max_ts - seg->base_offset));
    }
    if (err == 0) {
        err = weir_index_trim(&seg->oix);
    }
    if (err == 0) {
        err = weir_index_trim(&seg->tix);
    }
    if (err == 0) {
        err = weir_segment_sync(seg);
    }
    return err;
}

int weir_segment_unseal(weir_segment *seg)
{
    int err = weir_index_preallocate(&seg->oix);
    if (err == 0) {
        err = weir_index_preallocate(&seg->tix);
    }
    return err;
}

int weir_segment_sync_log(weir_segment *seg)
{
    return weir_file_sync(seg->env, seg->log);
}

int weir_segment_sync(weir_segment *seg)
{
    int err = weir_file_sync(seg->env, seg->log);
    if (err == 0) {
        err = weir_index_sync(&seg->oix);
    }
    if (err == 0) {
        err = weir_index_sync(&seg->tix);
    }
    if (err == 0) {
        err = weir_txn_index_sync(&seg->txn);
    }
    return err;
}

bool weir_segment_roll_due(const weir_segment *seg, const weir_batch_header *h, size_t len,
                           uint64_t segment_bytes, int64_t segment_ms, int64_t now_ms)
{
    if (seg->size == 0) {
        return false; /* never roll an empty segment */
    }
    if (seg->size + len > segment_bytes || seg->size + len > UINT32_MAX) {
        return true;
    }
    /* Timestamps come from clients: subtract without overflowing. */
    int64_t waited;
    bool overflow = seg->first_batch_ts >= 0
                        ? __builtin_sub_overflow(h->max_timestamp, seg->first_batch_ts, &waited)
                        : __builtin_sub_overflow(now_ms, seg->created_ms, &waited);
    if (segment_ms > 0 && !overflow && waited > segment_ms) {
        return true;
    }
    if (weir_offset_index_full(&seg->oix) || weir_time_index_full(&seg->tix)) {
        return true;
    }
    return weir_batch_last_offset(h) - seg->base_offset > INT32_MAX;
}

int weir_segment_delete(weir_segment *seg)
{
    static const char *const suffixes[] = {".log", ".index", ".timeindex", ".txnindex"};
    char path[1024];
    weir_env *env = seg->env;
    int first_err = 0;
    char *prefix = seg->prefix;
    seg->prefix = NULL;
    weir_segment_free(seg);
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(path, sizeof path, "%s%s", prefix, suffixes[i]);
        int err = weir_fs_unlink(env, path);
        if (err != 0 && err != WEIR_E_NOENT && first_err == 0) {
            first_err = err;
        }
    }
    free(prefix);
    return first_err;
}
