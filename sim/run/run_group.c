/* Consumer-group members and pipelines in the simulator.
 *
 * A member reads what the group assigns it and tells the history every
 * record with its consumer and assignment epoch (so the checker can find
 * poll-skips and nonmonotonic polls within one assignment) and every
 * acknowledged commit (so it can check that a new owner resumes exactly at
 * the last commit).
 *
 * A pipeline is a member with output: and transactional_id:. Each record it
 * reads becomes one record on the output topic whose id is the input's id
 * with the producer number moved up by RUN_PIPELINE_ID_BASE, produced in a
 * transaction that also commits the member's positions (consume, transform,
 * produce, exactly once). After an abort the member goes back to the
 * positions of its last commit and reads those records again.
 */
#include "run_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "proto/kafka.h"

#define PIPELINE_TICK_NS (10 * MS)
#define PIPELINE_LINGER_NS (100 * MS) /* a transaction stays open at most this long */

typedef struct commit_ctx {
    consumer_state *cs;
    run_positions pos;
    size_t reads_before; /* the history's reads when the commit was sent */
} commit_ctx;

/* The history's number for the member's group: the index of the first
 * consumer of the scenario in that group. */
static int32_t group_key(const consumer_state *cs)
{
    for (size_t i = 0; i < RS->sc->consumer_count; i++) {
        const char *g = RS->sc->consumers[i].group;
        if (g != NULL && strcmp(g, cs->spec->group) == 0) {
            return (int32_t)i;
        }
    }
    return cs->index;
}

/* The history's assignment epoch: a restarted member's assignments are new
 * ones, whatever its consumer's counter says. */
static int32_t history_epoch(const consumer_state *cs)
{
    return cs->incarnation * 100000 + (int32_t)weir_consumer_assignment_epoch(cs->c);
}

static bool is_pipeline(const consumer_state *cs)
{
    return cs->spec->output_topic_index >= 0;
}

/* The positions of every assigned partition of the input topic. */
static int32_t positions(consumer_state *cs, run_positions *out)
{
    const weir_topic_partition *tps;
    int32_t n;
    weir_consumer_assignment(cs->c, &tps, &n);
    out->n = 0;
    for (int32_t i = 0; i < n && out->n < 64; i++) {
        int64_t off;
        if (weir_consumer_position(cs->c, tps[i].topic, tps[i].partition, &off) == 0) {
            out->at[out->n].partition = tps[i].partition;
            out->at[out->n].offset = off;
            out->n++;
        }
    }
    return out->n;
}

static void rewind_set(consumer_state *cs, int32_t partition, int64_t offset, bool only_if_new)
{
    for (int i = 0; i < cs->n_rewind; i++) {
        if (cs->rewind[i].partition == partition) {
            if (!only_if_new) {
                cs->rewind[i].offset = offset;
            }
            return;
        }
    }
    if (cs->n_rewind < 64) {
        cs->rewind[cs->n_rewind++] = (struct run_rewind){partition, offset};
    }
}

/* ---- commits of plain members ---- */

static void on_commit(void *ctx, int16_t error)
{
    commit_ctx *cc = ctx;
    consumer_state *cs = cc->cs;
    if (error != WEIR_KERR_NONE) {
        run_record("commit", "%s\t%s\t-\t-\t%s", cs->spec->name, cs->spec->group, weir_kerr_name(error));
    }
    if (error == WEIR_KERR_NONE) {
        cs->commits_ok++;
        for (int32_t i = 0; i < cc->pos.n; i++) {
            run_record("commit", "%s\t%s\t%d\t%lld\tNONE", cs->spec->name, cs->spec->group,
                       cc->pos.at[i].partition, (long long)cc->pos.at[i].offset);
            weir_history_commit_sent(&RS->hist, group_key(cs),
                                     PART_KEY(cs->spec->topic_index, cc->pos.at[i].partition),
                                     cc->pos.at[i].offset, cc->reads_before);
        }
    }
    free(cc);
}

static void commit_tick(weir_env *env, void *arg)
{
    consumer_state *cs = arg;
    cs->commit_timer = NULL;
    commit_ctx *cc = calloc(1, sizeof *cc);
    WEIR_ASSERT(cc != NULL);
    cc->cs = cs;
    cc->reads_before = RS->hist.n_reads;
    if (positions(cs, &cc->pos) == 0 || weir_consumer_commit(cs->c, on_commit, cc) != 0) {
        free(cc);
    }
    cs->commit_timer = weir_timer_start(env, cs->spec->commit_every_ns, commit_tick, cs);
}

/* ---- reading ---- */

/* The output record of input id: a fresh id per attempt (an aborted attempt
 * and its retry are two sends, as Jepsen counts them), remembered with the
 * input it came from for the exactly-once check. */
static void produce_output(consumer_state *cs, int32_t partition, int64_t offset, weir_msg_id in)
{
    (void)partition;
    (void)offset;
    if (cs->n_out_src == cs->cap_out_src) {
        size_t cap = cs->cap_out_src ? cs->cap_out_src * 2 : 1024;
        weir_msg_id *grown = realloc(cs->out_src, cap * sizeof *grown);
        WEIR_ASSERT(grown != NULL);
        cs->out_src = grown;
        cs->cap_out_src = cap;
    }
    weir_msg_id out = {RUN_PIPELINE_ID_BASE + cs->index, (int64_t)cs->n_out_src};
    char val[WEIR_MSG_ID_MAX + 4];
    size_t n = weir_msg_id_write(val, out);
    memcpy(val + n, "OUT", 3); /* the transform */
    const weir_scn_topic *t = &RS->sc->topics[cs->spec->output_topic_index];
    /* opaque: the record's place in the transaction, stable until it ends */
    if (weir_producer_send(cs->out, t->name, -1, NULL, 0, val, (int32_t)n + 3, -1,
                           (void *)(intptr_t)cs->txn.n_msgs) == 0) {
        cs->out_src[cs->n_out_src++] = in;
        run_txn_sent(&cs->txn, out);
        RS->out->sent++;
    }
}

static void hold(consumer_state *cs, int32_t partition, int64_t offset, weir_msg_id id)
{
    if (cs->n_held == cs->cap_held) {
        size_t cap = cs->cap_held ? cs->cap_held * 2 : 256;
        struct run_held *grown = realloc(cs->held, cap * sizeof *grown);
        WEIR_ASSERT(grown != NULL);
        cs->held = grown;
        cs->cap_held = cap;
    }
    cs->held[cs->n_held++] = (struct run_held){partition, offset, id};
}

static void on_member_record(void *ctx, const weir_consumer_record *rec)
{
    consumer_state *cs = ctx;
    weir_msg_id id;
    RS->out->reads++;
    int ti = run_topic_index(rec->topic);
    if (ti < 0 || !weir_msg_id_read(rec->value, (size_t)rec->value_len, &id)) {
        return;
    }
    weir_history_poll(&RS->hist, cs->index, history_epoch(cs), id,
                      PART_KEY(ti, rec->partition), rec->offset, cs->spec->read_committed);
    if (!is_pipeline(cs)) {
        return;
    }
    rewind_set(cs, rec->partition, rec->offset, true);
    if (cs->txn.phase == RUN_TXN_OPEN && !cs->sealing) {
        produce_output(cs, rec->partition, rec->offset, id);
    } else {
        hold(cs, rec->partition, rec->offset, id);
    }
}

static void list_partitions(char *buf, size_t size, const weir_topic_partition *tps, int32_t count)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int32_t i = 0; i < count && at + 16 < size; i++) {
        at += (size_t)snprintf(buf + at, size - at, "%s%d", i ? "," : "", tps[i].partition);
    }
}

static void on_assign(void *ctx, const weir_topic_partition *tps, int32_t count)
{
    consumer_state *cs = ctx;
    char list[256];
    list_partitions(list, sizeof list, tps, count);
    const char *group, *member;
    int32_t generation;
    weir_consumer_group_metadata(cs->c, &group, &generation, &member);
    run_timeline("%s (group %s, generation %d) assigned %s/[%s]", cs->spec->name, cs->spec->group,
                 generation, RS->sc->topics[cs->spec->topic_index].name, list);
    run_record("assign", "%s\t%s\t%d\t%s", cs->spec->name, cs->spec->group, generation, list);
}

static void on_revoke(void *ctx, const weir_topic_partition *tps, int32_t count)
{
    consumer_state *cs = ctx;
    char list[256];
    list_partitions(list, sizeof list, tps, count);
    run_record("revoke", "%s\t%s\t%s", cs->spec->name, cs->spec->group, list);
    /* a transaction must not commit offsets of partitions now someone else's */
    cs->txn.aborting = true;
    cs->n_held = 0;
    cs->n_rewind = 0;
}

/* ---- pipeline transactions ---- */

static void pipeline_ended(void *ctx, bool committed)
{
    consumer_state *cs = ctx;
    cs->sealing = false;
    if (committed) {
        for (int32_t i = 0; i < cs->sealed.n; i++) {
            rewind_set(cs, cs->sealed.at[i].partition, cs->sealed.at[i].offset, false);
            weir_history_commit_sent(&RS->hist, group_key(cs),
                                     PART_KEY(cs->spec->topic_index, cs->sealed.at[i].partition),
                                     cs->sealed.at[i].offset, cs->sealed_reads_before);
        }
        return;
    }
    /* read again from the last committed positions */
    cs->n_held = 0;
    if (cs->c == NULL) {
        return;
    }
    const char *topic = RS->sc->topics[cs->spec->topic_index].name;
    for (int i = 0; i < cs->n_rewind; i++) {
        if (weir_consumer_seek(cs->c, topic, cs->rewind[i].partition, cs->rewind[i].offset) == 0) {
            weir_history_seek(&RS->hist, cs->index, history_epoch(cs),
                              PART_KEY(cs->spec->topic_index, cs->rewind[i].partition),
                              cs->rewind[i].offset);
        }
    }
}

static void on_offsets_sent(void *ctx, int16_t error)
{
    consumer_state *cs = ctx;
    if (error != WEIR_KERR_NONE) {
        run_timeline("pipeline %s: offsets not added to the transaction: %s", cs->spec->name,
                     weir_kerr_name(error));
        cs->txn.aborting = true;
    }
    if (cs->txn.phase == RUN_TXN_OPEN) {
        run_txn_end(&cs->txn, cs->out, &cs->spec->txn, pipeline_ended, cs);
    }
}

static void out_delivery(void *ctx, const char *topic, int32_t partition, int64_t offset,
                         int16_t error, void *opaque)
{
    consumer_state *cs = ctx;
    size_t at = (size_t)(intptr_t)opaque;
    if (at >= cs->txn.n_msgs) {
        return;
    }
    weir_msg_id id = cs->txn.msgs[at].id;
    if (error == WEIR_KERR_NONE) {
        RS->out->acked++;
        RS->last_ack_ns = run_now_ns();
    } else {
        RS->out->produce_errors++;
    }
    run_txn_delivered(&cs->txn, id, PART_KEY(run_topic_index(topic), partition), offset, error);
}

/* Seals the open transaction (its offsets, then commit) when it is full or
 * has been open long enough; begins the next one and produces what was held. */
static void pipeline_tick(weir_env *env, void *arg)
{
    consumer_state *cs = arg;
    run_txn *t = &cs->txn;
    int64_t now = run_now_ns();
    if (t->phase == RUN_TXN_NONE) {
        if (cs->out != NULL) {
            weir_producer_free(cs->out);
        }
        cs->out = run_txn_producer_new(env, t, &cs->spec->txn, NULL, cs->spec->name, out_delivery, cs);
    } else if (t->phase == RUN_TXN_READY && (cs->n_held > 0 || t->aborting)) {
        if (run_txn_begin(t, cs->out)) {
            cs->opened_ns = now;
            for (size_t i = 0; i < cs->n_held; i++) {
                produce_output(cs, cs->held[i].partition, cs->held[i].offset, cs->held[i].id);
            }
            cs->n_held = 0;
        }
    } else if (t->phase == RUN_TXN_OPEN && !cs->sealing &&
               ((int32_t)t->n_msgs >= cs->spec->txn.messages || t->aborting ||
                (t->n_msgs > 0 && now - cs->opened_ns >= PIPELINE_LINGER_NS))) {
        cs->sealing = true;
        cs->sealed_reads_before = RS->hist.n_reads;
        const char *group;
        int32_t generation;
        const char *member;
        weir_consumer_group_metadata(cs->c, &group, &generation, &member);
        positions(cs, &cs->sealed);
        weir_partition_offset po[64];
        for (int32_t i = 0; i < cs->sealed.n; i++) {
            po[i] = (weir_partition_offset){RS->sc->topics[cs->spec->topic_index].name,
                                            cs->sealed.at[i].partition, cs->sealed.at[i].offset};
        }
        weir_group_metadata gm = {group, generation, member};
        if (t->aborting || cs->sealed.n == 0 ||
            weir_producer_send_offsets_to_transaction(cs->out, po, cs->sealed.n, &gm,
                                                      on_offsets_sent, cs) != 0) {
            t->aborting = true;
            run_txn_end(t, cs->out, &cs->spec->txn, pipeline_ended, cs);
        }
    }
    weir_timer_start(env, PIPELINE_TICK_NS, pipeline_tick, cs);
}

/* ---- start and stop ---- */

void run_group_member_start(weir_env *env, consumer_state *cs)
{
    const weir_scn_consumer *sp = cs->spec;
    weir_consumer_config cc;
    weir_consumer_config_default(&cc);
    cc.bootstrap = RS->bootstrap;
    cc.client_id = sp->name;
    cc.read_committed = sp->read_committed;
    cc.group_id = sp->group;
    cc.session_timeout_ms = (int32_t)(sp->session_timeout_ns / MS);
    cc.heartbeat_interval_ms = (int32_t)(sp->heartbeat_ns / MS);
    cc.rebalance_timeout_ms = cc.session_timeout_ms;
    cc.enable_auto_commit = sp->commit_every_ns == 0 && !is_pipeline(cs);
    cc.auto_offset_reset = sp->from_earliest ? WEIR_OFFSET_RESET_EARLIEST : WEIR_OFFSET_RESET_LATEST;
    weir_consumer_callbacks cb = {
        .on_record = on_member_record, .on_revoke = on_revoke, .on_assign = on_assign, .ctx = cs};
    const char *why = NULL;
    cs->c = weir_consumer_new(env, &cc, &cb, &why);
    if (cs->c == NULL) {
        run_timeline("consumer %s: %s", sp->name, why ? why : "cannot start");
        return;
    }
    weir_history_consumer_group(&RS->hist, cs->index, group_key(cs));
    const char *topic = RS->sc->topics[sp->topic_index].name;
    if (weir_consumer_subscribe(cs->c, &topic, 1) != 0) {
        run_timeline("consumer %s: cannot subscribe", sp->name);
    }
    cs->n_held = 0;
    cs->n_rewind = 0;
    cs->sealing = false;
    cs->incarnation++;
    if (is_pipeline(cs)) {
        run_txn_lost(&cs->txn); /* what the crash interrupted */
        cs->txn.owner = RUN_PIPELINE_ID_BASE + cs->index;
        cs->out = NULL;
        weir_timer_start(env, PIPELINE_TICK_NS, pipeline_tick, cs);
    } else if (sp->commit_every_ns > 0) {
        cs->commit_timer = weir_timer_start(env, sp->commit_every_ns, commit_tick, cs);
    }
}

void run_group_member_destroy(consumer_state *cs)
{
    if (cs->c != NULL) {
        weir_consumer_abandon(cs->c);
        cs->c = NULL;
    }
    if (cs->out != NULL) {
        weir_producer_abandon(cs->out);
        cs->out = NULL;
    }
    cs->commit_timer = NULL; /* died with the node */
}
