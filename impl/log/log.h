/* A partition's log: a folder `<topic>-<partition>` of segments in Kafka's
 * on-disk format, with its metadata files (leader-epoch-checkpoint, HW and
 * recovery-point checkpoints, producer snapshots, aborted-transaction indexes).
 *
 * Single-threaded, on weir_env files only, so the same code runs on real
 * disks and in the simulator. Every operation either completes or leaves the
 * folder in a state that weir_plog_open recovers from: after an unclean
 * shutdown, segments after the recovery point are validated batch by batch
 * (length, CRC-32C, offset continuity) and cut after the last valid batch.
 *
 * Producer state (log/producer_state.h) is kept by every replica, leader or
 * follower: each batch with a producer id updates it as it is appended. It is
 * saved as `<log end>.snapshot` when a segment rolls and at a clean close
 * (the newest two are kept, plus the newest at or below the recovery point).
 * weir_plog_open loads the newest snapshot at or below the offset recovery
 * starts from and replays the batches after it, so the state is the one
 * before the restart (except that a producer restored from a snapshot has only
 * its last batch cached, as in Kafka); truncation reloads the same way.
 * Retention keeps the state of producers whose batches it deleted.
 * ABORT markers go into the `.txnindex` of the segment they land in.
 */
#ifndef WEIR_LOG_LOG_H
#define WEIR_LOG_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "env/env.h"
#include "log/batch.h"
#include "log/epoch_cache.h"
#include "log/producer_state.h"
#include "log/segment.h"
#include "log/txn_index.h"

#define WEIR_LOG_START_CHECKPOINT "log-start-offset-checkpoint"
#define WEIR_LOG_TOPIC_MAX 249 /* Kafka's topic name limit */

/* An append refused by producer state returns WEIR_E_PRODUCER (core/err.h);
 * weir_log_append_info.producer_error says why (a weir_pstate_result, mapped
 * to Kafka codes in log/producer_state.h). */

typedef struct weir_log_config {
    uint64_t segment_bytes;        /* segment.bytes: 1 GiB */
    int64_t segment_ms;            /* segment.ms: 7 days; <= 0 = never by time */
    uint32_t segment_index_bytes;  /* segment.index.bytes: 10 MiB */
    uint32_t index_interval_bytes; /* index.interval.bytes: 4096 */
    int64_t retention_ms;          /* retention.ms: 7 days; < 0 = unlimited */
    int64_t retention_bytes;       /* retention.bytes: -1 = unlimited */
    uint32_t max_message_bytes;    /* max.message.bytes: largest batch, 1048588 */
} weir_log_config;

void weir_log_config_default(weir_log_config *cfg);

/* Sets one Kafka-named topic/log setting from text ("segment.bytes", "1048576").
 * WEIR_E_NOENT for an unknown key, WEIR_E_INVAL with *why for a bad value. */
WEIR_MUST_CHECK int weir_log_config_set(weir_log_config *cfg, const char *key, const char *value,
                                        const char **why);

/* What weir_plog_open did, for logs and tests. */
typedef struct weir_log_recovery {
    bool clean;                /* clean-shutdown marker found: no scan */
    int segments;              /* segments opened */
    int segments_scanned;      /* validated batch by batch */
    int64_t batches_scanned;
    uint64_t bytes_scanned;
    int indexes_rebuilt;       /* segments whose indexes were rebuilt */
    bool cut;                  /* a torn or corrupt tail was removed */
    int64_t cut_offset;        /* first offset no longer in the log (the new end) */
    uint64_t cut_bytes;        /* bytes removed, all segments together */
    int segments_deleted;      /* whole segments dropped after the cut */
    char cut_segment[32];      /* file name where the cut happened */
    uint64_t cut_position;     /* byte position of the cut in that file */
    const char *cut_reason;    /* static text */
    int stray_files_removed;   /* orphan indexes, *.tmp, *.deleted, ... */
    bool epochs_rebuilt;       /* leader-epoch-checkpoint missing or damaged */
    int64_t snapshot_offset;   /* producer snapshot loaded, -1 if none */
    int64_t batches_replayed;  /* batches read after it to rebuild producer state */
    int snapshots_dropped;     /* unreadable snapshots, or past the log end, deleted */
} weir_log_recovery;

typedef struct weir_plog weir_plog;

/* Opens (creating if missing) the partition folder `dir` (relative to the
 * env's root; its last component must be `<topic>-<partition>`). */
WEIR_MUST_CHECK int weir_plog_open(weir_env *env, const char *dir, const weir_log_config *cfg,
                                  weir_log_recovery *report, weir_plog **out);

/* Clean shutdown: seals the active segment, syncs, writes the checkpoints, the
 * producer snapshot at the log end (unless one of that name exists: a snapshot
 * at an offset always describes the same log prefix) and the clean-shutdown
 * marker, frees. The log is freed even on error. */
WEIR_MUST_CHECK int weir_plog_close(weir_plog *log);

/* Frees without writing anything (the process "crashed"). */
void weir_plog_abandon(weir_plog *log);

const char *weir_plog_topic(const weir_plog *log);
int32_t weir_plog_partition(const weir_plog *log);
const char *weir_plog_dir(const weir_plog *log);
int64_t weir_plog_start_offset(const weir_plog *log);
int64_t weir_plog_end_offset(const weir_plog *log);
uint64_t weir_plog_size_bytes(const weir_plog *log);
size_t weir_plog_segment_count(const weir_plog *log);
const weir_segment *weir_plog_segment_at(const weir_plog *log, size_t i);
const weir_epoch_cache *weir_plog_epochs(const weir_plog *log);
int64_t weir_plog_recovery_point(const weir_plog *log);

typedef struct weir_log_append_info {
    int64_t first_offset; /* of the first batch appended (of the original, if duplicate) */
    int64_t last_offset;  /* of the last record appended (of the original, if duplicate) */
    int64_t max_timestamp;
    int batches;          /* batches appended: 0 for a duplicate */
    int rolled;           /* segments rolled on the way */
    /* The record set was one batch that is a retry of a batch already in the
     * log (same producer id, epoch and sequence range as one of the producer's
     * last five): nothing was appended, the call returned 0, and
     * first_offset/last_offset/max_timestamp are the original batch's. The
     * broker answers the produce with them and error NONE, as Kafka does. */
    bool duplicate;
    /* When the call returned WEIR_E_PRODUCER: the weir_pstate_result that
     * refused the set (never OK or DUPLICATE); 0 otherwise. */
    int producer_error;
} weir_log_append_info;

/* Appends a record set (one or more v2 batches back to back) as the leader:
 * every batch is validated first (CRC, magic, records, max.message.bytes) and
 * nothing is appended if one fails (WEIR_E_CORRUPT or WEIR_E_INVAL, *why set).
 * Batches with a producer id (idempotent or transactional), or with the
 * transactional or control bit, are then checked against producer state, each
 * against the state the batches before it in the set leave: a refusal appends
 * nothing and returns WEIR_E_PRODUCER with info->producer_error and *why
 * (clients may not write control batches: use weir_plog_append_marker). A set
 * of one batch that duplicates a cached one returns 0 with info->duplicate
 * (see there). Batches without producer id (-1) skip these checks entirely.
 * Assigns offsets from the log end and stamps leader_epoch into each batch
 * (both outside the CRC, so `batches` is modified in place). */
WEIR_MUST_CHECK int weir_plog_append_leader(weir_plog *log, uint8_t *batches, size_t len,
                                           int32_t leader_epoch, weir_log_append_info *info,
                                           const char **why);

/* Appends batches copied from a leader, keeping their offsets and epochs: the
 * first must start at the log end and the rest follow contiguously. Producer
 * state and the .txnindex follow them, without checks (the leader checked). */
WEIR_MUST_CHECK int weir_plog_append_follower(weir_plog *log, const uint8_t *batches, size_t len,
                                             weir_log_append_info *info, const char **why);

/* Appends, as the leader, the end-transaction marker a WriteTxnMarkers request
 * asks for: one control batch (attributes transactional | control, producer
 * id and epoch given, base sequence -1, the env's wall-clock time) holding one
 * control record, key (version 0, type COMMIT 1 / ABORT 0), value (version 0,
 * coordinator_epoch). It closes the producer's open transaction; an ABORT
 * that closed one adds an entry to the active segment's .txnindex. The
 * marker's producer epoch becomes the producer's (it may be higher: KIP-890).
 * WEIR_E_PRODUCER with info->producer_error = WEIR_PSTATE_INVALID_PRODUCER_EPOCH
 * (epoch below the producer's) or WEIR_PSTATE_COORDINATOR_FENCED (coordinator
 * epoch below the last marker's), nothing appended; WEIR_E_INVAL for
 * producer_id < 0; I/O errors as for appends. */
WEIR_MUST_CHECK int weir_plog_append_marker(weir_plog *log, int64_t producer_id,
                                           int16_t producer_epoch, int32_t coordinator_epoch,
                                           bool commit, int32_t leader_epoch,
                                           weir_log_append_info *info, const char **why);

/* ---- producer state and transactions ---- */

/* The last stable offset for a high watermark hw: the first offset of the
 * earliest transaction that is open, or that ended with a marker at or above
 * hw (not yet replicated), if below hw; else hw. Forgets the completed
 * transactions whose marker is below hw, so hw must not go back (it may only
 * after a truncation, which rebuilds that list). */
int64_t weir_plog_lso(weir_plog *log, int64_t hw);

/* The aborted transactions a read_committed Fetch returns for the records in
 * [fetch_offset, upper_bound): every .txnindex entry with last_offset >=
 * fetch_offset and first_offset < upper_bound, from the segment holding
 * fetch_offset on (Kafka's collectAbortedTransactions), in marker order.
 * *out is malloc'd (NULL when *n_out is 0); the caller frees it.
 * 0 or WEIR_E_NOMEM. */
WEIR_MUST_CHECK int weir_plog_aborted_txns(const weir_plog *log, int64_t fetch_offset,
                                          int64_t upper_bound, weir_aborted_txn **out,
                                          size_t *n_out);

/* Copies the state of producer_id into *out; false if the log knows nothing
 * of it. */
bool weir_plog_producer(const weir_plog *log, int64_t producer_id, weir_pstate_entry *out);

/* The whole producer state, read-only (open transactions, snapshot form);
 * valid until the next call that changes the log. */
const weir_pstate *weir_plog_producer_state(const weir_plog *log);

typedef struct weir_log_read_result {
    uint8_t *data;        /* whole batches, malloc'd; free with weir_log_read_result_free */
    size_t len;
    size_t cap;
    int64_t first_offset; /* base offset of the first batch (may be < the offset asked) */
    int64_t next_offset;  /* after the last batch returned */
} weir_log_read_result;

/* Reads whole batches from the one holding `offset`, up to max_bytes (at least
 * one batch if min_one), crossing segment boundaries. WEIR_E_RANGE outside [start, end]; at the end, empty. */
WEIR_MUST_CHECK int weir_plog_read(weir_plog *log, int64_t offset, size_t max_bytes, bool min_one,
                                  weir_log_read_result *out);
void weir_log_read_result_free(weir_log_read_result *r);

#define WEIR_LOG_TS_LATEST (-1)   /* ListOffsets: the log end */
#define WEIR_LOG_TS_EARLIEST (-2) /* ListOffsets: the log start */

/* First offset with timestamp >= ts (or the special values above); -1 if none. */
WEIR_MUST_CHECK int weir_plog_offset_for_time(weir_plog *log, int64_t ts, int64_t *offset_out);

/* Starts a new segment at the log end (no-op if the active one is empty),
 * writing a producer snapshot at the new segment's base offset (a snapshot
 * that cannot be written is logged and skipped: it only shortens replays). */
WEIR_MUST_CHECK int weir_plog_roll(weir_plog *log);

/* Syncs everything appended and moves the recovery point to the log end. */
WEIR_MUST_CHECK int weir_plog_flush(weir_plog *log);

typedef struct weir_log_retention_report {
    int segments_deleted;
    uint64_t bytes_deleted;
    int64_t new_start_offset;
} weir_log_retention_report;

/* Deletes the oldest whole segments past retention.ms (by their largest
 * timestamp) or beyond retention.bytes; never the active segment. */
WEIR_MUST_CHECK int weir_plog_apply_retention(weir_plog *log, int64_t now_ms,
                                             weir_log_retention_report *report);

/* Removes every offset >= offset (the batch holding it goes whole, so the new
 * end may be lower). Below the log start it empties the log and restarts it
 * there. Epochs, snapshots, .txnindex entries and checkpoints above the new
 * end go too; producer state is reloaded from the newest snapshot at or below
 * the new end plus a replay (a transaction whose marker was cut is open again). */
WEIR_MUST_CHECK int weir_plog_truncate_to(weir_plog *log, int64_t offset);

/* Deletes every segment and every producer snapshot, forgets all producer
 * state and restarts the log empty at new_start. */
WEIR_MUST_CHECK int weir_plog_truncate_fully(weir_plog *log, int64_t new_start);

/* The leader epoch cache, persisted on change. */
WEIR_MUST_CHECK int weir_plog_assign_epoch(weir_plog *log, int32_t epoch, int64_t start_offset);
void weir_plog_epoch_end_offset(const weir_plog *log, int32_t epoch, int32_t *epoch_out,
                               int64_t *end_out);

/* High watermark checkpoint (replication-offset-checkpoint). Writing one also
 * forgets completed transactions whose marker is below it (see weir_plog_lso). */
WEIR_MUST_CHECK int weir_plog_hw_write(weir_plog *log, int64_t hw);
/* WEIR_E_NOENT if never written. */
WEIR_MUST_CHECK int weir_plog_hw_read(weir_plog *log, int64_t *hw_out);

/* Splits "<topic>-<partition>" (the last path component of dir). */
WEIR_MUST_CHECK int weir_log_parse_dir_name(const char *dir, char *topic, size_t topic_size,
                                            int32_t *partition_out);

#endif
