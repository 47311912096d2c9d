/* ConsumeKafka: records of Kafka topics become FlowFiles (NiFi's
 * ConsumeKafka_2_6), through weir's own consumer as a member of a consumer
 * group.
 *
 * The consumer lives from on_schedule to on_stop and runs from env events:
 * every record it hands over is copied into a buffer of at most "Max Poll
 * Records" records (and CK_BUFFER_BYTES_MAX bytes). A trigger turns the whole
 * buffer into FlowFiles (one per record, or with a "Message Demarcator" one
 * per partition holding its records joined by the demarcator), each with a
 * RECEIVE event (kafka://<first broker>/<topic>), commits its session, and
 * only then commits the consumer's positions to the group: the FlowFiles are
 * in the write-ahead log before Kafka forgets them, so a crash delivers them
 * again instead of losing them (at least once, NiFi's order). Because the
 * buffer is always drained whole before a commit, the consumer's position of
 * every partition is exactly the offset after the last record in a FlowFile.
 *
 * Back pressure: while an output is full the engine does not trigger the
 * processor and the buffer fills. Once it is full every assigned partition
 * is paused (weir_consumer_pause, Kafka's KafkaConsumer.pause): nothing is
 * fetched and the records of a fetch already in flight stay in the consumer.
 * The trigger that drains the buffer resumes them, and the consumer hands
 * over what it kept before it fetches again, so a long back pressure costs
 * no fetch and no record is fetched twice. A rebalance forgets the pause
 * (it belongs to the assignment): on_assign pauses the new partitions again
 * if the buffer is still full. A record that finds no room anyway (the byte
 * limit, or out of memory) is handed back: the partition is seeked to its
 * offset and paused, so nothing is lost and memory stays bounded.
 *
 * Idle: a trigger that finds the buffer empty does not return; it keeps its
 * task (WEIR_FLOW_PENDING) and ends it when the next record arrives, which
 * makes the engine trigger the processor again (a long poll). So an idle
 * consumer costs no triggers, and a record is picked up at once.
 *
 * Rebalances: on_revoke drops the buffered records of the revoked
 * partitions (their offsets were not committed: the next owner reads them).
 * Stopping drops the buffer the same way and leaves the group: the consumer
 * is closed (LeaveGroup) and freed once that is over
 * (weir_flow_kafka_consumer_retire), after the processor's state is gone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/consumer.h"
#include "core/assert.h"
#include "flow/proc_kafka_common.h"
#include "flow/session.h"
#include "proto/kafka.h"

#define CK_BUFFER_BYTES_MAX (16u << 20)
#define CK_TOPICS_MAX 64

typedef struct ck_record {
    int32_t topic_index;
    int32_t partition;
    int64_t offset;
    int64_t timestamp;
    int32_t key_len;   /* -1: null key */
    int32_t value_len; /* -1: null value */
    bool emitted;      /* bundles: already in a FlowFile of this trigger */
    uint8_t data[];    /* key bytes, then value bytes */
} ck_record;

typedef struct ck_state ck_state;

#define CK_MAGIC 0x434b5354u /* "CKST": the state is ConsumeKafka's */

/* The consumer's callback context: outlives the state while the consumer
 * leaves its group after on_stop (st is NULL then). */
typedef struct ck_link {
    ck_state *st;
    weir_consumer *consumer;
    weir_env *env;
} ck_link;

struct ck_state {
    uint32_t magic;
    weir_flow_ctx *ctx;
    ck_link *link;
    char *bootstrap;
    char *group_id;
    char *topics[CK_TOPICS_MAX];
    char *uris[CK_TOPICS_MAX]; /* transit URI per topic */
    int32_t topic_count;
    bool commit_offsets;
    weir_flow_kafka_key_enc key_encoding;
    char *demarcator; /* NULL: one FlowFile per record */
    size_t demarcator_len;
    ck_record **buf;
    size_t count;
    size_t cap; /* Max Poll Records */
    uint64_t bytes;
    weir_flow_session *parked; /* the task waiting for records */
    weir_iov *iov;             /* bundles' scratch */
    char *scratch;             /* attribute text (hex keys) */
    size_t scratch_cap;
    bool paused;          /* the assignment is paused: the buffer is full */
    uint64_t pauses;      /* times the buffer filled and paused it */
    uint64_t handed_back; /* records that found no room: seeked back */
};

static const char *const ck_resets[] = {"earliest", "latest", "none", NULL};

static const weir_flow_property_desc ck_props[] = {
    {.name = WEIR_FLOW_KAFKA_BROKERS,
     .description = "bootstrap.servers: host:port[,host:port...]",
     .required = true},
    {.name = "Topic Name(s)",
     .description = "topics to subscribe to, comma-separated",
     .required = true},
    {.name = "Group ID", .description = "group.id of the consumer group", .required = true},
    {.name = "Offset Reset",
     .description = "auto.offset.reset: where to start without a committed offset "
                    "(a dynamic auto.offset.reset overrides it)",
     .default_value = "latest",
     .kind = WEIR_FLOW_PROP_CHOICE,
     .choices = ck_resets},
    {.name = "Commit Offsets",
     .description = "commit the offsets after each session (false: another step commits)",
     .default_value = "true",
     .kind = WEIR_FLOW_PROP_BOOL},
    {.name = "Honor Transactions",
     .description = "read_committed: skip aborted transactions, stop at the last stable offset",
     .default_value = "true",
     .kind = WEIR_FLOW_PROP_BOOL},
    {.name = "Max Poll Records",
     .description = "records buffered, and taken by one session, at most",
     .default_value = "10000",
     .kind = WEIR_FLOW_PROP_INT},
    {.name = "Message Demarcator",
     .description = "when set, one FlowFile per partition and session: the records joined "
                    "by this text"},
    {.name = WEIR_FLOW_KAFKA_KEY_ENCODING,
     .description = "how the kafka.key attribute holds the key",
     .default_value = "utf-8",
     .kind = WEIR_FLOW_PROP_CHOICE,
     .choices = weir_flow_kafka_key_encodings},
    {0},
};

static const weir_flow_relationship_desc ck_rels[] = {
    {.name = "success", .description = "FlowFiles received from Kafka"},
    {0},
};

/* ---- the buffer ---- */

static void ck_buffer_clear(ck_state *st)
{
    for (size_t i = 0; i < st->count; i++) {
        free(st->buf[i]);
    }
    st->count = 0;
    st->bytes = 0;
}

static int32_t ck_topic_index(const ck_state *st, const char *topic)
{
    for (int32_t i = 0; i < st->topic_count; i++) {
        if (strcmp(st->topics[i], topic) == 0) {
            return i;
        }
    }
    return -1;
}

static bool ck_full(const ck_state *st)
{
    return st->count >= st->cap || st->bytes >= CK_BUFFER_BYTES_MAX;
}

/* Pauses (true) or resumes every assigned partition. */
static void ck_pause_set(ck_state *st, bool paused)
{
    if (st->paused == paused) {
        return;
    }
    const weir_topic_partition *tps;
    int32_t n;
    weir_consumer_assignment(st->link->consumer, &tps, &n);
    int rc = paused ? weir_consumer_pause(st->link->consumer, tps, n)
                    : weir_consumer_resume(st->link->consumer, tps, n);
    WEIR_ASSERT(rc == 0); /* the consumer's own assignment */
    st->paused = paused;
    st->pauses += paused ? 1 : 0;
}

static void ck_on_record(void *arg, const weir_consumer_record *rec)
{
    ck_link *link = arg;
    ck_state *st = link->st;
    int32_t ti = st != NULL ? ck_topic_index(st, rec->topic) : -1;
    if (ti < 0) {
        return;
    }
    size_t klen = rec->key_len > 0 ? (size_t)rec->key_len : 0;
    size_t vlen = rec->value_len > 0 ? (size_t)rec->value_len : 0;
    size_t size = sizeof(ck_record) + klen + vlen;
    ck_record *r = NULL;
    if (st->count < st->cap && (st->count == 0 || st->bytes + size <= CK_BUFFER_BYTES_MAX)) {
        r = malloc(size);
    }
    if (r == NULL) {
        /* no room (bytes, or out of memory): hand the record back to the log */
        if (weir_consumer_seek(link->consumer, rec->topic, rec->partition, rec->offset) != 0) {
            weir_log_error(link->env, "flow: %s: %s-%d: cannot seek back to %lld",
                           weir_flow_ctx_name(st->ctx), rec->topic, rec->partition,
                           (long long)rec->offset);
        }
        st->handed_back++;
        ck_pause_set(st, true);
        return;
    }
    *r = (ck_record){ti,
                     rec->partition,
                     rec->offset,
                     rec->timestamp,
                     rec->key != NULL ? (int32_t)klen : -1,
                     rec->value != NULL ? (int32_t)vlen : -1,
                     false};
    if (klen > 0) {
        memcpy(r->data, rec->key, klen);
    }
    if (vlen > 0) {
        memcpy(r->data + klen, rec->value, vlen);
    }
    st->buf[st->count++] = r;
    st->bytes += size;
    if (ck_full(st)) {
        ck_pause_set(st, true); /* the rest waits in the consumer */
    }
    if (st->parked != NULL) {
        weir_flow_session *s = st->parked;
        st->parked = NULL;
        weir_flow_ctx_task_done(st->ctx, s);
    }
}

/* The revoked partitions' records go: their offsets were never committed. */
static void ck_on_revoke(void *arg, const weir_topic_partition *tps, int32_t count)
{
    ck_link *link = arg;
    ck_state *st = link->st;
    if (st == NULL) {
        return;
    }
    size_t kept = 0;
    for (size_t i = 0; i < st->count; i++) {
        ck_record *r = st->buf[i];
        bool revoked = false;
        for (int32_t k = 0; k < count && !revoked; k++) {
            revoked = tps[k].partition == r->partition &&
                      strcmp(tps[k].topic, st->topics[r->topic_index]) == 0;
        }
        if (revoked) {
            st->bytes -= sizeof(ck_record) + (r->key_len > 0 ? (size_t)r->key_len : 0) +
                         (r->value_len > 0 ? (size_t)r->value_len : 0);
            free(r);
        } else {
            st->buf[kept++] = r;
        }
    }
    st->count = kept;
}

/* A new assignment is not paused (a rebalance forgets pauses): pause it
 * again while the buffer is full. */
static void ck_on_assign(void *arg, const weir_topic_partition *tps, int32_t count)
{
    (void)tps;
    (void)count;
    ck_link *link = arg;
    ck_state *st = link->st;
    if (st == NULL) {
        return;
    }
    st->paused = false;
    if (ck_full(st)) {
        ck_pause_set(st, true);
    }
}

static void ck_on_error(void *arg, const char *topic, int32_t partition, int16_t error,
                        int64_t offset)
{
    ck_link *link = arg;
    const char *name = link->st != NULL ? weir_flow_ctx_name(link->st->ctx) : "ConsumeKafka";
    if (topic == NULL) {
        weir_log_error(link->env, "flow: %s: the group refused the consumer: %s", name,
                       weir_kerr_name(error));
        return;
    }
    weir_log_warn(link->env, "flow: %s: %s-%d: %s at offset %lld", name, topic, partition,
                  weir_kerr_name(error), (long long)offset);
}

static void ck_on_commit(void *arg, int16_t error)
{
    ck_link *link = arg;
    if (error != WEIR_KERR_NONE) {
        weir_log_info(link->env,
                      "flow: %s: offset commit failed (%s): a restart or rebalance reads "
                      "again from the last committed offset",
                      link->st != NULL ? weir_flow_ctx_name(link->st->ctx) : "ConsumeKafka",
                      weir_kerr_name(error));
    }
}

/* ---- records to FlowFiles ---- */

static int ck_attr_num(weir_flow_session *s, weir_flowfile *ff, const char *key, int64_t v)
{
    char text[24];
    snprintf(text, sizeof text, "%lld", (long long)v);
    return weir_flow_session_put_attr(s, ff, key, text);
}

static int ck_attr_key(ck_state *st, weir_flow_session *s, weir_flowfile *ff, const ck_record *r)
{
    if (r->key_len < 0 || st->key_encoding == WEIR_FLOW_KAFKA_KEY_NONE) {
        return 0;
    }
    if (st->key_encoding == WEIR_FLOW_KAFKA_KEY_UTF8) {
        return weir_flow_session_put_attr_n(s, ff, "kafka.key", (const char *)r->data,
                                            (size_t)r->key_len);
    }
    size_t need = 2 * (size_t)r->key_len + 1;
    if (need > st->scratch_cap) {
        char *n = realloc(st->scratch, need);
        if (n == NULL) {
            return WEIR_E_NOMEM;
        }
        st->scratch = n;
        st->scratch_cap = need;
    }
    weir_flow_kafka_hex_encode(r->data, (size_t)r->key_len, st->scratch);
    return weir_flow_session_put_attr(s, ff, "kafka.key", st->scratch);
}

/* The attributes of a FlowFile holding first..last of one partition (count
 * records); kafka.key only for a single record. */
static int ck_attrs(ck_state *st, weir_flow_session *s, weir_flowfile *ff, const ck_record *first,
                    const ck_record *last, size_t count)
{
    int rc = weir_flow_session_put_attr(s, ff, "kafka.topic", st->topics[first->topic_index]);
    rc = rc != 0 ? rc : ck_attr_num(s, ff, "kafka.partition", first->partition);
    rc = rc != 0 ? rc : ck_attr_num(s, ff, "kafka.offset", first->offset);
    rc = rc != 0 ? rc : ck_attr_num(s, ff, "kafka.timestamp", first->timestamp);
    if (st->demarcator != NULL) {
        rc = rc != 0 ? rc : ck_attr_num(s, ff, "kafka.count", (int64_t)count);
        rc = rc != 0 ? rc : ck_attr_num(s, ff, "kafka.max.offset", last->offset);
    }
    if (count == 1) {
        rc = rc != 0 ? rc : ck_attr_key(st, s, ff, first);
    }
    return rc;
}

static const uint8_t *ck_value(const ck_record *r)
{
    return r->data + (r->key_len > 0 ? r->key_len : 0);
}

static int ck_emit_records(ck_state *st, weir_flow_session *s)
{
    for (size_t i = 0; i < st->count; i++) {
        const ck_record *r = st->buf[i];
        weir_flowfile *ff = weir_flow_session_receive(s, st->uris[r->topic_index]);
        if (ff == NULL) {
            return WEIR_E_NOMEM;
        }
        int rc = r->value_len > 0
                     ? weir_flow_session_write(s, ff, ck_value(r), (size_t)r->value_len)
                     : 0;
        rc = rc != 0 ? rc : ck_attrs(st, s, ff, r, r, 1);
        if (rc != 0) {
            return rc;
        }
        weir_flow_session_transfer(s, ff, 0);
    }
    return 0;
}

/* One FlowFile per partition: its records in offset order, demarcated. */
static int ck_emit_bundles(ck_state *st, weir_flow_session *s)
{
    for (size_t i = 0; i < st->count; i++) {
        st->buf[i]->emitted = false;
    }
    for (size_t i = 0; i < st->count; i++) {
        ck_record *first = st->buf[i];
        if (first->emitted) {
            continue;
        }
        ck_record *last = first;
        int n_iov = 0;
        size_t count = 0;
        for (size_t j = i; j < st->count; j++) {
            ck_record *r = st->buf[j];
            if (r->emitted || r->topic_index != first->topic_index ||
                r->partition != first->partition) {
                continue;
            }
            if (count > 0) {
                st->iov[n_iov++] = (weir_iov){st->demarcator, st->demarcator_len};
            }
            st->iov[n_iov++] = (weir_iov){ck_value(r), r->value_len > 0 ? (size_t)r->value_len : 0};
            r->emitted = true;
            last = r;
            count++;
        }
        weir_flowfile *ff = weir_flow_session_receive(s, st->uris[first->topic_index]);
        if (ff == NULL) {
            return WEIR_E_NOMEM;
        }
        int rc = weir_flow_session_writev(s, ff, st->iov, n_iov);
        rc = rc != 0 ? rc : ck_attrs(st, s, ff, first, last, count);
        if (rc != 0) {
            return rc;
        }
        weir_flow_session_transfer(s, ff, 0);
    }
    return 0;
}

static int ck_trigger(weir_flow_session *s, weir_flow_ctx *ctx)
{
    ck_state *st = weir_flow_ctx_state(ctx);
    WEIR_ASSERT(st != NULL && st->count <= st->cap);
    if (st->count == 0) {
        if (st->parked == NULL) {
            st->parked = s; /* ended by the next record */
            weir_flow_ctx_task_waiting(ctx, true); /* not busy: waiting for Kafka */
            return WEIR_FLOW_PENDING;
        }
        weir_flow_ctx_yield(ctx); /* another task already waits */
        return 0;
    }
    int rc = st->demarcator != NULL ? ck_emit_bundles(st, s) : ck_emit_records(st, s);
    rc = rc != 0 ? rc : weir_flow_session_commit(s);
    if (rc != 0) {
        return rc; /* rolled back by the engine; the buffer stays for the next try */
    }
    ck_buffer_clear(st);
    if (st->commit_offsets &&
        weir_consumer_commit(st->link->consumer, ck_on_commit, st->link) != 0) {
        weir_log_debug(weir_flow_ctx_env(ctx), "flow: %s: no offsets to commit yet",
                       weir_flow_ctx_name(ctx));
    }
    ck_pause_set(st, false); /* after the commit: positions exclude what the consumer kept */
    return 0;
}

bool weir_flow_consume_kafka_stats_get(const weir_flow_ctx *ctx, weir_flow_consume_kafka_stats *out)
{
    memset(out, 0, sizeof *out);
    if (weir_flow_ctx_prop(ctx, "Max Poll Records") == NULL ||
        weir_flow_ctx_prop(ctx, "Message Demarcator") == NULL) {
        return false; /* not a ConsumeKafka */
    }
    const ck_state *st = weir_flow_ctx_state(ctx);
    if (st == NULL || st->link == NULL || st->link->consumer == NULL) {
        return false;
    }
    WEIR_ASSERT(st->magic == CK_MAGIC);
    out->fetches = weir_consumer_fetch_count(st->link->consumer);
    out->pauses = st->pauses;
    out->handed_back = st->handed_back;
    out->paused = st->paused;
    return true;
}

/* ---- start and stop ---- */

static void ck_stop(weir_flow_ctx *ctx)
{
    ck_state *st = weir_flow_ctx_state(ctx);
    if (st == NULL) {
        return;
    }
    ck_link *link = st->link;
    if (link != NULL && link->consumer == NULL) {
        free(link);
    } else if (link != NULL && weir_flow_ctx_abandoning(ctx)) {
        weir_consumer_abandon(link->consumer);
        free(link);
    } else if (link != NULL) {
        if (st->handed_back > 0) {
            weir_log_info(link->env, "flow: %s: %llu records handed back to the log (no room)",
                          weir_flow_ctx_name(ctx), (unsigned long long)st->handed_back);
        }
        link->st = NULL; /* the consumer's callbacks see it until it has left */
        weir_flow_kafka_consumer_retire(link->env, link->consumer, link);
    }
    ck_buffer_clear(st);
    for (int32_t i = 0; i < st->topic_count; i++) {
        free(st->topics[i]);
        free(st->uris[i]);
    }
    free(st->bootstrap);
    free(st->group_id);
    free(st->demarcator);
    free(st->buf);
    free(st->iov);
    free(st->scratch);
    free(st); /* a parked session is the engine's to close */
    weir_flow_ctx_set_state(ctx, NULL);
}

/* The buffer's and FlowFiles' settings, then the consumer's. */
static int ck_settings(ck_state *st, weir_consumer_config *cfg)
{
    weir_flow_ctx *ctx = st->ctx;
    int64_t max_poll = 0;
    int rc = weir_flow_ctx_prop_bool(ctx, "Commit Offsets", &st->commit_offsets);
    rc = rc != 0 ? rc : weir_flow_ctx_prop_int(ctx, "Max Poll Records", &max_poll);
    if (rc == 0 && (max_poll < 1 || max_poll > 1000000)) {
        rc = weir_flow_ctx_fail(ctx, "property 'Max Poll Records': %lld is not in [1, 1000000]",
                                (long long)max_poll);
    }
    st->cap = rc == 0 ? (size_t)max_poll : 0;
    st->key_encoding =
        weir_flow_kafka_key_encoding(weir_flow_ctx_prop_str(ctx, WEIR_FLOW_KAFKA_KEY_ENCODING));
    st->demarcator = weir_flow_kafka_prop_dup(ctx, "Message Demarcator");
    st->demarcator_len = st->demarcator != NULL ? strlen(st->demarcator) : 0;
    if (st->demarcator_len == 0) {
        free(st->demarcator); /* unset: one FlowFile per record */
        st->demarcator = NULL;
    }
    st->group_id = weir_flow_kafka_prop_dup(ctx, "Group ID");
    if (rc == 0 && st->group_id == NULL) {
        rc = WEIR_E_NOMEM;
    }
    rc = rc != 0 ? rc
                 : weir_flow_kafka_topics_split(ctx, "Topic Name(s)",
                                                weir_flow_ctx_prop_str(ctx, "Topic Name(s)"),
                                                st->topics, CK_TOPICS_MAX, &st->topic_count);
    for (int32_t i = 0; rc == 0 && i < st->topic_count; i++) {
        st->uris[i] =
            weir_flow_kafka_transit_uri(st->bootstrap, st->topics[i], strlen(st->topics[i]));
        rc = st->uris[i] == NULL ? WEIR_E_NOMEM : 0;
    }
    return rc != 0 ? rc : weir_flow_kafka_consumer_config(ctx, st->bootstrap, st->group_id, cfg);
}

static int ck_schedule(weir_flow_ctx *ctx)
{
    ck_state *st = calloc(1, sizeof *st);
    if (st == NULL) {
        return WEIR_E_NOMEM;
    }
    st->magic = CK_MAGIC;
    st->ctx = ctx;
    weir_flow_ctx_set_state(ctx, st);
    weir_consumer_config cfg;
    st->bootstrap = weir_flow_kafka_prop_dup(ctx, WEIR_FLOW_KAFKA_BROKERS);
    int rc = st->bootstrap == NULL
                 ? WEIR_E_NOMEM
                 : weir_flow_kafka_brokers_check(ctx, WEIR_FLOW_KAFKA_BROKERS, st->bootstrap);
    rc = rc != 0 ? rc : ck_settings(st, &cfg);
    if (rc == 0) {
        st->buf = calloc(st->cap, sizeof *st->buf);
        st->iov = st->demarcator != NULL ? calloc(2 * st->cap, sizeof *st->iov) : NULL;
        st->link = calloc(1, sizeof *st->link);
        bool ok = st->buf != NULL && st->link != NULL && (!st->demarcator || st->iov != NULL);
        rc = ok ? 0 : WEIR_E_NOMEM;
    }
    if (rc == 0) {
        st->link->st = st;
        st->link->env = weir_flow_ctx_env(ctx);
        weir_consumer_callbacks cbs = {ck_on_record, ck_on_error, st->link, ck_on_revoke,
                                       ck_on_assign};
        const char *why = NULL;
        st->link->consumer = weir_consumer_new(st->link->env, &cfg, &cbs, &why);
        if (st->link->consumer == NULL) {
            rc = weir_flow_ctx_fail(ctx, "the Kafka consumer refused its settings: %s",
                                    why != NULL ? why : "out of memory");
        } else if (weir_consumer_subscribe(st->link->consumer, (const char *const *)st->topics,
                                           st->topic_count) != 0) {
            rc = weir_flow_ctx_fail(ctx, "property 'Topic Name(s)': cannot subscribe");
        }
    }
    if (rc != 0) {
        ck_stop(ctx);
    }
    return rc;
}

const weir_flow_processor_type weir_flow_proc_consume_kafka = {
    .name = "ConsumeKafka",
    .description = "Consumes records of Kafka topics as a consumer-group member; one FlowFile "
                   "per record, or per partition and session with a Message Demarcator.",
    .relationships = ck_rels,
    .properties = ck_props,
    .dynamic_properties = true,
    .on_schedule = ck_schedule,
    .on_trigger = ck_trigger,
    .on_stop = ck_stop,
};
