/* weir_producer: weir's own Kafka producer, event-driven on weir_env.
 *
 * Records are queued per partition into v2 record batches (weir_batch_builder,
 * no compression; a producer id only with idempotence) and sent as Produce v7
 * to each partition's leader, learnt from Metadata v4. A batch goes when it
 * is full (batch_size bytes, or a later batch exists), when it has waited
 * linger_ms, or on weir_producer_flush; one Produce request per leader
 * carries at most one batch per partition, with at most in_flight_max
 * requests per connection (and, with idempotence, at most one batch per
 * partition in flight).
 *
 * Errors: retriable ones (NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE,
 * UNKNOWN_TOPIC_OR_PARTITION, REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS,
 * NOT_ENOUGH_REPLICAS_AFTER_APPEND, KAFKA_STORAGE_ERROR, a lost connection, a
 * request timeout) put the batch back at the head of its partition's queue to
 * go again after retry_backoff_ms; the leader errors and lost connections also
 * refresh metadata. A batch fails when `retries` attempts are spent or when
 * delivery_timeout_ms has passed since it was created; other errors fail it
 * at once. Without idempotence a retry can append a batch twice (the first
 * attempt may have been appended before its answer was lost), and with
 * in_flight_max > 1 a retried batch can land after a later one, as in Kafka.
 *
 * Every record gets exactly one delivery report through on_delivery: its
 * offset and WEIR_KERR_NONE, or offset -1 and the Kafka error code (network
 * failures as WEIR_PRODUCER_ERR_NETWORK, Kafka's NETWORK_EXCEPTION; expiry as
 * REQUEST_TIMED_OUT). With acks=0 the report comes once the request is handed
 * to the connection, with offset -1, as does a DUPLICATE_SEQUENCE_NUMBER
 * answer that carries no offset (the librdkafka mock's). Reports run from env
 * events only, never from inside weir_producer_send; per partition they come
 * in batch order.
 *
 * Kafka settings and their fields:
 *   bootstrap.servers -> bootstrap            client.id -> client_id
 *   acks -> acks (-1 = all, 0, 1)             linger.ms -> linger_ms (5)
 *   batch.size -> batch_size (16384 bytes)    max.request.size -> request_size_max (1048576)
 *   max.in.flight.requests.per.connection -> in_flight_max (5)
 *   retries -> retries (INT32_MAX)            retry.backoff.ms -> retry_backoff_ms (100)
 *   request.timeout.ms -> request_timeout_ms (30000)
 *   delivery.timeout.ms -> delivery_timeout_ms (120000)
 *   metadata.max.age.ms -> metadata_max_age_ms (300000)
 *   enable.idempotence -> enable_idempotence (false)
 *   transactional.id -> transactional_id (NULL; implies idempotence)
 *   transaction.timeout.ms -> transaction_timeout_ms (60000)
 *   (weir only) transaction_epoch_bump (true): EndTxn v5, see below
 *
 * Idempotence (KIP-98): the producer gets a producer id and epoch with
 * InitProducerId v1 (no transactional id, asked of the leader its first batch
 * goes to) and numbers its batches per partition (base sequence = the
 * previous batch's + its record count, wrapping from INT32_MAX to 0, starting
 * at 0 under each new id or epoch). A retried batch is resent byte for byte
 * with the same sequence, so the broker appends it at most once and answers a
 * duplicate with its original offsets; DUPLICATE_SEQUENCE_NUMBER counts as
 * success. At most one batch per partition is in flight, so sequences reach
 * the leader in order whatever the retries. Idempotence needs acks=all
 * (weir_producer_new refuses another acks level). When a batch fails:
 * - after answers that say the leader did not append it (any error but the
 *   ones below), the partition's next batch takes its sequence;
 * - after OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID, or when it
 *   expires or runs out of retries after an attempt whose outcome is unknown
 *   (lost connection, timeout, NOT_ENOUGH_REPLICAS_AFTER_APPEND,
 *   KAFKA_STORAGE_ERROR), the partition's sequence is unknown: the batch is
 *   reported with its error and the producer gets a new producer id (a
 *   transactional one: its transaction must be aborted, see below);
 * - INVALID_PRODUCER_EPOCH and PRODUCER_FENCED make the producer fatal:
 *   every queued record, and every record sent afterwards, is reported with
 *   that error; batches in flight still report their own answers.
 *
 * Transactions (KIP-98): with a transactional_id, weir_producer_init_transactions
 * finds the transaction coordinator (FindCoordinator key type 1) and gets the
 * producer id and epoch (InitProducerId v1, fencing older instances); sends
 * are only allowed between weir_producer_begin_transaction and commit/abort
 * (WEIR_E_INVAL otherwise); the first record to a partition adds it to the
 * transaction (AddPartitionsToTxn v1, one request for every partition new
 * since the previous one) before its batch goes, and every batch carries the
 * transactional bit; weir_producer_send_offsets_to_transaction adds a group's
 * offsets (AddOffsetsToTxn v1, then TxnOffsetCommit v2 to the group's
 * coordinator); commit flushes, waits for every report and sends
 * EndTxn(commit). Coordinator answers NOT_COORDINATOR and
 * COORDINATOR_NOT_AVAILABLE (and lost connections) look the coordinator up
 * again; COORDINATOR_LOAD_IN_PROGRESS, CONCURRENT_TRANSACTIONS and
 * REQUEST_TIMED_OUT retry after retry_backoff_ms (a transaction's first
 * AddPartitionsToTxn after 20 ms at most on CONCURRENT_TRANSACTIONS, while
 * the previous one completes, as Kafka's producer); INVALID_PRODUCER_EPOCH and
 * PRODUCER_FENCED are fatal; so is any EndTxn error (INVALID_TXN_STATE...),
 * as in Kafka's producer. If a record or a step of the transaction fails, the
 * transaction becomes abortable: its queued records are reported with that
 * error, later sends too, commit reports it, and only abort is allowed. A
 * transaction that never reached the coordinator (no partition added, no
 * offsets) ends without EndTxn. The transaction timeout is the coordinator's.
 * With transaction_epoch_bump (KIP-890 "transaction version 2") and a
 * coordinator whose ApiVersions (asked once, at init) include EndTxn v5 (a
 * stand-in for Kafka 4's finalized feature transaction.version >= 2), the
 * producer ends transactions with EndTxn v5 and takes the new epoch from its
 * answer, so a delayed request of an earlier transaction is fenced instead
 * of joining the next one; each partition's sequences restart at 0. Without
 * it (EndTxn v1) the epoch stays, except after an abort whose sequences are
 * unknown (see above), which asks InitProducerId again for a new epoch.
 *
 * Determinism: all timing comes from the env clock and timers, the null-key
 * partitioner's start from weir_random, and every iteration is in array
 * order, so a simulated run replays exactly.
 */
#ifndef WEIR_CLIENT_PRODUCER_H
#define WEIR_CLIENT_PRODUCER_H

#include <stdbool.h>
#include <stdint.h>

#include "env/env.h"

/* Kafka's NETWORK_EXCEPTION: the connection failed with the request in it. */
#define WEIR_PRODUCER_ERR_NETWORK 13

typedef struct weir_producer weir_producer;

/* One record's report: offset >= 0 with error 0 (WEIR_KERR_NONE), else
 * offset -1 and a Kafka error code. topic is valid during the call only;
 * partition is -1 when the record failed before one was chosen. */
typedef void (*weir_producer_delivery_cb)(void *ctx, const char *topic, int32_t partition,
                                          int64_t offset, int16_t error, void *opaque);

typedef struct weir_producer_config {
    const char *bootstrap; /* "host:port[,host:port]..." (copied) */
    const char *client_id; /* copied; NULL gives "weir-producer" */
    int16_t acks;
    int32_t linger_ms;
    int32_t batch_size;
    int32_t request_size_max;
    int32_t in_flight_max;
    int32_t retries;
    int32_t retry_backoff_ms;
    int32_t request_timeout_ms;
    int32_t delivery_timeout_ms;
    int32_t metadata_max_age_ms;
    bool enable_idempotence;
    const char *transactional_id; /* copied; NULL: not transactional */
    int32_t transaction_timeout_ms;
    bool transaction_epoch_bump; /* EndTxn v5 epoch bump per transaction (true) */
    /* Optional: every error a Produce attempt met, retried or not, for
     * observers (scenario oracles); error is a Kafka code. */
    void (*on_attempt_error)(void *ctx, const char *topic, int32_t partition, int16_t error);
} weir_producer_config;

typedef struct weir_producer_stats {
    int64_t records_acked;  /* reported with error 0 */
    int64_t records_failed; /* reported with an error */
    int64_t requests_sent;  /* Produce requests */
    int64_t batches_sent;   /* batch sends, first attempts and retries */
    int64_t batches_retried;
    int64_t requests_in_flight; /* now: sent, not answered yet */
} weir_producer_stats;

/* Kafka's defaults (listed above); bootstrap NULL. */
void weir_producer_config_default(weir_producer_config *cfg);

/* Creates a producer on env (which must outlive it); nothing is sent until
 * the first record (or weir_producer_init_transactions). on_delivery
 * (required) gets ctx. Returns NULL on a bad config (idempotence without
 * acks=-1, an empty transactional id, ...) or out of memory, with *why (if
 * why is not NULL) a static reason. */
weir_producer *weir_producer_new(weir_env *env, const weir_producer_config *cfg,
                                 weir_producer_delivery_cb on_delivery, void *ctx,
                                 const char **why);

/* Queues one record; copies topic, key and value. partition -1 lets the
 * partitioner choose (see partitioner.h); key NULL is a null key (key_len
 * ignored), value NULL a null value (a tombstone). timestamp is the record's
 * CreateTime in ms; < 0 takes weir_wall_ms. opaque comes back in the report.
 * Returns 0 (exactly one report will follow; for a fatal producer or an
 * abortable transaction it is that error), WEIR_E_INVAL (no topic, a
 * partition below -1, a negative length; a transactional producer outside a
 * transaction) or WEIR_E_NOMEM; no report follows an error. May be called
 * from inside on_delivery. */
WEIR_MUST_CHECK int weir_producer_send(weir_producer *p, const char *topic, int32_t partition,
                                       const void *key, int32_t key_len, const void *value,
                                       int32_t value_len, int64_t timestamp, void *opaque);

/* Makes every record queued so far sendable now (no more lingering). Watch
 * weir_producer_in_flight to know when they have all been reported. */
void weir_producer_flush(weir_producer *p);

/* Records accepted by weir_producer_send and not reported yet: 0 means
 * everything queued has completed. */
int64_t weir_producer_in_flight(const weir_producer *p);

void weir_producer_stats_get(const weir_producer *p, weir_producer_stats *out);

/* ---- transactions (transactional_id set) ---- */

/* The outcome of an asynchronous transaction step: error WEIR_KERR_NONE or a
 * Kafka error code (PRODUCER_FENCED / INVALID_PRODUCER_EPOCH: this instance
 * was fenced and can only be freed; others per step). Runs from an env event,
 * never from inside a weir_producer_* call; it may call the transaction
 * functions (begin the next transaction, abort after a failed commit) but not
 * weir_producer_free. */
typedef void (*weir_producer_txn_cb)(void *ctx, int16_t error);

/* One partition's offset for weir_producer_send_offsets_to_transaction. */
typedef struct weir_partition_offset {
    const char *topic;
    int32_t partition;
    int64_t offset; /* the next offset the group will read */
} weir_partition_offset;

/* The consumer group the offsets belong to (weir_consumer_group_metadata). */
typedef struct weir_group_metadata {
    const char *group_id;
    int32_t generation_id; /* -1 when unknown */
    const char *member_id; /* "" when unknown */
} weir_group_metadata;

/* Finds the coordinator and gets the producer id/epoch; cb once: NONE, a
 * final InitProducerId error (INVALID_TRANSACTION_TIMEOUT...; init may be
 * called again), or REQUEST_TIMED_OUT when retriable failures went on past
 * delivery_timeout_ms. WEIR_E_INVAL when not transactional or already
 * initialised (or in progress). */
WEIR_MUST_CHECK int weir_producer_init_transactions(weir_producer *p, weir_producer_txn_cb cb,
                                                    void *ctx);
/* Starts a transaction (local only). WEIR_E_INVAL when not initialised, one
 * is open or one is ending. */
WEIR_MUST_CHECK int weir_producer_begin_transaction(weir_producer *p);
/* Adds the group's offsets (copied) to the open transaction; cb once, after
 * TxnOffsetCommit answered (an error makes the transaction abortable).
 * TxnOffsetCommit v2 carries no generation or member id: group's
 * generation_id and member_id are not sent. WEIR_E_INVAL outside a
 * transaction (an abortable or fatal one is accepted: cb gets its error). */
WEIR_MUST_CHECK int weir_producer_send_offsets_to_transaction(weir_producer *p,
                                                              const weir_partition_offset *offsets,
                                                              int32_t count,
                                                              const weir_group_metadata *group,
                                                              weir_producer_txn_cb cb, void *ctx);
/* Flushes, waits for every report of the transaction, then EndTxn(commit);
 * cb once: NONE when committed, else the error (the transaction then needs
 * weir_producer_abort_transaction; fencing errors leave only free).
 * WEIR_E_INVAL outside a transaction or while another step is pending. */
WEIR_MUST_CHECK int weir_producer_commit_transaction(weir_producer *p, weir_producer_txn_cb cb,
                                                     void *ctx);
/* Drops queued records of the transaction (reported with the error that made
 * it abortable, else TRANSACTION_ABORTABLE), waits for those in flight (a
 * retriable failure is then final), then EndTxn(abort); cb once. WEIR_E_INVAL
 * outside a transaction or while another step is pending. */
WEIR_MUST_CHECK int weir_producer_abort_transaction(weir_producer *p, weir_producer_txn_cb cb,
                                                    void *ctx);
/* The producer id and epoch in use (-1 / -1 before InitProducerId or when
 * not idempotent). */
void weir_producer_id(const weir_producer *p, int64_t *producer_id_out, int16_t *epoch_out);

/* Frees the producer: closes its connections and cancels its timers; records
 * not reported yet are dropped without a report. Needs a live env; not from
 * inside on_delivery. */
void weir_producer_free(weir_producer *p);

/* Frees memory only, without calling the env: for a node's destroy after a
 * crash or at the end of a run. */
void weir_producer_abandon(weir_producer *p);

#endif
