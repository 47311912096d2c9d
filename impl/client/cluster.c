/* The client's connections, requests in flight, metadata and coordinator
 * lookups (see cluster.h). */
#include "client/cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"

#define MS 1000000LL
#define CL_ADDR_BYTES 192
#define CL_METADATA_VERSION 4
#define CL_FIND_COORDINATOR_VERSION 1

typedef struct cl_req {
    struct cl_req *next;
    int32_t correlation_id;
    int16_t api_key;
    int16_t api_version;
    int64_t deadline_ns;
    weir_cluster_response_cb cb;
    void *arg;
} cl_req;

typedef enum cl_state {
    CL_DOWN = 0,
    CL_CONNECTING,
    CL_UP,
} cl_state;

typedef struct cl_node {
    weir_cluster *cl;
    int32_t id; /* broker id; bootstrap entries are -1, -2, ... */
    char addr[CL_ADDR_BYTES];
    weir_conn *conn; /* NULL while DOWN; conn->data points back here */
    cl_state state;
    cl_req *head; /* oldest request in flight */
    cl_req *tail;
    int32_t in_flight;
    int32_t failures; /* consecutive, for the backoff */
    /* node_ready refused a request because the connection was full: on_wake
     * is owed once one of its requests ends. */
    bool wake_when_free;
    int64_t backoff_until_ns;
    weir_timer *deadline_timer; /* the oldest request's deadline */
    weir_timer *backoff_timer;  /* connect once the backoff ends */
} cl_node;

/* A weir_cluster_find_coordinator lookup until its callback runs. */
typedef struct cl_lookup {
    struct cl_lookup *next;
    weir_cluster *cl;
    int8_t key_type;
    char *key;
    weir_cluster_coordinator_cb cb;
    void *arg;
    int64_t deadline_ns; /* request_timeout_ms after the call */
    weir_timer *timer;   /* the next attempt, after retry_backoff_ms */
} cl_lookup;

typedef struct cl_topic {
    char *name;
    bool answered; /* some metadata answer named it */
    int16_t error; /* the topic's error in that answer */
    int32_t partition_count;
    int32_t *leaders; /* partition_count entries, -1 = none */
} cl_topic;

struct weir_cluster {
    weir_env *env;
    weir_cluster_config cfg;
    char *bootstrap;
    char *client_id;
    cl_node **nodes; /* bootstrap entries first, then brokers as metadata named them */
    size_t node_count;
    size_t node_cap;
    cl_topic *topics;
    size_t topic_count;
    size_t topic_cap;
    int32_t next_correlation_id;
    bool md_wanted;
    bool md_in_flight;
    bool md_ever;
    bool md_wait_for_room; /* every connection was open and full at the last attempt */
    int64_t md_last_attempt_ns;
    int64_t md_last_ok_ns;
    weir_timer *md_timer;
    int64_t md_timer_at_ns;
    size_t md_cursor;
    cl_lookup *lookups; /* coordinator lookups not answered yet */
    weir_arena arena;   /* the response being decoded */
    weir_wr out;        /* the request being encoded */
};

static void cl_md_schedule(weir_cluster *cl);

void weir_cluster_config_default(weir_cluster_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->request_timeout_ms = 30000;
    cfg->metadata_max_age_ms = 300000;
    cfg->retry_backoff_ms = 100;
    cfg->reconnect_backoff_ms = 50;
    cfg->reconnect_backoff_max_ms = 1000;
    cfg->in_flight_max = 5;
    cfg->allow_auto_topic_creation = true;
}

weir_env *weir_cluster_env(const weir_cluster *cl)
{
    return cl->env;
}

const char *weir_cluster_client_id(const weir_cluster *cl)
{
    return cl->client_id;
}

/* ---- nodes ---- */

static cl_node *cl_node_find(const weir_cluster *cl, int32_t id)
{
    for (size_t i = 0; i < cl->node_count; i++) {
        if (cl->nodes[i]->id == id) {
            return cl->nodes[i];
        }
    }
    return NULL;
}

static cl_node *cl_node_add(weir_cluster *cl, int32_t id, const char *addr)
{
    if (cl->node_count == cl->node_cap) {
        size_t cap = cl->node_cap ? cl->node_cap * 2 : 8;
        cl_node **nodes = realloc(cl->nodes, cap * sizeof *nodes);
        if (nodes == NULL) {
            return NULL;
        }
        cl->nodes = nodes;
        cl->node_cap = cap;
    }
    cl_node *n = calloc(1, sizeof *n);
    if (n == NULL) {
        return NULL;
    }
    n->cl = cl;
    n->id = id;
    snprintf(n->addr, sizeof n->addr, "%s", addr);
    cl->nodes[cl->node_count++] = n;
    return n;
}

static void cl_deadline_cb(weir_env *env, void *arg);

/* Arms the deadline timer for the oldest request (or none). */
static void cl_deadline_arm(cl_node *n)
{
    weir_env *env = n->cl->env;
    if (n->deadline_timer != NULL) {
        weir_timer_cancel(env, n->deadline_timer);
        n->deadline_timer = NULL;
    }
    if (n->head != NULL) {
        int64_t delay = n->head->deadline_ns - weir_now_ns(env);
        n->deadline_timer = weir_timer_start(env, delay > 0 ? delay : 0, cl_deadline_cb, n);
    }
}

/* Ends the node's connection: detaches it (closing it when close_conn), arms
 * the reconnect backoff, asks for fresh metadata, then fails every request
 * that was in flight with err, oldest first. */
static void cl_node_fail(cl_node *n, int err, bool close_conn)
{
    weir_cluster *cl = n->cl;
    weir_env *env = cl->env;
    weir_conn *conn = n->conn;
    n->conn = NULL;
    n->state = CL_DOWN;
    if (conn != NULL) {
        conn->data = NULL; /* its later events find nothing */
        if (close_conn) {
            weir_conn_close(conn);
        }
    }
    if (n->deadline_timer != NULL) {
        weir_timer_cancel(env, n->deadline_timer);
        n->deadline_timer = NULL;
    }
    n->failures++;
    int64_t backoff_ms = cl->cfg.reconnect_backoff_ms;
    for (int32_t i = 1; i < n->failures && backoff_ms < cl->cfg.reconnect_backoff_max_ms; i++) {
        backoff_ms *= 2;
    }
    if (backoff_ms > cl->cfg.reconnect_backoff_max_ms) {
        backoff_ms = cl->cfg.reconnect_backoff_max_ms;
    }
    /* Jitter in [-20 %, +20 %], as Kafka's clients do, from the node's PRNG. */
    int64_t jitter_pct = (int64_t)weir_random_below(env, 41) - 20;
    int64_t backoff_ns = backoff_ms * MS + backoff_ms * MS * jitter_pct / 100;
    n->backoff_until_ns = weir_now_ns(env) + backoff_ns;
    cl_req *list = n->head;
    int32_t lost = n->in_flight;
    n->head = n->tail = NULL;
    n->in_flight = 0;
    n->wake_when_free = false; /* the metadata answer asked for below wakes the owner */
    weir_log_info(env,
                  "%s: connection to node %d (%s) ended: %s; %d request(s) failed; "
                  "reconnect after %lld ms",
                  cl->client_id, n->id, n->addr, weir_err_str(err), lost,
                  (long long)(backoff_ns / MS));
    weir_cluster_metadata_request(cl);
    while (list != NULL) {
        cl_req *r = list;
        list = r->next;
        r->cb(cl, err, NULL, r->arg);
        free(r);
    }
}

static void cl_on_open(weir_conn *conn, void *arg)
{
    (void)arg;
    cl_node *n = conn->data;
    if (n == NULL) {
        return;
    }
    n->state = CL_UP;
    n->failures = 0;
    weir_log_debug(n->cl->env, "%s: connected to node %d (%s)", n->cl->client_id, n->id, n->addr);
    if (n->cl->cfg.on_wake != NULL) {
        n->cl->cfg.on_wake(n->cl->cfg.arg);
    }
}

static void cl_on_close(weir_conn *conn, int reason, void *arg)
{
    (void)arg;
    cl_node *n = conn->data;
    if (n == NULL) {
        return;
    }
    cl_node_fail(n, reason != 0 ? reason : WEIR_E_CLOSED, false);
}

static void cl_deadline_cb(weir_env *env, void *arg)
{
    cl_node *n = arg;
    n->deadline_timer = NULL;
    if (n->head == NULL) {
        return;
    }
    weir_log_warn(env, "%s: %s request %d to node %d (%s) timed out; closing the connection",
                  n->cl->client_id, weir_api_name(n->head->api_key), n->head->correlation_id, n->id,
                  n->addr);
    cl_node_fail(n, WEIR_E_TIMEOUT, true);
}

/* Decodes the body the request's key names. */
static int cl_decode_body(weir_cluster *cl, weir_rd *rd, int16_t key, int16_t v, weir_response *out)
{
    weir_arena *a = &cl->arena;
    switch (key) {
    case WEIR_API_METADATA:
        return weir_decode_metadata_response(rd, v, a, &out->body.metadata);
    case WEIR_API_PRODUCE:
        return weir_decode_produce_response(rd, v, a, &out->body.produce);
    case WEIR_API_FETCH:
        return weir_decode_fetch_response(rd, v, a, &out->body.fetch);
    case WEIR_API_LIST_OFFSETS:
        return weir_decode_list_offsets_response(rd, v, a, &out->body.list_offsets);
    case WEIR_API_API_VERSIONS:
        return weir_decode_api_versions_response(rd, v, a, &out->body.api_versions);
    case WEIR_API_CREATE_TOPICS:
        return weir_decode_create_topics_response(rd, v, a, &out->body.create_topics);
    case WEIR_API_DELETE_TOPICS:
        return weir_decode_delete_topics_response(rd, v, a, &out->body.delete_topics);
    case WEIR_API_FIND_COORDINATOR:
        return weir_decode_find_coordinator_response(rd, v, a, &out->body.find_coordinator);
    case WEIR_API_JOIN_GROUP:
        return weir_decode_join_group_response(rd, v, a, &out->body.join_group);
    case WEIR_API_SYNC_GROUP:
        return weir_decode_sync_group_response(rd, v, a, &out->body.sync_group);
    case WEIR_API_HEARTBEAT:
        return weir_decode_heartbeat_response(rd, v, a, &out->body.heartbeat);
    case WEIR_API_LEAVE_GROUP:
        return weir_decode_leave_group_response(rd, v, a, &out->body.leave_group);
    case WEIR_API_OFFSET_COMMIT:
        return weir_decode_offset_commit_response(rd, v, a, &out->body.offset_commit);
    case WEIR_API_OFFSET_FETCH:
        return weir_decode_offset_fetch_response(rd, v, a, &out->body.offset_fetch);
    case WEIR_API_DESCRIBE_GROUPS:
        return weir_decode_describe_groups_response(rd, v, a, &out->body.describe_groups);
    case WEIR_API_LIST_GROUPS:
        return weir_decode_list_groups_response(rd, v, a, &out->body.list_groups);
    case WEIR_API_INIT_PRODUCER_ID:
        return weir_decode_init_producer_id_response(rd, v, a, &out->body.init_producer_id);
    case WEIR_API_ADD_PARTITIONS_TO_TXN:
        return weir_decode_add_partitions_to_txn_response(rd, v, a,
                                                          &out->body.add_partitions_to_txn);
    case WEIR_API_ADD_OFFSETS_TO_TXN:
        return weir_decode_add_offsets_to_txn_response(rd, v, a, &out->body.add_offsets_to_txn);
    case WEIR_API_END_TXN:
        return weir_decode_end_txn_response(rd, v, a, &out->body.end_txn);
    case WEIR_API_TXN_OFFSET_COMMIT:
        return weir_decode_txn_offset_commit_response(rd, v, a, &out->body.txn_offset_commit);
    default:
        return WEIR_E_INVAL;
    }
}

/* Once a full connection takes requests again: schedules a metadata attempt
 * that found every connection full, and pays the wake-up node_ready owes.
 * Without them a refresh, or an owner refused only because other requests
 * (say a group member's commits to the same broker) filled the connection,
 * would wait for an event that never comes. */
static void cl_node_wake_if_free(cl_node *n)
{
    weir_cluster *cl = n->cl;
    if (n->state != CL_UP || n->in_flight >= cl->cfg.in_flight_max) {
        return;
    }
    if (cl->md_wait_for_room) {
        cl->md_wait_for_room = false;
        cl_md_schedule(cl);
    }
    if (n->wake_when_free) {
        n->wake_when_free = false;
        if (cl->cfg.on_wake != NULL) {
            cl->cfg.on_wake(cl->cfg.arg);
        }
    }
}

static void cl_on_frame(weir_conn *conn, const uint8_t *payload, size_t len, void *arg)
{
    (void)arg;
    cl_node *n = conn->data;
    if (n == NULL) {
        return;
    }
    weir_cluster *cl = n->cl;
    cl_req *r = n->head;
    if (r == NULL) {
        weir_log_warn(cl->env, "%s: node %d (%s) sent a frame nobody asked for", cl->client_id,
                      n->id, n->addr);
        cl_node_fail(n, WEIR_E_CORRUPT, true);
        return;
    }
    weir_rd rd;
    weir_rd_init(&rd, payload, len);
    int32_t corr = 0;
    int err = weir_decode_response_header(&rd, r->api_key, r->api_version, &corr);
    if (err != 0 || corr != r->correlation_id) {
        weir_log_warn(cl->env, "%s: node %d (%s): response correlation id %d, expected %d (%s)",
                      cl->client_id, n->id, n->addr, corr, r->correlation_id,
                      rd.why ? rd.why : "out of order");
        cl_node_fail(n, WEIR_E_CORRUPT, true);
        return;
    }
    n->head = r->next;
    if (n->head == NULL) {
        n->tail = NULL;
    }
    n->in_flight--;
    WEIR_ASSERT(n->in_flight >= 0);
    cl_deadline_arm(n);
    weir_arena_reset(&cl->arena);
    weir_response resp;
    memset(&resp, 0, sizeof resp);
    resp.api_key = r->api_key;
    resp.api_version = r->api_version;
    resp.correlation_id = corr;
    err = cl_decode_body(cl, &rd, r->api_key, r->api_version, &resp);
    if (err != 0) {
        weir_log_warn(cl->env, "%s: node %d (%s): malformed %s v%d response: %s", cl->client_id,
                      n->id, n->addr, weir_api_name(r->api_key), r->api_version,
                      rd.why ? rd.why : weir_err_str(err));
        r->cb(cl, WEIR_E_CORRUPT, NULL, r->arg);
        free(r);
        if (n->conn == conn) {
            cl_node_fail(n, WEIR_E_CORRUPT, true);
        }
        return;
    }
    r->cb(cl, 0, &resp, r->arg);
    free(r);
    cl_node_wake_if_free(n);
}

static void cl_backoff_cb(weir_env *env, void *arg);

/* Starts connecting n (DOWN, out of backoff). */
static int cl_node_connect(cl_node *n)
{
    weir_cluster *cl = n->cl;
    WEIR_ASSERT(n->state == CL_DOWN && n->conn == NULL);
    weir_conn_handlers h = {cl_on_open, cl_on_frame, cl_on_close, NULL};
    weir_conn *conn = NULL;
    int err = weir_connect(cl->env, n->addr, &h, &conn);
    if (err != 0) {
        weir_log_info(cl->env, "%s: cannot connect to node %d (%s): %s", cl->client_id, n->id,
                      n->addr, weir_err_str(err));
        n->failures++;
        n->backoff_until_ns = weir_now_ns(cl->env) + (int64_t)cl->cfg.reconnect_backoff_max_ms * MS;
        return err;
    }
    conn->data = n;
    n->conn = conn;
    n->state = CL_CONNECTING;
    return 0;
}

static void cl_backoff_cb(weir_env *env, void *arg)
{
    (void)env;
    cl_node *n = arg;
    n->backoff_timer = NULL;
    if (n->state == CL_DOWN) {
        weir_ignore(cl_node_connect(n));
    }
}

bool weir_cluster_node_ready(weir_cluster *cl, int32_t node_id)
{
    cl_node *n = cl_node_find(cl, node_id);
    if (n == NULL) {
        return false;
    }
    if (n->state == CL_UP) {
        if (n->in_flight < cl->cfg.in_flight_max) {
            return true;
        }
        n->wake_when_free = true;
        return false;
    }
    if (n->state == CL_CONNECTING) {
        return false;
    }
    int64_t now = weir_now_ns(cl->env);
    if (now >= n->backoff_until_ns) {
        weir_ignore(cl_node_connect(n));
    } else if (n->backoff_timer == NULL) {
        n->backoff_timer = weir_timer_start(cl->env, n->backoff_until_ns - now, cl_backoff_cb, n);
    }
    return false;
}

int32_t weir_cluster_in_flight(weir_cluster *cl, int32_t node_id)
{
    cl_node *n = cl_node_find(cl, node_id);
    return n != NULL ? n->in_flight : 0;
}

int weir_cluster_send(weir_cluster *cl, int32_t node_id, weir_request *r, int32_t timeout_ms,
                      weir_cluster_response_cb cb, void *arg)
{
    cl_node *n = cl_node_find(cl, node_id);
    if (n == NULL) {
        return WEIR_E_NOENT;
    }
    if (n->state == CL_DOWN) {
        if (weir_now_ns(cl->env) < n->backoff_until_ns) {
            return WEIR_E_AGAIN;
        }
        int err = cl_node_connect(n);
        if (err != 0) {
            return err;
        }
    }
    cl_req *req = NULL;
    if (cb != NULL) {
        req = calloc(1, sizeof *req);
        if (req == NULL) {
            return WEIR_E_NOMEM;
        }
    }
    r->header.correlation_id = cl->next_correlation_id++;
    r->header.client_id = weir_str_from(cl->client_id);
    weir_wr_reset(&cl->out);
    int err = weir_encode_request(&cl->out, r);
    if (err == 0) {
        err = weir_wr_status(&cl->out);
    }
    if (err == 0) {
        err = weir_conn_send(n->conn, cl->out.buf, cl->out.len);
    }
    if (err != 0) {
        weir_log_info(cl->env, "%s: cannot send %s to node %d (%s): %s", cl->client_id,
                      weir_api_name(r->header.api_key), n->id, n->addr, weir_err_str(err));
        free(req);
        return err;
    }
    if (req == NULL) {
        return 0;
    }
    req->correlation_id = r->header.correlation_id;
    req->api_key = r->header.api_key;
    req->api_version = r->header.api_version;
    req->deadline_ns = weir_now_ns(cl->env) +
                       (int64_t)(timeout_ms > 0 ? timeout_ms : cl->cfg.request_timeout_ms) * MS;
    req->cb = cb;
    req->arg = arg;
    if (n->tail != NULL) {
        n->tail->next = req;
    } else {
        n->head = req;
    }
    n->tail = req;
    n->in_flight++;
    if (n->head == req) {
        cl_deadline_arm(n);
    }
    return 0;
}

/* ---- metadata ---- */

static cl_topic *cl_topic_find(const weir_cluster *cl, const char *name, size_t len)
{
    for (size_t i = 0; i < cl->topic_count; i++) {
        if (strlen(cl->topics[i].name) == len && memcmp(cl->topics[i].name, name, len) == 0) {
            return &cl->topics[i];
        }
    }
    return NULL;
}

int weir_cluster_topic_want(weir_cluster *cl, const char *topic)
{
    if (topic == NULL || topic[0] == '\0') {
        return WEIR_E_INVAL;
    }
    if (cl_topic_find(cl, topic, strlen(topic)) != NULL) {
        return 0;
    }
    if (cl->topic_count == cl->topic_cap) {
        size_t cap = cl->topic_cap ? cl->topic_cap * 2 : 8;
        cl_topic *t = realloc(cl->topics, cap * sizeof *t);
        if (t == NULL) {
            return WEIR_E_NOMEM;
        }
        cl->topics = t;
        cl->topic_cap = cap;
    }
    cl_topic *t = &cl->topics[cl->topic_count];
    memset(t, 0, sizeof *t);
    t->name = strdup(topic);
    if (t->name == NULL) {
        return WEIR_E_NOMEM;
    }
    cl->topic_count++;
    weir_cluster_metadata_request(cl);
    return 0;
}

void weir_cluster_metadata_request(weir_cluster *cl)
{
    cl->md_wanted = true;
    cl_md_schedule(cl);
}

int weir_cluster_topic_partitions(weir_cluster *cl, const char *topic, int32_t *count_out,
                                  int16_t *kerr_out)
{
    cl_topic *t = cl_topic_find(cl, topic, strlen(topic));
    if (kerr_out != NULL) {
        *kerr_out = WEIR_KERR_NONE;
    }
    if (t == NULL || !t->answered) {
        return WEIR_E_AGAIN;
    }
    if (kerr_out != NULL) {
        *kerr_out = t->error;
    }
    if (t->error == WEIR_KERR_INVALID_TOPIC_EXCEPTION ||
        (t->error == WEIR_KERR_UNKNOWN_TOPIC_OR_PARTITION && !cl->cfg.allow_auto_topic_creation)) {
        return WEIR_E_NOENT;
    }
    if (t->error != WEIR_KERR_NONE || t->partition_count <= 0) {
        return WEIR_E_AGAIN;
    }
    *count_out = t->partition_count;
    return 0;
}

int32_t weir_cluster_leader(weir_cluster *cl, const char *topic, int32_t partition)
{
    cl_topic *t = cl_topic_find(cl, topic, strlen(topic));
    if (t == NULL || !t->answered || t->error != WEIR_KERR_NONE || partition < 0 ||
        partition >= t->partition_count) {
        return -1;
    }
    return t->leaders[partition];
}

/* Applies one topic of an answer. Returns true when it is complete (known,
 * every partition led). */
static bool cl_md_apply_topic(weir_cluster *cl, cl_topic *t, const weir_metadata_topic *mt)
{
    t->answered = true;
    t->error = mt->error_code;
    if (mt->error_code != WEIR_KERR_NONE) {
        return false;
    }
    int32_t count = mt->partition_count > 0 ? mt->partition_count : 0;
    for (int32_t i = 0; i < mt->partition_count; i++) {
        if (mt->partitions[i].partition_index >= count) {
            count = mt->partitions[i].partition_index + 1;
        }
    }
    int32_t *leaders = malloc((size_t)(count > 0 ? count : 1) * sizeof *leaders);
    if (leaders == NULL) {
        t->error = WEIR_KERR_UNKNOWN_SERVER_ERROR; /* try again with the next answer */
        return false;
    }
    for (int32_t i = 0; i < count; i++) {
        leaders[i] = -1;
    }
    bool complete = count > 0;
    for (int32_t i = 0; i < mt->partition_count; i++) {
        const weir_metadata_partition *mp = &mt->partitions[i];
        if (mp->partition_index < 0) {
            continue;
        }
        leaders[mp->partition_index] = mp->error_code == WEIR_KERR_NONE ? mp->leader_id : -1;
    }
    for (int32_t i = 0; i < count; i++) {
        if (leaders[i] < 0 || cl_node_find(cl, leaders[i]) == NULL) {
            leaders[i] = -1;
            complete = false;
        }
    }
    free(t->leaders);
    t->leaders = leaders;
    t->partition_count = count;
    return complete;
}

/* Adds broker node_id at host:port to the nodes, or moves it there (closing
 * a connection to its old address). Returns false when out of memory. */
static bool cl_node_learn(weir_cluster *cl, int32_t node_id, weir_str host, int32_t port)
{
    char addr[CL_ADDR_BYTES];
    snprintf(addr, sizeof addr, "%.*s:%d", (int)(host.len < 128 ? host.len : 128), host.p, port);
    cl_node *n = cl_node_find(cl, node_id);
    if (n == NULL) {
        if (cl_node_add(cl, node_id, addr) == NULL) {
            weir_log_error(cl->env, "%s: out of memory adding broker %d", cl->client_id, node_id);
            return false;
        }
    } else if (strcmp(n->addr, addr) != 0) {
        weir_log_info(cl->env, "%s: broker %d moved from %s to %s", cl->client_id, n->id, n->addr,
                      addr);
        snprintf(n->addr, sizeof n->addr, "%s", addr);
        if (n->state != CL_DOWN) {
            cl_node_fail(n, WEIR_E_CLOSED, true);
        }
    }
    return true;
}

static void cl_md_apply(weir_cluster *cl, const weir_metadata_response *md)
{
    for (int32_t i = 0; i < md->broker_count; i++) {
        const weir_metadata_broker *b = &md->brokers[i];
        if (b->node_id < 0 || b->host.len < 0) {
            continue;
        }
        cl_node_learn(cl, b->node_id, b->host, b->port); /* out of memory: logged, next answer */
    }
    bool complete = true;
    for (size_t i = 0; i < cl->topic_count; i++) {
        cl_topic *t = &cl->topics[i];
        const weir_metadata_topic *mt = NULL;
        for (int32_t j = 0; j < md->topic_count && mt == NULL; j++) {
            if (weir_str_eq_cstr(md->topics[j].name, t->name)) {
                mt = &md->topics[j];
            }
        }
        if (mt == NULL) {
            complete = false; /* asked for after this request went out */
            continue;
        }
        if (!cl_md_apply_topic(cl, t, mt)) {
            complete = false;
            weir_log_debug(cl->env, "%s: metadata for %s incomplete (%s)", cl->client_id, t->name,
                           weir_kerr_name(t->error));
        }
    }
    if (!complete) {
        cl->md_wanted = true; /* after retry_backoff_ms */
    }
}

static void cl_md_on_response(weir_cluster *cl, int err, const weir_response *resp, void *arg)
{
    (void)arg;
    cl->md_in_flight = false;
    if (err != 0) {
        cl->md_wanted = true;
        cl_md_schedule(cl);
        return;
    }
    cl->md_ever = true;
    cl->md_last_ok_ns = weir_now_ns(cl->env);
    cl_md_apply(cl, &resp->body.metadata);
    cl_md_schedule(cl);
    if (cl->cfg.on_wake != NULL) {
        cl->cfg.on_wake(cl->cfg.arg);
    }
}

/* The node for a metadata request: an open connection with the fewest
 * requests, else one being opened, else the next node (rotating) out of
 * backoff. NULL when every node is backing off; *retry_at_ns then says when
 * the first backoff ends. */
static cl_node *cl_md_pick(weir_cluster *cl, int64_t *retry_at_ns)
{
    cl_node *best = NULL;
    for (size_t i = 0; i < cl->node_count; i++) {
        cl_node *n = cl->nodes[i];
        if (n->state == CL_UP && n->in_flight < cl->cfg.in_flight_max &&
            (best == NULL || n->in_flight < best->in_flight)) {
            best = n;
        }
    }
    for (size_t i = 0; i < cl->node_count && best == NULL; i++) {
        if (cl->nodes[i]->state == CL_CONNECTING) {
            best = cl->nodes[i];
        }
    }
    if (best != NULL) {
        return best;
    }
    int64_t now = weir_now_ns(cl->env);
    *retry_at_ns = INT64_MAX;
    for (size_t k = 0; k < cl->node_count; k++) {
        cl_node *n = cl->nodes[(cl->md_cursor + k) % cl->node_count];
        if (n->state == CL_DOWN && now >= n->backoff_until_ns) {
            cl->md_cursor = (cl->md_cursor + k + 1) % cl->node_count;
            return n;
        }
        if (n->state == CL_DOWN && n->backoff_until_ns < *retry_at_ns) {
            *retry_at_ns = n->backoff_until_ns;
        }
    }
    return NULL;
}

static void cl_md_send(weir_cluster *cl)
{
    int64_t now = weir_now_ns(cl->env);
    int64_t retry_at = now;
    cl->md_wait_for_room = false;
    cl_node *n = cl_md_pick(cl, &retry_at);
    if (n == NULL) {
        cl->md_wanted = true;
        if (retry_at == INT64_MAX) {
            /* No backoff ends: every node is open and full. The answer that
             * frees one schedules the attempt (cl_node_wake_if_free). */
            cl->md_wait_for_room = true;
            cl->md_last_attempt_ns = now;
            return;
        }
        cl->md_last_attempt_ns = retry_at - (int64_t)cl->cfg.retry_backoff_ms * MS;
        cl_md_schedule(cl);
        return;
    }
    weir_str *names = malloc((cl->topic_count > 0 ? cl->topic_count : 1) * sizeof *names);
    if (names == NULL) {
        cl->md_last_attempt_ns = now;
        cl_md_schedule(cl);
        return;
    }
    for (size_t i = 0; i < cl->topic_count; i++) {
        names[i] = weir_str_from(cl->topics[i].name);
    }
    weir_request r;
    memset(&r, 0, sizeof r);
    r.header.api_key = WEIR_API_METADATA;
    r.header.api_version = CL_METADATA_VERSION;
    r.body.metadata.topic_count = (int32_t)cl->topic_count;
    r.body.metadata.topics = names;
    r.body.metadata.allow_auto_topic_creation = cl->cfg.allow_auto_topic_creation;
    cl->md_last_attempt_ns = now;
    cl->md_wanted = false;
    int err = weir_cluster_send(cl, n->id, &r, 0, cl_md_on_response, NULL);
    free(names);
    if (err != 0) {
        cl->md_wanted = true;
        cl_md_schedule(cl);
        return;
    }
    cl->md_in_flight = true;
    weir_log_debug(cl->env, "%s: metadata request to node %d (%s)", cl->client_id, n->id, n->addr);
}

static void cl_md_timer_cb(weir_env *env, void *arg)
{
    (void)env;
    weir_cluster *cl = arg;
    cl->md_timer = NULL;
    if (!cl->md_in_flight) {
        cl_md_send(cl);
    }
}

/* Arms the metadata timer for the next attempt, keeping an earlier one. */
static void cl_md_schedule(weir_cluster *cl)
{
    if (cl->md_in_flight) {
        return;
    }
    int64_t now = weir_now_ns(cl->env);
    int64_t at;
    if (cl->md_wanted) {
        at = cl->md_last_attempt_ns + (int64_t)cl->cfg.retry_backoff_ms * MS;
    } else if (cl->md_ever) {
        at = cl->md_last_ok_ns + (int64_t)cl->cfg.metadata_max_age_ms * MS;
    } else {
        return;
    }
    if (at < now) {
        at = now;
    }
    if (cl->md_timer != NULL) {
        if (cl->md_timer_at_ns <= at) {
            return;
        }
        weir_timer_cancel(cl->env, cl->md_timer);
    }
    cl->md_timer_at_ns = at;
    cl->md_timer = weir_timer_start(cl->env, at - now, cl_md_timer_cb, cl);
}

/* ---- coordinators ---- */

static void cl_lookup_attempt(weir_cluster *cl, cl_lookup *lk);

static void cl_lookup_unlink(weir_cluster *cl, cl_lookup *lk)
{
    cl_lookup **at = &cl->lookups;
    while (*at != lk) {
        WEIR_ASSERT(*at != NULL);
        at = &(*at)->next;
    }
    *at = lk->next;
}

/* Ends the lookup: its callback, then its memory. */
static void cl_lookup_done(weir_cluster *cl, cl_lookup *lk, int err, int32_t node_id)
{
    WEIR_ASSERT(lk->timer == NULL);
    cl_lookup_unlink(cl, lk);
    weir_cluster_coordinator_cb cb = lk->cb;
    void *arg = lk->arg;
    free(lk->key);
    free(lk);
    cb(cl, err, node_id, arg);
}

static void cl_lookup_timer_cb(weir_env *env, void *arg)
{
    (void)env;
    cl_lookup *lk = arg;
    lk->timer = NULL;
    cl_lookup_attempt(lk->cl, lk);
}

/* Tries again after retry_backoff_ms, or gives up with WEIR_E_TIMEOUT when
 * that would pass the lookup's deadline. */
static void cl_lookup_retry(weir_cluster *cl, cl_lookup *lk, const char *why)
{
    int64_t now = weir_now_ns(cl->env);
    int64_t at = now + (int64_t)cl->cfg.retry_backoff_ms * MS;
    if (at >= lk->deadline_ns) {
        weir_log_warn(cl->env, "%s: no coordinator for %s '%s' within %d ms (last: %s)",
                      cl->client_id, lk->key_type == WEIR_COORDINATOR_GROUP ? "group" : "txn",
                      lk->key, cl->cfg.request_timeout_ms, why);
        cl_lookup_done(cl, lk, WEIR_E_TIMEOUT, -1);
        return;
    }
    weir_log_debug(cl->env, "%s: coordinator lookup for '%s': %s; retrying", cl->client_id, lk->key,
                   why);
    lk->timer = weir_timer_start(cl->env, at - now, cl_lookup_timer_cb, lk);
}

static bool cl_coordinator_retriable(int16_t error)
{
    return error == WEIR_KERR_COORDINATOR_NOT_AVAILABLE ||
           error == WEIR_KERR_COORDINATOR_LOAD_IN_PROGRESS || error == WEIR_KERR_NOT_COORDINATOR ||
           error == WEIR_KERR_REQUEST_TIMED_OUT;
}

static void cl_lookup_on_response(weir_cluster *cl, int err, const weir_response *resp, void *arg)
{
    cl_lookup *lk = arg;
    if (err != 0) {
        cl_lookup_retry(cl, lk, weir_err_str(err));
        return;
    }
    const weir_find_coordinator_response *fc = &resp->body.find_coordinator;
    if (fc->error_code != WEIR_KERR_NONE) {
        if (cl_coordinator_retriable(fc->error_code)) {
            cl_lookup_retry(cl, lk, weir_kerr_name(fc->error_code));
            return;
        }
        weir_log_warn(cl->env, "%s: coordinator lookup for '%s' failed: %s", cl->client_id, lk->key,
                      weir_kerr_name(fc->error_code));
        cl_lookup_done(cl, lk, WEIR_E_INVAL, -1);
        return;
    }
    if (fc->node_id < 0 || fc->host.len <= 0 || fc->port <= 0 || fc->port > 65535) {
        cl_lookup_retry(cl, lk, "no usable coordinator address");
        return;
    }
    if (!cl_node_learn(cl, fc->node_id, fc->host, fc->port)) {
        cl_lookup_done(cl, lk, WEIR_E_NOMEM, -1);
        return;
    }
    weir_log_debug(cl->env, "%s: coordinator for '%s' is node %d", cl->client_id, lk->key,
                   fc->node_id);
    cl_lookup_done(cl, lk, 0, fc->node_id);
}

/* Sends one FindCoordinator to the node metadata would use. */
static void cl_lookup_attempt(weir_cluster *cl, cl_lookup *lk)
{
    int64_t now = weir_now_ns(cl->env);
    int64_t retry_at = now;
    cl_node *n = cl_md_pick(cl, &retry_at);
    if (n == NULL) {
        cl_lookup_retry(cl, lk, "no node to ask");
        return;
    }
    weir_request r;
    memset(&r, 0, sizeof r);
    r.header.api_key = WEIR_API_FIND_COORDINATOR;
    r.header.api_version = CL_FIND_COORDINATOR_VERSION;
    r.body.find_coordinator.key = weir_str_from(lk->key);
    r.body.find_coordinator.key_type = lk->key_type;
    int64_t left_ms = (lk->deadline_ns - now) / MS;
    int32_t timeout_ms = left_ms < 1 ? 1 : (int32_t)left_ms;
    int err = weir_cluster_send(cl, n->id, &r, timeout_ms, cl_lookup_on_response, lk);
    if (err != 0) {
        cl_lookup_retry(cl, lk, weir_err_str(err));
    }
}

int weir_cluster_find_coordinator(weir_cluster *cl, int8_t key_type, const char *key,
                                  weir_cluster_coordinator_cb cb, void *arg)
{
    WEIR_ASSERT(cb != NULL && key != NULL);
    WEIR_ASSERT(key_type == WEIR_COORDINATOR_GROUP || key_type == WEIR_COORDINATOR_TRANSACTION);
    cl_lookup *lk = calloc(1, sizeof *lk);
    if (lk == NULL || (lk->key = strdup(key)) == NULL) {
        free(lk);
        return WEIR_E_NOMEM;
    }
    lk->cl = cl;
    lk->key_type = key_type;
    lk->cb = cb;
    lk->arg = arg;
    lk->deadline_ns = weir_now_ns(cl->env) + (int64_t)cl->cfg.request_timeout_ms * MS;
    lk->next = cl->lookups;
    cl->lookups = lk;
    /* From a timer, so the callback never runs inside this call. */
    lk->timer = weir_timer_start(cl->env, 0, cl_lookup_timer_cb, lk);
    return 0;
}

/* ---- lifecycle ---- */

static int cl_bootstrap_parse(weir_cluster *cl, const char **why)
{
    const char *p = cl->bootstrap;
    int32_t next_id = -1;
    while (*p != '\0') {
        while (*p == ' ' || *p == ',') {
            p++;
        }
        const char *end = p;
        while (*end != '\0' && *end != ',' && *end != ' ') {
            end++;
        }
        if (end == p) {
            break;
        }
        char addr[CL_ADDR_BYTES];
        char host[CL_ADDR_BYTES];
        int port;
        size_t len = (size_t)(end - p);
        if (len >= sizeof addr) {
            *why = "bootstrap address too long";
            return WEIR_E_INVAL;
        }
        memcpy(addr, p, len);
        addr[len] = '\0';
        if (weir_addr_split(addr, host, sizeof host, &port) != 0 || port == 0 || host[0] == '\0') {
            *why = "bootstrap address is not host:port";
            return WEIR_E_INVAL;
        }
        if (cl_node_add(cl, next_id--, addr) == NULL) {
            *why = "out of memory";
            return WEIR_E_NOMEM;
        }
        p = end;
    }
    if (cl->node_count == 0) {
        *why = "no bootstrap address";
        return WEIR_E_INVAL;
    }
    return 0;
}

static void cl_release(weir_cluster *cl, bool env_live)
{
    if (cl == NULL) {
        return;
    }
    for (size_t i = 0; i < cl->node_count; i++) {
        cl_node *n = cl->nodes[i];
        if (env_live) {
            if (n->deadline_timer != NULL) {
                weir_timer_cancel(cl->env, n->deadline_timer);
            }
            if (n->backoff_timer != NULL) {
                weir_timer_cancel(cl->env, n->backoff_timer);
            }
            if (n->conn != NULL) {
                n->conn->data = NULL;
                weir_conn_close(n->conn);
            }
        }
        while (n->head != NULL) {
            cl_req *r = n->head;
            n->head = r->next;
            free(r);
        }
        free(n);
    }
    if (env_live && cl->md_timer != NULL) {
        weir_timer_cancel(cl->env, cl->md_timer);
    }
    while (cl->lookups != NULL) {
        cl_lookup *lk = cl->lookups;
        cl->lookups = lk->next;
        if (env_live && lk->timer != NULL) {
            weir_timer_cancel(cl->env, lk->timer);
        }
        free(lk->key);
        free(lk);
    }
    for (size_t i = 0; i < cl->topic_count; i++) {
        free(cl->topics[i].name);
        free(cl->topics[i].leaders);
    }
    free(cl->topics);
    free(cl->nodes);
    free(cl->bootstrap);
    free(cl->client_id);
    weir_arena_free(&cl->arena);
    weir_wr_free(&cl->out);
    free(cl);
}

weir_cluster *weir_cluster_new(weir_env *env, const weir_cluster_config *cfg, const char **why)
{
    const char *dummy;
    if (why == NULL) {
        why = &dummy;
    }
    *why = NULL;
    if (cfg->bootstrap == NULL || cfg->request_timeout_ms <= 0 || cfg->retry_backoff_ms < 0 ||
        cfg->reconnect_backoff_ms <= 0 ||
        cfg->reconnect_backoff_max_ms < cfg->reconnect_backoff_ms || cfg->in_flight_max <= 0 ||
        cfg->metadata_max_age_ms <= 0) {
        *why =
            cfg->bootstrap == NULL ? "no bootstrap address" : "a timeout or limit is out of range";
        return NULL;
    }
    weir_cluster *cl = calloc(1, sizeof *cl);
    if (cl == NULL) {
        *why = "out of memory";
        return NULL;
    }
    cl->env = env;
    cl->cfg = *cfg;
    cl->bootstrap = strdup(cfg->bootstrap);
    cl->client_id = strdup(cfg->client_id != NULL ? cfg->client_id : "weir");
    cl->next_correlation_id = 1;
    weir_arena_init(&cl->arena, WEIR_ARENA_BYTES_MAX_DEFAULT);
    weir_wr_init(&cl->out);
    if (cl->bootstrap == NULL || cl->client_id == NULL) {
        *why = "out of memory";
        cl_release(cl, false);
        return NULL;
    }
    if (cl_bootstrap_parse(cl, why) != 0) {
        cl_release(cl, false);
        return NULL;
    }
    return cl;
}

void weir_cluster_free(weir_cluster *cl)
{
    cl_release(cl, true);
}

void weir_cluster_abandon(weir_cluster *cl)
{
    cl_release(cl, false);
}
