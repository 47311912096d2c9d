/* The scenario's clients in the simulator: producers at their rates,
 * consumers, and what they tell the history checker. One client node per
 * host that runs clients; a crash of the host destroys them all and a
 * restart starts them again from their specs. */
#include "run_internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "proto/kafka.h"

static void on_delivery(void *ctx, const char *topic, int32_t partition, int64_t offset,
                        int16_t error, void *opaque)
{
    producer_state *ps = ctx;
    int64_t seq = (int64_t)(intptr_t)opaque;
    int ti = run_topic_index(topic);
    if (error != WEIR_KERR_NONE) {
        RS->out->produce_errors++;
        if (error >= 0 && error < 128) {
            RS->errors_seen[error] = true;
        }
        if (ps->spec->txn.id != NULL) {
            run_txn_delivered(&ps->txn, (weir_msg_id){ps->index, seq}, -1, -1, error);
        }
        return;
    }
    RS->out->acked++;
    RS->last_ack_ns = run_now_ns();
    if (seq >= 0 && (size_t)seq < ps->sent_cap) {
        int64_t us = (run_now_ns() - ps->sent_ns[seq]) / 1000;
        int b = 0;
        while (b < LAT_BUCKETS - 1 && (1LL << (b + 1)) <= us) {
            b++;
        }
        ps->latency[b]++;
    }
    bool all = ps->spec->acks == -1;
    RS->out->acked_all += all;
    if (ps->spec->txn.id != NULL) { /* held until the transaction's outcome */
        run_txn_delivered(&ps->txn, (weir_msg_id){ps->index, seq}, PART_KEY(ti, partition), offset,
                          error);
        return;
    }
    if (offset >= 0) { /* acks=0 is fire and forget: no offset to hold it to */
        weir_history_ack(&RS->hist, (weir_msg_id){ps->index, seq}, PART_KEY(ti, partition), offset, all);
    }
}

void run_on_attempt_error(void *ctx, const char *topic, int32_t partition, int16_t error)
{
    (void)ctx;
    (void)topic;
    (void)partition;
    RS->out->produce_errors++;
    if (error >= 0 && error < 128) {
        RS->errors_seen[error] = true;
    }
}

/* Reads are held to the final log only where every producer used acks=all:
 * with acks 0 or 1, committed data can vanish with its only in-sync copy.
 * Decided once per topic at setup (RS->reads_checked). */
bool run_topic_all_acks_all(int ti)
{
    for (size_t i = 0; i < RS->sc->consumer_count; i++) {
        if (RS->sc->consumers[i].output_topic_index == ti) {
            return true; /* a pipeline writes it in transactions, acks=all */
        }
    }
    bool any = false;
    for (size_t i = 0; i < RS->sc->producer_count; i++) {
        if (RS->sc->producers[i].topic_index == ti) {
            any = true;
            if (RS->sc->producers[i].acks != -1) {
                return false;
            }
        }
    }
    return any;
}

static void on_record(void *ctx, const weir_consumer_record *rec)
{
    weir_msg_id id;
    RS->out->reads++;
    int ti = run_topic_index(rec->topic);
    consumer_state *cs = ctx;
    if (ti < 0 || !RS->reads_checked[ti] || !weir_msg_id_read(rec->value, (size_t)rec->value_len, &id)) {
        return;
    }
    if (cs->spec->read_committed) {
        /* held to Jepsen's poll rules and to G1a: one assignment per incarnation */
        weir_history_poll(&RS->hist, cs->index, cs->incarnation, id, PART_KEY(ti, rec->partition),
                          rec->offset, true);
    } else {
        weir_history_read(&RS->hist, id, PART_KEY(ti, rec->partition), rec->offset);
    }
}

/* Writes v in decimal at out (room for 20 digits), no terminator; returns the length. */
static int fmt_udec(char *out, uint64_t v)
{
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (int i = 0; i < n; i++) {
        out[i] = tmp[n - 1 - i];
    }
    return n;
}

/* Same for a signed value (room for 21 bytes). */
static int fmt_dec(char *out, int64_t v)
{
    if (v < 0) {
        out[0] = '-';
        return 1 + fmt_udec(out + 1, (uint64_t)0 - (uint64_t)v);
    }
    return fmt_udec(out, (uint64_t)v);
}

static void txn_ended(void *ctx, bool committed)
{
    (void)ctx;
    (void)committed;
}

/* A transactional producer: (re)starts its producer when it has none or it
 * was fenced, begins a transaction when records are due, and ends it after
 * transaction.messages records (or at its stop time). Returns how many
 * records may go now (INT64_MAX: no limit). */
static int64_t producer_txn_step(weir_env *env, producer_state *ps, int64_t now, int64_t due)
{
    const weir_scn_producer *sp = ps->spec;
    run_txn *t = &ps->txn;
    if (t->phase == RUN_TXN_NONE && now < sp->stop_ns) {
        if (ps->p != NULL) {
            weir_producer_free(ps->p);
        }
        ps->p = run_txn_producer_new(env, t, &sp->txn, sp, sp->name, on_delivery, ps);
        return 0;
    }
    if (t->phase == RUN_TXN_OPEN &&
        ((int32_t)t->n_msgs >= sp->txn.messages || (now >= sp->stop_ns && t->n_msgs > 0))) {
        run_txn_end(t, ps->p, &sp->txn, txn_ended, ps);
    }
    if (t->phase == RUN_TXN_READY && ps->seq < due && now < sp->stop_ns) {
        run_txn_begin(t, ps->p);
    }
    return t->phase == RUN_TXN_OPEN ? sp->txn.messages - (int64_t)t->n_msgs : 0;
}

static void producer_tick(weir_env *env, void *arg)
{
    producer_state *ps = arg;
    const weir_scn_producer *sp = ps->spec;
    int64_t now = weir_sim_now_ns(RS->w);
    int64_t room = INT64_MAX;
    if (sp->txn.id != NULL && now >= sp->start_ns) {
        int64_t due = (int64_t)((double)(now - sp->start_ns) / 1e9 * sp->rate_per_s);
        room = producer_txn_step(env, ps, now, due);
    }
    if (ps->p != NULL && now >= sp->start_ns && now < sp->stop_ns && room > 0) {
        int64_t due = (int64_t)((double)(now - sp->start_ns) / 1e9 * sp->rate_per_s);
        if (due - ps->seq > room) {
            due = ps->seq + room;
        }
        const weir_scn_topic *t = &RS->sc->topics[sp->topic_index];
        char val[4096];
        size_t vlen = sp->message_bytes < sizeof val ? sp->message_bytes : sizeof val;
        for (int k = 0; ps->seq < due && k < 10000; k++) {
            /* the message's id, then 'x' up to the message size */
            int n = (int)weir_msg_id_write(val, (weir_msg_id){ps->index, ps->seq});
            if ((size_t)n < vlen) {
                memset(val + n, 'x', vlen - (size_t)n);
            }
            char key[32];
            int klen = 0;
            const char *kp = NULL;
            if (sp->keys == WEIR_SCN_KEYS_RANDOM) {
                key[0] = 'k';
                klen = 1 + fmt_udec(key + 1, weir_random_below(env, sp->key_count ? sp->key_count : 1));
                kp = key;
            } else if (sp->keys == WEIR_SCN_KEYS_SEQUENCE) {
                key[0] = 'k';
                klen = 1 + fmt_dec(key + 1, ps->seq);
                kp = key;
            }
            if (weir_producer_send(ps->p, t->name, sp->partition, kp, klen, val,
                                   (int32_t)((size_t)n > vlen ? (size_t)n : vlen), -1,
                                   (void *)(intptr_t)ps->seq) != 0) {
                break;
            }
            if ((size_t)ps->seq >= ps->sent_cap) {
                size_t cap = ps->sent_cap ? ps->sent_cap * 2 : 4096;
                int64_t *grown = realloc(ps->sent_ns, cap * sizeof *grown);
                WEIR_ASSERT(grown != NULL);
                ps->sent_ns = grown;
                ps->sent_cap = cap;
            }
            ps->sent_ns[ps->seq] = now;
            if (sp->txn.id != NULL) {
                run_txn_sent(&ps->txn, (weir_msg_id){ps->index, ps->seq});
            }
            ps->seq++;
            RS->out->sent++;
        }
    }
    weir_timer_start(env, TICK_NS, producer_tick, ps);
}

static void *client_start(weir_env *env, void *arg)
{
    int host = (int)(intptr_t)arg;
    env->log_level = RUN_LOG_LEVEL;
    for (size_t i = 0; i < RS->sc->producer_count; i++) {
        producer_state *ps = &RS->producers[i];
        if (ps->spec->host_index != host) {
            continue;
        }
        if (ps->spec->txn.id != NULL) {
            run_txn_lost(&ps->txn); /* what the crash interrupted */
            ps->txn.owner = ps->index;
            ps->p = NULL; /* the first tick starts it */
            weir_timer_start(env, TICK_NS, producer_tick, ps);
            continue;
        }
        weir_producer_config pc;
        weir_producer_config_default(&pc);
        pc.bootstrap = RS->bootstrap;
        pc.acks = (int16_t)ps->spec->acks;
        pc.linger_ms = (int32_t)(ps->spec->linger_ns / MS);
        pc.batch_size = (int32_t)ps->spec->batch_bytes;
        pc.retries = ps->spec->retries;
        pc.retry_backoff_ms = (int32_t)(ps->spec->retry_backoff_ns / MS);
        pc.request_timeout_ms = (int32_t)(ps->spec->request_timeout_ns / MS);
        pc.delivery_timeout_ms = (int32_t)(ps->spec->delivery_timeout_ns / MS);
        pc.in_flight_max = ps->spec->max_in_flight;
        pc.enable_idempotence = ps->spec->idempotent;
        pc.on_attempt_error = run_on_attempt_error;
        const char *why = NULL;
        ps->p = weir_producer_new(env, &pc, on_delivery, ps, &why);
        if (ps->p == NULL) {
            run_timeline("producer %s: %s", ps->spec->name, why ? why : "cannot start");
        }
        weir_timer_start(env, TICK_NS, producer_tick, ps);
    }
    for (size_t i = 0; i < RS->sc->consumer_count; i++) {
        consumer_state *cs = &RS->consumers[i];
        const weir_scn_consumer *sp = cs->spec;
        if (sp->host_index != host) {
            continue;
        }
        if (sp->group != NULL) {
            run_group_member_start(env, cs);
            continue;
        }
        cs->incarnation++;
        weir_consumer_config cc;
        weir_consumer_config_default(&cc);
        cc.bootstrap = RS->bootstrap;
        cc.read_committed = sp->read_committed;
        weir_consumer_callbacks cb = {.on_record = on_record, .ctx = cs};
        const char *why = NULL;
        cs->c = weir_consumer_new(env, &cc, &cb, &why);
        if (cs->c == NULL) {
            continue;
        }
        const weir_scn_topic *t = &RS->sc->topics[sp->topic_index];
        int32_t n = sp->partitions ? (int32_t)sp->partition_count : t->partitions;
        weir_topic_partition *tps = calloc((size_t)n, sizeof *tps);
        for (int32_t k = 0; k < n; k++) {
            tps[k].topic = t->name;
            tps[k].partition = sp->partitions ? sp->partitions[k] : k;
        }
        if (weir_consumer_assign(cs->c, tps, n) == 0) {
            for (int32_t k = 0; k < n; k++) {
                weir_ignore(weir_consumer_seek(cs->c, t->name, tps[k].partition,
                                               sp->from_earliest ? WEIR_LOG_TS_EARLIEST
                                                                 : WEIR_LOG_TS_LATEST));
            }
        }
        free(tps);
    }
    return arg;
}

static void client_destroy(void *state)
{
    int host = (int)(intptr_t)state;
    for (size_t i = 0; i < RS->sc->producer_count; i++) {
        if (RS->producers[i].spec->host_index == host && RS->producers[i].p != NULL) {
            weir_producer_abandon(RS->producers[i].p);
            RS->producers[i].p = NULL;
        }
    }
    for (size_t i = 0; i < RS->sc->consumer_count; i++) {
        if (RS->consumers[i].spec->host_index == host) {
            run_group_member_destroy(&RS->consumers[i]);
        }
    }
}

const weir_node_type run_client_type = {"clients", client_start, client_destroy};
