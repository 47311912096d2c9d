/* Producer state of one partition (Kafka's ProducerStateManager): for every
 * producer id seen in the log, its epoch, the sequence ranges and offsets of
 * its last five data batches (for de-duplicating retries), its transaction
 * coordinator's epoch and the first offset of its open transaction. Beside
 * the map: the open transactions in first-offset order, and the transactions
 * completed by a marker that is not yet below the high watermark; both bound
 * the last stable offset (LSO).
 *
 * Memory only, no I/O, no clock: weir_plog owns one per partition, checks
 * client batches with it before a leader append, feeds it every batch it
 * appends (leader or follower) or replays (recovery, truncation), and saves it
 * as `<offset>.snapshot` (log/snapshot.h). Iteration that reaches the disk
 * (snapshots) is sorted by producer id, so it never depends on hashing.
 *
 * Invariants: a producer id is >= 0 and appears once; an entry keeps at most
 * WEIR_PSTATE_BATCHES_MAX batches, oldest first, all of its current epoch;
 * an entry has current_txn_first_offset >= 0 exactly when it is in the open
 * list, which is sorted by that offset; completed transactions are kept in
 * marker-offset order.
 *
 * Results and Kafka error codes (the broker maps; see weir_pstate_result):
 *   WEIR_PSTATE_OK                      0  NONE
 *   WEIR_PSTATE_DUPLICATE               0  NONE, answered with the cached offsets
 *   WEIR_PSTATE_OUT_OF_ORDER_SEQUENCE  45  OUT_OF_ORDER_SEQUENCE_NUMBER
 *   WEIR_PSTATE_DUPLICATE_SEQUENCE     46  DUPLICATE_SEQUENCE_NUMBER
 *   WEIR_PSTATE_INVALID_PRODUCER_EPOCH 47  INVALID_PRODUCER_EPOCH
 *   WEIR_PSTATE_INVALID_TXN_STATE      48  INVALID_TXN_STATE
 *   WEIR_PSTATE_COORDINATOR_FENCED     52  TRANSACTION_COORDINATOR_FENCED
 *   WEIR_PSTATE_INVALID_RECORD         87  INVALID_RECORD
 */
#ifndef WEIR_LOG_PRODUCER_STATE_H
#define WEIR_LOG_PRODUCER_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "log/batch.h"
#include "log/snapshot.h"

#define WEIR_PSTATE_BATCHES_MAX 5 /* NUM_BATCHES_TO_RETAIN */

/* Control record types (the key's int16 type). */
enum {
    WEIR_CONTROL_ABORT = 0,
    WEIR_CONTROL_COMMIT = 1,
};

/* What producer state says about a batch: a log-layer verdict, not a Kafka
 * code (the table in the file comment maps them). */
typedef enum weir_pstate_result {
    WEIR_PSTATE_OK = 0,
    /* A retry of a batch already in the log (same epoch, same first and last
     * sequence as one of the cached batches): append nothing, answer success
     * with the original offsets. */
    WEIR_PSTATE_DUPLICATE = 1,
    /* A gap after the last sequence, a sequence older than the cache, or a
     * new epoch that does not start at sequence 0. */
    WEIR_PSTATE_OUT_OF_ORDER_SEQUENCE = 2,
    /* The epoch is below the producer's current one: a zombie, fenced. */
    WEIR_PSTATE_INVALID_PRODUCER_EPOCH = 3,
    /* A non-transactional batch while the producer has a transaction open. */
    WEIR_PSTATE_INVALID_TXN_STATE = 4,
    /* A marker whose coordinator epoch is below the one last seen. */
    WEIR_PSTATE_COORDINATOR_FENCED = 5,
    /* A duplicate inside a record set of several batches (weir_plog answers
     * DUPLICATE only for a set of one batch, as Kafka's producers send). */
    WEIR_PSTATE_DUPLICATE_SEQUENCE = 6,
    /* Not a batch a client may write: a control batch, a transactional batch
     * without producer id, a producer id without base sequence. */
    WEIR_PSTATE_INVALID_RECORD = 7,
} weir_pstate_result;

/* Static name of a result ("out of order sequence"). */
const char *weir_pstate_result_str(int result);

/* One cached data batch. Its first offset is last_offset - offset_delta. */
typedef struct weir_pstate_batch {
    int32_t first_seq;
    int32_t last_seq;
    int64_t last_offset;
    int32_t offset_delta;
    int64_t timestamp; /* the batch's max timestamp */
} weir_pstate_batch;

typedef struct weir_pstate_entry {
    int64_t producer_id;
    int16_t epoch;                    /* -1: none seen yet */
    int32_t coordinator_epoch;        /* -1: no marker yet */
    int64_t current_txn_first_offset; /* -1: no open transaction */
    int64_t last_timestamp;           /* of the last batch or marker, -1 if none */
    int n_batches;                    /* 0 .. WEIR_PSTATE_BATCHES_MAX */
    weir_pstate_batch batches[WEIR_PSTATE_BATCHES_MAX]; /* oldest first */
} weir_pstate_entry;

/* A transaction: open (last_offset -1) or ended by the marker at last_offset. */
typedef struct weir_pstate_txn {
    int64_t producer_id;
    int64_t first_offset;
    int64_t last_offset;
    bool aborted;
    /* For a completed one: the LSO once its marker is in, as Kafka records
     * it in the .txnindex: the first offset of the earliest transaction still
     * open (another producer's), else last_offset + 1. */
    int64_t last_stable_offset;
} weir_pstate_txn;

typedef struct weir_pstate weir_pstate;

/* ---- sequence arithmetic (int32, wrapping INT32_MAX -> 0 like Kafka's) ---- */

static inline int32_t weir_seq_add(int32_t seq, int32_t n)
{
    return seq > INT32_MAX - n ? (int32_t)((int64_t)seq + n - INT32_MAX - 1) : seq + n;
}

static inline int32_t weir_seq_sub(int32_t seq, int32_t n)
{
    return seq < n ? (int32_t)((int64_t)INT32_MAX - (n - seq) + 1) : seq - n;
}

/* The last sequence of a batch: base + lastOffsetDelta, wrapping. */
static inline int32_t weir_batch_last_seq(const weir_batch_header *h)
{
    return h->base_sequence < 0 ? h->base_sequence
                                : weir_seq_add(h->base_sequence, h->last_offset_delta);
}

/* ---- lifecycle and lookup ---- */

/* NULL if out of memory. */
weir_pstate *weir_pstate_new(void);
void weir_pstate_free(weir_pstate *ps);

/* Forgets every producer, open and completed transaction. */
void weir_pstate_clear(weir_pstate *ps);

size_t weir_pstate_count(const weir_pstate *ps);

/* The entry of producer_id, or NULL. The pointer is the state's own and is
 * valid until the next call that changes ps. */
const weir_pstate_entry *weir_pstate_find(const weir_pstate *ps, int64_t producer_id);

/* ---- checks before a leader append (nothing changes) ---- */

/* A client's data batch against entry e (NULL: no state for the producer,
 * which accepts any sequence, as Kafka does after the state expired). On
 * WEIR_PSTATE_DUPLICATE, *dup_out (if non-NULL) is the cached batch. */
weir_pstate_result weir_pstate_entry_check(const weir_pstate_entry *e, int16_t epoch,
                                           int32_t first_seq, int32_t last_seq, bool transactional,
                                           weir_pstate_batch *dup_out);

/* Same, looking the producer up. producer_id < 0 (not idempotent) is OK. */
weir_pstate_result weir_pstate_check(const weir_pstate *ps, int64_t producer_id, int16_t epoch,
                                     int32_t first_seq, int32_t last_seq, bool transactional,
                                     weir_pstate_batch *dup_out);

/* An end-transaction marker about to be written by the leader: its producer
 * epoch must not be below the producer's (KIP-890 markers carry a higher
 * one), its coordinator epoch not below the last marker's. */
weir_pstate_result weir_pstate_check_marker(const weir_pstate *ps, int64_t producer_id,
                                            int16_t epoch, int32_t coordinator_epoch);

/* ---- updates after an append or during replay (no validation) ---- */

/* Records a data batch in entry e alone (no transaction bookkeeping): the
 * scratch copy weir_plog chains the checks of a multi-batch set through. */
void weir_pstate_entry_add_batch(weir_pstate_entry *e, int16_t epoch, int32_t first_seq,
                                 int32_t last_seq, int64_t first_offset, int64_t last_offset,
                                 int64_t timestamp);

/* A data batch at [first_offset, last_offset] was appended: records it and,
 * for a transactional one, opens the producer's transaction at first_offset
 * if none is open. After WEIR_E_NOMEM the producer may be known with no
 * batch (which checks like no state at all); nothing else changed. */
WEIR_MUST_CHECK int weir_pstate_apply_data(weir_pstate *ps, int64_t producer_id, int16_t epoch,
                                           int32_t first_seq, int32_t last_seq,
                                           int64_t first_offset, int64_t last_offset,
                                           int64_t timestamp, bool transactional);

/* An end-transaction marker was appended at offset: closes the producer's
 * open transaction (if any: then *completed_out is filled and 1 returned,
 * else 0), takes the marker's producer epoch (dropping the cached batches if
 * it changed) and coordinator epoch. WEIR_E_NOMEM leaves ps unchanged. */
WEIR_MUST_CHECK int weir_pstate_apply_marker(weir_pstate *ps, int64_t producer_id, int16_t epoch,
                                             int32_t coordinator_epoch, bool commit, int64_t offset,
                                             int64_t timestamp, weir_pstate_txn *completed_out);

/* Any batch that reached the log, whole (batch[0..len), header h with its
 * final base offset): data batches and end-transaction markers of producers
 * (producer id >= 0) update the state; other batches and control records of
 * other kinds are ignored. Returns 1 with *completed_out filled when a
 * transaction ended, 0 otherwise, or WEIR_E_NOMEM (ps unchanged). */
WEIR_MUST_CHECK int weir_pstate_apply_batch(weir_pstate *ps, const weir_batch_header *h,
                                            const uint8_t *batch, size_t len,
                                            weir_pstate_txn *completed_out);

/* Parses the control record of a control batch: 0 with *type_out
 * (WEIR_CONTROL_ABORT/COMMIT) and *coordinator_epoch_out for an
 * end-transaction marker, WEIR_E_UNSUPPORTED for another control type or a
 * compressed batch, WEIR_E_CORRUPT if the record does not decode. */
WEIR_MUST_CHECK int weir_control_marker_parse(const uint8_t *batch, size_t len, int16_t *type_out,
                                              int32_t *coordinator_epoch_out);

/* ---- last stable offset ---- */

/* The first offset of the earliest open transaction or of a completed one
 * whose marker is at or above the last HW given to
 * weir_pstate_forget_completed_below; -1 if none. LSO = min(this, HW), or HW
 * when -1 (weir_plog_lso). */
int64_t weir_pstate_first_unstable_offset(const weir_pstate *ps);

/* Drops completed transactions whose marker offset < hw (replicated: they no
 * longer hold the LSO back). */
void weir_pstate_forget_completed_below(weir_pstate *ps, int64_t hw);

/* Drops completed transactions whose marker offset >= offset (the log was
 * truncated there; a replay adds back the ones it finds). */
void weir_pstate_drop_completed_from(weir_pstate *ps, int64_t offset);

/* Open transactions, earliest first: the i-th (i < weir_pstate_open_count). */
size_t weir_pstate_open_count(const weir_pstate *ps);
weir_pstate_txn weir_pstate_open_at(const weir_pstate *ps, size_t i);

/* ---- snapshots ---- */

/* Every entry in the snapshot's form, sorted by producer id: *out malloc'd
 * (NULL when *n_out == 0), the caller frees. The last cached batch becomes
 * (last_sequence, last_offset, offset_delta); with none: -1, -1, 0. */
WEIR_MUST_CHECK int weir_pstate_to_entries(const weir_pstate *ps, weir_producer_entry **out,
                                           size_t *n_out);

/* Replaces the producers and open transactions with a snapshot's entries
 * (completed transactions are kept: see weir_pstate_drop_completed_from).
 * Each entry gets one cached batch, as Kafka restores it. WEIR_E_CORRUPT if a
 * producer id repeats or is negative; WEIR_E_NOMEM; on error ps is cleared. */
WEIR_MUST_CHECK int weir_pstate_load_entries(weir_pstate *ps, const weir_producer_entry *entries,
                                             size_t n);

#endif
