/* Idempotence and transactions for the producer (see producer.h for the
 * contract, producer_internal.h for the shared state): producer ids
 * (InitProducerId v1), what a failed batch does to its partition's
 * sequences, and the transaction state machine that talks to the
 * transaction coordinator (AddPartitionsToTxn v1, AddOffsetsToTxn v1, EndTxn
 * v1 or v5) and to group coordinators (TxnOffsetCommit v2).
 *
 * States of a transactional producer:
 *
 *   UNINIT --init--> INITIALIZING --InitProducerId--> READY --begin--> IN_TXN
 *   IN_TXN --commit--> COMMITTING --EndTxn(commit)--> READY
 *   IN_TXN or COMMITTING --a record or step failed--> ABORTABLE
 *   IN_TXN or ABORTABLE --abort--> ABORTING --EndTxn(abort) [InitProducerId]--> READY
 *   any --fenced, or a final coordinator error--> FATAL
 *
 * Invariants:
 * - busy: exactly one coordinator request or lookup of ours is out, and its
 *   callback clears it; nothing else goes to a coordinator meanwhile;
 * - in IN_TXN and COMMITTING every partition with queued records is PENDING,
 *   ADDING or ADDED, and only ADDED partitions seal batches;
 * - a transaction ends (EndTxn) only when every record of it was reported;
 * - every step callback and every offsets callback runs exactly once, from
 *   an env event (a coordinator's answer or the producer's loop), never from
 *   inside a weir_producer_* call.
 */
#include <stdlib.h>
#include <string.h>

#include "client/producer_internal.h"
#include "core/assert.h"
#include "proto/messages.h"

#define MS PR_MS
#define TX_INIT_PRODUCER_ID_VERSION 1
#define TX_ADD_PARTITIONS_VERSION 1
#define TX_ADD_OFFSETS_VERSION 1
#define TX_TXN_OFFSET_COMMIT_VERSION 2
#define TX_END_TXN_VERSION 1
#define TX_END_TXN_BUMP_VERSION 5 /* KIP-890: the coordinator bumps the epoch */
#define TX_API_VERSIONS_VERSION 2
#define TX_KERR_OPERATION_NOT_ATTEMPTED 55 /* AddPartitionsToTxn: another partition failed */
#define TX_ADD_PARTITIONS_BACKOFF_MS 20    /* Kafka's ADD_PARTITIONS_RETRY_BACKOFF_MS */

typedef enum tx_state {
    TX_UNINIT = 0,
    TX_INITIALIZING,
    TX_READY,
    TX_IN_TXN,
    TX_COMMITTING,
    TX_ABORTING,
    TX_ABORTABLE,
    TX_FATAL,
} tx_state;

/* The user's pending step (at most one). */
typedef enum tx_step {
    TX_STEP_NONE = 0,
    TX_STEP_INIT,
    TX_STEP_COMMIT,
    TX_STEP_ABORT,
} tx_step;

/* One weir_producer_send_offsets_to_transaction until its callback. */
typedef struct tx_offsets_op {
    struct tx_offsets_op *next;
    char *group_id;
    int32_t count;
    weir_partition_offset *offsets; /* topics copied */
    weir_producer_txn_cb cb;
    void *ctx;
    bool added;          /* AddOffsetsToTxn answered */
    int32_t group_coord; /* the group coordinator's node, -1 unknown */
} tx_offsets_op;

struct pr_idem {
    char *transactional_id; /* NULL: idempotence only */
    bool busy;
    int64_t retry_at_ns; /* no coordinator request before this */
    bool pid_reset;      /* idempotence only: a sequence is lost, get a new id */
    int16_t drop_error;  /* queued records are to fail with this (from the loop) */
    /* transactions */
    tx_state state;
    int32_t coord; /* the transaction coordinator's node, -1 unknown */
    bool versions_asked;
    int16_t end_txn_version;
    bool bump_needed;  /* sequences are unknown: a new epoch after the abort */
    bool started;      /* the coordinator knows of this transaction */
    bool ended;        /* EndTxn answered; an epoch bump may follow */
    int16_t txn_error; /* why the transaction must be aborted */
    tx_step step;
    weir_producer_txn_cb step_cb;
    void *step_ctx;
    int64_t step_deadline_ns; /* init: give up on a retriable failure after this */
    tx_offsets_op *ops;       /* in call order; only the head is ever in flight */
    tx_offsets_op *ops_tail;
};

static const char *tx_state_name(tx_state s)
{
    static const char *names[] = {"UNINIT",     "INITIALIZING", "READY",     "IN_TXN",
                                  "COMMITTING", "ABORTING",     "ABORTABLE", "FATAL"};
    return names[s];
}

/* ---- lifecycle ---- */

int pr_idem_new(weir_producer *p, const char **why)
{
    pr_idem *id = calloc(1, sizeof *id);
    if (id == NULL) {
        *why = "out of memory";
        return WEIR_E_NOMEM;
    }
    if (p->cfg.transactional_id != NULL) {
        id->transactional_id = strdup(p->cfg.transactional_id);
        if (id->transactional_id == NULL) {
            free(id);
            *why = "out of memory";
            return WEIR_E_NOMEM;
        }
    }
    id->coord = -1;
    id->end_txn_version = TX_END_TXN_VERSION;
    p->idem = id;
    return 0;
}

static void tx_op_free(tx_offsets_op *op)
{
    for (int32_t i = 0; i < op->count; i++) {
        free((char *)op->offsets[i].topic);
    }
    free(op->offsets);
    free(op->group_id);
    free(op);
}

void pr_idem_free(weir_producer *p)
{
    pr_idem *id = p->idem;
    if (id == NULL) {
        return;
    }
    while (id->ops != NULL) {
        tx_offsets_op *op = id->ops;
        id->ops = op->next;
        tx_op_free(op);
    }
    free(id->transactional_id);
    free(id);
    p->idem = NULL;
}

const char *pr_idem_transactional_id(const weir_producer *p)
{
    return p->idem->transactional_id;
}

/* ---- callbacks to the user ---- */

static void tx_call(weir_producer *p, weir_producer_txn_cb cb, void *ctx, int16_t error)
{
    WEIR_ASSERT(!p->reporting);
    p->reporting = true;
    cb(ctx, error);
    p->reporting = false;
}

/* Ends the user's pending step with error. The callback may start another. */
static void tx_step_done(weir_producer *p, int16_t error)
{
    pr_idem *id = p->idem;
    WEIR_ASSERT(id->step != TX_STEP_NONE && id->step_cb != NULL);
    weir_producer_txn_cb cb = id->step_cb;
    void *ctx = id->step_ctx;
    id->step = TX_STEP_NONE;
    id->step_cb = NULL;
    id->step_ctx = NULL;
    tx_call(p, cb, ctx, error);
}

/* Fails the queued offsets operations with error, but not one in flight. */
static void tx_ops_fail(weir_producer *p, int16_t error)
{
    pr_idem *id = p->idem;
    tx_offsets_op **at = id->busy && id->ops != NULL ? &id->ops->next : &id->ops;
    tx_offsets_op *list = *at;
    *at = NULL;
    id->ops_tail = id->ops;
    while (id->ops_tail != NULL && id->ops_tail->next != NULL) {
        id->ops_tail = id->ops_tail->next;
    }
    while (list != NULL) {
        tx_offsets_op *op = list;
        list = op->next;
        weir_producer_txn_cb cb = op->cb;
        void *ctx = op->ctx;
        tx_op_free(op);
        tx_call(p, cb, ctx, error);
    }
}

/* Pops the head operation (just answered) and reports error to its owner. */
static void tx_op_done(weir_producer *p, int16_t error)
{
    pr_idem *id = p->idem;
    tx_offsets_op *op = id->ops;
    WEIR_ASSERT(op != NULL);
    id->ops = op->next;
    if (id->ops == NULL) {
        id->ops_tail = NULL;
    }
    weir_producer_txn_cb cb = op->cb;
    void *ctx = op->ctx;
    tx_op_free(op);
    tx_call(p, cb, ctx, error);
}

/* ---- state changes ---- */

void pr_idem_fatal(weir_producer *p, int16_t error)
{
    pr_idem *id = p->idem;
    if (p->fatal_error != WEIR_KERR_NONE) {
        return;
    }
    PR_LOG(p, WEIR_LOG_ERROR, "producer unusable (%s): every pending record fails",
           weir_kerr_name(error));
    p->fatal_error = error;
    if (id->transactional_id != NULL) {
        id->state = TX_FATAL;
    }
    id->drop_error = error;
    pr_arm(p, 0); /* the loop fails what is queued, and ends the pending steps */
}

/* A record or a step of the open transaction failed: only abort is left. */
static void tx_abortable(weir_producer *p, int16_t error)
{
    pr_idem *id = p->idem;
    if (id->state != TX_IN_TXN && id->state != TX_COMMITTING) {
        return;
    }
    PR_LOG(p, WEIR_LOG_WARN, "transaction must be aborted: %s", weir_kerr_name(error));
    id->state = TX_ABORTABLE;
    id->txn_error = error;
    id->drop_error = error; /* not here: a caller may be walking a queue */
    pr_arm(p, 0);
}

/* The transaction ended (committed, or aborted and any epoch bump done). */
static void tx_complete(weir_producer *p)
{
    pr_idem *id = p->idem;
    id->state = TX_READY;
    id->started = false;
    id->ended = false;
    id->bump_needed = false;
    id->txn_error = WEIR_KERR_NONE;
    for (size_t i = 0; i < p->topic_count; i++) {
        for (int32_t j = 0; j < p->topics[i]->partition_count; j++) {
            p->topics[i]->parts[j]->txn = PR_TXN_PART_NONE;
        }
    }
    pr_arm(p, 0);
    tx_step_done(p, WEIR_KERR_NONE);
}

/* Another try after backoff_ms. An init past its deadline gives up. */
static void tx_retry_after(weir_producer *p, const char *what, const char *why, int32_t backoff_ms)
{
    pr_idem *id = p->idem;
    int64_t now = weir_now_ns(p->env);
    id->busy = false;
    if (id->step == TX_STEP_INIT && id->state == TX_INITIALIZING && now >= id->step_deadline_ns) {
        PR_LOG(p, WEIR_LOG_WARN, "init_transactions gave up: %s: %s", what, why);
        id->state = TX_UNINIT;
        tx_step_done(p, WEIR_KERR_REQUEST_TIMED_OUT);
        return;
    }
    PR_LOG(p, WEIR_LOG_INFO, "%s: %s; retrying in %d ms", what, why, backoff_ms);
    id->retry_at_ns = now + (int64_t)backoff_ms * MS;
    pr_arm(p, id->retry_at_ns);
}

/* Another try after retry_backoff_ms. */
static void tx_retry(weir_producer *p, const char *what, const char *why)
{
    tx_retry_after(p, what, why, p->cfg.retry_backoff_ms);
}

/* What to do about a coordinator's error. */
typedef enum tx_verdict {
    TX_V_OK = 0,
    TX_V_RETRY,  /* same coordinator, after the backoff */
    TX_V_REFIND, /* find the coordinator again, then retry */
    TX_V_FENCED, /* fatal */
    TX_V_OTHER,  /* per request */
} tx_verdict;

static tx_verdict tx_classify(int16_t error)
{
    switch (error) {
    case WEIR_KERR_NONE:
        return TX_V_OK;
    case WEIR_KERR_NOT_COORDINATOR:
    case WEIR_KERR_COORDINATOR_NOT_AVAILABLE:
        return TX_V_REFIND;
    case WEIR_KERR_COORDINATOR_LOAD_IN_PROGRESS:
    case WEIR_KERR_CONCURRENT_TRANSACTIONS:
    case WEIR_KERR_REQUEST_TIMED_OUT:
        return TX_V_RETRY;
    case WEIR_KERR_INVALID_PRODUCER_EPOCH:
    case WEIR_KERR_PRODUCER_FENCED:
        return TX_V_FENCED;
    default:
        return TX_V_OTHER;
    }
}

/* Handles the verdicts every coordinator answer shares; true when the caller
 * has nothing left to do. */
static bool tx_common(weir_producer *p, tx_verdict v, int16_t error, const char *what)
{
    pr_idem *id = p->idem;
    switch (v) {
    case TX_V_REFIND:
        id->coord = -1;
        tx_retry(p, what, weir_kerr_name(error));
        return true;
    case TX_V_RETRY:
        tx_retry(p, what, weir_kerr_name(error));
        return true;
    case TX_V_FENCED:
        id->busy = false;
        pr_idem_fatal(p, error);
        return true;
    default:
        return false;
    }
}

/* ---- the producer's hooks ---- */

int pr_idem_send_check(const weir_producer *p, int16_t *error_out)
{
    const pr_idem *id = p->idem;
    if (p->fatal_error != WEIR_KERR_NONE) {
        *error_out = p->fatal_error;
        return 1;
    }
    if (id->transactional_id == NULL || id->state == TX_IN_TXN) {
        return 0;
    }
    if (id->state == TX_ABORTABLE) {
        *error_out = id->txn_error;
        return 1;
    }
    return WEIR_E_INVAL;
}

bool pr_idem_may_send(weir_producer *p, pr_partition *part, const pr_batch *b)
{
    const pr_idem *id = p->idem;
    if (p->fatal_error != WEIR_KERR_NONE) {
        return false;
    }
    bool in_txn = id->state == TX_IN_TXN || id->state == TX_COMMITTING;
    if (b->sealed) {
        return id->transactional_id == NULL || in_txn;
    }
    if (p->producer_id < 0) {
        return false;
    }
    if (id->transactional_id == NULL) {
        return !id->pid_reset;
    }
    return in_txn && part->txn == PR_TXN_PART_ADDED;
}

int16_t pr_idem_no_retry(const weir_producer *p)
{
    const pr_idem *id = p->idem;
    if (p->fatal_error != WEIR_KERR_NONE) {
        return p->fatal_error;
    }
    if (id->state == TX_ABORTING || id->state == TX_ABORTABLE) {
        return id->txn_error != WEIR_KERR_NONE ? id->txn_error : WEIR_KERR_TRANSACTION_ABORTABLE;
    }
    return WEIR_KERR_NONE;
}

void pr_idem_partition_touch(weir_producer *p, pr_partition *part)
{
    if (p->idem->transactional_id != NULL && part->txn == PR_TXN_PART_NONE) {
        part->txn = PR_TXN_PART_PENDING;
        pr_arm(p, 0);
    }
}

void pr_idem_on_failure(weir_producer *p, pr_batch *b, int16_t error)
{
    pr_idem *id = p->idem;
    pr_partition *part = b->part;
    if (b->sealed && part != NULL && b->producer_id == part->seq_producer_id &&
        b->producer_epoch == part->seq_epoch && p->fatal_error == WEIR_KERR_NONE &&
        error != WEIR_KERR_INVALID_PRODUCER_EPOCH && error != WEIR_KERR_PRODUCER_FENCED) {
        bool unknown = b->maybe_appended || error == WEIR_KERR_OUT_OF_ORDER_SEQUENCE_NUMBER ||
                       error == WEIR_KERR_UNKNOWN_PRODUCER_ID;
        if (!unknown) {
            /* The leader never appended it: the next batch takes its sequence.
             * It is the partition's only sealed batch, so the last numbered. */
            WEIR_ASSERT(part->in_flight == 0);
            part->next_seq = b->base_sequence;
        } else if (id->transactional_id == NULL) {
            PR_LOG(p, WEIR_LOG_WARN, "%s-%d: sequence state unknown after %s; new producer id",
                   part->topic->name, part->index, weir_kerr_name(error));
            id->pid_reset = true;
            pr_arm(p, 0);
        } else {
            id->bump_needed = true;
        }
    }
    if (id->transactional_id != NULL) {
        tx_abortable(p, error);
    }
}

/* ---- InitProducerId ---- */

static void tx_on_init_pid(weir_cluster *cl, int err, const weir_response *resp, void *arg)
{
    (void)cl;
    weir_producer *p = arg;
    pr_idem *id = p->idem;
    if (id->state == TX_FATAL || p->fatal_error != WEIR_KERR_NONE) {
        id->busy = false;
        return;
    }
    if (err != 0) {
        id->coord = -1;
        tx_retry(p, "InitProducerId", weir_err_str(err));
        return;
    }
    const weir_init_producer_id_response *r = &resp->body.init_producer_id;
    tx_verdict v = tx_classify(r->error_code);
    if (v == TX_V_OK && (r->producer_id < 0 || r->producer_epoch < 0)) {
        v = TX_V_OTHER;
    }
    if (id->transactional_id == NULL && v == TX_V_FENCED) {
        v = TX_V_OTHER;
    }
    if (tx_common(p, v, r->error_code, "InitProducerId")) {
        return;
    }
    id->busy = false;
    if (v == TX_V_OTHER) {
        int16_t error =
            r->error_code != WEIR_KERR_NONE ? r->error_code : WEIR_KERR_UNKNOWN_SERVER_ERROR;
        PR_LOG(p, WEIR_LOG_ERROR, "InitProducerId failed: %s", weir_kerr_name(error));
        if (id->state == TX_INITIALIZING) {
            id->state = TX_UNINIT;
            tx_step_done(p, error);
        } else {
            pr_idem_fatal(p, error);
        }
        return;
    }
    PR_LOG(p, WEIR_LOG_INFO, "producer id %lld, epoch %d", (long long)r->producer_id,
           r->producer_epoch);
    p->producer_id = r->producer_id;
    p->producer_epoch = r->producer_epoch;
    id->pid_reset = false;
    pr_arm(p, 0);
    if (id->state == TX_INITIALIZING) {
        id->state = TX_READY;
        tx_step_done(p, WEIR_KERR_NONE);
    } else if (id->state == TX_ABORTING) {
        tx_complete(p); /* the epoch bump after an abort */
    }
}

/* Sends InitProducerId to node. */
static void tx_send_init_pid(weir_producer *p, int32_t node)
{
    pr_idem *id = p->idem;
    weir_request r;
    memset(&r, 0, sizeof r);
    r.header.api_key = WEIR_API_INIT_PRODUCER_ID;
    r.header.api_version = TX_INIT_PRODUCER_ID_VERSION;
    r.body.init_producer_id.transactional_id =
        id->transactional_id != NULL ? weir_str_from(id->transactional_id) : WEIR_STR_NULL;
    r.body.init_producer_id.transaction_timeout_ms = p->cfg.transaction_timeout_ms;
    id->busy = true;
    int err = weir_cluster_send(p->cl, node, &r, 0, tx_on_init_pid, p);
    if (err != 0) {
        tx_retry(p, "InitProducerId", weir_err_str(err));
    }
}

/* Idempotence only: a producer id is needed once a batch waits for one; it
 * is asked of the leader that batch goes to. */
static void idem_run(weir_producer *p)
{
    pr_idem *id = p->idem;
    if (p->fatal_error != WEIR_KERR_NONE || (p->producer_id >= 0 && !id->pid_reset) || id->busy) {
        return;
    }
    int64_t now = weir_now_ns(p->env);
    if (now < id->retry_at_ns) {
        pr_arm(p, id->retry_at_ns);
        return;
    }
    for (size_t i = 0; i < p->topic_count; i++) {
        pr_topic *t = p->topics[i];
        for (int32_t j = 0; j < t->partition_count; j++) {
            int32_t leader = weir_cluster_leader(p->cl, t->name, j);
            if (t->parts[j]->head != NULL && leader >= 0) {
                tx_send_init_pid(p, leader);
                return;
            }
        }
    }
}

/* ---- the transaction coordinator ---- */

static void tx_on_coord(weir_cluster *cl, int err, int32_t node_id, void *arg)
{
    (void)cl;
    weir_producer *p = arg;
    pr_idem *id = p->idem;
    id->busy = false;
    if (id->state == TX_FATAL) {
        return;
    }
    if (err != 0) {
        tx_retry(p, "FindCoordinator", weir_err_str(err));
        return;
    }
    id->coord = node_id;
    pr_arm(p, 0);
}

/* True when the coordinator is known; otherwise starts the lookup. */
static bool tx_coord_ready(weir_producer *p)
{
    pr_idem *id = p->idem;
    if (id->coord >= 0) {
        return true;
    }
    id->busy = true;
    int err = weir_cluster_find_coordinator(p->cl, WEIR_COORDINATOR_TRANSACTION,
                                            id->transactional_id, tx_on_coord, p);
    if (err != 0) {
        tx_retry(p, "FindCoordinator", weir_err_str(err));
    }
    return false;
}

static void tx_on_api_versions(weir_cluster *cl, int err, const weir_response *resp, void *arg)
{
    (void)cl;
    weir_producer *p = arg;
    pr_idem *id = p->idem;
    id->busy = false;
    if (id->state == TX_FATAL) {
        return;
    }
    if (err != 0) {
        id->coord = -1;
        tx_retry(p, "ApiVersions", weir_err_str(err));
        return;
    }
    id->versions_asked = true;
    const weir_api_versions_response *r = &resp->body.api_versions;
    for (int32_t i = 0; r->error_code == WEIR_KERR_NONE && i < r->api_key_count; i++) {
        if (r->api_keys[i].api_key == WEIR_API_END_TXN &&
            r->api_keys[i].max_version >= TX_END_TXN_BUMP_VERSION) {
            id->end_txn_version = TX_END_TXN_BUMP_VERSION;
        }
    }
    PR_LOG(p, WEIR_LOG_INFO, "EndTxn v%d (%s)", id->end_txn_version,
           id->end_txn_version == TX_END_TXN_BUMP_VERSION ? "a new epoch per transaction"
                                                          : "the coordinator has no v5");
    pr_arm(p, 0);
}

/* With transaction_epoch_bump, EndTxn v5 when both ends have it. Returns
 * true when known; otherwise asks the coordinator's ApiVersions. */
static bool tx_versions_ready(weir_producer *p)
{
    pr_idem *id = p->idem;
    const weir_api_range *mine = weir_api_find(WEIR_API_END_TXN);
    if (id->versions_asked || !p->cfg.transaction_epoch_bump || mine == NULL ||
        mine->max_version < TX_END_TXN_BUMP_VERSION) {
        return true;
    }
    weir_request r;
    memset(&r, 0, sizeof r);
    r.header.api_key = WEIR_API_API_VERSIONS;
    r.header.api_version = TX_API_VERSIONS_VERSION;
    id->busy = true;
    int err = weir_cluster_send(p->cl, id->coord, &r, 0, tx_on_api_versions, p);
    if (err != 0) {
        tx_retry(p, "ApiVersions", weir_err_str(err));
    }
    return false;
}

/* ---- AddPartitionsToTxn ---- */

static pr_partition *tx_find_part(weir_producer *p, weir_str topic, int32_t index)
{
    for (size_t i = 0; i < p->topic_count; i++) {
        pr_topic *t = p->topics[i];
        if (weir_str_eq_cstr(topic, t->name) && index >= 0 && index < t->partition_count) {
            return t->parts[index];
        }
    }
    return NULL;
}

/* Every ADDING partition goes back to PENDING (to be sent again). */
static void tx_adding_reset(weir_producer *p)
{
    for (size_t i = 0; i < p->topic_count; i++) {
        for (int32_t j = 0; j < p->topics[i]->partition_count; j++) {
            pr_partition *part = p->topics[i]->parts[j];
            if (part->txn == PR_TXN_PART_ADDING) {
                part->txn = PR_TXN_PART_PENDING;
            }
        }
    }
}

static void tx_on_add_partitions(weir_cluster *cl, int err, const weir_response *resp, void *arg)
{
    (void)cl;
    weir_producer *p = arg;
    pr_idem *id = p->idem;
    if (id->state == TX_FATAL) {
        id->busy = false;
        return;
    }
    if (err != 0) {
        tx_adding_reset(p);
        id->coord = -1;
        tx_retry(p, "AddPartitionsToTxn", weir_err_str(err));
        return;
    }
    const weir_add_partitions_to_txn_response *r = &resp->body.add_partitions_to_txn;
    tx_verdict worst = TX_V_OK;
    int16_t worst_error = WEIR_KERR_NONE;
    for (int32_t i = 0; i < r->result_count; i++) {
        const weir_add_partitions_to_txn_topic_result *tr = &r->results[i];
        for (int32_t j = 0; j < tr->result_count; j++) {
            int16_t e = tr->results[j].error_code;
            pr_partition *part = tx_find_part(p, tr->name, tr->results[j].partition_index);
            if (part == NULL || part->txn != PR_TXN_PART_ADDING) {
                continue;
            }
            tx_verdict v = tx_classify(e);
            if (e == WEIR_KERR_UNKNOWN_TOPIC_OR_PARTITION || e == TX_KERR_OPERATION_NOT_ATTEMPTED) {
                v = TX_V_RETRY;
            }
            if (v == TX_V_OK) {
                part->txn = PR_TXN_PART_ADDED;
                id->started = true;
                continue;
            }
            if (v > worst || (v == worst && e != TX_KERR_OPERATION_NOT_ATTEMPTED)) {
                worst = v;
                worst_error = e;
            }
        }
    }
    tx_adding_reset(p); /* those not confirmed */
    pr_arm(p, 0);       /* the added partitions' batches may go */
    if (worst_error == WEIR_KERR_CONCURRENT_TRANSACTIONS && !id->started &&
        p->cfg.retry_backoff_ms > TX_ADD_PARTITIONS_BACKOFF_MS) {
        /* The previous transaction is still completing (its markers): the
         * first add of a transaction retries sooner, as Kafka's producer. */
        tx_retry_after(p, "AddPartitionsToTxn", weir_kerr_name(worst_error),
                       TX_ADD_PARTITIONS_BACKOFF_MS);
        return;
    }
    if (tx_common(p, worst, worst_error, "AddPartitionsToTxn")) {
        return;
    }
    id->busy = false;
    if (worst == TX_V_OTHER) {
        tx_abortable(p, worst_error);
    }
}

/* Adds every PENDING partition in one request. False when none is pending. */
static bool tx_add_partitions(weir_producer *p)
{
    pr_idem *id = p->idem;
    int32_t parts = 0;
    int32_t topics = 0;
    for (size_t i = 0; i < p->topic_count; i++) {
        bool any = false;
        for (int32_t j = 0; j < p->topics[i]->partition_count; j++) {
            if (p->topics[i]->parts[j]->txn == PR_TXN_PART_PENDING) {
                parts++;
                any = true;
            }
        }
        topics += any;
    }
    if (parts == 0) {
        return false;
    }
    if (!tx_coord_ready(p)) {
        return true;
    }
    weir_add_partitions_to_txn_topic *tt = calloc((size_t)topics, sizeof *tt);
    int32_t *idx = calloc((size_t)parts, sizeof *idx);
    if (tt == NULL || idx == NULL) {
        free(tt);
        free(idx);
        tx_retry(p, "AddPartitionsToTxn", "out of memory");
        return true;
    }
    int32_t nt = 0;
    int32_t np = 0;
    for (size_t i = 0; i < p->topic_count; i++) {
        pr_topic *t = p->topics[i];
        int32_t first = np;
        for (int32_t j = 0; j < t->partition_count; j++) {
            if (t->parts[j]->txn == PR_TXN_PART_PENDING) {
                t->parts[j]->txn = PR_TXN_PART_ADDING;
                idx[np++] = j;
            }
        }
        if (np > first) {
            tt[nt++] =
                (weir_add_partitions_to_txn_topic){weir_str_from(t->name), np - first, &idx[first]};
        }
    }
    weir_request r;
    memset(&r, 0, sizeof r);
    r.header.api_key = WEIR_API_ADD_PARTITIONS_TO_TXN;
    r.header.api_version = TX_ADD_PARTITIONS_VERSION;
    r.body.add_partitions_to_txn.transactional_id = weir_str_from(id->transactional_id);
    r.body.add_partitions_to_txn.producer_id = p->producer_id;
    r.body.add_partitions_to_txn.producer_epoch = p->producer_epoch;
    r.body.add_partitions_to_txn.topic_count = nt;
    r.body.add_partitions_to_txn.topics = tt;
    id->busy = true;
    int err = weir_cluster_send(p->cl, id->coord, &r, 0, tx_on_add_partitions, p);
    free(tt);
    free(idx);
    if (err != 0) {
        tx_adding_reset(p);
        tx_retry(p, "AddPartitionsToTxn", weir_err_str(err));
    } else {
        PR_LOG(p, WEIR_LOG_DEBUG, "AddPartitionsToTxn: %d partition(s)", np);
    }
    return true;
}

/* ---- AddOffsetsToTxn, then TxnOffsetCommit ---- */

static void tx_on_add_offsets(weir_cluster *cl, int err, const weir_response *resp, void *arg)
{
    (void)cl;
    weir_producer *p = arg;
    pr_idem *id = p->idem;
    if (id->state == TX_FATAL) {
        id->busy = false;
        return;
    }
    if (err != 0) {
        id->coord = -1;
        tx_retry(p, "AddOffsetsToTxn", weir_err_str(err));
        return;
    }
    int16_t e = resp->body.add_offsets_to_txn.error_code;
    tx_verdict v = tx_classify(e);
    if (tx_common(p, v, e, "AddOffsetsToTxn")) {
        return;
    }
    id->busy = false;
    pr_arm(p, 0);
    if (v == TX_V_OK) {
        id->started = true;
        id->ops->added = true;
        return;
    }
    tx_abortable(p, e);
    tx_op_done(p, e);
}

static void tx_on_group_coord(weir_cluster *cl, int err, int32_t node_id, void *arg)
{
    (void)cl;
    weir_producer *p = arg;
    pr_idem *id = p->idem;
    id->busy = false;
    if (id->state == TX_FATAL) {
        return;
    }
    if (err != 0) {
        tx_retry(p, "FindCoordinator(group)", weir_err_str(err));
        return;
    }
    id->ops->group_coord = node_id;
    pr_arm(p, 0);
}

static void tx_on_txn_offset_commit(weir_cluster *cl, int err, const weir_response *resp, void *arg)
{
    (void)cl;
    weir_producer *p = arg;
    pr_idem *id = p->idem;
    if (id->state == TX_FATAL) {
        id->busy = false;
        return;
    }
    tx_offsets_op *op = id->ops;
    if (err != 0) {
        op->group_coord = -1;
        tx_retry(p, "TxnOffsetCommit", weir_err_str(err));
        return;
    }
    const weir_txn_offset_commit_response *r = &resp->body.txn_offset_commit;
    tx_verdict worst = TX_V_OK;
    int16_t worst_error = WEIR_KERR_NONE;
    for (int32_t i = 0; i < r->topic_count; i++) {
        for (int32_t j = 0; j < r->topics[i].partition_count; j++) {
            int16_t e = r->topics[i].partitions[j].error_code;
            tx_verdict v = tx_classify(e);
            if (e == WEIR_KERR_UNKNOWN_TOPIC_OR_PARTITION) {
                v = TX_V_RETRY;
            }
            if (v > worst) {
                worst = v;
                worst_error = e;
            }
        }
    }
    if (worst == TX_V_REFIND) {
        op->group_coord = -1; /* the group's coordinator, not the transaction's */
        tx_retry(p, "TxnOffsetCommit", weir_kerr_name(worst_error));
        return;
    }
    if (tx_common(p, worst, worst_error, "TxnOffsetCommit")) {
        return;
    }
    id->busy = false;
    pr_arm(p, 0);
    if (worst != TX_V_OK) {
        tx_abortable(p, worst_error);
    }
    tx_op_done(p, worst_error);
}

static void tx_send_txn_offset_commit(weir_producer *p, tx_offsets_op *op)
{
    pr_idem *id = p->idem;
    int32_t n = op->count;
    weir_txn_offset_commit_topic *tt = calloc((size_t)(n > 0 ? n : 1), sizeof *tt);
    weir_txn_offset_commit_partition *pp = calloc((size_t)(n > 0 ? n : 1), sizeof *pp);
    if (tt == NULL || pp == NULL) {
        free(tt);
        free(pp);
        tx_retry(p, "TxnOffsetCommit", "out of memory");
        return;
    }
    /* Group by topic, in order of first appearance. */
    int32_t nt = 0;
    int32_t np = 0;
    for (int32_t i = 0; i < n; i++) {
        bool seen = false;
        for (int32_t k = 0; k < i && !seen; k++) {
            seen = strcmp(op->offsets[k].topic, op->offsets[i].topic) == 0;
        }
        if (seen) {
            continue;
        }
        tt[nt].name = weir_str_from(op->offsets[i].topic);
        tt[nt].partitions = &pp[np];
        for (int32_t k = i; k < n; k++) {
            if (strcmp(op->offsets[k].topic, op->offsets[i].topic) == 0) {
                pp[np++] = (weir_txn_offset_commit_partition){
                    op->offsets[k].partition, op->offsets[k].offset, -1, weir_str_from("")};
                tt[nt].partition_count++;
            }
        }
        nt++;
    }
    weir_request r;
    memset(&r, 0, sizeof r);
    r.header.api_key = WEIR_API_TXN_OFFSET_COMMIT;
    r.header.api_version = TX_TXN_OFFSET_COMMIT_VERSION;
    r.body.txn_offset_commit.transactional_id = weir_str_from(id->transactional_id);
    r.body.txn_offset_commit.group_id = weir_str_from(op->group_id);
    r.body.txn_offset_commit.producer_id = p->producer_id;
    r.body.txn_offset_commit.producer_epoch = p->producer_epoch;
    r.body.txn_offset_commit.topic_count = nt;
    r.body.txn_offset_commit.topics = tt;
    id->busy = true;
    int err = weir_cluster_send(p->cl, op->group_coord, &r, 0, tx_on_txn_offset_commit, p);
    free(tt);
    free(pp);
    if (err != 0) {
        tx_retry(p, "TxnOffsetCommit", weir_err_str(err));
    }
}

/* The head operation's next request. */
static void tx_offsets_step(weir_producer *p)
{
    pr_idem *id = p->idem;
    tx_offsets_op *op = id->ops;
    if (!op->added) {
        if (!tx_coord_ready(p)) {
            return;
        }
        weir_request r;
        memset(&r, 0, sizeof r);
        r.header.api_key = WEIR_API_ADD_OFFSETS_TO_TXN;
        r.header.api_version = TX_ADD_OFFSETS_VERSION;
        r.body.add_offsets_to_txn.transactional_id = weir_str_from(id->transactional_id);
        r.body.add_offsets_to_txn.producer_id = p->producer_id;
        r.body.add_offsets_to_txn.producer_epoch = p->producer_epoch;
        r.body.add_offsets_to_txn.group_id = weir_str_from(op->group_id);
        id->busy = true;
        int err = weir_cluster_send(p->cl, id->coord, &r, 0, tx_on_add_offsets, p);
        if (err != 0) {
            tx_retry(p, "AddOffsetsToTxn", weir_err_str(err));
        }
        return;
    }
    if (op->group_coord < 0) {
        id->busy = true;
        int err = weir_cluster_find_coordinator(p->cl, WEIR_COORDINATOR_GROUP, op->group_id,
                                                tx_on_group_coord, p);
        if (err != 0) {
            tx_retry(p, "FindCoordinator(group)", weir_err_str(err));
        }
        return;
    }
    tx_send_txn_offset_commit(p, op);
}

/* ---- EndTxn ---- */

static void tx_on_end_txn(weir_cluster *cl, int err, const weir_response *resp, void *arg)
{
    (void)cl;
    weir_producer *p = arg;
    pr_idem *id = p->idem;
    if (id->state == TX_FATAL) {
        id->busy = false;
        return;
    }
    if (err != 0) {
        id->coord = -1;
        tx_retry(p, "EndTxn", weir_err_str(err));
        return;
    }
    const weir_end_txn_response *r = &resp->body.end_txn;
    tx_verdict v = tx_classify(r->error_code);
    if (tx_common(p, v, r->error_code, "EndTxn")) {
        return;
    }
    id->busy = false;
    if (v != TX_V_OK) {
        /* INVALID_TXN_STATE and the rest: as Kafka's producer, fatal. */
        pr_idem_fatal(p, r->error_code);
        return;
    }
    bool commit = id->state == TX_COMMITTING;
    if (resp->api_version >= TX_END_TXN_BUMP_VERSION && r->producer_id >= 0 &&
        r->producer_epoch >= 0) {
        /* KIP-890: the next transaction runs under the new epoch, and each
         * partition's sequences start again at 0 (pr_stamp sees the change). */
        p->producer_id = r->producer_id;
        p->producer_epoch = r->producer_epoch;
        id->bump_needed = false;
    }
    PR_LOG(p, WEIR_LOG_INFO, "transaction %s (producer id %lld, epoch %d)",
           commit ? "committed" : "aborted", (long long)p->producer_id, p->producer_epoch);
    id->ended = true;
    if (!commit && id->bump_needed) {
        pr_arm(p, 0); /* InitProducerId next: this epoch's sequences are unknown */
        return;
    }
    tx_complete(p);
}

static void tx_end(weir_producer *p, bool commit)
{
    pr_idem *id = p->idem;
    if (!tx_coord_ready(p)) {
        return;
    }
    weir_request r;
    memset(&r, 0, sizeof r);
    r.header.api_key = WEIR_API_END_TXN;
    r.header.api_version = id->end_txn_version;
    r.body.end_txn.transactional_id = weir_str_from(id->transactional_id);
    r.body.end_txn.producer_id = p->producer_id;
    r.body.end_txn.producer_epoch = p->producer_epoch;
    r.body.end_txn.committed = commit;
    id->busy = true;
    int err = weir_cluster_send(p->cl, id->coord, &r, 0, tx_on_end_txn, p);
    if (err != 0) {
        tx_retry(p, "EndTxn", weir_err_str(err));
    }
}

/* ---- the driver ---- */

/* Steps that need no coordinator: outcomes owed to the user. True when a
 * callback ran (the state may have changed: run again). */
static bool tx_settle(weir_producer *p)
{
    pr_idem *id = p->idem;
    if (id->state == TX_FATAL) {
        if (id->step != TX_STEP_NONE) {
            tx_step_done(p, p->fatal_error);
            return true;
        }
        if (id->ops != NULL) {
            id->busy = false; /* an answer still out finds FATAL and drops itself */
            tx_ops_fail(p, p->fatal_error);
            return true;
        }
        return false;
    }
    if (id->state == TX_ABORTABLE || id->state == TX_ABORTING) {
        if (id->state == TX_ABORTABLE && id->step == TX_STEP_COMMIT) {
            tx_step_done(p, id->txn_error);
            return true;
        }
        if (id->ops != NULL && (id->ops->next != NULL || !id->busy)) {
            tx_ops_fail(p, id->txn_error);
            return true;
        }
    }
    return false;
}

static void tx_run(weir_producer *p)
{
    pr_idem *id = p->idem;
    if (tx_settle(p)) {
        pr_arm(p, 0);
        return;
    }
    int64_t now = weir_now_ns(p->env);
    if (id->busy || id->state == TX_FATAL) {
        return;
    }
    if (now < id->retry_at_ns) {
        pr_arm(p, id->retry_at_ns);
        return;
    }
    switch (id->state) {
    case TX_INITIALIZING:
        if (tx_coord_ready(p) && tx_versions_ready(p)) {
            tx_send_init_pid(p, id->coord);
        }
        return;
    case TX_IN_TXN:
    case TX_COMMITTING:
        if (tx_add_partitions(p)) {
            return;
        }
        if (id->ops != NULL) {
            tx_offsets_step(p);
            return;
        }
        if (id->state == TX_COMMITTING && weir_producer_in_flight(p) == 0) {
            if (id->started) {
                tx_end(p, true);
            } else {
                tx_complete(p); /* nothing reached the coordinator: nothing to end */
            }
        }
        return;
    case TX_ABORTING:
        if (weir_producer_in_flight(p) > 0) {
            return; /* the batches in flight first */
        }
        if (id->started && !id->ended) {
            tx_end(p, false);
        } else if (id->bump_needed && tx_coord_ready(p)) {
            tx_send_init_pid(p, id->coord);
        } else if (!id->bump_needed) {
            tx_complete(p);
        }
        return;
    default:
        return;
    }
}

void pr_idem_run(weir_producer *p)
{
    pr_idem *id = p->idem;
    if (id->drop_error != WEIR_KERR_NONE) {
        int16_t error = id->drop_error;
        id->drop_error = WEIR_KERR_NONE;
        pr_fail_queued(p, error);
        pr_arm(p, 0); /* their reports first, then the steps */
        return;
    }
    if (id->transactional_id == NULL) {
        idem_run(p);
    } else {
        tx_run(p);
    }
    if (p->reports != NULL) {
        pr_arm(p, 0);
    }
}

/* ---- the public transaction calls ---- */

int weir_producer_init_transactions(weir_producer *p, weir_producer_txn_cb cb, void *ctx)
{
    pr_idem *id = p->idem;
    if (cb == NULL || id == NULL || id->transactional_id == NULL || id->state != TX_UNINIT) {
        return WEIR_E_INVAL;
    }
    id->state = TX_INITIALIZING;
    id->step = TX_STEP_INIT;
    id->step_cb = cb;
    id->step_ctx = ctx;
    id->step_deadline_ns = weir_now_ns(p->env) + (int64_t)p->cfg.delivery_timeout_ms * MS;
    pr_arm(p, 0);
    return 0;
}

int weir_producer_begin_transaction(weir_producer *p)
{
    pr_idem *id = p->idem;
    if (id == NULL || id->transactional_id == NULL || id->state != TX_READY ||
        id->step != TX_STEP_NONE) {
        return WEIR_E_INVAL;
    }
    id->state = TX_IN_TXN;
    return 0;
}

int weir_producer_send_offsets_to_transaction(weir_producer *p,
                                              const weir_partition_offset *offsets, int32_t count,
                                              const weir_group_metadata *group,
                                              weir_producer_txn_cb cb, void *ctx)
{
    pr_idem *id = p->idem;
    if (cb == NULL || id == NULL || id->transactional_id == NULL || count < 0 ||
        (count > 0 && offsets == NULL) || group == NULL || group->group_id == NULL ||
        group->group_id[0] == '\0' ||
        (id->state != TX_IN_TXN && id->state != TX_ABORTABLE && id->state != TX_FATAL)) {
        return WEIR_E_INVAL;
    }
    for (int32_t i = 0; i < count; i++) {
        if (offsets[i].topic == NULL || offsets[i].partition < 0 || offsets[i].offset < 0) {
            return WEIR_E_INVAL;
        }
    }
    tx_offsets_op *op = calloc(1, sizeof *op);
    if (op == NULL) {
        return WEIR_E_NOMEM;
    }
    op->group_coord = -1;
    op->cb = cb;
    op->ctx = ctx;
    op->group_id = strdup(group->group_id);
    op->offsets = calloc((size_t)(count > 0 ? count : 1), sizeof *op->offsets);
    if (op->group_id == NULL || op->offsets == NULL) {
        tx_op_free(op);
        return WEIR_E_NOMEM;
    }
    for (int32_t i = 0; i < count; i++) {
        op->offsets[i] = offsets[i];
        op->offsets[i].topic = strdup(offsets[i].topic);
        op->count = i + 1;
        if (op->offsets[i].topic == NULL) {
            tx_op_free(op);
            return WEIR_E_NOMEM;
        }
    }
    if (id->ops_tail != NULL) {
        id->ops_tail->next = op;
    } else {
        id->ops = op;
    }
    id->ops_tail = op;
    pr_arm(p, 0);
    return 0;
}

int weir_producer_commit_transaction(weir_producer *p, weir_producer_txn_cb cb, void *ctx)
{
    pr_idem *id = p->idem;
    if (cb == NULL || id == NULL || id->transactional_id == NULL || id->step != TX_STEP_NONE ||
        (id->state != TX_IN_TXN && id->state != TX_ABORTABLE && id->state != TX_FATAL)) {
        return WEIR_E_INVAL;
    }
    if (id->state == TX_IN_TXN) {
        id->state = TX_COMMITTING;
    }
    id->step = TX_STEP_COMMIT;
    id->step_cb = cb;
    id->step_ctx = ctx;
    weir_producer_flush(p); /* arms the loop */
    return 0;
}

int weir_producer_abort_transaction(weir_producer *p, weir_producer_txn_cb cb, void *ctx)
{
    pr_idem *id = p->idem;
    if (cb == NULL || id == NULL || id->transactional_id == NULL || id->step != TX_STEP_NONE ||
        (id->state != TX_IN_TXN && id->state != TX_ABORTABLE && id->state != TX_FATAL)) {
        return WEIR_E_INVAL;
    }
    id->step = TX_STEP_ABORT;
    id->step_cb = cb;
    id->step_ctx = ctx;
    if (id->state != TX_FATAL) {
        int16_t error =
            id->txn_error != WEIR_KERR_NONE ? id->txn_error : WEIR_KERR_TRANSACTION_ABORTABLE;
        PR_LOG(p, WEIR_LOG_INFO, "aborting the transaction (was %s)", tx_state_name(id->state));
        id->state = TX_ABORTING;
        id->txn_error = error;
        id->drop_error = error;
    }
    pr_arm(p, 0); /* the loop drops the queued records and offsets operations */
    return 0;
}
