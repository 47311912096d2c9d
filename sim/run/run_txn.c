/* Transactions of the scenario's clients: a transactional producer's, or a
 * pipeline's (consume, transform, produce, offsets in the same transaction).
 *
 * A transaction's records are held back from the history until its outcome
 * is known: committed ones become acknowledgements that must survive and be
 * visible to read_committed readers, aborted ones must never be read at
 * read_committed (Jepsen's G1a), and those of a transaction whose client
 * crashed before the answer stay "unknown": the final log decides, and the
 * checker holds them to all-or-nothing (no torn transaction).
 */
#include "run_internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "proto/kafka.h"

typedef struct txn_end_ctx {
    run_txn *t;
    weir_producer *p;
    void (*done)(void *ctx, bool committed);
    void *ctx;
} txn_end_ctx;

static void on_init(void *ctx, int16_t error)
{
    run_txn *t = ctx;
    if (error != WEIR_KERR_NONE) {
        run_timeline("transactional producer: InitProducerId failed: %s", weir_kerr_name(error));
        t->phase = RUN_TXN_NONE; /* the owner starts a new producer later */
        return;
    }
    t->phase = RUN_TXN_READY;
}

weir_producer *run_txn_producer_new(weir_env *env, run_txn *t, const weir_scn_txn *spec,
                                    const weir_scn_producer *ps, const char *client_id,
                                    weir_producer_delivery_cb cb, void *ctx)
{
    weir_producer_config pc;
    weir_producer_config_default(&pc);
    pc.bootstrap = RS->bootstrap;
    pc.client_id = client_id;
    pc.acks = -1;
    pc.linger_ms = 5;
    pc.enable_idempotence = true;
    pc.transactional_id = spec->id;
    pc.transaction_timeout_ms = (int32_t)(spec->timeout_ns / MS);
    pc.transaction_epoch_bump = spec->epoch_bump;
    if (ps != NULL) { /* a producer's own settings; a pipeline keeps Kafka's */
        pc.linger_ms = (int32_t)(ps->linger_ns / MS);
        pc.batch_size = (int32_t)ps->batch_bytes;
        pc.retry_backoff_ms = (int32_t)(ps->retry_backoff_ns / MS);
        pc.request_timeout_ms = (int32_t)(ps->request_timeout_ns / MS);
        pc.delivery_timeout_ms = (int32_t)(ps->delivery_timeout_ns / MS);
        pc.in_flight_max = ps->max_in_flight;
        pc.on_attempt_error = run_on_attempt_error;
    }
    const char *why = NULL;
    weir_producer *p = weir_producer_new(env, &pc, cb, ctx, &why);
    if (p == NULL) {
        run_timeline("transactional producer %s: %s", spec->id, why ? why : "cannot start");
        return NULL;
    }
    t->phase = RUN_TXN_INIT;
    if (weir_producer_init_transactions(p, on_init, t) != 0) {
        t->phase = RUN_TXN_NONE;
    }
    return p;
}

void run_txn_sent(run_txn *t, weir_msg_id id)
{
    WEIR_ASSERT(t->phase == RUN_TXN_OPEN);
    if (t->n_msgs == t->cap_msgs) {
        size_t cap = t->cap_msgs ? t->cap_msgs * 2 : 256;
        run_txn_msg *grown = realloc(t->msgs, cap * sizeof *grown);
        WEIR_ASSERT(grown != NULL);
        t->msgs = grown;
        t->cap_msgs = cap;
    }
    t->msgs[t->n_msgs++] = (run_txn_msg){id, -1, -1};
    weir_history_send_in_txn(&RS->hist, id, t->history_id);
}

void run_txn_delivered(run_txn *t, weir_msg_id id, int32_t part_key, int64_t offset, int16_t error)
{
    if (error != WEIR_KERR_NONE) {
        t->failed = true; /* the transaction can only abort now */
        return;
    }
    for (size_t i = t->n_msgs; i-- > 0;) {
        if (t->msgs[i].id.producer == id.producer && t->msgs[i].id.seq == id.seq) {
            t->msgs[i].partition = part_key;
            t->msgs[i].offset = offset;
            return;
        }
    }
}

bool run_txn_begin(run_txn *t, weir_producer *p)
{
    if (t->phase == RUN_TXN_OPEN) {
        return true;
    }
    if (t->phase != RUN_TXN_READY || weir_producer_begin_transaction(p) != 0) {
        return false;
    }
    t->phase = RUN_TXN_OPEN;
    t->begun++;
    t->aborting = false;
    t->failed = false;
    t->n_msgs = 0;
    /* unique over the run: the client's history producer id, then the count */
    t->history_id = (int64_t)t->owner << 32 | (t->begun & 0xffffffff);
    return true;
}

/* The outcome reaches the history: acknowledgements for committed records,
 * failed sends for aborted ones, nothing certain for unknown ones. */
static void settle(run_txn *t, weir_txn_outcome outcome)
{
    weir_history_txn(&RS->hist, t->history_id, outcome);
    for (size_t i = 0; i < t->n_msgs; i++) {
        const run_txn_msg *m = &t->msgs[i];
        if (outcome == WEIR_TXN_ABORTED) {
            weir_history_send_failed(&RS->hist, m->id);
        } else if (m->partition >= 0) {
            weir_history_ack(&RS->hist, m->id, m->partition, m->offset, outcome == WEIR_TXN_COMMITTED);
        }
    }
    t->committed += outcome == WEIR_TXN_COMMITTED;
    t->aborted += outcome == WEIR_TXN_ABORTED;
    t->unknown += outcome == WEIR_TXN_UNKNOWN;
    t->n_msgs = 0;
}

static void on_abort_done(void *ctx, int16_t error)
{
    txn_end_ctx *e = ctx;
    run_txn *t = e->t;
    t->end_ctx = NULL;
    if (error == WEIR_KERR_NONE) {
        settle(t, WEIR_TXN_ABORTED);
        t->phase = RUN_TXN_READY;
    } else {
        run_timeline("transaction abort failed: %s", weir_kerr_name(error));
        settle(t, WEIR_TXN_UNKNOWN);
        t->phase = RUN_TXN_NONE; /* fenced or broken: the owner starts a new producer */
    }
    e->done(e->ctx, false);
    free(e);
}

static void on_commit_done(void *ctx, int16_t error)
{
    txn_end_ctx *e = ctx;
    run_txn *t = e->t;
    t->end_ctx = NULL;
    if (error == WEIR_KERR_NONE) {
        settle(t, WEIR_TXN_COMMITTED);
        t->phase = RUN_TXN_READY;
        e->done(e->ctx, true);
        free(e);
        return;
    }
    run_timeline("transaction commit failed: %s; aborting it", weir_kerr_name(error));
    if (weir_producer_abort_transaction(e->p, on_abort_done, e) == 0) {
        t->end_ctx = e;
    } else {
        settle(t, WEIR_TXN_UNKNOWN);
        t->phase = RUN_TXN_NONE;
        e->done(e->ctx, false);
        free(e);
    }
}

void run_txn_end(run_txn *t, weir_producer *p, const weir_scn_txn *spec,
                 void (*done)(void *ctx, bool committed), void *ctx)
{
    WEIR_ASSERT(t->phase == RUN_TXN_OPEN);
    txn_end_ctx *e = malloc(sizeof *e);
    WEIR_ASSERT(e != NULL);
    *e = (txn_end_ctx){t, p, done, ctx};
    t->end_ctx = e;
    t->phase = RUN_TXN_ENDING;
    bool abort = t->aborting || t->failed || (spec->abort_every > 0 && t->begun % spec->abort_every == 0);
    int err = abort ? weir_producer_abort_transaction(p, on_abort_done, e)
                    : weir_producer_commit_transaction(p, on_commit_done, e);
    if (err != 0) {
        settle(t, WEIR_TXN_UNKNOWN);
        t->phase = RUN_TXN_NONE;
        t->end_ctx = NULL;
        free(e);
        done(ctx, false);
    }
}

void run_txn_lost(run_txn *t)
{
    free(t->end_ctx); /* its callback died with the producer */
    t->end_ctx = NULL;
    if (t->phase == RUN_TXN_OPEN || t->phase == RUN_TXN_ENDING) {
        settle(t, WEIR_TXN_UNKNOWN);
    }
    t->phase = RUN_TXN_NONE;
}

void run_txn_free(run_txn *t)
{
    free(t->msgs);
    t->msgs = NULL;
    t->n_msgs = t->cap_msgs = 0;
}
