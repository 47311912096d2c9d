/* The history checker: what producers were told, what the logs finally
 * hold and what consumers read, compared message by message. Anomalies carry
 * Jepsen's Kafka names where Jepsen has one (jepsen.tests.kafka; see
 * notes/KAFKA.md §6.2 and the invariants of §9).
 *
 * Every message carries an id (producer, sequence). "The final log" is what
 * weir_history_logged/_logged_vis recorded; "visible" means visible to a
 * read_committed consumer: non-transactional (WEIR_VIS_PLAIN) or behind a
 * COMMIT marker (WEIR_VIS_COMMITTED). A message of "transaction T" is one
 * weir_history_send_in_txn put in T. The checker reports:
 *
 * - lost-write (WEIR_FINDING_LOST): acknowledged with must_survive, and its
 *   id is nowhere in the final log. (Jepsen's lost-write also asks that a
 *   later message was read; here the final log is the witness.)
 * - moved: acknowledged with must_survive at an offset that now holds
 *   another message or nothing, while the id sits elsewhere in the log (the
 *   acknowledged copy was truncated away, a retry landed elsewhere).
 * - duplicate (WEIR_FINDING_DUPLICATED): the same id more than once in the
 *   final log, copies behind an ABORT marker left out (an aborted attempt
 *   and its committed retry are one message); one finding per extra copy.
 * - reordered: one producer's messages to one partition out of send order
 *   in the final log, records behind an ABORT marker left out.
 * - dirty-read: a read at (partition, offset) of a message the final log
 *   does not hold there (it read data later truncated or replaced).
 * - inconsistent-offsets: one (partition, offset) observed with two different
 *   ids across the reads (of either API) and the final log; one finding per
 *   place. Acknowledged offsets are not observations here: "moved" covers
 *   them.
 * The poll checks hold each ordered read (weir_history_poll) of a run - one
 * (consumer, epoch, partition), in recorded order - to an expected offset e:
 * the previous read's offset + 1; or, if the consumer seeked since
 * (weir_history_seek), the seek's offset; or, for the run's first read, the
 * seek before it, else the last offset the consumer's group committed for
 * the partition before it (no commit, no group: the first read is free).
 * "Readable" in [e, b) means a message in the final log at an offset in
 * [e, b) that this reader should have received: a visible one at
 * read_committed, any at read_uncommitted. Offsets the final log holds no
 * message at (control records, compacted or foreign records) and aborted or
 * open records at read_committed are legitimately skipped.
 * - poll-skip: a read at b > e with something readable in [e, b).
 * - nonmonotonic-poll: a read at b < e where e follows a previous read or a
 *   seek: backwards or repeated (a rewind recorded as a seek, e.g. after an
 *   aborted transaction, is not one).
 * - reread-beyond-commit: a run's first read at b < e where e is the group's
 *   commit: it re-read what the group had already committed past.
 * - G1a (aborted read): a read_committed read of a message that the history
 *   says never took effect (its send failed definitively or its transaction
 *   aborted, and no committed or unknown transaction also carried it), or
 *   that the final log holds at the read's place behind an ABORT marker.
 * - unseen: only when weir_history_expect_all_read was called: acknowledged
 *   with must_survive, visible in the final log, and never read by anyone
 *   (messages nowhere in the log are lost-writes instead).
 * - torn-transaction: transaction T's messages (leaving out failed sends the
 *   final log does not hold) do not share one fate: T is committed or
 *   unknown and the final log makes some visible while another has no
 *   visible copy (missing, aborted or open); or the log contradicts T's
 *   outcome: T aborted but a message has a visible copy, or T committed but
 *   a message has a copy behind an ABORT marker, that no other transaction
 *   carrying the same message explains (a retry of an aborted message in a
 *   later transaction is no contradiction).
 *
 * Reads recorded with weir_history_read are unordered: they take part in
 * dirty-read, inconsistent-offsets and unseen, never in the poll checks
 * (poll-skip, nonmonotonic-poll, reread-beyond-commit) or G1a, because their
 * recorder promised no order or isolation level.
 *
 * Findings carry the ids, partitions and offsets, so a report can name them.
 * The checker is deterministic: no clock, randomness or files.
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

/* The first five keep their values (counts[] of older callers index them). */
typedef enum weir_finding_kind {
    WEIR_FINDING_LOST,                 /* "lost-write" */
    WEIR_FINDING_MOVED,                /* "moved" */
    WEIR_FINDING_DUPLICATED,           /* "duplicate" */
    WEIR_FINDING_REORDERED,            /* "reordered" */
    WEIR_FINDING_DIRTY_READ,           /* "dirty-read" */
    WEIR_FINDING_INCONSISTENT_OFFSETS, /* "inconsistent-offsets" */
    WEIR_FINDING_POLL_SKIP,            /* "poll-skip" */
    WEIR_FINDING_NONMONOTONIC_POLL,    /* "nonmonotonic-poll" */
    WEIR_FINDING_REREAD_BEYOND_COMMIT, /* "reread-beyond-commit" */
    WEIR_FINDING_ABORTED_READ,         /* "G1a" */
    WEIR_FINDING_UNSEEN,               /* "unseen" */
    WEIR_FINDING_TORN_TXN,             /* "torn-transaction" */
    WEIR_FINDING_KINDS_
} weir_finding_kind;

/* What a finding's fields hold, by kind (ids {-1, -1} and numbers -1 when unused):
 * - lost-write, moved: id, partition, offset as acknowledged; moved's
 *   other_offset is that offset again when another message holds it, else -1.
 * - duplicate: the later copy's place; other_offset the earlier copy's.
 * - reordered: the late message's place; other_offset the earlier,
 *   higher-sequence message's offset.
 * - dirty-read, G1a: the read's id and place; G1a: consumer, and txn the
 *   lowest aborted transaction that carried it (-1 if none).
 * - inconsistent-offsets: the place; id the final log's message there (or,
 *   with none, the lowest id observed), other_id the lowest other id.
 * - poll-skip, nonmonotonic-poll, reread-beyond-commit: the read's id and
 *   place, consumer; other_offset the expected offset e (the previous
 *   read's offset + 1, the seek's offset or the group's commit).
 * - unseen: the acknowledgement's id and place; other_offset the offset of
 *   its visible copy in the final log.
 * - torn-transaction: txn; id the message named (in id order: the first
 *   visible one when some are visible and others not, else the first whose
 *   copy contradicts the outcome) at its visible copy, else its aborted
 *   copy; other_id the first message whose visibility differs from id's
 *   ({-1,-1} if none), other_offset its first copy's offset or -1. */
typedef struct weir_finding {
    weir_finding_kind kind;
    weir_msg_id id;
    int32_t partition;
    int64_t offset;
    int64_t other_offset;
    weir_msg_id other_id;
    int32_t consumer;
    int64_t txn;
} weir_finding;

/* A final-log message's visibility, as the partition's markers decide it. */
typedef enum weir_hist_vis {
    WEIR_VIS_PLAIN,     /* non-transactional: visible to every consumer */
    WEIR_VIS_COMMITTED, /* transactional, followed by its COMMIT marker */
    WEIR_VIS_ABORTED,   /* transactional, followed by its ABORT marker */
    WEIR_VIS_OPEN,      /* transactional, no marker yet (at or above the LSO) */
} weir_hist_vis;

/* A transaction's outcome as its producer learned it. */
typedef enum weir_txn_outcome {
    WEIR_TXN_UNKNOWN, /* EndTxn timed out, the producer crashed, ... */
    WEIR_TXN_COMMITTED,
    WEIR_TXN_ABORTED,
} weir_txn_outcome;

/* weir_hist_read.consumer of reads recorded by weir_history_read. */
#define WEIR_HIST_UNORDERED (-1)

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
        uint8_t vis; /* weir_hist_vis */
        int64_t offset;
    } *log;
    size_t n_log, cap_log;
    /* consumer reads, in the order recorded */
    struct weir_hist_read {
        weir_msg_id id;
        int32_t partition;
        int32_t consumer; /* WEIR_HIST_UNORDERED, or >= 0 */
        int64_t offset;
        int32_t epoch;
        bool read_committed;
    } *reads;
    size_t n_reads, cap_reads;
    /* group commits, in the order acknowledged */
    struct weir_hist_commit {
        int32_t group;
        int32_t partition;
        int64_t offset;      /* the next offset to read */
        size_t reads_before; /* n_reads when recorded: it follows reads[0, reads_before) */
        size_t seq;          /* call order */
    } *commits;
    size_t n_commits, cap_commits;
    /* repositionings within an assignment (weir_history_seek) */
    struct weir_hist_seek {
        int32_t consumer, epoch, partition;
        int64_t offset;      /* the next offset to read */
        size_t reads_before; /* n_reads when recorded */
        size_t seq;          /* call order */
    } *seeks;
    size_t n_seeks, cap_seeks;
    /* consumer -> group */
    struct weir_hist_member {
        int32_t consumer;
        int32_t group;
        size_t seq; /* call order: a later call wins */
    } *members;
    size_t n_members, cap_members;
    /* transaction outcomes */
    struct weir_hist_txn {
        int64_t txn;
        weir_txn_outcome outcome;
        size_t seq; /* call order: a later call wins */
    } *txns;
    size_t n_txns, cap_txns;
    /* message -> transaction */
    struct weir_hist_in_txn {
        weir_msg_id id;
        int64_t txn;
    } *in_txn;
    size_t n_in_txn, cap_in_txn;
    /* sends that definitely failed */
    weir_msg_id *failed;
    size_t n_failed, cap_failed;
    bool expect_all_read; /* enables "unseen" */
} weir_history;

/* A message carries its id at the start of its value: "P<producer>:<seq>|".
 * Writes it at out (room for WEIR_MSG_ID_MAX bytes, no NUL) and returns its
 * length. */
#define WEIR_MSG_ID_MAX 40
size_t weir_msg_id_write(char *out, weir_msg_id id);
/* The id at the start of a value written by weir_msg_id_write; false if none. */
bool weir_msg_id_read(const uint8_t *v, size_t len, weir_msg_id *id);

void weir_history_init(weir_history *h);
/* Frees every array h owns and leaves h empty (initialised). */
void weir_history_free(weir_history *h);

/* The recorders below copy their arguments; none can fail (an allocation
 * failure is an assertion). They may be called in any order unless a
 * contract says otherwise. */

/* A producer was told id landed at (partition, offset). */
void weir_history_ack(weir_history *h, weir_msg_id id, int32_t partition, int64_t offset,
                      bool must_survive);
/* One non-transactional message of the final log (any order; the checker
 * sorts): weir_history_logged_vis with WEIR_VIS_PLAIN. */
void weir_history_logged(weir_history *h, weir_msg_id id, int32_t partition, int64_t offset);
/* One message of the final log with its visibility (see weir_hist_vis). */
void weir_history_logged_vis(weir_history *h, weir_msg_id id, int32_t partition, int64_t offset,
                             weir_hist_vis vis);
/* An unordered read (consumer WEIR_HIST_UNORDERED, read_uncommitted): held to
 * the final log, never to the poll checks. */
void weir_history_read(weir_history *h, weir_msg_id id, int32_t partition, int64_t offset);
/* A read by consumer (>= 0) in its assignment epoch (any value), recorded
 * in the order the consumer's application received the records. The epoch
 * names one continuous ownership of the partition: bump it whenever the
 * consumer's assignment changes (a rebalance; with cooperative rebalancing a
 * partition kept through it may keep its epoch); the first read of each
 * (consumer, epoch, partition) starts a new run, checked against the
 * group's last commit. A consumer that restarts (a new instance with the
 * same consumer id) must not reuse an epoch of its earlier life, or its
 * first reads are held to follow its last ones. read_committed: the
 * consumer's isolation level. */
void weir_history_poll(weir_history *h, int32_t consumer, int32_t epoch, weir_msg_id id,
                       int32_t partition, int64_t offset, bool read_committed);
/* Consumer repositioned itself on partition, inside assignment epoch, to
 * offset (the next offset to read): a rewind to the committed offsets after
 * an aborted transaction, a seek to the beginning, ... Record it when the
 * consumer seeks, before the reads that follow. The next read of (consumer,
 * epoch, partition) is then held to offset instead of following the
 * previous read (or, for a run's first read, the group's commit): earlier is
 * a nonmonotonic-poll, later over data a poll-skip. */
void weir_history_seek(weir_history *h, int32_t consumer, int32_t epoch, int32_t partition,
                       int64_t offset);
/* Consumer belongs to group (for reread-beyond-commit / poll-skip against
 * commits). A consumer never placed in a group is not held to commits. A
 * later call for the same consumer replaces an earlier one. */
void weir_history_consumer_group(weir_history *h, int32_t consumer, int32_t group);
/* Group committed offset (the next offset to read) for partition, recorded
 * when the commit was acknowledged: it applies to reads recorded after it. */
void weir_history_commit(weir_history *h, int32_t group, int32_t partition, int64_t offset);
/* The same for a commit whose acknowledgement came late: it takes its place
 * among the reads as of when it was sent (reads_before: h->n_reads then), so
 * a slow acknowledgement, held by a partition for instance, cannot land after
 * a later commit of the same partition and make a new owner's correct start
 * look like a poll-skip. */
void weir_history_commit_sent(weir_history *h, int32_t group, int32_t partition, int64_t offset,
                              size_t reads_before);
/* Transaction txn's (>= 0) outcome; a later call for the same txn replaces
 * an earlier one. A transaction never given an outcome is WEIR_TXN_UNKNOWN. */
void weir_history_txn(weir_history *h, int64_t txn, weir_txn_outcome outcome);
/* Message id was sent inside transaction txn (>= 0). An id may be sent in
 * several transactions: a retry, after an abort, of the same message. */
void weir_history_send_in_txn(weir_history *h, weir_msg_id id, int64_t txn);
/* Message id was definitely not written (rejected before the append, or its
 * transaction aborted before it reached a log). */
void weir_history_send_failed(weir_history *h, weir_msg_id id);
/* Every message acknowledged with must_survive and visible in the final log
 * must have been read by the end (turns on "unseen"). */
void weir_history_expect_all_read(weir_history *h);

typedef struct weir_history_report {
    size_t counts[WEIR_FINDING_KINDS_]; /* per weir_finding_kind */
    weir_finding *findings;             /* the first `max_findings` */
    size_t n_findings;
    size_t max_findings;
    size_t acked;
    size_t acked_must_survive;
    size_t logged;
    size_t reads;
} weir_history_report;

/* Checks everything; findings go to report (up to report->max_findings kept,
 * all counted), in this order of checks: duplicate, reordered, lost-write
 * and moved, dirty-read, inconsistent-offsets, unseen, G1a, the poll checks,
 * torn-transaction. Returns true if nothing was found. Sorts h's final log
 * (by id) and its commit, member, transaction and failed-send tables; keeps
 * the reads in their recorded order. May be called again. report->findings
 * is allocated here when NULL; free it with weir_history_report_free. */
bool weir_history_check(weir_history *h, weir_history_report *report);
void weir_history_report_free(weir_history_report *r);

/* The anomaly's name (Jepsen's where it has one), "?" for no kind. */
const char *weir_finding_name(weir_finding_kind k);

#endif
