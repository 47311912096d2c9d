/* PublishKafka: each FlowFile's content becomes one Kafka record (NiFi's
 * PublishKafka_2_6), through weir's own producer.
 *
 * A trigger takes a batch of FlowFiles and sends one record per FlowFile
 * (value = content; key = "Kafka Key", else the kafka.key attribute as
 * ConsumeKafka wrote it; topic = "Topic Name", both evaluated per FlowFile),
 * then returns WEIR_FLOW_PENDING: the session stays open until every record
 * of the batch has its delivery report. Then each FlowFile the broker
 * acknowledged goes to success with a SEND event (kafka://<first
 * broker>/<topic>) and each that failed (after the producer's own retries,
 * or delivery.timeout.ms) goes to failure, penalized; the session commits
 * and the task ends. So a FlowFile reaches success only after the broker
 * acknowledged it at the "Delivery Guarantee" asked for: nothing acknowledged
 * by the flow is lost, and a crash before the acknowledgement means the
 * FlowFile is sent again (a duplicate, never a loss).
 *
 * Delivery Guarantee: "Best Effort" is acks 0 (a record counts as delivered
 * once handed to the connection), "Guarantee Single Node Delivery" acks 1,
 * "Guarantee Replicated Delivery" acks all (the default, as NiFi since
 * 1.16); Kafka's values 0, 1 and all are accepted too. enable.idempotence is
 * on with acks all unless a dynamic property says otherwise.
 *
 * Use Transactions (off by default, unlike NiFi's true: one FlowFile's fate
 * then never depends on its batch): each batch is one Kafka transaction
 * (transactional.id = "Transactional Id Prefix" + the processor's name, so a
 * restarted processor fences its previous self); committed, every FlowFile
 * goes to success; otherwise the transaction is aborted and the whole batch
 * goes to failure. A fenced producer is replaced at the next trigger. The
 * first trigger waits (pending) until the transactions are initialised.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/producer.h"
#include "core/assert.h"
#include "flow/expr.h"
#include "flow/proc_kafka_common.h"
#include "flow/session.h"
#include "proto/kafka.h"

#define PK_NOT_SENT ((int16_t)-2) /* failed before reaching the producer */
#define PK_WAITING ((int16_t)-3)  /* sent, no report yet */

enum { REL_SUCCESS, REL_FAILURE };

typedef struct pk_state pk_state;
typedef struct pk_task pk_task;

/* One FlowFile of a batch; its record's opaque. */
typedef struct pk_item {
    pk_task *task;
    weir_flowfile *ff;
    char *uri;     /* SEND transit URI; NULL when not sent */
    int16_t error; /* a Kafka error, PK_NOT_SENT or PK_WAITING */
} pk_item;

/* One trigger's batch, waiting for its reports (and its transaction). */
struct pk_task {
    pk_state *st;
    pk_task *next;
    weir_flow_session *s;
    size_t pending; /* records sent, not reported yet */
    bool txn;       /* also waits for its transaction's end */
    bool txn_done;
    int16_t txn_error;
    size_t count;
    pk_item items[];
};

struct pk_state {
    weir_flow_ctx *ctx;
    weir_producer_config cfg; /* kept to replace a fenced producer */
    char *bootstrap;
    char *txn_id;
    weir_producer *producer;
    const weir_flow_prop *topic;
    const weir_flow_prop *key;
    weir_flow_kafka_key_enc key_encoding;
    bool transactions;
    bool txn_ready;
    bool txn_init_busy;
    bool broken; /* fenced or fatal: replaced once no task uses it */
    bool init_failed;
    weir_flow_session *parked; /* a trigger waiting for the transactions' init */
    pk_task *tasks;
    struct weir_expr_buf topic_buf;
    struct weir_expr_buf key_buf;
    uint8_t *key_bytes; /* hex keys decoded */
    size_t key_cap;
    weir_flowfile **batch;
    size_t batch_max;
};

static const char *const pk_guarantees[] = {"Best Effort",
                                            "Guarantee Single Node Delivery",
                                            "Guarantee Replicated Delivery",
                                            "0",
                                            "1",
                                            "all",
                                            NULL};
static const char *const pk_key_encodings[] = {"utf-8", "hex", NULL};

static const weir_flow_property_desc pk_props[] = {
    {.name = WEIR_FLOW_KAFKA_BROKERS,
     .description = "bootstrap.servers: host:port[,host:port...]",
     .required = true},
    {.name = "Topic Name",
     .description = "the topic to publish to",
     .required = true,
     .expressions = true},
    {.name = "Delivery Guarantee",
     .description = "acks: Best Effort (0), Guarantee Single Node Delivery (1), Guarantee "
                    "Replicated Delivery (all)",
     .default_value = "Guarantee Replicated Delivery",
     .kind = WEIR_FLOW_PROP_CHOICE,
     .choices = pk_guarantees},
    {.name = "Kafka Key",
     .description = "the record key; unset: the kafka.key attribute, if any",
     .expressions = true},
    {.name = WEIR_FLOW_KAFKA_KEY_ENCODING,
     .description = "how Kafka Key (or kafka.key) holds the key bytes",
     .default_value = "utf-8",
     .kind = WEIR_FLOW_PROP_CHOICE,
     .choices = pk_key_encodings},
    {.name = "Use Transactions",
     .description = "one Kafka transaction per batch (needs Guarantee Replicated Delivery)",
     .default_value = "false",
     .kind = WEIR_FLOW_PROP_BOOL},
    {.name = "Transactional Id Prefix",
     .description = "with Use Transactions: transactional.id = prefix + processor name",
     .default_value = "weir-"},
    {.name = "Max Request Size",
     .description = "max.request.size: the largest Produce request",
     .default_value = "1 MB",
     .kind = WEIR_FLOW_PROP_BYTES},
    {0},
};

static const weir_flow_relationship_desc pk_rels[] = {
    {.name = "success", .description = "FlowFiles the broker acknowledged"},
    {.name = "failure", .description = "FlowFiles not delivered (penalized)"},
    {0},
};

static bool pk_fenced(int16_t error)
{
    return error == WEIR_KERR_PRODUCER_FENCED || error == WEIR_KERR_INVALID_PRODUCER_EPOCH;
}

/* ---- tasks ---- */

static void pk_task_free(pk_task *t)
{
    for (size_t i = 0; i < t->count; i++) {
        free(t->items[i].uri);
    }
    free(t);
}

static pk_task *pk_task_new(pk_state *st, weir_flow_session *s, size_t count)
{
    pk_task *t = calloc(1, sizeof *t + count * sizeof t->items[0]);
    if (t == NULL) {
        return NULL;
    }
    t->st = st;
    t->s = s;
    t->count = count;
    t->txn = st->transactions;
    for (size_t i = 0; i < count; i++) {
        t->items[i] = (pk_item){t, st->batch[i], NULL, PK_NOT_SENT};
    }
    return t;
}

static bool pk_task_complete(const pk_task *t)
{
    return t->pending == 0 && (!t->txn || t->txn_done);
}

/* Routes every FlowFile of t by its outcome (the session is not committed). */
static void pk_task_route(pk_task *t)
{
    weir_flow_ctx *ctx = t->st->ctx;
    size_t failed = 0;
    int16_t why = 0;
    for (size_t i = 0; i < t->count; i++) {
        const pk_item *it = &t->items[i];
        weir_flowfile *ff = it->ff;
        if (it->error == 0 && t->txn_error == 0) {
            weir_flow_session_send(t->s, ff, it->uri);
            if (weir_flow_session_put_attr(t->s, ff, "msg.count", "1") != 0) {
                weir_log_debug(weir_flow_ctx_env(ctx), "flow: %s: msg.count not set",
                               weir_flow_ctx_name(ctx));
            }
            weir_flow_session_transfer(t->s, ff, REL_SUCCESS);
            continue;
        }
        why = t->txn_error != 0 ? t->txn_error : it->error;
        failed++;
        weir_flow_session_penalize(t->s, ff);
        weir_flow_session_transfer(t->s, ff, REL_FAILURE);
    }
    if (failed > 0) {
        weir_log_warn(weir_flow_ctx_env(ctx), "flow: %s: %zu of %zu FlowFiles not delivered (%s)",
                      weir_flow_ctx_name(ctx), failed, t->count,
                      why == PK_NOT_SENT ? (weir_flow_ctx_last_error(ctx)[0] != '\0'
                                                ? weir_flow_ctx_last_error(ctx)
                                                : "not sent")
                                         : weir_kerr_name(why));
    }
}

/* Ends an asynchronous task: route, commit, hand the task back. */
static void pk_task_finish(pk_task *t)
{
    pk_state *st = t->st;
    pk_task_route(t);
    int rc = weir_flow_session_commit(t->s);
    if (rc != 0) {
        /* back to the queue: sent again later (duplicates, not loss) */
        weir_log_error(weir_flow_ctx_env(st->ctx), "flow: %s: session not committed: %s",
                       weir_flow_ctx_name(st->ctx), weir_err_str(rc));
        weir_flow_session_rollback(t->s, true);
    }
    for (pk_task **pp = &st->tasks; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    weir_flow_ctx_task_done(st->ctx, t->s);
    pk_task_free(t);
}

static void pk_on_delivery(void *ctx, const char *topic, int32_t partition, int64_t offset,
                           int16_t error, void *opaque)
{
    (void)topic;
    (void)partition;
    (void)offset;
    pk_state *st = ctx;
    pk_item *it = opaque;
    pk_task *t = it->task;
    WEIR_ASSERT(t->pending > 0 && it->error == PK_WAITING);
    it->error = error;
    t->pending--;
    if (pk_fenced(error)) {
        st->broken = true;
    }
    if (pk_task_complete(t)) {
        pk_task_finish(t);
    }
}

/* ---- transactions ---- */

static void pk_on_abort(void *ctx, int16_t error)
{
    pk_task *t = ctx;
    t->txn_done = true;
    if (error != 0) {
        t->st->broken = true; /* an abort that fails leaves nothing to reuse */
    }
    if (pk_task_complete(t)) {
        pk_task_finish(t);
    }
}

static void pk_txn_abort(pk_task *t, int16_t error)
{
    t->txn_error = error != 0 ? error : WEIR_KERR_UNKNOWN_SERVER_ERROR;
    if (pk_fenced(error) || weir_producer_abort_transaction(t->st->producer, pk_on_abort, t) != 0) {
        t->txn_done = true;
        t->st->broken = true;
    }
}

static void pk_on_commit(void *ctx, int16_t error)
{
    pk_task *t = ctx;
    if (error == 0) {
        t->txn_done = true;
    } else {
        pk_txn_abort(t, error);
    }
    if (pk_task_complete(t)) {
        pk_task_finish(t);
    }
}

static void pk_on_init(void *ctx, int16_t error)
{
    pk_state *st = ctx;
    st->txn_init_busy = false;
    st->txn_ready = error == 0;
    if (error != 0) {
        weir_log_warn(weir_flow_ctx_env(st->ctx), "flow: %s: transactions not initialised: %s",
                      weir_flow_ctx_name(st->ctx), weir_kerr_name(error));
        st->broken = pk_fenced(error);
        st->init_failed = true;
    }
    if (st->parked != NULL) {
        weir_flow_session *s = st->parked;
        st->parked = NULL;
        weir_flow_ctx_task_done(st->ctx, s); /* triggered again at once */
    }
}

/* Whether a batch may go now: replaces a broken producer once no task uses
 * it, initialises transactions, allows one transaction at a time. */
static bool pk_producer_ready(pk_state *st)
{
    if (st->broken && st->tasks == NULL) {
        weir_producer_free(st->producer);
        st->producer =
            weir_producer_new(weir_flow_ctx_env(st->ctx), &st->cfg, pk_on_delivery, st, NULL);
        st->broken = st->producer == NULL;
        st->txn_ready = false;
        st->txn_init_busy = false;
    }
    if (st->broken) {
        return false;
    }
    if (!st->transactions) {
        return true;
    }
    if (!st->txn_ready && !st->txn_init_busy && !st->init_failed) {
        st->txn_init_busy = weir_producer_init_transactions(st->producer, pk_on_init, st) == 0;
    }
    st->init_failed = false; /* one yield, then try again */
    return st->txn_ready && st->tasks == NULL;
}

/* ---- sending ---- */

/* The key of ff: "Kafka Key", else its kafka.key attribute; *key_out NULL
 * for none. */
static int pk_key(pk_state *st, const weir_flowfile *ff, const void **key_out, int32_t *len_out)
{
    const char *text = NULL;
    size_t len = 0;
    *key_out = NULL;
    *len_out = 0;
    if (st->key != NULL && st->key->value != NULL) {
        int rc = weir_flow_ctx_prop_eval_into(st->ctx, st->key, ff, &st->key_buf);
        if (rc != 0) {
            return rc;
        }
        text = st->key_buf.data;
        len = st->key_buf.len;
    } else if ((text = weir_flow_session_attr(ff, "kafka.key")) != NULL) {
        len = strlen(text);
    } else {
        return 0;
    }
    if (st->key_encoding != WEIR_FLOW_KAFKA_KEY_HEX) {
        *key_out = text;
        *len_out = (int32_t)len;
        return 0;
    }
    if (len / 2 > st->key_cap) {
        uint8_t *n = realloc(st->key_bytes, len / 2);
        if (n == NULL) {
            return WEIR_E_NOMEM;
        }
        st->key_bytes = n;
        st->key_cap = len / 2;
    }
    if (weir_flow_kafka_hex_decode(text, len, st->key_bytes) != 0) {
        return weir_flow_ctx_fail(st->ctx, "the key '%.64s' is not hex", text);
    }
    *key_out = st->key_bytes;
    *len_out = (int32_t)(len / 2);
    return 0;
}

/* Sends one FlowFile of t; on any failure it stays PK_NOT_SENT. */
static void pk_send_one(pk_state *st, pk_task *t, pk_item *it)
{
    const weir_flowfile *ff = it->ff;
    const void *key;
    int32_t key_len;
    const uint8_t *value = NULL;
    size_t value_len = 0;
    int rc = weir_flow_ctx_prop_eval_into(st->ctx, st->topic, ff, &st->topic_buf);
    rc = rc != 0 ? rc
                 : weir_flow_kafka_topic_check(st->ctx, "Topic Name", st->topic_buf.data,
                                               st->topic_buf.len);
    rc = rc != 0 ? rc : pk_key(st, ff, &key, &key_len);
    rc = rc != 0 ? rc : weir_flow_session_read_all(t->s, ff, &value, &value_len);
    if (rc != 0 || value_len > INT32_MAX) {
        return;
    }
    it->uri = weir_flow_kafka_transit_uri(st->bootstrap, st->topic_buf.data, st->topic_buf.len);
    if (it->uri == NULL || weir_producer_send(st->producer, st->topic_buf.data, -1, key, key_len,
                                              value != NULL ? value : (const uint8_t *)"",
                                              (int32_t)value_len, -1, it) != 0) {
        return;
    }
    it->error = PK_WAITING;
    t->pending++;
}

static int pk_trigger(weir_flow_session *s, weir_flow_ctx *ctx)
{
    pk_state *st = weir_flow_ctx_state(ctx);
    WEIR_ASSERT(st != NULL);
    if (!pk_producer_ready(st)) {
        if (st->txn_init_busy && st->parked == NULL) {
            st->parked = s; /* ended by pk_on_init */
            return WEIR_FLOW_PENDING;
        }
        weir_flow_ctx_yield(ctx);
        return 0;
    }
    size_t n = weir_flow_session_get_batch(s, st->batch, st->batch_max);
    if (n == 0) {
        return 0;
    }
    pk_task *t = pk_task_new(st, s, n);
    if (t == NULL) {
        return WEIR_E_NOMEM;
    }
    if (t->txn && weir_producer_begin_transaction(st->producer) != 0) {
        st->broken = true;
        pk_task_free(t);
        return weir_flow_ctx_fail(ctx, "cannot begin a Kafka transaction");
    }
    for (size_t i = 0; i < n; i++) {
        pk_send_one(st, t, &t->items[i]);
    }
    weir_producer_flush(st->producer);
    if (t->txn && weir_producer_commit_transaction(st->producer, pk_on_commit, t) != 0) {
        pk_txn_abort(t, WEIR_KERR_UNKNOWN_SERVER_ERROR);
    }
    if (pk_task_complete(t)) {
        /* nothing reached the producer: routed in this trigger */
        pk_task_route(t);
        pk_task_free(t);
        return 0;
    }
    t->next = st->tasks;
    st->tasks = t;
    return WEIR_FLOW_PENDING;
}

/* ---- start and stop ---- */

static void pk_stop(weir_flow_ctx *ctx)
{
    pk_state *st = weir_flow_ctx_state(ctx);
    if (st == NULL) {
        return;
    }
    /* drops the reports still to come: their sessions are the engine's to roll back */
    if (weir_flow_ctx_abandoning(ctx)) {
        weir_producer_abandon(st->producer);
    } else {
        weir_producer_free(st->producer);
    }
    while (st->tasks != NULL) {
        pk_task *t = st->tasks;
        st->tasks = t->next;
        pk_task_free(t);
    }
    weir_expr_buf_free(&st->topic_buf);
    weir_expr_buf_free(&st->key_buf);
    free(st->key_bytes);
    free(st->batch);
    free(st->bootstrap);
    free(st->txn_id);
    free(st);
    weir_flow_ctx_set_state(ctx, NULL);
}

static int pk_schedule(weir_flow_ctx *ctx)
{
    pk_state *st = calloc(1, sizeof *st);
    if (st == NULL) {
        return WEIR_E_NOMEM;
    }
    st->ctx = ctx;
    weir_flow_ctx_set_state(ctx, st);
    weir_expr_buf_init(&st->topic_buf);
    weir_expr_buf_init(&st->key_buf);
    st->topic = weir_flow_ctx_prop(ctx, "Topic Name");
    st->key = weir_flow_ctx_prop(ctx, "Kafka Key");
    st->key_encoding =
        weir_flow_kafka_key_encoding(weir_flow_ctx_prop_str(ctx, WEIR_FLOW_KAFKA_KEY_ENCODING));
    st->bootstrap = weir_flow_kafka_prop_dup(ctx, WEIR_FLOW_KAFKA_BROKERS);
    int rc = st->bootstrap == NULL
                 ? WEIR_E_NOMEM
                 : weir_flow_kafka_brokers_check(ctx, WEIR_FLOW_KAFKA_BROKERS, st->bootstrap);
    if (rc == 0 && !st->topic->has_expr) {
        rc = weir_flow_kafka_topic_check(ctx, "Topic Name", st->topic->value,
                                         strlen(st->topic->value));
    }
    rc = rc != 0 ? rc
                 : weir_flow_kafka_producer_config(ctx, st->bootstrap, &st->cfg, &st->transactions,
                                                   &st->txn_id);
    st->batch_max = weir_flow_ctx_batch_max(ctx);
    st->batch = calloc(st->batch_max, sizeof *st->batch);
    if (rc == 0 && st->batch == NULL) {
        rc = WEIR_E_NOMEM;
    }
    if (rc == 0) {
        const char *why = NULL;
        st->producer =
            weir_producer_new(weir_flow_ctx_env(ctx), &st->cfg, pk_on_delivery, st, &why);
        if (st->producer == NULL) {
            rc = weir_flow_ctx_fail(ctx, "the Kafka producer refused its settings: %s",
                                    why != NULL ? why : "out of memory");
        }
    }
    if (rc != 0) {
        pk_stop(ctx);
    }
    return rc;
}

const weir_flow_processor_type weir_flow_proc_publish_kafka = {
    .name = "PublishKafka",
    .description = "Sends each FlowFile's content as one Kafka record; success only once the "
                   "broker acknowledged it.",
    .relationships = pk_rels,
    .properties = pk_props,
    .dynamic_properties = true,
    .on_schedule = pk_schedule,
    .on_trigger = pk_trigger,
    .on_stop = pk_stop,
};
