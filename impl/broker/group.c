/* Group membership, Kafka's classic protocol: JoinGroup, SyncGroup,
 * Heartbeat, LeaveGroup, session timeouts and the rebalance state machine
 *
 *   Empty --join--> PreparingRebalance --all rejoined / timeout-->
 *   CompletingRebalance --leader's SyncGroup stored--> Stable
 *
 * with a member leaving, expiring or rejoining with new metadata sending a
 * Stable or CompletingRebalance group back to PreparingRebalance.
 *
 * JoinGroups are held (bk_reply) until every known member has rejoined or
 * the rebalance timeout (the members' largest) passes; a new group first
 * waits group.initial.rebalance.delay.ms, longer while members keep coming,
 * up to the rebalance timeout. Members that did not rejoin are dropped; the
 * generation goes up; the leader's JoinGroup carries every member's metadata.
 * Followers' SyncGroups wait for the leader's, whose assignment is written to
 * __consumer_offsets (group_offsets.c) and handed out once replicated. */
#include "broker/group_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"

#define MS 1000000LL

static char *dup_n(const char *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s != NULL) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

static char *dup_str(weir_str s)
{
    return dup_n(s.len > 0 ? s.p : "", s.len > 0 ? (size_t)s.len : 0);
}

static bool str_is(weir_str s, const char *c)
{
    size_t n = strlen(c);
    return (s.len > 0 ? (size_t)s.len : 0) == n && (n == 0 || memcmp(s.p, c, n) == 0);
}

const char *grp_state_name(grp_state s)
{
    switch (s) {
    case GRP_EMPTY:
        return "Empty";
    case GRP_PREPARING_REBALANCE:
        return "PreparingRebalance";
    case GRP_COMPLETING_REBALANCE:
        return "CompletingRebalance";
    case GRP_STABLE:
        return "Stable";
    case GRP_DEAD:
        return "Dead";
    }
    return "Dead";
}

/* ---- lookup ---- */

grp_part *grp_part_get(weir_broker *b, int32_t index)
{
    bk_groups *gs = b->groups;
    return gs != NULL && index >= 0 && index < gs->n_parts ? gs->parts[index] : NULL;
}

static int id_cmp(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c != 0 ? c : (alen < blen ? -1 : (alen > blen ? 1 : 0));
}

static size_t group_lower_bound(const grp_part *part, const char *id, size_t len)
{
    size_t lo = 0, hi = part->n_groups;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (id_cmp(id, len, part->groups[mid]->group_id) > 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

grp_group *grp_find(grp_part *part, const char *id, size_t len)
{
    if (part == NULL) {
        return NULL;
    }
    size_t i = group_lower_bound(part, id, len);
    return i < part->n_groups && id_cmp(id, len, part->groups[i]->group_id) == 0 ? part->groups[i]
                                                                                 : NULL;
}

grp_group *grp_create(grp_part *part, const char *id, size_t len)
{
    if (part->n_groups == part->cap_groups) {
        size_t cap = part->cap_groups ? part->cap_groups * 2 : 8;
        grp_group **grown = realloc(part->groups, cap * sizeof *grown);
        if (grown == NULL) {
            return NULL;
        }
        part->groups = grown;
        part->cap_groups = cap;
    }
    grp_group *g = calloc(1, sizeof *g);
    char *gid = dup_n(id, len);
    if (g == NULL || gid == NULL) {
        free(g);
        free(gid);
        return NULL;
    }
    g->part = part;
    g->group_id = gid;
    g->state = GRP_EMPTY;
    size_t i = group_lower_bound(part, id, len);
    memmove(part->groups + i + 1, part->groups + i, (part->n_groups - i) * sizeof *part->groups);
    part->groups[i] = g;
    part->n_groups++;
    return g;
}

grp_member *grp_member_find(grp_group *g, const char *id, size_t len)
{
    for (int i = 0; g != NULL && i < g->n_members; i++) {
        if (id_cmp(id, len, g->members[i]->member_id) == 0) {
            return g->members[i];
        }
    }
    return NULL;
}

static int pending_find(const grp_group *g, const char *id, size_t len)
{
    for (int i = 0; i < g->n_pending; i++) {
        if (id_cmp(id, len, g->pending[i]->member_id) == 0) {
            return i;
        }
    }
    return -1;
}

/* ---- replies ---- */

typedef struct join_answer {
    int16_t error;
    const grp_group *g; /* NULL on errors */
    const char *member_id;
    bool with_members; /* the leader gets everyone's metadata */
} join_answer;

void grp_member_subscription(const grp_group *g, const grp_member *m, const uint8_t **p,
                             int32_t *len)
{
    *p = NULL;
    *len = 0;
    for (int i = 0; g->protocol_name != NULL && i < m->n_protocols; i++) {
        if (strcmp(m->protocols[i].name, g->protocol_name) == 0) {
            *p = m->protocols[i].metadata;
            *len = m->protocols[i].metadata_len;
        }
    }
}

static int join_encode(weir_wr *w, weir_arena *a, int16_t version, void *arg)
{
    const join_answer *ja = arg;
    weir_join_group_response resp = {0};
    resp.error_code = ja->error;
    resp.generation_id = -1;
    resp.protocol_name = weir_str_from("");
    resp.leader = weir_str_from("");
    resp.member_id = weir_str_from(ja->member_id != NULL ? ja->member_id : "");
    const grp_group *g = ja->g;
    if (ja->error == WEIR_KERR_NONE && g != NULL) {
        resp.generation_id = g->generation;
        resp.protocol_name = weir_str_from(g->protocol_name != NULL ? g->protocol_name : "");
        resp.leader = weir_str_from(g->leader_id != NULL ? g->leader_id : "");
        if (ja->with_members) {
            weir_join_group_member *ms =
                weir_arena_alloc_array(a, (size_t)g->n_members, sizeof *ms);
            if (ms == NULL && g->n_members > 0) {
                return WEIR_E_NOMEM;
            }
            for (int i = 0; i < g->n_members; i++) {
                const grp_member *m = g->members[i];
                const uint8_t *sub;
                int32_t sub_len;
                grp_member_subscription(g, m, &sub, &sub_len);
                ms[i].member_id = weir_str_from(m->member_id);
                ms[i].group_instance_id = weir_str_from(m->group_instance_id);
                ms[i].metadata = (weir_bytes){sub, sub_len};
            }
            resp.member_count = g->n_members;
            resp.members = ms;
        }
    }
    return weir_encode_join_group_response(w, version, &resp);
}

typedef struct sync_answer {
    int16_t error;
    const uint8_t *assignment;
    int32_t assignment_len;
} sync_answer;

static int sync_encode(weir_wr *w, weir_arena *a, int16_t version, void *arg)
{
    (void)a;
    const sync_answer *sa = arg;
    weir_sync_group_response resp = {0, sa->error, {sa->assignment, sa->assignment_len}};
    if (resp.assignment.p == NULL) {
        resp.assignment = (weir_bytes){(const uint8_t *)"", 0};
    }
    return weir_encode_sync_group_response(w, version, &resp);
}

static void answer_join(weir_broker *b, grp_member *m, int16_t error, bool with_members)
{
    if (m->join_reply == NULL) {
        return;
    }
    bk_reply *r = m->join_reply;
    m->join_reply = NULL;
    m->g->join_waiting--;
    WEIR_ASSERT(m->g->join_waiting >= 0);
    join_answer ja = {error, m->g, m->member_id, with_members};
    bk_reply_send(b, r, join_encode, &ja);
}

static void answer_sync(weir_broker *b, grp_member *m, int16_t error)
{
    if (m->sync_reply == NULL) {
        return;
    }
    bk_reply *r = m->sync_reply;
    m->sync_reply = NULL;
    sync_answer sa = {error, error == WEIR_KERR_NONE ? m->assignment : NULL,
                      error == WEIR_KERR_NONE ? m->assignment_len : 0};
    bk_reply_send(b, r, sync_encode, &sa);
}

/* ---- members ---- */

static void protocols_free(grp_protocol *ps, int n)
{
    for (int i = 0; i < n; i++) {
        free(ps[i].name);
        free(ps[i].metadata);
    }
    free(ps);
}

static void member_free(weir_broker *b, grp_member *m, bool env_alive, int16_t error)
{
    if (m->join_reply != NULL) {
        answer_join(b, m, error, false);
    }
    answer_sync(b, m, error);
    if (m->session_timer != NULL && env_alive) {
        weir_timer_cancel(b->env, m->session_timer);
    }
    protocols_free(m->protocols, m->n_protocols);
    free(m->member_id);
    free(m->group_instance_id);
    free(m->client_id);
    free(m->client_host);
    free(m->assignment);
    free(m);
}

static void session_cb(weir_env *env, void *arg);

/* Makes the session timer fire delay_ns from now, or earlier if it already
 * would (a later deadline is checked when it fires). */
static void session_arm(weir_broker *b, grp_member *m, int64_t delay_ns)
{
    int64_t now = weir_now_ns(b->env);
    int64_t due = now + (delay_ns > 0 ? delay_ns : 0);
    if (m->session_timer != NULL && m->timer_due_ns <= due) {
        return;
    }
    if (m->session_timer != NULL) {
        weir_timer_cancel(b->env, m->session_timer);
    }
    m->timer_due_ns = due;
    m->session_timer = weir_timer_start(b->env, due - now, session_cb, m);
}

void grp_member_touch(weir_broker *b, grp_member *m)
{
    m->deadline_ns = weir_now_ns(b->env) + (int64_t)m->session_timeout_ms * MS;
    session_arm(b, m, (int64_t)m->session_timeout_ms * MS);
}

/* Protocols copied from a JoinGroup. NULL when out of memory. */
static grp_protocol *protocols_copy(const weir_join_group_request *req)
{
    int n = req->protocol_count > 0 ? req->protocol_count : 0;
    grp_protocol *ps = calloc((size_t)(n > 0 ? n : 1), sizeof *ps);
    for (int i = 0; ps != NULL && i < n; i++) {
        const weir_join_group_protocol *jp = &req->protocols[i];
        int32_t len = jp->metadata.len > 0 ? jp->metadata.len : 0;
        ps[i].name = dup_str(jp->name);
        ps[i].metadata = malloc((size_t)(len > 0 ? len : 1));
        ps[i].metadata_len = len;
        if (ps[i].name == NULL || ps[i].metadata == NULL) {
            protocols_free(ps, i + 1);
            return NULL;
        }
        if (len > 0) {
            memcpy(ps[i].metadata, jp->metadata.p, (size_t)len);
        }
    }
    return ps;
}

static bool member_matches(const grp_member *m, const weir_join_group_request *req)
{
    if (m->n_protocols != (req->protocol_count > 0 ? req->protocol_count : 0)) {
        return false;
    }
    for (int i = 0; i < m->n_protocols; i++) {
        const weir_join_group_protocol *jp = &req->protocols[i];
        int32_t len = jp->metadata.len > 0 ? jp->metadata.len : 0;
        if (!str_is(jp->name, m->protocols[i].name) || len != m->protocols[i].metadata_len ||
            (len > 0 && memcmp(jp->metadata.p, m->protocols[i].metadata, (size_t)len) != 0)) {
            return false;
        }
    }
    return true;
}

static bool member_supports(const grp_member *m, const char *name, size_t len)
{
    for (int i = 0; i < m->n_protocols; i++) {
        if (id_cmp(name, len, m->protocols[i].name) == 0) {
            return true;
        }
    }
    return false;
}

/* Kafka's supportsProtocols: an Empty group takes any non-empty type and
 * list; otherwise the type must match and one protocol every member has. */
static bool group_supports(const grp_group *g, const weir_join_group_request *req)
{
    if (req->protocol_type.len <= 0 || req->protocol_count <= 0) {
        return false;
    }
    if (g->state == GRP_EMPTY || g->n_members == 0) {
        return true;
    }
    if (g->protocol_type == NULL || !str_is(req->protocol_type, g->protocol_type)) {
        return false;
    }
    for (int32_t i = 0; i < req->protocol_count; i++) {
        weir_str name = req->protocols[i].name;
        bool all = name.len > 0;
        for (int k = 0; all && k < g->n_members; k++) {
            all = member_supports(g->members[k], name.p, (size_t)name.len);
        }
        if (all) {
            return true;
        }
    }
    return false;
}

/* The protocol every member supports with the most first-choice votes; ties
 * go to the first member's preference. */
static const char *select_protocol(const grp_group *g)
{
    WEIR_ASSERT(g->n_members > 0);
    const grp_member *first = g->members[0];
    const char *best = NULL;
    int best_votes = -1;
    for (int i = 0; i < first->n_protocols; i++) {
        const char *cand = first->protocols[i].name;
        bool all = true;
        for (int k = 1; all && k < g->n_members; k++) {
            all = member_supports(g->members[k], cand, strlen(cand));
        }
        if (!all) {
            continue;
        }
        int votes = 0;
        for (int k = 0; k < g->n_members; k++) {
            const grp_member *m = g->members[k];
            for (int j = 0; j < m->n_protocols; j++) { /* its first candidate */
                bool cand_j = true;
                for (int x = 0; cand_j && x < g->n_members; x++) {
                    cand_j = member_supports(g->members[x], m->protocols[j].name,
                                             strlen(m->protocols[j].name));
                }
                if (cand_j) {
                    votes += strcmp(m->protocols[j].name, cand) == 0;
                    break;
                }
            }
        }
        if (votes > best_votes) {
            best = cand;
            best_votes = votes;
        }
    }
    return best;
}

static int members_reserve(grp_group *g)
{
    if (g->n_members < g->cap_members) {
        return 0;
    }
    int cap = g->cap_members ? g->cap_members * 2 : 4;
    grp_member **grown = realloc(g->members, (size_t)cap * sizeof *grown);
    if (grown == NULL) {
        return WEIR_E_NOMEM;
    }
    g->members = grown;
    g->cap_members = cap;
    return 0;
}

static void pending_remove_at(weir_broker *b, grp_group *g, int i, bool env_alive)
{
    grp_pending_member *pm = g->pending[i];
    if (pm->timer != NULL && env_alive) {
        weir_timer_cancel(b->env, pm->timer);
    }
    free(pm->member_id);
    free(pm);
    memmove(g->pending + i, g->pending + i + 1,
            (size_t)(g->n_pending - i - 1) * sizeof *g->pending);
    g->n_pending--;
}

/* Takes the member out of the group (answering what it has parked with
 * `error`) and frees it; the caller decides about rebalancing. */
static void member_remove(weir_broker *b, grp_group *g, grp_member *m, int16_t error)
{
    int at = -1;
    for (int i = 0; i < g->n_members; i++) {
        if (g->members[i] == m) {
            at = i;
        }
    }
    WEIR_ASSERT(at >= 0);
    memmove(g->members + at, g->members + at + 1,
            (size_t)(g->n_members - at - 1) * sizeof *g->members);
    g->n_members--;
    if (g->leader_id != NULL && strcmp(g->leader_id, m->member_id) == 0) {
        free(g->leader_id);
        g->leader_id = g->n_members > 0
                           ? dup_n(g->members[0]->member_id, strlen(g->members[0]->member_id))
                           : NULL;
    }
    member_free(b, m, true, error);
}

/* ---- the rebalance ---- */

static int32_t group_rebalance_timeout_ms(const grp_group *g)
{
    int32_t t = 0;
    for (int i = 0; i < g->n_members; i++) {
        if (g->members[i]->rebalance_timeout_ms > t) {
            t = g->members[i]->rebalance_timeout_ms;
        }
    }
    return t;
}

static void set_state(weir_broker *b, grp_group *g, grp_state s)
{
    g->state = s;
    g->state_ts_ms = weir_wall_ms(b->env);
}

/* Every awaiting SyncGroup gets `error`; assignments are cleared. */
static void reset_assignments(weir_broker *b, grp_group *g, int16_t error)
{
    for (int i = 0; i < g->n_members; i++) {
        grp_member *m = g->members[i];
        free(m->assignment);
        m->assignment = NULL;
        m->assignment_len = 0;
        answer_sync(b, m, error);
    }
}

static void join_timer_cb(weir_env *env, void *arg);

static void join_timer_start(weir_broker *b, grp_group *g, int64_t delay_ms)
{
    WEIR_ASSERT(g->join_timer == NULL);
    g->join_timer = weir_timer_start(b->env, (delay_ms > 0 ? delay_ms : 0) * MS, join_timer_cb, g);
}

static void prepare_rebalance(weir_broker *b, grp_group *g, const char *why)
{
    if (g->state == GRP_COMPLETING_REBALANCE) {
        reset_assignments(b, g, WEIR_KERR_REBALANCE_IN_PROGRESS);
    }
    if (g->join_timer != NULL) {
        weir_timer_cancel(b->env, g->join_timer);
        g->join_timer = NULL;
    }
    int32_t timeout_ms = group_rebalance_timeout_ms(g);
    if (g->state == GRP_EMPTY) {
        int32_t delay = b->cfg.group_initial_rebalance_delay_ms;
        g->initial_join = true;
        g->initial_remaining_ms = timeout_ms > delay ? timeout_ms - delay : 0;
        g->new_member_added = false;
        join_timer_start(b, g, delay);
    } else {
        g->initial_join = false;
        join_timer_start(b, g, timeout_ms);
    }
    weir_log_info(b->env, "group %s: preparing to rebalance (generation %d, %d member(s)): %s",
                  g->group_id, g->generation, g->n_members, why);
    set_state(b, g, GRP_PREPARING_REBALANCE);
}

void grp_maybe_rebalance(weir_broker *b, grp_group *g, const char *why)
{
    if (g->state == GRP_STABLE || g->state == GRP_COMPLETING_REBALANCE || g->state == GRP_EMPTY) {
        prepare_rebalance(b, g, why);
    }
}

/* Ends PreparingRebalance: drops members that did not rejoin, bumps the
 * generation, picks the protocol and answers every held JoinGroup. */
static void complete_join(weir_broker *b, grp_group *g)
{
    WEIR_ASSERT(g->state == GRP_PREPARING_REBALANCE);
    if (g->join_timer != NULL) {
        weir_timer_cancel(b->env, g->join_timer);
        g->join_timer = NULL;
    }
    for (int i = g->n_members - 1; i >= 0; i--) {
        grp_member *m = g->members[i];
        if (m->join_reply == NULL) {
            weir_log_info(b->env, "group %s: member %s did not rejoin in time; removed",
                          g->group_id, m->member_id);
            member_remove(b, g, m, WEIR_KERR_UNKNOWN_MEMBER_ID);
        }
    }
    g->generation++;
    free(g->protocol_name);
    g->protocol_name = NULL;
    if (g->n_members == 0) {
        set_state(b, g, GRP_EMPTY);
        weir_log_info(b->env, "group %s: generation %d is empty", g->group_id, g->generation);
        int16_t err = grp_store_group(b, g, false, NULL, NULL, NULL, 0);
        if (err != WEIR_KERR_NONE) {
            weir_log_warn(b->env, "group %s: storing the empty group failed: %s", g->group_id,
                          weir_kerr_name(err));
        }
        return;
    }
    const char *proto = select_protocol(g);
    g->protocol_name = proto != NULL ? dup_n(proto, strlen(proto)) : NULL;
    set_state(b, g, GRP_COMPLETING_REBALANCE);
    weir_log_info(b->env, "group %s: generation %d with %d member(s), protocol %s, leader %s",
                  g->group_id, g->generation, g->n_members,
                  g->protocol_name ? g->protocol_name : "-", g->leader_id ? g->leader_id : "-");
    for (int i = 0; i < g->n_members; i++) {
        grp_member *m = g->members[i];
        bool leader = g->leader_id != NULL && strcmp(g->leader_id, m->member_id) == 0;
        answer_join(b, m, WEIR_KERR_NONE, leader);
        m->is_new = false;
        grp_member_touch(b, m);
    }
}

static void try_complete_join(weir_broker *b, grp_group *g)
{
    if (g->state == GRP_PREPARING_REBALANCE && !g->initial_join &&
        g->join_waiting == g->n_members && g->n_pending == 0) {
        complete_join(b, g);
    }
}

static void join_timer_cb(weir_env *env, void *arg)
{
    (void)env;
    grp_group *g = arg;
    weir_broker *b = g->part->b;
    g->join_timer = NULL;
    if (g->initial_join && g->new_member_added && g->initial_remaining_ms > 0) {
        /* members keep arriving at a new group: wait a little longer, within
         * the rebalance timeout (Kafka's InitialDelayedJoin) */
        int32_t delay = b->cfg.group_initial_rebalance_delay_ms;
        if (delay > g->initial_remaining_ms) {
            delay = g->initial_remaining_ms;
        }
        g->initial_remaining_ms =
            g->initial_remaining_ms > delay ? g->initial_remaining_ms - delay : 0;
        g->new_member_added = false;
        join_timer_start(b, g, delay);
        return;
    }
    g->initial_join = false;
    complete_join(b, g);
}

/* Takes a member out and moves the group on (Kafka's removeMemberAndUpdateGroup). */
static void member_leave(weir_broker *b, grp_group *g, grp_member *m, const char *why)
{
    weir_log_info(b->env, "group %s: member %s leaves: %s", g->group_id, m->member_id, why);
    member_remove(b, g, m, WEIR_KERR_UNKNOWN_MEMBER_ID);
    switch (g->state) {
    case GRP_STABLE:
    case GRP_COMPLETING_REBALANCE:
        grp_maybe_rebalance(b, g, why);
        break;
    case GRP_PREPARING_REBALANCE:
        try_complete_join(b, g);
        break;
    case GRP_EMPTY:
    case GRP_DEAD:
        break;
    }
}

static void session_cb(weir_env *env, void *arg)
{
    (void)env;
    grp_member *m = arg;
    grp_group *g = m->g;
    weir_broker *b = g->part->b;
    m->session_timer = NULL;
    int64_t now = weir_now_ns(b->env);
    /* Kept alive while waiting in a JoinGroup (unless new: those have the
     * new-member join timeout) or a SyncGroup, as Kafka does. */
    bool kept = m->sync_reply != NULL || (m->join_reply != NULL && !m->is_new);
    if (kept) {
        session_arm(b, m, (int64_t)m->session_timeout_ms * MS);
        return;
    }
    if (now < m->deadline_ns) {
        session_arm(b, m, m->deadline_ns - now);
        return;
    }
    member_leave(b, g, m, "session timeout");
}

static void pending_cb(weir_env *env, void *arg)
{
    (void)env;
    grp_pending_member *pm = arg;
    grp_group *g = pm->g;
    weir_broker *b = g->part->b;
    pm->timer = NULL;
    int i = pending_find(g, pm->member_id, strlen(pm->member_id));
    WEIR_ASSERT(i >= 0);
    weir_log_info(b->env, "group %s: pending member %s did not rejoin; dropped", g->group_id,
                  pm->member_id);
    pending_remove_at(b, g, i, true);
    try_complete_join(b, g);
}

/* client_id + "-" + a UUID from the node's PRNG (deterministic in the
 * simulator), unique in the group. */
static char *member_id_new(weir_broker *b, const grp_group *g, weir_str client_id)
{
    for (;;) {
        uint64_t hi = weir_random(b->env);
        uint64_t lo = weir_random(b->env);
        hi = (hi & ~0xF000ULL) | 0x4000ULL;       /* version 4 */
        lo = (lo & ~(3ULL << 62)) | (2ULL << 62); /* variant 10 */
        int cl = client_id.len > 0 ? (client_id.len < 200 ? client_id.len : 200) : 0;
        char buf[256];
        snprintf(buf, sizeof buf, "%.*s-%08llx-%04llx-%04llx-%04llx-%012llx", cl,
                 cl > 0 ? client_id.p : "", (unsigned long long)(hi >> 32),
                 (unsigned long long)((hi >> 16) & 0xFFFF), (unsigned long long)(hi & 0xFFFF),
                 (unsigned long long)(lo >> 48), (unsigned long long)(lo & 0xFFFFFFFFFFFFULL));
        if (grp_member_find((grp_group *)g, buf, strlen(buf)) == NULL &&
            pending_find(g, buf, strlen(buf)) < 0) {
            return dup_n(buf, strlen(buf));
        }
    }
}

static char *client_host_of(const bk_conn *c)
{
    char buf[80];
    const char *peer = c->conn != NULL ? c->conn->peer : "";
    size_t n = strlen(peer);
    const char *colon = strrchr(peer, ':');
    if (colon != NULL) {
        n = (size_t)(colon - peer);
    }
    snprintf(buf, sizeof buf, "/%.*s", (int)(n < 70 ? n : 70), peer);
    return dup_n(buf, strlen(buf));
}

/* ---- JoinGroup ---- */

typedef struct join_ctx {
    weir_broker *b;
    bk_conn *c;
    const weir_request *r;
    const weir_join_group_request *req;
    grp_group *g;
    bool *parked;
} join_ctx;

/* Parks the JoinGroup as m's; the rebalance answers it. */
static int join_park(join_ctx *jc, grp_member *m)
{
    if (m->join_reply != NULL) {
        /* a second JoinGroup while one waits (another connection): the old one
         * is told to rejoin */
        answer_join(jc->b, m, WEIR_KERR_REBALANCE_IN_PROGRESS, false);
    }
    m->join_reply = bk_reply_park(jc->c, &jc->r->header);
    if (m->join_reply == NULL) {
        return WEIR_E_NOMEM;
    }
    m->g->join_waiting++;
    *jc->parked = true;
    return 0;
}

static int add_member_and_rebalance(join_ctx *jc, char *member_id)
{
    weir_broker *b = jc->b;
    grp_group *g = jc->g;
    const weir_join_group_request *req = jc->req;
    grp_member *m = calloc(1, sizeof *m);
    if (m == NULL || members_reserve(g) != 0) {
        free(m);
        free(member_id);
        return WEIR_E_NOMEM;
    }
    m->g = g;
    m->member_id = member_id;
    m->group_instance_id = req->group_instance_id.len >= 0 ? dup_str(req->group_instance_id) : NULL;
    m->client_id = dup_str(jc->r->header.client_id);
    m->client_host = client_host_of(jc->c);
    m->session_timeout_ms = req->session_timeout_ms;
    m->rebalance_timeout_ms =
        req->rebalance_timeout_ms >= 0 ? req->rebalance_timeout_ms : req->session_timeout_ms;
    m->protocols = protocols_copy(req);
    m->n_protocols = req->protocol_count > 0 ? req->protocol_count : 0;
    m->is_new = true;
    if (m->member_id == NULL || m->client_id == NULL || m->client_host == NULL ||
        m->protocols == NULL) {
        member_free(b, m, true, WEIR_KERR_UNKNOWN_SERVER_ERROR);
        return WEIR_E_NOMEM;
    }
    if (g->state == GRP_PREPARING_REBALANCE && g->generation == 0) {
        g->new_member_added = true; /* the initial delay may stretch */
    }
    if (g->n_members == 0) {
        free(g->protocol_type);
        g->protocol_type = dup_str(req->protocol_type);
    }
    if (g->leader_id == NULL) {
        g->leader_id = dup_n(m->member_id, strlen(m->member_id));
    }
    g->members[g->n_members++] = m;
    int pi = pending_find(g, m->member_id, strlen(m->member_id));
    if (pi >= 0) {
        pending_remove_at(b, g, pi, true);
    }
    int err = join_park(jc, m);
    if (err != 0) {
        return err;
    }
    /* new members cannot heartbeat yet: they get the new-member join timeout */
    m->deadline_ns = weir_now_ns(b->env) + (int64_t)GRP_NEW_MEMBER_JOIN_TIMEOUT_MS * MS;
    session_arm(b, m, (int64_t)GRP_NEW_MEMBER_JOIN_TIMEOUT_MS * MS);
    grp_maybe_rebalance(b, g, "a new member joined");
    return 0;
}

static int update_member_and_rebalance(join_ctx *jc, grp_member *m, const char *why)
{
    grp_protocol *ps = protocols_copy(jc->req);
    if (ps == NULL) {
        return WEIR_E_NOMEM;
    }
    protocols_free(m->protocols, m->n_protocols);
    m->protocols = ps;
    m->n_protocols = jc->req->protocol_count > 0 ? jc->req->protocol_count : 0;
    int err = join_park(jc, m);
    if (err == 0) {
        grp_maybe_rebalance(jc->b, jc->g, why);
    }
    return err;
}

/* A known member's JoinGroup (doCurrentMemberJoinGroup). Sets *ja for an
 * immediate answer unless it parked. */
static int join_current(join_ctx *jc, grp_member *m, join_answer *ja)
{
    grp_group *g = jc->g;
    bool leader = g->leader_id != NULL && strcmp(g->leader_id, m->member_id) == 0;
    switch (g->state) {
    case GRP_PREPARING_REBALANCE:
        return update_member_and_rebalance(jc, m, "a member rejoined");
    case GRP_COMPLETING_REBALANCE:
        if (member_matches(m, jc->req)) {
            /* it missed the JoinGroup answer: the current generation again */
            *ja = (join_answer){WEIR_KERR_NONE, g, m->member_id, leader};
            return 0;
        }
        return update_member_and_rebalance(jc, m, "a member changed its metadata");
    case GRP_STABLE:
        if (leader || !member_matches(m, jc->req)) {
            return update_member_and_rebalance(
                jc, m, leader ? "the leader rejoined" : "a member changed its metadata");
        }
        *ja = (join_answer){WEIR_KERR_NONE, g, m->member_id, false};
        return 0;
    case GRP_EMPTY:
    case GRP_DEAD:
        break;
    }
    ja->error = WEIR_KERR_UNKNOWN_MEMBER_ID;
    return 0;
}

/* Hands out a member id the client must rejoin with (KIP-394, v4+); it
 * expires after the session timeout. Always takes id. */
static int pending_add(weir_broker *b, grp_group *g, char *id, int32_t session_timeout_ms)
{
    grp_pending_member *pm = calloc(1, sizeof *pm);
    if (pm == NULL) {
        free(id);
        return WEIR_E_NOMEM;
    }
    if (g->n_pending == g->cap_pending) {
        int cap = g->cap_pending ? g->cap_pending * 2 : 4;
        grp_pending_member **grown = realloc(g->pending, (size_t)cap * sizeof *grown);
        if (grown == NULL) {
            free(pm);
            free(id);
            return WEIR_E_NOMEM;
        }
        g->pending = grown;
        g->cap_pending = cap;
    }
    pm->g = g;
    pm->member_id = id;
    pm->timer = weir_timer_start(b->env, (int64_t)session_timeout_ms * MS, pending_cb, pm);
    g->pending[g->n_pending++] = pm;
    return 0;
}

/* The JoinGroup of a valid request to group g (Kafka's doNewMemberJoinGroup
 * and doCurrentMemberJoinGroup): parks it, or sets *ja for an answer now. */
static int join_dispatch(join_ctx *jc, weir_str mid, join_answer *ja)
{
    weir_broker *b = jc->b;
    grp_group *g = jc->g;
    if (g->state == GRP_DEAD) {
        ja->error = WEIR_KERR_COORDINATOR_NOT_AVAILABLE;
        return 0;
    }
    if (!group_supports(g, jc->req)) {
        ja->error = WEIR_KERR_INCONSISTENT_GROUP_PROTOCOL;
        return 0;
    }
    if (mid.len == 0) {
        char *id = member_id_new(b, g, jc->r->header.client_id);
        if (id == NULL) {
            return WEIR_E_NOMEM;
        }
        if (jc->r->header.api_version < 4) {
            return add_member_and_rebalance(jc, id);
        }
        int err = pending_add(b, g, id, jc->req->session_timeout_ms);
        if (err == 0) {
            *ja = (join_answer){WEIR_KERR_MEMBER_ID_REQUIRED, NULL,
                                g->pending[g->n_pending - 1]->member_id, false};
        }
        return err;
    }
    if (pending_find(g, mid.p, (size_t)mid.len) >= 0) {
        return add_member_and_rebalance(jc, dup_str(mid));
    }
    grp_member *m = grp_member_find(g, mid.p, (size_t)mid.len);
    if (m == NULL) {
        ja->error = WEIR_KERR_UNKNOWN_MEMBER_ID;
        return 0;
    }
    return join_current(jc, m, ja);
}

int bk_handle_join_group(bk_conn *c, const weir_request *r, bool *parked)
{
    weir_broker *b = c->b;
    const weir_join_group_request *req = &r->body.join_group;
    weir_str gid = req->group_id;
    weir_str mid = req->member_id.len > 0 ? req->member_id : weir_str_from("");
    char *mid_c = dup_str(mid); /* the answer's member id on errors */
    join_answer ja = {WEIR_KERR_NONE, NULL, mid_c, false};
    int32_t index = -1;
    if (mid_c == NULL) {
        return WEIR_E_NOMEM;
    }
    if (gid.len <= 0) {
        ja.error = WEIR_KERR_INVALID_GROUP_ID;
    } else {
        ja.error = bk_coord_lookup(b, BK_COORD_GROUP, gid.p, (size_t)gid.len, &index);
    }
    if (ja.error == WEIR_KERR_NONE &&
        (req->session_timeout_ms < b->cfg.group_session_timeout_ms_min ||
         req->session_timeout_ms > b->cfg.group_session_timeout_ms_max)) {
        ja.error = WEIR_KERR_INVALID_SESSION_TIMEOUT;
    }
    grp_part *part = ja.error == WEIR_KERR_NONE ? grp_part_get(b, index) : NULL;
    grp_group *g = part != NULL ? grp_find(part, gid.p, (size_t)gid.len) : NULL;
    int err = 0;
    if (ja.error == WEIR_KERR_NONE && WEIR_ALWAYS(part != NULL) && g == NULL) {
        /* only a member without id creates the group */
        if (mid.len > 0) {
            ja.error = WEIR_KERR_UNKNOWN_MEMBER_ID;
        } else if ((g = grp_create(part, gid.p, (size_t)gid.len)) == NULL) {
            err = WEIR_E_NOMEM;
        }
    }
    if (err == 0 && ja.error == WEIR_KERR_NONE && g != NULL) {
        join_ctx jc = {b, c, r, req, g, parked};
        err = join_dispatch(&jc, mid, &ja);
        if (err == 0 && g->state == GRP_PREPARING_REBALANCE) {
            try_complete_join(b, g); /* may answer this very request */
        }
    }
    if (err == 0 && !*parked) {
        err = join_encode(&b->out, &b->arena, r->header.api_version, &ja);
    }
    free(mid_c);
    return err;
}

/* ---- SyncGroup ---- */

/* The leader's SyncGroup: its assignment (members it does not name get an
 * empty one; names that are not members are ignored, as in Kafka) goes to
 * __consumer_offsets, and grp_store_done hands it out once replicated. */
static void sync_leader_store(weir_broker *b, grp_group *g, const weir_sync_group_request *req)
{
    int n = req->assignment_count > 0 ? req->assignment_count : 0;
    char **ids = calloc((size_t)n + 1, sizeof *ids);
    uint8_t **as = calloc((size_t)n + 1, sizeof *as);
    int32_t *lens = calloc((size_t)n + 1, sizeof *lens);
    int16_t err =
        ids != NULL && as != NULL && lens != NULL ? WEIR_KERR_NONE : WEIR_KERR_UNKNOWN_SERVER_ERROR;
    int k = 0;
    for (int i = 0; err == WEIR_KERR_NONE && i < n; i++) {
        const weir_sync_group_assignment *sga = &req->assignments[i];
        size_t len = sga->member_id.len > 0 ? (size_t)sga->member_id.len : 0;
        if (grp_member_find(g, len > 0 ? sga->member_id.p : "", len) == NULL) {
            continue;
        }
        if ((ids[k] = dup_str(sga->member_id)) == NULL) {
            err = WEIR_KERR_UNKNOWN_SERVER_ERROR;
            break;
        }
        as[k] = (uint8_t *)sga->assignment.p; /* grp_store_group copies it */
        lens[k] = sga->assignment.len > 0 ? sga->assignment.len : 0;
        k++;
    }
    if (err == WEIR_KERR_NONE) {
        err = grp_store_group(b, g, true, (const char *const *)ids, as, lens, k);
    }
    for (int i = 0; ids != NULL && i < k; i++) {
        free(ids[i]);
    }
    free(ids);
    free(as);
    free(lens);
    if (err != WEIR_KERR_NONE) {
        grp_store_done(b, g, g->generation, err, NULL, NULL, NULL, 0);
    }
}

int bk_handle_sync_group(bk_conn *c, const weir_request *r, bool *parked)
{
    weir_broker *b = c->b;
    const weir_sync_group_request *req = &r->body.sync_group;
    weir_str gid = req->group_id;
    weir_str mid = req->member_id.len > 0 ? req->member_id : weir_str_from("");
    sync_answer sa = {WEIR_KERR_NONE, NULL, 0};
    int32_t index = -1;
    if (gid.len <= 0) {
        sa.error = WEIR_KERR_INVALID_GROUP_ID;
    } else {
        sa.error = bk_coord_lookup(b, BK_COORD_GROUP, gid.p, (size_t)gid.len, &index);
    }
    grp_group *g = sa.error == WEIR_KERR_NONE
                       ? grp_find(grp_part_get(b, index), gid.p, (size_t)gid.len)
                       : NULL;
    grp_member *m = g != NULL ? grp_member_find(g, mid.p, (size_t)mid.len) : NULL;
    if (sa.error != WEIR_KERR_NONE) {
        /* as found */
    } else if (g == NULL) {
        sa.error = WEIR_KERR_UNKNOWN_MEMBER_ID;
    } else if (g->state == GRP_DEAD) {
        sa.error = WEIR_KERR_COORDINATOR_NOT_AVAILABLE;
    } else if (m == NULL) {
        sa.error = WEIR_KERR_UNKNOWN_MEMBER_ID;
    } else if (req->generation_id != g->generation) {
        sa.error = WEIR_KERR_ILLEGAL_GENERATION;
    } else if (g->state == GRP_EMPTY) {
        sa.error = WEIR_KERR_UNKNOWN_MEMBER_ID;
    } else if (g->state == GRP_PREPARING_REBALANCE) {
        sa.error = WEIR_KERR_REBALANCE_IN_PROGRESS;
    } else if (g->state == GRP_STABLE) {
        grp_member_touch(b, m);
        sa.assignment = m->assignment;
        sa.assignment_len = m->assignment_len;
    } else {
        /* CompletingRebalance: wait for the leader's assignment to be stored */
        grp_member_touch(b, m);
        answer_sync(b, m, WEIR_KERR_REBALANCE_IN_PROGRESS); /* a duplicate: the old one goes */
        m->sync_reply = bk_reply_park(c, &r->header);
        if (m->sync_reply == NULL) {
            return WEIR_E_NOMEM;
        }
        *parked = true;
        if (g->leader_id != NULL && strcmp(g->leader_id, m->member_id) == 0) {
            sync_leader_store(b, g, req);
        }
        return 0;
    }
    return sync_encode(&b->out, &b->arena, r->header.api_version, &sa);
}

/* Kafka's storeGroup callback error mapping. */
static int16_t store_error(int16_t e)
{
    switch (e) {
    case WEIR_KERR_UNKNOWN_TOPIC_OR_PARTITION:
    case WEIR_KERR_NOT_ENOUGH_REPLICAS:
    case WEIR_KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
        return WEIR_KERR_COORDINATOR_NOT_AVAILABLE;
    case WEIR_KERR_NOT_LEADER_OR_FOLLOWER:
    case WEIR_KERR_KAFKA_STORAGE_ERROR:
        return WEIR_KERR_NOT_COORDINATOR;
    case WEIR_KERR_REQUEST_TIMED_OUT:
        return WEIR_KERR_REBALANCE_IN_PROGRESS;
    case WEIR_KERR_MESSAGE_TOO_LARGE:
    case WEIR_KERR_RECORD_LIST_TOO_LARGE:
    case WEIR_KERR_INVALID_FETCH_SIZE:
        return WEIR_KERR_UNKNOWN_SERVER_ERROR;
    default:
        return e;
    }
}

void grp_store_done(weir_broker *b, grp_group *g, int32_t generation, int16_t error,
                    const char *const *member_ids, uint8_t *const *assignments,
                    const int32_t *assignment_lens, int n)
{
    if (g->state != GRP_COMPLETING_REBALANCE || g->generation != generation) {
        return; /* the group moved on meanwhile */
    }
    if (error != WEIR_KERR_NONE) {
        weir_log_warn(b->env, "group %s: storing generation %d failed: %s", g->group_id, generation,
                      weir_kerr_name(error));
        reset_assignments(b, g, store_error(error));
        grp_maybe_rebalance(b, g, "storing the assignment failed");
        return;
    }
    for (int i = 0; i < g->n_members; i++) {
        grp_member *m = g->members[i];
        free(m->assignment);
        m->assignment = NULL;
        m->assignment_len = 0;
        for (int k = 0; k < n; k++) {
            if (strcmp(member_ids[k], m->member_id) == 0 && assignment_lens[k] > 0) {
                m->assignment = malloc((size_t)assignment_lens[k]);
                if (m->assignment != NULL) {
                    memcpy(m->assignment, assignments[k], (size_t)assignment_lens[k]);
                    m->assignment_len = assignment_lens[k];
                }
            }
        }
    }
    set_state(b, g, GRP_STABLE);
    weir_log_info(b->env, "group %s: generation %d is stable", g->group_id, g->generation);
    for (int i = 0; i < g->n_members; i++) {
        answer_sync(b, g->members[i], WEIR_KERR_NONE);
    }
}

/* ---- Heartbeat, LeaveGroup ---- */

int bk_handle_heartbeat(bk_conn *c, const weir_request *r)
{
    weir_broker *b = c->b;
    const weir_heartbeat_request *req = &r->body.heartbeat;
    weir_str gid = req->group_id;
    weir_str mid = req->member_id.len > 0 ? req->member_id : weir_str_from("");
    int32_t index = -1;
    int16_t error = gid.len <= 0
                        ? WEIR_KERR_INVALID_GROUP_ID
                        : bk_coord_lookup(b, BK_COORD_GROUP, gid.p, (size_t)gid.len, &index);
    grp_group *g =
        error == WEIR_KERR_NONE ? grp_find(grp_part_get(b, index), gid.p, (size_t)gid.len) : NULL;
    grp_member *m = g != NULL ? grp_member_find(g, mid.p, (size_t)mid.len) : NULL;
    if (error != WEIR_KERR_NONE) {
        /* as found */
    } else if (g == NULL) {
        error = WEIR_KERR_UNKNOWN_MEMBER_ID;
    } else if (g->state == GRP_DEAD) {
        error = WEIR_KERR_COORDINATOR_NOT_AVAILABLE;
    } else if (m == NULL) {
        error = WEIR_KERR_UNKNOWN_MEMBER_ID;
    } else if (req->generation_id != g->generation) {
        error = WEIR_KERR_ILLEGAL_GENERATION;
    } else if (g->state == GRP_EMPTY) {
        error = WEIR_KERR_UNKNOWN_MEMBER_ID;
    } else {
        grp_member_touch(b, m);
        if (g->state == GRP_PREPARING_REBALANCE) {
            error = WEIR_KERR_REBALANCE_IN_PROGRESS;
        }
    }
    weir_heartbeat_response resp = {0, error};
    return weir_encode_heartbeat_response(&b->out, r->header.api_version, &resp);
}

int bk_handle_leave_group(bk_conn *c, const weir_request *r)
{
    weir_broker *b = c->b;
    const weir_leave_group_request *req = &r->body.leave_group;
    weir_str gid = req->group_id;
    weir_str mid = req->member_id.len > 0 ? req->member_id : weir_str_from("");
    int32_t index = -1;
    int16_t error = gid.len <= 0
                        ? WEIR_KERR_INVALID_GROUP_ID
                        : bk_coord_lookup(b, BK_COORD_GROUP, gid.p, (size_t)gid.len, &index);
    grp_group *g =
        error == WEIR_KERR_NONE ? grp_find(grp_part_get(b, index), gid.p, (size_t)gid.len) : NULL;
    if (error != WEIR_KERR_NONE) {
        /* as found */
    } else if (g == NULL) {
        error = WEIR_KERR_UNKNOWN_MEMBER_ID;
    } else if (g->state == GRP_DEAD) {
        error = WEIR_KERR_COORDINATOR_NOT_AVAILABLE;
    } else {
        int pi = pending_find(g, mid.p, (size_t)mid.len);
        grp_member *m = grp_member_find(g, mid.p, (size_t)mid.len);
        if (pi >= 0) {
            pending_remove_at(b, g, pi, true);
            try_complete_join(b, g);
        } else if (m == NULL) {
            error = WEIR_KERR_UNKNOWN_MEMBER_ID;
        } else {
            member_leave(b, g, m, "LeaveGroup");
        }
    }
    weir_leave_group_response resp = {0, error};
    return weir_encode_leave_group_response(&b->out, r->header.api_version, &resp);
}

/* ---- loading and freeing ---- */

grp_member *grp_member_add_loaded(weir_broker *b, grp_group *g, const char *member_id,
                                  const char *instance_id, const char *client_id,
                                  const char *client_host, int32_t rebalance_timeout_ms,
                                  int32_t session_timeout_ms, const uint8_t *subscription,
                                  int32_t subscription_len, const uint8_t *assignment,
                                  int32_t assignment_len)
{
    (void)b;
    grp_member *m = calloc(1, sizeof *m);
    if (m == NULL || members_reserve(g) != 0) {
        free(m);
        return NULL;
    }
    m->g = g;
    m->member_id = dup_n(member_id, strlen(member_id));
    m->group_instance_id = instance_id != NULL ? dup_n(instance_id, strlen(instance_id)) : NULL;
    m->client_id = dup_n(client_id, strlen(client_id));
    m->client_host = dup_n(client_host, strlen(client_host));
    m->rebalance_timeout_ms = rebalance_timeout_ms;
    m->session_timeout_ms = session_timeout_ms;
    m->protocols = calloc(1, sizeof *m->protocols);
    if (m->protocols != NULL) {
        m->n_protocols = 1;
        const char *pn = g->protocol_name != NULL ? g->protocol_name : "";
        m->protocols[0].name = dup_n(pn, strlen(pn));
        m->protocols[0].metadata = malloc((size_t)(subscription_len > 0 ? subscription_len : 1));
        m->protocols[0].metadata_len = subscription_len > 0 ? subscription_len : 0;
        if (m->protocols[0].metadata != NULL && subscription_len > 0) {
            memcpy(m->protocols[0].metadata, subscription, (size_t)subscription_len);
        }
    }
    if (assignment_len > 0) {
        m->assignment = malloc((size_t)assignment_len);
        if (m->assignment != NULL) {
            memcpy(m->assignment, assignment, (size_t)assignment_len);
            m->assignment_len = assignment_len;
        }
    }
    if (m->member_id == NULL || m->client_id == NULL || m->client_host == NULL ||
        m->protocols == NULL || m->protocols[0].name == NULL || m->protocols[0].metadata == NULL ||
        (assignment_len > 0 && m->assignment == NULL) ||
        (instance_id != NULL && m->group_instance_id == NULL)) {
        member_free(b, m, false, WEIR_KERR_NONE);
        return NULL;
    }
    g->members[g->n_members++] = m;
    return m;
}

/* Drops members, pending ids, the protocol and the rebalance (a group
 * tombstone, or a newer GroupMetadata record replacing this one). */
void grp_reset_membership(weir_broker *b, grp_group *g, bool env_alive, int16_t error)
{
    while (g->n_members > 0) {
        grp_member *m = g->members[--g->n_members];
        member_free(b, m, env_alive, error);
    }
    while (g->n_pending > 0) {
        pending_remove_at(b, g, g->n_pending - 1, env_alive);
    }
    if (g->join_timer != NULL && env_alive) {
        weir_timer_cancel(b->env, g->join_timer);
    }
    g->join_timer = NULL;
    g->join_waiting = 0;
    free(g->protocol_type);
    free(g->protocol_name);
    free(g->leader_id);
    g->protocol_type = g->protocol_name = g->leader_id = NULL;
    g->state = GRP_EMPTY;
    g->generation = 0;
}

void grp_free(weir_broker *b, grp_group *g, bool env_alive, int16_t error)
{
    grp_reset_membership(b, g, env_alive, error);
    free(g->members);
    free(g->pending);
    grp_offsets_free(&g->offsets);
    for (int i = 0; i < g->n_txn; i++) {
        grp_offsets_free(&g->txn[i].offsets);
    }
    free(g->txn);
    free(g->group_id);
    free(g);
}
