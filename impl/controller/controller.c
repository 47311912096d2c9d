#include "controller/controller.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "core/units.h"
#include "env/env.h"
#include "proto/messages.h"
#include "replication/replica.h"
#include "rpc/peer.h"

#define MS 1000000LL
#define CTL_BROKERS_MAX 64
#define CTL_PUSH_TIMEOUT_MS 5000
#define CTL_SESSION_TICK_MS 100

/* Kafka error codes the controller answers with. */
enum {
    KERR_STALE_CONTROLLER_EPOCH = 11,
    KERR_FENCED_LEADER_EPOCH = 74,
    KERR_STALE_BROKER_EPOCH = 77,
    KERR_INVALID_UPDATE_VERSION = 96,
    KERR_BROKER_ID_NOT_REGISTERED = 102,
    KERR_INELIGIBLE_REPLICA = 107,
};

typedef struct ctl_broker {
    int32_t id;
    char host[128];
    int port;
    int64_t epoch;        /* from registration; 0: never registered */
    int64_t last_heartbeat_ns;
    bool alive;           /* registered and not fenced */
    weir_peer *peer;      /* the controller's connection to its listener */
} ctl_broker;

typedef struct ctl_partition {
    int32_t replicas[WEIR_REPLICAS_MAX];
    int n_replicas;
    int32_t leader; /* -1: offline */
    int32_t leader_epoch;
    int32_t isr[WEIR_REPLICAS_MAX];
    int n_isr;
    int32_t partition_epoch;
} ctl_partition;

typedef struct ctl_topic {
    char name[250];
    int32_t n;
    ctl_partition *parts;
} ctl_topic;

struct weir_controller {
    weir_env *env;
    weir_controller_config cfg;
    weir_listener *listener;
    ctl_broker brokers[CTL_BROKERS_MAX];
    int n_brokers;
    ctl_topic *topics[WEIR_CONTROLLER_TOPICS_MAX * 4];
    int n_topics;
    int32_t controller_epoch;
    int64_t next_broker_epoch;
    weir_timer *session_timer;
    int64_t session_tick_due_ns; /* when session_timer should fire */
    weir_timer *push_timer;
    bool push_now; /* push_timer is an immediate push, not a retry */
    weir_arena arena;
    weir_wr out;
};

void weir_controller_config_default(weir_controller_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->node_id = 1000;
    snprintf(cfg->listen_host, sizeof cfg->listen_host, "controller");
    cfg->listen_port = 9093;
    cfg->session_timeout_ms = 9000;
    cfg->default_partitions = 1;
    cfg->default_replication_factor = 1;
    cfg->log_level = -1;
}

static int bad(char *why, size_t size, const char *key, const char *what)
{
    snprintf(why, size, "%s: %s", key, what);
    return WEIR_E_INVAL;
}

static bool parse_num(const char *value, int64_t min, int64_t max, int64_t *out)
{
    uint64_t v;
    if (weir_parse_u64(value, &v) != 0 || v > (uint64_t)max || (int64_t)v < min) {
        return false;
    }
    *out = (int64_t)v;
    return true;
}

int weir_controller_config_set(weir_controller_config *cfg, const char *key, const char *value,
                               char *why, size_t why_size)
{
    int64_t v;
    if (strcmp(key, "node.id") == 0) {
        if (!parse_num(value, 0, INT32_MAX, &v)) {
            return bad(why, why_size, key, "must be an integer in [0, 2147483647]");
        }
        cfg->node_id = (int32_t)v;
    } else if (strcmp(key, "listeners") == 0) {
        const char *p = strstr(value, "://");
        p = p ? p + 3 : value;
        char one[160];
        size_t n = strcspn(p, ",");
        if (n == 0 || n >= sizeof one) {
            return bad(why, why_size, key, "expected CONTROLLER://host:port");
        }
        memcpy(one, p, n);
        one[n] = '\0';
        if (weir_addr_split(one, cfg->listen_host, sizeof cfg->listen_host, &cfg->listen_port) != 0) {
            return bad(why, why_size, key, "expected CONTROLLER://host:port");
        }
    } else if (strcmp(key, "broker.session.timeout.ms") == 0) {
        if (!parse_num(value, 1, INT32_MAX, &v)) {
            return bad(why, why_size, key, "must be a positive integer");
        }
        cfg->session_timeout_ms = v;
    } else if (strcmp(key, "unclean.leader.election.enable") == 0) {
        if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0) {
            return bad(why, why_size, key, "must be true or false");
        }
        cfg->unclean_election = strcmp(value, "true") == 0;
    } else if (strcmp(key, "num.partitions") == 0) {
        if (!parse_num(value, 1, 10000, &v)) {
            return bad(why, why_size, key, "must be an integer in [1, 10000]");
        }
        cfg->default_partitions = (int32_t)v;
    } else if (strcmp(key, "default.replication.factor") == 0) {
        if (!parse_num(value, 1, WEIR_REPLICAS_MAX, &v)) {
            return bad(why, why_size, key, "must be an integer in [1, 16]");
        }
        cfg->default_replication_factor = (int16_t)v;
    } else {
        return WEIR_E_NOENT;
    }
    return 0;
}

/* ---- lookups ---- */

static ctl_broker *broker_by_id(weir_controller *c, int32_t id)
{
    for (int i = 0; i < c->n_brokers; i++) {
        if (c->brokers[i].id == id) {
            return &c->brokers[i];
        }
    }
    return NULL;
}

static bool broker_alive(int32_t id, void *arg)
{
    ctl_broker *b = broker_by_id(arg, id);
    return b != NULL && b->alive;
}

static ctl_topic *topic_by_name(weir_controller *c, const char *name, size_t len)
{
    for (int i = 0; i < c->n_topics; i++) {
        if (strlen(c->topics[i]->name) == len && memcmp(c->topics[i]->name, name, len) == 0) {
            return c->topics[i];
        }
    }
    return NULL;
}

bool weir_controller_partition(const weir_controller *c, const char *topic, int32_t partition,
                               int32_t *leader, int32_t *leader_epoch, int32_t *isr, int *n_isr)
{
    ctl_topic *t = topic_by_name((weir_controller *)c, topic, strlen(topic));
    if (t == NULL || partition < 0 || partition >= t->n) {
        return false;
    }
    const ctl_partition *p = &t->parts[partition];
    *leader = p->leader;
    *leader_epoch = p->leader_epoch;
    memcpy(isr, p->isr, (size_t)p->n_isr * sizeof *isr);
    *n_isr = p->n_isr;
    return true;
}

/* ---- pushing state to brokers ---- */

/* A broker that missed a push gets the next one: each carries the full state. */
static void push_all(weir_env *env, void *arg);

#define CTL_PUSH_RETRY_MS 500

/* A push that did not arrive (the broker restarted while it was on its way,
 * a connect timed out) is sent again, or a broker could wait forever for
 * the state it missed. Pushes carry the whole state, so sending it again
 * to everyone is harmless. */
static void push_done(void *arg, int err, weir_rd *rd, weir_arena *a)
{
    weir_controller *c = arg;
    (void)rd;
    (void)a;
    if (err != 0 && c->push_timer == NULL) {
        c->push_timer = weir_timer_start(c->env, CTL_PUSH_RETRY_MS * MS, push_all, c);
        c->push_now = false;
    }
}

/* Sends every partition's state to every live broker. */
static void push_all(weir_env *env, void *arg)
{
    (void)env;
    weir_controller *c = arg;
    c->push_timer = NULL;
    weir_arena_reset(&c->arena);
    weir_leader_and_isr_topic_state *ts =
        weir_arena_alloc_array(&c->arena, (size_t)c->n_topics, sizeof *ts);
    weir_leader_and_isr_live_leader *live =
        weir_arena_alloc_array(&c->arena, (size_t)c->n_brokers, sizeof *live);
    if (ts == NULL || live == NULL) {
        weir_log_error(c->env, "controller: out of memory building a push");
        return;
    }
    for (int i = 0; i < c->n_topics; i++) {
        ctl_topic *t = c->topics[i];
        weir_leader_and_isr_partition_state *ps =
            weir_arena_alloc_array(&c->arena, (size_t)t->n, sizeof *ps);
        if (ps == NULL) {
            return;
        }
        for (int32_t p = 0; p < t->n; p++) {
            ctl_partition *cp = &t->parts[p];
            ps[p] = (weir_leader_and_isr_partition_state){
                .partition_index = p,
                .controller_epoch = c->controller_epoch,
                .leader = cp->leader,
                .leader_epoch = cp->leader_epoch,
                .isr_count = cp->n_isr,
                .isr = cp->isr,
                .zk_version = cp->partition_epoch,
                .replica_count = cp->n_replicas,
                .replicas = cp->replicas,
            };
        }
        ts[i] = (weir_leader_and_isr_topic_state){{t->name, (int32_t)strlen(t->name)}, t->n, ps};
    }
    int n_live = 0;
    for (int i = 0; i < c->n_brokers; i++) {
        ctl_broker *b = &c->brokers[i];
        if (b->alive) {
            live[n_live++] = (weir_leader_and_isr_live_leader){
                b->id, {b->host, (int32_t)strlen(b->host)}, b->port};
        }
    }
    for (int i = 0; i < c->n_brokers; i++) {
        ctl_broker *b = &c->brokers[i];
        if (!b->alive || b->peer == NULL) {
            continue;
        }
        weir_request r;
        memset(&r, 0, sizeof r);
        r.header.api_key = WEIR_API_LEADER_AND_ISR;
        r.header.api_version = 3;
        r.body.leader_and_isr = (weir_leader_and_isr_request){
            c->cfg.node_id, c->controller_epoch, b->epoch, c->n_topics, ts, n_live, live};
        int err = weir_peer_send(b->peer, &r, CTL_PUSH_TIMEOUT_MS, push_done, c);
        if (err != 0) {
            weir_log_warn(c->env, "controller: push to broker %d failed: %s", b->id,
                          weir_err_str(err));
        }
    }
}

static void schedule_push(weir_controller *c)
{
    if (c->push_timer != NULL && !c->push_now) {
        weir_timer_cancel(c->env, c->push_timer); /* a retry can wait no longer: push now */
        c->push_timer = NULL;
    }
    if (c->push_timer == NULL) {
        c->push_timer = weir_timer_start(c->env, 0, push_all, c);
        c->push_now = true;
    }
}

/* ---- leadership ---- */

static void set_leader(weir_controller *c, ctl_topic *t, int32_t p, int32_t leader, bool unclean)
{
    ctl_partition *cp = &t->parts[p];
    int32_t old = cp->leader;
    cp->leader = leader;
    cp->leader_epoch++;
    cp->partition_epoch++;
    weir_log_info(c->env, "controller: %s-%d leader %d -> %d (epoch %d)%s", t->name, p, old, leader,
                  cp->leader_epoch, unclean ? ", UNCLEAN" : "");
    if (c->cfg.observer.leader_changed != NULL) {
        c->cfg.observer.leader_changed(c->cfg.observer.arg, t->name, p, old, leader,
                                       cp->leader_epoch, unclean);
    }
}

static void set_isr(weir_controller *c, ctl_topic *t, int32_t p, const int32_t *isr, int n)
{
    ctl_partition *cp = &t->parts[p];
    memcpy(cp->isr, isr, (size_t)n * sizeof *isr);
    cp->n_isr = n;
    cp->partition_epoch++;
    if (c->cfg.observer.isr_changed != NULL) {
        c->cfg.observer.isr_changed(c->cfg.observer.arg, t->name, p, isr, n);
    }
}

/* A leader or ISR member went away, or one came back: re-decide every
 * partition it touches. */
static void reconsider(weir_controller *c, int32_t broker_id, bool up)
{
    bool changed = false;
    for (int i = 0; i < c->n_topics; i++) {
        ctl_topic *t = c->topics[i];
        for (int32_t p = 0; p < t->n; p++) {
            ctl_partition *cp = &t->parts[p];
            bool member = false;
            for (int k = 0; k < cp->n_replicas; k++) {
                member = member || cp->replicas[k] == broker_id;
            }
            if (!member) {
                continue;
            }
            if (!up) {
                /* Out of the ISR (unless it is the last one: it stays the one
                 * that may come back with everything). */
                int32_t isr[WEIR_REPLICAS_MAX];
                int n = 0;
                for (int k = 0; k < cp->n_isr; k++) {
                    if (cp->isr[k] != broker_id) {
                        isr[n++] = cp->isr[k];
                    }
                }
                if (n > 0 && n != cp->n_isr) {
                    set_isr(c, t, p, isr, n);
                    changed = true;
                }
                if (cp->leader == broker_id) {
                    bool unclean = false;
                    int32_t leader = weir_elect_leader(cp->replicas, cp->n_replicas, cp->isr,
                                                       cp->n_isr, broker_alive, c,
                                                       c->cfg.unclean_election, &unclean);
                    set_leader(c, t, p, leader, unclean);
                    if (unclean) {
                        set_isr(c, t, p, &leader, 1);
                    }
                    changed = true;
                }
            } else if (cp->leader < 0) {
                /* Offline: elect now that someone is back. */
                bool unclean = false;
                int32_t leader = weir_elect_leader(cp->replicas, cp->n_replicas, cp->isr, cp->n_isr,
                                                   broker_alive, c, c->cfg.unclean_election,
                                                   &unclean);
                if (leader >= 0) {
                    set_leader(c, t, p, leader, unclean);
                    if (unclean) {
                        set_isr(c, t, p, &leader, 1);
                    }
                    changed = true;
                }
            }
        }
    }
    if (changed || up) {
        schedule_push(c);
    }
}

/* ---- topics ---- */

static int alive_count(weir_controller *c)
{
    int n = 0;
    for (int i = 0; i < c->n_brokers; i++) {
        n += c->brokers[i].alive;
    }
    return n;
}

/* Round-robin assignment over the live brokers, sorted by id. */
static int create_topic(weir_controller *c, const char *name, size_t len, int32_t partitions,
                        int16_t rf, const int32_t *assignment)
{
    if (topic_by_name(c, name, len) != NULL) {
        return WEIR_KERR_TOPIC_ALREADY_EXISTS;
    }
    if (partitions < 1 || partitions > 10000) {
        return WEIR_KERR_INVALID_PARTITIONS;
    }
    int32_t ids[CTL_BROKERS_MAX];
    int n = 0;
    for (int i = 0; i < c->n_brokers; i++) {
        if (c->brokers[i].alive) {
            ids[n++] = c->brokers[i].id;
        }
    }
    for (int i = 1; i < n; i++) { /* insertion sort: few brokers */
        for (int j = i; j > 0 && ids[j - 1] > ids[j]; j--) {
            int32_t tmp = ids[j];
            ids[j] = ids[j - 1];
            ids[j - 1] = tmp;
        }
    }
    if (rf < 1 || (assignment == NULL && rf > n) || rf > WEIR_REPLICAS_MAX) {
        return WEIR_KERR_INVALID_REPLICATION_FACTOR;
    }
    if (c->n_topics == (int)(sizeof c->topics / sizeof c->topics[0]) || len >= sizeof c->topics[0]->name) {
        return WEIR_KERR_INVALID_REQUEST;
    }
    ctl_topic *t = calloc(1, sizeof *t);
    ctl_partition *parts = calloc((size_t)partitions, sizeof *parts);
    if (t == NULL || parts == NULL) {
        free(t);
        free(parts);
        return WEIR_KERR_UNKNOWN_SERVER_ERROR;
    }
    memcpy(t->name, name, len);
    t->n = partitions;
    t->parts = parts;
    for (int32_t p = 0; p < partitions; p++) {
        ctl_partition *cp = &parts[p];
        cp->n_replicas = rf;
        for (int k = 0; k < rf; k++) {
            cp->replicas[k] = assignment != NULL ? assignment[(size_t)p * (size_t)rf + (size_t)k]
                                                 : ids[(p + k) % n];
        }
        memcpy(cp->isr, cp->replicas, (size_t)rf * sizeof cp->isr[0]);
        cp->n_isr = rf;
        cp->leader = cp->replicas[0];
        cp->leader_epoch = 0;
    }
    c->topics[c->n_topics++] = t;
    weir_log_info(c->env, "controller: created topic %s: %d partition(s), replication factor %d",
                  t->name, partitions, rf);
    for (int32_t p = 0; p < partitions && c->cfg.observer.leader_changed != NULL; p++) {
        c->cfg.observer.leader_changed(c->cfg.observer.arg, t->name, p, -1, parts[p].leader, 0, false);
    }
    schedule_push(c);
    return WEIR_KERR_NONE;
}

/* Configured topics wait until enough brokers are up for their RF. */
static void create_configured_topics(weir_controller *c)
{
    for (int i = 0; i < c->cfg.n_topics; i++) {
        weir_controller_topic_spec *s = &c->cfg.topics[i];
        bool ready = alive_count(c) >= s->replication_factor;
        for (int32_t k = 0; s->assignment != NULL && k < s->partitions * s->replication_factor; k++) {
            ready = ready && broker_alive(s->assignment[k], c);
        }
        if (topic_by_name(c, s->name, strlen(s->name)) == NULL && ready) {
            int kerr = create_topic(c, s->name, strlen(s->name), s->partitions, s->replication_factor,
                                    s->assignment);
            if (kerr != WEIR_KERR_NONE) {
                weir_log_error(c->env, "controller: cannot create topic %s: %s", s->name,
                               weir_kerr_name((int16_t)kerr));
            }
        }
    }
}

/* ---- requests ---- */

static int handle_registration(weir_controller *c, const weir_broker_registration_request *req,
                               int16_t version)
{
    weir_broker_registration_response resp = {0, WEIR_KERR_NONE, -1};
    ctl_broker *b = broker_by_id(c, req->broker_id);
    if (b == NULL && c->n_brokers < CTL_BROKERS_MAX) {
        b = &c->brokers[c->n_brokers++];
        memset(b, 0, sizeof *b);
        b->id = req->broker_id;
    }
    if (b == NULL || req->listener_count < 1 || req->listeners[0].host.len <= 0 ||
        (size_t)req->listeners[0].host.len >= sizeof b->host) {
        resp.error_code = WEIR_KERR_INVALID_REQUEST;
    } else {
        memcpy(b->host, req->listeners[0].host.p, (size_t)req->listeners[0].host.len);
        b->host[req->listeners[0].host.len] = '\0';
        b->port = req->listeners[0].port;
        b->epoch = ++c->next_broker_epoch;
        b->last_heartbeat_ns = weir_now_ns(c->env);
        bool was_alive = b->alive;
        if (was_alive) {
            /* A new incarnation of a live broker: it restarted before its
             * session timed out. Its old self is fenced first (out of the
             * ISRs, its leaderships moved), as after a missed session: the
             * new one lost whatever it had not synced. */
            b->alive = false;
            reconsider(c, b->id, false);
        }
        b->alive = true;
        char addr[160];
        snprintf(addr, sizeof addr, "%s:%d", b->host, b->port);
        if (b->peer == NULL) {
            b->peer = weir_peer_new(c->env, addr, "weir-controller");
        } else {
            weir_peer_set_addr(b->peer, addr);
        }
        resp.broker_epoch = b->epoch;
        weir_log_info(c->env, "controller: broker %d registered at %s (epoch %lld)%s", b->id, addr,
                      (long long)b->epoch, was_alive ? ", replacing a live registration" : "");
        if (c->cfg.observer.broker_registered != NULL) {
            c->cfg.observer.broker_registered(c->cfg.observer.arg, b->id, b->epoch);
        }
        create_configured_topics(c);
        reconsider(c, b->id, true);
    }
    return weir_encode_broker_registration_response(&c->out, version, &resp);
}

static int handle_heartbeat(weir_controller *c, const weir_broker_heartbeat_request *req,
                            int16_t version)
{
    weir_broker_heartbeat_response resp = {0};
    ctl_broker *b = broker_by_id(c, req->broker_id);
    if (b == NULL || b->epoch == 0) {
        resp.error_code = KERR_BROKER_ID_NOT_REGISTERED;
        resp.is_fenced = true;
    } else if (req->broker_epoch != b->epoch) {
        resp.error_code = KERR_STALE_BROKER_EPOCH;
        resp.is_fenced = true;
    } else if (!b->alive) {
        resp.is_fenced = true; /* fenced: it must register again */
    } else {
        b->last_heartbeat_ns = weir_now_ns(c->env);
        resp.is_caught_up = true;
    }
    return weir_encode_broker_heartbeat_response(&c->out, version, &resp);
}

static int handle_alter_partition(weir_controller *c, const weir_alter_partition_request *req,
                                  int16_t version)
{
    weir_alter_partition_response resp = {0};
    ctl_broker *b = broker_by_id(c, req->broker_id);
    if (b == NULL || !b->alive || (req->broker_epoch >= 0 && req->broker_epoch != b->epoch)) {
        resp.error_code = KERR_STALE_BROKER_EPOCH;
        return weir_encode_alter_partition_response(&c->out, version, &resp);
    }
    weir_alter_partition_topic_response *tr = weir_arena_alloc_array(
        &c->arena, (size_t)(req->topic_count > 0 ? req->topic_count : 0), sizeof *tr);
    if (tr == NULL) {
        return WEIR_E_NOMEM;
    }
    bool changed = false;
    for (int32_t i = 0; i < req->topic_count; i++) {
        const weir_alter_partition_topic *at = &req->topics[i];
        ctl_topic *t = at->name.len > 0 ? topic_by_name(c, at->name.p, (size_t)at->name.len) : NULL;
        weir_alter_partition_partition_response *pr = weir_arena_alloc_array(
            &c->arena, (size_t)(at->partition_count > 0 ? at->partition_count : 0), sizeof *pr);
        if (pr == NULL) {
            return WEIR_E_NOMEM;
        }
        for (int32_t j = 0; j < at->partition_count; j++) {
            const weir_alter_partition_partition *ap = &at->partitions[j];
            pr[j].partition_index = ap->partition_index;
            if (t == NULL || ap->partition_index < 0 || ap->partition_index >= t->n) {
                pr[j].error_code = WEIR_KERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            ctl_partition *cp = &t->parts[ap->partition_index];
            if (cp->leader != req->broker_id || ap->leader_epoch != cp->leader_epoch) {
                pr[j].error_code = KERR_FENCED_LEADER_EPOCH;
            } else if (ap->partition_epoch != cp->partition_epoch) {
                pr[j].error_code = KERR_INVALID_UPDATE_VERSION;
            } else {
                bool ok = ap->new_isr_count >= 1 && ap->new_isr_count <= cp->n_replicas;
                bool has_leader = false;
                for (int32_t k = 0; ok && k < ap->new_isr_count; k++) {
                    int32_t id = ap->new_isr[k];
                    bool replica = false;
                    for (int m = 0; m < cp->n_replicas; m++) {
                        replica = replica || cp->replicas[m] == id;
                    }
                    ok = replica && broker_alive(id, c);
                    has_leader = has_leader || id == cp->leader;
                }
                if (!ok || !has_leader) {
                    pr[j].error_code = KERR_INELIGIBLE_REPLICA;
                } else {
                    set_isr(c, t, ap->partition_index, ap->new_isr, ap->new_isr_count);
                    weir_log_info(c->env, "controller: %s-%d ISR now has %d member(s)", t->name,
                                  ap->partition_index, cp->n_isr);
                    changed = true;
                }
            }
            pr[j].leader_id = cp->leader;
            pr[j].leader_epoch = cp->leader_epoch;
            pr[j].isr_count = cp->n_isr;
            pr[j].isr = cp->isr;
            pr[j].partition_epoch = cp->partition_epoch;
        }
        tr[i] = (weir_alter_partition_topic_response){at->name, at->partition_count, pr};
    }
    resp.topic_count = req->topic_count;
    resp.topics = tr;
    if (changed) {
        schedule_push(c);
    }
    return weir_encode_alter_partition_response(&c->out, version, &resp);
}

static int handle_create_topics(weir_controller *c, const weir_create_topics_request *req,
                                int16_t version)
{
    weir_create_topics_topic_response *out = weir_arena_alloc_array(
        &c->arena, (size_t)(req->topic_count > 0 ? req->topic_count : 0), sizeof *out);
    if (out == NULL) {
        return WEIR_E_NOMEM;
    }
    for (int32_t i = 0; i < req->topic_count; i++) {
        const weir_create_topics_topic *ct = &req->topics[i];
        int32_t parts = ct->num_partitions < 0 ? c->cfg.default_partitions : ct->num_partitions;
        int16_t rf = ct->replication_factor < 0 ? c->cfg.default_replication_factor
                                                : ct->replication_factor;
        out[i].name = ct->name;
        out[i].error_message = WEIR_STR_NULL;
        out[i].error_code = ct->name.len > 0 && !req->validate_only
                                ? (int16_t)create_topic(c, ct->name.p, (size_t)ct->name.len, parts, rf, NULL)
                                : WEIR_KERR_NONE;
    }
    weir_create_topics_response resp = {0, req->topic_count, out};
    return weir_encode_create_topics_response(&c->out, version, &resp);
}

static void on_frame(weir_conn *conn, const uint8_t *payload, size_t len, void *arg)
{
    weir_controller *c = arg;
    weir_arena_reset(&c->arena);
    weir_wr_reset(&c->out);
    weir_rd rd;
    weir_rd_init(&rd, payload, len);
    weir_request req;
    memset(&req, 0, sizeof req);
    int err = weir_decode_request(&rd, &c->arena, &req);
    const weir_request_header *h = &req.header;
    if (err == WEIR_E_UNSUPPORTED && h->api_key == WEIR_API_API_VERSIONS) {
        if (weir_encode_api_versions_unsupported(&c->out, h->correlation_id) == 0) {
            weir_ignore(weir_conn_send(conn, c->out.buf, c->out.len));
        }
        return;
    }
    if (err != 0) {
        weir_log_warn(c->env, "controller: closing connection from %s: %s", conn->peer,
                      rd.why ? rd.why : weir_err_str(err));
        weir_conn_close(conn);
        return;
    }
    err = weir_encode_response_header(&c->out, h->api_key, h->api_version, h->correlation_id);
    if (err == 0) {
        switch (h->api_key) {
        case WEIR_API_BROKER_REGISTRATION:
            err = handle_registration(c, &req.body.broker_registration, h->api_version);
            break;
        case WEIR_API_BROKER_HEARTBEAT:
            err = handle_heartbeat(c, &req.body.broker_heartbeat, h->api_version);
            break;
        case WEIR_API_ALTER_PARTITION:
            err = handle_alter_partition(c, &req.body.alter_partition, h->api_version);
            break;
        case WEIR_API_CREATE_TOPICS:
            err = handle_create_topics(c, &req.body.create_topics, h->api_version);
            break;
        case WEIR_API_API_VERSIONS: {
            weir_api_versions_response resp;
            weir_api_versions_response_supported(&resp);
            err = weir_encode_api_versions_response(&c->out, h->api_version, &resp);
            break;
        }
        default:
            weir_log_warn(c->env, "controller: closing connection from %s: %s is not served here",
                          conn->peer, weir_api_name(h->api_key));
            weir_conn_close(conn);
            return;
        }
    }
    if (err == 0) {
        err = weir_wr_status(&c->out);
    }
    if (err != 0 || weir_conn_send(conn, c->out.buf, c->out.len) != 0) {
        weir_log_warn(c->env, "controller: cannot answer %s: %s", conn->peer, weir_err_str(err));
        weir_conn_close(conn);
    }
}

static void session_tick(weir_env *env, void *arg);

static void session_tick_schedule(weir_controller *c)
{
    c->session_tick_due_ns = weir_now_ns(c->env) + CTL_SESSION_TICK_MS * MS;
    c->session_timer = weir_timer_start(c->env, CTL_SESSION_TICK_MS * MS, session_tick, c);
}

/* A tick that runs late means the controller itself handled nothing for that
 * long (a stall, a frozen VM, its clock jumping ahead): heartbeats sent
 * meanwhile are still waiting to be read. That time is not the brokers'
 * silence, so every session is moved on by it. Counting it would fence every
 * broker at once on resuming and leave as the last ISR member whichever was
 * fenced last, maybe one that died meanwhile and restarted without what it
 * had not synced: elected again, it would make the others drop their data. */
static void session_credit_stall(weir_controller *c, int64_t now)
{
    int64_t stall_ns = now - c->session_tick_due_ns;
    if (stall_ns <= 0) {
        return;
    }
    for (int i = 0; i < c->n_brokers; i++) {
        ctl_broker *b = &c->brokers[i];
        b->last_heartbeat_ns += stall_ns;
        if (b->last_heartbeat_ns > now) {
            b->last_heartbeat_ns = now;
        }
    }
    if (stall_ns > c->cfg.session_timeout_ms * MS / 4) {
        weir_log_info(c->env, "controller: resumed after %lld ms without running: sessions "
                              "extended by as much", (long long)(stall_ns / MS));
    }
}

/* The live broker silent the longest past its session timeout, or NULL.
 * When several expire in one tick, fencing the stalest first keeps in the
 * ISRs the one heard from last, not the one that comes last in the table. */
static ctl_broker *session_stalest_expired(weir_controller *c, int64_t now)
{
    ctl_broker *stalest = NULL;
    for (int i = 0; i < c->n_brokers; i++) {
        ctl_broker *b = &c->brokers[i];
        if (b->alive && now - b->last_heartbeat_ns > c->cfg.session_timeout_ms * MS &&
            (stalest == NULL || b->last_heartbeat_ns < stalest->last_heartbeat_ns)) {
            stalest = b;
        }
    }
    return stalest;
}

static void session_tick(weir_env *env, void *arg)
{
    weir_controller *c = arg;
    c->session_timer = NULL;
    int64_t now = weir_now_ns(env);
    session_credit_stall(c, now);
    for (ctl_broker *b; (b = session_stalest_expired(c, now)) != NULL;) {
        b->alive = false;
        weir_log_info(env, "controller: broker %d missed its session timeout: fenced", b->id);
        if (c->cfg.observer.broker_fenced != NULL) {
            c->cfg.observer.broker_fenced(c->cfg.observer.arg, b->id);
        }
        reconsider(c, b->id, false);
    }
    session_tick_schedule(c);
}

static void *controller_start(weir_env *env, void *arg)
{
    weir_controller *c = calloc(1, sizeof *c);
    WEIR_ASSERT(c != NULL);
    c->env = env;
    c->cfg = *(const weir_controller_config *)arg;
    c->controller_epoch = 1;
    if (c->cfg.log_level >= 0) {
        env->log_level = (weir_log_level)c->cfg.log_level;
    }
    weir_arena_init(&c->arena, WEIR_ARENA_BYTES_MAX_DEFAULT);
    weir_wr_init(&c->out);
    char addr[160];
    snprintf(addr, sizeof addr, "%s:%d", c->cfg.listen_host, c->cfg.listen_port);
    weir_conn_handlers h = {NULL, on_frame, NULL, c};
    int err = weir_listen(env, addr, &h, &c->listener);
    if (err != 0) {
        weir_log_error(env, "controller: cannot listen on %s: %s", addr, weir_err_str(err));
        return c;
    }
    session_tick_schedule(c);
    weir_log_info(env, "controller %d serving on %s", c->cfg.node_id, addr);
    return c;
}

static void controller_destroy(void *state)
{
    weir_controller *c = state;
    for (int i = 0; i < c->n_brokers; i++) {
        weir_peer_free(c->brokers[i].peer);
    }
    for (int i = 0; i < c->n_topics; i++) {
        free(c->topics[i]->parts);
        free(c->topics[i]);
    }
    weir_arena_free(&c->arena);
    weir_wr_free(&c->out);
    free(c);
}

const weir_node_type weir_controller_node = {"controller", controller_start, controller_destroy};
