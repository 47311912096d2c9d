/* The leader-epoch cache: for each leader epoch, the first offset written in
 * it. Persisted in `leader-epoch-checkpoint`; answers KIP-101/279's
 * "end offset of epoch E" that a follower asks before truncating.
 */
#ifndef WEIR_LOG_EPOCH_CACHE_H
#define WEIR_LOG_EPOCH_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log/checkpoint.h"

typedef struct weir_epoch_cache {
    weir_epoch_entry *e;
    size_t n;
    size_t cap;
} weir_epoch_cache;

void weir_epoch_cache_free(weir_epoch_cache *c);

/* Latest epoch, or -1 if empty. */
int32_t weir_epoch_cache_latest(const weir_epoch_cache *c);

/* Records that `epoch` starts at `start_offset`. Only a newer epoch is
 * recorded, replacing entries that start at or after start_offset; *changed
 * says whether the cache changed. */
WEIR_MUST_CHECK int weir_epoch_cache_assign(weir_epoch_cache *c, int32_t epoch,
                                            int64_t start_offset, bool *changed);

/* After truncating the log to end_offset: drops epochs that start at or after it. */
bool weir_epoch_cache_truncate_end(weir_epoch_cache *c, int64_t end_offset);

/* After the log start moved to start_offset: drops epochs that end before it
 * and moves the start of the one that spans it. */
bool weir_epoch_cache_truncate_start(weir_epoch_cache *c, int64_t start_offset);

/* KIP-279: the largest epoch <= `epoch` and the offset where it ends (the next
 * epoch's start, or log_end for the latest). (-1, -1) if epoch precedes all. */
void weir_epoch_cache_end_offset(const weir_epoch_cache *c, int32_t epoch, int64_t log_end,
                                 int32_t *epoch_out, int64_t *end_out);

#endif
