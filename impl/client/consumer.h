/* weir_consumer: weir's own Kafka consumer without groups, event-driven on
 * weir_env (consumer groups and committed offsets come with a later issue).
 *
 * The owner assigns (topic, partition) pairs and may seek each to an offset
 * or to the earliest / latest one (ListOffsets v3). The consumer fetches with
 * Fetch v11 from each partition's leader (Metadata v4), one Fetch in flight
 * per leader, and hands every record to on_record in offset order per
 * partition. Batches that start before the position (a fetch returns whole
 * batches) have their earlier records skipped; control batches are skipped;
 * records are read with weir_record_iter only, so compressed batches are
 * reported through on_error (UNSUPPORTED_COMPRESSION_TYPE) and skipped.
 *
 * Errors: OFFSET_OUT_OF_RANGE is reported through on_error, then the position
 * is reset per auto_offset_reset (earliest, latest; with none the partition
 * waits for a seek). NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION,
 * LEADER_NOT_AVAILABLE, KAFKA_STORAGE_ERROR, lost connections and timeouts
 * refresh metadata and try again after retry_backoff_ms; connections reopen
 * with the cluster layer's backoff. A batch failing its CRC is reported
 * (CORRUPT_MESSAGE) and fetched again after the backoff.
 *
 * Kafka settings and their fields:
 *   bootstrap.servers -> bootstrap           client.id -> client_id
 *   fetch.max.wait.ms -> fetch_wait_ms_max (500)
 *   fetch.min.bytes -> fetch_bytes_min (1)   fetch.max.bytes -> fetch_bytes_max (52428800)
 *   max.partition.fetch.bytes -> partition_fetch_bytes_max (1048576)
 *   auto.offset.reset -> auto_offset_reset (latest)
 *   request.timeout.ms -> request_timeout_ms (30000)
 *   retry.backoff.ms -> retry_backoff_ms (100)
 *   metadata.max.age.ms -> metadata_max_age_ms (300000)
 *   allow.auto.create.topics -> allow_auto_create_topics (true)
 *
 * Callbacks run from env events only, never from inside a weir_consumer_*
 * call. Inside on_record the owner may call weir_consumer_seek and
 * weir_consumer_position, but not assign or free.
 */
#ifndef WEIR_CLIENT_CONSUMER_H
#define WEIR_CLIENT_CONSUMER_H

#include <stdbool.h>
#include <stdint.h>

#include "env/env.h"

/* Kafka's UNSUPPORTED_COMPRESSION_TYPE: a compressed batch (not read yet). */
#define WEIR_CONSUMER_ERR_UNSUPPORTED_COMPRESSION 76

typedef struct weir_consumer weir_consumer;

typedef enum weir_offset_reset {
    WEIR_OFFSET_RESET_LATEST = 0,
    WEIR_OFFSET_RESET_EARLIEST,
    WEIR_OFFSET_RESET_NONE,
} weir_offset_reset;

typedef struct weir_topic_partition {
    const char *topic;
    int32_t partition;
} weir_topic_partition;

/* One record; every pointer is valid during the callback only. */
typedef struct weir_consumer_record {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int64_t timestamp;  /* CreateTime, or LogAppendTime when the batch says so */
    const uint8_t *key; /* NULL when null */
    int32_t key_len;    /* -1 when null */
    const uint8_t *value;
    int32_t value_len;
    int32_t header_count;
} weir_consumer_record;

typedef struct weir_consumer_callbacks {
    void (*on_record)(void *ctx, const weir_consumer_record *rec); /* required */
    /* A partition-level problem: a Kafka error code and the offset it is about
     * (-1 when none): OFFSET_OUT_OF_RANGE (before the reset), CORRUPT_MESSAGE,
     * UNSUPPORTED_COMPRESSION_TYPE, and any non-retriable fetch or ListOffsets
     * error. May be NULL. */
    void (*on_error)(void *ctx, const char *topic, int32_t partition, int16_t error,
                     int64_t offset);
    void *ctx;
} weir_consumer_callbacks;

typedef struct weir_consumer_config {
    const char *bootstrap; /* copied */
    const char *client_id; /* copied; NULL gives "weir-consumer" */
    int32_t fetch_wait_ms_max;
    int32_t fetch_bytes_min;
    int32_t fetch_bytes_max;
    int32_t partition_fetch_bytes_max;
    weir_offset_reset auto_offset_reset;
    int32_t request_timeout_ms;
    int32_t retry_backoff_ms;
    int32_t metadata_max_age_ms;
    bool allow_auto_create_topics;
} weir_consumer_config;

void weir_consumer_config_default(weir_consumer_config *cfg);

/* Creates a consumer on env (which must outlive it) with nothing assigned.
 * NULL on a bad config or out of memory, with *why a static reason. */
weir_consumer *weir_consumer_new(weir_env *env, const weir_consumer_config *cfg,
                                 const weir_consumer_callbacks *cbs, const char **why);

/* Replaces the assignment with count pairs (copied; duplicates ignored).
 * Partitions with no position yet get one from auto_offset_reset unless
 * weir_consumer_seek gives one first. Returns 0, WEIR_E_INVAL (bad pair, or
 * called from inside on_record) or WEIR_E_NOMEM (the old assignment stays). */
WEIR_MUST_CHECK int weir_consumer_assign(weir_consumer *c, const weir_topic_partition *tps,
                                         int32_t count);

/* Sets the next offset to read: offset >= 0, or WEIR_LOG_TS_EARLIEST (-2) /
 * WEIR_LOG_TS_LATEST (-1) (looked up with ListOffsets). Records of a fetch
 * already in flight are discarded. Returns 0, WEIR_E_NOENT (not assigned) or
 * WEIR_E_INVAL. */
WEIR_MUST_CHECK int weir_consumer_seek(weir_consumer *c, const char *topic, int32_t partition,
                                       int64_t offset);

/* The next offset on_record will see: 0 and *offset_out, WEIR_E_AGAIN while
 * the position is being looked up (or waits for a seek), WEIR_E_NOENT when not
 * assigned. */
WEIR_MUST_CHECK int weir_consumer_position(weir_consumer *c, const char *topic, int32_t partition,
                                           int64_t *offset_out);

/* The high watermark the last fetch of the partition saw (-1 before any):
 * position == high watermark means caught up. Same returns as position. */
WEIR_MUST_CHECK int weir_consumer_high_watermark(weir_consumer *c, const char *topic,
                                                 int32_t partition, int64_t *offset_out);

/* Closes connections and cancels timers; needs a live env; not from inside a
 * callback. */
void weir_consumer_free(weir_consumer *c);

/* Frees memory only (a node's destroy after a crash or at the end of a run). */
void weir_consumer_abandon(weir_consumer *c);

#endif
