/* Producer-state snapshots, `<20-digit offset>.snapshot`, in Kafka's format
 * (version 1). The file name is the offset after the last one it covers.
 *
 *   int16 version (1) | uint32 crc (CRC-32C of bytes 6..end) | int32 count |
 *   count x 46-byte entries: int64 producer_id, int16 epoch, int32 last_sequence,
 *   int64 last_offset, int32 offset_delta, int64 timestamp,
 *   int32 coordinator_epoch, int64 current_txn_first_offset (-1 = none)
 *
 * Big-endian. Written atomically (tmp + sync + rename).
 */
#ifndef WEIR_LOG_SNAPSHOT_H
#define WEIR_LOG_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "env/env.h"

#define WEIR_SNAPSHOT_VERSION 1
#define WEIR_SNAPSHOT_HEADER_BYTES 10
#define WEIR_SNAPSHOT_ENTRY_BYTES 46

typedef struct weir_producer_entry {
    int64_t producer_id;
    int16_t epoch;
    int32_t last_sequence;
    int64_t last_offset;
    int32_t offset_delta;
    int64_t timestamp;
    int32_t coordinator_epoch;
    int64_t current_txn_first_offset;
} weir_producer_entry;

/* Encodes into a malloc'd buffer. */
WEIR_MUST_CHECK int weir_snapshot_encode(const weir_producer_entry *entries, size_t n,
                                         uint8_t **out, size_t *len_out);
/* Decodes and checks version, CRC and size; *entries_out malloc'd. why names the failure. */
WEIR_MUST_CHECK int weir_snapshot_decode(const uint8_t *buf, size_t len,
                                         weir_producer_entry **entries_out, size_t *n_out,
                                         const char **why);

WEIR_MUST_CHECK int weir_snapshot_write(weir_env *env, const char *dir, int64_t offset,
                                        const weir_producer_entry *entries, size_t n);
WEIR_MUST_CHECK int weir_snapshot_read(weir_env *env, const char *dir, int64_t offset,
                                       weir_producer_entry **entries_out, size_t *n_out,
                                       const char **why);

#endif
