/* The group coordinator in the simulator, driven by raw protocol clients
 * (weir's own codec), plus the coordinator key hash.
 *
 * Standalone broker: FindCoordinator before __consumer_offsets exists answers
 * COORDINATOR_NOT_AVAILABLE, then the broker itself; three members join
 * (JoinGroup v5 with MEMBER_ID_REQUIRED for two, v2 for the third) into
 * generation 1, the leader gets the three members' metadata, the followers
 * none (a JoinGroup with too short a session or no common protocol is
 * refused); SyncGroup hands each its assignment; heartbeats pass; an OffsetCommit
 * comes back from OffsetFetch with its metadata, a stale generation gets
 * ILLEGAL_GENERATION, an unknown member UNKNOWN_MEMBER_ID; one member goes
 * silent and its session timeout moves the other two to generation 2; a
 * LeaveGroup moves the last one to generation 3. Transactional offsets show
 * only after a COMMIT marker, never after an ABORT; after a crash and restart
 * the reloaded partition gives the same offsets and group generation; a
 * clean shutdown with a JoinGroup held frees everything (ASan build).
 *
 * Cluster: a controller and three brokers, __consumer_offsets with
 * replication factor 3 and min ISR 2; a member commits, the coordinator's
 * broker crashes, and the new coordinator returns the same offsets and knows
 * the member and its generation; cut off its follower, it answers a commit
 * with REQUEST_TIMED_OUT after offsets.commit.timeout.ms, and commits go
 * through again after the heal.
 *
 * Each run is a forked child (SimGrid starts once per process); each runs
 * twice and must give the same trace hash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker/broker.h"
#include "broker/coord.h"
#include "broker/group.h"
#include "controller/controller.h"
#include "log/batch.h"
#include "log/log.h"
#include "proto/messages.h"
#include "sim.h"
#include "child_exit.h"

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#endif

#define MS 1000000LL
#define SESSION_MS 6000

/* ---- a raw protocol connection: requests out, answers matched in order ---- */

typedef struct tconn tconn;
typedef void (*answer_fn)(tconn *tc, int16_t version, weir_rd *rd, weir_arena *a, void *ctx);

typedef struct pending {
    int16_t key;
    int16_t version;
    answer_fn fn;
    void *ctx;
} pending;

struct tconn {
    weir_env *env;
    weir_conn *conn;
    char addr[32];
    pending q[32];
    int head;
    int tail;
    int32_t corr;
    bool closed;
};

static char failure[512];

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond) && failure[0] == '\0') {                                                       \
            snprintf(failure, sizeof failure, __VA_ARGS__);                                        \
        }                                                                                          \
    } while (0)

static void tconn_frame(weir_conn *conn, const uint8_t *p, size_t len, void *arg)
{
    (void)conn;
    tconn *tc = arg;
    if (tc->head == tc->tail) {
        CHECK(false, "an answer nobody asked for on %s", tc->addr);
        return;
    }
    pending pd = tc->q[tc->head % 32];
    tc->head++;
    weir_rd rd;
    weir_rd_init(&rd, p, len);
    weir_arena a;
    weir_arena_init(&a, 0);
    int32_t corr;
    if (weir_decode_response_header(&rd, pd.key, pd.version, &corr) != 0) {
        CHECK(false, "bad %s response header", weir_api_name(pd.key));
    } else if (pd.fn != NULL) {
        pd.fn(tc, pd.version, &rd, &a, pd.ctx);
    }
    weir_arena_free(&a);
}

static void tconn_closed(weir_conn *conn, int reason, void *arg)
{
    (void)conn;
    (void)reason;
    tconn *tc = arg;
    tc->closed = true;
    tc->conn = NULL;
    tc->head = tc->tail; /* the answers will not come */
}

static void tconn_open(tconn *tc, weir_env *env, const char *addr)
{
    if (tc->conn != NULL) { /* the old one says nothing more */
        weir_conn_detach(tc->conn);
        weir_conn_close(tc->conn);
        tc->conn = NULL;
    }
    tc->env = env;
    snprintf(tc->addr, sizeof tc->addr, "%s", addr);
    tc->head = tc->tail = 0;
    tc->closed = false;
    weir_conn_handlers h = {NULL, tconn_frame, tconn_closed, tc};
    if (weir_connect(env, addr, &h, &tc->conn) != 0) {
        tc->conn = NULL;
        tc->closed = true;
    }
}

static void tconn_send(tconn *tc, weir_request *r, answer_fn fn, void *ctx)
{
    if (tc->conn == NULL) {
        return;
    }
    r->header.correlation_id = ++tc->corr;
    r->header.client_id = weir_str_from("sim-member");
    weir_wr w;
    weir_wr_init(&w);
    if (weir_encode_request(&w, r) != 0 || weir_conn_send(tc->conn, w.buf, w.len) != 0) {
        CHECK(false, "could not send %s", weir_api_name(r->header.api_key));
    } else {
        tc->q[tc->tail % 32] = (pending){r->header.api_key, r->header.api_version, fn, ctx};
        tc->tail++;
    }
    weir_wr_free(&w);
}

static bool tconn_idle(const tconn *tc)
{
    return tc->head == tc->tail;
}

/* ---- requests ---- */

static void req_init(weir_request *r, int16_t key, int16_t version)
{
    memset(r, 0, sizeof *r);
    r->header.api_key = key;
    r->header.api_version = version;
}

static void send_find(tconn *tc, const char *key, answer_fn fn, void *ctx)
{
    weir_request r;
    req_init(&r, WEIR_API_FIND_COORDINATOR, 2);
    r.body.find_coordinator = (weir_find_coordinator_request){weir_str_from(key), 0};
    tconn_send(tc, &r, fn, ctx);
}

static const uint8_t subscription[] = {0, 1, 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 0};

static void send_join(tconn *tc, int16_t version, const char *group, const char *member_id,
                      answer_fn fn, void *ctx)
{
    static weir_join_group_protocol protos[2];
    protos[0] =
        (weir_join_group_protocol){weir_str_from("range"), {subscription, sizeof subscription}};
    protos[1] = (weir_join_group_protocol){weir_str_from("roundrobin"),
                                           {subscription, sizeof subscription}};
    weir_request r;
    req_init(&r, WEIR_API_JOIN_GROUP, version);
    r.body.join_group = (weir_join_group_request){
        weir_str_from(group),      SESSION_MS, 10000, weir_str_from(member_id), WEIR_STR_NULL,
        weir_str_from("consumer"), 2,          protos};
    tconn_send(tc, &r, fn, ctx);
}

static void send_sync(tconn *tc, const char *group, int32_t generation, const char *member_id,
                      int n, const weir_sync_group_assignment *as, answer_fn fn, void *ctx)
{
    weir_request r;
    req_init(&r, WEIR_API_SYNC_GROUP, 3);
    r.body.sync_group = (weir_sync_group_request){
        weir_str_from(group), generation, weir_str_from(member_id), WEIR_STR_NULL, n, as};
    tconn_send(tc, &r, fn, ctx);
}

static void send_heartbeat(tconn *tc, const char *group, int32_t generation, const char *member_id,
                           answer_fn fn, void *ctx)
{
    weir_request r;
    req_init(&r, WEIR_API_HEARTBEAT, 3);
    r.body.heartbeat = (weir_heartbeat_request){weir_str_from(group), generation,
                                                weir_str_from(member_id), WEIR_STR_NULL};
    tconn_send(tc, &r, fn, ctx);
}

static void send_commit(tconn *tc, int16_t version, const char *group, int32_t generation,
                        const char *member_id, int32_t partition, int64_t offset, const char *meta,
                        answer_fn fn, void *ctx)
{
    static weir_offset_commit_partition op;
    static weir_offset_commit_topic ot;
    op = (weir_offset_commit_partition){partition, offset, 3, -1, weir_str_from(meta)};
    ot = (weir_offset_commit_topic){weir_str_from("t"), 1, &op};
    weir_request r;
    req_init(&r, WEIR_API_OFFSET_COMMIT, version);
    r.body.offset_commit = (weir_offset_commit_request){
        weir_str_from(group), generation, weir_str_from(member_id), WEIR_STR_NULL, -1, 1, &ot};
    tconn_send(tc, &r, fn, ctx);
}

static void send_txn_commit(tconn *tc, const char *group, int64_t pid, int32_t partition,
                            int64_t offset, answer_fn fn, void *ctx)
{
    static weir_txn_offset_commit_partition op;
    static weir_txn_offset_commit_topic ot;
    op = (weir_txn_offset_commit_partition){partition, offset, -1, weir_str_from("txn")};
    ot = (weir_txn_offset_commit_topic){weir_str_from("t"), 1, &op};
    weir_request r;
    req_init(&r, WEIR_API_TXN_OFFSET_COMMIT, 2);
    r.body.txn_offset_commit = (weir_txn_offset_commit_request){
        weir_str_from("txn-1"), weir_str_from(group), pid, 0, 1, &ot};
    tconn_send(tc, &r, fn, ctx);
}

static void on_produce(tconn *tc, int16_t version, weir_rd *rd, weir_arena *a, void *ctx)
{
    (void)tc;
    int16_t *out = ctx;
    weir_produce_response resp;
    *out = weir_decode_produce_response(rd, version, a, &resp) == 0 && resp.topic_count == 1 &&
                   resp.topics[0].partition_count == 1
               ? resp.topics[0].partitions[0].error_code
               : -3;
}

/* A client's Produce v7 of one record to partition of an internal topic:
 * only the coordinators may write there. */
static void send_internal_produce(tconn *tc, int32_t partition, int16_t *out)
{
    static uint8_t batch[128];
    weir_batch_builder bb;
    weir_batch_builder_init(&bb);
    weir_batch_builder_add(&bb, 1000, "k", 1, "v", 1, NULL, 0);
    uint8_t *buf;
    size_t len;
    if (weir_batch_builder_finish(&bb, &buf, &len) != 0 || len > sizeof batch) {
        weir_batch_builder_free(&bb);
        *out = -4;
        return;
    }
    memcpy(batch, buf, len);
    weir_batch_builder_free(&bb);
    static weir_produce_partition pp;
    static weir_produce_topic pt;
    pp = (weir_produce_partition){partition, {batch, (int32_t)len}};
    pt = (weir_produce_topic){weir_str_from("__consumer_offsets"), 1, &pp};
    weir_request r;
    req_init(&r, WEIR_API_PRODUCE, 7);
    r.body.produce = (weir_produce_request){WEIR_STR_NULL, -1, 5000, 1, &pt};
    *out = -2;
    tconn_send(tc, &r, on_produce, out);
}

/* OffsetFetch v5 of t/0 and t/1 (all = true: null topics, every offset). */
static void send_fetch_offsets(tconn *tc, const char *group, bool all, answer_fn fn, void *ctx)
{
    static const int32_t parts[] = {0, 1};
    static weir_offset_fetch_topic ft;
    ft = (weir_offset_fetch_topic){weir_str_from("t"), 2, parts};
    weir_request r;
    req_init(&r, WEIR_API_OFFSET_FETCH, 5);
    r.body.offset_fetch =
        (weir_offset_fetch_request){weir_str_from(group), all ? -1 : 1, all ? NULL : &ft};
    tconn_send(tc, &r, fn, ctx);
}

/* ---- the committed offsets a fetch saw ---- */

typedef struct fetched {
    bool done;
    int16_t error;
    int64_t offset[2];
    int32_t epoch[2];
    char meta[2][32];
    int n_topics;
    int n_partitions;
} fetched;

static void on_fetch_offsets(tconn *tc, int16_t version, weir_rd *rd, weir_arena *a, void *ctx)
{
    (void)tc;
    fetched *f = ctx;
    weir_offset_fetch_response resp;
    memset(f, 0, sizeof *f);
    f->offset[0] = f->offset[1] = -2;
    f->done = true;
    if (weir_decode_offset_fetch_response(rd, version, a, &resp) != 0) {
        CHECK(false, "OffsetFetch: cannot decode");
        return;
    }
    f->error = resp.error_code;
    f->n_topics = resp.topic_count;
    for (int32_t i = 0; i < resp.topic_count; i++) {
        for (int32_t j = 0; j < resp.topics[i].partition_count; j++) {
            const weir_offset_fetch_partition_response *p = &resp.topics[i].partitions[j];
            f->n_partitions++;
            if (p->error_code != 0) {
                f->error = p->error_code;
            }
            if (p->partition_index == 0 || p->partition_index == 1) {
                f->offset[p->partition_index] = p->committed_offset;
                f->epoch[p->partition_index] = p->committed_leader_epoch;
                snprintf(f->meta[p->partition_index], 32, "%.*s",
                         p->metadata.len > 0 ? p->metadata.len : 0, p->metadata.p);
            }
        }
    }
}

typedef struct simple_answer {
    bool done;
    int16_t error;
} simple_answer;

static void on_commit(tconn *tc, int16_t version, weir_rd *rd, weir_arena *a, void *ctx)
{
    (void)tc;
    simple_answer *s = ctx;
    weir_offset_commit_response resp;
    s->done = true;
    s->error = -2;
    if (weir_decode_offset_commit_response(rd, version, a, &resp) == 0 && resp.topic_count == 1 &&
        resp.topics[0].partition_count == 1) {
        s->error = resp.topics[0].partitions[0].error_code;
    }
}

static void on_txn_commit(tconn *tc, int16_t version, weir_rd *rd, weir_arena *a, void *ctx)
{
    (void)tc;
    simple_answer *s = ctx;
    weir_txn_offset_commit_response resp;
    s->done = true;
    s->error = -2;
    if (weir_decode_txn_offset_commit_response(rd, version, a, &resp) == 0 &&
        resp.topic_count == 1 && resp.topics[0].partition_count == 1) {
        s->error = resp.topics[0].partitions[0].error_code;
    }
}

typedef struct found {
    bool done;
    int16_t error;
    int32_t node_id;
    char host[32];
    int32_t port;
} found;

static void on_find(tconn *tc, int16_t version, weir_rd *rd, weir_arena *a, void *ctx)
{
    (void)tc;
    found *f = ctx;
    weir_find_coordinator_response resp;
    f->done = true;
    f->error = -2;
    if (weir_decode_find_coordinator_response(rd, version, a, &resp) == 0) {
        f->error = resp.error_code;
        f->node_id = resp.node_id;
        f->port = resp.port;
        snprintf(f->host, sizeof f->host, "%.*s", resp.host.len > 0 ? resp.host.len : 0,
                 resp.host.p);
    }
}

/* ---- a group member ---- */

typedef struct member {
    tconn tc;
    int idx;
    int16_t join_version;
    char id[160];
    int32_t generation;
    char leader[160];
    int n_members_got; /* in the last JoinGroup answer */
    int16_t join_error;
    bool joining;
    bool joined;
    bool syncing;
    bool synced;
    int16_t sync_error;
    char assignment[32];
    bool hb_in_flight;
    int16_t hb_error;
    int64_t hb_last_ns;
    bool silent; /* stops heartbeating */
    int rejoins;
} member;

static const char *GROUP = "g";

static void on_join(tconn *tc, int16_t version, weir_rd *rd, weir_arena *a, void *ctx);

static void member_join(member *m)
{
    m->joining = true;
    m->joined = false;
    m->synced = false;
    send_join(&m->tc, m->join_version, GROUP, m->id, on_join, m);
}

static void on_join(tconn *tc, int16_t version, weir_rd *rd, weir_arena *a, void *ctx)
{
    (void)tc;
    member *m = ctx;
    weir_join_group_response resp;
    if (weir_decode_join_group_response(rd, version, a, &resp) != 0) {
        CHECK(false, "JoinGroup: cannot decode");
        return;
    }
    m->join_error = resp.error_code;
    if (resp.error_code == WEIR_KERR_MEMBER_ID_REQUIRED) {
        CHECK(version >= 4 && resp.member_id.len > 0, "MEMBER_ID_REQUIRED without a member id");
        snprintf(m->id, sizeof m->id, "%.*s", resp.member_id.len, resp.member_id.p);
        member_join(m);
        return;
    }
    m->joining = false;
    if (resp.error_code != 0) {
        return;
    }
    m->joined = true;
    snprintf(m->id, sizeof m->id, "%.*s", resp.member_id.len, resp.member_id.p);
    snprintf(m->leader, sizeof m->leader, "%.*s", resp.leader.len, resp.leader.p);
    m->generation = resp.generation_id;
    m->n_members_got = resp.member_count;
    CHECK(weir_str_eq_cstr(resp.protocol_name, "range"), "protocol %.*s, not range",
          resp.protocol_name.len, resp.protocol_name.p);
    for (int32_t i = 0; i < resp.member_count; i++) {
        CHECK(weir_bytes_eq(resp.members[i].metadata,
                            (weir_bytes){subscription, (int32_t)sizeof subscription}),
              "the leader got a member's metadata wrong");
    }
}

static void on_sync(tconn *tc, int16_t version, weir_rd *rd, weir_arena *a, void *ctx)
{
    (void)tc;
    member *m = ctx;
    weir_sync_group_response resp;
    m->syncing = false;
    if (weir_decode_sync_group_response(rd, version, a, &resp) != 0) {
        CHECK(false, "SyncGroup: cannot decode");
        return;
    }
    m->sync_error = resp.error_code;
    m->synced = resp.error_code == 0;
    snprintf(m->assignment, sizeof m->assignment, "%.*s",
             resp.assignment.len > 0 ? resp.assignment.len : 0, (const char *)resp.assignment.p);
}

static void member_sync(member *m, member *all, int n)
{
    m->syncing = true;
    bool leader = strcmp(m->id, m->leader) == 0;
    static weir_sync_group_assignment as[3];
    static char text[3][16];
    int k = 0;
    for (int i = 0; leader && i < n; i++) {
        if (all[i].joined && all[i].generation == m->generation) {
            snprintf(text[k], sizeof text[k], "assign-%d", all[i].idx);
            as[k] = (weir_sync_group_assignment){
                weir_str_from(all[i].id), {(const uint8_t *)text[k], (int32_t)strlen(text[k])}};
            k++;
        }
    }
    send_sync(&m->tc, GROUP, m->generation, m->id, k, as, on_sync, m);
}

static void on_heartbeat(tconn *tc, int16_t version, weir_rd *rd, weir_arena *a, void *ctx)
{
    (void)tc;
    (void)a;
    member *m = ctx;
    weir_heartbeat_response resp;
    m->hb_in_flight = false;
    if (weir_decode_heartbeat_response(rd, version, a, &resp) != 0) {
        CHECK(false, "Heartbeat: cannot decode");
        return;
    }
    m->hb_error = resp.error_code;
}

static void member_heartbeat(member *m)
{
    m->hb_in_flight = true;
    m->hb_last_ns = weir_now_ns(m->tc.env);
    send_heartbeat(&m->tc, GROUP, m->generation, m->id, on_heartbeat, m);
}

/* ---- the standalone run ---- */

typedef struct standalone {
    weir_world *w;
    weir_env *env;
    tconn admin;
    member m[3];
    int phase;
    int64_t phase_ns;
    found find;
    int16_t first_find_error;
    simple_answer commit, stale, unknown, simple, txn1, txn2;
    simple_answer bad_session, bad_protocol; /* JoinGroup errors */
    fetched f;
    int32_t coord_index;
    int64_t silent_since_ns;
    int64_t rebalance_seen_ns;
    bool restarted;
    bool shutdown_posted;
    int16_t m2_late_hb;
    int16_t internal_produce; /* a client's Produce to __consumer_offsets; -2 unanswered */
    bool done;
    /* results */
    int32_t gen_after_join;
    int32_t gen_after_timeout;
    int32_t gen_after_leave;
    int32_t gen_after_restart;
    int leader_members_got;
    int follower_members_got;
    char describe_state[32];
    int describe_members;
    int list_groups;
} standalone;

static standalone S;

static void on_describe(tconn *tc, int16_t version, weir_rd *rd, weir_arena *a, void *ctx)
{
    (void)tc;
    (void)ctx;
    weir_describe_groups_response resp;
    if (weir_decode_describe_groups_response(rd, version, a, &resp) == 0 && resp.group_count == 1) {
        snprintf(S.describe_state, sizeof S.describe_state, "%.*s",
                 resp.groups[0].group_state.len > 0 ? resp.groups[0].group_state.len : 0,
                 resp.groups[0].group_state.p);
        S.describe_members = resp.groups[0].member_count;
    }
}

static void on_list(tconn *tc, int16_t version, weir_rd *rd, weir_arena *a, void *ctx)
{
    (void)tc;
    (void)ctx;
    weir_list_groups_response resp;
    if (weir_decode_list_groups_response(rd, version, a, &resp) == 0 && resp.error_code == 0) {
        S.list_groups = resp.group_count;
        CHECK(resp.group_count >= 1 && weir_str_eq_cstr(resp.groups[0].group_id, GROUP),
              "ListGroups does not list the group");
    }
}

static void on_create(tconn *tc, int16_t version, weir_rd *rd, weir_arena *a, void *ctx)
{
    (void)tc;
    (void)ctx;
    weir_create_topics_response resp;
    CHECK(weir_decode_create_topics_response(rd, version, a, &resp) == 0 && resp.topic_count == 1 &&
              resp.topics[0].error_code == 0,
          "CreateTopics failed");
}

static bool all_joined(int n, int32_t generation)
{
    for (int i = 0; i < n; i++) {
        if (S.m[i].silent) {
            continue;
        }
        if (!S.m[i].joined || S.m[i].generation != generation) {
            return false;
        }
    }
    return true;
}

static bool all_synced(void)
{
    for (int i = 0; i < 3; i++) {
        if (!S.m[i].silent && (!S.m[i].joined || !S.m[i].synced)) {
            return false;
        }
    }
    return true;
}

static void next_phase(int phase)
{
    S.phase = phase;
    S.phase_ns = weir_now_ns(S.env);
}

/* Appends a transaction marker on the broker's own actor, as WriteTxnMarkers
 * will, and tells the group coordinator. */
typedef struct marker_job {
    int64_t pid;
    bool commit;
} marker_job;

static marker_job marker_jobs[2];

static void marker_on_broker(weir_env *env, void *arg)
{
    (void)env;
    marker_job *job = arg;
    weir_broker *b = weir_world_node_state(S.w, "broker");
    struct weir_plog *log = weir_broker_partition_log(b, BK_OFFSETS_TOPIC, S.coord_index);
    weir_broker_partition_info info;
    weir_broker_partition(b, BK_OFFSETS_TOPIC, S.coord_index, &info);
    const char *why = NULL;
    int err =
        weir_plog_append_marker(log, job->pid, 0, 0, job->commit, info.leader_epoch, NULL, &why);
    CHECK(err == 0 && weir_plog_flush(log) == 0, "cannot append a marker: %s", why ? why : "");
    bk_group_on_marker(b, S.coord_index, job->pid, job->commit);
}

static void shutdown_on_broker(weir_env *env, void *arg)
{
    (void)env;
    (void)arg;
    weir_broker_shutdown(weir_world_node_state(S.w, "broker"));
}

/* Heartbeats every 500 ms while in the group; rejoins on REBALANCE_IN_PROGRESS. */
static void members_keepalive(void)
{
    int64_t now = weir_now_ns(S.env);
    for (int i = 0; i < 3; i++) {
        member *m = &S.m[i];
        if (m->silent || !m->joined || m->joining || m->syncing || m->hb_in_flight) {
            continue;
        }
        if (m->hb_error == WEIR_KERR_REBALANCE_IN_PROGRESS) {
            if (S.rebalance_seen_ns == 0) {
                S.rebalance_seen_ns = now;
            }
            m->hb_error = 0;
            m->rejoins++;
            member_join(m);
            continue;
        }
        if (m->synced && now - m->hb_last_ns >= 500 * MS) {
            member_heartbeat(m);
        }
    }
}

static void on_join_error(tconn *tc, int16_t version, weir_rd *rd, weir_arena *a, void *ctx)
{
    (void)tc;
    simple_answer *s = ctx;
    weir_join_group_response resp;
    s->done = true;
    s->error = weir_decode_join_group_response(rd, version, a, &resp) == 0 ? resp.error_code : -2;
}

/* A session timeout below group.min.session.timeout.ms, and a protocol no
 * member of the Stable group supports. */
static void send_bad_joins(void)
{
    static weir_join_group_protocol sticky;
    sticky =
        (weir_join_group_protocol){weir_str_from("sticky"), {subscription, sizeof subscription}};
    weir_request r;
    req_init(&r, WEIR_API_JOIN_GROUP, 5);
    r.body.join_group = (weir_join_group_request){
        weir_str_from(GROUP),      100, 10000,  weir_str_from(""), WEIR_STR_NULL,
        weir_str_from("consumer"), 1,   &sticky};
    tconn_send(&S.admin, &r, on_join_error, &S.bad_session);
    req_init(&r, WEIR_API_JOIN_GROUP, 2);
    r.body.join_group = (weir_join_group_request){
        weir_str_from(GROUP),      SESSION_MS, 10000,  weir_str_from(""), WEIR_STR_NULL,
        weir_str_from("consumer"), 1,          &sticky};
    tconn_send(&S.admin, &r, on_join_error, &S.bad_protocol);
}

static void phase_tick(weir_env *env, void *arg);

static void standalone_step(void)
{
    int64_t now = weir_now_ns(S.env);
    switch (S.phase) {
    case 0: /* FindCoordinator before __consumer_offsets exists */
        if (!S.find.done && tconn_idle(&S.admin)) {
            send_find(&S.admin, GROUP, on_find, &S.find);
        } else if (S.find.done) {
            S.first_find_error = S.find.error;
            memset(&S.find, 0, sizeof S.find);
            next_phase(1);
        }
        break;
    case 1: /* ... then the broker itself, once loaded */
        if (!S.find.done && tconn_idle(&S.admin) && now - S.phase_ns > 50 * MS) {
            send_find(&S.admin, GROUP, on_find, &S.find);
        } else if (S.find.done && S.find.error != 0) {
            memset(&S.find, 0, sizeof S.find);
        } else if (S.find.done) {
            CHECK(S.find.node_id == 1 && strcmp(S.find.host, "broker") == 0 && S.find.port == 9092,
                  "FindCoordinator answered %d %s:%d", S.find.node_id, S.find.host, S.find.port);
            static weir_create_topics_topic ct;
            ct = (weir_create_topics_topic){weir_str_from("t"), 3, 1, 0, NULL, 0, NULL};
            weir_request r;
            req_init(&r, WEIR_API_CREATE_TOPICS, 4);
            r.body.create_topics = (weir_create_topics_request){1, &ct, 5000, false};
            tconn_send(&S.admin, &r, on_create, NULL);
            send_internal_produce(&S.admin, S.coord_index, &S.internal_produce);
            for (int i = 0; i < 3; i++) {
                member_join(&S.m[i]);
            }
            next_phase(2);
        }
        break;
    case 2: /* generation 1 with three members */
        if (all_joined(3, 1)) {
            S.gen_after_join = 1;
            for (int i = 0; i < 3; i++) {
                CHECK(strcmp(S.m[i].leader, S.m[0].leader) == 0, "members disagree on the leader");
                bool leader = strcmp(S.m[i].id, S.m[i].leader) == 0;
                if (leader) {
                    S.leader_members_got = S.m[i].n_members_got;
                } else {
                    S.follower_members_got += S.m[i].n_members_got;
                }
            }
            for (int i = 0; i < 3; i++) { /* followers first: they wait for the leader */
                if (strcmp(S.m[i].id, S.m[i].leader) != 0) {
                    member_sync(&S.m[i], S.m, 3);
                }
            }
            next_phase(3);
        } else if (now - S.phase_ns > 20000 * MS) {
            CHECK(false, "the three members never got generation 1");
        }
        break;
    case 3: /* the leader syncs 20 ms later */
        if (now - S.phase_ns > 20 * MS) {
            for (int i = 0; i < 3; i++) {
                if (strcmp(S.m[i].id, S.m[i].leader) == 0 && !S.m[i].synced && !S.m[i].syncing) {
                    member_sync(&S.m[i], S.m, 3);
                }
            }
        }
        if (all_synced()) {
            for (int i = 0; i < 3; i++) {
                char want[16];
                snprintf(want, sizeof want, "assign-%d", i);
                CHECK(strcmp(S.m[i].assignment, want) == 0, "member %d got assignment '%s'", i,
                      S.m[i].assignment);
            }
            next_phase(4);
        }
        break;
    case 4: /* commits: valid, stale generation, unknown member, simple consumer */
        send_commit(&S.m[0].tc, 7, GROUP, 1, S.m[0].id, 0, 42, "meta-42", on_commit, &S.commit);
        send_commit(&S.m[1].tc, 7, GROUP, 0, S.m[1].id, 0, 43, "stale", on_commit, &S.stale);
        send_commit(&S.admin, 7, GROUP, 1, "nobody", 0, 44, "who", on_commit, &S.unknown);
        send_commit(&S.admin, 2, GROUP, -1, "", 0, 45, "simple", on_commit, &S.simple);
        send_bad_joins();
        next_phase(5);
        break;
    case 5:
        if (S.commit.done && S.stale.done && S.unknown.done && S.simple.done &&
            tconn_idle(&S.admin)) {
            CHECK(S.commit.error == 0, "commit: error %d", S.commit.error);
            CHECK(S.stale.error == WEIR_KERR_ILLEGAL_GENERATION, "stale commit: error %d",
                  S.stale.error);
            CHECK(S.unknown.error == WEIR_KERR_UNKNOWN_MEMBER_ID, "unknown member: error %d",
                  S.unknown.error);
            CHECK(S.bad_session.error == WEIR_KERR_INVALID_SESSION_TIMEOUT &&
                      S.bad_protocol.error == WEIR_KERR_INCONSISTENT_GROUP_PROTOCOL,
                  "JoinGroup with a 100 ms session: %d; with no common protocol: %d",
                  S.bad_session.error, S.bad_protocol.error);
            CHECK(S.simple.error == WEIR_KERR_UNKNOWN_MEMBER_ID,
                  "simple commit to a live group: %d", S.simple.error);
            send_fetch_offsets(&S.admin, GROUP, false, on_fetch_offsets, &S.f);
            next_phase(6);
        }
        break;
    case 6:
        if (S.f.done) {
            CHECK(S.f.error == 0 && S.f.offset[0] == 42 && strcmp(S.f.meta[0], "meta-42") == 0 &&
                      S.f.epoch[0] == 3,
                  "OffsetFetch t/0: %lld '%s' epoch %d (error %d)", (long long)S.f.offset[0],
                  S.f.meta[0], S.f.epoch[0], S.f.error);
            CHECK(S.f.offset[1] == -1 && S.f.meta[1][0] == '\0',
                  "OffsetFetch t/1 (never committed): %lld", (long long)S.f.offset[1]);
            memset(&S.f, 0, sizeof S.f);
            send_fetch_offsets(&S.admin, GROUP, true, on_fetch_offsets, &S.f);
            next_phase(7);
        }
        break;
    case 7:
        if (S.f.done) {
            CHECK(S.f.n_topics == 1 && S.f.n_partitions == 1 && S.f.offset[0] == 42,
                  "OffsetFetch of all: %d topic(s), %d partition(s)", S.f.n_topics,
                  S.f.n_partitions);
            S.m[2].silent = true; /* its session times out */
            S.silent_since_ns = S.m[2].hb_last_ns > 0 ? S.m[2].hb_last_ns : now;
            next_phase(8);
        }
        break;
    case 8: /* the other two rejoin into generation 2 */
        members_keepalive();
        for (int i = 0; i < 2; i++) {
            if (all_joined(3, 2) && !S.m[i].syncing && !S.m[i].synced) {
                member_sync(&S.m[i], S.m, 2);
            }
        }
        if (all_joined(3, 2) && all_synced()) {
            S.gen_after_timeout = 2;
            CHECK(S.rebalance_seen_ns - S.silent_since_ns >= (SESSION_MS - 600) * MS &&
                      S.rebalance_seen_ns - S.silent_since_ns <= (SESSION_MS + 1500) * MS,
                  "the rebalance came %lld ms after the member went silent",
                  (long long)((S.rebalance_seen_ns - S.silent_since_ns) / MS));
            send_heartbeat(&S.m[2].tc, GROUP, 1, S.m[2].id, on_heartbeat, &S.m[2]);
            weir_request r;
            req_init(&r, WEIR_API_DESCRIBE_GROUPS, 4);
            static weir_str groups[1];
            groups[0] = weir_str_from(GROUP);
            r.body.describe_groups = (weir_describe_groups_request){1, groups, false};
            tconn_send(&S.admin, &r, on_describe, NULL);
            req_init(&r, WEIR_API_LIST_GROUPS, 2);
            tconn_send(&S.admin, &r, on_list, NULL);
            next_phase(9);
        } else if (now - S.phase_ns > 30000 * MS) {
            CHECK(false,
                  "no generation 2 after the session timeout: m0 %d/%d/%d/%d gen %d err %d hb %d, "
                  "m1 %d/%d/%d/%d gen %d err %d hb %d",
                  S.m[0].joining, S.m[0].joined, S.m[0].syncing, S.m[0].synced, S.m[0].generation,
                  S.m[0].join_error, S.m[0].hb_error, S.m[1].joining, S.m[1].joined, S.m[1].syncing,
                  S.m[1].synced, S.m[1].generation, S.m[1].join_error, S.m[1].hb_error);
        }
        break;
    case 9: /* member 1 leaves: member 0 alone in generation 3 */
        members_keepalive();
        if (tconn_idle(&S.admin) && tconn_idle(&S.m[2].tc)) {
            S.m2_late_hb = S.m[2].hb_error;
            weir_request r;
            req_init(&r, WEIR_API_LEAVE_GROUP, 1);
            r.body.leave_group =
                (weir_leave_group_request){weir_str_from(GROUP), weir_str_from(S.m[1].id)};
            tconn_send(&S.m[1].tc, &r, NULL, NULL);
            S.m[1].silent = true;
            next_phase(10);
        }
        break;
    case 10:
        members_keepalive();
        if (S.m[0].joined && S.m[0].generation == 3 && S.m[0].synced) {
            S.gen_after_leave = 3;
            CHECK(S.m[0].n_members_got == 1 && strcmp(S.m[0].id, S.m[0].leader) == 0,
                  "generation 3: %d member(s), leader %s", S.m[0].n_members_got, S.m[0].leader);
            /* transactional offsets: pid 7 commits t/1 = 5, pid 8 would set 9 */
            send_txn_commit(&S.admin, GROUP, 7, 1, 5, on_txn_commit, &S.txn1);
            send_txn_commit(&S.admin, GROUP, 8, 1, 9, on_txn_commit, &S.txn2);
            memset(&S.f, 0, sizeof S.f);
            send_fetch_offsets(&S.admin, GROUP, false, on_fetch_offsets, &S.f);
            next_phase(11);
        } else if (!S.m[0].joining && !S.m[0].syncing && S.m[0].joined && !S.m[0].synced &&
                   S.m[0].generation == 3) {
            member_sync(&S.m[0], S.m, 1);
        } else if (now - S.phase_ns > 30000 * MS) {
            CHECK(false, "no generation 3 after the leave");
        }
        break;
    case 11:
        members_keepalive();
        if (S.f.done && S.txn1.done && S.txn2.done) {
            CHECK(S.txn1.error == 0 && S.txn2.error == 0, "TxnOffsetCommit: %d %d", S.txn1.error,
                  S.txn2.error);
            CHECK(S.f.offset[1] == -1, "a transactional offset shows before its marker: %lld",
                  (long long)S.f.offset[1]);
            marker_jobs[0] = (marker_job){7, true};
            marker_jobs[1] = (marker_job){8, false};
            weir_sim_node_post(S.w, "broker", marker_on_broker, &marker_jobs[0]);
            weir_sim_node_post(S.w, "broker", marker_on_broker, &marker_jobs[1]);
            next_phase(12);
        }
        break;
    case 12:
        members_keepalive();
        if (now - S.phase_ns > 20 * MS && tconn_idle(&S.admin)) {
            memset(&S.f, 0, sizeof S.f);
            send_fetch_offsets(&S.admin, GROUP, false, on_fetch_offsets, &S.f);
            next_phase(13);
        }
        break;
    case 13:
        members_keepalive();
        if (S.f.done) {
            CHECK(S.f.offset[0] == 42 && S.f.offset[1] == 5 && strcmp(S.f.meta[1], "txn") == 0,
                  "after the markers: t/0 %lld, t/1 %lld (want 42, 5: committed, not aborted)",
                  (long long)S.f.offset[0], (long long)S.f.offset[1]);
            if (weir_world_crash(S.w, "broker") != 0 || weir_world_restart(S.w, "broker") != 0) {
                CHECK(false, "crash/restart failed");
            }
            S.restarted = true;
            next_phase(14);
        }
        break;
    case 14: /* after the restart: the log gives the same state back */
        if (now - S.phase_ns > 200 * MS) {
            tconn_open(&S.admin, S.env, "broker:9092");
            memset(&S.f, 0, sizeof S.f);
            send_fetch_offsets(&S.admin, GROUP, false, on_fetch_offsets, &S.f);
            tconn_open(&S.m[0].tc, S.env, "broker:9092");
            S.m[0].hb_error = -1;
            send_heartbeat(&S.m[0].tc, GROUP, 3, S.m[0].id, on_heartbeat, &S.m[0]);
            next_phase(15);
        }
        break;
    case 15:
        if (S.f.done && S.f.error == WEIR_KERR_COORDINATOR_LOAD_IN_PROGRESS) {
            memset(&S.f, 0, sizeof S.f);
            send_fetch_offsets(&S.admin, GROUP, false, on_fetch_offsets, &S.f);
        } else if (S.f.done && tconn_idle(&S.m[0].tc)) {
            CHECK(S.f.offset[0] == 42 && S.f.offset[1] == 5 && strcmp(S.f.meta[0], "meta-42") == 0,
                  "after the restart: t/0 %lld '%s', t/1 %lld", (long long)S.f.offset[0],
                  S.f.meta[0], (long long)S.f.offset[1]);
            CHECK(S.m[0].hb_error == 0,
                  "the reloaded group does not know member 0 in generation 3: %d", S.m[0].hb_error);
            S.gen_after_restart = S.m[0].hb_error == 0 ? 3 : -1;
            /* a newcomer's JoinGroup is held (member 0 has not rejoined) ... */
            tconn_open(&S.m[1].tc, S.env, "broker:9092");
            S.m[1].id[0] = '\0';
            S.m[1].silent = false;
            member_join(&S.m[1]);
            next_phase(16);
        }
        break;
    case 16: /* ... while the broker shuts down cleanly */
        if (now - S.phase_ns > 100 * MS && !S.shutdown_posted) {
            CHECK(S.m[1].joining, "the newcomer's JoinGroup was not held");
            S.shutdown_posted = true;
            weir_sim_node_post(S.w, "broker", shutdown_on_broker, NULL);
        } else if (now - S.phase_ns > 300 * MS) {
            S.done = true;
            weir_world_stop(S.w);
        }
        break;
    default:
        break;
    }
}

static void phase_tick(weir_env *env, void *arg)
{
    (void)arg;
    if (failure[0] != '\0') {
        weir_world_stop(S.w);
        return;
    }
    standalone_step();
    weir_timer_start(env, 10 * MS, phase_tick, NULL);
}

static void *standalone_client_start(weir_env *env, void *arg)
{
    (void)arg;
    S.env = env;
    tconn_open(&S.admin, env, "broker:9092");
    for (int i = 0; i < 3; i++) {
        S.m[i].idx = i;
        S.m[i].join_version = i < 2 ? 5 : 2;
        tconn_open(&S.m[i].tc, env, "broker:9092");
    }
    weir_timer_start(env, 10 * MS, phase_tick, NULL);
    return &S;
}

static const weir_node_type standalone_client = {"client", standalone_client_start, NULL};

typedef struct result {
    uint64_t hash;
    int ok;
    int16_t first_find_error;
    int32_t gens[4];
    int leader_members_got;
    int follower_members_got;
    int16_t m2_late_hb;
    int16_t internal_produce;
    char describe_state[32];
    int describe_members;
    int list_groups;
    char failure[512];
} result;

static void standalone_run(uint64_t seed, result *out)
{
    weir_sim_config cfg;
    weir_sim_config_default(&cfg, seed);
    cfg.log_level = WEIR_LOG_ERROR;
    S.w = weir_sim_world_new(&cfg);
    static weir_broker_config bc;
    weir_broker_config_default(&bc);
    snprintf(bc.listen_host, sizeof bc.listen_host, "broker");
    bc.listen_port = 9092;
    bc.node_id = 1;
    bc.flush_interval_messages = 1; /* committed = synced: survives the crash */
    bc.offsets_topic_partitions = 3;
    bc.group_initial_rebalance_delay_ms = 300;
    bc.log_level = WEIR_LOG_ERROR;
    S.coord_index = bk_coord_partition_for(GROUP, strlen(GROUP), 3);
    if (weir_world_node_add(S.w, "broker", &weir_broker_node, &bc) != 0 ||
        weir_world_node_add(S.w, "client", &standalone_client, NULL) != 0 ||
        weir_world_run(S.w, 120000 * MS) != 0) {
        snprintf(out->failure, sizeof out->failure, "world setup failed");
        return;
    }
    out->hash = weir_sim_trace_hash(S.w);
    out->ok = S.done && failure[0] == '\0';
    weir_world_destroy(S.w); /* the broker goes as in a crash: the abandon paths */
    out->first_find_error = S.first_find_error;
    out->gens[0] = S.gen_after_join;
    out->gens[1] = S.gen_after_timeout;
    out->gens[2] = S.gen_after_leave;
    out->gens[3] = S.gen_after_restart;
    out->leader_members_got = S.leader_members_got;
    out->follower_members_got = S.follower_members_got;
    out->m2_late_hb = S.m2_late_hb;
    out->internal_produce = S.internal_produce;
    snprintf(out->describe_state, sizeof out->describe_state, "%s", S.describe_state);
    out->describe_members = S.describe_members;
    out->list_groups = S.list_groups;
    snprintf(out->failure, sizeof out->failure, "%.400s (phase %d)",
             failure[0] ? failure : (S.done ? "" : "did not finish"), S.phase);
}

/* ---- the cluster run ---- */

typedef struct cluster {
    weir_world *w;
    weir_env *env;
    tconn boot; /* FindCoordinator */
    member m;   /* on the coordinator */
    int phase;
    int64_t phase_ns;
    found find;
    int16_t first_find_error;
    int32_t coordinator;
    int32_t new_coordinator;
    simple_answer commit;
    fetched f;
    int16_t hb_after;
    int tries;
    int32_t follower;
    int16_t timed_out_error;
    int64_t timed_out_after_ms;
    bool done;
} cluster;

static cluster C;

static const char *broker_name(int32_t id)
{
    static const char *names[] = {"", "b1", "b2", "b3"};
    return id >= 1 && id <= 3 ? names[id] : "";
}

static void cluster_next(int phase)
{
    C.phase = phase;
    C.phase_ns = weir_now_ns(C.env);
}

static void cluster_step(void)
{
    int64_t now = weir_now_ns(C.env);
    switch (C.phase) {
    case 0: /* find the coordinator (created on the first ask) */
        if (!C.find.done && tconn_idle(&C.boot) && now - C.phase_ns > 100 * MS) {
            send_find(&C.boot, GROUP, on_find, &C.find);
            C.phase_ns = now;
        } else if (C.find.done) {
            if (C.first_find_error < 0) {
                C.first_find_error = C.find.error;
            }
            if (C.find.error == 0) {
                C.coordinator = C.find.node_id;
                char addr[32];
                snprintf(addr, sizeof addr, "%s:9092", broker_name(C.coordinator));
                tconn_open(&C.m.tc, C.env, addr);
                member_join(&C.m);
                cluster_next(1);
            }
            memset(&C.find, 0, sizeof C.find);
        }
        break;
    case 1:
        if (C.m.joined && C.m.generation == 1 && !C.m.syncing && !C.m.synced) {
            member_sync(&C.m, &C.m, 1);
        } else if (C.m.synced) {
            send_commit(&C.m.tc, 7, GROUP, 1, C.m.id, 0, 100, "m100", on_commit, &C.commit);
            cluster_next(2);
        } else if (!C.m.joining && !C.m.joined && C.m.join_error != 0 &&
                   now - C.phase_ns > 100 * MS) {
            member_join(&C.m); /* loading, or the ISR not complete yet */
            C.phase_ns = now;
        }
        break;
    case 2:
        if (C.commit.done && C.commit.error != 0 && now - C.phase_ns > 100 * MS) {
            memset(&C.commit, 0, sizeof C.commit);
            send_commit(&C.m.tc, 7, GROUP, 1, C.m.id, 0, 100, "m100", on_commit, &C.commit);
            C.phase_ns = now;
        } else if (C.commit.done && C.commit.error == 0) {
            /* acknowledged = replicated to the ISR: crash the coordinator now */
            if (weir_world_crash(C.w, broker_name(C.coordinator)) != 0) {
                CHECK(false, "crash failed");
            }
            int32_t other = C.coordinator % 3 + 1;
            char addr[32];
            snprintf(addr, sizeof addr, "%s:9092", broker_name(other));
            tconn_open(&C.boot, C.env, addr);
            cluster_next(3);
        }
        break;
    case 3: /* the new coordinator */
        if (!C.find.done && tconn_idle(&C.boot) && now - C.phase_ns > 100 * MS) {
            send_find(&C.boot, GROUP, on_find, &C.find);
            C.phase_ns = now;
        } else if (C.find.done) {
            if (C.find.error == 0 && C.find.node_id != C.coordinator) {
                C.new_coordinator = C.find.node_id;
                char addr[32];
                snprintf(addr, sizeof addr, "%s:9092", broker_name(C.new_coordinator));
                tconn_open(&C.m.tc, C.env, addr);
                cluster_next(4);
            }
            memset(&C.find, 0, sizeof C.find);
        }
        break;
    case 4:
        if (tconn_idle(&C.m.tc) && now - C.phase_ns > 100 * MS) {
            memset(&C.f, 0, sizeof C.f);
            send_fetch_offsets(&C.m.tc, GROUP, false, on_fetch_offsets, &C.f);
            C.m.hb_error = -1;
            send_heartbeat(&C.m.tc, GROUP, 1, C.m.id, on_heartbeat, &C.m);
            C.phase_ns = now;
            cluster_next(5);
        }
        break;
    case 5:
        if (!tconn_idle(&C.m.tc)) {
            break;
        }
        if (C.f.error == WEIR_KERR_COORDINATOR_LOAD_IN_PROGRESS ||
            C.f.error == WEIR_KERR_NOT_COORDINATOR) {
            if (++C.tries > 100) {
                CHECK(false, "the new coordinator never served the group");
            }
            cluster_next(4);
            break;
        }
        CHECK(C.f.error == 0 && C.f.offset[0] == 100 && strcmp(C.f.meta[0], "m100") == 0,
              "the new coordinator (broker %d) returns t/0 = %lld '%s' (error %d)",
              C.new_coordinator, (long long)C.f.offset[0], C.f.meta[0], C.f.error);
        C.hb_after = C.m.hb_error;
        CHECK(C.m.hb_error == 0, "the new coordinator does not know the member in generation 1: %d",
              C.m.hb_error);
        /* cut the new coordinator off its follower: a commit cannot be
         * replicated and times out (offsets.commit.timeout.ms) */
        C.follower = 6 - C.coordinator - C.new_coordinator;
        weir_sim_cut(C.w, broker_name(C.new_coordinator), broker_name(C.follower), true);
        weir_sim_cut(C.w, broker_name(C.follower), broker_name(C.new_coordinator), true);
        memset(&C.commit, 0, sizeof C.commit);
        send_commit(&C.m.tc, 7, GROUP, 1, C.m.id, 0, 200, "m200", on_commit, &C.commit);
        cluster_next(6);
        break;
    case 6:
        if (C.commit.done) {
            C.timed_out_error = C.commit.error;
            C.timed_out_after_ms = (now - C.phase_ns) / MS;
            weir_sim_heal_all(C.w);
            memset(&C.commit, 0, sizeof C.commit);
            cluster_next(7);
        }
        break;
    case 7: /* healed: commits go through again (once the ISR is whole) */
        if (!C.commit.done && tconn_idle(&C.m.tc) && now - C.phase_ns > 200 * MS) {
            send_commit(&C.m.tc, 7, GROUP, 1, C.m.id, 0, 300, "m300", on_commit, &C.commit);
        } else if (C.commit.done && C.commit.error != 0) {
            CHECK(++C.tries < 200, "commits keep failing after the heal: %d", C.commit.error);
            memset(&C.commit, 0, sizeof C.commit);
            C.phase_ns = now;
        } else if (C.commit.done) {
            C.done = true;
            weir_world_stop(C.w);
        }
        break;
    default:
        break;
    }
}

static void cluster_tick(weir_env *env, void *arg)
{
    (void)arg;
    if (failure[0] != '\0') {
        weir_world_stop(C.w);
        return;
    }
    cluster_step();
    weir_timer_start(env, 10 * MS, cluster_tick, NULL);
}

static void *cluster_client_start(weir_env *env, void *arg)
{
    (void)arg;
    C.env = env;
    C.first_find_error = -1;
    C.m.join_version = 2;
    tconn_open(&C.boot, env, "b1:9092");
    C.phase_ns = 1000 * MS; /* after the brokers registered */
    weir_timer_start(env, 1000 * MS, cluster_tick, NULL);
    return &C;
}

static const weir_node_type cluster_client = {"client", cluster_client_start, NULL};

typedef struct cluster_result {
    uint64_t hash;
    int ok;
    int16_t first_find_error;
    int32_t coordinator;
    int32_t new_coordinator;
    int16_t timed_out_error;
    int64_t timed_out_after_ms;
    char failure[512];
} cluster_result;

static void cluster_run(uint64_t seed, cluster_result *out)
{
    weir_sim_config cfg;
    weir_sim_config_default(&cfg, seed);
    cfg.log_level = WEIR_LOG_ERROR;
    C.w = weir_sim_world_new(&cfg);
    static weir_controller_config cc;
    weir_controller_config_default(&cc);
    cc.session_timeout_ms = 1500;
    cc.n_topics = 1;
    snprintf(cc.topics[0].name, sizeof cc.topics[0].name, "t");
    cc.topics[0].partitions = 2;
    cc.topics[0].replication_factor = 3;
    cc.log_level = WEIR_LOG_ERROR;
    static weir_broker_config bc[3];
    int rc = weir_world_node_add(C.w, "controller", &weir_controller_node, &cc);
    for (int i = 0; i < 3 && rc == 0; i++) {
        weir_broker_config_default(&bc[i]);
        bc[i].node_id = i + 1;
        snprintf(bc[i].listen_host, sizeof bc[i].listen_host, "b%d", i + 1);
        bc[i].listen_port = 9092;
        snprintf(bc[i].controller_addr, sizeof bc[i].controller_addr, "controller:9093");
        bc[i].min_insync_replicas = 2;
        bc[i].heartbeat_interval_ms = 300;
        bc[i].replica_lag_time_max_ms = 1000;
        bc[i].hw_checkpoint_interval_ms = 200;
        bc[i].offsets_topic_partitions = 3;
        bc[i].group_initial_rebalance_delay_ms = 100;
        bc[i].offsets_commit_timeout_ms = 500;
        bc[i].log_level = WEIR_LOG_ERROR;
        rc = weir_world_node_add(C.w, broker_name(i + 1), &weir_broker_node, &bc[i]);
    }
    if (rc != 0 || weir_world_node_add(C.w, "client", &cluster_client, NULL) != 0 ||
        weir_world_run(C.w, 60000 * MS) != 0) {
        snprintf(out->failure, sizeof out->failure, "world setup failed");
        return;
    }
    out->hash = weir_sim_trace_hash(C.w);
    out->ok = C.done && failure[0] == '\0';
    weir_world_destroy(C.w);
    out->first_find_error = C.first_find_error;
    out->coordinator = C.coordinator;
    out->new_coordinator = C.new_coordinator;
    out->timed_out_error = C.timed_out_error;
    out->timed_out_after_ms = C.timed_out_after_ms;
    snprintf(out->failure, sizeof out->failure, "%.400s (phase %d)",
             failure[0] ? failure : (C.done ? "" : "did not finish"), C.phase);
}

/* ---- forking ---- */

typedef void (*run_fn)(uint64_t seed, void *out);

/* Runs fn in a child; *out comes back through a pipe (failure: its text). */
static void run_forked(run_fn fn, uint64_t seed, void *out, size_t size, int *ok, char *fail,
                       size_t fail_size)
{
    int fds[2];
    memset(out, 0, size);
    if (pipe(fds) != 0) {
        return;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        void *mine = calloc(1, size);
        fn(seed, mine);
        if (write(fds[1], mine, size) != (ssize_t)size) {
            _exit(3);
        }
        free(mine);
#ifdef __SANITIZE_ADDRESS__
        __lsan_do_leak_check(); /* _exit skips it; a leak exits non-zero */
#endif
        test_child_exit(0);
    }
    close(fds[1]);
    if (read(fds[0], out, size) != (ssize_t)size) {
        snprintf(fail, fail_size, "child died");
    }
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(fail, fail_size, "child exited with status %d (leak or sanitizer report above?)",
                 status);
        *ok = 0;
    }
}

static void standalone_fn(uint64_t seed, void *out)
{
    standalone_run(seed, out);
}

static void cluster_fn(uint64_t seed, void *out)
{
    cluster_run(seed, out);
}

/* ---- tests ---- */

static void a_group_joins_syncs_commits_rebalances_and_reloads_in_the_simulator(void **state)
{
    (void)state;
    result a;
    run_forked(standalone_fn, 5, &a, sizeof a, &a.ok, a.failure, sizeof a.failure);
    fprintf(stderr,
            "generations %d %d %d (after restart %d); leader got %d member(s), followers %d; "
            "first FindCoordinator %d; late heartbeat %d; describe %s/%d; %d group(s)\n",
            a.gens[0], a.gens[1], a.gens[2], a.gens[3], a.leader_members_got,
            a.follower_members_got, a.first_find_error, a.m2_late_hb, a.describe_state,
            a.describe_members, a.list_groups);
    if (!a.ok) {
        fail_msg("%s", a.failure);
    }
    assert_int_equal(a.first_find_error, WEIR_KERR_COORDINATOR_NOT_AVAILABLE);
    assert_int_equal(a.gens[0], 1);
    assert_int_equal(a.gens[1], 2);
    assert_int_equal(a.gens[2], 3);
    assert_int_equal(a.gens[3], 3);
    assert_int_equal(a.leader_members_got, 3);
    assert_int_equal(a.follower_members_got, 0);
    assert_int_equal(a.m2_late_hb, WEIR_KERR_UNKNOWN_MEMBER_ID);
    /* clients may not write to __consumer_offsets (Kafka: "Cannot append to internal topic") */
    assert_int_equal(a.internal_produce, WEIR_KERR_INVALID_TOPIC_EXCEPTION);
    assert_string_equal(a.describe_state, "Stable");
    assert_int_equal(a.describe_members, 2);
    assert_int_equal(a.list_groups, 1);
    result b;
    run_forked(standalone_fn, 5, &b, sizeof b, &b.ok, b.failure, sizeof b.failure);
    if (!b.ok) {
        fail_msg("second run: %s", b.failure);
    }
    assert_true(a.hash == b.hash); /* deterministic */
}

static void committed_offsets_survive_a_coordinator_crash_and_wait_for_replication(void **state)
{
    (void)state;
    cluster_result a;
    run_forked(cluster_fn, 3, &a, sizeof a, &a.ok, a.failure, sizeof a.failure);
    fprintf(stderr,
            "first FindCoordinator %d; coordinator broker %d -> %d; unreplicated commit: error %d "
            "after %lld ms\n",
            a.first_find_error, a.coordinator, a.new_coordinator, a.timed_out_error,
            (long long)a.timed_out_after_ms);
    if (!a.ok) {
        fail_msg("%s", a.failure);
    }
    assert_int_equal(a.first_find_error, WEIR_KERR_COORDINATOR_NOT_AVAILABLE);
    assert_true(a.new_coordinator >= 1 && a.new_coordinator != a.coordinator);
    assert_int_equal(a.timed_out_error, WEIR_KERR_REQUEST_TIMED_OUT);
    assert_true(a.timed_out_after_ms >= 500 && a.timed_out_after_ms < 700);
    cluster_result b;
    run_forked(cluster_fn, 3, &b, sizeof b, &b.ok, b.failure, sizeof b.failure);
    if (!b.ok) {
        fail_msg("second run: %s", b.failure);
    }
    assert_true(a.hash == b.hash);
}

static void coordinator_partitions_follow_kafkas_string_hash(void **state)
{
    (void)state;
    assert_int_equal(bk_coord_java_hash("", 0), 0);
    assert_int_equal(bk_coord_java_hash("hello", 5), 99162322);
    assert_int_equal(bk_coord_java_hash("grp", 3), 102629);
    /* Java: "polygenelubricants".hashCode() == Integer.MIN_VALUE; Utils.abs gives 0 */
    assert_int_equal(bk_coord_java_hash("polygenelubricants", 18), INT32_MIN);
    assert_int_equal(bk_coord_partition_for("polygenelubricants", 18, 50), 0);
    /* UTF-16 code units: U+00E9 is one, U+1F600 a surrogate pair */
    assert_int_equal(bk_coord_java_hash("\xc3\xa9", 2), 0xE9);
    assert_int_equal(bk_coord_java_hash("\xf0\x9f\x98\x80", 4), 0xD83D * 31 + 0xDE00);
    /* a negative hash: abs first, then the remainder */
    int32_t h = bk_coord_java_hash("consumer-group-with-a-long-name", 31);
    int32_t want = (h < 0 ? -h : h) % 50;
    assert_int_equal(bk_coord_partition_for("consumer-group-with-a-long-name", 31, 50), want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(coordinator_partitions_follow_kafkas_string_hash),
        cmocka_unit_test(a_group_joins_syncs_commits_rebalances_and_reloads_in_the_simulator),
        cmocka_unit_test(committed_offsets_survive_a_coordinator_crash_and_wait_for_replication),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
