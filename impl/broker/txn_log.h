/* Records of `__transaction_state`, in Kafka's format, so a transaction log
 * written by weir reads like Kafka's (TransactionLog.scala):
 *
 *   key   = int16 version 0 | string transactional_id            (TransactionLogKey v0)
 *   value = int16 version 0 | int64 producer_id | int16 producer_epoch |
 *           int32 transaction_timeout_ms | int8 transaction_status |
 *           nullable array [string topic | array [int32 partition]] |
 *           int64 last_update_timestamp_ms | int64 start_timestamp_ms (TransactionLogValue v0)
 *   a null value (tombstone) removes the transactional id.
 *
 * The partition array is null for Empty, as Kafka writes it. Statuses are
 * Kafka's TransactionState ids.
 */
#ifndef WEIR_BROKER_TXN_LOG_H
#define WEIR_BROKER_TXN_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "proto/wire.h"

typedef enum weir_txn_status {
    WEIR_TXN_EMPTY = 0,
    WEIR_TXN_ONGOING = 1,
    WEIR_TXN_PREPARE_COMMIT = 2,
    WEIR_TXN_PREPARE_ABORT = 3,
    WEIR_TXN_COMPLETE_COMMIT = 4,
    WEIR_TXN_COMPLETE_ABORT = 5,
    WEIR_TXN_DEAD = 6,
    WEIR_TXN_PREPARE_EPOCH_FENCE = 7,
} weir_txn_status;

/* Kafka's name of a status ("PrepareCommit"); "Unknown" otherwise. */
const char *weir_txn_status_name(int status);

typedef struct weir_txn_log_tp {
    weir_str topic;
    int32_t partition;
} weir_txn_log_tp;

typedef struct weir_txn_log_value {
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t timeout_ms;
    int8_t status;
    int32_t n_parts;              /* -1: null (Empty) */
    const weir_txn_log_tp *parts; /* grouped by topic when encoding: equal topics adjacent */
    int64_t last_update_ms;
    int64_t start_ms;
} weir_txn_log_value;

/* Appends the key bytes (version 0 + transactional id). */
void weir_txn_log_key_write(weir_wr *w, weir_str transactional_id);
/* Appends the value bytes (version 0). */
void weir_txn_log_value_write(weir_wr *w, const weir_txn_log_value *v);

/* Decodes a key: WEIR_E_UNSUPPORTED for another key version (a record this
 * log does not hold), WEIR_E_CORRUPT if truncated. The id points into buf. */
WEIR_MUST_CHECK int weir_txn_log_key_read(const uint8_t *buf, size_t len, weir_str *tid_out);

/* Decodes a value; parts come from the arena, topics point into buf.
 * WEIR_E_UNSUPPORTED for an unknown version, WEIR_E_CORRUPT otherwise. */
WEIR_MUST_CHECK int weir_txn_log_value_read(const uint8_t *buf, size_t len, weir_arena *a,
                                            weir_txn_log_value *out);

#endif
