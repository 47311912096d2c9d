/* librdkafka against `weir broker`: produce N messages with acks=all and
 * delivery reports, then read every partition back with the plain (non-group)
 * consumer from offset 0, and compare every key and payload with what the
 * delivery reports said went where.
 *
 * usage: rdkafka_roundtrip BOOTSTRAP TOPIC N [produce|consume|consume-dups-ok|both]
 * "produce" writes the expected (partition, offset, key, value) list to
 * stdout; "consume" reads it from stdin and checks; "both" does both (the
 * broker may be restarted in between by the calling script).
 * "consume-dups-ok": producer retries across a leader failover may have
 * written a message twice (no idempotence yet): every acknowledged offset
 * must still hold its message, and other offsets may only hold copies of
 * sent messages. Exit 0 = ok. */
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct msg {
    int32_t partition;
    int64_t offset;
    int seq;
} msg;

static msg *msgs;
static int n_msgs;
static int delivered;
static int delivery_errors;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    int seq = (int)(intptr_t)m->_private;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (delivery_errors++ < 5) {
            fprintf(stderr, "delivery of message %d (partition %d) failed: %s\n", seq, (int)m->partition, rd_kafka_err2str(m->err));
        }
        return;
    }
    msgs[seq].partition = m->partition;
    msgs[seq].offset = m->offset;
    delivered++;
}

static void payload_of(int seq, char *buf, size_t size)
{
    snprintf(buf, size, "payload-%d-%0*d", seq, 60, seq * 7919 % 1000003);
}

static rd_kafka_conf_t *base_conf(const char *bootstrap)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char err[256];
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "%s\n", err);
        exit(2);
    }
    return conf;
}

static void set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
    char err[256];
    if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "%s=%s: %s\n", k, v, err);
        exit(2);
    }
}

static int produce(const char *bootstrap, const char *topic)
{
    rd_kafka_conf_t *conf = base_conf(bootstrap);
    const char *acks = getenv("RT_ACKS"); /* default all */
    set(conf, "acks", acks ? acks : "all");
    set(conf, "linger.ms", "5");
    set(conf, "message.timeout.ms", "60000");
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    char err[256];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (rk == NULL) {
        fprintf(stderr, "producer: %s\n", err);
        return 1;
    }
    /* RT_RATE=messages per second paces the producer (so a fault lands mid-stream). */
    const char *rate_env = getenv("RT_RATE");
    double rate = rate_env ? atof(rate_env) : 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < n_msgs; i++) {
        if (rate > 0 && i % 100 == 0) {
            for (;;) {
                struct timespec now;
                clock_gettime(CLOCK_MONOTONIC, &now);
                double elapsed = (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
                if (elapsed * rate >= i) {
                    break;
                }
                rd_kafka_poll(rk, 1);
            }
        }
        char key[32], val[128];
        snprintf(key, sizeof key, "key-%d", i);
        payload_of(i, val, sizeof val);
        for (;;) {
            rd_kafka_resp_err_t e = rd_kafka_producev(
                rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                RD_KAFKA_V_VALUE(val, strlen(val)), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_OPAQUE((void *)(intptr_t)i), RD_KAFKA_V_END);
            if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rd_kafka_poll(rk, 10);
                continue;
            }
            if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
                fprintf(stderr, "produce %d: %s\n", i, rd_kafka_err2str(e));
                return 1;
            }
            break;
        }
        rd_kafka_poll(rk, 0);
    }
    rd_kafka_flush(rk, 60000);
    rd_kafka_destroy(rk);
    if (delivered != n_msgs || delivery_errors != 0) {
        fprintf(stderr, "delivered %d of %d (%d errors)\n", delivered, n_msgs, delivery_errors);
        return 1;
    }
    fprintf(stderr, "produced %d messages with acks=all, all delivery reports ok\n", delivered);
    return 0;
}

static int dups_ok;

static int consume(const char *bootstrap, const char *topic)
{
    rd_kafka_conf_t *conf = base_conf(bootstrap);
    char err[256];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (rk == NULL) {
        fprintf(stderr, "consumer: %s\n", err);
        return 1;
    }
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const rd_kafka_metadata_t *md = NULL;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR || md->topic_cnt != 1 ||
        md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "metadata for %s failed\n", topic);
        return 1;
    }
    int parts = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    int *seen = calloc((size_t)n_msgs, sizeof *seen);
    int got = 0, bad = 0, dups = 0;
    for (int p = 0; p < parts; p++) {
        int expect = 0;
        for (int i = 0; i < n_msgs; i++) {
            expect += msgs[i].partition == p;
        }
        if (rd_kafka_consume_start(rkt, p, RD_KAFKA_OFFSET_BEGINNING) != 0) {
            fprintf(stderr, "consume_start %d: %s\n", p, rd_kafka_err2str(rd_kafka_last_error()));
            return 1;
        }
        int64_t next = 0;
        int here = 0;
        int idle = 0;
        while (here < expect && idle < (dups_ok ? 30 : 100)) {
            rd_kafka_message_t *m = rd_kafka_consume(rkt, p, 100);
            if (m == NULL) {
                idle++;
                continue;
            }
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                rd_kafka_message_destroy(m);
                idle++;
                continue;
            }
            if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                fprintf(stderr, "consume %d: %s\n", p, rd_kafka_message_errstr(m));
                rd_kafka_message_destroy(m);
                return 1;
            }
            idle = 0;
            int seq = -1;
            if (m->key_len > 4 && m->key_len < 31) {
                char key[32];
                memcpy(key, m->key, m->key_len);
                key[m->key_len] = '\0';
                seq = atoi(key + 4);
            }
            char want[128];
            if (seq >= 0 && seq < n_msgs) {
                payload_of(seq, want, sizeof want);
            }
            bool at_acked = seq >= 0 && seq < n_msgs && msgs[seq].partition == p &&
                            msgs[seq].offset == m->offset;
            bool content_ok = seq >= 0 && seq < n_msgs && m->len == strlen(want) &&
                              memcmp(m->payload, want, m->len) == 0;
            if (dups_ok && content_ok && !at_acked && m->offset == next) {
                dups++; /* a retried copy: fine as long as the acked offset holds its own */
                next = m->offset + 1;
                rd_kafka_message_destroy(m);
                continue;
            }
            if (!at_acked || !content_ok || m->offset != next || seen[seq]++) {
                if (bad++ < 5) {
                    fprintf(stderr, "partition %d offset %lld: unexpected message (seq %d, want offset %lld)\n",
                            p, (long long)m->offset, seq, (long long)next);
                }
            }
            next = m->offset + 1;
            here++;
            got++;
            rd_kafka_message_destroy(m);
        }
        rd_kafka_consume_stop(rkt, p);
    }
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    free(seen);
    if (got != n_msgs || bad != 0) {
        fprintf(stderr, "consumed %d of %d messages, %d wrong\n", got, n_msgs, bad);
        return 1;
    }
    if (dups > 0) {
        fprintf(stderr, "(%d retried copies besides the acknowledged ones)\n", dups);
    }
    fprintf(stderr, "consumed all %d messages from %d partitions: keys, payloads, partitions and offsets match\n",
            got, parts);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: rdkafka_roundtrip BOOTSTRAP TOPIC N [produce|consume|both]\n");
        return 2;
    }
    const char *mode = argc > 4 ? argv[4] : "both";
    n_msgs = atoi(argv[3]);
    msgs = calloc((size_t)n_msgs, sizeof *msgs);
    dups_ok = strcmp(mode, "consume-dups-ok") == 0;
    if (strcmp(mode, "consume") == 0 || dups_ok) {
        /* the expected placements, as "produce" printed them */
        for (int i = 0; i < n_msgs; i++) {
            int seq;
            if (scanf("%d %d %lld", &seq, &msgs[i].partition, (long long *)&msgs[i].offset) != 3 || seq != i) {
                fprintf(stderr, "bad expectation line %d on stdin\n", i);
                return 2;
            }
        }
        return consume(argv[1], argv[2]);
    }
    int rc = produce(argv[1], argv[2]);
    if (rc == 0 && strcmp(mode, "produce") == 0) {
        for (int i = 0; i < n_msgs; i++) {
            printf("%d %d %lld\n", i, msgs[i].partition, (long long)msgs[i].offset);
        }
        return 0;
    }
    return rc != 0 ? rc : consume(argv[1], argv[2]);
}
