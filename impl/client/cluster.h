/* weir_cluster: the connection and metadata layer the producer and the
 * consumer share. One instance per client; everything runs on weir_env
 * events, so inside the simulator it is deterministic given the env's clock
 * and PRNG.
 *
 * What it keeps:
 * - nodes: the bootstrap addresses (ids -1, -2, ... as Kafka's clients number
 *   them) and every broker the latest Metadata named (its node id). At most
 *   one connection per node, opened on demand, reopened after a close with an
 *   exponential backoff (reconnect_backoff_ms doubling up to
 *   reconnect_backoff_max_ms, with up to 20 % random jitter from weir_random).
 * - requests in flight per connection, in send order. The broker answers in
 *   order, so a response must carry the correlation id of the oldest request
 *   on its connection; any other id is a broken stream and closes the
 *   connection. Each request has a deadline; when the oldest one passes it,
 *   the connection is closed and every request on it fails with
 *   WEIR_E_TIMEOUT (as Kafka's NetworkClient does).
 * - metadata (Metadata v4) for the topics the owner asked for: partition count
 *   and leader per partition. A refresh happens when asked (after
 *   retry_backoff_ms since the last attempt), after a broker connection fails,
 *   while a wanted topic or partition has no leader, and every
 *   metadata_max_age_ms. One that finds every connection open and full goes
 *   out when an answer frees one.
 * - coordinator lookups (FindCoordinator) until they are answered; the
 *   coordinators they name join the nodes.
 *
 * Invariants: a node's in_flight equals the length of its request list; a
 * request's callback runs exactly once (response, error, or timeout), always
 * from an env event, never from inside a weir_cluster_* call; correlation ids
 * grow by one per request across the client.
 *
 * Threading: the owner's env thread only (as every node).
 */
#ifndef WEIR_CLIENT_CLUSTER_H
#define WEIR_CLIENT_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>

#include "env/env.h"
#include "proto/messages.h"

typedef struct weir_cluster weir_cluster;

typedef struct weir_cluster_config {
    const char *bootstrap;            /* "host:port[,host:port]..."; copied */
    const char *client_id;            /* copied; NULL gives "weir" */
    int32_t request_timeout_ms;       /* request.timeout.ms: 30000 */
    int32_t metadata_max_age_ms;      /* metadata.max.age.ms: 300000 */
    int32_t retry_backoff_ms;         /* retry.backoff.ms: 100, between metadata attempts */
    int32_t reconnect_backoff_ms;     /* reconnect.backoff.ms: 50 */
    int32_t reconnect_backoff_max_ms; /* reconnect.backoff.max.ms: 1000 */
    int32_t in_flight_max;            /* max.in.flight.requests.per.connection: 5 */
    bool allow_auto_topic_creation;   /* Metadata v4 flag: true */
    /* Called after new metadata arrived or a connection opened, so the owner
     * can send what was waiting. From an env event only. May be NULL. */
    void (*on_wake)(void *arg);
    void *arg;
} weir_cluster_config;

/* Fills the defaults above; bootstrap and client_id are left NULL. */
void weir_cluster_config_default(weir_cluster_config *cfg);

/* A decoded response. Strings, bytes and arrays point into the frame and the
 * cluster's arena: valid only during the callback. */
typedef struct weir_response {
    int16_t api_key;
    int16_t api_version;
    int32_t correlation_id;
    union {
        weir_metadata_response metadata;
        weir_produce_response produce;
        weir_fetch_response fetch;
        weir_list_offsets_response list_offsets;
        weir_api_versions_response api_versions;
        weir_create_topics_response create_topics;
        weir_delete_topics_response delete_topics;
        /* groups (messages_group.h) */
        weir_find_coordinator_response find_coordinator;
        weir_join_group_response join_group;
        weir_sync_group_response sync_group;
        weir_heartbeat_response heartbeat;
        weir_leave_group_response leave_group;
        weir_offset_commit_response offset_commit;
        weir_offset_fetch_response offset_fetch;
        weir_describe_groups_response describe_groups;
        weir_list_groups_response list_groups;
        /* transactions (messages_txn.h) */
        weir_init_producer_id_response init_producer_id;
        weir_add_partitions_to_txn_response add_partitions_to_txn;
        weir_add_offsets_to_txn_response add_offsets_to_txn;
        weir_end_txn_response end_txn;
        weir_txn_offset_commit_response txn_offset_commit;
    } body; /* the member named by api_key */
} weir_response;

/* A request's outcome: err 0 and resp set, or err a WEIR_E_* with resp NULL:
 * WEIR_E_TIMEOUT (deadline passed), WEIR_E_CONNRESET / WEIR_E_CONNREFUSED /
 * WEIR_E_CLOSED (the connection went away), WEIR_E_CORRUPT (the response did
 * not decode; the connection is closed too). */
typedef void (*weir_cluster_response_cb)(weir_cluster *cl, int err, const weir_response *resp,
                                         void *arg);

/* Creates the cluster view; connects nothing yet. NULL on a bad config (no
 * bootstrap address, a malformed one) or out of memory, with *why set to a
 * static reason when why is not NULL. The env must outlive the cluster. */
weir_cluster *weir_cluster_new(weir_env *env, const weir_cluster_config *cfg, const char **why);

/* Closes every connection and cancels every timer; requests in flight are
 * dropped without their callbacks. Needs a live env: from an event callback
 * or before the world ends, never from inside a cluster callback. */
void weir_cluster_free(weir_cluster *cl);

/* Frees memory only, without calling the env: for a node's destroy after a
 * crash or at the end of a run, when the backend has torn down connections
 * and timers. */
void weir_cluster_abandon(weir_cluster *cl);

/* ---- metadata ---- */

/* Adds topic to the topics metadata is fetched for (copied; idempotent) and
 * asks for a refresh if it is new. */
WEIR_MUST_CHECK int weir_cluster_topic_want(weir_cluster *cl, const char *topic);

/* Asks for a metadata refresh: sent once retry_backoff_ms has passed since the
 * previous attempt. Calls coalesce. */
void weir_cluster_metadata_request(weir_cluster *cl);

/* What the latest metadata says about topic: 0 with the partition count; or
 * WEIR_E_AGAIN (no answer yet, or a retriable topic error: a refresh is asked
 * for), or WEIR_E_NOENT with *kerr_out the topic's Kafka error when that
 * error is final (INVALID_TOPIC_EXCEPTION, or UNKNOWN_TOPIC_OR_PARTITION when
 * auto-creation is off). kerr_out may be NULL. */
WEIR_MUST_CHECK int weir_cluster_topic_partitions(weir_cluster *cl, const char *topic,
                                                  int32_t *count_out, int16_t *kerr_out);

/* The leader's node id for (topic, partition), or -1 when unknown (no
 * metadata, no leader, out of range). */
int32_t weir_cluster_leader(weir_cluster *cl, const char *topic, int32_t partition);

/* ---- requests ---- */

/* True when a request to node_id can go now: its connection is open and has
 * fewer than in_flight_max requests. When there is no connection it starts
 * one (at once, or when the reconnect backoff ends) and on_wake follows when
 * it opens; when the connection is full, on_wake follows when one of its
 * requests ends and it has room again (whoever sent them: requests sent
 * without asking, as a group member's commits are, count too). */
bool weir_cluster_node_ready(weir_cluster *cl, int32_t node_id);

/* Requests in flight on node_id's connection (0 when none). */
int32_t weir_cluster_in_flight(weir_cluster *cl, int32_t node_id);

/* Sends r to node_id. Fills the header's correlation id and client id;
 * copies the encoded bytes, so r and what it points to may go at return.
 * With cb NULL no response is expected (Produce with acks=0): nothing is
 * tracked. timeout_ms 0 means request_timeout_ms. Returns 0 (cb runs exactly
 * once later), WEIR_E_NOENT (unknown node), WEIR_E_AGAIN (no connection and
 * in reconnect backoff: ask weir_cluster_node_ready), WEIR_E_INVAL or
 * WEIR_E_NOMEM (encoding failed), or the env's send error. Frames sent while
 * the connection is still opening are queued by the env. */
WEIR_MUST_CHECK int weir_cluster_send(weir_cluster *cl, int32_t node_id, weir_request *r,
                                      int32_t timeout_ms, weir_cluster_response_cb cb, void *arg);

/* ---- coordinators ---- */

/* Key types: WEIR_COORDINATOR_GROUP (0, a group id) and
 * WEIR_COORDINATOR_TRANSACTION (1, a transactional id), from messages_group.h. */

/* The outcome of a coordinator lookup: err 0 with the coordinator's node id
 * (a broker id, numbered as in Metadata; added to the known nodes or moved to
 * the address FindCoordinator gave, so weir_cluster_send reaches it), or err
 * a WEIR_E_* with node -1: WEIR_E_TIMEOUT when request_timeout_ms passed
 * (since the call) without an answer, WEIR_E_INVAL for a final Kafka error
 * (an authorization failure, INVALID_REQUEST: logged), WEIR_E_NOMEM.
 * Retriable answers (COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS,
 * NOT_COORDINATOR, REQUEST_TIMED_OUT, a lost connection, a node id or address
 * that cannot be used) are retried after retry_backoff_ms inside the lookup.
 * From an env event only. */
typedef void (*weir_cluster_coordinator_cb)(weir_cluster *cl, int err, int32_t node_id, void *arg);

/* Looks up the coordinator of (key_type, key) with FindCoordinator v1 (every
 * broker since Kafka 0.11, the librdkafka mock and weir have it), sent to the
 * node a metadata request would use. key is copied. Returns 0 (cb runs exactly
 * once, from an env event, never inside this call) or WEIR_E_NOMEM. Lookups
 * not answered when the cluster is freed are dropped without their callback.
 * Lookups are independent: two for the same key both ask. */
WEIR_MUST_CHECK int weir_cluster_find_coordinator(weir_cluster *cl, int8_t key_type,
                                                  const char *key, weir_cluster_coordinator_cb cb,
                                                  void *arg);

/* The env the cluster runs on. */
weir_env *weir_cluster_env(const weir_cluster *cl);

/* The client id requests carry; log lines start with it. */
const char *weir_cluster_client_id(const weir_cluster *cl);

#endif
