/* The FlowFile write-ahead log (see flowfile_repo.h for the contract and
 * the file formats).
 *
 * The live state is a hash of id -> (queue id, encoded FlowFile), the last
 * PUT of each live FlowFile, kept so a checkpoint can write every live
 * FlowFile without asking the engine; plus the swap files in use, sorted by
 * swap id. A commit and a replay go through the same record parser
 * (fr_apply), so what recovery rebuilds is what the running repository had.
 *
 * Invariants: every hash slot with id != 0 is a live FlowFile, none twice;
 * an id in a swap file is never live; the journal file ends with whole
 * frames (a failed append is cut back, or the repository refuses commits).
 */
#include "flow/flowfile_repo.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/crc32c.h"
#include "log/segment.h"

#define FR_JOURNAL_MAGIC "WFJ1"
#define FR_SNAPSHOT_MAGIC "WFS1"
#define FR_SWAP_MAGIC "WSW1"
#define FR_JOURNAL_HEADER 12 /* magic, u64 seq */
#define FR_FRAME_HEADER 8    /* u32 length, u32 crc */
#define FR_PAYLOAD_HEADER 20 /* u64 next id, i64 now_ns, u32 records */
#define FR_BATCH_HEADER (FR_FRAME_HEADER + FR_PAYLOAD_HEADER)
#define FR_SNAPSHOT_HEADER 52 /* magic, next id, now_ns, seq, next swap id, live, swaps */
#define FR_SWAP_HEADER 20     /* magic, u64 swap id, u32 queue, u32 count */
#define FR_FRAME_BYTES_MAX (1u << 30)

enum {
    FR_PUT = 1,
    FR_MOVE = 2,
    FR_DELETE = 3,
    FR_SWAP_OUT = 4,
    FR_SWAP_IN = 5,
    FR_SWAP_ENTRY = 6, /* snapshots only: a swap file in use, without its ids */
};

typedef struct fr_slot {
    uint64_t id; /* 0: empty */
    uint32_t queue_id;
    uint32_t len;
    uint8_t *rec; /* the encoded FlowFile */
} fr_slot;

typedef struct fr_swap {
    uint64_t swap_id;
    uint32_t queue_id;
    uint32_t count;
    uint64_t bytes;
} fr_swap;

struct weir_ffrepo {
    weir_env *env;
    char *dir;
    weir_ffrepo_config cfg;
    weir_content_repo *content;
    fr_slot *slots;
    size_t slot_cap; /* power of two */
    size_t live;
    fr_swap *swaps; /* sorted by swap id */
    size_t swap_count;
    size_t swap_cap;
    uint64_t swapped_flowfiles;
    uint64_t next_id;
    uint64_t next_swap_id;
    uint64_t first_swap_id_run; /* swap ids below were written before the open */
    int64_t clock_shift_ns;
    int64_t writer_now_ns; /* newest now_ns written or read */
    uint64_t journal_seq;
    weir_file *journal;
    uint64_t journal_bytes;
    int64_t checkpoint_last_ns;
    bool failed;
    bool journal_unsynced; /* frames appended since the last fsync */
    bool checkpoint_retry;
    uint8_t **blobs; /* commit scratch: copies made before the frame is written */
    size_t blob_cap;
    weir_ffrepo_stats stats;
};

void weir_ffrepo_config_default(weir_ffrepo_config *cfg)
{
    cfg->sync = true;
    cfg->checkpoint_interval_ms = 20000;
    cfg->journal_bytes_max = 64u << 20;
}

/* ---- batches ---- */

void weir_ffrepo_batch_init(weir_ffrepo_batch *b)
{
    *b = (weir_ffrepo_batch){0};
}

void weir_ffrepo_batch_reset(weir_ffrepo_batch *b)
{
    b->len = 0;
    b->records = 0;
    b->err = 0;
}

void weir_ffrepo_batch_free(weir_ffrepo_batch *b)
{
    free(b->buf);
    *b = (weir_ffrepo_batch){0};
}

/* Room for need more bytes; the frame header is reserved at the front. */
static uint8_t *fr_batch_room(weir_ffrepo_batch *b, size_t need)
{
    if (b->err != 0) {
        return NULL;
    }
    if (b->len == 0) {
        need += FR_BATCH_HEADER;
    }
    if (b->len + need > b->cap) {
        size_t cap = b->cap == 0 ? 4096 : b->cap;
        while (cap < b->len + need) {
            cap *= 2;
        }
        uint8_t *buf = realloc(b->buf, cap);
        if (buf == NULL) {
            b->err = WEIR_E_NOMEM;
            return NULL;
        }
        b->buf = buf;
        b->cap = cap;
    }
    if (b->len == 0) {
        b->len = FR_BATCH_HEADER;
    }
    return b->buf + b->len;
}

void weir_ffrepo_batch_put(weir_ffrepo_batch *b, uint32_t queue_id, const weir_flowfile *ff)
{
    WEIR_ASSERT(ff->id != 0);
    uint8_t *p = fr_batch_room(b, 1 + 5 + 4 + weir_flowfile_encoded_size_max(ff));
    if (p == NULL) {
        return;
    }
    uint8_t *start = p;
    *p++ = FR_PUT;
    p += weir_put_uvarint(p, queue_id);
    size_t n = weir_flowfile_encode(ff, p + 4);
    weir_put_be32(p, (uint32_t)n);
    p += 4 + n;
    b->len += (size_t)(p - start);
    b->records++;
}

void weir_ffrepo_batch_move(weir_ffrepo_batch *b, uint64_t id, uint32_t queue_id)
{
    uint8_t *p = fr_batch_room(b, 1 + 10 + 5);
    if (p == NULL) {
        return;
    }
    uint8_t *start = p;
    *p++ = FR_MOVE;
    p += weir_put_uvarint(p, id);
    p += weir_put_uvarint(p, queue_id);
    b->len += (size_t)(p - start);
    b->records++;
}

void weir_ffrepo_batch_delete(weir_ffrepo_batch *b, uint64_t id)
{
    uint8_t *p = fr_batch_room(b, 1 + 10);
    if (p == NULL) {
        return;
    }
    uint8_t *start = p;
    *p++ = FR_DELETE;
    p += weir_put_uvarint(p, id);
    b->len += (size_t)(p - start);
    b->records++;
}

/* ---- the live hash ---- */

static size_t fr_hash(const weir_ffrepo *repo, uint64_t id)
{
    return (size_t)((id * 0x9E3779B97F4A7C15ull) >> 17) & (repo->slot_cap - 1);
}

static fr_slot *fr_find(const weir_ffrepo *repo, uint64_t id)
{
    if (repo->slot_cap == 0) {
        return NULL;
    }
    for (size_t i = fr_hash(repo, id);; i = (i + 1) & (repo->slot_cap - 1)) {
        fr_slot *s = &repo->slots[i];
        if (s->id == id) {
            return s;
        }
        if (s->id == 0) {
            return NULL;
        }
    }
}

/* Room for `more` new ids at a load of at most one half. */
static int fr_reserve(weir_ffrepo *repo, size_t more)
{
    if ((repo->live + more) * 2 <= repo->slot_cap) {
        return 0;
    }
    size_t cap = repo->slot_cap == 0 ? 1024 : repo->slot_cap;
    while ((repo->live + more) * 2 > cap) {
        cap *= 2;
    }
    fr_slot *slots = calloc(cap, sizeof *slots);
    if (slots == NULL) {
        return WEIR_E_NOMEM;
    }
    fr_slot *old = repo->slots;
    size_t old_cap = repo->slot_cap;
    repo->slots = slots;
    repo->slot_cap = cap;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].id == 0) {
            continue;
        }
        size_t j = fr_hash(repo, old[i].id);
        while (slots[j].id != 0) {
            j = (j + 1) & (cap - 1);
        }
        slots[j] = old[i];
    }
    free(old);
    return 0;
}

/* Inserts or replaces; takes rec. Room must have been reserved. */
static void fr_upsert(weir_ffrepo *repo, uint64_t id, uint32_t queue_id, uint8_t *rec, uint32_t len)
{
    WEIR_ASSERT(id != 0 && repo->live * 2 < repo->slot_cap);
    size_t i = fr_hash(repo, id);
    while (repo->slots[i].id != 0 && repo->slots[i].id != id) {
        i = (i + 1) & (repo->slot_cap - 1);
    }
    fr_slot *s = &repo->slots[i];
    if (s->id == 0) {
        repo->live++;
    } else {
        free(s->rec);
    }
    *s = (fr_slot){id, queue_id, len, rec};
}

/* Removes id (linear probing with backward shift). false when absent. */
static bool fr_remove(weir_ffrepo *repo, uint64_t id)
{
    fr_slot *s = fr_find(repo, id);
    if (s == NULL) {
        return false;
    }
    free(s->rec);
    size_t mask = repo->slot_cap - 1;
    size_t i = (size_t)(s - repo->slots);
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (repo->slots[j].id == 0) {
            break;
        }
        size_t home = fr_hash(repo, repo->slots[j].id);
        /* can slot j move back to the hole at i? (home not in (i, j]) */
        bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!between) {
            repo->slots[i] = repo->slots[j];
            i = j;
        }
    }
    repo->slots[i] = (fr_slot){0};
    repo->live--;
    return true;
}

/* ---- swap entries ---- */

static fr_swap *fr_swap_find(weir_ffrepo *repo, uint64_t swap_id, size_t *index_out)
{
    size_t lo = 0, hi = repo->swap_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (repo->swaps[mid].swap_id < swap_id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (index_out != NULL) {
        *index_out = lo;
    }
    if (lo < repo->swap_count && repo->swaps[lo].swap_id == swap_id) {
        return &repo->swaps[lo];
    }
    return NULL;
}

static int fr_swap_reserve(weir_ffrepo *repo, size_t more)
{
    if (repo->swap_count + more <= repo->swap_cap) {
        return 0;
    }
    size_t cap = repo->swap_cap == 0 ? 16 : repo->swap_cap;
    while (cap < repo->swap_count + more) {
        cap *= 2;
    }
    fr_swap *swaps = realloc(repo->swaps, cap * sizeof *swaps);
    if (swaps == NULL) {
        return WEIR_E_NOMEM;
    }
    repo->swaps = swaps;
    repo->swap_cap = cap;
    return 0;
}

/* Adds a swap entry (room reserved); false when the id is already there. */
static bool fr_swap_add(weir_ffrepo *repo, const fr_swap *sw)
{
    size_t at;
    if (fr_swap_find(repo, sw->swap_id, &at) != NULL) {
        return false;
    }
    WEIR_ASSERT(repo->swap_count < repo->swap_cap);
    memmove(&repo->swaps[at + 1], &repo->swaps[at], (repo->swap_count - at) * sizeof *repo->swaps);
    repo->swaps[at] = *sw;
    repo->swap_count++;
    repo->swapped_flowfiles += sw->count;
    if (sw->swap_id >= repo->next_swap_id) {
        repo->next_swap_id = sw->swap_id + 1;
    }
    return true;
}

static bool fr_swap_remove(weir_ffrepo *repo, uint64_t swap_id)
{
    size_t at;
    fr_swap *sw = fr_swap_find(repo, swap_id, &at);
    if (sw == NULL) {
        return false;
    }
    repo->swapped_flowfiles -= sw->count;
    memmove(&repo->swaps[at], &repo->swaps[at + 1],
            (repo->swap_count - at - 1) * sizeof *repo->swaps);
    repo->swap_count--;
    return true;
}

/* ---- records ---- */

/* The FlowFile id at the front of an encoded FlowFile; 0 when unreadable. */
static uint64_t fr_rec_id(const uint8_t *rec, size_t len)
{
    uint64_t id = 0;
    if (weir_get_uvarint(rec, rec + len, 10, &id) == 0) {
        return 0;
    }
    return id;
}

/* One parsed record. */
typedef struct fr_record {
    int type;
    uint64_t id;        /* PUT, MOVE, DELETE */
    uint32_t queue_id;  /* PUT, MOVE, SWAP_OUT */
    const uint8_t *rec; /* PUT: the encoded FlowFile */
    uint32_t len;
    fr_swap swap;       /* SWAP_OUT, SWAP_IN (swap_id only) */
    const uint8_t *ids; /* SWAP_OUT: count varints */
} fr_record;

/* Parses the next record at r; *why (static) on failure. */
static bool fr_next_record(weir_reader *r, fr_record *out, const char **why)
{
    *out = (fr_record){0};
    if (r->p >= r->end) {
        *why = "record: missing";
        return false;
    }
    out->type = *r->p++;
    switch (out->type) {
    case FR_PUT: {
        uint64_t q = weir_reader_uvarint(r);
        if (r->bad || q > UINT32_MAX || weir_reader_left(r) < 4) {
            *why = "PUT record: queue id or length";
            return false;
        }
        uint32_t len = weir_get_be32(r->p);
        r->p += 4;
        if (len > weir_reader_left(r)) {
            *why = "PUT record: FlowFile longer than the frame";
            return false;
        }
        out->queue_id = (uint32_t)q;
        out->rec = r->p;
        out->len = len;
        out->id = fr_rec_id(r->p, len);
        r->p += len;
        if (out->id == 0) {
            *why = "PUT record: FlowFile id";
            return false;
        }
        return true;
    }
    case FR_MOVE: {
        out->id = weir_reader_uvarint(r);
        uint64_t q = weir_reader_uvarint(r);
        if (r->bad || out->id == 0 || q > UINT32_MAX) {
            *why = "MOVE record: id or queue id";
            return false;
        }
        out->queue_id = (uint32_t)q;
        return true;
    }
    case FR_DELETE:
        out->id = weir_reader_uvarint(r);
        if (r->bad || out->id == 0) {
            *why = "DELETE record: id";
            return false;
        }
        return true;
    case FR_SWAP_OUT: {
        out->swap.swap_id = weir_reader_uvarint(r);
        uint64_t q = weir_reader_uvarint(r);
        uint64_t count = weir_reader_uvarint(r);
        out->swap.bytes = weir_reader_uvarint(r);
        if (r->bad || out->swap.swap_id == 0 || q > UINT32_MAX || count > UINT32_MAX) {
            *why = "SWAP_OUT record: swap id, queue id, count or bytes";
            return false;
        }
        out->swap.queue_id = (uint32_t)q;
        out->swap.count = (uint32_t)count;
        out->ids = r->p;
        for (uint64_t i = 0; i < count; i++) {
            if (weir_reader_uvarint(r) == 0 || r->bad) {
                *why = "SWAP_OUT record: FlowFile ids";
                return false;
            }
        }
        return true;
    }
    case FR_SWAP_IN:
        out->swap.swap_id = weir_reader_uvarint(r);
        if (r->bad || out->swap.swap_id == 0) {
            *why = "SWAP_IN record: swap id";
            return false;
        }
        return true;
    case FR_SWAP_ENTRY: {
        out->swap.swap_id = weir_reader_uvarint(r);
        uint64_t q = weir_reader_uvarint(r);
        uint64_t count = weir_reader_uvarint(r);
        out->swap.bytes = weir_reader_uvarint(r);
        if (r->bad || out->swap.swap_id == 0 || q > UINT32_MAX || count > UINT32_MAX) {
            *why = "swap entry: swap id, queue id, count or bytes";
            return false;
        }
        out->swap.queue_id = (uint32_t)q;
        out->swap.count = (uint32_t)count;
        return true;
    }
    default:
        *why = "record: unknown type";
        return false;
    }
}

/* Checks a frame payload's records and counts what it may add. */
static bool fr_scan_payload(const uint8_t *payload, size_t len, uint32_t records, size_t *puts,
                            size_t *swaps, const char **why)
{
    weir_reader r = {payload + FR_PAYLOAD_HEADER, payload + len, false};
    *puts = 0;
    *swaps = 0;
    for (uint32_t i = 0; i < records; i++) {
        fr_record rec;
        if (!fr_next_record(&r, &rec, why)) {
            return false;
        }
        if (rec.type == FR_SWAP_ENTRY) {
            *why = "frame: a snapshot-only record";
            return false;
        }
        *puts += rec.type == FR_PUT;
        *swaps += rec.type == FR_SWAP_OUT;
    }
    if (r.p != r.end) {
        *why = "frame: bytes after the last record";
        return false;
    }
    return true;
}

/* Applies a checked payload. blobs[i] (may be NULL: copy here) is the copy
 * of the i-th PUT's FlowFile. Room must be reserved: then it cannot fail,
 * except for a copy failing when blobs is NULL (WEIR_E_NOMEM). */
static int fr_apply(weir_ffrepo *repo, const uint8_t *payload, size_t len, uint8_t **blobs)
{
    uint32_t records = weir_get_be32(payload + 16);
    weir_reader r = {payload + FR_PAYLOAD_HEADER, payload + len, false};
    size_t put_index = 0;
    for (uint32_t i = 0; i < records; i++) {
        fr_record rec;
        const char *why;
        bool ok = fr_next_record(&r, &rec, &why);
        WEIR_ASSERT(ok);
        switch (rec.type) {
        case FR_PUT: {
            uint8_t *copy = blobs != NULL ? blobs[put_index] : malloc(rec.len ? rec.len : 1);
            put_index++;
            if (copy == NULL) {
                return WEIR_E_NOMEM;
            }
            if (blobs == NULL) {
                memcpy(copy, rec.rec, rec.len);
            }
            fr_upsert(repo, rec.id, rec.queue_id, copy, rec.len);
            if (rec.id >= repo->next_id) {
                repo->next_id = rec.id + 1;
            }
            break;
        }
        case FR_MOVE: {
            fr_slot *s = fr_find(repo, rec.id);
            if (s != NULL) {
                s->queue_id = rec.queue_id;
            }
            break;
        }
        case FR_DELETE:
            fr_remove(repo, rec.id);
            break;
        case FR_SWAP_OUT: {
            weir_reader ids = {rec.ids, payload + len, false};
            for (uint32_t k = 0; k < rec.swap.count; k++) {
                fr_remove(repo, weir_reader_uvarint(&ids));
            }
            fr_swap_add(repo, &rec.swap);
            break;
        }
        case FR_SWAP_IN:
            fr_swap_remove(repo, rec.swap.swap_id);
            break;
        default:
            WEIR_ASSERT(false);
        }
    }
    uint64_t next_id = weir_get_be64(payload);
    int64_t now_ns = (int64_t)weir_get_be64(payload + 8);
    if (next_id > repo->next_id) {
        repo->next_id = next_id;
    }
    if (now_ns > repo->writer_now_ns) {
        repo->writer_now_ns = now_ns;
    }
    return 0;
}

/* ---- paths and small file helpers ---- */

static void fr_journal_name(uint64_t seq, char *out, size_t size)
{
    snprintf(out, size, "journal/%020" PRIu64 ".journal", seq);
}

static void fr_path(const weir_ffrepo *repo, const char *rel, char *out, size_t size)
{
    snprintf(out, size, "%s/%s", repo->dir, rel);
}

static void fr_swap_path(const weir_ffrepo *repo, uint64_t swap_id, const char *suffix, char *out,
                         size_t size)
{
    snprintf(out, size, "%s/swap/%020" PRIu64 ".swap%s", repo->dir, swap_id, suffix);
}

/* Parses "<20 digits><suffix>" (suffix with its dot); 0 when it does not match. */
static uint64_t fr_parse_seq(const char *name, const char *suffix)
{
    int64_t v = weir_segment_parse_name(name, suffix + 1);
    return v < 0 ? 0 : (uint64_t)v;
}

/* Reads a whole file into a malloc'd buffer (NULL when empty). */
static int fr_slurp(weir_env *env, const char *path, uint8_t **out, size_t *len_out)
{
    weir_file *f;
    int err = weir_file_open(env, path, WEIR_F_RDONLY, &f);
    if (err != 0) {
        return err;
    }
    uint64_t size = 0;
    err = weir_file_size(env, f, &size);
    uint8_t *buf = NULL;
    size_t got = 0;
    if (err == 0 && size > SIZE_MAX / 2) {
        err = WEIR_E_NOMEM;
    }
    if (err == 0 && size > 0 && (buf = malloc((size_t)size)) == NULL) {
        err = WEIR_E_NOMEM;
    }
    if (err == 0 && size > 0) {
        err = weir_file_pread(env, f, buf, (size_t)size, 0, &got);
    }
    weir_file_close(env, f);
    if (err != 0) {
        free(buf);
        return err;
    }
    *out = buf;
    *len_out = got;
    return 0;
}

/* Writes data as dir/<rel> atomically: <rel>.tmp (or the given tmp name),
 * synced, renamed. */
static int fr_write_atomic(weir_env *env, const char *path, const char *tmp, const uint8_t *data,
                           size_t len)
{
    weir_file *f;
    int err = weir_file_open(env, tmp, WEIR_F_CREATE | WEIR_F_TRUNC, &f);
    if (err != 0) {
        return err;
    }
    err = weir_file_append(env, f, data, len);
    if (err == 0) {
        err = weir_file_sync(env, f);
    }
    weir_file_close(env, f);
    if (err == 0) {
        err = weir_fs_rename(env, tmp, path);
    }
    if (err != 0) {
        weir_ignore(weir_fs_unlink(env, tmp));
    }
    return err;
}

/* A growable byte buffer for snapshots and swap files. */
typedef struct fr_buf {
    uint8_t *p;
    size_t len;
    size_t cap;
} fr_buf;

static uint8_t *fr_buf_room(fr_buf *b, size_t need)
{
    if (b->len + need > b->cap) {
        size_t cap = b->cap == 0 ? 65536 : b->cap;
        while (cap < b->len + need) {
            cap *= 2;
        }
        uint8_t *p = realloc(b->p, cap);
        if (p == NULL) {
            return NULL;
        }
        b->p = p;
        b->cap = cap;
    }
    return b->p + b->len;
}

/* Appends u32 len | u32 crc | payload where the payload was written at
 * b->len + 8 with length n. */
static void fr_buf_seal(fr_buf *b, size_t n)
{
    uint8_t *h = b->p + b->len;
    weir_put_be32(h, (uint32_t)n);
    weir_put_be32(h + 4, weir_crc32c(0, h + 8, n));
    b->len += 8 + n;
}

/* ---- journal ---- */

static int fr_journal_start(weir_ffrepo *repo, uint64_t seq)
{
    char rel[64], path[512];
    fr_journal_name(seq, rel, sizeof rel);
    fr_path(repo, rel, path, sizeof path);
    weir_file *f;
    int err = weir_file_open(repo->env, path, WEIR_F_CREATE | WEIR_F_TRUNC, &f);
    if (err != 0) {
        return err;
    }
    uint8_t h[FR_JOURNAL_HEADER];
    memcpy(h, FR_JOURNAL_MAGIC, 4);
    weir_put_be64(h + 4, seq);
    err = weir_file_append(repo->env, f, h, sizeof h);
    if (err == 0) {
        err = weir_file_sync(repo->env, f);
    }
    if (err != 0) {
        weir_file_close(repo->env, f);
        return err;
    }
    if (repo->journal != NULL) {
        weir_file_close(repo->env, repo->journal);
    }
    repo->journal = f;
    repo->journal_seq = seq;
    repo->journal_bytes = FR_JOURNAL_HEADER;
    repo->stats.journal_seq = seq;
    return 0;
}

/* Deletes journals with a sequence below seq. */
static int fr_journals_drop_below(weir_ffrepo *repo, uint64_t seq)
{
    char jdir[512];
    fr_path(repo, "journal", jdir, sizeof jdir);
    weir_dirlist list = {0};
    int err = weir_fs_list(repo->env, jdir, &list);
    for (size_t i = 0; err == 0 && i < list.count; i++) {
        uint64_t s = fr_parse_seq(list.names[i], ".journal");
        if (s != 0 && s < seq) {
            char path[600];
            snprintf(path, sizeof path, "%s/%s", jdir, list.names[i]);
            err = weir_fs_unlink(repo->env, path);
        }
    }
    weir_fs_list_free(&list);
    return err;
}

/* ---- checkpoint ---- */

static int fr_snapshot_build(weir_ffrepo *repo, uint64_t first_seq, fr_buf *b)
{
    if (fr_buf_room(b, FR_SNAPSHOT_HEADER) == NULL) {
        return WEIR_E_NOMEM;
    }
    uint8_t *h = b->p;
    memcpy(h, FR_SNAPSHOT_MAGIC, 4);
    weir_put_be64(h + 4, repo->next_id);
    weir_put_be64(h + 12, (uint64_t)repo->writer_now_ns);
    weir_put_be64(h + 20, first_seq);
    weir_put_be64(h + 28, repo->next_swap_id);
    weir_put_be64(h + 36, repo->live);
    weir_put_be64(h + 44, repo->swap_count);
    b->len = FR_SNAPSHOT_HEADER;
    for (size_t i = 0; i < repo->slot_cap; i++) {
        const fr_slot *s = &repo->slots[i];
        if (s->id == 0) {
            continue;
        }
        uint8_t *p = fr_buf_room(b, 8 + 1 + 5 + 4 + s->len);
        if (p == NULL) {
            return WEIR_E_NOMEM;
        }
        uint8_t *q = p + 8;
        *q++ = FR_PUT;
        q += weir_put_uvarint(q, s->queue_id);
        weir_put_be32(q, s->len);
        memcpy(q + 4, s->rec, s->len);
        q += 4 + s->len;
        fr_buf_seal(b, (size_t)(q - (p + 8)));
    }
    for (size_t i = 0; i < repo->swap_count; i++) {
        const fr_swap *sw = &repo->swaps[i];
        uint8_t *p = fr_buf_room(b, 8 + 1 + 4 * 10);
        if (p == NULL) {
            return WEIR_E_NOMEM;
        }
        uint8_t *q = p + 8;
        *q++ = FR_SWAP_ENTRY;
        q += weir_put_uvarint(q, sw->swap_id);
        q += weir_put_uvarint(q, sw->queue_id);
        q += weir_put_uvarint(q, sw->count);
        q += weir_put_uvarint(q, sw->bytes);
        fr_buf_seal(b, (size_t)(q - (p + 8)));
    }
    return 0;
}

int weir_ffrepo_checkpoint(weir_ffrepo *repo)
{
    if (repo->failed) {
        return WEIR_E_IO;
    }
    int err = 0;
    if (repo->journal_unsynced) {
        err = weir_file_sync(repo->env, repo->journal); /* the old journal stays whole */
        if (err != 0) {
            return err;
        }
        repo->journal_unsynced = false;
        repo->stats.syncs++;
    }
    uint64_t seq = repo->journal_seq + 1;
    err = fr_journal_start(repo, seq);
    if (err != 0) {
        return err;
    }
    fr_buf b = {0};
    err = fr_snapshot_build(repo, seq, &b);
    if (err == 0) {
        char path[512], tmp[512];
        fr_path(repo, "snapshot", path, sizeof path);
        fr_path(repo, "snapshot.partial", tmp, sizeof tmp);
        err = fr_write_atomic(repo->env, path, tmp, b.p, b.len);
    }
    free(b.p);
    if (err == 0) {
        err = fr_journals_drop_below(repo, seq);
    }
    if (err == 0) {
        repo->stats.checkpoints++;
        repo->checkpoint_last_ns = weir_now_ns(repo->env);
        repo->checkpoint_retry = false;
    }
    if (err == 0 && repo->content != NULL) {
        err = weir_content_repo_reclaim(repo->content, NULL); /* everything is durable now */
    }
    return err;
}

static bool fr_checkpoint_due(const weir_ffrepo *repo)
{
    if (repo->checkpoint_retry) {
        return true;
    }
    if (repo->cfg.journal_bytes_max > 0 && repo->journal_bytes >= repo->cfg.journal_bytes_max) {
        return true;
    }
    if (repo->cfg.checkpoint_interval_ms > 0) {
        int64_t age_ns = weir_now_ns(repo->env) - repo->checkpoint_last_ns;
        return age_ns >= repo->cfg.checkpoint_interval_ms * 1000000;
    }
    return false;
}

/* ---- commit ---- */

static int fr_blobs_reserve(weir_ffrepo *repo, size_t n)
{
    if (n <= repo->blob_cap) {
        return 0;
    }
    size_t cap = repo->blob_cap == 0 ? 64 : repo->blob_cap;
    while (cap < n) {
        cap *= 2;
    }
    uint8_t **blobs = realloc(repo->blobs, cap * sizeof *blobs);
    if (blobs == NULL) {
        return WEIR_E_NOMEM;
    }
    repo->blobs = blobs;
    repo->blob_cap = cap;
    return 0;
}

/* Copies every PUT's FlowFile of the payload into repo->blobs. */
static int fr_blobs_make(weir_ffrepo *repo, const uint8_t *payload, size_t len, size_t puts)
{
    int err = fr_blobs_reserve(repo, puts);
    if (err != 0) {
        return err;
    }
    uint32_t records = weir_get_be32(payload + 16);
    weir_reader r = {payload + FR_PAYLOAD_HEADER, payload + len, false};
    size_t k = 0;
    for (uint32_t i = 0; i < records; i++) {
        fr_record rec;
        const char *why;
        bool ok = fr_next_record(&r, &rec, &why);
        WEIR_ASSERT(ok);
        if (rec.type != FR_PUT) {
            continue;
        }
        uint8_t *copy = malloc(rec.len ? rec.len : 1);
        if (copy == NULL) {
            while (k > 0) {
                free(repo->blobs[--k]);
            }
            return WEIR_E_NOMEM;
        }
        memcpy(copy, rec.rec, rec.len);
        repo->blobs[k++] = copy;
    }
    WEIR_ASSERT(k == puts);
    return 0;
}

static void fr_blobs_drop(weir_ffrepo *repo, size_t puts)
{
    for (size_t k = 0; k < puts; k++) {
        free(repo->blobs[k]);
    }
}

/* Writes and applies the batch's frame (b non-empty, header reserved);
 * fsyncs when sync. */
static int fr_commit_frame(weir_ffrepo *repo, weir_ffrepo_batch *b, bool sync)
{
    uint8_t *frame = b->buf;
    uint8_t *payload = frame + FR_FRAME_HEADER;
    size_t payload_len = b->len - FR_FRAME_HEADER;
    if (payload_len > FR_FRAME_BYTES_MAX) {
        return WEIR_E_INVAL;
    }
    int64_t now_ns = weir_now_ns(repo->env);
    if (now_ns < repo->writer_now_ns) {
        now_ns = repo->writer_now_ns;
    }
    weir_put_be64(payload, repo->next_id);
    weir_put_be64(payload + 8, (uint64_t)now_ns);
    weir_put_be32(payload + 16, b->records);
    size_t puts, swaps;
    const char *why = NULL;
    bool ok = fr_scan_payload(payload, payload_len, b->records, &puts, &swaps, &why);
    WEIR_ASSERT(ok); /* we encoded it */
    int err = fr_reserve(repo, puts);
    if (err == 0) {
        err = fr_swap_reserve(repo, swaps);
    }
    if (err == 0) {
        err = fr_blobs_make(repo, payload, payload_len, puts);
    }
    if (err != 0) {
        return err;
    }
    if (repo->content != NULL) {
        err = weir_content_repo_sync(repo->content);
        if (err != 0) {
            fr_blobs_drop(repo, puts);
            return err;
        }
    }
    weir_put_be32(frame, (uint32_t)payload_len);
    weir_put_be32(frame + 4, weir_crc32c(0, payload, payload_len));
    err = weir_file_append(repo->env, repo->journal, frame, b->len);
    if (err == 0 && sync) {
        err = weir_file_sync(repo->env, repo->journal);
        repo->stats.syncs += err == 0;
    }
    if (err != 0) {
        fr_blobs_drop(repo, puts);
        /* cut back to whole frames, or refuse commits from now on */
        if (weir_file_truncate(repo->env, repo->journal, repo->journal_bytes) != 0) {
            repo->failed = true;
        }
        return err;
    }
    err = fr_apply(repo, payload, payload_len, repo->blobs);
    WEIR_ASSERT(err == 0);
    repo->journal_unsynced = !sync;
    repo->journal_bytes += b->len;
    repo->stats.commits++;
    repo->stats.records += b->records;
    repo->stats.frame_bytes += b->len;
    repo->stats.journal_bytes = repo->journal_bytes;
    return 0;
}

static int fr_commit(weir_ffrepo *repo, weir_ffrepo_batch *b, bool sync)
{
    int err = b->err;
    if (err == 0 && repo->failed) {
        err = WEIR_E_IO;
    }
    if (err == 0 && b->len == 0 && fr_batch_room(b, 0) == NULL) {
        err = b->err;
    }
    if (err == 0) {
        err = fr_commit_frame(repo, b, sync);
    }
    weir_ffrepo_batch_reset(b);
    if (err != 0) {
        return err;
    }
    /* content goes only once no durable record can still point at it: after
     * an fsync (an unsynced commit waits for the next fsync or checkpoint) */
    if (repo->content != NULL && !repo->journal_unsynced) {
        int rerr = weir_content_repo_reclaim(repo->content, NULL);
        if (rerr != 0) {
            weir_log_warn(repo->env,
                          "flowfile repository %s: content reclaim failed: %s (retried "
                          "after the next commit)",
                          repo->dir, weir_err_str(rerr));
        }
    }
    if (fr_checkpoint_due(repo)) {
        int cerr = weir_ffrepo_checkpoint(repo);
        if (cerr != 0) {
            repo->checkpoint_retry = !repo->failed;
            weir_log_warn(repo->env,
                          "flowfile repository %s: checkpoint failed: %s (retried "
                          "after the next commit)",
                          repo->dir, weir_err_str(cerr));
        }
    }
    return 0;
}

int weir_ffrepo_commit(weir_ffrepo *repo, weir_ffrepo_batch *b)
{
    return fr_commit(repo, b, repo->cfg.sync);
}

uint64_t weir_ffrepo_id_next(weir_ffrepo *repo)
{
    return repo->next_id++;
}

/* ---- swap files ---- */

static void fr_shift(weir_flowfile *ff, int64_t shift)
{
    if (shift == 0) {
        return;
    }
    ff->entry_date_ns += shift;
    ff->lineage_start_ns += shift;
    ff->queue_date_ns += shift;
    if (ff->penalty_expiry_ns != 0) {
        ff->penalty_expiry_ns += shift;
    }
}

uint64_t weir_ffrepo_next_swap_id(const weir_ffrepo *repo)
{
    return repo->next_swap_id;
}

int weir_ffrepo_swap_out(weir_ffrepo *repo, uint32_t queue_id, weir_flowfile *const *ffs,
                         size_t count, uint64_t *swap_id_out)
{
    if (repo->failed) {
        return WEIR_E_IO;
    }
    if (count == 0 || count > UINT32_MAX) {
        return WEIR_E_INVAL;
    }
    uint64_t bytes = 0;
    for (size_t i = 0; i < count; i++) {
        fr_slot *s = fr_find(repo, ffs[i]->id);
        if (s == NULL || s->queue_id != queue_id) {
            return WEIR_E_INVAL;
        }
        bytes += ffs[i]->size;
    }
    uint64_t swap_id = repo->next_swap_id++;
    fr_buf fb = {0};
    int err = 0;
    uint8_t *h = fr_buf_room(&fb, FR_SWAP_HEADER);
    if (h == NULL) {
        return WEIR_E_NOMEM;
    }
    memcpy(h, FR_SWAP_MAGIC, 4);
    weir_put_be64(h + 4, swap_id);
    weir_put_be32(h + 12, queue_id);
    weir_put_be32(h + 16, (uint32_t)count);
    fb.len = FR_SWAP_HEADER;
    for (size_t i = 0; i < count && err == 0; i++) {
        uint8_t *p = fr_buf_room(&fb, 8 + weir_flowfile_encoded_size_max(ffs[i]));
        if (p == NULL) {
            err = WEIR_E_NOMEM;
            break;
        }
        fr_buf_seal(&fb, weir_flowfile_encode(ffs[i], p + 8));
    }
    char path[512], tmp[512];
    fr_swap_path(repo, swap_id, "", path, sizeof path);
    fr_swap_path(repo, swap_id, ".tmp", tmp, sizeof tmp);
    if (err == 0) {
        err = fr_write_atomic(repo->env, path, tmp, fb.p, fb.len);
    }
    free(fb.p);
    if (err != 0) {
        return err;
    }
    /* the swap file holds a reference to every claim in it */
    for (size_t i = 0; i < count; i++) {
        if (ffs[i]->content != NULL) {
            weir_content_repo_incref(ffs[i]->content, &ffs[i]->claim);
        }
    }
    weir_ffrepo_batch b = {0};
    uint8_t *p = fr_batch_room(&b, 1 + 4 * 10 + count * 10);
    if (p != NULL) {
        uint8_t *start = p;
        *p++ = FR_SWAP_OUT;
        p += weir_put_uvarint(p, swap_id);
        p += weir_put_uvarint(p, queue_id);
        p += weir_put_uvarint(p, count);
        p += weir_put_uvarint(p, bytes);
        for (size_t i = 0; i < count; i++) {
            p += weir_put_uvarint(p, ffs[i]->id);
        }
        b.len += (size_t)(p - start);
        b.records = 1;
    }
    err = weir_ffrepo_commit(repo, &b);
    weir_ffrepo_batch_free(&b);
    if (err != 0) {
        /* the FlowFiles stay live here; the swap file stays too (the frame
         * may have reached the disk: if not, the next recovery deletes it) */
        for (size_t i = 0; i < count; i++) {
            if (ffs[i]->content != NULL) {
                weir_content_repo_decref(ffs[i]->content, &ffs[i]->claim);
            }
        }
        return err;
    }
    *swap_id_out = swap_id;
    return 0;
}

/* Reads and decodes swap file swap_id: exactly count FlowFiles. */
static int fr_swap_read(weir_ffrepo *repo, uint64_t swap_id, uint32_t queue_id, uint32_t count,
                        weir_flowfile **ffs_out, char *why, size_t why_size)
{
    char path[512];
    fr_swap_path(repo, swap_id, "", path, sizeof path);
    uint8_t *buf = NULL;
    size_t len = 0;
    int err = fr_slurp(repo->env, path, &buf, &len);
    if (err != 0) {
        snprintf(why, why_size, "%s: cannot read: %s", path, weir_err_str(err));
        return err == WEIR_E_NOENT ? WEIR_E_CORRUPT : err;
    }
    size_t off = 0;
    size_t n = 0;
    const char *bad = NULL;
    if (len < FR_SWAP_HEADER || memcmp(buf, FR_SWAP_MAGIC, 4) != 0) {
        bad = "not a swap file (magic)";
    } else if (weir_get_be64(buf + 4) != swap_id || weir_get_be32(buf + 12) != queue_id ||
               weir_get_be32(buf + 16) != count) {
        bad = "header does not match the log (swap id, queue id or count)";
    }
    off = FR_SWAP_HEADER;
    while (bad == NULL && n < count) {
        if (len - off < 8) {
            bad = "truncated record header";
            break;
        }
        uint32_t rl = weir_get_be32(buf + off);
        uint32_t crc = weir_get_be32(buf + off + 4);
        if (rl > len - off - 8) {
            bad = "record longer than the file";
            break;
        }
        if (weir_crc32c(0, buf + off + 8, rl) != crc) {
            bad = "record CRC mismatch";
            break;
        }
        err = weir_flowfile_decode(buf + off + 8, rl, repo->content, &ffs_out[n], &bad);
        if (err != 0 && err != WEIR_E_CORRUPT) {
            break;
        }
        if (err == 0) {
            n++;
            off += 8 + rl;
        }
    }
    if (bad == NULL && err == 0 && off != len) {
        bad = "bytes after the last record";
    }
    free(buf);
    if (bad != NULL || err != 0) {
        if (bad != NULL) {
            snprintf(why, why_size, "%s: offset %zu: %s", path, off, bad);
            err = WEIR_E_CORRUPT;
        }
        while (n > 0) {
            weir_flowfile_free_keep_claim(ffs_out[--n]);
        }
    }
    return err;
}

int weir_ffrepo_swap_in(weir_ffrepo *repo, uint64_t swap_id, weir_flowfile **ffs_out, size_t count)
{
    if (repo->failed) {
        return WEIR_E_IO;
    }
    fr_swap *sw = fr_swap_find(repo, swap_id, NULL);
    if (sw == NULL) {
        return WEIR_E_NOENT;
    }
    if (sw->count != count) {
        return WEIR_E_INVAL;
    }
    uint32_t queue_id = sw->queue_id;
    weir_flowfile **ffs = malloc((count ? count : 1) * sizeof *ffs);
    if (ffs == NULL) {
        return WEIR_E_NOMEM;
    }
    char why[512];
    int err = fr_swap_read(repo, swap_id, queue_id, (uint32_t)count, ffs, why, sizeof why);
    if (err != 0) {
        if (err == WEIR_E_CORRUPT) {
            weir_log_error(repo->env, "flowfile repository: %s", why);
        }
        free(ffs);
        return err;
    }
    if (swap_id < repo->first_swap_id_run) {
        for (size_t i = 0; i < count; i++) {
            fr_shift(ffs[i], repo->clock_shift_ns);
        }
    }
    weir_ffrepo_batch b = {0};
    uint8_t *p = fr_batch_room(&b, 1 + 10);
    if (p != NULL) {
        uint8_t *start = p;
        *p++ = FR_SWAP_IN;
        p += weir_put_uvarint(p, swap_id);
        b.len += (size_t)(p - start);
        b.records = 1;
    }
    for (size_t i = 0; i < count; i++) {
        weir_ffrepo_batch_put(&b, queue_id, ffs[i]);
    }
    /* synced whatever cfg.sync says: the swap file goes next, and a SWAP_OUT
     * without its file would be a loss */
    err = fr_commit(repo, &b, true);
    weir_ffrepo_batch_free(&b);
    if (err != 0) {
        for (size_t i = 0; i < count; i++) {
            weir_flowfile_free_keep_claim(ffs[i]);
        }
        free(ffs);
        return err;
    }
    char path[512];
    fr_swap_path(repo, swap_id, "", path, sizeof path);
    int uerr = weir_fs_unlink(repo->env, path);
    if (uerr != 0) {
        weir_log_warn(repo->env,
                      "flowfile repository: %s: cannot delete: %s (removed at the "
                      "next recovery)",
                      path, weir_err_str(uerr));
    }
    memcpy(ffs_out, ffs, count * sizeof *ffs);
    free(ffs);
    return 0;
}

/* ---- recovery ---- */

#define FR_FAIL(code, ...)                                                                         \
    do {                                                                                           \
        snprintf(why, why_size, __VA_ARGS__);                                                      \
        return (code);                                                                             \
    } while (0)

static int fr_load_snapshot(weir_ffrepo *repo, weir_ffrepo_recovered *rec, uint64_t *first_seq,
                            char *why, size_t why_size)
{
    char path[512];
    fr_path(repo, "snapshot", path, sizeof path);
    uint8_t *buf = NULL;
    size_t len = 0;
    int err = fr_slurp(repo->env, path, &buf, &len);
    if (err == WEIR_E_NOENT) {
        return 0;
    }
    if (err != 0) {
        FR_FAIL(err, "%s: cannot read: %s", path, weir_err_str(err));
    }
    const char *bad = NULL;
    size_t off = 0;
    uint64_t live = 0, swaps = 0;
    if (len < FR_SNAPSHOT_HEADER || memcmp(buf, FR_SNAPSHOT_MAGIC, 4) != 0) {
        bad = "not a snapshot (magic or size)";
    } else {
        repo->next_id = weir_get_be64(buf + 4);
        repo->writer_now_ns = (int64_t)weir_get_be64(buf + 12);
        *first_seq = weir_get_be64(buf + 20);
        repo->next_swap_id = weir_get_be64(buf + 28);
        live = weir_get_be64(buf + 36);
        swaps = weir_get_be64(buf + 44);
        off = FR_SNAPSHOT_HEADER;
        if (live > len || swaps > len) {
            bad = "record counts larger than the file";
        }
    }
    if (bad == NULL) {
        err = fr_reserve(repo, (size_t)live);
        if (err == 0) {
            err = fr_swap_reserve(repo, (size_t)swaps);
        }
    }
    for (uint64_t i = 0; bad == NULL && err == 0 && i < live + swaps; i++) {
        if (len - off < 8) {
            bad = "truncated record header";
            break;
        }
        uint32_t rl = weir_get_be32(buf + off);
        if (rl > len - off - 8) {
            bad = "record longer than the file";
            break;
        }
        if (weir_crc32c(0, buf + off + 8, rl) != weir_get_be32(buf + off + 4)) {
            bad = "record CRC mismatch";
            break;
        }
        weir_reader r = {buf + off + 8, buf + off + 8 + rl, false};
        fr_record record;
        if (!fr_next_record(&r, &record, &bad)) {
            break;
        }
        if (r.p != r.end || record.type != (i < live ? FR_PUT : FR_SWAP_ENTRY)) {
            bad = i < live ? "expected a FlowFile record" : "expected a swap record";
            break;
        }
        if (record.type == FR_PUT) {
            if (fr_find(repo, record.id) != NULL) {
                bad = "FlowFile id twice";
                break;
            }
            uint8_t *copy = malloc(record.len ? record.len : 1);
            if (copy == NULL) {
                err = WEIR_E_NOMEM;
                break;
            }
            memcpy(copy, record.rec, record.len);
            fr_upsert(repo, record.id, record.queue_id, copy, record.len);
            if (record.id >= repo->next_id) {
                repo->next_id = record.id + 1;
            }
        } else if (!fr_swap_add(repo, &record.swap)) {
            bad = "swap id twice";
            break;
        }
        off += 8 + rl;
        rec->snapshot_records++;
    }
    if (bad == NULL && err == 0 && off != len) {
        bad = "bytes after the last record";
    }
    free(buf);
    if (err != 0) {
        return err;
    }
    if (bad != NULL) {
        FR_FAIL(WEIR_E_CORRUPT, "%s: offset %zu: %s", path, off, bad);
    }
    rec->snapshot_loaded = true;
    return 0;
}

/* Replays one journal. last: the newest one (a bad frame there is a torn
 * tail, cut; elsewhere corruption). */
static int fr_replay_journal(weir_ffrepo *repo, uint64_t seq, bool last, weir_ffrepo_recovered *rec,
                             char *why, size_t why_size)
{
    char rel[64], path[512];
    fr_journal_name(seq, rel, sizeof rel);
    fr_path(repo, rel, path, sizeof path);
    uint8_t *buf = NULL;
    size_t len = 0;
    int err = fr_slurp(repo->env, path, &buf, &len);
    if (err != 0) {
        FR_FAIL(err, "%s: cannot read: %s", path, weir_err_str(err));
    }
    const char *bad = NULL;
    size_t off = 0;
    if (len < FR_JOURNAL_HEADER && !last) {
        /* fr_journal_start syncs the header before any frame is written, so
         * a torn header means the journal never held a frame: two
         * checkpoints in a row cut before their header's fsync */
        free(buf);
        return 0;
    }
    if (len < FR_JOURNAL_HEADER) {
        bad = "torn journal header";
    } else if (memcmp(buf, FR_JOURNAL_MAGIC, 4) != 0 || weir_get_be64(buf + 4) != seq) {
        bad = "not this journal (magic or sequence)";
    } else {
        off = FR_JOURNAL_HEADER;
    }
    while (bad == NULL && err == 0 && off < len) {
        if (len - off < FR_FRAME_HEADER) {
            bad = "torn frame header";
            break;
        }
        uint32_t pl = weir_get_be32(buf + off);
        const uint8_t *payload = buf + off + FR_FRAME_HEADER;
        if (pl < FR_PAYLOAD_HEADER || pl > len - off - FR_FRAME_HEADER) {
            bad = pl < FR_PAYLOAD_HEADER ? "frame shorter than its header" : "torn frame";
            break;
        }
        if (weir_crc32c(0, payload, pl) != weir_get_be32(buf + off + 4)) {
            bad = "frame CRC mismatch";
            break;
        }
        size_t puts, swaps;
        if (!fr_scan_payload(payload, pl, weir_get_be32(payload + 16), &puts, &swaps, &bad)) {
            break;
        }
        err = fr_reserve(repo, puts);
        if (err == 0) {
            err = fr_swap_reserve(repo, swaps);
        }
        if (err == 0) {
            err = fr_apply(repo, payload, pl, NULL);
        }
        if (err == 0) {
            off += FR_FRAME_HEADER + pl;
            rec->frames_replayed++;
        }
    }
    free(buf);
    if (err != 0) {
        return err;
    }
    rec->journals_replayed++;
    if (bad != NULL) {
        if (!last) {
            FR_FAIL(WEIR_E_CORRUPT, "%s: offset %zu: %s (not the newest journal)", path, off, bad);
        }
        rec->cut = true;
        snprintf(rec->cut_file, sizeof rec->cut_file, "%s", rel);
        rec->cut_offset = off;
        rec->cut_reason = bad;
        weir_log_warn(repo->env, "flowfile repository: %s: offset %zu: %s: replay stops here", path,
                      off, bad);
    }
    return 0;
}

static int fr_replay_journals(weir_ffrepo *repo, uint64_t first_seq, weir_ffrepo_recovered *rec,
                              char *why, size_t why_size)
{
    char jdir[512];
    fr_path(repo, "journal", jdir, sizeof jdir);
    weir_dirlist list = {0};
    int err = weir_fs_list(repo->env, jdir, &list);
    if (err != 0) {
        FR_FAIL(err, "%s: cannot list: %s", jdir, weir_err_str(err));
    }
    uint64_t *seqs = malloc((list.count ? list.count : 1) * sizeof *seqs);
    size_t n = 0;
    if (seqs == NULL) {
        weir_fs_list_free(&list);
        return WEIR_E_NOMEM;
    }
    for (size_t i = 0; i < list.count && err == 0; i++) {
        uint64_t s = fr_parse_seq(list.names[i], ".journal");
        char path[600];
        snprintf(path, sizeof path, "%s/%s", jdir, list.names[i]);
        if (s == 0) {
            snprintf(why, why_size, "%s: not a journal name (<20-digit seq>.journal)", path);
            err = WEIR_E_CORRUPT;
        } else if (s < first_seq) {
            err = weir_fs_unlink(repo->env, path); /* covered by the snapshot */
        } else {
            seqs[n++] = s; /* sorted: fixed-width names */
        }
    }
    weir_fs_list_free(&list);
    if (err == 0 && rec->snapshot_loaded && (n == 0 || seqs[0] != first_seq)) {
        snprintf(why, why_size, "%s/%020" PRIu64 ".journal: missing (the snapshot replays from it)",
                 jdir, first_seq);
        err = WEIR_E_CORRUPT;
    }
    if (err == 0 && !rec->snapshot_loaded && n > 0 && seqs[0] != 1) {
        snprintf(why, why_size, "%s/snapshot: missing (the journals start at %" PRIu64 ")",
                 repo->dir, seqs[0]);
        err = WEIR_E_CORRUPT;
    }
    for (size_t i = 0; err == 0 && i < n; i++) {
        if (i > 0 && seqs[i] != seqs[i - 1] + 1) {
            snprintf(why, why_size, "%s/%020" PRIu64 ".journal: missing between two journals", jdir,
                     seqs[i - 1] + 1);
            err = WEIR_E_CORRUPT;
            break;
        }
        err = fr_replay_journal(repo, seqs[i], i + 1 == n, rec, why, why_size);
    }
    uint64_t last = n > 0 ? seqs[n - 1] : (first_seq > 0 ? first_seq - 1 : 0);
    free(seqs);
    repo->journal_seq = last;
    return err;
}

/* Checks the swap files: those in the state are read (claims re-referenced),
 * the others deleted. */
static int fr_recover_swaps(weir_ffrepo *repo, weir_ffrepo_recovered *rec, char *why,
                            size_t why_size)
{
    char sdir[512];
    fr_path(repo, "swap", sdir, sizeof sdir);
    weir_dirlist list = {0};
    int err = weir_fs_list(repo->env, sdir, &list);
    if (err != 0) {
        FR_FAIL(err, "%s: cannot list: %s", sdir, weir_err_str(err));
    }
    for (size_t i = 0; i < list.count && err == 0; i++) {
        const char *name = list.names[i];
        char path[600];
        snprintf(path, sizeof path, "%s/%s", sdir, name);
        uint64_t id = fr_parse_seq(name, ".swap");
        uint64_t tmp_id = fr_parse_seq(name, ".swap.tmp");
        if (id >= repo->next_swap_id) {
            repo->next_swap_id = id + 1;
        }
        if (tmp_id >= repo->next_swap_id) {
            repo->next_swap_id = tmp_id + 1;
        }
        if (tmp_id != 0 || (id != 0 && fr_swap_find(repo, id, NULL) == NULL)) {
            err = weir_fs_unlink(repo->env, path);
            rec->swap_files_removed++;
        } else if (id == 0) {
            snprintf(why, why_size, "%s: not a swap file name (<20-digit id>.swap)", path);
            err = WEIR_E_CORRUPT;
        }
    }
    weir_fs_list_free(&list);
    for (size_t i = 0; i < repo->swap_count && err == 0; i++) {
        const fr_swap *sw = &repo->swaps[i];
        weir_flowfile **ffs = malloc((sw->count ? sw->count : 1) * sizeof *ffs);
        if (ffs == NULL) {
            return WEIR_E_NOMEM;
        }
        err = fr_swap_read(repo, sw->swap_id, sw->queue_id, sw->count, ffs, why, why_size);
        if (err == 0) { /* on an error fr_swap_read freed what it decoded */
            for (uint32_t k = 0; k < sw->count; k++) {
                if (err == 0) {
                    err = weir_content_repo_ref_recovered(repo->content, &ffs[k]->claim, why,
                                                          why_size);
                }
                weir_flowfile_free_keep_claim(ffs[k]);
            }
        }
        free(ffs);
    }
    return err;
}

static int fr_entry_cmp(const void *a, const void *b)
{
    const weir_ffrepo_entry *x = a, *y = b;
    if (x->queue_id != y->queue_id) {
        return x->queue_id < y->queue_id ? -1 : 1;
    }
    if (x->ff->queue_date_ns != y->ff->queue_date_ns) {
        return x->ff->queue_date_ns < y->ff->queue_date_ns ? -1 : 1;
    }
    if (x->ff->queue_index != y->ff->queue_index) {
        return x->ff->queue_index < y->ff->queue_index ? -1 : 1;
    }
    return x->ff->id < y->ff->id ? -1 : x->ff->id > y->ff->id;
}

static int fr_swap_info_cmp(const void *a, const void *b)
{
    const weir_ffrepo_swap_info *x = a, *y = b;
    if (x->queue_id != y->queue_id) {
        return x->queue_id < y->queue_id ? -1 : 1;
    }
    return x->swap_id < y->swap_id ? -1 : x->swap_id > y->swap_id;
}

/* Decodes the live FlowFiles into rec->entries and re-references their claims. */
static int fr_recover_live(weir_ffrepo *repo, weir_ffrepo_recovered *rec, char *why,
                           size_t why_size)
{
    rec->entries = calloc(repo->live ? repo->live : 1, sizeof *rec->entries);
    if (rec->entries == NULL) {
        return WEIR_E_NOMEM;
    }
    for (size_t i = 0; i < repo->slot_cap; i++) {
        const fr_slot *s = &repo->slots[i];
        if (s->id == 0) {
            continue;
        }
        weir_flowfile *ff;
        const char *bad = NULL;
        int err = weir_flowfile_decode(s->rec, s->len, repo->content, &ff, &bad);
        if (err == WEIR_E_CORRUPT) {
            FR_FAIL(err, "%s: FlowFile %" PRIu64 ": %s", repo->dir, s->id, bad);
        }
        if (err != 0) {
            return err;
        }
        fr_shift(ff, repo->clock_shift_ns);
        rec->entries[rec->count].ff = ff;
        rec->entries[rec->count].queue_id = s->queue_id;
        rec->count++;
        if (repo->content != NULL) {
            err = weir_content_repo_ref_recovered(repo->content, &ff->claim, why, why_size);
            if (err != 0) {
                ff->content = NULL; /* no reference was taken */
                return err;
            }
        } else if (!weir_content_claim_is_null(&ff->claim)) {
            ff->content = NULL;
            FR_FAIL(WEIR_E_CORRUPT,
                    "%s: FlowFile %" PRIu64 " has content but no content "
                    "repository was given",
                    repo->dir, s->id);
        }
    }
    qsort(rec->entries, rec->count, sizeof *rec->entries, fr_entry_cmp);
    rec->swaps = calloc(repo->swap_count ? repo->swap_count : 1, sizeof *rec->swaps);
    if (rec->swaps == NULL) {
        return WEIR_E_NOMEM;
    }
    for (size_t i = 0; i < repo->swap_count; i++) {
        const fr_swap *sw = &repo->swaps[i];
        rec->swaps[i] = (weir_ffrepo_swap_info){sw->swap_id, sw->queue_id, sw->count, sw->bytes};
    }
    rec->swap_count = repo->swap_count;
    qsort(rec->swaps, rec->swap_count, sizeof *rec->swaps, fr_swap_info_cmp);
    return 0;
}

void weir_ffrepo_recovered_free(weir_ffrepo_recovered *rec)
{
    for (size_t i = 0; i < rec->count; i++) {
        weir_flowfile_free(rec->entries[i].ff);
    }
    free(rec->entries);
    free(rec->swaps);
    rec->entries = NULL;
    rec->swaps = NULL;
    rec->count = 0;
    rec->swap_count = 0;
}

static void fr_free(weir_ffrepo *repo)
{
    if (repo->journal != NULL) {
        weir_file_close(repo->env, repo->journal);
    }
    for (size_t i = 0; i < repo->slot_cap; i++) {
        free(repo->slots[i].rec);
    }
    free(repo->slots);
    free(repo->swaps);
    free(repo->blobs);
    free(repo->dir);
    free(repo);
}

static int fr_recover(weir_ffrepo *repo, weir_ffrepo_recovered *rec, char *why, size_t why_size)
{
    char sub[512];
    int err = weir_fs_mkdirs(repo->env, repo->dir);
    fr_path(repo, "journal", sub, sizeof sub);
    if (err == 0) {
        err = weir_fs_mkdirs(repo->env, sub);
    }
    fr_path(repo, "swap", sub, sizeof sub);
    if (err == 0) {
        err = weir_fs_mkdirs(repo->env, sub);
    }
    if (err != 0) {
        FR_FAIL(err, "%s: cannot create the folders: %s", repo->dir, weir_err_str(err));
    }
    char partial[512];
    fr_path(repo, "snapshot.partial", partial, sizeof partial);
    err = weir_fs_unlink(repo->env, partial); /* an unfinished checkpoint */
    if (err != 0 && err != WEIR_E_NOENT) {
        return err;
    }
    uint64_t first_seq = 1;
    err = fr_load_snapshot(repo, rec, &first_seq, why, why_size);
    if (err == 0) {
        err = fr_replay_journals(repo, first_seq, rec, why, why_size);
    }
    if (err == 0 && repo->content == NULL && repo->swap_count > 0) {
        FR_FAIL(WEIR_E_INVAL, "%s: swap files need a content repository", repo->dir);
    }
    if (err == 0) {
        err = fr_recover_swaps(repo, rec, why, why_size);
    }
    int64_t now_ns = weir_now_ns(repo->env);
    repo->clock_shift_ns = now_ns < repo->writer_now_ns ? now_ns - repo->writer_now_ns : 0;
    repo->first_swap_id_run = repo->next_swap_id;
    if (err == 0) {
        err = fr_recover_live(repo, rec, why, why_size);
    }
    if (err == 0 && repo->content != NULL) {
        err = weir_content_repo_recovery_finish(repo->content, &rec->content_files_reclaimed);
        if (err != 0) {
            FR_FAIL(err, "%s: content reclaim after recovery: %s", repo->dir, weir_err_str(err));
        }
    }
    if (repo->next_id == 0) {
        repo->next_id = 1;
    }
    if (repo->next_swap_id == 0) {
        repo->next_swap_id = 1;
    }
    if (err == 0) {
        /* a fresh journal and snapshot: the next start replays nothing twice
         * and the torn tail (if any) is gone with its journal */
        err = weir_ffrepo_checkpoint(repo);
        if (err != 0) {
            FR_FAIL(err, "%s: checkpoint after recovery: %s", repo->dir, weir_err_str(err));
        }
    }
    rec->next_id = repo->next_id;
    rec->clock_shift_ns = repo->clock_shift_ns;
    return err;
}

int weir_ffrepo_open(weir_env *env, const char *dir, const weir_ffrepo_config *cfg,
                     weir_content_repo *content, weir_ffrepo_recovered *rec, weir_ffrepo **out,
                     char *why, size_t why_size)
{
    char ignored[8];
    if (why == NULL) {
        why = ignored;
        why_size = sizeof ignored;
    }
    why[0] = '\0';
    *rec = (weir_ffrepo_recovered){0};
    weir_ffrepo *repo = calloc(1, sizeof *repo);
    if (repo == NULL) {
        return WEIR_E_NOMEM;
    }
    repo->env = env;
    repo->content = content;
    if (cfg != NULL) {
        repo->cfg = *cfg;
    } else {
        weir_ffrepo_config_default(&repo->cfg);
    }
    repo->dir = strdup(dir);
    int err = repo->dir == NULL ? WEIR_E_NOMEM : fr_reserve(repo, 0);
    if (err == 0) {
        err = fr_recover(repo, rec, why, why_size);
    }
    if (err != 0) {
        weir_ffrepo_recovered_free(rec);
        fr_free(repo);
        return err;
    }
    repo->stats.checkpoints = 0;
    *out = repo;
    return 0;
}

int weir_ffrepo_close(weir_ffrepo *repo)
{
    int err = 0;
    if (repo->journal != NULL && !repo->failed && repo->journal_unsynced) {
        err = weir_file_sync(repo->env, repo->journal);
    }
    fr_free(repo);
    return err;
}

void weir_ffrepo_abandon(weir_ffrepo *repo)
{
    fr_free(repo);
}

void weir_ffrepo_stats_get(const weir_ffrepo *repo, weir_ffrepo_stats *out)
{
    *out = repo->stats;
    out->live_count = repo->live;
    out->swap_count = repo->swap_count;
    out->swapped_count = repo->swapped_flowfiles;
    out->journal_seq = repo->journal_seq;
    out->journal_bytes = repo->journal_bytes;
}

bool weir_ffrepo_lookup(const weir_ffrepo *repo, uint64_t id, uint32_t *queue_id_out)
{
    const fr_slot *s = fr_find(repo, id);
    if (s == NULL) {
        return false;
    }
    if (queue_id_out != NULL) {
        *queue_id_out = s->queue_id;
    }
    return true;
}

void weir_ffrepo_set_sync(weir_ffrepo *repo, bool sync)
{
    repo->cfg.sync = sync;
}
