/* Partition metadata files beside the segments, in Kafka's text formats.
 *
 * Offset checkpoints (`replication-offset-checkpoint` = the high watermark,
 * `recovery-point-offset-checkpoint` = everything below is synced):
 *     0\n1\n<topic> <partition> <offset>\n
 * `leader-epoch-checkpoint`:
 *     0\n<count>\n(<epoch> <start offset>\n)*
 * Files are replaced atomically: written to "<name>.tmp", synced, renamed.
 * Parse errors name the file and line.
 */
#ifndef WEIR_LOG_CHECKPOINT_H
#define WEIR_LOG_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "env/env.h"

#define WEIR_HW_CHECKPOINT "replication-offset-checkpoint"
#define WEIR_RECOVERY_CHECKPOINT "recovery-point-offset-checkpoint"
#define WEIR_EPOCH_CHECKPOINT "leader-epoch-checkpoint"
#define WEIR_CLEAN_SHUTDOWN ".kafka_cleanshutdown"

typedef struct weir_epoch_entry {
    int32_t epoch;
    int64_t start_offset;
} weir_epoch_entry;

/* Writes data to dir/name atomically (tmp + sync + rename). */
WEIR_MUST_CHECK int weir_checkpoint_replace(weir_env *env, const char *dir, const char *name,
                                            const void *data, size_t len);

/* Reads a whole small file into a NUL-terminated malloc'd buffer. */
WEIR_MUST_CHECK int weir_checkpoint_slurp(weir_env *env, const char *path, size_t max_bytes,
                                          char **out, size_t *len_out);

WEIR_MUST_CHECK int weir_offset_checkpoint_write(weir_env *env, const char *dir, const char *name,
                                                 const char *topic, int32_t partition,
                                                 int64_t offset);
/* WEIR_E_NOENT if the file is missing; WEIR_E_CORRUPT with why (file:line:
 * reason) if it does not parse or names another partition. */
WEIR_MUST_CHECK int weir_offset_checkpoint_read(weir_env *env, const char *dir, const char *name,
                                                const char *topic, int32_t partition,
                                                int64_t *offset_out, char *why, size_t why_size);

WEIR_MUST_CHECK int weir_epoch_checkpoint_write(weir_env *env, const char *dir,
                                                const weir_epoch_entry *entries, size_t n);
/* *entries_out is malloc'd (NULL when n == 0). Epochs and offsets must
 * increase, or it is WEIR_E_CORRUPT with why. */
WEIR_MUST_CHECK int weir_epoch_checkpoint_read(weir_env *env, const char *dir,
                                               weir_epoch_entry **entries_out, size_t *n_out,
                                               char *why, size_t why_size);

#endif
