/* A reference partition log: the plainest possible statement of what the
 * segmented log must behave like, used as the oracle of differential tests.
 *
 * It keeps every batch in memory as the bytes the real log returns (offsets
 * and leader epoch stamped) plus each record's timestamp, and knows nothing
 * of segments, indexes or files. The rules it states:
 *   - offsets are consecutive from the log start; a batch is never split;
 *   - truncate_to(o) drops every batch whose last offset >= o;
 *   - the first offset for a timestamp is the first record with ts >= it;
 *   - after a crash the log holds a prefix of its batches no shorter than
 *     what was flushed (durable_end).
 */
#ifndef WEIR_MODEL_REF_LOG_H
#define WEIR_MODEL_REF_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct weir_ref_batch {
    int64_t base;
    int32_t count;
    int32_t epoch;
    uint8_t *bytes;
    size_t len;
    int64_t *ts; /* count record timestamps */
} weir_ref_batch;

typedef struct weir_ref_log {
    weir_ref_batch *b;
    size_t n;
    size_t cap;
    int64_t start;
    int64_t end;
    int64_t durable_end; /* every offset below survives a crash */
} weir_ref_log;

void weir_ref_log_init(weir_ref_log *rl, int64_t start);
void weir_ref_log_free(weir_ref_log *rl);

/* Adds a batch at the end (bytes copied; its base must equal rl->end). */
void weir_ref_log_append(weir_ref_log *rl, const uint8_t *bytes, size_t len, int32_t count,
                         int32_t epoch, const int64_t *ts);

/* Index of the batch holding offset, or -1. */
long weir_ref_log_find(const weir_ref_log *rl, int64_t offset);
bool weir_ref_log_is_boundary(const weir_ref_log *rl, int64_t offset);

void weir_ref_log_truncate_to(weir_ref_log *rl, int64_t offset);
void weir_ref_log_truncate_fully(weir_ref_log *rl, int64_t start);
/* Retention moved the start to a batch boundary. */
void weir_ref_log_drop_before(weir_ref_log *rl, int64_t start);
void weir_ref_log_flushed(weir_ref_log *rl);

/* First offset with a record timestamp >= ts, or -1. */
int64_t weir_ref_log_offset_for_time(const weir_ref_log *rl, int64_t ts);

/* What a read from `offset` with max_bytes must return: batches [*first, *last)
 * by index. False if the offset is out of range (start..end inclusive). */
bool weir_ref_log_read(const weir_ref_log *rl, int64_t offset, size_t max_bytes, bool min_one,
                       size_t *first, size_t *last);

/* The leader-epoch entries the batches imply, clamped to the log start:
 * (epoch, first offset) per epoch. Returns the count written (at most max). */
size_t weir_ref_log_epochs(const weir_ref_log *rl, int32_t *epochs, int64_t *starts, size_t max);

#endif
