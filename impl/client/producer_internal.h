/* The producer's internals, shared by producer.c (records, batches, Produce)
 * and producer_txn.c (producer ids, sequences' resets, transactions). Not
 * for use outside impl/client/producer*.c.
 *
 * Invariants (beyond producer.c's):
 * - p->idem is NULL exactly when the producer is not idempotent; then no
 *   batch carries a producer id and nothing here runs;
 * - idempotent: a partition has at most one batch in flight and at most one
 *   sealed batch (the head of its queue or the one in flight), so its next
 *   sequence is that batch's base sequence + record count;
 * - a partition's sequences belong to (seq_producer_id, seq_epoch): the first
 *   batch sealed under another id or epoch starts again at sequence 0.
 */
#ifndef WEIR_CLIENT_PRODUCER_INTERNAL_H
#define WEIR_CLIENT_PRODUCER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "client/cluster.h"
#include "client/producer.h"
#include "log/batch.h"

#define PR_MS 1000000LL
/* A log line that starts with the client id. */
#define PR_LOG(p, level, fmt, ...)                                                                 \
    weir_log((p)->env, (level), "%s: " fmt, weir_cluster_client_id((p)->cl), __VA_ARGS__)

typedef struct pr_topic pr_topic;
typedef struct pr_partition pr_partition;
typedef struct pr_idem pr_idem;

/* A record waiting for its topic's metadata. */
typedef struct pr_pending {
    struct pr_pending *next;
    int32_t partition; /* -1: the partitioner chooses */
    int32_t key_len;   /* -1: null */
    int32_t value_len; /* -1: null */
    int64_t timestamp;
    int64_t seq;
    int64_t created_ns;
    void *opaque;
    uint8_t data[]; /* key, then value */
} pr_pending;

typedef struct pr_batch {
    struct pr_batch *next;
    pr_topic *topic;
    pr_partition *part; /* NULL for a record that failed before it had one */
    int32_t partition;
    weir_batch_builder bb;
    uint8_t *bytes; /* set once sealed: the builder's buffer */
    size_t len;
    void **opaques;
    int32_t count;
    int32_t cap;
    int64_t first_seq;
    int64_t created_ns;
    int64_t last_attempt_ns;
    int32_t attempts; /* sends so far */
    bool sealed;      /* finished: no more records */
    bool full;        /* reached batch_size */
    /* idempotent: an attempt ended without knowing whether the leader
     * appended it (lost connection, timeout, NOT_ENOUGH_REPLICAS_AFTER_APPEND) */
    bool maybe_appended;
    int16_t error; /* the report, once done */
    int64_t base_offset;
    /* idempotent, set when sealed */
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
} pr_batch;

/* A partition's place in the open transaction. */
typedef enum pr_txn_part {
    PR_TXN_PART_NONE = 0, /* not in it */
    PR_TXN_PART_PENDING,  /* has records; AddPartitionsToTxn not sent yet */
    PR_TXN_PART_ADDING,   /* in the AddPartitionsToTxn in flight */
    PR_TXN_PART_ADDED,    /* the coordinator confirmed it: batches may go */
} pr_txn_part;

struct pr_partition {
    pr_topic *topic;
    int32_t index;
    pr_batch *head; /* queued, not in flight; retried batches first */
    pr_batch *tail;
    int32_t in_flight;
    /* idempotent */
    int64_t seq_producer_id; /* the id and epoch next_seq counts for */
    int16_t seq_epoch;
    int32_t next_seq;
    pr_txn_part txn;
};

struct pr_topic {
    char *name;
    int32_t partition_count; /* 0 until metadata names it */
    pr_partition **parts;
    uint32_t rr_counter; /* the null-key partitioner's counter */
    pr_pending *pending_head;
    pr_pending *pending_tail;
};

typedef struct pr_request {
    struct pr_request *prev;
    struct pr_request *next;
    weir_producer *p;
    int32_t node_id;
    int32_t batch_count;
    pr_batch *batches[];
} pr_request;

struct weir_producer {
    weir_env *env;
    weir_producer_config cfg;
    weir_producer_delivery_cb on_delivery;
    void *ctx;
    weir_cluster *cl;
    pr_topic **topics;
    size_t topic_count;
    size_t topic_cap;
    pr_request *requests; /* in flight, for freeing */
    pr_batch *reports;    /* done, not reported yet, in order */
    pr_batch *reports_tail;
    int64_t records_accepted;
    int64_t records_reported;
    int64_t flush_until_seq; /* records with seq below this do not linger */
    weir_timer *timer;
    int64_t timer_at_ns;
    size_t drain_cursor; /* rotates which partition leads a request */
    int32_t *avail;      /* scratch for the null-key partitioner */
    int32_t avail_cap;
    bool running;
    bool reporting; /* inside on_delivery or a transaction callback: free is not allowed */
    weir_producer_stats stats;
    /* idempotence (NULL when off) */
    pr_idem *idem;
    int64_t producer_id; /* -1 until InitProducerId answered */
    int16_t producer_epoch;
    int16_t fatal_error; /* fenced or otherwise unusable: every record fails with it */
};

/* ---- producer.c, for producer_txn.c ---- */

/* Runs the producer's loop at at_ns (or now), keeping an earlier pending run. */
void pr_arm(weir_producer *p, int64_t at_ns);

/* Moves b to the report list with its outcome (delivered at the end of the
 * current or next run). */
void pr_report(weir_producer *p, pr_batch *b, int16_t error, int64_t base_offset);

/* Reports every queued batch and every record waiting for metadata with
 * error; batches in flight are left to their answers. */
void pr_fail_queued(weir_producer *p, int16_t error);

/* ---- producer_txn.c, for producer.c ---- */

/* Creates p->idem from p->cfg (idempotence or a transactional id). Returns 0
 * or WEIR_E_NOMEM (*why set). */
int pr_idem_new(weir_producer *p, const char **why);
void pr_idem_free(weir_producer *p);

/* The transactional id for Produce requests, or NULL. */
const char *pr_idem_transactional_id(const weir_producer *p);

/* May b (the head of part) go now? Unsealed batches need a producer id
 * (and, in a transaction, their partition added); retries need a producer
 * that is not fatal nor aborting. */
bool pr_idem_may_send(weir_producer *p, pr_partition *part, const pr_batch *b);

/* An error to fail b with at once instead of retrying it (fatal, or the
 * transaction is being aborted), or 0. */
int16_t pr_idem_no_retry(const weir_producer *p);

/* Called by pr_report for every failed batch or record: rewinds or resets
 * sequences, makes a transaction abortable. */
void pr_idem_on_failure(weir_producer *p, pr_batch *b, int16_t error);

/* A record was queued on part: in a transaction the partition joins it. */
void pr_idem_partition_touch(weir_producer *p, pr_partition *part);

/* Fencing (INVALID_PRODUCER_EPOCH, PRODUCER_FENCED): the producer becomes
 * unusable, every queued record and transaction step fails with error. */
void pr_idem_fatal(weir_producer *p, int16_t error);

/* The idempotence and transaction steps, at the end of each run of the
 * producer's loop (after the reports): producer id requests, partitions to
 * add, offsets, ending transactions. */
void pr_idem_run(weir_producer *p);

/* May weir_producer_send accept a record now? 0, WEIR_E_INVAL (a
 * transactional producer outside a transaction), or 1 with *error_out set:
 * accept it and fail it at once with that error (fatal, abortable). */
int pr_idem_send_check(const weir_producer *p, int16_t *error_out);

#endif
