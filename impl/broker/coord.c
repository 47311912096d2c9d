/* Coordinator plumbing (see coord.h): the internal topics, FindCoordinator,
 * loading and unloading coordinator partitions as leadership comes and goes,
 * and internal appends that wait for the high watermark.
 *
 * One 0-delay "check" timer does the deferred work: it settles waiting
 * appends (HW passed, or leadership/epoch changed) and then reconciles which
 * partitions are loaded with which this broker leads (unload first, then
 * load). Hooks from replica_mgr.c and the append path only schedule it, so
 * no callback ever runs inside a caller that is halfway through a request. */
#include "broker/coord.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/group.h"
#include "broker/txn.h"
#include "core/assert.h"
#include "log/log.h"

#define MS 1000000LL
#define COORD_LOAD_RETRY_MS 1000
#define COORD_CREATE_RETRY_MS 1000
#define COORD_SCAN_BYTES_MAX (1u << 20)

/* The coordinators, one per internal topic. The transaction coordinator
 * fills its callbacks in here. */
static const bk_coord_type coord_types[BK_COORD_KINDS] = {
    [BK_COORD_GROUP] = {BK_OFFSETS_TOPIC, bk_group_load, bk_group_unload},
    [BK_COORD_TXN] = {BK_TXN_STATE_TOPIC, bk_txn_load, bk_txn_unload},
};

typedef struct coord_part {
    bool loaded;
    int32_t epoch; /* the leader epoch the state was loaded for */
} coord_part;

typedef struct coord_wait {
    struct coord_wait *next;
    weir_broker *b;
    bk_coord_kind kind;
    int32_t index;
    int32_t epoch;
    int64_t base_offset;
    int64_t required_hw;
    weir_timer *timer;
    bk_coord_append_cb cb;
    void *arg;
} coord_wait;

typedef struct bk_coord_state bk_coord_state;
struct bk_coord_state {
    coord_part *parts[BK_COORD_KINDS];
    int32_t n_parts[BK_COORD_KINDS];
    int64_t create_asked_ns[BK_COORD_KINDS];
    coord_wait *waits; /* oldest first */
    weir_timer *check_timer;
    weir_timer *retry_timer;
    bool stopping;
};

/* ---- keys and topics ---- */

bool bk_coord_topic_is_internal(const char *name, size_t len)
{
    for (int k = 0; k < BK_COORD_KINDS; k++) {
        if (strlen(coord_types[k].topic) == len && memcmp(coord_types[k].topic, name, len) == 0) {
            return true;
        }
    }
    return false;
}

/* One code point from UTF-8; malformed input gives U+FFFD for one byte. */
static size_t utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t v;
    uint32_t min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xE0) == 0xC0) {
        n = 2, v = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3, v = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4, v = c & 0x07, min = 0x10000;
    } else {
        *cp = 0xFFFD;
        return 1;
    }
    if (n > len) {
        *cp = 0xFFFD;
        return 1;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = 0xFFFD;
            return 1;
        }
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
        *cp = 0xFFFD;
        return 1;
    }
    *cp = v;
    return n;
}

int32_t bk_coord_java_hash(const char *key, size_t len)
{
    uint32_t h = 0;
    const unsigned char *s = (const unsigned char *)key;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        i += utf8_next(s + i, len - i, &cp);
        if (cp >= 0x10000) { /* a surrogate pair: two UTF-16 code units */
            cp -= 0x10000;
            h = h * 31u + (0xD800u + (cp >> 10));
            h = h * 31u + (0xDC00u + (cp & 0x3FFu));
        } else {
            h = h * 31u + cp;
        }
    }
    return (int32_t)h;
}

int32_t bk_coord_partition_for(const char *key, size_t len, int32_t partitions)
{
    WEIR_ASSERT(partitions >= 1);
    int32_t h = bk_coord_java_hash(key, len);
    int32_t abs_h = h == INT32_MIN ? 0 : (h < 0 ? -h : h); /* Kafka's Utils.abs */
    return abs_h % partitions;
}

static void coord_schedule(weir_broker *b);

static int32_t kind_partitions(const weir_broker *b, bk_coord_kind kind)
{
    return kind == BK_COORD_GROUP ? b->cfg.offsets_topic_partitions : b->cfg.txn_topic_partitions;
}

static int16_t kind_replication(const weir_broker *b, bk_coord_kind kind)
{
    return kind == BK_COORD_GROUP ? b->cfg.offsets_topic_replication : b->cfg.txn_topic_replication;
}

weir_topic *bk_coord_topic(weir_broker *b, bk_coord_kind kind, bool create)
{
    const char *name = coord_types[kind].topic;
    weir_topic *t = weir_topics_find(&b->topics, name, strlen(name));
    if (t != NULL || !create || b->coord == NULL || b->coord->stopping) {
        return t;
    }
    if (!b->cl.enabled) {
        int err = weir_topics_create(&b->topics, name, strlen(name), kind_partitions(b, kind), &t);
        if (err != 0) {
            weir_log_error(b->env, "cannot create the internal topic %s: %s", name,
                           weir_err_str(err));
            return NULL;
        }
        coord_schedule(b); /* load its partitions */
        return t;
    }
    /* The controller assigns replicas once it and this broker know the live
     * brokers; ask at most once a second. */
    int64_t now = weir_now_ns(b->env);
    bk_coord_state *s = b->coord;
    if (!b->cl.live_known || b->cl.broker_epoch < 0 ||
        (s->create_asked_ns[kind] != 0 &&
         now - s->create_asked_ns[kind] < COORD_CREATE_RETRY_MS * MS)) {
        return NULL;
    }
    s->create_asked_ns[kind] = now;
    int16_t brokers = 1;
    for (int i = 0; i < b->cl.n_live; i++) {
        brokers = (int16_t)(brokers + (b->cl.live[i].up && b->cl.live[i].id != b->cfg.node_id));
    }
    int16_t rf = kind_replication(b, kind);
    if (rf > brokers) {
        rf = brokers;
    }
    weir_log_info(b->env,
                  "asking the controller for the internal topic %s: %d partition(s), "
                  "replication factor %d",
                  name, kind_partitions(b, kind), rf);
    bk_cluster_create_topic(b, name, strlen(name), kind_partitions(b, kind), rf);
    return NULL;
}

static weir_partition *kind_partition(weir_broker *b, bk_coord_kind kind, int32_t index)
{
    weir_topic *t = bk_coord_topic(b, kind, false);
    return weir_topic_partition(t, index);
}

int16_t bk_coord_status(weir_broker *b, bk_coord_kind kind, int32_t index)
{
    bk_coord_state *s = b->coord;
    weir_partition *p = kind_partition(b, kind, index);
    if (s == NULL || s->stopping || p == NULL || p->log == NULL || p->role != WEIR_ROLE_LEADER) {
        return WEIR_KERR_NOT_COORDINATOR;
    }
    if (index < s->n_parts[kind] && s->parts[kind][index].loaded &&
        s->parts[kind][index].epoch == p->leader_epoch) {
        return WEIR_KERR_NONE;
    }
    coord_schedule(b);
    return WEIR_KERR_COORDINATOR_LOAD_IN_PROGRESS;
}

bool bk_coord_loading(weir_broker *b, bk_coord_kind kind)
{
    weir_topic *t = bk_coord_topic(b, kind, false);
    for (int32_t i = 0; t != NULL && i < t->partition_count; i++) {
        if (bk_coord_status(b, kind, i) == WEIR_KERR_COORDINATOR_LOAD_IN_PROGRESS) {
            return true;
        }
    }
    return false;
}

int16_t bk_coord_lookup(weir_broker *b, bk_coord_kind kind, const char *key, size_t len,
                        int32_t *index_out)
{
    weir_topic *t = bk_coord_topic(b, kind, false);
    *index_out = -1;
    if (t == NULL || t->partition_count < 1) {
        return WEIR_KERR_COORDINATOR_NOT_AVAILABLE;
    }
    *index_out = bk_coord_partition_for(key, len, t->partition_count);
    return bk_coord_status(b, kind, *index_out);
}

/* ---- FindCoordinator ---- */

int bk_handle_find_coordinator(bk_conn *c, const weir_request *r)
{
    weir_broker *b = c->b;
    const weir_find_coordinator_request *req = &r->body.find_coordinator;
    weir_find_coordinator_response resp = {0,  WEIR_KERR_NONE,    WEIR_STR_NULL,
                                           -1, weir_str_from(""), -1};
    if (req->key_type != WEIR_COORDINATOR_GROUP && req->key_type != WEIR_COORDINATOR_TRANSACTION) {
        resp.error_code = WEIR_KERR_INVALID_REQUEST;
        resp.error_message = weir_str_from("unknown key type");
        return weir_encode_find_coordinator_response(&b->out, r->header.api_version, &resp);
    }
    bk_coord_kind kind = req->key_type == WEIR_COORDINATOR_GROUP ? BK_COORD_GROUP : BK_COORD_TXN;
    weir_str key = req->key.len > 0 ? req->key : weir_str_from("");
    /* A topic created now has no coordinator loaded yet: the client retries. */
    bool existed = bk_coord_topic(b, kind, false) != NULL;
    weir_topic *t = bk_coord_topic(b, kind, true);
    if (!existed) {
        t = NULL;
    }
    weir_partition *p = t != NULL
                            ? weir_topic_partition(t, bk_coord_partition_for(key.p, (size_t)key.len,
                                                                             t->partition_count))
                            : NULL;
    const bk_live_broker *lb = NULL;
    for (int i = 0; p != NULL && i < b->cl.n_live; i++) {
        if (b->cl.live[i].id == p->leader_id && b->cl.live[i].up) {
            lb = &b->cl.live[i];
        }
    }
    if (p != NULL && p->leader_id == b->cfg.node_id && p->leader_id >= 0) {
        resp.node_id = b->cfg.node_id;
        resp.host = weir_str_from(b->cfg.advertised_host);
        resp.port = b->cfg.advertised_port;
    } else if (lb != NULL) {
        resp.node_id = lb->id;
        resp.host = weir_str_from(lb->host);
        resp.port = lb->port;
    } else {
        resp.error_code = WEIR_KERR_COORDINATOR_NOT_AVAILABLE;
        resp.error_message = weir_str_from(t == NULL ? "the coordinator topic is being created"
                                                     : "the coordinator partition has no leader");
    }
    return weir_encode_find_coordinator_response(&b->out, r->header.api_version, &resp);
}

/* ---- log scans ---- */

int bk_coord_log_scan(struct weir_plog *log, int64_t from, int64_t to, bk_coord_batch_fn fn,
                      void *arg)
{
    int64_t off = from < weir_plog_start_offset(log) ? weir_plog_start_offset(log) : from;
    while (off < to) {
        weir_log_read_result rr;
        int err = weir_plog_read(log, off, COORD_SCAN_BYTES_MAX, true, &rr);
        if (err != 0) {
            return err;
        }
        size_t at = 0;
        while (err == 0 && rr.len - at >= WEIR_BATCH_HEADER_BYTES) {
            weir_batch_header h;
            weir_batch_header_decode(rr.data + at, &h);
            uint64_t total = weir_batch_total_bytes(&h);
            if (total > rr.len - at) {
                err = WEIR_E_CORRUPT;
                break;
            }
            if (h.base_offset >= to) {
                break;
            }
            if (weir_batch_last_offset(&h) >= from) {
                const char *why = NULL;
                err = weir_batch_validate(rr.data + at, (size_t)total, &h, &why);
                if (err == 0) {
                    err = fn(arg, &h, rr.data + at, (size_t)total);
                }
            }
            at += (size_t)total;
        }
        int64_t next = rr.next_offset;
        weir_log_read_result_free(&rr);
        if (err != 0) {
            return err;
        }
        if (next <= off) {
            break; /* nothing more to read */
        }
        off = next;
    }
    return 0;
}

/* ---- appends waiting for the HW ---- */

static int16_t min_isr_of(const weir_broker *b, const char *topic)
{
    int16_t min_isr = b->cfg.min_insync_replicas;
    for (int i = 0; i < b->cfg.n_topic_min_isr; i++) {
        if (strcmp(b->cfg.topic_min_isr[i].topic, topic) == 0) {
            min_isr = b->cfg.topic_min_isr[i].min_insync_replicas;
        }
    }
    return min_isr;
}

/* The outcome of w now: NONE (done), NOT_COORDINATOR, or -2 still waiting. */
static int coord_wait_outcome(weir_broker *b, const coord_wait *w)
{
    weir_partition *p = kind_partition(b, w->kind, w->index);
    if (p == NULL || p->log == NULL || p->role != WEIR_ROLE_LEADER || p->leader_epoch != w->epoch ||
        b->coord->stopping) {
        return WEIR_KERR_NOT_COORDINATOR;
    }
    if (p->high_watermark < w->required_hw) {
        return -2;
    }
    /* as Kafka's acks=all: replicated, but by fewer than min.insync.replicas */
    return p->lead.n_isr < min_isr_of(b, coord_types[w->kind].topic)
               ? WEIR_KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND
               : WEIR_KERR_NONE;
}

static void coord_wait_unlink(bk_coord_state *s, coord_wait *w)
{
    for (coord_wait **pp = &s->waits; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == w) {
            *pp = w->next;
            w->next = NULL;
            return;
        }
    }
    WEIR_ASSERT(!"an internal append wait missing from its list");
}

static void coord_wait_finish(weir_broker *b, coord_wait *w, int16_t error)
{
    if (w->timer != NULL) {
        weir_timer_cancel(b->env, w->timer);
        w->timer = NULL;
    }
    bk_coord_append_cb cb = w->cb;
    void *arg = w->arg;
    int64_t base = w->base_offset;
    free(w);
    cb(b, arg, error, base);
}

static void coord_wait_timeout(weir_env *env, void *arg)
{
    (void)env;
    coord_wait *w = arg;
    weir_broker *b = w->b;
    w->timer = NULL;
    coord_wait_unlink(b->coord, w);
    int outcome = coord_wait_outcome(b, w);
    coord_wait_finish(b, w, (int16_t)(outcome == -2 ? WEIR_KERR_REQUEST_TIMED_OUT : outcome));
}

/* Settles every wait that is decided (or all, when stopping). Callbacks run
 * after the list is updated, so they may append again. */
static void coord_settle(weir_broker *b)
{
    bk_coord_state *s = b->coord;
    coord_wait *done = NULL;
    coord_wait **tail = &done;
    for (coord_wait **pp = &s->waits; *pp != NULL;) {
        coord_wait *w = *pp;
        if (coord_wait_outcome(b, w) == -2) {
            pp = &w->next;
            continue;
        }
        *pp = w->next;
        w->next = NULL;
        *tail = w;
        tail = &w->next;
    }
    while (done != NULL) {
        coord_wait *w = done;
        done = w->next;
        int outcome = coord_wait_outcome(b, w);
        coord_wait_finish(b, w, (int16_t)(outcome == -2 ? WEIR_KERR_NOT_COORDINATOR : outcome));
    }
}

/* A refused internal append as a Kafka code. */
static int16_t append_error(int err, const weir_log_append_info *info, const char *why)
{
    if (err == WEIR_E_INVAL && why != NULL && strstr(why, "max.message.bytes") != NULL) {
        return WEIR_KERR_MESSAGE_TOO_LARGE;
    }
    if (err != WEIR_E_PRODUCER) {
        return bk_kerr_from(err);
    }
    switch (info->producer_error) {
    case WEIR_PSTATE_INVALID_PRODUCER_EPOCH:
        return WEIR_KERR_INVALID_PRODUCER_EPOCH;
    case WEIR_PSTATE_OUT_OF_ORDER_SEQUENCE:
        return WEIR_KERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
    case WEIR_PSTATE_INVALID_TXN_STATE:
        return WEIR_KERR_INVALID_TXN_STATE;
    case WEIR_PSTATE_COORDINATOR_FENCED:
        return WEIR_KERR_TRANSACTION_COORDINATOR_FENCED;
    default:
        return WEIR_KERR_UNKNOWN_SERVER_ERROR;
    }
}

int16_t bk_coord_append(weir_broker *b, bk_coord_kind kind, int32_t index, uint8_t *batch,
                        size_t len, int32_t timeout_ms, bk_coord_append_cb cb, void *arg,
                        int64_t *base_offset_out)
{
    bk_coord_state *s = b->coord;
    weir_topic *t = bk_coord_topic(b, kind, false);
    weir_partition *p = weir_topic_partition(t, index);
    /* Only from state loaded for the current leadership: a timer of state
     * that is about to be unloaded must not leave a wait behind. */
    if (b->halt_timer != NULL || bk_coord_status(b, kind, index) != WEIR_KERR_NONE) {
        return WEIR_KERR_NOT_COORDINATOR;
    }
    WEIR_ASSERT(s != NULL && p != NULL && p->log != NULL);
    if (p->lead.n_isr < min_isr_of(b, t->name)) {
        return WEIR_KERR_NOT_ENOUGH_REPLICAS; /* refused before anything is appended */
    }
    coord_wait *w = calloc(1, sizeof *w);
    if (w == NULL) {
        return WEIR_KERR_UNKNOWN_SERVER_ERROR;
    }
    weir_log_append_info info;
    const char *why = NULL;
    int err = weir_plog_append_leader(p->log, batch, len, p->leader_epoch, &info, &why);
    if (err != 0) {
        free(w);
        weir_log_warn(b->env, "%s-%d: internal append rejected: %s (%s)", t->name, index,
                      why ? why : "", weir_err_str(err));
        return append_error(err, &info, why);
    }
    if (weir_leader_update_hw(&p->lead, weir_plog_end_offset(p->log))) {
        p->high_watermark = p->lead.hw;
        bk_hw_advanced(b, p);
    }
    p->unflushed_messages += info.last_offset - info.first_offset + 1;
    if (b->cfg.flush_interval_messages > 0 &&
        p->unflushed_messages >= b->cfg.flush_interval_messages) {
        err = weir_plog_flush(p->log);
        if (err != 0) {
            char what[300];
            snprintf(what, sizeof what, "%s-%d: flush", t->name, index);
            bk_log_dir_failed(b, what, err);
            /* appended but maybe not durable: the halt takes leadership away,
             * so the wait ends with NOT_COORDINATOR */
        } else {
            p->unflushed_messages = 0;
        }
    }
    bk_fetch_wake_all(b); /* followers long-polling this partition */
    w->b = b;
    w->kind = kind;
    w->index = index;
    w->epoch = p->leader_epoch;
    w->base_offset = info.first_offset;
    w->required_hw = info.last_offset + 1;
    w->cb = cb;
    w->arg = arg;
    coord_wait **pp = &s->waits;
    while (*pp != NULL) {
        pp = &(*pp)->next;
    }
    *pp = w;
    *base_offset_out = info.first_offset;
    w->timer = weir_timer_start(b->env, (int64_t)(timeout_ms > 0 ? timeout_ms : 0) * MS,
                                coord_wait_timeout, w);
    coord_schedule(b); /* the HW may have passed already (an ISR of one) */
    return WEIR_KERR_NONE;
}

/* ---- load / unload ---- */

static void coord_parts_grow(bk_coord_state *s, bk_coord_kind kind, int32_t n)
{
    if (n <= s->n_parts[kind]) {
        return;
    }
    coord_part *grown = realloc(s->parts[kind], (size_t)n * sizeof *grown);
    WEIR_ASSERT(grown != NULL);
    memset(grown + s->n_parts[kind], 0, (size_t)(n - s->n_parts[kind]) * sizeof *grown);
    s->parts[kind] = grown;
    s->n_parts[kind] = n;
}

static void coord_unload(weir_broker *b, bk_coord_kind kind, int32_t index, bool env_alive)
{
    bk_coord_state *s = b->coord;
    s->parts[kind][index].loaded = false;
    if (coord_types[kind].unload != NULL) {
        coord_types[kind].unload(b, index, env_alive);
    }
    if (env_alive) {
        weir_log_debug(b->env, "%s-%d: coordinator state unloaded", coord_types[kind].topic, index);
    }
}

static void coord_retry_cb(weir_env *env, void *arg)
{
    (void)env;
    weir_broker *b = arg;
    b->coord->retry_timer = NULL;
    coord_schedule(b);
}

/* Loaded == led in the same epoch, for every coordinator partition. */
static void coord_reconcile(weir_broker *b)
{
    bk_coord_state *s = b->coord;
    bool retry = false;
    for (int k = 0; k < BK_COORD_KINDS; k++) {
        bk_coord_kind kind = (bk_coord_kind)k;
        weir_topic *t = bk_coord_topic(b, kind, false);
        for (int32_t i = 0; i < s->n_parts[kind]; i++) {
            weir_partition *p = weir_topic_partition(t, i);
            if (s->parts[kind][i].loaded &&
                (p == NULL || p->log == NULL || p->role != WEIR_ROLE_LEADER ||
                 p->leader_epoch != s->parts[kind][i].epoch)) {
                coord_unload(b, kind, i, true);
            }
        }
        if (t == NULL) {
            continue;
        }
        coord_parts_grow(s, kind, t->partition_count);
        for (int32_t i = 0; i < t->partition_count; i++) {
            weir_partition *p = &t->partitions[i];
            if (p->log == NULL || p->role != WEIR_ROLE_LEADER || s->parts[kind][i].loaded) {
                continue;
            }
            int64_t t0 = weir_now_ns(b->env);
            int err = coord_types[kind].load != NULL ? coord_types[kind].load(b, i, p->log) : 0;
            if (err != 0) {
                weir_log_error(b->env, "%s-%d: cannot load the coordinator state: %s; retrying",
                               t->name, i, weir_err_str(err));
                retry = true;
                continue;
            }
            s->parts[kind][i].loaded = true;
            s->parts[kind][i].epoch = p->leader_epoch;
            weir_log_debug(b->env,
                           "%s-%d: coordinator state loaded for leader epoch %d "
                           "(offsets %lld..%lld, %lld ms)",
                           t->name, i, p->leader_epoch, (long long)weir_plog_start_offset(p->log),
                           (long long)weir_plog_end_offset(p->log),
                           (long long)((weir_now_ns(b->env) - t0) / MS));
        }
    }
    if (retry && s->retry_timer == NULL) {
        s->retry_timer = weir_timer_start(b->env, COORD_LOAD_RETRY_MS * MS, coord_retry_cb, b);
    }
}

static void coord_check_cb(weir_env *env, void *arg)
{
    (void)env;
    weir_broker *b = arg;
    b->coord->check_timer = NULL;
    if (b->halt_timer != NULL) {
        return; /* halting: broker_stop unloads everything */
    }
    coord_settle(b);
    coord_reconcile(b);
}

static void coord_schedule(weir_broker *b)
{
    bk_coord_state *s = b->coord;
    if (s != NULL && !s->stopping && s->check_timer == NULL && !b->shut_down) {
        s->check_timer = weir_timer_start(b->env, 0, coord_check_cb, b);
    }
}

/* ---- lifecycle ---- */

void bk_coord_start(weir_broker *b)
{
    WEIR_ASSERT(b->coord == NULL);
    b->coord = calloc(1, sizeof *b->coord);
    WEIR_ASSERT(b->coord != NULL);
    coord_schedule(b);
}

static void coord_free(weir_broker *b)
{
    bk_coord_state *s = b->coord;
    for (int k = 0; k < BK_COORD_KINDS; k++) {
        free(s->parts[k]);
    }
    free(s);
    b->coord = NULL;
}

void bk_coord_stop(weir_broker *b)
{
    bk_coord_state *s = b->coord;
    if (s == NULL) {
        return;
    }
    s->stopping = true;
    weir_timer **timers[] = {&s->check_timer, &s->retry_timer};
    for (size_t i = 0; i < sizeof timers / sizeof timers[0]; i++) {
        if (*timers[i] != NULL) {
            weir_timer_cancel(b->env, *timers[i]);
            *timers[i] = NULL;
        }
    }
    coord_settle(b); /* stopping: every wait ends with NOT_COORDINATOR */
    WEIR_ASSERT(s->waits == NULL);
    for (int k = 0; k < BK_COORD_KINDS; k++) {
        for (int32_t i = 0; i < s->n_parts[k]; i++) {
            if (s->parts[k][i].loaded) {
                coord_unload(b, (bk_coord_kind)k, i, true);
            }
        }
    }
    coord_free(b);
}

void bk_coord_abandon(weir_broker *b)
{
    bk_coord_state *s = b->coord;
    if (s == NULL) {
        return;
    }
    s->stopping = true;
    while (s->waits != NULL) {
        coord_wait *w = s->waits;
        s->waits = w->next;
        free(w); /* no callback: the owners' unload frees their args */
    }
    for (int k = 0; k < BK_COORD_KINDS; k++) {
        for (int32_t i = 0; i < s->n_parts[k]; i++) {
            if (s->parts[k][i].loaded) {
                coord_unload(b, (bk_coord_kind)k, i, false);
            }
        }
    }
    coord_free(b);
}

void bk_coord_leadership_changed(weir_broker *b, const weir_topic *t, const weir_partition *p)
{
    (void)p;
    if (b->coord != NULL &&
        (b->coord->waits != NULL || bk_coord_topic_is_internal(t->name, strlen(t->name)))) {
        coord_schedule(b);
    }
}

void bk_coord_hw_advanced(weir_broker *b, const weir_partition *p)
{
    (void)p;
    if (b->coord != NULL && b->coord->waits != NULL) {
        coord_schedule(b);
    }
}
