/* The FlowFile repository: a write-ahead log of FlowFile state (notes/FLOW.md
 * §1.2; NiFi's WriteAheadFlowFileRepository over SequentialAccessWriteAheadLog).
 *
 * Promise: after a restart every FlowFile is where it was at the last
 * durable commit or further on; none lost, none duplicated.
 *
 * Folder `<dir>`:
 *   journal/<20-digit seq>.journal  commit frames, appended
 *   snapshot                        every live FlowFile at a checkpoint
 *   snapshot.partial                a checkpoint being written
 *   swap/<20-digit swap id>.swap    FlowFiles a queue swapped out
 *
 * A commit writes one frame holding all the records of a batch (the changes
 * of one session, or of a group of sessions committed together) with one
 * write and, when cfg.sync, one fsync: a frame is applied whole or not at
 * all.
 *   journal file: "WFJ1" | u64 seq | frames
 *   frame:        u32 payload length | u32 CRC-32C of payload | payload
 *   payload:      u64 next id | i64 writer now_ns | u32 record count | records
 *   record:       u8 type, then
 *     PUT    (1)  uvarint queue id, u32 length, encoded FlowFile (flowfile.h)
 *     MOVE   (2)  uvarint id, uvarint queue id (same FlowFile, another queue)
 *     DELETE (3)  uvarint id
 *     SWAP_OUT (4) uvarint swap id, uvarint queue id, uvarint count,
 *                 uvarint content bytes, count x uvarint id
 *     SWAP_IN  (5) uvarint swap id (its FlowFiles follow as PUT records)
 * Big-endian fixed-width fields. MOVE and DELETE of an id that is not live
 * are ignored (idempotent).
 *
 * Before a frame is written the content repository is synced (its claims
 * are durable before any record points at them). Content files whose
 * references were all dropped are deleted only when every frame written so
 * far is durable: after a synced commit or a checkpoint (an unsynced commit
 * leaves them for the next one). References belong to the in-memory
 * FlowFiles (flowfile.h), not to the log: release a FlowFile's reference
 * only once the record that drops it is in a committed batch (a session
 * frees removed FlowFiles after its commit).
 *
 * Checkpoint (every checkpoint_interval_ms, or when the journal passes
 * journal_bytes_max, checked at commit; or on request): a new empty journal
 * seq+1 is created, every live FlowFile and every swap file in use are
 * written to snapshot.partial (with "replay from journal seq+1"), synced,
 * renamed to snapshot, then older journals are deleted. The snapshot is
 *   "WFS1" | u64 next id | i64 writer now_ns | u64 first journal seq |
 *   u64 next swap id | u64 live count | u64 swap count |
 *   records (u32 len | u32 crc | payload) ...
 *   where a live record is a PUT record and a swap record is
 *   u8 6 | uvarint swap id, queue id, count, content bytes.
 * The rename is atomic, so snapshot.partial is always an unfinished
 * checkpoint: recovery deletes it (the journals it would have replaced are
 * still there).
 *
 * Recovery (weir_ffrepo_open): load snapshot, replay journals from its seq
 * in order (no snapshot: from journal 1), stopping at the first torn or bad
 * frame of the newest journal (a bad frame in an older journal, or a missing
 * journal, is corruption). Swap files named in the state are read and their
 * claims re-referenced; swap files not named (a crash after writing one,
 * before its SWAP_OUT was durable, or after its SWAP_IN) are deleted. Then the content repository's
 * recovery ends, and a checkpoint is written, so the next start replays
 * nothing twice.
 *
 * Monotonic dates (flowfile.h *_ns) are kept as recorded when the clock at
 * open is at or past the newest now_ns a writer recorded (the simulator, a
 * process restart on the same boot): ages then include the downtime, as
 * NiFi's wall-clock dates do. When the clock is behind (a reboot), every
 * recovered and swapped-in date is shifted by (now_ns - that newest now_ns),
 * so they keep their order and precede every date of the new run.
 *
 * Swapping: a queue writes a batch of FlowFiles to a swap file and forgets
 * them (weir_ffrepo_swap_out, committed at once); weir_ffrepo_swap_in reads
 * it back and records them as live again. A FlowFile may be swapped out only
 * after the commit that put it in that queue is done (NiFi's order: the log,
 * then the queues); swap_out checks it. The swap file holds its own claim
 * references, so the caller frees the swapped FlowFiles normally.
 *   swap file: "WSW1" | u64 swap id | u32 queue id | u32 count |
 *              count x (u32 len | u32 crc | encoded FlowFile)
 *   written as `.swap.tmp`, synced, renamed.
 *
 * Threading: one node's event callbacks only.
 */
#ifndef WEIR_FLOW_FLOWFILE_REPO_H
#define WEIR_FLOW_FLOWFILE_REPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "env/env.h"
#include "flow/content_repo.h"
#include "flow/flowfile.h"

/* Settings. NiFi setting → field:
 *   nifi.flowfile.repository.always.sync (false)        → sync (weir: true)
 *   nifi.flowfile.repository.checkpoint.interval (20 s) → checkpoint_interval_ms */
typedef struct weir_ffrepo_config {
    bool sync;                      /* fsync every commit: true */
    int64_t checkpoint_interval_ms; /* 20000; <= 0: only journal_bytes_max and requests */
    uint64_t journal_bytes_max;     /* 64 MiB; 0: no limit */
} weir_ffrepo_config;

void weir_ffrepo_config_default(weir_ffrepo_config *cfg);

typedef struct weir_ffrepo weir_ffrepo;

/* A batch of changes: the records of one commit, encoded as they are added
 * (one growing buffer; reuse it across commits to allocate nothing in steady
 * state). Zero-initialize or weir_ffrepo_batch_init. */
typedef struct weir_ffrepo_batch {
    uint8_t *buf;
    size_t len;
    size_t cap;
    uint32_t records;
    int err; /* first allocation failure; commit returns it */
} weir_ffrepo_batch;

void weir_ffrepo_batch_init(weir_ffrepo_batch *b);
void weir_ffrepo_batch_reset(weir_ffrepo_batch *b); /* empties, keeps the buffer */
void weir_ffrepo_batch_free(weir_ffrepo_batch *b);

/* ff is (now) in queue queue_id with its current attributes, content and
 * dates (a create or an update). An allocation failure is kept in b->err. */
void weir_ffrepo_batch_put(weir_ffrepo_batch *b, uint32_t queue_id, const weir_flowfile *ff);

/* FlowFile id moved to queue queue_id, nothing else changed (cheaper than a put). */
void weir_ffrepo_batch_move(weir_ffrepo_batch *b, uint64_t id, uint32_t queue_id);

/* FlowFile id left the flow (sent, dropped, expired, merged). */
void weir_ffrepo_batch_delete(weir_ffrepo_batch *b, uint64_t id);

/* A swap file in use, as recovery found it. */
typedef struct weir_ffrepo_swap_info {
    uint64_t swap_id; /* the location to pass to weir_ffrepo_swap_in */
    uint32_t queue_id;
    uint32_t count;
    uint64_t bytes; /* content bytes of its FlowFiles */
} weir_ffrepo_swap_info;

/* A recovered live FlowFile and its queue. */
typedef struct weir_ffrepo_entry {
    weir_flowfile *ff;
    uint32_t queue_id;
} weir_ffrepo_entry;

/* What weir_ffrepo_open found. The caller owns the arrays and the FlowFiles
 * in them (each with its claim reference): weir_ffrepo_recovered_free frees
 * what is left (set entries[i].ff to NULL for those taken). The recovered
 * FlowFiles' references are what keeps their content: free one only when
 * that FlowFile leaves the flow, or the next synced commit may delete its
 * content file while the log still names it. */
typedef struct weir_ffrepo_recovered {
    weir_ffrepo_entry *entries; /* live FlowFiles, by queue id, then queue date, index, id */
    size_t count;
    weir_ffrepo_swap_info *swaps; /* by queue id, then swap id (swap-out order) */
    size_t swap_count;
    /* report */
    bool snapshot_loaded;
    uint64_t snapshot_records; /* live + swap records read from it */
    int journals_replayed;
    uint64_t frames_replayed;
    bool cut;                    /* a torn or bad frame ended the replay */
    char cut_file[64];           /* "journal/<seq>.journal" */
    uint64_t cut_offset;         /* its byte offset in that file */
    const char *cut_reason;      /* static text */
    int swap_files_removed;      /* stray swap files deleted */
    int content_files_reclaimed; /* content files nothing referred to */
    uint64_t next_id;
    int64_t clock_shift_ns; /* added to recovered monotonic dates (<= 0) */
} weir_ffrepo_recovered;

void weir_ffrepo_recovered_free(weir_ffrepo_recovered *rec);

/* Opens (creating) the folder dir and recovers it (above), filling *rec (the
 * caller frees it with weir_ffrepo_recovered_free, on success only). content
 * is the content repository, freshly opened and not yet recovered; it must
 * outlive the FlowFile repository. WEIR_E_CORRUPT with why naming the file
 * and byte offset for a bad snapshot, swap file, older journal or a claim
 * the content repository does not hold; I/O errors as they come. */
WEIR_MUST_CHECK int weir_ffrepo_open(weir_env *env, const char *dir, const weir_ffrepo_config *cfg,
                                     weir_content_repo *content, weir_ffrepo_recovered *rec,
                                     weir_ffrepo **out, char *why, size_t why_size);

/* Syncs and frees (no checkpoint: the next open replays the journal). Freed
 * even on error. */
WEIR_MUST_CHECK int weir_ffrepo_close(weir_ffrepo *repo);

/* Frees without writing anything (the process "crashed"). */
void weir_ffrepo_abandon(weir_ffrepo *repo);

/* A new FlowFile id (the counter is persisted in every frame). */
uint64_t weir_ffrepo_id_next(weir_ffrepo *repo);

/* Writes b as one frame (content repository synced first), fsyncs (cfg.sync),
 * applies it to the live state, lets the content repository reclaim (when
 * the journal is all synced), and checkpoints when one is due (a failed
 * checkpoint is logged and retried after the next commit; the commit still
 * returns 0). Always empties b. An empty batch still persists the id
 * counter. On an error nothing of b is applied in memory; the frame may or
 * may not survive a crash, so the caller treats the commit as failed. A
 * failed append is cut back off the journal; when even that fails, the
 * repository refuses further commits (WEIR_E_IO until reopened). */
WEIR_MUST_CHECK int weir_ffrepo_commit(weir_ffrepo *repo, weir_ffrepo_batch *b);

/* Writes a checkpoint now (above). */
WEIR_MUST_CHECK int weir_ffrepo_checkpoint(weir_ffrepo *repo);

/* Writes ffs[0..count) (all live in queue_id, in this order) to a new swap
 * file, takes a claim reference for each, and commits a SWAP_OUT frame:
 * they are no longer live, the swap file is. Never takes the FlowFiles (free
 * them after 0). The frame is synced per cfg.sync: if it is lost in a
 * crash, the FlowFiles are live again after the restart and the swap file
 * is removed as a stray. *swap_id_out is the location for swap_in.
 * WEIR_E_INVAL (nothing written) when count is 0 or one is not live in
 * queue_id; on any error the FlowFiles stay live (a written swap file
 * stays until the next recovery removes it). */
/* The swap id the next weir_ffrepo_swap_out will use (each call takes one,
 * failed or not). */
uint64_t weir_ffrepo_next_swap_id(const weir_ffrepo *repo);

WEIR_MUST_CHECK int weir_ffrepo_swap_out(weir_ffrepo *repo, uint32_t queue_id,
                                         weir_flowfile *const *ffs, size_t count,
                                         uint64_t *swap_id_out);

/* Reads swap file swap_id back: exactly count FlowFiles into ffs_out, in the
 * order written, each owning a claim reference (the swap file's), monotonic
 * dates shifted when the file is from before the restart; commits a SWAP_IN
 * frame, fsynced whatever cfg.sync says (they are live again in the swap
 * file's queue), then deletes the file (a failed delete is logged; the next
 * recovery removes it).
 * WEIR_E_NOENT for an unknown swap id, WEIR_E_INVAL when count differs,
 * WEIR_E_CORRUPT (logged with file and offset) for a bad file; on an error
 * ffs_out holds nothing and the file stays. */
WEIR_MUST_CHECK int weir_ffrepo_swap_in(weir_ffrepo *repo, uint64_t swap_id,
                                        weir_flowfile **ffs_out, size_t count);

typedef struct weir_ffrepo_stats {
    uint64_t live_count;    /* FlowFiles live in queues (not swapped) */
    uint64_t swap_count;    /* swap files in use */
    uint64_t swapped_count; /* FlowFiles in them */
    uint64_t commits;
    uint64_t records;     /* records committed */
    uint64_t frame_bytes; /* bytes appended to journals */
    uint64_t syncs;
    uint64_t checkpoints;
    uint64_t journal_seq;
    uint64_t journal_bytes; /* size of the current journal */
} weir_ffrepo_stats;

void weir_ffrepo_stats_get(const weir_ffrepo *repo, weir_ffrepo_stats *out);

/* Whether id is live, and its queue (tests, checks). */
bool weir_ffrepo_lookup(const weir_ffrepo *repo, uint64_t id, uint32_t *queue_id_out);

/* For tests: turn the per-commit fsync on or off (a crash after a commit
 * without fsync loses that commit). */
void weir_ffrepo_set_sync(weir_ffrepo *repo, bool sync);

#endif
