/* Read-only health check of a partition folder `<topic>-<partition>`.
 *
 * weir_log_verify looks at every file of the folder through weir_env and
 * changes nothing (files are opened without CREATE or TRUNC and only read;
 * unlike weir_plog_open it never recovers, trims or rewrites). It checks:
 *
 *   - each `<base>.log`: every batch whole, magic 2, CRC-32C, lengths, records
 *     decodable, offsets contiguous from the base offset (weir_segment_scan_file);
 *   - segments continue each other: a segment's base offset is the previous
 *     one's end (a missing middle segment shows as a gap);
 *   - each `.index` / `.timeindex` against its `.log`: entries strictly
 *     increasing, inside the file and the segment's offsets, every offset-index
 *     position the start of a batch whose last offset is the entry's offset,
 *     every time-index entry naming a batch with that max timestamp, only zero
 *     bytes after the last entry; no index without its `.log` (an orphan);
 *   - each `.txnindex` (where there is one): whole 34-byte entries of version
 *     0, last offsets increasing, each naming a one-record (marker) batch;
 *   - leader-epoch-checkpoint parses, its epochs agree with the batches' and
 *     start at or before the log end; the offset checkpoints (high watermark,
 *     recovery point, log start) parse, name this partition and do not lie past
 *     the log end; every `<offset>.snapshot` decodes (version, CRC, size).
 *
 * Findings go to a callback, one per problem (damage) or note (something weir
 * would tidy on open, such as a leftover `.tmp` file or a missing index, or a
 * file it does not know); no stdio here, the caller prints.
 */
#ifndef WEIR_LOG_VERIFY_H
#define WEIR_LOG_VERIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "env/env.h"

typedef enum weir_verify_severity {
    WEIR_VERIFY_PROBLEM = 0, /* damage: the folder is not healthy */
    WEIR_VERIFY_NOTE = 1,    /* worth knowing, not damage */
} weir_verify_severity;

/* One finding. Strings are valid only during the callback. */
typedef struct weir_verify_issue {
    weir_verify_severity severity;
    const char *file;    /* name inside the folder, e.g. "00000000000000000000.log";
                          * "" for the folder itself */
    int64_t position;    /* byte position in `file`, -1 if none */
    int64_t offset;      /* log offset concerned, -1 if none */
    int line;            /* line of a text file (1-based), 0 if none */
    const char *message; /* what is wrong, without the file name */
} weir_verify_issue;

typedef void (*weir_verify_issue_cb)(const weir_verify_issue *issue, void *arg);

typedef struct weir_verify_report {
    int segments;         /* .log files */
    int64_t batches;      /* valid batches, all segments */
    int64_t records;      /* their record counts, summed */
    uint64_t log_bytes;   /* size of every .log, summed */
    int64_t start_offset; /* base offset of the first segment, -1 without segments */
    int64_t end_offset;   /* offset after the last valid batch of the last segment */
    int problems;
    int notes;
} weir_verify_report;

/* Checks the partition folder `dir` (relative to the env's root; its last
 * component must be `<topic>-<partition>`), calling cb (may be NULL) for each
 * finding in folder order: segments first, then metadata files. Returns 0 when
 * the check ran (report->problems says whether the folder is healthy),
 * WEIR_E_INVAL for a folder name that is not `<topic>-<partition>`, or the
 * error that stopped it (WEIR_E_NOENT / WEIR_E_NOTDIR for `dir` itself,
 * WEIR_E_NOMEM). A file that cannot be read is a problem, not an error. */
WEIR_MUST_CHECK int weir_log_verify(weir_env *env, const char *dir, weir_verify_issue_cb cb,
                                    void *arg, weir_verify_report *report);

#endif
