/* weir_producer: weir's own Kafka producer, event-driven on weir_env.
 *
 * Records are queued per partition into v2 record batches (weir_batch_builder,
 * no compression, no producer id) and sent as Produce v7 to each partition's
 * leader, learnt from Metadata v4. A batch goes when it is full (batch_size
 * bytes, or a later batch exists), when it has waited linger_ms, or on
 * weir_producer_flush; one Produce request per leader carries at most one
 * batch per partition, with at most in_flight_max requests per connection.
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
 * to the connection, with offset -1. Reports run from env events only, never
 * from inside weir_producer_send; per partition they come in batch order.
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
 * the first record. on_delivery (required) gets ctx. Returns NULL on a bad
 * config or out of memory, with *why (if why is not NULL) a static reason. */
weir_producer *weir_producer_new(weir_env *env, const weir_producer_config *cfg,
                                 weir_producer_delivery_cb on_delivery, void *ctx,
                                 const char **why);

/* Queues one record; copies topic, key and value. partition -1 lets the
 * partitioner choose (see partitioner.h); key NULL is a null key (key_len
 * ignored), value NULL a null value (a tombstone). timestamp is the record's
 * CreateTime in ms; < 0 takes weir_wall_ms. opaque comes back in the report.
 * Returns 0 (exactly one report will follow), WEIR_E_INVAL (no topic, a
 * partition below -1, a negative length) or WEIR_E_NOMEM; no report follows
 * an error. May be called from inside on_delivery. */
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

/* Frees the producer: closes its connections and cancels its timers; records
 * not reported yet are dropped without a report. Needs a live env; not from
 * inside on_delivery. */
void weir_producer_free(weir_producer *p);

/* Frees memory only, without calling the env: for a node's destroy after a
 * crash or at the end of a run. */
void weir_producer_abandon(weir_producer *p);

#endif
