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

typedef struct bk_queued {
    struct bk_queued *next;
    size_t len;
    uint8_t data[];
} bk_queued;

typedef struct bk_conn bk_conn;

/* A Fetch waiting for min_bytes or its deadline; owns a copy of its frame. */
typedef struct bk_fetch_wait {
    uint8_t *frame;
    size_t len;
    weir_arena arena;
    weir_request req;     /* decoded from `frame` */
    int64_t deadline_ns;
    weir_timer *timer;
} bk_fetch_wait;

struct bk_conn {
    weir_broker *b;
    weir_conn *conn;
    bk_queued *head;      /* requests waiting behind a parked one, in order */
    bk_queued *tail;
    bk_fetch_wait *parked; /* the request in progress, if it waits */
    bool closing;
    bk_conn *prev;
    bk_conn *next;
};

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
    weir_timer *wake_timer; /* pending re-check of waiting fetches */
    bool serving;
    bool shut_down;
};

/* Sends header + body written by `encode` and logs encoder failures. */
void bk_send(bk_conn *c, const weir_request_header *h, int err);

/* Handlers: each writes the response body into b->out after the header (or
 * nothing for acks=0) and returns 0, or a WEIR_E_* that closes the connection. */
int bk_handle_api_versions(bk_conn *c, const weir_request *r);
int bk_handle_metadata(bk_conn *c, const weir_request *r);
int bk_handle_produce(bk_conn *c, const weir_request *r, bool *no_response);
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

/* Maps a log error to a Kafka error code. */
int16_t bk_kerr_from(int err);

#endif
