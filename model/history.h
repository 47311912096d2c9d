/* The history checker: what producers were told, what the logs finally
 * hold and what consumers read, compared message by message.
 *
 * Every message carries an id (producer, sequence). The checker reports:
 * - lost: acknowledged (with the acks level the scenario says must not lose)
 *   but not in the final log at all;
 * - moved: acknowledged at an offset that now holds another message (the
 *   acknowledged copy was truncated away, even if a retry landed elsewhere);
 * - duplicated: the same id more than once in the final log;
 * - reordered: one producer's messages to one partition out of send order;
 * - dirty read: a consumer read at (partition, offset) a message the final
 *   log does not have there (it read data that was later truncated).
 * Findings carry the ids, partitions and offsets, so a report can name them.
 */
#ifndef WEIR_MODEL_HISTORY_H
#define WEIR_MODEL_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct weir_msg_id {
    int32_t producer;
    int64_t seq;
} weir_msg_id;

typedef enum weir_finding_kind {
    WEIR_FINDING_LOST,
    WEIR_FINDING_MOVED,
    WEIR_FINDING_DUPLICATED,
    WEIR_FINDING_REORDERED,
    WEIR_FINDING_DIRTY_READ,
} weir_finding_kind;

typedef struct weir_finding {
    weir_finding_kind kind;
    weir_msg_id id;
    int32_t partition;
    int64_t offset;       /* where it was acknowledged / found / read */
    int64_t other_offset; /* the duplicate's or the earlier message's offset; -1 */
} weir_finding;

typedef struct weir_history {
    /* acknowledgements */
    struct weir_hist_ack {
        weir_msg_id id;
        int32_t partition;
        int64_t offset;
        bool must_survive; /* e.g. acks=all with min ISR >= 2 and clean elections */
    } *acks;
    size_t n_acks, cap_acks;
    /* the final log, per partition, in offset order */
    struct weir_hist_entry {
        weir_msg_id id;
        int32_t partition;
        int64_t offset;
    } *log;
    size_t n_log, cap_log;
    /* consumer reads */
    struct weir_hist_entry *reads;
    size_t n_reads, cap_reads;
} weir_history;

/* A message carries its id at the start of its value: "P<producer>:<seq>|".
 * Writes it at out (room for WEIR_MSG_ID_MAX bytes, no NUL) and returns its
 * length. */
#define WEIR_MSG_ID_MAX 40
size_t weir_msg_id_write(char *out, weir_msg_id id);
/* The id at the start of a value written by weir_msg_id_write; false if none. */
bool weir_msg_id_read(const uint8_t *v, size_t len, weir_msg_id *id);

void weir_history_init(weir_history *h);
void weir_history_free(weir_history *h);

void weir_history_ack(weir_history *h, weir_msg_id id, int32_t partition, int64_t offset,
                      bool must_survive);
/* One message of the final log (any order; the checker sorts). */
void weir_history_logged(weir_history *h, weir_msg_id id, int32_t partition, int64_t offset);
void weir_history_read(weir_history *h, weir_msg_id id, int32_t partition, int64_t offset);

typedef struct weir_history_report {
    size_t counts[5];       /* per weir_finding_kind */
    weir_finding *findings; /* the first `max_findings` */
    size_t n_findings;
    size_t max_findings;
    size_t acked;
    size_t acked_must_survive;
    size_t logged;
    size_t reads;
} weir_history_report;

/* Checks everything; findings go to report (up to report->max_findings kept,
 * all counted). Returns true if nothing was found. Sorts h's arrays. */
bool weir_history_check(weir_history *h, weir_history_report *report);
void weir_history_report_free(weir_history_report *r);

const char *weir_finding_name(weir_finding_kind k);

#endif
