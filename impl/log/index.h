/* A segment's sparse indexes, in Kafka's file formats.
 *
 * `.index`: 8-byte entries (int32 offset - base offset, int32 byte position of
 * the batch in the .log). An entry (O, P) is written for a batch whose last
 * offset is O and that starts at P, once more than index.interval.bytes have
 * been appended since the previous entry.
 * `.timeindex`: 12-byte entries (int64 timestamp, int32 offset - base): the
 * largest timestamp seen before that offset. Timestamps strictly increase.
 *
 * Both files are preallocated to segment.index.bytes (zero-filled) while the
 * segment is active and trimmed to their entries when it rolls or closes, as
 * Kafka does. Neither has a checksum: a damaged index is detected by its
 * sanity check on load and rebuilt from the .log. Entries are kept in memory,
 * encoded exactly as on disk, and written through.
 */
#ifndef WEIR_LOG_INDEX_H
#define WEIR_LOG_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "env/env.h"

#define WEIR_OFFSET_INDEX_ENTRY 8
#define WEIR_TIME_INDEX_ENTRY 12

typedef struct weir_index {
    weir_env *env;
    weir_file *file;
    size_t entry_size;
    size_t max_entries; /* preallocated capacity */
    size_t n;           /* entries in use */
    size_t cap;         /* entries raw has room for (grows up to max_entries) */
    uint8_t *raw;       /* n * entry_size bytes, the file's prefix */
    uint64_t file_bytes; /* current file size (preallocated or trimmed) */
    size_t written;      /* entries already in the file */
    bool dirty;          /* written or resized since the last sync */
    bool trailing_garbage; /* non-zero bytes after the entries (damage) */
    bool created;        /* the file did not exist before weir_index_open */
} weir_index;

/* Opens (creating if missing) the index file at path with room for max_bytes of
 * entries. With `load`, reads the existing entries unchecked, up to the first
 * all-zero one (call a sanity check next); without, the caller rebuilds. A
 * created file is preallocated. Entries appended later reach the file at the
 * next sync or trim, in one write. */
WEIR_MUST_CHECK int weir_index_open(weir_env *env, const char *path, size_t entry_size,
                                    size_t max_bytes, bool load, weir_index *out);
void weir_index_close(weir_index *ix);

/* Drops every entry and preallocates again (before a rebuild). */
WEIR_MUST_CHECK int weir_index_reset(weir_index *ix);
/* Shrinks the file to exactly its entries (the segment stops being active). */
WEIR_MUST_CHECK int weir_index_trim(weir_index *ix);
/* Grows a trimmed file back to full size (a trimmed segment becomes active again). */
WEIR_MUST_CHECK int weir_index_preallocate(weir_index *ix);
WEIR_MUST_CHECK int weir_index_sync(weir_index *ix);

/* ---- offset index ---- */

/* Keeps the longest prefix of strictly increasing entries whose positions lie
 * inside [1, log_bytes) and offsets inside [0, next_rel); returns false if any
 * non-zero byte follows that prefix (the index is damaged: rebuild it). */
bool weir_offset_index_sanitize(weir_index *ix, uint64_t log_bytes, int64_t next_rel);
WEIR_MUST_CHECK int weir_offset_index_append(weir_index *ix, uint32_t rel_offset,
                                             uint32_t position);
/* Largest entry with offset <= rel_target; false (and 0, 0) if none. */
bool weir_offset_index_lookup(const weir_index *ix, uint32_t rel_target, uint32_t *rel_out,
                              uint32_t *pos_out);
/* Removes entries with offset >= rel_offset. */
WEIR_MUST_CHECK int weir_offset_index_truncate(weir_index *ix, uint32_t rel_offset);
void weir_offset_index_entry(const weir_index *ix, size_t i, uint32_t *rel, uint32_t *pos);
static inline bool weir_offset_index_full(const weir_index *ix)
{
    return ix->n >= ix->max_entries;
}

/* ---- time index ---- */

bool weir_time_index_sanitize(weir_index *ix, int64_t next_rel);
/* Appends (ts, rel) if ts is greater than the last entry's timestamp. */
WEIR_MUST_CHECK int weir_time_index_maybe_append(weir_index *ix, int64_t ts, uint32_t rel_offset);
/* Largest entry with timestamp <= ts; false if none. */
bool weir_time_index_lookup(const weir_index *ix, int64_t ts, int64_t *ts_out, uint32_t *rel_out);
WEIR_MUST_CHECK int weir_time_index_truncate(weir_index *ix, uint32_t rel_offset);
void weir_time_index_entry(const weir_index *ix, size_t i, int64_t *ts, uint32_t *rel);
/* One slot stays free for the entry written at roll. */
static inline bool weir_time_index_full(const weir_index *ix)
{
    return ix->max_entries < 1 || ix->n >= ix->max_entries - 1;
}

#endif
