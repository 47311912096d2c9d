/* Coordinator plumbing shared by the group coordinator (group*.c) and the
 * transaction coordinator: deferred replies, the internal topics
 * (__consumer_offsets, __transaction_state), FindCoordinator, loading a
 * coordinator partition's state when this broker becomes its leader and
 * dropping it when leadership goes, and appends to an internal partition
 * that call back once the high watermark passes them.
 *
 * Everything here runs on the broker's event loop (handlers, timers); none of
 * it blocks. Invariants:
 *   - a parked request (bk_reply) is answered exactly once, or freed on the
 *     stop/crash paths; its connection handles nothing behind it until then;
 *   - a coordinator partition serves (bk_coord_status == NONE) only while this
 *     broker leads it in the leader epoch its state was loaded for, so state
 *     from an older leadership never answers a request;
 *   - an internal append's callback runs exactly once, from a timer, never
 *     from inside the call that appended (except: never after a crash).
 */
#ifndef WEIR_BROKER_COORD_H
#define WEIR_BROKER_COORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/broker_internal.h"
#include "log/batch.h"

#define BK_OFFSETS_TOPIC "__consumer_offsets"
#define BK_TXN_STATE_TOPIC "__transaction_state"

/* ---- deferred replies (implemented in broker.c, next to the connections) ---- */

typedef struct bk_reply bk_reply;

/* Parks the request being handled on c: the handler then sets *parked = true
 * and returns 0, so nothing is sent now and the connection handles no further
 * request until the token is answered. The caller owns the token and must
 * pass it to bk_reply_send (or, on stop/crash paths only, bk_reply_free).
 * NULL when out of memory (the handler returns WEIR_E_NOMEM). At most one per
 * connection: asserts that nothing else is parked on c. */
bk_reply *bk_reply_park(bk_conn *c, const weir_request_header *h);

/* Writes a response body for `version` into w. Arrays it needs may come from
 * `a` (reset before each reply). Returns 0 or a WEIR_E_* (the connection is
 * then closed, as for any encoder failure). */
typedef int (*bk_reply_encode_fn)(weir_wr *w, weir_arena *a, int16_t version, void *arg);

/* Answers and frees the token (always takes it). While its connection is
 * open: writes the response header and encode()'s body into a writer of its
 * own (so it may run inside another request's handler, or inside the handler
 * of the very request it answers), sends, and resumes the connection's queued
 * requests from a 0-delay timer. If the connection closed meanwhile, only
 * frees the token: encode is not called and the env is not touched (so this
 * is safe in unload(env_alive=false)). */
void bk_reply_send(weir_broker *b, bk_reply *r, bk_reply_encode_fn encode, void *arg);

/* Frees the token without an answer (stop/crash paths: its connection is
 * closing anyway). NULL is a no-op. No env calls. */
void bk_reply_free(bk_reply *r);

/* broker.c: the token's connection closed; the token stays with its owner. */
void bk_reply_orphan(bk_reply *r);

/* The parked request's API version. */
int16_t bk_reply_version(const bk_reply *r);

/* ---- internal topics ---- */

typedef enum bk_coord_kind {
    BK_COORD_GROUP = 0, /* __consumer_offsets: key = group id */
    BK_COORD_TXN = 1,   /* __transaction_state: key = transactional id */
    BK_COORD_KINDS
} bk_coord_kind;

/* What a coordinator provides for its internal topic: one entry per kind in
 * coord.c's table (BK_COORD_TXN's callbacks may be NULL until it exists). */
typedef struct bk_coord_type {
    const char *topic;
    /* This broker became leader of partition `index` (its log: `log`): build
     * the partition's state from the log, from its start to its end
     * (bk_coord_log_scan streams it). Runs from a timer, synchronously.
     * Returns 0, or a WEIR_E_* after which the partition stays unloaded
     * (requests get COORDINATOR_LOAD_IN_PROGRESS) and the load is retried in
     * a second; the callee frees whatever it built before failing. */
    int (*load)(weir_broker *b, int32_t index, struct weir_plog *log);
    /* Drops partition `index`'s state. env_alive: leadership was lost or the
     * broker stops; answer parked requests (NOT_COORDINATOR) and cancel
     * timers. !env_alive: a crash; free memory only, no env calls (parked
     * replies: bk_reply_send still works, as their connections are gone). */
    void (*unload)(weir_broker *b, int32_t index, bool env_alive);
} bk_coord_type;

/* True for __consumer_offsets and __transaction_state (Metadata: is_internal). */
bool bk_coord_topic_is_internal(const char *name, size_t len);

/* Kafka's coordinator partition for a key: Utils.abs(key.hashCode()) %
 * partitions, with Java's String.hashCode over the UTF-16 code units of the
 * UTF-8 key (malformed bytes count as U+FFFD, as Java decodes them) and
 * Utils.abs(Integer.MIN_VALUE) = 0. partitions >= 1. */
int32_t bk_coord_partition_for(const char *key, size_t len, int32_t partitions);

/* Java's String.hashCode of a UTF-8 key (exposed for tests). */
int32_t bk_coord_java_hash(const char *key, size_t len);

/* The internal topic of `kind`, or NULL when it does not exist yet; with
 * create, a missing topic is created: standalone at once (with its
 * configured partition count), in cluster mode by asking the controller
 * (the replication factor capped to the live brokers; asked at most once a
 * second), and NULL is returned until the controller's push arrives. */
weir_topic *bk_coord_topic(weir_broker *b, bk_coord_kind kind, bool create);

/* Whether this broker serves partition `index` of kind's topic now:
 * WEIR_KERR_NONE (leader, state loaded for the current leader epoch),
 * COORDINATOR_LOAD_IN_PROGRESS (leader, state not loaded yet) or
 * NOT_COORDINATOR. */
int16_t bk_coord_status(weir_broker *b, bk_coord_kind kind, int32_t index);

/* True while some partition of kind's topic that this broker leads is not
 * loaded yet (ListGroups answers COORDINATOR_LOAD_IN_PROGRESS then). */
bool bk_coord_loading(weir_broker *b, bk_coord_kind kind);

/* The coordinator partition of `key` and this broker's status for it
 * (bk_coord_status), or COORDINATOR_NOT_AVAILABLE when the topic does not
 * exist (it is not created here: FindCoordinator does that). */
int16_t bk_coord_lookup(weir_broker *b, bk_coord_kind kind, const char *key, size_t len,
                        int32_t *index_out);

/* FindCoordinator v0-v2 (key type 0: group, 1: transaction). */
int bk_handle_find_coordinator(bk_conn *c, const weir_request *r);

/* ---- reading an internal partition ---- */

/* Called per batch, in offset order: the decoded header and the whole batch
 * (buf[0..len)). Returns 0 to go on, or a WEIR_E_* that stops the scan. */
typedef int (*bk_coord_batch_fn)(void *arg, const weir_batch_header *h, const uint8_t *batch,
                                 size_t len);

/* Streams the batches of `log` holding offsets [from, to) in chunks of at
 * most 1 MiB (at least one batch each). Batches that fail their CRC stop the
 * scan with WEIR_E_CORRUPT. Returns 0 or the first error. */
WEIR_MUST_CHECK int bk_coord_log_scan(struct weir_plog *log, int64_t from, int64_t to,
                                      bk_coord_batch_fn fn, void *arg);

/* ---- appends that wait for the high watermark ---- */

/* The outcome of an internal append: error_code NONE once the HW passed the
 * batch (every ISR member has it, and the ISR has min.insync.replicas;
 * NOT_ENOUGH_REPLICAS_AFTER_APPEND if it shrank below), NOT_COORDINATOR when
 * leadership of the partition (or its leader epoch) changed first, or the
 * broker stops, REQUEST_TIMED_OUT after the timeout. base_offset: the batch's
 * first offset. */
typedef void (*bk_coord_append_cb)(weir_broker *b, void *arg, int16_t error_code,
                                   int64_t base_offset);

/* Appends one batch (built with weir_batch_builder; base offset 0; modified
 * in place: offsets and the leader epoch are stamped) to partition `index` of
 * kind's topic as its leader. Requires bk_coord_status(kind, index) == NONE
 * (led, with state loaded for this leader epoch: state about to be unloaded
 * cannot leave a wait behind) and an ISR of at least min.insync.replicas, as
 * acks=all does. A batch with a producer id goes through the log's producer
 * checks like a client's (number its sequence after the producer's last).
 *
 * Returns WEIR_KERR_NONE and *base_offset_out: then cb(b, arg, ...) runs
 * exactly once later, from a timer (never inside this call), with the
 * outcome above; or an error (NOT_COORDINATOR: not the leader / not loaded;
 * NOT_ENOUGH_REPLICAS: ISR below min ISR; MESSAGE_TOO_LARGE, CORRUPT_MESSAGE,
 * KAFKA_STORAGE_ERROR; producer refusals: INVALID_PRODUCER_EPOCH,
 * OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_TXN_STATE,
 * TRANSACTION_COORDINATOR_FENCED) and cb never runs. Owners map these to
 * their own errors (Kafka's group and transaction coordinators map them
 * differently).
 *
 * Lifetime of arg: the owner's. During bk_coord_stop the callbacks run with
 * NOT_COORDINATOR before the owners' unload; after a crash they never run,
 * so an owner's unload(env_alive=false) frees the args still waiting. */
int16_t bk_coord_append(weir_broker *b, bk_coord_kind kind, int32_t index, uint8_t *batch,
                        size_t len, int32_t timeout_ms, bk_coord_append_cb cb, void *arg,
                        int64_t *base_offset_out);

/* ---- lifecycle and hooks (broker.c, replica_mgr.c) ---- */

/* After the logs are loaded: allocates the state and schedules the first
 * check of which coordinator partitions this broker leads. */
void bk_coord_start(weir_broker *b);
/* Clean stop or halt (env alive, connections already closed): fails waiting
 * appends (NOT_COORDINATOR), unloads every loaded partition, frees. */
void bk_coord_stop(weir_broker *b);
/* After a crash: frees everything, no env calls, no callbacks. */
void bk_coord_abandon(weir_broker *b);
/* The role or leader epoch of p (of topic t) changed: schedules loading or
 * unloading when t is internal, and a check of waiting appends. */
void bk_coord_leadership_changed(weir_broker *b, const weir_topic *t, const weir_partition *p);
/* The HW of p moved: schedules a check of waiting appends. */
void bk_coord_hw_advanced(weir_broker *b, const weir_partition *p);

#endif
