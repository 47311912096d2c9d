/* librdkafka's transactional API against a Kafka-compatible cluster:
 * exactly-once consume-transform-produce.
 *
 *   rdkafka_txn run BOOTSTRAP IN_TOPIC OUT_TOPIC N
 *       1. an idempotent producer (acks=all) writes N keyed records k<i>=v<i>
 *          to IN_TOPIC;
 *       2. a group consumer (isolation.level=read_committed,
 *          enable.auto.commit=false) reads them in batches; per batch a
 *          transactional producer runs begin, produce k<i>=T(v<i>) to
 *          OUT_TOPIC, send_offsets_to_transaction, commit;
 *          after the first batch one extra transaction writes a record
 *          "ABORTED-<p>" to every partition of OUT_TOPIC and is aborted;
 *       3. a read_committed consumer reads OUT_TOPIC: exactly the N
 *          transformed records, each once, and no ABORTED record;
 *       4. a read_uncommitted consumer reads OUT_TOPIC: it does see the
 *          aborted records (so step 3 passed because of the abort markers
 *          and the aborted-transaction list, not by luck);
 *       5. the group's committed offsets (written by TxnOffsetCommit) are
 *          IN_TOPIC's end offsets;
 *       6. fencing: producer A opens a transaction and writes ZOMBIE to
 *          OUT_TOPIC; producer B initialises the same transactional.id;
 *          A's commit fails fatally and ZOMBIE stays invisible to
 *          read_committed (the coordinator aborts A's transaction).
 *     Each step prints "ok: ..." or "FAIL <step>: <reason>" on stderr; exit 0
 *     when all pass.
 *     Against librdkafka's mock cluster steps 3-6 fail: the mock writes no
 *     control records, keeps no aborted-transaction list, does not store
 *     TxnOffsetCommit offsets and lets the older producer commit (expected;
 *     see the runner's mock mode).
 *
 *   rdkafka_txn create BOOTSTRAP TOPIC:PARTITIONS:RF...
 *       CreateTopics through the Admin API (an existing topic is fine);
 *       then waits until every partition has a leader.
 *
 *   rdkafka_txn mock NBROKERS TOPIC:PARTITIONS[:RF]...
 *       runs librdkafka's mock cluster with those topics, prints its
 *       bootstrap list on stdout and runs until SIGTERM or SIGINT.
 *
 * Environment: TXN_CALL_MS (timeout of each blocking call, default 15000),
 * TXN_DEADLINE_S (whole run, default 120), TXN_BATCH (records per
 * transaction, default 50), RDKAFKA_DEBUG (librdkafka "debug" contexts for
 * every client, e.g. protocol,eos,cgrp). */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int call_ms = 15000;
static int deadline_s = 120;
static int batch_size = 50;
static time_t started;
static int fails;

static double elapsed(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    static double t0 = -1;
    double now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    if (t0 < 0) {
        t0 = now;
    }
    return now - t0;
}

static void ok(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ok: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (%.1f s)\n", elapsed());
    va_end(ap);
}

static void bad(const char *step, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL %s: ", step);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (%.1f s)\n", elapsed());
    va_end(ap);
    fails++;
}

/* A failure after which nothing further can be checked. */
#define die(...)                                                                                   \
    do {                                                                                           \
        bad(__VA_ARGS__);                                                                          \
        exit(1);                                                                                   \
    } while (0)

static bool past_deadline(void)
{
    return time(NULL) - started > deadline_s;
}

static void set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
    char err[512];
    if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "config %s=%s: %s\n", k, v, err);
        exit(2);
    }
}

static char last_client_error[512]; /* for a failure's reason */

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)opaque;
    snprintf(last_client_error, sizeof last_client_error, "%s: %s",
             rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
    fprintf(stderr, "  [%s] client error %s: %s (%.1f s)\n", rd_kafka_name(rk),
            rd_kafka_err2name((rd_kafka_resp_err_t)err), reason, elapsed());
}

static rd_kafka_conf_t *base_conf(const char *bootstrap, const char *client_id)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", bootstrap);
    set(conf, "client.id", client_id);
    set(conf, "socket.timeout.ms", "10000");
    const char *dbg = getenv("RDKAFKA_DEBUG");
    if (dbg && *dbg) {
        set(conf, "debug", dbg);
    }
    rd_kafka_conf_set_error_cb(conf, on_error);
    return conf;
}

static rd_kafka_t *new_client(rd_kafka_type_t type, rd_kafka_conf_t *conf)
{
    char err[512];
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "rd_kafka_new: %s\n", err);
        exit(2);
    }
    return rk;
}

/* Partition count of TOPIC from metadata, or -1 with *why set. */
static int partition_count(rd_kafka_t *rk, const char *topic, char *why, size_t why_size)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, call_ms);
    rd_kafka_topic_destroy(rkt);
    if (err) {
        snprintf(why, why_size, "Metadata: %s", rd_kafka_err2str(err));
        return -1;
    }
    int n = -1;
    if (md->topic_cnt == 1 && md->topics[0].err == 0) {
        n = md->topics[0].partition_cnt;
        for (int i = 0; i < n; i++) {
            if (md->topics[0].partitions[i].leader < 0) {
                snprintf(why, why_size, "partition %d has no leader", i);
                n = -1;
                break;
            }
        }
    } else if (md->topic_cnt == 1) {
        snprintf(why, why_size, "topic error %s", rd_kafka_err2name(md->topics[0].err));
    } else {
        snprintf(why, why_size, "topic not in metadata");
    }
    rd_kafka_metadata_destroy(md);
    return n;
}

/* ---------------------------------------------------------------- create */

static int cmd_create(const char *bootstrap, int argc, char **argv)
{
    rd_kafka_conf_t *conf = base_conf(bootstrap, "rdkafka_txn-admin");
    rd_kafka_t *rk = new_client(RD_KAFKA_PRODUCER, conf);
    rd_kafka_NewTopic_t **nt = calloc((size_t)argc, sizeof *nt);
    char names[64][256];
    if (argc > 64) {
        fprintf(stderr, "too many topics\n");
        return 2;
    }
    for (int i = 0; i < argc; i++) {
        int parts = 1, rf = 1;
        char err[512];
        snprintf(names[i], sizeof names[i], "%s", argv[i]);
        char *c = strchr(names[i], ':');
        if (c) {
            *c = 0;
            sscanf(c + 1, "%d:%d", &parts, &rf);
        }
        nt[i] = rd_kafka_NewTopic_new(names[i], parts, rf, err, sizeof err);
        if (!nt[i]) {
            fprintf(stderr, "%s: %s\n", argv[i], err);
            return 2;
        }
    }
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    char err[512];
    rd_kafka_AdminOptions_set_request_timeout(opts, call_ms, err, sizeof err);
    rd_kafka_AdminOptions_set_operation_timeout(opts, call_ms, err, sizeof err);
    rd_kafka_CreateTopics(rk, nt, (size_t)argc, opts, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, call_ms + 5000);
    int rc = 0;
    if (!ev) {
        fprintf(stderr, "CreateTopics: no result within %d ms\n", call_ms + 5000);
        rc = 1;
    } else if (rd_kafka_event_error(ev)) {
        fprintf(stderr, "CreateTopics: %s\n", rd_kafka_event_error_string(ev));
        rc = 1;
    } else {
        size_t cnt;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
        for (size_t i = 0; i < cnt; i++) {
            rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[i]);
            if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                fprintf(stderr, "CreateTopics %s: %s: %s\n", rd_kafka_topic_result_name(res[i]),
                        rd_kafka_err2name(e),
                        rd_kafka_topic_result_error_string(res[i])
                            ? rd_kafka_topic_result_error_string(res[i])
                            : "");
                rc = 1;
            }
        }
    }
    if (ev) {
        rd_kafka_event_destroy(ev);
    }
    /* every partition has a leader */
    for (int i = 0; rc == 0 && i < argc; i++) {
        char why[256] = "";
        int n = -1;
        for (int tries = 0; tries < 100 && n < 0; tries++) {
            n = partition_count(rk, names[i], why, sizeof why);
            if (n < 0) {
                usleep(100 * 1000);
            }
        }
        if (n < 0) {
            fprintf(stderr, "topic %s not ready: %s\n", names[i], why);
            rc = 1;
        } else {
            fprintf(stderr, "topic %s: %d partitions\n", names[i], n);
        }
    }
    for (int i = 0; i < argc; i++) {
        rd_kafka_NewTopic_destroy(nt[i]);
    }
    free(nt);
    rd_kafka_AdminOptions_destroy(opts);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    return rc;
}

/* ------------------------------------------------------------------ mock */

static int cmd_mock(int brokers, int argc, char **argv)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk = new_client(RD_KAFKA_PRODUCER, conf);
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (!mc) {
        fprintf(stderr, "rd_kafka_mock_cluster_new failed\n");
        return 1;
    }
    for (int i = 0; i < argc; i++) {
        char name[256];
        int parts = 1, rf = brokers;
        snprintf(name, sizeof name, "%s", argv[i]);
        char *c = strchr(name, ':');
        if (c) {
            *c = 0;
            sscanf(c + 1, "%d:%d", &parts, &rf);
        }
        rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, name, parts, rf);
        if (err) {
            fprintf(stderr, "mock topic %s: %s\n", name, rd_kafka_err2str(err));
            return 1;
        }
    }
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);
    for (;;) {
        pause(); /* until SIGTERM/SIGINT ends the process */
    }
}

/* ------------------------------------------------------------------- run */

typedef struct {
    int delivered;
    int failed;
    char first_error[256];
} dr_state;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    dr_state *st = opaque;
    if (m->err) {
        if (!st->failed) {
            snprintf(st->first_error, sizeof st->first_error, "%s", rd_kafka_err2str(m->err));
        }
        if (st->failed++ < 5) {
            fprintf(stderr, "  delivery to %s [%d] failed: %s\n", rd_kafka_topic_name(m->rkt),
                    (int)m->partition, rd_kafka_err2str(m->err));
        }
    } else {
        st->delivered++;
    }
}

static void transform(const char *value, size_t len, char *out, size_t out_size)
{
    snprintf(out, out_size, "T(%.*s)", (int)len, value);
}

/* librdkafka transactional errors carry their class: say which. */
static const char *txn_err(rd_kafka_error_t *e, char *buf, size_t size)
{
    snprintf(buf, size, "%s: %s%s%s%s", rd_kafka_error_name(e), rd_kafka_error_string(e),
             rd_kafka_error_is_fatal(e) ? " [fatal]" : "",
             rd_kafka_error_is_retriable(e) ? " [retriable]" : "",
             rd_kafka_error_txn_requires_abort(e) ? " [abortable]" : "");
    rd_kafka_error_destroy(e);
    return buf;
}

static void produce_input(const char *bootstrap, const char *topic, int n)
{
    dr_state st = {0};
    rd_kafka_conf_t *conf = base_conf(bootstrap, "rdkafka_txn-input");
    set(conf, "enable.idempotence", "true");
    set(conf, "acks", "all");
    set(conf, "linger.ms", "5");
    set(conf, "message.timeout.ms", "30000");
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, &st);
    rd_kafka_t *rk = new_client(RD_KAFKA_PRODUCER, conf);
    for (int i = 0; i < n; i++) {
        char k[32], v[32];
        snprintf(k, sizeof k, "k%d", i);
        snprintf(v, sizeof v, "v%d", i);
        rd_kafka_resp_err_t err;
        while ((err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(k, strlen(k)),
                                        RD_KAFKA_V_VALUE(v, strlen(v)),
                                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                        RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(rk, 10);
        }
        if (err) {
            die("input-produce", "produce: %s", rd_kafka_err2str(err));
        }
        rd_kafka_poll(rk, 0);
    }
    rd_kafka_resp_err_t err = rd_kafka_flush(rk, 35000);
    if (err || st.delivered != n) {
        die("input-produce", "idempotent producer: %d of %d delivered, %d failed%s%s%s%s%s%s",
            st.delivered, n, st.failed, st.failed ? ", first: " : "", st.first_error,
            err ? ", flush: " : "", err ? rd_kafka_err2str(err) : "",
            last_client_error[0] ? "; client error " : "", last_client_error);
    }
    ok("idempotent producer delivered %d records to %s", n, topic);
    rd_kafka_destroy(rk);
}

/* The transactional loop: returns the number of input records processed. */
static int transform_loop(const char *bootstrap, const char *in, const char *out, int n,
                          int out_parts)
{
    char ebuf[1024];
    char group[128], txid[128];
    snprintf(group, sizeof group, "rdkafka-txn-%s", in);
    snprintf(txid, sizeof txid, "rdkafka-txn-%s", out);

    rd_kafka_conf_t *cconf = base_conf(bootstrap, "rdkafka_txn-consumer");
    set(cconf, "group.id", group);
    set(cconf, "isolation.level", "read_committed");
    set(cconf, "enable.auto.commit", "false");
    set(cconf, "auto.offset.reset", "earliest");
    set(cconf, "session.timeout.ms", "10000");
    rd_kafka_t *consumer = new_client(RD_KAFKA_CONSUMER, cconf);
    rd_kafka_poll_set_consumer(consumer);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, in, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(consumer, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (err) {
        die("group-subscribe", "%s", rd_kafka_err2str(err));
    }

    dr_state st = {0};
    rd_kafka_conf_t *pconf = base_conf(bootstrap, "rdkafka_txn-producer");
    set(pconf, "transactional.id", txid);
    set(pconf, "transaction.timeout.ms", "60000");
    set(pconf, "message.timeout.ms", "30000");
    rd_kafka_conf_set_dr_msg_cb(pconf, on_delivery);
    rd_kafka_conf_set_opaque(pconf, &st);
    rd_kafka_t *producer = new_client(RD_KAFKA_PRODUCER, pconf);
    rd_kafka_error_t *e = rd_kafka_init_transactions(producer, call_ms);
    if (e) {
        die("init_transactions", "%s", txn_err(e, ebuf, sizeof ebuf));
    }
    ok("init_transactions (transactional.id %s)", txid);

    int processed = 0, txns = 0;
    bool aborted_done = false, assigned_logged = false;
    rd_kafka_message_t *batch[1024];
    int bmax = batch_size < 1024 ? batch_size : 1024;
    while (processed < n) {
        if (past_deadline()) {
            rd_kafka_topic_partition_list_t *a = NULL;
            rd_kafka_assignment(consumer, &a);
            die("group-consume",
                "deadline: processed %d of %d input records in %d transactions; assignment %d "
                "partitions",
                processed, n, txns, a ? a->cnt : -1);
        }
        int got = 0;
        while (got < bmax) {
            rd_kafka_message_t *m = rd_kafka_consumer_poll(consumer, got ? 200 : 1000);
            if (!m) {
                break;
            }
            if (m->err) {
                if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                    fprintf(stderr, "  consumer: %s\n", rd_kafka_message_errstr(m));
                }
                rd_kafka_message_destroy(m);
                continue;
            }
            batch[got++] = m;
        }
        if (!assigned_logged) {
            rd_kafka_topic_partition_list_t *a = NULL;
            if (rd_kafka_assignment(consumer, &a) == 0 && a && a->cnt > 0) {
                ok("group %s: consumer assigned %d partitions of %s", group, a->cnt, in);
                assigned_logged = true;
            }
            if (a) {
                rd_kafka_topic_partition_list_destroy(a);
            }
        }
        if (got == 0) {
            continue;
        }
        e = rd_kafka_begin_transaction(producer);
        if (e) {
            die("begin_transaction", "%s", txn_err(e, ebuf, sizeof ebuf));
        }
        for (int i = 0; i < got; i++) {
            char v[256];
            transform(batch[i]->payload, batch[i]->len, v, sizeof v);
            err = rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(out),
                                    RD_KAFKA_V_KEY(batch[i]->key, batch[i]->key_len),
                                    RD_KAFKA_V_VALUE(v, strlen(v)),
                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
            if (err) {
                die("txn-produce", "%s", rd_kafka_err2str(err));
            }
        }
        rd_kafka_topic_partition_list_t *pos = NULL;
        if ((err = rd_kafka_assignment(consumer, &pos)) ||
            (err = rd_kafka_position(consumer, pos))) {
            die("position", "%s", rd_kafka_err2str(err));
        }
        rd_kafka_consumer_group_metadata_t *cgmd = rd_kafka_consumer_group_metadata(consumer);
        e = rd_kafka_send_offsets_to_transaction(producer, pos, cgmd, call_ms);
        rd_kafka_consumer_group_metadata_destroy(cgmd);
        rd_kafka_topic_partition_list_destroy(pos);
        if (e) {
            die("send_offsets_to_transaction", "%s", txn_err(e, ebuf, sizeof ebuf));
        }
        e = rd_kafka_commit_transaction(producer, call_ms);
        if (e) {
            die("commit_transaction", "transaction %d: %s", txns + 1,
                txn_err(e, ebuf, sizeof ebuf));
        }
        txns++;
        processed += got;
        for (int i = 0; i < got; i++) {
            rd_kafka_message_destroy(batch[i]);
        }

        if (!aborted_done) {
            /* one aborted transaction, between committed ones, touching
             * every partition of the output topic */
            e = rd_kafka_begin_transaction(producer);
            if (e) {
                die("abort-txn", "begin: %s", txn_err(e, ebuf, sizeof ebuf));
            }
            for (int p = 0; p < out_parts; p++) {
                char k[32];
                snprintf(k, sizeof k, "ABORTED-%d", p);
                err = rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(out), RD_KAFKA_V_PARTITION(p),
                                        RD_KAFKA_V_KEY(k, strlen(k)), RD_KAFKA_V_VALUE("x", 1),
                                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
                if (err) {
                    die("abort-txn", "produce: %s", rd_kafka_err2str(err));
                }
            }
            /* make sure the records really reach the log before the abort */
            int before = st.delivered;
            err = rd_kafka_flush(producer, call_ms);
            if (err || st.delivered - before != out_parts) {
                die("abort-txn", "flush: %d of %d delivered%s%s", st.delivered - before, out_parts,
                    err ? ", " : "", err ? rd_kafka_err2str(err) : "");
            }
            e = rd_kafka_abort_transaction(producer, call_ms);
            if (e) {
                die("abort_transaction", "%s", txn_err(e, ebuf, sizeof ebuf));
            }
            ok("a transaction writing ABORTED-<p> to all %d partitions of %s was aborted",
               out_parts, out);
            aborted_done = true;
        }
    }
    ok("%d input records transformed in %d committed transactions (send_offsets_to_transaction "
       "each)",
       processed, txns);
    if (st.failed) {
        bad("txn-produce", "%d transactional deliveries failed, first: %s", st.failed,
            st.first_error);
    }
    rd_kafka_destroy(producer);
    err = rd_kafka_consumer_close(consumer);
    if (err) {
        fprintf(stderr, "  consumer close: %s\n", rd_kafka_err2str(err));
    }
    rd_kafka_destroy(consumer);
    return processed;
}

typedef struct {
    int count;
    int aborted;
    int *seen; /* per input index */
    int bad_values;
    int unexpected;
} readback;

/* Read every partition of TOPIC from the beginning to EOF with the plain
 * (assign) consumer. */
static bool read_all(const char *bootstrap, const char *topic, int parts, const char *isolation,
                     int n, readback *rb, char *why, size_t why_size)
{
    memset(rb, 0, sizeof *rb);
    rb->seen = calloc((size_t)n, sizeof(int));
    char cid[64];
    snprintf(cid, sizeof cid, "rdkafka_txn-%s", isolation);
    rd_kafka_conf_t *conf = base_conf(bootstrap, cid);
    set(conf, "group.id", "rdkafka-txn-verify-unused");
    set(conf, "isolation.level", isolation);
    set(conf, "enable.partition.eof", "true");
    set(conf, "enable.auto.commit", "false");
    rd_kafka_t *rk = new_client(RD_KAFKA_CONSUMER, conf);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(parts);
    for (int p = 0; p < parts; p++) {
        rd_kafka_topic_partition_list_add(l, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    bool *eof = calloc((size_t)parts, sizeof(bool));
    int eofs = 0;
    double t_end = elapsed() + call_ms / 1000.0 * 2;
    bool done = false;
    while (!done && elapsed() < t_end) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);
        if (!m) {
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (m->partition >= 0 && m->partition < parts && !eof[m->partition]) {
                eof[m->partition] = true;
                done = ++eofs == parts;
            }
        } else if (m->err) {
            fprintf(stderr, "  %s consumer: %s\n", isolation, rd_kafka_message_errstr(m));
        } else {
            rb->count++;
            char k[64] = "", v[256] = "", want[256];
            snprintf(k, sizeof k, "%.*s", (int)m->key_len, m->key ? (const char *)m->key : "");
            snprintf(v, sizeof v, "%.*s", (int)m->len, m->payload ? (const char *)m->payload : "");
            int i;
            if (strncmp(k, "ABORTED-", 8) == 0) {
                rb->aborted++;
            } else if (sscanf(k, "k%d", &i) == 1 && i >= 0 && i < n) {
                char in[32];
                snprintf(in, sizeof in, "v%d", i);
                transform(in, strlen(in), want, sizeof want);
                if (strcmp(v, want) != 0 && rb->bad_values++ < 3) {
                    fprintf(stderr, "  %s: key %s has value %s, expected %s\n", topic, k, v, want);
                }
                rb->seen[i]++;
            } else if (rb->unexpected++ < 3) {
                fprintf(stderr, "  %s: unexpected key '%s' at [%d] offset %lld\n", topic, k,
                        (int)m->partition, (long long)m->offset);
            }
        }
        rd_kafka_message_destroy(m);
    }
    free(eof);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    if (!done) {
        snprintf(why, why_size,
                 "only %d of %d partitions reached EOF within %d ms (%d records read)", eofs, parts,
                 call_ms * 2, rb->count);
    }
    return done;
}

static void check_committed(const char *bootstrap, const char *in, int in_parts)
{
    char group[128];
    snprintf(group, sizeof group, "rdkafka-txn-%s", in);
    rd_kafka_conf_t *conf = base_conf(bootstrap, "rdkafka_txn-offsets");
    set(conf, "group.id", group);
    set(conf, "enable.auto.commit", "false");
    rd_kafka_t *rk = new_client(RD_KAFKA_CONSUMER, conf);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(in_parts);
    for (int p = 0; p < in_parts; p++) {
        rd_kafka_topic_partition_list_add(l, in, p);
    }
    rd_kafka_resp_err_t err = rd_kafka_committed(rk, l, call_ms);
    if (err) {
        bad("committed-offsets", "OffsetFetch for group %s: %s", group, rd_kafka_err2str(err));
    } else {
        int mismatches = 0;
        char desc[512] = "";
        size_t used = 0;
        for (int p = 0; p < in_parts; p++) {
            int64_t lo = -1, hi = -1;
            rd_kafka_query_watermark_offsets(rk, in, p, &lo, &hi, call_ms);
            rd_kafka_topic_partition_t *tp = &l->elems[p];
            if (tp->err || tp->offset != hi) {
                mismatches++;
            }
            used += (size_t)snprintf(desc + used, used < sizeof desc ? sizeof desc - used : 0,
                                     "%s[%d] committed %lld end %lld%s", p ? ", " : "", p,
                                     (long long)tp->offset, (long long)hi,
                                     tp->err ? rd_kafka_err2name(tp->err) : "");
        }
        if (mismatches) {
            bad("committed-offsets",
                "TxnOffsetCommit offsets of group %s are not the input end offsets: %s", group,
                desc);
        } else {
            ok("group %s committed offsets (via TxnOffsetCommit) = input end offsets: %s", group,
               desc);
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_destroy(rk);
}

/* Zombie fencing: producer A begins a transaction; producer B initialises
 * the same transactional.id (InitProducerId bumps the epoch), so A's commit
 * must fail, fatally (PRODUCER_FENCED / INVALID_PRODUCER_EPOCH), and its
 * record stays invisible to read_committed. */
static void check_fencing(const char *bootstrap, const char *out)
{
    char ebuf[1024], txid[128];
    snprintf(txid, sizeof txid, "rdkafka-txn-fence-%s", out);
    rd_kafka_t *p[2];
    for (int i = 0; i < 2; i++) {
        rd_kafka_conf_t *conf =
            base_conf(bootstrap, i ? "rdkafka_txn-fencer" : "rdkafka_txn-zombie");
        set(conf, "transactional.id", txid);
        set(conf, "message.timeout.ms", "20000");
        p[i] = new_client(RD_KAFKA_PRODUCER, conf);
    }
    rd_kafka_error_t *e = rd_kafka_init_transactions(p[0], call_ms);
    if (!e) {
        e = rd_kafka_begin_transaction(p[0]);
    }
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (!e) {
        err = rd_kafka_producev(p[0], RD_KAFKA_V_TOPIC(out), RD_KAFKA_V_PARTITION(0),
                                RD_KAFKA_V_KEY("ZOMBIE", 6), RD_KAFKA_V_VALUE("x", 1),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (!err) {
            err = rd_kafka_flush(p[0], call_ms);
        }
    }
    if (e || err) {
        bad("fencing", "producer A (%s): %s", txid,
            e ? txn_err(e, ebuf, sizeof ebuf) : rd_kafka_err2str(err));
    } else if ((e = rd_kafka_init_transactions(p[1], call_ms))) {
        bad("fencing", "producer B init_transactions (%s) while A's transaction is open: %s", txid,
            txn_err(e, ebuf, sizeof ebuf));
    } else {
        e = rd_kafka_commit_transaction(p[0], call_ms);
        if (!e) {
            bad("fencing",
                "the fenced producer A committed its transaction after B's init_transactions");
        } else {
            bool fatal = rd_kafka_error_is_fatal(e);
            txn_err(e, ebuf, sizeof ebuf);
            if (fatal) {
                ok("a second producer with transactional.id %s fences the first: its commit fails "
                   "with %s",
                   txid, ebuf);
            } else {
                bad("fencing", "the fenced producer's commit failed, but not fatally: %s", ebuf);
            }
        }
    }
    for (int i = 0; i < 2; i++) {
        rd_kafka_destroy(p[i]);
    }
}

static int cmd_run(const char *bootstrap, const char *in, const char *out, int n)
{
    char why[512];
    rd_kafka_t *meta = new_client(RD_KAFKA_PRODUCER, base_conf(bootstrap, "rdkafka_txn-meta"));
    int in_parts = partition_count(meta, in, why, sizeof why);
    if (in_parts < 0) {
        die("metadata", "%s: %s", in, why);
    }
    int out_parts = partition_count(meta, out, why, sizeof why);
    if (out_parts < 0) {
        die("metadata", "%s: %s", out, why);
    }
    rd_kafka_destroy(meta);
    ok("metadata: %s has %d partitions, %s has %d", in, in_parts, out, out_parts);

    produce_input(bootstrap, in, n);
    transform_loop(bootstrap, in, out, n, out_parts);

    readback rb;
    if (!read_all(bootstrap, out, out_parts, "read_committed", n, &rb, why, sizeof why)) {
        bad("read_committed", "%s", why);
    } else {
        int missing = 0, dup = 0;
        for (int i = 0; i < n; i++) {
            missing += rb.seen[i] == 0;
            dup += rb.seen[i] > 1;
        }
        if (missing || dup || rb.bad_values || rb.unexpected || rb.count - rb.aborted != n) {
            bad("read_committed",
                "output has %d records (not counting aborted ones): %d inputs missing, %d "
                "duplicated, %d wrong values, %d unexpected keys",
                rb.count - rb.aborted, missing, dup, rb.bad_values, rb.unexpected);
        } else {
            ok("read_committed: output is exactly the %d transformed inputs, each once", n);
        }
        if (rb.aborted) {
            /* expected against librdkafka's mock: it writes no abort markers */
            bad("read_committed-aborted",
                "%d records of the aborted transaction are visible to read_committed", rb.aborted);
        } else {
            ok("read_committed: the aborted transaction's records are invisible");
        }
    }
    free(rb.seen);

    if (!read_all(bootstrap, out, out_parts, "read_uncommitted", n, &rb, why, sizeof why)) {
        bad("read_uncommitted", "%s", why);
    } else if (rb.aborted != out_parts) {
        bad("read_uncommitted", "sees %d of the %d aborted records (%d records in all)", rb.aborted,
            out_parts, rb.count);
    } else {
        ok("read_uncommitted: sees all %d aborted records (%d records in all; the log holds them, "
           "only markers can hide them)",
           rb.aborted, rb.count);
    }
    free(rb.seen);

    check_committed(bootstrap, in, in_parts);
    check_fencing(bootstrap, out);
    /* the zombie's record is invisible to read_committed */
    why[0] = 0;
    if (read_all(bootstrap, out, out_parts, "read_committed", n, &rb, why, sizeof why) &&
        rb.unexpected == 0 && rb.count == n) {
        ok("read_committed: the fenced producer's record is invisible");
    } else {
        bad("fencing", "read_committed after fencing: %d records, %d unexpected (%s)", rb.count,
            rb.unexpected, why);
    }
    free(rb.seen);
    if (fails) {
        fprintf(stderr, "%d check(s) failed\n", fails);
        return 1;
    }
    fprintf(stderr, "all rdkafka_txn checks passed\n");
    return 0;
}

int main(int argc, char **argv)
{
    started = time(NULL);
    elapsed();
    if (getenv("TXN_CALL_MS")) {
        call_ms = atoi(getenv("TXN_CALL_MS"));
    }
    if (getenv("TXN_DEADLINE_S")) {
        deadline_s = atoi(getenv("TXN_DEADLINE_S"));
    }
    if (getenv("TXN_BATCH")) {
        batch_size = atoi(getenv("TXN_BATCH"));
        if (batch_size < 1) {
            batch_size = 1;
        }
    }
    if (argc == 6 && strcmp(argv[1], "run") == 0) {
        return cmd_run(argv[2], argv[3], argv[4], atoi(argv[5]));
    }
    if (argc >= 3 && strcmp(argv[1], "create") == 0) {
        return cmd_create(argv[2], argc - 3, argv + 3);
    }
    if (argc >= 3 && strcmp(argv[1], "mock") == 0) {
        return cmd_mock(atoi(argv[2]), argc - 3, argv + 3);
    }
    fprintf(stderr, "usage: rdkafka_txn run BOOTSTRAP IN_TOPIC OUT_TOPIC N\n"
                    "       rdkafka_txn create BOOTSTRAP TOPIC:PARTITIONS:RF...\n"
                    "       rdkafka_txn mock NBROKERS TOPIC:PARTITIONS[:RF]...\n");
    return 2;
}
