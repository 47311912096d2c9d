/* Shared between the broker's files: connection state and the handlers. */
#ifndef WEIR_BROKER_INTERNAL_H
#define WEIR_BROKER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/broker.h"
#include "broker/topics.h"
#include "env/env.h"
#include "proto/messages.h"
#include "proto/wire.h"
#include "rpc/peer.h"

typedef struct bk_queued {
    struct bk_queued *next;
    size_t len;
    uint8_t data[];
} bk_queued;

typedef struct bk_conn bk_conn;
struct bk_reply;        /* coord.h: a parked request answered later */
struct bk_coord_state;  /* coord.c */
struct bk_groups;       /* group_internal.h */
struct bk_txn_state;    /* txn_internal.h */

/* A Fetch waiting for min_bytes or its deadline; owns a copy of its frame. */
typedef struct bk_fetch_wait {
    uint8_t *frame;
    size_t len;
    weir_arena arena;
    weir_request req;     /* decoded from `frame` */
    weir_timer *timer;
} bk_fetch_wait;

/* A Produce with acks=all waiting for the HW to pass what it appended. */
typedef struct bk_produce_part {
    char topic[WEIR_TOPIC_NAME_MAX + 1];
    int32_t partition;
    int16_t error_code;
    int64_t base_offset;
    int64_t log_start_offset;
    int64_t required_hw; /* -1: nothing to wait for */
} bk_produce_part;

typedef struct bk_produce_wait {
    weir_request_header header; /* client_id not kept */
    bk_produce_part *parts;     /* in request order */
    int n_parts;
    weir_timer *timer;
} bk_produce_wait;

struct bk_conn {
    weir_broker *b;
    weir_conn *conn;
    bk_queued *head;      /* requests waiting behind a parked one, in order */
    bk_queued *tail;
    bk_fetch_wait *parked; /* the request in progress, if it waits */
    bk_produce_wait *pwait; /* or an acks=all Produce waiting for the HW */
    struct bk_reply *reply; /* or a request a coordinator answers later (coord.h) */
    weir_timer *resume_timer; /* pending resume after a deferred reply went out */
    bool closing;
    bk_conn *prev;
    bk_conn *next;
};

typedef struct bk_live_broker {
    int32_t id;
    bool up; /* in the controller's latest list of live brokers */
    char host[128];
    int port;
} bk_live_broker;

/* Heap objects that a pending inter-broker request's callback will free;
 * listed so a shutdown (which drops those callbacks) frees them too. */
typedef struct bk_pending {
    struct bk_pending *prev;
    struct bk_pending *next;
} bk_pending;

/* Cluster mode: the controller connection and what it told us. */
typedef struct bk_cluster {
    bk_pending pending; /* list head */
    bool enabled;
    weir_peer *ctl;
    int64_t broker_epoch; /* -1 until registered */
    bool registering;
    bool heartbeat_in_flight;
    uint8_t incarnation[16];
    weir_timer *hb_timer;
    weir_timer *isr_timer;
    weir_timer *hw_timer;
    bk_live_broker live[64];
    int n_live;
    bool live_known; /* a LeaderAndIsr push (with the live brokers) arrived */
} bk_cluster;

struct weir_broker {
    weir_env *env;
    weir_broker_config cfg;
    weir_topics topics;
    weir_listener *listener;
    bk_conn *conns;
    weir_arena arena;     /* the request being handled */
    weir_wr out;          /* the response being written */
    weir_timer *retention_timer;
    weir_timer *flush_timer;
    weir_timer *start_timer; /* a retried start after a disk error */
    weir_timer *halt_timer;  /* a pending halt after a log dir failure */
    weir_timer *wake_timer; /* pending re-check of waiting fetches */
    weir_timer *produce_timer; /* pending re-check of acks=all produces */
    bool serving;
    bool shut_down;
    bk_cluster cl;
    /* coordinators (coord.c, group*.c) */
    struct bk_coord_state *coord;
    struct bk_groups *groups;
    struct bk_txn_state *txn; /* the transaction coordinator (txn_coord.c) */
    weir_wr reply_out;      /* deferred replies: their own writer and arena, */
    weir_arena reply_arena; /* so they can go out from inside another handler */
};

/* A failed fsync (or other log dir failure): the broker halts, drops its
 * logs unwritten and starts again with recovery after a delay. */
void bk_log_dir_failed(weir_broker *b, const char *what, int err);

/* Sends header + body written by `encode` and logs encoder failures. */
void bk_send(bk_conn *c, const weir_request_header *h, int err);

/* Handlers: each writes the response body into b->out after the header (or
 * nothing for acks=0) and returns 0, or a WEIR_E_* that closes the connection. */
int bk_handle_api_versions(bk_conn *c, const weir_request *r);
int bk_handle_metadata(bk_conn *c, const weir_request *r);
int bk_handle_produce(bk_conn *c, const weir_request *r, bool *no_response, bool *parked);
int bk_handle_list_offsets(bk_conn *c, const weir_request *r);
int bk_handle_create_topics(bk_conn *c, const weir_request *r);
int bk_handle_delete_topics(bk_conn *c, const weir_request *r);

/* Fetch: answers now (returns 0 and sets *parked false) or parks the request
 * (*parked true; the wait takes ownership of nothing: it re-decodes a copy). */
int bk_handle_fetch(bk_conn *c, const weir_request *r, const uint8_t *frame, size_t len,
                    bool *parked);
/* After an append: wakes waiting fetches that now have enough data. */
void bk_fetch_wake_all(weir_broker *b);
void bk_fetch_wait_free(weir_env *env, bk_fetch_wait *w);

/* Resumes a connection's queued requests after a parked one finished. */
void bk_conn_resume(bk_conn *c);

/* The highest offset a fetch by replica_id may read (LEO for followers, HW
 * for consumers). */
int64_t bk_fetch_limit(const weir_broker *b, const weir_partition *p, int32_t replica_id);

/* ---- cluster mode (replica_mgr.c) ---- */

/* A follower's Fetch arrived: record its LEO for each partition it names. */
void bk_follower_fetched(weir_broker *b, const weir_fetch_request *req);
/* The HW of p moved: answer acks=all produces and waiting fetches. */
void bk_hw_advanced(weir_broker *b, weir_partition *p);
/* Starts registration and heartbeats when a controller is configured. */
void bk_cluster_start(weir_broker *b);
void bk_cluster_stop(weir_broker *b);
/* After a crash (the env is gone): frees cluster state without env calls. */
void bk_cluster_abandon(weir_broker *b);
int bk_handle_leader_and_isr(bk_conn *c, const weir_request *r);
/* Asks the controller to create a topic (reply ignored: clients retry metadata). */
void bk_cluster_create_topic(weir_broker *b, const char *name, size_t len, int32_t partitions,
                             int16_t replication_factor);
int bk_handle_offset_for_leader_epoch(bk_conn *c, const weir_request *r);

/* acks=all: the request waits until every partition's HW passes what it
 * appended, or its timeout (REQUEST_TIMED_OUT). */
void bk_produce_park(bk_conn *c, bk_produce_wait *w, int32_t timeout_ms);
void bk_produce_wait_free(weir_env *env, bk_produce_wait *w);
/* Answers waiting produces whose partitions are done (HW, leadership lost). */
void bk_produce_check_all(weir_broker *b);

/* Maps a log error to a Kafka error code. */
int16_t bk_kerr_from(int err);

#endif
