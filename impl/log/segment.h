/* One log segment: `<base offset, 20 digits>.log` with its `.index`,
 * `.timeindex` and (once it holds an ABORT marker) `.txnindex`, as Kafka
 * lays them out.
 *
 * A segment holds whole batches with contiguous offsets starting at its base
 * offset. Appends go to the end; the active segment's indexes are preallocated
 * and are trimmed when it rolls or closes. All I/O goes through weir_env.
 */
#ifndef WEIR_LOG_SEGMENT_H
#define WEIR_LOG_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "env/env.h"
#include "log/batch.h"
#include "log/index.h"
#include "log/txn_index.h"

#define WEIR_SEGMENT_NAME_DIGITS 20

typedef struct weir_segment_config {
    uint32_t index_interval_bytes; /* index.interval.bytes */
    uint32_t index_bytes;          /* segment.index.bytes: preallocated size of each index */
} weir_segment_config;

typedef struct weir_segment {
    weir_env *env;
    char *prefix;             /* "<dir>/<20-digit base offset>" */
    int64_t base_offset;
    int64_t next_offset;      /* one past the last batch's last offset; base if empty */
    uint64_t size;            /* bytes of the .log holding whole, valid batches */
    weir_file *log;
    weir_index oix;           /* .index */
    weir_index tix;           /* .timeindex */
    weir_txn_index txn;       /* .txnindex: aborted transactions whose marker is here */
    uint32_t index_interval;
    uint64_t bytes_since_index;
    int64_t max_timestamp;    /* -1 while empty */
    int64_t offset_of_max_ts;
    int64_t first_batch_ts;   /* max timestamp of the first batch, -1 while empty (segment.ms) */
    int64_t created_ms;       /* wall time the segment was opened or created */
} weir_segment;

/* What a validating scan of one segment found. */
typedef struct weir_segment_scan {
    int64_t batches;
    uint64_t valid_bytes;   /* bytes of whole valid batches from the start */
    uint64_t file_bytes;    /* the .log's size before any cut */
    int64_t next_offset;    /* offset after the last valid batch */
    bool damaged;           /* something follows valid_bytes */
    const char *why;        /* static reason when damaged */
} weir_segment_scan;

/* "<dir>/<20 digits><suffix>" into out; false if it does not fit. */
bool weir_segment_path(char *out, size_t size, const char *dir, int64_t base, const char *suffix);
/* Parses "<20 digits>.<ext>" file names; returns the base offset or -1. */
int64_t weir_segment_parse_name(const char *name, const char *ext);

/* Creates an empty segment (truncating or removing stale files of the same name). */
WEIR_MUST_CHECK int weir_segment_create(weir_env *env, const char *dir, int64_t base,
                                        const weir_segment_config *cfg, weir_segment **out);

/* Opens an existing segment. Without `recover`, trusts the .log's length,
 * loads the indexes and rebuilds them only if missing or insane (*rebuilt set).
 * With `recover`, validates every batch (length, CRC, offset continuity), cuts
 * the .log after the last valid batch and rebuilds both indexes; *scan says
 * what it found. Either way the .txnindex is loaded and keeps only whole,
 * ordered entries whose marker is inside the segment (the log's producer-state
 * replay writes any later ones again). */
WEIR_MUST_CHECK int weir_segment_open(weir_env *env, const char *dir, int64_t base,
                                      const weir_segment_config *cfg, bool recover,
                                      weir_segment_scan *scan, bool *rebuilt,
                                      weir_segment **out);

/* Appends one whole, validated batch whose base offset is seg->next_offset. */
WEIR_MUST_CHECK int weir_segment_append(weir_segment *seg, const uint8_t *batch, size_t len,
                                        const weir_batch_header *h);

/* Byte position and header of the first batch whose last offset >= offset
 * (index lookup, then a header scan). WEIR_E_RANGE if offset >= next_offset. */
WEIR_MUST_CHECK int weir_segment_find(weir_segment *seg, int64_t offset, uint64_t *pos_out,
                                      weir_batch_header *h_out);

/* Reads whole batches starting at pos (a batch start): as many as fit in
 * max_bytes, and at least one if min_one, in one read. `first` is the header
 * at pos if the caller has it (else NULL). Appends to *buf (realloc'd). */
WEIR_MUST_CHECK int weir_segment_read(weir_segment *seg, uint64_t pos, size_t max_bytes,
                                      bool min_one, const weir_batch_header *first,
                                      uint8_t **buf, size_t *len, size_t *cap);

/* Syncs the .log only (a flush: an unclean open rebuilds the active
 * segment's indexes anyway). */
WEIR_MUST_CHECK int weir_segment_sync_log(weir_segment *seg);

/* First offset whose timestamp >= ts, or -1 if every batch is older. */
WEIR_MUST_CHECK int weir_segment_offset_for_time(weir_segment *seg, int64_t ts,
                                                 int64_t *offset_out);

/* Removes every batch with last offset >= offset (a batch holding `offset`
 * goes whole), and the .txnindex entries of markers past the new end. */
WEIR_MUST_CHECK int weir_segment_truncate(weir_segment *seg, int64_t offset);

/* The segment stops being active: final time-index entry, trimmed indexes, synced. */
WEIR_MUST_CHECK int weir_segment_seal(weir_segment *seg);
/* It becomes active again (after a truncation removed the segments after it). */
WEIR_MUST_CHECK int weir_segment_unseal(weir_segment *seg);
WEIR_MUST_CHECK int weir_segment_sync(weir_segment *seg);

bool weir_segment_roll_due(const weir_segment *seg, const weir_batch_header *h, size_t len,
                           uint64_t segment_bytes, int64_t segment_ms, int64_t now_ms);

/* Closes files and frees; touches nothing on disk. */
void weir_segment_free(weir_segment *seg);
/* Deletes the segment's files (.log, .index, .timeindex, .txnindex), then frees it. */
WEIR_MUST_CHECK int weir_segment_delete(weir_segment *seg);

/* Validating scan of the .log from byte 0 without changing anything: calls
 * each(h, pos, arg) per valid batch (if non-NULL). Used by recovery and verify. */
WEIR_MUST_CHECK int weir_segment_scan_file(weir_env *env, weir_file *log, int64_t base,
                                           weir_segment_scan *scan,
                                           void (*each)(const weir_batch_header *h, uint64_t pos,
                                                        const uint8_t *batch, void *arg),
                                           void *arg);

#endif
