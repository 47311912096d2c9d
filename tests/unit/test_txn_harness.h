/* A scripted Kafka client for the transaction tests, inside the simulator.
 *
 * A test is a list of steps (tx_step). The harness runs them one after the
 * other: a step looks at the last response (t->r) and then sends one request
 * (tx_send and the tx_* builders below), sleeps (tx_sleep) or finishes
 * (tx_finish); the next step runs when the response arrives or the sleep
 * ends. tx_retry(t, ms) runs the previous step again (the one that sent the
 * request) after a pause, for retriable errors. A step that does none of
 * these lets the next one run at once. Requests go out over one connection
 * per broker name, made on first use ("b1" -> "b1:9092").
 *
 * Every run is a forked child (SimGrid starts once per process); the child
 * sends back a tx_outcome through a pipe. */
#ifndef WEIR_TEST_TXN_HARNESS_H
#define WEIR_TEST_TXN_HARNESS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker/broker.h"
#include "log/batch.h"
#include "log/log.h"
#include "log/producer_state.h"
#include "proto/messages.h"
#include "sim.h"
#include "child_exit.h"

#define MS 1000000LL

/* Helpers a test file may not use. */
#define TX_MAYBE_UNUSED __attribute__((unused))

typedef struct tx tx;
typedef void (*tx_step)(tx *t);

typedef struct tx_resp {
    int16_t api_key;
    int err; /* 0, a decode error, or WEIR_E_CONNRESET when the connection closed */
    union {
        weir_produce_response produce;
        weir_fetch_response fetch;
        weir_list_offsets_response list_offsets;
        weir_init_producer_id_response init;
        weir_add_partitions_to_txn_response add_parts;
        weir_add_offsets_to_txn_response add_offsets;
        weir_end_txn_response end;
        weir_find_coordinator_response find;
        weir_create_topics_response create;
        weir_metadata_response metadata;
    } u;
} tx_resp;

typedef struct tx_conn {
    char name[16];
    weir_conn *conn;
} tx_conn;

/* What a read_committed consumer keeps of a fetch: the values of data
 * records not in an aborted transaction (Kafka's consumer: aborted
 * transactions by first offset; an ABORT marker ends one), in order. */
typedef struct tx_seen {
    int n_values;
    char values[256][32];
    int64_t offsets[256];
    int n_commit_markers;
    int n_abort_markers;
    int64_t last_offset; /* of the last batch, -1 if none */
} tx_seen;

static void tx_consume(const weir_fetch_partition_response *fp, bool read_committed, tx_seen *out);

struct tx {
    weir_world *w;
    weir_env *env;
    tx_conn conns[8];
    int n_conns;
    const tx_step *prog;
    int n_prog;
    int pc;
    bool waiting; /* a request or a sleep is pending */
    bool running; /* inside tx_run */
    int16_t want_key;
    int16_t want_ver;
    weir_conn *want_conn;
    int32_t corr;
    tx_resp r;
    weir_arena arena;
    bool done;
    char failure[512];
    /* scratch for the steps */
    int64_t pid, pid2;
    int16_t epoch, epoch2;
    int64_t off[16];
    int64_t n[16];
    int32_t coord; /* a broker id */
    int tries;
    /* one background Fetch (tx_fetch_bg), answered while the steps go on */
    weir_conn *bg_conn;
    bool bg_waiting;
    int64_t bg_sent_ns;
    int64_t bg_at_ns; /* when its answer came, -1 before */
    int bg_err;
    int64_t bg_lso;
    tx_seen bg_seen;
};

static tx T;

static void tx_fail(tx *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tx_fail(tx *t, const char *fmt, ...)
{
    if (t->failure[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        int n = snprintf(t->failure, sizeof t->failure, "step %d: ", t->pc - 1);
        vsnprintf(t->failure + n, sizeof t->failure - (size_t)n, fmt, ap);
        va_end(ap);
    }
    t->done = true;
    weir_world_stop(t->w);
}

/* Fails the test and leaves the step when cond does not hold. */
#define TX_CHECK(t, cond, ...)                                                                     \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            tx_fail((t), __VA_ARGS__);                                                             \
            return;                                                                                \
        }                                                                                          \
    } while (0)

static void tx_run(tx *t);

static void tx_on_frame(weir_conn *conn, const uint8_t *p, size_t len, void *arg)
{
    tx *t = arg;
    if (t->bg_waiting && conn == t->bg_conn) {
        weir_rd rd;
        weir_rd_init(&rd, p, len);
        weir_arena a;
        weir_arena_init(&a, 0);
        weir_fetch_response f;
        int32_t corr;
        t->bg_err = weir_decode_response_header(&rd, WEIR_API_FETCH, 11, &corr);
        if (t->bg_err == 0) {
            t->bg_err = weir_decode_fetch_response(&rd, 11, &a, &f);
        }
        if (t->bg_err == 0 && f.topic_count == 1 && f.topics[0].partition_count == 1) {
            tx_consume(&f.topics[0].partitions[0], true, &t->bg_seen);
            t->bg_lso = f.topics[0].partitions[0].last_stable_offset;
        }
        weir_arena_free(&a);
        t->bg_at_ns = weir_now_ns(t->env);
        t->bg_waiting = false;
        return;
    }
    if (!t->waiting || conn != t->want_conn) {
        return;
    }
    weir_rd rd;
    weir_rd_init(&rd, p, len);
    weir_arena_reset(&t->arena);
    memset(&t->r, 0, sizeof t->r);
    t->r.api_key = t->want_key;
    int32_t corr = 0;
    int16_t v = t->want_ver;
    int err = weir_decode_response_header(&rd, t->want_key, v, &corr);
    if (err == 0) {
        switch (t->want_key) {
        case WEIR_API_PRODUCE:
            err = weir_decode_produce_response(&rd, v, &t->arena, &t->r.u.produce);
            break;
        case WEIR_API_FETCH:
            err = weir_decode_fetch_response(&rd, v, &t->arena, &t->r.u.fetch);
            break;
        case WEIR_API_LIST_OFFSETS:
            err = weir_decode_list_offsets_response(&rd, v, &t->arena, &t->r.u.list_offsets);
            break;
        case WEIR_API_INIT_PRODUCER_ID:
            err = weir_decode_init_producer_id_response(&rd, v, &t->arena, &t->r.u.init);
            break;
        case WEIR_API_ADD_PARTITIONS_TO_TXN:
            err = weir_decode_add_partitions_to_txn_response(&rd, v, &t->arena, &t->r.u.add_parts);
            break;
        case WEIR_API_ADD_OFFSETS_TO_TXN:
            err = weir_decode_add_offsets_to_txn_response(&rd, v, &t->arena, &t->r.u.add_offsets);
            break;
        case WEIR_API_END_TXN:
            err = weir_decode_end_txn_response(&rd, v, &t->arena, &t->r.u.end);
            break;
        case WEIR_API_FIND_COORDINATOR:
            err = weir_decode_find_coordinator_response(&rd, v, &t->arena, &t->r.u.find);
            break;
        case WEIR_API_CREATE_TOPICS:
            err = weir_decode_create_topics_response(&rd, v, &t->arena, &t->r.u.create);
            break;
        case WEIR_API_METADATA:
            err = weir_decode_metadata_response(&rd, v, &t->arena, &t->r.u.metadata);
            break;
        default:
            err = WEIR_E_UNSUPPORTED;
        }
    }
    if (err == 0 && corr != t->corr) {
        err = WEIR_E_CORRUPT;
    }
    t->r.err = err;
    t->waiting = false;
    tx_run(t);
}

static void tx_on_close(weir_conn *conn, int reason, void *arg)
{
    (void)reason;
    tx *t = arg;
    for (int i = 0; i < t->n_conns; i++) {
        if (t->conns[i].conn == conn) {
            t->conns[i].conn = NULL;
        }
    }
    if (t->waiting && conn == t->want_conn) {
        memset(&t->r, 0, sizeof t->r);
        t->r.api_key = t->want_key;
        t->r.err = WEIR_E_CONNRESET;
        t->waiting = false;
        t->want_conn = NULL;
        tx_run(t);
    }
}

static weir_conn *tx_conn_to(tx *t, const char *name)
{
    tx_conn *c = NULL;
    for (int i = 0; i < t->n_conns; i++) {
        if (strcmp(t->conns[i].name, name) == 0) {
            c = &t->conns[i];
        }
    }
    if (c == NULL) {
        c = &t->conns[t->n_conns++];
        snprintf(c->name, sizeof c->name, "%s", name);
    }
    if (c->conn == NULL) {
        char addr[32];
        /* "b1~bg": a second connection to b1 */
        snprintf(addr, sizeof addr, "%.*s:9092", (int)strcspn(name, "~"), name);
        weir_conn_handlers h = {NULL, tx_on_frame, tx_on_close, t};
        if (weir_connect(t->env, addr, &h, &c->conn) != 0) {
            c->conn = NULL;
        }
    }
    return c->conn;
}

/* Sends r to broker `name`; the response lands in t->r for the next step. */
static void tx_send(tx *t, const char *name, weir_request *r)
{
    weir_conn *conn = tx_conn_to(t, name);
    if (conn == NULL) {
        tx_fail(t, "cannot connect to %s", name);
        return;
    }
    r->header.correlation_id = ++t->corr;
    r->header.client_id = weir_str_from("txn-test");
    weir_wr w;
    weir_wr_init(&w);
    int err = weir_encode_request(&w, r);
    if (err == 0) {
        err = weir_conn_send(conn, w.buf, w.len);
    }
    weir_wr_free(&w);
    if (err != 0) {
        tx_fail(t, "cannot send %s v%d: %s", weir_api_name(r->header.api_key),
                r->header.api_version, weir_err_str(err));
        return;
    }
    t->want_key = r->header.api_key;
    t->want_ver = r->header.api_version;
    t->want_conn = conn;
    t->waiting = true;
}

static void tx_wake(weir_env *env, void *arg)
{
    (void)env;
    tx *t = arg;
    t->waiting = false;
    tx_run(t);
}

static void tx_sleep(tx *t, int64_t ms)
{
    t->waiting = true;
    weir_timer_start(t->env, ms * MS, tx_wake, t);
}

/* Runs the previous step (the sender) again after ms. */
static void tx_retry(tx *t, int64_t ms)
{
    t->pc -= 2;
    if (++t->tries > 200) {
        t->pc += 2;
        tx_fail(t, "still failing after 200 tries");
        return;
    }
    tx_sleep(t, ms);
}

static void tx_finish(tx *t)
{
    t->done = true;
    weir_world_stop(t->w);
}

static void tx_run(tx *t)
{
    if (t->running) {
        return;
    }
    t->running = true;
    while (!t->done && !t->waiting && t->pc < t->n_prog) {
        int pc = t->pc++;
        t->prog[pc](t);
    }
    if (!t->done && !t->waiting && t->pc >= t->n_prog) {
        tx_finish(t);
    }
    t->running = false;
}

/* ---- request builders (each sends) ---- */

static uint8_t tx_batch_buf[16][4096];
static int tx_batch_next;

/* A batch of n records "tag-0".."tag-(n-1)" from producer (pid, epoch, seq);
 * pid -1: a plain batch. Returns bytes owned by a small ring of buffers. */
static weir_bytes tx_batch(int64_t pid, int16_t epoch, int32_t seq, bool transactional, int n,
                           const char *tag)
{
    weir_batch_builder bb;
    weir_batch_builder_init(&bb);
    if (pid >= 0) {
        weir_batch_builder_set_producer(&bb, pid, epoch, seq);
    }
    if (transactional) {
        weir_batch_builder_set_attributes(&bb, WEIR_BATCH_TRANSACTIONAL);
    }
    for (int i = 0; i < n; i++) {
        char v[64];
        int len = snprintf(v, sizeof v, "%s-%d", tag, i);
        weir_batch_builder_add(&bb, 1700000000000LL + i, NULL, -1, v, len, NULL, 0);
    }
    uint8_t *b = NULL;
    size_t len = 0;
    uint8_t *slot = tx_batch_buf[tx_batch_next++ % 16];
    if (weir_batch_builder_finish(&bb, &b, &len) != 0 || len > sizeof tx_batch_buf[0]) {
        len = 0;
    } else {
        memcpy(slot, b, len);
    }
    weir_batch_builder_free(&bb);
    return (weir_bytes){slot, (int32_t)len};
}

static void tx_produce(tx *t, const char *broker, const char *tid, const char *topic,
                       int32_t partition, weir_bytes batch, int16_t acks)
{
    weir_produce_partition pp = {partition, batch};
    weir_produce_topic pt = {weir_str_from(topic), 1, &pp};
    weir_request r;
    memset(&r, 0, sizeof r);
    r.header.api_key = WEIR_API_PRODUCE;
    r.header.api_version = 7;
    r.body.produce = (weir_produce_request){tid != NULL ? weir_str_from(tid) : WEIR_STR_NULL, acks,
                                            5000, 1, &pt};
    tx_send(t, broker, &r);
}

static void tx_fetch(tx *t, const char *broker, const char *topic, int32_t partition,
                     int64_t offset, int8_t isolation, int32_t max_wait_ms)
{
    weir_fetch_partition fp = {partition, -1, offset, -1, 1 << 20};
    weir_fetch_topic ft = {weir_str_from(topic), 1, &fp};
    weir_request r;
    memset(&r, 0, sizeof r);
    r.header.api_key = WEIR_API_FETCH;
    r.header.api_version = 11;
    r.body.fetch = (weir_fetch_request){-1, max_wait_ms, 1, 1 << 20, isolation,        0, -1,
                                        1,  &ft,         0, NULL,    weir_str_from("")};
    tx_send(t, broker, &r);
}

/* A read_committed Fetch on a connection of its own: the steps go on while it
 * waits; t->bg_at_ns and t->bg_seen tell when and what it got. */
TX_MAYBE_UNUSED static void tx_fetch_bg(tx *t, const char *broker, const char *topic,
                                        int32_t partition, int64_t offset, int32_t max_wait_ms)
{
    char name[16];
    snprintf(name, sizeof name, "%s~bg", broker);
    weir_conn *conn = tx_conn_to(t, name);
    if (conn == NULL) {
        tx_fail(t, "cannot connect to %s", name);
        return;
    }
    weir_fetch_partition fp = {partition, -1, offset, -1, 1 << 20};
    weir_fetch_topic ft = {weir_str_from(topic), 1, &fp};
    weir_request r;
    memset(&r, 0, sizeof r);
    r.header.api_key = WEIR_API_FETCH;
    r.header.api_version = 11;
    r.header.correlation_id = 1000000 + ++t->corr;
    r.header.client_id = weir_str_from("txn-test-bg");
    r.body.fetch = (weir_fetch_request){-1, max_wait_ms, 1,   1 << 20, 1,    0,
                                        -1, 1,           &ft, 0,       NULL, weir_str_from("")};
    weir_wr w;
    weir_wr_init(&w);
    int err = weir_encode_request(&w, &r);
    if (err == 0) {
        err = weir_conn_send(conn, w.buf, w.len);
    }
    weir_wr_free(&w);
    if (err != 0) {
        tx_fail(t, "cannot send the background fetch");
        return;
    }
    t->bg_conn = conn;
    t->bg_waiting = true;
    t->bg_sent_ns = weir_now_ns(t->env);
    t->bg_at_ns = -1;
}

static void tx_list_offsets(tx *t, const char *broker, const char *topic, int32_t partition,
                            int64_t ts, int8_t isolation)
{
    weir_list_offsets_partition lp = {partition, ts, 1};
    weir_list_offsets_topic lt = {weir_str_from(topic), 1, &lp};
    weir_request r;
    memset(&r, 0, sizeof r);
    r.header.api_key = WEIR_API_LIST_OFFSETS;
    r.header.api_version = 3;
    r.body.list_offsets = (weir_list_offsets_request){-1, isolation, 1, &lt};
    tx_send(t, broker, &r);
}

static void tx_init_pid(tx *t, const char *broker, const char *tid, int32_t timeout_ms)
{
    weir_request r;
    memset(&r, 0, sizeof r);
    r.header.api_key = WEIR_API_INIT_PRODUCER_ID;
    r.header.api_version = 1;
    r.body.init_producer_id = (weir_init_producer_id_request){
        tid != NULL ? weir_str_from(tid) : WEIR_STR_NULL, timeout_ms};
    tx_send(t, broker, &r);
}

static void tx_add_parts(tx *t, const char *broker, const char *tid, int64_t pid, int16_t epoch,
                         const char *topic, const int32_t *parts, int n)
{
    weir_add_partitions_to_txn_topic at = {weir_str_from(topic), n, parts};
    weir_request r;
    memset(&r, 0, sizeof r);
    r.header.api_key = WEIR_API_ADD_PARTITIONS_TO_TXN;
    r.header.api_version = 1;
    r.body.add_partitions_to_txn =
        (weir_add_partitions_to_txn_request){weir_str_from(tid), pid, epoch, 1, &at};
    tx_send(t, broker, &r);
}

TX_MAYBE_UNUSED static void tx_add_offsets(tx *t, const char *broker, const char *tid, int64_t pid,
                                           int16_t epoch, const char *group)
{
    weir_request r;
    memset(&r, 0, sizeof r);
    r.header.api_key = WEIR_API_ADD_OFFSETS_TO_TXN;
    r.header.api_version = 1;
    r.body.add_offsets_to_txn =
        (weir_add_offsets_to_txn_request){weir_str_from(tid), pid, epoch, weir_str_from(group)};
    tx_send(t, broker, &r);
}

static void tx_end(tx *t, const char *broker, const char *tid, int64_t pid, int16_t epoch,
                   bool commit, int16_t version)
{
    weir_request r;
    memset(&r, 0, sizeof r);
    r.header.api_key = WEIR_API_END_TXN;
    r.header.api_version = version;
    r.body.end_txn = (weir_end_txn_request){weir_str_from(tid), pid, epoch, commit};
    tx_send(t, broker, &r);
}

static void tx_find_coord(tx *t, const char *broker, const char *key, int8_t type)
{
    weir_request r;
    memset(&r, 0, sizeof r);
    r.header.api_key = WEIR_API_FIND_COORDINATOR;
    r.header.api_version = 2;
    r.body.find_coordinator.key = weir_str_from(key);
    r.body.find_coordinator.key_type = type;
    tx_send(t, broker, &r);
}

TX_MAYBE_UNUSED static void tx_create_topic(tx *t, const char *broker, const char *topic,
                                            int32_t partitions, int16_t rf)
{
    weir_create_topics_topic ct = {weir_str_from(topic), partitions, rf, 0, NULL, 0, NULL};
    weir_request r;
    memset(&r, 0, sizeof r);
    r.header.api_key = WEIR_API_CREATE_TOPICS;
    r.header.api_version = 4;
    r.body.create_topics = (weir_create_topics_request){1, &ct, 5000, false};
    tx_send(t, broker, &r);
}

/* ---- response helpers ---- */

static int16_t tx_produce_code(const tx *t)
{
    const weir_produce_response *p = &t->r.u.produce;
    return t->r.err != 0 || p->topic_count != 1 || p->topics[0].partition_count != 1
               ? -1
               : p->topics[0].partitions[0].error_code;
}

static int64_t tx_produce_offset(const tx *t)
{
    return t->r.u.produce.topics[0].partitions[0].base_offset;
}

static const weir_fetch_partition_response *tx_fetch_part(const tx *t)
{
    const weir_fetch_response *f = &t->r.u.fetch;
    return t->r.err != 0 || f->topic_count != 1 || f->topics[0].partition_count != 1
               ? NULL
               : &f->topics[0].partitions[0];
}

static int64_t tx_list_offset(const tx *t, int16_t *code)
{
    const weir_list_offsets_response *l = &t->r.u.list_offsets;
    if (t->r.err != 0 || l->topic_count != 1 || l->topics[0].partition_count != 1) {
        *code = -1;
        return -1;
    }
    *code = l->topics[0].partitions[0].error_code;
    return l->topics[0].partitions[0].offset;
}

static int16_t tx_add_parts_code(const tx *t)
{
    const weir_add_partitions_to_txn_response *a = &t->r.u.add_parts;
    if (t->r.err != 0 || a->result_count < 1 || a->results[0].result_count < 1) {
        return -1;
    }
    int16_t code = a->results[0].results[0].error_code;
    for (int32_t i = 0; i < a->result_count; i++) {
        for (int32_t k = 0; k < a->results[i].result_count; k++) {
            if (a->results[i].results[k].error_code != code) {
                return -2; /* mixed */
            }
        }
    }
    return code;
}

/* Retriable coordinator errors. */
static bool tx_coord_retriable(int16_t code)
{
    return code == WEIR_KERR_COORDINATOR_LOAD_IN_PROGRESS || code == WEIR_KERR_NOT_COORDINATOR ||
           code == WEIR_KERR_COORDINATOR_NOT_AVAILABLE || code == WEIR_KERR_CONCURRENT_TRANSACTIONS;
}

static void tx_consume(const weir_fetch_partition_response *fp, bool read_committed, tx_seen *out)
{
    memset(out, 0, sizeof *out);
    out->last_offset = -1;
    int64_t aborted_pid[64];
    int64_t aborted_first[64];
    int n_aborted = fp->aborted_count > 0 ? (fp->aborted_count < 64 ? fp->aborted_count : 64) : 0;
    for (int i = 0; i < n_aborted; i++) {
        aborted_pid[i] = fp->aborted[i].producer_id;
        aborted_first[i] = fp->aborted[i].first_offset;
    }
    int64_t active[64];
    int n_active = 0;
    const uint8_t *p = fp->records.p;
    size_t len = fp->records.len > 0 ? (size_t)fp->records.len : 0;
    for (size_t at = 0; len - at >= WEIR_BATCH_HEADER_BYTES;) {
        weir_batch_header h;
        weir_batch_header_decode(p + at, &h);
        size_t total = (size_t)weir_batch_total_bytes(&h);
        if (total > len - at) {
            break;
        }
        out->last_offset = weir_batch_last_offset(&h);
        /* transactions that start at or before this batch become active */
        for (int i = 0; read_committed && i < n_aborted; i++) {
            if (aborted_first[i] >= 0 && aborted_first[i] <= h.base_offset) {
                active[n_active++] = aborted_pid[i];
                aborted_first[i] = -1;
            }
        }
        bool is_active = false;
        for (int i = 0; i < n_active; i++) {
            is_active = is_active || active[i] == h.producer_id;
        }
        if (h.attributes & WEIR_BATCH_CONTROL) {
            int16_t type = -1;
            int32_t ce = 0;
            if (weir_control_marker_parse(p + at, total, &type, &ce) == 0) {
                if (type == WEIR_CONTROL_COMMIT) {
                    out->n_commit_markers++;
                } else {
                    out->n_abort_markers++;
                    for (int i = 0; i < n_active; i++) {
                        if (active[i] == h.producer_id) {
                            active[i] = active[--n_active];
                            break;
                        }
                    }
                }
            }
        } else if (!(read_committed && (h.attributes & WEIR_BATCH_TRANSACTIONAL) && is_active)) {
            weir_record_iter it;
            weir_record rec;
            if (weir_record_iter_init(&it, p + at, total) == 0) {
                while (weir_record_next(&it, &rec) == 1 && out->n_values < 256) {
                    int vl = rec.value_len < 31 ? rec.value_len : 31;
                    memcpy(out->values[out->n_values], rec.value, (size_t)(vl > 0 ? vl : 0));
                    out->values[out->n_values][vl > 0 ? vl : 0] = '\0';
                    out->offsets[out->n_values] = h.base_offset + rec.offset_delta;
                    out->n_values++;
                }
            }
        }
        at += total;
    }
}

TX_MAYBE_UNUSED static bool tx_seen_has_prefix(const tx_seen *s, const char *prefix)
{
    for (int i = 0; i < s->n_values; i++) {
        if (strncmp(s->values[i], prefix, strlen(prefix)) == 0) {
            return true;
        }
    }
    return false;
}

/* ---- running ---- */

typedef struct tx_outcome {
    bool done;
    uint64_t hash;
    char failure[512];
    int64_t n[16];
} tx_outcome;

static void tx_start_cb(weir_env *env, void *arg)
{
    (void)env;
    tx_run(arg);
}

static void *tx_client_start(weir_env *env, void *arg)
{
    tx *t = arg;
    t->env = env;
    weir_timer_start(env, 200 * MS, tx_start_cb, t);
    return t;
}

static const weir_node_type tx_client_node = {"client", tx_client_start, NULL};

/* Adds the client node running prog and runs the world for at most
 * duration_ms of simulated time. */
static void tx_run_world(weir_world *w, const tx_step *prog, int n, int64_t duration_ms,
                         tx_outcome *out)
{
    tx *t = &T;
    t->w = w;
    t->prog = prog;
    t->n_prog = n;
    weir_arena_init(&t->arena, 0);
    if (weir_world_node_add(w, "client", &tx_client_node, t) != 0 ||
        weir_world_run(w, duration_ms * MS) != 0) {
        snprintf(out->failure, sizeof out->failure, "world failed");
        return;
    }
    out->done = t->done && t->failure[0] == '\0';
    out->hash = weir_sim_trace_hash(w);
    memcpy(out->n, t->n, sizeof out->n);
    if (t->failure[0] != '\0') {
        snprintf(out->failure, sizeof out->failure, "%.*s", (int)sizeof out->failure - 1, t->failure);
    } else if (!t->done) {
        snprintf(out->failure, sizeof out->failure, "stuck at step %d (waiting %d)", t->pc,
                 (int)t->waiting);
    }
}

typedef void (*tx_child_fn)(uint64_t seed, tx_outcome *out);

static tx_outcome tx_forked(tx_child_fn fn, uint64_t seed)
{
    int fds[2];
    tx_outcome o;
    memset(&o, 0, sizeof o);
    if (pipe(fds) != 0) {
        snprintf(o.failure, sizeof o.failure, "pipe failed");
        return o;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        tx_outcome mine;
        memset(&mine, 0, sizeof mine);
        fn(seed, &mine);
        if (write(fds[1], &mine, sizeof mine) != (ssize_t)sizeof mine) {
            _exit(3);
        }
        test_child_exit(0);
    }
    close(fds[1]);
    if (read(fds[0], &o, sizeof o) != (ssize_t)sizeof o) {
        snprintf(o.failure, sizeof o.failure, "child died");
    }
    close(fds[0]);
    waitpid(pid, NULL, 0);
    return o;
}

/* `test_txn --run K` runs the K-th child function in this process (no fork),
 * so LeakSanitizer sees its exit; prints the outcome, exits 1 on failure. */
static int tx_main_direct(int argc, char **argv, const tx_child_fn *fns, int n)
{
    if (argc < 3 || strcmp(argv[1], "--run") != 0) {
        return -1;
    }
    int k = atoi(argv[2]);
    if (k < 0 || k >= n) {
        return 2;
    }
    tx_outcome o;
    memset(&o, 0, sizeof o);
    fns[k](1, &o);
    printf("run %d: %s %s\n", k, o.done ? "ok" : "FAILED", o.failure);
    if (T.w != NULL) {
        weir_world_destroy(T.w); /* every node freed as after a crash: leaks show */
    }
    weir_arena_free(&T.arena);
    return o.done ? 0 : 1;
}

#define TX_ASSERT_OK(o)                                                                            \
    do {                                                                                           \
        if ((o).failure[0] != '\0') {                                                              \
            fail_msg("%s", (o).failure);                                                           \
        }                                                                                          \
        assert_true((o).done);                                                                     \
    } while (0)

#endif
