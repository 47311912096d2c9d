/* weir_consumer: weir's own Kafka consumer, event-driven on weir_env, with
 * manual assignment or a consumer group.
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
 *   isolation.level -> read_committed (false: read_uncommitted)
 *   group.id -> group_id (NULL: no group)
 *   session.timeout.ms -> session_timeout_ms (45000)
 *   heartbeat.interval.ms -> heartbeat_interval_ms (3000)
 *   max.poll.interval.ms -> rebalance_timeout_ms (300000)
 *   enable.auto.commit -> enable_auto_commit (true)
 *   auto.commit.interval.ms -> auto_commit_interval_ms (5000)
 *   partition.assignment.strategy -> assignor ("range" or "roundrobin"; "range")
 *
 * read_committed: Fetch and ListOffsets ask for isolation level 1, so the
 * broker returns data up to the last stable offset (LSO) with the aborted
 * transactions (producer id, first offset) it holds, and "latest" means the
 * LSO. A transactional batch is skipped when its producer has an aborted
 * transaction starting at or before the batch's last offset that no ABORT
 * marker of that producer has closed yet in this response (Kafka's Fetcher
 * rule); control batches are never delivered; positions move past skipped
 * offsets.
 *
 * Groups (Kafka's classic, eager protocol, "consumer" protocol type): with
 * group_id set, weir_consumer_subscribe joins the group: FindCoordinator,
 * JoinGroup (v5, capped by weir_api_table; MEMBER_ID_REQUIRED is answered by
 * joining again with the id given), SyncGroup (the leader decodes the
 * members' subscriptions, learns partition counts from metadata and runs the
 * assignor), OffsetFetch for the assigned partitions: each starts at the
 * group's committed offset, or per auto_offset_reset when there is none; then
 * the assignment epoch bumps and on_assign runs. While it holds a generation
 * the member heartbeats every heartbeat_interval_ms (and never otherwise) and
 * commits every auto_commit_interval_ms when enable_auto_commit (only
 * partitions whose position moved). REBALANCE_IN_PROGRESS makes it rejoin;
 * ILLEGAL_GENERATION and UNKNOWN_MEMBER_ID make it rejoin with a new member
 * id; NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, timeouts and lost
 * connections make it look the coordinator up again (keeping its
 * assignment). Before a rejoin it stops fetching every partition, commits
 * their positions (enable_auto_commit, and only when the generation is still
 * valid), then calls on_revoke with all of them. Partition count changes of
 * subscribed topics do not start a rebalance (Kafka's leader would).
 *
 * Pause (Kafka's KafkaConsumer.pause / resume): a paused partition is left
 * out of every Fetch and gets no on_record; it keeps its assignment, its
 * position (so commits carry it unchanged), its ListOffsets lookups and its
 * seeks, while heartbeats and the other partitions go on. Records fetched
 * for it but not delivered (a Fetch in flight at the pause, or the rest of
 * a response when the owner pauses from on_record: delivery of that
 * partition stops right after the call) are kept, at most one response's
 * worth per partition, and delivered first after resume, from the next env
 * event, before the partition fetches again: nothing is fetched twice. A
 * seek drops them. Pause state belongs to the assignment, as in Kafka: a
 * manual assign keeps it for partitions it keeps, a group rebalance (which
 * revokes every partition: the protocol is eager) forgets it.
 *
 * Callbacks run from env events only, never from inside a weir_consumer_*
 * call. Inside on_record the owner may call weir_consumer_seek,
 * weir_consumer_position, weir_consumer_pause, weir_consumer_resume,
 * weir_consumer_commit and weir_consumer_close, but not assign, subscribe
 * or free.
 */
#ifndef WEIR_CLIENT_CONSUMER_H
#define WEIR_CLIENT_CONSUMER_H

#include <stdbool.h>
#include <stdint.h>

#include "env/env.h"

/* Kafka's UNSUPPORTED_COMPRESSION_TYPE: a compressed batch (not read yet). */
#define WEIR_CONSUMER_ERR_UNSUPPORTED_COMPRESSION 76
/* Kafka's NETWORK_EXCEPTION: a commit's connection went away. */
#define WEIR_CONSUMER_ERR_NETWORK 13

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
     * UNSUPPORTED_COMPRESSION_TYPE, and any non-retriable fetch, ListOffsets
     * or OffsetFetch error. A group-level one has topic NULL and partition -1:
     * a fatal JoinGroup error (INCONSISTENT_GROUP_PROTOCOL,
     * INVALID_SESSION_TIMEOUT, INVALID_GROUP_ID, GROUP_AUTHORIZATION_FAILED,
     * GROUP_MAX_SIZE_REACHED, ...), after which the member waits for a new
     * weir_consumer_subscribe. May be NULL. */
    void (*on_error)(void *ctx, const char *topic, int32_t partition, int16_t error,
                     int64_t offset);
    void *ctx;
    /* Groups: the partitions given up / received, around a rebalance. May be
     * NULL. The array is valid during the call only. (After ctx, so that the
     * positional {on_record, on_error, ctx} initializers stay right.) */
    void (*on_revoke)(void *ctx, const weir_topic_partition *tps, int32_t count);
    void (*on_assign)(void *ctx, const weir_topic_partition *tps, int32_t count);
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
    bool read_committed;
    const char *group_id; /* copied */
    int32_t session_timeout_ms;
    int32_t heartbeat_interval_ms;
    int32_t rebalance_timeout_ms;
    bool enable_auto_commit;
    int32_t auto_commit_interval_ms;
    const char *assignor; /* copied; "range" or "roundrobin" */
} weir_consumer_config;

void weir_consumer_config_default(weir_consumer_config *cfg);

/* Creates a consumer on env (which must outlive it) with nothing assigned.
 * NULL on a bad config or out of memory, with *why a static reason. */
weir_consumer *weir_consumer_new(weir_env *env, const weir_consumer_config *cfg,
                                 const weir_consumer_callbacks *cbs, const char **why);

/* Replaces the assignment with count pairs (copied; duplicates ignored) and
 * bumps the assignment epoch. Partitions with no position yet get one from
 * auto_offset_reset unless weir_consumer_seek gives one first. Returns 0,
 * WEIR_E_INVAL (bad pair, called from inside a callback, after
 * weir_consumer_subscribe or weir_consumer_close) or WEIR_E_NOMEM (the old
 * assignment stays). */
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

/* The high watermark the last fetch of the partition saw (-1 before any),
 * or with read_committed its last stable offset: position == this offset
 * means caught up. Same returns as position. */
WEIR_MUST_CHECK int weir_consumer_high_watermark(weir_consumer *c, const char *topic,
                                                 int32_t partition, int64_t *offset_out);

/* Pauses count assigned partitions (see the file comment): no Fetch covers
 * them from now on and no record of theirs reaches on_record after this
 * returns; a Fetch in flight keeps their records for after resume. Pausing a
 * paused partition changes nothing. Returns 0, WEIR_E_NOENT (one is not
 * assigned: nothing changed) or WEIR_E_INVAL. May be called from callbacks. */
WEIR_MUST_CHECK int weir_consumer_pause(weir_consumer *c, const weir_topic_partition *tps,
                                        int32_t count);

/* Resumes count assigned partitions: from the next env event they deliver
 * the records they kept, then fetch again at their position (once no Fetch
 * to their leader is in flight: one per leader). Resuming one that is not
 * paused changes nothing. Same returns as pause. */
WEIR_MUST_CHECK int weir_consumer_resume(weir_consumer *c, const weir_topic_partition *tps,
                                         int32_t count);

/* True when the partition is assigned and paused. */
bool weir_consumer_paused(const weir_consumer *c, const char *topic, int32_t partition);

/* Fetch requests sent since the consumer was created (a statistic). */
uint64_t weir_consumer_fetch_count(const weir_consumer *c);

/* ---- groups (group_id set) ---- */

/* Joins the group for these topics (copied; duplicates ignored); replaces
 * an earlier subscription (a rebalance: revoke, then join again). From then
 * on the group decides the assignment: weir_consumer_assign is refused.
 * Returns 0, WEIR_E_INVAL (no group_id, an empty or NULL name, a manual
 * assignment in place, after close, or from inside a callback) or
 * WEIR_E_NOMEM. */
WEIR_MUST_CHECK int weir_consumer_subscribe(weir_consumer *c, const char *const *topics,
                                            int32_t count);

/* The outcome of a commit: error WEIR_KERR_NONE, or the first partition's
 * Kafka error (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, REBALANCE_IN_PROGRESS,
 * NOT_COORDINATOR, ...), COORDINATOR_NOT_AVAILABLE when no coordinator is
 * known at the call, UNKNOWN_MEMBER_ID when the member holds no generation,
 * REQUEST_TIMED_OUT (7) or WEIR_CONSUMER_ERR_NETWORK (13) when the request
 * timed out or its connection went away. From an env event. */
typedef void (*weir_consumer_commit_cb)(void *ctx, int16_t error);

/* Commits the current positions of every assigned partition that has one
 * (OffsetCommit v7 or the highest weir speaks, with this member's generation
 * and member id); cb once, later (may be NULL; with nothing to commit it gets
 * WEIR_KERR_NONE). May be called from callbacks (on_revoke: the positions
 * are still there). Returns 0 (cb will run), WEIR_E_INVAL without a group,
 * before the first assignment or after close, or WEIR_E_NOMEM. */
WEIR_MUST_CHECK int weir_consumer_commit(weir_consumer *c, weir_consumer_commit_cb cb, void *ctx);

/* The current assignment, manual or from the group (valid until the next
 * callback or call); count 0 before the first and between a revoke and the
 * next assignment. */
void weir_consumer_assignment(const weir_consumer *c, const weir_topic_partition **tps_out,
                              int32_t *count_out);
/* Bumps with every new assignment: each weir_consumer_assign, each group
 * assignment (just before on_assign). 0 before the first. */
int64_t weir_consumer_assignment_epoch(const weir_consumer *c);
/* The group, generation and member id for transactional offset commits; the
 * strings live until the next callback or call. Without a group: NULL, -1,
 * NULL; before the first join: generation -1 and member id "". */
void weir_consumer_group_metadata(const weir_consumer *c, const char **group_id_out,
                                  int32_t *generation_out, const char **member_id_out);

/* Stops fetching at once (no on_record after it returns) and leaves the group
 * from later env events: commits the positions (when enable_auto_commit),
 * calls on_revoke, sends LeaveGroup; weir_consumer_closed turns true when
 * that is over (at once without a group). The consumer stays allocated: free
 * it afterwards (a free before closed drops what is in flight; a plain free
 * without close just stops heartbeating, and the coordinator evicts the
 * member after session_timeout_ms). May be called from callbacks. */
void weir_consumer_close(weir_consumer *c);
bool weir_consumer_closed(const weir_consumer *c);

/* Closes connections and cancels timers; needs a live env; not from inside a
 * callback. */
void weir_consumer_free(weir_consumer *c);

/* Frees memory only (a node's destroy after a crash or at the end of a run). */
void weir_consumer_abandon(weir_consumer *c);

#endif
