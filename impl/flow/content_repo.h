/* The content repository: FlowFile content in append-only claim files
 * (notes/FLOW.md §1.1 "Content Claim", §1.2; NiFi's FileSystemRepository).
 *
 * Content is written once and never changed (copy on write): a write appends
 * the bytes to the active file `<dir>/<file_id>.claim` (20-digit id) and
 * returns a claim (file id, offset, length) holding one reference. The active
 * file rolls at file_bytes_max; a claim never spans files (one bigger than
 * file_bytes_max gets a file of its own). Many claims share a file, and the
 * repository counts references per file (NiFi's resource-claim claimant
 * count): FlowFiles own references (flowfile.h), clones and swap files take
 * more, weir_content_repo_decref gives one back.
 *
 * Reclaiming: a file that is no longer active and whose count fell to zero
 * is deleted by weir_content_repo_reclaim, which the FlowFile repository
 * calls once its journal is synced (after a synced commit or a checkpoint),
 * so no file goes while a durable record still points into it. A crash may
 * leave files nobody references; the recovery finds them.
 *
 * Durability: writes are buffered (write_buffer_bytes) and reach the file at
 * weir_content_repo_sync, which also fsyncs; the FlowFile repository calls it
 * before it writes the records that refer to the new claims. With cfg.sync
 * false (NiFi's always.sync = false) a crash may leave a durable record whose
 * content is gone: its recovery then fails naming the claim.
 *
 * Recovery: weir_content_repo_open lists the existing files with a count of
 * zero and never appends to them (their tails may be torn); new content goes
 * to a new file with a higher id. The FlowFile repository's open calls
 * weir_content_repo_ref_recovered for every recovered FlowFile's claim (live
 * and swapped), then weir_content_repo_recovery_finish, which deletes the
 * files still at zero. Until recovery_finish nothing is deleted.
 *
 * Memory mode (dir NULL, NiFi's volatile repository): the same claims and
 * counts over malloc'd chunks of file_bytes_max; a chunk is freed as soon as
 * it is no longer active and nothing refers to it (no log has to be synced
 * first), the last one kept to be the next chunk (fresh memory costs a page
 * fault per page). Nothing survives the process.
 *
 * Threading: one node's event callbacks only.
 */
#ifndef WEIR_FLOW_CONTENT_REPO_H
#define WEIR_FLOW_CONTENT_REPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "env/env.h"
#include "flow/flowfile.h"

#define WEIR_CONTENT_FILE_SUFFIX ".claim"

/* Settings. NiFi setting → field:
 *   nifi.content.claim.max.appendable.size (1 MB) → file_bytes_max (weir: 8 MiB,
 *   fewer files and folder syncs at high rates) */
typedef struct weir_content_repo_config {
    uint64_t file_bytes_max;   /* roll the active file at this size: 8 MiB */
    size_t write_buffer_bytes; /* appended in one write when full: 256 KiB */
    bool sync;                 /* fsync in weir_content_repo_sync: true */
} weir_content_repo_config;

void weir_content_repo_config_default(weir_content_repo_config *cfg);

typedef struct weir_content_repo_stats {
    uint64_t files; /* files (or chunks) held now, active included */
    uint64_t refs;  /* references held now, all files together */
    uint64_t claims_written;
    uint64_t bytes_written;
    uint64_t files_reclaimed; /* deleted since open */
    uint64_t bytes_reclaimed;
    uint64_t syncs; /* fsyncs done */
} weir_content_repo_stats;

/* Opens (creating) the folder dir, or a memory repository when dir is NULL.
 * Existing `*.claim` files are listed for recovery (see above), names
 * ending in ".claim.tmp" are removed, other names are left alone.
 * WEIR_E_CORRUPT with why (naming the file) for a `*.claim` name that does
 * not parse. A folder repository starts in recovery: call
 * weir_content_repo_recovery_finish (weir_ffrepo_open does) before anything
 * is reclaimed. */
WEIR_MUST_CHECK int weir_content_repo_open(weir_env *env, const char *dir,
                                           const weir_content_repo_config *cfg,
                                           weir_content_repo **out, char *why, size_t why_size);

/* Flushes, syncs, closes files and frees; the repository is freed even on
 * error. Files with references stay; the next open recovers them. */
WEIR_MUST_CHECK int weir_content_repo_close(weir_content_repo *repo);

/* Frees without writing anything more (the process "crashed"): buffered
 * bytes are lost. */
void weir_content_repo_abandon(weir_content_repo *repo);

/* Appends len bytes as a new claim with one reference, *claim_out. len 0
 * gives the null claim (nothing written, no reference). WEIR_E_IO /
 * WEIR_E_NOSPC / WEIR_E_NOMEM: nothing was claimed. */
WEIR_MUST_CHECK int weir_content_repo_write(weir_content_repo *repo, const void *data, size_t len,
                                            weir_content_claim *claim_out);

/* The concatenation of iov[0..count) as one claim (MergeContent). */
WEIR_MUST_CHECK int weir_content_repo_writev(weir_content_repo *repo, const weir_iov *iov,
                                             int count, weir_content_claim *claim_out);

/* Reads exactly len bytes at offset (bytes into the claim) into buf.
 * WEIR_E_RANGE when offset + len exceeds claim->length; WEIR_E_NOENT when the
 * file is gone; WEIR_E_CORRUPT with a log line naming file and offset when
 * the file is shorter than the claim. */
WEIR_MUST_CHECK int weir_content_repo_read(weir_content_repo *repo, const weir_content_claim *claim,
                                           uint64_t offset, void *buf, size_t len);

/* Zero-copy read for memory repositories: *data_out points at the claim's
 * bytes from offset, valid while the claim has a reference. WEIR_E_UNSUPPORTED
 * for a folder repository (use weir_content_repo_read); WEIR_E_RANGE as read. */
WEIR_MUST_CHECK int weir_content_repo_peek(weir_content_repo *repo, const weir_content_claim *claim,
                                           uint64_t offset, size_t len, const uint8_t **data_out);

/* One more reference to the claim's file. A null claim is a no-op. */
void weir_content_repo_incref(weir_content_repo *repo, const weir_content_claim *claim);

/* One reference fewer; at zero the file (unless active) waits for reclaim.
 * A null claim is a no-op. Asserts the count was positive. */
void weir_content_repo_decref(weir_content_repo *repo, const weir_content_claim *claim);

/* References on file_id now (0 for an unknown file), for tests. */
uint32_t weir_content_repo_refs(const weir_content_repo *repo, uint64_t file_id);

/* Makes every claim written so far durable: writes the buffer, fsyncs the
 * files written since the last sync (when cfg.sync). */
WEIR_MUST_CHECK int weir_content_repo_sync(weir_content_repo *repo);

/* Deletes the files waiting for reclaim (count zero, not active); adds the
 * number to *files_out when not NULL. Call only when every record that
 * dropped their references is durable (the FlowFile repository does). A
 * failed delete leaves the file waiting and returns the error. */
WEIR_MUST_CHECK int weir_content_repo_reclaim(weir_content_repo *repo, int *files_out);

/* Recovery: one reference for a recovered FlowFile's claim. WEIR_E_CORRUPT
 * with why ("content/<id>.claim: claim at offset X length Y past the end Z"
 * or "... missing") when the file does not hold it. Only before
 * recovery_finish. A null claim is a no-op. */
WEIR_MUST_CHECK int weir_content_repo_ref_recovered(weir_content_repo *repo,
                                                    const weir_content_claim *claim, char *why,
                                                    size_t why_size);

/* Ends recovery: deletes the files no recovered claim refers to; their
 * number in *files_out (may be NULL). */
WEIR_MUST_CHECK int weir_content_repo_recovery_finish(weir_content_repo *repo, int *files_out);

void weir_content_repo_stats_get(const weir_content_repo *repo, weir_content_repo_stats *out);

/* The folder (NULL for a memory repository). */
const char *weir_content_repo_dir(const weir_content_repo *repo);

#endif
