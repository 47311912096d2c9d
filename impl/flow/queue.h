/* Connection queues: the FlowFiles waiting on one connection
 * (notes/FLOW.md §1.2 swapping, §1.3 back pressure and expiration, §1.4
 * prioritizers, §1.5 penalization; NiFi's StandardFlowFileQueue over
 * SwappablePriorityQueue).
 *
 * A queue holds weir_flowfile pointers in four places:
 *   active     sorted by the prioritizer chain (prioritizer.h); poll takes
 *              from here. Always resident.
 *   penalized  FlowFiles whose penalty has not expired, by expiry (then queue
 *              index). Never handed out; moved to active once expired.
 *   swap queue new arrivals while the queue is in swap mode, in arrival
 *              order, not prioritized against active (NiFi's documented
 *              behaviour). Resident until a batch is full.
 *   swapped    batches of swap_batch_count FlowFiles written out through
 *              swap_out, in order; only a (count, bytes, location) summary
 *              stays in memory.
 *
 * Swap mode starts when an offer finds active + penalized at swap_threshold
 * and ends when swap queue and swapped batches are both empty. A swapped
 * batch is read back (oldest first) when active + penalized drop to
 * swap_threshold - swap_batch_count or fewer, so the resident FlowFiles never
 * exceed swap_threshold + swap_batch_count (30,000 with the defaults, plus
 * whatever a rollback requeues). When no batch is on disk, the swap queue
 * moves into active once active falls below swap_threshold. With FIFO the
 * whole queue therefore comes out in offer order across swapping.
 *
 * Penalized FlowFiles count as resident against swap_threshold (NiFi keeps
 * them in its active queue). Expiration is checked at the head of active
 * only (as NiFi does): a FlowFile in the swap queue, on disk or penalized
 * expires once it reaches the head.
 *
 * Back pressure is soft (NiFi): offers always queue; the engine asks
 * weir_flow_queue_is_full before it schedules the source. Count and bytes
 * cover all four places, so swapped FlowFiles still count.
 *
 * Time: every now_ns is on the clock of the FlowFile's dates (flowfile.h:
 * weir_now_ns of the node's env); the queue never reads a clock itself.
 *
 * Ownership: a queued FlowFile belongs to the queue. poll hands it to the
 * caller; expiry hands it to on_expired (or frees it when that is NULL);
 * swap-out frees it after swap_out returned 0; weir_flow_queue_free frees
 * what is still resident (swapped batches stay in the repository).
 *
 * Threading: one queue is used from one node's event callbacks only.
 *
 * Invariants (checked by weir_flow_queue_check):
 *   count = active + penalized + swap queue + Σ swapped batch counts, same for bytes;
 *   count_peak >= count; in_count - out_count - expired_count = count;
 *   every active/penalized entry's key matches its FlowFile.
 */
#ifndef WEIR_FLOW_QUEUE_H
#define WEIR_FLOW_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "flow/flow_def.h"
#include "flow/prioritizer.h"

typedef struct weir_flowfile weir_flowfile;
typedef struct weir_flow_queue weir_flow_queue;

#define WEIR_FLOW_SWAP_BATCH_COUNT_DEFAULT 10000ULL /* NiFi: "in batches of 10,000" */

/* Settings of one queue. NiFi connection setting → field:
 *   Back Pressure Object Threshold    → object_threshold     (0 = none)
 *   Back Pressure Data Size Threshold → size_threshold_bytes (0 = none)
 *   FlowFile Expiration               → expiration_ns        (0 = never)
 *   Prioritizers                      → prioritizers
 *   nifi.queue.swap.threshold         → swap_threshold       (0 = never swap)
 *   (10,000 per swap file)            → swap_batch_count */
typedef struct weir_flow_queue_config {
    uint64_t object_threshold;
    uint64_t size_threshold_bytes;
    int64_t expiration_ns;
    weir_prioritizers prioritizers;
    uint64_t swap_threshold;
    uint64_t swap_batch_count; /* 1 <= swap_batch_count <= swap_threshold when swapping */
} weir_flow_queue_config;

/* How a queue reaches the FlowFile repository's swap files and reports
 * expired FlowFiles. Any callback may be NULL: without swap_out the queue
 * never swaps (everything stays resident). */
typedef struct weir_flow_queue_hooks {
    /* Writes ffs[0..count) in this order as one swap file and sets
     * *location_out to something swap_in can find it by. Never takes the
     * FlowFiles: on 0 the queue frees them; on an error they stay in the swap
     * queue, resident, and the write is tried again at the next full batch. */
    int (*swap_out)(void *arg, weir_flowfile *const *ffs, size_t count, uint64_t *location_out);
    /* Reads back the file written for location: exactly count FlowFiles, in
     * the order written, into ffs_out (the caller's array), and forgets the
     * file. On 0 the queue owns the FlowFiles; on an error ffs_out holds
     * nothing and the batch stays on disk (tried again at the next poll). */
    int (*swap_in)(void *arg, uint64_t location, weir_flowfile **ffs_out, size_t count);
    /* Takes an expired FlowFile (EXPIRE provenance, DROP accounting, free).
     * NULL: the queue frees it. Must not call back into this queue. */
    void (*on_expired)(void *arg, weir_flowfile *ff);
    void *arg;
} weir_flow_queue_hooks;

/* Counters. "count" and "bytes" are FlowFiles and their content sizes. */
typedef struct weir_flow_queue_stats {
    uint64_t count; /* queued, everywhere (what is_full compares) */
    uint64_t bytes;
    uint64_t count_peak; /* highest count ever */
    uint64_t bytes_peak;
    uint64_t active_count; /* in active (handed out by poll) */
    uint64_t penalized_count;
    uint64_t swap_queue_count; /* resident, waiting to be swapped out or moved in */
    uint64_t swapped_count;    /* on disk, in swapped batches */
    uint64_t swap_file_count;  /* swapped batches */
    uint64_t resident_count;   /* FlowFile structs this queue holds in memory */
    uint64_t resident_count_peak;
    uint64_t in_count; /* offered (rollback requeues are not counted) */
    uint64_t in_bytes;
    uint64_t out_count; /* handed out by poll, less rollback requeues */
    uint64_t out_bytes;
    uint64_t expired_count; /* removed by expiration */
    uint64_t expired_bytes;
    uint64_t swap_out_count; /* batches written */
    uint64_t swap_in_count;  /* batches read back */
    uint64_t swap_errors;    /* swap_out / swap_in calls that failed */
    int swap_error_last;     /* the latest failure's WEIR_E_*, 0 when none */
} weir_flow_queue_stats;

/* NiFi's defaults: 10,000 objects, 1 GiB, no expiration, FIFO, swap at
 * 20,000 in batches of 10,000. */
void weir_flow_queue_config_default(weir_flow_queue_config *out);

/* A new empty queue. hooks may be NULL (no swap, expired FlowFiles freed);
 * the queue copies *config and *hooks. NULL when config is invalid (a
 * prioritizer out of range, swap_batch_count 0 or above swap_threshold while
 * swap_threshold > 0, expiration_ns < 0) or memory runs out; *err_out (if
 * not NULL) says which (WEIR_E_INVAL / WEIR_E_NOMEM). */
weir_flow_queue *weir_flow_queue_new(const weir_flow_queue_config *config,
                                     const weir_flow_queue_hooks *hooks, int *err_out);

/* Frees the queue and every resident FlowFile it holds; swapped batches stay
 * with the repository. NULL is a no-op. */
void weir_flow_queue_free(weir_flow_queue *q);

/* ---- offering ---- */

/* Queues ff: sets its queue date to now_ns and its queue index to the next
 * of this queue, then puts it in active, penalized or the swap queue (may
 * swap a batch out). Always succeeds whatever the thresholds (soft back
 * pressure) and always takes ff, except: WEIR_E_NOMEM (ff not queued, still
 * the caller's). A failed swap-out is not an error here: see stats. */
WEIR_MUST_CHECK int weir_flow_queue_offer(weir_flow_queue *q, weir_flowfile *ff, int64_t now_ns);

/* weir_flow_queue_offer for ffs[0..count) in order (a session's commit).
 * On WEIR_E_NOMEM, ffs[0..*taken_out) were queued and the rest are still the
 * caller's. taken_out may be NULL. */
WEIR_MUST_CHECK int weir_flow_queue_offer_all(weir_flow_queue *q, weir_flowfile *const *ffs,
                                              size_t count, int64_t now_ns, size_t *taken_out);

/* Rollback: puts FlowFiles that were polled from this queue back where they
 * were, keeping their queue date and index (so the prioritizers place them
 * exactly as before), into active — never the swap queue — or penalized if
 * the session penalized them. Undoes out_count/out_bytes; in_count is not
 * touched. Same ownership and NOMEM rule as offer_all. Also used to restore
 * a queue from the FlowFile repository after a restart (then with counters:
 * see weir_flow_queue_restore). */
WEIR_MUST_CHECK int weir_flow_queue_requeue(weir_flow_queue *q, weir_flowfile *const *ffs,
                                            size_t count, size_t *taken_out);

/* Recovery (weir_ffrepo_recovered): first weir_flow_queue_restore_swapped
 * for each of the queue's swap files in swap-out order, then
 * weir_flow_queue_restore for each live FlowFile in the recovered order
 * (queue date, index). */

/* Queues ff as it was before a restart, keeping its queue date and index
 * (the queue's next index moves past them), counting it as offered. It goes
 * to active (or penalized) while those hold fewer than swap_threshold, else
 * to the swap queue. Same ownership rule as offer. */
WEIR_MUST_CHECK int weir_flow_queue_restore(weir_flow_queue *q, weir_flowfile *ff);

/* Adopts a swap file written before a restart: count FlowFiles of bytes
 * content bytes at location, read back after those already swapped (swap
 * mode starts). Counted as offered. WEIR_E_INVAL when count is 0;
 * WEIR_E_NOMEM. */
WEIR_MUST_CHECK int weir_flow_queue_restore_swapped(weir_flow_queue *q, uint64_t location,
                                                    uint64_t count, uint64_t bytes);

/* ---- polling ---- */

/* Housekeeping every poll and peek does first, at now_ns: penalized
 * FlowFiles whose expiry is <= now_ns move to active; swapped batches come
 * back as described above; and (when expiration_ns > 0) every FlowFile at
 * the head of active whose age now_ns - entry date exceeds expiration_ns is
 * removed and handed to on_expired, until the head is a live one. */

/* Takes the first FlowFile in priority order that is not penalized and not
 * expired. *ff_out is NULL when there is none now (empty, everything
 * penalized, or swapped batches that cannot be read); then returns 0, or the
 * swap_in error when a batch could not be read and nothing else was ready. */
WEIR_MUST_CHECK int weir_flow_queue_poll(weir_flow_queue *q, int64_t now_ns,
                                         weir_flowfile **ff_out);

/* Takes up to max FlowFiles, in priority order, into ffs_out[0..*count_out)
 * (a batch session). Same rules as poll; *count_out may be < max (or 0). */
WEIR_MUST_CHECK int weir_flow_queue_poll_batch(weir_flow_queue *q, int64_t now_ns,
                                               weir_flowfile **ffs_out, size_t max,
                                               size_t *count_out);

/* The FlowFile poll would take, left in the queue (after the housekeeping,
 * which may expire FlowFiles). NULL when poll would give none. The pointer
 * is valid until the next call on the queue. */
WEIR_MUST_CHECK int weir_flow_queue_peek(weir_flow_queue *q, int64_t now_ns,
                                         const weir_flowfile **ff_out);

/* ---- state for the scheduler ---- */

/* Back pressure: count >= object_threshold or bytes >= size_threshold_bytes,
 * each only when its threshold is > 0. Exactly at a threshold is full. */
bool weir_flow_queue_is_full(const weir_flow_queue *q);

/* No FlowFile queued anywhere. */
bool weir_flow_queue_is_empty(const weir_flow_queue *q);

/* Whether a poll at now_ns could hand something out (active, swap queue or
 * swapped batches non-empty, or a penalty expired by now_ns); ignores
 * expiration, so a poll may still find only expired FlowFiles. */
bool weir_flow_queue_has_ready(const weir_flow_queue *q, int64_t now_ns);

/* The earliest penalty expiry among penalized FlowFiles, so the scheduler
 * can wait until then: true and *expiry_ns_out, or false when none is
 * penalized. */
bool weir_flow_queue_penalty_expiry_next(const weir_flow_queue *q, int64_t *expiry_ns_out);

uint64_t weir_flow_queue_count(const weir_flow_queue *q);
uint64_t weir_flow_queue_bytes(const weir_flow_queue *q);
void weir_flow_queue_stats_get(const weir_flow_queue *q, weir_flow_queue_stats *out);
const weir_flow_queue_config *weir_flow_queue_config_get(const weir_flow_queue *q);

/* ---- changes while running ---- */

/* New back-pressure thresholds; passive (NiFi): nothing queued moves. */
void weir_flow_queue_set_thresholds(weir_flow_queue *q, uint64_t object_threshold,
                                    uint64_t size_threshold_bytes);

/* New FlowFile expiration (0 = never); applies from the next poll. */
WEIR_MUST_CHECK int weir_flow_queue_set_expiration(weir_flow_queue *q, int64_t expiration_ns);

/* A new prioritizer chain; re-sorts active now (O(active)). The swap queue
 * and swapped batches keep their order and are sorted as they come in.
 * WEIR_E_INVAL when p is invalid (nothing changes). */
WEIR_MUST_CHECK int weir_flow_queue_set_prioritizers(weir_flow_queue *q,
                                                     const weir_prioritizers *p);

/* Checks every invariant listed above (O(resident)); WEIR_E_CORRUPT when one
 * fails. For tests and debug builds. */
WEIR_MUST_CHECK int weir_flow_queue_check(const weir_flow_queue *q);

#endif
