/* Benchmark: `weir broker` against librdkafka's in-process mock cluster
 * (rdkafka_mock.h), driven by the same librdkafka client code and settings in
 * the same run; every figure is printed beside the mock's and the ratio.
 *
 *   bench_broker [-w WEIR] [messages [rate [seconds]]]
 *
 * weir runs as its own process (bench_common.c, shared with bench_eos): the
 * bench forks and execs `WEIR broker` with a properties file in a fresh
 * temporary folder (under $TMPDIR, else /tmp; the partition logs go to its
 * logs/ subfolder), on a free loopback port, waits until the port accepts
 * connections, and stops it with SIGTERM at the end (a
 * broker that does not exit cleanly within 10 s fails the run; it gets
 * PR_SET_PDEATHSIG so it dies with the bench). The broker keeps Kafka's flush
 * defaults: pages are written to the segment files, no fsync per write. The
 * mock is one broker (rd_kafka_mock_cluster_new) on its own thread inside this
 * process. Every topic is created before use with `partitions` partitions
 * (default 1) and replication factor 1: on weir through the Admin API
 * (CreateTopics), on the mock with rd_kafka_mock_topic_create (the mock has no
 * CreateTopics).
 *
 * Values are `value_bytes` (100) bytes: a sequence number, a send timestamp
 * and a pattern derived from the sequence number; no keys, no headers. The
 * producer uses linger.ms=5, batch.size=1000000, batch.num.messages=10000,
 * compression none, idempotence off, the default partitioner. The consumer is
 * the plain (non-group) one, all partitions on one queue, fetch.wait.max.ms=5
 * (see 3). Cases:
 *
 * 1. produce: `messages` (1,000,000) values with acks=1 into a new topic, then
 *    as many with acks=all into another. Timed from the first produce call to
 *    the end of rd_kafka_flush (every delivery report in); the producer has
 *    fetched the topic's metadata before the clock starts. Every delivery
 *    report must be a success, and per partition the offsets reported must
 *    be exactly 0..count-1.
 * 2. consume: both topics read back from the log start to the end offsets
 *    queried beforehand, timed from the first message handed to the consumer
 *    to the last. Each value's pattern, partition and offset is checked, and
 *    weir must return every message exactly once from offset 0. The mock keeps
 *    at most 5 MiB per partition (older message sets are dropped as new ones
 *    arrive), so it is read over what it keeps, pass after pass, until as many
 *    messages have been read as weir served.
 * 3. latency: `rate` (10,000) messages/s for `seconds` (3) s, paced by the
 *    clock, acks=all, each value stamped with CLOCK_MONOTONIC just before the
 *    produce call; a consumer thread in this process subtracts the stamp when
 *    the message is handed to it. The first 0.5 s are warm-up and not counted.
 *    fetch.wait.max.ms is 5 because the mock answers a Fetch that finds no
 *    data only after the full wait (it does not wake on new data); weir is
 *    then measured once more alone with the default 500 ms, where only waking
 *    the waiting Fetch keeps the latency low.
 *
 * Cases 1 and 2 run `rounds` (3) times, weir and the mock alternating who goes
 * first, each round on new topics; the medians are printed, with every
 * round's figures. Beside them, each broker's CPU time per million messages
 * (the weir process's CPU clock; the mock's "rdk:mock" thread's): the figure
 * that still compares when other jobs share the machine's cores, since the
 * client threads and the broker then split whatever CPU they get.
 *
 * MB/s counts value bytes only (messages x value_bytes / 1e6). Ratios are
 * weir / mock: above 1 is better for throughput, below 1 for latency and CPU.
 *
 * Environment (argv wins): WEIR_BIN (default: <dir of this program>/../weir,
 * the `weir` of the same build folder), WEIR_BENCH_BROKER_MESSAGES (1000000),
 * WEIR_BENCH_BROKER_RATE (10000), WEIR_BENCH_BROKER_SECONDS (3),
 * WEIR_BENCH_BROKER_ROUNDS (3), WEIR_BENCH_BROKER_PARTITIONS (1),
 * WEIR_BENCH_BROKER_VALUE_BYTES (100).
 *
 * Exits 1 if the broker fails or a message is lost, duplicated, misplaced or
 * damaged, 2 on bad usage.
 */
#define _GNU_SOURCE 1
#include <dirent.h>
#include <ftw.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"

#define VALUE_BYTES_MAX (512 * 1024)
#define CONSUME_TIMEOUT_NS (60 * BENCH_NS_PER_S) /* per pass */
#define LATENCY_DRAIN_NS (10 * BENCH_NS_PER_S)   /* after the last produce */
#define LATENCY_WARMUP_MS 500
#define MOCK_PASSES_MAX 100000
#define ERRORS_SHOWN_MAX 5

/* Consumer settings, printed in the output (the producer's: BENCH_*). */
#define FETCH_WAIT_MS "5" /* see the header: the mock does not wake a waiting Fetch */
#define FETCH_WAIT_WAKE_MS "500"

#define TOPIC_LATENCY "bench-latency"
#define TOPIC_LATENCY_WAKE "bench-latency-wake"

typedef struct bench_cfg {
    int64_t message_count; /* per produce case */
    int64_t rate_per_s;    /* latency case */
    double latency_s;
    int32_t partition_count;
    size_t value_bytes;
    int rounds; /* of the throughput cases */
    char weir_path[PATH_MAX];
} bench_cfg;

/* One broker under test: weir (a child process) or the mock (in process). */
typedef struct target {
    const char *name;
    char bootstrap[256];
    rd_kafka_t *admin;             /* weir: CreateTopics; mock: owns the cluster */
    rd_kafka_mock_cluster_t *mock; /* NULL for weir */
    pid_t mock_tid;                /* the mock's I/O thread, for its CPU time */
} target;

/* One throughput measurement: rate and the broker's CPU time for it. */
typedef struct sample {
    double rate_per_s;
    double cpu_s_per_million; /* < 0: not known */
} sample;

enum { CASE_ACKS_1, CASE_ACKS_ALL, CASE_CONSUME, CASE_COUNT };

typedef struct produce_result {
    bench_deliveries d;
    double seconds;
    double cpu_s; /* the broker's, < 0 if not known */
} produce_result;

/* What a consumer expects and has seen; filled by on_message only. */
typedef struct consume_pass {
    size_t value_bytes;
    int32_t partition_count;
    int64_t next[BENCH_PARTITIONS_MAX]; /* offset expected next, per partition */
    uint64_t seq_count;                 /* sequence numbers are below this */
    uint8_t *seen;                      /* per sequence number, or NULL: no duplicate check */
    int64_t *lat_ns;                    /* latency case: per sequence number, else NULL */
    uint64_t lat_seq_min;               /* warm-up: latencies below this seq are not kept */
    int64_t first_ns, last_ns;          /* when the first and the last good message came */
    int64_t got;
    int64_t bad;
} consume_pass;

typedef struct consume_result {
    int64_t messages;
    double seconds;
    int passes;
    int64_t window; /* messages per pass (mock: what it keeps) */
    double cpu_s;   /* the broker's, < 0 if not known */
} consume_result;

typedef struct latency_result {
    double p50_ms, p99_ms, max_ms;
    double rate_sent_per_s;
    int64_t measured;
} latency_result;

/* A consumer thread of the latency case. */
typedef struct latency_run {
    const char *bootstrap;
    const char *topic;
    const char *fetch_wait_ms;
    consume_pass cp;
    int64_t want;
    atomic_int state; /* 0 starting, 1 consuming, 2 done */
    atomic_llong deadline_ns;
} latency_run;

/* ---- configuration ---- */

static void cfg_load(bench_cfg *cfg, int argc, char **argv)
{
    cfg->message_count = (int64_t)bench_env_num("WEIR_BENCH_BROKER_MESSAGES", 1000000, 1, 1e9);
    cfg->rate_per_s = (int64_t)bench_env_num("WEIR_BENCH_BROKER_RATE", 10000, 10, 1e7);
    cfg->latency_s = bench_env_num("WEIR_BENCH_BROKER_SECONDS", 3, 0.1, 3600);
    cfg->partition_count =
        (int32_t)bench_env_num("WEIR_BENCH_BROKER_PARTITIONS", 1, 1, BENCH_PARTITIONS_MAX);
    cfg->value_bytes = (size_t)bench_env_num("WEIR_BENCH_BROKER_VALUE_BYTES", 100,
                                             BENCH_VALUE_HEADER_BYTES, VALUE_BYTES_MAX);
    cfg->rounds = (int)bench_env_num("WEIR_BENCH_BROKER_ROUNDS", 3, 1, BENCH_ROUNDS_MAX);
    int first = bench_args(argc, argv, 3, cfg->weir_path, sizeof cfg->weir_path);
    int left = argc - first;
    if (left > 0) {
        cfg->message_count = (int64_t)bench_num_parse(argv[first], "messages", 1, 1e9);
    }
    if (left > 1) {
        cfg->rate_per_s = (int64_t)bench_num_parse(argv[first + 1], "rate", 10, 1e7);
    }
    if (left > 2) {
        cfg->latency_s = bench_num_parse(argv[first + 2], "seconds", 0.1, 3600);
    }
}

/* ---- the two targets ---- */

/* Starts `weir broker` in a fresh folder and waits until it accepts connections. */
static void weir_start(const bench_cfg *cfg, target *t)
{
    char props[64];
    snprintf(props, sizeof props, "num.partitions=%d\n", cfg->partition_count);
    bench_weir_start(cfg->weir_path, props, t->bootstrap, sizeof t->bootstrap);
    t->name = "weir";
    t->admin = bench_client_new(RD_KAFKA_PRODUCER, bench_client_conf(t->bootstrap));
    t->mock = NULL;
    t->mock_tid = -1;
}

/* SIGTERM, then waits; a broker that crashes or hangs fails the run. */
static void weir_stop(target *t)
{
    rd_kafka_destroy(t->admin);
    t->admin = NULL;
    bench_weir_stop();
}

/* The thread of this process named `name` (librdkafka names its threads), or -1. */
static pid_t thread_find(const char *name)
{
    DIR *d = opendir("/proc/self/task");
    if (d == NULL) {
        return -1;
    }
    pid_t found = -1;
    struct dirent *e;
    while (found < 0 && (e = readdir(d)) != NULL) {
        char path[300], comm[64] = "";
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL) {
            continue;
        }
        if (fgets(comm, sizeof comm, f) != NULL) {
            comm[strcspn(comm, "\n")] = '\0';
            found = strcmp(comm, name) == 0 ? (pid_t)atoi(e->d_name) : -1;
        }
        fclose(f);
    }
    closedir(d);
    return found;
}

/* CPU time (ns) the broker has used so far: the whole weir process, or the mock's
 * I/O thread. -1 if the clock cannot be read. */
static int64_t broker_cpu_ns(const target *t)
{
    if (t->mock == NULL) {
        return bench_weir_cpu_ns();
    }
    if (t->mock_tid <= 0) {
        return -1;
    }
    /* Linux's clock of one thread by id, as glibc's pthread_getcpuclockid builds
     * it: (~tid << 3) | CPUCLOCK_PERTHREAD_MASK (4) | CPUCLOCK_SCHED (2). */
    clockid_t id = (clockid_t)((~(unsigned)t->mock_tid << 3) | 6u);
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0) {
        return -1;
    }
    return (int64_t)ts.tv_sec * BENCH_NS_PER_S + ts.tv_nsec;
}

static double cpu_s_between(int64_t before_ns, int64_t after_ns)
{
    return before_ns < 0 || after_ns < 0 ? -1 : (double)(after_ns - before_ns) / BENCH_NS_PER_S;
}

static void mock_start(target *t)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    bench_conf_set(conf, "client.id", "bench_broker_mock");
    bench_conf_set(conf, "log_level", "3"); /* quiet about having no bootstrap.servers */
    t->admin = bench_client_new(RD_KAFKA_PRODUCER, conf);
    t->mock = rd_kafka_mock_cluster_new(t->admin, 1);
    if (t->mock == NULL) {
        bench_die("rd_kafka_mock_cluster_new failed");
    }
    t->name = "librdkafka mock";
    snprintf(t->bootstrap, sizeof t->bootstrap, "%s", rd_kafka_mock_cluster_bootstraps(t->mock));
    /* The thread names itself once it runs: wait for that, briefly. */
    t->mock_tid = thread_find("rdk:mock");
    for (int i = 0; i < 200 && t->mock_tid < 0; i++) {
        bench_sleep_ms(5);
        t->mock_tid = thread_find("rdk:mock");
    }
}

static void mock_stop(target *t)
{
    rd_kafka_mock_cluster_destroy(t->mock);
    rd_kafka_destroy(t->admin);
    t->mock = NULL;
    t->admin = NULL;
}

/* Creates the topic with RF 1: CreateTopics on weir, the mock's own call on the mock. */
static void topic_create(const target *t, const char *topic, int32_t partitions)
{
    if (t->mock != NULL) {
        rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(t->mock, topic, partitions, 1);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            bench_die("mock: creating %s: %s", topic, rd_kafka_err2str(err));
        }
        return;
    }
    bench_topic_create(t->admin, topic, partitions);
}

/* ---- produce ---- */

/* A producer whose delivery reports go to *res, with the topic's metadata in. */
static rd_kafka_t *producer_open(const char *bootstrap, const char *acks, const char *topic,
                                 int32_t partitions, produce_result *res, rd_kafka_topic_t **rkt)
{
    memset(res, 0, sizeof *res);
    rd_kafka_conf_t *conf = bench_producer_conf(bootstrap, acks, false, &res->d);
    rd_kafka_t *rk = bench_client_new(RD_KAFKA_PRODUCER, conf);
    *rkt = rd_kafka_topic_new(rk, topic, NULL);
    bench_metadata_wait(rk, *rkt, partitions);
    return rk;
}

/* Flushes, then checks every report: all delivered, offsets 0..n-1 per partition. */
static void producer_close(rd_kafka_t *rk, rd_kafka_topic_t *rkt, const produce_result *res,
                           int64_t count, const char *what)
{
    rd_kafka_resp_err_t err = bench_flush_watching(rk);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        bench_die("%s: flush: %s (%d still queued)", what, rd_kafka_err2str(err),
                  rd_kafka_outq_len(rk));
    }
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    bench_deliveries_check(&res->d, count, true, what);
}

static produce_result produce_throughput(const bench_cfg *cfg, const target *t, const char *topic,
                                         const char *acks)
{
    char what[128];
    snprintf(what, sizeof what, "%s, produce acks=%s", t->name, acks);
    topic_create(t, topic, cfg->partition_count);
    produce_result res;
    rd_kafka_topic_t *rkt;
    rd_kafka_t *rk = producer_open(t->bootstrap, acks, topic, cfg->partition_count, &res, &rkt);
    uint8_t *value = malloc(cfg->value_bytes);
    if (value == NULL) {
        bench_die("out of memory");
    }
    int64_t cpu0 = broker_cpu_ns(t);
    int64_t t0 = bench_mono_ns();
    for (int64_t i = 0; i < cfg->message_count; i++) {
        bench_value_fill(value, cfg->value_bytes, (uint64_t)i, 0);
        bench_produce_one(rk, rkt, value, cfg->value_bytes);
        if (i % BENCH_POLL_EVERY == 0) {
            rd_kafka_poll(rk, 0);
            bench_weir_check_alive();
        }
    }
    rd_kafka_resp_err_t err = bench_flush_watching(rk);
    res.seconds = (double)(bench_mono_ns() - t0) / BENCH_NS_PER_S;
    res.cpu_s = cpu_s_between(cpu0, broker_cpu_ns(t));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        bench_die("%s: flush: %s", what, rd_kafka_err2str(err));
    }
    producer_close(rk, rkt, &res, cfg->message_count, what);
    free(value);
    return res;
}

/* ---- consume ---- */

static void on_message(rd_kafka_message_t *m, void *opaque)
{
    consume_pass *cp = opaque;
    int64_t now = bench_mono_ns();
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        return;
    }
    const char *why = NULL;
    int32_t p = m->partition;
    uint64_t seq = 0;
    int64_t sent_ns = 0;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        why = rd_kafka_message_errstr(m);
    } else if (p < 0 || p >= cp->partition_count) {
        why = "partition out of range";
    } else if (m->offset != cp->next[p]) {
        why = "offset out of order";
    } else if (!bench_value_check(m->payload, m->len, cp->value_bytes, cp->seq_count, &seq,
                                  &sent_ns)) {
        why = "damaged value";
    } else if (cp->seen != NULL && cp->seen[seq]++ != 0) {
        why = "duplicate";
    }
    if (why != NULL) {
        if (cp->bad++ < ERRORS_SHOWN_MAX) {
            fprintf(stderr,
                    "bench_broker: partition %d offset %" PRId64 " (expected %" PRId64 "): %s\n",
                    (int)p, m->offset, p >= 0 && p < cp->partition_count ? cp->next[p] : -1, why);
        }
        return;
    }
    cp->next[p]++;
    cp->first_ns = cp->got == 0 ? now : cp->first_ns;
    cp->last_ns = now;
    if (cp->lat_ns != NULL && seq >= cp->lat_seq_min) {
        cp->lat_ns[seq] = now - sent_ns;
    }
    cp->got++;
}

static rd_kafka_t *consumer_open(const char *bootstrap, const char *fetch_wait_ms,
                                 rd_kafka_queue_t **q)
{
    rd_kafka_conf_t *conf = bench_client_conf(bootstrap);
    bench_conf_set(conf, "fetch.wait.max.ms", fetch_wait_ms);
    bench_conf_set(conf, "enable.partition.eof", "false");
    rd_kafka_t *rk = bench_client_new(RD_KAFKA_CONSUMER, conf);
    *q = rd_kafka_queue_new(rk);
    return rk;
}

/* Reads every partition from cp->next[p] to end[p] on one queue; returns the seconds
 * from the first message to the last. */
static double consume_range(rd_kafka_t *rk, rd_kafka_queue_t *q, const char *topic,
                            consume_pass *cp, const int64_t *end)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    int64_t want = cp->got;
    for (int32_t p = 0; p < cp->partition_count; p++) {
        want += end[p] - cp->next[p];
    }
    int64_t t0 = bench_mono_ns();
    for (int32_t p = 0; p < cp->partition_count; p++) {
        if (rd_kafka_consume_start_queue(rkt, p, cp->next[p], q) != 0) {
            bench_die("consume_start %s [%d]: %s", topic, p,
                      rd_kafka_err2str(rd_kafka_last_error()));
        }
    }
    int64_t deadline = t0 + CONSUME_TIMEOUT_NS;
    while (cp->got < want && cp->bad == 0 && bench_mono_ns() < deadline) {
        rd_kafka_consume_callback_queue(q, 100, on_message, cp);
        bench_weir_check_alive();
    }
    double s = (double)(cp->last_ns - cp->first_ns) / BENCH_NS_PER_S;
    for (int32_t p = 0; p < cp->partition_count; p++) {
        rd_kafka_consume_stop(rkt, p);
    }
    rd_kafka_topic_destroy(rkt);
    if (cp->got != want || cp->bad != 0) {
        bench_die("%s: consumed %" PRId64 " of %" PRId64 " messages, %" PRId64 " wrong", topic,
                  cp->got, want, cp->bad);
    }
    return s;
}

/* Reads back one topic that received `count` messages. weir must hold all of them
 * from offset 0 (each seen once); the mock is read over what it keeps, pass after
 * pass, until `count` messages have been read. */
static void consume_topic(const bench_cfg *cfg, const target *t, rd_kafka_t *rk,
                          rd_kafka_queue_t *q, const char *topic, consume_result *out)
{
    int32_t np = cfg->partition_count;
    int64_t lo[BENCH_PARTITIONS_MAX], hi[BENCH_PARTITIONS_MAX], window = 0, end_total = 0;
    for (int32_t p = 0; p < np; p++) {
        rd_kafka_resp_err_t err =
            rd_kafka_query_watermark_offsets(rk, topic, p, &lo[p], &hi[p], 10000);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            bench_die("%s: watermarks of %s [%d]: %s", t->name, topic, p, rd_kafka_err2str(err));
        }
        window += hi[p] - lo[p];
        end_total += hi[p];
    }
    uint64_t count = (uint64_t)cfg->message_count;
    if (end_total != (int64_t)count || window <= 0 || (t->mock == NULL && window != end_total)) {
        bench_die("%s: %s ends at %" PRId64 " messages and holds %" PRId64 ", expected %" PRIu64,
                  t->name, topic, end_total, window, count);
    }
    consume_pass cp = {.value_bytes = cfg->value_bytes, .partition_count = np, .seq_count = count};
    cp.seen = window == end_total ? calloc(count, 1) : NULL; /* holds all: each once */
    int64_t read = 0;
    while (read < (int64_t)count && out->passes < MOCK_PASSES_MAX) {
        memcpy(cp.next, lo, sizeof lo[0] * (size_t)np);
        cp.got = 0;
        out->seconds += consume_range(rk, q, topic, &cp, hi);
        read += cp.got;
        out->passes++;
    }
    if (cp.seen != NULL) {
        for (uint64_t s = 0; s < count; s++) {
            if (cp.seen[s] != 1) {
                bench_die("%s: %s: message %" PRIu64 " seen %d times", t->name, topic, s,
                          cp.seen[s]);
            }
        }
        free(cp.seen);
    }
    out->messages += read;
    out->window = window;
}

/* Reads back the two topics the produce cases wrote. */
static consume_result consume_throughput(const bench_cfg *cfg, const target *t, char topics[2][64])
{
    consume_result res = {0};
    rd_kafka_queue_t *q;
    rd_kafka_t *rk = consumer_open(t->bootstrap, FETCH_WAIT_MS, &q);
    int64_t cpu0 = broker_cpu_ns(t);
    consume_topic(cfg, t, rk, q, topics[0], &res);
    consume_topic(cfg, t, rk, q, topics[1], &res);
    res.cpu_s = cpu_s_between(cpu0, broker_cpu_ns(t));
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    return res;
}

/* ---- latency ---- */

static void *latency_consumer(void *arg)
{
    latency_run *lr = arg;
    rd_kafka_queue_t *q;
    rd_kafka_t *rk = consumer_open(lr->bootstrap, lr->fetch_wait_ms, &q);
    int64_t lo, hi;
    (void)rd_kafka_query_watermark_offsets(rk, lr->topic, 0, &lo, &hi, 10000); /* connects */
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, lr->topic, NULL);
    for (int32_t p = 0; p < lr->cp.partition_count; p++) {
        if (rd_kafka_consume_start_queue(rkt, p, 0, q) != 0) { /* the count check fails */
            fprintf(stderr, "bench_broker: consume_start %s [%d]: %s\n", lr->topic, p,
                    rd_kafka_err2str(rd_kafka_last_error()));
        }
    }
    atomic_store(&lr->state, 1);
    while (lr->cp.got < lr->want && bench_mono_ns() < atomic_load(&lr->deadline_ns)) {
        rd_kafka_consume_callback_queue(q, 100, on_message, &lr->cp);
    }
    for (int32_t p = 0; p < lr->cp.partition_count; p++) {
        rd_kafka_consume_stop(rkt, p);
    }
    rd_kafka_topic_destroy(rkt);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    atomic_store(&lr->state, 2);
    return NULL;
}

/* Sends `rate` messages/s, each stamped just before its produce call. Returns the
 * rate achieved. */
static double latency_produce(const bench_cfg *cfg, const target *t, const char *topic,
                              int64_t total)
{
    char what[128];
    snprintf(what, sizeof what, "%s, latency produce", t->name);
    produce_result res;
    rd_kafka_topic_t *rkt;
    rd_kafka_t *rk = producer_open(t->bootstrap, "all", topic, cfg->partition_count, &res, &rkt);
    uint8_t *value = malloc(cfg->value_bytes);
    if (value == NULL) {
        bench_die("out of memory");
    }
    int64_t interval_ns = BENCH_NS_PER_S / cfg->rate_per_s;
    int64_t t0 = bench_mono_ns();
    for (int64_t i = 0; i < total; i++) {
        int64_t due = t0 + i * interval_ns;
        if (bench_mono_ns() < due) {
            struct timespec ts = {due / BENCH_NS_PER_S, due % BENCH_NS_PER_S};
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        }
        bench_value_fill(value, cfg->value_bytes, (uint64_t)i, bench_mono_ns());
        bench_produce_one(rk, rkt, value, cfg->value_bytes);
        rd_kafka_poll(rk, 0);
        if (i % BENCH_POLL_EVERY == 0) {
            bench_weir_check_alive();
        }
    }
    double rate = (double)total * BENCH_NS_PER_S / (double)(bench_mono_ns() - t0);
    producer_close(rk, rkt, &res, total, what);
    free(value);
    return rate;
}

static latency_result latency_measure(const bench_cfg *cfg, const target *t, const char *topic,
                                      const char *fetch_wait_ms)
{
    topic_create(t, topic, cfg->partition_count);
    int64_t total = (int64_t)((double)cfg->rate_per_s * cfg->latency_s);
    int64_t warm = cfg->rate_per_s * LATENCY_WARMUP_MS / 1000;
    total += warm;
    latency_run *lr = calloc(1, sizeof *lr);
    if (lr == NULL) {
        bench_die("out of memory");
    }
    lr->bootstrap = t->bootstrap;
    lr->topic = topic;
    lr->fetch_wait_ms = fetch_wait_ms;
    lr->want = total;
    lr->cp = (consume_pass){.value_bytes = cfg->value_bytes,
                            .partition_count = cfg->partition_count,
                            .seq_count = (uint64_t)total,
                            .lat_seq_min = (uint64_t)warm};
    lr->cp.seen = calloc((size_t)total, 1);
    lr->cp.lat_ns = calloc((size_t)total, sizeof *lr->cp.lat_ns);
    atomic_init(&lr->state, 0);
    atomic_init(&lr->deadline_ns, INT64_MAX);
    pthread_t th;
    if (lr->cp.seen == NULL || lr->cp.lat_ns == NULL ||
        pthread_create(&th, NULL, latency_consumer, lr) != 0) {
        bench_die("cannot start the consumer thread");
    }
    while (atomic_load(&lr->state) == 0) {
        bench_sleep_ms(1);
    }
    latency_result res = {0};
    res.rate_sent_per_s = latency_produce(cfg, t, topic, total);
    atomic_store(&lr->deadline_ns, bench_mono_ns() + LATENCY_DRAIN_NS);
    pthread_join(th, NULL);
    if (lr->cp.got != total || lr->cp.bad != 0) {
        bench_die("%s: latency: consumed %" PRId64 " of %" PRId64 " messages, %" PRId64 " wrong",
                  t->name, lr->cp.got, total, lr->cp.bad);
    }
    res.measured = total - warm;
    int64_t *v = lr->cp.lat_ns + warm;
    bench_sort_i64(v, res.measured);
    res.p50_ms = bench_percentile_ms(v, res.measured, 0.50);
    res.p99_ms = bench_percentile_ms(v, res.measured, 0.99);
    res.max_ms = (double)v[res.measured - 1] / BENCH_NS_PER_MS;
    free(lr->cp.seen);
    free(lr->cp.lat_ns);
    free(lr);
    return res;
}

/* ---- reporting ---- */

/* Median rate and CPU of one target over the rounds (CPU < 0 if any is unknown). */
static sample sample_median(const sample *v, int n)
{
    double rate[BENCH_ROUNDS_MAX] = {0}, cpu[BENCH_ROUNDS_MAX] = {0};
    bool cpu_known = true;
    for (int i = 0; i < n; i++) {
        rate[i] = v[i].rate_per_s;
        cpu[i] = v[i].cpu_s_per_million;
        cpu_known = cpu_known && cpu[i] >= 0;
    }
    return (sample){bench_median(rate, n), cpu_known ? bench_median(cpu, n) : -1};
}

static sample sample_of(int64_t messages, double seconds, double cpu_s)
{
    return (sample){(double)messages / seconds, cpu_s < 0 ? -1 : cpu_s * 1e6 / (double)messages};
}

/* The headline (medians, ratio), then each round and the brokers' CPU per message. */
static void report_throughput(const bench_cfg *cfg, const char *label, const sample *w_rounds,
                              const sample *m_rounds)
{
    sample w = sample_median(w_rounds, cfg->rounds), m = sample_median(m_rounds, cfg->rounds);
    char a[32], b[32];
    printf("broker %s: %s msg/s, %.1f MB/s  (librdkafka mock: %s msg/s, ratio %.2f)\n", label,
           bench_fmt_rate(a, sizeof a, w.rate_per_s), w.rate_per_s * (double)cfg->value_bytes / 1e6,
           bench_fmt_rate(b, sizeof b, m.rate_per_s), w.rate_per_s / m.rate_per_s);
    printf("  median of %d; k msg/s weir/mock per round:", cfg->rounds);
    for (int r = 0; r < cfg->rounds; r++) {
        printf(" %.0f/%.0f", w_rounds[r].rate_per_s / 1e3, m_rounds[r].rate_per_s / 1e3);
    }
    if (w.cpu_s_per_million >= 0 && m.cpu_s_per_million >= 0) {
        printf("; broker CPU per million messages: weir %.3f s, mock thread %.3f s (ratio %.2f)",
               w.cpu_s_per_million, m.cpu_s_per_million, w.cpu_s_per_million / m.cpu_s_per_million);
    }
    printf("\n");
}

static void report_latency(const bench_cfg *cfg, const latency_result *w, const latency_result *m)
{
    printf("broker latency %zu B at %" PRId64 " msg/s for %g s, acks=all, fetch.wait.max.ms=%s: "
           "p50 %.2f ms, p99 %.2f ms  (librdkafka mock: p50 %.2f ms, p99 %.2f ms; ratio p50 %.2f, "
           "p99 %.2f)\n",
           cfg->value_bytes, cfg->rate_per_s, cfg->latency_s, FETCH_WAIT_MS, w->p50_ms, w->p99_ms,
           m->p50_ms, m->p99_ms, w->p50_ms / m->p50_ms, w->p99_ms / m->p99_ms);
    printf("  max %.2f ms (mock %.2f ms) over %" PRId64 " messages each after %d ms of warm-up; "
           "sent at %.0f msg/s (mock run %.0f msg/s)\n",
           w->max_ms, m->max_ms, w->measured, LATENCY_WARMUP_MS, w->rate_sent_per_s,
           m->rate_sent_per_s);
}

static uint64_t g_seg_bytes;

static int add_segment(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)ftw;
    size_t n = strlen(path);
    if (flag == FTW_F && n > 4 && strcmp(path + n - 4, ".log") == 0) {
        g_seg_bytes += (uint64_t)st->st_size;
    }
    return 0;
}

/* Bytes in weir's segment files (*.log under logs/). */
static uint64_t weir_segment_bytes(void)
{
    char dir[PATH_MAX + 8];
    snprintf(dir, sizeof dir, "%s/logs", bench_weir_root());
    g_seg_bytes = 0;
    nftw(dir, add_segment, 16, FTW_PHYS);
    return g_seg_bytes;
}

static void print_setup(const bench_cfg *cfg, const target *w)
{
    printf("bench_broker: librdkafka %s, one producer and one consumer over loopback; "
           "%d partition(s), RF 1, %zu B values, no keys\n",
           rd_kafka_version_str(), cfg->partition_count, cfg->value_bytes);
    printf("  producer: linger.ms=%s batch.size=%s batch.num.messages=%s compression=%s "
           "idempotence off; consumer: legacy API, one queue, fetch.wait.max.ms=%s\n",
           BENCH_LINGER_MS, BENCH_BATCH_BYTES, BENCH_BATCH_MESSAGES, BENCH_COMPRESSION,
           FETCH_WAIT_MS);
    printf("  weir: %s broker at %s, log dir %s/logs (Kafka flush defaults: no fsync); "
           "mock: 1 broker in this process\n",
           cfg->weir_path, w->bootstrap, bench_weir_root());
}

/* Runs the throughput cases of one round on both targets; who goes first alternates. */
static void run_round(const bench_cfg *cfg, target *both[2], int round,
                      sample out[CASE_COUNT][2][BENCH_ROUNDS_MAX], consume_result *mock_consume)
{
    static const char *acks[2] = {"1", "all"};
    char topics[2][64];
    snprintf(topics[0], sizeof topics[0], "bench-acks1-%d", round);
    snprintf(topics[1], sizeof topics[1], "bench-acksall-%d", round);
    for (int i = 0; i < 2; i++) {
        for (int k = 0; k < 2; k++) {
            int who = (k + round) % 2; /* 0 weir, 1 mock */
            produce_result pr = produce_throughput(cfg, both[who], topics[i], acks[i]);
            out[CASE_ACKS_1 + i][who][round] = sample_of(pr.d.delivered, pr.seconds, pr.cpu_s);
        }
    }
    for (int k = 0; k < 2; k++) {
        int who = (k + round) % 2;
        consume_result cr = consume_throughput(cfg, both[who], topics);
        out[CASE_CONSUME][who][round] = sample_of(cr.messages, cr.seconds, cr.cpu_s);
        if (who == 1) {
            *mock_consume = cr;
        }
    }
}

int main(int argc, char **argv)
{
    bench_cfg cfg;
    bench_init("bench_broker", "bench_broker [-w WEIR] [messages [rate [seconds]]]");
    cfg_load(&cfg, argc, argv);
    target weir, mock;
    weir_start(&cfg, &weir);
    mock_start(&mock);
    print_setup(&cfg, &weir);

    static sample samples[CASE_COUNT][2][BENCH_ROUNDS_MAX];
    target *both[2] = {&weir, &mock};
    consume_result mock_consume = {0};
    for (int r = 0; r < cfg.rounds; r++) {
        run_round(&cfg, both, r, samples, &mock_consume);
    }
    char label[96];
    snprintf(label, sizeof label, "produce %zu B, acks=1", cfg.value_bytes);
    report_throughput(&cfg, label, samples[CASE_ACKS_1][0], samples[CASE_ACKS_1][1]);
    snprintf(label, sizeof label, "produce %zu B, acks=all", cfg.value_bytes);
    report_throughput(&cfg, label, samples[CASE_ACKS_ALL][0], samples[CASE_ACKS_ALL][1]);
    printf("  every message delivered, with offsets 0..n-1 per partition, on both; weir's segment "
           "files hold %.1f MB after %d round(s)\n",
           (double)weir_segment_bytes() / 1e6, cfg.rounds);
    snprintf(label, sizeof label, "consume %zu B", cfg.value_bytes);
    report_throughput(&cfg, label, samples[CASE_CONSUME][0], samples[CASE_CONSUME][1]);
    printf("  weir returned every message of both topics exactly once, from offset 0; the mock "
           "keeps at most 5 MiB per partition (%" PRId64 " of a topic's %" PRId64
           " messages) and was read over that in %d passes per round\n",
           mock_consume.window, cfg.message_count, mock_consume.passes);

    latency_result lw = latency_measure(&cfg, &weir, TOPIC_LATENCY, FETCH_WAIT_MS);
    latency_result lm = latency_measure(&cfg, &mock, TOPIC_LATENCY, FETCH_WAIT_MS);
    report_latency(&cfg, &lw, &lm);
    latency_result lx = latency_measure(&cfg, &weir, TOPIC_LATENCY_WAKE, FETCH_WAIT_WAKE_MS);
    printf("broker latency, weir alone with fetch.wait.max.ms=%s (waiting fetches wake on new "
           "data): p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
           FETCH_WAIT_WAKE_MS, lx.p50_ms, lx.p99_ms, lx.max_ms);

    mock_stop(&mock);
    weir_stop(&weir);
    return 0;
}
