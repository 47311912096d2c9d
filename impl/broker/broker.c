#include "broker/broker_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/coord.h"
#include "broker/group.h"
#include "broker/txn.h"
#include "core/assert.h"

#define MS 1000000LL

int16_t bk_kerr_from(int err)
{
    switch (err) {
    case 0: return WEIR_KERR_NONE;
    case WEIR_E_CORRUPT: return WEIR_KERR_CORRUPT_MESSAGE;
    case WEIR_E_RANGE: return WEIR_KERR_OFFSET_OUT_OF_RANGE;
    case WEIR_E_NOSPC:
    case WEIR_E_IO: return WEIR_KERR_KAFKA_STORAGE_ERROR;
    default: return WEIR_KERR_UNKNOWN_SERVER_ERROR;
    }
}

/* ---- connections ---- */

static void conn_unlink(weir_broker *b, bk_conn *c)
{
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        b->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    c->prev = c->next = NULL;
}

/* Drops what the connection holds. env_alive false after a crash: the
 * timers went with the env, so they are forgotten, not cancelled. A deferred
 * reply's token stays with its coordinator, which frees it when it answers. */
static void conn_drop_queue(bk_conn *c, bool env_alive)
{
    while (c->head != NULL) {
        bk_queued *q = c->head;
        c->head = q->next;
        free(q);
    }
    c->tail = NULL;
    if (c->parked != NULL) {
        if (!env_alive) {
            c->parked->timer = NULL;
        }
        bk_fetch_wait_free(c->b->env, c->parked);
        c->parked = NULL;
    }
    if (c->pwait != NULL) {
        if (!env_alive) {
            c->pwait->timer = NULL;
        }
        bk_produce_wait_free(c->b->env, c->pwait);
        c->pwait = NULL;
    }
    if (c->reply != NULL) {
        bk_reply_orphan(c->reply);
        c->reply = NULL;
    }
    if (c->resume_timer != NULL) {
        if (env_alive) {
            weir_timer_cancel(c->b->env, c->resume_timer);
        }
        c->resume_timer = NULL;
    }
}

/* Closes with a log line naming the peer and the reason. */
static void conn_fail(bk_conn *c, const char *fmt, const char *detail)
{
    if (c->closing) {
        return;
    }
    char line[256];
    snprintf(line, sizeof line, fmt, detail);
    weir_log_warn(c->b->env, "closing connection from %s: %s", c->conn->peer, line);
    c->closing = true;
    conn_drop_queue(c, true);
    weir_conn_close(c->conn);
}

void bk_send(bk_conn *c, const weir_request_header *h, int err)
{
    weir_broker *b = c->b;
    if (err == 0) {
        err = weir_wr_status(&b->out);
    }
    if (err != 0) {
        char why[96];
        snprintf(why, sizeof why, "%s v%d response: %s", weir_api_name(h->api_key), h->api_version,
                 weir_err_str(err));
        conn_fail(c, "cannot encode the %s", why);
        return;
    }
    if (c->closing) {
        return;
    }
    err = weir_conn_send(c->conn, b->out.buf, b->out.len);
    if (err != 0) {
        conn_fail(c, "send failed: %s", weir_err_str(err));
    }
}

/* Decodes and answers one request frame. Returns true if it parked. */
static bool handle_frame(bk_conn *c, const uint8_t *frame, size_t len)
{
    weir_broker *b = c->b;
    weir_arena_reset(&b->arena);
    weir_wr_reset(&b->out);
    weir_rd rd;
    weir_rd_init(&rd, frame, len);
    weir_request req;
    memset(&req, 0, sizeof req);
    int err = weir_decode_request(&rd, &b->arena, &req);
    const weir_request_header *h = &req.header;
    if (err == WEIR_E_UNSUPPORTED && h->api_key == WEIR_API_API_VERSIONS) {
        /* KIP-511: tell the client which versions there are; never close. */
        bk_send(c, h, weir_encode_api_versions_unsupported(&b->out, h->correlation_id));
        return false;
    }
    if (err == WEIR_E_UNSUPPORTED) {
        char why[96];
        snprintf(why, sizeof why, "%s (key %d) version %d", weir_api_name(h->api_key), h->api_key,
                 h->api_version);
        conn_fail(c, weir_api_find(h->api_key) ? "unsupported version: %s" : "unknown API: %s", why);
        return false;
    }
    if (err != 0) {
        conn_fail(c, "malformed request: %s", rd.why ? rd.why : weir_err_str(err));
        return false;
    }
    err = weir_encode_response_header(&b->out, h->api_key, h->api_version, h->correlation_id);
    if (err != 0) {
        bk_send(c, h, err);
        return false;
    }
    bool no_response = false;
    bool parked = false;
    switch (h->api_key) {
    case WEIR_API_API_VERSIONS: err = bk_handle_api_versions(c, &req); break;
    case WEIR_API_METADATA: err = bk_handle_metadata(c, &req); break;
    case WEIR_API_PRODUCE: err = bk_handle_produce(c, &req, &no_response, &parked); break;
    case WEIR_API_FETCH: err = bk_handle_fetch(c, &req, frame, len, &parked); break;
    case WEIR_API_LIST_OFFSETS: err = bk_handle_list_offsets(c, &req); break;
    case WEIR_API_CREATE_TOPICS: err = bk_handle_create_topics(c, &req); break;
    case WEIR_API_DELETE_TOPICS: err = bk_handle_delete_topics(c, &req); break;
    case WEIR_API_LEADER_AND_ISR: err = bk_handle_leader_and_isr(c, &req); break;
    case WEIR_API_OFFSET_FOR_LEADER_EPOCH: err = bk_handle_offset_for_leader_epoch(c, &req); break;
    /* coordinators (coord.c, group*.c) */
    case WEIR_API_FIND_COORDINATOR: err = bk_handle_find_coordinator(c, &req); break;
    case WEIR_API_JOIN_GROUP: err = bk_handle_join_group(c, &req, &parked); break;
    case WEIR_API_SYNC_GROUP: err = bk_handle_sync_group(c, &req, &parked); break;
    case WEIR_API_HEARTBEAT: err = bk_handle_heartbeat(c, &req); break;
    case WEIR_API_LEAVE_GROUP: err = bk_handle_leave_group(c, &req); break;
    case WEIR_API_OFFSET_COMMIT: err = bk_handle_offset_commit(c, &req, &parked); break;
    case WEIR_API_OFFSET_FETCH: err = bk_handle_offset_fetch(c, &req); break;
    case WEIR_API_DESCRIBE_GROUPS: err = bk_handle_describe_groups(c, &req); break;
    case WEIR_API_LIST_GROUPS: err = bk_handle_list_groups(c, &req); break;
    case WEIR_API_TXN_OFFSET_COMMIT: err = bk_handle_txn_offset_commit(c, &req, &parked); break;
    /* idempotence and transactions (txn*.c) */
    case WEIR_API_INIT_PRODUCER_ID: err = bk_handle_init_producer_id(c, &req, &parked); break;
    case WEIR_API_ADD_PARTITIONS_TO_TXN: err = bk_handle_add_partitions_to_txn(c, &req, &parked); break;
    case WEIR_API_ADD_OFFSETS_TO_TXN: err = bk_handle_add_offsets_to_txn(c, &req, &parked); break;
    case WEIR_API_END_TXN: err = bk_handle_end_txn(c, &req, &parked); break;
    case WEIR_API_WRITE_TXN_MARKERS: err = bk_handle_write_txn_markers(c, &req, &parked); break;
    /* Controller APIs: served by the controller node, not here. */
    case WEIR_API_ALTER_PARTITION:
    case WEIR_API_BROKER_REGISTRATION:
    case WEIR_API_BROKER_HEARTBEAT:
        conn_fail(c, "not served by a broker: %s", weir_api_name(h->api_key));
        return false;
    default: WEIR_ASSERT(!"weir_decode_request accepted an API without a handler");
    }
    if (parked) {
        return true;
    }
    if (!no_response) {
        bk_send(c, h, err);
    }
    return false;
}

static void queue_push(bk_conn *c, const uint8_t *frame, size_t len)
{
    bk_queued *q = malloc(sizeof *q + len);
    if (q == NULL) {
        conn_fail(c, "%s", "out of memory queueing a request");
        return;
    }
    q->next = NULL;
    q->len = len;
    memcpy(q->data, frame, len);
    if (c->tail != NULL) {
        c->tail->next = q;
    } else {
        c->head = q;
    }
    c->tail = q;
}

/* True while a request of c waits (Fetch, acks=all Produce, or a deferred
 * reply): the ones behind it queue. */
static bool conn_busy(const bk_conn *c)
{
    return c->parked != NULL || c->pwait != NULL || c->reply != NULL;
}

void bk_conn_resume(bk_conn *c)
{
    while (!c->closing && !conn_busy(c) && c->head != NULL) {
        bk_queued *q = c->head;
        c->head = q->next;
        if (c->head == NULL) {
            c->tail = NULL;
        }
        handle_frame(c, q->data, q->len);
        free(q);
    }
}

static void on_frame(weir_conn *conn, const uint8_t *payload, size_t len, void *arg)
{
    (void)arg;
    bk_conn *c = conn->data;
    if (c == NULL || c->closing || c->b->shut_down || c->b->halt_timer != NULL) {
        return; /* shut down, or halting after a log dir failure: answer nothing more */
    }
    if (conn_busy(c) || c->head != NULL) {
        queue_push(c, payload, len); /* strictly in order behind the waiting one */
        return;
    }
    handle_frame(c, payload, len);
}

static void on_close(weir_conn *conn, int reason, void *arg)
{
    (void)arg;
    bk_conn *c = conn->data;
    if (c == NULL) {
        return;
    }
    if (reason != 0 && reason != WEIR_E_CONNRESET) {
        weir_log_info(c->b->env, "connection from %s closed: %s", conn->peer, weir_err_str(reason));
    }
    conn_drop_queue(c, true);
    conn_unlink(c->b, c);
    conn->data = NULL;
    free(c);
}

static void on_open(weir_conn *conn, void *arg)
{
    weir_broker *b = arg;
    bk_conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        weir_log_error(b->env, "out of memory accepting %s", conn->peer);
        weir_conn_close(conn);
        return;
    }
    c->b = b;
    c->conn = conn;
    conn->data = c;
    c->next = b->conns;
    if (b->conns != NULL) {
        b->conns->prev = c;
    }
    b->conns = c;
    if (b->shut_down) {
        c->closing = true;
        weir_conn_close(conn);
    }
}

/* ---- deferred replies (coord.h) ---- */

struct bk_reply {
    bk_conn *c;                 /* NULL once the connection closed */
    weir_request_header header; /* client_id not kept */
};

/* The connection went away: the token stays with its owner. */
void bk_reply_orphan(bk_reply *r)
{
    r->c = NULL;
}

bk_reply *bk_reply_park(bk_conn *c, const weir_request_header *h)
{
    WEIR_ASSERT(!conn_busy(c));
    bk_reply *r = calloc(1, sizeof *r);
    if (r == NULL) {
        return NULL;
    }
    r->c = c;
    r->header = *h;
    r->header.client_id = WEIR_STR_NULL;
    c->reply = r;
    return r;
}

int16_t bk_reply_version(const bk_reply *r)
{
    return r->header.api_version;
}

void bk_reply_free(bk_reply *r)
{
    if (r == NULL) {
        return;
    }
    if (r->c != NULL) {
        WEIR_ASSERT(r->c->reply == r);
        r->c->reply = NULL;
    }
    free(r);
}

static void conn_resume_cb(weir_env *env, void *arg)
{
    (void)env;
    bk_conn *c = arg;
    c->resume_timer = NULL;
    bk_conn_resume(c);
}

void bk_reply_send(weir_broker *b, bk_reply *r, bk_reply_encode_fn encode, void *arg)
{
    bk_conn *c = r->c;
    weir_request_header h = r->header;
    if (c == NULL) {
        free(r);
        return;
    }
    WEIR_ASSERT(c->reply == r && !c->closing);
    c->reply = NULL;
    free(r);
    weir_wr *w = &b->reply_out;
    weir_wr_reset(w);
    weir_arena_reset(&b->reply_arena);
    int err = weir_encode_response_header(w, h.api_key, h.api_version, h.correlation_id);
    if (err == 0) {
        err = encode(w, &b->reply_arena, h.api_version, arg);
    }
    if (err == 0) {
        err = weir_wr_status(w);
    }
    if (err != 0) {
        char why[96];
        snprintf(why, sizeof why, "%s v%d response: %s", weir_api_name(h.api_key), h.api_version,
                 weir_err_str(err));
        conn_fail(c, "cannot encode the %s", why);
        return;
    }
    err = weir_conn_send(c->conn, w->buf, w->len);
    if (err != 0) {
        conn_fail(c, "send failed: %s", weir_err_str(err));
        return;
    }
    /* From a timer: the caller may be inside another request's handler. */
    if (c->head != NULL && c->resume_timer == NULL && !b->shut_down) {
        c->resume_timer = weir_timer_start(b->env, 0, conn_resume_cb, c);
    }
}

/* ---- periodic work ---- */

static void retention_tick(weir_env *env, void *arg)
{
    weir_broker *b = arg;
    b->retention_timer = NULL;
    int64_t now = weir_wall_ms(env);
    for (size_t i = 0; i < b->topics.n; i++) {
        weir_topic *t = b->topics.t[i];
        if (bk_coord_topic_is_internal(t->name, strlen(t->name))) {
            /* Kafka compacts these (cleanup.policy=compact); weir does not
             * compact yet, and deleting by time would lose live commits. */
            continue;
        }
        for (int32_t p = 0; p < t->partition_count; p++) {
            if (t->partitions[p].log == NULL) {
                continue; /* not hosted here */
            }
            weir_log_retention_report rep;
            int err = weir_plog_apply_retention(t->partitions[p].log, now, &rep);
            if (err != 0) {
                weir_log_error(env, "%s-%d: retention failed: %s", t->name, p, weir_err_str(err));
            } else if (rep.segments_deleted > 0) {
                weir_log_info(env, "%s-%d: retention deleted %d segment(s), %llu bytes; log starts at %lld",
                              t->name, p, rep.segments_deleted, (unsigned long long)rep.bytes_deleted,
                              (long long)rep.new_start_offset);
            }
        }
    }
    b->retention_timer = weir_timer_start(env, b->cfg.retention_check_interval_ms * MS,
                                          retention_tick, b);
}

static void flush_tick(weir_env *env, void *arg)
{
    weir_broker *b = arg;
    b->flush_timer = NULL;
    for (size_t i = 0; i < b->topics.n; i++) {
        weir_topic *t = b->topics.t[i];
        for (int32_t p = 0; p < t->partition_count; p++) {
            if (t->partitions[p].log == NULL) {
                continue; /* not hosted here */
            }
            int err = weir_plog_flush(t->partitions[p].log);
            if (err != 0) {
                char what[300];
                snprintf(what, sizeof what, "%s-%d: flush", t->name, p);
                bk_log_dir_failed(b, what, err);
            }
            t->partitions[p].unflushed_messages = 0;
        }
    }
    b->flush_timer = weir_timer_start(env, b->cfg.flush_interval_ms * MS, flush_tick, b);
}

/* ---- lifecycle ---- */

static void broker_open(weir_broker *b);
static void broker_open_retry(weir_env *env, void *arg);

static void *broker_start(weir_env *env, void *arg)
{
    weir_broker *b = calloc(1, sizeof *b);
    WEIR_ASSERT(b != NULL);
    b->env = env;
    b->cfg = *(const weir_broker_config *)arg;
    if (b->cfg.advertised_host[0] == '\0') {
        snprintf(b->cfg.advertised_host, sizeof b->cfg.advertised_host, "%s",
                 strcmp(b->cfg.listen_host, "0.0.0.0") == 0 ? "127.0.0.1" : b->cfg.listen_host);
        b->cfg.advertised_port = b->cfg.listen_port;
    }
    env->frame_bytes_max = b->cfg.socket_request_max_bytes;
    if (b->cfg.log_level >= 0) {
        env->log_level = (weir_log_level)b->cfg.log_level;
    }
    weir_arena_init(&b->arena, WEIR_ARENA_BYTES_MAX_DEFAULT);
    weir_wr_init(&b->out);
    weir_arena_init(&b->reply_arena, WEIR_ARENA_BYTES_MAX_DEFAULT);
    weir_wr_init(&b->reply_out);
    broker_open(b);
    return b;
}

static void broker_open_retry(weir_env *env, void *arg)
{
    (void)env;
    weir_broker *b = arg;
    b->start_timer = NULL;
    weir_topics_abandon(&b->topics); /* what the failed attempt opened: nothing to write */
    broker_open(b);
}

/* Loads the log dir, listens and joins the cluster. A disk error (EIO,
 * ENOSPC) during the load is retried every second, as a supervisor
 * restarts a broker that failed to start; other errors stop it. */
static void broker_open(weir_broker *b)
{
    weir_env *env = b->env;
    weir_topics_init(&b->topics, env, b->cfg.node_id, &b->cfg.log);
    int err = weir_topics_load(&b->topics);
    if (err == WEIR_E_IO || err == WEIR_E_NOSPC) {
        weir_log_error(env, "cannot load the log dir: %s; retrying in 1s", weir_err_str(err));
        b->start_timer = weir_timer_start(env, 1000 * MS, broker_open_retry, b);
        return;
    }
    if (err != 0) {
        weir_log_error(env, "cannot load the log dir: %s; not serving", weir_err_str(err));
        return;
    }
    char addr[WEIR_BROKER_HOST_MAX + 8];
    snprintf(addr, sizeof addr, "%s:%d", b->cfg.listen_host, b->cfg.listen_port);
    weir_conn_handlers h = {on_open, on_frame, on_close, b};
    err = weir_listen(env, addr, &h, &b->listener);
    if (err != 0) {
        weir_log_error(env, "cannot listen on %s: %s; not serving", addr, weir_err_str(err));
        return;
    }
    b->serving = true;
    bk_cluster_start(b);
    bk_coord_start(b); /* standalone: loads the coordinator partitions it leads */
    b->retention_timer = weir_timer_start(env, b->cfg.retention_check_interval_ms * MS,
                                          retention_tick, b);
    if (b->cfg.flush_interval_ms > 0) {
        b->flush_timer = weir_timer_start(env, b->cfg.flush_interval_ms * MS, flush_tick, b);
    }
    weir_log_info(env, "broker %d serving on %s (advertised %s:%d), %zu topic(s)", b->cfg.node_id,
                  addr, b->cfg.advertised_host, b->cfg.advertised_port, b->topics.n);
}

bool weir_broker_partition(const weir_broker *b, const char *topic, int32_t partition,
                           weir_broker_partition_info *out)
{
    memset(out, 0, sizeof *out);
    weir_topic *t = b != NULL ? weir_topics_find(&b->topics, topic, strlen(topic)) : NULL;
    weir_partition *p = weir_topic_partition(t, partition);
    if (p == NULL) {
        return false;
    }
    out->hosted = p->log != NULL;
    out->role = p->role;
    out->leader_id = p->leader_id;
    out->leader_epoch = p->leader_epoch;
    out->log_start = p->log ? weir_plog_start_offset(p->log) : -1;
    out->log_end = p->log ? weir_plog_end_offset(p->log) : -1;
    out->high_watermark = p->high_watermark;
    out->n_isr = p->n_isr < 16 ? p->n_isr : 16;
    memcpy(out->isr, p->isr, (size_t)out->n_isr * sizeof *out->isr);
    return true;
}

struct weir_plog *weir_broker_partition_log(const weir_broker *b, const char *topic, int32_t partition)
{
    weir_topic *t = b != NULL ? weir_topics_find(&b->topics, topic, strlen(topic)) : NULL;
    weir_partition *p = weir_topic_partition(t, partition);
    return p != NULL ? p->log : NULL;
}

bool weir_broker_is_serving(const weir_broker *b)
{
    return b != NULL && b->serving;
}

/* Stops serving: the listener, every connection, the timers, the cluster
 * side. clean: the logs close with their clean-shutdown markers; else they
 * are dropped unwritten, as a crash leaves them (recovery runs at the next
 * open). */
static void broker_stop(weir_broker *b, bool clean)
{
    b->serving = false;
    weir_timer **timers[] = {&b->start_timer, &b->halt_timer, &b->retention_timer, &b->flush_timer,
                             &b->wake_timer, &b->produce_timer};
    for (size_t i = 0; i < sizeof timers / sizeof timers[0]; i++) {
        if (*timers[i] != NULL) {
            weir_timer_cancel(b->env, *timers[i]);
            *timers[i] = NULL;
        }
    }
    if (b->listener != NULL) {
        weir_listener_close(b->env, b->listener);
        b->listener = NULL;
    }
    for (bk_conn *c = b->conns; c != NULL; c = c->next) {
        if (!c->closing) {
            c->closing = true;
            conn_drop_queue(c, true);
            weir_conn_close(c->conn);
        }
    }
    bk_coord_stop(b); /* before the logs close: waiting appends end, state goes */
    bk_txn_stop(b);   /* marker connections and what is left of the txn state */
    bk_cluster_stop(b);
    if (clean) {
        weir_topics_close(&b->topics);
    } else {
        weir_topics_abandon(&b->topics);
    }
}

void weir_broker_shutdown(weir_broker *b)
{
    if (b == NULL || b->shut_down) {
        return;
    }
    b->shut_down = true;
    broker_stop(b, true);
    weir_log_info(b->env, "broker %d shut down cleanly", b->cfg.node_id);
}

#define BK_RESTART_MS 5000 /* after a log dir failure, as a supervisor's restart delay */

static void broker_halt_now(weir_env *env, void *arg)
{
    weir_broker *b = arg;
    b->halt_timer = NULL;
    broker_stop(b, false);
    b->start_timer = weir_timer_start(env, BK_RESTART_MS * MS, broker_open_retry, b);
}

void bk_log_dir_failed(weir_broker *b, const char *what, int err)
{
    if (b->shut_down || !b->serving || b->halt_timer != NULL) {
        return;
    }
    /* As Kafka: data that failed to sync may be gone, so this replica must
     * not serve it; the controller fences it and moves leadership to the
     * ISR. Halted from an event, not inside the caller's loop. */
    weir_log_error(b->env, "%s: %s: the log dir failed; halting, restarting with recovery in %ds", what,
                   weir_err_str(err), BK_RESTART_MS / 1000);
    b->serving = false;
    b->halt_timer = weir_timer_start(b->env, 0, broker_halt_now, b);
}

static void broker_destroy(void *state)
{
    weir_broker *b = state;
    for (bk_conn *c = b->conns; c != NULL;) {
        bk_conn *next = c->next;
        conn_drop_queue(c, false); /* the env is gone: its connections with it */
        free(c);
        c = next;
    }
    if (!b->shut_down) {
        bk_coord_abandon(b); /* the env is gone: free memory, touch nothing */
        bk_txn_abandon(b);
        bk_cluster_abandon(b);
        weir_topics_abandon(&b->topics); /* as a crash: nothing written */
    }
    weir_arena_free(&b->arena);
    weir_wr_free(&b->out);
    weir_arena_free(&b->reply_arena);
    weir_wr_free(&b->reply_out);
    free(b);
}

const weir_node_type weir_broker_node = {"broker", broker_start, broker_destroy};
