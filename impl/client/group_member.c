/* The consumer-group member (see group_member.h and consumer.h): Kafka's
 * classic, eager protocol with the "consumer" protocol type.
 *
 *   IDLE --subscribe--> JOIN --JoinGroup--> (leader) ASSIGN --> SYNC
 *                                           (follower) -------> SYNC
 *   SYNC --SyncGroup--> OFFSETS --OffsetFetch, on_assign--> STABLE
 *   STABLE/OFFSETS --REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION,
 *                    UNKNOWN_MEMBER_ID, a new subscription--> REVOKE
 *   REVOKE --commit (auto), on_revoke--> JOIN
 *   any --close--> LEAVING --commit (auto), on_revoke, LeaveGroup--> CLOSED
 *   JOIN --fatal JoinGroup error--> FAILED (until subscribe)
 *
 * The coordinator is found with weir_cluster_find_coordinator whenever it is
 * unknown (at first, after NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE or a
 * failed request); the state waits meanwhile and resends its request after.
 *
 * Invariants:
 * - `round` bumps on every restart of the membership (rejoin, close); every
 *   request remembers the round it went out in and an answer of an older round
 *   changes nothing (its commit callback still runs);
 * - `busy`: at most one state request (JoinGroup, SyncGroup, OffsetFetch,
 *   the revoke commit, LeaveGroup) of the current round is in flight;
 * - heartbeats go out only in OFFSETS and STABLE, i.e. only while the member
 *   holds a generation it got from SyncGroup, one at a time;
 * - `installed` (the consumer fetches `assigned`, on_assign was called)
 *   implies STABLE, REVOKE or LEAVING; on_revoke is called exactly once per
 *   on_assign, before the next JoinGroup.
 */
#include "client/group_member.h"

#include <stdlib.h>
#include <string.h>

#include "client/assignor.h"
#include "core/assert.h"
#include "proto/messages.h"

#define MS 1000000LL
#define GM_LOG(m, level, fmt, ...)                                                                 \
    weir_log((m)->env, (level), "%s: group %s: " fmt, weir_cluster_client_id((m)->cl),             \
             (m)->group_id, __VA_ARGS__)
/* The versions weir's member speaks, capped by weir_api_table (the cluster
 * layer negotiates nothing; every weir broker speaks the whole table). */
#define GM_JOIN_VERSION 5
#define GM_SYNC_VERSION 3
#define GM_HEARTBEAT_VERSION 3
#define GM_LEAVE_VERSION 1
#define GM_COMMIT_VERSION 7
#define GM_OFFSET_FETCH_VERSION 5
/* JoinGroup and SyncGroup wait for the whole group: Kafka's client gives
 * them the rebalance timeout plus this much. */
#define GM_JOIN_TIMEOUT_EXTRA_MS 5000
#define GM_STEPS_MAX 16

typedef enum gm_state {
    GM_IDLE = 0,
    GM_JOIN,
    GM_ASSIGN,
    GM_SYNC,
    GM_OFFSETS,
    GM_STABLE,
    GM_REVOKE,
    GM_LEAVING,
    GM_CLOSED,
    GM_FAILED,
} gm_state;

typedef enum gm_kind {
    GM_REQ_JOIN,
    GM_REQ_SYNC,
    GM_REQ_OFFSETS,
    GM_REQ_HEARTBEAT,
    GM_REQ_COMMIT_USER,
    GM_REQ_COMMIT_AUTO,
    GM_REQ_COMMIT_REVOKE,
    GM_REQ_LEAVE,
} gm_kind;

typedef struct gm_offset {
    int32_t index; /* into m->assigned; -1 when not there */
    int64_t offset;
} gm_offset;

typedef struct gm_req {
    struct gm_req *prev;
    struct gm_req *next;
    weir_group_member *m;
    uint64_t round;
    int32_t node_id; /* the coordinator it went to */
    gm_kind kind;
    weir_consumer_commit_cb cb;
    void *ctx;
    weir_timer *timer; /* a commit answered without a request (nothing to send) */
    int16_t deferred_error;
    int32_t count;
    gm_offset off[];
} gm_req;

/* A member of the generation, as the leader learnt it from JoinGroup. */
typedef struct gm_peer {
    char *member_id;
    char **topics;
    int32_t topic_count;
    uint8_t *assignment; /* Assignment bytes for SyncGroup */
    size_t assignment_len;
} gm_peer;

struct weir_group_member {
    weir_consumer *c;
    weir_cluster *cl;
    weir_env *env;
    char *group_id;
    char *assignor;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms;
    int32_t heartbeat_interval_ms;
    int32_t auto_commit_interval_ms;
    int32_t retry_backoff_ms;
    int32_t request_timeout_ms;
    bool auto_commit;

    char **topics; /* the subscription */
    int32_t topic_count;

    gm_state state;
    uint64_t round;
    bool busy;
    bool finding;
    bool close_requested;
    bool revoke_lost;      /* the generation is gone: revoke without committing */
    bool revoke_committed; /* the revoke / leave commit was tried */
    bool leave_sent;
    int32_t coord; /* coordinator node id; -1 unknown */
    char *member_id;
    int32_t generation;
    char *protocol; /* the assignor the coordinator chose */
    int64_t retry_at_ns;

    gm_peer *peers; /* leader only, ASSIGN and SYNC */
    int32_t peer_count;
    int64_t assign_deadline_ns;

    weir_topic_partition *assigned; /* from SyncGroup (owned) */
    int64_t *committed;             /* per assigned: last offset committed; -1 none */
    int32_t assigned_count;
    bool installed;

    weir_timer *step_timer;
    int64_t step_at_ns;
    weir_timer *hb_timer;
    bool hb_busy;
    weir_timer *ac_timer;
    bool ac_busy;
    gm_req *reqs;
};

static void gm_step(weir_group_member *m);

/* ---- small helpers ---- */

static int16_t gm_version(int16_t api_key, int16_t want)
{
    const weir_api_range *r = weir_api_find(api_key);
    return r != NULL && r->max_version < want ? r->max_version : want;
}

static char *gm_strndup(const char *p, int32_t len)
{
    char *s = malloc((size_t)(len > 0 ? len : 0) + 1);
    if (s != NULL) {
        if (len > 0) {
            memcpy(s, p, (size_t)len);
        }
        s[len > 0 ? len : 0] = '\0';
    }
    return s;
}

static bool gm_set_str(char **dst, weir_str s)
{
    char *copy = gm_strndup(s.p, s.len);
    if (copy == NULL) {
        return false;
    }
    free(*dst);
    *dst = copy;
    return true;
}

static void gm_strs_free(char **strs, int32_t count)
{
    for (int32_t i = 0; strs != NULL && i < count; i++) {
        free(strs[i]);
    }
    free(strs);
}

/* Kafka's name, also for the network code weir_kerr_name does not list. */
static const char *gm_kerr_name(int16_t e)
{
    return e == WEIR_CONSUMER_ERR_NETWORK ? "NETWORK_EXCEPTION" : weir_kerr_name(e);
}

/* A transport error as the Kafka code a commit callback gets. */
static int16_t gm_transport_kerr(int err)
{
    return err == WEIR_E_TIMEOUT ? WEIR_KERR_REQUEST_TIMED_OUT : WEIR_CONSUMER_ERR_NETWORK;
}

static bool gm_coordinator_error(int16_t e)
{
    return e == WEIR_KERR_NOT_COORDINATOR || e == WEIR_KERR_COORDINATOR_NOT_AVAILABLE ||
           e == WEIR_CONSUMER_ERR_NETWORK || e == WEIR_KERR_REQUEST_TIMED_OUT;
}

static bool gm_in_generation(const weir_group_member *m)
{
    return m->state == GM_OFFSETS || m->state == GM_STABLE;
}

/* ---- timers ---- */

static void gm_step_cb(weir_env *env, void *arg)
{
    (void)env;
    weir_group_member *m = arg;
    m->step_timer = NULL;
    gm_step(m);
}

static void gm_arm(weir_group_member *m, int64_t at_ns)
{
    int64_t now = weir_now_ns(m->env);
    if (at_ns < now) {
        at_ns = now;
    }
    if (m->step_timer != NULL) {
        if (m->step_at_ns <= at_ns) {
            return;
        }
        weir_timer_cancel(m->env, m->step_timer);
    }
    m->step_at_ns = at_ns;
    m->step_timer = weir_timer_start(m->env, at_ns - now, gm_step_cb, m);
}

static void gm_backoff(weir_group_member *m)
{
    m->retry_at_ns = weir_now_ns(m->env) + (int64_t)m->retry_backoff_ms * MS;
    gm_arm(m, m->retry_at_ns);
}

static void gm_timer_stop(weir_group_member *m, weir_timer **t)
{
    if (*t != NULL) {
        weir_timer_cancel(m->env, *t);
        *t = NULL;
    }
}

/* ---- requests ---- */

static gm_req *gm_req_new(weir_group_member *m, gm_kind kind, int32_t offsets)
{
    gm_req *req = calloc(1, sizeof *req + (size_t)offsets * sizeof(gm_offset));
    if (req != NULL) {
        req->m = m;
        req->round = m->round;
        req->kind = kind;
    }
    return req;
}

static void gm_req_link(weir_group_member *m, gm_req *req)
{
    req->next = m->reqs;
    if (m->reqs != NULL) {
        m->reqs->prev = req;
    }
    m->reqs = req;
}

static void gm_req_unlink(weir_group_member *m, gm_req *req)
{
    if (req->prev != NULL) {
        req->prev->next = req->next;
    } else {
        m->reqs = req->next;
    }
    if (req->next != NULL) {
        req->next->prev = req->prev;
    }
}

static void gm_on_response(weir_cluster *cl, int err, const weir_response *resp, void *arg);

/* Sends r to the coordinator; the request is tracked on success, freed on
 * failure. Returns 0 or the cluster's error. */
static int gm_send(weir_group_member *m, gm_req *req, weir_request *r, int32_t timeout_ms)
{
    req->node_id = m->coord;
    int err = weir_cluster_send(m->cl, m->coord, r, timeout_ms, gm_on_response, req);
    if (err != 0) {
        GM_LOG(m, WEIR_LOG_INFO, "%s to coordinator %d not sent: %s",
               weir_api_name(r->header.api_key), m->coord, weir_err_str(err));
        free(req);
        return err;
    }
    gm_req_link(m, req);
    return 0;
}

/* ---- coordinator ---- */

static void gm_on_coordinator(weir_cluster *cl, int err, int32_t node_id, void *arg)
{
    (void)cl;
    weir_group_member *m = arg;
    m->finding = false;
    if (err != 0) {
        GM_LOG(m, WEIR_LOG_INFO, "no coordinator yet: %s", weir_err_str(err));
        gm_backoff(m);
        return;
    }
    if (m->coord != node_id) {
        GM_LOG(m, WEIR_LOG_INFO, "coordinator is node %d", node_id);
    }
    m->coord = node_id;
    gm_arm(m, 0);
}

static void gm_find(weir_group_member *m)
{
    if (m->finding) {
        return;
    }
    if (weir_cluster_find_coordinator(m->cl, WEIR_COORDINATOR_GROUP, m->group_id, gm_on_coordinator,
                                      m) != 0) {
        gm_backoff(m);
        return;
    }
    m->finding = true;
}

static void gm_coordinator_lost(weir_group_member *m, const char *why)
{
    if (m->coord >= 0) {
        GM_LOG(m, WEIR_LOG_INFO, "coordinator %d lost (%s); looking it up again", m->coord, why);
    }
    m->coord = -1;
    gm_backoff(m);
}

/* ---- membership transitions ---- */

static void gm_peers_free(weir_group_member *m)
{
    for (int32_t i = 0; i < m->peer_count; i++) {
        free(m->peers[i].member_id);
        gm_strs_free(m->peers[i].topics, m->peers[i].topic_count);
        free(m->peers[i].assignment);
    }
    free(m->peers);
    m->peers = NULL;
    m->peer_count = 0;
}

static void gm_assigned_free(weir_group_member *m)
{
    WEIR_ASSERT(!m->installed);
    weir_assignor_tps_free(m->assigned, m->assigned_count);
    free(m->committed);
    m->assigned = NULL;
    m->committed = NULL;
    m->assigned_count = 0;
}

static void gm_forget_member_id(weir_group_member *m)
{
    m->member_id[0] = '\0';
    m->generation = -1;
}

/* Leaves the current round: stops heartbeats and auto-commits, drops the
 * answers in flight; with `lost` the member id and generation are gone too.
 * Installed partitions are revoked (REVOKE) before the next JoinGroup. */
static void gm_rejoin(weir_group_member *m, bool lost, const char *why)
{
    GM_LOG(m, WEIR_LOG_INFO, "rejoining (%s)%s", why, lost ? " with a new member id" : "");
    m->round++;
    m->busy = false;
    m->hb_busy = false;
    m->ac_busy = false;
    gm_timer_stop(m, &m->hb_timer);
    gm_timer_stop(m, &m->ac_timer);
    gm_peers_free(m);
    if (lost) {
        gm_forget_member_id(m);
    }
    if (m->installed) {
        weir_consumer_group_pause(m->c);
        m->state = GM_REVOKE;
        m->revoke_lost = lost;
        m->revoke_committed = false;
    } else {
        gm_assigned_free(m);
        m->state = GM_JOIN;
    }
    gm_arm(m, 0);
}

/* ---- timers of a generation: heartbeat and auto-commit ---- */

static void gm_hb_cb(weir_env *env, void *arg);
static void gm_ac_cb(weir_env *env, void *arg);
static int gm_commit_send(weir_group_member *m, gm_kind kind, weir_consumer_commit_cb cb,
                          void *ctx);

static void gm_hb_start(weir_group_member *m)
{
    gm_timer_stop(m, &m->hb_timer);
    m->hb_timer = weir_timer_start(m->env, (int64_t)m->heartbeat_interval_ms * MS, gm_hb_cb, m);
}

static void gm_send_heartbeat(weir_group_member *m)
{
    gm_req *req = gm_req_new(m, GM_REQ_HEARTBEAT, 0);
    if (req == NULL) {
        return;
    }
    weir_request r;
    memset(&r, 0, sizeof r);
    r.header.api_key = WEIR_API_HEARTBEAT;
    r.header.api_version = gm_version(WEIR_API_HEARTBEAT, GM_HEARTBEAT_VERSION);
    r.body.heartbeat.group_id = weir_str_from(m->group_id);
    r.body.heartbeat.generation_id = m->generation;
    r.body.heartbeat.member_id = weir_str_from(m->member_id);
    r.body.heartbeat.group_instance_id = WEIR_STR_NULL;
    if (gm_send(m, req, &r, 0) == 0) {
        m->hb_busy = true;
    }
}

static void gm_hb_cb(weir_env *env, void *arg)
{
    (void)env;
    weir_group_member *m = arg;
    m->hb_timer = NULL;
    if (!gm_in_generation(m)) {
        return; /* not in a group: no heartbeats */
    }
    gm_hb_start(m);
    if (m->coord < 0) {
        gm_arm(m, 0); /* the step looks the coordinator up */
        return;
    }
    if (!m->hb_busy) {
        gm_send_heartbeat(m);
    }
}

static void gm_on_heartbeat(weir_group_member *m, int16_t error)
{
    m->hb_busy = false;
    switch (error) {
    case WEIR_KERR_NONE:
    case WEIR_KERR_COORDINATOR_LOAD_IN_PROGRESS:
        return;
    case WEIR_KERR_REBALANCE_IN_PROGRESS:
        gm_rejoin(m, false, "the group is rebalancing");
        return;
    case WEIR_KERR_ILLEGAL_GENERATION:
    case WEIR_KERR_UNKNOWN_MEMBER_ID:
    case WEIR_KERR_FENCED_INSTANCE_ID:
        gm_rejoin(m, true, gm_kerr_name(error));
        return;
    default:
        if (gm_coordinator_error(error)) {
            gm_coordinator_lost(m, gm_kerr_name(error));
            return;
        }
        GM_LOG(m, WEIR_LOG_WARN, "heartbeat: %s", gm_kerr_name(error));
        return;
    }
}

static void gm_ac_start(weir_group_member *m)
{
    gm_timer_stop(m, &m->ac_timer);
    if (m->auto_commit) {
        m->ac_timer =
            weir_timer_start(m->env, (int64_t)m->auto_commit_interval_ms * MS, gm_ac_cb, m);
    }
}

static void gm_ac_cb(weir_env *env, void *arg)
{
    (void)env;
    weir_group_member *m = arg;
    m->ac_timer = NULL;
    if (m->state != GM_STABLE) {
        return;
    }
    gm_ac_start(m);
    if (!m->ac_busy && m->coord >= 0 && gm_commit_send(m, GM_REQ_COMMIT_AUTO, NULL, NULL) == 1) {
        m->ac_busy = true;
    }
}

/* ---- JoinGroup ---- */

static void gm_send_join(weir_group_member *m)
{
    weir_wr meta;
    weir_wr_init(&meta);
    int err =
        weir_assignor_subscription_encode(&meta, (const char *const *)m->topics, m->topic_count);
    gm_req *req = err == 0 ? gm_req_new(m, GM_REQ_JOIN, 0) : NULL;
    if (req == NULL) {
        weir_wr_free(&meta);
        gm_backoff(m);
        return;
    }
    weir_join_group_protocol proto = {weir_str_from(m->assignor), {meta.buf, (int32_t)meta.len}};
    weir_request r;
    memset(&r, 0, sizeof r);
    r.header.api_key = WEIR_API_JOIN_GROUP;
    r.header.api_version = gm_version(WEIR_API_JOIN_GROUP, GM_JOIN_VERSION);
    weir_join_group_request *j = &r.body.join_group;
    j->group_id = weir_str_from(m->group_id);
    j->session_timeout_ms = m->session_timeout_ms;
    j->rebalance_timeout_ms = m->rebalance_timeout_ms;
    j->member_id = weir_str_from(m->member_id);
    j->group_instance_id = WEIR_STR_NULL;
    j->protocol_type = weir_str_from("consumer");
    j->protocol_count = 1;
    j->protocols = &proto;
    int32_t timeout_ms = m->rebalance_timeout_ms + GM_JOIN_TIMEOUT_EXTRA_MS;
    if (timeout_ms < m->request_timeout_ms) {
        timeout_ms = m->request_timeout_ms;
    }
    GM_LOG(m, WEIR_LOG_DEBUG, "JoinGroup as '%s'", m->member_id);
    if (gm_send(m, req, &r, timeout_ms) == 0) {
        m->busy = true;
    } else {
        gm_backoff(m);
    }
    weir_wr_free(&meta);
}

/* The leader's copy of the members and their subscriptions. */
static int gm_peers_take(weir_group_member *m, const weir_join_group_response *j)
{
    gm_peers_free(m);
    m->peers = calloc((size_t)(j->member_count > 0 ? j->member_count : 1), sizeof *m->peers);
    if (m->peers == NULL) {
        return WEIR_E_NOMEM;
    }
    weir_arena a;
    weir_arena_init(&a, 0);
    int err = 0;
    for (int32_t i = 0; i < j->member_count && err == 0; i++) {
        gm_peer *p = &m->peers[i];
        m->peer_count++;
        p->member_id = gm_strndup(j->members[i].member_id.p, j->members[i].member_id.len);
        const weir_str *topics = NULL;
        int32_t n = 0;
        if (weir_assignor_subscription_decode(j->members[i].metadata, &a, &topics, &n) != 0) {
            GM_LOG(m, WEIR_LOG_WARN, "member %s sent an unreadable subscription; it gets nothing",
                   p->member_id != NULL ? p->member_id : "?");
            n = 0;
        }
        p->topics = calloc((size_t)(n > 0 ? n : 1), sizeof *p->topics);
        if (p->member_id == NULL || p->topics == NULL) {
            err = WEIR_E_NOMEM;
            break;
        }
        for (int32_t k = 0; k < n; k++) {
            if ((p->topics[k] = gm_strndup(topics[k].p, topics[k].len)) == NULL) {
                err = WEIR_E_NOMEM;
                break;
            }
            p->topic_count++;
        }
    }
    weir_arena_free(&a);
    return err;
}

static void gm_on_join(weir_group_member *m, const weir_join_group_response *j)
{
    int16_t e = j->error_code;
    if (e == WEIR_KERR_NONE) {
        if (!gm_set_str(&m->member_id, j->member_id) ||
            !gm_set_str(&m->protocol, j->protocol_name)) {
            gm_backoff(m);
            return;
        }
        m->generation = j->generation_id;
        bool leader = weir_str_eq_cstr(j->leader, m->member_id);
        GM_LOG(m, WEIR_LOG_INFO, "joined generation %d as %s%s (%d members)", m->generation,
               m->member_id, leader ? ", the leader" : "", j->member_count);
        if (leader) {
            if (gm_peers_take(m, j) != 0) {
                gm_peers_free(m);
                gm_backoff(m); /* out of memory: the JoinGroup goes again */
                return;
            }
            m->assign_deadline_ns = weir_now_ns(m->env) + (int64_t)m->request_timeout_ms * MS;
            m->state = GM_ASSIGN;
        } else {
            m->state = GM_SYNC;
        }
        gm_arm(m, 0);
        return;
    }
    switch (e) {
    case WEIR_KERR_MEMBER_ID_REQUIRED:
        if (!gm_set_str(&m->member_id, j->member_id)) {
            gm_backoff(m);
            return;
        }
        gm_arm(m, 0); /* join again, now with the id */
        return;
    case WEIR_KERR_UNKNOWN_MEMBER_ID:
    case WEIR_KERR_ILLEGAL_GENERATION:
        gm_forget_member_id(m);
        gm_arm(m, 0);
        return;
    case WEIR_KERR_COORDINATOR_LOAD_IN_PROGRESS:
    case WEIR_KERR_REBALANCE_IN_PROGRESS:
        gm_backoff(m);
        return;
    case WEIR_KERR_INCONSISTENT_GROUP_PROTOCOL:
    case WEIR_KERR_INVALID_SESSION_TIMEOUT:
    case WEIR_KERR_INVALID_GROUP_ID:
    case WEIR_KERR_GROUP_AUTHORIZATION_FAILED:
    case WEIR_KERR_GROUP_MAX_SIZE_REACHED:
    case WEIR_KERR_FENCED_INSTANCE_ID:
    case WEIR_KERR_UNSUPPORTED_VERSION:
        GM_LOG(m, WEIR_LOG_ERROR, "JoinGroup refused: %s; waiting for a new subscribe",
               gm_kerr_name(e));
        m->state = GM_FAILED;
        weir_consumer_group_error(m->c, NULL, -1, e, -1);
        return;
    default:
        if (gm_coordinator_error(e)) {
            gm_coordinator_lost(m, gm_kerr_name(e));
            return;
        }
        GM_LOG(m, WEIR_LOG_WARN, "JoinGroup: %s; retrying", gm_kerr_name(e));
        gm_backoff(m);
        return;
    }
}

/* ---- the leader's assignment ---- */

/* Partition counts of every topic some member wants; false while one is
 * still unknown and the deadline has not passed. */
static bool gm_topic_counts(weir_group_member *m, weir_assignor_topic *topics, int32_t *count)
{
    int64_t now = weir_now_ns(m->env);
    bool ready = true;
    *count = 0;
    for (int32_t i = 0; i < m->peer_count; i++) {
        for (int32_t k = 0; k < m->peers[i].topic_count; k++) {
            const char *name = m->peers[i].topics[k];
            bool seen = false;
            for (int32_t t = 0; t < *count && !seen; t++) {
                seen = strcmp(topics[t].name, name) == 0;
            }
            if (seen) {
                continue;
            }
            int32_t n = 0;
            int rc = weir_cluster_topic_want(m->cl, name);
            if (rc == 0) {
                rc = weir_cluster_topic_partitions(m->cl, name, &n, NULL);
            }
            if (rc == WEIR_E_AGAIN && now < m->assign_deadline_ns) {
                ready = false;
            }
            topics[(*count)++] = (weir_assignor_topic){name, rc == 0 ? n : 0};
        }
    }
    return ready;
}

/* Runs the assignor and encodes every member's share; false to wait. */
static bool gm_assign(weir_group_member *m)
{
    int32_t total = 0;
    for (int32_t i = 0; i < m->peer_count; i++) {
        total += m->peers[i].topic_count;
    }
    weir_assignor_topic *topics = calloc((size_t)(total > 0 ? total : 1), sizeof *topics);
    weir_assignor_member *members =
        calloc((size_t)(m->peer_count > 0 ? m->peer_count : 1), sizeof *members);
    weir_assignor_share *shares =
        calloc((size_t)(m->peer_count > 0 ? m->peer_count : 1), sizeof *shares);
    int32_t topic_count = 0;
    bool done = false;
    if (topics == NULL || members == NULL || shares == NULL) {
        gm_backoff(m);
        goto free_scratch;
    }
    if (!gm_topic_counts(m, topics, &topic_count)) {
        int64_t at = weir_now_ns(m->env) + (int64_t)m->retry_backoff_ms * MS;
        gm_arm(m, at < m->assign_deadline_ns ? at : m->assign_deadline_ns);
        goto free_scratch; /* metadata on its way; on_wake also steps */
    }
    for (int32_t i = 0; i < m->peer_count; i++) {
        members[i] = (weir_assignor_member){m->peers[i].member_id, m->peers[i].topic_count,
                                            (const char *const *)m->peers[i].topics};
    }
    const char *name = weir_assignor_known(m->protocol) ? m->protocol : m->assignor;
    if (weir_assignor_assign(name, members, m->peer_count, topics, topic_count, shares) != 0) {
        gm_backoff(m);
        goto free_scratch;
    }
    int err = 0;
    for (int32_t i = 0; i < m->peer_count && err == 0; i++) {
        weir_wr w;
        weir_wr_init(&w);
        err = weir_assignor_assignment_encode(&w, shares[i].tps, shares[i].count);
        free(m->peers[i].assignment);
        m->peers[i].assignment = err == 0 ? weir_wr_take(&w, &m->peers[i].assignment_len) : NULL;
        if (err == 0 && m->peers[i].assignment == NULL) {
            err = WEIR_E_NOMEM;
        }
        GM_LOG(m, WEIR_LOG_DEBUG, "assigns %d partition(s) to %s", shares[i].count,
               m->peers[i].member_id);
        weir_wr_free(&w);
    }
    weir_assignor_shares_free(shares, m->peer_count);
    if (err != 0) {
        gm_backoff(m);
        goto free_scratch;
    }
    m->state = GM_SYNC;
    done = true;
free_scratch:
    free(shares);
    free(members);
    free(topics);
    return done;
}

/* ---- SyncGroup ---- */

static void gm_send_sync(weir_group_member *m)
{
    weir_sync_group_assignment *as =
        calloc((size_t)(m->peer_count > 0 ? m->peer_count : 1), sizeof *as);
    gm_req *req = as != NULL ? gm_req_new(m, GM_REQ_SYNC, 0) : NULL;
    if (req == NULL) {
        free(as);
        gm_backoff(m);
        return;
    }
    for (int32_t i = 0; i < m->peer_count; i++) {
        as[i].member_id = weir_str_from(m->peers[i].member_id);
        as[i].assignment =
            (weir_bytes){m->peers[i].assignment, (int32_t)m->peers[i].assignment_len};
    }
    weir_request r;
    memset(&r, 0, sizeof r);
    r.header.api_key = WEIR_API_SYNC_GROUP;
    r.header.api_version = gm_version(WEIR_API_SYNC_GROUP, GM_SYNC_VERSION);
    weir_sync_group_request *s = &r.body.sync_group;
    s->group_id = weir_str_from(m->group_id);
    s->generation_id = m->generation;
    s->member_id = weir_str_from(m->member_id);
    s->group_instance_id = WEIR_STR_NULL;
    s->assignment_count = m->peer_count;
    s->assignments = as;
    int32_t timeout_ms = m->rebalance_timeout_ms + GM_JOIN_TIMEOUT_EXTRA_MS;
    if (timeout_ms < m->request_timeout_ms) {
        timeout_ms = m->request_timeout_ms;
    }
    if (gm_send(m, req, &r, timeout_ms) == 0) {
        m->busy = true;
    } else {
        gm_backoff(m);
    }
    free(as);
}

static void gm_on_sync(weir_group_member *m, const weir_sync_group_response *s)
{
    int16_t e = s->error_code;
    gm_peers_free(m);
    if (e != WEIR_KERR_NONE) {
        bool lost = e == WEIR_KERR_UNKNOWN_MEMBER_ID || e == WEIR_KERR_ILLEGAL_GENERATION ||
                    e == WEIR_KERR_FENCED_INSTANCE_ID;
        GM_LOG(m, WEIR_LOG_INFO, "SyncGroup: %s; joining again", gm_kerr_name(e));
        if (lost) {
            gm_forget_member_id(m);
        }
        m->state = GM_JOIN;
        if (gm_coordinator_error(e)) {
            gm_coordinator_lost(m, gm_kerr_name(e));
        } else if (e == WEIR_KERR_REBALANCE_IN_PROGRESS || lost) {
            gm_arm(m, 0);
        } else {
            gm_backoff(m);
        }
        return;
    }
    weir_topic_partition *tps = NULL;
    int32_t n = 0;
    int err = weir_assignor_assignment_decode(s->assignment, &tps, &n);
    int64_t *committed = err == 0 ? calloc((size_t)(n > 0 ? n : 1), sizeof *committed) : NULL;
    if (committed == NULL) {
        GM_LOG(m, WEIR_LOG_WARN, "unreadable assignment (%s); joining again", weir_err_str(err));
        weir_assignor_tps_free(tps, n);
        m->state = GM_JOIN;
        gm_backoff(m);
        return;
    }
    for (int32_t i = 0; i < n; i++) {
        committed[i] = -1;
    }
    gm_assigned_free(m);
    m->assigned = tps;
    m->assigned_count = n;
    m->committed = committed;
    GM_LOG(m, WEIR_LOG_INFO, "generation %d: %d partition(s) assigned", m->generation, n);
    m->state = GM_OFFSETS;
    gm_hb_start(m);
    gm_arm(m, 0);
}

/* ---- OffsetFetch ---- */

static void gm_install(weir_group_member *m, const int64_t *positions);

/* Sends OffsetFetch for the assigned partitions (with none, installs the
 * empty assignment at once). Always false: the answer moves the state. */
static bool gm_send_offset_fetch(weir_group_member *m)
{
    if (m->assigned_count == 0) {
        gm_install(m, NULL);
        return false;
    }
    int32_t n = m->assigned_count;
    weir_offset_fetch_topic *topics = calloc((size_t)n, sizeof *topics);
    int32_t *indexes = calloc((size_t)n, sizeof *indexes);
    gm_req *req = topics != NULL && indexes != NULL ? gm_req_new(m, GM_REQ_OFFSETS, 0) : NULL;
    if (req == NULL) {
        free(topics);
        free(indexes);
        gm_backoff(m);
        return false;
    }
    int32_t topic_count = 0;
    int32_t k = 0;
    for (int32_t i = 0; i < n; i++) {
        bool seen = false;
        for (int32_t j = 0; j < i && !seen; j++) {
            seen = strcmp(m->assigned[j].topic, m->assigned[i].topic) == 0;
        }
        if (seen) {
            continue;
        }
        weir_offset_fetch_topic *t = &topics[topic_count++];
        t->name = weir_str_from(m->assigned[i].topic);
        t->partition_indexes = &indexes[k];
        for (int32_t j = i; j < n; j++) {
            if (strcmp(m->assigned[j].topic, m->assigned[i].topic) == 0) {
                indexes[k++] = m->assigned[j].partition;
                t->partition_index_count++;
            }
        }
    }
    weir_request r;
    memset(&r, 0, sizeof r);
    r.header.api_key = WEIR_API_OFFSET_FETCH;
    r.header.api_version = gm_version(WEIR_API_OFFSET_FETCH, GM_OFFSET_FETCH_VERSION);
    r.body.offset_fetch.group_id = weir_str_from(m->group_id);
    r.body.offset_fetch.topic_count = topic_count;
    r.body.offset_fetch.topics = topics;
    if (gm_send(m, req, &r, 0) == 0) {
        m->busy = true;
    } else {
        gm_backoff(m);
    }
    free(topics);
    free(indexes);
    return false;
}

static const weir_offset_fetch_partition_response *
gm_find_offset(const weir_offset_fetch_response *r, const weir_topic_partition *tp)
{
    for (int32_t i = 0; i < r->topic_count; i++) {
        if (!weir_str_eq_cstr(r->topics[i].name, tp->topic)) {
            continue;
        }
        for (int32_t j = 0; j < r->topics[i].partition_count; j++) {
            if (r->topics[i].partitions[j].partition_index == tp->partition) {
                return &r->topics[i].partitions[j];
            }
        }
    }
    return NULL;
}

/* Hands the assignment to the consumer at these positions (NULL: none
 * assigned), then on_assign. */
static void gm_install(weir_group_member *m, const int64_t *positions)
{
    if (weir_consumer_group_install(m->c, m->assigned, positions, m->assigned_count, true) != 0) {
        gm_backoff(m); /* out of memory: OffsetFetch again later */
        return;
    }
    for (int32_t i = 0; i < m->assigned_count; i++) {
        m->committed[i] = positions[i];
    }
    m->installed = true;
    m->state = GM_STABLE;
    gm_ac_start(m);
    weir_consumer_group_notify(m->c, true, m->assigned, m->assigned_count);
}

static void gm_on_offsets(weir_group_member *m, const weir_offset_fetch_response *r)
{
    int16_t e = r->error_code;
    int64_t *positions = calloc((size_t)m->assigned_count, sizeof *positions);
    for (int32_t i = 0; e == WEIR_KERR_NONE && positions != NULL && i < m->assigned_count; i++) {
        const weir_offset_fetch_partition_response *p = gm_find_offset(r, &m->assigned[i]);
        int16_t pe = p != NULL ? p->error_code : WEIR_KERR_UNKNOWN_TOPIC_OR_PARTITION;
        positions[i] = -1;
        if (pe == WEIR_KERR_UNSTABLE_OFFSET_COMMIT ||
            pe == WEIR_KERR_COORDINATOR_LOAD_IN_PROGRESS || gm_coordinator_error(pe)) {
            e = pe; /* the whole answer is retried */
        } else if (pe != WEIR_KERR_NONE) {
            weir_consumer_group_error(m->c, m->assigned[i].topic, m->assigned[i].partition, pe, -1);
        } else if (p->committed_offset >= 0) {
            positions[i] = p->committed_offset;
        }
    }
    if (positions == NULL) {
        gm_backoff(m);
    } else if (e == WEIR_KERR_NONE) {
        gm_install(m, positions);
    } else if (gm_coordinator_error(e)) {
        gm_coordinator_lost(m, gm_kerr_name(e));
    } else {
        GM_LOG(m, WEIR_LOG_INFO, "OffsetFetch: %s; retrying", gm_kerr_name(e));
        gm_backoff(m);
    }
    free(positions);
}

/* ---- OffsetCommit ---- */

static int32_t gm_assigned_index(const weir_group_member *m, const char *topic, int32_t partition)
{
    for (int32_t i = 0; i < m->assigned_count; i++) {
        if (m->assigned[i].partition == partition && strcmp(m->assigned[i].topic, topic) == 0) {
            return i;
        }
    }
    return -1;
}

/* Builds and sends OffsetCommit over pairs tps[req->off[..]] (grouped by
 * topic in first-appearance order). */
static int gm_commit_request(weir_group_member *m, gm_req *req, const weir_topic_partition *tps,
                             const int32_t *which)
{
    int32_t n = req->count;
    weir_offset_commit_topic *topics = calloc((size_t)n, sizeof *topics);
    weir_offset_commit_partition *parts = calloc((size_t)n, sizeof *parts);
    if (topics == NULL || parts == NULL) {
        free(topics);
        free(parts);
        free(req);
        return WEIR_E_NOMEM;
    }
    int32_t topic_count = 0;
    int32_t k = 0;
    for (int32_t i = 0; i < n; i++) {
        const char *t = tps[which[i]].topic;
        bool seen = false;
        for (int32_t j = 0; j < i && !seen; j++) {
            seen = strcmp(tps[which[j]].topic, t) == 0;
        }
        if (seen) {
            continue;
        }
        weir_offset_commit_topic *ct = &topics[topic_count++];
        ct->name = weir_str_from(t);
        ct->partitions = &parts[k];
        for (int32_t j = i; j < n; j++) {
            if (strcmp(tps[which[j]].topic, t) == 0) {
                parts[k++] = (weir_offset_commit_partition){
                    tps[which[j]].partition, req->off[j].offset, -1, -1, weir_str_from("")};
                ct->partition_count++;
            }
        }
    }
    weir_request r;
    memset(&r, 0, sizeof r);
    r.header.api_key = WEIR_API_OFFSET_COMMIT;
    r.header.api_version = gm_version(WEIR_API_OFFSET_COMMIT, GM_COMMIT_VERSION);
    weir_offset_commit_request *oc = &r.body.offset_commit;
    oc->group_id = weir_str_from(m->group_id);
    oc->generation_id = m->generation;
    oc->member_id = weir_str_from(m->member_id);
    oc->group_instance_id = WEIR_STR_NULL;
    oc->retention_time_ms = -1;
    oc->topic_count = topic_count;
    oc->topics = topics;
    int err = gm_send(m, req, &r, 0);
    free(topics);
    free(parts);
    return err;
}

/* Commits the consumer's positions: 1 when a request went out (req tracked),
 * 0 when there was nothing to commit, or a negative WEIR_E_*. An auto or
 * revoke commit leaves out partitions whose position is already committed. */
static int gm_commit_send(weir_group_member *m, gm_kind kind, weir_consumer_commit_cb cb, void *ctx)
{
    const weir_topic_partition *tps = NULL;
    int32_t n = 0;
    weir_consumer_assignment(m->c, &tps, &n);
    gm_req *req = gm_req_new(m, kind, n);
    int32_t *which = calloc((size_t)(n > 0 ? n : 1), sizeof *which);
    if (req == NULL || which == NULL) {
        free(req);
        free(which);
        return WEIR_E_NOMEM;
    }
    req->cb = cb;
    req->ctx = ctx;
    for (int32_t i = 0; i < n; i++) {
        int64_t pos = -1;
        if (weir_consumer_position(m->c, tps[i].topic, tps[i].partition, &pos) != 0) {
            continue; /* no position yet: nothing to say */
        }
        int32_t idx = gm_assigned_index(m, tps[i].topic, tps[i].partition);
        if (kind != GM_REQ_COMMIT_USER && idx >= 0 && m->committed[idx] == pos) {
            continue;
        }
        which[req->count] = i;
        req->off[req->count++] = (gm_offset){idx, pos};
    }
    if (req->count == 0) {
        free(req);
        free(which);
        return 0;
    }
    GM_LOG(m, WEIR_LOG_DEBUG, "commits %d offset(s) in generation %d", req->count, m->generation);
    int err = gm_commit_request(m, req, tps, which);
    free(which);
    return err == 0 ? 1 : err;
}

static int16_t gm_commit_result(const weir_offset_commit_response *r)
{
    for (int32_t i = 0; i < r->topic_count; i++) {
        for (int32_t j = 0; j < r->topics[i].partition_count; j++) {
            if (r->topics[i].partitions[j].error_code != WEIR_KERR_NONE) {
                return r->topics[i].partitions[j].error_code;
            }
        }
    }
    return WEIR_KERR_NONE;
}

/* A commit's answer in the current round. */
static void gm_on_commit(weir_group_member *m, const gm_req *req, int16_t error)
{
    if (req->kind == GM_REQ_COMMIT_AUTO) {
        m->ac_busy = false;
    }
    if (error == WEIR_KERR_NONE) {
        for (int32_t i = 0; i < req->count; i++) {
            if (req->off[i].index >= 0 && req->off[i].index < m->assigned_count) {
                m->committed[req->off[i].index] = req->off[i].offset;
            }
        }
    } else {
        GM_LOG(m, WEIR_LOG_INFO, "OffsetCommit: %s", gm_kerr_name(error));
    }
    if (req->kind == GM_REQ_COMMIT_REVOKE) {
        m->busy = false; /* on to on_revoke whatever the outcome */
        gm_arm(m, 0);
        return;
    }
    if (gm_coordinator_error(error)) {
        gm_coordinator_lost(m, gm_kerr_name(error));
    } else if (m->state == GM_STABLE && error == WEIR_KERR_REBALANCE_IN_PROGRESS) {
        gm_rejoin(m, false, "a commit met a rebalance");
    } else if (gm_in_generation(m) &&
               (error == WEIR_KERR_ILLEGAL_GENERATION || error == WEIR_KERR_UNKNOWN_MEMBER_ID)) {
        gm_rejoin(m, true, gm_kerr_name(error));
    }
}

/* ---- LeaveGroup ---- */

static void gm_send_leave(weir_group_member *m)
{
    gm_req *req = gm_req_new(m, GM_REQ_LEAVE, 0);
    if (req == NULL) {
        m->state = GM_CLOSED;
        return;
    }
    weir_request r;
    memset(&r, 0, sizeof r);
    r.header.api_key = WEIR_API_LEAVE_GROUP;
    r.header.api_version = gm_version(WEIR_API_LEAVE_GROUP, GM_LEAVE_VERSION);
    r.body.leave_group.group_id = weir_str_from(m->group_id);
    r.body.leave_group.member_id = weir_str_from(m->member_id);
    GM_LOG(m, WEIR_LOG_INFO, "leaving as %s", m->member_id);
    m->leave_sent = true;
    if (gm_send(m, req, &r, 0) == 0) {
        m->busy = true;
    } else {
        m->state = GM_CLOSED;
    }
}

/* ---- the response dispatcher ---- */

static void gm_on_response(weir_cluster *cl, int err, const weir_response *resp, void *arg)
{
    (void)cl;
    gm_req *req = arg;
    weir_group_member *m = req->m;
    gm_req_unlink(m, req);
    bool current = req->round == m->round;
    int16_t kerr = err != 0 ? gm_transport_kerr(err) : WEIR_KERR_NONE;
    if (err != 0 && current) {
        GM_LOG(m, WEIR_LOG_INFO, "%s to coordinator %d failed: %s",
               req->kind == GM_REQ_HEARTBEAT ? "Heartbeat" : "request", req->node_id,
               weir_err_str(err));
    }
    switch (req->kind) {
    case GM_REQ_COMMIT_USER:
    case GM_REQ_COMMIT_AUTO:
    case GM_REQ_COMMIT_REVOKE:
        if (err == 0) {
            kerr = gm_commit_result(&resp->body.offset_commit);
        }
        if (current) {
            gm_on_commit(m, req, kerr);
        }
        if (req->cb != NULL) {
            weir_consumer_group_commit_done(m->c, req->cb, req->ctx, kerr);
        }
        break;
    case GM_REQ_HEARTBEAT:
        if (current) {
            gm_on_heartbeat(m, err != 0 ? kerr : resp->body.heartbeat.error_code);
        }
        break;
    default:
        if (!current) {
            break;
        }
        m->busy = false;
        if (req->kind == GM_REQ_LEAVE) {
            m->state = GM_CLOSED;
        } else if (err != 0) {
            if (req->kind == GM_REQ_SYNC) {
                gm_peers_free(m);
                m->state = GM_JOIN; /* the generation may have moved on */
            }
            gm_coordinator_lost(m, weir_err_str(err));
        } else if (req->kind == GM_REQ_JOIN) {
            gm_on_join(m, &resp->body.join_group);
        } else if (req->kind == GM_REQ_SYNC) {
            gm_on_sync(m, &resp->body.sync_group);
        } else {
            gm_on_offsets(m, &resp->body.offset_fetch);
        }
        break;
    }
    free(req);
}

/* A commit with nothing to send still answers from an env event. */
static void gm_deferred_cb(weir_env *env, void *arg)
{
    (void)env;
    gm_req *req = arg;
    weir_group_member *m = req->m;
    req->timer = NULL;
    gm_req_unlink(m, req);
    if (req->cb != NULL) {
        weir_consumer_group_commit_done(m->c, req->cb, req->ctx, req->deferred_error);
    }
    free(req);
}

static int gm_answer_later(weir_group_member *m, weir_consumer_commit_cb cb, void *ctx,
                           int16_t error)
{
    gm_req *req = gm_req_new(m, GM_REQ_COMMIT_USER, 0);
    if (req == NULL) {
        return WEIR_E_NOMEM;
    }
    req->cb = cb;
    req->ctx = ctx;
    req->deferred_error = error;
    req->timer = weir_timer_start(m->env, 0, gm_deferred_cb, req);
    gm_req_link(m, req);
    return 0;
}

/* ---- the step: what the state needs next ---- */

/* REVOKE and LEAVING: commit (auto), on_revoke, then JoinGroup / LeaveGroup.
 * True when the state changed and the step should look again. */
static bool gm_step_revoke(weir_group_member *m)
{
    if (m->installed && m->auto_commit && !m->revoke_lost && !m->revoke_committed) {
        if (m->coord < 0 && m->state == GM_REVOKE) {
            gm_find(m);
            return false;
        }
        m->revoke_committed = true; /* one try; a leave does not wait for a lookup */
        if (m->coord >= 0 && gm_commit_send(m, GM_REQ_COMMIT_REVOKE, NULL, NULL) == 1) {
            m->busy = true;
            return false;
        }
    }
    if (m->installed) {
        m->installed = false;
        weir_consumer_group_notify(m->c, false, m->assigned, m->assigned_count);
        weir_ignore(weir_consumer_group_install(m->c, NULL, NULL, 0, false));
    }
    gm_assigned_free(m);
    if (m->state == GM_REVOKE) {
        m->state = GM_JOIN;
        return true;
    }
    if (m->leave_sent || m->member_id[0] == '\0' || m->coord < 0) {
        m->state = GM_CLOSED; /* answered, or nothing to leave, or nobody to tell */
        return false;
    }
    gm_send_leave(m);
    return false;
}

static void gm_begin_close(weir_group_member *m)
{
    m->close_requested = false;
    m->round++;
    m->busy = false;
    m->hb_busy = false;
    m->ac_busy = false;
    gm_timer_stop(m, &m->hb_timer);
    gm_timer_stop(m, &m->ac_timer);
    gm_peers_free(m);
    m->revoke_lost = m->generation < 0;
    m->revoke_committed = false;
    m->leave_sent = false;
    m->retry_at_ns = 0;
    if (m->state == GM_IDLE || m->state == GM_FAILED) {
        m->state = GM_CLOSED;
        return;
    }
    if (!m->installed) {
        gm_assigned_free(m);
    }
    m->state = GM_LEAVING;
}

static bool gm_step_once(weir_group_member *m)
{
    if (m->close_requested && m->state != GM_CLOSED && m->state != GM_LEAVING) {
        gm_begin_close(m);
    }
    if (m->state == GM_IDLE || m->state == GM_FAILED || m->state == GM_CLOSED || m->busy) {
        return false;
    }
    int64_t now = weir_now_ns(m->env);
    if (now < m->retry_at_ns && m->state != GM_LEAVING) {
        gm_arm(m, m->retry_at_ns);
        return false;
    }
    if (m->state == GM_REVOKE || m->state == GM_LEAVING) {
        return gm_step_revoke(m);
    }
    if (m->coord < 0) {
        gm_find(m);
        return false;
    }
    switch (m->state) {
    case GM_JOIN:
        gm_send_join(m);
        return false;
    case GM_ASSIGN:
        return gm_assign(m);
    case GM_SYNC:
        gm_send_sync(m);
        return false;
    case GM_OFFSETS:
        return gm_send_offset_fetch(m);
    default:
        return false; /* STABLE: heartbeats and auto-commits run on their timers */
    }
}

static void gm_step(weir_group_member *m)
{
    for (int i = 0; i < GM_STEPS_MAX; i++) {
        if (!gm_step_once(m)) {
            return;
        }
    }
    gm_arm(m, 0);
}

/* ---- the interface to consumer.c ---- */

bool weir_group_member_config_ok(const weir_consumer_config *cfg, const char **why)
{
    const char *assignor = cfg->assignor != NULL ? cfg->assignor : "range";
    if (cfg->group_id == NULL || cfg->group_id[0] == '\0' || !weir_assignor_known(assignor) ||
        cfg->session_timeout_ms <= 0 || cfg->heartbeat_interval_ms <= 0 ||
        cfg->heartbeat_interval_ms >= cfg->session_timeout_ms || cfg->rebalance_timeout_ms <= 0 ||
        (cfg->enable_auto_commit && cfg->auto_commit_interval_ms <= 0)) {
        *why = "a group setting is out of range (group_id, assignor, timeouts, intervals)";
        return false;
    }
    return true;
}

weir_group_member *weir_group_member_new(weir_consumer *c, weir_cluster *cl,
                                         const weir_consumer_config *cfg, const char **why)
{
    const char *assignor = cfg->assignor != NULL ? cfg->assignor : "range";
    if (!weir_group_member_config_ok(cfg, why)) {
        return NULL;
    }
    weir_group_member *m = calloc(1, sizeof *m);
    if (m == NULL) {
        *why = "out of memory";
        return NULL;
    }
    m->c = c;
    m->cl = cl;
    m->env = weir_cluster_env(cl);
    m->group_id = strdup(cfg->group_id);
    m->assignor = strdup(assignor);
    m->member_id = strdup("");
    if (m->group_id == NULL || m->assignor == NULL || m->member_id == NULL) {
        weir_group_member_release(m, false);
        *why = "out of memory";
        return NULL;
    }
    m->session_timeout_ms = cfg->session_timeout_ms;
    m->rebalance_timeout_ms = cfg->rebalance_timeout_ms;
    m->heartbeat_interval_ms = cfg->heartbeat_interval_ms;
    m->auto_commit_interval_ms = cfg->auto_commit_interval_ms;
    m->retry_backoff_ms = cfg->retry_backoff_ms;
    m->request_timeout_ms = cfg->request_timeout_ms;
    m->auto_commit = cfg->enable_auto_commit;
    m->coord = -1;
    m->generation = -1;
    return m;
}

void weir_group_member_release(weir_group_member *m, bool env_live)
{
    if (m == NULL) {
        return;
    }
    if (env_live) {
        gm_timer_stop(m, &m->step_timer);
        gm_timer_stop(m, &m->hb_timer);
        gm_timer_stop(m, &m->ac_timer);
    }
    while (m->reqs != NULL) {
        gm_req *r = m->reqs;
        m->reqs = r->next;
        if (env_live && r->timer != NULL) {
            weir_timer_cancel(m->env, r->timer);
        }
        free(r);
    }
    gm_peers_free(m);
    m->installed = false;
    gm_assigned_free(m);
    gm_strs_free(m->topics, m->topic_count);
    free(m->group_id);
    free(m->assignor);
    free(m->member_id);
    free(m->protocol);
    free(m);
}

int weir_group_member_subscribe(weir_group_member *m, const char *const *topics, int32_t count)
{
    if (count < 0 || (count > 0 && topics == NULL) || m->state == GM_CLOSED ||
        m->state == GM_LEAVING || m->close_requested) {
        return WEIR_E_INVAL;
    }
    for (int32_t i = 0; i < count; i++) {
        if (topics[i] == NULL || topics[i][0] == '\0') {
            return WEIR_E_INVAL;
        }
    }
    char **copy = calloc((size_t)(count > 0 ? count : 1), sizeof *copy);
    if (copy == NULL) {
        return WEIR_E_NOMEM;
    }
    int32_t n = 0;
    for (int32_t i = 0; i < count; i++) {
        bool dup = false;
        for (int32_t j = 0; j < n && !dup; j++) {
            dup = strcmp(copy[j], topics[i]) == 0;
        }
        if (dup) {
            continue;
        }
        if ((copy[n] = strdup(topics[i])) == NULL ||
            weir_cluster_topic_want(m->cl, topics[i]) != 0) {
            free(copy[n]);
            gm_strs_free(copy, n);
            return WEIR_E_NOMEM;
        }
        n++;
    }
    gm_strs_free(m->topics, m->topic_count);
    m->topics = copy;
    m->topic_count = n;
    if (m->state == GM_IDLE || m->state == GM_FAILED) {
        m->state = GM_JOIN;
        m->retry_at_ns = 0;
        gm_arm(m, 0);
    } else {
        gm_rejoin(m, false, "a new subscription");
    }
    return 0;
}

int weir_group_member_commit(weir_group_member *m, weir_consumer_commit_cb cb, void *ctx)
{
    if (m->state == GM_CLOSED || m->state == GM_LEAVING || m->close_requested) {
        return WEIR_E_INVAL;
    }
    if (m->coord < 0 || m->generation < 0) {
        return gm_answer_later(m, cb, ctx,
                               m->coord < 0 ? WEIR_KERR_COORDINATOR_NOT_AVAILABLE
                                            : WEIR_KERR_UNKNOWN_MEMBER_ID);
    }
    int rc = gm_commit_send(m, GM_REQ_COMMIT_USER, cb, ctx);
    if (rc == 1) {
        return 0;
    }
    if (rc == WEIR_E_NOMEM) {
        return rc;
    }
    /* nothing to commit, or the connection cannot take it now */
    return gm_answer_later(m, cb, ctx, rc == 0 ? WEIR_KERR_NONE : WEIR_CONSUMER_ERR_NETWORK);
}

void weir_group_member_close(weir_group_member *m)
{
    if (m->state == GM_CLOSED || m->state == GM_LEAVING) {
        return;
    }
    m->close_requested = true;
    if (m->installed) {
        weir_consumer_group_pause(m->c); /* no record after close */
    }
    gm_arm(m, 0);
}

bool weir_group_member_closed(const weir_group_member *m)
{
    return m->state == GM_CLOSED;
}

bool weir_group_member_subscribed(const weir_group_member *m)
{
    return m->state != GM_IDLE;
}

void weir_group_member_wake(weir_group_member *m)
{
    if (m->state == GM_ASSIGN && !m->busy) {
        gm_arm(m, 0);
    }
}

void weir_group_member_metadata(const weir_group_member *m, const char **group_id_out,
                                int32_t *generation_out, const char **member_id_out)
{
    *group_id_out = m->group_id;
    *generation_out = m->generation;
    *member_id_out = m->member_id;
}
