#include "log/index.h"

#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "core/bytes.h"

/* Loads entries up to the first all-zero one (preallocated space) in chunks;
 * notes any non-zero byte after it. Reads at most the file, keeps only entries. */
static int index_load(weir_index *ix, uint64_t size)
{
    size_t entries = (size_t)(size / ix->entry_size);
    if (entries > ix->max_entries) {
        entries = ix->max_entries; /* written with a larger segment.index.bytes: keep what fits */
    }
    size_t chunk_entries = 65536 / ix->entry_size;
    uint8_t *chunk = malloc(chunk_entries * ix->entry_size);
    if (chunk == NULL) {
        return WEIR_E_NOMEM;
    }
    bool seen_zero = false;
    int err = 0;
    for (size_t done = 0; done < entries && err == 0 && !ix->trailing_garbage;) {
        size_t want = entries - done < chunk_entries ? entries - done : chunk_entries;
        size_t got = 0;
        err = weir_file_pread(ix->env, ix->file, chunk, want * ix->entry_size,
                              (uint64_t)done * ix->entry_size, &got);
        size_t k = err == 0 ? got / ix->entry_size : 0;
        for (size_t i = 0; i < k && err == 0; i++) {
            const uint8_t *e = chunk + i * ix->entry_size;
            bool zero = true;
            for (size_t b = 0; b < ix->entry_size && zero; b++) {
                zero = e[b] == 0;
            }
            if (seen_zero || zero) {
                seen_zero = true; /* preallocated space from here on: only zeros allowed */
                if (!zero) {
                    ix->trailing_garbage = true;
                    break;
                }
                continue;
            }
            if (ix->n == ix->cap) {
                size_t cap = ix->cap * 2;
                uint8_t *raw = realloc(ix->raw, cap * ix->entry_size);
                if (raw == NULL) {
                    err = WEIR_E_NOMEM;
                    break;
                }
                ix->raw = raw;
                ix->cap = cap;
            }
            memcpy(ix->raw + ix->n * ix->entry_size, e, ix->entry_size);
            ix->n++;
        }
        done += k;
        if (k < want) {
            break; /* the file ended early */
        }
    }
    free(chunk);
    ix->written = ix->n;
    return err;
}

int weir_index_open(weir_env *env, const char *path, size_t entry_size, size_t max_bytes, bool load,
                    weir_index *out)
{
    memset(out, 0, sizeof *out);
    out->env = env;
    out->entry_size = entry_size;
    out->max_entries = max_bytes / entry_size;
    int err = weir_file_open(env, path, 0, &out->file);
    if (err == WEIR_E_NOENT) {
        out->created = true;
        err = weir_file_open(env, path, WEIR_F_CREATE, &out->file);
    }
    if (err != 0) {
        return err;
    }
    uint64_t size = 0;
    if ((err = weir_file_size(env, out->file, &size)) != 0) {
        goto fail;
    }
    out->cap = 16;
    out->raw = malloc(out->cap * entry_size);
    if (out->raw == NULL) {
        err = WEIR_E_NOMEM;
        goto fail;
    }
    out->file_bytes = size;
    if (load && (err = index_load(out, size)) != 0) {
        goto fail;
    }
    if (size == 0 && (err = weir_index_preallocate(out)) != 0) {
        goto fail;
    }
    return 0;
fail:
    weir_index_close(out);
    return err;
}

void weir_index_close(weir_index *ix)
{
    if (ix->file != NULL) {
        weir_file_close(ix->env, ix->file);
    }
    free(ix->raw);
    ix->file = NULL;
    ix->raw = NULL;
    ix->n = 0;
}

/* Writes the entries appended since the last write, in one pwrite. */
static int index_write_pending(weir_index *ix)
{
    if (ix->written >= ix->n) {
        return 0;
    }
    uint64_t at = (uint64_t)ix->written * ix->entry_size;
    size_t len = (ix->n - ix->written) * ix->entry_size;
    int err = weir_file_pwrite(ix->env, ix->file, ix->raw + at, len, at);
    if (err != 0) {
        return err;
    }
    ix->written = ix->n;
    ix->dirty = true;
    if (at + len > ix->file_bytes) {
        ix->file_bytes = at + len;
    }
    return 0;
}

int weir_index_preallocate(weir_index *ix)
{
    uint64_t want = (uint64_t)ix->max_entries * ix->entry_size;
    if (ix->file_bytes == want) {
        return 0;
    }
    int err = weir_file_truncate(ix->env, ix->file, want);
    if (err == 0) {
        ix->file_bytes = want;
        ix->dirty = true;
    }
    return err;
}

int weir_index_reset(weir_index *ix)
{
    ix->n = 0;
    ix->written = 0;
    ix->trailing_garbage = false;
    if (ix->cap > 16) {
        uint8_t *raw = realloc(ix->raw, 16 * ix->entry_size);
        if (raw != NULL) {
            ix->raw = raw;
            ix->cap = 16;
        }
    }
    int err = weir_file_truncate(ix->env, ix->file, 0);
    if (err != 0) {
        return err;
    }
    ix->file_bytes = 0;
    return weir_index_preallocate(ix);
}

int weir_index_trim(weir_index *ix)
{
    int err = index_write_pending(ix);
    uint64_t want = (uint64_t)ix->n * ix->entry_size;
    if (err != 0 || ix->file_bytes == want) {
        return err;
    }
    err = weir_file_truncate(ix->env, ix->file, want);
    if (err == 0) {
        ix->file_bytes = want;
        ix->dirty = true;
    }
    return err;
}

int weir_index_sync(weir_index *ix)
{
    int err = index_write_pending(ix);
    if (err == 0 && ix->dirty) {
        err = weir_file_sync(ix->env, ix->file);
        ix->dirty = err != 0;
    }
    return err;
}

static int index_push(weir_index *ix, const uint8_t *entry)
{
    WEIR_ASSERT(ix->n < ix->max_entries);
    if (ix->n == ix->cap) {
        size_t cap = ix->cap * 2 < ix->max_entries ? ix->cap * 2 : ix->max_entries;
        uint8_t *raw = realloc(ix->raw, cap * ix->entry_size);
        if (raw == NULL) {
            return WEIR_E_NOMEM;
        }
        ix->raw = raw;
        ix->cap = cap;
    }
    /* In memory only: written in one go at the next sync, trim or seal. An
     * unclean shutdown rebuilds this segment's indexes anyway. */
    memcpy(ix->raw + ix->n * ix->entry_size, entry, ix->entry_size);
    ix->n++;
    return 0;
}

/* Drops entries [keep, n): zero their bytes on disk so a reload does not see them. */
static int index_cut(weir_index *ix, size_t keep)
{
    if (keep >= ix->n) {
        return 0;
    }
    if (keep >= ix->written) {
        ix->n = keep; /* the dropped entries never reached the file */
        return 0;
    }
    uint64_t from = (uint64_t)keep * ix->entry_size;
    uint64_t full = ix->file_bytes;
    int err = weir_file_truncate(ix->env, ix->file, from);
    if (err == 0 && full > from) {
        err = weir_file_truncate(ix->env, ix->file, full);
    }
    if (err != 0) {
        return err;
    }
    ix->n = keep;
    ix->written = keep;
    ix->dirty = true;
    return 0;
}

/* True if raw bytes [from, to) are all zero. */
static bool all_zero(const uint8_t *p, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        if (p[i] != 0) {
            return false;
        }
    }
    return true;
}

/* ---- offset index ---- */

void weir_offset_index_entry(const weir_index *ix, size_t i, uint32_t *rel, uint32_t *pos)
{
    WEIR_ASSERT(i < ix->n && ix->entry_size == WEIR_OFFSET_INDEX_ENTRY);
    *rel = weir_get_be32(ix->raw + i * 8);
    *pos = weir_get_be32(ix->raw + i * 8 + 4);
}

bool weir_offset_index_sanitize(weir_index *ix, uint64_t log_bytes, int64_t next_rel)
{
    size_t total = ix->n;
    size_t good = 0;
    int64_t last_rel = -1;
    int64_t last_pos = 0;
    for (; good < total; good++) {
        uint32_t rel, pos;
        weir_offset_index_entry(ix, good, &rel, &pos);
        if ((int64_t)rel <= last_rel || (int64_t)rel >= next_rel || (int64_t)pos <= last_pos ||
            pos >= log_bytes) {
            break;
        }
        last_rel = rel;
        last_pos = pos;
    }
    ix->n = good;
    ix->written = good;
    return !ix->trailing_garbage && all_zero(ix->raw, good * 8, total * 8);
}

int weir_offset_index_append(weir_index *ix, uint32_t rel_offset, uint32_t position)
{
    uint8_t e[8];
    weir_put_be32(e, rel_offset);
    weir_put_be32(e + 4, position);
    return index_push(ix, e);
}

bool weir_offset_index_lookup(const weir_index *ix, uint32_t rel_target, uint32_t *rel_out,
                              uint32_t *pos_out)
{
    size_t lo = 0, hi = ix->n; /* find the first entry with offset > target */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (weir_get_be32(ix->raw + mid * 8) <= rel_target) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo == 0) {
        *rel_out = 0;
        *pos_out = 0;
        return false;
    }
    weir_offset_index_entry(ix, lo - 1, rel_out, pos_out);
    return true;
}

int weir_offset_index_truncate(weir_index *ix, uint32_t rel_offset)
{
    size_t keep = 0;
    while (keep < ix->n && weir_get_be32(ix->raw + keep * 8) < rel_offset) {
        keep++;
    }
    return index_cut(ix, keep);
}

/* ---- time index ---- */

void weir_time_index_entry(const weir_index *ix, size_t i, int64_t *ts, uint32_t *rel)
{
    WEIR_ASSERT(i < ix->n && ix->entry_size == WEIR_TIME_INDEX_ENTRY);
    *ts = (int64_t)weir_get_be64(ix->raw + i * 12);
    *rel = weir_get_be32(ix->raw + i * 12 + 8);
}

bool weir_time_index_sanitize(weir_index *ix, int64_t next_rel)
{
    size_t total = ix->n;
    size_t good = 0;
    int64_t last_ts = INT64_MIN;
    int64_t last_rel = -1;
    for (; good < total; good++) {
        int64_t ts;
        uint32_t rel;
        weir_time_index_entry(ix, good, &ts, &rel);
        /* An all-zero entry is preallocated space, not an entry. */
        if (all_zero(ix->raw, good * 12, good * 12 + 12) || ts <= last_ts ||
            (int64_t)rel < last_rel || (int64_t)rel >= next_rel) {
            break;
        }
        last_ts = ts;
        last_rel = rel;
    }
    ix->n = good;
    ix->written = good;
    return !ix->trailing_garbage && all_zero(ix->raw, good * 12, total * 12);
}

int weir_time_index_maybe_append(weir_index *ix, int64_t ts, uint32_t rel_offset)
{
    if (ix->n > 0) {
        int64_t last_ts;
        uint32_t last_rel;
        weir_time_index_entry(ix, ix->n - 1, &last_ts, &last_rel);
        if (ts <= last_ts) {
            return 0;
        }
    }
    if (ix->n >= ix->max_entries) {
        return 0; /* full: the segment rolls before this matters */
    }
    uint8_t e[12];
    weir_put_be64(e, (uint64_t)ts);
    weir_put_be32(e + 8, rel_offset);
    return index_push(ix, e);
}

bool weir_time_index_lookup(const weir_index *ix, int64_t ts, int64_t *ts_out, uint32_t *rel_out)
{
    size_t lo = 0, hi = ix->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((int64_t)weir_get_be64(ix->raw + mid * 12) <= ts) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo == 0) {
        return false;
    }
    weir_time_index_entry(ix, lo - 1, ts_out, rel_out);
    return true;
}

int weir_time_index_truncate(weir_index *ix, uint32_t rel_offset)
{
    size_t keep = 0;
    while (keep < ix->n && weir_get_be32(ix->raw + keep * 12 + 8) < rel_offset) {
        keep++;
    }
    return index_cut(ix, keep);
}
