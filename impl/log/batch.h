/* Kafka record batches, format v2 (magic 2), byte for byte.
 *
 *   0 baseOffset int64 | 8 batchLength int32 | 12 partitionLeaderEpoch int32 |
 *   16 magic int8 | 17 crc uint32 (CRC-32C of bytes 21..end) | 21 attributes int16 |
 *   23 lastOffsetDelta int32 | 27 baseTimestamp int64 | 35 maxTimestamp int64 |
 *   43 producerId int64 | 51 producerEpoch int16 | 53 baseSequence int32 |
 *   57 recordsCount int32 | 61 records...
 *
 * Big-endian throughout. baseOffset and partitionLeaderEpoch sit outside the
 * CRC, so the log can stamp them without recomputing it. Compressed batches are
 * kept as sent; only their header is interpreted.
 */
#ifndef WEIR_LOG_BATCH_H
#define WEIR_LOG_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define WEIR_BATCH_HEADER_BYTES 61 /* RECORD_BATCH_OVERHEAD */
#define WEIR_BATCH_LOG_OVERHEAD 12 /* baseOffset + batchLength */
#define WEIR_BATCH_MAGIC 2
#define WEIR_BATCH_CRC_START 21

enum {
    WEIR_BATCH_COMPRESSION_MASK = 0x07, /* 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd */
    WEIR_BATCH_LOG_APPEND_TIME = 0x08,
    WEIR_BATCH_TRANSACTIONAL = 0x10,
    WEIR_BATCH_CONTROL = 0x20,
    WEIR_BATCH_DELETE_HORIZON = 0x40,
};

typedef struct weir_batch_header {
    int64_t base_offset;
    int32_t length; /* bytes after this field: the batch is length + 12 bytes */
    int32_t leader_epoch;
    int8_t magic;
    uint32_t crc;
    int16_t attributes;
    int32_t last_offset_delta;
    int64_t base_timestamp;
    int64_t max_timestamp;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t record_count;
} weir_batch_header;

static inline int64_t weir_batch_last_offset(const weir_batch_header *h)
{
    return h->base_offset + h->last_offset_delta;
}

static inline uint64_t weir_batch_total_bytes(const weir_batch_header *h)
{
    return (uint64_t)(uint32_t)h->length + WEIR_BATCH_LOG_OVERHEAD;
}

/* Decodes the 61 header bytes; no validation. buf must hold at least 61 bytes. */
void weir_batch_header_decode(const uint8_t *buf, weir_batch_header *out);

/* Checks one whole batch of exactly len bytes: header size, length field equal
 * to len - 12, magic 2, CRC-32C, offset delta and record count in range. On
 * failure returns WEIR_E_CORRUPT and points *why at a static reason. */
WEIR_MUST_CHECK int weir_batch_validate(const uint8_t *buf, size_t len, weir_batch_header *out,
                                        const char **why);

/* For an uncompressed batch: every record decodes, their number equals the
 * record count, offset deltas increase from 0 and the last equals
 * lastOffsetDelta. Compressed batches pass unchecked (stored as sent). */
WEIR_MUST_CHECK int weir_batch_validate_records(const uint8_t *buf, size_t len, const char **why);

/* Stamp fields outside the CRC. */
void weir_batch_set_base_offset(uint8_t *buf, int64_t base_offset);
void weir_batch_set_leader_epoch(uint8_t *buf, int32_t epoch);

/* ---- records of an uncompressed batch ---- */

typedef struct weir_record {
    int8_t attributes;
    int64_t timestamp_delta;
    int32_t offset_delta;
    const uint8_t *key; /* NULL when key_len == -1 */
    int32_t key_len;
    const uint8_t *value; /* NULL when value_len == -1 */
    int32_t value_len;
    int32_t header_count;
    const uint8_t *headers; /* header_count encoded headers */
    const uint8_t *headers_end;
} weir_record;

typedef struct weir_record_header {
    const uint8_t *key;
    int32_t key_len;
    const uint8_t *value; /* NULL when value_len == -1 */
    int32_t value_len;
} weir_record_header;

typedef struct weir_record_iter {
    const uint8_t *p;
    const uint8_t *end;
    int32_t left;
} weir_record_iter;

/* Starts iterating the records of the batch in buf[0..len). Returns
 * WEIR_E_UNSUPPORTED for a compressed batch. */
WEIR_MUST_CHECK int weir_record_iter_init(weir_record_iter *it, const uint8_t *buf, size_t len);

/* 1 and *out filled; 0 at the end; WEIR_E_CORRUPT on a malformed record. */
WEIR_MUST_CHECK int weir_record_next(weir_record_iter *it, weir_record *out);

typedef struct weir_header_iter {
    const uint8_t *p;
    const uint8_t *end;
    int32_t left;
} weir_header_iter;

/* Walks one record's headers: 1 and *out filled, 0 at the end, WEIR_E_CORRUPT. */
void weir_header_iter_init(weir_header_iter *it, const weir_record *rec);
WEIR_MUST_CHECK int weir_header_next(weir_header_iter *it, weir_record_header *out);

/* ---- building batches (producers, tests, benchmarks) ---- */

typedef struct weir_batch_builder {
    uint8_t *buf;
    size_t len;
    size_t cap;
    int32_t count;
    int64_t base_timestamp;
    int64_t max_timestamp;
    int16_t attributes;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    bool failed; /* an allocation failed; finish reports it */
} weir_batch_builder;

/* A batch with no producer (id -1, epoch -1, sequence -1), CreateTime, no compression. */
void weir_batch_builder_init(weir_batch_builder *b);
void weir_batch_builder_set_producer(weir_batch_builder *b, int64_t producer_id, int16_t epoch,
                                     int32_t base_sequence);
void weir_batch_builder_set_attributes(weir_batch_builder *b, int16_t attributes);

/* Adds a record; key or value NULL means null. Headers are key/value pairs. */
void weir_batch_builder_add(weir_batch_builder *b, int64_t timestamp, const void *key,
                            int32_t key_len, const void *value, int32_t value_len,
                            const weir_record_header *headers, int32_t header_count);

/* Writes the header and CRC. The batch (base offset 0) is buf[0..*len_out), owned
 * by the builder until weir_batch_builder_free. WEIR_E_INVAL if empty. */
WEIR_MUST_CHECK int weir_batch_builder_finish(weir_batch_builder *b, uint8_t **buf_out,
                                              size_t *len_out);
void weir_batch_builder_free(weir_batch_builder *b);

#endif
