/* The driver's node of `weir chaos --real`, on the real (libuv) world:
 * everything that talks Kafka to the cluster, through the brokers' proxies.
 *
 * - admin: a weir_cluster connection layer over the bootstrap addresses,
 *   used for Metadata (brokers registered, leaders and ISRs, the monitor
 *   that writes leader and isr events) and CreateTopics;
 * - producers: weir_producer, one per scenario producer, at the scenario's
 *   rate, acks, size and keys; every value starts with "P<producer>:<seq>|"
 *   so each message can be followed; every acknowledgement goes to the
 *   history with its partition and offset;
 * - the final read: weir_consumer from the earliest offset of every
 *   partition until each has stayed caught up with its high watermark for a
 *   second; every record goes to the history as the final log.
 *
 * One tick timer (every millisecond) drives it all from run->phase, which the
 * driver moves forward between world slices.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "log/log.h"
#include "proto/kafka.h"
#include "real_run.h"

#define WL_TICK_NS (1 * WEIR_REAL_MS)
#define WL_SETUP_POLL_NS (200 * WEIR_REAL_MS)
#define WL_MONITOR_POLL_NS (500 * WEIR_REAL_MS)
#define WL_ADMIN_TIMEOUT_MS 2000
#define WL_CAUGHT_UP_NS (1 * WEIR_REAL_S)

static int64_t wl_now(const weir_real_run *run)
{
    return weir_real_run_now(run);
}

static int wl_topic_index(const weir_real_run *run, const char *name)
{
    return weir_scenario_topic_find(run->sc, name);
}

/* ---- admin: Metadata and CreateTopics ---- */

/* Sends r to the next bootstrap broker whose connection is ready. */
static bool wl_admin_send(weir_real_run *run, weir_request *r, weir_cluster_response_cb cb)
{
    int n = (int)run->sc->broker_count;
    for (int i = 0; i < n && !run->admin_busy; i++) {
        int k = (run->admin_next + i) % n;
        int32_t id = -(k + 1);
        if (!weir_cluster_node_ready(run->admin, id)) {
            continue;
        }
        if (weir_cluster_send(run->admin, id, r, WL_ADMIN_TIMEOUT_MS, cb, run) == 0) {
            run->admin_busy = true;
            run->admin_next = (k + 1) % n;
            run->admin_last_ns = wl_now(run);
            return true;
        }
    }
    return false;
}

static void wl_part_event(weir_real_run *run, int ti, const weir_metadata_partition *mp)
{
    weir_real_part *v = &run->parts[run->part_base[ti] + (size_t)mp->partition_index];
    const char *topic = run->sc->topics[ti].name;
    bool monitoring = run->phase >= WEIR_REAL_PH_PRODUCE;
    if (monitoring && v->known && v->leader != mp->leader_id) {
        weir_real_event(run, "leader", "%s\t%d\t%d\t%d\t-1\t0", topic, mp->partition_index,
                        v->leader, mp->leader_id);
    }
    bool isr_changed = !v->known || v->n_isr != mp->isr_count;
    for (int k = 0; !isr_changed && k < mp->isr_count && k < 16; k++) {
        isr_changed = v->isr[k] != mp->isr_nodes[k];
    }
    if ((monitoring || !v->known) && isr_changed) {
        char list[128] = "";
        size_t at = 0;
        for (int k = 0; k < mp->isr_count && at < sizeof list - 12; k++) {
            at += (size_t)snprintf(list + at, sizeof list - at, "%s%d", k ? "," : "",
                                   mp->isr_nodes[k]);
        }
        if (!v->known) {
            weir_real_event(run, "leader", "%s\t%d\t-1\t%d\t-1\t0", topic, mp->partition_index,
                            mp->leader_id);
        }
        weir_real_event(run, "isr", "%s\t%d\t%s", topic, mp->partition_index, list);
    }
    v->known = true;
    v->leader = mp->leader_id;
    v->n_isr = mp->isr_count < 16 ? mp->isr_count : 16;
    for (int k = 0; k < v->n_isr; k++) {
        v->isr[k] = mp->isr_nodes[k];
    }
}

/* Updates the partition views; true if every partition of every topic has a
 * leader and a full ISR. */
static bool wl_metadata_apply(weir_real_run *run, const weir_metadata_response *m)
{
    bool all = true;
    size_t topics_seen = 0;
    for (int32_t t = 0; t < m->topic_count; t++) {
        const weir_metadata_topic *mt = &m->topics[t];
        char name[WEIR_SCN_TOPIC_MAX];
        int32_t len = mt->name.len < (int32_t)sizeof name - 1 ? mt->name.len : 0;
        memcpy(name, mt->name.p, (size_t)(len > 0 ? len : 0));
        name[len > 0 ? len : 0] = '\0';
        int ti = wl_topic_index(run, name);
        if (ti < 0) {
            continue;
        }
        const weir_scn_topic *st = &run->sc->topics[ti];
        if (mt->error_code != WEIR_KERR_NONE || mt->partition_count != st->partitions) {
            all = false;
            continue;
        }
        topics_seen++;
        for (int32_t p = 0; p < mt->partition_count; p++) {
            const weir_metadata_partition *mp = &mt->partitions[p];
            if (mp->partition_index < 0 || mp->partition_index >= st->partitions) {
                all = false;
                continue;
            }
            wl_part_event(run, ti, mp);
            all = all && mp->leader_id >= 0 && mp->isr_count >= st->replication_factor;
        }
    }
    return all && topics_seen == run->sc->topic_count;
}

static void wl_metadata_cb(weir_cluster *cl, int err, const weir_response *resp, void *arg)
{
    (void)cl;
    weir_real_run *run = arg;
    run->admin_busy = false;
    if (err != 0 || resp == NULL) {
        return; /* the next poll goes to another broker */
    }
    const weir_metadata_response *m = &resp->body.metadata;
    switch (run->phase) {
    case WEIR_REAL_PH_BROKERS:
        run->brokers_listed = m->broker_count;
        if (m->broker_count >= (int32_t)run->sc->broker_count) {
            weir_real_event(run, "note", "every broker registered (%d listed)", m->broker_count);
            run->phase = WEIR_REAL_PH_TOPICS;
        }
        break;
    case WEIR_REAL_PH_LEADERS:
        if (wl_metadata_apply(run, m)) {
            weir_real_event(run, "note", "every partition has a leader and a full ISR");
            run->phase = WEIR_REAL_PH_READY;
        }
        break;
    default:
        run->monitor_settled = wl_metadata_apply(run, m);
        if (run->phase == WEIR_REAL_PH_SETTLE && run->monitor_settled) {
            run->phase = WEIR_REAL_PH_SETTLED;
        }
        break;
    }
}

static void wl_metadata_poll(weir_real_run *run, bool with_topics)
{
    weir_str names[WEIR_SCN_TOPICS_MAX];
    size_t n = with_topics ? run->sc->topic_count : 0;
    for (size_t t = 0; t < n; t++) {
        names[t] = (weir_str){run->sc->topics[t].name, (int32_t)strlen(run->sc->topics[t].name)};
    }
    weir_request r;
    memset(&r, 0, sizeof r);
    r.header.api_key = WEIR_API_METADATA;
    r.header.api_version = 4;
    r.body.metadata.topic_count = (int32_t)n;
    r.body.metadata.topics = names;
    r.body.metadata.allow_auto_topic_creation = false;
    weir_ignore(wl_admin_send(run, &r, wl_metadata_cb));
}

static void wl_create_cb(weir_cluster *cl, int err, const weir_response *resp, void *arg)
{
    (void)cl;
    weir_real_run *run = arg;
    run->admin_busy = false;
    if (err != 0 || resp == NULL) {
        return;
    }
    const weir_create_topics_response *ct = &resp->body.create_topics;
    for (int32_t i = 0; i < ct->topic_count; i++) {
        char name[WEIR_SCN_TOPIC_MAX];
        int32_t len =
            ct->topics[i].name.len < (int32_t)sizeof name - 1 ? ct->topics[i].name.len : 0;
        memcpy(name, ct->topics[i].name.p, (size_t)(len > 0 ? len : 0));
        name[len > 0 ? len : 0] = '\0';
        int ti = wl_topic_index(run, name);
        int16_t code = ct->topics[i].error_code;
        if (ti < 0 || run->topic_created[ti]) {
            continue;
        }
        if (code == WEIR_KERR_NONE || code == WEIR_KERR_TOPIC_ALREADY_EXISTS) {
            run->topic_created[ti] = true;
            weir_real_event(run, "note", "topic %s created: %d partition(s), replication factor %d",
                            name, run->sc->topics[ti].partitions,
                            run->sc->topics[ti].replication_factor);
        } else if (code == WEIR_KERR_INVALID_TOPIC_EXCEPTION ||
                   code == WEIR_KERR_INVALID_PARTITIONS) {
            run->admin_failed = true;
            snprintf(run->admin_why, sizeof run->admin_why, "CreateTopics %.200s: %s", name,
                     weir_kerr_name(code));
        }
        /* others (INVALID_REPLICATION_FACTOR while brokers register): asked again */
    }
    bool all = true;
    for (size_t t = 0; t < run->sc->topic_count; t++) {
        all = all && run->topic_created[t];
    }
    if (all && run->phase == WEIR_REAL_PH_TOPICS) {
        run->phase = WEIR_REAL_PH_LEADERS;
    }
}

static void wl_create_topics(weir_real_run *run)
{
    weir_create_topics_topic topics[WEIR_SCN_TOPICS_MAX];
    int32_t n = 0;
    for (size_t t = 0; t < run->sc->topic_count; t++) {
        const weir_scn_topic *st = &run->sc->topics[t];
        if (run->topic_created[t]) {
            continue;
        }
        memset(&topics[n], 0, sizeof topics[n]);
        topics[n].name = (weir_str){st->name, (int32_t)strlen(st->name)};
        topics[n].num_partitions = st->partitions;
        topics[n].replication_factor = st->replication_factor;
        n++;
    }
    weir_request r;
    memset(&r, 0, sizeof r);
    r.header.api_key = WEIR_API_CREATE_TOPICS;
    r.header.api_version = 2;
    r.body.create_topics.topic_count = n;
    r.body.create_topics.topics = topics;
    r.body.create_topics.timeout_ms = 5000;
    weir_ignore(wl_admin_send(run, &r, wl_create_cb));
}

/* ---- producers ---- */

static void wl_on_delivery(void *ctx, const char *topic, int32_t partition, int64_t offset,
                           int16_t error, void *opaque)
{
    weir_real_producer *wp = ctx;
    weir_real_run *run = wp->run;
    int64_t seq = (int64_t)(intptr_t)opaque;
    if (error != WEIR_KERR_NONE) {
        return; /* counted per attempt in wl_on_attempt_error */
    }
    int64_t now = wl_now(run);
    run->acked++;
    bool all = wp->spec->acks == -1;
    run->acked_all += all;
    if (seq >= 0 && (size_t)seq < wp->sent_cap) {
        int64_t us = (now - wp->sent_ns[seq]) / 1000;
        int b = 0;
        while (b < WEIR_REAL_LAT_BUCKETS - 1 && (1LL << (b + 1)) <= us) {
            b++;
        }
        wp->latency[b]++;
        if (run->heal_ns >= 0 && run->recovered_ns < 0 && wp->sent_ns[seq] >= run->heal_ns) {
            run->recovered_ns = now;
            weir_real_event(run, "note",
                            "produce works again: first acknowledgement of a message "
                            "sent after the last fault healed, %.3fs after it",
                            (double)(now - run->heal_ns) / 1e9);
        }
    }
    int ti = wl_topic_index(run, topic);
    if (offset >= 0 && ti >= 0) { /* acks=0 has no offset to hold it to */
        bool must = all && !weir_scenario_topic_unclean(run->sc, (size_t)ti);
        weir_history_ack(&run->hist, (weir_msg_id){wp->index, seq},
                         WEIR_REAL_PART_KEY(ti, partition), offset, must);
    }
}

static void wl_on_attempt_error(void *ctx, const char *topic, int32_t partition, int16_t error)
{
    weir_real_producer *wp = ctx;
    (void)topic;
    (void)partition;
    wp->run->produce_errors++;
    if (error >= 0 && error < 128) {
        wp->run->errors_by_code[error]++;
    }
}

static void wl_producers_start(weir_real_run *run)
{
    for (size_t i = 0; i < run->sc->producer_count; i++) {
        weir_real_producer *wp = &run->producers[i];
        const weir_scn_producer *sp = &run->sc->producers[i];
        memset(wp, 0, sizeof *wp);
        wp->run = run;
        wp->spec = sp;
        wp->index = (int)i;
        weir_producer_config pc;
        weir_producer_config_default(&pc);
        pc.bootstrap = run->bootstrap;
        pc.client_id = sp->name;
        pc.acks = (int16_t)sp->acks;
        pc.linger_ms = (int32_t)(sp->linger_ns / WEIR_REAL_MS);
        pc.batch_size = (int32_t)sp->batch_bytes;
        pc.retries = sp->retries;
        pc.retry_backoff_ms = (int32_t)(sp->retry_backoff_ns / WEIR_REAL_MS);
        pc.request_timeout_ms = (int32_t)(sp->request_timeout_ns / WEIR_REAL_MS);
        pc.delivery_timeout_ms = (int32_t)(sp->delivery_timeout_ns / WEIR_REAL_MS);
        pc.in_flight_max = sp->max_in_flight;
        pc.on_attempt_error = wl_on_attempt_error;
        const char *why = NULL;
        wp->p = weir_producer_new(run->env, &pc, wl_on_delivery, wp, &why);
        if (wp->p == NULL) {
            weir_real_fail(run, "producer %s: %s", sp->name, why ? why : "cannot start");
        }
    }
    run->producers_started = true;
}

/* Sends what each producer's rate makes due by now. */
static void wl_produce(weir_real_run *run)
{
    int64_t elapsed = wl_now(run) - run->t_work_ns;
    for (size_t i = 0; i < run->sc->producer_count; i++) {
        weir_real_producer *wp = &run->producers[i];
        const weir_scn_producer *sp = wp->spec;
        if (wp->p == NULL) {
            continue;
        }
        int64_t due = (int64_t)((double)elapsed / 1e9 * sp->rate_per_s);
        const char *topic = run->sc->topics[sp->topic_index].name;
        char val[8192];
        size_t vlen = sp->message_bytes < sizeof val ? sp->message_bytes : sizeof val;
        for (int k = 0; wp->seq < due && k < 10000; k++) {
            int n = (int)weir_msg_id_write(val, (weir_msg_id){wp->index, wp->seq});
            if ((size_t)n < vlen) {
                memset(val + n, 'x', vlen - (size_t)n);
            }
            char key[32];
            int klen = 0;
            const char *kp = NULL;
            if (sp->keys == WEIR_SCN_KEYS_RANDOM) {
                klen = snprintf(key, sizeof key, "k%llu",
                                (unsigned long long)weir_random_below(
                                    run->env, sp->key_count ? sp->key_count : 1));
                kp = key;
            } else if (sp->keys == WEIR_SCN_KEYS_SEQUENCE) {
                klen = snprintf(key, sizeof key, "k%lld", (long long)wp->seq);
                kp = key;
            }
            if ((size_t)wp->seq >= wp->sent_cap) {
                size_t cap = wp->sent_cap ? wp->sent_cap * 2 : 65536;
                int64_t *grown = realloc(wp->sent_ns, cap * sizeof *grown);
                WEIR_ASSERT(grown != NULL);
                wp->sent_ns = grown;
                wp->sent_cap = cap;
            }
            wp->sent_ns[wp->seq] = wl_now(run);
            run->last_sent_ns = wp->sent_ns[wp->seq];
            if (weir_producer_send(wp->p, topic, sp->partition, kp, klen, val,
                                   (int32_t)((size_t)n > vlen ? (size_t)n : vlen), -1,
                                   (void *)(intptr_t)wp->seq) != 0) {
                break;
            }
            wp->seq++;
            run->sent++;
        }
    }
}

int64_t weir_real_workload_in_flight(const weir_real_run *run)
{
    int64_t n = 0;
    for (size_t i = 0; i < run->sc->producer_count; i++) {
        if (run->producers[i].p != NULL) {
            n += weir_producer_in_flight(run->producers[i].p);
        }
    }
    return n;
}

/* ---- the final read ---- */

static void wl_on_record(void *ctx, const weir_consumer_record *rec)
{
    weir_real_run *run = ctx;
    weir_msg_id id;
    int ti = wl_topic_index(run, rec->topic);
    if (ti < 0 || !weir_msg_id_read(rec->value, (size_t)rec->value_len, &id)) {
        run->foreign++;
        return;
    }
    run->read++;
    weir_history_logged(&run->hist, id, WEIR_REAL_PART_KEY(ti, rec->partition), rec->offset);
}

static void wl_read_start(weir_real_run *run)
{
    run->hist.n_log = 0; /* a second read replaces the first */
    run->read = 0;
    run->foreign = 0;
    run->caught_up_since_ns = -1;
    weir_consumer_config cc;
    weir_consumer_config_default(&cc);
    cc.bootstrap = run->bootstrap;
    cc.client_id = "chaos-reader";
    cc.auto_offset_reset = WEIR_OFFSET_RESET_EARLIEST;
    cc.allow_auto_create_topics = false;
    cc.fetch_wait_ms_max = 200;
    cc.request_timeout_ms = 5000;
    weir_consumer_callbacks cb = {.on_record = wl_on_record, .ctx = run};
    const char *why = NULL;
    run->consumer = weir_consumer_new(run->env, &cc, &cb, &why);
    if (run->consumer == NULL) {
        weir_real_fail(run, "final read: %s", why ? why : "cannot start the consumer");
        run->phase = WEIR_REAL_PH_READ_DONE;
        return;
    }
    weir_topic_partition *tps = calloc(run->part_count, sizeof *tps);
    WEIR_ASSERT(tps != NULL);
    size_t n = 0;
    for (size_t t = 0; t < run->sc->topic_count; t++) {
        for (int32_t p = 0; p < run->sc->topics[t].partitions; p++) {
            tps[n++] = (weir_topic_partition){run->sc->topics[t].name, p};
        }
    }
    if (weir_consumer_assign(run->consumer, tps, (int32_t)n) == 0) {
        for (size_t k = 0; k < n; k++) {
            weir_ignore(weir_consumer_seek(run->consumer, tps[k].topic, tps[k].partition,
                                           WEIR_LOG_TS_EARLIEST));
        }
    }
    free(tps);
}

/* True while every partition's position equals its high watermark. */
static bool wl_caught_up(weir_real_run *run)
{
    for (size_t t = 0; t < run->sc->topic_count; t++) {
        for (int32_t p = 0; p < run->sc->topics[t].partitions; p++) {
            int64_t pos, hw;
            const char *topic = run->sc->topics[t].name;
            if (weir_consumer_position(run->consumer, topic, p, &pos) != 0 ||
                weir_consumer_high_watermark(run->consumer, topic, p, &hw) != 0 || hw < 0 ||
                pos < hw) {
                return false;
            }
        }
    }
    return true;
}

static void wl_read_tick(weir_real_run *run)
{
    if (run->consumer == NULL) {
        wl_read_start(run);
        return;
    }
    int64_t now = wl_now(run);
    if (!wl_caught_up(run)) {
        run->caught_up_since_ns = -1;
        return;
    }
    if (run->caught_up_since_ns < 0) {
        run->caught_up_since_ns = now;
    } else if (now - run->caught_up_since_ns >= WL_CAUGHT_UP_NS) {
        weir_consumer_free(run->consumer);
        run->consumer = NULL;
        run->reads_done++;
        weir_real_event(run, "note", "final read: %lld records of this run in %zu partition(s)",
                        (long long)run->read, run->part_count);
        run->phase = WEIR_REAL_PH_READ_DONE;
    }
}

/* ---- the node ---- */

static void wl_free_clients(weir_real_run *run)
{
    for (size_t i = 0; i < run->sc->producer_count; i++) {
        if (run->producers[i].p != NULL) {
            weir_producer_free(run->producers[i].p);
            run->producers[i].p = NULL;
        }
    }
    if (run->consumer != NULL) {
        weir_consumer_free(run->consumer);
        run->consumer = NULL;
    }
    if (run->admin != NULL) {
        weir_cluster_free(run->admin);
        run->admin = NULL;
    }
}

static void wl_tick(weir_env *env, void *arg)
{
    weir_real_run *run = arg;
    int64_t now = wl_now(run);
    int64_t since = now - run->admin_last_ns;
    switch (run->phase) {
    case WEIR_REAL_PH_BROKERS:
        if (since >= WL_SETUP_POLL_NS) {
            wl_metadata_poll(run, false);
        }
        break;
    case WEIR_REAL_PH_TOPICS:
        if (since >= 2 * WL_SETUP_POLL_NS) {
            wl_create_topics(run);
        }
        break;
    case WEIR_REAL_PH_LEADERS:
    case WEIR_REAL_PH_SETTLE:
        if (since >= WL_SETUP_POLL_NS) {
            wl_metadata_poll(run, true);
        }
        break;
    case WEIR_REAL_PH_PRODUCE:
        if (!run->producers_started) {
            wl_producers_start(run);
        }
        wl_produce(run);
        if (since >= WL_MONITOR_POLL_NS) {
            wl_metadata_poll(run, true);
        }
        break;
    case WEIR_REAL_PH_DRAIN:
        if (!run->producers_flushed) {
            for (size_t i = 0; i < run->sc->producer_count; i++) {
                if (run->producers[i].p != NULL) {
                    weir_producer_flush(run->producers[i].p);
                }
            }
            run->producers_flushed = true;
        }
        if (since >= WL_MONITOR_POLL_NS) {
            wl_metadata_poll(run, true);
        }
        break;
    case WEIR_REAL_PH_READ:
        wl_read_tick(run);
        break;
    case WEIR_REAL_PH_DONE:
        wl_free_clients(run);
        return; /* no more ticks */
    default:
        break;
    }
    weir_timer_start(env, WL_TICK_NS, wl_tick, run);
}

static void *wl_start(weir_env *env, void *arg)
{
    weir_real_run *run = arg;
    env->log_level = WEIR_LOG_ERROR;
    run->env = env;
    weir_cluster_config cc;
    weir_cluster_config_default(&cc);
    cc.bootstrap = run->bootstrap;
    cc.client_id = "chaos-admin";
    cc.request_timeout_ms = WL_ADMIN_TIMEOUT_MS;
    cc.allow_auto_topic_creation = false;
    cc.reconnect_backoff_max_ms = 500;
    const char *why = NULL;
    run->admin = weir_cluster_new(env, &cc, &why);
    if (run->admin == NULL) {
        run->admin_failed = true;
        snprintf(run->admin_why, sizeof run->admin_why, "admin client: %s",
                 why ? why : "cannot start");
        return run;
    }
    run->admin_last_ns = -WL_MONITOR_POLL_NS;
    weir_timer_start(env, WL_TICK_NS, wl_tick, run);
    return run;
}

/* After the world is gone (or the node crashed): memory only. */
static void wl_destroy(void *state)
{
    weir_real_run *run = state;
    for (size_t i = 0; i < run->sc->producer_count; i++) {
        if (run->producers[i].p != NULL) {
            weir_producer_abandon(run->producers[i].p);
            run->producers[i].p = NULL;
        }
    }
    if (run->consumer != NULL) {
        weir_consumer_abandon(run->consumer);
        run->consumer = NULL;
    }
    if (run->admin != NULL) {
        weir_cluster_abandon(run->admin);
        run->admin = NULL;
    }
    run->env = NULL;
}

static const weir_node_type wl_node = {"chaos-driver", wl_start, wl_destroy};

int weir_real_workload_add(weir_real_run *run)
{
    return weir_world_node_add(run->world, "driver", &wl_node, run);
}

/* ---- the oracles ---- */

void weir_real_workload_check(weir_real_run *run)
{
    weir_real_outcome *o = run->out;
    weir_history *h = &run->hist;
    /* every finding kept, so the losses can be listed before the duplicates */
    size_t cap = h->n_acks + h->n_log + 1;
    weir_history_report hr = {.max_findings = cap < (1u << 20) ? cap : (1u << 20)};
    weir_history_check(h, &hr);
    o->lost_all = (int64_t)(hr.counts[WEIR_FINDING_LOST] + hr.counts[WEIR_FINDING_MOVED]);
    o->duplicated = (int64_t)hr.counts[WEIR_FINDING_DUPLICATED];
    o->reordered = (int64_t)hr.counts[WEIR_FINDING_REORDERED];
    run->first_lost[0] = '\0';
    int shown[WEIR_FINDING_KINDS_] = {0};
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < hr.n_findings; i++) {
            const weir_finding *f = &hr.findings[i];
            bool loss = f->kind == WEIR_FINDING_LOST || f->kind == WEIR_FINDING_MOVED;
            if (loss != (pass == 0) || shown[f->kind]++ >= (loss ? 10 : 4)) {
                continue;
            }
            const char *topic = run->sc->topics[f->partition / 100000].name;
            char where[WEIR_SCN_TOPIC_MAX + 64];
            snprintf(where, sizeof where, "%s/%d offset %lld", topic, f->partition % 100000,
                     (long long)f->offset);
            if (loss && run->first_lost[0] == '\0') {
                snprintf(run->first_lost, sizeof run->first_lost, "P%d:%lld acknowledged at %s",
                         f->id.producer, (long long)f->id.seq, where);
            }
            weir_real_event(run, "oracle", "%s: P%d:%lld at %s%s", weir_finding_name(f->kind),
                            f->id.producer, (long long)f->id.seq, where,
                            loss ? ""
                                 : " (reported, not judged: producers retry without idempotence)");
        }
    }
    weir_history_report_free(&hr);
    /* the same for every acknowledged message, whatever its acks */
    bool *must = malloc((h->n_acks ? h->n_acks : 1) * sizeof *must);
    WEIR_ASSERT(must != NULL);
    for (size_t i = 0; i < h->n_acks; i++) {
        must[i] = h->acks[i].must_survive;
        h->acks[i].must_survive = true;
    }
    weir_history_report any = {.max_findings = 0};
    weir_history_check(h, &any);
    o->lost_any = (int64_t)(any.counts[WEIR_FINDING_LOST] + any.counts[WEIR_FINDING_MOVED]);
    weir_history_report_free(&any);
    for (size_t i = 0; i < h->n_acks; i++) {
        h->acks[i].must_survive = must[i];
    }
    free(must);
}
