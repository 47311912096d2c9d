/* A segment's aborted-transaction index, `<20-digit base offset>.txnindex`,
 * in Kafka's format (TransactionIndex / AbortedTxn):
 *
 *   34-byte entries, big-endian: int16 version (0) | int64 producer_id |
 *   int64 first_offset | int64 last_offset | int64 last_stable_offset
 *
 * One entry per aborted transaction, in the segment holding its ABORT marker
 * (last_offset is the marker's offset; the transaction may start in an
 * earlier segment). last_offset strictly increases through the file. There
 * is no header, no checksum and no preallocation; the file is created when
 * the first entry is written, as Kafka does, so most segments have none.
 *
 * Entries are kept in memory and written through at once (one pwrite per
 * entry); weir_txn_index_sync makes them durable (the segment does at seal).
 * After a crash a torn last entry is dropped on open and the log's replay
 * writes it again.
 */
#ifndef WEIR_LOG_TXN_INDEX_H
#define WEIR_LOG_TXN_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "env/env.h"

#define WEIR_TXN_INDEX_ENTRY_BYTES 34
#define WEIR_TXN_INDEX_VERSION 0

typedef struct weir_aborted_txn {
    int64_t producer_id;
    int64_t first_offset;       /* the transaction's first offset */
    int64_t last_offset;        /* its ABORT marker's offset */
    int64_t last_stable_offset; /* the LSO right after the marker */
} weir_aborted_txn;

typedef struct weir_txn_index {
    weir_env *env;
    char *path;          /* malloc'd "<prefix>.txnindex" */
    weir_file *file;     /* NULL while the file does not exist (or is not open yet) */
    weir_aborted_txn *e; /* in file order */
    size_t n;
    size_t cap;
    bool dirty; /* written since the last sync */
} weir_txn_index;

/* Encodes / decodes one 34-byte entry. */
void weir_txn_index_entry_encode(uint8_t *out, const weir_aborted_txn *t);
void weir_txn_index_entry_decode(const uint8_t *in, weir_aborted_txn *t);

/* Decodes a whole file image: the longest prefix of valid entries (version 0,
 * producer id >= 0, 0 <= first_offset < last_offset, last offsets strictly
 * increasing and >= min_last_offset) goes to *out (malloc'd, NULL when empty;
 * the caller frees). Returns 0 if every byte was used, else WEIR_E_CORRUPT
 * with *why (static) and the prefix still returned. WEIR_E_NOMEM. */
WEIR_MUST_CHECK int weir_txn_index_decode(const uint8_t *buf, size_t len, int64_t min_last_offset,
                                          weir_aborted_txn **out, size_t *n_out, const char **why);

/* Opens the index at path, loading the file if it exists (never creating
 * it). Entries must have last_offset >= base (the segment's base offset): a
 * damaged tail is cut from the file and *damaged set (if non-NULL). On error
 * nothing is left open. */
WEIR_MUST_CHECK int weir_txn_index_open(weir_env *env, const char *path, int64_t base,
                                        weir_txn_index *out, bool *damaged);
/* A new, empty index for a new segment: removes a stale file of that name. */
WEIR_MUST_CHECK int weir_txn_index_create(weir_env *env, const char *path, weir_txn_index *out);
/* Closes the file and frees memory; touches nothing on disk. Safe on a zeroed index. */
void weir_txn_index_close(weir_txn_index *ix);

/* Appends one entry (creating the file on the first). Its last_offset must
 * exceed the last entry's (WEIR_E_INVAL otherwise). On a write error the
 * entry is not kept and a partial write is cut. */
WEIR_MUST_CHECK int weir_txn_index_append(weir_txn_index *ix, const weir_aborted_txn *t);

/* Drops every entry whose last_offset >= offset (a truncated log, or the part
 * a replay writes again). */
WEIR_MUST_CHECK int weir_txn_index_truncate(weir_txn_index *ix, int64_t offset);

WEIR_MUST_CHECK int weir_txn_index_sync(weir_txn_index *ix);

/* Kafka's collectAbortedTxns: appends to (*out, *n, *cap) (realloc'd) every
 * entry with last_offset >= fetch_offset and first_offset < upper_bound.
 * *complete is set when an entry's last_stable_offset >= upper_bound: no later
 * segment can hold another transaction starting below upper_bound. */
WEIR_MUST_CHECK int weir_txn_index_collect(const weir_txn_index *ix, int64_t fetch_offset,
                                           int64_t upper_bound, weir_aborted_txn **out, size_t *n,
                                           size_t *cap, bool *complete);

#endif
